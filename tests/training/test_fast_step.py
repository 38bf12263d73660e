"""The fast training step computes what the readable one does.

The readable step (``train(..., engine="readable")``, :class:`ReadableStep`) is
``Network.forward``/``Network.backward`` (BP1–BP4 as written in network.py)
followed by the optimiser. Every engine variant of :class:`FastStep` — the
fused GEMMs on NumPy's BLAS (``gemm``, every layer fused), NumPy calls only
(``dot``), and the step without the BLAS binding (``no-ffi``) — is held equal
to it in float64 to 1e-12, for every activation × cost × depth, L2, dropout,
every optimiser and partial last batches. Plain SGD is also checked against
an SGD update written out here from ``Network.gradients``, and L2 against
Nielsen's W ← (1 − αλ/n) W − α ∂C₀/∂W.
"""

import itertools
import tracemalloc

import numpy as np
import pytest

import backprop as bp
from backprop import _blas, activations, costs, fast
from backprop import optimizers as optim
from backprop.errors import ConfigError
from backprop.fast import tape
from backprop.training import metrics, prepare
from backprop.training.step import ReadableStep

HIDDEN = ["sigmoid", "tanh", "relu", "leaky-relu", "identity"]
OUTPUT_COST = [(out, "quadratic") for out in [*HIDDEN, "softmax"]] + [
    ("sigmoid", "cross-entropy"),
    ("softmax", "cross-entropy"),
]
DEPTH_SIZES = {1: [4, 3], 2: [4, 6, 3], 3: [4, 6, 5, 3], 4: [5, 7, 4, 6, 2]}
# 11 rows in batches of 4: two full batches and a last partial one of 3
BATCHES = [np.array([7, 2, 9, 0]), np.array([4, 10, 1, 5]), np.array([3, 8, 6])]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
VARIANTS = ["gemm", "dot", "no-ffi"]


@pytest.fixture(params=VARIANTS)
def variant(request, monkeypatch):
    """gemm: every layer through the fused GEMM; dot: none; no-ffi: FastStep(ffi=False)."""
    if request.param == "gemm" and _blas.binding() is None:
        pytest.skip("NumPy is not linked to its bundled OpenBLAS here: no BLAS binding")
    monkeypatch.setattr(tape, "FUSE_MIN_WORK", 0 if request.param == "gemm" else 1 << 60)
    return request.param


def _fast(net, opt, variant, **kw):
    step = fast.FastStep(net, opt, ffi=variant != "no-ffi", **kw)
    assert (step.gemm is None) == (variant == "no-ffi" or _blas.binding() is None)
    return step


def _data(sizes, output, n=11, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    T = rng.random((n, sizes[-1])).astype(dtype)
    if output == "softmax":
        T /= T.sum(axis=1, keepdims=True)
    return X, T


def _net(sizes, hidden, output, cost, dtype="float64", seed=3):
    return bp.Network(sizes, activation=hidden, output=output, cost=cost, init="scaled-normal",
                      seed=seed, dtype=dtype)  # fmt: skip


def _reference_sgd(net, X, T, rows, lr, l2=0.0, n=11):
    """One SGD step from Network.gradients; with L2, Nielsen's (1 − αλ/n) W − α ∂C₀/∂W."""
    g = net.gradients(X[rows], T[rows])
    for l in net.W.keys():
        net.W[l][...] = (1 - lr * l2 / n) * net.W[l] - lr * g.W[l]
        net.b[l][...] = net.b[l] - lr * g.b[l]


def _max_rel(a_net, b_net):
    return max(
        float(np.abs(p - q).max() / max(1.0, np.abs(q).max()))
        for p, q in zip(a_net.params(), b_net.params())
    )


def _cases():
    for depth, (out, cost) in itertools.product(DEPTH_SIZES, OUTPUT_COST):
        for hidden in HIDDEN if depth > 1 else HIDDEN[:1]:
            yield pytest.param(depth, hidden, out, cost, id=f"L{depth}-{hidden}-{out}-{cost}")


@pytest.mark.parametrize("depth, hidden, output, cost", list(_cases()))
def test_sgd_steps_equal_the_readable_step_float64(depth, hidden, output, cost, variant):
    sizes = DEPTH_SIZES[depth]
    X, T = _data(sizes, output, seed=depth)
    net = _net(sizes, hidden, output, cost)
    readable, by_hand = net.copy(), net.copy()
    params = net.params()
    step = _fast(net, optim.SGD(0.1), variant, n_train=11)
    slow = ReadableStep(readable, optim.SGD(0.1), n_train=11)
    for lr, rows in zip((0.1, 0.1, 0.05), BATCHES):  # includes a learning-rate change
        cost_before = by_hand.cost(X[rows], T[rows])
        step(X, T, rows, lr)
        slow(X, T, rows, lr)
        _reference_sgd(by_hand, X, T, rows, lr)
        assert step.last_cost() == pytest.approx(cost_before, rel=1e-12, abs=1e-14)
        assert slow.last_cost() == pytest.approx(cost_before, rel=1e-12, abs=1e-14)
    assert _max_rel(net, readable) < 1e-12
    assert _max_rel(readable, by_hand) < 1e-12
    assert all(p is q for p, q in zip(net.params(), params))  # updated in place


@pytest.mark.parametrize("depth, hidden, output, cost", list(_cases())[::3])
def test_sgd_steps_float32_close_to_float64(depth, hidden, output, cost, variant):
    sizes = DEPTH_SIZES[depth]
    X, T = _data(sizes, output, seed=depth)
    net64 = _net(sizes, hidden, output, cost)
    net32 = net64.astype("float32")
    step = _fast(net32, optim.SGD(0.1), variant, n_train=11)
    for rows in BATCHES:
        step(X.astype(np.float32), T.astype(np.float32), rows, 0.1)
        _reference_sgd(net64, X, T, rows, 0.1)
    assert all(p.dtype == np.float32 for p in net32.params())
    assert _max_rel(net32, net64) < 2e-5


@pytest.mark.parametrize("output, cost", [("sigmoid", "quadratic"), ("sigmoid", "cross-entropy"),
                                          ("softmax", "cross-entropy")])  # fmt: skip
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_compiled_sigmoid_float32_close_to_float64(output, cost, dropout, variant, monkeypatch):
    """Large float32 sigmoid layers take σ and σ' from one compiled pass (numba): every layer
    here (the threshold lowered to 0), hidden (in place, prescaled by the fused GEMM or not)
    and output (σ on a copy of z^L, which the cost keeps). The same steps with NumPy's σ in
    float32 (same dropout masks) and, without dropout, the readable step in float64 agree."""
    pytest.importorskip("numba")
    from backprop import _vmath

    sizes = [5, 7, 4, 6, 3]
    X, T = _data(sizes, output, seed=5)
    net64 = _net(sizes, "sigmoid", output, cost)
    steps = {}
    for threshold in (0, 1 << 60):  # compiled, NumPy
        monkeypatch.setattr(activations, "COMPILED_SIGMOID_MIN", threshold)
        net32 = net64.astype("float32")
        step = _fast(net32, optim.SGD(0.5), variant, n_train=11, dropout=dropout,
                     rng=np.random.default_rng(1))  # fmt: skip
        for rows in BATCHES:
            step(X.astype(np.float32), T.astype(np.float32), rows, 0.5)
        steps[threshold] = step
    compiled = (_vmath.sigmoid_f32, _vmath.sigmoid_prime_f32)
    used = {f for t in steps[0]._tapes.values() for f, _ in t.ops if any(f is c for c in compiled)}
    # σ' everywhere but an output whose cost cancels it (sigmoid + cross-entropy: σ alone)
    cancels = (output, cost) == ("sigmoid", "cross-entropy")
    assert used == {_vmath.sigmoid_prime_f32} | ({_vmath.sigmoid_f32} if cancels else set())
    assert _max_rel(steps[0].net, steps[1 << 60].net) < 2e-5
    if not dropout:
        ref = ReadableStep(net64, optim.SGD(0.5), n_train=11)
        for rows in BATCHES:
            ref(X, T, rows, 0.5)
        assert _max_rel(steps[0].net, net64) < 2e-5


@pytest.mark.parametrize("l2", [0.0, 5.0])
def test_l2_is_nielsen_weight_decay(l2, variant):
    sizes = DEPTH_SIZES[3]
    X, T = _data(sizes, "sigmoid")
    net = _net(sizes, "tanh", "sigmoid", "cross-entropy")
    ref, readable = net.copy(), net.copy()
    step = _fast(net, optim.SGD(0.3), variant, l2=l2, n_train=11)
    slow = ReadableStep(readable, optim.SGD(0.3), l2=l2, n_train=11)
    for rows in BATCHES:
        step(X, T, rows, 0.3)
        slow(X, T, rows, 0.3)
        _reference_sgd(ref, X, T, rows, 0.3, l2=l2, n=11)
    assert _max_rel(net, ref) < 1e-12
    assert _max_rel(readable, ref) < 1e-12


@pytest.mark.parametrize("name", ["momentum", "nesterov", "adam"])
def test_other_optimisers_receive_the_gradients(name, variant):
    sizes = DEPTH_SIZES[3]
    X, T = _data(sizes, "softmax")
    net = _net(sizes, "relu", "softmax", "cross-entropy")
    ref, readable = net.copy(), net.copy()
    opt, ref_opt = optim.get(name, 0.05), optim.get(name, 0.05)
    step = _fast(net, opt, variant, l2=2.0, n_train=11)
    slow = ReadableStep(readable, optim.get(name, 0.05), l2=2.0, n_train=11)
    for rows in BATCHES * 2:
        step(X, T, rows, 0.05)
        slow(X, T, rows, 0.05)
        g = ref.gradients(X[rows], T[rows])
        grads = []
        for l in ref.W.keys():
            grads += [g.W[l] + (2.0 / 11) * ref.W[l], g.b[l]]  # ∂C/∂W = ∂C₀/∂W + (λ/n) W
        ref_opt.step(ref.params(), grads)
    assert _max_rel(net, ref) < 1e-12
    assert _max_rel(readable, ref) < 1e-12
    assert opt.lr == 0.05


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_dropout_equals_the_readable_step_with_the_same_generator(hidden, name, variant):
    sizes = DEPTH_SIZES[4]
    X, T = _data(sizes, "sigmoid")
    net = _net(sizes, hidden, "sigmoid", "quadratic")
    ref = net.copy()
    step = _fast(net, optim.get(name, 0.1), variant, l2=0.5, n_train=11, dropout=0.3,
                 rng=np.random.default_rng(42))  # fmt: skip
    slow = ReadableStep(ref, optim.get(name, 0.1), l2=0.5, n_train=11, dropout=0.3,
                        rng=np.random.default_rng(42))  # fmt: skip
    for rows in BATCHES * 2:
        step(X, T, rows, 0.1)
        slow(X, T, rows, 0.1)
        assert step.last_cost() == pytest.approx(slow.last_cost(), rel=1e-12)
    assert _max_rel(net, ref) < 1e-12
    assert step.rng.random() == slow.rng.random()  # the same number of draws


@pytest.mark.parametrize(
    "settings",
    [
        dict(optimizer="sgd", l2=0.5),
        dict(optimizer="momentum", dropout=0.2),
        dict(optimizer="adam", l2=1.0, dropout=0.1, schedule="step:1:0.5"),
        dict(optimizer="nesterov", validation_fraction=0.2),
    ],
    ids=["sgd-l2", "momentum-dropout", "adam-l2-dropout-schedule", "nesterov-validation"],
)
def test_train_readable_equals_fast_after_whole_epochs(settings):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((203, 8))  # 203 rows, batches of 16: a partial last batch
    y = rng.integers(0, 4, 203)
    net = bp.Network([8, 12, 9, 4], activation=["relu", "tanh"], output="softmax",
                     cost="cross-entropy", init="scaled-normal", seed=1)  # fmt: skip
    runs = {}
    for engine in ["readable", "fast", "fast-no-ffi", "auto"]:
        trained = net.copy()
        h = bp.train(trained, X, y, epochs=3, batch_size=16, lr=0.05, seed=4, engine=engine,
                     **settings)  # fmt: skip
        runs[engine] = (trained, h)
    readable, h_readable = runs.pop("readable")
    assert _max_rel(net, readable) > 1e-3  # it trained
    for engine, (trained, h) in runs.items():
        assert _max_rel(trained, readable) < 1e-12, engine
        np.testing.assert_allclose(h.train_cost, h_readable.train_cost, rtol=1e-12)
        assert h.train_accuracy == h_readable.train_accuracy


def test_engine_names_are_checked_and_chosen():
    X, y = _data([3, 4, 2], "sigmoid")[0], np.arange(11) % 2
    net = bp.Network([3, 4, 2], seed=0)
    with pytest.raises(ConfigError, match="auto, fast, fast-no-ffi, readable"):
        bp.train(net, X, y, epochs=1, batch_size=4, lr=0.1, engine="turbo")
    seen = []

    class Spy(bp.Callback):
        def on_train_begin(self, state):
            seen.append((type(state.step).__name__, getattr(state.step, "gemm", None) is None))

    for engine in ["readable", "fast-no-ffi", "auto"]:
        bp.train(net.copy(), X, y, epochs=1, batch_size=4, lr=0.1, engine=engine,
                 callbacks=[Spy()])  # fmt: skip
    assert seen[:2] == [("ReadableStep", True), ("FastStep", True)]
    assert seen[2] == ("FastStep", _blas.binding() is None)


def test_a_rebound_parameter_array_is_trained_not_orphaned(variant):
    """``net.W[l] = new`` between steps: the fast step notices and trains the new array."""
    sizes = DEPTH_SIZES[3]
    X, T = _data(sizes, "sigmoid")
    net = _net(sizes, "sigmoid", "sigmoid", "quadratic")
    ref = net.copy()
    step = _fast(net, optim.SGD(0.2), variant, n_train=11)
    slow = ReadableStep(ref, optim.SGD(0.2), n_train=11)
    step(X, T, BATCHES[0], 0.2)
    slow(X, T, BATCHES[0], 0.2)
    new_W2 = np.full_like(net.W[2], 0.1)
    net.W[2] = new_W2  # rebinding, not an in-place change
    ref.W[2] = new_W2.copy()
    for rows in BATCHES:
        step(X, T, rows, 0.2)
        slow(X, T, rows, 0.2)
    assert net.W[2] is new_W2 and step.params[2] is new_W2
    assert not np.array_equal(new_W2, np.full_like(new_W2, 0.1))  # the new array was trained
    assert _max_rel(net, ref) < 1e-12
    net.W[1] = np.zeros((2, 2))  # another shape: refused with a clear message
    with pytest.raises(ConfigError, match="another shape"):
        step(X, T, BATCHES[0], 0.2)


def test_source_network_one_example_by_hand():
    """The source's 3-4-2 sigmoid network, quadratic cost, one example, α = 0.5.

    The reference is written out here with NumPy, equation by equation.
    """
    net = bp.Network([3, 4, 2], seed=0)
    W1, b1, W2, b2 = (p.copy() for p in net.params())
    x = np.array([[0.1], [0.5], [0.9]])
    t = np.array([[1.0], [0.0]])
    z1 = W1 @ x + b1
    a1 = 1 / (1 + np.exp(-z1))
    z2 = W2 @ a1 + b2
    a2 = 1 / (1 + np.exp(-z2))
    d2 = (a2 - t) * a2 * (1 - a2)  # BP1
    d1 = (W2.T @ d2) * a1 * (1 - a1)  # BP2
    step = fast.FastStep(net, optim.SGD(0.5), n_train=1)
    step(x.T, t.T, np.array([0]), 0.5)
    np.testing.assert_allclose(net.W[2], W2 - 0.5 * d2 @ a1.T, rtol=1e-13)  # BP4
    np.testing.assert_allclose(net.b[2], b2 - 0.5 * d2, rtol=1e-13)  # BP3
    np.testing.assert_allclose(net.W[1], W1 - 0.5 * d1 @ x.T, rtol=1e-13)
    np.testing.assert_allclose(net.b[1], b1 - 0.5 * d1, rtol=1e-13)


def test_no_array_is_allocated_per_step():
    sizes = [20, 600, 600, 10]
    X, T = _data(sizes, "softmax", n=64, dtype="float32")
    net = _net(sizes, "relu", "softmax", "cross-entropy", dtype="float32")
    step = fast.FastStep(net, optim.SGD(0.1), l2=1.0, n_train=64, dropout=0.2,
                           rng=np.random.default_rng(0))  # fmt: skip
    idx = np.arange(32)
    step(X, T, idx, 0.1)  # builds the buffers
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(50):
            step(X, T, idx, 0.1)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # one (600, 32) float32 array is 76,800 bytes; NumPy allocates only iterator scratch
    # for broadcasting and casting (at most 8,192 elements), and keeps nothing
    assert peak - before < 40_000
    assert current - before < 1000


def test_buffers_are_kept_for_the_full_and_the_last_batch_size():
    sizes = DEPTH_SIZES[2]
    X, T = _data(sizes, "sigmoid")
    step = fast.FastStep(_net(sizes, "sigmoid", "sigmoid", "quadratic"), optim.SGD(0.1))
    tapes = []
    for _ in range(3):
        for rows in BATCHES:
            step(X, T, rows, 0.1)
            tapes.append(step._tape)
    assert len({id(t) for t in tapes}) == 2  # one for m = 4, one for m = 3


def test_fused_gemm_is_found_on_numpys_blas():
    from threadpoolctl import threadpool_info

    numpy_openblas = [
        p for p in threadpool_info() if p["internal_api"] == "openblas" and "numpy" in p["filepath"]
    ]
    if not numpy_openblas:
        pytest.skip("NumPy is not linked to its bundled OpenBLAS here")
    assert fast.fused_gemm_available()


def test_unsupported_names_what_the_fast_step_cannot_do():
    net = bp.Network([3, 4, 2], seed=0)
    assert fast.unsupported(net) is None

    class Softplus(activations.Activation):
        name = "softplus"

        def f(self, z):
            return np.logaddexp(0, z)

        def prime(self, z, a):
            return 1 / (1 + np.exp(-z))

    custom = bp.Network([3, 4, 2], activation=[Softplus()], output="sigmoid", seed=0)
    assert "softplus" in fast.unsupported(custom)

    class Halved(costs.Quadratic):  # overrides the maths, inherits the kernels: not trusted
        def value(self, z, a, t, output):
            return 0.5 * super().value(z, a, t, output)

    class Renamed(costs.Quadratic):  # overrides no maths: the kernels still fit
        name = "renamed"

    net.cost_fn = Renamed()
    assert fast.unsupported(net) is None
    net.cost_fn = Halved()
    assert "quadratic" in fast.unsupported(net)
    with pytest.raises(ValueError, match="cannot train"):
        fast.FastStep(net, optim.SGD(0.1))
    fortran = bp.Network([3, 4, 2], seed=0)
    fortran.W[1] = np.asfortranarray(fortran.W[1])
    assert "C-contiguous" in fast.unsupported(fortran)


# -- evaluation (fast.Evaluator behind training.metrics.evaluate_dataset) -------

EVAL_TARGETS = [
    # (output, cost, targets): labels → argmax accuracy, 0/1 single output → threshold,
    # soft or real-valued rows → no accuracy
    *[(out, "quadratic", "labels") for out in ("sigmoid", "softmax", "tanh", "identity")],
    ("sigmoid", "cross-entropy", "labels"),
    ("softmax", "cross-entropy", "labels"),
    ("sigmoid", "cross-entropy", "soft"),
    ("softmax", "cross-entropy", "soft"),
    ("sigmoid", "quadratic", "binary"),
    ("sigmoid", "cross-entropy", "binary"),
    ("identity", "quadratic", "real"),
    ("relu", "quadratic", "real"),
    ("leaky-relu", "quadratic", "real"),
]


def _eval_data(sizes, targets, m, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0])).astype(dtype)
    if targets == "labels":
        return X, rng.integers(0, sizes[-1], m)
    if targets == "binary":
        return X, rng.integers(0, 2, (m, 1)).astype(dtype)
    T = rng.random((m, sizes[-1])).astype(dtype)
    if targets == "soft":
        T /= T.sum(axis=1, keepdims=True)
    return X, T


def _reference_evaluation(net, X, Y):
    """C from Network.cost, accuracy from Network.predict: independent of training."""
    cost = net.cost(X, Y)
    A = net.predict(X)
    if Y.ndim == 1:
        return cost, float(np.mean(A.argmax(axis=1) == Y))
    if Y.shape[1] == 1 and np.isin(Y, (0, 1)).all():
        return cost, float(np.mean((A[:, 0] > 0.5) == (Y[:, 0] == 1)))
    return cost, None


def _eval_cases():
    for (out, cost, targets), hidden in itertools.product(EVAL_TARGETS, HIDDEN):
        yield pytest.param(out, cost, targets, hidden, id=f"{hidden}-{out}-{cost}-{targets}")


@pytest.mark.parametrize("m", [5, 8, 27], ids=["under-a-chunk", "one-chunk", "3-chunks-and-3"])
@pytest.mark.parametrize("output, cost, targets, hidden", list(_eval_cases()))
def test_evaluation_equals_network_cost_and_predict(output, cost, targets, hidden, m):
    sizes = [4, 6, 5, 1 if targets == "binary" else 3]
    net = _net(sizes, hidden, output, cost, seed=m)
    X, Y = _eval_data(sizes, targets, m, seed=m)
    data = prepare(net, X, Y)
    got = metrics.evaluate_dataset(net, data, chunk=8)
    assert isinstance(data.evaluator, fast.Evaluator)  # the fast path, not the fallback
    want = _reference_evaluation(net, X, Y)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert got[1] == want[1]
    # a second call reuses the buffers and gives the same numbers
    assert metrics.evaluate_dataset(net, data, chunk=8) == got

    net32 = net.astype("float32")
    X32 = X.astype("float32")
    Y32 = Y if Y.dtype.kind == "i" else Y.astype("float32")
    got32 = metrics.evaluate_dataset(net32, prepare(net32, X32, Y32), chunk=8)
    assert got32[0] == pytest.approx(want[0], rel=2e-5)
    if want[1] is not None:
        assert abs(got32[1] - want[1]) <= 1 / m  # at most one near-tie decided otherwise


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_evaluation_cross_entropy_is_finite_and_exact_for_saturated_outputs(output):
    """|z| in the hundreds: ln a comes from z (softplus / log-sum-exp), never from a = 0 or 1."""
    sizes = [4, 6, 3]
    net = _net(sizes, "tanh", output, "cross-entropy")
    for l in range(1, net.L + 1):
        net.W[l] *= 200.0
    X, y = _eval_data(sizes, "labels", 20)
    got = metrics.evaluate_dataset(net, prepare(net, X, y), chunk=8)
    want = _reference_evaluation(net, X, y)
    assert np.isfinite(got[0]) and got[0] > 10  # confidently wrong on some rows
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    assert got[1] == want[1]


def test_evaluation_follows_weight_changes_and_keeps_the_network_unchanged():
    sizes = [4, 6, 3]
    net = _net(sizes, "relu", "softmax", "cross-entropy")
    X, y = _eval_data(sizes, "labels", 30)
    data = prepare(net, X, y)
    before = [p.copy() for p in net.params()]
    metrics.evaluate_dataset(net, data, chunk=8)
    for p, q in zip(net.params(), before):
        np.testing.assert_array_equal(p, q)
    net.W[2][...] *= -1.5  # as an optimiser would: in place
    after = metrics.evaluate_dataset(net, data, chunk=8)[0]
    assert after == pytest.approx(net.cost(X, y), rel=1e-12)


def test_evaluation_does_not_allocate_per_chunk():
    sizes = [32, 400, 10]
    net = _net(sizes, "sigmoid", "softmax", "cross-entropy")
    X, y = _eval_data(sizes, "labels", 6000)
    data = prepare(net, X, y)
    metrics.evaluate_dataset(net, data, chunk=600)  # warm-up: buffers for 600 columns
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            metrics.evaluate_dataset(net, data, chunk=600)  # 10 chunks each
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # z^1 of a chunk, (400, 600) float64, is 1,920,000 bytes and is never allocated again;
    # NumPy's argmax along columns and its iterator over the (transposed) targets take
    # scratch of the output layer's size, (10, 600): 48,000 bytes, freed at once
    assert peak - before < 120_000
    assert current - before < 1000
