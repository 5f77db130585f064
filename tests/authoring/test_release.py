"""Release: solution regions become stubs; the check, the bundle, protected cells."""
import json
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.release import (MarkerError, check_bundle, public_rubric, public_tests_needing_references, release,
                                release_command, solution_lines, strip_solutions, student_notebook, write_bundle)
from autograder.core.course import Course
from autograder.engine.protect import restore_protected

from engine.tiny import RUBRIC, SOLUTION_CELLS, make_course, notebook

ROOT = Path(__file__).resolve().parents[2]


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


# ---------------------------------------------------------------- nothing of the solution in the bundle

REFERENCE = """

from autograder.testing import reference


def _stable(z):
    return z - z.max()


@reference
def reference_double(x):
    return 2 * _stable(np.asarray(x)) + 2 * np.asarray(x).max()
"""
HIDDEN_USER = """

@pytest.mark.hidden
@pytest.mark.points(1)
def test_double_matches_reference(submission):
    assert_close(submission.double(np.ones(2)), reference_double(np.ones(2)), "double")
"""
PUBLIC_USER = """

def _expected(x):
    return reference_double(x)


@pytest.mark.points(1)
def test_double_public_reference(submission):
    assert_close(submission.double(np.ones(2)), _expected(np.ones(2)), "double")
"""
#: the tiny solution with a body long enough to be a leak (not a trivial line)
LONG_SOLUTION = "    doubled = np.asarray(x, dtype=np.float64) * 2.0\n    return doubled"


@pytest.fixture
def fake_course(tmp_path):
    """``fake_course(rubric_extra)``: the tiny course with a longer solution and more rubric text."""
    def build(extra: str = "") -> Course:
        root = make_course(tmp_path / "course")
        cells = [(kind, src.replace("    return 2 * np.asarray(x)", LONG_SOLUTION), *rest)
                 for kind, src, *rest in SOLUTION_CELLS]
        nbformat.write(notebook(cells), root / "solutions" / "a00_tiny.ipynb")
        (root / "tests" / "grading" / "a00_tiny.py").write_text(RUBRIC + extra, encoding="utf-8")
        assert release(Course(root)) == []
        return Course(root)

    return build


def test_public_rubric_drops_reference_helpers_and_what_only_they_use():
    public = public_rubric(RUBRIC + REFERENCE + HIDDEN_USER)
    assert "reference_double" not in public and "_stable" not in public
    assert "test_double_matches_reference" not in public and "test_double_value" in public
    public = public_rubric(RUBRIC + REFERENCE + PUBLIC_USER)  # even one a public test needs
    assert "def reference_double" not in public and "_stable" not in public


def test_public_tests_needing_references_follow_helpers():
    assert public_tests_needing_references(RUBRIC + REFERENCE + HIDDEN_USER) == {}
    needs = public_tests_needing_references(RUBRIC + REFERENCE + PUBLIC_USER)
    assert needs == {"test_double_public_reference": {"reference_double"}}


def test_solution_lines_skip_trivial_lines():
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "def f(x, y):\n    ### BEGIN SOLUTION\n    pass\n    return x\n    self.fit(X_train, y_train, epochs)\n"
        "    x = np.asarray(x, dtype=np.float64)\n    # a comment long enough to count as text\n"
        "    out   =  x @ y + np.ones_like(x)\n    ### END SOLUTION"))
    assert solution_lines(nb) == ["out = x @ y + np.ones_like(x)"]
    assert solution_lines(nb, public={"out = x @ y + np.ones_like(x)"}) == []


def test_clean_bundle_passes_the_check(fake_course, capsys):
    course = fake_course(REFERENCE + HIDDEN_USER)
    assert check_bundle(course) == []
    assert release_command(course, check=True) == 0


def test_bundle_with_a_reference_helper_a_public_test_needs_fails(fake_course, capsys):
    course = fake_course(REFERENCE + PUBLIC_USER)
    problems = check_bundle(course)
    assert len(problems) == 1
    assert "test_double_public_reference" in problems[0] and "reference_double" in problems[0]
    assert release_command(course, check=True) == 1
    assert "reference_double" in capsys.readouterr().err


def test_solution_line_copied_into_the_rubric_fails_the_check(fake_course):
    leak = ("\n\ndef _expected(x):\n    doubled =   np.asarray(x, dtype=np.float64) * 2.0\n    return doubled\n\n\n"
            "@pytest.mark.points(1)\ndef test_leaky(submission):\n"
            "    assert_close(submission.double(np.ones(2)), _expected(np.ones(2)), 'double')\n")
    problems = check_bundle(fake_course(leak))
    assert problems and all("doubled = np.asarray(x, dtype=np.float64) * 2.0" in p for p in problems)
    assert any("tests/grading/a00_tiny.py" in p for p in problems)


def test_reference_helper_left_in_the_bundle_rubric_is_reported(fake_course, tmp_path):
    from autograder.authoring.release import bundle_problems

    course = fake_course(REFERENCE + HIDDEN_USER)
    write_bundle(course, tmp_path / "bundle")
    shipped = tmp_path / "bundle" / "autograder" / "_course" / "tests" / "grading" / "a00_tiny.py"
    shipped.write_text(shipped.read_text(encoding="utf-8") + REFERENCE, encoding="utf-8")
    problems = bundle_problems(course, tmp_path / "bundle")
    assert problems == ["a00_tiny: the bundle's rubric contains the reference helper `reference_double`"]


def test_course_bundle_gives_nothing_away():
    """The real course: no reference helper and no solution line reaches students."""
    assert check_bundle(Course(ROOT)) == []


def test_release_check_refuses_a_skipped_cell_that_defines_what_the_rubric_reads(fake_course, capsys):
    from autograder.authoring.release import skipped_cell_problems

    course = fake_course()
    assert skipped_cell_problems(course) == []
    nb = nbformat.read(course.assignments["a00_tiny"].solution, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("train_log = fit_everything()", metadata={"tags": ["skip-execution"]}))
    nb.cells[3].metadata["tags"] = ["skip-execution"]  # def double(x): ... (the rubric reads submission.double)
    nbformat.write(nb, course.assignments["a00_tiny"].solution)
    release(course)
    problems = skipped_cell_problems(course)
    assert len(problems) == 1 and "cell 4 (tiny-03)" in problems[0] and "defines double" in problems[0]
    assert release_command(course, check=True) == 1
    assert "defines double" in capsys.readouterr().err


def test_the_course_skips_only_cells_the_rubrics_do_not_read():
    from autograder.authoring.release import skipped_cell_problems

    assert skipped_cell_problems(Course(ROOT)) == []


def test_the_bundle_ships_the_cifar_stand_in_where_the_course_has_it(tiny, tmp_path):
    """A student without internet trains and self-checks a05 on the stand-in from the bundle's
    package data; a course without data/ ships none."""
    import filecmp

    from autograder.core.datasets import FOLDER, find_cifar10

    write_bundle(Course(ROOT), tmp_path / "bundle")
    course = Course(tmp_path / "bundle" / "autograder" / "_course")
    shipped = find_cifar10(course.data_dir())
    assert shipped == course.root / "data" / FOLDER
    assert all(filecmp.cmp(shipped / p.name, p, shallow=False) for p in (ROOT / "data" / FOLDER).iterdir())
    write_bundle(tiny, tmp_path / "tiny")
    assert not (tmp_path / "tiny" / "autograder" / "_course" / "data").exists()
