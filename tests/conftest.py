"""Shared pytest configuration.

Tests marked ``slow`` (full MNIST runs, multi-seed comparisons) are skipped by
default so the suite stays fast; run them with ``BACKPROP_SLOW=1`` or ``-m slow``.
Their reduced forms run by default.
"""

import os

import pytest


def _slow_enabled(config) -> bool:
    markexpr = config.getoption("-m") or ""
    return os.environ.get("BACKPROP_SLOW") == "1" or ("slow" in markexpr and "not" not in markexpr)


def pytest_collection_modifyitems(config, items):
    if _slow_enabled(config):
        return
    skip = pytest.mark.skip(reason="slow: set BACKPROP_SLOW=1 or pass -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
