"""One frame for the page: losses, accuracy, weights, heat maps and ‖δ^l‖.

Heat maps are the activations a^l of every neuron over a 100 × 100 grid of [−6, 6]² (the
network's forward pass on the grid), sent as bytes 0..255 for values −1..1 (clipped); the
output's map is its prediction on the same scale (2a − 1 for a sigmoid output), or for
several classes the winning class and its probability. A neuron's thumbnail is every 4th
point of its map (25 × 25). ‖δ^l‖ is the root mean square over
the training points of the Euclidean norm of δ^l: it shows gradients vanish layer by layer.
"""

from __future__ import annotations

import base64
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..training import confusion_matrix
from .datasets import FEATURES, GENERATORS

if TYPE_CHECKING:
    from .session import Session

from .session import GRID, THUMB, _pack, _thumb


def output_value(session: Session, a_L: np.ndarray) -> np.ndarray:
    """The output a^L (n_L, m) on the page's −1..1 scale (binary and regression), (m,)."""
    if session.net.activations[-1] == "sigmoid":
        return np.asarray(2 * a_L[0] - 1)
    return np.asarray(a_L[0])


def predicted_class(session: Session, a_L: np.ndarray) -> np.ndarray:
    """Class 0..k−1 of every column of a^L (binary: 1 where the output is on the + side)."""
    if session.data.kind == "multiclass":
        return np.asarray(a_L.argmax(axis=0))
    return (output_value(session, a_L) >= 0).astype(np.int64)


def true_class(session: Session, y: np.ndarray) -> np.ndarray:
    if session.data.kind == "multiclass":
        return y.astype(np.int64)
    return (y > 0).astype(np.int64)


def _metrics(session: Session) -> dict[str, Any]:
    net, out = session.net, {}
    penalty = session.penalty()
    for name, F, T in (
        ("train", session.F_train, session.T_train),
        ("test", session.F_test, session.T_test),
    ):
        cost = net.cost(F, T) if len(F) else math.nan
        out[f"loss_{name}"] = _finite(cost)
        out[f"loss_{name}_reg"] = _finite(cost + penalty)
    out["penalty"] = _finite(penalty)
    if session.data.kind == "regression":
        out["accuracy_train"] = out["accuracy_test"] = out["confusion"] = None
        return out
    for name, F, y in (
        ("train", session.F_train, session.data.y_train),
        ("test", session.F_test, session.data.y_test),
    ):
        if len(F):
            pred = predicted_class(session, net.predict(F).T)
            out[f"accuracy_{name}"] = float((pred == true_class(session, y)).mean())
        else:
            out[f"accuracy_{name}"] = None
    k = session.data.n_classes or 2
    F, y = (
        (session.F_test, session.data.y_test)
        if len(session.F_test)
        else (session.F_train, session.data.y_train)
    )
    pred = predicted_class(session, net.predict(F).T)
    out["confusion"] = confusion_matrix(true_class(session, y), pred, k).tolist()
    return out


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def delta_norms(session: Session) -> list[float | None]:
    """‖δ^l‖ for l = 1..L: root mean square over the training points of |δ^l_x|."""
    net = session.net
    if not len(session.F_train):
        return [None] * net.L
    with np.errstate(over="ignore", invalid="ignore"):
        grads = net.gradients(session.F_train, session.T_train)
    return [_finite(math.sqrt(float((d * d).sum(axis=0).mean()))) for d in grads.delta]


def heat_maps(session: Session) -> dict[str, Any]:
    """The big heat map (output, or the selected neuron) and a thumbnail per neuron."""
    net = session.net.astype("float32")  # display only (8-bit colours): 5x faster
    with np.errstate(over="ignore", invalid="ignore"):
        trace = net.forward(session.F_grid32)
    thumbs = []
    for l in range(1, net.L + 1):
        a = trace.a[l]
        if l == net.L and session.data.kind != "multiclass":
            a = output_value(session, a)[None, :]
        thumbs.append(_thumbs(a))
    out: dict[str, Any] = {"thumbs": thumbs, "classes": None, "confidence": None}
    sel = session.selected
    if sel is not None and 1 <= sel[0] <= net.L and sel[1] < net.sizes[sel[0]]:
        out["heat"] = _pack(trace.a[sel[0]][sel[1]])
    elif session.data.kind == "multiclass":
        a_L = trace.a[net.L]
        out["heat"] = None
        out["classes"] = base64.b64encode(a_L.argmax(axis=0).astype(np.uint8).tobytes()).decode()
        out["confidence"] = _pack(2 * a_L.max(axis=0) - 1)
    else:
        out["heat"] = _pack(output_value(session, trace.a[net.L]))
    return out


def _thumbs(a: np.ndarray) -> list[str]:
    """Each row of a (n, GRID²) sampled down to THUMB² (every 4th point) and packed at once."""
    k = GRID // THUMB
    small = a.reshape(len(a), THUMB, k, THUMB, k)[:, :, k // 2, :, k // 2]
    q = np.clip((np.nan_to_num(small) + 1) * 127.5, 0, 255).round().astype(np.uint8)
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in q]


def input_maps(session: Session) -> list[str]:
    """Thumbnails of the input features over the grid, each scaled to its largest |value|."""
    maps = []
    for j in range(session.F_grid.shape[1]):
        col = session.F_grid[:, j]
        maps.append(_pack(_thumb(col / max(float(np.abs(col).max()), 1e-12))))
    return maps


def frame(session: Session) -> dict[str, Any]:
    """Everything the page redraws after training: see the module's docstring."""
    net = session.net
    return {
        "type": "frame",
        "epoch": session.epoch,
        "W": [np.round(W, 5).tolist() for W in net.W],
        "b": [np.round(b[:, 0], 5).tolist() for b in net.b],
        "delta_norm": delta_norms(session),
        **_metrics(session),
        **heat_maps(session),
    }


def hello_message() -> dict[str, Any]:
    """Sent once: 200 noise-free points of every data set, for the page's data-set buttons."""
    thumbs = {}
    for name in GENERATORS:
        X, y = GENERATORS[name](np.random.default_rng(0), 200, 0.0)
        thumbs[name] = np.column_stack([X, y]).round(2).tolist()
    return {"type": "hello", "datasets": thumbs}


def network_message(session: Session) -> dict[str, Any]:
    """The network's shape, the data points and the input thumbnails (sent after a rebuild)."""
    d = session.data
    return {
        "type": "network",
        "config": session.cfg.to_dict(),
        "sizes": session.net.sizes,
        "activations": session.net.activations,
        "inputs": [FEATURES[k][0] for k in session.cfg.inputs],
        "input_maps": input_maps(session),
        "kind": d.kind,
        "n_classes": d.n_classes,
        "grid": GRID,
        "train": np.column_stack([d.X_train, d.y_train]).round(4).tolist(),
        "test": np.column_stack([d.X_test, d.y_test]).round(4).tolist(),
    }
