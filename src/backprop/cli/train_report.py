"""What ``backprop train`` reports: the run as one JSON-ready dict, the table, the model's metadata.

The numbers come from the library (:func:`backprop.training.evaluate`, the
History, :func:`backprop.diagnostics.diagnose`); this module arranges and prints them.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from . import datasets, output
from .train_config import DEFAULTS

#: what a regression run reports per split, as ``train_rmse`` … ``test_r2``
REGRESSION = ("rmse", "mae", "r2")

__all__ = [
    "check_plots_dir",
    "gradient_monitor",
    "header",
    "header_fields",
    "model_metadata",
    "print_results",
    "summarize",
    "warnings",
    "write_plots",
]


def summarize(config, dataset, net, history, seconds, preset, *, evaluate_splits=True) -> dict:
    """The run as one JSON-ready dict: configuration, data, history, final metrics.

    ``evaluate_splits=False`` leaves the final metrics None (not measured).
    """
    from .. import __version__
    from ..training import evaluate

    result = {
        "command": "train",
        "version": __version__,
        "configuration": {k: config[k] for k in (*DEFAULTS, "preset", "sizes")},
        "network": {**net.config(), "n_params": int(net.n_params)},
        "data": dataset.summary(),
        "history": history.to_dict(),
        "epochs_run": len(history.epoch),
        "best_epoch": history.best_epoch,
        "stopped_early": bool(history.stopped_early),
        "diverged": history.diverged,
        "train_seconds": round(seconds, 3),
    }
    for split, X, y in (
        ("train", dataset.X_train, dataset.y_train),
        ("val", dataset.X_val, dataset.y_val),
        ("test", dataset.X_test, dataset.y_test),
    ):
        measured = evaluate_splits and datasets.has_rows(X)
        cost, acc = evaluate(net, X, y) if measured else (None, None)
        result[f"{split}_cost"] = cost
        result[f"{split}_accuracy"] = acc if dataset.n_classes is not None else None
        for key, value in _regression(net, dataset, X, y, measured).items():
            result[f"{split}_{key}"] = value
    if preset is not None:
        result["preset"] = {
            "name": preset.name,
            "book": preset.book,
            "book_accuracy": preset.book_accuracy,
            "target": preset.target,
            "met_target": None
            if preset.target is None or result["test_accuracy"] is None
            else bool(result["test_accuracy"] >= preset.target),
        }
    else:
        result["preset"] = None
    return output.jsonable(result)


def _regression(net, dataset, X, y, measured: bool) -> dict:
    """RMSE, MAE and R² of a regression network on (X, y) (None when not measured)."""
    from ..training.metrics import regression_metrics

    if not measured or dataset.n_classes is not None:
        return {"rmse": None, "mae": None, "r2": None}
    return regression_metrics(y, net.predict(X))


def model_metadata(result: dict, history, dataset) -> dict:
    """What ``--out`` stores beside the weights (read back by info, evaluate, predict, plot)."""
    data = dict(result["data"])
    return {
        "training": result["configuration"],
        "data": data,
        "data_spec": result["configuration"]["data"],
        "classes": None if dataset.classes is None else output.jsonable(dataset.classes),
        "class_names": None if dataset.class_names is None else list(dataset.class_names),
        "metrics": {
            k: result[k]
            for k in (
                "train_cost",
                "train_accuracy",
                "val_cost",
                "val_accuracy",
                "test_cost",
                "test_accuracy",
                *(f"{split}_{m}" for split in ("train", "val", "test") for m in REGRESSION),
                "train_seconds",
                "epochs_run",
                "best_epoch",
                "stopped_early",
                "diverged",
            )
        },
        "history": history.to_dict(),
    }


def print_results(result: dict, preset) -> None:
    rows = []
    regression = result["data"]["n_classes"] is None
    for split in ("train", "val", "test"):
        cost = result[f"{split}_cost"]
        if cost is None:
            continue
        name = {"train": "train", "val": "validation", "test": "test"}[split]
        if regression:
            scores = tuple(f"{result[f'{split}_{m}']:.4g}" for m in REGRESSION)
        else:
            scores = (output.percent(result[f"{split}_accuracy"]),)
        rows.append((name, *scores, f"{cost:.4f}", result["data"][f"n_{split}"]))
    print()
    scored = ("RMSE", "MAE", "R²") if regression else ("accuracy",)
    output.print_table(rows, headers=("split", *scored, "cost", "examples"))
    epochs = result["epochs_run"]
    extra = []
    if result["stopped_early"]:
        extra.append(f"stopped early; best epoch {result['best_epoch']} restored")
    print(
        f"{epochs} epoch{'s' * (epochs != 1)} in {result['train_seconds']:.1f} s"
        + (f" ({'; '.join(extra)})" if extra else "")
    )
    if preset is not None:
        acc = result["test_accuracy"]
        print(f"{preset.name}: test accuracy {output.percent(acc)}  |  book: {preset.book}")
        if preset.target is not None and acc is not None:
            verdict = "met" if acc >= preset.target else "NOT met"
            print(f"target ≥ {100 * preset.target:.1f}% final test accuracy: {verdict}")
        for note in preset.notes:
            print(f"note: {note}")
    if result.get("out"):
        print(f"model saved to {result['out']}")
    if result.get("plots"):
        print(f"plots written to {result['plots']}")


def header(config, dataset, net) -> str:
    """The run's header as one line (the fields of :func:`header_fields`)."""
    return " ".join(header_fields(config, dataset, net))


def header_fields(config, dataset, net) -> list[str]:
    """The run's header in the pieces a narrow terminal may wrap between (joined by spaces)."""
    d = dataset.summary()
    preset = [f"preset {config['preset']}:"] if config["preset"] else []
    return [
        *preset,
        f"{net.sizes}",
        f"{'/'.join(net.activations)} {net.cost_name},",
        f"{config['optimizer']} lr {config['lr']:g},",
        f"batch {config['batch_size']},",
        f"{config['epochs']} epochs,",
        f"{net.dtype}",
        f"| {d['name']}: {d['n_train']} train, {d['n_val']} validation, {d['n_test']} test",
    ]


def gradient_monitor(dataset):
    """Records ‖δ^l‖ and saturation per epoch into History.extras, for the plots."""
    from ..diagnostics import GradientMonitor

    return GradientMonitor(dataset.X_train, dataset.y_train)


def warnings(history) -> list[str]:
    """One-line notes on the finished run (cost rose, saturated units, vanishing gradient)."""
    try:
        from ..diagnostics import diagnose
    except ImportError:  # pragma: no cover - diagnostics is part of the package
        return []
    if history.diverged:
        return []
    return diagnose(history)


def check_plots_dir(path: str) -> None:
    """Before training: the folder can hold the plots and matplotlib is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError(
            "--plots needs matplotlib: pip install 'backprop-textbook[plot]' (or leave --plots out)"
        ) from None
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--plots {path} is a file; give a directory")
    if not p.parent.is_dir():
        raise ConfigError(f"--plots {path}: directory {p.parent} does not exist; create it first")


def write_plots(path: str, history, net, dataset) -> str:
    try:
        from .. import plots
    except ImportError:
        raise ConfigError(
            "--plots needs backprop.plots and matplotlib: pip install 'backprop-textbook[plot]'"
        ) from None
    Path(path).mkdir(exist_ok=True)
    plots.write_all(path, history, net=net, dataset=dataset)
    return str(path)
