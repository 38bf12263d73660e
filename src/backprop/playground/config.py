"""What the page may ask for: the experiment's settings and every message, validated.

Everything that arrives over the WebSocket passes through :func:`parse_message`, which
returns a plain dict or raises :class:`BadMessage` with one line the page shows. Nothing
the page sends reaches the library unchecked: unknown fields, wrong types, out-of-range
numbers, oversized messages and networks beyond the limits are refused here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .datasets import CLASSIFY, FEATURES, GENERATORS, REGRESS

#: TensorFlow Playground's learning rates and regularisation rates
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
#: page name → backprop's activation name ("linear" is backprop's "identity")
ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "linear": "identity"}
REGULARIZATIONS = ("none", "L1", "L2")
OPTIMIZERS = ("sgd", "momentum", "adam")
COSTS = ("quadratic", "cross-entropy")
DATASETS = (*GENERATORS, "custom")

MAX_LAYERS = 8  # hidden layers
MAX_NEURONS = 32  # per hidden layer
MAX_MESSAGE_BYTES = 2_000_000  # one WebSocket message (a CSV upload is the largest)
MAX_CSV_BYTES = 1_000_000
MAX_POINTS = 5_000  # uploaded or drawn points
MAX_CLASSES = 8


class BadMessage(ValueError):
    """A message the server refuses; ``str()`` is the line the page shows."""


@dataclass
class Config:
    """One experiment: data, features, network and training settings (the page's state)."""

    dataset: str = "circle"
    noise: int = 0  # percent, 0–50
    train_percent: int = 50  # 10–90
    seed: int = 0
    inputs: list[str] = field(default_factory=lambda: ["x1", "x2"])
    hidden: list[int] = field(default_factory=lambda: [4, 2])
    activations: list[str] = field(default_factory=lambda: ["tanh", "tanh"])
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    batch_size: int = 10
    cost: str = "quadratic"
    optimizer: str = "sgd"
    dropout: float = 0.0

    @property
    def regression(self) -> bool:
        return self.dataset in REGRESS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: the settings whose change builds a new network (the rest apply while training)
STRUCTURAL = ("dataset", "noise", "train_percent", "seed", "inputs", "hidden", "activations")
_FIELDS = {f.name for f in fields(Config)}


def _int(d: dict[str, Any], key: str, lo: int, hi: int) -> int:
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BadMessage(f"{key} must be an integer in {lo}..{hi}, got {_show(v)}")
    return v


def _num(d: dict[str, Any], key: str, lo: float, hi: float) -> float:
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise BadMessage(f"{key} must be a number in [{lo}, {hi}], got {_show(v)}")
    if not lo <= v <= hi:
        raise BadMessage(f"{key} must lie in [{lo}, {hi}], got {v}")
    return float(v)


def _choice(d: dict[str, Any], key: str, options: Collection[str]) -> str:
    v = d[key]
    if not isinstance(v, str) or v not in options:
        raise BadMessage(f"{key} must be one of {', '.join(options)}, got {_show(v)}")
    return v


def _show(v: Any) -> str:
    text = json.dumps(v)[:40] if not isinstance(v, str) else repr(v[:40])
    return text


def parse_config(d: Any) -> Config:
    """A :class:`Config` from the page's dict; every field required, none unknown."""
    if not isinstance(d, dict):
        raise BadMessage("config must be an object")
    unknown = sorted(set(d) - _FIELDS)
    if unknown:
        raise BadMessage(
            f"unknown config field {unknown[0]!r}; known: {', '.join(sorted(_FIELDS))}"
        )
    missing = sorted(_FIELDS - set(d))
    if missing:
        raise BadMessage(f"config is missing {', '.join(missing)}")
    hidden, inputs, acts = d["hidden"], d["inputs"], d["activations"]
    if not isinstance(hidden, list) or len(hidden) > MAX_LAYERS:
        raise BadMessage(f"hidden lists at most {MAX_LAYERS} layer widths")
    for n in hidden:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_NEURONS:
            raise BadMessage(f"each hidden layer has 1..{MAX_NEURONS} neurons, got {_show(n)}")
    if not isinstance(inputs, list) or not inputs or len(inputs) > len(FEATURES):
        raise BadMessage("inputs lists 1 to 7 features")
    if any(not isinstance(k, str) or k not in FEATURES for k in inputs) or len(set(inputs)) != len(
        inputs
    ):
        raise BadMessage(f"inputs are distinct names among {', '.join(FEATURES)}")
    if not isinstance(acts, list) or len(acts) != len(hidden):
        raise BadMessage("activations lists one activation per hidden layer")
    for a in acts:
        if a not in ACTIVATIONS:
            raise BadMessage(f"activation must be one of {', '.join(ACTIVATIONS)}, got {_show(a)}")
    c = Config(
        dataset=_choice(d, "dataset", DATASETS),
        noise=_int(d, "noise", 0, 50),
        train_percent=_int(d, "train_percent", 10, 90),
        seed=_int(d, "seed", 0, 2**31 - 1),
        inputs=[k for k in FEATURES if k in inputs],  # the playground's order
        hidden=list(hidden),
        activations=list(acts),
        lr=_num(d, "lr", 1e-5, 10.0),
        regularization=_choice(d, "regularization", REGULARIZATIONS),
        reg_rate=_num(d, "reg_rate", 0.0, 10.0),
        batch_size=_int(d, "batch_size", 1, 30),
        cost=_choice(d, "cost", COSTS),
        optimizer=_choice(d, "optimizer", OPTIMIZERS),
        dropout=_num(d, "dropout", 0.0, 0.9),
    )
    if c.regression and c.cost == "cross-entropy":
        raise BadMessage("cross-entropy is a classification cost; choose quadratic for regression")
    if c.dropout and not c.hidden:
        raise BadMessage("dropout applies to hidden layers; add a hidden layer first")
    return c


#: message type → (required fields, optional fields), besides "type"
MESSAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "config": (("config",), ()),
    "play": ((), ()),
    "pause": ((), ()),
    "step": ((), ()),
    "reset": ((), ()),
    "ack": ((), ()),
    "select": (("neuron",), ()),
    "inspect": (("x",), ()),
    "explain": (("split", "index"), ()),
    "weight": (("layer", "row", "col", "value"), ()),
    "bias": (("layer", "row", "value"), ()),
    "points": (("points",), ()),
    "csv": (("text",), ()),
    "export": (("format",), ()),
    "speed": (("epochs_per_s",), ()),
}


def parse_message(raw: str | bytes) -> dict[str, Any]:
    """Decode and validate one message from the page (see :data:`MESSAGES`)."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadMessage(
            f"message of {len(raw):,} bytes refused; the limit is {MAX_MESSAGE_BYTES:,}"
        )
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("malformed message: not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise BadMessage('a message is a JSON object with a "type"')
    kind = msg["type"]
    if kind not in MESSAGES:
        raise BadMessage(f"unknown message type {_show(kind)}")
    required, optional = MESSAGES[kind]
    extra = sorted(set(msg) - {"type", *required, *optional})
    if extra:
        raise BadMessage(f"unknown field {extra[0]!r} in a {kind} message")
    missing = [k for k in required if k not in msg]
    if missing:
        raise BadMessage(f"a {kind} message needs {', '.join(missing)}")
    check = _CHECKS.get(kind)
    if check is not None:
        check(msg)
    return msg


def _check_config(msg: dict[str, Any]) -> None:
    msg["config"] = parse_config(msg["config"])


def _check_select(msg: dict[str, Any]) -> None:
    n = msg["neuron"]
    if n is not None and not (
        isinstance(n, list) and len(n) == 2 and all(type(v) is int and 0 <= v < 64 for v in n)
    ):
        raise BadMessage("neuron is null or [layer, index]")


def _check_point(msg: dict[str, Any]) -> None:
    x = msg["x"]
    if not (isinstance(x, list) and len(x) == 2):
        raise BadMessage("x is a point [x1, x2]")
    for i in range(2):
        _num({"x": x[i]}, "x", -6.0, 6.0)


def _check_explain(msg: dict[str, Any]) -> None:
    _choice(msg, "split", ("train", "test"))
    _int(msg, "index", 0, MAX_POINTS)


def _check_weight(msg: dict[str, Any]) -> None:
    _int(msg, "layer", 1, MAX_LAYERS + 1)
    _int(msg, "row", 0, MAX_NEURONS)
    if "col" in msg:
        _int(msg, "col", 0, MAX_NEURONS)
    _num(msg, "value", -100.0, 100.0)


def _check_points(msg: dict[str, Any]) -> None:
    pts = msg["points"]
    if not isinstance(pts, list) or not 2 <= len(pts) <= MAX_POINTS:
        raise BadMessage(f"points lists 2..{MAX_POINTS} points [x1, x2, label]")
    for p in pts:
        if not (isinstance(p, list) and len(p) == 3):
            raise BadMessage("each point is [x1, x2, label]")
        for v in p:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise BadMessage("each point is [x1, x2, label] with finite numbers")
        if not (-6 <= p[0] <= 6 and -6 <= p[1] <= 6):
            raise BadMessage("drawn points lie in [-6, 6]²")


def _check_csv(msg: dict[str, Any]) -> None:
    text = msg["text"]
    if not isinstance(text, str):
        raise BadMessage("text is the CSV file's contents")
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise BadMessage(f"the CSV is larger than {MAX_CSV_BYTES:,} bytes; upload a smaller file")


def _check_export(msg: dict[str, Any]) -> None:
    _choice(msg, "format", ("model", "onnx"))


def _check_speed(msg: dict[str, Any]) -> None:
    if msg["epochs_per_s"] is not None:
        msg["epochs_per_s"] = _num(msg, "epochs_per_s", 0.1, 10_000.0)


_CHECKS = {
    "speed": _check_speed,
    "export": _check_export,
    "config": _check_config,
    "select": _check_select,
    "inspect": _check_point,
    "explain": _check_explain,
    "weight": _check_weight,
    "bias": _check_weight,
    "points": _check_points,
    "csv": _check_csv,
}

__all__ = [
    "ACTIVATIONS",
    "BadMessage",
    "CLASSIFY",
    "Config",
    "LEARNING_RATES",
    "MESSAGES",
    "REG_RATES",
    "STRUCTURAL",
    "parse_config",
    "parse_message",
]
