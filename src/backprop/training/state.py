"""Everything that changes while training (:class:`TrainState`) and its checkpoint codec.

``state.checkpoint()`` captures the state as (tensors, meta): named arrays and
a JSON-serialisable dict, what :func:`backprop.io.save_checkpoint` writes;
``train(..., resume=(tensors, meta))`` continues bit-identically, even from
the middle of an epoch (:func:`restore` loads it into a fresh state).

The codec's names: ``W{l}``, ``b{l}`` (weights), ``optimizer.{key}.{i}``
(optimiser buffers), ``best.{i}`` (early stopping's best weights, in
``params()`` order), ``perm`` and ``last_good.{i}`` (mid-epoch: the epoch's
order of rows and its starting weights), ``val_index`` (the held-out rows).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import optimizers as optim
from .. import schedules
from ..backends import as_numpy, copy_on, to_numpy  # checkpoints of networks on any device
from ..backends.updates import numpy_state_dict
from ..errors import ConfigError
from ..network import Network
from ..types import Array
from .history import History

if TYPE_CHECKING:
    from .running import RunningMetrics
    from .step import Step

__all__ = ["TrainState", "restore"]

Tensors = dict[str, Array]
Meta = dict[str, Any]


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

    net: Network
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
    perm: Array | None = None
    stop: bool = False
    best_score: float | None = None
    best_params: list[Array] | None = None
    wait: int = 0
    val_index: Array | None = None
    epoch_seconds: float = 0.0
    last_good: list[Array] | None = None
    _step: Step | None = field(default=None, repr=False)
    _running: RunningMetrics | None = field(default=None, repr=False)

    @property
    def step(self) -> Step | None:
        """The engine training the mini-batches (see :class:`backprop.training.step.Step`)."""
        return self._step

    @property
    def in_epoch(self) -> bool:
        """True between an epoch's first and last mini-batch."""
        return self.perm is not None

    def batch_cost(self) -> float:
        """Cost C₀ of the last mini-batch, before its update (computed on demand; NaN if none)."""
        return self._step.last_cost() if self._step is not None else math.nan

    def running_metrics(self) -> tuple[float, float | None, int] | None:
        """(C, accuracy, m): the training cost and accuracy over the epoch's mini-batches so far.

        The running mean over the m examples trained in this epoch until now,
        each from its batch's forward pass before that batch's update: what the
        History's ``train_cost``/``train_accuracy`` will hold for the epoch
        (with ``train_metrics="running"``), known while it runs. Accuracy is
        None for regression; the whole is None between epochs, before the
        first batch, and with ``train_metrics="full"`` (no running sums are
        kept). See :mod:`backprop.training.running`.
        """
        if self._running is None or self._step is None or self.perm is None:
            return None
        return self._running.so_far(self._step, self.perm)

    def checkpoint(self) -> tuple[Tensors, Meta]:
        """(tensors, meta): the state as arrays and a JSON-serialisable dict.

        The pair suits ``backprop.io.save_checkpoint(path, tensors, meta)``;
        ``train(..., resume=(tensors, meta))`` continues exactly where this
        state is (weights included).
        """
        tensors: Tensors = {}
        for l in self.net.W.keys():
            tensors[f"W{l}"] = to_numpy(self.net.W[l])  # a NumPy copy from any device
            tensors[f"b{l}"] = to_numpy(self.net.b[l])
        opt = numpy_state_dict(self.optimizer)
        opt_meta = {}
        for key, value in opt.items():
            if isinstance(value, list):
                for i, arr in enumerate(value):
                    tensors[f"optimizer.{key}.{i}"] = as_numpy(arr)
                opt_meta[key] = len(value)
            else:
                opt_meta[key] = value
        for i, arr in enumerate(self.best_params or ()):
            tensors[f"best.{i}"] = to_numpy(arr)
        if self.perm is not None:
            tensors["perm"] = self.perm.astype(np.int64)
            # mid-epoch: what a divergence later in this epoch must fall back to
            for i, arr in enumerate(self.last_good or ()):
                tensors[f"last_good.{i}"] = to_numpy(arr)
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

    def _restore(self, tensors: Tensors, meta: Meta) -> None:
        """The old name of :func:`restore` (kept for callers)."""
        restore(self, tensors, meta)


def restore(state: TrainState, tensors: Tensors, meta: Meta) -> None:
    """Load a :meth:`TrainState.checkpoint` into a freshly built ``state`` (weights in place).

    Everything is checked first, so a refused checkpoint changes nothing; a
    malformed one is a :class:`~backprop.errors.ConfigError` saying where it
    must come from.
    """
    try:
        _load(state, tensors, meta)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(
            f"cannot resume from this checkpoint ({type(err).__name__}: {err}); "
            f"it must come from TrainState.checkpoint() of a run with the same network"
        ) from None


def _check(state: TrainState, tensors: Tensors, meta: Meta, names: list[str]) -> None:
    if meta["n_train"] != state.n_train or meta["batch_size"] != state.batch_size:
        raise ConfigError(
            f"checkpoint was made with {meta['n_train']} training rows and batch size "
            f"{meta['batch_size']}; resume with the same data and batch_size"
        )
    for name, p in zip(names, state.net.params()):
        if tensors[name].shape != p.shape:
            raise ConfigError(
                f"checkpoint {name} has shape {tensors[name].shape}, the network's "
                f"{p.shape}; resume with the network the checkpoint was made with"
            )


def _load(state: TrainState, tensors: Tensors, meta: Meta) -> None:
    # check and decode everything first, so that a refused checkpoint changes nothing
    params = state.net.params()
    names = [f"{kind}{l}" for l in state.net.W.keys() for kind in ("W", "b")]
    _check(state, tensors, meta, names)
    opt = dict(meta["optimizer"])
    for key in meta["optimizer_lists"]:
        opt[key] = [tensors[f"optimizer.{key}.{i}"] for i in range(opt[key])]
    history = History.from_dict(meta["history"])
    best = (
        [copy_on(p, tensors[f"best.{i}"]) for i, p in enumerate(params)]
        if meta["has_best"]
        else None
    )
    last_good = (
        [copy_on(p, tensors[f"last_good.{i}"]) for i, p in enumerate(params)]
        if meta.get("has_last_good")
        else None
    )
    state.optimizer.load_state_dict(opt)
    state.schedule.load_state_dict(meta["schedule"])
    state.last_good = last_good
    # then take it over
    for name, p in zip(names, params):
        p[...] = copy_on(p, tensors[name])
    state.rng.bit_generator.state = copy.deepcopy(meta["rng"])
    state.history = history
    state.epoch, state.batch = int(meta["epoch"]), int(meta["batch"])
    state.lr, state.wait = float(meta["lr"]), int(meta["wait"])
    state.best_score = meta["best_score"]
    state.best_params = best
    state.epoch_seconds = float(meta["epoch_seconds"])
    state.perm = tensors["perm"].astype(np.intp) if "perm" in tensors else None
