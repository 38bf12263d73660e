"""Launching MPI jobs from the tests: the venv's own mpiexec, a timeout on every launch.

``mpiexec`` is the one beside ``sys.executable`` (the ``mpich`` wheel's), called by that
path, never through a symlink (hydra then cannot find its ``hydra_pmi_proxy`` and hangs).
Jobs of 2 and 3 ranks run oversubscribed on this 2-core machine, with one BLAS thread per
rank. Every launch has a timeout; on expiry the whole process group is killed and the
test fails with what the job printed. Tests that launch jobs take the ``mpi`` fixture, which
skips them, saying why, when mpi4py or the mpiexec is missing.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
MPIEXEC = Path(sys.executable).parent / "mpiexec"


def _missing() -> str | None:
    if importlib.util.find_spec("mpi4py") is None:
        return "needs mpi4py and an MPI library (pip install '.[mpi]')"
    if not MPIEXEC.is_file() or MPIEXEC.is_symlink():
        return f"needs the environment's own mpiexec at {MPIEXEC} (pip install mpich)"
    return None


@functools.cache
def _launcher_flags() -> tuple[str, ...]:
    """Open MPI refuses root and oversubscription unless told; MPICH's hydra needs nothing."""
    version = subprocess.run(
        [str(MPIEXEC), "--version"], capture_output=True, text=True, timeout=30
    ).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        root = ("--allow-run-as-root",) if os.geteuid() == 0 else ()
        return ("--oversubscribe", *root)
    return ()


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any launcher's variables, one BLAS thread, plus ``extra``."""
    prefixes = ("PMI_", "PMIX_", "OMPI_", "SLURM_", "HYDRA_", "MPI_LOCAL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra or {})
    return env


@dataclass
class Job:
    """A finished launch: exit code, output, wall time."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return f"exit {self.returncode} after {self.seconds:.1f} s\n{self.stdout}\n{self.stderr}"


#: ``program="backprop"`` for :func:`launch`: the command line itself, as a user types it
BACKPROP = (sys.executable, "-m", "backprop")


def launch(
    n: int | None,
    args: Sequence[str],
    *,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
    during: Callable[[subprocess.Popen[str]], None] | None = None,
    program: Sequence[str] | str = (sys.executable, str(WORKER)),
    cwd: Path | None = None,
) -> Job:
    """Run ``python worker.py *args`` (or ``program *args``) on ``n`` ranks (None: no mpiexec).

    ``during(process)`` runs while the job does (e.g. to send it a signal). On timeout the
    job's process group is killed and the test fails.
    """
    python = [*(BACKPROP if program == "backprop" else program), *args]
    cmd = python if n is None else [str(MPIEXEC), *_launcher_flags(), "-n", str(n), *python]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(env),
        start_new_session=True,
        cwd=cwd,
    )
    try:
        if during is not None:
            during(proc)
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the MPI job did not end within {timeout} s:\n{out}\n{err}")
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return Job(proc.returncode, out, err, time.perf_counter() - start)


@pytest.fixture(scope="session")
def mpi_launch() -> Callable[..., Job]:
    """:func:`launch`; skips the tests (saying why) when mpi4py or the mpiexec is missing."""
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    return launch


@pytest.fixture
def mpi(mpi_launch: Callable[..., Job]) -> Callable[..., Job]:
    """:func:`launch`, for one test."""
    return mpi_launch


@functools.cache
def worker_module():
    """worker.py as a module (its configurations and data, shared with the tests)."""
    spec = importlib.util.spec_from_file_location("mpi_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def worker():
    """The worker module (``build``, ``digits``), for computing one-process references."""
    return worker_module()


def ranks_of(pid: int) -> dict[int, int]:
    """{rank: pid} of the MPI processes below the launcher ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, int] = {}
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            environ = Path(f"/proc/{p}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"PMI_RANK=") or item.startswith(b"OMPI_COMM_WORLD_RANK="):
                found[int(item.split(b"=", 1)[1])] = p
    return found


@pytest.fixture
def ranks():
    """:func:`ranks_of`: {rank: pid} of a running job."""
    return ranks_of
