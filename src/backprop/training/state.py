"""Checkpoint files: named arrays and a JSON document, for resuming training bit for bit.

A checkpoint is the same safetensors container as a model file (see
:mod:`backprop.io.container`) with ``format`` ``"backprop.checkpoint"`` and the
caller's ``meta`` in the document; the checksum covers every tensor's name, dtype,
shape and bytes, and the document (format version 3). It knows nothing of networks, so the
training loop (which writes :class:`~backprop.training.TrainState`) can use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelFileError
from ..jsonable import to_jsonable
from ..version import __version__
from . import container

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(
    path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray], meta: Mapping[str, Any]
) -> Path:
    """Write named arrays and a JSON-serialisable ``meta`` dict to ``path``, atomically.

    Arrays may be bool, (u)int8–64, float16/32/64, of any shape; they come
    back bit-exact from :func:`load_checkpoint`, as does ``meta`` (through
    JSON: tuples become lists; Python ints of any size survive, so an
    ``np.random.Generator``'s ``bit_generator.state`` can go in ``meta``).

    Raises
    ------
    ConfigError
        A tensor name is not a non-empty string, a dtype is not storable, or
        ``meta`` is not JSON-serialisable.
    ModelFileError
        The file cannot be written.
    """
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ConfigError(f"checkpoint tensor names must be non-empty strings, got {name!r}")
        to_jsonable(name, "a checkpoint tensor name")  # refuses lone surrogates
        arr = np.asarray(value)
        if container.dtype_code(arr.dtype) is None:
            raise ConfigError(
                f"checkpoint tensor {name!r} has dtype {arr.dtype}; use bool, (u)int8-64 "
                "or float16/32/64"
            )
        arrays[name] = arr
    order = sorted(arrays)
    doc = {
        "format": container.CHECKPOINT_FORMAT,
        "format_version": container.FORMAT_VERSION,
        "library_version": __version__,
        "meta": to_jsonable(dict(meta), "checkpoint meta"),
    }
    container.seal(doc, {name: arrays[name] for name in order})
    container.write(path, {name: arrays[name] for name in order}, doc)
    return Path(path)


def load_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_checkpoint`: ``(tensors, meta)``, verified.

    Raises
    ------
    ModelFileError
        Missing, truncated, malformed file or checksum mismatch.
    """
    where = container.cannot_load(path, "checkpoint")
    tensors, doc, signed = container.read(path, where, container.CHECKPOINT_FORMAT)
    meta = doc.get("meta")
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: the metadata has no 'meta' object")
    container.verify_checksum(doc, tensors, signed, where, sorted(tensors))
    return tensors, meta
