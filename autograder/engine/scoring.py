"""Run an assignment's rubric with pytest in a separate process and read back the scores.

The pytest process writes one JSON line per collected test and per finished test
(see ``autograder.authoring.plugin``).  A test that was collected but never finished (the process was
killed at its deadline, or student code ended it) scores zero with a message saying so.

The pytest process is the grader: it never imports student code.  It is a fork of a warm grader
(``grader_server``: pytest, Hypothesis, numpy and the rubric's imports loaded once), one fork
per submission, so nothing of one student's run reaches the next.  The ``submission`` fixture
starts a sandboxed worker (``autograder.sandbox.remote``) whose writable folder is ``scratch``; the results
file and the pytest working folder are in ``workdir``, a folder the sandbox cannot see or write.
"""
from __future__ import annotations

import atexit
import functools
import json
import os
import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.course import Assignment
from ..sandbox import isolation as sandbox
from .execute import child_env, kill_tree

#: RLIMIT_DATA of the grading pytest process, in MB, so that a hole left in the wire caps costs one
#: test of one submission, not the machine: beyond it an allocation raises MemoryError.
#: Measured peak VmData of the grading process (solutions, bwrap): a01-a04 204-211 MB, a05 333 MB
#: with torch and the synthetic CIFAR-10 (estimated 650 MB with the real test set); one message
#: may add about 0.5 GB (the caps in ``autograder.sandbox.wire``).  RLIMIT_DATA rather than RLIMIT_AS:
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
    isolation: str | None = None      # how the submission's worker was isolated (autograder.sandbox.isolation)
    seconds: float = 0.0


def pytest_command(assignment: Assignment, notebook: Path | None, results: Path, **options) -> list[str]:
    """The command line of a grading pytest process (options: see ``rubric_args``); grading runs
    the same arguments in a fork of the warm grader (``grader_server``)."""
    return [sys.executable, "-m", "pytest", *pytest_argv(assignment, notebook, results, **options)]


def pytest_argv(assignment: Assignment, notebook: Path | None, results: Path, **options) -> list[str]:
    """``pytest.main``'s arguments for grading: our plugin and ``rubric_args``."""
    return ["-p", "autograder.authoring.plugin", *rubric_args(assignment, notebook, results, **options)]


def rubric_args(assignment: Assignment, notebook: Path | None, results: Path, *,
                public_only: bool = False, data_dir: Path | None = None,
                collect_only: bool = False, scratch: Path | None = None,
                isolation: str | None = None, files: Path | None = None,
                terminal: bool = True, runner_fd: str | None = None) -> list[str]:
    """pytest's arguments for running ``assignment``'s rubric; the plugin is loaded by the caller
    (``-p autograder.authoring.plugin`` on a command line, ``plugins=`` in ``pytest.main``).
    terminal=False: no terminal reporter (the self-check prints its own table)."""
    # --tb=native: a failure's message is ours (plugin.explain); pytest's own traceback, only a
    # fallback, is then cheap to make (its default style parses the rubric's source per frame)
    quiet = ["-q", "--no-header", "-rN", "--tb=native"] if terminal else ["-p", "no:terminal"]
    cmd = [
        str(assignment.rubric), "-p", "no:cacheprovider", *quiet,
        "-c", str(results.parent / "pytest.ini"),
        "--rootdir", str(assignment.rubric.parent), "--confcutdir", str(assignment.rubric.parent),
        # speed (see README "Performance"): only the rubric is assertion-rewritten (python_files=*.py
        # rewrote every imported module, hypothesis included, ~2.5 s CPU per run), and no plugin
        # autoload (it marks every plugin's package for rewriting): just the two plugins we use
        "--disable-plugin-autoload", "-p", "pytest_timeout", "-p", "_hypothesis_pytestplugin",
        # and not pytest's hooks for unraisable and thread exceptions: they garbage-collect five
        # times at the end of every run (0.2 s CPU per submission), for warnings nobody reads here
        "-p", "no:unraisableexception", "-p", "no:threadexception",
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
    if runner_fd is not None:
        cmd += ["--ag-runner-fd", str(runner_fd)]
    limits = sandbox.Limits.of(assignment, cpu_s=assignment.rubric_timeout)
    cmd += ["--ag-limits", json.dumps(limits.as_dict())]
    return cmd


def grader_memory_mb(assignment: Assignment) -> int:
    """The memory limit of the grading pytest process for ``assignment`` (see GRADER_MEMORY_MB)."""
    return max(GRADER_MEMORY_MB, int(assignment.memory_mb))


# --------------------------------------------------------------------------- the warm grader
#: what every grading run imports: pytest and its plugins' libraries, numpy, the engine's grader
#: side (``autograder.authoring.plugin`` says PYTEST_DONT_REWRITE; the ``-p`` plugins of
#: ``rubric_args`` are left to pytest, which rewrites their asserts only when it imports them)
GRADER_PRELOAD = ["numpy", "pytest", "_pytest.python", "_pytest.fixtures", "_pytest.runner",
                  "_pytest.terminal", "_pytest.assertion.rewrite", "_pytest.mark", "_pytest.skipping",
                  "hypothesis", "hypothesis.extra.numpy", "nbformat", "psutil", "autograder.authoring.plugin",
                  "autograder.sandbox.remote", "autograder.testing", "autograder.sandbox.isolation",
                  "autograder.sandbox.runner", "autograder.sandbox.extract:warm_nbformat="]
_SERVERS: dict = {}
_SERVERS_LOCK = threading.Lock()
#: warm graders kept at once (a long-lived process grading many courses would pile them up)
MAX_WARM = 4


def rubric_imports(rubric: Path) -> list[str]:
    """The modules a rubric imports at its top level (``import x.y``, ``from x.y import z``)."""
    try:
        st = rubric.stat()
    except OSError:
        return []
    return list(_rubric_imports(str(rubric), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=64)
def _rubric_imports(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    """rubric_imports, parsed once per version of the file (it is asked once per submission)."""
    from ..sandbox.extract import top_level_imports

    try:
        return tuple(top_level_imports(Path(path).read_text(encoding="utf-8")))
    except OSError:
        return ()


def grader_server(assignment: Assignment):
    """The warm grader for ``assignment``'s rubric: a fork server (``autograder.engine.warm``) that has
    imported pytest, Hypothesis, numpy and the rubric's imports; one per set of imports, started
    on first use, stopped when the class run ends (``classroom.batch``) or this process exits; at
    most MAX_WARM at once (the least recently used is stopped: its running jobs go on)."""
    from .warm import ForkServer

    preload = tuple(dict.fromkeys(GRADER_PRELOAD + rubric_imports(assignment.rubric)
                                  + [f"autograder.engine.scoring:warm_rubric={assignment.rubric}"]))
    with _SERVERS_LOCK:
        server = _SERVERS.pop(preload, None)
        if server is None or not server.alive():
            server = ForkServer(list(preload), env={**child_env(), "HYPOTHESIS_STORAGE_DIRECTORY": _hypothesis_home()})
        _SERVERS[preload] = server  # the most recently used last
        while len(_SERVERS) > MAX_WARM:
            _SERVERS.pop(next(iter(_SERVERS))).close()
        return server


_HYPOTHESIS_HOME: list[str] = []


def _hypothesis_home() -> str:
    """A folder of this process for Hypothesis' cache of the rubric's constants (it would write
    ``.hypothesis/`` in the grader's current folder); removed when this process exits."""
    import shutil
    import tempfile

    if not _HYPOTHESIS_HOME:  # called with _SERVERS_LOCK held
        _HYPOTHESIS_HOME.append(tempfile.mkdtemp(prefix="autograder-hypothesis-"))
        atexit.register(shutil.rmtree, _HYPOTHESIS_HOME[0], ignore_errors=True)
    return _HYPOTHESIS_HOME[0]


@atexit.register
def stop_grader_servers() -> None:
    with _SERVERS_LOCK:
        for server in _SERVERS.values():
            try:
                server.close()
            except Exception:  # noqa: BLE001
                pass
        _SERVERS.clear()


def warm_rubric(path: str) -> None:
    """Import the rubric in the warm grader as pytest would (module ``<stem>``, its folder first on
    ``sys.path``, asserts rewritten), after loading the grading profile of Hypothesis (settings
    made at import inherit it).  pytest in each fork finds it imported; the rubric's own
    import-time work (reference data, strategies) is done once."""
    import ast
    import importlib.util
    from pathlib import Path

    from _pytest.assertion.rewrite import rewrite_asserts
    from hypothesis import settings

    import autograder.authoring.plugin  # noqa: F401  (registers the "grading" profile)

    settings.load_profile("grading")
    _prime_hypothesis()
    rubric = Path(path).resolve()
    if str(rubric.parent) not in sys.path:
        sys.path.insert(0, str(rubric.parent))
    source = rubric.read_bytes()
    tree = ast.parse(source, filename=str(rubric))
    rewrite_asserts(tree, source, str(rubric))
    spec = importlib.util.spec_from_file_location(rubric.stem, rubric)
    module = importlib.util.module_from_spec(spec)
    sys.modules[rubric.stem] = module
    try:
        exec(compile(tree, str(rubric), "exec", dont_inherit=True), module.__dict__)
    except BaseException:
        sys.modules.pop(rubric.stem, None)
        raise


def _prime_hypothesis() -> None:
    """What Hypothesis does on a process's first example, done once in the warm grader so every
    fork finds it done: register its global Random (with a full garbage collection) and collect
    the constants of the loaded modules that are not libraries (the rubric, autograder), ~0.1 s
    each.  The constants are the same whichever process collects them: grades do not change."""
    try:
        from hypothesis.internal.conjecture.providers import _get_local_constants
        from hypothesis.internal.entropy import deterministic_PRNG

        with deterministic_PRNG():
            pass
        _get_local_constants()
    except Exception:  # noqa: BLE001 - an internal API that moved: each fork pays it, nothing else
        pass


def pytest_job(conn, fds: list[int], args: dict) -> int:
    """One grading run in a fork of the warm grader: ``pytest.main(argv)`` in ``cwd``, output to
    ``output``, under RLIMIT_DATA ``memory_mb``; ``{fd0}`` in argv is the first passed descriptor."""
    os.chdir(args["cwd"])
    out = os.open(args["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    limit = int(args["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    argv = [a.replace("{fd0}", str(fds[0])) if fds else a for a in args["argv"]]
    import pytest

    try:
        return int(pytest.main(argv))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _run(argv: list[str], workdir: Path, timeout: float, memory_mb: int, assignment: Assignment,
         fds: list[int] = ()) -> tuple[bool, str]:
    """Run pytest with ``argv`` in a fork of the warm grader; (timed out, output)."""
    output = workdir / "_pytest.out"
    job = grader_server(assignment).start("autograder.engine.scoring:pytest_job", {
        "cwd": str(workdir), "output": str(output), "memory_mb": memory_mb, "argv": argv}, list(fds))
    timed_out = False
    try:
        job.wait(timeout)
    except TimeoutError:
        timed_out = True
    finally:
        kill_tree(job.pid)  # what the run started, even if it ended (a worker outside the runner)
        job.kill()
    data = sandbox.read_file_safely(output, 1 << 20) or b""
    output.unlink(missing_ok=True)
    return timed_out, data.decode("utf-8", "replace")


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
               isolation: str | None = None, files: Path | None = None,
               runner_fd: int | None = None) -> RubricRun:
    """Score ``notebook`` (or, with collect_only, just list the rubric's tests).

    workdir: the grader's private folder (results file, current folder of pytest); never the
    sandbox's.  scratch: the submission's writable folder (files beside the notebook).
    isolation: resolved by ``sandbox.probe`` (the worker runs under it).
    runner_fd: the control socket of the submission's sandbox (``autograder.sandbox.runner``): the tests'
    workers are forked there; without it each worker is a sandbox of its own.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    results = workdir / ("_collected.jsonl" if collect_only else "_results.jsonl")
    results.unlink(missing_ok=True)
    (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    start = time.monotonic()
    argv = pytest_argv(assignment, notebook, results, public_only=public_only,
                       data_dir=data_dir, collect_only=collect_only, scratch=scratch,
                       isolation=isolation, files=files, runner_fd=None if runner_fd is None else "{fd0}")
    timed_out, output = _run(argv, workdir, assignment.rubric_timeout, grader_memory_mb(assignment),
                             assignment, [runner_fd] if runner_fd is not None else [])
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
