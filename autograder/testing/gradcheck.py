"""Numeric gradients by central differences in float64 (the cs231n recipe).

All functions work on plain numpy arrays.  The function being differentiated may be the
student's (``layer.forward``): it is only ever called with arrays.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


def rel_error(x, y) -> float:
    """Relative error as the seminars define it: max |x - y| / max(1e-8, |x| + |y|).

    x, y: arrays of the same shape (anything ``np.asarray`` accepts).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def numeric_gradient(f: Callable[[np.ndarray], Any], x, h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function f at x by central differences.

    f: takes an array of x's shape, returns a number (or a size-1 array).
    x: array of any shape; it is copied to float64 and never modified in place.
    Returns an array of x's shape: df/dx.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = float(np.asarray(f(x.copy()), dtype=np.float64).sum())
        x[idx] = old - h
        fm = float(np.asarray(f(x.copy()), dtype=np.float64).sum())
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad


def numeric_gradient_array(f: Callable[[np.ndarray], Any], x, dout, h: float = 1e-5) -> np.ndarray:
    """Gradient of sum(f(x) * dout) with respect to x: what a backward pass must return.

    f: takes an array of x's shape, returns an array of dout's shape.
    x: array of shape S;  dout: array of f(x)'s shape (the upstream gradient).
    Returns an array of shape S.
    """
    dout = np.asarray(dout, dtype=np.float64)
    return numeric_gradient(lambda z: np.sum(np.asarray(f(z), dtype=np.float64) * dout), x, h)


def numeric_gradient_attr(obj, name: str, f: Callable[[], Any], dout=None, h: float = 1e-5) -> np.ndarray:
    """Gradient with respect to an attribute of an object (a layer's weights, say).

    obj: any object whose attribute ``name`` holds an array (a student's layer).
    f: called with no arguments, returns the output (typically ``lambda: layer.forward(x)``).
    dout: upstream gradient of f()'s shape; None means f() is a scalar.
    The attribute is set to perturbed float64 copies (plain ``setattr``) and restored after.
    Returns an array of the attribute's shape.
    """
    original = np.array(getattr(obj, name), dtype=np.float64)
    weight = None if dout is None else np.asarray(dout, dtype=np.float64)

    def at(value):
        setattr(obj, name, value)
        out = np.asarray(f(), dtype=np.float64)
        return out.sum() if weight is None else np.sum(out * weight)

    try:
        return numeric_gradient(at, original, h)
    finally:
        setattr(obj, name, original.copy())
