"""``backprop train`` on real tables: the task, text labels, pandas' index, scaling.

The tables are scikit-learn's, written as CSV with a header as a user would have
them. Reported numbers are checked against scikit-learn's metrics on the saved
model's predictions, and the stored standardisation against scikit-learn's
StandardScaler and a forward pass of the stored tensors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main
from backprop.data import load as load_data

datasets = pytest.importorskip("sklearn.datasets")
metrics = pytest.importorskip("sklearn.metrics")


def write_table(path: Path, name: str, *, text_labels: bool = False, index: bool = False) -> Path:
    """scikit-learn's ``name`` table as CSV with a header (the target last)."""
    if name == "diabetes":
        bunch = datasets.load_diabetes(scaled=False)
    else:
        bunch = getattr(datasets, f"load_{name}")()
    cols = [c.replace(" ", "_") for c in bunch.feature_names]
    lines = [",".join(([""] if index else []) + cols + ["target"])]
    for i, (x, y) in enumerate(zip(bunch.data, bunch.target)):
        label = bunch.target_names[y] if text_labels else (float(y) if name == "diabetes" else y)
        cells = ([str(i)] if index else []) + [repr(float(v)) for v in x] + [str(label)]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(capsys, argv: list[str]) -> tuple[int, dict, str]:
    rc = main([*argv, "--json"])
    out = capsys.readouterr()
    return rc, json.loads(out.out.strip().splitlines()[-1]), out.err


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tables")
    for name in ("iris", "wine", "diabetes"):
        write_table(folder / f"{name}.csv", name)
    write_table(folder / "iris_text.csv", "iris", text_labels=True, index=True)
    return folder


def test_whole_number_target_with_many_values_is_regression(tables, capsys, tmp_path) -> None:
    model = tmp_path / "d.safetensors"
    argv = ["train", "--data", str(tables / "diabetes.csv"), "--epochs", "20", "--out", str(model)]
    rc, result, err = run(capsys, argv)
    assert rc == 0
    assert "task: regression (the target has 214 distinct values in 442 rows" in err
    assert result["configuration"]["task"] == "regression"
    assert result["network"]["sizes"][-1] == 1
    # the reported metrics are those of the saved model's predictions on the raw test rows
    net = bp.load(model)
    ds = load_data(str(tables / "diabetes.csv"), seed=0)
    y = ds.classes[ds.y_test].astype(np.float64)
    pred = net.predict(ds.X_test).astype(np.float64).reshape(-1)
    assert result["test_r2"] == pytest.approx(metrics.r2_score(y, pred), abs=1e-4)
    assert result["test_mae"] == pytest.approx(metrics.mean_absolute_error(y, pred), rel=1e-4)
    rmse = np.sqrt(metrics.mean_squared_error(y, pred))
    assert result["test_rmse"] == pytest.approx(rmse, rel=1e-4)
    for split in ("train", "val"):
        assert {f"{split}_rmse", f"{split}_mae", f"{split}_r2"} <= set(result)
    assert result["test_accuracy"] is None
    # evaluate reads the model's task back
    assert main(["evaluate", str(model), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["r2"] == pytest.approx(result["test_r2"], abs=1e-6)


def test_task_flag_overrides_auto(tables, capsys) -> None:
    spec = str(tables / "diabetes.csv")
    rc, result, err = run(capsys, ["train", "--data", spec, "--epochs", "1", "--task",
                                   "classification", "--layers", "4"])  # fmt: skip
    assert rc in (0, 1) and result["data"]["n_classes"] == 214
    rc, result, err = run(capsys, ["train", "--data", str(tables / "iris.csv"), "--epochs", "2",
                                   "--task", "regression"])  # fmt: skip
    assert result["data"]["n_classes"] is None and result["test_r2"] is not None
    assert "task: regression (--task regression)" in err


def test_text_labels_and_pandas_index(tables, capsys, tmp_path) -> None:
    model = tmp_path / "iris.safetensors"
    spec = str(tables / "iris_text.csv")
    rc, result, err = run(capsys, ["train", "--data", spec, "--epochs", "150", "--out", str(model)])
    assert rc == 0
    assert "the first column has no name and counts the rows (a pandas index); dropped it" in err
    assert result["data"]["n_features"] == 4 and result["data"]["n_classes"] == 3
    assert result["test_accuracy"] >= 0.9
    rows = tmp_path / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n")
    assert main(["predict", str(model), str(rows)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction,p_setosa,p_versicolor,p_virginica"
    assert [line.split(",")[0] for line in lines[1:]] == ["setosa", "virginica"]


def test_decimal_comma_file_gets_a_hint(tmp_path, capsys) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b;label\n5,1;3,5;0\n4,9;3,0;1\n")
    assert main(["train", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "';'-separated with decimal commas" in err and "Traceback" not in err


def test_standardize_is_stored_in_the_saved_model(tables, capsys, tmp_path) -> None:
    from safetensors.numpy import load_file
    from sklearn.preprocessing import StandardScaler

    model = tmp_path / "wine.safetensors"
    spec = str(tables / "wine.csv")
    rc, result, err = run(capsys, ["train", "--data", spec, "--epochs", "40", "--out", str(model)])
    assert "standardize: on (a table)" in err
    ds = load_data(spec, seed=0)
    scaler = StandardScaler().fit(ds.X_train.astype(np.float64))  # the training split's
    loaded = bp.load(model)
    assert isinstance(loaded, bp.Model) and not loaded.standardizer.target  # classes
    np.testing.assert_allclose(loaded.standardizer.mean, scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(loaded.standardizer.scale, scaler.scale_, rtol=1e-12)
    # the file holds the network as trained, on standardised rows: a forward pass in NumPy
    # of the stored tensors on scikit-learn's standardised test rows gives the reported
    # accuracy, and the raw rows give the same through the model
    t = load_file(str(model))
    a = np.maximum(scaler.transform(ds.X_test) @ t["W1"].T + t["b1"], 0)  # ReLU
    z = a @ t["W2"].T + t["b2"]
    acc = float((z.argmax(1) == ds.y_test).mean())
    assert acc == pytest.approx(result["test_accuracy"]) and acc > 0.9
    assert float((loaded.predict(ds.X_test).argmax(1) == ds.y_test).mean()) == acc
    np.testing.assert_allclose(t["standardize.mean"], scaler.mean_, rtol=1e-12)
    assert main(["info", str(model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(info["standardize"]["scale"], scaler.scale_, rtol=1e-12)
    assert main(["info", str(model)]) == 0
    assert "standardised, (x − mean) / scale, with 13 stored means/scales" in (
        capsys.readouterr().out
    )
    # without standardisation the same run is measurably worse on wine's raw columns
    rc, plain, err = run(capsys, ["train", "--data", spec, "--epochs", "40", "--no-standardize"])
    assert plain["configuration"]["standardize"] is False
    assert plain["test_accuracy"] < result["test_accuracy"]


def test_regression_target_is_stored_and_un_scaled(tables, capsys, tmp_path) -> None:
    from sklearn.preprocessing import StandardScaler

    model = tmp_path / "d.safetensors"
    spec = str(tables / "diabetes.csv")
    rc, result, _ = run(capsys, ["train", "--data", spec, "--epochs", "30", "--out", str(model)])
    loaded = bp.load(model)
    ds = load_data(spec, seed=0)
    y_train = ds.classes[ds.y_train].astype(np.float64).reshape(-1, 1)
    y_scaler = StandardScaler().fit(y_train)
    np.testing.assert_allclose(loaded.standardizer.y_mean, y_scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(loaded.standardizer.y_scale, y_scaler.scale_, rtol=1e-12)
    # predict writes the target in its own units: the network's output on the rows
    # standardised by scikit-learn, un-scaled by scikit-learn
    x_scaler = StandardScaler().fit(ds.X_train.astype(np.float64))
    net = loaded.network
    expected = y_scaler.inverse_transform(net.predict(x_scaler.transform(ds.X_test)))
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, ds.X_test, delimiter=",", fmt="%.9g")
    assert main(["predict", str(model), str(rows)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "y_0"
    np.testing.assert_allclose([float(v) for v in lines[1:]], expected.ravel(), rtol=1e-5)
    assert 50 < float(np.mean([float(v) for v in lines[1:]])) < 300  # diabetes' units
    # evaluate: R² of those numbers, and the cost of the network on the standardised target
    assert main(["evaluate", str(model), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    y_test = ds.classes[ds.y_test].astype(np.float64)
    assert evaluated["r2"] == pytest.approx(metrics.r2_score(y_test, expected.ravel()), abs=1e-5)
    z = y_scaler.transform(y_test.reshape(-1, 1))
    half_mse = 0.5 * np.mean((net.predict(x_scaler.transform(ds.X_test)) - z) ** 2)
    assert evaluated["cost"] == pytest.approx(half_mse, rel=1e-4)
    assert result["test_cost"] == pytest.approx(evaluated["cost"], rel=1e-6)


def test_far_inputs_are_reported(tables, capsys, tmp_path) -> None:
    model = tmp_path / "iris.safetensors"
    run(capsys, ["train", "--data", str(tables / "iris.csv"), "--epochs", "5", "--out", str(model)])
    rows = tmp_path / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2\n5.1,3.5,140,0.2\n")
    assert main(["predict", str(model), str(rows)]) == 0
    err = capsys.readouterr().err
    assert "row 2, column 3 is" in err and "standard deviations" in err
    rows.write_text("5.1,3.5,1.4,0.2\n")
    main(["predict", str(model), str(rows)])
    assert "standard deviations" not in capsys.readouterr().err
    # an image model trained on [0, 1] given 0-255 pixels
    digits = tmp_path / "digits.safetensors"
    run(capsys, ["train", "--epochs", "1", "--out", str(digits)])
    assert type(bp.load(digits)) is bp.Network  # images: no standardisation stored
    pixels = tmp_path / "pixels.csv"
    pixels.write_text(",".join(["255"] * 64) + "\n")
    assert main(["predict", str(digits), str(pixels)]) == 0
    assert "trained on [0, 1]" in capsys.readouterr().err
