"""Training progress: a live line on a terminal, one plain line per epoch elsewhere.

:class:`Progress` is a :class:`~backprop.training.callbacks.Callback`; it is what
``backprop train`` shows and what ``train(..., verbose=True)`` adds. It reads its
numbers from the training state and its History and computes nothing but rates,
times and widths.

On a terminal (``rich`` installed and the stream a TTY) one live line is
redrawn in place, at most ``max_rate`` times a second and at the first and last
batch of each epoch::

    epoch  3/30 ━━━━━━━━━━━━────── 21/34  cost 0.3120  acc 91.20%  41,210 samples/s  ETA 0:07

* ``cost``/``acc``: the running mean over the epoch's mini-batches so far
  (``state.running_metrics()``: each batch's forward pass before its update, the
  number the History will hold for the epoch), not one batch's cost;
* samples/s: an exponential moving average (:class:`RateMeter`) of the training
  rate, measured on the loop's own time of the mini-batches (``state.epoch_seconds``,
  evaluation excluded), so it does not dip when an epoch starts;
* ETA: the samples left at that rate, plus the evaluations left times the mean
  evaluation time measured so far (from ``on_evaluate_begin`` to the next epoch);
* while the epoch's measurements run, ``evaluating`` takes the batch count's place.

The line always fits the terminal's width (less one column, so the terminal
never wraps it): as it narrows the fields go in the order of :data:`LIVE_FIELDS`
from its end — the batch count first, then accuracy, samples/s, ETA and cost;
the epoch, the phase and the bar (at least :data:`BAR_MIN` cells) stay. After
each epoch a permanent line takes the live line's place::

    epoch  3/30  train cost 0.3120  train acc 91.20%  val cost 0.2411  val acc 93.33%  0.1s

wrapped at field boundaries when the terminal is narrower. Elsewhere (a pipe, a
log file, a notebook) and without ``rich``, only that line, once per epoch, with
no control characters and no wrapping. Widths are measured in terminal cells
(``rich.cells.cell_len``).
"""

from __future__ import annotations

import atexit
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ..display import format_seconds, percent
from .callbacks import BatchCadence, Callback

if TYPE_CHECKING:
    from .state import TrainState

__all__ = [
    "BAR_MIN",
    "LIVE_FIELDS",
    "Progress",
    "RateMeter",
    "eta_seconds",
    "fit_fields",
    "wrap_fields",
]

#: the live line's fields, most important first: as the terminal narrows they are
#: dropped from the end of this tuple (the first three always stay)
LIVE_FIELDS = ("epoch", "phase", "bar", "cost", "eta", "rate", "accuracy", "batches")
#: the same fields as they stand on the line, left to right
LIVE_ORDER = ("epoch", "bar", "batches", "phase", "cost", "accuracy", "rate", "eta")
#: the bar's least and greatest width in cells
BAR_MIN, BAR_MAX = 10, 30
#: between two fields
GAP = "  "
_KEEP = LIVE_FIELDS[:3]  # "epoch", "phase", "bar": never dropped


def _cell_len(text: str) -> int:
    """Terminal cells of ``text`` (rich's measure; characters without rich)."""
    try:
        from rich.cells import cell_len
    except ImportError:
        return len(text)
    return int(cell_len(text))


def fit_fields(texts: Mapping[str, str], width: int, *, bar_min: int = BAR_MIN) -> list[str]:
    """The names of the live fields that fit in ``width`` cells, in :data:`LIVE_ORDER`.

    ``texts`` maps the present fields to their text (``"bar"``'s is ignored: the
    bar takes ``bar_min`` cells or more). Fields are dropped in the reverse
    order of :data:`LIVE_FIELDS` until the rest, joined by :data:`GAP`, fits;
    the epoch, the phase and the bar stay even when they alone do not fit
    (the caller crops).

    >>> fit_fields({"epoch": "epoch 1/3", "bar": "", "cost": "cost 0.5000"}, 40)
    ['epoch', 'bar', 'cost']
    >>> fit_fields({"epoch": "epoch 1/3", "bar": "", "cost": "cost 0.5000"}, 30)
    ['epoch', 'bar']
    """
    kept = [name for name in LIVE_FIELDS if name in texts]
    while kept[-1] not in _KEEP and _needed(texts, kept, bar_min) > width:
        kept.pop()
    return [name for name in LIVE_ORDER if name in kept]


def _needed(texts: Mapping[str, str], names: Sequence[str], bar_min: int) -> int:
    cells = sum(bar_min if n == "bar" else _cell_len(texts[n]) for n in names)
    return cells + _cell_len(GAP) * (len(names) - 1)


def wrap_fields(
    fields: Sequence[str], width: int, *, sep: str = GAP, indent: str = "  ", first: str = ""
) -> list[str]:
    """``fields`` joined by ``sep`` into lines of at most ``width`` cells, broken between fields.

    The first line starts with ``first``, the others with ``indent`` (spaces; at
    most half the width of it). A field that does not fit on a line of its own
    is broken at its spaces, and a word longer than a line is cut: no line is
    ever wider than ``width``.

    >>> wrap_fields(["epoch 1/3", "train cost 0.5000", "lr 0.1"], 30, indent="           ")
    ['epoch 1/3  train cost 0.5000', '           lr 0.1']
    """
    indent = indent[: width // 2]
    lines: list[str] = []
    line, start = first, True  # start: nothing on the line but its indent
    for field in fields:
        if not start and _cell_len(line + sep + field) <= width:
            line += sep + field
            continue
        if not start:
            lines.append(line)
            line = indent
        if _cell_len(line + field) <= width:
            line += field
        else:  # too long for a line of its own: break it at its spaces, cut its long words
            room = width - max(_cell_len(indent), _cell_len(line) if not line.strip() else 0)
            for piece in _pieces(field, room):
                if line.strip() and _cell_len(line + " " + piece) > width:
                    lines.append(line)
                    line = indent
                line += (" " if line.strip() else "") + piece
        start = False
    lines.append(line)
    return [_crop(text, width) for text in lines]


def _pieces(text: str, room: int) -> list[str]:
    """``text``'s words, each cut into parts of at most ``room`` cells."""
    room = max(room, 1)
    out = []
    for word in text.split(" "):
        while _cell_len(word) > room:
            cut = _crop(word, room) or word[0]  # (a wide character in a 1-cell room)
            out.append(cut)
            word = word[len(cut) :]
        if word:
            out.append(word)
    return out


def _crop(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells."""
    if _cell_len(text) <= width:
        return text
    out = ""
    for ch in text:
        if _cell_len(out + ch) > width:
            break
        out += ch
    return out


def eta_seconds(
    samples_left: float, rate: float | None, evaluations_left: float, eval_seconds: float | None
) -> float | None:
    """Seconds left: the samples to train at ``rate`` plus the evaluations still to run.

    ``evaluations_left`` may be fractional (the one under way, partly done);
    ``eval_seconds`` is None before one was measured (counted as 0). None
    without a rate.

    >>> eta_seconds(10_000, 1_000.0, 2, 1.5)
    13.0
    """
    if rate is None or not rate > 0:
        return None
    return samples_left / rate + evaluations_left * (eval_seconds or 0.0)


class RateMeter:
    """Samples per second, smoothed: an exponential moving average over training time.

    :meth:`update` takes the running totals (samples trained, seconds spent on
    mini-batches); each interval's rate enters with weight 1 − exp(−Δt/τ), Δt
    the interval's seconds: a steady rate stays steady however often it is
    read, and a change shows within a few τ. The first call only sets the
    baseline, so the first batch (warm-up: buffers, compilation) never counts.
    """

    def __init__(self, tau: float = 2.0):
        self.tau = float(tau)
        #: the smoothed rate (samples/s), None until two updates
        self.rate: float | None = None
        self._last: tuple[float, float] | None = None

    def update(self, samples: float, seconds: float) -> float | None:
        """Totals so far (monotonic); returns the smoothed rate."""
        last = self._last
        if last is None or samples < last[0] or seconds < last[1]:
            self._last = (samples, seconds)  # a new baseline (the first call, or a restart)
            return self.rate
        dt = seconds - last[1]
        if dt <= 0 or samples == last[0]:
            return self.rate
        rate = (samples - last[0]) / dt
        if self.rate is None:
            self.rate = rate
        else:
            self.rate += (1.0 - math.exp(-dt / self.tau)) * (rate - self.rate)
        self._last = (samples, seconds)
        return self.rate


class Progress(Callback):
    """Show training progress on ``stream`` (stderr by default); see the module doc.

    Parameters
    ----------
    stream : text stream, optional
        Where to write; default ``sys.stderr``.
    live : bool, optional
        Force the live line on (needs ``rich``) or off; default: on when the
        stream is a terminal and ``rich`` is installed.
    max_rate : float
        Redraws a second at most (the first and last batch of an epoch, and the
        start of its evaluation, are always drawn); 0 draws every batch.
    width : int, optional
        The terminal's width in cells; default: asked at every redraw, so a
        resized terminal is followed.
    clock : callable, optional
        Seconds, for the redraw interval and the evaluation time (a test's fake clock).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        live: bool | None = None,
        max_rate: float = 10.0,
        width: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = 1.0 / max_rate if max_rate > 0 else 0.0
        self.clock = clock
        self.rate = RateMeter()
        #: the measured evaluation times, one per epoch so far (seconds)
        self.eval_seconds: list[float] = []
        self._console = None if live is False else _console(self.stream, width, force=bool(live))
        #: True when the live line is drawn (else one plain line per epoch)
        self.live = self._console is not None
        self._fixed_width = width
        self._last_draw = -math.inf
        self._drawn = False  # a live line is on the screen
        self._eval_start: float | None = None  # the evaluation under way (or just ended)
        self._done_samples = 0.0  # samples and seconds of the finished epochs
        self._done_seconds = 0.0
        self._closer: Callable[[], None] | None = None

    @property
    def batch_cadence(self) -> BatchCadence | None:
        """A redraw after at most ``1/max_rate`` s of training (none off a terminal; every
        batch with ``max_rate=0``): a compiled engine runs the batches between in one call."""
        if not self.live:
            return BatchCadence()
        return BatchCadence(seconds=self.min_interval) if self.min_interval else None

    # -- the hooks --------------------------------------------------------------

    def on_train_begin(self, state: TrainState) -> None:
        self.rate, self.eval_seconds = RateMeter(self.rate.tau), []
        self._done_samples = self._done_seconds = 0.0
        self._eval_start = None
        if self.live and self._closer is None:
            self._closer = self.close
            atexit.register(self._closer)  # an exception that ends the program: clear the line

    def on_epoch_begin(self, state: TrainState) -> None:
        if self._eval_start is not None and self.eval_seconds:
            # the whole gap after the last batch: measurements, the other callbacks' work
            self.eval_seconds[-1] = self.clock() - self._eval_start
        self._eval_start = None

    def on_batch_end(self, state: TrainState) -> None:
        if not self.live:
            return
        now = self.clock()
        edge = state.batch <= 1 or state.batch >= state.n_batches
        if not edge and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._observe(state)
        self._draw(self.live_line(state))

    def on_evaluate_begin(self, state: TrainState) -> None:
        self._eval_start = self.clock()
        if self.live:
            self._observe(state)
            self._draw(self.live_line(state))

    def on_epoch_end(self, state: TrainState) -> None:
        if self._eval_start is not None:
            self.eval_seconds.append(self.clock() - self._eval_start)
        self._done_samples += state.n_train
        self._done_seconds += state.epoch_seconds
        if self.live:
            self._print(self.epoch_lines(state, self._width()))
        else:
            print(self.epoch_line(state), file=self.stream, flush=True)

    def on_train_end(self, state: TrainState) -> None:
        self.close()

    def close(self) -> None:
        """Clear the live line, if one is drawn (after training, or when it failed)."""
        if self._drawn and self._console is not None:
            with self._console:
                self._console.control(_clear_line())
            self._drawn = False
        if self._closer is not None:
            atexit.unregister(self._closer)
            self._closer = None

    # -- other permanent lines ----------------------------------------------------

    def write(
        self, fields: Sequence[str], *, sep: str = " ", first: str = "", indent: str = "  "
    ) -> None:
        """A permanent line: ``first``, then ``fields`` joined by ``sep``; on a terminal
        wrapped between fields to its width (continued after ``indent``), elsewhere one line.

        ``backprop train`` prints its run header and notes with it, before training.
        """
        if not self.live:
            print(first + sep.join(fields), file=self.stream, flush=True)
            return
        self._print(wrap_fields(fields, self._width(), sep=sep, first=first, indent=indent))

    # -- the numbers and the lines ----------------------------------------------

    def _observe(self, state: TrainState) -> None:
        """Feed the rate meter the totals so far: samples trained, seconds of mini-batches."""
        done = min(state.batch * state.batch_size, state.n_train)
        self.rate.update(self._done_samples + done, self._done_seconds + state.epoch_seconds)

    def seconds_left(self, state: TrainState) -> float | None:
        """The ETA: training at the smoothed rate plus the evaluations left (None before a rate)."""
        done = min(state.batch * state.batch_size, state.n_train)
        rate = self.rate.rate
        later = max(state.epochs - state.epoch, 0)
        measured = sum(self.eval_seconds) / len(self.eval_seconds) if self.eval_seconds else None
        if self._eval_start is not None:  # evaluating: what is left of this one, then the others
            now = (
                0.0 if measured is None else max(measured - (self.clock() - self._eval_start), 0.0)
            )
            eta = eta_seconds(later * state.n_train, rate, later, measured)
            return None if eta is None else eta + now
        return eta_seconds(state.n_train - done + later * state.n_train, rate, later + 1, measured)

    def live_fields(self, state: TrainState) -> dict[str, str]:
        """The live line's field texts for ``state`` (the bar's is empty: it is sized to fit)."""
        texts = {
            "epoch": _epoch_text(state.epoch, state.epochs),
            "bar": "",
            "batches": f"{min(state.batch, state.n_batches)}/{state.n_batches}",
        }
        if self._eval_start is not None:
            texts["phase"] = "evaluating"
            del texts["batches"]
        running = state.running_metrics()
        if running is not None:
            cost, accuracy, _ = running
            texts["cost"] = f"cost {cost:.4f}"
            if accuracy is not None:
                texts["accuracy"] = f"acc {percent(accuracy):>7}"  # (a steady width)
        eta = self.seconds_left(state)
        if self.rate.rate is not None:
            texts["rate"] = f"{self.rate.rate:>7,.0f} samples/s"
        texts["eta"] = f"ETA {format_seconds(eta) if eta is not None else '—'}"
        return texts

    def live_line(self, state: TrainState) -> Any:
        """The live line as a ``rich.text.Text`` that fits the width (less one cell)."""
        from rich.text import Text

        width = self._width()
        texts = self.live_fields(state)
        names = fit_fields(texts, width)
        rest = _needed(texts, [n for n in names if n != "bar"], 0) + _cell_len(GAP) * (
            len(names) > 1
        )
        bar = max(BAR_MIN, min(BAR_MAX, width - rest))
        n_batches = max(state.n_batches, 1)
        filled = round(bar * min(state.batch, n_batches) / n_batches)
        line = Text(no_wrap=True, overflow="crop", end="")
        for i, name in enumerate(names):
            if i:
                line.append(GAP)
            if name == "bar":
                line.append("━" * filled, style="green")
                line.append("─" * (bar - filled), style="bright_black")
            else:
                line.append(texts[name], style="yellow" if name == "phase" else "")
        line.truncate(width)
        return line

    def epoch_fields(self, state: TrainState) -> list[str]:
        """The finished epoch's fields: epoch, training, validation and test numbers, α, seconds."""
        h = state.history
        fields = [_epoch_text(_last(h.epoch) or state.epoch, state.epochs)]
        for split, costs, accuracies in (
            ("train", h.train_cost, h.train_accuracy),
            ("val", h.val_cost, h.val_accuracy),
            ("test", h.test_cost, h.test_accuracy),
        ):
            cost, accuracy = _last(costs), _last(accuracies)
            if cost is not None and (split != "test" or accuracy is None):
                fields.append(f"{split} cost {cost:.4f}")
            if accuracy is not None:
                fields.append(f"{split} acc {percent(accuracy)}")
        lr, seconds = _last(h.lr), _last(h.seconds)
        if lr is not None:
            fields.append(f"lr {lr:.3g}")
        if seconds is not None:
            fields.append(f"{seconds:.1f}s")
        return fields

    def epoch_line(self, state: TrainState) -> str:
        """The finished epoch as one plain line."""
        return GAP.join(self.epoch_fields(state))

    def epoch_lines(self, state: TrainState, width: int) -> list[str]:
        """The finished epoch in lines of at most ``width`` cells, continued under its numbers."""
        fields = self.epoch_fields(state)
        indent = " " * min(_cell_len(fields[0] + GAP), max(width // 3, 2))
        return wrap_fields(fields, width, indent=indent)

    # -- drawing ----------------------------------------------------------------

    def _width(self) -> int:
        """The cells a line may take: the terminal's width less one (no auto-wrap)."""
        if self._fixed_width is not None:
            total = self._fixed_width
        else:
            total = self._console.width if self._console is not None else 80
        return max(int(total) - 1, 1)

    def _draw(self, line: Any) -> None:
        console = self._console
        if console is None:
            return
        with console:  # one write: clear the line, draw it
            console.control(_clear_line())
            console.print(line, end="", crop=True, no_wrap=True, overflow="crop")
        self._drawn = True

    def _print(self, lines: Sequence[str]) -> None:
        """Permanent lines in the live line's place (the next redraw draws below them)."""
        console = self._console
        if console is None:
            return
        from rich.text import Text

        with console:
            console.control(_clear_line())
            for text in lines:
                console.print(Text(text, no_wrap=True, overflow="crop"), crop=True)
        self._drawn = False


def _console(stream: TextIO, width: int | None, *, force: bool) -> Any:
    """A rich Console that draws on ``stream``, or None: no rich, or (unless ``force``) the
    stream is not a terminal or one without cursor control (``TERM=dumb``)."""
    try:
        from rich.console import Console
    except ImportError:
        return None
    if not force and not _isatty(stream):
        return None
    console = Console(
        file=stream,
        width=width,
        force_terminal=True,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )
    return console if force or not console.is_dumb_terminal else None


def _clear_line() -> Any:
    from rich.control import Control
    from rich.segment import ControlType

    return Control((ControlType.CARRIAGE_RETURN,), (ControlType.ERASE_IN_LINE, 2))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _epoch_text(epoch: int, epochs: int) -> str:
    return f"epoch {epoch:>{len(str(epochs))}}/{epochs}"


def _last(series: Sequence[Any]) -> Any:
    """The last value of a History series, None when empty, missing or NaN."""
    if not series:
        return None
    value = series[-1]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value
