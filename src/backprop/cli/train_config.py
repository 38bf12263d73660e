"""``backprop train``'s settings: defaults < ``--preset`` < flags, checked before any work.

Then the data the settings name, and a fresh network that fits it. Every error
names the flag to change. Validation decisions are :mod:`backprop.validation`'s
and the activation, cost, initialiser and schedule registries'; this module only
words them with the flag and an example.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import validation
from ..errors import ConfigError, DataError
from . import arguments, datasets

__all__ = [
    "DEFAULTS",
    "OPTIMIZERS",
    "build_network",
    "check_config",
    "check_data",
    "given_settings",
    "load_data",
    "resolve_config",
]

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
    "task": "auto",
    "standardize": None,
}

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")


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


def given_settings(args) -> set[str]:
    """The settings named on the command line or by the preset (not left to DEFAULTS)."""
    from .. import presets

    given = {key for key in DEFAULTS if getattr(args, key, None) is not None}
    if getattr(args, "preset", None):
        given |= set(presets.get(args.preset).config)
    return given


def check_config(config: dict) -> None:
    """Reject impossible settings before loading data: each message names the flag.

    The decisions are :mod:`backprop.validation`'s; the CLI words them with the
    flag and an example (docs/cli.md quotes these messages).
    """
    from .. import activations, costs, init, schedules

    c = config
    _worded(
        f"--lr must be positive, such as 0.1; got {c['lr']}", validation.positive_float, c["lr"]
    )
    _worded(
        f"--batch-size must be a positive whole number, such as 32; got {c['batch_size']}",
        validation.positive_int,
        c["batch_size"],
    )
    _worded(
        f"--epochs must be a positive whole number, such as 10; got {c['epochs']}",
        validation.positive_int,
        c["epochs"],
    )
    validation.number_in_range("--l2", c["l2"], 0.0, math.inf, "≥ 0")
    _worded(
        f"--dropout is a probability in [0, 1), got {c['dropout']}",
        validation.fraction,
        c["dropout"],
    )
    validation.fraction("--momentum", c["momentum"])
    if c["patience"] is not None:
        _worded(
            f"--patience must be at least 1 epoch, got {c['patience']}",
            validation.positive_int,
            c["patience"],
        )
    validation.choice("optimizer", c["optimizer"], OPTIMIZERS)
    costs.get(c["cost"]).check(activations.get(c["output"]))
    seed = c.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise ConfigError(f"--seed must be a whole number ≥ 0, such as 0 or 42; got {seed}")
    activations.get(c["activation"])
    init.get(c["init"])
    validation.dtype(c["dtype"])
    schedules.get(c["schedule"])


def _worded(message: str, check: Callable[[str, Any], object], value: Any) -> None:
    """``check(name, value)`` from :mod:`backprop.validation`, its error worded as ``message``."""
    try:
        check(message.split()[0], value)
    except ConfigError:
        raise ConfigError(message) from None


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
    _check_classes(config, dataset)
    if config["patience"] is not None and not datasets.has_rows(dataset.X_val):
        raise ConfigError(
            "--patience needs validation data; add --validation-fraction 0.1 (or use a "
            "dataset with its own validation split, such as mnist)"
        )


#: most classes a label column may have (a column of ids or prices is not a label)
MAX_CLASSES = 10_000


def _check_classes(config: dict, dataset) -> None:
    """A classifier needs ≥ 2 classes, at most MAX_CLASSES, and one-hot targets that fit."""
    from .._files import format_bytes, size_limit

    k, m = dataset.n_classes, int(dataset.X_train.shape[0])
    if k is None:
        return
    where = f"{config['data']}: the label column"
    rows = m + len(dataset.X_val) + len(dataset.X_test)
    if k < 2:
        raise DataError(
            f"{where} holds a single class in {rows} row{'s' if rows != 1 else ''}; a classifier "
            "needs examples of at least 2 classes (is --label-column the right column?)"
        )
    one_hot = m * k * 8
    cap = size_limit(GIB_4)[0]
    if k > MAX_CLASSES or one_hot > cap // 2:
        raise DataError(
            f"{where} has {k:,} distinct values, more than a classifier can use (the limit is "
            f"{MAX_CLASSES:,} classes; its one-hot targets would take {format_bytes(one_hot)}); "
            "is --label-column the right column? For numeric targets use --output identity "
            "--cost quadratic on non-integer values"
        )


GIB_4 = 4 << 30
#: arrays of the parameters' size that training holds: weights, gradients, last good copy
_PARAM_COPIES = 3
_OPTIMIZER_COPIES = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2}


def check_memory(config: dict, sizes: list[int]) -> None:
    """Refuse, before allocating, a network whose training would not fit in memory."""
    from .._files import format_bytes, size_limit

    n_params = sum(sizes[l] * sizes[l - 1] + sizes[l] for l in range(1, len(sizes)))
    itemsize = 8 if config["dtype"] == "float64" else 4
    copies = _PARAM_COPIES + _OPTIMIZER_COPIES.get(config["optimizer"], 2)
    need = n_params * itemsize * copies + 4 * config["batch_size"] * sum(sizes) * itemsize
    cap, phrase = size_limit(1 << 50)
    if need > cap:
        raise ConfigError(
            f"--layers {','.join(map(str, sizes))}: {n_params:,} parameters; training them "
            f"({config['dtype']}, {config['optimizer']}) needs about {format_bytes(need)}, more "
            f"than {phrase}; use smaller layers"
        )


def build_network(config: dict, dataset):
    """A fresh network whose input and output layers fit ``dataset``."""
    from ..network import Network

    sizes = arguments.resolve_sizes(config["layers"], dataset.n_features, dataset.n_outputs)
    check_memory(config, sizes)
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
