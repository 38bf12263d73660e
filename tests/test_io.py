"""Model files: bit-exact round trips, interop with the real safetensors library, and
a table of every malformed file, each rejected with ModelFileError and a clear message.

Files for the interop and malformed cases are built here by hand (struct + json +
hashlib), independently of backprop.io's writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np
import pytest

import backprop as bp
from backprop import activations, costs, io
from backprop.errors import ConfigError, ModelFileError

HIDDEN = list(activations.HIDDEN)
OUTPUTS = list(activations.ACTIVATIONS)


def _combos():
    for out in OUTPUTS:
        for cost in costs.COSTS:
            if cost == "cross-entropy" and out not in ("sigmoid", "softmax"):
                continue
            yield out, cost


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("output,cost", list(_combos()))
def test_round_trip_bit_exact(tmp_path, dtype, depth, output, cost):
    sizes = [5, 7, 6, 4, 3][:depth] + [3]
    hidden = [HIDDEN[(depth + i) % len(HIDDEN)] for i in range(depth - 1)]
    net = bp.Network(sizes, activation=hidden, output=output, cost=cost, dtype=dtype, seed=depth)
    net.metadata = {"training": {"lr": 0.5, "epochs": 3}, "data": {"fingerprint": "ab" * 32}}
    path = tmp_path / "m.safetensors"
    net.save(path, metadata={"metrics": {"test_accuracy": 0.9}})
    back = bp.load(path)
    assert back.config() == net.config()
    assert back.activations == [*hidden, output]
    for l in net.W.keys():
        for mine, theirs in ((net.W[l], back.W[l]), (net.b[l], back.b[l])):
            assert theirs.dtype == np.dtype(dtype) and theirs.shape == mine.shape
            assert theirs.tobytes() == mine.tobytes()
            assert theirs.flags.c_contiguous and theirs.flags.writeable
    X = np.random.default_rng(0).standard_normal((4, sizes[0]))
    assert np.array_equal(back.predict(X), net.predict(X))
    assert back.metadata == {
        "training": {"lr": 0.5, "epochs": 3},
        "data": {"fingerprint": "ab" * 32},
        "metrics": {"test_accuracy": 0.9},
    }


@pytest.mark.parametrize("hidden", HIDDEN)
def test_round_trip_every_hidden_activation(tmp_path, hidden):
    net = bp.Network([4, 6, 5, 2], activation=hidden, output="softmax", cost="cross-entropy")
    bp.save(net, tmp_path / "m.safetensors")
    back = bp.load(tmp_path / "m.safetensors")
    assert back.activations == [hidden, hidden, "softmax"]
    assert all(np.array_equal(a, b) for a, b in zip(net.params(), back.params()))


def test_saving_twice_gives_identical_bytes_and_replaces(tmp_path):
    net = bp.Network([3, 4, 2], seed=1)
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    net.save(a)
    net.save(b)
    assert a.read_bytes() == b.read_bytes()
    other = bp.Network([3, 4, 2], seed=2)
    other.save(a)
    assert np.array_equal(bp.load(a).W[1], other.W[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "b.safetensors"]


def test_metadata_is_made_json(tmp_path):
    net = bp.Network([2, 1], seed=0)
    meta = {
        "n": np.int64(3),
        "x": np.float32(0.25),
        "v": np.arange(3),
        "t": (1, 2),
        "bad": float("nan"),
        "path": tmp_path,
        "flag": np.bool_(True),
    }
    net.save(tmp_path / "m.safetensors", metadata=meta)
    assert bp.load(tmp_path / "m.safetensors").metadata == {
        "n": 3,
        "x": 0.25,
        "v": [0, 1, 2],
        "t": [1, 2],
        "bad": None,
        "path": str(tmp_path),
        "flag": True,
    }


def test_save_errors_touch_no_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    net = bp.Network([2, 2], seed=0)
    with pytest.raises(ConfigError, match="cannot be saved as JSON"):
        net.save(path, metadata={"f": object()})
    with pytest.raises(ConfigError, match="keys must be strings"):
        net.save(path, metadata={1: 2})
    net.W[1][0, 0] = np.nan
    with pytest.raises(ModelFileError, match="W1 holds NaN or inf values; train with a lower"):
        net.save(path)
    with pytest.raises(ModelFileError, match="does not exist; create it first"):
        bp.Network([2, 2]).save(tmp_path / "missing" / "m.safetensors")
    with pytest.raises(ConfigError, match="needs a backprop.Network"):
        bp.save("not a net", path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_read_metadata(tmp_path):
    net = bp.Network([3, 5, 2], activation="tanh", output="identity", dtype="float32", seed=0)
    net.save(tmp_path / "m.safetensors", metadata={"k": "v"})
    doc = io.read_metadata(tmp_path / "m.safetensors")
    assert doc["sizes"] == [3, 5, 2] and doc["activations"] == ["tanh", "identity"]
    assert doc["format"] == "backprop.model" and doc["format_version"] == 1
    assert doc["library_version"] == bp.__version__ and doc["n_params"] == 3 * 5 + 5 + 5 * 2 + 2
    assert doc["metadata"] == {"k": "v"}
    (tmp_path / "bad.safetensors").write_bytes(MALFORMED["checksum mismatch"][0])
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        io.read_metadata(tmp_path / "bad.safetensors")


# -- interop with the safetensors library ---------------------------------------


def _sha(arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reads_with_safetensors_numpy_and_torch(tmp_path, dtype):
    from safetensors import safe_open
    from safetensors.numpy import load_file as load_np

    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file as load_torch

    net = bp.Network([6, 5, 4, 3], activation="relu", output="softmax", cost="cross-entropy")
    net = net.astype(dtype)
    path = tmp_path / "m.safetensors"
    net.save(path, metadata={"metrics": {"accuracy": 0.5}})

    arrays = load_np(path)
    tensors = load_torch(path)
    assert sorted(arrays) == sorted(tensors) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    for l in net.W.keys():
        assert arrays[f"W{l}"].dtype == np.dtype(dtype)
        assert np.array_equal(arrays[f"W{l}"], net.W[l])
        assert np.array_equal(arrays[f"b{l}"], net.b[l].ravel())
        assert np.array_equal(tensors[f"W{l}"].numpy(), net.W[l])
        assert np.array_equal(tensors[f"b{l}"].numpy(), net.b[l].ravel())
    with safe_open(path, framework="np") as f:
        doc = json.loads(f.metadata()["backprop"])
    assert doc["sizes"] == [6, 5, 4, 3] and doc["dtype"] == dtype
    assert doc["activations"] == ["relu", "relu", "softmax"] and doc["cost"] == "cross-entropy"
    assert doc["metadata"] == {"metrics": {"accuracy": 0.5}}
    assert doc["sha256"] == _sha([p for l in net.W.keys() for p in (net.W[l], net.b[l].ravel())])

    # The stored tensors drop into torch.nn.Linear as they are (W^l is (out, in)).
    x = np.random.default_rng(0).standard_normal((7, 6)).astype(dtype)
    layers = []
    for l in net.W.keys():
        lin = torch.nn.Linear(net.sizes[l - 1], net.sizes[l], dtype=tensors["W1"].dtype)
        lin.load_state_dict({"weight": tensors[f"W{l}"], "bias": tensors[f"b{l}"]})
        layers += [lin, torch.nn.ReLU()]
    layers[-1] = torch.nn.Softmax(dim=1)
    with torch.no_grad():
        out = torch.nn.Sequential(*layers)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, net.predict(x), rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("bias_shape", ["vector", "column"])
def test_loads_file_written_by_safetensors(tmp_path, bias_shape):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    W1, b1 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    W2, b2 = rng.standard_normal((2, 4)), rng.standard_normal(2)
    if bias_shape == "column":
        b1, b2 = b1[:, None], b2[:, None]
    doc = {
        "format": "backprop.model",
        "format_version": 1,
        "sizes": [3, 4, 2],
        "activations": ["tanh", "sigmoid"],
        "cost": "cross-entropy",
        "dtype": "float64",
        "sha256": _sha([W1, b1, W2, b2]),
        "metadata": {"source": "hand-written"},
    }
    path = tmp_path / "theirs.safetensors"
    save_file(
        {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, path, metadata={"backprop": json.dumps(doc)}
    )
    net = bp.load(path)
    assert net.sizes == [3, 4, 2] and net.activations == ["tanh", "sigmoid"]
    assert net.init == "unknown" and net.metadata == {"source": "hand-written"}
    assert np.array_equal(net.W[2], W2) and np.array_equal(net.b[1], b1.reshape(4, 1))
    x = rng.standard_normal((5, 3))
    expected = 1 / (1 + np.exp(-(np.tanh(x @ W1.T + b1.ravel()) @ W2.T + b2.ravel())))
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-13)


# -- malformed files ------------------------------------------------------------


def _pack(header: dict, buffer: bytes, pad: bool = True) -> bytes:
    text = json.dumps(header).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + buffer


def _valid():
    """(header, buffer, doc) of a valid float64 [3, 4, 2] model, built by hand."""
    rng = np.random.default_rng(7)
    tensors = {
        "W1": rng.standard_normal((4, 3)),
        "b1": rng.standard_normal(4),
        "W2": rng.standard_normal((2, 4)),
        "b2": rng.standard_normal(2),
    }
    doc = {
        "format": "backprop.model",
        "format_version": 1,
        "library_version": "0.1.0",
        "sizes": [3, 4, 2],
        "activations": ["sigmoid", "sigmoid"],
        "output": "sigmoid",
        "cost": "quadratic",
        "dtype": "float64",
        "init": "normal",
        "n_params": 26,
        "sha256": _sha(tensors.values()),
        "metadata": {},
    }
    header, offset, buffer = {}, 0, b""
    for name, arr in tensors.items():
        header[name] = {
            "dtype": "F64",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
        buffer += arr.tobytes()
    return header, buffer, doc


def _model(edit_header=None, edit_doc=None, buffer_edit=None, meta_edit=None) -> bytes:
    header, buffer, doc = _valid()
    if edit_doc:
        edit_doc(doc)
    meta = {"backprop": json.dumps(doc)}
    if meta_edit:
        meta = meta_edit(meta)
    header = {"__metadata__": meta, **header}
    if edit_header:
        edit_header(header)
    if buffer_edit:
        buffer = buffer_edit(buffer)
    return _pack(header, buffer)


def _set(d, key, value):
    d[key] = value


def _entry(name, key, value):
    return lambda h: h[name].__setitem__(key, value)


def _nan_weights(buf):
    arr = np.frombuffer(buf, dtype="<f8").copy()
    arr[0] = np.nan
    return arr.tobytes()


def _nan_doc(doc):
    header, buffer, _ = _valid()
    arr = np.frombuffer(_nan_weights(buffer), dtype="<f8")
    doc["sha256"] = _sha([arr[:12], arr[12:16], arr[16:24], arr[24:]])


VALID = _model()
CSV = b"pixel1,pixel2,label\n0.0,0.5,3\n1.0,0.25,7\n"
NOISE = np.random.default_rng(0).bytes(500)

MALFORMED = {
    # the container
    "empty file": (b"", "not a safetensors file (only 0 bytes; truncated?)"),
    "five bytes": (b"\x01\x02\x03\x04\x05", "only 5 bytes"),
    "a CSV file": (CSV, "not a safetensors file or truncated (header length"),
    "random bytes": (NOISE, "not a safetensors file or truncated (header length"),
    "absurd header length": (struct.pack("<Q", 2**63) + VALID[8:], "does not fit in the"),
    "header past end of file": (
        struct.pack("<Q", len(VALID)) + VALID[8:],
        "does not fit in the",
    ),
    "header too big for safetensors": (
        struct.pack("<Q", 200_000_000) + b"{" + b" " * 10,
        "header length 200000000",
    ),
    "header not JSON": (_pack({}, b"")[:8] + b"{not js}", "header is not valid JSON"),
    "header not an object": (struct.pack("<Q", 8) + b"[1, 2]  ", "no JSON header"),
    "header not UTF-8": (struct.pack("<Q", 8) + b'{"\xff": 1}', "header is not valid JSON"),
    "duplicate keys": (
        struct.pack("<Q", 16) + b'{"a": 1, "a": 2}',
        "not valid JSON (duplicate key 'a')",
    ),
    "truncated file": (VALID[:-10], "past the end of the 198-byte data (truncated file?)"),
    "truncated inside header": (VALID[:100], "not a safetensors file or truncated"),
    # tensor entries
    "entry not an object": (_model(lambda h: _set(h, "W1", [1, 2])), "'W1' has a malformed entry"),
    "entry missing key": (
        _model(lambda h: h["b1"].pop("shape")),
        "'b1' has a malformed entry (need dtype, shape, data_offsets)",
    ),
    "unknown dtype": (_model(_entry("W2", "dtype", "F128")), "'W2' has unsupported dtype 'F128'"),
    "bfloat16": (_model(_entry("W2", "dtype", "BF16")), "unsupported dtype 'BF16'"),
    "negative shape": (_model(_entry("W1", "shape", [-4, -3])), "invalid shape [-4, -3]"),
    "too many dimensions": (
        _model(_entry("b2", "shape", [1] * 64 + [2])),
        "'b2' has an invalid shape [1, 1,",
    ),
    "float shape": (_model(_entry("W1", "shape", [4.0, 3])), "invalid shape [4.0, 3]"),
    "reversed offsets": (_model(_entry("b2", "data_offsets", [208, 192])), "invalid data_offsets"),
    "three offsets": (_model(_entry("b2", "data_offsets", [0, 1, 2])), "invalid data_offsets"),
    "offsets past end": (
        _model(_entry("b2", "data_offsets", [192, 400])),
        "data_offsets [192, 400] past the end of the 208-byte data",
    ),
    "shape disagrees with bytes": (
        _model(_entry("W1", "shape", [4, 4])),
        "'W1' has 96 bytes but shape [4, 4] of F64 needs 128",
    ),
    "overlapping tensors": (
        _model(
            lambda h: (
                _entry("b1", "data_offsets", [64, 96])(h),
                _entry("b2", "data_offsets", [176, 192])(h),
            )
        ),
        "overlaps the previous tensor",
    ),
    "gap between tensors": (
        _model(lambda h: h.pop("b1"), edit_doc=lambda d: None),
        "'W2' leaves a gap in the data buffer",
    ),
    "trailing bytes": (_model(buffer_edit=lambda b: b + b"\0" * 8), "cover 208 of the 216 data"),
    # metadata
    "no __metadata__": (_model(lambda h: h.pop("__metadata__")), "has no __metadata__"),
    "__metadata__ not strings": (
        _model(meta_edit=lambda m: {"backprop": {"sizes": [3]}}),
        "__metadata__ must map strings to strings",
    ),
    "no backprop metadata": (_model(meta_edit=lambda m: {"format": "pt"}), "no 'backprop' entry"),
    "metadata not JSON": (
        _model(meta_edit=lambda m: {"backprop": "{sizes: 3"}),
        "the 'backprop' metadata is not valid JSON",
    ),
    "metadata not an object": (
        _model(meta_edit=lambda m: {"backprop": "[3, 4, 2]"}),
        "the 'backprop' metadata is not a JSON object",
    ),
    "a checkpoint, not a model": (
        _model(edit_doc=lambda d: _set(d, "format", "backprop.checkpoint")),
        "this is a checkpoint file; use load_checkpoint()",
    ),
    "foreign format": (
        _model(edit_doc=lambda d: _set(d, "format", "keras")),
        "metadata 'format' is 'keras', expected 'backprop.model'",
    ),
    "format not a string (found by fuzzing)": (
        _model(edit_doc=lambda d: _set(d, "format", [])),
        "metadata 'format' is [], expected 'backprop.model'",
    ),
    "newer format version": (
        _model(edit_doc=lambda d: _set(d, "format_version", 99)),
        "written by a newer backprop (format version 99",
    ),
    "format version missing": (
        _model(edit_doc=lambda d: d.pop("format_version")),
        "'format_version' is missing or invalid",
    ),
    "checksum missing": (
        _model(edit_doc=lambda d: d.pop("sha256")),
        "'sha256' is missing or not a hex digest",
    ),
    "checksum mismatch": (
        _model(buffer_edit=lambda b: b[:50] + bytes([b[50] ^ 1]) + b[51:]),
        "checksum mismatch, the tensor data is corrupted",
    ),
    "sizes missing": (_model(edit_doc=lambda d: d.pop("sizes")), "'sizes' must list"),
    "sizes zero": (_model(edit_doc=lambda d: _set(d, "sizes", [3, 0, 2])), "'sizes' must list"),
    "sizes disagree with shapes": (
        _model(edit_doc=lambda d: (_set(d, "sizes", [4, 3, 2]), d.pop("n_params"))),
        "tensor W1 has shape [4, 3] but metadata sizes [4, 3, 2] need [3, 4]",
    ),
    "missing tensor": (
        _model(
            edit_doc=lambda d: (
                _set(d, "sizes", [3, 4, 2, 2]),
                d.pop("n_params"),
                _set(d, "activations", ["relu", "relu", "sigmoid"]),
            )
        ),
        "missing tensor W3, b3 for the 3-layer network",
    ),
    "extra tensor": (
        _model(
            lambda h: _set(h, "extra", {"dtype": "F64", "shape": [0], "data_offsets": [208, 208]})
        ),
        "unexpected tensor 'extra'; a model holds only W1, b1, W2, b2",
    ),
    "dtype disagrees with tensors": (
        _model(edit_doc=lambda d: _set(d, "dtype", "float32")),
        "tensor W1 is F64 but the metadata says float32",
    ),
    "unsupported model dtype": (
        _model(edit_doc=lambda d: _set(d, "dtype", "float16")),
        "'dtype' must be one of float32, float64, got 'float16'",
    ),
    "unknown activation": (
        _model(edit_doc=lambda d: _set(d, "activations", ["swish", "sigmoid"])),
        "unknown activation 'swish' in the metadata; this backprop knows sigmoid",
    ),
    "activation count": (
        _model(edit_doc=lambda d: _set(d, "activations", ["sigmoid"])),
        "'activations' must name one activation per layer (2)",
    ),
    "softmax hidden layer": (
        _model(edit_doc=lambda d: _set(d, "activations", ["softmax", "sigmoid"])),
        "invalid architecture in the metadata: softmax can only be the output activation",
    ),
    "cost needs another output": (
        _model(
            edit_doc=lambda d: (
                _set(d, "activations", ["relu", "relu"]),
                _set(d, "output", "relu"),
                _set(d, "cost", "cross-entropy"),
            )
        ),
        "invalid architecture in the metadata: the cross-entropy cost needs a sigmoid or softmax",
    ),
    "output disagrees": (
        _model(edit_doc=lambda d: _set(d, "output", "softmax")),
        "'output' 'softmax' disagrees with the last activation 'sigmoid'",
    ),
    "unknown cost": (
        _model(edit_doc=lambda d: _set(d, "cost", "hinge")),
        "unknown cost 'hinge' in the metadata; this backprop knows quadratic, cross-entropy",
    ),
    "n_params disagrees": (
        _model(edit_doc=lambda d: _set(d, "n_params", 25)),
        "'n_params' is 25 but sizes [3, 4, 2] give 26",
    ),
    "user metadata not an object": (
        _model(edit_doc=lambda d: _set(d, "metadata", [1])),
        "metadata 'metadata' must be a JSON object",
    ),
    "init not a string": (
        _model(edit_doc=lambda d: _set(d, "init", 3)),
        "'init' must be a string, got 3",
    ),
    "NaN weights (checksum valid)": (
        _model(buffer_edit=_nan_weights, edit_doc=_nan_doc),
        "tensor W1 holds NaN or inf values",
    ),
}


def test_messages_quote_file_contents_briefly(tmp_path):
    entry = {"dtype": "F64", "shape": [0], "data_offsets": [208, 208]}
    path = tmp_path / "bad.safetensors"
    path.write_bytes(_model(lambda h: _set(h, "x" * 10_000, entry)))
    with pytest.raises(ModelFileError, match=r"unexpected tensor 'xxx+\.\.\.; a model") as info:
        bp.load(path)
    assert len(str(info.value)) < 300


def test_valid_reference_file_loads(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(VALID)
    net = bp.load(path)
    assert net.sizes == [3, 4, 2]


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_model_file(tmp_path, case):
    data, message = MALFORMED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as info:
        bp.load(path)
    text = str(info.value)
    assert message in text
    assert text.startswith(f"cannot load model {str(path)!r}: ")
    assert "\n" not in text
    assert path.read_bytes() == data  # loading never touches the file


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ModelFileError, match="no such file; check the path"):
        bp.load(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFileError, match="it is a directory, not a file"):
        bp.load(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ModelFileError, match="not a regular file"):
            bp.load("/dev/zero")
    with pytest.raises(ModelFileError, match="no such file"):
        io.load_checkpoint(tmp_path / "nope.ckpt")


def test_model_file_error_is_oserror():
    assert issubclass(ModelFileError, OSError) and issubclass(ModelFileError, bp.BackpropError)


# -- checkpoints -----------------------------------------------------------------


def test_checkpoint_round_trip_every_dtype(tmp_path):
    rng = np.random.default_rng(11)
    gen = np.random.default_rng(12345)
    gen.standard_normal(5)
    tensors = {
        "W1": rng.standard_normal((3, 4)),
        "v_W1": rng.standard_normal((3, 4)).astype(np.float32),
        "half": rng.standard_normal(5).astype(np.float16),
        "order": rng.permutation(10).astype(np.int64),
        "state": np.array([2**64 - 1, 0, 2**63], dtype=np.uint64),
        "u32": np.array([4294967295, 7], dtype=np.uint32),
        "i8": np.array([-128, 127], dtype=np.int8),
        "i16": np.array([-1, 2], dtype=np.int16),
        "u16": np.array([65535], dtype=np.uint16),
        "u8": np.arange(7, dtype=np.uint8),
        "mask": np.array([True, False, True]),
        "scalar": np.float64(2.5),
        "empty": np.zeros((0, 3)),
        "strided": rng.standard_normal((4, 6))[:, ::2],
        "big_endian": np.arange(4, dtype=">f8"),
    }
    meta = {"epoch": 3, "batch": 17, "rng": gen.bit_generator.state, "history": {"cost": [1.0]}}
    path = tmp_path / "ckpt.safetensors"
    io.save_checkpoint(path, tensors, meta)
    got, got_meta = io.load_checkpoint(path)
    assert sorted(got) == sorted(tensors)
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        assert got[name].dtype == arr.dtype.newbyteorder("=") and got[name].shape == arr.shape
        assert np.array_equal(got[name], arr)
    assert got_meta == meta
    restored = np.random.default_rng()
    restored.bit_generator.state = got_meta["rng"]
    assert np.array_equal(restored.standard_normal(4), gen.standard_normal(4))

    from safetensors.numpy import load_file

    theirs = load_file(path)
    assert np.array_equal(theirs["state"], tensors["state"]) and theirs["mask"].dtype == bool


def test_checkpoint_errors(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    io.save_checkpoint(path, {"a": np.arange(4.0)}, {"epoch": 1})
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checkpoint .*checksum mismatch"):
        io.load_checkpoint(path)
    with pytest.raises(ModelFileError, match="this is a checkpoint file; use load_checkpoint"):
        bp.load(path)
    bp.Network([2, 2]).save(tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="this is a model file; use load()"):
        io.load_checkpoint(tmp_path / "m.safetensors")
    with pytest.raises(ConfigError, match="dtype complex128"):
        io.save_checkpoint(path, {"c": np.ones(2, complex)}, {})
    with pytest.raises(ConfigError, match="names must be non-empty strings"):
        io.save_checkpoint(path, {"__metadata__": np.ones(2)}, {})
    with pytest.raises(ConfigError, match="cannot be saved as JSON"):
        io.save_checkpoint(path, {}, {"x": {1, 2}})


# -- the documentation's code runs and is right --------------------------------------


def _doc_blocks():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "model-format.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_documented_snippets(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    usage, checksum, read_np, read_torch, write = _doc_blocks()[:5]
    exec(usage, {})
    net = bp.load("mnist.safetensors")
    x = np.random.default_rng(0).random((5, 784))

    ns: dict = {}
    exec(read_np, ns)
    np.testing.assert_allclose(ns["predict"](x), net.predict(x), rtol=1e-12)
    ns = {}
    exec(read_torch, ns)
    with ns["torch"].no_grad():
        out = ns["model"](ns["torch"].from_numpy(x)).numpy()
    np.testing.assert_allclose(out, net.predict(x), rtol=1e-12)

    ns = {"W": net.W, "b": net.b, "L": net.L}
    exec(checksum, ns)
    assert ns["digest"] == io.read_metadata("mnist.safetensors")["sha256"]

    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(4, 3), (4,), (2, 4), (2,)])
    ns = {"json": json, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "digest": _sha([W1, b1, W2, b2])}
    exec(write, ns)
    written = bp.load("m.safetensors")
    assert written.activations == ["tanh", "sigmoid"] and np.array_equal(written.W[2], W2)


@pytest.mark.parametrize("output", OUTPUTS)
def test_documented_numpy_reader_every_activation(tmp_path, monkeypatch, output):
    monkeypatch.chdir(tmp_path)
    read_np = _doc_blocks()[2]
    for hidden in HIDDEN:
        net = bp.Network([4, 5, 3], activation=hidden, output=output, seed=0)
        net.save("mnist.safetensors")
        ns: dict = {}
        exec(read_np, ns)
        x = np.random.default_rng(0).standard_normal((6, 4))
        np.testing.assert_allclose(ns["predict"](x), net.predict(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_model_file_through_cli(tmp_path, capsys, case):
    from backprop.cli import main

    data, message = MALFORMED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    assert main(["info", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"backprop: error: cannot load model {str(path)!r}: ")
    assert message in err and err.count("\n") == 1
    assert path.read_bytes() == data
