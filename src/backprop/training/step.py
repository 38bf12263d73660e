"""One mini-batch of training: the :class:`Step` protocol, the readable step, the engines.

The loop (:mod:`backprop.training.loop`) knows nothing of the arithmetic: it
hands a :class:`Step` the rows of each mini-batch. Every engine is a Step:

=================  ===========================================================
engine             what trains the mini-batches
=================  ===========================================================
``"readable"``     :class:`ReadableStep`: ``Network.forward`` / ``Network.backward``
                   (BP1–BP4 as written in network.py), then the optimiser
``"fast"``         :class:`backprop.fast.FastStep`: the same numbers from reused
                   buffers, a recorded tape of NumPy calls, a fused BLAS update
``"fast-no-ffi"``  the fast step without the BLAS binding (NumPy calls only)
``"auto"``         the first registered automatic engine that can train the
                   network, else ``"fast"``, else ``"readable"``
=================  ===========================================================

Other engines (compiled, distributed, other array libraries) plug in with
:func:`register_engine`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .. import optimizers as optim
from ..errors import ConfigError
from ..network import Network
from ..types import Array

__all__ = [
    "ENGINES",
    "BatchRunner",
    "ReadableStep",
    "Step",
    "StepFactory",
    "draw_masks",
    "make_step",
    "register_engine",
]


@runtime_checkable
class Step(Protocol):
    """Trains one mini-batch in place; what the training loop drives.

    An implementation is built for one network, optimiser and run (see
    :data:`StepFactory`) and must:

    * ``params`` — return the arrays it updates **in place**, in
      ``net.params()`` order [W^1, b^1, …, W^L, b^L]. The loop reads them to
      check for NaN (``params[-1]``, b^L, after each batch), to save the
      epoch's starting weights and to restore them (``p[...] = saved``): it
      never rebinds them. If the user rebinds ``net.W[l]`` between steps the
      step must notice (``Layers.version`` changes) and train the new arrays,
      or raise.
    * ``__call__(X, T, idx, lr)`` — train on the mini-batch of rows ``idx``
      (an integer array of length m ≤ batch size) of ``X`` (n, n_0) and ``T``
      (n, n_L), both C-contiguous in the network's dtype: forward pass,
      BP1–BP4 on the mean cost C₀ = (1/m) Σ_x C_x, the L2 term (λ/n) W^l
      added to ∂C/∂W^l (not to ∂C/∂b^l; n = ``n_train``), then one
      ``optimizer.step`` with ``optimizer.lr = lr`` (plain SGD may be fused,
      with the same numbers).
    * ``last_cost()`` — C₀ of the last mini-batch with the weights before its
      update (dropout on, as trained), NaN before the first batch.

    Dropout (p > 0, keep q = 1 − p) must use the masks of :func:`draw_masks`,
    drawn from the run's ``rng`` once per mini-batch, before anything else
    of that batch draws from it; nothing else draws from ``rng`` inside an
    epoch (the loop draws the epoch's permutation before its first batch).
    A data-parallel step draws the whole batch's masks on every rank and
    uses its own columns.

    Optionally a step may offer :class:`BatchRunner`'s ``run_batches``; the
    loop then trains a whole range of batches in one call when no callback
    has its own ``on_batch_end``.
    """

    @property
    def params(self) -> list[Array]: ...

    def __call__(self, X: Array, T: Array, idx: Array, lr: float) -> None: ...

    def last_cost(self) -> float: ...


@runtime_checkable
class BatchRunner(Step, Protocol):
    """A :class:`Step` that can also train a whole range of mini-batches in one call.

    ``run_batches(X, T, perm, batch_size, first, stop, lr)`` trains batches
    k = first, …, stop − 1, batch k being rows ``perm[k*batch_size:(k+1)*batch_size]``
    (the last one may be shorter), exactly as ``stop − first`` calls of
    ``step(X, T, rows, lr)`` would, masks included. It returns the number of
    batches done: ``stop − first``, or fewer only when a parameter became NaN
    or infinite (stop after that batch; the loop treats it as divergence).
    """

    def run_batches(
        self, X: Array, T: Array, perm: Array, batch_size: int, first: int, stop: int, lr: float
    ) -> int: ...


class StepFactory(Protocol):
    """Builds an engine's :class:`Step` for one network and run (see :func:`register_engine`).

    Raises :class:`~backprop.errors.ConfigError`, saying why, when it cannot
    train ``net`` (``engine="auto"`` then tries the next engine).
    """

    def __call__(
        self,
        net: Network,
        optimizer: optim.Optimizer,
        *,
        l2: float,
        n_train: int,
        dropout: float,
        rng: np.random.Generator | None,
    ) -> Step: ...


class AutoStepFactory(Protocol):
    """``engine="auto"``'s factory for an engine: a :class:`StepFactory` that is also told
    the run's mini-batch size (None when unknown), to refuse where the engine does not pay."""

    def __call__(
        self,
        net: Network,
        optimizer: optim.Optimizer,
        *,
        l2: float,
        n_train: int,
        dropout: float,
        rng: np.random.Generator | None,
        batch_size: int | None,
    ) -> Step: ...


def draw_masks(
    rng: np.random.Generator, sizes: Sequence[int], m: int, keep: float, dtype: str
) -> dict[int, Array]:
    """The dropout masks r^l/q of one mini-batch, for the hidden layers l = 1..L−1.

    In this order, for l = 1, …, L − 1: ``u = rng.random((n_l, m), dtype=dtype)``
    (C order, one column per example of the batch); r^l = [u < q]; the mask is
    r^l · (1/q) in ``dtype``: 0 for a dropped neuron, 1/q for a kept one. Every
    engine draws exactly these numbers (sizes = ``net.sizes``, q = ``keep``).
    """
    L, dt = len(sizes) - 1, np.dtype(dtype)
    return {
        l: (rng.random((sizes[l], m), dtype=dt) < keep).astype(dt) * (1 / keep) for l in range(1, L)
    }


class ReadableStep:
    """The readable step: ``Network.forward``, ``Network.backward``, L2, the optimiser.

    The step is separable for engines that share the arithmetic
    (e.g. data parallelism): :meth:`masks`, :meth:`gradients` (mean data
    gradients of a batch) and :meth:`apply` (L2 and the optimiser).

    Parameters
    ----------
    net : Network
        Trained in place.
    optimizer : Optimizer
        Receives ∂C/∂θ through ``optimizer.step(params, grads)``.
    l2 : float
        λ; ∂C/∂W^l gains (λ/n) W^l.
    n_train : int
        n, the number of training examples.
    dropout : float
        p, the probability of dropping a hidden neuron (inverted dropout).
    rng : np.random.Generator, optional
        Draws the dropout masks (needed when ``dropout > 0``).
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
    ):
        if dropout and rng is None:
            raise ConfigError("dropout needs an rng to draw the masks from")
        self.net = net
        self.optimizer = optimizer
        self.decay = l2 / n_train  # λ/n
        self.keep = 1.0 - dropout  # q, probability that a hidden neuron is kept
        self.rng = rng
        self._xb: Array | None = None  # gathered mini-batch rows, reused
        self._tb: Array | None = None
        self._last: tuple[Array, Array, Array] | None = None

    @property
    def params(self) -> list[Array]:
        """[W^1, b^1, …, W^L, b^L]: the network's arrays, updated in place."""
        return self.net.params()

    def gather(self, X: Array, T: Array, idx: Array) -> tuple[Array, Array]:
        """Rows ``idx`` of X and T, copied into buffers reused from batch to batch."""
        k = len(idx)
        if self._xb is None or self._tb is None or len(self._xb) < k:
            self._xb = np.empty((k, X.shape[1]), dtype=X.dtype)
            self._tb = np.empty((k, T.shape[1]), dtype=T.dtype)
        Xb = np.take(X, idx, axis=0, out=self._xb[:k], mode="clip")
        Tb = np.take(T, idx, axis=0, out=self._tb[:k], mode="clip")
        return Xb, Tb

    def masks(self, m: int) -> dict[int, Array] | None:
        """This batch's dropout masks (:func:`draw_masks`), or None without dropout."""
        if self.keep >= 1 or self.rng is None:
            return None
        net = self.net
        return draw_masks(self.rng, net.sizes, m, self.keep, net.dtype)

    def gradients(self, Xb: Array, Tb: Array, masks: dict[int, Array] | None = None) -> list[Array]:
        """∂C₀/∂θ of one mini-batch, in ``params`` order (batch means, no L2 term).

        ``Xb`` (m, n_0) and ``Tb`` (m, n_L) are rows; ``masks`` from :meth:`masks`.
        """
        net = self.net
        trace = net.forward(Xb, masks)
        grads = net.backward(trace, Tb, masks)
        L = net.L
        self._last = (trace.z[L], trace.a[L], Tb.T)
        return [g for l in range(1, L + 1) for g in (grads.W[l], grads.b[l])]

    def apply(self, grads: list[Array], lr: float) -> None:
        """Add the L2 term (λ/n) W^l to each ∂C/∂W^l (in ``grads``), then one optimiser step."""
        params = self.params
        if self.decay:
            for i in range(0, len(params), 2):  # W^1, W^2, …: the even places
                grads[i] += self.decay * params[i]  # ∂C/∂W = ∂C₀/∂W + (λ/n) W
        self.optimizer.lr = lr
        self.optimizer.step(params, grads)

    def __call__(self, X: Array, T: Array, idx: Array, lr: float) -> None:
        """Train on the mini-batch of rows ``idx`` of (X, T) with learning rate ``lr``."""
        Xb, Tb = self.gather(X, T, idx)
        self.apply(self.gradients(Xb, Tb, self.masks(len(Xb))), lr)

    def last_output(self) -> Array | None:
        """z^L (n_L, m) of the last mini-batch's forward pass (before its update), or None."""
        return None if self._last is None else self._last[0]

    def last_cost(self) -> float:
        """C₀ of the last mini-batch, with the weights before its update."""
        if self._last is None:
            return math.nan
        z, a, t = self._last
        net = self.net
        return float(net.cost_fn.value(z, a, t, net.act[net.L]).mean())


def _readable(
    net: Network,
    optimizer: optim.Optimizer,
    *,
    l2: float,
    n_train: int,
    dropout: float,
    rng: np.random.Generator | None,
) -> Step:
    return ReadableStep(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)


def _fast(ffi: bool) -> StepFactory:
    def factory(
        net: Network,
        optimizer: optim.Optimizer,
        *,
        l2: float,
        n_train: int,
        dropout: float,
        rng: np.random.Generator | None,
    ) -> Step:
        from .. import fast

        reason = fast.unsupported(net, optimizer, dropout)
        if reason is not None:
            raise ConfigError(
                f"the fast engine cannot train this network: {reason}; use engine='readable'"
            )
        return fast.FastStep(
            net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng, ffi=ffi
        )

    return factory


_ENGINES: dict[str, StepFactory] = {
    "fast": _fast(ffi=True),
    "fast-no-ffi": _fast(ffi=False),
    "readable": _readable,
}
#: engines "auto" tries first, in order (registered with auto=True or an auto factory)
_AUTO: list[str] = []
#: the factory "auto" calls for such an engine, where it is not the engine's own
_AUTO_FACTORY: dict[str, AutoStepFactory] = {}


def register_engine(
    name: str, factory: StepFactory, *, auto: bool | AutoStepFactory = False
) -> None:
    """Make ``train(..., engine=name)`` build its step with ``factory``.

    With ``auto``, ``engine="auto"`` tries it (in registration order) before
    the fast engine, moving on when it raises :class:`ConfigError`; ``auto``
    may also be a factory of its own that ``"auto"`` calls instead (an
    :class:`AutoStepFactory`, told the batch size: one that refuses where the
    engine does not pay).
    """
    if name == "auto":
        raise ConfigError("'auto' chooses among the engines; register another name")
    _ENGINES[name] = factory
    if auto and name not in _AUTO:
        _AUTO.append(name)
    if not isinstance(auto, bool):
        _AUTO_FACTORY[name] = auto


def engines() -> tuple[str, ...]:
    """The valid ``engine`` names: ``"auto"`` and every registered one."""
    return ("auto", *_ENGINES)


#: the built-in engine names (see :func:`engines` for the registered ones too)
ENGINES = ("auto", "fast", "fast-no-ffi", "readable", "jit")


def make_step(
    net: Network,
    optimizer: optim.Optimizer,
    *,
    l2: float = 0.0,
    n_train: int = 1,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
    engine: str = "auto",
    batch_size: int | None = None,
) -> Step:
    """The :class:`Step` of ``engine`` for this network and run.

    ``"auto"`` takes the first automatic engine that accepts the network,
    then ``"fast"``, and the readable step for networks the fast engine
    cannot train (an activation or cost without fast kernels). ``batch_size``,
    when known, is passed to the automatic engines' own factories (registered
    with ``auto=factory``), which weigh per-batch costs with it.
    """
    if engine != "auto":
        factory = _ENGINES.get(engine) if isinstance(engine, str) else None
        if factory is None:
            raise ConfigError(f"unknown engine {engine!r}; choose one of: {', '.join(engines())}")
        return factory(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)
    for name in [*_AUTO, "fast"]:
        try:
            if name in _AUTO_FACTORY:
                return _AUTO_FACTORY[name](
                    net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng,
                    batch_size=batch_size,
                )  # fmt: skip
            return _ENGINES[name](net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)
        except ConfigError:
            continue
    return ReadableStep(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)


def _register_jit() -> None:
    """The compiled engine (numba, optional): ``"jit"``, and ``"auto"``'s first choice."""
    from ..jit import engine as jit  # light: numba is imported only when a step is built

    register_engine("jit", jit.jit_step, auto=jit.auto_step)


_register_jit()
