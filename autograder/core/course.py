"""Where the course lives and which assignments it has.

A course root holds ``tests/grading/<id>.py`` (the rubrics) and usually ``solutions/<id>.ipynb``
and ``assignments/<id>.ipynb``.  An assignment is discovered from its rubric: nothing to register.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from functools import cached_property
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


def read_config(rubric: Path) -> dict:
    """The literal ``ASSIGNMENT = {...}`` dict of a rubric, read without importing it."""
    tree = ast.parse(rubric.read_text(encoding="utf-8"), str(rubric))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "ASSIGNMENT" for t in node.targets):
            value = ast.literal_eval(node.value)
            unknown = set(value) - set(DEFAULTS)
            if unknown:
                raise ValueError(f"{rubric}: unknown ASSIGNMENT keys {sorted(unknown)}")
            return value
    return {}


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
