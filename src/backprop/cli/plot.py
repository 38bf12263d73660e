"""``backprop plot RUN``: draw a run's figures again, from a model file or a JSON run file.

RUN is a model written by ``backprop train --out`` (its history is in the
metadata) or the JSON object printed by ``backprop train --json``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from ..errors import BackpropError, ConfigError, DataFileError
from . import arguments, datasets

DESCRIPTION = """\
Draw learning curves, ‖δ^l‖ per layer (vanishing gradients), the share of
saturated units, and, for a model with its data, the confusion matrix and the
first-layer weights as images.

examples:
  backprop train --data digits --out model.safetensors && backprop plot model.safetensors
  backprop train --data digits --json > run.json && backprop plot run.json --out figs
"""


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers,
        "plot",
        help="draw a run's learning curves and diagnostics",
        description=DESCRIPTION,
    )
    p.add_argument("run_file", metavar="RUN", help="a model file, or a JSON file from train --json")
    p.add_argument(
        "--out",
        metavar="DIR",
        default="plots",
        help="directory for the figures, created if missing (default: plots)",
    )
    p.add_argument(
        "--format",
        default="png,svg",
        metavar="FMT",
        help="comma-separated formats: png, svg (default: png,svg)",
    )
    p.add_argument(
        "--data",
        metavar="SPEC",
        help="with a model file: data for the confusion matrix and weight images "
        "(default: the data the model was trained on, when it can be found)",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import plots
    from ..training import History

    formats = tuple(f.strip().lower() for f in args.format.split(",") if f.strip())
    bad = [f for f in formats if f not in plots.FORMATS]
    if not formats or bad:
        raise ConfigError(f"--format takes png and/or svg, such as png,svg; got {args.format!r}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a directory")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: directory {out.parent} does not exist; create it first")
    net, history_dict, data_spec = _read_run(args.run_file)
    if not history_dict:
        raise DataFileError(
            f"{args.run_file} holds no training history; plot a model saved by "
            "`backprop train --out` or the output of `backprop train --json`"
        )
    history = _history(args.run_file, history_dict, History)
    dataset = None
    if net is not None and (args.data or data_spec):
        try:
            dataset = datasets.load_dataset(args.data or data_spec)
        except BackpropError as exc:
            if args.data:
                raise
            print(f"backprop: note: no confusion matrix or weight images: {exc}", file=sys.stderr)
    out.mkdir(exist_ok=True)
    try:
        paths = plots.write_all(out, history, net=net, dataset=dataset, formats=formats)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        raise DataFileError(
            f"{args.run_file}: its history cannot be drawn ({type(exc).__name__}: {exc}); "
            "plot an unedited file from `backprop train`"[:400]
        ) from None
    for p in paths:
        print(p)
    return 0


def _history(path: str, data: object, history_type: type) -> Any:
    """The History of a run file, after checking it has the shape ``backprop train`` writes:
    an object of equally long lists of numbers (or null) per series."""

    def bad(what: str) -> DataFileError:
        return DataFileError(
            f"{path}: its training history {what}; plot an unedited file from `backprop train`"
        )

    if not isinstance(data, dict):
        raise bad("is not a JSON object")
    epochs = data.get("epoch")
    if not isinstance(epochs, list) or not epochs:
        raise bad("has no list of epochs")
    for key in history_type.SERIES:
        series = data.get(key, [])
        if not isinstance(series, list):
            raise bad(f"entry {key!r} is not a list")
        if series and len(series) != len(epochs):
            raise bad(f"entry {key!r} has {len(series)} values for {len(epochs)} epochs")
        for value in series:
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise bad(f"entry {key!r} holds {value!r}, not a finite number")
    if not isinstance(data.get("extras", {}) or {}, dict):
        raise bad("entry 'extras' is not an object")
    try:
        return history_type.from_dict(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise bad(f"cannot be read ({type(exc).__name__})") from None


def _read_run(path: str):
    """(net or None, history dict or None, data spec or None)."""
    p = Path(path)
    if not p.is_file():
        raise DataFileError(f"{path}: no such file; give a model file or a JSON run file")
    head = p.open("rb").read(1)
    if p.suffix.lower() == ".json" or head == b"{":
        try:
            doc = json.loads(p.read_text(encoding="utf-8").strip().splitlines()[-1])
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise DataFileError(
                f"{path} is not a JSON run file from `backprop train --json`: {exc}"
            ) from None
        if not isinstance(doc, dict):
            raise DataFileError(f"{path} is not a JSON object from `backprop train --json`")
        configuration = doc.get("configuration")
        spec = configuration.get("data") if isinstance(configuration, dict) else None
        return None, doc.get("history"), spec if isinstance(spec, str) else None
    from .. import io

    net = io.load(path)
    meta = net.metadata or {}
    spec = meta.get("data_spec")
    return net, meta.get("history"), spec if isinstance(spec, str) else None
