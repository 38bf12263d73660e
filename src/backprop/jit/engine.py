"""The compiled engine's factories for ``train(..., engine=…)``.

``engine="jit"`` always builds a :class:`~backprop.jit.step.JitStep` (a clear
:class:`~backprop.errors.ConfigError` when numba is missing or the network
has an activation, cost or optimiser it does not know). ``engine="auto"``
asks :func:`auto_step` first, which builds one only where it pays and refuses
quietly (ConfigError, caught by ``make_step``) elsewhere, so that ``"auto"``
moves on to the NumPy fast step. Nothing here imports numba until a compiled
step is actually built.

Where it pays. The NumPy fast step costs ≈ 12 µs of Python per mini-batch
whatever its size, plus its arithmetic at BLAS speed; the compiled kernel has
no per-batch overhead but does its arithmetic in plain compiled loops. So it
wins on small layers, and the smaller the layers the larger the batches it
wins at. ``AUTO_MAX_WEIGHTS`` (multiply-adds per example, Σ n_l·n_{l−1}) bounds
the networks ``"auto"`` compiles: [3,4,2] (20) and [2,8,1] (24) are far inside,
[784,30,10] (23,820) is outside — there the fast step's matrix products win at
the book's batch of 10. ``AUTO_MIN_ROWS`` keeps tiny data sets (a few dozen
rows, where loading numba and the cached kernel, ≈ 1 s, would dominate) on
the fast step. See docs/performance.md for the measurements.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import optimizers as optim
from ..errors import ConfigError
from . import INSTALL_HINT, available

__all__ = ["AUTO_MAX_WEIGHTS", "AUTO_MIN_ROWS", "auto_step", "jit_step"]

#: "auto" compiles networks with at most this many weights (Σ n_l·n_{l−1})
AUTO_MAX_WEIGHTS = 1024
#: … trained on at least this many rows
AUTO_MIN_ROWS = 1000


def jit_step(
    net: Any,
    optimizer: optim.Optimizer,
    *,
    l2: float,
    n_train: int,
    dropout: float,
    rng: np.random.Generator | None,
) -> Any:
    """``engine="jit"``: the compiled step, or a ConfigError saying why it cannot be."""
    if not available():
        raise ConfigError(f"engine='jit' needs numba, which is not installed; {INSTALL_HINT}")
    from .step import JitStep, unsupported

    reason = unsupported(net, optimizer)
    if reason is not None:
        raise ConfigError(f"the jit engine cannot train this network: {reason}; use engine='fast'")
    return JitStep(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)


def auto_step(
    net: Any,
    optimizer: optim.Optimizer,
    *,
    l2: float,
    n_train: int,
    dropout: float,
    rng: np.random.Generator | None,
) -> Any:
    """``engine="auto"``'s first choice: the compiled step where it pays (else ConfigError)."""
    weights = sum(a * b for a, b in zip(net.sizes[:-1], net.sizes[1:]))
    if weights > AUTO_MAX_WEIGHTS or n_train < AUTO_MIN_ROWS:
        raise ConfigError("the compiled engine does not pay for this network and data")
    if not available():
        raise ConfigError("numba is not installed")
    return jit_step(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)
