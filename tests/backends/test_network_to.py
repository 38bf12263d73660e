"""``net.to(...)``: a copy on another array library, its arrays, edges, files and errors."""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backends.cases import CPU_BACKENDS, needs_compat, needs_strict, needs_torch_cpu
from backprop import ConfigError, DataError, activations
from backprop.backends import backend_of, resolve, to_numpy


def _net(**kw):
    return bp.Network([4, 6, 3], activation="leaky-relu", output="softmax",
                      cost="cross-entropy", seed=2, **kw)  # fmt: skip


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_to_is_a_copy_with_every_array_in_the_namespace(name):
    net = _net()
    net.act[1].slope = 0.2  # a setting of an activation moves with it
    moved = net.to(name)
    assert moved is not net and moved.xp is resolve(name).xp and net.xp is np
    assert str(moved.device) == str(resolve(name).device)
    assert moved.n_params == net.n_params == 4 * 6 + 6 + 6 * 3 + 3
    assert moved.config() == net.config() and moved.act[1].slope == 0.2
    for p in moved.params():
        assert backend_of(p).name == name
    moved.W[1][...] = moved.xp.zeros_like(moved.W[1])  # training the copy leaves net alone
    assert np.abs(net.W[1]).sum() > 0
    back = moved.to("numpy")
    assert isinstance(back.W[1], np.ndarray) and type(back.act[2]) is activations.Softmax
    np.testing.assert_array_equal(back.W[2], net.W[2])
    assert back.predict(np.ones((2, 4))).shape == (2, 3)
    c = moved.copy()
    c.b[2][...] = moved.xp.ones_like(c.b[2])
    assert float(moved.xp.sum(moved.b[2])) != float(moved.xp.sum(c.b[2]))
    assert to_numpy(moved.astype("float32").W[1]).dtype == np.float32


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_inputs_numpy_or_of_the_namespace_and_clear_errors(name):
    net = _net()
    moved = net.to(name)
    X = np.random.default_rng(0).standard_normal((5, 4))
    y = np.array([0, 2, 1, 1, 0])
    backend = resolve(name)
    out = moved.predict(backend.asarray(X))
    assert backend_of(out).name == name
    np.testing.assert_allclose(to_numpy(out), net.predict(X), rtol=0, atol=1e-15)
    np.testing.assert_allclose(to_numpy(moved.predict(X[0])), net.predict(X[0]), atol=1e-15)
    got = moved.gradients(backend.asarray(X), backend.asarray(y))  # labels on the device
    np.testing.assert_allclose(to_numpy(got.W[1]), net.gradients(X, y).W[1], atol=1e-15)
    assert moved.cost(X, y) == pytest.approx(net.cost(X, y), rel=1e-14)
    with pytest.raises(DataError, match="X has 3 features but the network's input layer has 4"):
        moved.predict(backend.asarray(X[:, :3]))
    with pytest.raises(DataError, match=r"class labels must lie in 0\.\.2, got 0\.\.7"):
        moved.cost(backend.asarray(X), backend.asarray(np.array([0, 7, 1, 1, 0])))
    with pytest.raises(DataError, match="targets must have shape"):
        moved.cost(X, backend.asarray(np.ones((5, 2))))


@needs_strict
@needs_compat
def test_arrays_of_another_library_are_refused_in_one_line():
    pytest.importorskip("torch", reason="needs torch (pip install torch==2.13.0)")
    import torch

    moved = _net().to("array_api_strict")
    with pytest.raises(DataError, match="X is a torch array but the network lives on array_api_st"):
        moved.predict(torch.ones((2, 4), dtype=torch.float64))


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_save_from_the_device_is_the_same_file_and_load_puts_it_back(tmp_path, name):
    net = _net()
    X = np.random.default_rng(1).standard_normal((3, 4))
    moved = net.to(name)
    net.save(tmp_path / "host.safetensors")
    moved.save(tmp_path / "device.safetensors")
    assert (tmp_path / "host.safetensors").read_bytes() == (
        tmp_path / "device.safetensors"
    ).read_bytes()
    again = bp.load(tmp_path / "device.safetensors", to=name)
    assert backend_of(again.W[1]).name == name
    np.testing.assert_array_equal(to_numpy(again.predict(X)), to_numpy(moved.predict(X)))
    host = bp.load(tmp_path / "device.safetensors")
    np.testing.assert_array_equal(host.predict(X), net.predict(X))


def test_unknown_library_is_one_line():
    with pytest.raises(ConfigError, match="unknown array library 'jax'; choose one of"):
        _net().to("jax")


@needs_torch_cpu
def test_custom_activations_do_not_move():
    class Cube(activations.Activation):
        name = "cube"

        def f(self, z):
            return z**3

        def prime(self, z, a):
            return 3 * z**2

    net = bp.Network([2, 3, 1], activation=[Cube()], output="identity", seed=0)
    with pytest.raises(ConfigError, match="'cube' .* has no array-API form"):
        net.to("torch")
