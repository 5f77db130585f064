"""What grading writes: per-submission JSON (written by grade), the gradebook CSV, Gradescope's
results.json, and the summary table printed at the end."""
from __future__ import annotations

import csv
import json
from pathlib import Path


def _fmt(x: float) -> str:
    return f"{x:g}"


def write_gradebook(results: list[dict], path: Path) -> None:
    """One row per (student, assignment): score, max_score, then one column per test
    (``<assignment>/<test>``), empty where a test does not belong to the row's assignment."""
    columns: list[str] = []
    for r in results:
        for t in r["tests"]:
            col = f"{r['assignment']}/{t['name']}"
            if col not in columns:
                columns.append(col)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "assignment", "score", "max_score", "status", *columns])
        for r in sorted(results, key=lambda r: (r["student"], r["assignment"] or "")):
            per = {f"{r['assignment']}/{t['name']}": _fmt(t["score"]) for t in r["tests"]}
            w.writerow([r["student"], r["assignment"] or "", _fmt(r["score"]), _fmt(r["max_score"]),
                        r["status"], *[per.get(c, "") for c in columns]])


def gradescope(result: dict) -> dict:
    """Gradescope's results.json for one submission (score, output, tests with name/score/
    max_score/status/output/visibility)."""
    tests = []
    for t in result["tests"]:
        entry = {
            "name": f"{t.get('task') + ': ' if t.get('task') else ''}{t.get('description') or t['name']}",
            "score": t["score"],
            "max_score": t["max_score"],
            "status": "passed" if t["status"] == "passed" else "failed",
            "output": t.get("output", ""),
            "visibility": t.get("visibility", "visible"),
        }
        if t.get("task"):
            entry["tags"] = [t["task"]]
        tests.append(entry)
    notes = result.get("errors", []) + result.get("import_errors", []) + result.get("execution", {}).get("errors", [])
    return {
        "score": result["score"],
        "output": "\n".join(notes),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def summary_table(results: list[dict]) -> str:
    """A plain-text table: student, assignment, score/max, and what went wrong in brief."""
    rows = [("student", "assignment", "score", "notes")]
    for r in sorted(results, key=lambda r: (r["student"], r["assignment"] or "")):
        failed = sum(1 for t in r["tests"] if t["status"] == "failed")
        skipped = sum(1 for t in r["tests"] if t["status"] == "skipped")
        notes = []
        if r["status"] != "graded":
            notes.append(r["status"] + ": " + (r["errors"][0].splitlines()[0][:60] if r["errors"] else ""))
        if failed:
            notes.append(f"{failed} test(s) failed")
        if skipped:
            notes.append(f"{skipped} not graded")
        if r.get("execution", {}).get("timed_out"):
            notes.append("notebook timed out")
        rows.append((r["student"], r["assignment"] or "?", f"{_fmt(r['score'])}/{_fmt(r['max_score'])}",
                     "; ".join(notes)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3])
        if k == 0:
            lines.append("-" * (sum(widths) + 6 + 5))
    return "\n".join(lines)


def write_all(results: list[dict], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_gradebook(results, out_dir / "gradebook.csv")
    for r in results:
        dest = out_dir / r["student"] / (r["assignment"] or Path(r["notebook"]).stem)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / "results.json").write_text(json.dumps(gradescope(r), ensure_ascii=False, indent=2), encoding="utf-8")
