"""Training: mini-batch gradient descent with backpropagation.

:func:`train` runs epochs of mini-batch gradient descent, the source's update
α applied to the batch-mean gradient (or momentum, Nesterov, Adam; see
:mod:`backprop.optimizers`), and returns a :class:`History`. Nothing here
prints: progress bars, logs and checkpoints are :class:`Callback` objects
(:class:`Progress`, or ``train(..., verbose=True)``, shows training progress).

One mini-batch of m examples, rows ``Xb`` of shape (m, n_0)::

    z^l = W^l a^{l-1} + b^l,   a^l = σ_l(z^l) ∘ r^l / q     forward (r^l: dropout mask)
    δ^L = ∂C_x/∂z^L                                          BP1
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l / q          BP2
    ∂C/∂b^l = (1/m) Σ_columns δ^l                            BP3
    ∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ + (λ/n) W^l               BP4 + L2 (Nielsen ch. 3)
    θ ← optimizer.step(θ, ∂C/∂θ)                             e.g. θ ← θ − α ∂C/∂θ

With plain SGD the L2 term gives exactly the book's
W ← (1 − αλ/n) W − α ∂C₀/∂W, with n the number of training examples; the
biases are not decayed. Dropout (probability p, keep q = 1 − p) applies to
hidden layers only, in the inverted form: kept activations are scaled by 1/q
during training, so the network is used unchanged for prediction.

All mutable loop state lives in one :class:`TrainState`; ``state.checkpoint()``
captures it and ``train(..., resume=checkpoint)`` continues bit-identically,
even from the middle of an epoch.

The package, along the data flow: :mod:`~.inputs` (validate and convert the
data once), :mod:`~.step` (the :class:`~.step.Step` protocol, the readable
step, the engines), :mod:`~.loop` (:func:`train`), :mod:`~.metrics`
(:func:`evaluate`, :func:`confusion_matrix`), :mod:`~.history`,
:mod:`~.callbacks`, :mod:`~.progress`, :mod:`~.state`.
"""

from __future__ import annotations

from .callbacks import BatchCadence, Callback, Checkpoint, RotatingCheckpoint
from .history import History
from .inputs import Dataset, prepare
from .loop import train
from .metrics import EVAL_CHUNK, accuracy, confusion_matrix, evaluate
from .progress import Progress
from .state import TrainState
from .step import ENGINES, ReadableStep, Step, make_step, register_engine

__all__ = [
    "ENGINES",
    "EVAL_CHUNK",
    "BatchCadence",
    "Callback",
    "Checkpoint",
    "Dataset",
    "History",
    "Progress",
    "ReadableStep",
    "RotatingCheckpoint",
    "Step",
    "TrainState",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "make_step",
    "prepare",
    "register_engine",
    "train",
]
