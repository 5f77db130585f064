"""What a rubric declares, read without importing it: its tests and their points.

The class-level commands need these before (or without) grading: an override naming a test that
does not exist stops the command (``policy.check_overrides``), and an assignment nobody handed in
yet still has its points possible (the roster's ``missing`` rows, the exports).
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path


def _points(decorators: list[ast.expr]) -> float | None:
    """``n`` of ``@pytest.mark.points(n)`` when it is a literal number."""
    for d in decorators:
        if (isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "points"
                and d.args and isinstance(d.args[0], ast.Constant)
                and isinstance(d.args[0].value, (int, float)) and not isinstance(d.args[0].value, bool)):
            return float(d.args[0].value)
    return None


@lru_cache(maxsize=64)
def _read(path: str, _mtime_ns: int) -> tuple[tuple[str, float | None], ...]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), path)
    found: list[tuple[str, float | None]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            found.append((node.name, _points(node.decorator_list)))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                    found.append((item.name, _points(item.decorator_list) or _points(node.decorator_list)))
    return tuple(found)


def rubric_tests(rubric: Path) -> dict[str, float | None]:
    """``{test function name: points}`` of a rubric (points None where not a literal); {} when the
    file cannot be read or parsed."""
    try:
        return dict(_read(str(rubric), Path(rubric).stat().st_mtime_ns))
    except (OSError, SyntaxError, ValueError):
        return {}


def rubric_points(rubric: Path) -> float:
    """The points of every test of a rubric, public and hidden (what a full grade is worth)."""
    return float(sum(p for p in rubric_tests(rubric).values() if p))


def course_tests(course) -> dict[str, set[str]]:
    """``{assignment id: its test names}`` of a ``core.course.Course``."""
    return {aid: set(rubric_tests(a.rubric)) for aid, a in course.assignments.items()}


def course_points(course) -> dict[str, float]:
    """``{assignment id: points possible}`` of a ``core.course.Course`` (from the rubrics)."""
    return {aid: rubric_points(a.rubric) for aid, a in course.assignments.items()}
