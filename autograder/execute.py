"""Execute a notebook with nbconvert's ExecutePreprocessor, in a child process with a deadline.

The child runs ``python -m autograder.execute IN OUT --cell-timeout S``.  The parent waits at most
``notebook_timeout`` seconds and then kills the child and every process below it (the kernel
and anything the student started), so a hanging notebook leaves nothing running.
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


def kill_tree(pid: int) -> None:
    """Kill a process and all its descendants (the kernel starts its own session)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=5)


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
    """One line per code cell whose output has an error: ``ячейка N: Name: message``."""
    found, number = [], 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        number += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"ячейка {number}: {out.get('ename')}: {str(out.get('evalue'))[:300]}")
    return found


def execute(nb: nbformat.NotebookNode, workdir: Path, cell_timeout: int, notebook_timeout: int) -> Execution:
    """Run every code cell of ``nb`` with ``workdir`` as the current folder.

    Returns an Execution; never raises for what the notebook does.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    src, dst = workdir / "_input.ipynb", workdir / "_executed.ipynb"
    nbformat.write(nb, src)
    dst.unlink(missing_ok=True)
    start = time.monotonic()
    cmd = [sys.executable, "-m", "autograder.execute", str(src), str(dst), "--cell-timeout", str(cell_timeout)]
    proc = subprocess.Popen(cmd, cwd=workdir, env=child_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        _, err = proc.communicate(timeout=notebook_timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_tree(proc.pid)
        _, err = proc.communicate()
    result = Execution(notebook=None, timed_out=timed_out, seconds=time.monotonic() - start)
    if dst.exists():
        result.notebook = nbformat.read(dst, as_version=4)
        result.errors = cell_errors(result.notebook)
        report = result.notebook.metadata.pop("autograder_execution", {})
        result.errors += report.get("errors", [])
    if timed_out:
        result.errors.append(f"ноутбук выполнялся дольше {notebook_timeout} с и был остановлен")
    elif result.notebook is None:
        tail = (err or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
        result.errors.append("ноутбук не удалось выполнить: " + " | ".join(tail))
    src.unlink(missing_ok=True)
    dst.unlink(missing_ok=True)
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


def _make_preprocessor(cell_timeout: int):
    from nbconvert.preprocessors import ExecutePreprocessor

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

    return CappedExecutePreprocessor(
        timeout=cell_timeout,
        allow_errors=True,
        kernel_name="python3",
        shutdown_kernel="immediate",
        interrupt_on_timeout=False,
        record_timing=False,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.execute")
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--cell-timeout", type=int, default=60)
    args = parser.parse_args(argv)
    nb = nbformat.read(args.src, as_version=4)
    ep = _make_preprocessor(args.cell_timeout)
    errors = []
    try:
        ep.preprocess(nb, {"metadata": {"path": str(Path(args.src).parent)}})
    except Exception as exc:  # CellTimeoutError, DeadKernelError: the notebook stops here
        name = type(exc).__name__
        if name == "CellTimeoutError":
            errors.append(f"ячейка выполнялась дольше {args.cell_timeout} с и была остановлена; "
                          "следующие ячейки не выполнялись")
        elif name == "DeadKernelError":
            errors.append("ядро Python завершилось во время выполнения ноутбука (sys.exit, нехватка памяти?)")
        else:
            errors.append(f"выполнение прервано: {name}: {str(exc)[:300]}")
    nb.metadata["autograder_execution"] = {"errors": errors}
    nbformat.write(nb, args.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
