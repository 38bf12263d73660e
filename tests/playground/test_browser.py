"""The playground in a real headless Chromium (Debian's chromium + chromium-driver).

Starts the real server, presses play, waits for the circle's test loss to fall, changes the
data set and the activation through the page's controls, clicks a neuron and reads its δ
from the DOM against backprop's own backward pass for the same weights and point, and
checks screenshots at 1280 px and 390 px are not blank. Skipped without Chromium, unless
CI is set (then it fails).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import backprop as bp

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail(
                "CI is set but chromium or chromedriver is missing "
                "(apt-get install chromium chromium-driver)"
            )
        pytest.skip("needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-background-networking",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def js(driver, expr: str):
    return driver.execute_script(f"return {expr};")


def wait(driver, expr: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = js(driver, expr)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {expr}")


def pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)


def test_playground_in_chromium(browser, live, tmp_path):
    # one scenario on one page, step after step: longer than 60 lines on purpose
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(live.url)
    wait(d, "window.playground.net && window.playground.frame")
    assert js(d, "window.playground.net.sizes") == [2, 4, 2, 1]

    # play: the circle's test loss falls below 0.05 within 10 s
    first = js(d, "window.playground.frame.loss_test")
    d.find_element(By.ID, "play").click()
    start = time.monotonic()
    wait(d, "window.playground.frame.loss_test < 0.05", timeout=10)
    took = time.monotonic() - start
    assert (
        first > 0.2 and float(d.find_element(By.ID, "loss-test").get_attribute("data-value")) < 0.05
    )
    d.find_element(By.ID, "play").click()  # pause
    wait(d, "window.playground.frame.playing === false")
    print(f"circle: test loss {first:.3f} → < 0.05 in {took:.2f} s")

    # change the data set and the activation through the controls
    d.find_element(By.ID, "ds-xor").click()
    wait(d, "window.playground.net.config.dataset === 'xor'")
    Select(d.find_element(By.ID, "activation")).select_by_value("relu")
    wait(d, "window.playground.net.activations.join() === 'relu,relu,tanh'")
    assert "dataset=xor" in d.current_url and "activations=relu%2Crelu" in d.current_url
    d.find_element(By.ID, "step").click()
    wait(d, "window.playground.frame.epoch === 1")

    # a neuron's δ at the point under the cursor, against backprop's backward pass
    heat = d.find_element(By.ID, "points")
    ActionChains(d).move_to_element_with_offset(heat, 75, -75).perform()  # (3, 3) on [−6, 6]²
    d.find_element(By.ID, "n-1-2").click()
    insp = wait(
        d,
        "window.playground.inspect && !document.getElementById('inspector').hidden"
        " && window.playground.inspect",
    )
    assert insp["epoch"] == 1
    net = bp.Network([2, 4, 2, 1], activation=["relu", "relu"], output="tanh")
    for l in (1, 2, 3):
        net.W[l][...] = insp["W"][l - 1]
        net.b[l][:, 0] = insp["b"][l - 1]
    grads = net.gradients(np.array([insp["x"]]), np.array([insp["t"]]))
    shown = float(d.find_element(By.ID, "insp-delta").get_attribute("data-value"))
    assert shown == pytest.approx(grads.delta[1][2, 0], rel=1e-9, abs=1e-15)
    assert float(d.find_element(By.ID, "insp-delta").text) == pytest.approx(shown, rel=1e-5)
    z = float(d.find_element(By.ID, "insp-z").get_attribute("data-value"))
    assert z == pytest.approx(net.forward(np.array([insp["x"]])).z[1][2, 0], rel=1e-12)
    # the point is the data point nearest (3, 3), and the page drew these weights
    pts = np.array(js(d, "window.playground.net.train.concat(window.playground.net.test)"))
    assert np.hypot(*(np.array(insp["point"]) - 3)) == pytest.approx(
        np.hypot(pts[:, 0] - 3, pts[:, 1] - 3).min(), abs=2e-3
    )
    np.testing.assert_allclose(js(d, "window.playground.frame.W[0]"), insp["W"][0], atol=1e-5)

    # the point's full walk-through, rendered by backprop explain's HTML report
    d.find_element(By.ID, "explain").click()
    wait(d, "document.getElementById('explain-dialog').open")
    doc = js(d, "document.getElementById('explain-frame').srcdoc")
    assert "Backpropagation, step by step" in doc and f"Playground point {insp['index']}" in doc
    d.find_element(By.CSS_SELECTOR, "#explain-dialog form button").click()

    # click a link, type a weight: the server's W² changes to it
    d.execute_script(
        'document.querySelector(\'path.hit[data-layer="2"][data-row="1"][data-col="3"]\')'
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    box = d.find_element(By.ID, "weight-value")
    box.clear()
    box.send_keys("-1.25")
    d.find_element(By.ID, "weight-set").click()
    wait(d, "window.playground.frame.W[1][1][3] === -1.25")

    # screenshots: not blank at 1280 px and at 390 px
    for width in (1280, 390):
        d.set_window_size(width, 1000)
        time.sleep(0.4)
        png = d.get_screenshot_as_png()
        img = pixels(png)
        assert abs(img.shape[1] - width) <= 16
        assert img.std() > 20 and 0.01 < (img < 128).mean() < 0.6
        assert js(d, "document.documentElement.scrollWidth") <= width  # nothing cut off
        if os.environ.get("BACKPROP_KEEP_SCREENSHOTS"):
            Path(os.environ["BACKPROP_KEEP_SCREENSHOTS"], f"playground-{width}.png").write_bytes(
                png
            )
    assert js(d, "window.playground.stats.errors.length") == 0


def test_controls_points_upload_and_export(browser, live, tmp_path):
    # one scenario on one page, step after step: longer than 60 lines on purpose
    import base64

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.set_window_size(1280, 1000)
    d.get("about:blank")
    d.get(live.url)  # a fresh page: the default experiment
    wait(d, "window.playground.net && window.playground.frame")
    errors_before = js(d, "window.playground.stats.errors.length")
    d.find_element(By.ID, "reset").click()
    # + adds a hidden layer of 2; a neuron more in the first; an input toggled on
    d.find_element(By.ID, "add-layer").click()
    wait(d, "window.playground.net.sizes.join() === '2,4,2,2,1'")
    d.find_elements(By.CSS_SELECTOR, ".add-neuron")[0].click()
    wait(d, "window.playground.net.sizes.join() === '2,5,2,2,1'")
    d.find_element(By.ID, "in-sinx1").click()
    wait(d, "window.playground.net.config.inputs.join() === 'x1,x2,sinx1'")
    # regression: no accuracy, a linear output
    Select(d.find_element(By.ID, "problem")).select_by_value("regression")
    wait(d, "window.playground.net.kind === 'regression'")
    assert js(d, "window.playground.net.activations.slice(-1)[0]") == "identity"
    d.find_element(By.ID, "step").click()
    wait(d, "window.playground.frame.epoch === 1 && window.playground.frame.accuracy_test === null")
    # three drawn classes → a softmax network
    Select(d.find_element(By.ID, "problem")).select_by_value("classification")
    wait(d, "window.playground.net.kind === 'binary'")
    d.find_element(By.ID, "draw").click()
    pts = d.find_element(By.ID, "points")
    for k, (ox, oy) in enumerate([(-90, 90), (90, 90), (0, -90)]):
        Select(d.find_element(By.ID, "draw-class")).select_by_value(str(k))
        for dx in (-15, 0, 15):
            for dy in (-15, 0, 15):
                ActionChains(d).move_to_element_with_offset(pts, ox + dx, oy + dy).click().perform()
    d.find_element(By.ID, "ds-custom").click()
    wait(d, "window.playground.net.kind === 'multiclass'")
    assert js(d, "window.playground.net.sizes.slice(-1)[0]") == 3
    assert (
        len(js(d, "window.playground.net.train")) + len(js(d, "window.playground.net.test")) == 27
    )
    d.find_element(By.ID, "draw").click()
    # a CSV upload: 36 points, two classes, half of them for training
    csv = tmp_path / "points.csv"
    rows = [(x, y, int(x * y > 0)) for x in (-5, -3, -1, 1, 3, 5) for y in (-5, -3, -1, 1, 3, 5)]
    csv.write_text("x1,x2,label\n" + "\n".join(f"{x},{y},{c}" for x, y, c in rows) + "\n")
    d.find_element(By.ID, "csv").send_keys(str(csv))
    wait(d, "window.playground.net.kind === 'binary' && window.playground.net.train.length === 18")
    # export: the page receives a model file that backprop reads
    d.execute_script("HANDLERS.export = (m) => { window.__export = m; };")
    d.find_element(By.ID, "export-model").click()
    exported = wait(d, "window.__export")
    path = tmp_path / exported["filename"]
    path.write_bytes(base64.b64decode(exported["data"]))
    net = bp.load(path)
    assert net.sizes == js(d, "window.playground.net.sizes")
    assert js(d, "window.playground.stats.errors.length") == errors_before

    # the URL fragment reproduces an experiment
    d.get("about:blank")
    d.get(live.url + "#dataset=gauss&hidden=3&activations=sigmoid&lr=0.1&noise=20&showTest=1")
    wait(d, "window.playground.net && window.playground.net.config.dataset === 'gauss'")
    assert js(d, "window.playground.net.sizes") == [2, 3, 1]
    assert js(d, "window.playground.net.config.noise") == 20
    assert d.find_element(By.ID, "lr").get_attribute("value") == "0.1"
    assert d.find_element(By.ID, "show-test").is_selected()
