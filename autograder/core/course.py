"""Where the course lives and which assignments it has.

A course root holds ``tests/grading/<id>.py`` (the rubrics) and usually ``solutions/<id>.ipynb``
and ``assignments/<id>.ipynb``.  An assignment is discovered from its rubric: nothing to register.
"""
from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

#: the ``autograder`` package folder (a student bundle packages its course in ``_course/``)
PACKAGE = Path(__file__).resolve().parents[1]

#: per-assignment settings a rubric may override in its ``ASSIGNMENT`` dict
DEFAULTS = {
    "title": "",
    "cell_timeout": 60,        # seconds one notebook cell may run at grading time
    "notebook_timeout": 300,   # seconds the whole notebook may run
    "test_timeout": 60,        # seconds one grading test may run
    "rubric_timeout": 600,     # seconds all grading tests of one submission may run
    "memory_mb": 2048,         # address-space limit per process of student code (sandbox)
    "max_processes": 256,      # processes + threads student code may have at once (sandbox)
    "file_size_mb": 512,       # largest file student code may write (sandbox)
}


class CourseNotFound(Exception):
    pass


class ManualError(ValueError):
    """A rubric's ``MANUAL`` list that cannot be used (one line: the file, the item, the key)."""


@dataclass(frozen=True)
class ManualItem:
    """A manually graded item of an assignment (a rubric's ``MANUAL`` entry).

    id: its name in results and gradebooks (``sigmoid_slow``); task: the task it belongs to;
    points: its maximum; cell: the solution notebook's answer cell, by cell id or tag; question:
    what the student is asked; guide: what a good answer contains (for the TA; never shipped to
    students).
    """

    id: str
    task: str
    points: float
    cell: str
    question: str
    guide: str = ""

    @property
    def tag(self) -> str:
        """The tag a release gives the answer cell of the student notebook."""
        return f"{MANUAL_TAG_PREFIX}{self.id}"


#: the answer cell of a manual item carries the tag ``manual:<item id>`` in released notebooks
MANUAL_TAG_PREFIX = "manual:"
MANUAL_KEYS = {"id": str, "task": str, "points": (int, float), "cell": str, "question": str, "guide": str}
MANUAL_REQUIRED = ("id", "task", "points", "cell", "question")
_MANUAL_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Assignment:
    """One assignment: its id, rubric, solution and student notebook, and settings."""

    id: str
    rubric: Path
    solution: Path | None = None
    student: Path | None = None
    config: dict = field(default_factory=dict, compare=False)

    def __getattr__(self, name):
        if name in DEFAULTS:
            return self.config.get(name, DEFAULTS[name])
        raise AttributeError(name)

    @property
    def manual_items(self) -> tuple[ManualItem, ...]:
        """The rubric's manually graded items (``MANUAL = [...]``); ManualError when it is wrong."""
        try:
            stamp = self.rubric.stat().st_mtime_ns
        except OSError:
            stamp = 0
        return _read_manual_cached(self.rubric, stamp)


def _literal(rubric: Path, name: str):
    """The value of the module-level literal ``name = ...`` of a rubric (not imported), or None."""
    tree = ast.parse(rubric.read_text(encoding="utf-8"), str(rubric))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def read_config(rubric: Path) -> dict:
    """The literal ``ASSIGNMENT = {...}`` dict of a rubric, read without importing it."""
    value = _literal(rubric, "ASSIGNMENT")
    if value is None:
        return {}
    unknown = set(value) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"{rubric}: unknown ASSIGNMENT keys {sorted(unknown)}")
    return value


@lru_cache(maxsize=32)
def _read_manual_cached(rubric: Path, _mtime: int) -> tuple[ManualItem, ...]:
    return read_manual(rubric)


def read_manual(rubric: Path) -> tuple[ManualItem, ...]:
    """The literal ``MANUAL = [{...}, ...]`` list of a rubric, read without importing it and
    checked: every item has ``id`` (lower-case name, not ``test_...``), ``task``, ``points`` (> 0),
    ``cell`` (answer cell id or tag), ``question`` and optionally ``guide``; ids are unique."""
    try:
        value = _literal(rubric, "MANUAL")
    except ValueError as exc:
        raise ManualError(f"{rubric}: MANUAL must be a literal list of dicts ({exc})") from None
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise ManualError(f"{rubric}: MANUAL must be a list of dicts, got {type(value).__name__}")
    items, seen = [], set()
    for n, raw in enumerate(value):
        where = f"{rubric}: MANUAL[{n}]"
        if not isinstance(raw, dict):
            raise ManualError(f"{where}: must be a dict, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(MANUAL_KEYS))
        if unknown:
            raise ManualError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(MANUAL_KEYS)})")
        missing = [k for k in MANUAL_REQUIRED if k not in raw]
        if missing:
            raise ManualError(f"{where}: missing key {missing[0]!r}")
        for key, kind in MANUAL_KEYS.items():
            if key in raw and (not isinstance(raw[key], kind) or isinstance(raw[key], bool)):
                raise ManualError(f"{where}: {key!r} must be {'a number' if key == 'points' else 'a string'}, "
                                  f"got {raw[key]!r}")
        if not _MANUAL_ID.fullmatch(raw["id"]) or raw["id"].startswith("test"):
            raise ManualError(f"{where}: id {raw['id']!r} must be a lower-case name (a-z, 0-9, _) "
                              "not starting with 'test'")
        if raw["id"] in seen:
            raise ManualError(f"{where}: id {raw['id']!r} is used twice")
        if not 0 < raw["points"] < float("inf"):
            raise ManualError(f"{where}: points must be a positive number, got {raw['points']!r}")
        for key in ("task", "cell", "question"):
            if not raw[key].strip():
                raise ManualError(f"{where}: {key!r} must not be empty")
        seen.add(raw["id"])
        items.append(ManualItem(raw["id"], raw["task"], float(raw["points"]), raw["cell"], raw["question"],
                                raw.get("guide", "")))
    return tuple(items)


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def locate(cls, explicit: str | os.PathLike | None = None) -> "Course":
        """--course DIR, else $AUTOGRADER_COURSE, else the nearest folder above the current one
        with tests/grading, else the course packaged with a student bundle."""
        candidates = []
        if explicit:
            candidates.append(Path(explicit))
        elif os.environ.get("AUTOGRADER_COURSE"):
            candidates.append(Path(os.environ["AUTOGRADER_COURSE"]))
        else:
            here = Path.cwd().resolve()
            candidates += [here, *here.parents]
            candidates.append(PACKAGE / "_course")
            candidates.append(PACKAGE.parent)
        for c in candidates:
            if (c / "tests" / "grading").is_dir():
                return cls(c.resolve())
        raise CourseNotFound(
            "no course found: run from the course folder (with tests/grading/) or pass --course DIR"
        )

    @cached_property
    def assignments(self) -> dict[str, Assignment]:
        found = {}
        for rubric in sorted((self.root / "tests" / "grading").glob("a*.py")):
            aid = rubric.stem
            sol = self.root / "solutions" / f"{aid}.ipynb"
            stu = self.root / "assignments" / f"{aid}.ipynb"
            found[aid] = Assignment(
                id=aid,
                rubric=rubric,
                solution=sol if sol.exists() else None,
                student=stu if stu.exists() else None,
                config=read_config(rubric),
            )
        return found

    def data_dir(self) -> Path | None:
        d = self.root / "data"
        return d if d.is_dir() else None
