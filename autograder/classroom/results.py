"""What grading writes: per-submission JSON (written by grade), the gradebook CSV, Gradescope's
results.json, and the summary table printed at the end."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import re
from pathlib import Path

from ..core.files import RESULT_FILE


def _fmt(x: float) -> str:
    return f"{x:g}"


#: what makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet never runs: text starting with ``= + - @``, TAB or CR gets
    a leading ``'`` (OWASP's rule; a plain number such as ``-0.5`` stays a number)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


class _CsvWriter:
    """``csv.writer`` whose every cell goes through ``csv_cell``: the one way grading writes CSV."""

    def __init__(self, fh):
        self._writer = csv.writer(fh)

    def writerow(self, row) -> None:
        self._writer.writerow([csv_cell(c) for c in row])


def comments(result: dict, lang: str = "ru") -> str:
    """The gradebook's comment of a result: the TA's comments on manual items, the applied
    overrides' comments, then what the late rule could not charge and why (``policy.late_notes``)."""
    from .policy import late_notes

    marks = [f"{t['name']}: {t['mark']['comment']}" for t in result.get("tests") or []
             if (t.get("mark") or {}).get("comment")]  # a TA's comment on a manually graded item
    notes = [a["comment"] for a in result.get("adjustments") or []
             if a.get("applied", True) and a.get("comment")]  # an override of no test is not shown
    return "; ".join([*marks, *notes, *late_notes(result.get("late"), lang)])


def write_gradebook(results: list[dict], path, lang: str = "ru") -> None:
    """One row per (student, assignment): score, max_score, then one column per test
    (``<assignment>/<test>``), empty where a test does not belong to the row's assignment."""
    columns: list[str] = []
    for r in results:
        for t in r["tests"]:
            col = f"{r['assignment']}/{t['name']}"
            if col not in columns:
                columns.append(col)
    fh = path if hasattr(path, "write") else open(path, "w", newline="", encoding="utf-8")
    with contextlib.nullcontext(fh) if fh is path else fh:
        w = _CsvWriter(fh)
        w.writerow(["student", "assignment", "score", "max_score", "status",
                    "auto_score", "days_late", "late_penalty", "comment", *columns])
        for r in sorted(results, key=lambda r: (r["student"], r["assignment"] or "")):
            per = {f"{r['assignment']}/{t['name']}": PENDING if t.get("status") == PENDING else _fmt(t["score"])
                   for t in r["tests"]}
            late = r.get("late") or {}
            w.writerow([r["student"], r["assignment"] or "", _fmt(r["score"]), _fmt(r["max_score"]),
                        r["status"], _fmt(r.get("raw_score", r["score"])), late.get("days_late", ""),
                        _fmt(late["penalty"]) if late else "", comments(r, lang),
                        *[per.get(c, "") for c in columns]])


#: a manually graded item no TA has marked yet (``engine.answers``): 0 points, not a failure
PENDING = "pending"

#: statuses of placeholder rows (no result file): not submitted (roster), not merged (a shard is missing)
MISSING, NOT_MERGED = "missing", "shard-missing"


def points_possible(results: list[dict], fallback: dict[str, float] | None = None) -> dict[str, float]:
    """``{assignment: points possible}``: the largest ``max_score`` its results have, else
    ``fallback``'s (the rubric's points, ``rubric.course_points``) for an assignment without any."""
    found: dict[str, float] = {}
    for r in results:
        if r.get("assignment") and r.get("status") not in (MISSING, NOT_MERGED):
            found[r["assignment"]] = max(found.get(r["assignment"], 0.0), float(r.get("max_score") or 0))
    for aid, points in (fallback or {}).items():
        if not found.get(aid):
            found[aid] = float(points)
    return found


def weighted_total(scores: dict[str, float], possible: dict[str, float],
                   weights: dict[str, float] | None = None) -> float:
    """A student's total: the sum of the points, or with ``weights`` (``config.Config.weights``)
    ``sum(weight * score / points possible)`` over the weighted assignments (others count 0)."""
    if not weights:
        return round(sum(scores.values()) + 0.0, 6)
    return round(sum(w * scores[aid] / possible[aid] for aid, w in weights.items()
                     if aid in scores and possible.get(aid)) + 0.0, 6)


def grades_csv(results: list[dict], roster=None, weights: dict[str, float] | None = None) -> str:
    """The import format of most gradebooks (LMS): one row per student, one column per
    assignment (final score), and the total (``weighted_total``).  ``roster``
    (``autograder.classroom.roster.Student`` list): name and email columns after the student.  A
    row of a missing shard leaves its cell empty.  (``autograder export`` writes what Canvas and
    Moodle import.)"""
    aids = sorted({r["assignment"] for r in results if r["assignment"]})
    possible = points_possible(results)
    scores: dict[str, dict[str, float]] = {}
    for r in results:
        row = scores.setdefault(r["student"], {})
        if r["assignment"] and r.get("status") != NOT_MERGED:
            row[r["assignment"]] = r["score"]
    from .roster import find

    buf = io.StringIO()
    w = _CsvWriter(buf)
    w.writerow(["student", *(["name", "email"] if roster is not None else []), *aids, "total"])
    for student in sorted(scores):
        row = scores[student]
        who = find(roster, student) if roster else None
        names = [who.name, who.email] if who else ["", ""]
        w.writerow([student, *(names if roster is not None else []),
                    *[_fmt(row[a]) if a in row else "" for a in aids], _fmt(weighted_total(row, possible, weights))])
    return buf.getvalue()


def load_results(out_dir: Path) -> list[dict]:
    """Every submission's ``result.json`` in a results folder (``<student>/<assignment>/``), in
    (student, assignment) order: what the class-wide files are written from, so that a run that
    graded some students (``--student``, a shard) keeps everyone else's rows.  A file that cannot be
    read, or that names another place than the one it lies in, is left out."""
    from .reports import submission_dir

    found = []
    for path in sorted(Path(out_dir).glob(f"*/*/{RESULT_FILE}")):
        try:
            r = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not (isinstance(r, dict) and isinstance(r.get("student"), str) and isinstance(r.get("tests"), list)
                and isinstance(r.get("status"), str)):
            continue
        if submission_dir(r) != f"{path.parent.parent.name}/{path.parent.name}":
            continue
        found.append(r)
    return sorted(found, key=lambda r: (r["student"], r.get("assignment") or ""))


GRADESCOPE_VISIBILITY = ("hidden", "after_due_date", "after_published", "visible")


def gradescope(result: dict, lang: str = "ru") -> dict:
    """Gradescope's results.json for one submission.

    Top level: score, execution_time (whole seconds), output, output_format, visibility,
    stdout_visibility, tests.  Each test: score, max_score, status (passed/failed), name, number,
    output, tags, visibility (hidden tests: after_published).
    """
    tests = []
    for number, t in enumerate(result["tests"], start=1):
        entry = {
            "name": f"{t.get('task') + ': ' if t.get('task') else ''}{t.get('description') or t['name']}",
            "number": str(number),
            "score": float(t["score"]),
            "max_score": float(t["max_score"]),
            "status": "passed" if t["status"] == "passed" else "failed",
            "output": t.get("output", "") or "",
            "tags": [t["task"]] if t.get("task") else [],
            "visibility": t.get("visibility") if t.get("visibility") in GRADESCOPE_VISIBILITY else "visible",
        }
        if t.get("manual"):  # Gradescope has no "pending": no status, and the output says so
            from ..core.messages import text

            entry.pop("status")
            mark = t.get("mark") or {}
            said = text("manual_marked" if t["status"] == "marked" else
                        "manual_pending" if t["status"] == PENDING else "manual_no_answer", lang)
            entry["output"] = "\n".join(x for x in (said, mark.get("comment", "")) if x)
        override = t.get("override")
        if override and override.get("comment"):
            entry["output"] = (entry["output"] + "\n" if entry["output"] else "") + override["comment"]
        tests.append(entry)
    from ..core.messages import render

    notes = [render(n, lang) for n in result.get("notices") or []]
    said = render(result["reason"], "ru") if result.get("reason") else None  # errors[] holds it in Russian
    notes += [render(result["reason"], lang) if e == said else e for e in result.get("errors", [])]
    notes += list(result.get("import_errors", []))
    notes += list((result.get("execution") or {}).get("errors", []))
    late = result.get("late") or {}
    if late.get("days_late"):
        notes.append(f"late by {late['days_late']} day(s): penalty {late['penalty']:g} ({late['rule']})")
    from .policy import late_notes

    notes += late_notes(late, lang)
    for a in result.get("adjustments") or []:
        if a.get("applied"):
            notes.append(f"adjusted {a['test']}: {a['before']:g} -> {a['after']:g} {a.get('comment', '')}".rstrip())
    timings = result.get("timings") or {}
    seconds = timings.get("total") or (result.get("execution") or {}).get("seconds") or 0
    return {
        "score": float(result["score"]),
        "execution_time": int(round(float(seconds))),
        "output": "\n".join(str(n) for n in notes),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def junit_xml(results: list[dict]) -> str:
    """JUnit XML for generic CI: a testsuite per submission, a testcase per test
    (failure message = the student's message), points as properties."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="autograder")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in sorted(results, key=lambda r: (r["student"], r["assignment"] or "")):
        name = f"{r['student']}/{r['assignment'] or Path(r['notebook']).stem}"
        tests = r["tests"]
        failures = sum(1 for t in tests if t["status"] == "failed")
        skipped = sum(1 for t in tests if t["status"] in ("skipped", "not_run", PENDING))
        errors = 1 if r["status"] != "graded" else 0
        seconds = (r.get("timings") or {}).get("total", 0) or 0
        suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(tests) + errors),
                              failures=str(failures), errors=str(errors), skipped=str(skipped),
                              time=f"{float(seconds):.2f}")
        props = ET.SubElement(suite, "properties")
        for key in ("score", "max_score", "status"):
            ET.SubElement(props, "property", name=key, value=_fmt(r[key]) if key != "status" else r[key])
        classname = name.replace("/", ".")
        for t in tests:
            case = ET.SubElement(suite, "testcase", classname=classname, name=t["name"], time="0")
            cprops = ET.SubElement(case, "properties")
            ET.SubElement(cprops, "property", name="score", value=_fmt(t["score"]))
            ET.SubElement(cprops, "property", name="max_score", value=_fmt(t["max_score"]))
            if t["status"] == "failed":
                first = (t.get("output") or "").splitlines()[0][:200] if t.get("output") else "failed"
                ET.SubElement(case, "failure", message=first, type="AssertionError").text = t.get("output", "")
            elif t["status"] == "skipped":
                ET.SubElement(case, "skipped", message=(t.get("output") or "")[:200])
            elif t["status"] == "not_run":
                ET.SubElement(case, "skipped", message="not run: " + (r.get("errors") or ["?"])[0][:200])
            elif t["status"] == PENDING:
                ET.SubElement(case, "skipped", message="pending: graded by hand (autograder review)")
        if errors:
            case = ET.SubElement(suite, "testcase", classname=classname, name="grading", time="0")
            ET.SubElement(case, "error", message=r["status"], type=r["status"]).text = "\n".join(r.get("errors", []))
        notes = list((r.get("execution") or {}).get("errors", [])) + list(r.get("import_errors", []))
        if notes:
            ET.SubElement(suite, "system-err").text = "\n".join(notes)
        total["tests"] += len(tests) + errors
        total["failures"] += failures
        total["errors"] += errors
        total["skipped"] += skipped
    for k, v in total.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def summary_table(results: list[dict], lang: str = "ru", width: int = 70) -> str:
    """A plain-text table: student, assignment, score/max, and what went wrong in brief
    (in ``lang``, each note cut at a word boundary to ``width`` characters)."""
    from ..core.messages import render, shorten, text
    from .policy import late_notes

    rows = [("student", "assignment", "score", "notes")]
    for r in sorted(results, key=lambda r: (r["student"], r["assignment"] or "")):
        tests = r["tests"]
        failed = sum(1 for t in tests if t["status"] == "failed")
        skipped = sum(1 for t in tests if t["status"] == "skipped")
        notes = []
        if r["status"] != "graded":
            why = render(r["reason"], lang) if r.get("reason") else (r["errors"][0] if r["errors"] else "")
            notes.append(text(f"status_{r['status']}", lang) + (": " + why if why else ""))
        if tests and all(t["status"] == "not_run" for t in tests):
            notes.append(text("note_not_run", lang))
        if failed:
            notes.append(text("note_failed", lang, n=failed))
        if skipped:
            notes.append(text("note_skipped", lang, n=skipped))
        pending = sum(1 for t in tests if t["status"] == PENDING)
        if pending:
            notes.append(text("note_pending", lang, n=pending))
        execution = r.get("execution") or {}
        if execution.get("timed_out"):
            notes.append(text("note_timed_out", lang))
        elif execution.get("errors"):
            notes.append(text("note_execution_errors", lang, n=len(execution["errors"])))
        late = r.get("late") or {}
        penalty = [text("note_late", lang, days=late["days_late"], penalty=_fmt(late.get("penalty") or 0),
                        rule=late.get("rule", ""))] if late.get("days_late") else []
        notes[:0] = [*penalty, *late_notes(late, lang)]  # first: the score shown is after them
        rows.append((r["student"], r["assignment"] or "?", f"{_fmt(r['score'])}/{_fmt(r['max_score'])}",
                     shorten("; ".join(notes), width)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for k, row in enumerate(rows):
        lines.append(("  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3]).rstrip())
        if k == 0:
            lines.append("-" * (sum(widths) + 6 + 5))
    from .reports import STRINGS, isolation_text

    t = STRINGS.get(lang, STRINGS["en"])
    text, weak = isolation_text([r.get("isolation") for r in results], t)
    lines.append(("!! " if weak else "") + f"{t['isolation']}: {text}")
    return "\n".join(lines)


def _share(path: Path) -> None:
    """Make a file the grader wrote readable to all (``SHARED_MODE``); never through a link."""
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return  # missing, or a link
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) != SHARED_MODE:
            os.fchmod(fd, SHARED_MODE)
    except OSError:
        pass
    finally:
        os.close(fd)


#: the mode of the files a TA shares (feedback pages, reports, exports, the executed notebook):
#: readable by a web server; ``result.json`` stays private to the grader's user
SHARED_MODE = 0o644


def write_all(results: list[dict], out_dir: Path, *, lang: str = "ru", feedback: bool = True,
              report: bool = True, titles: dict[str, str] | None = None, absent: list[dict] = (),
              roster=None, weights: dict[str, float] | None = None) -> None:
    """Everything a grading run leaves in ``out_dir``: gradebook.csv, junit.xml, report.html and,
    per submission, result.json (ours, with the late rule and overrides applied), results.json
    (Gradescope) and feedback.html.  Every file is written atomically; all but result.json are
    ``SHARED_MODE``.

    ``absent``: placeholder rows (status ``missing`` or ``shard-missing``, no tests) that appear in
    gradebook.csv and grades.csv, and as missing work in report.html; ``roster``: adds name and
    email to grades.csv; ``weights``: the total of grades.csv (``weighted_total``)."""
    from ..core.files import atomic_write_text, write_json
    from .reports import class_report_html, feedback_html, submission_dir

    def shared(path: Path, text: str) -> None:
        atomic_write_text(path, text, mode=SHARED_MODE)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [*results, *absent]
    buf = io.StringIO()
    write_gradebook(rows, buf, lang)
    shared(out_dir / "gradebook.csv", buf.getvalue())
    shared(out_dir / "grades.csv", grades_csv(rows, roster, weights))
    shared(out_dir / "junit.xml", junit_xml(results))
    titles = titles or {}
    for r in results:
        dest = out_dir / submission_dir(r)
        write_json(dest / RESULT_FILE, r)
        shared(dest / "results.json", json.dumps(gradescope(r, lang), ensure_ascii=False, indent=2))
        if feedback:
            title = titles.get(r.get("assignment") or "")
            shared(dest / "feedback.html", feedback_html(r, lang, title=title or None))
        _share(dest / "executed.ipynb")
    if report:
        shared(out_dir / "report.html", class_report_html(results, lang, titles, absent=absent))
