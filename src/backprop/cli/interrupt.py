"""Ctrl-C during ``backprop train``: stop after the current mini-batch, keep what was trained."""

from __future__ import annotations

import contextlib
import signal
import threading

from ..training import BatchCadence, Callback

__all__ = [
    "SIGNALS",
    "StopOnInterrupt",
    "Terminated",
    "exit_code",
    "hold_interrupts",
    "install_termination_handlers",
    "signal_name",
]

#: the signals treated like Ctrl-C: batch schedulers send SIGTERM before SIGKILL, and a
#: closed terminal sends SIGHUP
SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C (temporary files are removed)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(signum: int | None) -> int:
    """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + int(signum or signal.SIGINT)


def _raise_terminated(signum, frame):
    raise Terminated(signum)


def install_termination_handlers() -> None:
    """SIGTERM and SIGHUP raise :class:`Terminated` (a KeyboardInterrupt) in the main thread,
    so that every ``with`` block unwinds: no stray temporary file, a clean exit 143/129."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        if signum != signal.SIGINT and signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _raise_terminated)


@contextlib.contextmanager
def hold_interrupts():
    """Let the block (the final save) finish whatever signal arrives; yields a list that
    holds the signals received, for the caller to act on afterwards."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def note(signum: int, frame: object) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, note) for signum in SIGNALS}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class StopOnInterrupt(Callback):
    """Turn the first Ctrl-C (or SIGTERM, SIGHUP) into "stop after the current mini-batch".

    While training runs, the signal only sets a flag (and ``signum``); the next ``on_batch_end``
    sets ``state.stop`` (with the compiled engine, the end of the batches it runs in one
    call, within ``batch_cadence.seconds`` of training). A second Ctrl-C raises
    KeyboardInterrupt at once.
    Outside the main thread (where signal handlers cannot be installed) this
    does nothing and Ctrl-C behaves as usual.
    """

    def __init__(self):
        self.interrupted = False
        #: the signal that stopped the run (SIGINT, SIGTERM or SIGHUP)
        self.signum: int | None = None
        self.where: tuple[int, int] | None = None
        #: the training state, kept so that the History survives a KeyboardInterrupt
        self.state = None
        self._previous = None

    def on_train_begin(self, state):
        self.state = state
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}

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
            raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)
        self.interrupted = True
        self.signum = signum

    #: a Ctrl-C is acted on within this much training (the batches between run in one call)
    batch_cadence = BatchCadence(seconds=0.1)

    def on_batch_end(self, state):
        if self.interrupted and not state.stop:
            state.stop = True
            self.where = (int(state.epoch), int(state.batch))

    def on_train_end(self, state):
        self.restore()

    def restore(self) -> None:
        if self._previous is not None:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
            self._previous = None
