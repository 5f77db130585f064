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

Generating.  ``make_synthetic_cifar10`` writes a small *learnable* stand-in in the same format
(10 classes of coloured oriented stripes and blobs with noise, random shifts and contrast), so
tests and CI grade the CIFAR task without the 170 MB download:

    python -m autograder.datasets make-cifar data        # writes data/cifar-10-batches-py
"""
from __future__ import annotations

import argparse
import io
import pickle
import sys
from pathlib import Path

import numpy as np

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
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


def load_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch file.

    Returns (data, labels): data uint8 array of shape (N, 3072), labels int64 array of shape (N,).
    """
    raw = Path(path).read_bytes()
    d = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    if not isinstance(d, dict):
        raise ValueError(f"{path}: not a CIFAR batch (a dict was expected)")
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
