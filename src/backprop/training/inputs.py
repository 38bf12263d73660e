"""The data at the edge of the loop, checked and converted once (:func:`prepare`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backends import as_numpy  # torch/CuPy data: checked on the host, moved once per run
from ..errors import ConfigError, DataError
from ..network import Network
from ..types import Array, ArrayLike

if TYPE_CHECKING:
    from ..fast import Evaluator

__all__ = ["Dataset", "all_finite", "pair", "prepare"]


@dataclass
class Dataset:
    """Examples ready for the loop: X (m, n_0) and targets T (m, n_L) in the net's dtype.

    ``labels`` are the classes accuracy compares against: with ``kind ==
    "argmax"`` the predicted class is argmax a^L; with ``"threshold"`` (one
    output, 0/1 targets) it is a^L > 0.5; with ``None`` there is no accuracy.
    ``evaluator`` caches the buffers of its evaluation between epochs.
    """

    X: Array
    T: Array
    labels: Array | None
    kind: str | None
    evaluator: Evaluator | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.X)


def prepare(net: Network, X: ArrayLike, Y: ArrayLike, what: str = "training data") -> Dataset:
    """Validate X and Y against the network; convert once to its dtype, one-hot once."""
    X = _inputs(net, X, what)
    m, n_L = len(X), net.sizes[-1]
    Y = as_numpy(Y)
    if Y.ndim == 0 or len(Y) != m:
        raise DataError(f"{what}: X has {m} rows but Y has {len(Y) if Y.ndim else 0}")
    if Y.ndim == 1 and n_L > 1:
        labels = _labels(Y, n_L, what)
        T = np.zeros((m, n_L), dtype=net.dtype)
        T[np.arange(m), labels] = 1
        return Dataset(X, T, labels, "argmax")
    if Y.dtype.kind not in "fiub":
        raise DataError(f"{what}: Y must be numeric, got dtype {Y.dtype}")
    T = Y.reshape(m, 1) if Y.ndim == 1 else Y
    if T.shape != (m, n_L):
        raise DataError(
            f"{what}: Y must have shape ({m}, {n_L}) to match the output layer, got {Y.shape}"
        )
    T = np.ascontiguousarray(T, dtype=net.dtype)
    if not all_finite(T):
        raise DataError(f"{what}: Y contains NaN or infinite values; clean the data first")
    binary = bool(np.isin(T, (0, 1)).all())
    if binary and n_L > 1 and (T.sum(axis=1) == 1).all():
        return Dataset(X, T, T.argmax(axis=1), "argmax")  # one-hot rows
    if binary and n_L == 1:
        return Dataset(X, T, T[:, 0].astype(np.intp), "threshold")
    return Dataset(X, T, None, None)


def _inputs(net: Network, X: ArrayLike, what: str) -> Array:
    X = as_numpy(X)
    n_0 = net.sizes[0]
    if X.ndim != 2:
        raise DataError(f"{what}: X must be a 2-D array (examples, features), got shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise DataError(f"{what}: X must be numeric, got dtype {X.dtype}")
    if X.shape[1] != n_0:
        raise DataError(
            f"{what}: X has {X.shape[1]} features but the network's input layer has {n_0}; "
            f"build the network with sizes[0] = {X.shape[1]}"
        )
    if len(X) == 0:
        raise DataError(f"{what}: X has no rows")
    X = np.ascontiguousarray(X, dtype=net.dtype)
    if not all_finite(X):
        raise DataError(f"{what}: X contains NaN or infinite values; clean the data first")
    return X


def _labels(Y: Array, n_L: int, what: str) -> Array:
    m = len(Y)
    if Y.dtype.kind not in "iu":
        raise DataError(
            f"{what}: 1-D Y must hold integer class labels for a network with {n_L} "
            f"outputs (got dtype {Y.dtype}); pass labels as integers or Y of shape ({m}, {n_L})"
        )
    if Y.min() < 0 or Y.max() >= n_L:
        raise DataError(
            f"{what}: class labels must lie in 0..{n_L - 1}, got {Y.min()}..{Y.max()}; "
            f"the output layer needs one neuron per class"
        )
    return Y.astype(np.intp)


def all_finite(A: Array) -> bool:
    """No NaN or inf in A: one pass (a finite sum), the exact test only if the sum is not."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(A.sum())) or bool(np.isfinite(A).all())


def pair(data: Any, name: str) -> tuple[Any, Any]:
    """``data`` as an (X, Y) pair, or the error saying it must be one."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ConfigError(f"{name} must be a pair (X, Y)")
    return data[0], data[1]
