"""``backprop train --checkpoint DIR [--checkpoint-every N] [--resume]``.

A checkpoint directory holds files named by their position in the run::

    DIR/ckpt-e0003-b000010.safetensors     after 10 mini-batches of epoch 3
    DIR/ckpt-e0003-b000045.safetensors     at the end of epoch 3 (45 mini-batches)

Each is one :func:`backprop.io.save_checkpoint` file (written atomically, with a
SHA-256 checksum of its tensors) holding everything ``TrainState.checkpoint()``
captures — weights, optimiser state, random-generator state, epoch and batch
position, the epoch's order of the rows, schedule and early-stopping state,
history — plus the run's full configuration and the data's fingerprint under
``meta["run"]``. A checkpoint is written at the end of every epoch, every N
mini-batches within an epoch with ``--checkpoint-every N``, and when Ctrl-C
stops the run. After each write only the newest :data:`KEEP` files are kept;
older ones are deleted once the new one is complete.

``--resume`` continues from the newest checkpoint that loads and verifies;
a file that does not (a corrupted disk block) is renamed to ``*.corrupt``
with a warning, and the one before it is used. With no complete checkpoint
the run starts from the beginning and says so. A checkpoint made with other
settings or other data is refused (exit 2). Because the checkpoint restores
the exact state, a run killed at any moment and resumed — any number of
times — ends with the same weights, bit for bit, as one never interrupted.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelFileError
from ..io.checkpoint import load_checkpoint
from ..jsonable import to_jsonable
from ..training.callbacks import KEEP, RotatingCheckpoint, checkpoint_files

# the CLI's former names of the library's (tests and scripts list a directory with them)
checkpoints = checkpoint_files
__all__ = ["KEEP", "add_arguments", "check_arguments", "checkpoints", "setup"]

_TMP = re.compile(r"^\.ckpt-e\d+-b\d+\.safetensors\.[0-9a-f]+\.tmp$")

#: settings that may differ on resume: training longer is allowed; the data and the
#: architecture are compared by the data's fingerprint and the resolved layer sizes
_MAY_CHANGE = ("epochs", "data", "layers")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint DIR``, ``--checkpoint-every N`` and ``--resume``."""
    g = parser.add_argument_group("checkpoints")
    g.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="save the whole training state into DIR (created if missing) at the end of "
        "every epoch and on Ctrl-C, keeping the newest 2 files",
    )
    g.add_argument(
        "--checkpoint-every",
        type=_every,
        metavar="N",
        help="also checkpoint every N mini-batches within an epoch (default: epoch ends only)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue the run from the newest complete checkpoint in --checkpoint DIR "
        "(same settings; --epochs may be raised); starts afresh if there is none",
    )


def _every(text: str) -> int | None:
    if text.strip().lower() == "epoch":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(
            f"needs a positive number of mini-batches such as 100, or 'epoch'; got {text!r}"
        )
    return n


def check_arguments(args) -> None:
    """Fail before any work on flags that cannot go together or a DIR that cannot be used."""
    directory = getattr(args, "checkpoint", None)
    if directory is None:
        if getattr(args, "resume", False):
            raise ConfigError(
                "--resume needs --checkpoint DIR, the directory the interrupted run wrote"
            )
        if getattr(args, "checkpoint_every", None) is not None:
            raise ConfigError("--checkpoint-every needs --checkpoint DIR to write into")
        return
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise ConfigError(f"--checkpoint {directory} is a file; give a directory")
    if not d.exists() and not d.parent.is_dir():
        raise ConfigError(
            f"--checkpoint {directory}: directory {d.parent} does not exist; create it first"
        )
    if not args.resume and d.is_dir() and checkpoint_files(d):
        raise ConfigError(
            f"--checkpoint {directory} already holds checkpoints of a run; add --resume to "
            "continue it, or give an empty directory"
        )


def run_identity(config: dict, dataset) -> dict:
    """What must match for a checkpoint to continue this run: settings and data."""
    return {"config": dict(config), "data_fingerprint": dataset.fingerprint}


def setup(args, session, err=None) -> RotatingCheckpoint | None:
    """Add the checkpoint callback to ``session`` and, with --resume, the state to resume.

    Prints one line on ``err`` (stderr) saying where the run resumes or that it
    starts from the beginning.
    """
    if getattr(args, "checkpoint", None) is None:
        return None
    err = err or sys.stderr
    directory = Path(args.checkpoint)
    try:
        directory.mkdir(exist_ok=True)
        lock = lock_directory(directory)  # held until the process ends
        _remove_stray_temporaries(directory)
    except OSError as exc:
        raise ConfigError(
            f"--checkpoint {directory}: cannot use this directory ({exc.strerror or exc}); "
            "give a writable directory"
        ) from None
    identity = run_identity(session.config, session.dataset)
    if args.resume:
        found = newest_complete(directory, err, session.net, identity)
        if found is None:
            print(
                f"backprop: no complete checkpoint in {directory}; starting from the beginning",
                file=err,
            )
        else:
            path, tensors, meta = found
            if meta["epoch"] > session.config["epochs"]:
                raise ConfigError(
                    f"checkpoint {path} is at epoch {meta['epoch']} but --epochs is "
                    f"{session.config['epochs']}; give --epochs {meta['epoch']} or more"
                )
            session.train_kwargs["resume"] = (tensors, meta)
            print(
                f"backprop: resuming from {path} (epoch {meta['epoch']}, batch {meta['batch']})",
                file=err,
            )
    callback = RotatingCheckpoint(directory, identity, every=args.checkpoint_every)
    # nothing is pruned here: only a new checkpoint, written once the resumed run has
    # trained, replaces the old ones (RotatingCheckpoint.save prunes after each write)
    callback.lock = lock  # type: ignore[attr-defined]
    session.callbacks.append(callback)
    return callback


#: the lock file of a checkpoint directory; it holds the owner's process id
LOCK_NAME = ".lock"


def lock_directory(directory: Path) -> int:
    """Lock ``directory`` for this run with an OS file lock (``fcntl.flock``); the open
    descriptor, which keeps the lock until the process ends (also when it is killed).

    Raises
    ------
    ConfigError
        Another process holds the lock: "… is in use by process N". Nothing in the
        directory is touched.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; runs must not share a directory
        return -1
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise ConfigError(
            f"--checkpoint {directory} is in use by process {owner} (another backprop train); "
            "wait for it to finish, or use another --checkpoint directory"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    os.set_inheritable(fd, False)
    return fd


def release(callback: RotatingCheckpoint | None) -> None:
    """Unlock the directory at the end of the run (the process's end would, too)."""
    fd = getattr(callback, "lock", -1)
    if fd is not None and fd >= 0:
        os.close(fd)  # closing the descriptor releases the flock
        callback.lock = -1  # type: ignore[union-attr]


def newest_complete(
    directory: Path, err, net=None, identity: dict | None = None
) -> tuple[Path, dict, dict] | None:
    """``(path, tensors, meta)`` of the newest checkpoint that loads and verifies, or None.

    A file that fails to load is renamed to ``<name>.corrupt`` (so it is not
    tried, nor counted as one of the newest, again) with a warning on ``err``.
    """
    for path in checkpoint_files(directory):
        try:
            tensors, meta = load_checkpoint(path)
            check_contents(path, tensors, meta)
            if identity is not None:  # other settings: refused (ConfigError), not skipped
                check_same_run(path, meta, identity)
            check_shapes(path, tensors, net)
        except ModelFileError as exc:
            aside = path.with_name(path.name + ".corrupt")
            try:
                os.replace(path, aside)
                moved = f"; renamed it to {aside.name}"
            except OSError:
                moved = ""
            print(f"backprop: warning: skipping checkpoint: {exc}{moved}", file=err)
            continue
        return path, tensors, meta
    return None


def check_shapes(path: Path, tensors: dict, net=None) -> None:
    """The weights of a checkpoint of this run (same settings) have the network's shapes;
    else it is damaged: a ModelFileError, and resuming falls back to the one before."""
    if net is None:
        return
    for l in net.W.keys():
        for name, p in ((f"W{l}", net.W[l]), (f"b{l}", net.b[l])):
            if name not in tensors or tensors[name].shape != p.shape:
                got = tensors[name].shape if name in tensors else "missing"
                raise ModelFileError(
                    f"{path}: tensor {name} is {got} but the run's network needs {p.shape}"
                )


def check_contents(path: Path, tensors: dict, meta: dict) -> None:
    """A checksum-valid checkpoint must also hold what resuming reads, with the right
    types; else a ModelFileError, so that resuming falls back to the checkpoint before it."""
    from ..training.history import History

    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"{path}: {what}; not a checkpoint of `backprop train --checkpoint`")

    run = meta.get("run")
    if not isinstance(run, dict) or not isinstance(run.get("config"), dict):
        raise bad("its meta has no run configuration")
    for key in ("epoch", "batch", "n_train", "batch_size", "wait"):
        value = meta.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise bad(f"meta {key!r} is {value!r}, not a count")
    for key in ("lr", "epoch_seconds"):
        if not isinstance(meta.get(key), (int, float)) or isinstance(meta.get(key), bool):
            raise bad(f"meta {key!r} is not a number")
    for key, kind in (("optimizer", dict), ("schedule", dict), ("history", dict), ("rng", dict)):
        if not isinstance(meta.get(key), kind):
            raise bad(f"meta {key!r} is missing or not an object")
    lists = meta.get("optimizer_lists")
    if not isinstance(lists, list) or not all(
        isinstance(k, str) and isinstance(meta["optimizer"].get(k), int) for k in lists
    ):
        raise bad("meta 'optimizer_lists' does not match 'optimizer'")
    wanted = [f"optimizer.{k}.{i}" for k in lists for i in range(meta["optimizer"][k])]
    missing = [name for name in wanted if name not in tensors]
    if missing:
        raise bad(f"tensor {missing[0]} is missing")
    try:
        History.from_dict(meta["history"])
        np.random.default_rng(0).bit_generator.state = copy.deepcopy(meta["rng"])
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable, fall back
        raise bad(
            f"its history or random-generator state is unusable ({type(exc).__name__})"
        ) from None


def check_same_run(path: Path, meta: dict, identity: dict) -> None:
    """Refuse to resume a checkpoint made with other settings or other data."""
    run = meta["run"]
    saved, now = run.get("config", {}), identity["config"]
    diffs = []
    for key in sorted(set(saved) | set(now)):
        # compared as the checkpoint's JSON holds it (tuples become lists)
        if key in _MAY_CHANGE or saved.get(key) == to_jsonable(now.get(key), strict=False):
            continue
        diffs.append(f"{_flag(key)} {_show(saved.get(key))} there, {_show(now.get(key))} now")
    if run.get("data_fingerprint") != identity["data_fingerprint"]:
        diffs.append("the data differ (another file, or the file changed)")
    if diffs:
        shown = "; ".join(diffs[:3]) + (f"; and {len(diffs) - 3} more" if len(diffs) > 3 else "")
        raise ConfigError(
            f"cannot resume from {path}: it was made with other settings ({shown}); "
            "rerun with the checkpoint's settings, or use another --checkpoint directory"
        )


def _flag(key: str) -> str:
    return {"sizes": "--layers"}.get(key, "--" + key.replace("_", "-"))


def _show(value) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "(none)" if value is None else str(value)


def _remove_stray_temporaries(directory: Path) -> None:
    """Delete ``.ckpt-….tmp`` files a killed run left behind (never a complete checkpoint)."""
    for entry in os.scandir(directory):
        if _TMP.match(entry.name):
            try:
                os.unlink(entry.path)
            except OSError:
                pass
