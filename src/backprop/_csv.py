"""CSV cells that are safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
run as a formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(…)``,
``=cmd|' /C calc'!A0``): CSV formula injection. :func:`csv_cell` follows
OWASP's rule and prefixes such a cell with a single quote, which the
spreadsheet shows as text; a plain number (``-1``, ``+2.5e-3``) is left alone,
as no spreadsheet runs it. Every CSV the project writes formats its cells
with :func:`csv_cell` (or writes only numbers it formatted itself).
"""

from __future__ import annotations

import re

__all__ = ["FORMULA_STARTS", "csv_cell", "csv_row", "neutralise"]

#: first characters that make a spreadsheet evaluate a cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)", re.I)


def neutralise(text: str) -> str:
    """``text``, prefixed with ``'`` if a spreadsheet would run it as a formula."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: object) -> str:
    """One CSV cell: neutralised (:func:`neutralise`), then quoted if it needs quotes."""
    text = neutralise(str(value))
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(values) -> str:
    """Cells joined by commas (no line end)."""
    return ",".join(csv_cell(v) for v in values)
