"""The training progress display of ``backprop train``: a callback with a small interface.

:class:`Progress` is a :class:`backprop.training.Callback`: the training loop calls
its ``on_*`` hooks, and it draws a live bar on a terminal (``bar_line``) or prints
one plain line per epoch elsewhere (``epoch_line``). It reads the numbers from the
training state and its History and computes nothing but rates and times, so it can
be replaced (by a ``rich`` display, say) without touching anything else.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from ..training import Callback
from .output import format_seconds, percent

__all__ = ["Progress"]


class Progress(Callback):
    """Show training progress on ``stream`` (stderr by default).

    On a terminal: a live bar redrawn at most ``max_rate`` times a second with
    epoch, batch, cost, accuracy, samples/s and ETA. Elsewhere (a pipe, a log
    file): one plain line per epoch. The numbers come from the training state
    and its History; the callback computes nothing but rates and times.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        max_rate: float = 10.0,
        width: int = 24,
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.live = _isatty(self.stream) if live is None else live
        self.min_interval = 1.0 / max_rate
        self.width = width
        self._last_draw = 0.0
        self._drawn = False

    # timing -------------------------------------------------------------
    def on_train_begin(self, state):
        self._epoch_t0 = time.perf_counter()

    def on_epoch_begin(self, state):
        self._epoch_t0 = time.perf_counter()

    def on_batch_end(self, state):
        if not self.live:
            return
        now = time.perf_counter()
        last = state.batch >= state.n_batches
        if now - self._last_draw < self.min_interval and not last:
            return
        self._last_draw = now
        self._draw(self.bar_line(state, now))

    def on_epoch_end(self, state):
        line = self.epoch_line(state)
        if self.live:
            self._draw(line, final=True)
        else:
            print(line, file=self.stream, flush=True)

    def on_train_end(self, state):
        if self.live and self._drawn:
            self._draw("", final=True)

    # formatting -----------------------------------------------------------
    def bar_line(self, state, now: float | None = None) -> str:
        now = time.perf_counter() if now is None else now
        n_batches = max(int(state.n_batches), 1)
        batch = min(int(state.batch), n_batches)
        filled = int(self.width * batch / n_batches)
        bar = "#" * filled + "-" * (self.width - filled)
        done = min(batch * int(state.batch_size), int(state.n_train))
        # samples/s over this epoch's mini-batches (the loop times them, evaluation excluded)
        seconds = getattr(state, "epoch_seconds", None) or (now - self._epoch_t0)
        rate = done / seconds if seconds > 0 else 0.0
        left = (state.epochs - state.epoch) * state.n_train + (state.n_train - done)
        eta = left / rate if rate > 0 else float("inf")
        cost, acc = _live_metrics(state)
        parts = [
            f"epoch {state.epoch}/{state.epochs}",
            f"[{bar}] {batch}/{n_batches}",
            f"batch cost {cost:.4f}" if cost is not None else "batch cost —",
            f"train acc {percent(acc)}" if acc is not None else "train acc —",
            f"{rate:,.0f} samples/s",
            f"ETA {format_seconds(eta)}",
        ]
        return "  ".join(parts)

    def epoch_line(self, state) -> str:
        h = state.history
        cols = [f"epoch {_last(h.epoch, state.epoch):>{len(str(state.epochs))}}/{state.epochs}"]
        for label, series in (
            ("train cost", h.train_cost),
            ("train acc", h.train_accuracy),
            ("val acc", h.val_accuracy),
            ("test acc", h.test_accuracy),
        ):
            v = _last(series)
            if v is None:
                continue
            cols.append(f"{label} {percent(v)}" if "acc" in label else f"{label} {v:.4f}")
        lr = _last(h.lr)
        if lr is not None:
            cols.append(f"lr {lr:.3g}")
        seconds = _last(h.seconds)
        if seconds is not None:
            cols.append(f"{seconds:.1f}s")
        return "  ".join(cols)

    def _draw(self, line: str, final: bool = False) -> None:
        # \r then clear-to-end-of-line, so a shorter line leaves no debris
        self.stream.write("\r\x1b[K" + line + ("\n" if final and line else ""))
        self.stream.flush()
        self._drawn = not final


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _last(series, default=None):
    if not series:
        return default
    v = series[-1]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return default
    return v


def _live_metrics(state):
    """The freshest cost and accuracy the state offers: the last mini-batch's cost
    (computed on demand by the training loop), else the last finished epoch's
    cost; the last finished epoch's training accuracy."""
    cost = None
    batch_cost = getattr(state, "batch_cost", None)
    if callable(batch_cost):
        try:
            cost = float(batch_cost())
        except (AttributeError, TypeError, ValueError):  # no mini-batch done yet
            cost = None
    elif batch_cost is not None:
        cost = float(batch_cost)
    if cost is None or not math.isfinite(cost):
        cost = _last(state.history.train_cost)
    return cost, _last(state.history.train_accuracy)
