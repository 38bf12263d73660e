"""Optimisers and learning-rate schedules against hand formulas and PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backprop import optimizers, schedules
from backprop.errors import ConfigError
from support import needs_torch, optional_import

torch = optional_import("torch")


def _problem(seed=0, dtype=np.float64):
    """Parameters and a sequence of 5 gradient lists, all random."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=(3, 1)).astype(dtype)]
    grads = [[rng.normal(size=p.shape).astype(dtype) for p in params] for _ in range(5)]
    return params, grads


# -- hand formulas -------------------------------------------------------------


def test_sgd_step_is_theta_minus_lr_g():
    # θ = [1, -2], g = [0.5, 4], α = 0.1  →  θ' = [1 − 0.05, −2 − 0.4] = [0.95, −2.4]
    p = np.array([1.0, -2.0])
    optimizers.SGD(0.1).step([p], [np.array([0.5, 4.0])])
    np.testing.assert_allclose(p, [0.95, -2.4], rtol=0, atol=1e-15)


def test_momentum_by_hand():
    # μ = 0.5, α = 0.1, θ₀ = 1, g₁ = 2, g₂ = −1:
    # v₁ = −0.2, θ₁ = 0.8; v₂ = 0.5·(−0.2) − 0.1·(−1) = 0.0, θ₂ = 0.8
    p = np.array([1.0])
    opt = optimizers.Momentum(0.1, momentum=0.5)
    opt.step([p], [np.array([2.0])])
    np.testing.assert_allclose(p, [0.8], atol=1e-15)
    opt.step([p], [np.array([-1.0])])
    np.testing.assert_allclose(p, [0.8], atol=1e-15)


def test_nesterov_by_hand():
    # μ = 0.5, α = 0.1, θ₀ = 1, g₁ = 2: v₁ = −0.2, θ₁ = 1 + 0.5·(−0.2) − 0.2 = 0.7
    # g₂ = −1: v₂ = −0.1 + 0.1 = 0.0, θ₂ = 0.7 + 0 + 0.1 = 0.8
    p = np.array([1.0])
    opt = optimizers.Momentum(0.1, momentum=0.5, nesterov=True)
    opt.step([p], [np.array([2.0])])
    np.testing.assert_allclose(p, [0.7], atol=1e-15)
    opt.step([p], [np.array([-1.0])])
    np.testing.assert_allclose(p, [0.8], atol=1e-15)


def test_adam_by_hand():
    # First Adam step moves each θ by −α·sign(g) (up to ε): m̂ = g, v̂ = g².
    p = np.array([1.0, -1.0])
    optimizers.Adam(0.01).step([p], [np.array([3.0, -0.5])])
    np.testing.assert_allclose(p, [1.0 - 0.01, -1.0 + 0.01], atol=1e-9)
    # Two steps written out with the paper's formulas.
    b1, b2, eps, lr = 0.8, 0.9, 1e-8, 0.1
    g1, g2 = 2.0, -1.0
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    th1 = 0.5 - lr * (m1 / (1 - b1)) / (math.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    th2 = th1 - lr * (m2 / (1 - b1**2)) / (math.sqrt(v2 / (1 - b2**2)) + eps)
    p = np.array([0.5])
    opt = optimizers.Adam(lr, beta1=b1, beta2=b2, eps=eps)
    opt.step([p], [np.array([g1])])
    np.testing.assert_allclose(p, [th1], rtol=1e-14)
    opt.step([p], [np.array([g2])])
    np.testing.assert_allclose(p, [th2], rtol=1e-14)


# -- PyTorch on identical gradients ------------------------------------------------


def _torch_run(make_opt, params, grads):
    tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = make_opt(tparams)
    for gs in grads:
        for tp, g in zip(tparams, gs):
            tp.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [tp.detach().numpy() for tp in tparams]


@needs_torch
@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("sgd", lambda: optimizers.SGD(0.3), lambda ps: torch.optim.SGD(ps, lr=0.3)),
        (
            "momentum",
            lambda: optimizers.Momentum(0.3, momentum=0.9),
            lambda ps: torch.optim.SGD(ps, lr=0.3, momentum=0.9),
        ),
        (
            "nesterov",
            lambda: optimizers.Momentum(0.3, momentum=0.7, nesterov=True),
            lambda ps: torch.optim.SGD(ps, lr=0.3, momentum=0.7, nesterov=True),
        ),
        (
            "adam",
            lambda: optimizers.Adam(0.01, beta1=0.85, beta2=0.99, eps=1e-6),
            lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.85, 0.99), eps=1e-6),
        ),
    ],
)
def test_matches_torch_optim(name, ours, theirs):
    params, grads = _problem()
    expected = _torch_run(theirs, params, grads)
    opt = ours()
    assert opt.name == name
    for gs in grads:
        opt.step(params, gs)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", optimizers.OPTIMIZERS)
def test_float32_stays_float32(name):
    params, grads = _problem(dtype=np.float32)
    opt = optimizers.get(name, 0.01)
    for gs in grads:
        opt.step(params, gs)
    assert all(p.dtype == np.float32 for p in params)


@pytest.mark.parametrize("name", optimizers.OPTIMIZERS)
def test_state_dict_round_trip_continues_exactly(name):
    params, grads = _problem()
    straight = [p.copy() for p in params]
    opt = optimizers.get(name, 0.05, momentum=0.8)
    for gs in grads:
        opt.step(straight, gs)
    first = optimizers.get(name, 0.05, momentum=0.8)
    for gs in grads[:3]:
        first.step(params, gs)
    state = first.state_dict()
    second = optimizers.get(name, 0.05, momentum=0.8)
    second.load_state_dict(state)
    for gs in grads[3:]:
        second.step(params, gs)
    for p, q in zip(params, straight):
        np.testing.assert_array_equal(p, q)


def test_state_dict_of_another_optimizer_is_refused():
    with pytest.raises(ConfigError, match="adam"):
        optimizers.SGD(0.1).load_state_dict(optimizers.Adam(0.1).state_dict())


def test_get_and_errors():
    assert isinstance(optimizers.get("nesterov", 0.1), optimizers.Momentum)
    assert optimizers.get("nesterov", 0.1).nesterov
    assert optimizers.get("momentum", 0.1, momentum=0.5).momentum == 0.5
    assert optimizers.get("adam", 0.1, beta2=0.5, momentum=0.3).beta2 == 0.5
    with pytest.raises(ConfigError, match="choose one of: adam, momentum, nesterov, sgd"):
        optimizers.get("rmsprop", 0.1)
    for bad in (0, -1, float("nan"), float("inf"), "x"):
        with pytest.raises(ConfigError, match="lr"):
            optimizers.get("sgd", bad)
    with pytest.raises(ConfigError, match="momentum"):
        optimizers.get("momentum", 0.1, momentum=1.0)
    with pytest.raises(ConfigError, match="beta1"):
        optimizers.get("adam", 0.1, beta1=-0.1)


# -- learning-rate schedules ------------------------------------------------------


def _lrs(schedule, lr0=0.5, epochs=8):
    return [schedule.lr(e, lr0) for e in range(1, epochs + 1)]


def test_constant_and_step_by_hand():
    assert _lrs(schedules.get(None)) == [0.5] * 8
    assert _lrs(schedules.get("constant")) == [0.5] * 8
    # step 3, γ = 0.5: epochs 1–3 at 0.5, 4–6 at 0.25, 7–8 at 0.125
    assert _lrs(schedules.get("step:3:0.5")) == [0.5] * 3 + [0.25] * 3 + [0.125] * 2
    np.testing.assert_allclose(
        _lrs(schedules.get("exponential:0.9"), epochs=4), [0.5, 0.45, 0.405, 0.3645]
    )


def _torch_lrs(make, epochs=8, lr0=0.5):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@needs_torch
def test_step_and_exponential_match_torch():
    np.testing.assert_allclose(
        _lrs(schedules.StepDecay(3, 0.5)),
        _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, gamma=0.5)),
        rtol=1e-15,
    )
    np.testing.assert_allclose(
        _lrs(schedules.ExponentialDecay(0.9)),
        _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
        rtol=1e-14,
    )


@needs_torch
@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau_matches_torch(mode):
    rng = np.random.default_rng(1)
    # a metric that improves, stalls, improves a little, then stalls for long
    values = [1.0, 0.8, 0.7, 0.7, 0.71, 0.69, 0.7, 0.7, 0.7, 0.65, *rng.uniform(0.66, 0.9, 20)]
    if mode == "max":
        values = [2 - v for v in values]
    ours = schedules.ReduceOnPlateau(factor=0.5, patience=2, min_lr=0.01)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=0.5, patience=2, min_lr=0.01
    )
    got, expected = [], []
    for e, v in enumerate(values, start=1):
        got.append(ours.lr(e, 0.3))
        expected.append(opt.param_groups[0]["lr"])
        ours.observe(v, mode)
        theirs.step(v)
    assert len(set(expected)) > 2  # the case really reduces, several times
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_plateau_state_round_trip():
    a = schedules.ReduceOnPlateau(factor=0.5, patience=0)
    a.lr(1, 1.0)
    for v in (1.0, 2.0, 3.0):
        a.observe(v)
    b = schedules.get("plateau:0.5:0")
    b.load_state_dict(a.state_dict())
    assert b.lr(5, 1.0) == a.lr(5, 1.0) == 0.25


@pytest.mark.parametrize(
    "spec", ["cosine", "step", "step:0", "step:2:-1", "exponential", "plateau:2", "step:1:2:3", 5]
)
def test_bad_schedule_specs(spec):
    with pytest.raises(ConfigError):
        schedules.get(spec)
