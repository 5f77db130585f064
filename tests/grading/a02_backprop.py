"""Рубрика a02_backprop: «Обратное распространение ошибки» (семинар 001).

Эталонные значения: пример разбора (x = [2, 3], y = 5, w = [3.5, 4.5], b = 0.5) и пример задачи 3
из семинара (torch.manual_seed(42), его градиенты воспроизводятся до 4 знаков). Регрессия
make_regression(..., bias=0.5, random_state=42) без шума: минимум MSE достигается ровно в coef
и 0.5, поэтому обученные веса сравниваются с ними (допуск 1e-3: правильный код во float64
сходится до ~1e-6, во float32 до ~5e-5; ошибки семинара дают отклонения ~0.4).
"""
import numpy as np
import pytest
from hypothesis import given
from sklearn.datasets import make_regression

from autograder.testing import (
    arrays,
    assert_close,
    assert_shape,
    batch_sizes,
    feature_counts,
    numeric_gradient,
    numeric_gradient_array,
    numeric_gradient_attr,
    seeds,
    well_conditioned,
)

ASSIGNMENT = {"title": "Обратное распространение ошибки", "cell_timeout": 60, "test_timeout": 60}

GRAD = dict(rtol=1e-4, atol=1e-6)  # analytic vs numeric gradient; accepts float32 code


def regression(random_state=42, n_targets=1):
    X, y, coef = make_regression(n_features=4, n_informative=4, n_targets=n_targets, coef=True,
                                 bias=0.5, random_state=random_state)
    return X, y.reshape(len(X), n_targets), np.reshape(coef, (4, n_targets))


def parabola():
    X = np.linspace(-1, 1, 100).reshape(-1, 1)
    return X, X ** 2 + 0.2 * np.random.default_rng(42).random(X.shape)


def check_returned(trained, what):
    assert trained is not None, f"{what} вернула None: функция должна вернуть обученную модель (return ...)"


def mse_grad(y_pred, y):
    return 2 / y_pred.size * (y_pred - y)


def set_params(nn, rng, bias1=None):
    """Initial weights chosen by the test, so training does not depend on the student's init."""
    params = {
        "w1": rng.standard_normal((1, 10)),
        "b1": rng.standard_normal(10) * 0.5 if bias1 is None else bias1,
        "w2": rng.standard_normal((10, 1)),
        "b2": rng.standard_normal(1) * 0.5,
    }
    nn.layer1.weights, nn.layer1.bias = params["w1"].copy(), params["b1"].copy()
    nn.layer2.weights, nn.layer2.bias = params["w2"].copy(), params["b2"].copy()
    return params


def reference_training(p, X, y, lr, epochs, relu, record):
    """Full-batch gradient descent of the 1-10-1 network, float64 (the test's own reference)."""
    w1, b1, w2, b2 = (p[k].copy() for k in ("w1", "b1", "w2", "b2"))
    act = (lambda z: np.maximum(z, 0)) if relu else (lambda z: z)
    out = []
    for epoch in range(1, epochs + 1):
        z = X @ w1 + b1
        h = act(z)
        d = mse_grad(h @ w2 + b2, y)
        dh = d @ w2.T * ((z > 0) if relu else 1.0)
        w2, b2 = w2 - lr * h.T @ d, b2 - lr * d.sum(0)
        w1, b1 = w1 - lr * X.T @ dh, b1 - lr * dh.sum(0)
        if epoch in record:
            out.append(act(X @ w1 + b1) @ w2 + b2)
    return out


# ---------------------------------------------------------------- разбор: один пример

@pytest.mark.task("0. Разбор: Loss")
@pytest.mark.points(1)
def test_loss_squared_error(submission):
    """Loss: (y_pred - y_true)^2 и производная 2 (y_pred - y_true) на примере разбора."""
    criterion = submission.Loss()
    assert_close(criterion.forward(21.0, 5.0), 256.0, "Loss().forward(21.0, 5.0)")
    criterion.backward(21.0, 5.0)
    assert_close(criterion.dypred, 32.0, "Loss: self.dypred после backward(21.0, 5.0)")
    y_pred, y_true = np.array([0.5, -1.0, 2.0]), np.array([1.0, 1.0, -1.0])
    criterion.backward(y_pred.copy(), y_true)
    expected = numeric_gradient_array(lambda z: criterion.forward(z, y_true), y_pred, np.ones(3))
    assert_close(criterion.dypred, expected, "Loss: self.dypred для массивов (поэлементно)", **GRAD,
                 inputs={"y_pred": y_pred, "y_true": y_true})


@pytest.mark.task("0. Разбор: Neuron")
@pytest.mark.points(1)
def test_neuron_single_example(submission):
    """Neuron на одном примере разбора: выход 21, dw = [64, 96], db = 32."""
    neuron = submission.Neuron(np.array([3.5, 4.5]), 0.5)
    x = np.array([2.0, 3.0])
    assert_close(neuron.forward(x), 21.0, "Neuron([3.5, 4.5], 0.5).forward([2, 3])")
    neuron.backward(x, 32.0)
    assert_close(neuron.dw, [64.0, 96.0], "Neuron.dw после backward([2, 3], 32)")
    assert_close(neuron.db, 32.0, "Neuron.db после backward([2, 3], 32)")


@pytest.mark.task("0. Разбор: sgd_step")
@pytest.mark.points(1)
def test_sgd_step(submission):
    """sgd_step уменьшает weights и bias на lr * градиент."""
    neuron = submission.Neuron(np.array([3.5, 4.5]), 0.5)
    neuron.backward(np.array([2.0, 3.0]), 32.0)
    submission.sgd_step(neuron, 0.01)
    assert_close(neuron.weights, [2.86, 3.54], "weights после sgd_step(neuron, lr=0.01)")
    assert_close(neuron.bias, 0.18, "bias после sgd_step(neuron, lr=0.01)")


# ---------------------------------------------------------------- задача 1: пакет и MSELoss

@pytest.mark.task("1. Neuron на пакете")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), seed=seeds)
def test_neuron_batch_forward(submission, x, seed):
    """Neuron.forward на пакете (k, m) с весами (m, 1) даёт (k, 1) = X @ W + b."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((x.shape[1], 1)), float(rng.standard_normal())
    out = submission.Neuron(w.copy(), b).forward(x.copy())
    assert_close(out, x @ w + b, f"Neuron.forward(x) для x формы {x.shape} и weights формы {w.shape}")


@pytest.mark.task("1. Neuron на пакете")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), seed=seeds)
def test_neuron_batch_dw(submission, x, seed):
    """Neuron.backward на пакете: dw = X^T dL/dy совпадает с численным градиентом."""
    rng = np.random.default_rng(seed)
    w, b, dout = rng.standard_normal((x.shape[1], 1)), 0.5, rng.standard_normal((len(x), 1))
    neuron = submission.Neuron(w.copy(), b)
    neuron.backward(x.copy(), dout.copy())
    expected = numeric_gradient_attr(neuron, "weights", lambda: neuron.forward(x.copy()), dout)
    assert_close(neuron.dw, expected, f"Neuron.dw для x формы {x.shape}", **GRAD)


@pytest.mark.task("1. Neuron на пакете")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), seed=seeds)
def test_neuron_batch_db(submission, x, seed):
    """Neuron.backward на пакете: db (смещение — число) просуммирован по всем примерам пакета."""
    rng = np.random.default_rng(seed)
    w, dout = rng.standard_normal((x.shape[1], 1)), rng.standard_normal((len(x), 1))
    neuron = submission.Neuron(w.copy(), 0.5)
    neuron.backward(x.copy(), dout.copy())
    expected = numeric_gradient_attr(neuron, "bias", lambda: neuron.forward(x.copy()), dout)
    db = assert_shape(np.reshape(np.asarray(neuron.db, dtype=float), -1), (1,),
                      "Neuron.db (смещение — одно число, градиент надо просуммировать по пакету)")
    assert_close(db, np.reshape(expected, -1), f"Neuron.db для x формы {x.shape}", **GRAD)


@pytest.mark.task("1. MSELoss")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, 1), seed=seeds)
def test_mse_loss_forward(submission, y_pred, seed):
    """MSELoss.forward: среднее (y_pred - y_true)^2 по пакету (k, 1)."""
    y_true = np.random.default_rng(seed).standard_normal(y_pred.shape)
    assert_close(submission.MSELoss().forward(y_pred.copy(), y_true.copy()), np.mean((y_pred - y_true) ** 2),
                 f"MSELoss().forward(y_pred, y_true) для формы {y_pred.shape}")


@pytest.mark.task("1. MSELoss")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, 1), seed=seeds)
def test_mse_loss_backward(submission, y_pred, seed):
    """MSELoss.backward: dypred = 2/k (y_pred - y_true) совпадает с численным градиентом."""
    y_true = np.random.default_rng(seed).standard_normal(y_pred.shape)
    criterion = submission.MSELoss()
    criterion.backward(y_pred.copy(), y_true.copy())
    expected = numeric_gradient(lambda z: criterion.forward(z, y_true.copy()), y_pred)
    assert_close(criterion.dypred, expected, f"MSELoss: self.dypred для формы {y_pred.shape}", **GRAD)


# ---------------------------------------------------------------- задача 2: мини-пакетный спуск

@pytest.mark.task("2. train_neuron")
@pytest.mark.points(1)
def test_train_neuron_one_full_batch_step(submission):
    """train_neuron с batch_size = N и epochs = 1 делает один шаг градиентного спуска."""
    X, y, _ = regression()
    w0 = np.random.default_rng(1).standard_normal((4, 1))
    d = mse_grad(X @ w0 + 0.5, y)
    neuron = submission.Neuron(w0.copy(), 0.5)
    trained = submission.train_neuron(neuron, X.copy(), y.copy(), batch_size=len(X), lr=0.03, epochs=1)
    what = "train_neuron(neuron, X, y, batch_size=100, lr=0.03, epochs=1)"
    check_returned(trained, what)
    assert_close(trained.weights, w0 - 0.03 * X.T @ d, f"{what}: веса после одного шага")
    assert_close(np.reshape(np.asarray(trained.bias, dtype=float), -1), [0.5 - 0.03 * d.sum()],
                 f"{what}: смещение после одного шага")


@pytest.mark.task("2. train_neuron")
@pytest.mark.points(1)
def test_train_neuron_minibatches_in_order(submission):
    """train_neuron идёт по пакетам по порядку, последний пакет короче (100 = 30 + 30 + 30 + 10)."""
    X, y, _ = regression()
    w, b = np.random.default_rng(2).standard_normal((4, 1)), 0.5
    for _ in range(2):
        for i in range(0, len(X), 30):
            d = mse_grad(X[i:i + 30] @ w + b, y[i:i + 30])
            w, b = w - 0.02 * X[i:i + 30].T @ d, b - 0.02 * d.sum()
    neuron = submission.Neuron(np.random.default_rng(2).standard_normal((4, 1)), 0.5)
    trained = submission.train_neuron(neuron, X.copy(), y.copy(), batch_size=30, lr=0.02, epochs=2)
    what = "train_neuron(neuron, X, y, batch_size=30, lr=0.02, epochs=2)"
    check_returned(trained, what)
    assert_close(trained.weights, w, f"{what}: веса")
    assert_close(np.reshape(np.asarray(trained.bias, dtype=float), -1), [b], f"{what}: смещение")


@pytest.mark.task("2. train_neuron")
@pytest.mark.points(2)
def test_train_neuron_recovers_coef(submission):
    """train_neuron(batch_size=25, lr=0.03, epochs=100) находит coef и bias = 0.5 из make_regression."""
    X, y, coef = regression()
    neuron = submission.Neuron(np.random.default_rng(0).standard_normal((4, 1)), 0.5)
    trained = submission.train_neuron(neuron, X.copy(), y.copy(), batch_size=25, lr=0.03, epochs=100)
    what = "train_neuron(neuron, X, y, batch_size=25, lr=0.03, epochs=100)"
    check_returned(trained, what)
    assert_close(trained.weights, coef, f"{what}: веса должны совпасть с coef", rtol=0, atol=1e-3)
    assert_close(np.reshape(np.asarray(trained.bias, dtype=float), -1), [0.5],
                 f"{what}: смещение должно быть 0.5", rtol=0, atol=1e-3)


@pytest.mark.task("2. train_neuron")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_neuron_other_data(submission):
    """train_neuron сходится и на другой выборке с batch_size=10."""
    X, y, coef = regression(random_state=7)
    neuron = submission.Neuron(np.zeros((4, 1)), 0.0)
    trained = submission.train_neuron(neuron, X.copy(), y.copy(), batch_size=10, lr=0.01, epochs=100)
    what = "train_neuron на make_regression(random_state=7), batch_size=10, lr=0.01, epochs=100"
    check_returned(trained, what)
    assert_close(trained.weights, coef, f"{what}: веса", rtol=0, atol=1e-3)
    assert_close(np.reshape(np.asarray(trained.bias, dtype=float), -1), [0.5], f"{what}: смещение",
                 rtol=0, atol=1e-3)


# ---------------------------------------------------------------- задача 3: полносвязный слой

@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n=feature_counts, seed=seeds)
def test_layer_forward_shape(submission, x, n, seed):
    """Слой с весами (m, n) и смещением (n,) переводит пакет (k, m) в (k, n)."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((x.shape[1], n)), rng.standard_normal(n)
    out = submission.Neuron(w.copy(), b.copy()).forward(x.copy())
    assert_close(out, x @ w + b, f"Neuron.forward(x) для x формы {x.shape}, weights формы {w.shape}")


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n=feature_counts, seed=seeds)
def test_layer_dw(submission, x, n, seed):
    """Градиент слоя по весам (m, n) совпадает с численным."""
    rng = np.random.default_rng(seed)
    w, b, dout = rng.standard_normal((x.shape[1], n)), rng.standard_normal(n), rng.standard_normal((len(x), n))
    layer = submission.Neuron(w.copy(), b.copy())
    layer.backward(x.copy(), dout.copy())
    expected = numeric_gradient_attr(layer, "weights", lambda: layer.forward(x.copy()), dout)
    assert_close(layer.dw, expected, f"Neuron.dw для x формы {x.shape}, weights формы {w.shape}", **GRAD)


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n=feature_counts, seed=seeds)
def test_layer_db(submission, x, n, seed):
    """Градиент слоя по смещению (n,) — сумма dL/dy по пакету — совпадает с численным."""
    rng = np.random.default_rng(seed)
    w, b, dout = rng.standard_normal((x.shape[1], n)), rng.standard_normal(n), rng.standard_normal((len(x), n))
    layer = submission.Neuron(w.copy(), b.copy())
    layer.backward(x.copy(), dout.copy())
    expected = numeric_gradient_attr(layer, "bias", lambda: layer.forward(x.copy()), dout)
    assert_close(layer.db, expected, f"Neuron.db для x формы {x.shape}, bias формы {b.shape}", **GRAD)


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n=feature_counts, seed=seeds)
def test_layer_dx(submission, x, n, seed):
    """Градиент слоя по входу dX = dL/dy W^T совпадает с численным и возвращается из backward."""
    rng = np.random.default_rng(seed)
    w, b, dout = rng.standard_normal((x.shape[1], n)), rng.standard_normal(n), rng.standard_normal((len(x), n))
    layer = submission.Neuron(w.copy(), b.copy())
    returned = layer.backward(x.copy(), dout.copy())
    expected = numeric_gradient_array(lambda z: layer.forward(z), x, dout)
    what = f"для x формы {x.shape}, weights формы {w.shape}"
    assert_close(layer.dx, expected, f"Neuron.dx {what}", **GRAD)
    assert_close(returned, expected, f"значение, возвращаемое Neuron.backward (должно быть dx) {what}", **GRAD)


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, feature_counts), seed=seeds)
def test_mse_loss_backward_matrix(submission, y_pred, seed):
    """MSELoss для выхода (k, n) нормируется на все k*n элементов: dypred = 2/(kn) (y_pred - y_true)."""
    y_true = np.random.default_rng(seed).standard_normal(y_pred.shape)
    criterion = submission.MSELoss()
    assert_close(criterion.forward(y_pred.copy(), y_true.copy()), np.mean((y_pred - y_true) ** 2),
                 f"MSELoss().forward для формы {y_pred.shape}")
    criterion.backward(y_pred.copy(), y_true.copy())
    expected = numeric_gradient(lambda z: criterion.forward(z, y_true.copy()), y_pred)
    assert_close(criterion.dypred, expected, f"MSELoss: self.dypred для формы {y_pred.shape}", **GRAD)


SEMINAR_X = np.array([[0.33669037, 0.12880941], [0.23446237, 0.23033303], [-1.12285638, -0.18632829]])
SEMINAR_W = np.array([[2.20820141, -0.63799703, 0.46165723, 0.26735088],
                      [0.53490466, 0.80935723, 1.11029029, -1.68979895]])


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
def test_layer_seminar_example(submission):
    """Пример семинара (torch.manual_seed(42)): градиенты по weights и по X совпадают с напечатанными."""
    y = np.array([[0.0], [1.0], [0.0]])
    layer, criterion = submission.Neuron(SEMINAR_W.copy(), 0.5), submission.MSELoss()
    y_pred = layer.forward(SEMINAR_X.copy())
    criterion.backward(y_pred, y)
    layer.backward(SEMINAR_X.copy(), criterion.dypred)
    # printed in the seminar with 4 decimals: tolerance = half a unit of the last digit
    assert_close(layer.dw, [[0.4683, -0.1957, 0.0816, -0.1077], [0.0982, -0.0425, 0.0189, -0.0397]],
                 "Градиент по weights в примере семинара", rtol=0, atol=6e-5)
    assert_close(layer.dx, [[0.5196, 0.2124], [0.0538, 0.1577], [-0.8729, -0.2282]],
                 "Градиент по X в примере семинара", rtol=0, atol=6e-5)


# ---------------------------------------------------------------- задача 4: обучение слоя

@pytest.mark.task("4. train_layer")
@pytest.mark.points(2)
def test_train_layer_recovers_coef(submission):
    """train_layer(lr=0.1, epochs=200) пакетным спуском находит coef и bias = 0.5."""
    X, y, coef = regression()
    layer = submission.Neuron(np.random.default_rng(0).standard_normal((4, 1)), np.zeros(1))
    trained = submission.train_layer(layer, X.copy(), y.copy(), lr=0.1, epochs=200)
    what = "train_layer(layer, X, y, lr=0.1, epochs=200)"
    check_returned(trained, what)
    assert_close(trained.weights, coef, f"{what}: веса должны совпасть с coef", rtol=0, atol=1e-3)
    assert_close(trained.bias, [0.5], f"{what}: смещение должно быть [0.5]", rtol=0, atol=1e-3)


@pytest.mark.task("4. train_layer")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_layer_two_targets(submission):
    """train_layer обучает слой с двумя выходами (weights (4, 2), bias (2,))."""
    X, y, coef = regression(random_state=3, n_targets=2)
    layer = submission.Neuron(np.zeros((4, 2)), np.zeros(2))
    trained = submission.train_layer(layer, X.copy(), y.copy(), lr=0.2, epochs=300)
    what = "train_layer для make_regression(n_targets=2), lr=0.2, epochs=300"
    check_returned(trained, what)
    assert_close(trained.weights, coef, f"{what}: веса", rtol=0, atol=1e-3)
    assert_close(trained.bias, [0.5, 0.5], f"{what}: смещение", rtol=0, atol=1e-3)


# ---------------------------------------------------------------- задача 5: сеть без активации

@pytest.mark.task("5. NeuralNetwork")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, 1), seed=seeds)
def test_network_forward(submission, x, seed):
    """NeuralNetwork().forward: пакет (k, 1) -> (k, 1) = (X W1 + b1) W2 + b2."""
    nn = submission.NeuralNetwork()
    p = set_params(nn, np.random.default_rng(seed))
    expected = (x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    assert_close(nn.forward(x.copy()), expected, f"NeuralNetwork().forward(x) для x формы {x.shape}")


def check_network_layer(nn, layer_name, x, dout, relu):
    layer = getattr(nn, layer_name)
    for attr, grad in (("weights", "dw"), ("bias", "db")):
        expected = numeric_gradient_attr(layer, attr, lambda: nn.forward(x.copy()), dout)
        kind = "с ReLU" if relu else "без активации"
        assert_close(getattr(layer, grad), expected,
                     f"NeuralNetwork ({kind}): {layer_name}.{grad} после backward(x, dldy), x формы {x.shape}",
                     **GRAD)


@pytest.mark.task("5. NeuralNetwork")
@pytest.mark.points(2)
@given(x=arrays(batch_sizes, 1), seed=seeds)
def test_network_first_layer_gradients(submission, x, seed):
    """Градиенты всей сети по весам и смещению первого слоя совпадают с численными."""
    rng = np.random.default_rng(seed)
    nn = submission.NeuralNetwork()
    set_params(nn, rng)
    dout = rng.standard_normal((len(x), 1))
    nn.backward(x.copy(), dout.copy())
    check_network_layer(nn, "layer1", x, dout, relu=False)


@pytest.mark.task("5. NeuralNetwork")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, 1), seed=seeds)
def test_network_second_layer_gradients(submission, x, seed):
    """Второй слой в backward получает свой вход (выход первого слоя): его градиенты совпадают с численными."""
    rng = np.random.default_rng(seed)
    nn = submission.NeuralNetwork()
    set_params(nn, rng)
    dout = rng.standard_normal((len(x), 1))
    nn.backward(x.copy(), dout.copy())
    check_network_layer(nn, "layer2", x, dout, relu=False)


@pytest.mark.task("5. train_network")
@pytest.mark.points(2)
def test_train_network_records_epochs(submission):
    """train_network сохраняет прогнозы моделей после эпох 1, 2, 5 и 10 (пакетный спуск)."""
    X, y = parabola()
    nn = submission.NeuralNetwork()
    p = set_params(nn, np.random.default_rng(5))
    record = [1, 2, 5, 10]
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.03, epochs=10, record_epochs=record)
    what = "train_network(nn, X, y, lr=0.03, epochs=10, record_epochs=[1, 2, 5, 10])"
    assert len(preds) == len(record), (
        f"{what} вернула {len(preds)} прогнозов, а нужно {len(record)}: по одному на каждую эпоху из record_epochs")
    expected = reference_training(p, X, y, 0.03, 10, relu=False, record=record)
    for epoch, got, ref in zip(record, preds, expected):
        assert_close(got, ref, f"{what}: прогноз модели после эпохи {epoch}", rtol=1e-4, atol=1e-5)


@pytest.mark.task("5. train_network")
@pytest.mark.points(1)
def test_linear_network_stays_linear(submission):
    """Сеть без активации остаётся линейной: промежуточные и итоговый прогнозы — прямые."""
    X, y = parabola()
    nn = submission.NeuralNetwork()
    set_params(nn, np.random.default_rng(6))
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.03, epochs=300, record_epochs=[10, 100, 300])
    assert len(preds) == 3, f"train_network(..., record_epochs=[10, 100, 300]) вернула {len(preds)} прогнозов вместо 3"
    for epoch, pred in zip([10, 100, 300], preds):
        pred = assert_shape(pred, (100, 1), f"прогноз после эпохи {epoch}")
        A = np.hstack([X, np.ones_like(X)])
        line = A @ np.linalg.lstsq(A, pred, rcond=None)[0]
        assert_close(pred, line, f"прогноз сети без активации после эпохи {epoch} должен лежать на прямой",
                     rtol=0, atol=1e-5)


@pytest.mark.task("5. train_network")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_linear_network_fits_best_line(submission):
    """Сеть без активации за 1000 эпох приходит к прямой наименьших квадратов (MSE ≈ 0.097)."""
    X, y = parabola()
    nn = submission.NeuralNetwork()
    set_params(nn, np.random.default_rng(8))
    submission.train_network(nn, X.copy(), y.copy(), lr=0.03, epochs=1000, record_epochs=[])
    A = np.hstack([X, np.ones_like(X)])
    best = float(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2))
    mse = float(np.mean((assert_shape(nn.forward(X.copy()), (100, 1), "nn.forward(X)") - y) ** 2))
    assert mse <= best + 1e-3, (
        f"MSE сети без активации после 1000 эпох (lr=0.03) равна {mse:.4f}, а у лучшей прямой {best:.4f}: "
        "обучение не сходится (проверьте backward и шаг спуска)")


# ---------------------------------------------------------------- задача 6: сеть с ReLU

@pytest.mark.task("6. ReLU")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts))
def test_relu_forward(submission, x):
    """ReLU.forward = max(x, 0) поэлементно, форма сохраняется."""
    assert_close(submission.ReLU().forward(x.copy()), np.maximum(x, 0), f"ReLU().forward(x) для x формы {x.shape}")


@pytest.mark.task("6. ReLU")
@pytest.mark.points(1)
@given(x=well_conditioned(batch_sizes, feature_counts), seed=seeds)
def test_relu_backward(submission, x, seed):
    """ReLU.backward: производная определяется знаком входа ReLU, а не знаком градиента."""
    dout = np.random.default_rng(seed).standard_normal(x.shape)
    relu = submission.ReLU()
    returned = relu.backward(x.copy(), dout.copy())
    expected = numeric_gradient_array(lambda z: relu.forward(z), x, dout)
    assert_close(returned, expected, f"ReLU().backward(x, dldy) для x формы {x.shape}", **GRAD,
                 inputs={"x": x, "dldy": dout})


@pytest.mark.task("6. NeuralNetwork с ReLU")
@pytest.mark.points(2)
@given(x=well_conditioned(batch_sizes, 1), seed=seeds)
def test_relu_network_gradients(submission, x, seed):
    """Сеть с ReLU: градиенты обоих слоёв совпадают с численными (в т.ч. по первому слою через ReLU)."""
    rng = np.random.default_rng(seed)
    nn = submission.NeuralNetwork(activation=submission.ReLU())
    # zero hidden biases and |x|, |w1| >= 0.1 keep every pre-activation >= 0.01 away from ReLU's kink
    set_params(nn, rng, bias1=np.zeros(10))
    w1 = rng.standard_normal((1, 10))
    nn.layer1.weights = np.where(w1 >= 0, w1 + 0.1, w1 - 0.1)
    dout = rng.standard_normal((len(x), 1))
    nn.backward(x.copy(), dout.copy())
    check_network_layer(nn, "layer1", x, dout, relu=True)
    check_network_layer(nn, "layer2", x, dout, relu=True)


@pytest.mark.task("6. NeuralNetwork с ReLU")
@pytest.mark.points(2)
def test_relu_network_fits_parabola(submission):
    """Сеть с ReLU приближает параболу: MSE < 0.01 (у лучшей прямой 0.097)."""
    X, y = parabola()
    nn = submission.NeuralNetwork(activation=submission.ReLU())
    set_params(nn, np.random.default_rng(0))
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.05, epochs=3000, record_epochs=[100, 1000])
    assert len(preds) == 2, f"train_network(..., record_epochs=[100, 1000]) вернула {len(preds)} прогнозов вместо 2"
    mse = float(np.mean((assert_shape(nn.forward(X.copy()), (100, 1), "nn.forward(X)") - y) ** 2))
    assert mse < 0.01, (
        f"MSE сети с ReLU после 3000 эпох (lr=0.05) равна {mse:.4f}, нужно меньше 0.01 "
        "(шум данных даёт около 0.003, лучшая прямая 0.097)")
