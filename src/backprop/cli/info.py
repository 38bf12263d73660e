"""``backprop info MODEL``: what a model file holds, as a table (or JSON)."""

from __future__ import annotations

from . import arguments, output

DESCRIPTION = """\
Summarise a model file: layers, shapes, parameter counts, activations, cost, and
the training configuration, data and metrics saved with it.

example:
  backprop info mnist.safetensors
"""


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers, "info", help="summarise a model file", description=DESCRIPTION
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by `backprop train --out`")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import io
    from ..model import Model, describe

    model = Model.of(io.load(args.model))  # verifies structure and checksum
    net, scaler = model.network, model.standardizer
    doc = io.read_metadata(args.model)
    meta = net.metadata or {}
    layers = layer_rows(net)
    if args.json:
        output.emit_json(
            {
                "model": str(args.model),
                "library_version": doc.get("library_version"),
                "format_version": doc.get("format_version"),
                "network": {**net.config(), "n_params": int(net.n_params)},
                "layers": [
                    dict(zip(("layer", "neurons", "W", "b", "params", "activation"), row))
                    for row in layers
                ],
                "standardize": None if scaler is None else scaler.summary(),
                "metadata": meta,
            }
        )
        return 0

    print(
        f"model {args.model}: backprop {doc.get('library_version', '?')}, {net.dtype}, "
        f"{net.n_params:,} parameters"
    )
    rows = [
        (
            f"{layer}",
            neurons,
            "×".join(map(str, W)) if W else "",
            "×".join(map(str, b)) if b else "",
            f"{params:,}" if params else "",
            act or "(input)",
        )
        for layer, neurons, W, b, params, act in layers
    ]
    print()
    output.print_table(rows, headers=("layer", "neurons", "W", "b", "params", "activation"))
    print()
    summary = [("cost", net.cost_name), ("init", net.init), ("dtype", net.dtype)]
    if scaler is not None:
        summary.append(("inputs", describe(scaler)))
    summary += metadata_rows(meta)
    output.print_table(summary)
    return 0


def layer_rows(net) -> list[tuple]:
    """(l, n_l, W^l shape, b^l shape, parameters, σ_l) for l = 0..L; l = 0 is the input."""
    rows = [(0, net.sizes[0], None, None, 0, None)]
    for l in net.W.keys():
        W, b = net.W[l], net.b[l]
        rows.append(
            (l, net.sizes[l], list(W.shape), list(b.shape), W.size + b.size, net.act[l].name)
        )
    return rows


def metadata_rows(meta: dict) -> list[tuple[str, str]]:
    """The training metadata as (label, text) rows; absent entries are skipped.

    Metadata saved through the public API can hold anything JSON can (``{"data": "iris
    v2"}``, ``{"metrics": {"test_accuracy": "97%"}}``): what is not in the shape
    ``backprop train`` writes is listed as it is, key by key, never a traceback.
    """
    try:
        return _training_rows(meta)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):
        return [(str(key), _short(meta[key])) for key in sorted(meta, key=str)]


def _training_rows(meta: dict) -> list[tuple[str, str]]:
    rows = []
    training = meta.get("training") or {}
    if training:
        if training.get("preset"):
            rows.append(("preset", training["preset"]))
        keys = ("optimizer", "lr", "momentum", "batch_size", "epochs", "l2", "dropout")
        keys += ("patience", "seed")
        parts = [
            f"{k.replace('_', '-')} {training[k]}" for k in keys if training.get(k) is not None
        ]
        rows.append(("training", ", ".join(parts)))
    data = meta.get("data") or {}
    if data:
        n = ", ".join(
            f"{data[f'n_{s}']:,} {s}" for s in ("train", "val", "test") if data.get(f"n_{s}")
        )
        rows.append(("data", f"{data.get('name', '?')} ({n})" if n else str(data.get("name"))))
        if data.get("fingerprint"):
            rows.append(("fingerprint", f"sha256:{data['fingerprint'][:16]}…"))
    metrics = meta.get("metrics") or {}
    for key, label in (
        ("test_accuracy", "test accuracy"),
        ("val_accuracy", "validation accuracy"),
        ("train_accuracy", "train accuracy"),
    ):
        if metrics.get(key) is not None:
            rows.append((label, output.percent(metrics[key])))
    if metrics.get("test_cost") is not None:
        rows.append(("test cost", f"{metrics['test_cost']:.4f}"))
    if metrics.get("epochs_run") is not None:
        seconds = metrics.get("train_seconds")
        took = f" in {seconds:.1f} s" if seconds is not None else ""
        best = metrics.get("best_epoch")
        rows.append(
            ("epochs", f"{metrics['epochs_run']}{took}" + (f", best {best}" if best else ""))
        )
    if metrics.get("diverged"):
        rows.append(("diverged", str(metrics["diverged"])))
    if meta.get("history"):
        n = len((meta["history"] or {}).get("epoch") or [])
        rows.append(("history", f"{n} epochs recorded"))
    known = {"training", "data", "metrics", "history", "data_spec", "classes", "class_names"}
    for key in sorted(set(meta) - known):
        rows.append((key, _short(meta[key])))
    return rows


def _short(value, limit: int = 70) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
