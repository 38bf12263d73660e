"""ONNX export and PyTorch interop, checked by the real libraries.

The reference outputs come from ONNX Runtime and from torch's own modules,
both computed independently of ``Network.predict``.
"""

from __future__ import annotations

import numpy as np
import pytest

import backprop as bp
from backprop import export
from backprop.errors import ConfigError, ModelFileError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
nn = torch.nn

HIDDEN = ["sigmoid", "tanh", "relu", "leaky-relu", "identity"]
OUTPUTS = [*HIDDEN, "softmax"]


def make_net(hidden, output, dtype="float32", sizes=(20, 16, 12, 5), seed=0, init="scaled-normal"):
    cost = "cross-entropy" if output == "softmax" else "quadratic"
    return bp.Network(
        list(sizes), activation=hidden, output=output, cost=cost, dtype=dtype, seed=seed, init=init
    )


def run_onnx(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": X.astype(np.float32)})[0]


def random_inputs(n_features, m=1000, seed=1):
    return np.random.default_rng(seed).standard_normal((m, n_features)).astype(np.float32)


# -- ONNX ------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_onnxruntime_matches_predict(hidden, output, dtype):
    net = make_net(hidden, output, dtype)
    model = export.to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    X = random_inputs(20)
    got = run_onnx(model, X)
    want = net.predict(X)
    assert got.dtype == np.float32 and got.shape == (1000, 5)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("output", OUTPUTS)
def test_onnxruntime_large_outputs_agree_to_float32_precision(output):
    # With N(0, 1) weights the outputs reach ~50: there float32 itself resolves
    # only ~4e-6, so the agreement is relative (a float64 net is rounded to float32).
    net = make_net("relu", output, "float64", init="normal")
    X = random_inputs(20)
    np.testing.assert_allclose(
        run_onnx(export.to_onnx(net), X), net.predict(X), rtol=1e-5, atol=1e-5
    )


def test_onnx_graph_is_standard():
    net = bp.Network([4, 3, 2], activation="leaky-relu", output="softmax", cost="cross-entropy")
    model = export.to_onnx(net)
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["Gemm", "LeakyRelu", "Gemm", "Softmax"]
    attrs = {
        n.op_type: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        for n in model.graph.node
    }
    assert attrs["Gemm"] == {"transB": 1}
    assert attrs["LeakyRelu"]["alpha"] == pytest.approx(0.01)
    assert attrs["Softmax"]["axis"] == -1
    (inp,), (out,) = model.graph.input, model.graph.output
    for value, width in ((inp, 4), (out, 2)):
        t = value.type.tensor_type
        assert t.elem_type == onnx.TensorProto.FLOAT
        batch, features = t.shape.dim
        assert batch.dim_param == "batch" and not batch.HasField("dim_value")
        assert features.dim_value == width
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    np.testing.assert_array_equal(weights["W1"], net.W[1].astype(np.float32))
    np.testing.assert_array_equal(weights["b2"], net.b[2].ravel().astype(np.float32))
    assert model.opset_import[0].version == export.DEFAULT_OPSET


def test_softmax_rows_sum_to_one_and_batch_is_dynamic():
    net = make_net("relu", "softmax")
    model = export.to_onnx(net)
    for m in (1, 7, 1000):
        got = run_onnx(model, random_inputs(20, m=m))
        assert got.shape == (m, 5)
        np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-6)


def test_onnx_reference_evaluator_agrees():
    # onnx's own pure-Python evaluator: a second, independent reading of the graph
    from onnx.reference import ReferenceEvaluator

    net = bp.Network([6, 5, 4, 3], activation=["tanh", "leaky-relu"], output="sigmoid", seed=3)
    X = random_inputs(6, m=50)
    (got,) = ReferenceEvaluator(export.to_onnx(net)).run(None, {"input": X})
    np.testing.assert_allclose(got, net.predict(X), atol=1e-6)


@pytest.mark.parametrize("opset", [13, 21])
def test_other_opsets(opset):
    net = make_net("sigmoid", "softmax")
    model = export.to_onnx(net, opset=opset)
    assert model.opset_import[0].version == opset
    X = random_inputs(20, m=100)
    np.testing.assert_allclose(run_onnx(model, X), net.predict(X), atol=1e-5)


@pytest.mark.parametrize("opset", [12, 999, "17"])
def test_bad_opset(opset):
    with pytest.raises(ConfigError, match="opset"):
        export.to_onnx(make_net("relu", "identity"), opset=opset)


def test_to_onnx_writes_file_atomically(tmp_path):
    net = make_net("tanh", "identity", dtype="float64")
    path = tmp_path / "net.onnx"
    model = export.to_onnx(net, path)
    assert path.read_bytes() == model.SerializeToString()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]
    loaded = onnx.load(path)
    props = {p.key: p.value for p in loaded.metadata_props}
    assert props == {
        "sizes": "20,16,12,5",
        "activations": "tanh,tanh,identity",
        "cost": "quadratic",
        "source_dtype": "float64",
    }
    X = random_inputs(20)
    np.testing.assert_allclose(run_onnx(loaded, X), net.predict(X), atol=1e-5)


def test_to_onnx_bad_path(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        export.to_onnx(make_net("relu", "identity"), tmp_path / "nope" / "net.onnx")


def test_to_onnx_needs_a_network():
    with pytest.raises(ConfigError, match="backprop.Network"):
        export.to_onnx("net.onnx")


# -- PyTorch ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_to_torch_outputs_match(hidden, output, dtype):
    net = make_net(hidden, output, dtype)
    module = export.to_torch(net)
    assert isinstance(module, nn.Sequential) and len(module) == 2 * net.L
    assert module[0].weight.dtype == getattr(torch, dtype)
    X = random_inputs(20).astype(dtype)
    with torch.no_grad():
        got = module(torch.from_numpy(X)).numpy()
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, net.predict(X), rtol=0, atol=tol)


def test_to_torch_modules_and_weights():
    net = bp.Network([3, 4, 2], activation="leaky-relu", output="softmax", cost="cross-entropy")
    module = export.to_torch(net)
    kinds = [type(m) for m in module]
    assert kinds == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.Softmax]
    assert module[1].negative_slope == 0.01 and module[3].dim == 1
    for l in (1, 2):
        linear = module[2 * (l - 1)]
        np.testing.assert_array_equal(linear.weight.detach().numpy(), net.W[l])
        np.testing.assert_array_equal(linear.bias.detach().numpy(), net.b[l].ravel())
    # copies: changing the torch model leaves the network alone
    with torch.no_grad():
        module[0].weight.zero_()
    assert np.abs(net.W[1]).sum() > 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUTS)
def test_round_trip_network_torch_network_is_exact(output, dtype):
    net = make_net(["relu", "tanh"], output, dtype)
    back = export.from_torch(export.to_torch(net), cost=net.cost_name)
    assert back.config() | {"init": net.init} == net.config()
    for l in range(1, net.L + 1):
        assert back.W[l].dtype == net.W[l].dtype
        assert back.W[l].tobytes() == net.W[l].tobytes()
        assert back.b[l].tobytes() == net.b[l].tobytes()
        assert back.b[l].shape == net.b[l].shape


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_round_trip_torch_network_torch_is_exact(dtype):
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 5), nn.LeakyReLU(), nn.Linear(5, 3), nn.Softmax(-1)
    ).to(dtype)
    net = export.from_torch(module)
    assert net.sizes == [8, 6, 5, 3]
    assert net.activations == ["tanh", "leaky-relu", "softmax"]
    assert net.cost_name == "cross-entropy"  # the default for a softmax output
    again = export.to_torch(net)
    a, b = module.state_dict(), again.state_dict()
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key])
    X = torch.randn(100, 8, dtype=dtype)
    with torch.no_grad():
        np.testing.assert_allclose(net.predict(X.numpy()), module(X).numpy(), atol=1e-6)


def test_from_torch_implicit_identity_nesting_and_no_bias():
    torch.manual_seed(1)
    module = nn.Sequential(
        nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU(inplace=True)),
        nn.Linear(3, 3),
        nn.Linear(3, 2),
        nn.Sigmoid(),
    )
    net = export.from_torch(module)
    assert net.activations == ["relu", "identity", "sigmoid"]
    assert net.cost_name == "quadratic"
    np.testing.assert_array_equal(net.b[1], np.zeros((3, 1), np.float32))
    X = torch.randn(30, 4)
    with torch.no_grad():
        np.testing.assert_allclose(net.predict(X.numpy()), module(X).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    ("module", "match"),
    [
        (nn.Linear(3, 2), "got Linear"),
        (nn.Sequential(), "no Linear layer"),
        (nn.Sequential(nn.Linear(3, 2), nn.Dropout()), "Dropout"),
        (nn.Sequential(nn.Conv1d(1, 1, 3)), "Conv1d"),
        (nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), "before any Linear"),
        (nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Tanh()), "follows another activation"),
        (nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.2)), "negative_slope"),
        (nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)), "dim=0"),
        (nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)), "must chain"),
        (nn.Sequential(nn.Linear(3, 4), nn.Softmax(1), nn.Linear(4, 2)), "output activation"),
        (nn.Sequential(nn.Linear(3, 4).half()), "float32 or all float64"),
        (nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2).double()), "float32 or all float64"),
    ],
)
def test_from_torch_rejects_unsupported(module, match):
    with pytest.raises(ConfigError, match=match) as info:
        export.from_torch(module)
    assert "\n" not in str(info.value)


def test_from_torch_rejects_invalid_cost():
    module = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    with pytest.raises(ConfigError, match="cross-entropy cost needs"):
        export.from_torch(module, cost="cross-entropy")


def test_state_dict_loads_with_weights_only(tmp_path):
    net = make_net("sigmoid", "softmax", dtype="float64")
    path = tmp_path / "net.pt"
    export.save_torch(net, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt"]
    state = torch.load(path, weights_only=True)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert state["2.weight"].dtype == torch.float64
    np.testing.assert_array_equal(state["2.weight"].numpy(), net.W[2])
    # the state_dict fits a freshly built Sequential of the same shape
    module = nn.Sequential(
        nn.Linear(20, 16),
        nn.Sigmoid(),
        nn.Linear(16, 12),
        nn.Sigmoid(),
        nn.Linear(12, 5),
        nn.Softmax(dim=1),
    ).double()
    module.load_state_dict(state)
    X = random_inputs(20).astype(np.float64)
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(X)).numpy(), net.predict(X), atol=1e-12)
    # and back into a network
    back = export.load_torch_state_dict(make_net("sigmoid", "softmax", "float64", seed=9), state)
    for l in range(1, net.L + 1):
        np.testing.assert_array_equal(back.W[l], net.W[l])


def test_load_torch_state_dict_shape_mismatch():
    state = export.to_torch_state_dict(make_net("relu", "identity"))
    with pytest.raises(ConfigError, match="does not fit"):
        export.load_torch_state_dict(bp.Network([3, 2]), state)


def test_trained_estimator_network_exports_to_onnx_and_torch():
    # end to end: train with the scikit-learn estimator, deploy with ONNX Runtime and torch
    pytest.importorskip("sklearn")
    import warnings

    from sklearn.datasets import load_digits

    from backprop.sklearn import BackpropClassifier

    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = BackpropClassifier(hidden_layer_sizes=(32,), max_epochs=10, random_state=0)
        clf.fit(X, y)
    P = clf.predict_proba(X)
    # the estimator standardises its rows (standardize=True): model_ is network + scaler
    got = run_onnx(export.to_onnx(clf.model_), X)
    np.testing.assert_allclose(got, P, atol=1e-5)
    assert (got.argmax(axis=1) == P.argmax(axis=1)).mean() > 0.999
    with torch.no_grad():
        T = export.to_torch(clf.model_)(torch.from_numpy(X.astype(np.float64))).numpy()
    np.testing.assert_allclose(T, P, atol=1e-12)


# -- a Model: the standardisation as explicit steps -----------------------------


def standardised_model(output: str, target: bool, seed: int = 0):
    """A trained-looking Model on raw rows of very unequal scales, and those rows."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, 6)) * [1, 10, 100, 1000, 0.01, 5] + [0, 50, -300, 1e4, 1, 0]
    Y = rng.standard_normal((300, 3)) * [2, 30, 400] + [1, -20, 5e3]
    net = make_net("tanh", output, dtype="float64", sizes=(6, 8, 3), seed=seed)
    return bp.Model(net, bp.Standardizer.fit(X, Y if target else None)), X, Y


def numpy_forward(net, A):
    """a^L of a tanh network with the given output, rows in: written out here, not backprop's."""
    for l in range(1, net.L + 1):
        Z = A @ net.W[l].T + net.b[l].ravel()
        if l < net.L or net.activations[-1] == "tanh":
            A = np.tanh(Z)
        elif net.activations[-1] == "softmax":
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            A = E / E.sum(axis=1, keepdims=True)
        else:
            A = Z
    return A


@pytest.mark.parametrize(("output", "target"), [("softmax", False), ("identity", True)])
def test_onnx_of_a_standardised_model_has_the_steps_as_nodes(output, target):
    from sklearn.preprocessing import StandardScaler

    model, X, Y = standardised_model(output, target)
    graph = export.to_onnx(model).graph
    ops = [(node.op_type, node.name) for node in graph.node]
    assert ops[:3] == [("Sub", "standardize/sub"), ("Div", "standardize/div"), ("Gemm", "z1")]
    tail = [("Mul", "unstandardize/mul"), ("Add", "unstandardize/add")]
    assert (ops[-2:] == tail) == target and graph.output[0].name == "output"
    # expected independently: scikit-learn's StandardScaler and the forward pass in NumPy
    x_scaler = StandardScaler().fit(X)
    expected = numpy_forward(model.network, x_scaler.transform(X))
    if target:
        y_scaler = StandardScaler().fit(Y)
        expected = y_scaler.inverse_transform(expected)
    got = run_onnx(export.to_onnx(model), X)  # raw rows in
    scale = np.abs(expected).max(axis=0)
    np.testing.assert_allclose(got / scale, expected / scale, atol=2e-6)
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(("output", "target"), [("softmax", False), ("identity", True)])
def test_torch_of_a_standardised_model_and_back(output, target, tmp_path):
    model, X, _ = standardised_model(output, target)
    module = export.to_torch(model)
    names = [type(m).__name__ for m in module]
    assert names[0] == "Standardize" and (names[-1] == "Unstandardize") == target
    assert isinstance(module[1], nn.Linear)
    with torch.no_grad():
        out = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, model.predict(X), rtol=1e-12, atol=1e-12)
    back = export.from_torch(module)
    assert isinstance(back, bp.Model) and back.standardizer == model.standardizer
    np.testing.assert_array_equal(back.network.W[2], model.network.W[2])
    # the state_dict: plain tensors, the statistics under 0.mean / 0.scale
    export.save_torch(model, tmp_path / "m.pt")
    state = torch.load(tmp_path / "m.pt", weights_only=True)
    np.testing.assert_array_equal(state["0.mean"].numpy(), model.standardizer.mean)
    again = export.load_torch_state_dict(model, state)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    with pytest.raises(ConfigError, match="needs a Standardize module first"):
        export.from_torch(nn.Sequential(*list(module)[1:], export.Unstandardize([0.0], [1.0])))
