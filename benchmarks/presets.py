"""Run the book presets on the real MNIST and record the results.

    python benchmarks/presets.py                        # every preset, seed 0
    python benchmarks/presets.py nielsen-ch1 --seeds 0 1 2
    python benchmarks/presets.py --data mnist:/path/to/mnist --out results.json

Each run is exactly ``backprop train --preset NAME --data mnist:DIR --seed S``
(the same steps as the CLI, from :mod:`backprop.cli.train`), with one extra
callback that measures, on a fixed sample of 1,000 training images, why a
sigmoid network learns or does not:

* ``saturated_hidden``: the fraction of (hidden unit, image) pairs with
  σ'(z) < 0.01, i.e. |z| > 4.6, where a unit passes almost no gradient back;
* ``stuck_hidden``: hidden units saturated on at least 99 % of the images;
* ``saturated_output``: the same fraction for the output layer;
* ``dead_output``: output units below ½ on every image of the sample, so that
  their class is never predicted (with the quadratic cost δ^L = (a − t) σ'(z)
  is then ≈ 0 and the unit cannot recover);
* ``grad_rms_W1``, ``grad_rms_W2``, …: the root mean square of ∂C/∂W^l
  over the sample, per layer (BP4), the size of the steps SGD takes.

They are measured before training (epoch 0) and after every epoch. The
results (accuracy per epoch, final test accuracy, wall time, machine) are
merged into ``benchmarks/results/presets.json`` — a run replaces the entry of
the same preset and seed — and printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = f"mnist:{ROOT.parent / 'shared' / 'data' / 'mnist'}"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "presets.json"
SAMPLE = 1000


class Diagnostics:
    """Training callback: saturation and per-layer gradient size on a fixed sample."""

    def __init__(self, X, y):
        self.X, self.y = X, y
        self.rows: list[dict] = []

    def measure(self, net, epoch: int) -> dict:
        trace = net.forward(self.X)
        grads = net.backward(trace, self.y)
        row = {"epoch": epoch}
        for l in net.W.keys():
            act = net.act[l]
            if act.name == "sigmoid":
                slope = act.prime(trace.z[l], trace.a[l])  # σ'(z), shape (n_l, m)
                saturated = slope < 0.01
                kind = "output" if l == net.L else "hidden"
                key = f"saturated_{kind}" if net.L == 2 else f"saturated_{kind}_{l}"
                row[key] = float(saturated.mean())
                if l < net.L:
                    stuck = saturated.mean(axis=1) >= 0.99
                    row["stuck_hidden" if net.L == 2 else f"stuck_hidden_{l}"] = int(stuck.sum())
                else:  # output units below ½ on every image: their class is never predicted
                    row["dead_output"] = int((trace.a[l].max(axis=1) < 0.5).sum())
            row[f"grad_rms_W{l}"] = float(np.sqrt(np.mean(np.square(grads.W[l]))))
        self.rows.append(row)
        return row

    # Callback hooks (duck-typed: backprop.training calls the ones that exist)
    def on_train_begin(self, state):
        if not self.rows:
            self.measure(state.net, 0)

    def on_epoch_end(self, state):
        self.measure(state.net, state.epoch)


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
    except ImportError:
        pass
    return info


def run_preset(name: str, seed: int, data: str) -> dict:
    from backprop.cli import build_parser
    from backprop.cli import train as cli_train

    argv = ["train", "--preset", name, "--data", data, "--seed", str(seed), "--quiet"]
    args = build_parser().parse_args(argv)
    config, preset = cli_train.resolve_config(args)
    cli_train.check_config(config)
    t0 = time.perf_counter()
    dataset = cli_train.load_data(config)
    load_seconds = time.perf_counter() - t0
    net = cli_train.build_network(config, dataset)
    config["sizes"] = list(net.sizes)
    diag = Diagnostics(dataset.X_train[:SAMPLE], dataset.y_train[:SAMPLE])
    session = cli_train.Session(config=config, dataset=dataset, net=net, callbacks=[diag])
    t0 = time.perf_counter()
    history = cli_train.fit(session)
    wall = time.perf_counter() - t0
    result = cli_train.summarize(config, dataset, net, history, session.seconds, preset)
    predicted = net.predict(dataset.X_test).argmax(axis=1)
    recall = [float((predicted[dataset.y_test == k] == k).mean()) for k in range(dataset.n_classes)]
    h = result["history"]
    return {
        "preset": name,
        "seed": seed,
        "command": "backprop " + " ".join(argv[:-1]),
        "test_accuracy": result["test_accuracy"],
        "val_accuracy": result["val_accuracy"],
        "best_test_accuracy": max(a for a in h["test_accuracy"] if a is not None),
        "best_val_accuracy": max(a for a in h["val_accuracy"] if a is not None),
        "book": preset.book,
        "book_accuracy": preset.book_accuracy,
        "target": preset.target,
        "met_target": result["preset"]["met_target"],
        "epochs_run": result["epochs_run"],
        "best_epoch": result["best_epoch"],
        "stopped_early": result["stopped_early"],
        "train_seconds": round(wall, 1),
        "data_load_seconds": round(load_seconds, 1),
        "per_class_test_recall": [round(r, 4) for r in recall],
        "history": {
            k: h[k]
            for k in ("epoch", "train_accuracy", "val_accuracy", "test_accuracy", "train_cost")
        },
        "diagnostics": diag.rows,
        "configuration": result["configuration"],
        "data_fingerprint": result["data"]["fingerprint"],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def record(path: Path, runs: list[dict]) -> dict:
    from backprop._atomic import atomic_write_json

    doc = {"machine": machine(), "runs": []}
    if path.exists():
        try:
            doc["runs"] = json.loads(path.read_text())["runs"]
        except (ValueError, KeyError):
            pass
    for run in runs:
        doc["runs"] = [
            r for r in doc["runs"] if (r["preset"], r["seed"]) != (run["preset"], run["seed"])
        ]
        doc["runs"].append(run)
    doc["runs"].sort(key=lambda r: (r["preset"], r["seed"]))
    atomic_write_json(path, doc)
    return doc


def markdown_table(doc: dict) -> str:
    """The results as a Markdown table, one row per run."""
    lines = [
        "| preset | seed | final test | best test (epoch) | final val | book | target | epochs | "
        "train time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in doc["runs"]:
        h = r["history"]
        best = max(range(len(h["test_accuracy"])), key=lambda i: h["test_accuracy"][i])
        target = f"≥ {100 * r['target']:.1f}%" if r["target"] is not None else "—"
        verdict = {True: " ✓", False: " ✗", None: ""}[r["met_target"]]
        early = f" (stopped early, best val epoch {r['best_epoch']})" if r["stopped_early"] else ""
        lines.append(
            f"| `{r['preset']}` | {r['seed']} | **{100 * r['test_accuracy']:.2f}%**{verdict} | "
            f"{100 * h['test_accuracy'][best]:.2f}% ({h['epoch'][best]}) | "
            f"{100 * r['val_accuracy']:.2f}% | {100 * r['book_accuracy']:.2f}% | {target} | "
            f"{r['epochs_run']}{early} | {r['train_seconds']:.0f} s |"
        )
    m = doc["machine"]
    lines.append("")
    lines.append(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs (shared with other jobs while these ran), "
        f"Python {m['python']}, NumPy {m['numpy']}."
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    from backprop.presets import PRESETS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("presets", nargs="*", default=list(PRESETS), help="default: all")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--data", default=DEFAULT_DATA, help=f"default: {DEFAULT_DATA}")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--table", action="store_true", help="print the recorded results as Markdown")
    args = p.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(args.out.read_text())))
        return 0
    for name in args.presets:
        for seed in args.seeds:
            print(f"{name} seed {seed} ...", file=sys.stderr, flush=True)
            run = run_preset(name, seed, args.data)
            record(args.out, [run])  # after each run, so a long batch keeps what it did
            last = run["diagnostics"][-1]
            print(
                f"{name:16} seed {seed}: test {100 * run['test_accuracy']:.2f}% "
                f"(best {100 * run['best_test_accuracy']:.2f}%), "
                f"val {100 * run['val_accuracy']:.2f}%, "
                f"{run['epochs_run']} epochs, {run['train_seconds']:.0f} s; "
                f"book {run['book_accuracy']:.2%}; "
                + ", ".join(f"{k} {v:.3g}" for k, v in last.items() if k != "epoch"),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
