"""Every bad input of issue 5, item 3, in ONE table: through the CLI and through the Python API.

Each row builds its bad file (or names a bad setting), runs the command in-process
with ``main([...])`` and requires exit 2 (1 for a failed gradient check), one or
two lines on stderr that start ``backprop…: error:`` and contain the row's words
(the problem and the fix), no traceback, and every file in the work directory —
among them an existing ``--out`` model or predictions file — byte-for-byte and
mtime-for-mtime unchanged, and no file added. The same input through the Python
API raises the row's :class:`backprop.BackpropError` subclass with the same words.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop import data, io
from backprop._files import (
    check_not_an_input,
    check_overwrite,
    check_writable,
    is_backprop_model,
    is_predictions_file,
)
from backprop.cli import main, output
from backprop.cli.evaluate import _model_settings
from backprop.errors import (
    BackpropError,
    ConfigError,
    DataError,
    DataFileError,
    GradcheckError,
    ModelFileError,
)

N_FEATURES, N_CLASSES = 5, 3


# -- the work directory: good files that the rows spoil ---------------------------------------


def _idx(array: np.ndarray) -> bytes:
    """IDX bytes as LeCun's format defines them: 0, 0, type 0x08 (ubyte), ndim; big-endian sizes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _mnist_files(n_train=30, n_test=10, seed=0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    files = {}
    for part, n in (("train", n_train), ("t10k", n_test)):
        files[f"{part}-images-idx3-ubyte.gz"] = gzip.compress(
            _idx(rng.integers(0, 256, size=(n, 28, 28)))
        )
        files[f"{part}-labels-idx1-ubyte.gz"] = gzip.compress(_idx(rng.integers(0, 10, size=n)))
    return files


def _write_mnist(directory: Path, **replace: bytes) -> Path:
    directory.mkdir()
    for name, content in {**_mnist_files(), **replace}.items():
        if content is not None:
            (directory / name).write_bytes(content)
    return directory


def _npz_with_forged_shape(shape: tuple) -> bytes:
    """An NPZ whose X.npy header claims ``shape`` (and holds no data), y a valid array."""
    import io as _io
    import zipfile

    header = {"descr": "<f8", "fortran_order": False, "shape": shape}
    buf = _io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    y = _io.BytesIO()
    np.save(y, np.zeros(3, np.int64))
    out = _io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("X.npy", buf.getvalue())
        z.writestr("y.npy", y.getvalue())
    return out.getvalue()


def _model_bytes(header: dict, buffer: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + buffer


@pytest.fixture
def work(tmp_path) -> Path:
    """Good files: table.csv/.npz (5 features, 3 classes), a 5-8-3 model, an existing --out."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, N_FEATURES)).round(3)
    y = np.arange(40) % N_CLASSES
    np.savez(tmp_path / "table.npz", X=X.astype(np.float32), y=y)
    rows = [",".join(map(str, [*x, c])) for x, c in zip(X, y)]
    (tmp_path / "table.csv").write_text("a,b,c,d,e,label\n" + "\n".join(rows) + "\n")
    net = bp.Network([N_FEATURES, 8, N_CLASSES], seed=0)
    io.save(net, tmp_path / "model.safetensors")
    io.save(bp.Network([N_FEATURES, 4, N_CLASSES], seed=1), tmp_path / "existing.safetensors")
    (tmp_path / "existing.csv").write_text("prediction,p_0,p_1,p_2\n1,0.1,0.8,0.1\n")
    return tmp_path


def _snapshot(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- issue 17: outputs that would destroy an input, special files, limits, odd metadata ---------


def _fifo(name: str):
    def setup(w: Path) -> None:
        os.mkfifo(w / name)

    return setup


def _link(name: str, target: str):
    def setup(w: Path) -> None:
        (w / name).symlink_to(target)

    return setup


def _gzip_bomb() -> bytes:
    """An MNIST labels file whose header declares 3 GiB, and holds them: 3 MB of gzip members."""
    one = gzip.compress(bytes(16 << 20), compresslevel=9)
    return gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 3 << 30)) + one * 192


def _model_with_metadata(name: str, metadata: dict):
    def setup(w: Path) -> None:
        meta = {k: v.format(w=w) if isinstance(v, str) else v for k, v in metadata.items()}
        io.save(bp.Network([N_FEATURES, 8, N_CLASSES], seed=0), w / name, metadata=meta)

    return setup


def _config(data: str) -> dict:
    return {"data": data, "patience": None, "output": "softmax", "cost": "cross-entropy"}


def _check_data(name: str):
    from backprop.cli import train_config

    return lambda w: train_config.check_data(_config(name), data.load(str(w / name)))


def _check_memory(sizes):
    from backprop.cli import train_config

    config = {"dtype": "float32", "optimizer": "adam", "batch_size": 32}
    return lambda w: train_config.check_memory(config, sizes)


def _predictions(model: str, npz: str):
    from backprop.cli.predict import predictions_csv

    return lambda w: predictions_csv(io.load(w / model), np.load(w / npz)["X"])


HUGE_X = np.full((4, N_FEATURES), 3e38, np.float32)


def _relu_model_and_huge_inputs(w: Path) -> None:
    """A ReLU network, whose z overflows to inf on inputs near 3e38 (softmax: NaN)."""
    net = bp.Network([N_FEATURES, 8, N_CLASSES], activation="relu", output="softmax", seed=0)
    net = net.astype("float32")
    io.save(net, w / "relu.safetensors")
    np.savez(w / "huge.npz", X=HUGE_X)


# -- the table -----------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    #: builds the bad input in the work directory (returns nothing)
    setup: object
    #: the command line; {w} is the work directory
    argv: list[str]
    #: the same input through the Python API: f(work) must raise ``error``
    api: object
    error: type[BackpropError]
    #: words the message must contain (CLI and API), e.g. where the problem is and the fix
    words: list[str] = field(default_factory=list)
    code: int = 2
    #: words for the API's message where they differ from the CLI's (default: ``words``)
    api_words: list[str] | None = None


def _nothing(w: Path) -> None:
    pass


def _text(name: str, text: str):
    def setup(w: Path) -> None:
        (w / name).write_text(text)

    return setup


def _bytes(name: str, content: bytes):
    def setup(w: Path) -> None:
        (w / name).write_bytes(content)

    return setup


def _npz(name: str, **arrays):
    def setup(w: Path) -> None:
        np.savez(w / name, **arrays)

    return setup


def _mnist(name: str, **replace):
    def setup(w: Path) -> None:
        _write_mnist(w / name, **replace)

    return setup


def _good_model() -> tuple[dict, bytes]:
    """(header, buffer) of a valid 2-3-1 model file, to spoil."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        io.save(bp.Network([2, 3, 1], seed=0), path)
        raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _spoiled_model(edit):
    header, buffer = _good_model()
    header, buffer = edit(header, buffer)
    return _model_bytes(header, buffer)


def _with_offsets(header, buffer):
    header["W1"]["data_offsets"] = [0, 10**12]
    return header, buffer


def _with_wrong_sizes(header, buffer):
    doc = json.loads(header["__metadata__"]["backprop"])
    doc["sizes"], doc["n_params"] = [2, 4, 1], 17  # the tensors are 2-3-1
    header["__metadata__"]["backprop"] = json.dumps(doc)
    return header, buffer


def _with_wrong_count(header, buffer):
    doc = json.loads(header["__metadata__"]["backprop"])
    doc["n_params"] = 17  # a 2-3-1 network has 13
    header["__metadata__"]["backprop"] = json.dumps(doc)
    return header, buffer


def _with_bad_checksum(header, buffer):
    return header, buffer[:-1] + bytes([buffer[-1] ^ 1])


def _train(w, *flags, data="table.npz"):
    """``backprop train`` on ``data`` (in the work directory) with an existing --out model."""
    spec = data if "{w}" in data else f"{w}/{data}"
    return ["train", "--data", spec, "--epochs", "2", *flags, "--out", f"{w}/existing.safetensors"]


def _api_train(**kwargs):
    """bp.train on good data with one bad setting."""

    def run(w: Path):
        ds = data.load(str(w / "table.npz"))
        net = bp.Network([N_FEATURES, 4, N_CLASSES], seed=0)
        args = {"epochs": 1, "batch_size": 4, "lr": 0.1, **kwargs}
        return bp.train(net, ds.X_train, ds.y_train, **args)

    return run


def _api_net(sizes, X=None, y=None, **kwargs):
    def run(w: Path):
        net = bp.Network(sizes, seed=0, **kwargs)
        ds = data.load(str(w / "table.npz"))
        return bp.train(
            net, ds.X_train if X is None else X, ds.y_train if y is None else y,
            epochs=1, batch_size=4, lr=0.1,
        )  # fmt: skip

    return run


def _load(name: str):
    return lambda w: data.load(str(w / name))


def _load_mnist(name: str):
    return lambda w: data.load(f"mnist:{w / name}")


def _load_model(name: str):
    return lambda w: io.load(w / name)


GOOD_LABELS = np.arange(40) % N_CLASSES
GOOD_X = np.random.default_rng(2).normal(size=(40, N_FEATURES)).astype(np.float32)
ROWS_WITH_TEXT = "a,b,c,d,e,label\n" + "1,2,3,4,5,0\n" * 3 + "1,2,x7,4,5,1\n" + "1,2,3,4,5,2\n"
NAN_X = GOOD_X.copy()
NAN_X[7, 2] = np.nan
INF_X = GOOD_X.copy()
INF_X[3, 1] = np.inf
MNIST = _mnist_files()
GZ = "train-images-idx3-ubyte.gz"
LABELS_GZ = "train-labels-idx1-ubyte.gz"
WRONG_MAGIC = gzip.compress(b"\x00\x00\x08\x01" + gzip.decompress(MNIST[GZ])[4:])
SHORT_IMAGES = gzip.compress(gzip.decompress(MNIST[GZ])[:-784])  # header says 30, file has 29
MN = "mnist:{w}/mn"
LABEL_12 = gzip.compress(_idx(np.array([12] + [1] * 29)))

CASES = [
    # -- data files -------------------------------------------------------------------------
    Case("csv-non-numeric-cell", _text("bad.csv", ROWS_WITH_TEXT), _train("{w}", data="bad.csv"),
         _load("bad.csv"), DataError, ["row 5", "column 3", "'x7'"]),
    Case("csv-nan", _text("bad.csv", ROWS_WITH_TEXT.replace("x7", "nan")),
         _train("{w}", data="bad.csv"), _load("bad.csv"), DataError, ["row 5", "column 3", "NaN"]),
    Case("npz-nan", _npz("bad.npz", X=NAN_X, y=GOOD_LABELS), _train("{w}", data="bad.npz"),
         _load("bad.npz"), DataError, ["NaN"]),
    Case("npz-inf", _npz("bad.npz", X=INF_X, y=GOOD_LABELS), _train("{w}", data="bad.npz"),
         _load("bad.npz"), DataError, ["inf"]),
    # found by the 10,000-example fuzz run: zero elements, but sizes whose product overflows
    Case("npz-absurd-shape", _bytes("bad.npz", _npz_with_forged_shape((0, 194649001, 5923079486))),
         _train("{w}", data="bad.npz"), _load("bad.npz"), DataFileError, ["X", "too large"]),
    Case("csv-empty", _text("bad.csv", ""), _train("{w}", data="bad.csv"), _load("bad.csv"),
         DataError, ["empty"]),
    Case("npz-empty", _bytes("bad.npz", b""), _train("{w}", data="bad.npz"), _load("bad.npz"),
         DataError, ["bad.npz", "not an NPZ file", "numpy.savez"]),
    Case("missing-file", _nothing, _train("{w}", data="nothing.csv"), _load("nothing.csv"),
         DataFileError, ["nothing.csv", "not found"]),
    Case("missing-directory", _nothing, _train("{w}", data="mnist:{w}/nowhere"),
         _load_mnist("nowhere"), DataFileError, ["nowhere"]),
    Case("mnist-dir-without-files", lambda w: (w / "empty").mkdir(),
         _train("{w}", data="mnist:{w}/empty"), _load_mnist("empty"), DataFileError,
         ["train-images-idx3-ubyte", "download"]),
    Case("truncated-gzip", _mnist("mn", **{GZ: MNIST[GZ][:-40]}), _train("{w}", data=MN),
         _load_mnist("mn"), DataFileError, [GZ, "truncated"]),
    Case("idx-wrong-magic", _mnist("mn", **{GZ: WRONG_MAGIC}), _train("{w}", data=MN),
         _load_mnist("mn"), DataFileError, [GZ, "magic"]),
    Case("idx-wrong-size", _mnist("mn", **{GZ: SHORT_IMAGES}), _train("{w}", data=MN),
         _load_mnist("mn"), DataFileError, [GZ, "30 x 28 x 28", "truncated", "copy the file"]),
    Case("idx-label-out-of-range", _mnist("mn", **{LABELS_GZ: LABEL_12}),
         _train("{w}", data="mnist:{w}/mn"), _load_mnist("mn"), DataError,
         [LABELS_GZ, "12", "0..9"]),
    Case("labels-not-integers", _npz("bad.npz", X=GOOD_X, y=np.linspace(0, 1.5, 40)),
         # the CLI reads non-integer labels as a regression target (identity output by
         # default); asking for classes (a softmax output) is the error
         _train("{w}", "--output", "softmax", data="bad.npz"), _api_net([N_FEATURES, 4, 3],
         X=GOOD_X, y=np.linspace(0, 1.5, 40)), DataError, ["integer"]),
    Case("labels-out-of-range-for-the-model", _npz("bad.npz", X=GOOD_X, y=np.arange(40) % 7),
         ["evaluate", "{w}/model.safetensors", "--data", "{w}/bad.npz"],
         _api_net([N_FEATURES, 4, 3], X=GOOD_X, y=np.arange(40) % 7), DataError,
         ["3 outputs", "7 classes"], api_words=["0..2", "0..6"]),
    # -- the network against the data ------------------------------------------------------
    Case("input-layer-does-not-match", _nothing, _train("{w}", "--layers", "6,8,3"),
         _api_net([6, 8, 3]), DataError, ["6", "5 features"]),
    Case("output-layer-does-not-match", _nothing, _train("{w}", "--layers", "5,8,4"),
         _api_net([5, 8, 4], X=GOOD_X, y=np.eye(3)[GOOD_LABELS]), DataError, ["4", "3"]),
    # -- names and numbers -----------------------------------------------------------------
    Case("unknown-activation", _nothing, _train("{w}", "--activation", "swish"),
         _api_net([5, 4, 3], activation="swish"), ConfigError,
         ["'swish'", "sigmoid", "relu", "tanh"]),
    Case("unknown-cost", _nothing, _train("{w}", "--cost", "hinge"),
         _api_net([5, 4, 3], cost="hinge"), ConfigError, ["'hinge'", "quadratic", "cross-entropy"]),
    Case("unknown-optimizer", _nothing, _train("{w}", "--optimizer", "rmsprop"),
         _api_train(optimizer="rmsprop"), ConfigError, ["'rmsprop'", "sgd", "adam", "nesterov"]),
    Case("zero-learning-rate", _nothing, _train("{w}", "--lr", "0"), _api_train(lr=0.0),
         ConfigError, ["lr", "positive"]),
    Case("negative-learning-rate", _nothing, _train("{w}", "--lr", "-0.5"), _api_train(lr=-0.5),
         ConfigError, ["lr", "positive"]),
    Case("zero-batch-size", _nothing, _train("{w}", "--batch-size", "0"),
         _api_train(batch_size=0), ConfigError, ["batch", "positive"]),
    Case("zero-epochs", _nothing, _train("{w}", "--epochs", "0"), _api_train(epochs=0),
         ConfigError, ["epochs", "positive"]),
    Case("negative-epochs", _nothing, _train("{w}", "--epochs", "-3"), _api_train(epochs=-3),
         ConfigError, ["epochs", "positive"]),
    # -- model files -------------------------------------------------------------------------
    Case("model-not-safetensors", _text("bad.safetensors", "W1,b1\n0.5,0.1\n"),
         ["info", "{w}/bad.safetensors"], _load_model("bad.safetensors"), ModelFileError,
         ["not a safetensors file"]),
    Case("model-header-absurd-size", _bytes("bad.safetensors", struct.pack("<Q", 2**62) + b"{}"),
         ["predict", "{w}/bad.safetensors", "{w}/table.npz", "--out", "{w}/existing.csv"],
         _load_model("bad.safetensors"), ModelFileError, ["header length"]),
    Case("model-offsets-past-end", _bytes("bad.safetensors", _spoiled_model(_with_offsets)),
         ["evaluate", "{w}/bad.safetensors", "--data", "{w}/table.npz"],
         _load_model("bad.safetensors"), ModelFileError, ["W1", "past the end"]),
    Case("model-metadata-does-not-match",
         _bytes("bad.safetensors", _spoiled_model(_with_wrong_sizes)),
         ["info", "{w}/bad.safetensors"], _load_model("bad.safetensors"), ModelFileError,
         ["W1", "shape [3, 2]", "sizes [2, 4, 1]", "[4, 2]"]),
    Case("model-metadata-wrong-count", _bytes("bad.safetensors", _spoiled_model(_with_wrong_count)),
         ["info", "{w}/bad.safetensors"], _load_model("bad.safetensors"), ModelFileError,
         ["n_params", "17"]),
    Case("model-checksum-mismatch", _bytes("bad.safetensors", _spoiled_model(_with_bad_checksum)),
         ["info", "{w}/bad.safetensors"], _load_model("bad.safetensors"), ModelFileError,
         ["checksum"]),
    Case("model-truncated", lambda w: (w / "bad.safetensors").write_bytes(
            (w / "model.safetensors").read_bytes()[:-9]),
         ["predict", "{w}/bad.safetensors", "{w}/table.npz", "--out", "{w}/existing.csv"],
         _load_model("bad.safetensors"), ModelFileError, ["truncated"]),
    Case("model-missing", _nothing, ["info", "{w}/none.safetensors"],
         _load_model("none.safetensors"), ModelFileError, ["none.safetensors", "no such file"]),
    # -- predicting -------------------------------------------------------------------------
    Case("predict-wrong-number-of-features", _npz("six.npz", X=np.ones((4, 6), np.float32)),
         ["predict", "{w}/model.safetensors", "{w}/six.npz", "--out", "{w}/existing.csv"],
         lambda w: io.load(w / "model.safetensors").predict(np.ones((4, 6))), DataError,
         ["6", "5"]),
    # -- issue 17 --------------------------------------------------------------------------
    Case("train-out-is-the-data",  _nothing,
         ["train", "--data", "{w}/table.npz", "--epochs", "2", "--out", "{w}/table.npz"],
         lambda w: check_not_an_input(w / "table.npz", [w / "table.npz"]),
         ConfigError, ["table.npz", "same file as the input", "another output file"]),
    Case("predict-out-is-the-input", _nothing,
         ["predict", "{w}/model.safetensors", "{w}/table.npz", "--out", "{w}/table.npz"],
         lambda w: check_not_an_input(w / "table.npz", [w / "model.safetensors", w / "table.npz"]),
         ConfigError, ["same file as the input"]),
    Case("predict-out-is-the-model", _nothing,
         ["predict", "{w}/model.safetensors", "{w}/table.npz", "--out", "{w}/model.safetensors"],
         lambda w: check_not_an_input(w / "model.safetensors", [w / "model.safetensors"]),
         ConfigError, ["model.safetensors", "same file as the input"]),
    Case("train-out-is-not-a-model", _nothing,
         ["train", "--data", "{w}/table.npz", "--epochs", "2", "--out", "{w}/table.csv"],
         lambda w: check_overwrite(w / "table.csv", force=False, accept=is_backprop_model,
                                   kind="a backprop model"),
         ConfigError, ["table.csv", "not a backprop model", "--force"]),
    Case("predict-out-is-not-predictions", _nothing,
         ["predict", "{w}/model.safetensors", "{w}/table.npz", "--out", "{w}/table.csv"],
         lambda w: check_overwrite(w / "table.csv", force=False, accept=is_predictions_file,
                                   kind="a predictions file"),
         ConfigError, ["not a predictions file", "--force"]),
    Case("out-is-a-fifo", _fifo("pipe"),
         ["train", "--data", "{w}/table.npz", "--epochs", "2", "--force", "--out", "{w}/pipe"],
         lambda w: check_overwrite(w / "pipe", force=True, accept=is_backprop_model, kind="x"),
         ConfigError, ["FIFO", "not a regular file", "never replaced"]),
    Case("out-missing-folder", _nothing, _train("{w}")[:-1] + ["{w}/newmodels/"],
         lambda w: output.check_out_path(f"{w}/newmodels/"), ConfigError,
         ["newmodels/", "does not exist", "create it"]),
    Case("plots-not-writable", _nothing, _train("{w}", "--plots", "/proc/backprop-plots"),
         lambda w: check_writable(Path("/proc/backprop-plots"), "--plots"), ConfigError,
         ["--plots", "cannot write in", "writable"]),
    Case("seed-negative", _nothing, _train("{w}", "--seed", "-1"), _api_train(seed=-1),
         ConfigError, ["seed", "≥ 0"]),
    Case("layers-too-large", _nothing, _train("{w}", "--layers", "2000000000"),
         _check_memory([N_FEATURES, 2000000000, N_CLASSES]), ConfigError,
         ["parameters", "needs about", "smaller layers"]),
    Case("layers-50000x50000", _nothing, _train("{w}", "--layers", "50000,50000"),
         _check_memory([N_FEATURES, 50000, 50000, N_CLASSES]), ConfigError,
         ["2,500,", "needs about", "GiB"]),
    Case("csv-one-row", _text("one.csv", "1,2,3,4,5,0\n"), _train("{w}", data="one.csv"),
         _check_data("one.csv"), DataError, ["single class", "1 row", "--label-column"]),
    Case("csv-single-class", _text("same.csv", "".join(f"{i},1,2,3,4,7\n" for i in range(30))),
         _train("{w}", data="same.csv"), _check_data("same.csv"), DataError,
         ["single class", "30 rows", "at least 2 classes"]),
    Case("data-is-a-fifo", _fifo("pipe.csv"), _train("{w}", data="pipe.csv"), _load("pipe.csv"),
         DataFileError, ["pipe.csv", "FIFO", "not a regular file"]),
    Case("data-is-dev-zero", _link("zero.csv", "/dev/zero"), _train("{w}", data="zero.csv"),
         _load("zero.csv"), DataFileError, ["zero.csv", "character device"]),
    Case("idx-gzip-bomb", _mnist("mn", **{LABELS_GZ: _gzip_bomb()}), _train("{w}", data=MN),
         _load_mnist("mn"), DataFileError, ["2 GiB limit", "bytes compressed"]),
    Case("model-is-a-fifo", _fifo("pipe.safetensors"), ["info", "{w}/pipe.safetensors"],
         _load_model("pipe.safetensors"), ModelFileError, ["FIFO", "not a regular file"]),
    Case("predict-overflowing-inputs", _relu_model_and_huge_inputs,
         ["predict", "{w}/relu.safetensors", "{w}/huge.npz", "--out", "{w}/existing.csv"],
         _predictions("relu.safetensors", "huge.npz"), DataError,
         ["not finite", "3e+38", "scale the inputs"]),
    Case("evaluate-model-metadata-validation-fraction",
         _model_with_metadata("odd.safetensors", {"data_spec": "{w}/table.npz",
                                                  "training": {"validation_fraction": 5}}),
         ["evaluate", "{w}/odd.safetensors"],
         lambda w: _model_settings(str(w / "odd.safetensors"),
                                   io.load(w / "odd.safetensors").metadata),
         ConfigError, ["odd.safetensors", "its metadata says validation_fraction 5", "damaged"]),
    # -- a failed check ----------------------------------------------------------------------
    Case("gradcheck-fails", _nothing, ["gradcheck", "--h", "0.5", "--tol", "1e-12"],
         lambda w: bp.gradcheck(bp.Network([3, 4, 2], seed=0), np.ones((2, 3)), [[0, 1], [1, 0]],
                                h=0.5, tol=1e-12),
         GradcheckError, ["relative error"], code=1),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_through_the_cli(case: Case, work: Path, capsys):
    case.setup(work)
    before = _snapshot(work)
    argv = [a.format(w=work) for a in case.argv]
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == case.code, err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2, err
    assert lines[0].startswith("backprop") and ": error: " in lines[0], err
    assert "Traceback" not in err and "Traceback" not in out
    for word in case.words:
        assert word.format(w=work).lower() in err.lower(), (word, err)
    assert _snapshot(work) == before  # nothing written, nothing touched


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_through_the_api(case: Case, work: Path):
    case.setup(work)
    before = _snapshot(work)
    if case.error is GradcheckError:  # the library returns a failed result; the CLI raises
        result = case.api(work)
        assert not result.passed and result.max_error > result.tol
        return
    with pytest.raises(case.error) as info:
        case.api(work)
    message = str(info.value)
    assert 0 < len(message.splitlines()) <= 2, message
    for word in case.words if case.api_words is None else case.api_words:
        assert word.lower() in message.lower(), (word, message)
    assert _snapshot(work) == before


def test_the_table_covers_issue_5():
    """Issue 5, item 3 names these inputs; each has at least one row."""
    ids = {c.id for c in CASES}
    for needed in [
        "csv-non-numeric-cell", "npz-nan", "npz-inf", "csv-empty", "missing-file",
        "missing-directory", "mnist-dir-without-files", "truncated-gzip", "idx-wrong-magic",
        "idx-wrong-size", "idx-label-out-of-range", "labels-not-integers",
        "input-layer-does-not-match", "output-layer-does-not-match", "unknown-activation",
        "unknown-cost", "unknown-optimizer", "zero-learning-rate", "zero-batch-size",
        "zero-epochs", "model-not-safetensors", "model-header-absurd-size",
        "model-offsets-past-end", "model-metadata-does-not-match", "model-truncated",
        "predict-wrong-number-of-features", "gradcheck-fails",
    ]:  # fmt: skip
        assert needed in ids
    assert len(CASES) >= 30


def test_the_table_covers_issue_17():
    """The bad inputs issue 17 names that one command can show (signals, locks, stdout and
    start-up are in test_fault_injection.py and test_no_traceback.py)."""
    ids = {c.id for c in CASES}
    for needed in [
        "train-out-is-the-data", "predict-out-is-the-input", "predict-out-is-the-model",
        "train-out-is-not-a-model", "predict-out-is-not-predictions", "out-is-a-fifo",
        "out-missing-folder", "plots-not-writable", "seed-negative", "layers-too-large",
        "layers-50000x50000", "csv-one-row", "csv-single-class", "data-is-a-fifo",
        "data-is-dev-zero", "idx-gzip-bomb", "model-is-a-fifo", "predict-overflowing-inputs",
        "evaluate-model-metadata-validation-fraction",
    ]:  # fmt: skip
        assert needed in ids
