"""The network: forward pass and backpropagation, BP1–BP4, for any depth.

The notation is the source's (see DESIGN.md). For layers l = 1..L, with the
input a⁰ = x and a mini-batch of m examples as columns::

    z^l = W^l a^{l-1} + b^l                      forward, per layer
    a^l = σ_l(z^l)
    δ^L = (a^L − t) ∘ σ_L'(z^L)                   BP1 (quadratic cost)
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l)        BP2
    ∂C/∂b^l = (1/m) Σ_columns δ^l                  BP3
    ∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ                 BP4

In code ``W[l]`` is W^l, ``z[l]`` is z^l, ``delta[l]`` is δ^l: containers are
indexed by the book's l, never by a shifted list index. Inside, examples are
columns; the public methods take and return rows (``X`` of shape (m, n_0)) and
transpose once at the edge.

Dropout enters through optional masks r^l/q (hidden layers, inverted dropout:
r^l holds 0 or 1, q is the keep probability)::

    a^l = σ_l(z^l) ∘ r^l/q                          forward, dropout layers
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l/q   BP2, dropout layers

This module is the one readable statement of BP1–BP4: ``train(...,
engine="readable")`` trains through :meth:`Network.forward` and
:meth:`Network.backward`, and the fast engine (:mod:`backprop.fast`) is tested
equal to them.

The arrays may be NumPy's or another array library's (``net.to("torch")``, ``"cupy"``,
``"array_api_strict"``; see :mod:`backprop.backends`): the maths uses the namespace of
its arrays (``xp = self.xp``) and the array API standard's functions only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import activations, costs, validation
from . import init as inits
from .errors import ConfigError, DataError
from .layers import Gradients, Layers, Masks, Trace
from .types import Array, ArrayLike

__all__ = ["DTYPES", "Gradients", "Layers", "Masks", "Network", "Trace"]

DTYPES = validation.DTYPES


class Network:
    """A fully connected feed-forward network trained by backpropagation.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first: ``[3, 4, 2]`` is the source's network.
    activation : str or list of str
        σ of the hidden layers: one name for all, or one per hidden layer.
        One of ``sigmoid``, ``tanh``, ``relu``, ``leaky-relu``, ``identity``.
    output : str, optional
        σ of the output layer (also ``softmax``); default: the hidden one.
    cost : str
        ``quadratic`` (½‖a^L − t‖², the source's) or ``cross-entropy``.
    init : str or callable
        ``normal``, ``scaled-normal``, ``glorot-uniform``, ``he-normal``, or
        ``init(rng, n_out, n_in) -> (W, b)``.
    seed : int, optional
        Seed of the generator the weights are drawn from; same seed, same bits.
    dtype : {"float64", "float32"}
        Precision of every parameter and intermediate value.
    rng : np.random.Generator, optional
        Draw the weights from this generator instead of one built from ``seed``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        output: str | None = None,
        cost: str | costs.Cost = "quadratic",
        init: str | inits.Initializer = "normal",
        seed: int | None = None,
        dtype: str = "float64",
        rng: np.random.Generator | None = None,
    ):
        self.sizes = _check_sizes(sizes)
        self.L = len(self.sizes) - 1
        self.dtype = validation.dtype(dtype)
        hidden = _hidden_names(activation, self.L)
        if output is None:
            output = activation if isinstance(activation, str) else (hidden or ["sigmoid"])[-1]
        self.act = Layers(1, [activations.get(name) for name in [*hidden, output]])
        for l in range(1, self.L):
            if not self.act[l].elementwise:
                raise ConfigError(
                    f"{self.act[l].name} can only be the output activation; "
                    f"choose hidden activations from: {', '.join(activations.HIDDEN)}"
                )
        self.cost_fn = costs.get(cost)
        self.cost_fn.check(self.act[self.L])
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        rng = rng if rng is not None else validation.generator(seed)
        draw = inits.get(init)
        W: list[Array] = []
        b: list[Array] = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            W_l, b_l = draw(rng, n_out, n_in)
            W.append(np.array(W_l, dtype=self.dtype, order="C"))
            b.append(np.array(b_l, dtype=self.dtype, order="C").reshape(n_out, 1))
        self.W: Layers[Array] = Layers(1, W)
        self.b: Layers[Array] = Layers(1, b)
        #: free-form information saved with the model (training configuration, metrics)
        self.metadata: dict[str, Any] = {}

    # -- descriptive -------------------------------------------------------

    @property
    def activations(self) -> list[str]:
        """Names of σ_1..σ_L."""
        return [act.name for act in self.act]

    @property
    def cost_name(self) -> str:
        return self.cost_fn.name

    @property
    def n_params(self) -> int:
        return sum(math.prod(w.shape) + math.prod(b.shape) for w, b in zip(self.W, self.b))

    def params(self) -> list[Array]:
        """[W^1, b^1, …, W^L, b^L]: the arrays an optimiser updates in place."""
        return [p for l in self.W.keys() for p in (self.W[l], self.b[l])]

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this architecture (not the weights)."""
        return {
            "sizes": list(self.sizes),
            "activation": self.activations[:-1],
            "output": self.activations[-1],
            "cost": self.cost_name,
            "init": self.init,
            "dtype": self.dtype,
        }

    def copy(self) -> Network:
        """A deep copy: same architecture, weights and metadata."""
        new = object.__new__(Network)
        new.__dict__.update(self.__dict__)
        new.W = Layers(1, [_copy(w) for w in self.W])
        new.b = Layers(1, [_copy(b) for b in self.b])
        new.act = Layers(1, list(self.act))
        new.metadata = dict(self.metadata)
        return new

    def astype(self, dtype: str) -> Network:
        """A copy in another precision."""
        new = self.copy()
        new.dtype = validation.dtype(dtype)
        new.W = Layers(1, [_astype(w, new.dtype) for w in self.W])
        new.b = Layers(1, [_astype(b, new.dtype) for b in self.b])
        return new

    @property
    def xp(self) -> Any:
        """The array namespace of every W[l], b[l]: ``numpy`` itself for a NumPy network."""
        return _namespace(self.W[1])

    @property
    def device(self) -> Any:
        """The device every W[l], b[l] lives on (``"cpu"`` for NumPy)."""
        from .backends import device_of

        return device_of(self.W[1])

    def to(self, library: str, device: Any = None) -> Network:
        """A copy on another array library and device (see :mod:`backprop.backends`).

        ``library`` is ``"numpy"``, ``"torch"``, ``"cupy"`` or ``"array_api_strict"``;
        ``device`` e.g. ``"cpu"`` or ``"cuda"``. Each W[l], b[l] crosses once (a copy);
        raises ConfigError, saying what to install, for a missing library or GPU.
        """
        from .backends.move import move

        moved: Network = move(self, library, device)
        return moved

    def save(self, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Any:
        """Write this network to a safetensors model file (see :func:`backprop.io.save`)."""
        from .io.model_writer import save  # the writer is core: it needs no Network class

        net = self if self.xp is np else self.to("numpy")  # the same file from any device
        return save(net, path, metadata=metadata)

    def __repr__(self) -> str:
        return (
            f"Network({self.sizes}, activation={self.activations[:-1]}, "
            f"output={self.activations[-1]!r}, cost={self.cost_name!r}, dtype={self.dtype!r})"
        )

    # -- the maths ---------------------------------------------------------

    def forward(self, X: ArrayLike, masks: Masks | None = None) -> Trace:
        """Forward pass for a mini-batch ``X`` of shape (m, n_0), rows = examples.

        ``masks[l]`` (optional, hidden layers l = 1..L−1) is the dropout mask
        r^l/q of shape (n_l, m): 0 for a dropped neuron, 1/q for a kept one.
        Returns the :class:`Trace` with z^l and a^l of shape (n_l, m) (a^l with
        its mask applied); a^0 is ``X`` as columns.
        """
        a0 = self._inputs(X).T
        r = self._masks(masks, a0.shape[1])
        z, a = [], [a0]
        for l in range(1, self.L + 1):
            z.append(self.W[l] @ a[l - 1] + self.b[l])  # z^l = W^l a^{l-1} + b^l
            a.append(self.act[l].f(z[-1]))  # a^l = σ(z^l)
            if r[l] is not None:
                a[-1] = a[-1] * r[l]  # a^l = σ(z^l) ∘ r^l/q (dropout)
        return Trace(z=Layers(1, z), a=Layers(0, a))

    def backward(self, trace: Trace, T: ArrayLike, masks: Masks | None = None) -> Gradients:
        """Backpropagation: δ^l, ∂C/∂W^l and ∂C/∂b^l for every layer.

        ``T`` holds the targets, shape (m, n_L) (integer class labels of shape
        (m,) are turned into one-hot rows). ``masks`` are the dropout masks the
        ``trace`` was computed with (see :meth:`forward`).
        """
        z, a, L, xp = trace.z, trace.a, self.L, self.xp
        m = a[0].shape[1]
        t = self._targets(T, m).T
        r = self._masks(masks, m)
        delta: Layers[Array] = Layers(1, list(z))  # each δ^l is set below
        delta[L] = self.cost_fn.delta(z[L], a[L], t, self.act[L])  # BP1
        for l in range(L - 1, 0, -1):
            s = a[l] if r[l] is None else self.act[l].f(z[l])  # σ(z^l), before dropout
            delta[l] = (self.W[l + 1].T @ delta[l + 1]) * self.act[l].prime(z[l], s)  # BP2
            if r[l] is not None:
                delta[l] = delta[l] * r[l]  # BP2 ∘ r^l/q: a dropped neuron passes no error
        db = Layers(1, [xp.sum(delta[l], axis=1, keepdims=True) / m for l in delta.keys()])  # BP3
        dW = Layers(1, [delta[l] @ a[l - 1].T / m for l in delta.keys()])  # BP4
        return Gradients(delta=delta, W=dW, b=db)

    def gradients(self, X: ArrayLike, T: ArrayLike) -> Gradients:
        """``backward(forward(X), T)``."""
        return self.backward(self.forward(X), T)

    def cost(self, X: ArrayLike, T: ArrayLike) -> float:
        """C: the mean over the m examples of the per-example cost C_x."""
        trace = self.forward(X)
        t = self._targets(T, trace.a[0].shape[1]).T
        L = self.L
        return float(self.xp.mean(self.cost_fn.value(trace.z[L], trace.a[L], t, self.act[L])))

    def predict(self, X: ArrayLike) -> Array:
        """The output a^L for ``X``, as rows: shape (m, n_L)."""
        a = self._inputs(X).T
        for l in range(1, self.L + 1):
            a = self.act[l].f(self.W[l] @ a + self.b[l])
        rows: Array = a.T
        return rows

    # -- edges -------------------------------------------------------------

    def _inputs(self, X: ArrayLike) -> Array:
        """Validate ``X`` and return it as (m, n_0) in the network's dtype and namespace."""
        if self.xp is not np:  # another array library: NumPy data checked here, moved once
            from .backends.move import inputs

            moved: Array = inputs(self, X)
            return moved
        return self._numpy_inputs(X)

    def _numpy_inputs(self, X: ArrayLike) -> Array:
        A = np.asarray(X)
        if A.ndim == 1:
            A = A.reshape(1, -1)
        if A.ndim != 2:
            raise DataError(f"X must be a 2-D array (examples, features), got shape {A.shape}")
        if A.shape[1] != self.sizes[0]:
            raise DataError(
                f"X has {A.shape[1]} features but the network's input layer has "
                f"{self.sizes[0]}; pass data with {self.sizes[0]} columns"
            )
        if A.dtype.kind not in "fiub":
            raise DataError(f"X must be numeric, got dtype {A.dtype}")
        out: Array = A.astype(self.dtype, copy=False)
        return out

    def _targets(self, T: ArrayLike, m: int) -> Array:
        """Validate targets and return them as (m, n_L) in the network's dtype and namespace."""
        if self.xp is not np:
            from .backends.move import targets

            moved: Array = targets(self, T, m)
            return moved
        return self._numpy_targets(T, m)

    def _numpy_targets(self, T: ArrayLike, m: int) -> Array:
        A = np.asarray(T)
        n_L = self.sizes[-1]
        if A.ndim == 1 and n_L > 1 and A.dtype.kind in "iu":
            if A.size and (A.min() < 0 or A.max() >= n_L):
                raise DataError(f"class labels must lie in 0..{n_L - 1}, got {A.min()}..{A.max()}")
            A = np.eye(n_L, dtype=self.dtype)[A]
        elif A.ndim == 1:
            A = A.reshape(-1, n_L) if n_L == 1 else A.reshape(1, -1)
        if A.shape != (m, n_L):
            raise DataError(f"targets must have shape ({m}, {n_L}), got {A.shape}")
        out: Array = A.astype(self.dtype, copy=False)
        return out

    def _masks(self, masks: Masks | None, m: int) -> list[Array | None]:
        """Dropout masks as a list indexed by l = 0..L (None where there is none), checked."""
        r: list[Array | None] = [None] * (self.L + 1)
        if masks is None:
            return r
        for l in masks.keys():
            if not 1 <= l < self.L:
                raise ConfigError(
                    f"dropout masks apply to the hidden layers 1..{self.L - 1}, not layer {l}"
                )
            mask = masks[l]
            if mask is not None:
                if np.shape(mask) != (self.sizes[l], m):
                    raise DataError(
                        f"the dropout mask of layer {l} must have shape "
                        f"({self.sizes[l]}, {m}), got {np.shape(mask)}"
                    )
                r[l] = mask
        return r

    # -- notebooks (after the maths, so the README's line links stay) --------

    def _repr_html_(self) -> str:
        """The layer table of :meth:`summary` as HTML, for notebooks."""
        from .display import network_html

        return network_html(self)

    def summary(self, print_fn: Callable[[str], None] = print) -> None:
        """Print the layer table, like Keras's ``model.summary()``: for each layer l its width
        n_l, the shapes of W^l and b^l, its parameters and σ_l; above it the cost, initialiser,
        dtype and the total number of parameters. ``print_fn`` receives the text."""
        from .display import network_summary

        print_fn(network_summary(self))


def _namespace(x: Any) -> Any:
    """The array namespace of ``x``: NumPy itself for NumPy arrays (else array-api-compat's)."""
    if isinstance(x, np.ndarray):
        return np
    from .backends import namespace_of

    return namespace_of(x)


def _copy(x: Array) -> Array:
    copied: Array = x.copy() if isinstance(x, np.ndarray) else _namespace(x).asarray(x, copy=True)
    return copied


def _astype(x: Array, dtype: str) -> Array:
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    xp = _namespace(x)
    return xp.astype(x, getattr(xp, dtype))


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    try:
        sizes = [int(n) for n in sizes]
    except (TypeError, ValueError):
        raise ConfigError(
            f"sizes must be a list of layer widths like [3, 4, 2], got {sizes!r}"
        ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise ConfigError(
            f"sizes needs at least an input and an output layer, each with ≥ 1 neuron; got {sizes}"
        )
    return sizes


def _hidden_names(activation: str | Sequence[str], L: int) -> list[str]:
    if isinstance(activation, str):
        return [activation] * (L - 1)
    names = list(activation)
    if len(names) != L - 1:
        raise ConfigError(
            f"activation lists one name per hidden layer: this network has {L - 1}, "
            f"got {len(names)} ({names})"
        )
    return names
