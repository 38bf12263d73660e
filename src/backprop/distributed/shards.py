"""How a global mini-batch (or an evaluation set) is split among N processes.

A batch of m rows, in the order the one-process run takes them, is cut into N contiguous
shards whose sizes differ by at most one: the first ``m mod N`` ranks take ⌈m/N⌉ rows, the
others ⌊m/N⌋. When m < N the last ``N − m`` ranks take none; they still join the
reduction (with zero sums), so every rank takes the same optimiser step.

>>> shard_sizes(10, 3)
[4, 3, 3]
>>> [shard_bounds(2, 3, r) for r in range(3)]
[(0, 1), (1, 2), (2, 2)]
"""

from __future__ import annotations

from ..errors import ConfigError

__all__ = ["shard_bounds", "shard_sizes"]


def shard_bounds(m: int, size: int, rank: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of a batch of ``m`` rows that ``rank`` of ``size`` processes takes.

    Parameters
    ----------
    m : int
        Rows in the global batch (m ≥ 0).
    size, rank : int
        Number of processes N ≥ 1 and this process's rank, 0 ≤ rank < N.

    Returns
    -------
    (start, stop) : tuple of int
        ``stop − start`` is ⌈m/N⌉ for ranks below ``m mod N`` and ⌊m/N⌋ for the others.
    """
    if size < 1 or not 0 <= rank < size or m < 0:
        raise ConfigError(f"no shard {rank} of {size} for {m} rows")
    q, r = divmod(m, size)
    start = rank * q + min(rank, r)
    return start, start + q + (1 if rank < r else 0)


def shard_sizes(m: int, size: int) -> list[int]:
    """The number of rows every rank takes of a batch of ``m`` rows, rank 0 first."""
    return [b - a for a, b in (shard_bounds(m, size, r) for r in range(size))]
