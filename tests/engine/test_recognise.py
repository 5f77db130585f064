"""Which assignment a notebook is: metadata, file name (Colab/Jupyter copies), definitions."""
from pathlib import Path

import nbformat
import pytest

from autograder.classroom.batch import plan
from autograder.core.course import Course
from autograder.engine.grade import Target, base_name, grade_notebook, identify

from .tiny import notebook

ROOT = Path(__file__).resolve().parents[2]


def _stripped(path: Path) -> nbformat.NotebookNode:
    """A notebook as a Colab download gives it: no autograder metadata, no cell ids."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("autograder", None)
    for cell in nb.cells:
        cell.pop("id", None)
    nb.nbformat_minor = 4
    return nb


@pytest.mark.parametrize("stem", [
    "Copy of a01_neurons", "Copy_of_a01_neurons", 'Копия блокнота "a01_neurons"',
    'Копия блокнота «a01_neurons.ipynb»', "a01_neurons (1)", "a01_neurons-Copy1",
    "Copy of a01_neurons (2)",
])
def test_copy_names_lead_back_to_the_original(stem):
    assert base_name(stem) == "a01_neurons"


@pytest.mark.parametrize("aid", ["a01_neurons", "a02_backprop", "a03_modules", "a04_fc_lab", "a05_mlp_cnn"])
def test_course_notebooks_are_recognised_by_copy_name_and_by_definitions(aid):
    course = Course(ROOT)
    nb = _stripped(course.assignments[aid].student)
    found = identify(nb, Path(f'Копия блокнота "{aid}".ipynb'), course)
    assert (found.assignment.id, found.how) == (aid, "copy_name")
    found = identify(nb, Path("homework.ipynb"), course)  # a name that says nothing
    assert (found.assignment.id, found.how) == (aid, "definitions"), found


def test_a_notebook_like_two_assignments_is_reported_ambiguous(tmp_path):
    (tmp_path / "tests" / "grading").mkdir(parents=True)
    (tmp_path / "solutions").mkdir()
    for aid, names in (("a01_one", "fgx"), ("a02_two", "fgh")):
        (tmp_path / "tests" / "grading" / f"{aid}.py").write_text("", encoding="utf-8")
        cells = [("code", f"def {n}():\n    return 1") for n in names]
        nbformat.write(notebook(cells), tmp_path / "solutions" / f"{aid}.ipynb")
    course = Course(tmp_path)
    both = notebook([("code", "def f():\n    pass"), ("code", "def g():\n    pass")])
    found = identify(both, Path("hw.ipynb"), course)
    assert (found.assignment, found.how, found.candidates) == (None, "ambiguous", ("a01_one", "a02_two"))
    only_two = notebook([("code", "def h():\n    pass"), ("code", "def g():\n    pass")])
    assert identify(only_two, Path("hw.ipynb"), course).assignment.id == "a02_two"
    assert identify(notebook([("code", "x = 1")]), Path("hw.ipynb"), course).how == "unknown"

    result = grade_notebook(Target("ann", _write(tmp_path / "ann" / "hw.ipynb", both)), course, tmp_path / "out")
    assert result["status"] == "ungraded" and result["reason"]["key"] == "ambiguous_assignment"
    assert "a01_one, a02_two" in result["errors"][-1], result["errors"]


def _write(path: Path, nb) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_plan_files_a_colab_copy_under_its_assignment(tiny, tmp_path):
    copy = _write(tmp_path / "class" / "ann" / "Copy of a00_tiny.ipynb", _stripped(tiny.assignments["a00_tiny"].solution))
    renamed = _write(tmp_path / "class" / "bob" / "my homework.ipynb", _stripped(tiny.assignments["a00_tiny"].solution))
    planned = plan([Target("ann", copy), Target("bob", renamed)], tiny, tmp_path / "out", {})
    assert [p.dest.relative_to(tmp_path / "out").as_posix() for p in planned] == ["ann/a00_tiny", "bob/a00_tiny"]


@pytest.mark.slow
def test_a_colab_download_is_graded_with_a_notice(tiny, tmp_path):
    path = _write(tmp_path / "ann" / "Copy of a00_tiny.ipynb", _stripped(tiny.assignments["a00_tiny"].solution))
    result = grade_notebook(Target("ann", path), tiny, tmp_path / "out")
    assert (result["assignment"], result["score"], result["max_score"]) == ("a00_tiny", 4.0, 4.0), result
    assert result["notices"] == [{"key": "recognised_by_name",
                                  "args": {"assignment": "a00_tiny", "name": "Copy of a00_tiny.ipynb"}}]
    assert result["errors"] == []


def test_a_student_bundle_recognises_by_definitions_too(tmp_path):
    from autograder.authoring.release import write_bundle

    write_bundle(Course(ROOT), tmp_path / "bundle")
    course = Course(tmp_path / "bundle" / "autograder" / "_course")   # no solutions/ in a bundle
    nb = _stripped(ROOT / "assignments" / "a03_modules.ipynb")
    assert identify(nb, Path("untitled.ipynb"), course).assignment.id == "a03_modules"
