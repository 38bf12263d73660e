"""Data parallelism on this machine, measured; then the ring-allreduce cost model, on paper.

    python benchmarks/distributed.py            # both configurations, about 1-2 minutes
    python benchmarks/distributed.py --quick    # [784,100,10]/64 only, fewer repetitions

For [784,100,10] with batch 64 and [784,512,512,10] with batch 128 (float32, ReLU hidden
layers, softmax + cross-entropy, plain SGD, synthetic MNIST-shaped data), in alternating
repetitions (the best one, with the most samples/s, is reported: on a shared machine the
others lost time to other processes; ``--median`` for the middle one):

* **1 process × 2 threads** and **1 process × 1 thread**: ``backprop.train``;
* **2 processes × 1 thread**: ``mpiexec -n 2`` (the venv's own) running
  ``backprop.train(..., comm=MPI.COMM_WORLD)``.

Samples/s are training samples over the time the loop spent in mini-batches
(``History.seconds``, the first epoch left out as warm-up; for 2 processes the slower
rank's). For 2 processes also: the ``Allreduce`` time per step and its share of the step
(time inside ``comm.Allreduce``, which includes waiting for the other rank), and the bytes
per step: the packed buffer, and what a ring allreduce sends per rank, 2(N − 1)/N of it.

Then the cost model: per-sample compute time t from the 1-thread run, parameter bytes P,
a ring allreduce of 2(N − 1)/N · P bytes per step at B bit/s::

    step(b) = b · t + 2 (N − 1)/N · P / B          efficiency = b · t / step(b)
    b_90    = 9 · 2 (N − 1)/N · P / (B · t)        the per-rank batch for 90 % efficiency

for N = 8, 64, 512 and B = 10, 25, 100 Gbit/s (no overlap of communication with
computation, latency left out; see docs/distributed.md). Writes JSON (``--out``, default
benchmarks/results/distributed-<UTC time>.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CONFIGS = [([784, 100, 10], 64, 12_800), ([784, 512, 512, 10], 128, 6_400)]  # sizes, m, n
EPOCHS = 4  # the first is warm-up
NETWORKS = (8, 64, 512)
GBITS = (10, 25, 100)
MPIEXEC = Path(sys.executable).parent / "mpiexec"


# -- the child: one training run, one JSON line ------------------------------------------


def _child(sizes: list[int], m: int, n: int, use_mpi: bool) -> dict[str, Any]:
    import numpy as np

    import backprop as bp

    comm = None
    if use_mpi:
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], size=n)
    net = bp.Network(sizes, activation="relu", output="softmax", cost="cross-entropy", seed=0,
                     dtype="float32")  # fmt: skip
    seen: dict[str, Any] = {}

    class Probe(bp.Callback):
        def on_train_end(self, state: Any) -> None:
            packed = getattr(state.step, "packed", None)
            if packed is not None:
                seen.update(seconds=packed.seconds, calls=packed.calls, nbytes=packed.nbytes)

    history = bp.train(net, X, y, epochs=EPOCHS, batch_size=m, lr=0.05, seed=0,
                       callbacks=[Probe()], comm=comm)  # fmt: skip
    seconds = sum(history.seconds[1:])
    steps = math.ceil(n / m) * EPOCHS
    out: dict[str, Any] = {"samples_per_s": n * (EPOCHS - 1) / seconds}
    out["step_s"] = seconds / (math.ceil(n / m) * (EPOCHS - 1))
    if comm is not None:
        out["samples_per_s"] = n * (EPOCHS - 1) / comm.allreduce(seconds, op=MPI.MAX)
        allreduce = comm.allreduce(seen["seconds"], op=MPI.MAX) / seen["calls"]
        out.update(allreduce_s=allreduce, buffer_bytes=seen["nbytes"], steps=steps)
        out["allreduce_share"] = allreduce / (sum(history.seconds) / steps)
        if comm.Get_rank() != 0:
            return {}
    return out


# -- the parent -------------------------------------------------------------------------


def _run(sizes: list[int], m: int, n: int, mode: str) -> dict[str, Any]:
    threads = "2" if mode == "1x2" else "1"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
    env = {k: v for k, v in env.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    child = [sys.executable, __file__, "--child", json.dumps([sizes, m, n, mode == "2x1"])]
    cmd = [str(MPIEXEC), "-n", "2", *child] if mode == "2x1" else child
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stdout}\n{done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def measure(
    reps: int, configs: list[tuple[list[int], int, int]], median: bool = False
) -> list[dict[str, Any]]:
    rows = []
    for sizes, m, n in configs:
        runs: dict[str, list[dict[str, Any]]] = {"1x2": [], "1x1": [], "2x1": []}
        for _ in range(reps):  # alternating, so that a busy moment hits every mode alike
            for mode in runs:
                runs[mode].append(_run(sizes, m, n, mode))
        row: dict[str, Any] = {"sizes": sizes, "batch_size": m, "n": n}
        for mode, results in runs.items():
            # the best repetition (most samples/s): on a shared machine the others lost time
            # to other processes; --median for the middle one
            best = sorted(results, key=lambda r: r["samples_per_s"])
            chosen = best[len(best) // 2] if median else best[-1]
            for key in results[0]:
                row[f"{mode}.{key}"] = chosen[key]
            row[f"{mode}.samples_per_s_all"] = [r["samples_per_s"] for r in results]
        n_params = sum(sizes[i] * sizes[i + 1] + sizes[i + 1] for i in range(len(sizes) - 1))
        row["param_bytes"] = 4 * n_params
        row["ring_bytes_2"] = 2 * (2 - 1) / 2 * row["param_bytes"]
        row["speedup_2x1_vs_1x2"] = row["2x1.samples_per_s"] / row["1x2.samples_per_s"]
        rows.append(row)
    return rows


def cost_model(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The ring model for one configuration, per-sample time from its 1-thread run."""
    t = 1.0 / row["1x1.samples_per_s"]
    m, P = row["batch_size"], row["param_bytes"]
    out = []
    for N in NETWORKS:
        for gbit in GBITS:
            comm = 2 * (N - 1) / N * P / (gbit * 1e9 / 8)
            out.append({
                "N": N, "gbit": gbit, "comm_s": comm,
                "efficiency_at_m": m * t / (m * t + comm),
                "batch_for_90": math.ceil(9 * comm / t),
            })  # fmt: skip
    return out


def report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| network / batch | 1 proc × 2 thr | 1 proc × 1 thr | 2 proc × 1 thr | 2×1 vs 1×2 "
        "| Allreduce per step | share of step | buffer bytes | ring bytes/rank |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['sizes']} / {r['batch_size']} | {r['1x2.samples_per_s']:,.0f}/s "
            f"| {r['1x1.samples_per_s']:,.0f}/s | {r['2x1.samples_per_s']:,.0f}/s "
            f"| {r['speedup_2x1_vs_1x2']:.2f}× | {r['2x1.allreduce_s'] * 1e6:,.0f} µs "
            f"| {r['2x1.allreduce_share']:.0%} | {r['2x1.buffer_bytes']:,.0f} "
            f"| {r['ring_bytes_2']:,.0f} |"
        )
    for r in rows:
        t_us = 1e6 / r["1x1.samples_per_s"]
        lines += ["", f"cost model, {r['sizes']}: t = {t_us:.1f} µs per sample (1 thread), "
                  f"P = {r['param_bytes']:,} bytes", "",
                  "| N | 10 Gbit/s | 25 Gbit/s | 100 Gbit/s |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        model = cost_model(r)
        b = r["batch_size"]
        for N in NETWORKS:
            cells = [
                f"{c['efficiency_at_m']:.0%} at b={b}; ≥90 % from b={c['batch_for_90']:,}"
                for c in model
                if c["N"] == N
            ]
            lines.append(f"| {N} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="[784,100,10]/64 only, 3 reps")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per mode")
    parser.add_argument(
        "--median", action="store_true", help="report the median repetition, not the best"
    )
    parser.add_argument("--configs", help="indices into the configurations, e.g. 1 or 0,1")
    parser.add_argument("--out", help="JSON file (default benchmarks/results/distributed-*.json)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sizes, m, n, use_mpi = json.loads(args.child)
        result = _child(sizes, m, n, use_mpi)
        if result:
            print(json.dumps(result), flush=True)
        return 0
    if not MPIEXEC.is_file():
        raise SystemExit(f"needs the environment's own mpiexec at {MPIEXEC}: pip install '.[mpi]'")
    configs = CONFIGS[:1] if args.quick else CONFIGS
    if args.configs:
        configs = [CONFIGS[int(i)] for i in args.configs.split(",")]
    reps = 3 if args.quick else args.reps
    started = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    rows = measure(reps, configs, args.median)
    text = report(rows)
    print(text)
    out = Path(args.out or Path(__file__).parent / "results" / f"distributed-{started}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    models = {str(r["sizes"]): cost_model(r) for r in rows}
    out.write_text(json.dumps({"started": started, "load_average": load, "reps": reps,
                               "statistic": "median" if args.median else "best",
                               "rows": rows, "cost_model": models}, indent=1))  # fmt: skip
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
