"""σ, σ', costs and optimiser updates in the standard's functions equal NumPy's forms."""

from __future__ import annotations

import numpy as np
import pytest

from backends.cases import CPU_BACKENDS
from backprop import ConfigError, activations, costs
from backprop import optimizers as optim
from backprop.backends import resolve, to_numpy
from backprop.backends import updates as xupdates
from backprop.backends.functions import ACTIVATIONS, activation_for, cost_for


def _z(dtype: str) -> np.ndarray:
    # large |z| too: the forms must not overflow where NumPy's do not
    z = np.concatenate([np.linspace(-40, 40, 9), np.linspace(-2, 2, 11), [0.0]])
    return np.stack([z, -0.5 * z, z[::-1]]).astype(dtype)  # (3, 21): 3 outputs, 21 examples


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("act_name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-15), ("float32", 1e-6)])
def test_every_activation_equals_numpy(name, act_name, dtype, tol):
    backend = resolve(name)
    ref, form = activations.get(act_name), activation_for(activations.get(act_name), False)
    z = _z(dtype)
    g = np.cos(z)  # an upstream gradient
    zx, gx = backend.asarray(z), backend.asarray(g)
    a, ax = ref.f(z), form.f(zx)
    assert to_numpy(ax).dtype == np.dtype(dtype)
    np.testing.assert_allclose(to_numpy(ax), a, rtol=tol, atol=tol)
    np.testing.assert_allclose(
        to_numpy(form.backprop(gx, zx, ax)), ref.backprop(g, z, a), rtol=tol, atol=tol
    )
    if ref.elementwise:
        np.testing.assert_allclose(
            to_numpy(form.prime(zx, ax)), ref.prime(z, a), rtol=tol, atol=tol
        )
    for log in ("log", "log1m"):
        if hasattr(ref, log):
            got, want = to_numpy(getattr(form, log)(zx)), getattr(ref, log)(z)
            assert np.isfinite(got).all()
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize(
    "cost_name, output",
    [
        ("quadratic", "sigmoid"),
        ("quadratic", "tanh"),
        ("quadratic", "softmax"),
        ("cross-entropy", "sigmoid"),
        ("cross-entropy", "softmax"),
    ],
)
def test_every_cost_value_and_delta_equals_numpy(name, cost_name, output):
    backend = resolve(name)
    ref, form = costs.get(cost_name), cost_for(costs.get(cost_name), False)
    out_ref, out_form = activations.get(output), activation_for(activations.get(output), False)
    z = _z("float64")
    a = out_ref.f(z)
    t = np.random.default_rng(0).random(z.shape)
    zx, ax, tx = backend.asarray(z), backend.asarray(a), backend.asarray(t)
    np.testing.assert_allclose(
        to_numpy(form.value(zx, ax, tx, out_form)), ref.value(z, a, t, out_ref), rtol=1e-14
    )
    np.testing.assert_allclose(
        to_numpy(form.delta(zx, ax, tx, out_form)), ref.delta(z, a, t, out_ref), atol=1e-15
    )


def test_forms_keep_settings_and_refuse_custom_ones():
    leaky = activations.get("leaky-relu")
    leaky.slope = 0.2
    moved = activation_for(leaky, False)
    assert moved.slope == 0.2 and moved.name == "leaky-relu"
    back = activation_for(moved, True)
    assert type(back) is activations.LeakyReLU and back.slope == 0.2

    class Square(activations.Activation):
        name = "square"

        def f(self, z):
            return z * z

    assert activation_for(Square(), True).name == "square"  # NumPy keeps it as it is
    with pytest.raises(ConfigError, match="'square' .* has no array-API form"):
        activation_for(Square(), False)


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("opt_name", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_optimizer_updates_equal_numpy(name, opt_name, dtype):
    backend = resolve(name)
    rng = np.random.default_rng(1)
    params = [rng.standard_normal(s).astype(dtype) for s in [(4, 3), (4, 1)]]
    ref, xopt = optim.get(opt_name, 0.05), optim.get(opt_name, 0.05)
    xparams = [backend.asarray(p) for p in params]
    for _ in range(5):
        grads = [rng.standard_normal(p.shape).astype(dtype) for p in params]
        ref.step(params, grads)
        xupdates.step(xopt, xparams, [backend.asarray(g) for g in grads])
    tol = 1e-15 if dtype == "float64" else 1e-6
    for p, xp_ in zip(params, xparams):
        assert to_numpy(xp_).dtype == np.dtype(dtype)
        np.testing.assert_allclose(to_numpy(xp_), p, rtol=tol, atol=tol)
    xupdates.state_to_numpy(xopt)  # a checkpoint of the namespace's state: NumPy arrays
    for key in ("v", "m"):
        if getattr(ref, key, None) is not None:
            for got, want in zip(getattr(xopt, key), getattr(ref, key)):
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_custom_optimizer_is_refused():
    class Sign(optim.Optimizer):
        name = "sign"

    with pytest.raises(ConfigError, match="Sign has no array-API form"):
        xupdates.step(Sign(0.1), [np.ones(2)], [np.ones(2)])
