"""Tables for notebooks and consoles: a Network's layers, a History's epochs, a gradcheck.

The ``__repr__``, ``_repr_html_`` and ``summary`` methods of :class:`~backprop.Network`,
:class:`~backprop.History` and :class:`~backprop.GradcheckResult` call these functions. They
only format values the objects already hold: no maths, no printing, and no import of anything
but the standard library, so the core can use them without reaching up the layers.

>>> print(text_table(("l", "n_l"), [("0", "3"), ("1", "4")]))
l  n_l
-  ---
0    3
1    4
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

__all__ = [
    "format_seconds",
    "gradcheck_html",
    "gradcheck_repr",
    "history_html",
    "history_repr",
    "history_rows",
    "html_table",
    "network_html",
    "network_rows",
    "network_summary",
    "percent",
    "text_table",
]

#: the inline style of every HTML table (a notebook's own CSS may be absent, as on GitHub)
_CELL = "padding: 0.15em 0.6em; text-align: {align}; font-variant-numeric: tabular-nums"


def percent(x: float | None) -> str:
    """``0.875`` as ``"87.50%"``; None or NaN as ``"—"``."""
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}%"


def format_seconds(s: float) -> str:
    """A duration as a clock: ``"0:41"``, ``"1:02:03"``; ``"?"`` when not finite."""
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "").replace("%", "").lstrip("-").isdigit()


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned plain-text table: numbers right-aligned, words left-aligned, a rule under the head.

    Parameters
    ----------
    headers : sequence of str, length k
    rows : sequence of rows, each a sequence of k str
    """
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = [
        bool(rows) and all(_numeric(r[i]) or not r[i] for r in rows) for i in range(len(headers))
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
        return "  ".join(parts).rstrip()

    return "\n".join(
        [
            line(headers),
            line(["-" * w if h else "" for w, h in zip(widths, headers)]),
            *map(line, rows),
        ]
    )


def html_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    caption: str = "",
    bold_row: int | None = None,
) -> str:
    """An HTML ``<table>`` (cells escaped), numbers right-aligned; ``bold_row`` is emphasised."""

    def cell(tag: str, text: str, extra: str = "") -> str:
        align = "right" if _numeric(text) else "left"
        style = _CELL.format(align=align) + extra
        return f'<{tag} style="{style}">{html.escape(text)}</{tag}>'

    head = "".join(cell("th", h) for h in headers)
    body = []
    for i, row in enumerate(rows):
        extra = "; font-weight: bold" if i == bold_row else ""
        body.append("<tr>" + "".join(cell("td", c, extra) for c in row) + "</tr>")
    cap = f"<caption style='text-align: left'>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table style="border-collapse: collapse">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# -- Network -------------------------------------------------------------------------------

NETWORK_HEADERS = ("layer", "neurons", "W", "b", "params", "activation")


def network_rows(net: Any) -> list[tuple[str, ...]]:
    """One row per layer l = 0..L as ``backprop info`` prints it (l = 0 is the input)."""
    rows: list[tuple[str, ...]] = [("0", str(net.sizes[0]), "", "", "", "(input)")]
    for l in net.W.keys():
        W, b = net.W[l], net.b[l]
        rows.append(
            (
                str(l),
                str(net.sizes[l]),
                "×".join(map(str, W.shape)),
                "×".join(map(str, b.shape)),
                f"{W.size + b.size:,}",
                net.act[l].name,
            )
        )
    return rows


def _network_line(net: Any) -> str:
    return (
        f"{net.sizes} network: cost {net.cost_name}, init {net.init}, {net.dtype}, "
        f"{net.n_params:,} parameters"
    )


def network_summary(net: Any) -> str:
    """The layer table and a line of totals, like Keras's ``model.summary()``."""
    return f"{_network_line(net)}\n\n{text_table(NETWORK_HEADERS, network_rows(net))}"


def network_html(net: Any) -> str:
    """The layer table as HTML, captioned with the cost, initialiser, dtype and total."""
    return html_table(NETWORK_HEADERS, network_rows(net), caption=_network_line(net))


# -- History -------------------------------------------------------------------------------

_HISTORY_COLUMNS = (
    ("epoch", "epoch"),
    ("train_cost", "train cost"),
    ("train_accuracy", "train acc."),
    ("val_cost", "val. cost"),
    ("val_accuracy", "val. acc."),
    ("test_cost", "test cost"),
    ("test_accuracy", "test acc."),
    ("lr", "α"),
    ("seconds", "seconds"),
)


def _fmt(name: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—" if value is None else str(value)
    if name == "epoch":
        return str(value)
    if name.endswith("accuracy"):
        return f"{100 * value:.2f}%"
    if name == "seconds":
        return f"{value:.2f}"
    return f"{value:.4g}" if name == "lr" else f"{value:.4f}"


def history_rows(history: Any, last: int = 5) -> tuple[list[str], list[list[str]], int | None]:
    """Headers, the rows of the last ``last`` epochs (and the best one, placed first when it is
    older), and the index of the best epoch's row (None without validation data)."""
    names = [n for n, _ in _HISTORY_COLUMNS if any(v is not None for v in getattr(history, n))]
    headers = [label for n, label in _HISTORY_COLUMNS if n in names]
    n = len(history)
    shown = list(range(max(0, n - last), n))
    best = history.best_epoch - 1 if history.best_epoch else None
    if best is not None and best not in shown:
        shown.insert(0, best)
    rows = [[_fmt(name, getattr(history, name)[i]) for name in names] for i in shown]
    return headers, rows, (shown.index(best) if best is not None else None)


def _history_notes(history: Any, last: int) -> list[str]:
    notes = []
    if len(history) > last:
        notes.append(f"the last {last} shown")
    if history.best_epoch:
        notes.append(f"best epoch {history.best_epoch} (validation)")
    if history.stopped_early:
        notes.append("stopped early")
    if history.diverged:
        notes.append(f"diverged: {history.diverged}")
    return notes


def history_repr(history: Any, last: int = 5) -> str:
    """``History(n epochs, …)`` and a compact table of the last epochs and the best one."""
    n = len(history)
    if n == 0:
        return "History(0 epochs)"
    headers, rows, best = history_rows(history, last)
    notes = ", ".join([f"{n} epoch{'s' if n != 1 else ''}", *_history_notes(history, last)])
    marks = [["← best" if i == best else ""] for i in range(len(rows))]
    table = text_table([*headers, ""], [row + mark for row, mark in zip(rows, marks)])
    return f"History({notes})\n{table}"


def history_html(history: Any, last: int = 5) -> str:
    """The table of :func:`history_repr` as HTML, the best epoch in bold."""
    if len(history) == 0:
        return "<p>History (0 epochs)</p>"
    headers, rows, best = history_rows(history, last)
    caption = "; ".join([f"History: {len(history)} epochs", *_history_notes(history, last)])
    return html_table(headers, rows, caption=caption, bold_row=best)


# -- GradcheckResult -----------------------------------------------------------------------


def _gradcheck_rows(result: Any) -> list[tuple[str, str, str]]:
    return [(name, f"{err:.2e}", "ok" if ok else "FAIL") for name, err, ok in result.rows()]


def gradcheck_repr(result: Any) -> str:
    """One line: the largest relative error, the tolerance and the verdict."""
    verdict = "passed" if result.passed else "FAILED"
    return f"GradcheckResult(max_error={result.max_error:.2e}, tol={result.tol:.0e}, {verdict})"


def gradcheck_html(result: Any) -> str:
    """The per-tensor table of ``str(result)`` as HTML."""
    verdict = "passed" if result.passed else "FAILED"
    caption = f"gradcheck {verdict}: max relative error {result.max_error:.2e} "
    caption += f"(tolerance {result.tol:.0e})"
    return html_table(("param", "rel. error", "status"), _gradcheck_rows(result), caption=caption)
