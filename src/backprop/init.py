"""Weight initialisers.

Each initialiser is ``init(rng, n_out, n_in) -> (W, b)`` with W of shape
(n_out, n_in) and b of shape (n_out, 1), drawn in float64 from the
``np.random.Generator`` it is given (the network casts them to its dtype, so
float32 and float64 networks built from one seed hold the same numbers).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import one_of
from .types import Array

Initializer = Callable[[np.random.Generator, int, int], tuple[Array, Array]]


def normal(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    """W, b ~ N(0, 1): the book's chapter 1."""
    return rng.standard_normal((n_out, n_in)), rng.standard_normal((n_out, 1))


def scaled_normal(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    """W ~ N(0, 1/n_in), b ~ N(0, 1): the book's chapter 3."""
    return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in), rng.standard_normal((n_out, 1))


def glorot_uniform(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    """W ~ U(−r, r) with r = √(6/(n_in + n_out)) (Glorot & Bengio, 2010); b = 0."""
    r = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-r, r, (n_out, n_in)), np.zeros((n_out, 1))


def he_normal(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[Array, Array]:
    """W ~ N(0, 2/n_in) (He et al., 2015), for ReLU layers; b = 0."""
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), np.zeros((n_out, 1))


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "scaled-normal": scaled_normal,
    "glorot-uniform": glorot_uniform,
    "he-normal": he_normal,
}


def get(name: str | Initializer) -> Initializer:
    """The initialiser called ``name`` (a callable passes through)."""
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise one_of("initialiser", name, INITIALIZERS) from None
