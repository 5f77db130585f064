"""The self-check cells a release adds to a student notebook (``release.student_notebook``).

- a first cell that gets the student bundle where it is missing and binds ``check`` to the
  assignment (``selfcheck.start``): with ``[release] bundle_url`` in ``autograder.toml`` it
  pip-installs that URL when ``autograder`` cannot be imported; without it, it says how to install;
- after each task group, ``check("<task>", ...)``: the public tests of the tasks whose code the
  preceding cell completes.  A task's place is the last solution cell that defines a name its
  public tests read from ``submission``; tasks with the same place share one cell.  A task whose
  public tests read a file handed in beside the notebook (the weights a training cell saves) is
  checked at the end of the notebook.

Generated from the rubric's ``@pytest.mark.task`` names, so the solution notebook stays the single
source.  Generated cells are ``protected`` and marked ``metadata.autograder.generated``:
``protect.restore_protected`` undoes a student's edit but neither searches them by similarity nor
re-inserts a deleted one (they hold nothing to grade).  Inside the grader they do nothing
(``selfcheck.grading``).
"""
from __future__ import annotations

import ast
import json
import shlex

import nbformat

from ..sandbox.extract import _strip_ipython
SETUP_ID = "autograder-setup"

#: the tag of a released cell the student must not change (``protect.restore_protected``)
PROTECTED_TAG = "protected"


def is_protected(cell) -> bool:
    return PROTECTED_TAG in cell.get("metadata", {}).get("tags", [])


def is_generated(cell) -> bool:
    return bool(cell.get("metadata", {}).get("autograder", {}).get("generated"))


def _hidden(node) -> bool:
    return any("hidden" in ast.unparse(d) for d in node.decorator_list)


def _task(node) -> str | None:
    for d in node.decorator_list:
        if (isinstance(d, ast.Call) and ast.unparse(d.func).endswith("mark.task") and d.args
                and isinstance(d.args[0], ast.Constant) and isinstance(d.args[0].value, str)):
            return d.args[0].value
    return None


#: the fixture that reads a file handed in beside the notebook (``authoring.plugin.submitted_file``)
FILE_FIXTURE = "submitted_file"


def _public_reads(rubric: str) -> dict[str, set[str]]:
    """{task name: the names its public tests read}, in rubric order (see ``public_tasks``); the
    fixtures they take count as read names too (``submitted_file``)."""
    tree = ast.parse(rubric)
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def reads(node, seen: set[str]) -> set[str]:
        names = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                 and isinstance(n.value, ast.Name) and n.value.id == "submission"}
        names |= {n.value for n in ast.walk(node)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier()}
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        fixtures = {a.arg for a in node.args.args}
        names |= fixtures & {FILE_FIXTURE}
        for name in sorted((used | fixtures) & set(functions) - seen):
            seen.add(name)
            names |= reads(functions[name], seen)
        return names

    tasks: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            task = _task(node)
            if task and not _hidden(node):
                tasks.setdefault(task, set()).update(reads(node, {node.name}))
    return tasks


def public_tasks(rubric: str) -> dict[str, set[str]]:
    """{task name: names its public tests read from the submission}, in rubric order.

    Read: ``submission.<name>``, and identifier-like strings (``getattr(submission, "train")``,
    ``source_of("Linear")``), in the test and in the module-level helpers and fixtures it uses.
    """
    return {task: names - {FILE_FIXTURE} for task, names in _public_reads(rubric).items()}


def file_tasks(rubric: str) -> set[str]:
    """Tasks whose public tests read a file handed in beside the notebook (``submitted_file``, e.g.
    saved weights): the notebook makes that file last, so their check cell ends the notebook."""
    return {task for task, names in _public_reads(rubric).items() if FILE_FIXTURE in names}


def defined_names(source: str) -> set[str]:
    """Top-level names a code cell defines (``Linear.backward = f`` counts for ``Linear``)."""
    try:
        tree = ast.parse(_strip_ipython(source))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                while isinstance(t, ast.Attribute):
                    t = t.value
                if isinstance(t, ast.Name):
                    names.add(t.id)
    return names


def placements(cells: list, has_solution: list[bool], tasks: dict[str, set[str]],
               at_end: set[str] = frozenset()) -> dict[int, list[str]]:
    """{index of the cell a check cell follows: its tasks}.  ``cells``: the solution's cells;
    ``has_solution[i]``: cell i holds a SOLUTION region.  A task none of whose names a cell
    defines, and a task of ``at_end`` (``file_tasks``), is checked after the last cell."""
    defined = [defined_names(c.source) if c.cell_type == "code" else set() for c in cells]
    where: dict[int, list[str]] = {}
    for task, names in tasks.items():
        solved = [i for i, d in enumerate(defined) if d & names and has_solution[i]]
        anywhere = [i for i, d in enumerate(defined) if d & names]
        index = len(cells) - 1 if task in at_end else max(solved or anywhere or [len(cells) - 1])
        where.setdefault(index, []).append(task)
    return where


def _generated(source: str, cell_id: str, kind: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    cell.metadata["tags"] = [PROTECTED_TAG]
    cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    cell.metadata["autograder"] = {"generated": kind}
    return cell


def setup_cell(assignment_id: str, bundle_url: str | None) -> nbformat.NotebookNode:
    """The first cell: one line for the student to run (installs the bundle where it is missing)."""
    start = f"from autograder.selfcheck import start; check = start({assignment_id!r})"
    if bundle_url:
        pip = f"install -q {shlex.quote(bundle_url)}"
        source = ("# Самопроверка: ставит пакет курса, если его нет (Jupyter, Colab), и включает "
                  "check(...) после заданий\n"
                  f'import importlib.util; importlib.util.find_spec("autograder") or '
                  f'get_ipython().run_line_magic("pip", {pip!r}); {start}')
    else:
        source = ("# Самопроверка: включает check(...) после заданий (нужен пакет курса autograder)\n"
                  f"try: {start}\n"
                  "except ImportError: check = lambda *tasks: print(\"Самопроверка недоступна: установите "
                  "пакет курса командой  %pip install <папка или архив пакета курса>  и выполните первую "
                  "ячейку снова.\"); check()")
    return _generated(source, SETUP_ID, "setup")


def check_cell(tasks: list[str], number: int) -> nbformat.NotebookNode:
    call = ", ".join(json.dumps(t, ensure_ascii=False) for t in tasks)
    return _generated(f"check({call})  # самопроверка: открытые тесты этого задания",
                      f"autograder-check-{number}", "check")


def add_check_cells(nb: nbformat.NotebookNode, has_solution: list[bool], assignment_id: str, rubric: str,
                    bundle_url: str | None = None) -> None:
    """Insert the setup cell first and a check cell after each task group (in place)."""
    where = placements(nb.cells, has_solution, public_tasks(rubric), file_tasks(rubric))
    cells = [setup_cell(assignment_id, bundle_url)]
    number = 0
    for i, cell in enumerate(nb.cells):
        cells.append(cell)
        if i in where:
            number += 1
            cells.append(check_cell(where[i], number))
    nb.cells = cells
