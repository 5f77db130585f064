"""Demo class for a02_backprop: each buggy student loses exactly the tests their bug should cost."""
import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a02_backprop"
MAX_SCORE = 36.0
EXPECTED = {
    "perfect": 36.0,
    "a02-bias-not-summed": 18.0,
    "a02-first-layer-input": 29.0,
    "a02-relu-grad-sign": 31.0,
}
FAILED = {
    "perfect": set(),
    # Neuron.backward: self.db = dldy (not summed over the batch); one example still passes,
    # every batch gradient of a bias and every training that updates a bias goes wrong
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
        "test_linear_network_stays_linear",
        "test_relu_network_gradients",
    },
    # NeuralNetwork.backward: layer2.backward(inputs, ...) gets the network's (first layer's)
    # input instead of its own input, the hidden activations (the seminar's bug)
    "a02-first-layer-input": {
        "test_network_second_layer_gradients",
        "test_train_network_records_epochs",
        "test_relu_network_gradients",
        "test_relu_network_fits_parabola",
    },
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
