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
from backprop.backends import to_numpy


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
    pytest.param("cupy", marks=needs_cupy, id="cupy"),
    pytest.param("torch", marks=needs_torch_cuda, id="torch-cuda"),
]


@pytest.mark.parametrize("name", GPU_BACKENDS)
@pytest.mark.parametrize("depth, hidden, output, cost", list(cases()))
def test_gpu_gradients_equal_numpy_float64(name, depth, hidden, output, cost):
    sizes = sizes_of(depth)
    net = bp.Network(sizes, activation=hidden, output=output, cost=cost, seed=depth)
    X, T = data(sizes, 7, output, seed=depth)
    want = net.gradients(X, T)
    gpu = net.to(name, device="cuda")
    got = gpu.gradients(X, T)
    assert "cuda" in str(gpu.device).lower() or name == "cupy"
    for l in range(1, depth + 1):
        np.testing.assert_allclose(to_numpy(got.W[l]), want.W[l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(to_numpy(got.b[l]), want.b[l], rtol=0, atol=1e-12)
        np.testing.assert_allclose(to_numpy(got.delta[l]), want.delta[l], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", GPU_BACKENDS)
def test_gpu_training_equals_numpy_with_numpy_masks(name, digits):
    X, y = digits
    kw = {"epochs": 3, "batch_size": 32, "lr": 0.003, "seed": 5, "optimizer": "adam",
          "l2": 0.5, "dropout": 0.2}  # fmt: skip
    net = bp.Network([64, 30, 10], activation="relu", output="softmax", cost="cross-entropy",
                     init="he-normal", seed=1)  # fmt: skip
    ref, gpu = net.copy(), net.to(name, device="cuda")
    bp.train(ref, X, y, **kw)
    bp.train(gpu, X, y, engine="array-api-numpy-masks", **kw)
    for l in (1, 2):
        np.testing.assert_allclose(to_numpy(gpu.W[l]), ref.W[l], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", GPU_BACKENDS)
def test_gpu_device_dropout_is_reproducible(name, digits):
    X, y = digits
    runs = []
    for _ in range(2):
        gpu = bp.Network([64, 32, 10], output="softmax", cost="cross-entropy", seed=1)
        gpu = gpu.to(name, device="cuda")
        bp.train(gpu, X, y, epochs=2, batch_size=64, lr=0.1, dropout=0.3, seed=3)
        runs.append(to_numpy(gpu.W[1]))
    np.testing.assert_array_equal(runs[0], runs[1])
