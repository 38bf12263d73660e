"""Optimisers: ``step(params, grads)`` updates a list of arrays in place.

An optimiser knows nothing of networks (as in scikit-learn's
``_stochastic_optimizers.py`` and tinygrad's ``nn/optim.py``): it sees a list
of parameter arrays θ and their gradients ∂C/∂θ, in the same order, and
updates each θ in place. For a :class:`~backprop.Network` that list is
``net.params()`` = [W^1, b^1, …, W^L, b^L].

With α the learning rate ``lr`` and g = ∂C/∂θ (the mini-batch mean):

* ``sgd``:       θ ← θ − α g                                (the source's update)
* ``momentum``:  v ← μ v − α g;  θ ← θ + v                  (Nielsen ch. 3)
* ``nesterov``:  v ← μ v − α g;  θ ← θ + μ v − α g           (look-ahead form)
* ``adam``:      m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
                 θ ← θ − α m̂ / (√v̂ + ε),  m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)

The velocity v is kept in parameter units, as in the book and scikit-learn;
with a constant α this is exactly PyTorch's ``SGD(momentum=μ, nesterov=…)``
(whose buffer is −v/α). Adam is PyTorch's ``Adam`` (ε added to √v̂).

Every optimiser keeps its state in arrays of the parameters' dtype, so a
float32 network stays float32, and exposes it through ``state_dict()`` /
``load_state_dict()`` for checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import validation
from .errors import ConfigError, one_of
from .types import Array


class Optimizer:
    """Base class: ``lr`` and the in-place ``step``."""

    name = ""

    def __init__(self, lr: float):
        self.lr = validation.positive_float("lr", lr)

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        """Update every ``params[i]`` in place from ``grads[i]`` (same shapes)."""
        raise NotImplementedError

    def hyper(self) -> dict[str, Any]:
        """The hyperparameters (JSON-serialisable)."""
        return {"lr": self.lr}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: hyperparameters, counters, buffers.

        Keys ``name`` and the hyperparameters hold scalars; buffer entries hold
        lists of arrays (one per parameter), copied.
        """
        return {"name": self.name, **self.hyper()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ConfigError(
                f"optimizer state is for {state.get('name')!r}, not {self.name!r}; "
                f"resume with optimizer={state.get('name')!r}"
            )
        for key, value in self.hyper().items():
            setattr(self, key, type(value)(state.get(key, value)))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Plain gradient descent: θ ← θ − α g, the source's update."""

    name = "sgd"

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        lr = float(self.lr)
        for p, g in zip(params, grads):
            p -= lr * g  # θ ← θ − α ∂C/∂θ


class Momentum(Optimizer):
    """Momentum gradient descent (``nesterov=True``: Nesterov's look-ahead form).

    v ← μ v − α g, then θ ← θ + v (classical) or θ ← θ + μ v − α g (Nesterov).
    """

    def __init__(self, lr: float, momentum: float = 0.9, nesterov: bool = False):
        super().__init__(lr)
        self.momentum = validation.fraction("momentum", momentum)
        self.nesterov = bool(nesterov)
        self.v: list[Array] | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return "nesterov" if self.nesterov else "momentum"

    def hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum}

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        lr, mu = float(self.lr), float(self.momentum)
        for p, g, v in zip(params, grads, self.v):
            v *= mu
            v -= lr * g  # v ← μ v − α g
            if self.nesterov:
                p += mu * v - lr * g  # θ ← θ + μ v − α g
            else:
                p += v  # θ ← θ + v

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["v"] = None if self.v is None else [v.copy() for v in self.v]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        v = state.get("v")
        self.v = None if v is None else [np.array(a, copy=True) for a in v]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), in PyTorch's form."""

    name = "adam"

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ):
        super().__init__(lr)
        self.beta1 = validation.fraction("beta1", beta1)
        self.beta2 = validation.fraction("beta2", beta2)
        self.eps = validation.positive_float("eps", eps)
        self.t = 0
        self.m: list[Array] | None = None
        self.v: list[Array] | None = None

    def hyper(self) -> dict[str, Any]:
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def step(self, params: Sequence[Array], grads: Sequence[Array]) -> None:
        if self.m is None or self.v is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        b1, b2, eps = float(self.beta1), float(self.beta2), float(self.eps)
        correction1 = 1 - b1**self.t  # 1 − β₁ᵗ
        sqrt_correction2 = math.sqrt(1 - b2**self.t)  # √(1 − β₂ᵗ)
        step_size = float(self.lr) / correction1
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g  # m ← β₁ m + (1 − β₁) g
            v *= b2
            v += (1 - b2) * (g * g)  # v ← β₂ v + (1 − β₂) g²
            denom = np.sqrt(v)
            denom /= sqrt_correction2
            denom += eps  # √v̂ + ε
            p -= step_size * (m / denom)  # θ ← θ − α m̂ / (√v̂ + ε)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["t"] = self.t
        state["m"] = None if self.m is None else [a.copy() for a in self.m]
        state["v"] = None if self.v is None else [a.copy() for a in self.v]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.t = int(state.get("t", 0))
        m, v = state.get("m"), state.get("v")
        self.m = None if m is None else [np.array(a, copy=True) for a in m]
        self.v = None if v is None else [np.array(a, copy=True) for a in v]


OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")

#: ``backprop.train``'s learning rate when none is given: the book's η = 3.0 for plain SGD (its
#: chapter-1 run, on the Network's default sigmoid/quadratic/N(0, 1) network); a tenth of it
#: with momentum μ = 0.9, whose steady step is α/(1 − μ) = 10α; Kingma and Ba's 0.001 for Adam
DEFAULT_LR = {"sgd": 3.0, "momentum": 0.3, "nesterov": 0.3, "adam": 0.001}


def default_lr(optimizer: str | Optimizer) -> float:
    """The learning rate ``backprop.train`` uses for ``optimizer`` when ``lr`` is not given:
    :data:`DEFAULT_LR`, or an :class:`Optimizer` object's own ``lr``."""
    if isinstance(optimizer, Optimizer):
        return float(optimizer.lr)
    if optimizer not in DEFAULT_LR:
        raise one_of("optimizer", optimizer, OPTIMIZERS)
    return DEFAULT_LR[optimizer]


def get(name: str | Optimizer, lr: float, **hyper: float) -> Optimizer:
    """The optimiser called ``name`` with learning rate ``lr``.

    ``hyper`` may hold any of ``momentum``, ``beta1``, ``beta2``, ``eps``; each
    optimiser takes the ones it uses and ignores the rest, so a caller can pass
    one set of settings whatever the name. An :class:`Optimizer` passes through.
    """
    if isinstance(name, Optimizer):
        return name
    if name == "sgd":
        return SGD(lr)
    if name in ("momentum", "nesterov"):
        return Momentum(lr, hyper.get("momentum", 0.9), nesterov=name == "nesterov")
    if name == "adam":
        keys = ("beta1", "beta2", "eps")
        return Adam(lr, **{k: hyper[k] for k in keys if k in hyper})
    raise one_of("optimizer", name, OPTIMIZERS)
