"""Activation functions σ, each with its derivative σ' beside it.

Every activation works on matrices of shape (n_l, m) — one column per
example — and keeps the input's dtype. ``prime(z, a)`` receives both z^l and
the cached a^l = σ(z^l) so that σ' can be computed from whichever is cheaper
(σ'(z) = a(1 − a) for the sigmoid, 1 − a² for tanh).

``backprop(g, z, a)`` returns the vector-Jacobian product (∂a/∂z)ᵀ g. For an
elementwise σ that is g ∘ σ'(z), the form BP1 and BP2 use; softmax couples
the outputs of a column, so it overrides it with its Jacobian.
"""

from __future__ import annotations

import numpy as np

from .errors import one_of


class Activation:
    """An elementwise activation: ``f`` is σ, ``prime`` is σ'."""

    name: str = ""
    elementwise = True

    def f(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def prime(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backprop(self, g: np.ndarray, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """(∂a/∂z)ᵀ g, of shape (n_l, m): g ∘ σ'(z) for an elementwise σ."""
        return g * self.prime(z, a)

    def __repr__(self) -> str:
        return self.name


class Sigmoid(Activation):
    name = "sigmoid"

    def f(self, z):
        # σ(z) = 1/(1 + e^{−z}) = ½ tanh(z/2) + ½: the same function, but it
        # never overflows for large |z| (and is faster than the exp form).
        return 0.5 * np.tanh(0.5 * z) + 0.5

    def prime(self, z, a):
        return a * (1 - a)  # σ'(z) = σ(z)(1 − σ(z))

    def log(self, z):
        """ln σ(z) = −softplus(−z), computed without overflow."""
        return -np.logaddexp(0, -z)

    def log1m(self, z):
        """ln(1 − σ(z)) = −softplus(z)."""
        return -np.logaddexp(0, z)


class Tanh(Activation):
    name = "tanh"

    def f(self, z):
        return np.tanh(z)

    def prime(self, z, a):
        return 1 - a * a  # tanh'(z) = 1 − tanh²(z)


class ReLU(Activation):
    name = "relu"

    def f(self, z):
        return np.maximum(z, 0)

    def prime(self, z, a):
        return (z > 0).astype(z.dtype)


class LeakyReLU(Activation):
    name = "leaky-relu"
    slope = 0.01

    def f(self, z):
        return np.where(z > 0, z, self.slope * z)

    def prime(self, z, a):
        return np.where(z > 0, 1, self.slope).astype(z.dtype)


class Identity(Activation):
    name = "identity"

    def f(self, z):
        return z.copy()

    def prime(self, z, a):
        return np.ones_like(z)


class Softmax(Activation):
    """softmax(z)_i = e^{z_i} / Σ_j e^{z_j}, per column. Output layer only."""

    name = "softmax"
    elementwise = False

    def f(self, z):
        e = np.exp(z - z.max(axis=0, keepdims=True))  # shift: no overflow
        return e / e.sum(axis=0, keepdims=True)

    def prime(self, z, a):
        raise TypeError("softmax has a Jacobian, not an elementwise derivative; use backprop()")

    def backprop(self, g, z, a):
        # ∂a_i/∂z_j = a_i(δ_ij − a_j), so (Jᵀg)_j = a_j (g_j − Σ_i a_i g_i).
        return a * (g - (a * g).sum(axis=0, keepdims=True))

    def log(self, z):
        """ln softmax(z) = z − logsumexp(z), computed without overflow."""
        zmax = z.max(axis=0, keepdims=True)
        return z - zmax - np.log(np.exp(z - zmax).sum(axis=0, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Softmax)
}
HIDDEN = tuple(name for name, cls in ACTIVATIONS.items() if cls.elementwise)


def get(name: str | Activation) -> Activation:
    """The activation called ``name`` (an :class:`Activation` passes through)."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise one_of("activation", name, ACTIVATIONS) from None
