"""The accumulating GEMM of the OpenBLAS that NumPy itself loaded.

The fast step fuses BP4 and the SGD update into one ``C ← α A B + β C`` call
(``cblas_?gemm``), which NumPy does not expose; the compiled engine
(:mod:`backprop.jit`) calls the same function from its kernel by address.
This module binds it, and only it, under these rules:

* **The library NumPy loaded, nothing else.** Its path comes from what is
  loaded in this process (threadpoolctl's ``threadpool_info()``, or
  ``/proc/self/maps`` without threadpoolctl), restricted to NumPy's own
  library directories (``numpy.libs``, ``numpy/.dylibs``, or the directory
  NumPy's build information names). Exactly one such OpenBLAS must be
  loaded; with none (a system BLAS, MKL) or several, there is no binding.
* **No second copy.** The library is opened with ``RTLD_NOLOAD``: it must
  already be in the process, so the process never gets a second OpenBLAS
  (two thread pools in one step fight over the cores, ~70× slower).
* **Checked.** Both GEMMs are called on a small product and compared with
  NumPy's before the binding is used.
* **No mutable global.** :func:`binding` returns an immutable
  :class:`Binding` (or None), computed once and cached.

Opting out needs no environment variable: ``train(..., engine="fast-no-ffi")``
or ``FastStep(..., ffi=False)``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .types import Array

__all__ = ["Binding", "binding", "gemm_args", "real"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
#: symbol names of the 64-bit-integer cblas GEMM: NumPy ≥ 2 wheels, then NumPy 1.2x wheels
_PREFIXES = ("scipy_cblas_", "cblas_")

Gemm = Callable[..., None]


@dataclass(frozen=True)
class Binding:
    """cblas ``sgemm``/``dgemm`` of the OpenBLAS at ``path`` (NumPy's own)."""

    path: str
    sgemm: Gemm
    dgemm: Gemm

    def gemm(self, dtype: Any) -> Gemm:
        """The GEMM for float32 or float64."""
        return self.sgemm if np.dtype(dtype) == np.float32 else self.dgemm

    def address(self, dtype: Any) -> int:
        """The GEMM's address for float32 or float64, for compiled code to call."""
        return int(ctypes.cast(self.gemm(dtype), ctypes.c_void_p).value or 0)  # type: ignore[arg-type]


@functools.cache
def binding() -> Binding | None:
    """The checked binding to NumPy's loaded OpenBLAS, or None where there is none."""
    path = numpy_openblas()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LOCAL)
    except OSError:
        return None  # not loaded after all: never load a second copy
    for prefix in _PREFIXES:
        s, d = _bind(lib, prefix, "s", ctypes.c_float), _bind(lib, prefix, "d", ctypes.c_double)
        if s is not None and d is not None and _works(s, "float32") and _works(d, "float64"):
            return Binding(path, s, d)
    return None


def numpy_openblas() -> str | None:
    """The path of the one OpenBLAS in this process that belongs to NumPy, or None."""
    dirs = _numpy_library_dirs()
    found = {os.path.realpath(p) for p in _loaded_openblas()}
    mine = [p for p in found if os.path.dirname(p) in dirs]
    return mine[0] if len(mine) == 1 else None


def _numpy_library_dirs() -> set[str]:
    here = os.path.dirname(os.path.realpath(np.__file__))
    dirs = {os.path.join(os.path.dirname(here), "numpy.libs"), os.path.join(here, ".dylibs")}
    try:  # a NumPy built against a separately installed OpenBLAS says where it is
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        if blas.get("lib directory"):
            dirs.add(str(blas["lib directory"]))
    except (AttributeError, KeyError, TypeError):
        pass
    return {os.path.realpath(d) for d in dirs if os.path.isdir(d)}


def _loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries loaded in this process."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return _mapped_openblas()
    return [
        str(info["filepath"])
        for info in threadpool_info()
        if info.get("internal_api") == "openblas" and info.get("filepath")
    ]


def _mapped_openblas() -> list[str]:
    """Without threadpoolctl: the OpenBLAS files mapped into this process (Linux)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as f:
            paths = {line.split(None, 5)[-1].strip() for line in f if "openblas" in line}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/") and re.search(r"openblas[^/]*\.so", p))


def _bind(lib: ctypes.CDLL, prefix: str, letter: str, c_real: Any) -> Gemm | None:
    fn = getattr(lib, f"{prefix}{letter}gemm64_", None)
    if fn is None:
        return None
    i, p = ctypes.c_int64, ctypes.c_void_p
    fn.argtypes = [ctypes.c_int] * 3 + [i, i, i, c_real, p, i, p, i, c_real, p, i]
    fn.restype = None
    return fn  # type: ignore[no-any-return]


def _works(fn: Gemm, dtype: str) -> bool:
    W = np.ones((2, 4), dtype=dtype)
    A = np.arange(6, dtype=dtype).reshape(2, 3)
    B = np.arange(12, dtype=dtype).reshape(3, 4)
    expected = 0.5 * W - A @ B
    fn(*gemm_args(W, A, B, -1.0, real(dtype)(0.5)))
    return bool(np.array_equal(W, expected))


def real(dtype: Any) -> Any:
    """The ctypes number type of ``dtype`` (c_float or c_double)."""
    return ctypes.c_float if np.dtype(dtype) == np.float32 else ctypes.c_double


def _operand(X: Array) -> tuple[int, int]:
    """(transpose flag, leading dimension) of X as a row-major BLAS operand."""
    if X.flags.c_contiguous:
        return _NO_TRANS, X.shape[1]
    if X.T.flags.c_contiguous:
        return _TRANS, X.shape[0]
    raise ValueError("a GEMM operand must be C- or Fortran-contiguous")


def gemm_args(C: Array, A: Array, B: Array, alpha: float, beta: Any) -> tuple[Any, ...]:
    """Arguments of cblas gemm for ``C ← α A B + β C``; the arrays must outlive the call.

    ``beta`` may be a ctypes number, which the caller can change between calls.
    The arguments hold the arrays' addresses: whoever keeps them must also
    keep the arrays (the fast step's tape does, and rebuilds when a
    parameter array is replaced).
    """
    (rows, cols), inner = C.shape, A.shape[1]
    if not C.flags.c_contiguous or A.shape[0] != rows or B.shape != (inner, cols):
        raise ValueError("GEMM operands do not fit")
    if C.dtype != A.dtype or C.dtype != B.dtype:
        raise ValueError("GEMM operands must share one dtype")
    (ta, lda), (tb, ldb) = _operand(A), _operand(B)
    i, p, c_real = ctypes.c_int64, ctypes.c_void_p, real(C.dtype)
    beta = beta if isinstance(beta, c_real) else c_real(beta)
    return (
        ctypes.c_int(_ROW_MAJOR), ctypes.c_int(ta), ctypes.c_int(tb),
        i(rows), i(cols), i(inner), c_real(alpha),
        p(A.ctypes.data), i(lda), p(B.ctypes.data), i(ldb),
        beta, p(C.ctypes.data), i(cols),
    )  # fmt: skip
