"""Ctrl-C while the ``backprop`` command is still starting: one line, no traceback.

``python -m backprop`` and the ``backprop`` script import this package (NumPy and all)
before :func:`backprop.cli.main` can catch anything. Only when the command is the main
program (``sys.argv[0]`` is ``backprop``, or ``-m`` while ``python -m`` imports it) does
:func:`install` replace :data:`sys.excepthook` for KeyboardInterrupt; every other exception,
and every other program that imports backprop, keeps the usual behaviour.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing takes milliseconds Ctrl-C can hit
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any

    Hook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


def _is_the_command() -> bool:
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or os.path.basename(argv0) in ("backprop", "backprop.exe")


def _from_interrupt(exc: BaseException) -> bool:
    """An error raised while handling Ctrl-C (a C extension's import turns it into one)."""
    seen = 0
    link = exc.__context__ or exc.__cause__
    while link is not None and seen < 20:
        if isinstance(link, KeyboardInterrupt):
            return True
        link, seen = link.__context__ or link.__cause__, seen + 1
    return False


def _hook(previous: Hook) -> Hook:
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt) or _interrupted or _from_interrupt(exc):
            print("backprop: interrupted", file=sys.stderr, flush=True)
            os._exit(130)  # the command's exit code for Ctrl-C; nothing of it has run yet
        previous(kind, exc, tb)

    return hook


#: a Ctrl-C arrived (a C extension importing at that moment may turn it into an ImportError)
_interrupted = False


def _on_sigint(signum: int, frame: object) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def install() -> None:
    """Quiet Ctrl-C during start-up of the command (see the module docstring)."""
    if _is_the_command() and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _hook(sys.excepthook)
        import _signal  # type: ignore[import-not-found]  # C module: signal.py imports enum

        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, _on_sigint)


install()
