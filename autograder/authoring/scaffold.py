"""``autograder new ASSIGNMENT_ID``: the skeleton of a new assignment.

Writes ``solutions/<id>.ipynb`` (a title cell, a protected imports cell, one example task with a
SOLUTION region) and ``tests/grading/<id>.py`` (``ASSIGNMENT`` and one example test with its
points and task), so ``autograder release`` and grading work on it at once.  Nothing is
overwritten.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ID = re.compile(r"^a\d{2}_[a-z0-9]+(?:_[a-z0-9]+)*$")


class ScaffoldError(ValueError):
    pass


EXAMPLE_TASK = '''def add_bias(inputs, bias):
    """inputs: array of shape (N, D), bias: array of shape (D,) -> array of shape (N, D)"""
    ### BEGIN SOLUTION
    return np.asarray(inputs) + np.asarray(bias)
    ### END SOLUTION'''

RUBRIC = '''"""Рубрика задания {id}: «{title}».

Один тест на пункт задания; баллы -- в маркере points, задача -- в маркере task, строка для
студента -- первая строка docstring.
"""
import numpy as np
import pytest
from hypothesis import given

from autograder.testing import arrays, assert_close, batch_sizes, feature_counts

ASSIGNMENT = {{"title": {title!r}, "cell_timeout": 60, "test_timeout": 30}}


@pytest.mark.task("1 Смещение")
@pytest.mark.points(1)
def test_add_bias_reference_value(submission):
    """add_bias прибавляет смещение к каждой строке батча."""
    inputs = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert_close(submission.add_bias(inputs, np.array([0.5, -1.0])), [[1.5, 1.0], [3.5, 3.0]],
                 "add_bias(inputs, bias)")


@pytest.mark.task("1 Смещение")
@pytest.mark.points(1)
@given(inputs=arrays(batch_sizes, feature_counts))
def test_add_bias_any_shape(submission, inputs):
    """add_bias работает для батча любой формы (N, D)."""
    bias = np.arange(inputs.shape[1], dtype=float)
    assert_close(submission.add_bias(inputs, bias), inputs + bias, "add_bias(inputs, bias)")
'''


def solution_notebook(assignment_id: str, title: str) -> nbformat.NotebookNode:
    """The skeleton solution notebook (nbformat 4.5, cells with ids, no outputs)."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(f"# {title}\n\nОпишите здесь задание: что строим, какие данные, как проверяется."),
        code("import numpy as np", metadata={"tags": ["protected"]}),
        md("## Задание 1. Смещение\n\nРеализуйте `add_bias(inputs, bias)`: прибавьте вектор смещений "
           "`bias` формы `(D,)` к каждой строке батча `inputs` формы `(N, D)`."),
        code(EXAMPLE_TASK),
        code("add_bias(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -1.0]))"),
    ]
    for i, cell in enumerate(cells):
        cell.id = f"{assignment_id.split('_', 1)[0]}-c{i:02d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def new_assignment(root: Path, assignment_id: str, title: str = "") -> list[Path]:
    """Write the skeleton of ``assignment_id`` into the course at ``root``; returns the files."""
    if not ID.match(assignment_id):
        raise ScaffoldError(f"{assignment_id!r} is not an assignment id: use aNN_slug (a06_conv)")
    root = Path(root)
    solution = root / "solutions" / f"{assignment_id}.ipynb"
    rubric = root / "tests" / "grading" / f"{assignment_id}.py"
    taken = [p for p in (solution, rubric) if p.exists()]
    if taken:
        raise ScaffoldError(f"already exists, nothing written: {', '.join(map(str, taken))}")
    same_number = sorted(p.stem for p in (root / "tests" / "grading").glob(assignment_id.split("_", 1)[0] + "_*.py"))
    if same_number:
        raise ScaffoldError(f"{same_number[0]} already has the number {assignment_id.split('_', 1)[0]}: "
                            "notebooks are recognised by it")
    title = title or assignment_id
    if "\n" in title or '"""' in title:
        raise ScaffoldError("the title is one line without triple quotes")
    solution.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(solution_notebook(assignment_id, title), solution)
    rubric.write_text(RUBRIC.format(id=assignment_id, title=title), encoding="utf-8")
    return [solution, rubric]
