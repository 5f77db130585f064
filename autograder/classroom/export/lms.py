"""The files an LMS imports, from a results folder (``autograder export canvas|moodle|csv RESULTS``).

Every export has one row per student and one column per assignment: the final score (late rule
and overrides applied, as in gradebook.csv), 0 for a released assignment a roster student did not
hand in, empty where grading itself failed (status ``error``: regrade, never a silent 0).

- ``canvas``: Canvas's gradebook CSV (Grades → Import): the identity columns ``Student, ID, SIS
  User ID, SIS Login ID, Section``, a ``Points Possible`` row, one column per assignment (a column
  Canvas does not know becomes a new assignment with those points).  Canvas matches a row by ID
  (Canvas's user id: the folder name ``collect`` gives a Canvas student, or the roster's ID when
  the roster is Canvas's own gradebook export), else by SIS User ID or SIS Login ID.
- ``moodle``: Moodle's grade import CSV (Grades → Import → CSV file), keyed by ``Email address``
  (``--key email``) or ``ID number`` (``--key idnumber``) from the roster; one column per
  assignment, mapped to grade items on Moodle's import page (name the items after the ids and
  the mapping is by name).  Moodle has no points-possible row: its grade items hold the maximum
  (``--percent`` exports percentages for items out of 100).
- ``csv``: for a spreadsheet: student, name, email, the assignments, the total; a ``points
  possible`` row first.

The total (``csv``, and ``--total`` for the others) is ``results.weighted_total``: the sum of the
points, or with ``[assignments.<id>] weight`` in autograder.toml the weighted sum of the scores'
fractions.  ``--bom`` writes a UTF-8 byte order mark, so that Excel on Windows reads Cyrillic names.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..results import NOT_MERGED, csv_cell, points_possible, weighted_total
from ..roster import Student, find, missing_rows

FORMATS = ("canvas", "moodle", "csv")
MOODLE_KEYS = {"email": "Email address", "idnumber": "ID number"}
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "Points Possible"


class ExportError(ValueError):
    """What cannot be exported (the message says why)."""


@dataclass
class Gradebook:
    """The grades to export: ``scores[student][assignment]`` (None: leave the cell empty)."""

    students: list[str]
    assignments: list[str]
    scores: dict[str, dict[str, float | None]]
    possible: dict[str, float]
    roster: list[Student] | None = None
    failed: list[str] = field(default_factory=list)   # "student/assignment" whose grading failed


def _number(x: float) -> str:
    return f"{round(float(x), 2):g}"


def gradebook(results: list[dict], *, roster: list[Student] | None = None, released=None,
              rubric_points: dict[str, float] | None = None, percent: bool = False) -> Gradebook:
    """The grades of ``results`` (``load_results`` of a published results folder), with a 0 for
    each roster student's released assignment not handed in (``released``: the assignment ids;
    None: those with results), points possible from the results or ``rubric_points``."""
    assignments = sorted(set(released) if released is not None else
                         {r["assignment"] for r in results if r.get("assignment")})
    if roster is not None:  # a result's student as the roster names them (its id, or its name: Moodle)
        ids = {r["student"]: (find(roster, r["student"]) or Student(r["student"])).id for r in results}
        results = [{**r, "student": ids[r["student"]]} for r in results]
    absent = missing_rows(results, roster, assignments, rubric_points) if roster is not None else []
    possible = points_possible(results, rubric_points)
    scores: dict[str, dict[str, float | None]] = {}
    failed = []
    for r in [*results, *absent]:
        aid = r.get("assignment")
        if aid not in assignments:
            continue  # not recognised, or handed in before its release: not exported
        if r.get("status") == NOT_MERGED:
            value = None
        elif r.get("status") == "error":
            value = None
            failed.append(f"{r['student']}/{aid}")
        else:
            value = float(r.get("score") or 0.0)
        scores.setdefault(r["student"], {})[aid] = value
    if percent:
        for row in scores.values():
            for aid, v in row.items():
                row[aid] = None if v is None or not possible.get(aid) else 100.0 * v / possible[aid]
        possible = {aid: 100.0 for aid in possible}
    order = [s.id for s in roster or () if s.id in scores]
    order += sorted(set(scores) - set(order))
    return Gradebook(order, assignments, scores, {a: possible.get(a, 0.0) for a in assignments},
                     roster, failed)


def _total(book: Gradebook, student: str, weights) -> str:
    row = {aid: v for aid, v in book.scores[student].items() if v is not None}
    return _number(weighted_total(row, book.possible, weights))


def _total_possible(book: Gradebook, weights) -> str:
    return _number(sum(weights.values()) if weights else sum(book.possible.values()))


def _cells(book: Gradebook, student: str) -> list[str]:
    row = book.scores[student]
    return ["" if row.get(aid) is None else _number(row[aid]) for aid in book.assignments]


def _who(book: Gradebook, student: str) -> Student:
    return (find(book.roster, student) if book.roster else None) or Student(student)


def canvas_rows(book: Gradebook, *, total: bool = False, weights=None) -> tuple[list[list[str]], list[str]]:
    """(rows of Canvas's gradebook CSV, students left out: no ID, SIS User ID or SIS Login ID)."""
    rows = [[*CANVAS_IDENTITY, *book.assignments, *(["Total (autograder)"] if total else [])],
            [f"    {POINTS_POSSIBLE}", "", "", "", "", *[_number(book.possible[a]) for a in book.assignments],
             *([_total_possible(book, weights)] if total else [])]]
    left_out = []
    for student in book.students:
        s = _who(book, student)
        canvas_id = s.get("canvas id", "canvas_id", "canvas user id") or next(
            (x for x in (s.id, student) if x.isdigit()), "")
        sis_user, sis_login = s.get("sis user id", "sis_user_id"), s.get("sis login id", "sis_login_id")
        if not (canvas_id or sis_user or sis_login):
            left_out.append(student)
            continue
        rows.append([s.name or student, canvas_id, sis_user, sis_login, s.get("section"),
                     *_cells(book, student), *([_total(book, student, weights)] if total else [])])
    return rows, left_out


def moodle_rows(book: Gradebook, *, key: str = "email", total: bool = False,
                weights=None) -> tuple[list[list[str]], list[str]]:
    """(rows of Moodle's grade import CSV keyed by ``key``, students left out: no such key)."""
    if key not in MOODLE_KEYS:
        raise ExportError(f"--key {key}: use one of {', '.join(MOODLE_KEYS)}")
    rows = [[MOODLE_KEYS[key], *book.assignments, *(["Total (autograder)"] if total else [])]]
    left_out = []
    for student in book.students:
        s = _who(book, student)
        value = s.email if key == "email" else s.get("id number", "idnumber", "id_number")
        if not value:
            left_out.append(student)
            continue
        rows.append([value, *_cells(book, student), *([_total(book, student, weights)] if total else [])])
    return rows, left_out


def plain_rows(book: Gradebook, *, weights=None) -> tuple[list[list[str]], list[str]]:
    """(rows of the plain CSV: student, name, email, assignments, total; a points-possible row first, [])."""
    rows = [["student", "name", "email", *book.assignments, "total"],
            ["points possible", "", "", *[_number(book.possible[a]) for a in book.assignments],
             _total_possible(book, weights)]]
    for student in book.students:
        s = _who(book, student)
        rows.append([student, s.name, s.email, *_cells(book, student), _total(book, student, weights)])
    return rows, []


def render(rows: list[list[str]], *, bom: bool = False, delimiter: str = ",") -> str:
    """The CSV text: every cell through ``results.csv_cell`` (no formulas), CRLF line ends, a UTF-8
    byte order mark with ``bom`` (Excel)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter)
    for row in rows:
        w.writerow([csv_cell(c) for c in row])
    return ("\ufeff" if bom else "") + buf.getvalue()


@dataclass
class Exported:
    path: Path
    rows: int
    left_out: list[str]
    failed: list[str]


def export(kind: str, results: list[dict], path: Path, *, roster=None, released=None, rubric_points=None,
           weights=None, percent: bool = False, total: bool = False, key: str = "email", bom: bool = False,
           delimiter: str = ",") -> Exported:
    """Write the ``kind`` export (``FORMATS``) of ``results`` to ``path`` (atomically, mode 0644)."""
    from ...core.files import atomic_write_text
    from ..results import SHARED_MODE

    if kind not in FORMATS:
        raise ExportError(f"unknown export {kind!r}: use one of {', '.join(FORMATS)}")
    if kind == "moodle" and roster is None:
        raise ExportError("moodle: a roster is needed for the students' e-mail addresses or ID numbers "
                          "(--roster, or roster in autograder.toml; Moodle's own gradebook export will do)")
    if len(delimiter) != 1:
        raise ExportError(f"--delimiter {delimiter!r}: one character")
    book = gradebook(results, roster=roster, released=released, rubric_points=rubric_points, percent=percent)
    if not book.assignments:
        raise ExportError("nothing to export: no graded assignment in the results")
    if kind == "canvas":
        rows, left_out = canvas_rows(book, total=total, weights=weights)
    elif kind == "moodle":
        rows, left_out = moodle_rows(book, key=key, total=total, weights=weights)
    else:
        rows, left_out = plain_rows(book, weights=weights)
    atomic_write_text(Path(path), render(rows, bom=bom, delimiter=delimiter), mode=SHARED_MODE)
    header_rows = 2 if kind in ("canvas", "csv") else 1
    return Exported(Path(path), len(rows) - header_rows, left_out, book.failed)
