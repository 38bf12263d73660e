"""training.metrics.regression_metrics against scikit-learn and a hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.errors import DataError
from backprop.training.metrics import regression_metrics

sk = pytest.importorskip("sklearn.metrics")


def test_by_hand() -> None:
    # errors 1, -1, 2: RMSE sqrt(6/3), MAE 4/3; ȳ = 2, Σ(y-ȳ)² = 2, Σe² = 6, R² = 1 - 3
    m = regression_metrics([1.0, 2.0, 3.0], [0.0, 3.0, 1.0])
    assert m == pytest.approx({"rmse": np.sqrt(2.0), "mae": 4 / 3, "r2": -2.0}, rel=1e-12)


@pytest.mark.parametrize("k", [1, 3])
def test_equals_sklearn(k: int) -> None:
    rng = np.random.default_rng(k)
    y = rng.normal(size=(50, k)) * [10.0, 1.0, 0.1][:k]
    p = y + rng.normal(size=(50, k))
    m = regression_metrics(y, p)
    assert m["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, p)), rel=1e-12)
    assert m["mae"] == pytest.approx(sk.mean_absolute_error(y, p), rel=1e-12)
    assert m["r2"] == pytest.approx(sk.r2_score(y, p), rel=1e-12)


def test_mean_prediction_scores_zero_and_shapes_checked() -> None:
    y = np.array([1.0, 5.0, 9.0])
    assert regression_metrics(y, np.full(3, 5.0))["r2"] == pytest.approx(0.0, abs=1e-15)
    assert regression_metrics(np.ones(3), np.ones(3))["r2"] == 1.0
    with pytest.raises(DataError, match="one non-empty shape"):
        regression_metrics(np.ones(3), np.ones(4))
