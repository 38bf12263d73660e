"""Ctrl-C on N processes: every rank stops after the same mini-batch.

``mpiexec`` passes Ctrl-C (SIGINT) on to every rank, but each receives it at a different
moment: a rank that stopped at once would leave the others waiting in the next
``Allreduce``. So a first SIGINT only sets a flag; the flag rides the next gradient
``Allreduce`` in a control slot of the packed buffer (:class:`~.buffer.PackedGradients`),
and once any rank's flag has arrived, every rank knows it after the same step. A second
SIGINT raises KeyboardInterrupt at once (and the job is aborted, as for any failure).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import numpy as np

__all__ = ["StopRequest"]


class StopRequest:
    """A rank's Ctrl-C, turned into a request that all ranks agree on at the same step.

    Attributes
    ----------
    requested : bool
        This rank received SIGINT (or :meth:`request` was called).
    agreed : bool
        Some rank's request arrived in the last reduction: every rank sees the same value.
    claimed : bool
        A callback took charge of the agreed stop (the CLI's Ctrl-C handling); otherwise
        ``train`` raises KeyboardInterrupt on every rank once they have all stopped.
    """

    def __init__(self) -> None:
        self.requested = False
        self.agreed = False
        self.claimed = False
        self._previous: Any = None
        self._installed = False

    def install(self) -> None:
        """Catch SIGINT (main thread only; elsewhere this does nothing)."""
        if threading.current_thread() is threading.main_thread() and not self._installed:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True

    def restore(self) -> None:
        """Put back the SIGINT handler that :meth:`install` replaced."""
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def claim(self) -> None:
        """Say that a callback handles the agreed stop (no KeyboardInterrupt from ``train``)."""
        self.claimed = True

    def request(self) -> None:
        """Ask every rank to stop after the next reduction."""
        self.requested = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # the second Ctrl-C: give up at once
            raise KeyboardInterrupt
        self.requested = True

    def contribute(self, slot: np.ndarray) -> None:
        """Write this rank's request (0 or 1) into ``slot``, a one-element view of the buffer."""
        slot[...] = 1 if self.requested else 0

    def receive(self, slot: np.ndarray) -> bool:
        """Read the reduced ``slot`` (how many ranks asked): the answer every rank shares."""
        self.agreed = self.agreed or bool(slot.item(0) > 0)
        return self.agreed
