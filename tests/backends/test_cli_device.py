"""``backprop train --device``: cpu by default; cuda trains on the GPU backend, or says why not."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import backprop as bp
from backends.cases import needs_torch_cpu
from backprop import backends
from backprop.cli import main

pytest.importorskip("sklearn", reason="the built-in digits ship with scikit-learn")
ARGS = ["train", "--data", "digits", "--layers", "20", "--epochs", "2", "--dtype", "float64",
        "--optimizer", "momentum", "--lr", "0.05", "--seed", "3", "--quiet"]  # fmt: skip


def _gpu_visible() -> bool:
    try:
        backends.cuda()
    except bp.ConfigError:
        return False
    return True


@pytest.mark.skipif(
    importlib.util.find_spec("array_api_compat") is not None and _gpu_visible(),
    reason="a GPU is visible here: the no-GPU error cannot occur",
)
def test_device_cuda_without_a_gpu_is_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main([*ARGS, "--device", "cuda", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("backprop: error: --device cuda needs an NVIDIA GPU") and "\n" not in err
    assert "Traceback" not in err and not out.exists()


def test_bad_device_name_is_one_line_and_exit_2(capsys):
    assert main([*ARGS, "--device", "gpu0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "backprop: error: --device must be cpu, cuda or cuda:N (e.g. cuda:1), not 'gpu0'"


@needs_torch_cpu
def test_device_cuda_trains_on_the_gpu_backend_and_writes_the_cpu_model(tmp_path, monkeypatch):
    # stand in torch's CPU for the GPU: the CLI moves the network there, trains, saves
    chosen = []

    def fake_cuda(device: str = "cuda") -> backends.Backend:
        chosen.append(device)
        return backends.resolve("torch", "cpu")

    assert main([*ARGS, "--out", str(tmp_path / "cpu.safetensors")]) == 0  # --device cpu
    monkeypatch.setattr(backends, "cuda", fake_cuda)
    from backprop.backends.step import ArrayStep

    moved_steps, real = [], ArrayStep.__init__

    def spy(self, *a, **kw):
        moved_steps.append(self)
        real(self, *a, **kw)

    monkeypatch.setattr(ArrayStep, "__init__", spy)
    assert main([*ARGS, "--device", "cuda:0", "--out", str(tmp_path / "gpu.safetensors")]) == 0
    assert chosen == ["cuda:0"] and len(moved_steps) == 1  # trained by the array-API step
    cpu, gpu = bp.load(tmp_path / "cpu.safetensors"), bp.load(tmp_path / "gpu.safetensors")
    assert isinstance(gpu.W[1], np.ndarray)
    for l in (1, 2):
        np.testing.assert_allclose(gpu.W[l], cpu.W[l], rtol=0, atol=1e-10)
