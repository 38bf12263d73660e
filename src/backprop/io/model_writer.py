"""Writing a model file: a network's W^l, b^l and architecture into the safetensors container.

The writer needs nothing but the attributes every network has (see
:class:`SavableNetwork`), so it sits beside :mod:`backprop.network` in the core
and ``Network.save`` calls it without an import cycle; the reader, which builds a
:class:`~backprop.network.Network`, is :mod:`backprop.io.model_reader`.

A standardisation (:class:`~backprop.preprocessing.Standardizer`) is stored beside the
weights as the float64 tensors ``standardize.mean``, ``standardize.scale`` (and
``standardize.y_mean``, ``standardize.y_scale``), named in the document's
``standardize`` field; the checksum covers them like every tensor.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError, ModelFileError
from ..jsonable import to_jsonable
from ..preprocessing import Standardizer
from ..version import __version__
from . import container

__all__ = ["SavableModel", "SavableNetwork", "model_document", "save"]


@runtime_checkable
class SavableNetwork(Protocol):
    """What :func:`save` reads from a network (a :class:`backprop.Network` has it all).

    ``W`` and ``b`` are indexed by the book's layer number l = 1..L: W^l of shape
    (n_l, n_{l-1}) and b^l of shape (n_l, 1).
    """

    sizes: list[int]
    dtype: str
    metadata: dict[str, Any]

    @property
    def W(self) -> Any: ...  # Layers[np.ndarray]

    @property
    def b(self) -> Any: ...  # Layers[np.ndarray]

    @property
    def init(self) -> Any: ...

    @property
    def activations(self) -> list[str]: ...

    @property
    def cost_name(self) -> str: ...

    @property
    def n_params(self) -> int: ...


@runtime_checkable
class SavableModel(Protocol):
    """What :func:`save` reads from a :class:`backprop.Model`: its network and standardisation."""

    @property
    def network(self) -> Any: ...  # SavableNetwork

    @property
    def standardizer(self) -> Standardizer | None: ...


def save(
    net: SavableNetwork | SavableModel,
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    standardizer: Standardizer | None = None,
) -> Path:
    """Write ``net`` to ``path`` as a safetensors model file, atomically.

    Parameters
    ----------
    net : Network or Model
        Its weights W^l (n_l, n_{l-1}) are stored as ``W{l}``, its biases b^l
        as ``b{l}`` of shape (n_l,), in the network's dtype. A :class:`backprop.Model`
        is its network and its standardisation.
    path : str or PathLike
        The target; its directory must exist. An existing file is replaced
        only once the new one is complete.
    metadata : mapping, optional
        JSON-serialisable information saved with the model (training
        configuration, data fingerprint, final metrics), merged over
        ``net.metadata``. :func:`backprop.io.load` returns it as ``net.metadata``.
    standardizer : Standardizer, optional
        The inputs' (and a regression target's) standardisation the network was
        trained with, stored as float64 tensors; :func:`backprop.io.load` then returns
        a :class:`backprop.Model` that applies it. Default: a Model's own.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ModelFileError
        The file cannot be written, or a weight is NaN/inf.
    ConfigError
        ``metadata`` is not JSON-serialisable, or the standardisation does not fit.
    """
    if isinstance(net, SavableModel) and not isinstance(net, SavableNetwork):
        standardizer = net.standardizer if standardizer is None else standardizer
        inner: Any = net.network
        if getattr(inner, "xp", np) is not np:  # the same file from any device
            inner = inner.to("numpy")
        net = inner
    if not isinstance(net, SavableNetwork):
        raise ConfigError(f"save() needs a backprop.Network, got {type(net).__name__}")
    tensors = model_tensors(net)
    if standardizer is not None:
        tensors.update(_standardizer_tensors(standardizer, net))
    for name, value in tensors.items():
        if not np.isfinite(value).all():
            raise ModelFileError(
                f"refusing to save {os.fspath(path)!r}: {name} holds NaN or inf values; "
                "train with a lower learning rate"
            )
    doc = model_document(net, {**net.metadata, **(metadata or {})})
    if standardizer is not None:
        doc["standardize"] = {"target": standardizer.target}
    container.seal(doc, tensors)
    container.write(path, tensors, doc)
    return Path(path)


def model_tensors(net: SavableNetwork) -> dict[str, np.ndarray]:
    """``{"W1": W^1, "b1": b^1 as (n_1,), …}``: the tensors of a model file, in file order."""
    tensors: dict[str, np.ndarray] = {}
    layers: Iterable[int] = net.W.keys()
    for l in layers:
        tensors[f"W{l}"] = net.W[l]
        tensors[f"b{l}"] = net.b[l].reshape(-1)
    return tensors


def _standardizer_tensors(s: Standardizer, net: SavableNetwork) -> dict[str, np.ndarray]:
    """The standardisation's float64 tensors, after checking that it fits the network."""
    if not isinstance(s, Standardizer):
        raise ConfigError(
            f"standardizer must be a backprop.preprocessing.Standardizer, got {type(s).__name__}"
        )
    if s.n_features != net.sizes[0] or (s.y_mean is not None and s.y_mean.size != net.sizes[-1]):
        raise ConfigError(
            f"the standardisation ({s!r}) does not fit the network's {net.sizes[0]} inputs "
            f"and {net.sizes[-1]} outputs"
        )
    return s.to_tensors()


def model_document(net: SavableNetwork, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document of a model file, without ``sha256`` (docs/model-format.md)."""
    return {
        "format": container.MODEL_FORMAT,
        "format_version": container.FORMAT_VERSION,
        "library_version": __version__,
        "sizes": list(net.sizes),
        "activations": list(net.activations),
        "output": net.activations[-1],
        "cost": net.cost_name,
        "dtype": net.dtype,
        "init": str(net.init),
        "n_params": int(net.n_params),
        "metadata": to_jsonable(dict(metadata), "metadata"),
    }
