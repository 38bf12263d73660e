"""The documentation site builds with ``mkdocs build --strict`` and documents every public name.

The strict build fails on a broken link, a page missing from the nav, a reference that does not
resolve or a docstring mkdocstrings cannot parse; the checks below read the built pages: an
anchor for every name in the ``__all__`` of each documented module, the equations set for
MathJax, the notebook rendered with its outputs, the generated explain page.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import needs

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    needs("mkdocs", "pip install -e '.[docs]'"),
    needs("mkdocs_jupyter", "pip install -e '.[docs]'"),
]

#: the API pages and the modules whose public names each must document
API = {
    "network": ["backprop.network", "backprop.model", "backprop.preprocessing"],
    "gradcheck": ["backprop.gradcheck"],
    "training": ["backprop.training"],
    "io": ["backprop.io"],
    "data": ["backprop.data"],
    "explain": ["backprop.explain"],
    "sklearn": ["backprop.sklearn"],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        # not -q: quiet hides the warnings, and --strict then has none to fail on
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-3000:]
    return out


def public_names(module_name: str) -> list[str]:
    """``__all__``, or else the classes and functions the module defines under public names."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", None) == module_name
    ]


def anchors(page: Path) -> set[str]:
    return set(re.findall(r'id="(backprop[\w.]*)"', page.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", sorted(API))
def test_every_public_name_has_an_entry(site: Path, page: str) -> None:
    ids = anchors(site / "api" / f"{page}.html")
    for module in API[page]:
        public = public_names(module)
        assert public, module
        missing = [n for n in public if f"{module}.{n}" not in ids and not n.isupper()]
        assert not missing, f"api/{page}.md lacks {module}: {missing}"


def test_the_core_names_are_documented(site: Path) -> None:
    ids = anchors(site / "api" / "network.html") | anchors(site / "api" / "training.html")
    for name in (
        "backprop.network.Network.forward",
        "backprop.network.Network.backward",
        "backprop.network.Network.summary",
        "backprop.training.train",
        "backprop.training.History.to_pandas",
    ):
        assert name in ids, name


def test_mathematics_tutorial_and_worked_example(site: Path) -> None:
    maths = (site / "mathematics.html").read_text(encoding="utf-8")
    assert maths.count('class="arithmatex"') >= 20 and r"\delta^L" in maths
    tutorial = (site / "tutorial.html").read_text(encoding="utf-8")
    # the notebook's HTML reprs, as a notebook shows them
    assert "gradcheck passed: max relative error" in tutorial and "History: 3 epochs" in tutorial
    assert "[3, 4, 2] network: cost quadratic, init normal, float64, 26 parameters" in tutorial
    example = (site / "examples" / "explain-source.html").read_text(encoding="utf-8")
    assert example.startswith("<!DOCTYPE html>") and "<math" in example
    page = (site / "worked-example.html").read_text(encoding="utf-8")
    assert 'src="examples/explain-source.html"' in page and "img/explain-digits.png" in page
    assert (site / "img" / "explain-digits.png").stat().st_size > 10_000
