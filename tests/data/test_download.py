"""Downloading MNIST: a real HTTP server on 127.0.0.1 serves copies of the real files.

Checks MD5 verification (against the publisher's table in shared/data/README.md),
atomic placement (no partial or temporary file is ever left), and the errors.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import socket
import threading
from pathlib import Path

import pytest

from backprop.data import download, load
from backprop.errors import ConfigError, DataFileError
from support import MNIST, needs_mnist

pytestmark = needs_mnist  # every test serves copies of the real files

# the publisher's MD5s of the .gz files (shared/data/README.md)
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


class Server:
    """A threaded HTTP server on loopback serving ``root``; records the paths requested."""

    def __init__(self, root: Path):
        self.requests: list[str] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                log.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def served(tmp_path):
    """A server whose root holds ``good/`` (copies of the real files) and ``bad/``."""
    root = tmp_path / "www"
    shutil.copytree(MNIST, root / "good")
    server = Server(root)
    yield root, server
    server.close()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_download_then_load(served, tmp_path):
    root, server = served
    target = tmp_path / "cache" / "mnist"  # created by the download
    ds = load(f"mnist:{target}", download=True, base_url=server.url + "good")
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert {p.name: md5(p) for p in target.iterdir()} == MD5  # exactly the four files
    assert sorted(server.requests) == sorted(f"/good/{name}" for name in MD5)
    # a second call finds the files and downloads nothing
    assert download("mnist", target, base_url=server.url + "good") == target
    assert len(server.requests) == 4


def test_existing_files_are_kept(served, tmp_path):
    root, server = served
    target = tmp_path / "partial"
    target.mkdir()
    shutil.copy(MNIST / "train-images-idx3-ubyte.gz", target)
    download("mnist", target, base_url=server.url + "good/")
    assert "/good/train-images-idx3-ubyte.gz" not in server.requests
    assert len(server.requests) == 3 and {p.name for p in target.iterdir()} == set(MD5)


def test_checksum_mismatch_leaves_nothing_behind(served, tmp_path):
    root, server = served
    shutil.copytree(root / "good", root / "bad")
    victim = root / "bad" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(victim.read_bytes())
    data[100] ^= 0xFF  # same size, one byte flipped
    victim.write_bytes(bytes(data))
    target = tmp_path / "mnist"
    with pytest.raises(DataFileError, match=r"download of .*t10k-labels-idx1-ubyte.gz is corrupt"):
        load(f"mnist:{target}", download=True, base_url=server.url + "bad")
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()
    assert leftovers(target) == []  # no temporary file either
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert md5(target / name) == MD5[name]  # verified files stay for the next try


def test_oversized_and_truncated_downloads(served, tmp_path):
    root, server = served
    (root / "big").mkdir()
    (root / "short").mkdir()
    for name in MD5:
        good = (root / "good" / name).read_bytes()
        (root / "big" / name).write_bytes(good + b"\0" * 10)
        (root / "short" / name).write_bytes(good[:-10])
    with pytest.raises(DataFileError, match="larger than the expected 9,912,422 bytes"):
        download("mnist", tmp_path / "a", base_url=server.url + "big")
    with pytest.raises(DataFileError, match="got 9,912,412 bytes"):
        download("mnist", tmp_path / "b", base_url=server.url + "short")
    assert list((tmp_path / "a").iterdir()) == [] and list((tmp_path / "b").iterdir()) == []


def test_http_error_and_unreachable_server(served, tmp_path):
    root, server = served
    with pytest.raises(DataFileError, match=r"cannot download .*: HTTP 404"):
        download("mnist", tmp_path / "x", base_url=server.url + "nowhere")
    assert list((tmp_path / "x").iterdir()) == []
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataFileError, match="cannot download") as e:
        download("mnist", tmp_path / "y", base_url=f"http://127.0.0.1:{port}/", timeout=5)
    assert "by hand" in str(e.value)


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="invalid download URL"):
        download("mnist", tmp_path, base_url="nonsense-url")
    with pytest.raises(ConfigError, match="unknown IDX dataset 'cifar'"):
        download("cifar", tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataFileError, match="cannot create"):
        download("mnist", blocker / "sub")
