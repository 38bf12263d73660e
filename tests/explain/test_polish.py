"""Issue 16's explain polish, in the markup and the numbers (the browser side is in
test_html_polish_browser.py): l as an identifier, inline fractions in shape labels, the
prediction and the label, the input as a picture, and the notebook reprs."""

from __future__ import annotations

import base64
import html
import io
import json
import re

import numpy as np
import pytest

import backprop as bp
from backprop.explain import explain, source_example
from backprop.explain.expressions import Shaped, Sym, partial
from backprop.report import render
from backprop.report.html import _png, is_image


def test_a_letter_superscript_is_an_identifier_and_a_digit_a_number() -> None:
    assert Sym("W", "l").mathml() == '<msup><mi>W</mi><mi mathvariant="italic">l</mi></msup>'
    assert Sym("W", 2).mathml() == "<msup><mi>W</mi><mn>2</mn></msup>"
    net, X, T = source_example(seed=0)
    page = render(explain(net, X, T), "html")
    assert not re.search(r"<mn>[^<]*[A-Za-z]", page)  # no letter ever set as a number
    assert page.count('<mi mathvariant="italic">l</mi>') == 2  # W^l and b^l of the last step


def test_shape_labels_carry_the_fraction_inline() -> None:
    label = Shaped(partial("C", Sym("W", 2)), (2, 4)).mathml()
    assert "<mfrac>" not in label and "<mo>/</mo>" in label
    assert label.startswith("<msub>") and "<mn>2</mn><mo>×</mo><mn>4</mn>" in label
    assert "<mfrac>" in partial("C", Sym("W", 2)).mathml()  # the equations keep theirs


def test_the_prediction_and_the_label() -> None:
    rng = np.random.default_rng(3)
    net = bp.Network([5, 6, 4], output="softmax", cost="cross-entropy", seed=1)
    X = rng.uniform(size=(3, 5))
    labels = np.array([2, 0, 3])
    e = explain(net, X, labels)
    predicted = net.predict(X).argmax(axis=1)  # rows: the library's public prediction
    assert e.labels == [2, 0, 3] and e.predicted == predicted.tolist()
    right = int((predicted == labels).sum())
    text = render(e, "text")
    assert f"the labels are 2, 0, 3: {right} of 3 correct." in text
    doc = json.loads(render(e, "json"))
    assert doc["labels"] == [2, 0, 3] and doc["predicted"] == predicted.tolist()

    one = explain(net, X[:1], labels[:1])
    k = int(predicted[0])
    a_k = float(net.predict(X[:1])[0, k])
    verdict = "correct" if k == 2 else "wrong"
    expected = f"The network predicts class {k} (its largest output, a² = {a_k:.4g}); "
    assert expected + f"the label is class 2: {verdict}." in render(one, "markdown")


def test_no_prediction_line_without_one_hot_targets() -> None:
    net = bp.Network([3, 4, 2], seed=0)
    e = explain(net, [[0.1, 0.2, 0.3]], [[0.3, 0.7]])  # not one-hot: no class
    assert e.labels is None and e.predicted is None
    assert "predicts" not in render(e, "text")
    reg = explain(bp.Network([3, 2, 1], output="identity", seed=0), [[0.1, 0.2, 0.3]], [[0.5]])
    assert reg.labels is None


def test_the_png_decodes_to_the_pixels() -> None:
    from PIL import Image

    gray = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(_png(gray)))))
    np.testing.assert_array_equal(decoded, gray)
    assert is_image(np.zeros((64, 1))) and is_image(np.ones((784, 1)))
    assert not is_image(np.zeros((3, 1))) and not is_image(np.full((64, 1), 2.0))
    assert not is_image(np.zeros((63, 1)))


def test_an_image_input_shows_as_a_picture_and_the_source_network_has_none() -> None:
    net = bp.Network([64, 10, 10], output="softmax", cost="cross-entropy", seed=0)
    x = np.linspace(0, 1, 64)[None, :]
    page = render(explain(net, x, [3]), "html")
    src = re.search(r'<img class="picture"[^>]*src="data:image/png;base64,([^"]+)"', page)
    assert src and 'data-side="8"' in page
    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.group(1)))), dtype=float)
    np.testing.assert_allclose(decoded, np.round(255 * (1 - x.reshape(8, 8))))
    net3, X, T = source_example(seed=0)
    assert "<img" not in render(explain(net3, X, T), "html")


@pytest.mark.parametrize("seed", [0, 4])
def test_explanation_reprs(seed: int) -> None:
    net, X, T = source_example(seed=seed)
    e = explain(net, X, T, lr=0.5)
    assert repr(e) == (
        f"Explanation(3-4-2 network, m=1, α=0.5: C {e.cost:.6g} → {e.cost_after:.6g}, "
        "finite-difference checks passed)"
    )
    frame = e._repr_html_()
    frame_re = r'<iframe srcdoc="([^"]*)" title="backprop explain" style="[^"]*"></iframe>'
    m = re.fullmatch(frame_re, frame)
    assert m and html.unescape(m.group(1)) == render(e, "html")
