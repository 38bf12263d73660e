"""The Step protocol as the loop uses it: engines, run_batches, masks, callbacks, metrics."""

import numpy as np
import pytest

import backprop as bp
from backprop.errors import ConfigError, DataError
from backprop.training import (
    Callback,
    RotatingCheckpoint,
    Step,
    accuracy,
    confusion_matrix,
    train,
)
from backprop.training import step as steps
from backprop.training.callbacks import checkpoint_files


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) + np.eye(3, 4)[y] * 2
    return X, y


class Runner(steps.ReadableStep):
    """A readable step that also trains whole ranges (as a compiled engine would)."""

    calls: list[tuple[int, int]] = []

    def run_batches(self, X, T, perm, batch_size, first, stop, lr):
        Runner.calls.append((first, stop))
        for k in range(first, stop):
            self(X, T, perm[k * batch_size : (k + 1) * batch_size], lr)
        return stop - first


@pytest.fixture
def runner_engine():
    Runner.calls = []

    def factory(net, optimizer, *, l2, n_train, dropout, rng):
        return Runner(net, optimizer, l2=l2, n_train=n_train, dropout=dropout, rng=rng)

    steps.register_engine("test-runner", factory)
    yield "test-runner"
    steps._ENGINES.pop("test-runner")


def test_run_batches_is_used_for_whole_epochs_and_gives_the_same_numbers(runner_engine):
    X, y = _data(n=43)  # batches of 8: 5 full, one of 3
    net = bp.Network([4, 6, 3], seed=1)
    a, b = net.copy(), net.copy()
    kw = {"epochs": 3, "batch_size": 8, "lr": 0.5, "seed": 2, "dropout": 0.2}
    # train_metrics="full": a runner that keeps no running sums is measured by a full pass
    ha = train(a, X, y, **kw, engine=runner_engine, train_metrics="full")
    hb = train(b, X, y, **kw, engine="readable", train_metrics="full")
    assert Runner.calls == [(0, 6)] * 3  # one call per epoch
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p, q)
    assert ha.train_cost == hb.train_cost
    assert isinstance(steps.make_step(net, bp.optimizers.SGD(0.1), engine=runner_engine), Step)


def test_a_callback_with_on_batch_end_gets_every_batch(runner_engine):
    X, y = _data(n=43)
    seen = []

    class EveryBatch(Callback):
        def on_batch_end(self, state):
            seen.append(state.batch)

    class EpochsOnly(Callback):
        def on_epoch_end(self, state):
            seen.append(-state.epoch)

    net = bp.Network([4, 6, 3], seed=1)
    train(net, X, y, epochs=1, batch_size=8, lr=0.5, callbacks=[EpochsOnly()], engine=runner_engine)
    assert Runner.calls == [(0, 6)] and seen == [-1]
    Runner.calls.clear()
    train(net, X, y, epochs=1, batch_size=8, lr=0.5, callbacks=[EveryBatch()], engine=runner_engine)
    assert Runner.calls == [] and seen[1:] == [1, 2, 3, 4, 5, 6]


def test_auto_tries_registered_engines_first_and_moves_on_when_they_refuse():
    tried = []

    def refuses(net, optimizer, **kw):
        tried.append(net.sizes)
        raise ConfigError("not this one")

    steps.register_engine("test-refuses", refuses, auto=True)
    try:
        step = steps.make_step(bp.Network([2, 3, 1]), bp.optimizers.SGD(0.1))
        assert type(step).__name__ == "FastStep" and tried == [[2, 3, 1]]
    finally:
        steps._ENGINES.pop("test-refuses")
        steps._AUTO.remove("test-refuses")
    with pytest.raises(ConfigError, match="register another name"):
        steps.register_engine("auto", refuses)


def test_masks_are_drawn_in_the_documented_order():
    """draw_masks: for l = 1..L−1, rng.random((n_l, m)) < q, times 1/q."""
    sizes, m, q = [3, 5, 4, 2], 6, 0.7
    got = steps.draw_masks(np.random.default_rng(9), sizes, m, q, "float64")
    rng = np.random.default_rng(9)
    u1, u2 = rng.random((5, m)), rng.random((4, m))
    np.testing.assert_array_equal(got[1], (u1 < q) / q)
    np.testing.assert_array_equal(got[2], (u2 < q) / q)
    assert sorted(got) == [1, 2]
    got32 = steps.draw_masks(np.random.default_rng(9), sizes, m, q, "float32")
    assert got32[1].dtype == np.float32
    np.testing.assert_array_equal(got32[1] > 0, rng_f32_keep(9, (5, m), q))


def rng_f32_keep(seed, shape, q):
    return np.random.default_rng(seed).random(shape, dtype=np.float32) < q


def test_readable_step_is_separable_into_gradients_and_apply():
    X, y = _data(n=10)
    T = np.eye(3)[y]
    net = bp.Network([4, 6, 3], seed=4)
    ref = net.copy()
    step = steps.ReadableStep(net, bp.optimizers.SGD(0.5), l2=2.0, n_train=10)
    grads = step.gradients(X, T)
    g = ref.gradients(X, y)
    step.apply(grads, 0.5)
    for l in (1, 2):  # W ← W − α(∂C₀/∂W + (λ/n) W), b ← b − α ∂C₀/∂b
        np.testing.assert_allclose(net.W[l], ref.W[l] - 0.5 * (g.W[l] + 0.2 * ref.W[l]), rtol=1e-14)
        np.testing.assert_allclose(net.b[l], ref.b[l] - 0.5 * g.b[l], rtol=1e-14)


def test_rotating_checkpoint_keeps_the_newest_and_resumes_exactly(tmp_path):
    X, y = _data(n=40)
    net = bp.Network([4, 6, 3], seed=1)
    whole = net.copy()
    train(whole, X, y, epochs=4, batch_size=8, lr=0.5, seed=3)

    class StopAt(Callback):
        def on_batch_end(self, state):
            if state.epoch == 2 and state.batch == 3:
                state.stop = True

    ckpt = RotatingCheckpoint(tmp_path, identity={"run": "test"}, every=2)
    first = net.copy()
    train(
        first, X, y, epochs=4, batch_size=8, lr=0.5, seed=3, callbacks=[StopAt(), ckpt]
    )  # the stop first: saved there
    files = [p.name for p in checkpoint_files(tmp_path)]
    # epoch 1: b2, b4, end (b5); epoch 2: b2, then the stop at b3; only the newest 2 remain
    assert files == ["ckpt-e0002-b000003.safetensors", "ckpt-e0002-b000002.safetensors"]
    tensors, meta = bp.io.load_checkpoint(tmp_path / files[0])
    assert meta["run"] == {"run": "test"} and (meta["epoch"], meta["batch"]) == (2, 3)
    resumed = net.copy()
    train(resumed, X, y, epochs=4, batch_size=8, lr=0.5, seed=3, resume=(tensors, meta))
    for p, q in zip(resumed.params(), whole.params()):
        np.testing.assert_array_equal(p, q)


def test_confusion_matrix_and_accuracy_by_hand():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])  # rows: true, columns: predicted
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 3), expected)
    assert confusion_matrix(y_true, y_pred, 3).dtype == np.int64
    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    with pytest.raises(DataError, match="0..1"):
        confusion_matrix([0, 2], [0, 1], 2)
    with pytest.raises(DataError, match="equal-length"):
        accuracy([0, 1], [0])
