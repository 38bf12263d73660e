"""The epoch's training cost and accuracy from the forward passes the steps already did.

By default (``train(..., train_metrics="running")``) the per-epoch training
cost and accuracy in the :class:`~backprop.training.history.History` are the
mean over the epoch's mini-batches of what each batch's own forward pass gave,
before that batch's update (as Keras reports them), instead of a second,
full forward pass over the training set after the epoch
(``train_metrics="full"``, the way the book's ``network2.py`` monitors the
training data).

How it is collected costs next to nothing:

* a step that keeps running sums itself (the compiled engine:
  ``reset_running(labels, kind)`` and ``running`` = [Σ C_x, Σ hits, examples, …]) is asked
  for them;
* otherwise, after every batch, z^L of the batch (the step's ``last_output()``,
  shape (n_L, m)) is copied into one (n_L, n) buffer in epoch order; at the
  epoch's end C_x and the predicted classes come from it in one vectorised
  pass over n·n_L numbers (a^L = σ_L(z^L) is recomputed there).

During the epoch, :meth:`RunningMetrics.so_far` gives the same mean over the
mini-batches done until then (what ``TrainState.running_metrics()`` returns to
a progress display).

Where neither is available, or the epoch was not seen whole (resumed from a
checkpoint in its middle), :meth:`RunningMetrics.result` returns None and the
loop measures with a full pass instead. With dropout the numbers are those of
the thinned network that was trained, as in Keras.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..network import Network
from ..types import Array
from .inputs import Dataset

__all__ = ["TRAIN_METRICS", "RunningMetrics", "check_train_metrics"]

#: the values of ``train(..., train_metrics=…)``
TRAIN_METRICS = ("running", "full")


def check_train_metrics(value: object) -> str:
    """``value`` if it is one of :data:`TRAIN_METRICS`, else a ConfigError saying so."""
    if value not in TRAIN_METRICS:
        raise ConfigError(
            f"train_metrics must be 'running' (the mean over the epoch's mini-batches) or "
            f"'full' (a pass over the training data after each epoch), got {value!r}"
        )
    return str(value)


class RunningMetrics:
    """Collects one epoch's z^L (or reads a step's running sums) for the training metrics."""

    def __init__(self, net: Network, data: Dataset):
        self.net, self.data = net, data
        self._Z: Array | None = None  # (n_L, n): z^L of the epoch's examples, in epoch order
        self._seen = 0  # examples recorded in this epoch
        self._whole = False  # this epoch was begun here (not resumed in its middle)
        # so_far(): the recorded columns lo..hi, and Σ C_x, Σ hits over lo..done
        self._lo = self._hi = self._done = 0
        self._cost_sum, self._hits = 0.0, 0

    def begin_epoch(self, step: Any) -> None:
        """Forget the last epoch; reset the step's own sums where it keeps them."""
        self._seen, self._whole = 0, True
        self._lo = self._hi = self._done = 0
        self._cost_sum, self._hits = 0.0, 0
        reset = getattr(step, "reset_running", None)
        if reset is not None:
            reset(self.data.labels, self.data.kind)

    def record(self, step: Any, start: int) -> None:
        """After a batch: copy its z^L (n_L, m) to columns ``start``..``start + m``."""
        last = getattr(step, "last_output", None)
        z = last() if last is not None else None
        if not isinstance(z, np.ndarray):
            return  # the step keeps sums itself, or offers nothing: result() decides
        if self._Z is None:
            self._Z = np.empty((z.shape[0], len(self.data)), z.dtype)
        self._Z[:, start : start + z.shape[1]] = z
        if self._seen == 0:  # the first batch recorded (resumed: not the epoch's first)
            self._lo = self._done = start
        self._seen += z.shape[1]
        self._hi = start + z.shape[1]

    def so_far(self, step: Any, perm: Array | None) -> tuple[float, float | None, int] | None:
        """(mean C_x, accuracy, m) over the m examples of the epoch's mini-batches so far.

        What a progress display shows during the epoch: the same forward passes
        as :meth:`result`, of the batches done until now (those since the resume,
        when the run was resumed in the epoch's middle). The buffer's new columns
        are scored once each, so asking after every batch costs one pass over the
        epoch's z^L in all. None when nothing was recorded yet, or when the step's
        sums are a collective (the distributed step's ``running`` property, read by
        every rank at the epoch's end only). A step keeping its own sums scores
        accuracy only in an epoch begun here: after a resume in the epoch's
        middle, the accuracy is None until the next epoch.
        """
        data, z = self.data, self._Z
        if self._seen and z is not None:
            if self._done < self._hi and perm is not None:
                cols = slice(self._done, self._hi)
                cost, hits = self._sums(z[:, cols], np.asarray(perm)[cols])
                self._cost_sum += cost
                self._hits += hits or 0
                self._done = self._hi
            m = self._done - self._lo
            if m == 0:
                return None
            return self._cost_sum / m, (self._hits / m if data.kind else None), m
        if isinstance(inspect.getattr_static(step, "running", None), property):
            return None
        sums = getattr(step, "running", None)
        if not isinstance(sums, np.ndarray) or sums[2] <= 0:
            return None
        m = int(sums[2])
        # resumed in the epoch's middle, the step's sums were never given the labels
        scored = data.kind and self._whole
        return float(sums[0]) / m, (float(sums[1]) / m if scored else None), m

    def result(self, step: Any, perm: Array | None) -> tuple[float, float | None] | None:
        """(C₀, accuracy) of the epoch's forward passes, or None (measure with a full pass)."""
        n, data = len(self.data), self.data
        if not self._whole or perm is None:
            return None
        sums = getattr(step, "running", None)
        if sums is not None and self._seen == 0:
            if int(sums[2]) != n:
                return None
            return float(sums[0]) / n, (float(sums[1]) / n if data.kind else None)
        if self._seen != n or self._Z is None:
            return None
        cost, hits = self._sums(self._Z, np.asarray(perm))
        return cost / n, (None if hits is None else hits / n)

    def _sums(self, z: Array, rows: Array) -> tuple[float, int | None]:
        """(Σ C_x, Σ hits) of the examples ``rows`` whose z^L (n_L, m) is ``z``."""
        net, data, L = self.net, self.data, self.net.L
        act = net.act[L]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            a = act.f(z)
            t = data.T[rows].T
            cost = float(net.cost_fn.value(z, a, t, act).sum(dtype=np.float64))
        if data.labels is None or data.kind is None:
            return cost, None
        labels = data.labels[rows]
        if data.kind == "argmax":
            hits = np.count_nonzero(a.argmax(axis=0) == labels)
        else:  # threshold: one output, a^L > 0.5 is class 1
            hits = np.count_nonzero((a[0] > 0.5) == (labels == 1))
        return cost, int(hits)
