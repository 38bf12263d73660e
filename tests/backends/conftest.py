"""Fixtures of the backend tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: X (1797, 64) scaled to [0, 1], integer labels (1797,)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data / 16.0, d.target
