"""``backprop gradcheck``: backpropagation against finite differences.

Builds a network of the given architecture in float64, draws a random
mini-batch and targets that suit the cost, and prints each parameter tensor's
relative error between BP1–BP4 and fourth-order central differences. Exits 1
when any error is above the tolerance.
"""

from __future__ import annotations

import numpy as np

from ..errors import GradcheckError
from . import arguments, output

DESCRIPTION = """\
Check backpropagation (BP1-BP4) against finite differences on a random network.

examples:
  backprop gradcheck                                  # the source's 3-4-2 sigmoid network
  backprop gradcheck --layers 5,8,8,3 --activation relu --output softmax --cost cross-entropy
"""


def register(subparsers) -> None:
    p = arguments.add_parser(
        subparsers,
        "gradcheck",
        help="check backpropagation against finite differences",
        description=DESCRIPTION,
    )
    p.add_argument(
        "--layers",
        default="3,4,2",
        metavar="N0,N1,…",
        help="all layer widths, input first (default: 3,4,2, the source's network)",
    )
    p.add_argument("--activation", default="sigmoid", help="hidden σ (default: sigmoid)")
    p.add_argument("--output", default=None, help="output σ (default: the hidden one)")
    p.add_argument("--cost", default="quadratic", help="quadratic or cross-entropy")
    p.add_argument("--init", default="normal", help="weight initialiser (default: normal)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and data (default: 0)")
    p.add_argument("--batch", type=int, default=5, metavar="M", help="examples (default: 5)")
    p.add_argument("--tol", type=float, default=1e-7, help="tolerance (default: 1e-7)")
    p.add_argument("--h", type=float, default=1e-4, help="difference step (default: 1e-4)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..errors import ConfigError
    from ..gradcheck import gradcheck
    from ..network import Network

    sizes = arguments.int_list(args.layers)
    if len(sizes) < 2:
        raise ConfigError(
            "gradcheck's --layers lists every layer, input first, such as 3,4,2; "
            f"got {args.layers!r}"
        )
    if args.batch < 1:
        raise ConfigError(f"--batch must be a positive number of examples, got {args.batch}")
    if not args.tol > 0:
        raise ConfigError(f"--tol must be positive, got {args.tol}")
    rng = np.random.default_rng(args.seed)
    net = Network(
        sizes,
        activation=args.activation,
        output=args.output,
        cost=args.cost,
        init=args.init,
        rng=rng,
        dtype="float64",
    )
    X, T = _batch(net, args.batch, rng)
    result = gradcheck(net, X, T, h=args.h, tol=args.tol)

    if args.json:
        output.emit_json(
            {
                "network": net.config(),
                "batch": args.batch,
                "seed": args.seed,
                "tol": args.tol,
                "h": args.h,
                "errors": {name: err for name, err, _ in result.rows()},
                "max_error": result.max_error,
                "passed": result.passed,
            }
        )
    else:
        print(
            f"gradcheck {net.sizes} {'/'.join(net.activations)} {net.cost_name}, "
            f"batch of {args.batch}, seed {args.seed}"
        )
        rows = [(name, f"{err:.2e}", "ok" if ok else "FAIL") for name, err, ok in result.rows()]
        output.print_table(rows, headers=("param", "rel. error", "status"))
        verdict = "passed" if result.passed else "FAILED"
        print(f"max {result.max_error:.2e} (tolerance {result.tol:.0e}): {verdict}")
    if not result.passed:
        name, err, _ = max(result.rows(), key=lambda row: row[1])
        raise GradcheckError(
            f"gradient check failed: {name} has relative error {err:.2e} > {result.tol:.0e}"
        )
    return 0


def _batch(net, m: int, rng: np.random.Generator):
    """A random mini-batch X (m, n_0) and targets that suit the network's cost.

    Softmax outputs get one-hot targets (a distribution); sigmoid outputs get
    targets in (0, 1); any other output gets standard normal targets.
    """
    n_0, n_L = net.sizes[0], net.sizes[-1]
    X = rng.standard_normal((m, n_0))
    output = net.activations[-1]
    if output == "softmax":
        T = np.eye(n_L)[rng.integers(0, n_L, size=m)]
    elif output == "sigmoid":
        T = rng.uniform(0.05, 0.95, size=(m, n_L))
    else:
        T = rng.standard_normal((m, n_L))
    return X, T
