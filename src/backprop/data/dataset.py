"""The :class:`Dataset` every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dataset"]


@dataclass(eq=False)
class Dataset:
    """Arrays ready for training, split into train, validation and test.

    Attributes
    ----------
    name : str
        ``digits``, ``mnist``, ``fashion-mnist`` or the file's name.
    X_train, X_val, X_test : ndarray of float32, shape (m, n_features)
        One example per row. Pixels of the built-in datasets are scaled to [0, 1];
        features of CSV/NPZ files are as in the file.
    y_train, y_val, y_test : ndarray
        int64 class indices 0..n_classes-1 of shape (m,) for classification;
        float32 targets of shape (m, k) for regression.
    n_classes : int or None
        Number of classes; None for regression.
    classes : ndarray or None
        ``classes[i]`` is the original label of class index i (e.g. the value in the
        CSV's label column); None for regression.
    class_names : tuple of str or None
        Human-readable names when known (Fashion-MNIST), else None.
    image_shape : tuple or None
        (rows, columns) when each example is an image, e.g. (28, 28).
    fingerprint : str
        SHA-256 (hex) of the source data; identical data gives the same value.
    source : str
        Where the data came from (path or description).
    split : dict
        How the examples were split: fractions, seed, and the rule used.
    notes : list of str
        What the loader decided for the user (e.g. a dropped index column).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None
    classes: np.ndarray | None
    image_shape: tuple | None
    fingerprint: str
    source: str
    class_names: tuple | None = None
    split: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def n_features(self) -> int:
        """Number of input features (columns of X)."""
        return int(self.X_train.shape[1])

    @property
    def is_classification(self) -> bool:
        return self.n_classes is not None

    @property
    def n_outputs(self) -> int:
        """Size of the output layer this data needs: n_classes, or the target width."""
        if self.n_classes is not None:
            return int(self.n_classes)
        return int(self.y_train.shape[1])

    def summary(self) -> dict:
        """Plain-JSON description (sizes, classes, fingerprint) for reports and model metadata."""
        return {
            "name": self.name,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "n_train": int(self.X_train.shape[0]),
            "n_val": int(self.X_val.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "split": dict(self.split),
        }

    def __repr__(self) -> str:
        kind = f"{self.n_classes} classes" if self.n_classes is not None else "regression"
        return (
            f"Dataset({self.name!r}, train={self.X_train.shape[0]}, val={self.X_val.shape[0]}, "
            f"test={self.X_test.shape[0]}, features={self.n_features}, {kind})"
        )
