"""Which of the discovered submissions a run grades: some students (``--student``), one student's
own folder given as the path."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..core.course import Course
from ..engine.grade import Target, recognise


def only_students(targets: list[Target], names: list[str]) -> tuple[list[Target], list[str]]:
    """(the targets of the named students, the names that have no notebook)."""
    wanted = set(names)
    kept = [t for t in targets if t.student in wanted]
    return kept, sorted(wanted - {t.student for t in kept})


def student_folder(path: Path, targets: list[Target], course: Course) -> list[Target]:
    """The targets ``discover([path])`` found, with ``CLASS/<student>`` given as the path recognised:
    a folder whose notebooks all lie directly in it and are named after assignments
    (``a01_neurons.ipynb``) is one student's, not a class of students named ``a01_neurons``."""
    path = Path(path)
    if not path.is_dir() or not targets:
        return targets
    if any(t.path.parent != path or recognise(None, t.path, course) is None for t in targets):
        return targets
    student = path.resolve().name
    return [replace(t, student=student) for t in targets]
