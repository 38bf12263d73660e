"""Readers never hang or exhaust memory: special files, huge sparse files, gzip bombs, slow servers.

Each reproduces a case of issue 17 ("Hangs and memory exhaustion"): a FIFO as data blocked for
ever, /dev/zero read until memory ran out, a 100 GB sparse file ended in a MemoryError, a 3 MB
gzip bomb took 3.2 GB, and a server sending a byte every few seconds kept a download going for
ever. Every test runs its reader in a thread with a time limit, so a regression fails instead of
hanging the suite.
"""

from __future__ import annotations

import gzip
import http.server
import os
import struct
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from backprop._files import DATA_FILE_LIMIT, read_regular_file
from backprop.data import download, load, load_csv, load_npz, read_features, read_idx
from backprop.errors import DataFileError


def within(seconds: float, fn, *args, **kwargs):
    """Run ``fn`` in a thread; its exception or result, or fail if it is still running."""
    box: dict = {}

    def target():
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn.__name__} still running after {seconds} s (a hang)"
    return box


READERS = {
    "load_csv": lambda p: load_csv(p),
    "load_npz": lambda p: load_npz(p),
    "read_features": lambda p: read_features(p),
    "read_idx": lambda p: read_idx(p),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_fifo_is_refused_at_once(tmp_path, reader):
    fifo = tmp_path / ("data.npz" if reader == "load_npz" else "data.csv")
    os.mkfifo(fifo)
    try:
        box = within(5, READERS[reader], fifo)
    finally:  # a reader blocked in open() is released by a writer's open
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    assert isinstance(box.get("error"), DataFileError), box
    assert str(box["error"]) == f"{fifo}: is a FIFO (named pipe), not a regular file; give a file"


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("reader", ["read_idx", "read_features"])
def test_endless_devices_are_refused(tmp_path, device, reader):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    link = tmp_path / "x.csv"  # a path whose suffix the reader accepts, pointing at the device
    link.symlink_to(device)
    box = within(5, READERS[reader], link)
    assert isinstance(box.get("error"), DataFileError), box
    assert "is a character device, not a regular file" in str(box["error"])


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".gz"])
def test_huge_sparse_file_is_refused_with_the_limit(tmp_path, suffix):
    path = tmp_path / f"big{suffix}"
    with open(path, "wb") as f:
        try:
            f.truncate(100 * 10**9)  # 100 GB, no blocks allocated
        except OSError:
            pytest.skip("this file system has no sparse files")
    reader = {".csv": load_csv, ".npz": load_npz, ".gz": read_idx}[suffix]
    tracemalloc.start()
    try:
        box = within(10, reader, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(box.get("error"))
    assert isinstance(box.get("error"), DataFileError), box
    assert message.startswith(f"{path}: is 100,000,000,000 bytes (93.1 GiB), more than ")
    assert "GiB" in message.split("more than")[1] and "\n" not in message
    assert peak < 1 << 20


def test_limit_is_stated_and_enforced(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 1001)
    expected = r"is 1,001 bytes, more than the limit of 1,000 bytes for data files"
    with pytest.raises(DataFileError, match=expected):
        read_regular_file(path, DataFileError, limit=1000)
    assert read_regular_file(path, DataFileError, limit=1001) == b"x" * 1001
    assert DATA_FILE_LIMIT == 16 << 30


def _idx_header(count: int) -> bytes:
    return struct.pack(">BBBBI", 0, 0, 8, 1, count)


def _bomb(declared: int, members: int, member_bytes: int = 16 << 20) -> bytes:
    """A gzip file of ``members`` members, each ``member_bytes`` zeros (≈16 KB compressed)."""
    one = gzip.compress(bytes(member_bytes), compresslevel=9)
    return gzip.compress(_idx_header(declared)) + one * members


@pytest.mark.usefixtures("inflate")
def test_gzip_bomb_declaring_3_gib_is_refused_quickly_with_low_memory(tmp_path):
    # 3 GiB of zeros behind a header that declares them: about 3 MB on disk
    declared = 3 << 30
    bomb = _bomb(declared, members=192)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(bomb)
    assert 2_500_000 < len(bomb) < 3_500_000
    tracemalloc.start()
    try:
        box = within(20, read_idx, path, magic=2049)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(box.get("error"))
    assert isinstance(box.get("error"), DataFileError), box
    assert f"declares {declared + 8:,} bytes of data, more than the 2 GiB limit" in message
    assert f"(the file is {len(bomb):,} bytes compressed)" in message  # the real size
    assert peak < 3 * len(bomb) + (1 << 20)  # the compressed bytes, never the 3 GiB


@pytest.mark.usefixtures("inflate")
def test_gzip_bomb_behind_a_small_header_stops_at_the_declared_size(tmp_path):
    bomb = _bomb(10, members=64)  # declares 10 bytes, holds 1 GiB
    path = tmp_path / "x.gz"
    path.write_bytes(bomb)
    tracemalloc.start()
    try:
        box = within(20, read_idx, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "extra bytes after the 10 items" in str(box.get("error")), box
    assert peak < 3 * len(bomb) + (4 << 20)


@pytest.mark.usefixtures("inflate")
def test_streamed_gunzip_reads_a_real_multi_member_file(tmp_path):
    labels = np.arange(3 << 20, dtype=np.uint64).astype(np.uint8)  # 3 MiB: several chunks
    raw = _idx_header(labels.size) + labels.tobytes()
    data = gzip.compress(raw[:1000]) + gzip.compress(raw[1000:])
    path = tmp_path / "l.gz"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_idx(path, magic=2049), labels)


def test_tilde_is_expanded_for_csv_and_npz(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    rows = "\n".join(f"{i},{i % 3},{i % 2}" for i in range(20))
    (tmp_path / "t.csv").write_text(rows + "\n")
    np.savez(tmp_path / "t.npz", X=np.eye(20, 3, dtype=np.float32), y=np.arange(20) % 2)
    assert load("~/t.csv").X_train.shape[1] == 2
    assert load("~/t.npz").n_classes == 2
    assert read_features("~/t.csv").shape == (20, 3)


# --------------------------------------------------------------------------- downloads


class SlowServer:
    """Loopback HTTP server that answers every GET with ``size`` bytes, ``step`` at a time."""

    def __init__(self, *, size: int, step: int, pause: float, first_pause: float = 0.0):
        self.stop = threading.Event()
        stop = self.stop

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.flush()
                if stop.wait(first_pause):
                    return
                sent = 0
                try:
                    while sent < size and not stop.is_set():
                        self.wfile.write(b"\0" * step)
                        self.wfile.flush()
                        sent += step
                        stop.wait(pause)
                except OSError:
                    pass  # the client hung up: what the test wants

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow_server(request):
    server = SlowServer(**request.param)
    yield server
    server.close()


def _download(server: SlowServer, target: Path, **limits):
    return within(20, download, "mnist", target, base_url=server.url, **limits)


@pytest.mark.parametrize("slow_server", [dict(size=9912422, step=1, pause=0.05)], indirect=True)
def test_trickling_server_is_cut_off_by_the_minimum_rate(slow_server, tmp_path):
    # 20 bytes/s: every read returns within the per-read timeout, so only the rate stops it
    start = time.monotonic()
    box = _download(slow_server, tmp_path / "m", timeout=5, min_rate=200, rate_window=0.5)
    took = time.monotonic() - start
    message = str(box.get("error"))
    assert isinstance(box.get("error"), DataFileError), box
    assert "is too slow (" in message and "the minimum is 200 bytes/s" in message
    assert took < 10
    assert list((tmp_path / "m").iterdir()) == []  # no partial file, no .tmp


@pytest.mark.parametrize("slow_server", [dict(size=9912422, step=500, pause=0.02)], indirect=True)
def test_download_has_an_overall_deadline(slow_server, tmp_path):
    # 25 KB/s: fast enough for the rate, too slow for a 0.8 s deadline
    box = _download(slow_server, tmp_path / "m", timeout=5, deadline=0.8, min_rate=100)
    assert "took longer than the 0.8 s deadline" in str(box.get("error")), box
    assert list((tmp_path / "m").iterdir()) == []


@pytest.mark.parametrize(
    "slow_server", [dict(size=9912422, step=1, pause=0.0, first_pause=30.0)], indirect=True
)
def test_silent_server_times_out(slow_server, tmp_path):
    box = _download(slow_server, tmp_path / "m", timeout=0.5)
    assert "the server sent nothing for 0.5 s" in str(box.get("error")), box
    assert list((tmp_path / "m").iterdir()) == []


@pytest.mark.parametrize(
    "slow_server", [dict(size=9912422, step=1, pause=0.0, first_pause=30.0)], indirect=True
)
def test_deadline_shorter_than_the_read_timeout_wins(slow_server, tmp_path):
    start = time.monotonic()
    box = _download(slow_server, tmp_path / "m", timeout=15, deadline=0.5)
    assert "took longer than the 0.5 s deadline" in str(box.get("error")), box
    assert time.monotonic() - start < 10
