"""The training loop: updates against independent computations, and the loop's promises."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest

import backprop as bp
from backprop.errors import ConfigError, DataError
from backprop.training import Callback, History, TrainState, evaluate, train
from backprop.training.step import ReadableStep, make_step
from support import needs_torch, optional_import

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([0, 1, 1, 0])


def _regression(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    return X, Y


def _blobs(n=60, seed=0, classes=3, features=4):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    X = rng.normal(size=(n, features)) * 0.5 + np.eye(classes, features)[y] * 2
    return X, y


@pytest.fixture(params=["auto", "readable", "fast-no-ffi"])
def engine(request, monkeypatch):
    """Run the test with the default engine, the readable step and the fast step without FFI."""
    from backprop.training import loop

    def forced(net, opt, **kw):
        return make_step(net, opt, **{**kw, "engine": request.param})

    monkeypatch.setattr(loop, "make_step", forced)
    return request.param


def test_both_engines_are_really_used(engine):
    seen = []

    class Spy(Callback):
        def on_train_begin(self, state):
            seen.append(type(state._step).__name__)

    train(bp.Network([2, 3, 1]), XOR_X, XOR_Y, epochs=1, batch_size=2, lr=0.1, callbacks=[Spy()])
    assert seen == (["ReadableStep"] if engine == "readable" else ["FastStep"])


def _params(net):
    return [p.copy() for p in net.params()]


class Recorder(Callback):
    """Records the hooks called and the weights at every epoch end."""

    def __init__(self):
        self.calls = []
        self.weights = {}

    def on_train_begin(self, state):
        self.calls.append("train_begin")

    def on_epoch_begin(self, state):
        self.calls.append(f"epoch_begin {state.epoch}")

    def on_batch_end(self, state):
        self.calls.append(f"batch {state.epoch}.{state.batch}")

    def on_epoch_end(self, state):
        self.calls.append(f"epoch_end {state.epoch}")
        self.weights[state.epoch] = _params(state.net)

    def on_train_end(self, state):
        self.calls.append("train_end")


# -- it learns ---------------------------------------------------------------------


def test_xor_converges():
    net = bp.Network([2, 4, 1], seed=1)
    h = train(net, XOR_X, XOR_Y, epochs=2000, batch_size=4, lr=5.0, seed=0)
    assert h.train_accuracy[-1] == 1.0
    assert h.train_cost[-1] < 1e-3
    np.testing.assert_array_equal(net.predict(XOR_X).ravel() > 0.5, XOR_Y == 1)


def test_digits_above_90_percent_quickly():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.data / 16, d.target, test_size=0.25, random_state=0)
    net = bp.Network([64, 30, 10], seed=0, dtype="float32")
    start = time.perf_counter()
    h = train(net, Xtr, ytr, epochs=10, batch_size=10, lr=3.0, seed=0, test_data=(Xte, yte))
    seconds = time.perf_counter() - start
    # accuracy measured independently of the loop's bookkeeping
    acc = float((net.predict(Xte).argmax(axis=1) == yte).mean())
    assert acc > 0.90
    assert h.test_accuracy[-1] == pytest.approx(acc)
    assert seconds < 20  # 0.23 s with one BLAS thread; generous for a loaded shared machine
    assert all(p.dtype == np.float32 for p in net.params())


# -- single steps against independent computations ----------------------------------


def test_one_sgd_step_is_w_minus_lr_grads(engine):
    X, y = _blobs(n=7)
    net = bp.Network([4, 5, 3], seed=3)
    before = net.copy()
    train(net, X, y, epochs=1, batch_size=7, lr=0.7, shuffle=False)
    g = before.gradients(X, y)
    for l in range(1, 3):
        np.testing.assert_allclose(net.W[l], before.W[l] - 0.7 * g.W[l], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(net.b[l], before.b[l] - 0.7 * g.b[l], rtol=1e-13, atol=1e-15)


def test_l2_is_nielsen_weight_decay_with_n_the_training_set_size(engine):
    # Two mini-batches of 4 from n = 8 examples: each step is
    # W ← (1 − αλ/n) W − α ∂C₀/∂W and b ← b − α ∂C₀/∂b (biases not decayed).
    X, y = _blobs(n=8)
    net = bp.Network([4, 5, 3], cost="cross-entropy", init="scaled-normal", seed=4)
    ref = net.copy()
    lr, lam, n = 0.5, 2.0, 8
    train(net, X, y, epochs=1, batch_size=4, lr=lr, l2=lam, shuffle=False)
    for rows in (slice(0, 4), slice(4, 8)):
        g = ref.gradients(X[rows], y[rows])
        for l in range(1, 3):
            ref.W[l] = (1 - lr * lam / n) * ref.W[l] - lr * g.W[l]
            ref.b[l] = ref.b[l] - lr * g.b[l]
    for l in range(1, 3):
        np.testing.assert_allclose(net.W[l], ref.W[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(net.b[l], ref.b[l], rtol=1e-12, atol=1e-15)


def test_step_gradients_without_dropout_equal_network_gradients():
    X, y = _blobs(n=9)
    net = bp.Network(
        [4, 6, 5, 3], activation=["tanh", "relu"], output="softmax", cost="cross-entropy", seed=2
    )
    T = np.eye(3)[y]
    step = ReadableStep(net, bp.optimizers.SGD(0.1), l2=0.0, n_train=9, dropout=0.0, rng=None)
    grads = step.gradients(X, T)  # [∂C/∂W^1, ∂C/∂b^1, …]
    g = net.gradients(X, y)
    for l in range(1, 4):
        np.testing.assert_allclose(grads[2 * l - 2], g.W[l], rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(grads[2 * l - 1], g.b[l], rtol=1e-13, atol=1e-16)


torch = optional_import("torch")


def _torch_twin(net):
    layers = []
    for l in range(1, net.L + 1):
        lin = torch.nn.Linear(net.sizes[l - 1], net.sizes[l]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(net.W[l]))
            lin.bias.copy_(torch.from_numpy(net.b[l].ravel()))
        layers += [lin, torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers)


@needs_torch
@pytest.mark.parametrize(
    "name, make",
    [
        ("sgd", lambda ps: torch.optim.SGD(ps, lr=2.0)),
        ("momentum", lambda ps: torch.optim.SGD(ps, lr=2.0, momentum=0.6)),
        ("nesterov", lambda ps: torch.optim.SGD(ps, lr=2.0, momentum=0.6, nesterov=True)),
        ("adam", lambda ps: torch.optim.Adam(ps, lr=2.0, betas=(0.8, 0.95), eps=1e-7)),
    ],
)
def test_training_matches_torch_epoch_for_epoch(name, make, engine):
    # [4, 5, 3] sigmoid with the source's quadratic cost, 10 examples in
    # mini-batches of 4, 4, 2 (unshuffled) for 3 epochs, against PyTorch.
    X, y = _blobs(n=10)
    T = np.eye(3)[y]
    net = bp.Network([4, 5, 3], seed=5)
    model = _torch_twin(net)
    opt = make(list(model.parameters()))
    Xt, Tt = torch.from_numpy(X), torch.from_numpy(T)
    for _ in range(3):
        for rows in (slice(0, 4), slice(4, 8), slice(8, 10)):
            opt.zero_grad()
            a = model(Xt[rows])
            (0.5 * ((a - Tt[rows]) ** 2).sum(dim=1)).mean().backward()  # C = mean ½‖a − t‖²
            opt.step()
    train(
        net,
        X,
        y,
        epochs=3,
        batch_size=4,
        lr=2.0,
        optimizer=name,
        momentum=0.6,
        beta1=0.8,
        beta2=0.95,
        eps=1e-7,
        shuffle=False,
    )
    theirs = [p.detach().numpy() for p in model.parameters()]
    for l in range(1, 3):
        np.testing.assert_allclose(net.W[l], theirs[2 * l - 2], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(net.b[l].ravel(), theirs[2 * l - 1], rtol=1e-10, atol=1e-12)


# -- dropout -------------------------------------------------------------------------


def _masked_cost(net, X, T, masks):
    """C with fixed dropout masks, written independently of the library's forward pass."""
    a = X.T
    for l in range(1, net.L + 1):
        z = net.W[l] @ a + net.b[l]
        a = 1 / (1 + np.exp(-z)) if net.act[l].name == "sigmoid" else np.tanh(z)
        if l < net.L:
            a = a * masks[l]
    return float((0.5 * ((a - T.T) ** 2).sum(axis=0)).mean())


def test_dropout_backward_matches_finite_differences_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    X, y = _blobs(n=6)
    T = np.eye(3)[y]
    net = bp.Network([4, 7, 6, 3], activation="tanh", output="sigmoid", seed=1)
    q = 0.6
    masks = {1: (rng.random((7, 6)) < q) / q, 2: (rng.random((6, 6)) < q) / q}
    masks[1][2, :] = 0  # neuron 2 of layer 1 dropped for every example
    assert 0 < (masks[1] > 0).sum() < masks[1].size  # some dropped, some kept
    step = ReadableStep(net, bp.optimizers.SGD(0.1), l2=0.0, n_train=6, dropout=1 - q, rng=rng)
    grads = step.gradients(X, T, masks)
    dW = {l: grads[2 * l - 2] for l in range(1, 4)}
    db = {l: grads[2 * l - 1] for l in range(1, 4)}
    h = 1e-6
    for l in range(1, 4):
        for P, G in ((net.W[l], dW[l]), (net.b[l], db[l])):
            numeric = np.zeros_like(P)
            for i in np.ndindex(P.shape):
                old = P[i]
                P[i] = old + h
                up = _masked_cost(net, X, T, masks)
                P[i] = old - h
                down = _masked_cost(net, X, T, masks)
                P[i] = old
                numeric[i] = (up - down) / (2 * h)
            err = np.abs(G - numeric).max() / np.abs(numeric).max()
            assert err < 1e-7, (l, err)
    # a neuron dropped for the whole batch learns nothing: its row of ∂C/∂W^1 and ∂C/∂b^1 is 0
    assert np.all(dW[1][2] == 0) and db[1][2, 0] == 0


def test_dropout_masks_are_inverted_and_seeded():
    net = bp.Network([5, 400, 300, 2], seed=0)
    step = ReadableStep(
        net, bp.optimizers.SGD(0.1), l2=0.0, n_train=1, dropout=0.25, rng=np.random.default_rng(7)
    )
    masks = step.masks(50)
    assert sorted(masks) == [1, 2]  # no dropout on inputs or outputs
    for l, n in ((1, 400), (2, 300)):
        assert masks[l].shape == (n, 50)
        assert set(np.unique(masks[l])) == {0.0, 1 / 0.75}
        assert abs((masks[l] == 0).mean() - 0.25) < 0.02  # p = 0.25 dropped
    again = ReadableStep(
        net, bp.optimizers.SGD(0.1), l2=0.0, n_train=1, dropout=0.25, rng=np.random.default_rng(7)
    ).masks(50)
    np.testing.assert_array_equal(masks[1], again[1])


def test_dropout_is_off_for_evaluation_and_training_still_learns(engine):
    X, y = _blobs(n=120)
    net = bp.Network(
        [4, 40, 3],
        activation="relu",
        output="softmax",
        cost="cross-entropy",
        init="he-normal",
        seed=0,
    )
    # train_metrics="full": measured after the epoch with dropout off (not the running mean)
    h = train(net, X, y, epochs=30, batch_size=10, lr=0.05, dropout=0.5, seed=0,
              train_metrics="full")  # fmt: skip
    cost, acc = evaluate(net, X, y)
    assert cost == pytest.approx(h.train_cost[-1]) and acc == h.train_accuracy[-1]
    assert acc > 0.9


# -- reproducibility -----------------------------------------------------------------


def _run(seed, **kw):
    X, y = _blobs(n=50)
    net = bp.Network([4, 8, 3], seed=0)
    args = dict(
        epochs=3,
        batch_size=7,
        lr=1.0,
        optimizer="adam",
        dropout=0.3,
        validation_fraction=0.2,
        seed=seed,
    )
    train(net, X, y, **{**args, **kw})
    return _params(net)


def test_same_seed_bit_identical_and_different_seeds_differ(engine):
    a, b, c = _run(1), _run(1), _run(2)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert any(not np.array_equal(p, r) for p, r in zip(a, c))


def test_shuffling_changes_the_order_each_epoch():
    perms = []

    class Perm(Callback):
        def on_epoch_begin(self, state):
            perms.append(state.perm.copy())

    X, y = _blobs(n=30)
    train(
        bp.Network([4, 3, 3], seed=0),
        X,
        y,
        epochs=3,
        batch_size=5,
        lr=0.1,
        seed=0,
        callbacks=[Perm()],
    )
    assert all(np.array_equal(np.sort(p), np.arange(30)) for p in perms)
    assert not np.array_equal(perms[0], perms[1])
    expected = np.random.default_rng(0)  # the loop draws exactly one permutation per epoch
    for p in perms:
        np.testing.assert_array_equal(p, expected.permutation(30))


# -- validation, early stopping, divergence -------------------------------------------


def test_validation_fraction_split_sizes_match_sklearn():
    from sklearn.model_selection import train_test_split

    seen = {}

    class Spy(Callback):
        def on_train_begin(self, state):
            seen["n_train"], seen["val_index"] = state.n_train, state.val_index

    X, y = _blobs(n=103)
    for frac in (0.1, 0.2, 0.33):
        train(
            bp.Network([4, 3, 3], seed=0),
            X,
            y,
            epochs=1,
            batch_size=10,
            lr=0.1,
            seed=0,
            validation_fraction=frac,
            callbacks=[Spy()],
        )
        tr, va = train_test_split(np.arange(103), test_size=frac)
        assert seen["n_train"] == len(tr)
        assert len(seen["val_index"]) == len(va) == len(np.unique(seen["val_index"]))


def test_early_stopping_restores_the_best_epoch(engine):
    # The validation targets are half the training targets: as the network fits
    # the training data its validation cost first falls, then rises again.
    X, Y = _regression(n=60)
    net = bp.Network([3, 10, 1], activation="tanh", output="identity", init="scaled-normal", seed=0)
    rec = Recorder()
    h = train(
        net,
        X,
        Y,
        epochs=200,
        batch_size=10,
        lr=0.02,
        seed=0,
        patience=4,
        validation_data=(X, 0.5 * Y),
        callbacks=[rec],
    )
    best = int(np.argmin(h.val_cost)) + 1
    assert h.stopped_early
    assert 1 < best < len(h)
    assert h.best_epoch == best
    assert len(h) == best + 4  # four epochs without improvement, then stop
    assert h.val_cost[best - 1] < h.val_cost[-1]
    for p, q in zip(net.params(), rec.weights[best]):
        np.testing.assert_array_equal(p, q)
    # and the restored weights really have the best validation cost
    assert evaluate(net, X, 0.5 * Y)[0] == pytest.approx(h.val_cost[best - 1])


def test_early_stopping_on_accuracy_for_classification():
    X, y = _blobs(n=60)
    rec = Recorder()
    net = bp.Network([4, 6, 3], seed=0)
    # validation labels shifted by one class: it gets worse as training learns
    h = train(
        net,
        X,
        y,
        epochs=50,
        batch_size=5,
        lr=3.0,
        seed=0,
        patience=3,
        validation_data=(X, (y + 1) % 3),
        callbacks=[rec],
    )
    best = int(np.argmax(h.val_accuracy)) + 1
    assert h.best_epoch == best and h.stopped_early and len(h) == best + 3
    for p, q in zip(net.params(), rec.weights[best]):
        np.testing.assert_array_equal(p, q)


def test_divergence_stops_and_keeps_finite_weights():
    X, Y = _regression()
    net = bp.Network([3, 8, 1], activation="relu", output="identity", seed=0)
    initial = _params(net)
    h = train(net, X, Y, epochs=20, batch_size=10, lr=1e6, seed=0)
    assert h.diverged is not None and "lower learning rate" in h.diverged
    assert len(h) == 0  # the very first epoch diverged
    for p, q in zip(net.params(), initial):
        np.testing.assert_array_equal(p, q)


def test_divergence_later_keeps_the_previous_epoch(engine):
    X, Y = _regression()
    net = bp.Network([3, 8, 1], activation="relu", output="identity", seed=0)
    rec = Recorder()

    class Boost(Callback):  # a schedule gone wrong: α × 10⁶ from epoch 3
        def on_epoch_begin(self, state):
            if state.epoch == 3:
                state.lr = 1e6

    # "full": the pass after epoch 3 overflows; the running mean of its batches is still finite
    h = train(net, X, Y, epochs=10, batch_size=10, lr=0.01, seed=0, callbacks=[rec, Boost()],
              train_metrics="full")  # fmt: skip
    assert h.diverged and "epoch 3" in h.diverged and len(h) == 2
    for p, q in zip(net.params(), rec.weights[2]):
        np.testing.assert_array_equal(p, q)
    assert all(math.isfinite(c) for c in h.train_cost)


# -- schedules in the loop ---------------------------------------------------------------


def test_history_records_the_scheduled_learning_rates():
    X, y = _blobs(n=20)
    h = train(
        bp.Network([4, 3, 3], seed=0),
        X,
        y,
        epochs=7,
        batch_size=5,
        lr=0.8,
        schedule="step:3:0.5",
        seed=0,
    )
    assert h.lr == [0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2]
    h = train(
        bp.Network([4, 3, 3], seed=0),
        X,
        y,
        epochs=3,
        batch_size=5,
        lr=0.8,
        schedule=bp.schedules.ExponentialDecay(0.5),
        seed=0,
    )
    assert h.lr == [0.8, 0.4, 0.2]


def test_plateau_schedule_sees_the_monitored_validation_cost():
    X, Y = _regression(n=60)
    net = bp.Network([3, 10, 1], activation="tanh", output="identity", seed=0)
    h = train(
        net,
        X,
        Y,
        epochs=30,
        batch_size=10,
        lr=0.02,
        seed=0,
        validation_data=(X, 0.5 * Y),
        schedule="plateau:0.5:1",
    )
    ref = bp.schedules.ReduceOnPlateau(factor=0.5, patience=1)
    expected = []
    for e, v in enumerate(h.val_cost, start=1):
        expected.append(ref.lr(e, 0.02))
        ref.observe(v, "min")
    assert h.lr == expected and min(h.lr) < 0.02


# -- data at the edge, accuracy -------------------------------------------------------------


def test_accuracy_for_labels_one_hot_and_other_targets():
    X, y = _blobs(n=40)
    net = bp.Network([4, 5, 3], seed=1)
    expected = float((net.predict(X).argmax(axis=1) == y).mean())
    assert evaluate(net, X, y)[1] == expected
    assert evaluate(net, X, np.eye(3)[y])[1] == expected
    assert evaluate(net, X, np.full((40, 3), 0.2))[1] is None
    cost = evaluate(net, X, y)[0]
    assert cost == pytest.approx(net.cost(X, y), rel=1e-12)
    # one output with 0/1 targets: the class is a^L > 0.5
    net1 = bp.Network([2, 3, 1], seed=0)
    expected = float(((net1.predict(XOR_X)[:, 0] > 0.5) == (XOR_Y == 1)).mean())
    assert evaluate(net1, XOR_X, XOR_Y)[1] == expected
    assert evaluate(net1, XOR_X, XOR_Y * 0.5)[1] is None


def test_evaluation_in_chunks_equals_one_pass():
    import backprop.training as training

    X, y = _blobs(n=250)
    net = bp.Network([4, 5, 3], seed=1)
    whole = evaluate(net, X, y)
    data = training.prepare(net, X, y)
    chunked = training.metrics.evaluate_dataset(net, data, chunk=32)
    assert chunked[1] == whole[1]
    assert chunked[0] == pytest.approx(whole[0], rel=1e-13)


def test_history_holds_every_series_and_round_trips_through_json():
    X, y = _blobs(n=40)
    Xt, yt = _blobs(n=20, seed=9)
    h = train(
        bp.Network([4, 5, 3], seed=0),
        X,
        y,
        epochs=3,
        batch_size=8,
        lr=1.0,
        seed=0,
        validation_fraction=0.25,
        test_data=(Xt, yt),
    )
    for name in History.SERIES:
        assert len(getattr(h, name)) == 3, name
    assert h.epoch == [1, 2, 3]
    assert all(s >= 0 for s in h.seconds)
    assert all(0 <= a <= 1 for a in h.val_accuracy + h.test_accuracy + h.train_accuracy)
    back = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back == h
    h2 = train(
        bp.Network([3, 2, 1], output="identity", seed=0),
        *_regression(),
        epochs=2,
        batch_size=8,
        lr=0.01,
    )
    assert h2.val_cost == [None, None] and h2.train_accuracy == [None, None]
    assert h2.best_epoch is None and not h2.stopped_early and h2.diverged is None


def test_float32_network_stays_float32(engine):
    X, y = _blobs(n=30)
    net = bp.Network([4, 5, 3], seed=0, dtype="float32")
    train(
        net,
        X.astype(np.float64),
        y,
        epochs=2,
        batch_size=4,
        lr=0.5,
        optimizer="adam",
        l2=0.1,
        dropout=0.2,
        seed=0,
    )
    assert all(p.dtype == np.float32 for p in net.params())


def test_nothing_prints(capsys):
    X, y = _blobs(n=30)
    train(
        bp.Network([4, 5, 3], seed=0),
        X,
        y,
        epochs=2,
        batch_size=4,
        lr=0.5,
        validation_fraction=0.2,
        patience=1,
        seed=0,
    )
    out, err = capsys.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(lr=0), "lr must be a positive number"),
        (dict(lr=-0.1), "lr must be a positive number"),
        (dict(lr=float("nan")), "lr must be a positive number"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(batch_size=2.5), "batch_size must be a positive integer"),
        (dict(epochs=0), "epochs must be a positive integer"),
        (dict(epochs=True), "epochs must be a positive integer"),
        (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'; choose one of"),
        (dict(l2=-1), "l2 must be a non-negative number"),
        (dict(dropout=1.0), r"dropout must be a probability in \[0, 1\)"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(patience=2), "patience\\) needs validation data"),
        (dict(patience=0, validation_fraction=0.2), "patience must be a positive integer"),
        (dict(validation_fraction=0.2, validation_data=([[0, 0]], [0])), "not both"),
        (dict(schedule="cosine"), "unknown schedule 'cosine'"),
        (dict(validation_data=[1, 2, 3]), r"validation_data must be a pair \(X, Y\)"),
    ],
)
def test_config_errors(kw, match):
    args = {**dict(epochs=1, batch_size=2, lr=0.1), **kw}
    with pytest.raises(ConfigError, match=match):
        train(bp.Network([2, 3, 1], seed=0), XOR_X, XOR_Y, **args)


def test_no_hidden_layer_no_dropout():
    with pytest.raises(ConfigError, match="hidden"):
        train(bp.Network([2, 1]), XOR_X, XOR_Y, epochs=1, batch_size=2, lr=0.1, dropout=0.5)


@pytest.mark.parametrize(
    "X, Y, match",
    [
        (
            np.zeros((4, 3)),
            np.zeros(4, dtype=int),
            "3 features but the network's input layer has 4",
        ),
        (np.zeros(4), np.zeros(4, dtype=int), "2-D array"),
        (np.zeros((4, 4)), np.zeros(5, dtype=int), "4 rows but Y has 5"),
        (np.zeros((4, 4)), np.array([0, 1, 2, 3]), r"class labels must lie in 0\.\.2"),
        (np.zeros((4, 4)), np.zeros((4, 2)), r"Y must have shape \(4, 3\)"),
        (np.zeros((4, 4)), np.zeros(4), "integer class labels"),
        (np.full((4, 4), np.nan), np.zeros(4, dtype=int), "NaN"),
        (np.zeros((0, 4)), np.zeros(0, dtype=int), "no rows"),
    ],
)
def test_data_errors(X, Y, match):
    with pytest.raises(DataError, match=match):
        train(bp.Network([4, 3, 3], seed=0), X, Y, epochs=1, batch_size=2, lr=0.1)


def test_validation_data_is_checked_too():
    X, y = _blobs(n=10)
    with pytest.raises(DataError, match="validation data: X has 3 features"):
        train(
            bp.Network([4, 3, 3]),
            X,
            y,
            epochs=1,
            batch_size=2,
            lr=0.1,
            validation_data=(np.zeros((2, 3)), [0, 1]),
        )


# -- callbacks and resuming ---------------------------------------------------------------


def test_callback_hooks_in_order_and_stop_after_current_batch():
    X, y = _blobs(n=10)
    rec = Recorder()
    train(
        bp.Network([4, 3, 3], seed=0), X, y, epochs=2, batch_size=4, lr=0.1, seed=0, callbacks=[rec]
    )
    assert rec.calls == [
        "train_begin",
        "epoch_begin 1",
        "batch 1.1",
        "batch 1.2",
        "batch 1.3",
        "epoch_end 1",
        "epoch_begin 2",
        "batch 2.1",
        "batch 2.2",
        "batch 2.3",
        "epoch_end 2",
        "train_end",
    ]

    class StopAt(Recorder):
        def on_batch_end(self, state):
            super().on_batch_end(state)
            if (state.epoch, state.batch) == (2, 1):
                state.stop = True

    rec = StopAt()
    h = train(
        bp.Network([4, 3, 3], seed=0), X, y, epochs=5, batch_size=4, lr=0.1, seed=0, callbacks=[rec]
    )
    assert rec.calls[-2:] == ["batch 2.1", "train_end"]
    assert len(h) == 1  # only completed epochs are recorded


def test_batch_cost_is_the_cost_before_the_update(engine):
    X, y = _blobs(n=8)
    net = bp.Network([4, 3, 3], seed=0)
    before = net.copy()
    got = []

    class Cost(Callback):
        def on_batch_end(self, state):
            got.append(state.batch_cost())

    train(net, X, y, epochs=1, batch_size=8, lr=0.1, shuffle=False, callbacks=[Cost()])
    assert got == [pytest.approx(before.cost(X, y), rel=1e-12)]


@pytest.mark.parametrize("stop_at", [(2, 3), (3, 0)])
def test_resume_from_checkpoint_is_bit_identical(stop_at, engine):
    X, y = _blobs(n=50)
    args = dict(
        epochs=4,
        batch_size=7,
        lr=0.05,
        optimizer="adam",
        dropout=0.3,
        l2=0.5,
        validation_fraction=0.2,
        patience=10,
        schedule="plateau:0.5:0",
        seed=3,
        train_metrics="full",  # an epoch resumed in its middle is measured by a full pass
    )
    straight = bp.Network([4, 8, 3], seed=0)
    h_straight = train(straight, X, y, **args)

    saved = {}

    class KillAt(Callback):
        def on_batch_end(self, state):
            if (state.epoch, state.batch) == stop_at:
                saved["ckpt"] = state.checkpoint()
                state.stop = True

        def on_epoch_end(self, state):
            if (state.epoch + 1, 0) == stop_at:
                saved["ckpt"] = state.checkpoint()
                state.stop = True

    first = bp.Network([4, 8, 3], seed=0)
    train(first, X, y, callbacks=[KillAt()], **args)
    tensors, meta = saved["ckpt"]
    meta = json.loads(json.dumps(meta))  # it must survive a JSON file
    resumed = bp.Network([4, 8, 3], seed=99)  # different weights: the checkpoint holds them
    h = train(resumed, X, y, resume=(tensors, meta), **args)
    for p, q in zip(resumed.params(), straight.params()):
        np.testing.assert_array_equal(p, q)
    assert h.lr == h_straight.lr and h.val_cost == h_straight.val_cost
    assert h.train_cost == h_straight.train_cost
    assert isinstance(TrainState, type)


def test_checkpoint_file_resume(tmp_path):
    pytest.importorskip("backprop.io")
    from backprop.training import Checkpoint

    X, y = _blobs(n=40)
    args = dict(epochs=3, batch_size=6, lr=0.3, optimizer="nesterov", dropout=0.2, seed=5)
    straight = bp.Network([4, 6, 3], seed=0)
    train(straight, X, y, **args)

    path = tmp_path / "run.ckpt"

    class Kill(Callback):
        def on_batch_end(self, state):
            if (state.epoch, state.batch) == (2, 4):
                state.stop = True

    net = bp.Network([4, 6, 3], seed=0)
    train(net, X, y, callbacks=[Checkpoint(path, every_batches=2), Kill()], **args)
    assert path.exists() and not list(tmp_path.glob("*.tmp*"))
    resumed = bp.Network([4, 6, 3], seed=1)
    h = train(resumed, X, y, resume=path, **args)
    assert h.epoch == [1, 2, 3]
    for p, q in zip(resumed.params(), straight.params()):
        np.testing.assert_array_equal(p, q)


def test_docs_examples_run():
    import re
    from pathlib import Path

    doc = Path(__file__).parents[2] / "docs" / "training.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    ns: dict = {}
    exec(blocks[0], ns)  # the quick start on digits
    assert ns["history"].test_accuracy[-1] > 0.9
    exec(blocks[1], ns)  # optimizers.get
    assert ns["opt"].beta2 == 0.99
    exec(blocks[2], ns)  # the callback example
    ds = ns["ds"]
    h = train(
        ns["net"],
        ds.X_train,
        ds.y_train,
        epochs=2,
        batch_size=10,
        lr=3.0,
        callbacks=[ns["GradientNorm"]()],
    )
    assert len(h.extras["weight_norm"]) == 2 and h.extras["weight_norm"][0] > 0


def test_resume_after_early_stop_trains_no_further_and_bad_checkpoints_are_refused():
    X, Y = _regression(n=60)
    args = dict(
        epochs=200, batch_size=10, lr=0.02, seed=0, patience=4, validation_data=(X, 0.5 * Y)
    )
    saved = {}

    class Keep(Callback):
        def on_epoch_end(self, state):
            saved["ckpt"] = state.checkpoint()

    net = bp.Network([3, 10, 1], activation="tanh", output="identity", seed=0)
    h = train(net, X, Y, callbacks=[Keep()], **args)
    assert h.stopped_early
    again = bp.Network([3, 10, 1], activation="tanh", output="identity", seed=1)
    h2 = train(again, X, Y, resume=saved["ckpt"], **args)
    assert h2.epoch == h.epoch and h2.stopped_early
    for p, q in zip(again.params(), net.params()):  # both hold the best epoch's weights
        np.testing.assert_array_equal(p, q)

    other = bp.Network([3, 7, 1], activation="tanh", output="identity", seed=1)
    with pytest.raises(ConfigError, match="shape"):
        train(other, X, Y, resume=saved["ckpt"], **args)
    with pytest.raises(ConfigError, match="batch size"):
        train(again, X, Y, resume=saved["ckpt"], **{**args, "batch_size": 5})
    tensors, meta = saved["ckpt"]
    with pytest.raises(ConfigError, match="cannot resume"):
        train(again, X, Y, resume=({}, meta), **args)
    with pytest.raises(ConfigError, match="optimizer state is for 'sgd'"):
        train(again, X, Y, resume=saved["ckpt"], **{**args, "optimizer": "adam"})
    with pytest.raises(ConfigError, match="schedule state is for 'constant'"):
        train(again, X, Y, resume=saved["ckpt"], **{**args, "schedule": "step:2"})
    for p, q in zip(again.params(), net.params()):  # refused checkpoints changed nothing
        np.testing.assert_array_equal(p, q)
