"""Assertions whose messages a student understands (Russian first).

Every assertion takes ``what``: a short description of the call being checked, for example
``"Linear.forward(x) для x формы (3, 4)"``; it starts the failure message.
"""
from __future__ import annotations

import ast
import textwrap

import numpy as np

from ..sandbox.wire import check_size

_PRINT = dict(precision=4, threshold=40, edgeitems=3, suppress_small=True)


def _fmt(a) -> str:
    a = np.asarray(a)
    return np.array2string(a, **_PRINT) if a.ndim else repr(a.item())


def _not_numeric(value, what: str, exc: Exception) -> AssertionError:
    return AssertionError(
        f"{what}: ожидался числовой массив, получено значение типа {type(value).__name__} ({exc})")


def _plain(value, what: str) -> np.ndarray:
    """``np.asarray(value)`` without a dtype: an ndarray (or tensor) is not copied or converted."""
    try:
        return np.asarray(value)
    except Exception as exc:  # a ragged list, a handle that is not an array...
        raise _not_numeric(value, what, exc) from None


def _float64(arr: np.ndarray, value, what: str) -> np.ndarray:
    """arr as float64, refused before converting when it would exceed ``wire.MAX_CONVERTED``."""
    check_size(arr.shape, np.float64, what)
    try:
        return np.asarray(arr, dtype=np.float64)
    except Exception as exc:  # objects, None, a string...
        raise _not_numeric(value, what, exc) from None


def as_array(value, what: str) -> np.ndarray:
    """``np.asarray(value, float64)`` with a clear message when the value is not numeric, or too
    large: a value over ``wire.MAX_CONVERTED`` bytes as float64 is refused before it is converted.

    value: what the student's code returned.  Returns a float64 ndarray.
    """
    return _float64(_plain(value, what), value, what)


def assert_shape(value, shape, what: str) -> np.ndarray:
    """The result has exactly this shape; returns it as a float64 array.  The shape is checked
    before the value is converted (a huge wrong-shaped result is never copied).

    shape: tuple of ints (``()`` for a scalar).
    """
    arr = _plain(value, what)
    if arr.shape != tuple(shape):
        raise AssertionError(
            f"{what}: неверная форма результата: ожидалась {tuple(shape)}, получена {arr.shape}"
        )
    return _float64(arr, value, what)


def assert_finite(value, what: str) -> np.ndarray:
    """No NaN or inf in the result (for example softmax on large inputs)."""
    arr = as_array(value, what)
    if not np.all(np.isfinite(arr)):
        raise AssertionError(
            f"{what}: результат содержит nan или inf (переполнение?): {_fmt(arr)}"
        )
    return arr


def assert_close(actual, expected, what: str, *, rtol: float = 1e-4, atol: float = 1e-6,
                 inputs: dict | None = None) -> np.ndarray:
    """Values match within tolerance (defaults accept correct float32 code).

    actual: what the student's code returned; expected: the reference (same shape).
    inputs: optional {name: value} printed in the message so the student can reproduce it.
    """
    expected = np.asarray(expected, dtype=np.float64)
    arr = assert_shape(actual, expected.shape, what)
    if not np.allclose(arr, expected, rtol=rtol, atol=atol, equal_nan=False):
        diff = np.abs(arr - expected)
        worst = np.unravel_index(np.nanargmax(np.where(np.isnan(diff), np.inf, diff)), diff.shape) if diff.size else ()
        lines = [
            f"{what}: значения не совпадают с эталоном.",
            f"  ожидалось: {_fmt(expected)}",
            f"  получено:  {_fmt(arr)}",
            f"  наибольшее расхождение {float(diff[worst]):.3g} в позиции {tuple(int(i) for i in worst)}",
        ]
        for name, value in (inputs or {}).items():
            lines.append(f"  вход {name} = {_fmt(value)}")
        raise AssertionError("\n".join(lines))
    return arr


def assert_no_loops(source: str, what: str) -> None:
    """The source of a function or class has no ``for``/``while`` loop and no comprehension.

    source: the text of the student's definition (``submission.source_of("Linear")``).
    """
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError as exc:
        raise AssertionError(f"{what}: не удалось разобрать исходный код ({exc})") from None
    loops = (ast.For, ast.While, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    for node in ast.walk(tree):
        if isinstance(node, loops):
            kind = "цикл" if isinstance(node, (ast.For, ast.While, ast.AsyncFor)) else "генератор/comprehension"
            raise AssertionError(
                f"{what}: найден {kind} в строке {node.lineno}. В задании требуется векторизованная "
                "реализация без циклов Python: используйте операции numpy над целыми массивами."
            )


__all__ = ["as_array", "assert_shape", "assert_finite", "assert_close", "assert_no_loops"]
