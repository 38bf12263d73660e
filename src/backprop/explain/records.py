"""What a step of the walkthrough is made of, and the labels its matrices carry.

:class:`Step` (an equation, rows of :class:`Term`, a dimension check, a
finite-difference :class:`Check`, notes) and the helpers that label a layer's
matrices the source's way (``[W¹]₄ₓ₃``). :mod:`backprop.explain.steps` and
:mod:`backprop.explain.backward_steps` build the steps from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations, costs
from .expressions import Expr, Frac, Num, Row, Shaped, Sym, Text, partial

if TYPE_CHECKING:  # the model imports the steps, which import this module
    from .model import Explanation

__all__ = [
    "Check",
    "RowItems",
    "Step",
    "Term",
    "activation_of",
    "avg",
    "avg_ops",
    "cost_of",
    "dC",
    "new_value",
    "num",
    "output_of",
    "shape_of",
    "shaped",
]


@dataclass
class Check:
    """Finite-difference check of one gradient tensor.

    ``rel_error`` is max |analytic − numerical| over the ``checked`` entries,
    relative to the largest magnitude of either (as :mod:`backprop.gradcheck`).
    """

    rel_error: float
    checked: int
    total: int
    tol: float
    #: entries left out because a ReLU input sat within the finite-difference step of 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.rel_error <= self.tol)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rel_error": self.rel_error,
            "checked": self.checked,
            "total": self.total,
            "tol": self.tol,
            "skipped": self.skipped,
            "ok": self.ok,
        }


@dataclass
class Term:
    """A matrix shown in a step: its label (e.g. ``[W¹]₄ₓ₃``) and its numbers."""

    label: Expr
    value: np.ndarray
    key: str = ""


#: a row of a step: matrices (:class:`Term`) and operator strings side by side, as in "z = W a + b"
RowItems = list[Any]


@dataclass
class Step:
    """One step of the walkthrough.

    ``equation`` is the symbolic formula; ``rows`` show it with numbers
    (each a list of :class:`Term` and operator strings); ``dims`` is the
    source's dimension check; ``check`` the finite-difference check of the
    gradient this step computes; ``notes`` one-line remarks (the source's
    typos, why a cost's δ^L has no σ').
    """

    id: str
    title: str
    equation: Expr
    rows: list[RowItems] = field(default_factory=list)
    dims: Expr | None = None
    check: Check | None = None
    notes: list[str] = field(default_factory=list)
    value: float | None = None


# -- labels --------------------------------------------------------------------


def shaped(name: str, l: int, e: Explanation, T: bool = False, tex: str | None = None) -> Shaped:
    """``[name^l]`` with the shape of that layer's matrix."""
    return Shaped(Sym(name, l, tex=tex), shape_of(name, l, e), T=T)


def new_value(name: str, l: int, e: Explanation) -> Shaped:
    """``[W¹ new]₄ₓ₃``: the value after the update."""
    return Shaped(Row(Sym(name, l), Text(" new")), shape_of(name, l, e))


def shape_of(name: str, l: int, e: Explanation) -> tuple[int, int]:
    n, m = e.sizes, e.m
    return {"W": (n[l], n[l - 1]), "b": (n[l], 1), "a": (n[l], m), "z": (n[l], m)}.get(
        name, (n[l], m)
    )


def dC(name: str, l: int) -> Frac:
    return partial("C", Sym(name, l))


def num(v: float) -> str:
    return f"{v:g}"


def avg_ops(m: int) -> list[Any]:
    return [f"1/{m} ×"] if m > 1 else []


def avg(e: Explanation) -> list[Any]:
    """``1/m`` before a mini-batch's sums (nothing for one example)."""
    return [Frac(Num("1"), Sym("m")), ""] if e.m > 1 else []


def activation_of(e: Explanation, l: int) -> activations.Activation:
    """σ_l as an object (the network's own, or the built-in of that name)."""
    return e.act_fns[l - 1] if e.act_fns is not None else activations.get(e.activations[l - 1])


def output_of(e: Explanation) -> activations.Activation:
    """σ_L as an object."""
    return activation_of(e, e.L)


def cost_of(e: Explanation) -> costs.Cost:
    """The cost as an object (the network's own, or the built-in of that name)."""
    return e.cost_fn if e.cost_fn is not None else costs.get(e.cost_name)
