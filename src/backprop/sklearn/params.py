"""The estimators' parameters, checked when ``fit`` runs (scikit-learn's convention)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .. import activations, costs, optimizers, validation
from .. import init as inits
from ..errors import ConfigError

__all__ = ["check_settings"]


def check_settings(est: Any) -> dict[str, Any]:
    """The estimator's parameters, checked (scikit-learn style: in fit, not __init__).

    Each check is :mod:`backprop.validation`'s or a registry's; messages name the
    parameter as scikit-learn users write it.
    """
    hidden = est.hidden_layer_sizes
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    if (
        isinstance(hidden, str)
        or not hasattr(hidden, "__iter__")
        or not all(isinstance(n, numbers.Integral) and n >= 1 for n in hidden)
    ):
        raise ConfigError(
            f"hidden_layer_sizes must be a tuple of positive integers like (100,), "
            f"got {est.hidden_layer_sizes!r}"
        )
    hidden = tuple(int(n) for n in hidden)
    if est.activation not in activations.HIDDEN:
        raise ConfigError(
            f"activation must be one of {', '.join(activations.HIDDEN)}, got {est.activation!r}"
        )
    output = est._default_output if est.output is None else est.output
    activations.get(output)  # an unknown name raises ConfigError listing the valid ones
    cost = est._default_cost if est.cost is None else est.cost
    costs.get(cost)
    if est.optimizer not in optimizers.OPTIMIZERS:
        raise ConfigError(
            f"optimizer must be one of {', '.join(optimizers.OPTIMIZERS)}, got {est.optimizer!r}"
        )
    if est.init not in inits.INITIALIZERS:
        raise ConfigError(f"init must be one of {', '.join(inits.INITIALIZERS)}, got {est.init!r}")
    if not isinstance(est.standardize, (bool, np.bool_)):
        raise ConfigError(f"standardize must be True or False, got {est.standardize!r}")
    epochs = est.max_epochs if est.max_iter is None else est.max_iter
    l2 = est.l2 if est.alpha is None else est.alpha
    return {
        "hidden": hidden,
        "output": output,
        "cost": cost,
        "dtype": validation.dtype(est.dtype),
        "lr": validation.positive_float("learning_rate", _real("learning_rate", est.learning_rate)),
        "epochs": validation.positive_int("max_epochs (max_iter)", epochs),
        "l2": _non_negative("l2 (alpha)", l2),
        "dropout": validation.fraction("dropout", _real("dropout", est.dropout)),
        "validation_fraction": _open_fraction("validation_fraction", est.validation_fraction),
        "patience": validation.positive_int("patience", est.patience),
        # "auto": scikit-learn's min(200, n_samples); any size is capped at n_samples
        "batch_size": 200
        if isinstance(est.batch_size, str) and est.batch_size == "auto"
        else validation.positive_int("batch_size", est.batch_size),
        "tol": _non_negative("tol", est.tol),
    }


def _real(name: str, value: object) -> float:
    """``value`` if it is a real number (scikit-learn parameters are never strings or bools)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _non_negative(name: str, value: object) -> float:
    """A finite number ≥ 0 (an L2 weight, a tolerance)."""
    return validation.number_in_range(
        name, _real(name, value), 0.0, math.inf, "a finite number ≥ 0"
    )


def _open_fraction(name: str, value: object) -> float:
    """A fraction strictly between 0 and 1 (a held-out share that leaves data on both sides)."""
    fraction = validation.fraction(name, _real(name, value))
    if fraction == 0:
        raise ConfigError(f"{name} must lie in (0, 1), got {value!r}")
    return fraction
