"""Late rule and manual adjustments, applied to graded results after grading.

Both are recomputed from the raw test scores on every run (they are never cached), so changing
the deadline or the overrides file needs no regrading.

Late rule (nbgrader's idea), per assignment (``LateRules``: ``autograder.toml`` gives each
assignment its own deadline and rule): a submission's time is the first line of ``timestamp.txt`` beside
the notebook, or else the notebook's modification time.  ``none`` records lateness without a
penalty, ``zero`` gives 0 points to a late submission, ``per-day:P`` takes P % of the maximum
points for every started day late (never below zero).

Overrides CSV: columns ``student, assignment, test, points, comment``.  ``test`` is a test's name
(``test_linear_shape``) or ``total``.  ``points`` is absolute (``3``: the test or total becomes 3)
or relative with a sign (``+1``, ``-0.5``).  Order: test overrides, then the late rule, then a
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


def apply_policy(result: dict, late: LatePolicy | LateRules | None = None, overrides: list[Override] = (),
                 ) -> dict:
    """A copy of ``result`` with the late rule and the overrides applied.

    ``late`` is one rule for every assignment or ``LateRules`` (the rule of the result's assignment).

    Adds ``raw_score`` (the automatic score), ``late`` (when a deadline is set) and
    ``adjustments`` (one entry per applied override); ``score`` becomes the final score.
    """
    if isinstance(late, LateRules):
        late = late.get(result.get("assignment"))
    r = copy.deepcopy(result)
    for t in r.get("tests", []):
        t.pop("override", None)
        if "raw_score" in t:
            t["score"] = t.pop("raw_score")
    raw = float(sum(t["score"] for t in r.get("tests", [])))
    r["raw_score"] = _round(raw)
    r["adjustments"] = []
    r.pop("late", None)
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


def unmatched_overrides(overrides: list[Override], results: list[dict]) -> list[Override]:
    """Overrides naming a (student, assignment) that was not graded: probably a typo."""
    seen = {(r.get("student"), r.get("assignment") or "") for r in results}
    return [o for o in overrides if (o.student, o.assignment) not in seen]
