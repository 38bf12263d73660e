"""The source's derivation, step by step, with a network's real numbers.

:func:`explain` runs one gradient-descent step of a :class:`~backprop.Network`
on one example (or a small mini-batch) and keeps every intermediate value,
then :meth:`Explanation.steps` lays them out in the source's order and
notation::

    z^l = W^l a^{l-1} + b^l,  a^l = σ(z^l)       forward, l = 1..L
    C = ½‖a^L − t‖²                               the cost (or the network's own)
    δ^L = (a^L − t) ∘ σ'(z^L)                     BP1 (or the cost's own δ^L)
    ∂C/∂W^l = δ^l (a^{l-1})ᵀ,  ∂C/∂b^l = δ^l      BP4, BP3
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ'(z^l)          BP2, for l = L−1..1
    W^l ← W^l − α ∂C/∂W^l,  b^l ← b^l − α ∂C/∂b^l  the update, then the new cost

Beside every gradient sits its finite-difference check. The package does the
maths (through the Network) and never formats numbers; the renderers in
:mod:`backprop.report` import it and turn the steps into text, Markdown, HTML
or JSON. Its modules, each with one job:

* :mod:`~backprop.explain.expressions` — the equations as small expression trees;
* :mod:`~backprop.explain.records` — :class:`Step`, :class:`Term`, :class:`Check`;
* :mod:`~backprop.explain.steps`, :mod:`~backprop.explain.backward_steps` — the walkthrough;
* :mod:`~backprop.explain.model` — :class:`Explanation` and its JSON contract;
* :mod:`~backprop.explain.compute` — :func:`explain`, :func:`source_example`.
"""

from __future__ import annotations

from .compute import explain, source_example
from .model import JSON_VERSION, Explanation
from .records import Check, RowItems, Step, Term

__all__ = [
    "JSON_VERSION",
    "Check",
    "Explanation",
    "RowItems",
    "Step",
    "Term",
    "explain",
    "source_example",
]
