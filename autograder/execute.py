"""Execute a notebook with nbclient (what nbconvert's ExecutePreprocessor wraps), sandboxed, with a deadline.

The child runs ``python -m autograder.execute IN OUT --cell-timeout S`` inside the sandbox
(``autograder.sandbox``: bubblewrap where it can start, else process isolation with limits), with
the scratch folder as its only writable place; the kernel it starts is inside the same sandbox.
The parent waits at most ``notebook_timeout`` seconds and then kills the child and every process
the sandbox started (the kernel and anything the student started), so nothing keeps running.
The executed notebook is read back through ``sandbox.read_file_safely`` (no links, size cap): it
is only shown to the student, never used for the grade.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: outputs of one cell beyond this many characters are dropped (a print flood fills no disk)
MAX_CELL_OUTPUT = 20_000
TRUNCATED = f"[вывод обрезан: больше {MAX_CELL_OUTPUT} символов]"


@dataclass
class Execution:
    """What running the notebook gave: the executed notebook, errors per cell, timing."""

    notebook: nbformat.NotebookNode | None
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    seconds: float = 0.0


#: the executed notebook is read back only up to this size
MAX_EXECUTED_BYTES = 64 * 2**20

from .sandbox import kill_tree  # noqa: E402  (kept importable from here)


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
    from .extract import cell_name

    found = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{cell_name(number, cell.source)}: {out.get('ename')}: {str(out.get('evalue'))[:300]}")
    return found


#: the execution child writes the number of the cell it is running here (in the scratch folder),
#: so the cell a notebook-wide deadline stopped can be named
PROGRESS = "_running_cell"


def _running_cell(workdir: Path, nb: nbformat.NotebookNode) -> str | None:
    """The cell the child was running when it was stopped (as the sandbox left it: shown only)."""
    from . import sandbox
    from .extract import cell_name

    data = sandbox.read_file_safely(workdir / PROGRESS, 32)
    try:
        index = int((data or b"").decode("ascii").strip())
    except ValueError:
        return None
    if not 0 <= index < len(nb.cells):
        return None
    return cell_name(index + 1, nb.cells[index].get("source", ""))


def execute(nb: nbformat.NotebookNode, workdir: Path, cell_timeout: int, notebook_timeout: int, *,
            isolation: str = "process", limits=None, ro: list[Path] = ()) -> Execution:
    """Run every code cell of ``nb`` with ``workdir`` (the scratch folder) as the current folder.

    isolation: from ``sandbox.probe``; limits: ``sandbox.Limits`` (memory, CPU, processes, file size).
    Returns an Execution; never raises for what the notebook does.
    """
    from . import sandbox

    limits = limits or sandbox.Limits(cpu_s=notebook_timeout)
    workdir.mkdir(parents=True, exist_ok=True)
    src, dst, progress = workdir / "_input.ipynb", workdir / "_executed.ipynb", workdir / PROGRESS
    for f in (src, dst, progress):
        f.unlink(missing_ok=True)
    nbformat.write(nb, src)
    start = time.monotonic()
    cmd = [sys.executable, "-m", "autograder.execute", str(src), str(dst), "--cell-timeout", str(cell_timeout)]
    try:
        _, timed_out, err = sandbox.run(cmd, workdir, limits, isolation, timeout=notebook_timeout, ro=ro)
    except (OSError, sandbox.SandboxUnavailable) as exc:
        timed_out, err = False, f"sandbox: {exc}".encode()
    result = Execution(notebook=None, timed_out=timed_out, seconds=time.monotonic() - start)
    data = sandbox.read_file_safely(dst, MAX_EXECUTED_BYTES)
    if data is not None:
        try:
            result.notebook = nbformat.reads(data.decode("utf-8", "replace"), as_version=4)
            report = result.notebook.metadata.pop("autograder_execution", {})
            result.errors = cell_errors(result.notebook)
            result.errors += [str(e)[:500] for e in report.get("errors", [])][:20]
        except Exception:  # noqa: BLE001 - whatever the sandbox left there is not a notebook
            result.notebook = None
    if timed_out:
        running = _running_cell(workdir, nb)
        where = f" на ячейке {running.removeprefix('ячейка ')}" if running else ""
        result.errors.append(f"ноутбук выполнялся дольше {notebook_timeout} с и был остановлен{where}; "
                             "следующие ячейки не выполнялись")
    elif result.notebook is None:
        tail = (err or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
        result.errors.append("ноутбук не удалось выполнить: " + " | ".join(tail))
    for f in (src, dst, progress):
        f.unlink(missing_ok=True)
    return result


def _size(outs) -> int:
    """Characters of text in a cell's outputs (streams and text/plain; images count by size too)."""
    total = 0
    for o in outs:
        if o.get("output_type") == "stream":
            total += len(o.get("text", ""))
        else:
            total += sum(len(str(v)) for v in o.get("data", {}).values()) // 50  # a plot is fine
    return total


def _make_preprocessor(cell_timeout: int, nb: nbformat.NotebookNode, path: str):
    # nbclient directly (nbconvert's ExecutePreprocessor is a thin wrapper around it, and importing
    # nbconvert costs ~0.4 s CPU more per notebook: README "Performance")
    from nbclient import NotebookClient as ExecutePreprocessor

    class CappedExecutePreprocessor(ExecutePreprocessor):
        """ExecutePreprocessor that keeps at most MAX_CELL_OUTPUT characters of output per cell."""

        def output(self, outs, msg, display_id, cell_index):
            if outs and str(outs[-1].get("text", "")).startswith(TRUNCATED):
                return None  # this cell already said too much
            out = super().output(outs, msg, display_id, cell_index)
            if _size(outs) > MAX_CELL_OUTPUT:
                if out is not None and out.get("output_type") == "stream":
                    out["text"] = out["text"][: max(0, MAX_CELL_OUTPUT - _size(outs[:-1]))]
                else:
                    outs.pop()
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATED + "\n"))
            return out

        async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
            self.running = cell_index
            if cell.cell_type == "code":
                try:
                    Path(path, PROGRESS).write_text(str(cell_index), encoding="ascii")
                except OSError:  # a full disk: the cell is only not named if the deadline stops it
                    pass
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    return CappedExecutePreprocessor(
        nb,
        resources={"metadata": {"path": path}},
        timeout=cell_timeout,
        allow_errors=True,
        kernel_name="python3",
        shutdown_kernel="immediate",
        interrupt_on_timeout=False,
        record_timing=False,
    )


def main(argv=None) -> int:
    from .extract import cell_name

    parser = argparse.ArgumentParser(prog="python -m autograder.execute")
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--cell-timeout", type=int, default=60)
    args = parser.parse_args(argv)
    nb = nbformat.read(args.src, as_version=4)
    ep = _make_preprocessor(args.cell_timeout, nb, str(Path(args.src).parent))
    errors = []
    try:
        ep.execute()
    except Exception as exc:  # CellTimeoutError, DeadKernelError: the notebook stops here
        name = type(exc).__name__
        index = getattr(ep, "running", None)
        cell = cell_name(index + 1, nb.cells[index].source) if index is not None else "ячейка"
        if name == "CellTimeoutError":
            errors.append(f"{cell} выполнялась дольше {args.cell_timeout} с и была остановлена; "
                          "следующие ячейки не выполнялись")
        elif name == "DeadKernelError":
            where = f" ({cell})" if index is not None else ""
            errors.append(f"ядро Python завершилось во время выполнения ноутбука{where} (sys.exit, нехватка памяти?)")
        else:
            errors.append(f"выполнение прервано: {name}: {str(exc)[:300]}")
    nb.metadata["autograder_execution"] = {"errors": errors}
    nbformat.write(nb, args.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
