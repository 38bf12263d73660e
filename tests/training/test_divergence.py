"""Divergence through the CLI (issue 5, item 4): NaN cost → exit 1, last good weights saved.

The learning rate doubles every epoch (``exponential:2``), so epochs 1–4 train
and the cost becomes NaN in epoch 5. The saved model must be finite and equal,
bit for bit, to a separate run of the same settings stopped after 4 epochs.
"""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

from backprop.cli import main

ARGS = [
    "--layers", "16", "--activation", "relu", "--output", "identity", "--cost", "quadratic",
    "--optimizer", "sgd", "--lr", "0.1", "--schedule", "exponential:2", "--batch-size", "10",
    "--quiet",
]  # fmt: skip


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 20)).astype(np.float32)
    y = (X @ rng.normal(size=(20, 4))).argmax(axis=1)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    return tmp_path / "d.npz"


def test_divergence_exits_1_and_saves_the_last_good_epoch(npz, tmp_path, capsys):
    out, ck = tmp_path / "diverged.safetensors", tmp_path / "ck"
    rc = main(["train", "--data", str(npz), *ARGS, "--epochs", "8", "--out", str(out),
               "--checkpoint", str(ck)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("backprop: error: training diverged: the cost became nan in epoch 5")
    assert "kept the weights from the end of epoch 4" in err
    assert "lower learning rate, e.g. lr=0.16" in err  # α of epoch 5 was 0.1 · 2⁴ = 1.6
    assert err.rstrip().endswith(f"the last good weights were saved to {out}")

    good = tmp_path / "four-epochs.safetensors"
    assert main(["train", "--data", str(npz), *ARGS, "--epochs", "4", "--out", str(good)]) == 0
    saved, expected = load_file(str(out)), load_file(str(good))
    # an NPZ table is standardised by default: the statistics are saved beside the weights
    standardize = {"standardize.mean", "standardize.scale"}
    assert saved.keys() == expected.keys() == {"W1", "b1", "W2", "b2"} | standardize
    for name in saved:
        assert np.isfinite(saved[name]).all()
        assert saved[name].tobytes() == expected[name].tobytes(), name
    # the newest checkpoint is the last good epoch, not the NaN state
    from backprop.cli._checkpoint import checkpoints

    assert checkpoints(ck)[0].name == "ckpt-e0004-b000042.safetensors"


def test_divergence_stops_within_the_epoch_and_resumes_to_the_same_weights(npz, tmp_path, capsys):
    """The NaN epoch ends early; resuming a killed diverging run keeps the same last good weights.

    With checkpoints every 5 mini-batches, the newest ones are inside epoch 5 and
    hold NaN weights: only the epoch's starting weights stored with them let the
    resumed run fall back to the same weights as the run that was never stopped.
    """
    from backprop.cli._checkpoint import checkpoints

    ck = tmp_path / "ck"
    args = ["train", "--data", str(npz), *ARGS, "--epochs", "8", "--checkpoint", str(ck),
            "--checkpoint-every", "5"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "first.safetensors")]) == 1
    newest = checkpoints(ck)[0].name
    epoch, batch = int(newest[6:10]), int(newest[12:18])
    assert epoch == 5 and batch < 42 - 5  # stopped well before the epoch's 42nd mini-batch
    capsys.readouterr()
    assert main([*args, "--resume", "--out", str(tmp_path / "resumed.safetensors")]) == 1
    err = capsys.readouterr().err
    assert f"resuming from {ck / newest} (epoch 5, batch {batch})" in err
    assert "kept the weights from the end of epoch 4" in err
    first = load_file(str(tmp_path / "first.safetensors"))
    resumed = load_file(str(tmp_path / "resumed.safetensors"))
    assert all(np.isfinite(resumed[k]).all() for k in resumed)
    assert all(first[k].tobytes() == resumed[k].tobytes() for k in first)
