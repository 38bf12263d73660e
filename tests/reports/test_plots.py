"""Plots: every file produced and non-empty, and one figure's data checked against
values computed independently of the library (not its pixels)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop import plots
from backprop.diagnostics import GradientMonitor
from backprop.training import Callback, History

pytest.importorskip("matplotlib")


def quadratic_cost_by_hand(W, b, X, Y, n_classes):
    """C = (1/n) Σ_x ½‖a^L − t‖² with a plain loop of matrix products (sigmoid net)."""
    total = 0.0
    for x, y in zip(X, Y):
        a = x.astype(np.float64)
        for Wl, bl in zip(W, b):
            a = 1.0 / (1.0 + np.exp(-(Wl @ a + bl[:, 0])))
        t = np.zeros(n_classes)
        t[y] = 1.0
        total += 0.5 * float(((a - t) ** 2).sum())
    return total / len(X)


class CostByHand(Callback):
    def __init__(self, X, Y):
        self.X, self.Y, self.costs = X, Y, []

    def on_epoch_end(self, state):
        net = state.net
        self.costs.append(
            quadratic_cost_by_hand(list(net.W), list(net.b), self.X, self.Y, net.sizes[-1])
        )


@pytest.fixture(scope="module")
def run():
    """A small sigmoid network trained on synthetic 4×4 'images' of 3 classes."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)
    X = rng.uniform(0, 0.3, (240, 16)).astype(np.float32)
    X[np.arange(240), y * 5] += 0.7  # one bright pixel per class
    hand = CostByHand(X, y)
    net = bp.Network([16, 8, 3], seed=0)
    history = bp.train(
        net,
        X,
        y,
        epochs=4,
        batch_size=10,
        lr=2.0,
        seed=0,
        validation_data=(X[:60], y[:60]),
        callbacks=[GradientMonitor(X, y), hand],
        train_metrics="full",  # the after-epoch cost, which CostByHand computes
    )

    class DS:
        name = "toy"
        X_train, y_train, X_val, y_val = X, y, X[:60], y[:60]
        X_test, y_test = X[180:], y[180:]
        n_classes, classes, class_names = 3, np.arange(3), ("a", "b", "c")
        image_shape = (4, 4)

    return net, history, DS(), hand.costs


def test_learning_curve_data_equals_costs_computed_by_hand(run):
    _, history, _, costs = run
    fig = plots.learning_curves_figure(history)
    ax_cost = fig.axes[0]
    lines = {line.get_gid(): line for line in ax_cost.lines if line.get_gid()}
    np.testing.assert_array_equal(lines["train_cost"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(lines["train_cost"].get_ydata(), costs, rtol=1e-5)
    assert "val_cost" in lines
    acc = {line.get_gid(): line for line in fig.axes[1].lines}
    assert np.all(np.asarray(acc["train_accuracy"].get_ydata()) <= 100)


def test_confusion_counts_by_hand():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(plots.confusion(y_true, y_pred, 3), expected)
    fig = plots.confusion_matrix_figure(y_true, y_pred, ["a", "b", "c"])
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), expected)
    assert "66.67%" in fig.axes[0].get_title()


def test_gradient_norm_and_saturation_figures_plot_the_history(run):
    _, history, _, _ = run
    fig = plots.gradient_norms_figure(history)
    lines = {line.get_gid(): line for line in fig.axes[0].lines}
    np.testing.assert_allclose(lines["delta_norm_1"].get_ydata(), history.extras["delta_norm_1"])
    assert fig.axes[0].get_yscale() == "log"
    fig = plots.saturation_figure(history)
    (line,) = fig.axes[0].lines
    np.testing.assert_allclose(line.get_ydata(), 100 * np.array(history.extras["saturation_1"]))


def test_weights_figure_shows_rows_of_W1_as_images(run):
    net = run[0]
    fig = plots.weights_figure(net.W[1], (4, 4))
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(images) == 8
    np.testing.assert_array_equal(images[3], net.W[1][3].reshape(4, 4))
    with pytest.raises(bp.ConfigError, match="image"):
        plots.weights_figure(net.W[1], (5, 5))


def test_write_all_writes_every_figure_in_png_and_svg(run, tmp_path):
    net, history, ds, _ = run
    paths = plots.write_all(tmp_path, history, net=net, dataset=ds)
    names = {p.name for p in paths}
    for stem in ("learning_curves", "gradient_norms", "saturation", "confusion_matrix", "weights"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    for p in paths:
        data = p.read_bytes()
        assert len(data) > 2000, p
        if p.suffix == ".png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            assert b"<svg" in data[:1000]
    assert sorted(tmp_path.iterdir()) == sorted(paths)  # no temporary files left behind


def test_write_all_needs_only_a_history(tmp_path):
    h = History(
        epoch=[1, 2],
        train_cost=[0.5, 0.4],
        train_accuracy=[None, None],
        val_cost=[None, None],
        val_accuracy=[None, None],
        test_cost=[None, None],
        test_accuracy=[None, None],
        lr=[0.1, 0.1],
        seconds=[0.1, 0.1],
    )
    paths = plots.write_all(tmp_path, h, formats=("png",))
    assert [p.name for p in paths] == ["learning_curves.png"]
    with pytest.raises(bp.ConfigError):
        plots.write_all(tmp_path / "missing", h)
    with pytest.raises(bp.ConfigError):
        plots.write_all(tmp_path, h, formats=("jpg",))


def _plot_cli(*argv):
    from backprop.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["plot", *argv])
    return code, out.getvalue(), err.getvalue()


def test_plot_cli_from_a_model_file_and_from_a_json_run(run, tmp_path):
    from backprop import io as bpio

    net, history, _, _ = run
    model = tmp_path / "m.safetensors"
    bpio.save(net, model, metadata={"history": history.to_dict()})
    code, out, err = _plot_cli(str(model), "--out", str(tmp_path / "a"))
    assert code == 0, err
    written = [Path(p) for p in out.split()]
    assert {p.name for p in written} >= {"learning_curves.png", "gradient_norms.svg"}
    assert all(p.stat().st_size > 0 for p in written)

    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps({"command": "train", "history": history.to_dict()}))
    code, out, err = _plot_cli(str(run_json), "--out", str(tmp_path / "b"), "--format", "svg")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "gradient_norms.svg",
        "learning_curves.svg",
        "saturation.svg",
    ]

    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    for argv in ([str(empty)], [str(tmp_path / "none.json")], [str(run_json), "--format", "gif"]):
        code, _, err = _plot_cli(*argv, "--out", str(tmp_path / "c"))
        assert code == 2 and err.count("\n") == 1
    assert not (tmp_path / "c").exists()
