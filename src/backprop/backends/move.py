"""Moving a network between array libraries and devices (``net.to(...)``), and its edges.

:func:`move` is ``net.to(...)``'s work; :func:`inputs` and :func:`targets` are
``Network``'s input checks for a network on another array library: NumPy data is checked
as for NumPy and moved once, arrays of the network's own library are checked in place.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataError
from ..network import Layers
from .functions import activation_for, cost_for
from .namespaces import Backend, XArray, backend_of, is_numpy_array, resolve


def move(net: Any, to: str | Backend, device: Any = None) -> Any:
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
    if not numpy:
        from . import step  # noqa: F401  (registers the "array-api" training engine)

    act = Layers(1, [activation_for(a, numpy) for a in net.act])
    cost_fn = cost_for(net.cost_fn, numpy)
    new = object.__new__(type(net))
    new.__dict__.update(net.__dict__)
    new.W = Layers(1, [backend.asarray(w, net.dtype) for w in net.W])
    new.b = Layers(1, [backend.asarray(b, net.dtype) for b in net.b])
    new.act, new.cost_fn = act, cost_fn
    new.metadata = dict(net.metadata)
    return new


# -- the network's edges for arrays of another library ---------------------------


def inputs(net: Any, X: Any) -> XArray:
    """``X`` (m, n_0) checked and on ``net``'s backend, in its dtype.

    NumPy data (or lists) are checked on the host and moved in one transfer; arrays of
    ``net``'s namespace are checked where they are (no transfer).

    Raises
    ------
    DataError
        Not 2-D, the wrong number of features, not numeric, or an array of another
        library than the network's.
    """
    backend = backend_of(net.W[1])
    if is_numpy_array(X) or not hasattr(X, "shape"):
        return backend.asarray(net._numpy_inputs(X), net.dtype)
    xp = _same_library(backend, X, "X")
    if X.ndim == 1:
        X = xp.reshape(X, (1, -1))
    if X.ndim != 2:
        raise DataError(f"X must be a 2-D array (examples, features), got shape {X.shape}")
    if X.shape[1] != net.sizes[0]:
        raise DataError(
            f"X has {X.shape[1]} features but the network's input layer has "
            f"{net.sizes[0]}; pass data with {net.sizes[0]} columns"
        )
    if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
        raise DataError(f"X must be numeric, got dtype {X.dtype}")
    return xp.astype(X, backend.dtype(net.dtype), copy=False)


def targets(net: Any, T: Any, m: int) -> XArray:
    """Targets (m, n_L) on ``net``'s backend, in its dtype; labels (m,) become one-hot rows."""
    backend = backend_of(net.W[1])
    if is_numpy_array(T) or not hasattr(T, "shape"):
        return backend.asarray(net._numpy_targets(T, m), net.dtype)
    xp = _same_library(backend, T, "targets")
    n_L = net.sizes[-1]
    if T.ndim == 1 and n_L > 1 and xp.isdtype(T.dtype, "integral"):
        if T.shape[0] and (int(xp.min(T)) < 0 or int(xp.max(T)) >= n_L):
            lo, hi = int(xp.min(T)), int(xp.max(T))
            raise DataError(f"class labels must lie in 0..{n_L - 1}, got {lo}..{hi}")
        classes = xp.arange(n_L, dtype=T.dtype, device=backend.device)
        T = xp.astype(T[:, None] == classes[None, :], backend.dtype(net.dtype))  # one-hot
    elif T.ndim == 1:
        T = xp.reshape(T, (-1, n_L) if n_L == 1 else (1, -1))
    if tuple(T.shape) != (m, n_L):
        raise DataError(f"targets must have shape ({m}, {n_L}), got {tuple(T.shape)}")
    return xp.astype(T, backend.dtype(net.dtype), copy=False)


def _same_library(backend: Backend, x: XArray, what: str) -> Any:
    other = backend_of(x)
    if other.name != backend.name:
        raise DataError(
            f"{what} is a {other.name} array but the network lives on {backend}; pass NumPy "
            f"data or {backend.name} arrays (or move the network with net.to({other.name!r}))"
        )
    return backend.xp
