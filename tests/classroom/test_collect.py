"""``autograder collect``: a Moodle zip, a Canvas zip and GitHub Classroom clones, laid out as those
systems lay them out, become the class layout with one time per submission; then grading charges
lateness only by times the LMS gave."""
from __future__ import annotations

import csv
import math
import os
import stat
import subprocess
import zipfile

import nbformat
import pytest

from autograder import cli
from autograder.classroom.collect import (CollectError, collect, open_archive, parse_moodle_date, read_worksheet,
                                          safe_name)
from autograder.classroom.policy import parse_time
from autograder.classroom.roster import read_roster

from fake_class import CODES, fake, small_course  # noqa: F401  (fixtures)

DEADLINE = "2026-12-01T23:59+00:00"


def notebook(code: str = CODES["right"], assignment: str | None = "a00_tiny") -> bytes:
    nb = nbformat.v4.new_notebook()
    if assignment:
        nb.metadata["autograder"] = {"assignment": assignment}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    return nbformat.writes(nb).encode()


def add(zf: zipfile.ZipFile, name: str, data: bytes, when=(2026, 12, 10, 9, 0, 0), mode: int = 0o100644) -> None:
    info = zipfile.ZipInfo(name, date_time=when)
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def moodle_zip(path) -> None:
    """As Moodle's "Download all submissions" with "download in folders": one folder per
    participant and plugin; the entries' dates are the download's, days after the deadline."""
    with zipfile.ZipFile(path, "w") as zf:
        add(zf, "Анна Петрова_12345_assignsubmission_file_/a00_tiny.ipynb", notebook())
        add(zf, "Борис Иванов_12346_assignsubmission_file_/Copy of a00_tiny.ipynb", notebook(CODES["half"]))
        add(zf, "Борис Иванов_12346_assignsubmission_file_/weights.pt", b"\x80weights")
        add(zf, "Борис Иванов_12346_assignsubmission_onlinetext_/onlinetext.html", b"<p>hi</p>")
        add(zf, "Вера Смирнова_12347_assignsubmission_file_a00_tiny.ipynb", notebook())  # without folders
        add(zf, "Вера Смирнова_12347_assignsubmission_file_/../../escaped.ipynb", notebook())
        add(zf, "/etc/cron.d/x.ipynb", notebook())
        add(zf, "Mallory_12348_assignsubmission_file_/a00_tiny.ipynb", b"/etc/passwd", mode=0o120777)


WORKSHEET = ("Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
             "Last modified (submission),Last modified (grade),Feedback comments\n"
             "Participant 12345,Анна Петрова,anna@example.org,Submitted for grading,,10.00,Yes,"
             "\"Tuesday, 1 December 2026, 11:50 PM\",-,\n"
             "Participant 12346,Борис Иванов,boris@example.org,Submitted for grading,,10.00,Yes,"
             "\"среда, 2 декабря 2026, 10:15\",-,\n"
             "Participant 12349,Никто,none@example.org,No submission,,10.00,Yes,-,-,\n")


def read_class(root) -> dict:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def grade_cli(course, klass, out, *extra) -> int:
    return cli.main(["--course", str(course.root), "grade", str(klass), "--out", str(out), "-q", "-j", "2",
                     "--sandbox", "off", "--lang", "en", *extra])


def gradebook(out) -> dict:
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        return {(r["student"], r["assignment"]): r for r in csv.DictReader(fh)}


# ---- Moodle ----------------------------------------------------------------------------------------

def test_moodle_zip_with_its_grading_worksheet(small_course, tmp_path, fake):
    moodle_zip(tmp_path / "moodle.zip")
    (tmp_path / "worksheet.csv").write_text(WORKSHEET, encoding="utf-8")
    klass = tmp_path / "class"
    done = collect([tmp_path / "moodle.zip"], klass, small_course, worksheet=tmp_path / "worksheet.csv")
    files = read_class(klass)
    assert set(files) == {"Анна_Петрова/a00_tiny/a00_tiny.ipynb", "Анна_Петрова/a00_tiny/timestamp.txt",
                          "Борис_Иванов/a00_tiny/a00_tiny.ipynb", "Борис_Иванов/a00_tiny/weights.pt",
                          "Борис_Иванов/a00_tiny/timestamp.txt",
                          "Вера_Смирнова/a00_tiny/a00_tiny.ipynb", "Вера_Смирнова/a00_tiny/timestamp.txt",
                          "students.csv"}
    assert not (tmp_path / "escaped.ipynb").exists() and not any(tmp_path.glob("*.ipynb"))
    assert files["Борис_Иванов/a00_tiny/weights.pt"].read_bytes() == b"\x80weights"
    anna = files["Анна_Петрова/a00_tiny/timestamp.txt"].read_text().splitlines()
    assert anna[0].startswith("2026-12-01T23:50:00") and "participant 12345" in anna[1]
    assert files["Вера_Смирнова/a00_tiny/timestamp.txt"].read_text().startswith("unknown\n")
    skipped = "\n".join(done.skipped)
    assert "escaped.ipynb: a path with '..', refused" in skipped
    assert "/etc/cron.d/x.ipynb: an absolute path, refused" in skipped
    assert "Mallory_12348_assignsubmission_file_/a00_tiny.ipynb: a link or special file, refused" in skipped
    with open(files["students.csv"], encoding="utf-8") as fh:
        people = {r["id"]: r for r in csv.DictReader(fh)}
    assert people["Анна_Петрова"]["email"] == "anna@example.org" and people["Анна_Петрова"]["lms"] == "moodle"

    # grading charges Boris (a day late by the worksheet), not Anna, and not Vera (no time: said so)
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--deadline", DEADLINE, "--late-policy", "per-day:10") == 0
    book = gradebook(out)
    assert (book[("Анна_Петрова", "a00_tiny")]["days_late"], book[("Анна_Петрова", "a00_tiny")]["score"]) == ("0", "3")
    boris = book[("Борис_Иванов", "a00_tiny")]
    late_by = parse_moodle_date("2 декабря 2026, 10:15") - parse_time(DEADLINE)  # the worksheet's local time
    assert boris["days_late"] == str(max(0, math.ceil(late_by.total_seconds() / 86400)))
    vera = book[("Вера_Смирнова", "a00_tiny")]
    assert (vera["days_late"], vera["score"]) == ("0", "3")
    assert "submission time unknown" in vera["comment"] and "participant 12347" in vera["comment"]


def test_moodle_zip_without_worksheet_never_charges_by_the_zips_dates(small_course, tmp_path, fake, capsys):
    moodle_zip(tmp_path / "moodle.zip")
    klass = tmp_path / "class"
    assert cli.main(["--course", str(small_course.root), "collect", str(tmp_path / "moodle.zip"),
                     "--out", str(klass)]) == 0
    printed = capsys.readouterr()
    assert "add --worksheet" in printed.out and "skipped" in printed.err
    stamp = (klass / "Анна_Петрова" / "a00_tiny" / "timestamp.txt").read_text()
    assert stamp.startswith("unknown\n") and "2026-12-10 09:00 is not the submission time" in stamp
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--deadline", DEADLINE, "--late-policy", "zero") == 0
    assert {r["score"] for k, r in gradebook(out).items() if k[0] != "Борис_Иванов"} == {"3"}


def test_worksheet_dates_in_both_languages():
    assert parse_moodle_date("Tuesday, 1 December 2026, 11:50 PM").replace(tzinfo=None).isoformat() == \
        "2026-12-01T23:50:00"
    assert parse_moodle_date("вторник, 1 декабря 2026, 09:05").replace(tzinfo=None).isoformat() == \
        "2026-12-01T09:05:00"
    assert parse_moodle_date("1 Dec 2026, 12:10 AM").hour == 0
    assert parse_moodle_date("-") is None and parse_moodle_date("32 December 2026, 10:00") is None


def test_a_worksheet_must_be_one(tmp_path):
    (tmp_path / "w.csv").write_text("name,score\nann,1\n")
    with pytest.raises(CollectError, match="not a Moodle grading worksheet"):
        read_worksheet(tmp_path / "w.csv")


# ---- Canvas ----------------------------------------------------------------------------------------

def canvas_zip(path) -> None:
    """As Canvas's "Download Submissions": flat, sortable name + [late_] + user id + file id + name."""
    with zipfile.ZipFile(path, "w") as zf:
        add(zf, "petrovaanna_12345_67890_a00_tiny.ipynb", notebook())
        add(zf, "ivanovboris_late_12346_67891_a00_tiny-1.ipynb", notebook(CODES["half"]))
        add(zf, "smirnova vera_LATE_12347_67892_Copy of a00_tiny.ipynb", notebook())
        add(zf, "smirnova vera_LATE_12347_67893_model.pt", b"weights")
        add(zf, "12348_67894_a00_tiny.ipynb", notebook(CODES["none"]))  # anonymous grading: no name


def test_canvas_zip(small_course, tmp_path, fake):
    canvas_zip(tmp_path / "submissions.zip")
    roster = tmp_path / "canvas-gradebook.csv"  # Canvas's own gradebook export is a roster as it is
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,a00_tiny (501)\n"
                      "    Points Possible,,,,,3.00\n"
                      "\"Petrova, Anna\",12345,s001,anna,NN-1,\n\"Ivanov, Boris\",12346,s002,boris,NN-1,\n"
                      "\"Smirnova, Vera\",12347,s003,vera,NN-2,\n", encoding="utf-8")
    klass = tmp_path / "class"
    done = collect([tmp_path / "submissions.zip"], klass, small_course, roster=read_roster(roster))
    files = read_class(klass)
    assert {f for f in files if f.endswith(".ipynb")} == {"12345/a00_tiny/a00_tiny.ipynb", "12346/a00_tiny/a00_tiny.ipynb",
                                                          "12347/a00_tiny/a00_tiny.ipynb", "12348/a00_tiny/a00_tiny.ipynb"}
    assert files["12347/a00_tiny/model.pt"].read_bytes() == b"weights"
    assert done.not_on_roster == ["12348"]
    boris = files["12346/a00_tiny/timestamp.txt"].read_text()
    assert boris.startswith("unknown\n") and "marked LATE by Canvas" in boris and "user 12346" in boris
    assert "not marked late" in files["12345/a00_tiny/timestamp.txt"].read_text()
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--deadline", DEADLINE, "--late-policy", "zero",
                     "--roster", str(roster)) == 0
    book = gradebook(out)
    assert book[("12346", "a00_tiny")]["score"] == "2"                 # Canvas applies its own late policy
    assert "marked LATE by Canvas" in book[("12346", "a00_tiny")]["comment"]


# ---- GitHub Classroom ------------------------------------------------------------------------------

def git(repo, *args, when: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@example.org", "GIT_COMMITTER_NAME": "s",
           "GIT_COMMITTER_EMAIL": "s@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env,
                          text=True).stdout


def classroom(root):
    """Two clones as `gh classroom clone student-repos` leaves them: anna committed her notebook
    before the deadline and only a README after it; boris changed his notebook after it."""
    for login, after in (("anna", "README.md"), ("boris-k", "a00_tiny.ipynb")):
        repo = root / f"a00-tiny-{login}"
        repo.mkdir(parents=True)
        git(repo, "init", "-q", "-b", "main")
        (repo / "a00_tiny.ipynb").write_bytes(notebook(CODES["half"]))
        (repo / "README.md").write_text("# work\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "before", when="2026-12-01T20:00:00+00:00")
        (repo / after).write_bytes(notebook(CODES["right"]) if after.endswith(".ipynb") else b"# more\n")
        os.symlink("/etc/passwd", repo / "stolen.ipynb")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "after", when="2026-12-03T08:00:00+00:00")
    return root


def test_github_classroom_clones_are_timed_by_git(small_course, tmp_path, fake):
    klass = tmp_path / "class"
    done = collect([classroom(tmp_path / "clones")], klass, small_course)
    stamps = {r["student"]: r["time"] for r in done.rows}
    assert stamps == {"anna": "2026-12-01T20:00+00:00", "boris-k": "2026-12-03T08:00+00:00"}
    assert any("stolen.ipynb: a link" in s for s in done.skipped)
    assert not (klass / "anna" / "stolen").exists()
    out = tmp_path / "out"
    assert grade_cli(small_course, klass, out, "--deadline", DEADLINE, "--late-policy", "per-day:50") == 0
    book = gradebook(out)
    assert (book[("anna", "a00_tiny")]["days_late"], book[("anna", "a00_tiny")]["score"]) == ("0", "2")
    assert (book[("boris-k", "a00_tiny")]["days_late"], book[("boris-k", "a00_tiny")]["score"]) == ("2", "0")

    # --until: what each repository held at the deadline, timed by that commit
    again = collect([tmp_path / "clones"], tmp_path / "at-deadline", small_course,
                    until=parse_time(DEADLINE))
    assert {r["student"]: r["time"] for r in again.rows} == {"anna": "2026-12-01T20:00+00:00",
                                                             "boris-k": "2026-12-01T20:00+00:00"}
    assert b"a - b" in (tmp_path / "at-deadline" / "boris-k" / "a00_tiny" / "a00_tiny.ipynb").read_bytes()

    # a roster with the students' GitHub logins names the folders by its ids
    (tmp_path / "roster.csv").write_text("id,name,email,github\nA-17,Анна,anna@example.org,Anna\n", encoding="utf-8")
    named = collect([tmp_path / "clones"], tmp_path / "named", small_course,
                    roster=read_roster(tmp_path / "roster.csv"))
    assert {r["student"] for r in named.rows} == {"A-17", "boris-k"} and named.not_on_roster == ["boris-k"]


def test_a_git_file_pointing_elsewhere_is_not_a_clone(small_course, tmp_path):
    (tmp_path / "clones" / "a00-tiny-eve").mkdir(parents=True)
    (tmp_path / "clones" / "a00-tiny-eve" / ".git").write_text("gitdir: /root/.secret-repo\n")
    with pytest.raises(CollectError, match="no git clones"):
        collect([tmp_path / "clones"], tmp_path / "class", small_course)


# ---- what no archive may do ---------------------------------------------------------------------------

def test_sizes_are_capped_before_decompression_and_links_never_followed(small_course, tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w") as zf:
        add(zf, "a_12345_67890_a00_tiny.ipynb", b"\0" * (65 * 2**20))   # 65 MB of zeros: 65 KB compressed
        add(zf, "b_12346_67891_a00_tiny.ipynb", notebook())
    assert bomb.stat().st_size < 2**20
    done = collect([bomb], tmp_path / "class", small_course)
    assert [r["student"] for r in done.rows] == ["12346"]
    assert any("more than 64 MB" in s for s in done.skipped)
    os.symlink(bomb, tmp_path / "link.zip")
    with pytest.raises(CollectError, match="symbolic link"):
        open_archive(tmp_path / "link.zip")
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(CollectError, match="not a zip"):
        open_archive(tmp_path / "not.zip")
    assert safe_name("../../.bashrc") == "bashrc" and safe_name("a\x00b/c:d") == "c_d"
    assert stat.S_IMODE(os.stat(tmp_path / "class" / "students.csv").st_mode) == 0o644


def test_collect_again_replaces_a_submission_and_keeps_the_rest(small_course, tmp_path):
    canvas_zip(tmp_path / "one.zip")
    klass = tmp_path / "class"
    collect([tmp_path / "one.zip"], klass, small_course)
    (klass / "12345" / "a00_tiny" / "old-file.txt").write_text("stale")
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zf:
        add(zf, "petrovaanna_12345_67990_Copy of a00_tiny (1).ipynb", notebook(CODES["half"], None))  # by name
    done = collect([tmp_path / "two.zip"], klass, small_course)
    assert done.rows[0]["replaced"] is True
    assert not (klass / "12345" / "a00_tiny" / "old-file.txt").exists()
    assert b"a - b" in (klass / "12345" / "a00_tiny" / "a00_tiny.ipynb").read_bytes()
    assert (klass / "12346" / "a00_tiny" / "a00_tiny.ipynb").is_file()
    assert not [p for p in klass.iterdir() if p.name.startswith(".")]
