"""argparse building blocks shared by the ``backprop`` sub-commands.

:func:`add_parser` (a sub-parser whose usage errors are one line), the layer list
(:func:`int_list`, :func:`resolve_sizes`) and the data flags
(:func:`add_data_arguments`, :func:`add_label_column_argument`,
:func:`add_download_arguments`). Nothing here reads data or does maths.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..errors import ConfigError

__all__ = [
    "add_data_arguments",
    "add_download_arguments",
    "add_label_column_argument",
    "add_parser",
    "column",
    "int_list",
    "resolve_sizes",
]


def add_parser(subparsers, name: str, **kwargs) -> argparse.ArgumentParser:
    """``subparsers.add_parser(name, …)`` with the help layout every sub-command uses.

    The parser class comes from :func:`backprop.cli.build_parser`, whose usage
    errors are one line (``backprop train: error: argument --lr: invalid float
    value: 'abc' (see backprop train --help)``) and exit 2.
    """
    kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
    return subparsers.add_parser(name, **kwargs)


def int_list(text: str) -> list[int]:
    """Parse ``"784,30,10"`` (commas or spaces) into ``[784, 30, 10]``."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"--layers takes comma-separated layer widths such as 784,30,10 or 100; got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise ConfigError(
            f"--layers needs widths of at least 1 neuron, such as 30 or 784,30,10; got {text!r}"
        )
    return sizes


def resolve_sizes(layers: Sequence[int] | None, n_features: int, n_outputs: int) -> list[int]:
    """The full ``[n_0, …, n_L]`` from ``--layers`` and the data's shape.

    ``layers`` is either the full list, whose first entry is the data's
    feature count and whose last is its number of outputs (``784,30,10`` on
    MNIST), or the hidden widths alone (``30`` or ``256,128``), to which the
    input and output sizes are added. A list of three or more whose one end
    matches the data but not the other is a mismatch (``784,30,10`` on the
    8×8 digits): that raises :class:`ConfigError` naming both numbers.
    """
    if not layers:
        return [n_features, n_outputs]
    layers = list(layers)
    first_ok, last_ok = layers[0] == n_features, layers[-1] == n_outputs
    if len(layers) >= 2 and first_ok and last_ok:
        return layers
    if len(layers) >= 3 and not first_ok and last_ok:
        raise ConfigError(
            f"--layers starts with an input layer of {layers[0]} but the data has {n_features} "
            f"features; use {n_features},{','.join(map(str, layers[1:]))} or list the hidden "
            "widths only"
        )
    if len(layers) >= 3 and first_ok and not last_ok:
        raise ConfigError(
            f"--layers ends with an output layer of {layers[-1]} but the data needs {n_outputs} "
            f"outputs; use {','.join(map(str, layers[:-1]))},{n_outputs} or list the hidden "
            "widths only"
        )
    return [n_features, *layers, n_outputs]


def add_data_arguments(
    parser: argparse.ArgumentParser, *, default: str | None = "digits", shown_default=None
) -> None:
    """``--data SPEC``, ``--label-column``, ``--validation-fraction``, ``--test-fraction``,
    ``--download`` and ``--data-url``.

    ``shown_default`` is the default the help names when ``default`` is None
    (train fills it in later, so that a preset's data can apply).
    """
    shown = shown_default or default
    parser.add_argument(
        "--data",
        metavar="SPEC",
        default=default,
        help="digits (built in), mnist[:DIR], fashion-mnist[:DIR], or a .csv/.npz file"
        + (f" (default: {shown})" if shown else ""),
    )
    add_label_column_argument(parser)
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=None,
        metavar="F",
        help="hold out this fraction of the training examples for validation (default: "
        "the book's 10,000 images for MNIST; 0.1 for digits, CSV and NPZ)",
    )
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=None,
        metavar="F",
        help="digits, CSV and NPZ without X_test: hold out this fraction for testing "
        "(default: 0.2); MNIST always tests on its test files",
    )
    add_download_arguments(parser)


def add_label_column_argument(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--label-column COL``: a CSV header name or a column index (negative from the end)."""
    parser.add_argument(
        "--label-column",
        type=column,
        default=None,
        metavar="COL",
        help=help
        or "CSV column holding the label: a header name, or an index (0-based; negative "
        "counts from the end) (default: -1, the last)",
    )


def column(text: str) -> int | str:
    """``--label-column``'s value: an int for ``"0"`` or ``"-1"``, else the header name.

    A CSV header never holds a number (a first row with one is read as data),
    so turning numeric text into an index loses nothing.
    """
    try:
        return int(text)
    except ValueError:
        return text


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """``--download`` (fetch missing MNIST/Fashion-MNIST files) and ``--data-url``."""
    parser.add_argument(
        "--download",
        action="store_true",
        help="mnist/fashion-mnist: first download the missing files into DIR "
        "(default ~/.cache/backprop/NAME), each checked against its published MD5",
    )
    parser.add_argument(
        "--data-url",
        metavar="URL",
        default=None,
        help="with --download: the mirror to download from (default: a public mirror)",
    )
