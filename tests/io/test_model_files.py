"""Model files: bit-exact round trips, interop with the real safetensors library, and
a table of every malformed file, each rejected with ModelFileError and a clear message.

Files for the interop and malformed cases are built here by hand (struct + json +
hashlib), independently of backprop.io's writer; checksums are computed here from the
rule in docs/model-format.md, never with backprop.io's own helpers.
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
    with pytest.raises(ConfigError, match="not valid Unicode .a lone surrogate.; remove"):
        net.save(path, metadata={"\ud800": 1})
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
    assert doc["format"] == "backprop.model" and doc["format_version"] == 3
    assert doc["library_version"] == bp.__version__ and doc["n_params"] == 3 * 5 + 5 + 5 * 2 + 2
    assert doc["metadata"] == {"k": "v"}
    (tmp_path / "bad.safetensors").write_bytes(MALFORMED["checksum mismatch"][0])
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        io.read_metadata(tmp_path / "bad.safetensors")


# -- interop with the safetensors library ---------------------------------------


def _canonical(doc: dict) -> bytes:
    """The metadata document without sha256: sorted keys, no spaces, ASCII (\\u escapes)."""
    rest = {k: v for k, v in doc.items() if k != "sha256"}
    return json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _sha(arrays, doc: dict | None = None) -> str:
    """The documented checksum: SHA-256 of the tensors' little-endian C-order bytes in the
    given order, followed (format version 2) by the canonical metadata document; with no
    ``doc``, the version-1 rule (tensors only)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    if doc is not None:
        h.update(_canonical(doc))
    return h.hexdigest()


def _sha3(tensors: dict, doc: dict) -> str:
    """The format-version-3 checksum, written out from docs/model-format.md: the manifest
    ``[[name, dtype code, shape], …]`` by name, the bytes by name, the canonical document."""
    codes = {"float64": "F64", "float32": "F32", "int64": "I64", "bool": "BOOL"}
    names = sorted(tensors)
    manifest = [[n, codes[str(tensors[n].dtype)], list(tensors[n].shape)] for n in names]
    h = hashlib.sha256(json.dumps(manifest).replace(", ", ",").encode())
    for n in names:
        a = tensors[n]
        h.update(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    h.update(_canonical(doc))
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
    params = [p for l in net.W.keys() for p in (net.W[l], net.b[l].ravel())]
    assert doc["format_version"] == 3 and doc["sha256"] == _sha3(arrays, doc)
    assert doc["sha256"] != _sha(params, doc)  # not the version-2 rule (no names)
    assert doc["sha256"] != _sha(params)  # not the version-1 rule (tensors only)

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
        "format_version": 2,
        "sizes": [3, 4, 2],
        "activations": ["tanh", "sigmoid"],
        "cost": "cross-entropy",
        "dtype": "float64",
        "metadata": {"source": "hand-written"},
    }
    doc["sha256"] = _sha([W1, b1, W2, b2], doc)
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
        "format_version": 2,
        "library_version": "0.1.0",
        "sizes": [3, 4, 2],
        "activations": ["sigmoid", "sigmoid"],
        "output": "sigmoid",
        "cost": "quadratic",
        "dtype": "float64",
        "init": "normal",
        "n_params": 26,
        "metadata": {"metrics": {"test_accuracy": 0.9}, "note": "größe ✓"},
    }
    doc["sha256"] = _sha(tensors.values(), doc)
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


def _model(edit_header=None, edit_doc=None, buffer_edit=None, meta_edit=None, reseal=True) -> bytes:
    """The valid model with edits. ``reseal``: recompute the checksum after them (as a
    writer that got the metadata wrong would), so the check under test is reached; off
    for the cases that test the checksum itself."""
    header, buffer, doc = _valid()
    if edit_doc:
        edit_doc(doc)
    if buffer_edit:
        buffer = buffer_edit(buffer)
    if reseal and "sha256" in doc:
        # The buffer holds W1, b1, W2, b2 in that order: exactly the checksummed bytes.
        doc["sha256"] = hashlib.sha256(buffer + _canonical(doc)).hexdigest()
    meta = {"backprop": json.dumps(doc)}
    if meta_edit:
        meta = meta_edit(meta)
    header = {"__metadata__": meta, **header}
    if edit_header:
        edit_header(header)
    return _pack(header, buffer)


def _set(d, key, value):
    d[key] = value


def _entry(name, key, value):
    return lambda h: h[name].__setitem__(key, value)


def _nan_weights(buf):
    arr = np.frombuffer(buf, dtype="<f8").copy()
    arr[0] = np.nan
    return arr.tobytes()


def _tensors_only_checksum(doc):
    """The version-1 rule's checksum (tensor bytes only) of the valid model."""
    doc["sha256"] = hashlib.sha256(_valid()[1]).hexdigest()


def _bump(doc, *keys):
    for key in keys[:-1]:
        doc = doc[key]
    doc[keys[-1]] += 0.01


# Edits of the metadata document alone, each leaving a valid model: with the checksum
# left as it was they must be caught; with it recomputed the file loads with the edit.
METADATA_EDITS = {
    "hidden activation sigmoid -> tanh": lambda d: _set(d, "activations", ["tanh", "sigmoid"]),
    "output activation sigmoid -> identity": lambda d: (
        _set(d, "activations", ["sigmoid", "identity"]),
        _set(d, "output", "identity"),
    ),
    "cost quadratic -> cross-entropy": lambda d: _set(d, "cost", "cross-entropy"),
    "user metadata value edited": lambda d: _bump(d, "metadata", "metrics", "test_accuracy"),
    "user metadata key added": lambda d: _set(d["metadata"], "note2", "added"),
    "user metadata key removed": lambda d: d["metadata"].pop("note"),
    "user metadata non-ASCII text edited": lambda d: _set(d["metadata"], "note", "grösse ✓"),
    "init edited": lambda d: _set(d, "init", "he-normal"),
    "library_version edited": lambda d: _set(d, "library_version", "0.0.9"),
    "optional output removed": lambda d: d.pop("output"),
    "field added": lambda d: _set(d, "comment", "hello"),
}


VALID = _model()
CSV = b"pixel1,pixel2,label\n0.0,0.5,3\n1.0,0.25,7\n"
NOISE = np.random.default_rng(0).bytes(500)

MALFORMED = {
    # the container
    "empty file": (b"", "not a safetensors file (only 0 bytes; truncated?)"),
    "five bytes": (b"\x01\x02\x03\x04\x05", "only 5 bytes"),
    "a CSV file": (CSV, "not a model file (it looks like CSV text"),  # issue 15
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
        _model(buffer_edit=lambda b: b[:50] + bytes([b[50] ^ 1]) + b[51:], reseal=False),
        "checksum mismatch, the file's contents are corrupted; use an intact copy",
    ),
    **{
        f"checksum mismatch: {name}": (
            _model(edit_doc=edit, reseal=False),
            "checksum mismatch, the file's contents are corrupted; use an intact copy",
        )
        for name, edit in METADATA_EDITS.items()
    },
    "checksum mismatch: version-1 rule (tensors only) in a version-2 file": (
        _model(edit_doc=_tensors_only_checksum, reseal=False),
        "checksum mismatch, the file's contents are corrupted",
    ),
    "checksum mismatch: format_version 2 -> 1 (tensors-only rule)": (
        _model(edit_doc=lambda d: _set(d, "format_version", 1), reseal=False),
        "checksum mismatch, the file's contents are corrupted",
    ),
    "sha256 in upper case": (
        _model(edit_doc=lambda d: _set(d, "sha256", d["sha256"].upper()), reseal=False),
        "'sha256' is missing or not a hex digest",
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
        _model(buffer_edit=_nan_weights),
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


@pytest.mark.parametrize("case", list(METADATA_EDITS))
def test_metadata_edit_with_a_recomputed_checksum_loads(tmp_path, case):
    """The control for the "checksum mismatch: <edit>" cases: each edit alone leaves a valid
    model, so with the checksum recomputed by the documented rule the file loads, edit and all.
    The mismatch in those cases therefore comes from the checksum covering the metadata."""
    path = tmp_path / "m.safetensors"
    path.write_bytes(_model(edit_doc=METADATA_EDITS[case]))
    net = bp.load(path)
    _, _, doc = _valid()
    METADATA_EDITS[case](doc)
    assert net.activations == doc["activations"] and net.cost_name == doc["cost"]
    assert net.metadata == doc["metadata"] and net.init == doc["init"]
    stored = io.read_metadata(path)
    assert {k: v for k, v in stored.items() if k != "sha256"} == {
        k: v for k, v in doc.items() if k != "sha256"
    }


def test_checksum_covers_non_ascii_metadata(tmp_path):
    """Non-ASCII text and keys go into the file as UTF-8 and into the checksum as \\u escapes;
    the checksum is independent of key order and spacing in the stored JSON."""
    net = bp.Network([2, 3, 1], seed=5)
    meta = {"zoë": "größe ✓ 😀", "a": [1.5, -0.0, 10**30, None, True], "Z": {"y": 1, "x": 2}}
    path = tmp_path / "m.safetensors"
    net.save(path, metadata=meta)
    assert "größe ✓ 😀".encode() in path.read_bytes()
    assert bp.load(path).metadata == meta
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    header = json.loads(path.read_bytes()[8 : 8 + n])
    doc = json.loads(header["__metadata__"]["backprop"])
    params = {n: p for l in net.W.keys() for n, p in ((f"W{l}", net.W[l]), (f"b{l}", net.b[l]))}
    assert doc["sha256"] == _sha3(
        {n: p.reshape(-1) if n[0] == "b" else p for n, p in params.items()}, doc
    )
    # The same document stored pretty-printed with its keys in reverse order still verifies.
    reordered = dict(reversed(list(doc.items())))
    header["__metadata__"]["backprop"] = json.dumps(reordered, indent=2, ensure_ascii=False)
    buffer = path.read_bytes()[8 + n :]
    path.write_bytes(_pack(header, buffer))
    assert bp.load(path).metadata == meta


def _v1_model(edit_doc=None, buffer_edit=None) -> bytes:
    """A format-version-1 file: its checksum covers the tensor bytes only."""
    header, buffer, doc = _valid()
    doc["format_version"] = 1
    doc["sha256"] = hashlib.sha256(buffer).hexdigest()
    if edit_doc:
        edit_doc(doc)
    if buffer_edit:
        buffer = buffer_edit(buffer)
    return _pack({"__metadata__": {"backprop": json.dumps(doc)}, **header}, buffer)


def test_format_version_1_files_still_load_with_the_tensor_only_rule(tmp_path):
    path = tmp_path / "old.safetensors"
    path.write_bytes(_v1_model())
    net = bp.load(path)
    assert net.sizes == [3, 4, 2] and io.read_metadata(path)["format_version"] == 1
    # Version 1 did not cover the metadata, so a metadata edit is not detectable there...
    path.write_bytes(_v1_model(edit_doc=METADATA_EDITS["hidden activation sigmoid -> tanh"]))
    assert bp.load(path).activations == ["tanh", "sigmoid"]
    # ...but corrupted tensors are.
    path.write_bytes(_v1_model(buffer_edit=lambda b: b[:9] + bytes([b[9] ^ 4]) + b[10:]))
    with pytest.raises(ModelFileError, match="checksum mismatch, the file's contents are"):
        bp.load(path)
    # A version-1 checkpoint, as the previous release wrote it.
    a = np.arange(5.0)
    doc = {"format": "backprop.checkpoint", "format_version": 1, "library_version": "0.1.0"}
    doc |= {"sha256": hashlib.sha256(a.astype("<f8").tobytes()).hexdigest(), "meta": {"e": 1}}
    entry = {"dtype": "F64", "shape": [5], "data_offsets": [0, 40]}
    path.write_bytes(
        _pack({"__metadata__": {"backprop": json.dumps(doc)}, "a": entry}, a.tobytes())
    )
    tensors, meta = io.load_checkpoint(path)
    assert np.array_equal(tensors["a"], a) and meta == {"e": 1}


def test_deep_metadata_never_escapes_as_recursion_error(tmp_path):
    """Near the parser's nesting limit the document may parse but not re-serialise."""
    path = tmp_path / "deep.safetensors"
    header, buffer, doc = _valid()
    messages = set()
    for depth in range(900, 1100, 2):
        text = json.dumps({**doc, "deep": "@"}).replace('"@"', "[" * depth + "]" * depth)
        path.write_bytes(_pack({"__metadata__": {"backprop": text}, **header}, buffer))
        with pytest.raises(ModelFileError) as info:
            bp.load(path)
        messages.add(str(info.value).split(": ", 1)[1])
    assert messages <= {
        "the 'backprop' metadata is not valid JSON",
        "the 'backprop' metadata cannot be re-serialised",
        "checksum mismatch, the file's contents are corrupted; use an intact copy",
    }


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
    with pytest.raises(ConfigError, match="not valid Unicode .a lone surrogate."):
        io.save_checkpoint(path, {"\udc80": np.ones(2)}, {})
    with pytest.raises(ConfigError, match="checkpoint meta holds the string 'x\\\\ud800'"):
        io.save_checkpoint(path, {}, {"note": "x\ud800"})


def _checkpoint_parts(path):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    return header, json.loads(header["__metadata__"]["backprop"]), data[8 + n :]


def _rng_state():
    gen = np.random.default_rng(2026)
    gen.standard_normal(3)
    return gen.bit_generator.state


def _edit_rng(doc):
    doc["meta"]["rng"]["state"]["state"] += 1


CHECKPOINT_EDITS = {
    "epoch edited": lambda d: d["meta"].__setitem__("epoch", 4),
    "RNG state edited": _edit_rng,
    "history edited": lambda d: d["meta"]["history"]["cost"].__setitem__(0, 0.5),
    "meta key removed": lambda d: d["meta"].pop("batch"),
    "meta key added": lambda d: d["meta"].__setitem__("extra", None),
    "library_version edited": lambda d: d.__setitem__("library_version", "9.9"),
}


def _saved_checkpoint(path):
    tensors = {"W1": np.arange(6.0).reshape(2, 3), "v": np.ones(3, np.float32), "n": np.arange(2)}
    meta = {"epoch": 3, "batch": 17, "rng": _rng_state(), "history": {"cost": [1.0, 0.25]}}
    io.save_checkpoint(path, tensors, meta)
    return tensors, meta


def test_checkpoint_checksum_follows_the_documented_rule(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    tensors, _ = _saved_checkpoint(path)
    _, doc, _ = _checkpoint_parts(path)
    assert doc["format_version"] == 3
    assert doc["sha256"] == _sha3(tensors, doc)


@pytest.mark.parametrize("case", list(CHECKPOINT_EDITS))
@pytest.mark.parametrize("reseal", [False, True])
def test_checkpoint_metadata_edit(tmp_path, case, reseal):
    """Editing only the checkpoint's metadata document is a checksum mismatch; the same
    edit with the checksum recomputed by the documented rule loads, edit and all."""
    path = tmp_path / "ckpt.safetensors"
    tensors, _ = _saved_checkpoint(path)
    header, doc, buffer = _checkpoint_parts(path)
    CHECKPOINT_EDITS[case](doc)
    if reseal:
        doc["sha256"] = _sha3(tensors, doc)
    header["__metadata__"]["backprop"] = json.dumps(doc)
    path.write_bytes(_pack(header, buffer))
    if not reseal:
        with pytest.raises(ModelFileError) as info:
            io.load_checkpoint(path)
        assert str(info.value) == (
            f"cannot load checkpoint {str(path)!r}: checksum mismatch, the file's contents "
            "are corrupted; use an intact copy"
        )
    else:
        got, meta = io.load_checkpoint(path)
        assert meta == doc["meta"]
        assert all(np.array_equal(got[name], tensors[name]) for name in tensors)


# -- the documentation's code runs and is right --------------------------------------


def _doc_blocks():
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "model-format.md").read_text(encoding="utf-8")
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

    from safetensors import safe_open

    with safe_open("mnist.safetensors", framework="np") as f:
        doc = json.loads(f.metadata()["backprop"])
    ns = {"W": net.W, "b": net.b, "L": net.L, "doc": doc}
    exec(checksum, ns)
    assert ns["digest"] == doc["sha256"]
    doc["metadata"]["note"] = "edited"
    ns = {"W": net.W, "b": net.b, "L": net.L, "doc": doc}
    exec(checksum, ns)
    assert ns["digest"] != doc["sha256"]

    rng = np.random.default_rng(1)
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(4, 3), (4,), (2, 4), (2,)])
    ns = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    exec(write, ns)
    written = bp.load("m.safetensors")
    assert written.activations == ["tanh", "sigmoid"] and np.array_equal(written.W[2], W2)
    assert written.metadata == {} and io.read_metadata("m.safetensors")["format_version"] == 3


@pytest.mark.parametrize("target", [False, True])
def test_documented_reader_of_a_standardised_model(tmp_path, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    read_raw = _doc_blocks()[5]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4)) * [1, 10, 100, 1000] + [0, -5, 50, 500]
    Y = rng.standard_normal((40, 3)) * 20 + 100
    output = "identity" if target else "softmax"
    net = bp.Network([4, 6, 3], activation="relu", output=output, seed=0, dtype="float64")
    model = bp.Model(net, bp.Standardizer.fit(X, Y if target else None))
    model.save("table.safetensors")
    ns: dict = {}
    exec(read_raw, ns)
    np.testing.assert_allclose(ns["predict_raw"](X), model.predict(X), rtol=1e-12)


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
