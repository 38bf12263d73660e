"""Ordinary mistakes end in one line, never a traceback (issue 17, "Tracebacks").

Odd but valid metadata saved through the public API (9 of 12 variants crashed ``info`` or
``evaluate``), edited run JSON for ``plot`` (5 of 6 crashed), checkpoints whose meta or
tensors are odd but checksum-valid (5 of 14 crashed ``--resume``), and a full or closed
standard output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop import io
from backprop.cli import main
from backprop.cli._checkpoint import checkpoints
from support import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}

METADATA = {
    "data as text": {"data": "iris v2"},
    "accuracy as text": {"metrics": {"test_accuracy": "97%"}},
    "metrics as list": {"metrics": [0.9]},
    "cost as text": {"metrics": {"test_cost": "low"}},
    "epochs as text": {"metrics": {"epochs_run": "ten", "train_seconds": "1 min"}},
    "classes as text": {"classes": "abc", "data_spec": "digits"},
    "class names as number": {"class_names": 5, "data_spec": "digits"},
    "training as text": {"training": "adam", "data_spec": "digits"},
    "data spec as number": {"data_spec": 5},
    "history as text": {"history": "x"},
    "data counts as text": {"data": {"name": "d", "n_train": "many", "fingerprint": 7}},
    "nested nulls": {"data": None, "metrics": None, "training": None, "data_spec": "digits"},
}


@pytest.mark.parametrize("case", list(METADATA))
@pytest.mark.parametrize("command", ["info", "evaluate"])
def test_odd_metadata_never_crashes_info_or_evaluate(tmp_path, capsys, case, command):
    path = tmp_path / "m.safetensors"
    bp.Network([64, 10, 10], seed=0).save(path, metadata=METADATA[case])
    rc = main([command, str(path)])
    out, err = capsys.readouterr()
    assert rc in (0, 2), err
    assert "Traceback" not in err
    if rc == 2:
        assert err.startswith("backprop: error: ") and err.count("\n") == 1, err
    else:
        assert out


@pytest.fixture(scope="module")
def run_json(tmp_path_factory) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "backprop", "train", "--epochs", "3", "--json", "--quiet"],
        env=ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _edit(doc: dict, path: list, value) -> dict:
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


RUN_EDITS = {
    "history removed": (["history"], KeyError),
    "a cost as text": (["history", "train_cost", 1], "high"),
    "a series cut short": (["history", "val_accuracy"], [0.5]),
    "history as a list": (["history"], [1, 2, 3]),
    "configuration as text": (["configuration"], "adam"),  # only the data spec is lost
    "no epochs": (["history", "epoch"], []),
    "extras as a list": (["history", "extras"], [1]),
}


@pytest.mark.parametrize("case", ["unedited", *RUN_EDITS])
def test_plot_of_an_edited_run_file(tmp_path, capsys, run_json, case):
    pytest.importorskip("matplotlib")
    doc = run_json if case == "unedited" else _edit(run_json, *RUN_EDITS[case])
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    rc = main(["plot", str(path), "--out", str(tmp_path / "plots"), "--format", "png"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if case in ("unedited", "configuration as text"):
        assert rc == 0 and (tmp_path / "plots" / "learning_curves.png").exists(), err
    else:
        assert rc == 2, err
        assert err.startswith("backprop: error: ") and err.count("\n") == 1, err
        assert "run.json" in err


def _resave(path, edit) -> None:
    tensors, meta = io.load_checkpoint(path)
    tensors, meta = edit(dict(tensors), dict(meta))
    io.save_checkpoint(path, tensors, meta)  # checksum-valid again


def _set(key, value):
    return lambda t, m: (t, {**m, key: value})


CHECKPOINT_EDITS = {
    "epoch as text": _set("epoch", "three"),
    "run config as list": _set("run", {"config": [1], "data_fingerprint": "x"}),
    "history as list": _set("history", [1, 2]),
    "rng state garbage": _set("rng", {"bit_generator": "PCG64", "state": "?"}),
    "optimizer list unknown": _set("optimizer_lists", ["zz"]),
    "optimizer counts without tensors": lambda t, m: (
        {k: v for k, v in t.items() if not k.startswith("optimizer.")},
        m,
    ),
    "weights of the wrong shape": lambda t, m: ({**t, "W1": np.zeros((3, 3))}, m),
    "weights missing": lambda t, m: ({k: v for k, v in t.items() if k != "W2"}, m),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_EDITS))
def test_odd_but_checksum_valid_checkpoint_falls_back_to_the_one_before(tmp_path, capsys, case):
    ck = tmp_path / "ck"
    base = ["train", "--layers", "8", "--quiet", "--checkpoint", str(ck)]
    assert main([*base, "--epochs", "2"]) == 0
    newest, older = checkpoints(ck)[:2]
    _resave(newest, CHECKPOINT_EDITS[case])
    capsys.readouterr()
    rc = main([*base, "--epochs", "3", "--resume"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "Traceback" not in err
    assert f"backprop: warning: skipping checkpoint: {newest}" in err
    assert f"backprop: resuming from {older} (epoch 1," in err
    assert (ck / (newest.name + ".corrupt")).exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_json_to_a_full_disk_is_one_line(tmp_path):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "backprop", "train", "--epochs", "1", "--json", "--quiet"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            timeout=120,
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "backprop: error: cannot write the output: No space left on device; free some space, "
        "or write to a file with --out\n"
    )


def test_predict_to_a_closed_stdout_is_one_line(tmp_path):
    model = tmp_path / "m.safetensors"
    bp.Network([3, 4, 2], seed=0).save(model)
    (tmp_path / "x.csv").write_text("1,2,3\n4,5,6\n")
    proc = subprocess.run(
        [sys.executable, "-m", "backprop", "predict", str(model), str(tmp_path / "x.csv")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        timeout=120,
        preexec_fn=lambda: os.close(1),  # predict >&-
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("backprop: error: cannot write the output: standard output")
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_a_label_column_of_100000_classes_is_refused_before_the_one_hot(tmp_path):
    # 26 GiB of one-hot targets before: refused from the class count, with the figure
    from types import SimpleNamespace

    from backprop.cli import train_config
    from backprop.errors import DataError

    m = 70_000
    dataset = SimpleNamespace(
        n_classes=100_000,
        X_train=np.zeros((m, 2), np.float32),
        X_val=np.zeros((10_000, 2)),
        X_test=np.zeros((20_000, 2)),
    )
    config = {"data": "ids.csv", "patience": None}
    with pytest.raises(DataError) as info:
        train_config.check_data(config, dataset, given={"output", "cost"})
    message = str(info.value)
    assert message.startswith("ids.csv: the label column has 100,000 distinct values")
    assert f"{m * 100_000 * 8:,} bytes" in message and "--label-column" in message
