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

try:  # checked once here: base and estimators (always imported after this) import it freely
    from sklearn.utils.validation import validate_data  # noqa: F401  (scikit-learn >= 1.6)
except ImportError as exc:  # scikit-learn missing or older than 1.6
    raise ImportError(
        f"backprop.sklearn needs scikit-learn 1.6 or later ({exc}); "
        "install it with: pip install 'backprop-textbook[sklearn]'"
    ) from exc

from .base import BackpropEstimator  # noqa: E402
from .estimators import BackpropClassifier, BackpropRegressor  # noqa: E402

__all__ = ["BackpropClassifier", "BackpropEstimator", "BackpropRegressor"]
