"""Model and checkpoint files in the safetensors format, read and written with NumPy only.

A model file holds the tensors ``W1, b1, …, WL, bL`` (W^l of shape (n_l, n_{l-1}),
b^l of shape (n_l,)) and, under the header's ``__metadata__`` key ``"backprop"``,
one JSON document with the architecture, the caller's metadata (training
configuration, data fingerprint, final metrics) and a SHA-256 checksum of the
whole contents: the tensor bytes and the rest of that document. The layout
is documented in ``docs/model-format.md``; the files load with
``safetensors.numpy.load_file`` and ``safetensors.torch.load_file``.

The package has one module per job, along the data flow:

* :mod:`~backprop.io.container` — the safetensors byte format, the document's
  envelope, checksums and the validation of everything read (knows no networks);
* :mod:`~backprop.io.checkpoint` — :func:`save_checkpoint` / :func:`load_checkpoint`;
* :mod:`~backprop.io.model_writer` — :func:`save` (needs only a network's attributes,
  so :meth:`backprop.Network.save` can use it from below);
* :mod:`~backprop.io.model_reader` — :func:`load` / :func:`read_metadata`, which
  build a :class:`~backprop.Network`.

Writes are atomic (:mod:`backprop._atomic`). Reading trusts nothing: every
problem is a :class:`~backprop.errors.ModelFileError` with a one-line message.
Nothing is ever unpickled or evaluated.
"""

from __future__ import annotations

from .checkpoint import load_checkpoint, save_checkpoint
from .container import (
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    MAX_DIMS,
    MAX_HEADER_BYTES,
    METADATA_KEY,
    MODEL_FORMAT,
)
from .model_reader import load, read_metadata
from .model_writer import save

__all__ = [
    "CHECKPOINT_FORMAT",
    "FORMAT_VERSION",
    "MAX_DIMS",
    "MAX_HEADER_BYTES",
    "METADATA_KEY",
    "MODEL_FORMAT",
    "load",
    "load_checkpoint",
    "read_metadata",
    "save",
    "save_checkpoint",
]
