"""The tape of :class:`~backprop.fast.step.FastStep`: one batch size's buffers and NumPy calls.

A :class:`Tape` is the :class:`backprop.kernels.Recorder` the activations'
and costs' kernels record into; the step replays ``ops`` for every mini-batch
of that size. The order of the recording is the order of the equations:
forward (z^l, σ, dropout), BP1, then for l = L..1 BP2 (with W^l before its
update), BP3, BP4 and the update of layer l.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _blas
from ..types import Array

if TYPE_CHECKING:
    from .step import FastStep

__all__ = ["FUSE_MIN_WORK", "Tape"]

# A layer whose update has at least this many multiply-adds (n_l · n_{l−1} · m)
# gets the fused GEMM; below it one ctypes call costs more than np.dot plus a
# subtraction (measured: ~1.4 µs against ~0.5 µs per NumPy call).
FUSE_MIN_WORK = 1 << 15


class Tape:
    """The buffers for batch size m and the step's NumPy calls, bound to them."""

    def __init__(self, step: FastStep, m: int):
        net, L = step.net, step.net.L
        n = net.sizes
        self.m, self.ran, self.dtype = m, False, step.dtype
        self.ops: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.xb = np.zeros((m, n[0]), dtype=self.dtype)  # gathered inputs, rows
        self.tb = np.zeros((m, n[L]), dtype=self.dtype)  # gathered targets, rows
        # a^l (holding z^l until σ), and z^L kept apart from a^L (for last_cost)
        self.a: list[Array] = [self.xb.T] + [self.col(n[l]) for l in range(1, L + 1)]
        self.z_out = self.col(n[L])
        # δ^l, times α/m or 1/m; index 0 unused
        self.delta: list[Array] = [self.xb.T] + [self.col(n[l]) for l in range(1, L + 1)]
        self.dW = [np.zeros_like(w) for w in (net.W[1], *net.W)]  # index 0 unused
        self.db = [np.zeros_like(b) for b in (net.b[1], *net.b)]
        self.fused = [
            step.gemm is not None and n[l] * n[l - 1] * m >= FUSE_MIN_WORK for l in range(L + 1)
        ]
        sp = self._forward(step)
        self._bp1(step, sp[L])
        self._backward(step, sp)

    # -- the Recorder interface (what the kernels call) ---------------------------

    def do(self, f: Callable[..., Any], *args: Any) -> None:
        """Record the call ``f(*args)``."""
        self.ops.append((f, args))

    def const(self, x: float) -> Array:
        """A 0-d operand of the network's dtype."""
        return np.array(x, dtype=self.dtype)

    def col(self, k: int) -> Array:
        """The book's (k, m) matrix, one column per example."""
        return np.zeros((k, self.m), dtype=self.dtype)

    def ones(self, rows: int, cols: int) -> Array:
        return np.ones((rows, cols), dtype=self.dtype)

    # -- the recording --------------------------------------------------------------

    def _forward(self, step: FastStep) -> list[Array | None]:
        """z^l = W^l a^{l-1} + b^l, a^l = σ_l(z^l) (∘ r^l/q); returns σ'(z^l) per layer."""
        net, L, a = step.net, step.net.L, self.a
        sp: list[Array | None] = [None] * (L + 1)
        for l in range(1, L + 1):
            act = net.act[l]
            z = self.z_out if l == L else a[l]  # hidden layers: a^l overwrites z^l
            prescaled = self.fused[l] and l < L and act.prescale != 1.0
            if self.fused[l]:
                # z^l = W^l a^{l-1} + b^l as one GEMM accumulating onto b^l in every column
                k = act.prescale if prescaled else 1.0
                self.do(np.copyto, z, net.b[l])
                self.do(step.gemm, *_blas.gemm_args(z, net.W[l], a[l - 1], k, k))  # type: ignore[arg-type]
            else:
                self.do(np.dot, net.W[l], a[l - 1], z)  # z^l = W^l a^{l-1}
                self.do(np.add, z, net.b[l], z)  #          + b^l
            need_prime = l < L or net.cost_fn.delta_needs_prime(act)  # BP2, or BP1
            sp[l] = act.record_forward(self, z, a[l], need_prime=need_prime, prescaled=prescaled)
            if step.keep < 1.0 and l < L:  # a^l ← a^l ∘ r^l/q; the same factor joins σ'
                if sp[l] is None:
                    sp[l] = self.col(net.sizes[l])
                    self.do(np.copyto, sp[l], self.const(1.0))
                self.do(_Dropout(step, self.col(net.sizes[l]), sp[l], a[l]))  # type: ignore[arg-type]
        return sp

    def _bp1(self, step: FastStep, sp_L: Array | None) -> None:
        """δ^L by the cost's kernel, times α/m (SGD) or 1/m."""
        net, L = step.net, step.net.L
        delta = self.delta[L]
        net.cost_fn.record_delta(self, self.a[L], self.tb.T, delta, net.act[L], sp_L)
        self.do(np.multiply, delta, step.scale, delta)

    def _backward(self, step: FastStep, sp: list[Array | None]) -> None:
        """For l = L..1: BP2 (into δ^{l-1}), BP3, BP4 and the update of layer l."""
        net, L = step.net, step.net.L
        W, a, delta, dW, db = net.W, self.a, self.delta, self.dW, self.db
        ones = np.ones((self.m, 1), dtype=self.dtype)  # Σ_columns as a matrix-vector product
        for l in range(L, 0, -1):
            if l > 1:  # BP2: δ^{l-1} = ((W^l)ᵀ δ^l) ∘ σ'(z^{l-1}), with W^l before its update
                self.do(np.dot, W[l].T, delta[l], delta[l - 1])
                net.act[l - 1].record_vjp(self, delta[l - 1], a[l - 1], sp[l - 1])
            self.do(np.dot, delta[l], ones, db[l])  # BP3: Σ_columns δ^l = m·scale·∂C/∂b^l
            if step.sgd:
                self._sgd_update(step, l)
            else:
                self.do(np.dot, delta[l], a[l - 1].T, dW[l])  # BP4: (1/m) δ^l (a^{l-1})ᵀ
                if step.decay:  # + (λ/n) W^l
                    wd = np.zeros_like(W[l])
                    self.do(np.multiply, W[l], self.const(step.decay), wd)
                    self.do(np.add, dW[l], wd, dW[l])
        if not step.sgd and step.optimizer is not None:
            grads = [g for l in range(1, L + 1) for g in (dW[l], db[l])]
            self.do(step.optimizer.step, step.params, grads)

    def _sgd_update(self, step: FastStep, l: int) -> None:
        """BP4 and the SGD update of layer l (δ^l already carries α/m)."""
        W, b, a, delta = step.net.W, step.net.b, self.a, self.delta
        self.do(np.subtract, b[l], self.db[l], b[l])  # b^l ← b^l − α ∂C/∂b^l
        if self.fused[l]:
            # W^l ← (1 − αλ/n) W^l − α (1/m) δ^l (a^{l-1})ᵀ, one GEMM
            args = _blas.gemm_args(W[l], delta[l], a[l - 1].T, -1.0, step.beta_c)
            self.do(step.gemm, *args)  # type: ignore[arg-type]
        else:
            self.do(np.dot, delta[l], a[l - 1].T, self.dW[l])  # α ∂C₀/∂W^l
            if step.decay:
                self.do(np.multiply, W[l], step.beta, W[l])  # W^l ← (1 − αλ/n) W^l
            self.do(np.subtract, W[l], self.dW[l], W[l])  #      − α ∂C₀/∂W^l


class _Dropout:
    """Draw r^l/q as ``training.step.draw_masks`` does; a^l ← a^l ∘ r^l/q, σ' ← σ' ∘ r^l/q."""

    def __init__(self, step: FastStep, mask: Array, sp: Array, a: Array):
        assert step.rng is not None  # FastStep refuses dropout without an rng
        self.rng, self.q, self.mask, self.sp, self.a = step.rng, step.keep, mask, sp, a
        self.inv_q = 1 / step.keep

    def __call__(self) -> None:
        mask = self.mask
        self.rng.random(out=mask, dtype=mask.dtype)  # u ~ U[0, 1)
        np.less(mask, self.q, out=mask)  # r = [u < q]
        np.multiply(mask, self.inv_q, out=mask)  # r/q
        np.multiply(self.a, mask, out=self.a)
        np.multiply(self.sp, mask, out=self.sp)
