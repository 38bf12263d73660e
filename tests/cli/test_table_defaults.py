"""``backprop train --data X.csv`` with the defaults, against scikit-learn on the same split.

Issue 15: on iris, wine and breast-cancer the test accuracy is within 1.5 points of
``make_pipeline(StandardScaler(), MLPClassifier(max_iter=1000))``, and on diabetes
the test R² at least that of ``make_pipeline(StandardScaler(), RidgeCV())`` less
0.05, each the mean over five seeds. The references are fitted here on the rows the
command trained and validated on (its 80 %) and scored on its 20 % test rows.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop.cli import main
from backprop.data import load as load_data

from .test_tables import write_table

pytest.importorskip("sklearn")
from sklearn.linear_model import RidgeCV  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)


def reference(name: str, path: str, seed: int) -> float:
    ds = load_data(path, seed=seed)
    X = np.concatenate([ds.X_train, ds.X_val]).astype(np.float64)
    y = np.concatenate([ds.y_train, ds.y_val])
    if name == "diabetes":  # the loader reads 214 whole-number values as classes
        values = ds.classes.astype(np.float64)
        model = make_pipeline(StandardScaler(), RidgeCV()).fit(X, values[y])
        return float(r2_score(values[ds.y_test], model.predict(ds.X_test.astype(np.float64))))
    clf = MLPClassifier(max_iter=1000, random_state=seed)
    model = make_pipeline(StandardScaler(), clf).fit(X, y)
    return float(model.score(ds.X_test.astype(np.float64), ds.y_test))


def scores(name: str, path: str, capsys, ours: list, refs: list) -> None:
    """The command's test score and the reference's, for each seed."""
    for seed in SEEDS:
        assert main(["train", "--data", path, "--seed", str(seed), "--json", "-q"]) == 0
        result = json.loads(capsys.readouterr().out)
        ours.append(result["test_r2"] if name == "diabetes" else result["test_accuracy"])
        refs.append(reference(name, path, seed))


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer", "diabetes"])
def test_defaults_match_scikit_learn(name: str, tmp_path, capsys) -> None:
    path = str(write_table(tmp_path / f"{name}.csv", name))
    ours, refs = [], []
    with threadpool_limits(1):  # small matrices: one BLAS thread is ~20x faster on 2 cores
        scores(name, path, capsys, ours, refs)
    mine, ref = float(np.mean(ours)), float(np.mean(refs))
    if name == "diabetes":
        assert mine >= ref - 0.05, (ours, refs)
    else:
        assert mine >= ref - 0.015, (ours, refs)
