"""The course file ``autograder.toml`` at the course root: settings that are flags otherwise.

    [grading]
    jobs = 2                      # submissions graded in parallel (default: the machine's cores)
    sandbox = "auto"              # auto | required | off
    lang = "ru"                   # ru | en: language of the HTML pages
    data = "data"                 # data folder for tests that need one
    deadline = "2026-12-01T23:59" # ISO 8601 text or a TOML date-time; no offset: local time
    late_policy = "per-day:10"    # none | zero | per-day:P
    overrides = "overrides.csv"   # manual adjustments
    marks = "marks"               # the TA's marks of manually graded items: a CSV, a folder, or a list
    roster = "roster.csv"         # the class list
    released = ["a01_neurons"]    # what the roster expects (default: the assignments graded)

    [assignments.a01_neurons]     # per assignment: its own deadline, late rule, weight
    deadline = "2026-10-01T23:59"
    late_policy = "zero"
    weight = 20                   # points of the total (default: the total is the sum of points)

    [release]
    bundle_url = "https://example.org/nn-course.zip"   # what the notebooks' first cell installs

Every value is read through :func:`load`; a flag given on the command line overrides the file
(:meth:`Config.override`).  Relative paths are relative to the course root.  An unknown table or
key is an error (:class:`ConfigError`, one line), so a typo never silently does nothing.

Date-times: TOML 1.0 needs seconds (``2026-12-01T23:59:00``); the minutes-only form people write
(``deadline = 2026-12-01T23:59``, an offset allowed) is read as the string it means
(:func:`_lenient_toml`), and any other unreadable date says how to write it.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FILE_NAME = "autograder.toml"
SANDBOX_LEVELS = ("off", "auto", "required")
LANGUAGES = ("ru", "en")


class ConfigError(ValueError):
    """The course file cannot be read: the message is one line naming the file and the key."""


@dataclass(frozen=True)
class AssignmentSettings:
    """``[assignments.<id>]``: what differs for one assignment (None: the course's value)."""

    deadline: str | None = None
    late_policy: str | None = None
    weight: float | None = None


@dataclass(frozen=True)
class Config:
    """The effective settings: the course file's values, then the flags' (``override``)."""

    root: Path
    jobs: int | None = None
    sandbox: str = "auto"
    lang: str = "ru"
    data: Path | None = None
    deadline: str | None = None
    late_policy: str = "none"
    overrides: Path | None = None
    marks: tuple[Path, ...] = ()
    roster: Path | None = None
    released: tuple[str, ...] | None = None  # None: the assignments that have results
    bundle_url: str | None = None
    assignments: dict[str, AssignmentSettings] = field(default_factory=dict)
    source: Path | None = None  # the file read (None: there is none)

    def override(self, **flags) -> "Config":
        """A copy with every flag that was given (not None) replacing the file's value.

        A ``deadline`` or ``late_policy`` flag holds for every assignment: it also replaces the
        ``[assignments.<id>]`` values of that key.  Path flags are taken as given (relative to
        the current folder, like any command-line path).
        """
        given = {k: v for k, v in flags.items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(self)} - {"root", "source", "assignments"}
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}")
        for key in ("data", "overrides", "roster"):
            if key in given:
                given[key] = Path(given[key])
        if "marks" in given:
            given["marks"] = tuple(Path(m) for m in given["marks"])
        per = {key: None for key in ("deadline", "late_policy") if key in given}
        if per:
            given["assignments"] = {aid: dataclasses.replace(a, **per) for aid, a in self.assignments.items()}
        return dataclasses.replace(self, **given)

    def late_rules(self):
        """The late rule of every assignment (``policy.LateRules``); PolicyError on bad values."""
        from ..classroom.policy import LatePolicy, LateRules, PolicyError

        def rule(deadline, late_policy, where):
            if not deadline and late_policy and late_policy != "none":
                raise PolicyError(f"{where}late_policy {late_policy!r} needs a deadline")
            return LatePolicy.parse(deadline, late_policy) if deadline else None

        default = rule(self.deadline, self.late_policy, "")
        per = {aid: rule(a.deadline or self.deadline, a.late_policy or self.late_policy,
                         f"[assignments.{aid}] ")
               for aid, a in self.assignments.items()}
        return LateRules(default, {aid: r for aid, r in per.items() if r is not None})

    def weights(self) -> dict[str, float]:
        """``{assignment: weight}`` of the assignments given a weight (empty: the total is the sum
        of points; else the total is ``sum(weight * score / max_score)``)."""
        return {aid: a.weight for aid, a in self.assignments.items() if a.weight is not None}


# ------------------------------------------------------------------ reading the file

def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _time(value, where: str) -> str:
    """A TOML date-time (with or without offset) or a string; kept as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        raise ConfigError(f"{where}: give a date and a time (2026-12-01T23:59), got {value!r}")
    from ..classroom.policy import PolicyError, parse_time

    try:
        parse_time(_text(value, where))
    except PolicyError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return value


def _weight(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ConfigError(f"{where}: expected a number of at least 0, got {value!r}")
    return float(value)


def _late_policy(value, where: str) -> str:
    from ..classroom.policy import LatePolicy, PolicyError

    try:
        LatePolicy.parse(None, _text(value, where))
    except PolicyError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return value


def _jobs(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: expected a whole number of at least 1, got {value!r}")
    return value


def _choice(options):
    def check(value, where: str) -> str:
        if value not in options:
            raise ConfigError(f"{where}: expected one of {', '.join(options)}, got {value!r}")
        return value
    return check


def _path(root: Path):
    def check(value, where: str) -> Path:
        return (root / os.path.expanduser(_text(value, where))).resolve()
    return check


def _paths(root: Path):
    def check(value, where: str) -> tuple[Path, ...]:
        values = value if isinstance(value, list) else [value]
        return tuple(_path(root)(v, where) for v in values)
    return check


def _keys(table, name: str, known: dict, where: Path) -> dict:
    """Check a table's keys against ``known`` ({key: converter}) and convert its values."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {name}.{unknown[0]} (known keys of [{name}]: "
                          f"{', '.join(known)})")
    return {key: known[key](value, f"{where}: {name}.{key}") for key, value in table.items()}


def _assignment_ids(root: Path) -> set[str]:
    return {p.stem for p in (root / "tests" / "grading").glob("a*.py")}


def _released(ids: set[str]):
    def check(value, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of assignment ids, got {value!r}")
        unknown = [v for v in value if v not in ids]
        if unknown:
            raise ConfigError(f"{where}: no such assignment {unknown[0]!r} (tests/grading/{unknown[0]}.py); "
                              f"known: {', '.join(sorted(ids)) or 'none'}")
        return tuple(dict.fromkeys(value))
    return check


#: ``key = 2026-12-01T23:59`` (no seconds; an offset allowed): not a TOML 1.0 date-time
_MINUTES = re.compile(r"^(\s*[A-Za-z0-9_.\-\"' ]+?\s*=\s*)(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?:[Zz]|[+-]\d{2}:\d{2})?)"
                      r"(\s*(?:#.*)?)$", re.MULTILINE)
_LINE = re.compile(r"at line (\d+)")


def _lenient_toml(text: str, path: Path) -> dict:
    """``tomllib.loads(text)``, with ``key = YYYY-MM-DDTHH:MM`` (no seconds) read as that text.

    A file that is still not TOML is a ConfigError; when the line at fault holds a date, the
    message says how to write one."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as first:
        fixed = _MINUTES.sub(lambda m: f'{m.group(1)}"{m.group(2)}"{m.group(3)}', text)
        if fixed != text:
            try:
                return tomllib.loads(fixed)
            except tomllib.TOMLDecodeError:
                pass
        found = _LINE.search(str(first))
        lines = text.splitlines()
        line = lines[int(found.group(1)) - 1] if found and 0 < int(found.group(1)) <= len(lines) else ""
        hint = ""
        if re.search(r"\d{4}-\d{2}-\d{2}", line):
            hint = ('; write a date-time with seconds (2026-12-01T23:59:00) or in quotes '
                    '("2026-12-01T23:59")')
        raise ConfigError(f"{path}: not valid TOML: {first}{hint}") from None


def load(course_root: str | os.PathLike) -> Config:
    """The settings of the course at ``course_root`` (defaults where it has no ``autograder.toml``)."""
    root = Path(course_root).resolve()
    path = root / FILE_NAME
    if not path.is_file():
        return Config(root=root)
    try:
        raw = _lenient_toml(path.read_text(encoding="utf-8"), path)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tables = {"grading", "assignments", "release"}
    unknown = sorted(set(raw) - tables)
    if unknown:
        raise ConfigError(f"{path}: unknown table or key {unknown[0]!r} (known: [grading], "
                          "[assignments.<id>], [release])")
    ids = _assignment_ids(root)
    grading = _keys(raw.get("grading", {}), "grading", {
        "jobs": _jobs, "sandbox": _choice(SANDBOX_LEVELS), "lang": _choice(LANGUAGES), "data": _path(root),
        "deadline": _time, "late_policy": _late_policy, "overrides": _path(root), "marks": _paths(root),
        "roster": _path(root), "released": _released(ids),
    }, path)
    release = _keys(raw.get("release", {}), "release", {"bundle_url": _text}, path)
    per_assignment = raw.get("assignments", {})
    if not isinstance(per_assignment, dict):
        raise ConfigError(f"{path}: [assignments] must hold tables [assignments.<id>]")
    assignments = {}
    for aid, table in per_assignment.items():
        if aid not in ids:
            raise ConfigError(f"{path}: [assignments.{aid}]: no such assignment (tests/grading/{aid}.py); "
                              f"known: {', '.join(sorted(ids)) or 'none'}")
        values = _keys(table, f"assignments.{aid}", {"deadline": _time, "late_policy": _late_policy,
                                                                 "weight": _weight}, path)
        assignments[aid] = AssignmentSettings(**values)
    return Config(root=root, **grading, **release, assignments=assignments, source=path)
