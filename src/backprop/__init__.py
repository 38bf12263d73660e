"""backprop: neural networks trained by backpropagation exactly as the textbook derives it.

>>> import backprop as bp
>>> net = bp.Network([3, 4, 2], seed=0)
>>> grads = net.gradients([[0.1, 0.2, 0.3]], [[0.0, 1.0]])
>>> grads.delta[2].shape, grads.W[1].shape
((2, 1), (4, 3))
"""

from __future__ import annotations

from importlib import import_module

from . import _startup  # noqa: F401 - first: Ctrl-C while the command starts is one line
from .errors import (
    BackpropError,
    ConfigError,
    DataError,
    DataFileError,
    DivergenceError,
    GradcheckError,
    ModelFileError,
)
from .explain.model import Explanation as _Explanation
from .explain.model import set_html_renderer as _set_html_renderer
from .gradcheck import GradcheckResult, gradcheck
from .model import Model
from .network import Gradients, Layers, Network, Trace
from .preprocessing import Standardizer
from .version import __version__

__all__ = [
    "BackpropError",
    "ConfigError",
    "DataError",
    "DataFileError",
    "DivergenceError",
    "GradcheckError",
    "GradcheckResult",
    "Gradients",
    "Layers",
    "Model",
    "ModelFileError",
    "Network",
    "Standardizer",
    "Trace",
    "gradcheck",
    "__version__",
]

# Names served lazily from submodules, so `import backprop` stays light.
_LAZY = {
    "train": ("training", "train"),
    "History": ("training", "History"),
    "Callback": ("training", "Callback"),
    "Checkpoint": ("training", "Checkpoint"),
    "Progress": ("training", "Progress"),
    "TrainState": ("training", "TrainState"),
    "evaluate": ("training", "evaluate"),
    "load": ("io", "load"),
    "save": ("io", "save"),
}


def __dir__() -> list[str]:
    """Every name, the lazily served ones included (so completion and ``dir`` show ``train``)."""
    return sorted({*globals(), *_LAZY} - {"annotations", "import_module"})


def _explanation_html(explanation: _Explanation) -> str:
    """A notebook's view of an Explanation: the package root wires report to explain,
    so that neither imports the other the wrong way (see the import-linter contracts)."""
    from .report import notebook_html

    return notebook_html(explanation)


_set_html_renderer(_explanation_html)


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'backprop' has no attribute {name!r}")
