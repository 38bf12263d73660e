"""Fuzzing the data readers: arbitrary and mutated bytes into IDX, CSV and NPZ.

Property: whatever the bytes, the reader either returns well-formed arrays or
raises one of the library's own errors (a BackpropError subclass). Nothing else
escapes: no IndexError, no zlib.error, no MemoryError, no RuntimeWarning (pytest
turns those into errors).

CI runs a few hundred examples per test. For a long run::

    BACKPROP_FUZZ_EXAMPLES=10000 python -m pytest tests/test_data_fuzz.py -q
"""

from __future__ import annotations

import gzip
import io
import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from backprop.data import load_csv, load_idx_dataset, load_npz, parse_idx, read_features
from backprop.data.idx import read_bytes
from backprop.errors import BackpropError

N_EXAMPLES = int(os.environ.get("BACKPROP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=N_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

pytestmark = pytest.mark.usefixtures("inflate")  # both gzip inflaters


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# --------------------------------------------------------------------------- mutation

mutations = st.lists(
    st.tuples(
        st.sampled_from(["flip", "set", "insert", "delete", "truncate", "duplicate"]),
        st.integers(min_value=0, max_value=1 << 20),
        st.integers(min_value=0, max_value=255),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, ops) -> bytes:
    """Apply byte-level mutations (positions taken modulo the current length)."""
    b = bytearray(data)
    for kind, pos, value in ops:
        if not b and kind != "insert":
            continue
        i = pos % max(len(b), 1)
        if kind == "flip":
            b[i] ^= 1 << (value % 8)
        elif kind == "set":
            b[i] = value
        elif kind == "insert":
            b[i:i] = bytes([value])
        elif kind == "delete":
            del b[i]
        elif kind == "truncate":
            del b[i:]
        elif kind == "duplicate":
            b[i:i] = b[i : i + 1 + value % 16]
    return bytes(b)


def check_arrays(ds) -> None:
    """Invariants of any Dataset a reader returns."""
    for X, y in ((ds.X_train, ds.y_train), (ds.X_val, ds.y_val), (ds.X_test, ds.y_test)):
        assert X.dtype == np.float32 and X.ndim == 2 and X.shape[1] == ds.n_features
        assert np.all(np.isfinite(X))
        assert len(y) == len(X)
        if ds.n_classes is not None:
            assert y.dtype == np.int64 and (len(y) == 0 or 0 <= y.min() <= y.max() < ds.n_classes)
        else:
            assert y.dtype == np.float32 and np.all(np.isfinite(y))
    assert len(ds.X_train) >= 1


def read_or_reject(*readers) -> None:
    """Each reader either raises the library's own error or returns valid data."""
    for reader in readers:
        try:
            out = reader()
        except BackpropError as exc:
            event(f"rejected: {type(exc).__name__}")
            continue
        event("accepted")
        if isinstance(out, np.ndarray):
            assert out.dtype == np.float32 and np.all(np.isfinite(out))
        else:
            check_arrays(out)


# --------------------------------------------------------------------------- IDX


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim)
    return header + b"".join(struct.pack(">I", n) for n in array.shape) + array.tobytes()


_rng = np.random.default_rng(0)
IDX_SEEDS = {
    "train-images-idx3-ubyte": _idx(_rng.integers(0, 256, (12, 3, 2), dtype=np.uint8)),
    "train-labels-idx1-ubyte": _idx(_rng.integers(0, 10, 12, dtype=np.uint8)),
    "t10k-images-idx3-ubyte": _idx(_rng.integers(0, 256, (6, 3, 2), dtype=np.uint8)),
    "t10k-labels-idx1-ubyte": _idx(_rng.integers(0, 10, 6, dtype=np.uint8)),
}


@FUZZ
@given(data=st.binary(max_size=256), magic=st.sampled_from([None, 2049, 2051]))
def test_parse_idx_arbitrary_bytes(data, magic):
    try:
        out = parse_idx(data, "fuzz", magic=magic)
    except BackpropError as exc:
        event(f"rejected: {type(exc).__name__}")
        return
    event("accepted")
    assert isinstance(out, np.ndarray) and out.dtype.isnative


@FUZZ
@given(
    stem=st.sampled_from(sorted(IDX_SEEDS)),
    ops=mutations,
    compress=st.booleans(),
    compress_first=st.booleans(),
)
def test_idx_dataset_with_a_mutated_file(scratch, stem, ops, compress, compress_first):
    """A whole MNIST-like directory in which one file (gz or raw) is mutated."""
    directory = scratch / "idx"
    directory.mkdir(exist_ok=True)
    for other in IDX_SEEDS:
        for suffix in ("", ".gz"):
            (directory / f"{other}{suffix}").unlink(missing_ok=True)
    for other, good in IDX_SEEDS.items():
        data = good
        if other == stem:
            # mutate the gzip stream itself, or the IDX bytes before compressing
            data = mutate(gzip.compress(good), ops) if compress_first else mutate(good, ops)
            if compress and not compress_first:
                data = gzip.compress(data)
        name = f"{other}.gz" if data[:2] == b"\x1f\x8b" else other
        (directory / name).write_bytes(data)
    try:
        ds = load_idx_dataset("mnist", directory)
    except BackpropError as exc:
        event(f"rejected: {type(exc).__name__}")
        return
    event("accepted")
    check_arrays(ds)
    assert ds.n_classes == 10 and np.all((ds.X_train >= 0) & (ds.X_train <= 1))


@FUZZ
@given(data=st.binary(max_size=512))
def test_gzip_layer_arbitrary_bytes(scratch, data):
    path = scratch / "any.gz"
    path.write_bytes(b"\x1f\x8b" + data)  # always take the gzip branch
    try:
        read_bytes(path)
    except BackpropError as exc:
        event(f"rejected: {type(exc).__name__}")


# --------------------------------------------------------------------------- CSV

csv_tokens = st.sampled_from(
    ["0", "1", "-2", "3.5", "1e3", "1e39", "nan", "inf", "-inf", "", " ", "x", "label", '"',
     '"4"', ",", ";", "\t", "\n", "\r\n", "\ufeff", "\x00", "0x10", "1_0", "é", "\\"]
)  # fmt: skip


@FUZZ
@given(
    text=st.lists(csv_tokens, max_size=40).map("".join),
    label_column=st.one_of(st.integers(-4, 4), st.sampled_from(["label", "x", "0", "-1"])),
)
def test_csv_token_soup(scratch, text, label_column):
    path = scratch / "soup.csv"
    path.write_text(text, encoding="utf-8")
    read_or_reject(lambda: load_csv(path, label_column=label_column))


numeric_cells = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.floats(-1e3, 1e3).map(lambda x: f"{x:.3g}"),
)
cells = st.one_of(numeric_cells, numeric_cells, numeric_cells, numeric_cells, csv_tokens)


@FUZZ
@given(
    rows=st.integers(1, 8).flatmap(
        lambda width: st.lists(st.lists(cells, min_size=width, max_size=width), max_size=12)
    ),
    header=st.booleans(),
    sep=st.sampled_from([",", "\t", ";"]),
    label_column=st.integers(-3, 3),
    validation_fraction=st.sampled_from([None, 0.0, 0.5]),
)
def test_csv_structured(scratch, rows, header, sep, label_column, validation_fraction):
    """Rectangular tables of mostly numbers with the odd bad cell."""
    lines = [sep.join(row) for row in rows]
    if header and rows:
        lines.insert(0, sep.join(f"c{i}" for i in range(len(rows[0]))))
    path = scratch / "table.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    try:
        ds = load_csv(path, label_column=label_column, validation_fraction=validation_fraction)
    except BackpropError as exc:
        event(f"rejected: {type(exc).__name__}")
        return
    event("accepted")
    check_arrays(ds)
    # without the generated header, a first row with no number in it is read as the
    # header (the reader's documented rule), so it is not an example
    first_is_header = not header and not any(_is_number(c) for c in rows[0])
    assert len(ds.X_train) + len(ds.X_val) + len(ds.X_test) == len(rows) - first_is_header


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip())
    except ValueError:
        return False
    return True


@FUZZ
@given(data=st.binary(max_size=300))
def test_csv_arbitrary_bytes(scratch, data):
    path = scratch / "bytes.csv"
    path.write_bytes(data)
    read_or_reject(lambda: load_csv(path), lambda: read_features(path))


GOOD_CSV = b"a,b,label\n0.5,1,0\n2,3.25,1\n4,5,2\n6,7,1\n8,9,0\n1,1,2\n2,2,1\n3,3,0\n4,4,2\n5,5,1\n"


@FUZZ
@given(ops=mutations)
def test_csv_mutated(scratch, ops):
    path = scratch / "mutated.csv"
    path.write_bytes(mutate(GOOD_CSV, ops))
    read_or_reject(lambda: load_csv(path))


# --------------------------------------------------------------------------- NPZ


def _npz(compressed: bool, **arrays) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


NPZ_SEEDS = [
    _npz(False, X=np.arange(24, dtype=np.float32).reshape(6, 4), y=np.arange(6) % 3),
    _npz(True, X=np.arange(24.0).reshape(6, 2, 2), y=np.arange(6) % 2,
         X_test=np.ones((2, 2, 2)), y_test=np.array([0, 1])),
    _npz(False, X=np.ones((5, 2), np.uint8), y=np.linspace(0, 1, 10).reshape(5, 2)),
]  # fmt: skip


# found by the fuzzers once: an empty X_val of shape (0, 4) used to raise numpy's bare
# ValueError from reshape; a forged header claiming shape (0, 194649001, 5923079486)
EMPTY_X_VAL = _npz(
    False, X=np.ones((5, 4)), y=np.arange(5) % 2, X_val=np.zeros((0, 4)), y_val=np.zeros(0, int)
)
assert EMPTY_X_VAL.startswith(b"PK\x03\x04")  # the example below rebuilds it exactly


@FUZZ
@given(data=st.binary(max_size=600))
@example(data=EMPTY_X_VAL[len(b"PK\x03\x04") :])
def test_npz_arbitrary_bytes(scratch, data):
    path = scratch / "any.npz"
    path.write_bytes(b"PK\x03\x04" + data)
    read_or_reject(lambda: load_npz(path))


@FUZZ
@given(seed=st.sampled_from(range(len(NPZ_SEEDS))), ops=mutations)
def test_npz_mutated(scratch, seed, ops):
    path = scratch / "mutated.npz"
    path.write_bytes(mutate(NPZ_SEEDS[seed], ops))
    read_or_reject(lambda: load_npz(path), lambda: read_features(path))


@FUZZ
@given(
    shape=st.lists(st.integers(-2, 2**40), max_size=4).map(tuple),
    descr=st.sampled_from(["<f8", ">i4", "|u1", "|b1", "<c16", "|O", "<U3", "|V4", "<m8"]),
    fortran=st.booleans(),
    payload=st.binary(max_size=64),
)
@example(shape=(0, 194649001, 5923079486), descr="<f8", fortran=False, payload=b"")
@example(shape=(0, 194649001, 5923079486), descr="|u1", fortran=True, payload=b"\0" * 8)
def test_npz_forged_headers(scratch, shape, descr, fortran, payload):
    """Well-formed zip, NPY headers claiming any shape and dtype: no huge allocation."""
    import zipfile

    header = {"descr": descr, "fortran_order": fortran, "shape": shape}
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("X.npy", npy.getvalue() + payload)
        z.writestr("y.npy", npy.getvalue() + payload)
    path = scratch / "forged.npz"
    path.write_bytes(buffer.getvalue())
    read_or_reject(lambda: load_npz(path))
