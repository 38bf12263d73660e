"""Which step ``engine="auto"`` and ``engine="jit"`` build, with and without numba."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import backprop.jit.engine as jit_engine
from backprop import Network, optimizers, train
from backprop.errors import ConfigError
from backprop.fast import FastStep
from backprop.training.step import make_step

needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None,
    reason="needs numba (the compiled engine): pip install 'numba>=0.59'",
)


def step_for(sizes, n_train, engine="auto", batch_size=None):
    net = Network(sizes, seed=0)
    opt = optimizers.SGD(0.1)
    return make_step(net, opt, n_train=n_train, engine=engine, batch_size=batch_size)


def test_without_numba_auto_quietly_uses_the_fast_step(monkeypatch):
    monkeypatch.setattr(jit_engine, "available", lambda: False)
    assert isinstance(step_for([3, 4, 2], 5000), FastStep)


def test_without_numba_jit_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(jit_engine, "available", lambda: False)
    X = np.zeros((10, 3))
    with pytest.raises(ConfigError, match=r"needs numba.*pip install 'backprop-textbook\[jit\]'"):
        train(Network([3, 4, 2]), X, np.zeros(10, int), epochs=1, batch_size=2, lr=0.1,
              engine="jit")  # fmt: skip


@needs_numba
def test_auto_compiles_small_networks_on_enough_rows_only():
    from backprop.jit.step import JitStep

    assert isinstance(step_for([3, 4, 2], 5000), JitStep)
    assert isinstance(step_for([10, 30, 20, 5], 1000), JitStep)  # 1,000 weights
    assert isinstance(step_for([784, 30, 10], 50000), FastStep)  # BLAS products win there
    assert isinstance(step_for([3, 4, 2], 50), FastStep)  # loading numba would dominate
    assert isinstance(step_for([784, 30, 10], 10, engine="jit"), JitStep)  # asked for


@needs_numba
def test_auto_compiles_larger_networks_where_the_batch_is_little_work():
    """Σ n_l·n_{l−1} · m ≤ AUTO_MAX_BATCH_WORK on ≥ AUTO_MIN_ROWS_BLAS rows (the BLAS products)."""
    from backprop.jit.step import JitStep

    assert jit_engine.AUTO_MAX_BATCH_WORK == 8_000_000
    assert isinstance(step_for([784, 30, 10], 50000, batch_size=10), JitStep)  # 238,200
    assert isinstance(step_for([784, 100, 10], 50000, batch_size=64), JitStep)  # 5,081,600
    assert isinstance(step_for([784, 100, 10], 50000, batch_size=128), FastStep)  # 10,163,200
    assert isinstance(step_for([784, 512, 512, 10], 50000, batch_size=128), FastStep)
    assert isinstance(step_for([64, 30, 10], 1437, batch_size=10), FastStep)  # digits: too few
    assert isinstance(step_for([784, 30, 10], 50000), FastStep)  # batch size unknown


@needs_numba
def test_train_passes_its_batch_size_to_auto(monkeypatch):
    seen = []
    real = jit_engine.pays

    def spy(sizes, n_train, batch_size):
        seen.append((tuple(sizes), n_train, batch_size))
        return real(sizes, n_train, batch_size)

    monkeypatch.setattr(jit_engine, "pays", spy)
    X, y = np.zeros((12, 3)), np.zeros(12, int)
    train(Network([3, 4, 2], seed=0), X, y, epochs=1, batch_size=4, lr=0.1)
    assert seen == [((3, 4, 2), 12, 4)]


@needs_numba
def test_jit_refuses_an_activation_it_does_not_know():
    from backprop import activations

    class Softsign(activations.Tanh):
        name = "softsign"

    net = Network([3, 4, 2], seed=0)
    net.act[1] = Softsign()
    with pytest.raises(ConfigError, match="jit engine cannot train this network.*softsign"):
        make_step(net, optimizers.SGD(0.1), n_train=10, engine="jit")
