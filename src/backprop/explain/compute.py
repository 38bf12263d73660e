"""Computing an explanation: one gradient-descent step with every value kept, and its checks.

:func:`explain` runs the step through :class:`~backprop.Network`'s own forward and
backward passes (the one readable BP1–BP4) on a float64 copy, checks every gradient
against fourth-order central differences and returns an
:class:`~backprop.explain.model.Explanation`. :func:`source_example` builds the
source's 3-4-2 network and one example.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import validation
from ..errors import ConfigError, DataError
from ..gradcheck import relative_error
from ..network import Gradients, Layers, Network
from .model import Explanation
from .records import Check

__all__ = ["explain", "source_example"]


def explain(
    net: Network,
    X: Any,
    T: Any,
    *,
    lr: float = 0.5,
    h: float = 1e-4,
    tol: float = 1e-6,
    fd_entries: int | None = 64,
    seed: int = 0,
    source: str = "",
) -> Explanation:
    """Run one gradient-descent step on ``(X, T)`` and keep every value.

    Parameters
    ----------
    net : Network
        Left unchanged; the walkthrough runs on a float64 copy.
    X : array of shape (m, n_0) or (n_0,)
        One example, or a small mini-batch, as rows.
    T : array of shape (m, n_L), or integer labels of shape (m,)
    lr : float
        α, the learning rate of the update step.
    h, tol : float
        Step of the finite differences, and the relative error a check passes at.
    fd_entries : int or None
        Check at most this many entries of each gradient tensor (drawn from
        ``seed``); ``None`` checks every entry.
    """
    lr = validation.positive_float("the learning rate", lr)
    net64 = net.astype("float64")
    X = net64._inputs(X)  # noqa: SLF001 - Network's own validation of a⁰ (see HELPER_C note)
    m = X.shape[0]
    if m == 0:
        raise DataError("explain needs at least one example")
    t = net64._targets(T, m)  # noqa: SLF001
    trace = net64.forward(X)
    if not all(np.isfinite(a).all() for a in trace.a):
        raise DataError("the forward pass overflowed (inf/NaN); check the inputs and weights")
    grads = net64.backward(trace, t)
    L = net64.L
    sigma_prime: Layers[np.ndarray | None] = Layers(
        1,
        [
            net64.act[l].prime(trace.z[l], trace.a[l]) if net64.act[l].elementwise else None
            for l in range(1, L + 1)
        ],
    )
    rng = np.random.default_rng(seed)
    check_W, check_b = {}, {}
    for l in range(1, L + 1):
        check_W[l] = _fd_check(net64, net64.W[l], grads.W[l], X, t, h, tol, fd_entries, rng)
        check_b[l] = _fd_check(net64, net64.b[l], grads.b[l], X, t, h, tol, fd_entries, rng)
    after = _descend(net64, grads, lr)
    sq_norm = sum(float((grads.W[l] ** 2).sum() + (grads.b[l] ** 2).sum()) for l in range(1, L + 1))
    labels = _classes(t.T)
    return Explanation(
        sizes=list(net64.sizes),
        activations=net64.activations,
        cost_name=net64.cost_name,
        lr=float(lr),
        x=trace.a[0].copy(),
        t=t.T.copy(),
        W=Layers(1, [w.copy() for w in net64.W]),
        b=Layers(1, [b.copy() for b in net64.b]),
        z=trace.z,
        a=trace.a,
        sigma_prime=sigma_prime,
        delta=grads.delta,
        dW=grads.W,
        db=grads.b,
        check_W=check_W,
        check_b=check_b,
        W_after=after.W,
        b_after=after.b,
        cost=net64.cost(X, t),
        cost_after=after.cost(X, t),
        first_order=-lr * sq_norm,
        source=source,
        dtype=net.dtype,
        act_fns=list(net64.act),
        cost_fn=net64.cost_fn,
        labels=labels,
        predicted=None if labels is None else [int(k) for k in trace.a[L].argmax(axis=0)],
    )


def _classes(t: np.ndarray) -> list[int] | None:
    """Each column's class when the targets t (n_L, m) are one-hot over n_L ≥ 2 outputs."""
    if t.shape[0] < 2 or not (np.isin(t, (0.0, 1.0)).all() and (t.sum(axis=0) == 1).all()):
        return None
    return [int(k) for k in np.argmax(t, axis=0)]


def _descend(net: Network, grads: Gradients, lr: float) -> Network:
    """A copy of ``net`` after one gradient-descent step."""
    after = net.copy()
    for l in range(1, net.L + 1):
        after.W[l] = net.W[l] - lr * grads.W[l]  # W^l ← W^l − α ∂C/∂W^l
        after.b[l] = net.b[l] - lr * grads.b[l]  # b^l ← b^l − α ∂C/∂b^l
    return after


def source_example(
    sizes: Sequence[int] = (3, 4, 2),
    *,
    activation: str = "sigmoid",
    output: str | None = None,
    cost: str = "quadratic",
    init: str = "normal",
    seed: int = 0,
    batch: int = 1,
) -> tuple[Network, np.ndarray, np.ndarray]:
    """The source's network (3-4-2, sigmoid, quadratic) with weights and (x, t) from ``seed``.

    x is drawn uniformly from [0, 1] and rounded to two decimals; t is a
    one-hot target of a random class (for one output: a number in [0, 1]).
    Returns ``(net, X, T)`` with ``X`` of shape (batch, n_0), ``T`` (batch, n_L).
    """
    if batch < 1:
        raise ConfigError(f"the batch size must be at least 1, got {batch}")
    rng = np.random.default_rng(seed)
    net = Network(sizes, activation=activation, output=output, cost=cost, init=init, rng=rng)
    X = rng.uniform(0.0, 1.0, (batch, net.sizes[0])).round(2)
    n_L = net.sizes[-1]
    if n_L == 1:
        T = rng.uniform(0.0, 1.0, (batch, 1)).round(2)
    else:
        T = np.eye(n_L)[rng.integers(0, n_L, batch)]
    return net, X, T


def _fd_check(
    net: Network,
    param: np.ndarray,
    analytic: np.ndarray,
    X: np.ndarray,
    T: np.ndarray,
    h: float,
    tol: float,
    entries: int | None,
    rng: np.random.Generator,
) -> Check:
    """Fourth-order central differences of C for (a sample of) the entries of ``param``.

    For layers whose σ' jumps at 0 (``kinked``: ReLU-like) an entry whose
    perturbation moves some z across 0 is skipped: the difference quotient
    there does not approximate the derivative.
    """
    flat, grad = param.reshape(-1), analytic.reshape(-1)
    if entries is None or flat.size <= entries:
        idx = np.arange(flat.size)
    else:
        idx = np.sort(rng.choice(flat.size, size=entries, replace=False))
    kinked = [l for l in range(1, net.L + 1) if net.act[l].kinked]
    _, mask0 = _cost_and_mask(net, X, T, kinked)
    numeric = np.empty(idx.size)
    keep = np.ones(idx.size, dtype=bool)
    for n, i in enumerate(idx):
        original = flat[i]
        c = {}
        for k in (-2, -1, 1, 2):
            flat[i] = original + k * h
            c[k], mask = _cost_and_mask(net, X, T, kinked)
            if kinked and not all(np.array_equal(u, v) for u, v in zip(mask, mask0)):
                keep[n] = False
        flat[i] = original
        numeric[n] = (8 * (c[1] - c[-1]) - (c[2] - c[-2])) / (12 * h)
    err = relative_error(grad[idx][keep], numeric[keep]) if keep.any() else 0.0
    return Check(
        rel_error=float(err),
        checked=int(keep.sum()),
        total=int(flat.size),
        tol=tol,
        skipped=int((~keep).sum()),
    )


def _cost_and_mask(
    net: Network, X: np.ndarray, T: np.ndarray, kinked: list[int]
) -> tuple[float, list[np.ndarray]]:
    """C, and which z of the kinked (ReLU-like) layers are positive."""
    trace = net.forward(X)
    L = net.L
    cost = float(net.cost_fn.value(trace.z[L], trace.a[L], T.T, net.act[L]).mean())
    return cost, [trace.z[l] > 0 for l in kinked]
