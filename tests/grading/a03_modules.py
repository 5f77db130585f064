"""Рубрика для a03_modules: «Семинар 4: нейронная сеть» (Module, Sequential, Linear, Sigmoid, ReLU, обучение)."""
import ast
import functools
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.testing import (
    arrays,
    as_array,
    assert_close,
    assert_no_loops,
    assert_shape,
    batch_sizes,
    feature_counts,
    assert_gradient,
    numeric_gradient,
    reference,
    seeds,
    well_conditioned,
)

# @settings(report_multiple_bugs=False) on every @given test: one failure is shrunk and reported
# (not an ExceptionGroup of several), which also keeps grading a buggy submission fast.

ASSIGNMENT = {"title": "Семинар 4: нейронная сеть", "cell_timeout": 60, "test_timeout": 60}

#: graded by hand (autograder review): the answer cell is the solution's a03_modules-c34
MANUAL = [{
    "id": "sigmoid_slow",
    "task": "8. Вопрос: сигмоида в скрытом слое",
    "points": 1,
    "cell": "a03_modules-c34",
    "question": "Почему с сигмоидой в скрытом слое сеть учится медленнее?",
    "guide": "1 балл: производная сигмоиды не больше 1/4 и близка к нулю при насыщении, поэтому градиент, "
             "проходящий через скрытый слой, затухает и веса первого слоя меняются медленно (у ReLU "
             "производная 1 на положительной части). 0.5 балла: только «насыщение» или только "
             "«маленькая производная» без связи с градиентом; плюс за нецентрированные выходы "
             "сигмоиды не нужен, но и не ошибка.",
}]

#: «correct output» из семинара: np.random.seed(0) для Linear(4, 3), np.random.seed(1) для X
CORRECT_OUTPUT = np.array([
    [-1.54788446, -6.00658097, 6.39369587],
    [-3.07885716, -8.08969546, 11.56531411],
    [0.19697038, -9.59100515, 5.43998673],
    [-0.31239372, -5.33085678, 1.94239605],
    [-1.66825993, 1.10786278, 0.51528511],
])
#: градиенты, напечатанные в семинаре (они посчитаны на X при np.random.seed(2))
SEMINAR_W_GRAD = np.array([
    [27.44520232, 30.63657384, 6.58593022, -7.64214714],
    [-5.08387273, 14.22907449, -75.6155538, 167.41204088],
    [68.87172308, 6.4708471, 61.91460699, -47.26726932],
])
SEMINAR_X_GRAD = np.array([
    [-1.71261934, 0.58248877, -1.20374468, 1.11486685],
    [-1.02340544, -0.29771075, -0.68774671, -1.06928023],
    [-0.74254431, 0.51827758, -0.53915275, 1.22659583],
    [0.44302281, -0.5220335, 0.24317518, -0.69506347],
    [-0.67793944, 0.3924578, -0.38305249, 0.18236823],
])

# Public tests compare with literals only (computed once with the reference, written here): the
# seminar's printed values and values on seeded inputs the seminar does not print, so returning
# the printed numbers earns nothing.  Reference code (@reference) is used by hidden tests only and
# never reaches the student bundle.


def probe(seed, shape):
    """A seeded input of the public checks (odd sizes): np.random.default_rng(seed).standard_normal(shape)."""
    return np.random.default_rng(seed).standard_normal(shape)


#: Linear(5, 3) с W = probe(102, (3, 5)) на X = probe(101, (7, 5)): X @ W.T
PROBE_LINEAR = np.array([[-4.9416916194, -1.9716118968,  0.9435654779],
 [ 3.7726145614,  1.5849458406, -2.7794779508],
 [ 0.589260056 , -3.0308112131, -2.1741905474],
 [ 1.3343344061, -1.4149505781, -2.9339405262],
 [ 2.8153226076, -2.8579205578, -0.9438701053],
 [ 0.6290964332,  0.5724184565, -1.3089018586],
 [-5.0347491019, -4.8969430862, -0.5797571553]])
#: Sigmoid на probe(101, (7, 5))
PROBE_SIGMOID = np.array([[0.3121359257, 0.115615133 , 0.6464113301, 0.677934237 , 0.4231911893],
 [0.5908115695, 0.8468874187, 0.7428429841, 0.66987926  , 0.6654660802],
 [0.2965945416, 0.7239253005, 0.1613168127, 0.4177317401, 0.3923859814],
 [0.1507771516, 0.4724432305, 0.8380045222, 0.4157785456, 0.230125387 ],
 [0.4772522846, 0.7013897089, 0.5481548075, 0.4993335713, 0.1963567556],
 [0.6226980047, 0.6191002711, 0.7926980914, 0.8159361316, 0.6656516295],
 [0.1621364654, 0.1922597049, 0.2501188626, 0.5732014143, 0.3127602904]])
#: ReLU на probe(101, (7, 5))
PROBE_RELU = np.array([[0.          , 0.          , 0.6033017469, 0.7442945299, 0.          ],
 [0.3673213729, 1.7103942915, 1.0607978401, 0.7076390208, 0.6877493885],
 [0.          , 0.9640167317, 0.          , 0.          , 0.          ],
 [0.          , 0.          , 1.6434550766, 0.          , 0.          ],
 [0.          , 0.8539243165, 0.1932181157, 0.          , 0.          ],
 [0.5010157425, 0.4857310868, 1.3412662057, 1.4890532736, 0.6885829801],
 [0.          , 0.          , 0.          , 0.2949249578, 0.          ]])
#: Sequential(Linear(W), ReLU) на probe(101, (7, 5))
PROBE_LINEAR_RELU = np.array([[0.          , 0.          , 0.9435654779],
 [3.7726145614, 1.5849458406, 0.          ],
 [0.589260056 , 0.          , 0.          ],
 [1.3343344061, 0.          , 0.          ],
 [2.8153226076, 0.          , 0.          ],
 [0.6290964332, 0.5724184565, 0.          ],
 [0.          , 0.          , 0.          ]])
#: Sequential(Linear(W), Sigmoid) на probe(101, (7, 5))
PROBE_LINEAR_SIGMOID = np.array([[0.0070918522, 0.1222158586, 0.7198193044],
 [0.9775248742, 0.8299038296, 0.0584432761],
 [0.6431953502, 0.0460531755, 0.1020922473],
 [0.7915566926, 0.1954543943, 0.050501039 ],
 [0.9434982345, 0.0542733347, 0.2801192626],
 [0.6522845529, 0.6393210339, 0.2126706609],
 [0.0064657527, 0.0074140034, 0.3589884742]])
#: predict(Sigmoid(), X) на probe(101, (7, 5))
PROBE_ARGMAX = np.array([3, 1, 1, 2, 1, 3, 3])
#: predict(ReLU(), X - 1.5)
PROBE_ARGMAX_RELU = np.array([0, 1, 0, 2, 0, 0, 0])
#: MSE первого мини-батча train(X_train, Y_train, seed=0) на load_digits: начальная сеть из
#: np.random.seed(0), первый батч из get_batches(..., np.random.RandomState(0))
DIGITS_FIRST_LOSS = 2.4854761271484467


# ---------------------------------------------------------------- helpers (only plain numpy)

@reference
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@reference
def ref_linear(x, W):
    """x: (N, n_in), W: (n_out, n_in) -> (N, n_out)."""
    return x @ W.T


@reference
def ref_relu(x):
    return np.maximum(x, 0)


@reference
def ref_grad_W(x, dout):
    """dL/dW of Linear: x (N, n_in), dout (N, n_out) -> (n_out, n_in)."""
    return dout.T @ x


def toy_data(seed):
    X = 10 * np.random.RandomState(seed).randn(5, 4)
    y = np.zeros((5, 3))
    y[np.arange(5), [0, 1, 2, 2, 1]] = 1
    return X, y


def seminar_linear(submission):
    """Linear(4, 3) with the weights of init_linear(): np.random.seed(0), uniform on [-1/sqrt(4), 1/sqrt(4)].

    The weights are drawn here and set on the layer: the submission runs in its own process,
    so seeding numpy in the test would not reach its np.random.
    """
    W = np.random.RandomState(0).uniform(-0.5, 0.5, size=(3, 4))
    return make_linear(submission, W)


def make_linear(submission, W):
    """Linear(n_in, n_out) of the submission with the given weights W (n_out, n_in)."""
    n_out, n_in = W.shape
    layer = submission.Linear(n_in, n_out)
    layer.W = np.array(W, dtype=np.float64)
    return layer


def weights(seed, n_out, n_in):
    return np.random.default_rng(seed + 1).standard_normal((n_out, n_in))


def method_source(class_source, method):
    """The text of one method of a class, extracted with ast."""
    src = textwrap.dedent(class_source)
    tree = ast.parse(src)
    lines = src.splitlines()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == method:
                    start = min([item.lineno] + [d.lineno for d in item.decorator_list])
                    return textwrap.dedent("\n".join(lines[start - 1:item.end_lineno]))
    raise AssertionError(f"В классе не найден метод `{method}`: не переименовывайте методы из задания.")


@functools.lru_cache(maxsize=1)
def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    return X_train, X_test, y_train, y_test


def train_digits(submission):
    X_train, X_test, y_train, y_test = digits_split()
    Y_train = np.eye(10)[y_train]
    result = submission.train(X_train.copy(), Y_train.copy(), n_hidden=64, lr=1.0, n_epochs=50,
                              batch_size=32, seed=0)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "train(...) должна возвращать пару (net, loss_history)")
    return result


# ---------------------------------------------------------------- 1. dumb forward

@pytest.mark.task("1. Linear.dumb_forward")
@pytest.mark.points(1)
def test_dumb_forward_reference(submission):
    """Linear.dumb_forward на игрушечных данных семинара даёт «correct output» (и верно на других данных)."""
    X, _ = toy_data(1)
    linear = seminar_linear(submission)
    assert_close(linear.dumb_forward(X), CORRECT_OUTPUT,
                 "Linear.dumb_forward(X) на данных init_linear() / init_toy_data()")
    x = probe(101, (7, 5))
    assert_close(make_linear(submission, probe(102, (3, 5))).dumb_forward(x), PROBE_LINEAR,
                 "Linear(5, 3).dumb_forward(x) для x = probe(101, (7, 5)), W = probe(102, (3, 5))")


@pytest.mark.task("1. Linear.dumb_forward")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, n_in=feature_counts, n_out=feature_counts, seed=seeds)
def test_dumb_forward_formula(submission, n, n_in, n_out, seed):
    """Linear.dumb_forward считает output_ij = sum_n input_in W_jn для любых размеров."""
    x = np.random.default_rng(seed).standard_normal((n, n_in))
    W = weights(seed, n_out, n_in)
    layer = make_linear(submission, W)
    assert_close(layer.dumb_forward(x.copy()), ref_linear(x, W),
                 f"Linear({n_in}, {n_out}).dumb_forward(x) для x формы {x.shape}")


# ---------------------------------------------------------------- 2. forward

@pytest.mark.task("2. Linear.forward")
@pytest.mark.points(1)
def test_forward_reference(submission):
    """Linear.forward на игрушечных данных семинара даёт «correct output» (и верно на других данных)."""
    X, _ = toy_data(1)
    linear = seminar_linear(submission)
    assert_close(linear.forward(X), CORRECT_OUTPUT, "Linear.forward(X) на данных init_linear() / init_toy_data()")
    x = probe(101, (7, 5))
    assert_close(make_linear(submission, probe(102, (3, 5))).forward(x), PROBE_LINEAR,
                 "Linear(5, 3).forward(x) для x = probe(101, (7, 5)), W = probe(102, (3, 5))")


@pytest.mark.task("2. Linear.forward")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, n_in=feature_counts, n_out=feature_counts, seed=seeds)
def test_forward_formula(submission, n, n_in, n_out, seed):
    """Linear.forward совпадает с формулой (и с dumb_forward) для любых размеров."""
    x = np.random.default_rng(seed).standard_normal((n, n_in))
    W = weights(seed, n_out, n_in)
    layer = make_linear(submission, W)
    assert_close(layer.forward(x.copy()), ref_linear(x, W), f"Linear({n_in}, {n_out}).forward(x) для x формы {x.shape}")


@pytest.mark.task("2. Linear.forward")
@pytest.mark.points(1)
def test_forward_is_vectorized(submission):
    """Linear.forward реализован матричными операциями numpy, без циклов Python."""
    assert_close(make_linear(submission, probe(102, (3, 5))).forward(probe(101, (7, 5))), PROBE_LINEAR,
                 "Linear(5, 3).forward(x) для x = probe(101, (7, 5)), W = probe(102, (3, 5))")
    source = method_source(submission.source_of("Linear"), "forward")
    what = "Linear.forward (в семинаре forward нужно реализовать матричными операциями numpy)"
    assert_no_loops(source, what)
    assert "dumb_forward" not in source, (
        f"{what}: forward не должен вызывать dumb_forward: нужна векторизованная реализация без циклов.")


@pytest.mark.task("3. Sequential.forward")
@pytest.mark.points(1)
def test_forward_stores_output(submission):
    """forward модулей Linear, Sigmoid, ReLU и Sequential сохраняет результат в self.output."""
    x, W = probe(101, (7, 5)), probe(102, (3, 5))
    net = submission.Sequential()
    net.add(make_linear(submission, W))
    net.add(submission.ReLU())
    modules = [("Linear", make_linear(submission, W), PROBE_LINEAR),
               ("Sigmoid", submission.Sigmoid(), PROBE_SIGMOID),
               ("ReLU", submission.ReLU(), PROBE_RELU),
               ("Sequential(Linear, ReLU)", net, PROBE_LINEAR_RELU)]
    for name, module, expected in modules:
        returned = module.forward(x.copy())
        assert_close(returned, expected, f"{name}.forward(x): возвращаемое значение")
        stored = getattr(module, "output", None)
        assert stored is not None, f"{name}.forward(x) не сохранил результат в self.output"
        assert_close(stored, expected, f"{name}.forward(x): значение self.output после forward")


@pytest.mark.task("3. Sequential.forward")
@pytest.mark.points(1)
def test_two_layer_reference(submission):
    """Двухслойная сеть с лекции (Linear с W=[[0.9, 0.3], [0.2, 0.8]] и Sigmoid) даёт [[0.7408, 0.6457]]."""
    net = submission.Sequential()
    net.add(make_linear(submission, np.array([[0.9, 0.3], [0.2, 0.8]])))
    net.add(submission.Sigmoid())
    out = net.forward(np.array([[1, 0.5]]))
    assert_close(out, [[0.7408, 0.6457]], "Sequential(Linear, Sigmoid).forward([[1, 0.5]])", rtol=0, atol=5e-5)
    net = submission.Sequential()
    net.add(make_linear(submission, probe(102, (3, 5))))
    net.add(submission.Sigmoid())
    assert_close(net.forward(probe(101, (7, 5))), PROBE_LINEAR_SIGMOID,
                 "Sequential(Linear(5, 3), Sigmoid).forward(x) для x = probe(101, (7, 5)), W = probe(102, (3, 5))")


@pytest.mark.task("3. Sequential.forward")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, d=feature_counts, h=feature_counts, c=feature_counts, seed=seeds)
def test_sequential_forward(submission, n, d, h, c, seed):
    """Sequential.forward прогоняет вход через модули по порядку (Linear -> ReLU -> Linear -> Sigmoid)."""
    x = np.random.default_rng(seed).standard_normal((n, d))
    W1, W2 = weights(seed, h, d), weights(seed + 7, c, h)
    net = submission.Sequential()
    for module in (make_linear(submission, W1), submission.ReLU(), make_linear(submission, W2), submission.Sigmoid()):
        net.add(module)
    expected = sigmoid(ref_linear(ref_relu(ref_linear(x, W1)), W2))
    assert_close(net.forward(x.copy()), expected,
                 f"Sequential(Linear({d}, {h}), ReLU, Linear({h}, {c}), Sigmoid).forward(x), x формы {x.shape}")


# ---------------------------------------------------------------- 4. activations

@pytest.mark.task("4. Sigmoid и ReLU")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(x=arrays(batch_sizes, feature_counts, scale=3.0))
def test_sigmoid_forward(submission, x):
    """Sigmoid.forward считает 1 / (1 + exp(-x)) поэлементно."""
    assert_close(submission.Sigmoid().forward(x.copy()), sigmoid(x), f"Sigmoid.forward(x) для x формы {x.shape}")


@pytest.mark.task("4. Sigmoid и ReLU")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(x=arrays(batch_sizes, feature_counts))
def test_relu_forward_values(submission, x):
    """ReLU.forward считает max(0, x) поэлементно."""
    assert_close(submission.ReLU().forward(x.copy()), ref_relu(x), f"ReLU.forward(x) для x формы {x.shape}")


@pytest.mark.task("4. Sigmoid и ReLU")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(x=arrays(batch_sizes, feature_counts, scale=2.0), seed=seeds)
def test_sigmoid_backward(submission, x, seed):
    """Sigmoid.updateGradInput совпадает с численным градиентом."""
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    layer = submission.Sigmoid()
    layer.forward(x.copy())
    grad = layer.updateGradInput(x.copy(), dout.copy())
    assert_gradient(grad, numeric_gradient(sigmoid, x, dout=dout),
                    f"Sigmoid.updateGradInput(x, gradOutput), x формы {x.shape}")


@pytest.mark.task("4. Sigmoid и ReLU")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(x=well_conditioned(batch_sizes, feature_counts), seed=seeds)
def test_relu_update_grad_input(submission, x, seed):
    """ReLU.updateGradInput совпадает с численным градиентом."""
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    layer = submission.ReLU()
    layer.forward(x.copy())
    grad = layer.updateGradInput(x.copy(), dout.copy())
    assert_gradient(grad, numeric_gradient(ref_relu, x, dout=dout),
                    f"ReLU.updateGradInput(x, gradOutput), x формы {x.shape}")


# ---------------------------------------------------------------- 5. Linear backward

@pytest.mark.task("5. Backward: Linear")
@pytest.mark.points(2)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, n_in=feature_counts, n_out=feature_counts, seed=seeds)
def test_linear_grad_input(submission, n, n_in, n_out, seed):
    """Linear.backward возвращает градиент по входу, совпадающий с численным."""
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((n, n_in)), rng.standard_normal((n, n_out))
    W = weights(seed, n_out, n_in)
    layer = make_linear(submission, W)
    grad = layer.backward(x.copy(), dout.copy())
    numeric = numeric_gradient(ref_linear, x, W, dout=dout)
    assert_gradient(grad, numeric, f"Linear({n_in}, {n_out}).backward(x, gradOutput): градиент по входу")
    assert_gradient(layer.gradInput, numeric, f"Linear({n_in}, {n_out}): self.gradInput после backward")


@pytest.mark.task("5. Backward: Linear")
@pytest.mark.points(2)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, n_in=feature_counts, n_out=feature_counts, seed=seeds)
def test_linear_grad_W(submission, n, n_in, n_out, seed):
    """После backward getGradParameters()[0] совпадает с численным градиентом по W."""
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((n, n_in)), rng.standard_normal((n, n_out))
    W = weights(seed, n_out, n_in)
    layer = make_linear(submission, W)
    layer.backward(x.copy(), dout.copy())
    grads = layer.getGradParameters()
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        "Linear.getGradParameters() должен возвращать список из одного массива [gradW]")
    numeric = numeric_gradient(ref_linear, x, W, wrt=1, dout=dout)
    assert_gradient(grads[0], numeric, f"Linear({n_in}, {n_out}).getGradParameters()[0] после backward (градиент по W)")


@pytest.mark.task("5. Backward: Linear")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, n_in=feature_counts, n_out=feature_counts, seed=seeds)
def test_get_grad_parameters(submission, n, n_in, n_out, seed):
    """getGradParameters возвращает [gradW] формы (n_out, n_in), заполненный accGradParameters."""
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((n, n_in)), rng.standard_normal((n, n_out))
    layer = make_linear(submission, weights(seed, n_out, n_in))
    layer.zeroGradParameters()
    layer.accGradParameters(x.copy(), dout.copy())
    grads = layer.getGradParameters()
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        "Linear.getGradParameters() должен возвращать список из одного массива [gradW]")
    assert_close(grads[0], ref_grad_W(x, dout),
                 f"Linear({n_in}, {n_out}): getGradParameters()[0] после accGradParameters(x, gradOutput)")


@pytest.mark.task("5. Backward: Linear")
@pytest.mark.points(1)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, n_in=feature_counts, n_out=feature_counts, seed=seeds)
def test_grad_W_accumulates(submission, n, n_in, n_out, seed):
    """accGradParameters прибавляет градиент к gradW (накапливает), zeroGradParameters его обнуляет."""
    rng = np.random.default_rng(seed)
    x1, d1 = rng.standard_normal((n, n_in)), rng.standard_normal((n, n_out))
    x2, d2 = rng.standard_normal((n, n_in)), rng.standard_normal((n, n_out))
    layer = make_linear(submission, weights(seed, n_out, n_in))
    layer.zeroGradParameters()
    layer.backward(x1.copy(), d1.copy())
    layer.backward(x2.copy(), d2.copy())
    assert_close(layer.getGradParameters()[0], ref_grad_W(x1, d1) + ref_grad_W(x2, d2),
                 f"Linear({n_in}, {n_out}): градиент по W после двух backward подряд "
                 "(градиенты должны складываться: self.gradW += ..., а не self.gradW = ...)")
    layer.zeroGradParameters()
    assert_close(layer.getGradParameters()[0], np.zeros((n_out, n_in)),
                 f"Linear({n_in}, {n_out}): градиент по W после zeroGradParameters()")


@pytest.mark.task("5. Backward: Linear")
@pytest.mark.points(1)
@pytest.mark.hidden
def test_seminar_gradient_reference(submission):
    """Linear.backward с MSECriterion на данных семинара воспроизводит напечатанные градиенты."""
    X, y = toy_data(2)  # напечатанные в семинаре градиенты посчитаны на этих данных
    linear = seminar_linear(submission)
    W = np.random.RandomState(0).uniform(-0.5, 0.5, size=(3, 4))
    grad_output = 2 * (X @ W.T - y) / X.shape[0]  # MSECriterion.updateGradInput(X @ W.T, y)
    X_grad = linear.backward(X.copy(), grad_output)
    assert_close(linear.getGradParameters()[0], SEMINAR_W_GRAD, "Linear.getGradParameters()[0] на данных семинара")
    assert_close(X_grad, SEMINAR_X_GRAD, "Linear.backward(X, grad_output) на данных семинара")
    x, W, dout = probe(101, (7, 5)), probe(102, (3, 5)), probe(103, (7, 3))
    linear = make_linear(submission, W)
    x_grad = linear.backward(x.copy(), dout.copy())
    assert_close(linear.getGradParameters()[0], ref_grad_W(x, dout), "Linear.getGradParameters()[0] на других данных")
    assert_close(x_grad, dout @ W, "Linear.backward(x, gradOutput) на других данных")


# ---------------------------------------------------------------- 6. Sequential backward

@pytest.mark.task("6. Backward: Sequential")
@pytest.mark.points(2)
@pytest.mark.hidden
@settings(report_multiple_bugs=False)
@given(n=batch_sizes, d=feature_counts, h=feature_counts, c=feature_counts, seed=seeds)
def test_sequential_backward(submission, n, d, h, c, seed):
    """Sequential.backward передаёт каждому модулю его вход из forward: градиенты сети совпадают с численными."""
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((n, d)), rng.standard_normal((n, c))
    W1, W2 = weights(seed, h, d), weights(seed + 7, c, h)
    first, second = make_linear(submission, W1), make_linear(submission, W2)
    net = submission.Sequential()
    for module in (first, submission.Sigmoid(), second, submission.Sigmoid()):
        net.add(module)
    net.zeroGradParameters()
    net.forward(x.copy())
    grad = net.backward(x.copy(), dout.copy())
    hint = (" Каждому модулю в backward нужно передавать тот вход, который он получил в forward "
            "(output предыдущего модуля), а не вход всей сети.")
    arch = f"Sequential(Linear({d}, {h}), Sigmoid, Linear({h}, {c}), Sigmoid)"
    numeric_x = numeric_gradient(lambda z: sigmoid(sigmoid(z @ W1.T) @ W2.T), x, dout=dout)
    numeric_W1 = numeric_gradient(lambda w: sigmoid(sigmoid(x @ w.T) @ W2.T), W1, dout=dout)
    numeric_W2 = numeric_gradient(lambda w: sigmoid(sigmoid(x @ W1.T) @ w.T), W2, dout=dout)
    try:
        assert_gradient(second.getGradParameters()[0], numeric_W2, f"{arch}.backward: градиент по W второго Linear")
        assert_gradient(first.getGradParameters()[0], numeric_W1, f"{arch}.backward: градиент по W первого Linear")
        assert_gradient(grad, numeric_x, f"{arch}.backward(x, gradOutput): градиент по входу сети")
    except AssertionError as exc:
        raise AssertionError(str(exc) + "\n" + hint) from None


# ---------------------------------------------------------------- 7. training

@pytest.mark.task("7. Обучение сети")
@pytest.mark.points(1)
def test_predict(submission):
    """predict(net, X) возвращает номер класса с наибольшим выходом сети (сети Sigmoid и ReLU)."""
    x = probe(101, (7, 5))
    for name, net, inputs, expected in (("Sigmoid", submission.Sigmoid(), x, PROBE_ARGMAX),
                                        ("ReLU", submission.ReLU(), x - 1.5, PROBE_ARGMAX_RELU)):
        labels = as_array(submission.predict(net, inputs.copy()), "predict(net, X)")
        assert_close(labels, expected, f"predict(net, X) для сети {name}() и X формы {x.shape} "
                     "(номер класса - argmax выхода net.forward(X) по строке)", rtol=0, atol=0)


def mse(prediction, target):
    """MSECriterion.forward из ноутбука (данный код): sum((prediction - target) ** 2) / N."""
    return float(np.sum((prediction - target) ** 2) / prediction.shape[0])


@pytest.mark.task("7. Обучение сети")
@pytest.mark.points(2)
def test_train_loss_decreases(submission):
    """train на load_digits (seed=0): первая потеря - у начальной сети, потери падают, и возвращённая сеть их подтверждает."""
    net, history = train_digits(submission)
    X_train, _, y_train, _ = digits_split()
    n_batches = 50 * int(np.ceil(len(X_train) / 32))
    history = assert_shape(history, (n_batches,),
                           "loss_history из train(...): одно значение на каждый мини-батч каждой эпохи")
    assert np.all(np.isfinite(history)), "loss_history содержит nan или inf: проверьте шаг и градиенты"
    assert_close(history[0], DIGITS_FIRST_LOSS,
                 "loss_history[0]: MSE первого мини-батча у начальной сети (np.random.seed(seed) перед созданием "
                 "слоёв, батчи из get_batches(X, Y, batch_size, rng))", rtol=1e-6)
    first, last = history[:20].mean(), history[-20:].mean()
    assert last < 0.25 * first, (
        f"Функция потерь почти не уменьшилась: в начале {first:.3f}, в конце {last:.3f} "
        "(ожидается уменьшение хотя бы в 4 раза).")
    final = mse(as_array(net.forward(X_train.copy()), "net.forward(X_train) обученной сети"), np.eye(10)[y_train])
    last_epoch = float(np.mean(history[-(n_batches // 50):]))
    assert final < 2 * last_epoch + 0.01, (
        f"Возвращённая сеть не соответствует loss_history: её MSE на обучающей выборке {final:.4f}, "
        f"а средняя потеря последней эпохи {last_epoch:.4f} (train должна вернуть обученную сеть)")


@pytest.mark.task("7. Обучение сети")
@pytest.mark.points(1)
@pytest.mark.hidden
def test_train_accuracy(submission):
    """Сеть, обученная train на load_digits (seed=0), угадывает не меньше 90% цифр отложенной выборки."""
    net, _ = train_digits(submission)
    _, X_test, _, y_test = digits_split()
    predicted = np.argmax(as_array(net.forward(X_test.copy()), "net.forward(X_test)"), axis=1)
    accuracy = float(np.mean(predicted == y_test))
    assert accuracy >= 0.9, f"Доля правильных ответов на отложенной выборке {accuracy:.3f} < 0.9"


@reference
def ref_train(X, Y, n_hidden, lr, n_epochs, batch_size, seed):
    """The seminar's training, step by step: (W1, W2, loss_history)."""
    state = np.random.get_state()
    np.random.seed(seed)
    W1 = np.random.uniform(-1 / np.sqrt(X.shape[1]), 1 / np.sqrt(X.shape[1]), size=(n_hidden, X.shape[1]))
    W2 = np.random.uniform(-1 / np.sqrt(n_hidden), 1 / np.sqrt(n_hidden), size=(Y.shape[1], n_hidden))
    np.random.set_state(state)
    rng = np.random.RandomState(seed)
    history = []
    for _ in range(n_epochs):
        indices = rng.permutation(X.shape[0])
        for start in range(0, X.shape[0], batch_size):
            xb, yb = X[indices[start:start + batch_size]], Y[indices[start:start + batch_size]]
            h_pre = xb @ W1.T
            h = np.maximum(h_pre, 0)
            out = sigmoid(h @ W2.T)
            history.append(float(np.sum((out - yb) ** 2) / len(xb)))
            g = 2 * (out - yb) / len(xb) * out * (1 - out)
            gh = (g @ W2) * (h_pre > 0)
            W2 = W2 - lr * g.T @ h
            W1 = W1 - lr * gh.T @ xb
    return W1, W2, history


@pytest.mark.task("7. Обучение сети")
@pytest.mark.points(1)
@pytest.mark.hidden
def test_train_matches_reference_steps(submission):
    """train на малой задаче (13 объектов, 3 эпохи, батчи по 4): потери и итоговая сеть как у шагов SGD из семинара."""
    X = probe(121, (13, 6))
    Y = np.eye(3)[np.arange(13) % 3]
    W1, W2, expected_history = ref_train(X, Y, n_hidden=5, lr=0.5, n_epochs=3, batch_size=4, seed=3)
    result = submission.train(X.copy(), Y.copy(), n_hidden=5, lr=0.5, n_epochs=3, batch_size=4, seed=3)
    assert isinstance(result, (tuple, list)) and len(result) == 2, (
        "train(...) должна возвращать пару (net, loss_history)")
    net, history = result
    what = "train(X, Y, n_hidden=5, lr=0.5, n_epochs=3, batch_size=4, seed=3)"
    assert_close(history, expected_history, f"{what}: loss_history (ровно n_epochs эпох по ceil(13 / 4) = 4 батча)",
                 rtol=1e-6)
    assert_close(net.forward(X.copy()), sigmoid(ref_relu(X @ W1.T) @ W2.T),
                 f"{what}: выход возвращённой сети (после ровно n_epochs эпох)", rtol=1e-6)
