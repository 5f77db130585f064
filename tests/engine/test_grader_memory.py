"""The grading pytest process runs under a memory limit: a hole the wire caps leave costs one test
of one submission, with a message the student understands, and the next submission is graded."""
import nbformat
import pytest

from autograder.classroom.batch import grade_all
from autograder.core.course import Assignment, Course
from autograder.engine.grade import discover
from autograder.engine.scoring import GRADER_MEMORY_MB, _run, grader_memory_mb

from .tiny import notebook

# test_buffer stands for a hole left in the grader: it allocates a size the student chooses.
# np.zeros only reserves the memory (calloc), so without a limit nothing is touched either.
RUBRIC = '''
import numpy as np
import pytest

ASSIGNMENT = {"title": "memory", "cell_timeout": 10, "notebook_timeout": 30, "test_timeout": 30,
              "memory_mb": 1024}


@pytest.mark.points(1)
def test_buffer(submission):
    """Буфер размера size()."""
    n = int(submission.size())
    buf = np.zeros(n, dtype=np.uint8)
    assert buf.size == n


@pytest.mark.points(1)
def test_double(submission):
    """double(2) = 4."""
    assert float(submission.double(2.0)) == 4.0
'''


def test_the_grading_process_gets_the_memory_limit(tmp_path):
    probe = tmp_path / "test_limit.py"
    probe.write_text("import resource\n\ndef test_limit():\n"
                     "    print('limit', resource.getrlimit(resource.RLIMIT_DATA))\n", encoding="utf-8")
    argv = [str(probe), "-s", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path)]
    timed_out, out = _run(argv, tmp_path, 60, 1536, Assignment("a00", probe))
    assert not timed_out and f"limit ({1536 * 2**20}, {1536 * 2**20})" in out, out
    small = Assignment("a00", tmp_path / "a00.py", config={"memory_mb": 1024})
    large = Assignment("a00", tmp_path / "a00.py", config={"memory_mb": GRADER_MEMORY_MB * 2})
    assert grader_memory_mb(small) == GRADER_MEMORY_MB  # never below what the worker may use
    assert grader_memory_mb(large) == GRADER_MEMORY_MB * 2


@pytest.mark.slow
def test_a_submission_that_exhausts_the_graders_memory_costs_only_that_test(tmp_path):
    root = tmp_path / "course"
    (root / "tests" / "grading").mkdir(parents=True)
    (root / "tests" / "grading" / "a00_mem.py").write_text(RUBRIC, encoding="utf-8")
    klass = tmp_path / "class"
    for student, size in (("hog", (GRADER_MEMORY_MB + 2048) * 2**20), ("fine", 1000)):
        (klass / student).mkdir(parents=True)
        cells = [("code", f"def size():\n    return {size}"), ("code", "def double(x):\n    return 2 * x")]
        nbformat.write(notebook(cells), klass / student / "a00_mem.ipynb")
    results = {r["student"]: r for r in grade_all(discover([klass]), Course(root), tmp_path / "out",
                                                  jobs=1, progress=False)}
    hog = {t["name"]: t for t in results["hog"]["tests"]}
    assert hog["test_buffer"]["score"] == 0, hog
    assert "Процессу проверки не хватило памяти" in hog["test_buffer"]["output"], hog["test_buffer"]
    assert f"{GRADER_MEMORY_MB} МБ" in hog["test_buffer"]["output"]
    assert hog["test_double"]["status"] == "passed", hog  # the same process goes on grading
    assert results["fine"]["score"] == results["fine"]["max_score"] == 2, results["fine"]["tests"]
