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
import importlib
import importlib.util
import sys

from .. import __version__
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
    except KeyboardInterrupt:
        print("backprop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
