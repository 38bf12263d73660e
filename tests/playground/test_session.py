"""A playground session trains with the library and reports numbers checked independently.

δ^l of one point equals ∂C/∂b^l for that point (BP3 with m = 1), so the inspector's δ is
checked against central differences of the cost in each bias, computed here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop as bp
from backprop.playground.config import BadMessage, Config
from backprop.playground.frames import frame, network_message
from backprop.playground.session import Session
from support import needs


def cfg(**change) -> Config:
    return Config(**{**Config().to_dict(), **change})


def test_default_problem_is_the_playgrounds():
    s = Session()
    assert s.net.sizes == [2, 4, 2, 1] and s.net.activations == ["tanh"] * 3
    assert len(s.F_train) == 250 and len(s.F_test) == 250
    assert set(np.unique(s.T_train)) == {-1.0, 1.0}
    for W, b in zip(s.net.W, s.net.b):  # uniform in [−0.5, 0.5], biases 0.1
        assert np.abs(W).max() <= 0.5 and np.all(b == 0.1)


def test_training_learns_the_circle():
    s = Session()
    before = frame(s)
    for _ in range(150):
        assert s.train_epoch()
    after = frame(s)
    assert s.epoch == 150
    assert after["loss_test"] < 0.05 < before["loss_test"]
    assert after["accuracy_test"] > 0.97
    conf = np.array(after["confusion"])
    assert conf.sum() == 250 and np.trace(conf) / 250 == pytest.approx(after["accuracy_test"])
    # the frame's loss is the library's cost of the same weights
    assert after["loss_train"] == pytest.approx(s.net.cost(s.F_train, s.T_train))


def test_one_epoch_is_sgd_on_the_shuffled_mini_batches():
    """Replays the epoch with Network.gradients and plain NumPy updates."""
    s = Session(cfg(batch_size=7))
    ref = s.net.copy()
    order = np.random.default_rng(s.cfg.seed).permutation(250)
    s.train_epoch()
    for start in range(0, 250, 7):
        idx = order[start : start + 7]
        g = ref.gradients(s.F_train[idx], s.T_train[idx])
        for l in ref.W.keys():
            ref.W[l] -= 0.03 * g.W[l]
            ref.b[l] -= 0.03 * g.b[l]
    for l in ref.W.keys():
        np.testing.assert_allclose(s.net.W[l], ref.W[l], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(s.net.b[l], ref.b[l], rtol=1e-10, atol=1e-12)


def test_l2_is_weight_decay_and_l1_the_playgrounds_shrink():
    s2 = Session(cfg(regularization="L2", reg_rate=0.1, batch_size=30))
    s1 = Session(cfg(regularization="L1", reg_rate=0.01, batch_size=30))
    ref2, ref1 = s2.net.copy(), s1.net.copy()
    order = np.random.default_rng(0).permutation(250)
    idx = order[:30]
    s2.step(s2.F_train, s2.T_train, idx, 0.03)
    g = ref2.gradients(s2.F_train[idx], s2.T_train[idx])
    for l in ref2.W.keys():  # W ← W − α (∂C/∂W + λ W)
        np.testing.assert_allclose(s2.net.W[l], ref2.W[l] - 0.03 * (g.W[l] + 0.1 * ref2.W[l]))
    s1.step(s1.F_train, s1.T_train, idx, 0.03)
    s1._shrink_l1(0.03 * 0.01)
    g = ref1.gradients(s1.F_train[idx], s1.T_train[idx])
    for l in ref1.W.keys():
        w = ref1.W[l] - 0.03 * g.W[l]
        shrunk = w - 0.0003 * np.sign(w)
        np.testing.assert_allclose(s1.net.W[l], np.where(w * shrunk < 0, 0.0, shrunk))
    assert s2.penalty() == pytest.approx(0.1 * sum(0.5 * (W**2).sum() for W in s2.net.W))
    f = frame(s2)
    assert f["loss_train_reg"] == pytest.approx(f["loss_train"] + s2.penalty())


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"activations": ["relu", "sigmoid"], "inputs": ["x1", "x2", "x1x2", "sinx1"]},
        {"cost": "cross-entropy", "hidden": [3], "activations": ["sigmoid"]},
        {"dataset": "multigauss", "hidden": [5, 4, 3], "activations": ["tanh"] * 3},
    ],
)
def test_inspected_delta_is_the_cost_gradient_in_the_bias(change):
    s = Session(cfg(**change))
    for _ in range(5):
        s.train_epoch()
    got = s.inspect((1.3, -2.0))
    F, T = s.point(got["split"], got["index"])
    X = (s.data.X_train if got["split"] == "train" else s.data.X_test)[got["index"]]
    assert np.hypot(*(X - [1.3, -2.0])) == pytest.approx(
        min(np.hypot(*(P - [1.3, -2.0])) for P in np.vstack([s.data.X_train, s.data.X_test]))
    )
    net, h = s.net.copy(), 1e-6
    for l, layer in enumerate(got["layers"], start=1):
        for j, d in enumerate(layer["delta"]):
            net.b[l][j, 0] += h
            up = net.cost(F, T)
            net.b[l][j, 0] -= 2 * h
            down = net.cost(F, T)
            net.b[l][j, 0] += h
            assert d == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)
        # z = W a + b with the previous layer's a, and a = σ(z)
        a_prev = np.asarray(got["x"] if l == 1 else got["layers"][l - 2]["a"])
        z = net.W[l] @ a_prev + net.b[l][:, 0]
        np.testing.assert_allclose(layer["z"], z, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer["a"], net.act[l].f(z[:, None])[:, 0], rtol=1e-12)


def test_divergence_restores_the_last_good_weights():
    s = Session(cfg(dataset="plane", hidden=[8, 8], activations=["linear"] * 2, lr=10.0))
    good = [p.copy() for p in s.net.params()]
    assert s.train_epoch() is False
    assert s.epoch == 0
    for p, g in zip(s.net.params(), good):
        np.testing.assert_array_equal(p, g)
    assert all(np.isfinite(p).all() for p in s.net.params())


def test_three_drawn_classes_train_a_softmax_network():
    rng = np.random.default_rng(0)
    centres = np.array([[-3, -3], [3, -3], [0, 3]])
    pts = np.vstack(
        [
            np.column_stack([rng.normal(c, 0.7, (40, 2)), np.full(40, k)])
            for k, c in enumerate(centres)
        ]
    )
    s = Session(cfg(cost="cross-entropy", optimizer="adam", lr=0.03))
    s.set_custom(pts)
    assert s.cfg.dataset == "custom" and s.net.sizes[-1] == 3 and s.net.activations[-1] == "softmax"
    for _ in range(60):
        s.train_epoch()
    f = frame(s)
    assert f["accuracy_test"] > 0.95 and f["heat"] is None and f["classes"] is not None
    assert np.array(f["confusion"]).shape == (3, 3)
    assert network_message(s)["kind"] == "multiclass"


def test_csv_upload_uses_the_librarys_reader_and_limits():
    from backprop.playground.worker import _points

    text = "x1,x2,label\n0,0,0\n1,1,1\n-1,2,0\n2,-1,1\n"
    np.testing.assert_array_equal(_points({"type": "csv", "text": text})[:, 2], [0, 1, 0, 1])
    with pytest.raises(bp.DataError, match="row 3"):
        _points({"type": "csv", "text": "x1,x2,label\n0,0,0\n1,oops,1\n"})
    s = Session()
    with pytest.raises(BadMessage, match="three columns"):
        s.set_custom(np.ones((4, 2)))
    with pytest.raises(BadMessage, match="rescale"):
        s.set_custom(np.array([[0, 0, 0], [10, 0, 1]]))
    assert s.cfg.dataset == "circle"  # unchanged after a refusal


def test_config_changes_rebuild_only_when_structural():
    s = Session()
    for _ in range(3):
        s.train_epoch()
    assert not s.configure(cfg(lr=0.1, batch_size=5, optimizer="momentum"))
    assert s.epoch == 3 and type(s.optimizer).__name__ == "Momentum"
    assert s.configure(cfg(lr=0.1, batch_size=5, optimizer="momentum", dataset="xor"))
    assert s.epoch == 0


def test_export_model_reads_back_and_predicts_the_same(tmp_path):
    s = Session(
        cfg(dataset="spiral", inputs=["x1", "x2", "sinx1"], hidden=[6], activations=["relu"])
    )
    for _ in range(10):
        s.train_epoch()
    path = tmp_path / "pg.safetensors"
    path.write_bytes(s.export_model())
    net = bp.load(path)
    assert net.sizes == [3, 6, 1] and net.metadata["playground"]["dataset"] == "spiral"
    np.testing.assert_array_equal(net.predict(s.F_test), s.net.predict(s.F_test))


@needs("onnxruntime", "pip install onnxruntime")
def test_export_onnx_runs_in_onnxruntime():
    import onnxruntime as ort

    s = Session()
    s.train_epoch()
    sess = ort.InferenceSession(s.export_onnx(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": s.F_test.astype(np.float32)})[0]
    np.testing.assert_allclose(got, s.net.predict(s.F_test), atol=1e-5)


def test_explain_renders_the_walkthrough_for_a_point():
    s = Session()
    s.train_epoch()
    html = s.explain_html("test", 3)
    F, T = s.point("test", 3)
    assert (
        "Backpropagation, step by step" in html and "Playground point 3 of the test split" in html
    )
    assert f'<span id="cost">{s.net.cost(F, T):.6g}</span>' in html
    with pytest.raises(BadMessage, match="points 0..249"):
        s.explain_html("test", 250)


def test_frame_is_json_with_the_heat_maps_the_page_needs():
    import base64
    import json

    s = Session()
    f = json.loads(json.dumps(frame(s), allow_nan=False))
    assert len(base64.b64decode(f["heat"])) == 100 * 100
    assert [len(layer) for layer in f["thumbs"]] == [4, 2, 1]
    assert all(len(base64.b64decode(t)) == 25 * 25 for t in f["thumbs"][0])
    assert len(f["delta_norm"]) == 3 and all(v > 0 for v in f["delta_norm"])
    # ‖δ^l‖ is the RMS over the training points of |δ^l_x|
    g = s.net.gradients(s.F_train, s.T_train)
    assert f["delta_norm"][0] == pytest.approx(math.sqrt((g.delta[1] ** 2).sum(axis=0).mean()))


def test_delta_norms_show_vanishing_gradients_with_six_sigmoid_layers():
    sig = Session(cfg(hidden=[8] * 6, activations=["sigmoid"] * 6))
    tanh = Session(cfg(hidden=[8] * 6, activations=["tanh"] * 6))
    d_sig, d_tanh = frame(sig)["delta_norm"], frame(tanh)["delta_norm"]
    # σ' ≤ 1/4: every sigmoid layer shrinks δ going back (BP2), and far faster than tanh
    assert all(a < b for a, b in zip(d_sig[:-1], d_sig[1:]))
    assert d_sig[0] / d_sig[-1] < 1e-3 and d_sig[0] / d_sig[-1] < 1e-2 * d_tanh[0] / d_tanh[-1]


def test_exported_model_is_read_by_backprop_info_evaluate_and_explain(tmp_path, capsys):
    import json

    from backprop.cli import main

    s = Session(cfg(dataset="plane"))
    for _ in range(20):
        s.train_epoch()
    model, data = tmp_path / "playground.safetensors", tmp_path / "test.csv"
    model.write_bytes(s.export_model())
    np.savetxt(data, np.column_stack([s.F_test, s.data.y_test]), delimiter=",", header="x1,x2,y")
    assert main(["info", str(model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["network"]["sizes"] == [2, 4, 2, 1] and info["network"]["output"] == "identity"
    assert main(["evaluate", str(model), "--data", str(data)]) == 0
    cost = float(capsys.readouterr().out.split("cost")[1].split()[0])  # on its own split
    assert 0 < cost < 3 * s.net.cost(s.F_test, s.T_test)
    assert main(["explain", str(model), "--data", str(data), "--split", "train"]) == 0
    assert "BP1" in capsys.readouterr().out


@pytest.mark.parametrize("dataset", ["circle", "xor", "gauss", "spiral", "plane", "multigauss"])
@pytest.mark.parametrize(
    "change",
    [
        {"hidden": [], "activations": []},
        {"hidden": [3, 5], "activations": ["relu", "linear"], "optimizer": "momentum"},
        {"hidden": [6], "activations": ["sigmoid"], "regularization": "L1", "reg_rate": 0.003},
        {"hidden": [4, 4], "activations": ["tanh"] * 2, "dropout": 0.3, "optimizer": "adam"},
        {"hidden": [2] * 8, "activations": ["relu"] * 8, "regularization": "L2", "reg_rate": 0.01},
    ],
)
def test_every_data_set_and_network_trains_and_draws(dataset, change):
    s = Session(cfg(dataset=dataset, inputs=["x1", "x2", "sinx1"], **change))
    for _ in range(3):
        assert s.train_epoch()
    f = frame(s)
    assert f["epoch"] == 3 and all(f[k] is not None for k in ("loss_train", "loss_test"))
    assert (f["accuracy_test"] is None) == (dataset in ("plane", "multigauss"))
    assert [len(t) for t in f["thumbs"]] == s.net.sizes[1:]
    assert len(s.inspect((0.5, 0.5))["layers"]) == s.net.L
