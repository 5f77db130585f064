"""Shared fixtures of the project's own test suite (not of the grading rubrics)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from autograder.course import Course
from autograder.grade import discover, grade_all

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(ROOT)


@pytest.fixture(scope="session")
def demo_results(tmp_path_factory, course) -> dict:
    """The bundled demo class graded once: {(student, assignment id): result dict}."""
    out = tmp_path_factory.mktemp("demo-results")
    started = time.time()
    results = grade_all(discover([ROOT / "demo" / "class"]), course, out, jobs=2, progress=False)
    graded = {(r["student"], r["assignment"] or Path(r["notebook"]).stem): r for r in results}
    graded["leftover processes"] = leftover_processes(started)
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
    return leftover_processes


def leftover_processes(since: float) -> list[str]:
    """Kernels and submission workers started after ``since`` (``time.time()``) that are still
    alive and are not the work of another pytest process (an xdist sibling grading in
    parallel): orphans of this process's grading.  (Process start times are rounded by the
    kernel: a second of slack.)"""
    import psutil

    me = psutil.Process()
    found = []
    for p in psutil.process_iter(["pid", "cmdline", "create_time"]):
        try:
            cmdline = " ".join(p.info["cmdline"] or [])
            if p.info["create_time"] < since - 1.0 or not ("ipykernel" in cmdline or "autograder.worker" in cmdline):
                continue
            parents = p.parents()
            mine = me in parents
            sibling = any("pytest" in " ".join(q.cmdline()) for q in parents if q != me and q.pid != 1)
            if mine or not sibling:
                found.append(f"{p.pid}: {' '.join(p.info['cmdline'])[:100]}")
        except psutil.Error:
            continue
    return found


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marker into the group
def pytest_collection_modifyitems(config, items):
    """Tests that share the graded demo class run on one xdist worker (graded once)."""
    for item in items:
        if "demo_results" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo"))
