"""Atomic file writes: a file is either the complete old one or the complete new one.

Every file the project writes (models, checkpoints, predictions, reports, plots,
JSON) goes through :func:`atomic_write`::

    with atomic_write(path) as f:          # binary; atomic_write(path, "w") for text
        f.write(data)

The data goes to a temporary file in the target's directory (named
``.<name>.<random>.tmp``), which is flushed, fsynced and then renamed onto the
target with :func:`os.replace` (atomic on POSIX and Windows); finally the
directory is fsynced so the rename itself survives a power cut. If anything
raises inside the ``with`` block (including KeyboardInterrupt) the temporary
file is removed and the target is untouched. A process killed with SIGKILL can
leave a stray ``.*.tmp`` file behind, never a half-written target.

OS failures (missing directory, permission denied, disk full) propagate as
:class:`OSError`; pass ``error=SomeBackpropError`` to get that library error
instead, with a one-line message naming the path, which the CLI prints cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]

_MODES = ("wb", "w", "wt")


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
    error: type[Exception] | None = None,
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` atomically when the block ends.

    Parameters
    ----------
    path : str or PathLike
        The target. Its directory must exist. A symbolic link is followed, so
        the file it points to is replaced, not the link.
    mode : {"wb", "w", "wt"}
        Binary (default) or text.
    encoding, newline : str, optional
        For text mode, as for :func:`open` (default encoding UTF-8).
    error : exception type, optional
        Raise this (e.g. :class:`backprop.errors.ModelFileError`) instead of a
        bare :class:`OSError` when the file cannot be written.

    Yields
    ------
    file object
        Write to it; do not close it.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write mode must be one of {', '.join(_MODES)}, got {mode!r}")
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    directory = target.parent
    tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        _reraise(exc, target, error)
    try:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            _reraise(exc, target, error)
        raise
    _fsync_directory(directory)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, **kwargs) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb", **kwargs) as f:
        f.write(data)


def atomic_write_text(
    path: str | os.PathLike, text: str, *, encoding: str = "utf-8", **kwargs
) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding=encoding, **kwargs) as f:
        f.write(text)


def atomic_write_json(
    path: str | os.PathLike, obj: Any, *, indent: int | None = 2, **kwargs
) -> None:
    """Write ``obj`` as JSON (UTF-8, trailing newline) to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", **kwargs)


def _copy_mode(target: Path, tmp: Path) -> None:
    """Give the new file the permissions of the one it replaces (else umask defaults)."""
    try:
        mode = os.stat(target).st_mode & 0o7777
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable. Not possible on every platform or file system."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reraise(exc: OSError, target: Path, error: type[Exception] | None):
    if error is None or isinstance(exc, error):
        raise exc
    if not target.parent.is_dir():
        hint = f"directory {str(target.parent)!r} does not exist; create it first"
    elif target.is_dir():
        hint = "it is a directory; give a file name"
    else:
        hint = exc.strerror or str(exc)
    raise error(f"cannot write {str(target)!r}: {hint}") from exc
