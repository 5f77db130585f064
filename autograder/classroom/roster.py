"""The class roster: who should have submitted, and what each student handed in.

Roster CSV: a header with ``id`` (required; the student's folder name in the class), ``name``
and ``email`` (optional).  With a roster, every roster student has a gradebook row for every
assignment of the course (0 points, status ``missing`` when nothing was submitted), and the
students with results who are not on the roster are reported.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .results import MISSING


class RosterError(ValueError):
    """A roster file that cannot be read (the instructor's input)."""


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""


def read_roster(path: Path) -> list[Student]:
    """The roster CSV (header: id, name, email; ``id`` required, unique), in file order."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
            if "id" not in fields:
                raise RosterError(f"{path}: the header needs the columns id, name, email (no 'id')")
            students, seen = [], {}
            for n, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                if not any(row.values()):
                    continue
                sid = row.get("id", "")
                if not sid or sid in (".", "..") or "/" in sid or "\\" in sid:
                    raise RosterError(f"{path}:{n}: id {sid!r} is not a student folder name")
                if sid in seen:
                    raise RosterError(f"{path}:{n}: id {sid!r} is already on line {seen[sid]}")
                seen[sid] = n
                students.append(Student(sid, row.get("name", ""), row.get("email", "")))
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path}: {exc}") from None
    return students


def missing_rows(results: list[dict], roster: list[Student], assignments: list[str]) -> list[dict]:
    """Placeholder rows (status ``missing``, 0 points, no tests) for each roster student and
    assignment without a result; ``max_score`` is the assignment's maximum among the results."""
    have = {(r["student"], r.get("assignment")) for r in results}
    maxima: dict[str, float] = {}
    for r in results:
        if r.get("assignment"):
            maxima[r["assignment"]] = max(maxima.get(r["assignment"], 0.0), float(r.get("max_score") or 0))
    return [{"student": s.id, "assignment": aid, "notebook": None, "score": 0.0,
             "max_score": maxima.get(aid, 0.0), "status": MISSING, "errors": ["не сдано"], "tests": []}
            for s in roster for aid in assignments if (s.id, aid) not in have]


def not_on_roster(results: list[dict], roster: list[Student]) -> list[str]:
    """Students with results who are not on the roster (sorted)."""
    ids = {s.id for s in roster}
    return sorted({r["student"] for r in results} - ids)


#: the columns of ``autograder submissions --csv``
LISTING_COLUMNS = ["student", "name", "assignment", "state", "score", "max_score", "days_late",
                   "on_roster", "notebook"]


def _days_late(notebook, result: dict | None, late, assignment: str | None = None) -> str:
    """Days late by the late rule's deadline ('' without one): as ``policy.apply_policy`` counts.
    late: a ``LatePolicy`` or ``LateRules`` (then the rule of ``assignment``)."""
    from .policy import LateRules, apply_policy

    if isinstance(late, LateRules):
        late = late.get(assignment)
    if late is None or late.deadline is None or not (notebook or (result or {}).get("notebook")):
        return ""
    base = result or {"notebook": str(notebook), "tests": [], "score": 0.0, "max_score": 0.0}
    if notebook:
        base = {**base, "notebook": str(notebook)}
    return str((apply_policy(base, late).get("late") or {}).get("days_late", ""))


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
        rows[(student, assignment)] = {
            "student": student, "name": people[student].name if student in people else "",
            "assignment": assignment, "state": state,
            "score": f"{r['score']:g}" if r else "", "max_score": f"{r['max_score']:g}" if r else "",
            "days_late": _days_late(notebook, result, late, assignment),
            "on_roster": "" if roster is None else ("yes" if student in people else "no"),
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
