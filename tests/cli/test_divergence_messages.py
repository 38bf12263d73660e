"""Divergence is named for what caused it, and a cost that explodes is divergence (issue 17).

Before: ``--l2 1e308`` and inputs near 3e38 were blamed on the learning rate; Adam at
``--lr 1e10`` ended at cost 5e9 and 10 % accuracy with exit 0 (and replaced ``--out``).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from backprop.cli import main
from backprop.cli.train import _blown_up, _divergence_cause
from backprop.training import History

LIBRARY_MESSAGE = (
    "training diverged: the cost became nan in epoch 1 with learning rate 0.1; kept the "
    "weights from the end of initialisation. Try a lower learning rate, e.g. lr=0.01"
)


def test_l2_that_overflows_is_named(tmp_path, capsys):
    argv = ["train", "--optimizer", "sgd", "--lr", "0.1", "--l2", "1e308", "--epochs", "2"]
    assert main([*argv, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "The L2 penalty --l2 1e+308 is too large" in err
    assert "Try a lower learning rate" not in err


def _session(X, l2=0.0, lr=0.1):
    dataset = SimpleNamespace(X_train=np.asarray(X, np.float32))
    return SimpleNamespace(config={"l2": l2, "lr": lr}, dataset=dataset)


def test_huge_inputs_are_named_and_the_learning_rate_otherwise():
    huge = _divergence_cause(LIBRARY_MESSAGE, _session(np.full((3, 2), 3e38)))
    assert huge.endswith("The inputs are too large (largest |x| = 3e+38): scale them, for "
                         "example to [0, 1] or to mean 0 and standard deviation 1")  # fmt: skip
    assert huge.startswith(LIBRARY_MESSAGE[: LIBRARY_MESSAGE.index(". Try")])
    # ordinary inputs and a small L2: the learning rate it is, as the library said
    assert _divergence_cause(LIBRARY_MESSAGE, _session(np.ones((3, 2)), l2=5.0)) == LIBRARY_MESSAGE


def test_a_cost_that_grows_a_thousandfold_is_divergence():
    h = History(epoch=[1, 2], train_cost=[8.0e9, 5.0e9], lr=[1e10, 1e10])
    message = _blown_up(h, 2.3)
    assert message is not None and message.startswith(
        "training diverged: the cost grew from 2.3 before training to 5e+09"
    )
    assert _blown_up(History(epoch=[1], train_cost=[2000.0], lr=[0.1]), 2.3) is None  # 870x
    assert _blown_up(History(epoch=[1], train_cost=[0.1], lr=[0.1]), 2.3) is None


def test_adam_at_lr_1e10_exits_1_and_keeps_the_existing_model(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    good = out.read_bytes()
    capsys.readouterr()
    assert main(["train", "--lr", "1e10", "--epochs", "3", "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "training diverged: the cost grew from" in err
    assert f"model not saved ({out} was left as it was)" in err
    assert out.read_bytes() == good
