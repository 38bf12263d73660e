"""Validators for settings given by a user: one function per kind of value.

Each checks one value at the edge of the library (a constructor, ``train()``)
and returns it in its canonical type, or raises :class:`~backprop.errors.ConfigError`
with one line naming the setting, what it must be and what it got. ``name`` is
the setting as the user wrote it (``"lr"``, ``"schedule gamma"``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import ConfigError, one_of

__all__ = [
    "DTYPES",
    "dtype",
    "fraction",
    "generator",
    "non_negative_int",
    "number_in_range",
    "one_of",
    "choice",
    "positive_float",
    "positive_int",
]

#: the precisions a network can hold
DTYPES = ("float32", "float64")


def positive_int(name: str, value: Any, *, integral_floats: bool = False) -> int:
    """``value`` as an int ≥ 1 (with ``integral_floats``, 3.0 counts as 3)."""
    if _is_int(value, integral_floats) and value >= 1:
        return int(value)
    raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def non_negative_int(name: str, value: Any, *, integral_floats: bool = False) -> int:
    """``value`` as an int ≥ 0."""
    if _is_int(value, integral_floats) and value >= 0:
        return int(value)
    raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")


def positive_float(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    number = _float(name, value, "a number")
    if not (number > 0 and math.isfinite(number)):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")
    return number


def number_in_range(name: str, value: Any, lo: float, hi: float, what: str) -> float:
    """``value`` as a float with lo ≤ value < hi; ``what`` says so ("a fraction in [0, 1)")."""
    number = _float(name, value, what)
    if not (lo <= number < hi):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return number


def fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1) (a momentum, a β of Adam)."""
    number = _float(name, value, "a number in [0, 1)")
    if not 0 <= number < 1:
        raise ConfigError(f"{name} must lie in [0, 1), got {value!r}")
    return number


def dtype(value: Any) -> str:
    """The name of a network precision: ``"float32"`` or ``"float64"`` (or the NumPy types)."""
    name = np.dtype(value).name if value in (np.float32, np.float64) else str(value)
    if name not in DTYPES:
        raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {value!r}")
    return name


def choice(kind: str, value: Any, valid: Iterable[str]) -> str:
    """``value`` if it is one of ``valid``, else the error listing the valid ones."""
    valid = tuple(valid)
    if isinstance(value, str) and value in valid:
        return value
    raise one_of(kind, value, valid)


def generator(seed: Any) -> np.random.Generator:
    """``np.random.default_rng(seed)``; a seed NumPy refuses (``-1``, ``"a"``, ``1.5``) is a
    ConfigError, not NumPy's bare ValueError or TypeError."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ConfigError(
            f"seed must be a whole number ≥ 0 (or None for a random one), got {seed!r}"
        ) from None


def _is_int(value: Any, integral_floats: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return integral_floats and isinstance(value, (float, np.floating)) and float(value).is_integer()


def _float(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool):
        value = int(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {what}, got {value!r}") from None
