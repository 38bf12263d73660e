"""``backprop train``'s progress under a real pseudo-terminal of 60, 80 and 120 columns.

The command runs in a child process whose stdin, stdout and stderr are the slave end of
``os.openpty()``, with the window size set by ``TIOCSWINSZ``. Everything it writes is
captured and then replayed, a line-drawing step at a time, into ``pyte`` (a VT100
emulator). Checked: no step ever puts a character in the terminal's last column (so the
terminal never wrapped a line: a line that wraps must first fill that column), no
segment between carriage returns and newlines of the raw bytes is wider than the
terminal, the live line showed its phases, and the final screen holds the header, one
entry per epoch (with the validation cost), the results and nothing stale.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

pyte = pytest.importorskip("pyte", reason="the terminal emulator: pip install pyte (test extra)")
pytest.importorskip("rich", reason="the live line is drawn with rich: pip install rich")
from rich.cells import cell_len  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

ROWS = 60
TRAIN = ["train", "--epochs", "3", "--batch-size", "8"]  # 158 mini-batches an epoch
CSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")
BAR = ("━", "─")


def child_env() -> dict[str, str]:
    """The environment without anything that overrides the terminal's size or kind."""
    drop = {"COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["TERM"] = "xterm-256color"
    return env


def run_in_pty(args, cols, tmp_path, *, stdout_pipe=False, timeout=120.0):
    """Run ``python -m backprop ARGS`` on a pseudo-terminal ``cols`` wide.

    Returns (return code, the bytes written to the terminal, stdout when it was a pipe).
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, cols, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop", *args],
        stdin=slave,
        stdout=subprocess.PIPE if stdout_pipe else slave,
        stderr=slave,
        cwd=tmp_path,
        env=child_env(),
    )
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        out = proc.stdout.read() if stdout_pipe else b""
        rc = proc.wait(timeout=max(deadline - time.monotonic(), 1.0))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return rc, b"".join(chunks), out


def steps(raw: bytes):
    """The raw output cut after every carriage return and newline: each a drawing step."""
    return [piece for piece in re.split(rb"(?<=[\r\n])", raw) if piece]


def replay(raw: bytes, cols: int):
    """Feed ``raw`` into a ``cols``-wide emulated terminal a step at a time.

    Returns the final screen's lines and the line under the cursor after every step
    (what the live line read). Fails as soon as any step leaves a character in the last
    column: a line as wide as the terminal (the next character would wrap).
    """
    screen = pyte.Screen(cols, ROWS)
    stream = pyte.ByteStream(screen)
    cursor_lines = []
    for k, piece in enumerate(steps(raw)):
        stream.feed(piece)
        full = [y for y in range(ROWS) if screen.buffer[y][cols - 1].data != " "]
        assert not full, f"step {k}: line {full[0]} reaches column {cols}: {screen.display}"
        cursor_lines.append(screen.display[screen.cursor.y].rstrip())
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines, cursor_lines


def entries(lines):
    """The per-epoch entries of the final screen: a line "epoch …" and its continuations."""
    found, current = [], None
    for line in lines:
        if line.startswith("epoch "):
            current = [line]
            found.append(current)
        elif current is not None and line.startswith(" ") and line.strip():
            current.append(line)
        else:
            current = None
    return [" ".join(" ".join(e).split()) for e in found]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("cols", [60, 80, 120])
def test_progress_fits_the_terminal_and_leaves_no_stale_line(cols, tmp_path):
    rc, raw, _ = run_in_pty(TRAIN, cols, tmp_path)
    text = raw.decode("utf-8")
    assert rc == 0, text[-2000:]
    assert "Traceback" not in text
    # (a) the raw output: every segment between \r and \n fits in cols - 1 cells
    plain = CSI.sub(b"", raw).decode("utf-8")
    widest = max(cell_len(seg) for seg in re.split(r"[\r\n]", plain))
    assert widest <= cols - 1, widest
    # … and in the emulated terminal no step ever reached the last column
    lines, cursor_lines = replay(raw, cols)

    # the live line was drawn many times: at least the first and last batch and the
    # evaluation of every epoch, each a clear-and-redraw on the same line
    live = [line for line in cursor_lines if any(ch in line for ch in BAR)]
    assert len(live) >= 9
    assert all(line.startswith("epoch ") and "cost " in line and "ETA " in line for line in live)
    evaluating = [line for line in live if "evaluating" in line]
    assert {line.split()[1] for line in evaluating} == {"1/3", "2/3", "3/3"}
    if cols >= 120:  # every field
        assert any("/158" in line and "samples/s" in line and "acc " in line for line in live)
    if cols <= 60:  # the batch count, accuracy and samples/s dropped, cost and ETA kept
        assert not any("samples/s" in line or "/158" in line for line in live)

    # (b) the final screen: header, notes, one entry per epoch, the results; nothing stale
    assert not any(ch in line for line in lines for ch in BAR), "a stale live line"
    assert not any("ETA" in line or "evaluating" in line for line in lines)
    assert lines[0].startswith("[64, 100, 10] relu/softmax")
    notes = lines.index(next(x for x in lines if "task:" in x))
    header = " ".join(" ".join(lines[:notes]).split())
    assert header.endswith("digits: 1258 train, 180 validation, 359 test")
    # ~130 characters: wrapped at its fields, the data's line whole where it fits
    assert header != lines[0] and header.count("|") == 1
    assert any(line.endswith("| digits: 1258 train, 180 validation, 359 test") for line in lines)
    epochs = entries(lines)
    assert [e.split()[1] for e in epochs] == ["1/3", "2/3", "3/3"]
    # (c) each entry: training, validation (with its cost) and test numbers, α, seconds
    for entry in epochs:
        assert re.fullmatch(
            r"epoch \d/3 train cost \d\.\d{4} train acc \d+\.\d\d% val cost \d\.\d{4} "
            r"val acc \d+\.\d\d% test acc \d+\.\d\d% lr 0\.001 \d+\.\ds",
            entry,
        ), entry
    first_epoch = next(i for i, x in enumerate(lines) if x.startswith("epoch "))
    after = lines[first_epoch:]
    table = after.index(next(x for x in after if x.startswith("split")))
    assert all(x.startswith(("epoch ", " ")) for x in after[:table] if x)
    results = after[table:]
    assert [x.split()[0] for x in results] == [
        "split", "----------", "train", "validation", "test", "3"
    ]  # fmt: skip
    assert results[-1].startswith("3 epochs in ")


def test_not_a_terminal_plain_lines(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "backprop", *TRAIN],
        capture_output=True, text=True, cwd=tmp_path, env=child_env(), timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr and "\r" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("[64, 100, 10] relu/softmax") and lines[0].endswith("359 test")
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [line.split()[1] for line in epochs] == ["1/3", "2/3", "3/3"]
    assert all("val cost" in line and "test acc" in line for line in epochs)
    assert "split" in proc.stdout and "\x1b" not in proc.stdout


@pytest.mark.timeout(300)
def test_json_on_stdout_and_progress_on_the_terminal(tmp_path):
    rc, raw, out = run_in_pty([*TRAIN, "--json"], 80, tmp_path, stdout_pipe=True)
    assert rc == 0, raw.decode()[-2000:]
    result = json.loads(out)  # all of stdout: one JSON object
    assert result["epochs_run"] == 3 and len(result["history"]["val_cost"]) == 3
    lines, _ = replay(raw, 80)
    assert len(entries(lines)) == 3 and "split" not in raw.decode()
