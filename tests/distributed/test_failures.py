"""When one rank fails, every rank ends within 30 s with that rank's message: never a hang.

The jobs run a loop of Allreduces in which rank 1 fails at step 20 while the others are
already waiting in the next Allreduce: the case that hangs forever without the guard.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

BOUND = 30.0  # seconds within which every rank must have ended


def _gone(pids: list[int], within: float = 5.0) -> bool:
    """All ``pids`` have exited (polled: the launcher may still be reaping them)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.1)
    return False


def _pids(folder: Path, n: int) -> list[int]:
    return [int((folder / f"pid{r}").read_text()) for r in range(n)]


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        ("data-error", 2, "backprop: error on rank 1 of 3: row 7 of the shard is not a number"),
        ("bug", 1, "backprop: rank 1 of 3 failed (RuntimeError); ending every process"),
        ("exit", 3, "backprop: rank 1 of 3 failed (SystemExit)"),
        ("sigkill", None, None),
    ],
)
def test_one_failing_rank_ends_the_job(mpi, tmp_path, failure, code, message):
    job = mpi(3, ["fail", str(tmp_path), failure], timeout=BOUND + 30)
    assert job.seconds < BOUND, job.describe()
    assert job.returncode != 0, job.describe()
    if code is not None:
        assert job.returncode == code, job.describe()
        assert job.stderr.count(message) == 1, job.describe()
    if failure == "bug":
        assert "RuntimeError: an unexpected bug" in job.stderr  # a bug keeps its traceback
    assert _gone(_pids(tmp_path, 3)), "a rank outlived the job"


def test_different_data_on_one_rank_is_refused_with_one_message(mpi, tmp_path):
    job = mpi(3, ["mismatch", str(tmp_path)], timeout=60)
    assert job.returncode == 2, job.describe()
    assert job.stderr.count("backprop: error:") == 1, job.describe()
    assert "the training data of rank 1 differ from rank 0's" in job.stderr


def test_a_setup_error_on_one_rank_is_agreed_by_all(mpi, tmp_path):
    job = mpi(3, ["setup-error", str(tmp_path)], timeout=60)
    assert job.returncode == 2, job.describe()
    line = "backprop: error: on rank 1 of 3: cannot read data.csv: no such file\n"
    assert job.stderr == line, job.describe()


def test_ctrl_c_reaches_every_rank_at_the_same_step(mpi, tmp_path):
    def interrupt(proc):
        deadline = time.monotonic() + 30
        while not all((tmp_path / f"ready{r}").exists() for r in range(3)):
            assert time.monotonic() < deadline and proc.poll() is None, "ranks did not start"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does to mpiexec

    job = mpi(3, ["stop", str(tmp_path)], timeout=60, during=interrupt)
    assert job.returncode == 130, job.describe()
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(3)]
    assert all(res["agreed"] for res in results)
    assert len({res["step"] for res in results}) == 1, results
    assert results[0]["step"] > 1


def test_without_mpiexec_mpi_is_not_imported(mpi, tmp_path):
    job = mpi(None, ["resolve", str(tmp_path)], timeout=60)
    assert job.returncode == 0, job.describe()
    res = json.loads((tmp_path / "rank0.json").read_text())
    assert res == {"off": None, "mpi4py_after_off": False, "auto": None, "mpi4py_after_auto": False}


def test_n_singletons_are_refused(mpi, tmp_path):
    # Open MPI's variables around an MPICH-linked mpi4py: the launcher asked for 3
    # processes, MPI starts each as a world of its own (a PMI mismatch)
    env = {"OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_RANK": "0"}
    job = mpi(None, ["resolve", str(tmp_path)], timeout=60, env=env)
    assert job.returncode == 0, job.describe()
    res = json.loads((tmp_path / "rank0.json").read_text())
    assert res["off"] is None and not res["mpi4py_after_off"]
    assert res["auto"].startswith(
        "ConfigError: Open MPI asked for 3 processes but MPI started this one in a world of 1"
    )
