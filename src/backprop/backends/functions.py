"""σ, σ' and each cost's value and δ^L, written with the array API standard's functions only.

The same equations as :mod:`backprop.activations` and :mod:`backprop.costs`, line for
line, for arrays of any namespace: each function asks its argument for its namespace
(``xp = array_namespace(z)``) and calls only what the standard defines — no ``out=``, no
NumPy-only functions, no array methods beyond operators and ``.T`` (the tests run them on
``array_api_strict``, which has nothing else). Each class derives from its NumPy
counterpart, so its name, formula and the facts other modules ask about are the same;
only the arithmetic is restated.

:func:`activation_for` and :func:`cost_for` turn a network's NumPy activations and cost
into these forms (``net.to(...)`` does it), and back for NumPy.
"""

from __future__ import annotations

from typing import Any

from .. import activations, costs
from ..errors import ConfigError
from .namespaces import XArray, namespace_of


def _xp(*arrays: XArray) -> Any:
    return namespace_of(*arrays)


# -- activations: σ beside σ' -------------------------------------------------


class Sigmoid(activations.Sigmoid):
    def f(self, z: XArray) -> XArray:
        xp = _xp(z)
        return 0.5 * xp.tanh(0.5 * z) + 0.5  # σ(z) = ½ tanh(z/2) + ½ = 1/(1 + e^{−z})

    def prime(self, z: XArray, a: XArray) -> XArray:
        return a * (1 - a)  # σ'(z) = σ(z)(1 − σ(z))

    def log(self, z: XArray) -> XArray:
        xp = _xp(z)
        return -xp.logaddexp(xp.zeros_like(z), -z)  # ln σ(z) = −softplus(−z)

    def log1m(self, z: XArray) -> XArray:
        xp = _xp(z)
        return -xp.logaddexp(xp.zeros_like(z), z)  # ln(1 − σ(z)) = −softplus(z)


class Tanh(activations.Tanh):
    def f(self, z: XArray) -> XArray:
        return _xp(z).tanh(z)

    def prime(self, z: XArray, a: XArray) -> XArray:
        return 1 - a * a  # tanh'(z) = 1 − tanh²(z)


class ReLU(activations.ReLU):
    def f(self, z: XArray) -> XArray:
        xp = _xp(z)
        return xp.maximum(z, xp.zeros_like(z))  # max(z, 0)

    def prime(self, z: XArray, a: XArray) -> XArray:
        return _xp(z).astype(z > 0, z.dtype)  # 1 where z > 0, else 0


class LeakyReLU(activations.LeakyReLU):
    def f(self, z: XArray) -> XArray:
        return _xp(z).where(z > 0, z, self.slope * z)

    def prime(self, z: XArray, a: XArray) -> XArray:
        xp = _xp(z)
        return xp.where(z > 0, xp.ones_like(z), xp.full_like(z, self.slope))  # 1 or the slope


class Identity(activations.Identity):
    def f(self, z: XArray) -> XArray:
        return _xp(z).asarray(z, copy=True)

    def prime(self, z: XArray, a: XArray) -> XArray:
        return _xp(z).ones_like(z)


class Softmax(activations.Softmax):
    """softmax(z)_i = e^{z_i} / Σ_j e^{z_j}, per column. Output layer only."""

    def f(self, z: XArray) -> XArray:
        xp = _xp(z)
        e = xp.exp(z - xp.max(z, axis=0, keepdims=True))  # shift: no overflow
        return e / xp.sum(e, axis=0, keepdims=True)

    def backprop(self, g: XArray, z: XArray, a: XArray) -> XArray:
        # ∂a_i/∂z_j = a_i(δ_ij − a_j), so (Jᵀg)_j = a_j (g_j − Σ_i a_i g_i).
        return a * (g - _xp(a).sum(a * g, axis=0, keepdims=True))

    def log(self, z: XArray) -> XArray:
        xp = _xp(z)
        zmax = xp.max(z, axis=0, keepdims=True)
        return z - zmax - xp.log(xp.sum(xp.exp(z - zmax), axis=0, keepdims=True))


# -- costs: value beside δ^L ----------------------------------------------------


class Quadratic(costs.Quadratic):
    """C_x = ½‖a^L − t‖², the source's cost."""

    def value(self, z: XArray, a: XArray, t: XArray, output: Any) -> XArray:
        r = a - t
        return 0.5 * _xp(r).sum(r * r, axis=0)

    def delta(self, z: XArray, a: XArray, t: XArray, output: Any) -> XArray:
        return output.backprop(a - t, z, a)  # BP1: δ^L = (a^L − t) ∘ σ'(z^L)


class CrossEntropy(costs.CrossEntropy):
    """−Σ_j [t_j ln a_j + (1 − t_j) ln(1 − a_j)] (sigmoid), −Σ_j t_j ln a_j (softmax)."""

    def value(self, z: XArray, a: XArray, t: XArray, output: Any) -> XArray:
        xp = _xp(z)
        if output.name == "softmax":
            return -xp.sum(t * output.log(z), axis=0)
        return -xp.sum(t * output.log(z) + (1 - t) * output.log1m(z), axis=0)

    def delta(self, z: XArray, a: XArray, t: XArray, output: Any) -> XArray:
        return a - t  # BP1 with σ' cancelled (sigmoid and softmax alike)


ACTIVATIONS: dict[str, type[activations.Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax)
}
COSTS: dict[str, type[costs.Cost]] = {cls.name: cls for cls in (Quadratic, CrossEntropy)}


def activation_for(act: activations.Activation, numpy: bool) -> activations.Activation:
    """``act`` in the form for NumPy (``numpy=True``: the library's own) or the array API.

    Settings such as leaky-relu's ``slope`` carry over. A custom activation stays as it
    is for NumPy.

    Raises
    ------
    ConfigError
        A custom activation for the array API: it has no array-API form.
    """
    pair = (activations.ACTIVATIONS.get(act.name), ACTIVATIONS.get(act.name))
    if type(act) not in pair:
        if numpy:
            return act
        raise ConfigError(
            f"the activation {act.name!r} ({type(act).__name__}) has no array-API form; "
            f"only the built-in ones move: {', '.join(ACTIVATIONS)}"
        )
    new = pair[1 - numpy]()  # type: ignore[misc]
    new.__dict__.update(act.__dict__)
    return new


def cost_for(cost: costs.Cost, numpy: bool) -> costs.Cost:
    """``cost`` in the form for NumPy or for the array API (see :func:`activation_for`)."""
    pair = (costs.COSTS.get(cost.name), COSTS.get(cost.name))
    if type(cost) not in pair:
        if numpy:
            return cost
        raise ConfigError(
            f"the cost {cost.name!r} ({type(cost).__name__}) has no array-API form; "
            f"only the built-in ones move: {', '.join(COSTS)}"
        )
    new = pair[1 - numpy]()  # type: ignore[misc]
    new.__dict__.update(cost.__dict__)
    return new
