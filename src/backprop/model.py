"""A trained network with the preprocessing its inputs need: what a model file holds.

:class:`Model` takes rows as the user has them (raw features, the target in its own
units) and keeps the :class:`~backprop.Network` pure: the network is trained on, and
computes with, standardised rows, and the model applies the stored
:class:`~backprop.preprocessing.Standardizer` at the edges::

    x   = (x_raw − μ) / s                 standardize (inputs)
    a^L = network(x)                      the network as trained: z^l = W^l a^{l-1} + b^l, …
    y   = a^L ∘ s_y + μ_y                 regression: the target back in its units

:func:`backprop.io.load` returns a Model for a file that holds a standardisation (and the
plain Network otherwise); ``Model.of`` makes one of either, so that callers can treat both
alike.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .errors import ConfigError, DataError
from .network import Network
from .preprocessing import Standardizer
from .types import Array, ArrayLike

__all__ = ["Model"]

#: what a Network has and a Model deliberately does not: the maths on standardised rows
_NETWORK_ONLY = frozenset(
    {"W", "b", "act", "cost_fn", "forward", "backward", "gradients", "cost", "astype"}
)


class Model:
    """A :class:`~backprop.Network` and its standardisation (or none).

    ``predict``, ``sizes``, ``metadata``, ``save`` and ``to`` work as a Network's do, on
    raw rows. The network's own maths (``forward``, ``backward``, ``cost``, ``W``, ``b``)
    is ``model.network``'s, on standardised rows (:meth:`inputs`, :meth:`targets`).

    Parameters
    ----------
    network : Network
        The network as trained: it takes standardised rows.
    standardizer : Standardizer, optional
        The per-feature mean and scale of the training rows (n_0,) and, for
        regression, of the target (n_L,). ``None``: the network takes raw rows.
    """

    def __init__(self, network: Network, standardizer: Standardizer | None = None):
        if not isinstance(network, Network):
            raise ConfigError(f"a Model needs a backprop.Network, got {type(network).__name__}")
        if standardizer is not None:
            if not isinstance(standardizer, Standardizer):
                raise ConfigError(
                    f"standardizer must be a backprop.preprocessing.Standardizer, got "
                    f"{type(standardizer).__name__}"
                )
            _check_fits(network, standardizer)
        self.network = network
        self.standardizer = standardizer

    @classmethod
    def of(cls, net: Network | Model) -> Model:
        """``net`` as a Model: a Model as it is, a Network with no standardisation."""
        return net if isinstance(net, Model) else cls(net)

    # -- the edges -----------------------------------------------------------

    def inputs(self, X: ArrayLike) -> Array:
        """The network's input for raw rows ``X`` (m, n_0): (X − μ) / s, float64."""
        if self.standardizer is None:
            return np.asarray(X)
        from .backends.namespaces import as_numpy

        return self.standardizer.transform(as_numpy(X))

    def targets(self, T: ArrayLike) -> Array:
        """The network's targets for raw ``T``: (T − μ_y) / s_y for a standardised
        regression target, else ``T`` as it is (class labels, one-hot rows)."""
        if self.standardizer is None:
            return np.asarray(T)
        return self.standardizer.transform_target(T)

    def outputs(self, A: Array) -> Array:
        """The network's output a^L (m, n_L) in the target's units: a^L ∘ s_y + μ_y."""
        return A if self.standardizer is None else self.standardizer.inverse_target(A)

    def predict(self, X: ArrayLike) -> Array:
        """The prediction for raw rows ``X`` (m, n_0), shape (m, n_L): the network's a^L on
        the standardised rows, in the target's units for a standardised target."""
        return self.outputs(self.network.predict(self.inputs(X)))

    # -- what a Network also has ----------------------------------------------

    @property
    def metadata(self) -> dict[str, Any]:
        """The network's metadata (one dict: the model's is the network's)."""
        return self.network.metadata

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self.network.metadata = value

    @property
    def sizes(self) -> list[int]:
        return self.network.sizes

    @property
    def L(self) -> int:
        return self.network.L

    @property
    def activations(self) -> list[str]:
        return self.network.activations

    @property
    def cost_name(self) -> str:
        return self.network.cost_name

    @property
    def dtype(self) -> str:
        return self.network.dtype

    @property
    def init(self) -> Any:
        return self.network.init

    @property
    def n_params(self) -> int:
        return self.network.n_params

    @property
    def xp(self) -> Any:
        return self.network.xp

    @property
    def device(self) -> Any:
        return self.network.device

    def params(self) -> list[Array]:
        """The network's [W^1, b^1, …, W^L, b^L]."""
        return self.network.params()

    def config(self) -> dict[str, Any]:
        """The network's architecture (:meth:`backprop.Network.config`)."""
        return self.network.config()

    def copy(self) -> Model:
        """A deep copy (the Standardizer is immutable and shared)."""
        return Model(self.network.copy(), self.standardizer)

    def to(self, library: str, device: Any = None) -> Model:
        """The model with its network on another array library and device; the
        standardisation is applied on the host."""
        return Model(self.network.to(library, device), self.standardizer)

    def save(self, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Any:
        """Write the network and its standardisation to a model file (:func:`backprop.io.save`)."""
        from .io.model_writer import save

        return save(self, path, metadata=metadata)

    def summary(self, print_fn: Any = print) -> None:
        """The network's layer table, then the standardisation."""
        self.network.summary(print_fn)
        print_fn(f"inputs: {describe(self.standardizer)}")

    def __repr__(self) -> str:
        return f"Model({self.network!r}, {self.standardizer!r})"

    def __getattr__(self, name: str) -> Any:
        # only reached for attributes a Model does not have
        if name in _NETWORK_ONLY:
            raise AttributeError(
                f"a Model has no {name!r}: it is the network's, which takes standardised rows; "
                f"use model.network.{name} with model.inputs(X) (and model.targets(T))"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def describe(standardizer: Standardizer | None) -> str:
    """One line: how a model's inputs (and target) are prepared."""
    if standardizer is None:
        return "taken as they are (no standardisation)"
    text = f"standardised, (x − mean) / scale, with {standardizer.n_features} stored means/scales"
    if standardizer.y_mean is not None:
        text += "; outputs un-scaled, a · y_scale + y_mean"
    return text


def _check_fits(network: Network, s: Standardizer) -> None:
    if s.n_features != network.sizes[0]:
        raise DataError(
            f"the standardisation is of {s.n_features} features but the network takes "
            f"{network.sizes[0]}"
        )
    if s.y_mean is not None and s.y_mean.size != network.sizes[-1]:
        raise DataError(
            f"the target's standardisation has {s.y_mean.size} columns but the network has "
            f"{network.sizes[-1]} outputs"
        )
