"""Рубрика задания a01_neurons: «Создание нейронной сети без использования готовых решений».

Один тест на пункт задания; баллы -- в маркере points.  Эталонные значения -- те, что печатает
семинар (4.84, [4.84, 0.17, 10.39], матрица батча, softmax([[1, 2], [3, 4]]), ...).

Тест, который проверяет пример семинара, проверяет то же и на входах, которых студент не знает
(Hypothesis или генератор с сидом внутри теста), так что ответы семинара, вписанные в код, баллов
не дают.  Градиенты сравниваются с численными, только когда forward уже проверен (иначе forward,
возвращающий нули, и нулевые градиенты совпали бы).  Функции обучения проверяются по тому, что
делает возвращённая модель: первая потеря -- это потеря начальной модели (np.random.seed(seed)),
вторая -- потеря после одного шага градиентного спуска (численный градиент), обученная модель
сама даёт малую потерю и находит коэффициенты; N нечётное.  Эталонные реализации
(``@reference``) нужны только скрытым тестам и в комплект студента не попадают.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import make_regression

from autograder.testing import (
    arrays,
    as_array,
    assert_close,
    assert_finite,
    assert_shape,
    batch_sizes,
    feature_counts,
    assert_gradient,
    numeric_gradient,
    repeat_calls,
    reference,
    seeds,
)

ASSIGNMENT = {"title": "Нейроны, слои, функции активации и потерь, обратное распространение",
              "cell_timeout": 60, "test_timeout": 30}

# --- данные семинара -------------------------------------------------------------------------
NEURON_INPUTS = np.array([1.0, 2.0, 3.0, 4.0])
NEURON_WEIGHTS = np.array([-0.2, 0.3, -0.5, 0.7])
NEURON_BIAS = 3.14
LAYER_WEIGHTS = np.array([[-0.2, 0.3, -0.5, 0.7],
                          [0.5, -0.91, 0.26, -0.5],
                          [-0.26, -0.27, 0.17, 0.87]]).T
LAYER_BIASES = np.array([3.14, 2.71, 7.2])
BATCH = np.array([[1, 2, 3, 2.5],
                  [2, 5, -1, 2],
                  [-1.5, 2.7, 3.3, -0.8]])
BATCH_OUT = np.array([[3.79, 0.92, 9.085],
                      [6.14, -2.1, 6.9],
                      [2.04, 0.761, 6.726]])
RELU_IN = np.array([[-1.7739, -2.2611, 1.9321],
                    [-0.2254, 0.0899, -0.1229],
                    [-0.2068, 0.4013, -0.6686],
                    [-0.0607, 0.3621, 0.3393]])
RELU_OUT = np.array([[0.0, 0.0, 1.9321],
                     [0.0, 0.0899, 0.0],
                     [0.0, 0.4013, 0.0],
                     [0.0, 0.3621, 0.3393]])
SOFTMAX_IN = np.array([[-0.5304, 0.2711, -2.2645],
                       [-1.2981, -1.6760, -1.0793],
                       [0.8809, -1.0324, -0.4870],
                       [-0.7747, -0.9540, -1.3941]])
SOFTMAX_OUT = np.array([[0.2936, 0.6545, 0.0518],
                        [0.3413, 0.2339, 0.4248],
                        [0.7131, 0.1053, 0.1816],
                        [0.4212, 0.3521, 0.2267]])
ELU_IN = np.array([[-0.2376, -2.1421, -0.9440],
                   [-0.0636, -0.2743, 1.1682],
                   [-0.5658, 0.3416, 2.2739],
                   [-0.6640, 0.0474, 0.3064]])
ELU_OUT = np.array([[-0.2115, -0.8826, -0.6109],
                    [-0.0616, -0.2399, 1.1682],
                    [-0.4321, 0.3416, 2.2739],
                    [-0.4852, 0.0474, 0.3064]])
MSE_PRED = np.array([[-0.6952], [1.7180], [-0.2741]])   # выход Linear(4, 1) из семинара
MSE_TRUE = np.array([2.0, 3.0, 4.0])
MSE_VALUE = 9.058519283333332                           # семинар печатает 9.0586
CCE_PRED = np.array([[6.6880e-01, 2.9477e-01, 3.6424e-02],
                     [9.6940e-01, 3.0595e-02, 3.8884e-08],
                     [3.9157e-04, 4.3427e-02, 9.5618e-01]])
CCE_LABELS = np.array([1, 0, 0])
# Семинар печатает 8.2787 = -sum(log(y_pred[:, 0])): это ошибка broadcasting (y умножается на каждую
# строку).  Верное значение для меток [1, 0, 0] -- среднее -log(y_pred[i, y_i]) = 3.0327.
CCE_VALUE = 3.0326613674502814

# точность для значений, напечатанных семинаром с 4 знаками (вход и выход округлены)
PRINTED_ATOL = 1.5e-4


def _scalar(value, what):
    """Число (массив из одного элемента тоже принимается)."""
    arr = as_array(value, what)
    if arr.size != 1:
        raise AssertionError(f"{what}: ожидалось число, получен массив формы {arr.shape}")
    return arr.reshape(())


def _attr(obj, name, what):
    """Атрибут, который метод должен был сохранить."""
    try:
        return np.array(getattr(obj, name), dtype=np.float64)
    except AttributeError:
        raise AssertionError(f"{what}: после вызова не найден атрибут `{name}` "
                             f"(метод должен сохранять результат в self.{name})") from None
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what}: атрибут `{name}` не является числовым массивом ({exc})") from None


@reference
def _softmax(x):
    """x: (N, C) -> (N, C), numerically stable (only the hidden test uses it)."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _check_softmax(out, x, what):
    """out is softmax(x) row by row: positive, rows sum to 1, log(out) differs from x by a
    constant per row (softmax's defining property; no reference implementation needed)."""
    out = assert_shape(out, x.shape, what)
    assert np.all(out > 0), f"{what}: все вероятности должны быть положительными, получено {out}"
    assert_close(out.sum(axis=1), np.ones(x.shape[0]), f"сумма по строкам {what}", inputs={"x": x})
    log = np.log(out)
    assert_close(log - log.mean(axis=1, keepdims=True), x - x.mean(axis=1, keepdims=True),
                 f"{what}: отношения вероятностей должны быть exp(x_i - x_j)", inputs={"x": x})


def _probabilities(rng, n, c):
    """(n, c) rows of class probabilities (what softmax outputs), drawn from rng."""
    return rng.dirichlet(np.ones(c), size=n)


def _check_forward(out, expected, what, inputs):
    """forward is right on x: only then is a numeric gradient of it a meaningful reference."""
    assert_close(out, expected, f"{what} (forward проверяется вместе с backward)", inputs=inputs)


def _neuron(submission, weights, bias):
    neuron = submission.Neuron(len(weights))
    neuron.weights = np.array(weights, dtype=np.float64)
    neuron.bias = float(bias)
    return neuron


def _linear(submission, weights, biases):
    layer = submission.Linear(*np.shape(weights))
    layer.weights = np.array(weights, dtype=np.float64)
    layer.biases = np.array(biases, dtype=np.float64)
    return layer


def _regression():
    """Not the seminar's data: N = 101 (odd) examples, 3 features, noise-free, bias 0.5.

    Returns X (101, 3), y (101, 1), coef (3,)."""
    X, y, coef = make_regression(n_samples=101, n_features=3, n_informative=3, coef=True, bias=0.5,
                                 random_state=11)
    return X, y.reshape(-1, 1), coef


def _seeded(submission, seed, make):
    """The model a fit_* function starts from: ``np.random.seed(seed)`` in the student's process, then make()."""
    submission.np.random.seed(seed)
    return make()


def _gd_step(loss, theta, lr):
    """One gradient step theta - lr * dloss/dtheta, the gradient by central differences
    (exact up to rounding for the quadratic losses used here).  theta: 1-d array."""
    return theta - lr * numeric_gradient(loss, theta)


def _check_first_losses(losses, loss, theta0, lr, fn, first_what):
    """losses[0] is the loss of the initial model theta0, losses[1] the loss after one step from it.

    loss(theta, step): the loss the function reports at step 0 or 1 (theta: 1-d parameter vector).
    """
    assert_close(losses[0], loss(theta0, 0), f"{fn}: losses[0] должна быть потерей начальной модели "
                 f"({first_what}, до первого шага)", rtol=1e-6, atol=1e-9)
    theta1 = _gd_step(lambda th: loss(th, 0), theta0, lr)
    assert_close(losses[1], loss(theta1, 1), f"{fn}: losses[1] должна быть потерей после одного шага "
                 "градиентного спуска из начальной модели", rtol=1e-5, atol=1e-9)


# ============================== 1. Нейроны и полносвязные слои ==============================

@pytest.mark.task("1.1 Neuron")
@pytest.mark.points(1)
def test_neuron_reference_value(submission):
    """1.1 Neuron.forward на примере из семинара даёт 4.84."""
    neuron = _neuron(submission, NEURON_WEIGHTS, NEURON_BIAS)
    out = _scalar(neuron.forward(NEURON_INPUTS.copy()), "Neuron.forward(inputs)")
    assert_close(out, 4.84, "Neuron.forward(inputs) с весами и смещением из семинара")
    rng = np.random.default_rng(101)
    for n in (1, 3, 6):
        x, w, b = rng.standard_normal(n), rng.standard_normal(n), float(rng.standard_normal())
        what = f"Neuron.forward(x) для x формы ({n},)"
        assert_close(_scalar(_neuron(submission, w, b).forward(x.copy()), what), x @ w + b, what,
                     inputs={"x": x, "weights": w, "bias": b})


@pytest.mark.task("1.2 Linear")
@pytest.mark.points(1)
def test_linear_vector_reference(submission):
    """1.2 Linear.forward для вектора inputs из семинара даёт [4.84, 0.17, 10.39]."""
    layer = _linear(submission, LAYER_WEIGHTS, LAYER_BIASES)
    assert_close(layer.forward(NEURON_INPUTS.copy()), [4.84, 0.17, 10.39],
                 "Linear.forward(inputs) для вектора формы (4,)")
    rng = np.random.default_rng(102)
    for n_features, n_neurons in [(2, 5), (5, 1), (3, 3)]:
        x = rng.standard_normal(n_features)
        w, b = rng.standard_normal((n_features, n_neurons)), rng.standard_normal(n_neurons)
        assert_close(_linear(submission, w, b).forward(x.copy()), x @ w + b,
                     f"Linear({n_features}, {n_neurons}).forward(x) для вектора формы ({n_features},)",
                     inputs={"x": x, "weights": w})


@pytest.mark.task("1.3 Linear (батч)")
@pytest.mark.points(1)
def test_linear_batch_reference(submission):
    """1.3 Linear.forward для батча из семинара даёт матрицу 3x3 из семинара."""
    layer = _linear(submission, LAYER_WEIGHTS, LAYER_BIASES)
    assert_close(layer.forward(BATCH.copy()), BATCH_OUT, "Linear.forward(inputs) для батча формы (3, 4)")
    x = np.random.default_rng(103).standard_normal(BATCH.shape)
    assert_close(layer.forward(x.copy()), x @ LAYER_WEIGHTS + LAYER_BIASES,
                 "Linear.forward(x) для другого батча формы (3, 4)", inputs={"x": x})


@pytest.mark.task("1.3 Linear (батч)")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n_neurons=feature_counts, seed=seeds)
def test_linear_batch_shapes(submission, x, n_neurons, seed):
    """1.3 Linear.forward: батч (batch_size, n_features) -> (batch_size, n_neurons) = x @ W + b."""
    rng = np.random.default_rng([seed, 1])
    w = rng.standard_normal((x.shape[1], n_neurons))
    b = rng.standard_normal(n_neurons)
    layer = _linear(submission, w, b)
    assert_close(layer.forward(x.copy()), x @ w + b, "Linear.forward(x)", inputs={"x": x})


@pytest.mark.task("1.4 Linear(n_features, n_neurons)")
@pytest.mark.points(1)
def test_linear_init_standard_normal(submission):
    """1.4 Linear(n_features, n_neurons): weights (n_features, n_neurons), biases (n_neurons,) из N(0, 1)."""
    for n_features, n_neurons in [(1, 1), (4, 3), (6, 7), (3, 1), (1, 5)]:
        layer = submission.Linear(n_features, n_neurons)
        what = f"Linear({n_features}, {n_neurons})"
        assert_shape(layer.weights, (n_features, n_neurons), f"{what}.weights")
        assert_shape(layer.biases, (n_neurons,), f"{what}.biases")
    w = as_array(submission.Linear(400, 250).weights, "Linear(400, 250).weights")
    assert abs(w.mean()) < 0.02 and 0.97 < w.std() < 1.03, (
        f"Linear(400, 250).weights: среднее {w.mean():.3f}, стандартное отклонение {w.std():.3f}; "
        "веса должны быть из стандартного нормального распределения N(0, 1) (np.random.randn)")
    b = as_array(submission.Linear(3, 4000).biases, "Linear(3, 4000).biases")
    assert abs(b.mean()) < 0.08 and 0.93 < b.std() < 1.07, (
        f"Linear(3, 4000).biases: среднее {b.mean():.3f}, стандартное отклонение {b.std():.3f}; "
        "смещения должны быть из стандартного нормального распределения N(0, 1)")


@pytest.mark.task("1.5 Два слоя")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n_neurons=feature_counts)
def test_two_layers_3x7(submission, x, n_neurons):
    """1.5 two_layers: inputs (3, 4) -> (3, 7), последовательный прогон через два слоя Linear."""
    _, _, out = submission.two_layers(BATCH.copy())
    assert_shape(out, (3, 7), "two_layers(inputs) для inputs семинара формы (3, 4)")
    lay1, lay2, out = submission.two_layers(x.copy(), n_neurons=n_neurons)
    n = x.shape[0]
    assert_shape(lay1.weights, (x.shape[1], n_neurons), "lay1.weights")
    assert_shape(lay2.weights, (n_neurons, 7), "lay2.weights")
    assert_shape(out, (n, 7), "two_layers(x)[2]")
    expected = np.asarray(x @ lay1.weights + lay1.biases) @ lay2.weights + lay2.biases
    assert_close(out, expected, "two_layers(x): выход должен быть lay2.forward(lay1.forward(x))",
                 inputs={"x": x})
    lay1, lay2, _ = submission.two_layers(np.ones((2, 8)), n_neurons=40)
    w = np.concatenate([as_array(lay1.weights, "lay1.weights").ravel(), as_array(lay2.weights, "lay2.weights").ravel()])
    assert abs(w.mean()) < 0.15 and 0.85 < w.std() < 1.15, (
        f"two_layers(inputs формы (2, 8), n_neurons=40): веса слоёв -- среднее {w.mean():.3f}, "
        f"стандартное отклонение {w.std():.3f}; слои должны быть новыми Linear со случайными весами N(0, 1)")


# ================================== 2. Функции активации ====================================

@pytest.mark.task("2.1 ReLU")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts))
def test_relu_values(submission, x):
    """2.1 ReLU.forward: max(0, x) поэлементно, форма сохраняется (и пример из семинара)."""
    relu = submission.ReLU()
    assert_close(relu.forward(RELU_IN.copy()), RELU_OUT, "ReLU.forward(input) для матрицы из семинара")
    assert_close(relu.forward(x.copy()), np.maximum(x, 0), "ReLU.forward(x)", inputs={"x": x})


@pytest.mark.task("2.1 ReLU")
@pytest.mark.points(1)
@pytest.mark.hidden
def test_relu_does_not_modify_input(submission):
    """2.1 ReLU.forward не изменяет входной массив."""
    x = np.random.default_rng(1).standard_normal((5, 4))
    x_copy = x.copy()
    out = submission.ReLU().forward(x)
    assert np.array_equal(x, x_copy), (
        "ReLU.forward изменил входной массив (например, inputs[inputs < 0] = 0): "
        "верните новый массив, не меняя inputs")
    assert_close(out, np.maximum(x_copy, 0), "ReLU.forward(x): результат max(0, x)", inputs={"x": x_copy})


@pytest.mark.task("2.2 Softmax")
@pytest.mark.points(1)
def test_softmax_reference(submission):
    """2.2 Softmax.forward на примерах из семинара ([[1, 2], [3, 4]] -> [[0.2689, 0.7311], ...])."""
    sm = submission.Softmax()
    assert_close(sm.forward(np.array([[1.0, 2.0], [3.0, 4.0]])),
                 [[0.26894142, 0.73105858], [0.26894142, 0.73105858]], "Softmax.forward([[1, 2], [3, 4]])")
    assert_close(sm.forward(SOFTMAX_IN.copy()), SOFTMAX_OUT, "Softmax.forward(input) для матрицы из семинара",
                 rtol=0, atol=PRINTED_ATOL)
    x = np.random.default_rng(104).standard_normal(SOFTMAX_IN.shape)
    _check_softmax(sm.forward(x.copy()), x, "Softmax.forward(x) для другой матрицы формы (4, 3)")


@pytest.mark.task("2.2 Softmax")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts, scale=3.0))
def test_softmax_rows(submission, x):
    """2.2 Softmax.forward: форма (N, C), каждая строка -- softmax своей строки (сумма 1)."""
    _check_softmax(submission.Softmax().forward(x.copy()), x, "Softmax.forward(x)")


@pytest.mark.task("2.2 Softmax")
@pytest.mark.points(2)
@pytest.mark.hidden
def test_softmax_large_inputs(submission):
    """2.2 Softmax численно устойчив: нет переполнения на входах порядка 1000."""
    rng = np.random.default_rng(2)
    cases = [np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]),
             rng.standard_normal((6, 4)) * 5 + 800.0,
             np.array([[1000.0, 1001.0, 1002.0], [0.0, 1.0, 2.0]])]  # rows of different scales
    sm = submission.Softmax()
    for x in cases:
        out = assert_finite(sm.forward(x.copy()), "Softmax.forward(x) для больших x")
        assert_close(out, _softmax(x), "Softmax.forward(x) для больших x (вычтите максимум строки)",
                     inputs={"x": x})


@pytest.mark.task("2.3 ELU")
@pytest.mark.points(1)
def test_elu_reference(submission):
    """2.3 ELU(1).forward на матрице из семинара даёт значения из семинара."""
    elu = submission.ELU(1)
    assert_close(elu.forward(ELU_IN.copy()), ELU_OUT, "ELU(1).forward(input) для матрицы из семинара",
                 rtol=0, atol=PRINTED_ATOL)
    x = np.random.default_rng(105).standard_normal(ELU_IN.shape)
    assert_close(elu.forward(x.copy()), np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1),
                 "ELU(1).forward(x) для другой матрицы формы (4, 3)", inputs={"x": x})


@pytest.mark.task("2.3 ELU")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts, scale=2.0),
       alpha=st.floats(min_value=0.1, max_value=3.0, allow_nan=False))
def test_elu_alpha(submission, x, alpha):
    """2.3 ELU(alpha).forward: x при x > 0, alpha * (exp(x) - 1) при x <= 0."""
    expected = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    assert_close(submission.ELU(alpha).forward(x.copy()), expected, f"ELU({alpha}).forward(x)",
                 inputs={"x": x})


# =================================== 3. Функции потерь ======================================

@pytest.mark.task("3.1 MSELoss")
@pytest.mark.points(1)
def test_mse_reference_value(submission):
    """3.1 MSELoss.forward на примере семинара (выход (3, 1), y формы (3,)) даёт 9.0586."""
    out = _scalar(submission.MSELoss().forward(MSE_PRED.copy(), MSE_TRUE.copy()),
                  "MSELoss.forward(n_out, y) для n_out формы (3, 1) и y формы (3,)")
    assert_close(out, MSE_VALUE, "MSELoss.forward(n_out, y) для n_out формы (3, 1) и y формы (3,) "
                 "(не получилась ли матрица (3, 3) из-за broadcasting?)")
    rng = np.random.default_rng(106)
    pred, target = rng.standard_normal((3, 1)), rng.standard_normal(3)
    what = "MSELoss.forward(y_pred, y_true) для других y_pred формы (3, 1) и y_true формы (3,)"
    assert_close(_scalar(submission.MSELoss().forward(pred.copy(), target.copy()), what),
                 np.mean((pred[:, 0] - target) ** 2), what, inputs={"y_pred": pred, "y_true": target})


@pytest.mark.task("3.1 MSELoss")
@pytest.mark.points(2)
@given(y_pred=arrays(batch_sizes, 1), seed=seeds)
def test_mse_prediction_column_vs_target_vector(submission, y_pred, seed):
    """3.1 MSELoss.forward: y_pred (N, 1) и y_true (N,) (и наоборот) -- среднее по N примерам, без broadcasting в (N, N)."""
    y_true = np.random.default_rng([seed, 1]).standard_normal(y_pred.shape[0])
    expected = np.mean((y_pred[:, 0] - y_true) ** 2)
    loss = submission.MSELoss()
    for a, b, shapes in [(y_pred, y_true, "(N, 1) и (N,)"), (y_pred[:, 0], y_true[:, None], "(N,) и (N, 1)"),
                         (y_pred, y_true[:, None], "(N, 1) и (N, 1)")]:
        what = f"MSELoss.forward(y_pred, y_true) для форм {shapes}"
        assert_close(_scalar(loss.forward(a.copy(), b.copy()), what), expected, what,
                     inputs={"y_pred": a, "y_true": b})


@pytest.mark.task("3.2 CategoricalCrossentropyLoss")
@pytest.mark.points(1)
def test_cce_reference_value(submission):
    """3.2 CCE для выхода softmax из семинара и меток y = [1, 0, 0] равна среднему -log p = 3.0327."""
    what = "CategoricalCrossentropyLoss.forward(act_out, y) для y = [1, 0, 0]"
    out = _scalar(submission.CategoricalCrossentropyLoss().forward(CCE_PRED.copy(), CCE_LABELS.copy()), what)
    assert_close(out, CCE_VALUE, what + " (среднее по примерам -log вероятности правильного класса)")
    rng = np.random.default_rng(107)
    p, labels = _probabilities(rng, 4, 3), np.array([2, 0, 1, 2])
    what = "CategoricalCrossentropyLoss.forward(y_pred, y_true) для других y_pred (4, 3) и y_true = [2, 0, 1, 2]"
    out = _scalar(submission.CategoricalCrossentropyLoss().forward(p.copy(), labels.copy()), what)
    assert_close(out, -np.mean(np.log(p[np.arange(4), labels])), what, inputs={"y_pred": p})


@pytest.mark.task("3.2 CategoricalCrossentropyLoss")
@pytest.mark.points(1)
@given(n=batch_sizes, c=st.integers(2, 6), seed=seeds)
def test_cce_labels_and_one_hot(submission, n, c, seed):
    """3.2 CCE: метки (N,) и one-hot (N, C) дают одно и то же среднее -log p[i, y_i]."""
    rng = np.random.default_rng([seed, 1])
    p = _probabilities(rng, n, c)
    labels = rng.integers(0, c, size=n)
    expected = -np.mean(np.log(p[np.arange(n), labels]))
    loss = submission.CategoricalCrossentropyLoss()
    what = "CategoricalCrossentropyLoss.forward(y_pred, y_true) для меток формы (N,)"
    assert_close(_scalar(loss.forward(p.copy(), labels.copy()), what), expected, what,
                 inputs={"y_pred": p, "y_true": labels})
    one_hot = np.eye(c)[labels]
    what = "CategoricalCrossentropyLoss.forward(y_pred, y_true) для one-hot y_true формы (N, C)"
    assert_close(_scalar(loss.forward(p.copy(), one_hot), what), expected, what,
                 inputs={"y_pred": p, "y_true": one_hot})


@pytest.mark.task("3.3 MSELossL2")
@pytest.mark.points(1)
@given(w=arrays(feature_counts, feature_counts), lambda_=st.floats(0.0, 2.0, allow_nan=False))
def test_mse_l2_reg_loss(submission, w, lambda_):
    """3.3 MSELossL2.reg_loss(layer) = lambda_ * сумма квадратов layer.weights."""
    layer = _linear(submission, w, np.ones(w.shape[1]))
    what = f"MSELossL2({lambda_}).reg_loss(layer)"
    assert_close(_scalar(submission.MSELossL2(lambda_).reg_loss(layer), what), lambda_ * np.sum(w ** 2), what,
                 inputs={"layer.weights": w})


@pytest.mark.task("3.3 MSELossL2")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, 1), w=arrays(feature_counts, 1), seed=seeds)
def test_mse_l2_forward(submission, y_pred, w, seed):
    """3.3 MSELossL2.forward = MSE (как в 3.1, y_pred (N, 1), y_true (N,)) + lambda_ * sum(W^2)."""
    y_true = np.random.default_rng([seed, 1]).standard_normal(y_pred.shape[0])
    layer = _linear(submission, w, np.array([0.5]))
    loss = submission.MSELossL2(0.3)
    expected_data = np.mean((y_pred[:, 0] - y_true) ** 2)
    what = "MSELossL2(0.3).data_loss(y_pred, y_true) для y_pred (N, 1) и y_true (N,)"
    assert_close(_scalar(loss.data_loss(y_pred.copy(), y_true.copy()), what), expected_data, what,
                 inputs={"y_pred": y_pred, "y_true": y_true})
    what = "MSELossL2(0.3).forward(y_pred, y_true, layer)"
    assert_close(_scalar(loss.forward(y_pred.copy(), y_true.copy(), layer), what),
                 expected_data + 0.3 * np.sum(w ** 2), what,
                 inputs={"y_pred": y_pred, "y_true": y_true, "layer.weights": w})


# ============================ 4. Обратное распространение ошибки ============================

@pytest.mark.task("4.1.1 MSELoss.backward")
@pytest.mark.points(1)
@given(y_pred=st.floats(-10, 10), y_true=st.floats(-10, 10))
def test_mse_backward_single_example(submission, y_pred, y_true):
    """4.1.1 MSELoss.backward для одного примера сохраняет в dinput значение 2 * (y_pred - y_true)."""
    loss = submission.MSELoss()
    loss.backward(np.array(y_pred), np.array([y_true]))
    what = f"MSELoss.backward(y_pred={y_pred}, y_true=[{y_true}]): self.dinput"
    assert_close(_scalar(_attr(loss, "dinput", "MSELoss.backward"), what), 2 * (y_pred - y_true), what)


@pytest.mark.task("4.1.2 Neuron: инициализация и backward")
@pytest.mark.points(1)
def test_neuron_init_standard_normal(submission):
    """4.1.2 Neuron(n_inputs): weights формы (n_inputs,) и bias (число) из N(0, 1)."""
    for n_inputs in (1, 3, 6):
        neuron = submission.Neuron(n_inputs)
        assert_shape(neuron.weights, (n_inputs,), f"Neuron({n_inputs}).weights")
        _scalar(neuron.bias, f"Neuron({n_inputs}).bias")
    w = as_array(submission.Neuron(20000).weights, "Neuron(20000).weights")
    assert abs(w.mean()) < 0.03 and 0.97 < w.std() < 1.03, (
        f"Neuron(20000).weights: среднее {w.mean():.3f}, стандартное отклонение {w.std():.3f}; "
        "веса должны быть из стандартного нормального распределения N(0, 1) (np.random.randn)")
    b = np.array([_scalar(bias, "Neuron(1).bias") for bias in repeat_calls(submission.Neuron, 1, times=500, attr="bias")])
    assert abs(b.mean()) < 0.2 and 0.85 < b.std() < 1.15, (
        f"смещения bias 500 нейронов: среднее {b.mean():.3f}, стандартное отклонение {b.std():.3f}; "
        "bias должен быть из стандартного нормального распределения N(0, 1)")


@pytest.mark.task("4.1.2 Neuron: инициализация и backward")
@pytest.mark.points(2)
@given(x=arrays(feature_counts), seed=seeds)
def test_neuron_backward_single_example(submission, x, seed):
    """4.1.2 Neuron.backward для одного примера: dweights, dbias, dinput совпадают с численным градиентом."""
    rng = np.random.default_rng([seed, 1])
    w, b = rng.standard_normal(x.shape[0]), float(rng.standard_normal())
    neuron = _neuron(submission, w, b)
    dvalue = float(rng.standard_normal())
    _check_forward(_scalar(neuron.forward(x.copy()), "Neuron.forward(x)"), x @ w + b,
                   "Neuron.forward(x) для одного примера", inputs={"x": x})
    neuron.backward(dvalue)
    what = "Neuron.backward(dvalue) после forward(x) для одного примера x формы (n_inputs,)"
    dweights = _attr(neuron, "dweights", what)
    dbias = _attr(neuron, "dbias", what)
    dinput = _attr(neuron, "dinput", what)
    num_w = numeric_gradient(neuron.forward, x, wrt=(neuron, "weights"), dout=dvalue)
    num_b = numeric_gradient(neuron.forward, x, wrt=(neuron, "bias"), dout=dvalue)
    num_x = numeric_gradient(neuron.forward, x, dout=dvalue)
    inputs = {"x": x, "dvalue": dvalue}
    assert_gradient(dweights, num_w, f"{what}: self.dweights", inputs=inputs)
    assert_gradient(_scalar(dbias, f"{what}: self.dbias"), num_b, f"{what}: self.dbias", inputs=inputs)
    assert_gradient(dinput, num_x, f"{what}: self.dinput", inputs=inputs)


@pytest.mark.task("4.1.3 SGD для нейрона")
@pytest.mark.points(2)
def test_fit_neuron_sgd_converges(submission):
    """4.1.3 fit_neuron_sgd: шаг после каждого примера из начального нейрона; нейрон находит коэффициенты make_regression и bias = 0.5."""
    X, y, coef = _regression()
    n, m = X.shape
    fn = "fit_neuron_sgd(X, y, learning_rate=0.1, n_epoch=100, seed=5) для X формы (101, 3)"
    theta0 = _neuron_params(_seeded(submission, 5, lambda: submission.Neuron(m)), m, "Neuron(n_inputs)")
    neuron, losses = submission.fit_neuron_sgd(X.copy(), y.copy(), learning_rate=0.1, n_epoch=100, seed=5)
    losses = as_array(losses, f"losses из {fn}").ravel()
    assert losses.size == 100 * n, (
        f"{fn}: len(losses) = {losses.size}, ожидалось n_epoch * N = {100 * n} (по шагу на пример)")
    example_loss = lambda th, i: (X[i] @ th[:-1] + th[-1] - y[i, 0]) ** 2  # noqa: E731
    _check_first_losses(losses, example_loss, theta0, 0.1, fn, "np.random.seed(seed); Neuron(n_inputs), первый пример")
    theta = _neuron_params(neuron, m, f"нейрон после {fn}")
    _check_trained(theta, theta0, losses[-1], example_loss(theta, n - 1), X, y, coef, fn)


def _neuron_params(neuron, m, what):
    """A Neuron's (weights, bias) as one vector of shape (m + 1,)."""
    w = assert_shape(_attr(neuron, "weights", what), (m,), f"{what}: weights")
    return np.append(w, _scalar(_attr(neuron, "bias", what), f"{what}: bias"))


def _linear_params(layer, m, what):
    """A Linear(m, 1)'s (weights, biases) as one vector of shape (m + 1,)."""
    w = assert_shape(_attr(layer, "weights", what), (m, 1), f"{what}: weights")
    b = assert_shape(_attr(layer, "biases", what), (1,), f"{what}: biases")
    return np.append(w[:, 0], b)


def _check_trained(theta, theta0, reported_last, last_loss, X, y, coef, fn):
    """The returned model theta = (weights, bias) itself fits the data: its MSE is tiny next to the
    initial model's, it reproduces the last reported loss, and it found coef and 0.5."""
    mse = lambda th: float(np.mean((X @ th[:-1] + th[-1] - y[:, 0]) ** 2))  # noqa: E731
    start, end = mse(theta0), mse(theta)
    assert np.isfinite(end) and end < 1e-6 * start, (
        f"{fn}: MSE возвращённой модели на обучающих данных {end:.4g}, у начальной модели {start:.4g}: "
        "обучение не сошлось")
    assert abs(reported_last - last_loss) <= 1e-6 * start, (
        f"{fn}: последняя потеря в losses {reported_last:.4g}, а возвращённая модель даёт {last_loss:.4g}: "
        "losses должны быть потерями той модели, которую обучает функция")
    assert_close(theta[:-1], coef, f"веса после {fn} (истинные коэффициенты make_regression)", rtol=1e-3, atol=1e-2)
    assert_close(theta[-1], 0.5, f"смещение после {fn}", rtol=0, atol=1e-2)


@pytest.mark.task("4.2.1 MSELoss.backward (батч)")
@pytest.mark.points(2)
@given(y_pred=arrays(batch_sizes, 1), seed=seeds)
def test_mse_backward_batch(submission, y_pred, seed):
    """4.2.1 MSELoss.backward для батча: dinput формы y_pred совпадает с численным градиентом MSE."""
    y_true = np.random.default_rng([seed, 1]).standard_normal(y_pred.shape[0])
    for pred, shapes in [(y_pred, "(N, 1)"), (y_pred[:, 0], "(N,)")]:
        loss = submission.MSELoss()
        loss.backward(pred.copy(), y_true.copy())
        what = f"MSELoss.backward(y_pred, y_true) для y_pred формы {shapes} и y_true формы (N,): self.dinput"
        dinput = _attr(loss, "dinput", what)
        fresh = submission.MSELoss()
        _check_forward(_scalar(fresh.forward(pred.copy(), y_true.copy()), "MSELoss.forward"),
                       np.mean((np.ravel(pred) - y_true) ** 2), f"MSELoss.forward(y_pred, y_true) для y_pred формы {shapes}",
                       inputs={"y_pred": pred, "y_true": y_true})
        num = numeric_gradient(fresh.forward, pred, y_true)
        assert_gradient(dinput, num, what, inputs={"y_pred": pred, "y_true": y_true})


@pytest.mark.task("4.2.2 Neuron (батч)")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), seed=seeds)
def test_neuron_forward_batch(submission, x, seed):
    """4.2.2 Neuron.forward для батча (N, n_inputs) возвращает (N,) = x @ weights + bias."""
    rng = np.random.default_rng([seed, 1])
    w, b = rng.standard_normal(x.shape[1]), rng.standard_normal()
    neuron = _neuron(submission, w, b)
    assert_close(neuron.forward(x.copy()), x @ w + b, "Neuron.forward(x) для батча x формы (N, n_inputs)",
                 inputs={"x": x})


@pytest.mark.task("4.2.2 Neuron (батч)")
@pytest.mark.points(2)
@given(x=arrays(batch_sizes, feature_counts), seed=seeds)
def test_neuron_backward_batch(submission, x, seed):
    """4.2.2 Neuron.backward для батча: dweights (n_inputs,) и dbias (сумма по батчу) = численный градиент."""
    rng = np.random.default_rng([seed, 1])
    w, b = rng.standard_normal(x.shape[1]), float(rng.standard_normal())
    neuron = _neuron(submission, w, b)
    dvalue = rng.standard_normal(x.shape[0])
    _check_forward(neuron.forward(x.copy()), x @ w + b, "Neuron.forward(x) для батча", inputs={"x": x})
    neuron.backward(dvalue.copy())
    what = "Neuron.backward(dvalue) после forward(x) для батча x формы (N, n_inputs), dvalue формы (N,)"
    dweights = _attr(neuron, "dweights", what)
    dbias = _attr(neuron, "dbias", what)
    num_w = numeric_gradient(neuron.forward, x, wrt=(neuron, "weights"), dout=dvalue)
    num_b = numeric_gradient(neuron.forward, x, wrt=(neuron, "bias"), dout=dvalue)
    inputs = {"x": x, "dvalue": dvalue}
    assert_gradient(dweights, num_w, f"{what}: self.dweights", inputs=inputs)
    assert_gradient(_scalar(dbias, f"{what}: self.dbias (сумма по батчу)"), num_b, f"{what}: self.dbias",
                    inputs=inputs)


@pytest.mark.task("4.2.3 Пакетный GD для нейрона")
@pytest.mark.points(2)
def test_fit_neuron_batch_converges(submission):
    """4.2.3 fit_neuron_batch (y формы (N, 1)): шаги на всей выборке из начального нейрона; найдены коэффициенты и bias = 0.5."""
    X, y, coef = _regression()
    m = X.shape[1]
    fn = "fit_neuron_batch(X, y, learning_rate=0.1, n_epoch=100, seed=5) для X формы (101, 3)"
    theta0 = _neuron_params(_seeded(submission, 5, lambda: submission.Neuron(m)), m, "Neuron(n_inputs)")
    neuron, losses = submission.fit_neuron_batch(X.copy(), y.copy(), learning_rate=0.1, n_epoch=100, seed=5)
    losses = as_array(losses, f"losses из {fn}").ravel()
    assert losses.size == 100, f"{fn}: len(losses) = {losses.size}, ожидалось n_epoch = 100"
    batch_loss = lambda th, step=None: float(np.mean((X @ th[:-1] + th[-1] - y[:, 0]) ** 2))  # noqa: E731
    _check_first_losses(losses, batch_loss, theta0, 0.1, fn, "np.random.seed(seed); Neuron(n_inputs)")
    theta = _neuron_params(neuron, m, f"нейрон после {fn}")
    _check_trained(theta, theta0, losses[-1], batch_loss(theta), X, y, coef, fn)


def _linear_backward(submission, x, n_neurons, seed):
    rng = np.random.default_rng([seed, 1])
    w, b = rng.standard_normal((x.shape[1], n_neurons)), rng.standard_normal(n_neurons)
    layer = _linear(submission, w, b)
    dvalues = rng.standard_normal((x.shape[0], n_neurons))
    _check_forward(layer.forward(x.copy()), x @ w + b, "Linear.forward(x)", inputs={"x": x})
    layer.backward(dvalues.copy())
    return layer, dvalues


@pytest.mark.task("4.3.1 Linear.backward")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n_neurons=feature_counts, seed=seeds)
def test_linear_backward_dinputs(submission, x, n_neurons, seed):
    """4.3.1 Linear.backward: dinputs (batch_size, n_features) совпадает с численным градиентом."""
    layer, dvalues = _linear_backward(submission, x, n_neurons, seed)
    what = "Linear.backward(dvalues): self.dinputs"
    dinputs = _attr(layer, "dinputs", what)
    num = numeric_gradient(layer.forward, x, dout=dvalues)
    assert_gradient(dinputs, num, what, inputs={"x": x, "dvalues": dvalues})


@pytest.mark.task("4.3.1 Linear.backward")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n_neurons=feature_counts, seed=seeds)
def test_linear_backward_dweights(submission, x, n_neurons, seed):
    """4.3.1 Linear.backward: dweights (n_features, n_neurons) совпадает с численным градиентом."""
    layer, dvalues = _linear_backward(submission, x, n_neurons, seed)
    what = "Linear.backward(dvalues): self.dweights"
    dweights = _attr(layer, "dweights", what)
    num = numeric_gradient(layer.forward, x, wrt=(layer, "weights"), dout=dvalues)
    assert_gradient(dweights, num, what, inputs={"x": x, "dvalues": dvalues})


@pytest.mark.task("4.3.1 Linear.backward")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n_neurons=feature_counts, seed=seeds)
def test_linear_backward_dbiases(submission, x, n_neurons, seed):
    """4.3.1 Linear.backward: dbiases формы (n_neurons,) -- сумма по батчу, совпадает с численным градиентом."""
    layer, dvalues = _linear_backward(submission, x, n_neurons, seed)
    what = "Linear.backward(dvalues): self.dbiases (градиент нужно просуммировать по батчу)"
    dbiases = _attr(layer, "dbiases", what)
    num = numeric_gradient(layer.forward, x, wrt=(layer, "biases"), dout=dvalues)
    assert_gradient(dbiases, num, what, inputs={"x": x, "dvalues": dvalues})


@pytest.mark.task("4.3.2 Обучение слоя Linear")
@pytest.mark.points(2)
def test_fit_linear_converges(submission):
    """4.3.2 fit_linear: слой Linear(n_features, 1) из начального слоя находит коэффициенты make_regression и смещение 0.5 (N нечётное)."""
    X, y, coef = _regression()
    m = X.shape[1]
    fn = "fit_linear(X, y, learning_rate=0.1, n_epoch=100, seed=5) для X формы (101, 3), y формы (101, 1)"
    theta0 = _linear_params(_seeded(submission, 5, lambda: submission.Linear(m, 1)), m, "Linear(n_features, 1)")
    layer, losses = submission.fit_linear(X.copy(), y.copy(), learning_rate=0.1, n_epoch=100, seed=5)
    losses = as_array(losses, f"losses из {fn}").ravel()
    assert losses.size == 100, f"{fn}: len(losses) = {losses.size}, ожидалось n_epoch = 100"
    batch_loss = lambda th, step=None: float(np.mean((X @ th[:-1] + th[-1] - y[:, 0]) ** 2))  # noqa: E731
    _check_first_losses(losses, batch_loss, theta0, 0.1, fn, "np.random.seed(seed); Linear(n_features, 1)")
    theta = _linear_params(layer, m, f"слой после {fn}")
    _check_trained(theta, theta0, losses[-1], batch_loss(theta), X, y, coef, fn)
    # y as make_regression returns it, shape (N,): the docstring allows it, training must not change
    fn_flat = fn.replace("y формы (101, 1)", "y формы (101,)")
    _, flat = submission.fit_linear(X.copy(), y[:, 0].copy(), learning_rate=0.1, n_epoch=100, seed=5)
    flat = as_array(flat, f"losses из {fn_flat}").ravel()
    assert flat.shape == losses.shape and np.allclose(flat, losses, rtol=1e-6, atol=1e-9), (
        f"{fn_flat}: значения losses отличаются от обучения с y формы (101, 1) (первые: "
        f"{np.round(flat[:3], 4).tolist()} вместо {np.round(losses[:3], 4).tolist()}); приведите y к "
        "столбцу (N, 1), прежде чем считать потери")


def _network_params(fc1, fc2, what):
    """The 1-10-1 network's parameters as one vector of shape (31,): W1 (1, 10), b1 (10,), W2 (10, 1), b2 (1,)."""
    parts = [(fc1, "fc1", "weights", (1, 10)), (fc1, "fc1", "biases", (10,)),
             (fc2, "fc2", "weights", (10, 1)), (fc2, "fc2", "biases", (1,))]
    return np.concatenate([assert_shape(_attr(layer, name, f"{what}: {label}"), shape, f"{what}: {label}.{name}").ravel()
                           for layer, label, name, shape in parts])


def _network_out(theta, x):
    """relu(x @ W1 + b1) @ W2 + b2 for the parameter vector theta (31,); x: (N, 1) -> (N, 1)."""
    w1, b1, w2, b2 = theta[:10].reshape(1, 10), theta[10:20], theta[20:30].reshape(10, 1), theta[30:]
    return np.maximum(x @ w1 + b1, 0) @ w2 + b2


@pytest.mark.task("4.4 Сеть Linear -> ReLU -> Linear")
@pytest.mark.points(3)
def test_fit_network_x_squared(submission):
    """4.4 fit_network: сеть 1-10-1 из начальных слоёв приближает y = x^2 + шум (MSE < 0.03) и на новых точках, снимки выхода каждые 200 эпох."""
    x = np.linspace(-1, 1, 100).reshape(-1, 1)
    y = x ** 2 + 0.2 * np.random.default_rng(0).random(x.shape)
    fn = "fit_network(X, y, lr=0.02, n_epoch=2001, seed=0)"
    first = "np.random.seed(seed), затем слои Linear(1, 10) и Linear(10, 1)"
    theta0 = _network_params(*_seeded(submission, 0, lambda: (submission.Linear(1, 10), submission.Linear(10, 1))),
                             f"начальная сеть ({first})")
    fc1, fc2, losses, ys = submission.fit_network(x.copy(), y.copy(), lr=0.02, n_epoch=2001, seed=0)
    losses = as_array(losses, "losses из fit_network").ravel()
    assert losses.size == 2001, f"fit_network: len(losses) = {losses.size}, ожидалось n_epoch = 2001"
    assert len(ys) == 11, f"fit_network: в ys {len(ys)} снимков, ожидалось 11 (эпохи 0, 200, ..., 2000)"
    mse = lambda th, step=None: float(np.mean((_network_out(th, x) - y) ** 2))  # noqa: E731
    _check_first_losses(losses, mse, theta0, 0.02, fn, first)
    assert_close(assert_shape(ys[0], (100, 1), "ys[0]"), _network_out(theta0, x),
                 f"{fn}: ys[0] должен быть выходом начальной сети (эпоха 0)")
    theta = _network_params(fc1, fc2, f"сеть после {fn}")
    end = mse(theta)
    assert np.isfinite(end) and end < 0.03, (
        f"{fn}: MSE возвращённой сети на обучающих данных {end:.4g}, ожидалось < 0.03 (константа даёт около 0.09)")
    assert abs(losses[-1] - end) <= 1e-3 * end, (
        f"{fn}: последняя потеря в losses {losses[-1]:.6g}, а возвращённая сеть даёт {end:.6g}: "
        "losses должны быть потерями той сети, которую обучает функция")
    assert_close(assert_shape(ys[-1], (100, 1), "ys[-1] (выход сети на эпохе 2000)"), _network_out(theta, x),
                 f"{fn}: ys[-1] должен быть выходом обученной сети (эпоха 2000)", rtol=0, atol=1e-3)
    grid = np.linspace(-0.95, 0.95, 39).reshape(-1, 1)
    mse_grid = float(np.mean((_network_out(theta, grid) - (grid ** 2 + 0.1)) ** 2))
    assert mse_grid < 0.03, (
        f"обученная сеть на новых точках отклоняется от x^2 + 0.1: MSE {mse_grid:.4g}, ожидалось < 0.03")
