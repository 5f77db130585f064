"""``autograder audit``: would the rubric notice a wrong solution?

Mutants of the code inside the solution regions (``### BEGIN SOLUTION`` .. ``### END SOLUTION``) of
``solutions/<id>.ipynb`` are written as notebooks to ``OUT/mutants/<id>/m<NNN>/<id>.ipynb`` and
graded like submissions (``autograder.classroom.batch.grade_all``: parallel, resumable).  A mutant is
*killed* when it scores less than the maximum.  The report gives the kill rate, each surviving
mutant's one-line diff and the function it lives in, and three checks: the solution itself, the
instructor's correct alternatives (``tests/grading/alternatives/<id>/*.ipynb``) must get full
marks, and the hardcoding student (``demo/class/<aNN>-hardcoded/<id>.ipynb``) must get zero.

Mutant ids are stable (a hash of the cell id and the diff), so the instructor can list mutants
known to be equivalent to the solution in ``tests/grading/<id>.audit.toml``::

    [equivalent]
    "1f0c2a9b3e" = "np.mean and np.sum give the same argmax"

They are reported apart and left out of the kill rate.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..core.course import Assignment, Course
from ..sandbox.extract import _strip_ipython
from .release import BEGIN, END

OPERATORS = ("operator", "constant", "axis", "transpose", "keepdims", "sum/mean", "statement", "return")
BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
          ast.FloorDiv: ast.Div, ast.MatMult: ast.Mult, ast.Pow: ast.Mult}
CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.MatMult: "@",
           ast.Pow: "**", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
REDUCTIONS = {"sum": "mean", "mean": "sum"}
EQUIVALENT_FILE = "{id}.audit.toml"


# ---------------------------------------------------------------- mutants

@dataclass(frozen=True)
class Mutant:
    """One change of one line of a solution region.

    index: position among all the assignment's mutants (the folder ``m<index:03d>``);
    id: stable across runs (hash of the cell id, the diff and its occurrence);
    cell: index in ``nb.cells``; line: 1-based line in the cell; function: ``Linear.forward``."""

    assignment: str
    index: int
    id: str
    operator: str
    cell: int
    line: int
    function: str
    before: str
    after: str
    source: str = field(repr=False)

    @property
    def name(self) -> str:
        return f"m{self.index:03d}"

    @property
    def diff(self) -> str:
        return f"- {self.before.strip()}  + {self.after.strip()}"

    @property
    def where(self) -> str:
        return f"{self.function or 'cell'} (cell {self.cell}, line {self.line})"


@dataclass(frozen=True)
class _Edit:
    """Replace characters [start, end) of one line (or whole lines, for a dropped statement)."""

    operator: str
    line: int           # 1-based
    start: int          # character offsets in that line
    end: int
    text: str
    last_line: int = 0  # a dropped statement: lines line..last_line become ``text``


def solution_regions(source: str) -> list[tuple[int, int]]:
    """1-based (first, last) line numbers strictly inside each solution region of a cell."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if BEGIN.match(line):
            start = number + 1
        elif END.match(line) and start is not None:
            if number - 1 >= start:
                regions.append((start, number - 1))
            start = None
    return regions


def _chars(line: str, byte_offset: int) -> int:
    """ast's UTF-8 byte column -> character index in ``line``."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


class _Finder(ast.NodeVisitor):
    """Collects the edits of every mutation operator inside the regions of one cell."""

    def __init__(self, lines: list[str], regions: list[tuple[int, int]]):
        self.lines, self.regions = lines, regions
        self.stack: list[str] = []
        self.functions: list[ast.AST] = []
        self.edits: list[tuple[_Edit, str]] = []  # (edit, function qualname)

    # -- helpers
    def inside(self, node) -> bool:
        end = getattr(node, "end_lineno", node.lineno)
        return any(a <= node.lineno and end <= b for a, b in self.regions)

    def span(self, node) -> tuple[int, int, int] | None:
        """(line, start, end) in characters when the node is on one line."""
        if node.lineno != node.end_lineno:
            return None
        line = self.lines[node.lineno - 1]
        return node.lineno, _chars(line, node.col_offset), _chars(line, node.end_col_offset)

    def text(self, node) -> str:
        line, start, end = self.span(node)
        return self.lines[line - 1][start:end]

    def add(self, operator: str, line: int, start: int, end: int, text: str, last_line: int = 0) -> None:
        self.edits.append((_Edit(operator, line, start, end, text, last_line), ".".join(self.stack)))

    def replace(self, operator: str, node, text: str) -> None:
        span = self.span(node)
        if span is not None:
            self.add(operator, *span, text)

    def gap(self, operator: str, left, right, old: str, new: str) -> None:
        """Swap the operator symbol between two operands on one line."""
        if left.end_lineno != right.lineno:
            return
        line = self.lines[left.end_lineno - 1]
        start, end = _chars(line, left.end_col_offset), _chars(line, right.col_offset)
        between = line[start:end]
        if between.strip(" ()\t") == old:
            self.add(operator, left.end_lineno, start, end, between.replace(old, new, 1))

    # -- scopes
    def visit_ClassDef(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    def visit_FunctionDef(self, node):
        self.stack.append(node.name)
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def generic_visit(self, node):
        if isinstance(node, ast.stmt) and self.inside(node):
            self.statement(node)
        if isinstance(node, ast.expr) and self.inside(node):
            self.expression(node)
        super().generic_visit(node)

    # -- operators
    def statement(self, node) -> None:
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) or (
                isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant)):
            indent = self.lines[node.lineno - 1][:_chars(self.lines[node.lineno - 1], node.col_offset)]
            if indent.strip() == "":  # alone on its line(s)
                self.add("statement", node.lineno, 0, len(self.lines[node.lineno - 1]), indent + "pass",
                         last_line=node.end_lineno)
        if isinstance(node, ast.AugAssign) and type(node.op) in BINOPS:
            new = BINOPS[type(node.op)]
            self.gap("operator", node.target, node.value, SYMBOLS[type(node.op)] + "=", SYMBOLS[new] + "=")
        if isinstance(node, ast.Return) and node.value is not None:
            self.returned(node)

    def returned(self, node: ast.Return) -> None:
        value = node.value
        if isinstance(value, ast.Tuple) and len(value.elts) >= 2 and all(isinstance(e, ast.Name) for e in value.elts):
            swapped = [value.elts[1], value.elts[0], *value.elts[2:]]
            self.replace("return", value, ", ".join(e.id for e in swapped))
            return
        if not isinstance(value, ast.Name) or not self.functions:
            return
        fn = self.functions[-1]
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")]
        assigned = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                    and n.lineno < node.lineno]
        last = next((n for n in reversed(assigned) if n != value.id), None)
        first = next((n for n in params if n != value.id and n != last), None)
        for name in (last, first):  # the last intermediate value, an argument
            if name is not None:
                self.replace("return", value, name)

    def expression(self, node) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            new = BINOPS[type(node.op)]
            old_sym, new_sym = SYMBOLS[type(node.op)], SYMBOLS[new]
            if isinstance(node.op, ast.Pow):  # a * b binds looser than a ** b: keep the mutant grouped
                span = self.span(node)
                if span is not None and node.left.end_lineno == node.right.lineno:
                    line, start, end = span
                    text = self.lines[line - 1]
                    a, b = _chars(text, node.left.end_col_offset), _chars(text, node.right.col_offset)
                    if text[a:b].strip(" ()\t") == "**":
                        self.add("operator", line, start, end,
                                 "(" + text[start:a] + text[a:b].replace("**", "*", 1) + text[b:end] + ")")
            else:
                self.gap("operator", node.left, node.right, old_sym, new_sym)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in CMPOPS:
            op = type(node.ops[0])
            self.gap("operator", node.left, node.comparators[0], SYMBOLS[op], SYMBOLS[CMPOPS[op]])
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and not isinstance(node.operand, ast.Constant):
            if self.span(node) is not None and self.span(node.operand) is not None:
                self.replace("operator", node, self.text(node.operand))
        elif (isinstance(node, ast.Constant) and type(node.value) in (int, float)
              and not getattr(node, "_ag_axis", False)):
            self.replace("constant", node, repr(node.value + 1))
        elif isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
            if self.span(node.value) is not None:
                self.replace("transpose", node, self.text(node.value))
        elif isinstance(node, ast.Call):
            self.call(node)

    def call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in REDUCTIONS and isinstance(func, ast.Attribute) and self.span(func) is not None:
            text = self.text(func)
            self.replace("sum/mean", func, text[: len(text) - len(name)] + REDUCTIONS[name])
        if name == "transpose" and self.span(node) is not None:
            numpy_call = isinstance(func, ast.Name) or (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                                                        and func.value.id in ("np", "numpy"))
            target = (node.args[0] if node.args else None) if numpy_call else func.value
            if target is not None and self.span(target) is not None:
                self.replace("transpose", node, self.text(target))
        for kw in node.keywords:
            if kw.arg == "axis":
                for n in ast.walk(kw.value):
                    n._ag_axis = True  # the axis operator handles its constants
                value = _int_literal(kw.value)
                if value is not None:
                    self.replace("axis", kw.value, "1" if value == 0 else "0")
                self.drop_keyword("axis", node, kw)
            elif kw.arg == "keepdims" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                self.drop_keyword("keepdims", node, kw)

    def drop_keyword(self, operator: str, call: ast.Call, kw: ast.keyword) -> None:
        if self.span(call) is None:
            return
        new = copy.deepcopy(call)
        new.keywords = [k for k in new.keywords if not (k.arg == kw.arg)]
        self.replace(operator, call, ast.unparse(new))


def _int_literal(node) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _apply(lines: list[str], edit: _Edit) -> tuple[str, str, list[str]]:
    """(line before, line after, the cell's new lines)."""
    before = lines[edit.line - 1]
    if edit.last_line:
        after = edit.text
        new = lines[:edit.line - 1] + [after] + lines[edit.last_line:]
    else:
        after = before[:edit.start] + edit.text + before[edit.end:]
        new = lines[:edit.line - 1] + [after] + lines[edit.line:]
    return before, after, new


def mutants(solution: nbformat.NotebookNode, assignment: str) -> list[Mutant]:
    """Every mutant of the solution regions' code, in notebook order (deterministic)."""
    found: list[Mutant] = []
    seen_sources: set[tuple[int, str]] = set()
    occurrences: dict[str, int] = {}
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code":
            continue
        regions = solution_regions(cell.source)
        if not regions:
            continue
        plain = _strip_ipython(cell.source)
        try:
            tree = ast.parse(plain)
        except SyntaxError:
            continue
        lines = cell.source.splitlines()
        finder = _Finder(plain.splitlines(), regions)
        finder.visit(tree)
        for edit, function in sorted(finder.edits, key=lambda e: (e[0].line, e[0].start, OPERATORS.index(e[0].operator))):
            before, after, new = _apply(lines, edit)
            source = "\n".join(new)
            if after == before or (index, source) in seen_sources:
                continue
            try:
                ast.parse(_strip_ipython(source))
            except SyntaxError:
                continue
            seen_sources.add((index, source))
            key = f"{cell.get('id', index)}\n{before.strip()}\n{after.strip()}"
            occurrences[key] = occurrences.get(key, 0) + 1
            mid = hashlib.sha256(f"{key}\n{occurrences[key]}".encode()).hexdigest()[:10]
            found.append(Mutant(assignment, len(found), mid, edit.operator, index, edit.line, function,
                                before, after, source))
    return found


def mutant_notebook(solution: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    nb = copy.deepcopy(solution)
    nb.cells[mutant.cell].source = mutant.source
    return nb


def select(all_mutants: list[Mutant], limit: int | None = None, sample: int | None = None,
           seed: int = 0) -> list[Mutant]:
    """``limit``: the first N; ``sample``: N drawn with ``random.Random(seed)`` (same N, same draw)."""
    chosen = list(all_mutants)
    if sample is not None and sample < len(chosen):
        chosen = sorted(random.Random(seed).sample(chosen, sample), key=lambda m: m.index)
    if limit is not None:
        chosen = chosen[:limit]
    return chosen


def equivalent_mutants(assignment: Assignment) -> dict[str, str]:
    """``tests/grading/<id>.audit.toml``'s ``[equivalent]`` table: mutant id -> reason."""
    path = assignment.rubric.with_name(EQUIVALENT_FILE.format(id=assignment.id))
    if not path.is_file():
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in (data.get("equivalent") or {}).items()}


# ---------------------------------------------------------------- grading

def alternatives(course: Course, assignment: Assignment) -> list[Path]:
    return sorted((course.root / "tests" / "grading" / "alternatives" / assignment.id).glob("*.ipynb"))


def hardcoder(course: Course, assignment: Assignment) -> Path | None:
    path = course.root / "demo" / "class" / f"{assignment.id.split('_', 1)[0]}-hardcoded" / f"{assignment.id}.ipynb"
    return path if path.is_file() else None


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _place(dest: Path, text: str, files: list[Path]) -> None:
    """Write a notebook and copy the files it is graded with beside it (saved weights: what a
    submission's folder holds); unchanged copies are left alone, so results stay up to date."""
    _write_if_changed(dest, text)
    for f in files:
        target = dest.parent / f.name
        src = f.stat()
        if target.is_file() and (target.stat().st_size, target.stat().st_mtime) == (src.st_size, src.st_mtime):
            continue
        shutil.copy2(f, target)


@dataclass
class Plan:
    """What to grade for one assignment: the selected mutants and the checks."""

    assignment: Assignment
    total: int
    mutants: list[Mutant]
    checks: dict[str, tuple[str, Path]]  # student name -> (kind: solution|alternative|hardcoder, notebook)
    equivalent: dict[str, str]


def prepare(course: Course, assignment: Assignment, out: Path, *, limit=None, sample=None, seed=0) -> Plan:
    """Write the selected mutants' notebooks and the checks' copies under ``out``, each with the
    files beside its source; mutants and alternatives get the solution's files named after the
    assignment (``solutions/a05_cifar_model.pt``)."""
    from ..classroom.batch import neighbours

    solution = nbformat.read(assignment.solution, as_version=4)
    number = assignment.id.split("_", 1)[0]  # solutions/ is shared: only the files named a05_*
    given = [f for f in neighbours(assignment.solution) if f.name.startswith((f"{number}_", f"{number}-"))]
    everything = mutants(solution, assignment.id)
    chosen = select(everything, limit, sample, seed)
    for m in chosen:
        _place(out / "mutants" / assignment.id / m.name / f"{assignment.id}.ipynb",
               nbformat.writes(mutant_notebook(solution, m)), given)
    checks: dict[str, tuple[str, Path]] = {}
    sources = [("solution", "solution", assignment.solution, given)]
    for p in alternatives(course, assignment):  # its own files win over the solution's
        own = neighbours(p)
        sources.append((f"alt-{p.stem}", "alternative", p, own + [f for f in given if f.name not in {o.name for o in own}]))
    hard = hardcoder(course, assignment)
    if hard is not None:
        sources.append(("hardcoded", "hardcoder", hard, neighbours(hard)))
    for student, kind, path, files in sources:  # copied: named <id>.ipynb, alone in their folder
        dest = out / "checks" / assignment.id / student / f"{assignment.id}.ipynb"
        _place(dest, Path(path).read_text(encoding="utf-8"), files)
        checks[student] = (kind, dest)
    return Plan(assignment, len(everything), chosen, checks, equivalent_mutants(assignment))


def audit(course: Course, assignment_ids: list[str], out: Path, *, limit=None, sample=None, seed=0,
          jobs: int = 1, sandbox: str | None = None, resume: bool = True, progress: bool = False,
          stats: dict | None = None) -> list[dict]:
    """Grade the mutants and checks of each assignment; one report dict per assignment."""
    from ..classroom.batch import grade_all
    from ..engine.grade import Target

    out = Path(out)
    plans = [prepare(course, course.assignments[a], out, limit=limit, sample=sample, seed=seed)
             for a in assignment_ids]
    targets = []
    for p in plans:
        aid = p.assignment.id
        targets += [Target(m.name, out / "mutants" / aid / m.name / f"{aid}.ipynb") for m in p.mutants]
        targets += [Target(student, path) for student, (_, path) in p.checks.items()]
    results = grade_all(targets, course, out / "results", jobs=jobs, progress=progress, resume=resume,
                        stats=stats, sandbox=sandbox)
    by_key = {(r["student"], r["assignment"]): automatic_only(r) for r in results}
    return [summarise(p, by_key) for p in plans]


def automatic_only(result: dict) -> dict:
    """``result`` without its manually graded items (pending until a TA marks them: they say
    nothing about whether the rubric notices a wrong solution), score and maximum recomputed."""
    if not any(t.get("manual") for t in result.get("tests", [])):
        return result
    tests = [t for t in result["tests"] if not t.get("manual")]
    return {**result, "tests": tests, "score": float(sum(t["score"] for t in tests)),
            "max_score": float(sum(t["max_score"] for t in tests if t["status"] != "skipped"))}


def _failed_tests(result: dict) -> list[str]:
    return [t["name"] for t in result.get("tests", []) if t.get("score", 0) < t.get("max_score", 0)]


def summarise(plan: Plan, results: dict) -> dict:
    """The report of one assignment from its graded results ({(student, assignment): result})."""
    aid = plan.assignment.id
    rows = []
    for m in plan.mutants:
        r = results.get((m.name, aid)) or {"status": "error", "score": 0, "max_score": 0, "tests": []}
        if m.id in plan.equivalent:
            verdict = "equivalent"
        elif r["status"] != "graded":
            verdict = "error"
        else:
            verdict = "killed" if r["score"] < r["max_score"] else "survived"
        row = {k: v for k, v in asdict(m).items() if k != "source"}
        row.update(name=m.name, diff=m.diff, where=m.where, verdict=verdict, score=r["score"],
                   max_score=r["max_score"], killed_by=_failed_tests(r), reason=plan.equivalent.get(m.id, ""))
        rows.append(row)
    checks = []
    for student, (kind, path) in plan.checks.items():
        r = results.get((student, aid)) or {"status": "error", "score": 0, "max_score": 0, "tests": []}
        if kind == "hardcoder":
            ok = r["status"] == "graded" and r["score"] == 0
        else:
            ok = r["status"] == "graded" and r["max_score"] > 0 and r["score"] == r["max_score"]
        checks.append({"name": student, "kind": kind, "notebook": str(path), "score": r["score"],
                       "max_score": r["max_score"], "ok": ok, "failed": _failed_tests(r)})
    counts = {v: sum(row["verdict"] == v for row in rows) for v in ("killed", "survived", "equivalent", "error")}
    judged = counts["killed"] + counts["survived"]
    return {"assignment": aid, "mutants": plan.total, "graded": len(rows), **counts,
            "kill_rate": counts["killed"] / judged if judged else None,
            "by_operator": {op: {"killed": sum(r["verdict"] == "killed" for r in rows if r["operator"] == op),
                                 "survived": sum(r["verdict"] == "survived" for r in rows if r["operator"] == op)}
                            for op in OPERATORS},
            "rows": rows, "checks": checks}


# ---------------------------------------------------------------- reports

def _rate(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def terminal_report(reports: list[dict]) -> str:
    head = f"{'assignment':16} {'mutants':>7} {'graded':>6} {'killed':>6} {'survived':>8} {'equiv.':>6} {'errors':>6} {'kill rate':>9}"
    lines = [head, "-" * len(head)]
    for r in reports:
        lines.append(f"{r['assignment']:16} {r['mutants']:>7} {r['graded']:>6} {r['killed']:>6} {r['survived']:>8} "
                     f"{r['equivalent']:>6} {r['error']:>6} {_rate(r['kill_rate']):>9}")
    for r in reports:
        survivors = [row for row in r["rows"] if row["verdict"] == "survived"]
        lines.append("")
        lines.append(f"{r['assignment']}: {len(survivors)} surviving mutant(s)")
        for row in survivors:
            lines.append(f"  {row['name']} {row['id']} [{row['operator']}] {row['where']}: {row['diff']}")
        for row in (x for x in r["rows"] if x["verdict"] in ("equivalent", "error")):
            lines.append(f"  {row['name']} {row['id']} {row['verdict']}: {row['diff']}"
                         + (f" ({row['reason']})" if row["reason"] else ""))
        for c in r["checks"]:
            want = "0" if c["kind"] == "hardcoder" else "full marks"
            label = c["kind"] if c["name"] == c["kind"] else f"{c['kind']} {c['name']}"
            lines.append(f"  {'ok  ' if c['ok'] else 'FAIL'} {label}: {c['score']:g}/{c['max_score']:g} "
                         f"(wanted {want})" + (f"; failed: {', '.join(c['failed'])}" if not c["ok"] and c["failed"] else ""))
        if not any(c["kind"] == "alternative" for c in r["checks"]):
            lines.append(f"  (no alternatives in tests/grading/alternatives/{r['assignment']}/)")
        if not any(c["kind"] == "hardcoder" for c in r["checks"]):
            lines.append("  (no hardcoding student in demo/class/)")
    return "\n".join(lines)


def html_report(reports: list[dict]) -> str:
    from ..classroom.reports import _css, _env

    return _env().get_template("audit.html.j2").render(reports=reports, css=_css(), rate=_rate,
                                                       operators=OPERATORS)


def write_reports(reports: list[dict], out: Path) -> None:
    from ..core.files import atomic_write_text, write_json

    write_json(Path(out) / "audit.json", reports)
    atomic_write_text(Path(out) / "audit.html", html_report(reports))


def audit_command(course: Course, ids: list[str], out: str, *, limit=None, sample=None, seed=0, jobs=1,
                  sandbox="auto", resume=True, progress=True) -> int:
    import sys

    unknown = [a for a in ids if a not in course.assignments]
    if unknown:
        print(f"autograder audit: unknown assignment(s) {', '.join(unknown)} (known: "
              f"{', '.join(course.assignments)})", file=sys.stderr)
        return 2
    ids = ids or [a.id for a in course.assignments.values() if a.solution is not None]
    missing = [a for a in ids if course.assignments[a].solution is None]
    if missing:
        print(f"autograder audit: no solutions/<id>.ipynb for {', '.join(missing)}", file=sys.stderr)
        return 2
    stats: dict = {}
    reports = audit(course, ids, Path(out), limit=limit, sample=sample, seed=seed, jobs=jobs, sandbox=sandbox,
                    resume=resume, progress=progress, stats=stats)
    write_reports(reports, Path(out))
    print(terminal_report(reports))
    print(f"\ngraded {stats.get('graded', 0)}, reused {stats.get('cached', 0)} in {stats.get('seconds', 0):.1f} s"
          f"  ·  report: {Path(out) / 'audit.html'}")
    failed = any(not c["ok"] for r in reports for c in r["checks"]) or any(r["error"] for r in reports)
    return 1 if failed else 0
