"""Import a submission's definitions from its code cells into a fresh module.

Kept from every code cell: imports, function and class definitions, and simple constant
assignments (``N_EPOCHS = 40``, ``WEIGHTS = "model.pt"``, ``Relu = ReLU``).  Everything
else (demo calls, training loops, plots, prints) is skipped.  IPython magics and shell
lines (``%matplotlib inline``, ``!pip install``) are dropped.  Each cell is executed on its
own: a cell that fails is recorded with its number (among all cells, as the notebook shows
them) and first line, and the rest still imports.
"""
from __future__ import annotations

import ast
import linecache
import traceback
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the sandboxed worker imports this module: keep it light (no nbformat)
    import nbformat

def first_line(source: str, width: int = 60) -> str:
    """A cell's first non-empty line, cut to ``width`` characters: how a student finds the cell."""
    line = next((x.strip() for x in str(source).splitlines() if x.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def cell_name(number: int, source: str = "") -> str:
    """``ячейка 20 («def forward(self, x):»)``: the cell's number among all cells (1-based, as the
    notebook shows them, markdown included) and its first line."""
    line = first_line(source)
    return f"ячейка {number} («{line}»)" if line else f"ячейка {number}"


@dataclass
class CellError:
    """A code cell that could not be imported: its number (1-based, among all cells), error and
    first line."""

    cell: int
    error: str
    first_line: str = ""

    def __str__(self) -> str:
        return f"{cell_name(self.cell, self.first_line)}: {self.error}"


@dataclass
class Definitions:
    """The importable part of a notebook: the kept source per cell and each name's source."""

    cells: list[tuple[int, str]] = field(default_factory=list)  # (cell number among all cells, source)
    sources: dict[str, str] = field(default_factory=dict)      # top-level name -> its source
    errors: list[CellError] = field(default_factory=list)
    #: global names that only skipped statements assign (``biases = np.array(...)``) -> code-cell number
    computed: dict[str, int] = field(default_factory=dict)
    first_lines: dict[int, str] = field(default_factory=dict)  # cell number -> its first line


def _strip_ipython(source: str) -> str:
    """Drop magics (%, %%) and shell lines (!) so plain Python remains."""
    if source.lstrip().startswith("%%"):
        return ""  # a cell magic (%%time, %%capture...): its body is not plain Python
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines.append("")  # keep line numbers
        else:
            lines.append(line)
    return "\n".join(lines)


def _is_simple_value(node: ast.AST) -> bool:
    """A literal, a name or a dotted name (an alias): nothing that runs code."""
    if isinstance(node, (ast.Name, ast.Attribute)):
        return all(isinstance(n, (ast.Name, ast.Attribute, ast.Load)) for n in ast.walk(node))
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _keep(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Name) for t in node.targets) and _is_simple_value(node.value)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None and _is_simple_value(node.value)
    if isinstance(node, ast.Try):  # try: import torch / except ImportError: ...
        body = node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        return all(_keep(s) or isinstance(s, ast.Pass) for s in body)
    return False


def _names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _assigned_names(node: ast.stmt) -> list[str]:
    """Global names a skipped statement binds (assignment targets, for/with/except targets,
    walrus), not looking inside functions, classes, lambdas or comprehensions."""
    found, todo = [], [node]
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                          ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            found.append(n.id)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            found.append(n.name)
        todo.extend(ast.iter_child_nodes(n))
    return found


def top_level_names(nb: nbformat.NotebookNode) -> set[str]:
    """Names of the classes and functions defined at the top level of the notebook's code cells
    (cells that do not parse are skipped).  Used to recognise the assignment of a notebook."""
    names: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or not isinstance(cell.get("source"), (str, list)):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(map(str, cell["source"]))
        try:
            tree = ast.parse(_strip_ipython(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return names


def definitions(nb: nbformat.NotebookNode) -> Definitions:
    """Select the importable statements of every code cell.

    nb: a notebook (nbformat v4).  Returns Definitions; syntax errors are recorded per cell.
    Cells are numbered among all cells (markdown included), 1-based, as the student sees them.
    """
    result = Definitions()
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        result.first_lines[number] = first_line(cell.get("source", ""))
        source = _strip_ipython(cell.get("source", ""))
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            result.errors.append(CellError(number, f"SyntaxError: {exc.msg} (строка {exc.lineno})",
                                           result.first_lines[number]))
            continue
        kept = [node for node in tree.body if _keep(node)]
        for node in tree.body:
            if not _keep(node):
                for name in _assigned_names(node):
                    result.computed.setdefault(name, number)
        if not kept:
            continue
        lines = source.splitlines()
        for node in kept:
            for name in _names(node):
                start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
                result.sources[name] = "\n".join(lines[start - 1:node.end_lineno])
        result.cells.append((number, _source_of(kept, lines)))
    for name in result.sources:  # defined by a kept statement somewhere: the tests see it
        result.computed.pop(name, None)
    return result


def _source_of(nodes: list[ast.stmt], lines: list[str]) -> str:
    """The original text of the kept statements, blank lines elsewhere (line numbers stay right)."""
    out = [""] * len(lines)
    for node in nodes:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        for i in range(start - 1, node.end_lineno):
            out[i] = lines[i]
    return "\n".join(out)


def load_module(defs: Definitions, name: str = "submission") -> types.ModuleType:
    """Execute the kept statements cell by cell in a fresh module.

    A cell that fails with NameError is retried after the others (a student who moved a cell
    above the one it depends on is graded the same).  Errors that remain are appended to
    ``defs.errors``; the cells after a failing one still run.  Tracebacks name the cell as
    ``<ячейка N>``.
    """
    module = types.ModuleType(name)
    module.__dict__["__builtins__"] = __builtins__
    pending = list(defs.cells)
    failures: dict[int, BaseException] = {}
    while pending:
        retry = []
        for number, source in pending:
            exc = _run_cell(module, number, source)
            if exc is None:
                failures.pop(number, None)
            else:
                failures[number] = exc
                if isinstance(exc, NameError):
                    retry.append((number, source))
        if len(retry) == len(pending):
            break  # no progress
        pending = retry
    for number in sorted(failures):
        exc = failures[number]
        tb = traceback.extract_tb(exc.__traceback__)
        filename = f"<ячейка {number}>"
        where = next((f"строка {f.lineno}" for f in reversed(tb) if f.filename == filename), "")
        defs.errors.append(CellError(number, f"{type(exc).__name__}: {exc} {where}".strip(),
                                     defs.first_lines.get(number, "")))
    defs.errors.sort(key=lambda e: e.cell)
    return module


def _run_cell(module: types.ModuleType, number: int, source: str) -> BaseException | None:
    filename = f"<ячейка {number}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a student cell is an error too
        return exc
    return None


def top_level_imports(source: str) -> list[str]:
    """The modules ``source`` imports at its top level (``import x.y``, ``from x.y import z``;
    not relative imports nor ``__future__``), in order; [] when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return [n for n in names if n != "__future__"]


def warm_nbformat(_arg: str = "") -> None:
    """Compile nbformat's JSON-schema validators for every nbformat 4 minor version (strict and
    relaxed), once in a warm process: otherwise each fork that reads a notebook compiles its own
    (~0.1 s; a warm-up entry of the fork servers' preload lists)."""
    from nbformat import validator

    for minor in range(6):
        for relax in (False, True):
            validator.get_validator(4, minor, relax_add_props=relax)
