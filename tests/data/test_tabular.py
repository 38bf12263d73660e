"""backprop.data CSV and NPZ readers: happy paths and every bad input, table-driven."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backprop.data import load, read_features
from backprop.errors import BackpropError, ConfigError, DataError, DataFileError

# --------------------------------------------------------------------------- CSV happy paths


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def everything(ds):
    """All examples back in one array, in file order is not guaranteed: sort rows."""
    X = np.concatenate([ds.X_train, ds.X_val, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    return X, y


IRIS_LIKE = "sepal,petal,species\n5.1,1.4,0\n4.9,1.4,0\n6.2,4.5,1\n5.9,4.2,1\n6.3,6.0,2\n"


def test_csv_with_header_and_default_last_label_column(tmp_path):
    path = write(tmp_path, "iris.csv", IRIS_LIKE)
    ds = load(str(path), validation_fraction=0.0, test_fraction=0.0)
    assert ds.name == "iris.csv" and ds.n_features == 2 and ds.n_classes == 3
    np.testing.assert_array_equal(
        ds.X_train, np.array([[5.1, 1.4], [4.9, 1.4], [6.2, 4.5], [5.9, 4.2], [6.3, 6.0]], "f4")
    )
    assert ds.y_train.tolist() == [0, 0, 1, 1, 2] and ds.y_train.dtype == np.int64
    assert ds.X_train.dtype == np.float32 and ds.image_shape is None
    assert ds.fingerprint == hashlib.sha256(IRIS_LIKE.encode()).hexdigest()
    assert "species" in ds.source


def test_csv_without_header_label_column_by_index_name_and_string(tmp_path):
    body = "7,1.5,2\n3,2.5,4\n7,3.5,6\n-1,4.5,8\n"
    path = write(tmp_path, "nohead.csv", body)
    ds = load(str(path), label_column=0, validation_fraction=0, test_fraction=0)
    # arbitrary integer labels -1, 3, 7 map to 0, 1, 2; classes keeps the originals
    assert ds.classes.tolist() == [-1, 3, 7] and ds.n_classes == 3
    assert ds.y_train.tolist() == [2, 1, 2, 0]
    np.testing.assert_array_equal(ds.X_train[:, 0], [1.5, 2.5, 3.5, 4.5])
    same = load(str(path), label_column="0", validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(same.y_train, ds.y_train)
    last = load(str(path), label_column=None, validation_fraction=0, test_fraction=0)
    assert last.classes.tolist() == [2, 4, 6, 8]  # None means the default, the last column
    neg = load(str(path), label_column=-3, validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(neg.y_train, ds.y_train)
    named = write(tmp_path, "named.csv", "a,b,c\n" + body)
    by_name = load(str(named), label_column="a", validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(by_name.y_train, ds.y_train)


def test_csv_float_labels_are_regression_targets(tmp_path):
    path = write(tmp_path, "reg.csv", "x,y\n1,0.5\n2,1.5\n3,2.25\n4,3.0\n")
    ds = load(str(path), validation_fraction=0, test_fraction=0)
    assert ds.n_classes is None and ds.classes is None and not ds.is_classification
    assert ds.y_train.shape == (4, 1) and ds.y_train.dtype == np.float32
    assert ds.y_train[:, 0].tolist() == [0.5, 1.5, 2.25, 3.0]
    assert ds.n_outputs == 1


def test_csv_dialects_quotes_blank_lines_bom_crlf(tmp_path):
    expected = np.array([[1, 2], [3, 4], [5, 6]], np.float32)
    for name, text in {
        "tab.csv": "a\tb\tl\r\n1\t2\t0\r\n3\t4\t1\r\n5\t6\t0\r\n",
        "semi.csv": "1;2;0\n3;4;1\n5;6;0\n",
        "quoted.csv": '"feat, one","b","l"\n"1"," 2 ",0\n\n3,4,1\n  \n5,6,0\n\n',
        "bom.csv": "\ufeffa,b,l\n1,2,0\n3,4,1\n5,6,0",
    }.items():
        ds = load(str(write(tmp_path, name, text)), validation_fraction=0, test_fraction=0)
        np.testing.assert_array_equal(ds.X_train, expected, err_msg=name)
        assert ds.y_train.tolist() == [0, 1, 0], name


def test_csv_split_sizes_and_seed(tmp_path):
    rows = "\n".join(f"{i},{i % 3}" for i in range(50))
    path = write(tmp_path, "s.csv", rows + "\n")
    ds = load(str(path))  # defaults: 10 % validation, 20 % test
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (35, 5, 10)
    X, y = everything(ds)
    assert sorted(X[:, 0].tolist()) == list(range(50))
    np.testing.assert_array_equal(y, (X[:, 0].astype(int) % 3))  # rows keep their labels
    again = load(str(path))
    np.testing.assert_array_equal(again.X_val, ds.X_val)
    other = load(str(path), seed=1)
    assert not np.array_equal(other.X_val, ds.X_val)
    assert ds.split == {"rule": "random", "validation_fraction": 0.1, "test_fraction": 0.2,
                        "seed": 0}  # fmt: skip


def test_read_features_csv_and_npz(tmp_path):
    csv_path = write(tmp_path, "in.csv", "a,b\n1,2\n3,4\n")
    np.testing.assert_array_equal(read_features(csv_path), [[1, 2], [3, 4]])
    npz_path = tmp_path / "in.npz"
    np.savez(npz_path, X=np.ones((3, 2, 2), np.uint8))
    X = read_features(npz_path, n_features=4)
    assert X.shape == (3, 4) and X.dtype == np.float32
    with pytest.raises(DataError, match="has 2 features per row but the model expects 3"):
        read_features(csv_path, n_features=3)
    with pytest.raises(DataError, match="drop the label column"):
        read_features(csv_path, n_features=1)
    with pytest.raises(DataFileError, match="give a .csv or .npz"):
        read_features(write(tmp_path, "x.txt", "1,2\n"))


# --------------------------------------------------------------------------- NPZ happy paths


def test_npz_basic_and_not_scaled(tmp_path):
    X = np.arange(40, dtype=np.uint8).reshape(10, 4) * 6
    y = np.array([3, 1, 3, 1, 3, 1, 3, 1, 3, 5])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load(str(tmp_path / "d.npz"), validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(ds.X_train, X.astype(np.float32))  # values as in the file
    assert ds.classes.tolist() == [1, 3, 5] and ds.y_train.tolist() == [
        1,
        0,
        1,
        0,
        1,
        0,
        1,
        0,
        1,
        2,
    ]
    raw = (tmp_path / "d.npz").read_bytes()
    assert ds.fingerprint == hashlib.sha256(raw).hexdigest()


def test_npz_images_explicit_parts_and_shared_classes(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((20, 5, 4))
    X_test = rng.random((4, 5, 4))
    X_val = rng.random((3, 5, 4))
    np.savez_compressed(
        tmp_path / "img.npz",
        X=X, y=np.arange(20) % 2, X_test=X_test, y_test=np.array([0, 1, 7, 7]),
        X_val=X_val, y_val=np.array([1, 1, 0]),
    )  # fmt: skip
    ds = load(str(tmp_path / "img.npz"))
    assert ds.image_shape == (5, 4) and ds.n_features == 20
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (20, 3, 4)
    assert ds.classes.tolist() == [0, 1, 7]
    assert ds.y_test.tolist() == [0, 1, 2, 2]
    np.testing.assert_array_equal(ds.X_test, X_test.reshape(4, 20).astype(np.float32))
    np.testing.assert_array_equal(ds.X_train, X.reshape(20, 20).astype(np.float32))


def test_npz_regression_fortran_bigendian_bool_labels(tmp_path):
    X = np.asfortranarray(np.arange(12.0).reshape(6, 2)).astype(">f8")
    Y = np.linspace(0, 1, 12).reshape(6, 2)
    np.savez(tmp_path / "r.npz", X=X, y=Y)
    ds = load(str(tmp_path / "r.npz"), validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(ds.X_train, np.arange(12.0).reshape(6, 2))
    assert ds.n_classes is None and ds.y_train.shape == (6, 2)
    np.testing.assert_allclose(ds.y_train, Y, rtol=1e-7)
    np.savez(tmp_path / "b.npz", X=np.ones((4, 1)), y=np.array([True, False, True, True]))
    b = load(str(tmp_path / "b.npz"), validation_fraction=0, test_fraction=0)
    assert b.n_classes == 2 and b.y_train.tolist() == [1, 0, 1, 1]
    np.savez(tmp_path / "f.npz", X=np.ones((3, 1)), y=np.array([2.0, 0.0, 1.0]))
    f = load(str(tmp_path / "f.npz"), validation_fraction=0, test_fraction=0)
    assert f.n_classes == 3 and f.y_train.tolist() == [2, 0, 1]


# --------------------------------------------------------------------------- every bad input

CSV_CASES = [
    # (file content, label_column, error type, message pattern)
    ("a,b,l\n1,2,0\n3,x,1\n", -1, DataError, r"row 3, column 2: non-numeric value 'x'"),
    ("1,2,0\n3,,1\n", -1, DataError, r"row 2, column 2: an empty cell"),
    ("1,2,0\n3,4,1\n\n5,six,1\n", -1, DataError, r"row 4, column 2: non-numeric value 'six'"),
    ("1,2,0\n3,nan,1\n", -1, DataError, r"row 2, column 2: 'nan' is not a finite number"),
    ("1,2,0\n3,4,inf\n", -1, DataError, r"row 2, column 3: 'inf' is not a finite number"),
    ("1,-Infinity,0\n3,4,1\n", -1, DataError, r"row 1, column 2: '-Infinity' is not a finite"),
    ("1,NaN\n", 0, DataError, r"row 1, column 2: 'NaN'"),
    ("1,1e39,0\n", -1, DataError, r"too large for float32"),
    ("", -1, DataFileError, r"the file is empty"),
    ("\n  \n\n", -1, DataFileError, r"the file is empty"),
    ("a,b,label\n", -1, DataFileError, r"has a header row but no data rows"),
    ("1,2,0\n3,4\n", -1, DataError, r"row 2 has 2 columns but row 1 has 3"),
    ("a,b,l\n1,2,3,4\n", -1, DataError, r"row 2 has 4 columns but the header has 3"),
    ("1\n2\n", -1, DataError, r"at least one feature column"),
    ("1,2,0\n", 3, ConfigError, r"label_column 3 is out of range for 3 columns"),
    ("1,2,0\n", -4, ConfigError, r"label_column -4 is out of range"),
    ("a,b,l\n1,2,0\n", "species", ConfigError, r"no column named 'species'; columns: a, b, l"),
    ("1,2,0\n", "species", ConfigError, r"\(the file has no header row\)"),
    ("1,2,0\n", 1.5, ConfigError, r"label_column must be a column index or name"),
    (b"1,2,0\n\xff\xfe,1,1\n", -1, DataFileError, r"not a UTF-8 text file"),
    (b"1,2,0\n\x00,1,1\n", -1, DataFileError, r"NUL bytes"),
    ('1,"2,0\n3,4,1\n', -1, DataFileError, r"malformed CSV"),
    ("a,2,0\n3,4,1\n", -1, DataError, r"row 1, column 1.*a header row must have no numeric"),
]


@pytest.mark.parametrize("content, label_column, error, pattern", CSV_CASES)
def test_bad_csv(tmp_path, content, label_column, error, pattern):
    path = write(tmp_path, "bad.csv", content)
    before = path.read_bytes()
    with pytest.raises(error, match=pattern) as e:
        load(str(path), label_column=label_column)
    message = str(e.value)
    assert "\n" not in message and len(message) < 400
    assert isinstance(e.value, BackpropError)
    assert path.read_bytes() == before  # nothing touched


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _truncated_npz() -> bytes:
    return _npz_bytes(X=np.ones((50, 4)), y=np.zeros(50, int))[:700]


def _lying_header_npz() -> bytes:
    """A member whose NPY header claims a shape larger than its data."""
    data = _npy(np.zeros((2, 2))).replace(b"(2, 2)", b"(9, 9)")  # same length: header stays valid
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("X.npy", data)
        z.writestr("y.npy", _npy(np.zeros(2, int)))
    return buffer.getvalue()


def _npy(a) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, a)
    return out.getvalue()


NPZ_CASES = [
    ("not a zip", b"hello, world", DataFileError, r"not an NPZ file"),
    ("empty file", b"", DataFileError, r"not an NPZ file"),
    ("truncated", _truncated_npz(), DataFileError, r"not an NPZ file|corrupt"),
    ("no X", _npz_bytes(features=np.ones((2, 2)), y=np.zeros(2)), DataError,
     r"no array 'X' \(found: features, y\)"),
    ("no y", _npz_bytes(X=np.ones((2, 2))), DataError, r"no array 'y'"),
    ("object array", _npz_bytes(X=np.array([[1, None]], dtype=object), y=np.zeros(1)),
     DataError, r"holds Python objects.*pickle"),
    ("strings", _npz_bytes(X=np.array([["a", "b"]]), y=np.zeros(1)), DataError,
     r"array 'X' has dtype <U1; backprop needs numbers"),
    ("complex", _npz_bytes(X=np.ones((2, 2), complex), y=np.zeros(2)), DataError,
     r"has dtype complex128"),
    ("structured", _npz_bytes(X=np.zeros(2, dtype=[("a", "f4")]), y=np.zeros(2)), DataError,
     r"needs numbers"),
    ("1-D X", _npz_bytes(X=np.ones(5), y=np.zeros(5)), DataError,
     r"X has shape \(5,\); it needs one example per row"),
    ("y length", _npz_bytes(X=np.ones((5, 2)), y=np.zeros(4)), DataError,
     r"y has shape \(4,\) but X has 5 examples"),
    ("X_test alone", _npz_bytes(X=np.ones((5, 2)), y=np.zeros(5), X_test=np.ones((1, 2))),
     DataError, r"X_test and y_test must be given together"),
    ("NaN in X", _npz_bytes(X=np.array([[1.0, np.nan]]), y=np.zeros(1)), DataError,
     r"X\[0, 1\] \(0-based\) = nan is not a finite number"),
    ("inf in y", _npz_bytes(X=np.ones((2, 1)), y=np.array([0.5, np.inf])), DataError,
     r"y\[1\] \(0-based\) = inf is not a finite number"),
    ("too large", _npz_bytes(X=np.array([[1e300]]), y=np.zeros(1)), DataError,
     r"too large for float32"),
    ("width mismatch", _npz_bytes(X=np.ones((5, 2)), y=np.zeros(5), X_test=np.ones((1, 3)),
                                  y_test=np.zeros(1)), DataError,
     r"different numbers of features"),
    ("no examples", _npz_bytes(X=np.ones((0, 2)), y=np.zeros(0)), DataError, r"no examples"),
    ("empty X_val", _npz_bytes(X=np.ones((5, 4)), y=np.arange(5) % 2, X_val=np.zeros((0, 4)),
                               y_val=np.zeros(0, int)), DataError,
     r"X_val is empty; remove it or provide rows"),
    ("empty X_test", _npz_bytes(X=np.ones((5, 4)), y=np.arange(5) % 2,
                                X_test=np.zeros((0, 2, 2)), y_test=np.zeros(0)), DataError,
     r"X_test is empty; remove it or provide rows"),
    ("header lies", _lying_header_npz(), DataFileError, r"corrupt"),
]  # fmt: skip


@pytest.mark.parametrize("case", [c[0] for c in NPZ_CASES])
def test_bad_npz(tmp_path, case):
    _, content, error, pattern = next(c for c in NPZ_CASES if c[0] == case)
    path = write(tmp_path, "bad.npz", content)
    with pytest.raises(error, match=pattern) as e:
        load(str(path))
    assert "\n" not in str(e.value)
    assert path.read_bytes() == content


def test_read_features_of_an_empty_npz(tmp_path):
    path = write(tmp_path, "empty.npz", _npz_bytes(X=np.zeros((0, 4)), y=np.zeros(0)))
    with pytest.raises(DataError, match=r"X is empty; give at least one row to predict on"):
        read_features(path)


def test_bad_fractions(tmp_path):
    path = write(tmp_path, "d.csv", "1,0\n2,1\n3,0\n")
    with pytest.raises(ConfigError, match=r"validation_fraction must be in \[0, 1\)"):
        load(str(path), validation_fraction=-0.5)
    with pytest.raises(ConfigError, match="test_fraction"):
        load(str(path), test_fraction=1.5)
    with pytest.raises(DataError, match="leave none for training"):
        load(str(path), validation_fraction=0.5, test_fraction=0.4)


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataFileError, match="is a directory"):
        load(str(tmp_path / "dir.csv"))


# --------------------------------------------------------------------------- round trips

BIG = float(np.float32(1e30))
finite32 = st.floats(-BIG, BIG, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(
    X=hnp.arrays(np.float32, st.tuples(st.integers(1, 12), st.integers(1, 5)), elements=finite32),
    labels=st.lists(st.integers(-3, 3), min_size=12, max_size=12),
    header=st.booleans(),
)
def test_csv_round_trip(tmp_path_factory, X, labels, header):
    """Whatever NumPy writes with savetxt reads back exactly (float32), labels mapped."""
    y = np.array(labels[: len(X)])
    path = tmp_path_factory.mktemp("rt") / "rt.csv"
    names = ",".join(f"f{i}" for i in range(X.shape[1])) + ",label" if header else ""
    np.savetxt(path, np.column_stack([X.astype(np.float64), y]), delimiter=",",
               fmt="%.9g", header=names, comments="")  # fmt: skip
    ds = load(str(path), validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(ds.X_train, X)
    classes = np.unique(y)
    np.testing.assert_array_equal(ds.classes, classes)
    np.testing.assert_array_equal(ds.classes[ds.y_train], y)


@settings(max_examples=60, deadline=None)
@given(
    X=hnp.arrays(
        st.sampled_from([np.uint8, np.int32, np.float32, np.float64, ">f8"]),
        st.tuples(st.integers(1, 10), st.integers(1, 4), st.integers(1, 3)),
        elements=st.integers(0, 200),
    ),
    compressed=st.booleans(),
)
def test_npz_round_trip(tmp_path_factory, X, compressed):
    y = np.arange(len(X)) % 3
    path = tmp_path_factory.mktemp("rt") / "rt.npz"
    (np.savez_compressed if compressed else np.savez)(path, X=X, y=y)
    ds = load(str(path), validation_fraction=0, test_fraction=0)
    np.testing.assert_array_equal(ds.X_train, X.reshape(len(X), -1).astype(np.float32))
    np.testing.assert_array_equal(ds.y_train, y)  # labels 0, 1, 2 map to themselves
    assert ds.image_shape == X.shape[1:]
