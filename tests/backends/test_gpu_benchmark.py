"""benchmarks/gpu.py runs end to end: its ``--smoke`` mode on the CPU (array-api-strict).

On a GPU the same script checks CuPy and torch CUDA and times them (docs/gpu.md); here
only that it runs, checks equality and writes the JSON it promises.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from backends.cases import needs_compat, needs_strict

REPO = Path(__file__).resolve().parents[2]


@needs_strict
@needs_compat
def test_smoke_run_checks_equality_and_writes_json(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_bench", REPO / "benchmarks" / "gpu.py")
    assert spec is not None and spec.loader is not None
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    out = tmp_path / "gpu.json"
    argv = ["--smoke", "--reps", "1", "--seconds", "0.01", "--out", str(out)]
    assert gpu.main(argv) == 0
    report = json.loads(out.read_text())
    eq = report["equality"]["array_api_strict-cpu"]
    assert all(v for k, v in eq.items() if k.endswith("_ok")), eq
    assert eq["gradients_max_abs_error"] <= 1e-12
    assert eq["train_adam_float64_max_abs_error"] <= 1e-10
    (row,) = report["speed"]
    assert row["config"] == "[784,32,10]/64"
    assert row["samples_per_s"]["backprop-array_api_strict-cpu"] > 0
    if importlib.util.find_spec("torch") is not None:
        assert row["samples_per_s"]["gemm-ceiling"] > 0
        assert row["vs_torch"] > 0
    assert "targets_met" not in row  # GPU targets are not judged on a CPU
    assert "samples/s (float32)" in capsys.readouterr().out
    sys.modules.pop("gpu_bench", None)
