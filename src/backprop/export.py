"""ONNX export and PyTorch interop.

A :class:`~backprop.Network` is a chain of affine maps and activations,
z^l = W^l a^{l-1} + b^l and a^l = σ_l(z^l), so it maps one-to-one onto the
standard building blocks of both ecosystems. At these edges data is in rows,
``X`` of shape (m, n_0), so each layer is written in its row form::

    Z^l = A^{l-1} (W^l)ᵀ + (b^l)ᵀ        A^{l-1}: (m, n_{l-1}),  Z^l: (m, n_l)

which is exactly ONNX ``Gemm(A, W, b, transB=1)`` and ``torch.nn.Linear``
(whose ``weight`` is W^l of shape (n_l, n_{l-1}), as in the book).

* :func:`to_onnx` — an ONNX graph (Gemm + activation operators, float32,
  dynamic batch dimension) for ONNX Runtime and friends.
* :func:`to_torch` / :func:`from_torch` — an ``nn.Sequential`` of ``Linear``
  and activation modules, and back; the weights travel bit for bit.

A :class:`~backprop.Model` (a network and its standardisation) is exported with the
standardisation as explicit steps, so the exported model takes raw rows like
``Model.predict``: ONNX ``Sub(mean)``, ``Div(scale)`` before the first Gemm (and
``Mul(y_scale)``, ``Add(y_mean)`` after the output for a standardised target); PyTorch
a :class:`Standardize` module first (and an :class:`Unstandardize` last).
* :func:`to_torch_state_dict` / :func:`save_torch` — the ``state_dict`` of that
  Sequential, for ``torch.load(path, weights_only=True)``.

onnx and torch are optional: they are imported inside the functions that need
them, and a missing one is reported with the ``pip install`` that fixes it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import numpy as np

from . import activations, costs
from .errors import BackpropError, ConfigError, ModelFileError
from .model import Model
from .network import Network
from .preprocessing import Standardizer

#: the ONNX opset written by default (ONNX Runtime has supported it since 1.12)
DEFAULT_OPSET = 17
#: the oldest opset with the per-axis Softmax this export relies on
MIN_OPSET = 13

#: σ name → ONNX operator (and its attributes): each activation's own ``onnx``
ONNX_OPS: dict[str, tuple[str, dict]] = {
    name: cls.onnx for name, cls in activations.ACTIVATIONS.items() if cls.onnx is not None
}


def require(module: str, extra: str):
    """Import an optional dependency, or say how to install it."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        raise ConfigError(
            f"this needs the optional package {module.split('.')[0]!r}; "
            f"install it with: pip install 'backprop-textbook[{extra}]'"
        ) from None


def _check_network(net) -> Network:
    if not isinstance(net, Network):
        raise ConfigError(f"expected a backprop.Network, got {type(net).__name__}")
    return net


def _split(net) -> tuple[Network, Standardizer | None]:
    """The network and the standardisation of a Network or a Model."""
    if isinstance(net, Model):
        return net.network, net.standardizer
    return _check_network(net), None


# -- ONNX ------------------------------------------------------------------


# Longer than 60 lines: half is the docstring; the rest builds one graph in order (nodes,
# graph, model, properties, check), which reads best as one block.
def to_onnx(net: Network | Model, path=None, *, opset: int = DEFAULT_OPSET, name: str = "backprop"):
    """Export ``net`` as an ONNX model.

    The graph has one input ``input`` of shape (batch, n_0) and one output
    ``output`` of shape (batch, n_L), both float32, with a dynamic batch
    dimension. Each layer l is ``Gemm(a, W^l, b^l, transB=1)`` followed by
    σ_l's operator (``Sigmoid``, ``Tanh``, ``Relu``, ``LeakyRelu`` with
    alpha = 0.01, ``Identity``, or ``Softmax`` over the last axis).

    A Model's standardisation comes first, as the nodes ``standardize/sub``
    (``Sub(input, mean)``) and ``standardize/div`` (``Div(·, scale)``), so the graph
    takes raw rows; a standardised target is un-scaled after the output layer by
    ``unstandardize/mul`` (``Mul(a^L, y_scale)``) and ``unstandardize/add``
    (``Add(·, y_mean)``). The statistics are float32 initializers named as in the
    model file (``standardize.mean``, …).

    Parameters
    ----------
    net : Network or Model
        The network (and its standardisation); a float64 network is written in float32
        (ONNX Runtime's common denominator), so its outputs round to float32 precision.
    path : str or os.PathLike, optional
        Where to write the ``.onnx`` file (atomically); nothing is written if
        omitted.
    opset : int
        The ``ai.onnx`` opset version, 13 or later.
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        The model, already checked with ``onnx.checker.check_model(full_check=True)``.
    """
    net, scaler = _split(net)
    onnx = require("onnx", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    latest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= latest:
        raise ConfigError(
            f"opset must be an integer from {MIN_OPSET} to {latest} (this onnx), got {opset!r}"
        )
    opset = int(opset)

    nodes, initializers = [], []

    def constant(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def step(op: str, node: str, inputs: list[str], out: str) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=node))
        return out

    a = "input"  # the name of a^{l-1}
    if scaler is not None:  # a⁰ = (x − μ) / s
        mean = constant("standardize.mean", scaler.mean)
        scale = constant("standardize.scale", scaler.scale)
        a = step("Sub", "standardize/sub", [a, mean], "standardize/centred")
        a = step("Div", "standardize/div", [a, scale], "a0")
    unscale = scaler is not None and scaler.y_mean is not None
    for l in range(1, net.L + 1):
        W = numpy_helper.from_array(np.asarray(net.W[l], dtype=np.float32), f"W{l}")
        b = numpy_helper.from_array(np.asarray(net.b[l], dtype=np.float32).ravel(), f"b{l}")
        initializers += [W, b]
        z = f"z{l}"
        # Z^l = A^{l-1} (W^l)ᵀ + (b^l)ᵀ  — z^l = W^l a^{l-1} + b^l, one row per example
        nodes.append(helper.make_node("Gemm", [a, f"W{l}", f"b{l}"], [z], name=z, transB=1))
        op, attrs = _onnx_op(net.act[l])
        a = "output" if l == net.L and not unscale else f"a{l}"
        nodes.append(helper.make_node(op, [z], [a], name=f"{op.lower()}{l}", **attrs))
    if unscale and scaler is not None:  # y = a^L ∘ s_y + μ_y
        y_scale = constant("standardize.y_scale", scaler.y_scale)
        y_mean = constant("standardize.y_mean", scaler.y_mean)
        a = step("Mul", "unstandardize/mul", [a, y_scale], "unstandardize/scaled")
        step("Add", "unstandardize/add", [a, y_mean], "output")

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", net.sizes[0]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", net.sizes[-1]])],
        initializer=initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    from .version import __version__

    model = helper.make_model(
        graph,
        opset_imports=opsets,
        ir_version=helper.find_min_ir_version_for(opsets),
        producer_name="backprop",
        producer_version=__version__,
        doc_string=f"backprop {net!r}",
    )
    props = {
        "sizes": ",".join(map(str, net.sizes)),
        "activations": ",".join(net.activations),
        "cost": net.cost_name,
        "source_dtype": net.dtype,
    }
    if scaler is not None:
        props["standardize"] = "inputs,target" if unscale else "inputs"
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        write_bytes(path, model.SerializeToString())
    return model


def write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a ModelFileError naming the path if it fails)."""
    from ._atomic import atomic_write_bytes

    atomic_write_bytes(os.fspath(path), data, error=ModelFileError)


def _onnx_op(act: activations.Activation) -> tuple[str, dict]:
    """σ_l's ONNX operator and attributes, as the activation states them."""
    if act.onnx is None:
        raise ConfigError(f"the {act.name} activation has no ONNX operator; it cannot be exported")
    return act.onnx


# -- PyTorch ---------------------------------------------------------------


def to_torch(net: Network | Model):
    """The network as a ``torch.nn.Sequential``: ``Linear``, σ, ``Linear``, σ, ….

    Layer l becomes ``Linear(n_{l-1}, n_l)`` with ``weight`` = W^l (n_l, n_{l-1})
    and ``bias`` = b^l, followed by ``Sigmoid``, ``Tanh``, ``ReLU``,
    ``LeakyReLU(0.01)``, ``Identity`` or ``Softmax(dim=1)``; so W^l is at
    index 2(l − 1). The dtype (float32 or float64) is kept, and the weights
    are copies: training one model does not change the other.

    A Model's standardisation is a ``Standardize`` module first, x ↦ (x − mean) / scale
    (buffers ``mean``, ``scale``), so W^l is at index 2l − 1; a standardised target adds
    an ``Unstandardize`` module last, a ↦ a · y_scale + y_mean. Both are
    ``backprop.export.Standardize`` / ``Unstandardize`` (defined once torch is imported).
    """
    net, scaler = _split(net)
    torch = require("torch", "torch")
    nn = torch.nn
    dtype = getattr(torch, net.dtype)
    modules = []
    Standardize, Unstandardize = _torch_steps()
    if scaler is not None:
        modules.append(Standardize(scaler.mean, scaler.scale, dtype=dtype))
    for l in range(1, net.L + 1):
        n_out, n_in = net.W[l].shape
        linear = nn.Linear(n_in, n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(net.W[l])))
            linear.bias.copy_(torch.from_numpy(np.array(net.b[l]).ravel()))
        modules += [linear, net.act[l].torch_module(nn)]
    if scaler is not None and scaler.y_mean is not None and scaler.y_scale is not None:
        modules.append(Unstandardize(scaler.y_mean, scaler.y_scale, dtype=dtype))
    return nn.Sequential(*modules)


@functools.cache
def _torch_steps() -> tuple[type, type]:
    """The ``Standardize`` and ``Unstandardize`` modules (torch is imported on first use)."""
    torch = require("torch", "torch")

    class Standardize(torch.nn.Module):
        """x ↦ (x − mean) / scale, per feature: a backprop Model's standardisation."""

        def __init__(self, mean, scale, dtype=torch.float32):
            super().__init__()
            self.register_buffer("mean", torch.as_tensor(np.asarray(mean), dtype=dtype))
            self.register_buffer("scale", torch.as_tensor(np.asarray(scale), dtype=dtype))

        def forward(self, x):
            return (x - self.mean) / self.scale

    class Unstandardize(torch.nn.Module):
        """a ↦ a · y_scale + y_mean: a standardised regression target back in its units."""

        def __init__(self, y_mean, y_scale, dtype=torch.float32):
            super().__init__()
            self.register_buffer("y_mean", torch.as_tensor(np.asarray(y_mean), dtype=dtype))
            self.register_buffer("y_scale", torch.as_tensor(np.asarray(y_scale), dtype=dtype))

        def forward(self, a):
            return a * self.y_scale + self.y_mean

    for cls in (Standardize, Unstandardize):
        cls.__module__, cls.__qualname__ = __name__, cls.__name__
    return Standardize, Unstandardize


def __getattr__(name: str):
    """``Standardize`` and ``Unstandardize``, built when first asked for (they need torch)."""
    if name in ("Standardize", "Unstandardize"):
        return dict(zip(("Standardize", "Unstandardize"), _torch_steps()))[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_torch_state_dict(net: Network | Model) -> dict:
    """The ``state_dict`` of :func:`to_torch` (``"0.weight"``, ``"0.bias"``, ``"2.weight"``, …).

    Plain tensors only, so ``torch.load(path, weights_only=True)`` reads it back
    and ``to_torch(net).load_state_dict(...)`` accepts it.
    """
    return {k: v.detach().clone() for k, v in to_torch(net).state_dict().items()}


def torch_bytes(net: Network | Model) -> bytes:
    """:func:`to_torch_state_dict` serialised by ``torch.save``, as bytes."""
    import io

    torch = require("torch", "torch")
    buffer = io.BytesIO()
    torch.save(to_torch_state_dict(net), buffer)
    return buffer.getvalue()


def save_torch(net: Network | Model, path) -> None:
    """Write :func:`to_torch_state_dict` to ``path`` (atomically) with ``torch.save``.

    Read it back with ``torch.load(path, weights_only=True)``.
    """
    write_bytes(path, torch_bytes(net))


def from_torch(module, *, cost: str | None = None) -> Network | Model:
    """A :class:`Network` with the architecture and weights of a torch ``nn.Sequential``.

    ``module`` must be a Sequential (nesting is flattened) of ``nn.Linear`` layers,
    each optionally followed by one activation: ``Sigmoid``, ``Tanh``, ``ReLU``,
    ``LeakyReLU(0.01)``, ``Identity``, or ``Softmax(dim=1)`` / ``Softmax(dim=-1)``
    (output layer only). A Linear with no activation after it is taken as
    identity; a Linear without bias gets b^l = 0. Weights are copied bit for bit,
    in the module's dtype (float32 or float64). A ``Standardize`` module first (and
    an ``Unstandardize`` last), as :func:`to_torch` writes them, give a
    :class:`~backprop.Model` with that standardisation.

    Parameters
    ----------
    module : torch.nn.Sequential
    cost : str, optional
        The network's cost; default ``cross-entropy`` for a softmax output and
        ``quadratic`` otherwise.

    Raises
    ------
    ConfigError
        For any other layer or structure, naming what is supported.
    """
    torch = require("torch", "torch")
    nn = torch.nn
    supported = (
        "a torch.nn.Sequential of Linear layers, each optionally followed by one of "
        "Sigmoid, Tanh, ReLU, LeakyReLU(0.01), Identity, Softmax(dim=1) (output only)"
    )
    if not isinstance(module, nn.Sequential):
        raise ConfigError(f"from_torch accepts {supported}; got {type(module).__name__}")
    module, scaler = _peel_steps(module, nn)
    linears, names = _torch_layers(module, nn, supported)
    sizes = _chained_sizes(linears)
    dtypes = {lin.weight.dtype for lin in linears}
    dtype = str(dtypes.pop()).removeprefix("torch.") if len(dtypes) == 1 else str(dtypes)
    if dtype not in ("float32", "float64"):
        raise ConfigError(f"the Linear weights must all be float32 or all float64, got {dtype}")
    if cost is None:  # a coupled (softmax) output is a distribution: its cost is cross-entropy
        coupled = not activations.get(names[-1]).elementwise
        cost = (costs.CrossEntropy if coupled else costs.Quadratic).name
    net = Network(sizes, activation=names[:-1], output=names[-1], cost=cost, dtype=dtype, seed=0)
    for l, lin in enumerate(linears, start=1):
        net.W[l] = lin.weight.detach().cpu().numpy().copy(order="C")
        b = lin.bias.detach().cpu().numpy() if lin.bias is not None else np.zeros(sizes[l], dtype)
        net.b[l] = b.reshape(-1, 1).copy(order="C")
    net.metadata = {"source": "torch"}
    if scaler is None:
        return net
    try:
        return Model(net, scaler)
    except BackpropError as exc:  # the statistics do not fit the Linear layers
        raise ConfigError(f"from_torch: the Standardize module does not fit: {exc}") from None


def _flatten(seq, nn):
    for m in seq:
        yield from (_flatten(m, nn) if isinstance(m, nn.Sequential) else [m])


def _peel_steps(module, nn):
    """(the Sequential without a leading Standardize and trailing Unstandardize, the
    Standardizer they hold or None)."""
    Standardize, Unstandardize = _torch_steps()
    layers = list(_flatten(module, nn))
    first = layers.pop(0) if layers and isinstance(layers[0], Standardize) else None
    last = layers.pop() if layers and isinstance(layers[-1], Unstandardize) else None
    if first is None and last is None:
        return module, None
    if first is None:
        raise ConfigError("from_torch: an Unstandardize module needs a Standardize module first")

    def array(t):
        return t.detach().cpu().double().numpy()

    target = {} if last is None else {"y_mean": array(last.y_mean), "y_scale": array(last.y_scale)}
    try:
        scaler = Standardizer(array(first.mean), array(first.scale), **target)
    except BackpropError as exc:
        raise ConfigError(f"from_torch: the Standardize module's statistics: {exc}") from None
    return nn.Sequential(*layers), scaler


def _torch_layers(module, nn, supported: str) -> tuple[list, list[str]]:
    """The Linear modules of a (flattened) Sequential and σ_l after each (identity if none)."""
    linears: list = []
    names: list[str | None] = []  # σ_l, None until an activation module is seen
    for i, m in enumerate(_flatten(module, nn)):
        where = f"module {i} ({m!r})"
        if type(m) is nn.Linear:
            linears.append(m)
            names.append(None)
            continue
        act = activations.from_torch(m, nn)
        if act is None:
            raise ConfigError(f"from_torch accepts {supported}; {where} is not supported")
        if not linears:
            raise ConfigError(f"from_torch accepts {supported}; {where} comes before any Linear")
        if names[-1] is not None:
            raise ConfigError(f"from_torch accepts {supported}; {where} follows another activation")
        mismatch = act.torch_mismatch(m)  # a LeakyReLU's slope, a Softmax's dim
        if mismatch is not None:
            raise ConfigError(f"{where}: {mismatch}")
        names[-1] = act.name
    if not linears:
        raise ConfigError(f"from_torch accepts {supported}; this Sequential has no Linear layer")
    return linears, [n or activations.Identity.name for n in names]  # a bare Linear is affine


def _chained_sizes(linears: list) -> list[int]:
    """[n_0, …, n_L] of Linear layers that chain (each takes what the one before gives)."""
    sizes = [linears[0].in_features]
    for i, lin in enumerate(linears):
        if lin.in_features != sizes[-1]:
            raise ConfigError(
                f"Linear layer {i + 1} takes {lin.in_features} inputs but the layer before "
                f"gives {sizes[-1]}; the Linear layers must chain"
            )
        sizes.append(lin.out_features)
    return sizes


def load_torch_state_dict(net: Network | Model, state: Mapping) -> Network | Model:
    """A copy of ``net`` with its weights (and a Model's standardisation) replaced by a
    :func:`to_torch_state_dict`-style dict."""
    require("torch", "torch")
    module = to_torch(net)
    try:
        module.load_state_dict(dict(state))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(f"the state_dict does not fit {net!r}: {first}") from None
    new = from_torch(module, cost=net.cost_name)
    new.metadata = dict(net.metadata)
    (new.network if isinstance(new, Model) else new).init = net.init
    return new
