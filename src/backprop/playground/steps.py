"""The library's training step for the playground.

``make_step(net, optimizer, l2=…, dropout=…, rng=…)`` returns the library's step
(``backprop.training.make_step``, engine ``auto``: the fast NumPy step for the built-in
activations and costs), a callable ``step(X, T, idx, lr)`` that trains ``net`` in place on
rows ``idx`` of (X, T) — the Step protocol. L2 enters as the library's weight decay with
n = 1, so ∂C/∂W^l gains λ W^l (the penalty ½ λ ‖W‖²).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ..network import Network
from ..optimizers import Optimizer

Step = Callable[[np.ndarray, np.ndarray, np.ndarray, float], None]


def _library_factory() -> Any:
    """``backprop.training.make_step``, or the fast step's class in versions without it."""
    try:
        return importlib.import_module("backprop.training").make_step
    except (ImportError, AttributeError):
        return importlib.import_module("backprop.engine").FastStep


def make_step(
    net: Network, optimizer: Optimizer, *, l2: float, dropout: float, rng: np.random.Generator
) -> Step:
    """One mini-batch of BP1–BP4 and the update, from the library (n = 1: λ is the decay)."""
    factory = _library_factory()
    step: Step = factory(net, optimizer, l2=l2, n_train=1, dropout=dropout, rng=rng)
    return step
