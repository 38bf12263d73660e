"""The progress callback: which fields fit a width, the smoothed rate, the ETA, the lines.

The terminal itself (a real pseudo-terminal of 60, 80 and 120 columns) is tested in
``tests/cli/test_progress_pty.py``; here the parts are tested with a fake state and clock.
"""

from __future__ import annotations

import io
import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.training import progress
from backprop.training.progress import (
    LIVE_FIELDS,
    Progress,
    RateMeter,
    eta_seconds,
    fit_fields,
    wrap_fields,
)

pytest.importorskip("rich", reason="the live line is drawn with rich (pip install rich)")
from rich.cells import cell_len  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: a live line's fields as they read in the middle of epoch 3 of 30 (cells in comments)
TEXTS = {
    "epoch": "epoch  3/30",  # 11
    "bar": "",  # at least BAR_MIN = 10
    "batches": "21/34",  # 5
    "cost": "cost 0.3120",  # 11
    "accuracy": "acc 91.20%",  # 10
    "rate": "41,210 samples/s",  # 16
    "eta": "ETA 0:07",  # 8
}


# -- which fields fit ------------------------------------------------------------


def test_fields_kept_at_the_widths_of_60_80_120_column_terminals():
    # everything: 11 + 10 + 5 + 11 + 10 + 16 + 8 = 71 cells, and 6 gaps of 2: 83
    everything = ["epoch", "bar", "batches", "cost", "accuracy", "rate", "eta"]
    assert fit_fields(TEXTS, 119) == everything
    assert fit_fields(TEXTS, 83) == everything
    # 80 columns (79 usable): without the batch count 66 + 10 = 76 cells
    assert fit_fields(TEXTS, 82) == ["epoch", "bar", "cost", "accuracy", "rate", "eta"]
    assert fit_fields(TEXTS, 79) == ["epoch", "bar", "cost", "accuracy", "rate", "eta"]
    # 60 columns (59 usable): without accuracy 56 + 8 = 64 > 59; without the rate 40 + 6 = 46
    assert fit_fields(TEXTS, 59) == ["epoch", "bar", "cost", "eta"]
    assert fit_fields(TEXTS, 46) == ["epoch", "bar", "cost", "eta"]
    assert fit_fields(TEXTS, 45) == ["epoch", "bar", "cost"]  # 32 + 4
    assert fit_fields(TEXTS, 23) == ["epoch", "bar"]  # 21 + 2: the least there is
    assert fit_fields(TEXTS, 5) == ["epoch", "bar"]  # (the caller crops)


def test_fields_are_dropped_in_the_documented_order():
    dropped, before = [], set(TEXTS)
    for width in range(200, 0, -1):
        kept = set(fit_fields(TEXTS, width))
        assert kept <= before  # narrower never brings a field back
        dropped += sorted(before - kept)
        before = kept
    assert dropped == ["batches", "accuracy", "rate", "eta", "cost"]
    assert dropped == [n for n in reversed(LIVE_FIELDS) if n in TEXTS][:5]
    # while evaluating, the phase takes the batch count's place and is never dropped
    evaluating = {**TEXTS, "phase": "evaluating"}
    del evaluating["batches"]
    assert fit_fields(evaluating, 20) == ["epoch", "bar", "phase"]


def test_wrapped_lines_never_exceed_the_width_and_keep_every_field():
    fields = ["epoch 12/30", "train cost 0.3120", "train acc 91.20%", "val cost 0.2411"]
    fields += ["val acc 93.33%", "test acc 92.76%", "lr 0.001", "0.1s"]
    for width in range(12, 130):
        lines = wrap_fields(fields, width, indent=" " * 13)
        assert all(cell_len(line) <= width for line in lines), width
        assert " ".join(" ".join(lines).split()) == " ".join(" ".join(fields).split())
    assert wrap_fields(fields, 200) == ["  ".join(fields)]
    assert wrap_fields(fields, 48, indent=" " * 13) == [
        "epoch 12/30  train cost 0.3120  train acc 91.20%",
        "             val cost 0.2411  val acc 93.33%",
        "             test acc 92.76%  lr 0.001  0.1s",
    ]
    # a field longer than the line is broken at its spaces, a word longer than it cut
    assert wrap_fields(["data: /a/very/long/path/name.csv (1,000 rows)"], 16) == [
        "data:",
        "  /a/very/long/p",
        "  ath/name.csv",
        "  (1,000 rows)",
    ]
    # wide characters count two cells
    assert wrap_fields(["数据 数据 数据"], 9) == ["数据 数据", "  数据"]


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(st.text(alphabet="ab c数-/", min_size=1, max_size=30), min_size=1, max_size=8),
    width=st.integers(1, 50),
    indent=st.integers(0, 12),
    first=st.sampled_from(["", "  "]),
)
def test_wrapping_any_fields_fits_and_loses_nothing(fields, width, indent, first):
    lines = wrap_fields(fields, width, indent=" " * indent, first=first)
    assert all(cell_len(line) <= width for line in lines)
    if width >= 4:  # room for a character after the indent: nothing is cut away
        assert "".join("".join(lines).split()) == "".join("".join(fields).split())


# -- the smoothed rate -------------------------------------------------------------


def test_a_steady_rate_stays_steady_however_unevenly_it_is_read():
    meter = RateMeter(tau=2.0)
    rng = np.random.default_rng(0)
    samples = seconds = 0.0
    assert meter.update(samples, seconds) is None  # the baseline
    for _ in range(200):
        dt = rng.uniform(0.001, 0.5)
        samples, seconds = samples + 4000.0 * dt, seconds + dt
        assert meter.update(samples, seconds) == pytest.approx(4000.0, rel=1e-9)


def test_a_change_of_rate_enters_with_weight_one_minus_exp_of_minus_dt_over_tau():
    meter = RateMeter(tau=2.0)
    meter.update(0, 0.0)
    meter.update(1000, 1.0)  # 1,000/s
    rate = meter.update(1000 + 3000 * 0.5, 1.5)  # then 3,000/s for half a second
    w = 1 - math.exp(-0.5 / 2.0)  # 0.2212
    assert rate == pytest.approx(1000 + w * 2000)  # 1,442.4/s: smoothed, not 3,000
    for k in range(1, 40):  # and after many τ at 3,000/s it is 3,000
        rate = meter.update(2500 + 3000 * k * 0.5, 1.5 + k * 0.5)
    assert rate == pytest.approx(3000, rel=1e-3)


class FakeState:
    """What Progress reads of a TrainState; ``costs`` are the batches' C₀ (m examples each)."""

    def __init__(self, epochs=3, n_batches=10, batch_size=100, val=True):
        self.epoch, self.epochs, self.batch, self.n_batches = 0, epochs, 0, n_batches
        self.batch_size, self.n_train = batch_size, n_batches * batch_size
        self.epoch_seconds = 0.0
        self.history = bp.History()
        self.costs: list[float] = []
        self.val = val

    def running_metrics(self):
        if not self.costs:
            return None
        return float(np.mean(self.costs)), 0.5, len(self.costs) * self.batch_size


def run_epoch(bar, state, clock, batch_seconds=0.1, eval_seconds=2.0, etas=None):
    """One epoch of ``state`` through ``bar``: batches taking ``batch_seconds``, then an
    evaluation of ``eval_seconds`` on the fake clock."""
    state.epoch += 1
    state.batch, state.epoch_seconds, state.costs = 0, 0.0, []
    bar.on_epoch_begin(state)
    for k in range(1, state.n_batches + 1):
        clock.t += batch_seconds
        state.batch, state.epoch_seconds = k, state.epoch_seconds + batch_seconds
        state.costs.append(1.0 / (state.epoch + k))
        bar.on_batch_end(state)
        if etas is not None:
            etas.append(bar.seconds_left(state))
    bar.on_evaluate_begin(state)
    clock.t += eval_seconds
    h = state.history
    h.epoch.append(state.epoch)
    h.train_cost.append(float(np.mean(state.costs)))
    h.train_accuracy.append(0.5)
    h.val_cost.append(0.25 if state.val else None)
    h.val_accuracy.append(0.75 if state.val else None)
    h.test_cost.append(None)
    h.test_accuracy.append(None)
    h.lr.append(0.1)
    h.seconds.append(state.epoch_seconds)
    bar.on_epoch_end(state)


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_the_rate_does_not_dip_when_an_epoch_starts():
    clock = Clock()
    bar = Progress(io.StringIO(), live=True, width=120, max_rate=0, clock=clock)
    state = FakeState()
    bar.on_train_begin(state)
    rates = []
    for _ in range(3):
        run_epoch(bar, state, clock, batch_seconds=0.1, eval_seconds=5.0)
        rates.append(bar.rate.rate)
    # 100 samples every 0.1 s of training: 1,000/s, the 5 s evaluations notwithstanding
    assert rates == pytest.approx([1000.0] * 3)
    assert "1,000 samples/s" in bar.stream.getvalue()


# -- the ETA ----------------------------------------------------------------------


def test_the_eta_includes_the_measured_evaluation_time():
    clock = Clock()
    bar = Progress(io.StringIO(), live=True, width=120, max_rate=0, clock=clock)
    state = FakeState(epochs=3, n_batches=10, batch_size=100)
    bar.on_train_begin(state)
    first: list = []
    run_epoch(bar, state, clock, batch_seconds=0.1, eval_seconds=2.0, etas=first)
    # epoch 1: no evaluation measured yet; after batch 4 (3 intervals of 100 samples in
    # 0.1 s: 1,000/s), 600 + 2 × 1,000 samples are left: 2.6 s
    assert first[0] is None  # the first batch is the baseline: no rate yet
    assert first[3] == pytest.approx(2.6)
    assert bar.eval_seconds == [2.0]
    second: list = []
    run_epoch(bar, state, clock, batch_seconds=0.1, eval_seconds=2.0, etas=second)
    # epoch 2 after batch 4: 600 + 1,000 samples (1.6 s) and two evaluations of 2 s
    assert second[3] == pytest.approx(1.6 + 2 * 2.0)
    # a falling ETA with no jump back up at the epoch's end: the last batch's is the
    # evaluation left (2 s) plus the last epoch (1 s + 2 s)
    assert second[-1] == pytest.approx(1.0 + 2 * 2.0)
    assert all(a > b for a, b in zip(second, second[1:]))
    # while the evaluation runs, its measured time counts down
    state.epoch += 1
    state.batch, state.epoch_seconds = state.n_batches, 1.0
    bar.on_evaluate_begin(state)
    clock.t += 0.5
    assert bar.seconds_left(state) == pytest.approx(2.0 - 0.5)
    assert "evaluating" in bar.stream.getvalue().split("\r")[-1]


def test_eta_seconds():
    assert eta_seconds(10_000, 1_000.0, 2, 1.5) == 13.0
    assert eta_seconds(10_000, 1_000.0, 2, None) == 10.0  # no evaluation measured yet
    assert eta_seconds(10_000, None, 2, 1.5) is None
    assert eta_seconds(10_000, 0.0, 2, 1.5) is None


# -- the lines ----------------------------------------------------------------------


def test_the_live_line_shows_the_running_mean_and_fits():
    clock = Clock()
    for width in (24, 40, 60, 80, 120, 200):
        bar = Progress(io.StringIO(), live=True, width=width, max_rate=0, clock=clock)
        state = FakeState()
        bar.on_train_begin(state)
        run_epoch(bar, state, clock)
        state.epoch, state.batch, state.costs = 2, 5, [0.5, 0.25, 0.125, 0.0625, 0.75]
        line = bar.live_line(state).plain
        assert cell_len(line) <= width - 1, (width, line)
        assert line.startswith("epoch 2/3")
        if width >= 60:  # the mean of the five batches' costs, not the last one's 0.75
            assert "cost 0.3375" in line and "ETA" in line


def test_plain_lines_when_not_a_terminal():
    stream = io.StringIO()
    bar = Progress(stream)
    assert bar.live is False
    state = FakeState(epochs=4)
    clock = Clock()
    bar.clock = clock
    bar.on_train_begin(state)
    run_epoch(bar, state, clock, batch_seconds=0.1)  # train cost: (1/2 + … + 1/11) / 10
    state.history.test_accuracy[-1] = 0.625
    assert bar.epoch_line(state) == (
        "epoch 1/4  train cost 0.2020  train acc 50.00%  val cost 0.2500  val acc 75.00%"
        "  test acc 62.50%  lr 0.1  1.0s"
    )
    text = stream.getvalue()
    assert text.count("\n") == 1 and "\r" not in text and "\x1b" not in text
    assert text.startswith("epoch 1/4  train cost 0.2020  train acc 50.00%  val cost 0.2500")


def test_the_epoch_line_wraps_under_its_numbers_on_a_narrow_terminal():
    clock = Clock()
    stream = io.StringIO()
    bar = Progress(stream, live=True, width=60, clock=clock)
    state = FakeState()
    bar.on_train_begin(state)
    run_epoch(bar, state, clock)
    printed = ANSI.sub("", stream.getvalue()).split("\r")[-1].splitlines()
    assert printed == [
        "epoch 1/3  train cost 0.2020  train acc 50.00%",
        "           val cost 0.2500  val acc 75.00%  lr 0.1  1.0s",
    ]
    bar.on_train_end(state)  # nothing live left to clear: the epoch's lines end the output
    assert stream.getvalue().endswith("1.0s\n")


def test_a_real_run_draws_lines_that_fit_and_ends_with_one_line_per_epoch():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16
    for width in (60, 80, 120):
        stream = io.StringIO()
        bar = Progress(stream, live=True, width=width, max_rate=1e6)  # every batch drawn
        net = bp.Network([64, 20, 10], seed=0)
        h = bp.train(net, X[:1000], y[:1000], epochs=3, batch_size=50, lr=0.5, seed=0,
                     validation_data=(X[1000:1300], y[1000:1300]), callbacks=[bar])  # fmt: skip
        raw = stream.getvalue()
        segments = re.split(r"[\r\n]", ANSI.sub("", raw))
        assert max(map(cell_len, segments)) <= width - 1
        assert raw.count("━") > 3 * 20  # 20 batches an epoch, each drawn
        # the live line drawn while evaluating holds the epoch's running mean: the
        # number the History records
        evaluating = [s for s in segments if "evaluating" in s]
        assert len(evaluating) == 3
        for epoch, line in enumerate(evaluating):
            assert f"cost {h.train_cost[epoch]:.4f}" in line
        if width == 120:
            assert sum("20/20" in s for s in segments) == 3
        epoch_lines = [s for s in segments if s.startswith("epoch") and "train cost" in s]
        assert len(epoch_lines) == 3 and ANSI.sub("", raw).count("val cost") == 3
        assert raw.endswith("s\n")  # the last epoch's line took the live line's place


# -- without rich, and from Python --------------------------------------------------


def test_without_rich_plain_lines_and_no_error(monkeypatch):
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)  # import rich → ImportError

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = Progress(stream)
    assert bar.live is False and Progress(stream, live=True).live is False
    clock = Clock()
    bar.clock = clock
    state = FakeState()
    bar.on_train_begin(state)
    run_epoch(bar, state, clock)
    bar.on_train_end(state)
    assert stream.getvalue().startswith("epoch 1/3  train cost") and "\r" not in stream.getvalue()
    assert progress._cell_len("数据") == 2  # characters, without rich's cell widths (4)


def test_verbose_and_bp_progress(capsys):
    X = np.random.default_rng(0).normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    bp.train(bp.Network([4, 5, 2], seed=0), X, y, epochs=2, verbose=True, seed=0,
             validation_fraction=0.2)  # fmt: skip
    err = capsys.readouterr().err.splitlines()
    assert [line[:9] for line in err] == ["epoch 1/2", "epoch 2/2"] and "val cost" in err[0]
    assert bp.Progress is Progress and "Progress" in dir(bp)  # the lazy name
    bp.train(bp.Network([4, 5, 2], seed=0), X, y, epochs=2, seed=0)
    assert capsys.readouterr().err == ""  # verbose=False (the default): silent
