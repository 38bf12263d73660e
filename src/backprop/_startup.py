"""Ctrl-C while the ``backprop`` command is still starting: one line, no traceback.

``python -m backprop`` and the ``backprop`` script import this package (NumPy and all)
before :func:`backprop.cli.main` can catch anything. Only when the command is the main
program (``sys.argv[0]`` is ``backprop``, or ``-m`` while ``python -m`` imports it) does
:func:`install` take over Ctrl-C:

- until :func:`started` (the first thing ``main()`` does), SIGINT prints
  ``backprop: interrupted`` and exits 130 from the handler itself. Raising KeyboardInterrupt
  there is not enough: an import running a weakref callback (importlib's module locks) or a
  C extension's initialisation would swallow it ("Exception ignored in ...") or turn it into
  an ImportError. Nothing of the command has run yet, so there is nothing to clean up;
- afterwards SIGINT raises KeyboardInterrupt as usual; one that Python could only report as
  unraisable (raised in a ``__del__`` or weakref callback: printed and lost) is raised again
  in the main thread a millisecond later, from SIGALRM;
- :data:`sys.excepthook` turns a KeyboardInterrupt, or an error raised while handling one,
  into the same one line.

Every other program that imports backprop keeps Python's behaviour.
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

#: a Ctrl-C arrived (a C extension importing at that moment may turn it into an ImportError)
_interrupted = False
#: the command has not reached ``main()`` yet
_starting = True


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


def _quit() -> None:
    print("backprop: interrupted", file=sys.stderr, flush=True)
    os._exit(130)  # the command's exit code for Ctrl-C


def _hook(previous: Hook) -> Hook:
    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt) or _interrupted or _from_interrupt(exc):
            _quit()
        previous(kind, exc, tb)

    return hook


def _unraisable_hook(previous: Any) -> Any:
    def hook(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if not (isinstance(exc, KeyboardInterrupt) and _raise_again_soon(exc)):
            previous(unraisable)

    return hook


def _raise_again_soon(exc: KeyboardInterrupt) -> bool:
    """Raise ``exc`` in the main thread a millisecond from now, out of the ``__del__`` or
    weakref callback that swallowed it. (Raising a signal now would run its handler at once,
    inside this hook, where the interpreter would swallow it again.)"""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() != threading.main_thread():
        return False  # no timer signals (Windows), or not the thread Python runs handlers in

    def again(signum: int, frame: object) -> None:
        signal.signal(signal.SIGALRM, before)
        raise exc.with_traceback(None)

    before = signal.signal(signal.SIGALRM, again)
    signal.setitimer(signal.ITIMER_REAL, 0.001)
    return True


def _on_sigint(signum: int, frame: object) -> None:
    global _interrupted
    _interrupted = True
    if _starting:
        _quit()
    raise KeyboardInterrupt


def started() -> None:
    """The command's ``main()`` runs: from now on Ctrl-C raises KeyboardInterrupt for it."""
    global _starting
    _starting = False


def install() -> None:
    """Quiet Ctrl-C during start-up of the command (see the module docstring)."""
    if _is_the_command() and sys.excepthook is sys.__excepthook__:
        sys.excepthook = _hook(sys.excepthook)
        sys.unraisablehook = _unraisable_hook(sys.unraisablehook)
        import _signal  # type: ignore[import-not-found]  # C module: signal.py imports enum

        if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            _signal.signal(_signal.SIGINT, _on_sigint)


install()
