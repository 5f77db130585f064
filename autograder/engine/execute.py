"""Execute a notebook, sandboxed, with a deadline, and read back what it printed.

The cells run in the submission's sandbox (``autograder.sandbox.runner`` forks an executor that runs them
in-process with IPython: ``autograder.sandbox.cells``), with the scratch folder as the only writable place.
The runner stops the executor at ``notebook_timeout`` seconds and kills whatever it left running.
The executed notebook is read back through ``sandbox.read_file_safely`` (no links, size cap): it
is only shown to the student, never used for the grade.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..sandbox.cells import MAX_CELL_OUTPUT, PROGRESS, TRUNCATED  # noqa: E402,F401  (kept importable from here)


@dataclass
class Execution:
    """What running the notebook gave: the executed notebook, errors per cell, timing."""

    notebook: nbformat.NotebookNode | None
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    seconds: float = 0.0
    #: the cells not run (tag ``skip-execution``), named as the student finds them
    skipped: list[str] = field(default_factory=list)


#: the executed notebook is read back only up to this size
MAX_EXECUTED_BYTES = 64 * 2**20

from ..sandbox.isolation import kill_tree  # noqa: E402  (kept importable from here)


def child_env() -> dict:
    """Environment for processes that run student code: quiet, deterministic, one thread each."""
    env = dict(os.environ)
    env.update(
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def cell_errors(nb: nbformat.NotebookNode) -> list[str]:
    """One line per code cell whose output has an error: ``ячейка N («first line»): Name: message``
    (N counts all cells, markdown included, as the student sees them)."""
    from ..sandbox.extract import cell_name

    found = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{cell_name(number, cell.source)}: {out.get('ename')}: {str(out.get('evalue'))[:300]}")
    return found


def skipped_cells(nb: nbformat.NotebookNode) -> list[str]:
    """``ячейка N («first line»)`` of every code cell tagged ``skip-execution`` (not run at grading)."""
    from ..sandbox.cells import skipped
    from ..sandbox.extract import cell_name

    return [cell_name(number, cell.get("source", "")) for number, cell in enumerate(nb.cells, start=1)
            if cell.get("cell_type") == "code" and skipped(cell)]


def _running_cell(workdir: Path, nb: nbformat.NotebookNode) -> str | None:
    """The cell the child was running when it was stopped (as the sandbox left it: shown only)."""
    from ..sandbox import isolation as sandbox
    from ..sandbox.extract import cell_name

    data = sandbox.read_file_safely(workdir / PROGRESS, 32)
    try:
        index = int((data or b"").decode("ascii").strip())
    except ValueError:
        return None
    if not 0 <= index < len(nb.cells):
        return None
    return cell_name(index + 1, nb.cells[index].get("source", ""))


def execute(nb: nbformat.NotebookNode, workdir: Path, cell_timeout: int, notebook_timeout: int, *,
            isolation: str = "process", limits=None, ro: list[Path] = (), preload: list[str] = ()) -> Execution:
    """Run every code cell of ``nb`` with ``workdir`` (the scratch folder) as the current folder,
    in a sandbox of its own (``autograder.sandbox.runner``), which is then stopped.

    isolation: from ``sandbox.probe``; limits: ``sandbox.Limits`` (memory, CPU, processes, file size).
    Grading uses ``Runner`` directly, so that the tests are served from the same sandbox.
    Returns an Execution; never raises for what the notebook does.
    """
    from ..sandbox import isolation as sandbox
    from ..sandbox.runner import Runner

    import dataclasses

    # the wall-clock deadline is the one that stops a notebook (with a message naming the cell):
    # the CPU limit stays above it
    limits = limits or sandbox.Limits(cpu_s=notebook_timeout)
    limits = dataclasses.replace(limits, cpu_s=max(limits.cpu_s, notebook_timeout + 10))
    workdir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        runner = Runner(workdir, isolation, limits, ro=ro, preload=list(preload))
    except (OSError, sandbox.SandboxUnavailable) as exc:
        return Execution(notebook=None, errors=[f"ноутбук не удалось выполнить: sandbox: {exc}"],
                         seconds=time.monotonic() - start)
    try:
        return runner.execute(nb, cell_timeout, notebook_timeout)
    finally:
        runner.close()


def read_executed(workdir: Path, nb: nbformat.NotebookNode, status: dict, notebook_timeout: int,
                  cell_timeout: int) -> Execution:
    """What the executor left in ``workdir`` (``runner.EXECUTED``), read safely, and the errors
    to show: per cell, the cell timeout, the notebook deadline, a process that died.

    status: the runner's reply (``exit``: the executor's exit code, None when it was stopped;
    ``timed_out``; ``why``: the sandbox could not run it)."""
    from ..sandbox import isolation as sandbox
    from ..sandbox.runner import EXECUTED, SOURCE

    dst = workdir / EXECUTED
    # from the notebook the grader sent, not from what the sandbox wrote back
    result = Execution(notebook=None, timed_out=bool(status.get("timed_out")), skipped=skipped_cells(nb))
    data = sandbox.read_file_safely(dst, MAX_EXECUTED_BYTES)
    finished = False
    if data is not None:
        try:
            result.notebook = nbformat.reads(data.decode("utf-8", "replace"), as_version=4)
            report = result.notebook.metadata.pop("autograder_execution", None)
            finished = isinstance(report, dict)
            result.errors = cell_errors(result.notebook)
            errors = report.get("errors", []) if finished and isinstance(report.get("errors"), list) else []
            result.errors += [str(e)[:500] for e in errors][:20]
        except Exception:  # noqa: BLE001 - whatever the sandbox left there is not a notebook
            result.notebook = None
    if result.timed_out:
        running = _running_cell(workdir, nb)
        where = f" на ячейке {running.removeprefix('ячейка ')}" if running else ""
        result.errors.append(f"ноутбук выполнялся дольше {notebook_timeout} с и был остановлен{where}; "
                             "следующие ячейки не выполнялись")
    elif status.get("why"):
        result.errors.append(f"ноутбук не удалось выполнить: {status['why']}")
    elif not finished or status.get("exit") != 0:
        running = _running_cell(workdir, nb)
        where = f" ({running})" if running else ""
        result.errors.append(f"ядро Python завершилось во время выполнения ноутбука{where} "
                             "(sys.exit, нехватка памяти?)")
    for name in (SOURCE, EXECUTED, EXECUTED + ".tmp", PROGRESS):
        (workdir / name).unlink(missing_ok=True)
    return result
