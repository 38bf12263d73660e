"""Datasets: built-in digits, MNIST and Fashion-MNIST, and the user's CSV/NPZ files.

>>> from backprop.data import load
>>> ds = load("digits")                        # doctest: +SKIP
>>> ds.X_train.shape, ds.n_classes             # doctest: +SKIP
((1258, 64), 10)

``load(spec)`` takes

* ``digits`` — scikit-learn's bundled 8x8 digits, pixels scaled to [0, 1],
  split at random (seed) 70 / 10 / 20 % into train / validation / test;
* ``mnist[:DIR]``, ``fashion-mnist[:DIR]`` — the four standard IDX files in
  DIR (default ``~/.cache/backprop/<name>``), pixels / 255, the book's split
  (first 50,000 training images train, last 10,000 validate, the 10,000 test
  images test); ``download=True`` fetches missing files, MD5-verified;
* a ``.csv`` or ``.npz`` path — see :mod:`backprop.data.tabular`.

Every problem with the data raises :class:`~backprop.errors.DataError` or
:class:`~backprop.errors.DataFileError` with a message naming the file and the fix.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from .dataset import Dataset
from .datasets import (
    DOWNLOAD_DEADLINE,
    DOWNLOAD_MIN_RATE,
    DOWNLOAD_RATE_WINDOW,
    FASHION_CLASSES,
    FILES,
    IDX_DATASETS,
    default_dir,
    download_files,
    load_digits,
    load_idx_dataset,
)
from .idx import parse_idx, read_idx
from .splits import one_hot, split_indices
from .tabular import load_csv, load_npz, read_features

__all__ = [
    "FASHION_CLASSES",
    "SPECS",
    "Dataset",
    "default_dir",
    "download",
    "input_paths",
    "load",
    "load_csv",
    "load_digits",
    "load_npz",
    "one_hot",
    "parse_idx",
    "read_features",
    "read_idx",
    "split_indices",
]

#: what ``load`` accepts, for help texts
SPECS = "digits, mnist[:DIR], fashion-mnist[:DIR], or a path to a .csv or .npz file"


def load(
    spec: str | os.PathLike,
    *,
    label_column: int | str = -1,
    validation_fraction: float | None = None,
    test_fraction: float | None = None,
    seed=0,
    download: bool = False,
    base_url: str | None = None,
) -> Dataset:
    """Load a dataset by its spec.

    Parameters
    ----------
    spec : str or PathLike
        ``digits``, ``mnist``, ``mnist:DIR``, ``fashion-mnist``, ``fashion-mnist:DIR``,
        or a path ending in ``.csv`` or ``.npz``.
    label_column : int or str, default -1
        CSV only: the label column, as an index (negative counts from the end) or a
        header name.
    validation_fraction : float, optional
        Fraction held out for validation. Defaults: 0.1 for digits/CSV/NPZ (random,
        seeded); for MNIST the book's last 10,000 of 60,000 training images (1/6).
    test_fraction : float, optional
        digits/CSV/NPZ without explicit test arrays: fraction held out for testing
        (default 0.2). MNIST always tests on its test files.
    seed : int or None
        Seed of the random split (digits, CSV, NPZ).
    download : bool
        MNIST/Fashion-MNIST: download missing files into the directory first.
    base_url : str, optional
        Where to download from (default: a public mirror).

    Returns
    -------
    Dataset
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise ConfigError(f"data spec must be a string or path, got {type(spec).__name__}")
    name, sep, rest = spec.partition(":")
    key = name.strip().lower()
    if key in IDX_DATASETS:
        if test_fraction is not None:
            raise ConfigError(f"{key} tests on its own test files; test_fraction does not apply")
        return load_idx_dataset(
            key,
            rest if sep and rest else None,
            validation_fraction=validation_fraction,
            download=download,
            base_url=base_url,
        )
    if download:
        raise ConfigError(f"download applies to mnist and fashion-mnist only, not {spec!r}")
    if key == "digits" and not sep:
        return load_digits(
            validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed
        )
    suffix = Path(spec).suffix.lower()
    if suffix == ".csv":
        return load_csv(
            spec,
            label_column=label_column,
            validation_fraction=validation_fraction,
            test_fraction=test_fraction,
            seed=seed,
        )
    if suffix == ".npz":
        return load_npz(
            spec, validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed
        )
    raise ConfigError(f"unknown data {spec!r}; use {SPECS}")


def input_paths(spec: str | os.PathLike) -> list[Path]:
    """The files ``load(spec)`` would read, for checking that no output overwrites them.

    ``digits`` reads none; ``mnist[:DIR]`` the IDX files in DIR; a CSV/NPZ spec its path
    (``~`` expanded). Paths that do not exist are left out.
    """
    spec = os.fspath(spec)
    name, sep, rest = spec.partition(":")
    key = name.strip().lower()
    if key in IDX_DATASETS:
        directory = Path(rest).expanduser() if sep and rest else default_dir(key)
        stems = [s for f in FILES for s in (f, f + ".gz", f.replace("-idx", ".idx"))]
        return [directory / s for s in stems if (directory / s).exists()]
    if key == "digits" and not sep:
        return []
    path = Path(spec).expanduser()
    return [path] if path.exists() else []


def download(
    name: str,
    directory: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
    timeout: float = 60.0,
    deadline: float = DOWNLOAD_DEADLINE,
    min_rate: float = DOWNLOAD_MIN_RATE,
    rate_window: float = DOWNLOAD_RATE_WINDOW,
) -> Path:
    """Download the missing files of ``mnist`` or ``fashion-mnist``; see
    :func:`backprop.data.datasets.download_files` (``timeout`` per read, ``deadline``
    seconds per file in all, ``min_rate`` bytes/s at least over every ``rate_window``
    seconds). Returns the directory."""
    return download_files(
        name,
        directory,
        base_url=base_url,
        timeout=timeout,
        deadline=deadline,
        min_rate=min_rate,
        rate_window=rate_window,
    )
