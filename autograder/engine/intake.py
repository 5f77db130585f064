"""Intake: what the grader may open on a submission's behalf, and how.

Hand-ins arrive as folders unpacked from git, tar or zip, all of which keep symbolic links (and
tar keeps hard links).  A link is how a student would make the grader read a file outside their
folder (``mallory/a01_neurons.ipynb -> <course>/solutions/a01_neurons.ipynb``) or another
student's work (``mallory -> alice``).  So, below the class folder:

- a symbolic link is never followed: a linked student folder, sub-folder or notebook is a
  submission *refused* (``Target.refused``), graded as zero with the reason, and never read;
- a notebook with more than one hard link is refused the same way;
- every file is opened with ``O_NOFOLLOW``, checked to be a regular file with one link, and read
  up to a size cap (``read_regular``).

Files beside a notebook (``neighbour_files``) follow the same rules; a link or a hard-linked file
there is simply not handed in.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

#: folders that never hold submissions
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}
#: a notebook larger than this is refused before it is decoded (the 10,000-cell corpus file is 1.5 MB)
MAX_NOTEBOOK_BYTES = 64 * 2**20
#: the files beside a notebook are handed in up to this many bytes in all
NEIGHBOUR_LIMIT = 200 * 2**20

SYMLINK = "symlink"
HARDLINK = "hardlink"


class Refused(OSError):
    """A file the grader will not open (a link, not a regular file, too large)."""

    def __init__(self, reason: str, path: Path):
        super().__init__(reason)
        self.reason, self.path = reason, Path(path)


@dataclass(frozen=True)
class Target:
    """One notebook to grade and the student it belongs to.

    refused: empty, or why the grader will not open it (``"symlink"``, ``"hardlink"``).
    """

    student: str
    path: Path
    refused: str = ""


def _kind(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _refusal(st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return SYMLINK
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        return HARDLINK
    return ""


def notebooks_below(student: str, folder: Path) -> list[Target]:
    """Every notebook below a student's folder, never through a link (links become refusals)."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        keep = []
        for d in sorted(dirs):
            if d in SKIP_DIRS or d.startswith("."):
                continue
            st = _kind(here / d)
            if st is not None and stat.S_ISLNK(st.st_mode):
                found.append(Target(student, here / d, SYMLINK))  # a linked folder: not walked
            else:
                keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            if not name.endswith(".ipynb"):
                continue
            st = _kind(here / name)
            if st is not None:
                found.append(Target(student, here / name, _refusal(st)))
    return found


def discover(paths: list[Path]) -> list[Target]:
    """Notebooks to grade, links refused (see the module docstring).

    A notebook path: the student is its folder's name.  A folder: each notebook directly in it
    is a student named after the file, and each sub-folder is a student (``CLASS/<student>/*.ipynb``).
    """
    found: list[Target] = []
    for path in paths:
        path = Path(path)
        st = _kind(path)
        if st is None:
            continue
        if not stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            if stat.S_ISLNK(st.st_mode) and os.path.isdir(path):  # a linked class folder: the
                path = Path(os.path.realpath(path))                 # instructor's own choice
            else:
                found.append(Target(path.resolve().parent.name, path, _refusal(st)))
                continue
        for child in sorted(path.iterdir()):
            if child.name in SKIP_DIRS or child.name.startswith("."):
                continue
            cst = _kind(child)
            if cst is None:
                continue
            if stat.S_ISLNK(cst.st_mode):  # a linked student folder or notebook (never followed)
                if child.suffix in (".ipynb", ""):
                    found.append(Target(child.stem if child.suffix else child.name, child, SYMLINK))
            elif stat.S_ISREG(cst.st_mode) and child.suffix == ".ipynb":
                found.append(Target(child.stem, child, _refusal(cst)))
            elif stat.S_ISDIR(cst.st_mode):
                found += notebooks_below(child.name, child)
    return found


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of a regular file with one link, opened without following a link; Refused else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        st = _kind(path)
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise Refused(SYMLINK, path) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused("not a regular file", path)
        if st.st_nlink > 1:
            raise Refused(HARDLINK, path)
        if st.st_size > limit:
            raise Refused(f"larger than {limit // 2**20} MB", path)
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise Refused(f"larger than {limit // 2**20} MB", path)
        return data
    finally:
        os.close(fd)


def neighbour_files(notebook: Path, limit: int = NEIGHBOUR_LIMIT, skip: set = frozenset()) -> list[Path]:
    """The regular, singly linked files beside a notebook that are handed in with it, by name,
    up to ``limit`` bytes in all (other notebooks, links and names in ``skip`` excluded)."""
    found, total = [], 0
    try:
        entries = sorted(Path(notebook).parent.iterdir())
    except OSError:
        return found
    for f in entries:
        st = _kind(f)
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_nlink > 1 or f.suffix == ".ipynb":
            continue
        total += st.st_size
        if total > limit:
            break
        if f.name not in skip:
            found.append(f)
    return found


def copy_regular(src: Path, dst: Path, limit: int = NEIGHBOUR_LIMIT) -> bool:
    """Copy a handed-in file without following links; False (nothing written) if refused."""
    try:
        data = read_regular(src, limit)
    except OSError:
        return False
    with open(dst, "wb") as fh:
        fh.write(data)
    try:
        st = os.lstat(src)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
    except OSError:
        pass
    return True


def mtime(path: Path) -> float | None:
    """The modification time of ``path`` itself (a link's own time, never its target's)."""
    st = _kind(path)
    return st.st_mtime if st is not None else None
