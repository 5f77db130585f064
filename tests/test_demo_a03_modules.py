"""Demo class for a03_modules: each buggy student loses exactly the tests their bug should cost;
the manually graded question is pending (answered), marked (demo/marks) or without an answer."""
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a03_modules"
MAX_SCORE = 27.0  # 26 automatic + the manual question (sigmoid_slow, 1 point; 0 until a TA marks it)
MANUAL = "sigmoid_slow"
ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "perfect": 26.0,
    "a03-w-untransposed": 14.0,
    "a03-gradw-not-accumulated": 25.0,
    "a03-sequential-network-input": 20.0,
    "a03-hardcoded": 0.0,
    "a03-extra-epoch": 25.0,
}
#: every test of the rubric (the hardcoding student must lose them all)
ALL_TESTS = {
    "test_dumb_forward_reference", "test_dumb_forward_formula", "test_forward_reference", "test_forward_formula",
    "test_forward_is_vectorized", "test_forward_stores_output", "test_two_layer_reference",
    "test_sequential_forward", "test_sigmoid_forward", "test_relu_forward_values", "test_sigmoid_backward",
    "test_relu_update_grad_input", "test_linear_grad_input", "test_linear_grad_W", "test_get_grad_parameters",
    "test_grad_W_accumulates", "test_seminar_gradient_reference", "test_sequential_backward", "test_predict",
    "test_train_loss_decreases", "test_train_accuracy", "test_train_matches_reference_steps", MANUAL,
}
FAILED = {
    "perfect": set(),
    # Linear.forward: np.dot(input, self.W) instead of input @ self.W.T (shape error or wrong values)
    "a03-w-untransposed": {
        "test_forward_reference",
        "test_forward_formula",
        "test_forward_is_vectorized",
        "test_forward_stores_output",
        "test_two_layer_reference",
        "test_sequential_forward",
        "test_sequential_backward",
        "test_train_loss_decreases",
        "test_train_accuracy",
        "test_train_matches_reference_steps",
    },
    # Linear.accGradParameters: self.gradW = ... (overwritten, not accumulated)
    "a03-gradw-not-accumulated": {"test_grad_W_accumulates"},
    # Sequential.backward gives every module the network input instead of its own forward input
    "a03-sequential-network-input": {
        "test_sequential_backward",
        "test_train_loss_decreases",
        "test_train_accuracy",
        "test_train_matches_reference_steps",
    },
    # implements nothing: the seminar's printed values for the seminar's inputs, zeros elsewhere,
    # an invented loss curve (starting at the public rubric's first loss) and an untrained network
    "a03-hardcoded": ALL_TESTS,
    # train runs one epoch more than asked and cuts loss_history to the expected length: only the
    # returned network shows it (the step-by-step replay)
    "a03-extra-epoch": {"test_train_matches_reference_steps"},
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    # every student "loses" the manual point at grading: it is pending until a TA marks it
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student] | {MANUAL})


def _manual(result: dict) -> dict:
    return next(t for t in result["tests"] if t["name"] == MANUAL)


def test_the_manual_question_is_pending_when_answered_and_failed_without_an_answer(demo_results):
    statuses = {s: _manual(demo_results[(s, ASSIGNMENT)])["status"] for s in EXPECTED}
    assert statuses == {s: "pending" if s in ("perfect", "a03-extra-epoch") else "failed" for s in EXPECTED}


def test_demo_marks_mark_perfect_and_a_regrade_keeps_the_mark(demo_results, course, tmp_path):
    from autograder.classroom.policy import apply_policy, mark_warnings, read_marks
    from autograder.engine.grade import Target, grade_notebook

    marks = read_marks([ROOT / "demo" / "marks"])
    perfect = apply_policy(demo_results[("perfect", ASSIGNMENT)], marks=marks)
    assert (perfect["score"], perfect["max_score"], _manual(perfect)["status"]) == (27.0, 27.0, "marked")
    pending = apply_policy(demo_results[("a03-extra-epoch", ASSIGNMENT)], marks=marks)
    assert (pending["score"], _manual(pending)["status"]) == (25.0, "pending")
    regraded = grade_notebook(Target("perfect", Path(perfect["notebook"])), course, tmp_path)
    assert _manual(regraded)["status"] == "pending" and regraded["score"] == 26.0
    again = apply_policy(regraded, marks=marks)
    assert again["score"] == 27.0 and not _manual(again)["mark"]["stale"]
    assert mark_warnings(marks, [again]) == []
