"""Sharded grading and ``autograder merge``.

Fast tests use the stand-in engine of ``fake_class``; the slow ones grade real notebooks: the demo
class in three concurrent processes against the suite's single run, and the Slurm recipe.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import cli
from autograder.classroom import batch, shard
from autograder.classroom.shard import Shard, ShardError, shard_of
from autograder.core import files
from autograder.engine import grade

from fake_class import CALLS, STUDENTS, add_submission, fake, klass, small_course  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]


def grade_cli(course, klass, out, *extra) -> int:
    return cli.main(["--course", str(course.root), "grade", str(klass), "--out", str(out), "-q", "-j", "2",
                     "--sandbox", "off", *extra])


def merge_cli(course, dirs, out, *extra) -> int:
    return cli.main(["--course", str(course.root), "merge", *map(str, dirs), "--out", str(out), *extra])


def grade_shards(course, klass, base: Path, n: int, *extra) -> list[Path]:
    dirs = [base / f"shard-{k}" for k in range(n)]
    for k, d in enumerate(dirs):
        assert grade_cli(course, klass, d, "--shard", f"{k}/{n}", *extra) == 0
    return dirs


def per_test(out: Path) -> dict:
    """{(student, assignment): [(test, score, status, output)]} of a results folder."""
    found = {}
    for f in sorted(out.glob("*/*/result.json")):
        r = json.loads(f.read_text(encoding="utf-8"))
        found[(r["student"], r["assignment"])] = [(t["name"], t["score"], t["status"], t["output"])
                                                  for t in r["tests"]]
    return found


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---- the split -------------------------------------------------------------------------------

def test_shard_values_are_checked():
    assert Shard.parse("2/4") == Shard(2, 4) and str(Shard(2, 4)) == "2/4"
    for bad in ("4/4", "-1/3", "1", "a/b", "0/0", "1/-2"):
        with pytest.raises(ShardError):
            Shard.parse(bad)


def test_every_assignment_is_spread_evenly_over_the_shards():
    """300 students x 5 assignments, 4 shards: each shard gets about a quarter of each assignment
    (a split by position or by student alone could give one shard all of an assignment)."""
    students = [f"s{i:03d}" for i in range(300)]
    for a, aid in enumerate(["a01", "a02", "a03", "a04", "a05"]):
        # each assignment handed in by a different 100 of the students, as in a real term
        handed_in = students[a * 40: a * 40 + 100]
        counts = [0] * 4
        for s in handed_in:
            counts[shard_of(s, aid, 4)] += 1
        assert sum(counts) == 100 and min(counts) >= 15 and max(counts) <= 35, (aid, counts)
    assert len({shard_of("s000", aid, 5) for aid in ("a01", "a02", "a03", "a04", "a05")}) > 1


def test_shards_are_disjoint_complete_and_stable_when_a_student_is_added(klass, small_course, tmp_path):
    options = batch.grading_options(False, None)

    def parts(n):
        targets = grade.discover([klass])
        return [{(p.target.student, p.dest.name) for p in
                 batch.plan(targets, small_course, tmp_path / "o", options, resume=False, select=Shard(k, n))}
                for k in range(n)]

    before = parts(3)
    everything = {(s, a) for s, work in STUDENTS.items() for a in work}
    assert set().union(*before) == everything and sum(map(len, before)) == len(everything)
    add_submission(klass, "gus", "a00_tiny", "right")
    add_submission(klass, "aaa", "a01_more", "right")  # sorts first: positions of everyone move
    after = parts(3)
    for old, new in zip(before, after):
        assert old <= new and len(new - old) <= 2  # nobody moved; only the new keys are new


# ---- merge ------------------------------------------------------------------------------------

def test_three_shards_merge_to_the_single_run(fake, klass, small_course, tmp_path):
    assert grade_cli(small_course, klass, tmp_path / "single") == 0
    dirs = grade_shards(small_course, klass, tmp_path, 3)
    graded = [set(map(tuple, json.loads((d / "shard.json").read_text())["keys"])) for d in dirs]
    assert all(graded) and sum(map(len, graded)) == len(set().union(*graded)) == len(per_test(tmp_path / "single"))
    assert not (dirs[0] / "gradebook.csv").exists()  # the class-wide files are the merge's
    assert merge_cli(small_course, dirs, tmp_path / "merged") == 0
    for name in ("gradebook.csv", "grades.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name
    assert per_test(tmp_path / "merged") == per_test(tmp_path / "single")
    for f in ("junit.xml", "report.html", "ann/a01_more/feedback.html", "ann/a01_more/results.json"):
        assert (tmp_path / "merged" / f).is_file(), f


def test_merge_refuses_missing_duplicated_unfinished_and_mismatched_shards(fake, klass, small_course, tmp_path, capsys):
    dirs = grade_shards(small_course, klass, tmp_path, 3)
    capsys.readouterr()

    def refused(folders, words):
        assert merge_cli(small_course, folders, tmp_path / "merged") == 2
        err = capsys.readouterr().err
        assert all(w in err for w in words), err
        assert not (tmp_path / "merged" / "gradebook.csv").exists()

    refused(dirs[:2], ["shard(s) 2 of 3 missing", "--allow-missing"])
    refused([dirs[0], dirs[1], dirs[1]], ["shard 1 is given twice"])
    copy = tmp_path / "copy-of-1"
    shutil.copytree(dirs[1], copy)
    refused([*dirs, copy], ["shard 1 is given twice"])
    refused([dirs[0], tmp_path / "shard-1" / "ann", dirs[2]], ["no shard.json"])

    other = grade_shards(small_course, klass, tmp_path / "other", 2)
    refused([dirs[1], dirs[2], other[0]], ["split the class differently"])

    rubric = small_course.root / "tests" / "grading" / "a01_more.py"
    rubric.write_text(rubric.read_text() + "\n# fixed\n")
    regraded = tmp_path / "regraded-2"
    assert grade_cli(small_course, klass, regraded, "--shard", "2/3") == 0
    refused([dirs[0], dirs[1], regraded], ["different rubric a01_more"])
    public = tmp_path / "public-2"
    assert grade_cli(small_course, klass, public, "--shard", "2/3", "--public-only") == 0
    refused([dirs[0], dirs[1], public], ["different options"])

    shard.start(dirs[2], Shard(2, 3))  # as a run killed midway leaves it
    refused(dirs, ["did not finish", "shard-2"])


def test_allow_missing_writes_a_partial_gradebook_and_a_rerun_completes_it(fake, klass, small_course, tmp_path, capsys):
    assert grade_cli(small_course, klass, tmp_path / "single") == 0
    dirs = grade_shards(small_course, klass, tmp_path, 3)
    lost = set(map(tuple, json.loads((dirs[1] / "shard.json").read_text())["keys"]))
    shutil.rmtree(dirs[1])  # a failed job: nothing came back
    capsys.readouterr()
    assert merge_cli(small_course, [dirs[0], dirs[2]], tmp_path / "merged", "--allow-missing") == 0
    err = capsys.readouterr().err
    assert "partial gradebook" in err and all(s in err for s, _ in lost), err
    book = {(r["student"], r["assignment"]): r for r in rows(tmp_path / "merged" / "gradebook.csv")}
    assert {k for k, r in book.items() if r["status"] == "shard-missing"} == lost
    grades = {r["student"]: r for r in rows(tmp_path / "merged" / "grades.csv")}
    assert all(grades[s][a] == "" for s, a in lost)  # unknown, not zero

    CALLS.clear()
    assert grade_cli(small_course, klass, dirs[1], "--shard", "1/3") == 0  # the rerun of the failed shard
    assert set(CALLS) == lost
    assert merge_cli(small_course, dirs, tmp_path / "merged") == 0
    for name in ("gradebook.csv", "grades.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "single" / name).read_bytes(), name


def test_a_shard_resumes(fake, klass, small_course, tmp_path):
    (d,) = grade_shards(small_course, klass, tmp_path, 1)
    CALLS.clear()
    victim = sorted(d.glob("*/*/result.json"))[0]
    victim.unlink()
    assert grade_cli(small_course, klass, d, "--shard", "0/1") == 0
    assert CALLS == [(victim.parent.parent.name, victim.parent.name)]


def test_merge_elsewhere_keeps_the_late_rule(fake, klass, small_course, tmp_path):
    """Merged where the class is not (a CI merge job): lateness as recorded when grading."""
    (klass / "bob" / "timestamp.txt").write_text("2026-12-03 10:00:00 UTC\n")
    late = ["--deadline", "2026-12-01T23:59+00:00", "--late-policy", "per-day:10"]
    assert grade_cli(small_course, klass, tmp_path / "single", *late) == 0
    dirs = grade_shards(small_course, klass, tmp_path, 2)
    klass.rename(tmp_path / "elsewhere")
    assert merge_cli(small_course, dirs, tmp_path / "merged", *late) == 0
    book = {(r["student"], r["assignment"]): r for r in rows(tmp_path / "merged" / "gradebook.csv")}
    assert book[("bob", "a00_tiny")]["days_late"] == "2"
    single = {(r["student"], r["assignment"]): r for r in rows(tmp_path / "single" / "gradebook.csv")}
    assert {k: (r["score"], r["days_late"]) for k, r in book.items() if k[0] == "bob"} == \
        {k: (r["score"], r["days_late"]) for k, r in single.items() if k[0] == "bob"}


# ---- recipes ------------------------------------------------------------------------------------

def test_github_workflow_has_the_shard_matrix_and_the_merge_job():
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load((ROOT / "ci-templates" / "grade-sharded.yml").read_text(encoding="utf-8"))
    jobs = flow["jobs"]
    grade_job, merge_job = jobs["grade"], jobs["merge"]
    shards = grade_job["strategy"]["matrix"]["shard"]
    assert shards == list(range(len(shards))) and len(shards) > 1 and flow["env"]["SHARDS"] == len(shards)
    assert grade_job["strategy"]["fail-fast"] is False
    steps = " ".join(str(s.get("run", "")) for s in grade_job["steps"])
    assert "autograder grade" in steps and "--shard ${{ matrix.shard }}/$SHARDS" in steps
    uploads = [s for s in grade_job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and "matrix.shard" in uploads[0]["with"]["name"]
    assert merge_job["needs"] == "grade"
    merge_steps = merge_job["steps"]
    downloads = [s for s in merge_steps if str(s.get("uses", "")).startswith("actions/download-artifact")]
    assert downloads and "autograder merge" in " ".join(str(s.get("run", "")) for s in merge_steps)
    assert any(str(s.get("uses", "")).startswith("actions/upload-artifact") for s in merge_steps)


@pytest.mark.slow
def test_slurm_recipe_grades_an_array_and_merges(tmp_path):
    """The Slurm script run by hand, SLURM_ARRAY_TASK_ID set as the array would, on a tiny class."""
    from engine.tiny import make_course

    root = make_course(tmp_path / "course")
    cls = tmp_path / "class"
    for student in ("ann", "bob", "cid"):
        (cls / student).mkdir(parents=True)
        shutil.copy(root / ("solutions" if student != "bob" else "assignments") / "a00_tiny.ipynb",
                    cls / student / "a00_tiny.ipynb")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "AUTOGRADER_COURSE": str(root), "CLASS": str(cls), "RESULTS": str(tmp_path / "shards"),
           "SHARDS": "2", "AUTOGRADER_OPTIONS": "--sandbox off -j 1"}
    script = ROOT / "recipes" / "slurm"
    for k in range(2):
        subprocess.run(["bash", str(script / "grade-array.sh")], env={**env, "SLURM_ARRAY_TASK_ID": str(k)},
                       check=True, capture_output=True, timeout=600, cwd=tmp_path)
    done = subprocess.run(["bash", str(script / "merge.sh")], env={**env, "OUT": str(tmp_path / "merged")},
                          check=True, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "merged 3 result(s) of 2 shard(s)" in done.stdout, done.stdout
    book = {r["student"]: r["score"] for r in rows(tmp_path / "merged" / "gradebook.csv")}
    assert book == {"ann": "4", "bob": "0", "cid": "4"}


# ---- the demo class, three processes at once ------------------------------------------------

@pytest.mark.slow
def test_demo_class_in_three_concurrent_shards_merges_to_the_single_run(demo_results, course, tmp_path):
    """The session's single run of the demo class is the reference; three shards graded by three
    processes at the same time, then merged: the same gradebook, grades and per-test results."""
    from autograder.classroom.merge import publish

    single = tmp_path / "single"
    for (student, assignment), r in ((k, v) for k, v in demo_results.items() if isinstance(v, dict)):
        files.write_json(single / student / assignment / "result.json", r)
    publish(single, feedback=False)

    env = {**os.environ, "AUTOGRADER_COURSE": str(course.root)}
    procs = [subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(ROOT / "demo" / "class"),
                               "--shard", f"{k}/3", "--out", str(tmp_path / f"shard-{k}"), "-q", "-j", "1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for k in range(3)]
    outputs = [p.communicate(timeout=1800)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    merged = subprocess.run([sys.executable, "-m", "autograder", "merge",
                             *(str(tmp_path / f"shard-{k}") for k in range(3)), "--out", str(tmp_path / "merged"),
                             "--no-feedback"], env=env, capture_output=True, text=True, timeout=600)
    assert merged.returncode == 0, merged.stderr
    for name in ("gradebook.csv", "grades.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (single / name).read_bytes(), name
    assert per_test(tmp_path / "merged") == per_test(single)


def test_merge_applies_the_roster_without_hiding_missing_shards(fake, klass, small_course, tmp_path):
    dirs = grade_shards(small_course, klass, tmp_path, 2)
    lost = set(map(tuple, json.loads((dirs[1] / "shard.json").read_text())["keys"]))
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,email\n" + "".join(f"{s},,\n" for s in [*STUDENTS, "zed"]), encoding="utf-8")
    assert merge_cli(small_course, [dirs[0]], tmp_path / "merged", "--allow-missing", "--roster", str(roster)) == 0
    status = {(r["student"], r["assignment"]): r["status"] for r in rows(tmp_path / "merged" / "gradebook.csv")}
    assert {k for k, s in status.items() if s == "shard-missing"} == lost
    assert status[("zed", "a00_tiny")] == status[("zed", "a01_more")] == status[("bob", "a01_more")] == "missing"
