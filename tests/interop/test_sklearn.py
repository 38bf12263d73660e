"""The scikit-learn estimators, checked by scikit-learn's own tools.

* ``parametrize_with_checks``: every check of ``check_estimator``, none skipped
  or expected to fail (the array-API check needs ``SCIPY_ARRAY_API=1`` before
  SciPy is imported, so it runs in a subprocess that sets it);
* ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``;
* accuracy on digits against ``MLPClassifier`` with the same architecture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, make_blobs, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import backprop as bp  # noqa: E402
from backprop.errors import ConfigError  # noqa: E402
from backprop.sklearn import BackpropClassifier, BackpropRegressor  # noqa: E402

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- scikit-learn's own checks -------------------------------------------------


@quiet
@parametrize_with_checks([BackpropClassifier(), BackpropRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    name = check.func.__name__ if hasattr(check, "func") else check.__name__
    if name == "check_array_api_input" and os.environ.get("SCIPY_ARRAY_API") != "1":
        run_array_api_check(estimator, check)
        return
    check(estimator)


def run_array_api_check(estimator, check):
    """Run ``check_array_api_input`` where SciPy's array-API mode is on from the start."""
    code = (
        "import json, sys\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from backprop.sklearn import BackpropClassifier, BackpropRegressor\n"
        "name, kwargs = json.loads(sys.argv[1])\n"
        "est = {'BackpropClassifier': BackpropClassifier, "
        "'BackpropRegressor': BackpropRegressor}[name]()\n"
        "check_array_api_input(name, est, **kwargs)\n"
        "print('passed')\n"
    )
    arg = json.dumps([type(estimator).__name__, check.keywords])
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, arg], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "passed", done.stderr[-3000:]


# -- data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def blobs(n=120, seed=0):
    X, y = make_blobs(n_samples=n, centers=3, n_features=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


# -- the ecosystem ---------------------------------------------------------------


@quiet
def test_pipeline_grid_search_and_cross_val_score():
    X, y = blobs(150)
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(max_epochs=30, random_state=0))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    grid = GridSearchCV(
        pipe,
        {
            "backpropclassifier__hidden_layer_sizes": [(4,), (16, 8)],
            "backpropclassifier__learning_rate": [1e-3, 1e-2],
        },
        cv=3,
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {
        "backpropclassifier__hidden_layer_sizes",
        "backpropclassifier__learning_rate",
    }
    assert grid.best_score_ > 0.9
    best = grid.best_estimator_[-1]
    assert best.network_.sizes[1:-1] == list(best.hidden_layer_sizes)
    assert grid.score(X, y) > 0.9


@quiet
def test_regressor_in_pipeline_and_cross_val_score():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    pipe = make_pipeline(
        StandardScaler(),
        BackpropRegressor(
            hidden_layer_sizes=(32,), learning_rate=0.01, max_epochs=100, random_state=0
        ),
    )
    scores = cross_val_score(pipe, X, y / y.std(), cv=3)  # R²
    assert scores.min() > 0.9


def test_digits_accuracy_matches_mlpclassifier(digits):
    """Same architecture, optimiser and epochs as scikit-learn's MLP: accuracy within a point.

    A reduced run (hidden layer 32, 60 epochs); ``benchmarks/`` and the slow
    test below use the default (100,) for 200 epochs. Both see the same inputs (pixels / 16):
    ``standardize=False``, as MLPClassifier does not standardise.
    """
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = digits
    kwargs = dict(hidden_layer_sizes=(32,), batch_size=200, random_state=0)
    kwargs_ours = dict(kwargs, standardize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BackpropClassifier(max_epochs=60, learning_rate=1e-3, **kwargs_ours)
        mlp = MLPClassifier(max_iter=60, learning_rate_init=1e-3, alpha=0.0, **kwargs)
        ours.fit(X_train, y_train)
        mlp.fit(X_train, y_train)
    ours_acc, mlp_acc = ours.score(X_test, y_test), mlp.score(X_test, y_test)
    assert ours_acc >= mlp_acc - 0.01, (ours_acc, mlp_acc)
    assert ours_acc > 0.94


@pytest.mark.slow
def test_digits_accuracy_matches_mlpclassifier_default_architecture(digits):
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = digits
    for seed in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours = BackpropClassifier(random_state=seed, standardize=False)  # MLP's inputs
            ours.fit(X_train, y_train)
            mlp = MLPClassifier(random_state=seed, alpha=0.0).fit(X_train, y_train)
        ours_acc, mlp_acc = ours.score(X_test, y_test), mlp.score(X_test, y_test)
        assert ours_acc >= mlp_acc - 0.01, (seed, ours_acc, mlp_acc)


# -- behaviour -------------------------------------------------------------------


@quiet
def test_fitted_attributes_and_string_labels():
    X, y = blobs()
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(8,), max_epochs=20, random_state=0)
    assert clf.fit(X, labels) is clf
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.n_features_in_ == 4 and not hasattr(clf, "feature_names_in_")
    assert isinstance(clf.network_, bp.Network) and clf.network_.sizes == [4, 8, 3]
    assert clf.network_.activations == ["relu", "softmax"]
    assert clf.network_.cost_name == "cross-entropy"
    assert clf.n_iter_ == 20 == len(clf.loss_curve_) == len(clf.history_.epoch)
    assert clf.validation_scores_ == [] and clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)
    P = clf.predict_proba(X)
    assert P.shape == (120, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[P.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(P))
    # predict_proba is the network's output a^L, computed here by hand
    net = clf.network_
    a = X.T
    for l in range(1, net.L + 1):
        z = net.W[l] @ a + net.b[l]
        a = np.maximum(z, 0) if l < net.L else np.exp(z) / np.exp(z).sum(axis=0)
    np.testing.assert_allclose(P, a.T, rtol=1e-12)


def test_loss_curve_is_the_training_cost():
    X, y = blobs()
    clf = BackpropClassifier(hidden_layer_sizes=(6,), max_epochs=5, tol=0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    # mean cross-entropy −ln p(true class), from predict_proba
    P = clf.predict_proba(X)
    assert clf.loss_curve_[-1] == pytest.approx(-np.log(P[np.arange(len(y)), y]).mean())


def test_feature_names_with_pandas():
    pd = pytest.importorskip("pandas")
    X, y = blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = BackpropClassifier(hidden_layer_sizes=(4,), max_epochs=3, random_state=0).fit(df, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[["d", "c", "b", "a"]])


def test_aliases_max_iter_and_alpha():
    X, y = blobs()
    common = dict(hidden_layer_sizes=(5,), random_state=3, tol=0, patience=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BackpropClassifier(max_epochs=7, l2=0.5, **common).fit(X, y)
        b = BackpropClassifier(max_epochs=99, max_iter=7, l2=9.0, alpha=0.5, **common).fit(X, y)
        c = BackpropClassifier(max_epochs=7, l2=0.0, **common).fit(X, y)
    assert a.n_iter_ == b.n_iter_ == 7
    for l in (1, 2):
        np.testing.assert_array_equal(a.network_.W[l], b.network_.W[l])
    assert not np.array_equal(a.network_.W[1], c.network_.W[1])  # l2 did something
    assert np.abs(a.network_.W[1]).sum() < np.abs(c.network_.W[1]).sum()  # ... it shrank W


@pytest.mark.parametrize("standardize", [False, True])
def test_estimator_is_a_shell_over_train(standardize):
    # same seeds → the estimator's network is bit-identical to Network + train by hand
    # (standardize=True: on the rows standardised by hand, (X − mean) / std in NumPy)
    X, y = blobs()
    X = X * [1.0, 10.0, 100.0, 0.1] + [0.0, 5.0, -50.0, 1.0]  # columns of unequal scales
    clf = BackpropClassifier(
        standardize=standardize,
        hidden_layer_sizes=(7,),
        activation="tanh",
        optimizer="momentum",
        learning_rate=0.05,
        batch_size=16,
        max_epochs=4,
        tol=0,
        patience=100,
        random_state=11,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    rng = np.random.default_rng(11)
    net = bp.Network(
        [4, 7, 3],
        activation="tanh",
        output="softmax",
        cost="cross-entropy",
        init="glorot-uniform",
        rng=rng,
    )
    rows = (X - X.mean(axis=0)) / X.std(axis=0) if standardize else X
    bp.train(
        net,
        rows,
        y,
        epochs=4,
        batch_size=16,
        lr=0.05,
        optimizer="momentum",
        seed=int(rng.integers(2**63 - 1)),
    )
    for l in (1, 2):
        np.testing.assert_array_equal(clf.network_.W[l], net.W[l])
        np.testing.assert_array_equal(clf.network_.b[l], net.b[l])
    np.testing.assert_array_equal(clf.predict_proba(X), net.predict(rows))
    assert (clf.standardizer_ is not None) == standardize


def test_random_state_reproducible_and_none_random():
    X, y = blobs()

    def fit(rs):
        clf = BackpropClassifier(hidden_layer_sizes=(5,), max_epochs=2, random_state=rs)
        return clf.fit(X, y).network_.W[1]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(fit(5), fit(5))
        np.testing.assert_array_equal(fit(np.random.RandomState(2)), fit(np.random.RandomState(2)))
        assert not np.array_equal(fit(None), fit(None))
        state = np.random.get_state()[1].copy()  # noqa: NPY002
        fit(None)
        np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002


@quiet
def test_partial_fit():
    X, y = blobs()
    clf = BackpropClassifier(hidden_layer_sizes=(8,), learning_rate=0.01, random_state=0)
    with pytest.raises(ConfigError, match="classes="):
        clf.partial_fit(X, y)
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), learning_rate=0.01, batch_size=20, random_state=0
    )
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    first = clf.loss_curve_[0]
    for _ in range(19):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 20 == len(clf.loss_curve_)
    assert clf.loss_curve_[-1] < first / 2
    assert clf.score(X, y) > 0.9
    with pytest.raises(ConfigError, match="not in classes_"):
        clf.partial_fit(X, y + 5)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)
    # the regressor needs no classes
    Xr, yr = make_regression(n_samples=80, n_features=3, random_state=0)
    reg = BackpropRegressor(hidden_layer_sizes=(8,), random_state=0)
    reg.partial_fit(Xr, yr).partial_fit(Xr, yr)
    assert reg.n_iter_ == 2 and reg.predict(Xr).shape == (80,)


@quiet
def test_warm_start_continues():
    X, y = blobs()
    clf = BackpropClassifier(
        hidden_layer_sizes=(6,), max_epochs=5, tol=0, warm_start=True, random_state=0
    )
    clf.fit(X, y)
    W_after_first = clf.network_.W[1].copy()
    network = clf.network_
    clf.fit(X, y)
    assert clf.network_ is network  # the same network, trained further
    assert clf.n_iter_ == 10 == len(clf.loss_curve_)
    assert not np.array_equal(clf.network_.W[1], W_after_first)
    cold = BackpropClassifier(hidden_layer_sizes=(6,), max_epochs=5, tol=0, random_state=0)
    cold.fit(X, y).fit(X, y)
    assert cold.n_iter_ == 5


def test_plateau_stops_training_like_mlp():
    X, y = blobs()
    clf = BackpropClassifier(
        hidden_layer_sizes=(16,),
        learning_rate=0.05,
        max_epochs=500,
        tol=1e-3,
        patience=5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        clf.fit(X, y)
    assert clf.n_iter_ < 500
    # scikit-learn's rule: each of the last 5 epochs failed to beat the best so far by tol
    losses = clf.loss_curve_
    for k in range(len(losses) - 5, len(losses)):
        assert losses[k] > min(losses[:k]) - 1e-3
    assert losses[-6] <= min(losses[:-6]) - 1e-3  # ... and the one before them did


def test_convergence_warning_when_epochs_run_out():
    X, y = blobs()
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        BackpropClassifier(hidden_layer_sizes=(4,), max_epochs=2, random_state=0).fit(X, y)


def test_early_stopping():
    X, y = load_digits(return_X_y=True)
    clf = BackpropClassifier(
        hidden_layer_sizes=(32,),
        learning_rate=0.01,
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.2,
        patience=3,
        random_state=0,
    )
    clf.fit(X / 16, y)
    assert clf.n_iter_ < 200 and clf.history_.stopped_early
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.validation_scores_ == clf.history_.val_accuracy  # our accuracy == train's
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9
    # trained on 80 %: the training cost was measured on 1437 rows
    assert clf.history_.extras["eval_seconds"]


def test_regressor_early_stopping_scores_are_r2():
    X, y = make_regression(n_samples=300, n_features=4, noise=5.0, random_state=1)
    reg = BackpropRegressor(
        hidden_layer_sizes=(16,),
        learning_rate=0.01,
        max_epochs=300,
        early_stopping=True,
        patience=5,
        random_state=0,
    )
    reg.fit(X, y / y.std())
    assert len(reg.validation_scores_) == reg.n_iter_
    assert 0.9 < reg.best_validation_score_ <= 1


@quiet
def test_regressor_multi_output_and_shapes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], np.sin(X[:, 0])])
    # the raw targets (the standardised ones are test_sklearn_standardize.py's): with them
    # scaled, full-batch Adam at α = 0.01 overshoots at epoch 13 and the plateau rule
    # stops at epoch 23 with R² 0.87, as the same fit by hand on (Y − mean) / std does
    reg = BackpropRegressor(
        hidden_layer_sizes=(32,),
        learning_rate=0.01,
        max_epochs=150,
        random_state=0,
        standardize=False,
    ).fit(X, Y)
    assert reg.network_.sizes == [3, 32, 2]
    assert reg.network_.activations == ["relu", "identity"]
    assert reg.network_.cost_name == "quadratic"
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.95
    reg1 = BackpropRegressor(hidden_layer_sizes=(4,), max_epochs=3, random_state=0)
    assert reg1.fit(X, Y[:, 0]).predict(X).shape == (200,)
    assert reg1.fit(X, Y[:, :1]).predict(X).shape == (200, 1)


@quiet
def test_sigmoid_output_probabilities_sum_to_one():
    X, y = blobs()
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,),
        output="sigmoid",
        max_epochs=30,
        learning_rate=0.01,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    assert clf.network_.activations[-1] == "sigmoid"
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1)
    raw = clf.network_.predict(X)
    np.testing.assert_allclose(P, raw / raw.sum(axis=1, keepdims=True))
    assert clf.score(X, y) > 0.9


@quiet
@pytest.mark.parametrize("Est", [BackpropClassifier, BackpropRegressor])
def test_float32(Est):
    X, y = blobs()
    est = Est(hidden_layer_sizes=(8,), max_epochs=3, dtype="float32", random_state=0).fit(X, y)
    assert est.network_.dtype == "float32"
    out = est.predict_proba(X) if Est is BackpropClassifier else est.predict(X)
    assert out.dtype == np.float32


def test_verbose_prints_each_epoch(capsys):
    X, y = blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        BackpropClassifier(hidden_layer_sizes=(4,), max_epochs=3, verbose=True, random_state=0).fit(
            X, y
        )
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Epoch 1", "Epoch 2", "Epoch 3"]
    assert all("loss = " in line for line in lines)


def test_divergence_warns_and_keeps_finite_weights():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    reg = BackpropRegressor(
        hidden_layer_sizes=(8,), optimizer="sgd", learning_rate=1e3, max_epochs=20, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="lower learning rate|diverged"):
        reg.fit(X, y * 1e3)
    assert all(np.isfinite(p).all() for p in reg.network_.params())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "big"}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (2.5,)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": None}, "hidden_layer_sizes"),
        ({"activation": "softmax"}, "activation must be one of"),
        ({"output": "swish"}, "unknown activation"),
        ({"cost": "hinge"}, "unknown cost"),
        ({"cost": "cross-entropy", "output": "identity"}, "cross-entropy cost needs"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": "big"}, "batch_size"),
        ({"max_epochs": 0}, "max_epochs"),
        ({"max_iter": 2.5}, "max_epochs"),
        ({"alpha": -1}, "l2 .alpha."),
        ({"dropout": 1.0}, "dropout"),
        ({"validation_fraction": 1.0, "early_stopping": True}, "validation_fraction"),
        ({"patience": 0}, "patience"),
        ({"tol": np.nan}, "tol"),
        ({"init": "zeros"}, "init must be one of"),
        ({"dtype": "float16"}, "dtype"),
        ({"random_state": "seed"}, "random_state"),
        ({"standardize": "yes"}, "standardize must be True or False"),
    ],
)
def test_invalid_parameters(params, match):
    X, y = blobs(30)
    est = BackpropClassifier(**{"max_epochs": 1, **params})
    with pytest.raises(ConfigError, match=match) as info:
        est.fit(X, y)
    assert "\n" not in str(info.value)
    assert not hasattr(est, "network_")


def test_not_fitted():
    with pytest.raises(NotFittedError):
        BackpropRegressor().predict(np.zeros((2, 3)))


def test_early_stopping_needs_enough_data():
    X, y = blobs(30)
    with pytest.raises(ConfigError, match="validation_fraction"):
        BackpropRegressor(early_stopping=True, validation_fraction=0.01).fit(X[:20], y[:20])


def test_without_scikit_learn_the_import_says_how_to_install_it():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # as if scikit-learn were not installed
        "try:\n    import backprop.sklearn.estimators\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "backprop.sklearn needs scikit-learn 1.6 or later" in out.stdout
    assert "pip install 'backprop-textbook[sklearn]'" in out.stdout
