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

Only regular files are ever replaced: a directory, device node (``/dev/null``),
FIFO or socket at the target is refused, and a symbolic link is followed only
when it belongs to the user (or root). New files get the user's umask. Before
writing, commands call :func:`check_not_an_input` (the output is not one of
their inputs) and :func:`check_overwrite` (an existing file of another kind
needs ``--force``); both live in :mod:`backprop._files`.

OS failures (missing directory, permission denied, disk full) propagate as
:class:`OSError`; pass ``error=SomeBackpropError`` to get that library error
instead, with a one-line message naming the path, which the CLI prints cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

from ._files import check_not_an_input, check_overwrite, describe_kind

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_not_an_input",
    "check_overwrite",
]

_MODES = ("wb", "w", "wt")


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
    error: type[Exception] | None = None,
    force: bool = False,
) -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` atomically when the block ends.

    Parameters
    ----------
    path : str or PathLike
        The target. Its directory must exist. It must be absent or a regular
        file: a directory, device node, FIFO or socket is never replaced. A
        symbolic link is followed (the file it points to is replaced, not the
        link) only when it belongs to the user (or root), or with ``force``.
    mode : {"wb", "w", "wt"}
        Binary (default) or text.
    encoding, newline : str, optional
        For text mode, as for :func:`open` (default encoding UTF-8).
    error : exception type, optional
        Raise this (e.g. :class:`backprop.errors.ModelFileError`) instead of a
        bare :class:`OSError` when the file cannot or must not be written.
    force : bool
        Also follow a symbolic link owned by another user.

    Yields
    ------
    file object
        Write to it; do not close it.

    Notes
    -----
    A new file gets the permissions ``0o666`` less the umask; a replaced file
    keeps its permission bits (never set-user-ID, set-group-ID or sticky bits).
    The temporary file is removed on every way out of the block but SIGKILL.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write mode must be one of {', '.join(_MODES)}, got {mode!r}")
    target = _checked_target(Path(path), error, force)
    directory = target.parent
    tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        _reraise(exc, target, error)
    replaced = False
    try:
        try:
            f: IO[Any] = (
                os.fdopen(fd, "wb")
                if "b" in mode
                else os.fdopen(fd, "w", encoding=encoding, newline=newline)
            )
        except BaseException:
            os.close(fd)
            raise
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(target, tmp)
        _checked_target(target, error, force)  # still not a special file at the last moment
        os.replace(tmp, target)
        replaced = True
    except OSError as exc:
        if error is not None and isinstance(exc, error):
            raise
        _reraise(exc, target, error)
    finally:
        if not replaced:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_directory(directory)


def _checked_target(target: Path, error: type[Exception] | None, force: bool) -> Path:
    """The path to replace: ``target`` or the file its symbolic link points to.

    Refuses a target that exists but is not a regular file, and a symbolic
    link owned by someone else (unless ``force``).
    """
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError:
        return target  # the open of the temporary file reports the problem
    if stat.S_ISLNK(info.st_mode):
        if not force and info.st_uid not in (_euid(), 0):
            _refuse(
                error,
                f"cannot write {str(target)!r}: it is a symbolic link owned by another user "
                f"(uid {info.st_uid}); not followed. Remove it, choose another name, or add "
                "--force",
            )
        resolved = Path(os.path.realpath(target))
        if resolved == target or os.path.islink(resolved):
            _refuse(error, f"cannot write {str(target)!r}: it is a symbolic link loop")
        return _checked_target(resolved, error, force)
    if stat.S_ISDIR(info.st_mode):
        _refuse(error, f"cannot write {str(target)!r}: it is a directory; give a file name")
    if not stat.S_ISREG(info.st_mode):
        _refuse(
            error,
            f"cannot write {str(target)!r}: it is {describe_kind(info.st_mode)}, not a regular "
            "file, and is never replaced; give a file name",
        )
    return target


def _euid() -> int:
    return os.geteuid() if hasattr(os, "geteuid") else -1


def _refuse(error: type[Exception] | None, message: str) -> NoReturn:
    raise (error or OSError)(message)


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
        mode = os.stat(target).st_mode & 0o777
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


def _reraise(exc: OSError, target: Path, error: type[Exception] | None) -> NoReturn:
    if error is None or isinstance(exc, error):
        raise exc
    if not target.parent.is_dir():
        hint = f"directory {str(target.parent)!r} does not exist; create it first"
    elif target.is_dir():
        hint = "it is a directory; give a file name"
    else:
        hint = exc.strerror or str(exc)
    raise error(f"cannot write {str(target)!r}: {hint}") from exc
