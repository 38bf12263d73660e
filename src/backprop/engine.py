"""The old home of the fast engine, kept so that ``backprop.engine`` imports keep working.

The engine now lives in :mod:`backprop.fast` (the step, the evaluator, the
contained BLAS binding).
"""

from __future__ import annotations

from .fast import FUSE_MIN_WORK, Evaluator, FastStep, fused_gemm_available, unsupported

__all__ = ["FUSE_MIN_WORK", "Evaluator", "FastStep", "fused_gemm_available", "unsupported"]
