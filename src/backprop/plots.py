"""Pictures of learning: matplotlib figures from a History, a network, a dataset.

Every ``*_figure`` function takes data and returns a
:class:`matplotlib.figure.Figure` (built without pyplot, so no global state and
no display is touched); :func:`save` writes one atomically as PNG or SVG, and
:func:`write_all` draws everything a run has data for into a directory.

* learning curves — train/validation/test cost and accuracy per epoch;
* confusion matrix — counts of (true class, predicted class);
* first-layer weights as images — row j of W¹ reshaped to the image: what
  hidden unit j responds to;
* ‖δ^l‖ per epoch — the speed of learning of each layer (book ch. 5), from
  :class:`backprop.diagnostics.GradientMonitor`;
* saturation per epoch — the share of hidden activations with σ' ≈ 0.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .diagnostics import layer_series
from .errors import ConfigError
from .training.metrics import confusion_matrix, predicted_classes

FORMATS = ("png", "svg")


def _figure(figsize=(7.0, 4.2)):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _integer_epochs(*axes) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _epochs(history) -> list:
    return list(history.epoch) or list(range(1, len(history.train_cost) + 1))


def _points(epochs, series):
    """(x, y) without the epochs where the value is missing."""
    pairs = [(e, float(v)) for e, v in zip(epochs, series) if v is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def learning_curves_figure(history, title: str | None = None):
    """Cost (left) and accuracy (right) per epoch for train, validation and test."""
    fig = _figure((10.0, 4.2))
    ax_cost, ax_acc = fig.subplots(1, 2)
    epochs = _epochs(history)
    any_acc = False
    for split, style in (("train", "-"), ("val", "--"), ("test", ":")):
        x, y = _points(epochs, getattr(history, f"{split}_cost", []))
        if y:
            ax_cost.plot(
                x, y, style, marker="o", markersize=3, label=f"{split} cost", gid=f"{split}_cost"
            )
        x, y = _points(epochs, getattr(history, f"{split}_accuracy", []))
        if y:
            any_acc = True
            ax_acc.plot(
                x,
                [100 * v for v in y],
                style,
                marker="o",
                markersize=3,
                label=f"{split} accuracy",
                gid=f"{split}_accuracy",
            )
    if history.best_epoch:
        ax_cost.axvline(history.best_epoch, color="grey", lw=0.8, ls="-.", label="best epoch")
    _integer_epochs(ax_cost, ax_acc)
    ax_cost.set(xlabel="epoch", ylabel="cost C", title="Cost per epoch")
    ax_cost.legend()
    ax_cost.grid(alpha=0.3)
    if any_acc:
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy per epoch")
        ax_acc.legend()
        ax_acc.grid(alpha=0.3)
    else:
        ax_acc.set_axis_off()
        ax_acc.text(0.5, 0.5, "no accuracy (regression)", ha="center", va="center")
    if title:
        fig.suptitle(title)
    return fig


#: counts C[i, j] of examples of true class i predicted as j: the library's one confusion matrix
confusion = confusion_matrix


def confusion_matrix_figure(y_true, y_pred, labels=None, title: str | None = None):
    """The confusion matrix as a heat map with the counts written in."""
    n = int(max(np.max(y_true, initial=0), np.max(y_pred, initial=0)) + 1)
    if labels is not None:
        n = max(n, len(labels))
    counts = confusion(y_true, y_pred, n)
    labels = [str(c) for c in (labels if labels is not None else range(n))]
    size = min(4.0 + 0.45 * n, 14.0)
    fig = _figure((size, size * 0.9))
    ax = fig.subplots()
    im = ax.imshow(counts, cmap="Blues")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted class", ylabel="true class")
    ax.set_xticklabels(
        labels,
        rotation=45 if max(map(len, labels)) > 2 else 0,
        ha="right" if max(map(len, labels)) > 2 else "center",
    )
    ax.set_yticklabels(labels)
    if n <= 20:
        top = counts.max() or 1
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if counts[i, j] > top / 2 else "black",
                )
    acc = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(title or f"Confusion matrix (accuracy {100 * acc:.2f}%)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def weights_figure(W1: np.ndarray, image_shape, max_units: int = 100, title: str | None = None):
    """Rows of W¹ (one per hidden unit) as images of ``image_shape``."""
    W1 = np.asarray(W1)
    h, w = image_shape[:2]
    if W1.shape[1] != h * w:
        raise ConfigError(
            f"W¹ has {W1.shape[1]} inputs, which is not an image of {h}×{w}; "
            "first-layer weights can be drawn for image data only"
        )
    k = min(W1.shape[0], max_units)
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    fig = _figure((1.1 * cols + 0.6, 1.1 * rows + 0.6))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < k:
            img = W1[j].reshape(h, w)
            lim = float(np.abs(img).max()) or 1.0
            ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(str(j), fontsize=7)
    shown = f" (first {k} of {W1.shape[0]})" if k < W1.shape[0] else ""
    fig.suptitle(title or f"First-layer weights W¹ as images{shown}: red +, blue −")
    return fig


def gradient_norms_figure(history, title: str | None = None):
    """‖δ^l‖ = ‖∂C/∂b^l‖ per epoch and layer, on a log scale (book ch. 5)."""
    fig = _figure()
    ax = fig.subplots()
    epochs = _epochs(history)
    series = layer_series(history, "delta_norm")
    if not series:
        raise ConfigError("the history has no gradient norms; train with the GradientMonitor")
    for l, values in series.items():
        x, y = _points(epochs, values)
        ax.plot(x, y, marker="o", markersize=3, label=f"layer {l}", gid=f"delta_norm_{l}")
    ax.set_yscale("log")
    _integer_epochs(ax)
    ax.set(
        xlabel="epoch",
        ylabel="‖δˡ‖ = ‖∂C/∂bˡ‖",
        title=title or "Speed of learning per layer (vanishing gradients: book ch. 5)",
    )
    ax.legend()
    ax.grid(alpha=0.3, which="both")
    return fig


def saturation_figure(history, title: str | None = None):
    """Share of hidden activations with σ' ≈ 0 (or ReLU z ≤ 0) per epoch and layer."""
    fig = _figure()
    ax = fig.subplots()
    epochs = _epochs(history)
    series = layer_series(history, "saturation")
    if not series:
        raise ConfigError("the history has no saturation data; train with the GradientMonitor")
    for l, values in series.items():
        x, y = _points(epochs, values)
        ax.plot(
            x,
            [100 * v for v in y],
            marker="o",
            markersize=3,
            label=f"hidden layer {l}",
            gid=f"saturation_{l}",
        )
    ax.set_ylim(-2, 102)
    _integer_epochs(ax)
    ax.set(
        xlabel="epoch",
        ylabel="saturated activations (%)",
        title=title or "Saturated hidden units: σ'(z) ≈ 0 (ReLU: z ≤ 0)",
    )
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def save(fig, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write ``fig`` atomically; the format is ``fmt`` or the file's suffix (png, svg)."""
    from ._atomic import atomic_write_bytes
    from .errors import DataFileError

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ConfigError(f"plot format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else None
    fig.savefig(buf, format=fmt, dpi=110, metadata=metadata)
    atomic_write_bytes(path, buf.getvalue(), error=DataFileError)
    return path


def figures(history, net=None, dataset=None) -> dict[str, object]:
    """``{name: figure}`` for everything the data allows."""
    out = {"learning_curves": learning_curves_figure(history)}
    if layer_series(history, "delta_norm"):
        out["gradient_norms"] = gradient_norms_figure(history)
    if layer_series(history, "saturation"):
        out["saturation"] = saturation_figure(history)
    if net is not None and dataset is not None:
        X, y = _eval_split(dataset)
        if X is not None and getattr(dataset, "n_classes", None) and np.asarray(y).ndim == 1:
            pred = predicted_classes(np.asarray(net.predict(X)))  # argmax a^L
            names = getattr(dataset, "class_names", None) or getattr(dataset, "classes", None)
            labels = list(names) if names is not None and len(names) == dataset.n_classes else None
            out["confusion_matrix"] = confusion_matrix_figure(y, pred, labels)
        shape = getattr(dataset, "image_shape", None)
        if shape is not None and int(np.prod(shape[:2])) == net.sizes[0] and net.L >= 1:
            network = getattr(net, "network", net)  # a Model's: W^1 of the network as trained
            out["weights"] = weights_figure(network.W[1], shape)
    return out


def _eval_split(dataset):
    for split in ("test", "val", "train"):
        X = getattr(dataset, f"X_{split}", None)
        if X is not None and len(X) > 0:
            return X, getattr(dataset, f"y_{split}")
    return None, None


def write_all(out_dir, history, net=None, dataset=None, formats=FORMATS) -> list[Path]:
    """Draw every figure the data allows into ``out_dir`` in each format; the paths written.

    Learning curves always; ‖δ^l‖ and saturation when the history has them
    (:class:`~backprop.diagnostics.GradientMonitor`); the confusion matrix
    with ``net`` and a classification ``dataset``; first-layer weights with
    ``net`` and image data.
    """
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ConfigError(f"plot formats must be among {', '.join(FORMATS)}, got {bad}")
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise ConfigError(f"plot directory {str(out_dir)!r} does not exist; create it first")
    written = []
    for name, fig in figures(history, net, dataset).items():
        for fmt in formats:
            written.append(save(fig, out_dir / f"{name}.{fmt}", fmt))
    return written
