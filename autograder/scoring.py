"""Run an assignment's rubric with pytest in a separate process and read back the scores.

The pytest process writes one JSON line per collected test and per finished test
(see ``autograder.plugin``).  A test that was collected but never finished (the process was
killed at its deadline, or student code ended it) scores zero with a message saying so.

The pytest process is the grader: it never imports student code.  The ``submission`` fixture
starts a sandboxed worker (``autograder.remote``) whose writable folder is ``scratch``; the results
file and the pytest working folder are in ``workdir``, a folder the sandbox cannot see or write.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox
from .course import Assignment
from .execute import child_env, kill_tree

#: RLIMIT_DATA of the grading pytest process, in MB, so that a hole left in the wire caps costs one
#: test of one submission, not the machine: beyond it an allocation raises MemoryError.
#: Measured peak VmData of the grading process (solutions, bwrap): a01-a04 204-211 MB, a05 333 MB
#: with torch and the synthetic CIFAR-10 (estimated 650 MB with the real test set); one message
#: may add about 0.5 GB (the caps in ``autograder.wire``).  RLIMIT_DATA rather than RLIMIT_AS:
#: torch and the BLAS threads reserve address space they never use (a05: VmSize 880 MB).
#: Never below the assignment's memory_mb: the worker inherits the limit, and its own RLIMIT_AS
#: (memory_mb) is meant to be the one that binds.
GRADER_MEMORY_MB = 4096

UNFINISHED = ("Проверка не завершилась: процесс проверки был остановлен (превышено общее время "
              "проверки, или ваш код завершил процесс: sys.exit, os._exit, нехватка памяти).")


@dataclass
class RubricRun:
    tests: list[dict] = field(default_factory=list)
    import_errors: list[str] = field(default_factory=list)
    error: str | None = None          # the rubric itself could not run (not the student's fault)
    isolation: str | None = None      # how the submission's worker was isolated (autograder.sandbox)
    seconds: float = 0.0


def pytest_command(assignment: Assignment, notebook: Path | None, results: Path, **options) -> list[str]:
    """The command line of the grading pytest process (options: see ``rubric_args``)."""
    return [sys.executable, "-m", "pytest", "-p", "autograder.plugin",
            *rubric_args(assignment, notebook, results, **options)]


def rubric_args(assignment: Assignment, notebook: Path | None, results: Path, *,
                public_only: bool = False, data_dir: Path | None = None,
                collect_only: bool = False, scratch: Path | None = None,
                isolation: str | None = None, files: Path | None = None,
                terminal: bool = True) -> list[str]:
    """pytest's arguments for running ``assignment``'s rubric; the plugin is loaded by the caller
    (``-p autograder.plugin`` on a command line, ``plugins=`` in ``pytest.main``).
    terminal=False: no terminal reporter (the self-check prints its own table)."""
    quiet = ["-q", "--no-header", "-rN"] if terminal else ["-p", "no:terminal"]
    cmd = [
        str(assignment.rubric), "-p", "no:cacheprovider", *quiet,
        "-c", str(results.parent / "pytest.ini"),
        "--rootdir", str(assignment.rubric.parent), "--confcutdir", str(assignment.rubric.parent),
        # speed (see README "Performance"): only the rubric is assertion-rewritten (python_files=*.py
        # rewrote every imported module, hypothesis included, ~2.5 s CPU per run), and no plugin
        # autoload (it marks every plugin's package for rewriting): just the two plugins we use
        "--disable-plugin-autoload", "-p", "pytest_timeout", "-p", "_hypothesis_pytestplugin",
        "-o", f"python_files={assignment.rubric.name}", "-o", f"timeout={assignment.test_timeout}",
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
    if scratch is not None:
        cmd += ["--ag-scratch", str(scratch)]
    if isolation is not None:
        cmd += ["--ag-isolation", isolation]
    if files is not None:
        cmd += ["--ag-files", str(files)]
    limits = sandbox.Limits.of(assignment, cpu_s=assignment.rubric_timeout)
    cmd += ["--ag-limits", json.dumps(limits.as_dict())]
    return cmd


def grader_memory_mb(assignment: Assignment) -> int:
    """The memory limit of the grading pytest process for ``assignment`` (see GRADER_MEMORY_MB)."""
    return max(GRADER_MEMORY_MB, int(assignment.memory_mb))


def _limit_memory(pid: int, memory_mb: int) -> None:
    """RLIMIT_DATA of a started process (prlimit, not preexec_fn: classes are graded from threads).
    It applies before any student code runs: the worker starts seconds later, from this process."""
    limit = memory_mb * 2**20
    try:
        resource.prlimit(pid, resource.RLIMIT_DATA, (limit, limit))
    except ProcessLookupError:  # already gone: its output says why
        pass


def _run(cmd: list[str], workdir: Path, timeout: float, memory_mb: int) -> tuple[bool, str]:
    proc = subprocess.Popen(cmd, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    _limit_memory(proc.pid, memory_mb)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return False, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        out, _ = proc.communicate()
        return True, out.decode("utf-8", "replace")


def _read(results: Path) -> tuple[list[dict], dict[str, dict], list[str], str | None]:
    collected, finished, import_errors, isolation = [], {}, [], None
    if not results.exists():
        return collected, finished, import_errors, isolation
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
            isolation = rec.get("isolation")
    return collected, finished, import_errors, isolation


def run_rubric(assignment: Assignment, notebook: Path | None, workdir: Path, *,
               public_only: bool = False, data_dir: Path | None = None,
               collect_only: bool = False, scratch: Path | None = None,
               isolation: str | None = None, files: Path | None = None) -> RubricRun:
    """Score ``notebook`` (or, with collect_only, just list the rubric's tests).

    workdir: the grader's private folder (results file, current folder of pytest); never the
    sandbox's.  scratch: the submission's writable folder (files beside the notebook).
    isolation: resolved by ``sandbox.probe`` (the worker runs under it).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    results = workdir / ("_collected.jsonl" if collect_only else "_results.jsonl")
    results.unlink(missing_ok=True)
    (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    start = time.monotonic()
    cmd = pytest_command(assignment, notebook, results, public_only=public_only,
                         data_dir=data_dir, collect_only=collect_only, scratch=scratch,
                         isolation=isolation, files=files)
    timed_out, output = _run(cmd, workdir, assignment.rubric_timeout, grader_memory_mb(assignment))
    collected, finished, import_errors, isolation = _read(results)
    run = RubricRun(import_errors=import_errors, seconds=time.monotonic() - start, isolation=isolation)
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
