"""Shared pytest configuration.

Tests marked ``slow`` (full MNIST runs, multi-seed comparisons) are skipped by
default so the suite stays fast; run them with ``BACKPROP_SLOW=1`` or ``-m slow``.
Their reduced forms run by default.

Under CI (``CI=true``) the real MNIST beside the clone (``../shared/data/mnist``) is
required: its absence fails the run rather than silently skipping the tests that need it.
"""

from __future__ import annotations

import os

import pytest

from support import IN_CI, MNIST, has_files


def _slow_enabled(config: pytest.Config) -> bool:
    markexpr = config.getoption("-m") or ""
    return os.environ.get("BACKPROP_SLOW") == "1" or ("slow" in markexpr and "not" not in markexpr)


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and not has_files(MNIST):
        raise pytest.UsageError(
            f"CI=true but the real MNIST is missing from {MNIST}; "
            "CI must have shared/data beside the clone"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _slow_enabled(config):
        return
    skip = pytest.mark.skip(reason="slow: set BACKPROP_SLOW=1 or pass -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
