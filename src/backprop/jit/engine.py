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
no per-batch Python, does small layers in its own unrolled loops, large ones'
products in the same BLAS (small batches' forward products in its own blocked
loops), but its elementwise passes run on one core beside two-threaded GEMMs.
Measured on this project's 2-core machines (float32, sigmoid, whole ``train()``
calls on 10,240 rows, AMD EPYC, 2026-12-01): [3,4,2]/1 ×90, [784,30,10]/10 ×1.86,
[784,100,10]/10 ×1.38, [784,100,10]/64 ×1.08, [784,256,10]/32 ×1.11,
[784,100,10]/128 ×0.97, [784,512,512,10]/128 ×0.79 (compiled / fast). So
``"auto"`` compiles

* networks of at most ``AUTO_MAX_WEIGHTS`` weights (Σ n_l·n_{l−1}) trained on at
  least ``AUTO_MIN_ROWS`` rows, and
* larger ones whose mini-batch is at most ``AUTO_MAX_BATCH_WORK`` multiply-adds
  per product (Σ n_l·n_{l−1} · m), trained on at least ``AUTO_MIN_ROWS_BLAS`` rows.

The row minimums keep small data sets (digits' 1,437 rows, where loading numba,
≈ 0.3 s, and a first compile, ≈ 2.5 s, would dominate) on the fast step. The
choice depends only on the network and the run's settings, never on what numba
has cached, so a seed gives the same numbers on every machine state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import optimizers as optim
from ..errors import ConfigError
from . import INSTALL_HINT, available

__all__ = [
    "AUTO_MAX_BATCH_WORK", "AUTO_MAX_WEIGHTS", "AUTO_MIN_ROWS", "AUTO_MIN_ROWS_BLAS", "auto_step",
    "jit_step", "pays",
]  # fmt: skip

#: "auto" compiles networks with at most this many weights (Σ n_l·n_{l−1})
AUTO_MAX_WEIGHTS = 1024
#: … trained on at least this many rows
AUTO_MIN_ROWS = 1000
#: larger networks, with at most this many multiply-adds per mini-batch and product
#: (Σ n_l·n_{l−1} · m: the Python around the fast step's products is a share worth saving)
AUTO_MAX_BATCH_WORK = 8_000_000
#: … trained on at least this many rows (digits' 1,437 train as fast without numba's load)
AUTO_MIN_ROWS_BLAS = 5000


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
    batch_size: int | None = None,
) -> Any:
    """``engine="auto"``'s first choice: the compiled step where it pays (else ConfigError)."""
    if not pays(net.sizes, n_train, batch_size):
        raise ConfigError("the compiled engine does not pay for this network and data")
    if not available():
        raise ConfigError("numba is not installed")
    return jit_step(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)


def pays(sizes: Any, n_train: int, batch_size: int | None) -> bool:
    """Whether ``"auto"`` compiles: a small network, or per-batch work small enough that
    the fast step's Python between mini-batches is a noticeable share (see the module)."""
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if weights <= AUTO_MAX_WEIGHTS:
        return n_train >= AUTO_MIN_ROWS
    if batch_size is None:
        return False
    return n_train >= AUTO_MIN_ROWS_BLAS and weights * batch_size <= AUTO_MAX_BATCH_WORK
