"""scikit-learn estimators: thin shells over :class:`~backprop.Network` and ``backprop.train``.

:class:`BackpropClassifier` and :class:`BackpropRegressor` follow scikit-learn's
conventions (parameters stored as given in ``__init__``, validated in ``fit``;
fitted attributes end in ``_``; ``X`` of shape (n_samples, n_features)), so they
work in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score`` and pass
``sklearn.utils.estimator_checks.check_estimator``. All the mathematics is the
library's: ``fit`` builds a ``Network([n_features, *hidden_layer_sizes, n_outputs])``
and calls ``backprop.train`` on it; the trained network is ``network_``.

scikit-learn is imported when this module is, so ``import backprop`` stays light.
"""

from __future__ import annotations

from .base import BackpropEstimator
from .estimators import BackpropClassifier, BackpropRegressor

__all__ = ["BackpropClassifier", "BackpropEstimator", "BackpropRegressor"]
