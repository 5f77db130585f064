"""Shared fixtures of the project's own test suite (not of the grading rubrics)."""
from __future__ import annotations

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
    results = grade_all(discover([ROOT / "demo" / "class"]), course, out, jobs=2, progress=False)
    return {(r["student"], r["assignment"] or Path(r["notebook"]).stem): r for r in results}


def pytest_collection_modifyitems(config, items):
    """Tests that share the graded demo class run on one xdist worker (graded once)."""
    for item in items:
        if "demo_results" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo"))
