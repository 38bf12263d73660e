"""The core contract of backprop.Network: shapes, dtypes, gradients for any depth."""

import itertools

import numpy as np
import pytest

import backprop as bp
from backprop import activations, costs

HIDDEN = ["sigmoid", "tanh", "relu", "leaky-relu", "identity"]
# every (output activation, cost) pair that has a meaning
OUTPUT_COST = [(out, "quadratic") for out in [*HIDDEN, "softmax"]] + [
    ("sigmoid", "cross-entropy"),
    ("softmax", "cross-entropy"),
]


def data(sizes, m, output, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0]))
    T = rng.random((m, sizes[-1]))
    if output == "softmax":
        T /= T.sum(axis=1, keepdims=True)  # a probability vector per example
    return X, T


def gradcheck_cases():
    for depth, (out, cost), m in itertools.product(range(1, 6), OUTPUT_COST, (1, 7)):
        # depth 1 has no hidden layer, so its hidden activation does not matter
        for hidden in HIDDEN if depth > 1 else HIDDEN[:1]:
            yield pytest.param(
                depth, hidden, out, cost, m, id=f"L{depth}-{hidden}-{out}-{cost}-m{m}"
            )


@pytest.mark.parametrize("depth, hidden, output, cost, m", list(gradcheck_cases()))
def test_gradcheck_every_activation_cost_depth_batch(depth, hidden, output, cost, m):
    sizes = [4, *[5, 3, 4, 5][: depth - 1], 3]
    # ReLU nets: N(0, 1) biases keep z away from the kink at 0 (zero biases put it right
    # there for a unit whose inputs are all dead), where no derivative exists to check.
    init = "scaled-normal" if "relu" in hidden + output else "normal"
    net = bp.Network(
        sizes, activation=hidden, output=output, cost=cost, seed=depth * 7 + m, init=init
    )
    X, T = data(sizes, m, output, seed=depth)
    result = bp.gradcheck(net, X, T)
    assert result.passed, str(result)
    assert result.max_error < 1e-7
    assert set(result.W) == set(range(1, depth + 1))


def test_contract_names_and_shapes():
    net = bp.Network(
        [3, 4, 2],
        activation="sigmoid",
        output="sigmoid",
        cost="quadratic",
        init="normal",
        seed=0,
        dtype="float64",
    )
    assert net.sizes == [3, 4, 2] and net.L == 2
    assert net.W[1].shape == (4, 3) and net.W[2].shape == (2, 4)
    assert net.b[1].shape == (4, 1) and net.b[2].shape == (2, 1)
    X = np.arange(15.0).reshape(5, 3) / 10
    trace = net.forward(X)
    assert [trace.a[l].shape for l in range(3)] == [(3, 5), (4, 5), (2, 5)]
    assert [trace.z[l].shape for l in (1, 2)] == [(4, 5), (2, 5)]
    np.testing.assert_array_equal(trace.a[0], X.T)
    grads = net.backward(trace, np.zeros((5, 2)))
    assert grads.delta[1].shape == (4, 5) and grads.delta[2].shape == (2, 5)
    assert grads.W[1].shape == (4, 3) and grads.b[2].shape == (2, 1)
    assert net.predict(X).shape == (5, 2)
    np.testing.assert_array_equal(net.predict(X), trace.a[2].T)


def test_layers_are_indexed_like_the_book():
    net = bp.Network([3, 4, 2], seed=0)
    with pytest.raises(IndexError, match="valid layers are 1..2"):
        net.W[0]
    with pytest.raises(IndexError):
        net.W[3]
    assert net.W[-1] is net.W[2]
    assert list(net.W.keys()) == [1, 2]
    trace = net.forward(np.zeros((1, 3)))
    assert trace.a[-1] is trace.a[2] and list(trace.a.keys()) == [0, 1, 2]


def test_weights_are_writable_in_place():
    net = bp.Network([3, 4, 2], seed=0)
    net.W[1][...] = 0.0
    net.b[1][...] = 0.0
    # with W¹ = 0 and b¹ = 0 every hidden unit outputs σ(0) = ½
    np.testing.assert_allclose(net.forward(np.ones((2, 3))).a[1], 0.5)


def test_cost_is_the_mean_of_per_example_costs():
    net = bp.Network([3, 4, 2], seed=1)
    X, T = data([3, 4, 2], 6, "sigmoid")
    per_example = [0.5 * np.sum((net.predict(X[i : i + 1])[0] - T[i]) ** 2) for i in range(6)]
    assert net.cost(X, T) == pytest.approx(np.mean(per_example), rel=1e-14)


def test_batch_gradient_is_the_mean_of_per_example_gradients():
    # A mini-batch is one matrix; its gradient equals the average of m single-example ones.
    net = bp.Network([3, 5, 2], activation="tanh", output="softmax", cost="cross-entropy", seed=2)
    X, T = data([3, 5, 2], 4, "softmax")
    batch = net.gradients(X, T)
    singles = [net.gradients(X[i : i + 1], T[i : i + 1]) for i in range(4)]
    for l in (1, 2):
        np.testing.assert_allclose(
            batch.W[l], np.mean([g.W[l] for g in singles], axis=0), atol=1e-15
        )
        np.testing.assert_allclose(
            batch.b[l], np.mean([g.b[l] for g in singles], axis=0), atol=1e-15
        )
        np.testing.assert_allclose(
            batch.delta[l], np.hstack([g.delta[l] for g in singles]), atol=1e-15
        )


@pytest.mark.parametrize("output, cost", OUTPUT_COST)
def test_float32_end_to_end_and_agrees_with_float64(output, cost):
    sizes = [6, 8, 5, 3]
    net64 = bp.Network(sizes, activation="tanh", output=output, cost=cost, seed=3)
    net32 = bp.Network(sizes, activation="tanh", output=output, cost=cost, seed=3, dtype="float32")
    for l in (1, 2, 3):
        assert net32.W[l].dtype == np.float32
        np.testing.assert_array_equal(net32.W[l], net64.W[l].astype(np.float32))
    X, T = data(sizes, 9, output)
    trace = net32.forward(X)
    g32, g64 = net32.backward(trace, T), net64.gradients(X, T)
    for l in (1, 2, 3):
        for arr in (trace.z[l], trace.a[l], g32.delta[l], g32.W[l], g32.b[l]):
            assert arr.dtype == np.float32  # no silent upcast anywhere
        scale = np.abs(g64.W[l]).max()
        np.testing.assert_allclose(g32.W[l], g64.W[l], atol=1e-5 * scale + 1e-7)
        np.testing.assert_allclose(g32.b[l], g64.b[l], atol=1e-5 * np.abs(g64.b[l]).max() + 1e-7)
    assert net32.cost(X, T) == pytest.approx(net64.cost(X, T), rel=1e-5)


def test_same_seed_same_bits_different_seed_different_weights():
    a, b, c = (bp.Network([5, 7, 3], seed=s) for s in (11, 11, 12))
    for l in (1, 2):
        assert np.array_equal(a.W[l], b.W[l]) and np.array_equal(a.b[l], b.b[l])
    assert not np.array_equal(a.W[1], c.W[1])


def test_rng_is_passed_in_and_used():
    rng = np.random.default_rng(5)
    net = bp.Network([2, 3], rng=rng)
    expected = np.random.default_rng(5).standard_normal((3, 2))
    np.testing.assert_array_equal(net.W[1], expected)


@pytest.mark.parametrize(
    "init, n_in, check",
    [
        ("normal", 400, lambda W, b: abs(W.std() - 1) < 0.05 and abs(b.std() - 1) < 0.2),
        (
            "scaled-normal",
            400,
            lambda W, b: abs(W.std() * 20 - 1) < 0.05 and abs(b.std() - 1) < 0.2,
        ),
        (
            "glorot-uniform",
            400,
            lambda W, b: (
                np.abs(W).max() <= np.sqrt(6 / 450)
                and abs(W.std() - np.sqrt(2 / 450)) < 3e-3
                and not b.any()
            ),
        ),
        ("he-normal", 400, lambda W, b: abs(W.std() - np.sqrt(2 / 400)) < 3e-3 and not b.any()),
    ],
)
def test_initialisers_have_the_published_distributions(init, n_in, check):
    net = bp.Network([n_in, 50], init=init, seed=0)
    assert check(net.W[1], net.b[1])


def test_custom_initialiser():
    def ones(rng, n_out, n_in):
        return np.ones((n_out, n_in)), np.zeros((n_out, 1))

    net = bp.Network([2, 3, 1], init=ones)
    assert (net.W[2] == 1).all()


def test_hidden_activations_one_per_layer():
    net = bp.Network([2, 3, 3, 1], activation=["relu", "tanh"], output="identity")
    assert net.activations == ["relu", "tanh", "identity"]
    with pytest.raises(bp.ConfigError, match="one name per hidden layer"):
        bp.Network([2, 3, 3, 1], activation=["relu"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(activation="swish"),
            "unknown activation 'swish'; choose one of: identity, leaky-relu",
        ),
        (dict(activation="softmax", output="sigmoid"), "softmax can only be the output activation"),
        (dict(cost="hinge"), "unknown cost 'hinge'; choose one of: cross-entropy, quadratic"),
        (
            dict(output="relu", cost="cross-entropy"),
            "cross-entropy cost needs a sigmoid or softmax",
        ),
        (dict(init="zeros"), "unknown initialiser 'zeros'"),
        (dict(dtype="float16"), "dtype must be one of float32, float64"),
    ],
)
def test_invalid_configuration_is_a_clear_error(kwargs, match):
    with pytest.raises(bp.ConfigError, match=match):
        bp.Network([3, 4, 2], **kwargs)


@pytest.mark.parametrize("sizes", [[3], [], [3, 0, 2], "abc"])
def test_invalid_sizes(sizes):
    with pytest.raises(bp.ConfigError):
        bp.Network(sizes)


def test_wrong_inputs_are_clear_errors():
    net = bp.Network([3, 4, 2], seed=0)
    with pytest.raises(bp.DataError, match="X has 5 features but the network's input layer has 3"):
        net.predict(np.zeros((2, 5)))
    with pytest.raises(bp.DataError, match=r"targets must have shape \(2, 2\)"):
        net.gradients(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(bp.DataError, match="class labels must lie in 0..1"):
        net.gradients(np.zeros((2, 3)), np.array([0, 2]))


def test_integer_labels_are_one_hot_targets():
    net = bp.Network([3, 4, 2], seed=0)
    X = np.ones((2, 3))
    labels = net.gradients(X, np.array([1, 0]))
    onehot = net.gradients(X, np.array([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(labels.W[1], onehot.W[1])


def test_numerically_stable_for_large_z():
    # pyproject turns RuntimeWarning (overflow, invalid) into errors, so this also
    # proves no warning is raised.
    z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]]).T
    sig = activations.get("sigmoid")
    # ½ tanh(z/2) + ½ is exact to one unit of rounding near 1, so absolutely (not
    # relatively) exact in the far negative tail: σ(−50) = 1.9e-22 comes out as ~0.
    np.testing.assert_allclose(
        sig.f(z)[:, 0], [0, 1.9287498479639178e-22, 0.5, 1, 1], rtol=0, atol=1.2e-16
    )
    sm = activations.get("softmax").f(np.array([[1000.0], [0.0], [-1000.0]]))
    np.testing.assert_allclose(sm[:, 0], [1, 0, 0])
    ce = costs.get("cross-entropy")
    t = np.array([[1.0], [1.0], [1.0], [0.0], [1.0]])
    # −ln σ(−1000) = 1000 exactly (not inf), −ln σ(−50) ≈ 50, −ln σ(0) = ln 2,
    # −ln(1 − σ(50)) ≈ 50, −ln σ(1000) = 0
    v = ce.value(z, sig.f(z), t, sig)
    assert np.isfinite(v).all() and v[0] == pytest.approx(1000 + 50 + np.log(2) + 50 + 0, rel=1e-12)
    zs = np.array([[1000.0], [0.0]])
    v = ce.value(
        zs, activations.get("softmax").f(zs), np.array([[0.0], [1.0]]), activations.get("softmax")
    )
    assert v[0] == pytest.approx(1000.0)


def test_float32_sigmoid_stays_float32_without_overflow():
    z = np.array([[-200.0, 200.0]], dtype=np.float32)
    out = activations.get("sigmoid").f(z)
    assert out.dtype == np.float32 and out.tolist() == [[0.0, 1.0]]


def test_softmax_delta_through_its_jacobian_matches_the_simplification():
    # Quadratic cost with softmax uses the full Jacobian; cross-entropy with
    # softmax uses a − t. Check the Jacobian path against an explicit matrix.
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 1))
    sm = activations.get("softmax")
    a = sm.f(z)
    g = rng.standard_normal((4, 1))
    J = np.diagflat(a) - a @ a.T  # ∂a_i/∂z_j = a_i(δ_ij − a_j)
    np.testing.assert_allclose(sm.backprop(g, z, a), J.T @ g, atol=1e-15)
    t = np.array([[0.0], [1.0], [0.0], [0.0]])
    ce = costs.get("cross-entropy")
    general = sm.backprop(ce.grad_a(a, t, sm), z, a)  # BP1 in general
    np.testing.assert_allclose(ce.delta(z, a, t, sm), general, atol=1e-14)
    assert ce.simplified_delta(sm)


def test_sigmoid_cross_entropy_simplification_is_bp1():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((3, 2))
    sig = activations.get("sigmoid")
    a, t = sig.f(z), rng.random((3, 2))
    ce = costs.get("cross-entropy")
    general = sig.backprop(ce.grad_a(a, t, sig), z, a)
    np.testing.assert_allclose(ce.delta(z, a, t, sig), general, atol=1e-14)


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    net = bp.Network([3, 4, 2], seed=0)
    X, T = data([3, 4, 2], 3, "sigmoid")
    real = bp.Network.backward

    def broken(self, trace, T):
        g = real(self, trace, T)
        g.W[1] *= 1.01  # a 1 % error in ∂C/∂W¹
        return g

    monkeypatch.setattr(bp.Network, "backward", broken)
    result = bp.gradcheck(net, X, T)
    assert not result.passed
    assert result.W[1] == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert result.W[2] < 1e-7
    assert "FAIL" in str(result)


def test_gradcheck_leaves_a_float32_network_unchanged():
    net = bp.Network([3, 4, 2], seed=0, dtype="float32")
    before = [w.copy() for w in net.params()]
    X, T = data([3, 4, 2], 3, "sigmoid")
    assert bp.gradcheck(net, X, T).passed
    for w, w0 in zip(net.params(), before):
        assert w.dtype == np.float32 and np.array_equal(w, w0)


def test_copy_and_astype_are_independent():
    net = bp.Network([3, 4, 2], seed=0)
    dup = net.copy()
    dup.W[1][0, 0] += 1
    assert dup.W[1][0, 0] != net.W[1][0, 0]
    f32 = net.astype("float32")
    assert f32.W[2].dtype == np.float32 and net.W[2].dtype == np.float64
