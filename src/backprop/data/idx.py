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

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from .._files import IDX_DECOMPRESSED_LIMIT, read_regular_file
from ..errors import DataFileError

try:  # ISA-L's inflate (python-isal, in the cli extra): MNIST's 47 MB in 0.10 s, zlib's 0.18 s
    from isal.igzip import IGzipFile as _GzipFile  # a gzip.GzipFile, the same interface
    from isal.isal_zlib import error as _InflateError
except ImportError:  # pragma: no cover - exercised by the tests with isal hidden
    _GzipFile = gzip.GzipFile  # type: ignore[misc, assignment]
    _InflateError = zlib.error  # type: ignore[misc, assignment]

__all__ = ["IDX_DTYPES", "LABELS_MAGIC", "IMAGES_MAGIC", "parse_idx", "read_idx", "read_bytes"]

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
    limit = cap + 1
    if idx:  # a first, cheap pass decompresses just the header
        declared = _idx_length(_gunzip(raw, path, _MAX_HEADER, cap))
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
        limit = declared + 1
    return _gunzip(raw, path, limit, cap)


#: the longest possible IDX header: magic + 255 dimensions
_MAX_HEADER = 4 + 4 * 255
_CHUNK = 1 << 20


def _gunzip(raw: bytes, path: Path, limit: int, cap: int) -> bytes:
    """Decompress at most ``limit`` bytes, 1 MiB at a time; past ``cap`` is an error.

    With a limit the IDX header set, into one buffer of that size (no chunks to join: the
    1 MiB pieces and their copy would stay in the process's heap after they are freed).
    """
    parts: list[bytes] = []
    total = 0
    buf = bytearray(limit) if limit <= cap else None
    into = memoryview(buf) if buf is not None else None
    try:
        with _GzipFile(fileobj=io.BytesIO(raw)) as f:
            while total < limit:
                if into is not None:
                    got = f.readinto(into[total : min(total + _CHUNK, limit)])
                else:
                    chunk = f.read(min(_CHUNK, limit - total))
                    parts.append(chunk)
                    got = len(chunk)
                if not got:
                    break
                total += got
    except EOFError:
        raise DataFileError(
            f"{path}: truncated gzip file (the compressed stream ends early); "
            "download or copy the file again"
        ) from None
    except (OSError, zlib.error, _InflateError) as exc:
        raise DataFileError(
            f"{path}: corrupt gzip file ({exc}); download or copy the file again"
        ) from None
    if total > cap:
        raise DataFileError(
            f"{path}: decompresses to more than the {cap / (1 << 30):g} GiB limit for an IDX "
            f"file (the file is {len(raw):,} bytes compressed); is this the right file?"
        )
    if buf is not None and into is not None:
        into.release()
        del buf[total:]  # shrinks in place
        return buf
    return b"".join(parts)


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
