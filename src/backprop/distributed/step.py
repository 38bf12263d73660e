"""The data-parallel :class:`~backprop.training.step.Step`: shard sums, one Allreduce, one update.

For a global mini-batch of m rows ``idx`` (the same on every rank), rank r of N:

1. draws the dropout masks r^l/q of the **whole** batch, (n_l, m), exactly as one process
   does (:func:`~backprop.training.step.draw_masks`), and keeps its own columns;
2. backpropagates its contiguous shard ``idx[start:stop]`` (:func:`.shard_bounds`) and
   writes the shard's sums straight into the packed buffer::

       Σ_x δ^l_x               = δ^l · 1                  (n_l, 1)        BP3, summed
       Σ_x δ^l_x (a^{l-1}_x)ᵀ  = δ^l (a^{l-1})ᵀ           (n_l, n_{l-1})  BP4, summed

   (a rank with no rows writes zeros);
3. one ``Allreduce`` of the buffer gives every rank the sums over the whole batch;
4. every rank divides by m, adds the L2 term (λ/n) W^l and takes the same optimiser step
   (:meth:`ReadableStep.apply <backprop.training.step.ReadableStep.apply>`).

The shard's arithmetic is recorded once per shard size as a tape of NumPy calls from the
activations' and costs' own kernels (``record_forward``, ``record_vjp``,
``record_delta``): the fast engine's arithmetic without its 1/m scaling and fused update.
Networks whose activations or cost have no kernels take ``Network.forward``/``backward``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import optimizers as optim
from ..errors import ConfigError
from ..network import Network
from ..training.step import ReadableStep
from .buffer import PackedGradients
from .interrupt import StopRequest
from .shards import shard_bounds

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = ["DataParallelStep", "STOP", "LEAVING", "N_CONTROL"]

Array = np.ndarray
#: the control slots after the gradients: a Ctrl-C request, and "this rank leaves the loop"
STOP, LEAVING, N_CONTROL = 0, 1, 2


class DataParallelStep:
    """One mini-batch on N ranks; every rank ends with the same parameters.

    Parameters
    ----------
    net, optimizer, l2, n_train, dropout, rng
        As for every step (the :class:`~backprop.training.step.Step` protocol); ``rng``
        must be in the same state on every rank.
    comm : mpi4py intracommunicator
        The ranks that share the work.

    Attributes
    ----------
    packed : PackedGradients
        The gradient sums (then means) of the last batch, and the control slots.
    stop : StopRequest
        This rank's Ctrl-C, agreed through the control slot of each Allreduce.
    """

    def __init__(
        self,
        net: Network,
        optimizer: optim.Optimizer,
        *,
        l2: float = 0.0,
        n_train: int = 1,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
        comm: MPI.Intracomm,
    ):
        self.net, self.comm = net, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        # masks and the update: the readable step's, so they are the one-process numbers
        self.local = ReadableStep(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)
        self._params = net.params()
        shapes = [p.shape for p in self._params]
        self.packed = PackedGradients(shapes, np.dtype(net.dtype), n_control=N_CONTROL)
        self.grads: list[Array] = list(self.packed.views)
        self._n_grads = self.packed.flat.size - N_CONTROL
        self.stop = StopRequest()
        self.kernels = _has_kernels(net)
        self._tapes: dict[int, _ShardTape] = {}
        self._last: tuple[Array, Array, Array] | None = None
        # running training metrics: this rank's z^L columns of the epoch and their rows
        self._n_train = n_train
        self._running: _RunningShards | None = None

    @property
    def params(self) -> list[Array]:
        """[W^1, b^1, …, W^L, b^L]: the network's arrays, updated in place."""
        return self._params

    def __call__(self, X: Array, T: Array, idx: Array, lr: float) -> None:
        """Train on the global mini-batch of rows ``idx`` of (X, T), sharing the work."""
        m = len(idx)
        masks = self.local.masks(m)  # the whole batch's, on every rank
        start, stop = shard_bounds(m, self.size, self.rank)
        if stop > start:
            self._shard_sums(X, T, idx[start:stop], masks, start, stop)
            if self._running is not None and self._last is not None:
                self._running.record(self._last[0], idx[start:stop], T)
        else:
            self.packed.flat[: self._n_grads] = 0
        control = self.packed.control
        self.stop.contribute(control[STOP : STOP + 1])
        control[LEAVING] = 0
        self.packed.allreduce(self.comm)
        self.stop.receive(control[STOP : STOP + 1])
        if control[LEAVING]:
            raise _left_early()
        if self._running is not None:
            self._running.examples += m
        grads = self.packed.flat[: self._n_grads]
        np.divide(grads, m, out=grads)  # (1/m) Σ_x: the batch means, as on one process
        self.local.apply(self.grads, lr)

    def leave(self) -> None:
        """The collective that ends training on this rank: the ranks check they all end.

        Called once after the loop (normal end, early stopping, divergence, an agreed
        stop). A rank still training sees LEAVING in its next step and raises, as does a
        rank leaving alone: a callback that stopped training on some ranks only.
        """
        self.packed.flat.fill(0)
        self.packed.control[LEAVING] = 1
        self.packed.allreduce(self.comm)
        if self.packed.control[LEAVING] != self.size:
            raise _left_early()

    # -- the running training metrics (train(..., train_metrics="running")) -----------

    def reset_running(self, labels: Array | None = None, kind: str | None = None) -> None:
        """Start the epoch's running sums (``backprop.training.running`` asks for them)."""
        self._running = _RunningShards(self.net, self._n_train, labels, kind)

    @property
    def running(self) -> Array | None:
        """[Σ C_x, Σ hits, examples, NaN] of the epoch's forward passes, over all ranks.

        A collective: read once per epoch, on every rank alike (``RunningMetrics.result``
        at the epoch's end does); None before :meth:`reset_running`.
        """
        if self._running is None:
            return None
        return self._running.reduce(self.comm)

    def last_cost(self) -> float:
        """C₀ of this rank's shard of the last mini-batch, weights before the update."""
        if self._last is None:
            return math.nan
        z, a, t = self._last
        net = self.net
        return float(net.cost_fn.value(z, a, t, net.act[net.L]).mean())

    # -- the shard's sums -------------------------------------------------------------

    def _shard_sums(
        self,
        X: Array,
        T: Array,
        rows: Array,
        masks: dict[int, Array] | None,
        start: int,
        stop: int,
    ) -> None:
        shard_masks = None if masks is None else {l: M[:, start:stop] for l, M in masks.items()}
        if not self.kernels:
            self._readable_sums(X.take(rows, 0), T.take(rows, 0), shard_masks)
            return
        k = stop - start
        tape = self._tapes.get(k)
        if tape is None:
            if len(self._tapes) >= 2:  # full batches and one last partial batch
                self._tapes.pop(next(iter(self._tapes)))
            tape = self._tapes[k] = _ShardTape(self, k)
        X.take(rows, 0, tape.xb, "clip")
        T.take(rows, 0, tape.tb, "clip")
        if shard_masks is not None:
            for l, M in shard_masks.items():
                np.copyto(tape.masks[l], M)
        for f, args in tape.ops:
            f(*args)
        L = self.net.L
        self._last = (tape.z_out, tape.a[L], tape.tb.T)

    def _readable_sums(self, Xb: Array, Tb: Array, masks: dict[int, Array] | None) -> None:
        net, k = self.net, len(Xb)
        trace = net.forward(Xb, masks)
        grads = net.backward(trace, Tb, masks)
        for l in range(1, net.L + 1):  # the shard's means times its rows: its sums
            np.multiply(grads.W[l], k, out=self.grads[2 * l - 2])
            np.multiply(grads.b[l], k, out=self.grads[2 * l - 1])
        self._last = (trace.z[net.L], trace.a[net.L], Tb.T)


class _RunningShards:
    """This rank's z^L columns of one epoch (its shards, in order) and the rows they are."""

    def __init__(self, net: Network, n: int, labels: Array | None, kind: str | None):
        self.net, self.labels, self.kind = net, labels, kind
        self.Z = np.empty((net.sizes[-1], n), dtype=net.dtype)
        self.rows = np.empty(n, dtype=np.intp)
        self.filled = self.examples = 0
        self.T: Array | None = None

    def record(self, z: Array, rows: Array, T: Array) -> None:
        k, f = len(rows), self.filled
        if f + k <= self.rows.size:
            self.Z[:, f : f + k] = z
            self.rows[f : f + k] = rows
        self.filled, self.T = f + k, T

    def reduce(self, comm: Any) -> Array:
        """[Σ C_x, Σ hits, examples, NaN], the sums of every rank's columns."""
        from .collectives import reduce_sums

        net, L, f = self.net, self.net.L, min(self.filled, self.rows.size)
        cost = hits = 0.0
        if f and self.T is not None:
            z, rows = self.Z[:, :f], self.rows[:f]
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                a = net.act[L].f(z)
                t = self.T[rows].T
                cost = float(net.cost_fn.value(z, a, t, net.act[L]).sum(dtype=np.float64))
            if self.labels is not None and self.kind == "argmax":
                hits = float(np.count_nonzero(a.argmax(axis=0) == self.labels[rows]))
            elif self.labels is not None and self.kind == "threshold":
                hits = float(np.count_nonzero((a[0] > 0.5) == (self.labels[rows] == 1)))
        total_cost, total_hits = reduce_sums(comm, [cost, hits])
        return np.array([total_cost, total_hits, self.examples, np.nan])


def _left_early() -> ConfigError:
    from .failure import mark_agreed

    return mark_agreed(
        ConfigError(
            "training ended on some ranks only: a callback set state.stop on some ranks "
            "but not on all; decide from the state, which is the same on every rank"
        ),
        rank=0,
    )


def _has_kernels(net: Network) -> bool:
    has = getattr(net.cost_fn, "has_kernels", None)
    if has is None or not has():
        return False
    return all(act.has_kernels() for act in net.act)


class _ShardTape:
    """The buffers and NumPy calls of one shard size k: the shard's gradient sums."""

    def __init__(self, step: DataParallelStep, k: int):
        net, L, n = step.net, step.net.L, step.net.sizes
        self.m, self.dtype = k, np.dtype(net.dtype)
        self.ops: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.xb = np.zeros((k, n[0]), dtype=self.dtype)
        self.tb = np.zeros((k, n[L]), dtype=self.dtype)
        self.a: list[Array] = [self.xb.T] + [self.col(n[l]) for l in range(1, L + 1)]
        self.z_out = self.col(n[L])
        self.delta: list[Array] = [self.xb.T] + [self.col(n[l]) for l in range(1, L + 1)]
        dropout = step.local.keep < 1.0
        self.masks = {l: self.col(n[l]) for l in range(1, L)} if dropout else {}
        sp = self._forward(net)
        net.cost_fn.record_delta(self, self.a[L], self.tb.T, self.delta[L], net.act[L], sp[L])
        self._backward(net, sp, step.grads)

    # the Recorder interface of backprop.activations
    def do(self, f: Callable[..., Any], *args: Any) -> None:
        self.ops.append((f, args))

    def const(self, x: float) -> Array:
        return np.array(x, dtype=self.dtype)

    def col(self, k: int) -> Array:
        return np.zeros((k, self.m), dtype=self.dtype)

    def ones(self, rows: int, cols: int) -> Array:
        return np.ones((rows, cols), dtype=self.dtype)

    def _forward(self, net: Network) -> list[Array | None]:
        """z^l = W^l a^{l-1} + b^l, a^l = σ_l(z^l) ∘ r^l/q; returns σ'(z^l) (∘ r^l/q)."""
        L, a = net.L, self.a
        sp: list[Array | None] = [None] * (L + 1)
        for l in range(1, L + 1):
            act = net.act[l]
            z = self.z_out if l == L else a[l]  # hidden layers: a^l overwrites z^l
            self.do(np.dot, net.W[l], a[l - 1], z)  # z^l = W^l a^{l-1}
            self.do(np.add, z, net.b[l], z)  #          + b^l
            need_prime = l < L or net.cost_fn.delta_needs_prime(act)
            sp[l] = act.record_forward(self, z, a[l], need_prime=need_prime, prescaled=False)
            if l in self.masks:  # a^l ← a^l ∘ r^l/q, and the same factor joins σ'
                if sp[l] is None:
                    sp[l] = self.col(net.sizes[l])
                    self.do(np.copyto, sp[l], self.const(1.0))
                self.do(np.multiply, a[l], self.masks[l], a[l])
                self.do(np.multiply, sp[l], self.masks[l], sp[l])
        return sp

    def _backward(self, net: Network, sp: list[Array | None], grads: list[Array]) -> None:
        """For l = L..1: BP2 into δ^{l-1}, then the sums of BP3 and BP4 into ``grads``."""
        W, a, delta = net.W, self.a, self.delta
        ones = np.ones((self.m, 1), dtype=self.dtype)  # Σ_columns as a matrix-vector product
        for l in range(net.L, 0, -1):
            if l > 1:  # BP2: δ^{l-1} = ((W^l)ᵀ δ^l) ∘ σ'(z^{l-1})
                self.do(np.dot, W[l].T, delta[l], delta[l - 1])
                net.act[l - 1].record_vjp(self, delta[l - 1], a[l - 1], sp[l - 1])
            self.do(np.dot, delta[l], ones, grads[2 * l - 1])  # Σ_x δ^l_x          (BP3)
            self.do(np.dot, delta[l], a[l - 1].T, grads[2 * l - 2])  # Σ_x δ^l (a^{l-1})ᵀ (BP4)
