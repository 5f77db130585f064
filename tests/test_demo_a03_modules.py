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
    "test_train_loss_decreases", "test_train_accuracy", "test_train_matches_reference_steps",
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
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])
