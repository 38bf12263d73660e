"""History's training cost/accuracy: the running mean over the epoch's batches, or a full pass.

The reference is an epoch of plain SGD written out by hand (the loop's
permutation from the seeded generator, ``Network.cost`` and the predicted
classes of each batch before its update, ``Network.gradients``), independent
of the loop and of every engine.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from backprop import Callback, Network, train
from backprop.errors import ConfigError
from backprop.training import evaluate

ENGINES = ["readable", "fast"] + (["jit"] if importlib.util.find_spec("numba") else [])
N, BS, LR = 1100, 32, 0.5  # 35 batches, the last of 12 rows


def data(n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) if n_out > 1 else (X[:, 0] > 0).astype(int)
    return X, y


def by_hand(net, X, y, seed):
    """One epoch of SGD by hand; (mean C_x, accuracy) of the batches before their updates."""
    perm = np.random.default_rng(seed).permutation(N)
    total, hits = 0.0, 0
    for k in range(0, N, BS):
        idx = perm[k : k + BS]
        T = np.eye(net.sizes[-1])[y[idx]] if net.sizes[-1] > 1 else y[idx][:, None].astype(float)
        total += net.cost(X[idx], T) * len(idx)
        a = net.predict(X[idx])
        pred = a.argmax(axis=1) if net.sizes[-1] > 1 else (a[:, 0] > 0.5).astype(int)
        hits += int((pred == y[idx]).sum())
        g = net.gradients(X[idx], T)
        for l in net.W.keys():
            net.W[l] -= LR * g.W[l]
            net.b[l] -= LR * g.b[l]
    return total / N, hits / N


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_running_mean_is_the_batches_own_forward_passes(engine, cost):
    X, y = data()
    out = "softmax" if cost == "cross-entropy" else "sigmoid"
    net = Network([4, 6, 3], activation="tanh", output=out, cost=cost, seed=2)
    ref = net.copy()
    h = train(net, X, y, epochs=1, batch_size=BS, lr=LR, seed=5, engine=engine)
    cost_ref, acc_ref = by_hand(ref, X, y, seed=5)
    assert h.train_cost[0] == pytest.approx(cost_ref, rel=1e-12)
    assert h.train_accuracy[0] == acc_ref
    for p, q in zip(net.params(), ref.params()):
        np.testing.assert_allclose(p, q, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_threshold_accuracy_for_one_output(engine):
    X, y = data(n_out=1)
    net = Network([4, 5, 1], activation="sigmoid", cost="cross-entropy", seed=3)
    ref = net.copy()
    h = train(net, X, y.astype(float), epochs=1, batch_size=BS, lr=LR, seed=1, engine=engine)
    cost_ref, acc_ref = by_hand(ref, X, y, seed=1)
    assert h.train_cost[0] == pytest.approx(cost_ref, rel=1e-12)
    assert h.train_accuracy[0] == acc_ref


def test_full_is_a_pass_over_the_training_data_after_the_epoch():
    X, y = data()
    net = Network([4, 6, 3], activation="relu", output="softmax", cost="cross-entropy", seed=4)
    h = train(net, X, y, epochs=2, batch_size=BS, lr=0.1, seed=0, train_metrics="full")
    assert (h.train_cost[-1], h.train_accuracy[-1]) == evaluate(net, X, y)
    running = Network([4, 6, 3], activation="relu", output="softmax", cost="cross-entropy", seed=4)
    h2 = train(running, X, y, epochs=2, batch_size=BS, lr=0.1, seed=0)
    assert h2.train_cost[-1] != h.train_cost[-1]  # the running mean is another number …
    for p, q in zip(net.params(), running.params()):
        assert np.array_equal(p, q)  # … of the same training


def test_engines_agree_and_validation_stays_a_full_pass():
    X, y = data()
    results = []
    for engine in ENGINES:
        net = Network([4, 6, 3], activation="sigmoid", output="softmax", cost="cross-entropy",
                      seed=9)  # fmt: skip
        h = train(net, X, y, epochs=2, batch_size=BS, lr=0.3, seed=3, dropout=0.2,
                  validation_data=(X[:200], y[:200]), engine=engine)  # fmt: skip
        assert (h.val_cost[-1], h.val_accuracy[-1]) == evaluate(net, X[:200], y[:200])
        results.append((h.train_cost, h.train_accuracy))
    for cost, acc in results[1:]:
        np.testing.assert_allclose(cost, results[0][0], rtol=1e-12)
        assert acc == results[0][1]


def test_an_unknown_setting_is_refused():
    X, y = data()
    with pytest.raises(ConfigError, match="train_metrics must be 'running'"):
        train(Network([4, 3]), X, y, epochs=1, batch_size=BS, lr=0.1, train_metrics="keras")


def test_the_book_s_chapter_3_preset_measures_the_training_data_with_a_full_pass():
    from backprop import presets
    from backprop.cli.train import _train_metrics

    assert presets.get("nielsen-ch3").train_metrics == "full"  # network2.py's monitoring
    assert _train_metrics("nielsen-ch3") == "full"
    assert _train_metrics("nielsen-ch1") == _train_metrics(None) == "running"


# -- during the epoch: state.running_metrics() ----------------------------------------


def per_batch_by_hand(net, X, y, seed):
    """One epoch of SGD by hand: each batch's (m, C₀, hits) before its update."""
    perm = np.random.default_rng(seed).permutation(N)
    batches = []
    for k in range(0, N, BS):
        idx = perm[k : k + BS]
        T = np.eye(net.sizes[-1])[y[idx]]
        a = net.predict(X[idx])
        batches.append((len(idx), net.cost(X[idx], T), int((a.argmax(axis=1) == y[idx]).sum())))
        g = net.gradients(X[idx], T)
        for l in net.W.keys():
            net.W[l] -= LR * g.W[l]
            net.b[l] -= LR * g.b[l]
    return batches


class Record(Callback):
    """state.running_metrics() after every batch, and the hooks in the order they ran."""

    def __init__(self):
        self.seen, self.hooks = [], []

    def on_epoch_begin(self, state):
        self.hooks.append("epoch_begin")
        self.seen.append(state.running_metrics())  # before the first batch: None

    def on_batch_end(self, state):
        self.hooks.append("batch_end")
        self.seen.append(state.running_metrics())

    def on_evaluate_begin(self, state):
        self.hooks.append("evaluate_begin")
        assert len(state.history.epoch) == state.epoch - 1  # not yet measured

    def on_epoch_end(self, state):
        self.hooks.append("epoch_end")
        self.seen.append(state.running_metrics())  # between epochs: None


@pytest.mark.parametrize("engine", ENGINES)
def test_running_metrics_during_the_epoch_are_the_mean_of_the_batches_so_far(engine):
    X, y = data()
    net = Network([4, 6, 3], activation="tanh", output="softmax", cost="cross-entropy", seed=2)
    batches = np.array(per_batch_by_hand(net.copy(), X, y, seed=5))  # (35, 3): m, C₀, hits
    rec = Record()
    h = train(net, X, y, epochs=1, batch_size=BS, lr=LR, seed=5, engine=engine, callbacks=[rec])
    m, cost, hits = batches.T
    examples = np.cumsum(m)
    mean_cost = np.cumsum(m * cost) / examples  # the running mean over the examples so far
    accuracy = np.cumsum(hits) / examples
    assert rec.seen[0] is None and rec.seen[-1] is None
    during = rec.seen[1:-1]
    assert len(during) == len(batches) == 35
    np.testing.assert_allclose([s[0] for s in during], mean_cost, rtol=1e-10)
    assert [s[1] for s in during] == pytest.approx(accuracy, abs=1e-12)
    assert [s[2] for s in during] == examples.astype(int).tolist()
    assert during[-1][0] == pytest.approx(h.train_cost[0], rel=1e-12)  # the epoch's own number
    assert rec.hooks == ["epoch_begin", *["batch_end"] * 35, "evaluate_begin", "epoch_end"]
    # the running mean is not one batch's cost: the first batches cost far more than the last
    assert during[-1][0] < mean_cost[0] and cost[-1] < during[-1][0]


def test_running_metrics_are_none_with_a_full_pass():
    X, y = data()
    rec = Record()
    net = Network([4, 6, 3], activation="tanh", output="softmax", cost="cross-entropy", seed=2)
    train(net, X, y, epochs=1, batch_size=BS, lr=LR, seed=5, train_metrics="full", callbacks=[rec])
    assert set(map(type, rec.seen)) == {type(None)} and "evaluate_begin" in rec.hooks


@pytest.mark.parametrize("engine", ENGINES)
def test_running_metrics_after_a_resume_in_mid_epoch_cover_the_batches_since(engine):
    X, y = data()
    net = Network([4, 6, 3], activation="tanh", output="softmax", cost="cross-entropy", seed=2)
    batches = np.array(per_batch_by_hand(net.copy(), X, y, seed=5))  # (35, 3): m, C₀, hits
    saved = {}

    class StopAt10(Callback):
        def on_batch_end(self, state):
            if state.batch == 10:
                saved["checkpoint"] = state.checkpoint()
                state.stop = True

    train(net, X, y, epochs=1, batch_size=BS, lr=LR, seed=5, engine=engine, callbacks=[StopAt10()])
    rec = Record()
    train(net, X, y, epochs=1, batch_size=BS, lr=LR, seed=5, engine=engine, callbacks=[rec],
          resume=saved["checkpoint"])  # fmt: skip
    m, cost, hits = batches[10:].T  # batches 11 … 35
    during = [s for s in rec.seen if s is not None]
    assert [s[2] for s in during] == np.cumsum(m).astype(int).tolist()
    np.testing.assert_allclose([s[0] for s in during], np.cumsum(m * cost) / np.cumsum(m),
                               rtol=1e-10)  # fmt: skip
    accuracy = [s[1] for s in during]
    if engine == "jit":  # its own sums: not told the labels, as the epoch began elsewhere
        assert accuracy == [None] * len(during)
    else:
        assert accuracy == pytest.approx(np.cumsum(hits) / np.cumsum(m), abs=1e-12)
