"""The readable training step on arrays of any namespace (torch, CuPy, array-api-strict).

NumPy networks train with the fast engine (:mod:`backprop.fast`); a network moved with
``net.to(...)`` trains here, with the readable equations and the standard's functions
only (no ``out=``). One mini-batch of m examples, columns of the device's arrays::

    z^l = W^l a^{l-1} + b^l,   a^l = σ_l(z^l) ∘ r^l / q     forward (r^l: dropout mask)
    δ^L = ∂C_x/∂z^L                                          BP1
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l / q          BP2
    ∂C/∂b^l = (1/m) Σ_columns δ^l                            BP3
    ∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ + (λ/n) W^l               BP4 + L2
    θ ← optimizer.step(θ, ∂C/∂θ)                             (:mod:`.updates`)

Where the data and the randomness live:

* the training set is moved to the device once per run (:meth:`ArrayStep.load`);
* each epoch's permutation is drawn by the run's NumPy ``Generator`` (so a seed gives the
  same order on every backend) and moved once per epoch (:meth:`ArrayStep.begin_epoch`);
  each mini-batch is gathered on the device (``xp.take``);
* dropout masks (``masks=``): ``"numpy"`` draws them from the same NumPy ``Generator``
  as the NumPy engine, in the same order, and moves them (one transfer per mini-batch):
  the run then equals NumPy's. ``"device"`` draws them on the device from a generator
  seeded once from the run's: no transfer, but the run is reproducible on that backend
  only. The default is ``"numpy"`` on the CPU (torch CPU, array-api-strict) and
  ``"device"`` on a GPU (CuPy, torch CUDA), where moving masks would cost more than the
  step; array-api-strict has no generator, so it always uses ``"numpy"``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import updates
from .namespaces import Backend, XArray, backend_of

MASKS = ("numpy", "device")


class ArrayStep:
    """One mini-batch of gradient descent on the arrays of ``net``'s namespace and device.

    Parameters
    ----------
    net : Network
        A network whose ``W[l]``, ``b[l]`` are arrays of one non-NumPy backend; its
        ``params()`` are updated in place.
    optimizer : Optimizer
        One of the built-in optimisers (its update runs through :mod:`.updates`).
    l2 : float
        λ; the step adds (λ/n) W^l to ∂C₀/∂W^l.
    n_train : int
        n, the number of training examples.
    dropout : float
        p, the probability of dropping a hidden neuron (inverted dropout, keep q = 1 − p).
    rng : np.random.Generator
        The run's generator: permutations (drawn by the loop) and ``"numpy"`` masks.
    masks : {"numpy", "device"}, optional
        Where dropout masks come from (see the module's docstring); default by device.
    """

    def __init__(
        self,
        net: Any,
        optimizer: Any,
        *,
        l2: float,
        n_train: int,
        dropout: float,
        rng: np.random.Generator,
        masks: str | None = None,
    ):
        self.net = net
        self.optimizer = optimizer
        self.backend: Backend = backend_of(net.W[1])
        self.xp = self.backend.xp
        self.params = net.params()
        self.decay = l2 / n_train  # λ/n
        self.keep = 1.0 - dropout  # q
        self.rng = rng
        self.masks_from = _mask_source(self.backend, masks)
        self._device_rng: Any = None
        if self.keep < 1 and self.masks_from == "device":
            self._device_rng = _device_generator(self.backend, int(rng.integers(2**63)))
        self.X: XArray = None
        self.T: XArray = None
        self.perm: XArray = None
        self._last: tuple[XArray, XArray, XArray] | None = None

    # -- data on the device ----------------------------------------------------

    def load(self, X: Any, T: Any) -> None:
        """Move the training set to the device, once per run: X (n, n_0), T (n, n_L)."""
        dtype = self.net.dtype
        self.X = self.backend.asarray(X, dtype)
        self.T = self.backend.asarray(T, dtype)

    def begin_epoch(self, perm: np.ndarray) -> None:
        """Move the epoch's order of the rows (drawn by NumPy's Generator) to the device."""
        self.perm = self.backend.asarray(np.asarray(perm, dtype=np.int64))

    def gather(self, start: int, stop: int) -> tuple[XArray, XArray]:
        """Rows ``perm[start:stop]`` of X and T, gathered on the device: (m, n_0), (m, n_L)."""
        idx = self.perm[start:stop]
        return self.xp.take(self.X, idx, axis=0), self.xp.take(self.T, idx, axis=0)

    # -- the step --------------------------------------------------------------

    def masks(self, m: int) -> list[XArray | None]:
        """Inverted-dropout masks r^l/q for the hidden layers l = 1..L−1, each (n_l, m)."""
        net, q = self.net, self.keep
        masks: list[XArray | None] = [None] * (net.L + 1)
        if q >= 1:
            return masks
        for l in range(1, net.L):
            shape = (net.sizes[l], m)
            if self.masks_from == "numpy":  # the NumPy engine's draws, in its order
                keep = self.rng.random(shape, dtype=net.dtype) < q
                masks[l] = self.backend.asarray(keep.astype(net.dtype) * (1 / q))
            else:
                u = _device_uniform(self.backend, self._device_rng, shape, net.dtype)
                masks[l] = self.xp.astype(u < q, u.dtype) * (1 / q)
        return masks

    def gradients(
        self, Xb: XArray, Tb: XArray, masks: list[XArray | None] | None = None
    ) -> tuple[list[XArray], list[XArray]]:
        """∂C/∂W^l and ∂C/∂b^l (lists indexed by l, entry 0 unused) for one mini-batch.

        ``Xb`` (m, n_0) and ``Tb`` (m, n_L) are rows on the device; ``masks[l]`` (n_l, m)
        the dropout masks already divided by q, or None. No L2 term.
        """
        net, L, xp = self.net, self.net.L, self.xp
        W, b, act = net.W, net.b, net.act
        m = Xb.shape[0]
        masks = masks or [None] * (L + 1)
        z: list[Any] = [None] * (L + 1)
        s: list[Any] = [None] * (L + 1)  # σ(z^l) before dropout, for σ'
        a: list[Any] = [Xb.T] + [None] * L
        for l in range(1, L + 1):
            z[l] = W[l] @ a[l - 1] + b[l]  # z^l = W^l a^{l-1} + b^l
            s[l] = act[l].f(z[l])  # σ(z^l)
            a[l] = s[l] if masks[l] is None else s[l] * masks[l]  # a^l = σ(z^l) ∘ r^l/q
        t = Tb.T
        delta: list[Any] = [None] * (L + 1)
        delta[L] = net.cost_fn.delta(z[L], a[L], t, act[L])  # BP1
        for l in range(L - 1, 0, -1):
            delta[l] = (W[l + 1].T @ delta[l + 1]) * act[l].prime(z[l], s[l])  # BP2
            if masks[l] is not None:
                delta[l] = delta[l] * masks[l]  # dropped neurons pass no error back
        db = [None] + [xp.sum(delta[l], axis=1, keepdims=True) / m for l in range(1, L + 1)]  # BP3
        dW = [None] + [delta[l] @ a[l - 1].T / m for l in range(1, L + 1)]  # BP4
        self._last = (z[L], a[L], t)
        return dW, db

    def train_batch(self, start: int, stop: int, lr: float) -> None:
        """Train on rows ``perm[start:stop]`` with learning rate ``lr``: forward, BP1–BP4,
        the L2 term, one optimiser step."""
        net = self.net
        Xb, Tb = self.gather(start, stop)
        self.optimizer.lr = lr
        dW, db = self.gradients(Xb, Tb, self.masks(Xb.shape[0]) if self.keep < 1 else None)
        grads = []
        for l in range(1, net.L + 1):
            if self.decay:
                dW[l] = dW[l] + self.decay * net.W[l]  # L2: ∂C/∂W = ∂C₀/∂W + (λ/n) W
            grads += [dW[l], db[l]]
        updates.step(self.optimizer, self.params, grads)

    def last_cost(self) -> float:
        """C₀ of the last mini-batch, with the weights before its update."""
        if self._last is None:
            return math.nan
        z, a, t = self._last
        net = self.net
        return float(self.xp.mean(net.cost_fn.value(z, a, t, net.act[net.L])))

    # -- what the loop asks of the parameters ---------------------------------

    def snapshot(self) -> list[XArray]:
        """Copies of the parameters (on the device)."""
        return [self.xp.asarray(p, copy=True) for p in self.params]

    def restore(self, saved: list[XArray]) -> None:
        """Copy ``saved`` back into the parameters, in place."""
        for p, s in zip(self.params, saved):
            p[...] = s

    def finite(self) -> bool:
        """No NaN or inf in any parameter (one device-to-host read)."""
        xp = self.xp
        return all(bool(xp.all(xp.isfinite(p))) for p in self.params)


def evaluate(
    net: Any, X: XArray, T: XArray, labels: XArray | None, kind: str | None, chunk: int = 4096
) -> tuple[float, float | None]:
    """(C, accuracy) of ``net`` over rows X (n, n_0), T (n, n_L) of its namespace.

    ``kind`` is ``"argmax"`` (class = argmax a^L), ``"threshold"`` (a^L > 0.5 for one
    output with 0/1 labels) or None (no accuracy). Forward passes of at most ``chunk``
    rows; the cost is summed in float64.
    """
    xp = backend_of(X).xp
    L, n = net.L, X.shape[0]
    total, correct = 0.0, 0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        a = X[start:stop, :].T
        for l in range(1, L + 1):
            z = net.W[l] @ a + net.b[l]  # z^l = W^l a^{l-1} + b^l
            a = net.act[l].f(z)  # a^l = σ(z^l)
        c = net.cost_fn.value(z, a, T[start:stop, :].T, net.act[L])
        total += float(xp.sum(xp.astype(c, xp.float64)))
        if kind == "argmax" and labels is not None:
            hits = xp.argmax(a, axis=0) == labels[start:stop]
        elif kind == "threshold" and labels is not None:
            hits = (a[0, :] > 0.5) == (labels[start:stop] == 1)
        else:
            continue
        correct += int(xp.sum(xp.astype(hits, xp.int64)))
    return total / n, (correct / n if kind else None)


# -- randomness on the device ----------------------------------------------------


def _mask_source(backend: Backend, masks: str | None) -> str:
    if masks is None:
        return "numpy" if backend.on_cpu or backend.name == "array_api_strict" else "device"
    if masks not in MASKS:
        raise ConfigError(f"masks must be 'numpy' or 'device', got {masks!r}")
    if masks == "device" and backend.name not in ("torch", "cupy"):
        raise ConfigError(f"{backend.name} has no random generator; use masks='numpy'")
    return masks


def _device_generator(backend: Backend, seed: int) -> Any:
    """A generator on the backend's device, seeded from the run's NumPy generator."""
    if backend.name == "torch":
        import torch

        return torch.Generator(device=backend.device).manual_seed(seed)
    import cupy  # type: ignore[import-not-found]

    with backend.device:
        return cupy.random.default_rng(seed)


def _device_uniform(backend: Backend, gen: Any, shape: tuple[int, int], dtype: str) -> XArray:
    """Uniform numbers in [0, 1) of ``shape`` and ``dtype``, drawn on the device."""
    if backend.name == "torch":
        import torch

        return torch.rand(shape, generator=gen, device=backend.device, dtype=getattr(torch, dtype))
    with backend.device:
        return gen.random(shape, dtype=dtype)
