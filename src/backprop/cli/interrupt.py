"""Ctrl-C during ``backprop train``: stop after the current mini-batch, keep what was trained."""

from __future__ import annotations

import signal
import threading

from ..training import Callback

__all__ = ["StopOnInterrupt"]


class StopOnInterrupt(Callback):
    """Turn the first Ctrl-C into "stop after the current mini-batch".

    While training runs, SIGINT only sets a flag; the next ``on_batch_end``
    sets ``state.stop``. A second Ctrl-C raises KeyboardInterrupt at once.
    Outside the main thread (where signal handlers cannot be installed) this
    does nothing and Ctrl-C behaves as usual.
    """

    def __init__(self):
        self.interrupted = False
        self.where: tuple[int, int] | None = None
        #: the training state, kept so that the History survives a KeyboardInterrupt
        self.state = None
        self._previous = None

    def on_train_begin(self, state):
        self.state = state
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    @property
    def batches_done(self) -> bool:
        """The last mini-batch of the last epoch has run: what is left is evaluation."""
        s = self.state
        return s is not None and s.epoch == s.epochs and s.batch >= s.n_batches

    @property
    def cut_short(self) -> bool:
        """Ctrl-C stopped training before its end. False when it came only after
        (or during) the last mini-batch: then training finished (``where`` is
        None, or the last batch of the last epoch)."""
        if not self.interrupted or self.where is None:
            return False
        s = self.state
        return s is None or self.where != (s.epochs, s.n_batches)

    def _handle(self, signum, frame):
        if self.interrupted:  # second Ctrl-C: give up at once
            raise KeyboardInterrupt
        self.interrupted = True

    def on_batch_end(self, state):
        if self.interrupted and not state.stop:
            state.stop = True
            self.where = (int(state.epoch), int(state.batch))

    def on_train_end(self, state):
        self.restore()

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
