"""The packed Allreduce, the broadcast, the sums and agreed errors, on 2 and 3 real ranks."""

from __future__ import annotations

import json

import pytest

SHAPES = [(3, 2), (3, 1), (1, 3), (1, 1)]


@pytest.mark.parametrize("n", [2, 3])
def test_collectives_on_n_ranks(mpi, tmp_path, n):
    job = mpi(n, ["collectives", str(tmp_path)], timeout=60)
    assert job.returncode == 0, job.describe()
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(n)]
    total = n * (n + 1) // 2  # Σ_r (r + 1): rank r filled view i with (r + 1)(i + 1)
    expected = []
    for i, shape in enumerate(SHAPES):
        expected += [float(total * (i + 1))] * (shape[0] * shape[1])
    expected.append(1.0)  # the control slot: only the last rank set it
    for r, res in enumerate(results):
        assert (res["rank"], res["size"], res["launcher"]) == (r, n, [n, r])
        assert res["resolved_size"] == n
        assert res["describe"].startswith(f"{n} processes, ")
        assert res["packed_float64"] == expected and res["packed_float32"] == expected
        assert res["shares_memory"]
        assert res["after"] == results[0]["before"]  # rank 0's weights everywhere
        assert res["sums"] == [n * (n - 1) / 2, 0.5 * n]
        agreed = res["agree"]
        assert agreed["none"] is None
        # rank 1 alone failed: its own error at rank 1, the rank named elsewhere
        own = "bad flag" if r == 1 else f"on rank 1 of {n}: bad flag"
        assert agreed["one"] == ["ConfigError", own, True]
        assert agreed["all"] == ["DataError", "same everywhere", True]  # no rank prefix
        bug = (
            ["RuntimeError", "oops", True]
            if r == n - 1
            else ["RankError", f"on rank {n - 1} of {n}: RuntimeError: oops", True]
        )
        assert agreed["bug"] == bug
    assert len({res["before"] for res in results}) == n  # the ranks did start apart
