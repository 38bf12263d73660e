"""``backprop train`` on MNIST or Fashion-MNIST, for a network the compiled engine takes, loads
the data in a second thread while the first sets numba up; the run is the same without it."""

from __future__ import annotations

import gzip
import threading

import numpy as np
import pytest

import backprop as bp
from backprop import jit
from backprop.cli import main, train_config
from backprop.cli import train as train_command

pytest.importorskip("numba", reason="the overlap is only taken with numba installed")


def _idx(a: np.ndarray) -> bytes:
    dims = b"".join(int(n).to_bytes(4, "big") for n in a.shape)
    return bytes([0, 0, 8, a.ndim]) + dims + a.tobytes()


def _mnist_dir(directory, corrupt: bool = False):
    rng = np.random.default_rng(0)
    directory.mkdir()
    for part, n in (("train", 300), ("t10k", 60)):
        images = rng.integers(0, 256, (n, 4, 4), dtype=np.uint8)
        labels = (images[:, 0, 0] // 26).astype(np.uint8)  # 0..9, learnable from one pixel
        image_bytes = gzip.compress(_idx(images))
        if corrupt and part == "t10k":
            image_bytes = image_bytes[:-30]
        (directory / f"{part}-images-idx3-ubyte.gz").write_bytes(image_bytes)
        (directory / f"{part}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels)))
    return directory


def _train(tmp_path, data, name, monkeypatch, overlap: bool):
    """Train on ``data``; ``seen`` lists, for each load, the thread it ran in and whether numba's
    set-up had begun by then (the load waits up to 30 s for it, so a load that really runs
    beside the set-up sees it begin, however fast the load is)."""
    seen = []
    setting_up = threading.Event()
    real_set_up, real_load = jit.set_up, train_config.load_data

    def set_up():
        setting_up.set()
        real_set_up()

    def load_data(*args, **kwargs):
        began = setting_up.wait(30) if threading.current_thread().name != "MainThread" else False
        seen.append((threading.current_thread().name, began))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(jit, "set_up", set_up)
    monkeypatch.setattr(train_config, "load_data", load_data)
    if not overlap:
        monkeypatch.setattr(train_command, "_compiles_on_idx_data", lambda config: False)
    out = tmp_path / f"{name}.safetensors"
    args = ["train", "--data", f"mnist:{data}", "--epochs", "2", "--quiet", "--out", str(out)]
    return main(args), out, seen


def test_the_overlapped_load_trains_the_same_bits(tmp_path, monkeypatch):
    data = _mnist_dir(tmp_path / "mnist")
    rc, out, seen = _train(tmp_path, data, "overlap", monkeypatch, overlap=True)
    assert rc == 0
    assert seen == [("backprop-load-data", True)]  # loaded in a second thread, beside set_up()
    monkeypatch.undo()
    rc, plain, seen = _train(tmp_path, data, "plain", monkeypatch, overlap=False)
    assert rc == 0 and seen == [("MainThread", False)]
    a, b = bp.load(out), bp.load(plain)
    for p, q in zip(a.params(), b.params()):
        np.testing.assert_array_equal(p, q)
    assert a.metadata["data"] == b.metadata["data"]  # the same rows, fingerprint and split


def test_an_error_in_the_loading_thread_is_the_same_one_line(tmp_path, monkeypatch, capsys):
    data = _mnist_dir(tmp_path / "mnist", corrupt=True)
    rc, out, seen = _train(tmp_path, data, "overlap", monkeypatch, overlap=True)
    err = capsys.readouterr().err
    assert seen == [("backprop-load-data", True)]
    monkeypatch.undo()
    rc2, _, _ = _train(tmp_path, data, "plain", monkeypatch, overlap=False)
    err2 = capsys.readouterr().err
    assert rc == rc2 != 0
    assert err == err2 and "t10k-images-idx3-ubyte.gz: truncated gzip file" in err
    assert "Traceback" not in err and not out.exists()
