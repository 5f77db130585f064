"""Late rule and manual adjustments, applied to graded results after grading.

Both are recomputed from the raw test scores on every run (they are never cached), so changing
the deadline or the overrides file needs no regrading.

Late rule (nbgrader's idea), per assignment (``LateRules``: ``autograder.toml`` gives each
assignment its own deadline and rule).  A submission's time (``read_stamp``) is the first line of
``<notebook stem>.timestamp.txt`` beside the notebook (one per assignment in the flat layout
``<student>/<assignment>.ipynb``; ``autograder collect`` writes them), else of ``timestamp.txt``
beside it (nbgrader's, one per folder: the layout ``<student>/<assignment>/``), else the notebook's
modification time.  ``none`` records lateness without a penalty, ``zero`` gives 0 points to a late
submission, ``per-day:P`` takes P % of the maximum points for every started day late (never below
zero).  A time that is only a modification time (a copy's, an unpacked download's) or that the
LMS did not give (the timestamp file says ``unknown``) is never charged: the result says so
(``late["unverified"]``) and how late the file time would make it.

Marks CSV (what a TA saves from ``autograder review``): columns ``student, assignment, item,
points, comment, answer``.  ``item`` is a manually graded item of the rubric (``MANUAL``);
``points`` (0 to the item's points) replaces its pending 0 and its status becomes ``marked``; an
empty ``points`` leaves it pending; ``answer`` is the digest of the answer that was marked (a
mark on an answer that changed since is still applied, and reported as ``stale``).  Several files
(or folders of them) may be given: a later row for the same item wins.

Overrides CSV: columns ``student, assignment, test, points, comment``.  ``test`` is a test's name
(``test_linear_shape``) or ``total``.  ``points`` is absolute (``3``: the test or total becomes 3)
or relative with a sign (``+1``, ``-0.5``).  Order: marks, test overrides, then the late rule, then a
``total`` override (the instructor's final word).  A row naming a student, assignment or test that
does not exist stops the command (``check_overrides``): a typo is never silently ignored.
"""
from __future__ import annotations

import copy
import csv
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

TIMESTAMP_FILE = "timestamp.txt"
#: ``<notebook stem>.timestamp.txt``: one submission's own time, beside its notebook
TIMESTAMP_SUFFIX = ".timestamp.txt"
#: the first line of a timestamp file when the LMS gave no time
UNKNOWN = "unknown"
#: ``late["unverified"]``: the time is only the file's modification time, or there is none
MTIME, NO_TIME = "mtime", "unknown"


class PolicyError(ValueError):
    """A deadline, late rule or overrides file that cannot be read (the instructor's input)."""


def _aware(dt: datetime) -> datetime:
    """Naive times are local time (as the instructor typed the deadline)."""
    return dt.astimezone() if dt.tzinfo is None else dt


def parse_time(text: str) -> datetime:
    """ISO 8601 (``2026-12-01T23:59``, ``2026-12-01 23:59:00+03:00``) or nbgrader's
    ``2026-12-01 23:59:00.123456 UTC``."""
    text = text.strip()
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        from dateutil import parser as dateparser

        return _aware(dateparser.parse(text))
    except (ValueError, OverflowError, ImportError) as exc:
        raise PolicyError(f"cannot read the time {text!r}: {exc}") from None


@dataclass(frozen=True)
class LatePolicy:
    deadline: datetime | None = None
    rule: str = "none"           # none | zero | per-day
    percent_per_day: float = 0.0

    @classmethod
    def parse(cls, deadline: str | None, rule: str | None) -> "LatePolicy":
        rule = (rule or "none").strip().lower()
        percent = 0.0
        if rule.startswith("per-day"):
            _, _, value = rule.partition(":")
            try:
                percent = float(value.rstrip("%"))
            except ValueError:
                raise PolicyError(f"late policy {rule!r}: expected per-day:PERCENT, e.g. per-day:10") from None
            if not 0 <= percent <= 100:
                raise PolicyError(f"late policy {rule!r}: the percentage must be within 0..100")
            rule = "per-day"
        elif rule not in ("none", "zero"):
            raise PolicyError(f"unknown late policy {rule!r}: use none, zero or per-day:PERCENT")
        return cls(parse_time(deadline) if deadline else None, rule, percent)


@dataclass(frozen=True)
class LateRules:
    """The late rule per assignment: ``assignments[id]`` where it has its own, else ``default``."""

    default: LatePolicy | None = None
    assignments: dict[str, LatePolicy] = field(default_factory=dict)

    def get(self, assignment: str | None) -> LatePolicy | None:
        return self.assignments.get(assignment or "", self.default)


@dataclass(frozen=True)
class Stamp:
    """A submission's time as the late rule reads it.

    time: None when unknown; source: the timestamp file's name, ``"mtime"``, or ``""`` (nothing);
    note: the timestamp file's comment lines (``# ...``: where ``collect`` took the time from)."""

    time: datetime | None
    source: str
    note: str = ""


def timestamp_files(notebook: Path) -> list[Path]:
    """Where a notebook's time may be written, first match wins: its own, then its folder's."""
    notebook = Path(notebook)
    return [notebook.parent / (notebook.stem + TIMESTAMP_SUFFIX), notebook.parent / TIMESTAMP_FILE]


def is_timestamp_file(name: str) -> bool:
    """A file beside a notebook that holds a time, never a part of the submission."""
    return name == TIMESTAMP_FILE or name.endswith(TIMESTAMP_SUFFIX)


def read_stamp(notebook: Path) -> Stamp:
    """The submission time of ``notebook`` (module docstring): its timestamp file, else its mtime.

    A timestamp file is read without following links, at most 4 KB; its first line that is not a
    ``#`` comment is the time (ISO 8601 or nbgrader's format) or ``unknown``.  A file that is a
    link, too large or unreadable is passed over."""
    from ..engine.intake import mtime, read_regular

    for stamp in timestamp_files(notebook):
        try:
            text = read_regular(stamp, 4096).decode("utf-8", errors="replace")
        except OSError:
            continue  # missing, a link or unreadable
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        note = "; ".join(line.lstrip("#").strip() for line in lines if line.startswith("#"))
        values = [line for line in lines if not line.startswith("#")]
        if not values:
            continue
        if values[0].lower() == UNKNOWN:
            return Stamp(None, stamp.name, note)
        try:
            return Stamp(parse_time(values[0]), stamp.name, note)
        except PolicyError:
            continue
    when = mtime(Path(notebook))
    if when is None:
        return Stamp(None, "")
    return Stamp(datetime.fromtimestamp(when, timezone.utc).astimezone(), MTIME)


def submission_time(notebook: Path) -> tuple[datetime | None, str]:
    """(time, where it came from) of ``read_stamp``."""
    stamp = read_stamp(notebook)
    return stamp.time, stamp.source


@dataclass(frozen=True)
class Override:
    student: str
    assignment: str
    test: str            # a test name or "total"
    points: float
    relative: bool
    comment: str
    line: int
    file: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"overrides line {self.line}"


def read_overrides(path: Path) -> list[Override]:
    """The overrides CSV (header: student, assignment, test, points, comment)."""
    rows: list[Override] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
        missing = {"student", "assignment", "points"} - fields
        if missing:
            raise PolicyError(f"{path}: the header needs columns student, assignment, test, points, comment "
                              f"(missing: {', '.join(sorted(missing))})")
        for n, raw in enumerate(reader, start=2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            if not any(row.values()):
                continue
            text = row.get("points", "")
            try:
                points = float(text)
            except ValueError:
                raise PolicyError(f"{path}:{n}: points {text!r} is not a number") from None
            if not math.isfinite(points):
                raise PolicyError(f"{path}:{n}: points {text!r} is not a finite number")
            rows.append(Override(row["student"], row["assignment"], row.get("test") or "total", points,
                                 text.startswith(("+", "-")), row.get("comment", ""), n, str(path)))
    return rows


@dataclass(frozen=True)
class Mark:
    """A TA's mark of one manually graded item of one submission."""

    student: str
    assignment: str
    item: str
    points: float
    comment: str
    answer: str       # digest of the answer that was marked ("" when unknown)
    where: str        # file:line, for messages


MARK_COLUMNS = ("student", "assignment", "item", "points", "comment", "answer")


def _csv_files(paths) -> list[Path]:
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.glob("*.csv") if f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            raise PolicyError(f"no such marks file or folder: {p}")
    return files


def read_marks(paths) -> list[Mark]:
    """The marks CSVs at ``paths`` (files, or folders whose ``*.csv`` are read in name order).
    Rows with an empty ``points`` are left out (not marked yet)."""
    marks: list[Mark] = []
    for path in _csv_files(paths):
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
            missing = {"student", "assignment", "item", "points"} - fields
            if missing:
                raise PolicyError(f"{path}: the header needs columns {', '.join(MARK_COLUMNS)} "
                                  f"(missing: {', '.join(sorted(missing))})")
            for n, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k}
                text = row.get("points", "")
                if not text:
                    continue
                try:
                    points = float(text)
                except ValueError:
                    raise PolicyError(f"{path}:{n}: points {text!r} is not a number") from None
                if not math.isfinite(points) or points < 0:
                    raise PolicyError(f"{path}:{n}: points {text!r} must be a number of at least 0")
                if not (row.get("student") and row.get("assignment") and row.get("item")):
                    raise PolicyError(f"{path}:{n}: student, assignment and item must not be empty")
                marks.append(Mark(_unquote(row["student"]), _unquote(row["assignment"]), _unquote(row["item"]),
                                  points, _unquote(row.get("comment", "")), row.get("answer", ""), f"{path}:{n}"))
    return marks


def _unquote(cell: str) -> str:
    """A name as written before ``results.csv_cell`` guarded it (``'=1+2`` -> ``=1+2``)."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@", "\t", "\r") else cell


def check_overrides(overrides: list[Override], *, students=None, tests: dict[str, set[str]]) -> None:
    """PolicyError (one line naming the file and row) for the first override whose student,
    assignment or test does not exist.

    students: the known student ids (None: not checked); tests: ``{assignment: test names}`` of the
    course (``rubric.rubric_tests``); a parametrised test's name is known by its function's name."""
    for o in overrides:
        row = f"{o.where}: {o.student},{o.assignment},{o.test}"
        if students is not None and o.student not in students:
            raise PolicyError(f"{row}: no student {o.student!r} in the class, the results or the roster")
        if o.assignment not in tests:
            raise PolicyError(f"{row}: no assignment {o.assignment!r} in the course "
                              f"(known: {', '.join(sorted(tests)) or 'none'})")
        if o.test.lower() != "total" and o.test.split("[", 1)[0] not in tests[o.assignment]:
            raise PolicyError(f"{row}: {o.assignment} has no test {o.test!r} (a test's name, e.g. "
                              f"{min(tests[o.assignment], default='test_...')}, or total)")


def _round(x: float) -> float:
    return round(x + 0.0, 6)


def _recorded_or_current_time(result: dict) -> Stamp:
    """The submission time of the notebook, or the one recorded at grading (``result["submitted"]``)
    when the notebook is not here (results merged on another machine)."""
    notebook = Path(result["notebook"])
    recorded = result.get("submitted") or {}
    if not notebook.exists() and isinstance(recorded, dict) and recorded.get("source"):
        try:
            when = parse_time(str(recorded["time"])) if recorded.get("time") else None
        except PolicyError:
            when = None
        return Stamp(when, str(recorded.get("source") or ""), str(recorded.get("note") or ""))
    return read_stamp(notebook)


def late_notes(late: dict | None, lang: str = "ru") -> list[str]:
    """What a reader must know about a result's lateness beyond its days and penalty (``apply_policy``'s
    ``late``): a time that is only a file time, or none, and the timestamp file's note."""
    from ..core.messages import text

    late = late or {}
    notes = []
    if late.get("unverified") == MTIME and late.get("days_by_mtime"):
        notes.append(text("late_mtime", lang, days=late["days_by_mtime"]))
    elif late.get("unverified") == NO_TIME:
        notes.append(text("late_unknown", lang))
    if late.get("note") and (notes or late.get("days_late")):
        notes.append(str(late["note"]))
    return notes


def mark_problem(mark: Mark, result: dict) -> str | None:
    """Why ``mark`` cannot be applied to ``result`` (its student's submission), or None."""
    test = next((t for t in result.get("tests", []) if t.get("manual") and t["name"] == mark.item), None)
    if test is None:
        return f"{mark.assignment} has no manually graded item {mark.item!r}"
    if mark.points > float(test["max_score"]):
        return f"{mark.points:g} points is more than the item's {float(test['max_score']):g}"
    return None


def apply_policy(result: dict, late: LatePolicy | LateRules | None = None, overrides: list[Override] = (),
                 marks: list[Mark] = ()) -> dict:
    """A copy of ``result`` with the TA's marks, the late rule and the overrides applied.

    ``late`` is one rule for every assignment or ``LateRules`` (the rule of the result's assignment).

    Adds ``raw_score`` (the automatic score: manual items count as graded, i.e. 0 while pending),
    ``late`` (when a deadline is set) and ``adjustments`` (one entry per applied override); a
    marked item gets status ``marked`` and ``mark`` (points, comment, ``stale`` when the answer
    changed since it was marked); ``score`` becomes the final score.
    """
    if isinstance(late, LateRules):
        late = late.get(result.get("assignment"))
    r = copy.deepcopy(result)
    for t in r.get("tests", []):  # undo what a previous run applied (result.json holds it)
        t.pop("override", None)
        if "raw_score" in t:
            t["score"] = t.pop("raw_score")
        before = (t.pop("mark", None) or {}).get("before")
        if isinstance(before, dict):
            t["score"], t["status"] = before.get("score", 0.0), before.get("status", "pending")
    raw = float(sum(t["score"] for t in r.get("tests", [])))
    r["raw_score"] = _round(raw)
    r["adjustments"] = []
    r.pop("late", None)
    key = (r.get("student"), r.get("assignment") or "")
    latest = {m.item: m for m in marks if (m.student, m.assignment) == key}  # a later row wins
    for m in latest.values():
        if mark_problem(m, r):
            continue
        test = next(t for t in r["tests"] if t.get("manual") and t["name"] == m.item)
        stale = bool(m.answer and test.get("answer") and m.answer != test["answer"])
        test["mark"] = {"points": m.points, "comment": m.comment, "stale": stale, "where": m.where,
                        "before": {"score": test["score"], "status": test["status"]}}
        test["score"], test["status"] = _round(m.points), "marked"
    mine = [o for o in overrides if o.student == r.get("student") and o.assignment == (r.get("assignment") or "")]

    for o in mine:
        if o.test.lower() == "total":
            continue
        test = next((t for t in r.get("tests", []) if t["name"] == o.test), None)
        if test is None:
            r["adjustments"].append({"test": o.test, "points": o.points, "comment": o.comment,
                                     "applied": False, "note": f"no such test (overrides line {o.line})"})
            continue
        before = test["score"]
        test["raw_score"] = before
        test["score"] = _round(before + o.points if o.relative else o.points)
        test["override"] = {"points": test["score"], "comment": o.comment}
        r["adjustments"].append({"test": o.test, "before": before, "after": test["score"],
                                 "comment": o.comment, "applied": True})
    score = float(sum(t["score"] for t in r.get("tests", [])))

    if late is not None and late.deadline is not None and r.get("notebook"):
        stamp = _recorded_or_current_time(r)
        when = stamp.time
        info = {"deadline": late.deadline.isoformat(timespec="minutes"), "rule": late.rule,
                "submitted": when.isoformat(timespec="seconds") if when else None, "source": stamp.source,
                "days_late": 0, "penalty": 0.0}
        if stamp.note:
            info["note"] = stamp.note
        days = math.ceil((when - late.deadline).total_seconds() / 86400) if when and when > late.deadline else 0
        if when is None:
            info["unverified"] = NO_TIME      # nothing to charge by
        elif stamp.source == MTIME:
            info["unverified"] = MTIME        # a copy's time: shown, never charged
            info["days_by_mtime"] = days
        elif days:
            info["days_late"] = days
            if late.rule == "zero":
                penalty = score
            elif late.rule == "per-day":
                penalty = min(score, r.get("max_score", 0.0) * late.percent_per_day / 100 * days)
            else:
                penalty = 0.0
            info["penalty"] = _round(max(0.0, penalty))
            score -= info["penalty"]
        r["late"] = info

    for o in mine:
        if o.test.lower() != "total":
            continue
        before = score
        score = score + o.points if o.relative else o.points
        r["adjustments"].append({"test": "total", "before": _round(before), "after": _round(score),
                                 "comment": o.comment, "applied": True})
    r["score"] = _round(score)
    return r


def mark_warnings(marks: list[Mark], results: list[dict]) -> list[str]:
    """What the instructor should hear about the marks: a mark naming no graded submission, one
    that cannot be applied, one made on an answer that changed since (one line each)."""
    by_key = {(r.get("student"), r.get("assignment") or ""): r for r in results}
    latest = {(m.student, m.assignment, m.item): m for m in marks}
    lines = []
    for (student, aid, item), m in latest.items():
        r = by_key.get((student, aid))
        if r is None:
            lines.append(f"{m.where}: no graded submission of {student!r} for {aid!r}")
            continue
        problem = mark_problem(m, r)
        if problem:
            lines.append(f"{m.where}: not applied: {problem}")
            continue
        test = next(t for t in r["tests"] if t.get("manual") and t["name"] == item)
        if (test.get("mark") or {}).get("stale"):
            lines.append(f"{m.where}: {student}/{aid} {item}: the answer changed since it was marked "
                         "(the mark is applied; review it again)")
    return lines


def unmatched_overrides(overrides: list[Override], results: list[dict]) -> list[Override]:
    """Overrides naming a (student, assignment) that was not graded: probably a typo."""
    seen = {(r.get("student"), r.get("assignment") or "") for r in results}
    return [o for o in overrides if (o.student, o.assignment) not in seen]
