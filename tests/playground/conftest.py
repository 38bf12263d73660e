"""The playground's real server (uvicorn on 127.0.0.1, a free port), started once per module."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class Live:
    url: str  # the page's address, with the token
    base: str  # http://127.0.0.1:PORT
    token: str
    port: int


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    pytest.importorskip("uvicorn", reason="needs the playground extra")
    from backprop.playground.server import bind, create_app, make_server, new_token, url

    token = new_token()
    sock = bind("127.0.0.1", 0)
    server = make_server(create_app(token), sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    port = sock.getsockname()[1]
    yield Live(url(sock, token), f"http://127.0.0.1:{port}", token, port)
    server.should_exit = True
    thread.join(10)
