"""`backprop explain`: the source's derivation with real numbers, checked independently.

The reference numbers are recomputed here from the source's formulas, one
scalar at a time with Python floats and ``math`` (no library maths), from the
weights and example the report itself prints; a deeper network is checked
against PyTorch autograd.
"""

from __future__ import annotations

import io
import json
import math
import re
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main
from backprop.explain import explain, source_example
from support import SHARED_DATA as DATA

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["explain", *argv])
    return code, out.getvalue(), err.getvalue()


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def by_hand(W, b, x, t, lr):
    """The source's derivation for a sigmoid network, quadratic cost, one example.

    W[l], b[l] as nested lists (dicts keyed by the layers 1..L), x and t as flat lists.
    """
    L = len(W)
    a = {0: list(x)}
    z = {}
    for l in range(1, L + 1):  # z^l = W^l a^{l-1} + b^l, a^l = σ(z^l)
        z[l] = [
            sum(W[l][i][j] * a[l - 1][j] for j in range(len(a[l - 1]))) + b[l][i]
            for i in range(len(W[l]))
        ]
        a[l] = [sigma(v) for v in z[l]]

    def cost(W, b):
        act = list(x)
        for l in range(1, L + 1):
            act = [
                sigma(sum(W[l][i][j] * act[j] for j in range(len(act))) + b[l][i])
                for i in range(len(W[l]))
            ]
        return 0.5 * sum((act[k] - t[k]) ** 2 for k in range(len(t)))  # C = ½‖a^L − t‖²

    sp = {l: [sigma(v) * (1 - sigma(v)) for v in z[l]] for l in z}
    delta = {L: [(a[L][k] - t[k]) * sp[L][k] for k in range(len(t))]}  # BP1
    for l in range(L - 1, 0, -1):  # BP2: δ^l = (W^{l+1})ᵀ δ^{l+1} ∘ σ'(z^l)
        delta[l] = [
            sum(W[l + 1][k][i] * delta[l + 1][k] for k in range(len(delta[l + 1]))) * sp[l][i]
            for i in range(len(z[l]))
        ]
    dW = {
        l: [[delta[l][i] * a[l - 1][j] for j in range(len(a[l - 1]))] for i in range(len(z[l]))]
        for l in delta
    }  # BP4
    db = {l: list(delta[l]) for l in delta}  # BP3
    W_new = {
        l: [[W[l][i][j] - lr * dW[l][i][j] for j in range(len(W[l][i]))] for i in range(len(W[l]))]
        for l in dW
    }
    b_new = {l: [b[l][i] - lr * db[l][i] for i in range(len(b[l]))] for l in db}
    return dict(
        z=z,
        a=a,
        C=cost(W, b),
        delta=delta,
        dW=dW,
        db=db,
        sp=sp,
        W_new=W_new,
        b_new=b_new,
        C_new=cost(W_new, b_new),
    )


def col(v) -> list[float]:
    """A column [[v1], [v2], …] as a flat list."""
    return [row[0] for row in v]


def json_report(*argv: str) -> dict:
    code, out, err = run_cli("--format", "json", *argv)
    assert code == 0, err
    assert out.count("\n") == 1  # one object, one line
    return json.loads(out)


def hand_from_report(rep: dict):
    L = len(rep["W"])
    W = {l: rep["W"][str(l)] for l in range(1, L + 1)}
    b = {l: col(rep["b"][str(l)]) for l in range(1, L + 1)}
    return by_hand(W, b, col(rep["x"]), col(rep["t"]), rep["lr"])


# -- the source's 3-4-2 network -------------------------------------------------


def test_json_contract_for_the_source_network():
    rep = json_report()
    for key in (
        "x",
        "t",
        "W",
        "b",
        "z",
        "a",
        "delta",
        "dW",
        "db",
        "cost",
        "cost_after_step",
        "lr",
        "activations",
        "cost_name",
    ):
        assert key in rep
    assert rep["activations"] == ["sigmoid", "sigmoid"] and rep["cost_name"] == "quadratic"
    assert sorted(rep["a"]) == ["0", "1", "2"] and sorted(rep["W"]) == ["1", "2"]
    shapes = {
        ("W", "1"): (4, 3),
        ("W", "2"): (2, 4),
        ("b", "1"): (4, 1),
        ("b", "2"): (2, 1),
        ("z", "1"): (4, 1),
        ("z", "2"): (2, 1),
        ("a", "0"): (3, 1),
        ("a", "1"): (4, 1),
        ("a", "2"): (2, 1),
        ("delta", "1"): (4, 1),
        ("delta", "2"): (2, 1),
        ("dW", "1"): (4, 3),
        ("dW", "2"): (2, 4),
        ("db", "1"): (4, 1),
        ("db", "2"): (2, 1),
    }
    for (key, l), shape in shapes.items():
        assert np.array(rep[key][l]).shape == shape, (key, l)
    assert np.array(rep["x"]).shape == (3, 1) and np.array(rep["t"]).shape == (2, 1)
    assert rep["a"]["0"] == rep["x"]


def test_json_numbers_match_the_source_formulas_by_hand():
    rep = json_report("--seed", "3", "--lr", "0.8")
    h = hand_from_report(rep)
    for l in (1, 2):
        np.testing.assert_allclose(col(rep["z"][str(l)]), h["z"][l], rtol=1e-12)
        np.testing.assert_allclose(col(rep["a"][str(l)]), h["a"][l], rtol=1e-12)
        np.testing.assert_allclose(col(rep["delta"][str(l)]), h["delta"][l], rtol=1e-10)
        np.testing.assert_allclose(rep["dW"][str(l)], h["dW"][l], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(col(rep["db"][str(l)]), h["db"][l], rtol=1e-10)
        np.testing.assert_allclose(rep["W_after"][str(l)], h["W_new"][l], rtol=1e-12)
    assert rep["cost"] == pytest.approx(h["C"], rel=1e-12)
    assert rep["cost_after_step"] == pytest.approx(h["C_new"], rel=1e-12)
    assert rep["cost_after_step"] < rep["cost"]  # the new, lower cost
    assert rep["gradcheck"]["passed"]
    assert all(c["rel_error"] < 1e-8 for c in rep["gradcheck"]["W"].values())


def test_default_example_is_drawn_from_the_seed():
    a, b, c = json_report("--seed", "1"), json_report("--seed", "1"), json_report("--seed", "2")
    assert a == b
    assert a["W"] != c["W"] and a["x"] != c["x"]
    assert all(0 <= v <= 1 for v in col(a["x"]))
    assert sorted(col(a["t"])) == [0.0, 1.0]  # a one-hot target


def _f4(v: float) -> str:
    s = f"{v:.4f}"
    return "0.0000" if s == "-0.0000" else s


def test_text_output_carries_the_hand_numbers_shapes_and_typo_notes():
    rep = json_report("--seed", "5")
    h = hand_from_report(rep)
    code, text, _ = run_cli("--seed", "5")
    assert code == 0
    assert not ANSI.search(text)  # not a terminal: no colour
    # the source's order: forward, cost, BP1, then per layer BP4, BP3, BP2, update, new cost
    order = [
        "Forward pass, layer 1",
        "Forward pass, layer 2",
        "The cost",
        "BP1",
        "BP4: ∂C/∂W²",
        "BP3: ∂C/∂b²",
        "BP2: δ¹",
        "BP4: ∂C/∂W¹",
        "BP3: ∂C/∂b¹",
        "Gradient descent",
        "The new cost",
    ]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    for s in (
        "[W¹]₄ₓ₃",
        "[W²]₂ₓ₄",
        "[a⁰]₃ₓ₁",
        "[z¹]₄ₓ₁",
        "[δ²]₂ₓ₁",
        "[δ¹]₄ₓ₁",
        "[∂C/∂W²]₂ₓ₄ = [δ²]₂ₓ₁ [a¹]ᵀ₁ₓ₄",
        "[∂C/∂W¹]₄ₓ₃ = [δ¹]₄ₓ₁ [a⁰]ᵀ₁ₓ₃",
        "[δ¹]₄ₓ₁ = [W²]ᵀ₄ₓ₂ [δ²]₂ₓ₁ ∘ [σ'(z¹)]₄ₓ₁",
        "δ² = (a² − t) ∘ σ'(z²)",
        "δ¹ = ((W²)ᵀ δ²) ∘ σ'(z¹)",
    ):
        assert s in text, s
    # the source's typos, one line each
    assert "writes [∂C/∂b²]₂ₓ₁ = [δ³]₂ₓ₁" in text and "it means δ²" in text
    assert "δ¹ [≡ W²]ᵀ δ³" in text and "δ¹ ≡ (W²)ᵀ δ² ∘ σ'(z¹)" in text
    # numbers computed by hand, as printed (4 decimals)
    for l in (1, 2):
        for v in [*h["z"][l], *h["a"][l], *h["sp"][l]]:
            assert _f4(v) in text, v
        for v in [*h["delta"][l], *(x for row in h["dW"][l] for x in row), *h["W_new"][l][0]]:
            assert _f4(v) in text, v
    assert f"C = {h['C']:.6g}" in text
    assert f"{h['C_new']:.6g}" in text
    assert text.count("✓ finite differences") == 4 and "✗" not in text


def test_markdown_output():
    rep = json_report("--seed", "5")
    h = hand_from_report(rep)
    code, md, _ = run_cli("--seed", "5", "--format", "markdown")
    assert code == 0
    assert md.startswith("# Backpropagation, step by step")
    assert "$$ \\delta^{2} = \\left( a^{2} - t \\right) \\circ \\sigma'(z^{2}) $$" in md
    assert "\\left[ \\frac{\\partial C}{\\partial W^{2}} \\right]_{2\\times 4}" in md
    assert "\\left[ a^{1} \\right]^\\top_{1\\times 4}" in md
    assert md.count("```text") == md.count("```") // 2
    assert "> **Note:** The source writes" in md
    for v in h["delta"][1] + h["delta"][2]:
        assert _f4(v) in md
    assert "| ∂C/∂W¹ |" in md


def test_colour_only_when_asked_or_on_a_terminal(monkeypatch):
    from backprop.cli.explain import _use_color

    code, text, _ = run_cli("--color", "always")
    assert code == 0 and ANSI.search(text)

    class TTY(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert _use_color("auto", TTY())
    assert not _use_color("auto", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _use_color("auto", TTY())
    assert _use_color("always", io.StringIO()) and not _use_color("never", TTY())


# -- other configurations --------------------------------------------------------


def _torch_grads(rep: dict, acts: list[str], cost: str):
    torch = pytest.importorskip("torch")
    L = len(rep["W"])
    W = [
        torch.tensor(rep["W"][str(l)], dtype=torch.float64, requires_grad=True)
        for l in range(1, L + 1)
    ]
    b = [
        torch.tensor(rep["b"][str(l)], dtype=torch.float64, requires_grad=True)
        for l in range(1, L + 1)
    ]
    a = torch.tensor(rep["x"], dtype=torch.float64)
    t = torch.tensor(rep["t"], dtype=torch.float64)
    fns = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "softmax": lambda z: torch.softmax(z, dim=0),
        "identity": lambda z: z,
    }
    zs = []
    for l in range(L):
        z = W[l] @ a + b[l]
        z.retain_grad()
        zs.append(z)
        a = fns[acts[l]](z)
    m = a.shape[1]
    if cost == "quadratic":
        C = 0.5 * ((a - t) ** 2).sum() / m
    elif acts[-1] == "softmax":
        C = -(t * torch.log(a)).sum() / m
    else:
        C = -(t * torch.log(a) + (1 - t) * torch.log(1 - a)).sum() / m
    C.backward()
    return (
        C.item(),
        [w.grad.numpy() for w in W],
        [v.grad.numpy() for v in b],
        [z.grad.numpy() * m for z in zs],
    )


@pytest.mark.parametrize(
    "argv, acts, cost",
    [
        (["--layers", "3,5,4,2", "--activation", "tanh"], ["tanh", "tanh", "tanh"], "quadratic"),
        (
            [
                "--layers",
                "4,6,5,3,3",
                "--activation",
                "relu",
                "--output",
                "softmax",
                "--cost",
                "cross-entropy",
                "--init",
                "he-normal",
            ],
            ["relu"] * 3 + ["softmax"],
            "cross-entropy",
        ),
        (
            ["--layers", "3,4,2", "--cost", "cross-entropy", "--batch", "3"],
            ["sigmoid"] * 2,
            "cross-entropy",
        ),
        (
            ["--layers", "3,5,4,3", "--output", "softmax", "--batch", "2"],
            ["sigmoid", "sigmoid", "softmax"],
            "quadratic",
        ),
    ],
)
def test_deeper_and_other_networks_agree_with_torch_autograd(argv, acts, cost):
    rep = json_report(*argv, "--seed", "11")
    C, dW, db, deltas = _torch_grads(rep, acts, cost)
    L = len(acts)
    assert rep["cost"] == pytest.approx(C, rel=1e-12)
    for l in range(1, L + 1):
        np.testing.assert_allclose(rep["dW"][str(l)], dW[l - 1], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(rep["db"][str(l)], db[l - 1], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(rep["delta"][str(l)], deltas[l - 1], rtol=1e-9, atol=1e-14)
    assert rep["gradcheck"]["passed"]


def test_cross_entropy_delta_is_a_minus_t_with_its_note():
    code, text, _ = run_cli("--cost", "cross-entropy")
    assert code == 0
    assert "δ² = a² − t" in text and "σ'(z) = a(1 − a) cancel" in text
    assert "The source calls this" not in text
    code, text, _ = run_cli("--cost", "cross-entropy", "--output", "softmax")
    assert "softmax Jacobian" in text


def test_a_mini_batch_averages_bp3_and_bp4_over_its_columns():
    rep = json_report("--batch", "4", "--seed", "2")
    a0, a1 = np.array(rep["a"]["0"]), np.array(rep["a"]["1"])
    d1, d2 = np.array(rep["delta"]["1"]), np.array(rep["delta"]["2"])
    assert d2.shape == (2, 4) and a0.shape == (3, 4)
    # ∂C/∂W = (1/m) Σ_x δ^x (a^x)ᵀ, one outer product per example
    dW2 = sum(np.outer(d2[:, k], a1[:, k]) for k in range(4)) / 4
    dW1 = sum(np.outer(d1[:, k], a0[:, k]) for k in range(4)) / 4
    np.testing.assert_allclose(rep["dW"]["2"], dW2, rtol=1e-12)
    np.testing.assert_allclose(rep["dW"]["1"], dW1, rtol=1e-12)
    np.testing.assert_allclose(col(rep["db"]["1"]), d1.mean(axis=1), rtol=1e-12)
    code, text, _ = run_cli("--batch", "4", "--seed", "2")
    assert "[∂C/∂W²]₂ₓ₄ = 1/m [δ²]₂ₓ₄ [a¹]ᵀ₄ₓ₄" in text
    assert "a typo" not in text.split("BP3: ∂C/∂b²")[1].split("BP2")[0]


def test_all_four_formats_for_a_deeper_network(tmp_path):
    for fmt in ("text", "markdown", "html", "json"):
        out = tmp_path / f"deep.{fmt}"
        code, stdout, err = run_cli("--layers", "3,6,5,4,2", "--format", fmt, "--out", str(out))
        assert code == 0, err
        assert stdout == "" and out.stat().st_size > 1000
        body = out.read_text(encoding="utf-8")
        assert "4" in body
        if fmt != "json":
            assert "BP2: δ³ from δ⁴" in body and "BP2: δ¹ from δ²" in body
            assert "a typo" not in body  # δ³ is a real layer here
            assert "for L = 4" in body
    assert sorted(json.loads((tmp_path / "deep.json").read_text())["W"]) == ["1", "2", "3", "4"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.stack: list[str] = []
        self.void = {"meta", "br", "mspace", "link", "img", "input"}

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.void:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
        self.stack.pop()


def test_html_is_self_contained_with_mathml_and_tables():
    code, html, _ = run_cli("--format", "html")
    assert code == 0
    p = _Collector()
    p.feed(html)
    assert p.stack == []  # every element closed, properly nested
    assert "script" not in p.tags and "link" not in p.tags and "img" not in p.tags
    assert not any(k in ("src", "href") for k, _ in p.attrs)
    assert "http" not in html.replace("http-equiv", "")  # nothing fetched from the network
    assert "@import" not in html and "url(" not in html
    assert p.tags.count("math") > 20 and "mfrac" in p.tags and "msubsup" in p.tags
    assert 'name="viewport"' in html and "@media print" in html and "max-width: 600px" in html
    assert 'data-key="W1" data-shape="4×3"' in html


def test_large_layers_are_summarised_unless_full():
    net = bp.Network([40, 12, 3], seed=0)
    X = np.linspace(0, 1, 40).reshape(1, -1)
    e = explain(net, X, [[0.0, 1.0, 0.0]])
    from backprop.report import render

    text = render(e, "text")
    W1 = e.W[1]
    assert f"[W¹]₁₂ₓ₄₀  12×40, min {W1.min():.4g}, mean {W1.mean():.4g}, max {W1.max():.4g}" in text
    assert "⋯" in text and "⋱" in text
    assert "64 of 480 entries" in text  # the finite-difference check samples a large tensor
    full = render(explain(net, X, [[0.0, 1.0, 0.0]], fd_entries=None), "text", full=True)
    assert "⋯" not in full and "all 480 entries" in full
    assert all(f"{v:.4f}".replace("-0.0000", "0.0000") in full for v in W1[:, -1])


def test_relu_kinks_are_skipped_not_failed():
    # a ReLU unit whose input z sits 1e-6 from its kink: differences across it are meaningless
    net = bp.Network([2, 3, 2], activation="relu", output="sigmoid", seed=0)
    x = np.array([[0.5, 0.25]])
    net.b[1][0, 0] = 1e-6 - float(net.W[1][0] @ x[0])
    e = explain(net, x, [[1.0, 0.0]])
    assert e.checks_passed
    assert e.check_W[1].skipped > 0


def test_user_errors_exit_2_without_traceback(tmp_path):
    cases = [
        ("--batch", "0"),
        ("--lr", "-1"),
        ("--layers", "3,x,2"),
        ("--activation", "nope"),
        ("--data", "digits"),  # --data needs MODEL
        ("--out", str(tmp_path / "missing" / "r.html")),
        (str(tmp_path / "nope.safetensors"), "--data", "digits"),
    ]
    for argv in cases:
        code, out, err = run_cli(*argv)
        assert code == 2, argv
        assert err.startswith("backprop") and "Traceback" not in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_library_api_leaves_the_network_unchanged():
    net, X, T = source_example(seed=4)
    W1 = net.W[1].copy()
    e = explain(net, X, T, lr=0.1)
    np.testing.assert_array_equal(net.W[1], W1)
    assert e.L == 2 and e.m == 1 and e.checks_passed


# -- a trained model and real data ----------------------------------------------


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory):
    from backprop import data
    from backprop import io as bpio

    if not (DATA / "mnist").is_dir():
        pytest.skip(f"needs the real MNIST in {DATA / 'mnist'}")
    ds = data.load(f"mnist:{DATA / 'mnist'}")
    net = bp.Network([784, 30, 10], init="scaled-normal", seed=0, dtype="float32")
    bp.train(net, ds.X_train[:3000], ds.y_train[:3000], epochs=2, batch_size=10, lr=3.0, seed=0)
    path = tmp_path_factory.mktemp("model") / "mnist.safetensors"
    bpio.save(net, path)
    return path, ds


def test_explain_a_trained_mnist_model_in_all_formats(mnist_model, tmp_path):
    path, ds = mnist_model
    spec = f"mnist:{DATA / 'mnist'}"
    rep = json_report(str(path), "--data", spec, "--example", "7")
    x = np.array(rep["x"])[:, 0]
    np.testing.assert_allclose(x, ds.X_test[7], rtol=1e-7)
    t = np.array(rep["t"])[:, 0]
    assert t.argmax() == ds.y_test[7] and t.sum() == 1
    net = bp.load(path).astype("float64")
    assert rep["cost"] == pytest.approx(net.cost(ds.X_test[7:8], ds.y_test[7:8]), rel=1e-12)
    assert np.array(rep["W"]["1"]).shape == (30, 784)
    assert rep["gradcheck"]["passed"]
    code, text, _ = run_cli(str(path), "--data", spec, "--example", "7")
    assert code == 0
    assert "[W¹]₃₀ₓ₇₈₄  30×784, min" in text and "example 7 of the mnist test split" in text
    assert "float32; the walkthrough runs on a float64 copy" in text
    for fmt in ("markdown", "html"):
        out = tmp_path / f"mnist.{fmt}"
        code, _, err = run_cli(
            str(path), "--data", spec, "--example", "7", "--format", fmt, "--out", str(out)
        )
        assert code == 0, err
        assert "30×784" in out.read_text(encoding="utf-8")


def test_explain_model_errors(mnist_model):
    path, _ = mnist_model
    spec = f"mnist:{DATA / 'mnist'}"
    code, _, err = run_cli(str(path))
    assert code == 2 and "--data" in err
    code, _, err = run_cli(str(path), "--data", spec, "--example", "10000")
    assert code == 2 and "0..9999" in err
    code, _, err = run_cli(str(path), "--data", spec, "--layers", "3,4,2")
    assert code == 2 and "--layers" in err
    code, _, err = run_cli(str(path), "--data", "digits")
    assert code == 2 and "64" in err


def test_explain_model_defaults_to_the_data_it_was_trained_on(tmp_path):
    from backprop import data
    from backprop import io as bpio

    ds = data.load("digits")
    net = bp.Network(
        [64, 10, 10],
        activation="relu",
        output="softmax",
        cost="cross-entropy",
        init="he-normal",
        seed=0,
    )
    path = tmp_path / "digits.safetensors"
    bpio.save(net, path, metadata={"data_spec": "digits"})
    rep = json_report(str(path), "--example", "4", "--batch", "2")
    np.testing.assert_allclose(np.array(rep["x"]).T, ds.X_test[4:6], rtol=1e-7)
    np.testing.assert_array_equal(np.array(rep["t"]).argmax(axis=0), ds.y_test[4:6])
    assert rep["m"] == 2 and rep["gradcheck"]["passed"]
