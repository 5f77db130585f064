"""Splitting a class into N shards graded by separate machines (a CI matrix, a Slurm array).

A submission's key is (student, assignment); shard K of N grades the keys with
``shard_of(student, assignment, N) == K``, where ``shard_of`` is SHA-256 of the key modulo N.

Why the pair and not the student: the cost of a submission is the cost of its assignment (an
``a05`` notebook trains a CNN, an ``a01`` one runs for seconds).  Hashing the pair spreads every
assignment evenly over the shards (each gets about 1/N of the a05s, of the a01s, ...), whatever
the mix of assignments in the class, and a student's five notebooks land on different machines.
Why a hash and not a position (sorted order, round robin, a greedy packing by cost): a key's shard
depends on the key alone, so adding a student, a late submission or a new assignment moves nobody
else, and each shard's results folder stays reusable (resume).  The price is balance in
expectation only: with m submissions of an assignment a shard gets m/N ± about sqrt(m/N).

Each shard writes a manifest ``OUT/shard.json``: ``shard`` (K), ``count`` (N), ``keys`` (the
keys it graded), ``class`` (every key of the whole class, their number and hash: every shard
must have seen the same class), ``inputs`` (engine version, rubric hashes, grading options: what the
grades depend on) and ``complete`` (false while grading, true once every key has its result).
``autograder merge`` checks the manifests (``autograder.classroom.merge``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..core.course import Course
from ..core.files import write_json
from .batch import engine_version

MANIFEST = "shard.json"
FORMAT = 1


class ShardError(ValueError):
    """A bad ``--shard`` value or an unreadable manifest."""


def shard_of(student: str, assignment: str, count: int) -> int:
    """The shard (0..count-1) of the key (student, assignment); see the module docstring."""
    digest = hashlib.sha256(f"{student}\0{assignment}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` (``K/N`` on the command line, 0 <= K < N)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> "Shard":
        k, sep, n = str(text).partition("/")
        try:
            index, count = int(k), int(n)
        except ValueError:
            raise ShardError(f"--shard {text!r}: expected K/N, e.g. 0/4 (shards are numbered from 0)") from None
        if not sep or count < 1 or not 0 <= index < count:
            raise ShardError(f"--shard {text!r}: need N >= 1 and 0 <= K < N (shards are numbered 0..N-1)")
        return cls(index, count)

    def __call__(self, student: str, assignment: str) -> bool:
        """Whether the key belongs to this shard (``batch.plan``'s ``select``)."""
        return shard_of(student, assignment, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _hash_files(*paths: Path) -> str:
    h = hashlib.sha256()
    for f in paths:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def grading_inputs(course: Course, options: dict) -> dict:
    """What every grade of a run depends on besides the notebook: the engine, each rubric (with the
    rubrics' conftest), the grading options.  Shards are merged only when these are equal."""
    conftest = course.root / "tests" / "grading" / "conftest.py"
    return {"engine": engine_version(),
            "rubrics": {aid: _hash_files(a.rubric, conftest) for aid, a in sorted(course.assignments.items())},
            "options": options}


def class_digest(keys) -> dict:
    """``{"count", "hash", "keys"}``: every (student, assignment) key of the class, sorted (so that
    a merge knows whose results a missing shard would have had)."""
    unique = sorted({tuple(k) for k in keys})
    h = hashlib.sha256(json.dumps(unique, ensure_ascii=False).encode("utf-8"))
    return {"count": len(unique), "hash": h.hexdigest()[:16], "keys": [list(k) for k in unique]}


def start(out_dir: Path, shard: Shard) -> None:
    """Mark ``out_dir`` as shard ``shard``, not finished (before grading: a killed run stays unfinished)."""
    write_json(Path(out_dir) / MANIFEST, {"format": FORMAT, "shard": shard.index, "count": shard.count,
                                          "complete": False})


def finish(out_dir: Path, shard: Shard, inputs: dict, keys, selected) -> dict:
    """Write the finished manifest: every selected key has its result in ``out_dir``."""
    manifest = {"format": FORMAT, "shard": shard.index, "count": shard.count, "inputs": inputs,
                "class": class_digest(keys), "keys": sorted([list(k) for k in selected]), "complete": True}
    write_json(Path(out_dir) / MANIFEST, manifest)
    return manifest


def read_manifest(folder: Path) -> dict:
    """The manifest of a shard's results folder; ShardError when there is none or it is unreadable."""
    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{folder}: no {MANIFEST}: not the results of 'autograder grade --shard K/N'") from None
    except (OSError, ValueError) as exc:
        raise ShardError(f"{path}: unreadable: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("shard"), int) or not isinstance(data.get("count"), int):
        raise ShardError(f"{path}: not a shard manifest")
    return data
