"""Measuring a network: cost, accuracy, the confusion matrix.

:func:`evaluate` is C (mean over the examples) and accuracy of a network on
(X, Y); :func:`confusion_matrix` counts true against predicted classes (the
library's one; the CLI and the plots print and draw it). The per-epoch
measurements of :func:`~backprop.training.train` use :func:`evaluate_dataset`,
whose arithmetic is :class:`backprop.fast.Evaluator`'s (buffers reused across
chunks and epochs), or the readable forward pass below for networks of
activations or costs without fast kernels.
"""

from __future__ import annotations

import numpy as np

from .. import fast
from ..errors import DataError
from ..model import Model
from ..network import Network
from ..types import Array, ArrayLike
from .inputs import Dataset, prepare

__all__ = [
    "EVAL_CHUNK",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "evaluate_dataset",
    "predicted_classes",
    "regression_metrics",
]

#: rows evaluated at a time when measuring cost and accuracy (caps memory)
EVAL_CHUNK = 4096


def evaluate(net: Network | Model, X: ArrayLike, Y: ArrayLike) -> tuple[float, float | None]:
    """Cost C (mean over the examples) and accuracy of ``net`` on (X, Y).

    Accuracy is the fraction of rows whose predicted class matches: the class
    is argmax a^L when Y holds integer labels or one-hot rows, a^L > 0.5 for a
    single output with 0/1 targets, and accuracy is None for other targets.
    Evaluated in chunks of ``EVAL_CHUNK`` rows.

    A :class:`~backprop.Model` takes raw rows: X (and a standardised regression
    target Y) are standardised first, so C is its network's cost on the data as it
    was trained on.
    """
    if isinstance(net, Model):
        X, Y, net = net.inputs(X), net.targets(Y), net.network
    with np.errstate(over="ignore", invalid="ignore"):
        return evaluate_dataset(net, prepare(net, X, Y, "evaluation data"))


def evaluate_dataset(
    net: Network, data: Dataset, chunk: int = EVAL_CHUNK
) -> tuple[float, float | None]:
    """(C, accuracy) over a prepared ``data``, forward passes of at most ``chunk`` rows."""
    ev = data.evaluator
    if ev is None or ev.chunk != chunk or not ev.fits(net):
        ev = data.evaluator = None
        if not isinstance(net.W[1], np.ndarray):  # another array library: on its device
            from ..backends.step import ArrayEvaluator

            ev = data.evaluator = ArrayEvaluator(net, chunk)
        elif fast.unsupported(net) is None:
            ev = data.evaluator = fast.Evaluator(net, chunk, max_rows=len(data))
    if ev is not None:
        return ev(net, data.X, data.T, data.labels, data.kind)
    return _readable_evaluation(net, data, chunk)


def _readable_evaluation(net: Network, data: Dataset, chunk: int) -> tuple[float, float | None]:
    L, m = net.L, len(data)
    total, correct = 0.0, 0
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        a = data.X[start:stop].T
        for l in range(1, L + 1):
            z = net.W[l] @ a + net.b[l]  # z^l = W^l a^{l-1} + b^l
            a = net.act[l].f(z)  # a^l = σ(z^l)
        t = data.T[start:stop].T
        total += float(net.cost_fn.value(z, a, t, net.act[L]).sum(dtype=np.float64))
        if data.labels is not None and data.kind is not None:
            pred = predicted_classes(a.T, data.kind)
            correct += int((pred == data.labels[start:stop]).sum())
    return total / m, (correct / m if data.kind else None)


def predicted_classes(outputs: Array, kind: str = "argmax") -> Array:
    """The class each row of ``outputs`` (m, n_L) predicts: argmax, or (``"threshold"``) a > 0.5."""
    if kind == "threshold":
        return (outputs[:, 0] > 0.5).astype(np.intp)
    classes: Array = outputs.argmax(axis=1)
    return classes


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The fraction of positions where the class labels agree."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise DataError(
            f"accuracy needs two equal-length 1-D label arrays, got shapes {t.shape} and {p.shape}"
        )
    return float((t == p).mean())


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int) -> Array:
    """Counts C[i, j] of examples of true class i predicted as class j, shape (k, k), int64."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.ndim != 1:
        raise DataError(
            f"confusion_matrix needs two equal-length 1-D label arrays, "
            f"got shapes {t.shape} and {p.shape}"
        )
    for name, y in (("true", t), ("predicted", p)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise DataError(
                f"{name} class labels must lie in 0..{n_classes - 1}, got {y.min()}..{y.max()}"
            )
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """RMSE, MAE and R² of predictions ``y_pred`` against targets ``y_true``.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (m,) or (m, k)
        Targets and predictions in the same units; (m,) is read as (m, 1).

    Returns
    -------
    dict
        ``rmse`` = sqrt(mean((y - ŷ)²)) and ``mae`` = mean|y - ŷ| over every entry;
        ``r2`` = 1 - Σ(y - ŷ)² / Σ(y - ȳ)² per target column (ȳ its mean), averaged
        over the columns (scikit-learn's ``r2_score`` "uniform_average"); a constant
        column scores 1.0 when predicted exactly, else 0.0 (scikit-learn's convention).
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    t = t.reshape(t.shape[0], -1) if t.ndim else t.reshape(1, 1)
    p = p.reshape(p.shape[0], -1) if p.ndim else p.reshape(1, 1)
    if t.shape != p.shape or t.shape[0] == 0:
        raise DataError(
            f"regression_metrics needs targets and predictions of one non-empty shape, "
            f"got {t.shape} and {p.shape}"
        )
    err = t - p
    ss_res = (err**2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
    r2 = np.where((ss_tot == 0) & (ss_res == 0), 1.0, r2)
    return {
        "rmse": float(np.sqrt((err**2).mean())),
        "mae": float(np.abs(err).mean()),
        "r2": float(r2.mean()),
    }
