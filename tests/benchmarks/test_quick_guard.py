"""CI's regression guard: ``benchmarks/compare.py --quick`` must find backprop ahead of PyTorch.

The quick mode trains [784,100,10] with batch 64 (both activation/cost pairs)
through ``backprop.train`` and through PyTorch eager (``nn.Sequential`` +
``torch.optim.SGD``, same thread count), each in its own process, alternating
five repetitions, and writes the medians to JSON. The test checks a ratio of
samples/s from that one run, never a time, so a slower machine does not fail it.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_quick_benchmark_backprop_is_not_slower_than_pytorch_eager(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("threadpoolctl")
    out = tmp_path / "quick.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "compare.py"), "--quick", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    assert report["quick"] is True
    assert report["reps"] >= 5
    assert {r["pair"] for r in report["results"]} == {"sigmoid-quadratic", "relu-softmax-ce"}
    for r in report["results"]:
        assert r["config"] == "[784,100,10]/64"
        assert r["impls"]["torch"]["info"]["torch_threads"] == report["threads"]
        ours, theirs = r["impls"]["backprop"], r["impls"]["torch"]
        assert len(ours["reps_samples_per_s"]) == len(theirs["reps_samples_per_s"]) >= 5
        ratio = r["ratios"]["torch"]
        assert ratio == pytest.approx(ours["samples_per_s"] / theirs["samples_per_s"])
        assert ratio >= 1.0, (
            f"backprop trains {r['config']} ({r['pair']}) at {ratio:.2f}× PyTorch eager's "
            f"samples/s: slower than PyTorch\n{proc.stdout}"
        )
