"""A small class of two assignments and a deterministic stand-in for the notebook engine, for the
fast tests of class-level logic (shards, merge, roster, narrower regrades): no kernels run.

Fixtures: ``small_course`` (two rubrics), ``klass`` (six students), ``fake``, which replaces
``batch.grade_notebook``: a notebook containing ``a + b`` passes both tests,
``a - b`` one, anything else none.  Import the fixtures into a test module to use them.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.classroom import batch
from autograder.core.course import Course
from autograder.engine import grade

ASSIGNMENTS = ("a00_tiny", "a01_more")
RUBRIC = '''import pytest

@pytest.mark.points(1)
def test_add(submission):
    """add(2, 3) == 5"""
    assert submission.add(2, 3) == 5

@pytest.mark.points(2)
def test_neg(submission):
    """add(-1, 1) == 0"""
    assert submission.add(-1, 1) == 0
'''
CODES = {"right": "def add(a, b):\n    return a + b\n", "half": "def add(a, b):\n    return a - b\n",
         "none": "def add(a, b):\n    raise NotImplementedError\n"}
#: student -> {assignment: kind of code}
STUDENTS = {"ann": {"a00_tiny": "right", "a01_more": "half"}, "bob": {"a00_tiny": "half"},
            "cid": {"a00_tiny": "none", "a01_more": "right"}, "dan": {"a01_more": "right"},
            "eve": {"a00_tiny": "right", "a01_more": "none"}, "fay": {"a00_tiny": "half", "a01_more": "half"}}

CALLS: list[tuple[str, str]] = []


def make_nb(assignment: str, code: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"assignment": assignment}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    return nb


def add_submission(cls: Path, student: str, assignment: str, kind: str) -> Path:
    path = cls / student / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(make_nb(assignment, CODES[kind]), path)
    return path


def fake_grade_notebook(target, course, out_dir, **kw):
    text = target.path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    assignment = nb.metadata["autograder"]["assignment"]
    CALLS.append((target.student, assignment))
    add, neg = "a + b" in text, "a + b" in text or "a - b" in text
    tests = [{"name": "test_add", "task": "", "description": "add(2, 3) == 5", "max_score": 1.0,
              "visibility": "visible", "score": float(add), "status": "passed" if add else "failed",
              "output": "" if add else "add(2, 3) должно быть 5"},
             {"name": "test_neg", "task": "", "description": "add(-1, 1) == 0", "max_score": 2.0,
              "visibility": "visible", "score": 2.0 * neg, "status": "passed" if neg else "failed", "output": ""}]
    result = {"student": target.student, "assignment": assignment, "notebook": str(target.path),
              "score": 0.0, "max_score": 0.0, "status": "graded", "errors": [], "execution": {"seconds": 0.1},
              "import_errors": [], "tests": tests}
    dest = out_dir / target.student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    return grade._finish(result, dest)


@pytest.fixture
def small_course(tmp_path) -> Course:
    root = tmp_path / "course"
    (root / "tests" / "grading").mkdir(parents=True)
    for aid in ASSIGNMENTS:
        (root / "tests" / "grading" / f"{aid}.py").write_text(RUBRIC, encoding="utf-8")
    return Course.locate(root)


@pytest.fixture
def klass(tmp_path) -> Path:
    cls = tmp_path / "class"
    for student, work in STUDENTS.items():
        for assignment, kind in work.items():
            add_submission(cls, student, assignment, kind)
    return cls


@pytest.fixture
def fake(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(batch, "grade_notebook", fake_grade_notebook)
    return CALLS
