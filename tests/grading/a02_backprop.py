"""Рубрика a02_backprop: «Обратное распространение ошибки» (семинар 001).

Эталонные значения: пример разбора (x = [2, 3], y = 5, w = [3.5, 4.5], b = 0.5) и пример задачи 3
из семинара (torch.manual_seed(42), его градиенты воспроизводятся до 4 знаков). Регрессия
make_regression(..., bias=0.5, random_state=42) без шума: минимум MSE достигается ровно в coef
и 0.5, поэтому обученные веса сравниваются с ними (допуск 1e-3: правильный код во float64
сходится до ~1e-6, во float32 до ~5e-5; ошибки семинара дают отклонения ~0.4).

Пример семинара в тесте всегда дополнен входами, которых студент не знает (генератор с сидом или
Hypothesis): ответы семинара, вписанные в код, баллов не дают.  Градиенты сравниваются с
численными только вместе с проверкой forward.  Обучение проверяется по модели, которую функция
вернула: первый шаг из заданной тестом начальной модели (численный градиент функции потерь),
итоговые параметры (их формы и прогноз, посчитанный тестом, на точках, которых не было в
обучении).  Эталонные реализации обучения помечены ``@reference``: их используют только скрытые
тесты, в комплект студента они не попадают.
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
    assert_gradient,
    numeric_gradient,
    reference,
    seeds,
    well_conditioned,
)

ASSIGNMENT = {"title": "Обратное распространение ошибки", "cell_timeout": 60, "test_timeout": 60}


def regression(random_state=42, n_targets=1, n_samples=100):
    """make_regression without noise, bias 0.5: X (n_samples, 4), y (n_samples, n_targets), coef (4, n_targets)."""
    X, y, coef = make_regression(n_samples=n_samples, n_features=4, n_informative=4, n_targets=n_targets,
                                 coef=True, bias=0.5, random_state=random_state)
    return X, y.reshape(len(X), n_targets), np.reshape(coef, (4, n_targets))


def parabola():
    X = np.linspace(-1, 1, 100).reshape(-1, 1)
    return X, X ** 2 + 0.2 * np.random.default_rng(42).random(X.shape)


def check_returned(trained, what):
    assert trained is not None, f"{what} вернула None: функция должна вернуть обученную модель (return ...)"


@reference
def mse_grad(y_pred, y):
    return 2 / y_pred.size * (y_pred - y)


def check_forward(out, expected, what, **inputs):
    """forward is right: only then is a numeric gradient of it a meaningful reference."""
    assert_close(out, expected, f"{what} (forward проверяется вместе с backward)", inputs=inputs or None)


def gd_step(loss, theta, lr):
    """theta - lr * dloss/dtheta, the gradient by central differences.  theta: 1-d array."""
    return theta - lr * numeric_gradient(loss, theta)


def layer_loss(X, y, shape):
    """MSE of the layer X @ W + b as a function of theta = (W.ravel(), b.ravel()); W has ``shape``."""
    m, n = shape

    def loss(theta):
        return np.mean((X @ theta[:m * n].reshape(m, n) + theta[m * n:] - y) ** 2)

    return loss


def check_one_step(submission, train, X, y, w0, b0, lr, what):
    """train(neuron) run for one epoch on the whole batch from (w0, b0) makes one gradient step."""
    w0 = np.asarray(w0, dtype=float)
    bias_shape = np.shape(b0)
    trained = train(submission.Neuron(w0.copy(), np.copy(b0) if bias_shape else b0))
    check_returned(trained, what)
    theta1 = gd_step(layer_loss(X, y, w0.shape), np.append(w0.ravel(), b0), lr)
    n = w0.size
    assert_close(assert_shape(trained.weights, w0.shape, f"{what}: weights"), theta1[:n].reshape(w0.shape),
                 f"{what}: веса после одного шага из начальных")
    bias = np.reshape(np.asarray(trained.bias, dtype=float), -1)
    assert_close(assert_shape(bias, (theta1.size - n,), f"{what}: bias"), theta1[n:],
                 f"{what}: смещение после одного шага из начального")


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


@reference
def reference_training(p, X, y, lr, epochs, relu, record):
    """Full-batch gradient descent of the 1-10-1 network, float64 (the test's own reference).

    Returns the predictions on X after the epochs in ``record`` and the final parameters (31,)."""
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
    return out, np.concatenate([w1.ravel(), b1, w2.ravel(), b2])


@reference
def reference_minibatches(w, b, X, y, batch_size, lr, epochs):
    """Mini-batch gradient descent of one neuron, batches in order (the test's own reference)."""
    for _ in range(epochs):
        for i in range(0, len(X), batch_size):
            d = mse_grad(X[i:i + batch_size] @ w + b, y[i:i + batch_size])
            w, b = w - lr * X[i:i + batch_size].T @ d, b - lr * d.sum()
    return w, b


def network_out(theta, x, relu):
    """The 1-10-1 network with parameters theta (31,) = (w1 (1, 10), b1 (10,), w2 (10, 1), b2 (1,)): x (k, 1) -> (k, 1)."""
    h = x @ theta[:10].reshape(1, 10) + theta[10:20]
    return (np.maximum(h, 0) if relu else h) @ theta[20:30].reshape(10, 1) + theta[30:]


def flat(p):
    return np.concatenate([p["w1"].ravel(), p["b1"], p["w2"].ravel(), p["b2"]])


def network_params(nn, what):
    """What train_network left in nn: the parameters (31,), shapes checked (a bias is one row, not one per example)."""
    parts = [("layer1", "weights", (1, 10)), ("layer1", "bias", (10,)), ("layer2", "weights", (10, 1)),
             ("layer2", "bias", (1,))]
    return np.concatenate([assert_shape(getattr(getattr(nn, layer), name), shape, f"{what}: nn.{layer}.{name}").ravel()
                           for layer, name, shape in parts])


def check_first_epoch(pred, theta0, X, y, lr, relu, what):
    """The prediction recorded after epoch 1 is that of one gradient step from the initial parameters."""
    theta1 = gd_step(lambda th: np.mean((network_out(th, X, relu) - y) ** 2), theta0, lr)
    assert_close(assert_shape(pred, (len(X), 1), f"{what}: прогноз после эпохи 1"), network_out(theta1, X, relu),
                 f"{what}: прогноз после эпохи 1 должен быть прогнозом после одного шага спуска из начальной сети",
                 rtol=1e-4, atol=1e-6)


def check_final_state(nn, last_pred, X, relu, what):
    """nn after train_network returns is the network whose prediction was recorded last (no extra epochs)."""
    theta = network_params(nn, f"{what}: сеть после обучения")
    assert_close(network_out(theta, X, relu), assert_shape(last_pred, (len(X), 1), f"{what}: последний прогноз"),
                 f"{what}: сеть после возврата из функции должна быть той, чей прогноз сохранён после последней "
                 "эпохи (лишних шагов быть не должно)", rtol=1e-6, atol=1e-9)
    return theta


# ---------------------------------------------------------------- разбор: один пример

@pytest.mark.task("0. Разбор: Loss")
@pytest.mark.points(1)
def test_loss_squared_error(submission):
    """Loss: (y_pred - y_true)^2 и производная 2 (y_pred - y_true) на примере разбора."""
    criterion = submission.Loss()
    assert_close(criterion.forward(21.0, 5.0), 256.0, "Loss().forward(21.0, 5.0)")
    criterion.backward(21.0, 5.0)
    assert_close(criterion.dypred, 32.0, "Loss: self.dypred после backward(21.0, 5.0)")
    y_pred, y_true = np.random.default_rng(201).standard_normal((2, 5))
    check_forward(criterion.forward(y_pred.copy(), y_true.copy()), (y_true - y_pred) ** 2,
                  "Loss().forward(y_pred, y_true) для массивов (поэлементно)", y_pred=y_pred, y_true=y_true)
    criterion.backward(y_pred.copy(), y_true)
    expected = numeric_gradient(criterion.forward, y_pred, y_true, dout=np.ones(5))
    assert_gradient(criterion.dypred, expected, "Loss: self.dypred для массивов (поэлементно)",
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
    rng = np.random.default_rng(202)
    for m in (1, 3, 5):
        x, w, b, g = rng.standard_normal(m), rng.standard_normal(m), float(rng.standard_normal()), float(rng.standard_normal())
        neuron = submission.Neuron(w.copy(), b)
        what = f"Neuron(weights формы ({m},), bias)"
        assert_close(neuron.forward(x.copy()), x @ w + b, f"{what}.forward(x) для одного примера x формы ({m},)",
                     inputs={"x": x, "weights": w, "bias": b})
        neuron.backward(x.copy(), g)
        inputs = {"x": x, "dldy": g}
        assert_gradient(neuron.dw, numeric_gradient(lambda v: g * (x @ v + b), w), f"{what}: dw после backward(x, dldy)",
                        inputs=inputs)
        assert_gradient(neuron.db, numeric_gradient(lambda c: g * (x @ w + c), b), f"{what}: db после backward(x, dldy)",
                        inputs=inputs)


@pytest.mark.task("0. Разбор: sgd_step")
@pytest.mark.points(1)
def test_sgd_step(submission):
    """sgd_step уменьшает weights и bias на lr * градиент."""
    neuron = submission.Neuron(np.array([3.5, 4.5]), 0.5)
    neuron.backward(np.array([2.0, 3.0]), 32.0)
    submission.sgd_step(neuron, 0.01)
    assert_close(neuron.weights, [2.86, 3.54], "weights после sgd_step(neuron, lr=0.01)")
    assert_close(neuron.bias, 0.18, "bias после sgd_step(neuron, lr=0.01)")
    rng = np.random.default_rng(203)
    w, dw, b, db = rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), rng.standard_normal(2), rng.standard_normal(2)
    neuron = submission.Neuron(w.copy(), b.copy())
    neuron.dw, neuron.db = dw.copy(), db.copy()
    submission.sgd_step(neuron, 0.3)
    what = "sgd_step(neuron, lr=0.3) для weights формы (4, 2), bias формы (2,) и заданных dw, db"
    assert_close(neuron.weights, w - 0.3 * dw, f"{what}: weights", inputs={"weights": w, "dw": dw})
    assert_close(neuron.bias, b - 0.3 * db, f"{what}: bias", inputs={"bias": b, "db": db})


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
    check_forward(neuron.forward(x.copy()), x @ w + b, f"Neuron.forward(x) для x формы {x.shape}")
    neuron.backward(x.copy(), dout.copy())
    expected = numeric_gradient(neuron.forward, x, wrt=(neuron, "weights"), dout=dout)
    assert_gradient(neuron.dw, expected, f"Neuron.dw для x формы {x.shape}")


@pytest.mark.task("1. Neuron на пакете")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), seed=seeds)
def test_neuron_batch_db(submission, x, seed):
    """Neuron.backward на пакете: db (смещение — число) просуммирован по всем примерам пакета."""
    rng = np.random.default_rng(seed)
    w, dout = rng.standard_normal((x.shape[1], 1)), rng.standard_normal((len(x), 1))
    neuron = submission.Neuron(w.copy(), 0.5)
    check_forward(neuron.forward(x.copy()), x @ w + 0.5, f"Neuron.forward(x) для x формы {x.shape}")
    neuron.backward(x.copy(), dout.copy())
    expected = numeric_gradient(neuron.forward, x, wrt=(neuron, "bias"), dout=dout)
    db = assert_shape(np.reshape(np.asarray(neuron.db, dtype=float), -1), (1,),
                      "Neuron.db (смещение — одно число, градиент надо просуммировать по пакету)")
    assert_gradient(db, np.reshape(expected, -1), f"Neuron.db для x формы {x.shape}")


@pytest.mark.task("1. MSELoss")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, 1), seed=seeds)
def test_mse_loss_forward(submission, y_pred, seed):
    """MSELoss.forward: среднее (y_pred - y_true)^2 по пакету (k, 1)."""
    y_true = np.random.default_rng(seed).standard_normal(y_pred.shape)
    assert_close(submission.MSELoss().forward(y_pred.copy(), y_true.copy()), np.mean((y_true - y_pred) ** 2),
                 f"MSELoss().forward(y_pred, y_true) для формы {y_pred.shape}")


@pytest.mark.task("1. MSELoss")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, 1), seed=seeds)
def test_mse_loss_backward(submission, y_pred, seed):
    """MSELoss.backward: dypred = 2/k (y_pred - y_true) совпадает с численным градиентом."""
    y_true = np.random.default_rng(seed).standard_normal(y_pred.shape)
    criterion = submission.MSELoss()
    check_forward(criterion.forward(y_pred.copy(), y_true.copy()), np.mean((y_true - y_pred) ** 2),
                  f"MSELoss().forward(y_pred, y_true) для формы {y_pred.shape}")
    criterion.backward(y_pred.copy(), y_true.copy())
    expected = numeric_gradient(criterion.forward, y_pred, y_true)
    assert_gradient(criterion.dypred, expected, f"MSELoss: self.dypred для формы {y_pred.shape}")


# ---------------------------------------------------------------- задача 2: мини-пакетный спуск

@pytest.mark.task("2. train_neuron")
@pytest.mark.points(1)
def test_train_neuron_one_full_batch_step(submission):
    """train_neuron с batch_size = N и epochs = 1 делает один шаг градиентного спуска из начального нейрона."""
    rng = np.random.default_rng(204)
    X = rng.standard_normal((37, 3))
    y = X @ rng.standard_normal((3, 1)) + 0.5 + 0.1 * rng.standard_normal((37, 1))
    what = "train_neuron(neuron, X, y, batch_size=37, lr=0.03, epochs=1) для X формы (37, 3)"
    check_one_step(submission, lambda n: submission.train_neuron(n, X.copy(), y.copy(), batch_size=37, lr=0.03, epochs=1),
                   X, y, rng.standard_normal((3, 1)), 0.5, 0.03, what)


@pytest.mark.task("2. train_neuron")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_neuron_minibatches_in_order(submission):
    """train_neuron идёт по пакетам по порядку, последний пакет короче (23 = 5 + 5 + 5 + 5 + 3)."""
    rng = np.random.default_rng(205)
    X = rng.standard_normal((23, 3))
    y = X @ rng.standard_normal((3, 1)) + 0.5 + 0.1 * rng.standard_normal((23, 1))
    w0 = rng.standard_normal((3, 1))
    w, b = reference_minibatches(w0, 0.5, X, y, batch_size=5, lr=0.02, epochs=2)
    trained = submission.train_neuron(submission.Neuron(w0.copy(), 0.5), X.copy(), y.copy(), batch_size=5, lr=0.02,
                                      epochs=2)
    what = "train_neuron(neuron, X, y, batch_size=5, lr=0.02, epochs=2) для X формы (23, 3)"
    check_returned(trained, what)
    assert_close(trained.weights, w, f"{what}: веса")
    assert_close(np.reshape(np.asarray(trained.bias, dtype=float), -1), [b], f"{what}: смещение")


@pytest.mark.task("2. train_neuron")
@pytest.mark.points(2)
def test_train_neuron_recovers_coef(submission):
    """train_neuron: шаг из начального нейрона; batch_size=25, lr=0.03, epochs=100 находят coef и bias = 0.5 (N = 101)."""
    X, y, coef = regression(random_state=5, n_samples=101)
    w0 = np.random.default_rng(0).standard_normal((4, 1))
    check_one_step(submission, lambda n: submission.train_neuron(n, X.copy(), y.copy(), batch_size=101, lr=0.03,
                                                                 epochs=1),
                   X, y, w0, 0.5, 0.03, "train_neuron(neuron, X, y, batch_size=101, lr=0.03, epochs=1)")
    trained = submission.train_neuron(submission.Neuron(w0.copy(), 0.5), X.copy(), y.copy(), batch_size=25, lr=0.03,
                                      epochs=100)
    what = "train_neuron(neuron, X, y, batch_size=25, lr=0.03, epochs=100) для X формы (101, 4)"
    check_returned(trained, what)
    assert_close(trained.weights, coef, f"{what}: веса должны совпасть с coef", rtol=0, atol=1e-3)
    assert_close(np.reshape(np.asarray(trained.bias, dtype=float), -1), [0.5],
                 f"{what}: смещение должно быть 0.5", rtol=0, atol=1e-3)


@pytest.mark.task("2. train_neuron")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_neuron_other_data(submission):
    """train_neuron сходится и на другой выборке с batch_size=10."""
    X, y, coef = regression(random_state=7, n_samples=97)
    check_one_step(submission, lambda n: submission.train_neuron(n, X.copy(), y.copy(), batch_size=97, lr=0.01,
                                                                 epochs=1),
                   X, y, np.zeros((4, 1)), 0.0, 0.01, "train_neuron(neuron, X, y, batch_size=97, lr=0.01, epochs=1)")
    neuron = submission.Neuron(np.zeros((4, 1)), 0.0)
    trained = submission.train_neuron(neuron, X.copy(), y.copy(), batch_size=10, lr=0.01, epochs=100)
    what = "train_neuron на make_regression(random_state=7, n_samples=97), batch_size=10, lr=0.01, epochs=100"
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
    check_forward(layer.forward(x.copy()), x @ w + b, f"Neuron.forward(x) для x формы {x.shape}, weights формы {w.shape}")
    layer.backward(x.copy(), dout.copy())
    expected = numeric_gradient(layer.forward, x, wrt=(layer, "weights"), dout=dout)
    assert_gradient(layer.dw, expected, f"Neuron.dw для x формы {x.shape}, weights формы {w.shape}")


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n=feature_counts, seed=seeds)
def test_layer_db(submission, x, n, seed):
    """Градиент слоя по смещению (n,) — сумма dL/dy по пакету — совпадает с численным."""
    rng = np.random.default_rng(seed)
    w, b, dout = rng.standard_normal((x.shape[1], n)), rng.standard_normal(n), rng.standard_normal((len(x), n))
    layer = submission.Neuron(w.copy(), b.copy())
    check_forward(layer.forward(x.copy()), x @ w + b, f"Neuron.forward(x) для x формы {x.shape}, weights формы {w.shape}")
    layer.backward(x.copy(), dout.copy())
    expected = numeric_gradient(layer.forward, x, wrt=(layer, "bias"), dout=dout)
    assert_gradient(layer.db, expected, f"Neuron.db для x формы {x.shape}, bias формы {b.shape}")


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(x=arrays(batch_sizes, feature_counts), n=feature_counts, seed=seeds)
def test_layer_dx(submission, x, n, seed):
    """Градиент слоя по входу dX = dL/dy W^T совпадает с численным и возвращается из backward."""
    rng = np.random.default_rng(seed)
    w, b, dout = rng.standard_normal((x.shape[1], n)), rng.standard_normal(n), rng.standard_normal((len(x), n))
    layer = submission.Neuron(w.copy(), b.copy())
    check_forward(layer.forward(x.copy()), x @ w + b, f"Neuron.forward(x) для x формы {x.shape}, weights формы {w.shape}")
    returned = layer.backward(x.copy(), dout.copy())
    expected = numeric_gradient(layer.forward, x, dout=dout)
    what = f"для x формы {x.shape}, weights формы {w.shape}"
    assert_gradient(layer.dx, expected, f"Neuron.dx {what}")
    assert_gradient(returned, expected, f"значение, возвращаемое Neuron.backward (должно быть dx) {what}")


@pytest.mark.task("3. Полносвязный слой")
@pytest.mark.points(1)
@given(y_pred=arrays(batch_sizes, feature_counts), seed=seeds)
def test_mse_loss_backward_matrix(submission, y_pred, seed):
    """MSELoss для выхода (k, n) нормируется на все k*n элементов: dypred = 2/(kn) (y_pred - y_true)."""
    y_true = np.random.default_rng(seed).standard_normal(y_pred.shape)
    criterion = submission.MSELoss()
    assert_close(criterion.forward(y_pred.copy(), y_true.copy()), np.mean((y_true - y_pred) ** 2),
                 f"MSELoss().forward для формы {y_pred.shape}")
    criterion.backward(y_pred.copy(), y_true.copy())
    expected = numeric_gradient(criterion.forward, y_pred, y_true)
    assert_gradient(criterion.dypred, expected, f"MSELoss: self.dypred для формы {y_pred.shape}")


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
    criterion.backward(y_pred, y.copy())
    layer.backward(SEMINAR_X.copy(), criterion.dypred)
    # printed in the seminar with 4 decimals: tolerance = half a unit of the last digit
    assert_close(layer.dw, [[0.4683, -0.1957, 0.0816, -0.1077], [0.0982, -0.0425, 0.0189, -0.0397]],
                 "Градиент по weights в примере семинара", rtol=0, atol=6e-5)
    assert_close(layer.dx, [[0.5196, 0.2124], [0.0538, 0.1577], [-0.8729, -0.2282]],
                 "Градиент по X в примере семинара", rtol=0, atol=6e-5)
    rng = np.random.default_rng(206)
    x, w, y = rng.standard_normal((3, 2)), rng.standard_normal((2, 4)), rng.standard_normal((3, 1))
    layer, criterion = submission.Neuron(w.copy(), 0.5), submission.MSELoss()
    y_pred = layer.forward(x.copy())
    criterion.backward(y_pred, y.copy())
    layer.backward(x.copy(), criterion.dypred)
    loss = lambda x_, w_: np.mean((x_ @ w_ + 0.5 - y) ** 2)  # noqa: E731
    assert_gradient(layer.dw, numeric_gradient(loss, x, w, wrt=1), "Градиент по weights для других x, weights, y "
                    "тех же форм", inputs={"x": x, "weights": w, "y": y})
    assert_gradient(layer.dx, numeric_gradient(loss, x, w), "Градиент по X для других x, weights, y "
                    "тех же форм", inputs={"x": x, "weights": w, "y": y})


# ---------------------------------------------------------------- задача 4: обучение слоя

@pytest.mark.task("4. train_layer")
@pytest.mark.points(2)
def test_train_layer_recovers_coef(submission):
    """train_layer: шаг из начального слоя; lr=0.1, epochs=200 пакетным спуском находят coef и bias = 0.5."""
    X, y, coef = regression(random_state=9, n_samples=101)
    w0 = np.random.default_rng(0).standard_normal((4, 1))
    check_one_step(submission, lambda n: submission.train_layer(n, X.copy(), y.copy(), lr=0.1, epochs=1),
                   X, y, w0, np.zeros(1), 0.1, "train_layer(layer, X, y, lr=0.1, epochs=1)")
    layer = submission.Neuron(w0.copy(), np.zeros(1))
    trained = submission.train_layer(layer, X.copy(), y.copy(), lr=0.1, epochs=200)
    what = "train_layer(layer, X, y, lr=0.1, epochs=200) для X формы (101, 4)"
    check_returned(trained, what)
    assert_close(trained.weights, coef, f"{what}: веса должны совпасть с coef", rtol=0, atol=1e-3)
    assert_close(trained.bias, [0.5], f"{what}: смещение должно быть [0.5]", rtol=0, atol=1e-3)


@pytest.mark.task("4. train_layer")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_layer_two_targets(submission):
    """train_layer обучает слой с двумя выходами (weights (4, 2), bias (2,))."""
    X, y, coef = regression(random_state=3, n_targets=2)
    check_one_step(submission, lambda n: submission.train_layer(n, X.copy(), y.copy(), lr=0.2, epochs=1),
                   X, y, np.zeros((4, 2)), np.zeros(2), 0.2, "train_layer(layer, X, y, lr=0.2, epochs=1), два выхода")
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
    for layer, attr, shape in (("layer1", "weights", (1, 10)), ("layer1", "bias", (10,)),
                               ("layer2", "weights", (10, 1)), ("layer2", "bias", (1,))):
        assert_shape(getattr(getattr(nn, layer), attr), shape, f"NeuralNetwork().{layer}.{attr} (форма из условия задачи 5)")
    p = set_params(nn, np.random.default_rng(seed))
    expected = (x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    assert_close(nn.forward(x.copy()), expected, f"NeuralNetwork().forward(x) для x формы {x.shape}")


def check_network_layer(nn, layer_name, x, dout, relu):
    layer = getattr(nn, layer_name)
    for attr, grad in (("weights", "dw"), ("bias", "db")):
        expected = numeric_gradient(nn.forward, x, wrt=(layer, attr), dout=dout)
        kind = "с ReLU" if relu else "без активации"
        assert_gradient(getattr(layer, grad), expected,
                        f"NeuralNetwork ({kind}): {layer_name}.{grad} после backward(x, dldy), x формы {x.shape}")


@pytest.mark.task("5. NeuralNetwork")
@pytest.mark.points(2)
@given(x=arrays(batch_sizes, 1), seed=seeds)
def test_network_first_layer_gradients(submission, x, seed):
    """Градиенты всей сети по весам и смещению первого слоя совпадают с численными."""
    rng = np.random.default_rng(seed)
    nn = submission.NeuralNetwork()
    p = set_params(nn, rng)
    check_forward(nn.forward(x.copy()), network_out(flat(p), x, relu=False), f"NeuralNetwork().forward(x) для x формы {x.shape}")
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
    p = set_params(nn, rng)
    check_forward(nn.forward(x.copy()), network_out(flat(p), x, relu=False), f"NeuralNetwork().forward(x) для x формы {x.shape}")
    dout = rng.standard_normal((len(x), 1))
    nn.backward(x.copy(), dout.copy())
    check_network_layer(nn, "layer2", x, dout, relu=False)


@pytest.mark.task("5. train_network")
@pytest.mark.points(1)
def test_train_network_records_epochs(submission):
    """train_network сохраняет прогнозы после эпох 1, 2, 5 и 10: первый -- после одного шага из начальной сети, последний -- прогноз сети, которую функция оставила."""
    X, y = parabola()
    nn = submission.NeuralNetwork()
    p = set_params(nn, np.random.default_rng(5))
    record = [1, 2, 5, 10]
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.03, epochs=10, record_epochs=record)
    what = "train_network(nn, X, y, lr=0.03, epochs=10, record_epochs=[1, 2, 5, 10])"
    assert len(preds) == len(record), (
        f"{what} вернула {len(preds)} прогнозов, а нужно {len(record)}: по одному на каждую эпоху из record_epochs")
    check_first_epoch(preds[0], flat(p), X, y, 0.03, relu=False, what=what)
    check_final_state(nn, preds[-1], X, relu=False, what=what)


@pytest.mark.task("5. train_network")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_train_network_trajectory(submission):
    """train_network: прогнозы после каждой эпохи из record_epochs и итоговая сеть совпадают с пакетным спуском."""
    X = np.random.default_rng(7).uniform(-1, 1, (41, 1))
    y = np.sin(2 * X) + 0.1 * np.random.default_rng(8).standard_normal(X.shape)
    nn = submission.NeuralNetwork()
    p = set_params(nn, np.random.default_rng(9))
    record = [3, 4, 7]
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.04, epochs=7, record_epochs=record)
    what = "train_network(nn, X, y, lr=0.04, epochs=7, record_epochs=[3, 4, 7]) для X формы (41, 1)"
    assert len(preds) == len(record), f"{what} вернула {len(preds)} прогнозов вместо {len(record)}"
    expected, theta = reference_training(p, X, y, 0.04, 7, relu=False, record=record)
    for epoch, got, ref in zip(record, preds, expected):
        assert_close(got, ref, f"{what}: прогноз модели после эпохи {epoch}", rtol=1e-4, atol=1e-5)
    assert_close(network_params(nn, what), theta, f"{what}: параметры сети после обучения", rtol=1e-4, atol=1e-6)


@pytest.mark.task("5. train_network")
@pytest.mark.points(1)
def test_linear_network_stays_linear(submission):
    """Сеть без активации остаётся линейной: промежуточные и итоговый прогнозы — прямые, потеря убывает."""
    X, y = parabola()
    nn = submission.NeuralNetwork()
    set_params(nn, np.random.default_rng(6))
    record = [10, 100, 300]
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.03, epochs=300, record_epochs=record)
    what = "train_network(nn, X, y, lr=0.03, epochs=300, record_epochs=[10, 100, 300])"
    assert len(preds) == 3, f"{what} вернула {len(preds)} прогнозов вместо 3"
    A = np.hstack([X, np.ones_like(X)])
    losses = []
    for epoch, pred in zip(record, preds):
        pred = assert_shape(pred, (100, 1), f"прогноз после эпохи {epoch}")
        line = A @ np.linalg.lstsq(A, pred, rcond=None)[0]
        assert_close(pred, line, f"прогноз сети без активации после эпохи {epoch} должен лежать на прямой",
                     rtol=0, atol=1e-5)
        losses.append(float(np.mean((pred - y) ** 2)))
    assert losses[0] > losses[1] >= losses[2] - 1e-12, (
        f"{what}: MSE прогнозов после эпох 10, 100, 300 равны {losses}: при обучении потеря должна убывать")
    check_final_state(nn, preds[-1], X, relu=False, what=what)


@pytest.mark.task("5. train_network")
@pytest.mark.hidden
@pytest.mark.points(1)
def test_linear_network_fits_best_line(submission):
    """Сеть без активации за 1000 эпох приходит к прямой наименьших квадратов (и на точках, которых не было в обучении)."""
    X, y = parabola()
    nn = submission.NeuralNetwork()
    p = set_params(nn, np.random.default_rng(8))
    submission.train_network(nn, X.copy(), y.copy(), lr=0.03, epochs=1000, record_epochs=[])
    what = "train_network(nn, X, y, lr=0.03, epochs=1000, record_epochs=[])"
    theta = network_params(nn, what)
    grid = np.linspace(-0.99, 0.99, 37).reshape(-1, 1)
    A = np.hstack([X, np.ones_like(X)])
    line = np.hstack([grid, np.ones_like(grid)]) @ np.linalg.lstsq(A, y, rcond=None)[0]
    deviation = float(np.max(np.abs(network_out(theta, grid, relu=False) - line)))
    assert deviation < 0.02, (
        f"{what}: на новых точках сеть отклоняется от прямой наименьших квадратов на {deviation:.4f}: "
        "обучение не сходится (проверьте backward и шаг спуска)")
    _, expected = reference_training(p, X, y, 0.03, 1000, relu=False, record=[])
    assert_close(theta, expected, f"{what}: параметры сети после 1000 шагов спуска из начальных", rtol=1e-3, atol=1e-4)


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
    check_forward(relu.forward(x.copy()), np.where(x > 0, x, 0.0), f"ReLU().forward(x) для x формы {x.shape}")
    returned = relu.backward(x.copy(), dout.copy())
    expected = numeric_gradient(relu.forward, x, dout=dout)
    assert_gradient(returned, expected, f"ReLU().backward(x, dldy) для x формы {x.shape}",
                    inputs={"x": x, "dldy": dout})
    zeros = np.array([[-1.0, 0.0, 2.0], [0.0, 3.0, -0.5]])  # ReLU'(0) = 0, as the task defines it
    assert_close(submission.ReLU().backward(zeros.copy(), np.ones_like(zeros)), (zeros > 0).astype(float),
                 "ReLU().backward(x, dldy) при x = 0: производная ReLU в нуле равна 0 (z <= 0)",
                 inputs={"x": zeros, "dldy": np.ones_like(zeros)})


@pytest.mark.task("6. NeuralNetwork с ReLU")
@pytest.mark.points(2)
@given(x=well_conditioned(batch_sizes, 1), seed=seeds)
def test_relu_network_gradients(submission, x, seed):
    """Сеть с ReLU: градиенты обоих слоёв совпадают с численными (в т.ч. по первому слою через ReLU)."""
    rng = np.random.default_rng(seed)
    nn = submission.NeuralNetwork(activation=submission.ReLU())
    # zero hidden biases and |x|, |w1| >= 0.1 keep every pre-activation >= 0.01 away from ReLU's kink
    p = set_params(nn, rng, bias1=np.zeros(10))
    w1 = rng.standard_normal((1, 10))
    p["w1"] = np.where(w1 >= 0, w1 + 0.1, w1 - 0.1)
    nn.layer1.weights = p["w1"].copy()
    check_forward(nn.forward(x.copy()), network_out(flat(p), x, relu=True),
                  f"NeuralNetwork(activation=ReLU()).forward(x) для x формы {x.shape}")
    dout = rng.standard_normal((len(x), 1))
    nn.backward(x.copy(), dout.copy())
    check_network_layer(nn, "layer1", x, dout, relu=True)
    check_network_layer(nn, "layer2", x, dout, relu=True)


@pytest.mark.task("6. NeuralNetwork с ReLU")
@pytest.mark.points(2)
def test_relu_network_fits_parabola(submission):
    """Сеть с ReLU из начальной сети приближает параболу: MSE < 0.01 на новых точках (у лучшей прямой около 0.09)."""
    X, y = parabola()
    nn = submission.NeuralNetwork(activation=submission.ReLU())
    p = set_params(nn, np.random.default_rng(0))
    what = "train_network(nn, X, y, lr=0.05, epochs=3000, record_epochs=[1, 3000]) для сети с ReLU"
    preds = submission.train_network(nn, X.copy(), y.copy(), lr=0.05, epochs=3000, record_epochs=[1, 3000])
    assert len(preds) == 2, f"{what} вернула {len(preds)} прогнозов вместо 2"
    check_first_epoch(preds[0], flat(p), X, y, 0.05, relu=True, what=what)
    theta = check_final_state(nn, preds[-1], X, relu=True, what=what)
    grid = np.linspace(-0.99, 0.99, 37).reshape(-1, 1)
    mse = float(np.mean((network_out(theta, grid, relu=True) - (grid ** 2 + 0.1)) ** 2))
    assert mse < 0.01, (
        f"{what}: MSE обученной сети на новых точках относительно x^2 + 0.1 равна {mse:.4f}, нужно меньше 0.01 "
        "(лучшая прямая даёт около 0.09)")
