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

Layout. All parameters are one flat vector ``P`` in the order of
``Network.params()`` ([W^1, b^1, …, W^L, b^L], W^l row-major (n_l, n_{l-1})),
optimiser state ``S1``/``S2`` alike (momentum's v; Adam's m and v). Per-layer
buffers hold one row of n_l values per example of the batch. δ^{l-1} is
computed from W^l before W^l is updated, as in the readable step, where all
gradients exist before any update. W^l is then updated row by row: the row's
gradient is accumulated in a scratch row, then the optimiser formula is
applied elementwise.

Scalars. Every constant the arithmetic meets is an element of ``K`` (an array
of the network's dtype, filled by the caller), so a float32 network computes
in float32 exactly as NumPy does with a Python float operand (NEP 50), and
the optimiser updates are NumPy's operations in NumPy's order. Only the
dot products of the forward pass may be reassociated (``fastmath`` reassoc /
contract, so that they vectorise); NaN and inf keep their meaning.
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

_FAST = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FAST, inline="always")
def _dot(w, x, zero):  # type: ignore[no-untyped-def]
    """Σ_j w[j] x[j] (may be vectorised: reassociated)."""
    s = zero
    for j in range(w.shape[0]):
        s += w[j] * x[j]
    return s


@njit(cache=True, inline="always")
def _sigma(code, z, K):  # type: ignore[no-untyped-def]
    """σ(z) for an elementwise activation, in NumPy's operations."""
    if code == SIGMOID:
        return K[K_HALF] * math.tanh(K[K_HALF] * z) + K[K_HALF]  # ½ tanh(z/2) + ½
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return z if (z > K[K_ZERO] or z != z) else K[K_ZERO]  # np.maximum keeps NaN
    if code == LEAKY:
        return z if z > K[K_ZERO] else K[K_SLOPE] * z
    return z


@njit(cache=True, inline="always")
def _prime(code, z, a, K):  # type: ignore[no-untyped-def]
    """σ'(z) from z and the cached a = σ(z), as activations.py computes it."""
    if code == SIGMOID:
        return a * (K[K_ONE] - a)
    if code == TANH:
        return K[K_ONE] - a * a
    if code == RELU:
        return K[K_ONE] if z > K[K_ZERO] else K[K_ZERO]
    if code == LEAKY:
        return K[K_ONE] if z > K[K_ZERO] else K[K_SLOPE]
    return K[K_ONE]


@njit(cache=True)
def _forward(P, wo, bo, sizes, acts, lo, x, l, A, Pr, Zout, U, uo, m, k, K, dropout, prime):  # type: ignore[no-untyped-def]  # noqa: E501
    """Layer l for example k: z^l, a^l (∘ r^l/q) and σ' (∘ r^l/q) into row k of layer l."""
    n_out, n_in = sizes[l], sizes[l - 1]
    code, L = acts[l], sizes.shape[0] - 1
    row = lo[l] + k * n_out
    for i in range(n_out):
        w = P[wo[l] + i * n_in : wo[l] + (i + 1) * n_in]
        z = _dot(w, x, K[K_ZERO]) + P[bo[l] + i]  # z^l = W^l a^{l-1} + b^l
        if l == L:
            Zout[k * n_out + i] = z
        if code == SOFTMAX:
            A[row + i] = z
            continue
        a = _sigma(code, z, K)
        p = _prime(code, z, a, K) if prime else K[K_ONE]
        if dropout and l < L:  # inverted dropout: r = [u < q], mask r/q
            r = K[K_INV_Q] if U[uo + i * m + k] < K[K_Q] else K[K_ZERO]
            a = a * r
            p = p * r
        A[row + i] = a
        Pr[row + i] = p
    if code == SOFTMAX:  # a = e^{z − max} / Σ e^{z − max}
        zmax = A[row]
        for i in range(1, n_out):
            if A[row + i] > zmax or A[row + i] != A[row + i]:
                zmax = A[row + i]
        s = K[K_ZERO]
        for i in range(n_out):
            e = math.exp(A[row + i] - zmax)
            A[row + i] = e
            s += e
        for i in range(n_out):
            A[row + i] = A[row + i] / s


@njit(cache=True)
def _softplus(x):  # type: ignore[no-untyped-def]
    """ln(1 + e^x) = logaddexp(0, x), computed without overflow (float64)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@njit(cache=True)
def _cost_and_hit(a, z, t, out_code, cost, kind, label):  # type: ignore[no-untyped-def]
    """(C_x, 1 if the prediction is right else 0) of one example, in float64."""
    n = a.shape[0]
    c = 0.0
    if cost == QUADRATIC:
        for i in range(n):
            r = float(a[i]) - float(t[i])
            c += r * r
        c *= 0.5
    elif out_code == SOFTMAX:  # −Σ t_j (z_j − max − ln Σ e^{z − max})
        zmax = float(z[0])
        for i in range(1, n):
            zmax = max(zmax, float(z[i]))
        s = 0.0
        for i in range(n):
            s += math.exp(float(z[i]) - zmax)
        lse = math.log(s)
        for i in range(n):
            c -= float(t[i]) * (float(z[i]) - zmax - lse)
    else:  # sigmoid: Σ t softplus(−z) + (1 − t) softplus(z)
        for i in range(n):
            zi, ti = float(z[i]), float(t[i])
            c += ti * _softplus(-zi) + (1.0 - ti) * _softplus(zi)
    hit = 0
    if kind == ARGMAX:
        best = 0
        for i in range(1, n):
            if a[i] > a[best]:
                best = i
        hit = 1 if best == label else 0
    elif kind == THRESHOLD:
        hit = 1 if (a[0] > 0.5) == (label == 1) else 0
    return c, hit


@njit(cache=True)
def _output_error(A, Pr, D, Zout, T, r, row, k, n, out_code, cost, K):  # type: ignore[no-untyped-def]  # noqa: E501
    """BP1 for example k (row ``row`` of layer L, target row r of T) into D."""
    if cost == CROSS_ENTROPY:  # σ' cancels: δ^L = a^L − t
        for i in range(n):
            D[row + i] = A[row + i] - T[r, i]
    elif out_code == SOFTMAX:  # δ = a ∘ (g − Σ_i a_i g_i), g = a − t
        s = K[K_ZERO]
        for i in range(n):
            D[row + i] = A[row + i] - T[r, i]
            s += A[row + i] * D[row + i]
        for i in range(n):
            D[row + i] = A[row + i] * (D[row + i] - s)
    else:  # δ^L = (a^L − t) ∘ σ'(z^L)
        for i in range(n):
            D[row + i] = (A[row + i] - T[r, i]) * Pr[row + i]


@njit(cache=True)
def _update(P, S1, S2, off, G, cnt, opt, K):  # type: ignore[no-untyped-def]
    """θ ← the optimiser's update of θ = P[off : off + cnt] with gradient G[:cnt]."""
    lr = K[K_LR]
    if opt == SGD:  # θ ← θ − α g
        for j in range(cnt):
            P[off + j] = P[off + j] - lr * G[j]
    elif opt == MOMENTUM or opt == NESTEROV:  # v ← μ v − α g
        mu = K[K_MU]
        for j in range(cnt):
            v = S1[off + j] * mu
            v = v - lr * G[j]
            S1[off + j] = v
            if opt == NESTEROV:
                P[off + j] = P[off + j] + (mu * v - lr * G[j])  # θ ← θ + μ v − α g
            else:
                P[off + j] = P[off + j] + v  # θ ← θ + v
    else:  # Adam, PyTorch's form
        for j in range(cnt):
            g = G[j]
            m = S1[off + j] * K[K_B1]
            m = m + K[K_1MB1] * g  # m ← β₁ m + (1 − β₁) g
            v = S2[off + j] * K[K_B2]
            v = v + K[K_1MB2] * (g * g)  # v ← β₂ v + (1 − β₂) g²
            S1[off + j] = m
            S2[off + j] = v
            d = math.sqrt(v)
            d = d / K[K_SQRT_C2]
            d = d + K[K_EPS]  # √v̂ + ε
            P[off + j] = P[off + j] - K[K_STEP] * (m / d)


@njit(cache=True)
def _backward(P, S1, S2, wo, bo, sizes, lo, A, Pr, D, G, m, l, opt, K, decay):  # type: ignore[no-untyped-def]  # noqa: E501
    """BP2 into δ^{l-1} (with W^l before its update), then BP3/BP4 and the update of layer l."""
    n_out, n_in = sizes[l], sizes[l - 1]
    if l > 1:  # δ^{l-1} = ((W^l)ᵀ δ^l) ∘ σ'(z^{l-1}) (∘ r/q)
        for k in range(m):
            prev = lo[l - 1] + k * n_in
            for j in range(n_in):
                D[prev + j] = K[K_ZERO]
            for i in range(n_out):
                c = D[lo[l] + k * n_out + i]
                w = wo[l] + i * n_in
                for j in range(n_in):
                    D[prev + j] += c * P[w + j]
            for j in range(n_in):
                D[prev + j] = D[prev + j] * Pr[prev + j]
    for i in range(n_out):  # BP4, one row of W^l at a time: (1/m) Σ_k δ_i a^{l-1} (+ (λ/n) W)
        w = wo[l] + i * n_in
        for j in range(n_in):
            G[j] = K[K_ZERO]
        for k in range(m):
            c = D[lo[l] + k * n_out + i]
            a = lo[l - 1] + k * n_in
            for j in range(n_in):
                G[j] += c * A[a + j]
        for j in range(n_in):
            G[j] = G[j] / K[K_M]
        if decay:
            for j in range(n_in):
                G[j] = G[j] + K[K_DECAY] * P[w + j]
        _update(P, S1, S2, w, G, n_in, opt, K)
    for i in range(n_out):  # BP3: (1/m) Σ_k δ_i
        s = K[K_ZERO]
        for k in range(m):
            s += D[lo[l] + k * n_out + i]
        G[i] = s / K[K_M]
    _update(P, S1, S2, bo[l], G, n_out, opt, K)


@njit(cache=True)
def run(
    X,
    T,
    perm,
    first,
    stop,
    bs,
    labels,
    kind,
    sizes,
    acts,
    cost,
    opt,
    P,
    wo,
    bo,
    S1,
    S2,
    lo,
    A,
    Pr,
    D,
    Zout,
    G,
    U,
    K,
    H,
    t0,
    out,
):  # type: ignore[no-untyped-def]  # noqa: E501
    """Train on mini-batches ``first``..``stop − 1`` of ``perm``; return how many were done.

    Batch b holds rows ``perm[b·bs : min((b + 1)·bs, n)]``, n = len(perm). Stops after the first
    batch that leaves b^L[0] non-finite (that batch counts as done). ``out`` gets
    Σ C_x, Σ hits and the number of examples, from each batch's forward pass
    before its update. ``U`` holds the dropout uniforms for these batches, in
    the order the readable step draws them (per batch, per hidden layer, (n_l, m)).
    """
    n, L, n0 = perm.shape[0], sizes.shape[0] - 1, sizes[0]
    dropout = K[K_Q] < K[K_ONE]
    decay = K[K_DECAY] != K[K_ZERO]
    out_code, nL = acts[L], sizes[L]
    uo = 0
    for b in range(first, stop):
        s0 = b * bs
        m = min(s0 + bs, n) - s0
        K[K_M] = m
        if opt == ADAM:  # bias corrections in float64, as optimizers.Adam computes them
            t = float(t0 + (b - first) + 1)
            K[K_STEP] = H[H_LR] / (1.0 - math.pow(H[H_B1], t))
            K[K_SQRT_C2] = math.sqrt(1.0 - math.pow(H[H_B2], t))
        for k in range(m):  # a^0: the batch's rows of X
            for j in range(n0):
                A[lo[0] + k * n0 + j] = X[perm[s0 + k], j]
        for l in range(1, L + 1):
            prime = l < L or (cost == QUADRATIC and out_code != SOFTMAX)
            n_in = sizes[l - 1]
            for k in range(m):
                x = A[lo[l - 1] + k * n_in : lo[l - 1] + (k + 1) * n_in]
                _forward(
                    P, wo, bo, sizes, acts, lo, x, l, A, Pr, Zout, U, uo, m, k, K, dropout, prime
                )  # noqa: E501
            if dropout and l < L:
                uo += sizes[l] * m
        for k in range(m):
            r, row = perm[s0 + k], lo[L] + k * nL
            a, z = A[row : row + nL], Zout[k * nL : (k + 1) * nL]
            c, hit = _cost_and_hit(a, z, T[r], out_code, cost, kind, labels[r])
            out[0] += c
            out[1] += hit
            _output_error(A, Pr, D, Zout, T, r, row, k, nL, out_code, cost, K)
        out[2] += m
        for l in range(L, 0, -1):
            _backward(P, S1, S2, wo, bo, sizes, lo, A, Pr, D, G, m, l, opt, K, decay)
        if not math.isfinite(P[bo[L]]):
            return b - first + 1
    return stop - first
