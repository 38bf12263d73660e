"""The training loop: mini-batch gradient descent with backpropagation.

:func:`train` runs epochs of mini-batch gradient descent, the source's update
α applied to the batch-mean gradient (or momentum, Nesterov, Adam; see
:mod:`backprop.optimizers`), and returns a :class:`History`. Nothing here
prints: progress bars, logs and checkpoints are :class:`Callback` objects.

One mini-batch of m examples, rows ``Xb`` of shape (m, n_0) (see :class:`_Step`)::

    z^l = W^l a^{l-1} + b^l,   a^l = σ_l(z^l) ∘ r^l / q     forward (r^l: dropout mask)
    δ^L = ∂C_x/∂z^L                                          BP1
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l / q          BP2
    ∂C/∂b^l = (1/m) Σ_columns δ^l                            BP3
    ∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ + (λ/n) W^l               BP4 + L2 (Nielsen ch. 3)
    θ ← optimizer.step(θ, ∂C/∂θ)                             e.g. θ ← θ − α ∂C/∂θ

With plain SGD the L2 term gives exactly the book's
W ← (1 − αλ/n) W − α ∂C₀/∂W, with n the number of training examples; the
biases are not decayed. Dropout (probability p, keep q = 1 − p) applies to
hidden layers only, in the inverted form: kept activations are scaled by 1/q
during training, so the network is used unchanged for prediction.

All mutable loop state (epoch, position in the epoch, the epoch's permutation,
the random generator, optimiser and schedule state, early-stopping bookkeeping,
history) lives in one :class:`TrainState`; ``state.checkpoint()`` captures it
and ``train(..., resume=checkpoint)`` continues bit-identically, even from the
middle of an epoch.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from . import optimizers as optim
from . import schedules
from .errors import ConfigError, DataError

#: rows evaluated at a time when measuring cost and accuracy (caps memory)
EVAL_CHUNK = 4096


# -- results -----------------------------------------------------------------


@dataclass
class History:
    """Per-epoch measurements of a training run, one entry per completed epoch.

    Every list has one entry per epoch; values that were not measured (no
    validation or test data, accuracy of a regression) are ``None``. Costs
    are the data cost C₀ (mean over examples, without the L2 term), measured
    after the epoch on the whole set with dropout off. ``seconds`` is the time
    spent in the epoch's mini-batches; evaluation time is in
    ``extras["eval_seconds"]``.
    """

    epoch: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_cost: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    test_cost: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    #: epoch (1-based) with the best validation score, None without validation data
    best_epoch: int | None = None
    #: True when early stopping ended the run before ``epochs``
    stopped_early: bool = False
    #: None, or the message explaining that the cost became NaN/inf
    diverged: str | None = None
    #: further per-epoch series, e.g. appended by callbacks (gradient norms)
    extras: dict[str, list] = field(default_factory=dict)

    SERIES = (
        "epoch",
        "train_cost",
        "train_accuracy",
        "val_cost",
        "val_accuracy",
        "test_cost",
        "test_accuracy",
        "lr",
        "seconds",
    )

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (non-finite numbers become None)."""
        out = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}
        out["extras"] = {k: _jsonable(v) for k, v in self.extras.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> History:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for name in cls.SERIES:
            kwargs[name] = list(kwargs.get(name, []))
        kwargs["extras"] = {k: list(v) for k, v in (kwargs.get("extras") or {}).items()}
        return cls(**kwargs)


def _jsonable(value):
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


# -- callbacks and state -----------------------------------------------------


class Callback:
    """Hooks into the loop; every method receives the :class:`TrainState`.

    Set ``state.stop = True`` to end training after the current batch.
    Callbacks run inside ``np.errstate(over="ignore", invalid="ignore")``: the
    loop detects NaN/inf itself.
    """

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_begin(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class Checkpoint(Callback):
    """Save the whole training state to ``path`` so a run can be resumed exactly.

    Writes after every ``every`` epochs and, when ``every_batches`` is set,
    also every that many mini-batches within an epoch. The file is written
    atomically by :func:`backprop.io.save_checkpoint`; resume with
    ``train(..., resume=path)`` and the same data and settings.
    """

    def __init__(self, path, every: int = 1, every_batches: int | None = None):
        self.path = path
        self.every = _positive_int("checkpoint every", every)
        self.every_batches = (
            None if every_batches is None else _positive_int("every_batches", every_batches)
        )

    def save(self, state: TrainState) -> None:
        from .io import save_checkpoint

        save_checkpoint(self.path, *state.checkpoint())

    def on_batch_end(self, state):
        if self.every_batches and state.batch % self.every_batches == 0:
            if state.batch < state.n_batches:  # the epoch's end is saved by on_epoch_end
                self.save(state)

    def on_epoch_end(self, state):
        if state.epoch % self.every == 0 or state.epoch == state.epochs:
            self.save(state)


@dataclass(eq=False)
class TrainState:
    """Everything that changes while training, in one place.

    ``epoch`` is the epoch in progress or just finished (1-based; 0 before the
    first), ``batch`` the number of its mini-batches done; ``perm`` is the
    epoch's order of the training rows (None between epochs). ``rng`` draws
    the permutations and dropout masks. ``best_*`` and ``wait`` are the
    early-stopping bookkeeping; ``last_good`` the weights at the start of the
    epoch in progress, restored if the epoch diverges.
    """

    net: object
    optimizer: optim.Optimizer
    schedule: schedules.Schedule
    rng: np.random.Generator
    history: History
    epochs: int
    batch_size: int
    n_train: int
    n_batches: int
    lr: float
    lr0: float
    epoch: int = 0
    batch: int = 0
    perm: np.ndarray | None = None
    stop: bool = False
    best_score: float | None = None
    best_params: list[np.ndarray] | None = None
    wait: int = 0
    val_index: np.ndarray | None = None
    epoch_seconds: float = 0.0
    last_good: list[np.ndarray] | None = None
    _step: object = field(default=None, repr=False)

    @property
    def in_epoch(self) -> bool:
        """True between an epoch's first and last mini-batch."""
        return self.perm is not None

    def batch_cost(self) -> float:
        """Cost C₀ of the last mini-batch, before its update (computed on demand; NaN if none)."""
        last_cost = getattr(self._step, "last_cost", None)
        return last_cost() if last_cost is not None else math.nan

    # -- checkpoints ------------------------------------------------------

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict]:
        """(tensors, meta): the state as arrays and a JSON-serialisable dict.

        The pair suits ``backprop.io.save_checkpoint(path, tensors, meta)``;
        ``train(..., resume=(tensors, meta))`` continues exactly where this
        state is (weights included).
        """
        tensors: dict[str, np.ndarray] = {}
        for l in self.net.W.keys():
            tensors[f"W{l}"] = self.net.W[l].copy()
            tensors[f"b{l}"] = self.net.b[l].copy()
        opt = self.optimizer.state_dict()
        opt_meta = {}
        for key, value in opt.items():
            if isinstance(value, list):
                for i, arr in enumerate(value):
                    tensors[f"optimizer.{key}.{i}"] = np.asarray(arr)
                opt_meta[key] = len(value)
            else:
                opt_meta[key] = value
        if self.best_params is not None:
            for i, arr in enumerate(self.best_params):
                tensors[f"best.{i}"] = arr.copy()
        if self.perm is not None:
            tensors["perm"] = self.perm.astype(np.int64)
            # mid-epoch: what a divergence later in this epoch must fall back to
            for i, arr in enumerate(self.last_good or ()):
                tensors[f"last_good.{i}"] = arr.copy()
        if self.val_index is not None:
            tensors["val_index"] = self.val_index.astype(np.int64)
        meta = {
            "epoch": self.epoch,
            "batch": self.batch,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "n_train": self.n_train,
            "lr": self.lr,
            "lr0": self.lr0,
            "best_score": self.best_score,
            "wait": self.wait,
            "epoch_seconds": self.epoch_seconds,
            "rng": copy.deepcopy(self.rng.bit_generator.state),
            "optimizer": opt_meta,
            "optimizer_lists": sorted(k for k, v in opt.items() if isinstance(v, list)),
            "schedule": self.schedule.state_dict(),
            "history": self.history.to_dict(),
            "has_best": self.best_params is not None,
            "has_last_good": self.perm is not None and self.last_good is not None,
        }
        return tensors, meta

    def _restore(self, tensors: dict[str, np.ndarray], meta: dict) -> None:
        """Load a :meth:`checkpoint` into this freshly built state (weights in place)."""
        try:
            self._load(tensors, meta)
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(
                f"cannot resume from this checkpoint ({type(err).__name__}: {err}); "
                f"it must come from TrainState.checkpoint() of a run with the same network"
            ) from None

    def _load(self, tensors, meta) -> None:
        # check everything first, so that a refused checkpoint changes nothing
        if meta["n_train"] != self.n_train or meta["batch_size"] != self.batch_size:
            raise ConfigError(
                f"checkpoint was made with {meta['n_train']} training rows and batch size "
                f"{meta['batch_size']}; resume with the same data and batch_size"
            )
        params = self.net.params()
        names = [f"{kind}{l}" for l in self.net.W.keys() for kind in ("W", "b")]
        for name, p in zip(names, params):
            if tensors[name].shape != p.shape:
                raise ConfigError(
                    f"checkpoint {name} has shape {tensors[name].shape}, the network's "
                    f"{p.shape}; resume with the network the checkpoint was made with"
                )
        opt = dict(meta["optimizer"])
        for key in meta["optimizer_lists"]:
            opt[key] = [tensors[f"optimizer.{key}.{i}"] for i in range(opt[key])]
        history = History.from_dict(meta["history"])
        best = (
            [tensors[f"best.{i}"].copy() for i in range(len(params))] if meta["has_best"] else None
        )
        last_good = (
            [tensors[f"last_good.{i}"].copy() for i in range(len(params))]
            if meta.get("has_last_good")
            else None
        )
        self.optimizer.load_state_dict(opt)
        self.schedule.load_state_dict(meta["schedule"])
        self.last_good = last_good
        # then take it over
        for name, p in zip(names, params):
            p[...] = tensors[name]
        self.rng.bit_generator.state = copy.deepcopy(meta["rng"])
        self.history = history
        self.epoch, self.batch = int(meta["epoch"]), int(meta["batch"])
        self.lr, self.wait = float(meta["lr"]), int(meta["wait"])
        self.best_score = meta["best_score"]
        self.best_params = best
        self.epoch_seconds = float(meta["epoch_seconds"])
        self.perm = tensors["perm"].astype(np.intp) if "perm" in tensors else None


# -- data at the edge --------------------------------------------------------


@dataclass
class _Dataset:
    """Examples ready for the loop: X (m, n_0) and targets T (m, n_L) in the net's dtype.

    ``labels`` are the classes accuracy compares against: with ``kind ==
    "argmax"`` the predicted class is argmax a^L; with ``"threshold"`` (one
    output, 0/1 targets) it is a^L > 0.5; with ``None`` there is no accuracy.
    """

    X: np.ndarray
    T: np.ndarray
    labels: np.ndarray | None
    kind: str | None

    def __len__(self) -> int:
        return len(self.X)


def _prepare(net, X, Y, what: str = "training data") -> _Dataset:
    """Validate X and Y against the network; convert once to its dtype, one-hot once."""
    X = np.asarray(X)
    n_0, n_L = net.sizes[0], net.sizes[-1]
    if X.ndim != 2:
        raise DataError(f"{what}: X must be a 2-D array (examples, features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise DataError(f"{what}: X must be numeric, got dtype {X.dtype}")
    if X.shape[1] != n_0:
        raise DataError(
            f"{what}: X has {X.shape[1]} features but the network's input layer has {n_0}; "
            f"build the network with sizes[0] = {X.shape[1]}"
        )
    if len(X) == 0:
        raise DataError(f"{what}: X has no rows")
    X = np.ascontiguousarray(X, dtype=net.dtype)
    if not _all_finite(X):
        raise DataError(f"{what}: X contains NaN or infinite values; clean the data first")
    m = len(X)
    Y = np.asarray(Y)
    if Y.ndim == 0 or len(Y) != m:
        raise DataError(f"{what}: X has {m} rows but Y has {len(Y) if Y.ndim else 0}")
    labels, kind = None, None
    if Y.ndim == 1 and n_L > 1:
        if Y.dtype.kind not in "iu":
            raise DataError(
                f"{what}: 1-D Y must hold integer class labels for a network with {n_L} "
                f"outputs (got dtype {Y.dtype}); pass labels as integers or Y of shape ({m}, {n_L})"
            )
        if Y.min() < 0 or Y.max() >= n_L:
            raise DataError(
                f"{what}: class labels must lie in 0..{n_L - 1}, got {Y.min()}..{Y.max()}; "
                f"the output layer needs one neuron per class"
            )
        labels, kind = Y.astype(np.intp), "argmax"
        T = np.zeros((m, n_L), dtype=net.dtype)
        T[np.arange(m), labels] = 1
    else:
        if Y.dtype.kind not in "fiub":
            raise DataError(f"{what}: Y must be numeric, got dtype {Y.dtype}")
        T = Y.reshape(m, 1) if Y.ndim == 1 else Y
        if T.shape != (m, n_L):
            raise DataError(
                f"{what}: Y must have shape ({m}, {n_L}) to match the output layer, got {Y.shape}"
            )
        T = np.ascontiguousarray(T, dtype=net.dtype)
        if not _all_finite(T):
            raise DataError(f"{what}: Y contains NaN or infinite values; clean the data first")
        binary = bool(np.isin(T, (0, 1)).all())
        if binary and n_L > 1 and (T.sum(axis=1) == 1).all():
            labels, kind = T.argmax(axis=1), "argmax"  # one-hot rows
        elif binary and n_L == 1:
            labels, kind = T[:, 0].astype(np.intp), "threshold"
    return _Dataset(X, T, labels, kind)


def _all_finite(A: np.ndarray) -> bool:
    """No NaN or inf in A: one pass (a finite sum), the exact test only if the sum is not."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(A.sum())) or bool(np.isfinite(A).all())


def _pair(data, name: str):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ConfigError(f"{name} must be a pair (X, Y)")
    return data


def _evaluate(net, data: _Dataset, chunk: int = EVAL_CHUNK) -> tuple[float, float | None]:
    """(C, accuracy) over ``data``, forward passes of at most ``chunk`` rows.

    The arithmetic is :class:`engine.Evaluator`'s (buffers reused across chunks),
    kept on ``data`` so that every epoch of a run reuses it; networks with an
    activation or cost from outside this package take the readable loop below.
    """
    from . import engine

    ev = getattr(data, "_evaluator", None)
    if ev is None or ev.chunk != chunk or not ev.fits(net):
        ev = None
        if engine.unsupported(net) is None:
            ev = data._evaluator = engine.Evaluator(net, chunk, max_rows=len(data))
    if ev is not None:
        return ev(net, data.X, data.T, data.labels, data.kind)
    L, m = net.L, len(data)
    total, correct = 0.0, 0
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        a = data.X[start:stop].T
        for l in range(1, L + 1):
            z = net.W[l] @ a + net.b[l]  # z^l = W^l a^{l-1} + b^l
            a = net.act[l].f(z)  # a^l = σ(z^l)
        t = data.T[start:stop].T
        total += float(net.cost_fn.value(z, a, t, net.act[L]).sum(dtype=np.float64))
        if data.kind == "argmax":
            correct += int((a.argmax(axis=0) == data.labels[start:stop]).sum())
        elif data.kind == "threshold":
            correct += int(((a[0] > 0.5) == (data.labels[start:stop] == 1)).sum())
    return total / m, (correct / m if data.kind else None)


def evaluate(net, X, Y) -> tuple[float, float | None]:
    """Cost C (mean over the examples) and accuracy of ``net`` on (X, Y).

    Accuracy is the fraction of rows whose predicted class matches: the class
    is argmax a^L when Y holds integer labels or one-hot rows, a^L > 0.5 for a
    single output with 0/1 targets, and accuracy is None for other targets.
    Evaluated in chunks of ``EVAL_CHUNK`` rows.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _evaluate(net, _prepare(net, X, Y, "evaluation data"))


# -- one mini-batch ----------------------------------------------------------


class _Step:
    """One mini-batch of gradient descent: forward, backpropagation, update.

    All the arithmetic of training lives here (the loop around it only
    gathers batches and keeps books), so a faster engine with preallocated
    buffers can replace this class without touching the loop. It updates
    ``net.params()`` in place; the arrays are captured once, so whoever
    restores weights must copy into them (``p[...] = saved``).
    """

    def __init__(self, net, optimizer, *, l2: float, n_train: int, dropout: float, rng):
        self.net = net
        self.optimizer = optimizer
        self.params = net.params()
        self.decay = l2 / n_train  # λ/n
        self.keep = 1.0 - dropout  # q, probability that a hidden neuron is kept
        self.rng = rng
        self.xb = self.tb = None  # gathered mini-batch rows, reused
        self._last = None

    def gather(self, X: np.ndarray, T: np.ndarray, idx: np.ndarray):
        """Rows ``idx`` of X and T, copied into buffers reused from batch to batch."""
        k = len(idx)
        if self.xb is None or len(self.xb) < k:
            self.xb = np.empty((k, X.shape[1]), dtype=X.dtype)
            self.tb = np.empty((k, T.shape[1]), dtype=T.dtype)
        Xb = np.take(X, idx, axis=0, out=self.xb[:k], mode="clip")
        Tb = np.take(T, idx, axis=0, out=self.tb[:k], mode="clip")
        return Xb, Tb

    def masks(self, m: int) -> list[np.ndarray | None]:
        """Inverted-dropout masks r^l/q for the hidden layers l = 1..L−1, each (n_l, m)."""
        net, q = self.net, self.keep
        masks: list[np.ndarray | None] = [None] * (net.L + 1)
        if q < 1:
            for l in range(1, net.L):
                keep = self.rng.random((net.sizes[l], m), dtype=net.dtype) < q
                masks[l] = keep.astype(net.dtype) * (1 / q)
        return masks

    def gradients(self, Xb: np.ndarray, Tb: np.ndarray, masks=None):
        """∂C/∂W^l and ∂C/∂b^l (lists indexed by l, entry 0 unused) for one mini-batch.

        ``Xb`` (m, n_0) and ``Tb`` (m, n_L) are rows; ``masks[l]`` (n_l, m) the
        dropout masks already divided by q, or None. No L2 term.
        """
        net, L = self.net, self.net.L
        W, b, act = net.W, net.b, net.act
        m = Xb.shape[0]
        masks = masks or [None] * (L + 1)
        z: list = [None] * (L + 1)
        s: list = [None] * (L + 1)  # σ(z^l) before dropout, for σ'
        a: list = [Xb.T] + [None] * L
        for l in range(1, L + 1):
            z[l] = W[l] @ a[l - 1] + b[l]  # z^l = W^l a^{l-1} + b^l
            s[l] = act[l].f(z[l])  # σ(z^l)
            a[l] = s[l] if masks[l] is None else s[l] * masks[l]  # a^l = σ(z^l) ∘ r^l/q
        t = Tb.T
        delta: list = [None] * (L + 1)
        delta[L] = net.cost_fn.delta(z[L], a[L], t, act[L])  # BP1
        for l in range(L - 1, 0, -1):
            delta[l] = (W[l + 1].T @ delta[l + 1]) * act[l].prime(z[l], s[l])  # BP2
            if masks[l] is not None:
                delta[l] *= masks[l]  # dropped neurons pass no error back
        db = [None] + [delta[l].sum(axis=1, keepdims=True) / m for l in range(1, L + 1)]  # BP3
        dW = [None] + [delta[l] @ a[l - 1].T / m for l in range(1, L + 1)]  # BP4
        self._last = (z[L], a[L], t)
        return dW, db

    def __call__(self, X: np.ndarray, T: np.ndarray, idx: np.ndarray, lr: float) -> None:
        """Train on the mini-batch of rows ``idx`` of (X, T) with learning rate ``lr``.

        Forward, backward (BP1–BP4), the L2 term, then one optimiser step.
        """
        net = self.net
        Xb, Tb = self.gather(X, T, idx)
        self.optimizer.lr = lr
        masks = self.masks(len(Xb)) if self.keep < 1 else None
        dW, db = self.gradients(Xb, Tb, masks)
        grads = []
        for l in range(1, net.L + 1):
            if self.decay:
                dW[l] += self.decay * net.W[l]  # L2: ∂C/∂W = ∂C₀/∂W + (λ/n) W
            grads += [dW[l], db[l]]
        self.optimizer.step(self.params, grads)

    def last_cost(self) -> float:
        """C₀ of the last mini-batch, with the weights before its update."""
        if self._last is None:
            return math.nan
        z, a, t = self._last
        net = self.net
        return float(net.cost_fn.value(z, a, t, net.act[net.L]).mean())


def _make_step(net, optimizer, *, l2: float, n_train: int, dropout: float, rng):
    """The object that trains one mini-batch: ``step(X, T, idx, lr)``.

    This is the one place to choose another engine (e.g. one with
    preallocated buffers and a fused GEMM update). It must update
    ``net.params()`` in place, draw dropout masks from ``rng`` only, and
    expose ``params`` (the arrays it updates) and ``last_cost()``.

    It is :class:`backprop.engine.FastStep` (the same numbers, tested equal,
    with reused buffers and a fused SGD update) for every network of built-in
    activations and costs, and the readable :class:`_Step` otherwise.
    """
    from . import engine

    if engine.unsupported(net, optimizer, dropout) is None:
        return engine.FastStep(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)
    return _Step(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)


# -- the loop ----------------------------------------------------------------


def train(
    net,
    X,
    Y,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str | optim.Optimizer = "sgd",
    seed: int | None = None,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    l2: float = 0.0,
    dropout: float = 0.0,
    schedule: str | schedules.Schedule | None = None,
    validation_data=None,
    validation_fraction: float = 0.0,
    test_data=None,
    patience: int | None = None,
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    resume=None,
) -> History:
    """Train ``net`` in place by mini-batch gradient descent; return the :class:`History`.

    Parameters
    ----------
    net : Network
        Updated in place (its ``params()`` arrays).
    X : array of shape (n, n_0)
        Training inputs, one example per row.
    Y : array of shape (n, n_L), or integer class labels of shape (n,)
        Targets; labels are turned into one-hot rows.
    epochs, batch_size : int
        Passes over the training data and examples per mini-batch (the last
        mini-batch of an epoch holds the remainder).
    lr : float
        α, applied to the mini-batch mean gradient; the starting value when a
        ``schedule`` changes it.
    optimizer : {"sgd", "momentum", "nesterov", "adam"} or Optimizer
        ``momentum`` is μ for momentum/Nesterov; ``beta1``, ``beta2``, ``eps`` are Adam's.
    seed : int, optional
        Seeds the generator of the shuffles, dropout masks and validation split:
        the same seed (and data, network) gives bit-identical weights.
    l2 : float
        λ of L2 regularisation: W ← (1 − αλ/n) W − α ∂C₀/∂W with n the
        number of training examples; biases are not decayed.
    dropout : float
        Probability p of dropping each hidden neuron during training (inverted dropout).
    schedule : str or Schedule, optional
        Learning-rate schedule (:mod:`backprop.schedules`), e.g. ``"step:10:0.5"``.
    validation_data : (X_val, Y_val), optional
    validation_fraction : float
        Alternatively, hold out this fraction (rounded up) of the rows, drawn at random.
    test_data : (X_test, Y_test), optional
        Also measured after every epoch; never used for decisions.
    patience : int, optional
        Early stopping: end after ``patience`` epochs without a better
        validation score (accuracy for classification, cost otherwise), and
        return the best epoch's weights. Needs validation data.
    callbacks : sequence of Callback
    shuffle : bool
        Draw a new order of the training rows every epoch.
    rng : np.random.Generator, optional
        Use this generator instead of one built from ``seed``.
    resume : path, or (tensors, meta) from ``TrainState.checkpoint()``, optional
        Continue a run exactly (a file written by :class:`Checkpoint`); pass
        the same data and settings. ``epochs`` may be larger than before.

    Returns
    -------
    History
        Per-epoch costs and accuracies; ``diverged`` holds a message when the
        cost became NaN/inf (the last good weights are kept, no exception).
    """
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    lr = optim._positive("lr", lr)
    l2 = _in_range("l2", l2, 0.0, math.inf, "a non-negative number")
    dropout = _in_range("dropout", dropout, 0.0, 1.0, "a probability in [0, 1)")
    validation_fraction = _in_range(
        "validation_fraction", validation_fraction, 0.0, 1.0, "a fraction in [0, 1)"
    )
    if patience is not None:
        patience = _positive_int("patience", patience)
    if dropout and net.L < 2:
        raise ConfigError("dropout applies to hidden layers, and this network has none")
    if validation_data is not None and validation_fraction:
        raise ConfigError("pass validation_data or validation_fraction, not both")
    if patience is not None and validation_data is None and not validation_fraction:
        raise ConfigError(
            "early stopping (patience) needs validation data: "
            "pass validation_data=(X, Y) or validation_fraction=0.1"
        )
    opt = optim.get(optimizer, lr, momentum=momentum, beta1=beta1, beta2=beta2, eps=eps)
    sched = schedules.get(schedule)
    rng = rng if rng is not None else np.random.default_rng(seed)
    if resume is not None and not isinstance(resume, (tuple, list)):
        from .io import load_checkpoint

        resume = load_checkpoint(resume)

    val_index = None
    if validation_fraction:
        X, Y = np.asarray(X), np.asarray(Y)
        n = len(X)
        n_val = math.ceil(validation_fraction * n)
        if resume is not None and "val_index" in resume[0]:
            val_index = resume[0]["val_index"].astype(np.intp)
        else:
            val_index = np.sort(rng.permutation(n)[:n_val])
        if not 0 < len(val_index) < n:
            raise DataError(
                f"validation_fraction={validation_fraction} of {n} rows leaves no training "
                f"or no validation rows; use more data or another fraction"
            )
        keep = np.ones(n, dtype=bool)
        keep[val_index] = False
        validation_data = (X[val_index], Y[val_index])
        X, Y = X[keep], Y[keep]
    train_set = _prepare(net, X, Y, "training data")
    val_set = (
        None
        if validation_data is None
        else _prepare(net, *_pair(validation_data, "validation_data"), "validation data")
    )
    test_set = (
        None if test_data is None else _prepare(net, *_pair(test_data, "test_data"), "test data")
    )

    n = len(train_set)
    state = TrainState(
        net=net,
        optimizer=opt,
        schedule=sched,
        rng=rng,
        history=History(),
        epochs=epochs,
        batch_size=batch_size,
        n_train=n,
        n_batches=math.ceil(n / batch_size),
        lr=lr,
        lr0=lr,
        val_index=val_index,
    )
    state._step = _make_step(net, opt, l2=l2, n_train=n, dropout=dropout, rng=rng)
    if resume is not None:
        state._restore(*resume)
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    _Loop(state, train_set, val_set, test_set, list(callbacks), shuffle, patience).run()
    return state.history


class _Loop:
    """Epochs of mini-batches around a :class:`_Step`, with the bookkeeping."""

    def __init__(self, state, train_set, val_set, test_set, callbacks, shuffle, patience):
        self.state = state
        self.train_set, self.val_set, self.test_set = train_set, val_set, test_set
        self.callbacks = callbacks
        self.shuffle = shuffle
        self.patience = patience
        # the monitored quantity: accuracy for classification, else cost
        monitored = val_set if val_set is not None else train_set
        self.mode = "max" if monitored.kind else "min"

    def _call(self, hook: str) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(self.state)

    def run(self) -> None:
        state = self.state
        params = state._step.params
        if state.last_good is None:  # else resumed in mid-epoch: the epoch's starting weights
            state.last_good = [p.copy() for p in params]
        last_good = state.last_good
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._call("on_train_begin")
            while not state.stop and (state.in_epoch or self._more_epochs()):
                if not state.in_epoch:
                    for saved, p in zip(last_good, params):
                        saved[...] = p
                    self._begin_epoch()
                if not self._batches():
                    self._end_epoch(last_good)  # diverged: restore and report now
                    break
                if state.batch < state.n_batches:
                    break  # stopped by a callback in the middle of the epoch
                if not self._end_epoch(last_good):
                    break
            if self.patience and state.best_params is not None and not state.in_epoch:
                for p, best in zip(params, state.best_params):
                    p[...] = best  # early stopping: return the best epoch's weights
            self._call("on_train_end")

    def _more_epochs(self) -> bool:
        """Another epoch is due: epochs left and patience not exhausted."""
        exhausted = self.patience is not None and self.state.wait >= self.patience
        return self.state.epoch < self.state.epochs and not exhausted

    def _begin_epoch(self) -> None:
        state = self.state
        state.epoch += 1
        state.batch = 0
        state.epoch_seconds = 0.0
        n = state.n_train
        state.perm = state.rng.permutation(n) if self.shuffle else np.arange(n)
        state.lr = float(state.schedule.lr(state.epoch, state.lr0))
        self._call("on_epoch_begin")

    def _batches(self) -> bool:
        """The epoch's remaining mini-batches; False as soon as a weight is NaN/inf."""
        state, step = self.state, self.state._step
        X, T, bs = self.train_set.X, self.train_set.T, state.batch_size
        # b^L: a NaN/inf anywhere in the network reaches it within a step or two, and
        # one element costs nothing to test (_end_epoch makes the full check)
        sentinel = step.params[-1]
        start = time.perf_counter()
        for k in range(state.batch, state.n_batches):
            step(X, T, state.perm[k * bs : (k + 1) * bs], state.lr)
            state.batch = k + 1
            if not math.isfinite(sentinel.item(0)):
                return False
            if self.callbacks:
                state.epoch_seconds += time.perf_counter() - start
                self._call("on_batch_end")
                start = time.perf_counter()
                if state.stop:
                    return True
        state.epoch_seconds += time.perf_counter() - start
        return True

    def _end_epoch(self, last_good: list[np.ndarray]) -> bool:
        """Measure, record and decide; False when training must end."""
        state, net, h = self.state, self.state.net, self.state.history
        t0 = time.perf_counter()
        train_cost, train_acc = _evaluate(net, self.train_set)
        params = state._step.params
        if not (math.isfinite(train_cost) and all(np.isfinite(p).all() for p in params)):
            for p, saved in zip(params, last_good):
                p[...] = saved
            kept = f"epoch {state.epoch - 1}" if state.epoch > 1 else "initialisation"
            if math.isfinite(train_cost):
                what = "a weight became NaN or infinite"
            else:
                what = f"the cost became {train_cost}"
            h.diverged = (
                f"training diverged: {what} in epoch {state.epoch} "
                f"with learning rate {state.lr:g}; kept the weights from the end of {kept}. "
                f"Try a lower learning rate, e.g. lr={state.lr / 10:g}"
            )
            state.perm = None
            return False
        val = _evaluate(net, self.val_set) if self.val_set is not None else (None, None)
        test = _evaluate(net, self.test_set) if self.test_set is not None else (None, None)
        h.epoch.append(state.epoch)
        h.train_cost.append(train_cost)
        h.train_accuracy.append(train_acc)
        h.val_cost.append(val[0])
        h.val_accuracy.append(val[1])
        h.test_cost.append(test[0])
        h.test_accuracy.append(test[1])
        h.lr.append(state.lr)
        h.seconds.append(state.epoch_seconds)
        h.extras.setdefault("eval_seconds", []).append(time.perf_counter() - t0)

        if self.val_set is not None:
            score = val[1] if self.mode == "max" else val[0]
        else:
            score = train_acc if self.mode == "max" else train_cost
        if self.val_set is not None:
            if state.best_score is None or _better(score, state.best_score, self.mode):
                state.best_score, state.wait = score, 0
                h.best_epoch = state.epoch
                if self.patience:
                    state.best_params = [p.copy() for p in params]
            else:
                state.wait += 1
        state.schedule.observe(score, self.mode)
        state.perm = None
        if not self._more_epochs() and state.epoch < state.epochs:
            h.stopped_early = True  # patience exhausted
        self._call("on_epoch_end")
        return True


def _better(score: float, best: float, mode: str) -> bool:
    return score > best if mode == "max" else score < best


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _in_range(name: str, value, lo: float, hi: float, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {what}, got {value!r}") from None
    if not (lo <= value < hi):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return value
