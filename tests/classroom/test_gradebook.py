"""The class-wide files an instructor hands on: released assignments only, what is missing per
assignment, late penalties in the printed table, overrides that name nothing, file modes, weights."""
from __future__ import annotations

import csv
import os
import stat

import pytest

from autograder import cli

from fake_class import CALLS, fake, klass, small_course  # noqa: F401  (fixtures)
from fake_class import RUBRIC


def grade_cli(course, path, out, *extra) -> int:
    return cli.main(["--course", str(course.root), "grade", str(path), "--out", str(out), "-q", "-j", "2",
                     "--sandbox", "off", *extra])


def table(path, key=("student", "assignment")) -> dict:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return {tuple(r[k] for k in key): r for r in csv.DictReader(fh)}


def roster(tmp_path, text="id,name,email\nann,Анна,ann@example.org\nbob,Боб,\nzed,Зед,zed@example.org\n"):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_roster_expects_only_released_assignments(fake, klass, small_course, tmp_path):
    """Unreleased work is never 'missing': by default the assignments that have results count, with
    `released` in autograder.toml exactly those; report.html lists what is missing per assignment."""
    (small_course.root / "tests" / "grading" / "a02_later.py").write_text(RUBRIC, encoding="utf-8")
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--roster", str(roster(tmp_path))) == 0
    book = table(out / "gradebook.csv")
    assert {k for k in book if k[0] == "zed"} == {("zed", "a00_tiny"), ("zed", "a01_more")}  # not a02_later
    assert (book[("bob", "a01_more")]["status"], book[("bob", "a01_more")]["max_score"]) == ("missing", "3")
    report = (out / "report.html").read_text(encoding="utf-8")
    section = report.split('<section id="missing">', 1)[1].split("</section>", 1)[0]
    assert 'data-assignment="a01_more"' in section and "bob, zed" in section
    assert 'data-assignment="a00_tiny"' in section and "a02_later" not in section

    (small_course.root / "autograder.toml").write_text('[grading]\nreleased = ["a00_tiny", "a02_later"]\n')
    assert grade_cli(small_course, klass, out, "--roster", str(roster(tmp_path))) == 0
    book = table(out / "gradebook.csv")
    assert {k for k in book if k[0] == "zed"} == {("zed", "a00_tiny"), ("zed", "a02_later")}
    assert ("bob", "a01_more") not in book                       # not released: nobody owes it
    assert book[("zed", "a02_later")]["max_score"] == "3"        # nobody handed it in: the rubric's points
    assert book[("ann", "a01_more")]["status"] == "graded"       # handed in anyway: kept


def test_the_printed_table_notes_the_late_penalty(fake, klass, small_course, tmp_path, capsys):
    (klass / "ann" / "a00_tiny.timestamp.txt").write_text("2026-12-03 10:00:00 UTC\n")
    (klass / "ann" / "a01_more.timestamp.txt").write_text("2026-12-01 10:00:00 UTC\n")
    for nb in klass.glob("*/*.ipynb"):  # copied after the deadline: 2027-01-15
        os.utime(nb, (1_800_000_000, 1_800_000_000))
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--deadline", "2026-12-01T23:59+00:00",
                     "--late-policy", "per-day:10", "--lang", "en") == 0
    printed = {tuple(line.split()[:2]): line for line in capsys.readouterr().out.splitlines()}
    assert "late 2 d: −0.6 (per-day)" in printed[("ann", "a00_tiny")]
    assert "2.4/3" in printed[("ann", "a00_tiny")]
    assert "late" not in printed[("ann", "a01_more")]            # its own timestamp: on time
    # the others have only their files' times (after the deadline): shown, not charged
    assert "modification time" in printed[("bob", "a00_tiny")] and "3/3" not in printed[("bob", "a00_tiny")]
    book = table(out / "gradebook.csv")
    assert (book[("bob", "a00_tiny")]["score"], book[("bob", "a00_tiny")]["late_penalty"]) == ("2", "0")
    assert "modification time" in book[("bob", "a00_tiny")]["comment"]
    report = (out / "report.html").read_text(encoding="utf-8").split('<section id="late">', 1)[1].split("</section>")[0]
    assert "−0.6 (per-day)" in report and "modification time" in report and "a01_more" in report


def test_overrides_naming_what_does_not_exist_stop_the_command(fake, klass, small_course, tmp_path, capsys):
    header = "student,assignment,test,points,comment\n"
    good = "ann,a00_tiny,test_add,1,ok\nann,a00_tiny,test_add[2-3],1,параметр\nzed,a01_more,total,5,по списку\n"
    for row, words in [("bbo,a00_tiny,test_add,1,опечатка", "no student 'bbo'"),
                       ("ann,a0_tiny,test_add,1,", "no assignment 'a0_tiny'"),
                       ("ann,a00_tiny,test_sub,1,уже не существует", "a00_tiny has no test 'test_sub'")]:
        ov = tmp_path / "ov.csv"
        ov.write_text(header + good + row + "\n", encoding="utf-8")
        CALLS.clear()
        capsys.readouterr()
        assert grade_cli(small_course, klass, tmp_path / "out", "--overrides", str(ov),
                         "--roster", str(roster(tmp_path))) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"autograder: {ov}:5: {row.rsplit(',', 2)[0]}") and words in err, err
        assert "\n" not in err and CALLS == []                  # nothing graded
    ov.write_text(header + good, encoding="utf-8")
    assert grade_cli(small_course, klass, tmp_path / "out", "--overrides", str(ov),
                     "--roster", str(roster(tmp_path))) == 0
    book = table(tmp_path / "out" / "gradebook.csv")
    assert book[("ann", "a00_tiny")]["comment"] == "ok"          # the parametrised name matched no test: not shown


def test_shared_files_are_world_readable_and_results_private(fake, klass, small_course, tmp_path):
    out = tmp_path / "out"
    (klass / "ann" / "a00_tiny").mkdir()
    os.rename(klass / "ann" / "a00_tiny.ipynb", klass / "ann" / "a00_tiny" / "a00_tiny.ipynb")
    assert grade_cli(small_course, klass, out) == 0
    (out / "ann" / "a00_tiny" / "executed.ipynb").write_text("{}")
    os.chmod(out / "ann" / "a00_tiny" / "executed.ipynb", 0o600)
    assert grade_cli(small_course, klass, out) == 0              # publishing again shares it
    mode = lambda p: stat.S_IMODE(os.stat(out / p).st_mode)  # noqa: E731
    for shared in ("gradebook.csv", "grades.csv", "junit.xml", "report.html", "ann/a00_tiny/feedback.html",
                   "ann/a00_tiny/results.json", "ann/a00_tiny/executed.ipynb"):
        assert mode(shared) == 0o644, shared
    assert mode("ann/a00_tiny/result.json") == 0o600


def test_weights_make_the_total(fake, klass, small_course, tmp_path):
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out) == 0
    grades = table(out / "grades.csv", ("student",))
    assert grades[("ann",)]["total"] == "5"                      # 3 + 2 points: the sum without weights
    (small_course.root / "autograder.toml").write_text(
        "[assignments.a00_tiny]\nweight = 60\n[assignments.a01_more]\nweight = 40\n")
    assert grade_cli(small_course, klass, out) == 0
    grades = table(out / "grades.csv", ("student",))
    assert float(grades[("ann",)]["total"]) == pytest.approx(60 * 3 / 3 + 40 * 2 / 3, abs=1e-4)
    assert float(grades[("dan",)]["total"]) == 40                # a01_more only, full marks


def test_an_lms_gradebook_export_is_a_roster(fake, klass, small_course, tmp_path, capsys):
    """Moodle's export names students by first and last name: matched to the folders by name
    (order and case aside); Canvas's by ID, its Points Possible row skipped."""
    moodle = roster(tmp_path, "First name,Last name,ID number,Email address\nAnn,,A-1,ann@example.org\n"
                              "Zed,,Z-1,zed@example.org\n")
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--roster", str(moodle)) == 0
    outsiders = capsys.readouterr().err.split("graded anyway: ")[1].splitlines()[0].split(", ")
    assert "bob" in outsiders and "ann" not in outsiders
    book = table(out / "gradebook.csv")
    assert ("Ann", "a00_tiny") not in book and book[("Zed", "a00_tiny")]["status"] == "missing"
    grades = table(out / "grades.csv", ("student",))
    assert grades[("ann",)]["email"] == "ann@example.org"
    from autograder.classroom.roster import read_roster

    canvas = roster(tmp_path, "Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"
                              "\"Petrova, Anna\",12345,S-1,anna,NN-1\n")
    [anna] = read_roster(canvas)
    assert (anna.id, anna.name, anna.get("sis user id"), anna.get("section")) == ("12345", "Petrova, Anna", "S-1", "NN-1")
