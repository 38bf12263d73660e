"""Text and Markdown renderings of an :class:`~backprop.explain.Explanation`.

Matrices are drawn with bracket art side by side, as the equation reads::

     [z¹]₄ₓ₁          [W¹]₄ₓ₃          [a⁰]₃ₓ₁    [b¹]₄ₓ₁
    ⎡ 0.1234⎤   ⎡ 0.1257 -0.1321 0.6404⎤          ⎡ 0.1000⎤
    ⎢-0.5678⎥ = ⎢ ...                  ⎥ ⎡0.12⎤ + ⎢ ...   ⎥
    ...

Large matrices are summarised (shape, min/mean/max and the top-left corner)
unless ``full`` is set.
"""

from __future__ import annotations

import numpy as np

from ..explain import Explanation, RowItems, Step, Term
from ..explain.expressions import sup

#: a matrix with more rows or columns than these is summarised unless full=True
MAX_ROWS = 10
MAX_COLS = 8
#: the corner of a summarised matrix
CORNER = 4
#: wider rows are stacked vertically
WIDTH = 120


class Style:
    """ANSI colours, or none."""

    def __init__(self, color: bool):
        self.color = color

    def _w(self, code: str, s: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if self.color else s

    def heading(self, s: str) -> str:
        return self._w("1;36", s)

    def ok(self, s: str) -> str:
        return self._w("32", s)

    def bad(self, s: str) -> str:
        return self._w("1;31", s)

    def note(self, s: str) -> str:
        return self._w("33", s)

    def dim(self, s: str) -> str:
        return self._w("2", s)

    def label(self, s: str) -> str:
        return self._w("1", s)


# -- numbers -------------------------------------------------------------------


def number_format(values: np.ndarray) -> str:
    """One format for a whole matrix: 4 decimals, or scientific for tiny/huge values."""
    finite = np.abs(values[np.isfinite(values)])
    biggest = float(finite.max()) if finite.size else 0.0
    if biggest == 0.0 or 0.01 <= biggest < 1e4:
        return ".4f"
    return ".3e"


def fmt(v: float, spec: str) -> str:
    s = format(float(v), spec)
    return "0.0000" if s == "-0.0000" else s


def is_large(value: np.ndarray, full: bool) -> bool:
    return not full and (value.shape[0] > MAX_ROWS or value.shape[1] > MAX_COLS)


def stats(value: np.ndarray) -> str:
    return (
        f"{value.shape[0]}×{value.shape[1]}, min {value.min():.4g}, "
        f"mean {value.mean():.4g}, max {value.max():.4g}"
    )


def cells(value: np.ndarray, full: bool) -> list[list[str]]:
    """The entries as strings; for a large matrix its corner with ⋯/⋮ markers."""
    spec = number_format(value)
    if not is_large(value, full):
        return [[fmt(v, spec) for v in row] for row in value]
    r = min(CORNER, value.shape[0])
    c = min(CORNER, value.shape[1])
    out = []
    for row in value[:r, :c]:
        line = [fmt(v, spec) for v in row]
        if value.shape[1] > c:
            line.append("⋯")
        out.append(line)
    if value.shape[0] > r:
        out.append(["⋮"] * c + (["⋱"] if value.shape[1] > c else []))
    return out


# -- blocks of lines -----------------------------------------------------------


def matrix_lines(value: np.ndarray, full: bool) -> list[str]:
    """The matrix in brackets, one string per row, all of one width."""
    table = cells(value, full)
    ncols = max(len(r) for r in table)
    widths = [max(len(r[j]) for r in table if j < len(r)) for j in range(ncols)]
    rows = [" ".join(s.rjust(w) for s, w in zip(r, widths)) for r in table]
    width = max(len(r) for r in rows)
    rows = [r.ljust(width) for r in rows]
    if len(rows) == 1:
        return [f"[{rows[0]}]"]
    out = []
    for i, r in enumerate(rows):
        left, right = ("⎡", "⎤") if i == 0 else ("⎣", "⎦") if i == len(rows) - 1 else ("⎢", "⎥")
        out.append(f"{left}{r}{right}")
    return out


def term_block(term: Term, full: bool) -> tuple[str, list[str]]:
    """(label, body lines) of a matrix."""
    label = term.label.text()
    if is_large(term.value, full):
        label += "  " + stats(term.value)
    return label, matrix_lines(np.asarray(term.value), full)


def hjoin(items: RowItems, full: bool, style: Style) -> list[str]:
    """Matrices and operators side by side, labels above, bodies centred."""
    blocks: list[tuple[str | None, list[str]]] = []
    for it in items:
        if isinstance(it, Term):
            blocks.append(term_block(it, full))
        else:
            blocks.append((None, [f" {it} "]))
    H = max(len(body) for _, body in blocks)
    mid = 1 + (H - 1) // 2
    columns = []
    for label, body in blocks:
        width = max([len(s) for s in body] + [len(label) if label else 0])
        col = [" " * width] * (H + 1)
        if label is None:
            col[mid] = body[0].ljust(width)
        else:
            top = 1 + (H - len(body)) // 2
            col[top - 1] = label.center(width)
            for i, s in enumerate(body):
                col[top + i] = s.center(width)
        columns.append((label, col))
    lines = []
    for i in range(H + 1):
        lines.append(" ".join(col[i] for _, col in columns).rstrip())
    return lines


def vjoin(items: RowItems, full: bool, style: Style) -> list[str]:
    """Matrices one below another, for rows too wide for the screen."""
    lines = []
    for it in items:
        if isinstance(it, Term):
            label, body = term_block(it, full)
            lines.append(label)
            lines.extend("  " + s for s in body)
        else:
            lines.append(f"  {it}")
    return lines


def row_lines(items: RowItems, full: bool, style: Style) -> list[str]:
    lines = hjoin(items, full, style)
    large = any(isinstance(i, Term) and is_large(i.value, full) for i in items)
    if large or max(len(s) for s in lines) > WIDTH:
        lines = vjoin(items, full, style)
    return lines


# -- whole reports -------------------------------------------------------------


def describe(e: Explanation) -> list[str]:
    """Lines that say which network, example and step this is."""
    net = "-".join(str(n) for n in e.sizes)
    ex = "1 example" if e.m == 1 else f"a mini-batch of {e.m} examples"
    lines = [
        f"Network {net} (L = {e.L}), activations {', '.join(e.activations)}, "
        f"{e.cost_name} cost; {ex}; learning rate α = {e.lr:g}.",
    ]
    if e.source:
        lines.append(e.source)
    if e.L != 2:
        lines.append(
            f"The source derives L = 2 (its 3-4-2 network) and notes that 'a similar pattern "
            f"shows up' for more layers: here it is for L = {e.L}."
        )
    if e.dtype != "float64":
        lines.append(f"The model is {e.dtype}; the walkthrough runs on a float64 copy.")
    if e.labels is not None and e.predicted is not None:
        lines.append(prediction_line(e))
    return lines


def prediction_line(e: Explanation) -> str:
    """What the network predicts (argmax a^L) against the label, for one-hot targets."""
    assert e.labels is not None and e.predicted is not None
    if e.m == 1:
        k, y = e.predicted[0], e.labels[0]
        out = float(e.a[e.L][k, 0])
        verdict = "correct" if k == y else "wrong"
        return (
            f"The network predicts class {k} (its largest output, a{sup(e.L)} = {out:.4g}); "
            f"the label is class {y}: {verdict}."
        )
    right = sum(k == y for k, y in zip(e.predicted, e.labels))
    return (
        f"The network predicts classes {', '.join(map(str, e.predicted))}; the labels are "
        f"{', '.join(map(str, e.labels))}: {right} of {e.m} correct."
    )


def check_line(step: Step) -> str | None:
    c = step.check
    if c is None:
        return None
    entries = (
        f"all {c.total} entries" if c.checked == c.total else f"{c.checked} of {c.total} entries"
    )
    skipped = (
        f"; {c.skipped} skipped: a ReLU input within the step of its kink at 0" if c.skipped else ""
    )
    return (
        f"finite differences: relative error {c.rel_error:.1e} "
        f"({entries}, tolerance {c.tol:.0e}{skipped})"
    )


def summary_lines(e: Explanation) -> list[tuple[str, float, bool]]:
    rows = []
    for l in range(1, e.L + 1):
        rows.append((f"∂C/∂W{_sup(l)}", e.check_W[l].rel_error, e.check_W[l].ok))
        rows.append((f"∂C/∂b{_sup(l)}", e.check_b[l].rel_error, e.check_b[l].ok))
    return rows


def _sup(l: int) -> str:
    return sup(l)


def render_text(e: Explanation, *, full: bool = False, color: bool = False) -> str:
    st = Style(color)
    out = [st.heading("Backpropagation, step by step"), *describe(e), ""]
    for i, step in enumerate(e.steps(), 1):
        out.append(st.heading(f"{i}. {step.title}"))
        out.append("   " + st.label(step.equation.text()))
        for row in step.rows:
            out.extend("   " + s for s in row_lines(row, full, st))
        if step.dims is not None:
            out.append("   shapes: " + step.dims.text())
        if step.value is not None:
            out.append(f"   C = {step.value:.6g}")
        line = check_line(step)
        if line and step.check is not None:
            mark = st.ok("✓") if step.check.ok else st.bad("✗")
            out.append(f"   {mark} {line}")
        for note in step.notes:
            prefix = "note: " if _is_source_note(note) else ""
            out.append("   " + (st.note(prefix + note) if prefix else st.dim(note)))
        out.append("")
    out.append(st.heading("Summary"))
    out.append(f"   C = {e.cost:.6g} → {e.cost_after:.6g} after one step with α = {e.lr:g}")
    for name, err, ok in summary_lines(e):
        mark = st.ok("✓") if ok else st.bad("✗")
        out.append(f"   {name:<8} finite-difference relative error {err:.1e} {mark}")
    return "\n".join(out) + "\n"


def _is_source_note(note: str) -> bool:
    return note.startswith("The source writes")


def render_markdown(e: Explanation, *, full: bool = False) -> str:
    st = Style(False)
    out = ["# Backpropagation, step by step", ""]
    for line in describe(e):
        out += [line, ""]
    for i, step in enumerate(e.steps(), 1):
        out += [f"## {i}. {step.title}", "", f"$$ {step.equation.latex()} $$", ""]
        if step.rows:
            out.append("```text")
            for row in step.rows:
                out.extend(row_lines(row, full, st))
            out += ["```", ""]
        if step.dims is not None:
            out += [f"Shapes: ${step.dims.latex()}$", ""]
        if step.value is not None:
            out += [f"C = {step.value:.6g}", ""]
        checked = check_line(step)
        if checked and step.check is not None:
            out += [f"{'✓' if step.check.ok else '✗'} {checked.capitalize()}", ""]
        for note in step.notes:
            out += [f"> **Note:** {note}" if _is_source_note(note) else note, ""]
    out += [
        "## Summary",
        "",
        f"C = {e.cost:.6g} → {e.cost_after:.6g} after one step with α = {e.lr:g}.",
        "",
        "| gradient | finite-difference relative error | |",
        "| --- | --- | --- |",
    ]
    for name, err, ok in summary_lines(e):
        out.append(f"| {name} | {err:.1e} | {'✓' if ok else '✗'} |")
    return "\n".join(out) + "\n"
