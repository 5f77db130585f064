"""Release: solution regions become stubs; the check, the bundle, protected cells."""
import json

import nbformat
import pytest

from autograder.course import Course
from autograder.release import MarkerError, public_rubric, release, strip_solutions, student_notebook, write_bundle
from autograder.protect import restore_protected

from .tiny import RUBRIC


def test_region_in_a_function_body_becomes_a_stub_at_its_indent():
    src = 'def f(x):\n    """doc"""\n    ### BEGIN SOLUTION\n    y = x\n    return y\n    ### END SOLUTION\n'
    out, bodies = strip_solutions(src)
    assert out == 'def f(x):\n    """doc"""\n    # YOUR CODE HERE\n    raise NotImplementedError()'
    assert bodies == ["    y = x\n    return y"]


@pytest.mark.parametrize("src", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"])
def test_unbalanced_markers_are_an_error(src):
    with pytest.raises(MarkerError):
        strip_solutions(src)


def test_student_notebook_has_no_solution_no_outputs_and_stable_ids(tiny):
    sol = nbformat.read(tiny.root / "solutions" / "a00_tiny.ipynb", as_version=4)
    sol.cells[4].outputs = [nbformat.v4.new_output("stream", text="x")]
    first, second = student_notebook(sol, "a00_tiny"), student_notebook(sol, "a00_tiny")
    assert first == second
    assert [c.id for c in first.cells] == [c.id for c in sol.cells]
    text = json.dumps(first)
    assert "2 * np.asarray" not in text and "BEGIN SOLUTION" not in text
    assert all(not c.get("outputs") for c in first.cells if c.cell_type == "code")
    assert first.metadata["autograder"]["assignment"] == "a00_tiny"
    assert first.cells[2].metadata["editable"] is False


def test_a_protected_cell_with_a_solution_region_is_refused(tiny):
    sol = nbformat.read(tiny.root / "solutions" / "a00_tiny.ipynb", as_version=4)
    sol.cells[2].source += "\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    with pytest.raises(MarkerError, match="cell 2.*protected"):
        student_notebook(sol, "a00_tiny")


def test_release_check_names_the_changed_notebook_and_cell(tiny, tmp_path):
    import shutil

    root = tmp_path / "course"
    shutil.copytree(tiny.root, root)
    course = Course(root)
    assert release(course, check=True) == []
    path = root / "solutions" / "a00_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[4].source = "print('changed')"
    nbformat.write(nb, path)
    problems = release(course, check=True)
    assert len(problems) == 1 and "a00_tiny.ipynb" in problems[0] and "tiny-04" in problems[0]


def test_public_rubric_drops_hidden_tests_and_their_helpers():
    src = RUBRIC + "\n\ndef _reference(x):\n    return 3 * x\n\n@pytest.mark.hidden\n@pytest.mark.points(1)\ndef test_h(submission):\n    _reference(1)\n"
    public = public_rubric(src)
    assert "test_scale" not in public and "test_h" not in public and "_reference" not in public
    assert "test_double_value" in public and "ASSIGNMENT" in public


def test_bundle_contains_no_solution_body_and_no_hidden_test(tiny, tmp_path):
    write_bundle(tiny, tmp_path / "bundle")
    texts = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                      for p in (tmp_path / "bundle").rglob("*") if p.is_file())
    assert "return 2 * np.asarray(x)" not in texts and "return self.k * x" not in texts
    assert "test_scale" not in texts
    assert (tmp_path / "bundle" / "autograder" / "_course" / "tests" / "grading" / "a00_tiny.py").exists()


def test_changed_and_deleted_protected_cells_are_restored(tiny):
    a = tiny.assignments["a00_tiny"]
    nb = nbformat.read(a.student, as_version=4)
    given = [c.get("id") for c in nb.cells].index("tiny-02")
    nb.cells[given].source = "class Given:\n    k = 100"
    restored, notes = restore_protected(nb, a)
    assert restored.cells[given].source.endswith("k = 1") and "изменена" in notes[0]
    del nb.cells[given]
    for cell in nb.cells:  # an editor that drops ids and metadata
        cell.pop("id", None)
        cell.metadata = {}
    restored, notes = restore_protected(nb, a)
    assert restored.cells[given].source.endswith("k = 1") and "удалена" in notes[0]
