"""Invariants every assignment of the course keeps; a new assignment is picked up automatically.

- the solution scores full marks and the untouched student notebook zero;
- assignments/ is exactly what the release of solutions/ gives, and holds no solution body;
- cells reordered, duplicated, deleted or stripped of metadata do not change the score;
- the in-notebook self-check agrees with the grader on the public tests.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.release import release, solution_bodies, write_bundle
from autograder.authoring.selfcheck import run_check
from autograder.core.course import Course
from autograder.engine.grade import Target, grade_notebook
from autograder.sandbox.submission import Submission

ROOT = Path(__file__).resolve().parent.parent
IDS = sorted(Course(ROOT).assignments)


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    """Grade each assignment's solution and student notebook once: {(id, 'solution'|'student'): result}."""
    cache = {}

    def get(aid, which):
        if (aid, which) not in cache:
            a = course.assignments[aid]
            path = a.solution if which == "solution" else a.student
            cache[aid, which] = grade_notebook(Target(which, path), course, tmp_path_factory.mktemp(aid))
        return cache[aid, which]

    return get


def test_release_reproduces_committed_assignments(course):
    assert release(course, check=True) == []


@pytest.mark.parametrize("aid", IDS)
def test_student_notebook_has_no_solution_body(course, aid):
    a = course.assignments[aid]
    student = a.student.read_text(encoding="utf-8")
    for body in solution_bodies(nbformat.read(a.solution, as_version=4)):
        code = body.strip()
        if len(code) > 20:  # short bodies ("pass", "return x") may legitimately appear elsewhere
            assert json.dumps(code)[1:-1] not in student, f"{aid}: solution text leaked: {code[:80]}"


def test_bundle_has_no_solution_and_no_hidden_test(course, tmp_path):
    write_bundle(course, tmp_path / "bundle")
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in (tmp_path / "bundle").rglob("*") if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".toml"))
    for a in course.assignments.values():
        for body in solution_bodies(nbformat.read(a.solution, as_version=4)):
            code = body.strip()
            if len(code) > 20:
                assert code not in text and json.dumps(code)[1:-1] not in text, f"{a.id}: {code[:80]}"
        hidden = [t for t in _tests(course, a.id) if t["hidden"]]
        for t in hidden:
            assert f"def {t['name']}(" not in text, f"hidden test {t['name']} is in the bundle"


def test_nothing_in_the_course_needs_torchvision(course):
    """PyPI's torchvision does not import beside the torch pin (torch==2.13.0), so the course does
    without it: no dependency names it and no notebook imports it, not even inside a function (a05
    reads CIFAR-10 itself; torchvision's transforms are only an optional argument of make_loaders)."""
    import ast
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    assert not [r for r in requirements if "torchvision" in r.lower()], requirements
    for a in course.assignments.values():
        for path in (a.solution, a.student):
            for cell in nbformat.read(path, as_version=4).cells:
                if cell.cell_type != "code":
                    continue
                source = "\n".join(x for x in cell.source.splitlines() if not x.lstrip().startswith(("%", "!")))
                modules = [n.module or "" for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)]
                modules += [a.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names]
                assert not [m for m in modules if m.split(".")[0] == "torchvision"], (path.name, cell.source[:200])


def _tests(course, aid):
    from autograder.engine.grade import _zero_tests

    return _zero_tests(course.assignments[aid], {})


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_solution_scores_full_marks(graded, aid):
    """Full marks on every automatic test; a manually graded item is answered, so pending."""
    result = graded(aid, "solution")
    failed = [(t["name"], t["output"][:300]) for t in result["tests"] if t["status"] == "failed"]
    assert result["status"] == "graded" and not failed, failed
    manual = [t for t in result["tests"] if t.get("manual")]
    assert all(t["status"] == "pending" and t["answer"] for t in manual), manual
    assert result["score"] == result["max_score"] - sum(t["max_score"] for t in manual) > 0


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_untouched_student_notebook_scores_zero(graded, aid):
    result = graded(aid, "student")
    passed = [t["name"] for t in result["tests"] if t["score"] > 0]
    assert result["status"] == "graded" and result["score"] == 0 and not passed, passed
    assert result["max_score"] == graded(aid, "solution")["max_score"]


def _scrambled(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Reversed code cells, every code cell duplicated, markdown deleted, ids and metadata gone."""
    nb = copy.deepcopy(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    cells = []
    for c in reversed(code):
        for _ in range(2):
            d = copy.deepcopy(c)
            d.pop("id", None)
            d.metadata = {}
            cells.append(d)
    nb.cells = cells
    nb.metadata = {"kernelspec": nb.metadata.get("kernelspec", {})}
    nb.nbformat_minor = 4
    return nb


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_scrambled_layout_gets_the_same_score(course, graded, aid, tmp_path):
    a = course.assignments[aid]
    path = tmp_path / "scrambled" / f"{aid}.ipynb"
    path.parent.mkdir()
    for f in a.solution.parent.glob("*"):  # files the solution names (weights) travel with it
        if f.is_file() and f.suffix != ".ipynb":
            (path.parent / f.name).write_bytes(f.read_bytes())
    nbformat.write(_scrambled(nbformat.read(a.solution, as_version=4)), path)
    result = grade_notebook(Target("scrambled", path), course, tmp_path / "out")
    reference = graded(aid, "solution")
    assert [(t["name"], t["score"]) for t in result["tests"]] == [(t["name"], t["score"]) for t in reference["tests"]]


def _kernel_namespace(path: Path) -> dict:
    """What a kernel that ran the notebook holds: its definitions and IPython's input history ``In``."""
    nb = nbformat.read(path, as_version=4)
    namespace = dict(Submission.from_notebook(nb)._module.__dict__)
    namespace["In"] = [""] + [c.source for c in nb.cells if c.cell_type == "code"]
    return namespace


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_self_check_agrees_with_the_grader(course, aid, monkeypatch):
    a = course.assignments[aid]
    monkeypatch.chdir(a.solution.parent)  # a kernel runs beside its notebook (and its weights file)
    records = run_check(_kernel_namespace(a.solution), course=course)
    assert records and all(r["status"] in ("passed", "skipped") for r in records), \
        [(r["name"], r["output"][:200]) for r in records if r["status"] == "failed"]
    assert not any(r["hidden"] for r in records)
    records = run_check(_kernel_namespace(a.student), assignment=aid, course=course)
    failed = [r for r in records if r["status"] == "failed"]
    assert len(failed) == len([r for r in records if r["status"] != "skipped"])
    assert all("NotImplementedError" in r["output"] for r in failed), [r["output"][:200] for r in failed]


# ---- the self-check cells of the released notebooks, in a kernel --------------------------------

def _run_all(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Execute like Jupyter's "Run All": nbclient stops at the first cell whose execution fails."""
    from nbclient import NotebookClient

    NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}}).execute()
    return nb


def _check_cells(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.get("metadata", {}).get("autograder", {}).get("generated") == "check"]


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.slow
def test_run_all_of_an_untouched_notebook_reaches_every_check_cell(course):
    a = course.assignments["a01_neurons"]
    nb = _run_all(nbformat.read(a.student, as_version=4), a.student.parent)
    checks = _check_cells(nb)
    assert len(checks) >= 10
    for cell in checks:
        out = _printed(cell)
        assert "Итого по открытым тестам: 0/" in out and "Наименьший вход" not in out, (cell.source, out)
        assert not [o for o in cell.outputs if o.output_type in ("error", "execute_result")]


@pytest.mark.slow
@pytest.mark.parametrize("aid", IDS)
def test_first_check_cell_on_the_untouched_and_the_solved_notebook(course, aid):
    """The released notebook up to its first check cell, as released and with the solution filled in."""
    a = course.assignments[aid]
    released = nbformat.read(a.student, as_version=4)
    first = released.cells.index(_check_cells(released)[0])
    solution = {c.id: c.source for c in nbformat.read(a.solution, as_version=4).cells}
    for solved in (False, True):
        nb = copy.deepcopy(released)
        nb.cells = nb.cells[:first + 1]
        if solved:
            for c in nb.cells:
                c.source = solution.get(c.get("id"), c.source)
        out = _printed(_run_all(nb, a.solution.parent if solved else a.student.parent).cells[-1])
        got, total = out.rsplit("Итого по открытым тестам: ", 1)[1].split()[0].split("/")
        assert float(total) > 0 and float(got) == (float(total) if solved else 0.0), out
