"""A tiny expression language for the equations of an explanation.

One equation is written once, as a tree of these nodes, and rendered three
ways: Unicode text for the terminal (``z¹ = W¹ a⁰ + b¹``), LaTeX for
Markdown (``z^{1} = W^{1} a^{0} + b^{1}``) and presentation MathML for HTML.
Only what the source's derivation needs is here: symbols with a layer
superscript, transposes, fractions, σ/σ' applied to an argument, norms, and
the source's shape-annotated brackets ``[W¹]₄ₓ₃``.

:mod:`backprop.explain.steps` builds the trees; :mod:`backprop.report` asks each
for its ``text()``, ``latex()`` or ``mathml()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

_SUP = str.maketrans("0123456789+-=()lLT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ˡᴸᵀ")
_SUB = str.maketrans("0123456789xmk+-", "₀₁₂₃₄₅₆₇₈₉ₓₘₖ₊₋")


def sup(s: object) -> str:
    """Unicode superscript of ``s`` (digits, l, L)."""
    return str(s).translate(_SUP)


def sub(s: object) -> str:
    """Unicode subscript of ``s`` (digits, x, m)."""
    return str(s).translate(_SUB)


class Expr:
    """A node: ``text()``, ``latex()`` and ``mathml()`` (MathML without <math>)."""

    def text(self) -> str:
        raise NotImplementedError

    def latex(self) -> str:
        raise NotImplementedError

    def mathml(self) -> str:
        raise NotImplementedError

    def math(self, display: bool = False) -> str:
        """A complete ``<math>`` element."""
        mode = ' display="block"' if display else ""
        return f"<math{mode}>{self.mathml()}</math>"


def _index_ml(index: object) -> str:
    """A superscript: a number as ``<mn>`` (W²), a letter as an identifier ``<mi>`` (W^l, set in
    italic, so that the layer index l never reads as the digit 1)."""
    text = escape(str(index))
    if text.isdigit():
        return f"<mn>{text}</mn>"
    if text.isalpha():
        return f'<mi mathvariant="italic">{text}</mi>'
    return f"<mrow>{''.join(_index_part(c) for c in text)}</mrow>"  # l+1, l-1, L


def _index_part(c: str) -> str:
    if c.isdigit():
        return f"<mn>{c}</mn>"
    return f"<mo>{'−' if c == '-' else c}</mo>" if c in "+-−" else f"<mi>{c}</mi>"


@dataclass
class Sym(Expr):
    """A symbol, e.g. ``Sym("W", 2)`` is W², ``Sym("a", 1, T=True)`` is (a¹)ᵀ.

    ``tex``/``ml`` override the LaTeX/MathML spelling of ``name`` (σ → \\sigma).
    """

    name: str
    layer: object = None
    T: bool = False
    tex: str | None = None
    prime: bool = False

    def text(self) -> str:
        core = self.name + ("'" if self.prime else "")
        if self.layer is not None:
            core += sup(self.layer)
        if self.T:
            core = (f"({core})" if self.layer is not None else core) + "ᵀ"
        return core

    def latex(self) -> str:
        core = self.tex or self.name
        if self.prime:
            core += "'"
        if self.layer is not None:
            core = f"{core}^{{{self.layer}}}"
        if self.T:
            core = (f"({core})" if self.layer is not None else core) + "^\\top"
        return core

    def mathml(self) -> str:
        core = f"<mi>{escape(self.name)}</mi>"
        if self.prime:
            core = f"<msup>{core}<mo>′</mo></msup>"
        if self.layer is not None:
            core = f"<msup>{core}{_index_ml(self.layer)}</msup>"
        if self.T:
            if self.layer is not None:
                core = f"<mrow><mo>(</mo>{core}<mo>)</mo></mrow>"
            core = f"<msup>{core}<mo>⊤</mo></msup>"
        return core


@dataclass
class Num(Expr):
    value: str

    def text(self) -> str:
        return self.value

    def latex(self) -> str:
        return self.value

    def mathml(self) -> str:
        return f"<mn>{escape(self.value)}</mn>"


@dataclass
class Op(Expr):
    """An operator: ``=``, ``+``, ``−``, ``∘``, ``←``, ``≈``; ``""`` is a thin space."""

    op: str

    _TEX = {
        "∘": "\\circ",
        "←": "\\leftarrow",
        "≈": "\\approx",
        "−": "-",
        "·": "\\cdot",
        "≡": "\\equiv",
        "Σ": "\\sum",
        "×": "\\times",
    }

    def text(self) -> str:
        return f" {self.op} " if self.op not in ("(", ")") else self.op

    def latex(self) -> str:
        return self._TEX.get(self.op, self.op) if self.op else "\\,"

    def mathml(self) -> str:
        return f"<mo>{escape(self.op)}</mo>" if self.op else '<mspace width="0.2em"/>'


class Row(Expr):
    """Items side by side."""

    def __init__(self, *items: Expr | str):
        self.items = [Op(i) if isinstance(i, str) else i for i in items]

    def text(self) -> str:
        out = "".join(i.text() for i in self.items)
        while "  " in out:
            out = out.replace("  ", " ")
        return out.strip()

    def latex(self) -> str:
        return " ".join(i.latex() for i in self.items)

    def mathml(self) -> str:
        return "<mrow>" + "".join(i.mathml() for i in self.items) + "</mrow>"


@dataclass
class Paren(Expr):
    inner: Expr
    left: str = "("
    right: str = ")"

    def text(self) -> str:
        return f"{self.left}{self.inner.text()}{self.right}"

    def latex(self) -> str:
        l, r = {"‖": ("\\|", "\\|"), "[": ("[", "]")}.get(self.left, (self.left, self.right))
        return f"\\left{l} {self.inner.latex()} \\right{r}"

    def mathml(self) -> str:
        return (
            f'<mrow><mo fence="true">{escape(self.left)}</mo>{self.inner.mathml()}'
            f'<mo fence="true">{escape(self.right)}</mo></mrow>'
        )


@dataclass
class Power(Expr):
    base: Expr
    exponent: str

    def text(self) -> str:
        return self.base.text() + sup(self.exponent)

    def latex(self) -> str:
        return f"{{{self.base.latex()}}}^{{{self.exponent}}}"

    def mathml(self) -> str:
        return f"<msup>{self.base.mathml()}{_index_ml(self.exponent)}</msup>"


@dataclass
class Frac(Expr):
    num: Expr
    den: Expr
    inline: bool = True  # text: a/b

    def text(self) -> str:
        n, d = self.num.text(), self.den.text()
        if (n, d) == ("1", "2"):
            return "½"
        return f"{n}/{d}"

    def latex(self) -> str:
        return f"\\frac{{{self.num.latex()}}}{{{self.den.latex()}}}"

    def mathml(self) -> str:
        return f"<mfrac>{self.num.mathml()}{self.den.mathml()}</mfrac>"

    def inline_mathml(self) -> str:
        """``num/den`` on one line, legible at the size of a subscripted label."""
        return f"<mrow>{self.num.mathml()}<mo>/</mo>{self.den.mathml()}</mrow>"


def partial(of: str, wrt: Sym) -> Frac:
    """∂C/∂W^l."""
    return Frac(Sym("∂" + of, tex="\\partial " + of), _partial_den(wrt))


def _partial_den(wrt: Sym) -> Expr:
    return Row(Sym("∂", tex="\\partial"), wrt)


@dataclass
class Call(Expr):
    """``σ(z¹)``, ``σ'(z¹)``."""

    fn: Sym
    arg: Expr

    def text(self) -> str:
        return f"{self.fn.text()}({self.arg.text()})"

    def latex(self) -> str:
        return f"{self.fn.latex()}({self.arg.latex()})"

    def mathml(self) -> str:
        return f"<mrow>{self.fn.mathml()}<mo>(</mo>{self.arg.mathml()}<mo>)</mo></mrow>"


@dataclass
class Shaped(Expr):
    """The source's dimension notation: ``[W¹]₄ₓ₃``, ``[a¹]ᵀ₁ₓ₄``."""

    inner: Expr
    shape: tuple[int, int]
    T: bool = False

    def _shape(self) -> tuple[int, ...]:
        return tuple(reversed(self.shape)) if self.T else tuple(self.shape)

    def text(self) -> str:
        r, c = self._shape()
        return f"[{self.inner.text()}]{'ᵀ' if self.T else ''}{sub(r)}ₓ{sub(c)}"

    def latex(self) -> str:
        r, c = self._shape()
        t = "^\\top" if self.T else ""
        return f"\\left[ {self.inner.latex()} \\right]{t}_{{{r}\\times {c}}}"

    def mathml(self) -> str:
        r, c = self._shape()
        inner = self.inner
        # [∂C/∂W²]₂ₓ₄: the fraction inline, as the source writes it (a stacked one is tiny there)
        ml = inner.inline_mathml() if isinstance(inner, Frac) else inner.mathml()
        base = f"<mrow><mo>[</mo>{ml}<mo>]</mo></mrow>"
        shape = f"<mrow><mn>{r}</mn><mo>×</mo><mn>{c}</mn></mrow>"
        if self.T:
            return f"<msubsup>{base}{shape}<mo>⊤</mo></msubsup>"
        return f"<msub>{base}{shape}</msub>"


@dataclass
class Text(Expr):
    """Words inside an equation."""

    words: str

    def text(self) -> str:
        return self.words

    def latex(self) -> str:
        return f"\\text{{{self.words}}}"

    def mathml(self) -> str:
        words = escape(self.words)
        stripped = words.strip()
        lead = "\u00a0" if words[:1] == " " else ""
        trail = "\u00a0\u00a0" if words[-1:] == " " else ""
        return f"<mtext>{lead}{stripped}{trail}</mtext>"


SIGMA = Sym("σ", tex="\\sigma")
SIGMA_PRIME = Sym("σ", tex="\\sigma", prime=True)
ALPHA = Sym("α", tex="\\alpha")
DELTA = "δ"


def delta(l: object, T: bool = False) -> Sym:
    return Sym("δ", l, T=T, tex="\\delta")
