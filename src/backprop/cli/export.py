"""``backprop export MODEL --onnx OUT.onnx --torch OUT.pt``: hand a model to other tools."""

from __future__ import annotations

import argparse
import os

from ..errors import ConfigError, ModelFileError
from ..export import DEFAULT_OPSET


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a model to ONNX and/or a PyTorch state_dict",
        description=(
            "Export a saved model: --onnx writes an ONNX graph (float32, dynamic batch) for "
            "ONNX Runtime; --torch writes the state_dict of the equivalent torch.nn.Sequential "
            "(load it with torch.load(path, weights_only=True)). A model trained with "
            "--standardize takes raw rows in both: its stored mean and scale are the graph's "
            "first nodes (Sub, Div) and the Sequential's first module (Standardize)."
        ),
        epilog="examples:\n  backprop export model.safetensors --onnx model.onnx\n"
        "  backprop export model.safetensors --torch model.pt --onnx model.onnx --opset 17",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", metavar="MODEL", help="a model file written by `backprop train`")
    parser.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model here")
    parser.add_argument("--torch", metavar="OUT.pt", help="write a PyTorch state_dict here")
    parser.add_argument(
        "--opset", type=int, default=None, help=f"ONNX opset version (default: {DEFAULT_OPSET})"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import export, io

    if not args.onnx and not args.torch:
        raise ConfigError("nothing to export: give --onnx OUT.onnx and/or --torch OUT.pt")
    if args.opset is not None and not args.onnx:
        raise ConfigError("--opset applies to --onnx only; add --onnx OUT.onnx")
    outputs = [p for p in (args.onnx, args.torch) if p]
    if len(set(map(os.path.abspath, outputs))) < len(outputs):
        raise ConfigError("--onnx and --torch name the same file; give two different paths")
    for path in outputs:
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ModelFileError(f"cannot write {path!r}: directory {folder!r} does not exist")
    # Check the optional packages first and build everything in memory, so that
    # an error leaves no file behind.
    if args.onnx:
        export.require("onnx", "onnx")
    if args.torch:
        export.require("torch", "torch")
    net = io.load(args.model)
    written = []
    if args.onnx:
        opset = DEFAULT_OPSET if args.opset is None else args.opset
        data = export.to_onnx(net, opset=opset).SerializeToString()
        what = f"ONNX opset {opset}, float32, 'input' → 'output'"
        if net.dtype != "float32":
            what += f"; the {net.dtype} weights were rounded to float32"
        if getattr(net, "standardizer", None) is not None:
            what += "; standardize/sub, standardize/div first: it takes raw rows"
        written.append((args.onnx, data, what))
    if args.torch:
        data = export.torch_bytes(net)
        what = "PyTorch state_dict; torch.load(weights_only=True)"
        if getattr(net, "standardizer", None) is not None:
            what += "; 0.mean, 0.scale: the Standardize module first"
        written.append((args.torch, data, what))
    for path, data, what in written:
        export.write_bytes(path, data)
        print(f"wrote {path} ({what}) of the {_describe(net)}")
    return 0


def _describe(net) -> str:
    return f"{'-'.join(map(str, net.sizes))} network ({', '.join(net.activations)})"
