"""Hooks into the training loop: :class:`Callback` and the checkpoint writers.

Nothing in the loop prints or writes files: progress bars, logs and
checkpoints are callbacks. :class:`Checkpoint` keeps one file up to date;
:class:`RotatingCheckpoint` writes one file per position into a directory and
keeps the newest few (what ``backprop train --checkpoint DIR`` uses).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import validation

if TYPE_CHECKING:
    from .state import TrainState

__all__ = [
    "KEEP",
    "BatchCadence",
    "Callback",
    "Checkpoint",
    "RotatingCheckpoint",
    "cadence",
    "checkpoint_file_name",
    "checkpoint_files",
]

#: how many files a :class:`RotatingCheckpoint` directory keeps (newest first)
KEEP = 2
_NAME = re.compile(r"^ckpt-e(\d+)-b(\d+)\.safetensors$")


class Callback:
    """Hooks into the loop; every method receives the :class:`TrainState`.

    In each epoch: ``on_epoch_begin``, ``on_batch_end`` after every
    mini-batch, ``on_evaluate_begin`` once the mini-batches are done and the
    epoch's measurements (training, validation and test data) begin, then
    ``on_epoch_end`` with them in the History. Set ``state.stop = True`` to
    end training after the current batch.
    Callbacks run inside ``np.errstate(over="ignore", invalid="ignore")``: the
    loop detects NaN/inf itself. A callback that does not override
    ``on_batch_end`` lets a compiled engine run a whole epoch in one call; one
    that does may say how often it really needs it with a ``batch_cadence``
    attribute (:class:`BatchCadence`), and the engine then runs the batches in
    between in one call. Without one, ``on_batch_end`` runs after every batch.
    """

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_begin(self, state: TrainState) -> None: ...

    def on_batch_end(self, state: TrainState) -> None: ...

    def on_evaluate_begin(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


def needs_batches(callback: Any) -> bool:
    """True when ``callback`` has its own ``on_batch_end`` (the loop must stop after each batch)."""
    hook = getattr(type(callback), "on_batch_end", None)
    return hook is not None and hook is not Callback.on_batch_end


@dataclass(frozen=True)
class BatchCadence:
    """How often a callback's ``on_batch_end`` must run within an epoch.

    ``every``: after every ``every``-th mini-batch of the epoch, exactly (a
    checkpoint every N batches); ``seconds``: after at most that much training
    time (a progress display, a Ctrl-C check). Neither: only when another
    callback's cadence stops the engine. The batches in between may run in one
    compiled call, so ``state.batch`` advances by more than one between calls.
    """

    every: int | None = None
    seconds: float | None = None


def cadence(callback: Any) -> BatchCadence | None:
    """``callback``'s :class:`BatchCadence`: empty without an ``on_batch_end`` of its own,
    None (after every batch) when it has one and no ``batch_cadence`` attribute."""
    if not needs_batches(callback):
        return BatchCadence()
    declared = getattr(callback, "batch_cadence", None)
    return declared if isinstance(declared, BatchCadence) else None


class Checkpoint(Callback):
    """Save the whole training state to ``path`` so a run can be resumed exactly.

    Writes after every ``every`` epochs and, when ``every_batches`` is set,
    also every that many mini-batches within an epoch. The file is written
    atomically by :func:`backprop.io.save_checkpoint`; resume with
    ``train(..., resume=path)`` and the same data and settings.
    """

    def __init__(
        self, path: str | os.PathLike[str], every: int = 1, every_batches: int | None = None
    ):
        self.path = path
        self.every = validation.positive_int("checkpoint every", every)
        self.every_batches = (
            None
            if every_batches is None
            else validation.positive_int("every_batches", every_batches)
        )

    def save(self, state: TrainState) -> None:
        from ..io.checkpoint import save_checkpoint

        save_checkpoint(self.path, *state.checkpoint())

    @property
    def batch_cadence(self) -> BatchCadence:
        """Saved after every ``every_batches``-th batch: the engine stops there exactly."""
        return BatchCadence(every=self.every_batches)

    def on_batch_end(self, state: TrainState) -> None:
        if self.every_batches and state.batch % self.every_batches == 0:
            if state.batch < state.n_batches:  # the epoch's end is saved by on_epoch_end
                self.save(state)

    def on_epoch_end(self, state: TrainState) -> None:
        if state.epoch % self.every == 0 or state.epoch == state.epochs:
            self.save(state)


def checkpoint_file_name(epoch: int, batch: int) -> str:
    """``ckpt-e0003-b000010.safetensors``: the file of epoch 3 after 10 mini-batches."""
    return f"ckpt-e{epoch:04d}-b{batch:06d}.safetensors"


def checkpoint_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The checkpoint files in ``directory``, newest (latest position) first."""
    found = []
    for entry in os.scandir(directory):
        m = _NAME.match(entry.name)
        if m and entry.is_file():
            found.append(((int(m[1]), int(m[2])), Path(entry.path)))
    return [p for _, p in sorted(found, reverse=True)]


class RotatingCheckpoint(Callback):
    """Write the training state into a directory: every epoch end, every N batches, on stop.

    Each write is one :func:`backprop.io.save_checkpoint` file named by its
    position (:func:`checkpoint_file_name`); after it is complete, all but the
    newest ``keep`` files are deleted. ``every`` is N mini-batches within an
    epoch, or None for epoch ends only. ``identity`` (optional) is stored as
    ``meta["run"]``: what must match for a resume (the CLI stores its settings
    and the data's fingerprint). A callback that sets ``state.stop`` (Ctrl-C)
    gets the state saved where it stopped.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        identity: dict[str, Any] | None = None,
        every: int | None = None,
        keep: int = KEEP,
    ):
        self.directory = Path(directory)
        self.identity = identity
        self.every = None if every is None else validation.positive_int("every", every)
        self.keep = validation.positive_int("keep", keep)
        self.last: Path | None = None

    def save(self, state: TrainState) -> Path:
        from ..io.checkpoint import save_checkpoint

        tensors, meta = state.checkpoint()
        if self.identity is not None:
            meta["run"] = self.identity
        path = self.directory / checkpoint_file_name(state.epoch, state.batch)
        save_checkpoint(path, tensors, meta)
        self.last = path
        self.prune()
        return path

    def prune(self) -> None:
        """Delete all but the newest ``keep`` checkpoints (called once a new one is complete)."""
        for old in checkpoint_files(self.directory)[self.keep :]:
            try:
                os.unlink(old)
            except OSError:
                pass

    @property
    def batch_cadence(self) -> BatchCadence:
        """After every ``every``-th batch, and wherever another callback stops the engine."""
        return BatchCadence(every=self.every)

    def on_batch_end(self, state: TrainState) -> None:
        if state.stop:  # Ctrl-C (or another callback) ends the run here
            self.save(state)
        elif self.every and state.batch % self.every == 0 and state.batch < state.n_batches:
            self.save(state)  # the epoch's last batch is saved by on_epoch_end

    def on_epoch_end(self, state: TrainState) -> None:
        self.save(state)
