"""A two-task course built in a temporary folder: the engine's tests grade against it."""
from __future__ import annotations

from pathlib import Path

import nbformat

RUBRIC = '''
import numpy as np
import pytest
from hypothesis import given
from autograder.testing import arrays, batch_sizes, assert_close

ASSIGNMENT = {"title": "tiny", "cell_timeout": 5, "notebook_timeout": 20, "test_timeout": 5}


@pytest.mark.task("1 double")
@pytest.mark.points(1)
def test_double_value(submission):
    """double(2) = 4."""
    assert_close(submission.double(np.array([2.0])), [4.0], "double([2.])")


@pytest.mark.task("1 double")
@pytest.mark.points(2)
@given(x=arrays(batch_sizes, 3))
def test_double_shape(submission, x):
    """double keeps the shape."""
    assert_close(submission.double(x), 2 * x, "double(x)")


@pytest.mark.task("2 Scale")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_scale(submission):
    """Scale(3).forward(1) = 3."""
    assert_close(submission.Scale(3.0).forward(np.ones(2)), [3.0, 3.0], "Scale(3).forward")
'''

SOLUTION_CELLS = [
    ("markdown", "# Tiny\nЗадание 1."),
    ("code", "import numpy as np\n%matplotlib inline"),
    ("code", "class Given:\n    '''given code'''\n    k = 1", ["protected"]),
    ("code", "def double(x):\n    \"\"\"x: array (N, D) -> (N, D)\"\"\"\n    ### BEGIN SOLUTION\n    return 2 * np.asarray(x)\n    ### END SOLUTION"),
    ("code", "print(double(np.ones(3)))"),
    ("code", "class Scale(Given):\n    def __init__(self, k):\n        self.k = k\n\n    def forward(self, x):\n        ### BEGIN SOLUTION\n        return self.k * x\n        ### END SOLUTION"),
]


def notebook(cells, metadata=None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for i, spec in enumerate(cells):
        kind, source, *tags = spec
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        cell.id = f"tiny-{i:02d}"
        if tags:
            cell.metadata["tags"] = tags[0]
        nb.cells.append(cell)
    nb.metadata.update(metadata or {})
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_course(root: Path) -> Path:
    """Write solutions/a00_tiny.ipynb, tests/grading/a00_tiny.py and release assignments/."""
    from autograder.core.course import Course
    from autograder.authoring.release import release

    (root / "tests" / "grading").mkdir(parents=True)
    (root / "solutions").mkdir()
    (root / "tests" / "grading" / "a00_tiny.py").write_text(RUBRIC, encoding="utf-8")
    nbformat.write(notebook(SOLUTION_CELLS), root / "solutions" / "a00_tiny.ipynb")
    (root / "pyproject.toml").write_text("[project]\nname='tiny'\nversion='0'\n", encoding="utf-8")
    assert release(Course(root)) == []
    return root
