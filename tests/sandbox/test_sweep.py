"""Numeric gradients of the student's code in few round trips (``remote.sweep``, ``testing.gradcheck``):
the same numbers as one call per perturbation, the student's object left as it was, forged or
failing sweeps reported like any other call."""
from __future__ import annotations

import nbformat
import numpy as np
import pytest

from autograder.sandbox import isolation as sandbox
from autograder.sandbox.remote import RemoteSubmission, WorkerFailure
from autograder.testing import assert_gradient, numeric_gradient, repeat_calls

CODE = '''
import numpy as np

class Linear:
    def __init__(self, W, b):
        self.W, self.b = W, b
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        out = x @ self.W + self.b
        x *= 0                      # spoils its input: every call must get its own copy
        return out

class Noisy:
    def __init__(self):
        self.bias = np.random.randn()

def loss(pred, target):
    return float(np.mean((pred - target) ** 2))

def big(n):
    return np.ones(n)

def fails_on_third():
    fails_on_third.n = getattr(fails_on_third, "n", 0) + 1
    if fails_on_third.n == 3:
        raise ValueError("третий вызов")
    return 1.0

def forge_sweeps():
    import gc
    for obj in gc.get_objects():
        if type(obj).__name__ == "Worker" and hasattr(obj, "op_sweep"):
            type(obj).op_sweep = lambda self, *a: []
'''


class Linear:
    """The grader-side twin of the student's Linear (for the loop fallback)."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        return x @ self.W + self.b


@pytest.fixture(scope="module")
def sub(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("scratch")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE)])
    s = RemoteSubmission(nb, scratch, sandbox.probe("auto"), sandbox.Limits(memory_mb=1024), timeout=30)
    s.start()
    assert s.import_errors == []
    yield s
    s.close()


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 2))


def test_gradients_of_student_code_match_the_analytic_ones_and_the_loop(sub):
    x, W, b, dout = _data()
    layer, local = sub.Linear(W.copy(), b.copy()), Linear(W.copy(), b.copy())
    forward = layer.forward
    before = sub._channel.requests
    numeric_gradient(forward, x, dout=dout)
    assert sub._channel.requests - before == 1  # 24 perturbed calls, one round trip
    for wrt, analytic in ((0, dout @ W.T), (1, None)):
        if wrt == 1:
            got = numeric_gradient(layer.forward, x, wrt=(layer, "W"), dout=dout)
            loop = numeric_gradient(local.forward, x, wrt=(local, "W"), dout=dout)
            analytic = x.T @ dout
        else:
            got = numeric_gradient(layer.forward, x, dout=dout)
            loop = numeric_gradient(local.forward, x, dout=dout)
        np.testing.assert_allclose(got, analytic, rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(got, loop)
    assert layer.calls == 4 * x.size + 2 * W.size  # one call per perturbation, in order
    np.testing.assert_array_equal(np.asarray(layer.W), W)  # the attribute is put back
    np.testing.assert_array_equal(local.W, W)


def test_a_scalar_loss_and_a_second_argument(sub):
    pred, target = np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 1.5])
    got = numeric_gradient(sub.loss, pred, target)
    np.testing.assert_allclose(got, 2 * (pred - target) / 3, rtol=1e-7)
    np.testing.assert_allclose(numeric_gradient(sub.loss, pred, target, wrt=1), -2 * (pred - target) / 3, rtol=1e-7)


def test_repeated_calls_and_replies_cut_by_size(sub):
    biases = repeat_calls(sub.Noisy, times=300, attr="bias")
    assert len(biases) == 300 and len(set(biases)) == 300
    # 12 MB results: the worker answers at most three per request (32 MB), the rest is asked again
    outs = repeat_calls(sub.big, 1_500_000, times=4)
    assert [o.shape for o in outs] == [(1_500_000,)] * 4


def test_an_exception_in_a_sweep_is_the_students_error(sub):
    with pytest.raises(ValueError, match="третий вызов"):
        repeat_calls(sub.fails_on_third, times=5)


def test_a_forged_sweep_reply_fails_the_call_and_the_worker_restarts(sub):
    sub.forge_sweeps()
    with pytest.raises(WorkerFailure, match="некорректный ответ"):
        repeat_calls(sub.big, 3, times=2)
    assert len(repeat_calls(sub.big, 3, times=2)) == 2  # a fresh worker


def test_assert_gradient_one_tolerance_for_every_rubric():
    numeric = np.array([[1.0, -2.0], [3e-7, 4.0]])
    assert_gradient(numeric.astype(np.float32), numeric, "float32 code passes")
    with pytest.raises(AssertionError, match="rel_error = 4.98e-03") as info:
        assert_gradient(numeric * 1.01, numeric, "Linear.backward: dW", inputs={"x": np.ones(2)})
    assert str(info.value).startswith("Linear.backward: dW: значения не совпадают")
    with pytest.raises(AssertionError, match="неверная форма"):
        assert_gradient(numeric.sum(axis=0), numeric, "несуммированный градиент")
