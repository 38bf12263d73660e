"""The readable step on torch (CPU) and array-api-strict equals NumPy, number for number.

References are NumPy float64: ``Network.gradients`` for one mini-batch, ``bp.train`` for
whole runs (whose engine is the fast NumPy one), driven here with the same seed.
"""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backends.cases import CPU_BACKENDS, cases, data, sizes_of
from backprop import optimizers as optim
from backprop.backends import resolve, to_numpy
from backprop.backends.move import move
from backprop.backends.step import ArrayStep, evaluate


def _step(net, backend, **kw):
    moved = move(net, backend)
    opt = kw.pop("optimizer", optim.SGD(0.1))
    args = {"l2": 0.0, "n_train": 1, "dropout": 0.0, "rng": np.random.default_rng(0)}
    return ArrayStep(moved, opt, **{**args, **kw})


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("depth, hidden, output, cost", list(cases()))
def test_gradients_equal_numpy_float64(name, depth, hidden, output, cost):
    sizes = sizes_of(depth)
    net = bp.Network(sizes, activation=hidden, output=output, cost=cost, seed=depth)
    X, T = data(sizes, 7, output, seed=depth)
    want = net.gradients(X, T)
    backend = resolve(name)
    step = _step(net, backend)
    dW, db = step.gradients(backend.asarray(X), backend.asarray(T))
    for l in range(1, depth + 1):
        np.testing.assert_allclose(to_numpy(dW[l]), want.W[l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(to_numpy(db[l]), want.b[l], rtol=0, atol=1e-12)
    assert step.last_cost() == pytest.approx(net.cost(X, T), rel=1e-12)


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_gradients_float32_within_1e5_of_float64(name, depth):
    sizes = sizes_of(depth)
    net = bp.Network(sizes, activation="tanh", output="softmax", cost="cross-entropy", seed=3)
    net32 = net.astype("float32")
    X, T = data(sizes, 9, "softmax", seed=depth)
    want = net32.astype("float64").gradients(X, T)  # the float32 weights, in float64
    backend = resolve(name)
    step = _step(net32, backend)
    dW, db = step.gradients(backend.asarray(X, "float32"), backend.asarray(T, "float32"))
    for l in range(1, depth + 1):
        assert to_numpy(dW[l]).dtype == np.float32
        np.testing.assert_allclose(to_numpy(dW[l]), want.W[l], rtol=0, atol=1e-5)
        np.testing.assert_allclose(to_numpy(db[l]), want.b[l], rtol=0, atol=1e-5)


def _run_by_hand(net, backend, X, T, *, epochs, batch_size, lr, seed, **kw):
    """bp.train's loop without its bookkeeping: one permutation per epoch, then batches."""
    n = len(X)
    rng = np.random.default_rng(seed)
    opt = optim.get(kw.pop("optimizer"), lr)
    step = _step(net, backend, optimizer=opt, n_train=n, rng=rng, **kw)
    step.load(X, T)
    for _ in range(epochs):
        step.begin_epoch(rng.permutation(n))
        for start in range(0, n, batch_size):
            step.train_batch(start, min(start + batch_size, n), lr)
    return step


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize(
    "optimizer, lr, l2, dropout",
    [("sgd", 0.5, 0.0, 0.0), ("momentum", 0.1, 1.0, 0.0), ("adam", 0.003, 0.5, 0.2)],
)
def test_three_epochs_on_digits_equal_numpy_training(digits, name, optimizer, lr, l2, dropout):
    X, y = digits
    T = np.eye(10)[y]
    kw = {"epochs": 3, "batch_size": 32, "lr": lr, "seed": 5}
    net = bp.Network(
        [64, 30, 20, 10],
        activation="relu",
        output="softmax",
        cost="cross-entropy",
        init="he-normal",
        seed=1,
    )
    ref = net.copy()
    bp.train(ref, X, y, optimizer=optimizer, l2=l2, dropout=dropout, **kw)
    step = _run_by_hand(net, resolve(name), X, T, optimizer=optimizer, l2=l2, dropout=dropout, **kw)
    for l in range(1, 4):
        assert not np.allclose(ref.W[l], net.W[l], atol=1e-3)  # it did train
        np.testing.assert_allclose(to_numpy(step.net.W[l]), ref.W[l], rtol=0, atol=1e-10)
        np.testing.assert_allclose(to_numpy(step.net.b[l]), ref.b[l], rtol=0, atol=1e-10)
    cost, acc = evaluate(step.net, step.X, step.T, step.backend.asarray(y), "argmax")
    want_cost, want_acc = bp.evaluate(ref, X, y)
    assert cost == pytest.approx(want_cost, rel=1e-10)
    assert acc == want_acc and acc > 0.5  # chance: 0.1


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("momentum", 0.05)])
def test_three_epochs_float32_within_1e5(digits, name, optimizer, lr):
    # (not Adam: m/√v turns a gradient's last-bit difference near 0 into a ±α step)
    X, y = digits
    kw = {"epochs": 3, "batch_size": 64, "lr": lr, "seed": 2}
    net = bp.Network(
        [64, 32, 10],
        activation="tanh",
        output="softmax",
        cost="cross-entropy",
        seed=4,
        dtype="float32",
    )
    ref = net.copy()
    bp.train(ref, X, y, optimizer=optimizer, **kw)
    step = _run_by_hand(
        net,
        resolve(name),
        X.astype(np.float32),
        np.eye(10, dtype=np.float32)[y],
        optimizer=optimizer,
        **kw,
    )
    for l in (1, 2):
        got = to_numpy(step.net.W[l])
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref.W[l], rtol=0, atol=1e-5)
