"""The same equalities on a GPU: CuPy and PyTorch's CUDA (skipped without a CUDA device).

CI has no GPU, so these skip there with the reason; ``benchmarks/gpu.py`` runs the same
checks (and the speed comparison) in one command on a machine that has one.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import backprop as bp
from backends.cases import cases, data, sizes_of
from backprop import optimizers as optim
from backprop.backends import resolve, to_numpy
from backprop.backends.move import move
from backprop.backends.step import ArrayStep


def _cupy_device() -> bool:
    if importlib.util.find_spec("cupy") is None:
        return False
    import cupy

    try:
        return bool(cupy.cuda.runtime.getDeviceCount() > 0)
    except Exception:  # no driver
        return False


def _torch_cuda() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


HAS_COMPAT = importlib.util.find_spec("array_api_compat") is not None
needs_cupy = pytest.mark.skipif(
    not (HAS_COMPAT and _cupy_device()), reason="needs CuPy and a CUDA device"
)
needs_torch_cuda = pytest.mark.skipif(
    not (HAS_COMPAT and _torch_cuda()), reason="needs PyTorch with CUDA and a CUDA device"
)
GPU_BACKENDS = [
    pytest.param(("cupy", "cuda"), marks=needs_cupy, id="cupy"),
    pytest.param(("torch", "cuda"), marks=needs_torch_cuda, id="torch-cuda"),
]


@pytest.mark.parametrize("where", GPU_BACKENDS)
@pytest.mark.parametrize("depth, hidden, output, cost", list(cases()))
def test_gpu_gradients_equal_numpy_float64(where, depth, hidden, output, cost):
    sizes = sizes_of(depth)
    net = bp.Network(sizes, activation=hidden, output=output, cost=cost, seed=depth)
    X, T = data(sizes, 7, output, seed=depth)
    want = net.gradients(X, T)
    backend = resolve(*where)
    step = ArrayStep(
        move(net, backend),
        optim.SGD(0.1),
        l2=0.0,
        n_train=7,
        dropout=0.0,
        rng=np.random.default_rng(0),
    )
    dW, db = step.gradients(backend.asarray(X), backend.asarray(T))
    for l in range(1, depth + 1):
        assert "cuda" in str(dW[l].device).lower() or where[0] == "cupy"
        np.testing.assert_allclose(to_numpy(dW[l]), want.W[l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(to_numpy(db[l]), want.b[l], rtol=0, atol=1e-12)


@pytest.mark.parametrize("where", GPU_BACKENDS)
def test_gpu_device_dropout_is_reproducible(where, digits):
    X, y = digits
    T = np.eye(10)[y]
    runs = []
    for _ in range(2):
        net = bp.Network([64, 32, 10], output="softmax", cost="cross-entropy", seed=1)
        rng = np.random.default_rng(3)
        step = ArrayStep(
            move(net, resolve(*where)), optim.SGD(0.1), l2=0.0, n_train=len(X), dropout=0.3, rng=rng
        )
        assert step.masks_from == "device"
        step.load(X, T)
        step.begin_epoch(rng.permutation(len(X)))
        for start in range(0, len(X), 64):
            step.train_batch(start, min(start + 64, len(X)), 0.1)
        runs.append(to_numpy(step.net.W[1]))
    np.testing.assert_array_equal(runs[0], runs[1])
