"""Each activation's and cost's in-place kernels compute its own σ, σ', (∂a/∂z)ᵀg, δ^L, C_x.

The kernels record NumPy calls into a recorder (the fast engine's tape); here a
minimal recorder replays them at once, and the results are compared with the
readable ``f``, ``prime``, ``backprop``, ``delta`` and ``value`` beside them.
The facts other modules ask for (formula, ONNX operator, …) are checked too.
"""

import numpy as np
import pytest

from backprop import activations, costs
from support import needs_torch, optional_import


class Replay:
    """A Recorder that runs each call immediately."""

    def __init__(self, m, dtype="float64"):
        self.m, self.dtype = m, np.dtype(dtype)

    def do(self, f, *args):
        f(*args)

    def const(self, x):
        return np.array(x, dtype=self.dtype)

    def col(self, k):
        return np.zeros((k, self.m), dtype=self.dtype)

    def ones(self, rows, cols):
        return np.ones((rows, cols), dtype=self.dtype)


Z = np.array(
    [[-3.0, -0.5, 0.0, 0.25, 4.0], [1.5, -2.0, 0.7, -0.01, 0.0], [0.3, 9.0, -9.0, 2.0, -1.0]]
)


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
@pytest.mark.parametrize("inplace", [True, False], ids=["a-over-z", "a-apart"])
def test_record_forward_and_vjp_equal_f_prime_backprop(name, inplace):
    act = activations.get(name)
    assert act.has_kernels()
    rec = Replay(Z.shape[1])
    z = Z.copy()
    a = z if inplace else np.zeros_like(z)
    sp = act.record_forward(rec, z, a, need_prime=True, prescaled=False)
    want_a = act.f(Z)
    np.testing.assert_allclose(a, want_a, rtol=1e-15, atol=1e-16)
    g = np.linspace(-1, 1, Z.size).reshape(Z.shape)
    got = g.copy()
    act.record_vjp(rec, got, a, sp)
    np.testing.assert_allclose(got, act.backprop(g, Z, want_a), rtol=1e-14, atol=1e-16)
    if act.elementwise and sp is not None:
        np.testing.assert_allclose(sp, act.prime(Z, want_a), rtol=1e-15, atol=1e-16)


def test_prescaled_sigmoid_takes_half_z():
    act, rec = activations.get("sigmoid"), Replay(Z.shape[1])
    a = np.zeros_like(Z)
    act.record_forward(rec, Z * act.prescale, a, need_prime=False, prescaled=True)
    np.testing.assert_allclose(a, act.f(Z), rtol=1e-15)
    np.testing.assert_allclose(a, 1 / (1 + np.exp(-Z)), rtol=1e-12)


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_apply_inplace_equals_f(name):
    act = activations.get(name)
    z = Z.copy()
    act.apply_inplace(z, activations.Workspace("float64"))
    np.testing.assert_allclose(z, act.f(Z), rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize(
    "output, cost",
    [(o, "quadratic") for o in activations.ACTIVATIONS]
    + [("sigmoid", "cross-entropy"), ("softmax", "cross-entropy")],
)
def test_cost_kernels_equal_delta_and_value(output, cost):
    act, c = activations.get(output), costs.get(cost)
    assert c.has_kernels()
    rng = np.random.default_rng(0)
    t = rng.random(Z.shape)
    a = act.f(Z)
    rec = Replay(Z.shape[1])
    sp = act.record_forward(rec, Z.copy(), np.zeros_like(Z), need_prime=True, prescaled=False)
    delta = np.zeros_like(Z)
    c.record_delta(rec, a, t, delta, act, sp if c.delta_needs_prime(act) else None)
    np.testing.assert_allclose(delta, c.delta(Z, a, t, act), rtol=1e-14, atol=1e-16)
    total, a_out = c.total_inplace(Z.copy(), t, act, activations.Workspace("float64"))
    assert total == pytest.approx(float(c.value(Z, a, t, act).sum()), rel=1e-13)
    np.testing.assert_allclose(a_out, a, rtol=1e-15, atol=1e-16)


def test_a_subclass_that_changes_the_maths_has_no_trusted_kernels():
    class Steeper(activations.Sigmoid):
        def f(self, z):
            return super().f(2 * z)

    class Renamed(activations.Tanh):
        name = "renamed"

    assert not Steeper().has_kernels()
    assert Renamed().has_kernels()


def test_facts_other_modules_ask_for():
    get = activations.get
    assert get("sigmoid").formula == "σ(z) = 1/(1 + e⁻ᶻ), σ'(z) = σ(z)(1 − σ(z))"
    assert get("leaky-relu").onnx == ("LeakyRelu", {"alpha": activations.LeakyReLU.slope})
    assert get("softmax").onnx == ("Softmax", {"axis": -1})
    assert {n: get(n).peak_prime for n in ("sigmoid", "tanh", "relu")} == {
        "sigmoid": 0.25,  # σ'(0) = ¼
        "tanh": 1.0,
        "relu": None,
    }
    assert [n for n in activations.ACTIVATIONS if get(n).kinked] == ["relu", "leaky-relu"]
    assert [n for n in activations.ACTIVATIONS if get(n).dies] == ["relu"]
    for name in activations.ACTIVATIONS:
        act = get(name)
        assert act.formula and act.onnx is not None
        if act.peak_prime is not None:  # the peak is σ'(0), the largest value of σ'
            z = np.linspace(-5, 5, 1001).reshape(1, -1)
            assert act.prime(z, act.f(z)).max() == pytest.approx(act.peak_prime)


torch = optional_import("torch")


@needs_torch
@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_torch_modules_compute_the_same_function_and_map_back(name):
    act = activations.get(name)
    module = act.torch_module(torch.nn)
    got = module(torch.from_numpy(Z.T.copy())).numpy().T  # torch rows are examples
    np.testing.assert_allclose(got, act.f(Z), rtol=1e-12, atol=1e-15)
    back = activations.from_torch(module, torch.nn)
    assert back is not None and back.name == name and back.torch_mismatch(module) is None
    assert activations.from_torch(torch.nn.Softplus(), torch.nn) is None
    if name == "leaky-relu":
        assert "negative_slope=0.2" in act.torch_mismatch(torch.nn.LeakyReLU(0.2))
    if name == "softmax":
        assert "dim=0" in act.torch_mismatch(torch.nn.Softmax(dim=0))
