"""``backprop playground``: watch backpropagation learn in the browser.

A local web app in the manner of TensorFlow Playground, on backprop's own engine: the
server (:mod:`.server`, Starlette + uvicorn) trains a :class:`backprop.Network` in a
worker thread per page (:mod:`.worker`, :mod:`.session`) and streams what the page
(``static/``) draws; the page adds every neuron's z^l, a^l, σ'(z^l) and δ^l and the
``backprop explain`` walk-through for a point. Needs the ``playground`` extra.

>>> from backprop.playground import serve   # doctest: +SKIP
>>> serve(port=8765)                         # doctest: +SKIP
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable

__all__ = ["serve"]


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    open_browser: bool = True,
    token: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Run the playground until interrupted; ``announce`` receives the URL (with its token)."""
    from .server import bind, create_app, make_server, new_token, url

    token = token or new_token()
    sock = bind(host, port)
    address = url(sock, token)
    server = make_server(create_app(token, host), sock)
    announce(address)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(address,)).start()
    server.run(sockets=[sock])
