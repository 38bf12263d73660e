"""What :func:`~backprop.training.train` checks and prepares before the first epoch.

Each function is one step of ``train()``'s set-up, public so that other
drivers of the :class:`~backprop.training.loop.Loop` (data-parallel training)
set up exactly alike: :func:`check_settings` and :func:`check_combinations`
(every setting checked, one clear :class:`~backprop.errors.ConfigError`),
:func:`load_resume` (a checkpoint path or pair), :func:`hold_out` (the
validation split), :func:`optional_set` (validation and test data),
:func:`new_state` (the state of a run before its first epoch).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import optimizers as optim
from .. import schedules, validation
from ..backends import as_numpy  # arrays of any library
from ..errors import ConfigError, DataError
from ..network import Network
from ..types import Array, ArrayLike
from .history import History
from .inputs import Dataset, pair, prepare
from .state import Meta, Tensors, TrainState

__all__ = [
    "Resume",
    "Settings",
    "check_combinations",
    "check_settings",
    "hold_out",
    "load_resume",
    "new_state",
    "optional_set",
]

#: a checkpoint as (tensors, meta), what ``TrainState.checkpoint()`` returns
Resume = tuple[Tensors, Meta]


@dataclass
class Settings:
    """The checked numbers of a :func:`~backprop.training.train` call."""

    epochs: int
    batch_size: int
    lr: float
    l2: float
    dropout: float
    validation_fraction: float
    patience: int | None


def check_settings(
    net: Network,
    epochs: Any,
    batch_size: Any,
    lr: Any,
    l2: Any,
    dropout: Any,
    validation_fraction: Any,
    patience: Any,
) -> Settings:
    """Each setting checked and converted, or the ConfigError saying what it must be."""
    return Settings(
        epochs=validation.positive_int("epochs", epochs),
        batch_size=validation.positive_int("batch_size", batch_size),
        lr=validation.positive_float("lr", lr),
        l2=validation.number_in_range("l2", l2, 0.0, math.inf, "a non-negative number"),
        dropout=validation.number_in_range("dropout", dropout, 0.0, 1.0, "a probability in [0, 1)"),
        validation_fraction=validation.number_in_range(
            "validation_fraction", validation_fraction, 0.0, 1.0, "a fraction in [0, 1)"
        ),
        patience=None if patience is None else validation.positive_int("patience", patience),
    )


def check_combinations(net: Network, s: Settings, validation_data: object) -> None:
    """Settings that cannot go together (dropout without hidden layers, patience without data)."""
    if s.dropout and net.L < 2:
        raise ConfigError("dropout applies to hidden layers, and this network has none")
    if validation_data is not None and s.validation_fraction:
        raise ConfigError("pass validation_data or validation_fraction, not both")
    if s.patience is not None and validation_data is None and not s.validation_fraction:
        raise ConfigError(
            "early stopping (patience) needs validation data: "
            "pass validation_data=(X, Y) or validation_fraction=0.1"
        )


def load_resume(resume: str | os.PathLike[str] | Resume | None) -> Resume | None:
    """The checkpoint to resume from: a (tensors, meta) pair as given, or a file's."""
    if resume is None or isinstance(resume, (tuple, list)):
        return resume
    from ..io.checkpoint import load_checkpoint

    return load_checkpoint(resume)


def hold_out(
    X: ArrayLike,
    Y: ArrayLike,
    fraction: float,
    rng: np.random.Generator,
    resumed: Resume | None,
) -> tuple[Array, Array, tuple[Array, Array], Array]:
    """(X, Y) without a random ``fraction`` of the rows, the held-out rows, their sorted indices."""
    X, Y = as_numpy(X), as_numpy(Y)
    n = len(X)
    if resumed is not None and "val_index" in resumed[0]:
        val_index = resumed[0]["val_index"].astype(np.intp)
    else:
        val_index = np.sort(rng.permutation(n)[: math.ceil(fraction * n)])
    if not 0 < len(val_index) < n:
        raise DataError(
            f"validation_fraction={fraction} of {n} rows leaves no training "
            f"or no validation rows; use more data or another fraction"
        )
    keep = np.ones(n, dtype=bool)
    keep[val_index] = False
    return X[keep], Y[keep], (X[val_index], Y[val_index]), val_index


def optional_set(net: Network, data: Any, name: str, what: str) -> Dataset | None:
    """``prepare(net, X, Y, what)`` of an optional (X, Y) pair named ``name``."""
    return None if data is None else prepare(net, *pair(data, name), what)


def new_state(
    net: Network,
    optimizer: optim.Optimizer,
    schedule: schedules.Schedule,
    rng: np.random.Generator,
    s: Settings,
    n_train: int,
    val_index: Array | None,
) -> TrainState:
    """The :class:`TrainState` of a run before its first epoch (no step attached yet)."""
    return TrainState(
        net=net,
        optimizer=optimizer,
        schedule=schedule,
        rng=rng,
        history=History(),
        epochs=s.epochs,
        batch_size=s.batch_size,
        n_train=n_train,
        n_batches=math.ceil(n_train / s.batch_size),
        lr=s.lr,
        lr0=s.lr,
        val_index=val_index,
    )
