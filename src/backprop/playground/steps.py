"""The library's training step for the playground: the fast step where it exists.

``make_step(net, optimizer, l2=…, dropout=…, rng=…)`` returns a callable
``step(X, T, idx, lr)`` that trains ``net`` in place on rows ``idx`` of (X, T), the
interface of the library's steps (see ``backprop.engine.FastStep``). L2 enters as the
library's weight decay with n = 1, so ∂C/∂W^l gains λ W^l (the penalty ½ λ ‖W‖²).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..network import Network
from ..optimizers import Optimizer

Step = Callable[[np.ndarray, np.ndarray, np.ndarray, float], None]


def _fast_step_class() -> Any:
    """The library's fast step, wherever this version keeps it (``fast/`` or ``engine``)."""
    for module in ("backprop.fast", "backprop.engine"):
        try:
            return importlib.import_module(module).FastStep
        except (ImportError, AttributeError):
            continue
    raise ImportError("backprop has no FastStep (backprop.fast or backprop.engine)")


def make_step(
    net: Network, optimizer: Optimizer, *, l2: float, dropout: float, rng: np.random.Generator
) -> Step:
    """One mini-batch of BP1–BP4 and the update, from the library (n = 1: λ is the decay)."""
    FastStep = _fast_step_class()
    step: Step = FastStep(net, optimizer, l2=l2, n_train=1, dropout=dropout, rng=rng)
    return step
