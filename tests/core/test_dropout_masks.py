"""Network.forward / Network.backward with dropout masks r^l/q, against finite differences.

The cost with a fixed mask is written out here independently of the library's
forward pass; its central differences must match ``backward(forward(X, masks), T, masks)``.
"""

import numpy as np
import pytest

import backprop as bp
from backprop.errors import ConfigError, DataError

SIGMA = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
    "leaky-relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "identity": lambda z: z,
}


def _masked_cost(net, X, T, masks, hidden):
    """C = mean ½‖a^L − t‖² with a^l = σ(z^l) ∘ r^l/q, sigmoid output."""
    a = X.T
    for l in range(1, net.L + 1):
        z = net.W[l] @ a + net.b[l]
        a = SIGMA["sigmoid" if l == net.L else hidden](z)
        if l < net.L:
            a = a * masks[l]
    return float((0.5 * ((a - T.T) ** 2).sum(axis=0)).mean())


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "leaky-relu", "identity"])
def test_backward_with_masks_matches_finite_differences(hidden):
    rng = np.random.default_rng(0)
    m, q = 6, 0.6
    X = rng.standard_normal((m, 4))
    T = rng.random((m, 3))
    net = bp.Network([4, 7, 6, 3], activation=hidden, output="sigmoid", seed=1)
    masks = {1: (rng.random((7, m)) < q) / q, 2: (rng.random((6, m)) < q) / q}
    masks[1][2, :] = 0  # neuron 2 of layer 1 dropped for every example
    assert 0 < (masks[1] > 0).sum() < masks[1].size  # some dropped, some kept
    trace = net.forward(X, masks)
    g = net.backward(trace, T, masks)
    h = 1e-6
    for l in range(1, 4):
        for P, G in ((net.W[l], g.W[l]), (net.b[l], g.b[l])):
            numeric = np.zeros_like(P)
            for i in np.ndindex(P.shape):
                old = P[i]
                P[i] = old + h
                up = _masked_cost(net, X, T, masks, hidden)
                P[i] = old - h
                down = _masked_cost(net, X, T, masks, hidden)
                P[i] = old
                numeric[i] = (up - down) / (2 * h)
            err = np.abs(G - numeric).max() / np.abs(numeric).max()
            assert err < 1e-7, (l, err)
    # a neuron dropped for the whole batch learns nothing and passes nothing on
    assert np.all(g.W[1][2] == 0) and g.b[1][2, 0] == 0
    assert np.all(trace.a[1][2] == 0)
    np.testing.assert_allclose(trace.a[1], SIGMA[hidden](trace.z[1]) * masks[1], rtol=1e-15)


def test_masks_of_ones_change_nothing_and_none_is_no_dropout():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
    net = bp.Network([3, 4, 4, 2], activation="relu", output="softmax", cost="cross-entropy")
    plain = net.backward(net.forward(X), y)
    ones = {1: np.ones((4, 5)), 2: None}
    masked = net.backward(net.forward(X, ones), y, ones)
    for l in range(1, 4):
        np.testing.assert_array_equal(masked.W[l], plain.W[l])
        np.testing.assert_array_equal(masked.b[l], plain.b[l])


def test_masks_are_checked():
    net = bp.Network([3, 4, 2], seed=0)
    X = np.zeros((5, 3))
    with pytest.raises(ConfigError, match="hidden layers 1..1, not layer 2"):
        net.forward(X, {2: np.ones((2, 5))})
    with pytest.raises(DataError, match=r"must have shape \(4, 5\), got \(4, 3\)"):
        net.forward(X, {1: np.ones((4, 3))})
