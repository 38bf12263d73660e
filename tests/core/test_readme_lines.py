"""The README's table of equations links to the lines of network.py that compute them."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
# the comment each linked line must carry, in the order of the README's table
EXPECTED = [
    "# z^l = W^l a^{l-1} + b^l",
    "# a^l = σ(z^l)",
    "# BP1",
    "# BP2",
    "# BP3",
    "# BP4",
]


def test_readme_links_point_at_the_equations():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = (ROOT / "src" / "backprop" / "network.py").read_text(encoding="utf-8").splitlines()
    linked = [int(n) for n in re.findall(r"src/backprop/network\.py#L(\d+)", readme)]
    assert len(linked) == len(EXPECTED)
    for number, comment in zip(linked, EXPECTED):
        assert lines[number - 1].rstrip().endswith(comment), (number, lines[number - 1])
