"""Moving a network between array libraries and devices: ``net.to(...)``'s work."""

from __future__ import annotations

from typing import Any

from ..network import Layers
from .functions import activation_for, cost_for
from .namespaces import Backend, resolve


def move(net: Any, to: str | Backend, device: str | None = None) -> Any:
    """A copy of ``net`` whose ``W[l]``, ``b[l]`` are arrays of backend ``to`` on ``device``.

    Each array crosses once (a copy, never shared with ``net``); the activations and the
    cost become their array-API forms (NumPy's own for ``to="numpy"``), so the copy's
    forward and backward passes compute in its namespace. Architecture, dtype and
    metadata are kept.

    Raises
    ------
    ConfigError
        Unknown library or device, a library that is not installed, no CUDA device, or a
        custom activation or cost (they have no array-API form).
    """
    backend = resolve(to, device) if isinstance(to, str) else to
    numpy = backend.is_numpy
    act = Layers(1, [activation_for(a, numpy) for a in net.act])
    cost_fn = cost_for(net.cost_fn, numpy)
    new = object.__new__(type(net))
    new.__dict__.update(net.__dict__)
    new.W = Layers(1, [backend.asarray(w, net.dtype) for w in net.W])
    new.b = Layers(1, [backend.asarray(b, net.dtype) for b in net.b])
    new.act, new.cost_fn = act, cost_fn
    new.metadata = dict(net.metadata)
    return new
