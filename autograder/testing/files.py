"""Reading the files a student handed in beside the notebook (saved weights), safely.

A rubric never opens a path that came from student code.  It asks for a *bare file name*
(``"a05_cifar_model.pt"``) with the ``submitted_file`` fixture::

    def test_weights(submission, submitted_file):
        state = load_state_dict(submitted_file(submission.WEIGHTS_PATH))

The name is looked up in the folder of handed-in files: when grading, a grader-private copy of
the files beside the notebook taken before the notebook ran (the sandbox never sees it); in the
self-check, the kernel's current folder.  The file is opened without following links, must be a
regular file with one link, and is read only up to a size cap.  ``load_state_dict`` then checks
a PyTorch checkpoint (a zip archive) before ``torch.load`` sees it: stored records only (no
deflate bomb), a cap on the entry count and on the total size, every value a tensor of bounded
size.  Every refusal is an ``AssertionError`` with a message for the student: it fails that test.
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

MB = 2**20


def check_file_name(name) -> str:
    """``name`` if it is a bare file name (no folder, no ``..``, not hidden), else AssertionError."""
    bad = (not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".")
           or any(c in name for c in "/\\\0") or len(name) > 255)
    assert not bad, (
        f"{str(name)[:100]!r} — не имя файла: укажите только имя файла, который вы сдаёте рядом с ноутбуком "
        "(без папок, '..' и '/', например \"model.pt\")")
    return name


def read_submitted(folder: Path | None, name, *, max_mb: float = 50) -> bytes:
    """The bytes of the handed-in file ``name`` from ``folder`` (see the module's docstring).

    AssertionError (Russian, for the student) when ``name`` is not a bare file name, the file is
    missing, a link or not a regular file, or larger than ``max_mb`` megabytes.
    """
    from ..engine.intake import SYMLINK, Refused, read_regular

    name = check_file_name(name)
    missing = (f"файл {name} не найден среди файлов, сданных вместе с ноутбуком: положите его "
               "в ту же папку, что и ноутбук")
    assert folder is not None, missing
    try:
        return read_regular(Path(folder) / name, int(max_mb * MB))  # the one safe read (intake)
    except Refused as exc:
        if exc.reason == SYMLINK:
            raise AssertionError(f"{name} — символическая ссылка, а не файл: сдайте сам файл") from None
        if exc.reason.startswith("larger"):
            raise AssertionError(f"файл {name} слишком большой: допускается не больше {max_mb:g} МБ") from None
        raise AssertionError(f"{name} — не обычный файл (папка, ссылка или устройство): сдайте сам файл") from None
    except OSError:
        raise AssertionError(missing) from None


def check_checkpoint(data: bytes, *, max_mb: float = 200, max_entries: int = 10_000) -> None:
    """Refuse a PyTorch checkpoint that could expand in the grader, before anything decodes it.

    data: the bytes of a file written by ``torch.save`` (a zip archive of stored records).
    AssertionError unless every record is stored uncompressed with its size equal to what it
    occupies, there are at most ``max_entries`` records and they total at most ``max_mb`` MB.
    """
    how = "сохраняйте веса так: torch.save(model.state_dict(), WEIGHTS_PATH)"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise AssertionError(f"файл весов не является файлом torch.save (zip-архивом): {how} ({exc})") from None
    with archive:
        entries = archive.infolist()
        assert len(entries) <= max_entries, (
            f"файл весов содержит {len(entries)} записей, допускается не больше {max_entries}: {how}")
        packed = [e.filename for e in entries
                  if e.compress_type != zipfile.ZIP_STORED or e.compress_size != e.file_size]
        assert not packed, (
            f"файл весов содержит сжатые записи ({packed[0][:100]}): torch.save их не пишет, "
            f"а распаковка может занять неограниченную память; {how}")
        total = sum(e.file_size for e in entries)
        assert total <= max_mb * MB and total <= len(data), (
            f"файл весов занимает после распаковки {total / MB:.1f} МБ, допускается не больше {max_mb:g} МБ")


def load_state_dict(data: bytes, *, max_mb: float = 200, max_entries: int = 10_000) -> dict:
    """A ``state_dict`` ({name: tensor}) from the bytes of a handed-in ``torch.save`` file.

    Checked with ``check_checkpoint`` first, then ``torch.load(weights_only=True)`` on the CPU
    (never unpickling objects); every value must be a tensor and all of them together at most
    ``max_mb`` MB (a tensor can claim a huge shape over a small storage with zero strides).
    """
    import torch

    check_checkpoint(data, max_mb=max_mb, max_entries=max_entries)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise AssertionError(
            f"файл весов не читается torch.load(..., weights_only=True): сохраняйте model.state_dict(), "
            f"а не всю модель ({type(exc).__name__}: {str(exc)[:200]})") from None
    assert isinstance(state, Mapping), (
        f"в файле весов не state_dict, а {type(state).__name__}: сохраняйте torch.save(model.state_dict(), ...)")
    assert len(state) <= max_entries, f"в state_dict {len(state)} записей, допускается не больше {max_entries}"
    bad = [str(k)[:80] for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    assert not bad, f"в state_dict не тензоры: {bad[:5]}: сохраняйте torch.save(model.state_dict(), ...)"
    size = sum(v.numel() * v.element_size() for v in state.values())
    assert size <= max_mb * MB, (
        f"тензоры state_dict занимают {size / MB:.1f} МБ, допускается не больше {max_mb:g} МБ")
    return dict(state)
