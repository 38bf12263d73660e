"""The IDX file format of MNIST and Fashion-MNIST, read strictly.

An IDX file is a 4-byte magic number, one 32-bit big-endian size per
dimension, then the data in row-major (C) order::

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64 (multi-byte types big-endian)
    byte  3     number of dimensions d
    4 .. 4+4d   d sizes, 32-bit big-endian
    then        prod(sizes) items

So the MNIST label files start with magic 2049 (uint8, d=1) and the image
files with 2051 (uint8, d=3). Files may be gzip-compressed (recognised by
their first two bytes, not by the name). Every way a file can be wrong —
truncated gzip, wrong magic, sizes that do not match the byte count — raises
:class:`~backprop.errors.DataFileError` naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._files import IDX_DECOMPRESSED_LIMIT, read_regular_file
from ..errors import DataFileError

try:  # ISA-L's inflate (python-isal, in the cli extra): MNIST's 47 MB in 0.10 s, zlib's 0.18 s
    from isal.igzip import IGzipFile as _GzipFile  # a gzip.GzipFile, the same interface
    from isal.isal_zlib import error as _InflateError
except ImportError:  # pragma: no cover - exercised by the tests with isal hidden
    _GzipFile = gzip.GzipFile  # type: ignore[misc, assignment]
    _InflateError = zlib.error  # type: ignore[misc, assignment]

__all__ = [
    "IDX_DTYPES", "LABELS_MAGIC", "IMAGES_MAGIC", "parse_idx", "read_bytes", "read_idx",
    "read_images_float32",
]  # fmt: skip

#: type code (magic byte 2) -> big-endian dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
LABELS_MAGIC = 0x00000801  # 2049: uint8, one dimension
IMAGES_MAGIC = 0x00000803  # 2051: uint8, three dimensions

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | Path, *, idx: bool = False) -> bytes:
    """The contents of ``path``, gunzipped if the file is gzip-compressed.

    The file must be a regular file (never a FIFO or device) of at most
    :data:`~backprop._files.DATA_FILE_LIMIT` bytes. Decompression is streamed
    and capped: at most :data:`~backprop._files.IDX_DECOMPRESSED_LIMIT` bytes,
    and with ``idx=True`` at most what the IDX header declares (plus one byte,
    so that extra bytes are still noticed). A small file that decompresses to
    gigabytes (a gzip bomb) is refused after its header, without using memory.

    Raises
    ------
    DataFileError
        The file is missing, not a regular file, too large, unreadable, or its
        gzip stream is truncated or corrupt or decompresses past the limit.
    """
    path = Path(path)
    raw = read_regular_file(path, DataFileError, what="data files")
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    cap = IDX_DECOMPRESSED_LIMIT
    limit = _idx_header(raw, path)[1] + 1 if idx else cap + 1
    return _gunzip(raw, path, limit, cap)


def read_images_float32(
    path: str | Path, on_bytes: Callable[[memoryview], object] | None = None
) -> np.ndarray:
    """A gzip-compressed IDX images file (magic 2051) as float32 pixels / 255, shape
    (images, rows, cols), with :func:`read_idx`'s checks and errors.

    The file is decompressed into the last quarter of the float32 array's own memory and
    converted front to back (float i is written over bytes whose pixels come before pixel
    i's, already converted), so its bytes are never held beside the floats: MNIST's
    training images load in 188 MB, not 235. ``on_bytes``, when given, is called once
    with the whole decompressed file (a memoryview) before the conversion. An uncompressed
    or unusual file is read by :func:`read_idx` and converted the plain way.
    """
    path = Path(path)
    raw = read_regular_file(path, DataFileError, what="data files")
    head, declared = _idx_header(raw, path) if raw.startswith(_GZIP_MAGIC) else (b"", 0)
    count = declared - 16
    if head[:4] != IMAGES_MAGIC.to_bytes(4, "big") or count < 16:
        data = read_bytes(path, idx=True)
        if on_bytes is not None:
            on_bytes(memoryview(data))
        images = parse_idx(data, str(path), magic=IMAGES_MAGIC)
        return np.divide(images, np.float32(255), dtype=np.float32)
    buf = np.empty(4 * count + 1, np.uint8)  # the floats, and one byte to notice extra data
    at = 3 * count - 16  # the header, then the pixels in the last quarter
    view = memoryview(buf)[at:]
    total = _gunzip_into(raw, path, view, IDX_DECOMPRESSED_LIMIT)
    data = view[:total]
    if on_bytes is not None:
        on_bytes(data)
    images = parse_idx(data, str(path), magic=IMAGES_MAGIC)  # the pixels, in place (u8)
    X = buf[: 4 * count].view(np.float32).reshape(images.shape)
    step = max(1, _CHUNK // max(1, images[0].size))
    for i in range(0, len(images), step):  # NumPy copies a chunk whose in and out overlap
        np.divide(images[i : i + step], np.float32(255), out=X[i : i + step], dtype=np.float32)
    return X


def _idx_header(raw: bytes, path: Path) -> tuple[bytes, int]:
    """A gzip-compressed IDX file's first bytes (up to the longest header) and the length
    its header declares, decompressing only those; a declaration its compressed size
    cannot hold, or past the limit, is an error."""
    cap = IDX_DECOMPRESSED_LIMIT
    head = _gunzip(raw, path, _MAX_HEADER, cap)
    declared = _idx_length(head)
    # deflate cannot expand data more than ~1032-fold: a larger claim is a truncated file
    plausible = 1100 * len(raw) + _MAX_HEADER
    if declared > plausible:
        raise DataFileError(
            f"{path}: IDX file truncated: its header declares {declared:,} bytes, more than "
            f"its {len(raw):,} compressed bytes can hold; download or copy the file again"
        )
    if declared > cap:
        raise DataFileError(
            f"{path}: its IDX header declares {declared:,} bytes of data, more than the "
            f"{cap / (1 << 30):g} GiB limit for an IDX file (the file is {len(raw):,} bytes "
            "compressed); is this the right file?"
        )
    return head, declared


#: the longest possible IDX header: magic + 255 dimensions
_MAX_HEADER = 4 + 4 * 255
_CHUNK = 1 << 20


def _gunzip(raw: bytes, path: Path, limit: int, cap: int) -> bytes:
    """Decompress at most ``limit`` bytes, 1 MiB at a time; past ``cap`` is an error.

    With a limit the IDX header set, into one buffer of that size (no chunks to join: the
    1 MiB pieces and their copy would stay in the process's heap after they are freed).
    """
    if limit <= cap:
        buf = bytearray(limit)
        into = memoryview(buf)
        total = _gunzip_into(raw, path, into, cap)
        into.release()
        del buf[total:]  # shrinks in place
        return buf
    parts: list[bytes] = []
    total = 0
    with _inflating(raw, path) as f:
        while total < limit:
            chunk = f.read(min(_CHUNK, limit - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
    _check_cap(total, cap, raw, path)
    return b"".join(parts)


def _gunzip_into(raw: bytes, path: Path, into: memoryview, cap: int) -> int:
    """Decompress into ``into`` (at most its length), 1 MiB at a time; the bytes written."""
    total, limit = 0, len(into)
    with _inflating(raw, path) as f:
        while total < limit:
            got = f.readinto(into[total : min(total + _CHUNK, limit)])
            if not got:
                break
            total += got
    _check_cap(total, cap, raw, path)
    return total


@contextlib.contextmanager
def _inflating(raw: bytes, path: Path) -> Iterator[Any]:
    """The gzip stream of ``raw``, its failures as DataFileErrors naming ``path``."""
    try:
        with _GzipFile(fileobj=io.BytesIO(raw)) as f:
            yield f
    except EOFError:
        raise DataFileError(
            f"{path}: truncated gzip file (the compressed stream ends early); "
            "download or copy the file again"
        ) from None
    except (OSError, zlib.error, _InflateError) as exc:
        raise DataFileError(
            f"{path}: corrupt gzip file ({exc}); download or copy the file again"
        ) from None


def _check_cap(total: int, cap: int, raw: bytes, path: Path) -> None:
    if total > cap:
        raise DataFileError(
            f"{path}: decompresses to more than the {cap / (1 << 30):g} GiB limit for an IDX "
            f"file (the file is {len(raw):,} bytes compressed); is this the right file?"
        )


def _idx_length(head: bytes) -> int:
    """Total bytes an IDX file with this header should have; a short bound if it is invalid."""
    if len(head) < 4 or head[0] or head[1] or head[2] not in IDX_DTYPES or head[3] == 0:
        return _MAX_HEADER
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        return _MAX_HEADER
    count = 1
    for i in range(ndim):
        count *= int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big")
    return 4 + 4 * ndim + count * IDX_DTYPES[head[2]].itemsize


def parse_idx(data: bytes, name: str = "<bytes>", *, magic: int | None = None) -> np.ndarray:
    """Decode the (already decompressed) bytes of an IDX file.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        Used in error messages (normally the file's path).
    magic : int, optional
        The magic number the file must have (2049 for labels, 2051 for images).

    Returns
    -------
    ndarray of shape given by the header, dtype native-endian
        A read-only view of ``data`` for uint8 files (no copy).
    """
    if len(data) < 4:
        raise DataFileError(
            f"{name}: too short for an IDX file ({len(data)} bytes; the header needs 4)"
        )
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise DataFileError(
            f"{name}: wrong IDX magic number {found} (expected {magic}: "
            f"{_describe_magic(magic)}); is this the right file?"
        )
    if data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataFileError(f"{name}: not an IDX file (magic number {found} is not valid)")
    dtype = IDX_DTYPES[data[2]]
    ndim = data[3]
    if ndim == 0:
        raise DataFileError(f"{name}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(
            f"{name}: truncated IDX header ({len(data)} bytes, {ndim} dimensions need {header})"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = 1
    for n in shape:
        count *= n
    expected = header + count * dtype.itemsize
    if len(data) != expected:
        dims = " x ".join(str(n) for n in shape)
        if len(data) < expected:
            raise DataFileError(
                f"{name}: IDX file truncated: header says {dims} items ({expected:,} bytes) "
                f"but the file has {len(data):,} bytes; download or copy the file again"
            )
        raise DataFileError(
            f"{name}: IDX file has extra bytes after the {dims} items ({expected:,} bytes) "
            "its header declares; download or copy the file again"
        )
    array = np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape)
    if dtype.byteorder == ">":  # convert once to native order (copy) for multi-byte types
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_idx(path: str | Path, *, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not). See :func:`parse_idx`."""
    return parse_idx(read_bytes(path, idx=True), str(path), magic=magic)


def _describe_magic(magic: int) -> str:
    return {LABELS_MAGIC: "a labels file", IMAGES_MAGIC: "an images file"}.get(magic, "IDX")
