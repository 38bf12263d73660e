"""Reading a model file back into a :class:`~backprop.network.Network`, trusting nothing.

Everything is checked before it is used: the container (:mod:`backprop.io.container`),
each tensor's dtype and shape against the architecture in the metadata document,
the activation and cost names, the standardisation's tensors when the document names
one, and the SHA-256 checksum of the tensor bytes and the document. Every problem is a
:class:`~backprop.errors.ModelFileError`.
"""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

import numpy as np

from .. import activations, costs
from ..errors import BackpropError, ModelFileError
from ..model import Model
from ..network import DTYPES, Layers, Network
from ..preprocessing import TENSORS, Standardizer
from . import container
from .container import few, is_count, short

__all__ = ["UnverifiedModelWarning", "load", "read_metadata"]

Architecture = dict[str, Any]


def load(
    path: str | os.PathLike[str], *, to: str | None = None, device: Any = None
) -> Network | Model:
    """Read a model file written by :func:`backprop.io.save` (or any safetensors writer,
    same schema).

    ``to`` (``"torch"``, ``"cupy"``, ``"array_api_strict"``) and ``device`` put the
    network on that array library and device (``net.to(to, device)``); default NumPy.

    Returns
    -------
    Network or Model
        The Network with the stored weights (bit-exact), architecture, dtype and
        ``metadata`` (the caller's metadata given to :func:`backprop.io.save`). A file
        that also holds a standardisation gives a :class:`backprop.Model`: that network
        (as trained, on standardised rows) and its
        :class:`~backprop.preprocessing.Standardizer`, whose ``predict`` takes raw rows.
        ``backprop.Model.of(load(path))`` is a Model either way.

    Raises
    ------
    ModelFileError
        Missing, unreadable, truncated, malformed or inconsistent file.
    """
    net, standardizer, _ = _load_model(path)
    loaded: Network | Model = net if standardizer is None else Model(net, standardizer)
    return loaded if to is None else loaded.to(to, device)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata document of a model file (see docs/model-format.md), fully verified.

    It holds ``format``, ``format_version``, ``library_version``, the
    architecture (``sizes``, ``activations``, ``output``, ``cost``, ``dtype``,
    ``init``, ``n_params``), ``sha256`` and the caller's ``metadata``.
    """
    return _load_model(path)[2]


def _load_model(
    path: str | os.PathLike[str],
) -> tuple[Network, Standardizer | None, dict[str, Any]]:
    where = container.cannot_load(path, "model")
    tensors, doc, signed = container.read(path, where, container.MODEL_FORMAT)
    arch = _check_architecture(doc, where)
    sizes, dtype = arch["sizes"], arch["dtype"]
    L = len(sizes) - 1
    expected = [f"{kind}{l}" for l in range(1, L + 1) for kind in ("W", "b")]
    scaling = _standardize_names(doc, where)
    _check_names(tensors, expected, where, scaling)
    for l in range(1, L + 1):
        _expect_shape(tensors, f"W{l}", [(sizes[l], sizes[l - 1])], sizes, where)
        _expect_shape(tensors, f"b{l}", [(sizes[l],), (sizes[l], 1)], sizes, where)
    for name in expected:
        if tensors[name].dtype != np.dtype(dtype):
            code = container.dtype_code(tensors[name].dtype)
            raise ModelFileError(f"{where}: tensor {name} is {code} but the metadata says {dtype}")
    _check_standardizer(tensors, scaling, sizes, where)
    container.verify_checksum(doc, tensors, signed, where, expected)
    for name in [*expected, *scaling]:
        if not np.isfinite(tensors[name]).all():
            raise ModelFileError(f"{where}: tensor {name} holds NaN or inf values")
    standardizer = _standardizer(tensors, scaling, where)
    net = _network(arch, where)
    net.W = Layers(1, [np.ascontiguousarray(tensors[f"W{l}"]) for l in range(1, L + 1)])
    net.b = Layers(1, [tensors[f"b{l}"].reshape(-1, 1).copy() for l in range(1, L + 1)])
    if doc["format_version"] == 1:
        _warn_version_1(doc, path)
    net.metadata = copy.deepcopy(doc["metadata"])
    return net, standardizer, doc


def _standardize_names(doc: dict[str, Any], where: str) -> list[str]:
    """The standardisation's tensor names the document's ``standardize`` field promises."""
    spec = doc.get("standardize")
    if spec is None:
        return []
    if (
        not isinstance(spec, dict)
        or set(spec) != {"target"}
        or not isinstance(spec["target"], bool)
    ):
        raise ModelFileError(
            f"{where}: metadata 'standardize' must be {{\"target\": true or false}}, "
            f"got {short(spec)}"
        )
    if doc["format_version"] < 3:
        raise ModelFileError(
            f"{where}: metadata 'standardize' needs format version 3 (its checksum covers "
            f"every tensor), but the file is version {doc['format_version']}"
        )
    keys = ["mean", "scale", *(["y_mean", "y_scale"] if spec["target"] else [])]
    return [TENSORS[key] for key in keys]


def _check_standardizer(
    tensors: dict[str, np.ndarray], names: list[str], sizes: list[int], where: str
) -> None:
    """Each standardisation tensor is float64 of shape (n_0,), or (n_L,) for the target."""
    for name in names:
        n = sizes[-1] if name in (TENSORS["y_mean"], TENSORS["y_scale"]) else sizes[0]
        _expect_shape(tensors, name, [(n,)], sizes, where)
        if tensors[name].dtype != np.float64:
            code = container.dtype_code(tensors[name].dtype)
            raise ModelFileError(f"{where}: tensor {name} is {code}; a standardisation is F64")


def _standardizer(
    tensors: dict[str, np.ndarray], names: list[str], where: str
) -> Standardizer | None:
    if not names:
        return None
    try:
        return Standardizer.from_tensors({name: tensors[name] for name in names})
    except BackpropError as exc:  # a zero or negative scale
        raise ModelFileError(f"{where}: invalid standardisation: {exc}") from None


def _warn_version_1(doc: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Format version 1's checksum covers the tensor bytes only: say so, drop what it cannot
    vouch for (the caller's metadata: class names, data, metrics)."""
    dropped = sorted(doc["metadata"])
    doc["metadata"] = {}
    warnings.warn(
        f"{os.fspath(path)!r} is a format-version-1 model file: its checksum covers the "
        "weights only, so its activations and cost are unverified and its metadata"
        + (f" ({few(dropped)})" if dropped else "")
        + " was ignored; load it, check it, and save it again to get a verified file",
        UnverifiedModelWarning,
        stacklevel=4,
    )


class UnverifiedModelWarning(UserWarning):
    """A model file was loaded whose checksum does not cover its metadata (format version 1)."""


def _network(arch: Architecture, where: str) -> Network:
    """A network of the stored architecture; its weights are set by the caller."""
    acts = arch["activations"]
    try:
        net = Network(
            arch["sizes"],
            activation=acts[:-1],
            output=acts[-1],
            cost=arch["cost"],
            init=_zeros,
            dtype=arch["dtype"],
        )
    except BackpropError as exc:
        raise ModelFileError(f"{where}: invalid architecture in the metadata: {exc}") from None
    net.init = arch["init"]
    return net


def _zeros(rng: np.random.Generator, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    """An initialiser that draws nothing: load() overwrites the weights."""
    return np.zeros((n_out, n_in)), np.zeros((n_out, 1))


def _check_architecture(doc: dict[str, Any], where: str) -> Architecture:
    """Type-check the model fields of the metadata document."""
    sizes = doc.get("sizes")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(is_count(n) and n >= 1 for n in sizes)
    ):
        raise ModelFileError(
            f"{where}: metadata 'sizes' must list ≥ 2 positive layer widths, got {short(sizes)}"
        )
    acts = _check_activations(doc, len(sizes) - 1, where)
    cost = doc.get("cost")
    if not isinstance(cost, str) or cost not in costs.COSTS:
        raise ModelFileError(
            f"{where}: unknown cost {short(cost)} in the metadata; this backprop knows "
            f"{', '.join(costs.COSTS)}"
        )
    dtype = doc.get("dtype")
    if dtype not in DTYPES:
        raise ModelFileError(
            f"{where}: metadata 'dtype' must be one of {', '.join(DTYPES)}, got {short(dtype)}"
        )
    init = doc.get("init", "unknown")
    if not isinstance(init, str):
        raise ModelFileError(f"{where}: metadata 'init' must be a string, got {short(init)}")
    if "n_params" in doc:
        n = sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, len(sizes)))
        if doc["n_params"] != n:
            raise ModelFileError(
                f"{where}: metadata 'n_params' is {short(doc['n_params'])} but sizes "
                f"{short(sizes)} give {n}"
            )
    if not isinstance(doc.get("metadata", {}), dict):
        raise ModelFileError(f"{where}: metadata 'metadata' must be a JSON object")
    doc.setdefault("metadata", {})
    return {"sizes": sizes, "activations": acts, "cost": cost, "dtype": dtype, "init": init}


def _check_activations(doc: dict[str, Any], L: int, where: str) -> list[str]:
    """``activations`` names one known σ per layer, and ``output`` (if present) agrees."""
    acts = doc.get("activations")
    if not isinstance(acts, list) or len(acts) != L or not all(isinstance(a, str) for a in acts):
        raise ModelFileError(
            f"{where}: metadata 'activations' must name one activation per layer ({L}), "
            f"got {short(acts)}"
        )
    for name in acts:
        if name not in activations.ACTIVATIONS:
            raise ModelFileError(
                f"{where}: unknown activation {short(name)} in the metadata; this backprop knows "
                f"{', '.join(activations.ACTIVATIONS)}"
            )
    if "output" in doc and doc["output"] != acts[-1]:
        raise ModelFileError(
            f"{where}: metadata 'output' {short(doc['output'])} disagrees with the last "
            f"activation {short(acts[-1])}"
        )
    return acts


def _check_names(
    tensors: dict[str, np.ndarray], expected: list[str], where: str, scaling: list[str]
) -> None:
    missing = [n for n in expected if n not in tensors]
    if missing:
        raise ModelFileError(
            f"{where}: missing tensor {few(missing)} for the {len(expected) // 2}-layer "
            "network the metadata describes"
        )
    missing = [n for n in scaling if n not in tensors]
    if missing:
        raise ModelFileError(
            f"{where}: missing tensor {few(missing)} for the standardisation the metadata describes"
        )
    extra = sorted(set(tensors) - set(expected) - set(scaling))
    if extra:
        held = few(expected) + (f" and {few(scaling)}" if scaling else "")
        raise ModelFileError(
            f"{where}: unexpected tensor {few(extra, short)}; a model holds only {held}"
        )


def _expect_shape(
    tensors: dict[str, np.ndarray],
    name: str,
    allowed: list[tuple[int, ...]],
    sizes: list[int],
    where: str,
) -> None:
    shape = tensors[name].shape
    if shape not in allowed:
        raise ModelFileError(
            f"{where}: tensor {name} has shape {list(shape)} but metadata sizes {short(sizes)} "
            f"need {list(allowed[0])}"
        )
