"""Fuzzing the model and checkpoint readers: whatever the bytes, only ModelFileError escapes.

CI runs a few hundred examples per property. For a long run::

    BACKPROP_FUZZ_EXAMPLES=10000 python -m pytest tests/test_io_fuzz.py -q
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop import io
from backprop.errors import ModelFileError

EXAMPLES = int(os.environ.get("BACKPROP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize="BACKPROP_FUZZ_EXAMPLES" not in os.environ,
)

_DIR = Path(tempfile.mkdtemp(prefix="backprop-fuzz-"))


def _valid_model() -> bytes:
    net = bp.Network([3, 4, 2], activation="tanh", output="softmax", cost="cross-entropy", seed=0)
    net.save(_DIR / "valid.safetensors", metadata={"metrics": {"accuracy": 0.5}})
    return (_DIR / "valid.safetensors").read_bytes()


def _valid_checkpoint() -> bytes:
    tensors = {"W1": np.arange(6.0).reshape(2, 3), "order": np.arange(5), "u": np.ones(3, "u8")}
    io.save_checkpoint(_DIR / "valid.ckpt", tensors, {"epoch": 2, "state": [2**70, "x"]})
    return (_DIR / "valid.ckpt").read_bytes()


MODEL = _valid_model()
CHECKPOINT = _valid_checkpoint()


def _split(data: bytes):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _pack(header, buffer: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + buffer


def _only_model_file_error(data: bytes, reader=bp.load) -> None:
    path = _DIR / "fuzz.safetensors"
    path.write_bytes(data)
    try:
        result = reader(path)
    except ModelFileError as exc:
        assert "\n" not in str(exc)
        return
    # The rare mutation that keeps the file valid must give a usable result.
    if reader is bp.load:
        assert isinstance(result, bp.Network)
        result.predict(np.zeros((1, result.sizes[0])))


def test_valid_files_load():
    _only_model_file_error(MODEL)
    assert isinstance(bp.load(_DIR / "fuzz.safetensors"), bp.Network)
    _only_model_file_error(CHECKPOINT, io.load_checkpoint)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    _only_model_file_error(data)
    _only_model_file_error(data, io.load_checkpoint)


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_behind_a_plausible_length(body):
    _only_model_file_error(struct.pack("<Q", len(body)) + body)


@FUZZ
@given(st.sampled_from([MODEL, CHECKPOINT]), st.data())
def test_bit_flips(base, data):
    flips = data.draw(st.lists(st.integers(0, len(base) * 8 - 1), min_size=1, max_size=8))
    mutated = bytearray(base)
    for bit in flips:
        mutated[bit // 8] ^= 1 << (bit % 8)
    _only_model_file_error(bytes(mutated))
    _only_model_file_error(bytes(mutated), io.load_checkpoint)


@FUZZ
@given(st.sampled_from([MODEL, CHECKPOINT]), st.data())
def test_truncations_and_splices(base, data):
    cut = data.draw(st.integers(0, len(base)))
    insert = data.draw(st.binary(max_size=16))
    where = data.draw(st.integers(0, len(base)))
    _only_model_file_error(base[:cut])
    _only_model_file_error(base[:where] + insert + base[where:])
    _only_model_file_error(base[:where] + base[where + len(insert) :], io.load_checkpoint)


def _json_containers(inner):
    """Lists and objects of ``inner``: the recursive step of :data:`JSON`.

    A named function rather than a multi-line lambda: Hypothesis reads the
    source of ``extend`` to check that it uses its argument, and a lambda split
    over lines can be misread as one that never recurses (a deprecation warning).
    """
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    _json_containers,
    max_leaves=12,
)


# Values a careless writer could plausibly put in a header, beside arbitrary JSON.
PLAUSIBLE = st.integers(-2, 300) | st.sampled_from(
    ["F32", "F64", "I64", "BF16", "relu", "softmax", "identity", "cross-entropy", "float32"]
    + ["backprop.checkpoint", "", 1.5, [], {}, [0, 0], [4, 3], [3, 4], [2], None]
)
VALUES = PLAUSIBLE | JSON


def _reseal(doc: dict, header: dict, buffer: bytes) -> None:
    """Recompute the checksum by the documented rule (the tensors as the header now
    locates them, then the canonical document), so that edits reach the later checks."""
    h = hashlib.sha256()
    for name in ("W1", "b1", "W2", "b2"):
        try:
            begin, end = header[name]["data_offsets"]
            h.update(buffer[begin:end])
        except (KeyError, TypeError, ValueError):
            pass
    rest = {k: v for k, v in doc.items() if k != "sha256"}
    h.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode("ascii"))
    doc["sha256"] = h.hexdigest()


def test_json_strategy_recurses_without_warnings():
    """The recursive JSON strategy validates with every warning an error
    (Hypothesis deprecates an ``extend`` it cannot see using its argument)."""
    import warnings

    from hypothesis.internal.reflection import is_first_param_referenced_in_function

    assert is_first_param_referenced_in_function(_json_containers)
    fresh = st.recursive(st.none(), _json_containers, max_leaves=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh.validate()
        JSON.validate()


@pytest.mark.filterwarnings("error::hypothesis.errors.HypothesisDeprecationWarning")
@FUZZ
@given(st.data())
def test_header_edits(data):
    """Replace or delete one field or one list item of the header or the metadata document,
    half the time with the checksum recomputed so the edit is judged on its own."""
    header, buffer = _split(MODEL)
    doc = json.loads(header["__metadata__"]["backprop"])
    target = data.draw(st.sampled_from(["header", "entry", "doc", "item"]))
    value = data.draw(VALUES)
    delete = data.draw(st.booleans())
    if target == "header":
        key = data.draw(st.sampled_from([*header, "extra"]))
        obj = header
    elif target == "entry":
        obj = header[data.draw(st.sampled_from(["W1", "b1", "W2", "b2"]))]
        key = data.draw(st.sampled_from(["dtype", "shape", "data_offsets", "extra"]))
    elif target == "doc":
        key = data.draw(st.sampled_from([*doc, "extra"]))
        obj = doc
    else:
        lists = [doc["sizes"], doc["activations"]]
        lists += [header[n][k] for n in ("W1", "b1", "W2", "b2") for k in ("shape", "data_offsets")]
        obj = data.draw(st.sampled_from(lists))
        key = data.draw(st.integers(0, len(obj) - 1))
        delete = delete and data.draw(st.booleans())
    if delete:
        obj.pop(key) if isinstance(obj, list) else obj.pop(key, None)
    else:
        obj[key] = value
    if target != "header":
        if data.draw(st.booleans()) and "sha256" in doc:
            _reseal(doc, header, buffer)
        header["__metadata__"] = {"backprop": json.dumps(doc)}
    _only_model_file_error(_pack(header, buffer))


@FUZZ
@given(st.integers(0, 2**64 - 1))
def test_header_length_prefix(n):
    _only_model_file_error(struct.pack("<Q", n) + MODEL[8:])


@pytest.mark.parametrize("reader", [bp.load, io.load_checkpoint])
def test_deeply_nested_header(reader):
    body = b"{" + b'"a":[' * 100_000 + b"]" * 100_000 + b"}"
    _only_model_file_error(struct.pack("<Q", len(body)) + body, reader)
