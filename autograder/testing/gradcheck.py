"""Numeric gradients by central differences in float64 (the cs231n recipe), and the one tolerance
that every rubric compares a student's gradient with.

    numeric = numeric_gradient(layer.forward, x, dout=dout)                      # d(out . dout)/dx
    numeric = numeric_gradient(layer.forward, x, wrt=(layer, "weights"), dout=dout)  # ... /dW
    assert_gradient(layer.dweights, numeric, "Linear.backward: self.dweights", inputs={"x": x})

When ``fn`` is the student's (a method or function from the ``submission`` fixture), all the
perturbed calls go to the sandboxed worker in a few requests (``autograder.sandbox.remote.sweep``);
the differences and the comparison are computed here.  A grader-side ``fn`` is called in a loop.
``fn`` only ever receives arrays and the arguments given.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..sandbox.remote import sweep
from ..sandbox.worker import run_sweep
from .asserts import assert_close, assert_shape

#: the course's tolerance for a gradient (analytic vs numeric): |a - n| <= atol + rtol * |n|
#: elementwise.  Correct float32 code passes (its error is ~1e-6 relative); a gradient of the wrong
#: thing, a missing factor or an unsummed batch does not.
GRADIENT_RTOL = 1e-4
GRADIENT_ATOL = 1e-6
STEP = 1e-5


def rel_error(x, y) -> float:
    """Relative error as the seminars define it: max |x - y| / max(1e-8, |x| + |y|).

    x, y: arrays of the same shape (anything ``np.asarray`` accepts).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def assert_gradient(actual, numeric, what: str, *, inputs: dict | None = None) -> np.ndarray:
    """The student's gradient matches the numeric one within GRADIENT_RTOL / GRADIENT_ATOL.

    actual: what the student's backward produced; numeric: ``numeric_gradient(...)`` (same shape).
    what: the call being checked (starts the message); inputs: {name: value} shown to the student.
    Returns ``actual`` as a float64 array.
    """
    numeric = np.asarray(numeric, dtype=np.float64)
    arr = assert_shape(actual, numeric.shape, what)
    try:
        return assert_close(arr, numeric, what, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL, inputs=inputs)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n  относительная ошибка rel_error = {rel_error(arr, numeric):.2e} "
                             f"(численный градиент — центральные разности, шаг {STEP:g})") from None


def numeric_gradient(fn: Callable[..., Any], *args, wrt=0, dout=None, h: float = STEP) -> np.ndarray:
    """Gradient of ``sum(fn(*args) * dout)`` by central differences in float64.

    fn: a function or method (the student's or the grader's); args: its positional arguments.
    wrt: int: the gradient with respect to ``args[wrt]`` (an array of shape S; replaced by float64
      copies, never modified); ``(obj, "name")``: with respect to the attribute ``obj.name`` (a
      layer's weights of shape S), set to perturbed float64 arrays and restored after.
    dout: the upstream gradient, of fn's output shape (a number for a scalar output); None: the
      output is summed.
    Returns an array of shape S.
    """
    base = np.array(args[wrt] if type(wrt) is int else getattr(*wrt), dtype=np.float64)
    weight = None if dout is None else np.asarray(dout, dtype=np.float64)
    grad = np.zeros_like(base)
    n = base.size
    step = max(1, 2**20 // max(1, n))  # indices perturbed at once: 2 x step points of shape S, <= 16 MB
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step))
        points = np.repeat(base[None], 2 * len(idx), axis=0)
        flat = points.reshape(len(points), -1)
        flat[0::2][np.arange(len(idx)), idx] += h
        flat[1::2][np.arange(len(idx)), idx] -= h
        values = np.array([_weighted(out, weight) for out in evaluate(fn, args, wrt, points)])
        grad.reshape(-1)[idx] = (values[0::2] - values[1::2]) / (2 * h)
    return grad


def _weighted(out, weight) -> float:
    out = np.asarray(out, dtype=np.float64)
    return float(out.sum() if weight is None else np.sum(out * weight))


def evaluate(fn: Callable[..., Any], args: tuple, wrt, points: np.ndarray) -> list:
    """``fn(*args)`` with ``args[wrt]`` (or the attribute ``wrt = (obj, name)``) set to each of
    ``points`` (shape (K, *S)) in turn; returns the K results.  The student's fn is evaluated in the
    worker in a few requests; a grader-side fn in a loop here."""
    slot = wrt if type(wrt) is int else tuple(wrt)
    batched = sweep(fn, tuple(args), slot, points)
    if batched is not None:
        return batched
    restore = None if type(wrt) is int else np.array(getattr(*wrt), dtype=np.float64)
    return run_sweep(lambda: fn, tuple(args), slot, points, restore=restore)


def repeat_calls(fn: Callable[..., Any], *args, times: int, attr: str | None = None) -> list:
    """``[fn(*args) for _ in range(times)]`` (each result's attribute ``attr`` if given), in a few
    requests when fn is the student's: e.g. the biases of 500 fresh neurons, to test their
    distribution."""
    batched = sweep(fn, tuple(args), None, int(times), pick=attr)
    return batched if batched is not None else run_sweep(lambda: fn, tuple(args), None, int(times), pick=attr)
