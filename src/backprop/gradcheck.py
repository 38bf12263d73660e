"""Check backpropagation against finite differences.

For every parameter θ of every W^l and b^l the numerical derivative is the
fourth-order central difference

    ∂C/∂θ ≈ [8(C(θ+h) − C(θ−h)) − (C(θ+2h) − C(θ−2h))] / 12h,

computed in float64 whatever the network's dtype. Its truncation error is
O(h⁴), so with h = 1e-4 the comparison is limited by rounding (≈ 1e-12), not
by the stencil. Each layer's error is the largest |analytic − numerical| over
the tensor, relative to the tensor's largest gradient magnitude.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError
from .network import Network
from .types import Array, ArrayLike


@dataclass
class GradcheckResult:
    """Per-layer relative errors: ``W[l]`` and ``b[l]`` for l = 1..L."""

    W: dict[int, float] = field(default_factory=dict)
    b: dict[int, float] = field(default_factory=dict)
    tol: float = 1e-7

    @property
    def max_error(self) -> float:
        return max([*self.W.values(), *self.b.values()], default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error <= self.tol

    def __bool__(self) -> bool:
        return self.passed

    def rows(self) -> list[tuple[str, float, bool]]:
        """(parameter name, relative error, within tolerance) for each tensor."""
        out: list[tuple[str, float, bool]] = []
        for l in sorted(self.W):
            out.append((f"W{l}", self.W[l], self.W[l] <= self.tol))
            out.append((f"b{l}", self.b[l], self.b[l] <= self.tol))
        return out

    def __repr__(self) -> str:
        from .display import gradcheck_repr

        return gradcheck_repr(self)

    def _repr_html_(self) -> str:
        """The table of ``str(result)``, for notebooks."""
        from .display import gradcheck_html

        return gradcheck_html(self)

    def __str__(self) -> str:
        lines = [f"{'param':<6} {'rel. error':>11}"]
        for name, err, ok in self.rows():
            lines.append(f"{name:<6} {err:>11.2e}  {'ok' if ok else 'FAIL'}")
        verdict = "passed" if self.passed else "FAILED"
        lines.append(f"max {self.max_error:.2e} (tolerance {self.tol:.0e}): {verdict}")
        return "\n".join(lines)


def relative_error(analytic: Array, numeric: Array) -> float:
    """max |analytic − numeric| relative to the largest magnitude of either."""
    scale = max(np.abs(analytic).max(), np.abs(numeric).max())
    diff = float(np.abs(analytic - numeric).max())
    return diff / scale if scale > 0 else diff


def gradcheck(
    net: Network, X: ArrayLike, T: ArrayLike, *, h: float = 1e-4, tol: float = 1e-7
) -> GradcheckResult:
    """Compare ``net.gradients(X, T)`` with finite differences of ``net.cost``.

    Parameters
    ----------
    net : Network
        Left unchanged; the check runs on a float64 copy.
    X : array of shape (m, n_0)
    T : array of shape (m, n_L), or integer labels of shape (m,)
    h : float
        Step of the central differences.
    tol : float
        A layer passes when its relative error is at most ``tol``.
    """
    if not h > 0:
        raise ConfigError(f"the finite-difference step h must be positive, got {h}")
    net64 = net.astype("float64")
    grads = net64.gradients(X, T)
    result = GradcheckResult(tol=tol)
    for l in net64.W.keys():
        result.W[l] = relative_error(grads.W[l], _numerical(net64, net64.W[l], X, T, h))
        result.b[l] = relative_error(grads.b[l], _numerical(net64, net64.b[l], X, T, h))
    return result


def _numerical(net: Network, param: Array, X: ArrayLike, T: ArrayLike, h: float) -> Array:
    """∂C/∂param by fourth-order central differences, perturbing ``param`` in place."""
    grad = np.empty_like(param)
    flat, out = param.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        c: dict[int, float] = {}
        for k in (-2, -1, 1, 2):
            flat[i] = original + k * h
            c[k] = net.cost(X, T)
        flat[i] = original
        out[i] = (8 * (c[1] - c[-1]) - (c[2] - c[-2])) / (12 * h)
    return grad
