"""Batch grading: resume, fingerprints, late rule, overrides, CLI exit codes.

Fast tests replace the notebook engine (``grade_notebook``) with a deterministic fake so that
resume and policy logic are tested without kernels; the slow ones grade real notebooks.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.classroom import batch
from autograder.classroom.policy import LatePolicy, PolicyError, apply_policy, late_notes, read_overrides
from autograder.classroom.results import summary_table, write_gradebook
from autograder.core import files
from autograder.core.course import Course
from autograder.engine import grade

RUBRIC = '''import pytest

@pytest.mark.points(1)
def test_add(submission):
    """add(2, 3) == 5"""
    assert submission.add(2, 3) == 5, "add(2, 3) должно быть 5"

@pytest.mark.points(2)
@pytest.mark.hidden
def test_neg(submission):
    """add(-1, 1) == 0"""
    assert submission.add(-1, 1) == 0, "add(-1, 1) должно быть 0"
'''


def make_nb(code: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["autograder"] = {"assignment": "a00_tiny"}
    nb.cells = [nbformat.v4.new_code_cell(code)]
    return nb


@pytest.fixture
def course(tmp_path) -> Course:
    root = tmp_path / "course"
    (root / "tests" / "grading").mkdir(parents=True)
    (root / "tests" / "grading" / "a00_tiny.py").write_text(RUBRIC, encoding="utf-8")
    return Course.locate(root)


@pytest.fixture
def klass(tmp_path) -> Path:
    cls = tmp_path / "class"
    codes = {"ann": "def add(a, b):\n    return a + b\n", "bob": "def add(a, b):\n    return a - b\n",
             "cid": "def add(a, b):\n    raise NotImplementedError\n", "dan": "def add(a, b):\n    return a + b\n"}
    for student, code in codes.items():
        (cls / student).mkdir(parents=True)
        nbformat.write(make_nb(code), cls / student / "a00_tiny.ipynb")
    return cls


CALLS: list[str] = []


def fake_grade_notebook(target, course, out_dir, **kw):
    """Score from the notebook text: 'a + b' passes both tests, 'a - b' one, else none."""
    CALLS.append(target.student)
    text = target.path.read_text(encoding="utf-8")
    ok = "a + b" in text
    tests = [
        {"name": "test_add", "task": "", "description": "add(2, 3) == 5", "max_score": 1.0, "hidden": False,
         "visibility": "visible", "score": 1.0 if ok else 0.0, "status": "passed" if ok else "failed",
         "output": "" if ok else "add(2, 3) должно быть 5"},
        {"name": "test_neg", "task": "", "description": "add(-1, 1) == 0", "max_score": 2.0, "hidden": True,
         "visibility": "after_published", "score": 2.0 if ok or "a - b" in text else 0.0,
         "status": "passed" if ok or "a - b" in text else "failed", "output": ""},
    ]
    result = {"student": target.student, "assignment": "a00_tiny", "notebook": str(target.path),
              "score": 0.0, "max_score": 0.0, "status": "graded", "errors": [], "execution": {"seconds": 0.1},
              "import_errors": [], "tests": tests}
    dest = out_dir / target.student / "a00_tiny"
    dest.mkdir(parents=True, exist_ok=True)
    return grade._finish(result, dest)


@pytest.fixture
def fake(monkeypatch):
    CALLS.clear()
    monkeypatch.setattr(batch, "grade_notebook", fake_grade_notebook)
    return CALLS


def gradebook(results) -> str:
    from autograder.classroom.results import write_gradebook

    buf = io.StringIO()
    write_gradebook(results, buf)
    return buf.getvalue()


def run(klass, course, out, **kw):
    return batch.grade_all(grade.discover([klass]), course, out, jobs=2, progress=False, **kw)


def test_resume_grades_only_what_is_missing(fake, klass, course, tmp_path):
    out = tmp_path / "out"
    full = run(klass, course, out)
    assert sorted(fake) == ["ann", "bob", "cid", "dan"]
    reference = gradebook(full)

    fake.clear()
    (out / "bob" / "a00_tiny" / "result.json").unlink()         # "interrupted" before bob was written
    (out / "cid" / "a00_tiny" / "result.json").write_text("{\"trunc")  # a torn write
    stats: dict = {}
    resumed = run(klass, course, out, stats=stats)
    assert sorted(fake) == ["bob", "cid"]
    assert stats["cached"] == 2 and stats["graded"] == 2
    assert gradebook(resumed) == reference
    rows = list(csv.DictReader(io.StringIO(gradebook(resumed))))
    assert [r["student"] for r in rows] == ["ann", "bob", "cid", "dan"]  # each exactly once

    fake.clear()
    run(klass, course, out)
    assert fake == []  # nothing changed: nothing graded


def test_changed_notebook_neighbour_or_rubric_is_regraded(fake, klass, course, tmp_path):
    out = tmp_path / "out"
    run(klass, course, out)
    fake.clear()
    nbformat.write(make_nb("def add(a, b):\n    return b + a  # a + b\n"), klass / "bob" / "a00_tiny.ipynb")
    (klass / "cid" / "weights.npy").write_bytes(b"\x00")
    (klass / "dan" / "timestamp.txt").write_text("2026-01-01 10:00:00 UTC")  # not part of the grade
    run(klass, course, out)
    assert sorted(fake) == ["bob", "cid"]
    fake.clear()
    rubric = course.root / "tests" / "grading" / "a00_tiny.py"
    rubric.write_text(rubric.read_text() + "\n# changed\n")
    run(klass, course, out)
    assert sorted(fake) == ["ann", "bob", "cid", "dan"]


def test_latest_of_several_notebooks_is_graded_once(fake, klass, course, tmp_path):
    old = klass / "ann" / "copy" / "a00_tiny.ipynb"
    old.parent.mkdir()
    nbformat.write(make_nb("def add(a, b):\n    return 0\n"), old)
    os.utime(old, (1_000_000, 1_000_000))
    results = run(klass, course, tmp_path / "out")
    ann = [r for r in results if r["student"] == "ann"]
    assert len(ann) == 1 and ann[0]["notebook"].endswith("ann/a00_tiny.ipynb")
    assert [n["key"] for n in ann[0]["notices"]] == ["duplicates"]   # a notice, not an error
    assert not any("несколько" in e for e in ann[0].get("errors", []))


def test_result_files_are_written_atomically(tmp_path):
    target = tmp_path / "x" / "result.json"
    files.write_json(target, {"a": 1})
    files.write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["result.json"]  # no temp files left


# ---- late rule and overrides -------------------------------------------------------------

def _result(tmp_path, stamp: str | None = None) -> dict:
    nb = tmp_path / "s" / "a00_tiny.ipynb"
    nb.parent.mkdir(exist_ok=True)
    nb.write_text("{}")
    if stamp:
        (nb.parent / "timestamp.txt").write_text(stamp + "\n")
    tests = [{"name": "test_add", "score": 1.0, "max_score": 1.0, "status": "passed"},
             {"name": "test_neg", "score": 0.0, "max_score": 2.0, "status": "failed"},
             {"name": "test_mul", "score": 2.0, "max_score": 2.0, "status": "passed"}]
    return {"student": "s", "assignment": "a00_tiny", "notebook": str(nb), "score": 3.0, "max_score": 5.0,
            "status": "graded", "tests": tests}


@pytest.mark.parametrize("rule, stamp, days, score", [
    ("none", "2026-12-03 10:00:00 UTC", 2, 3.0),
    ("zero", "2026-12-03 10:00:00 UTC", 2, 0.0),
    ("per-day:10", "2026-12-03 10:00:00 UTC", 2, 2.0),     # 10 % of 5 points x 2 started days
    ("per-day:10", "2026-12-02 00:00:01 UTC", 1, 2.5),
    ("per-day:50", "2026-12-09 00:00:00 UTC", 8, 0.0),     # never below zero
    ("zero", "2026-12-01 23:59:00 UTC", 0, 3.0),           # on time
])
def test_late_rule(tmp_path, rule, stamp, days, score):
    policy = LatePolicy.parse("2026-12-01T23:59:00+00:00", rule)
    r = apply_policy(_result(tmp_path, stamp), policy)
    assert r["late"]["days_late"] == days and r["late"]["source"] == "timestamp.txt"
    assert r["score"] == score and r["raw_score"] == 3.0
    assert [t["score"] for t in r["tests"]] == [1.0, 0.0, 2.0]  # tests keep their automatic scores


def test_a_file_time_is_shown_but_never_charged(tmp_path):
    """Without a timestamp the time is the notebook's mtime (a copy's, an unpacked download's):
    the result, the gradebook comment and the printed table say how late it would make the
    submission, and nothing is charged."""
    r0 = _result(tmp_path)
    os.utime(r0["notebook"], (1_800_000_000, 1_800_000_000))  # 2027-01-15: 45 days after the deadline
    r = apply_policy(r0, LatePolicy.parse("2026-12-01T23:59:00+00:00", "zero"))
    assert r["late"]["source"] == "mtime" and r["late"]["unverified"] == "mtime"
    assert (r["late"]["days_by_mtime"], r["late"]["days_late"], r["late"]["penalty"], r["score"]) == (45, 0, 0, 3.0)
    assert late_notes(r["late"], "en") == ["the submission time is only the file's modification time: "
                                           "45 day(s) late by it, not charged"]
    buf = io.StringIO()
    write_gradebook([r], buf, "en")
    row = next(csv.DictReader(buf.getvalue().splitlines()))
    assert (row["days_late"], row["late_penalty"], row["score"]) == ("0", "0", "3")
    assert "modification time: 45 day(s)" in row["comment"]
    assert "modification time: 45 day(s)" in summary_table([r], lang="en")
    on_time = _result(tmp_path)
    os.utime(on_time["notebook"], (1_700_000_000, 1_700_000_000))  # 2023: no note to make
    assert late_notes(apply_policy(on_time, LatePolicy.parse("2026-12-01T23:59:00+00:00", "zero"))["late"]) == []


def test_a_timestamp_per_notebook_beats_the_folders(tmp_path):
    """The flat layout <student>/<assignment>.ipynb: each notebook's own <stem>.timestamp.txt;
    timestamp.txt (nbgrader's, one per folder) only for a notebook without one."""
    r = _result(tmp_path, "2026-12-09 00:00:00 UTC")            # the folder's: 8 days late
    folder = Path(r["notebook"]).parent
    other = dict(r, assignment="a01_more", notebook=str(folder / "a01_more.ipynb"))
    Path(other["notebook"]).write_text("{}")
    (folder / "a00_tiny.timestamp.txt").write_text("# moodle: zip entry\n2026-12-01T20:00:00+00:00\n")
    policy = LatePolicy.parse("2026-12-01T23:59:00+00:00", "per-day:10")
    mine, theirs = apply_policy(r, policy), apply_policy(other, policy)
    assert (mine["late"]["days_late"], mine["late"]["source"], mine["late"]["note"]) == \
        (0, "a00_tiny.timestamp.txt", "moodle: zip entry")
    assert (theirs["late"]["days_late"], theirs["late"]["source"]) == (8, "timestamp.txt")
    (folder / "a00_tiny.timestamp.txt").write_text("unknown\n# canvas: LATE\n")  # the LMS gave no time
    unknown = apply_policy(r, policy)
    assert unknown["late"]["unverified"] == "unknown" and unknown["score"] == 3.0
    assert late_notes(unknown["late"], "en") == ["submission time unknown: lateness not charged", "canvas: LATE"]
    assert not {f.name for f in batch.neighbours(Path(r["notebook"]))} & {"a00_tiny.timestamp.txt", "timestamp.txt"}


def test_bad_policy_inputs():
    for rule in ("weekly", "per-day:x", "per-day:150"):
        with pytest.raises(PolicyError):
            LatePolicy.parse("2026-12-01T23:59", rule)
    with pytest.raises(PolicyError):
        LatePolicy.parse("first of december", "zero")


def test_overrides_change_exactly_what_they_name(tmp_path):
    ov = tmp_path / "ov.csv"
    ov.write_text("student,assignment,test,points,comment\n"
                  "s,a00_tiny,test_neg,2,\"решение верно, <b>проверено</b> вручную\"\n"
                  "s,a00_tiny,test_add,-0.5,копия\n"
                  "s,a00_tiny,total,+1,бонус\n"
                  "s,a01_other,total,10,другое задание\n"
                  "t,a00_tiny,total,0,другой студент\n", encoding="utf-8")
    overrides = read_overrides(ov)
    late = LatePolicy.parse("2026-12-01T23:59:00+00:00", "per-day:10")
    r = apply_policy(_result(tmp_path, "2026-12-02 10:00:00 UTC"), late, overrides)
    assert [t["score"] for t in r["tests"]] == [0.5, 2.0, 2.0]
    assert r["tests"][2].get("override") is None
    # 4.5 after the test overrides, minus 10 % of 5 for one day late, plus the bonus
    assert r["score"] == 4.5 - 0.5 + 1 and r["raw_score"] == 3.0
    assert [a["test"] for a in r["adjustments"]] == ["test_neg", "test_add", "total"]
    again = apply_policy(r, late, overrides)  # applying twice (a resumed run) changes nothing
    assert again["score"] == r["score"] and [t["score"] for t in again["tests"]] == [0.5, 2.0, 2.0]
    assert apply_policy(r)["score"] == 3.0    # without overrides: back to the automatic score


def test_overrides_file_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("student,assignment,points\ns,a,abc\n")
    with pytest.raises(PolicyError, match="not a number"):
        read_overrides(bad)
    bad.write_text("name,score\n")
    with pytest.raises(PolicyError, match="header"):
        read_overrides(bad)


# ---- CLI ------------------------------------------------------------------------------------

def test_cli_grade_with_policy_writes_everything(fake, klass, course, tmp_path, capsys):
    ov = tmp_path / "ov.csv"
    ov.write_text("student,assignment,test,points,comment\nbob,a00_tiny,test_add,1,ok\n")
    (klass / "cid" / "timestamp.txt").write_text("2030-01-01 00:00:00 UTC\n")
    out = tmp_path / "out"
    code = cli.main(["--course", str(course.root), "grade", str(klass), "--out", str(out), "-q", "-j", "2",
                     "--sandbox", "off", "--deadline", "2029-12-31T00:00+00:00", "--late-policy", "zero",
                     "--overrides", str(ov), "--lang", "en"])
    assert code == 0
    rows = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv", encoding="utf-8"))}
    assert rows["bob"]["score"] == "3" and rows["bob"]["auto_score"] == "2" and rows["bob"]["comment"] == "ok"
    assert rows["cid"]["days_late"] == "1" and rows["cid"]["score"] == "0"
    assert rows["ann"]["score"] == "3"
    for f in ("grades.csv", "junit.xml", "report.html", "ann/a00_tiny/feedback.html",
              "ann/a00_tiny/results.json", "ann/a00_tiny/result.json"):
        assert (out / f).is_file(), f
    assert "Points" not in capsys.readouterr().out   # only `ci` sums points


def test_cli_usage_errors(fake, klass, course, tmp_path):
    base = ["--course", str(course.root), "grade", str(klass), "--out", str(tmp_path / "o"), "-q"]
    assert cli.main(base + ["--late-policy", "zero"]) == 2            # no deadline
    assert cli.main(base + ["--deadline", "x", "--late-policy", "zero"]) == 2
    assert cli.main(base + ["--overrides", str(tmp_path / "missing.csv")]) == 2
    assert fake == []


def test_ci_exit_codes(fake, course, tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    (repo / "work").mkdir(parents=True)
    nbformat.write(make_nb("def add(a, b):\n    return a - b\n"), repo / "work" / "a00_tiny.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), repo / "scratch.ipynb")  # not an assignment: ignored
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    args = ["--course", str(course.root), "ci", str(repo), "--out", str(repo / "autograder-results"),
            "-q", "--sandbox", "off", "--student", "me"]
    assert cli.main(args) == 0                      # failed tests are not a failed grading
    assert "Points 2/3" in capsys.readouterr().out
    assert "Points 2/3" in (tmp_path / "summary.md").read_text()
    assert fake == ["me"]

    def broken(target, course, out_dir, **kw):
        r = fake_grade_notebook(target, course, out_dir)
        return {**r, "status": "error", "errors": ["rubric could not be collected"]}

    monkeypatch.setattr(batch, "grade_notebook", broken)
    assert cli.main(args + ["--regrade"]) == 1     # grading itself failed
    assert cli.main(args[:3] + [str(tmp_path / "empty")] + args[4:]) == 2
    (tmp_path / "empty").mkdir()
    assert cli.main(args[:3] + [str(tmp_path / "empty")] + args[4:]) == 2


# ---- real grading (kernels, pytest) ---------------------------------------------------------

@pytest.mark.slow
def test_killed_run_resumes_to_the_same_gradebook(klass, course, tmp_path):
    """kill -9 a real grading run midway, start it again: same gradebook as one clean run."""
    env = {**os.environ, "AUTOGRADER_COURSE": str(course.root)}
    cmd = [sys.executable, "-m", "autograder", "grade", str(klass), "-q", "-j", "1", "--sandbox", "off",
           "--no-feedback"]
    clean = tmp_path / "clean"
    subprocess.run(cmd + ["--out", str(clean)], env=env, check=True, capture_output=True, timeout=600)

    out = tmp_path / "interrupted"
    proc = subprocess.Popen(cmd + ["--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    import time

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(out.glob("*/a00_tiny/result.json"))) < 1:
        time.sleep(0.2)
    from autograder.sandbox.isolation import kill_tree

    kill_tree(proc.pid)  # the whole group, as kill -9 of the terminal would leave it
    proc.wait()
    assert len(list(out.glob("*/a00_tiny/result.json"))) >= 1
    done = subprocess.run(cmd + ["--out", str(out)], env=env, check=True, capture_output=True, text=True,
                          timeout=600)
    assert "reused" in done.stdout
    assert (out / "gradebook.csv").read_text() == (clean / "gradebook.csv").read_text()
    rows = list(csv.DictReader(open(out / "gradebook.csv", encoding="utf-8")))
    assert sorted(r["student"] for r in rows) == ["ann", "bob", "cid", "dan"]
    assert {r["student"]: r["score"] for r in rows} == {"ann": "3", "bob": "0", "cid": "0", "dan": "3"}
