"""The worker thread: frames only as fast as the page draws them, and it survives failures."""

from __future__ import annotations

import json
import queue
import time

import pytest

from backprop.playground.worker import WINDOW, Worker


@pytest.fixture
def worker():
    out: queue.SimpleQueue[dict] = queue.SimpleQueue()
    w = Worker(lambda text: out.put(json.loads(text)))
    w.out = out  # type: ignore[attr-defined]
    w.start()
    yield w
    w.stop()
    w.join(5)
    assert not w.is_alive()


def drain(w, seconds: float) -> list[dict]:
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            got.append(w.out.get(timeout=0.02))
        except queue.Empty:
            pass
    return got


def test_frames_wait_for_the_page_to_draw(worker):
    assert [worker.out.get(timeout=5)["type"] for _ in range(2)] == ["hello", "network"]
    worker.post({"type": "play"})
    frames = [m for m in drain(worker, 0.6) if m["type"] == "frame"]
    assert len(frames) == WINDOW  # nothing acknowledged: no more than the window
    for _ in range(5):
        worker.post({"type": "ack"})
    more = [m for m in drain(worker, 0.3) if m["type"] == "frame"]
    assert 1 <= len(more) <= WINDOW
    assert more[-1]["epoch"] > frames[-1]["epoch"] > 0  # training went on meanwhile
    worker.post({"type": "pause"})


def test_a_failure_is_reported_and_the_worker_keeps_serving(worker, monkeypatch):
    assert [worker.out.get(timeout=5)["type"] for _ in range(2)] == ["hello", "network"]
    calls = {"n": 0}
    real = worker.session.frame

    def flaky():
        calls["n"] += 1
        if calls["n"] == 1:
            raise FloatingPointError("boom")
        return real()

    monkeypatch.setattr(worker.session, "frame", flaky)
    worker.post({"type": "step"})
    msgs = drain(worker, 0.5)
    assert any(m["type"] == "error" and "boom" in m["message"] for m in msgs)
    worker.post({"type": "inspect", "x": [0.0, 0.0]})
    worker.post({"type": "step"})
    msgs = drain(worker, 0.5)
    assert any(m["type"] == "inspect" for m in msgs)
    assert any(m["type"] == "frame" and m["epoch"] == 2 for m in msgs)


def test_the_page_can_slow_training_down(worker):
    assert [worker.out.get(timeout=5)["type"] for _ in range(2)] == ["hello", "network"]
    worker.post({"type": "speed", "epochs_per_s": 20.0})
    worker.post({"type": "play"})
    start = time.monotonic()
    last = 0
    while time.monotonic() - start < 1.0:
        for m in drain(worker, 0.05):
            if m["type"] == "frame":
                last = m["epoch"]
                worker.post({"type": "ack"})
    worker.post({"type": "pause"})
    assert 12 <= last <= 24  # 20 epochs a second, for one second
