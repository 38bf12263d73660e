"""Cost functions, each with its output error δ^L (BP1) beside it.

A cost has two parts:

* ``value(z, a, t, output)`` — the per-example cost C_x, a vector of length m;
  the network's cost C is its mean over the m examples.
* ``delta(z, a, t, output)`` — δ^L = ∂C_x/∂z^L of shape (n_L, m), by BP1:
  δ^L = (∂a^L/∂z^L)ᵀ ∇_a C_x, which for an elementwise σ is ∇_a C_x ∘ σ'(z^L).

``grad_a`` is ∇_a C_x on its own, so BP1 can also be written out in general
(``explain`` shows both forms where they coincide).
"""

from __future__ import annotations

import numpy as np

from .activations import Activation
from .errors import ConfigError, one_of


class Cost:
    name: str = ""
    #: output activations this cost is defined for (None: any)
    outputs: tuple[str, ...] | None = None
    #: the source's cost, C_x = ½‖a^L − t‖² (explain shows it as the source does)
    source_cost: bool = False
    #: δ^L = a^L − t for every output it allows: σ' cancels in BP1 (a log-likelihood)
    cancels_sigma_prime: bool = False

    def value(self, z, a, t, output: Activation) -> np.ndarray:
        raise NotImplementedError

    def grad_a(self, a, t, output: Activation) -> np.ndarray:
        """∇_a C_x, of shape (n_L, m)."""
        raise NotImplementedError

    def delta(self, z, a, t, output: Activation) -> np.ndarray:
        """BP1: δ^L = (∂a^L/∂z^L)ᵀ ∇_a C_x."""
        return output.backprop(self.grad_a(a, t, output), z, a)

    def simplified_delta(self, output: Activation) -> bool:
        """True where δ^L reduces to a^L − t for this output activation."""
        return False

    def check(self, output: Activation) -> None:
        if self.outputs is not None and output.name not in self.outputs:
            valid = " or ".join(self.outputs)
            raise ConfigError(
                f"the {self.name} cost needs a {valid} output layer, not {output.name}; "
                f"use output={self.outputs[0]!r} or cost='quadratic'"
            )

    def __repr__(self) -> str:
        return self.name


class Quadratic(Cost):
    """C_x = ½‖a^L − t‖², the source's cost."""

    name = "quadratic"
    source_cost = True

    def value(self, z, a, t, output):
        r = a - t
        return 0.5 * (r * r).sum(axis=0)

    def grad_a(self, a, t, output):
        return a - t  # ∇_a ½‖a − t‖² = a − t, so BP1 is δ^L = (a^L − t) ∘ σ'(z^L)

    def simplified_delta(self, output):
        return output.name == "identity"


class CrossEntropy(Cost):
    """Cross-entropy.

    With sigmoid outputs: C_x = −Σ_j [t_j ln a_j + (1 − t_j) ln(1 − a_j)].
    With a softmax output: C_x = −Σ_j t_j ln a_j.
    In both cases σ' cancels and BP1 becomes δ^L = a^L − t.
    """

    name = "cross-entropy"
    outputs = ("sigmoid", "softmax")
    cancels_sigma_prime = True

    def value(self, z, a, t, output):
        # ln a from z directly (log-sum-exp / softplus): finite for any z.
        if output.name == "softmax":
            return -(t * output.log(z)).sum(axis=0)
        return -(t * output.log(z) + (1 - t) * output.log1m(z)).sum(axis=0)

    def grad_a(self, a, t, output):
        # The general form, for explanation only: delta() never divides by a.
        if output.name == "softmax":
            return -t / a
        return (a - t) / (a * (1 - a))

    def delta(self, z, a, t, output):
        return a - t  # BP1 with σ' cancelled (sigmoid and softmax alike)

    def simplified_delta(self, output):
        return True


COSTS: dict[str, type[Cost]] = {cls.name: cls for cls in (Quadratic, CrossEntropy)}


def get(name: str | Cost) -> Cost:
    """The cost called ``name`` (a :class:`Cost` passes through)."""
    if isinstance(name, Cost):
        return name
    try:
        return COSTS[name]()
    except (KeyError, TypeError):
        raise one_of("cost", name, COSTS) from None
