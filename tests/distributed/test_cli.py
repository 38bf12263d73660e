"""``mpiexec -n N backprop train <the same flags>``: one model, one output, no hangs.

The one-process references run in this process through ``backprop.cli.main`` (the same
command without mpiexec).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main


def _flat(path: Path) -> np.ndarray:
    return np.concatenate([np.ravel(p) for p in bp.load(path).params()])


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


def _wait_for(condition, proc, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert proc.poll() is None, f"the job ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {within} s"
        time.sleep(0.05)


def test_done_when_three_processes_give_the_one_process_model(mpi, tmp_path, capsys):
    # the command, then the same without mpiexec
    flags = ["train", "--data", "digits", "--epochs", "2", "--dtype", "float64", "--json"]
    job = mpi(3, [*flags, "--out", "m3.safetensors"], program="backprop", cwd=tmp_path)
    assert job.returncode == 0, job.describe()
    assert main([*flags, "--out", str(tmp_path / "m1.safetensors"), "--quiet"]) == 0
    one = json.loads(capsys.readouterr().out)
    m3, m1 = _flat(tmp_path / "m3.safetensors"), _flat(tmp_path / "m1.safetensors")
    assert _relative(m3, m1) <= 1e-12
    assert job.stderr.startswith("backprop: 3 processes, MPICH ")  # the header says so
    assert job.stderr.count("epoch 2/2") == 1  # rank 0 alone reports progress
    three = json.loads(job.stdout)  # one JSON object: rank 0's
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "epochs_run"):
        assert three[key] == one[key], key


def test_a_bad_flag_is_one_message_and_exit_2_on_every_rank(mpi, tmp_path):
    job = mpi(3, ["train", "--data", "no-such-file.csv"], program="backprop", cwd=tmp_path)
    assert job.returncode == 2, job.describe()
    assert job.stderr.count("backprop: error:") == 1, job.describe()
    assert "no-such-file.csv" in job.stderr and "Traceback" not in job.stderr


def test_killing_one_rank_mid_epoch_ends_every_rank(mpi, ranks, tmp_path):
    ckpt = tmp_path / "ckpt"
    flags = ["train", "--epochs", "400", "--batch-size", "8", "--quiet"]
    flags += ["--checkpoint", str(ckpt), "--checkpoint-every", "50"]
    seen: dict[int, int] = {}

    def kill_rank_1(proc):
        _wait_for(lambda: any(ckpt.glob("ckpt-*.safetensors")), proc, "checkpoint")
        seen.update(ranks(proc.pid))
        assert sorted(seen) == [0, 1, 2], seen
        os.kill(seen[1], signal.SIGKILL)

    job = mpi(3, flags, program="backprop", cwd=tmp_path, during=kill_rank_1, timeout=90)
    assert job.returncode != 0, job.describe()
    deadline = time.monotonic() + 30
    for pid in seen.values():  # every rank is gone, not left waiting in an Allreduce
        while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
            assert time.monotonic() < deadline, f"rank pid {pid} still runs"
            time.sleep(0.1)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


@pytest.mark.parametrize("n", [2])
def test_ctrl_c_leaves_a_checkpoint_that_resumes_to_the_one_process_model(mpi, tmp_path, capsys, n):
    ckpt = tmp_path / "ckpt"
    flags = ["train", "--epochs", "12", "--batch-size", "16", "--dtype", "float64"]
    flags += ["--optimizer", "momentum", "--lr", "0.05", "--dropout", "0.1", "--l2", "0.1"]
    run = [*flags, "--checkpoint", str(ckpt), "--checkpoint-every", "10", "--quiet"]

    def ctrl_c(proc):
        _wait_for(lambda: any(ckpt.glob("ckpt-*.safetensors")), proc, "checkpoint")
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does to mpiexec

    job = mpi(n, [*run, "--out", "m.safetensors"], program="backprop", cwd=tmp_path, during=ctrl_c)
    assert job.returncode == 130, job.describe()
    assert job.stderr.count("backprop: interrupted at epoch") == 1, job.describe()
    assert "checkpoint saved to" in job.stderr and not (tmp_path / "m.safetensors").exists()
    resumed = mpi(n, [*run, "--resume", "--out", "m.safetensors"], program="backprop", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.describe()
    assert main([*flags, "--quiet", "--out", str(tmp_path / "one.safetensors")]) == 0
    capsys.readouterr()
    assert (
        _relative(_flat(tmp_path / "m.safetensors"), _flat(tmp_path / "one.safetensors")) <= 1e-12
    )
