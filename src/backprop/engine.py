"""The fast training step: one mini-batch of BP1–BP4 and the update, with no temporaries.

:meth:`Network.gradients` and ``training._Step`` are the readable form of
backpropagation. :class:`FastStep` computes the same numbers for a training
step (tests hold them equal), arranged for speed:

* Every array of the step (z^l/a^l, σ'(z^l), δ^l, the gathered mini-batch,
  dropout masks) is allocated once per batch size and reused; every matrix
  product and elementwise operation writes into it (``out``).
* The step is recorded once per batch size as a list of NumPy calls with
  their arrays bound (the *tape*), in the order of the equations below, and
  replayed for every mini-batch: the per-step Python work is one loop over
  the tape. Scalars (α/m, 1 − αλ/n) are 0-d arrays of the network's dtype,
  changed in place when α changes: cheaper operands than Python floats, and
  the tape stays valid.
* a^l overwrites z^l (hidden layers), and σ'(z^l) is computed once in the
  forward pass from the cached a^l: a(1 − a) for the sigmoid, 1 − a² for
  tanh, the 0/1 mask for ReLU (which also makes a^l = z^l ∘ mask). The
  sigmoid is ½ tanh(z/2) + ½, in place.
* δ^L is multiplied by α/m (plain SGD) or 1/m (other optimisers) once. BP2 is
  linear in δ^{l+1}, so every δ^l carries the same factor and BP3/BP4 need
  no further scaling: Σ_columns δ^l *is* α ∂C/∂b^l.
* For plain SGD, BP4 and the update are one BLAS GEMM that accumulates into
  W^l: ``W ← β W − δ (a^{l-1})ᵀ`` with β = 1 − αλ/n (L2), called on NumPy's own
  OpenBLAS through ctypes. (SciPy's ``sgemm`` would put a second OpenBLAS
  thread pool in the step, and the two fight over the cores: ~70× slower,
  see PERFORMANCE.md.) Without that library, np.dot into a gradient buffer
  and an in-place subtraction do the same.
* Layers with enough work (``FUSE_MIN_WORK``) also take the forward product
  as one accumulating GEMM: b^l is copied into every column of z^l, then
  ``z ← W a + z``. For a sigmoid hidden layer the GEMM scales by ½ (α = β = ½),
  so it yields z/2 and tanh(z/2) needs no scaling pass.
* Other optimisers receive ∂C/∂W^l (+ (λ/n) W^l) and ∂C/∂b^l in reused
  buffers through ``optimizer.step(params, grads)``.

The equations, for a mini-batch of m examples as columns (DESIGN.md)::

    z^l = W^l a^{l-1} + b^l,   a^l = σ_l(z^l) ∘ r^l/q       forward (r^l: dropout mask)
    δ^L = (a^L − t) ∘ σ_L'(z^L)    (quadratic)               BP1
    δ^L =  a^L − t                 (cross-entropy)
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l/q            BP2
    ∂C/∂b^l = (1/m) Σ_columns δ^l                            BP3
    ∂C/∂W^l = (1/m) δ^l (a^{l-1})ᵀ + (λ/n) W^l                BP4 (+ L2)

``FastStep`` has the interface of ``training._Step``: ``step(X, T, idx, lr)``
trains on rows ``idx``, ``params`` are the arrays it updates in place (whoever
restores weights copies into them), ``last_cost()`` is the last mini-batch's
C₀. Dropout masks are drawn from ``rng`` in the same order and form as
``_Step`` draws them. :func:`unsupported` says when it cannot be used (an
activation or cost defined outside this package); the loop then keeps the
readable step.
"""

from __future__ import annotations

import ctypes
import glob
import math
import os

import numpy as np

from . import activations, costs
from . import optimizers as optim

__all__ = ["FastStep", "Evaluator", "unsupported", "fused_gemm_available"]

# A layer whose update has at least this many multiply-adds (n_l · n_{l−1} · m)
# gets the fused GEMM; below it one ctypes call costs more than np.dot plus a
# subtraction (measured: ~1.4 µs against ~0.5 µs per NumPy call).
FUSE_MIN_WORK = 1 << 15


def unsupported(net, optimizer=None, dropout: float = 0.0) -> str | None:
    """Why :class:`FastStep` cannot train ``net``, or None when it can."""
    for act in net.act:
        if type(act) is not activations.ACTIVATIONS.get(act.name):
            return f"activation {act.name!r} is not one of the built-in ones"
    if type(net.cost_fn) is not costs.COSTS.get(net.cost_fn.name):
        return f"cost {net.cost_fn.name!r} is not one of the built-in ones"
    dtype = np.dtype(net.dtype)
    for p in net.params():
        if p.dtype != dtype or not p.flags.c_contiguous or not p.flags.writeable:
            return "a parameter is not a writable C-contiguous array of the network's dtype"
    if optimizer is not None and not callable(getattr(optimizer, "step", None)):
        return "the optimizer has no step(params, grads)"
    if not 0.0 <= dropout < 1.0:
        return f"dropout {dropout} is not in [0, 1)"
    return None


class FastStep:
    """One training step on a mini-batch: forward, BP1–BP4 and the update.

    Parameters
    ----------
    net : Network
        Trained in place: its ``W[l]``, ``b[l]`` arrays are updated, never replaced.
    optimizer : Optimizer
        ``optimizers.SGD`` is fused into the weight-gradient GEMM; any other
        receives the gradients through ``optimizer.step(params, grads)``.
    l2 : float
        λ; the L2 term adds (λ/n) W^l to ∂C/∂W^l (biases are not decayed).
    n_train : int
        n, the number of training examples (for λ/n).
    dropout : float
        p, the probability of dropping a hidden neuron (inverted dropout, q = 1 − p).
    rng : np.random.Generator
        Draws the dropout masks.
    fuse : bool
        Use the accumulating GEMM for SGD where it pays (False: for measuring).
    """

    def __init__(self, net, optimizer, *, l2=0.0, n_train=1, dropout=0.0, rng=None, fuse=True):
        reason = unsupported(net, optimizer, dropout)
        if reason is not None:
            raise ValueError(f"FastStep cannot train this network: {reason}")
        if dropout and rng is None:
            raise ValueError("dropout needs an rng to draw the masks from")
        self.net = net
        self.optimizer = optimizer
        self.params = net.params()  # [W^1, b^1, …, W^L, b^L], updated in place
        self.decay = l2 / n_train  # λ/n
        self.keep = 1.0 - dropout  # q
        self.rng = rng
        self.dtype = np.dtype(net.dtype)
        self.sgd = optimizer is None or type(optimizer) is optim.SGD
        self.gemm = _cblas_gemm(net.dtype) if fuse else None  # cblas gemm, or None
        self._scale = np.zeros((), self.dtype)  # α/m (SGD) or 1/m, carried by every δ^l
        self._beta = np.ones((), self.dtype)  # 1 − αλ/n, the L2 shrink of W (SGD)
        self._beta_c = _real(self.dtype)(1.0)  # the same β, as the GEMM's argument
        self._lr = None
        self._tapes: dict[int, _Tape] = {}
        self._tape: _Tape | None = None
        self.xb = self.tb = None

    # -- the interface of training._Step -------------------------------------

    def gather(self, X: np.ndarray, T: np.ndarray, idx: np.ndarray):
        """Copy rows ``idx`` of X (n, n_0) and T (n, n_L) into this batch size's buffers."""
        m = len(idx)
        tape = self._tape
        if tape is None or tape.m != m:
            tape = self._tape_for(m)
        # ndarray.take with positional arguments: half the call cost of np.take(...)
        X.take(idx, 0, tape.xb, "clip")
        T.take(idx, 0, tape.tb, "clip")
        return tape.xb, tape.tb

    def __call__(self, X: np.ndarray, T: np.ndarray, idx: np.ndarray, lr: float) -> None:
        """Train on the mini-batch of rows ``idx`` of (X, T) with learning rate ``lr``."""
        self.gather(X, T, idx)
        if lr != self._lr:
            self._set_lr(lr)
        tape = self._tape
        for f, args in tape.ops:
            f(*args)
        tape.ran = True

    def last_cost(self) -> float:
        """C₀ of the last mini-batch, with the weights before its update."""
        tape = self._tape
        if tape is None or not tape.ran:
            return math.nan
        net, L = self.net, self.net.L
        t = tape.tb.T
        return float(net.cost_fn.value(tape.z_out, tape.a[L], t, net.act[L]).mean())

    # -- set-up ---------------------------------------------------------------

    def _set_lr(self, lr: float) -> None:
        if self.optimizer is not None:
            self.optimizer.lr = lr
        self._lr = lr
        m = self._tape.m
        self._scale[...] = lr / m if self.sgd else 1.0 / m
        self._beta[...] = 1.0 - lr * self.decay
        self._beta_c.value = 1.0 - lr * self.decay

    def _tape_for(self, m: int) -> _Tape:
        tape = self._tapes.get(m)
        if tape is None:
            if len(self._tapes) >= 2:  # full batches and one last partial batch
                self._tapes.pop(next(iter(self._tapes)))
            tape = self._tapes[m] = _Tape(self, m)
        self._tape = tape
        if self._lr is not None:
            self._set_lr(self._lr)  # the scale α/m depends on m
        return tape


class _Tape:
    """The buffers for batch size m and the step's NumPy calls, bound to them."""

    def __init__(self, step: FastStep, m: int):
        net, dt, L = step.net, step.dtype, step.net.L
        n, W, b, act = net.sizes, net.W, net.b, net.act
        self.m, self.ran = m, False

        def col(k):  # the book's (k, m) matrix, one column per example
            return np.zeros((k, m), dtype=dt)

        def const(x):  # a 0-d operand of the network's dtype
            return np.array(x, dtype=dt)

        self.xb = np.zeros((m, n[0]), dtype=dt)  # gathered inputs, rows
        self.tb = np.zeros((m, n[L]), dtype=dt)  # gathered targets, rows
        a = self.a = [self.xb.T] + [col(n[l]) for l in range(1, L + 1)]  # a^l (z^l until σ)
        self.z_out = col(n[L])  # z^L, kept apart from a^L (for last_cost)
        delta = [None] + [col(n[l]) for l in range(1, L + 1)]  # δ^l, times α/m or 1/m
        sp = [None] * (L + 1)  # σ'(z^l) (∘ r^l/q for dropout layers)
        ones = np.ones((m, 1), dtype=dt)  # Σ_columns as a matrix-vector product
        col_max = np.zeros((1, m), dtype=dt)  # softmax: per-column max and sum
        ones_out = np.ones((1, n[L]), dtype=dt)
        half, one, scale, beta = const(0.5), const(1.0), step._scale, step._beta
        dropout = step.keep < 1.0
        cross_entropy = net.cost_fn.name == "cross-entropy"
        self.ops = ops = []

        def do(f, *args):
            ops.append((f, args))

        # ---- forward: z^l = W^l a^{l-1} + b^l, a^l = σ_l(z^l) ------------------
        for l in range(1, L + 1):
            name = act[l].name
            z = self.z_out if l == L else a[l]  # hidden layers: a^l overwrites z^l
            halved = False  # z holds z^l/2 (the sigmoid's tanh(z/2), one pass saved)
            if step.gemm is not None and n[l] * n[l - 1] * m >= FUSE_MIN_WORK:
                # z^l = W^l a^{l-1} + b^l as one GEMM accumulating onto b^l in every column
                halved = name == "sigmoid" and l < L
                k = 0.5 if halved else 1.0
                do(np.copyto, z, b[l])
                do(step.gemm, *_gemm_args(z, W[l], a[l - 1], k, k))  # z ← k W a + k z
            else:
                do(np.dot, W[l], a[l - 1], z)  # z^l = W^l a^{l-1}
                do(np.add, z, b[l], z)  #          + b^l
            needs_prime = l < L or not cross_entropy  # σ' for BP2, or BP1 (quadratic)
            if name in ("relu", "leaky-relu"):
                sp[l] = col(n[l])
                do(np.greater, z, const(0.0), sp[l])  # σ'(z) = [z > 0] (1 or 0)
                if name == "leaky-relu":  # σ'(z) = 1 or slope
                    slope = activations.LeakyReLU.slope
                    do(np.multiply, sp[l], const(1.0 - slope), sp[l])
                    do(np.add, sp[l], const(slope), sp[l])
                do(np.multiply, z, sp[l], a[l])  # a = z ∘ σ'(z)
            elif name == "sigmoid":  # a = ½ tanh(z/2) + ½
                if halved:
                    do(np.tanh, z, a[l])
                else:
                    do(np.multiply, z, half, a[l])
                    do(np.tanh, a[l], a[l])
                do(np.multiply, a[l], half, a[l])
                do(np.add, a[l], half, a[l])
                if needs_prime:
                    sp[l] = col(n[l])
                    do(np.subtract, one, a[l], sp[l])  # σ' = (1 − a) a
                    do(np.multiply, sp[l], a[l], sp[l])
            elif name == "tanh":
                do(np.tanh, z, a[l])
                if needs_prime:
                    sp[l] = col(n[l])
                    do(np.multiply, a[l], a[l], sp[l])  # σ' = 1 − a²
                    do(np.subtract, one, sp[l], sp[l])
            elif name == "softmax":  # a = e^{z − max} / Σ e^{z − max}, per column
                do(np.maximum.reduce, z, 0, None, col_max, True)  # max over each column
                do(np.subtract, z, col_max, a[l])
                do(np.exp, a[l], a[l])
                do(np.dot, ones_out, a[l], col_max)  # Σ_j e^{z_j − max}, as a product
                do(np.divide, a[l], col_max, a[l])
            elif name == "identity":
                if z is not a[l]:
                    do(np.copyto, a[l], z)
            else:  # pragma: no cover - unsupported() rules this out
                raise ValueError(name)
            if dropout and l < L:  # a^l ← a^l ∘ r^l/q; the same factor joins σ'
                if sp[l] is None:
                    sp[l] = col(n[l])
                    do(np.copyto, sp[l], one)
                do(_Dropout(step, col(n[l]), sp[l], a[l]))

        # ---- BP1: δ^L, times α/m (SGD) or 1/m ---------------------------------
        t = self.tb.T
        out = act[L].name
        do(np.subtract, a[L], t, delta[L])  # a^L − t
        if not cross_entropy:  # quadratic: ∘ σ'(z^L), or softmax's Jacobian
            if out == "softmax":  # (Jᵀg)_j = a_j (g_j − Σ_i a_i g_i)
                tmp = col(n[L])
                do(np.multiply, a[L], delta[L], tmp)
                do(np.dot, ones_out, tmp, col_max)  # Σ_i a_i g_i
                do(np.subtract, delta[L], col_max, delta[L])
                do(np.multiply, delta[L], a[L], delta[L])
            elif sp[L] is not None:
                do(np.multiply, delta[L], sp[L], delta[L])
        do(np.multiply, delta[L], scale, delta[L])

        self.dW = [None] + [np.zeros_like(W[l]) for l in range(1, L + 1)]
        self.db = [None] + [np.zeros_like(b[l]) for l in range(1, L + 1)]
        dW, db = self.dW, self.db
        for l in range(L, 0, -1):
            # ---- BP2: δ^{l-1} = ((W^l)ᵀ δ^l) ∘ σ'(z^{l-1}), with W^l before its update
            if l > 1:
                do(np.dot, W[l].T, delta[l], delta[l - 1])
                if sp[l - 1] is not None:
                    do(np.multiply, delta[l - 1], sp[l - 1], delta[l - 1])
            # ---- BP3: Σ_columns δ^l = m·scale·∂C/∂b^l ----------------------------
            do(np.dot, delta[l], ones, db[l])
            # ---- BP4 and the update ---------------------------------------------
            if step.sgd:
                do(np.subtract, b[l], db[l], b[l])  # b^l ← b^l − α ∂C/∂b^l
                if step.gemm is not None and n[l] * n[l - 1] * m >= FUSE_MIN_WORK:
                    # W^l ← (1 − αλ/n) W^l − α (1/m) δ^l (a^{l-1})ᵀ, one GEMM
                    update = _gemm_args(W[l], delta[l], a[l - 1].T, -1.0, step._beta_c)
                    do(step.gemm, *update)
                else:
                    do(np.dot, delta[l], a[l - 1].T, dW[l])  # α ∂C₀/∂W^l
                    if step.decay:
                        do(np.multiply, W[l], beta, W[l])  # W^l ← (1 − αλ/n) W^l
                    do(np.subtract, W[l], dW[l], W[l])  #      − α ∂C₀/∂W^l
            else:
                do(np.dot, delta[l], a[l - 1].T, dW[l])  # ∂C₀/∂W^l = (1/m) δ^l (a^{l-1})ᵀ
                if step.decay:  # + (λ/n) W^l
                    wd = np.zeros_like(W[l])
                    do(np.multiply, W[l], const(step.decay), wd)
                    do(np.add, dW[l], wd, dW[l])
        if not step.sgd:
            grads = [g for l in range(1, L + 1) for g in (dW[l], db[l])]
            do(step.optimizer.step, step.params, grads)
        self.delta = delta  # the GEMM arguments point into these arrays


class _Dropout:
    """Draw r^l/q like ``training._Step.masks``; a^l ← a^l ∘ r^l/q, σ' ← σ' ∘ r^l/q."""

    def __init__(self, step: FastStep, mask: np.ndarray, sp: np.ndarray, a: np.ndarray):
        self.rng, self.q, self.mask, self.sp, self.a = step.rng, step.keep, mask, sp, a
        self.inv_q = 1 / step.keep

    def __call__(self) -> None:
        mask = self.mask
        self.rng.random(out=mask, dtype=mask.dtype)  # u ~ U[0, 1)
        np.less(mask, self.q, out=mask)  # r = [u < q]
        np.multiply(mask, self.inv_q, out=mask)  # r/q
        np.multiply(self.a, mask, out=self.a)
        np.multiply(self.sp, mask, out=self.sp)


# -- evaluation: C and accuracy over many rows -----------------------------------


class Evaluator:
    """C₀ and accuracy of a network over a data set, forward passes in chunks of rows.

    The numbers of ``training._evaluate``'s readable loop (z^l = W^l a^{l-1} + b^l,
    a^l = σ_l(z^l), C = mean of C_x, accuracy by argmax or threshold), computed
    with buffers allocated once for ``chunk`` columns and reused for every chunk
    (a smaller last chunk uses the front of them): products and activations
    write into them (``out``), a^l overwrites z^l, the sigmoid is ½ tanh(z/2) + ½
    in place. The cross-entropy is computed from z^L as in ``costs`` (ln a from
    log-sum-exp / softplus), before a^L overwrites anything it needs. The
    weights are read from the network on every call, so one evaluator serves
    the whole of a training run. Float32 networks stay float32; the total is
    accumulated in float64.
    """

    def __init__(self, net, chunk: int, max_rows: int | None = None):
        reason = unsupported(net)
        if reason is not None:
            raise ValueError(f"Evaluator cannot evaluate this network: {reason}")
        self.key = _eval_key(net)
        self.chunk = int(chunk)
        # buffers for the largest chunk it will see (fewer rows than a chunk: all of them)
        chunk = self.chunk if max_rows is None else max(1, min(self.chunk, int(max_rows)))
        dt, n, L = np.dtype(net.dtype), net.sizes, net.L
        self.buf = [None] + [np.empty(n[l] * chunk, dt) for l in range(1, L + 1)]  # z^l, a^l
        hidden = max(n[1:L], default=1)
        self.tmp = np.empty(hidden * chunk, dt) if "leaky-relu" in net.activations else None
        self.a_out = np.empty(n[L] * chunk, dt)  # a^L where z^L must survive (cross-entropy)
        self.e_out = np.empty(n[L] * chunk, dt)  # scratch for the cost
        self.row = np.empty(chunk, dt)  # per-column reductions
        self.row2 = np.empty(chunk, dt)
        self.pred = np.empty(chunk, np.intp)
        self.hit = np.empty(chunk, bool)
        self.hit2 = np.empty(chunk, bool)

    def fits(self, net) -> bool:
        return self.key == _eval_key(net)

    def __call__(self, net, X, T, labels=None, kind=None) -> tuple[float, float | None]:
        """(C₀, accuracy) of ``net`` on rows X (m, n_0), targets T (m, n_L).

        ``labels`` and ``kind`` are ``training._Dataset``'s: the classes and how
        a prediction is read (``"argmax"``, ``"threshold"``, or None: no accuracy).
        """
        m, total, correct = len(X), 0.0, 0
        for start in range(0, m, self.chunk):
            stop = min(start + self.chunk, m)
            c, k = self._chunk(net, X[start:stop], T[start:stop], labels, kind, start)
            total += c
            correct += k
        return total / m, (correct / m if kind else None)

    def _chunk(self, net, Xc, Tc, labels, kind, start):
        L, n, r = net.L, net.sizes, len(Xc)
        a = Xc.T
        for l in range(1, L + 1):
            z = self.buf[l][: n[l] * r].reshape(n[l], r)
            np.matmul(net.W[l], a, out=z)  # z^l = W^l a^{l-1}
            np.add(z, net.b[l], out=z)  #        + b^l
            if l < L:
                self._activate(net.act[l].name, z)  # a^l = σ(z^l), over z^l
            a = z
        z, t = a, Tc.T
        out, cost = net.act[L].name, net.cost_fn.name
        e = self.e_out[: n[L] * r].reshape(n[L], r)
        row, row2 = self.row[:r], self.row2[:r]
        if cost == "cross-entropy" and out == "softmax":
            # ln a_j = u_j − ln Σ_i e^{u_i}, u = z − max_i z_i;  C_x = −Σ_j t_j ln a_j
            np.maximum.reduce(z, 0, None, row, False)
            np.subtract(z, row, out=z)  # u (z^L itself is not needed again)
            a = self.a_out[: n[L] * r].reshape(n[L], r)
            np.exp(z, out=a)
            np.add.reduce(a, 0, None, row, False)  # Σ_i e^{u_i}
            np.divide(a, row, out=a)  # a^L = softmax(z^L)
            np.log(row, out=row)  # ln Σ_i e^{u_i}
            np.add.reduce(t, 0, None, row2, False)  # Σ_j t_j
            np.multiply(row, row2, out=row)
            np.multiply(t, z, out=e)
            c = float(row.sum(dtype=np.float64)) - float(e.sum(dtype=np.float64))
        elif cost == "cross-entropy":
            # sigmoid: C_x = Σ_j t_j softplus(−z_j) + (1 − t_j) softplus(z_j)
            a = self.a_out[: n[L] * r].reshape(n[L], r)
            np.negative(z, out=a)
            np.logaddexp(0, a, out=a)  # −ln σ(z)
            np.multiply(t, a, out=a)
            c = float(a.sum(dtype=np.float64))
            np.logaddexp(0, z, out=e)  # −ln(1 − σ(z))
            np.subtract(1, t, out=a)
            np.multiply(a, e, out=e)
            c += float(e.sum(dtype=np.float64))
            a = z
            self._activate(out, a)
        else:  # quadratic: C_x = ½‖a^L − t‖²
            a = z
            self._activate(out, a)
            np.subtract(a, t, out=e)
            np.multiply(e, e, out=e)
            c = 0.5 * float(e.sum(dtype=np.float64))
        k = 0
        if kind == "argmax":
            np.argmax(a, 0, self.pred[:r])
            np.equal(self.pred[:r], labels[start : start + r], out=self.hit[:r])
            k = int(np.count_nonzero(self.hit[:r]))
        elif kind == "threshold":
            np.greater(a[0], 0.5, out=self.hit[:r])
            np.equal(labels[start : start + r], 1, out=self.hit2[:r])
            np.equal(self.hit[:r], self.hit2[:r], out=self.hit[:r])
            k = int(np.count_nonzero(self.hit[:r]))
        return c, k

    def _activate(self, name: str, z: np.ndarray) -> None:
        """z ← σ(z) in place."""
        if name == "sigmoid":  # ½ tanh(z/2) + ½
            np.multiply(z, 0.5, out=z)
            np.tanh(z, out=z)
            np.multiply(z, 0.5, out=z)
            np.add(z, 0.5, out=z)
        elif name == "relu":
            np.maximum(z, 0, out=z)
        elif name == "leaky-relu":  # max(z, slope·z) for a slope below 1
            tmp = self.tmp[: z.size].reshape(z.shape)
            np.multiply(z, activations.LeakyReLU.slope, out=tmp)
            np.maximum(z, tmp, out=z)
        elif name == "tanh":
            np.tanh(z, out=z)
        elif name == "softmax":  # e^{z − max} / Σ e^{z − max}, per column
            row = self.row[: z.shape[1]]
            np.maximum.reduce(z, 0, None, row, False)
            np.subtract(z, row, out=z)
            np.exp(z, out=z)
            np.add.reduce(z, 0, None, row, False)
            np.divide(z, row, out=z)
        elif name != "identity":  # pragma: no cover - unsupported() rules this out
            raise ValueError(name)


def _eval_key(net) -> tuple:
    return (tuple(net.sizes), str(np.dtype(net.dtype)), tuple(net.activations), net.cost_fn.name)


# -- an accumulating GEMM on NumPy's own BLAS ------------------------------------

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_CBLAS: dict | None = None


def _cblas_gemm(dtype: str):
    """cblas_{s,d}gemm of the OpenBLAS bundled with NumPy's wheel, or None."""
    global _CBLAS
    if _CBLAS is None:
        _CBLAS = _load_numpy_cblas() or {}
    return _CBLAS.get(str(dtype))


def fused_gemm_available() -> bool:
    """True when SGD's BP4 + update runs as one accumulating GEMM on NumPy's BLAS."""
    return _cblas_gemm("float32") is not None


def _load_numpy_cblas() -> dict | None:
    """Bind cblas gemm from NumPy's bundled OpenBLAS (ILP64) and check it on a product.

    NumPy ≥ 2 wheels name it ``scipy_cblas_sgemm64_``, NumPy 1.2x wheels
    ``cblas_sgemm64_``; a NumPy linked to a system BLAS has no bundled copy,
    and the step then uses np.dot and a subtraction.
    """
    here = os.path.dirname(np.__file__)
    paths = glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*openblas*"))
    paths += glob.glob(os.path.join(here, ".dylibs", "*openblas*"))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_cblas_", "cblas_"):
            found = {}
            for dtype, letter, real in (
                ("float32", "s", ctypes.c_float),
                ("float64", "d", ctypes.c_double),
            ):
                fn = getattr(lib, f"{prefix}{letter}gemm64_", None)
                if fn is None:
                    break
                i, p = ctypes.c_int64, ctypes.c_void_p
                fn.argtypes = [ctypes.c_int] * 3 + [i, i, i, real, p, i, p, i, real, p, i]
                fn.restype = None
                found[dtype] = fn
            if len(found) == 2 and all(_gemm_works(fn, dt) for dt, fn in found.items()):
                return found
    return None


def _gemm_works(fn, dtype: str) -> bool:
    W = np.ones((2, 4), dtype=dtype)
    A = np.arange(6, dtype=dtype).reshape(2, 3)
    B = np.arange(12, dtype=dtype).reshape(3, 4)
    expected = 0.5 * W - A @ B
    fn(*_gemm_args(W, A, B, -1.0, _real(dtype)(0.5)))
    return bool(np.array_equal(W, expected))


def _operand(X: np.ndarray) -> tuple[int, int]:
    """(transpose flag, leading dimension) of X as a row-major BLAS operand."""
    if X.flags.c_contiguous:
        return _NO_TRANS, X.shape[1]
    if X.T.flags.c_contiguous:
        return _TRANS, X.shape[0]
    raise ValueError("a GEMM operand must be C- or Fortran-contiguous")


def _real(dtype):
    return ctypes.c_float if np.dtype(dtype) == np.float32 else ctypes.c_double


def _gemm_args(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, beta) -> tuple:
    """Arguments of cblas gemm for ``C ← α A B + β C``; the arrays must outlive the call.

    ``beta`` may be a ctypes number, which the caller can change between calls.
    """
    (rows, cols), inner = C.shape, A.shape[1]
    if not C.flags.c_contiguous or A.shape[0] != rows or B.shape != (inner, cols):
        raise ValueError("GEMM operands do not fit")
    if C.dtype != A.dtype or C.dtype != B.dtype:
        raise ValueError("GEMM operands must share one dtype")
    (ta, lda), (tb, ldb) = _operand(A), _operand(B)
    i, p, real = ctypes.c_int64, ctypes.c_void_p, _real(C.dtype)
    beta = beta if isinstance(beta, real) else real(beta)
    return (
        ctypes.c_int(_ROW_MAJOR), ctypes.c_int(ta), ctypes.c_int(tb),
        i(rows), i(cols), i(inner), real(alpha),
        p(A.ctypes.data), i(lda), p(B.ctypes.data), i(ldb),
        beta, p(C.ctypes.data), i(cols),
    )  # fmt: skip
