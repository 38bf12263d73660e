"""Array libraries and devices: the same equations on NumPy, PyTorch, CuPy and array-api-strict.

The route is the Python array API standard (as scikit-learn's): array-api-compat gives
torch and CuPy arrays the standard's namespace, array-api-strict checks that nothing
beyond the standard is used. NumPy networks keep the fast engine; a network moved with
``net.to("torch" | "cupy" | "array_api_strict", device=...)`` runs the readable BP1–BP4.

* :mod:`.namespaces` — names → :class:`Backend` (namespace + device), clear errors, moving
  arrays between NumPy and a backend (one transfer, always a copy);
* :mod:`.functions` — σ, σ' and each cost's value and δ^L in the standard's functions;
* :mod:`.updates` — the optimisers' updates in the namespace;
* :mod:`.step` — the readable training step and the evaluation on the device.

What is guaranteed (and tested on the CPU with torch and array-api-strict): float64
gradients equal NumPy's to 1e-12, trained weights to 1e-10 (dropout included, with masks
drawn from NumPy), float32 to 1e-5. CuPy and torch CUDA run the same code; their tests
need a CUDA device.
"""

from __future__ import annotations

from .namespaces import (
    NAMES,
    Backend,
    XArray,
    all_finite,
    as_numpy,
    backend_of,
    copy,
    copy_on,
    cuda,
    device_of,
    first_value,
    is_numpy_array,
    namespace_of,
    resolve,
    to_numpy,
)

__all__ = [
    "NAMES",
    "Backend",
    "XArray",
    "all_finite",
    "as_numpy",
    "backend_of",
    "copy",
    "copy_on",
    "cuda",
    "device_of",
    "first_value",
    "is_numpy_array",
    "namespace_of",
    "resolve",
    "to_numpy",
]
