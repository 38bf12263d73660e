"""``train(..., comm=comm)``: the one-process loop, with the work of each batch shared.

What differs from one process, and only that:

* set-up errors (settings, data) are agreed: every rank raises the same error together;
* rank 0's checkpoint (``resume``) and, without a seed, rank 0's random state are given
  to every rank; the settings, the network's architecture, the random state and the
  data are checked equal on every rank (else every rank raises one DataError/ConfigError);
* rank 0's initial weights are broadcast;
* the step is :class:`~.step.DataParallelStep` (shards, one Allreduce, the same update);
* the per-epoch measurements are made on shards and reduced
  (:class:`~.evaluation.ShardedEvaluation`);
* a stop is agreed: Ctrl-C on any rank, or a callback's ``state.stop`` in
  ``on_batch_end``, travels with the next Allreduce, and every rank stops after the
  same mini-batch (:class:`AgreedStop`); an agreed Ctrl-C that no callback claimed
  raises KeyboardInterrupt on every rank after the loop;
* :class:`~backprop.training.callbacks.Checkpoint` callbacks write on rank 0 only;
* any other exception on one rank ends the job (:func:`.failure.guard`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import optimizers as optim
from .. import schedules
from ..network import Network
from ..training import loop as _loop
from ..training import setup as _setup
from ..training.callbacks import Callback, Checkpoint, RotatingCheckpoint
from ..training.history import History
from ..training.metrics import evaluate_dataset
from ..training.state import TrainState, restore
from .collectives import broadcast_params, check_same, fingerprint
from .evaluation import ShardedEvaluation
from .failure import guard, mark_agreed, together
from .step import DataParallelStep

if TYPE_CHECKING:
    from mpi4py import MPI

__all__ = ["AgreedStop", "train_distributed"]


class AgreedStop(Callback):
    """Every rank stops after the same mini-batch (two instances: first and last callback).

    ``head`` (first): an agreed stop sets ``state.stop`` before the other callbacks run,
    so a checkpoint callback saves where training stops. ``tail`` (last): a
    ``state.stop`` that a callback set on this rank becomes a request that the next
    Allreduce carries; this rank trains that batch too, and then every rank stops.
    """

    def __init__(self, step: DataParallelStep, *, head: bool):
        self.step, self.head = step, head

    def on_batch_end(self, state: TrainState) -> None:
        request = self.step.stop
        if request.agreed:
            state.stop = True
        elif not self.head and state.stop:
            request.request()
            state.stop = False


def train_distributed(
    comm: MPI.Intracomm,
    net: Network,
    X: Any,
    Y: Any,
    *,
    callbacks: Sequence[Callback] | Callback = (),
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    resume: Any = None,
    engine: str = "auto",
    **settings: Any,
) -> History:
    """:func:`backprop.training.train` on the ranks of ``comm`` (every rank calls it alike).

    ``settings`` are ``train``'s other keyword arguments (epochs, batch_size, lr,
    optimizer, seed, momentum, beta1, beta2, eps, l2, dropout, schedule,
    validation_data, validation_fraction, test_data, patience).
    """
    rank = comm.Get_rank()
    with together(comm):
        s, opt, sched = _checked(net, settings)
        resumed = _setup.load_resume(resume) if rank == 0 else None
    resumed = comm.bcast(resumed, root=0)
    rng = rng if rng is not None else np.random.default_rng(settings.get("seed"))
    if settings.get("seed") is None:  # no seed: every rank takes rank 0's entropy
        rng.bit_generator.state = comm.bcast(rng.bit_generator.state, root=0)
    with together(comm):
        sets, val_index = _prepared(net, X, Y, s, settings, rng, resumed)
    train_set, val_set, test_set = sets
    check_same(comm, fingerprint(_arrays(sets)), "training, validation and test data")
    check_same(comm, _settings_digest(net, s, settings, rng, shuffle), "settings")
    broadcast_params(comm, net.params())
    n = len(train_set)
    state = _setup.new_state(net, opt, sched, rng, s, n, val_index)
    step = DataParallelStep(net, opt, l2=s.l2, n_train=n, dropout=s.dropout, rng=rng, comm=comm)
    step.kernels = step.kernels and engine != "readable"
    state._step = step
    if resumed is not None:
        with together(comm):
            restore(state, *resumed)
    hooks = [callbacks] if isinstance(callbacks, Callback) else list(callbacks)
    if rank != 0:  # files are rank 0's to write
        hooks = [cb for cb in hooks if not isinstance(cb, (Checkpoint, RotatingCheckpoint))]
    hooks = [AgreedStop(step, head=True), *hooks, AgreedStop(step, head=False)]
    extra = {}
    if "train_metrics" in inspect.signature(_loop.Loop).parameters:
        extra["train_metrics"] = settings.get("train_metrics", "running")
    loop = _loop.Loop(state, train_set, val_set, test_set, hooks, shuffle, s.patience, **extra)
    loop.evaluate = ShardedEvaluation(comm, evaluate_dataset)
    step.stop.install()
    try:
        with guard(comm):
            loop.run()
            step.leave()
    finally:
        step.stop.restore()
    if step.stop.agreed and not step.stop.claimed:
        raise mark_agreed(KeyboardInterrupt(), rank=0)
    return state.history


def _checked(net: Network, kw: dict[str, Any]) -> tuple[Any, optim.Optimizer, schedules.Schedule]:
    s = _setup.check_settings(
        net,
        kw["epochs"],
        kw["batch_size"],
        kw["lr"],
        kw.get("l2", 0.0),
        kw.get("dropout", 0.0),
        kw.get("validation_fraction", 0.0),
        kw.get("patience"),
    )
    _setup.check_combinations(net, s, kw.get("validation_data"))
    if "train_metrics" in kw:
        from ..training.running import check_train_metrics

        check_train_metrics(kw["train_metrics"])
    opt = optim.get(
        kw.get("optimizer", "sgd"),
        s.lr,
        momentum=kw.get("momentum", 0.9),
        beta1=kw.get("beta1", 0.9),
        beta2=kw.get("beta2", 0.999),
        eps=kw.get("eps", 1e-8),
    )
    return s, opt, schedules.get(kw.get("schedule"))


def _prepared(
    net: Network,
    X: Any,
    Y: Any,
    s: Any,
    kw: dict[str, Any],
    rng: np.random.Generator,
    resumed: Any,
) -> tuple[tuple[Any, Any, Any], Any]:
    validation_data, val_index = kw.get("validation_data"), None
    if s.validation_fraction:
        X, Y, validation_data, val_index = _setup.hold_out(
            X, Y, s.validation_fraction, rng, resumed
        )
    train_set = _setup.prepare(net, X, Y, "training data")
    val_set = _setup.optional_set(net, validation_data, "validation_data", "validation data")
    test_set = _setup.optional_set(net, kw.get("test_data"), "test_data", "test data")
    return (train_set, val_set, test_set), val_index


def _arrays(sets: tuple[Any, Any, Any]) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = []
    for data in sets:
        out += [None, None] if data is None else [data.X, data.T]
    return out


def _settings_digest(
    net: Network, s: Any, kw: dict[str, Any], rng: np.random.Generator, shuffle: bool
) -> str:
    """A digest of everything that must be equal on every rank besides the data."""
    optimizer = kw.get("optimizer", "sgd")
    described = {
        "settings": vars(s),
        "optimizer": _name(optimizer),
        "hyper": [kw.get(k) for k in ("momentum", "beta1", "beta2", "eps")],
        "schedule": _name(kw.get("schedule")),
        "shuffle": shuffle,
        "network": [list(net.sizes), list(net.activations), net.cost_name, str(net.dtype)],
        "rng": rng.bit_generator.state,
    }
    text = json.dumps(described, sort_keys=True, default=repr)
    return fingerprint([np.frombuffer(text.encode(), dtype=np.uint8)])


def _name(value: Any) -> Any:
    """A string, number or None as it is; an object by its class (its repr may hold an id)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return type(value).__name__
