"""The source's derivation, step by step, with a network's real numbers.

:func:`explain` runs one gradient-descent step of a :class:`~backprop.Network`
on one example (or a small mini-batch) and keeps every intermediate value,
then :meth:`Explanation.steps` lays them out in the source's order and
notation::

    z^l = W^l a^{l-1} + b^l,  a^l = σ(z^l)       forward, l = 1..L
    C = ½‖a^L − t‖²                               the cost (or the network's own)
    δ^L = (a^L − t) ∘ σ'(z^L)                     BP1 (or the cost's own δ^L)
    ∂C/∂W^l = δ^l (a^{l-1})ᵀ,  ∂C/∂b^l = δ^l      BP4, BP3
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ'(z^l)          BP2, for l = L−1..1
    W^l ← W^l − α ∂C/∂W^l,  b^l ← b^l − α ∂C/∂b^l  the update, then the new cost

Beside every gradient sits its finite-difference check. The renderers in
:mod:`backprop.report` turn the steps into text, Markdown, HTML or JSON; this
module does the maths (through the Network) and never formats numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, DataError
from .gradcheck import relative_error
from .network import Layers, Network
from .report.expr import (
    ALPHA,
    SIGMA,
    SIGMA_PRIME,
    Call,
    Expr,
    Frac,
    Num,
    Paren,
    Power,
    Row,
    Shaped,
    Sym,
    Text,
    delta,
    partial,
    sup,
)

__all__ = ["Check", "Explanation", "Step", "Term", "explain", "source_example"]

#: the JSON contract's version; bump when a key changes meaning
JSON_VERSION = 1


@dataclass
class Check:
    """Finite-difference check of one gradient tensor.

    ``rel_error`` is max |analytic − numerical| over the ``checked`` entries,
    relative to the largest magnitude of either (as :mod:`backprop.gradcheck`).
    """

    rel_error: float
    checked: int
    total: int
    tol: float
    #: entries left out because a ReLU input sat within the finite-difference step of 0
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.rel_error <= self.tol)

    def to_dict(self) -> dict:
        return {
            "rel_error": self.rel_error,
            "checked": self.checked,
            "total": self.total,
            "tol": self.tol,
            "skipped": self.skipped,
            "ok": self.ok,
        }


@dataclass
class Term:
    """A matrix shown in a step: its label (e.g. ``[W¹]₄ₓ₃``) and its numbers."""

    label: Expr
    value: np.ndarray
    key: str = ""


#: a row of a step: matrices and operators side by side, as in "z = W a + b"
RowItems = list


@dataclass
class Step:
    """One step of the walkthrough.

    ``equation`` is the symbolic formula; ``rows`` show it with numbers
    (each a list of :class:`Term` and operator strings); ``dims`` is the
    source's dimension check; ``check`` the finite-difference check of the
    gradient this step computes; ``notes`` one-line remarks (the source's
    typos, why a cost's δ^L has no σ').
    """

    id: str
    title: str
    equation: Expr
    rows: list[RowItems] = field(default_factory=list)
    dims: Expr | None = None
    check: Check | None = None
    notes: list[str] = field(default_factory=list)
    value: float | None = None


@dataclass
class Explanation:
    """Every number of one gradient-descent step, in the column convention.

    ``x`` is a⁰ of shape (n_0, m), ``t`` the targets (n_L, m); ``W``, ``b``
    (before the step), ``z``, ``a``, ``sigma_prime``, ``delta``, ``dW``, ``db``,
    ``W_after``, ``b_after`` are indexed by the book's layer number.
    """

    sizes: list[int]
    activations: list[str]
    cost_name: str
    lr: float
    x: np.ndarray
    t: np.ndarray
    W: Layers
    b: Layers
    z: Layers
    a: Layers
    sigma_prime: Layers
    delta: Layers
    dW: Layers
    db: Layers
    check_W: dict[int, Check]
    check_b: dict[int, Check]
    W_after: Layers
    b_after: Layers
    cost: float
    cost_after: float
    first_order: float
    source: str = ""
    dtype: str = "float64"

    @property
    def L(self) -> int:
        return len(self.sizes) - 1

    @property
    def m(self) -> int:
        return int(self.x.shape[1])

    @property
    def checks_passed(self) -> bool:
        return all(c.ok for c in [*self.check_W.values(), *self.check_b.values()])

    def steps(self) -> list[Step]:
        """The walkthrough, in the source's order."""
        return _steps(self)

    def to_dict(self) -> dict:
        """The JSON contract (see docs/explain.md): nested lists, column convention."""

        def layers(values: Layers) -> dict:
            return {str(l): v.tolist() for l, v in values.items() if v is not None}

        return {
            "x": self.x.tolist(),
            "t": self.t.tolist(),
            "W": layers(self.W),
            "b": layers(self.b),
            "z": layers(self.z),
            "a": layers(self.a),
            "delta": layers(self.delta),
            "dW": layers(self.dW),
            "db": layers(self.db),
            "cost": self.cost,
            "cost_after_step": self.cost_after,
            "lr": self.lr,
            "activations": list(self.activations),
            "cost_name": self.cost_name,
            "sizes": list(self.sizes),
            "m": self.m,
            "sigma_prime": layers(self.sigma_prime),
            "W_after": layers(self.W_after),
            "b_after": layers(self.b_after),
            "first_order_change": self.first_order,
            "gradcheck": {
                "W": {str(l): c.to_dict() for l, c in self.check_W.items()},
                "b": {str(l): c.to_dict() for l, c in self.check_b.items()},
                "passed": self.checks_passed,
            },
            "source": self.source,
            "version": JSON_VERSION,
        }


def explain(
    net: Network,
    X,
    T,
    *,
    lr: float = 0.5,
    h: float = 1e-4,
    tol: float = 1e-6,
    fd_entries: int | None = 64,
    seed: int = 0,
    source: str = "",
) -> Explanation:
    """Run one gradient-descent step on ``(X, T)`` and keep every value.

    Parameters
    ----------
    net : Network
        Left unchanged; the walkthrough runs on a float64 copy.
    X : array of shape (m, n_0) or (n_0,)
        One example, or a small mini-batch, as rows.
    T : array of shape (m, n_L), or integer labels of shape (m,)
    lr : float
        α, the learning rate of the update step.
    h, tol : float
        Step of the finite differences, and the relative error a check passes at.
    fd_entries : int or None
        Check at most this many entries of each gradient tensor (drawn from
        ``seed``); ``None`` checks every entry.
    """
    if not np.isfinite(lr) or lr <= 0:
        raise ConfigError(f"the learning rate must be a positive number, got {lr}")
    net64 = net.astype("float64")
    X = net64._inputs(X)
    m = X.shape[0]
    if m == 0:
        raise DataError("explain needs at least one example")
    t = net64._targets(T, m)
    trace = net64.forward(X)
    if not all(np.isfinite(a).all() for a in trace.a):
        raise DataError("the forward pass overflowed (inf/NaN); check the inputs and weights")
    grads = net64.backward(trace, t)
    L = net64.L
    sigma_prime = Layers(
        1,
        [
            net64.act[l].prime(trace.z[l], trace.a[l]) if net64.act[l].elementwise else None
            for l in range(1, L + 1)
        ],
    )
    rng = np.random.default_rng(seed)
    check_W, check_b = {}, {}
    for l in range(1, L + 1):
        check_W[l] = _fd_check(net64, net64.W[l], grads.W[l], X, t, h, tol, fd_entries, rng)
        check_b[l] = _fd_check(net64, net64.b[l], grads.b[l], X, t, h, tol, fd_entries, rng)
    after = net64.copy()
    for l in range(1, L + 1):
        after.W[l] = net64.W[l] - lr * grads.W[l]  # W^l ← W^l − α ∂C/∂W^l
        after.b[l] = net64.b[l] - lr * grads.b[l]  # b^l ← b^l − α ∂C/∂b^l
    sq_norm = sum(float((grads.W[l] ** 2).sum() + (grads.b[l] ** 2).sum()) for l in range(1, L + 1))
    return Explanation(
        sizes=list(net64.sizes),
        activations=net64.activations,
        cost_name=net64.cost_name,
        lr=float(lr),
        x=trace.a[0].copy(),
        t=t.T.copy(),
        W=Layers(1, [w.copy() for w in net64.W]),
        b=Layers(1, [b.copy() for b in net64.b]),
        z=trace.z,
        a=trace.a,
        sigma_prime=sigma_prime,
        delta=grads.delta,
        dW=grads.W,
        db=grads.b,
        check_W=check_W,
        check_b=check_b,
        W_after=after.W,
        b_after=after.b,
        cost=net64.cost(X, t),
        cost_after=after.cost(X, t),
        first_order=-lr * sq_norm,
        source=source,
        dtype=net.dtype,
    )


def source_example(
    sizes=(3, 4, 2),
    *,
    activation="sigmoid",
    output=None,
    cost="quadratic",
    init="normal",
    seed: int = 0,
    batch: int = 1,
) -> tuple[Network, np.ndarray, np.ndarray]:
    """The source's network (3-4-2, sigmoid, quadratic) with weights and (x, t) from ``seed``.

    x is drawn uniformly from [0, 1] and rounded to two decimals; t is a
    one-hot target of a random class (for one output: a number in [0, 1]).
    Returns ``(net, X, T)`` with ``X`` of shape (batch, n_0), ``T`` (batch, n_L).
    """
    if batch < 1:
        raise ConfigError(f"the batch size must be at least 1, got {batch}")
    rng = np.random.default_rng(seed)
    net = Network(sizes, activation=activation, output=output, cost=cost, init=init, rng=rng)
    X = rng.uniform(0.0, 1.0, (batch, net.sizes[0])).round(2)
    n_L = net.sizes[-1]
    if n_L == 1:
        T = rng.uniform(0.0, 1.0, (batch, 1)).round(2)
    else:
        T = np.eye(n_L)[rng.integers(0, n_L, batch)]
    return net, X, T


#: activations whose σ' jumps at z = 0: a finite difference across the kink is meaningless
KINKED = ("relu", "leaky-relu")


def _fd_check(net, param, analytic, X, T, h, tol, entries, rng) -> Check:
    """Fourth-order central differences of C for (a sample of) the entries of ``param``.

    For ReLU-like layers an entry whose perturbation moves some z across 0
    (the kink, where σ' jumps) is skipped: the difference quotient there does
    not approximate the derivative.
    """
    flat, grad = param.reshape(-1), analytic.reshape(-1)
    if entries is None or flat.size <= entries:
        idx = np.arange(flat.size)
    else:
        idx = np.sort(rng.choice(flat.size, size=entries, replace=False))
    kinked = [l for l in range(1, net.L + 1) if net.act[l].name in KINKED]
    _, mask0 = _cost_and_mask(net, X, T, kinked)
    numeric = np.empty(idx.size)
    keep = np.ones(idx.size, dtype=bool)
    for n, i in enumerate(idx):
        original = flat[i]
        c = {}
        for k in (-2, -1, 1, 2):
            flat[i] = original + k * h
            c[k], mask = _cost_and_mask(net, X, T, kinked)
            if kinked and not all(np.array_equal(u, v) for u, v in zip(mask, mask0)):
                keep[n] = False
        flat[i] = original
        numeric[n] = (8 * (c[1] - c[-1]) - (c[2] - c[-2])) / (12 * h)
    err = relative_error(grad[idx][keep], numeric[keep]) if keep.any() else 0.0
    return Check(
        rel_error=float(err),
        checked=int(keep.sum()),
        total=int(flat.size),
        tol=tol,
        skipped=int((~keep).sum()),
    )


def _cost_and_mask(net, X, T, kinked) -> tuple[float, list]:
    """C, and which z of the ReLU-like layers are positive."""
    trace = net.forward(X)
    L = net.L
    cost = float(net.cost_fn.value(trace.z[L], trace.a[L], T.T, net.act[L]).mean())
    return cost, [trace.z[l] > 0 for l in kinked]


# -- the walkthrough -----------------------------------------------------------


def _S(name: str, l, e: Explanation, T: bool = False, tex: str | None = None) -> Shaped:
    """``[name^l]`` with the shape of that layer's matrix."""
    return Shaped(Sym(name, l, tex=tex), _shape_of(name, l, e), T=T)


def _new(name: str, l, e: Explanation) -> Shaped:
    """``[W¹ new]₄ₓ₃``: the value after the update."""
    return Shaped(Row(Sym(name, l), Text(" new")), _shape_of(name, l, e))


def _shape_of(name: str, l: int, e: Explanation) -> tuple:
    n, m = e.sizes, e.m
    return {"W": (n[l], n[l - 1]), "b": (n[l], 1), "a": (n[l], m), "z": (n[l], m)}.get(
        name, (n[l], m)
    )


def _dC(name: str, l: int) -> Frac:
    return partial("C", Sym(name, l))


def _steps(e: Explanation) -> list[Step]:
    L, m, n = e.L, e.m, e.sizes
    batch = m > 1
    acts = e.activations
    steps: list[Step] = []
    avg: list = [Frac(Num("1"), Sym("m")), ""] if batch else []

    # Forward pass, layer by layer.
    for l in range(1, L + 1):
        sig = SIGMA
        eq = Row(
            Sym("z", l),
            "=",
            Sym("W", l),
            "",
            Sym("a", l - 1),
            "+",
            Sym("b", l),
            Text(",  "),
            Sym("a", l),
            "=",
            Call(sig, Sym("z", l)),
        )
        rows = [
            [
                Term(_S("z", l, e), e.z[l], f"z{l}"),
                "=",
                Term(_S("W", l, e), e.W[l], f"W{l}"),
                Term(_S("a", l - 1, e), e.a[l - 1], f"a{l - 1}"),
                "+",
                Term(_S("b", l, e), e.b[l], f"b{l}"),
            ],
            [
                Term(_S("a", l, e), e.a[l], f"a{l}"),
                "=",
                Call(sig, Sym("z", l)).text(),
            ],
        ]
        dims = Row(_S("z", l, e), "=", _S("W", l, e), "", _S("a", l - 1, e), "+", _S("b", l, e))
        notes = [f"σ here is {acts[l - 1]}{_act_formula(acts[l - 1])}."]
        if l == 1:
            notes.insert(
                0, "The input is a⁰ = x" + (f", {m} examples as columns." if batch else ".")
            )
        steps.append(Step(f"forward-{l}", f"Forward pass, layer {l}", eq, rows, dims, notes=notes))

    # The cost.
    steps.append(_cost_step(e))

    # Backward: δ^L (BP1), then for each layer ∂C/∂W^l (BP4), ∂C/∂b^l (BP3), δ^{l-1} (BP2).
    steps.append(_bp1_step(e))
    for l in range(L, 0, -1):
        if l < L:
            steps.append(_bp2_step(e, l))
        bp4 = Row(_dC("W", l), "=", *avg, delta(l), "", Sym("a", l - 1, T=True))
        dims = Row(
            Shaped(_dC("W", l), (n[l], n[l - 1])),
            "=",
            *avg,
            Shaped(delta(l), (n[l], m)),
            "",
            Shaped(Sym("a", l - 1), (n[l - 1], m), T=True),
        )
        steps.append(
            Step(
                f"bp4-{l}",
                f"BP4: ∂C/∂W{sup(l)}",
                bp4,
                [
                    [
                        Term(Shaped(_dC("W", l), (n[l], n[l - 1])), e.dW[l], f"dW{l}"),
                        "=",
                        *_avg_ops(m),
                        Term(Shaped(delta(l), (n[l], m)), e.delta[l], f"delta{l}"),
                        Term(
                            Shaped(Sym("a", l - 1), (n[l - 1], m), T=True),
                            e.a[l - 1].T,
                            f"a{l - 1}T",
                        ),
                    ]
                ],
                dims,
                e.check_W[l],
                notes=["Averaged over the m examples of the mini-batch."] if batch else [],
            )
        )
        if batch:
            bp3 = Row(_dC("b", l), "=", *avg, Text("Σ columns of "), delta(l))
        else:
            bp3 = Row(_dC("b", l), "=", delta(l))
        notes = []
        if L == 2 and l == 2 and not batch:
            notes.append(
                "The source writes [∂C/∂b²]₂ₓ₁ = [δ³]₂ₓ₁ here: a typo, there is no layer 3; "
                "it means δ², as its own summary says."
            )
        steps.append(
            Step(
                f"bp3-{l}",
                f"BP3: ∂C/∂b{sup(l)}",
                bp3,
                [
                    [
                        Term(Shaped(_dC("b", l), (n[l], 1)), e.db[l], f"db{l}"),
                        "=",
                        Term(Shaped(delta(l), (n[l], m)), e.delta[l], f"delta{l}"),
                    ]
                ],
                Row(Shaped(_dC("b", l), (n[l], 1)), "=", *avg, Shaped(delta(l), (n[l], m))),
                e.check_b[l],
                notes,
            )
        )

    # The update, then the new cost.
    for l in range(1, L + 1):
        eq = Row(
            Sym("W", l),
            "←",
            Sym("W", l),
            "−",
            ALPHA,
            "",
            _dC("W", l),
            Text(",  "),
            Sym("b", l),
            "←",
            Sym("b", l),
            "−",
            ALPHA,
            "",
            _dC("b", l),
        )
        lr = _num(e.lr)
        rows = [
            [
                Term(_new("W", l, e), e.W_after[l], f"W{l}_after"),
                "←",
                Term(_S("W", l, e), e.W[l], f"W{l}"),
                "−",
                lr,
                Term(Shaped(_dC("W", l), (n[l], n[l - 1])), e.dW[l], f"dW{l}"),
            ],
            [
                Term(_new("b", l, e), e.b_after[l], f"b{l}_after"),
                "←",
                Term(_S("b", l, e), e.b[l], f"b{l}"),
                "−",
                lr,
                Term(Shaped(_dC("b", l), (n[l], 1)), e.db[l], f"db{l}"),
            ],
        ]
        steps.append(Step(f"update-{l}", f"Gradient descent, layer {l} (α = {lr})", eq, rows))
    change = e.cost_after - e.cost
    verdict = (
        "lower, as gradient descent promises for a small enough α."
        if change < 0
        else "NOT lower: α is too large for this example; try a smaller --lr."
    )
    steps.append(
        Step(
            "cost-after",
            "The new cost",
            Row(Sym("C"), Text(" with the new "), Sym("W", "l"), Text(" and "), Sym("b", "l")),
            notes=[
                f"C went from {e.cost:.6g} to {e.cost_after:.6g} (ΔC = {change:.3g}): {verdict}",
                f"First-order prediction: ΔC ≈ −α‖∇C‖² = {e.first_order:.3g}.",
            ],
            value=e.cost_after,
        )
    )
    return steps


def _num(v: float) -> str:
    return f"{v:g}"


def _avg_ops(m: int) -> list:
    return [f"1/{m} ×"] if m > 1 else []


_FORMULAS = {
    "sigmoid": ": σ(z) = 1/(1 + e⁻ᶻ), σ'(z) = σ(z)(1 − σ(z))",
    "tanh": ": σ(z) = tanh z, σ'(z) = 1 − tanh² z",
    "relu": ": σ(z) = max(0, z), σ'(z) = 1 if z > 0 else 0",
    "leaky-relu": ": σ(z) = z if z > 0 else 0.01 z, σ'(z) = 1 or 0.01",
    "identity": ": σ(z) = z, σ'(z) = 1",
    "softmax": ": σ(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ (per example)",
}


def _act_formula(name: str) -> str:
    return _FORMULAS.get(name, "")


def _cost_step(e: Explanation) -> Step:
    L, m = e.L, e.m
    aL, t = Sym("a", L), Sym("t")
    out = e.activations[-1]
    if e.cost_name == "quadratic":
        per = Row(Frac(Num("1"), Num("2")), Power(Paren(Row(aL, "−", t), "‖", "‖"), "2"))
    elif out == "softmax":
        per = Row("−", Text("Σⱼ "), Sym("t", "j"), Text(" ln "), Sym("a", "j"))
    else:
        per = Row(
            "−",
            Text("Σⱼ "),
            Paren(
                Row(
                    Sym("t"),
                    Text(" ln "),
                    aL,
                    "+",
                    Paren(Row(Num("1"), "−", t)),
                    Text(" ln"),
                    Paren(Row(Num("1"), "−", aL)),
                )
            ),
            Text(" (per output j)"),
        )
    eq = (
        Row(Sym("C"), "=", Frac(Num("1"), Sym("m")), Text(" Σₓ "), per)
        if m > 1
        else Row(Sym("C"), "=", per)
    )
    rows = [
        [Term(_S("a", L, e), e.a[L], f"a{L}"), "−", Term(Shaped(t, (e.sizes[-1], m)), e.t, "t")]
    ]
    notes = [f"The mean over the {m} examples."] if m > 1 else []
    if e.cost_name == "quadratic":
        notes.append("The source's cost: half the squared distance between the output aᴸ and t.")
    return Step("cost", f"The cost ({e.cost_name})", eq, rows, notes=notes, value=e.cost)


def _bp1_step(e: Explanation) -> Step:
    L, m, n = e.L, e.m, e.sizes
    out = e.activations[-1]
    d = Term(Shaped(delta(L), (n[L], m)), e.delta[L], f"delta{L}")
    diff = Term(Shaped(Row(Sym("a", L), "−", Sym("t")), (n[L], m)), e.a[L] - e.t, "a_minus_t")
    notes: list[str] = []
    if e.cost_name == "cross-entropy":
        eq = Row(delta(L), "=", Sym("a", L), "−", Sym("t"))
        rows = [[d, "=", diff]]
        dims = Row(
            Shaped(delta(L), (n[L], m)),
            "=",
            Shaped(Sym("a", L), (n[L], m)),
            "−",
            Shaped(Sym("t"), (n[L], m)),
        )
        if out == "softmax":
            notes.append(
                "Cross-entropy's own δᴸ: ∂C/∂aⱼ = −tⱼ/aⱼ meets the softmax Jacobian "
                "aⱼ(δⱼₖ − aₖ), and all that is left is aᴸ − t."
            )
        else:
            notes.append(
                "Cross-entropy's own δᴸ: ∂C/∂a = (a − t)/(a(1 − a)) and σ'(z) = a(1 − a) cancel, "
                "so δᴸ = aᴸ − t (no σ' factor: no slowdown when the output saturates)."
            )
    elif out == "softmax":
        eq = Row(
            delta(L),
            "=",
            Paren(Row(Frac(Sym("∂a", L), Sym("∂z", L)))),
            Text("ᵀ "),
            Paren(Row(Sym("a", L), "−", Sym("t"))),
        )
        rows = [[d, "=", Text("Jᵀ ").text(), diff]]
        dims = Row(
            Shaped(delta(L), (n[L], m)),
            "=",
            Shaped(Row(Sym("J")), (n[L], n[L]), T=True),
            Shaped(Row(Sym("a", L), "−", Sym("t")), (n[L], m)),
        )
        notes.append(
            "Softmax couples its outputs, so σ' is a Jacobian J, ∂aᵢ/∂zⱼ = aᵢ(δᵢⱼ − aⱼ), "
            "not an elementwise factor."
        )
    else:
        eq = Row(
            delta(L),
            "=",
            Paren(Row(Sym("a", L), "−", Sym("t"))),
            "∘",
            Call(SIGMA_PRIME, Sym("z", L)),
        )
        sp = Term(Shaped(Call(SIGMA_PRIME, Sym("z", L)), (n[L], m)), e.sigma_prime[L], f"sp{L}")
        rows = [[d, "=", diff, "∘", sp]]
        dims = Row(
            Shaped(delta(L), (n[L], m)),
            "=",
            Shaped(Row(Sym("a", L), "−", Sym("t")), (n[L], m)),
            "∘",
            Shaped(Call(SIGMA_PRIME, Sym("z", L)), (n[L], m)),
        )
        if e.cost_name == "quadratic":
            notes.append(
                "∂C/∂aᴸ = aᴸ − t for C = ½‖aᴸ − t‖²; the chain rule through "
                "aᴸ = σ(zᴸ) multiplies it entry by entry by σ'(zᴸ)."
            )
    if L == 2 and m == 1 and e.cost_name == "quadratic" and out != "softmax":
        notes.append("The source calls this δ² ≡ (a² − t) ∘ σ'(z²).")
    return Step("bp1", f"BP1: the output error δ{sup(L)}", eq, rows, dims, notes=notes)


def _bp2_step(e: Explanation, l: int) -> Step:
    n, m = e.sizes, e.m
    eq = Row(
        delta(l),
        "=",
        Paren(Row(Sym("W", l + 1, T=True), "", delta(l + 1))),
        "∘",
        Call(SIGMA_PRIME, Sym("z", l)),
    )
    rows = [
        [
            Term(Shaped(delta(l), (n[l], m)), e.delta[l], f"delta{l}"),
            "=",
            Term(Shaped(Sym("W", l + 1), (n[l + 1], n[l]), T=True), e.W[l + 1].T, f"W{l + 1}T"),
            Term(Shaped(delta(l + 1), (n[l + 1], m)), e.delta[l + 1], f"delta{l + 1}"),
            "∘",
            Term(Shaped(Call(SIGMA_PRIME, Sym("z", l)), (n[l], m)), e.sigma_prime[l], f"sp{l}"),
        ]
    ]
    dims = Row(
        Shaped(delta(l), (n[l], m)),
        "=",
        Shaped(Sym("W", l + 1), (n[l + 1], n[l]), T=True),
        "",
        Shaped(delta(l + 1), (n[l + 1], m)),
        "∘",
        Shaped(Call(SIGMA_PRIME, Sym("z", l)), (n[l], m)),
    )
    notes = ["The error moves back through the transposed weights, then through σ' of this layer."]
    if e.L == 2 and l == 1:
        notes.append(
            "The source writes δ¹ [≡ W²]ᵀ δ³ ∘ σ'(z¹): the bracket is misplaced and δ³ is a typo; "
            "it means δ¹ ≡ (W²)ᵀ δ² ∘ σ'(z¹)."
        )
    return Step(f"bp2-{l}", f"BP2: δ{sup(l)} from δ{sup(l + 1)}", eq, rows, dims, notes=notes)
