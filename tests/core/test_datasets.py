"""CIFAR-10 without torchvision: the download the a05 notebook does, its fallback to the stand-in,
and telling the stand-in from the real data set (all offline: the "download" is a file:// URL)."""
from __future__ import annotations

import filecmp
import hashlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from autograder.core.datasets import (FOLDER, cifar10_folder, download_cifar10, find_cifar10, is_standin,
                                      load_cifar10, standin_cifar10)

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "data" / FOLDER


def _archive(tmp_path: Path, hostile: bool = False) -> tuple[str, str]:
    """The stand-in packed as the official archive is (``cifar-10-batches-py/<file>``): (URL, MD5).
    hostile: also a member outside the folder, a link and a hidden file (none may be extracted)."""
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for f in sorted(STANDIN.iterdir()):
            tar.add(f, arcname=f"{FOLDER}/{f.name}")
        if hostile:
            for name, data in (("../escaped", b"x"), (f"{FOLDER}/.hidden", b"x"), (f"{FOLDER}/sub/deep", b"x")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo(f"{FOLDER}/link")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
    return path.as_uri(), hashlib.md5(path.read_bytes()).hexdigest()


def test_download_extracts_the_batches_and_only_them(tmp_path):
    url, md5 = _archive(tmp_path, hostile=True)
    folder = download_cifar10(tmp_path / "datasets" / "cifar10", url, md5)
    assert folder == tmp_path / "datasets" / "cifar10" / FOLDER
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in STANDIN.iterdir())
    assert all(filecmp.cmp(folder / p.name, p, shallow=False) for p in STANDIN.iterdir())
    assert not (tmp_path / "datasets" / "escaped").exists() and not list(tmp_path.rglob("*.part"))
    X, y = load_cifar10(folder, train=True)
    assert X.shape == (500, 3, 32, 32) and X.dtype == np.float32 and y.shape == (500,)


def test_a_download_with_the_wrong_checksum_is_refused_and_removed(tmp_path):
    url, _ = _archive(tmp_path)
    with pytest.raises(ValueError, match="MD5"):
        download_cifar10(tmp_path / "root", url, "0" * 32)
    assert list((tmp_path / "root").iterdir()) == []


def test_the_notebook_gets_the_data_set_in_its_folder_or_downloads_it(tmp_path, capsys):
    url, md5 = _archive(tmp_path)
    root = tmp_path / "datasets" / "cifar10"
    assert cifar10_folder(root, url=url, md5=md5) == root / FOLDER
    assert "Скачиваю CIFAR-10" in capsys.readouterr().out
    assert cifar10_folder(root, url="file:///nowhere/at/all.tar.gz") == root / FOLDER  # there: no download
    assert capsys.readouterr().out == ""


def test_without_internet_the_notebook_falls_back_to_the_stand_in_and_says_so(tmp_path, capsys):
    folder = cifar10_folder(tmp_path / "datasets" / "cifar10", url="file:///nowhere/at/all.tar.gz")
    assert folder == STANDIN
    out = capsys.readouterr().out
    assert "учебную замену" in out and "synthetic stand-in" in out and str(STANDIN) in out
    assert cifar10_folder(tmp_path / "other", download=False) == STANDIN


def test_the_stand_in_is_told_apart_from_the_real_data_set(tmp_path):
    assert is_standin(STANDIN) and is_standin(STANDIN.parent)
    real = tmp_path / FOLDER
    real.mkdir()
    batch = {b"batch_label": b"testing batch 1 of 1", b"labels": [0, 1], b"data": np.zeros((2, 3072), np.uint8),
             b"filenames": [b"a.png", b"b.png"]}
    (real / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    assert find_cifar10(tmp_path) == real and not is_standin(real)


def test_the_stand_in_is_written_where_no_course_ships_it(tmp_path, monkeypatch):
    bare = tmp_path / "course"
    (bare / "tests" / "grading").mkdir(parents=True)  # a course without data/
    monkeypatch.setenv("AUTOGRADER_COURSE", str(bare))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = standin_cifar10()
    assert folder == tmp_path / "cache" / "autograder" / FOLDER
    assert all(filecmp.cmp(folder / p.name, p, shallow=False) for p in STANDIN.iterdir())
    monkeypatch.setenv("AUTOGRADER_COURSE", str(ROOT))
    assert standin_cifar10() == STANDIN
