"""``mpiexec -n N backprop train …``: the same command, every rank training one model.

:func:`backprop.cli.train.run` hands over here when ``--distributed`` (default ``auto``:
a launcher started more than one process) gives a communicator. Every rank parses the
same flags, loads the same data and builds the same network; ``backprop.train(...,
comm=comm)`` shares each mini-batch among them (:mod:`backprop.distributed`). What differs
from one process:

* only rank 0 prints (progress, the table or ``--json``) and writes ``--out``,
  ``--checkpoint`` and ``--plots``; the other ranks print nothing unless they fail;
* a set-up error on any rank (a flag, a missing file) is agreed: every rank exits 2 and
  rank 0 prints the message once; a failure during training ends the job at once
  (:func:`backprop.distributed.failure.guard`) with the failing rank's message;
* Ctrl-C (which ``mpiexec`` passes to every rank) stops every rank after the same
  mini-batch (:class:`AgreedInterrupt`); rank 0 saves the checkpoint and says where.
"""

from __future__ import annotations

import argparse
import copy
import sys
from typing import TYPE_CHECKING, Any

from .. import distributed as dist
from ..errors import BackpropError
from . import _checkpoint, train
from .interrupt import StopOnInterrupt

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = ["AgreedInterrupt", "run"]


class AgreedInterrupt(StopOnInterrupt):
    """Ctrl-C on N ranks: the signal becomes a request that the next Allreduce carries.

    ``interrupted`` and ``where`` are set on every rank at the same mini-batch, once the
    request has reached them all, so the ranks stop together and rank 0's checkpoint
    callback (which runs after this one) saves the state where they stopped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.request: dist.StopRequest | None = None

    def on_train_begin(self, state: Any) -> None:
        self.request = getattr(state.step, "stop", None)
        if self.request is not None:
            self.request.claim()  # this callback reports the stop; train() need not raise
        super().on_train_begin(state)

    def _handle(self, signum: int, frame: Any) -> None:
        request = self.request
        if request is None:
            super()._handle(signum, frame)
        elif request.requested:  # the second Ctrl-C: give up at once (the job is aborted)
            raise KeyboardInterrupt
        else:
            request.request()
            self.signum = signum

    def on_batch_end(self, state: Any) -> None:
        if self.request is None:
            super().on_batch_end(state)
        elif self.request.agreed and not self.interrupted:  # (train's own hook may have
            self.interrupted = True  # set state.stop already)
            state.stop = True
            self.where = (int(state.epoch), int(state.batch))


def run(args: argparse.Namespace, comm: MPI.Intracomm) -> int:
    """``backprop train`` on every rank of ``comm``; the exit code, the same on every rank."""
    if comm.Get_rank() != 0:
        args = _silent(args)
    return dist.run_command(comm, lambda: _train(args, comm), _report)


def _silent(args: argparse.Namespace) -> argparse.Namespace:
    """The flags for a rank other than 0: no output, no files (rank 0's checkpoint is used)."""
    args = copy.copy(args)
    args.quiet, args.json, args.out, args.plots = True, False, None, None
    args.checkpoint, args.checkpoint_every, args.resume = None, None, False
    return args


def _train(args: argparse.Namespace, comm: MPI.Intracomm) -> int:
    rank = comm.Get_rank()
    if rank == 0 and not args.quiet:
        print(
            f"backprop: {dist.describe(comm)}; each mini-batch is split among them", file=sys.stderr
        )
    session, preset = _prepare(args, comm)
    with dist.together(comm):
        checkpoint = _checkpoint.setup(args, session)
    session.interrupt = AgreedInterrupt()
    session.train_kwargs["comm"] = comm
    history = train.fit(session)
    if session.interrupt.cut_short:
        if rank == 0:
            epoch, batch = session.interrupt.where or (0, 0)
            if checkpoint is not None and checkpoint.last is not None:
                kept = f"checkpoint saved to {checkpoint.last}; add --resume to continue"
            else:
                kept = "model not saved" if args.out else "nothing saved"
            print(f"backprop: interrupted at epoch {epoch}, batch {batch}; {kept}", file=sys.stderr)
        return 130
    if rank == 0:
        return train.finish(args, session, preset, history)
    return 1 if history.diverged else 0


def _prepare(args: argparse.Namespace, comm: MPI.Intracomm) -> tuple[train.Session, Any]:
    """Every rank checks the flags and loads the data; with --download rank 0 goes first."""
    first = bool(getattr(args, "download", False))  # one download, then the others read it
    result = None
    for turn in ((0,), tuple(range(1, comm.Get_size()))) if first else (None,):
        with dist.together(comm):
            if turn is None or comm.Get_rank() in turn:
                result = train.prepare(args)
    assert result is not None
    return result


def _report(exc: BaseException) -> None:
    """Rank 0's one line for an error every rank agreed on (as ``backprop.cli.main`` prints)."""
    if isinstance(exc, KeyboardInterrupt):
        print("backprop: interrupted", file=sys.stderr)
    elif isinstance(exc, BackpropError):
        print(f"backprop: error: {exc}", file=sys.stderr)
    else:
        print(f"backprop: error: {type(exc).__name__}: {exc}", file=sys.stderr)
