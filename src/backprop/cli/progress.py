"""The progress display of ``backprop train``: :class:`backprop.training.progress.Progress`.

The callback lives in the library (``bp.Progress()``, ``bp.train(..., verbose=True)``);
this module keeps the CLI's old import path.
"""

from __future__ import annotations

from ..training.progress import Progress

__all__ = ["Progress"]
