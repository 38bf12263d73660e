"""Callbacks' ``batch_cadence``: the compiled engine runs the batches between their calls at once.

The reference is the same run with no callback at all (one call per epoch): splitting the
epoch into ranges must not change a bit of the result (the kernel is bit-reproducible
across range boundaries), and ``on_batch_end`` must see exactly the batch numbers the
cadence promises.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop import Network, train
from backprop.training import BatchCadence, Callback

pytest.importorskip("numba", reason="needs numba (the compiled engine): pip install 'numba>=0.59'")

N, BS = 64, 1  # 64 mini-batches an epoch


class Seen(Callback):
    """Records ``state.batch`` at every ``on_batch_end``."""

    def __init__(self, cadence=None, stop_at=None):
        if cadence is not None:
            self.batch_cadence = cadence
        self.batches: list[tuple[int, int]] = []
        self.stop_at = stop_at

    def on_batch_end(self, state):
        self.batches.append((state.epoch, state.batch))
        if self.stop_at is not None and state.batch >= self.stop_at:
            state.stop = True


def run(*callbacks, epochs=2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 3))
    y = rng.integers(0, 2, N)
    net = Network([3, 4, 2], seed=1)
    history = train(net, X, y, epochs=epochs, batch_size=BS, lr=0.5, seed=2, engine="jit",
                    callbacks=list(callbacks))  # fmt: skip
    return net, history


def assert_same_weights(a, b):
    for p, q in zip(a.params(), b.params()):
        assert np.array_equal(p, q)


def test_every_k_batches_exactly_and_the_same_bits():
    ref, _ = run()
    seen = Seen(BatchCadence(every=10))
    net, history = run(seen)
    # 10, 20, …, 60, then the epoch's end (64), in each epoch
    expected = [(e, b) for e in (1, 2) for b in (10, 20, 30, 40, 50, 60, 64)]
    assert seen.batches == expected
    assert_same_weights(net, ref)
    assert len(history.epoch) == 2


def test_seconds_ranges_grow_from_one_batch_and_never_change_the_numbers():
    ref, _ = run()
    seen = Seen(BatchCadence(seconds=60.0))  # far more than an epoch: ranges double each call
    net, _ = run(seen, epochs=1)
    # ranges of 1, 2, 4, 8, 16, 32 batches, then the one batch left: ends 1, 3, 7, 15, 31, 63, 64
    assert seen.batches == [(1, b) for b in (1, 3, 7, 15, 31, 63, 64)]
    ref1, _ = run(epochs=1)
    assert_same_weights(net, ref1)
    assert not np.array_equal(ref.params()[0], ref1.params()[0])  # (two epochs differ)


def test_the_tightest_cadence_wins():
    seen_a, seen_b = Seen(BatchCadence(every=25)), Seen(BatchCadence(every=40))
    run(seen_a, seen_b, epochs=1)
    assert seen_a.batches == seen_b.batches == [(1, b) for b in (25, 40, 50, 64)]


def test_a_callback_without_a_cadence_sees_every_batch():
    seen = Seen()  # on_batch_end, no batch_cadence
    net, _ = run(seen, epochs=1)
    assert seen.batches == [(1, b) for b in range(1, N + 1)]
    ref, _ = run(epochs=1)
    assert_same_weights(net, ref)


def test_a_stop_set_at_a_range_end_stops_there():
    seen = Seen(BatchCadence(every=8), stop_at=20)
    net, history = run(seen, epochs=2)
    assert seen.batches == [(1, 8), (1, 16), (1, 24)]  # stopped after batch 24
    assert history.epoch == []  # the epoch did not finish
    # the weights are those after 24 batches: as a run stopped there by a per-batch callback
    ref, _ = run(Seen(stop_at=24), epochs=2)
    assert_same_weights(net, ref)


def test_progress_and_ctrl_c_declare_their_cadence():
    import io

    from backprop.cli.interrupt import StopOnInterrupt
    from backprop.training.progress import Progress

    assert Progress(io.StringIO(), live=False).batch_cadence == BatchCadence()
    pytest.importorskip("rich", reason="the live line needs rich")
    assert Progress(io.StringIO(), live=True).batch_cadence == BatchCadence(seconds=0.1)
    assert Progress(io.StringIO(), live=True, max_rate=0).batch_cadence is None
    assert StopOnInterrupt().batch_cadence == BatchCadence(seconds=0.1)
