"""Generate student notebooks from solution notebooks (nbgrader's markers), check that the
committed ones are up to date, and write the student bundle.

Markers, as in nbgrader: lines ``### BEGIN SOLUTION`` / ``### END SOLUTION`` in a code cell (inside
a function body or around the whole cell); the region becomes ``# YOUR CODE HERE`` and
``raise NotImplementedError()`` at the marker's indent.  In a markdown cell the region becomes
"*Ваш ответ здесь.*".
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat

from ..core.course import Assignment, Course, ManualError
from ..engine.checkcells import defined_names, is_protected
from ..sandbox.cells import SKIP_TAG, skipped

BEGIN = re.compile(r"^(\s*)#+\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "*Ваш ответ здесь.*"


class MarkerError(ValueError):
    pass


def strip_solutions(source: str, markdown: bool = False) -> tuple[str, list[str]]:
    """Replace each solution region; returns (student source, the removed solution bodies)."""
    out, bodies, body, indent = [], [], None, ""
    for lineno, line in enumerate(source.splitlines(), 1):
        m = BEGIN.match(line)
        if m:
            if body is not None:
                raise MarkerError(f"line {lineno}: BEGIN SOLUTION inside another solution region")
            indent, body = m.group(1), []
            if markdown:
                out.append(MARKDOWN_STUB)
            else:
                out += [indent + STUB[0], indent + STUB[1]]
            continue
        if END.match(line):
            if body is None:
                raise MarkerError(f"line {lineno}: END SOLUTION without BEGIN SOLUTION")
            bodies.append("\n".join(body))
            body = None
            continue
        if body is not None:
            body.append(line)
        else:
            out.append(line)
    if body is not None:
        raise MarkerError("BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out), bodies


def student_notebook(solution: nbformat.NotebookNode, assignment_id: str, rubric: str | None = None,
                     bundle_url: str | None = None, manual=()) -> nbformat.NotebookNode:
    """The student version of a solution notebook: stubs, no outputs, metadata, same cell ids.

    With the ``rubric``'s source: also the self-check cells (``checkcells``: a first cell that
    installs the bundle from ``bundle_url`` where it is missing, a check cell after each task).
    ``manual``: the rubric's manual items (``core.course.ManualItem``): each one's answer cell
    (found by id or tag, with a SOLUTION region) gets the tag ``manual:<item id>``.
    """
    nb = copy.deepcopy(solution)
    answer_cells = _answer_cells(nb, assignment_id, manual)
    has_solution = []
    for index, cell in enumerate(nb.cells):
        try:
            cell.source, bodies = strip_solutions(cell.source, markdown=cell.cell_type == "markdown")
            has_solution.append(bool(bodies))
            if bodies and is_protected(cell):
                # a protected cell is replaced by its released text at grading: the student's
                # answer in it would be thrown away
                raise MarkerError("a protected cell cannot contain a SOLUTION region")
        except MarkerError as exc:
            raise MarkerError(f"{assignment_id}: cell {index} ({cell.get('id')}): {exc}") from None
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("nbgrader", None)
        cell.metadata.pop("execution", None)
        if is_protected(cell):
            cell.metadata["editable"] = False
            cell.metadata["deletable"] = False
    for index, item in answer_cells:
        if not has_solution[index]:
            raise MarkerError(f"{assignment_id}: manual item {item.id!r}: its answer cell {item.cell!r} has no "
                              "SOLUTION region (the reference answer between ### BEGIN SOLUTION and "
                              "### END SOLUTION)")
        tags = nb.cells[index].metadata.setdefault("tags", [])
        if item.tag not in tags:
            tags.append(item.tag)
    if rubric is not None:
        from ..engine.checkcells import add_check_cells

        add_check_cells(nb, has_solution, assignment_id, rubric, bundle_url)
    body = json.dumps([[c.get("id"), c.cell_type, c.source] for c in nb.cells], ensure_ascii=False)
    nb.metadata["autograder"] = {
        "assignment": assignment_id,
        "version": hashlib.sha256(body.encode()).hexdigest()[:12],
    }
    return nb


def _answer_cells(nb: nbformat.NotebookNode, assignment_id: str, manual) -> list[tuple[int, object]]:
    """(cell position, item) of each manual item's answer cell: the cell whose id is ``item.cell``,
    else the one tagged so; MarkerError when there is none, or several."""
    found = []
    for item in manual:
        by_id = [i for i, c in enumerate(nb.cells) if c.get("id") == item.cell]
        by_tag = [i for i, c in enumerate(nb.cells) if item.cell in c.get("metadata", {}).get("tags", [])]
        where = by_id or by_tag
        if len(where) != 1:
            raise MarkerError(f"{assignment_id}: manual item {item.id!r}: "
                              f"{'no' if not where else 'more than one'} cell with id or tag {item.cell!r} "
                              "in the solution notebook")
        found.append((where[0], item))
    return found


def solution_bodies(solution: nbformat.NotebookNode) -> list[str]:
    """Every solution region's text (to prove the student copy and the bundle contain none)."""
    bodies = []
    for cell in solution.cells:
        bodies += strip_solutions(cell.source, markdown=cell.cell_type == "markdown")[1]
    return bodies


def dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def _first_difference(a: nbformat.NotebookNode, b: nbformat.NotebookNode) -> str:
    for i, (ca, cb) in enumerate(zip(a.cells, b.cells)):
        if ca != cb:
            return f"cell {i} (id {cb.get('id')})"
    if len(a.cells) != len(b.cells):
        return f"cell count {len(b.cells)} != {len(a.cells)}"
    return "notebook metadata"


def _released(course: Course):
    """(assignment, its student notebook as text, the path it is released to), per solution."""
    from ..core.config import load

    bundle_url = load(course.root).bundle_url
    for a in course.assignments.values():
        if a.solution is None:
            continue
        generated = student_notebook(nbformat.read(a.solution, as_version=4), a.id,
                                     a.rubric.read_text(encoding="utf-8"), bundle_url, a.manual_items)
        yield a, generated, course.root / "assignments" / f"{a.id}.ipynb"


def release(course: Course, check: bool = False) -> list[str]:
    """Write (or, with check, compare) assignments/<id>.ipynb for every solution; returns problems."""
    problems = []
    for a, generated, target in _released(course):
        if check:
            if not target.exists():
                problems.append(f"{target}: missing (run `autograder release`)")
            elif target.read_text(encoding="utf-8") != dumps(generated):
                current = nbformat.read(target, as_version=4)
                problems.append(f"{target}: differs from the release of {a.solution.name} at "
                                f"{_first_difference(generated, current)} (run `autograder release`)")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(dumps(generated), encoding="utf-8")
    return problems


def rubric_reads(rubric: str) -> set[str]:
    """Names a rubric reads from the submission (``submission.X``, hidden tests included)."""
    return {n.attr for n in ast.walk(ast.parse(rubric))
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "submission"}


def skipped_cell_problems(course: Course) -> list[str]:
    """A solution cell tagged ``skip-execution`` is not run at grading, so it must define nothing
    the rubric reads (a name the tests take from ``submission``); one line per such cell."""
    problems = []
    for a in course.assignments.values():
        if a.solution is None:
            continue
        reads = rubric_reads(a.rubric.read_text(encoding="utf-8"))
        for number, cell in enumerate(nbformat.read(a.solution, as_version=4).cells, start=1):
            if cell.cell_type == "code" and skipped(cell):
                names = sorted(defined_names(cell.source) & reads)
                if names:
                    problems.append(f"{a.solution}: cell {number} ({cell.get('id')}) is tagged {SKIP_TAG} "
                                    f"(not run at grading) but defines {', '.join(names)}, which "
                                    f"{a.rubric.name} reads from the submission: move it to a cell that runs")
    return problems


# ---------------------------------------------------------------- the student bundle

def _is_reference_decorator(node: ast.expr) -> bool:
    """``@reference``, ``@testing.reference``, ``@autograder.testing.reference`` (with or without a call)."""
    if isinstance(node, ast.Call):
        node = node.func
    return (isinstance(node, ast.Name) and node.id == "reference") or (
        isinstance(node, ast.Attribute) and node.attr == "reference")


def reference_names(tree: ast.Module) -> set[str]:
    """Top-level names of a rubric that are reference implementations (``@reference`` functions
    and classes, and ``name = reference(...)``)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if any(_is_reference_decorator(d) for d in node.decorator_list):
                names.add(node.name)
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
              and _is_reference_decorator(node.value.func)):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _top_level_name(node: ast.stmt) -> str | None:
    name = getattr(node, "name", None)
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        name = node.targets[0].id if len(node.targets) == 1 else None
    return name


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_test(name: str | None) -> bool:
    return name is not None and name.startswith(("test_", "Test"))


def _public_body(tree: ast.Module) -> list[ast.stmt]:
    """The rubric's statements without @hidden tests (nothing else dropped yet)."""

    def hidden(node) -> bool:
        return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and any(
            "hidden" in ast.unparse(d) for d in node.decorator_list)

    return [n for n in tree.body if not hidden(n)]


def _without_guides(node: ast.stmt) -> ast.stmt:
    """``MANUAL = [...]`` without the items' ``guide`` (what a good answer contains: the TA's)."""
    if _top_level_name(node) != "MANUAL":
        return node
    try:
        items = ast.literal_eval(node.value)
        items = [{k: v for k, v in item.items() if k != "guide"} for item in items]
    except (ValueError, TypeError, AttributeError):
        return node  # not a valid MANUAL: grading reports it
    return ast.parse(f"MANUAL = {items!r}").body[0]


def public_rubric(source: str) -> str:
    """The rubric without @hidden tests, without ``@reference`` helpers, and without top-level
    helpers only they used; ``MANUAL`` without the TA's guides."""
    tree = ast.parse(source)
    references = reference_names(tree)
    body = [_without_guides(n) for n in _public_body(tree) if _top_level_name(n) not in references]
    while True:  # drop helpers nobody references any more
        used = {n for node in body for n in _used_names(node)}
        used |= {n.attr for node in body for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        keep = []
        for node in body:
            name = _top_level_name(node)
            if name and not _is_test(name) and name not in used and name not in ("ASSIGNMENT", "MANUAL") \
                    and not name.startswith("pytest"):
                continue
            keep.append(node)
        if len(keep) == len(body):
            break
        body = keep
    return ast.unparse(ast.Module(body=body, type_ignores=[])) + "\n"


def public_tests_needing_references(source: str) -> dict[str, set[str]]:
    """Public test -> the ``@reference`` helpers it reaches (directly or through other helpers)."""
    tree = ast.parse(source)
    references = reference_names(tree)
    body = _public_body(tree)
    uses = {}
    for node in body:
        name = _top_level_name(node)
        if name is not None:
            uses[name] = _used_names(node)
    needs = {}
    for test in (n for n in uses if _is_test(n)):
        seen, todo = set(), [test]
        while todo:
            for used in uses.get(todo.pop(), ()):
                if used not in seen:
                    seen.add(used)
                    if used not in references:
                        todo.append(used)
        if seen & references:
            needs[test] = seen & references
    return needs


def write_bundle(course: Course, dest: Path) -> None:
    """What students get: notebooks, the autograder package and the public tests, nothing else."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    pkg_src = Path(__file__).resolve().parents[1]  # the whole autograder package
    shutil.copytree(pkg_src, dest / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "_course", "*.pyc"))
    grading = dest / "autograder" / "_course" / "tests" / "grading"
    grading.mkdir(parents=True)
    (dest / "assignments").mkdir()
    for a in course.assignments.values():
        (grading / a.rubric.name).write_text(public_rubric(a.rubric.read_text(encoding="utf-8")), encoding="utf-8")
        if a.student is not None:
            shutil.copy2(a.student, dest / "assignments" / a.student.name)
            shutil.copy2(a.student, dest / "autograder" / "_course" / a.student.name)
    _bundle_standin(course, dest / "autograder" / "_course" / "data")
    pyproject = (course.root / "pyproject.toml").read_text(encoding="utf-8")
    (dest / "pyproject.toml").write_text(pyproject.replace('readme = "README.md"\n', ""), encoding="utf-8")
    (dest / "README.md").write_text(BUNDLE_README, encoding="utf-8")


def _bundle_standin(course: Course, dest: Path) -> None:
    """The course's synthetic CIFAR-10 stand-in (4.6 MB) goes into the bundle's package data, so a
    student without internet trains and self-checks a05 on it (``datasets.standin_cifar10``); a
    course whose data/ holds the real data set ships none (170 MB: the notebook downloads it)."""
    from ..core.datasets import FOLDER, find_cifar10, is_standin

    found = find_cifar10(course.data_dir())
    if found is not None and is_standin(found):
        shutil.copytree(found, dest / FOLDER)


# ---------------------------------------------------------------- what the bundle must not contain

#: a solution line too short or too plain to be a leak (``pass``, ``return x``, ``self.fit(X, y)``,
#: ``X = np.asarray(X, dtype=np.float64)``)
MIN_LEAK_CHARS = 25
_PLAIN_LINE = re.compile(r"^(return\s+)?[\w\s.,()\[\]{}:]*$")
_CONVERSION = re.compile(r"^(\w+) = (np\.)?(asarray|array|asanyarray|atleast_2d)\(\1(, \w+=[\w.]+)*\)$")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _trivial(line: str) -> bool:
    return (len(line) < MIN_LEAK_CHARS or line.startswith("#") or bool(_PLAIN_LINE.match(line))
            or bool(_CONVERSION.match(line)))


def public_lines(course: Course) -> set[str]:
    """Lines students have anyway: the released notebooks' given code and the engine's source
    (a solution line that is also one of these, e.g. ``rng = np.random.default_rng(seed)``,
    gives nothing away)."""
    texts = [a.student.read_text(encoding="utf-8") for a in course.assignments.values() if a.student]
    texts = ["\n".join(c.source for c in nbformat.reads(t, as_version=4).cells) for t in texts]
    engine = Path(__file__).resolve().parents[1]
    texts += [f.read_text(encoding="utf-8") for f in engine.rglob("*.py")
              if "_course" not in f.parts and "__pycache__" not in f.parts]
    return {_normalise(line) for t in texts for line in t.splitlines()}


def solution_lines(solution: nbformat.NotebookNode, public: set[str] = frozenset()) -> list[str]:
    """The solution regions' lines that would give the solution away, whitespace normalised:
    not trivial and not among ``public``."""
    lines = []
    for body in solution_bodies(solution):
        for line in body.splitlines():
            line = _normalise(line)
            if not _trivial(line) and line not in public:
                lines.append(line)
    return list(dict.fromkeys(lines))


def _bundle_text(path: Path) -> str:
    """A bundle file's text as a student reads it (a notebook: its cells' sources and outputs)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            strings = []

            def walk(v):
                if isinstance(v, str):
                    strings.append(v)
                elif isinstance(v, list):
                    for x in v:
                        walk(x)
                elif isinstance(v, dict):
                    for x in v.values():
                        walk(x)

            walk(json.loads(text))
            text = "\n".join(strings)
        except ValueError:
            pass
    return _normalise(text)


def bundle_problems(course: Course, bundle: Path) -> list[str]:
    """What a written bundle gives away: reference helpers in (or needed by) its rubrics, and
    solution lines in any of its files.  One line per problem; empty when the bundle is clean."""
    bundle = Path(bundle)
    problems = []
    grading = bundle / "autograder" / "_course" / "tests" / "grading"
    for a in course.assignments.values():
        shipped = grading / a.rubric.name
        if shipped.is_file():
            for name in sorted(reference_names(ast.parse(shipped.read_text(encoding="utf-8")))):
                problems.append(f"{a.id}: the bundle's rubric contains the reference helper `{name}`")
        for test, names in sorted(public_tests_needing_references(a.rubric.read_text(encoding="utf-8")).items()):
            problems.append(f"{a.id}: public test `{test}` uses the reference helper(s) "
                            f"{', '.join(f'`{n}`' for n in sorted(names))} (compare with stored values "
                            "or mark the test @pytest.mark.hidden)")
    public = public_lines(course)
    leaks = {a.id: solution_lines(nbformat.read(a.solution, as_version=4), public)
             for a in course.assignments.values() if a.solution is not None}
    data = bundle / "autograder" / "_course" / "data"  # generated images, no text
    for f in sorted(p for p in bundle.rglob("*") if p.is_file() and not p.is_relative_to(data)):
        text = _bundle_text(f)
        for aid, lines in leaks.items():
            for line in lines:
                if line in text:
                    problems.append(f"{f.relative_to(bundle)}: contains a solution line of {aid}: {line}")
    return problems


def check_bundle(course: Course) -> list[str]:
    """Build the student bundle in a temporary folder and return what it gives away."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ag-bundle-") as tmp:
        write_bundle(course, Path(tmp) / "bundle")
        return bundle_problems(course, Path(tmp) / "bundle")


BUNDLE_README = """# Задания курса «Нейронные сети с нуля»

Установка (в Jupyter или Colab): `pip install .` в этой папке (в Colab: загрузите папку и
выполните `!pip install ./<папка>`).

Откройте ноутбук из `assignments/`, заполните места `# YOUR CODE HERE` и проверьте себя прямо
в ноутбуке:

    from autograder import check
    check()           # все открытые тесты задания
    check("Linear")   # только тесты одной задачи

Самопроверка запускает только открытые тесты; итоговая оценка учитывает и скрытые.
"""


class NoCourseHere(Exception):
    pass


def working_course(explicit: str | Path | None = None) -> Course:
    """The course an instructor's command (``release``, ``new``) acts on: ``--course DIR``, else the
    nearest folder from the current one upwards that has tests/grading/.  Never the course found
    through the installed package: writing there from an unrelated folder would be a surprise."""
    if explicit:
        root = Path(explicit)
        if not (root / "tests" / "grading").is_dir():
            raise NoCourseHere(f"{root} is not a course folder (it has no tests/grading/)")
        return Course(root.resolve())
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "tests" / "grading").is_dir():
            return Course(folder)
    raise NoCourseHere(f"no course in {here} or above it (a folder with tests/grading/): "
                       "run from the course folder or pass --course DIR")


def release_plan(course: Course) -> list[tuple[Path, str]]:
    """(student notebook, new|changed|unchanged) for every assignment that has a solution."""
    plan = []
    for _, generated, target in _released(course):
        text = dumps(generated)
        state = "new" if not target.exists() else (
            "unchanged" if target.read_text(encoding="utf-8") == text else "changed")
        plan.append((target, state))
    return plan


def release_command(course: Course, check: bool = False, bundle: str | None = None,
                    dry_run: bool = False) -> int:
    """``autograder release``: says which course it acts on; --dry-run writes nothing."""
    verb = "checking" if check else "would write" if dry_run else "writing"
    print(f"course {course.root}: {verb} {course.root / 'assignments'}"
          + (f" and the student bundle {Path(bundle).resolve()}" if bundle and not check else ""))
    if dry_run and not check:
        try:
            plan = release_plan(course)
        except (MarkerError, ManualError) as exc:
            print(f"autograder release: {exc}", file=sys.stderr)
            return 1
        for target, state in plan:
            print(f"  {state:9} {target}")
        print(f"dry run: nothing written ({sum(s != 'unchanged' for _, s in plan)} file(s) would change)")
        return 0
    try:
        problems = release(course, check=check)
    except (MarkerError, ManualError) as exc:
        print(f"autograder release: {exc}", file=sys.stderr)
        return 1
    if check:
        problems += skipped_cell_problems(course) + check_bundle(course)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    if bundle:
        write_bundle(course, Path(bundle))
        print(f"student bundle written to {bundle}")
    if not check:
        print(f"released {sum(a.solution is not None for a in course.assignments.values())} assignment(s) "
              f"into {course.root / 'assignments'}")
    else:
        print("assignments/ is up to date")
    return 0
