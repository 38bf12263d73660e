"""Diagnostics tied to the maths: gradient size per layer, saturation, rising cost.

:class:`GradientMonitor` is a training callback. After every epoch it runs
backpropagation on a fixed probe sample of the training data and appends to
``history.extras``, for each layer l:

* ``delta_norm_<l>`` — ‖∂C/∂b^l‖ = ‖(1/m) Σ_x δ^{x,l}‖, the length of the
  gradient of layer l's biases, which the book's chapter 5 uses as the speed
  at which layer l learns (the vanishing-gradient picture);

and for each hidden layer whose σ can saturate or die (sigmoid, tanh, ReLU):

* ``saturation_<l>`` — the share of the layer's activations (units × probe
  examples) where σ'(z) ≈ 0: below ``threshold`` times its peak (σ' ≤ 0.0025
  for the sigmoid, ≤ 0.01 for tanh) or, for ReLU, z ≤ 0;
* ``saturated_units_<l>`` (sigmoid, tanh) — the number of units with
  σ'(z) ≈ 0 on at least 90 % of the probe examples, or ``dead_units_<l>``
  (ReLU) — units with z ≤ 0 on every probe example: units that (almost)
  never learn, since every weight into them gets δ = … ∘ σ'(z) ≈ 0;
* ``units_<l>`` — the layer's width (so that :func:`diagnose` needs only the
  history).

:func:`diagnose` reads a History and returns one-line warnings with numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .activations import ACTIVATIONS
from .network import Network
from .training import Callback, History, TrainState
from .types import ArrayLike

#: σ'(z) below this fraction of σ'(0) counts as saturated
THRESHOLD = 0.01
#: σ'(0), the peak of σ', of the activations that saturate (each activation's ``peak_prime``)
PEAK = {name: cls.peak_prime for name, cls in ACTIVATIONS.items() if cls.peak_prime is not None}
#: a sigmoid/tanh unit counts as saturated when σ' ≈ 0 on this share of the examples
UNIT_FRACTION = 0.9
#: warn when at least this share of a layer's units is saturated or dead
UNIT_SHARE = 0.1
#: warn when at least this share of a layer's activations is saturated
ACTIVATION_SHARE = 0.5
#: warn when ‖δ¹‖ is this many times smaller than a later layer's
VANISHING_RATIO = 100.0


def measure(
    net: Network, X: ArrayLike, Y: ArrayLike, *, threshold: float = THRESHOLD
) -> dict[str, float]:
    """The per-layer numbers :class:`GradientMonitor` records, for one sample.

    ``X`` of shape (m, n_0), ``Y`` targets (m, n_L) or integer labels (m,).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        trace = net.forward(X)
        grads = net.backward(trace, Y)
    out: dict[str, float] = {}
    for l in range(1, net.L + 1):
        out[f"delta_norm_{l}"] = float(np.linalg.norm(grads.b[l]))
    for l in range(1, net.L):
        act = net.act[l]
        z = trace.z[l]
        if act.peak_prime is not None:  # saturates: σ' ≈ 0 far from 0
            flat = act.prime(z, trace.a[l]) <= threshold * act.peak_prime
            out[f"saturated_units_{l}"] = int((flat.mean(axis=1) >= UNIT_FRACTION).sum())
        elif act.dies:  # σ' = 0 for z ≤ 0: a unit with z ≤ 0 on every example is dead
            flat = z <= 0
            out[f"dead_units_{l}"] = int(flat.all(axis=1).sum())
        else:
            continue
        out[f"saturation_{l}"] = float(flat.mean())
        out[f"units_{l}"] = int(z.shape[0])
    return out


class GradientMonitor(Callback):
    """Record ‖δ^l‖ and saturation per layer after every epoch (see the module doc).

    Parameters
    ----------
    X, Y : arrays
        Training data (rows) and targets or labels; a probe sample of at most
        ``n`` rows is drawn from them once, with ``seed``.
    """

    def __init__(
        self,
        X: ArrayLike,
        Y: ArrayLike,
        *,
        n: int = 256,
        seed: int = 0,
        threshold: float = THRESHOLD,
    ) -> None:
        X, Y = np.asarray(X), np.asarray(Y)
        m = len(X)
        if m > n:
            idx = np.sort(np.random.default_rng(seed).choice(m, size=n, replace=False))
            X, Y = X[idx], Y[idx]
        self.X, self.Y, self.threshold = X, Y, threshold

    def on_epoch_end(self, state: TrainState) -> None:
        if len(self.X) == 0:
            return
        values = measure(state.net, self.X, self.Y, threshold=self.threshold)
        extras = state.history.extras
        for key, v in values.items():
            extras.setdefault(key, []).append(v)


def layer_series(history: History, prefix: str) -> dict[int, list[Any]]:
    """``{l: series}`` for the extras named ``<prefix>_<l>``."""
    out = {}
    for key, series in getattr(history, "extras", {}).items():
        head, _, tail = key.rpartition("_")
        if head == prefix and tail.isdigit():
            out[int(tail)] = list(series)
    return dict(sorted(out.items()))


def diagnose(history: History) -> list[str]:
    """One-line warnings about a finished run, each with its numbers.

    * the training cost rose (the learning rate is probably too high);
    * hidden units saturated (σ' ≈ 0, sigmoid/tanh) or dead (ReLU);
    * the first layer's gradient orders of magnitude smaller than a later
      layer's (vanishing gradient).
    """
    warnings = []
    warnings += _cost_rose(history)
    warnings += _saturation(history)
    warnings += _vanishing(history)
    return warnings


def _finite(series: Sequence[Any]) -> list[tuple[int, float]]:
    return [
        (i, float(v)) for i, v in enumerate(series) if v is not None and math.isfinite(float(v))
    ]


def _cost_rose(history: History) -> list[str]:
    costs = _finite(history.train_cost)
    if len(costs) < 2:
        return []
    epochs = list(history.epoch) or list(range(1, len(history.train_cost) + 1))
    lr = history.lr[-1] if history.lr else None
    hint = (
        f"the learning rate {lr:g} is probably too high; try about {lr / 3:.2g}"
        if lr
        else ("the learning rate is probably too high; try a third of it")
    )
    (i0, c0), (i1, c1) = costs[0], costs[-1]
    if c1 > c0:
        return [
            f"training cost rose from {c0:.4g} (epoch {epochs[i0]}) to {c1:.4g} "
            f"(epoch {epochs[i1]}): {hint}"
        ]
    rises = [(epochs[j], b - a) for (_, a), (j, b) in zip(costs, costs[1:]) if b > a * 1.01]
    if len(rises) >= max(2, len(costs) // 4):
        e, d = max(rises, key=lambda r: r[1])
        return [
            f"training cost rose in {len(rises)} of {len(costs) - 1} epochs (largest rise "
            f"+{d:.3g} at epoch {e}): {hint}"
        ]
    return []


def _saturation(history: History) -> list[str]:
    out = []
    units = layer_series(history, "units")
    share = layer_series(history, "saturation")
    for kind, word, fix in (
        (
            "saturated_units",
            "saturated (σ' ≈ 0 on ≥ 90% of the probe examples)",
            "scale the weights down (--init scaled-normal) or the inputs to [0, 1]",
        ),
        (
            "dead_units",
            "dead (ReLU output 0 on every probe example)",
            "lower the learning rate, or try leaky-relu or --init he-normal",
        ),
    ):
        for l, series in layer_series(history, kind).items():
            if not series:
                continue
            count = int(series[-1])
            n = int(units.get(l, [0])[-1]) if units.get(l) else None
            s = share.get(l, [None])[-1]
            if n and count >= max(1, UNIT_SHARE * n):
                pct = f"; {100 * s:.0f}% of all its activations" if s is not None else ""
                out.append(
                    f"{count} of {n} hidden units in layer {l} are {word}{pct}: "
                    f"they barely learn; {fix}"
                )
            elif kind == "saturated_units" and s is not None and s >= ACTIVATION_SHARE:
                out.append(
                    f"{100 * s:.0f}% of layer {l}'s activations are saturated (σ' ≈ 0): "
                    f"learning there is slow; {fix}"
                )
    return out


def _vanishing(history: History) -> list[str]:
    norms = {l: s[-1] for l, s in layer_series(history, "delta_norm").items() if s}
    norms = {l: float(v) for l, v in norms.items() if v is not None and math.isfinite(float(v))}
    if 1 not in norms or len(norms) < 2:
        return []
    later = {l: v for l, v in norms.items() if l > 1}
    top = max(later, key=lambda l: later[l])
    first, big = norms[1], later[top]
    if big > 0 and (first == 0 or big / first >= VANISHING_RATIO):
        ratio = "infinitely" if first == 0 else f"{big / first:,.0f}×"
        return [
            f"vanishing gradient: ‖δ¹‖ = {first:.2e} is {ratio} smaller than ‖δ{_sup(top)}‖ = "
            f"{big:.2e}, so the first layer learns far more slowly (book ch. 5); try relu with "
            "--init he-normal, or fewer layers"
        ]
    return []


def _sup(l: int) -> str:
    return str(l).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
