"""Run an assignment's rubric with pytest in a separate process and read back the scores.

The pytest process writes one JSON line per collected test and per finished test
(see ``autograder.plugin``).  A test that was collected but never finished (the process was
killed at its deadline, or student code ended it) scores zero with a message saying so.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .course import Assignment
from .execute import child_env, kill_tree

UNFINISHED = ("Проверка не завершилась: процесс проверки был остановлен (превышено общее время "
              "проверки, или ваш код завершил процесс: sys.exit, os._exit, нехватка памяти).")


@dataclass
class RubricRun:
    tests: list[dict] = field(default_factory=list)
    import_errors: list[str] = field(default_factory=list)
    error: str | None = None          # the rubric itself could not run (not the student's fault)
    seconds: float = 0.0


def pytest_command(assignment: Assignment, notebook: Path | None, results: Path, *,
                   public_only: bool = False, data_dir: Path | None = None,
                   collect_only: bool = False) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest", str(assignment.rubric),
        "-p", "autograder.plugin", "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
        "-c", str(results.parent / "pytest.ini"),
        "--rootdir", str(assignment.rubric.parent), "--confcutdir", str(assignment.rubric.parent),
        "-o", "python_files=*.py", "-o", f"timeout={assignment.test_timeout}",
        "-o", "timeout_method=signal", "-W", "ignore::DeprecationWarning",
        "--ag-results", str(results),
    ]
    if notebook is not None:
        cmd += ["--submission", str(notebook)]
    if public_only:
        cmd.append("--ag-public-only")
    if data_dir is not None:
        cmd += ["--ag-data", str(data_dir)]
    if collect_only:
        cmd.append("--collect-only")
    return cmd


def _run(cmd: list[str], workdir: Path, timeout: float) -> tuple[bool, str]:
    proc = subprocess.Popen(cmd, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return False, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        out, _ = proc.communicate()
        return True, out.decode("utf-8", "replace")


def _read(results: Path) -> tuple[list[dict], dict[str, dict], list[str]]:
    collected, finished, import_errors = [], {}, []
    if not results.exists():
        return collected, finished, import_errors
    for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = rec.pop("kind", None)
        if kind == "collected":
            collected.append(rec)
        elif kind == "test":
            finished.setdefault(rec["name"], rec)
        elif kind == "import_errors":
            import_errors = rec.get("errors", [])
    return collected, finished, import_errors


def run_rubric(assignment: Assignment, notebook: Path | None, workdir: Path, *,
               public_only: bool = False, data_dir: Path | None = None,
               collect_only: bool = False) -> RubricRun:
    """Score ``notebook`` (or, with collect_only, just list the rubric's tests).

    workdir: a scratch folder; it is the current folder of the pytest process.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    results = workdir / ("_collected.jsonl" if collect_only else "_results.jsonl")
    results.unlink(missing_ok=True)
    (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    start = time.monotonic()
    cmd = pytest_command(assignment, notebook, results, public_only=public_only,
                         data_dir=data_dir, collect_only=collect_only)
    timed_out, output = _run(cmd, workdir, assignment.rubric_timeout)
    collected, finished, import_errors = _read(results)
    run = RubricRun(import_errors=import_errors, seconds=time.monotonic() - start)
    if not collected:
        tail = "\n".join(output.strip().splitlines()[-15:])
        run.error = f"rubric {assignment.rubric.name} could not be collected:\n{tail}"
        return run
    for info in collected:
        rec = finished.get(info["name"])
        if rec is None:
            status = "failed" if not collect_only else "not run"
            rec = {**info, "score": 0.0, "status": status, "output": "" if collect_only else UNFINISHED}
        run.tests.append(rec)
    for f in (results, workdir / "pytest.ini"):
        f.unlink(missing_ok=True)
    return run
