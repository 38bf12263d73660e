"""One playground experiment: its data, its network, training, and what the page draws.

A :class:`Session` belongs to one thread (the worker in :mod:`.worker`); nothing here is
locked or asynchronous. The maths is the library's: :class:`backprop.Network` builds the
network and gives z^l, a^l, δ^l; the library's fast step trains it with an optimiser from
:mod:`backprop.optimizers` (L2 is the step's weight decay, λ W added to ∂C/∂W); the
walk-through is :func:`backprop.explain.explain` rendered by :mod:`backprop.report`.
Here the data are prepared, the heat maps sampled and the numbers packed for the page.

TensorFlow Playground's conventions are kept: two classes are labelled ±1 and learned by a
tanh output with the quadratic cost (with cross-entropy: a sigmoid output and 0/1
targets), regression has a linear output, weights start uniform in [−0.5, 0.5] and biases
at 0.1, and L1 (its form) shrinks each weight by α λ sign(w) after every mini-batch,
setting a weight that would cross zero to zero.
"""

from __future__ import annotations

import base64
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import io as bp_io
from ..network import Network
from ..optimizers import get as get_optimizer
from .config import ACTIVATIONS, MAX_CLASSES, MAX_POINTS, STRUCTURAL, BadMessage, Config
from .datasets import FEATURES, features, generate, split
from .steps import make_step

GRID = 100  # heat-map samples per side, as the playground's DENSITY
THUMB = 25  # thumbnail samples per side (GRID / 4)
DOMAIN = 6.0  # the square [−6, 6]²


def playground_uniform(
    rng: np.random.Generator, n_out: int, n_in: int
) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow Playground's initialiser: W uniform in [−0.5, 0.5], b = 0.1."""
    return rng.uniform(-0.5, 0.5, (n_out, n_in)), np.full((n_out, 1), 0.1)


@dataclass
class Data:
    """Points (n, 2) and labels of one experiment, split into train and test.

    ``kind`` is ``binary`` (labels ±1), ``multiclass`` (labels 0..k−1) or ``regression``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    kind: str
    n_classes: int | None = None


def make_data(cfg: Config, custom: tuple[np.ndarray, np.ndarray] | None) -> Data:
    """The generated data set of ``cfg`` (or the custom points), shuffled and split."""
    if cfg.dataset == "custom":
        if custom is None:
            raise BadMessage("no custom points yet: draw points or upload a CSV first")
        X, y = custom
        order = np.random.default_rng(cfg.seed).permutation(len(X))
        X, y = X[order], y[order]
        kind, k = _label_kind(y)
    else:
        X, y = generate(cfg.dataset, cfg.noise / 100, cfg.seed)
        kind, k = ("regression", None) if cfg.regression else ("binary", 2)
    n = split(len(X), cfg.train_percent)
    if kind == "binary" and cfg.dataset == "custom":
        y = np.where(y == y.max(), 1.0, -1.0)
    return Data(X[:n], y[:n], X[n:], y[n:], kind, k)


def _label_kind(y: np.ndarray) -> tuple[str, int | None]:
    if not np.all(y == np.round(y)):
        return "regression", None
    k = int(np.unique(y).size)
    if k < 2:
        raise BadMessage("the points need at least two classes")
    if k > MAX_CLASSES:
        raise BadMessage(f"at most {MAX_CLASSES} classes, got {k}")
    if k > 2 and not (y.min() == 0 and y.max() == k - 1):
        raise BadMessage(f"class labels of {k} classes must be 0..{k - 1}")
    return ("binary" if k == 2 else "multiclass"), k


def custom_points(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate rows [x1, x2, label] (from a CSV or drawn) → (X (n, 2), y (n,))."""
    if values.ndim != 2 or values.shape[1] != 3:
        raise BadMessage("the points need three columns: x1, x2, label")
    if not 2 <= len(values) <= MAX_POINTS:
        raise BadMessage(f"give 2..{MAX_POINTS} points, got {len(values)}")
    X, y = values[:, :2].astype(np.float64), values[:, 2].astype(np.float64)
    if np.abs(X).max() > DOMAIN:
        raise BadMessage("x1 and x2 must lie in [-6, 6] (the playground's square); rescale them")
    _label_kind(y)
    return X, y


def build_network(cfg: Config, data: Data) -> Network:
    """The network of ``cfg`` for ``data``: inputs → hidden layers → output, as the playground."""
    if data.kind == "multiclass":
        n_out, output = int(data.n_classes or 2), "softmax"
    elif data.kind == "regression":
        n_out, output = 1, "identity"
        if cfg.cost != "quadratic":
            raise BadMessage("regression uses the quadratic cost")
    else:
        n_out, output = 1, ("sigmoid" if cfg.cost == "cross-entropy" else "tanh")
    hidden = [ACTIVATIONS[a] for a in cfg.activations]
    return Network(
        [len(cfg.inputs), *cfg.hidden, n_out],
        activation=hidden,
        output=output,
        cost=cfg.cost,
        init=playground_uniform,
        seed=cfg.seed,
    )


def targets(net: Network, data: Data, y: np.ndarray) -> np.ndarray:
    """Targets t for labels y as rows (n, n_L): ±1 (tanh), 0/1 (sigmoid), one-hot, or y."""
    if data.kind == "multiclass":
        return np.eye(net.sizes[-1])[y.astype(np.int64)]
    if data.kind == "binary" and net.activations[-1] == "sigmoid":
        return ((y + 1) / 2).reshape(-1, 1)
    return y.reshape(-1, 1).astype(np.float64)


def _grid() -> np.ndarray:
    """The heat map's sample points, (GRID², 2): rows top (x₂ = 6) to bottom, x₁ left to right."""
    ticks = np.linspace(-DOMAIN, DOMAIN, GRID)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def _pack(values: np.ndarray) -> str:
    """Values in [−1, 1] (clipped) as base64 bytes 0..255, for the page's colour scale."""
    q = np.clip((np.nan_to_num(values) + 1) * 127.5, 0, 255).round().astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _thumb(values: np.ndarray) -> np.ndarray:
    """A GRID² map averaged down to THUMB² (4 × 4 blocks)."""
    k = GRID // THUMB
    return np.asarray(values.reshape(THUMB, k, THUMB, k).mean(axis=(1, 3)).ravel())


class Session:
    """The state of one page: configuration, data, network, optimiser and epoch."""

    def __init__(self, cfg: Config | None = None):
        self.cfg = cfg or Config()
        self.custom: tuple[np.ndarray, np.ndarray] | None = None
        self.selected: tuple[int, int] | None = None
        self.grid = _grid()
        self._rebuild()

    # -- configuration ---------------------------------------------------------

    def _rebuild(self) -> None:
        cfg = self.cfg
        self.data = make_data(cfg, self.custom)
        self.net = build_network(cfg, self.data)
        self.F_train = features(self.data.X_train, cfg.inputs)
        self.F_test = features(self.data.X_test, cfg.inputs)
        self.T_train = targets(self.net, self.data, self.data.y_train)
        self.T_test = targets(self.net, self.data, self.data.y_test)
        self.F_grid = features(self.grid, cfg.inputs)
        self.F_grid32 = self.F_grid.astype(np.float32)
        self.epoch = 0
        self.rng = np.random.default_rng(cfg.seed)
        self.selected = None
        self._new_step()

    def _new_step(self) -> None:
        cfg = self.cfg
        self.optimizer = get_optimizer(cfg.optimizer, cfg.lr)
        l2 = cfg.reg_rate if cfg.regularization == "L2" else 0.0
        self.step = make_step(self.net, self.optimizer, l2=l2, dropout=cfg.dropout, rng=self.rng)
        self.last_good = [p.copy() for p in self.net.params()]

    def configure(self, cfg: Config) -> bool:
        """Apply ``cfg``; True when it built a new network (data or architecture changed)."""
        old, self.cfg = self.cfg, cfg
        try:
            if any(getattr(old, k) != getattr(cfg, k) for k in STRUCTURAL) or old.cost != cfg.cost:
                self._rebuild()
                return True
            if (old.optimizer, old.regularization, old.reg_rate, old.dropout) != (
                cfg.optimizer,
                cfg.regularization,
                cfg.reg_rate,
                cfg.dropout,
            ):
                self._new_step()
        except BadMessage:
            self.cfg = old
            raise
        return False

    def reset(self) -> None:
        """A new network from the same seed, epoch 0 (the playground's reset button)."""
        self._rebuild()

    def set_custom(self, values: np.ndarray) -> None:
        """Train on these points [x1, x2, label] (rows) from now on: dataset ``custom``."""
        old = self.custom, self.cfg
        self.custom = custom_points(values)
        self.cfg = Config(**{**self.cfg.to_dict(), "dataset": "custom"})
        try:
            self._rebuild()
        except BadMessage:
            self.custom, self.cfg = old
            self._rebuild()
            raise

    # -- training --------------------------------------------------------------

    def train_epoch(self) -> bool:
        """One epoch of mini-batches; False (weights restored) if training diverged."""
        cfg, step, n = self.cfg, self.step, len(self.F_train)
        order = self.rng.permutation(n)
        l1 = cfg.reg_rate if cfg.regularization == "L1" else 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, n, cfg.batch_size):
                step(self.F_train, self.T_train, order[start : start + cfg.batch_size], cfg.lr)
                if l1:
                    self._shrink_l1(cfg.lr * l1)
        params = self.net.params()
        if not all(math.isfinite(float(p.sum())) for p in params):
            for p, good in zip(params, self.last_good):
                np.copyto(p, good)
            self._new_step()  # the optimiser's buffers hold the overflow too
            return False
        for p, good in zip(params, self.last_good):
            np.copyto(good, p)
        self.epoch += 1
        return True

    def _shrink_l1(self, amount: float) -> None:
        """W ← W − α λ sign(W), a weight that would cross zero set to zero (the playground's L1)."""
        for W in self.net.W:
            shrunk = W - amount * np.sign(W)
            shrunk[W * shrunk < 0] = 0.0
            W[...] = shrunk

    def penalty(self) -> float:
        """λ Σ_l Σ R(w): R(w) = |w| (L1) or ½ w² (L2) over every weight (not biases)."""
        cfg = self.cfg
        if cfg.regularization == "none" or not cfg.reg_rate:
            return 0.0
        if cfg.regularization == "L1":
            return cfg.reg_rate * sum(float(np.abs(W).sum()) for W in self.net.W)
        return cfg.reg_rate * sum(0.5 * float((W * W).sum()) for W in self.net.W)

    def edit(self, layer: int, row: int, col: int | None, value: float) -> None:
        """Set W^l[row, col] (or b^l[row] when col is None) to ``value``, in place."""
        if not 1 <= layer <= self.net.L:
            raise BadMessage(f"layer must lie in 1..{self.net.L}")
        target = self.net.W[layer] if col is not None else self.net.b[layer]
        index = (row, col) if col is not None else (row, 0)
        if not (row < target.shape[0] and (col is None or col < target.shape[1])):
            raise BadMessage(f"no such weight in layer {layer}")
        target[index] = value
        self.last_good = [p.copy() for p in self.net.params()]

    # -- what the page draws ---------------------------------------------------

    def frame(self) -> dict[str, Any]:
        """Losses, accuracy, weights, heat maps and ‖δ^l‖ for the current weights."""
        from .frames import frame

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return frame(self)

    def point(self, split_name: str, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Features (1, n_0) and target (1, n_L) of point ``index`` of a split."""
        F, T = (self.F_train, self.T_train) if split_name == "train" else (self.F_test, self.T_test)
        if not 0 <= index < len(F):
            raise BadMessage(f"the {split_name} split has points 0..{len(F) - 1}")
        return F[index : index + 1], T[index : index + 1]

    def nearest(self, x: tuple[float, float]) -> tuple[str, int]:
        """The data point (split, index) nearest to ``x`` on the page."""
        best: tuple[float, str, int] = (math.inf, "train", 0)
        for name, X in (("train", self.data.X_train), ("test", self.data.X_test)):
            if len(X):
                d = ((X - np.asarray(x)) ** 2).sum(axis=1)
                i = int(d.argmin())
                best = min(best, (float(d[i]), name, i))
        return best[1], best[2]

    def inspect(self, x: tuple[float, float]) -> dict[str, Any]:
        """z^l, a^l, σ'(z^l), δ^l of every neuron for the data point nearest to ``x``."""
        name, i = self.nearest(x)
        F, T = self.point(name, i)
        net = self.net
        with np.errstate(over="ignore", invalid="ignore"):
            trace = net.forward(F)
            grads = net.backward(trace, T)
        layers = []
        for l in range(1, net.L + 1):
            act = net.act[l]
            prime = act.prime(trace.z[l], trace.a[l]) if act.elementwise else None
            layers.append(
                {
                    "z": trace.z[l][:, 0].tolist(),
                    "a": trace.a[l][:, 0].tolist(),
                    "sigma_prime": None if prime is None else prime[:, 0].tolist(),
                    "delta": grads.delta[l][:, 0].tolist(),
                    "activation": act.name,
                }
            )
        X = self.data.X_train if name == "train" else self.data.X_test
        y = self.data.y_train if name == "train" else self.data.y_test
        return {
            "type": "inspect",
            "split": name,
            "index": i,
            "point": X[i].tolist(),
            "label": float(y[i]),
            "x": F[0].tolist(),
            "t": T[0].tolist(),
            "layers": layers,
            "epoch": self.epoch,
            "W": [W.tolist() for W in net.W],  # the weights these numbers come from
            "b": [b[:, 0].tolist() for b in net.b],
        }

    def explain_html(self, split_name: str, index: int) -> str:
        """The ``backprop explain`` walk-through (HTML) of one step on one point."""
        from ..explain import explain
        from ..report import render

        F, T = self.point(split_name, index)
        X = (self.data.X_train if split_name == "train" else self.data.X_test)[index]
        source = (
            f"Playground point {index} of the {split_name} split at "
            f"(x₁, x₂) = ({X[0]:.3f}, {X[1]:.3f}), epoch {self.epoch}; inputs "
            + ", ".join(FEATURES[k][0] for k in self.cfg.inputs)
            + f"; α = {self.cfg.lr:g} (the page's learning rate)."
        )
        expl = explain(self.net, F, T, lr=self.cfg.lr, source=source)
        return render(expl, "html")

    # -- export ----------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        return {
            "playground": self.cfg.to_dict(),
            "inputs": [FEATURES[k][0] for k in self.cfg.inputs],
            "epoch": self.epoch,
        }

    def export_model(self) -> bytes:
        """The network as a ``backprop`` model file (safetensors), as bytes."""
        with tempfile.TemporaryDirectory(prefix="backprop-playground-") as tmp:
            path = Path(tmp) / "model.safetensors"
            bp_io.save(self.net, path, metadata=self.metadata())
            return path.read_bytes()

    def export_onnx(self) -> bytes:
        """The network as an ONNX model, as bytes (needs the ``onnx`` extra)."""
        from ..export import to_onnx

        return bytes(to_onnx(self.net, name="playground").SerializeToString())
