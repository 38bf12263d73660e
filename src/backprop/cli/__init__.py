"""The ``backprop`` command: a thin shell over the library.

Each sub-command lives in its own module of this package, which provides
``register(subparsers)``: it adds its parser and sets ``run=`` to a function
``run(args) -> int``. Modules import heavy libraries (scikit-learn, torch,
matplotlib) inside ``run`` only, so ``backprop --help`` starts fast.

Errors the user can cause arrive as :class:`backprop.BackpropError` and
become a one-line message on stderr with exit code 2 (1 for a failed check);
Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import importlib.util
import io
import os
import sys

from .. import __version__, _startup, jit
from ..errors import BackpropError, DivergenceError, GradcheckError

#: sub-command modules, in the order ``--help`` lists them
SUBCOMMANDS = ("train", "evaluate", "predict", "info", "gradcheck", "explain", "plot", "export")
SUBCOMMANDS += ("playground",)  # backprop.cli.playground (the playground extra)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line usage errors: ``backprop train: error: … (see --help)``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="backprop",
        description="Train neural networks by backpropagation, exactly as the textbook derives it.",
    )
    parser.add_argument("--version", action="version", version=f"backprop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in SUBCOMMANDS:
        module = f"{__name__}.{name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module).register(sub)
    return parser


def error(message: str) -> None:
    """Print a user-facing error: one line on stderr, no traceback."""
    print(f"backprop: error: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``backprop`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    from .interrupt import exit_code, install_termination_handlers, signal_name

    _startup.started()  # Ctrl-C now raises KeyboardInterrupt, caught below
    try:
        install_termination_handlers()  # SIGTERM/SIGHUP unwind like Ctrl-C
        if argv is None:  # the program itself (the script, python -m): only our code runs
            jit.lean_start()
        code = _main(argv)
        _flush_stdout()
        return code
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None)
        what = "interrupted" if signum is None else f"terminated by {signal_name(signum)}"
        print(f"backprop: {what}", file=sys.stderr)
        return exit_code(signum)
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as exc:
        if exc.errno not in _STDOUT_ERRNOS:
            raise
        _silence_stdout()
        error(
            f"cannot write the output: {exc.strerror or exc}; free some space, or write "
            "to a file with --out"
        )
        return 2


#: what writing to a full, closed or vanished standard output raises
_STDOUT_ERRNOS = {errno.ENOSPC, errno.EBADF, errno.EIO, getattr(errno, "EDQUOT", errno.ENOSPC)}


class _ClosedStdout(io.TextIOBase):
    """Stands in for a closed standard output (``backprop predict >&-``): writing fails."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _flush_stdout() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def _silence_stdout() -> None:
    """Nothing more reaches the broken stdout (nor does Python's flush at exit complain)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until exit


def _main(argv: list[str] | None) -> int:
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (argparse prints it)
        return int(exc.code or 0)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except GradcheckError as exc:
        error(str(exc))
        return 1
    except DivergenceError as exc:
        error(str(exc))
        return 1
    except BackpropError as exc:
        error(str(exc))
        return 2


if __name__ == "__main__":
    sys.exit(main())
