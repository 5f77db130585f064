"""``autograder export``: Canvas's gradebook CSV, Moodle's grade import CSV, a spreadsheet CSV, and the
Gradescope autograder zip run in a simulated /autograder layout."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import pytest

from autograder import cli
from autograder.classroom.export.gradescope import build

from fake_class import fake, klass, small_course  # noqa: F401  (fixtures)


def grade_cli(course, path, out, *extra) -> int:
    return cli.main(["--course", str(course.root), "grade", str(path), "--out", str(out), "-q", "-j", "2",
                     "--sandbox", "off", *extra])


def export_cli(course, *args) -> int:
    return cli.main(["--course", str(course.root), "export", *args])


def rows(path, encoding="utf-8") -> list[list[str]]:
    with open(path, newline="", encoding=encoding) as fh:
        return list(csv.reader(fh))


CANVAS_ROSTER = ("Student,ID,SIS User ID,SIS Login ID,Section,Old assignment (99)\n"
                 "    Points Possible,,,,,10.00\n"
                 "\"Петрова, Анна\",ann,S-001,anna,NN-1,\n"       # folder names are the roster's ids here
                 "\"Борисов, Боб\",bob,,,NN-1,\n"                  # no SIS id: only the ID (not numeric) -> left out
                 "\"Зуева, Зоя\",zed,S-026,zoya,NN-2,\n")


@pytest.fixture
def graded(fake, klass, small_course, tmp_path):
    out = tmp_path / "results"
    assert grade_cli(small_course, klass, out) == 0
    return out


def test_canvas_gradebook_csv(graded, small_course, tmp_path, capsys):
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS_ROSTER, encoding="utf-8")
    (small_course.root / "autograder.toml").write_text('[grading]\nreleased = ["a00_tiny", "a01_more"]\n')
    out = tmp_path / "canvas-import.csv"
    code = export_cli(small_course, "canvas", str(graded), "--out", str(out), "--roster", str(roster))
    assert code == 1                                      # written, but bob has no identity Canvas knows
    assert "left out, no a Canvas ID" in capsys.readouterr().err
    table = rows(out)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "a00_tiny", "a01_more"]
    assert table[1] == ["    Points Possible", "", "", "", "", "3", "3"]
    by_sis = {r[2]: r for r in table[2:]}
    assert by_sis["S-001"] == ["Петрова, Анна", "", "S-001", "anna", "NN-1", "3", "2"]
    assert by_sis["S-026"][5:] == ["0", "0"]               # on the roster, handed in nothing: 0, not blank
    assert "bob" not in {r[1] for r in table}
    students = {r[0] for r in table[2:]}
    assert {"cid", "dan", "eve", "fay"}.isdisjoint(students)  # not on the roster, no Canvas id: left out too
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o644


def test_canvas_ids_from_collect_folders_need_no_roster(fake, small_course, tmp_path):
    from fake_class import add_submission

    cls = tmp_path / "class"
    add_submission(cls, "12345", "a00_tiny", "right")      # `collect` names Canvas students by user id
    add_submission(cls, "12346", "a00_tiny", "half")
    assert grade_cli(small_course, cls, tmp_path / "r") == 0
    assert export_cli(small_course, "canvas", str(tmp_path / "r"), "--out", str(tmp_path / "c.csv"), "--total") == 0
    table = rows(tmp_path / "c.csv")
    assert table[0][-1] == "Total (autograder)" and table[1][-1] == "3"
    assert [r[:2] + r[5:] for r in table[2:]] == [["12345", "12345", "3", "3"], ["12346", "12346", "2", "2"]]


def test_moodle_grade_import_keyed_by_email_or_id_number(graded, small_course, tmp_path, capsys):
    roster = tmp_path / "moodle-export.csv"  # Moodle's gradebook export: First name, Last name, ID number, ...
    roster.write_text("First name,Last name,ID number,Institution,Department,Email address\n"
                      "Ann,,A-1,,,ann@example.org\nCid,,,,,cid@example.org\n", encoding="utf-8")
    out = tmp_path / "moodle.csv"
    assert export_cli(small_course, "moodle", str(graded), "--out", str(out), "--roster", str(roster)) == 1
    assert "left out" in capsys.readouterr().err          # bob, dan, ... have no e-mail on this roster
    assert rows(out) == [["Email address", "a00_tiny", "a01_more"], ["ann@example.org", "3", "2"],
                         ["cid@example.org", "0", "3"]]
    assert export_cli(small_course, "moodle", str(graded), "--out", str(out), "--roster", str(roster),
                      "--key", "idnumber", "--percent") == 1
    assert rows(out) == [["ID number", "a00_tiny", "a01_more"], ["A-1", "100", "66.67"]]
    assert export_cli(small_course, "moodle", str(graded), "--out", str(out)) == 2   # no roster: says why
    assert "a roster is needed" in capsys.readouterr().err


def test_plain_csv_with_weights_and_a_bom_for_excel(graded, small_course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\nann,Анна Петрова,ann@example.org\nbob,Боб,\n", encoding="utf-8")
    (small_course.root / "autograder.toml").write_text(
        "[assignments.a00_tiny]\nweight = 30\n[assignments.a01_more]\nweight = 70\n")
    out = tmp_path / "grades.csv"
    assert export_cli(small_course, "csv", str(graded), "--out", str(out), "--roster", str(roster), "--bom",
                      "--delimiter", ";") == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Анна Петрова".encode() in raw and b"\r\n" in raw
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == ["student", "name", "email", "a00_tiny", "a01_more", "total"]
    assert table[1] == ["points possible", "", "", "3", "3", "100"]
    ann = next(r for r in table if r[0] == "ann")
    assert ann == ["ann", "Анна Петрова", "ann@example.org", "3", "2", f"{round(30 + 70 * 2 / 3, 2):g}"]
    assert next(r for r in table if r[0] == "bob")[3:] == ["2", "0", "20"]   # a01_more missing: 0


def test_export_errors_are_one_line(small_course, tmp_path, capsys):
    assert export_cli(small_course, "csv", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.csv")) == 2
    assert "no such results folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert export_cli(small_course, "canvas", str(tmp_path / "empty"), "--out", str(tmp_path / "x.csv")) == 2
    assert "grade the class first" in capsys.readouterr().err
    assert export_cli(small_course, "gradescope", "a09_nope", "--out", str(tmp_path / "a.zip")) == 2
    assert "no assignment 'a09_nope'" in capsys.readouterr().err


# ---- Gradescope ----------------------------------------------------------------------------------

def test_the_gradescope_zip_holds_what_the_rubric_needs(tiny, tmp_path):
    secret = tiny.root / ".autograder-secret"
    secret.write_bytes(b"course-secret")
    try:
        names = build(tiny, "a00_tiny", tmp_path / "autograder.zip")
    finally:
        secret.unlink()
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zf:
        assert sorted(zf.namelist()) == sorted(names)
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        requirements = zf.read("requirements.txt").decode()
        run = zf.read("run_autograder").decode()
        assert zf.read("course/.autograder-secret") == b"course-secret"
        assert "@pytest.mark.hidden" in zf.read("course/tests/grading/a00_tiny.py").decode()  # hidden tests too
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    for needed in ("package/autograder/cli.py", "package/autograder/templates/feedback.html.j2",
                   "course/solutions/a00_tiny.ipynb", "course/assignments/a00_tiny.ipynb"):
        assert needed in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/_course/" in n]
    assert "numpy" in requirements and "pytest" in requirements and "torch" not in requirements
    assert "autograder.classroom.export.gradescope a00_tiny" in run and "${AUTOGRADER_ROOT:-/autograder}" in run
    first, second = build(tiny, "a00_tiny", tmp_path / "1.zip"), build(tiny, "a00_tiny", tmp_path / "2.zip")
    assert first == second == [n for n in names if n != "course/.autograder-secret"]
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()   # the same course, the same zip


def _gradescope_root(tmp_path, tiny, notebooks: dict) -> tuple:
    root = tmp_path / "autograder"
    build(tiny, "a00_tiny", tmp_path / "autograder.zip")
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zf:
        zf.extractall(root / "source")   # our own zip: what Gradescope unpacks
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for name, source in notebooks.items():
        shutil.copy(source, root / "submission" / name)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    return root, done


@pytest.mark.slow
def test_run_autograder_grades_a_submission_as_gradescope_runs_it(tiny, tmp_path):
    """The zip unpacked in a simulated /autograder (AUTOGRADER_ROOT), run_autograder run with bash:
    the solution scores full marks from the packaged autograder, hidden tests after_published."""
    root, done = _gradescope_root(tmp_path, tiny, {"Copy of a00_tiny.ipynb": tiny.assignments["a00_tiny"].solution})
    assert done.returncode == 0, done.stderr
    assert f"package {root / 'source' / 'package' / 'autograder'}" in done.stdout  # not the installed one
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 4.0 and len(data["tests"]) == 3
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}
    assert all(t["status"] == "passed" for t in data["tests"])


@pytest.mark.slow
def test_run_autograder_without_a_notebook_writes_a_zero_that_says_why(tiny, tmp_path):
    root, done = _gradescope_root(tmp_path, tiny, {"a00_tiny.ipynb": tiny.assignments["a00_tiny"].student})
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert done.returncode == 0 and data["score"] == 0.0 and len(data["tests"]) == 3   # untouched: zero
    (root / "submission" / "a00_tiny.ipynb").unlink()
    (root / "submission" / "notes.txt").write_text("forgot it")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, check=True, capture_output=True,
                   timeout=120)
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 0 and data["tests"] == [] and "a00_tiny.ipynb" in data["output"]
