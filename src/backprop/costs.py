"""Cost functions, each with its output error δ^L (BP1) beside it.

A cost has two parts:

* ``value(z, a, t, output)`` — the per-example cost C_x, a vector of length m;
  the network's cost C is its mean over the m examples.
* ``delta(z, a, t, output)`` — δ^L = ∂C_x/∂z^L of shape (n_L, m), by BP1:
  δ^L = (∂a^L/∂z^L)ᵀ ∇_a C_x, which for an elementwise σ is ∇_a C_x ∘ σ'(z^L).

``grad_a`` is ∇_a C_x on its own, so BP1 can also be written out in general
(``explain`` shows both forms where they coincide).

Beside them, each cost's in-place kernels for the fast engine
(:mod:`backprop.fast`): ``record_delta`` records BP1 as NumPy calls into
preallocated arrays, ``total_inplace`` sums C_x over a chunk of columns
reusing buffers (evaluation). They compute the numbers of ``delta`` and
``value`` (tests hold them equal).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .activations import Activation
from .errors import ConfigError, one_of
from .kernels import Recorder, Workspace, kernels_follow, owner
from .types import Array


class Cost:
    name: ClassVar[str] = ""
    #: output activations this cost is defined for (None: any)
    outputs: ClassVar[tuple[str, ...] | None] = None
    #: the source's cost, C_x = ½‖a^L − t‖² (explain shows it as the source does)
    source_cost: ClassVar[bool] = False
    #: δ^L = a^L − t for every output it allows: σ' cancels in BP1 (a log-likelihood)
    cancels_sigma_prime: ClassVar[bool] = False

    def value(self, z: Array, a: Array, t: Array, output: Activation) -> Array:
        raise NotImplementedError

    def grad_a(self, a: Array, t: Array, output: Activation) -> Array:
        """∇_a C_x, of shape (n_L, m)."""
        raise NotImplementedError

    def delta(self, z: Array, a: Array, t: Array, output: Activation) -> Array:
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

    # -- in-place kernels for the fast engine ----------------------------------

    def delta_needs_prime(self, output: Activation) -> bool:
        """Whether :meth:`record_delta` uses σ_L'(z^L) (the fast forward then computes it)."""
        return True

    def record_delta(
        self,
        rec: Recorder,
        a: Array,
        t: Array,
        delta: Array,
        output: Activation,
        prime: Array | None,
    ) -> None:
        """Record delta ← δ^L (BP1) from a^L and t, each (n_L, m); ``prime``: σ_L'(z^L) or None."""
        raise NotImplementedError(f"{self.name or type(self).__name__} has no fast kernels")

    def total_inplace(
        self, z: Array, t: Array, output: Activation, work: Workspace
    ) -> tuple[float, Array]:
        """(Σ_x C_x over the columns, a^L) from z^L (n_L, r), overwriting z; sums in float64."""
        raise NotImplementedError(f"{self.name or type(self).__name__} has no fast kernels")

    def has_kernels(self) -> bool:
        """True when the kernels compute this class's own ``value`` and ``delta``."""
        cls = type(self)
        pairs = {
            "value": ("total_inplace",),
            "delta": ("record_delta", "delta_needs_prime"),
            "grad_a": ("record_delta",),
        }
        return owner(cls, "record_delta") is not Cost and kernels_follow(cls, pairs)

    def __repr__(self) -> str:
        return self.name


class Quadratic(Cost):
    """C_x = ½‖a^L − t‖², the source's cost."""

    name = "quadratic"
    source_cost = True

    def value(self, z: Array, a: Array, t: Array, output: Activation) -> Array:
        r = a - t
        return 0.5 * (r * r).sum(axis=0)  # type: ignore[no-any-return]

    def grad_a(self, a: Array, t: Array, output: Activation) -> Array:
        return a - t  # ∇_a ½‖a − t‖² = a − t, so BP1 is δ^L = (a^L − t) ∘ σ'(z^L)

    def simplified_delta(self, output: Activation) -> bool:
        return output.name == "identity"

    def record_delta(
        self,
        rec: Recorder,
        a: Array,
        t: Array,
        delta: Array,
        output: Activation,
        prime: Array | None,
    ) -> None:
        rec.do(np.subtract, a, t, delta)  # a^L − t
        output.record_vjp(rec, delta, a, prime)  # ∘ σ'(z^L), or softmax's Jacobian

    def total_inplace(
        self, z: Array, t: Array, output: Activation, work: Workspace
    ) -> tuple[float, Array]:
        output.apply_inplace(z, work)  # a^L, over z^L
        e = work.get("cost", z.shape)
        np.subtract(z, t, out=e)  # C_x = ½‖a^L − t‖²
        np.multiply(e, e, out=e)
        return 0.5 * float(e.sum(dtype=np.float64)), z


class CrossEntropy(Cost):
    """Cross-entropy.

    With sigmoid outputs: C_x = −Σ_j [t_j ln a_j + (1 − t_j) ln(1 − a_j)].
    With a softmax output: C_x = −Σ_j t_j ln a_j.
    In both cases σ' cancels and BP1 becomes δ^L = a^L − t.
    """

    name = "cross-entropy"
    outputs = ("sigmoid", "softmax")
    cancels_sigma_prime = True

    def value(self, z: Array, a: Array, t: Array, output: Activation) -> Array:
        # ln a from z directly (log-sum-exp / softplus): finite for any z.
        if output.name == "softmax":
            return -(t * output.log(z)).sum(axis=0)  # type: ignore[attr-defined,no-any-return]
        return -(t * output.log(z) + (1 - t) * output.log1m(z)).sum(axis=0)  # type: ignore[attr-defined,no-any-return]

    def grad_a(self, a: Array, t: Array, output: Activation) -> Array:
        # The general form, for explanation only: delta() never divides by a.
        if output.name == "softmax":
            return -t / a
        return (a - t) / (a * (1 - a))  # type: ignore[no-any-return]

    def delta(self, z: Array, a: Array, t: Array, output: Activation) -> Array:
        return a - t  # BP1 with σ' cancelled (sigmoid and softmax alike)

    def simplified_delta(self, output: Activation) -> bool:
        return True

    def delta_needs_prime(self, output: Activation) -> bool:
        return False

    def record_delta(
        self,
        rec: Recorder,
        a: Array,
        t: Array,
        delta: Array,
        output: Activation,
        prime: Array | None,
    ) -> None:
        rec.do(np.subtract, a, t, delta)  # δ^L = a^L − t

    def total_inplace(
        self, z: Array, t: Array, output: Activation, work: Workspace
    ) -> tuple[float, Array]:
        if output.name == "softmax":
            return self._softmax_total(z, t, work)
        # sigmoid: C_x = Σ_j t_j softplus(−z_j) + (1 − t_j) softplus(z_j)
        a, e = work.get("a_out", z.shape), work.get("cost", z.shape)
        np.negative(z, out=a)
        np.logaddexp(0, a, out=a)  # −ln σ(z)
        np.multiply(t, a, out=a)
        c = float(a.sum(dtype=np.float64))
        np.logaddexp(0, z, out=e)  # −ln(1 − σ(z))
        np.subtract(1, t, out=a)
        np.multiply(a, e, out=e)
        c += float(e.sum(dtype=np.float64))
        output.apply_inplace(z, work)
        return c, z

    @staticmethod
    def _softmax_total(z: Array, t: Array, work: Workspace) -> tuple[float, Array]:
        # ln a_j = u_j − ln Σ_i e^{u_i}, u = z − max_i z_i;  C_x = −Σ_j t_j ln a_j
        r = z.shape[1]
        row, row2 = work.get("row", (r,)), work.get("row2", (r,))
        a, e = work.get("a_out", z.shape), work.get("cost", z.shape)
        np.maximum.reduce(z, axis=0, out=row)
        np.subtract(z, row, out=z)  # u (z^L itself is not needed again)
        np.exp(z, out=a)
        np.add.reduce(a, axis=0, out=row)  # Σ_i e^{u_i}
        np.divide(a, row, out=a)  # a^L = softmax(z^L)
        np.log(row, out=row)  # ln Σ_i e^{u_i}
        np.add.reduce(t, axis=0, out=row2)  # Σ_j t_j
        np.multiply(row, row2, out=row)
        np.multiply(t, z, out=e)
        return float(row.sum(dtype=np.float64)) - float(e.sum(dtype=np.float64)), a


COSTS: dict[str, type[Cost]] = {cls.name: cls for cls in (Quadratic, CrossEntropy)}


def get(name: str | Cost) -> Cost:
    """The cost called ``name`` (a :class:`Cost` passes through)."""
    if isinstance(name, Cost):
        return name
    try:
        return COSTS[name]()
    except (KeyError, TypeError):
        raise one_of("cost", name, COSTS) from None
