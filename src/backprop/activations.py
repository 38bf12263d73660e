"""Activation functions σ, each with its derivative σ' beside it.

Every activation works on matrices of shape (n_l, m) — one column per
example — and keeps the input's dtype. ``prime(z, a)`` receives both z^l and
the cached a^l = σ(z^l) so that σ' can be computed from whichever is cheaper
(σ'(z) = a(1 − a) for the sigmoid, 1 − a² for tanh).

``backprop(g, z, a)`` returns the vector-Jacobian product (∂a/∂z)ᵀ g. For an
elementwise σ that is g ∘ σ'(z), the form BP1 and BP2 use; softmax couples
the outputs of a column, so it overrides it with its Jacobian.

Beside the readable σ and σ', each activation carries

* its **in-place kernels** for the fast engine (:mod:`backprop.fast`):
  ``record_forward`` records a ← σ(z) (and σ'(z)) as NumPy calls writing into
  preallocated arrays, ``record_vjp`` records g ← (∂a/∂z)ᵀ g, and
  ``apply_inplace`` computes z ← σ(z) at once (evaluation). They compute the
  same numbers as ``f``/``prime``/``backprop`` (tests hold them equal);
* the **facts other modules ask about** instead of switching on names:
  ``formula`` (one line of text), ``onnx`` (operator and attributes),
  ``torch_module(nn)`` / :func:`from_torch` (PyTorch modules), ``peak_prime``
  (max σ', for saturation), ``kinked`` (σ' jumps at 0), ``dies`` (σ' is 0 on
  a half-line, so a unit can stop learning).
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any, ClassVar

import numpy as np

from .errors import one_of
from .kernels import Recorder, Workspace, kernels_follow, owner
from .types import Array

__all__ = [
    "ACTIVATIONS",
    "HIDDEN",
    "Activation",
    "Identity",
    "LeakyReLU",
    "Recorder",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Workspace",
    "from_torch",
    "get",
]


class Activation:
    """An elementwise activation: ``f`` is σ, ``prime`` is σ'."""

    name: ClassVar[str] = ""
    elementwise: ClassVar[bool] = True
    #: explain's one-line statement of σ and σ' (without a leading ": ")
    formula: ClassVar[str] = ""
    #: the ONNX operator computing σ, and its attributes
    onnx: ClassVar[tuple[str, dict[str, Any]] | None] = None
    #: max σ'(z) over z (σ'(0)) for activations that saturate, else None
    peak_prime: ClassVar[float | None] = None
    #: σ' jumps at z = 0 (finite differences across 0 disagree with σ')
    kinked: ClassVar[bool] = False
    #: σ' = 0 for all z ≤ 0: a unit whose z ≤ 0 on every example is dead
    dies: ClassVar[bool] = False
    #: a fused forward GEMM may hand ``record_forward`` prescale·z^l instead of z^l
    prescale: ClassVar[float] = 1.0

    def f(self, z: Array) -> Array:
        raise NotImplementedError

    def prime(self, z: Array, a: Array) -> Array:
        raise NotImplementedError

    def backprop(self, g: Array, z: Array, a: Array) -> Array:
        """(∂a/∂z)ᵀ g, of shape (n_l, m): g ∘ σ'(z) for an elementwise σ."""
        return g * self.prime(z, a)

    # -- in-place kernels for the fast engine ----------------------------------

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        """Record a ← σ(z), and σ'(z) into a buffer from ``rec`` when ``need_prime``.

        ``z`` and ``a`` are (n_l, m); ``a`` may be ``z`` itself (a^l overwrites
        z^l). With ``prescaled`` z holds ``prescale``·z^l. Returns the σ'(z)
        buffer, or None when σ' is not needed or is 1 everywhere.
        """
        raise NotImplementedError(f"{self.name or type(self).__name__} has no fast kernels")

    def record_vjp(self, rec: Recorder, g: Array, a: Array, prime: Array | None) -> None:
        """Record g ← (∂a/∂z)ᵀ g in place; ``prime`` is what ``record_forward`` returned."""
        if prime is not None:
            rec.do(np.multiply, g, prime, g)  # g ∘ σ'(z)

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        """z ← σ(z) in place, scratch arrays from ``work``."""
        raise NotImplementedError(f"{self.name or type(self).__name__} has no fast kernels")

    def has_kernels(self) -> bool:
        """True when the kernels compute this class's own σ, σ' and (∂a/∂z)ᵀ g.

        A subclass that overrides ``f`` or ``prime`` without its own kernels
        (or an activation defined outside this module without any) is trained
        by the readable step instead.
        """
        cls = type(self)
        pairs = {
            "f": ("record_forward", "apply_inplace"),
            "prime": ("record_forward",),
            "backprop": ("record_vjp",),
        }
        return owner(cls, "record_forward") is not Activation and kernels_follow(cls, pairs)

    # -- interop ---------------------------------------------------------------

    def torch_module(self, nn: Any) -> Any:
        """The equivalent ``torch.nn`` module, given the ``torch.nn`` namespace."""
        raise NotImplementedError(f"{self.name} has no PyTorch equivalent")

    def torch_type(self, nn: Any) -> type | None:
        """The ``torch.nn`` module class of :meth:`torch_module` (None: none)."""
        return None

    def torch_mismatch(self, module: Any) -> str | None:
        """Why ``module`` (of :meth:`torch_type`) is not exactly this σ, or None."""
        return None

    def __repr__(self) -> str:
        return self.name


#: a float32 sigmoid layer of at least this many values a mini-batch (n_l · m) has σ and σ'
#: computed by the fast step in one compiled pass when numba is installed (``_vmath``):
#: NumPy's float32 tanh is scalar on AVX2 machines (2.7 ns a value; the whole pass 0.9 ns)
COMPILED_SIGMOID_MIN = 32_768


@functools.cache
def _have_numba() -> bool:
    return importlib.util.find_spec("numba") is not None


class Sigmoid(Activation):
    name = "sigmoid"
    formula = "σ(z) = 1/(1 + e⁻ᶻ), σ'(z) = σ(z)(1 − σ(z))"
    onnx = ("Sigmoid", {})
    peak_prime = 0.25
    prescale = 0.5  # tanh(z/2) needs z/2: a fused GEMM can scale by ½ for free

    def f(self, z: Array) -> Array:
        # σ(z) = 1/(1 + e^{−z}) = ½ tanh(z/2) + ½: the same function, but it
        # never overflows for large |z| (and is faster than the exp form).
        return 0.5 * np.tanh(0.5 * z) + 0.5

    def prime(self, z: Array, a: Array) -> Array:
        return a * (1 - a)  # type: ignore[no-any-return]  # σ'(z) = σ(z)(1 − σ(z))

    def log(self, z: Array) -> Array:
        """ln σ(z) = −softplus(−z), computed without overflow."""
        return -np.logaddexp(0, -z)

    def log1m(self, z: Array) -> Array:
        """ln(1 − σ(z)) = −softplus(z)."""
        return -np.logaddexp(0, z)

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        if a.dtype == np.float32 and a.size >= COMPILED_SIGMOID_MIN and _have_numba():
            from . import _vmath  # σ = 1/(1 + e^{−z}) and σ' = σ(1 − σ) in one vectorised pass

            scale = np.float32(2.0 if prescaled else 1.0)
            if z is not a:  # the output layer keeps z^L: σ works in place on a copy
                rec.do(np.copyto, a, z)
            if not need_prime:
                rec.do(_vmath.sigmoid_f32, a, scale)
                return None
            sp = rec.col(a.shape[0])
            rec.do(_vmath.sigmoid_prime_f32, a, sp, scale)
            return sp
        half, one = rec.const(0.5), rec.const(1.0)
        if prescaled:  # z holds z/2 already
            rec.do(np.tanh, z, a)
        else:
            rec.do(np.multiply, z, half, a)
            rec.do(np.tanh, a, a)
        rec.do(np.multiply, a, half, a)  # a = ½ tanh(z/2) + ½
        rec.do(np.add, a, half, a)
        if not need_prime:
            return None
        sp = rec.col(a.shape[0])
        rec.do(np.subtract, one, a, sp)  # σ' = (1 − a) a
        rec.do(np.multiply, sp, a, sp)
        return sp

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        np.multiply(z, 0.5, out=z)  # ½ tanh(z/2) + ½
        np.tanh(z, out=z)
        np.multiply(z, 0.5, out=z)
        np.add(z, 0.5, out=z)

    def torch_module(self, nn: Any) -> Any:
        return nn.Sigmoid()

    def torch_type(self, nn: Any) -> type:
        return nn.Sigmoid  # type: ignore[no-any-return]


class Tanh(Activation):
    name = "tanh"
    formula = "σ(z) = tanh z, σ'(z) = 1 − tanh² z"
    onnx = ("Tanh", {})
    peak_prime = 1.0

    def f(self, z: Array) -> Array:
        return np.tanh(z)

    def prime(self, z: Array, a: Array) -> Array:
        return 1 - a * a  # tanh'(z) = 1 − tanh²(z)

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        rec.do(np.tanh, z, a)
        if not need_prime:
            return None
        sp = rec.col(a.shape[0])
        rec.do(np.multiply, a, a, sp)  # σ' = 1 − a²
        rec.do(np.subtract, rec.const(1.0), sp, sp)
        return sp

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        np.tanh(z, out=z)

    def torch_module(self, nn: Any) -> Any:
        return nn.Tanh()

    def torch_type(self, nn: Any) -> type:
        return nn.Tanh  # type: ignore[no-any-return]


class ReLU(Activation):
    name = "relu"
    formula = "σ(z) = max(0, z), σ'(z) = 1 if z > 0 else 0"
    onnx = ("Relu", {})
    kinked = True
    dies = True

    def f(self, z: Array) -> Array:
        return np.maximum(z, 0)

    def prime(self, z: Array, a: Array) -> Array:
        return (z > 0).astype(z.dtype)

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        sp = rec.col(z.shape[0])
        rec.do(np.greater, z, rec.const(0.0), sp)  # σ'(z) = [z > 0] (1 or 0)
        rec.do(np.multiply, z, sp, a)  # a = z ∘ σ'(z)
        return sp

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        np.maximum(z, 0, out=z)

    def torch_module(self, nn: Any) -> Any:
        return nn.ReLU()

    def torch_type(self, nn: Any) -> type:
        return nn.ReLU  # type: ignore[no-any-return]


class LeakyReLU(Activation):
    name = "leaky-relu"
    slope: ClassVar[float] = 0.01
    formula = "σ(z) = z if z > 0 else 0.01 z, σ'(z) = 1 or 0.01"
    onnx = ("LeakyRelu", {"alpha": 0.01})
    kinked = True

    def f(self, z: Array) -> Array:
        return np.where(z > 0, z, self.slope * z)

    def prime(self, z: Array, a: Array) -> Array:
        return np.where(z > 0, 1, self.slope).astype(z.dtype)

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        sp = rec.col(z.shape[0])
        rec.do(np.greater, z, rec.const(0.0), sp)  # [z > 0] (1 or 0)
        rec.do(np.multiply, sp, rec.const(1.0 - self.slope), sp)  # σ'(z) = 1 or slope
        rec.do(np.add, sp, rec.const(self.slope), sp)
        rec.do(np.multiply, z, sp, a)  # a = z ∘ σ'(z)
        return sp

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        tmp = work.get("leaky-relu", z.shape)  # max(z, slope·z) for a slope below 1
        np.multiply(z, self.slope, out=tmp)
        np.maximum(z, tmp, out=z)

    def torch_module(self, nn: Any) -> Any:
        return nn.LeakyReLU(self.slope)

    def torch_type(self, nn: Any) -> type:
        return nn.LeakyReLU  # type: ignore[no-any-return]

    def torch_mismatch(self, module: Any) -> str | None:
        if module.negative_slope != self.slope:
            return (
                f"only LeakyReLU(negative_slope={self.slope}) is supported, "
                f"got negative_slope={module.negative_slope}"
            )
        return None


class Identity(Activation):
    name = "identity"
    formula = "σ(z) = z, σ'(z) = 1"
    onnx = ("Identity", {})

    def f(self, z: Array) -> Array:
        return z.copy()  # type: ignore[no-any-return]

    def prime(self, z: Array, a: Array) -> Array:
        return np.ones_like(z)

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        if z is not a:
            rec.do(np.copyto, a, z)
        return None  # σ' = 1: nothing to multiply by

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        pass

    def torch_module(self, nn: Any) -> Any:
        return nn.Identity()

    def torch_type(self, nn: Any) -> type:
        return nn.Identity  # type: ignore[no-any-return]


class Softmax(Activation):
    """softmax(z)_i = e^{z_i} / Σ_j e^{z_j}, per column. Output layer only."""

    name = "softmax"
    elementwise = False
    formula = "σ(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ (per example)"
    onnx = ("Softmax", {"axis": -1})  # rows are examples: normalise each row

    def f(self, z: Array) -> Array:
        e = np.exp(z - z.max(axis=0, keepdims=True))  # shift: no overflow
        return e / e.sum(axis=0, keepdims=True)  # type: ignore[no-any-return]

    def prime(self, z: Array, a: Array) -> Array:
        raise TypeError("softmax has a Jacobian, not an elementwise derivative; use backprop()")

    def backprop(self, g: Array, z: Array, a: Array) -> Array:
        # ∂a_i/∂z_j = a_i(δ_ij − a_j), so (Jᵀg)_j = a_j (g_j − Σ_i a_i g_i).
        return a * (g - (a * g).sum(axis=0, keepdims=True))  # type: ignore[no-any-return]

    def log(self, z: Array) -> Array:
        """ln softmax(z) = z − logsumexp(z), computed without overflow."""
        zmax = z.max(axis=0, keepdims=True)
        return z - zmax - np.log(np.exp(z - zmax).sum(axis=0, keepdims=True))  # type: ignore[no-any-return]

    def record_forward(
        self, rec: Recorder, z: Array, a: Array, *, need_prime: bool, prescaled: bool
    ) -> Array | None:
        col_max, ones = rec.col(1), rec.ones(1, z.shape[0])
        rec.do(np.maximum.reduce, z, 0, None, col_max, True)  # max over each column
        rec.do(np.subtract, z, col_max, a)
        rec.do(np.exp, a, a)
        rec.do(np.dot, ones, a, col_max)  # Σ_j e^{z_j − max}, as a product
        rec.do(np.divide, a, col_max, a)
        return None  # a Jacobian, not an elementwise σ': see record_vjp

    def record_vjp(self, rec: Recorder, g: Array, a: Array, prime: Array | None) -> None:
        # (Jᵀg)_j = a_j (g_j − Σ_i a_i g_i)
        tmp, s, ones = rec.col(a.shape[0]), rec.col(1), rec.ones(1, a.shape[0])
        rec.do(np.multiply, a, g, tmp)
        rec.do(np.dot, ones, tmp, s)  # Σ_i a_i g_i
        rec.do(np.subtract, g, s, g)
        rec.do(np.multiply, g, a, g)

    def apply_inplace(self, z: Array, work: Workspace) -> None:
        row = work.get("softmax", (z.shape[1],))  # e^{z − max} / Σ e^{z − max}, per column
        np.maximum.reduce(z, axis=0, out=row)
        np.subtract(z, row, out=z)
        np.exp(z, out=z)
        np.add.reduce(z, axis=0, out=row)
        np.divide(z, row, out=z)

    def torch_module(self, nn: Any) -> Any:
        return nn.Softmax(dim=1)  # rows are examples

    def torch_type(self, nn: Any) -> type:
        return nn.Softmax  # type: ignore[no-any-return]

    def torch_mismatch(self, module: Any) -> str | None:
        if module.dim not in (1, -1):
            return f"Softmax must normalise each row (dim=1 or -1), got dim={module.dim}"
        return None


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


def from_torch(module: Any, nn: Any) -> Activation | None:
    """The built-in activation whose :meth:`~Activation.torch_type` is ``type(module)``.

    None when no activation matches; check ``act.torch_mismatch(module)`` for
    settings the match does not cover (a LeakyReLU's slope, a Softmax's dim).
    """
    for cls in ACTIVATIONS.values():
        act = cls()
        if act.torch_type(nn) is type(module):
            return act
    return None
