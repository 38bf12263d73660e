"""The program the MPI tests launch: ``python worker.py CASE OUT [ARGS]`` on every rank.

Each case runs on every rank, writes what it observed to ``OUT/rank{r}.json`` and exits
with the code the test expects; the tests (test_*.py beside this file) read the files and
check them against numbers they derive themselves.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from backprop import distributed as dist
from backprop.errors import ConfigError, DataError, DataFileError


def _write(out: Path, rank: int, result: dict[str, Any]) -> None:
    (out / f"rank{rank}.json").write_text(json.dumps(result))


def _report(exc: BaseException) -> None:
    print(f"backprop: error: {exc}", file=sys.stderr, flush=True)


def case_collectives(out: Path) -> int:
    """Packed Allreduce, broadcast, scalar sums and agreed errors on every rank."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    r, n = comm.Get_rank(), comm.Get_size()
    result: dict[str, Any] = {"rank": r, "size": n, "describe": dist.describe(comm)}
    launcher = dist.detect()
    result["launcher"] = None if launcher is None else [launcher.size, launcher.rank]
    result["resolved_size"] = dist.resolve("auto").Get_size()
    shapes = [(3, 2), (3, 1), (1, 3), (1, 1)]
    for dtype in ("float64", "float32"):
        packed = dist.PackedGradients(shapes, np.dtype(dtype), n_control=1)
        for i, view in enumerate(packed.views):
            view[...] = (r + 1) * (i + 1)
        packed.control[0] = 1 if r == n - 1 else 0
        packed.allreduce(comm)
        result[f"packed_{dtype}"] = packed.flat.tolist()
        result["shares_memory"] = all(np.shares_memory(v, packed.flat) for v in packed.views)
    params = [np.random.default_rng(r).standard_normal(s) for s in shapes]
    result["before"] = dist.fingerprint(params)
    dist.broadcast_params(comm, params)
    result["after"] = dist.fingerprint(params)
    result["sums"] = dist.reduce_sums(comm, [r, 0.5]).tolist()
    dist.check_same(comm, dist.fingerprint([np.arange(5.0)]))
    result["agree"] = {}
    failures: dict[str, BaseException | None] = {
        "none": None,
        "one": ConfigError("bad flag") if r == 1 else None,
        "all": DataError("same everywhere"),
        "bug": RuntimeError("oops") if r == n - 1 else None,
    }
    for name, error in failures.items():
        try:
            dist.agree(comm, error)
            result["agree"][name] = None
        except BaseException as exc:
            result["agree"][name] = [type(exc).__name__, str(exc), dist.is_agreed(exc)]
    _write(out, r, result)
    return 0


def _loop(comm: Any, steps: int, failure: str, out: Path) -> int:
    """``steps`` packed Allreduces; rank 1 fails as told at step 20."""
    r = comm.Get_rank()
    (out / f"pid{r}").write_text(str(os.getpid()))
    packed = dist.PackedGradients([(100, 10)], np.dtype("float64"))
    for k in range(steps):
        if k == 20 and r == 1:
            if failure == "data-error":
                raise DataError("row 7 of the shard is not a number")
            if failure == "bug":
                raise RuntimeError("an unexpected bug")
            if failure == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            if failure == "exit":
                sys.exit(3)
        packed.allreduce(comm)
        time.sleep(0.001)
    return 0


def case_fail(out: Path, failure: str) -> int:
    """A loop of Allreduces in which rank 1 fails; the job must end, not hang."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    return dist.run_command(comm, lambda: _loop(comm, 2000, failure, out), _report)


def case_mismatch(out: Path) -> int:
    """Rank 1 holds other data than rank 0: every rank refuses, one message."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD

    def body() -> int:
        X = np.arange(12.0).reshape(4, 3)
        if comm.Get_rank() == 1:
            X[2, 1] += 1e-9
        dist.check_same(comm, dist.fingerprint([X, np.arange(4)]))
        return 0

    return dist.run_command(comm, body, _report)


def case_setup_error(out: Path) -> int:
    """Rank 1 alone fails in set-up (no collective inside): every rank exits 2."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD

    def body() -> int:
        with dist.together(comm):
            if comm.Get_rank() == 1:
                raise DataFileError("cannot read data.csv: no such file")
        return 0

    return dist.run_command(comm, body, _report)


def case_stop(out: Path) -> int:
    """Steps until a Ctrl-C has reached every rank through the control slot."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    r = comm.Get_rank()
    stop = dist.StopRequest()
    stop.install()
    packed = dist.PackedGradients([(50,)], np.dtype("float32"), n_control=1)
    (out / f"ready{r}").write_text("")
    step = 0
    start = time.monotonic()
    while not stop.agreed and time.monotonic() - start < 30:
        step += 1
        packed.views[0][...] = 1
        stop.contribute(packed.control)
        packed.allreduce(comm)
        stop.receive(packed.control)
        time.sleep(0.002 * (r + 1))  # the ranks run at different speeds
    stop.restore()
    _write(out, r, {"step": step, "agreed": stop.agreed, "requested": stop.requested})
    return 130 if stop.agreed else 0


def case_resolve(out: Path) -> int:
    """Without mpiexec: resolve() as the environment says; is mpi4py imported?"""
    result: dict[str, Any] = {}
    for mode in ("off", "auto"):
        try:
            comm = dist.resolve(mode)
            result[mode] = None if comm is None else comm.Get_size()
        except ConfigError as exc:
            result[mode] = f"ConfigError: {exc}"
        result[f"mpi4py_after_{mode}"] = "mpi4py.MPI" in sys.modules
    _write(out, 0, result)
    return 0


# -- training: the configurations the equality tests compare with one process ---------

#: digits rows: 1409 to train (22 batches of 64 and a last batch of 1 row: m < N), 200 to
#: validate, the remaining 188 to test
N_TRAIN, N_VAL = 1409, 200


def digits(dtype: str) -> dict[str, Any]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X, y = (d.data / 16).astype(dtype), d.target
    a, b = N_TRAIN, N_TRAIN + N_VAL
    return {"X": X[:a], "Y": y[:a], "val": (X[a:b], y[a:b]), "test": (X[b:], y[b:])}


def build(config: dict[str, Any]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """(network, data, keyword arguments of train) for one configuration."""
    import backprop as bp

    net = bp.Network(
        [64, 24, 16, 10],
        activation=config.get("activation", ["relu", "tanh"]),
        output=config.get("output", "softmax"),
        cost=config.get("cost", "cross-entropy"),
        seed=1,
        dtype=config["dtype"],
    )
    data = digits(config["dtype"])
    net_keys = ("name", "dtype", "activation", "output", "cost")
    kw = {k: v for k, v in config.items() if k not in net_keys}
    kw.setdefault("epochs", 2)
    kw.setdefault("batch_size", 64)
    kw.update(seed=0, validation_data=data["val"], test_data=data["test"])
    return net, data, kw


def _save(out: Path, name: str, net: Any, history: Any) -> None:
    np.savez(out / f"{name}.npz", *net.params())
    (out / f"{name}.json").write_text(json.dumps(history.to_dict()))


class _CaptureAt:
    """Save the state at (epoch, batch) on rank 0 (every rank computes the same state)."""

    def __init__(self, path: Path, epoch: int, batch: int, rank: int):
        self.path, self.at, self.rank = path, (epoch, batch), rank

    def on_batch_end(self, state: Any) -> None:
        if (state.epoch, state.batch) == self.at and self.rank == 0:
            from backprop.io.checkpoint import save_checkpoint

            save_checkpoint(self.path, *state.checkpoint())


def case_train(out: Path, configs_file: str) -> int:
    """Train every configuration of the file on all ranks; rank 0 saves weights and History.

    A configuration with ``"capture": [epoch, batch]`` also saves the state there as
    ``{name}.ckpt``; one with ``"resume": file`` resumes from that checkpoint.
    """
    from mpi4py import MPI

    import backprop as bp

    comm = MPI.COMM_WORLD
    r = comm.Get_rank()
    for config in json.loads(Path(configs_file).read_text()):
        config = dict(config)
        name = config["name"]
        capture, resume = config.pop("capture", None), config.pop("resume", None)
        net, data, kw = build(config)
        if capture is not None:
            kw["callbacks"] = [_CaptureAt(out / f"{name}.ckpt", *capture, rank=r)]
        if resume is not None:
            kw["resume"] = resume
        history = bp.train(net, data["X"], data["Y"], comm=comm, **kw)
        if r == 0:
            _save(out, name, net, history)
    return 0


def main(argv: list[str]) -> int:
    case, out, rest = argv[0], Path(argv[1]), argv[2:]
    cases = {
        "collectives": case_collectives,
        "fail": case_fail,
        "mismatch": case_mismatch,
        "setup-error": case_setup_error,
        "stop": case_stop,
        "resolve": case_resolve,
        "train": case_train,
    }
    return int(cases[case](out, *rest))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
