"""The class roster: who should have submitted, and what each student handed in.

Roster CSV: a header with ``id`` (required; the student's folder name in the class), ``name``
and ``email`` (optional); further columns are kept (``Student.get``): the LMS identities the
exports need (``sis user id``, ``sis login id``, ``section``, ``id number``).  An LMS's own
gradebook export is a roster as it is:

- Canvas (Grades → Export): ``Student, ID, SIS User ID, SIS Login ID, Section, ...``: ``id`` is
  Canvas's user ID (what ``autograder collect`` names a Canvas student's folder), ``name`` the
  Student column; the "Points Possible" row is skipped;
- Moodle (Grades → Export → Plain text file): ``First name, Last name, ID number, ..., Email
  address``: ``id`` is the name as ``collect`` names a Moodle student's folder (``name_id``).

With a roster, every roster student has a gradebook row for every released assignment
(``config.Config.released``; 0 points, status ``missing`` when nothing was submitted), and the
students with results who are not on the roster are reported.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .results import MISSING, points_possible


class RosterError(ValueError):
    """A roster file that cannot be read (the instructor's input)."""


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # (lower-case column, value) of the other columns

    def get(self, *columns: str) -> str:
        """The first non-empty value of these columns (lower case), or ''."""
        values = dict(self.extra)
        return next((values[c] for c in columns if values.get(c)), "")


#: rows of an LMS's gradebook export that are not students (Canvas: points possible, posting policy)
NOT_STUDENTS = {"points possible", "manual posting", "read only"}


def name_id(name: str) -> str:
    """A student folder name made from a full name (how ``collect`` names a student the LMS
    identifies by name only): words joined by ``_``, no path characters.  ``Анна Петрова`` ->
    ``Анна_Петрова``."""
    words = re.sub(r"[/\\\x00:*?\"<>|]", " ", name).split()
    return "_".join(words).lstrip(".") or "student"


def name_key(name: str) -> str:
    """A name compared without case, order of words or separators (``Петрова Анна`` = ``анна_петрова``)."""
    return " ".join(sorted(re.sub(r"[_,]", " ", name).casefold().split()))


def find(roster: list[Student], student: str) -> Student | None:
    """The roster entry of a student folder name: by id, else by name (``name_key``)."""
    for s in roster:
        if s.id == student:
            return s
    key = name_key(student)
    matches = [s for s in roster if s.name and name_key(s.name) == key]
    return matches[0] if len(matches) == 1 else None


def _identity(row: dict, fields: set) -> tuple[str, str, str] | None:
    """(id, name, email) of a row in one of the roster formats; None for a row to skip."""
    if "id" in fields:
        name = row.get("name") or row.get("student", "")
        if not row.get("id") and name.strip().casefold() in NOT_STUDENTS:
            return None
        return row.get("id", ""), name.strip(), row.get("email") or row.get("email address", "")
    full = " ".join(p for p in (row.get("first name", ""), row.get("last name", "")) if p)
    return name_id(full) if full else "", full, row.get("email address", "")


def read_roster(path: Path) -> list[Student]:
    """The roster CSV (module docstring; ``id`` required and unique), in file order."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
            if "id" not in fields and not {"first name", "last name"} <= fields:
                raise RosterError(f"{path}: the header needs the columns id, name, email (no 'id'), or is an "
                                  "LMS's gradebook export (Canvas: Student, ID; Moodle: First name, Last name)")
            students, seen = [], {}
            for n, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                if not any(row.values()):
                    continue
                who = _identity(row, fields)
                if who is None:
                    continue
                sid, name, email = who
                if not sid or sid in (".", "..") or "/" in sid or "\\" in sid:
                    raise RosterError(f"{path}:{n}: id {sid!r} is not a student folder name")
                if sid in seen:
                    raise RosterError(f"{path}:{n}: id {sid!r} is already on line {seen[sid]}")
                seen[sid] = n
                extra = tuple((k, v) for k, v in row.items() if v and k not in ("id", "name", "email"))
                students.append(Student(sid, name, email, extra))
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from None
    return students


def missing_rows(results: list[dict], roster: list[Student], assignments: list[str],
                 possible: dict[str, float] | None = None) -> list[dict]:
    """Placeholder rows (status ``missing``, 0 points, no tests) for each roster student and
    assignment without a result; ``max_score`` is the assignment's points possible
    (``results.points_possible``: its results' maximum, else ``possible``, the rubric's)."""
    have = {(_on_roster(roster, r["student"]), r.get("assignment")) for r in results}
    maxima = points_possible(results, possible)
    return [{"student": s.id, "assignment": aid, "notebook": None, "score": 0.0,
             "max_score": maxima.get(aid, 0.0), "status": MISSING, "errors": ["не сдано"], "tests": []}
            for s in roster for aid in assignments if (s.id, aid) not in have]


def _on_roster(roster: list[Student], student: str) -> str:
    """The roster id of a student folder name (``find``), or the name itself."""
    found = find(roster, student)
    return found.id if found else student


def not_on_roster(results: list[dict], roster: list[Student]) -> list[str]:
    """Students with results who are not on the roster, by id or name (sorted)."""
    return sorted({r["student"] for r in results if find(roster, r["student"]) is None})


#: the columns of ``autograder submissions --csv``
LISTING_COLUMNS = ["student", "name", "assignment", "state", "score", "max_score", "days_late",
                   "on_roster", "note", "notebook"]


def _days_late(notebook, result: dict | None, late, assignment: str | None = None) -> tuple[str, str]:
    """(days late, note) by the late rule's deadline ('' without one): as ``policy.apply_policy``
    counts; the note says when the time is only a file time or unknown (``policy.late_notes``).
    late: a ``LatePolicy`` or ``LateRules`` (then the rule of ``assignment``)."""
    from .policy import LateRules, apply_policy, late_notes

    if isinstance(late, LateRules):
        late = late.get(assignment)
    if late is None or late.deadline is None or not (notebook or (result or {}).get("notebook")):
        return "", ""
    base = result or {"notebook": str(notebook), "tests": [], "score": 0.0, "max_score": 0.0}
    if notebook:
        base = {**base, "notebook": str(notebook)}
    info = apply_policy(base, late).get("late") or {}
    return str(info.get("days_late", "")), "; ".join(late_notes(info, "en"))


def listing(planned, results: list[dict], assignments: list[str], roster: list[Student] | None = None,
            late=None) -> list[dict]:
    """One row per (student, assignment), columns ``LISTING_COLUMNS``.  ``state``: ``graded`` (an
    up-to-date result), ``ungraded`` or ``error`` (the result's status), ``submitted`` (a notebook
    with no up-to-date result), ``missing`` (a roster student's assignment with neither);
    ``score``: as last written to the results folder; ``days_late``: by ``late``'s deadline.

    planned: ``batch.plan`` entries of the class (``cached``: the up-to-date result or None);
    results: the results folder's (``results.load_results``), which also covers results whose
    notebook is no longer in the class."""
    people = {s.id: s for s in roster or ()}
    rows: dict[tuple, dict] = {}

    def row(student, assignment, state, result=None, notebook=None):
        r = result or {}
        days, note = _days_late(notebook, result, late, assignment)
        rows[(student, assignment)] = {
            "student": student, "name": people[student].name if student in people else "",
            "assignment": assignment, "state": state,
            "score": f"{r['score']:g}" if r else "", "max_score": f"{r['max_score']:g}" if r else "",
            "days_late": days,
            "on_roster": "" if roster is None else ("yes" if student in people else "no"), "note": note,
            "notebook": str(notebook or r.get("notebook") or "")}

    for r in results:
        row(r["student"], r.get("assignment") or Path(r.get("notebook") or "").stem, r["status"], r)
    for p in planned:
        key = (p.target.student, p.dest.name)
        if p.cached is not None:
            row(*key, p.cached["status"], p.cached, p.target.path)
        else:
            row(*key, "submitted", None, p.target.path)
    for s in roster or ():
        for aid in assignments:
            if (s.id, aid) not in rows:
                row(s.id, aid, "missing")
    return [rows[k] for k in sorted(rows)]
