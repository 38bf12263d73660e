"""Type aliases shared by the library's annotations.

``Array`` is any NumPy array (the library's matrices are float32 or float64;
their shapes are given in each docstring, e.g. "of shape (n_l, m)").
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

#: a NumPy array of any dtype and shape
Array = npt.NDArray[Any]
#: something ``np.asarray`` turns into an array (an array, nested lists, …)
ArrayLike = npt.ArrayLike
#: a NumPy dtype or something naming one (``"float32"``, ``np.float64``)
DTypeLike = npt.DTypeLike

__all__ = ["Array", "ArrayLike", "DTypeLike"]
