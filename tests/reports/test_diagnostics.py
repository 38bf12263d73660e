"""Diagnostics: ‖δ^l‖ per layer, saturated/dead units, rising cost, vanishing gradients.

Expected numbers are computed independently: gradient norms with PyTorch
autograd, saturated units by counting σ'(z) with NumPy written out here.
"""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backprop.diagnostics import GradientMonitor, diagnose, measure
from backprop.training import History


def history(**series) -> History:
    n = len(series.get("train_cost", []))
    base = {k: [None] * n for k in History.SERIES}
    base["epoch"] = list(range(1, n + 1))
    base["lr"] = [3.0] * n
    base.update(series)
    extras = base.pop("extras", {})
    return History(**base, extras=extras)


def test_delta_norms_are_the_bias_gradient_lengths_from_torch():
    torch = pytest.importorskip("torch")
    net = bp.Network([5, 4, 3, 2], activation="tanh", output="sigmoid", seed=1)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 5)), rng.integers(0, 2, 7)
    got = measure(net, X, y)
    W = [torch.tensor(w, requires_grad=True) for w in net.W]
    b = [torch.tensor(v, requires_grad=True) for v in net.b]
    a = torch.tensor(X.T)
    for l, f in enumerate((torch.tanh, torch.tanh, torch.sigmoid)):
        a = f(W[l] @ a + b[l])
    t = torch.tensor(np.eye(2)[y].T)
    C = 0.5 * ((a - t) ** 2).sum() / 7
    C.backward()
    for l in (1, 2, 3):
        assert got[f"delta_norm_{l}"] == pytest.approx(float(b[l - 1].grad.norm()), rel=1e-10)


def test_saturated_sigmoid_units_are_counted_and_reported():
    # 10 hidden units; 7 get huge weights on positive inputs: σ'(z) ≈ 0 on every example.
    rng = np.random.default_rng(0)
    X = rng.uniform(0.5, 1.0, (50, 20))
    y = rng.integers(0, 2, 50)
    net = bp.Network([20, 10, 2], seed=0)
    saturated = [0, 2, 3, 5, 6, 8, 9]
    net.W[1][:] = 0.01
    net.W[1][saturated] = 5.0  # z ≥ 5·20·0.5 = 50
    net.b[1][:] = 0.0
    # Independent count: σ'(z) = σ(z)(1 − σ(z)) below 1 % of σ'(0) = 0.25 on (≥ 90 % of) the
    # examples.
    z = X @ net.W[1].T + net.b[1].T
    s = 1 / (1 + np.exp(-np.clip(z, -500, 500)))
    flat = s * (1 - s) <= 0.0025
    expected = int(flat.all(axis=0).sum())
    assert expected == 7
    h = bp.train(
        net, X, y, epochs=2, batch_size=10, lr=1e-3, seed=0, callbacks=[GradientMonitor(X, y)]
    )
    assert h.extras["saturated_units_1"] == [7, 7]
    assert h.extras["units_1"] == [10, 10]
    assert h.extras["saturation_1"][-1] == pytest.approx(flat.mean(), abs=0.02)
    warnings = diagnose(h)
    assert any("7 of 10 hidden units in layer 1 are saturated" in w for w in warnings), warnings


def test_saturated_network_like_the_books_784_100_10():
    # N(0, 1) weights and large inputs (digits' raw 0..16 pixels): most units saturate.
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    net = bp.Network([64, 100, 10], seed=0)
    got = measure(net, X, y)
    z = X @ net.W[1].T + net.b[1].T
    s = 1 / (1 + np.exp(-np.clip(z, -500, 500)))
    # a unit is saturated when σ' ≈ 0 on at least 90 % of the examples
    expected = int(((s * (1 - s) <= 0.0025).mean(axis=0) >= 0.9).sum())
    assert expected > 50
    assert got["saturated_units_1"] == expected
    h = history(train_cost=[0.5], extras={k: [v] for k, v in got.items()})
    assert any(f"{expected} of 100 hidden units in layer 1 are saturated" in w for w in diagnose(h))


def test_dead_relu_units():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (40, 6))
    y = rng.integers(0, 3, 40)
    net = bp.Network([6, 8, 3], activation="relu", output="softmax", cost="cross-entropy", seed=0)
    net.b[1][[1, 4, 7]] = -100.0  # z < 0 for every input in [0, 1]: dead
    got = measure(net, X, y)
    z = X @ net.W[1].T + net.b[1].T
    assert got["dead_units_1"] == int((z <= 0).all(axis=0).sum()) >= 3
    h = history(train_cost=[1.0], extras={k: [v] for k, v in got.items()})
    (w,) = [w for w in diagnose(h) if "dead" in w]
    assert w.startswith(f"{got['dead_units_1']} of 8 hidden units in layer 1 are dead")


def test_rising_cost_warns_with_the_numbers_and_the_learning_rate():
    (w,) = diagnose(history(train_cost=[0.9, 1.4, 2.5]))
    assert "rose from 0.9 (epoch 1) to 2.5 (epoch 3)" in w and "3 is probably too high" in w
    (w,) = diagnose(history(train_cost=[1.0, 0.5, 0.8, 0.4, 0.6, 0.3]))
    assert "rose in 2 of 5 epochs" in w
    assert diagnose(history(train_cost=[1.0, 0.8, 0.7, 0.69])) == []


def test_a_real_run_with_a_too_large_learning_rate_is_flagged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    Y = (X @ rng.normal(size=(4, 1))) * 0.1
    net = bp.Network([4, 8, 1], activation="tanh", output="identity", seed=0)
    h = bp.train(net, X, Y, epochs=6, batch_size=200, lr=5.0, seed=0)
    assert h.diverged is None  # it grows without overflowing in 6 epochs
    costs = h.train_cost
    assert costs[-1] > costs[0]
    (w,) = diagnose(h)
    assert f"rose from {costs[0]:.4g} (epoch 1) to {costs[-1]:.4g} (epoch 6)" in w
    assert "the learning rate 5 is probably too high" in w


def test_vanishing_gradient_warning():
    # A deep sigmoid chain with small weights: ‖δ^l‖ shrinks by ~4x per layer going back.
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (64, 10))
    y = rng.integers(0, 2, 64)
    net = bp.Network([10, 10, 10, 10, 10, 10, 2], init="scaled-normal", seed=0)
    got = measure(net, X, y)
    norms = [got[f"delta_norm_{l}"] for l in range(1, 7)]
    assert norms[0] * 100 < max(norms[1:])
    (w,) = [
        w
        for w in diagnose(history(train_cost=[0.3], extras={k: [v] for k, v in got.items()}))
        if "vanishing" in w
    ]
    top = 1 + int(np.argmax(norms[1:])) + 1
    assert f"‖δ¹‖ = {norms[0]:.2e}" in w and f"{norms[top - 1]:.2e}" in w
    healthy = {"delta_norm_1": [0.1], "delta_norm_2": [0.2]}
    assert diagnose(history(train_cost=[0.3], extras=healthy)) == []


def test_monitor_samples_at_most_n_rows_and_survives_an_empty_history():
    X = np.zeros((1000, 3))
    y = np.zeros(1000, dtype=np.int64)
    assert len(GradientMonitor(X, y, n=100).X) == 100
    assert diagnose(History()) == []
