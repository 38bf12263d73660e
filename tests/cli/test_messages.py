"""Issue 15's smaller messages: each as a user meets it, through ``backprop.cli.main``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main
from backprop.data import load as load_data

from .test_tables import write_table

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def iris(tmp_path_factory) -> tuple[Path, Path]:
    """iris.csv with text labels and a model trained on it (standardised by default)."""
    folder = tmp_path_factory.mktemp("iris")
    data = write_table(folder / "iris.csv", "iris", text_labels=True)
    model = folder / "iris.safetensors"
    assert main(["train", "--data", str(data), "--epochs", "100", "--out", str(model), "-q"]) == 0
    return data, model


def test_info_on_a_csv_names_what_it_is(iris, capsys) -> None:
    data, _ = iris
    assert main(["info", str(data)]) == 2
    err = capsys.readouterr().err
    assert "not a model file (it looks like CSV text, not a safetensors file)" in err
    assert "header length" not in err and len(err.strip().splitlines()) == 1


def test_predict_json_equals_the_csv(iris, capsys, tmp_path) -> None:
    _, model = iris
    rows = tmp_path / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n5.9,2.8,4.3,1.3\n")
    assert main(["predict", str(model), str(rows)]) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert main(["predict", str(model), str(rows), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["columns"] == csv_lines[0].split(",")
    assert doc["predictions"] == [line.split(",")[0] for line in csv_lines[1:]]
    assert doc["predictions"][:2] == ["setosa", "virginica"]
    outputs = np.array(doc["outputs"])
    np.testing.assert_allclose(outputs.sum(axis=1), 1.0, atol=1e-5)  # softmax probabilities
    expected = bp.load(model).predict(np.loadtxt(rows, delimiter=",", ndmin=2))
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("suffix", "check"),
    [
        (".html", lambda text: "<html" in text.lower()),
        (".md", lambda text: text.lstrip().startswith("#") and "<html" not in text.lower()),
        (".json", lambda text: isinstance(json.loads(text), dict)),
    ],
)
def test_explain_out_infers_the_format(suffix: str, check, tmp_path, capsys) -> None:
    out = tmp_path / f"step{suffix}"
    assert main(["explain", "--layers", "2,3,2", "--out", str(out)]) == 0
    assert check(out.read_text())
    assert f"({ {'.html': 'html', '.md': 'markdown', '.json': 'json'}[suffix] })" in (
        capsys.readouterr().err
    )


def test_plots_without_matplotlib_fail_before_training(iris, capsys, monkeypatch, tmp_path) -> None:
    data, _ = iris
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    argv = ["train", "--data", str(data), "--plots", str(tmp_path / "plots"), "--json"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "epoch" not in captured.err
    assert captured.err.strip().splitlines() == [
        "backprop: error: --plots needs matplotlib: pip install 'backprop-textbook[plot]' "
        "(or leave --plots out)"
    ]


def test_onnx_export_of_a_standardised_model(iris, tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from sklearn.preprocessing import StandardScaler

    data, model = iris
    out = tmp_path / "iris.onnx"
    assert main(["export", str(model), "--onnx", str(out)]) == 0
    graph = onnx.load(str(out)).graph
    ops = [node.op_type for node in graph.node]
    assert ops[:3] == ["Sub", "Div", "Gemm"]  # the standardisation as the first nodes
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    ds = load_data(str(data), seed=0)
    name = session.get_inputs()[0].name
    onnx_out = session.run(None, {name: ds.X_test.astype(np.float32)})[0]  # raw rows in
    # expected independently: scikit-learn's scaler, then the stored network in NumPy
    loaded = bp.load(model)
    scaler = StandardScaler().fit(ds.X_train.astype(np.float64))
    a = scaler.transform(ds.X_test)
    for l in (1, 2):
        z = a @ loaded.network.W[l].T.astype(np.float64) + loaded.network.b[l].ravel()
        a = np.maximum(z, 0) if l == 1 else np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(onnx_out, a, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(onnx_out, loaded.predict(ds.X_test), rtol=1e-4, atol=1e-6)
    accuracy = float((onnx_out.argmax(axis=1) == ds.y_test).mean())
    assert accuracy == pytest.approx(loaded.metadata["metrics"]["test_accuracy"])


def test_explain_says_the_row_was_standardised(iris, capsys) -> None:
    data, model = iris
    assert main(["explain", str(model), "--data", str(data), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    ds = load_data(str(data), seed=0)
    loaded = bp.load(model)
    source = doc["source"]
    assert "standardised with the model's stored mean μ and scale s" in source
    raw = ", ".join(f"{v:.6g}" for v in ds.X_test[0].astype(np.float64))
    assert f"x_raw = {raw}." in source
    # the explanation is of the network's actual input: the standardised row
    x = np.array(doc["x"], dtype=np.float64).ravel()
    np.testing.assert_allclose(x, loaded.standardizer.transform(ds.X_test[:1]).ravel(), rtol=1e-6)


def test_model_keeps_an_absolute_data_path(tmp_path, capsys, monkeypatch) -> None:
    train_dir, other = tmp_path / "train", tmp_path / "elsewhere"
    train_dir.mkdir()
    other.mkdir()
    write_table(train_dir / "iris.csv", "iris")
    monkeypatch.chdir(train_dir)
    argv = ["train", "--data", "iris.csv", "--epochs", "20", "--out", "m.safetensors", "-q"]
    assert main(argv) == 0
    meta = bp.load(train_dir / "m.safetensors").metadata
    assert meta["data_spec"] == str(train_dir / "iris.csv")
    assert meta["data_spec_relative"] == "iris.csv"
    monkeypatch.chdir(other)  # evaluate from another folder finds the data
    assert main(["evaluate", str(train_dir / "m.safetensors"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["accuracy"] == pytest.approx(meta["metrics"]["test_accuracy"])
    (train_dir / "iris.csv").rename(train_dir / "moved.csv")
    assert main(["evaluate", str(train_dir / "m.safetensors")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"backprop: error: the model's training data '{train_dir / 'iris.csv'}' was not found; "
        "pass --data"
    )


def test_a_run_at_chance_level_exits_1(capsys) -> None:
    assert main(["train", "--lr", "1000", "--epochs", "3", "--json"]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    ds = load_data("digits")
    majority = np.bincount(ds.y_train).max() / len(ds.y_train)
    assert result["train_accuracy"] <= majority + 0.02  # the note is right: nothing learned
    assert "the run ended at chance level" in captured.err and "--lr (now 1000)" in captured.err
    assert main(["train", "--epochs", "3", "-q"]) == 0  # a run that learned is not flagged


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("train", ["--activation", "--dropout", "--patience", "--preset", "--l2", "--epochs"]),
        ("explain", ["--format"]),
    ],
)
def test_help_shows_defaults(command: str, flags: list[str], capsys) -> None:
    assert main([command, "--help"]) == 0
    entries: dict[str, str] = {}
    current = None
    for line in capsys.readouterr().out.splitlines():
        stripped = line.strip()
        if line.startswith("  -") and stripped.startswith("-"):
            current = stripped.split()[0].rstrip(",")
            entries[current] = stripped
        elif current and line.startswith("    ") and stripped:
            entries[current] += " " + stripped
        else:
            current = None
    for flag in flags:
        assert "default" in entries[flag], (flag, entries[flag])


def test_diagnostics_respect_the_preset_and_the_data_range() -> None:
    from backprop import presets
    from backprop.cli.train_tables import consistent_warnings

    rose = "training cost rose from 0.1 (epoch 1) to 0.2 (epoch 3): the learning rate 3 is "
    rose += "probably too high; try about 1"
    saturated = "3 of 30 hidden units in layer 1 are saturated: scale the weights down "
    saturated += "(--init scaled-normal) or the inputs to [0, 1]"
    book = presets.get("nielsen-ch1")
    assert book.config["lr"] == 3.0
    pixels = {"input_stats": {"min": 0.0, "max": 1.0}, "standardize": False}
    # the book's η = 3 is the preset's own setting; MNIST pixels are already in [0, 1]
    assert consistent_warnings([rose, saturated], pixels, book, lr_given=False) == [
        "3 of 30 hidden units in layer 1 are saturated: scale the weights down "
        "(--init scaled-normal)"
    ]
    raw = {"input_stats": {"min": 0.0, "max": 255.0}, "standardize": False}
    # --lr given on top of the preset, inputs 0-255: both notes stand as written
    assert consistent_warnings([rose, saturated], raw, book, lr_given=True) == [rose, saturated]
    assert consistent_warnings([rose], raw, None, lr_given=False) == [rose]


@pytest.mark.parametrize(
    "command",
    ["train", "evaluate", "predict", "info", "gradcheck", "explain", "export", "plot"],
)
def test_every_command_has_an_example(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "example" in text and f"backprop {command} " in text.split("example", 1)[1]
