"""``backprop train``: train a network on a dataset and report (and save) the result.

The command is a thin shell over the library, in steps that each do one
thing, so that other features can plug in between them::

    config  = train_config.resolve_config(args)            defaults < --preset < explicit flags
    train_config.check_config(config)                      names and numbers, before any work
    dataset = train_config.load_data(config)               backprop.data.load
    net     = train_config.build_network(config, dataset)  backprop.Network
    session = Session(...)                    callbacks: progress, Ctrl-C, extra ones
    history = fit(session)                    backprop.train
    report / save                             table or JSON; model file via backprop.io

Exit codes: 0 on success, 1 when training diverged (the last good weights are
still saved with ``--out``), 2 for a user error, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import backends, io
from ..errors import ConfigError
from . import _checkpoint, arguments, datasets, output, train_config, train_report, train_tables
from .interrupt import StopOnInterrupt, exit_code, hold_interrupts, signal_name
from .progress import Progress

# the command's steps, importable from here as before the split
from .train_config import (  # noqa: F401
    DEFAULTS,
    OPTIMIZERS,
    build_network,
    check_config,
    check_data,
    load_data,
    resolve_config,
)
from .train_report import model_metadata, print_results, summarize  # noqa: F401

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
    net.add_argument(
        "--activation", help="hidden σ: sigmoid, tanh, relu, leaky-relu, identity (default: relu)"
    )
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
    opt.add_argument(
        "--epochs",
        type=int,
        help="passes over the training data (default: 30; on a table, enough for about "
        "3,000 mini-batches, at most 1,000)",
    )
    opt.add_argument(
        "--l2",
        type=float,
        metavar="λ",
        help="L2 regularisation λ (default: 0; 5 on a table of at most 10,000 rows)",
    )
    opt.add_argument(
        "--dropout",
        type=float,
        metavar="P",
        help="drop hidden units with probability P (default: 0, no dropout)",
    )
    opt.add_argument(
        "--patience",
        type=int,
        metavar="N",
        help="stop after N epochs without a better validation accuracy and restore the best "
        "weights (needs validation data) (default: none, every epoch runs)",
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
        "--preset",
        metavar="NAME",
        help="nielsen-ch1, nielsen-ch1-100, nielsen-ch3, modern (default: none)",
    )
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", help="save the trained model here (safetensors)")
    out.add_argument(
        "--force",
        action="store_true",
        help="let --out replace an existing file that is not a backprop model",
    )
    out.add_argument(
        "--json", action="store_true", help="print one JSON object on stdout; progress on stderr"
    )
    out.add_argument("--quiet", "-q", action="store_true", help="no progress and no table")
    out.add_argument(
        "--plots", metavar="DIR", help="write learning curves and other figures into DIR"
    )
    train_tables.add_arguments(p.add_argument_group("tables"))
    _checkpoint.add_arguments(p)
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu (NumPy, the default) or cuda / cuda:N: train on a GPU with CuPy if it is "
        "installed, else PyTorch's CUDA (see docs/gpu.md)",
    )
    p.add_argument(
        "--distributed",
        choices=("auto", "off", "mpi"),
        default="auto",
        help="under mpiexec -n N: train one model on the N processes (auto: when a launcher "
        "started more than one; mpi: always through mpi4py; off: never)",
    )
    p.set_defaults(run=run)


def _layers(text: str) -> list[int]:
    try:
        return arguments.int_list(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--layers ")) from None


@dataclass
class Session:
    """Everything one training run needs; extra callbacks (checkpoints) go in ``callbacks``."""

    config: dict
    dataset: object
    net: object
    callbacks: list = field(default_factory=list)
    interrupt: StopOnInterrupt = field(default_factory=StopOnInterrupt)
    #: keyword arguments added to backprop.train (e.g. state to resume from)
    train_kwargs: dict = field(default_factory=dict)
    seconds: float = 0.0
    #: the standardisation trained with (saved with the network after training) and
    #: the dataset as loaded, which the report and the saved model are measured on
    scaler: Any = None
    raw_dataset: Any = None
    header_lines: list = field(default_factory=list)
    #: the untrained network's cost (the chance-level check compares the last epoch's)
    start_cost: float | None = None


def _train_metrics(preset: str | None) -> str:
    """The preset's way of measuring the training data ("running" without a preset)."""
    from .. import presets

    return presets.get(preset).train_metrics if preset else "running"


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
            train_metrics=_train_metrics(c.get("preset")),
            **session.train_kwargs,
        )
    finally:
        session.interrupt.restore()
        for callback in session.callbacks:  # a live progress line cleared, even after an error
            if isinstance(callback, Progress):
                callback.close()
        session.seconds = time.perf_counter() - t0
        if session.net.xp is not np:  # --device cuda: report and save from the host
            session.net = session.net.to("numpy")
    return history


def run(args) -> int:
    from ..distributed import resolve

    comm = resolve(getattr(args, "distributed", "auto"))
    if comm is not None:  # mpiexec -n N: every rank trains the one model (train_mpi.py)
        from . import train_mpi

        return train_mpi.run(args, comm)
    session, preset = prepare(args)
    checkpoint = _checkpoint.setup(args, session)
    try:
        return _run(args, session, preset, checkpoint)
    finally:
        _checkpoint.release(checkpoint)


def _run(args, session: Session, preset: Any, checkpoint: Any) -> int:
    start_cost = session.start_cost = _start_cost(session)
    try:
        history = fit(session)
        _unscale(session)
    except KeyboardInterrupt:
        _unscale(session)
        # a second Ctrl-C (or one outside the main thread): when every mini-batch
        # had run, only the epoch's evaluation was lost; the weights are trained
        if not session.interrupt.batches_done:
            raise
        return _interrupted_in_evaluation(args, session, preset)
    if checkpoint is not None:
        checkpoint.prune()  # the resume worked: a run killed mid-rotation left one too many
    blown = _blown_up(history, start_cost)
    if blown and not session.interrupt.cut_short:
        kept = "; model not saved" if args.out else ""
        if args.out and Path(args.out).exists():
            kept += f" ({args.out} was left as it was)"
        print(f"backprop: error: {blown}{kept}", file=sys.stderr)
        return 1
    if session.interrupt.cut_short:
        epoch, batch = session.interrupt.where or (0, 0)
        if checkpoint is not None and checkpoint.last is not None:
            kept = f"checkpoint saved to {checkpoint.last}; add --resume to continue"
        else:
            kept = "model not saved" if args.out else "nothing saved"
        signum = session.interrupt.signum
        what = "interrupted" if signum in (None, 2) else f"terminated by {signal_name(signum)}"
        print(f"backprop: {what} at epoch {epoch}, batch {batch}; {kept}", file=sys.stderr)
        return exit_code(signum)
    return finish(args, session, preset, history)


def prepare(args) -> tuple[Session, Any]:
    """Check every flag, load the data, build the network: the session ready to train."""
    config, preset = train_config.resolve_config(args)
    train_config.check_config(config)
    output.check_out_path(args.out)
    _checkpoint.check_arguments(args)
    if args.plots:
        train_report.check_plots_dir(args.plots)
    _check_outputs(args, config)
    gpu = None if getattr(args, "device", "cpu") == "cpu" else backends.cuda(args.device)
    raw = _load_data(config, args, gpu)
    given = train_config.given_settings(args)
    raw, dataset, scaler, lines = train_tables.prepare_table(config, raw, given)
    train_config.check_data(config, dataset, given=given)
    net = train_config.build_network(config, dataset)
    if gpu is not None:
        net = net.to(gpu.name, gpu.device)  # --device cuda: the same initial weights, moved
    config["sizes"] = list(net.sizes)
    session = Session(config=config, dataset=dataset, net=net, scaler=scaler, raw_dataset=raw)
    session.header_lines = [*raw.notes, *lines]
    if not args.quiet:
        progress = Progress(sys.stderr)  # a live line on a terminal, else a line per epoch
        session.callbacks.append(progress)
        progress.write(train_report.header_fields(config, dataset, net))
        for line in session.header_lines:
            progress.write(line.split(" "), first="  ", indent="    ")
    if args.plots:
        session.callbacks.append(train_report.gradient_monitor(dataset))
    return session, preset


#: the book's split of MNIST and Fashion-MNIST: 50,000 training rows of 784 pixels, 10 classes
_IDX_TRAIN_ROWS, _IDX_SHAPE = 50_000, (784, 10)


def _load_data(config: dict, args, gpu: Any):
    """The ``--data`` dataset. When it is MNIST or Fashion-MNIST and ``engine="auto"`` will
    compile the network, a second thread loads it while this one sets numba up: loading is
    mostly gunzip and casts, outside the GIL, so the first mini-batch comes ≈ 0.2 s sooner.
    Errors are raised here, as without the thread."""
    from .. import jit

    def load():
        return train_config.load_data(config, download=args.download, base_url=args.data_url)

    if not (gpu is None and jit.available() and _compiles_on_idx_data(config)):
        return load()
    import threading

    from .. import data  # noqa: F401 - imported here, so that the loading thread imports nothing

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["data"] = load()
        except BaseException as exc:  # noqa: BLE001 - raised again in this thread below
            box["error"] = exc

    loader = threading.Thread(target=run, name="backprop-load-data", daemon=True)
    loader.start()
    jit.set_up()
    loader.join()
    if "error" in box:
        raise box["error"]
    return box["data"]


def _compiles_on_idx_data(config: dict) -> bool:
    """MNIST or Fashion-MNIST data, and a network ``engine="auto"`` compiles for."""
    from ..jit.engine import pays

    if datasets.idx_name(config["data"]) is None:
        return False
    try:
        sizes = arguments.resolve_sizes(config["layers"], *_IDX_SHAPE)
    except ConfigError:
        return False  # reported after loading, with the data's own shape
    return pays(sizes, _IDX_TRAIN_ROWS, config["batch_size"])


def finish(args, session: Session, preset: Any, history: Any) -> int:
    """Report and save a run that trained to its end; the exit code."""
    config, dataset, net = session.config, session.dataset, session.net
    # Ctrl-C after the last mini-batch: training had finished, so the run is
    # reported and saved as usual (no plots), then the command exits 130
    late_interrupt = session.interrupt.interrupted
    try:
        result = train_report.summarize(config, dataset, net, history, session.seconds, preset)
    except KeyboardInterrupt:
        return _interrupted_in_evaluation(args, session, preset, history)
    result["warnings"] = train_tables.consistent_warnings(
        train_report.warnings(history), config, preset, getattr(args, "lr", None) is not None
    )
    saved_to = _save_path(args.out, history)
    if saved_to:
        with hold_interrupts() as received:  # a Ctrl-C now waits for the model to be written
            io.save(net, saved_to, metadata=_metadata(session, result, history))
        result["out"] = str(saved_to)
        if received:
            late_interrupt = True
            session.interrupt.signum = session.interrupt.signum or received[0]
    if args.plots and not late_interrupt:
        result["plots"] = train_report.write_plots(args.plots, history, net, dataset)
    if args.json:
        output.emit_json(result)
    elif not args.quiet:
        train_report.print_results(result, preset)
    if not args.quiet:
        for warning in result["warnings"]:
            print(f"note: {warning}", file=sys.stderr)
    if history.diverged:
        saved = f"; the last good weights were saved to {saved_to}" if saved_to else ""
        if saved_to and str(saved_to) != str(args.out):
            saved += f" ({args.out} was left as it was)"
        message = _divergence_cause(history.diverged, session)
        print(f"backprop: error: {message}{saved}", file=sys.stderr)
        return 1
    chance = (
        None
        if late_interrupt
        else train_tables.chance_level(result, dataset, config["lr"], session.start_cost)
    )
    if chance:
        saved = f"; the model was saved to {saved_to} all the same" if saved_to else ""
        print(f"backprop: error: {chance}{saved}", file=sys.stderr)
        return 1
    if late_interrupt:
        print(
            "backprop: interrupted after the last mini-batch; training had finished, "
            + (f"model saved to {args.out}" if args.out else "nothing saved (no --out)")
            + ("; plots not written" if args.plots else ""),
            file=sys.stderr,
        )
        return exit_code(session.interrupt.signum)
    return 0


def _metadata(session: Session, result: dict, history: Any) -> dict:
    """The model file's metadata: the report's, and the table's preparation (task, scaler)."""
    metadata = train_report.model_metadata(result, history, session.dataset)
    metadata.update(train_tables.metadata(session.config))
    return metadata


def _unscale(session: Session) -> None:
    """After training: the network and its standardisation as one Model, which takes (and
    is reported and saved on) the data as loaded."""
    if session.scaler is not None and session.raw_dataset is not None:
        session.net = train_tables.with_scaler(session.scaler, session.net)
        session.dataset, session.raw_dataset = session.raw_dataset, None


#: a training cost this many times the untrained network's is divergence, not learning
BLOWN_UP = 1000.0


def _start_cost(session: Session) -> float | None:
    """The cost of the network before training, on up to 2,000 training rows."""
    from ..training.metrics import evaluate

    ds = session.dataset
    rows = min(len(ds.X_train), 2000)
    if rows == 0:
        return None
    with np.errstate(all="ignore"):
        cost = evaluate(session.net, ds.X_train[:rows], ds.y_train[:rows])[0]
    return float(cost) if np.isfinite(cost) and cost > 0 else None


def _blown_up(history: Any, start: float | None) -> str | None:
    """The message when the cost grew by orders of magnitude (Adam at --lr 1e10 reaches a
    finite 5e9 and 10 % accuracy): as much a divergence as a NaN."""
    costs = [c for c in history.train_cost if c is not None]
    if history.diverged or start is None or not costs or min(costs) <= BLOWN_UP * start:
        return None
    lr = history.lr[-1] if getattr(history, "lr", None) else None
    at = f" with learning rate {lr:g}" if lr else ""
    return (
        f"training diverged: the cost grew from {start:.4g} before training to "
        f"{costs[-1]:.4g} ({costs[-1] / start:.2g} times){at}. Try a lower learning rate"
        + (f", e.g. lr={lr / 1000:g}" if lr else "")
    )


def _divergence_cause(message: str, session: Session) -> str:
    """The library blames the learning rate; name the L2 penalty or the inputs instead when
    they, not the step size, overflow."""
    c, ds = session.config, session.dataset
    with np.errstate(all="ignore"):
        largest = float(np.abs(ds.X_train).max()) if ds.X_train.size else 0.0
    advice = message.rfind(". Try a lower learning rate")
    if advice < 0:
        return message
    if c.get("l2") and c["l2"] * max(c["lr"], 1e-300) >= 1:
        return (
            message[:advice] + f". The L2 penalty --l2 {c['l2']:g} is too large for it (λ·lr ≥ 1 "
            "makes the weight decay overshoot); use a much smaller --l2, such as 0.0001"
        )
    if not np.isfinite(largest) or largest > 1e6:
        return (
            message[:advice] + f". The inputs are too large (largest |x| = {largest:.3g}): scale "
            "them, for example to [0, 1] or to mean 0 and standard deviation 1"
        )
    return message


def _save_path(out: str | None, history: Any) -> Path | None:
    """Where the model goes: ``--out``, except that a diverged run never replaces an
    existing file; its last good weights go beside it, to ``NAME.diverged.safetensors``."""
    if not out:
        return None
    path = Path(out)
    if history.diverged and path.exists():
        stem = path.name.removesuffix(".safetensors")
        return path.with_name(f"{stem}.diverged.safetensors")
    return path


def _check_outputs(args, config: dict) -> None:
    """Before any work: --out is not an input and replaces only a model (or --force), and
    every output directory can be written."""
    from .._files import check_not_an_input, check_overwrite, check_writable, is_backprop_model
    from ..data import input_paths

    check_not_an_input(args.out, input_paths(config["data"]))
    check_overwrite(args.out, force=args.force, accept=is_backprop_model, kind="a backprop model")
    if args.out:
        check_writable(Path(args.out).parent, "--out")
    for flag, folder in (("--plots", args.plots), ("--checkpoint", args.checkpoint)):
        if folder:
            check_writable(Path(folder), flag)


def _interrupted_in_evaluation(args, session: Session, preset: Any, history: Any = None) -> int:
    """Ctrl-C during the evaluation that follows the last mini-batch.

    The network is fully trained, so with ``--out`` it is saved (the final
    metrics, which were not measured, are null in its metadata); exit 130.
    """
    net, dataset = session.net, session.dataset
    history = history if history is not None else session.interrupt.state.history
    saved = ""
    if args.out and all(np.isfinite(p).all() for p in net.params()):
        result = train_report.summarize(
            session.config, dataset, net, history, session.seconds, preset, evaluate_splits=False
        )
        metadata = _metadata(session, result, history)
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
