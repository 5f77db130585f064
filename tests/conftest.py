"""Shared fixtures of the project's own test suite (not of the grading rubrics)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from autograder.classroom.batch import grade_all
from autograder.core.course import Course
from autograder.engine.grade import discover

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Course:
    """The two-task course of ``tests/engine/tiny.py``, built once."""
    from engine.tiny import make_course

    return Course(make_course(tmp_path_factory.mktemp("tiny-course")))


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory, course) -> dict:
    """The bundled demo class graded once: {(student, assignment id): result dict}, and "out": the
    results folder."""
    out = tmp_path_factory.mktemp("demo-results")
    watch_processes()
    started = time.time()
    results = grade_all(discover([ROOT / "demo" / "class"]), course, out, jobs=2, progress=False)
    graded = {(r["student"], r["assignment"] or Path(r["notebook"]).stem): r for r in results}
    graded["leftover processes"] = leftover_processes(started)
    graded["out"] = out  # <student>/<assignment>/executed.ipynb, result.json
    return graded


@pytest.fixture
def check_demo_student(demo_results):
    """``check(student, assignment, max_score, score, failed)``: the demo student's result has
    this maximum and score, and exactly the tests named in ``failed`` lost points."""
    def check(student: str, assignment: str, max_score: float, score: float, failed: set[str]) -> None:
        result = demo_results[(student, assignment)]
        assert (result["max_score"], result["score"]) == (max_score, score), result["tests"]
        lost = {t["name"] for t in result["tests"] if t["score"] < t["max_score"]}
        assert lost == failed, result["tests"]

    return check


@pytest.fixture
def leftovers():
    """``leftovers(since)``: the student-code processes our grading left alive (see below)."""
    watch_processes()
    return leftover_processes


@pytest.fixture
def spawn_orphan():
    """``spawn_orphan(argv, adopt=True) -> pid``: start ``argv`` as an orphan (its parent exits at
    once).  adopt=False: this process is not a subreaper meanwhile, so the orphan goes to init
    (or an ancestor subreaper) like another job's process.  Killed at teardown."""
    import json
    import os
    import signal
    import subprocess
    import sys

    pids = []

    def spawn(argv: list[str], adopt: bool = True) -> int:
        code = ("import json, subprocess, sys; "
                f"p = subprocess.Popen({json.dumps(argv)}, start_new_session=True, stdin=subprocess.DEVNULL, "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
                "print(p.pid)")
        subreaper(adopt)
        try:
            pid = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        finally:
            subreaper(True)
        pids.append(pid)
        return pid

    yield spawn
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


PR_SET_CHILD_SUBREAPER = 36
#: sandbox uid -> the lease this process took on it (``sandbox.UidLease``), since ``watch_processes``
LEASED: dict[int, object] = {}


def subreaper(on: bool = True) -> None:
    """Make this process a child subreaper (Linux): an orphan of our grading (a double-forked or
    setsid child whose parent died) is re-parented to us instead of init, so it stays one of our
    descendants."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def watch_processes() -> None:
    """Start watching what this process's grading starts: adopt orphans, record uid leases."""
    from autograder.sandbox import isolation as sandbox

    subreaper(True)
    if not getattr(sandbox.UidLease.acquire, "recorded", False):
        acquire = sandbox.UidLease.acquire.__func__

        def recording(cls):
            lease = acquire(cls)
            if lease.uid is not None:
                LEASED[lease.uid] = lease
            return lease

        recording.recorded = True
        sandbox.UidLease.acquire = classmethod(recording)


def _ours(uid: int) -> bool:
    """Is a process of sandbox ``uid`` ours: we hold its lease, or we held it last and nobody
    holds it now (a leftover of our grading, not another job's sandbox)."""
    import fcntl
    import os

    from autograder.sandbox import isolation as sandbox

    if getattr(LEASED[uid], "_fd", None) is not None:
        return True
    try:
        fd = os.open(sandbox._LOCK_DIR / str(uid), os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # another job leased the uid since: its processes are its own
    finally:
        os.close(fd)
    return True


def leftover_processes(since: float) -> list[str]:
    """Processes of student code started after ``since`` (``time.time()``) and still alive that
    are ours: kernels, runners and workers among this process's descendants (orphans included:
    ``watch_processes`` makes it a subreaper), forks of a warm server (``autograder.engine.warm``: a
    zygote's submission, a grading run; the servers themselves live for the run), and any
    process of a sandbox uid this
    process leased.  Another job's kernels on the same machine are not ours.  (Process start
    times are rounded by the kernel: a second of slack.)"""
    import psutil

    found: dict[int, str] = {}

    def alive(p) -> bool:
        return p.create_time() >= since - 1.0 and p.status() != psutil.STATUS_ZOMBIE

    def module(p) -> str:
        argv = p.cmdline()
        return argv[argv.index("-m") + 1] if "-m" in argv[:-1] else ""

    for p in psutil.Process().children(recursive=True):
        try:
            cmdline, mod = " ".join(p.cmdline()), module(p)
            # a warm server (zygote, grader) lives for the run; a fork of one is a submission's
            fork = (mod == "autograder.engine.warm" and p.parent().cmdline() == p.cmdline()
                    and not p.cmdline()[0].endswith("bwrap"))  # bwrap forks itself too
            if alive(p) and ("ipykernel" in cmdline or mod in ("autograder.sandbox.worker", "autograder.sandbox.runner") or fork):
                found[p.pid] = f"{p.pid}: {cmdline[:100]}"
        except psutil.Error:
            continue
    if LEASED:
        for p in psutil.process_iter(["pid", "uids", "cmdline"]):
            try:
                uid = p.info["uids"].real if p.info["uids"] else None
                if uid in LEASED and p.pid not in found and alive(p) and _ours(uid):
                    found[p.pid] = f"{p.pid} (uid {uid}): {' '.join(p.info['cmdline'] or [])[:100]}"
            except psutil.Error:
                continue
    return list(found.values())


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marker into the group
def pytest_collection_modifyitems(config, items):
    """Tests that share the graded demo class run on one xdist worker (graded once)."""
    for item in items:
        if "demo_results" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo"))
