"""Helpers shared by the ``backprop`` sub-commands.

* argument parsing: :func:`add_parser` (a sub-parser whose usage errors are one
  line), :func:`parse_layers`, :func:`resolve_sizes`, :func:`add_data_arguments`;
* output: :func:`print_table`, :func:`emit_json` (exactly one JSON object on
  stdout), :func:`write_text` (atomic);
* :class:`Progress`, the training callback that draws a live progress bar on a
  terminal, plain per-epoch lines otherwise, and nothing with ``--quiet``;
* :class:`StopOnInterrupt`, the callback that turns Ctrl-C into "stop after
  the current mini-batch".

Nothing here does any maths: numbers come from the library, and this module
only formats them.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

from ..errors import ConfigError, DataError
from ..training import Callback as _CallbackBase

# -- argument parsing -------------------------------------------------------


def add_parser(subparsers, name: str, **kwargs) -> argparse.ArgumentParser:
    """``subparsers.add_parser(name, …)`` with the help layout every sub-command uses.

    The parser class comes from :func:`backprop.cli.build_parser`, whose usage
    errors are one line (``backprop train: error: argument --lr: invalid float
    value: 'abc' (see backprop train --help)``) and exit 2.
    """
    kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    return subparsers.add_parser(name, **kwargs)


def int_list(text: str) -> list[int]:
    """Parse ``"784,30,10"`` (commas or spaces) into ``[784, 30, 10]``."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"--layers takes comma-separated layer widths such as 784,30,10 or 100; got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(
            f"--layers needs widths of at least 1 neuron, such as 30 or 784,30,10; got {text!r}"
        )
    return sizes


def resolve_sizes(layers: Sequence[int] | None, n_features: int, n_outputs: int) -> list[int]:
    """The full ``[n_0, …, n_L]`` from ``--layers`` and the data's shape.

    ``layers`` is either the full list, whose first entry is the data's
    feature count and whose last is its number of outputs (``784,30,10`` on
    MNIST), or the hidden widths alone (``30`` or ``256,128``), to which the
    input and output sizes are added. A list of three or more whose one end
    matches the data but not the other is a mismatch (``784,30,10`` on the
    8×8 digits): that raises :class:`ConfigError` naming both numbers.
    """
    if not layers:
        return [n_features, n_outputs]
    layers = list(layers)
    first_ok, last_ok = layers[0] == n_features, layers[-1] == n_outputs
    if len(layers) >= 2 and first_ok and last_ok:
        return layers
    if len(layers) >= 3 and not first_ok and last_ok:
        raise ConfigError(
            f"--layers starts with an input layer of {layers[0]} but the data has {n_features} "
            f"features; use {n_features},{','.join(map(str, layers[1:]))} or list the hidden "
            "widths only"
        )
    if len(layers) >= 3 and first_ok and not last_ok:
        raise ConfigError(
            f"--layers ends with an output layer of {layers[-1]} but the data needs {n_outputs} "
            f"outputs; use {','.join(map(str, layers[:-1]))},{n_outputs} or list the hidden "
            "widths only"
        )
    return [n_features, *layers, n_outputs]


def add_data_arguments(
    parser: argparse.ArgumentParser, *, default: str | None = "digits", shown_default=None
) -> None:
    """``--data SPEC``, ``--label-column``, ``--validation-fraction``, ``--test-fraction``,
    ``--download`` and ``--data-url``.

    ``shown_default`` is the default the help names when ``default`` is None
    (train fills it in later, so that a preset's data can apply).
    """
    shown = shown_default or default
    parser.add_argument(
        "--data",
        metavar="SPEC",
        default=default,
        help="digits (built in), mnist[:DIR], fashion-mnist[:DIR], or a .csv/.npz file"
        + (f" (default: {shown})" if shown else ""),
    )
    add_label_column_argument(parser)
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=None,
        metavar="F",
        help="hold out this fraction of the training examples for validation (default: "
        "the book's 10,000 images for MNIST; 0.1 for digits, CSV and NPZ)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        metavar="F",
        help="digits, CSV and NPZ without X_test: hold out this fraction for testing "
        "(default: 0.2); MNIST always tests on its test files",
    )
    add_download_arguments(parser)


def add_label_column_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--label-column COL``: a CSV header name or a column index (negative from the end)."""
    parser.add_argument(
        "--label-column",
        type=column,
        default=None,
        metavar="COL",
        help=help
        or "CSV column holding the label: a header name, or an index (0-based; negative "
        "counts from the end) (default: -1, the last)",
    )


def column(text: str) -> int | str:
    """``--label-column``'s value: an int for ``"0"`` or ``"-1"``, else the header name.

    A CSV header never holds a number (a first row with one is read as data),
    so turning numeric text into an index loses nothing.
    """
    try:
        return int(text)
    except ValueError:
        return text


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """``--download`` (fetch missing MNIST/Fashion-MNIST files) and ``--data-url``."""
    parser.add_argument(
        "--download",
        action="store_true",
        help="mnist/fashion-mnist: first download the missing files into DIR "
        "(default ~/.cache/backprop/NAME), each checked against its published MD5",
    )
    parser.add_argument(
        "--data-url",
        metavar="URL",
        default=None,
        help="with --download: the mirror to download from (default: a public mirror)",
    )


def idx_name(spec) -> str | None:
    """``mnist`` or ``fashion-mnist`` when ``spec`` names one of them, else None."""
    from ..data.datasets import IDX_DATASETS

    key = str(spec).partition(":")[0].strip().lower()
    return key if key in IDX_DATASETS else None


def load_dataset(
    spec: str,
    *,
    label_column: int | str | None = None,
    validation_fraction=None,
    test_fraction=None,
    seed=0,
    download: bool = False,
    base_url: str | None = None,
):
    """``backprop.data.load`` with the CLI's arguments (each error names the flag)."""
    from .. import data

    kwargs = {"seed": 0 if seed is None else seed}
    if label_column is not None:
        kwargs["label_column"] = label_column
    if validation_fraction is not None:
        if not 0 <= validation_fraction < 1:
            raise ConfigError(
                f"--validation-fraction must lie in [0, 1), got {validation_fraction}"
            )
        kwargs["validation_fraction"] = validation_fraction
    idx = idx_name(spec)
    if test_fraction is not None:
        if idx is not None:
            raise ConfigError(
                f"--test-fraction applies to digits, CSV and NPZ; {idx} always tests on its "
                "own test files"
            )
        if not 0 <= test_fraction < 1:
            raise ConfigError(f"--test-fraction must lie in [0, 1), got {test_fraction}")
        kwargs["test_fraction"] = test_fraction
    if base_url is not None and not download:
        raise ConfigError("--data-url is where --download fetches from; add --download")
    if download:
        if idx is None:
            raise ConfigError(
                f"--download applies to mnist and fashion-mnist only, not {spec!r}; leave it out"
            )
        kwargs["download"] = True
        if base_url is not None:
            kwargs["base_url"] = base_url
    return data.load(spec, **kwargs)


def has_rows(X) -> bool:
    return X is not None and len(X) > 0


# -- output -----------------------------------------------------------------


def format_table(rows: Iterable[Sequence], headers: Sequence[str] | None = None) -> str:
    """Rows as aligned text columns: numbers right-aligned, text left-aligned."""
    rows = [[_cell(v) for v in row] for row in rows]
    body = ([list(headers)] if headers else []) + rows
    if not body:
        return ""
    n = max(len(r) for r in body)
    body = [r + [""] * (n - len(r)) for r in body]
    widths = [max(len(r[i]) for r in body) for i in range(n)]
    numeric = [all(_is_number(r[i]) or not r[i] for r in rows) and rows for i in range(n)]
    lines = []
    for k, r in enumerate(body):
        cells = [r[i].rjust(widths[i]) if numeric[i] else r[i].ljust(widths[i]) for i in range(n)]
        lines.append("  ".join(cells).rstrip())
        if headers and k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_table(rows, headers=None, file: TextIO | None = None) -> None:
    print(format_table(rows, headers), file=file or sys.stdout)


def _cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, (float, np.floating)):
        return f"{v:.6g}"
    return str(v)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("%").replace(",", ""))
    except ValueError:
        return text == "—"
    return True


def percent(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def jsonable(obj):
    """``obj`` with numpy scalars/arrays as Python values and NaN/inf as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def emit_json(obj, file: TextIO | None = None) -> None:
    """Write ``obj`` as exactly one JSON object (one line) on stdout."""
    print(json.dumps(jsonable(obj), allow_nan=False), file=file or sys.stdout, flush=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: the whole file or none of it."""
    from .._atomic import atomic_write_text
    from ..errors import DataFileError

    atomic_write_text(path, text, error=DataFileError)


def check_out_path(path: str | Path | None, example: str = "model.safetensors") -> None:
    """Fail before any work when ``--out`` names a directory or sits in a missing one."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"--out {path} is a directory; give a file name such as {p / example}")
    if not p.parent.is_dir():
        raise ConfigError(f"--out {path}: directory {p.parent} does not exist; create it first")


def format_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# -- training callbacks -----------------------------------------------------


class Progress(_CallbackBase):
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


class StopOnInterrupt(_CallbackBase):
    """Turn the first Ctrl-C into "stop after the current mini-batch".

    While training runs, SIGINT only sets a flag; the next ``on_batch_end``
    sets ``state.stop``. A second Ctrl-C raises KeyboardInterrupt at once.
    Outside the main thread (where signal handlers cannot be installed) this
    does nothing and Ctrl-C behaves as usual.
    """

    def __init__(self):
        self.interrupted = False
        self.where: tuple[int, int] | None = None
        #: the training state, kept so that the History survives a KeyboardInterrupt
        self.state = None
        self._previous = None

    def on_train_begin(self, state):
        self.state = state
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    @property
    def batches_done(self) -> bool:
        """The last mini-batch of the last epoch has run: what is left is evaluation."""
        s = self.state
        return s is not None and s.epoch == s.epochs and s.batch >= s.n_batches

    @property
    def cut_short(self) -> bool:
        """Ctrl-C stopped training before its end. False when it came only after
        (or during) the last mini-batch: then training finished (``where`` is
        None, or the last batch of the last epoch)."""
        if not self.interrupted or self.where is None:
            return False
        s = self.state
        return s is None or self.where != (s.epochs, s.n_batches)

    def _handle(self, signum, frame):
        if self.interrupted:  # second Ctrl-C: give up at once
            raise KeyboardInterrupt
        self.interrupted = True

    def on_batch_end(self, state):
        if self.interrupted and not state.stop:
            state.stop = True
            self.where = (int(state.epoch), int(state.batch))

    def on_train_end(self, state):
        self.restore()

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def reject_nonfinite(name: str, X) -> None:
    """A DataError when ``X`` holds NaN or infinity (predict's and evaluate's inputs)."""
    X = np.asarray(X)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"{name} holds NaN or infinity (first at row {bad[0] + 1}, column {bad[-1] + 1}); "
            "clean the data first"
        )
