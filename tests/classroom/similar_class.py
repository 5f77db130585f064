"""A synthetic class for ``autograder similarity``: independent students and copies.

Every student fills each ``# YOUR CODE HERE`` stub of a released notebook with a body of their
own (random numpy code from a small grammar: random names, constants, operators, loops and
branches) and adds a cell of three helper functions.  A copy takes another student's notebook and
renames every identifier the student chose, reverses the order of the helper functions, and/or
swaps the comments and blank lines for others.  (The code need not run: similarity never runs it.)
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import nbformat

STUB = re.compile(r"^( *)# YOUR CODE HERE\n\1raise NotImplementedError\(\)$", re.M)
FUNCS = ["sum", "mean", "max", "min", "cumsum", "argmax", "abs", "exp", "sqrt", "tanh", "log1p", "square"]
OPS = ["+", "-", "*", "/"]


def _name(rng: random.Random) -> str:
    return rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789")
                                                             for _ in range(rng.randint(3, 8)))


def _num(rng: random.Random) -> str:
    return rng.choice([str(rng.randint(2, 97)), f"{rng.uniform(0.01, 9.9):.3f}", f"1e-{rng.randint(2, 9)}"])


def body(rng: random.Random, indent: str, names: set[str], args: list[str]) -> list[str]:
    """3 to 7 statements of random numpy code ending in a return; new names go into ``names``."""
    live = list(args) or ["np.ones(3)"]
    lines = []
    for _ in range(rng.randint(2, 6)):
        v = _name(rng)
        names.add(v)
        a, b = rng.choice(live), rng.choice(live)
        kind = rng.randrange(6)
        if kind == 0:
            lines.append(f"{v} = np.{rng.choice(FUNCS)}({a}, axis={rng.randint(0, 1)})")
        elif kind == 1:
            lines.append(f"{v} = {a} {rng.choice(OPS)} {_num(rng)} {rng.choice(OPS)} {b}")
        elif kind == 2:
            i = _name(rng)
            names.add(i)
            lines += [f"{v} = np.zeros_like({a})", f"for {i} in range({rng.randint(2, 40)}):",
                      f"    {v} = {v} {rng.choice(OPS)} {b} * {_num(rng)}"]
        elif kind == 3:
            lines += [f"if np.{rng.choice(FUNCS)}({a}) > {_num(rng)}:", f"    {v} = {a}[:{rng.randint(1, 9)}]",
                      "else:", f"    {v} = {b} {rng.choice(OPS)} {_num(rng)}"]
        elif kind == 4:
            lines.append(f"{v} = np.where({a} > {_num(rng)}, {b}, {_num(rng)} * {a})")
        else:
            lines.append(f"{v} = np.clip({a}, -{_num(rng)}, {_num(rng)}).reshape({a}.shape[0], -1)")
        live.append(v)
    lines.append(f"return {live[-1]}")
    return [indent + x for x in lines]


def student(released: nbformat.NotebookNode, seed: int) -> tuple[nbformat.NotebookNode, set[str]]:
    """An independent student: every stub filled with its own code, plus a helpers cell."""
    import copy

    rng = random.Random(seed)
    nb = copy.deepcopy(released)
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = STUB.sub(lambda m: "\n".join(body(rng, m.group(1), names, ["self", "x"][1:])), cell.source)
    helpers = []
    for _ in range(3):
        f, x = _name(rng), _name(rng)
        names |= {f, x}
        helpers.append(f"def {f}({x}):\n    # helper of student {seed}\n" + "\n".join(body(rng, "    ", names, [x])))
    nb.cells.append(nbformat.v4.new_code_cell("\n\n\n".join(helpers)))
    return nb, names


def copy_of(nb: nbformat.NotebookNode, names: set[str], seed: int, *, rename: bool = True,
            reorder: bool = True, comments: bool = True) -> nbformat.NotebookNode:
    """A copy of a student's notebook, disguised."""
    import copy

    rng = random.Random(seed)
    nb = copy.deepcopy(nb)
    mapping = {n: _name(rng) + "_" for n in names}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        src = cell.source
        if rename:
            src = re.sub(r"\b(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\b",
                         lambda m: mapping[m.group(1)], src)
        if comments:
            out = []
            for line in src.split("\n"):
                if line.strip().startswith("#") and "YOUR CODE" not in line:
                    continue
                out.append(line)
                if line.strip().startswith(("for ", "if ")) and rng.random() < 0.5:
                    out.append(" " * (len(line) - len(line.lstrip()) + 4) + f"# step {rng.randint(1, 99)}")
                if rng.random() < 0.15:
                    out.append("")
            src = "\n".join(out)
        cell.source = src
    if reorder:
        last = nb.cells[-1]
        last.source = "\n\n\n".join(reversed(last.source.split("\n\n\n")))
    return nb


def make_class(folder: Path, released_path: Path, assignment: str, *, independent: int = 12,
               copies=((0, "rename"), (1, "reorder"), (2, "comments"), (3, "all"))) -> dict[str, str]:
    """Write ``folder/<student>/<assignment>.ipynb``; returns {copy: original} for the copies."""
    released = nbformat.read(released_path, as_version=4)
    made = {}
    for k in range(independent):
        nb, names = student(released, 1000 + k)
        made[f"s{k:03d}"] = (nb, names)
        path = folder / f"s{k:03d}" / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    pairs = {}
    for n, (k, how) in enumerate(copies):
        nb, names = made[f"s{k:03d}"]
        disguised = copy_of(nb, names, 5000 + n, rename=how in ("rename", "all"), reorder=how in ("reorder", "all"),
                            comments=how in ("comments", "all"))
        name = f"copy-{how}-of-s{k:03d}"
        path = folder / name / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(disguised, path)
        pairs[name] = f"s{k:03d}"
    return pairs
