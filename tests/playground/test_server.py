"""The web app: token on every request, Host and Origin checks, and a server that keeps
serving whatever a page sends. In-process (Starlette's TestClient) and over real sockets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("starlette", reason="needs the playground extra")
try:  # recent Starlette's TestClient takes httpx2, older ones httpx
    import httpx2  # noqa: F401
except ImportError:
    pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx2 or httpx")

from starlette.testclient import TestClient  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from backprop.playground.config import Config  # noqa: E402
from backprop.playground.server import create_app  # noqa: E402

TOKEN = "t0ken-for-tests"
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client():
    with TestClient(create_app(TOKEN, "testserver")) as c:
        yield c


def until(ws, kind: str, limit: int = 200) -> dict:
    """The next message of type ``kind`` (frames and others in between are skipped)."""
    for _ in range(limit):
        msg = json.loads(ws.receive_text())
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind} message")


def test_every_http_request_needs_the_token(client):
    for path in ("/", "/static/app.js", "/static/draw.js", "/static/style.css", "/nope"):
        assert client.get(path).status_code == 403
        assert client.get(f"{path}?token=wrong").status_code == 403
    page = client.get(f"/?token={TOKEN}")
    assert page.status_code == 200
    assert f'src="static/app.js?token={TOKEN}"' in page.text  # assets carry it too
    assert "https://" not in page.text and "http://" not in page.text  # no CDN
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    js = client.get(f"/static/app.js?token={TOKEN}")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get(f"/static/../server.py?token={TOKEN}").status_code == 404


def test_an_unknown_host_is_refused(client):
    r = client.get(f"/?token={TOKEN}", headers={"host": "evil.example:8765"})
    assert r.status_code == 403 and "Host" in r.text


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/ws", ORIGIN),
        ("/ws?token=wrong", ORIGIN),
        (f"/ws?token={TOKEN}", {}),
        (f"/ws?token={TOKEN}", {"origin": "http://evil.example"}),
    ],
)
def test_websocket_needs_token_and_same_origin(client, path, headers):
    with pytest.raises(WebSocketDisconnect) as err:
        with client.websocket_connect(path, headers=headers) as ws:
            ws.receive_text()
    assert err.value.code == 1008


def test_bad_messages_get_errors_and_the_session_keeps_working(client):
    with client.websocket_connect(f"/ws?token={TOKEN}", headers=ORIGIN) as ws:
        net = until(ws, "network")
        assert net["sizes"] == [2, 4, 2, 1] and len(net["train"]) == 250
        big = {**Config().to_dict(), "hidden": [10_000], "activations": ["tanh"]}
        bad = [
            "{oops",
            json.dumps({"type": "play", "extra": 1}),
            json.dumps({"type": "config", "config": big}),
            json.dumps({"type": "config", "config": {**Config().to_dict(), "lr": -1}}),
            json.dumps({"type": "csv", "text": "x" * 10_000_000}),
            json.dumps({"type": "explain", "split": "test", "index": 4000}),
        ]
        for raw in bad:
            ws.send_text(raw)
            assert until(ws, "error")["message"]
        ws.send_bytes(b"\xff\xfe")
        assert "not JSON" in until(ws, "error")["message"]
        # still alive: a step trains one epoch and a frame follows
        ws.send_text(json.dumps({"type": "step"}))
        frame = until(ws, "frame")
        while frame["epoch"] != 1:
            ws.send_text(json.dumps({"type": "ack"}))
            frame = until(ws, "frame")
        assert frame["loss_test"] > 0


def test_a_page_can_train_inspect_explain_and_export(client):
    with client.websocket_connect(f"/ws?token={TOKEN}", headers=ORIGIN) as ws:
        until(ws, "network")
        cfg = {**Config().to_dict(), "dataset": "xor", "activations": ["relu", "relu"]}
        ws.send_text(json.dumps({"type": "config", "config": cfg}))
        assert until(ws, "network")["config"]["dataset"] == "xor"
        ws.send_text(json.dumps({"type": "play"}))
        epoch = 0
        while epoch < 50:
            epoch = until(ws, "frame")["epoch"]
            ws.send_text(json.dumps({"type": "ack"}))
        ws.send_text(json.dumps({"type": "pause"}))
        ws.send_text(json.dumps({"type": "inspect", "x": [1.0, 1.0]}))
        got = until(ws, "inspect")
        assert len(got["layers"]) == 3 and got["layers"][0]["activation"] == "relu"
        ws.send_text(json.dumps({"type": "explain", "split": got["split"], "index": got["index"]}))
        assert "BP1" in until(ws, "explain")["html"]
        ws.send_text(json.dumps({"type": "export", "format": "model"}))
        exported = until(ws, "export")
        assert exported["filename"].endswith(".safetensors") and len(exported["data"]) > 100


def test_real_server_checks_token_and_origin_over_sockets(live):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{live.base}/", timeout=5)
    assert err.value.code == 403
    with urllib.request.urlopen(live.url, timeout=5) as r:
        assert r.status == 200 and b"backprop playground" in r.read()
    ws_url = f"ws://127.0.0.1:{live.port}/ws?token={live.token}"
    with pytest.raises(InvalidStatus):
        connect(ws_url, origin="http://evil.example", open_timeout=5).close()
    with pytest.raises(InvalidStatus):
        connect(ws_url.replace(live.token, "x"), origin=live.base, open_timeout=5).close()
    with connect(ws_url, origin=live.base, open_timeout=5, max_size=None) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["type"] == "hello" and set(hello["datasets"]) >= {"circle", "spiral", "plane"}
        assert json.loads(ws.recv(timeout=10))["type"] == "network"
        ws.send("x" * 10_000_000)  # 10 MB: refused with a message, connection kept
        msg = json.loads(ws.recv(timeout=10))
        while msg["type"] != "error":
            msg = json.loads(ws.recv(timeout=10))
        assert "limit" in msg["message"]
        ws.send(json.dumps({"type": "step"}))
        while json.loads(ws.recv(timeout=10)).get("epoch") != 1:
            ws.send(json.dumps({"type": "ack"}))


def test_cli_help_does_not_import_the_web_stack():
    code = (
        "import sys, contextlib, io\n"
        "from backprop.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    rc = main(['--help'])\n"
        "assert 'playground' in out.getvalue(), out.getvalue()\n"
        "bad = [m for m in ('starlette', 'uvicorn', 'websockets') if m in sys.modules]\n"
        "print(rc, bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "[]"]


def test_cli_without_the_extra_prints_a_hint_and_exits_2(monkeypatch, capsys):
    import importlib.util

    from backprop.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "starlette" else real(n, *a)
    )
    assert main(["playground", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("backprop: error: backprop playground needs")
    assert 'pip install "backprop-textbook[playground]"' in err[0]


def test_cli_refuses_a_port_in_use(live, capsys):
    from backprop.cli import main

    assert main(["playground", "--port", str(live.port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert "cannot listen on 127.0.0.1" in err and "choose another --port" in err


def test_the_command_serves_until_ctrl_c():
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop", "playground", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("backprop playground at http://127.0.0.1:"), line
        address = line.split()[3]
        assert "?token=" in address and len(address.split("?token=")[1]) >= 32
        for _ in range(50):  # the socket listens before uvicorn's loop starts
            try:
                with urllib.request.urlopen(address, timeout=5) as r:
                    assert r.status == 200
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(address.split("?")[0], timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode in (0, 130) and "Traceback" not in err
