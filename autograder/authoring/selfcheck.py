"""``check()``: students run the public tests on the definitions in their own kernel.

    from autograder import check
    check()                       # every public test of the assignment
    check("2.1")                  # the tests of task 2.1 (and its subtasks 2.1.x)
    check("1.1 Neuron", "Linear") # a task by its full name, or any task or test mentioning Linear

It grades what is defined in the kernel right now (``__main__``), with the same public tests and
plugin as the instructor's run, and prints a table grouped by task; it returns nothing (so
Jupyter echoes nothing).  The assignment is recognised from the names the kernel defines (or
pass ``assignment="a01_neurons"``).

Released notebooks call it from generated cells (``autograder.authoring.release``): the first cell runs
``start("<id>")``, which returns ``check`` bound to the assignment and lets "Run All" go on past
cells that stop on an unfinished task (``RunAllPastUnfinished``), so every check cell runs.
Inside the grader's sandbox (``AUTOGRADER_GRADING=1``, set by ``sandbox.sandbox_env``) both do
nothing: grading never runs the self-check.
"""
from __future__ import annotations

import ast
import json
import os
import re
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Sequence

from ..core.course import Course


def _names_used(rubric: Path) -> set[str]:
    """Names a rubric reads from the submission (``submission.X``)."""
    tree = ast.parse(rubric.read_text(encoding="utf-8"))
    return {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "submission"}


def guess_assignment(course: Course, namespace: dict) -> str:
    """The assignment whose rubric uses the most names defined in ``namespace``."""
    scores = {}
    for a in course.assignments.values():
        used = _names_used(a.rubric)
        scores[a.id] = len(used & set(namespace)) / max(1, len(used))
    if not scores or max(scores.values()) == 0:
        raise LookupError("не удалось определить задание: передайте check(assignment='a01_neurons')")
    return max(scores, key=scores.get)


def _sources(namespace: dict) -> dict[str, str]:
    """Sources of the kernel's definitions, from IPython's input history when there is one."""
    import nbformat

    from ..sandbox.extract import definitions

    history = namespace.get("In") or []
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in history if isinstance(src, str) and src.strip()]
    return definitions(nb).sources


GRADING_ENV = "AUTOGRADER_GRADING"
_NUMBER = re.compile(r"^\d+(\.\d+)*\.?$")


def grading() -> bool:
    """True inside the grader's sandbox, where the notebook's check cells must do nothing."""
    return os.environ.get(GRADING_ENV) == "1"


def selects(query: str, task: str, name: str, tasks: set[str]) -> bool:
    """Whether ``check(query)`` runs the test ``name`` of task ``task`` (``tasks``: all task names).

    A full task name selects exactly that task; a task number (``2.1``, ``4.``) the task and its
    subtasks (``2.1 ReLU``, ``2.1.3 ...``); any other text every task or test that mentions it.
    """
    query = query.strip()
    if query in tasks:
        return task == query
    if _NUMBER.match(query):
        label = task.split(" ", 1)[0]
        return label == query or label.rstrip(".") == query.rstrip(".") or label.startswith(query.rstrip(".") + ".")
    return query.lower() in task.lower() or query.lower() in name.lower()


def self_check_data(course: Course) -> Path | None:
    """The data folder of the student's self-check: the real CIFAR-10 where the notebook downloaded
    it (``datasets.DOWNLOAD_ROOT`` in the kernel's folder), else the course's data (the stand-in)."""
    from ..core.datasets import DOWNLOAD_ROOT, find_cifar10

    local = Path.cwd() / DOWNLOAD_ROOT
    return local if find_cifar10(local) is not None else course.data_dir()


def run_check(namespace: dict, task: str | Sequence[str] | None = None, assignment: str | None = None,
              course: Course | None = None) -> list[dict]:
    """Run the public tests against ``namespace``; returns the test records (plugin format).

    ``task``: one query or several (see ``selects``); None runs every public test.
    """
    import pytest

    from . import plugin
    from ..engine.scoring import rubric_args
    from ..sandbox.submission import Submission

    course = course or Course.locate()
    aid = assignment or guess_assignment(course, namespace)
    a = course.assignments[aid]
    sub = Submission.from_namespace(namespace, _sources(namespace))
    queries = [task] if isinstance(task, str) else list(task or ())

    class Provide:
        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(self, config):
            config.stash[plugin.SUBMISSION_KEY] = sub

        @pytest.hookimpl(tryfirst=True)  # before the plugin records what was collected
        def pytest_collection_modifyitems(self, config, items):
            if not queries:
                return
            info = [(i, plugin.test_info(i)) for i in items]
            tasks = {t["task"] for _, t in info}
            kept = [i for i, t in info if any(selects(q, t["task"], t["name"], tasks) for q in queries)]
            config.hook.pytest_deselected(items=[i for i in items if i not in kept])
            items[:] = kept

    with tempfile.TemporaryDirectory(prefix="ag-check-") as tmp:
        results = Path(tmp) / "results.jsonl"
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        # the kernel's current folder holds the notebook's files (saved weights): submitted_file
        args = rubric_args(a, None, results, public_only=True, data_dir=self_check_data(course),
                           scratch=Path.cwd(), files=Path.cwd(), terminal=False)
        args += ["--capture=sys"]
        code = pytest.main(args, plugins=[plugin, Provide()])
        if not results.exists():
            raise RuntimeError(f"самопроверка не запустилась (pytest завершился с кодом {int(code)})")
        records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    finished = {r["name"]: r for r in records if r.get("kind") == "test"}
    return [finished.get(r["name"], {**r, "score": 0.0, "status": "failed", "output": "тест не завершился"})
            for r in records if r.get("kind") == "collected"]


UNFINISHED = "Задание не выполнено"
WIDTH = 88


def _message(record: dict) -> list[str]:
    """What to say under a failed test: the failure in full (with Hypothesis' smallest failing
    input), at most 10 lines; an unfinished task is said once per task instead (``format_table``)."""
    output = (record.get("output") or "").strip()
    if not output or output.startswith(UNFINISHED):
        return []
    return output.splitlines()[:10]


def _wrap(text: str, indent: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [indent.rstrip()]


def format_table(records: list[dict], width: int = WIDTH) -> str:
    """The self-check's table: one block per task (its name once, wrapped, with its points), a line
    per test (mark, points, rubric line), under a failed test what went wrong; then the total."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        groups.setdefault(r.get("task") or "", []).append(r)
    lines = []
    for task, tests in groups.items():
        got = sum(t["score"] for t in tests)
        possible = sum(t["max_score"] for t in tests if t["status"] != "skipped")
        points = f"{got:g}/{possible:g}"
        head = _wrap(task or "Без задачи", "", width - len(points) - 2)
        lines.append(f"{head[0]:<{width - len(points)}}{points}")
        lines += head[1:]
        for t in tests:
            mark = {"passed": "✔", "skipped": "–"}.get(t["status"], "✘")
            lead = f"  {mark} {t['score']:g}/{t['max_score']:g} "
            text = _wrap(t.get("description") or t["name"], " " * len(lead), width)
            lines.append(lead + text[0][len(lead):])
            lines += text[1:]
            if t["status"] not in ("passed", "skipped"):
                for message in _message(t):
                    lines += _wrap(message, " " * (len(lead) + 2), width) if message.strip() else [""]
            elif t["status"] == "passed" and (t.get("output") or "").strip():  # what it measured (ag_note)
                lines += _wrap(t["output"].strip().splitlines()[0], " " * (len(lead) + 2), width)
        # a stub fails every test of its task the same way: one line, and no "smallest input"
        unfinished = [(t.get("output") or "").strip().splitlines()[0] for t in tests
                      if t["status"] == "failed" and (t.get("output") or "").strip().startswith(UNFINISHED)]
        for message in dict.fromkeys(unfinished):
            lines += _wrap(message, "    ", width)
    got = sum(r["score"] for r in records)
    total = sum(r["max_score"] for r in records if r["status"] != "skipped")
    if not records:
        lines.append("Нет открытых тестов с таким названием задачи.")
    lines.append(f"Итого по открытым тестам: {got:g}/{total:g}")
    return "\n".join(lines)


def check(*tasks: str, assignment: str | None = None) -> None:
    """Print the public-test table for the kernel's current definitions (``tasks``: see ``selects``).

    Returns None, so a notebook echoes nothing below the table; never raises (a check cell must not
    stop "Run All"), and does nothing inside the grader (``grading()``).
    """
    if grading():
        return None
    namespace = sys.modules["__main__"].__dict__
    try:
        course = Course.locate()
        aid = assignment or guess_assignment(course, namespace)
        records = run_check(namespace, task=tasks, assignment=aid, course=course)
        manual = manual_note(course.assignments[aid], tasks)
    except Exception as exc:  # noqa: BLE001 - shown to the student instead of a traceback
        print(f"Самопроверка не запустилась: {type(exc).__name__}: {exc}")
        return None
    print("\n".join([format_table(records), *manual]))
    return None


def manual_note(assignment, tasks=()) -> list[str]:
    """Lines about the assignment's manually graded items (of the selected ``tasks``): no public
    test can check them, so the table says who grades them and where the answer goes."""
    items = assignment.manual_items
    names = {i.task for i in items}
    chosen = [i for i in items if not tasks or any(selects(q, i.task, i.id, names) for q in tasks)]
    lines = []
    for item in chosen:
        lines += _wrap(f"{item.task}: {item.question} — оценивает преподаватель вручную "
                       f"(баллов: {item.points:g}); ответ пишите в ячейке ответа под вопросом.", "", WIDTH)
    return lines


# ------------------------------------------------------------------ the notebook's first cell

class RunAllPastUnfinished:
    """IPython hooks that let "Run All" continue past a cell stopped by an unfinished task.

    "Run All" stops at the first cell whose execution ends in an error.  A demo cell that calls a
    stub raises ``NotImplementedError``; this prints one line instead of the traceback and marks
    the cell's execution successful (``post_run_cell`` clears ``error_in_exec``, so the kernel
    replies "ok").  A ``NameError`` after such a cell (a value the stopped cell would have made)
    is treated the same.  Any other error stops "Run All" as usual.
    """

    def __init__(self) -> None:
        self.unfinished = False

    def tolerated(self, exc: BaseException | None) -> bool:
        return isinstance(exc, NotImplementedError) or (self.unfinished and isinstance(exc, NameError))

    def show(self, shell, etype, value, tb, tb_offset=None):
        if not self.tolerated(value):
            return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        if isinstance(value, NotImplementedError):
            self.unfinished = True
            while tb.tb_next is not None:
                tb = tb.tb_next
            code = tb.tb_frame.f_code
            where = getattr(code, "co_qualname", code.co_name)
            print(f"⚠ Задание ещё не выполнено: {where} вызывает NotImplementedError. "
                  "Ячейка остановлена, ноутбук выполняется дальше.")
        else:
            print(f"⚠ {etype.__name__}: {value}. Вероятно, это значение создаёт ячейка выше, "
                  "остановленная невыполненным заданием.")
        return None

    def post_run_cell(self, result) -> None:
        if result is not None and self.tolerated(result.error_in_exec):
            result.error_in_exec = None

    def install(self, shell) -> None:
        """Install in ``shell`` (an IPython shell), replacing an earlier instance (the first cell
        run again)."""
        previous = getattr(shell, "_autograder_run_all", None)
        if previous is not None:
            shell.events.unregister("post_run_cell", previous.post_run_cell)
        shell.set_custom_exc((NotImplementedError, NameError), self.show)
        shell.events.register("post_run_cell", self.post_run_cell)
        shell._autograder_run_all = self


def start(assignment: str | None = None):
    """What the first cell of a released notebook runs: ``check = start("a01_neurons")``.

    Returns ``check`` bound to the assignment and, in IPython, lets "Run All" continue past
    unfinished tasks (``RunAllPastUnfinished``).  Inside the grader it changes nothing.
    """
    def bound(*tasks: str) -> None:
        return check(*tasks, assignment=assignment)

    bound.__doc__ = check.__doc__
    if grading():
        return bound
    try:
        from IPython import get_ipython
    except ImportError:
        return bound
    shell = get_ipython()
    if shell is not None:
        RunAllPastUnfinished().install(shell)
    return bound
