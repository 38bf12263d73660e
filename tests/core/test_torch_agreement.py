"""Agreement with PyTorch autograd (float64) on random networks: δ^l, ∂C/∂W^l, ∂C/∂b^l."""

import numpy as np
import pytest

import backprop as bp

torch = pytest.importorskip("torch")

TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky-relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
    "identity": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=0),  # columns are examples
}


def torch_cost(name, output, zL, aL, t):
    if name == "quadratic":
        return 0.5 * ((aL - t) ** 2).sum(dim=0).mean()
    if output == "softmax":
        return -(t * torch.log_softmax(zL, dim=0)).sum(dim=0).mean()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(zL, t, reduction="none")
    return bce.sum(dim=0).mean()


CASES = [
    ([3, 4, 2], "sigmoid", "sigmoid", "quadratic"),
    ([5, 8, 6, 3], "tanh", "softmax", "cross-entropy"),
    ([4, 7, 7, 7, 2], "relu", "sigmoid", "cross-entropy"),
    ([6, 5, 4, 3, 2, 4], "leaky-relu", "softmax", "quadratic"),
    ([3, 6, 1], "tanh", "identity", "quadratic"),
    ([10, 20, 10], "identity", "relu", "quadratic"),
]


@pytest.mark.parametrize("sizes, hidden, output, cost", CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pytorch_autograd(sizes, hidden, output, cost, seed):
    net = bp.Network(
        sizes, activation=hidden, output=output, cost=cost, seed=seed, init="scaled-normal"
    )
    rng = np.random.default_rng(100 + seed)
    m = 9
    X = rng.standard_normal((m, sizes[0]))
    T = rng.random((m, sizes[-1]))
    if output == "softmax":
        T /= T.sum(axis=1, keepdims=True)
    ours = net.gradients(X, T)

    W = {l: torch.tensor(net.W[l], requires_grad=True) for l in net.W.keys()}
    b = {l: torch.tensor(net.b[l], requires_grad=True) for l in net.b.keys()}
    a = torch.tensor(X.T)
    zs = {}
    for l in net.W.keys():
        zs[l] = W[l] @ a + b[l]
        zs[l].retain_grad()
        a = TORCH_ACT[net.activations[l - 1]](zs[l])
    C = torch_cost(cost, output, zs[net.L], a, torch.tensor(T.T))
    C.backward()

    assert net.cost(X, T) == pytest.approx(C.item(), rel=1e-13)
    for l in net.W.keys():
        worst = max(
            _rel(ours.W[l], W[l].grad.numpy()),
            _rel(ours.b[l], b[l].grad.numpy()),
            # C is the mean over m examples, so ∂C/∂z^l = δ^l / m
            _rel(ours.delta[l] / m, zs[l].grad.numpy()),
        )
        assert worst < 1e-10, f"layer {l}: {worst:.2e}"


def _rel(x, y):
    scale = max(np.abs(x).max(), np.abs(y).max(), 1e-300)
    return float(np.abs(x - y).max() / scale)
