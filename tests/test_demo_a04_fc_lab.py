"""Demo class for a04_fc_lab: each buggy student loses exactly the tests their bug should cost."""
import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a04_fc_lab"
MAX_SCORE = 30.0
EXPECTED = {
    "perfect": 30.0,
    "a04-softmax-no-shift": 28.0,
    "a04-bias-not-summed": 28.0,
    "a04-zero-grad-keeps": 26.0,
    "a04-batch-loop": 28.0,
}
FAILED = {
    "perfect": set(),
    # NLLLoss.forward without subtracting the row maximum: exp(1000) overflows (hidden tests)
    "a04-softmax-no-shift": {"test_nllloss_large_logits_no_overflow", "test_nllloss_no_log_zero"},
    # Linear.backward: bias.grad += dLdy.mean(axis=0) instead of the sum over the batch
    "a04-bias-not-summed": {"test_linear_backward_bias_gradient", "test_network_parameter_gradients"},
    # Optimizer.zero_grad rebinds a local variable: gradients keep accumulating, training diverges
    "a04-zero-grad-keeps": {"test_optimizer_zero_grad", "test_train_loss_history", "test_train_iris_accuracy"},
    # Linear.forward loops over the batch: right values, but the "no loops" rule is broken
    "a04-batch-loop": {"test_layers_have_no_loops"},
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])
