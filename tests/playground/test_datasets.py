"""The data sets follow TensorFlow Playground's src/dataset.ts, checked point by point."""

from __future__ import annotations

import numpy as np
import pytest

from backprop.playground import datasets as ds

RNG = np.random.default_rng


def test_circle_without_noise_labels_by_radius():
    X, y = ds.circle(RNG(1), 500, 0.0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert X.shape == (500, 2) and (y == 1).sum() == 250
    assert np.all(r[y == 1] < 2.5) and np.all((r[y == -1] >= 3.5) & (r[y == -1] <= 5))


def test_circle_noise_flips_some_labels_near_the_border():
    X, y = ds.circle(RNG(2), 2000, 0.5)
    r = np.hypot(X[:, 0], X[:, 1])
    inner = r < 2.5
    # noise moves the labelling point: some inner points are labelled −1
    assert 0 < (y[inner] == -1).mean() < 0.9


def test_xor_labels_by_quadrant_with_padding():
    X, y = ds.xor(RNG(3), 1000, 0.0)
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    np.testing.assert_array_equal(y, np.where(X[:, 0] * X[:, 1] >= 0, 1.0, -1.0))


@pytest.mark.parametrize(("noise", "variance"), [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)])
def test_gauss_variance_follows_the_playgrounds_scale(noise, variance):
    X, y = ds.gauss(RNG(4), 40_000, noise)
    pos = X[y == 1]
    np.testing.assert_allclose(pos.mean(axis=0), [2, 2], atol=0.05)
    np.testing.assert_allclose(pos.var(axis=0), [variance, variance], rtol=0.05)
    np.testing.assert_allclose(X[y == -1].mean(axis=0), [-2, -2], atol=0.05)


def test_spiral_without_noise_lies_on_the_curve():
    X, y = ds.spiral(RNG(5), 500, 0.0)
    i = np.arange(250)
    r, t = i / 250 * 5, 1.75 * i / 250 * 2 * np.pi
    np.testing.assert_allclose(X[:250], np.column_stack([r * np.sin(t), r * np.cos(t)]))
    np.testing.assert_allclose(X[250:], -X[:250], atol=1e-12)  # shifted by π
    assert np.all(y[:250] == 1) and np.all(y[250:] == -1)


def test_plane_is_the_sum_over_ten():
    X, y = ds.plane(RNG(6), 1200, 0.0)
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 10)
    assert np.abs(X).max() <= 6


def test_multigauss_peaks_and_clamps():
    X, y = ds.multigauss(RNG(7), 1200, 0.0)
    assert np.all(np.abs(y) <= 1)
    # at a centre the label is the bump's sign; 2 or more from every centre it is 0
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    d = np.hypot(X[:, None, 0] - centres[:, 0], X[:, None, 1] - centres[:, 1]).min(axis=1)
    assert np.all(y[d >= 2] == 0)
    near = d.argmin()
    assert abs(y[near]) == pytest.approx(1 - d[near] / 2)


def test_generate_is_seeded_and_split_as_the_playground():
    X1, y1 = ds.generate("spiral", 0.1, seed=9)
    X2, y2 = ds.generate("spiral", 0.1, seed=9)
    X3, _ = ds.generate("spiral", 0.1, seed=10)
    np.testing.assert_array_equal(X1, X2) and np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    assert len(ds.generate("plane", 0, 0)[0]) == 1200 and len(X1) == 500
    assert ds.split(500, 50) == 250 and ds.split(500, 10) == 50 and ds.split(1200, 70) == 840


def test_features_in_the_playgrounds_order():
    X = np.array([[1.0, 2.0], [-0.5, 3.0]])
    F = ds.features(X, ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"])
    expected = [
        [1, 2, 1, 4, 2, np.sin(1), np.sin(2)],
        [-0.5, 3, 0.25, 9, -1.5, np.sin(-0.5), np.sin(3)],
    ]
    np.testing.assert_allclose(F, expected)
