"""The training loop: :func:`train` runs epochs of mini-batches around a :class:`Step`.

:func:`train` checks its settings, prepares the data once, builds the
:class:`TrainState` and the engine's step (:func:`~backprop.training.step.make_step`),
and runs the :class:`Loop`: for each epoch a permutation of the rows, the
mini-batches (through the step), then the measurements, early stopping,
divergence handling and the callbacks. Nothing here prints.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import optimizers as optim
from .. import schedules, validation
from ..backends import all_finite, copy, first_value  # arrays of any library
from ..errors import ConfigError
from ..network import Network
from ..types import Array, ArrayLike
from .callbacks import Callback, cadence
from .history import History
from .inputs import Dataset, prepare
from .metrics import evaluate_dataset
from .running import RunningMetrics, check_train_metrics
from .setup import (
    Resume,
    check_combinations,
    check_settings,
    hold_out,
    load_resume,
    new_state,
    optional_set,
)
from .state import TrainState, restore
from .step import make_step

__all__ = ["Loop", "train"]


def train(
    net: Network,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    epochs: int = 30,
    batch_size: int = 10,
    lr: float | None = None,
    optimizer: str | optim.Optimizer = "sgd",
    seed: int | None = None,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    l2: float = 0.0,
    dropout: float = 0.0,
    schedule: str | schedules.Schedule | None = None,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    validation_fraction: float = 0.0,
    test_data: tuple[ArrayLike, ArrayLike] | None = None,
    patience: int | None = None,
    callbacks: Sequence[Callback] | Callback = (),
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    resume: str | os.PathLike[str] | Resume | None = None,
    engine: str = "auto",
    comm: Any = None,
    train_metrics: str = "running",
    verbose: bool = False,
) -> History:
    """Train ``net`` in place by mini-batch gradient descent; return the :class:`History`.

    Parameters
    ----------
    net : Network
        Updated in place (its ``params()`` arrays).
    X : array of shape (n, n_0)
        Training inputs, one example per row.
    Y : array of shape (n, n_L), or integer class labels of shape (n,)
        Targets; labels are turned into one-hot rows.
    epochs, batch_size : int, default 30 and 10
        Passes over the training data and examples per mini-batch (the last
        mini-batch of an epoch holds the remainder). The defaults, with ``lr``'s,
        are the book's chapter-1 run (docs/defaults.md compares the CLI's).
    lr : float, optional
        α, applied to the mini-batch mean gradient; the starting value when a
        ``schedule`` changes it. Default: ``optimizers.DEFAULT_LR`` — 3.0 for
        ``"sgd"``, 0.3 for ``"momentum"``/``"nesterov"``, 0.001 for ``"adam"`` —
        or an Optimizer object's own ``lr``.
    optimizer : {"sgd", "momentum", "nesterov", "adam"} or Optimizer
        ``momentum`` is μ for momentum/Nesterov; ``beta1``, ``beta2``, ``eps`` are Adam's.
    seed : int, optional
        Seeds the generator of the shuffles, dropout masks and validation split:
        the same seed (and data, network) gives bit-identical weights.
    l2 : float
        λ of L2 regularisation: W ← (1 − αλ/n) W − α ∂C₀/∂W with n the
        number of training examples; biases are not decayed.
    dropout : float
        Probability p of dropping each hidden neuron during training (inverted dropout).
    schedule : str or Schedule, optional
        Learning-rate schedule (:mod:`backprop.schedules`), e.g. ``"step:10:0.5"``.
    validation_data : (X_val, Y_val), optional
    validation_fraction : float
        Alternatively, hold out this fraction (rounded up) of the rows, drawn at random.
    test_data : (X_test, Y_test), optional
        Also measured after every epoch; never used for decisions.
    patience : int, optional
        Early stopping: end after ``patience`` epochs without a better
        validation score (accuracy for classification, cost otherwise), and
        return the best epoch's weights. Needs validation data.
    callbacks : sequence of Callback
    shuffle : bool
        Draw a new order of the training rows every epoch.
    rng : np.random.Generator, optional
        Use this generator instead of one built from ``seed``.
    resume : path, or (tensors, meta) from ``TrainState.checkpoint()``, optional
        Continue a run exactly (a file written by :class:`Checkpoint`); pass
        the same data and settings. ``epochs`` may be larger than before.
    engine : {"auto", "fast", "fast-no-ffi", "readable"}
        What computes the mini-batches (:mod:`backprop.training.step`): the
        readable ``Network.forward``/``backward``, or the fast engine (tested
        equal), with or without its BLAS binding; ``"auto"`` picks the fastest
        that can train the network.
    comm : mpi4py intracommunicator, optional
        Train on the ranks of ``comm`` (e.g. ``MPI.COMM_WORLD`` under ``mpiexec -n N``),
        every rank calling ``train`` alike: data parallelism that gives the one-process
        model (:mod:`backprop.distributed`). Default: one process.
    train_metrics : {"running", "full"}
        How ``History.train_cost``/``train_accuracy`` are measured: the mean over
        the epoch's mini-batches of each batch's own forward pass, before its
        update (``"running"``, as Keras; costs nothing), or a full pass over the
        training data after the epoch (``"full"``, ~⅓ of an epoch's arithmetic).
        See :mod:`backprop.training.running`.
    verbose : bool
        Show progress on stderr: adds a :class:`~backprop.training.progress.Progress`
        to ``callbacks`` (a live line on a terminal, else one line per epoch; on
        rank 0 only with ``comm``). The same as ``callbacks=[..., Progress()]``.

    Returns
    -------
    History
        Per-epoch costs and accuracies; ``diverged`` holds a message when the
        cost became NaN/inf (the last good weights are kept, no exception).
    """
    if lr is None:
        lr = optim.default_lr(optimizer)
    if verbose and (comm is None or comm.Get_rank() == 0):
        from .progress import Progress

        callbacks = [*([callbacks] if isinstance(callbacks, Callback) else callbacks), Progress()]
    if comm is not None:
        from ..distributed.training import train_distributed

        return train_distributed(
            comm, net, X, Y, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
            seed=seed, momentum=momentum, beta1=beta1, beta2=beta2, eps=eps, l2=l2,
            dropout=dropout, schedule=schedule, validation_data=validation_data,
            validation_fraction=validation_fraction, test_data=test_data, patience=patience,
            callbacks=callbacks, shuffle=shuffle, rng=rng, resume=resume, engine=engine,
            train_metrics=train_metrics,
        )  # fmt: skip
    s = check_settings(net, epochs, batch_size, lr, l2, dropout, validation_fraction, patience)
    train_metrics = check_train_metrics(train_metrics)
    check_combinations(net, s, validation_data)
    opt = optim.get(optimizer, s.lr, momentum=momentum, beta1=beta1, beta2=beta2, eps=eps)
    sched = schedules.get(schedule)
    rng = rng if rng is not None else validation.generator(seed)
    resumed = load_resume(resume)
    val_index = None
    if s.validation_fraction:
        X, Y, validation_data, val_index = hold_out(X, Y, s.validation_fraction, rng, resumed)
    train_set = prepare(net, X, Y, "training data")
    val_set = optional_set(net, validation_data, "validation_data", "validation data")
    test_set = optional_set(net, test_data, "test_data", "test data")
    n = len(train_set)
    state = new_state(net, opt, sched, rng, s, n, val_index)
    state._step = make_step(
        net, opt, l2=s.l2, n_train=n, dropout=s.dropout, rng=rng, engine=engine,
        batch_size=s.batch_size,
    )  # fmt: skip
    if resumed is not None:
        restore(state, *resumed)
    hooks = [callbacks] if isinstance(callbacks, Callback) else list(callbacks)
    Loop(state, train_set, val_set, test_set, hooks, shuffle, s.patience, train_metrics).run()
    return state.history


class Loop:
    """Epochs of mini-batches around a :class:`~.step.Step`, with the bookkeeping."""

    def __init__(
        self,
        state: TrainState,
        train_set: Dataset,
        val_set: Dataset | None,
        test_set: Dataset | None,
        callbacks: list[Callback],
        shuffle: bool,
        patience: int | None,
        train_metrics: str = "full",
    ):
        if state.step is None:
            raise ConfigError("the training state has no step to train with")
        self.state, self.step = state, state.step
        self.train_set, self.val_set, self.test_set = train_set, val_set, test_set
        self.callbacks = callbacks
        self.shuffle = shuffle
        self.patience = patience
        #: (net, Dataset) -> (C, accuracy): the per-epoch measurement (distributed: on shards)
        self.evaluate = evaluate_dataset
        # the monitored quantity: accuracy for classification, else cost
        monitored = val_set if val_set is not None else train_set
        self.mode = "max" if monitored.kind else "min"
        # ranges of batches in one call where the step can and every callback's cadence
        # allows it (a whole epoch when no callback needs on_batch_end)
        cadences = [cadence(cb) for cb in callbacks]
        runner = getattr(self.step, "run_batches", None)
        self.run_batches = None if None in cadences else runner
        self._every = [c.every for c in cadences if c is not None and c.every]
        seconds = [c.seconds for c in cadences if c is not None and c.seconds]
        self._seconds = min(seconds) if seconds else None
        self._batch_hooks = bool(self._every) or self._seconds is not None
        #: the epoch's training metrics from the steps' forward passes (None: a full pass)
        self.running = RunningMetrics(state.net, train_set) if train_metrics == "running" else None
        state._running = self.running  # state.running_metrics() during the epoch

    def _call(self, hook: str) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(self.state)

    def run(self) -> None:
        state = self.state
        params = self.step.params
        if state.last_good is None:  # else resumed in mid-epoch: the epoch's starting weights
            state.last_good = [copy(p) for p in params]
        last_good = state.last_good
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._call("on_train_begin")
            while not state.stop and (state.in_epoch or self._more_epochs()):
                if not state.in_epoch:
                    for saved, p in zip(last_good, self.step.params):
                        saved[...] = p
                    self._begin_epoch()
                if not self._batches():
                    self._end_epoch(last_good)  # diverged: restore and report now
                    break
                if state.batch < state.n_batches:
                    break  # stopped by a callback in the middle of the epoch
                if not self._end_epoch(last_good):
                    break
            if self.patience and state.best_params is not None and not state.in_epoch:
                for p, best in zip(self.step.params, state.best_params):
                    p[...] = best  # early stopping: return the best epoch's weights
            self._call("on_train_end")

    def _more_epochs(self) -> bool:
        """Another epoch is due: epochs left and patience not exhausted."""
        exhausted = self.patience is not None and self.state.wait >= self.patience
        return self.state.epoch < self.state.epochs and not exhausted

    def _begin_epoch(self) -> None:
        state = self.state
        state.epoch += 1
        state.batch = 0
        state.epoch_seconds = 0.0
        n = state.n_train
        state.perm = state.rng.permutation(n) if self.shuffle else np.arange(n)
        state.lr = float(state.schedule.lr(state.epoch, state.lr0))
        if self.running is not None:
            self.running.begin_epoch(self.step)
        self._call("on_epoch_begin")

    def _batches(self) -> bool:
        """The epoch's remaining mini-batches; False as soon as a weight is NaN/inf."""
        state, step = self.state, self.step
        X, T, bs, perm = self.train_set.X, self.train_set.T, state.batch_size, state.perm
        assert perm is not None  # set by _begin_epoch or a resumed checkpoint
        # b^L: a NaN/inf anywhere in the network reaches it within a step or two, and
        # one element costs nothing to test (_end_epoch makes the full check)
        sentinel = step.params[-1]
        if self.run_batches is not None:
            return self._ranges(X, T, bs, perm, sentinel)
        start = time.perf_counter()
        for k in range(state.batch, state.n_batches):
            step(X, T, perm[k * bs : (k + 1) * bs], state.lr)
            if self.running is not None:
                self.running.record(step, k * bs)
            state.batch = k + 1
            if not math.isfinite(first_value(sentinel)):
                return False
            if self.callbacks:
                state.epoch_seconds += time.perf_counter() - start
                self._call("on_batch_end")
                start = time.perf_counter()
                if state.stop:
                    return True
        state.epoch_seconds += time.perf_counter() - start
        return True

    def _ranges(self, X: Array, T: Array, bs: int, perm: Array, sentinel: Array) -> bool:
        """The epoch's remaining batches in ranges, one call each, ``on_batch_end`` after each.

        A range ends at the next multiple of a callback's ``every`` and, where a
        callback wants calls every ``seconds``, after as many batches as the last
        range ran in that time (at first one, then at most twice as many each time).
        """
        state, run = self.state, self.run_batches
        assert run is not None
        length = 1  # batches per range for a callback with ``seconds``
        while state.batch < state.n_batches:
            first, end = state.batch, state.n_batches
            for k in self._every:
                end = min(end, (first // k + 1) * k)
            if self._seconds is not None:
                end = min(end, first + length)
            start = time.perf_counter()
            done = run(X, T, perm, bs, first, end, state.lr)
            elapsed = time.perf_counter() - start
            state.batch = first + done
            state.epoch_seconds += elapsed
            if done < end - first or not math.isfinite(first_value(sentinel)):
                return False
            if self._batch_hooks:
                self._call("on_batch_end")
                if state.stop:
                    return True
            if self._seconds is not None:
                fits = int(self._seconds * done / elapsed) if elapsed > 0 else 2 * length
                length = max(1, min(2 * length, fits))
        return True

    def _end_epoch(self, last_good: list[Array]) -> bool:
        """Measure, record and decide; False when training must end."""
        state = self.state
        self._call("on_evaluate_begin")
        t0 = time.perf_counter()
        measured = None if self.running is None else self.running.result(self.step, state.perm)
        if measured is None:
            measured = self.evaluate(state.net, self.train_set)
        train_cost, train_acc = measured
        params = self.step.params
        if not (math.isfinite(train_cost) and all(all_finite(p) for p in params)):
            self._diverged(train_cost, params, last_good)
            return False
        val = self._measure(self.val_set)
        test = self._measure(self.test_set)
        self._record(train_cost, train_acc, val, test, time.perf_counter() - t0)
        self._early_stopping(train_cost, train_acc, val, params)
        state.perm = None
        if not self._more_epochs() and state.epoch < state.epochs:
            state.history.stopped_early = True  # patience exhausted
        self._call("on_epoch_end")
        return True

    def _measure(self, data: Dataset | None) -> tuple[float | None, float | None]:
        return (None, None) if data is None else self.evaluate(self.state.net, data)

    def _diverged(self, train_cost: float, params: list[Array], last_good: list[Array]) -> None:
        """Restore the epoch's starting weights and say what happened in ``history.diverged``."""
        state = self.state
        for p, saved in zip(params, last_good):
            p[...] = saved
        kept = f"epoch {state.epoch - 1}" if state.epoch > 1 else "initialisation"
        if math.isfinite(train_cost):
            what = "a weight became NaN or infinite"
        else:
            what = f"the cost became {train_cost}"
        state.history.diverged = (
            f"training diverged: {what} in epoch {state.epoch} "
            f"with learning rate {state.lr:g}; kept the weights from the end of {kept}. "
            f"Try a lower learning rate, e.g. lr={state.lr / 10:g}"
        )
        state.perm = None

    def _record(
        self,
        train_cost: float,
        train_acc: float | None,
        val: tuple[float | None, float | None],
        test: tuple[float | None, float | None],
        eval_seconds: float,
    ) -> None:
        state, h = self.state, self.state.history
        h.epoch.append(state.epoch)
        h.train_cost.append(train_cost)
        h.train_accuracy.append(train_acc)
        h.val_cost.append(val[0])
        h.val_accuracy.append(val[1])
        h.test_cost.append(test[0])
        h.test_accuracy.append(test[1])
        h.lr.append(state.lr)
        h.seconds.append(state.epoch_seconds)
        h.extras.setdefault("eval_seconds", []).append(eval_seconds)

    def _early_stopping(
        self,
        train_cost: float,
        train_acc: float | None,
        val: tuple[float | None, float | None],
        params: list[Array],
    ) -> None:
        """Track the best validation score (and weights, with patience); feed the schedule."""
        state = self.state
        if self.val_set is not None:
            score = val[1] if self.mode == "max" else val[0]
        else:
            score = train_acc if self.mode == "max" else train_cost
        assert score is not None  # the mode follows from the monitored set's kind
        if self.val_set is not None:
            if state.best_score is None or _better(score, state.best_score, self.mode):
                state.best_score, state.wait = score, 0
                state.history.best_epoch = state.epoch
                if self.patience:
                    state.best_params = [copy(p) for p in params]
            else:
                state.wait += 1
        state.schedule.observe(score, self.mode)


def _better(score: float, best: float, mode: str) -> bool:
    return score > best if mode == "max" else score < best
