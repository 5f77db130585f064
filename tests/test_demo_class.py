"""The demo class's broken submissions: each costs only itself, with a message, and leaves nothing running.

Scores of the buggy students of each assignment are in ``test_demo_<assignment>.py``.
"""
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
A01 = "a01_neurons"


def test_untouched_notebook_is_the_released_one():
    assert (ROOT / "demo/class/untouched" / f"{A01}.ipynb").read_bytes() == \
        (ROOT / "assignments" / f"{A01}.ipynb").read_bytes()


def test_untouched_notebook_scores_zero_with_a_message_per_task(demo_results):
    result = demo_results[("untouched", A01)]
    assert result["status"] == "graded" and result["max_score"] == 42.0
    assert result["score"] == 0.0
    assert all("NotImplementedError" in t["output"] for t in result["tests"]), result["tests"]


def test_invalid_json_scores_zero_and_says_why(demo_results):
    result = demo_results[("invalid-json", A01)]
    assert result["status"] == "ungraded" and result["score"] == 0.0
    assert result["max_score"] == 42.0  # every task listed, at zero
    assert result["errors"][0].startswith("Файл не является ноутбуком: скачайте его заново")  # said once
    assert "JSON" in result["errors"][1] and len(result["errors"]) == 2
    assert all((t["status"], t["output"]) == ("not_run", "") for t in result["tests"])


def test_infinite_loop_is_stopped_and_the_definitions_still_graded(demo_results):
    result = demo_results[("infinite-loop", A01)]
    assert result["execution"]["errors"], "the cell time-out must be reported"
    assert any("остановлена" in e for e in result["execution"]["errors"])
    # the loop is demo code at the top level: the definitions are imported without it
    assert result["score"] == result["max_score"] == 42.0, result["tests"]


def test_no_kernel_or_worker_outlives_the_grading(demo_results):
    assert demo_results["leftover processes"] == []


def test_every_submission_of_the_class_has_a_result(demo_results):
    notebooks = sorted(p.relative_to(ROOT / "demo/class") for p in (ROOT / "demo/class").rglob("*.ipynb"))
    graded = sorted(Path(r["notebook"]).relative_to(ROOT / "demo/class")
                    for k, r in demo_results.items() if isinstance(r, dict))
    assert graded == notebooks


def test_grading_twice_gives_identical_scores(demo_results, course, tmp_path):
    """Hypothesis derandomized, seeds fixed: a second run gives the same scores and messages."""
    from autograder.engine.grade import Target, grade_notebook

    first = demo_results[("a01-broadcasting", A01)]
    again = grade_notebook(Target("a01-broadcasting", Path(first["notebook"])), course, tmp_path)

    def scores(r):
        return json.dumps([(t["name"], t["score"], t["output"]) for t in r["tests"]], ensure_ascii=False)

    assert scores(again) == scores(first)
