"""The few collectives besides the gradient sum: start equal, check equal, sum scalars.

* :func:`broadcast_params` gives every rank rank 0's initial weights (one packed ``Bcast``),
  so ranks whose networks were drawn from different seeds still train one model.
* :func:`fingerprint` and :func:`check_same` compare a digest of each rank's data with
  rank 0's: a rank that read another file is refused, on every rank with the same message.
* :func:`reduce_sums` adds a few float64 numbers over the ranks (the cost and the number
  of correct predictions of the shards of an evaluation set).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError
from .failure import mark_agreed

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = ["broadcast_params", "fingerprint", "check_same", "reduce_sums"]


def broadcast_params(comm: MPI.Comm, params: Sequence[np.ndarray], root: int = 0) -> None:
    """Overwrite every rank's ``params`` (in place) with rank ``root``'s, in one ``Bcast``.

    Parameters
    ----------
    params : sequence of ndarray
        Arrays of one dtype, the same shapes on every rank (e.g. ``net.params()``).
    """
    if not params:
        return
    flat = np.concatenate([np.ravel(p) for p in params])
    comm.Bcast(flat, root=root)
    offset = 0
    for p in params:
        p[...] = flat[offset : offset + p.size].reshape(p.shape)
        offset += p.size


def fingerprint(arrays: Sequence[np.ndarray | None]) -> str:
    """A digest of the arrays' dtypes, shapes and bytes (None counts as absent).

    Equal data gives equal digests on every machine; it costs one pass over the bytes
    (BLAKE2b, about 1 GB/s).
    """
    digest = hashlib.blake2b(digest_size=16)
    for a in arrays:
        if a is None:
            digest.update(b"none;")
            continue
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape};".encode())
        digest.update(a.data)
    return digest.hexdigest()


def check_same(comm: MPI.Comm, digest: str, what: str = "training data") -> None:
    """Collective: refuse, on every rank, a ``digest`` that differs from rank 0's.

    Raises
    ------
    DataError
        On every rank (marked as agreed, so that only rank 0 prints it), naming the
        ranks whose ``what`` differ from rank 0's.
    """
    digests = comm.allgather(digest)
    odd = [r for r, d in enumerate(digests) if d != digests[0]]
    if odd:
        ranks = ", ".join(str(r) for r in odd)
        noun = "rank" if len(odd) == 1 else "ranks"
        raise mark_agreed(
            DataError(
                f"the {what} of {noun} {ranks} differ from rank 0's: every process must read "
                f"the same data with the same flags (on a cluster, the same files on every node)"
            ),
            rank=odd[0],
        )


def reduce_sums(comm: MPI.Comm, values: Sequence[float]) -> np.ndarray:
    """The sums over all ranks of each rank's ``values`` (float64, one ``Allreduce``)."""
    from mpi4py import MPI

    buf = np.array(values, dtype=np.float64)
    comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    return buf
