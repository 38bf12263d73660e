"""The HTML report of `backprop explain`, opened in a real headless Chromium.

Skipped when Chromium is absent, unless the environment variable CI is set
(then it fails: CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from backprop.cli import main

pytestmark = pytest.mark.browser

CHROMIUM = next(
    (
        p
        for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
        if p and Path(p).exists()
    ),
    None,
)


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium not installed")
    return CHROMIUM


def browse(
    chromium: str, tmp: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def report(tmp: Path, *argv: str) -> tuple[Path, dict]:
    html = tmp / "report.html"
    assert main(["explain", *argv, "--format", "html", "--out", str(html)]) == 0
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["explain", *argv, "--format", "json"]) == 0
    return html, json.loads(out.getvalue())


def cells(dom: str, key: str) -> list[float]:
    """The numbers of the table data-key=KEY in the rendered DOM."""
    m = re.search(rf'<table class="matrix" data-key="{key}"[^>]*>(.*?)</table>', dom, re.S)
    assert m, key
    return [float(v) for v in re.findall(r"<td>([-0-9.e+]+)</td>", m.group(1))]


def pixels(png: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(png).convert("L"), dtype=np.float64)


def test_html_report_renders_in_chromium(chromium, tmp_path):
    html, rep = report(tmp_path, "--seed", "5")
    url = html.resolve().as_uri()

    dom = browse(chromium, tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "Backpropagation, step by step" in text
    # the values the browser shows are the report's numbers (4 decimals)
    for key, values in (
        ("delta2", rep["delta"]["2"]),
        ("delta1", rep["delta"]["1"]),
        ("dW2", rep["dW"]["2"]),
        ("W1", rep["W"]["1"]),
    ):
        np.testing.assert_allclose(cells(text, key), np.ravel(values), atol=5.1e-5)
    assert f'<span id="cost">{rep["cost"]:.6g}</span>' in text
    assert f'<span id="cost-after">{rep["cost_after_step"]:.6g}</span>' in text
    assert text.count("<math") > 20 and "<mfrac>" in text
    assert "it means δ²" in text

    for size, name in (("1200,2200", "desktop.png"), ("390,1600", "phone.png")):
        png = tmp_path / name
        shot = browse(chromium, tmp_path, f"--screenshot={png}", f"--window-size={size}", url)
        assert shot.returncode == 0, shot.stderr[-2000:]
        img = pixels(png)
        w, h = map(int, size.split(","))
        assert img.shape == (h, w)
        assert img.std() > 20  # not blank: text, tables, headings
        dark = (img < 128).mean()
        assert 0.01 < dark < 0.5
        if os.environ.get("BACKPROP_KEEP_SCREENSHOTS"):
            shutil.copy(png, Path(os.environ["BACKPROP_KEEP_SCREENSHOTS"]) / name)

    pdf = tmp_path / "report.pdf"
    printed = browse(chromium, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url)
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000
