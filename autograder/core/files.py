"""What grading writes to disk: one result file per submission, always written atomically."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

#: the file of a submission's result: ``OUT/<student>/<assignment>/result.json``
RESULT_FILE = "result.json"


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old file or the new one.

    mode: the file's permissions (default: private to the user, 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2))
