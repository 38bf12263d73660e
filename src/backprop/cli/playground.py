"""``backprop playground``: the browser playground (needs the ``playground`` extra).

Self-contained: ``register(subparsers)`` adds the parser, ``run(args)`` serves. Starlette
and uvicorn are imported inside ``run`` only, so ``backprop --help`` does not need them.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

DESCRIPTION = """\
Start a local web app in which you watch backpropagation learn, as in TensorFlow
Playground, on backprop's own engine: pick a data set, inputs, layers and
activations, press play; click a neuron for its z, a, σ'(z) and δ, click a point
for the BP1-BP4 walk-through with the current weights. The URL carries a random
token; the server binds 127.0.0.1 unless --host says otherwise.

examples:
  backprop playground                       # opens http://127.0.0.1:8765/?token=…
  backprop playground --port 9000 --no-browser
"""

HINT = (
    "backprop playground needs the playground extra: "
    'pip install "backprop-textbook[playground]" (in a clone: pip install ".[playground]")'
)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "playground",
        help="watch backpropagation learn in the browser",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any free)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )
    p.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"backprop: error: {HINT}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"backprop: error: --port must lie in 0..65535, got {args.port}", file=sys.stderr)
        return 2
    from ..playground import serve

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"backprop: warning: binding {args.host}: anyone who can reach it and has the "
            "token can use the playground",
            file=sys.stderr,
        )

    def announce(address: str) -> None:
        print(f"backprop playground at {address}\n(Ctrl-C stops it)", flush=True)

    try:
        serve(args.host, args.port, open_browser=not args.no_browser, announce=announce)
    except OSError as exc:
        print(
            f"backprop: error: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}; choose another --port",
            file=sys.stderr,
        )
        return 2
    return 0
