"""Demo class for a03_modules: each buggy student loses exactly the tests their bug should cost."""
import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a03_modules"
MAX_SCORE = 26.0
EXPECTED = {
    "perfect": 26.0,
    "a03-w-untransposed": 14.0,
    "a03-gradw-not-accumulated": 25.0,
    "a03-sequential-network-input": 20.0,
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
    },
    # Linear.accGradParameters: self.gradW = ... (overwritten, not accumulated)
    "a03-gradw-not-accumulated": {"test_grad_W_accumulates"},
    # Sequential.backward gives every module the network input instead of its own forward input
    "a03-sequential-network-input": {
        "test_sequential_backward",
        "test_train_loss_decreases",
        "test_train_accuracy",
    },
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])
