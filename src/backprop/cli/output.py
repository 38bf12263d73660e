"""What the ``backprop`` sub-commands print: aligned tables, percentages, one JSON object.

Nothing here computes: numbers come from the library and are only formatted.
JSON goes through :func:`backprop.jsonable.to_jsonable` (NaN/inf become null).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ..display import format_seconds, percent  # the library's, for the sub-commands
from ..errors import ConfigError
from ..jsonable import to_jsonable

__all__ = [
    "check_out_path",
    "emit_json",
    "format_seconds",
    "format_table",
    "jsonable",
    "percent",
    "print_table",
    "write_text",
]


def format_table(rows: Iterable[Sequence], headers: Sequence[str] | None = None) -> str:
    """Rows as aligned text columns: numbers right-aligned, text left-aligned."""
    rows = [[_cell(v) for v in row] for row in rows]
    body = ([list(headers)] if headers else []) + rows
    if not body:
        return ""
    n = max(len(r) for r in body)
    body = [r + [""] * (n - len(r)) for r in body]
    widths = [max(len(r[i]) for r in body) for i in range(n)]
    numeric = [all(_is_number(r[i]) or not r[i] for r in rows) and rows for i in range(n)]
    lines = []
    for k, r in enumerate(body):
        cells = [r[i].rjust(widths[i]) if numeric[i] else r[i].ljust(widths[i]) for i in range(n)]
        lines.append("  ".join(cells).rstrip())
        if headers and k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_table(rows, headers=None, file: TextIO | None = None) -> None:
    print(format_table(rows, headers), file=file or sys.stdout)


def _cell(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, (float, np.floating)):
        return f"{v:.6g}"
    return str(v)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("%").replace(",", ""))
    except ValueError:
        return text == "—"
    return True


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy scalars/arrays as Python values and NaN/inf as None.

    Values JSON cannot hold otherwise pass through unchanged (``json.dumps`` then
    says what they are).
    """
    return to_jsonable(obj, strict=False)


def emit_json(obj, file: TextIO | None = None) -> None:
    """Write ``obj`` as exactly one JSON object (one line) on stdout."""
    print(json.dumps(jsonable(obj), allow_nan=False), file=file or sys.stdout, flush=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: the whole file or none of it."""
    from .._atomic import atomic_write_text
    from ..errors import DataFileError

    atomic_write_text(path, text, error=DataFileError)


def check_out_path(path: str | Path | None, example: str = "model.safetensors") -> None:
    """Fail before any work when ``--out`` names a directory or sits in a missing one."""
    if path is None:
        return
    p = Path(path)
    if str(path).endswith(("/", os.sep)) and not p.is_dir():
        raise ConfigError(
            f"--out {path} names a folder, which does not exist; create it first, or give a "
            f"file name such as {p / example}"
        )
    if p.is_dir():
        raise ConfigError(f"--out {path} is a directory; give a file name such as {p / example}")
    if not p.parent.is_dir():
        raise ConfigError(f"--out {path}: directory {p.parent} does not exist; create it first")
