"""Fault injection with real processes: signals, a shared checkpoint folder, divergence.

Each case reproduces issue 17 ("Data loss"): SIGTERM/SIGHUP killed the run with no
checkpoint and a stray ``.tmp``; a second run sharing a checkpoint folder deleted the first's
temporary files; a diverged run replaced a good model with untrained weights; Ctrl-C during
the final save threw the trained model away; Ctrl-C in the first 0.1 s printed a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main
from backprop.cli._checkpoint import checkpoints
from support import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
LONG_RUN = ["train", "--layers", "16", "--epochs", "100000", "--quiet"]


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "backprop", *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run did not get there in time"
        time.sleep(0.02)


def _strays(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_checkpoint_and_exit_like_ctrl_c(tmp_path, signum, code):
    ck = tmp_path / "ck"
    proc = _start([*LONG_RUN, "--checkpoint", str(ck), "--out", "m.safetensors"], tmp_path)
    _wait_for(lambda: ck.is_dir() and checkpoints(ck), proc)  # training is under way
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    name = signal.Signals(signum).name
    assert proc.returncode == code, err
    assert err.startswith(f"backprop: terminated by {name} at epoch "), err
    assert "checkpoint saved to" in err and "add --resume to continue" in err
    assert "Traceback" not in err and err.count("\n") == 1
    newest = checkpoints(ck)[0]
    assert str(newest) in err
    assert _strays(tmp_path) == [] and not (tmp_path / "m.safetensors").exists()


def test_sigterm_during_data_loading_leaves_no_temporary(tmp_path):
    # a download that never ends (a silent loopback server): SIGTERM must unwind it
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        args = ["train", "--data", f"mnist:{tmp_path / 'mn'}", "--download", "--data-url", url]
        proc = _start(args, tmp_path)
        conn, _ = server.accept()  # the request arrived: the download is running
        try:
            time.sleep(0.3)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            conn.close()
    finally:
        server.close()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "backprop: terminated by SIGTERM", err
    assert "Traceback" not in err and _strays(tmp_path) == []


def test_second_run_on_a_checkpoint_folder_in_use_is_refused_and_touches_nothing(tmp_path):
    ck = tmp_path / "ck"
    first = _start([*LONG_RUN, "--checkpoint", str(ck), "--checkpoint-every", "1"], tmp_path)
    try:
        _wait_for(lambda: ck.is_dir() and len(checkpoints(ck)) >= 2, first)
        # what the first run is writing right now must survive the second's start-up
        stray = ck / ".ckpt-e0001-b000001.safetensors.0123456789ab.tmp"
        stray.write_bytes(b"a save in progress")
        first.send_signal(signal.SIGSTOP)  # freeze the folder so that it can be compared
        try:
            before = {p.name: p.read_bytes() for p in ck.iterdir()}
            second = _start([*LONG_RUN, "--checkpoint", str(ck), "--resume"], tmp_path)
            _, err = second.communicate(timeout=60)
            after = {p.name: p.read_bytes() for p in ck.iterdir()}
        finally:
            first.send_signal(signal.SIGCONT)
        assert second.returncode == 2, err
        assert err == (
            f"backprop: error: --checkpoint {ck} is in use by process {first.pid} (another "
            "backprop train); wait for it to finish, or use another --checkpoint directory\n"
        )
        assert after == before and stray.exists()
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 143
    # the lock ends with its process: now the folder can be resumed
    stray.unlink()
    rc = main(["train", "--layers", "16", "--epochs", "1", "--quiet", "--checkpoint", str(ck)])
    assert rc == 2  # holds checkpoints: needs --resume (the ordinary refusal, not the lock)


def test_divergence_never_replaces_an_existing_model(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", "--epochs", "3", "--quiet", "--out", str(out)]) == 0
    good = out.read_bytes()
    accuracy = bp.load(out).metadata["metrics"]["test_accuracy"]
    assert accuracy > 0.8
    capsys.readouterr()
    argv = ["train", "--optimizer", "sgd", "--lr", "1e30", "--quiet", "--out", str(out)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    beside = tmp_path / "m.diverged.safetensors"
    assert out.read_bytes() == good  # the good model, byte for byte
    assert beside.exists() and np.isfinite(bp.load(beside).W[1]).all()
    assert f"the last good weights were saved to {beside} ({out} was left as it was)" in err


def test_ctrl_c_during_the_final_save_finishes_the_save(tmp_path, capsys, monkeypatch):
    from backprop import io

    real_save = io.save
    calls = []

    def save_interrupted(net, path, **kwargs):
        calls.append(path)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the model is being written
        return real_save(net, path, **kwargs)

    monkeypatch.setattr(io, "save", save_interrupted)
    out = tmp_path / "m.safetensors"
    rc = main(["train", "--epochs", "2", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 130, err
    assert calls and bp.load(out).metadata["metrics"]["test_accuracy"] > 0.5
    assert f"training had finished, model saved to {out}" in err
    assert _strays(tmp_path) == []


def test_ctrl_c_in_the_first_tenth_of_a_second_prints_no_traceback(tmp_path):
    outcomes = []
    for delay in np.linspace(0.03, 0.15, 7):
        proc = _start(["train", "--epochs", "1", "--quiet"], tmp_path)
        time.sleep(float(delay))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if "backprop" not in err or "from . import _startup" in err:
            continue  # the interpreter's own start-up, before the hook can be installed
        assert "Traceback" not in err, err
        # killed before Python's handler exists (-2), or interrupted cleanly (130), or done
        assert proc.returncode in (-2, 130, 0), (proc.returncode, err)
        if proc.returncode == 130:
            assert err.strip().splitlines()[-1].startswith("backprop: interrupted"), err
        outcomes.append(proc.returncode)
    assert 130 in outcomes


# A Ctrl-C that reaches Python inside a weakref callback (importlib's module locks run one
# at the end of every import) is "ignored" by the interpreter: printed with a traceback and
# lost. These scripts deliver SIGINT exactly there, as the timing test above does by chance.
_IN_A_WEAKREF_CALLBACK = """
import os, signal, sys, weakref
import backprop

class Thing:
    pass

def callback(ref):
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs at one of these bytecodes
        pass

thing = Thing()
ref = weakref.ref(thing, callback)
"""


def _run_as_the_command(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    path = tmp_path / "backprop"  # sys.argv[0] is "backprop": the command's own start-up
    path.write_text(script)
    return subprocess.run(
        [sys.executable, str(path)], env=ENV, capture_output=True, text=True, timeout=60
    )


def test_ctrl_c_while_starting_exits_130_even_inside_a_weakref_callback(tmp_path):
    done = _run_as_the_command(
        tmp_path, _IN_A_WEAKREF_CALLBACK + "del thing\nprint('went on', flush=True)\n"
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "backprop: interrupted\n", "")


def test_ctrl_c_swallowed_by_a_weakref_callback_after_start_up_is_raised_again(tmp_path):
    done = _run_as_the_command(
        tmp_path,
        "import backprop._startup\nbackprop._startup.started()\n"
        + _IN_A_WEAKREF_CALLBACK
        + "try:\n    del thing\n    for _ in range(100000):\n        pass\n"
        + "    print('lost', flush=True)\nexcept KeyboardInterrupt:\n    print('raised')\n",
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "raised\n", "")
