"""Checkpoints and exact resume of ``backprop train`` (issue 5, items 1, 2 and 5).

The kill test runs the real command, ``python -m backprop train … --checkpoint DIR
--resume``, SIGKILLs it at seeded random moments (during start-up, training,
checkpoint writes and the final save), restarts it with ``--resume`` until it
finishes, and requires the final model's tensors to be bit-identical to those of
a run that was never interrupted. ``BACKPROP_KILLS=200`` raises the number of kills.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from backprop.cli import main
from backprop.cli._checkpoint import KEEP, checkpoints
from backprop.io import load_checkpoint

POSIX = os.name == "posix"
KILLS = int(os.environ.get("BACKPROP_KILLS", "24"))
REPO = Path(__file__).resolve().parents[2]

#: three runs that exercise different parts of the training state
CONFIGS = {
    # Adam moments, dropout masks from the generator, checkpoints every 3 mini-batches
    "adam-dropout": [
        "--layers", "24", "--optimizer", "adam", "--lr", "0.01", "--dropout", "0.2",
        "--batch-size", "8", "--epochs", "12",
    ],
    # Nesterov velocity, L2, a step schedule, early stopping on validation accuracy
    "nesterov-l2-patience": [
        "--layers", "16,12", "--activation", "tanh", "--optimizer", "nesterov", "--lr", "0.05",
        "--l2", "0.5", "--schedule", "step:3:0.5", "--patience", "4", "--batch-size", "10",
        "--epochs", "14", "--dtype", "float64",
    ],
    # plain SGD, sigmoid/quadratic (the book's network), epoch-end checkpoints only
    "sgd-epochs": [
        "--layers", "20", "--activation", "sigmoid", "--output", "sigmoid", "--cost",
        "quadratic", "--optimizer", "sgd", "--lr", "1.0", "--batch-size", "5", "--epochs", "15",
    ],
}  # fmt: skip
#: --checkpoint-every N of each run (mini-batches); None: epoch ends only
EVERY = {"adam-dropout": 3, "nesterov-l2-patience": 4, "sgd-epochs": None}


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    """A small 4-class problem (600 rows, 20 features) as an NPZ file."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 20)).astype(np.float32)
    y = (X @ rng.normal(size=(20, 4))).argmax(axis=1)
    path = tmp_path_factory.mktemp("data") / "four.npz"
    np.savez(path, X=X, y=y)
    return path


def _args(npz, name, out, ckpt=None, resume=False, extra=()):
    args = ["train", "--data", str(npz), *CONFIGS[name], "--out", str(out), *extra]
    if ckpt is not None:
        args += ["--checkpoint", str(ckpt)]
        if EVERY[name]:
            args += ["--checkpoint-every", str(EVERY[name])]
    if resume:
        args.append("--resume")
    return args


def _tensors(path) -> dict[str, bytes]:
    return {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in load_file(str(path)).items()}


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _reference_process(npz, name, tmp_path) -> dict:
    """The uninterrupted run's tensors, from a process like the killed ones."""
    out = tmp_path / f"reference-process-{name}.safetensors"
    cmd = [sys.executable, "-m", "backprop", *_args(npz, name, out), "--quiet"]
    subprocess.run(cmd, env=_env(), check=True, timeout=300)
    return _tensors(out)


def _reference(npz, name, tmp_path) -> dict:
    """The uninterrupted run's tensors (in-process, no checkpoints)."""
    out = tmp_path / f"reference-{name}.safetensors"
    assert main([*_args(npz, name, out), "--quiet"]) == 0
    return _tensors(out)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a)


# -- SIGKILL at random moments, resume until done -------------------------------------------


def _strays(*dirs) -> set[str]:
    """The temporary files that killed writes left in ``dirs``."""
    return {
        p.name for d in dirs if Path(d).exists() for p in Path(d).iterdir() if p.suffix == ".tmp"
    }


def _started(stderr: str) -> bool:
    """True once the run has said where it starts: training is under way."""
    return "backprop: resuming from" in stderr or "starting from the beginning" in stderr


def _kill_chain(npz, name, tmp_path, rng, n_kills) -> dict:
    """Start, SIGKILL and resume ``n_kills`` times, then let it finish; tally the kills."""
    work = tmp_path / f"{name}-{rng.integers(1 << 30)}"
    work.mkdir()
    ckpt, out = work / "ckpt", work / "model.safetensors"
    cmd = [sys.executable, "-m", "backprop", *_args(npz, name, out, ckpt, resume=True)]
    env = _env()
    tally = {"kills": 0, "startup": 0, "training": 0, "final": 0}
    tally.update(mid_checkpoint_write=0, mid_model_write=0)
    tally.update(fresh_starts=0, resumes=0, runs=0)
    seen: set[str] = set()
    epochs = CONFIGS[name][CONFIGS[name].index("--epochs") + 1]
    for attempt in range(n_kills + 20):
        log = work / f"stderr-{attempt}.txt"
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        tally["runs"] += 1
        # where to aim: start-up (before the header line), training, or the final save
        target = rng.choice(["startup", "training", "training", "final"])
        deadline = time.monotonic() + 60
        if tally["kills"] >= n_kills:  # enough: let this one finish
            proc.wait(timeout=120)
        elif target == "startup":
            time.sleep(rng.uniform(0.0, 0.4))
        else:
            final = f"epoch {epochs}/{epochs}"
            while proc.poll() is None and not (
                final in log.read_text() if target == "final" else _started(log.read_text())
            ):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.4) if target == "training" else rng.uniform(0, 0.05))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            tally["kills"] += 1
            text = log.read_text()
            phase = (
                "final" if f"epoch {epochs}/{epochs}" in text
                else "training" if _started(text)
                else "startup"
            )  # fmt: skip
            tally[phase] += 1
            # a temporary file left behind: this kill interrupted a checkpoint or model write
            new = _strays(ckpt, work) - seen
            tally["mid_checkpoint_write"] += any(n.startswith(".ckpt-") for n in new)
            tally["mid_model_write"] += any(n.startswith(".model.") for n in new)
            seen |= new
        else:
            assert proc.returncode == 0, log.read_text()
        text = log.read_text()
        tally["fresh_starts"] += "starting from the beginning" in text
        tally["resumes"] += "backprop: resuming from" in text
        assert "Traceback" not in text, text
        if proc.returncode == 0:
            break
    assert proc.returncode == 0
    assert len(checkpoints(ckpt)) <= KEEP, sorted(os.listdir(ckpt))
    assert not _strays(ckpt)  # a resumed run removes the temporaries of killed writes
    tally["tensors"] = _tensors(out)
    return tally


@pytest.mark.skipif(not POSIX, reason="needs SIGKILL")
@pytest.mark.timeout(600)
def test_sigkill_at_random_moments_then_resume_is_bit_identical(npz, tmp_path):
    rng = np.random.default_rng(20261129)
    per_chain = -(-KILLS // len(CONFIGS))
    totals: dict[str, int] = {}
    for name in CONFIGS:
        reference, kills = _reference_process(npz, name, tmp_path), 0
        assert _same(reference, _reference(npz, name, tmp_path))  # in-process: the same
        while kills < per_chain:  # a chain that finished early is followed by another
            tally = _kill_chain(npz, name, tmp_path, rng, per_chain - kills)
            assert _same(tally.pop("tensors"), reference), name
            assert tally["resumes"] + tally["fresh_starts"] == tally["runs"] - tally["startup"]
            kills += tally["kills"]
            totals["chains"] = totals.get("chains", 0) + 1
            for k, v in tally.items():
                totals[k] = totals.get(k, 0) + v
    print(f"\nkill/resume: {totals}")
    assert totals["kills"] >= KILLS
    assert totals["training"] >= 1 and totals["resumes"] >= totals["kills"] // 2


# -- resume semantics, in-process ---------------------------------------------------------


def test_resume_without_a_checkpoint_starts_from_the_beginning(npz, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    rc = main([*_args(npz, "sgd-epochs", out, tmp_path / "ck", resume=True), "--quiet"])
    assert rc == 0
    err = capsys.readouterr().err
    assert f"backprop: no complete checkpoint in {tmp_path / 'ck'}; starting from" in err
    assert _same(_tensors(out), _reference(npz, "sgd-epochs", tmp_path))
    names = [p.name for p in checkpoints(tmp_path / "ck")]
    assert names == ["ckpt-e0015-b000084.safetensors", "ckpt-e0014-b000084.safetensors"]


def test_checkpoint_holds_the_whole_state_and_the_configuration(npz, tmp_path, capsys):
    ck = tmp_path / "ck"
    assert main([*_args(npz, "adam-dropout", tmp_path / "m.st", ck), "--quiet"]) == 0
    newest = checkpoints(ck)[0]
    tensors, meta = load_checkpoint(newest)
    assert {"W1", "b1", "W2", "b2"} <= tensors.keys()
    assert any(k.startswith("optimizer.") for k in tensors)  # Adam's m and v
    assert meta["epoch"] == 12 and meta["batch"] == 53 and meta["optimizer"]["t"] == 12 * 53
    assert meta["rng"]["bit_generator"] == "PCG64" and len(meta["history"]["epoch"]) == 12
    config = meta["run"]["config"]
    assert config["lr"] == 0.01 and config["dropout"] == 0.2 and config["sizes"] == [20, 24, 4]
    assert len(meta["run"]["data_fingerprint"]) == 64
    # a complete run is not redone: resuming it only writes the same model again
    out2 = tmp_path / "again.st"
    assert main([*_args(npz, "adam-dropout", out2, ck, resume=True), "--quiet"]) == 0
    assert _same(_tensors(out2), _tensors(tmp_path / "m.st"))


def test_training_longer_continues_exactly(npz, tmp_path, capsys):
    """--resume with a larger --epochs continues the run: the same as training longer at once."""
    ck, out = tmp_path / "ck", tmp_path / "m.safetensors"
    assert main([*_args(npz, "adam-dropout", out, ck), "--epochs", "5", "--quiet"]) == 0
    assert main([*_args(npz, "adam-dropout", out, ck, resume=True), "--quiet"]) == 0
    assert _same(_tensors(out), _reference(npz, "adam-dropout", tmp_path))


def test_a_corrupted_newest_checkpoint_is_skipped_for_the_previous_one(npz, tmp_path, capsys):
    ck, out = tmp_path / "ck", tmp_path / "m.safetensors"
    assert main([*_args(npz, "adam-dropout", out, ck), "--epochs", "5", "--quiet"]) == 0
    newest, previous = checkpoints(ck)
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0x10  # one bit of the tensor data: the checksum no longer matches
    newest.write_bytes(bytes(data))
    capsys.readouterr()
    assert main([*_args(npz, "adam-dropout", out, ck, resume=True), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("backprop: warning: skipping checkpoint: cannot load checkpoint")
    assert "checksum mismatch" in err[0] and err[0].endswith(f"renamed it to {newest.name}.corrupt")
    assert err[1] == f"backprop: resuming from {previous} (epoch 5, batch 51)"
    assert (ck / f"{newest.name}.corrupt").exists()
    assert _same(_tensors(out), _reference(npz, "adam-dropout", tmp_path))


@pytest.mark.parametrize(
    "change, named",
    [
        (["--lr", "0.02"], "--lr 0.01 there, 0.02 now"),
        (["--layers", "25"], "--layers 20,24,4 there, 20,25,4 now"),
        (["--seed", "3"], "--seed 0 there, 3 now"),
        (["--batch-size", "9"], "--batch-size 8 there, 9 now"),
        (["--epochs", "2"], "is at epoch 5 but --epochs is 2; give --epochs 5 or more"),
    ],
)
def test_resume_with_other_settings_is_refused(npz, tmp_path, capsys, change, named):
    ck, out = tmp_path / "ck", tmp_path / "m.safetensors"
    assert main([*_args(npz, "adam-dropout", out, ck), "--epochs", "5", "--quiet"]) == 0
    before = (out.read_bytes(), out.stat().st_mtime_ns, sorted(os.listdir(ck)))
    capsys.readouterr()
    argv = [*_args(npz, "adam-dropout", out, ck, resume=True), "--epochs", "5", *change]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("backprop: error: ") and named in err
    assert "Traceback" not in err
    assert (out.read_bytes(), out.stat().st_mtime_ns, sorted(os.listdir(ck))) == before


def test_resume_with_other_data_is_refused(npz, tmp_path, capsys):
    ck, out = tmp_path / "ck", tmp_path / "m.safetensors"
    assert main([*_args(npz, "sgd-epochs", out, ck), "--epochs", "2", "--quiet"]) == 0
    with np.load(npz) as f:
        X, y = f["X"].copy(), f["y"]
    X[0, 0] += 1
    other = tmp_path / "four.npz"  # same name, one number changed
    np.savez(other, X=X, y=y)
    capsys.readouterr()
    assert main([*_args(other, "sgd-epochs", out, ck, resume=True), "--quiet"]) == 2
    assert "the data differ" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume"], "--resume needs --checkpoint DIR"),
        (["--checkpoint-every", "5"], "--checkpoint-every needs --checkpoint DIR"),
        (["--checkpoint", "{file}"], "is a file; give a directory"),
        (["--checkpoint", "{missing}/ck"], "does not exist; create it first"),
        (["--checkpoint", "{full}"], "already holds checkpoints of a run; add --resume"),
    ],
)
def test_checkpoint_flag_errors(npz, tmp_path, capsys, argv, message):
    (tmp_path / "file").write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "ckpt-e0001-b000000.safetensors").write_bytes(b"")
    paths = {"file": tmp_path / "file", "missing": tmp_path / "missing", "full": full}
    argv = [a.format(**paths) for a in argv]
    rc = main(["train", "--data", str(npz), "--epochs", "1", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1, err


def test_checkpoint_every_must_be_positive(capsys):
    assert main(["train", "--checkpoint", "x", "--checkpoint-every", "0"]) == 2
    assert "needs a positive number of mini-batches" in capsys.readouterr().err


# -- Ctrl-C ------------------------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="needs SIGINT")
@pytest.mark.timeout(120)
def test_ctrl_c_stops_after_the_batch_writes_a_checkpoint_and_exits_130(npz, tmp_path):
    """A real SIGINT: one line, exit 130, a checkpoint at the stop; --resume finishes exactly."""
    ck, out = tmp_path / "ck", tmp_path / "m.safetensors"
    args = _args(npz, "adam-dropout", out, ck, extra=["--epochs", "400"])
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backprop", *args], stderr=err, stdout=subprocess.PIPE, env=env
        )
    deadline = time.monotonic() + 60
    while "epoch   2/400" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    lines = log.read_text().splitlines()
    last = lines[-1]
    assert last.startswith("backprop: interrupted at epoch ") and "Traceback" not in log.read_text()
    epoch, batch = (int(s) for s in last.split("at epoch ")[1].split("; ")[0].split(", batch "))
    saved = ck / f"ckpt-e{epoch:04d}-b{batch:06d}.safetensors"
    assert last.endswith(f"checkpoint saved to {saved}; add --resume to continue")
    assert checkpoints(ck)[0] == saved and not out.exists()
    assert 1 <= batch <= 53 and epoch < 400
    # resuming with a smaller --epochs than 400 is fine once the checkpoint is below it
    rc = main([*args, "--resume", "--epochs", str(epoch + 1), "--quiet"])
    assert rc == 0
    reference = tmp_path / "reference.safetensors"
    assert main([*_args(npz, "adam-dropout", reference), "--epochs", str(epoch + 1), "-q"]) == 0
    assert _same(_tensors(out), _tensors(reference))
