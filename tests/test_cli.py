"""The command line: help texts, `release` on the course of the current folder, `new`."""
import shutil
from pathlib import Path

import pytest

from autograder.cli import build_parser, main
from autograder.core.course import Course
from autograder.engine.grade import Target, grade_notebook

ROOT = Path(__file__).resolve().parent.parent


def _help(*argv) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return ""


@pytest.mark.parametrize("command", ["grade", "ci", "release", "list", "new"])
def test_every_command_has_a_description(command, capsys):
    _help(command)
    text = capsys.readouterr().out
    body = text.split("\n\n", 2)[1]  # after the usage line: the description
    assert not body.lstrip().startswith(("positional", "options")), text


def test_grade_explains_path(capsys):
    _help("grade")
    text = capsys.readouterr().out
    assert "class folder" in text.split("PATH", 2)[2], text


def test_top_level_help_names_every_command(capsys):
    _help()
    text = capsys.readouterr().out
    for command in ("grade", "ci", "release", "list", "new"):
        assert f"    {command}" in text, text


@pytest.fixture
def course_copy(tmp_path) -> Path:
    """The course's layout (rubrics, solutions, released notebooks) copied into tmp_path."""
    root = tmp_path / "course"
    for folder in ("tests/grading", "solutions", "assignments"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")  # the bundle's (release --check builds it)
    return root


def test_release_acts_on_the_course_of_the_current_folder_and_says_where(course_copy, tmp_path,
                                                                         monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("AUTOGRADER_COURSE", raising=False)
    assert main(["release"]) == 2                               # not the installed package's course
    assert "no course" in capsys.readouterr().err

    released = course_copy / "assignments" / "a01_neurons.ipynb"
    released.unlink()
    monkeypatch.chdir(course_copy / "solutions")                # a folder inside the course
    assert main(["release", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"course {course_copy}" in out and "would write" in out
    assert f"new       {released}" in out and "nothing written (1 file(s) would change)" in out
    assert not released.exists()

    monkeypatch.chdir(elsewhere)
    assert main(["--course", str(course_copy), "release"]) == 0
    assert f"course {course_copy}: writing {course_copy / 'assignments'}" in capsys.readouterr().out
    assert released.exists()


@pytest.mark.slow
def test_new_assignment_releases_and_grades(course_copy, monkeypatch, capsys):
    monkeypatch.chdir(course_copy)
    assert main(["new", "a06_conv", "--title", "Свёртки"]) == 0
    assert main(["new", "a06_conv"]) == 2                        # nothing is overwritten
    assert main(["new", "a01_other"]) == 2                       # a01 is taken: recognition needs the number
    assert main(["new", "conv"]) == 2
    assert main(["release", "--check"]) == 1                     # not released yet
    assert main(["release"]) == 0
    assert main(["release", "--check"]) == 0
    main(["list"])
    assert "a06_conv         Свёртки" in capsys.readouterr().out

    course = Course(course_copy)
    a = course.assignments["a06_conv"]
    assert a.title == "Свёртки" and a.student is not None
    solution = grade_notebook(Target("sol", a.solution), course, course_copy / "out")
    assert (solution["score"], solution["max_score"], solution["status"]) == (2.0, 2.0, "graded"), solution
    untouched = grade_notebook(Target("stub", a.student), course, course_copy / "out")
    assert (untouched["score"], untouched["max_score"]) == (0.0, 2.0)
    assert all("NotImplementedError" in t["output"] for t in untouched["tests"]), untouched["tests"]
