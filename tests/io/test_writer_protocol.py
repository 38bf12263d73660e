"""The model writer needs only a network's attributes, not the Network class.

``backprop.io.model_writer`` sits below ``backprop.network`` (``Network.save`` imports it),
so it reads a network through the :class:`SavableNetwork` protocol. Any object with those
attributes writes the same bytes as the Network it mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import backprop as bp
from backprop.errors import ConfigError
from backprop.io.model_writer import SavableNetwork, save
from backprop.network import Layers


@dataclass
class Mirror:
    """A plain record with a network's attributes (what an exporter or a server might hold)."""

    sizes: list[int]
    W: Layers[np.ndarray]
    b: Layers[np.ndarray]
    activations: list[str]
    cost_name: str
    dtype: str
    init: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        return sum(w.size + b.size for w, b in zip(self.W, self.b))


def test_any_object_with_the_attributes_writes_the_networks_bytes(tmp_path) -> None:
    net = bp.Network([4, 5, 3], activation="tanh", output="softmax", cost="cross-entropy", seed=2)
    net.metadata = {"note": "mirrored"}
    mirror = Mirror(
        sizes=list(net.sizes),
        W=Layers(1, [w.copy() for w in net.W]),
        b=Layers(1, [b.copy() for b in net.b]),
        activations=net.activations,
        cost_name=net.cost_name,
        dtype=net.dtype,
        init=str(net.init),
        metadata=dict(net.metadata),
    )
    assert isinstance(mirror, SavableNetwork) and not isinstance(mirror, bp.Network)
    save(mirror, tmp_path / "mirror.safetensors")
    net.save(tmp_path / "net.safetensors")
    assert (tmp_path / "mirror.safetensors").read_bytes() == (
        tmp_path / "net.safetensors"
    ).read_bytes()
    back = bp.load(tmp_path / "mirror.safetensors")
    assert back.config() == net.config() and back.metadata == {"note": "mirrored"}
    X = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_an_object_missing_an_attribute_is_refused(tmp_path) -> None:
    class Half:
        sizes = [2, 1]

    with pytest.raises(ConfigError, match="save\\(\\) needs a backprop.Network, got Half"):
        save(Half(), tmp_path / "half.safetensors")  # type: ignore[arg-type]
    assert not (tmp_path / "half.safetensors").exists()
