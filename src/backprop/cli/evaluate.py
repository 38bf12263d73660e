"""``backprop evaluate MODEL --data SPEC``: accuracy, cost and confusion matrix."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from . import arguments, datasets, output, train_tables

DESCRIPTION = """\
Evaluate a saved model on a dataset's test split (or --split val/train): accuracy,
cost, and the confusion matrix (rows: true class, columns: predicted class); RMSE,
MAE and R² for regression. A model trained with --standardize standardises the rows
with its stored mean and scale (the cost is its network's, on the data as trained).

The split is drawn with the seed and the validation and test fractions saved in
the model, so the test examples of a CSV/NPZ file are the same ones the model
never saw.

examples:
  backprop evaluate mnist.safetensors --data mnist:~/data/mnist
  backprop evaluate model.safetensors --data table.csv --json
"""

SPLITS = {"test": "test", "val": "validation", "train": "training"}


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers,
        "evaluate",
        help="accuracy, cost and confusion matrix of a model on a dataset",
        description=DESCRIPTION,
    )
    p.add_argument("model", metavar="MODEL", help="a model file written by `backprop train --out`")
    p.add_argument(
        "--data",
        metavar="SPEC",
        default=None,
        help="digits, mnist[:DIR], fashion-mnist[:DIR] or a .csv/.npz file "
        "(default: the data the model was trained on)",
    )
    arguments.add_label_column_argument(
        p, help="CSV label column: a header name or an index (default: the model's)"
    )
    arguments.add_download_arguments(p)
    p.add_argument(
        "--split", choices=tuple(SPLITS), default="test", help="which split (default: test)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import io

    net = io.load(args.model)
    dataset, spec = load_split(args, net)
    X = getattr(dataset, f"X_{args.split}")
    y = getattr(dataset, f"y_{args.split}")
    check_fits(net, dataset, str(args.model), spec)
    if not datasets.has_rows(X):
        raise DataError(
            f"{spec} has no {SPLITS[args.split]} examples; choose another --split"
            + (" or train with --validation-fraction" if args.split == "val" else "")
        )
    train_tables.warn_if_far(net, X, spec)
    result = measure(args, net, dataset, X, y)
    if args.json:
        output.emit_json(result)
    else:
        print_result(args, result, dataset, len(X))
    return 0


def load_split(args, net) -> tuple:
    """The dataset ``--data`` names (default: the model's), split as the model was trained."""
    from ..errors import ConfigError

    meta = net.metadata or {}
    training = _model_settings(args.model, meta)
    spec = train_tables.model_data_spec(args.model, meta, args.data)
    if not spec:
        raise ConfigError(
            f"{args.model} does not say what data it was trained on; give --data SPEC"
        )
    if not isinstance(spec, str):
        raise ConfigError(
            f"{args.model}: its metadata names its data as {spec!r}, not a data spec; "
            "give --data SPEC"
        )
    label_column = args.label_column
    if label_column is None:
        label_column = training.get("label_column")
    # the split the model was trained with: same seed and fractions (test_fraction
    # only where it applies, so a model trained on a CSV can be tried on MNIST)
    test_fraction = training.get("test_fraction")
    if datasets.idx_name(spec) is not None:
        test_fraction = None
    dataset = datasets.load_dataset(
        spec,
        label_column=label_column,
        validation_fraction=training.get("validation_fraction"),
        test_fraction=test_fraction,
        seed=training.get("seed", 0),
        download=args.download,
        base_url=args.data_url,
    )
    return train_tables.model_task(meta, dataset), spec


def _model_settings(model: str, meta: dict) -> dict:
    """The model's ``training`` settings, each checked: the values come from the file, so
    a bad one is named as the model's (not as a flag the user never gave)."""
    from ..errors import ConfigError

    training = meta.get("training")
    if not isinstance(training, dict):
        return {}

    def refuse(key: str, value: object, want: str) -> ConfigError:
        return ConfigError(
            f"{model}: its metadata says {key} {value!r}, which is not {want}; the file's "
            "metadata is damaged: save the model again with net.save(path, metadata=...)"
        )

    for key in ("validation_fraction", "test_fraction"):
        value = training.get(key)
        if value is not None and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1
        ):
            raise refuse(key, value, "a fraction in [0, 1)")
    seed = training.get("seed", 0)
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise refuse("seed", seed, "a non-negative whole number")
    column = training.get("label_column")
    if column is not None and (not isinstance(column, (int, str)) or isinstance(column, bool)):
        raise refuse("label_column", column, "a column number or name")
    return training


def measure(args, net, dataset, X, y) -> dict:
    """The command's JSON result: cost, accuracy and confusion matrix from the library."""
    from ..training import evaluate
    from ..training.metrics import confusion_matrix, predicted_classes

    cost, accuracy = evaluate(net, X, y)
    result = {
        "command": "evaluate",
        "model": str(args.model),
        "data": dataset.summary(),
        "split": args.split,
        "n_examples": int(len(X)),
        "cost": cost,
        "accuracy": None,
        "confusion_matrix": None,
        "same_data_as_training": None,
    }
    data = (net.metadata or {}).get("data")
    fingerprint = data.get("fingerprint") if isinstance(data, dict) else None
    if fingerprint:
        result["same_data_as_training"] = fingerprint == dataset.fingerprint
    if dataset.n_classes is not None:
        predicted = predicted_classes(net.predict(X))  # argmax a^L
        result["accuracy"] = accuracy
        result["confusion_matrix"] = confusion_matrix(y, predicted, dataset.n_classes).tolist()
        result["classes"] = _labels(dataset)
    result.update(train_tables.regression_scores(net, dataset, X, y))  # rmse, mae, r2
    return result


def print_result(args, result: dict, dataset, n: int) -> None:
    """The table and the confusion matrix, as ``backprop evaluate`` prints them."""
    d = dataset.summary()
    print(f"{args.model} on {d['name']}: {SPLITS[args.split]} split, {n:,} examples")
    if result["same_data_as_training"] is False:
        print("note: this is not the data the model was trained on (different fingerprint)")
    rows = [("cost", f"{result['cost']:.6f}")]
    if result.get("r2") is not None:
        rows[:0] = [(key.upper() if key != "r2" else "R²", f"{result[key]:.4g}")
                    for key in ("rmse", "mae", "r2")]  # fmt: skip
    if result["accuracy"] is not None:
        confusion = np.asarray(result["confusion_matrix"])
        correct = int(np.trace(confusion))
        rows.insert(0, ("accuracy", f"{output.percent(result['accuracy'])}  ({correct:,}/{n:,})"))
    output.print_table(rows)
    if result["confusion_matrix"] is not None:
        print("\nconfusion matrix (rows: true class, columns: predicted class)")
        print(format_confusion(np.asarray(result["confusion_matrix"]), result["classes"]))


def check_fits(net, dataset, model: str, spec: str) -> None:
    """A DataError when the data's feature or output count does not fit the network."""
    if dataset.n_features != net.sizes[0]:
        raise DataError(
            f"{model} takes {net.sizes[0]} features but {spec} has {dataset.n_features}; "
            "evaluate it on data shaped like its training data"
        )
    if dataset.n_outputs != net.sizes[-1]:
        kind = "classes" if dataset.n_classes is not None else "target columns"
        raise DataError(
            f"{model} has {net.sizes[-1]} outputs but {spec} has {dataset.n_outputs} {kind}; "
            "evaluate it on data shaped like its training data"
        )


def format_confusion(confusion: np.ndarray, labels) -> str:
    labels = [str(c) for c in labels]
    rows = [[label, *map(str, row)] for label, row in zip(labels, confusion)]
    return output.format_table(rows, headers=["true \\ pred", *labels])


def _labels(dataset) -> list:
    if dataset.class_names is not None:
        return list(dataset.class_names)
    if dataset.classes is not None:
        return output.jsonable(list(dataset.classes))
    return list(range(dataset.n_classes))
