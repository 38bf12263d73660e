"""Tables as a practitioner has them: text labels, pandas' index column, the task, scaling.

* :func:`read_labelled_csv` reads a CSV whose label column may hold text (``setosa``),
  drops an unnamed leading index column (what ``DataFrame.to_csv`` writes) with a
  note, and hints at ``;``-separated decimal-comma files.
* :func:`choose_task` decides classification or regression (``task="auto"``: regression
  for a non-integer target or one with many distinct values relative to the rows) and
  converts the :class:`Dataset` when it was read the other way.
* :func:`fit_standardizer` and :func:`standardize`: a
  :class:`~backprop.preprocessing.Standardizer` (per-feature mean and scale, and for
  regression the target's) fitted on a Dataset's training split, and the Dataset
  standardised for training. The model file keeps it beside the network as trained
  (:class:`backprop.Model`), and predict, evaluate, explain and the ONNX export apply it.
* :func:`range_warning` says when rows lie far outside the training inputs.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, DataFileError
from ..preprocessing import Standardizer
from ..types import Array
from .dataset import Dataset

__all__ = [
    "TASKS",
    "Standardizer",
    "choose_task",
    "fit_standardizer",
    "input_stats",
    "range_warning",
    "read_labelled_csv",
    "standardize",
]

TASKS = ("auto", "classification", "regression")
#: auto: an integer target with more distinct values than this (and than MANY_FRACTION of
#: the rows) is read as a regression target, not as that many classes
MANY_CLASSES = 20
MANY_FRACTION = 0.05
#: inputs this many training standard deviations (or ranges) away are reported
FAR = 10.0


# --------------------------------------------------------------------------- reading


def read_labelled_csv(
    raw: bytes, name: str, label_column: Any
) -> tuple[list[str] | None, Array, int, Array | None, list[str]]:
    """(header, table, label index, text labels or None, notes) of CSV bytes.

    ``table`` is float64 (rows, columns) with the label column's cells NaN when they
    are text (then ``text labels`` holds them, shape (rows,)). An unnamed first
    column of distinct whole numbers (pandas' index) is dropped with a note.
    Errors are :func:`~backprop.data.tabular.read_csv_table`'s, with a hint for
    decimal-comma files.
    """
    from .tabular import _label_index, read_csv_table

    notes: list[str] = []
    try:
        header, table = read_csv_table(raw, name)
        labels = None
    except DataFileError:
        raise  # not a table at all (empty, binary, malformed quoting)
    except DataError as exc:
        header, table, labels = _with_text_labels(raw, name, label_column, exc)
    if header is not None and header[0] in ("", "Unnamed: 0") and _is_index(table[:, 0]):
        table = table[:, 1:]
        header = header[1:]
        notes.append(
            f"{name}: the first column has no name and counts the rows (a pandas index); dropped it"
        )
        if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
            label_column = label_column - 1 if label_column > 0 else label_column
    if table.shape[1] < 2:
        raise DataError(
            f"{name}: has {table.shape[1]} column; it needs at least one feature column and "
            "a label column"
        )
    col = _label_index(label_column, header, table.shape[1], name)
    return header, table, col, labels, notes


def _is_index(column: Array) -> bool:
    values = column[np.isfinite(column)]
    return (
        values.size == column.size
        and bool(np.all(values == np.round(values)))
        and len(np.unique(values)) == len(values)
        and (values.min() in (0, 1))
        and values.max() - values.min() == len(values) - 1
    )


def _with_text_labels(
    raw: bytes, name: str, label_column: Any, error: DataError
) -> tuple[list[str] | None, Array, Array]:
    """The table when exactly the label column holds text; else ``error`` (with a hint)."""
    from .tabular import _cell_float, _label_index

    text = raw.decode("utf-8-sig", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise error
    first = lines[0]
    head = "\n".join(lines[:3])
    if ";" in head and re.search(r"\d,\d", head):
        raise DataError(
            f"{error} (the file looks ';'-separated with decimal commas; convert it to "
            "plain CSV first, e.g. pandas.read_csv(path, sep=';', decimal=',').to_csv(out, "
            "index=False))"
        ) from None
    delimiter = "," if "," in first else "\t" if "\t" in first else ";" if ";" in first else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    header = None
    if all(_cell_float(c) is None for c in rows[0]):
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    width = len(header or rows[0])
    if not rows or any(len(r) != width for r in rows):
        raise error
    col = _label_index(label_column, header, width, name)
    table = np.full((len(rows), width), np.nan)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if c == col:
                continue
            x = _cell_float(cell)
            if x is None or not np.isfinite(x):
                raise error
            table[r, c] = x
    labels = np.array([row[col].strip() for row in rows])
    # text labels: every one a name (none empty, none a number such as 'inf' or '3')
    if any(label == "" or _cell_float(label) is not None for label in labels):
        raise error
    return header, table, labels


# --------------------------------------------------------------------------- the task


def choose_task(dataset: Dataset, task: str = "auto") -> tuple[Dataset, str, str]:
    """``(dataset, task, why)``: the data as a classification or regression problem.

    ``task="auto"`` keeps what the loader read unless an integer target has more than
    ``MANY_CLASSES`` distinct values and more than ``MANY_FRACTION`` of the rows (a
    count or a measurement such as diabetes' 214 values in 442 rows): that becomes
    regression. ``"classification"`` turns an integer regression target into classes;
    ``"regression"`` turns numeric classes into one float target.
    """
    if task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}; got {task!r}")
    classes = dataset.classes
    if dataset.n_classes is None:
        if task == "classification":
            return _as_classes(dataset), "classification", "--task classification"
        why = "the target is not whole numbers" if task == "auto" else "--task regression"
        return dataset, "regression", why
    k = int(dataset.n_classes)
    rows = sum(len(y) for y in (dataset.y_train, dataset.y_val, dataset.y_test))
    numeric = classes is not None and np.asarray(classes).dtype.kind in "biuf"
    if task == "regression" or (
        task == "auto" and numeric and k > MANY_CLASSES and k > MANY_FRACTION * rows
    ):
        if not numeric:
            raise ConfigError(
                f"{dataset.name}: the labels are text, so they cannot be a regression target; "
                "use --task classification (or auto)"
            )
        why = (
            "--task regression"
            if task == "regression"
            else f"the target has {k} distinct values in {rows} rows; "
            "--task classification to treat them as classes"
        )
        return _as_target(dataset), "regression", why
    why = "--task classification" if task == "classification" else f"{k} distinct labels"
    return dataset, "classification", why


def _as_target(ds: Dataset) -> Dataset:
    values = np.asarray(ds.classes, dtype=np.float32)

    def target(y: Array) -> Array:
        return values[np.asarray(y, dtype=np.int64)].reshape(-1, 1)

    return replace(
        ds,
        y_train=target(ds.y_train),
        y_val=target(ds.y_val),
        y_test=target(ds.y_test),
        n_classes=None,
        classes=None,
    )


def _as_classes(ds: Dataset) -> Dataset:
    parts = [ds.y_train, ds.y_val, ds.y_test]
    if any(y.ndim == 2 and y.shape[1] != 1 for y in parts):
        raise ConfigError(f"{ds.name}: --task classification needs one target column")
    flat = np.concatenate([y.reshape(-1) for y in parts])
    if not np.all(flat == np.round(flat)):
        raise ConfigError(
            f"{ds.name}: --task classification needs whole-number labels; the target has "
            "fractions (use --task regression or auto)"
        )
    classes, index = np.unique(flat, return_inverse=True)
    bounds = np.cumsum([0] + [len(y) for y in parts])
    y_train, y_val, y_test = (index[bounds[i] : bounds[i + 1]] for i in range(3))
    return replace(
        ds,
        y_train=y_train.astype(np.int64),
        y_val=y_val.astype(np.int64),
        y_test=y_test.astype(np.int64),
        n_classes=len(classes),
        classes=classes.astype(np.int64),
    )


# --------------------------------------------------------------------------- scaling


def fit_standardizer(dataset: Dataset, *, target: bool) -> Standardizer:
    """The training split's per-feature mean and scale (the target's too when ``target``)."""
    return Standardizer.fit(dataset.X_train, dataset.y_train if target else None)


def standardize(dataset: Dataset, scaler: Standardizer) -> Dataset:
    """The dataset with standardised features (and targets): what the network trains on."""

    def x(X: Array) -> Array:
        return scaler.transform(X).astype(np.float32) if len(X) else X

    def y(Y: Array) -> Array:
        return scaler.transform_target(Y).astype(np.float32) if scaler.target and len(Y) else Y

    return replace(
        dataset,
        X_train=x(dataset.X_train),
        X_val=x(dataset.X_val),
        X_test=x(dataset.X_test),
        y_train=y(dataset.y_train),
        y_val=y(dataset.y_val),
        y_test=y(dataset.y_test),
    )


def input_stats(X: Array) -> dict[str, float]:
    """The training inputs' overall range, for :func:`range_warning` on images/IDX."""
    X = np.asarray(X)
    return {"min": float(X.min()), "max": float(X.max())} if X.size else {}


def range_warning(
    meta: dict[str, Any], X: Array, name: str, standardizer: Standardizer | None = None
) -> str | None:
    """A one-line note when the raw rows ``X`` lie far outside the training inputs, else None.

    Far: more than ``FAR`` training standard deviations from a feature's mean (models
    trained with standardisation: the model's ``standardizer``, or the statistics a
    model folded them into kept in its metadata), or beyond ``FAR`` times the training
    range (e.g. 0–255 pixels against a model trained on [0, 1]). Both compare raw
    inputs with raw training statistics.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.size == 0:
        return None
    scaler = meta.get("standardize")
    if standardizer is not None:
        scaler = {"mean": standardizer.mean, "scale": standardizer.scale}
    if isinstance(scaler, dict) and len(scaler.get("mean", [])) == X.shape[1]:
        z = np.abs(X - np.asarray(scaler["mean"])) / np.asarray(scaler["scale"])
        if z.max() > FAR:
            r, c = np.unravel_index(int(z.argmax()), z.shape)
            return (
                f"{name}: row {r + 1}, column {c + 1} is {z.max():.0f} standard deviations from "
                "the training data's mean; the predictions there are extrapolation (were "
                "the inputs scaled differently?)"
            )
        return None
    stats = meta.get("input_stats")
    if isinstance(stats, dict) and "min" in stats and "max" in stats:
        lo, hi = float(stats["min"]), float(stats["max"])
        width = max(hi - lo, 1e-12)
        if X.min() < lo - FAR * width or X.max() > hi + FAR * width:
            return (
                f"{name}: inputs range over [{X.min():.4g}, {X.max():.4g}] but the model was "
                f"trained on [{lo:.4g}, {hi:.4g}]; scale them the same way (e.g. pixels / 255)"
            )
    return None
