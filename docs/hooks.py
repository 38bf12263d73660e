"""MkDocs hooks: pages generated at build time, so they can never go stale.

``examples/explain-source.html`` is ``backprop explain --format html`` for the source's 3-4-2
network (seed 0), written by the library that is being documented; docs/worked-example.md
embeds it.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

#: the generated page's path inside the site
EXPLAIN_SOURCE = "examples/explain-source.html"
#: the report's note on where the numbers come from (as `backprop explain` words it)
SOURCE = "Weights (normal) and the example (x, t) drawn from seed 0: the source's own network."


def explain_source_html() -> str:
    """The HTML walkthrough of one gradient-descent step of the source's 3-4-2 network."""
    from backprop.explain import explain, source_example
    from backprop.report import render

    net, X, T = source_example(seed=0)
    return render(explain(net, X, T, lr=0.5, seed=0, source=SOURCE), "html")


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages to the site's files."""
    files.append(File.generated(config, EXPLAIN_SOURCE, content=explain_source_html()))
    return files
