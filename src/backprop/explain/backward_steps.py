"""The backward steps of the walkthrough: BP1 (δ^L), BP2 (δ^l), BP4 (∂C/∂W^l), BP3 (∂C/∂b^l).

BP1's form is asked of the cost and the output activation: a cost whose δ^L
cancels σ' (``cancels_sigma_prime``) gives δ^L = a^L − t; a coupled output
(not ``elementwise``: softmax) multiplies by its Jacobian; otherwise
δ^L = (a^L − t) ∘ σ'(z^L), the source's form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .expressions import SIGMA_PRIME, Call, Frac, Paren, Row, Shaped, Sym, Text, delta, sup
from .records import RowItems, Step, Term, avg, avg_ops, cost_of, dC, output_of

if TYPE_CHECKING:  # the model imports the steps, which import this module
    from .model import Explanation

__all__ = ["bp1_step", "bp2_step", "bp3_step", "bp4_step"]


def bp1_step(e: Explanation) -> Step:
    """δ^L, in the form the cost and the output activation give it."""
    L, m, n = e.L, e.m, e.sizes
    cost, out = cost_of(e), output_of(e)
    d = Term(Shaped(delta(L), (n[L], m)), e.delta[L], f"delta{L}")
    diff = Term(Shaped(Row(Sym("a", L), "−", Sym("t")), (n[L], m)), e.a[L] - e.t, "a_minus_t")
    if cost.cancels_sigma_prime:
        step = _bp1_cancelled(e, d, diff, out.elementwise)
    elif not out.elementwise:
        step = _bp1_jacobian(e, d, diff)
    else:
        step = _bp1_elementwise(e, d, diff, cost.source_cost)
    if L == 2 and m == 1 and cost.source_cost and out.elementwise:
        step.notes.append("The source calls this δ² ≡ (a² − t) ∘ σ'(z²).")
    return step


def _bp1_title(e: Explanation) -> str:
    return f"BP1: the output error δ{sup(e.L)}"


def _bp1_cancelled(e: Explanation, d: Term, diff: Term, elementwise: bool) -> Step:
    """δ^L = a^L − t: the cost's own δ^L, σ' cancelled."""
    L, m, n = e.L, e.m, e.sizes
    eq = Row(delta(L), "=", Sym("a", L), "−", Sym("t"))
    rows: list[RowItems] = [[d, "=", diff]]
    dims = Row(
        Shaped(delta(L), (n[L], m)),
        "=",
        Shaped(Sym("a", L), (n[L], m)),
        "−",
        Shaped(Sym("t"), (n[L], m)),
    )
    if not elementwise:
        note = (
            "Cross-entropy's own δᴸ: ∂C/∂aⱼ = −tⱼ/aⱼ meets the softmax Jacobian "
            "aⱼ(δⱼₖ − aₖ), and all that is left is aᴸ − t."
        )
    else:
        note = (
            "Cross-entropy's own δᴸ: ∂C/∂a = (a − t)/(a(1 − a)) and σ'(z) = a(1 − a) cancel, "
            "so δᴸ = aᴸ − t (no σ' factor: no slowdown when the output saturates)."
        )
    return Step("bp1", _bp1_title(e), eq, rows, dims, notes=[note])


def _bp1_jacobian(e: Explanation, d: Term, diff: Term) -> Step:
    """δ^L = Jᵀ (a^L − t) for a coupled output (softmax)."""
    L, m, n = e.L, e.m, e.sizes
    eq = Row(
        delta(L),
        "=",
        Paren(Row(Frac(Sym("∂a", L), Sym("∂z", L)))),
        Text("ᵀ "),
        Paren(Row(Sym("a", L), "−", Sym("t"))),
    )
    rows: list[RowItems] = [[d, "=", Text("Jᵀ ").text(), diff]]
    dims = Row(
        Shaped(delta(L), (n[L], m)),
        "=",
        Shaped(Row(Sym("J")), (n[L], n[L]), T=True),
        Shaped(Row(Sym("a", L), "−", Sym("t")), (n[L], m)),
    )
    note = (
        "Softmax couples its outputs, so σ' is a Jacobian J, ∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ), "
        "not an elementwise factor."
    )
    return Step("bp1", _bp1_title(e), eq, rows, dims, notes=[note])


def _bp1_elementwise(e: Explanation, d: Term, diff: Term, source_cost: bool) -> Step:
    """δ^L = (a^L − t) ∘ σ'(z^L), the source's BP1."""
    L, m, n = e.L, e.m, e.sizes
    sigma_prime = Call(SIGMA_PRIME, Sym("z", L))
    eq = Row(delta(L), "=", Paren(Row(Sym("a", L), "−", Sym("t"))), "∘", sigma_prime)
    sp = Term(Shaped(sigma_prime, (n[L], m)), _sigma_prime(e, L), f"sp{L}")
    rows: list[RowItems] = [[d, "=", diff, "∘", sp]]
    dims = Row(
        Shaped(delta(L), (n[L], m)),
        "=",
        Shaped(Row(Sym("a", L), "−", Sym("t")), (n[L], m)),
        "∘",
        Shaped(sigma_prime, (n[L], m)),
    )
    notes = []
    if source_cost:
        notes.append(
            "∂C/∂aᴸ = aᴸ − t for C = ½‖aᴸ − t‖²; the chain rule through "
            "aᴸ = σ(zᴸ) multiplies it entry by entry by σ'(zᴸ)."
        )
    return Step("bp1", _bp1_title(e), eq, rows, dims, notes=notes)


def _sigma_prime(e: Explanation, l: int) -> np.ndarray:
    """σ'(z^l) of an elementwise layer (the only kind whose steps show it)."""
    sp = e.sigma_prime[l]
    if sp is None:  # pragma: no cover - only a coupled (softmax) output has none
        raise ValueError(f"layer {l} has no elementwise σ'")
    return sp


def bp2_step(e: Explanation, l: int) -> Step:
    """δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ'(z^l), for l < L."""
    n, m = e.sizes, e.m
    sigma_prime = Call(SIGMA_PRIME, Sym("z", l))
    eq = Row(delta(l), "=", Paren(Row(Sym("W", l + 1, T=True), "", delta(l + 1))), "∘", sigma_prime)
    rows: list[RowItems] = [
        [
            Term(Shaped(delta(l), (n[l], m)), e.delta[l], f"delta{l}"),
            "=",
            Term(Shaped(Sym("W", l + 1), (n[l + 1], n[l]), T=True), e.W[l + 1].T, f"W{l + 1}T"),
            Term(Shaped(delta(l + 1), (n[l + 1], m)), e.delta[l + 1], f"delta{l + 1}"),
            "∘",
            Term(Shaped(sigma_prime, (n[l], m)), _sigma_prime(e, l), f"sp{l}"),
        ]
    ]
    dims = Row(
        Shaped(delta(l), (n[l], m)),
        "=",
        Shaped(Sym("W", l + 1), (n[l + 1], n[l]), T=True),
        "",
        Shaped(delta(l + 1), (n[l + 1], m)),
        "∘",
        Shaped(sigma_prime, (n[l], m)),
    )
    notes = ["The error moves back through the transposed weights, then through σ' of this layer."]
    if e.L == 2 and l == 1:
        notes.append(
            "The source writes δ¹ [≡ W²]ᵀ δ³ ∘ σ'(z¹): the bracket is misplaced and δ³ is a typo; "
            "it means δ¹ ≡ (W²)ᵀ δ² ∘ σ'(z¹)."
        )
    return Step(f"bp2-{l}", f"BP2: δ{sup(l)} from δ{sup(l + 1)}", eq, rows, dims, notes=notes)


def bp4_step(e: Explanation, l: int) -> Step:
    """∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ."""
    n, m = e.sizes, e.m
    dW = Shaped(dC("W", l), (n[l], n[l - 1]))
    a_T = Shaped(Sym("a", l - 1), (n[l - 1], m), T=True)
    eq = Row(dC("W", l), "=", *avg(e), delta(l), "", Sym("a", l - 1, T=True))
    dims = Row(dW, "=", *avg(e), Shaped(delta(l), (n[l], m)), "", a_T)
    rows: list[RowItems] = [
        [
            Term(dW, e.dW[l], f"dW{l}"),
            "=",
            *avg_ops(m),
            Term(Shaped(delta(l), (n[l], m)), e.delta[l], f"delta{l}"),
            Term(a_T, e.a[l - 1].T, f"a{l - 1}T"),
        ]
    ]
    notes = ["Averaged over the m examples of the mini-batch."] if m > 1 else []
    return Step(f"bp4-{l}", f"BP4: ∂C/∂W{sup(l)}", eq, rows, dims, e.check_W[l], notes=notes)


def bp3_step(e: Explanation, l: int) -> Step:
    """∂C/∂b^l = (1/m) Σ_columns δ^l (δ^l itself for one example)."""
    n, m = e.sizes, e.m
    if m > 1:
        eq = Row(dC("b", l), "=", *avg(e), Text("Σ columns of "), delta(l))
    else:
        eq = Row(dC("b", l), "=", delta(l))
    notes = []
    if e.L == 2 and l == 2 and m == 1:
        notes.append(
            "The source writes [∂C/∂b²]₂ₓ₁ = [δ³]₂ₓ₁ here: a typo, there is no layer 3; "
            "it means δ², as its own summary says."
        )
    db = Shaped(dC("b", l), (n[l], 1))
    d = Shaped(delta(l), (n[l], m))
    rows: list[RowItems] = [[Term(db, e.db[l], f"db{l}"), "=", Term(d, e.delta[l], f"delta{l}")]]
    dims = Row(db, "=", *avg(e), d)
    return Step(f"bp3-{l}", f"BP3: ∂C/∂b{sup(l)}", eq, rows, dims, e.check_b[l], notes)
