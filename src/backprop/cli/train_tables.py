"""``backprop train`` on tables: the task, standardisation and the small-table defaults.

The decisions are the library's (:mod:`backprop.data.tables`); this module applies
them to a run's settings and says what it chose, and why, for the header.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from ..data import tables
from ..data.tables import TASKS, choose_task, fit_standardizer, input_stats

__all__ = ["SMALL_TABLE_STEPS", "add_arguments", "prepare_table", "with_scaler"]

#: small tables: epochs are chosen so that training runs about this many mini-batches
#: (iris needs ~2,000 Adam steps; 30 epochs of its 105 rows are 120), between
#: DEFAULT_EPOCHS and MAX_EPOCHS, and early stopping restores the best epoch
SMALL_TABLE_STEPS = 3000
MAX_EPOCHS = 1000
DEFAULT_EPOCHS = 30
#: small tables: L2 λ (the cost's (λ/2n)‖w‖²) when --l2 is not given; with a few hundred
#: rows, 100 hidden units otherwise fit the noise of regression targets (diabetes' test R²
#: 0.39 without, 0.53 with) and it costs classification nothing (iris, wine, breast-cancer)
SMALL_TABLE_L2 = 5.0
#: a table with at most this many training rows gets the small-table defaults
SMALL_TABLE_ROWS = 10_000


def add_arguments(group: Any) -> None:
    """``--task`` and ``--standardize`` into an argparse group (defaults None: resolved later)."""
    group.add_argument(
        "--task",
        choices=TASKS,
        help="classification or regression (default: auto: regression for a target that is "
        "not whole numbers or has many distinct values for the rows)",
    )
    group.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        help="scale every feature to mean 0, standard deviation 1 (and a regression target) "
        "with the training split's statistics, stored in the model (default: on for CSV/NPZ "
        "tables, off for digits and IDX images)",
    )


def prepare_table(config: dict, dataset: Any, given: set[str]) -> tuple[Any, Any, Any, list[str]]:
    """``(dataset, dataset to train on, Standardizer or None, header lines)``.

    The first is the data as loaded with the task's targets (what the run is reported
    and the model saved on), the second the same standardised when it is.

    ``config['task']`` becomes the task chosen; ``config['standardize']`` True or False;
    ``epochs`` and ``patience`` on a small table when neither was given.
    """
    requested = config.get("task") or "auto"
    dataset, task, why = choose_task(dataset, requested)
    config["task"] = task
    lines = [f"task: {task} ({why})"]
    # a preset is the book's run on the book's (unscaled) inputs: no table defaults for it
    table = (
        dataset.image_shape is None
        and dataset.name not in ("digits",)
        and not _idx(config)
        and not config.get("preset")
    )
    standardize = config.get("standardize")
    if standardize is None:
        standardize = table
        state = "on (a table)" if table else "off (image data)"
        lines.append(f"standardize: {state}; --{'no-' * table}standardize to change")
    config["standardize"] = bool(standardize)
    config["input_stats"] = input_stats(dataset.X_train)
    scaler, raw = None, dataset
    if standardize:
        # check_data gives regression an identity output unless --output/--cost were given;
        # a target is scaled only through an identity output (un-scaled exactly after it)
        linear = "output" not in given or config["output"] == "identity"
        scaler = fit_standardizer(dataset, target=task == "regression" and linear)
        dataset = tables.standardize(dataset, scaler)
    if table:
        lines += _small_table_defaults(config, dataset, given)
    return raw, dataset, scaler, lines


def _idx(config: dict) -> bool:
    from .datasets import idx_name

    return idx_name(config["data"]) is not None


def _small_table_defaults(config: dict, dataset: Any, given: set[str]) -> list[str]:
    """Epochs from the data size, and L2 regularisation, when they were not chosen.

    Early stopping is not chosen for the user: a small table's validation split (15 rows
    of iris) moves in steps of several points, and restoring its first best epoch cost
    wine 5 points of test accuracy in the comparison of tests/cli/test_tables.py.
    """
    n = len(dataset.X_train)
    if n > SMALL_TABLE_ROWS:
        return []
    lines = []
    if "epochs" not in given:
        batches = max(1, math.ceil(n / config["batch_size"]))
        epochs = min(MAX_EPOCHS, max(DEFAULT_EPOCHS, math.ceil(SMALL_TABLE_STEPS / batches)))
        if epochs != config["epochs"]:
            config["epochs"] = epochs
            lines.append(
                f"epochs: {epochs} (about {SMALL_TABLE_STEPS:,} mini-batches of {n:,} rows); "
                "--epochs to change"
            )
    if "l2" not in given and not config["l2"]:
        config["l2"] = SMALL_TABLE_L2
        lines.append(f"l2: {SMALL_TABLE_L2:g} (a small table); --l2 0 to change")
    return lines


def with_scaler(scaler: Any, net: Any) -> Any:
    """After training: the network as trained and its standardisation, one
    :class:`backprop.Model` that takes raw rows (and is saved with the scaler)."""
    from ..model import Model

    return net if scaler is None else Model(net, scaler)


def metadata(config: dict) -> dict[str, Any]:
    """What the model file keeps of the table's preparation (the standardisation itself
    is stored as tensors beside the weights)."""
    doc: dict[str, Any] = {"task": config.get("task"), "input_stats": config.get("input_stats")}
    spec = config["data"]
    if isinstance(spec, str) and absolute_spec(spec) != spec:  # evaluate from any folder
        doc["data_spec"], doc["data_spec_relative"] = absolute_spec(spec), spec
    return doc


def model_task(meta: dict[str, Any], dataset: Any) -> Any:
    """``dataset`` read as the model's task (a model trained before --task: as loaded)."""
    task = meta.get("task") if isinstance(meta, dict) else None
    if task not in ("classification", "regression"):
        return dataset
    return choose_task(dataset, task)[0]


def regression_scores(net: Any, dataset: Any, X: Any, y: Any) -> dict[str, Any]:
    """``rmse``, ``mae``, ``r2`` of a regression model on (X, y); None for classification."""
    from ..training.metrics import regression_metrics

    if dataset.n_classes is not None:
        return {"rmse": None, "mae": None, "r2": None}
    return regression_metrics(y, net.predict(X))


def warn_if_far(model: Any, X: Any, name: str) -> None:
    """A ``note:`` on stderr when the raw rows ``X`` lie far outside the model's training
    inputs (its stored standardisation, or the statistics in its metadata)."""
    import sys

    from ..data.tables import range_warning

    meta = model.metadata if isinstance(model.metadata, dict) else {}
    note = range_warning(meta, X, name, getattr(model, "standardizer", None))
    if note:
        print(f"note: {note}", file=sys.stderr)


def absolute_spec(spec: str) -> str:
    """A CSV/NPZ spec as an absolute path (so evaluate works from any folder); others as given."""
    from pathlib import Path

    path = Path(spec).expanduser()
    if path.suffix.lower() in (".csv", ".npz") and not path.is_absolute():
        return str(path.resolve())
    return spec


def model_data_spec(model: str, meta: dict[str, Any], given: str | None) -> str | None:
    """The data spec evaluate uses: ``--data``, else the model's absolute path, else its
    relative one; a CSV/NPZ path found in neither place is a ConfigError saying so."""
    from pathlib import Path

    from ..errors import ConfigError

    if given:
        return given
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    stored = meta.get("data_spec") or (training or {}).get("data")
    relative = meta.get("data_spec_relative")
    candidates = [s for s in (stored, relative) if isinstance(s, str) and s]
    if not candidates:
        return stored
    for spec in candidates:
        path = Path(spec).expanduser()
        if path.suffix.lower() not in (".csv", ".npz") or path.exists():
            return spec
    raise ConfigError(f"the model's training data '{candidates[0]}' was not found; pass --data")


#: a classifier whose training accuracy is within this of the most common class's share
#: learned nothing (``--lr 1000``: 10 % on ten balanced digits)
CHANCE_MARGIN = 0.02


def chance_level(
    result: dict[str, Any], dataset: Any, lr: float, start_cost: float | None = None
) -> str | None:
    """The error line for a classifier that ended at chance level, else None.

    Chance level: the training accuracy no better than the most common class's share and
    the training cost at the last epoch no lower than the untrained network's
    (``start_cost``; else the first epoch's), so a short run still learning is not flagged.
    """
    acc = result.get("train_accuracy")
    costs = [c for c in (result.get("history") or {}).get("train_cost") or [] if c is not None]
    if dataset.n_classes is None or acc is None or len(dataset.y_train) == 0:
        return None
    reference = start_cost if start_cost is not None else (costs[0] if len(costs) > 1 else None)
    if not costs or reference is None or costs[-1] < 0.99 * reference:
        return None
    counts = np.bincount(np.asarray(dataset.y_train, dtype=np.int64), minlength=dataset.n_classes)
    majority = float(counts.max() / counts.sum())
    if majority >= 1.0 - CHANCE_MARGIN or acc > majority + CHANCE_MARGIN:
        return None
    return (
        f"the run ended at chance level: training accuracy {100 * acc:.1f} %, no better than "
        f"always answering the most common class ({100 * majority:.1f} %); nothing was "
        f"learned: try a lower --lr (now {lr:g}) or more --epochs"
    )


def consistent_warnings(
    warnings: list[str], config: dict[str, Any], preset: Any, lr_given: bool
) -> list[str]:
    """The diagnostics that make sense for this run.

    A preset's own learning rate (not overridden by ``--lr``) is never called too high:
    the preset is the book's setting, met or not by design (nielsen-ch1's η = 3). Inputs
    already in [0, 1] (or standardised) are never told to be scaled to [0, 1].
    """
    preset_lr = preset is not None and "lr" in getattr(preset, "config", {}) and not lr_given
    stats = config.get("input_stats") or {}
    in_range = bool(config.get("standardize")) or (
        stats.get("min", -1.0) >= 0.0 and stats.get("max", 2.0) <= 1.0
    )
    kept = []
    for warning in warnings:
        if preset_lr and "learning rate" in warning and "too high" in warning:
            continue
        if in_range:
            warning = warning.replace(" or the inputs to [0, 1]", "")
        kept.append(warning)
    return kept
