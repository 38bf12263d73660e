"""The ``backprop`` command's numba start-up without numba's SciPy BLAS probe.

numba's first compile (or cache load) imports ``numba.np.arraymath``, which imports
``scipy.linalg`` when SciPy is installed, only to see whether SciPy's BLAS is there.
``jit.lean_start()`` (called by the command, never by the library) has the compiled
engine's first set-up skip that import; ``scipy.linalg`` must import normally after it.
Each case runs in a fresh interpreter, where numba is not set up yet.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("numba", reason="needs numba (the compiled engine): pip install 'numba>=0.59'")
pytest.importorskip("scipy.linalg", reason="the probe is SciPy's")

SCRIPT = """
import json, sys
import numpy as np
from backprop import Network, jit, optimizers
from backprop.jit.step import JitStep
if sys.argv[1] == "lean":
    jit.lean_start()
net = Network([3, 4, 2], seed=0, dtype="float32")
X, T = np.ones((8, 3), np.float32), np.ones((8, 2), np.float32)
JitStep(net, optimizers.SGD(0.5), n_train=8).run_batches(X, T, np.arange(8), 2, 0, 4, 0.5)
after_kernel = "scipy.linalg" in sys.modules
blocked = sys.modules.get("scipy.linalg.cython_blas", 0) is None
import scipy.linalg
print(json.dumps({"after_kernel": after_kernel, "blocked": blocked,
                  "solve": float(scipy.linalg.solve(np.eye(2) * 2.0, np.ones(2))[0]),
                  "b": float(net.b[2][0, 0])}))
"""


def run(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def test_lean_start_skips_scipy_linalg_and_leaves_it_importable():
    lean, plain = run("lean"), run("plain")
    assert plain["after_kernel"], "numba no longer imports scipy.linalg: lean_start is moot"
    assert not lean["after_kernel"]
    assert not lean["blocked"]  # the block is gone once numba is set up
    assert lean["solve"] == plain["solve"] == 0.5
    assert lean["b"] == plain["b"]  # the same training, to the bit


def test_only_the_program_asks(monkeypatch, capsys):
    from backprop import cli, jit

    monkeypatch.setattr(jit, "_lean", False)
    assert cli.main(["--version"]) == 0  # called with arguments: a script or a test
    assert jit._lean is False
    monkeypatch.setattr(sys, "argv", ["backprop", "--version"])
    assert cli.main() == 0  # the command itself
    assert jit._lean is True
