"""The compiled whole-range training kernel: BP1–BP4 and the update, batch after batch.

Written in the plain loops numba compiles; the equations are network.py's and
``optimizers.py``'s, for a mini-batch of m examples (rows of the layer buffers
below, one per example)::

    z^l = W^l a^{l-1} + b^l,   a^l = σ_l(z^l) ∘ r^l/q            forward (r^l: dropout)
    δ^L = (a^L − t) ∘ σ_L'(z^L)   (quadratic; softmax: its Jacobian)    BP1
    δ^L =  a^L − t                (cross-entropy)
    δ^l = ((W^{l+1})ᵀ δ^{l+1}) ∘ σ_l'(z^l) ∘ r^l/q                 BP2
    g_b = (1/m) Σ_examples δ^l                                      BP3
    g_W = (1/m) Σ_examples δ^l (a^{l-1})ᵀ + (λ/n) W^l               BP4 (+ L2)
    θ ← optimiser update of θ with g (sgd, momentum, nesterov, adam)

Layout. W^l is ``W[l, :n_l, :n_{l-1}]`` and b^l the row after it,
``W[l, n_l, :n_l]``, in one array padded to the widest layer; the optimiser's
state (momentum's v; Adam's m and v) is laid out alike in ``S1``/``S2``. Layer
buffers hold one row of n_l values per example of the batch. δ^{l-1} is
computed from W^l before W^l is updated, as in the readable step, where all
gradients exist before any update. W^l is then updated row by row: the row's
gradient is accumulated in a scratch row, then the optimiser formula is
applied elementwise.

Scalars. Every constant the arithmetic meets is an element of ``K`` (an array
of the network's dtype, filled by the caller), so a float32 network computes
in float32 exactly as NumPy does with a Python float operand (NEP 50), and
the optimiser updates are NumPy's operations in NumPy's order, except that
the kernel is compiled with ``fastmath`` reassociation and contraction (sums
vectorise, multiply-adds fuse): float64 results agree with the readable step
to ~1e-15 per step, not bit for bit. NaN and inf keep their meaning.
"""

from __future__ import annotations

import math

from numba import njit  # type: ignore[import-untyped]

# activation, cost, optimiser and accuracy codes (see step.py for the mapping)
IDENTITY, SIGMOID, TANH, RELU, LEAKY, SOFTMAX = 0, 1, 2, 3, 4, 5
QUADRATIC, CROSS_ENTROPY = 0, 1
SGD, MOMENTUM, NESTEROV, ADAM = 0, 1, 2, 3
NO_ACCURACY, ARGMAX, THRESHOLD = 0, 1, 2

# slots of K, the dtype constants
K_ZERO, K_ONE, K_HALF, K_SLOPE, K_Q, K_INV_Q, K_LR, K_DECAY = 0, 1, 2, 3, 4, 5, 6, 7
K_MU, K_B1, K_1MB1, K_B2, K_1MB2, K_EPS, K_STEP, K_SQRT_C2, K_M = 8, 9, 10, 11, 12, 13, 14, 15, 16
K_SIZE = 17
# slots of H, the float64 hyperparameters (Adam's bias corrections are computed in float64)
H_LR, H_B1, H_B2 = 0, 1, 2

#: the whole kernel may reassociate and contract (vectorised sums, fused multiply-adds);
#: NaN and inf keep their meaning (no "nnan"/"ninf"), so divergence is still seen
_FAST = {"reassoc", "contract"}


@njit(cache=True, inline="always")
def _sigma(code, z, zero, half, slope):  # type: ignore[no-untyped-def]
    """σ(z) for an elementwise activation, in NumPy's operations."""
    if code == SIGMOID:
        return half * math.tanh(half * z) + half  # ½ tanh(z/2) + ½
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return z if (z > zero or z != z) else zero  # np.maximum keeps NaN
    if code == LEAKY:
        return z if z > zero else slope * z
    return z


@njit(cache=True, inline="always")
def _prime(code, z, a, zero, one, slope):  # type: ignore[no-untyped-def]
    """σ'(z) from z and the cached a = σ(z), as activations.py computes it."""
    if code == SIGMOID:
        return a * (one - a)
    if code == TANH:
        return one - a * a
    if code == RELU:
        return one if z > zero else zero
    if code == LEAKY:
        return one if z > zero else slope
    return one


@njit(cache=True, inline="always")
def _softplus(x):  # type: ignore[no-untyped-def]
    """ln(1 + e^x) = logaddexp(0, x), computed without overflow (float64)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# One function, on purpose (and longer than the style's 60 lines): numba increfs and
# decrefs every array argument of every call it does not inline away, an atomic
# operation each; split into per-layer helpers, a [3,4,2]/1 step spent most of its time
# in those (≈80 atomics a step). Only scalar helpers are called in the loops below.
# fmt: off
@njit(cache=True, fastmath=_FAST)
def run(  # type: ignore[no-untyped-def]
    X, T, perm, bs, first, stop, labels, kind, sizes, acts, cost, opt,
    W, S1, S2, A, Pr, D, Zout, G, U, K, H, t0, out,
):
    # fmt: on
    """Train on mini-batches ``first``..``stop − 1`` of ``perm``; return how many were done.

    W^l is ``W[l, :n_l, :n_{l-1}]`` and b^l is row n_l, ``W[l, n_l, :n_l]`` (padded to
    the widest layer; ``S1``/``S2`` alike hold the optimiser's state). Per-example rows
    of layer l: ``A[l, k]`` (a^l; a^0 the inputs), ``Pr[l, k]`` (σ'(z^l) ∘ r^l/q),
    ``D[l, k]`` (δ^l), ``Zout[k]`` (z^L), at least ``bs`` rows each. Batch b holds rows
    ``perm[b·bs : min((b + 1)·bs, n)]``, n = len(perm). Stops after the first batch
    that leaves b^L[0] non-finite (it counts as done). ``out[:3]`` gains Σ C_x, Σ hits
    and the number of examples, from each batch's forward pass before its update;
    ``out[3]`` is the last batch's C₀. ``U`` holds the dropout uniforms of these
    batches in the readable step's order (per batch, per hidden layer, (n_l, m), C order).
    """
    n, L, n0 = perm.shape[0], sizes.shape[0] - 1, sizes[0]
    zero, one, half, slope = K[K_ZERO], K[K_ONE], K[K_HALF], K[K_SLOPE]
    q, inv_q, lr, lam = K[K_Q], K[K_INV_Q], K[K_LR], K[K_DECAY]
    mu, b1, omb1, b2, omb2, eps = K[K_MU], K[K_B1], K[K_1MB1], K[K_B2], K[K_1MB2], K[K_EPS]
    dropout, decay = q < one, lam != zero
    out_code, nL = acts[L], sizes[L]
    prime_out = cost == QUADRATIC and out_code != SOFTMAX
    step, sc2 = zero, one
    uo, hits, count, tot_c, batch_c, m = (
        0,
        0,
        0,
        0.0,
        0.0,
        1,
    )  # (written to ``out`` at the end: a store to an
    # array inside the loop could alias the others and keep values from registers)
    for b in range(first, stop):
        s0 = b * bs
        m = min(s0 + bs, n) - s0
        K[K_M] = m  # m in the dtype, as NumPy divides by it
        mm = K[K_M]
        if opt == ADAM:  # bias corrections in float64, as optimizers.Adam computes them
            t = float(t0 + (b - first) + 1)
            K[K_STEP] = H[H_LR] / (1.0 - math.pow(H[H_B1], t))
            K[K_SQRT_C2] = math.sqrt(1.0 - math.pow(H[H_B2], t))
            step, sc2 = K[K_STEP], K[K_SQRT_C2]
        for k in range(m):  # a^0: the batch's rows of X
            r = perm[s0 + k]
            for j in range(n0):
                A[0, k, j] = X[r, j]
        # ---- forward: z^l = W^l a^{l-1} + b^l, a^l = σ(z^l) ∘ r^l/q, σ'(z^l) ∘ r^l/q ----
        for l in range(1, L + 1):
            n_out, n_in, code = sizes[l], sizes[l - 1], acts[l]
            hidden = l < L
            for k in range(m):
                for i in range(n_out):
                    s = zero
                    for j in range(n_in):
                        s += W[l, i, j] * A[l - 1, k, j]
                    s = s + W[l, n_out, i]
                    if hidden:
                        A[l, k, i] = s
                    else:
                        Zout[k, i] = s
                if code == SOFTMAX:  # a = e^{z − max} / Σ e^{z − max}
                    zmax = Zout[k, 0]
                    for i in range(1, n_out):
                        if Zout[k, i] > zmax or Zout[k, i] != Zout[k, i]:
                            zmax = Zout[k, i]
                    s = zero
                    for i in range(n_out):
                        e = math.exp(Zout[k, i] - zmax)
                        A[l, k, i] = e
                        s += e
                    for i in range(n_out):
                        A[l, k, i] = A[l, k, i] / s
                    continue
                for i in range(n_out):
                    z = A[l, k, i] if hidden else Zout[k, i]
                    a = _sigma(code, z, zero, half, slope)
                    p = _prime(code, z, a, zero, one, slope) if (hidden or prime_out) else one
                    if dropout and hidden:  # inverted dropout: r = [u < q], mask r/q
                        r = inv_q if U[uo + i * m + k] < q else zero
                        a = a * r
                        p = p * r
                    A[l, k, i] = a
                    Pr[l, k, i] = p
            if dropout and hidden:
                uo += n_out * m
        # ---- running cost/accuracy, then BP1: δ^L -------------------------------
        batch_c = 0.0
        for k in range(m):
            r = perm[s0 + k]
            c = 0.0  # C_x in float64, from z^L as costs.py computes it
            if cost == QUADRATIC:  # ½‖a − t‖²
                for i in range(nL):
                    e = float(A[L, k, i]) - float(T[r, i])
                    c += e * e
                c *= 0.5
            elif out_code == SOFTMAX:  # −Σ t_j (z_j − max − ln Σ e^{z − max})
                zm = float(Zout[k, 0])
                for i in range(1, nL):
                    zm = max(zm, float(Zout[k, i]))
                e = 0.0
                for i in range(nL):
                    e += math.exp(float(Zout[k, i]) - zm)
                e = math.log(e)
                for i in range(nL):
                    c -= float(T[r, i]) * (float(Zout[k, i]) - zm - e)
            else:  # sigmoid: Σ t softplus(−z) + (1 − t) softplus(z)
                for i in range(nL):
                    zi, ti = float(Zout[k, i]), float(T[r, i])
                    c += ti * _softplus(-zi) + (1.0 - ti) * _softplus(zi)
            batch_c += c
            if kind == ARGMAX:  # the first largest output, as np.argmax
                best = 0
                for i in range(1, nL):
                    if A[L, k, i] > A[L, k, best]:
                        best = i
                hits += 1 if best == labels[r] else 0
            elif kind == THRESHOLD:
                hits += 1 if (A[L, k, 0] > 0.5) == (labels[r] == 1) else 0
            if cost == CROSS_ENTROPY:  # σ' cancels: δ^L = a^L − t
                for i in range(nL):
                    D[L, k, i] = A[L, k, i] - T[r, i]
            elif out_code == SOFTMAX:  # δ = a ∘ (g − Σ_i a_i g_i), g = a − t
                s = zero
                for i in range(nL):
                    D[L, k, i] = A[L, k, i] - T[r, i]
                    s += A[L, k, i] * D[L, k, i]
                for i in range(nL):
                    D[L, k, i] = A[L, k, i] * (D[L, k, i] - s)
            else:  # δ^L = (a^L − t) ∘ σ'(z^L)
                for i in range(nL):
                    D[L, k, i] = (A[L, k, i] - T[r, i]) * Pr[L, k, i]
        count += m
        tot_c += batch_c
        for l in range(L, 0, -1):
            n_out, n_in = sizes[l], sizes[l - 1]
            # ---- BP2: δ^{l-1} = ((W^l)ᵀ δ^l) ∘ σ'(z^{l-1}) ∘ r/q, W^l before its update
            if l > 1:
                for k in range(m):
                    for j in range(n_in):
                        D[l - 1, k, j] = zero
                    for i in range(n_out):
                        c = D[l, k, i]
                        for j in range(n_in):
                            D[l - 1, k, j] += c * W[l, i, j]
                    for j in range(n_in):
                        D[l - 1, k, j] = D[l - 1, k, j] * Pr[l - 1, k, j]
            # ---- BP4 + the update, one row i of W^l (i = n_out: BP3 and b^l) ----------
            for i in range(n_out + 1):  # row n_out of W[l] is b^l
                cnt = n_in if i < n_out else n_out
                if i < n_out:  # g = (1/m) Σ_k δ_i a^{l-1} (+ (λ/n) W_i)
                    for j in range(n_in):
                        G[j] = zero
                    for k in range(m):
                        c = D[l, k, i]
                        for j in range(n_in):
                            G[j] += c * A[l - 1, k, j]
                    for j in range(n_in):
                        G[j] = G[j] / mm
                        if decay:
                            G[j] = G[j] + lam * W[l, i, j]
                else:  # g = (1/m) Σ_k δ
                    for j in range(n_out):
                        s = zero
                        for k in range(m):
                            s += D[l, k, j]
                        G[j] = s / mm
                for j in range(cnt):
                    g = G[j]
                    if opt == SGD:  # θ ← θ − α g
                        W[l, i, j] = W[l, i, j] - lr * g
                    elif opt == ADAM:  # PyTorch's Adam
                        mo = S1[l, i, j] * b1
                        mo = mo + omb1 * g  # m ← β₁ m + (1 − β₁) g
                        v = S2[l, i, j] * b2
                        v = v + omb2 * (g * g)  # v ← β₂ v + (1 − β₂) g²
                        S1[l, i, j] = mo
                        S2[l, i, j] = v
                        d = math.sqrt(v) / sc2 + eps  # √v̂ + ε
                        W[l, i, j] = W[l, i, j] - step * (mo / d)
                    else:  # v ← μ v − α g
                        v = S1[l, i, j] * mu
                        v = v - lr * g
                        S1[l, i, j] = v
                        if opt == NESTEROV:  # θ ← θ + μ v − α g
                            W[l, i, j] = W[l, i, j] + (mu * v - lr * g)
                        else:  # θ ← θ + v
                            W[l, i, j] = W[l, i, j] + v
        if not math.isfinite(W[L, nL, 0]):  # b^L_0
            break
    out[0] += tot_c
    out[1] += hits
    out[2] += count
    if stop > first:
        out[3] = batch_c / m
    return b - first + 1 if stop > first else 0
