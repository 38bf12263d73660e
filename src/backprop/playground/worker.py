"""The thread that owns one page's :class:`~.session.Session`: it trains and makes frames.

The WebSocket handler only moves messages: it validates what the page sends and
:meth:`Worker.post` queues it; the worker applies it between epochs, trains while playing,
and hands finished JSON text to ``emit``. Frames go out at most ``fps`` times a second and
only while the page has drawn all but one of those sent (``ack``), so a slow page never
queues frames and the page's drawing never waits for training.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import BackpropError
from .config import BadMessage
from .frames import hello_message, network_message
from .session import Session

log = logging.getLogger("backprop.playground")

#: a frame not acknowledged after this many seconds is taken as drawn
ACK_TIMEOUT = 1.0
#: frames sent but not yet drawn, at most (two: one drawing, one on the way)
WINDOW = 2


class Worker(threading.Thread):
    """Runs one session: ``post(msg)`` from any thread; results through ``emit(text)``."""

    def __init__(self, emit: Callable[[str], None], *, fps: float = 60.0):
        super().__init__(name="playground-worker", daemon=True)
        self.emit_text = emit
        self.interval = 1.0 / fps
        self.inbox: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.session = Session()
        self.playing = False
        self.dirty = True  # something changed since the last frame
        self.unacked = 0  # frames sent that the page has not drawn yet
        self.sent_at = 0.0
        self.frame_cost = 0.0  # seconds the last frame took to build
        self.rate: float | None = None  # epochs per second, None: as fast as it goes
        self.next_epoch = 0.0
        self.stopped = threading.Event()

    # -- from the event loop ---------------------------------------------------

    def post(self, msg: dict[str, Any]) -> None:
        self.inbox.put(msg)

    def stop(self) -> None:
        self.stopped.set()
        self.inbox.put(None)

    # -- the thread ------------------------------------------------------------

    def emit(self, msg: dict[str, Any]) -> None:
        self.emit_text(json.dumps(msg, allow_nan=False, separators=(",", ":")))

    def run(self) -> None:
        self.emit(hello_message())
        self.emit(network_message(self.session))
        while not self.stopped.is_set():
            self._drain(self._pace() if self.playing else self._wait())
            try:
                if self.playing:
                    self._train(time.perf_counter() + self.interval / 2)
                self._maybe_frame()
            except Exception as exc:  # the page hears of it; the worker goes on serving it
                log.exception("playground: training or drawing failed")
                self.playing, self.dirty = False, False
                self.emit({"type": "error", "message": f"internal error: {exc}; paused"})

    def _pace(self) -> float:
        """Seconds to wait while playing: 0 at full speed, else until the next epoch is due."""
        if self.rate is None:
            return 0.0
        return min(max(self.next_epoch - time.perf_counter(), 0.0), 0.05)

    def _wait(self) -> float:
        """Seconds to wait for a message when paused: until a frame could be due."""
        elapsed = time.perf_counter() - self.sent_at
        if not self.dirty:
            return 0.5
        if self.unacked >= WINDOW:
            return max(ACK_TIMEOUT - elapsed, 0.001)
        return max(self.interval - elapsed, 0.001)

    def _drain(self, wait: float) -> None:
        """Apply every queued message, waiting up to ``wait`` s for the first."""
        while True:
            try:
                msg = self.inbox.get(timeout=wait) if wait > 0 else self.inbox.get_nowait()
            except queue.Empty:
                return
            if msg is None:
                return
            self._apply(msg)
            wait = 0.0

    def _train(self, until: float) -> None:
        s = self.session
        while (now := time.perf_counter()) < until and self.inbox.empty():
            if self.rate is not None:  # the page asked for so many epochs a second
                if now < self.next_epoch:
                    return
                self.next_epoch = max(self.next_epoch + 1 / self.rate, now - 0.1)
            if not s.train_epoch():
                self.playing = False
                self.emit(
                    {
                        "type": "error",
                        "message": (
                            f"training diverged (NaN or inf) in epoch {s.epoch + 1}; the weights "
                            f"of epoch {s.epoch} are restored; lower the learning rate"
                        ),
                        "diverged": True,
                    }
                )
                break
            self.dirty = True

    def _maybe_frame(self) -> None:
        now = time.perf_counter()
        # at most fps frames a second, and training keeps at least half the worker's time
        if not self.dirty or now - self.sent_at < max(self.interval, 2 * self.frame_cost):
            return
        if self.unacked >= WINDOW and now - self.sent_at < ACK_TIMEOUT:
            return
        frame = self.session.frame()
        frame["playing"] = self.playing
        self.emit(frame)
        self.frame_cost = time.perf_counter() - now
        self.dirty, self.sent_at = False, now
        self.unacked = min(self.unacked + 1, WINDOW)

    # -- messages --------------------------------------------------------------

    def _apply(self, msg: dict[str, Any]) -> None:
        try:
            self._handle(msg)
        except (BadMessage, BackpropError) as exc:
            self.emit({"type": "error", "message": str(exc), "config": self.session.cfg.to_dict()})
        except Exception as exc:  # keep serving the page whatever one message did
            log.exception("playground: message %s failed", msg.get("type"))
            self.emit({"type": "error", "message": f"internal error: {type(exc).__name__}: {exc}"})

    def _handle(self, msg: dict[str, Any]) -> None:  # one branch per message type
        s, kind = self.session, msg["type"]
        if kind == "ack":
            self.unacked = max(self.unacked - 1, 0)
        elif kind in ("play", "pause"):
            self.playing = kind == "play"
            self.dirty = True
        elif kind == "step":
            self.playing = False
            if not s.train_epoch():
                self.emit({"type": "error", "message": "training diverged; weights restored"})
            self.dirty = True
        elif kind == "reset":
            self.playing = False
            s.reset()
            self._rebuilt()
        elif kind == "config":
            if s.configure(msg["config"]):
                self.playing = False
                self._rebuilt()
            self.dirty = True
        elif kind == "speed":
            self.rate = msg["epochs_per_s"]
            self.next_epoch = time.perf_counter()
        elif kind == "select":
            s.selected = None if msg["neuron"] is None else tuple(msg["neuron"])
            self.dirty = True
        elif kind == "inspect":
            self.emit(s.inspect(tuple(msg["x"])))
        elif kind == "explain":
            html = s.explain_html(msg["split"], msg["index"])
            self.emit(
                {"type": "explain", "split": msg["split"], "index": msg["index"], "html": html}
            )
        elif kind in ("weight", "bias"):
            s.edit(msg["layer"], msg["row"], msg.get("col"), msg["value"])
            self.dirty = True
        elif kind in ("points", "csv"):
            s.set_custom(_points(msg))
            self.playing = False
            self._rebuilt()
        elif kind == "export":
            data = s.export_model() if msg["format"] == "model" else s.export_onnx()
            name = "playground.safetensors" if msg["format"] == "model" else "playground.onnx"
            self.emit({"type": "export", "filename": name, "data": base64.b64encode(data).decode()})

    def _rebuilt(self) -> None:
        self.emit(network_message(self.session))
        self.dirty = True


def _points(msg: dict[str, Any]) -> np.ndarray:
    """Rows [x1, x2, label] from drawn points or an uploaded CSV (the library's CSV reader)."""
    if msg["type"] == "points":
        return np.asarray(msg["points"], dtype=np.float64)
    from ..data.tabular import read_csv_table

    _, values = read_csv_table(msg["text"].encode("utf-8"), "the uploaded CSV")
    return values
