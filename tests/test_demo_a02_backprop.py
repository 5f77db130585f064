"""Demo class for a02_backprop: each buggy student loses exactly the tests their bug should cost."""
import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a02_backprop"
MAX_SCORE = 36.0
RUBRIC = Path(__file__).resolve().parent / "grading" / f"{ASSIGNMENT}.py"
ALL_TESTS = {node.name for node in ast.parse(RUBRIC.read_text(encoding="utf-8")).body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
EXPECTED = {
    "perfect": 36.0,
    "a02-bias-not-summed": 15.0,
    "a02-first-layer-input": 28.0,
    "a02-relu-grad-sign": 31.0,
    "a02-train-extra-epoch": 32.0,
    "a02-hardcoded": 0.0,
}
FAILED = {
    "perfect": set(),
    # Neuron.backward: self.db = dldy (not summed over the batch); one example still passes,
    # every batch gradient of a bias and every training that updates a bias goes wrong; the
    # per-example biases (shape (k, 10)) memorise the training points, which the fit tests see in
    # the parameters' shapes
    "a02-bias-not-summed": {
        "test_neuron_batch_db",
        "test_train_neuron_one_full_batch_step",
        "test_train_neuron_minibatches_in_order",
        "test_train_neuron_recovers_coef",
        "test_train_neuron_other_data",
        "test_layer_db",
        "test_train_layer_recovers_coef",
        "test_train_layer_two_targets",
        "test_network_first_layer_gradients",
        "test_network_second_layer_gradients",
        "test_train_network_records_epochs",
        "test_train_network_trajectory",
        "test_linear_network_stays_linear",
        "test_linear_network_fits_best_line",
        "test_relu_network_gradients",
        "test_relu_network_fits_parabola",
    },
    # NeuralNetwork.backward: layer2.backward(inputs, ...) gets the network's (first layer's)
    # input instead of its own input, the hidden activations (the seminar's bug); training is then
    # not gradient descent, even where the linear network still ends near the best line
    "a02-first-layer-input": {
        "test_network_second_layer_gradients",
        "test_train_network_records_epochs",
        "test_train_network_trajectory",
        "test_linear_network_fits_best_line",
        "test_relu_network_gradients",
        "test_relu_network_fits_parabola",
    },
    # train_network: one epoch more than asked (range(1, epochs + 2)); the recorded predictions are
    # right, the network it leaves is not (where training has not converged yet)
    "a02-train-extra-epoch": {
        "test_train_network_records_epochs",
        "test_train_network_trajectory",
        "test_relu_network_fits_parabola",
    },
    # implements nothing: the seminar's printed values for the seminar's inputs, zeros elsewhere,
    # least squares for train_neuron/train_layer, a fitted line or parabola written into the
    # network's weights by hand for train_network
    "a02-hardcoded": ALL_TESTS,
    # ReLU.backward: dldy * (dldy > 0), the derivative from the incoming gradient's sign
    "a02-relu-grad-sign": {
        "test_relu_backward",
        "test_relu_network_gradients",
        "test_relu_network_fits_parabola",
    },
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])
