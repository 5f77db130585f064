"""Demo class for a05_mlp_cnn: each buggy student loses exactly the tests their bug should cost.

Task 4 (PyTorch, 3 points) is graded from the weights file beside each demo notebook on the
synthetic CIFAR-10 in ``data/cifar-10-batches-py``; without the optional extra ``torch`` its
tests are skipped (and not counted in max_score).
"""
import importlib.util

import nbformat
import pytest

pytestmark = pytest.mark.slow

ASSIGNMENT = "a05_mlp_cnn"
HAS_TORCH = importlib.util.find_spec("torch") is not None
TORCH_TESTS = {
    "test_model_outputs_probabilities", "test_calculate_loss", "test_gradients_reach_all_parameters",
    "test_train_updates_and_saves", "test_weights_file_loads_into_model", "test_cifar_accuracy",
    "test_cifar_mean_precision", "test_cifar_mean_recall",
}
MAX_SCORE = 10.0 if HAS_TORCH else 7.0
#: every test of the rubric that carries points (the hardcoding student must lose them all; the
#: 0-point weights-file check is asserted below)
ALL_TESTS = {
    "test_linear_init",
    "test_linear_forward",
    "test_linear_backward_input",
    "test_linear_backward_params",
    "test_linear_update",
    "test_relu_forward_values",
    "test_relu_backward",
    "test_softmax_forward",
    "test_softmax_backward",
    "test_softmax_stable",
    "test_mlp_predict_proba",
    "test_mlp_predict",
    "test_mlp_fit_lowers_loss",
    "test_mlp_fit_does_not_mutate",
    "test_mlp_fit_one_full_batch_step",
    "test_moons_accuracy",
    "test_blobs_accuracy",
    "test_model_outputs_probabilities",
    "test_calculate_loss",
    "test_gradients_reach_all_parameters",
    "test_train_updates_and_saves",
    "test_cifar_accuracy",
    "test_cifar_mean_precision",
    "test_cifar_mean_recall",
}
FAILED = {
    "perfect": set(),
    # Linear.backward: self.db = d (no sum over the batch): b -= alpha*db cannot broadcast, so every
    # batch update (and the training of tasks 2 and 3) fails; a single vector still works
    "a05-db-not-summed": {"test_linear_backward_params", "test_linear_update", "test_mlp_fit_lowers_loss",
                          "test_mlp_fit_does_not_mutate", "test_mlp_fit_one_full_batch_step",
                          "test_moons_accuracy", "test_blobs_accuracy"},
    # calculate_loss sums the cross-entropy over the batch instead of averaging it
    "a05-ce-no-mean": {"test_calculate_loss"},
    # Model ends with Linear (logits), calculate_loss uses F.cross_entropy: argmax and metrics are fine
    "a05-logits": {"test_model_outputs_probabilities", "test_calculate_loss"},
    # implements nothing: zeros, uniform probabilities, the notebook's printed softmax example,
    # hand-written classifiers (the seminar's rule, the nearest blob center, the nearer moon) and
    # a fit that does nothing, a constant CNN and loss, no weights file
    "a05-hardcoded": ALL_TESTS,
}
if not HAS_TORCH:
    FAILED = {student: failed - TORCH_TESTS for student, failed in FAILED.items()}
EXPECTED = {"perfect": MAX_SCORE, "a05-db-not-summed": MAX_SCORE - 4.0,
            "a05-ce-no-mean": MAX_SCORE - (0.5 if HAS_TORCH else 0.0),
            "a05-logits": MAX_SCORE - (1.0 if HAS_TORCH else 0.0), "a05-hardcoded": 0.0}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_demo_student_loses_exactly_its_bug(check_demo_student, student):
    check_demo_student(student, ASSIGNMENT, MAX_SCORE, EXPECTED[student], FAILED[student])


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed: task 4 is graded")
def test_demo_torch_tests_skipped_without_torch(demo_results):
    result = demo_results[("perfect", ASSIGNMENT)]
    skipped = {t["name"]: t["output"] for t in result["tests"] if t["status"] == "skipped"}
    assert set(skipped) == TORCH_TESTS, result["tests"]
    assert all("установите дополнительную зависимость torch" in why for why in skipped.values()), skipped


@pytest.mark.skipif(not HAS_TORCH, reason="the notebook imports torch")
def test_no_training_cell_runs_at_grading_and_the_feedback_shows_no_error(demo_results):
    """Graded with the data set (``data/``) and every library the notebook uses present: the cells
    tagged skip-execution (the loaders, the 20-epoch training, its plot, the metrics on the test
    loader) did not run, every other code cell did, and the perfect student's page has no error."""
    from autograder.classroom.reports import feedback_html

    result = demo_results[("perfect", ASSIGNMENT)]
    assert result["errors"] == [] and result["execution"]["errors"] == [] and result["import_errors"] == []
    executed = nbformat.read(demo_results["out"] / "perfect" / ASSIGNMENT / "executed.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    skipped = [c for c in code if "skip-execution" in c.metadata.get("tags", [])]
    assert [c.id for c in skipped] == ["a05_mlp_cnn-c26", "a05_mlp_cnn-c33", "a05_mlp_cnn-c35", "a05_mlp_cnn-c38"]
    assert all(c.outputs == [] and c.execution_count is None for c in skipped)
    assert all(c.execution_count is not None for c in code if c not in skipped)
    assert [s.split(" («")[0] for s in result["execution"]["skipped"]] == \
        ["ячейка 26", "ячейка 33", "ячейка 35", "ячейка 38"]
    page = feedback_html(result)
    assert 'id="problems"' not in page and "skip-execution" in page.split('id="notices"', 1)[1]


@pytest.mark.skipif(not HAS_TORCH, reason="task 4 needs torch")
def test_the_weights_file_check_fails_only_without_a_fitting_file(demo_results):
    """The 0-point weights-file check: passed by every student who handed weights in, failed (one
    line) by the hardcoding student, who handed none."""
    for student in EXPECTED:
        check = {t["name"]: t for t in demo_results[(student, ASSIGNMENT)]["tests"]}["test_weights_file_loads_into_model"]
        if student == "a05-hardcoded":
            assert check["status"] == "failed" and "не найден" in check["output"] and "\n" not in check["output"]
        else:
            assert check["status"] == "passed", (student, check)
