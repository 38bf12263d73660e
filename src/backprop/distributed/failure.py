"""When one rank fails, every rank ends, soon, with that rank's message: never a hang.

A rank that leaves while the others wait in a collective would leave them waiting forever
(with MPICH, even a clean ``sys.exit(2)`` hangs: ``MPI_Finalize`` waits for its peers).
Two remedies, each where it fits:

* **Agreed errors** (:func:`agree`), where every rank reaches the same point anyway: the
  set-up before training (reading data, checking flags), the check that all ranks hold
  the same data, the end of the command. Every rank reports "ok" or its error through one
  ``allgather``; if any failed, every rank raises the first failing rank's error (same
  class, same message), marked by :func:`mark_agreed` so that only rank 0 prints it, and
  all exit with the same code, 2 for a user error.
* **Abort** (:func:`abort`, :func:`guard`), where the others may already wait in the
  gradient ``Allreduce``: the failing rank prints its message (with its rank) and calls
  ``comm.Abort(code)``; the launcher then ends every process of the job at once.

A rank killed outright (SIGKILL, out of memory) cannot do either; the launcher notices
the death and ends the job: MPICH's hydra in well under a second (tested), Open MPI's
``mpirun`` and Slurm's ``srun`` likewise.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn, TypeVar

from .. import errors
from ..errors import BackpropError, DivergenceError, GradcheckError

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = [
    "RankError",
    "abort",
    "agree",
    "exit_code",
    "guard",
    "is_agreed",
    "mark_agreed",
    "run_command",
    "together",
]

E = TypeVar("E", bound=BaseException)


class RankError(BackpropError, RuntimeError):
    """Another rank failed with an error that is not one of the library's own."""


def mark_agreed(exc: E, rank: int) -> E:
    """Mark ``exc`` as raised on every rank alike (first raised on ``rank``); return it."""
    exc.mpi_agreed = True  # type: ignore[attr-defined]
    exc.mpi_rank = rank  # type: ignore[attr-defined]
    return exc


def is_agreed(exc: BaseException) -> bool:
    """True for an error every rank raised together (print it once, on rank 0)."""
    return bool(getattr(exc, "mpi_agreed", False))


def exit_code(exc: BaseException) -> int:
    """The CLI's exit code for ``exc``: 2 user error, 1 failed check or bug, 130 Ctrl-C."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    if isinstance(exc, (GradcheckError, DivergenceError)):
        return 1
    if isinstance(exc, BackpropError):
        return 2
    return 1


def agree(comm: MPI.Comm, error: BaseException | None) -> None:
    """Collective: if any rank passes an error, raise one on every rank.

    Every rank of ``comm`` must call this at the same point, with its own error or None.
    A rank that failed re-raises its own ``error``; the others raise the first failing
    rank's error rebuilt as the same library class (:class:`RankError` for any other),
    its message prefixed with the rank unless every rank failed with the same message.
    All are marked agreed.
    """
    report = None if error is None else (type(error).__name__, _message(error))
    reports = comm.allgather(report)
    failed = [(r, rep) for r, rep in enumerate(reports) if rep is not None]
    if not failed:
        return
    rank, (kind, message) = failed[0]
    if error is not None and rank == comm.Get_rank():
        raise mark_agreed(error, rank)
    if len(failed) < comm.Get_size() or len({rep for _, rep in failed}) > 1:
        message = f"on rank {rank} of {comm.Get_size()}: {message}"
    raise mark_agreed(_rebuild(kind, message), rank)


def _message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, BackpropError) else f"{type(exc).__name__}: {exc}"


def _rebuild(kind: str, message: str) -> BaseException:
    if kind == "KeyboardInterrupt":
        return KeyboardInterrupt()
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, BackpropError):
        return cls(message)
    return RankError(message)


#: seconds a failing rank waits after writing its message, before Abort
ABORT_GRACE = 0.2


def abort(comm: MPI.Comm, exc: BaseException) -> NoReturn:
    """Print this rank's failure on stderr and end the whole job with ``comm.Abort``.

    A library error is one line; anything else (a bug) also gets its traceback. The exit
    code is :func:`exit_code`'s.
    """
    code = exit_code(exc)
    where = f"rank {comm.Get_rank()} of {comm.Get_size()}"
    if isinstance(exc, KeyboardInterrupt):
        line = f"backprop: interrupted on {where}; ending every process"
    elif isinstance(exc, BackpropError):
        line = f"backprop: error on {where}: {exc}"
    else:
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        line = f"{trace}backprop: {where} failed ({type(exc).__name__}); ending every process"
    try:
        # one write, then a moment for the launcher to forward it: Abort kills at once, and
        # output still on its way through the launcher's I/O proxy would be lost
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        time.sleep(ABORT_GRACE)
        comm.Abort(code)
    finally:  # Abort does not return; should it, leave without MPI_Finalize's wait
        os._exit(code)


@contextmanager
def guard(comm: MPI.Comm) -> Iterator[None]:
    """Inside: an exception on this rank ends the job (:func:`abort`), unless agreed.

    Agreed errors (:func:`is_agreed`) were raised on every rank and pass through.
    """
    try:
        yield
    except BaseException as exc:
        if is_agreed(exc) or (isinstance(exc, SystemExit) and exit_code(exc) == 0):
            raise
        abort(comm, exc)


@contextmanager
def together(comm: MPI.Comm) -> Iterator[None]:
    """A block every rank runs on its own (no collectives inside), then :func:`agree`.

    If the block raises on any rank, it raises on every rank when it ends (agreed).
    """
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
    agree(comm, error)


def run_command(
    comm: MPI.Comm, body: Callable[[], int], report: Callable[[BaseException], None]
) -> int:
    """Run a command's ``body`` on every rank; its exit code, the same on every rank.

    An agreed error is reported (``report``) by rank 0 alone and becomes
    :func:`exit_code`'s code on every rank; any other error aborts the job
    (:func:`abort`). When ``body`` returns, the ranks agree on the largest code (rank 0
    may have failed alone, writing files, while the others waited).
    """
    from mpi4py import MPI

    try:
        with guard(comm):
            code = int(body() or 0)
    except BaseException as exc:
        if comm.Get_rank() == 0 and not isinstance(exc, SystemExit):
            report(exc)
        return exit_code(exc)
    return int(comm.allreduce(code, op=MPI.MAX))
