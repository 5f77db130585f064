"""``check()``: students run the public tests on the definitions in their own kernel.

    from autograder import check
    check()            # every public test of the assignment
    check("Linear")    # only the tests whose task or name mentions Linear

It grades what is defined in the kernel right now (``__main__``), with the same public tests and
plugin as the instructor's run, and prints a short table.  The assignment is recognised from the
names the kernel defines (or pass ``assignment="a01_neurons"``).
"""
from __future__ import annotations

import ast
import json
import sys
import tempfile
from pathlib import Path

from .course import Course


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

    from .extract import definitions

    history = namespace.get("In") or []
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in history if isinstance(src, str) and src.strip()]
    return definitions(nb).sources


def run_check(namespace: dict, task: str | None = None, assignment: str | None = None,
              course: Course | None = None) -> list[dict]:
    """Run the public tests against ``namespace``; returns the test records (plugin format)."""
    import pytest

    from . import plugin
    from .scoring import rubric_args
    from .submission import Submission

    course = course or Course.locate()
    aid = assignment or guess_assignment(course, namespace)
    a = course.assignments[aid]
    sub = Submission.from_namespace(namespace, _sources(namespace))

    class Provide:
        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(self, config):
            config.stash[plugin.SUBMISSION_KEY] = sub

    with tempfile.TemporaryDirectory(prefix="ag-check-") as tmp:
        results = Path(tmp) / "results.jsonl"
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        # the kernel's current folder holds the notebook's files (saved weights): submitted_file
        args = rubric_args(a, None, results, public_only=True, data_dir=course.data_dir(),
                           scratch=Path.cwd(), files=Path.cwd(), terminal=False)
        args += ["--capture=sys"]
        if task:
            args += ["-k", task]
        code = pytest.main(args, plugins=[plugin, Provide()])
        if not results.exists():
            raise RuntimeError(f"самопроверка не запустилась (pytest завершился с кодом {int(code)})")
        records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    finished = {r["name"]: r for r in records if r.get("kind") == "test"}
    return [finished.get(r["name"], {**r, "score": 0.0, "status": "failed", "output": "тест не завершился"})
            for r in records if r.get("kind") == "collected"]


def format_table(records: list[dict]) -> str:
    lines = []
    for r in records:
        mark = {"passed": "✔", "skipped": "–"}.get(r["status"], "✘")
        lines.append(f"{mark} {r['task'] or r['name']:<28} {r['score']:g}/{r['max_score']:g}  {r['description']}")
        if r["status"] != "passed" and r.get("output"):
            lines += ["      " + line for line in r["output"].splitlines()[:8]]
    got = sum(r["score"] for r in records)
    total = sum(r["max_score"] for r in records if r["status"] != "skipped")
    lines.append(f"Итого по открытым тестам: {got:g}/{total:g}")
    return "\n".join(lines)


def check(task: str | None = None, assignment: str | None = None) -> list[dict]:
    """Print the public-test table for the kernel's current definitions; returns the records."""
    namespace = sys.modules["__main__"].__dict__
    records = run_check(namespace, task=task, assignment=assignment)
    print(format_table(records))
    return records
