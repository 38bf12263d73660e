"""docs/hooks.py: the worked example page is generated from the library at build time."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from support import needs

HOOKS = Path(__file__).resolve().parents[2] / "docs" / "hooks.py"

pytestmark = needs("mkdocs", "pip install -e '.[docs]'")


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", HOOKS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_worked_example_is_the_explain_html_of_the_source_network() -> None:
    from backprop.explain import explain, source_example
    from backprop.report import render

    hooks = load_hooks()
    html = hooks.explain_source_html()
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<math" in html and "</html>" in html
    # the same page as `backprop explain --format html` for seed 0, α = 0.5 …
    net, X, T = source_example(seed=0)
    e = explain(net, X, T, lr=0.5, seed=0)
    assert e.cost == 0.5 * float(((e.a[2] - e.t) ** 2).sum())  # C = ½‖a² − t‖²
    # … so its numbers are in it: C before and after the step, to 6 significant digits
    assert f"{e.cost:.6g}" in html and f"{e.cost_after:.6g}" in html
    assert html == render(explain(net, X, T, lr=0.5, seed=0, source=hooks.SOURCE), "html")
