"""The fast NumPy engine: the training step and the evaluator, built from the kernels.

:class:`FastStep` (``train(..., engine="fast")``) and :class:`Evaluator` compute
the numbers of the readable ``Network.forward``/``Network.backward`` with
reused buffers and a recorded tape of NumPy calls; every activation- and
cost-specific operation comes from the kernels registered beside σ, σ' and
δ^L in :mod:`backprop.activations` and :mod:`backprop.costs`. The optional
BLAS binding lives in the private :mod:`backprop._blas`.
"""

from __future__ import annotations

from .. import _blas
from .evaluator import Evaluator
from .step import FUSE_MIN_WORK, FastStep, unsupported

__all__ = ["FUSE_MIN_WORK", "Evaluator", "FastStep", "fused_gemm_available", "unsupported"]


def fused_gemm_available() -> bool:
    """True when SGD's BP4 + update can run as one accumulating GEMM on NumPy's BLAS."""
    return _blas.binding() is not None
