"""What an explanation holds: every number of one gradient-descent step.

:class:`Explanation` is the result of :func:`backprop.explain.explain`: the values of
one step in the column convention, indexed by the book's layer number.
:meth:`Explanation.steps` lays them out as :class:`~backprop.explain.steps.Step`
objects (built by :mod:`backprop.explain.steps`), and :meth:`Explanation.to_dict` is
the JSON contract of docs/explain.md. Nothing here computes or formats numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import Activation
from ..costs import Cost
from ..network import Layers
from .steps import Check, Step, walkthrough

__all__ = ["JSON_VERSION", "Explanation", "set_html_renderer"]

#: the JSON contract's version; bump when a key changes meaning
JSON_VERSION = 1


@dataclass
class Explanation:
    """Every number of one gradient-descent step, in the column convention.

    ``x`` is a⁰ of shape (n_0, m), ``t`` the targets (n_L, m); ``W``, ``b``
    (before the step), ``z``, ``a``, ``sigma_prime``, ``delta``, ``dW``, ``db``,
    ``W_after``, ``b_after`` are indexed by the book's layer number.
    """

    sizes: list[int]
    activations: list[str]
    cost_name: str
    lr: float
    x: np.ndarray
    t: np.ndarray
    W: Layers[np.ndarray]
    b: Layers[np.ndarray]
    z: Layers[np.ndarray]
    a: Layers[np.ndarray]
    sigma_prime: Layers[np.ndarray | None]
    delta: Layers[np.ndarray]
    dW: Layers[np.ndarray]
    db: Layers[np.ndarray]
    check_W: dict[int, Check]
    check_b: dict[int, Check]
    W_after: Layers[np.ndarray]
    b_after: Layers[np.ndarray]
    cost: float
    cost_after: float
    first_order: float
    source: str = ""
    dtype: str = "float64"
    #: each example's class (t one-hot over n_L ≥ 2 outputs), else None
    labels: list[int] | None = None
    #: each example's predicted class, argmax of a^L, when ``labels`` is set
    predicted: list[int] | None = None
    #: σ_1..σ_L and the cost as objects: their facts (``elementwise``, ``formula``,
    #: ``source_cost``, ``cancels_sigma_prime``) pick each step's form. None: looked up
    #: by name in the registries (a custom activation or cost is only known as an object)
    act_fns: list[Activation] | None = None
    cost_fn: Cost | None = None

    @property
    def L(self) -> int:
        return len(self.sizes) - 1

    @property
    def m(self) -> int:
        return int(self.x.shape[1])

    @property
    def checks_passed(self) -> bool:
        return all(c.ok for c in [*self.check_W.values(), *self.check_b.values()])

    def __repr__(self) -> str:
        check = "passed" if self.checks_passed else "FAILED"
        return (
            f"Explanation({'-'.join(map(str, self.sizes))} network, m={self.m}, α={self.lr:g}: "
            f"C {self.cost:.6g} → {self.cost_after:.6g}, finite-difference checks {check})"
        )

    def _repr_html_(self) -> str | None:
        """The HTML report in a frame of its own, for Jupyter and other notebooks.

        It is drawn by the renderer :func:`set_html_renderer` installed (importing
        ``backprop`` installs :func:`backprop.report.notebook_html`): explain
        computes, report renders, and this package never imports report. None
        (the notebook then shows the repr) when no renderer is installed.
        """
        return None if _notebook.html is None else _notebook.html(self)

    def steps(self) -> list[Step]:
        """The walkthrough, in the source's order."""
        return walkthrough(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (see docs/explain.md): nested lists, column convention."""
        return {
            "x": self.x.tolist(),
            "t": self.t.tolist(),
            "W": _layers(self.W),
            "b": _layers(self.b),
            "z": _layers(self.z),
            "a": _layers(self.a),
            "delta": _layers(self.delta),
            "dW": _layers(self.dW),
            "db": _layers(self.db),
            "cost": self.cost,
            "cost_after_step": self.cost_after,
            "lr": self.lr,
            "activations": list(self.activations),
            "cost_name": self.cost_name,
            "sizes": list(self.sizes),
            "m": self.m,
            "sigma_prime": _layers(self.sigma_prime),
            "W_after": _layers(self.W_after),
            "b_after": _layers(self.b_after),
            "first_order_change": self.first_order,
            "gradcheck": {
                "W": {str(l): c.to_dict() for l, c in self.check_W.items()},
                "b": {str(l): c.to_dict() for l, c in self.check_b.items()},
                "passed": self.checks_passed,
            },
            "source": self.source,
            "labels": self.labels,
            "predicted": self.predicted,
            "version": JSON_VERSION,
        }


class _NotebookView:
    """Where :meth:`Explanation._repr_html_` finds its renderer (one per process)."""

    html: Callable[[Explanation], str] | None = None


_notebook = _NotebookView()


def set_html_renderer(render: Callable[[Explanation], str] | None) -> None:
    """Install how a notebook shows an :class:`Explanation` as HTML (None: as its repr)."""
    _notebook.html = render


def _layers(values: Layers[Any]) -> dict[str, Any]:
    """``{"1": nested lists, …}``, leaving out layers without a value (softmax's σ')."""
    return {str(l): v.tolist() for l, v in values.items() if v is not None}
