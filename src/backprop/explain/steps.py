"""The walkthrough: an :class:`~backprop.explain.model.Explanation`'s numbers as the source's steps.

:func:`walkthrough` lays the values out in the source's order and notation::

    z^l = W^l a^{l-1} + b^l,  a^l = σ(z^l)       forward, l = 1..L
    C = ½‖a^L − t‖²                               the cost (or the network's own)
    δ^L = (a^L − t) ∘ σ'(z^L)                     BP1 (or the cost's own δ^L)
    ∂C/∂W^l = δ^l (a^{l-1})ᵀ,  ∂C/∂b^l = δ^l      BP4, BP3
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ'(z^l)          BP2, for l = L−1..1
    W^l ← W^l − α ∂C/∂W^l,  b^l ← b^l − α ∂C/∂b^l  the update, then the new cost

Each :class:`Step` holds its equation (an expression tree of
:mod:`backprop.explain.expressions`), rows of :class:`Term` (a label and its matrix),
the source's dimension check and the finite-difference :class:`Check` of the
gradient it computes. Which form an equation takes is asked of the activation and
cost objects (``elementwise``, ``formula``, ``source_cost``, ``cancels_sigma_prime``),
never decided by their names. Nothing here formats numbers: :mod:`backprop.report` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backward_steps import bp1_step, bp2_step, bp3_step, bp4_step
from .expressions import ALPHA, SIGMA, Call, Expr, Frac, Num, Paren, Power, Row, Shaped, Sym, Text
from .records import (
    Check,
    RowItems,
    Step,
    Term,
    activation_of,
    cost_of,
    dC,
    new_value,
    num,
    output_of,
    shaped,
)

if TYPE_CHECKING:  # the model imports this module to build its steps
    from .model import Explanation

__all__ = ["Check", "RowItems", "Step", "Term", "walkthrough"]


def walkthrough(e: Explanation) -> list[Step]:
    """The steps of ``e``, in the source's order: forward, cost, BP1, then per layer
    from L down BP2 (below L), BP4 and BP3, then the updates and the new cost."""
    L = e.L
    steps = [_forward_step(e, l) for l in range(1, L + 1)]
    steps.append(_cost_step(e))
    steps.append(bp1_step(e))
    for l in range(L, 0, -1):
        if l < L:
            steps.append(bp2_step(e, l))
        steps.append(bp4_step(e, l))
        steps.append(bp3_step(e, l))
    steps.extend(_update_step(e, l) for l in range(1, L + 1))
    steps.append(_cost_after_step(e))
    return steps


# -- forward and cost ------------------------------------------------------------


def _forward_step(e: Explanation, l: int) -> Step:
    """z^l = W^l a^{l-1} + b^l, a^l = σ(z^l), with the layer's numbers."""
    eq = Row(
        Sym("z", l),
        "=",
        Sym("W", l),
        "",
        Sym("a", l - 1),
        "+",
        Sym("b", l),
        Text(",  "),
        Sym("a", l),
        "=",
        Call(SIGMA, Sym("z", l)),
    )
    rows = [
        [
            Term(shaped("z", l, e), e.z[l], f"z{l}"),
            "=",
            Term(shaped("W", l, e), e.W[l], f"W{l}"),
            Term(shaped("a", l - 1, e), e.a[l - 1], f"a{l - 1}"),
            "+",
            Term(shaped("b", l, e), e.b[l], f"b{l}"),
        ],
        [Term(shaped("a", l, e), e.a[l], f"a{l}"), "=", Call(SIGMA, Sym("z", l)).text()],
    ]
    dims = Row(
        shaped("z", l, e), "=", shaped("W", l, e), "", shaped("a", l - 1, e), "+", shaped("b", l, e)
    )
    act = activation_of(e, l)
    notes = [f"σ here is {act.name}{': ' + act.formula if act.formula else ''}."]
    if l == 1:
        batch = f", {e.m} examples as columns." if e.m > 1 else "."
        notes.insert(0, "The input is a⁰ = x" + batch)
    return Step(f"forward-{l}", f"Forward pass, layer {l}", eq, rows, dims, notes=notes)


def _per_example_cost(e: Explanation) -> Expr:
    """C_x as the cost defines it: ½‖aᴸ − t‖², or the cross-entropy of the output."""
    aL, t = Sym("a", e.L), Sym("t")
    cost = cost_of(e)
    if cost.source_cost:
        return Row(Frac(Num("1"), Num("2")), Power(Paren(Row(aL, "−", t), "‖", "‖"), "2"))
    if not cost.cancels_sigma_prime:  # a cost of the user's own: no formula to show
        return Row(Sym("Cₓ", tex="C_x"))
    if not output_of(e).elementwise:  # softmax: one distribution per example
        return Row("−", Text("Σⱼ "), Sym("t", "j"), Text(" ln "), Sym("a", "j"))
    log_likelihood = Row(
        Sym("t"),
        Text(" ln "),
        aL,
        "+",
        Paren(Row(Num("1"), "−", t)),
        Text(" ln"),
        Paren(Row(Num("1"), "−", aL)),
    )
    return Row("−", Text("Σⱼ "), Paren(log_likelihood), Text(" (per output j)"))


def _cost_step(e: Explanation) -> Step:
    L, m = e.L, e.m
    per = _per_example_cost(e)
    eq = (
        Row(Sym("C"), "=", Frac(Num("1"), Sym("m")), Text(" Σₓ "), per)
        if m > 1
        else Row(Sym("C"), "=", per)
    )
    t = Shaped(Sym("t"), (e.sizes[-1], m))
    rows = [[Term(shaped("a", L, e), e.a[L], f"a{L}"), "−", Term(t, e.t, "t")]]
    notes = [f"The mean over the {m} examples."] if m > 1 else []
    if cost_of(e).source_cost:
        notes.append("The source's cost: half the squared distance between the output aᴸ and t.")
    return Step("cost", f"The cost ({e.cost_name})", eq, rows, notes=notes, value=e.cost)


# -- the update and the new cost -----------------------------------------------------


def _update_step(e: Explanation, l: int) -> Step:
    """W^l ← W^l − α ∂C/∂W^l and b^l ← b^l − α ∂C/∂b^l, with the new values."""
    n = e.sizes
    eq = Row(
        Sym("W", l),
        "←",
        Sym("W", l),
        "−",
        ALPHA,
        "",
        dC("W", l),
        Text(",  "),
        Sym("b", l),
        "←",
        Sym("b", l),
        "−",
        ALPHA,
        "",
        dC("b", l),
    )
    lr = num(e.lr)
    rows = [
        [
            Term(new_value("W", l, e), e.W_after[l], f"W{l}_after"),
            "←",
            Term(shaped("W", l, e), e.W[l], f"W{l}"),
            "−",
            lr,
            Term(Shaped(dC("W", l), (n[l], n[l - 1])), e.dW[l], f"dW{l}"),
        ],
        [
            Term(new_value("b", l, e), e.b_after[l], f"b{l}_after"),
            "←",
            Term(shaped("b", l, e), e.b[l], f"b{l}"),
            "−",
            lr,
            Term(Shaped(dC("b", l), (n[l], 1)), e.db[l], f"db{l}"),
        ],
    ]
    return Step(f"update-{l}", f"Gradient descent, layer {l} (α = {lr})", eq, rows)


def _cost_after_step(e: Explanation) -> Step:
    """C with the new weights, against the first-order prediction −α‖∇C‖²."""
    change = e.cost_after - e.cost
    verdict = (
        "lower, as gradient descent promises for a small enough α."
        if change < 0
        else "NOT lower: α is too large for this example; try a smaller --lr."
    )
    return Step(
        "cost-after",
        "The new cost",
        Row(Sym("C"), Text(" with the new "), Sym("W", "l"), Text(" and "), Sym("b", "l")),
        notes=[
            f"C went from {e.cost:.6g} to {e.cost_after:.6g} (ΔC = {change:.3g}): {verdict}",
            f"First-order prediction: ΔC ≈ −α‖∇C‖² = {e.first_order:.3g}.",
        ],
        value=e.cost_after,
    )
