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
from collections.abc import Callable
from types import TracebackType
from typing import Any


def _is_the_command() -> bool:
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or os.path.basename(argv0) in ("backprop", "backprop.exe")


Hook = Callable[[type[BaseException], BaseException, "TracebackType | None"], Any]


def _hook(previous: Hook) -> Hook:
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            print("backprop: interrupted", file=sys.stderr, flush=True)
            os._exit(130)  # the command's exit code for Ctrl-C; nothing of it has run yet
        previous(kind, exc, tb)

    return hook


def install() -> None:
    """Quiet Ctrl-C during start-up of the command (see the module docstring)."""
    if _is_the_command() and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _hook(sys.excepthook)


install()
