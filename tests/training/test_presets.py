"""Presets: the book's settings, a reduced real-MNIST run in CI, and the full runs (slow).

The full runs take minutes each and are marked ``slow``; run them with
``BACKPROP_SLOW=1 python -m pytest tests/test_presets.py -m slow``. The
reduced run (20,000 training images, 3 epochs of the chapter-1 network) runs
by default and must clear 90 % test accuracy on the 10,000 real test images.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from backprop.cli import main
from backprop.errors import ConfigError
from backprop.presets import PRESETS, get
from support import MNIST, needs_mnist


def test_book_settings():
    """Each preset holds the numbers printed in the book (Nielsen, ch. 1 and ch. 3)."""
    ch1 = get("nielsen-ch1").config
    # ch. 1: net = Network([784, 30, 10]); net.SGD(training_data, 30, 10, 3.0, test_data=…)
    assert ch1["layers"] == [784, 30, 10]
    assert (ch1["epochs"], ch1["batch_size"], ch1["lr"]) == (30, 10, 3.0)
    assert (ch1["activation"], ch1["output"], ch1["cost"], ch1["init"]) == (
        "sigmoid",
        "sigmoid",
        "quadratic",
        "normal",
    )
    assert ch1["optimizer"] == "sgd" and ch1["l2"] == 0 and ch1["dropout"] == 0
    ch1_100 = get("nielsen-ch1-100").config
    assert ch1_100 == {**ch1, "layers": [784, 100, 10]}
    # ch. 3: Network([784, 100, 10], cost=CrossEntropyCost); SGD(…, 60, 10, 0.1, lmbda=5.0)
    ch3 = get("nielsen-ch3").config
    assert ch3["layers"] == [784, 100, 10]
    assert (ch3["epochs"], ch3["batch_size"], ch3["lr"], ch3["l2"]) == (60, 10, 0.1, 5.0)
    assert (ch3["cost"], ch3["init"], ch3["optimizer"]) == ("cross-entropy", "scaled-normal", "sgd")
    modern = get("modern").config
    assert modern["activation"] == "relu" and modern["output"] == "softmax"
    assert modern["init"] == "he-normal" and modern["optimizer"] == "adam"
    assert modern["dropout"] > 0 and modern["patience"] >= 1
    assert get("nielsen-ch1").book_accuracy == 0.9542
    assert get("nielsen-ch1-100").book_accuracy == 0.9659
    assert get("nielsen-ch3").book_accuracy == 0.9804
    targets = {name: p.target for name, p in PRESETS.items()}
    assert targets == {
        "nielsen-ch1": 0.940,
        "nielsen-ch1-100": None,
        "nielsen-ch3": 0.975,
        "modern": 0.983,
    }


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="choose one of: modern, nielsen-ch1, nielsen-ch1-100"):
        get("nielsen-ch2")


def test_describe_lists_the_flags():
    text = get("nielsen-ch3").describe()
    assert "--lr 0.1" in text and "--l2 5.0" in text and "--layers 784,100,10" in text


@pytest.fixture(scope="module")
def mnist_subset(tmp_path_factory):
    """The first 20,000 MNIST training images, 2,000 for validation, all 10,000 test images."""
    from backprop.data import load

    ds = load(f"mnist:{MNIST}")
    path = tmp_path_factory.mktemp("mnist") / "mnist20k.npz"
    np.savez(
        path,
        X=ds.X_train[:20000],
        y=ds.y_train[:20000],
        X_val=ds.X_val[:2000],
        y_val=ds.y_val[:2000],
        X_test=ds.X_test,
        y_test=ds.y_test,
    )
    return path


@needs_mnist
def test_reduced_nielsen_ch1_on_real_mnist(mnist_subset, capsys):
    """The chapter-1 network, 3 epochs on 20,000 real images: ≥ 90 % on the real test set.

    (The full run reaches about 95 %; a run of this size reached 91.4 % when
    this test was written. Most seeds behave alike; an unlucky one leaves an
    output unit saturated, which is why the floor is for seed 0.)
    """
    argv = ["train", "--preset", "nielsen-ch1", "--data", str(mnist_subset), "--epochs", "3"]
    rc = main([*argv, "--seed", "0", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    result = json.loads(captured.out)
    assert result["data"]["n_train"] == 20000 and result["data"]["n_test"] == 10000
    assert result["network"]["sizes"] == [784, 30, 10]
    h = result["history"]
    assert len(h["val_accuracy"]) == 3 and len(h["test_accuracy"]) == 3
    assert result["test_accuracy"] >= 0.90
    assert result["preset"]["name"] == "nielsen-ch1" and result["preset"]["book_accuracy"] == 0.9542


# -- the full runs --------------------------------------------------------------


def _slow_enabled(config) -> bool:
    markexpr = config.getoption("-m") or ""
    return os.environ.get("BACKPROP_SLOW") == "1" or ("slow" in markexpr and "not" not in markexpr)


@pytest.fixture
def slow(request):
    if not _slow_enabled(request.config):
        pytest.skip("full MNIST run; set BACKPROP_SLOW=1 or pass -m slow")


@needs_mnist
@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name", ["nielsen-ch1", "nielsen-ch3", "modern"])
def test_full_preset_meets_its_target(name, slow, capsys):
    rc = main(["train", "--preset", name, "--data", f"mnist:{MNIST}", "--seed", "0", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    result = json.loads(captured.out)
    assert result["test_accuracy"] >= PRESETS[name].target, result["test_accuracy"]
    assert all(a is not None for a in result["history"]["val_accuracy"])
    assert all(a is not None for a in result["history"]["test_accuracy"])
