"""Built-in datasets: scikit-learn's 8x8 digits, MNIST and Fashion-MNIST (IDX files).

MNIST and Fashion-MNIST are read from the four standard IDX files in a
directory (gzip-compressed or not)::

    train-images-idx3-ubyte.gz   60,000 images, 28 x 28, uint8
    train-labels-idx1-ubyte.gz   60,000 labels 0-9
    t10k-images-idx3-ubyte.gz    10,000 images
    t10k-labels-idx1-ubyte.gz    10,000 labels

The split is the book's: the first 50,000 training images train, the last
10,000 validate, and the 10,000 test images give the reported test accuracy.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from .._atomic import atomic_write
from ..errors import ConfigError, DataError, DataFileError
from .dataset import Dataset
from .idx import LABELS_MAGIC, parse_idx, read_bytes, read_images_float32
from .splits import check_fraction, random_split_info, split_indices

__all__ = [
    "FASHION_CLASSES",
    "IDX_DATASETS",
    "default_dir",
    "download_files",
    "find_files",
    "load_digits",
    "load_idx_dataset",
]

#: the four files, in the order they are read
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

#: name -> default download URL and, per .gz file, (size in bytes, MD5 of the .gz)
IDX_DATASETS: dict[str, dict[str, Any]] = {
    "mnist": {
        "url": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "files": {
            "train-images-idx3-ubyte.gz": (9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            "train-labels-idx1-ubyte.gz": (28881, "d53e105ee54ea40749a09fcbcd1e9432"),
            "t10k-images-idx3-ubyte.gz": (1648877, "9fb629c4189551a2d022fa330f9573f3"),
            "t10k-labels-idx1-ubyte.gz": (4542, "ec29112dd5afa0611ce80d1b7f02629c"),
        },
        "class_names": None,
    },
    "fashion-mnist": {
        "url": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "files": {
            "train-images-idx3-ubyte.gz": (26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            "train-labels-idx1-ubyte.gz": (29515, "25c81989df183df01b3e8a0aad5dffbe"),
            "t10k-images-idx3-ubyte.gz": (4422102, "bef4ecab320f06d8554ea6380940ec79"),
            "t10k-labels-idx1-ubyte.gz": (5148, "bb300cfdad3c16e7a12a480ee83cd310"),
        },
        "class_names": FASHION_CLASSES,
    },
}

#: seconds one file's download may take in all
DOWNLOAD_DEADLINE = 1800.0
#: bytes per second a download must keep up, averaged over DOWNLOAD_RATE_WINDOW seconds
DOWNLOAD_MIN_RATE = 1024.0
DOWNLOAD_RATE_WINDOW = 30.0


#: the book's validation set: the last 10,000 of the 60,000 training images (1/6)
BOOK_VALIDATION_FRACTION = 1 / 6


def default_dir(name: str) -> Path:
    """Where ``mnist`` / ``fashion-mnist`` are looked for: ``~/.cache/backprop/<name>``."""
    return Path.home() / ".cache" / "backprop" / name


# --------------------------------------------------------------------------- digits


def load_digits(
    *, validation_fraction: float | None = None, test_fraction: float | None = None, seed=0
) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images), pixels scaled 0..16 -> [0, 1].

    Split at random with ``seed``: by default 70 % train, 10 % validation, 20 % test.
    """
    pixels, labels = _digits_arrays()
    digest = hashlib.sha256(b"sklearn-digits\0")
    digest.update(pixels.tobytes())
    digest.update(labels.astype(np.uint8).tobytes())

    v = 0.1 if validation_fraction is None else validation_fraction
    t = 0.2 if test_fraction is None else test_fraction
    rng = np.random.default_rng(seed)
    train, val, test = split_indices(len(labels), validation_fraction=v, test_fraction=t, rng=rng)
    X = np.divide(pixels, np.float32(16), dtype=np.float32)
    return Dataset(
        name="digits",
        X_train=X[train],
        y_train=labels[train],
        X_val=X[val],
        y_val=labels[val],
        X_test=X[test],
        y_test=labels[test],
        n_classes=10,
        classes=np.arange(10),
        image_shape=(8, 8),
        fingerprint=digest.hexdigest(),
        source="scikit-learn load_digits()",
        split=random_split_info(v, t, seed),
    )


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(pixels uint8 (1797, 64) with values 0..16, labels int64 (1797,)).

    Read straight from the CSV that scikit-learn ships (20 ms) rather than through
    ``sklearn.datasets``, whose import takes about a second; the latter is the fallback.
    """
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        try:
            with gzip.open(path, "rt") as f:
                table = np.loadtxt(f, delimiter=",", ndmin=2)
        except (OSError, ValueError, EOFError):
            table = None
        if table is not None and table.shape == (1797, 65):
            return table[:, :64].astype(np.uint8), table[:, 64].astype(np.int64)
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError:
        raise ConfigError(
            "the digits dataset ships with scikit-learn, which is not installed; "
            "pip install 'backprop-textbook[cli]' (or scikit-learn)"
        ) from None
    bunch = sk_load_digits()
    return bunch.data.astype(np.uint8), bunch.target.astype(np.int64)


# --------------------------------------------------------------------------- MNIST


def find_files(name: str, directory: Path) -> dict[str, Path]:
    """The four IDX files of ``name`` in ``directory``, or a DataFileError saying what to do."""
    found, missing = {}, []
    for stem in FILES:
        candidates = [directory / f"{stem}.gz", directory / stem]
        candidates.append(directory / stem.replace("-idx", ".idx"))  # the original site's names
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            missing.append(f"{stem}.gz")
        else:
            found[stem] = path
    if missing:
        if not directory.exists():
            where = f"directory {str(directory)!r} does not exist"
        elif not directory.is_dir():
            where = f"{str(directory)!r} is not a directory"
        else:
            where = f"{str(directory)!r} lacks {', '.join(missing)}"
        raise DataFileError(
            f"{name} files not found: {where}; put the four files "
            f"{', '.join(f + '.gz' for f in FILES)} (gzip or uncompressed) into "
            f"{str(directory)!r}, or download them with download=True (CLI: --download)"
        )
    return found


def load_idx_dataset(
    name: str,
    directory: str | Path | None = None,
    *,
    validation_fraction: float | None = None,
    download: bool = False,
    base_url: str | None = None,
) -> Dataset:
    """MNIST or Fashion-MNIST from the four IDX files in ``directory``.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    directory : path, optional
        Default :func:`default_dir(name) <default_dir>`.
    validation_fraction : float, optional
        Fraction of the training images held out for validation, taken from the
        *end* of the training file (not shuffled). Default: the book's 10,000 of
        60,000 (1/6).
    download : bool
        Fetch missing files first (see :func:`download`).

    Returns
    -------
    Dataset
        X float32 of shape (m, rows*cols), pixels / 255; y int64 labels 0..9.
    """
    if name not in IDX_DATASETS:
        raise ConfigError(f"unknown IDX dataset {name!r}; choose one of: {', '.join(IDX_DATASETS)}")
    directory = default_dir(name) if directory is None else Path(directory).expanduser()
    if download:
        download_files(name, directory, base_url=base_url)
    paths = find_files(name, directory)

    digest = hashlib.sha256()
    arrays = {}
    for stem in FILES:

        def seen(data, stem=stem) -> None:
            digest.update(f"{stem}:{len(data)}\0".encode())
            digest.update(data)

        if "images" in stem:  # float32 pixels / 255, decompressed in the floats' memory
            arrays[stem] = read_images_float32(paths[stem], on_bytes=seen)
            continue
        data = read_bytes(paths[stem], idx=True)
        seen(data)
        arrays[stem] = parse_idx(data, str(paths[stem]), magic=LABELS_MAGIC)
        del data  # the array is a view of it; no copy kept

    X_tr, y_tr = _images_and_labels(paths, arrays, "train")
    X_te, y_te = _images_and_labels(paths, arrays, "t10k")
    if X_tr.shape[1:] != X_te.shape[1:]:
        raise DataFileError(
            f"{name}: training images are {_dims(X_tr)} but test images are {_dims(X_te)}; "
            f"the files in {str(directory)!r} do not belong together"
        )

    n = X_tr.shape[0]
    f = BOOK_VALIDATION_FRACTION if validation_fraction is None else validation_fraction
    n_val = round(check_fraction("validation_fraction", f) * n)
    if n - n_val < 1:
        raise DataError(f"{name}: {n} training images leave none for training; use less validation")
    image_shape = tuple(int(d) for d in X_tr.shape[1:])
    X_tr, X_te = X_tr.reshape(n, -1), X_te.reshape(len(X_te), -1)  # views: one row an image
    return Dataset(
        name=name,
        X_train=X_tr[: n - n_val],
        y_train=y_tr[: n - n_val],
        X_val=X_tr[n - n_val :],
        y_val=y_tr[n - n_val :],
        X_test=X_te,
        y_test=y_te,
        n_classes=10,
        classes=np.arange(10),
        image_shape=image_shape,
        fingerprint=digest.hexdigest(),
        source=str(directory),
        class_names=IDX_DATASETS[name]["class_names"],
        split={
            "rule": "last n_val training images validate; the test files test",
            "validation_fraction": float(f),
            "n_val": n_val,
        },
    )


def _images_and_labels(paths, arrays, part: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = arrays[f"{part}-images-idx3-ubyte"], arrays[f"{part}-labels-idx1-ubyte"]
    ipath, lpath = paths[f"{part}-images-idx3-ubyte"], paths[f"{part}-labels-idx1-ubyte"]
    if images.shape[0] != labels.shape[0]:
        raise DataFileError(
            f"{ipath} has {images.shape[0]:,} images but {lpath} has {labels.shape[0]:,} labels; "
            "the files do not belong together"
        )
    if labels.size and labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataError(
            f"{lpath}: label {int(labels[bad])} at index {bad} is out of range 0..9; "
            "the file is not an MNIST labels file"
        )
    return images, labels.astype(np.int64)


def _dims(images: np.ndarray) -> str:
    return " x ".join(str(d) for d in images.shape[1:])


# --------------------------------------------------------------------------- download


def download_files(
    name: str,
    directory: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    timeout: float = 60.0,
    deadline: float = DOWNLOAD_DEADLINE,
    min_rate: float = DOWNLOAD_MIN_RATE,
    rate_window: float = DOWNLOAD_RATE_WINDOW,
) -> Path:
    """Download the missing IDX files of ``name`` into ``directory`` and verify their MD5.

    Files already present (gzip or uncompressed) are left alone. Each download
    streams into a temporary file in ``directory`` which is renamed into place
    only after its size and MD5 match the published ones; a failed or corrupt
    download raises :class:`DataFileError` and leaves nothing behind.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    directory : path, optional
        Default :func:`default_dir(name) <default_dir>`; created if missing.
    base_url : str, optional
        URL prefix the file names are appended to (default: a public mirror,
        ``IDX_DATASETS[name]["url"]``).
    timeout : float
        Seconds to wait for the server to connect or to send the next bytes.
    deadline : float
        Seconds each file's download may take in all (default 30 minutes).
    min_rate : float
        Bytes per second the server must send, averaged over each ``rate_window``
        seconds (default 1 KiB/s over 30 s): a stalling server is cut off.

    Returns
    -------
    Path
        The directory.
    """
    if name not in IDX_DATASETS:
        raise ConfigError(f"unknown IDX dataset {name!r}; choose one of: {', '.join(IDX_DATASETS)}")
    spec = IDX_DATASETS[name]
    directory = default_dir(name) if directory is None else Path(directory).expanduser()
    base = spec["url"] if base_url is None else str(base_url)
    if not base.endswith("/"):
        base += "/"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(
            f"cannot create {str(directory)!r}: {exc.strerror or exc}; choose another directory"
        ) from None
    for filename, (size, md5) in spec["files"].items():
        stem = filename[: -len(".gz")]
        if any((directory / f).is_file() for f in (filename, stem, stem.replace("-idx", ".idx"))):
            continue
        limits = _Limits(timeout, deadline, min_rate, rate_window)
        _fetch(base + filename, directory / filename, size, md5, limits)
    return directory


@dataclass(frozen=True)
class _Limits:
    timeout: float
    deadline: float
    min_rate: float
    rate_window: float


class _Watch:
    """Enforces the overall deadline and the minimum rate of one download."""

    def __init__(self, url: str, limits: _Limits, hint: str):
        self.url, self.limits, self.hint = url, limits, hint
        self.start = self.window_start = time.monotonic()
        self.window_bytes = 0

    def read_timeout(self) -> float:
        """Seconds the next read may wait: never past the deadline."""
        left = self.start + self.limits.deadline - time.monotonic()
        if left <= 0:
            self.cut(f"took longer than the {self.limits.deadline:g} s deadline")
        return max(0.01, min(self.limits.timeout, left))

    def got(self, n: int) -> None:
        now = time.monotonic()
        self.window_bytes += n
        if now - self.start > self.limits.deadline:
            self.cut(f"took longer than the {self.limits.deadline:g} s deadline")
        elapsed = now - self.window_start
        if elapsed >= self.limits.rate_window:
            rate = self.window_bytes / elapsed
            if rate < self.limits.min_rate:
                self.cut(
                    f"is too slow ({rate:,.0f} bytes/s over {elapsed:.1f} s; the minimum is "
                    f"{self.limits.min_rate:,.0f} bytes/s)"
                )
            self.window_start, self.window_bytes = now, 0

    def cut(self, why: str) -> NoReturn:
        raise DataFileError(f"download of {self.url} {why}; stopped; {self.hint}")


def _set_timeout(response, seconds: float) -> None:
    """Give the response's socket a new read timeout (http.client keeps it private)."""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(seconds)


def _read_chunk(response, watch: _Watch, url: str, hint: str) -> bytes:
    """The next bytes the server sent (at most 1 MiB), within the deadline."""
    import http.client

    _set_timeout(response, watch.read_timeout())
    try:
        return response.read1(1 << 20)
    except TimeoutError:
        _timed_out(watch, url, hint)
    except (OSError, http.client.HTTPException) as exc:
        raise DataFileError(f"cannot download {url}: {exc or type(exc).__name__}; {hint}") from None


def _timed_out(watch: _Watch, url: str, hint: str) -> NoReturn:
    limits = watch.limits
    if time.monotonic() - watch.start >= limits.deadline - 0.01:
        watch.cut(f"took longer than the {limits.deadline:g} s deadline")
    raise DataFileError(
        f"cannot download {url}: the server sent nothing for {limits.timeout:g} s; {hint}"
    )


def _fetch(url: str, target: Path, size: int, md5: str, limits: _Limits) -> None:
    # imported here: urllib.request (with http.client and ssl) is 8 MB and 30 ms that a
    # run which loads files already present never needs
    import http.client
    import urllib.error
    import urllib.request

    hint = f"download it by hand into {str(target.parent)!r} or try again"
    digest = hashlib.md5(usedforsecurity=False)
    received = 0
    watch = _Watch(url, limits, hint)
    try:
        timeout = min(limits.timeout, limits.deadline)
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            with atomic_write(target, error=DataFileError) as out:
                while True:
                    chunk = _read_chunk(response, watch, url, hint)
                    if not chunk:
                        break
                    received += len(chunk)
                    watch.got(len(chunk))
                    if received > size:
                        raise DataFileError(
                            f"download of {url} is larger than the expected {size:,} bytes; {hint}"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                if received != size or digest.hexdigest() != md5:
                    raise DataFileError(
                        f"download of {url} is corrupt: got {received:,} bytes with MD5 "
                        f"{digest.hexdigest()}, expected {size:,} bytes with MD5 {md5}; {hint}"
                    )
    except DataFileError:
        raise
    except urllib.error.HTTPError as exc:
        reason = f"HTTP {exc.code} {exc.reason}"
        raise DataFileError(f"cannot download {url}: {reason}; {hint}") from None
    except urllib.error.URLError as exc:
        raise DataFileError(f"cannot download {url}: {exc.reason}; {hint}") from None
    except TimeoutError:
        _timed_out(watch, url, hint)
    except (OSError, http.client.HTTPException) as exc:
        raise DataFileError(f"cannot download {url}: {exc or type(exc).__name__}; {hint}") from None
    except ValueError as exc:
        raise ConfigError(f"invalid download URL {url!r}: {exc}") from None
