"""``backprop train``: train a network on a dataset and report (and save) the result.

The command is a thin shell over the library, in steps that each do one
thing, so that other features can plug in between them::

    config  = resolve_config(args)            defaults < --preset < explicit flags
    check_config(config)                      names and numbers, before any work
    dataset = load_data(config)               backprop.data.load
    net     = build_network(config, dataset)  backprop.Network
    session = Session(...)                    callbacks: progress, Ctrl-C, extra ones
    history = fit(session)                    backprop.train
    report / save                             table or JSON; model file via backprop.io

Exit codes: 0 on success, 1 when training diverged (the last good weights are
still saved with ``--out``), 2 for a user error, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from . import _checkpoint, arguments, datasets, interrupt, output, progress

#: what ``backprop train`` does with no arguments: a small ReLU network on the
#: built-in 8×8 digits that trains in about a second and reaches ≥ 95 % on its test split
DEFAULTS: dict = {
    "data": "digits",
    "layers": [100],
    "activation": "relu",
    "output": "softmax",
    "cost": "cross-entropy",
    "init": "he-normal",
    "optimizer": "adam",
    "lr": 1e-3,
    "momentum": 0.9,
    "batch_size": 32,
    "epochs": 30,
    "l2": 0.0,
    "dropout": 0.0,
    "patience": None,
    "schedule": None,
    "seed": 0,
    "dtype": "float32",
    "label_column": None,
    "validation_fraction": None,
    "test_fraction": None,
}

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")

DESCRIPTION = """\
Train a network by backpropagation and report its accuracy on the test split.

With no arguments: a [64,100,10] ReLU/softmax network on the built-in 8x8 digits
(Adam, 30 epochs, about a second). A --preset fills in every setting; flags given
on the command line override the preset's values.

examples:
  backprop train
  backprop train --data mnist:~/data/mnist --layers 30 --epochs 5 --out mnist.safetensors
  backprop train --preset nielsen-ch1 --data mnist:../shared/data/mnist
  backprop train --data table.csv --label-column 0 --layers 16,16 --json > run.json

presets: nielsen-ch1, nielsen-ch1-100, nielsen-ch3, modern (see docs/cli.md)
"""


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers,
        "train",
        help="train a network and report its test accuracy",
        description=DESCRIPTION,
    )
    # Every default is None here, so resolve_config can tell a flag given on the
    # command line (which overrides a preset) from one left out.
    arguments.add_data_arguments(p, default=None, shown_default="digits")
    net = p.add_argument_group("network")
    net.add_argument(
        "--layers",
        type=_layers,
        metavar="N,…",
        help="layer widths: all of them (784,30,10) or the hidden ones only (30, or 256,128); "
        "input and output sizes come from the data (default: 100)",
    )
    net.add_argument("--activation", help="hidden σ: sigmoid, tanh, relu, leaky-relu, identity")
    net.add_argument("--output", help="output σ, also softmax (default: softmax)")
    net.add_argument("--cost", help="quadratic or cross-entropy (default: cross-entropy)")
    net.add_argument(
        "--init", help="normal, scaled-normal, glorot-uniform, he-normal (default: he-normal)"
    )
    net.add_argument("--dtype", help="float32 (default) or float64")
    opt = p.add_argument_group("training")
    opt.add_argument("--optimizer", help="sgd, momentum, nesterov or adam (default: adam)")
    opt.add_argument("--lr", type=float, help="learning rate α (η in the book) (default: 0.001)")
    opt.add_argument("--momentum", type=float, help="momentum coefficient (default: 0.9)")
    opt.add_argument("--batch-size", type=int, metavar="M", help="mini-batch size (default: 32)")
    opt.add_argument("--epochs", type=int, help="passes over the training data (default: 30)")
    opt.add_argument("--l2", type=float, metavar="λ", help="L2 regularisation λ (default: 0)")
    opt.add_argument(
        "--dropout", type=float, metavar="P", help="drop hidden units with probability P"
    )
    opt.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="stop after N epochs without a better validation accuracy and restore the best "
        "weights (needs validation data)",
    )
    opt.add_argument(
        "--schedule",
        metavar="SPEC",
        help="learning-rate schedule: constant, step:S[:GAMMA], exponential:GAMMA, "
        "plateau[:FACTOR[:PATIENCE]] (default: constant)",
    )
    opt.add_argument(
        "--seed",
        type=int,
        help="seed of the weights, shuffles, dropout and the random split of digits/CSV/NPZ "
        "(default: 0)",
    )
    opt.add_argument(
        "--preset", metavar="NAME", help="nielsen-ch1, nielsen-ch1-100, nielsen-ch3, modern"
    )
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", help="save the trained model here (safetensors)")
    out.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout; progress on stderr"
    )
    out.add_argument("--quiet", "-q", action="store_true", help="no progress and no table")
    out.add_argument(
        "--plots", metavar="DIR", help="write learning curves and other figures into DIR"
    )
    _checkpoint.add_arguments(p)
    p.set_defaults(run=run)


def _layers(text: str) -> list[int]:
    try:
        return arguments.int_list(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--layers ")) from None


# -- the steps -----------------------------------------------------------------


def resolve_config(args) -> tuple[dict, object]:
    """The run's settings: DEFAULTS, then the preset's, then every flag given.

    Returns ``(config, preset)`` where preset is a :class:`backprop.presets.Preset` or None.
    """
    from .. import presets

    config = dict(DEFAULTS)
    preset = None
    if getattr(args, "preset", None):
        preset = presets.get(args.preset)
        config.update(preset.config)
    for key in DEFAULTS:
        value = getattr(args, key, None)
        if value is not None:
            config[key] = value
    config["preset"] = preset.name if preset else None
    return config, preset


def _given(args) -> set[str]:
    """The settings named on the command line or by the preset (not left to DEFAULTS)."""
    from .. import presets

    given = {key for key in DEFAULTS if getattr(args, key, None) is not None}
    if getattr(args, "preset", None):
        given |= set(presets.get(args.preset).config)
    return given


def check_config(config: dict) -> None:
    """Reject impossible settings before loading data: each message names the flag."""
    from .. import activations, costs, init, network, schedules

    _positive(config, "lr", "--lr", "such as 0.1")
    _positive(config, "batch_size", "--batch-size", "such as 32", integer=True)
    _positive(config, "epochs", "--epochs", "such as 10", integer=True)
    if not 0 <= config["l2"]:
        raise ConfigError(f"--l2 must be ≥ 0, got {config['l2']}")
    if not 0 <= config["dropout"] < 1:
        raise ConfigError(f"--dropout is a probability in [0, 1), got {config['dropout']}")
    if not 0 <= config["momentum"] < 1:
        raise ConfigError(f"--momentum must lie in [0, 1), got {config['momentum']}")
    if config["patience"] is not None and config["patience"] < 1:
        raise ConfigError(f"--patience must be at least 1 epoch, got {config['patience']}")
    if config["optimizer"] not in OPTIMIZERS:
        from ..errors import one_of

        raise one_of("optimizer", config["optimizer"], OPTIMIZERS)
    activations.get(config["activation"])
    activations.get(config["output"])
    costs.get(config["cost"]).check(activations.get(config["output"]))
    init.get(config["init"])
    network._check_dtype(config["dtype"])
    schedules.get(config["schedule"])


def _positive(config, key, flag, example, integer=False):
    value = config[key]
    if not (value > 0 and math.isfinite(value)):
        kind = "a positive whole number" if integer else "positive"
        raise ConfigError(f"{flag} must be {kind}, {example}; got {value}")


def load_data(config: dict, *, download: bool = False, base_url: str | None = None):
    """The dataset ``--data`` names, split as the flags say (``--download`` fetches
    missing MNIST files first, from ``--data-url`` if given)."""
    return datasets.load_dataset(
        config["data"],
        label_column=config["label_column"],
        validation_fraction=config["validation_fraction"],
        test_fraction=config["test_fraction"],
        seed=config["seed"],
        download=download,
        base_url=base_url,
    )


def check_data(config: dict, dataset, given=()) -> None:
    """Settings that depend on the data.

    Regression data (non-integer targets) gets an identity output and the
    quadratic cost unless ``--output``/``--cost`` were given (``given`` names the
    settings the user chose); early stopping needs a validation split.
    """
    if dataset.n_classes is None and not {"output", "cost"} & set(given):
        config["output"], config["cost"] = "identity", "quadratic"
    if config["patience"] is not None and not datasets.has_rows(dataset.X_val):
        raise ConfigError(
            "--patience needs validation data; add --validation-fraction 0.1 (or use a "
            "dataset with its own validation split, such as mnist)"
        )


def build_network(config: dict, dataset):
    """A fresh network whose input and output layers fit ``dataset``."""
    from ..network import Network

    sizes = arguments.resolve_sizes(config["layers"], dataset.n_features, dataset.n_outputs)
    if dataset.n_classes is None and sizes[-1] == 1 and config["output"] == "softmax":
        raise ConfigError(
            f"{config['data']}: the labels are not integers, so they are read as one regression "
            "target, which a softmax output cannot fit; give integer class labels, or add "
            "--output identity --cost quadratic for regression"
        )
    return Network(
        sizes,
        activation=config["activation"],
        output=config["output"],
        cost=config["cost"],
        init=config["init"],
        seed=config["seed"],
        dtype=config["dtype"],
    )


@dataclass
class Session:
    """Everything one training run needs; extra callbacks (checkpoints) go in ``callbacks``."""

    config: dict
    dataset: object
    net: object
    callbacks: list = field(default_factory=list)
    interrupt: interrupt.StopOnInterrupt = field(default_factory=interrupt.StopOnInterrupt)
    #: keyword arguments added to backprop.train (e.g. state to resume from)
    train_kwargs: dict = field(default_factory=dict)
    seconds: float = 0.0


def fit(session: Session):
    """Run ``backprop.train`` with the session's settings and callbacks; returns History."""
    from ..training import train

    c, ds = session.config, session.dataset
    validation = (ds.X_val, ds.y_val) if datasets.has_rows(ds.X_val) else None
    test = (ds.X_test, ds.y_test) if datasets.has_rows(ds.X_test) else None
    t0 = time.perf_counter()
    try:
        history = train(
            session.net,
            ds.X_train,
            ds.y_train,
            epochs=c["epochs"],
            batch_size=c["batch_size"],
            lr=c["lr"],
            optimizer=c["optimizer"],
            seed=c["seed"],
            momentum=c["momentum"],
            l2=c["l2"],
            dropout=c["dropout"],
            schedule=c["schedule"],
            validation_data=validation,
            test_data=test,
            patience=c["patience"],
            # the Ctrl-C callback first: later ones (a checkpoint) see state.stop at once
            callbacks=[session.interrupt, *session.callbacks],
            **session.train_kwargs,
        )
    finally:
        session.interrupt.restore()
        session.seconds = time.perf_counter() - t0
    return history


def run(args) -> int:
    config, preset = resolve_config(args)
    check_config(config)
    output.check_out_path(args.out)
    _checkpoint.check_arguments(args)
    if args.plots:
        _check_plots_dir(args.plots)
    dataset = load_data(config, download=args.download, base_url=args.data_url)
    check_data(config, dataset, given=_given(args))
    net = build_network(config, dataset)
    config["sizes"] = list(net.sizes)

    session = Session(config=config, dataset=dataset, net=net)
    if not args.quiet:
        session.callbacks.append(progress.Progress(sys.stderr))
        print(_header(config, dataset, net), file=sys.stderr)
    if args.plots:
        session.callbacks.append(_gradient_monitor(dataset))
    checkpoint = _checkpoint.setup(args, session)
    try:
        history = fit(session)
    except KeyboardInterrupt:
        # a second Ctrl-C (or one outside the main thread): when every mini-batch
        # had run, only the epoch's evaluation was lost; the weights are trained
        if not session.interrupt.batches_done:
            raise
        return _interrupted_in_evaluation(args, config, dataset, net, session, preset)

    if session.interrupt.cut_short:
        epoch, batch = session.interrupt.where
        print(
            f"backprop: interrupted at epoch {epoch}, batch {batch}; "
            + (
                f"checkpoint saved to {checkpoint.last}; add --resume to continue"
                if checkpoint is not None and checkpoint.last is not None
                else "model not saved"
                if args.out
                else "nothing saved"
            ),
            file=sys.stderr,
        )
        return 130
    # Ctrl-C after the last mini-batch: training had finished, so the run is
    # reported and saved as usual (no plots), then the command exits 130
    late_interrupt = session.interrupt.interrupted

    try:
        result = summarize(config, dataset, net, history, session.seconds, preset)
    except KeyboardInterrupt:
        return _interrupted_in_evaluation(args, config, dataset, net, session, preset, history)
    result["warnings"] = _warnings(history)
    if args.out:
        from .. import io

        io.save(net, args.out, metadata=model_metadata(result, history, dataset))
        result["out"] = str(args.out)
    if args.plots and not late_interrupt:
        result["plots"] = _write_plots(args.plots, history, net, dataset)

    if args.json:
        output.emit_json(result)
    elif not args.quiet:
        print_results(result, preset)
    if not args.quiet:
        for warning in result["warnings"]:
            print(f"note: {warning}", file=sys.stderr)
    if history.diverged:
        saved = f"; the last good weights were saved to {args.out}" if args.out else ""
        print(f"backprop: error: {history.diverged}{saved}", file=sys.stderr)
        return 1
    if late_interrupt:
        print(
            "backprop: interrupted after the last mini-batch; training had finished, "
            + (f"model saved to {args.out}" if args.out else "nothing saved (no --out)")
            + ("; plots not written" if args.plots else ""),
            file=sys.stderr,
        )
        return 130
    return 0


def _interrupted_in_evaluation(args, config, dataset, net, session, preset, history=None) -> int:
    """Ctrl-C during the evaluation that follows the last mini-batch.

    The network is fully trained, so with ``--out`` it is saved (the final
    metrics, which were not measured, are null in its metadata); exit 130.
    """
    import numpy as np

    history = history if history is not None else session.interrupt.state.history
    saved = ""
    if args.out and all(np.isfinite(p).all() for p in net.params()):
        from .. import io

        result = summarize(
            config, dataset, net, history, session.seconds, preset, evaluate_splits=False
        )
        metadata = model_metadata(result, history, dataset)
        metadata["interrupted"] = "during the final evaluation; final metrics not measured"
        io.save(net, args.out, metadata=metadata)
        saved = f"the trained model was saved to {args.out} without its final metrics"
    elif args.out:
        saved = "model not saved (its weights are not finite)"
    print(
        "backprop: interrupted after the last mini-batch, during the final evaluation; "
        + (saved or "nothing saved (no --out)"),
        file=sys.stderr,
    )
    return 130


# -- reporting -----------------------------------------------------------------


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
    for split in ("train", "val", "test"):
        cost = result[f"{split}_cost"]
        if cost is None:
            continue
        rows.append(
            (
                {"train": "train", "val": "validation", "test": "test"}[split],
                output.percent(result[f"{split}_accuracy"]),
                f"{cost:.4f}",
                result["data"][f"n_{split}"],
            )
        )
    print()
    output.print_table(rows, headers=("split", "accuracy", "cost", "examples"))
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


def _header(config, dataset, net) -> str:
    d = dataset.summary()
    preset = f"preset {config['preset']}: " if config["preset"] else ""
    return (
        f"{preset}{net.sizes} {'/'.join(net.activations)} {net.cost_name}, "
        f"{config['optimizer']} lr {config['lr']:g}, batch {config['batch_size']}, "
        f"{config['epochs']} epochs, {net.dtype} | {d['name']}: {d['n_train']} train, "
        f"{d['n_val']} validation, {d['n_test']} test"
    )


def _gradient_monitor(dataset):
    """Records ‖δ^l‖ and saturation per epoch into History.extras, for the plots."""
    from ..diagnostics import GradientMonitor

    return GradientMonitor(dataset.X_train, dataset.y_train)


def _warnings(history) -> list[str]:
    """One-line notes on the finished run (cost rose, saturated units, vanishing gradient)."""
    try:
        from ..diagnostics import diagnose
    except ImportError:  # pragma: no cover - diagnostics is part of the package
        return []
    if history.diverged:
        return []
    return diagnose(history)


def _check_plots_dir(path: str) -> None:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--plots {path} is a file; give a directory")
    if not p.parent.is_dir():
        raise ConfigError(f"--plots {path}: directory {p.parent} does not exist; create it first")


def _write_plots(path: str, history, net, dataset) -> str:
    try:
        from .. import plots
    except ImportError:
        raise ConfigError(
            "--plots needs backprop.plots and matplotlib: pip install 'backprop[plot]'"
        ) from None
    Path(path).mkdir(exist_ok=True)
    plots.write_all(path, history, net=net, dataset=dataset)
    return str(path)
