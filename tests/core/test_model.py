"""``backprop.Model``: a network and its standardisation, raw rows in, the target's units out.

The expected numbers come from scikit-learn's ``StandardScaler`` and a forward pass written
here; the network itself stays the readable BP1–BP4 on standardised rows.
"""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backprop.training import evaluate

preprocessing = pytest.importorskip("sklearn.preprocessing")


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((64, 4)) * [0.01, 1, 100, 1e4] + [1, -3, 500, 2e5]
    X[:, 0] = 7.0  # a feature that does not vary: only centred (scale 1)
    Y = rng.standard_normal((64, 2)) * [5, 300] + [20, 1e3]
    return X, Y


def test_standardizer_matches_standard_scaler() -> None:
    X, Y = _data()
    s = bp.Standardizer.fit(X, Y)
    x_ref, y_ref = preprocessing.StandardScaler().fit(X), preprocessing.StandardScaler().fit(Y)
    np.testing.assert_allclose(s.mean, x_ref.mean_, rtol=1e-13)
    np.testing.assert_allclose(s.scale, x_ref.scale_, rtol=1e-13)
    assert s.scale[0] == 1.0 and x_ref.scale_[0] == 1.0
    np.testing.assert_allclose(s.transform(X), x_ref.transform(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.transform_target(Y), y_ref.transform(Y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.inverse_target(y_ref.transform(Y)), Y, rtol=1e-12)
    one = bp.Standardizer.fit(X, Y[:, 0])  # a 1-D target is one column
    assert one.y_mean.shape == (1,)
    np.testing.assert_allclose(one.transform_target(Y[:, 0]), y_ref.transform(Y)[:, 0], rtol=1e-12)
    assert bp.Standardizer.from_tensors(s.to_tensors()) == s


def test_predict_is_the_network_on_standardised_rows_in_the_targets_units() -> None:
    X, Y = _data()
    net = bp.Network([4, 5, 2], activation="tanh", output="identity", dtype="float64", seed=3)
    model = bp.Model(net, bp.Standardizer.fit(X, Y))
    x_ref, y_ref = preprocessing.StandardScaler().fit(X), preprocessing.StandardScaler().fit(Y)
    a = np.tanh(x_ref.transform(X) @ net.W[1].T + net.b[1].ravel()) @ net.W[2].T + net.b[2].ravel()
    np.testing.assert_allclose(model.predict(X), y_ref.inverse_transform(a), rtol=1e-10)
    # the Network itself is untouched: it takes standardised rows
    np.testing.assert_allclose(net.predict(x_ref.transform(X)), a, rtol=1e-12)
    assert model.sizes == [4, 5, 2] and model.config() == net.config()
    assert bp.Model.of(model) is model and bp.Model.of(net).standardizer is None
    np.testing.assert_array_equal(bp.Model.of(net).predict(X), net.predict(X))


def test_evaluate_a_model_is_the_networks_cost_on_the_data_as_trained() -> None:
    X, Y = _data()
    net = bp.Network([4, 5, 2], activation="tanh", output="identity", dtype="float64", seed=3)
    model = bp.Model(net, bp.Standardizer.fit(X, Y))
    x_ref, y_ref = preprocessing.StandardScaler().fit(X), preprocessing.StandardScaler().fit(Y)
    cost, accuracy = evaluate(model, X, Y)  # raw X and Y
    residual = net.predict(x_ref.transform(X)) - y_ref.transform(Y)
    assert cost == pytest.approx(0.5 * np.mean(np.sum(residual**2, axis=1)), rel=1e-10)
    assert accuracy is None
    labels = np.arange(64) % 3
    clf = bp.Model(
        bp.Network([4, 6, 3], output="softmax", cost="cross-entropy", seed=0),
        bp.Standardizer.fit(X),
    )
    _, acc = evaluate(clf, X, labels)  # class labels are never scaled
    assert acc == pytest.approx(np.mean(clf.predict(X).argmax(axis=1) == labels))


def test_a_model_on_another_array_library() -> None:
    pytest.importorskip("array_api_strict")
    pytest.importorskip("array_api_compat")
    from backprop.backends import backend_of, to_numpy

    X, Y = _data()
    net = bp.Network([4, 5, 2], activation="relu", output="identity", dtype="float64", seed=1)
    model = bp.Model(net, bp.Standardizer.fit(X, Y))
    moved = model.to("array_api_strict")
    assert backend_of(moved.network.W[1]).name == "array_api_strict"
    out = moved.predict(X)
    assert backend_of(out).name == "array_api_strict"
    np.testing.assert_allclose(to_numpy(out), model.predict(X), rtol=1e-12)


def test_the_networks_maths_is_asked_of_the_network() -> None:
    model = bp.Model(bp.Network([4, 3], seed=0), bp.Standardizer.fit(_data()[0]))
    for name in ("W", "forward", "backward", "cost"):
        with pytest.raises(AttributeError, match=f"use model.network.{name} with model.inputs"):
            getattr(model, name)
    with pytest.raises(bp.ConfigError, match="a Model needs a backprop.Network"):
        bp.Model("net.safetensors")  # type: ignore[arg-type]
    assert repr(model) == (
        "Model(Network([4, 3], activation=[], output='sigmoid', cost='quadratic', "
        "dtype='float64'), Standardizer(4 features))"
    )
