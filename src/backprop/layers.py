"""The containers of the maths, indexed by the book's layer number l.

:class:`Layers` holds per-layer values (``W[l]`` is W^l); :class:`Trace` is a
forward pass (z^l, a^l), :class:`Gradients` a backward pass (δ^l, ∂C/∂W^l,
∂C/∂b^l); :data:`Masks` are dropout masks r^l/q. :mod:`backprop.network`
computes them (and re-exports these names).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from .types import Array

__all__ = ["Gradients", "Layers", "Masks", "Trace"]

T_ = TypeVar("T_")


class Layers(Generic[T_]):
    """Per-layer values indexed by the book's layer number.

    ``Layers(1, items)`` holds W^1..W^L; ``Layers(0, items)`` holds a^0..a^L.
    Negative indices count from the end, as for a list (``a[-1]`` is a^L).
    ``version`` counts the assignments ``layers[l] = value`` (the fast engine
    checks it to notice a parameter array replaced between steps).
    """

    __slots__ = ("start", "_items", "version")

    def __init__(self, start: int, items: Sequence[T_]):
        self.start = start
        self._items = list(items)
        self.version = 0

    def _index(self, l: int) -> int:
        if not isinstance(l, (int, np.integer)):
            raise TypeError(f"layer index must be an integer, not {type(l).__name__}")
        stop = self.start + len(self._items) - 1
        i = l - self.start if l >= 0 else len(self._items) + l
        if not 0 <= i < len(self._items):
            raise IndexError(f"layer {l} does not exist: valid layers are {self.start}..{stop}")
        return i

    def __getitem__(self, l: int) -> T_:
        return self._items[self._index(l)]

    def __setitem__(self, l: int, value: T_) -> None:
        self._items[self._index(l)] = value
        self.version += 1

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T_]:
        return iter(self._items)

    def keys(self) -> range:
        """The valid layer numbers."""
        return range(self.start, self.start + len(self._items))

    def items(self) -> Iterator[tuple[int, T_]]:
        """(l, value) pairs."""
        return zip(self.keys(), self._items)

    def __repr__(self) -> str:
        body = ", ".join(f"{l}: {getattr(v, 'shape', v)}" for l, v in self.items())
        return f"Layers({{{body}}})"


@dataclass
class Trace:
    """The forward pass: ``z[l]`` for l = 1..L and ``a[l]`` for l = 0..L, each (n_l, m)."""

    z: Layers[Array]
    a: Layers[Array]


@dataclass
class Gradients:
    """The backward pass.

    ``delta[l]`` is δ^l of shape (n_l, m), one column per example;
    ``W[l]`` is ∂C/∂W^l and ``b[l]`` is ∂C/∂b^l, averaged over the m examples.
    """

    delta: Layers[Array]
    W: Layers[Array]
    b: Layers[Array]

    @property
    def dW(self) -> Layers[Array]:
        return self.W

    @property
    def db(self) -> Layers[Array]:
        return self.b


#: dropout masks r^l/q by the book's layer number l = 1..L−1 (None: no dropout at l)
Masks = Mapping[int, Array | None] | Layers[Array | None]
