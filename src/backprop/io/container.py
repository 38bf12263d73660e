"""The safetensors container: its byte layout, our metadata document, checksums, validation.

The container::

    8 bytes          N, the header length, unsigned little-endian
    N bytes          UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape",
                     "data_offsets": [begin, end]}, …}, padded with spaces to a multiple of 8
    rest             the tensors' raw little-endian C-order bytes; offsets are relative
                     to the start of this buffer, and the tensors tile it exactly

Under ``__metadata__["backprop"]`` sits one JSON document with ``format``,
``format_version`` and a SHA-256 checksum ``sha256`` of the tensor bytes followed by
the rest of the document (see docs/model-format.md). This module knows nothing of
networks: :mod:`backprop.io.model_writer`, :mod:`backprop.io.model_reader` and
:mod:`backprop.io.checkpoint` fill and read the document.

Writes are atomic (:mod:`backprop._atomic`). Reading trusts nothing: every problem
is a :class:`~backprop.errors.ModelFileError` with a one-line message. Nothing is
ever unpickled or evaluated.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._atomic import atomic_write
from .._files import MODEL_FILE_LIMIT, read_regular_file
from ..errors import ModelFileError

__all__ = [
    "CHECKPOINT_FORMAT",
    "DTYPE_CODES",
    "FORMAT_VERSION",
    "HINT",
    "MAX_DIMS",
    "MAX_HEADER_BYTES",
    "METADATA_KEY",
    "MODEL_FORMAT",
    "cannot_load",
    "checksum",
    "dtype_code",
    "read",
    "seal",
    "verify_checksum",
    "write",
]

#: Version of the JSON document stored in the header; bumped on incompatible changes.
#: Version 3 (written now): ``sha256`` covers every tensor's name, dtype and shape (the
#: manifest), the tensor bytes in name order, and the metadata document.
#: Version 2 (still read): the tensor bytes in the reader's order and the document.
#: Version 1 (still read, with a warning): the tensor bytes only.
FORMAT_VERSION = 3
#: The ``__metadata__`` key whose value is our JSON document.
METADATA_KEY = "backprop"
MODEL_FORMAT = "backprop.model"
CHECKPOINT_FORMAT = "backprop.checkpoint"
#: safetensors' own limit on the header size.
MAX_HEADER_BYTES = 100_000_000
#: Most dimensions a stored tensor may have (NumPy 1.x allows 32).
MAX_DIMS = 32

#: safetensors dtype code -> NumPy dtype (little-endian). BF16 has no NumPy type.
DTYPE_CODES: dict[str, np.dtype[Any]] = {
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
_CODE_OF = {(dt.kind, dt.itemsize): code for code, dt in DTYPE_CODES.items()}

#: what a message about an unreadable model file tells the user to do
HINT = "pass a model written by net.save() or `backprop train --out`"

Tensors = dict[str, np.ndarray]
Document = dict[str, Any]


def dtype_code(dtype: np.dtype[Any]) -> str | None:
    """The safetensors dtype code of a NumPy dtype (any byte order), or None."""
    return _CODE_OF.get((dtype.kind, dtype.itemsize))


# -- writing ------------------------------------------------------------------


def write(path: str | os.PathLike[str], tensors: Mapping[str, np.ndarray], doc: Document) -> None:
    """Lay out the header and buffer and write them to ``path`` atomically.

    The buffer holds the tensors by decreasing item size (a stable sort, so
    otherwise in the given order), as safetensors' own writer does, so every
    tensor starts aligned. ``doc`` is stored under ``__metadata__["backprop"]``.
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
            "dtype": dtype_code(arr.dtype),
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


def seal(doc: Document, tensors: Mapping[str, np.ndarray]) -> None:
    """Set ``doc["sha256"]``: the checksum (format version 3) of the named tensors and of
    ``doc`` as readers will parse it."""
    stored = json.loads(json.dumps(doc, ensure_ascii=False, allow_nan=False))
    doc["sha256"] = checksum(tensors, _signed_part(stored))


def checksum(tensors: Mapping[str, np.ndarray], signed: bytes) -> str:
    """The format-version-3 checksum: SHA-256 of the manifest, the bytes, then ``signed``.

    The manifest is the canonical JSON (sorted, no spaces, ASCII) of
    ``[[name, dtype code, shape], …]`` for every tensor, in name order; then come
    the tensors' little-endian C-order bytes in the same order. So renaming a
    tensor, or changing a dtype or a shape in the header, is a checksum mismatch.
    """
    order = sorted(tensors)
    manifest = [
        [name, dtype_code(np.asarray(tensors[name]).dtype), list(np.shape(tensors[name]))]
        for name in order
    ]
    text = json.dumps(manifest, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return _sha256([tensors[name] for name in order], signed, prefix=text)


def _sha256(arrays: Iterable[np.ndarray], signed: bytes, prefix: bytes = b"") -> str:
    """SHA-256 of ``prefix``, the arrays' little-endian C-order bytes in order, then ``signed``."""
    h = hashlib.sha256(prefix)
    for arr in arrays:
        arr = np.asarray(arr)
        h.update(np.asarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes(order="C"))
    h.update(signed)
    return h.hexdigest()


def _signed_part(doc: Document) -> bytes:
    """The metadata document without ``sha256``, canonically serialised (format version 2).

    ``json.dumps(doc_without_sha256, sort_keys=True, separators=(",", ":"))`` with
    Python's defaults otherwise (non-ASCII characters as ``\\uXXXX`` escapes), as
    ASCII bytes: the same text for any JSON text of the same document. The
    writer hashes the document it stores parsed back, so both sides agree.
    """
    rest = {key: value for key, value in doc.items() if key != "sha256"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("ascii")


# -- reading ---------------------------------------------------------------------


def cannot_load(path: str | os.PathLike[str], kind: str) -> str:
    """The start of every message about the file at ``path`` (a ``kind`` of file)."""
    return f"cannot load {kind} {os.fspath(path)!r}"


def read(path: str | os.PathLike[str], where: str, fmt: str) -> tuple[Tensors, Document, bytes]:
    """Parse and validate the container at ``path``, whose document must be of format ``fmt``.

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


def verify_checksum(
    doc: Document,
    tensors: Mapping[str, np.ndarray],
    signed: bytes,
    where: str,
    order: Sequence[str],
) -> None:
    """Compare ``sha256`` with the checksum of the file's format version (see :func:`read`).

    Version 3 covers every tensor of ``tensors`` with its name, dtype and shape
    (:func:`checksum`); versions 1 and 2 cover the bytes of the tensors named in
    ``order`` (the order their writer used) and, in version 2, ``signed``.
    """
    if doc["format_version"] >= 3:
        found = checksum(tensors, signed)
    else:
        found = _sha256([tensors[name] for name in order], signed)
    if found != doc["sha256"]:
        raise ModelFileError(
            f"{where}: checksum mismatch, the file's contents are corrupted; use an intact copy"
        )


def _read_bytes(path: str | os.PathLike[str], where: str) -> bytes:
    """The file's bytes: a regular file within the size limit (see :mod:`backprop._files`)."""
    if isinstance(path, (str, os.PathLike)):
        if os.path.isdir(path):
            raise ModelFileError(f"{where}: it is a directory, not a file")
        if not os.path.exists(path):
            raise ModelFileError(f"{where}: no such file; check the path")
    return read_regular_file(
        path, ModelFileError, limit=MODEL_FILE_LIMIT, what="model files", prefix=where
    )


#: first bytes of files that users pass where a model belongs
_MAGIC = (
    (b"PK\x03\x04", "a zip archive, e.g. an NPZ file"),
    (b"\x1f\x8b", "a gzip file"),
    (b"\x00\x00\x08", "an IDX file"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89PNG", "a PNG image"),
)


def _looks_like(data: bytes) -> str | None:
    """What a file that is not safetensors seems to be, from its first bytes (or None)."""
    head = data[:4096]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if first.startswith(("{", "[")):
        return "JSON text"
    if any(sep in first for sep in (",", ";", "\t")):
        return "CSV text"
    return None


def _split(data: bytes, where: str) -> tuple[dict[str, Any], memoryview]:
    """Header (parsed JSON object) and the byte buffer that follows it."""
    if len(data) < 8:
        raise ModelFileError(
            f"{where}: not a safetensors file (only {len(data)} bytes; truncated?); {HINT}"
        )
    (n,) = struct.unpack("<Q", data[:8])
    looks = _looks_like(data) if n > MAX_HEADER_BYTES or n > len(data) - 8 else None
    if looks:
        raise ModelFileError(
            f"{where}: not a model file (it looks like {looks}, not a safetensors file); {HINT}"
        )
    if n > MAX_HEADER_BYTES or n > len(data) - 8:
        raise ModelFileError(
            f"{where}: not a safetensors file or truncated (header length {n} does not fit "
            f"in the {len(data)}-byte file); {HINT}"
        )
    raw = data[8 : 8 + n]
    if n < 2 or raw[:1] != b"{":
        raise ModelFileError(f"{where}: not a safetensors file (no JSON header); {HINT}")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"{where}: the safetensors header is not valid JSON ({detail}); {HINT}"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{where}: the safetensors header is not a JSON object; {HINT}")
    return header, memoryview(data)[8 + n :]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {short(dup)}")
    return dict(pairs)


def _entry_span(name: str, entry: object, size: int, where: str) -> tuple[int, int]:
    """``(begin, end)`` of one header entry, after checking its dtype, shape and offsets."""
    bad = f"{where}: tensor {short(name)} has "
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{bad}a malformed entry (need dtype, shape, data_offsets)")
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(code, str) or code not in DTYPE_CODES:
        raise ModelFileError(
            f"{bad}unsupported dtype {short(code)}; expected one of {', '.join(DTYPE_CODES)}"
        )
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(map(is_count, shape)):
        raise ModelFileError(f"{bad}an invalid shape {short(shape)}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(map(is_count, offsets))
        or offsets[0] > offsets[1]
    ):
        raise ModelFileError(f"{bad}invalid data_offsets {short(offsets)}")
    begin, end = offsets
    if end > size:
        raise ModelFileError(
            f"{bad}data_offsets {short(offsets)} past the end of the {size}-byte data "
            "(truncated file?)"
        )
    nbytes = math.prod(shape) * DTYPE_CODES[code].itemsize
    if end - begin != nbytes:
        raise ModelFileError(
            f"{bad}{end - begin} bytes but shape {short(shape)} of {code} needs {nbytes}"
        )
    return begin, end


def _tensors(header: dict[str, Any], buffer: memoryview, where: str) -> Tensors:
    """Check every tensor entry and that they tile the buffer; return copies of the arrays."""
    spans = sorted(
        (*_entry_span(name, entry, len(buffer), where), name)
        for name, entry in header.items()
        if name != "__metadata__"
    )
    position = 0
    for begin, end, name in spans:
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else "leaves a gap"
            raise ModelFileError(f"{where}: tensor {short(name)} {problem} in the data buffer")
        position = end
    if position != len(buffer):
        raise ModelFileError(
            f"{where}: the tensors cover {position} of the {len(buffer)} data bytes "
            "(trailing bytes)"
        )
    tensors = {}
    for begin, end, name in spans:
        entry = header[name]
        dt = DTYPE_CODES[entry["dtype"]]
        arr = np.frombuffer(buffer[begin:end], dtype=dt).reshape(entry["shape"])
        tensors[name] = arr.astype(dt.newbyteorder("="), copy=True)
    return tensors


def _document(header: dict[str, Any], where: str, fmt: str) -> Document:
    """Our JSON document from ``__metadata__``, with the fields every file has checked."""
    meta = header.get("__metadata__")
    if meta is None:
        raise ModelFileError(
            f"{where}: the safetensors file has no __metadata__, so it was not written by "
            f"backprop; {HINT}"
        )
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(f"{where}: __metadata__ must map strings to strings")
    if METADATA_KEY not in meta:
        raise ModelFileError(
            f"{where}: __metadata__ has no {METADATA_KEY!r} entry, so it was not written by "
            f"backprop; {HINT}"
        )
    try:
        doc = json.loads(meta[METADATA_KEY], object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        raise ModelFileError(f"{where}: the {METADATA_KEY!r} metadata is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ModelFileError(f"{where}: the {METADATA_KEY!r} metadata is not a JSON object")
    _check_format(doc, where, fmt)
    sha = doc.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        raise ModelFileError(f"{where}: metadata 'sha256' is missing or not a hex digest")
    return doc


def _check_format(doc: Document, where: str, fmt: str) -> None:
    """``format`` is ``fmt`` (else name the right loader); ``format_version`` is readable."""
    found = doc.get("format")
    if found != fmt:
        kinds = {MODEL_FORMAT: "a model", CHECKPOINT_FORMAT: "a checkpoint"}
        if isinstance(found, str) and found in kinds:
            loader = "load_checkpoint()" if found == CHECKPOINT_FORMAT else "load()"
            raise ModelFileError(f"{where}: this is {kinds[found]} file; use {loader}")
        raise ModelFileError(f"{where}: metadata 'format' is {short(found)}, expected {fmt!r}")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where}: metadata 'format_version' is missing or invalid")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: written by a newer backprop (format version {version}, this one reads "
            f"{FORMAT_VERSION}); upgrade backprop"
        )


# -- messages ---------------------------------------------------------------------


def short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: file contents are echoed in messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def few(names: Sequence[str], show: Callable[[str], str] = str, limit: int = 6) -> str:
    """A comma-separated list, cut after ``limit`` items."""
    text = ", ".join(show(n) for n in names[:limit])
    return text + (f", … ({len(names)} in all)" if len(names) > limit else "")


def is_count(x: object) -> bool:
    """``x`` is a JSON whole number ≥ 0 (not a bool)."""
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0
