"""Small multilayer perceptrons: loss, exact gradient, exact Hessian-vector product, runs.

A network is ``sizes`` (int64, the widths ``[d_in, h_1, ..., h_k, d_out]``, k <= 3) and
an activation id (``ACT_TANH``, ``ACT_RELU``, ``ACT_SIGMOID``) between the linear layers,
none after the last. Its parameters are one flat float64 vector in the order of torch's
``nn.Sequential(Linear, act, ..., Linear).parameters()``: for each layer the weight
``(out, in)`` row-major, then the bias ``(out,)``.

The loss is the mean over the examples of BCE-with-logits (one output, labels 0/1) or
cross-entropy (``d_out`` > 1 outputs, integer labels), written as torch writes them:
``(1 - y) z - log_sigmoid(z)`` with ``log_sigmoid(z) = min(z, 0) - log1p(exp(-|z|))``, and
``-log_softmax(z)[y]``. The gradient is backpropagation; the Hessian-vector product is
Pearlmutter's R-operator (forward-over-reverse): one forward pass of the directional
derivatives ``R{z}``, ``R{a}`` beside the activations, one backward pass of ``R{delta}``
beside the deltas. Both are exact (no finite differences).

Buffers are feature-major, ``A[layer, unit, example]``, so each inner loop runs over
contiguous examples and vectorises; an evaluation over a subset of the examples (a
minibatch) gathers them through an index array ``idx`` first.

Compile time (see "Compile time is a budget" in ARCHITECTURE.md). numba compiles each
``@njit`` function on its own, then links the code of everything it calls into the
caller and has LLVM optimise the whole again: a function's callees are optimised once
more in every caller and at every level of calls. So the network has three kernels:
``run_network_kernel`` (training, one kernel for every optimizer), ``evaluate`` (loss,
gradient, loss plane, predictions) and ``hvp_many_kernel``; and the passes they share,
``forward``, ``output_loss`` and ``backward``, are compiled once, into one C callback
(numba ``cfunc``, ``_net_pass``, made by ``pass_fn``) that every kernel calls through a
function pointer (``_pass``, which passes each array as a pointer and its shape), so no
kernel optimises them again; ``perturb`` (gradient noise and clipping) likewise
(``perturb_fn``). The training kernel takes the optimizer's update as an argument too: a
C callback (``_make_update``) specialised per optimizer id through
``coefs_for``/``coord_for`` like the surface kernels, compiled on its own in well under
a second and called through a function pointer (one call per step, over the n_params
coordinates); every callback has the one type ``UPDATE_SIG``, so the training kernel
compiles once, and all are cached on disk (the update keyed on its ``OID``, a closure
int, like ``loops``' factories).
The functions only one kernel or callback calls (``step_gradient``, ``step_minibatch``,
``finish_run``, and the passes in ``_net_pass`` with their loops ``_activate``, ``_total``,
``_dot``, ``_dact``; ``_total`` also into ``hvp_many_kernel``) are inlined into it in
numba's IR (``inline="always"``) rather than compiled and optimised as functions of
their own (as functions, ``_total`` and ``_dot`` were a call per unit and weight, ~65 a
pass of a 2-16-1 network).
Constant flags are passed computed, not literal (see ``loss_value``; the pass's mode
bits ``P_*`` as expressions).
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import c_caller, carray, cfunc, njit, types
from .optim import coefs_for, coord_for, hp_tuple, initial_slot0
from .rng import key, mix64, permutation, uniform

ACT_TANH = 0
ACT_RELU = 1
ACT_SIGMOID = 2
ACTIVATIONS = {"tanh": ACT_TANH, "relu": ACT_RELU, "sigmoid": ACT_SIGMOID}

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_INLINE = dict(_JIT, inline="always")
_TWO_PI = 2.0 * math.pi
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_FMAX = 1.7976931348623157e308  # the largest finite double


# ---- layout -------------------------------------------------------------------------
def n_params(sizes) -> int:
    """Number of parameters of a network with widths ``sizes``."""
    return int(sum(int(sizes[i + 1]) * (int(sizes[i]) + 1) for i in range(len(sizes) - 1)))


def make_buffers(sizes, cap: int):
    """Work arrays for up to ``cap`` examples: ``(A, D)`` activations and deltas."""
    L = len(sizes) - 1
    W = int(max(sizes))
    return np.empty((L + 1, W, max(cap, 1))), np.empty((2, W, max(cap, 1)))


def make_r_buffers(sizes, cap: int):
    """The HVP's extra work arrays: ``(RZ, RA, RD)``."""
    L = len(sizes) - 1
    W = int(max(sizes))
    c = max(cap, 1)
    return np.empty((L + 1, W, c)), np.empty((L + 1, W, c)), np.empty((2, W, c))


@njit(**_JIT)
def _offset(sizes, layer):
    """Index in the flat vector of layer ``layer``'s weight."""
    off = 0
    for l in range(layer):
        off += sizes[l + 1] * (sizes[l] + 1)
    return off


# ---- tanh and the sigmoid, in arithmetic that vectorises -------------------------------
# libm's tanh and exp are one call per element, which no loop vectorises (numpy's float64
# tanh is no faster here: it vectorises only with AVX-512), and they were most of a
# training step. These are written in +, -, *, / and comparisons only, so a loop over the
# examples runs four lanes at a time, with the same IEEE results in every lane and on every
# CPU (no fused multiply-adds: numba contracts none without fastmath). ``e^v`` (v <= 0) is
# ``2^k (1 + q)``: k = round(v / ln 2), r = v - k ln 2 in two parts (Cody and Waite;
# fdlibm's split of ln 2, whose high part times k is exact), |r| <= ln(2)/2 + tiny, and
# q = expm1(r) by its Taylor series to r^13/13! in Horner form (the first term left out
# is below 2^-56 |r|); 2^k is made by exact multiplications by powers of two.
# Error (tests/core/test_network.py checks both against mpmath): tanh within 4 ulps,
# the sigmoid within 3 ulps (libm's tanh is within 2 ulps).
_LN2_HI = 6.93147180369123816490e-01  # 0x3fe62e42fee00000: k * _LN2_HI exact, |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
(_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12,
 _E13) = (1.0 / math.factorial(n) for n in range(2, 14))
_H1, _H2, _H4, _H8, _H16, _H32, _H64, _H128, _H256, _H512, _H1024 = (
    2.0 ** -(2**i) for i in range(11))  # 2^-1, 2^-2, ..., 2^-1024 (subnormal, exact)


@njit(**_JIT)
def _reduce(v):
    """``(k, q)`` with ``e^v = 2^k (1 + q)``: k = round(v / ln 2) as a float, q = expm1 of
    the remainder (|remainder| <= ln(2)/2 + tiny)."""
    k = np.floor(v * _INV_LN2 + 0.5)
    r = (v - k * _LN2_HI) - k * _LN2_LO
    q = _E12 + r * _E13
    q = _E8 + r * (_E9 + r * (_E10 + r * (_E11 + r * q)))
    q = _E4 + r * (_E5 + r * (_E6 + r * (_E7 + r * q)))
    q = r * (1.0 + r * (_E2 + r * (_E3 + r * q)))
    return k, q


@njit(**_JIT)
def _halvings(s, j, bit, f):
    """``s * f`` and ``j - bit`` (f = 2^-bit) where ``j >= bit``, else ``s`` and ``j``: a
    step of making 2^-j (exact: every product is a power of two, none below the result)."""
    take = j >= bit
    return s * (f if take else 1.0), j - (bit if take else 0.0)


@njit(**_JIT)
def tanh(x):
    """tanh(x) within 4 ulps, vectorisable: ``expm1(-2|x|) / (2 + expm1(-2|x|))`` with the
    sign of x (|x| > 20 gives +-1, as tanh does in doubles; nan stays nan)."""
    ax = abs(x)
    if ax > 20.0:  # false for nan, which goes through as nan
        ax = 20.0
    k, q = _reduce(-2.0 * ax)
    s, j = _halvings(1.0, -k, 32.0, _H32)  # 2^k, k in [-58, 0]
    s, j = _halvings(s, j, 16.0, _H16)
    s, j = _halvings(s, j, 8.0, _H8)
    s, j = _halvings(s, j, 4.0, _H4)
    s, j = _halvings(s, j, 2.0, _H2)
    s, j = _halvings(s, j, 1.0, _H1)
    em = s * q + (s - 1.0)  # expm1(-2|x|) = 2^k (1 + q) - 1
    return math.copysign(em / (2.0 + em), x)


@njit(**_JIT)
def sigmoid(z):
    """1 / (1 + e^-z) within 3 ulps, vectorisable: with e = e^-|z|, 1 / (1 + e) for z >= 0
    and e / (1 + e) below (no overflow; nan stays nan)."""
    v = -abs(z)
    if v < -746.0:  # e^-746 is below half the least subnormal: e = 0
        v = -746.0
    k, q = _reduce(v)
    s, j = _halvings(1.0, -k, 1024.0, _H1024)  # 2^k, k in [-1076, 0]
    s, j = _halvings(s, j, 512.0, _H512)
    s, j = _halvings(s, j, 256.0, _H256)
    s, j = _halvings(s, j, 128.0, _H128)
    s, j = _halvings(s, j, 64.0, _H64)
    s, j = _halvings(s, j, 32.0, _H32)
    s, j = _halvings(s, j, 16.0, _H16)
    s, j = _halvings(s, j, 8.0, _H8)
    s, j = _halvings(s, j, 4.0, _H4)
    s, j = _halvings(s, j, 2.0, _H2)
    s, j = _halvings(s, j, 1.0, _H1)
    e = s * (1.0 + q)
    return (1.0 if z >= 0.0 else e) / (1.0 + e)


@njit(**_INLINE)
def _activate(act, A, l, nout, m):
    """A[l, :nout, :m] = act(A[l, :nout, :m]) in place; one loop per activation, so
    each vectorises."""
    for j in range(nout):
        a = A[l, j]
        if act == ACT_RELU:
            for r in range(m):
                z = a[r]
                a[r] = z if z > 0.0 else 0.0
        elif act == ACT_TANH:
            for r in range(m):
                a[r] = tanh(a[r])
        else:
            for r in range(m):
                a[r] = sigmoid(a[r])


# ---- sums over the examples -------------------------------------------------------------
# A loop carrying one running sum does not vectorise (IEEE addition does not reassociate
# without fastmath) and runs at one addition per adder latency. These keep eight partial
# sums, of the terms r = 0, 1, ..., 7 mod 8, added as ((s0 + s1) + (s2 + s3)) + ((s4 + s5)
# + (s6 + s7)), then the last m mod 8 terms in order: a fixed order, the same on every CPU,
# eight independent chains, and an error bound (m/8 + 3) u sum|terms| below the single
# chain's m u sum|terms| (Higham 4.2).
@njit(**_INLINE)
def _total(x, m):
    """sum of x[:m] in the fixed order above."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for b in range(m // 8):
        r = 8 * b
        s0 += x[r]
        s1 += x[r + 1]
        s2 += x[r + 2]
        s3 += x[r + 3]
        s4 += x[r + 4]
        s5 += x[r + 5]
        s6 += x[r + 6]
        s7 += x[r + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for r in range(m - m % 8, m):
        s += x[r]
    return s


@njit(**_JIT)
def _total_fn(x, m):
    """``_total`` compiled as a function of its own, for ``hvp_many_kernel``: the
    inlined body typed into the kernel cost its cold compile 0.2-0.4 s (the pass
    callback inlines ``_total`` itself)."""
    return _total(x, m)


@njit(**_INLINE)
def _dot(x, y, m):
    """sum of x[r] y[r], r < m, in the fixed order above."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for b in range(m // 8):
        r = 8 * b
        s0 += x[r] * y[r]
        s1 += x[r + 1] * y[r + 1]
        s2 += x[r + 2] * y[r + 2]
        s3 += x[r + 3] * y[r + 3]
        s4 += x[r + 4] * y[r + 4]
        s5 += x[r + 5] * y[r + 5]
        s6 += x[r + 6] * y[r + 6]
        s7 += x[r + 7] * y[r + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for r in range(m - m % 8, m):
        s += x[r] * y[r]
    return s


@njit(**_JIT)
def _dot2(x, y, u, v, m):
    """sum of x[r] y[r] + u[r] v[r], r < m, in the fixed order above."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    for b in range(m // 8):
        r = 8 * b
        s0 += x[r] * y[r] + u[r] * v[r]
        s1 += x[r + 1] * y[r + 1] + u[r + 1] * v[r + 1]
        s2 += x[r + 2] * y[r + 2] + u[r + 2] * v[r + 2]
        s3 += x[r + 3] * y[r + 3] + u[r + 3] * v[r + 3]
        s4 += x[r + 4] * y[r + 4] + u[r + 4] * v[r + 4]
        s5 += x[r + 5] * y[r + 5] + u[r + 5] * v[r + 5]
        s6 += x[r + 6] * y[r + 6] + u[r + 6] * v[r + 6]
        s7 += x[r + 7] * y[r + 7] + u[r + 7] * v[r + 7]
    s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    for r in range(m - m % 8, m):
        s += x[r] * y[r] + u[r] * v[r]
    return s


@njit(**_JIT)
def _derivs(act, A, l, n, m, d1, d2, second):
    """d1[i, r] = act'(z), and with ``second`` d2[i, r] = act''(z), from the activations
    a = A[l, i, r] (tanh: 1 - a^2, -2 a (1 - a^2); sigmoid: a (1 - a), a (1 - a)(1 - 2a);
    relu: 1 where a > 0, 0). One loop per activation, so each vectorises."""
    for i in range(n):
        a = A[l, i]
        o1 = d1[i]
        if act == ACT_TANH:
            for r in range(m):
                o1[r] = 1.0 - a[r] * a[r]
        elif act == ACT_RELU:
            for r in range(m):
                o1[r] = 1.0 if a[r] > 0.0 else 0.0
        else:
            for r in range(m):
                o1[r] = (1.0 - a[r]) * a[r]
        if second:
            o2 = d2[i]
            if act == ACT_TANH:
                for r in range(m):
                    o2[r] = -2.0 * a[r] * (1.0 - a[r] * a[r])
            elif act == ACT_RELU:
                for r in range(m):
                    o2[r] = 0.0
            else:
                for r in range(m):
                    o2[r] = (1.0 - a[r]) * a[r] * (1.0 - 2.0 * a[r])


@njit(**_INLINE)
def forward(sizes, act, w, X, idx, m, A):
    """Activations of examples ``X[idx[:m]]``: A[0] the inputs, A[L] the logits."""
    L = sizes.shape[0] - 1
    for i in range(sizes[0]):
        for r in range(m):
            A[0, i, r] = X[idx[r], i]
    off = 0
    for l in range(L):
        nin = sizes[l]
        nout = sizes[l + 1]
        ob = off + nout * nin
        for j in range(nout):
            # z = ((b + w_0 a_0) + w_1 a_1) + ...: the first term with the bias, one loop
            # over the examples fewer (two terms to a loop measured no faster, and cost
            # compile time)
            bj = w[ob + j]
            z = A[l + 1, j]
            w0 = w[off + j * nin]
            a = A[l, 0]
            for r in range(m):
                z[r] = bj + w0 * a[r]
            for i in range(1, nin):
                wji = w[off + j * nin + i]
                a = A[l, i]
                for r in range(m):
                    z[r] += wji * a[r]
        if l < L - 1:
            _activate(act, A, l + 1, nout, m)
        off = ob + nout


@njit(**_JIT)
def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


@njit(**_JIT)
def _max_expsum(Z, K, r):
    """``(mx, s)`` of example ``r``'s logits ``Z[:K, r]``: their maximum and the sum of
    ``exp(z - mx)`` over them in order (the softmax's normaliser; ``output_loss`` and the
    HVP's R{delta} both take it from here)."""
    mx = Z[0, r]
    for k in range(1, K):
        mx = max(mx, Z[k, r])
    s = 0.0
    for k in range(K):
        s += math.exp(Z[k, r] - mx)
    return mx, s


@njit(**_INLINE)
def output_loss(sizes, A, y, idx, m, D, want):
    """Mean loss of the logits in A[L]; with ``want``, D[0] = dLoss/dlogits."""
    L = sizes.shape[0] - 1
    K = sizes[L]
    inv = 1.0 / m
    total = 0.0
    if K == 1:
        for r in range(m):
            z = A[L, 0, r]
            t = float(y[idx[r]])
            ls = min(z, 0.0) - math.log1p(math.exp(-abs(z)))
            total += (1.0 - t) * z - ls
            if want:
                D[0, 0, r] = (_sigmoid(z) - t) * inv
    else:
        for r in range(m):
            mx, s = _max_expsum(A[L], K, r)
            lse = math.log(s)
            c = y[idx[r]]
            total += -(A[L, c, r] - mx - lse)
            if want:
                for k in range(K):
                    p = math.exp(A[L, k, r] - mx - lse)
                    D[0, k, r] = p * inv - (inv if k == c else 0.0)
    return total / m


@njit(**_INLINE)
def _dact(act, a):
    """act'(z) from the activation a = act(z), as ``_derivs`` computes it."""
    if act == ACT_TANH:
        return 1.0 - a * a
    if act == ACT_RELU:
        return 1.0 if a > 0.0 else 0.0
    return (1.0 - a) * a


@njit(**_INLINE)
def backward(sizes, act, w, A, m, D, g):
    """Backpropagate D[0] (dLoss/dlogits) into the flat gradient ``g``."""
    L = sizes.shape[0] - 1
    p = 0
    for l in range(L - 1, -1, -1):
        nin = sizes[l]
        nout = sizes[l + 1]
        off = _offset(sizes, l)
        ob = off + nout * nin
        for j in range(nout):
            # the sums over the examples in _total's and _dot's fixed order, one a loop
            d = D[p, j]
            o = off + j * nin
            g[ob + j] = _total(d, m)
            for i in range(nin):
                g[o + i] = _dot(d, A[l, i], m)
        if l > 0:
            # D[q, i] = (w_0i D[p, 0] + w_1i D[p, 1] + ...) act'(z_i): the first product
            # stored rather than added to zeros (the same values; a zero's sign may differ,
            # which no sum of the gradient keeps), act' (from the activations, as
            # ``_derivs``) applied in the last product's loop (the same product)
            q = 1 - p
            a = A[l]
            for i in range(nin):
                w0 = w[off + i]
                dp = D[p, 0]
                dq = D[q, i]
                ai = a[i]
                if nout == 1:
                    for r in range(m):
                        dq[r] = (w0 * dp[r]) * _dact(act, ai[r])
                else:
                    for r in range(m):
                        dq[r] = w0 * dp[r]
                    for j in range(1, nout - 1):
                        wji = w[off + j * nin + i]
                        dp = D[p, j]
                        for r in range(m):
                            dq[r] += wji * dp[r]
                    wji = w[off + (nout - 1) * nin + i]
                    dp = D[p, nout - 1]
                    for r in range(m):
                        dq[r] = (dq[r] + wji * dp[r]) * _dact(act, ai[r])
            p = q


# A constant True or False passed from compiled code is a literal to numba, which then
# compiles the callee once per value (and every caller's constant its own): the flags of
# ``output_loss`` and ``_derivs`` are passed computed (``m < 0`` is False, ``m >= 0``
# True), so each compiles once.
@njit(**_INLINE)
def loss_value(sizes, act, w, X, y, idx, m, A, D):
    """Mean loss over ``X[idx[:m]]`` (no gradient)."""
    forward(sizes, act, w, X, idx, m, A)
    return output_loss(sizes, A, y, idx, m, D, m < 0)


@njit(**_INLINE)
def loss_grad(sizes, act, w, X, y, idx, m, A, D, g):
    """Mean loss over ``X[idx[:m]]``, and its gradient into ``g``."""
    forward(sizes, act, w, X, idx, m, A)
    f = output_loss(sizes, A, y, idx, m, D, m >= 0)
    backward(sizes, act, w, A, m, D, g)
    return f


# ---- the shared pass, one C callback -------------------------------------------------------
# forward, output_loss and backward are compiled once, inlined into one C callback
# (``_net_pass``, made by ``pass_fn``), which every kernel calls through a function pointer
# (``_pass``): a called @njit function is linked into each caller and optimised and emitted
# again there, once per kernel (and the training kernel calls them at six sites).
P_FWD = 1  # the forward pass over X[idx[:m]] into A
P_LOSS = 2  # the mean loss (returned; else nan)
P_DELTA = 4  # with it, D[0] = dLoss/dlogits
P_BACK = 8  # backpropagate D[0] into g
P_GRAD = P_LOSS | P_DELTA | P_BACK  # the loss and gradient (after a forward pass)
# A mode is passed as an expression (``P_FWD | P_GRAD``): a bare constant passed from
# compiled code is a literal to numba, which compiles ``_pass`` once per value.

_P = types.CPointer(types.float64)
_I = types.CPointer(types.int64)
_i8 = types.int64
PASS_SIG = types.float64(_I, _i8, _i8, _P, _i8, _P, _i8, _i8, _I, _i8, _I, _i8, _P, _i8, _i8,
                         _i8, _P, _i8, _i8, _P, _i8)


def _net_pass(sp, nl, act, wp, n, xp, nx, xc, yp, ny, ip, m, ap, na, wa, ca, dp, wd, cd, gp,
              mode):
    """What ``mode`` (``P_*`` bits) asks of the C-contiguous arrays at these pointers:
    ``sizes`` (nl), ``w``, ``g`` (n), ``X`` (nx, xc), ``y`` (ny), ``idx`` (m), ``A``
    (na, wa, ca), ``D`` (2, wd, cd)."""
    sizes = carray(sp, (nl,))
    w = carray(wp, (n,))
    X = carray(xp, (nx, xc))
    y = carray(yp, (ny,))
    idx = carray(ip, (m,))
    A = carray(ap, (na, wa, ca))
    D = carray(dp, (2, wd, cd))
    g = carray(gp, (n,))
    f = np.nan
    if mode & P_FWD:
        forward(sizes, act, w, X, idx, m, A)
    if mode & P_LOSS:
        f = output_loss(sizes, A, y, idx, m, D, (mode & P_DELTA) != 0)
    if mode & P_BACK:
        backward(sizes, act, w, A, m, D, g)
    return f


def _make_cfunc(name, key, sig, fn):
    """``fn`` as a C callback of type ``sig``, compiled (or loaded) now; logged as kernel
    ``name`` with ``key`` in ``compile_log``."""
    import time

    from .loops import compile_log

    t0, c0 = time.perf_counter(), time.thread_time()
    cf = cfunc(sig, cache=True, error_model="numpy")(fn)
    compile_log.append({"kernel": name, "key": key, "cached": bool(cf.cache_hits),
                        "seconds": time.perf_counter() - t0, "cpu": time.thread_time() - c0})
    return cf


_addresses: list = []  # pass_fn's, once known (a loss or an HVP from Python asks each time)


def pass_fn() -> int:
    """The address of the shared pass's C callback (``_net_pass`` of type ``PASS_SIG``,
    made once per process and kept), for ``_pass``."""
    if _addresses:
        return _addresses[0]
    from .loops import _kernel

    a = _kernel("net_pass", lambda: _make_cfunc("net_pass", (), PASS_SIG, _net_pass),
                ()).address
    _addresses[:] = [a]
    return a


_call_pass = c_caller(PASS_SIG)


@njit(**_JIT)
def _pass(pf, mode, sizes, act, w, X, y, idx, m, A, D, g):
    """Call the shared pass at address ``pf`` (``pass_fn()``) on these arrays, by pointer:
    each must be C-contiguous (a check that numba folds away for arrays typed so; a
    strided view would be read as if it were not) and ``idx`` hold ``m`` entries, ``g``
    as many as ``w``."""
    if not (sizes.flags.c_contiguous and w.flags.c_contiguous and X.flags.c_contiguous
            and y.flags.c_contiguous and idx.flags.c_contiguous and A.flags.c_contiguous
            and D.flags.c_contiguous and g.flags.c_contiguous):
        raise ValueError("the network pass takes C-contiguous arrays")
    if m > idx.shape[0] or g.shape[0] != w.shape[0]:
        raise ValueError("the network pass: idx or g too short")
    return _call_pass(pf, sizes.ctypes, sizes.shape[0], act, w.ctypes, w.shape[0], X.ctypes,
                      X.shape[0], X.shape[1], y.ctypes, y.shape[0], idx.ctypes, m, A.ctypes,
                      A.shape[0], A.shape[1], A.shape[2], D.ctypes, D.shape[1], D.shape[2],
                      g.ctypes, mode)


@njit(**_JIT)
def hvp_many_kernel(pf, sizes, act, w, V, X, y, out):
    """Hessian of the mean loss times each row ``v`` of ``V`` (k, n) into ``out`` (k, n),
    full batch (``pf``: ``pass_fn()``): Pearlmutter's R-operator, after the shared pass's
    forward pass and output deltas. Written out in the loop over the rows (an inlined
    function of its own cost about 0.6 s more to compile)."""
    N = X.shape[0]
    L = sizes.shape[0] - 1
    W = 0
    for i in range(L + 1):
        W = max(W, sizes[i])
    A = np.empty((L + 1, W, N))
    D = np.empty((2, W, N))
    RZ = np.empty((L + 1, W, N))
    RA = np.empty((L + 1, W, N))
    RD = np.empty((2, W, N))
    idx = np.empty(N, np.int64)  # np.arange(N) (see run_network_kernel)
    for r in range(N):
        idx[r] = r
    m = N
    for kv in range(V.shape[0]):
        v = V[kv]
        hv = out[kv]
        _pass(pf, P_FWD | P_LOSS | P_DELTA, sizes, act, w, X, y, idx, m, A, D, hv)
        # R-forward: RZ[l] = R{z_l}, RA[l] = R{a_l} (RA[0] = 0: the inputs do not move)
        for i in range(sizes[0]):
            for r in range(m):
                RA[0, i, r] = 0.0
        off = 0
        for l in range(L):
            nin = sizes[l]
            nout = sizes[l + 1]
            ob = off + nout * nin
            for j in range(nout):
                vb = v[ob + j]
                for r in range(m):
                    RZ[l + 1, j, r] = vb
                for i in range(nin):
                    vji = v[off + j * nin + i]
                    wji = w[off + j * nin + i]
                    for r in range(m):
                        RZ[l + 1, j, r] += vji * A[l, i, r] + wji * RA[l, i, r]
            if l < L - 1:
                _derivs(act, A, l + 1, nout, m, RA[l + 1], RA[l + 1], m < 0)
                for j in range(nout):
                    for r in range(m):
                        RA[l + 1, j, r] *= RZ[l + 1, j, r]
            off = ob + nout
        # R{dLoss/dlogits} = (Hessian of the loss in the logits) R{z_L}
        K = sizes[L]
        inv = 1.0 / m
        if K == 1:
            for r in range(m):
                s = _sigmoid(A[L, 0, r])
                RD[0, 0, r] = s * (1.0 - s) * RZ[L, 0, r] * inv
        else:
            for r in range(m):
                # softmax p = D[0] / inv + onehot; recompute it from the logits
                mx, s = _max_expsum(A[L], K, r)
                pr = 0.0
                for k in range(K):
                    pr += math.exp(A[L, k, r] - mx) / s * RZ[L, k, r]
                for k in range(K):
                    pk = math.exp(A[L, k, r] - mx) / s
                    RD[0, k, r] = pk * (RZ[L, k, r] - pr) * inv
        # backward and R-backward together
        p = 0
        for l in range(L - 1, -1, -1):
            nin = sizes[l]
            nout = sizes[l + 1]
            off = _offset(sizes, l)
            ob = off + nout * nin
            for j in range(nout):
                d = D[p, j]
                rd = RD[p, j]
                hv[ob + j] = _total_fn(rd, m)
                for i in range(nin):
                    hv[off + j * nin + i] = _dot2(rd, A[l, i], d, RA[l, i], m)
            if l > 0:
                q = 1 - p
                for i in range(nin):
                    for r in range(m):
                        D[q, i, r] = 0.0
                        RD[q, i, r] = 0.0
                for j in range(nout):
                    for i in range(nin):
                        wji = w[off + j * nin + i]
                        vji = v[off + j * nin + i]
                        for r in range(m):
                            D[q, i, r] += wji * D[p, j, r]
                            RD[q, i, r] += vji * D[p, j, r] + wji * RD[p, j, r]
                d1 = D[p]  # free now
                d2 = RD[p]
                _derivs(act, A, l, nin, m, d1, d2, m >= 0)
                for i in range(nin):
                    for r in range(m):
                        e = D[q, i, r]
                        RD[q, i, r] = d2[i, r] * RZ[l, i, r] * e + d1[i, r] * RD[q, i, r]
                        D[q, i, r] = d1[i, r] * e
                p = q


def hvp_many(sizes, act, w, V, X, y, out):
    """Hessian times each row of ``V`` (k, n) into ``out`` (k, n), full batch
    (``hvp_many_kernel``; C-contiguous arrays)."""
    hvp_many_kernel(pass_fn(), sizes, act, w, V, X, y, out)


EV_LOSS = 0  # out[0, 0]: the mean loss at W[0] over (X, y)
EV_GRAD = 1  # and out[1, :n]: its gradient
EV_PLANE = 2  # out[j, i]: the loss at W[0] + alphas[i] W[1] + betas[j] W[2]
EV_LOGITS = 3  # out[r, :d_out]: the logits of X[r] at W[0]


@njit(**_JIT)
def evaluate(pf, mode, sizes, act, W, X, y, alphas, betas, out):
    """Full-batch forward passes, what ``mode`` says (``EV_*``): one kernel for the
    loss, the gradient, the loss plane and the predictions, so that the forward pass's
    code is compiled and optimised into one kernel, once (each would otherwise optimise
    it again). ``y`` may be empty for ``EV_LOGITS``; ``alphas``, ``betas`` are read by
    ``EV_PLANE`` only; ``pf`` is ``pass_fn()``."""
    N = X.shape[0]
    L = sizes.shape[0] - 1
    Wd = 0
    for i in range(L + 1):
        Wd = max(Wd, sizes[i])
    A = np.empty((L + 1, Wd, max(N, 1)))
    D = np.empty((2, Wd, max(N, 1)))
    idx = np.empty(N, np.int64)  # np.arange(N) (see run_network_kernel)
    for r in range(N):
        idx[r] = r
    if mode == EV_PLANE:
        c = W[0]
        d1 = W[1]
        d2 = W[2]
        w = np.empty(c.shape[0])
        for j in range(betas.shape[0]):
            for i in range(alphas.shape[0]):
                for k in range(c.shape[0]):
                    w[k] = c[k] + alphas[i] * d1[k] + betas[j] * d2[k]
                out[j, i] = _pass(pf, P_FWD | P_LOSS, sizes, act, w, X, y, idx, N, A, D, w)
        return
    pm = P_FWD
    if mode != EV_LOGITS:
        pm = P_FWD | P_GRAD if mode == EV_GRAD else P_FWD | P_LOSS
    g = out[1] if mode == EV_GRAD else W[0]
    f = _pass(pf, pm, sizes, act, W[0], X, y, idx, N, A, D, g)
    if mode == EV_LOGITS:
        for r in range(N):
            for k in range(sizes[L]):
                out[r, k] = A[L, k, r]
        return
    out[0, 0] = f


_NO_LABELS = np.zeros(0, dtype=np.int64)
_NO_STEPS = np.zeros(0)


def network_loss(sizes, act, w, X, y) -> float:
    """The mean loss at ``w`` over ``(X, y)`` (``evaluate``)."""
    out = np.empty((1, 1))
    evaluate(pass_fn(), EV_LOSS, sizes, act, w.reshape(1, -1), X, y, _NO_STEPS, _NO_STEPS,
             out)
    return float(out[0, 0])


def network_gradient(sizes, act, w, X, y):
    """``(loss, gradient)`` at ``w`` over ``(X, y)`` (``evaluate``)."""
    out = np.empty((2, w.shape[0]))
    evaluate(pass_fn(), EV_GRAD, sizes, act, w.reshape(1, -1), X, y, _NO_STEPS, _NO_STEPS,
             out)
    return float(out[0, 0]), out[1]


def plane_losses(sizes, act, c, d1, d2, alphas, betas, X, y, out):
    """The loss at c + alphas[i] d1 + betas[j] d2 into out[j, i] (rows: beta)."""
    W = np.stack([c, d1, d2])
    evaluate(pass_fn(), EV_PLANE, sizes, act, W, X, y, alphas, betas, out)


def logits(sizes, act, w, X, out):
    """The network's outputs (logits) at every row of ``X`` into ``out`` (n, d_out)."""
    evaluate(pass_fn(), EV_LOGITS, sizes, act, w.reshape(1, -1), X, _NO_LABELS, _NO_STEPS,
             _NO_STEPS, out)


# ---- gradient noise and clipping -------------------------------------------------------
@njit(**_JIT)
def _normal(seed, stream, t, lane):
    """A standard normal for coordinate ``lane`` of update ``t`` (Box-Muller, cosine)."""
    k = key(seed, stream, t, lane)
    u1 = uniform(k)
    u2 = uniform(mix64(k ^ _M1))
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@njit(**_INLINE)
def perturb(sizes, g, noise, seed, stream, t, clip):
    """Gaussian noise on every coordinate, then ``clip_grad_norm_`` as torch computes it
    (the norm of the per-tensor norms; every gradient multiplied by the clamped coef)."""
    n = g.shape[0]
    if noise > 0.0:
        for i in range(n):
            g[i] += noise * _normal(seed, stream, t, i)
    if clip > 0.0:
        L = sizes.shape[0] - 1
        tot = 0.0
        off = 0
        for l in range(L):
            for part in range(2):
                cnt = sizes[l + 1] * sizes[l] if part == 0 else sizes[l + 1]
                s = 0.0
                for i in range(off, off + cnt):
                    s += g[i] * g[i]
                nrm = math.sqrt(s)
                tot += nrm * nrm
                off += cnt
        coef = clip / (math.sqrt(tot) + 1e-6)
        if coef < 1.0:
            for i in range(n):
                g[i] *= coef


PERTURB_SIG = types.void(_I, _i8, _P, _i8, types.float64, _i8, _i8, _i8, types.float64)


def _perturb_c(sp, nl, gp, n, noise, seed, stream, t, clip):
    perturb(carray(sp, (nl,)), carray(gp, (n,)), noise, seed, stream, t, clip)


def _no_perturb(sp, nl, gp, n, noise, seed, stream, t, clip):
    return


def perturb_fn(noise, clip) -> int:
    """The address of ``perturb``'s C callback (type ``PERTURB_SIG``) when a run adds
    noise or clips; else of one that does nothing (which the run kernel never calls), so
    that a run without them compiles no noise or clipping. Each made once per process."""
    from .loops import _kernel

    if noise > 0.0 or clip > 0.0:
        return _kernel("net_perturb", lambda: _make_cfunc("net_perturb", (), PERTURB_SIG,
                                                          _perturb_c), ()).address
    return _kernel("net_no_perturb", lambda: _make_cfunc("net_no_perturb", (), PERTURB_SIG,
                                                         _no_perturb), ()).address


_call_perturb = c_caller(PERTURB_SIG)


# ---- one recorded run -----------------------------------------------------------------
@njit(**_JIT)
def all_finite(w):
    """Whether every entry of ``w`` is finite (|x| <= the largest double: false for inf
    and nan), counted without an early exit, so that the loop vectorises (a step tests
    its gradient and position, n values each). (A bit test through ``w.view`` cost
    0.3-0.8 s more to compile the run kernel.)"""
    bad = 0
    for i in range(w.shape[0]):
        bad += 0 if abs(w[i]) <= _FMAX else 1
    return bad == 0


@njit(**_JIT)
def _gather(sizes, A, cols, m, Ab):
    """Ab[l, :sizes[l], c] = A[l, :sizes[l], cols[c]] for c < m and every layer l."""
    for l in range(sizes.shape[0]):
        for i in range(sizes[l]):
            a = A[l, i]
            b = Ab[l, i]
            for c in range(m):
                b[c] = a[cols[c]]


@njit(**_INLINE)
def step_gradient(pf, pt, sizes, act, w, X, y, Xt, yt, t, steps, B, nb, epoch, noise, seed,
                  stream, clip, A, D, Ab, Db, full, perm, gb, pos, loss, tloss, grad, row):
    """Everything of a recorded step ``t`` but the update, the same for every optimizer
    (inlined into ``run_network_kernel``): record the position (row
    ``t`` of ``pos``), the full-batch training loss and gradient and the test loss (row
    ``row`` of ``loss``, ``grad``, ``tloss``); then the gradient the update uses, into
    ``gb``: the minibatch's (a fresh permutation at each epoch; the last batch short),
    with noise and clipping. Returns ``(status, epoch)``: status 1 when the loss or
    gradient is not finite (nothing recorded), 3 at the last row, else 0.

    The minibatch's forward pass is the full batch's: its examples' activations are
    copied out of ``A`` (into ``Ab``, the same numbers a forward pass over them alone
    computes, column by column) and only its output deltas and backward pass are made,
    so a minibatch step costs a full-batch step and a backward pass over the batch."""
    n = w.shape[0]
    N = X.shape[0]
    Nt = Xt.shape[0]
    g = grad[row]
    f = _pass(pf, P_FWD | P_GRAD, sizes, act, w, X, y, full, N, A, D, g)
    m = 0
    if B > 0 and t < steps:
        e = t // nb
        if e != epoch:
            permutation(seed, e, N, perm)
            epoch = e
        j0 = (t % nb) * B
        m = min(B, N - j0)
        _gather(sizes, A, perm[j0:], m, Ab)  # before the test set's pass overwrites A
    ft = np.nan
    if Nt > 0:
        ft = _pass(pf, P_FWD | P_LOSS, sizes, act, w, Xt, yt, full, Nt, A, D, g)
    ok = math.isfinite(f) and all_finite(g)
    if not ok:
        return 1, epoch
    for i in range(n):
        pos[t, i] = w[i]
    loss[row] = f
    tloss[row] = ft
    if t == steps:
        return 3, epoch
    if m > 0:
        _pass(pf, P_LOSS | P_GRAD, sizes, act, w, X, y, perm[(t % nb) * B:], m, Ab,
              Db, gb)
    else:
        for i in range(n):
            gb[i] = g[i]
    if noise > 0.0 or clip > 0.0:
        _call_perturb(pt, sizes.ctypes, sizes.shape[0], gb.ctypes, n, noise, seed, stream, t,
                      clip)
    return 0, epoch


@njit(**_INLINE)
def step_minibatch(pf, pt, sizes, act, w, X, y, t, B, nb, epoch, noise, seed, stream, clip, A,
                   D, Ab, Db, full, perm, gb, pos):
    """A step ``t`` between records (``record_every`` > 1): the position into row ``t``
    of ``pos``, and the gradient the update uses into ``gb``, from a forward and a
    backward pass over the minibatch's examples only (the full batch when ``B`` is 0):
    no full-batch or test pass. The same bits as ``step_gradient``'s ``gb``: the forward
    pass over the batch alone computes each example's column as the full batch's does,
    and the deltas and the backward pass are the same calls. Returns ``(status,
    epoch)``: status 1 when the minibatch's loss or gradient is not finite, else 0."""
    n = w.shape[0]
    N = X.shape[0]
    if B > 0:
        e = t // nb
        if e != epoch:
            permutation(seed, e, N, perm)
            epoch = e
        j0 = (t % nb) * B
        f = _pass(pf, P_FWD | P_GRAD, sizes, act, w, X, y, perm[j0:], min(B, N - j0), Ab, Db,
                  gb)
    else:
        f = _pass(pf, P_FWD | P_GRAD, sizes, act, w, X, y, full, N, A, D, gb)
    ok = math.isfinite(f) and all_finite(gb)
    for i in range(n):
        pos[t, i] = w[i]
    if not ok:
        return 1, epoch
    if noise > 0.0 or clip > 0.0:
        _call_perturb(pt, sizes.ctypes, sizes.shape[0], gb.ctypes, n, noise, seed, stream, t,
                      clip)
    return 0, epoch


@njit(**_INLINE)
def finish_run(pf, sizes, act, X, y, Xt, yt, A, D, full, gs, pos, last, k, reason, loss,
               tloss, grad, rsteps, row):
    """The end of a run stopped at row ``k`` (rows ``0..k-1`` kept) for ``reason``, whose
    last recorded step is ``last``: the first step after ``last`` whose full-batch loss
    or gradient is not finite ends it instead (reason 1), as a run recorded at every step
    would have ended; then the last row's full-batch values are recorded (in row ``row``)
    if it is not recorded yet. Returns ``(k, reason, rows recorded)``. (A run recorded at
    every step has ``last = k - 1``: nothing to do.)"""
    N = X.shape[0]
    Nt = Xt.shape[0]
    for s in range(last + 1, k):
        f = _pass(pf, P_FWD | P_GRAD, sizes, act, pos[s], X, y, full, N, A, D, gs)
        ok = math.isfinite(f) and all_finite(gs)
        if not ok:
            k = s
            reason = 1
            break
    if k - 1 > last:
        s = k - 1
        loss[row] = _pass(pf, P_FWD | P_GRAD, sizes, act, pos[s], X, y, full, N, A, D,
                          grad[row])
        tloss[row] = np.nan
        if Nt > 0:
            tloss[row] = _pass(pf, P_FWD | P_LOSS, sizes, act, pos[s], Xt, yt, full, Nt, A, D,
                               gs)
        rsteps[row] = s
        row += 1
    return k, reason, row


UPDATE_SIG = types.float64(_P, types.int64, types.float64, types.float64, _P, _P, _P, _P, _P,
                           types.int64)


def _make_update(OID):
    """Optimizer ``OID``'s update of step ``t`` (from 1) at rate ``lr``, as a C callback
    of type ``UPDATE_SIG``: the hyperparameters ``hp``, then ``w``, the gradient ``g``
    and the state slots ``s0``..``s2`` (n values each) by pointer; returns ``mu_prod``
    (NAdam's running product) for the next step. Compiled (or loaded) when made."""

    def update(hp, t, lr, mu_prod, w, g, s0, s1, s2, n):
        h = hp_tuple(hp)
        k0, k1, k2, k3, mu_prod = coefs_for(OID, h, t, lr, mu_prod)
        for i in range(n):
            w[i], s0[i], s1[i], s2[i] = coord_for(OID, h, t, lr, k0, k1, k2, k3, w[i], g[i],
                                                  s0[i], s1[i], s2[i])
        return mu_prod

    return _make_cfunc("net_update", (OID,), UPDATE_SIG, update)


@njit(**_JIT)
def run_network_kernel(sizes, act, oid, upd, pf, pt, hp, lrs, w0, X, y, Xt, yt, steps, batch,
                       noise, seed, stream, clip, rec, pos, loss, tloss, grad, rsteps):
    """``run_network``'s kernel: one for every optimizer, whose update ``upd`` is a
    callback from ``_make_update(oid)``; ``pf`` is ``pass_fn()``, ``pt``
    ``perturb_fn(...)`` (addresses of C callbacks)."""
    n = w0.shape[0]
    N = X.shape[0]
    Nt = Xt.shape[0]
    L = sizes.shape[0] - 1
    Wd = 0
    for i in range(L + 1):
        Wd = max(Wd, sizes[i])
    A = np.empty((L + 1, Wd, max(N, Nt, 1)))
    D = np.empty((2, Wd, max(N, 1)))
    B = batch if 0 < batch < N else 0
    Ab = np.empty((L + 1, Wd, max(B, 1)))
    Db = np.empty((2, Wd, max(B, 1)))
    # np.empty and loops, not np.arange, np.full, np.zeros or .copy(): each of those is
    # a function of numba's compiled on its own (with an np.empty of its own signature),
    # about 4% of a network's first use, cold; np.empty of these types the kernels share
    full = np.empty(max(N, Nt), np.int64)
    for r in range(full.shape[0]):
        full[r] = r
    perm = np.empty(max(N, 1), np.int64)  # rng.permutation fills it each epoch
    gb = np.empty(n)
    nb = (N + B - 1) // B if B > 0 else 1
    epoch = min(B, 0) - 1  # -1
    h = hp_tuple(hp)
    s0 = np.empty(n)
    s1 = np.empty(n)
    s2 = np.empty(n)
    w = np.empty(n)
    v0 = initial_slot0(oid, h)
    for i in range(n):
        s0[i] = v0
        s1[i] = 0.0
        s2[i] = 0.0
        w[i] = w0[i]
    mu_prod = 1.0
    row = 0
    last = -1
    k = steps + 1
    reason = 0
    for t in range(steps + 1):
        if t % rec == 0 or t == steps:
            status, epoch = step_gradient(pf, pt, sizes, act, w, X, y, Xt, yt, t, steps, B,
                                          nb, epoch, noise, seed, stream, clip, A, D, Ab, Db,
                                          full, perm, gb, pos, loss, tloss, grad, row)
            if status == 1:
                k, reason = t, 1
                break
            rsteps[row] = t
            row += 1
            last = t
            if status == 3:
                break
        else:
            status, epoch = step_minibatch(pf, pt, sizes, act, w, X, y, t, B, nb, epoch,
                                           noise, seed, stream, clip, A, D, Ab, Db, full,
                                           perm, gb, pos)
            if status == 1:
                k, reason = t, 1
                break
        lr = lrs[t]
        mu_prod = upd(hp.ctypes, t + 1, lr, mu_prod, w.ctypes, gb.ctypes, s0.ctypes,
                      s1.ctypes, s2.ctypes, n)
        if not all_finite(w):
            k, reason = t + 1, 2
            break
    if reason != 0:  # one call site: one compiled signature
        return finish_run(pf, sizes, act, X, y, Xt, yt, A, D, full, gb, pos, last, k, reason,
                          loss, tloss, grad, rsteps, row)
    return k, reason, row



def record_rows(steps: int, rec: int) -> int:
    """Rows ``run_network`` records at most: steps 0, rec, 2 rec, ... and the last."""
    return steps // rec + 1 + (1 if steps % rec else 0)


def run_network(sizes, act, oid, hp, lrs, w0, X, y, Xt, yt, steps, batch, noise, seed,
                stream, clip, rec, pos, loss, tloss, grad, rsteps):
    """Run ``steps`` updates of optimizer ``oid`` from ``w0``, recording the position at
    every step and the full-batch values every ``rec`` steps.

    Fills rows ``0..k-1`` of ``pos`` (steps+1, n) and returns ``(k, reason, r)`` as
    ``loops.run_trajectory`` does (reason 1: a non-finite loss or gradient at row k; 2:
    a non-finite update) with ``r`` the rows recorded: ``rsteps[:r]`` (int64) the steps
    0, rec, 2 rec, ... and always the last row k-1, and rows ``0..r-1`` of ``loss``,
    ``tloss`` (the full-batch training and test losses) and ``grad`` (the full-batch
    gradient) their values (``record_rows(steps, rec)`` rows suffice). ``batch`` > 0
    draws minibatches as a DataLoader with ``shuffle=True, drop_last=False``: a fresh
    permutation every epoch (``rng.permutation`` of the seed and the epoch), batches of
    ``batch`` in its order, the last one short.

    Between records a step makes only the minibatch's forward and backward passes
    (``step_minibatch``), and the positions are the same bits as with ``rec`` = 1. The
    run stops there when the minibatch's loss or gradient or the update is not finite;
    the end is then the first step after the last record whose full-batch loss or
    gradient is not finite, if any (``finish_run``), as with ``rec`` = 1. (Only a
    full-batch value that is not finite between two records while every minibatch,
    update and the later record are finite goes unseen.)
    """
    from .loops import _call, _kernel

    upd = _kernel("net_update", _make_update, (int(oid),))
    k = _kernel("run_network", lambda: run_network_kernel, ())  # for compile_log
    return _call("run_network", (), k, sizes, act, int(oid), upd, pass_fn(),
                 perturb_fn(noise, clip), hp, lrs, w0, X, y, Xt, yt, steps, batch, noise, seed,
                 stream, clip, rec, pos, loss, tloss, grad, rsteps)
