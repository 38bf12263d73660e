"""The playground's speed: epochs/s on the server, frames/s in the page, in one run.

    python benchmarks/playground.py                 # about 30 s; needs chromium + chromedriver
    python benchmarks/playground.py --no-browser    # the server-side part only (about 10 s)

Measured, on the default problem (circle, 500 points, 50 % train, [2, 4, 2, 1] tanh,
batch 10, SGD α = 0.03), side by side:

* ``server``: ``Session.train_epoch`` back to back (the library's fast step, as the
  playground trains), epochs/s, median of ``--reps`` repetitions of ``--seconds`` each;
* ``readable``: the same epochs with ``Network.gradients`` + ``optimizers.SGD`` (the
  readable BP1–BP4 the fast step is tested against), for the ratio;
* ``frame``: building one frame (losses, accuracy, heat maps, thumbnails, ‖δ^l‖), ms;
* ``page``: the real server (uvicorn, 127.0.0.1, a free port) and headless Chromium,
  playing for ``--seconds`` × 3: requestAnimationFrame callbacks per second counted by a
  script injected beside the page's own (the page's redraw rate, which training must not
  block), the longest gap between two of them, the server frames the page drew per
  second, and the epochs per second the server trained while streaming.

Targets (issue 13): server ≥ 100 epochs/s; page ≥ 30 frames/s while training. The results
go to ``benchmarks/results/playground.json`` and are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from backprop.optimizers import SGD
from backprop.playground.frames import frame
from backprop.playground.session import Session

RESULTS = Path(__file__).resolve().parent / "results" / "playground.json"
TARGET_EPOCHS, TARGET_FPS = 100.0, 30.0


def epochs_per_s(train_epoch: Any, seconds: float) -> float:
    """Epochs per second of ``train_epoch()`` called back to back for ``seconds``."""
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        train_epoch()
        n += 1
    return n / elapsed


def readable_epoch(s: Session, opt: SGD) -> Any:
    """One epoch of Network.gradients + SGD over the session's shuffled mini-batches."""

    def run() -> None:
        order = s.rng.permutation(len(s.F_train))
        for start in range(0, len(order), s.cfg.batch_size):
            idx = order[start : start + s.cfg.batch_size]
            g = s.net.gradients(s.F_train[idx], s.T_train[idx])
            opt.step(s.net.params(), [t for l in g.W.keys() for t in (g.W[l], g.b[l])])

    return run


def server_side(seconds: float, reps: int) -> dict[str, Any]:
    fast, readable = [], []
    for _ in range(reps):  # alternate, so that both see the same machine
        s = Session()
        fast.append(epochs_per_s(s.train_epoch, seconds))
        s = Session()
        readable.append(epochs_per_s(readable_epoch(s, SGD(0.03)), seconds))
    s = Session()
    times = []
    for _ in range(50):
        t = time.perf_counter()
        frame(s)
        times.append(time.perf_counter() - t)
    return {
        "server_epochs_per_s": statistics.median(fast),
        "server_epochs_per_s_all": fast,
        "readable_epochs_per_s": statistics.median(readable),
        "fast_over_readable": statistics.median(fast) / statistics.median(readable),
        "frame_ms": 1e3 * statistics.median(times),
    }


COUNTER = """
window.__bench = {n: 0, gaps: [], last: performance.now()};
function __tick(t) { const b = window.__bench; b.n++; b.gaps.push(t - b.last); b.last = t;
  requestAnimationFrame(__tick); }
requestAnimationFrame(__tick);
"""


def page_side(seconds: float) -> dict[str, Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from backprop.playground.server import bind, create_app, make_server, new_token, url

    token = new_token()
    sock = bind("127.0.0.1", 0)
    server = make_server(create_app(token), sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts
    )
    try:
        driver.get(url(sock, token))
        deadline = time.monotonic() + 15
        while not driver.execute_script("return !!(window.playground && window.playground.frame)"):
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not draw a first frame")
            time.sleep(0.05)
        driver.find_element(By.ID, "play").click()
        time.sleep(1.0)  # warm up: the first epochs, the first frames
        driver.execute_script(COUNTER)
        before = driver.execute_script(
            "return [window.playground.frame.epoch, window.playground.stats.drawn,"
            " performance.now()]"
        )
        time.sleep(seconds * 3)
        after = driver.execute_script(
            "return [window.playground.frame.epoch, window.playground.stats.drawn,"
            " performance.now(), window.__bench.n, window.__bench.gaps]"
        )
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(10)
    wall = (after[2] - before[2]) / 1e3
    gaps = np.array(after[4][1:])
    return {
        "page_raf_per_s": after[3] / wall,
        "page_raf_gap_ms_p95": float(np.percentile(gaps, 95)),
        "page_raf_gap_ms_max": float(gaps.max()),
        "page_frames_drawn_per_s": (after[1] - before[1]) / wall,
        "streaming_epochs_per_s": (after[0] - before[0]) / wall,
        "page_seconds": wall,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=2.0, help="length of one repetition")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--no-browser", action="store_true", help="skip the page measurement")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {_cpu()}",
        "problem": "circle, 500 points, 50 % train, [2, 4, 2, 1] tanh, batch 10, SGD 0.03",
        **server_side(args.seconds, args.reps),
    }
    if not args.no_browser:
        result.update(page_side(args.seconds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("server epochs/s (fast step)", result["server_epochs_per_s"], TARGET_EPOCHS),
        ("readable epochs/s (gradients + SGD)", result["readable_epochs_per_s"], None),
        ("fast / readable", result["fast_over_readable"], None),
        ("one frame, ms", result["frame_ms"], None),
    ]
    if not args.no_browser:
        rows += [
            ("page requestAnimationFrame/s while training", result["page_raf_per_s"], TARGET_FPS),
            ("page longest frame gap, ms", result["page_raf_gap_ms_max"], None),
            ("server frames drawn/s", result["page_frames_drawn_per_s"], None),
            ("epochs/s while streaming", result["streaming_epochs_per_s"], TARGET_EPOCHS),
        ]
    for name, value, target in rows:
        verdict = (
            "" if target is None else ("  ✓" if value >= target else f"  ✗ (target {target:g})")
        )
        print(f"{name:46s} {value:10.1f}{verdict}")
    print(f"wrote {args.out}")
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    raise SystemExit(main())
