"""Protected cells: given code the student must not change is graded in its released version.

A protected cell (tag ``protected`` in the released notebook) is found in the submission by cell
id, else by identical text, else by the most similar code cell (editors such as Colab or VS Code
may drop ids and metadata).  A changed one is put back; a deleted one is re-inserted after the
cell that preceded it.  Each repair is reported to the student.  Generated self-check cells
(``checkcells``) are found by id or text only, and a deleted one is not put back.
"""
from __future__ import annotations

import copy
import difflib

import nbformat

from ..core.course import Assignment
from .checkcells import is_generated, is_protected

SIMILAR = 0.6  # difflib ratio above which an edited cell is taken for the protected one


def _find(nb: nbformat.NotebookNode, cell, taken: set[int], similar: bool = True) -> list[int]:
    same_id = [i for i, c in enumerate(nb.cells) if cell.get("id") and c.get("id") == cell.get("id")]
    if same_id:
        return same_id
    text = cell.source.strip()
    same_text = [i for i, c in enumerate(nb.cells) if c.cell_type == cell.cell_type and c.source.strip() == text]
    if same_text or not similar:
        return same_text
    scored = [(difflib.SequenceMatcher(None, c.source, cell.source).ratio(), i)
              for i, c in enumerate(nb.cells) if c.cell_type == cell.cell_type and i not in taken]
    best = max(scored, default=(0.0, -1))
    return [best[1]] if best[0] >= SIMILAR else []


def restore_protected(nb: nbformat.NotebookNode, assignment: Assignment) -> tuple[nbformat.NotebookNode, list[str]]:
    """Return the notebook to grade (protected cells as released) and notes for the student."""
    if assignment.student is None:
        return nb, []
    released = nbformat.read(assignment.student, as_version=4)
    protected = [(k, c) for k, c in enumerate(released.cells) if is_protected(c)]
    if not protected:
        return nb, []
    nb = copy.deepcopy(nb)
    notes: list[str] = []
    taken: set[int] = set()
    for k, cell in protected:
        generated = is_generated(cell)  # a self-check cell: never taken for a similar student cell
        found = _find(nb, cell, taken, similar=not generated)
        first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
        if found:
            taken.update(found)
            for i in found:
                if nb.cells[i].source != cell.source:
                    nb.cells[i].source = cell.source
                    notes.append(f"Защищённая ячейка «{first_line}» была изменена: при проверке "
                                 "использована исходная версия из задания.")
            continue
        if generated:
            continue  # deleted (or a notebook from before it existed): it holds nothing to grade
        position = 0
        for j in range(k - 1, -1, -1):
            before = _find(nb, released.cells[j], set())
            if before:
                position = before[-1] + 1
                break
        nb.cells.insert(position, copy.deepcopy(cell))
        taken = {i + (i >= position) for i in taken} | {position}
        notes.append(f"Защищённая ячейка «{first_line}» была удалена: при проверке она восстановлена.")
    return nb, notes
