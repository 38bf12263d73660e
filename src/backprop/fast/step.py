"""The fast training step: one mini-batch of BP1–BP4 and the update, with no temporaries.

:meth:`Network.forward` / :meth:`Network.backward` are the readable form of
backpropagation (``train(..., engine="readable")``). :class:`FastStep`
computes the same numbers for a training step (tests hold them equal to
1e-12 in float64), arranged for speed:

* Every array of the step (z^l/a^l, σ'(z^l), δ^l, the gathered mini-batch,
  dropout masks) is allocated once per batch size and reused; every matrix
  product and elementwise operation writes into it (``out``).
* The step is recorded once per batch size as a list of NumPy calls with
  their arrays bound (the *tape*), in the order of the equations below, and
  replayed for every mini-batch: the per-step Python work is one loop over
  the tape. The activation and cost parts of the tape are recorded by the
  activations' and costs' own kernels (``record_forward``, ``record_vjp``,
  ``record_delta`` in activations.py and costs.py): this module never asks
  which σ or cost it is. Scalars (α/m, 1 − αλ/n) are 0-d arrays of the
  network's dtype, changed in place when α changes.
* a^l overwrites z^l (hidden layers); σ'(z^l) is computed once in the
  forward pass, from the cached a^l where that is cheaper.
* δ^L is multiplied by α/m (plain SGD) or 1/m (other optimisers) once. BP2 is
  linear in δ^{l+1}, so every δ^l carries the same factor and BP3/BP4 need
  no further scaling: Σ_columns δ^l *is* α ∂C/∂b^l.
* For plain SGD, BP4 and the update are one BLAS GEMM that accumulates into
  W^l: ``W ← β W − δ (a^{l-1})ᵀ`` with β = 1 − αλ/n (L2), on NumPy's own
  OpenBLAS (:mod:`backprop._blas`). Layers with enough work
  (``FUSE_MIN_WORK``) also take the forward product as one accumulating
  GEMM (b^l copied into z^l, then ``z ← k W a + k z`` with the activation's
  ``prescale`` k). Without the binding (``ffi=False``, or no such library),
  np.dot into a gradient buffer and an in-place subtraction do the same.
* Other optimisers receive ∂C/∂W^l (+ (λ/n) W^l) and ∂C/∂b^l in reused
  buffers through ``optimizer.step(params, grads)``.

The equations, for a mini-batch of m examples as columns (DESIGN.md)::

    z^l = W^l a^{l-1} + b^l,   a^l = σ_l(z^l) ∘ r^l/q       forward (r^l: dropout mask)
    δ^L = the cost's BP1                                     BP1
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l/q            BP2
    ∂C/∂b^l = (1/m) Σ_columns δ^l                            BP3
    ∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ + (λ/n) W^l                BP4 (+ L2)

:class:`FastStep` is a :class:`backprop.training.step.Step`. Dropout masks
are drawn from ``rng`` exactly as :func:`backprop.training.step.draw_masks`
draws them. The tape holds the parameter arrays (and the GEMM their
addresses): a parameter rebound by the user (``net.W[1] = new``) is noticed
before the next step (``Layers.version``) and the tape rebuilt.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _blas
from .. import optimizers as optim
from ..errors import ConfigError
from ..network import Network
from ..types import Array
from .tape import FUSE_MIN_WORK, Tape

__all__ = ["FUSE_MIN_WORK", "FastStep", "unsupported"]


def unsupported(net: Network, optimizer: Any = None, dropout: float = 0.0) -> str | None:
    """Why :class:`FastStep` cannot train ``net``, or None when it can."""
    for act in net.act:
        if not act.has_kernels():
            return f"activation {act.name!r} has no fast kernels of its own"
    if not net.cost_fn.has_kernels():
        return f"cost {net.cost_fn.name!r} has no fast kernels of its own"
    dtype = np.dtype(net.dtype)
    for p in net.params():
        if p.dtype != dtype or not p.flags.c_contiguous or not p.flags.writeable:
            return "a parameter is not a writable C-contiguous array of the network's dtype"
    if optimizer is not None and not callable(getattr(optimizer, "step", None)):
        return "the optimizer has no step(params, grads)"
    if not 0.0 <= dropout < 1.0:
        return f"dropout {dropout} is not in [0, 1)"
    return None


class FastStep:
    """One training step on a mini-batch: forward, BP1–BP4 and the update.

    Parameters
    ----------
    net : Network
        Trained in place: its ``W[l]``, ``b[l]`` arrays are updated, never replaced.
    optimizer : Optimizer
        ``optimizers.SGD`` is fused into the weight-gradient GEMM; any other
        receives the gradients through ``optimizer.step(params, grads)``.
    l2 : float
        λ; the L2 term adds (λ/n) W^l to ∂C/∂W^l (biases are not decayed).
    n_train : int
        n, the number of training examples (for λ/n).
    dropout : float
        p, the probability of dropping a hidden neuron (inverted dropout, q = 1 − p).
    rng : np.random.Generator
        Draws the dropout masks.
    ffi : bool
        Use the BLAS binding (fused accumulating GEMMs) where it pays; False:
        NumPy calls only (``engine="fast-no-ffi"``).
    fuse : bool, optional
        The old name of ``ffi``.
    """

    def __init__(
        self,
        net: Network,
        optimizer: optim.Optimizer | None,
        *,
        l2: float = 0.0,
        n_train: int = 1,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        ffi: bool = True,
        fuse: bool | None = None,
    ):
        reason = unsupported(net, optimizer, dropout)
        if reason is not None:
            raise ConfigError(f"FastStep cannot train this network: {reason}")
        if dropout and rng is None:
            raise ConfigError("dropout needs an rng to draw the masks from")
        ffi = ffi if fuse is None else bool(fuse)
        self.net = net
        self.optimizer = optimizer
        self.decay = l2 / n_train  # λ/n
        self.keep = 1.0 - dropout  # q
        self.rng = rng
        self.dtype = np.dtype(net.dtype)
        self.sgd = optimizer is None or type(optimizer) is optim.SGD
        blas = _blas.binding() if ffi else None
        self.gemm = blas.gemm(self.dtype) if blas is not None else None  # cblas gemm, or None
        self.scale = np.zeros((), self.dtype)  # α/m (SGD) or 1/m, carried by every δ^l
        self.beta = np.ones((), self.dtype)  # 1 − αλ/n, the L2 shrink of W (SGD)
        self.beta_c = _blas.real(self.dtype)(1.0)  # the same β, as the GEMM's argument
        self._lr: float | None = None
        self._tapes: dict[int, Tape] = {}
        self._tape: Tape | None = None
        self._bind()

    @property
    def params(self) -> list[Array]:
        """[W^1, b^1, …, W^L, b^L]: the arrays this step updates in place."""
        return self._params

    def _bind(self) -> None:
        """Take the network's current parameter arrays (and drop tapes bound to old ones)."""
        net = self.net
        self._params = net.params()
        self._seen = (net.W, net.b, net.W.version, net.b.version)
        self._tapes.clear()
        self._tape = None

    def _check_binding(self) -> None:
        """A parameter array was replaced (``net.W[l] = …``): train the new arrays."""
        old = self._params
        reason = unsupported(self.net, self.optimizer, 1.0 - self.keep)
        new = self.net.params()
        if reason is None and any(p.shape != q.shape for p, q in zip(old, new)):
            reason = "a parameter array was replaced by one of another shape"
        if reason is not None:
            raise ConfigError(f"FastStep cannot go on training this network: {reason}")
        self._bind()

    # -- the Step protocol ------------------------------------------------------

    def gather(self, X: Array, T: Array, idx: Array) -> tuple[Array, Array]:
        """Copy rows ``idx`` of X (n, n_0) and T (n, n_L) into this batch size's buffers."""
        net = self.net
        if (net.W, net.b, net.W.version, net.b.version) != self._seen:
            self._check_binding()
        tape = self._tape
        if tape is None or tape.m != len(idx):
            tape = self._tape_for(len(idx))
        # ndarray.take with positional arguments: half the call cost of np.take(...)
        X.take(idx, 0, tape.xb, "clip")
        T.take(idx, 0, tape.tb, "clip")
        return tape.xb, tape.tb

    def __call__(self, X: Array, T: Array, idx: Array, lr: float) -> None:
        """Train on the mini-batch of rows ``idx`` of (X, T) with learning rate ``lr``."""
        # gather() written out: one Python call less per step
        net = self.net
        if (net.W, net.b, net.W.version, net.b.version) != self._seen:
            self._check_binding()
        tape = self._tape
        if tape is None or tape.m != len(idx):
            tape = self._tape_for(len(idx))
        X.take(idx, 0, tape.xb, "clip")
        T.take(idx, 0, tape.tb, "clip")
        if lr != self._lr:
            self._set_lr(lr)
        for f, args in tape.ops:
            f(*args)
        tape.ran = True

    def last_output(self) -> Array | None:
        """z^L (n_L, m) of the last mini-batch's forward pass (before its update), or None."""
        tape = self._tape
        return tape.z_out if tape is not None and tape.ran else None

    def last_cost(self) -> float:
        """C₀ of the last mini-batch, with the weights before its update."""
        tape = self._tape
        if tape is None or not tape.ran:
            return math.nan
        net, L = self.net, self.net.L
        t = tape.tb.T
        return float(net.cost_fn.value(tape.z_out, tape.a[L], t, net.act[L]).mean())

    # -- set-up -------------------------------------------------------------------

    def _set_lr(self, lr: float) -> None:
        if self.optimizer is not None:
            self.optimizer.lr = lr
        self._lr = lr
        m = self._tape.m if self._tape is not None else 1
        self.scale[...] = lr / m if self.sgd else 1.0 / m
        self.beta[...] = 1.0 - lr * self.decay
        self.beta_c.value = 1.0 - lr * self.decay

    def _tape_for(self, m: int) -> Tape:
        tape = self._tapes.get(m)
        if tape is None:
            if len(self._tapes) >= 2:  # full batches and one last partial batch
                self._tapes.pop(next(iter(self._tapes)))
            tape = self._tapes[m] = Tape(self, m)
        self._tape = tape
        if self._lr is not None:
            self._set_lr(self._lr)  # the scale α/m depends on m
        return tape
