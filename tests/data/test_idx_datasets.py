"""backprop.data: built-in datasets, the IDX reader (real files and malformed bytes), splits.

Expected numbers come from the dataset publishers (shared/data/README.md: counts, first
labels, label counts, MD5 of the uncompressed files), not from the code under test.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from backprop.data import Dataset, load, one_hot, parse_idx, read_idx, split_indices
from backprop.data.datasets import FILES, default_dir, load_idx_dataset
from backprop.data.idx import read_images_float32
from backprop.errors import BackpropError, ConfigError, DataError, DataFileError
from support import FASHION, MNIST, needs_fashion, needs_mnist


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file written by hand from the format description: 0, 0, type, ndim, sizes."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.astype(">u1" if type_code == 0x08 else array.dtype).tobytes()


def write_idx_dir(directory: Path, n_train=12, n_test=6, rows=3, cols=2, gz=True, seed=0):
    """A tiny MNIST-like directory; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, a in arrays.items():
        data = idx_bytes(a)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return arrays


# --------------------------------------------------------------------------- real MNIST


@pytest.fixture(scope="module")
def mnist() -> Dataset:
    return load(f"mnist:{MNIST}")


@needs_mnist
def test_mnist_counts_and_book_split(mnist):
    assert mnist.X_train.shape == (50000, 784)
    assert mnist.X_val.shape == (10000, 784)
    assert mnist.X_test.shape == (10000, 784)
    assert mnist.y_train.shape == (50000,) and mnist.y_test.shape == (10000,)
    assert mnist.X_train.dtype == np.float32 and mnist.y_train.dtype == np.int64
    assert mnist.n_features == 784 and mnist.n_classes == 10 and mnist.image_shape == (28, 28)
    assert list(mnist.classes) == list(range(10))
    assert mnist.class_names is None


@needs_mnist
def test_mnist_first_labels_and_counts(mnist):
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    all_train = np.concatenate([mnist.y_train, mnist.y_val])  # the 60,000 in file order
    counts = np.bincount(all_train, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@needs_mnist
def test_mnist_pixels_reproduce_published_md5(mnist):
    # Rebuild the uncompressed IDX files from the float pixels: the MD5s are the publisher's.
    def md5_of(X, n):
        pixels = np.rint(X * 255).astype(np.uint8)
        return hashlib.md5(struct.pack(">IIII", 2051, n, 28, 28) + pixels.tobytes()).hexdigest()

    train = np.concatenate([mnist.X_train, mnist.X_val])
    assert md5_of(train, 60000) == "6bbc9ace898e44ae57da46a324031adb"
    assert md5_of(mnist.X_test, 10000) == "2646ac647ad5339dbf082846283269ea"
    labels = np.concatenate([mnist.y_train, mnist.y_val]).astype(np.uint8)
    assert (
        hashlib.md5(struct.pack(">II", 2049, 60000) + labels.tobytes()).hexdigest()
        == "a25bea736e30d166cdddb491f175f624"
    )
    # pixels / 255 exactly (float32), in [0, 1]
    assert mnist.X_train.min() == 0.0 and mnist.X_train.max() == 1.0
    ints = np.rint(mnist.X_test * 255).astype(np.uint8)
    np.testing.assert_array_equal(mnist.X_test, ints.astype(np.float32) / np.float32(255))


@needs_mnist
def test_mnist_fingerprint_is_stable_and_independent_of_compression(mnist, tmp_path):
    assert len(mnist.fingerprint) == 64 and int(mnist.fingerprint, 16) >= 0
    assert load(f"mnist:{MNIST}").fingerprint == mnist.fingerprint
    # the same data uncompressed (labels) + gz (images) gives the same fingerprint
    for stem in FILES:
        src = MNIST / f"{stem}.gz"
        if "labels" in stem:
            (tmp_path / stem).write_bytes(gzip.decompress(src.read_bytes()))
        else:
            (tmp_path / f"{stem}.gz").symlink_to(src)
    same = load(f"mnist:{tmp_path}")
    assert same.fingerprint == mnist.fingerprint
    assert same.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


@needs_mnist
def test_mnist_arrays_are_lean_views(mnist):
    # train and validation share one float32 buffer; each part is C-contiguous
    assert mnist.X_train.flags.c_contiguous and mnist.X_val.flags.c_contiguous
    assert np.shares_memory(mnist.X_train.base, mnist.X_val.base) or (
        mnist.X_train.base is mnist.X_val.base
    )


@needs_mnist
def test_mnist_load_time_and_memory():
    import tracemalloc

    t0 = time.process_time()  # CPU time: not inflated by other processes on a shared machine
    load(f"mnist:{MNIST}")
    seconds = time.process_time() - t0
    assert seconds < 3.0  # typically 0.35-0.6 s; generous for a slow CI machine
    tracemalloc.start()
    try:
        ds = load(f"mnist:{MNIST}")
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    final = sum(a.nbytes for a in (ds.X_test, ds.y_train, ds.y_val, ds.y_test))
    final += (ds.X_train.shape[0] + ds.X_val.shape[0]) * 784 * 4
    # the images are decompressed into their floats' own memory (idx.read_images_float32):
    # the peak is the final arrays and one compressed file (10 MB) at most (measured: final +
    # 3 MB; with each file's bytes beside its floats + 15 MB, with all four files' + 55 MB)
    assert peak < final + 11e6, (peak, final)


@pytest.mark.usefixtures("inflate")
@needs_mnist
def test_gunzip_holds_the_images_once():
    """The 47 MB of training images are decompressed into one buffer of the size the IDX
    header declares: no 1 MiB pieces joined into a second copy (which also stayed in
    the C heap after they were freed)."""
    import tracemalloc

    from backprop.data.idx import read_bytes

    path = Path(MNIST) / "train-images-idx3-ubyte.gz"
    tracemalloc.start()
    try:
        data = read_bytes(path, idx=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(data) == 16 + 60_000 * 28 * 28
    compressed = path.stat().st_size
    assert peak < len(data) + compressed + 2e6, (peak, len(data), compressed)


@needs_mnist
def test_mnist_validation_fraction_takes_the_end_of_the_training_file(mnist):
    ds = load(f"mnist:{MNIST}", validation_fraction=0.5)
    assert ds.X_train.shape[0] == 30000 and ds.X_val.shape[0] == 30000
    np.testing.assert_array_equal(ds.y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(ds.y_val[-1000:], mnist.y_val[-1000:])
    none = load(f"mnist:{MNIST}", validation_fraction=0.0)
    assert none.X_train.shape == (60000, 784) and none.X_val.shape == (0, 784)


@needs_fashion
def test_fashion_mnist_real_files():
    ds = load(f"fashion-mnist:{FASHION}")
    assert ds.name == "fashion-mnist"
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (50000, 10000, 10000)
    assert ds.y_train[:10].tolist() == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
    assert ds.y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    all_train = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(all_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.image_shape == (28, 28) and ds.X_train.dtype == np.float32


@needs_mnist
def test_read_idx_real_label_file():
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz", magic=2049)
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


# --------------------------------------------------------------------------- digits


def test_digits_shapes_scaling_and_split():
    from sklearn.datasets import load_digits

    ds = load("digits")
    raw = load_digits()
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1258, 180, 359)  # 70/10/20 %
    assert ds.n_features == 64 and ds.n_classes == 10 and ds.image_shape == (8, 8)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    # every example appears exactly once across the three parts, scaled by 1/16
    X = np.concatenate([ds.X_train, ds.X_val, ds.X_test]) * 16
    y = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    order_ours = np.lexsort(np.column_stack([X, y]).T)
    order_raw = np.lexsort(np.column_stack([raw.data, raw.target]).T)
    np.testing.assert_array_equal(X[order_ours], raw.data[order_raw])
    np.testing.assert_array_equal(y[order_ours], raw.target[order_raw])


def test_digits_without_the_bundled_csv_falls_back_to_sklearn(monkeypatch):
    import importlib.util

    fast = load("digits")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    slow = load("digits")
    assert slow.fingerprint == fast.fingerprint
    np.testing.assert_array_equal(slow.X_train, fast.X_train)


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    import importlib.util
    import sys

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import fails
    with pytest.raises(ConfigError, match=r"scikit-learn, which is not installed; pip install"):
        load("digits")


def test_digits_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import sys, backprop.data as d; d.load('digits'); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # importing sklearn.datasets costs ~1 s


def test_digits_split_is_seeded():
    a, b, c = load("digits", seed=1), load("digits", seed=1), load("digits", seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert a.fingerprint == c.fingerprint  # the source is the same
    import json

    assert json.loads(json.dumps(a.summary()))["split"] == {
        "rule": "random", "validation_fraction": 0.1, "test_fraction": 0.2, "seed": 1
    }  # fmt: skip
    d = load("digits", validation_fraction=0.2, test_fraction=0.2)
    assert (len(d.y_train), len(d.y_val), len(d.y_test)) == (
        1079,
        359,
        359,
    )  # round(0.2 * 1797) = 359


# --------------------------------------------------------------------------- IDX: synthetic dirs


@pytest.mark.usefixtures("inflate")
def test_tiny_idx_dir_roundtrip_gz_and_raw(tmp_path):
    for gz in (True, False):
        d = tmp_path / f"gz{gz}"
        arrays = write_idx_dir(d, gz=gz)
        ds = load_idx_dataset("mnist", d)
        X = np.concatenate([ds.X_train, ds.X_val])
        expected = arrays["train-images-idx3-ubyte"].reshape(12, 6) / np.float32(255)
        np.testing.assert_array_equal(X, expected.astype(np.float32))
        np.testing.assert_array_equal(
            np.concatenate([ds.y_train, ds.y_val]), arrays["train-labels-idx1-ubyte"]
        )
        assert len(ds.y_val) == 2  # 1/6 of 12, as 10,000 of 60,000
        assert ds.image_shape == (3, 2)


def test_original_site_file_names_accepted(tmp_path):
    arrays = write_idx_dir(tmp_path, gz=False)
    for stem in arrays:
        (tmp_path / stem).rename(tmp_path / stem.replace("-idx", ".idx"))
    assert load(f"mnist:{tmp_path}").X_test.shape == (6, 6)


def test_missing_files_say_which_and_where(tmp_path):
    with pytest.raises(DataFileError) as e:
        load(f"mnist:{tmp_path / 'nowhere'}")
    msg = str(e.value)
    assert "does not exist" in msg and "train-images-idx3-ubyte.gz" in msg and "download" in msg
    write_idx_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataFileError, match=r"lacks t10k-labels-idx1-ubyte\.gz"):
        load(f"mnist:{tmp_path}")


def test_default_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_dir("mnist") == tmp_path / ".cache" / "backprop" / "mnist"
    with pytest.raises(DataFileError, match=r"\.cache/backprop/fashion-mnist"):
        load("fashion-mnist")
    write_idx_dir(tmp_path / ".cache" / "backprop" / "mnist")
    assert load("mnist").source == str(tmp_path / ".cache" / "backprop" / "mnist")


def _corrupt(tmp_path, stem, data: bytes):
    write_idx_dir(tmp_path)
    (tmp_path / f"{stem}.gz").write_bytes(data)
    return tmp_path / f"{stem}.gz"


MALFORMED = {
    "truncated gzip": (
        "train-images-idx3-ubyte",
        lambda good: gzip.compress(good)[:-20],
        r"truncated gzip",
    ),
    "corrupt gzip": (
        "train-labels-idx1-ubyte",
        lambda good: gzip.compress(good)[:10] + b"\xff" * 30,
        r"gzip",
    ),
    "wrong magic (labels in images' place)": (
        "train-images-idx3-ubyte",
        lambda good: gzip.compress(idx_bytes(np.zeros(12, np.uint8))),
        r"wrong IDX magic number 2049 \(expected 2051",
    ),
    "wrong magic type": (
        "t10k-labels-idx1-ubyte",
        lambda good: gzip.compress(b"\x00\x00\x07\x01" + good[4:]),
        r"wrong IDX magic number",
    ),
    "truncated data": (
        "t10k-images-idx3-ubyte",
        lambda good: gzip.compress(good[:-1]),
        r"truncated: header says 6 x 3 x 2 items \(52 bytes\) but the file has 51",
    ),
    "extra bytes": (
        "t10k-labels-idx1-ubyte",
        lambda good: gzip.compress(good + b"\x00"),
        r"extra bytes",
    ),
    "extra bytes after the images": (
        "train-images-idx3-ubyte",
        lambda good: gzip.compress(good + b"\x07"),
        r"extra bytes after the 12 x 3 x 2 items \(88 bytes\)",
    ),
    "truncated header": (
        "train-images-idx3-ubyte",
        lambda good: gzip.compress(good[:9]),
        r"truncated IDX header",
    ),
    "too short": ("train-images-idx3-ubyte", lambda good: b"\x00\x00", r"too short"),
    "empty": ("train-labels-idx1-ubyte", lambda good: b"", r"too short"),
    "count mismatch": (
        "train-labels-idx1-ubyte",
        lambda good: gzip.compress(idx_bytes(np.zeros(11, np.uint8))),
        r"has 12 images but .*train-labels.* has 11 labels",
    ),
}


@pytest.mark.usefixtures("inflate")
@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_idx_files(tmp_path, case):
    stem, make, pattern = MALFORMED[case]
    arrays = write_idx_dir(tmp_path / "good")
    good = idx_bytes(arrays[stem])
    path = _corrupt(tmp_path / "bad", stem, make(good))
    with pytest.raises(DataFileError, match=pattern) as e:
        load(f"mnist:{tmp_path / 'bad'}")
    assert str(path) in str(e.value) or "labels" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.usefixtures("inflate")
@pytest.mark.parametrize("shape, gz", [((12, 3, 2), True), ((3, 2, 2), True), ((12, 3, 2), False)])
def test_images_read_as_float32_in_place_equal_the_plain_conversion(tmp_path, shape, gz):
    """72 pixels in the floats' own memory; 12 pixels (under 16) and an uncompressed file the
    plain way: each equals read_idx / 255 in float32, and on_bytes sees the whole file."""
    images = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    data = idx_bytes(images)
    path = tmp_path / "images"
    path.write_bytes(gzip.compress(data) if gz else data)
    seen = []
    X = read_images_float32(path, on_bytes=lambda b: seen.append(bytes(b)))
    expected = images.astype(np.float32) / np.float32(255)
    assert X.dtype == np.float32 and X.shape == shape and X.flags.c_contiguous
    np.testing.assert_array_equal(X, expected)  # the same float32 division, bit for bit
    assert seen == [data]


@pytest.mark.usefixtures("inflate")
def test_images_bomb_stops_at_the_declared_size(tmp_path):
    import tracemalloc

    # 2 images of 3 x 3 declared, then 64 MB of zeros: 64 KB compressed
    bomb = idx_bytes(np.zeros((2, 3, 3), np.uint8)) + bytes(64 << 20)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(bomb, compresslevel=9))
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match="extra bytes after the 2 x 3 x 3 items"):
            read_images_float32(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # never holds the 64 MB


@pytest.mark.usefixtures("inflate")
def test_gzip_bomb_is_not_decompressed(tmp_path):
    import tracemalloc

    # a labels file declaring 2 items followed by 64 MB of zeros: 64 KB compressed
    bomb = gzip.compress(idx_bytes(np.zeros(2, np.uint8)) + bytes(64 << 20), compresslevel=9)
    path = tmp_path / "bomb.gz"
    path.write_bytes(bomb)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match="extra bytes after the 2 items"):
            read_idx(path, magic=2049)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20  # never holds the 64 MB
    # a header claiming far more data than the compressed size allows: truncated, at once
    claim = gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 4_000_000_000) + bytes(100))
    path.write_bytes(claim)
    with pytest.raises(DataFileError, match="truncated"):
        read_idx(path)


def test_image_shape_mismatch_between_train_and_test(tmp_path):
    write_idx_dir(tmp_path)
    other = np.zeros((6, 2, 3), np.uint8)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(other)))
    with pytest.raises(DataFileError, match="3 x 2 but test images are 2 x 3"):
        load(f"mnist:{tmp_path}")


def test_labels_out_of_range(tmp_path):
    write_idx_dir(tmp_path)
    labels = np.array([1, 2, 3, 10, 0, 0], np.uint8)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(DataError, match=r"label 10 at index 3 is out of range 0\.\.9") as e:
        load(f"mnist:{tmp_path}")
    assert not isinstance(e.value, DataFileError) or isinstance(e.value, DataError)


def test_parse_idx_other_types():
    a = (np.arange(6) - 3).astype(">i4").reshape(2, 3)
    data = struct.pack(">BBBBII", 0, 0, 0x0C, 2, 2, 3) + a.tobytes()
    out = parse_idx(data)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, [[-3, -2, -1], [0, 1, 2]])
    f = np.array([1.5, -2.25], dtype=">f8")
    out = parse_idx(struct.pack(">BBBBI", 0, 0, 0x0E, 1, 2) + f.tobytes())
    np.testing.assert_array_equal(out, [1.5, -2.25])
    with pytest.raises(DataFileError, match="not an IDX file"):
        parse_idx(b"\x01\x00\x08\x01\x00\x00\x00\x00")
    with pytest.raises(DataFileError, match="0 dimensions"):
        parse_idx(b"\x00\x00\x08\x00")


def test_read_idx_missing_and_directory(tmp_path):
    with pytest.raises(DataFileError, match="file not found"):
        read_idx(tmp_path / "nope.gz")
    with pytest.raises(DataFileError, match="directory"):
        read_idx(tmp_path)


def test_idx_validation_fraction_and_errors(tmp_path):
    write_idx_dir(tmp_path)
    ds = load(f"mnist:{tmp_path}", validation_fraction=0.25)
    assert (len(ds.y_train), len(ds.y_val)) == (9, 3)
    with pytest.raises(ConfigError, match=r"validation_fraction must be in \[0, 1\)"):
        load(f"mnist:{tmp_path}", validation_fraction=1.0)
    with pytest.raises(ConfigError, match="test_fraction does not apply"):
        load(f"mnist:{tmp_path}", test_fraction=0.1)


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    "spec, error, pattern",
    [
        ("cifar", ConfigError, "unknown data 'cifar'; use digits, mnist"),
        ("digits:/x", ConfigError, "unknown data"),
        ("data.txt", ConfigError, r"\.csv or \.npz"),
        ("missing.csv", DataFileError, "file not found"),
        ("missing.npz", DataFileError, "file not found"),
    ],
)
def test_bad_specs(spec, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=pattern):
        load(spec)


def test_download_only_for_idx_datasets():
    with pytest.raises(ConfigError, match="download applies to mnist and fashion-mnist only"):
        load("digits", download=True)


def test_spec_accepts_pathlike(tmp_path):
    (tmp_path / "d.csv").write_text("1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,9,1\n")
    assert load(tmp_path / "d.csv").n_features == 2
    with pytest.raises(ConfigError, match="must be a string or path"):
        load(123)


# --------------------------------------------------------------------------- splits, one-hot


def test_split_indices_partition_and_sizes():
    rng = np.random.default_rng(0)
    train, val, test = split_indices(100, validation_fraction=0.15, test_fraction=0.25, rng=rng)
    assert (len(train), len(val), len(test)) == (60, 15, 25)
    together = np.sort(np.concatenate([train, val, test]))
    np.testing.assert_array_equal(together, np.arange(100))
    for part in (train, val, test):
        assert np.all(np.diff(part) > 0)
    with pytest.raises(DataError, match="leave none for training"):
        split_indices(3, validation_fraction=0.5, test_fraction=0.4, rng=rng)
    for bad in (-0.1, 1.0, float("nan"), "x"):
        with pytest.raises(ConfigError):
            split_indices(10, validation_fraction=bad, rng=rng)


def test_one_hot():
    out = one_hot([2, 0, 1], 4, dtype=np.float32)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert one_hot(np.array([1.0, 0.0]), 2).tolist() == [[0, 1], [1, 0]]
    assert one_hot(np.array([], dtype=np.int64), 3).shape == (0, 3)
    with pytest.raises(DataError, match=r"labels must be in 0\.\.2, found 0\.\.3"):
        one_hot([0, 3], 3)
    with pytest.raises(DataError, match="must be integers"):
        one_hot([0.5], 3)
    with pytest.raises(DataError, match="must be integers"):
        one_hot([float("nan")], 3)
    with pytest.raises(DataError, match="1-D"):
        one_hot([[0]], 3)
    with pytest.raises(ConfigError):
        one_hot([0], 0)


def test_every_error_is_a_backprop_error():
    for cls in (DataError, DataFileError, ConfigError):
        assert issubclass(cls, BackpropError)
    assert issubclass(DataFileError, OSError) and issubclass(DataError, ValueError)
