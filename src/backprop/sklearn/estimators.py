"""The two estimators: :class:`BackpropClassifier` and :class:`BackpropRegressor`."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from ..errors import ConfigError
from .base import BackpropEstimator

__all__ = ["BackpropClassifier", "BackpropRegressor"]


class BackpropClassifier(ClassifierMixin, BackpropEstimator):
    __doc__ = (
        """A classifier: a network with one output neuron per class, softmax by default.

    ``predict_proba`` is the output a^L (softmax rows; with ``output="sigmoid"``
    the rows are normalised to sum to one), ``predict`` its arg-max, mapped
    back to the original labels in ``classes_``.
    """
        + BackpropEstimator.__doc__.split("\n", 2)[2]
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when ``X`` had column names
    network_ : backprop.Network
        The trained network, ``[n_features, *hidden_layer_sizes, n_classes]``; it takes
        standardised rows when ``standardize``.
    standardizer_ : backprop.Standardizer or None
        The features' mean and scale (``standardize=True``), else None.
    model_ : backprop.Model
        ``network_`` and ``standardizer_`` together: raw rows in, to save or export.
    loss_curve_ : list of float
        The training cost after each epoch.
    validation_scores_ : list of float
        Validation accuracy after each epoch (``early_stopping`` only).
    best_validation_score_ : float or None
    best_loss_ : float
    n_iter_ : int
        Epochs run.
    history_ : backprop.History
        The last call's full per-epoch record.
    """
    )

    _default_output = "softmax"
    _default_cost = "cross-entropy"

    def fit(self, X, y):
        """Train on ``X`` of shape (n_samples, n_features) and class labels ``y`` (n_samples,)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over ``(X, y)``; the first call needs ``classes``, every label there is."""
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ConfigError(
                    "the first call to partial_fit needs classes=, the list of every label"
                )
            self._encoder = LabelEncoder().fit(column_or_1d(classes))
            self.classes_ = self._encoder.classes_
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ConfigError(
                f"classes={list(classes)} differ from the first partial_fit's {list(self.classes_)}"
            )
        return self._fit(X, y, incremental=True)

    def _validate_fit_data(self, X, y, *, reset, incremental):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        if incremental or (self.warm_start and not reset):
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if unknown.size:
                raise ConfigError(
                    f"y has labels {list(unknown)} that are not in classes_ {list(self.classes_)}"
                )
        else:
            self._encoder = LabelEncoder().fit(y)
            self.classes_ = self._encoder.classes_
            if len(self.classes_) < 2:
                raise ConfigError(
                    f"a classifier needs at least 2 classes in y, got only one class "
                    f"({self.classes_[0]!r})"
                )
        return X, self._encoder.transform(y).astype(np.int64)

    def _n_outputs(self, T) -> int:
        return len(self.classes_)

    def _stratify(self, T) -> bool:
        counts = np.bincount(T)
        return bool(counts[counts > 0].min() >= 2)

    def _score_network(self, net, X, T) -> float:
        return float(np.mean(net.predict(X).argmax(axis=1) == T))

    def _metadata(self) -> dict:
        classes = self.classes_.tolist()
        return {
            "estimator": type(self).__name__,
            "task": "classification",
            "classes": classes,
            "data": {"n_classes": len(classes)},
        }

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        P = self._predict_output(X)
        if self.network_.activations[-1] != "softmax":
            P = np.clip(P, 0, None)
            total = P.sum(axis=1, keepdims=True)
            P = np.divide(P, total, out=np.full_like(P, 1 / P.shape[1]), where=total > 0)
        return P

    def predict_log_proba(self, X):
        """ln of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row of ``X``, shape (n_samples,)."""
        indices = self._predict_output(X).argmax(axis=1)
        return self.classes_[indices]


class BackpropRegressor(RegressorMixin, BackpropEstimator):
    __doc__ = (
        """A regressor: a network with identity output and quadratic cost by default.

    ``y`` may have one column or several (multi-output); ``predict`` returns
    the same shape.
    """
        + BackpropEstimator.__doc__.split("\n", 2)[2]
        + """
    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only when ``X`` had column names
    network_ : backprop.Network
        The trained network, ``[n_features, *hidden_layer_sizes, n_outputs]``; it takes
        standardised rows, and gives a standardised target, when ``standardize``.
    standardizer_ : backprop.Standardizer or None
        The features' (and, through an identity output, the target's) mean and scale
        (``standardize=True``), else None.
    model_ : backprop.Model
        ``network_`` and ``standardizer_`` together: raw rows in, y in its units out.
    loss_curve_ : list of float
        The training cost after each epoch (of the standardised target, when it is).
    validation_scores_ : list of float
        Validation R² after each epoch (``early_stopping`` only).
    best_validation_score_ : float or None
    best_loss_ : float
    n_iter_ : int
        Epochs run.
    history_ : backprop.History
        The last call's full per-epoch record.
    """
    )

    def _validate_fit_data(self, X, y, *, reset, incremental):
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            multi_output=True,
            y_numeric=True,
            dtype=[np.float64, np.float32],
        )
        if reset:
            self._y_1d = y.ndim == 1
        T = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, T.astype(np.dtype(self.dtype), copy=False)

    def _n_outputs(self, T) -> int:
        return T.shape[1]

    def _score_network(self, net, X, T) -> float:
        return float(r2_score(T, net.predict(X)))

    def _scale_target(self, s: dict) -> bool:
        return s["output"] == "identity"  # a linear output: un-scaled exactly after it

    def _metadata(self) -> dict:
        return {"estimator": type(self).__name__, "task": "regression", "data": {"n_classes": None}}

    def predict(self, X):
        """The network's output for each row of ``X``: (n_samples,) or (n_samples, n_outputs)."""
        Y = self._predict_output(X)
        return Y.ravel() if self._y_1d else Y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
