"""One self-contained HTML page: MathML equations, matrices as tables.

No network access, no scripts, no web fonts: the CSS is inline and uses the
system's fonts; every modern browser renders MathML natively. The layout
wraps on a phone and avoids page breaks inside a step when printed.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from html import escape

import numpy as np

from ..explain import Explanation, RowItems, Step, Term
from .text import cells, check_line, describe, is_large, stats, summary_lines

CSS = """
:root { --fg: #1d2329; --muted: #5b6670; --accent: #0b6bcb; --ok: #137333; --bad: #c5221f;
        --note-bg: #fff6d6; --note-border: #e3b400; --card: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 70rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.15rem; margin: 0 0 .4rem; color: var(--accent); }
header p { color: var(--muted); margin: .2rem 0; }
.step { background: var(--card); border-radius: 8px; padding: .8rem 1rem; margin: 1rem 0; }
.eq { font-size: 1.15rem; overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem .6rem; margin: .6rem 0; }
.op { font-size: 1.3rem; padding: 0 .1rem; }
figure.term { margin: 0; max-width: 100%; overflow-x: auto; }
figure.term figcaption { text-align: center; font-size: 1.05rem; }
figure.term .stats { display: block; color: var(--muted); font-size: .8rem; }
.bracket { position: relative; display: table; margin: 0 auto; padding: .1rem .4rem; }
.bracket::before, .bracket::after { content: ""; position: absolute; top: 0; bottom: 0;
                                    width: .3rem; border: 2px solid var(--fg); }
.bracket::before { left: 0; border-right: none; }
.bracket::after { right: 0; border-left: none; }
table.matrix { border-collapse: collapse; border-spacing: 0; }
table.matrix td { padding: .05rem .45rem; text-align: right; white-space: nowrap;
                  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
                  font-size: .9rem; font-variant-numeric: tabular-nums; }
.dims { color: var(--muted); overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
.check { font-weight: 600; }
.check.ok { color: var(--ok); }
.check.bad { color: var(--bad); }
.note { margin: .3rem 0; }
.note.source { background: var(--note-bg); border-left: 4px solid var(--note-border);
               padding: .3rem .6rem; }
.with-picture { display: flex; align-items: center; gap: .8rem; }
img.picture { width: 7rem; height: 7rem; image-rendering: pixelated; border: 1px solid #d0d7de; }
table.summary { border-collapse: collapse; }
table.summary td, table.summary th { border-bottom: 1px solid #d0d7de; padding: .2rem .8rem;
                                     text-align: left; }
@media (max-width: 600px) {
  body { font-size: 15px; }
  main { padding: .5rem; }
  .step { padding: .6rem; }
  table.matrix td { padding: .05rem .25rem; font-size: .8rem; }
}
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .step { background: none; border: 1px solid #999; break-inside: avoid; page-break-inside: avoid; }
  figure.term { overflow: visible; }
  h2 { color: #000; }
}
"""


def _matrix(term: Term, full: bool) -> str:
    value = np.asarray(term.value)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
        for row in cells(value, full)
    )
    extra = ""
    if is_large(value, full):
        extra = f'<span class="stats">{escape(stats(value))}</span>'
    shape = f"{value.shape[0]}×{value.shape[1]}"
    numbers = (
        f'<div class="bracket"><table class="matrix" data-key="{escape(term.key)}"'
        f' data-shape="{shape}" aria-label="{escape(term.label.text())}">{body}</table></div>'
    )
    if term.key == "a0" and is_image(value):
        pictures = "".join(_picture(value[:, j]) for j in range(min(value.shape[1], 8)))
        numbers = f'<div class="with-picture">{numbers}{pictures}</div>'
    return (
        f'<figure class="term"><figcaption>{term.label.math()}{extra}</figcaption>'
        f"{numbers}</figure>"
    )


def is_image(x: np.ndarray) -> bool:
    """An input column of s² pixels in [0, 1], s ≥ 4 (8×8 digits, 28×28 MNIST): a picture."""
    side = math.isqrt(x.shape[0])
    return side >= 4 and side * side == x.shape[0] and bool(((x >= 0) & (x <= 1)).all())


def _picture(column: np.ndarray) -> str:
    """The input as a small grayscale PNG, dark ink (value 1) on white (value 0)."""
    side = math.isqrt(column.shape[0])
    pixels = np.round(255 * (1 - column.reshape(side, side))).astype(np.uint8)
    return (
        f'<img class="picture" alt="the input as a {side}×{side} image" '
        f'data-side="{side}" src="data:image/png;base64,{_png(pixels)}">'
    )


def _png(gray: np.ndarray) -> str:
    """Base64 of an 8-bit grayscale PNG of ``gray`` (h, w), written with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    h, w = gray.shape
    raw = b"".join(b"\x00" + row.tobytes() for row in gray)  # filter 0 (none) on every row
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode("ascii")


def _row(items: RowItems, full: bool) -> str:
    parts = []
    for it in items:
        if isinstance(it, Term):
            parts.append(_matrix(it, full))
        else:
            parts.append(f'<span class="op">{escape(str(it))}</span>')
    return '<div class="row">' + "".join(parts) + "</div>"


def _step(i: int, step: Step, full: bool) -> str:
    out = [
        f'<section class="step" id="{escape(step.id)}">',
        f"<h2>{i}. {escape(step.title)}</h2>",
        f'<div class="eq">{step.equation.math(display=True)}</div>',
    ]
    out += [_row(r, full) for r in step.rows]
    if step.dims is not None:
        out.append(f'<p class="dims">Shapes: {step.dims.math()}</p>')
    line = check_line(step)
    if line and step.check is not None:
        cls, mark = ("ok", "✓") if step.check.ok else ("bad", "✗")
        out.append(f'<p class="check {cls}">{mark} {escape(line.capitalize())}</p>')
    for note in step.notes:
        if note.startswith("The source writes"):
            out.append(f'<p class="note source"><strong>Note:</strong> {escape(note)}</p>')
        else:
            out.append(f'<p class="note">{escape(note)}</p>')
    if step.value is not None:
        out.append(f'<p class="value" data-value="{step.value!r}">C = {step.value:.6g}</p>')
    out.append("</section>")
    return "\n".join(out)


def render_html(e: Explanation, *, full: bool = False) -> str:
    title = f"Backpropagation, step by step: {'-'.join(map(str, e.sizes))} network"
    head = "".join(f"<p>{escape(line)}</p>" for line in describe(e))
    steps = "\n".join(_step(i, s, full) for i, s in enumerate(e.steps(), 1))
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{err:.1e}</td><td>{'✓' if ok else '✗'}</td></tr>"
        for name, err, ok in summary_lines(e)
    )
    summary = (
        '<section class="step" id="summary"><h2>Summary</h2>'
        f'<p>C = <span id="cost">{e.cost:.6g}</span> → '
        f'<span id="cost-after">{e.cost_after:.6g}</span> after one step with α = {e.lr:g}.</p>'
        '<table class="summary"><tr><th>gradient</th><th>finite-difference relative error</th>'
        f"<th></th></tr>{rows}</table></section>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
        f"<body><main><header><h1>Backpropagation, step by step</h1>{head}</header>\n"
        f"{steps}\n{summary}\n</main></body></html>\n"
    )
