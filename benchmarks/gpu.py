"""On a GPU, in one run: backprop on CuPy and torch CUDA checked against NumPy, then timed.

    python benchmarks/gpu.py                  # checks + speed, about 2-5 minutes on one GPU
    python benchmarks/gpu.py --wheels DIR     # first: pip install --no-index from DIR
                                              #   (cupy-cuda12x, torch, array-api-compat wheels)
    python benchmarks/gpu.py --smoke          # tiny, on the CPU (array-api-strict; no GPU needed)

1. **Equality** (issue 12, the same tolerances as the CPU tests): float64 gradients of every
   activation × cost × depth 1-4 against NumPy's (1e-12); 3 epochs of SGD, momentum and
   Adam (L2 0.5, dropout 0.2 with masks drawn from NumPy) on 1797 × 64 data against
   ``bp.train`` on NumPy (1e-10); float32 SGD against NumPy float32 (1e-5).
2. **Speed**, float32, relu hidden layers, softmax + cross-entropy, plain SGD, data on the
   GPU, samples/s of whole epochs of shuffled mini-batches (median of ``--reps``):
   backprop's step on CuPy and on torch (``backprop.backends.step.ArrayStep``), PyTorch
   eager (``nn.Sequential`` + ``optim.SGD``, TF32 off), and the GEMM ceiling: nothing but
   the step's matrix products (forward, backward, weight gradient) in cuBLAS, back to back.
   Targets on the two largest configurations: ≥ 1.0× PyTorch eager, ≥ 70 % of the ceiling.

Prints a table and writes JSON (``--out``, default benchmarks/results/gpu-<time>.json).
Installs nothing unless given ``--wheels``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backprop.backends import Backend

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # this checkout's backprop

import numpy as np  # noqa: E402

CONFIGS = [([784, 100, 10], 64), ([784, 512, 512, 10], 128), ([784, 2048, 2048, 10], 256),
           ([784, 4096, 4096, 4096, 10], 1024)]  # fmt: skip
SMOKE_CONFIGS = [([784, 32, 10], 64)]
LARGE = 2  # the targets apply to the last two configurations
LR = 0.05


def label(sizes: list[int], m: int) -> str:
    return f"[{','.join(map(str, sizes))}]/{m}"


def install(wheels: str) -> None:
    pkgs = ["array-api-compat", "cupy-cuda12x", "torch"]
    for pkg in pkgs:  # one at a time: a missing wheel skips that library only
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", wheels]
        if subprocess.run([*cmd, pkg]).returncode:
            print(f"note: no installable {pkg} wheel in {wheels}", file=sys.stderr)


def backends(smoke: bool) -> list[tuple[str, Backend]]:
    from backprop import ConfigError
    from backprop.backends import resolve

    wanted = [("array_api_strict", None)] if smoke else [("cupy", "cuda"), ("torch", "cuda")]
    found = []
    for name, device in wanted:
        try:
            found.append((f"{name}-{device or 'cpu'}", resolve(name, device)))
        except ConfigError as err:
            print(f"skip {name} ({device}): {err}", file=sys.stderr)
    return found


def sync(backend: Backend) -> None:
    if backend.name == "cupy":
        import cupy

        cupy.cuda.runtime.deviceSynchronize()
    elif backend.name == "torch" and backend.device.type == "cuda":
        import torch

        torch.cuda.synchronize()


# -- 1. equality ------------------------------------------------------------------


def data(n: int = 1797, d: int = 64, k: int = 10, seed: int = 0) -> tuple[Any, Any]:
    """Digits-shaped data with learnable labels (a random linear teacher): no download."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = (X @ rng.standard_normal((d, k))).argmax(axis=1)
    return X, y


def cases() -> Iterator[tuple[int, str, str, str]]:
    """(depth, hidden, output, cost): depth 1-4, every activation, every meaningful cost."""
    hidden = ["sigmoid", "tanh", "relu", "leaky-relu", "identity"]
    pairs = [(o, "quadratic") for o in [*hidden, "softmax"]]
    pairs += [("sigmoid", "cross-entropy"), ("softmax", "cross-entropy")]
    for depth in range(1, 5):
        for output, cost in pairs:
            for h in hidden if depth > 1 else hidden[:1]:
                yield depth, h, output, cost


def equality(backend: Backend) -> dict[str, float | bool]:
    """Max |difference| from NumPy float64, and whether each is within its tolerance."""
    import backprop as bp
    from backprop.backends import to_numpy

    device = backend.device
    worst = 0.0
    for depth, hidden, output, cost in cases():
        sizes = [4, *[5, 3, 4][: depth - 1], 3]
        net = bp.Network(sizes, activation=hidden, output=output, cost=cost, seed=depth)
        rng = np.random.default_rng(depth)
        X, T = rng.standard_normal((7, 4)), rng.random((7, 3))
        if output == "softmax":
            T /= T.sum(axis=1, keepdims=True)
        want, got = net.gradients(X, T), net.to(backend.name, device).gradients(X, T)
        for l in range(1, depth + 1):
            for g, w in (
                (got.W[l], want.W[l]),
                (got.b[l], want.b[l]),
                (got.delta[l], want.delta[l]),
            ):
                worst = max(worst, float(np.abs(to_numpy(g) - w).max()))
    out: dict[str, float | bool] = {
        "gradients_max_abs_error": worst,
        "gradients_ok": worst <= 1e-12,
    }
    X, y = data()
    runs = [("sgd", 0.5, 0.0, 0.0, "float64"), ("momentum", 0.1, 0.5, 0.0, "float64"),
            ("adam", 0.003, 0.5, 0.2, "float64"), ("sgd", 0.1, 0.0, 0.0, "float32")]  # fmt: skip
    for opt, lr, l2, dropout, dtype in runs:
        net = bp.Network([64, 30, 20, 10], activation="relu", output="softmax",
                         cost="cross-entropy", init="he-normal", seed=1, dtype=dtype)  # fmt: skip
        ref, moved = net.copy(), net.to(backend.name, device)
        kw = {"epochs": 3, "batch_size": 32, "lr": lr, "optimizer": opt, "l2": l2,
              "dropout": dropout, "seed": 5}  # fmt: skip
        bp.train(ref, X, y, **kw)
        bp.train(moved, X, y, engine="array-api-numpy-masks", **kw)  # masks as NumPy's
        err = max(float(np.abs(to_numpy(moved.W[l]) - ref.W[l]).max()) for l in (1, 2, 3))
        out[f"train_{opt}_{dtype}_max_abs_error"] = err
        out[f"train_{opt}_{dtype}_ok"] = err <= (1e-10 if dtype == "float64" else 1e-5)
    return out


# -- 2. speed ---------------------------------------------------------------------


def timed(run_epoch: Callable[[], None], sync_fn: Callable[[], None], samples: int, reps: int,
          seconds: float) -> float:  # fmt: skip
    """Median samples/s of ``reps`` measurements, each ≥ ``seconds`` of whole epochs."""
    run_epoch()  # warm-up: kernels compiled, memory pools filled
    sync_fn()
    rates = []
    for _ in range(reps):
        k, t0 = 0, time.perf_counter()
        while True:
            run_epoch()
            k += 1
            sync_fn()
            if time.perf_counter() - t0 >= seconds:
                break
        rates.append(k * samples / (time.perf_counter() - t0))
    return statistics.median(rates)


def speed_backprop(backend: Backend, sizes: list[int], m: int, X: Any, T: Any, reps: int,
                   seconds: float) -> float:  # fmt: skip
    """The training loop's work: ``ArrayStep.run_batches`` over whole epochs (data moved once)."""
    import backprop as bp
    from backprop import optimizers as optim
    from backprop.backends.step import ArrayStep

    net = bp.Network(sizes, activation="relu", output="softmax", cost="cross-entropy",
                     init="he-normal", seed=0, dtype="float32")  # fmt: skip
    net = net.to(backend.name, backend.device)
    rng = np.random.default_rng(0)
    step = ArrayStep(net, optim.SGD(LR), n_train=len(X), rng=rng)
    step.load(X, T)  # once per run
    n = len(X)

    def epoch() -> None:  # NumPy's permutation, moved once; one finiteness check at the end
        step.run_batches(X, T, rng.permutation(n), m, 0, math.ceil(n / m), LR)

    return timed(epoch, lambda: sync(backend), n, reps, seconds)


def speed_torch(device: str, sizes: list[int], m: int, X: Any, y: Any, reps: int,
                seconds: float) -> float:  # fmt: skip
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False  # float32 GEMMs, as CuPy's and ours
    torch.manual_seed(0)
    layers: list[Any] = []
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if l < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xd, yd = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)
    n = len(X)

    def epoch() -> None:
        perm = torch.randperm(n, device=device)
        for start in range(0, n, m):
            idx = perm[start : start + m]
            loss = torch.nn.functional.cross_entropy(model(Xd[idx]), yd[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()

    return timed(epoch, torch.cuda.synchronize if device != "cpu" else (lambda: None),
                 n, reps, seconds)  # fmt: skip


def speed_ceiling(device: str, sizes: list[int], m: int, reps: int, seconds: float) -> float:
    """The step's GEMMs only: z = W a (per layer), Wᵀδ (layers 2..L), δ aᵀ (per layer)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    W = [torch.randn(b, a, device=device) for a, b in zip(sizes[:-1], sizes[1:])]
    A = [torch.randn(k, m, device=device) for k in sizes]  # float32, as the step's
    dW = [torch.empty_like(w) for w in W]
    batches = 32

    def epoch() -> None:
        for _ in range(batches):
            for l, w in enumerate(W):
                torch.matmul(w, A[l], out=A[l + 1])  # forward
            for l in range(len(W) - 1, -1, -1):
                torch.matmul(A[l + 1], A[l].T, out=dW[l])  # weight gradient
                if l:
                    torch.matmul(W[l].T, A[l + 1], out=A[l])  # backward

    return timed(epoch, torch.cuda.synchronize if device != "cpu" else (lambda: None),
                 batches * m, reps, seconds)  # fmt: skip


def speed(found: list[tuple[str, Backend]], sizes: list[int], m: int, args: Any,
          has_torch: bool) -> dict[str, Any]:  # fmt: skip
    """One configuration's samples/s for every implementation, and the ratios."""
    n = 1024 if args.smoke else max(16 * m, 8192)
    device = "cpu" if args.smoke else "cuda"
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], size=n)
    T = np.eye(sizes[-1], dtype=np.float32)[y]
    s: dict[str, float] = {}
    for name, backend in found:
        s[f"backprop-{name}"] = speed_backprop(backend, sizes, m, X, T, args.reps, args.seconds)
    row: dict[str, Any] = {"config": label(sizes, m), "samples_per_s": s}
    if has_torch:
        s["torch-eager"] = speed_torch(device, sizes, m, X, y, args.reps, args.seconds)
        s["gemm-ceiling"] = speed_ceiling(device, sizes, m, args.reps, args.seconds)
        ours = max(v for k, v in s.items() if k.startswith("backprop-"))
        row["vs_torch"] = ours / s["torch-eager"]
        row["of_ceiling"] = ours / s["gemm-ceiling"]
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wheels", help="pip install cupy-cuda12x/torch/array-api-compat from here")
    p.add_argument("--smoke", action="store_true", help="tiny run on the CPU (no GPU needed)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=1.0, help="minimum per measurement")
    p.add_argument("--out", help="JSON path (default benchmarks/results/gpu-<time>.json)")
    args = p.parse_args(argv)
    if args.wheels:
        install(args.wheels)
    found = backends(args.smoke)
    if not found:
        print("no GPU backend: needs CuPy or a CUDA build of torch, and a CUDA device",
              file=sys.stderr)  # fmt: skip
        return 2
    report: dict[str, Any] = {"host": platform.node(), "python": sys.version.split()[0],
                              "smoke": args.smoke, "equality": {}, "speed": []}  # fmt: skip
    has_torch = importlib.util.find_spec("torch") is not None
    if has_torch:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False  # true float32 GEMMs for every row
        if args.smoke:
            torch.set_num_threads(1)  # a shared CPU: no spinning thread pool

        report["torch"] = torch.__version__
        if torch.cuda.is_available():
            report["gpu"] = torch.cuda.get_device_name(0)
    for name, backend in found:
        t0 = time.perf_counter()
        eq = report["equality"][name] = equality(backend)
        ok = all(v for k, v in eq.items() if k.endswith("_ok"))
        print(
            f"equality {name:22s} {'PASS' if ok else 'FAIL'}  "
            f"grad err {eq['gradients_max_abs_error']:.1e}  ({time.perf_counter() - t0:.0f} s)"
        )

    configs = SMOKE_CONFIGS if args.smoke else CONFIGS
    for i, (sizes, m) in enumerate(configs):
        row = speed(found, sizes, m, args, has_torch)
        if "vs_torch" in row and i >= len(configs) - LARGE and not args.smoke:  # GPU targets
            row["targets_met"] = row["vs_torch"] >= 1.0 and row["of_ceiling"] >= 0.7
        report["speed"].append(row)
    print_table(report["speed"])
    out = Path(args.out or HERE / "results" / f"gpu-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    cols = list(dict.fromkeys(k for r in rows for k in r["samples_per_s"]))
    print("\nsamples/s (float32)  " + "".join(f"{c:>22s}" for c in cols) + "  vs torch  ceiling")
    for r in rows:
        cells = "".join(f"{r['samples_per_s'].get(c, float('nan')):22,.0f}" for c in cols)
        extra = f"  {r['vs_torch']:6.2f}x  {r['of_ceiling']:6.0%}" if "vs_torch" in r else ""
        met = {True: "  met", False: "  NOT met", None: ""}[r.get("targets_met")]
        print(f"{r['config']:21s}" + cells + extra + met)


if __name__ == "__main__":
    raise SystemExit(main())
