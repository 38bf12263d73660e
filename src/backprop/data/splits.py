"""Seeded train/validation/test splits and one-hot targets."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["check_fraction", "one_hot", "random_split_info", "split_indices"]


def check_fraction(name: str, value: float) -> float:
    """``value`` as a float in [0, 1), or a ConfigError naming ``name``."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number in [0, 1), got {value!r}") from None
    if not 0.0 <= f < 1.0:  # also rejects NaN
        raise ConfigError(f"{name} must be in [0, 1), got {value!r}")
    return f


def split_indices(
    n: int,
    *,
    validation_fraction: float,
    test_fraction: float = 0.0,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``range(n)`` at random into train, validation and test indices.

    The sizes are ``n_val = round(validation_fraction * n)``,
    ``n_test = round(test_fraction * n)`` and the rest for training. One
    permutation from ``rng`` decides the membership; each part is returned in
    ascending order (so the examples keep their file order).

    Returns
    -------
    train, val, test : ndarray of int64
    """
    v = check_fraction("validation_fraction", validation_fraction)
    t = check_fraction("test_fraction", test_fraction)
    n_val, n_test = round(v * n), round(t * n)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise DataError(
            f"{n} examples leave none for training with validation_fraction={v} and "
            f"test_fraction={t}; use smaller fractions or more data"
        )
    perm = rng.permutation(n)
    val = np.sort(perm[:n_val])
    test = np.sort(perm[n_val : n_val + n_test])
    train = np.sort(perm[n_val + n_test :])
    return train, val, test


def random_split_info(validation_fraction, test_fraction, seed) -> dict:
    """JSON-ready description of a random split (for ``Dataset.split`` and model metadata)."""
    if not (seed is None or isinstance(seed, (int, np.integer))):
        seed = repr(seed)  # a Generator or SeedSequence: recorded, not reproducible from JSON
    return {
        "rule": "random",
        "validation_fraction": float(validation_fraction),
        "test_fraction": float(test_fraction),
        "seed": None if seed is None else seed if isinstance(seed, str) else int(seed),
    }


def one_hot(y, n_classes: int, dtype="float64") -> np.ndarray:
    """One-hot targets: row i has a 1 in column ``y[i]``.

    Parameters
    ----------
    y : array_like of int, shape (m,)
        Class labels in ``0 .. n_classes-1``.
    n_classes : int
    dtype : numpy dtype, default float64

    Returns
    -------
    ndarray of shape (m, n_classes)
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"labels must be a 1-D array, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        integral = np.issubdtype(y.dtype, np.floating) and bool(
            np.all(np.isfinite(y)) and np.all(np.mod(y, 1) == 0)
        )
        if not integral:
            raise DataError("labels must be integers for one-hot targets")
        y = y.astype(np.int64)
    n_classes = int(n_classes)
    if n_classes < 1:
        raise ConfigError(f"n_classes must be at least 1, got {n_classes}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(
            f"labels must be in 0..{n_classes - 1}, found {int(y.min())}..{int(y.max())}"
        )
    out = np.zeros((y.shape[0], n_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out
