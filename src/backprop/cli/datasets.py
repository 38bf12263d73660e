"""The dataset a command's flags name: ``backprop.data.load`` with the CLI's arguments.

Each error names the flag that caused it. :func:`reject_nonfinite` refuses inputs
with NaN or infinity (predict's and evaluate's).
"""

from __future__ import annotations

import numpy as np

from .. import validation
from ..errors import ConfigError, DataError

__all__ = ["has_rows", "idx_name", "load_dataset", "reject_nonfinite"]


def idx_name(spec) -> str | None:
    """``mnist`` or ``fashion-mnist`` when ``spec`` names one of them, else None."""
    from ..data.datasets import IDX_DATASETS

    key = str(spec).partition(":")[0].strip().lower()
    return key if key in IDX_DATASETS else None


def load_dataset(
    spec: str,
    *,
    label_column: int | str | None = None,
    validation_fraction=None,
    test_fraction=None,
    seed=0,
    download: bool = False,
    base_url: str | None = None,
):
    """``backprop.data.load`` with the CLI's arguments (each error names the flag)."""
    from .. import data

    kwargs = {"seed": 0 if seed is None else seed}
    if label_column is not None:
        kwargs["label_column"] = label_column
    if validation_fraction is not None:
        validation.fraction("--validation-fraction", validation_fraction)
        kwargs["validation_fraction"] = validation_fraction
    idx = idx_name(spec)
    if test_fraction is not None:
        if idx is not None:
            raise ConfigError(
                f"--test-fraction applies to digits, CSV and NPZ; {idx} always tests on its "
                "own test files"
            )
        validation.fraction("--test-fraction", test_fraction)
        kwargs["test_fraction"] = test_fraction
    if base_url is not None and not download:
        raise ConfigError("--data-url is where --download fetches from; add --download")
    if download:
        if idx is None:
            raise ConfigError(
                f"--download applies to mnist and fashion-mnist only, not {spec!r}; leave it out"
            )
        kwargs["download"] = True
        if base_url is not None:
            kwargs["base_url"] = base_url
    return data.load(spec, **kwargs)


def has_rows(X) -> bool:
    return X is not None and len(X) > 0


def reject_nonfinite(name: str, X) -> None:
    """A DataError when ``X`` holds NaN or infinity (predict's and evaluate's inputs)."""
    X = np.asarray(X)
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"{name} holds NaN or infinity (first at row {bad[0] + 1}, column {bad[-1] + 1}); "
            "clean the data first"
        )
