"""Which MPI launcher started this process, and the communicator to train on.

:func:`detect` reads only environment variables, so the CLI can tell "started by
``mpiexec -n 4``" from "started by a shell" without importing mpi4py (whose import
initialises MPI). Each launcher announces the size of the job and the process's rank:

========================  ==========================  ==========================
launcher                  size                        rank
========================  ==========================  ==========================
MPICH / Intel MPI hydra   ``PMI_SIZE``                ``PMI_RANK``
Open MPI ``mpirun``       ``OMPI_COMM_WORLD_SIZE``    ``OMPI_COMM_WORLD_RANK``
PMIx (``srun --mpi=pmix``)  ``SLURM_STEP_NUM_TASKS``  ``PMIX_RANK``
Slurm ``srun``            ``SLURM_STEP_NUM_TASKS``    ``SLURM_PROCID``
========================  ==========================  ==========================

Slurm's job-wide ``SLURM_NTASKS`` is deliberately not read: it is also set in a batch
script's own shell, where one process runs outside any ``srun`` step.

:func:`resolve` turns a ``--distributed`` choice into a communicator (or None) and refuses
the classic misconfiguration in which a launcher of one MPI starts processes linked to
another: each then initialises as a one-process world ("N singletons") and would train N
separate copies of the model.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = ["Launcher", "MODES", "detect", "resolve", "describe", "library_version"]

#: the values of ``--distributed``
MODES = ("auto", "off", "mpi")

# (launcher name, size variable, rank variable), tried in this order
_VARIABLES = (
    ("hydra", "PMI_SIZE", "PMI_RANK"),
    ("Open MPI", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    ("PMIx", "SLURM_STEP_NUM_TASKS", "PMIX_RANK"),
    ("Slurm", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),
)


@dataclass(frozen=True)
class Launcher:
    """What the environment says about the job: ``size`` processes, this one ``rank``."""

    name: str
    size: int
    rank: int


def detect(environ: Mapping[str, str] | None = None) -> Launcher | None:
    """The launcher that started this process, from its environment variables, or None.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (default ``os.environ``).

    Returns
    -------
    Launcher or None
        None when no launcher's pair of variables is present or readable as integers.
    """
    env = os.environ if environ is None else environ
    for name, size_var, rank_var in _VARIABLES:
        size, rank = env.get(size_var), env.get(rank_var)
        if size is None or rank is None:
            continue
        try:
            n, r = int(size), int(rank)
        except ValueError:
            continue
        if n >= 1 and 0 <= r < n:
            return Launcher(name, n, r)
    return None


def resolve(mode: str = "auto", environ: Mapping[str, str] | None = None) -> MPI.Intracomm | None:
    """The communicator to train on for a ``--distributed`` ``mode``, or None for one process.

    ``"off"`` is always None. ``"auto"`` is ``MPI.COMM_WORLD`` when a launcher started more
    than one process and None otherwise (mpi4py is then not imported). ``"mpi"`` is always
    ``MPI.COMM_WORLD`` (one process included) and needs mpi4py.

    Raises
    ------
    ConfigError
        Unknown mode; mpi4py missing where MPI is needed; or a launcher that asked for N > 1
        processes while MPI initialised a world of another size (N singletons).
    """
    if mode not in MODES:
        raise ConfigError(f"--distributed must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "off":
        return None
    launcher = detect(environ)
    if mode == "auto" and (launcher is None or launcher.size == 1):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        started = f"{launcher.name} started {launcher.size} processes but " if launcher else ""
        raise ConfigError(
            f"{started}mpi4py is not installed; install it with pip install "
            "'backprop-textbook[mpi]' (or run without mpiexec, or pass --distributed off)"
        ) from None
    comm = MPI.COMM_WORLD
    if launcher is not None and comm.Get_size() != launcher.size:
        raise ConfigError(_singletons_message(launcher, comm.Get_size()))
    return comm


def _singletons_message(launcher: Launcher, size: int) -> str:
    own = Path(sys.executable).parent / "mpiexec"
    hint = f" (here: {own})" if own.is_file() else ""
    return (
        f"{launcher.name} asked for {launcher.size} processes but MPI started this one in a "
        f"world of {size}: the launcher belongs to another MPI than the one mpi4py uses, so "
        f"every process would train its own model. Launch with the mpiexec of mpi4py's MPI"
        f"{hint}, or pass --distributed off"
    )


def library_version() -> str:
    """The MPI library in a few words, e.g. ``"MPICH 5.0.2"`` or ``"Open MPI 5.0.3"``."""
    from mpi4py import MPI

    text = MPI.Get_library_version()
    for pattern, name in (
        (r"MPICH Version:\s*(\S+)", "MPICH"),
        (r"Open MPI v(\S+?),", "Open MPI"),
        (r"Intel\(R\) MPI Library (\S+)", "Intel MPI"),
    ):
        found = re.search(pattern, text)
        if found:
            return f"{name} {found.group(1)}"
    first = text.strip().splitlines()[0] if text.strip() else "MPI"
    return " ".join(first.split()[:3])


def describe(comm: MPI.Comm) -> str:
    """The job in a few words for a header, e.g. ``"4 processes, MPICH 5.0.2"``."""
    n = comm.Get_size()
    return f"{n} process{'es' if n != 1 else ''}, {library_version()}"
