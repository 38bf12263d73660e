"""Per-epoch cost and accuracy measured on shards and reduced: each rank evaluates 1/N.

An evaluation set of m rows is cut like a mini-batch (:func:`.shard_bounds`); each rank
measures its rows with the one-process evaluator, turns the shard's mean cost and accuracy
back into sums (k · C̄, k · accuracy: a count), and one ``Allreduce`` of three float64
numbers gives every rank::

    C = (1/m) Σ_ranks Σ_{x in shard} C_x,      accuracy = (1/m) Σ_ranks correct

identical on every rank, so early stopping and schedules decide alike everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..network import Network
from ..training.inputs import Dataset
from .collectives import reduce_sums
from .shards import shard_bounds

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = ["ShardedEvaluation"]

Measure = Callable[[Network, Dataset], tuple[float, "float | None"]]


class ShardedEvaluation:
    """``evaluate(net, data)`` with this rank's shard of ``data``, reduced over ``comm``.

    Parameters
    ----------
    comm : mpi4py intracommunicator
    measure : callable
        The one-process ``(net, Dataset) -> (C, accuracy or None)``.
    """

    def __init__(self, comm: MPI.Comm, measure: Measure):
        self.comm, self.measure = comm, measure
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self._shards: dict[int, tuple[Dataset, Dataset]] = {}  # id(data) → (data, shard)

    def shard(self, data: Dataset) -> Dataset:
        """This rank's rows of ``data`` (views; kept, so the evaluator's buffers are reused)."""
        kept = self._shards.get(id(data))
        if kept is not None and kept[0] is data:
            return kept[1]
        start, stop = shard_bounds(len(data), self.size, self.rank)
        labels = None if data.labels is None else data.labels[start:stop]
        part = Dataset(data.X[start:stop], data.T[start:stop], labels, data.kind)
        self._shards[id(data)] = (data, part)
        return part

    def __call__(self, net: Network, data: Dataset) -> tuple[float, float | None]:
        part = self.shard(data)
        k = len(part)
        sums = [0.0, 0.0]
        if k:
            cost, acc = self.measure(net, part)
            sums = [cost * k, round(acc * k) if acc is not None else 0.0]
        total_cost, correct = reduce_sums(self.comm, sums)
        m = len(data)
        return float(total_cost / m), (float(correct / m) if data.kind else None)
