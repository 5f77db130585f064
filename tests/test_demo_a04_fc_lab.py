"""Demo class for a04_fc_lab: each buggy student loses exactly the tests their bug should cost."""
import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a04_fc_lab"
MAX_SCORE = 30.0
EXPECTED = {
    "perfect": 30.0,
    "a04-softmax-no-shift": 28.0,
    "a04-bias-not-summed": 27.0,
    "a04-zero-grad-keeps": 26.0,
    "a04-batch-loop": 28.0,
    "a04-hardcoded": 0.0,
    "a04-extra-epoch": 29.0,
}
#: every test of the rubric (the hardcoding student must lose them all)
ALL_TESTS = {
    "test_linear_forward",
    "test_linear_backward_shapes",
    "test_linear_backward_input_gradient",
    "test_linear_backward_weight_gradient",
    "test_linear_backward_bias_gradient",
    "test_linear_backward_accumulates",
    "test_mse_value",
    "test_grad_mse_numeric",
    "test_relu_reference",
    "test_relu_backward_numeric",
    "test_sigmoid_reference",
    "test_sigmoid_backward_numeric",
    "test_nllloss_reference",
    "test_nllloss_backward_numeric",
    "test_nllloss_large_logits_no_overflow",
    "test_nllloss_no_log_zero",
    "test_check_gradient_matches_analytic",
    "test_check_gradient_detects_wrong_gradient",
    "test_layers_have_no_loops",
    "test_network_shapes",
    "test_network_get_parameters",
    "test_network_backward_input_gradient",
    "test_network_parameter_gradients",
    "test_optimizer_step",
    "test_optimizer_zero_grad",
    "test_optimizer_quadratic_trajectory",
    "test_train_loss_history",
    "test_train_iris_accuracy",
    "test_train_matches_reference_steps",
}
FAILED = {
    "perfect": set(),
    # NLLLoss.forward without subtracting the row maximum: exp(1000) overflows (hidden tests)
    "a04-softmax-no-shift": {"test_nllloss_large_logits_no_overflow", "test_nllloss_no_log_zero"},
    # Linear.backward: bias.grad += dLdy.mean(axis=0) instead of the sum over the batch
    # (and training then differs from the lab's SGD steps: since the replay test, 28 -> 27)
    "a04-bias-not-summed": {"test_linear_backward_bias_gradient", "test_network_parameter_gradients",
                            "test_train_matches_reference_steps"},
    # Optimizer.zero_grad rebinds a local variable: gradients keep accumulating, training diverges
    "a04-zero-grad-keeps": {"test_optimizer_zero_grad", "test_train_loss_history", "test_train_iris_accuracy",
                            "test_train_matches_reference_steps"},
    # Linear.forward loops over the batch: right values, but the "no loops" rule is broken
    "a04-batch-loop": {"test_layers_have_no_loops"},
    # implements nothing: the task's printed values for its inputs, zeros elsewhere, check_gradient that
    # returns func's analytic gradient as the numeric one, an invented loss curve and an untrained network
    "a04-hardcoded": ALL_TESTS,
    # train runs one epoch more than asked and cuts loss_history to the expected length: only the
    # returned network shows it (the step-by-step replay)
    "a04-extra-epoch": {"test_train_matches_reference_steps"},
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])
