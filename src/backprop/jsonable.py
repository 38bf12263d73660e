"""One converter from the library's values to plain JSON types.

:func:`to_jsonable` turns NumPy scalars and arrays, tuples, paths and objects
with a ``to_dict()`` into ``None``/bool/int/float/str/list/dict, with NaN and
±inf as ``None`` (JSON has no such numbers). History, model files, checkpoints,
the CLI's ``--json`` and the estimators all write through it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = ["to_jsonable", "finite_or_none"]

#: deeper nesting than this is refused (a cycle, or not data)
MAX_DEPTH = 100


def finite_or_none(value: float | np.floating[Any]) -> float | None:
    """``float(value)``, or None for NaN and ±inf."""
    value = float(value)
    return value if math.isfinite(value) else None


def to_jsonable(value: Any, what: str = "value", *, strict: bool = True, _depth: int = 0) -> Any:
    """``value`` as plain JSON types; NaN/inf become None.

    Parameters
    ----------
    value : any
        Numbers, strings, None, bools, NumPy scalars and arrays, paths, lists,
        tuples, mappings with string keys, objects with ``to_dict()``.
    what : str
        What the value is, for the error message ("metadata", "checkpoint meta").
    strict : bool
        Raise :class:`~backprop.errors.ConfigError` for anything else (and for
        strings that are not valid Unicode); with False, such values pass
        through unchanged.
    """
    if _depth > MAX_DEPTH:
        raise ConfigError(f"{what} is nested too deeply to save")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _unicode(value, what) if strict else value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return finite_or_none(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), what, strict=strict, _depth=_depth + 1)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                if strict:
                    raise ConfigError(f"{what} keys must be strings, got {k!r}")
                k = str(k)
            out[_unicode(k, what) if strict else k] = to_jsonable(
                v, what, strict=strict, _depth=_depth + 1
            )
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, what, strict=strict, _depth=_depth + 1) for v in value]
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict(), what, strict=strict, _depth=_depth + 1)
    if not strict:
        return value
    raise ConfigError(
        f"{what} holds a {type(value).__name__}, which cannot be saved as JSON; "
        "use numbers, strings, lists and dicts"
    )


def _unicode(text: str, what: str) -> str:
    """``text`` if it can be stored as UTF-8 (no lone surrogates such as '\\ud800')."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = repr(text)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise ConfigError(
            f"{what} holds the string {shown}, which is not valid Unicode "
            "(a lone surrogate); remove or replace that character"
        ) from None
    return text
