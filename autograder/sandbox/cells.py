"""Run a notebook's code cells in this process, as a Jupyter kernel would, and record the outputs.

This is the execution step of grading, inside the submission's sandbox (``autograder.sandbox.runner``
forks a process for it).  IPython's ``InteractiveShell`` runs each cell (magics, ``!`` commands,
the value of the last expression, ``display()``), so a notebook behaves as in Jupyter or Colab;
the outputs are recorded as nbformat outputs (``stream``, ``execute_result``, ``display_data``,
``error``), at most ``MAX_CELL_OUTPUT`` characters per cell.  No kernel process, no ZeroMQ: the
scientific stack the runner imported before forking is already here.

A cell tagged ``skip-execution`` (``SKIP_TAG``: training loops, downloads) is not run, as nbclient and
nbconvert do: it keeps no outputs and no execution count in the executed notebook.

A cell that runs past ``cell_timeout`` seconds is stopped (``SIGALRM``) and the notebook stops
there; the runner enforces the notebook-wide deadline from outside this process.  After every
cell the executed notebook is saved (atomically), so whatever stops this process, the cells
that ran keep their outputs.
"""
from __future__ import annotations

import builtins
import json
import os
import signal
import sys
import time
from pathlib import Path

import nbformat

#: outputs of one cell beyond this many characters are dropped (a print flood fills no disk)
MAX_CELL_OUTPUT = 20_000
TRUNCATED = f"[вывод обрезан: больше {MAX_CELL_OUTPUT} символов]"
#: the number of the cell being run is written here (in the current folder), so that the cell a
#: notebook-wide deadline or a crash stopped can be named
PROGRESS = "_running_cell"
#: the executed notebook is saved after a cell when the last save is older than this (seconds)
SAVE_EVERY = 0.5
#: the tag of a cell that is not run at grading (nbclient's ``skip_cells_with_tag`` default)
SKIP_TAG = "skip-execution"


def skipped(cell) -> bool:
    """Whether a code cell carries ``SKIP_TAG`` (metadata.tags; a malformed tags field is no tag)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and SKIP_TAG in tags


class CellTimeout(BaseException):
    """Raised in the running cell when it runs past the cell timeout (not an ``Exception``: a
    student's ``except Exception`` does not swallow it)."""


def _size(outs) -> int:
    """Characters of text in a cell's outputs (streams and text/plain; images count by size too)."""
    total = 0
    for o in outs:
        if o.get("output_type") == "stream":
            total += len(o.get("text", ""))
        else:
            total += sum(len(str(v)) for v in o.get("data", {}).values()) // 50  # a plot is fine
    return total


class Outputs:
    """The outputs of the running cell, capped at MAX_CELL_OUTPUT characters."""

    def __init__(self):
        self.items: list = []

    def add(self, out) -> None:
        items = self.items
        if items and str(items[-1].get("text", "")).startswith(TRUNCATED):
            return  # this cell already said too much
        if (out.get("output_type") == "stream" and items and items[-1].get("output_type") == "stream"
                and items[-1].get("name") == out.get("name")):
            items[-1]["text"] += out["text"]  # consecutive writes to one stream are one output
        else:
            items.append(out)
        if _size(items) > MAX_CELL_OUTPUT:
            last = items[-1]
            if last.get("output_type") == "stream":
                last["text"] = last["text"][: max(0, MAX_CELL_OUTPUT - _size(items[:-1]))]
            else:
                items.pop()
            items.append(nbformat.v4.new_output("stream", name="stderr", text=TRUNCATED + "\n"))


class _Stream:
    """``sys.stdout`` / ``sys.stderr`` while a cell runs: text goes to the cell's outputs."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, name: str, sink: "Executor"):
        self.name, self._sink = name, sink

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            self._sink.outputs.add(nbformat.v4.new_output("stream", name=self.name, text=text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("the cell's output stream has no file descriptor")

    def writable(self) -> bool:
        return True


def _make_shell(sink: "Executor"):
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class CellDisplayHook(DisplayHook):
        """The value of a cell's last expression becomes its ``execute_result``."""

        def __call__(self, result=None):
            if result is None or self.shell.displayhook is not self:
                return
            self.check_for_underscore()
            data, metadata = self.shell.display_formatter.format(result)
            if data:
                sink.outputs.add(nbformat.v4.new_output("execute_result", data=data, metadata=metadata,
                                                        execution_count=sink.count))
            self.update_user_ns(result)

    class CellDisplayPublisher(DisplayPublisher):
        """``display(...)`` becomes a ``display_data`` output."""

        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            sink.outputs.add(nbformat.v4.new_output("display_data", data=data, metadata=metadata or {}))

        def clear_output(self, wait=False):
            sink.outputs.items.clear()

    class CellShell(InteractiveShell):
        displayhook_class = CellDisplayHook
        display_pub_class = CellDisplayPublisher

        def _showtraceback(self, etype, evalue, stb):
            if etype is CellTimeout:
                return  # the stop is reported once, for the notebook (as nbclient does)
            sink.outputs.add(nbformat.v4.new_output(
                "error", ename=str(getattr(etype, "__name__", etype)), evalue=str(evalue)[:2000],
                traceback=[str(line) for line in stb][-50:]))

        def enable_gui(self, gui=None):
            pass

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    # Python's own traceback layout (file, line, the line's source): IPython's default "Context"
    # mode looks up the module of every frame by scanning sys.modules (inspect.getmodule), ~20 ms
    # a failing cell with the scientific stack imported (an untouched a01 notebook: 0.4 s CPU)
    config.InteractiveShell.xmode = "Plain"
    config.InteractiveShell.autocall = 0
    config.InteractiveShell.ast_node_interactivity = "last_expr"
    return CellShell(config=config)


class Executor:
    """Runs the code cells of one notebook in this process."""

    def __init__(self, nb: nbformat.NotebookNode, out: Path, cell_timeout: int):
        self.nb, self.out, self.cell_timeout = nb, Path(out), int(cell_timeout)
        self.outputs = Outputs()
        self.count = 0
        self.errors: list[str] = []
        self.saved = 0.0

    def save(self) -> None:
        """Write the notebook as it is now (plain JSON: nbformat's validation is the reader's)."""
        tmp = self.out.with_name(self.out.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.nb, fh, ensure_ascii=False)
        os.replace(tmp, self.out)
        self.saved = time.monotonic()

    def run(self) -> None:
        from IPython.core.error import StdinNotImplementedError

        from .extract import cell_name

        def no_input(*args, **kwargs):
            raise StdinNotImplementedError("raw_input was called, but this frontend does not support input requests.")

        def on_alarm(signum, frame):
            raise CellTimeout()

        shell = _make_shell(self)
        builtins.input = no_input
        signal.signal(signal.SIGALRM, on_alarm)
        sys.stdin = open(os.devnull)
        real = sys.stdout, sys.stderr
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.get("cell_type") != "code":
                    continue
                if skipped(cell):  # not run: no outputs (a saved run's are dropped), no count
                    cell.outputs, cell.execution_count = [], None
                    continue
                try:
                    Path(PROGRESS).write_text(str(index), encoding="ascii")
                except OSError:  # a full disk: the cell is only not named if the deadline stops it
                    pass
                self.count += 1
                self.outputs = Outputs()
                cell.outputs = self.outputs.items
                sys.stdout, sys.stderr = _Stream("stdout", self), _Stream("stderr", self)
                signal.setitimer(signal.ITIMER_REAL, self.cell_timeout)
                try:
                    result = shell.run_cell(cell.get("source", ""), store_history=True)
                    stopped = isinstance(result.error_in_exec, CellTimeout)
                except CellTimeout:  # raised outside the cell's code (in IPython's own machinery)
                    stopped = True
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    sys.stdout, sys.stderr = real
                cell.execution_count = self.count
                cell.outputs = self.outputs.items
                if stopped:
                    self.errors.append(f"{cell_name(index + 1, cell.get('source', ''))} выполнялась дольше "
                                       f"{self.cell_timeout} с и была остановлена; следующие ячейки не выполнялись")
                    break
                self._save_partial()
        finally:
            sys.stdout, sys.stderr = real
            self.nb.metadata["autograder_execution"] = {"errors": self.errors}
            self.save()

    def _save_partial(self) -> None:
        if time.monotonic() - self.saved < SAVE_EVERY:
            return
        try:
            self.save()
        except Exception:  # noqa: BLE001 - a full disk: the final save says what it can
            pass


def run_notebook(source: Path, out: Path, cell_timeout: int) -> int:
    """Execute the notebook ``source`` (current folder: the scratch folder) and write it, with its
    outputs, to ``out``.  Returns 0."""
    nb = nbformat.read(source, as_version=4)
    Executor(nb, out, cell_timeout).run()
    return 0
