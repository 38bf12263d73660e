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

import importlib.util

__all__ = ["INSTALL_HINT", "available"]

#: what to tell a user who asked for the compiled engine without numba
INSTALL_HINT = "pip install 'backprop-textbook[jit]' (numba >= 0.59)"


def available() -> bool:
    """True when numba can be imported (the compiled engine can run)."""
    return importlib.util.find_spec("numba") is not None
