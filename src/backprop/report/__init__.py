"""Renderings of an :class:`~backprop.explain.Explanation`: text, Markdown, HTML, JSON.

``render(explanation, fmt)`` returns the whole report as a string; the CLI
writes it to stdout or, atomically, to a file.
"""

from __future__ import annotations

import json
from html import escape

from ..errors import one_of
from ..explain import Explanation

__all__ = ["FORMATS", "notebook_html", "render", "render_json"]

FORMATS = ("text", "markdown", "html", "json")


def render(
    explanation: Explanation, fmt: str = "text", *, full: bool = False, color: bool = False
) -> str:
    """The report in ``fmt`` (one of FORMATS); ``color`` applies to text only."""
    if fmt == "text":
        from .text import render_text

        return render_text(explanation, full=full, color=color)
    if fmt == "markdown":
        from .text import render_markdown

        return render_markdown(explanation, full=full)
    if fmt == "html":
        from .html import render_html

        return render_html(explanation, full=full)
    if fmt == "json":
        return render_json(explanation)
    raise one_of("format", fmt, FORMATS)


def render_json(explanation: Explanation) -> str:
    """The JSON contract (docs/explain.md), always with every number."""
    return json.dumps(explanation.to_dict(), ensure_ascii=False, allow_nan=False) + "\n"


def notebook_html(explanation: Explanation) -> str:
    """The report of ``backprop explain --format html`` in a frame of its own (its CSS
    stays out of the notebook's page): what a notebook shows for an Explanation."""
    page = render(explanation, "html")
    return (
        f'<iframe srcdoc="{escape(page, quote=True)}" title="backprop explain" '
        'style="width: 100%; height: 44em; border: 1px solid #d0d7de; border-radius: 6px">'
        "</iframe>"
    )
