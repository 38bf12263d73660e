"""The readable training step on arrays of any namespace (torch, CuPy, array-api-strict).

NumPy networks train with the fast engine (:mod:`backprop.fast`); a network moved with
``net.to(...)`` trains here — the engine ``"array-api"``, which ``train(...,
engine="auto")`` picks for it — with ``Network.forward`` and ``Network.backward`` (BP1–BP4
in the namespace of the network's arrays, the standard's functions only, no ``out=``)::

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
  step; array-api-strict has no generator, so it always uses ``"numpy"``. The engine
  ``"array-api-numpy-masks"`` (``train(..., engine=...)``) takes NumPy's masks everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..training.step import ReadableStep, draw_masks, register_engine
from . import updates
from .namespaces import Backend, XArray, backend_of, is_numpy_array

MASKS = ("numpy", "device")


class ArrayStep(ReadableStep):
    """The readable step (:class:`~backprop.training.step.ReadableStep`) on a device.

    The arithmetic is ``Network.forward`` and ``Network.backward`` (BP1–BP4 in the
    namespace of the network's arrays); this class adds where the data live: the training
    set on the device (moved once), the epoch's permutation (moved once per epoch), the
    gather of each mini-batch there, the dropout masks and the optimiser's update in the
    namespace. It is the engine ``"array-api"``, which ``engine="auto"`` picks for every
    network whose arrays are not NumPy's.

    Parameters
    ----------
    net : Network
        A network whose ``W[l]``, ``b[l]`` are arrays of one non-NumPy backend; its
        ``params()`` are updated in place.
    optimizer : Optimizer
        One of the built-in optimisers (its update runs through :mod:`.updates`).
    l2, n_train, dropout, rng
        As for :class:`~backprop.training.step.ReadableStep`.
    masks : {"numpy", "device"}, optional
        Where dropout masks come from (see the module's docstring); default by device.
    """

    def __init__(
        self,
        net: Any,
        optimizer: Any,
        *,
        l2: float = 0.0,
        n_train: int = 1,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        masks: str | None = None,
    ):
        if is_numpy_array(net.W[1]):
            raise ConfigError("ArrayStep trains networks of other array libraries than NumPy")
        super().__init__(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)
        updates.check(optimizer)
        self.backend: Backend = backend_of(net.W[1])
        self.xp = self.backend.xp
        self.masks_from = _mask_source(self.backend, masks)
        self._device_rng: Any = None
        if self.keep < 1 and self.masks_from == "device" and rng is not None:
            self._device_rng = _device_generator(self.backend, int(rng.integers(2**63)))
        self._host: tuple[Any, Any] | None = None  # the (X, T) the device copies came from
        self.X: XArray = None
        self.T: XArray = None
        self._perm_host: Any = None
        self.perm: XArray = None

    # -- data on the device ----------------------------------------------------

    def load(self, X: Any, T: Any) -> None:
        """Move the training set to the device, once per run: X (n, n_0), T (n, n_L)."""
        if self._host is not None and self._host[0] is X and self._host[1] is T:
            return
        dtype = self.net.dtype
        self.X, self.T = self.backend.asarray(X, dtype), self.backend.asarray(T, dtype)
        self._host = (X, T)

    def begin_epoch(self, perm: Any) -> None:
        """Move the epoch's order of the rows (drawn by NumPy's Generator) to the device."""
        if perm is self._perm_host:
            return
        self.perm = self.backend.asarray(np.asarray(perm, dtype=np.int64))
        self._perm_host = perm

    def rows(self, start: int, stop: int) -> tuple[XArray, XArray]:
        """Rows ``perm[start:stop]`` of X and T, gathered on the device: (m, n_0), (m, n_L)."""
        idx = self.perm[start:stop]
        return self.xp.take(self.X, idx, axis=0), self.xp.take(self.T, idx, axis=0)

    def gather(self, X: Any, T: Any, idx: Any) -> tuple[XArray, XArray]:
        """Rows ``idx`` of X and T (the protocol's form): from the device copies.

        ``idx`` is normally a slice of the epoch's permutation; then only its position is
        used (the permutation crossed once). Other index arrays cross as they are.
        """
        self.load(X, T)
        base = getattr(idx, "base", None)
        if base is not None and base.ndim == 1 and idx.ndim == 1 and len(idx):
            offset = (idx.ctypes.data - base.ctypes.data) // base.itemsize
            if idx.strides == base.strides and 0 <= offset <= len(base) - len(idx):
                self.begin_epoch(base)
                return self.rows(offset, offset + len(idx))
        idx = self.backend.asarray(np.asarray(idx, dtype=np.int64))
        return self.xp.take(self.X, idx, axis=0), self.xp.take(self.T, idx, axis=0)

    # -- the step --------------------------------------------------------------

    def masks(self, m: int) -> dict[int, XArray] | None:
        """This batch's inverted-dropout masks r^l/q (n_l, m), l = 1..L−1, or None."""
        net, q = self.net, self.keep
        if q >= 1 or self.rng is None:
            return None
        if self.masks_from == "numpy":  # the NumPy engine's draws, in its order, moved
            drawn = draw_masks(self.rng, net.sizes, m, q, net.dtype)
            return {l: self.backend.asarray(mask) for l, mask in drawn.items()}
        masks = {}
        for l in range(1, net.L):
            u = _device_uniform(self.backend, self._device_rng, (net.sizes[l], m), net.dtype)
            masks[l] = self.xp.astype(u < q, u.dtype) * (1 / q)
        return masks

    def apply(self, grads: list[XArray], lr: float) -> None:
        """Add the L2 term (λ/n) W^l to each ∂C/∂W^l, then one optimiser step, on the device."""
        params = self.params
        if self.decay:
            for i in range(0, len(params), 2):  # W^1, W^2, …: the even places
                grads[i] += self.decay * params[i]  # ∂C/∂W = ∂C₀/∂W + (λ/n) W
        self.optimizer.lr = lr
        updates.step(self.optimizer, params, grads)

    def run_batches(
        self, X: Any, T: Any, perm: Any, batch_size: int, first: int, stop: int, lr: float
    ) -> int:
        """Train batches first..stop−1 of the epoch's ``perm``; one finiteness check at the end.

        Returns the number of batches done (``stop − first``; 0 when a parameter became
        NaN or infinite, so the loop restores the epoch's starting weights).
        """
        self.load(X, T)
        self.begin_epoch(perm)
        n = len(perm)
        for k in range(first, stop):
            Xb, Tb = self.rows(k * batch_size, min((k + 1) * batch_size, n))
            self.apply(self.gradients(Xb, Tb, self.masks(Xb.shape[0])), lr)
        return stop - first if self.finite() else 0

    def __call__(self, X: Any, T: Any, idx: Any, lr: float) -> None:
        """Train on the mini-batch of rows ``idx`` of (X, T) with learning rate ``lr``."""
        Xb, Tb = self.gather(X, T, idx)
        self.apply(self.gradients(Xb, Tb, self.masks(Xb.shape[0])), lr)

    def train_batch(self, start: int, stop: int, lr: float) -> None:
        """Train on rows ``perm[start:stop]`` (after :meth:`load`, :meth:`begin_epoch`)."""
        Xb, Tb = self.rows(start, stop)
        self.apply(self.gradients(Xb, Tb, self.masks(Xb.shape[0])), lr)

    def last_cost(self) -> float:
        """C₀ of the last mini-batch, with the weights before its update."""
        if self._last is None:
            return math.nan
        z, a, t = self._last
        net = self.net
        return float(self.xp.mean(net.cost_fn.value(z, a, t, net.act[net.L])))

    def finite(self) -> bool:
        """No NaN or inf in any parameter (one read from the device per parameter)."""
        xp = self.xp
        return all(bool(xp.all(xp.isfinite(p))) for p in self.params)


def _engine(masks: str | None) -> Any:
    def factory(
        net: Any,
        optimizer: Any,
        *,
        l2: float,
        n_train: int,
        dropout: float,
        rng: np.random.Generator | None,
    ) -> ArrayStep:
        return ArrayStep(
            net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng, masks=masks
        )

    return factory


#: masks by device (NumPy's on the CPU, the device's on a GPU); picked by engine="auto"
register_engine("array-api", _engine(None), auto=True)
#: dropout masks from NumPy on every device: a run equal to NumPy's, also on a GPU
register_engine("array-api-numpy-masks", _engine("numpy"))


class ArrayEvaluator:
    """(C₀, accuracy) of a network on the device: the per-epoch measurement of ``train``.

    The same interface as :class:`backprop.fast.Evaluator` (``chunk``, ``fits(net)``,
    ``__call__(net, X, T, labels, kind)``); ``X``, ``T``, ``labels`` are a prepared data
    set's NumPy arrays, moved to the network's device on the first call and kept there
    for every later epoch.
    """

    def __init__(self, net: Any, chunk: int):
        self.chunk = int(chunk)
        self.backend = backend_of(net.W[1])
        self._host: tuple[Any, ...] | None = None
        self._device: tuple[XArray, ...] = ()

    def fits(self, net: Any) -> bool:
        b = backend_of(net.W[1])
        return (b.name, str(b.device)) == (self.backend.name, str(self.backend.device))

    def __call__(
        self, net: Any, X: Any, T: Any, labels: Any = None, kind: str | None = None
    ) -> tuple[float, float | None]:
        if self._host is None or any(a is not b for a, b in zip(self._host, (X, T, labels))):
            asarray = self.backend.asarray
            self._device = (asarray(X, net.dtype), asarray(T, net.dtype),
                            None if labels is None else asarray(labels, "int64"))  # fmt: skip
            self._host = (X, T, labels)
        return evaluate(net, *self._device, kind, self.chunk)


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
