"""The compiled engine: a numba whole-range training kernel for small networks.

Optional: numba ≥ 0.59 (the package's ``jit`` extra). Without numba,
:func:`available` is False and nothing here is imported by the rest of the
package; ``train(..., engine="jit")`` then says how to install it.

The kernel (``_kernel.py``) is compiled on first use and cached on disk
(numba's ``cache=True``, in ``__pycache__`` beside it or numba's cache
directory), so later processes only load it. :class:`~backprop.jit.step.JitStep`
is the training step around it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator

__all__ = ["INSTALL_HINT", "available", "lean_start", "numba_setup", "set_up"]

#: what to tell a user who asked for the compiled engine without numba
INSTALL_HINT = "pip install 'backprop-textbook[jit]' (numba >= 0.59)"


def available() -> bool:
    """True when numba can be imported (the compiled engine can run)."""
    return importlib.util.find_spec("numba") is not None


#: set by :func:`lean_start`: the process is the ``backprop`` command, running only our code
_lean = False
#: what numba's set-up imports only to probe for SciPy's BLAS (numba.np.arraymath)
_SCIPY_BLAS = "scipy.linalg.cython_blas"


def lean_start() -> None:
    """Let numba's set-up in this process skip its SciPy BLAS probe (the ``backprop`` command).

    numba's first compile or cache load imports ``numba.np.arraymath``, which imports
    ``scipy.linalg`` (when SciPy is installed, as scikit-learn makes it) only to note whether
    ``np.correlate``/``np.convolve`` in compiled code may use SciPy's BLAS: 0.1–0.3 s and
    ≈ 20 MB that the kernels, which call OpenBLAS themselves, never use. Without the probe
    those two functions use numba's plain loop instead, which matters only to other numba
    code in the same process: so only the command, whose process runs nothing else, asks.
    """
    global _lean
    _lean = True


@contextlib.contextmanager
def numba_setup() -> Iterator[None]:
    """Around a kernel's compile or cache load: the probe skipped, if :func:`lean_start` ran
    and numba is not set up yet; ``scipy.linalg`` imports normally again afterwards."""
    skip = _lean and "numba.np.arraymath" not in sys.modules and _SCIPY_BLAS not in sys.modules
    if skip:
        sys.modules[_SCIPY_BLAS] = None  # type: ignore[assignment]  # "import" raises ImportError
    try:
        yield
    finally:
        if skip and sys.modules.get(_SCIPY_BLAS, 0) is None:
            del sys.modules[_SCIPY_BLAS]


def set_up() -> None:
    """Import numba and set up its CPU target now (nothing without numba).

    The first compile or cache load of a process does this anyway: ≈ 0.4 s of Python. The
    command calls it while another thread loads MNIST (gunzip and casts, outside the GIL),
    so that the two overlap. An error is left for that first compile to meet and report.
    """
    if not available():
        return
    try:
        with numba_setup():
            from numba.core.compiler_lock import global_compiler_lock  # type: ignore[import-untyped]
            from numba.core.registry import cpu_target  # type: ignore[import-untyped]

            from . import _kernel  # noqa: F401 - its intrinsics, and llvmlite

            with global_compiler_lock:
                cpu_target.typing_context.refresh()
                cpu_target.target_context.refresh()
    except Exception:  # noqa: BLE001, S110 - the first compile does this again and says why
        pass
