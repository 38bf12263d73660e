"""The source's own worked example: a 3-4-2 sigmoid network, quadratic cost, one example.

Every expected value here is written out element by element from the source's
formulas with Python floats and ``math`` — no NumPy matrix algebra and no
call into the library — and compared with what the library computes.
"""

import math

import numpy as np
import pytest

import backprop as bp

# Fixed weights, chosen by hand: [W¹]₄ₓ₃, [b¹]₄ₓ₁, [W²]₂ₓ₄, [b²]₂ₓ₁.
W1 = [
    [0.15, -0.20, 0.30],
    [-0.45, 0.10, 0.25],
    [0.05, 0.40, -0.35],
    [0.20, -0.10, 0.50],
]
b1 = [0.10, -0.20, 0.05, 0.00]
W2 = [
    [0.40, -0.30, 0.20, 0.10],
    [-0.25, 0.35, -0.15, 0.45],
]
b2 = [-0.10, 0.20]
x = [1.0, 0.5, -1.5]  # a⁰
t = [0.0, 1.0]


def sigma(z):
    return 1.0 / (1.0 + math.exp(-z))


def sigma_prime(z):
    return sigma(z) * (1.0 - sigma(z))


def by_hand():
    """The source's derivation, one scalar at a time."""
    # Layer 1: z¹ = W¹a⁰ + b¹, a¹ = σ(z¹)
    z1 = [sum(W1[i][j] * x[j] for j in range(3)) + b1[i] for i in range(4)]
    a1 = [sigma(v) for v in z1]
    # Layer 2: z² = W²a¹ + b², a² = σ(z²)
    z2 = [sum(W2[k][i] * a1[i] for i in range(4)) + b2[k] for k in range(2)]
    a2 = [sigma(v) for v in z2]
    # C = ½‖a² − t‖²
    C = 0.5 * sum((a2[k] - t[k]) ** 2 for k in range(2))
    # δ² ≡ (a² − t) ∘ σ'(z²)   (the source's summary; it writes δ³ in two places)
    d2 = [(a2[k] - t[k]) * sigma_prime(z2[k]) for k in range(2)]
    # ∂C/∂W² = δ² [a¹]ᵀ, ∂C/∂b² = δ²
    dW2 = [[d2[k] * a1[i] for i in range(4)] for k in range(2)]
    db2 = list(d2)
    # δ¹ ≡ (W²)ᵀ δ² ∘ σ'(z¹)
    d1 = [sum(W2[k][i] * d2[k] for k in range(2)) * sigma_prime(z1[i]) for i in range(4)]
    # ∂C/∂W¹ = δ¹ [a⁰]ᵀ, ∂C/∂b¹ = δ¹
    dW1 = [[d1[i] * x[j] for j in range(3)] for i in range(4)]
    db1 = list(d1)
    return dict(z1=z1, a1=a1, z2=z2, a2=a2, C=C, d1=d1, d2=d2, dW1=dW1, db1=db1, dW2=dW2, db2=db2)


@pytest.fixture
def net():
    net = bp.Network([3, 4, 2], activation="sigmoid", cost="quadratic", dtype="float64")
    net.W[1][...] = W1
    net.b[1][...] = np.array(b1).reshape(4, 1)
    net.W[2][...] = W2
    net.b[2][...] = np.array(b2).reshape(2, 1)
    return net


def test_shapes_are_the_sources(net):
    trace = net.forward([x])
    grads = net.backward(trace, [t])
    assert net.W[1].shape == (4, 3) and net.W[2].shape == (2, 4)
    assert trace.a[0].shape == (3, 1) and trace.a[1].shape == (4, 1) and trace.z[2].shape == (2, 1)
    assert grads.delta[2].shape == (2, 1) and grads.delta[1].shape == (4, 1)
    assert grads.W[2].shape == (2, 4) and grads.W[1].shape == (4, 3)
    assert grads.b[2].shape == (2, 1) and grads.b[1].shape == (4, 1)


def test_every_quantity_matches_the_hand_derivation(net):
    h = by_hand()
    trace = net.forward([x])
    grads = net.backward(trace, [t])
    close = dict(rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.z[1][:, 0], h["z1"], **close)
    np.testing.assert_allclose(trace.a[1][:, 0], h["a1"], **close)
    np.testing.assert_allclose(trace.z[2][:, 0], h["z2"], **close)
    np.testing.assert_allclose(trace.a[2][:, 0], h["a2"], **close)
    np.testing.assert_allclose(grads.delta[2][:, 0], h["d2"], **close)
    np.testing.assert_allclose(grads.delta[1][:, 0], h["d1"], **close)
    np.testing.assert_allclose(grads.W[2], h["dW2"], **close)
    np.testing.assert_allclose(grads.b[2][:, 0], h["db2"], **close)
    np.testing.assert_allclose(grads.W[1], h["dW1"], **close)
    np.testing.assert_allclose(grads.b[1][:, 0], h["db1"], **close)
    assert net.cost([x], [t]) == pytest.approx(h["C"], abs=1e-15)


def test_first_output_by_hand(net):
    # A number worked on paper, as a sanity anchor for the hand formulas above:
    # z¹₁ = 0.15·1 − 0.20·0.5 + 0.30·(−1.5) + 0.10 = −0.30.
    assert net.forward([x]).z[1][0, 0] == pytest.approx(-0.30, abs=1e-15)


def test_one_gradient_descent_step_lowers_the_cost(net):
    alpha = 0.5
    before = net.cost([x], [t])
    grads = net.gradients([x], [t])
    for l in (1, 2):
        net.W[l] -= alpha * grads.W[l]  # W^l ← W^l − α ∂C/∂W^l
        net.b[l] -= alpha * grads.b[l]  # b^l ← b^l − α ∂C/∂b^l
    after = net.cost([x], [t])
    assert after < before
    # First-order prediction of the decrease: ΔC ≈ −α ‖∇C‖².
    h = by_hand()
    sq = sum(v * v for row in h["dW1"] + h["dW2"] for v in row) + sum(
        v * v for v in h["db1"] + h["db2"]
    )
    assert before - after == pytest.approx(alpha * sq, rel=0.05)
