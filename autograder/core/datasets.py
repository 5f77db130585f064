"""CIFAR-10 in its standard ``cifar-10-batches-py`` format: a safe reader and a small generator.

The real data set (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 python version") is a
folder ``cifar-10-batches-py`` with ``data_batch_1`` ... ``data_batch_5``, ``test_batch`` and
``batches.meta``.  Each batch is a pickled dict: ``data`` (uint8 array of shape (N, 3072): the
1024 red, then green, then blue values of a 32x32 image, row by row), ``labels`` (N ints in
0..9), ``batch_label`` and ``filenames``.

Reading.  Pickle can run arbitrary code, so batches are read with a restricted unpickler that
resolves only the few globals numpy needs to rebuild an array (``_reconstruct``, ``ndarray``,
``dtype``, and ``_codecs.encode`` that Python 3 uses for bytes in protocol 2); any other global
in the file is refused with ``pickle.UnpicklingError``.  The data folder is the instructor's
(``autograder grade --data DIR``), never a student's, but the reader is safe either way.

Getting the real one.  ``cifar10_folder(root)`` is what the a05 notebook's ``make_loaders`` calls on
the student's machine: the data set already in ``root`` (torchvision's layout,
``root/cifar-10-batches-py``), else the official archive downloaded there (170 MB, MD5 checked, only
the batch files extracted), else, without internet, the course's stand-in with a message saying so
(``standin_cifar10``).  No torchvision needed.

Generating.  ``make_synthetic_cifar10`` writes a small *learnable* stand-in in the same format
(10 classes of coloured oriented stripes and blobs with noise, random shifts and contrast), so
tests and CI grade the CIFAR task without the 170 MB download:

    python -m autograder.datasets make-cifar data        # writes data/cifar-10-batches-py
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
#: the official archive of the python version and its MD5 (the one torchvision checks)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
#: where the a05 notebook keeps the data set, relative to the notebook's folder (``make_loaders``'s
#: default root; the self-check looks there for the real test set)
DOWNLOAD_ROOT = "datasets/cifar10"
#: what ``make_synthetic_cifar10`` writes into every batch's ``batch_label`` (how the stand-in is told apart)
SYNTHETIC = "synthetic"
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _numpy_reconstruct():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


def _codecs_encode(obj, encoding="utf-8", errors="strict"):
    import codecs

    return codecs.encode(obj, encoding, errors)


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and builtin containers and refuses anything else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        ("_codecs", "encode"): lambda: _codecs_encode,
    }

    def find_class(self, module, name):
        factory = self._ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: a CIFAR batch holds only numpy arrays and builtins")
        return factory()


def _key(d: dict, name: str):
    """d[name] whether the pickle stored str keys or (Python 2 via encoding='bytes') bytes keys."""
    if name in d:
        return d[name]
    return d[name.encode()]


def _read_batch(path: str | Path) -> dict:
    """One CIFAR batch file as its dict (numpy arrays and builtins only)."""
    raw = Path(path).read_bytes()
    d = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    if not isinstance(d, dict):
        raise ValueError(f"{path}: not a CIFAR batch (a dict was expected)")
    return d


def load_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch file.

    Returns (data, labels): data uint8 array of shape (N, 3072), labels int64 array of shape (N,).
    """
    d = _read_batch(path)
    data = np.asarray(_key(d, "data"), dtype=np.uint8)
    labels = np.asarray(_key(d, "labels"), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f"{path}: unexpected shapes data {data.shape}, labels {labels.shape}")
    return data, labels


def find_cifar10(data_dir: str | Path | None) -> Path | None:
    """The ``cifar-10-batches-py`` folder: data_dir itself or its child of that name, else None."""
    if data_dir is None:
        return None
    data_dir = Path(data_dir)
    for cand in (data_dir / FOLDER, data_dir):
        if (cand / TEST_BATCH).is_file():
            return cand
    return None


def load_cifar10(folder: str | Path, train: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Images as ``torchvision.transforms.ToTensor()`` gives them, and labels.

    folder: a ``cifar-10-batches-py`` folder (or the folder containing it).
    Returns (X, y): X float32 array of shape (N, 3, 32, 32) with values in [0, 1],
    y int64 array of shape (N,).
    """
    found = find_cifar10(folder) or Path(folder)
    names = TRAIN_BATCHES if train else (TEST_BATCH,)
    parts = [load_batch(found / n) for n in names if (found / n).is_file()]
    if not parts:
        raise FileNotFoundError(f"no CIFAR-10 batches {names} in {found}")
    data = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels


def is_standin(folder: str | Path) -> bool:
    """Whether a ``cifar-10-batches-py`` folder holds the synthetic stand-in (its test batch's
    ``batch_label`` says ``synthetic``), not the real CIFAR-10."""
    found = find_cifar10(folder) or Path(folder)
    label = _key(_read_batch(found / TEST_BATCH), "batch_label")
    if isinstance(label, bytes):
        label = label.decode("latin-1")
    return str(label).startswith(SYNTHETIC)


# --------------------------------------------------------------------------- the real data set

def download_cifar10(root: str | Path, url: str = CIFAR10_URL, md5: str | None = CIFAR10_MD5,
                     timeout: float = 60) -> Path:
    """Download the CIFAR-10 archive into ``root``, check its MD5, extract ``cifar-10-batches-py``.

    Only regular files directly inside ``cifar-10-batches-py/`` are extracted (no links, no other
    paths); the archive is removed afterwards.  Returns the folder.  Raises ``OSError`` (no
    network, a bad download) or ``ValueError`` (a wrong checksum, not the archive expected).
    """
    import urllib.request

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    archive = root / "cifar-10-python.tar.gz.part"
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if md5 is not None and digest.hexdigest() != md5:
            raise ValueError(f"{url}: MD5 {digest.hexdigest()}, expected {md5} (a broken download?)")
        folder = root / FOLDER
        folder.mkdir(exist_ok=True)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:
                    parent, _, name = member.name.rpartition("/")
                    if member.isfile() and parent.lstrip("./") == FOLDER and name and not name.startswith("."):
                        with tar.extractfile(member) as src, open(folder / name, "wb") as dst:
                            dst.write(src.read())
        except tarfile.TarError as exc:
            raise ValueError(f"{url}: not a CIFAR-10 archive ({exc})") from None
        if find_cifar10(folder) is None:
            raise ValueError(f"{url}: the archive has no {FOLDER}/{TEST_BATCH}")
        return folder
    finally:
        archive.unlink(missing_ok=True)


def standin_cifar10() -> Path:
    """The course's synthetic stand-in: ``<course>/data/cifar-10-batches-py`` (the repository's
    ``data/``, a student bundle's ``autograder/_course/data/``) when that is the stand-in, else the
    same files written by ``make_synthetic_cifar10`` into ``~/.cache/autograder`` (half a second)."""
    from .course import Course, CourseNotFound

    try:
        found = find_cifar10(Course.locate().data_dir())
    except CourseNotFound:
        found = None
    if found is not None and is_standin(found):
        return found
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autograder"
    return find_cifar10(cache) or make_synthetic_cifar10(cache)


#: what ``cifar10_folder`` prints when it falls back to the stand-in (student-facing: Russian, then English)
STANDIN_MESSAGE = (
    "CIFAR-10 не удалось скачать ({why}). Использую учебную замену из пакета курса: {folder} — "
    "маленький синтетический набор того же формата. На нём можно проверить, что код работает, но "
    "веса для сдачи обучите на настоящем CIFAR-10 (в Colab он скачивается сам; или положите папку "
    "cifar-10-batches-py в {root}).\n"
    "CIFAR-10 could not be downloaded ({why}); using the course's small synthetic stand-in {folder}. "
    "Train the weights you hand in on the real CIFAR-10.")


def cifar10_folder(root: str | Path = DOWNLOAD_ROOT, download: bool = True, url: str = CIFAR10_URL,
                   md5: str | None = CIFAR10_MD5) -> Path:
    """The ``cifar-10-batches-py`` folder the a05 notebook trains on.

    The real data set in ``root`` (torchvision's layout: ``root/cifar-10-batches-py``), downloaded
    there when missing and ``download`` (Colab, any machine with internet); where that fails, the
    course's stand-in (``standin_cifar10``), with a message that says so.
    """
    found = find_cifar10(Path(root))
    if found is not None:
        return found
    why = "download=False"
    if download:
        print(f"Скачиваю CIFAR-10 (170 МБ) в {root} / downloading CIFAR-10 into {root} ...", flush=True)
        try:
            return download_cifar10(root, url, md5)
        except (OSError, ValueError) as exc:
            why = " ".join(str(exc).split())[:200] or type(exc).__name__
    folder = standin_cifar10()
    print(STANDIN_MESSAGE.format(why=why, folder=folder, root=root), flush=True)
    return folder


# --------------------------------------------------------------------------- synthetic data

def _class_images(label: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n images (n, 3, 32, 32) in [0, 1] of one synthetic class: stripes + a blob + noise."""
    angle = np.pi * (label % 5) / 5                      # 5 stripe orientations
    freq = 0.35 if label < 5 else 0.75                   # 2 stripe frequencies
    base = np.array([[0.8, 0.3, 0.2], [0.2, 0.7, 0.3], [0.25, 0.35, 0.85], [0.75, 0.7, 0.2],
                     [0.6, 0.25, 0.7], [0.3, 0.7, 0.75], [0.85, 0.5, 0.3], [0.45, 0.45, 0.45],
                     [0.3, 0.5, 0.3], [0.65, 0.4, 0.55]])[label]
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float64)
    out = np.empty((n, 3, 32, 32))
    for i in range(n):
        a = angle + rng.normal(0, 0.25)
        phase = rng.uniform(0, 2 * np.pi)
        stripes = np.sin(freq * (np.cos(a) * xx + np.sin(a) * yy) + phase)
        cy, cx = rng.uniform(6, 26, size=2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(3, 6) ** 2))
        color = np.clip(base + rng.normal(0, 0.2, 3), 0, 1)
        contrast = rng.uniform(0.06, 0.2)
        img = color[:, None, None] + contrast * stripes[None] + 0.25 * blob[None] * rng.choice([-1, 1])
        img += rng.normal(0, 0.2, (3, 32, 32))
        out[i] = img
    return np.clip(out, 0, 1)


def make_synthetic_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n synthetic images as CIFAR rows: (data uint8 (n, 3072), labels int64 (n,))."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    data = np.empty((n, 3, 32, 32), dtype=np.uint8)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        data[idx] = np.round(_class_images(c, len(idx), rng) * 255).astype(np.uint8)
    return data.reshape(n, 3072), labels.astype(np.int64)


def _write_pickle(path: Path, obj) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def make_synthetic_cifar10(root: str | Path, per_batch: int = 100, n_test: int = 500,
                           seed: int = 0) -> Path:
    """Write a small synthetic data set as ``root/cifar-10-batches-py`` (the real file layout).

    per_batch: images in each of the 5 training batches; n_test: images in ``test_batch``.
    Returns the folder written.  Deterministic for a given seed.
    """
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(name, per_batch, seed + i) for i, name in enumerate(TRAIN_BATCHES)]
    batches.append((TEST_BATCH, n_test, seed + 100))
    for name, n, s in batches:
        data, labels = make_synthetic_arrays(n, s)
        label = "testing batch 1 of 1" if name == TEST_BATCH else f"training batch {name[-1]} of 5"
        _write_pickle(folder / name, {
            "batch_label": f"synthetic {label}",
            "labels": [int(v) for v in labels],
            "data": data,
            "filenames": [f"synthetic_{name}_{i:05d}.png" for i in range(n)],
        })
    _write_pickle(folder / META, {"num_cases_per_batch": per_batch, "label_names": LABEL_NAMES,
                                  "num_vis": 3072})
    (folder / "readme.html").write_text(
        "<p>Synthetic stand-in for CIFAR-10 in the same file format, written by "
        "<code>python -m autograder.datasets make-cifar</code>; not the real data set.</p>\n",
        encoding="utf-8")
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.datasets")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make-cifar", help="write a small synthetic cifar-10-batches-py into DIR")
    m.add_argument("dir")
    m.add_argument("--per-batch", type=int, default=100)
    m.add_argument("--test", type=int, default=500)
    m.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    folder = make_synthetic_cifar10(args.dir, args.per_batch, args.test, args.seed)
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
