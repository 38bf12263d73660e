"""The data sets of TensorFlow Playground, generated as its ``src/dataset.ts`` does.

Each generator returns ``(X, y)``: points X of shape (n, 2) in roughly [−6, 6]² and labels y
of shape (n,): ±1 for the two-class sets (``circle``, ``xor``, ``gauss``, ``spiral``), a
number in [−1, 1] for the regression sets (``plane``, ``multigauss``). ``noise`` is a
fraction in [0, 0.5] (the page's 0–50 %). The random numbers come from the generator
passed in, so a seed reproduces a data set bit for bit (TensorFlow Playground seeds
``Math.random``; the distributions are the same, the streams are NumPy's).

The input features (x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂) are :data:`FEATURES`, in the
order the playground lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "CLASSIFY",
    "FEATURES",
    "GENERATORS",
    "REGRESS",
    "features",
    "generate",
    "split",
]

Generator = Callable[[np.random.Generator, int, float], tuple[np.ndarray, np.ndarray]]


def circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Label +1 inside radius 2.5, −1 in the ring 3.5–5; noise moves the labelling point."""
    radius = 5.0
    half = n // 2
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, half), rng.uniform(radius * 0.7, radius, n - half)]
    )
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    shifted = X + rng.uniform(-radius, radius, (n, 2)) * noise
    y = np.where(np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5, 1.0, -1.0)
    return X, y


def xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Label +1 where x₁x₂ ≥ 0; each coordinate padded 0.3 away from the axes."""
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    shifted = X + rng.uniform(-5, 5, (n, 2)) * noise
    y = np.where(shifted[:, 0] * shifted[:, 1] >= 0, 1.0, -1.0)
    return X, y


def gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussians at (2, 2) (+1) and (−2, −2) (−1), variance 0.5 + 7 · noise."""
    variance = 0.5 + (4 - 0.5) * noise / 0.5  # d3 linear scale [0, .5] → [0.5, 4]
    half = n // 2
    pos = rng.normal(2.0, np.sqrt(variance), (half, 2))
    neg = rng.normal(-2.0, np.sqrt(variance), (n - half, 2))
    y = np.concatenate([np.ones(half), -np.ones(n - half)])
    return np.vstack([pos, neg]), y


def spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, 1.75 turns each, radius up to 5."""
    half = n // 2
    parts, labels = [], []
    for delta_t, label, count in ((0.0, 1.0, half), (np.pi, -1.0, n - half)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + delta_t
        jitter = rng.uniform(-1, 1, (count, 2)) * noise
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]) + jitter)
        labels.append(np.full(count, label))
    return np.vstack(parts), np.concatenate(labels)


def plane(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Regression: y = (x₁ + x₂)/10 at a noise-shifted point, x uniform on [−6, 6]²."""
    X = rng.uniform(-6, 6, (n, 2))
    shifted = X + rng.uniform(-6, 6, (n, 2)) * noise
    y = (shifted[:, 0] + shifted[:, 1]) / 10  # d3 scale [−10, 10] → [−1, 1], unclamped
    return X, y


#: the six bumps of ``multigauss``: centre x₁, x₂ and sign
_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


def multigauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Regression: six signed bumps, 1 at a centre falling to 0 at distance 2; largest |·| wins."""
    X = rng.uniform(-6, 6, (n, 2))
    shifted = X + rng.uniform(-6, 6, (n, 2)) * noise
    d = np.hypot(shifted[:, None, 0] - _BUMPS[:, 0], shifted[:, None, 1] - _BUMPS[:, 1])
    values = _BUMPS[:, 2] * np.clip(1 - d / 2, 0, 1)  # (n, 6): scale [0, 2] → [1, 0], clamped
    pick = np.abs(values).argmax(axis=1)
    y = values[np.arange(n), pick]
    return X, y


CLASSIFY: dict[str, Generator] = {"circle": circle, "xor": xor, "gauss": gauss, "spiral": spiral}
REGRESS: dict[str, Generator] = {"plane": plane, "multigauss": multigauss}
GENERATORS: dict[str, Generator] = {**CLASSIFY, **REGRESS}
#: points per data set, as in the playground
N_CLASSIFY, N_REGRESS = 500, 1200


def generate(name: str, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Data set ``name`` with ``noise`` in [0, 0.5], shuffled, from ``seed``: (X (n, 2), y (n,))."""
    rng = np.random.default_rng(seed)
    n = N_REGRESS if name in REGRESS else N_CLASSIFY
    X, y = GENERATORS[name](rng, n, noise)
    order = rng.permutation(n)
    return X[order], y[order]


def split(n: int, train_percent: int) -> int:
    """How many of n shuffled points train (the rest test): ⌊n · p / 100⌋, as the playground."""
    return (n * train_percent) // 100


#: input features: key → (label, f(x1, x2)), in the playground's order
FEATURES: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "x1": ("x₁", lambda x1, x2: x1),
    "x2": ("x₂", lambda x1, x2: x2),
    "x1sq": ("x₁²", lambda x1, x2: x1 * x1),
    "x2sq": ("x₂²", lambda x1, x2: x2 * x2),
    "x1x2": ("x₁x₂", lambda x1, x2: x1 * x2),
    "sinx1": ("sin x₁", lambda x1, x2: np.sin(x1)),
    "sinx2": ("sin x₂", lambda x1, x2: np.sin(x2)),
}


def features(X: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """The network's input: features ``keys`` of the points X (n, 2), as (n, len(keys))."""
    x1, x2 = X[:, 0], X[:, 1]
    return np.column_stack([FEATURES[k][1](x1, x2) for k in keys]).astype(np.float64)
