"""The compiled training step: whole ranges of mini-batches in one call to the numba kernel.

:class:`JitStep` trains a :class:`~backprop.network.Network` with the numbers
of the readable step (``Network.forward``/``backward`` with dropout masks, the
L2 term, ``optimizers.py``'s updates), tested equal to it, but runs a whole
range of mini-batches (an epoch, or the batches up to the next callback) in
one compiled call: on small networks the per-step Python overhead, not the
arithmetic, is what limits the NumPy steps.

Around the kernel (see ``_kernel.py``):

* The parameters are copied into one flat vector before the call and back
  into ``net.W[l]``/``net.b[l]`` (in place) after it; so are the optimiser's
  buffers (momentum's ``v``, Adam's ``m``, ``v`` and ``t``). Whoever restores
  weights between calls copies into ``params`` as with the other steps.
* Dropout uniforms are drawn from the run's generator before the call, for
  exactly the batches of the call, in the readable step's order (per batch,
  per hidden layer, shape (n_l, m), the network's dtype): one ``rng.random``
  of their total length gives the same numbers as those draws one by one, so
  the masks are the readable step's and a checkpoint taken between calls
  holds the generator where the readable run holds it.
* The training cost and accuracy of every example are taken from the batch's
  forward pass (before its update) and summed: ``running`` holds the sums.
"""

from __future__ import annotations

import math
import mmap
import time
from typing import Any

import numpy as np

from .. import _blas, activations, costs
from .. import optimizers as optim
from . import _kernel as K_
from . import numba_setup

_ACT_CODES: dict[type, int] = {
    activations.Identity: K_.IDENTITY,
    activations.Sigmoid: K_.SIGMOID,
    activations.Tanh: K_.TANH,
    activations.ReLU: K_.RELU,
    activations.LeakyReLU: K_.LEAKY,
    activations.Softmax: K_.SOFTMAX,
}
_COST_CODES: dict[type, int] = {costs.Quadratic: K_.QUADRATIC, costs.CrossEntropy: K_.CROSS_ENTROPY}
_KIND_CODES: dict[str | None, int] = {None: K_.NO_ACCURACY, "argmax": K_.ARGMAX, "threshold": 2}
#: dropout uniforms drawn per kernel call at most (the range is split beyond it)
MAX_UNIFORMS = 1 << 22
#: a layer with at least this many weights n_l·n_{l−1} does its products in the BLAS
#: NumPy loaded (smaller ones in the kernel's own loops, where a call would cost more)
BLAS_MIN_WEIGHTS = 1024
#: … and with batches of at most this many examples, their forward products are done in the
#: kernel's own blocked loops (3× OpenBLAS at 10 × 784 × 30; behind it from 32 examples)
BLOCKED_MAX_BATCH = 16
#: with larger batches, layers from this many weights go to the BLAS too (measured a batch,
#: 256 against 1,024: [784,30,10]/64 125 → 113 µs, [64,32,16,10]/32 31–36 → 28–29 µs,
#: [784,100,10]/64 214–224 → 208–214 µs; at batch 10 no better, at batch 1 a call costs more)
BLAS_MIN_WEIGHTS_LARGE_BATCH = 256


def _lazy_zeros(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Zeros in an anonymous memory map, whose pages become resident only where written,
    4 KiB at a time.

    W, S1 and S2 are padded to the widest layer: 7.4 MB each for [784,30,10]'s 95 KB of
    parameters (and S1, S2 unused by SGD). ``np.zeros`` may return heap memory that calloc
    fills with zeros (glibc serves blocks below its mmap threshold from the heap, and raises
    the threshold after a larger block is freed: the gzip file's bytes), and it asks for
    transparent huge pages from 4 MB, so writing a few rows makes whole 2 MB pages resident.
    Measured on ``backprop train --preset nielsen-ch1``'s peak RSS: 397 MB with ``np.zeros``,
    393 MB with its huge pages turned off, 380 MB with this.
    """
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes == 0:
        return np.zeros(shape, dtype)
    return np.frombuffer(mmap.mmap(-1, nbytes), dtype).reshape(shape)


def unsupported(net: Any, optimizer: Any = None) -> str | None:
    """Why :class:`JitStep` cannot train ``net`` with ``optimizer``, or None when it can."""
    for act in net.act:
        if type(act) not in _ACT_CODES:
            return f"activation {act.name!r} is not one of the built-in ones"
    if type(net.cost_fn) not in _COST_CODES:
        return f"cost {net.cost_fn.name!r} is not one of the built-in ones"
    dtype = np.dtype(net.dtype)
    for p in net.params():
        if not isinstance(p, np.ndarray) or p.dtype != dtype:
            return "a parameter is not a NumPy array of the network's dtype"
    if optimizer is not None and type(optimizer) not in (optim.SGD, optim.Momentum, optim.Adam):
        return f"optimizer {type(optimizer).__name__} is not one of the built-in ones"
    if type(net.act[net.L]) is activations.LeakyReLU and activations.LeakyReLU.slope >= 1:
        return "a leaky-relu slope of 1 or more"  # pragma: no cover - not a real configuration
    return None


def _opt_code(optimizer: optim.Optimizer) -> int:
    if isinstance(optimizer, optim.Adam):
        return K_.ADAM
    if isinstance(optimizer, optim.Momentum):
        return K_.NESTEROV if optimizer.nesterov else K_.MOMENTUM
    return K_.SGD


class JitStep:
    """Mini-batch gradient descent on ``net``, whole ranges of batches per compiled call.

    Parameters
    ----------
    net : Network
        Trained in place: its ``W[l]`` (n_l, n_{l-1}) and ``b[l]`` (n_l, 1) arrays
        are updated, never replaced.
    optimizer : Optimizer
        SGD, momentum, Nesterov or Adam (:mod:`backprop.optimizers`); its state
        is read before and written back after every call.
    l2 : float
        λ; the L2 term adds (λ/n) W^l to ∂C/∂W^l (biases are not decayed).
    n_train : int
        n, the number of training examples (for λ/n).
    dropout : float
        p, the probability of dropping a hidden neuron (inverted dropout, q = 1 − p).
    rng : np.random.Generator
        Draws the dropout masks.

    The per-batch buffers are made for the batch size of the first call (and
    again for a larger one).
    """

    def __init__(
        self,
        net: Any,
        optimizer: optim.Optimizer,
        *,
        l2: float = 0.0,
        n_train: int = 1,
        dropout: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        reason = unsupported(net, optimizer)
        if reason is not None:
            raise ValueError(f"JitStep cannot train this network: {reason}")
        if dropout and rng is None:
            raise ValueError("dropout needs an rng to draw the masks from")
        self.net, self.optimizer, self.rng = net, optimizer, rng
        self._params: list[np.ndarray] = net.params()  # [W^1, b^1, …], updated in place
        self._last_cost = math.nan
        self._labels: np.ndarray | None = None  # what run_batches scores accuracy against
        self._kind: str | None = None
        self.dtype = np.dtype(net.dtype)
        self.keep = 1.0 - dropout  # q
        self.decay = l2 / n_train  # λ/n
        sizes = list(net.sizes)
        L = net.L
        self.sizes = np.array(sizes, np.int64)
        self.acts = np.array([0] + [_ACT_CODES[type(a)] for a in net.act], np.int64)
        self.cost = _COST_CODES[type(net.cost_fn)]
        self.opt = _opt_code(optimizer)
        dt, w = self.dtype, max(sizes)
        # W^l is W[l, :n_l, :n_{l-1}], b^l is W[l, n_l, :n_l]: padded to the widest layer;
        # S1, S2 alike: momentum's v; Adam's m, v
        self.W, self.S1, self.S2 = (_lazy_zeros((L + 1, w + 1, w), dt) for _ in range(3))
        self.batch_size = 0
        self._buffers(1)
        self.G = np.zeros(w, dt)
        blas = _blas.binding()
        #: which layers' products go to the BLAS (index 0 unused) with batches of at most
        #: BLOCKED_MAX_BATCH examples, and with larger ones; the GEMM's address
        self.blas, self.blas_large_batch = (
            tuple(
                l > 0 and blas is not None and sizes[l] * sizes[l - 1] >= least
                for l in range(L + 1)
            )
            for least in (BLAS_MIN_WEIGHTS, BLAS_MIN_WEIGHTS_LARGE_BATCH)
        )
        some = any(self.blas_large_batch)  # a superset of self.blas
        self._gemm_at = blas.address(dt) if blas is not None and some else 0
        # ∂C/∂W^l of a BLAS layer, for the optimisers other than SGD (which fuses it)
        self.GW = np.zeros((w, w) if some and self.opt != K_.SGD else (1, 1), dt)
        self.K = np.zeros(K_.K_SIZE, dt)
        self.H = np.zeros(3, np.float64)
        self._no_uniforms = np.zeros(1, dt)
        self._hidden = sum(sizes[1:L])
        #: Σ C_x, Σ hits, examples from the forward passes since reset_running(); the last C₀
        self.running = np.zeros(4, np.float64)
        self._kernels: dict[K_.Spec, Any] = {}
        #: seconds spent compiling (or loading from numba's disk cache) this step's kernels
        self.compile_seconds = 0.0
        #: whether the last kernel compiled for this step came from numba's disk cache
        self.kernel_from_cache = False

    @property
    def params(self) -> list[np.ndarray]:
        """[W^1, b^1, …, W^L, b^L]: the network's arrays, updated in place."""
        return self._params

    def last_cost(self) -> float:
        """C₀ of the last mini-batch (its forward pass, before its update); NaN before one."""
        return self._last_cost

    def _buffers(self, bs: int) -> None:
        """Per-example rows for batches of up to ``bs`` examples."""
        if bs <= self.batch_size:
            return
        L, w, dt = self.net.L, max(self.net.sizes), self.dtype
        self.A, self.Pr, self.D = (np.zeros((L + 1, bs, w), dt) for _ in range(3))
        self.Zout = np.zeros((bs, self.net.sizes[-1]), dt)
        self.batch_size = bs

    # -- the whole-range method ---------------------------------------------

    def reset_running(self, labels: np.ndarray | None = None, kind: str | None = None) -> None:
        """Start new running sums (at an epoch's start); score accuracy against ``labels``."""
        self.running[:3] = 0.0
        self._labels, self._kind = labels, kind

    def run_batches(
        self,
        X: np.ndarray,
        T: np.ndarray,
        perm: np.ndarray,
        batch_size: int,
        first: int,
        stop: int,
        lr: float,
        labels: np.ndarray | None = None,
        kind: str | None = None,
    ) -> int:
        """Train on batches ``first``..``stop − 1`` of ``perm``; return how many were done.

        Batch k holds rows ``perm[k·bs : (k + 1)·bs]`` of X (n, n_0) and T (n, n_L).
        Fewer than ``stop − first`` are done only when one left b^L non-finite
        (it counts as done; the caller restores weights). ``labels`` (n,) and
        ``kind`` (``"argmax"``, ``"threshold"`` or None) score the running accuracy.
        """
        if stop <= first:
            return 0
        self._buffers(batch_size)
        self._check_params()
        self._load(lr)
        n = len(perm)
        if labels is None:
            labels, kind = self._labels, self._kind
        lab = labels if labels is not None else np.zeros(len(X), np.intp)
        kind_code = _KIND_CODES[kind if labels is not None else None]
        perm = np.asarray(perm, np.int64)
        self.K[K_.K_M] = batch_size
        self.K[K_.K_M_LAST] = n - (math.ceil(n / batch_size) - 1) * batch_size
        done, b = 0, first
        try:
            while b < stop:
                end = self._chunk_end(b, stop, batch_size)
                U = self._uniforms(b, end, n, batch_size)
                t0 = self.optimizer.t if self.opt == K_.ADAM else 0  # type: ignore[attr-defined]
                args = (
                    X, T, perm, batch_size, b, end, lab, self.W, self.S1, self.S2, self.A,
                    self.Pr, self.D, self.Zout, self.G, self.GW, U, self.K, self.H, t0,
                    self.running, self._gemm_at,
                )  # fmt: skip
                k = self._kernel(kind_code, args, batch_size <= BLOCKED_MAX_BATCH)(*args)
                done += k
                if self.opt == K_.ADAM:
                    self.optimizer.t += k  # type: ignore[attr-defined]
                if k < end - b:
                    break
                b = end
        finally:
            self._store()
        self._last_cost = float(self.running[3])
        return done

    def _kernel(self, kind: int, args: tuple[Any, ...], blocked: bool = False) -> Any:
        """The kernel compiled for this network, optimiser, accuracy ``kind`` code and
        (``blocked``) small batches.

        Compiled for ``args``' types on first use, or loaded from numba's disk cache;
        the seconds that took are added to :attr:`compile_seconds`.
        """
        blas = self.blas if blocked else self.blas_large_batch
        spec = K_.Spec(
            tuple(self.net.sizes), tuple(int(a) for a in self.acts), self.cost, self.opt,
            kind, self.keep < 1.0, self.decay != 0.0, blas, blocked and any(blas),
        )  # fmt: skip
        run = self._kernels.get(spec)
        if run is None:
            from numba import typeof  # type: ignore[import-untyped]

            t = time.perf_counter()
            run = K_.kernel(spec)
            with numba_setup():
                run.compile(tuple(typeof(a) for a in args))
            self.compile_seconds += time.perf_counter() - t
            self.kernel_from_cache = bool(sum(run.stats.cache_hits.values()))
            self._kernels[spec] = run
        return run

    def __call__(self, X: np.ndarray, T: np.ndarray, idx: np.ndarray, lr: float) -> None:
        """Train on the one mini-batch of rows ``idx`` (the per-batch step interface)."""
        self.run_batches(X, T, idx, len(idx), 0, 1, lr)

    # -- the copies around the kernel ----------------------------------------

    def _chunk_end(self, b: int, stop: int, bs: int) -> int:
        """The last batch (exclusive) of one kernel call: caps the dropout uniforms."""
        if self.keep >= 1.0 or self._hidden == 0:
            return stop
        per_batch = self._hidden * bs
        return min(stop, b + max(1, MAX_UNIFORMS // per_batch))

    def _uniforms(self, b: int, end: int, n: int, bs: int) -> np.ndarray:
        if self.keep >= 1.0:
            return self._no_uniforms
        rows = min(end * bs, n) - b * bs
        assert self.rng is not None
        return self.rng.random(rows * self._hidden, dtype=self.dtype)

    def _check_params(self) -> None:
        """A parameter array rebound since construction (``net.W[l] = …``) is taken over."""
        current = self.net.params()
        if any(p is not q for p, q in zip(current, self.params)):
            self.params[:] = current

    def _load(self, lr: float) -> None:
        opt, K = self.optimizer, self.K
        opt.lr = lr
        self._pad(self.params, self.W)
        if self.opt in (K_.MOMENTUM, K_.NESTEROV):
            self._pad(getattr(opt, "v", None), self.S1)
        elif self.opt == K_.ADAM:
            self._pad(getattr(opt, "m", None), self.S1)
            self._pad(getattr(opt, "v", None), self.S2)
        hyper = getattr(opt, "hyper", dict)()
        mu = float(hyper.get("momentum", 0.0))
        b1, b2 = float(hyper.get("beta1", 0.0)), float(hyper.get("beta2", 0.0))
        eps = float(hyper.get("eps", 0.0))
        q = self.keep
        values = {
            K_.K_ZERO: 0.0, K_.K_ONE: 1.0,
            K_.K_SLOPE: activations.LeakyReLU.slope, K_.K_Q: q,
            K_.K_INV_Q: 1.0 / q if q > 0 else math.inf, K_.K_LR: lr, K_.K_DECAY: self.decay,
            K_.K_MU: mu, K_.K_B1: b1, K_.K_1MB1: 1.0 - b1, K_.K_B2: b2,
            K_.K_1MB2: 1.0 - b2, K_.K_EPS: eps,
        }  # fmt: skip
        for slot, value in values.items():
            K[slot] = value  # rounded to the dtype as NumPy rounds a Python float operand
        self.H[:] = (lr, b1, b2)

    def _pad(self, arrays: list[np.ndarray] | None, W: np.ndarray) -> None:
        """[W^1, b^1, …] (or None: zeros) into the padded W: W^l, then b^l as row n_l."""
        if arrays is None:
            W[...] = 0
            return
        for l in range(1, self.net.L + 1):
            w, b = arrays[2 * l - 2], arrays[2 * l - 1]
            W[l, : w.shape[0], : w.shape[1]] = w
            W[l, w.shape[0], : b.shape[0]] = np.asarray(b).reshape(-1)

    def _store(self) -> None:
        opt = self.optimizer
        self._unpad(self.W, self.params)
        if self.opt in (K_.MOMENTUM, K_.NESTEROV):
            opt.v = self._state_arrays(self.S1, getattr(opt, "v", None))  # type: ignore[attr-defined]
        elif self.opt == K_.ADAM:
            opt.m = self._state_arrays(self.S1, getattr(opt, "m", None))  # type: ignore[attr-defined]
            opt.v = self._state_arrays(self.S2, getattr(opt, "v", None))  # type: ignore[attr-defined]

    def _unpad(self, W: np.ndarray, arrays: list[np.ndarray]) -> None:
        for l in range(1, self.net.L + 1):
            w, b = arrays[2 * l - 2], arrays[2 * l - 1]
            w[...] = W[l, : w.shape[0], : w.shape[1]]
            b[...] = W[l, w.shape[0], : b.shape[0]].reshape(b.shape)

    def _state_arrays(self, W: np.ndarray, old: list[np.ndarray] | None) -> list[np.ndarray]:
        """The optimiser's per-parameter buffers from W: into ``old`` in place if it fits."""
        if old is None or [a.shape for a in old] != [p.shape for p in self.params]:
            old = [np.zeros_like(p) for p in self.params]
        self._unpad(W, old)
        return old
