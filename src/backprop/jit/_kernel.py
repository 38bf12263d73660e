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

Specialised. :func:`kernel` compiles ``run`` for one :class:`Spec` (the layer sizes,
activations, cost, optimiser, accuracy kind, dropout and L2 on or off), all of them
constants of the machine code: small layers' loops are unrolled and the branches not
taken are gone ([3,4,2]/1: 130 ns a step instead of 400 with them as arguments). numba
caches each on disk, so a configuration is compiled once per machine (≈ 2.5 s) and
loaded after that.

Products. A layer with at least ``BLAS_MIN_WEIGHTS`` weights (step.py) does its three
products in the OpenBLAS NumPy loaded, called from the kernel by address (:func:`gemm`),
the elementwise work staying in the kernel's loops: no Python between mini-batches, and
the BLAS where the arithmetic is. With SGD, BP4 and the update are one accumulating
GEMM, W ← (1 − αλ/n) W − (α/m) δᵀ a^{l-1}. With small batches (``Spec.blocked``: at most
step.py's ``BLOCKED_MAX_BATCH`` examples) those layers' forward products are the kernel's
own loops instead, 5 examples × 2 neurons a pass when m is a multiple of 5, else 4 × 3, so
that each weight and input is loaded once for 10 or 12 products: 3× OpenBLAS at
10 × 784 × 30 (6 µs, where its GEMM is mostly set-up), 1.8× at 10 × 784 × 100. (The same
blocking for SGD's update, W += c δᵀ a, measured no faster than OpenBLAS's GEMM there.)

Layout. W^l is ``W[l, :n_l, :n_{l-1}]`` and b^l the row after it,
``W[l, n_l, :n_l]``, in one array padded to the widest layer; the optimiser's
state (momentum's v; Adam's m and v) is laid out alike in ``S1``/``S2``. Layer
buffers hold one row of n_l values per example of the batch (row-major, leading
dimension the widest layer, as the BLAS takes them). δ^{l-1} is computed from W^l
before W^l is updated, as in the readable step, where all gradients exist before
any update. W^l is then updated row by row: the row's gradient is accumulated in a
scratch row (or read from the BLAS's ``GW``), then the optimiser formula is applied
elementwise.

Scalars. Every constant the arithmetic meets is an element of ``K`` (an array
of the network's dtype, filled by the caller), so a float32 network computes
in float32 exactly as NumPy does with a Python float operand (NEP 50), and
the optimiser updates are NumPy's operations in NumPy's order, except that
the kernel is compiled with ``fastmath`` reassociation and contraction (sums
vectorise, multiply-adds fuse) and NumPy's error model (no zero-division check per
division, which kept the elementwise loops scalar), and σ of the sigmoid is
1/(1 + e^{−z}) (the readable ½ tanh(z/2) + ½ to an ulp, at half the cost; in float32
with ``_vmath.expf``, which vectorises): float64 results agree with the readable step
to ~1e-15 per step, not bit for bit. NaN and inf keep their meaning.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types  # type: ignore[import-untyped]
from numba.extending import intrinsic  # type: ignore[import-untyped]

from .._vmath import exp as _exp

# activation, cost, optimiser and accuracy codes (see step.py for the mapping)
IDENTITY, SIGMOID, TANH, RELU, LEAKY, SOFTMAX = 0, 1, 2, 3, 4, 5
QUADRATIC, CROSS_ENTROPY = 0, 1
SGD, MOMENTUM, NESTEROV, ADAM = 0, 1, 2, 3
NO_ACCURACY, ARGMAX, THRESHOLD = 0, 1, 2
NO_TRANS, TRANS = 111, 112  # cblas transpose flags

# slots of K, the dtype constants
K_ZERO, K_ONE, K_SLOPE, K_Q, K_INV_Q, K_LR, K_DECAY, K_MU = 0, 1, 2, 3, 4, 5, 6, 7
K_B1, K_1MB1, K_B2, K_1MB2, K_EPS, K_STEP, K_SQRT_C2 = 8, 9, 10, 11, 12, 13, 14
K_M, K_M_LAST = 15, 16  # the batch size m and the last batch's, in the dtype
K_SIZE = 17
# slots of H, the float64 hyperparameters (Adam's bias corrections are computed in float64)
H_LR, H_B1, H_B2 = 0, 1, 2

#: the whole kernel may reassociate and contract (vectorised sums, fused multiply-adds);
#: NaN and inf keep their meaning (no "nnan"/"ninf"), so divergence is still seen
_FAST = {"reassoc", "contract"}


@intrinsic  # type: ignore[misc]
def gemm(typingctx, at, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):  # type: ignore[no-untyped-def]
    """C ← α op(A) op(B) + β C, row-major, by the cblas ``?gemm64_`` at address ``at``.

    ``A``, ``B``, ``C`` are addresses (``array.ctypes.data`` + an offset), ``ta``/``tb``
    ``NO_TRANS`` or ``TRANS``; ``alpha``/``beta`` in the operands' dtype (float32: sgemm,
    float64: dgemm; the caller passes the matching address). The address is an argument,
    not a constant, so the kernels that call it stay cacheable on disk.
    """
    sig = types.void(at, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32, i64, ptr = ir.IntType(32), ir.IntType(64), ir.IntType(8).as_pointer()
        real = context.get_value_type(signature.args[6])
        fn_type = ir.FunctionType(
            ir.VoidType(), [i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64]
        )
        fn = builder.inttoptr(args[0], fn_type.as_pointer())

        def flag(v):  # type: ignore[no-untyped-def]
            return builder.trunc(v, i32) if v.type.width > 32 else builder.sext(v, i32)

        def size(v):  # type: ignore[no-untyped-def]
            return builder.sext(v, i64) if v.type.width < 64 else v

        _, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc = args
        row_major = ir.Constant(i32, 101)
        builder.call(fn, [
            row_major, flag(ta), flag(tb), size(M), size(N), size(K), alpha,
            builder.inttoptr(A, ptr), size(lda), builder.inttoptr(B, ptr), size(ldb), beta,
            builder.inttoptr(C, ptr), size(ldc),
        ])  # fmt: skip
        return context.get_dummy_value()

    return sig, codegen


@intrinsic  # type: ignore[misc]
def prefetch(typingctx, address):  # type: ignore[no-untyped-def]
    """Start loading the cache line at the integer ``address`` (``llvm.prefetch``: a read,
    kept in every cache level); never faults, whatever the address."""
    sig = types.void(address)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        i32, ptr = ir.IntType(32), ir.IntType(8).as_pointer()
        fn_type = ir.FunctionType(ir.VoidType(), [ptr, i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", [ptr], fn_type)
        read, keep, data = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        builder.call(fn, [builder.inttoptr(args[0], ptr), read, keep, data])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, inline="always")
def _sigma(code, z, zero, one, slope):  # type: ignore[no-untyped-def]
    """σ(z) for an elementwise activation."""
    if code == SIGMOID:  # 1/(1 + e^{−z}): the readable ½ tanh(z/2) + ½ to an ulp, 2× faster
        return one / (one + _exp(-z))
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


class Spec(NamedTuple):
    """What a compiled kernel is specialised for: constants of the machine code it becomes.

    ``sizes`` [n_0, …, n_L]; ``acts`` the activation codes (``acts[0]`` unused); the
    cost, optimiser and accuracy codes; whether dropout and the L2 term are on.
    """

    sizes: tuple[int, ...]
    acts: tuple[int, ...]
    cost: int
    opt: int
    kind: int
    dropout: bool
    decay: bool
    #: per layer l (index 0 unused): whether its products go to the BLAS (``gemm``)
    blas: tuple[bool, ...]
    #: small batches: those layers' forward products in the kernel's blocked loops instead
    blocked: bool = False


@functools.cache
def kernel(spec: Spec) -> Any:
    """The kernel ``run`` compiled for ``spec``, from numba's disk cache when it was before.

    Every field of ``spec`` is a closure constant of ``run``: numba compiles the loops
    with their bounds and branches known (fully unrolled on small layers, the unused
    activations, costs and optimisers gone), and keys its disk cache on their values,
    so each configuration is compiled once per machine and then only loaded.
    """
    sizes, acts, cost, opt, kind, dropout, decay, blas, blocked = spec
    L = len(sizes) - 1
    n0, nL, out_code = sizes[0], sizes[L], acts[L]
    prime_out = cost == QUADRATIC and out_code != SOFTMAX
    wide = n0 >= 64  # rows of X worth fetching four at a time, with their targets ahead

    # One function, on purpose (and longer than the style's 60 lines): numba increfs and
    # decrefs every array argument of every call it does not inline away, an atomic
    # operation each; split into per-layer helpers, a [3,4,2]/1 step spent most of its
    # time in those (≈80 atomics a step). Only scalar helpers are called in the loops below.
    # fmt: off
    @njit(cache=True, fastmath=_FAST, error_model="numpy")
    def run(  # type: ignore[no-untyped-def]
        X, T, perm, bs, first, stop, labels, W, S1, S2, A, Pr, D, Zout, G, GW, U, K, H, t0,
        out, gemm_at,
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
        n = perm.shape[0]
        zero, one, slope = K[K_ZERO], K[K_ONE], K[K_SLOPE]
        q, inv_q, lr, lam = K[K_Q], K[K_INV_Q], K[K_LR], K[K_DECAY]
        mu, b1, omb1, b2, omb2, eps = K[K_MU], K[K_B1], K[K_1MB1], K[K_B2], K[K_1MB2], K[K_EPS]
        m_full, m_last = K[K_M], K[K_M_LAST]  # bs and the last batch's size, in the dtype
        w = W.shape[2]  # the leading dimension of every layer's rows (the widest layer)
        # addresses for the BLAS (signed: uint64 + int64 would make a float)
        a_at0, al = np.intp(A.ctypes.data), A.strides[0]
        w_at0, wl = np.intp(W.ctypes.data), W.strides[0]
        d_at, dl = np.intp(D.ctypes.data), D.strides[0]
        zo_at, gw_at = np.intp(Zout.ctypes.data), np.intp(GW.ctypes.data)
        t_at, tl = np.intp(T.ctypes.data), np.intp(T.strides[0])
        lab_at, labl = np.intp(labels.ctypes.data), np.intp(labels.strides[0])
        step, sc2 = zero, one
        # (the sums are written to ``out`` at the end: a store to an array inside the
        # loop could alias the others and keep values from staying in registers)
        uo, hits, count, tot_c, batch_c, m = 0, 0, 0, 0.0, 0.0, 1
        for b in range(first, stop):
            s0 = b * bs
            m = min(s0 + bs, n) - s0
            mm = m_full if m == bs else m_last  # m in the dtype, as NumPy divides by it
            if opt == ADAM:  # bias corrections in float64, as optimizers.Adam computes them
                t = float(t0 + (b - first) + 1)
                K[K_STEP] = H[H_LR] / (1.0 - math.pow(H[H_B1], t))
                K[K_SQRT_C2] = math.sqrt(1.0 - math.pow(H[H_B2], t))
                step, sc2 = K[K_STEP], K[K_SQRT_C2]
            # a^0: the batch's rows of X, four at a time (four streams from memory: 2 µs of
            # [784,100,10]/64's 16 µs gather), the rows of T and labels that BP1 reads after the
            # forward pass fetched meanwhile (as random, and as far away: 1 µs)
            for k in range(m if wide else 0):
                r = np.intp(perm[s0 + k])
                prefetch(t_at + r * tl)
                prefetch(lab_at + r * labl)
            k4 = m - m % 4 if wide else 0
            for k in range(0, k4, 4):
                r0, r1, r2, r3 = perm[s0 + k], perm[s0 + k + 1], perm[s0 + k + 2], perm[s0 + k + 3]
                for j in range(n0):
                    A[0, k, j] = X[r0, j]
                    A[0, k + 1, j] = X[r1, j]
                    A[0, k + 2, j] = X[r2, j]
                    A[0, k + 3, j] = X[r3, j]
            for k in range(k4, m):
                r = perm[s0 + k]
                for j in range(n0):
                    A[0, k, j] = X[r, j]
            # ---- forward: z^l = W^l a^{l-1} + b^l, a^l = σ(z^l) ∘ r^l/q, σ'(z^l) ∘ r^l/q ----
            for l in range(1, L + 1):
                n_out, n_in, code = sizes[l], sizes[l - 1], acts[l]
                hidden = l < L
                own = blas[l] and blocked  # small batches: the product in the loops below
                if own and m % 5 == 0:  # z (m, n_out) = a^{l-1} (W^l)ᵀ into δ^l's rows (free
                    for k0 in range(0, m, 5):  # until BP1/BP2), 5 examples × 2 neurons a pass
                        for i0 in range(0, n_out, 2):
                            i1 = min(i0 + 1, n_out - 1)  # odd n_out: the last neuron twice
                            z00, z01, z10, z11, z20 = zero, zero, zero, zero, zero
                            z21, z30, z31, z40, z41 = zero, zero, zero, zero, zero
                            for j in range(n_in):
                                w0, w1 = W[l, i0, j], W[l, i1, j]
                                x = A[l - 1, k0, j]
                                z00, z01 = z00 + x * w0, z01 + x * w1
                                x = A[l - 1, k0 + 1, j]
                                z10, z11 = z10 + x * w0, z11 + x * w1
                                x = A[l - 1, k0 + 2, j]
                                z20, z21 = z20 + x * w0, z21 + x * w1
                                x = A[l - 1, k0 + 3, j]
                                z30, z31 = z30 + x * w0, z31 + x * w1
                                x = A[l - 1, k0 + 4, j]
                                z40, z41 = z40 + x * w0, z41 + x * w1
                            D[l, k0, i0], D[l, k0, i1] = z00, z01
                            D[l, k0 + 1, i0], D[l, k0 + 1, i1] = z10, z11
                            D[l, k0 + 2, i0], D[l, k0 + 2, i1] = z20, z21
                            D[l, k0 + 3, i0], D[l, k0 + 3, i1] = z30, z31
                            D[l, k0 + 4, i0], D[l, k0 + 4, i1] = z40, z41
                elif own:  # the same, 4 examples × 3 neurons a pass
                    for k0 in range(0, m, 4):
                        kb = min(4, m - k0)
                        for i0 in range(0, n_out, 3):
                            if kb == 4 and i0 + 3 <= n_out:
                                z00, z01, z02, z10, z11, z12 = zero, zero, zero, zero, zero, zero
                                z20, z21, z22, z30, z31, z32 = zero, zero, zero, zero, zero, zero
                                for j in range(n_in):
                                    w0, w1, w2 = W[l, i0, j], W[l, i0 + 1, j], W[l, i0 + 2, j]
                                    x = A[l - 1, k0, j]
                                    z00, z01, z02 = z00 + x * w0, z01 + x * w1, z02 + x * w2
                                    x = A[l - 1, k0 + 1, j]
                                    z10, z11, z12 = z10 + x * w0, z11 + x * w1, z12 + x * w2
                                    x = A[l - 1, k0 + 2, j]
                                    z20, z21, z22 = z20 + x * w0, z21 + x * w1, z22 + x * w2
                                    x = A[l - 1, k0 + 3, j]
                                    z30, z31, z32 = z30 + x * w0, z31 + x * w1, z32 + x * w2
                                D[l, k0, i0], D[l, k0, i0 + 1], D[l, k0, i0 + 2] = z00, z01, z02
                                D[l, k0 + 1, i0], D[l, k0 + 1, i0 + 1] = z10, z11
                                D[l, k0 + 1, i0 + 2], D[l, k0 + 2, i0] = z12, z20
                                D[l, k0 + 2, i0 + 1], D[l, k0 + 2, i0 + 2] = z21, z22
                                D[l, k0 + 3, i0], D[l, k0 + 3, i0 + 1] = z30, z31
                                D[l, k0 + 3, i0 + 2] = z32
                                continue
                            for k in range(k0, k0 + kb):  # the last rows: 3 products at a time
                                z00, z01, z02 = zero, zero, zero
                                i1, i2 = min(i0 + 1, n_out - 1), min(i0 + 2, n_out - 1)
                                for j in range(n_in):
                                    x = A[l - 1, k, j]
                                    z00 += x * W[l, i0, j]
                                    z01 += x * W[l, i1, j]
                                    z02 += x * W[l, i2, j]
                                D[l, k, i0], D[l, k, i1], D[l, k, i2] = z00, z01, z02
                elif blas[l]:  # z (m, n_out) = a^{l-1} (m, n_in) (W^l)ᵀ, then + b^l below
                    z_at, ldz = (a_at0 + l * al, w) if hidden else (zo_at, nL)
                    gemm(
                        gemm_at, NO_TRANS, TRANS, m, n_out, n_in, one,
                        a_at0 + (l - 1) * al, w, w_at0 + l * wl,
                        w, zero, z_at, ldz,
                    )  # fmt: skip
                for k in range(m):  # z = (the product) + b, then a = σ(z), σ'(z), in one pass
                    for i in range(n_out):
                        if own:
                            z = D[l, k, i] + W[l, n_out, i]
                        elif blas[l]:
                            z = (A[l, k, i] if hidden else Zout[k, i]) + W[l, n_out, i]
                        else:
                            z = zero
                            for j in range(n_in):
                                z += W[l, i, j] * A[l - 1, k, j]
                            z = z + W[l, n_out, i]
                        if not hidden:
                            Zout[k, i] = z  # z^L, which the cost reads
                        if code == SOFTMAX:
                            continue
                        a = _sigma(code, z, zero, one, slope)
                        p = _prime(code, z, a, zero, one, slope) if (hidden or prime_out) else one
                        if dropout and hidden:  # inverted dropout: r = [u < q], mask r/q
                            r = inv_q if U[uo + i * m + k] < q else zero
                            a = a * r
                            p = p * r
                        A[l, k, i] = a
                        Pr[l, k, i] = p
                    if code == SOFTMAX:  # a = e^{z − max} / Σ e^{z − max}
                        zmax = Zout[k, 0]
                        for i in range(1, n_out):
                            if Zout[k, i] > zmax or Zout[k, i] != Zout[k, i]:
                                zmax = Zout[k, i]
                        s = zero
                        for i in range(n_out):
                            e = _exp(Zout[k, i] - zmax)
                            A[l, k, i] = e
                            s += e
                        for i in range(n_out):
                            A[l, k, i] = A[l, k, i] / s
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
                if l > 1 and blas[l]:  # (m, n_in) = δ^l (m, n_out) W^l (n_out, n_in)
                    gemm(
                        gemm_at, NO_TRANS, NO_TRANS, m, n_in, n_out, one, d_at + l * dl, w,
                        w_at0 + l * wl, w, zero, d_at + (l - 1) * dl, w,
                    )  # fmt: skip
                if l > 1:
                    for k in range(m):
                        if not blas[l]:
                            for j in range(n_in):
                                D[l - 1, k, j] = zero
                            for i in range(n_out):
                                c = D[l, k, i]
                                for j in range(n_in):
                                    D[l - 1, k, j] += c * W[l, i, j]
                        for j in range(n_in):
                            D[l - 1, k, j] = D[l - 1, k, j] * Pr[l - 1, k, j]
                # ---- BP4 + the update, one row i of W^l (i = n_out: BP3 and b^l) ----------
                a_at, w_at = a_at0 + (l - 1) * al, w_at0 + l * wl
                if blas[l] and opt == SGD:  # W ← (1 − αλ/n) W − (α/m) δᵀ a^{l-1}: one GEMM
                    gemm(
                        gemm_at, TRANS, NO_TRANS, n_out, n_in, m, -(lr / mm), d_at + l * dl, w,
                        a_at, w, one - lr * lam if decay else one, w_at, w,
                    )  # fmt: skip
                elif blas[l]:  # ∂C/∂W (n_out, n_in) = (1/m) δᵀ a^{l-1}, the update row by row
                    gemm(
                        gemm_at, TRANS, NO_TRANS, n_out, n_in, m, one / mm, d_at + l * dl, w,
                        a_at, w, zero, gw_at, w,
                    )  # fmt: skip
                for i in range(n_out + 1):  # row n_out of W[l] is b^l
                    cnt = n_in if i < n_out else n_out
                    if i < n_out and blas[l] and opt == SGD:
                        continue  # updated by the GEMM above
                    if i < n_out and blas[l]:
                        for j in range(n_in):
                            G[j] = GW[i, j]
                            if decay:
                                G[j] = G[j] + lam * W[l, i, j]
                    elif i < n_out:  # g = (1/m) Σ_k δ_i a^{l-1} (+ (λ/n) W_i)
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
                    elif blas[l]:  # g = (1/m) Σ_k δ, row by row: n_out sums side by side
                        for j in range(n_out):  # (column by column: 9 µs, not 1–2, at 64 × 100)
                            G[j] = zero
                        for k in range(m):
                            for j in range(n_out):
                                G[j] += D[l, k, j]
                        for j in range(n_out):
                            G[j] = G[j] / mm
                    else:  # the same, column by column: in registers on small layers
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

    return run
