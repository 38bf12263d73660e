"""What several test folders share: where the real data sets are, and optional libraries.

Importable from every test (``pythonpath = ["tests"]`` in pyproject). Skips always say why;
under CI (``CI=true``) a missing MNIST fails the run instead of skipping (see conftest.py).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
#: the workplace's shared data (real MNIST and Fashion-MNIST), beside the clone
SHARED_DATA = REPO.parent / "shared" / "data"
MNIST = SHARED_DATA / "mnist"
FASHION = SHARED_DATA / "fashion-mnist"
IN_CI = os.environ.get("CI", "").lower() == "true"


def has_files(folder: Path) -> bool:
    return (folder / "train-images-idx3-ubyte.gz").is_file()


needs_mnist = pytest.mark.skipif(
    not has_files(MNIST),
    reason=f"needs the real MNIST (train-images-idx3-ubyte.gz …) in {MNIST}",
)
needs_fashion = pytest.mark.skipif(
    not has_files(FASHION),
    reason=f"needs Fashion-MNIST (train-images-idx3-ubyte.gz …) in {FASHION}",
)


def optional_import(name: str) -> ModuleType | None:
    """The module, or None when it is not installed (tests that use it carry a needs_ mark)."""
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def needs(module: str, hint: str) -> pytest.MarkDecorator:
    """Skip unless ``module`` is installed; ``hint`` says how to install it."""
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"needs {module} ({hint})"
    )


needs_torch = needs("torch", "pip install torch==2.13.0")
