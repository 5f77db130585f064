"""Late rule and manual adjustments, applied to graded results after grading.

Both are recomputed from the raw test scores on every run (they are never cached), so changing
the deadline or the overrides file needs no regrading.

Late rule (nbgrader's idea), per assignment (``LateRules``: ``autograder.toml`` gives each
assignment its own deadline and rule): a submission's time is the first line of ``timestamp.txt`` beside
the notebook, or else the notebook's modification time.  ``none`` records lateness without a
penalty, ``zero`` gives 0 points to a late submission, ``per-day:P`` takes P % of the maximum
points for every started day late (never below zero).

Marks CSV (what a TA saves from ``autograder review``): columns ``student, assignment, item,
points, comment, answer``.  ``item`` is a manually graded item of the rubric (``MANUAL``);
``points`` (0 to the item's points) replaces its pending 0 and its status becomes ``marked``; an
empty ``points`` leaves it pending; ``answer`` is the digest of the answer that was marked (a
mark on an answer that changed since is still applied, and reported as ``stale``).  Several files
(or folders of them) may be given: a later row for the same item wins.

Overrides CSV: columns ``student, assignment, test, points, comment``.  ``test`` is a test's name
(``test_linear_shape``) or ``total``.  ``points`` is absolute (``3``: the test or total becomes 3)
or relative with a sign (``+1``, ``-0.5``).  Order: marks, test overrides, then the late rule, then a
``total`` override (the instructor's final word).
"""
from __future__ import annotations

import copy
import csv
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

TIMESTAMP_FILE = "timestamp.txt"


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


def submission_time(notebook: Path) -> tuple[datetime | None, str]:
    """(time, where it came from): ``timestamp.txt`` beside the notebook, else the file's mtime."""
    from ..engine.intake import mtime, read_regular

    stamp = Path(notebook).parent / TIMESTAMP_FILE
    try:
        text = read_regular(stamp, 4096).decode("utf-8", errors="replace")
        return parse_time(text.strip().splitlines()[0]), TIMESTAMP_FILE
    except (OSError, IndexError, PolicyError):
        pass  # missing, a link or unreadable: fall back to the file time
    when = mtime(Path(notebook))
    if when is None:
        return None, ""
    return datetime.fromtimestamp(when, timezone.utc).astimezone(), "mtime"


@dataclass(frozen=True)
class Override:
    student: str
    assignment: str
    test: str            # a test name or "total"
    points: float
    relative: bool
    comment: str
    line: int


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
                                 text.startswith(("+", "-")), row.get("comment", ""), n))
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


def _round(x: float) -> float:
    return round(x + 0.0, 6)


def _recorded_or_current_time(result: dict) -> tuple[datetime | None, str]:
    """The submission time of the notebook, or the one recorded at grading (``result["submitted"]``)
    when the notebook is not here (results merged on another machine)."""
    notebook = Path(result["notebook"])
    recorded = result.get("submitted") or {}
    if not notebook.exists() and isinstance(recorded, dict) and recorded.get("time"):
        try:
            return parse_time(str(recorded["time"])), str(recorded.get("source") or "")
        except PolicyError:
            pass
    return submission_time(notebook)


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
        when, source = _recorded_or_current_time(r)
        info = {"deadline": late.deadline.isoformat(timespec="minutes"), "rule": late.rule,
                "submitted": when.isoformat(timespec="seconds") if when else None, "source": source,
                "days_late": 0, "penalty": 0.0}
        if when is not None and when > late.deadline:
            days = math.ceil((when - late.deadline).total_seconds() / 86400)
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
