"""Rubric of a05_mlp_cnn ("[ML][HW05] Нейронные сети", 10 points).

Task 1 (3): Linear / ReLU / Softmax on numpy.  Task 2 (2): MLPClassifier.  Task 3 (2): moons and
blobs trained once with fixed seeds.  Task 4 (3): a PyTorch CNN for CIFAR-10, graded from the
student's saved ``state_dict`` (never trained here); needs the optional extra ``torch`` and a
``cifar-10-batches-py`` folder (``autograder grade --data DIR``, else ``<course>/data``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import make_blobs, make_moons

from autograder.testing import (
    arrays,
    as_array,
    assert_close,
    assert_finite,
    assert_shape,
    batch_sizes,
    feature_counts,
    load_state_dict,
    assert_gradient,
    numeric_gradient,
    reference,
    seeds,
    well_conditioned,
)

ASSIGNMENT = {
    "title": "Нейронные сети: MLP на numpy и CNN на PyTorch",
    "test_timeout": 300,      # task 4 runs the student's CNN over the CIFAR-10 test set on a CPU
    "rubric_timeout": 900,
    "memory_mb": 4096,        # PyTorch
}

#: the saved weights of task 4 (the notebook asks for "tens of megabytes at most")
WEIGHTS_MAX_MB = 50
TORCH_REASON = "не оценено: установите дополнительную зависимость torch (pip install '.[torch]')"


# Public tests compare with literals (seeded inputs, computed once with the reference and written
# below) or with numeric gradients of the student's own forward, after checking that forward on a
# literal ("anchor"), so zeros everywhere earn nothing.  Reference code (@reference) is used by
# hidden tests only and never reaches the student bundle.


def _rng(seed):
    return np.random.default_rng(seed)


def probe(seed, shape):
    """A seeded input of the public checks (odd sizes): np.random.default_rng(seed).standard_normal(shape)."""
    return np.random.default_rng(seed).standard_normal(shape)


@reference
def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


#: Linear(5, 3), W = probe(501, (5, 3)), b = probe(502, (3,)): forward(probe(503, (7, 5)))
LINEAR_OUT = np.array([[-0.9270698347, -1.1191692226, -1.0525764566],
 [-1.1633454793,  1.6725844478, -1.3775306832],
 [-1.2448051095,  1.7441653883, -2.6825744568],
 [ 3.1778367094,  0.0098052934, -0.6185219801],
 [ 0.932231232 , -2.0682824113,  2.687950359 ],
 [ 0.9896364395,  1.355710067 , -1.5770244774],
 [-2.0580876953,  0.2865471215,  1.9329632575]])
#: ... forward(probe(504, (5,)))
LINEAR_OUT_VECTOR = np.array([ 0.6761123042, -2.3485801939,  0.5873624182])
#: ... forward(probe(503, (7, 5))), затем backward(probe(505, (7, 3)))
LINEAR_DX = np.array([[-1.858645925 , -0.975685689 ,  1.6488000382, -1.0525859408, -0.5852123651],
 [ 1.8258570996,  0.1357228362, -1.5388843047, -1.4006049686,  1.3047996396],
 [-1.0912216777, -0.2094428636,  0.6804064009, -1.3266581207, -0.2159062443],
 [ 1.2188469392, -0.941177697 , -0.3280256246,  0.2459661551,  0.7182053576],
 [-2.8771298286, -1.8924377293,  2.6328751989, -2.4552560945, -0.6438007042],
 [ 1.8860321892,  0.6211035356, -1.8903341626, -1.8188317713,  1.3740299033],
 [-0.7230381264, -0.5000616588,  1.2906614003,  3.7479655666, -1.2595299793]])
#: ReLU().forward(probe(511, (5, 3)))
RELU_OUT = np.array([[0.          , 0.          , 0.162283726 ],
 [0.          , 0.          , 0.          ],
 [1.8927236252, 0.0825488963, 1.0102163275],
 [0.          , 1.563055699 , 1.6096049875],
 [0.          , 0.          , 0.          ]])
#: ... backward(probe(512, (5, 3)))
RELU_DX = np.array([[ 0.          , -0.          , -0.2148110205],
 [ 0.          , -0.          ,  0.          ],
 [ 0.1958472005, -1.7996659944, -0.6648943422],
 [-0.          , -0.6766272769, -0.3831144981],
 [-0.          , -0.          , -0.          ]])
#: ReLU().forward(probe(513, (4,)))
RELU_OUT_VECTOR = np.array([0.0885960402, 0.2365275124, 0.2399338599, 0.          ])
#: Softmax().forward(3 * probe(521, (5, 3)))
SOFTMAX_OUT = np.array([[8.1012910351e-01, 1.8961320249e-01, 2.5769400254e-04],
 [6.8290080884e-01, 5.6333995858e-04, 3.1653585120e-01],
 [2.5855580910e-01, 4.4160197492e-01, 2.9984221598e-01],
 [3.7647153240e-01, 2.5916131461e-01, 3.6436715299e-01],
 [5.6803845468e-02, 9.0823220494e-01, 3.4963949597e-02]])
#: ... backward(probe(522, (5, 3)))
SOFTMAX_DX = np.array([[ 0.0892203123, -0.0886159012, -0.0006044111],
 [-0.1389255952, -0.0024747291,  0.1414003243],
 [-0.0771829587,  0.0165097853,  0.0606731734],
 [ 0.1478447009,  0.1205022425, -0.2683469435],
 [ 0.0356504276, -0.0491417802,  0.0134913526]])
#: Softmax().forward(3 * probe(523, (4,)))
SOFTMAX_OUT_VECTOR = np.array([0.9793883052, 0.0020815362, 0.0161591728, 0.0023709858])
#: MLPClassifier([Linear(W=probe(531, (4, 5)), b=probe(532, (5,))), ReLU(), Linear(W=probe(533, (5, 3)), b=probe(534, (3,)))]).predict_proba(probe(535, (7, 4)))
MLP_PROBA = np.array([[6.9559993391e-01, 9.5114050416e-03, 2.9488866105e-01],
 [4.3432844399e-01, 6.2414545672e-03, 5.5943010144e-01],
 [8.4044602570e-01, 9.1111437562e-04, 1.5864285992e-01],
 [2.0425031117e-04, 6.4783035744e-05, 9.9973096665e-01],
 [2.3377307419e-01, 1.3917932842e-02, 7.5230899297e-01],
 [1.3862877780e-04, 6.6405619539e-05, 9.9979496560e-01],
 [7.9023224453e-03, 8.2653343979e-04, 9.9127114411e-01]])
#: ... predict(probe(535, (7, 4)))
MLP_LABELS = np.array([0, 2, 0, 2, 2, 2, 2])


def _linear_anchor(submission):
    """Linear(5, 3) with seeded W, b: forward of a batch and of a vector, and backward, equal the literals."""
    layer = _linear(submission, probe(501, (5, 3)), probe(502, (3,)))
    what = "Linear(5, 3) с W = probe(501, (5, 3)), b = probe(502, (3,))"
    assert_close(layer.forward(probe(504, (5,))), LINEAR_OUT_VECTOR, f"{what}: forward(x), x = probe(504, (5,))")
    assert_close(layer.forward(probe(503, (7, 5))), LINEAR_OUT, f"{what}: forward(x), x = probe(503, (7, 5))")
    assert_close(layer.backward(probe(505, (7, 3))), LINEAR_DX,
                 f"{what}: backward(d) после forward(probe(503, (7, 5))), d = probe(505, (7, 3))")


def _activation_anchor(submission, name, seed, scale, out, dx, out_vector):
    layer = getattr(submission, name)()
    x = f"{scale} * probe({seed}, (5, 3))" if scale != 1 else f"probe({seed}, (5, 3))"
    assert_close(getattr(submission, name)().forward(scale * probe(seed + 2, (4,))), out_vector,
                 f"{name}().forward(x) для вектора x = {scale} * probe({seed + 2}, (4,))")
    assert_close(layer.forward(scale * probe(seed, (5, 3))), out, f"{name}().forward(x), x = {x}")
    assert_close(layer.backward(probe(seed + 1, (5, 3))), dx,
                 f"{name}().backward(d) после этого forward, d = probe({seed + 1}, (5, 3))")


def _relu_anchor(submission):
    _activation_anchor(submission, "ReLU", 511, 1, RELU_OUT, RELU_DX, RELU_OUT_VECTOR)


def _softmax_anchor(submission):
    _activation_anchor(submission, "Softmax", 521, 3, SOFTMAX_OUT, SOFTMAX_DX, SOFTMAX_OUT_VECTOR)


def _seed(submission, seed=0):
    """np.random.seed in the process where the student's code runs (and here): Linear's init and
    the shuffling in fit use the global numpy generator, as in the homework."""
    np.random.seed(seed)
    student_np = _student_module(submission, "np")
    if student_np is not None:
        student_np.random.seed(seed)


def _student_module(submission, name):
    """A module the notebook imported (np, torch, os), as the student's process sees it, or None."""
    try:
        return getattr(submission, name)
    except AttributeError:
        return None


def _linear(submission, W, b=None):
    """A student's Linear with the given weights (b: of the shape the student's b has)."""
    layer = submission.Linear(W.shape[0], W.shape[1])
    layer.W = W.copy()
    if b is not None:
        layer.b = np.asarray(b, dtype=np.float64).reshape(np.shape(layer.b)).copy()
    return layer


# --------------------------------------------------------------------------- task 1

@reference
def ref_linear(x, W, b):
    """x: (in,) or (N, in), W: (in, out), b: (out,) -> (out,) or (N, out)."""
    return x @ W + b


@reference
def ref_relu(x):
    return np.maximum(x, 0)


@reference
def ref_update(W, b, x, d, alpha):
    """W, b after backward(d) on the batch x (N, in) and update(alpha): W - alpha*dW, b - alpha*db."""
    return W - alpha * x.T @ d, b - alpha * d.sum(axis=0).reshape(b.shape)


@pytest.mark.task("1. Linear")
@pytest.mark.points(0.25)
@given(n_in=feature_counts, n_out=feature_counts)
def test_linear_init(submission, n_in, n_out):
    """Linear: W формы (in, out) из U[-1/sqrt(in), 1/sqrt(in)], b — нули из out элементов."""
    _seed(submission, 0)
    layer = submission.Linear(n_in, n_out)
    W = assert_shape(layer.W, (n_in, n_out), f"Linear({n_in}, {n_out}).W")
    b = as_array(layer.b, f"Linear({n_in}, {n_out}).b")
    assert b.size == n_out, f"Linear({n_in}, {n_out}).b: ожидалось {n_out} элементов, получена форма {b.shape}"
    assert np.all(b == 0), f"Linear({n_in}, {n_out}).b: смещения должны инициализироваться нулями, получено {b}"
    bound = 1 / np.sqrt(n_in)
    assert np.all(np.abs(W) <= bound + 1e-12), (
        f"Linear({n_in}, {n_out}).W: значения должны лежать в [-{bound:.4f}, {bound:.4f}] "
        f"(1/sqrt(in_features)), получен максимум |W| = {np.abs(W).max():.4f}")
    big = submission.Linear(100, 50)
    Wb = assert_shape(big.W, (100, 50), "Linear(100, 50).W")
    assert np.abs(Wb).max() > 0.09 and abs(Wb.mean()) < 0.01 and np.unique(Wb).size > 4000, (
        "Linear(100, 50).W: веса должны быть случайными и равномерно заполнять [-0.1, 0.1] "
        f"(получено: min {Wb.min():.4f}, max {Wb.max():.4f}, среднее {Wb.mean():.4f})")


@pytest.mark.hidden
@pytest.mark.task("1. Linear")
@pytest.mark.points(0.25)
@given(x=arrays(batch_sizes, feature_counts), n_out=feature_counts, vector=st.booleans())
def test_linear_forward(submission, x, n_out, vector):
    """Linear.forward: y = xW + b для вектора (out,) и для батча (N, out)."""
    if vector:
        x = x[0]
    n_in = x.shape[-1]
    rng = _rng(1)
    W, b = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)
    layer = _linear(submission, W, b)
    expected = ref_linear(x, W, b)
    assert_close(layer.forward(x.copy()), expected, f"Linear({n_in}, {n_out}).forward(x) для x формы {x.shape}",
                 inputs={"x": x})


@pytest.mark.task("1. Linear")
@pytest.mark.points(0.5)
@given(x=arrays(batch_sizes, feature_counts), n_out=feature_counts, vector=st.booleans(), seed=seeds)
def test_linear_backward_input(submission, x, n_out, vector, seed):
    """Linear.backward(d) возвращает градиент по входу (сверка с численным градиентом; forward верен на примере)."""
    _linear_anchor(submission)
    if vector:
        x = x[0]
    n_in = x.shape[-1]
    rng = _rng(seed)
    W, b = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)
    dout = rng.standard_normal(x.shape[:-1] + (n_out,))
    layer = _linear(submission, W, b)
    expected = numeric_gradient(layer.forward, x, dout=dout)
    layer.forward(x.copy())
    assert_gradient(layer.backward(dout.copy()), expected,
                    f"Linear({n_in}, {n_out}).backward(d) для x формы {x.shape}")


@pytest.mark.task("1. Linear")
@pytest.mark.points(0.5)
@given(x=arrays(batch_sizes, feature_counts), n_out=feature_counts, seed=seeds)
def test_linear_backward_params(submission, x, n_out, seed):
    """Градиенты по W и b (сумма по батчу) совпадают с численными: проверка через update(1)."""
    _linear_anchor(submission)
    n_in = x.shape[-1]
    rng = _rng(seed)
    W, b = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)
    dout = rng.standard_normal((x.shape[0], n_out))
    layer = _linear(submission, W, b)
    b0 = np.array(layer.b, dtype=np.float64)
    dW = numeric_gradient(layer.forward, x, wrt=(layer, "W"), dout=dout)
    db = numeric_gradient(layer.forward, x, wrt=(layer, "b"), dout=dout)
    layer.W, layer.b = W.copy(), b0.copy()
    layer.forward(x.copy())
    layer.backward(dout.copy())
    layer.update(1.0)
    what = f"Linear({n_in}, {n_out}): backward(d) для батча x формы {x.shape}, затем update(1.0)"
    assert_gradient(W - assert_shape(layer.W, W.shape, what + ": W"), dW, what + ": изменение W (= dW)")
    assert_gradient(b0 - assert_shape(layer.b, b0.shape, what + ": b"), db, what + ": изменение b (= db)")


@pytest.mark.hidden
@pytest.mark.task("1. Linear")
@pytest.mark.points(0.25)
@given(x=arrays(batch_sizes, feature_counts), n_out=feature_counts, alpha=st.sampled_from([0.01, 0.3, 2.0]))
def test_linear_update(submission, x, n_out, alpha):
    """update(alpha): backward не меняет веса, update делает шаг W -= alpha*dW, b -= alpha*db."""
    n_in = x.shape[-1]
    rng = _rng(2)
    W, b = rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)
    dout = rng.standard_normal((x.shape[0], n_out))
    layer = _linear(submission, W, b)
    b0 = np.array(layer.b, dtype=np.float64)
    layer.forward(x.copy())
    layer.backward(dout.copy())
    assert_close(layer.W, W, "Linear.W сразу после backward (веса меняет только update)")
    layer.update(alpha)
    new_W, new_b = ref_update(W, b0, x, dout, alpha)
    assert_close(layer.W, new_W, f"Linear.W после update({alpha})", inputs={"x": x, "d": dout})
    assert_close(layer.b, new_b, f"Linear.b после update({alpha})")
    for name in ("ReLU", "Softmax"):
        getattr(submission, name)().update(alpha)  # layers without parameters: a no-op that does not fail


@pytest.mark.hidden
@pytest.mark.task("1. ReLU")
@pytest.mark.points(0.25)
@given(x=arrays(batch_sizes, feature_counts), vector=st.booleans())
def test_relu_forward_values(submission, x, vector):
    """ReLU.forward: max(0, x) той же формы, вектор и батч."""
    if vector:
        x = x[0]
    assert_close(submission.ReLU().forward(x.copy()), ref_relu(x), f"ReLU().forward(x) для x формы {x.shape}",
                 inputs={"x": x})


@pytest.mark.task("1. ReLU")
@pytest.mark.points(0.25)
@given(x=well_conditioned(batch_sizes, feature_counts), seed=seeds)
def test_relu_backward(submission, x, seed):
    """ReLU.backward(d) совпадает с численным градиентом (forward верен на примере)."""
    _relu_anchor(submission)
    layer = submission.ReLU()
    dout = _rng(seed).standard_normal(x.shape)
    expected = numeric_gradient(submission.ReLU().forward, x, dout=dout)
    layer.forward(x.copy())
    assert_gradient(layer.backward(dout.copy()), expected, f"ReLU().backward(d) для x формы {x.shape}")


@pytest.mark.hidden
@pytest.mark.task("1. Softmax")
@pytest.mark.points(0.25)
@given(x=arrays(batch_sizes, feature_counts, scale=3.0), vector=st.booleans())
def test_softmax_forward(submission, x, vector):
    """Softmax.forward: вероятности по последней оси (суммы 1), вектор и батч."""
    if vector:
        x = x[0]
    assert_close(submission.Softmax().forward(x.copy()), _softmax(x), f"Softmax().forward(x) для x формы {x.shape}",
                 inputs={"x": x})


@pytest.mark.task("1. Softmax")
@pytest.mark.points(0.25)
@given(x=arrays(batch_sizes, feature_counts), vector=st.booleans(), seed=seeds)
def test_softmax_backward(submission, x, vector, seed):
    """Softmax.backward(d) совпадает с численным градиентом (forward верен на примере)."""
    _softmax_anchor(submission)
    if vector:
        x = x[0]
    layer = submission.Softmax()
    dout = _rng(seed).standard_normal(x.shape)
    expected = numeric_gradient(submission.Softmax().forward, x, dout=dout)
    layer.forward(x.copy())
    assert_gradient(layer.backward(dout.copy()), expected, f"Softmax().backward(d) для x формы {x.shape}")


@pytest.mark.hidden
@pytest.mark.task("1. Softmax")
@pytest.mark.points(0.25)
@given(x=arrays(batch_sizes, feature_counts), shift=st.sampled_from([800.0, -800.0, 1e4]))
def test_softmax_stable(submission, x, shift):
    """Softmax устойчив к большим входам: без nan/inf, softmax(x + c) = softmax(x)."""
    z = x * 50 + shift
    out = assert_finite(submission.Softmax().forward(z.copy()), f"Softmax().forward(x) для x порядка {shift:g}")
    assert_close(out, _softmax(z), f"Softmax().forward(x) для x порядка {shift:g}")
    rows = np.array([[1000.0, 1001.0, 1002.0], [0.0, 1.0, 2.0]])  # rows of different scales
    what = "Softmax().forward(x) для строк разного масштаба (вычитайте максимум каждой строки)"
    assert_close(assert_finite(submission.Softmax().forward(rows.copy()), what), _softmax(rows), what)


# --------------------------------------------------------------------------- task 2

def _mlp(submission, sizes, **kw):
    """MLPClassifier over Linear/ReLU layers of the given sizes; returns (model, linear layers)."""
    layers, linears = [], []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = submission.Linear(a, b)
        linears.append(lin)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(submission.ReLU())
    return submission.MLPClassifier(layers, **kw), linears


@reference
def _forward_ref(linears, X):
    h = np.asarray(X, dtype=np.float64)
    for i, lin in enumerate(linears):
        h = h @ np.asarray(lin.W, dtype=np.float64) + np.asarray(lin.b, dtype=np.float64).reshape(-1)
        if i < len(linears) - 1:
            h = np.maximum(h, 0)
    return _softmax(h)


@pytest.mark.hidden
@pytest.mark.task("2. MLPClassifier")
@pytest.mark.points(0.5)
@given(X=arrays(batch_sizes, feature_counts), hidden=feature_counts, n_classes=st.integers(2, 5))
def test_mlp_predict_proba(submission, X, hidden, n_classes):
    """predict_proba: форма (N, n_classes), строки — вероятности, в конце сети ровно один Softmax."""
    _seed(submission, 0)
    model, linears = _mlp(submission, [X.shape[1], hidden, n_classes])
    proba = model.predict_proba(X.copy())
    what = f"MLPClassifier([Linear({X.shape[1]}, {hidden}), ReLU(), Linear({hidden}, {n_classes})]).predict_proba(X)"
    proba = assert_shape(proba, (X.shape[0], n_classes), what + f" для X формы {X.shape}")
    assert_close(proba.sum(axis=1), np.ones(X.shape[0]), what + ": суммы строк")
    assert_close(proba, _forward_ref(linears, X), what, inputs={"X": X})


def _mlp_anchor(submission):
    """MLPClassifier over seeded Linear(4, 5), ReLU, Linear(5, 3): predict_proba and predict equal the literals."""
    l1 = _linear(submission, probe(531, (4, 5)), probe(532, (5,)))
    l2 = _linear(submission, probe(533, (5, 3)), probe(534, (3,)))
    model = submission.MLPClassifier([l1, submission.ReLU(), l2])
    what = ("MLPClassifier([Linear(4, 5), ReLU(), Linear(5, 3)]) с весами probe(531..534, ...), "
            "X = probe(535, (7, 4))")
    assert_close(model.predict_proba(probe(535, (7, 4))), MLP_PROBA, f"{what}: predict_proba(X)")
    assert_close(model.predict(probe(535, (7, 4))), MLP_LABELS, f"{what}: predict(X)", rtol=0, atol=0)


@pytest.mark.task("2. MLPClassifier")
@pytest.mark.points(0.25)
@given(X=arrays(batch_sizes, feature_counts, scale=3.0), n_classes=st.integers(2, 5))
def test_mlp_predict(submission, X, n_classes):
    """predict: вектор (N,) меток — argmax вероятностей (и верные метки на примере)."""
    _mlp_anchor(submission)
    _seed(submission, 1)
    model, _ = _mlp(submission, [X.shape[1], 8, n_classes])
    proba = as_array(model.predict_proba(X.copy()), "MLPClassifier.predict_proba(X)")
    expected = np.argmax(proba, axis=1)
    labels = assert_shape(model.predict(X.copy()), (X.shape[0],), f"MLPClassifier.predict(X) для X формы {X.shape}")
    assert np.array_equal(labels, expected), (
        f"MLPClassifier.predict(X): метки должны быть argmax(predict_proba(X), axis=1)\n"
        f"  ожидалось: {expected}\n  получено:  {labels}\n  predict_proba: {np.round(proba, 3)}")


def _seed_problem(seed=0, n=50):
    """The seminar's toy problem: n points in R^4, label by a nonlinear rule (seed 1: held-out points)."""
    X = _rng(seed).standard_normal((n, 4))
    y = [(0 if x[0] > x[2] ** 2 or x[3] ** 3 > 0.5 else 1) for x in X]
    return X, y


def _changed_by_fit(before, after, what):
    """fit must train: predict_proba on the same points differs before and after it."""
    before, after = as_array(before, what), as_array(after, what)
    assert before.shape != after.shape or np.abs(after - before).max() > 1e-3, (
        f"{what}: predict_proba не изменился после fit: fit должен обучать веса модели "
        "(прямой и обратный проход, update слоёв)")


@pytest.mark.task("2. MLPClassifier")
@pytest.mark.points(0.5)
def test_mlp_fit_lowers_loss(submission):
    """fit (40 эпох, alpha=0.1, батчи по 32) на задаче из семинара: на новых точках той же задачи accuracy >= 0.75."""
    X, y = _seed_problem()
    X_new, y_new = _seed_problem(seed=1, n=200)  # points fit never sees: an in-sample fit proves nothing
    _seed(submission, 0)
    model, _ = _mlp(submission, [4, 64, 64, 2], epochs=40, alpha=0.1)
    before = model.predict_proba(X_new)
    _seed(submission, 0)
    model.fit(X, y)
    what = "MLPClassifier([Linear(4, 64), ReLU(), Linear(64, 64), ReLU(), Linear(64, 2)], epochs=40, alpha=0.1)"
    after = assert_finite(model.predict_proba(X_new), f"{what}: predict_proba(X_new) после fit")
    _changed_by_fit(before, after, f"{what}: predict_proba(X_new)")
    labels = assert_shape(model.predict(X_new), (len(y_new),), f"{what}: predict(X_new) после fit")
    accuracy = float(np.mean(labels == np.asarray(y_new)))
    assert accuracy >= 0.75, (
        f"{what}.fit(X, y): accuracy на 200 новых точках той же задачи {accuracy:.3f}, ожидалось не меньше 0.75 "
        "(эталонное решение даёт около 0.83; до обучения около 0.6)")


@pytest.mark.task("2. MLPClassifier")
@pytest.mark.points(0.25)
def test_mlp_fit_does_not_mutate(submission):
    """fit обучает модель и не меняет переданные X и y (ни массивы, ни список)."""
    X, y = _seed_problem()
    X_copy, y_list = X.copy(), list(y)
    y_array = np.array(y)
    for labels, name in ((y_list, "список"), (y_array, "массив")):
        _seed(submission, 0)
        model, _ = _mlp(submission, [4, 8, 2], epochs=2, alpha=0.1)
        before = model.predict_proba(X_copy)
        model.fit(X, labels, batch_size=16)
        _changed_by_fit(before, model.predict_proba(X_copy), "MLPClassifier(..., epochs=2).fit(X, y)")
        assert np.array_equal(X, X_copy), "MLPClassifier.fit(X, y) изменил X: перемешивайте индексы, а не сами данные"
        assert list(labels) == list(y), f"MLPClassifier.fit(X, y) изменил y ({name}): перемешивайте индексы"


@reference
def _full_batch_step(X, y, n_classes, W1, b1, W2, b2, alpha):
    """predict_proba(X) after one gradient step of the mean cross-entropy over the whole batch."""
    h_pre = X @ W1 + b1
    h = np.maximum(h_pre, 0)
    p = _softmax(h @ W2 + b2)
    g = (p - np.eye(n_classes)[y]) / len(X)
    dW2, db2 = h.T @ g, g.sum(0)
    gh = (g @ W2.T) * (h_pre > 0)
    dW1, db1 = X.T @ gh, gh.sum(0)
    new = [(W1 - alpha * dW1, b1 - alpha * db1), (W2 - alpha * dW2, b2 - alpha * db2)]
    return _softmax(np.maximum(X @ new[0][0] + new[0][1], 0) @ new[1][0] + new[1][1])


@pytest.mark.hidden
@pytest.mark.task("2. MLPClassifier")
@pytest.mark.points(0.5)
@given(n=st.integers(2, 12), n_in=feature_counts, n_classes=st.integers(2, 4), seed=seeds,
       extra=st.sampled_from([0, 7]))
def test_mlp_fit_one_full_batch_step(submission, n, n_in, n_classes, seed, extra):
    """Одна эпоха при batch_size >= N — ровно один шаг градиентного спуска по средней cross-entropy."""
    rng = _rng(seed)
    X = rng.standard_normal((n, n_in))
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    W1, W2 = rng.standard_normal((n_in, 5)), rng.standard_normal((5, n_classes))
    b1, b2 = rng.standard_normal(5) * 0.1, rng.standard_normal(n_classes) * 0.1
    alpha = 0.5
    expected = _full_batch_step(X, y, n_classes, W1, b1, W2, b2, alpha)

    l1, l2 = _linear(submission, W1, b1), _linear(submission, W2, b2)
    model = submission.MLPClassifier([l1, submission.ReLU(), l2], epochs=1, alpha=alpha)
    _seed(submission, 0)
    model.fit(X.copy(), y.copy(), batch_size=n + extra)
    assert_close(model.predict_proba(X.copy()), expected,
                 f"predict_proba(X) после fit(X, y, batch_size={n + extra}) с epochs=1, alpha={alpha} "
                 "(ожидается один шаг по градиенту средней по батчу cross-entropy)", inputs={"X": X, "y": y})


# --------------------------------------------------------------------------- task 3

def _accuracy_test(submission, factory_name, make_data):
    X, y = make_data(0)
    X_test, y_test = make_data(1)
    _seed(submission, 0)
    classifier = getattr(submission, factory_name)()
    before = classifier.predict_proba(X_test)
    _seed(submission, 0)
    classifier.fit(X, y)
    n_classes = len(np.unique(y))
    proba = assert_shape(classifier.predict_proba(X_test), (len(X_test), n_classes),
                         f"{factory_name}().predict_proba(X_test) (по столбцу на каждый из {n_classes} классов)")
    _changed_by_fit(before, proba, f"{factory_name}(): predict_proba(X_test)")
    pred = assert_shape(classifier.predict(X_test), y_test.shape, f"{factory_name}().predict(X_test)")
    assert np.array_equal(pred, np.argmax(as_array(proba, "predict_proba(X_test)"), axis=1)), (
        f"{factory_name}(): predict(X_test) должен быть argmax(predict_proba(X_test), axis=1)")
    acc = float(np.mean(pred == y_test))
    assert acc > 0.85, (
        f"{factory_name}(): accuracy на тестовой выборке {acc:.4f}, нужно больше 0.85 "
        "(обучение один раз: np.random.seed(0) перед созданием и перед fit)")


@pytest.mark.task("3. Синтетические данные")
@pytest.mark.points(1)
def test_moons_accuracy(submission):
    """make_moons(400, noise=0.075): accuracy на тесте > 0.85 после одного обучения с seed 0."""
    _accuracy_test(submission, "make_moons_classifier",
                   lambda rs: make_moons(400, noise=0.075, random_state=rs))


@pytest.mark.task("3. Синтетические данные")
@pytest.mark.points(1)
def test_blobs_accuracy(submission):
    """make_blobs(400, 2, centers=[[0, 0], [2.5, 2.5], [-2.5, 3]]): accuracy на тесте > 0.85."""
    _accuracy_test(submission, "make_blobs_classifier",
                   lambda rs: make_blobs(400, 2, centers=[[0, 0], [2.5, 2.5], [-2.5, 3]], random_state=rs))


# --------------------------------------------------------------------------- task 4 (PyTorch)
#
# The student's objects may live in another process: a tensor that requires grad comes back as
# a handle (its methods run there), one that does not comes back as a tensor.  So the tests call
# ``.detach()`` / ``.backward()`` / ``.numel()`` on what the student returns, never ``torch.*`` on it.

def _torch():
    """torch, or skip the test (task 4 needs the optional extra)."""
    try:
        import torch
    except ImportError:  # not installed (ModuleNotFoundError) or a broken install
        pytest.skip(TORCH_REASON)
    return torch


def _seed_student_torch(submission, seed=0):
    """torch.manual_seed in the process where the student's code runs (and here)."""
    torch = _torch()
    torch.manual_seed(seed)
    student_torch = _student_module(submission, "torch")
    if student_torch is not None:
        student_torch.manual_seed(seed)


def _numpy(value, what):
    """A tensor the student returned (here or a handle) as a float64 numpy array."""
    try:
        value = value.detach()
    except AttributeError:
        raise AssertionError(f"{what}: ожидался torch.Tensor, получено значение типа {type(value).__name__}") from None
    return as_array(value, what)


def _probabilities(out, n, what):
    p = assert_shape(_numpy(out, what), (n, 10), what)
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1, atol=1e-4), (
        f"{what}: строки выхода должны быть вероятностями (неотрицательные, сумма 1): в конце Model нужен "
        f"softmax. Суммы строк: {np.round(p.sum(axis=1), 4)}, минимум {p.min():.4f}")
    return p


@pytest.mark.task("4. Model (PyTorch)")
@pytest.mark.points(0.5)
def test_model_outputs_probabilities(submission):
    """Model(): вход (N, 3, 32, 32) -> выход (N, 10), строки — вероятности (softmax в конце)."""
    torch = _torch()
    _seed_student_torch(submission)
    model = submission.Model()
    mode = model.eval()  # returns model itself; the handle is kept so the object is not released early
    for n in (1, 3, 16):
        out = model(torch.rand(n, 3, 32, 32))
        p = _probabilities(out, n, f"Model()(x) для x формы ({n}, 3, 32, 32)")
    _depends_on_input(p, "Model()(x) для x формы (16, 3, 32, 32)")
    assert list(model.parameters()), "Model() не имеет обучаемых параметров"


def _depends_on_input(p, what):
    assert np.abs(p - p[0]).max() > 1e-6, (
        f"{what}: у всех изображений одинаковые вероятности; выход модели должен зависеть от входа")


@reference
def _cross_entropy_of(p, labels):
    """Mean cross-entropy of probabilities p (N, C) with labels (N,)."""
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))


@pytest.mark.hidden
@pytest.mark.task("4. Model (PyTorch)")
@pytest.mark.points(0.5)
def test_calculate_loss(submission):
    """calculate_loss(X, y, model) — средняя cross-entropy вероятностей модели (и когда в батче не все классы)."""
    torch = _torch()
    _seed_student_torch(submission)
    model = submission.Model()
    mode = model.eval()  # returns model itself; the handle is kept so the object is not released early
    for labels in ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 7], [3, 3, 1], [5]):
        X = torch.rand(len(labels), 3, 32, 32)
        y = torch.tensor(labels, dtype=torch.long)
        p = _probabilities(model(X), len(labels), "calculate_loss проверяется на выходе Model(): Model()(X)")
        if len(labels) > 1:
            _depends_on_input(p, "calculate_loss проверяется на выходе Model(): Model()(X)")
        loss = submission.calculate_loss(X, y, model)
        what = f"calculate_loss(X, y, model) для y = {labels}"
        try:
            size = int(loss.numel())
        except AttributeError:
            raise AssertionError(f"{what}: ожидался тензор-скаляр, получено {type(loss).__name__}") from None
        assert size == 1, f"{what}: ожидался тензор-скаляр (среднее по батчу), получено {size} чисел"
        expected = _cross_entropy_of(p, labels)
        assert_close(float(loss), expected, what, rtol=1e-4)


@pytest.mark.task("4. Model (PyTorch)")
@pytest.mark.points(0.25)
def test_gradients_reach_all_parameters(submission):
    """loss.backward() даёт конечный градиент каждому параметру Model."""
    torch = _torch()
    _seed_student_torch(submission)
    model = submission.Model()
    mode = model.train()  # returns model itself; the handle is kept (see above)
    X, y = torch.rand(8, 3, 32, 32), torch.arange(8) % 10
    loss = submission.calculate_loss(X, y, model)
    assert getattr(loss, "requires_grad", False) is True, (
        "calculate_loss(X, y, model) должна возвращать тензор, связанный с параметрами модели "
        "(не .item() и не внутри torch.no_grad())")
    loss.backward()
    params = list(model.named_parameters())
    assert params, "Model() не имеет обучаемых параметров"
    grads = {name: p.grad for name, p in params if p.requires_grad}
    missing = [name for name, g in grads.items() if g is None]
    assert not missing, f"после calculate_loss(...).backward() градиент не дошёл до параметров: {missing[:8]}"
    arrays_ = {name: as_array(g, f"градиент {name}") for name, g in grads.items()}
    bad = [name for name, g in arrays_.items() if not np.all(np.isfinite(g))]
    assert not bad, f"после calculate_loss(...).backward() градиент содержит nan/inf у параметров: {bad[:8]}"
    assert any(np.abs(g).sum() > 0 for g in arrays_.values()), "после backward() все градиенты нулевые"


def _state(module):
    """A model's state_dict as {name: float64 numpy array} (floating-point entries)."""
    out = {}
    for name, value in module.state_dict().items():
        arr = as_array(value, f"state_dict()[{name!r}]")
        out[name] = arr
    return out


@pytest.mark.task("4. Model (PyTorch)")
@pytest.mark.points(0.25)
def test_train_updates_and_saves(submission):
    """train(model, ...) делает шаги оптимизации, возвращает списки потерь и сохраняет state_dict."""
    torch = _torch()
    _seed_student_torch(submission)
    model = submission.Model()
    before = _state(model)
    X, y = torch.rand(32, 3, 32, 32), torch.arange(32) % 10
    batches = [(X[:16], y[:16]), (X[16:], y[16:])]
    name = "_ag_train_check.pt"  # relative: written where the student's code runs
    train_losses, test_losses = submission.train(model, batches, batches, epochs=2, weights_path=name)
    for what, losses in (("train_losses", train_losses), ("test_losses", test_losses)):
        arr = assert_shape(np.asarray(losses, dtype=np.float64), (2,), f"train(..., epochs=2): {what}")
        assert_finite(arr, f"train(..., epochs=2): {what}")
    after = _state(model)
    # the learnable parameters: BatchNorm's running statistics change in model.train() by
    # themselves, without a single optimizer step
    learnable = [str(name) for name, _ in model.named_parameters()]
    assert learnable and any(not np.array_equal(after[k], before[k]) for k in learnable if k in before), (
        "train(...): обучаемые параметры модели не изменились (нет loss.backward() или optimizer.step()?)")
    try:
        saved = submission.torch.load(name, map_location="cpu", weights_only=True)
        fresh = submission.Model()
        fresh.load_state_dict(saved)
    except Exception as exc:
        raise AssertionError(
            f"train(..., weights_path={name!r}): сохранённые веса не загружаются в Model() через "
            f"torch.load(..., weights_only=True) ({type(exc).__name__}: {str(exc)[:200]})") from None
    finally:
        student_os = _student_module(submission, "os")
        try:
            student_os.remove(name)
        except Exception:
            pass
    loaded = _state(fresh)
    assert any(not np.array_equal(loaded[k], before[k]) for k in before), (
        "train(...): в weights_path сохранены начальные веса, а не обученные")
    _check_zero_grad(submission, torch, X[:16], y[:16])


def _grad_norm(model, what: str) -> float:
    total = 0.0
    for p in model.parameters():
        grad = p.grad
        assert grad is not None, f"{what}: у параметров модели нет градиента (нет loss.backward()?)"
        total += float(np.sum(as_array(grad, f"{what}: p.grad") ** 2))
    return total ** 0.5


def _check_zero_grad(submission, torch, X, y):
    """optimizer.zero_grad() on every step: with lr=0 the parameters stay where they are, so after
    4 steps on one batch the gradients are that batch's (zero_grad) or 4 times it (no zero_grad)."""
    _seed_student_torch(submission)
    model = submission.Model()
    name = "_ag_zero_grad_check.pt"
    try:
        submission.train(model, [(X, y), (X, y)], [(X, y)], epochs=2, lr=0.0, weights_path=name)
    finally:
        try:
            _student_module(submission, "os").remove(name)
        except Exception:
            pass
    what = "train(model, [(X, y), (X, y)], ..., epochs=2, lr=0)"
    after_train = _grad_norm(model, what)
    model.zero_grad()
    model.train()
    submission.calculate_loss(X, y, model).backward()
    one_step = _grad_norm(model, "calculate_loss(X, y, model).backward()")
    assert after_train < 2.0 * one_step, (
        f"{what}: после обучения градиент в {after_train / max(one_step, 1e-12):.1f} раза больше градиента "
        "одного шага: градиенты накапливаются между шагами (вызовите optimizer.zero_grad() перед loss.backward())")


# --- the weights file handed in, and the metrics on the CIFAR-10 test set with it

WEIGHTS_HINT = "после обучения: torch.save(model.state_dict(), WEIGHTS_PATH)"


def _cifar_folder(data_dir):
    from autograder.datasets import find_cifar10

    for cand in (data_dir, Path(__file__).resolve().parents[2] / "data"):
        found = find_cifar10(cand)
        if found is not None:
            return found
    return None


def _one_line(text) -> str:
    return " ".join(str(text).split())


@pytest.fixture(scope="module")
def trained_model(submission, submitted_file):
    """(the student's Model() with the weights handed in, in eval mode, and the handle eval()
    returned; None) or (None, None, why not: one line) — read as grading reads it: by the bare
    name WEIGHTS_PATH beside the notebook, at most WEIGHTS_MAX_MB, torch.load(weights_only=True)."""
    _torch()
    name = submission.WEIGHTS_PATH
    if not isinstance(name, str):
        return None, None, f"WEIGHTS_PATH должен быть строкой с именем файла весов, а не {type(name).__name__}"
    try:
        data = submitted_file(name, max_mb=WEIGHTS_MAX_MB)
    except AssertionError as exc:  # missing, too large, not a regular file, not a bare name
        return None, None, _one_line(f"{exc} ({WEIGHTS_HINT})")
    try:
        state = load_state_dict(data, max_mb=WEIGHTS_MAX_MB)
    except AssertionError as exc:
        return None, None, _one_line(f"{name[:100]}: {exc}")
    _seed_student_torch(submission)
    model = submission.Model()
    try:
        model.load_state_dict(state)
    except Exception as exc:
        return None, None, _one_line(
            f"веса из {name[:100]} не подходят к Model(): Model в ноутбуке должна быть той, что обучалась "
            f"({str(exc)[:200]})")
    mode = model.eval()  # returns model itself; the handle is kept so the object is not released early
    return model, mode, None


@pytest.mark.task("4. Метрики на CIFAR-10")
@pytest.mark.points(0)
def test_weights_file_loads_into_model(trained_model):
    """Файл весов WEIGHTS_PATH лежит рядом с ноутбуком, не больше 50 МБ и загружается в Model() (без него метрики не считаются)."""
    problem = trained_model[2]
    assert problem is None, problem


def _test_set(folder, n: int) -> str:
    """Which test set the metrics are on, in words for the student."""
    from autograder.datasets import is_standin

    if is_standin(folder):
        return f"учебной замене CIFAR-10 ({n} синтетических изображений, не настоящий CIFAR-10)"
    return f"тестовой части CIFAR-10 ({n} изображений)"


@pytest.fixture(scope="module")
def cifar_predictions(submission, trained_model, data_dir):
    """(predicted labels, true labels, which test set in words) of the student's Model with their
    weights on test_batch."""
    _torch()
    import torch

    from autograder.datasets import load_cifar10

    folder = _cifar_folder(data_dir)
    if folder is None:
        pytest.skip("не оценено: нет данных CIFAR-10 (папка cifar-10-batches-py; "
                    "укажите её в autograder grade --data DIR)")
    model, _, problem = trained_model
    assert problem is None, "не посчитано: нет файла весов, который загружается в Model() (см. проверку файла весов)"
    X, y = load_cifar10(folder, train=False)
    preds = []
    student_torch = _student_module(submission, "torch")
    if student_torch is not None:
        student_torch.set_grad_enabled(False)  # inference only: no autograd graph in the student's process
    try:
        for start in range(0, len(X), 250):
            out = model(torch.from_numpy(X[start:start + 250]))
            scores = _numpy(out, "Model()(x) на изображениях CIFAR-10")
            preds.append(assert_shape(scores, (len(X[start:start + 250]), 10), "Model()(x)").argmax(axis=1))
    finally:
        if student_torch is not None:
            student_torch.set_grad_enabled(True)
    return np.concatenate(preds), y, _test_set(folder, len(y))


def _metrics(pred, y):
    confusion = np.zeros((10, 10))
    np.add.at(confusion, (y, pred), 1)
    tp = np.diag(confusion)
    col, row = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, col, out=np.zeros(10), where=col > 0)
    recall = np.divide(tp, row, out=np.zeros(10), where=row > 0)
    return {"accuracy": tp.sum() / confusion.sum(), "mean precision": precision.mean(),
            "mean recall": recall.mean()}


def _metric_test(cifar_predictions, name, record_property):
    pred, y, where = cifar_predictions
    values = _metrics(pred, y)
    assert values[name] > 0.5, (
        f"{name} модели с весами из WEIGHTS_PATH на {where}: {values[name]:.4f}, "
        f"нужно больше 0.5 (все метрики: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()) + ")")
    record_property("ag_note", f"{name} {values[name]:.4f} на {where}")


@pytest.mark.task("4. Метрики на CIFAR-10")
@pytest.mark.points(0.5)
def test_cifar_accuracy(cifar_predictions, record_property):
    """accuracy на тестовой части CIFAR-10 с сохранёнными весами > 0.5."""
    _metric_test(cifar_predictions, "accuracy", record_property)


@pytest.mark.task("4. Метрики на CIFAR-10")
@pytest.mark.points(0.5)
def test_cifar_mean_precision(cifar_predictions, record_property):
    """mean precision на тестовой части CIFAR-10 > 0.5."""
    _metric_test(cifar_predictions, "mean precision", record_property)


@pytest.mark.task("4. Метрики на CIFAR-10")
@pytest.mark.points(0.5)
def test_cifar_mean_recall(cifar_predictions, record_property):
    """mean recall на тестовой части CIFAR-10 > 0.5."""
    _metric_test(cifar_predictions, "mean recall", record_property)
