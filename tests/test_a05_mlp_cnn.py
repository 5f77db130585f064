"""a05 as it is really run: the self-check of the weights file, and "Run All" of the released
notebook with torch and without torchvision (nbclient honours skip-execution; Jupyter and Colab do
not, so the notebook must also run through ``make_loaders`` and the training there)."""
from __future__ import annotations

import copy
import pickle
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.selfcheck import format_table, run_check
from autograder.core.course import Course
from autograder.core.datasets import DOWNLOAD_ROOT, FOLDER
from autograder.sandbox.submission import Submission

pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # each test runs a05's rubric (torch) in this process or grades a notebook

ROOT = Path(__file__).resolve().parent.parent
AID = "a05_mlp_cnn"
METRICS = "4. Метрики на CIFAR-10"
WEIGHTS = "a05_cifar_model.pt"


@pytest.fixture(scope="module")
def kernel():
    """What a kernel that ran the solution holds: its definitions and ``In``."""
    nb = nbformat.read(ROOT / "solutions" / f"{AID}.ipynb", as_version=4)
    namespace = dict(Submission.from_notebook(nb)._module.__dict__)
    namespace["In"] = [""] + [c.source for c in nb.cells if c.cell_type == "code"]
    return namespace


def _check(kernel, folder: Path, monkeypatch) -> tuple[dict, str]:
    """The self-check of task 4's metrics run beside the notebook in ``folder``: ({test: record}, table)."""
    monkeypatch.chdir(folder)
    records = run_check(kernel, task=METRICS, assignment=AID, course=Course(ROOT))
    return {r["name"]: r for r in records}, format_table(records)


def _weights_line(records: dict, table: str) -> str:
    """The weights test failed with a one-line message, said once in the table."""
    weights = records["test_weights_file_loads_into_model"]
    assert weights["status"] == "failed" and "\n" not in weights["output"].strip(), weights
    assert table.count(weights["output"].split(":")[0]) == 1, table
    for name in ("test_cifar_accuracy", "test_cifar_mean_precision", "test_cifar_mean_recall"):
        assert records[name]["status"] == "failed" and records[name]["score"] == 0
        assert records[name]["output"].startswith("не посчитано: нет файла весов"), records[name]
    return weights["output"]


def test_self_check_says_the_weights_file_is_missing(kernel, tmp_path, monkeypatch):
    line = _weights_line(*_check(kernel, tmp_path, monkeypatch))
    assert f"файл {WEIGHTS} не найден" in line and "torch.save(model.state_dict(), WEIGHTS_PATH)" in line


def test_self_check_says_the_weights_file_is_too_large(kernel, tmp_path, monkeypatch):
    with open(tmp_path / WEIGHTS, "wb") as f:
        f.truncate(51 * 2**20)  # over the grader's 50 MB
    line = _weights_line(*_check(kernel, tmp_path, monkeypatch))
    assert f"файл {WEIGHTS} слишком большой: допускается не больше 50 МБ" in line


def test_self_check_says_the_weights_do_not_fit_the_model(kernel, tmp_path, monkeypatch):
    import torch

    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / WEIGHTS)  # another architecture's
    line = _weights_line(*_check(kernel, tmp_path, monkeypatch))
    assert f"веса из {WEIGHTS} не подходят к Model()" in line and "Missing key(s)" in line


def test_self_check_reports_the_metrics_and_on_which_data(kernel, tmp_path, monkeypatch):
    """With the weights beside the notebook: on the stand-in from the course, or on the test set the
    notebook downloaded (``datasets/cifar10``), and the table says which."""
    shutil.copy(ROOT / "solutions" / WEIGHTS, tmp_path / WEIGHTS)
    records, table = _check(kernel, tmp_path, monkeypatch)
    assert all(r["status"] == "passed" for r in records.values()), table
    assert "accuracy 0.8960 на учебной замене CIFAR-10 (500 синтетических изображений" in table, table
    # a "real" test set where make_loaders keeps it: the stand-in's images, relabelled as CIFAR-10's
    real = tmp_path / DOWNLOAD_ROOT / FOLDER
    shutil.copytree(ROOT / "data" / FOLDER, real)
    batch = pickle.loads((real / "test_batch").read_bytes(), encoding="bytes")
    batch["batch_label"] = "testing batch 1 of 1"
    (real / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    records, table = _check(kernel, tmp_path, monkeypatch)
    assert "accuracy 0.8960 на тестовой части CIFAR-10 (500 изображений)" in table, table


# ---- "Run All" without torchvision ------------------------------------------------------------

def _no_torchvision(tmp_path: Path, monkeypatch) -> None:
    """Kernels started from now on cannot import torchvision, installed or not."""
    blocker = tmp_path / "blocker" / "torchvision"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("torchvision is blocked for this test")\n')
    monkeypatch.setenv("PYTHONPATH", str(blocker.parent))


def _run_all(nb, folder: Path, jupyter: bool) -> nbformat.NotebookNode:
    """Run All as nbclient does (skip-execution cells skipped), or as Jupyter and Colab do
    (``jupyter``: every cell runs); both stop at the first cell that raises."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(folder)}},
                            skip_cells_with_tag="no-such-tag" if jupyter else "skip-execution")
    client.execute()
    return nb


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _released():
    return nbformat.read(ROOT / "assignments" / f"{AID}.ipynb", as_version=4)


def _solved(nb):
    solution = {c.id: c.source for c in nbformat.read(ROOT / "solutions" / f"{AID}.ipynb", as_version=4).cells}
    nb = copy.deepcopy(nb)
    for c in nb.cells:
        c.source = solution.get(c.get("id"), c.source)
    return nb


def test_run_all_of_the_released_notebook_without_torchvision(tmp_path, monkeypatch):
    _no_torchvision(tmp_path, monkeypatch)
    # nbclient: the tagged cells are skipped; every check cell runs, no cell raises
    nb = _run_all(_released(), tmp_path, jupyter=False)
    cells = {c.id: c for c in nb.cells}
    assert all(cells[i].outputs == [] for i in ("a05_mlp_cnn-c26", "a05_mlp_cnn-c33"))
    checks = [c for c in nb.cells if c.metadata.get("autograder", {}).get("generated") == "check"]
    assert checks and all("Итого по открытым тестам" in _text(c) for c in checks)
    # Jupyter/Colab: make_loaders runs (data set beside the notebook, so no download) and the
    # unfinished training cells are stepped over
    (tmp_path / DOWNLOAD_ROOT).mkdir(parents=True)
    shutil.copytree(ROOT / "data" / FOLDER, tmp_path / DOWNLOAD_ROOT / FOLDER)
    nb = _run_all(_released(), tmp_path, jupyter=True)
    cells = {c.id: c for c in nb.cells}
    assert cells["a05_mlp_cnn-c26"].execution_count is not None and not cells["a05_mlp_cnn-c26"].outputs
    assert "Задание ещё не выполнено: Model.__init__" in _text(cells["a05_mlp_cnn-c33"])


def test_run_all_of_the_solved_notebook_trains_and_its_weights_pass_the_self_check(tmp_path, monkeypatch):
    """Jupyter's Run All of the released notebook with the solution filled in, without torchvision:
    the loaders, 20 epochs on the stand-in, the weights saved, and the last check cell finds them."""
    _no_torchvision(tmp_path, monkeypatch)
    (tmp_path / DOWNLOAD_ROOT).mkdir(parents=True)
    shutil.copytree(ROOT / "data" / FOLDER, tmp_path / DOWNLOAD_ROOT / FOLDER)
    nb = _run_all(_solved(_released()), tmp_path, jupyter=True)
    cells = {c.id: c for c in nb.cells}
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert "Epoch 19 |" in _text(cells["a05_mlp_cnn-c33"]) and (tmp_path / WEIGHTS).is_file()
    assert "Overall accuracy" in _text(cells["a05_mlp_cnn-c38"])
    last = nb.cells[-1]
    assert last.source.startswith(f'check("{METRICS}")'), last.source
    assert "✔ 0/0 Файл весов" in _text(last) and "на учебной замене CIFAR-10" in _text(last), _text(last)


# ---- grading with the instructor's data set -----------------------------------------------------

def test_grade_with_data_scores_task_4_on_that_data_set(tmp_path, capsys):
    """``autograder grade CLASS --data DIR``: the metrics are computed on DIR/cifar-10-batches-py
    (here a stand-in of 250 test images of another seed, told apart from the course's 500), the
    training cells are not run."""
    import json

    from autograder.cli import main
    from autograder.core.datasets import make_synthetic_cifar10

    data = tmp_path / "instructor-data"
    make_synthetic_cifar10(data, per_batch=10, n_test=250, seed=7)
    student = tmp_path / "class" / "ann"
    student.mkdir(parents=True)
    for name in (f"{AID}.ipynb", WEIGHTS):
        shutil.copy(ROOT / "demo" / "class" / "perfect" / name, student / name)
    out = tmp_path / "out"
    assert main(["--course", str(ROOT), "grade", str(tmp_path / "class"), "--data", str(data), "--out", str(out)]) == 0
    result = json.loads((out / "ann" / AID / "result.json").read_text(encoding="utf-8"))
    tests = {t["name"]: t for t in result["tests"]}
    assert result["score"] == result["max_score"] == 10.0, result["tests"]
    assert "на учебной замене CIFAR-10 (250 синтетических изображений" in tests["test_cifar_accuracy"]["output"]
    assert len(result["execution"]["skipped"]) == 4 and result["execution"]["errors"] == []
