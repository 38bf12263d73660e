"""The compiled kernel computes the readable step's numbers.

The reference is the readable maths run batch by batch: ``Network.gradients``
(BP1–BP4) or, with dropout, the same equations with the masks written out,
plus the L2 term and ``optimizers.py``'s ``step``. Dropout masks are drawn in
the readable step's order from a generator with the same seed. Float64 agrees
to 1e-12, float32 to float32 precision; two runs agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="needs numba (the compiled engine): pip install 'numba>=0.59'")

from backprop import _blas  # noqa: E402
from backprop import optimizers as optim  # noqa: E402
from backprop.jit.step import BLOCKED_MAX_BATCH, JitStep  # noqa: E402
from backprop.network import Network  # noqa: E402

HIDDEN = ["sigmoid", "tanh", "relu", "leaky-relu", "identity"]
OUTPUTS = [  # (output activation, cost)
    ("sigmoid", "quadratic"),
    ("sigmoid", "cross-entropy"),
    ("softmax", "cross-entropy"),
    ("softmax", "quadratic"),
    ("identity", "quadratic"),
    ("tanh", "quadratic"),
]
N, BS = 23, 5  # 5 batches per epoch, the last one of 3 rows


def make(sizes, hidden="sigmoid", output="sigmoid", cost="quadratic", dtype="float64", seed=3):
    net = Network(sizes, activation=hidden, output=output, cost=cost, seed=seed, dtype=dtype)
    for l in range(1, net.L + 1):  # wide layers: weights ~ N(0, 1/n_{l-1}), so nothing saturates
        if sizes[l - 1] > 8:
            net.W[l] *= 1.0 / sizes[l - 1] ** 0.5
    rng = np.random.default_rng(seed + 100)
    X = rng.normal(size=(N, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], N)
    T = np.eye(sizes[-1], dtype=dtype)[labels] if sizes[-1] > 1 else labels[:, None].astype(dtype)
    perm = rng.permutation(N)
    return net, X, T, labels, perm


def readable_batch(net, Xb, Tb, masks):
    """(∂C₀/∂W, ∂C₀/∂b, Σ C_x, a^L) of one batch, as the readable step computes them."""
    if masks is None:
        trace = net.forward(Xb)
        g = net.backward(trace, Tb)
        z, a = trace.z[net.L], trace.a[net.L]
        dW, db = list(g.W), list(g.b)
    else:  # the equations with r^l/q written out (training._Step.gradients)
        L, m = net.L, len(Xb)
        z, s, a = [None] * (L + 1), [None] * (L + 1), [Xb.T] + [None] * L
        for l in range(1, L + 1):
            z[l] = net.W[l] @ a[l - 1] + net.b[l]
            s[l] = net.act[l].f(z[l])
            a[l] = s[l] if masks[l] is None else s[l] * masks[l]
        delta = [None] * (L + 1)
        delta[L] = net.cost_fn.delta(z[L], a[L], Tb.T, net.act[L])
        for l in range(L - 1, 0, -1):
            delta[l] = (net.W[l + 1].T @ delta[l + 1]) * net.act[l].prime(z[l], s[l]) * masks[l]
        dW = [delta[l] @ a[l - 1].T / m for l in range(1, L + 1)]
        db = [delta[l].sum(axis=1, keepdims=True) / m for l in range(1, L + 1)]
        z, a = z[L], a[L]
    c = float(net.cost_fn.value(z, a, Tb.T, net.act[net.L]).sum())
    return dW, db, c, a


def readable_run(net, opt, X, T, labels, perm, lr, *, l2=0.0, dropout=0.0, seed=7, batches=None,
                 blas=None, bs=BS):  # fmt: skip
    """Train like the readable step; return (Σ C_x, hits, examples)."""
    rng, q, L = np.random.default_rng(seed), 1.0 - dropout, net.L
    batches = -(-len(perm) // bs) if batches is None else batches
    total, hits, count = 0.0, 0, 0
    for k in range(batches):
        idx = perm[k * bs : (k + 1) * bs]
        Xb, Tb, m = X[idx], T[idx], len(idx)
        masks = None
        if q < 1:
            masks = [None] * (L + 1)
            for l in range(1, L):
                keep = rng.random((net.sizes[l], m), dtype=net.dtype) < q
                masks[l] = keep.astype(net.dtype) * (1 / q)
        dW, db, c, a = readable_batch(net, Xb, Tb, masks)
        total, count = total + c, count + m
        if net.sizes[-1] > 1:
            hits += int((a.argmax(axis=0) == labels[idx]).sum())
        grads = []
        for l in range(1, L + 1):
            g = dW[l - 1] + (l2 / len(perm)) * net.W[l] if l2 else dW[l - 1]
            grads += [g, db[l - 1]]
        opt.lr = lr
        opt.step(net.params(), grads)
    return total, hits, count


def jit_run(net, opt, X, T, labels, perm, lr, *, l2=0.0, dropout=0.0, seed=7, batches=None,
            blas=None, bs=BS):  # fmt: skip
    rng = np.random.default_rng(seed)
    step = JitStep(net, opt, l2=l2, n_train=len(perm), dropout=dropout, rng=rng)
    if blas is not None:  # the layers whose products must go to the BLAS
        if _blas.binding() is None:
            pytest.skip("NumPy's OpenBLAS cannot be bound here (the BLAS products are off)")
    batches = -(-len(perm) // bs) if batches is None else batches
    kind = "argmax" if net.sizes[-1] > 1 else None
    done = step.run_batches(X, T, perm, bs, 0, batches, lr, labels, kind)
    assert done == batches
    if blas is not None:  # small batches: the forward products in the kernel's blocked loops
        (spec,) = step._kernels
        assert spec.blas == blas
        assert spec.blocked == (bs <= BLOCKED_MAX_BATCH)
    return step.running


def assert_same_training(sizes, hidden, output, cost, *, opt="sgd", lr=0.3, dtype="float64", **kw):
    net, X, T, labels, perm = make(sizes, hidden, output, cost, dtype)
    ref = net.copy()
    hyper = {"momentum": 0.8}
    running = jit_run(net, optim.get(opt, lr, **hyper), X, T, labels, perm, lr, **kw)
    ref_opt = optim.get(opt, lr, **hyper)
    total, hits, count = readable_run(ref, ref_opt, X, T, labels, perm, lr, **kw)
    tol = 1e-12 if dtype == "float64" else 2e-5
    for p, q in zip(net.params(), ref.params()):
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p, q, rtol=tol, atol=tol)
    assert running[2] == count == N
    assert running[0] == pytest.approx(total, rel=tol * 10)
    if net.sizes[-1] > 1 and dtype == "float64":
        assert running[1] == hits
    return net


@pytest.mark.parametrize("output,cost", OUTPUTS)
def test_one_layer_every_output_and_cost(output, cost):
    assert_same_training([4, 3], "sigmoid", output, cost)


@pytest.mark.parametrize("output,cost", OUTPUTS)
def test_every_hidden_activation_at_depth_six(output, cost):
    """One network with every hidden activation, one per layer (each is compiled alone)."""
    assert_same_training([4, 6, 5, 4, 5, 6, 3], HIDDEN, output, cost, lr=0.02)


@pytest.mark.parametrize("depth", [2, 3])
def test_shallower_networks(depth):
    sizes = [4, 6, 5, 3][: depth + 1]
    assert_same_training(sizes, "relu", "softmax", "cross-entropy", lr=0.1)


@pytest.mark.parametrize("opt", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("l2", [0.0, 2.0])
def test_every_optimizer_with_and_without_l2(opt, l2):
    lr = 0.01 if opt == "adam" else 0.2
    assert_same_training([4, 6, 5, 3], "tanh", "softmax", "cross-entropy", opt=opt, lr=lr, l2=l2)


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
def test_dropout_uses_the_readable_masks(opt, hidden):
    lr = 0.01 if opt == "adam" else 0.2
    kw = {"opt": opt, "lr": lr, "dropout": 0.4, "l2": 1.0}
    assert_same_training([4, 7, 6, 3], hidden, "sigmoid", "cross-entropy", **kw)


#: layers 1 and 2 have 1,200 weights each (≥ BLAS_MIN_WEIGHTS: products in the BLAS, BP2 from
#: layer 2 too), layer 3 has 120 (the kernel's loops)
BLAS_SIZES, BLAS_LAYERS = [40, 30, 40, 3], (False, True, True, False)


@pytest.mark.parametrize("bs", [BS, 8, 20])  # blocked loops in 5s and in 4s; the GEMMs
@pytest.mark.parametrize("opt", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("l2", [0.0, 2.0])
def test_blas_layers_every_optimizer_with_and_without_l2(opt, l2, bs):
    lr = 0.01 if opt == "adam" else 0.1
    kw = {"opt": opt, "lr": lr, "l2": l2, "blas": BLAS_LAYERS, "bs": bs}
    assert_same_training(BLAS_SIZES, "sigmoid", "softmax", "cross-entropy", **kw)


@pytest.mark.parametrize("bs", [BS, 8, 20])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_blas_layers_with_dropout(opt, bs):
    lr = 0.01 if opt == "adam" else 0.1
    kw = {"opt": opt, "lr": lr, "dropout": 0.3, "blas": BLAS_LAYERS, "bs": bs}
    assert_same_training(BLAS_SIZES, "relu", "sigmoid", "quadratic", **kw)


@pytest.mark.parametrize("bs", [BS, 8, 20])
def test_blas_output_layer_float32(bs):
    """[30, 41, 30]: both layers in the BLAS, the output's z^L written by the GEMM or, with
    small batches, the blocked loops: 41 neurons are 20 pairs and one left over (in fives),
    13 threes and two left over (in fours, and for the rows after the fours)."""
    kw = {"lr": 0.1, "dtype": "float32", "blas": (False, True, True), "bs": bs}
    assert_same_training([30, 41, 30], "tanh", "identity", "quadratic", **kw)


@pytest.mark.parametrize("bs", [BS, 20])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_mid_sized_layer_goes_to_the_blas_with_larger_batches(opt, bs):
    """[40, 30, 12, 3]: layer 2's 360 weights are the kernel's loops with batches of 5 and the
    BLAS's with batches of 20 (≥ BLAS_MIN_WEIGHTS_LARGE_BATCH); layer 3's 36 never are."""
    lr = 0.01 if opt == "adam" else 0.1
    blas = (False, True, bs > BLOCKED_MAX_BATCH, False)
    kw = {"opt": opt, "lr": lr, "l2": 1.0, "blas": blas, "bs": bs}
    assert_same_training([40, 30, 12, 3], "relu", "softmax", "cross-entropy", **kw)


@pytest.mark.parametrize("bs", [BS, 6, 20])
def test_wide_input_rows_gathered_four_at_a_time(bs):
    """[70, 30, 5]: rows of 64 inputs or more are gathered four at a time and the rest one by
    one (23 rows in batches of 5, 6 and 20: remainders of 1, 2 and 3 rows, and a last partial
    batch), their targets and labels prefetched meanwhile: the same weights, cost and hits."""
    kw = {"lr": 0.2, "blas": (False, True, False), "bs": bs}
    assert_same_training([70, 30, 5], "sigmoid", "softmax", "cross-entropy", **kw)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("opt", ["sgd", "nesterov", "adam"])
def test_float32_to_float32_precision(opt, dropout):
    lr = 0.01 if opt == "adam" else 0.2
    kw = {"opt": opt, "lr": lr, "dropout": dropout, "dtype": "float32"}
    assert_same_training([4, 6, 5, 3], "sigmoid", "softmax", "cross-entropy", **kw)


def test_single_output_with_threshold_accuracy():
    net, X, T, labels, perm = make([3, 4, 1], "tanh", "sigmoid", "cross-entropy")
    labels = (X[:, 0] > 0).astype(np.intp)
    T = labels[:, None].astype(float)
    ref = net.copy()
    step = JitStep(net, optim.get("sgd", 0.5), n_train=N)
    # one step per batch through __call__, then the threshold accuracy of the first forward pass
    a = ref.forward(X[perm[:BS]]).a[ref.L][0]
    step.run_batches(X, T, perm, BS, 0, 1, 0.5, labels, "threshold")
    assert step.running[1] == int(((a > 0.5) == (labels[perm[:BS]] == 1)).sum())
    readable_run(ref, optim.get("sgd", 0.5), X, T, labels, perm, 0.5, batches=1)
    for p, q in zip(net.params(), ref.params()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)


def test_split_ranges_and_single_batches_equal_one_call():
    """Batches 0..4 in one call, in calls 0..2 + 2..5, and one __call__ per batch: same bits."""
    nets, rngs = [], []
    for how in ("whole", "split", "per-batch"):
        net, X, T, labels, perm = make([4, 6, 3], "relu", "softmax", "cross-entropy")
        rng = np.random.default_rng(11)
        opt = optim.get("adam", 0.01)
        step = JitStep(net, opt, l2=0.5, n_train=N, dropout=0.2, rng=rng)
        if how == "whole":
            assert step.run_batches(X, T, perm, BS, 0, 5, 0.01) == 5
        elif how == "split":
            assert step.run_batches(X, T, perm, BS, 0, 2, 0.01) == 2
            assert step.run_batches(X, T, perm, BS, 2, 5, 0.01) == 3
        else:
            for k in range(5):
                step(X, T, perm[k * BS : (k + 1) * BS], 0.01)
        assert opt.t == 5
        nets.append(net)
        rngs.append(rng.random())
    for other in nets[1:]:
        for p, q in zip(nets[0].params(), other.params()):
            assert np.array_equal(p, q)
    assert rngs[0] == rngs[1] == rngs[2]  # the generator is left where the readable step leaves it


def test_bit_reproducible():
    results = []
    for _ in range(2):
        net, X, T, labels, perm = make([4, 8, 5, 3], "sigmoid", "softmax", "cross-entropy")
        rng = np.random.default_rng(5)
        step = JitStep(net, optim.get("momentum", 0.1), dropout=0.25, rng=rng)
        step.run_batches(X, T, perm, BS, 0, 5, 0.1, labels, "argmax")
        results.append((net.params(), step.running.copy()))
    for p, q in zip(results[0][0], results[1][0]):
        assert np.array_equal(p, q)
    assert np.array_equal(results[0][1], results[1][1])


def test_stops_at_the_first_batch_that_makes_the_output_bias_non_finite():
    net, X, T, labels, perm = make([4, 6, 3], "relu", "identity", "quadratic")
    X = X * 1e3
    ref = net.copy()
    step = JitStep(net, optim.get("sgd", 1e6), n_train=N)
    done = step.run_batches(X, T, perm, 1, 0, N, 1e6)
    # the readable run, one batch at a time, finds the same batch
    opt = optim.get("sgd", 1e6)
    with np.errstate(all="ignore"):
        for k in range(N):
            g = ref.gradients(X[perm[k : k + 1]], T[perm[k : k + 1]])
            opt.step(ref.params(), [a for l in ref.W.keys() for a in (g.W[l], g.b[l])])
            if not np.isfinite(ref.b[ref.L][0, 0]):
                break
    assert done == k + 1 < N
    assert not np.isfinite(net.b[net.L][0, 0])


def test_rebound_parameter_is_taken_over():
    net, X, T, labels, perm = make([4, 5, 3])
    step = JitStep(net, optim.get("sgd", 0.1), n_train=N)
    net.W[1] = np.zeros_like(net.W[1])
    ref = net.copy()
    step.run_batches(X, T, perm, BS, 0, 1, 0.1)
    readable_run(ref, optim.get("sgd", 0.1), X, T, labels, perm, 0.1, batches=1)
    np.testing.assert_allclose(net.W[1], ref.W[1], rtol=1e-12, atol=1e-12)
    assert step.params[0] is net.W[1]
