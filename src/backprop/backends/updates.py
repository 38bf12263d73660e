"""The optimisers' updates on arrays of any namespace.

:mod:`backprop.optimizers` states each update once, for NumPy. Its only NumPy-only calls
are ``np.zeros_like`` (the state's first value) and ``np.sqrt`` (Adam); this module
repeats the same lines with the namespace's ``zeros_like`` and ``sqrt``, in the same order
of operations, so the numbers agree with NumPy's to rounding (the tests hold them to 1e-12).
The state (``v``; ``m``, ``v``, ``t``) is kept on the :class:`~backprop.optimizers.Optimizer`
itself, as arrays of the parameters' namespace and device, so ``state_dict()`` works as
for NumPy (:func:`state_to_numpy` makes it NumPy for a checkpoint).

In-place operators (``p -= …``) are part of the standard; ``out=`` is not and is not used.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

from .. import optimizers as optim
from ..errors import ConfigError
from .namespaces import XArray, copy_on, is_numpy_array, namespace_of, to_numpy


def step(optimizer: optim.Optimizer, params: Sequence[XArray], grads: Sequence[XArray]) -> None:
    """``optimizer.step(params, grads)`` for arrays of any namespace: θ updated in place.

    Raises
    ------
    ConfigError
        ``optimizer`` is a custom class, whose update this module does not know.
    """
    kind = check(optimizer)
    for key in ("m", "v"):  # state resumed from a checkpoint is NumPy: move it, once
        buffers = getattr(optimizer, key, None)
        if buffers and is_numpy_array(buffers[0]) and not is_numpy_array(params[0]):
            setattr(optimizer, key, [copy_on(p, a) for p, a in zip(params, buffers)])
    _UPDATES[kind](optimizer, params, grads, namespace_of(params[0]))


def check(optimizer: optim.Optimizer) -> type:
    """The optimizer's class, when this module knows its update; else ConfigError."""
    if type(optimizer) not in _UPDATES:
        raise ConfigError(
            f"the optimizer {type(optimizer).__name__} has no array-API form; "
            f"use one of: {', '.join(optim.OPTIMIZERS)}"
        )
    return type(optimizer)


def _sgd(opt: Any, params: Sequence[XArray], grads: Sequence[XArray], xp: Any) -> None:
    lr = float(opt.lr)
    for p, g in zip(params, grads):
        p -= lr * g  # θ ← θ − α ∂C/∂θ


def _momentum(opt: Any, params: Sequence[XArray], grads: Sequence[XArray], xp: Any) -> None:
    if opt.v is None:
        opt.v = [xp.zeros_like(p) for p in params]
    lr, mu = float(opt.lr), float(opt.momentum)
    for p, g, v in zip(params, grads, opt.v):
        v *= mu
        v -= lr * g  # v ← μ v − α g
        if opt.nesterov:
            p += mu * v - lr * g  # θ ← θ + μ v − α g
        else:
            p += v  # θ ← θ + v


def _adam(opt: Any, params: Sequence[XArray], grads: Sequence[XArray], xp: Any) -> None:
    if opt.m is None:
        opt.m = [xp.zeros_like(p) for p in params]
        opt.v = [xp.zeros_like(p) for p in params]
    opt.t += 1
    b1, b2, eps = float(opt.beta1), float(opt.beta2), float(opt.eps)
    correction1 = 1 - b1**opt.t  # 1 − β₁ᵗ
    sqrt_correction2 = math.sqrt(1 - b2**opt.t)  # √(1 − β₂ᵗ)
    step_size = float(opt.lr) / correction1
    for p, g, m, v in zip(params, grads, opt.m, opt.v):
        m *= b1
        m += (1 - b1) * g  # m ← β₁ m + (1 − β₁) g
        v *= b2
        v += (1 - b2) * (g * g)  # v ← β₂ v + (1 − β₂) g²
        denom = xp.sqrt(v)
        denom /= sqrt_correction2
        denom += eps  # √v̂ + ε
        p -= step_size * (m / denom)  # θ ← θ − α m̂ / (√v̂ + ε)


_UPDATES: dict[type, Callable[[Any, Sequence[XArray], Sequence[XArray], Any], None]] = {
    optim.SGD: _sgd,
    optim.Momentum: _momentum,
    optim.Adam: _adam,
}


def numpy_state_dict(optimizer: optim.Optimizer) -> dict[str, Any]:
    """``optimizer.state_dict()`` with its buffers as NumPy arrays, wherever they live."""
    buffers = {key: getattr(optimizer, key, None) for key in ("m", "v")}
    if all(not b or is_numpy_array(b[0]) for b in buffers.values()):
        return optimizer.state_dict()
    clone = copy.copy(optimizer)  # the same hyperparameters and counters, host buffers
    for key, b in buffers.items():
        if b:
            setattr(clone, key, [to_numpy(a) for a in b])
    return clone.state_dict()


def state_to_numpy(optimizer: optim.Optimizer) -> None:
    """Turn the optimizer's state arrays (``v``, ``m``) into NumPy arrays, in place."""
    for key in ("m", "v"):
        buffers = getattr(optimizer, key, None)
        if buffers is not None:
            setattr(optimizer, key, [to_numpy(a) for a in buffers])
