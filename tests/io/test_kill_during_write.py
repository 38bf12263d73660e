"""Kill safety: SIGKILL a process that keeps rewriting a large model file, at random moments.

After every kill the target must load (checksum verified) and be exactly the old
model or exactly the new one: never a mix, never half-written. Stray ``.*.tmp``
files may remain after a SIGKILL (nothing can clean up after it); they never
replace the target.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import backprop as bp

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL")

KILLS = int(os.environ.get("BACKPROP_KILLS", "12"))
SIZES = [600, 600, 200]  # ~3.3 MB in float64: a write takes long enough to be hit

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    import backprop as bp

    path, sizes = sys.argv[1], [int(n) for n in sys.argv[2].split(",")]
    net = bp.Network(sizes, seed=0)
    print("ready", flush=True)
    version = 1
    while True:
        version += 1
        for l in net.W.keys():
            net.W[l].fill(version)
            net.b[l].fill(-version)
        net.save(path, metadata={"version": version})
    """
)


def _check_complete(path, versions_seen: set) -> int:
    net = bp.load(path)  # raises ModelFileError if torn or corrupted
    v = net.metadata["version"]
    for l in net.W.keys():
        assert np.all(net.W[l] == v) and np.all(net.b[l] == -v), "tensors from two versions"
    versions_seen.add(v)
    return v


def test_sigkill_during_writes_never_leaves_a_torn_file(tmp_path):
    path = tmp_path / "model.safetensors"
    net = bp.Network(SIZES, seed=0)
    for l in net.W.keys():
        net.W[l].fill(1)
        net.b[l].fill(-1)
    net.save(path, metadata={"version": 1})

    rng = np.random.default_rng(2024)
    seen: set[int] = set()
    strays = 0
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), ",".join(map(str, SIZES))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        _check_complete(path, seen)  # the old file or one complete new one
        leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        strays += len(leftovers)
        for p in leftovers:
            assert p.name.startswith(".model.safetensors.")
            p.unlink()
    print(f"{KILLS} kills, {strays} of them mid-write (temp file left), versions {sorted(seen)}")
    # Writes actually happened between kills (the test is not vacuous).
    assert max(seen) > 1
