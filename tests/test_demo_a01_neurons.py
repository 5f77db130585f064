"""Demo class for a01_neurons: each buggy student loses exactly the tests their bug should cost."""
import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a01_neurons"
MAX_SCORE = 42.0
RUBRIC = Path(__file__).resolve().parent / "grading" / f"{ASSIGNMENT}.py"
ALL_TESTS = {node.name for node in ast.parse(RUBRIC.read_text(encoding="utf-8")).body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
EXPECTED = {
    "perfect": 42.0,
    "a01-broadcasting": 35.0,
    "a01-softmax-overflow": 40.0,
    "a01-bias-grad-not-summed": 36.0,
    "a01-fit-linear-reshape": 40.0,
    "a01-hardcoded": 0.0,
}
FAILED = {
    "perfect": set(),
    # MSELoss without reshaping y_true: (N, 1) - (N,) broadcasts to (N, N)
    "a01-broadcasting": {
        "test_mse_reference_value",
        "test_mse_prediction_column_vs_target_vector",
        "test_mse_backward_batch",
        "test_fit_neuron_batch_converges",
    },
    # softmax without subtracting the row maximum: nan on inputs around 1000 (hidden test)
    "a01-softmax-overflow": {"test_softmax_large_inputs"},
    # Linear.backward: dbiases = dvalues (not summed over the batch)
    "a01-bias-grad-not-summed": {
        "test_linear_backward_dbiases",
        "test_fit_linear_converges",
        "test_fit_network_x_squared",
    },
    # fit_linear: y.reshape(-1, 2) instead of (-1, 1): harmless for an even N, a crash for an odd one
    "a01-fit-linear-reshape": {"test_fit_linear_converges"},
    # implements nothing: the seminar's printed values for the seminar's inputs, zeros (or uniform
    # rows) elsewhere, zero-initialised layers, least squares with an invented loss curve for the
    # fit_* functions, a hand-written ReLU network for fit_network
    "a01-hardcoded": ALL_TESTS,
}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])
