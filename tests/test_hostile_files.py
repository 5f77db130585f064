"""Hostile files: what a rubric reads from a submission, and the CSVs grading writes.

Unit tests of ``autograder.testing.files`` (a handed-in file by bare name, no links, size caps;
a checkpoint checked before ``torch.load``), then copies of the a05 solution graded end to end
with hostile ``WEIGHTS_PATH`` values and hostile weight files: each costs the three CIFAR tests
and nothing else, the grader survives, and the honest solution keeps full marks.
"""
from __future__ import annotations

import importlib.util
import io
import os
import shutil
import zipfile
import zlib
from pathlib import Path

import nbformat
import pytest

from autograder.testing.files import check_checkpoint, load_state_dict, read_submitted

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_WEIGHTS = ROOT / "solutions" / "a05_cifar_model.pt"
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs the optional extra torch")


def deflate_bomb(size_mb: int = 2047) -> bytes:
    """A ``torch.save`` file of ~2 MB whose tensor record inflates to ``size_mb`` MiB.

    Built without spending the memory or the time: a 1 MiB block of zeros compressed once and
    flushed to a byte boundary compresses to the same bytes every time, so the record is that
    piece repeated (zipfile still computes the CRC and the sizes over the whole stream)."""
    import torch

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf)
    src = zipfile.ZipFile(buf)
    block = bytes(2**20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece, final = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH), deflate.flush()

    class Repeat:
        def compress(self, data):
            return piece

        def flush(self):
            return final

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if not info.filename.endswith("/data/0"):
                dst.writestr(info, src.read(info))
                continue
            record = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            record.compress_type = zipfile.ZIP_DEFLATED
            original, zipfile._get_compressor = zipfile._get_compressor, lambda *a, **k: Repeat()
            try:
                with dst.open(record, "w") as fh:
                    for _ in range(size_mb):
                        fh.write(block)
            finally:
                zipfile._get_compressor = original
    return out.getvalue()


# --------------------------------------------------------------------------- submitted files

@pytest.fixture
def handed_in(tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"weights")
    return folder


def test_read_submitted_reads_a_handed_in_file(handed_in):
    assert read_submitted(handed_in, "model.pt") == b"weights"


@pytest.mark.parametrize("name", ["../model.pt", "/etc/shadow", "files/model.pt", "a\\model.pt", ".model.pt",
                                  "..", ".", "", "model\0.pt", 5, None, ["model.pt"]])
def test_read_submitted_refuses_what_is_not_a_bare_name(handed_in, name):
    """A path the student chose is never opened: not even its existence is looked at."""
    with pytest.raises(AssertionError, match="не имя файла"):
        read_submitted(handed_in, name)


def test_read_submitted_same_answer_for_existing_and_missing_host_files(handed_in):
    """No oracle of which host files exist."""
    messages = []
    for name in ("/etc/passwd", "/etc/no-such-file-7f3a"):
        with pytest.raises(AssertionError) as info:
            read_submitted(handed_in, name)
        messages.append(str(info.value).replace(name, "NAME"))
    assert messages[0] == messages[1]


def test_read_submitted_refuses_links_and_odd_files(handed_in, tmp_path):
    secret = tmp_path / "secret.pt"
    secret.write_bytes(b"instructor's weights")
    os.symlink(secret, handed_in / "link.pt")
    os.link(secret, handed_in / "hard.pt")
    (handed_in / "folder.pt").mkdir()
    os.mkfifo(handed_in / "fifo.pt")  # opening it must not block the grader
    with pytest.raises(AssertionError, match="ссылка"):
        read_submitted(handed_in, "link.pt")
    for name in ("hard.pt", "folder.pt", "fifo.pt"):
        with pytest.raises(AssertionError, match="не обычный файл"):
            read_submitted(handed_in, name)
    with pytest.raises(AssertionError, match="не найден"):
        read_submitted(handed_in, "missing.pt")
    with pytest.raises(AssertionError, match="не найден"):
        read_submitted(None, "model.pt")


def test_read_submitted_caps_the_size(handed_in):
    (handed_in / "big.pt").write_bytes(bytes(2 * 2**20 + 1))
    with pytest.raises(AssertionError, match="слишком большой"):
        read_submitted(handed_in, "big.pt", max_mb=2)
    assert len(read_submitted(handed_in, "big.pt", max_mb=3)) == 2 * 2**20 + 1


# --------------------------------------------------------------------------- checkpoints

def _saved(obj) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@needs_torch
def test_load_state_dict_of_the_solution_weights():
    import torch

    data = SOLUTION_WEIGHTS.read_bytes()
    state = load_state_dict(data)
    expected = torch.load(SOLUTION_WEIGHTS, map_location="cpu", weights_only=True)
    assert list(state) == list(expected)
    assert all(torch.equal(state[k], expected[k]) for k in expected)


@needs_torch
def test_deflate_bomb_is_refused_before_it_inflates():
    """2 MB on disk, 2 GiB once inflated: refused from the zip's directory alone."""
    import resource

    bomb = deflate_bomb()
    assert len(bomb) < 4 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(AssertionError, match="сжатые записи"):
        load_state_dict(bomb)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"the check itself grew the grader by {grown_mb:.0f} MB"


@needs_torch
def test_checkpoint_caps_entries_and_total_size():
    import torch

    many = _saved({f"w{i}": torch.zeros(1) for i in range(30)})
    with pytest.raises(AssertionError, match="записей"):
        check_checkpoint(many, max_entries=20)
    check_checkpoint(many, max_entries=100)
    big = _saved({"w": torch.zeros(2**19)})  # 2 MiB of float32, stored
    with pytest.raises(AssertionError, match="после распаковки"):
        check_checkpoint(big, max_mb=1)
    check_checkpoint(big, max_mb=3)


@needs_torch
def test_load_state_dict_refuses_what_is_not_a_state_dict():
    import torch

    with pytest.raises(AssertionError, match="zip"):
        load_state_dict(b"not a zip at all")
    with pytest.raises(AssertionError, match="не state_dict"):
        load_state_dict(_saved([torch.zeros(2)]))
    with pytest.raises(AssertionError, match="не тензоры"):
        load_state_dict(_saved({"w": torch.zeros(2), "config": {"lr": 0.1}}))
    with pytest.raises(AssertionError, match="не читается torch.load"):
        load_state_dict(_saved({"w": torch.nn.Linear(2, 2)}))  # a module: weights_only refuses it
    # 4 bytes of storage, 4 GiB once the grader turns it into an array (zero strides)
    with pytest.raises(AssertionError, match="тензоры state_dict занимают"):
        load_state_dict(_saved({"w": torch.zeros(1).expand(2**30)}))


# --------------------------------------------------------------------------- CSV injection

FORMULAS = ["=1+2<b>html", "+SUM(A1:A9)", "-2+3", "@cmd", "\t=1", "\r=1"]


def _csv_rows(text: str) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(text)))


def test_csv_cells_starting_a_formula_are_neutralised():
    """Student names (folder names) and comments reach gradebook.csv and grades.csv as text."""
    from autograder.classroom.results import grades_csv, write_gradebook

    results = [{"student": name, "assignment": "a01_neurons", "score": -0.5, "max_score": 2.0,
                "status": "graded", "adjustments": [{"comment": "=HYPERLINK(\"http://x\")"}],
                "tests": [{"name": "test_neuron", "score": 1.0, "max_score": 1.0}]} for name in FORMULAS]
    buf = io.StringIO()
    write_gradebook(results, buf)
    for text in (buf.getvalue(), grades_csv(results)):
        rows = _csv_rows(text)
        cells = [c for row in rows for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))], cells
        assert {row[0] for row in rows[1:]} == {"'" + name for name in FORMULAS}
        assert "-0.5" in rows[1], "a plain negative number stays a number"
    gradebook = _csv_rows(buf.getvalue())
    assert gradebook[1][gradebook[0].index("comment")] == "'=HYPERLINK(\"http://x\")"


# --------------------------------------------------------------------------- a05 graded end to end

CIFAR_TESTS = {"test_cifar_accuracy", "test_cifar_mean_precision", "test_cifar_mean_recall"}
#: where the instructor's weights are, as the student's code can compute it (the package is visible)
SOLUTIONS_PT = ("import os as _os, autograder as _ag\n"
                "_SOLUTION = _os.path.join(_os.path.dirname(_ag.__file__), '..', 'solutions', 'a05_cifar_model.pt')\n")

#: student -> (cells appended to the solution notebook, weights file beside it, words of the CIFAR message)
A05_ATTACKS = {
    # the protected WEIGHTS_PATH cell is restored, but a later cell may rebind the name: a class
    # attribute computed at import survives extraction
    "a05-weights-from-solutions": ([f"class _Where:\n    {SOLUTIONS_PT.replace(chr(10), chr(10) + '    ')}\n"
                                    "WEIGHTS_PATH = _Where._SOLUTION"], None, "не имя файла"),
    "a05-weights-etc-shadow": (['WEIGHTS_PATH = "/etc/shadow"'], None, "не имя файла"),
    # the notebook plants a link to the instructor's weights in its scratch folder while it runs
    "a05-planted-symlink": ([SOLUTIONS_PT + "try:\n    _os.symlink(_SOLUTION, 'a05_cifar_model.pt')\n"
                             "except OSError as exc:\n    print(exc)"], None, "не найден"),
    "a05-deflate-bomb": ([], "bomb", "сжатые записи"),
}


@pytest.fixture(scope="module")
def a05_results(tmp_path_factory, course):
    """The a05 solution with its weights, and each attack, graded in one batch."""
    from autograder.classroom.batch import grade_all
    from autograder.engine.grade import discover

    root = tmp_path_factory.mktemp("a05-class")
    solution = nbformat.read(ROOT / "solutions" / "a05_mlp_cnn.ipynb", as_version=4)
    bomb = deflate_bomb()
    for student, (cells, weights, _) in {"a05-honest": ([], "solution", ""), **A05_ATTACKS}.items():
        folder = root / student
        folder.mkdir()
        nb = nbformat.from_dict(solution)
        nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
        nbformat.write(nb, folder / "a05_mlp_cnn.ipynb")
        if weights == "solution":
            shutil.copy(SOLUTION_WEIGHTS, folder / "a05_cifar_model.pt")
        elif weights == "bomb":
            (folder / "a05_cifar_model.pt").write_bytes(bomb)
    out = tmp_path_factory.mktemp("a05-out")
    return {r["student"]: r for r in grade_all(discover([root]), course, out, jobs=2, progress=False)}


@pytest.mark.slow
@needs_torch
@pytest.mark.xdist_group("a05-hostile")  # one graded batch: with -n 2 --dist loadgroup, one worker grades it
def test_a05_honest_solution_keeps_full_marks(a05_results):
    result = a05_results["a05-honest"]
    assert result["status"] == "graded" and result["score"] == result["max_score"] == 10.0, result["tests"]


@pytest.mark.slow
@needs_torch
@pytest.mark.xdist_group("a05-hostile")
@pytest.mark.parametrize("student", sorted(A05_ATTACKS))
def test_a05_hostile_weights_cost_the_cifar_tests_only(a05_results, student):
    """The instructor's weights, a host file, a planted link or a bomb: the weights-file check fails
    with a message about the student's own file, the three CIFAR tests score 0 (not computed);
    every other test is unaffected."""
    result = a05_results[student]
    assert result["status"] == "graded", result["errors"]
    lost = {t["name"]: t["output"] for t in result["tests"] if t["score"] < t["max_score"]}
    assert set(lost) == CIFAR_TESTS, lost
    assert result["score"] == 10.0 - 1.5
    assert all(message.startswith("не посчитано: нет файла весов") for message in lost.values()), lost
    weights = {t["name"]: t for t in result["tests"]}["test_weights_file_loads_into_model"]
    assert weights["status"] == "failed" and A05_ATTACKS[student][2] in weights["output"], weights
    assert "root:" not in str(result), "a host file leaked into the result"
