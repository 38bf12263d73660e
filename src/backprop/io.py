"""Model and checkpoint files in the safetensors format, read and written with NumPy only.

A model file holds the tensors ``W1, b1, …, WL, bL`` (W^l of shape (n_l, n_{l-1}),
b^l of shape (n_l,)) and, under the header's ``__metadata__`` key ``"backprop"``,
one JSON document with the architecture, the caller's metadata (training
configuration, data fingerprint, final metrics) and a SHA-256 checksum of the
whole contents: the tensor bytes and the rest of that document. The layout
is documented in ``docs/model-format.md``; the files load with
``safetensors.numpy.load_file`` and ``safetensors.torch.load_file``.

The safetensors container::

    8 bytes          N, the header length, unsigned little-endian
    N bytes          UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape",
                     "data_offsets": [begin, end]}, …}, padded with spaces to a multiple of 8
    rest             the tensors' raw little-endian C-order bytes; offsets are relative
                     to the start of this buffer, and the tensors tile it exactly

Writes are atomic (:mod:`backprop._atomic`). Reading trusts nothing: every
problem is a :class:`~backprop.errors.ModelFileError` with a one-line message.
Nothing is ever unpickled or evaluated.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import stat
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import activations, costs
from ._atomic import atomic_write
from .errors import BackpropError, ConfigError, ModelFileError
from .network import DTYPES, Layers, Network

__all__ = ["FORMAT_VERSION", "load", "load_checkpoint", "read_metadata", "save", "save_checkpoint"]

#: Version of the JSON document stored in the header; bumped on incompatible changes.
#: Version 2 (written now): ``sha256`` covers the tensor bytes and the metadata document.
#: Version 1 (still read): ``sha256`` covers the tensor bytes only.
FORMAT_VERSION = 2
#: The ``__metadata__`` key whose value is our JSON document.
METADATA_KEY = "backprop"
MODEL_FORMAT = "backprop.model"
CHECKPOINT_FORMAT = "backprop.checkpoint"
#: safetensors' own limit on the header size.
MAX_HEADER_BYTES = 100_000_000
#: Most dimensions a stored tensor may have (NumPy 1.x allows 32).
MAX_DIMS = 32

# safetensors dtype code <-> NumPy dtype (little-endian). BF16 has no NumPy type.
_CODES = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
}
_CODE_OF = {(dt.kind, dt.itemsize): code for code, dt in _CODES.items()}
_MODEL_CODES = {"float32": "F32", "float64": "F64"}

_HINT = "pass a model written by net.save() or `backprop train --out`"


# -- models ----------------------------------------------------------------


def save(net: Network, path: str | os.PathLike, *, metadata: Mapping | None = None) -> Path:
    """Write ``net`` to ``path`` as a safetensors model file, atomically.

    Parameters
    ----------
    net : Network
        Its weights W^l (n_l, n_{l-1}) are stored as ``W{l}``, its biases b^l
        as ``b{l}`` of shape (n_l,), in the network's dtype.
    path : str or PathLike
        The target; its directory must exist. An existing file is replaced
        only once the new one is complete.
    metadata : mapping, optional
        JSON-serialisable information saved with the model (training
        configuration, data fingerprint, final metrics), merged over
        ``net.metadata``. :func:`load` returns it as ``net.metadata``.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ModelFileError
        The file cannot be written, or a weight is NaN/inf.
    ConfigError
        ``metadata`` is not JSON-serialisable.
    """
    if not isinstance(net, Network):
        raise ConfigError(f"save() needs a backprop.Network, got {type(net).__name__}")
    tensors = {}
    for l in net.W.keys():
        tensors[f"W{l}"] = net.W[l]
        tensors[f"b{l}"] = net.b[l].reshape(-1)
    for name, value in tensors.items():
        if not np.isfinite(value).all():
            raise ModelFileError(
                f"refusing to save {os.fspath(path)!r}: {name} holds NaN or inf values; "
                "train with a lower learning rate"
            )
    user = _jsonable({**net.metadata, **(metadata or {})}, "metadata")
    from . import __version__

    doc = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "sizes": list(net.sizes),
        "activations": net.activations,
        "output": net.activations[-1],
        "cost": net.cost_name,
        "dtype": net.dtype,
        "init": str(net.init),
        "n_params": int(net.n_params),
        "metadata": user,
    }
    _seal(doc, tensors.values())
    _write(path, tensors, doc)
    return Path(path)


def load(path: str | os.PathLike) -> Network:
    """Read a model file written by :func:`save` (or any safetensors writer, same schema).

    Everything is checked before it is used: the container structure, each
    tensor's dtype, shape and byte range, the metadata document, its
    agreement with the tensors, the activation and cost names, and the
    SHA-256 checksum of the tensor bytes and the metadata document.

    Returns
    -------
    Network
        With the stored weights (bit-exact), architecture, dtype and
        ``metadata`` (the caller's metadata given to :func:`save`).

    Raises
    ------
    ModelFileError
        Missing, unreadable, truncated, malformed or inconsistent file.
    """
    return _load_model(path)[0]


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata document of a model file (see docs/model-format.md), fully verified.

    It holds ``format``, ``format_version``, ``library_version``, the
    architecture (``sizes``, ``activations``, ``output``, ``cost``, ``dtype``,
    ``init``, ``n_params``), ``sha256`` and the caller's ``metadata``.
    """
    return _load_model(path)[1]


def _load_model(path) -> tuple[Network, dict]:
    where = _where(path, "model")
    tensors, doc, signed = _read(path, where, MODEL_FORMAT)
    arch = _check_architecture(doc, where)
    sizes, acts, cost, dtype = arch["sizes"], arch["activations"], arch["cost"], arch["dtype"]
    L = len(sizes) - 1
    expected = [f"{kind}{l}" for l in range(1, L + 1) for kind in ("W", "b")]
    _check_names(tensors, expected, where)
    for l in range(1, L + 1):
        _expect_shape(tensors, f"W{l}", [(sizes[l], sizes[l - 1])], sizes, where)
        _expect_shape(tensors, f"b{l}", [(sizes[l],), (sizes[l], 1)], sizes, where)
    for name in expected:
        if tensors[name].dtype != np.dtype(dtype):
            code = _code(tensors[name].dtype)
            raise ModelFileError(f"{where}: tensor {name} is {code} but the metadata says {dtype}")
    _verify_checksum(doc, [tensors[name] for name in expected], signed, where)
    for name in expected:
        if not np.isfinite(tensors[name]).all():
            raise ModelFileError(f"{where}: tensor {name} holds NaN or inf values")
    try:
        net = Network(
            sizes, activation=acts[:-1], output=acts[-1], cost=cost, init=_zeros, dtype=dtype
        )
    except BackpropError as exc:
        raise ModelFileError(f"{where}: invalid architecture in the metadata: {exc}") from None
    net.init = arch["init"]
    net.W = Layers(1, [np.ascontiguousarray(tensors[f"W{l}"]) for l in range(1, L + 1)])
    net.b = Layers(1, [tensors[f"b{l}"].reshape(-1, 1).copy() for l in range(1, L + 1)])
    net.metadata = copy.deepcopy(doc["metadata"])
    return net, doc


# -- checkpoints -------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike, tensors: Mapping[str, np.ndarray], meta: Mapping
) -> Path:
    """Write named arrays and a JSON-serialisable ``meta`` dict to ``path``, atomically.

    Arrays may be bool, (u)int8–64, float16/32/64, of any shape; they come
    back bit-exact from :func:`load_checkpoint`, as does ``meta`` (through
    JSON: tuples become lists; Python ints of any size survive, so an
    ``np.random.Generator``'s ``bit_generator.state`` can go in ``meta``).
    """
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ConfigError(f"checkpoint tensor names must be non-empty strings, got {name!r}")
        _unicode(name, "a checkpoint tensor name")
        arr = np.asarray(value)
        if _code(arr.dtype) is None:
            raise ConfigError(
                f"checkpoint tensor {name!r} has dtype {arr.dtype}; use bool, (u)int8-64 "
                "or float16/32/64"
            )
        arrays[name] = arr
    from . import __version__

    order = sorted(arrays)
    doc = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "meta": _jsonable(dict(meta), "checkpoint meta"),
    }
    _seal(doc, (arrays[name] for name in order))
    _write(path, {name: arrays[name] for name in order}, doc)
    return Path(path)


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read a file written by :func:`save_checkpoint`: ``(tensors, meta)``, verified.

    Raises
    ------
    ModelFileError
        Missing, truncated, malformed file or checksum mismatch.
    """
    where = _where(path, "checkpoint")
    tensors, doc, signed = _read(path, where, CHECKPOINT_FORMAT)
    if not isinstance(doc.get("meta"), dict):
        raise ModelFileError(f"{where}: the metadata has no 'meta' object")
    _verify_checksum(doc, [tensors[name] for name in sorted(tensors)], signed, where)
    return tensors, doc["meta"]


# -- writing ------------------------------------------------------------------


def _write(path, tensors: Mapping[str, np.ndarray], doc: dict) -> None:
    """Lay out the header and buffer and write them atomically.

    The buffer holds the tensors by decreasing item size (a stable sort, so
    otherwise in the given order), as safetensors' own writer does, so every
    tensor starts aligned.
    """
    arrays = {
        name: np.asarray(arr, dtype=arr.dtype.newbyteorder("<"), order="C")
        for name, arr in tensors.items()
    }
    header: dict[str, Any] = {
        "__metadata__": {
            METADATA_KEY: json.dumps(doc, ensure_ascii=False, allow_nan=False, sort_keys=True)
        }
    }
    offset = 0
    for name in sorted(arrays, key=lambda n: -arrays[n].dtype.itemsize):
        arr = arrays[name]
        header[name] = {
            "dtype": _code(arr.dtype),
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with atomic_write(path, error=ModelFileError) as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in header:
            if name != "__metadata__":
                f.write(arrays[name].reshape(-1).view(np.uint8).data)


def _code(dtype: np.dtype) -> str | None:
    """The safetensors dtype code of a NumPy dtype (any byte order), or None."""
    return _CODE_OF.get((dtype.kind, dtype.itemsize))


def _sha256(arrays, signed: bytes) -> str:
    """SHA-256 of the arrays' little-endian C-order bytes in the given order, then ``signed``."""
    h = hashlib.sha256()
    for arr in arrays:
        arr = np.asarray(arr)
        h.update(np.asarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes(order="C"))
    h.update(signed)
    return h.hexdigest()


def _seal(doc: dict, arrays) -> None:
    """Set ``doc["sha256"]``: the checksum of the arrays and of ``doc`` as readers will parse it."""
    stored = json.loads(json.dumps(doc, ensure_ascii=False, allow_nan=False))
    doc["sha256"] = _sha256(arrays, _signed_part(stored))


def _signed_part(doc: dict) -> bytes:
    """The metadata document without ``sha256``, canonically serialised (format version 2).

    ``json.dumps(doc_without_sha256, sort_keys=True, separators=(",", ":"))`` with
    Python's defaults otherwise (non-ASCII characters as ``\\uXXXX`` escapes), as
    ASCII bytes: the same text for any JSON text of the same document. The
    writer hashes the document it stores parsed back, so both sides agree.
    """
    rest = {key: value for key, value in doc.items() if key != "sha256"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


def _jsonable(value: Any, what: str, _depth: int = 0) -> Any:
    """``value`` as plain JSON types: NumPy scalars/arrays and paths converted, NaN/inf → None."""
    if _depth > 100:
        raise ConfigError(f"{what} is nested too deeply to save")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _unicode(value, what)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), what, _depth + 1)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{what} keys must be strings, got {k!r}")
            out[_unicode(k, what)] = _jsonable(v, what, _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, what, _depth + 1) for v in value]
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict(), what, _depth + 1)
    raise ConfigError(
        f"{what} holds a {type(value).__name__}, which cannot be saved as JSON; "
        "use numbers, strings, lists and dicts"
    )


def _unicode(text: str, what: str) -> str:
    """``text`` if it can be stored as UTF-8 (no lone surrogates such as '\\ud800')."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"{what} holds the string {_short(text)}, which is not valid Unicode "
            "(a lone surrogate); remove or replace that character"
        ) from None
    return text


def _zeros(rng, n_out: int, n_in: int):
    """An initialiser that draws nothing: load() overwrites the weights."""
    return np.zeros((n_out, n_in)), np.zeros((n_out, 1))


# -- reading ---------------------------------------------------------------------


def _where(path, kind: str) -> str:
    return f"cannot load {kind} {os.fspath(path)!r}"


def _read(path, where: str, fmt: str) -> tuple[dict[str, np.ndarray], dict, bytes]:
    """Parse and validate the container.

    Returns the tensors, our metadata document, and the bytes the checksum
    covers after the tensors: the document as stored, without ``sha256``,
    canonically serialised (nothing for format version 1). They are taken
    before the document is used, so later defaults cannot change them.
    """
    data = _read_bytes(path, where)
    header, buffer = _split(data, where)
    tensors = _tensors(header, buffer, where)
    doc = _document(header, where, fmt)
    if doc["format_version"] == 1:
        return tensors, doc, b""
    try:
        signed = _signed_part(doc)
    except (ValueError, RecursionError):
        raise ModelFileError(
            f"{where}: the {METADATA_KEY!r} metadata cannot be re-serialised"
        ) from None
    return tensors, doc, signed


def _read_bytes(path, where: str) -> bytes:
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ModelFileError(f"{where}: not a regular file")
            return f.read()
    except FileNotFoundError:
        raise ModelFileError(f"{where}: no such file; check the path") from None
    except IsADirectoryError:
        raise ModelFileError(f"{where}: it is a directory, not a file") from None
    except PermissionError:
        raise ModelFileError(f"{where}: permission denied") from None
    except (OSError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: {exc}") from None


def _split(data: bytes, where: str) -> tuple[dict, memoryview]:
    """Header (parsed JSON object) and the byte buffer that follows it."""
    if len(data) < 8:
        raise ModelFileError(
            f"{where}: not a safetensors file (only {len(data)} bytes; truncated?); {_HINT}"
        )
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n > len(data) - 8:
        raise ModelFileError(
            f"{where}: not a safetensors file or truncated (header length {n} does not fit "
            f"in the {len(data)}-byte file); {_HINT}"
        )
    raw = data[8 : 8 + n]
    if n < 2 or raw[:1] != b"{":
        raise ModelFileError(f"{where}: not a safetensors file (no JSON header); {_HINT}")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"{where}: the safetensors header is not valid JSON ({detail}); {_HINT}"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: the safetensors header is not a JSON object; {_HINT}")
    return header, memoryview(data)[8 + n :]


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {_short(dup)}")
    return dict(pairs)


def _tensors(header: dict, buffer: memoryview, where: str) -> dict[str, np.ndarray]:
    """Check every tensor entry and that they tile the buffer; return copies of the arrays."""
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        bad = f"{where}: tensor {_short(name)} has "
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{bad}a malformed entry (need dtype, shape, data_offsets)")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(code, str) or code not in _CODES:
            raise ModelFileError(
                f"{bad}unsupported dtype {_short(code)}; expected one of {', '.join(_CODES)}"
            )
        if (
            not isinstance(shape, list)
            or len(shape) > MAX_DIMS
            or not all(_is_count(d) for d in shape)
        ):
            raise ModelFileError(f"{bad}an invalid shape {_short(shape)}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise ModelFileError(f"{bad}invalid data_offsets {_short(offsets)}")
        begin, end = offsets
        if end > len(buffer):
            raise ModelFileError(
                f"{bad}data_offsets {_short(offsets)} past the end of the {len(buffer)}-byte data "
                "(truncated file?)"
            )
        nbytes = math.prod(shape) * _CODES[code].itemsize
        if end - begin != nbytes:
            raise ModelFileError(
                f"{bad}{end - begin} bytes but shape {_short(shape)} of {code} needs {nbytes}"
            )
        spans.append((begin, end, name))
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a gap"
            raise ModelFileError(f"{where}: tensor {_short(name)} {problem} in the data buffer")
        position = end
    if position != len(buffer):
        raise ModelFileError(
            f"{where}: the tensors cover {position} of the {len(buffer)} data bytes "
            "(trailing bytes)"
        )
    tensors = {}
    for begin, end, name in spans:
        entry = header[name]
        dt = _CODES[entry["dtype"]]
        arr = np.frombuffer(buffer[begin:end], dtype=dt).reshape(entry["shape"])
        tensors[name] = arr.astype(dt.newbyteorder("="), copy=True)
    return tensors


def _short(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: file contents are echoed in messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _few(names: list, show=str, limit: int = 6) -> str:
    """A comma-separated list, cut after ``limit`` items."""
    text = ", ".join(show(n) for n in names[:limit])
    return text + (f", … ({len(names)} in all)" if len(names) > limit else "")


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _document(header: dict, where: str, fmt: str) -> dict:
    """Our JSON document from ``__metadata__``, with the fields every file has checked."""
    meta = header.get("__metadata__")
    if meta is None:
        raise ModelFileError(
            f"{where}: the safetensors file has no __metadata__, so it was not written by "
            f"backprop; {_HINT}"
        )
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(f"{where}: __metadata__ must map strings to strings")
    if METADATA_KEY not in meta:
        raise ModelFileError(
            f"{where}: __metadata__ has no {METADATA_KEY!r} entry, so it was not written by "
            f"backprop; {_HINT}"
        )
    try:
        doc = json.loads(meta[METADATA_KEY], object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        raise ModelFileError(f"{where}: the {METADATA_KEY!r} metadata is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ModelFileError(f"{where}: the {METADATA_KEY!r} metadata is not a JSON object")
    found = doc.get("format")
    if found != fmt:
        kinds = {MODEL_FORMAT: "a model", CHECKPOINT_FORMAT: "a checkpoint"}
        if isinstance(found, str) and found in kinds:
            loader = "load_checkpoint()" if found == CHECKPOINT_FORMAT else "load()"
            raise ModelFileError(f"{where}: this is {kinds[found]} file; use {loader}")
        raise ModelFileError(f"{where}: metadata 'format' is {_short(found)}, expected {fmt!r}")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where}: metadata 'format_version' is missing or invalid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: written by a newer backprop (format version {version}, this one reads "
            f"{FORMAT_VERSION}); upgrade backprop"
        )
    sha = doc.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        raise ModelFileError(f"{where}: metadata 'sha256' is missing or not a hex digest")
    return doc


def _check_architecture(doc: dict, where: str) -> dict:
    """Type-check the model fields of the metadata document."""
    sizes = doc.get("sizes")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(_is_count(n) and n >= 1 for n in sizes)
    ):
        raise ModelFileError(
            f"{where}: metadata 'sizes' must list ≥ 2 positive layer widths, got {_short(sizes)}"
        )
    L = len(sizes) - 1
    acts = doc.get("activations")
    if not isinstance(acts, list) or len(acts) != L or not all(isinstance(a, str) for a in acts):
        raise ModelFileError(
            f"{where}: metadata 'activations' must name one activation per layer ({L}), "
            f"got {_short(acts)}"
        )
    for name in acts:
        if name not in activations.ACTIVATIONS:
            raise ModelFileError(
                f"{where}: unknown activation {_short(name)} in the metadata; this backprop knows "
                f"{', '.join(activations.ACTIVATIONS)}"
            )
    if "output" in doc and doc["output"] != acts[-1]:
        raise ModelFileError(
            f"{where}: metadata 'output' {_short(doc['output'])} disagrees with the last "
            f"activation {_short(acts[-1])}"
        )
    cost = doc.get("cost")
    if not isinstance(cost, str) or cost not in costs.COSTS:
        raise ModelFileError(
            f"{where}: unknown cost {_short(cost)} in the metadata; this backprop knows "
            f"{', '.join(costs.COSTS)}"
        )
    dtype = doc.get("dtype")
    if dtype not in DTYPES:
        raise ModelFileError(
            f"{where}: metadata 'dtype' must be one of {', '.join(DTYPES)}, got {_short(dtype)}"
        )
    init = doc.get("init", "unknown")
    if not isinstance(init, str):
        raise ModelFileError(f"{where}: metadata 'init' must be a string, got {_short(init)}")
    if "n_params" in doc:
        n = sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, L + 1))
        if doc["n_params"] != n:
            raise ModelFileError(
                f"{where}: metadata 'n_params' is {_short(doc['n_params'])} but sizes "
                f"{_short(sizes)} give {n}"
            )
    if not isinstance(doc.get("metadata", {}), dict):
        raise ModelFileError(f"{where}: metadata 'metadata' must be a JSON object")
    doc.setdefault("metadata", {})
    return {"sizes": sizes, "activations": acts, "cost": cost, "dtype": dtype, "init": init}


def _check_names(tensors: dict, expected: list[str], where: str) -> None:
    missing = [n for n in expected if n not in tensors]
    if missing:
        raise ModelFileError(
            f"{where}: missing tensor {_few(missing)} for the {len(expected) // 2}-layer "
            "network the metadata describes"
        )
    extra = sorted(set(tensors) - set(expected))
    if extra:
        raise ModelFileError(
            f"{where}: unexpected tensor {_few(extra, _short)}; a model holds only {_few(expected)}"
        )


def _expect_shape(tensors: dict, name: str, allowed: list[tuple], sizes: list, where: str) -> None:
    shape = tensors[name].shape
    if shape not in allowed:
        raise ModelFileError(
            f"{where}: tensor {name} has shape {list(shape)} but metadata sizes {_short(sizes)} "
            f"need {list(allowed[0])}"
        )


def _verify_checksum(doc: dict, arrays: list[np.ndarray], signed: bytes, where: str) -> None:
    """Compare ``sha256`` with the tensors' bytes followed by ``signed`` (see :func:`_read`)."""
    if _sha256(arrays, signed) != doc["sha256"]:
        raise ModelFileError(
            f"{where}: checksum mismatch, the file's contents are corrupted; use an intact copy"
        )
