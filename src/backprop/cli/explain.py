"""``backprop explain``: the source's derivation with a network's real numbers.

Without MODEL it explains the source's own 3-4-2 sigmoid network with the
quadratic cost, weights and the example (x, t) drawn from ``--seed``; with
MODEL (a file written by ``backprop train``) it explains that network on
example ``--example`` of ``--data``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import ConfigError, DataError
from ..model import Model
from . import arguments, datasets, output, train_tables

DESCRIPTION = """\
Walk through backpropagation for one example (or a small mini-batch) in the
source's order and notation: the forward pass z^l = W^l a^(l-1) + b^l,
a^l = σ(z^l); the cost C; BP1 (δ^L); BP4 and BP3 (∂C/∂W^l, ∂C/∂b^l); BP2
(δ^l from δ^(l+1)); the gradient-descent update and the new cost. Every
matrix carries its shape ([W¹]₄ₓ₃) and every gradient its finite-difference
check.

examples:
  backprop explain                                   # the source's 3-4-2 network
  backprop explain --layers 3,5,4,2 --seed 7 --format markdown
  backprop explain --cost cross-entropy --output softmax --format html --out step.html
  backprop explain model.safetensors --data mnist --example 0 --format json
"""


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers,
        "explain",
        help="walk through backpropagation with real numbers",
        description=DESCRIPTION,
    )
    p.add_argument("model", nargs="?", metavar="MODEL", help="a model file (default: a new net)")
    p.add_argument(
        "--data",
        metavar="SPEC",
        help="with MODEL: digits, mnist[:DIR], a .csv/.npz (default: the data it was trained on)",
    )
    p.add_argument(
        "--example",
        type=int,
        default=0,
        metavar="I",
        help="with MODEL: index of the example in the split (default: 0)",
    )
    p.add_argument(
        "--split",
        choices=("train", "val", "test"),
        default=None,
        help="with MODEL: the split to take the example from (default: test, "
        "or train when the data has no test split)",
    )
    p.add_argument(
        "--layers",
        default=None,
        metavar="N0,N1,…",
        help="layer widths of a new network, input first (default: 3,4,2)",
    )
    p.add_argument("--activation", default=None, help="hidden σ (default: sigmoid)")
    p.add_argument("--output", default=None, help="output σ (default: the hidden one)")
    p.add_argument("--cost", default=None, help="quadratic (default) or cross-entropy")
    p.add_argument("--init", default=None, help="weight initialiser (default: normal)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and (x, t) (default: 0)")
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="K",
        help="explain a mini-batch of K examples (default: 1)",
    )
    p.add_argument("--lr", type=float, default=0.5, help="α of the update step (default: 0.5)")
    p.add_argument(
        "--format",
        choices=("text", "markdown", "html", "json"),
        default=None,
        help="report format (default: from --out's suffix .html/.md/.json, else text)",
    )
    p.add_argument("--out", metavar="FILE", help="write the report here (atomically)")
    p.add_argument(
        "--full",
        action="store_true",
        help="print large matrices in full, and check every gradient entry",
    )
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text format (auto: on a terminal, unless NO_COLOR is set)",
    )
    p.set_defaults(run=run)


def run(args) -> int:
    from ..explain import explain
    from ..report import render

    if args.batch < 1 or args.batch > 64:
        raise ConfigError(f"--batch must lie in 1..64 (a small mini-batch), got {args.batch}")
    output.check_out_path(args.out, example="report.html")
    args.format = args.format or _format_of(args.out)
    if args.model:
        net, X, T, source = _from_model(args)
    else:
        net, X, T, source = _from_seed(args)
    expl = explain(
        net, X, T, lr=args.lr, fd_entries=None if args.full else 64, seed=args.seed, source=source
    )
    color = args.format == "text" and not args.out and _use_color(args.color, sys.stdout)
    text = render(expl, args.format, full=args.full, color=color)
    if args.out:
        output.write_text(args.out, text)
        print(f"wrote {args.out} ({args.format})", file=sys.stderr)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if not expl.checks_passed:
        print("backprop: a finite-difference check failed (✗ above)", file=sys.stderr)
        return 1
    return 0


def _from_seed(args):
    from ..explain import source_example

    if args.data:
        raise ConfigError("--data needs MODEL; without one explain builds a new network")
    sizes = arguments.int_list(args.layers) if args.layers else [3, 4, 2]
    if len(sizes) < 2:
        raise ConfigError(f"--layers lists every layer, input first, such as 3,4,2; got {sizes}")
    activation = args.activation or "sigmoid"
    net, X, T = source_example(
        sizes,
        activation=activation,
        output=args.output,
        cost=args.cost or "quadratic",
        init=args.init or "normal",
        seed=args.seed,
        batch=args.batch,
    )
    what = "the source's own network" if sizes == [3, 4, 2] else "a new network"
    source = (
        f"Weights ({net.init}) and the example{'s' if args.batch > 1 else ''} (x, t) "
        f"drawn from seed {args.seed}: {what}."
    )
    return net, X, T, source


def _from_model(args):
    from .. import io

    given = [
        f"--{n}"
        for n in ("layers", "activation", "output", "cost", "init")
        if getattr(args, n) is not None
    ]
    if given:
        raise ConfigError(
            f"{', '.join(given)} describe a new network; drop them to explain MODEL as saved"
        )
    model = Model.of(io.load(args.model))
    spec = args.data or (model.metadata or {}).get("data_spec")
    if not spec:
        raise ConfigError("explain MODEL needs --data SPEC to take the example from")
    ds = train_tables.model_task(model.metadata or {}, datasets.load_dataset(spec))
    split = args.split or ("test" if datasets.has_rows(ds.X_test) else "train")
    X, y = getattr(ds, f"X_{split}"), getattr(ds, f"y_{split}")
    if not datasets.has_rows(X):
        raise DataError(f"{ds.name} has no {split} split; choose --split train")
    n = len(X)
    i, k = args.example, args.batch
    if not 0 <= i or i + k > n:
        raise ConfigError(
            f"--example {i} with --batch {k} is outside the {split} split of {n} examples; "
            f"choose 0..{n - k}"
        )
    X, y = np.asarray(X[i : i + k]), np.asarray(y[i : i + k])
    label = ""
    if ds.n_classes is not None and y.ndim == 1:
        names = [str(ds.classes[c]) if ds.classes is not None else str(c) for c in y]
        label = f", label{'s' if k > 1 else ''} {', '.join(names)}"
    rows = f"example {i}" if k == 1 else f"examples {i}..{i + k - 1}"
    source = (
        f"Model {os.path.basename(args.model)} on {rows} of the {ds.name} {split} split{label}."
    )
    if model.standardizer is not None:  # the network's actual input: the standardised row
        source += " " + standardised_note(model, X, y)
        X, y = model.inputs(X), model.targets(y)
    return model.network, X, y, source


def standardised_note(model, X, y) -> str:
    """What explain says of a standardised model's example: the raw row(s) and the step."""
    s = model.standardizer
    raw = "; ".join(_values(row) for row in np.asarray(X, np.float64))
    text = (
        f"The row{'s were' if len(X) > 1 else ' was'} standardised with the model's stored "
        f"mean μ and scale s of the training rows, x = (x_raw − μ) / s; x_raw = {raw}."
    )
    if s.target:
        text += f" The target too, t = (y − μ_y) / s_y; y = {_values(np.reshape(y, -1))}."
    return text


def _values(row, limit: int = 16) -> str:
    """``1.5, 2, …`` of a row, the first ``limit`` values of a long one."""
    shown = ", ".join(f"{float(v):.6g}" for v in row[:limit])
    return shown + (f", … ({len(row)} values)" if len(row) > limit else "")


#: explain --out FILE: the format its suffix names when --format is not given
SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".json": "json"}


def _format_of(out: str | None) -> str:
    from pathlib import Path

    return SUFFIX_FORMATS.get(Path(out).suffix.lower(), "text") if out else "text"


def _use_color(mode: str, stream) -> bool:
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
