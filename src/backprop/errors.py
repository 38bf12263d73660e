"""The library's own exceptions.

Every error a user can cause derives from :class:`BackpropError`, so callers
(and the CLI) can catch one type. Each also derives from the built-in type that
fits, so ``except ValueError`` keeps working. Messages are one or two lines that
name the problem and say what to do.
"""

from __future__ import annotations

from collections.abc import Iterable


class BackpropError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(BackpropError, ValueError):
    """An invalid setting: unknown name, impossible combination, bad number."""


class DataError(BackpropError, ValueError):
    """Input data that cannot be used: wrong shape, non-numeric, NaN, bad labels."""


class DataFileError(DataError, OSError):
    """A data file or directory that is missing, unreadable or malformed."""


class ModelFileError(BackpropError, OSError):
    """A model or checkpoint file that is missing, malformed or inconsistent."""


class DivergenceError(BackpropError, ArithmeticError):
    """The cost became NaN or infinite during training."""


class GradcheckError(BackpropError, AssertionError):
    """Analytic and numerical gradients disagree beyond the tolerance."""


def one_of(kind: str, name: object, valid: Iterable[str]) -> ConfigError:
    """Build the error for an unknown ``name``, listing the valid ones."""
    names = ", ".join(sorted(valid))
    return ConfigError(f"unknown {kind} {name!r}; choose one of: {names}")
