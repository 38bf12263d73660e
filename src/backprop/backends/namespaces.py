"""Array libraries by name: their array-API namespace, their devices, and moving data.

A :class:`Backend` is an array library's namespace ``xp`` (what the Python array API
standard calls it: ``xp.tanh``, ``xp.sum``, ``xp.take``, …) together with one device.
:func:`resolve` turns a name and a device into one, with a one-line
:class:`~backprop.errors.ConfigError` saying what to install when the library, the
``array-api-compat`` layer or a CUDA device is missing:

==================  ==========================  ========================================
name                devices                     namespace
==================  ==========================  ========================================
``numpy``           ``"cpu"``                   NumPy itself (the fast engine's library)
``torch``           ``"cpu"``, ``"cuda[:k]"``   ``array_api_compat.torch``
``cupy``            ``"cuda[:k]"``              ``array_api_compat.cupy``
``array_api_strict`` ``"cpu"``, ``"device1"`` …  ``array_api_strict`` (the standard, nothing more)
==================  ==========================  ========================================

Data crosses between NumPy and a backend in one transfer each way
(:meth:`Backend.asarray`, :func:`to_numpy`), always as a copy, so a network moved with
``net.to(...)`` never shares memory with the one it came from.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import ConfigError, one_of

#: the array libraries a network can live on
NAMES = ("numpy", "torch", "cupy", "array_api_strict")

#: what to install for each library (one line, shown in errors)
INSTALL = {
    "torch": "pip install torch==2.13.0 (CPU) or a CUDA build from pytorch.org",
    "cupy": "pip install cupy-cuda12x on a machine with an NVIDIA GPU (or the [cuda] extra)",
    "array_api_strict": "pip install array-api-strict (or the [array-api] extra)",
    "array_api_compat": "pip install array-api-compat>=1.6 (or the [cuda] / [array-api] extra)",
}

#: any array of any namespace (NumPy, torch, CuPy, array-api-strict); shapes in docstrings
XArray = Any


@dataclass(frozen=True)
class Backend:
    """An array library's namespace and one of its devices.

    Attributes
    ----------
    name : str
        One of :data:`NAMES`.
    xp : module
        The array-API namespace: ``xp.tanh``, ``xp.sum``, ``xp.take``, ``xp.asarray`` …
    device : object
        The library's device object (``torch.device("cuda:0")``, a CuPy ``Device``, an
        ``array_api_strict.Device``; ``"cpu"`` for NumPy).
    """

    name: str
    xp: ModuleType
    device: Any

    @property
    def is_numpy(self) -> bool:
        return self.name == "numpy"

    @property
    def on_cpu(self) -> bool:
        """The arrays live in host memory (NumPy, torch CPU, array-api-strict)."""
        return self.name in ("numpy", "array_api_strict") or str(self.device) == "cpu"

    def dtype(self, name: str) -> Any:
        """This namespace's dtype called ``name`` (``"float32"``, ``"float64"``, ``"int64"``)."""
        return getattr(self.xp, name)

    def asarray(self, x: Any, dtype: str | None = None) -> XArray:
        """``x`` (NumPy array, nested lists, or an array of this namespace) as a new array
        of this backend on its device, in ``dtype`` (default: keep the dtype's name).

        One host-to-device transfer for NumPy input; always a copy.
        """
        if self.is_numpy:
            return np.array(to_numpy(x), dtype=dtype, copy=True)
        if not is_numpy_array(x) and namespace_of(x) is self.xp:
            x = self.xp.asarray(x, copy=True)
            if dtype is not None and x.dtype != self.dtype(dtype):
                x = self.xp.astype(x, self.dtype(dtype))
            return _to_device(x, self.device)
        x = np.asarray(x)
        name = dtype or x.dtype.name
        return self.xp.asarray(x, dtype=self.dtype(name), device=self.device, copy=True)

    def __str__(self) -> str:
        return f"{self.name} on {self.device}"


def resolve(name: str, device: Any = None) -> Backend:
    """The :class:`Backend` for library ``name`` on ``device`` (default: its first device).

    ``device`` is a name (``"cpu"``, ``"cuda:1"``, ``"device1"``) or the library's own
    device object.

    Raises
    ------
    ConfigError
        Unknown library or device, library not installed (with what to install), or a
        CUDA device asked for where there is none.
    """
    if isinstance(name, Backend):
        return name
    if name not in NAMES:
        raise one_of("array library", name, NAMES)
    if name == "numpy":
        if device not in (None, "cpu"):
            raise ConfigError(
                f"NumPy arrays live on the CPU, not {device!r}; "
                "use net.to('cupy') or net.to('torch', device='cuda') for a GPU"
            )
        return Backend("numpy", np, "cpu")
    module = _import(name)
    if name == "torch":
        return Backend("torch", _compat(module), _torch_device(module, device))
    if name == "cupy":
        return Backend("cupy", _compat(module), _cupy_device(module, device))
    _import("array_api_compat")  # namespace_of needs it for every non-NumPy array
    return Backend(name, module, _strict_device(module, device))


def cuda(device: str = "cuda") -> Backend:
    """The GPU backend: CuPy if it is installed and sees a device, else PyTorch's CUDA.

    ``device`` is ``"cuda"`` (the first GPU) or ``"cuda:k"``.

    Raises
    ------
    ConfigError
        Neither library sees a CUDA device (one line naming what to install).
    """
    if device != "cuda" and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ConfigError(f"--device must be cpu, cuda or cuda:N (e.g. cuda:1), not {device!r}")
    problems = []
    for name in ("cupy", "torch"):
        if importlib.util.find_spec(name) is None:
            problems.append(f"{name} is not installed")
            continue
        try:
            return resolve(name, device)
        except ConfigError as err:
            problems.append(str(err).split(";")[0])
    raise ConfigError(
        "--device cuda needs an NVIDIA GPU with CuPy (pip install cupy-cuda12x) or a CUDA "
        f"build of PyTorch: {'; '.join(problems)}; or use --device cpu"
    )


def is_numpy_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, np.generic))


def namespace_of(*arrays: Any) -> ModuleType:
    """The array-API namespace of ``arrays``: NumPy itself for NumPy arrays (and lists,
    scalars), else array-api-compat's ``array_namespace`` (the arrays must agree)."""
    if all(not hasattr(x, "shape") or is_numpy_array(x) for x in arrays):
        return np
    compat = _import("array_api_compat")
    return compat.array_namespace(*(x for x in arrays if not is_numpy_array(x)))  # type: ignore[no-any-return]


def device_of(x: XArray) -> Any:
    """The device ``x`` lives on (``"cpu"`` for NumPy arrays)."""
    if is_numpy_array(x):
        return "cpu"
    return _import("array_api_compat").device(x)


def backend_of(x: XArray) -> Backend:
    """The :class:`Backend` of an array: its library, namespace and device."""
    if is_numpy_array(x):
        return Backend("numpy", np, "cpu")
    compat = _import("array_api_compat")
    for name, test in (
        ("torch", compat.is_torch_array),
        ("cupy", compat.is_cupy_array),
        ("array_api_strict", _is_strict_array),
    ):
        if test(x):
            return Backend(name, namespace_of(x), compat.device(x))
    raise ConfigError(
        f"arrays of type {type(x).__name__} are not supported; use NumPy, torch, CuPy "
        "or array-api-strict arrays"
    )


def copy(x: XArray) -> XArray:
    """A copy of ``x`` on its device (NumPy's ``x.copy()`` for NumPy arrays)."""
    return x.copy() if is_numpy_array(x) else namespace_of(x).asarray(x, copy=True)


def all_finite(x: XArray) -> bool:
    """No NaN or inf in ``x`` (for a GPU array: one read from the device)."""
    if is_numpy_array(x):
        return bool(np.isfinite(x).all())
    xp = namespace_of(x)
    return bool(xp.all(xp.isfinite(x)))


def first_value(x: XArray) -> float:
    """The first element of ``x`` as a Python float (``x.item(0)`` for NumPy arrays)."""
    return float(x.item(0)) if is_numpy_array(x) else float(x[(0,) * x.ndim])


def as_numpy(x: Any) -> np.ndarray:
    """``x`` as a NumPy array: NumPy data and lists as ``np.asarray`` (no copy), arrays of
    torch, CuPy or array-api-strict copied to the host in one transfer."""
    if type(x).__module__.split(".")[0] in ("torch", "cupy", "array_api_strict"):
        return to_numpy(x)
    return np.asarray(x)


def copy_on(ref: XArray, x: Any) -> XArray:
    """A copy of ``x`` (NumPy) as an array of ``ref``'s library, on ``ref``'s device."""
    if is_numpy_array(ref):
        return np.array(x, dtype=ref.dtype, copy=True)
    return backend_of(ref).asarray(x)


def to_numpy(x: Any) -> np.ndarray:
    """``x`` (an array of any backend, on any device) as a new NumPy array: one transfer."""
    if is_numpy_array(x) or not hasattr(x, "shape"):
        return np.array(x, copy=True)
    name = backend_of(x).name
    if name == "torch":
        return np.array(x.detach().cpu().numpy(), copy=True)
    if name == "cupy":
        return x.get()  # type: ignore[no-any-return]
    strict = _import("array_api_strict")
    return np.array(np.from_dlpack(_to_device(x, strict.Device("CPU_DEVICE"))), copy=True)


# -- one library each --------------------------------------------------------


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(f"{name} is not installed: {INSTALL[name]}") from None


def _compat(module: ModuleType) -> ModuleType:
    _import("array_api_compat")
    return importlib.import_module(f"array_api_compat.{module.__name__}")


def _to_device(x: XArray, device: Any) -> XArray:
    return _import("array_api_compat").to_device(x, device)


def _is_strict_array(x: Any) -> bool:
    return type(x).__module__.startswith("array_api_strict")


def _torch_device(torch: ModuleType, device: Any) -> Any:
    try:
        dev = torch.device(device or "cpu")
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"unknown PyTorch device {device!r}; use 'cpu', 'cuda' or 'cuda:0'"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "PyTorch sees no CUDA device (torch.cuda.is_available() is False); use "
            "device='cpu', or a machine with an NVIDIA GPU and a CUDA build of torch"
        )
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise ConfigError(f"PyTorch sees {torch.cuda.device_count()} CUDA devices, not {dev}")
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {device!r} is not supported; use 'cpu' or 'cuda'")
    return dev


def _cupy_device(cupy: ModuleType, device: Any) -> Any:
    if isinstance(device, cupy.cuda.Device):
        device = f"cuda:{device.id}"
    text = device or "cuda"
    if text != "cuda" and not text.startswith("cuda:"):
        raise ConfigError(f"CuPy arrays live on a GPU: use device='cuda' or 'cuda:0', not {text!r}")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # CUDARuntimeError without a driver; its type needs the driver too
        count = 0
    if count == 0:
        raise ConfigError(
            "CuPy sees no CUDA device (no NVIDIA GPU or driver); "
            "use net.to('torch') or net.to('numpy') on this machine"
        )
    index = int(text.partition(":")[2] or 0)
    if index >= count:
        raise ConfigError(f"CuPy sees {count} CUDA devices, not {text}")
    return cupy.cuda.Device(index)


def _strict_device(strict: ModuleType, device: Any) -> Any:
    if isinstance(device, strict.Device):
        return device
    names = [d._device for d in strict.__array_namespace_info__().devices()]
    name = "CPU_DEVICE" if device in (None, "cpu") else device
    if name not in names:
        raise one_of("array_api_strict device", device, ["cpu", *names[1:]])
    return strict.Device(name)
