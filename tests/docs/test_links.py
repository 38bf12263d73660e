"""The README and the docs link only to files inside the repository, and every such file exists.

(``mkdocs build --strict`` checks the links between the site's pages; this also covers the
README, which is not a page of the site, and links to source files from either.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
#: [text](target) outside code spans; the target up to a space or ')'
LINK = re.compile(r"\]\(([^)\s]+)[^)]*\)")
#: pages docs/hooks.py generates while the site is built
GENERATED = {REPO / "docs" / "examples" / "explain-source.html"}


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return LINK.findall(text)


def local(target: str) -> bool:
    return not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_local_link_points_at_a_file_in_the_repository(page: Path) -> None:
    for target in filter(local, links(page)):
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO), f"{page.name} links outside the repository: {target}"
        assert path.exists() or path in GENERATED, f"{page.name} links to a missing file: {target}"


def test_the_link_finder_sees_links() -> None:
    readme = links(REPO / "README.md")
    assert "docs/cli.md" in readme and "docs/mathematics.md" in readme
    assert not local("https://example.org/x.md") and local("docs/x.md")


def test_the_readme_names_no_path_outside_the_repository() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "shared/seed" not in text and "shared/DESIGN.md" not in text
    assert "shared/STYLE.md" not in text
