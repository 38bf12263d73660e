"""Standardisation: the one preprocessing step a model file can hold.

A :class:`Standardizer` holds the training rows' per-feature mean μ and scale s (their
standard deviation), and for a regression target its mean μ_y and scale s_y. The network
is trained on, and takes, standardised rows; a model (:class:`backprop.model.Model`)
applies the step on the way in and undoes the target's on the way out::

    x = (x_raw − μ) / s                    μ, s: (n_0,), per feature (column)
    y = a^L ∘ s_y + μ_y                    μ_y, s_y: (n_L,), regression only

The statistics are float64 and stored in the model file as the tensors
``standardize.mean``, ``standardize.scale`` (and ``standardize.y_mean``,
``standardize.y_scale``); see docs/model-format.md. This module is NumPy only, so the
model writer and reader (in the core) can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DataError
from .types import Array, ArrayLike

__all__ = ["TENSORS", "Standardizer"]

#: the model file's tensor names, by Standardizer field
TENSORS = {
    "mean": "standardize.mean",
    "scale": "standardize.scale",
    "y_mean": "standardize.y_mean",
    "y_scale": "standardize.y_scale",
}
#: a standard deviation at most this (relative to max(1, |mean|)) counts as a constant
#: feature: it gets scale 1 and is only centred
CONSTANT = 1e-12


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-feature ``mean`` and ``scale`` of shape (n_0,), and for a regression target
    ``y_mean`` and ``y_scale`` of shape (n_L,); float64.

    A feature (or target) that does not vary gets scale 1: it is only centred.
    """

    mean: Array
    scale: Array
    y_mean: Array | None = None
    y_scale: Array | None = None

    def __post_init__(self) -> None:
        for name in TENSORS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.array(value, dtype=np.float64).reshape(-1))
        if self.mean.shape != self.scale.shape:
            raise DataError(
                f"a Standardizer needs one mean and one scale per feature, got "
                f"{self.mean.size} and {self.scale.size}"
            )
        if (self.y_mean is None) != (self.y_scale is None):
            raise DataError("a Standardizer's target needs both y_mean and y_scale")
        if self.y_mean is not None and self.y_scale is not None:
            if self.y_mean.shape != self.y_scale.shape:
                raise DataError(
                    f"a Standardizer needs one y_mean and one y_scale per target column, got "
                    f"{self.y_mean.size} and {self.y_scale.size}"
                )
        for name in TENSORS:
            value = getattr(self, name)
            if value is not None and not np.isfinite(value).all():
                raise DataError(f"a Standardizer's {name} holds NaN or inf values")
            if name.endswith("scale") and value is not None and not (value > 0).all():
                raise DataError(f"a Standardizer's {name} must be positive")

    @classmethod
    def fit(cls, X: ArrayLike, Y: ArrayLike | None = None) -> Standardizer:
        """The mean and (population) standard deviation of each column of ``X`` (m, n_0),
        and of ``Y`` (m, n_L) or (m,) when given (a regression target)."""
        Xf = _rows(X, "X")
        mean, scale = Xf.mean(axis=0), _scale(Xf.std(axis=0), Xf.mean(axis=0))
        if Y is None:
            return cls(mean, scale)
        Yf = _rows(Y, "Y")
        return cls(mean, scale, Yf.mean(axis=0), _scale(Yf.std(axis=0), Yf.mean(axis=0)))

    @property
    def n_features(self) -> int:
        return int(self.mean.size)

    @property
    def target(self) -> bool:
        """Whether the target is standardised too (regression through a linear output)."""
        return self.y_mean is not None

    def transform(self, X: ArrayLike) -> Array:
        """(X − μ) / s, float64, of shape (m, n_0): the network's input for raw rows."""
        Xf = np.asarray(X, dtype=np.float64)
        if Xf.ndim == 1:
            Xf = Xf.reshape(1, -1)
        if Xf.ndim != 2 or Xf.shape[1] != self.n_features:
            raise DataError(
                f"X has shape {Xf.shape} but the standardisation is of {self.n_features} "
                f"features; pass rows of {self.n_features} columns"
            )
        out: Array = (Xf - self.mean) / self.scale
        return out

    def transform_target(self, Y: ArrayLike) -> Array:
        """(Y − μ_y) / s_y for a standardised target (the network's target); else ``Y``."""
        if self.y_mean is None or self.y_scale is None:
            return np.asarray(Y)
        Yf = np.asarray(Y, dtype=np.float64)
        columns = Yf.shape[1] if Yf.ndim == 2 else 1 if Yf.ndim == 1 else -1
        if columns != self.y_mean.size:
            raise DataError(
                f"Y has shape {Yf.shape} but the target's standardisation is of "
                f"{self.y_mean.size} column(s)"
            )
        mean, scale = self.y_mean, self.y_scale
        if Yf.ndim == 1:  # one target column, as a vector
            mean, scale = mean[0], scale[0]
        out: Array = (Yf - mean) / scale
        return out

    def inverse_target(self, A: Array) -> Array:
        """a^L ∘ s_y + μ_y: the network's output (m, n_L) in the target's units; else ``A``.

        ``A`` may be any array library's (a network on a GPU): the statistics go to it.
        """
        if self.y_mean is None or self.y_scale is None:
            return A
        from .backends.namespaces import copy_on

        out: Array = A * copy_on(A, self.y_scale) + copy_on(A, self.y_mean)
        return out

    def to_tensors(self) -> dict[str, Array]:
        """The model file's tensors: ``{"standardize.mean": μ, …}``, float64."""
        return {TENSORS[k]: getattr(self, k) for k in TENSORS if getattr(self, k) is not None}

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, Array]) -> Standardizer:
        """The Standardizer stored as :meth:`to_tensors` wrote it."""
        return cls(**{k: tensors[name] for k, name in TENSORS.items() if name in tensors})

    def summary(self) -> dict[str, Any]:
        """Plain JSON: what is standardised, with the statistics as lists."""
        doc: dict[str, Any] = {"mean": self.mean.tolist(), "scale": self.scale.tolist()}
        if self.y_mean is not None and self.y_scale is not None:
            doc["y_mean"], doc["y_scale"] = self.y_mean.tolist(), self.y_scale.tolist()
        return doc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Standardizer):
            return NotImplemented
        return all(_same(getattr(self, name), getattr(other, name)) for name in TENSORS)

    def __repr__(self) -> str:
        target = f", target of {self.y_mean.size}" if self.y_mean is not None else ""
        return f"Standardizer({self.n_features} features{target})"


def _same(a: Array | None, b: Array | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))


def _rows(X: ArrayLike, name: str) -> Array:
    Xf = np.asarray(X, dtype=np.float64)
    if Xf.ndim == 1:
        Xf = Xf.reshape(-1, 1)
    if Xf.ndim != 2 or Xf.shape[0] == 0:
        raise DataError(f"{name} must be a non-empty 2-D array (rows, columns), got {Xf.shape}")
    if not np.isfinite(Xf).all():
        raise DataError(f"{name} holds NaN or inf values; the standardisation needs numbers")
    return Xf


def _scale(std: Array, mean: Array) -> Array:
    """``std``, with 1 for columns that do not vary (within rounding of their values)."""
    constant = std <= CONSTANT * np.maximum(1.0, np.abs(mean))
    out: Array = np.where(constant, 1.0, std)
    return out
