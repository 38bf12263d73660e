"""The web app: Starlette routes, the token and Origin checks, and uvicorn.

Every HTTP and WebSocket request must carry ``?token=…`` (a random token made at start,
as Jupyter does); the Host header must name this machine (DNS rebinding), and the
WebSocket's Origin must be the page's own. One WebSocket is one page: it gets its own
:class:`~.worker.Worker`. The server writes nothing to disk; an export travels to the
page, which saves it as a download.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .config import MAX_MESSAGE_BYTES, BadMessage, parse_message
from .worker import Worker

log = logging.getLogger("backprop.playground")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]
]

#: the static files, by URL name → (file in static/, media type)
STATIC = {
    "app.js": ("app.js", "text/javascript; charset=utf-8"),
    "draw.js": ("draw.js", "text/javascript; charset=utf-8"),
    "style.css": ("style.css", "text/css; charset=utf-8"),
}
MAX_SESSIONS = 8  # pages open at once
MAX_QUEUED = 256  # messages waiting for one page's worker
WS_MAX_SIZE = 16 * 1024 * 1024  # uvicorn's frame limit; larger messages are refused by us first
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; frame-src 'self' blob: data:; object-src 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _static(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text("utf-8")


class Guard:
    """ASGI middleware: the token on every request, a known Host, the WebSocket's Origin."""

    def __init__(self, app: ASGIApp, token: str, hosts: set[str]):
        self.app, self.token, self.hosts = app, token, hosts

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("token") or [""])[0]
        host = headers.get("host", "")
        problem = None
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            problem = "a valid ?token= is required (use the URL the server printed)"
        elif _hostname(host) not in self.hosts:
            problem = f"unknown Host {host!r}"
        elif scope["type"] == "websocket" and headers.get("origin") != f"http://{host}":
            problem = "WebSocket from another origin refused"
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await PlainTextResponse(problem + "\n", status_code=403)(scope, receive, send)
        else:
            log.warning("playground: %s", problem)
            await send({"type": "websocket.close", "code": 1008})


def _hostname(host: str) -> str:
    return urlsplit(f"//{host}").hostname or ""


def create_app(token: str, host: str = "127.0.0.1", *, fps: float = 60.0) -> ASGIApp:
    """The playground's ASGI app, guarded by ``token``; ``host`` is the address it binds."""
    sessions: set[Worker] = set()

    async def index(request: Any) -> Response:
        page = _static("index.html").replace("{{TOKEN}}", html.escape(token, quote=True))
        return HTMLResponse(page, headers=HEADERS)

    async def static(request: Any) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not found\n", status_code=404)
        file, media = STATIC[name]
        return Response(_static(file), media_type=media, headers=HEADERS)

    async def ws(websocket: WebSocket) -> None:
        if len(sessions) >= MAX_SESSIONS:
            await websocket.close(code=1013)
            return
        await websocket.accept()
        await _serve_page(websocket, sessions, fps)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/static/{name}", static),
            WebSocketRoute("/ws", ws),
        ]
    )
    hosts = {*(h.strip("[]") for h in LOOPBACK), host.strip("[]")}
    return Guard(app, token, hosts)


async def _serve_page(websocket: WebSocket, sessions: set[Worker], fps: float) -> None:
    """Move messages between one page and its worker until the page goes."""
    loop = asyncio.get_running_loop()
    outbox: asyncio.Queue[str] = asyncio.Queue()

    def emit(text: str) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(outbox.put_nowait, text)

    worker = Worker(emit, fps=fps)
    sessions.add(worker)
    worker.start()

    async def sender() -> None:
        while True:
            await websocket.send_text(await outbox.get())

    task = asyncio.create_task(sender())
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            try:
                msg = parse_message(raw)
                if worker.inbox.qsize() >= MAX_QUEUED:
                    raise BadMessage("the server is busy: message dropped; send fewer messages")
                worker.post(msg)
            except BadMessage as exc:
                outbox.put_nowait(_error(str(exc)))
    except WebSocketDisconnect:
        pass
    finally:
        worker.stop()
        sessions.discard(worker)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _error(message: str) -> str:
    import json

    return json.dumps({"type": "error", "message": message})


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 takes a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def make_server(app: ASGIApp, sock: socket.socket) -> Any:
    """A uvicorn server for ``app`` on the bound ``sock`` (call ``.run(sockets=[sock])``)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        ws_max_size=WS_MAX_SIZE,
        lifespan="off",
        ws_ping_interval=None,
    )
    return uvicorn.Server(config)


def url(sock: socket.socket, token: str) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


__all__ = ["MAX_MESSAGE_BYTES", "Guard", "bind", "create_app", "make_server", "new_token", "url"]
