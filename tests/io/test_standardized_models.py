"""Model files with a standardisation: tensors beside the weights, covered by the checksum.

A :class:`backprop.Model` saves its network as trained and its Standardizer as float64
tensors ``standardize.mean``, ``standardize.scale`` (and ``standardize.y_mean``,
``standardize.y_scale``), named by the document's ``standardize`` field. The files here
are written with ``safetensors.numpy.save_file`` and checksummed by the rule in
docs/model-format.md, computed in this file, never by ``backprop.io``. Files without the
field (every file before, including those whose standardisation was folded into W¹, b¹)
load as a plain Network, as before.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import backprop as bp
from backprop import io
from backprop.errors import ModelFileError

safetensors_numpy = pytest.importorskip("safetensors.numpy")

CODES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64"}


def _checksum(tensors: dict[str, np.ndarray], doc: dict) -> str:
    """docs/model-format.md, "Checksum", version 3: manifest, bytes in name order, document."""
    names = sorted(tensors)
    manifest = [[n, CODES[tensors[n].dtype], list(tensors[n].shape)] for n in names]
    h = hashlib.sha256(json.dumps(manifest, separators=(",", ":")).encode("ascii"))
    for n in names:
        h.update(tensors[n].astype(tensors[n].dtype.newbyteorder("<")).tobytes())
    rest = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    h.update(text.encode("ascii"))
    return h.hexdigest()


def _raw(rows: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 3)) * [1.0, 20.0, 300.0] + [5.0, -40.0, 1000.0]
    Y = rng.standard_normal((rows, 2)) * [3.0, 50.0] + [10.0, 200.0]
    return X, Y


def _model(target: bool = True) -> bp.Model:
    X, Y = _raw()
    net = bp.Network([3, 4, 2], activation="tanh", output="identity", seed=1)
    return bp.Model(net, bp.Standardizer.fit(X, Y if target else None))


def _write(path, tensors: dict, doc: dict, reseal: bool = True) -> None:
    if reseal:
        doc["sha256"] = _checksum(tensors, doc)
    safetensors_numpy.save_file(tensors, str(path), metadata={"backprop": json.dumps(doc)})


def _parts(path) -> tuple[dict, dict]:
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        doc = json.loads(f.metadata()["backprop"])
    return dict(safetensors_numpy.load_file(str(path))), doc


@pytest.mark.parametrize("target", [False, True])
def test_round_trip_stores_the_network_as_trained_and_the_statistics(tmp_path, target) -> None:
    model = _model(target)
    path = tmp_path / "m.safetensors"
    model.save(path, metadata={"note": "raw rows in"})
    tensors, doc = _parts(path)
    names = {"standardize.mean", "standardize.scale"}
    if target:
        names |= {"standardize.y_mean", "standardize.y_scale"}
    assert set(tensors) == {"W1", "b1", "W2", "b2"} | names
    for name in names:
        assert tensors[name].dtype == np.float64
        assert tensors[name].shape == ((2,) if "y_" in name else (3,))
    X, Y = _raw()
    np.testing.assert_array_equal(tensors["standardize.mean"], X.mean(axis=0))
    np.testing.assert_array_equal(tensors["standardize.scale"], X.std(axis=0))
    np.testing.assert_array_equal(tensors["W1"], model.network.W[1])  # not folded
    assert doc["standardize"] == {"target": target} and doc["format_version"] == 3
    assert doc["sha256"] == _checksum(tensors, doc)  # the checksum covers the new tensors
    loaded = bp.load(path)
    assert isinstance(loaded, bp.Model) and loaded.metadata == {"note": "raw rows in"}
    assert loaded.standardizer == model.standardizer
    # raw rows in; the expected value computed here from the stored tensors alone
    A = np.tanh(((X - X.mean(0)) / X.std(0)) @ tensors["W1"].T + tensors["b1"])
    A = A @ tensors["W2"].T + tensors["b2"]
    if target:
        A = A * Y.std(0) + Y.mean(0)
    np.testing.assert_allclose(loaded.predict(X), A, rtol=1e-12)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_plain_network_file_is_unchanged(tmp_path) -> None:
    net = bp.Network([3, 4, 2], seed=0)
    net.save(tmp_path / "n.safetensors")
    tensors, doc = _parts(tmp_path / "n.safetensors")
    assert set(tensors) == {"W1", "b1", "W2", "b2"} and "standardize" not in doc
    assert type(bp.load(tmp_path / "n.safetensors")) is bp.Network
    assert bp.Model.of(bp.load(tmp_path / "n.safetensors")).standardizer is None


def test_save_with_a_standardizer_argument(tmp_path) -> None:
    model = _model()
    io.save(model.network, tmp_path / "a.safetensors", standardizer=model.standardizer)
    model.save(tmp_path / "b.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    wrong = bp.Standardizer(np.zeros(5), np.ones(5))
    with pytest.raises(bp.ConfigError, match="does not fit the network's 3 inputs"):
        io.save(model.network, tmp_path / "c.safetensors", standardizer=wrong)
    assert not (tmp_path / "c.safetensors").exists()


def test_a_model_refuses_what_does_not_fit() -> None:
    net = bp.Network([3, 4, 2], seed=0)
    with pytest.raises(bp.DataError, match="standardisation is of 5 features"):
        bp.Model(net, bp.Standardizer(np.zeros(5), np.ones(5)))
    with pytest.raises(bp.DataError, match="scale must be positive"):
        bp.Standardizer(np.zeros(3), np.array([1.0, 0.0, 1.0]))
    with pytest.raises(AttributeError, match="use model.network.forward with model.inputs"):
        bp.Model(net).forward(np.zeros((1, 3)))


def _edit(tmp_path, edit, reseal: bool = True):
    """The saved model with ``edit(tensors, doc)`` applied, rewritten (checksum recomputed
    unless ``reseal`` is False): the message bp.load gives."""
    path = tmp_path / "m.safetensors"
    _model().save(path)
    tensors, doc = _parts(path)
    edit(tensors, doc)
    _write(path, tensors, doc, reseal=reseal)
    with pytest.raises(ModelFileError) as info:
        bp.load(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def _set(d: dict, key: str, value) -> None:
    d[key] = value


EDITS = {
    "field without tensors": (
        lambda t, d: [t.pop("standardize.mean"), t.pop("standardize.scale")],
        "missing tensor standardize.mean, standardize.scale for the standardisation",
    ),
    "target tensors missing": (
        lambda t, d: t.pop("standardize.y_mean"),
        "missing tensor standardize.y_mean for the standardisation",
    ),
    "tensors without the field": (
        lambda t, d: d.pop("standardize"),
        "unexpected tensor 'standardize.mean'",
    ),
    "target tensors the field does not name": (
        lambda t, d: _set(d, "standardize", {"target": False}),
        "unexpected tensor 'standardize.y_mean'",
    ),
    "float32 statistics": (
        lambda t, d: _set(t, "standardize.scale", t["standardize.scale"].astype(np.float32)),
        "tensor standardize.scale is F32; a standardisation is F64",
    ),
    "a mean per output": (
        lambda t, d: _set(t, "standardize.mean", np.zeros(2)),
        "tensor standardize.mean has shape [2] but metadata sizes [3, 4, 2] need [3]",
    ),
    "zero scale": (
        lambda t, d: _set(t, "standardize.scale", np.array([1.0, 0.0, 2.0])),
        "invalid standardisation: a Standardizer's scale must be positive",
    ),
    "NaN mean": (
        lambda t, d: _set(t, "standardize.mean", np.array([1.0, np.nan, 2.0])),
        "tensor standardize.mean holds NaN or inf values",
    ),
    "field not an object": (
        lambda t, d: _set(d, "standardize", "yes"),
        "metadata 'standardize' must be {\"target\": true or false}",
    ),
    "field in a version-2 file": (
        lambda t, d: _set(d, "format_version", 2),
        "metadata 'standardize' needs format version 3",
    ),
}


@pytest.mark.parametrize("case", list(EDITS))
def test_malformed_standardisation(tmp_path, case) -> None:
    edit, message = EDITS[case]
    assert message in _edit(tmp_path, edit)


def test_checksum_covers_the_statistics(tmp_path) -> None:
    def nudge(tensors: dict, doc: dict) -> None:
        tensors["standardize.mean"] = tensors["standardize.mean"] + 1e-9

    assert "checksum mismatch" in _edit(tmp_path, nudge, reseal=False)

    def retarget(tensors: dict, doc: dict) -> None:
        doc["standardize"] = {"target": False}
        tensors.pop("standardize.y_mean")
        tensors.pop("standardize.y_scale")

    assert "checksum mismatch" in _edit(tmp_path, retarget, reseal=False)


def test_a_model_the_previous_version_folded_loads_and_predicts_as_before(tmp_path) -> None:
    """Before, ``backprop train --standardize`` folded the statistics into W¹, b¹ (and Wᴸ, bᴸ)
    and kept them in the metadata as ``{"folded": true, …}``: such a file is a plain
    network that takes raw rows, and nothing is applied on top of it."""
    from backprop.data.tables import range_warning

    X, Y = _raw()
    mu, s, mu_y, s_y = X.mean(0), X.std(0), Y.mean(0), Y.std(0)
    net = bp.Network([3, 4, 2], activation="tanh", output="identity", seed=1)
    trained = net.copy()
    # the fold, by hand: W¹ ← W¹ diag(1/s), b¹ ← b¹ − W¹ μ; Wᴸ ← diag(s_y) Wᴸ, bᴸ ← s_y bᴸ + μ_y
    net.W[1] = trained.W[1] / s
    net.b[1] = trained.b[1] - (net.W[1] @ mu).reshape(-1, 1)
    net.W[2] = trained.W[2] * s_y[:, None]
    net.b[2] = trained.b[2] * s_y[:, None] + mu_y[:, None]
    folded = {"folded": True, "mean": mu.tolist(), "scale": s.tolist()}
    folded |= {"y_mean": mu_y.tolist(), "y_scale": s_y.tolist()}
    net.save(tmp_path / "old.safetensors", metadata={"standardize": folded})
    old = bp.load(tmp_path / "old.safetensors")
    assert type(old) is bp.Network and old.metadata["standardize"]["folded"] is True
    expected = bp.Model(trained, bp.Standardizer(mu, s, mu_y, s_y)).predict(X)
    np.testing.assert_allclose(old.predict(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(old.predict(X), net.predict(X))  # nothing applied on top
    far = X[:2].copy()
    far[1, 2] = mu[2] + 40 * s[2]
    note = range_warning(old.metadata, far, "rows.csv")
    assert note is not None and "row 2, column 3 is 40 standard deviations" in note
