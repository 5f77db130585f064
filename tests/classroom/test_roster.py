"""Narrower regrades keep the class; the roster; ``autograder submissions``."""
from __future__ import annotations

import csv
import os

import pytest

from autograder import cli
from autograder.classroom.roster import RosterError, read_roster

from fake_class import CALLS, add_submission, fake, klass, small_course  # noqa: F401  (fixtures)


def grade_cli(course, path, out, *extra) -> int:
    return cli.main(["--course", str(course.root), "grade", str(path), "--out", str(out), "-q", "-j", "2",
                     "--sandbox", "off", *extra])


def table(path) -> dict:
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["student"], r.get("assignment", "")): r for r in csv.DictReader(fh)}


def write_roster(tmp_path, text: str):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


# ---- regrading some students ------------------------------------------------------------------

def test_regrading_one_students_folder_keeps_everyone_else(fake, klass, small_course, tmp_path):
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out) == 0
    before = (out / "gradebook.csv").read_text(encoding="utf-8")
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    add_submission(klass, "bob", "a00_tiny", "right")  # bob fixed his notebook
    CALLS.clear()
    assert grade_cli(small_course, klass / "bob", out) == 0
    assert CALLS == [("bob", "a00_tiny")]                # his folder is a student, not a class
    after = table(out / "gradebook.csv")
    assert set(after) == set(table_of(before))           # every row is still there, no "a00_tiny" student
    assert after[("bob", "a00_tiny")]["score"] == "3"
    assert {k: r for k, r in after.items() if k[0] != "bob"} == \
        {k: r for k, r in table_of(before).items() if k[0] != "bob"}
    assert len(table(out / "grades.csv")) == len(grades.splitlines()) - 1
    assert "bob" in (out / "report.html").read_text(encoding="utf-8")
    assert "ann" in (out / "report.html").read_text(encoding="utf-8")


def table_of(text: str) -> dict:
    return {(r["student"], r["assignment"]): r for r in csv.DictReader(text.splitlines())}


def test_student_option_grades_only_them(fake, klass, small_course, tmp_path, capsys):
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out) == 0
    reference = (out / "gradebook.csv").read_bytes()
    CALLS.clear()
    assert grade_cli(small_course, klass, out, "--student", "cid", "--student", "eve", "--regrade") == 0
    assert sorted(CALLS) == [("cid", "a00_tiny"), ("cid", "a01_more"), ("eve", "a00_tiny"), ("eve", "a01_more")]
    assert (out / "gradebook.csv").read_bytes() == reference  # same grades, nobody lost
    capsys.readouterr()
    assert grade_cli(small_course, klass, out, "--student", "nobody") == 2
    assert "nobody" in capsys.readouterr().err


# ---- the roster -----------------------------------------------------------------------------------

def test_roster_students_get_every_assignment_and_outsiders_are_reported(fake, klass, small_course, tmp_path, capsys):
    roster = write_roster(tmp_path, "id,name,email\nann,Анна,ann@example.org\nbob,Боб,bob@example.org\n"
                                    "zed,Зед,zed@example.org\ncid,,\ndan,Дан,\neve,Ева,\n")
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--roster", str(roster)) == 0
    assert "not on the roster, graded anyway: fay" in capsys.readouterr().err
    book = table(out / "gradebook.csv")
    for key in (("zed", "a00_tiny"), ("zed", "a01_more"), ("bob", "a01_more"), ("dan", "a00_tiny")):
        assert (book[key]["score"], book[key]["status"], book[key]["max_score"]) == ("0", "missing", "3"), key
    assert book[("fay", "a00_tiny")]["status"] == "graded"  # not on the roster: kept, reported
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        grades = {r["student"]: r for r in csv.DictReader(fh)}
    assert grades["zed"] == {"student": "zed", "name": "Зед", "email": "zed@example.org",
                             "a00_tiny": "0", "a01_more": "0", "total": "0"}
    assert grades["bob"]["a01_more"] == "0" and grades["bob"]["a00_tiny"] == "2"
    assert not (out / "zed").exists()  # no result files for what was not handed in


def test_roster_errors(tmp_path):
    for text, words in [("name,email\nann,a@x\n", "no 'id'"), ("id\nann\nann\n", "already on line 2"),
                        ("id\n../etc\n", "not a student folder name")]:
        with pytest.raises(RosterError, match=words):
            read_roster(write_roster(tmp_path, text))
    assert [s.id for s in read_roster(write_roster(tmp_path, "\ufeffID,Name\nann,Анна\n\n"))] == ["ann"]


# ---- autograder submissions -------------------------------------------------------------------------

def test_submissions_lists_submitted_graded_missing_and_late(fake, klass, small_course, tmp_path, capsys):
    roster = write_roster(tmp_path, "id,name,email\nann,Анна,\nbob,Боб,\nzed,Зед,\n")
    out = tmp_path / "out"
    add_submission(klass, "=1+2", "a00_tiny", "right")     # a student's folder name is not a formula
    assert grade_cli(small_course, klass, out) == 0
    add_submission(klass, "bob", "a01_more", "right")      # handed in after the grading run
    (klass / "ann" / "timestamp.txt").write_text("2026-12-03 10:00:00 UTC\n")
    os.utime(klass / "bob" / "a00_tiny.ipynb", (1_700_000_000, 1_700_000_000))  # 2023: on time
    os.utime(klass / "bob" / "a01_more.ipynb", (1_700_000_000, 1_700_000_000))
    capsys.readouterr()
    listing = tmp_path / "listing.csv"
    assert cli.main(["--course", str(small_course.root), "submissions", str(klass), "--out", str(out),
                     "--roster", str(roster), "--deadline", "2026-12-01T23:59+00:00", "--csv", str(listing)]) == 0
    printed = capsys.readouterr().out
    rows = table(listing)
    state = {k: (r["state"], r["days_late"], r["on_roster"]) for k, r in rows.items()}
    assert state[("ann", "a00_tiny")] == ("graded", "2", "yes")
    assert state[("bob", "a00_tiny")] == ("graded", "0", "yes")
    assert state[("bob", "a01_more")] == ("submitted", "0", "yes")
    assert state[("zed", "a00_tiny")] == state[("zed", "a01_more")] == ("missing", "", "yes")
    assert state[("fay", "a01_more")][::2] == ("graded", "no")
    assert state[("'=1+2", "a00_tiny")][::2] == ("graded", "no")
    assert rows[("ann", "a01_more")]["score"] == "2" and rows[("ann", "a01_more")]["name"] == "Анна"
    assert "zed" in printed and "missing" in printed
