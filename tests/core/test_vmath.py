"""``backprop._vmath``: the float32 e^x and σ of the compiled loops against float64.

``expf`` replaces a call to ``expf`` per element with arithmetic the loops
vectorise; it must stay within about 1 ulp of the exact e^x where the result is a
normal float32, reach 0 and inf at the ends as the float32 exp does, and keep
NaN. The exact value is NumPy's float64 exp of the same float32 input; σ's is
1/(1 + e^{−z}) in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="needs numba (the compiled engine): pip install 'numba>=0.59'")

from numba import njit  # noqa: E402

from backprop._vmath import exp as _exp  # noqa: E402
from backprop._vmath import expf as _expf  # noqa: E402


@njit(cache=True)
def _apply(x, out):
    for i in range(x.shape[0]):
        out[i] = _expf(x[i])


@njit(cache=True)
def _apply_dispatch(x, out):
    for i in range(x.shape[0]):
        out[i] = _exp(x[i])


def expf(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _apply(x, out)
    return out


def ulps(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    exact = np.exp(x.astype(np.float64))
    return np.abs(got.astype(np.float64) - exact) / np.spacing(exact.astype(np.float32))


def test_within_one_ulp_over_the_normal_range():
    x = np.linspace(-87.3, 88.3, 1_000_001, dtype=np.float32)
    assert ulps(expf(x), x).max() <= 1.01  # 1.006 where the exact value crosses a power of 2


def test_within_one_ulp_where_sigma_lives():
    x = np.random.default_rng(0).normal(scale=8.0, size=200_000).astype(np.float32)
    x = np.concatenate([x, np.float32([0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 1.0, -1.0])])
    assert ulps(expf(x), x).max() <= 1.01
    assert expf(np.float32([0.0]))[0] == 1.0


def test_ends_and_nan():
    x = np.float32([88.38, 89.0, 1e4, np.inf, -87.7, -88.0, -1e4, -np.inf, np.nan])
    got = expf(x)
    assert np.all(np.isposinf(got[:4]))
    assert np.all(got[4:8] == 0.0)
    assert np.isnan(got[8])


def test_sigma_saturates_as_the_readable_one():
    z = np.float32([-200.0, -90.0, 90.0, 200.0])
    sigma = 1.0 / (1.0 + expf(-z))
    np.testing.assert_array_equal(sigma, np.float32([0.0, 0.0, 1.0, 1.0]))


def test_float64_keeps_the_library_exp():
    x = np.linspace(-700.0, 700.0, 10_001)
    out = np.empty_like(x)
    _apply_dispatch(x, out)
    np.testing.assert_array_equal(out, np.exp(x))  # math.exp and NumPy's: correctly rounded here
    x32 = x.astype(np.float32)[::10]
    out32 = np.empty_like(x32)
    _apply_dispatch(x32, out32)
    np.testing.assert_array_equal(out32, expf(x32))


def test_sigmoid_passes_within_three_ulp_with_the_scale():
    from backprop._vmath import sigmoid_f32, sigmoid_prime_f32

    z = np.random.default_rng(1).normal(scale=6.0, size=(64, 48)).astype(np.float32)
    z[0, :6] = [0.0, 80.0, -80.0, 1e-8, np.inf, -np.inf]
    exact = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
    for scale, zin in ((1.0, z), (2.0, z / 2)):  # z/2 is exact: the prescaled products
        a, sp = zin.copy(), np.empty_like(z)
        sigmoid_prime_f32(a, sp, np.float32(scale))
        err = np.abs(a - exact) / np.spacing(exact.astype(np.float32))
        assert err.max() <= 3.0, err.max()
        np.testing.assert_array_equal(sp, (np.float32(1) - a) * a)
        b = zin.copy()
        sigmoid_f32(b, np.float32(scale))
        np.testing.assert_array_equal(b, a)
    assert a[0, 4] == 1.0 and a[0, 5] == 0.0
