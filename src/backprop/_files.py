"""Safe reading and the checks every command makes on its files before touching them.

Reading (:func:`read_regular_file`): a reader must never block on a FIFO, read
``/dev/zero`` until memory runs out, or die with a ``MemoryError`` on a 100 GB
sparse file. So every file is opened without blocking (``O_NONBLOCK``), must be
a *regular* file, and its size must be within a stated limit:

============================  ==============================================
what                          limit
============================  ==============================================
data files (CSV, NPZ, IDX)    :data:`DATA_FILE_LIMIT` (16 GiB), and at most the
                              machine's physical memory
model and checkpoint files    :data:`MODEL_FILE_LIMIT` (16 GiB), likewise
an IDX file, decompressed     :data:`IDX_DECOMPRESSED_LIMIT` (2 GiB; see
                              :mod:`backprop.data.idx`)
============================  ==============================================

Output checks: :func:`check_not_an_input` refuses an output path that is the
same file (same device and inode, so hard and symbolic links count) as any
input of the command; :func:`check_overwrite` refuses to replace an existing
file that is not of the kind the command writes, unless ``force``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import stat
import struct
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import ConfigError

__all__ = [
    "DATA_FILE_LIMIT",
    "IDX_DECOMPRESSED_LIMIT",
    "MODEL_FILE_LIMIT",
    "check_not_an_input",
    "check_overwrite",
    "check_writable",
    "describe_kind",
    "format_bytes",
    "is_backprop_model",
    "is_predictions_file",
    "read_regular_file",
    "size_limit",
]

GiB = 1 << 30
#: largest CSV/NPZ/IDX file read (bytes on disk)
DATA_FILE_LIMIT = 16 * GiB
#: largest model or checkpoint file read
MODEL_FILE_LIMIT = 16 * GiB
#: largest decompressed IDX file (the largest public IDX set, EMNIST ByClass, is 0.64 GB)
IDX_DECOMPRESSED_LIMIT = 2 * GiB


def format_bytes(n: int) -> str:
    """``3,221,225,472 bytes (3.0 GiB)``: exact and readable."""
    for unit, size in (("TiB", 1 << 40), ("GiB", GiB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n:,} bytes ({n / size:.1f} {unit})"
    return f"{n:,} bytes"


def _physical_memory() -> int | None:
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    return None


def size_limit(limit: int) -> tuple[int, str]:
    """``limit`` lowered to the machine's physical memory, and a phrase naming it."""
    memory = _physical_memory()
    if memory is not None and memory < limit:
        return memory, f"this machine's memory ({memory / GiB:.1f} GiB)"
    return limit, f"the limit of {_limit_text(limit)}"


def _limit_text(n: int) -> str:
    return f"{n // GiB} GiB" if n >= GiB and n % GiB == 0 else f"{n:,} bytes"


def describe_kind(mode: int) -> str:
    """What a non-regular file is, for messages."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_regular_file(
    path: str | os.PathLike,
    error: type[Exception],
    *,
    limit: int = DATA_FILE_LIMIT,
    what: str = "data files",
    prefix: str | None = None,
) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Parameters
    ----------
    path : str or PathLike
    error : exception type
        Raised, with a one-line message, for every problem (missing, a FIFO or
        device, too large, unreadable, out of memory).
    limit : int
        Largest size accepted (lowered to the physical memory if that is smaller).
    what : str
        The kind of file, for the size message ("data files", "model files").
    prefix : str, optional
        Message prefix (default: the path).

    Returns
    -------
    bytes
    """
    name = os.fspath(path) if prefix is None else prefix
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise error(f"{name}: file not found; check the path") from None
    except IsADirectoryError:
        raise error(f"{name}: is a directory, not a file; give a file") from None
    except PermissionError:
        raise error(f"{name}: permission denied") from None
    except (OSError, TypeError, ValueError) as exc:
        raise error(f"{name}: cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(
                f"{name}: is {describe_kind(info.st_mode)}, not a regular file; give a file"
            )
        cap, phrase = size_limit(limit)
        if info.st_size > cap:
            raise error(
                f"{name}: is {format_bytes(info.st_size)}, more than {phrase} for {what}; "
                "is this the right file?"
            )
        data = _read_fd(fd, info.st_size + 1)
    except MemoryError:
        raise error(f"{name}: not enough memory to read its {format_bytes(info.st_size)}") from None
    except OSError as exc:
        if isinstance(exc, error):
            raise
        raise error(f"{name}: cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > cap:
        raise error(f"{name}: grew past {phrase} while being read; is it still being written?")
    return data


def _read_fd(fd: int, n: int) -> bytes:
    """Up to ``n`` bytes from ``fd`` (fewer at the end of the file)."""
    with os.fdopen(os.dup(fd), "rb") as f:
        return f.read(n)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_not_an_input(
    out: str | os.PathLike | None,
    inputs: Iterable[str | os.PathLike | None],
    *,
    flag: str = "--out",
    error: type[Exception] = ConfigError,
) -> None:
    """Refuse an output path that is the same file as one of the command's inputs.

    Same file means same device and inode after following symbolic links, so a
    hard link, a symbolic link or another spelling of the path all count.
    Inputs that do not exist (or are ``None``) are skipped.

    Raises
    ------
    error (default ConfigError)
        "--out 'in.csv' is the same file as the input 'in.csv'; ...".
    """
    if out is None:
        return
    try:
        out_stat = os.stat(out)
    except (OSError, ValueError):
        return  # nothing there yet: it cannot be an input
    for src in inputs:
        if src is None:
            continue
        try:
            src_stat = os.stat(src)
        except (OSError, ValueError):
            continue
        if _same_file(out_stat, src_stat):
            same = "" if os.fspath(src) == os.fspath(out) else f" {os.fspath(src)!r}"
            raise error(
                f"{flag} {os.fspath(out)!r} is the same file as the input{same}; writing it "
                "would destroy the input; choose another output file"
            )


def check_overwrite(
    out: str | os.PathLike | None,
    *,
    force: bool,
    accept: Callable[[Path], bool],
    kind: str,
    flag: str = "--out",
    error: type[Exception] = ConfigError,
) -> None:
    """Refuse to replace an existing file that ``accept`` does not recognise, unless ``force``,
    and (even with ``force``) anything that is not a regular file: a device, FIFO, socket.

    Parameters
    ----------
    out : path or None
    force : bool
        The user's ``--force``: replace whatever regular file is there.
    accept : callable
        True for a file the command may replace without asking, e.g.
        :func:`is_backprop_model` or :func:`is_predictions_file`.
    kind : str
        What ``accept`` recognises, for the message ("a backprop model").
    """
    if out is None:
        return
    p = Path(out)
    try:
        info = p.stat()
    except (OSError, ValueError):
        return
    if stat.S_ISDIR(info.st_mode):
        return  # the command's own check says "is a directory; give a file name"
    if not stat.S_ISREG(info.st_mode):  # never replaced, not even with --force
        raise error(
            f"{flag} {os.fspath(out)!r} is {describe_kind(info.st_mode)}, not a regular file, "
            "and is never replaced; give a file name"
        )
    if not force and not accept(p):
        raise error(
            f"{flag} {os.fspath(out)!r} exists and is not {kind}; add --force to replace it, "
            "or choose another file name"
        )


def check_writable(
    directory: str | os.PathLike, flag: str, *, error: type[Exception] = ConfigError
) -> None:
    """Refuse, before any work, a folder (or the nearest existing one above it, where it
    will be created) in which no file can be created: read-only, no permission.

    A temporary file is created and removed: the only test a read-only mount, an ACL or
    a full quota cannot fool (``os.access`` says yes to root on a read-only mount's files).
    """
    folder = Path(directory)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return  # the command's own checks name a file in the way
    try:
        fd, name = tempfile.mkstemp(prefix=".backprop-write-test-", dir=folder)
    except OSError as exc:
        raise error(
            f"{flag} {os.fspath(directory)}: cannot write in {os.fspath(folder)!r} "
            f"({exc.strerror or exc}); choose a writable location"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


def is_backprop_model(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like a model or checkpoint file written by backprop.

    Only the safetensors header is read (at most 16 MiB): its ``__metadata__``
    must hold the ``backprop`` document. An empty file also counts (nothing to lose).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if not head:
                return True
            if len(head) < 8:
                return False
            (n,) = struct.unpack("<Q", head)
            if n > 16 << 20:
                return False
            header = json.loads(f.read(n))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return False
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(meta, dict) and "backprop" in meta


def is_predictions_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` looks like the output of ``backprop predict`` (or is empty).

    Its first line must be the header predict writes: ``prediction,p_…``/``a_…``
    for classifiers, ``y_0,y_1,…`` for regression.
    """
    try:
        with open(path, "rb") as f:
            first = f.readline(1 << 16)
    except OSError:
        return False
    if not first:
        return True
    try:
        cells = next(csv.reader([first.decode("utf-8").rstrip("\r\n")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return False
    if cells and cells[0] == "prediction":
        return len(cells) > 1 and all(c.startswith(("p_", "a_")) for c in cells[1:])
    return bool(cells) and all(c == f"y_{k}" for k, c in enumerate(cells))
