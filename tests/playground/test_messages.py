"""Every message from the page is validated: bad ones become one clear line."""

from __future__ import annotations

import json

import pytest

from backprop.playground.config import (
    MAX_MESSAGE_BYTES,
    BadMessage,
    Config,
    parse_config,
    parse_message,
)


def config(**change) -> dict:
    return {**Config().to_dict(), **change}


def msg(kind: str, **fields) -> str:
    return json.dumps({"type": kind, **fields})


def test_a_good_config_round_trips():
    c = parse_message(msg("config", config=config(hidden=[8, 8, 3], activations=["relu"] * 3)))
    assert c["config"].hidden == [8, 8, 3] and c["config"].activations == ["relu"] * 3


def test_inputs_are_put_in_the_playgrounds_order():
    c = parse_config(config(inputs=["sinx2", "x1"]))
    assert c.inputs == ["x1", "sinx2"]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (msg("fly"), "unknown message type"),
        (msg("play", speed=3), "unknown field 'speed'"),
        (msg("inspect"), "needs x"),
        (msg("inspect", x=[0, 7]), "[-6.0, 6.0]"),
        (msg("inspect", x=[0, float("nan")]), "number"),
        (msg("explain", split="val", index=0), "split must be one of"),
        (msg("weight", layer=1, row=0, col=0, value=1e9), "value must lie in"),
        (msg("points", points=[[0, 0, 1]]), "2..5000 points"),
        (msg("points", points=[[0, 0, 1], [9, 0, 0]]), "[-6, 6]"),
        (msg("csv", text=5), "CSV file's contents"),
        (msg("export", format="pickle"), "format must be one of"),
        (msg("speed", epochs_per_s=0), "epochs_per_s must lie in"),
        (msg("speed", epochs_per_s="fast"), "epochs_per_s must be a number"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(raw, says):
    with pytest.raises(BadMessage, match=None) as err:
        parse_message(raw)
    assert says in str(err.value)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"hidden": [10_000]}, "1..32 neurons"),
        ({"hidden": [32] * 9, "activations": ["tanh"] * 9}, "at most 8"),
        ({"hidden": [4, 0], "activations": ["tanh"] * 2}, "1..32 neurons"),
        ({"hidden": [4, True], "activations": ["tanh"] * 2}, "1..32 neurons"),
        ({"activations": ["tanh"]}, "one activation per hidden layer"),
        ({"activations": ["swish", "tanh"]}, "activation must be one of"),
        ({"inputs": []}, "1 to 7"),
        ({"inputs": ["x1", "x1"]}, "distinct"),
        ({"inputs": ["x3"]}, "distinct names"),
        ({"lr": 0}, "lr must lie in"),
        ({"lr": 11}, "lr must lie in"),
        ({"lr": "0.1"}, "lr must be a number"),
        ({"noise": 55}, "0..50"),
        ({"train_percent": 5}, "10..90"),
        ({"batch_size": 31}, "1..30"),
        ({"batch_size": 2.5}, "1..30"),
        ({"dataset": "mnist"}, "dataset must be one of"),
        ({"dataset": "plane", "cost": "cross-entropy"}, "classification cost"),
        ({"dropout": 0.95}, "[0.0, 0.9]"),
        ({"wings": 2}, "unknown config field 'wings'"),
    ],
)
def test_bad_configs_are_refused(change, says):
    with pytest.raises(BadMessage) as err:
        parse_config(config(**change))
    assert says in str(err.value)


def test_missing_config_fields_are_named():
    d = config()
    del d["lr"], d["seed"]
    with pytest.raises(BadMessage, match="missing lr, seed"):
        parse_config(d)


def test_a_ten_megabyte_message_is_refused_before_parsing():
    raw = msg("csv", text="1,2,0\n" * (10_000_000 // 6))
    assert len(raw) > 10_000_000 > MAX_MESSAGE_BYTES
    with pytest.raises(BadMessage, match="limit is 2,000,000"):
        parse_message(raw)
