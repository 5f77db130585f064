"""``autograder audit``: mutants of the solution regions, their grading, the checks and the report."""
from __future__ import annotations

import json

import nbformat
import pytest

from autograder.authoring.audit import OPERATORS, equivalent_mutants, mutants, select
from autograder.cli import main
from autograder.core.course import Course

from engine.tiny import make_course, notebook

EVERY_OPERATOR = '''import numpy as np

def given(x):
    return x * 2 + np.sum(x, axis=0)

def f(x, w):
    """x: (N, D), w: (K, D) -> (N, K)"""
    ### BEGIN SOLUTION
    z = x @ w.T + 1.0
    s = np.sum(z, axis=1, keepdims=True)
    m = z - s / 2
    return m
    ### END SOLUTION'''


def test_mutants_cover_every_operator_class_and_only_the_solution_region():
    nb = notebook([("code", EVERY_OPERATOR)])
    found = mutants(nb, "a99_x")
    assert {m.operator for m in found} == set(OPERATORS)
    region = EVERY_OPERATOR.splitlines()[8:12]
    assert all(m.before in region and m.function == "f" for m in found), [m.diff for m in found]
    assert len({m.id for m in found}) == len(found) and [m.index for m in found] == list(range(len(found)))
    assert [m.id for m in mutants(nb, "a99_x")] == [m.id for m in found]  # stable ids
    diffs = {m.operator: set() for m in found}
    for m in found:
        diffs[m.operator].add(m.after.strip())
    assert "z = x @ w + 1.0" in diffs["transpose"]
    assert "s = np.sum(z, axis=1)" in diffs["keepdims"]
    assert {"s = np.sum(z, axis=0, keepdims=True)", "s = np.sum(z, keepdims=True)"} <= diffs["axis"]
    assert "s = np.mean(z, axis=1, keepdims=True)" in diffs["sum/mean"]
    assert {"z = x * w.T + 1.0", "z = x @ w.T - 1.0", "m = z + s / 2", "m = z - s * 2"} <= diffs["operator"]
    assert {"z = x @ w.T + 2.0", "m = z - s / 3"} <= diffs["constant"]
    assert {"return s", "return x"} == diffs["return"]
    assert "pass" in diffs["statement"]


def test_select_is_deterministic():
    nb = notebook([("code", EVERY_OPERATOR)])
    found = mutants(nb, "a99_x")
    assert select(found, limit=3) == found[:3]
    drawn = select(found, sample=4, seed=1)
    assert drawn == select(found, sample=4, seed=1) and len(drawn) == 4
    assert [m.index for m in drawn] == sorted(m.index for m in drawn)


def _tiny_with_checks(root):
    """The tiny course plus a correct alternative and a hardcoding student."""
    make_course(root)
    (root / "solutions" / "a00_weights.bin").write_bytes(b"\0" * 16)  # graded with the solution's files
    (root / "solutions" / "a01_weights.bin").write_bytes(b"\0" * 16)  # another assignment's
    course = Course(root)
    alt = nbformat.read(course.assignments["a00_tiny"].solution, as_version=4)
    alt.cells[3].source = "def double(x):\n    x = np.asarray(x)\n    return x + x"
    alt.cells[5].source = alt.cells[5].source.replace("return self.k * x", "return x * self.k")
    (root / "tests" / "grading" / "alternatives" / "a00_tiny").mkdir(parents=True)
    nbformat.write(alt, root / "tests" / "grading" / "alternatives" / "a00_tiny" / "sum.ipynb")
    hard = nbformat.read(course.assignments["a00_tiny"].student, as_version=4)
    stub = next(c for c in hard.cells if c.cell_type == "code" and "def double" in c.source)
    stub.source = "def double(x):\n    return np.array([4.0])  # the seminar's answer"
    (root / "demo" / "class" / "a00-hardcoded").mkdir(parents=True)
    nbformat.write(hard, root / "demo" / "class" / "a00-hardcoded" / "a00_tiny.ipynb")
    return course


@pytest.mark.slow
def test_audit_reports_killed_surviving_checks_and_equivalents(tmp_path, capsys):
    root = tmp_path / "course"
    _tiny_with_checks(root)
    out = tmp_path / "audit"
    args = ["--course", str(root), "audit", "a00_tiny", "--out", str(out), "-j", "2", "-q"]
    assert main(args) == 1  # the hardcoder scores a point: the rubric lets hardcoding through
    text = capsys.readouterr().out
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))[0]
    verdicts = {r["diff"]: (r["verdict"], r["function"]) for r in report["rows"]}
    assert verdicts == {
        "- return 2 * np.asarray(x)  + return 3 * np.asarray(x)": ("killed", "double"),
        "- return 2 * np.asarray(x)  + return 2 / np.asarray(x)": ("killed", "double"),
        "- return self.k * x  + return self.k / x": ("survived", "Scale.forward"),  # tested with x = 1 only
    }
    assert (report["killed"], report["survived"], report["kill_rate"]) == (2, 1, 2 / 3)
    for i in range(3):
        assert {f.name for f in (out / "mutants" / "a00_tiny" / f"m{i:03d}").iterdir()} == {"a00_tiny.ipynb", "a00_weights.bin"}
    assert (out / "checks" / "a00_tiny" / "alt-sum" / "a00_weights.bin").is_file()
    assert not (out / "checks" / "a00_tiny" / "hardcoded" / "a00_weights.bin").exists()
    checks = {c["name"]: (c["kind"], c["score"], c["max_score"], c["ok"]) for c in report["checks"]}
    assert checks == {"solution": ("solution", 4, 4, True), "alt-sum": ("alternative", 4, 4, True),
                      "hardcoded": ("hardcoder", 1, 4, False)}
    survivor = next(r for r in report["rows"] if r["verdict"] == "survived")
    assert "66.7%" in text and survivor["id"] in text and "FAIL hardcoder" in text
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert survivor["id"] in page and "return self.k / x" in page and "FAIL" in page

    # the instructor marks the survivor equivalent: reported apart, nothing graded again
    (root / "tests" / "grading" / "a00_tiny.audit.toml").write_text(
        f'[equivalent]\n"{survivor["id"]}" = "accepted"\n', encoding="utf-8")
    assert equivalent_mutants(Course(root).assignments["a00_tiny"]) == {survivor["id"]: "accepted"}
    main(args)
    assert "graded 0, reused 6" in capsys.readouterr().out
    report = json.loads((out / "audit.json").read_text(encoding="utf-8"))[0]
    assert (report["killed"], report["survived"], report["equivalent"], report["kill_rate"]) == (2, 0, 1, 1.0)
