"""``backprop export``, run in-process: files written, outputs checked by onnxruntime and torch."""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")


@pytest.fixture
def model(tmp_path):
    net = bp.Network([8, 6, 3], activation="tanh", output="softmax", cost="cross-entropy", seed=4)
    path = tmp_path / "net.safetensors"
    bp.save(net, path)
    return net, path


def test_export_onnx_and_torch(model, tmp_path, capsys):
    net, path = model
    onnx_path, torch_path = tmp_path / "net.onnx", tmp_path / "net.pt"
    assert main(["export", str(path), "--onnx", str(onnx_path), "--torch", str(torch_path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {onnx_path}" in out and f"wrote {torch_path}" in out
    X = np.random.default_rng(0).random((1000, 8), dtype=np.float32)
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"input": X})[0], net.predict(X), atol=1e-5)
    state = torch.load(torch_path, weights_only=True)
    np.testing.assert_array_equal(state["0.weight"].numpy(), net.W[1])
    np.testing.assert_array_equal(state["2.bias"].numpy(), net.b[2].ravel())


def test_export_opset(model, tmp_path):
    _, path = model
    out = tmp_path / "net.onnx"
    assert main(["export", str(path), "--onnx", str(out), "--opset", "13"]) == 0
    assert onnx.load(out).opset_import[0].version == 13


def one_line_error(capsys, match):
    err = capsys.readouterr().err
    assert err.startswith("backprop: error: ") and err.count("\n") == 1, err
    assert match in err, err


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ([], "nothing to export"),
        (["--opset", "13", "--torch", "{tmp}/a.pt"], "--opset applies to --onnx only"),
        (["--onnx", "{tmp}/a.onnx", "--opset", "5"], "opset must be an integer"),
        (["--onnx", "{tmp}/missing/a.onnx"], "does not exist"),
        (["--onnx", "{tmp}/same", "--torch", "{tmp}/same"], "same file"),
    ],
)
def test_export_errors(model, tmp_path, capsys, args, match):
    _, path = model
    before = sorted(p.name for p in tmp_path.iterdir())
    argv = ["export", str(path), *[a.format(tmp=tmp_path) for a in args]]
    assert main(argv) == 2
    one_line_error(capsys, match)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_export_missing_model(tmp_path, capsys):
    out = tmp_path / "a.onnx"
    assert main(["export", str(tmp_path / "nope.safetensors"), "--onnx", str(out)]) == 2
    one_line_error(capsys, "nope.safetensors")
    assert not out.exists()


@pytest.mark.parametrize(("flag", "package"), [("--onnx", "onnx"), ("--torch", "torch")])
def test_export_without_optional_package(model, tmp_path, capsys, monkeypatch, flag, package):
    import sys

    _, path = model
    monkeypatch.setitem(sys.modules, package, None)  # import now raises ImportError
    out = tmp_path / "out.bin"
    assert main(["export", str(path), flag, str(out)]) == 2
    one_line_error(capsys, f"pip install 'backprop-textbook[{package}]'")
    assert not out.exists()
