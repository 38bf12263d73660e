"""Networks on torch (CPU) and array-api-strict equal NumPy's, number for number.

References are NumPy float64: ``Network.gradients`` for one mini-batch, ``bp.train`` on
NumPy (whose engine is the fast one) for whole runs with the same seed.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import backprop as bp
from backends.cases import (
    CPU_BACKENDS,
    cases,
    data,
    needs_compat,
    needs_strict,
    needs_torch_cpu,
    sizes_of,
)
from backprop import optimizers as optim
from backprop.backends import backend_of, resolve, to_numpy
from backprop.backends.step import ArrayStep
from backprop.training import make_step


def _close(got, want, tol):
    assert backend_of(got).name != "numpy"
    np.testing.assert_allclose(to_numpy(got), want, rtol=0, atol=tol)


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("depth, hidden, output, cost", list(cases()))
def test_gradients_equal_numpy_float64(name, depth, hidden, output, cost):
    sizes = sizes_of(depth)
    net = bp.Network(sizes, activation=hidden, output=output, cost=cost, seed=depth)
    X, T = data(sizes, 7, output, seed=depth)
    want, trace = net.gradients(X, T), net.forward(X)
    moved = net.to(name)
    got, got_trace = moved.gradients(X, T), moved.forward(X)
    for l in range(1, depth + 1):
        _close(got.W[l], want.W[l], 1e-12)
        _close(got.b[l], want.b[l], 1e-12)
        _close(got.delta[l], want.delta[l], 1e-12)
        _close(got_trace.z[l], trace.z[l], 1e-12)
    assert moved.cost(X, T) == pytest.approx(net.cost(X, T), rel=1e-12)
    _close(moved.predict(X), net.predict(X), 1e-12)


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_gradients_float32_within_1e5_of_float64(name, depth):
    sizes = sizes_of(depth)
    net = bp.Network(sizes, activation="tanh", output="softmax", cost="cross-entropy", seed=3)
    net32 = net.astype("float32")
    X, T = data(sizes, 9, "softmax", seed=depth)
    want = net32.astype("float64").gradients(X, T)  # the float32 weights, in float64
    got = net32.to(name).gradients(X, T)
    for l in range(1, depth + 1):
        assert to_numpy(got.W[l]).dtype == np.float32
        _close(got.W[l], want.W[l], 1e-5)
        _close(got.b[l], want.b[l], 1e-5)


def _digits_net(dtype="float64", sizes=(64, 30, 20, 10)):
    return bp.Network(list(sizes), activation="relu", output="softmax", cost="cross-entropy",
                      init="he-normal", seed=1, dtype=dtype)  # fmt: skip


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize(
    "optimizer, lr, l2, dropout",
    [("sgd", 0.5, 0.0, 0.0), ("momentum", 0.1, 1.0, 0.0), ("adam", 0.003, 0.5, 0.2)],
)
def test_three_epochs_on_digits_equal_numpy_training(digits, name, optimizer, lr, l2, dropout):
    X, y = digits
    # train_metrics="full": the array-API step keeps no running sums on the host (that would
    # be a transfer per mini-batch), so it reports the after-epoch pass; compare like with like
    kw = {"epochs": 3, "batch_size": 32, "lr": lr, "seed": 5, "optimizer": optimizer,
          "l2": l2, "dropout": dropout, "train_metrics": "full"}  # fmt: skip
    net = _digits_net()
    ref, moved = net.copy(), net.to(name)
    want = bp.train(ref, X, y, **kw)
    got = bp.train(moved, X, y, **kw)
    for l in range(1, 4):
        assert not np.allclose(ref.W[l], net.W[l], atol=1e-3)  # it did train
        _close(moved.W[l], ref.W[l], 1e-10)
        _close(moved.b[l], ref.b[l], 1e-10)
    assert got.train_cost == pytest.approx(want.train_cost, rel=1e-10)
    assert got.train_accuracy == want.train_accuracy
    assert want.train_accuracy[-1] > 0.5  # chance: 0.1
    cost, acc = bp.evaluate(moved, X, y)
    assert (cost, acc) == pytest.approx(bp.evaluate(ref, X, y), rel=1e-10)


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("momentum", 0.05)])
def test_three_epochs_float32_within_1e5(digits, name, optimizer, lr):
    # (not Adam: m/√v turns a gradient's last-bit difference near 0 into a ±α step)
    X, y = digits
    kw = {"epochs": 3, "batch_size": 64, "lr": lr, "seed": 2, "optimizer": optimizer}
    net = _digits_net("float32", (64, 32, 10))
    ref, moved = net.copy(), net.to(name)
    bp.train(ref, X, y, **kw)
    bp.train(moved, X, y, **kw)
    for l in (1, 2):
        assert to_numpy(moved.W[l]).dtype == np.float32
        _close(moved.W[l], ref.W[l], 1e-5)


class _EveryBatch(bp.Callback):
    """Has its own on_batch_end, so the loop calls the step batch by batch."""

    def __init__(self):
        self.costs: list[float] = []

    def on_batch_end(self, state):
        self.costs.append(state.batch_cost())


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_batch_by_batch_equals_whole_epochs_and_data_of_the_namespace(digits, name):
    X, y = digits
    kw = {"epochs": 2, "batch_size": 50, "lr": 0.1, "seed": 3, "dropout": 0.1, "l2": 0.1}
    whole, by_batch, device_data = (_digits_net().to(name) for _ in range(3))
    bp.train(whole, X, y, **kw)
    cb = _EveryBatch()
    bp.train(by_batch, X, y, callbacks=[cb], **kw)
    backend = resolve(name)
    bp.train(device_data, backend.asarray(X), backend.asarray(y), **kw)
    assert len(cb.costs) == 2 * 36 and all(np.isfinite(cb.costs))
    for l in (1, 2, 3):
        np.testing.assert_array_equal(to_numpy(by_batch.W[l]), to_numpy(whole.W[l]))
        np.testing.assert_array_equal(to_numpy(device_data.W[l]), to_numpy(whole.W[l]))


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_engine_auto_picks_the_array_step_only_off_numpy(name):
    net = _digits_net()
    opt = optim.SGD(0.1)
    assert isinstance(make_step(net.to(name), opt, n_train=10), ArrayStep)
    assert not isinstance(make_step(net, opt, n_train=10), ArrayStep)
    assert not isinstance(make_step(net.to(name).to("numpy"), opt, n_train=10), ArrayStep)


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_divergence_on_the_device_keeps_the_last_good_weights(digits, name):
    X, y = digits
    net = bp.Network([64, 30, 10], activation="identity", output="identity", seed=0).to(name)
    h = bp.train(net, X * 50, np.eye(10)[y] * 50, epochs=3, batch_size=32, lr=50.0, seed=0)
    assert h.diverged is not None and "lower learning rate" in h.diverged
    assert all(np.isfinite(to_numpy(p)).all() for p in net.params())


@needs_torch_cpu
def test_masks_drawn_on_the_device_are_reproducible_with_the_right_rate():
    # the GPU default, tried on torch's CPU: same seed, same masks; about q of them kept
    def step(seed):
        net = _digits_net().to("torch")
        rng = np.random.default_rng(seed)
        return ArrayStep(net, optim.SGD(0.1), n_train=100, dropout=0.3, rng=rng, masks="device")

    a, b, c = step(1), step(1), step(2)
    assert a.masks_from == "device"
    ma, mb, mc = (to_numpy(s.masks(500)[1]) for s in (a, b, c))
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(ma, mc)
    np.testing.assert_allclose(np.unique(ma), [0.0, 1 / 0.7], rtol=1e-15)  # 0 or 1/q
    assert (ma > 0).mean() == pytest.approx(0.7, abs=0.01)  # 15,000 draws: σ ≈ 0.004
    assert sorted(step(1).masks(5)) == [1, 2]  # hidden layers only


def test_array_step_refuses_numpy_networks_and_unknown_mask_sources():
    from backprop import ConfigError

    with pytest.raises(ConfigError, match="other array libraries than NumPy"):
        ArrayStep(_digits_net(), optim.SGD(0.1))
    if importlib.util.find_spec("array_api_strict") and importlib.util.find_spec(
        "array_api_compat"
    ):
        strict = _digits_net().to("array_api_strict")
        with pytest.raises(ConfigError, match="array_api_strict has no random generator"):
            ArrayStep(
                strict, optim.SGD(0.1), dropout=0.5, rng=np.random.default_rng(), masks="device"
            )


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_data_cross_once_per_run_and_the_permutation_once_per_epoch(digits, name, monkeypatch):
    from backprop.backends import Backend

    X, y = digits
    moved = []  # what crossed from the host: shapes
    real = Backend.asarray

    def counting(self, x, dtype=None):
        moved.append(np.shape(x))
        return real(self, x, dtype)

    net = _digits_net().to(name)
    monkeypatch.setattr(Backend, "asarray", counting)
    bp.train(net, X, y, epochs=3, batch_size=16, lr=0.1, seed=0)  # 113 batches an epoch
    n = len(X)
    assert sorted(moved) == sorted(
        [(n, 64), (n, 10)]  # the training set, once
        + [(n,)] * 3  # one permutation per epoch
        + [(n, 64), (n, 10), (n,)]  # the evaluation's copy (inputs, targets, labels), once
    )


@needs_strict
@needs_compat
def test_training_on_a_second_device_leaves_nothing_on_the_first(digits):
    # array-api-strict refuses to mix devices: any array left on the default one would raise
    X, y = digits
    kw = {"epochs": 2, "batch_size": 64, "lr": 0.05, "seed": 1, "optimizer": "momentum",
          "l2": 0.5, "dropout": 0.2, "validation_fraction": 0.1}  # fmt: skip
    net = _digits_net()
    ref, moved = net.copy(), net.to("array_api_strict", device="device1")
    want, got = bp.train(ref, X, y, **kw), bp.train(moved, X, y, **kw)
    assert "device1" in str(moved.device)
    for l in (1, 2, 3):
        assert "device1" in str(moved.W[l].device)
        _close(moved.W[l], ref.W[l], 1e-10)
    assert got.val_accuracy == want.val_accuracy
