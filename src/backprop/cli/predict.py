"""``backprop predict MODEL INPUT.csv|.npz``: the predicted class of every row, as CSV."""

from __future__ import annotations

import sys

import numpy as np

from ..errors import DataError
from . import arguments, datasets, output, train_tables

DESCRIPTION = """\
Predict with a saved model. INPUT is a CSV file whose every column is a feature
(an optional header row is skipped) or an NPZ file with an array X of shape
(m, n_features). The output is CSV, one row per input row: the predicted class,
then the output layer's values a^L: class probabilities p_<class> for a softmax
output, otherwise the raw outputs a_<class>. Regression models write their
outputs y_<k>. A model trained with --standardize standardises the rows with its
stored mean and scale first (give the rows as they are), and writes a regression
target in its own units. --out writes the file atomically; without it the CSV goes to stdout.

examples:
  backprop predict mnist.safetensors images.npz --out predictions.csv
  backprop predict iris.safetensors rows.csv --json
"""


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers,
        "predict",
        help="predict classes (and probabilities) for the rows of a CSV/NPZ file",
        description=DESCRIPTION,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by `backprop train --out`")
    p.add_argument("input", metavar="INPUT", help="a .csv or .npz file of features")
    p.add_argument("--out", metavar="FILE", help="write the CSV here (default: stdout)")
    p.add_argument(
        "--force",
        action="store_true",
        help="let --out replace an existing file that is not a predictions file",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout (columns, predictions, outputs) instead of CSV",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import io
    from .._files import check_not_an_input, check_overwrite, is_predictions_file
    from ..data import read_features

    output.check_out_path(args.out, example="predictions.csv")
    check_not_an_input(args.out, [args.model, args.input])
    check_overwrite(
        args.out,
        force=args.force,
        accept=is_predictions_file,
        kind="a predictions file (a CSV written by backprop predict)",
    )
    net = io.load(args.model)  # a Model when it stores a standardisation: raw rows in
    X = read_features(args.input, n_features=net.sizes[0])
    datasets.reject_nonfinite(args.input, X)
    train_tables.warn_if_far(net, X, args.input)
    text = predictions_csv(net, X)
    if getattr(args, "json", False) and not args.out:
        output.emit_json(predictions_json(args, text))
        return 0
    if args.out:
        output.write_text(args.out, text)
        print(f"wrote {len(X):,} predictions to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return 0


def predictions_json(args, text: str) -> dict:
    """``--json``: the CSV's columns, the predicted label of each row and the outputs a^L."""
    import csv
    import io as text_io

    header, *rows = list(csv.reader(text_io.StringIO(text)))
    labelled = header[0] == "prediction"
    return {
        "command": "predict",
        "model": str(args.model),
        "input": str(args.input),
        "n_examples": len(rows),
        "columns": header,
        "predictions": [row[0] for row in rows] if labelled else None,
        "outputs": [[float(v) for v in row[labelled:]] for row in rows],
    }


def predictions_csv(net, X) -> str:
    """The CSV text: a header, then one row per example of ``X`` (m, n_0), raw rows (a
    Model standardises them with its stored mean and scale, and un-scales a target)."""
    with np.errstate(all="ignore"):  # overflow is reported below, not as RuntimeWarnings
        A = net.predict(X)  # a^L as rows, (m, n_L)
    if not np.isfinite(A).all():
        row = int(np.argwhere(~np.isfinite(A))[0][0])
        raise DataError(
            f"the model's outputs are not finite numbers for row {row + 1} (its inputs are "
            f"too large for the network, largest |x| = {float(np.abs(X[row]).max()):.3g}); "
            "scale the inputs as the training data were"
        )
    meta = net.metadata or {}
    classification = _is_classifier(net, meta)
    n_L = net.sizes[-1]
    if classification:
        labels = _class_labels(meta, n_L)
        prefix = "p_" if net.activations[-1] == "softmax" else "a_"
        header = ["prediction", *(f"{prefix}{label}" for label in labels)]
        predicted = [labels[k] for k in A.argmax(axis=1)]
    else:
        header = [f"y_{k}" for k in range(n_L)]
        predicted = None
    lines = [",".join(_csv_cell(h) for h in header)]
    for i, row in enumerate(A):
        values = [f"{v:.6g}" for v in row.tolist()]
        if predicted is not None:
            values.insert(0, _csv_cell(predicted[i]))
        lines.append(",".join(values))
    return "\n".join(lines) + "\n"


def _is_classifier(net, meta: dict) -> bool:
    data = meta.get("data") or {}
    if isinstance(data, dict) and "n_classes" in data:
        return data["n_classes"] is not None
    # no metadata: a softmax or sigmoid output over several units is read as classes
    return net.sizes[-1] > 1 and net.activations[-1] in ("softmax", "sigmoid")


def _class_labels(meta: dict, n_L: int) -> list[str]:
    for key in ("class_names", "classes"):
        labels = meta.get(key)
        if isinstance(labels, list) and len(labels) == n_L:
            return [str(v) for v in labels]
    return [str(k) for k in range(n_L)]


def _csv_cell(value) -> str:
    """One cell, safe in a spreadsheet: formulas neutralised, quoted when needed."""
    from .._csv import csv_cell

    return csv_cell(value)
