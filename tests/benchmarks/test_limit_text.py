"""compare.py's "what limits backprop" line: the arithmetic behind each sentence.

``limit()`` turns one configuration's medians into the sentence the README quotes;
the figures here are made up so that the expected numbers follow by hand.
"""

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "compare", Path(__file__).resolve().parents[2] / "benchmarks" / "compare.py"
)
compare = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(compare)


def result(ours, ceiling, m=64, read=None, ideal=None, bookkeeping=0.1):
    info = {"batch_read_us": read} if read is not None else {}
    impls = {
        "backprop": {"samples_per_s": ours},
        "ceiling": {"samples_per_s": ceiling, "info": info},
    }
    if ideal is not None:
        impls["ideal"] = {"samples_per_s": ideal}
    return {"impls": impls, "batch_size": m, "bookkeeping": bookkeeping}


def test_outside_the_products_with_the_batch_read():
    # 64 examples at 320k/s: 200 µs a batch; at the ceiling's 400k/s: 160 µs; 40 µs outside
    text = compare.limit(result(320e3, 400e3, read=15.5))
    assert "40.0 µs a mini-batch" in text
    assert "15.5 µs with NumPy's take alone" in text
    assert "the products take 80 % of its time" in text


def test_without_the_probe_and_at_the_ceiling():
    assert "reading" not in compare.limit(result(320e3, 400e3))
    assert compare.limit(result(390e3, 400e3)) == "GEMM: the products alone take 98 % of its time"


def test_faster_than_numpy_can_issue_the_products():
    text = compare.limit(result(8e6, 2e5, m=1, ideal=8e6, bookkeeping=0.13))
    assert text.startswith("the compiled kernel's arithmetic and loop: 125 ns a step (40×")
    assert text.endswith("train() around it 13 % of the call")
