"""The walkthrough asks the activation and cost objects for its forms, never their names.

A network may carry an activation or a cost of the user's own (an instance, unknown to
the registries): explain must still lay out every step, picking each equation from the
objects' facts (``elementwise``, ``formula``, ``source_cost``, ``cancels_sigma_prime``).
The expected numbers are computed here with NumPy from the textbook's formulas.
"""

from __future__ import annotations

import numpy as np

import backprop as bp
from backprop import activations, costs
from backprop.explain import explain
from backprop.explain.model import set_html_renderer
from backprop.report import notebook_html, render


class Softsign(activations.Activation):
    """σ(z) = z / (1 + |z|), σ'(z) = 1 / (1 + |z|)²: not a built-in, no formula."""

    name = "softsign"

    def f(self, z: np.ndarray) -> np.ndarray:
        return z / (1 + np.abs(z))

    def prime(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.abs(z)) ** 2


class HalfSquares(costs.Quadratic):
    """The source's cost under another name: explain still shows the source's form."""

    name = "half-squares"


class Plain(costs.Cost):
    """½‖a − t‖² again, but declaring none of the facts: a cost explain knows nothing of."""

    name = "plain"

    def value(
        self, z: np.ndarray, a: np.ndarray, t: np.ndarray, output: activations.Activation
    ) -> np.ndarray:
        return 0.5 * ((a - t) ** 2).sum(axis=0)

    def grad_a(self, a: np.ndarray, t: np.ndarray, output: activations.Activation) -> np.ndarray:
        return a - t


def _network(cost: costs.Cost) -> bp.Network:
    return bp.Network([3, 4, 2], activation=[Softsign()], output="sigmoid", cost=cost, seed=3)


def test_a_custom_activation_and_cost_are_explained_from_their_facts() -> None:
    net = _network(HalfSquares())
    x, t = np.array([[0.2, -0.4, 0.9]]), np.array([[0.0, 1.0]])
    e = explain(net, x, t, lr=0.5)
    # the numbers, from the formulas: z¹ = W¹x + b¹, a¹ = z/(1+|z|), δ² = (a² − t) ∘ a²(1 − a²)
    z1 = net.W[1] @ x.T + net.b[1]
    a1 = z1 / (1 + np.abs(z1))
    a2 = 1 / (1 + np.exp(-(net.W[2] @ a1 + net.b[2])))
    d2 = (a2 - t.T) * a2 * (1 - a2)
    d1 = (net.W[2].T @ d2) / (1 + np.abs(z1)) ** 2
    np.testing.assert_allclose(e.delta[2], d2, rtol=1e-12)
    np.testing.assert_allclose(e.delta[1], d1, rtol=1e-12)
    steps = {s.id: s for s in e.steps()}
    assert steps["forward-1"].notes[-1] == "σ here is softsign."  # no formula to quote
    assert steps["forward-2"].notes[-1].startswith("σ here is sigmoid: σ(z) = 1/(1 + e⁻ᶻ)")
    assert steps["bp1"].equation.text() == "δ² = (a² − t) ∘ σ'(z²)"  # the source's BP1
    assert steps["cost"].equation.text() == "C = ½‖a² − t‖²"
    assert any("source's cost" in n for n in steps["cost"].notes)
    assert "The source calls this δ²" in " ".join(steps["bp1"].notes)
    assert "softsign" in render(e, "text") and e.cost_name == "half-squares"


def test_a_cost_without_facts_gets_the_general_forms() -> None:
    e = explain(_network(Plain()), [[0.2, -0.4, 0.9]], [[0.0, 1.0]])
    steps = {s.id: s for s in e.steps()}
    assert steps["cost"].equation.text() == "C = Cₓ"  # no formula the cost did not state
    assert steps["cost"].equation.latex() == "C = C_x"
    assert not any("source" in n for n in steps["cost"].notes + steps["bp1"].notes)
    # δᴸ through σ' all the same: grad_a ∘ σ'(z), the general BP1
    assert steps["bp1"].equation.text() == "δ² = (a² − t) ∘ σ'(z²)"
    a2 = e.a[2]
    np.testing.assert_allclose(e.delta[2], (a2 - e.t) * a2 * (1 - a2), rtol=1e-12)


def test_cross_entropy_subclass_cancels_sigma_prime() -> None:
    class MyCrossEntropy(costs.CrossEntropy):
        name = "my-cross-entropy"

    net = bp.Network([3, 4, 2], output="softmax", cost=MyCrossEntropy(), seed=1)
    e = explain(net, [[0.1, 0.5, 0.3]], [[1.0, 0.0]])
    bp1 = next(s for s in e.steps() if s.id == "bp1")
    assert bp1.equation.text() == "δ² = a² − t"
    np.testing.assert_allclose(e.delta[2], e.a[2] - e.t, rtol=1e-12)
    assert "softmax Jacobian" in bp1.notes[0]  # the coupled output's own note


def test_notebook_view_comes_from_the_installed_renderer() -> None:
    e = explain(bp.Network([3, 4, 2], seed=0), [[0.1, 0.2, 0.3]], [[0.0, 1.0]])
    assert e._repr_html_() == notebook_html(e)  # installed by `import backprop`
    try:
        set_html_renderer(None)
        assert e._repr_html_() is None  # the notebook then shows repr(e)
        set_html_renderer(lambda ex: f"<p>{ex.cost:.3f}</p>")
        assert e._repr_html_() == f"<p>{e.cost:.3f}</p>"
    finally:
        set_html_renderer(notebook_html)
