"""Learning-rate schedules: the α used in each epoch.

A schedule is a small object. ``lr(epoch, lr0)`` gives α for ``epoch``
(1-based, the first epoch is 1) from the starting rate ``lr0``;
``observe(value, mode)`` is called after each epoch with the monitored
quantity (``mode`` is ``"max"`` for an accuracy, ``"min"`` for a cost), which
only :class:`ReduceOnPlateau` uses. Every schedule has ``state_dict()`` /
``load_state_dict()`` so a resumed run continues with the same α.

==================  ==============================================  =========================
schedule            α in epoch e (1-based)                          spec string
==================  ==============================================  =========================
Constant()          lr0                                             ``constant``
StepDecay(s, γ)     lr0 · γ^⌊(e − 1)/s⌋                             ``step:S:GAMMA``
ExponentialDecay(γ) lr0 · γ^(e − 1)                                 ``exponential:GAMMA``
ReduceOnPlateau(…)  α ← max(α·factor, min_lr) after ``patience``    ``plateau:FACTOR:PATIENCE``
                    epochs without improvement
==================  ==============================================  =========================

StepDecay, ExponentialDecay and ReduceOnPlateau agree with PyTorch's
``StepLR``, ``ExponentialLR`` and ``ReduceLROnPlateau`` (relative threshold).
"""

from __future__ import annotations

from typing import Any

from . import validation
from .errors import ConfigError, one_of


class Schedule:
    """α as a function of the epoch; the base class is the constant schedule."""

    name = "constant"

    def lr(self, epoch: int, lr0: float) -> float:
        return lr0

    def observe(self, value: float, mode: str = "min") -> None:
        """Called after every epoch with the monitored quantity."""

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ConfigError(
                f"schedule state is for {state.get('name')!r}, not {self.name!r}; "
                f"resume with the schedule the run started with"
            )
        for key, value in state.items():
            if key != "name":
                setattr(self, key, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.state_dict().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """α = lr0 in every epoch."""


class StepDecay(Schedule):
    """α = lr0 · γ^⌊(e − 1)/step⌋: multiply by γ every ``step`` epochs."""

    name = "step"

    def __init__(self, step: int, gamma: float = 0.1):
        self.step = _positive_int("step", step)
        self.gamma = _positive("gamma", gamma)

    def lr(self, epoch: int, lr0: float) -> float:
        return lr0 * self.gamma ** ((epoch - 1) // self.step)

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step, "gamma": self.gamma}


class ExponentialDecay(Schedule):
    """α = lr0 · γ^(e − 1): multiply by γ after every epoch."""

    name = "exponential"

    def __init__(self, gamma: float):
        self.gamma = _positive("gamma", gamma)

    def lr(self, epoch: int, lr0: float) -> float:
        return lr0 * self.gamma ** (epoch - 1)

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "gamma": self.gamma}


class ReduceOnPlateau(Schedule):
    """Multiply α by ``factor`` when the monitored value stops improving.

    A value improves on the best so far when it is better by more than the
    relative ``threshold`` (for ``"min"``: value < best·(1 − threshold)). After
    more than ``patience`` epochs in a row without improvement,
    α ← max(α·factor, min_lr) and the count restarts (PyTorch's rule).
    """

    name = "plateau"

    def __init__(
        self, factor: float = 0.1, patience: int = 10, min_lr: float = 0.0, threshold: float = 1e-4
    ):
        self.factor = _positive("factor", factor)
        if self.factor >= 1:
            raise ConfigError(f"plateau factor must be below 1, got {factor!r}")
        self.patience = _non_negative_int("patience", patience)
        self.min_lr = float(min_lr)
        self.threshold = float(threshold)
        self.current: float | None = None  # α now; None until the first epoch
        self.best: float | None = None
        self.bad_epochs = 0

    def lr(self, epoch: int, lr0: float) -> float:
        if self.current is None:
            self.current = float(lr0)
        return self.current

    def observe(self, value: float, mode: str = "min") -> None:
        if mode not in ("min", "max"):
            raise one_of("plateau mode", mode, ("min", "max"))
        value = float(value)
        if self.best is None or _better(value, self.best, mode, self.threshold):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        if self.bad_epochs > self.patience and self.current is not None:
            new = max(self.current * self.factor, self.min_lr)
            if self.current - new > 1e-8:
                self.current = new
            self.bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "factor": self.factor,
            "patience": self.patience,
            "min_lr": self.min_lr,
            "threshold": self.threshold,
            "current": self.current,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
        }


def _better(value: float, best: float, mode: str, threshold: float) -> bool:
    if mode == "min":
        return value < best * (1 - threshold)
    return value > best * (1 + threshold)


SCHEDULES = ("constant", "step", "exponential", "plateau")


def get(spec: str | Schedule | None) -> Schedule:
    """A schedule from an object, ``None`` (constant) or a spec string.

    Spec strings: ``constant``, ``step:S[:GAMMA]``, ``exponential:GAMMA``,
    ``plateau[:FACTOR[:PATIENCE]]``.
    """
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"schedule must be a name like 'step:10:0.5', got {spec!r}")
    name, *args = spec.split(":")
    makers: dict[str, tuple[type[Schedule], tuple[type, ...]]] = {
        "constant": (Constant, ()),
        "step": (StepDecay, (int, float)),
        "exponential": (ExponentialDecay, (float,)),
        "plateau": (ReduceOnPlateau, (float, int)),
    }
    if name not in makers:
        raise one_of("schedule", name, SCHEDULES)
    cls, types = makers[name]
    if len(args) > len(types):
        raise ConfigError(f"schedule {spec!r} has too many fields; see backprop.schedules.get")
    try:
        values = [t(a) for t, a in zip(types, args)]
        return cls(*values)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(
            f"cannot read schedule {spec!r}: use constant, step:S:GAMMA, exponential:GAMMA "
            f"or plateau:FACTOR:PATIENCE"
        ) from None


def _positive(name: str, value: Any) -> float:
    return validation.positive_float(f"schedule {name}", value)


def _positive_int(name: str, value: Any) -> int:
    return validation.positive_int(f"schedule {name}", value, integral_floats=True)


def _non_negative_int(name: str, value: Any) -> int:
    return validation.non_negative_int(f"schedule {name}", value, integral_floats=True)
