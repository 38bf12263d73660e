"""The ``backprop`` command in-process: train, evaluate, predict, info, gradcheck.

Reported numbers are checked against an independent computation: the saved
weights are read back and pushed through a forward pass written here in plain
NumPy (σ(Wa + b) layer by layer), and the accuracy of that is compared with
what the command printed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop.cli import arguments, main, progress
from backprop.cli import train as cli_train
from backprop.data import load as load_data
from support import MNIST as SHARED_MNIST

pytest.importorskip("sklearn")  # the built-in digits ship with scikit-learn

REPO = Path(__file__).resolve().parents[2]


# -- helpers -------------------------------------------------------------------


def run_json(capsys, argv):
    """Run ``main(argv)`` and return (exit code, the one JSON object on stdout, stderr)."""
    rc = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must hold exactly one JSON line, got {captured.out!r}"
    return rc, json.loads(lines[0]), captured.err


def forward(path, X):
    """a^L for raw X (m, n_0) from the tensors of a saved model, by hand: the stored
    standardisation x = (x_raw − μ) / s when the file has one, then a^l = σ(W^l a^{l-1} + b^l)."""
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    doc = json.loads(_metadata(path)["backprop"])
    a = np.asarray(X, dtype=np.float64)
    if doc.get("standardize"):
        a = (a - tensors["standardize.mean"]) / tensors["standardize.scale"]
    a = a.T
    for l, name in enumerate(doc["activations"], start=1):
        z = tensors[f"W{l}"].astype(np.float64) @ a + tensors[f"b{l}"].astype(np.float64)[:, None]
        if name == "relu":
            a = np.maximum(z, 0)
        elif name == "sigmoid":
            a = 1 / (1 + np.exp(-z))
        elif name == "softmax":
            e = np.exp(z - z.max(axis=0))
            a = e / e.sum(axis=0)
        else:
            raise AssertionError(f"forward() here does not know {name}")
    if (doc.get("standardize") or {}).get("target"):
        return a.T * tensors["standardize.y_scale"] + tensors["standardize.y_mean"]
    return a.T


def _metadata(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return f.metadata()


def one_line_error(err: str, match: str) -> None:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.endswith("\n"), f"want one line on stderr, got {err!r}"
    assert match in err, err


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """``backprop train --out`` with the defaults on the digits, shared by several tests."""
    out = tmp_path_factory.mktemp("run") / "digits.safetensors"
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["train", "--json", "--out", str(out)])
    assert rc == 0, stderr.getvalue()
    return out, json.loads(stdout.getvalue()), stderr.getvalue()


# -- train ---------------------------------------------------------------------


def test_default_train_reaches_95_percent_on_digits(digits_run):
    path, result, _ = digits_run
    ds = load_data("digits", seed=0)
    # independently: the saved weights, a hand-written forward pass, the test split
    predicted = forward(path, ds.X_test).argmax(axis=1)
    accuracy = float((predicted == ds.y_test).mean())
    assert accuracy >= 0.95
    assert result["test_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert result["network"]["sizes"] == [64, 100, 10]
    assert result["configuration"]["optimizer"] == "adam"


def test_default_train_over_seeds_clears_95_percent(capsys):
    for seed in (1, 2, 3):
        rc, result, _ = run_json(capsys, ["train", "--json", "--quiet", "--seed", str(seed)])
        assert rc == 0 and result["test_accuracy"] >= 0.95, (seed, result["test_accuracy"])


def test_train_json_shape(digits_run):
    _, result, err = digits_run
    for key in ("configuration", "history", "test_accuracy", "test_cost", "train_seconds"):
        assert key in result
    h = result["history"]
    epochs = result["configuration"]["epochs"]
    assert h["epoch"] == list(range(1, epochs + 1))
    for series in ("train_cost", "train_accuracy", "val_accuracy", "test_accuracy", "lr"):
        assert len(h[series]) == epochs and all(v is not None for v in h[series])
    assert result["train_seconds"] > 0
    assert result["data"]["n_test"] == 359 and result["data"]["n_features"] == 64
    # progress went to stderr, one plain line per epoch (stderr is not a terminal here)
    assert sum(line.startswith("epoch ") for line in err.splitlines()) == epochs


def test_train_table_and_quiet(capsys):
    assert main(["train", "--epochs", "3"]) == 0
    captured = capsys.readouterr()
    assert "split" in captured.out and "test" in captured.out and "3 epochs in" in captured.out
    assert [line[:10] for line in captured.err.splitlines() if line.startswith("epoch")] == [
        "epoch 1/3 ",
        "epoch 2/3 ",
        "epoch 3/3 ",
    ]
    assert main(["train", "--epochs", "3", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_model_metadata_holds_config_fingerprint_metrics_history(digits_run):
    path, result, _ = digits_run
    net = bp.load(path)
    meta = net.metadata
    assert meta["training"]["lr"] == 0.001 and meta["training"]["batch_size"] == 32
    assert meta["data"]["fingerprint"] == load_data("digits").fingerprint
    assert meta["metrics"]["test_accuracy"] == result["test_accuracy"]
    history = bp.History.from_dict(meta["history"])
    assert history.test_accuracy == result["history"]["test_accuracy"]


def test_layers_may_omit_input_and_output(capsys):
    rc, result, _ = run_json(
        capsys, ["train", "--json", "-q", "--layers", "20,15", "--epochs", "1"]
    )
    assert rc == 0 and result["network"]["sizes"] == [64, 20, 15, 10]
    rc, result, _ = run_json(
        capsys, ["train", "--json", "-q", "--layers", "64,7,10", "--epochs", "1"]
    )
    assert rc == 0 and result["network"]["sizes"] == [64, 7, 10]


def test_resolve_sizes():
    assert arguments.resolve_sizes([30], 784, 10) == [784, 30, 10]
    assert arguments.resolve_sizes([784, 30, 10], 784, 10) == [784, 30, 10]
    assert arguments.resolve_sizes([256, 128], 784, 10) == [784, 256, 128, 10]
    assert arguments.resolve_sizes(None, 4, 3) == [4, 3]
    with pytest.raises(bp.ConfigError, match="784 but the data has 64 features"):
        arguments.resolve_sizes([784, 30, 10], 64, 10)
    with pytest.raises(bp.ConfigError, match="output layer of 5 but the data needs 10"):
        arguments.resolve_sizes([64, 30, 5], 64, 10)


def test_preset_flags_override_preset_values():
    args = cli_train_args(["--preset", "nielsen-ch3", "--epochs", "2", "--lr", "0.5"])
    config, preset = cli_train.resolve_config(args)
    assert preset.name == "nielsen-ch3"
    assert (config["epochs"], config["lr"], config["l2"], config["batch_size"]) == (2, 0.5, 5.0, 10)
    assert config["init"] == "scaled-normal" and config["cost"] == "cross-entropy"


def cli_train_args(argv):
    from backprop.cli import build_parser

    return build_parser().parse_args(["train", *argv])


def test_preset_prints_the_book_figure(capsys, tmp_path):
    # nielsen-ch1's settings with the data swapped for the digits (64 inputs)
    rc = main(["train", "--preset", "nielsen-ch1", "--data", "digits", "--layers", "30",
               "--epochs", "2", "-q"])  # fmt: skip
    assert rc == 0
    rc = main(["train", "--preset", "nielsen-ch1", "--data", "digits", "--layers", "30",
               "--epochs", "2"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "nielsen-ch1: test accuracy" in out and "95.42 percent" in out
    assert "target ≥ 94.0% final test accuracy" in out


def test_csv_data_with_label_column(tmp_path, capsys):
    # two well separated blobs, label in the first column
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    X = rng.normal(size=(300, 3)) + 4.0 * y[:, None]
    path = tmp_path / "blobs.csv"
    np.savetxt(path, np.column_stack([y, X]), delimiter=",", header="label,a,b,c", comments="")
    argv = ["train", "--data", str(path), "--label-column", "0", "--layers", "8", "--lr", "0.01"]
    argv += ["--json", "-q"]
    rc, result, _ = run_json(capsys, argv)
    assert rc == 0 and result["network"]["sizes"] == [3, 8, 2]
    assert result["test_accuracy"] >= 0.97


# -- failures: one line, exit code, no file ------------------------------------

BAD_TRAIN = [
    (["--activation", "swish"], "unknown activation 'swish'"),
    (["--output", "softplus"], "unknown activation 'softplus'"),
    (["--cost", "hinge"], "unknown cost 'hinge'"),
    (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'; choose one of: adam, momentum"),
    (["--init", "zeros"], "unknown initialiser 'zeros'"),
    (["--preset", "nielsen-ch9"], "unknown preset 'nielsen-ch9'; choose one of: modern"),
    (["--schedule", "cosine"], "unknown schedule 'cosine'"),
    (["--dtype", "float16"], "dtype must be one of float32, float64"),
    (["--lr", "0"], "--lr must be positive"),
    (["--lr", "-0.1"], "--lr must be positive"),
    (["--lr", "nan"], "--lr must be positive"),
    (["--lr", "inf"], "--lr must be positive"),
    (["--batch-size", "0"], "--batch-size must be a positive whole number"),
    (["--epochs", "0"], "--epochs must be a positive whole number"),
    (["--epochs", "-3"], "--epochs must be a positive whole number"),
    (["--dropout", "1"], "--dropout is a probability"),
    (["--l2", "-1"], "--l2 must be ≥ 0"),
    (["--patience", "0"], "--patience must be at least 1"),
    (["--layers", "784,30,10"], "input layer of 784 but the data has 64 features"),
    (["--layers", "64,30,3"], "output layer of 3 but the data needs 10 outputs"),
    (["--layers", "30,x"], "comma-separated layer widths"),
    (["--cost", "cross-entropy", "--output", "relu"], "cross-entropy cost needs a sigmoid"),
    (["--data", "{tmp}/missing.csv"], "missing.csv"),
    (["--data", "mnist:{tmp}/nowhere"], "nowhere"),
    (["--data", "table.xlsx"], "unknown data 'table.xlsx'"),
    (["--validation-fraction", "1.5"], "--validation-fraction must lie in [0, 1)"),
    (["--lr", "abc"], "invalid float value: 'abc'"),
    (["--epochs", "2.5"], "invalid int value: '2.5'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
]


@pytest.mark.parametrize(("args", "match"), BAD_TRAIN, ids=[" ".join(a) for a, _ in BAD_TRAIN])
def test_train_bad_input(args, match, tmp_path, capsys):
    out = tmp_path / "model.safetensors"
    argv = ["train", *[a.replace("{tmp}", str(tmp_path)) for a in args], "--out", str(out)]
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 2
    one_line_error(captured.err, match.replace("{tmp}", str(tmp_path)))
    assert captured.out == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_train_out_in_missing_directory(tmp_path, capsys):
    out = tmp_path / "no" / "model.safetensors"
    assert main(["train", "--out", str(out)]) == 2
    one_line_error(capsys.readouterr().err, "does not exist; create it first")
    assert not (tmp_path / "no").exists()


def test_patience_without_validation_data(capsys):
    rc = main(["train", "--validation-fraction", "0", "--patience", "3"])
    assert rc == 2
    one_line_error(capsys.readouterr().err, "--patience needs validation data")


def test_existing_out_file_untouched_on_error(tmp_path, capsys):
    out = tmp_path / "model.safetensors"
    out.write_bytes(b"precious")
    assert main(["train", "--lr", "-1", "--out", str(out)]) == 2
    assert out.read_bytes() == b"precious"


# -- divergence and Ctrl-C ------------------------------------------------------


def test_divergence_exits_1_and_saves_last_good_weights(tmp_path, capsys):
    out = tmp_path / "model.safetensors"
    argv = ["train", "--optimizer", "sgd", "--lr", "1e30", "--epochs", "5", "--out", str(out)]
    rc = main(argv)
    captured = capsys.readouterr()
    assert rc == 1
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("backprop: error: training diverged") and "lower learning rate" in last
    assert "saved to" in last
    net = bp.load(out)  # the last good weights: finite, and loadable
    assert all(np.isfinite(W).all() for W in net.W)
    assert net.metadata["metrics"]["diverged"]


def test_ctrl_c_stops_after_the_current_batch(tmp_path, capsys, monkeypatch):
    """SIGINT during training: the batch finishes, nothing is saved, exit 130, one line."""
    sent = []

    def on_batch_end(self, state):
        if state.epoch == 2 and state.batch == 5 and not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag

    monkeypatch.setattr(progress.Progress, "on_batch_end", on_batch_end)
    out = tmp_path / "model.safetensors"
    rc = main(["train", "--epochs", "50", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 130
    # the signal came after batch 5 had been checked, so batch 6 (the current one) finished
    assert captured.err.splitlines()[-1] == (
        "backprop: interrupted at epoch 2, batch 6; model not saved"
    )
    assert sum(line.startswith("epoch ") for line in captured.err.splitlines()) == 1
    assert not out.exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


@pytest.mark.timeout(120)
def test_ctrl_c_in_a_real_process():
    """A real SIGINT to a running `backprop train` ends it with 130 and one line."""
    import queue
    import threading

    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop.cli", "train", "--epochs", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True)
    reader.start()
    err = []
    try:
        while True:  # wait until the second epoch has finished: training is under way
            line = lines.get(timeout=60)
            err.append(line)
            if line.split()[:2] == ["epoch", "2/3000"]:
                break
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    while not lines.empty():
        err.append(lines.get())
    text = "".join(err)
    assert proc.returncode == 130, text[-500:]
    tail = text.strip().splitlines()[-1]
    assert tail.startswith("backprop: interrupted at epoch") and "Traceback" not in text


# -- progress ---------------------------------------------------------------
# The callback's own tests are in tests/training/test_progress.py; the command under a
# real terminal in tests/cli/test_progress_pty.py.


def test_the_cli_progress_is_the_library_s():
    import backprop.training.progress

    assert progress.Progress is backprop.training.progress.Progress is bp.Progress


# -- evaluate, predict, info ----------------------------------------------------


def test_evaluate(digits_run, capsys):
    path, result, _ = digits_run
    rc, ev, _ = run_json(capsys, ["evaluate", str(path), "--data", "digits", "--json"])
    assert rc == 0
    ds = load_data("digits", seed=0)
    predicted = forward(path, ds.X_test).argmax(axis=1)
    C = np.asarray(ev["confusion_matrix"])
    assert C.shape == (10, 10) and C.sum() == len(ds.y_test)
    for i in range(10):  # row i counts the true i's by predicted class, independently
        np.testing.assert_array_equal(C[i], np.bincount(predicted[ds.y_test == i], minlength=10))
    assert ev["accuracy"] == pytest.approx(np.trace(C) / C.sum(), abs=1e-12)
    assert ev["accuracy"] == result["test_accuracy"] and ev["same_data_as_training"] is True
    assert main(["evaluate", str(path)]) == 0  # --data defaults to the training data
    out = capsys.readouterr().out
    assert "accuracy" in out and "confusion matrix" in out and f"{100 * ev['accuracy']:.2f}%" in out


def test_evaluate_errors(digits_run, tmp_path, capsys):
    path, _, _ = digits_run
    assert main(["evaluate", str(tmp_path / "none.safetensors"), "--data", "digits"]) == 2
    one_line_error(capsys.readouterr().err, "no such file")
    npz = tmp_path / "other.npz"
    np.savez(npz, X=np.zeros((20, 5)), y=np.arange(20) % 10)
    assert main(["evaluate", str(path), "--data", str(npz)]) == 2
    one_line_error(capsys.readouterr().err, "takes 64 features but")


def test_predict_csv_and_npz(digits_run, tmp_path, capsys):
    path, _, _ = digits_run
    X = load_data("digits").X_test[:25]
    a_L = forward(path, X)
    csv_in, npz_in, out = tmp_path / "x.csv", tmp_path / "x.npz", tmp_path / "pred.csv"
    np.savetxt(csv_in, X, delimiter=",", fmt="%.9g")
    np.savez(npz_in, X=X)
    assert main(["predict", str(path), str(csv_in), "--out", str(out)]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "prediction," + ",".join(f"p_{k}" for k in range(10))
    table = np.array([[float(v) for v in row.split(",")] for row in rows[1:]])
    assert table.shape == (25, 11)
    np.testing.assert_array_equal(table[:, 0], a_L.argmax(axis=1))
    np.testing.assert_allclose(table[:, 1:], a_L, atol=1e-5)
    capsys.readouterr()
    assert main(["predict", str(path), str(npz_in)]) == 0  # to stdout
    assert capsys.readouterr().out == out.read_text()


def test_predict_wrong_feature_count(digits_run, tmp_path, capsys):
    path, _, _ = digits_run
    bad, out = tmp_path / "x.csv", tmp_path / "pred.csv"
    np.savetxt(bad, np.zeros((3, 65)), delimiter=",")
    assert main(["predict", str(path), str(bad), "--out", str(out)]) == 2
    one_line_error(capsys.readouterr().err, "65 features per row but the model expects 64")
    assert not out.exists()


def test_info(digits_run, capsys):
    path, result, _ = digits_run
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    # [64, 100, 10]: W1 100×64 + b1 100 = 6,500; W2 10×100 + b2 10 = 1,010; 7,510 in all
    assert "7,510 parameters" in out
    assert "100×64" in out and "6,500" in out and "10×100" in out and "1,010" in out
    assert "relu" in out and "softmax" in out and "cross-entropy" in out
    assert f"{100 * result['test_accuracy']:.2f}%" in out
    rc, info, _ = run_json(capsys, ["info", str(path), "--json"])
    assert rc == 0 and [row["params"] for row in info["layers"]] == [0, 6500, 1010]


def test_info_rejects_a_non_model(tmp_path, capsys):
    path = tmp_path / "not.safetensors"
    path.write_bytes(b"hello, world")
    assert main(["info", str(path)]) == 2
    one_line_error(capsys.readouterr().err, "not.safetensors")


# -- gradcheck ----------------------------------------------------------------


def test_gradcheck_passes(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    for name in ("W1", "b1", "W2", "b2"):
        assert name in out
    assert "passed" in out


def test_gradcheck_json_deep_softmax(capsys):
    argv = ["gradcheck", "--layers", "5,8,8,3", "--activation", "tanh", "--output", "softmax",
            "--cost", "cross-entropy", "--batch", "4", "--json"]  # fmt: skip
    rc, result, _ = run_json(capsys, argv)
    assert rc == 0 and result["passed"] is True
    assert sorted(result["errors"]) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert max(result["errors"].values()) < 1e-7


def test_gradcheck_failure_exits_1(capsys):
    assert main(["gradcheck", "--tol", "1e-30"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out
    one_line_error(captured.err, "gradient check failed")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--layers", "3"], "lists every layer"),
        (["--activation", "nope"], "unknown activation 'nope'"),
        (["--batch", "0"], "--batch must be a positive"),
    ],
)
def test_gradcheck_bad_input(args, match, capsys):
    assert main(["gradcheck", *args]) == 2
    one_line_error(capsys.readouterr().err, match)


def test_train_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plots = tmp_path / "plots"
    rc, result, _ = run_json(capsys, ["train", "--epochs", "3", "--plots", str(plots), "--json"])
    assert rc == 0 and result["plots"] == str(plots)
    names = {p.name for p in plots.iterdir()}
    assert {"learning_curves.png", "confusion_matrix.png"} <= names
    assert (plots / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the gradient monitor recorded per-layer series for the plots
    assert any(key.startswith("delta_norm") or "_1" in key for key in result["history"]["extras"])


def test_regression_csv_defaults_to_identity_output(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X @ np.array([1.0, -2.0, 0.5])  # a linear target: an identity output can fit it
    path = tmp_path / "reg.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="")
    argv = ["train", "--data", str(path), "--layers", "16", "--lr", "0.01", "--epochs", "60"]
    rc, result, _ = run_json(capsys, [*argv, "--json", "-q"])
    assert rc == 0
    assert result["network"]["output"] == "identity" and result["network"]["cost"] == "quadratic"
    assert result["test_accuracy"] is None
    # C = ½·mean squared error; the target's variance is 1 + 4 + 0.25 = 5.25, so C ≈ 2.6 untrained
    assert result["test_cost"] < 0.05


# -- follow-ups: --download, --label-column NAME, --test-fraction, late Ctrl-C ----------

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture
def mnist_server(tmp_path):
    """A threaded HTTP server on 127.0.0.1 serving copies of the real MNIST .gz files;
    yields (url, list of the paths requested)."""
    import functools
    import http.server
    import shutil
    import threading

    if not all((SHARED_MNIST / f).is_file() for f in MNIST_FILES):
        pytest.skip(f"real MNIST not in {SHARED_MNIST}")
    root = tmp_path / "www" / "mnist"
    root.mkdir(parents=True)
    for name in MNIST_FILES:
        shutil.copy(SHARED_MNIST / name, root / name)
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(root.parent))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/mnist/", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_download_flag_for_train_and_evaluate(mnist_server, tmp_path, capsys):
    url, requests = mnist_server
    target = tmp_path / "cache" / "mnist"
    # without --download the error names the flag that fixes it
    assert main(["train", "--data", f"mnist:{target}", "--epochs", "1"]) == 2
    one_line_error(capsys.readouterr().err, "(CLI: --download)")
    model = tmp_path / "m.safetensors"
    argv = ["train", "--data", f"mnist:{target}", "--download", "--data-url", url]
    argv += ["--layers", "10", "--epochs", "1", "--out", str(model), "--json", "-q"]
    rc, result, _ = run_json(capsys, argv)
    assert rc == 0
    assert sorted(requests) == sorted(f"/mnist/{name}" for name in MNIST_FILES)
    for name in MNIST_FILES:  # byte for byte the served files
        assert (target / name).read_bytes() == (SHARED_MNIST / name).read_bytes()
    d = result["data"]
    assert (d["n_train"], d["n_val"], d["n_test"]) == (50_000, 10_000, 10_000)
    assert result["test_accuracy"] > 0.8  # a trained [784,10,10] net, not chance (0.1)
    # evaluate downloads into another directory the same way and sees the same data
    other = tmp_path / "other"
    argv = ["evaluate", str(model), "--data", f"mnist:{other}", "--download", "--data-url", url]
    rc, ev, _ = run_json(capsys, [*argv, "--json"])
    assert rc == 0 and len(requests) == 8
    assert ev["same_data_as_training"] is True and ev["accuracy"] == result["test_accuracy"]
    # files already there: nothing is fetched again
    rc, _, _ = run_json(capsys, [*argv, "--json"])
    assert rc == 0 and len(requests) == 8


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--download"], "--download applies to mnist and fashion-mnist only, not 'digits'"),
        (["--data-url", "http://127.0.0.1:9/"], "--data-url is where --download fetches"),
        (["--data", "mnist:{tmp}", "--test-fraction", "0.2"], "mnist always tests on its own"),
        (["--test-fraction", "1"], "--test-fraction must lie in [0, 1), got 1.0"),
        (["--test-fraction", "0.6", "--validation-fraction", "0.5"], "leave none for training"),
    ],
)
def test_data_flag_errors(args, match, tmp_path, capsys):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["train", *args, "--epochs", "1"]) == 2
    one_line_error(capsys.readouterr().err, match)


def test_label_column_by_header_name(tmp_path, capsys):
    """The label in the middle column of a CSV with a header, chosen by name, by
    index and by negative index: the same data, split and model each time."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 3)) + 4.0 * y[:, None]
    path = tmp_path / "mid.csv"
    table = np.column_stack([X[:, 0], 10 * y + 5, X[:, 1:]])  # labels 5, 15, 25
    np.savetxt(path, table, delimiter=",", header="a,species,b,c", comments="", fmt="%.6g")
    results = {}
    for column in ("species", "1", "-3"):
        out = tmp_path / f"m{column}.safetensors"
        argv = ["train", "--data", str(path), "--label-column", column, "--layers", "8"]
        argv += ["--lr", "0.01", "--out", str(out), "--json", "-q"]
        rc, result, _ = run_json(capsys, argv)
        assert rc == 0 and result["network"]["sizes"] == [3, 8, 3]
        results[column] = (result, out)
    result, out = results["species"]
    assert result["configuration"]["label_column"] == "species"
    assert results["1"][0]["configuration"]["label_column"] == 1  # numeric text: an index
    assert result["test_accuracy"] >= 0.97
    for column in ("1", "-3"):
        assert results[column][0]["test_accuracy"] == result["test_accuracy"]
        same = bp.load(results[column][1]).network.W[1], bp.load(out).network.W[1]
        np.testing.assert_array_equal(*same)
    # the features are a, b, c (the label column left out): check by hand on the test split
    ds = load_data(str(path), label_column=1, seed=0)
    classes = np.array([5, 15, 25])
    np.testing.assert_array_equal(ds.classes, classes)
    predicted = forward(out, ds.X_test).argmax(axis=1)
    assert np.mean(predicted == ds.y_test) == pytest.approx(result["test_accuracy"], abs=1e-12)
    # evaluate finds the column by the name saved in the model
    rc, ev, _ = run_json(capsys, ["evaluate", str(out), "--json"])
    assert rc == 0 and ev["accuracy"] == result["test_accuracy"]
    assert ev["n_examples"] == len(ds.y_test)
    assert main(["train", "--data", str(path), "--label-column", "genus"]) == 2
    one_line_error(capsys.readouterr().err, "no column named 'genus'; columns: a, species, b, c")


def test_test_fraction_and_evaluate_rebuilds_the_split(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    argv = ["train", "--test-fraction", "0.5", "--epochs", "3", "--out", str(out), "--json"]
    rc, result, _ = run_json(capsys, [*argv, "-q"])
    assert rc == 0
    n = 1797  # the digits
    d = result["data"]
    assert d["n_test"] == round(0.5 * n) and d["n_train"] + d["n_val"] + d["n_test"] == n
    assert result["configuration"]["test_fraction"] == 0.5
    # evaluate draws the same 50 % test split from the model's metadata
    rc, ev, _ = run_json(capsys, ["evaluate", str(out), "--json"])
    assert rc == 0 and ev["n_examples"] == round(0.5 * n)
    assert ev["accuracy"] == result["test_accuracy"]
    ds = load_data("digits", test_fraction=0.5, seed=0)
    predicted = forward(out, ds.X_test).argmax(axis=1)
    assert np.mean(predicted == ds.y_test) == pytest.approx(ev["accuracy"], abs=1e-12)
    # and on an NPZ: a 30 % test split, rebuilt by evaluate
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    npz = tmp_path / "d.npz"
    np.savez(npz, X=rng.normal(size=(200, 4)) + 3.0 * y[:, None], y=y)
    argv = ["train", "--data", str(npz), "--test-fraction", "0.3", "--layers", "4"]
    rc, result, _ = run_json(capsys, [*argv, "--epochs", "5", "--out", str(out), "--json", "-q"])
    assert rc == 0 and result["data"]["n_test"] == 60
    rc, ev, _ = run_json(capsys, ["evaluate", str(out), "--json"])
    assert rc == 0 and ev["n_examples"] == 60 and ev["accuracy"] == result["test_accuracy"]


def _reference_weights(tmp_path, capsys, epochs):
    ref = tmp_path / "ref.safetensors"
    assert main(["train", "--epochs", str(epochs), "--out", str(ref), "-q"]) == 0
    capsys.readouterr()
    return bp.load(ref)


def test_ctrl_c_during_the_last_batch_saves_the_finished_model(tmp_path, capsys, monkeypatch):
    """SIGINT after the last mini-batch: training had finished, so the model is saved
    and reported as usual, and the command says so and exits 130."""
    ref = _reference_weights(tmp_path, capsys, 3)

    def on_batch_end(self, state):
        if state.epoch == state.epochs and state.batch == state.n_batches:
            os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag

    monkeypatch.setattr(progress.Progress, "on_batch_end", on_batch_end)
    out = tmp_path / "model.safetensors"
    rc = main(["train", "--epochs", "3", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 130
    assert captured.err.splitlines()[-1] == (
        "backprop: interrupted after the last mini-batch; training had finished, "
        f"model saved to {out}"
    )
    assert "epoch 0, batch 0" not in captured.err and "model saved to" in captured.out
    net = bp.load(out)
    for P, P_ref in zip(net.params(), ref.params(), strict=True):
        np.testing.assert_array_equal(P, P_ref)  # the same model as an uninterrupted run
    assert net.metadata["metrics"] == ref.metadata["metrics"] | {
        "train_seconds": net.metadata["metrics"]["train_seconds"]
    }
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("where", ["train", "report"])
def test_ctrl_c_during_the_final_evaluation(where, tmp_path, capsys, monkeypatch):
    """KeyboardInterrupt from the evaluation after the last mini-batch (inside training,
    or in the final report): the trained weights are saved, without final metrics."""
    from backprop import training

    ref = _reference_weights(tmp_path, capsys, 3)
    done = []

    def on_batch_end(self, state):
        if state.epoch == state.epochs and state.batch == state.n_batches:
            done.append(True)

    evaluate_in_train = training.loop.evaluate_dataset

    def interrupted(*args, **kwargs):
        if done:
            raise KeyboardInterrupt
        return evaluate_in_train(*args, **kwargs)

    monkeypatch.setattr(progress.Progress, "on_batch_end", on_batch_end)
    if where == "train":
        monkeypatch.setattr(training.loop, "evaluate_dataset", interrupted)
    else:
        monkeypatch.setattr(training, "evaluate", interrupted)
    out = tmp_path / "model.safetensors"
    rc = main(["train", "--epochs", "3", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 130 and captured.out == ""
    assert captured.err.splitlines()[-1] == (
        "backprop: interrupted after the last mini-batch, during the final evaluation; "
        f"the trained model was saved to {out} without its final metrics"
    )
    net = bp.load(out)
    for P, P_ref in zip(net.params(), ref.params(), strict=True):
        np.testing.assert_array_equal(P, P_ref)
    meta = net.metadata
    assert meta["metrics"]["test_accuracy"] is None and "final evaluation" in meta["interrupted"]
    # the epochs whose evaluation finished are in the history
    assert meta["history"]["epoch"] == ([1, 2] if where == "train" else [1, 2, 3])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # without --out: nothing saved, and the message says so
    done.clear()
    assert main(["train", "--epochs", "3"]) == 130  # not --quiet: the Progress hook runs
    assert capsys.readouterr().err.endswith("nothing saved (no --out)\n")
