"""Answers to manually graded items: where a submission's answer is, and whether there is one.

A rubric declares manual items (``MANUAL``, read by ``core.course.read_manual``); the release tags
each one's answer cell ``manual:<item id>`` (``authoring.release``).  In a submission the answer
is found by that tag, else by the released cell's id, else as the cell after the one that precedes
it in the release (editors such as Colab may drop tags and ids).  The answer is that cell plus the
cells the student added right before or after it (an experiment and its plots), up to the nearest
released cell.  It is *answered* when it differs from the released text.

Grading records every item as ``pending`` (0 of its points) when answered, and as failed with a
message when not (``manual_tests``); a TA's mark replaces it later (``classroom.policy``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import nbformat

from ..core.course import Assignment, ManualItem

PENDING = "pending"
#: what the student reads for an item without an answer (ru, en)
NO_ANSWER = {"ru": "Ответ не найден: ячейка ответа не заполнена (или удалена).",
             "en": "No answer found: the answer cell was left as released (or deleted)."}


@dataclass
class Answer:
    """A submission's answer to one item: its cells (the answer cell first among them at
    ``index``), whether it differs from the released text, and a digest of its text."""

    cells: list = field(default_factory=list)
    index: int | None = None          # the answer cell's position in the submission
    answered: bool = False
    digest: str | None = None         # sha256 of the answer's sources (12 hex), when answered


def _norm(text) -> str:
    text = "".join(text) if isinstance(text, list) else str(text or "")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _tags(cell) -> list:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return tags if isinstance(tags, list) else []


def released_answer_cell(released: nbformat.NotebookNode, item: ManualItem) -> int | None:
    """The position of ``item``'s answer cell in the released notebook (tagged at release)."""
    for i, cell in enumerate(released.cells):
        if item.tag in _tags(cell):
            return i
    return None


def find_answer(nb: nbformat.NotebookNode, released: nbformat.NotebookNode | None, item: ManualItem) -> Answer:
    """The answer to ``item`` in the submission ``nb`` (see the module's docstring)."""
    cells = list(nb.get("cells") or [])
    at = next((i for i, c in enumerate(cells) if item.tag in _tags(c)), None)
    stub = None
    known_ids, known_texts = set(), set()
    if released is not None:
        r = released_answer_cell(released, item)
        known_ids = {c.get("id") for c in released.cells if c.get("id")}
        known_texts = {_norm(c.get("source")) for c in released.cells}
        if r is not None:
            stub = released.cells[r]
            if at is None and stub.get("id"):
                at = next((i for i, c in enumerate(cells) if c.get("id") == stub.get("id")), None)
            if at is None and r > 0:  # the cell after the one that precedes it in the release
                before = released.cells[r - 1]
                for i, c in enumerate(cells[:-1]):
                    if (c.get("id") and c.get("id") == before.get("id")) or _norm(c.get("source")) == _norm(before.source):
                        nxt = cells[i + 1]
                        if nxt.get("cell_type") == stub.cell_type and not _is_released(nxt, known_ids, known_texts - {_norm(stub.source)}):
                            at = i + 1
                        break
    if at is None:
        return Answer()

    def added(c) -> bool:  # a cell the student added (not one of the release's)
        return not _is_released(c, known_ids, known_texts)

    start, end = at, at + 1
    while start > 0 and added(cells[start - 1]):
        start -= 1
    while end < len(cells) and added(cells[end]):
        end += 1
    block = cells[start:end]
    texts = [(c.get("cell_type"), _norm(c.get("source"))) for c in block]
    own = [t for k, t in enumerate(texts) if k != at - start and t[1]]
    answered = bool(own) or stub is None or texts[at - start][1] != _norm(stub.source)
    answered = answered and any(t for _, t in texts)
    digest = None
    if answered:
        digest = hashlib.sha256("\0".join(f"{k}:{t}" for k, t in texts).encode()).hexdigest()[:12]
    return Answer(block, at, answered, digest)


def _is_released(cell, ids: set, texts: set) -> bool:
    return bool(cell.get("id") and cell.get("id") in ids) or _norm(cell.get("source")) in texts


def released_notebook(assignment: Assignment) -> nbformat.NotebookNode | None:
    """The assignment's released notebook (``assignments/<id>.ipynb``), or None."""
    if assignment.student is None:
        return None
    try:
        return nbformat.read(assignment.student, as_version=4)
    except (OSError, ValueError):
        return None


def manual_tests(assignment: Assignment, nb: nbformat.NotebookNode | None, *, run: bool = True,
                 released: nbformat.NotebookNode | None = None) -> list[dict]:
    """The result entries of ``assignment``'s manual items for the submission ``nb``: ``pending``
    (0 of their points) when answered, failed with a message when not; ``run=False`` (the
    notebook could not be graded): ``not_run``.  Each entry has ``manual: True`` and ``answer``
    (the answer's digest, which a TA's mark records)."""
    items = assignment.manual_items
    if not items:
        return []
    if released is None:
        released = released_notebook(assignment)
    entries = []
    for item in items:
        answer = find_answer(nb, released, item) if (nb is not None and run) else Answer()
        entry = {"name": item.id, "task": item.task, "description": item.question, "max_score": item.points,
                 "hidden": False, "visibility": "visible", "manual": True, "score": 0.0,
                 "answer": answer.digest, "output": ""}
        if not run:
            entry["status"] = "not_run"
        elif answer.answered:
            entry["status"] = PENDING
        else:
            entry["status"] = "failed"
            entry["output"] = NO_ANSWER["ru"]
        entries.append(entry)
    return entries
