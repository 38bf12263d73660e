"""Notebook-native objects: short reprs, HTML tables, ``Network.summary``, ``dir(backprop)``."""

from __future__ import annotations

import re

import numpy as np
import pytest

import backprop as bp
from backprop import display
from backprop.gradcheck import GradcheckResult


def seven_epochs(best: int | None = 1) -> bp.History:
    """A run whose best validation epoch (1) is older than the last five."""
    return bp.History(
        epoch=[1, 2, 3, 4, 5, 6, 7],
        train_cost=[0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.04],
        train_accuracy=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.96],
        val_cost=[0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3],
        val_accuracy=[0.99, 0.6, 0.7, 0.7, 0.7, 0.7, 0.8],
        test_cost=[None] * 7,
        test_accuracy=[None] * 7,
        lr=[0.1] * 7,
        seconds=[0.25] * 7,
        best_epoch=best,
    )


def test_text_table_aligns_numbers_right_and_words_left() -> None:
    table = display.text_table(("name", "n"), [("W1", "16"), ("b12", "4")])
    assert table == "name   n\n----  --\nW1    16\nb12    4"


def test_gradcheck_result_repr_and_html() -> None:
    r = GradcheckResult(W={1: 3e-8, 2: 2e-6}, b={1: 1e-9, 2: 0.0}, tol=1e-7)
    assert repr(r) == "GradcheckResult(max_error=2.00e-06, tol=1e-07, FAILED)"
    html = r._repr_html_()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["W1", "3.00e-08", "ok", "b1", "1.00e-09", "ok"] + [
        "W2", "2.00e-06", "FAIL", "b2", "0.00e+00", "ok",
    ]  # fmt: skip
    assert "FAILED: max relative error 2.00e-06 (tolerance 1e-07)" in html
    ok = bp.gradcheck(bp.Network([3, 4, 2], seed=0), np.ones((2, 3)), [[0.0, 1.0], [1.0, 0.0]])
    assert repr(ok).endswith(", passed)") and ok.max_error < 1e-9


def test_network_summary_rows_match_the_shapes() -> None:
    net = bp.Network([5, 7, 3, 2], activation="tanh", output="softmax", cost="cross-entropy")
    rows = display.network_rows(net)
    assert rows[0] == ("0", "5", "", "", "", "(input)")
    # n_l (n_{l-1} + 1) parameters per layer: 7·6 = 42, 3·8 = 24, 2·4 = 8
    assert [r[4] for r in rows[1:]] == ["42", "24", "8"]
    assert [r[2] for r in rows[1:]] == ["7×5", "3×7", "2×3"]
    assert [r[5] for r in rows[1:]] == ["tanh", "tanh", "softmax"]
    text = display.network_summary(net)
    assert text.splitlines()[0] == (
        "[5, 7, 3, 2] network: cost cross-entropy, init normal, float64, 74 parameters"
    )
    assert "    2        3  3×7  3×1      24  tanh" in text


def test_history_repr_is_compact_and_keeps_the_best_epoch() -> None:
    h = seven_epochs()
    text = repr(h)
    assert text == display.history_repr(h) and h._repr_html_() == display.history_html(h)
    lines = text.splitlines()
    assert lines[0] == "History(7 epochs, the last 5 shown, best epoch 1 (validation))"
    assert lines[1].split() == [
        "epoch", "train", "cost", "train", "acc.", "val.", "cost", "val.", "acc.", "α", "seconds",
    ]  # fmt: skip
    epochs = [int(line.split()[0]) for line in lines[3:]]
    assert epochs == [1, 3, 4, 5, 6, 7]  # the best, then the last five
    assert lines[3].split() == [
        "1",
        "0.5000",
        "50.00%",
        "0.1000",
        "99.00%",
        "0.1",
        "0.25",
        "←",
        "best",
    ]
    assert "test" not in text  # no test data: no empty columns
    assert len(text) < 800


def test_history_html_bolds_the_best_epoch_and_escapes() -> None:
    h = seven_epochs(best=None)
    h.diverged = "cost became inf at <epoch 7>"
    html = display.history_html(h)
    assert "&lt;epoch 7&gt;" in html and "<epoch" not in html
    assert "bold" not in html
    assert "bold" in display.history_html(seven_epochs(best=1))
    assert display.history_repr(bp.History()) == "History(0 epochs)"


def test_dir_lists_the_lazy_names() -> None:
    names = dir(bp)
    for name in ("train", "evaluate", "load", "save", "History", "Network", "gradcheck"):
        assert name in names
        assert getattr(bp, name) is not None
    assert "import_module" not in names and "annotations" not in names


@pytest.mark.parametrize("name", ["train", "load", "History"])
def test_every_lazy_name_in_dir_resolves(name: str) -> None:
    assert callable(getattr(bp, name))


def test_history_to_pandas() -> None:
    pd = pytest.importorskip("pandas")
    h = seven_epochs()
    h.extras["delta_norm_1"] = [0.5 * i for i in range(7)]
    h.extras["partial"] = [1.0]  # not one value per epoch: left out
    df = h.to_pandas()
    assert isinstance(df, pd.DataFrame) and df.index.name == "epoch"
    assert df.index.tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert "test_cost" not in df and "partial" not in df  # never measured / not per epoch
    assert df["val_accuracy"].tolist() == h.val_accuracy
    assert df["delta_norm_1"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert df["train_cost"].idxmin() == 7 and df["val_accuracy"].idxmax() == h.best_epoch


def test_a_real_run_shows_compactly() -> None:
    from backprop.data import load

    data = load("digits", seed=0)
    net = bp.Network([64, 16, 10], output="softmax", cost="cross-entropy", seed=0)
    h = bp.train(
        net, data.X_train, data.y_train, epochs=12, batch_size=10, lr=0.5, seed=0,
        validation_data=(data.X_val, data.y_val),
    )  # fmt: skip
    lines = repr(h).splitlines()
    assert lines[0].startswith("History(12 epochs, the last 5 shown, best epoch ")
    shown = [int(line.split()[0]) for line in lines[3:]]
    assert shown[-5:] == [8, 9, 10, 11, 12] and h.best_epoch in shown
    best_row = next(line for line in lines[3:] if line.endswith("← best"))
    assert int(best_row.split()[0]) == h.best_epoch
    assert f"{100 * max(h.val_accuracy):.2f}%" in best_row  # the best validation accuracy
    assert len(repr(h)) < 1000 < len(str(h.to_dict()))


def test_network_summary_and_html() -> None:
    net = bp.Network([784, 30, 10], dtype="float32")
    lines: list[str] = []
    net.summary(print_fn=lines.append)
    assert lines == [display.network_summary(net)]
    text = lines[0]
    # 784·30 + 30 = 23,550 and 30·10 + 10 = 310: 23,860 in all, as net.n_params says
    assert net.n_params == 23_860
    assert text.splitlines()[0].endswith("float32, 23,860 parameters")
    assert "    1       30  30×784  30×1  23,550  sigmoid" in text
    html = net._repr_html_()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells[6:12] == ["1", "30", "30×784", "30×1", "23,550", "sigmoid"]
    assert "23,860 parameters" in html and repr(net).startswith("Network([784, 30, 10]")


def test_summary_prints(capsys: pytest.CaptureFixture[str]) -> None:
    bp.Network([3, 4, 2]).summary()
    out = capsys.readouterr().out
    assert out.startswith("[3, 4, 2] network: cost quadratic, init normal, float64, 26 parameters")
