"""Names → namespaces and devices, the errors that say what to install, and moving arrays."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from backends.cases import CPU_BACKENDS, needs_compat, needs_strict
from backprop import ConfigError
from backprop.backends import backend_of, device_of, namespace_of, resolve, to_numpy

HAS_CUPY = importlib.util.find_spec("cupy") is not None


@pytest.mark.parametrize("name", CPU_BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_round_trip_is_exact_and_a_copy(name, dtype):
    backend = resolve(name)
    x = (np.arange(12).reshape(3, 4) * 0.1).astype(dtype)
    y = backend.asarray(x)
    assert backend_of(y).name == name
    assert namespace_of(y) is backend.xp
    x[0, 0] = 99  # the backend's array is a copy: it does not follow
    back = to_numpy(y)
    assert back.dtype == np.dtype(dtype)
    assert back[0, 0] == 0
    np.testing.assert_array_equal(back[1:], x[1:])
    back[1, 1] = -1  # and the NumPy copy does not write through either
    assert to_numpy(y)[1, 1] != -1


@needs_strict
@needs_compat
def test_strict_second_device_keeps_arrays_there():
    # array-api-strict simulates devices and refuses to mix them: a stand-in for a GPU
    backend = resolve("array_api_strict", "device1")
    y = backend.asarray(np.ones((2, 3)), "float32")
    assert str(device_of(y)) == str(backend.device)
    assert "device1" in str(device_of(y))
    with pytest.raises(ValueError, match="different devices"):
        _ = y + resolve("array_api_strict").asarray(np.ones((2, 3)), "float32")
    np.testing.assert_array_equal(to_numpy(y), np.ones((2, 3), np.float32))


def test_numpy_is_numpy_itself():
    backend = resolve("numpy")
    assert backend.xp is np and backend.device == "cpu"
    assert namespace_of(np.ones(2), [1.0]) is np
    assert device_of(np.ones(2)) == "cpu"


@pytest.mark.parametrize(
    "name, device, message",
    [
        ("jax", None, "unknown array library 'jax'; choose one of: array_api_strict, cupy"),
        ("numpy", "cuda", "NumPy arrays live on the CPU"),
        pytest.param(
            "array_api_strict", "gpu", "unknown array_api_strict device 'gpu'", marks=needs_strict
        ),
        ("torch", "tpu", "unknown PyTorch device 'tpu'"),
    ],
)
def test_bad_names_say_what_to_use(name, device, message):
    if name == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch (pip install torch==2.13.0)")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        resolve(name, device)


@pytest.mark.skipif(
    HAS_CUPY, reason="CuPy is installed here: the missing-library error cannot occur"
)
def test_missing_cupy_says_what_to_install():
    with pytest.raises(ConfigError, match=r"^cupy is not installed: pip install cupy-cuda12x"):
        resolve("cupy")


def test_no_cuda_device_is_one_clear_line():
    torch = pytest.importorskip("torch", reason="needs torch (pip install torch==2.13.0)")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the no-GPU error cannot occur")
    with pytest.raises(ConfigError, match=r"PyTorch sees no CUDA device") as err:
        resolve("torch", "cuda")
    assert "\n" not in str(err.value)
    if not HAS_CUPY:
        from backprop.backends import cuda

        with pytest.raises(ConfigError, match=r"--device cuda needs an NVIDIA GPU") as err:
            cuda()
        assert "cupy is not installed" in str(err.value)
        assert "PyTorch sees no CUDA device" in str(err.value)
