"""What the classifier and the regressor share: parameters, training, prediction."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import optimizers
from ..errors import ConfigError
from ..model import Model
from ..network import Network
from ..preprocessing import Standardizer
from .params import check_settings

__all__ = ["BackpropEstimator"]


class _Plateau:
    """Stop when the monitored score has not improved by ``tol`` for ``patience`` epochs.

    scikit-learn's MLP rule (``n_iter_no_change``, ``tol``), applied to the
    training cost when there is no validation set. A ``backprop.Callback``
    (``train`` calls the hooks an object has).
    """

    def __init__(self, patience: int, tol: float):
        self.patience, self.tol, self.best = patience, tol, np.inf
        self.bad_epochs = 0
        self.converged = False

    def on_epoch_end(self, state) -> None:
        loss = state.history.train_cost[-1]
        if loss > self.best - self.tol:
            self.bad_epochs += 1
        else:
            self.bad_epochs = 0
        self.best = min(self.best, loss)
        if self.bad_epochs >= self.patience:
            self.converged = True
            state.stop = True


class _Monitor:
    """Per-epoch validation score (accuracy or R²) and, if verbose, a line per epoch."""

    def __init__(self, estimator, X_val=None, y_val=None, verbose=False):
        self.estimator, self.X_val, self.y_val, self.verbose = estimator, X_val, y_val, verbose
        self.scores: list[float] = []

    def on_epoch_end(self, state) -> None:
        line = f"Epoch {state.epoch}, loss = {state.history.train_cost[-1]:.8f}"
        if self.X_val is not None:
            score = self.estimator._score_network(state.net, self.X_val, self.y_val)
            self.scores.append(score)
            line += f", validation score = {score:.6f}"
        if self.verbose:
            print(line, flush=True)


class BackpropEstimator(BaseEstimator):
    """Parameters and training shared by the classifier and the regressor.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Widths of the hidden layers n_1..n_{L-1}; ``()`` for no hidden layer.
    activation : str, default="relu"
        σ of the hidden layers: ``sigmoid``, ``tanh``, ``relu``, ``leaky-relu``
        or ``identity``.
    output : str, optional
        σ of the output layer. Default: ``softmax`` (classifier), ``identity``
        (regressor).
    cost : str, optional
        ``quadratic`` or ``cross-entropy``. Default: ``cross-entropy``
        (classifier), ``quadratic`` (regressor).
    optimizer : str, default="adam"
        ``sgd``, ``momentum``, ``nesterov`` or ``adam``.
    learning_rate : float, default=0.001
        α.
    batch_size : int or "auto", default="auto"
        Mini-batch size m; ``auto`` is ``min(200, n_samples)``.
    max_epochs : int, default=200
        Passes over the training data (``max_iter`` is an alias).
    max_iter : int, optional
        scikit-learn's name for ``max_epochs``; when set it takes precedence.
    l2 : float, default=0.0
        λ, the L2 weight decay of ``backprop.train`` (``alpha`` is an alias).
    alpha : float, optional
        scikit-learn's name for ``l2``; when set it takes precedence. The
        meaning is the library's λ (see ``backprop.train``), not MLP's
        per-batch scaling.
    dropout : float, default=0.0
        Probability of dropping a hidden neuron during training.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when its
        cost has not improved for ``patience`` epochs, keeping the best weights.
    validation_fraction : float, default=0.1
        Fraction held out when ``early_stopping`` (stratified for classifiers).
    patience : int, default=10
        Epochs without improvement (by more than ``tol``) before stopping:
        of the validation cost with ``early_stopping``, else of the training
        cost (scikit-learn's ``n_iter_no_change``).
    tol : float, default=1e-4
        Minimum improvement of the training cost that resets ``patience``;
        ``0`` stops only after ``patience`` epochs without any improvement.
    init : str, default="glorot-uniform"
        Weight initialiser: ``normal``, ``scaled-normal``, ``glorot-uniform``, ``he-normal``.
    standardize : bool, default=True
        Standardise every feature with the mean and standard deviation of the ``X``
        given to ``fit`` (``StandardScaler``'s statistics), and, for the regressor with
        an identity output, the target too; ``predict`` applies the same statistics
        (and un-scales the target), so the estimator takes raw rows. The statistics are
        ``standardizer_``; the network (``network_``) is trained on, and takes,
        standardised rows; ``model_`` is both, to save or export. ``partial_fit`` and
        ``warm_start`` keep the first fit's statistics. ``False``: the rows go to the
        network as they are (what ``MLPClassifier`` does).
    random_state : int, numpy Generator or RandomState, optional
        Seeds the initial weights, the shuffling, dropout and the validation
        split. ``None``: fresh randomness on every fit.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the network and of all computation.
    warm_start : bool, default=False
        ``fit`` continues from the previous solution instead of starting afresh.
    verbose : bool, default=False
        Print the cost after every epoch.
    """

    _default_output = "identity"
    _default_cost = "quadratic"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        output=None,
        cost=None,
        optimizer="adam",
        learning_rate=0.001,
        batch_size="auto",
        max_epochs=200,
        max_iter=None,
        l2=0.0,
        alpha=None,
        dropout=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        tol=1e-4,
        init="glorot-uniform",
        standardize=True,
        random_state=None,
        dtype="float64",
        warm_start=False,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output = output
        self.cost = cost
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_iter = max_iter
        self.l2 = l2
        self.alpha = alpha
        self.dropout = dropout
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.init = init
        self.standardize = standardize
        self.random_state = random_state
        self.dtype = dtype
        self.warm_start = warm_start
        self.verbose = verbose

    # -- parameters ----------------------------------------------------------

    def _settings(self) -> dict:
        """Check the parameters (scikit-learn style: in fit, not __init__)."""
        return check_settings(self)

    def _rng(self) -> np.random.Generator:
        """A Generator for this fit, from ``random_state`` (never the global state)."""
        rs = self.random_state
        if rs is None:
            return np.random.default_rng()
        if isinstance(rs, np.random.Generator):
            return rs
        if isinstance(rs, np.random.RandomState):
            return np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
        if isinstance(rs, numbers.Integral):
            return np.random.default_rng(int(rs))
        raise ConfigError(
            f"random_state must be None, an int, a numpy Generator or RandomState, got {rs!r}"
        )

    # -- training ------------------------------------------------------------

    # Longer than 60 lines: fit is one sequence (check, split, build or reuse the network,
    # train, record the fitted attributes, warn) that scikit-learn readers expect in one place.
    def _fit(self, X, y, *, incremental: bool):
        from ..training import train

        s = self._settings()
        first = not (incremental or self.warm_start) or not hasattr(self, "network_")
        X, T = self._validate_fit_data(X, y, reset=first, incremental=incremental)
        rng = self._rng()
        n_outputs = self._n_outputs(T)
        if first:
            net = Network(
                [X.shape[1], *s["hidden"], n_outputs],
                activation=self.activation,
                output=s["output"],
                cost=s["cost"],
                init=self.init,
                dtype=s["dtype"],
                rng=rng,
            )
            loss_curve, scores, n_iter, best_loss, optimizer = [], [], 0, np.inf, None
            self.standardizer_ = self._fit_standardizer(X, T, s)
        else:
            net = self.network_
            if net.sizes[-1] != n_outputs:
                raise ConfigError(
                    f"warm start: the network has {net.sizes[-1]} outputs but y needs "
                    f"{n_outputs}; refit with warm_start=False"
                )
            if bool(self.standardize) != (self.standardizer_ is not None):
                raise ConfigError(
                    f"warm start: standardize={self.standardize} but the network was trained "
                    f"with standardize={not self.standardize}; refit with warm_start=False"
                )
            loss_curve, scores = self.loss_curve_, self.validation_scores_
            n_iter, best_loss, optimizer = self.n_iter_, self.best_loss_, self._optimizer
        model = Model(net, self.standardizer_)  # the network's rows and targets
        X = model.inputs(X).astype(net.dtype, copy=False)
        T = model.targets(T)
        T = T.astype(net.dtype, copy=False) if T.dtype.kind == "f" else T

        validation_data, monitor_data = None, (None, None)
        early = bool(self.early_stopping) and not incremental
        if early:
            X, X_val, T, T_val = self._split(X, T, s["validation_fraction"], rng)
            validation_data = (X_val, T_val)
            monitor_data = (X_val, T_val)
        monitor = _Monitor(self, *monitor_data, verbose=bool(self.verbose))
        callbacks = [monitor]
        plateau = None
        if not early and not incremental:
            plateau = _Plateau(s["patience"], s["tol"])
            callbacks.append(plateau)

        if optimizer is None or not (incremental or self.warm_start):
            optimizer = optimizers.get(self.optimizer, s["lr"])
        history = train(
            net,
            X,
            T,
            epochs=1 if incremental else s["epochs"],
            batch_size=min(s["batch_size"], X.shape[0]),
            lr=s["lr"],
            optimizer=optimizer,
            seed=int(rng.integers(2**63 - 1)),
            l2=s["l2"],
            dropout=s["dropout"],
            validation_data=validation_data,
            patience=s["patience"] if early else None,
            callbacks=callbacks,
            train_metrics="full",  # loss_curve_: the cost after each epoch, as documented
        )
        net.metadata = self._metadata()
        self.network_ = net
        self._optimizer = optimizer
        self.history_ = history
        self.loss_curve_ = [*loss_curve, *history.train_cost]
        self.validation_scores_ = [*scores, *monitor.scores]
        self.n_iter_ = n_iter + len(history.epoch)
        self.best_loss_ = min([best_loss, *history.train_cost])
        self.best_validation_score_ = max(self.validation_scores_, default=None)
        if history.diverged:
            warnings.warn(history.diverged, ConvergenceWarning, stacklevel=3)
        elif plateau is not None and not plateau.converged and not history.stopped_early:
            warnings.warn(
                f"{type(self).__name__}: stopped after max_epochs={s['epochs']} epochs and the "
                "cost is still improving; raise max_epochs (max_iter) or learning_rate",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _fit_standardizer(self, X, T, s: dict) -> Standardizer | None:
        """The statistics of the X given to fit (and of the regressor's target through an
        identity output), or None with ``standardize=False``."""
        if not self.standardize:
            return None
        return Standardizer.fit(X, T if self._scale_target(s) else None)

    def _scale_target(self, s: dict) -> bool:
        return False

    def _metadata(self) -> dict:
        """What a saved ``model_`` (or ``network_``) says of the estimator."""
        return {"estimator": type(self).__name__}

    @property
    def model_(self) -> Model:
        """The fitted network and its standardisation as one :class:`backprop.Model`.

        ``model_.predict(X)`` takes raw rows, as the estimator does; ``model_.save(path)``
        writes both to a model file (``backprop.load(path)`` reads them back, and
        ``backprop predict`` / ``evaluate`` / ``explain`` and the ONNX export apply the
        standardisation); ``backprop.export.to_onnx(model_)``.
        """
        check_is_fitted(self)
        return Model(self.network_, self.standardizer_)

    def _split(self, X, T, fraction, rng):
        n_val = int(round(fraction * X.shape[0]))
        if n_val < 1 or X.shape[0] - n_val < 1:
            raise ConfigError(
                f"early_stopping: validation_fraction={fraction} of {X.shape[0]} samples leaves "
                "an empty training or validation set; use more data or early_stopping=False"
            )
        stratify = T if self._stratify(T) else None
        seed = int(rng.integers(2**31 - 1))
        return train_test_split(X, T, test_size=n_val, random_state=seed, stratify=stratify)

    def _stratify(self, T) -> bool:
        return False

    def partial_fit(self, X, y):
        """One epoch of training over ``(X, y)``, continuing from the current weights."""
        return self._fit(X, y, incremental=True)

    def fit(self, X, y):
        """Train on ``X`` of shape (n_samples, n_features) and targets ``y``.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def _predict_output(self, X) -> np.ndarray:
        """The network's output for raw rows ``X`` (standardised first), in y's units."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.model_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
