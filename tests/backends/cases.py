"""What the backend tests share: the CPU backends that CI has, cases and small data.

Imported as ``backends.cases`` (``tests`` is on the path, see pyproject).
"""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from support import needs

needs_compat = needs("array_api_compat", "pip install array-api-compat")
needs_strict = needs("array_api_strict", "pip install array-api-strict")
needs_torch_compat = [needs("torch", "pip install torch==2.13.0"), needs_compat]
needs_torch_cpu = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("torch", "array_api_compat")),
    reason="needs torch and array-api-compat (pip install torch==2.13.0 array-api-compat)",
)

#: the array libraries CI runs on its CPU, each with the marks that skip it when missing
CPU_BACKENDS = [
    pytest.param("torch", marks=needs_torch_compat, id="torch"),
    pytest.param("array_api_strict", marks=[needs_strict, needs_compat], id="strict"),
]

HIDDEN = ["sigmoid", "tanh", "relu", "leaky-relu", "identity"]
#: every (output activation, cost) pair that has a meaning
OUTPUT_COST = [(out, "quadratic") for out in [*HIDDEN, "softmax"]] + [
    ("sigmoid", "cross-entropy"),
    ("softmax", "cross-entropy"),
]


def cases():
    """(depth, hidden, output, cost) for depth 1–4 and every activation and cost."""
    for depth, (out, cost) in itertools.product(range(1, 5), OUTPUT_COST):
        for hidden in HIDDEN if depth > 1 else HIDDEN[:1]:
            yield pytest.param(depth, hidden, out, cost, id=f"L{depth}-{hidden}-{out}-{cost}")


def sizes_of(depth: int) -> list[int]:
    return [4, *[5, 3, 4][: depth - 1], 3]


def data(sizes: list[int], m: int, output: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0]))
    T = rng.random((m, sizes[-1]))
    if output == "softmax":
        T /= T.sum(axis=1, keepdims=True)  # a probability vector per example
    return X, T
