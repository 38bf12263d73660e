"""The user's own data: CSV and NPZ files.

CSV: numbers separated by commas (or tabs or semicolons, detected from the
first line), one example per row, an optional header row (detected: a first
row in which no cell is a number), and one label column (``label_column``:
an index, negative from the end, default the last; or a header name).

NPZ: arrays ``X`` (m, n_features) or (m, rows, cols) and ``y`` (m,) or (m, k);
optionally ``X_val``/``y_val`` and ``X_test``/``y_test``. Loaded without
pickle, always.

Labels: a label column (or ``y``) of integer values is a classification
target; its distinct values, sorted, become class indices 0..k-1 and are kept
in ``Dataset.classes``. Anything else is a regression target. Features are
used as they are in the file: nothing is scaled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import lzma
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._files import read_regular_file
from ..errors import ConfigError, DataError, DataFileError
from .dataset import Dataset
from .splits import check_fraction, random_split_info, split_indices

__all__ = ["load_csv", "load_npz", "read_csv_table", "read_features", "read_npz_arrays"]

DEFAULT_VALIDATION_FRACTION = 0.1
DEFAULT_TEST_FRACTION = 0.2


# --------------------------------------------------------------------------- reading


def _read(path: Path) -> bytes:
    """The file's bytes: a regular file within the size limit (see :mod:`backprop._files`)."""
    if path.is_dir():
        raise DataFileError(f"{path}: is a directory; give a .csv or .npz file")
    return read_regular_file(path, DataFileError, what="data files")


def _cell_float(cell: str) -> float | None:
    """The number in a CSV cell, or None if it is not one."""
    text = cell.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def read_csv_table(raw: bytes, name: str) -> tuple[list[str] | None, np.ndarray]:
    """Parse CSV bytes into (header or None, float64 array of shape (rows, columns)).

    Every cell must be a finite number; the first failing cell raises a
    DataError naming its row and column as a spreadsheet shows them (1-based,
    counting the header row).
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{name}: not a UTF-8 text file (undecodable byte at offset {exc.start}); "
            "save the CSV as UTF-8"
        ) from None
    if "\0" in text:
        raise DataFileError(f"{name}: contains NUL bytes; this is not a CSV text file")
    lines = text.splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise DataFileError(f"{name}: the file is empty; it needs one example per row")
    first = numbered[0][1]
    delimiter = ","
    if "," not in first:
        if "\t" in first:
            delimiter = "\t"
        elif ";" in first:
            delimiter = ";"
    first_row = _split_rows([first], delimiter, name)[0]
    header = None
    if all(_cell_float(c) is None for c in first_row):
        header = [c.strip() for c in first_row]
        numbered = numbered[1:]
        if not numbered:
            raise DataFileError(f"{name}: has a header row but no data rows")
    width = len(first_row)

    try:  # fast path: NumPy's C parser
        values = np.loadtxt(
            io.StringIO("\n".join(line for _, line in numbered)),
            delimiter=delimiter,
            dtype=np.float64,
            ndmin=2,
            comments=None,
            quotechar='"',
        )
        fast = values.shape == (len(numbered), width)
    except (ValueError, TypeError, OverflowError):
        fast = False
    if not fast:  # slow path: find the first bad row or cell, to say where it is
        rows = _split_rows([line for _, line in numbered], delimiter, name)
        values = _parse_rows(rows, numbered, header, width, name)
    if not np.all(np.isfinite(values)):
        r, c = (int(i) for i in np.argwhere(~np.isfinite(values))[0])
        cell = _split_rows([numbered[r][1]], delimiter, name)[0][c].strip()
        raise DataError(
            f"{name}: row {numbered[r][0]}, column {c + 1}: {cell!r} is not a "
            "finite number; remove or fill in missing values"
        )
    return header, values


def _split_rows(lines: list[str], delimiter: str, name: str) -> list[list[str]]:
    """Cells of each line (CSV quoting rules)."""
    try:
        rows = list(csv.reader(lines, delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise DataFileError(f"{name}: malformed CSV ({exc}); check the quoting") from None
    if len(rows) != len(lines):  # a quoted field spanning lines
        raise DataFileError(f"{name}: malformed CSV (a quoted field spans lines)")
    return rows


def _parse_rows(rows, numbered, header, width: int, name: str) -> np.ndarray:
    values = np.empty((len(rows), width), dtype=np.float64)
    for r, ((lineno, _), row) in enumerate(zip(numbered, rows)):
        if len(row) != width:
            by = "the header has" if header is not None else f"row {numbered[0][0]} has"
            raise DataError(
                f"{name}: row {lineno} has {len(row)} columns but {by} {width}; "
                "every row needs the same columns"
            )
        for c, cell in enumerate(row):
            x = _cell_float(cell)
            if x is None:
                shown = cell.strip()
                what = "an empty cell" if not shown else f"non-numeric value {shown[:40]!r}"
                hint = " (a header row must have no numeric cells)" if lineno == 1 else ""
                raise DataError(
                    f"{name}: row {lineno}, column {c + 1}: {what}; every cell must be a number"
                    + hint
                )
            values[r, c] = x
    return values


def _label_index(label_column, header: list[str] | None, width: int, name: str) -> int:
    """Resolve ``label_column`` (int, numeric string, or header name) to a column index."""
    if label_column is None:
        label_column = -1
    if isinstance(label_column, str):
        if header is not None and label_column in header:
            return header.index(label_column)
        try:
            label_column = int(label_column)
        except ValueError:
            names = ", ".join(header) if header is not None else "(the file has no header row)"
            raise ConfigError(
                f"{name}: no column named {label_column!r}; columns: {names}"
            ) from None
    if isinstance(label_column, bool) or not isinstance(label_column, (int, np.integer)):
        raise ConfigError(f"label_column must be a column index or name, got {label_column!r}")
    index = int(label_column)
    if not -width <= index < width:
        raise ConfigError(
            f"{name}: label_column {index} is out of range for {width} columns "
            f"(use 0..{width - 1}, or -1 for the last)"
        )
    return index % width


def _encode_targets(y: np.ndarray, name: str, what: str = "y"):
    """(targets, n_classes, classes): integer labels -> class indices, else float regression.

    A 1-D ``y`` whose values are all integers (whatever its dtype) is a class label
    vector: its sorted distinct values become ``classes`` and each label is replaced by
    its index there. Anything else is a float32 regression target of shape (m, k).
    """
    if y.ndim == 1 and y.dtype.kind in "biu":
        classes, index = np.unique(y, return_inverse=True)
        return index.astype(np.int64).reshape(-1), len(classes), classes.astype(np.int64)
    if y.ndim == 1 and y.dtype.kind == "f" and y.size:
        with np.errstate(invalid="ignore"):
            integral = bool(np.all(np.mod(y, 1) == 0) and np.all(np.abs(y) <= 2.0**53))
        if integral:
            classes, index = np.unique(y, return_inverse=True)
            return index.astype(np.int64).reshape(-1), len(classes), classes.astype(np.int64)
    targets = _float32(y.reshape(y.shape[0], -1), what, name)
    return targets, None, None


def _float32(a: np.ndarray, what: str, name: str) -> np.ndarray:
    """``a`` as float32, or a DataError naming the first NaN/inf or too-large value."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = a.astype(np.float32)
    if not np.all(np.isfinite(out)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(out))[0])
        where = ", ".join(str(i) for i in bad)
        value = a[bad]
        why = "is not a finite number" if not np.isfinite(value) else "is too large for float32"
        raise DataError(
            f"{name}: {what}[{where}] (0-based) = {value} {why}; the data must be finite numbers "
            "(remove or fill in missing values)"
        )
    return out


# --------------------------------------------------------------------------- CSV


def load_csv(
    path: str | Path,
    *,
    label_column=-1,
    validation_fraction: float | None = None,
    test_fraction: float | None = None,
    seed=0,
) -> Dataset:
    """A dataset from a numeric CSV file: one example per row, one label column.

    The rows are split at random with ``seed``: by default 70 % train, 10 %
    validation (``validation_fraction``), 20 % test (``test_fraction``).
    """
    path = Path(path).expanduser()
    raw = _read(path)
    # text labels, a pandas index column, decimal-comma hints: data/tables.py
    from .tables import read_labelled_csv

    header, table, col, text_labels, notes = read_labelled_csv(raw, str(path), label_column)
    X = _float32(np.delete(table, col, axis=1), "X", str(path))
    if text_labels is not None:  # class names as written: sorted, indices 0..k-1
        classes, index = np.unique(text_labels, return_inverse=True)
        y, n_classes = index.astype(np.int64).reshape(-1), len(classes)
    else:
        y, n_classes, classes = _encode_targets(table[:, col], str(path))
    label_name = header[col] if header is not None else f"column {col + 1}"
    dataset = _split_dataset(
        path.name,
        X,
        y,
        n_classes=n_classes,
        classes=classes,
        fingerprint=hashlib.sha256(raw).hexdigest(),
        source=f"{path} (label: {label_name})",
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    dataset.notes = notes
    return dataset


def _split_dataset(
    name, X, y, *, n_classes, classes, fingerprint, source, validation_fraction,
    test_fraction, seed, image_shape=None, explicit=None,
) -> Dataset:  # fmt: skip
    """Split (X, y) at random; ``explicit`` may supply "val"/"test" (X, y) pairs instead."""
    explicit = explicit or {}
    v = DEFAULT_VALIDATION_FRACTION if validation_fraction is None else validation_fraction
    t = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
    if "val" in explicit:
        v = 0.0
    if "test" in explicit:
        t = 0.0
    rng = np.random.default_rng(seed)
    train, val, test = split_indices(len(X), validation_fraction=v, test_fraction=t, rng=rng)
    X_val, y_val = explicit.get("val", (X[val], y[val]))
    X_test, y_test = explicit.get("test", (X[test], y[test]))
    split = random_split_info(v, t, seed)
    for part in explicit:
        split[part] = f"from the file's X_{part}, y_{part}"
    return Dataset(
        name=name,
        X_train=np.ascontiguousarray(X[train]),
        y_train=y[train],
        X_val=np.ascontiguousarray(X_val),
        y_val=y_val,
        X_test=np.ascontiguousarray(X_test),
        y_test=y_test,
        n_classes=n_classes,
        classes=classes,
        image_shape=image_shape,
        fingerprint=fingerprint,
        source=source,
        split=split,
    )


# --------------------------------------------------------------------------- NPZ

#: numeric dtype kinds accepted in NPZ arrays: bool, signed, unsigned, float
_NUMERIC_KINDS = "biuf"
#: what zipfile and numpy's NPY header parser raise on malformed bytes: a corrupt zip
#: directory, bad CRC, truncated or invalid deflate/bzip2/lzma stream, an encrypted or
#: unsupported member, a header that is not a valid Python literal
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    SyntaxError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    lzma.LZMAError,
)
#: generous bound on deflate's compression ratio (max ~1032:1), against size lies
_MAX_RATIO = 1100


def read_npz_arrays(raw: bytes, name: str, wanted=None, required=()) -> dict[str, np.ndarray]:
    """Numeric arrays of an NPZ archive's bytes, read without pickle.

    ``wanted`` (default all) selects the arrays to read; a name in ``required``
    that the archive lacks raises a DataError listing what it holds.

    Each member's NPY header is checked before anything is allocated: the
    dtype must be numeric and the declared shape must match the member's size.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except _ARCHIVE_ERRORS as exc:
        raise DataFileError(
            f"{name}: not an NPZ file ({exc}); save it with numpy.savez(path, X=..., y=...)"
        ) from None
    arrays = {}
    with archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[: -len(".npy")]
            if wanted is not None and key not in wanted:
                continue
            arrays[key] = _read_member(archive, info, key, name, len(raw))
        names = [i.filename.removesuffix(".npy") for i in archive.infolist()]
    for key in required:
        if key not in arrays:
            found = ", ".join(names[:20]) or "none"
            raise DataError(
                f"{name}: no array {key!r} (found: {found}); save with "
                "numpy.savez(path, X=features, y=labels)"
            )
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key, name, total) -> np.ndarray:
    bad = f"{name}: array {key!r} is corrupt"
    too_big = info.file_size > info.compress_size * _MAX_RATIO + 4096
    if too_big or info.compress_size > total:
        raise DataFileError(f"{bad} (its sizes in the archive are inconsistent)")
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise DataFileError(f"{bad} (unsupported NPY format version {version})")
            if dtype.hasobject:
                raise DataError(
                    f"{name}: array {key!r} holds Python objects, which would need pickle "
                    "(never loaded, for safety); save numeric arrays, e.g. X.astype('float32')"
                )
            if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype:
                raise DataError(
                    f"{name}: array {key!r} has dtype {dtype}; backprop needs numbers "
                    "(bool, int, uint or float)"
                )
            if any(int(n) < 0 for n in shape):
                raise DataFileError(f"{bad} (negative size in shape {shape})")
            extent = dtype.itemsize  # NumPy refuses shapes whose non-zero sizes overflow
            for n in shape:
                extent *= max(int(n), 1)
            if extent > np.iinfo(np.intp).max:
                raise DataFileError(f"{bad} (shape {shape} is too large for any array)")
            count = 1
            for n in shape:
                count *= int(n)
            nbytes = count * dtype.itemsize
            if nbytes > info.file_size:
                raise DataFileError(f"{bad} (its header claims {nbytes:,} bytes of data)")
            data = member.read(nbytes + 1)
    except (DataError, DataFileError):
        raise
    except _ARCHIVE_ERRORS as exc:
        raise DataFileError(f"{bad} ({type(exc).__name__}: {exc})"[:300]) from None
    if len(data) != nbytes:
        raise DataFileError(
            f"{bad} (header says {nbytes:,} bytes of data, the archive holds {len(data):,})"
        )
    order = "F" if fortran else "C"
    array = np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order=order)
    return array.astype(dtype.newbyteorder("="), copy=False)


def load_npz(
    path: str | Path,
    *,
    validation_fraction: float | None = None,
    test_fraction: float | None = None,
    seed=0,
) -> Dataset:
    """A dataset from an NPZ file with arrays ``X`` and ``y``.

    Optional ``X_val``/``y_val`` and ``X_test``/``y_test`` are used as the
    validation and test sets; whatever is not given is split from ``X``/``y``
    at random with ``seed`` (by default 10 % validation, 20 % test).
    """
    path = Path(path).expanduser()
    raw = _read(path)
    name = str(path)
    keys = ("X", "y", "X_val", "y_val", "X_test", "y_test")
    arrays = read_npz_arrays(raw, name, wanted=keys, required=("X", "y"))
    parts = {"": (arrays["X"], arrays["y"])}
    for part in ("val", "test"):
        has_x, has_y = f"X_{part}" in arrays, f"y_{part}" in arrays
        if has_x != has_y:
            raise DataError(f"{name}: X_{part} and y_{part} must be given together")
        if has_x:
            parts[part] = (arrays[f"X_{part}"], arrays[f"y_{part}"])

    image_shape = None
    checked = {}
    for part, (X, y) in parts.items():
        sx, sy = f"X{'_' + part if part else ''}", f"y{'_' + part if part else ''}"
        if X.ndim < 2:
            raise DataError(
                f"{name}: {sx} has shape {X.shape}; it needs one example per row, "
                "shape (m, n_features) (use X.reshape(-1, 1) for one feature)"
            )
        if X.ndim == 3:
            image_shape = tuple(int(d) for d in X.shape[1:])
        if X.shape[0] == 0:
            if part == "":
                raise DataError(f"{name}: {sx} has no examples")
            raise DataError(f"{name}: {sx} is empty; remove it or provide rows")
        if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
            raise DataError(
                f"{name}: {sy} has shape {y.shape} but {sx} has {X.shape[0]} examples; "
                f"{sy} needs shape ({X.shape[0]},) or ({X.shape[0]}, k)"
            )
        Xf = _float32(X.reshape(X.shape[0], -1), sx, name)
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            _float32(y, sy, name)
        checked[part] = (Xf, y)
    widths = {p: X.shape[1] for p, (X, _) in checked.items()}
    if len(set(widths.values())) > 1:
        raise DataError(f"{name}: X arrays have different numbers of features: {widths}")
    if len({y.ndim for _, y in checked.values()}) > 1:
        raise DataError(f"{name}: y arrays must all be 1-D labels or all 2-D targets")

    # encode targets over all parts together, so class indices agree
    y_all = np.concatenate([y for _, y in checked.values()])
    encoded, n_classes, classes = _encode_targets(y_all, name)
    bounds = np.cumsum([0] + [len(y) for _, y in checked.values()])
    enc = {p: encoded[bounds[i] : bounds[i + 1]] for i, p in enumerate(checked)}
    X, _ = checked[""]
    explicit = {p: (checked[p][0], enc[p]) for p in ("val", "test") if p in checked}
    if validation_fraction is not None:
        check_fraction("validation_fraction", validation_fraction)
    return _split_dataset(
        path.name,
        X,
        enc[""],
        n_classes=n_classes,
        classes=classes,
        fingerprint=hashlib.sha256(raw).hexdigest(),
        source=str(path),
        validation_fraction=validation_fraction,
        test_fraction=test_fraction,
        seed=seed,
        image_shape=image_shape,
        explicit=explicit,
    )


# --------------------------------------------------------------------------- prediction inputs


def read_features(path: str | Path, n_features: int | None = None) -> np.ndarray:
    """Features to predict on: every column of a CSV, or array ``X`` of an NPZ.

    Returns float32 of shape (m, n_features). With ``n_features`` given, a
    different width raises a DataError that says so.
    """
    path = Path(path).expanduser()
    raw = _read(path)
    name = str(path)
    if path.suffix.lower() == ".npz":
        X = read_npz_arrays(raw, name, wanted=("X",), required=("X",))["X"]
        if X.ndim < 2:
            raise DataError(f"{name}: X has shape {X.shape}; it needs shape (m, n_features)")
        if X.shape[0] == 0:
            raise DataError(f"{name}: X is empty; give at least one row to predict on")
        X = _float32(X.reshape(X.shape[0], -1), "X", name)
    elif path.suffix.lower() == ".csv":
        _, table = read_csv_table(raw, name)
        X = _float32(table, "X", name)
    else:
        raise DataFileError(f"{name}: unknown file type; give a .csv or .npz file")
    if n_features is not None and X.shape[1] != n_features:
        raise DataError(
            f"{name}: has {X.shape[1]} features per row but the model expects {n_features}"
            + (" (drop the label column)" if X.shape[1] == n_features + 1 else "")
        )
    return X
