"""docs/defaults.md states the defaults of the API, the CLI and the estimators as the code has them.

Every cell is checked against the values read from the code (signatures, the CLI's DEFAULTS,
the estimators' get_params), and bp.train's defaults are checked by behaviour: a call without
epochs, batch_size and lr trains exactly as the call that spells out the book's values.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop import optimizers
from support import needs

PAGE = Path(__file__).resolve().parents[2] / "docs" / "defaults.md"


def table() -> dict[str, list[str]]:
    """Row key (the first cell's code) → the API, CLI and estimator cells."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `(\w+)` \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return rows


def code(value: object) -> str:
    return f"`{value}`"


def defaults(fn: object) -> dict[str, object]:
    return {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items()  # type: ignore[arg-type]
        if p.default is not inspect.Parameter.empty
    }


def test_the_api_column() -> None:
    rows, net, train = table(), defaults(bp.Network.__init__), defaults(bp.train)
    for key in ("activation", "cost", "init", "dtype"):
        assert rows[key][0].startswith(code(net[key])), key
    assert net["output"] is None and bp.Network([3, 4, 2]).activations == ["sigmoid"] * 2
    assert rows["output"][0] == "the hidden σ (`sigmoid`)"
    assert rows["optimizer"][0] == code(train["optimizer"])
    assert rows["epochs"][0] == code(train["epochs"])
    assert rows["batch_size"][0] == code(train["batch_size"])
    assert train["lr"] is None and net["seed"] is None and train["seed"] is None
    for name, lr in optimizers.DEFAULT_LR.items():
        assert f"{code(lr)} (" in rows["lr"][0] and code(name) in rows["lr"][0]
    assert optimizers.default_lr(optimizers.Adam(0.01)) == 0.01


def test_the_cli_column() -> None:
    from backprop.cli.train_config import DEFAULTS

    rows = table()
    assert rows["layers"][1] == f"`{','.join(map(str, DEFAULTS['layers']))}` hidden"
    for key in ("activation", "output", "cost", "init", "dtype", "optimizer", "lr"):
        want = code(f"{DEFAULTS[key]:g}" if key == "lr" else DEFAULTS[key])
        assert rows[key][1] == want, key
    for key in ("batch_size", "epochs", "seed"):
        assert rows[key][1] == code(DEFAULTS[key]), key


@needs("sklearn", "pip install scikit-learn")
def test_the_estimator_column() -> None:
    from backprop.sklearn import BackpropClassifier, BackpropRegressor

    rows, p = table(), BackpropClassifier().get_params()
    assert p == {**BackpropRegressor().get_params(), **p}  # the same defaults
    assert rows["layers"][2] == f"`{p['hidden_layer_sizes']}` hidden"
    for key, param in (("activation", "activation"), ("init", "init"), ("dtype", "dtype")):
        assert rows[key][2] == code(p[param]), key
    assert rows["optimizer"][2] == code(p["optimizer"])
    assert rows["lr"][2] == f"{code(p['learning_rate'])} (`learning_rate`)"
    assert rows["batch_size"][2].startswith(code(p["batch_size"]))
    assert rows["epochs"][2].startswith(f"{code(p['max_epochs'])} (`max_epochs`)")
    assert f"after {code(p['patience'])} epochs" in rows["epochs"][2]
    tol = f"{p['tol']:f}".rstrip("0")  # 1e-4 as the page writes it, 0.0001
    assert f"gain of {code(tol)}" in rows["epochs"][2]
    assert p["random_state"] is None and rows["seed"][2] == "`None` (`random_state`)"
    c, r = BackpropClassifier, BackpropRegressor
    assert rows["output"][2] == f"{code(c._default_output)} / {code(r._default_output)}"
    assert rows["cost"][2] == f"{code(c._default_cost)} / {code(r._default_cost)}"


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_train_without_epochs_batch_size_lr_is_the_documented_call(optimizer: str) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.uniform(size=(40, 4)), rng.integers(0, 3, 40)
    a, b = bp.Network([4, 5, 3], seed=1), bp.Network([4, 5, 3], seed=1)
    h = bp.train(a, X, y, optimizer=optimizer, seed=2)
    lr = {"sgd": 3.0, "momentum": 0.3, "adam": 0.001}[optimizer]  # the page's values
    bp.train(b, X, y, optimizer=optimizer, seed=2, epochs=30, batch_size=10, lr=lr)
    assert len(h) == 30 and h.lr == [lr] * 30
    for l in (1, 2):
        np.testing.assert_array_equal(a.W[l], b.W[l])
        np.testing.assert_array_equal(a.b[l], b.b[l])
