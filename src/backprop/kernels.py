"""What the fast engine's kernels are written against: a :class:`Recorder`, a :class:`Workspace`.

Each activation (:mod:`backprop.activations`) and cost (:mod:`backprop.costs`)
carries, beside its readable maths, in-place kernels: ``record_*`` methods
record NumPy calls into a :class:`Recorder` (the fast step's tape, replayed for
every mini-batch), ``*_inplace`` methods compute at once with scratch arrays
from a :class:`Workspace` (evaluation). :func:`kernels_follow` is the rule that
decides whether a class's kernels can be trusted to compute its own maths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from .types import Array

__all__ = ["Recorder", "Workspace", "kernels_follow", "owner"]


class Recorder(Protocol):
    """Where a fast kernel records its NumPy calls (implemented by :mod:`backprop.fast`).

    The calls are recorded once per batch size, with their arrays bound, and
    replayed for every mini-batch of that size, so a kernel may only use arrays
    that live as long as the recording: the ones it is given, and the ones it
    asks this recorder for.
    """

    #: columns (examples) of the mini-batch being recorded
    m: int

    def do(self, f: Callable[..., Any], *args: Any) -> None:
        """Record the call ``f(*args)``."""

    def const(self, x: float) -> Array:
        """A 0-d array of the network's dtype holding ``x`` (a cheap ufunc operand)."""

    def col(self, k: int) -> Array:
        """A new zero buffer of shape (k, m), owned by the recording."""

    def ones(self, rows: int, cols: int) -> Array:
        """A new buffer of ones of shape (rows, cols), owned by the recording."""


class Workspace:
    """Scratch arrays for in-place evaluation, allocated once per key and reused.

    ``get(key, shape)`` returns a view of shape ``shape`` onto the front of a
    flat buffer kept under ``key``; the buffer grows only when a larger shape
    is asked for (the first chunk of an evaluation is its largest).
    """

    def __init__(self, dtype: np.dtype[Any] | str):
        self.dtype = np.dtype(dtype)
        self._buffers: dict[str, Array] = {}

    def get(self, key: str, shape: tuple[int, ...], dtype: Any = None) -> Array:
        dt = self.dtype if dtype is None else np.dtype(dtype)
        size = int(np.prod(shape))
        buf = self._buffers.get(key)
        if buf is None or buf.size < size or buf.dtype != dt:
            buf = self._buffers[key] = np.empty(max(size, 1), dt)
        return buf[:size].reshape(shape)


def owner(cls: type, attr: str) -> type:
    """The class in ``cls``'s MRO that defines ``attr``."""
    for klass in cls.__mro__:
        if attr in vars(klass):
            return klass
    raise AttributeError(attr)  # pragma: no cover - every name asked for is defined


def kernels_follow(cls: type, pairs: dict[str, tuple[str, ...]]) -> bool:
    """True when each kernel is defined at or below the class that defines its maths.

    ``pairs`` maps a readable method (``"f"``) to the kernels computing it; a
    subclass that overrides the maths but inherits the kernels fails.
    """
    return all(
        issubclass(owner(cls, kernel), owner(cls, maths))
        for maths, kernels in pairs.items()
        for kernel in kernels
    )
