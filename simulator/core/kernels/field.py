"""One evaluator for every kind of surface the kernels see.

A surface reaches a kernel as a *spec*, a tuple of plain arrays with one fixed numba type
whatever the surface, so each kernel is compiled once and cached::

    spec = (sid, dim, prm, code, consts, hdr, bumps, X, Y)

``sid``     int64: a built-in id (< SID_EXPR), SID_EXPR, SID_FLAT, SID_LINREG, SID_LOGREG
``dim``     int64: 1 or 2 (for 1, y is ignored and gy = hxy = hyy = 0)
``prm``     float64[::1]: built-in parameters
``code``    int64[:, ::1], ``consts`` float64[::1], ``hdr`` int64[::1]: a formula program
``bumps``   float64[:, ::1] (n, 4): drawn Gaussian bumps (cx, cy, amplitude, sigma) added
            on top of the base
``X``, ``Y`` float64[:, ::1] (N, 2) and float64[::1] (N,): data for data surfaces;
            the weights are (x, y) and the model's score is z = x X[i,0] + y X[i,1]

Unused parts are empty arrays of the right type (see ``simulator.core.library``).
"""

from __future__ import annotations

import math

from ._jit import njit, overload, types
from .surfaces import FG, FGH, builtin_fg, builtin_fg_block, builtin_fgh
from .vm import vm_run, vm_run_block

SID_EXPR = 1000
SID_FLAT = 1001
SID_LINREG = 2000  # mean squared error of a linear model
SID_LOGREG = 2001  # mean binary cross-entropy of a logistic model, labels in {0, 1}

_JIT = dict(cache=True, nogil=True, error_model="numpy")
# a drawn bump further than sqrt(2 * 40) sigmas away is skipped: its value, gradient and
# Hessian there are below 4.3e-18 of its amplitude (and a 2000-bump grid gets ~10x faster)
BUMP_CUTOFF = 40.0
_INLINE = dict(_JIT, inline="always")
# inlined helpers made per surface (closures): inlined into cached kernels, never cached
_INLINE_NC = dict(nogil=True, error_model="numpy", inline="always")


# ---- data surfaces ---------------------------------------------------------------------
@njit(**_JIT)
def _softplus(z):
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@njit(**_JIT)
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(**_INLINE)
def data_fgh(sid, X, Y, x, y, idx, i0, m, want_h):
    """Mean loss, gradient and Hessian over examples ``idx[i0:i0+m]`` (all when m < 0)."""
    f = 0.0
    gx = 0.0
    gy = 0.0
    hxx = 0.0
    hxy = 0.0
    hyy = 0.0
    count = X.shape[0] if m < 0 else m
    for k in range(count):
        j = k if m < 0 else idx[i0 + k]
        a = X[j, 0]
        b = X[j, 1]
        z = x * a + y * b
        if sid == SID_LINREG:
            r = z - Y[j]
            f += r * r
            gx += 2.0 * r * a
            gy += 2.0 * r * b
            if want_h:
                hxx += 2.0 * a * a
                hxy += 2.0 * a * b
                hyy += 2.0 * b * b
        else:
            f += _softplus(z) - Y[j] * z
            s = _sigmoid(z)
            gx += (s - Y[j]) * a
            gy += (s - Y[j]) * b
            if want_h:
                w = s * (1.0 - s)
                hxx += w * a * a
                hxy += w * a * b
                hyy += w * b * b
    inv = 1.0 / count
    return f * inv, gx * inv, gy * inv, hxx * inv, hxy * inv, hyy * inv


@njit(**_JIT)
def data_loss(sid, X, Y, x, y, idx, i0, m, want_h):
    """``data_fgh``, called rather than inlined: the specialised kernels of the data
    surfaces share this one compiled (and cached) function instead of each compiling the
    loop over the examples again (it is a call per step, over N examples)."""
    return data_fgh(sid, X, Y, x, y, idx, i0, m, want_h)


# ---- drawn bumps ---------------------------------------------------------------------------
@njit(**_INLINE)
def bumps_fgh(bumps, dim, x, y, want_h):
    f = 0.0
    gx = 0.0
    gy = 0.0
    hxx = 0.0
    hxy = 0.0
    hyy = 0.0
    for k in range(bumps.shape[0]):
        dx = x - bumps[k, 0]
        dy = (y - bumps[k, 1]) if dim == 2 else 0.0
        s2 = bumps[k, 3] * bumps[k, 3]
        q = (dx * dx + dy * dy) / (2.0 * s2)
        if q > BUMP_CUTOFF:
            continue  # exp(-40) < 4.3e-18: below float64 resolution of the bump's height
        e = bumps[k, 2] * math.exp(-q)
        f += e
        gx -= e * dx / s2
        gy -= e * dy / s2
        if want_h:
            s4 = s2 * s2
            hxx += e * (dx * dx / s4 - 1.0 / s2)
            hxy += e * dx * dy / s4
            hyy += e * (dy * dy / s4 - 1.0 / s2)
    return f, gx, gy, hxx, hxy, hyy


# ---- single points -----------------------------------------------------------------------
@njit(**_INLINE)
def fg(spec, x, y, regs):
    """Value and gradient of the whole surface at (x, y); ``regs`` is VM scratch."""
    sid = spec[0]
    dim = spec[1]
    if sid < SID_EXPR:
        f, gx, gy = builtin_fg(sid, spec[2], x, y)
    elif sid == SID_EXPR:
        hdr = spec[5]
        vm_run(spec[3], spec[4], hdr[3], hdr[4], x, y, regs)
        f = regs[0]
        gx = regs[1]
        gy = regs[2]
    elif sid == SID_FLAT:
        f = 0.0 * x
        gx = 0.0
        gy = 0.0
    else:
        f, gx, gy, _, _, _ = data_fgh(sid, spec[7], spec[8], x, y, spec[5], 0, -1, False)
    if spec[6].shape[0] > 0:
        bf, bgx, bgy, _, _, _ = bumps_fgh(spec[6], dim, x, y, False)
        f += bf
        gx += bgx
        gy += bgy
    if dim == 1:
        gy = 0.0
    return f, gx, gy


@njit(**_INLINE)
def fgh(spec, x, y, regs):
    """Value, gradient and Hessian (hxx, hxy, hyy) at (x, y)."""
    sid = spec[0]
    dim = spec[1]
    if sid < SID_EXPR:
        f, gx, gy, hxx, hxy, hyy = builtin_fgh(sid, spec[2], x, y)
    elif sid == SID_EXPR:
        hdr = spec[5]
        vm_run(spec[3], spec[4], hdr[5], hdr[6], x, y, regs)
        f = regs[0]
        gx = regs[1]
        gy = regs[2]
        hxx = regs[3]
        hxy = regs[4]
        hyy = regs[5]
    elif sid == SID_FLAT:
        f = 0.0 * x
        gx = 0.0
        gy = 0.0
        hxx = 0.0
        hxy = 0.0
        hyy = 0.0
    else:
        f, gx, gy, hxx, hxy, hyy = data_fgh(
            sid, spec[7], spec[8], x, y, spec[5], 0, -1, True
        )
    if spec[6].shape[0] > 0:
        bf, bgx, bgy, bxx, bxy, byy = bumps_fgh(spec[6], dim, x, y, True)
        f += bf
        gx += bgx
        gy += bgy
        hxx += bxx
        hxy += bxy
        hyy += byy
    if dim == 1:
        gy = 0.0
        hxy = 0.0
        hyy = 0.0
    return f, gx, gy, hxx, hxy, hyy


# ---- blocks of points --------------------------------------------------------------------
@njit(**_JIT)
def fg_block(spec, xs, ys, f, gx, gy, n, regs2d):
    """Value and gradient at ``n`` points into ``f``, ``gx``, ``gy``.

    ``regs2d`` is VM scratch of shape (nreg, >= n).
    """
    sid = spec[0]
    dim = spec[1]
    if sid < SID_EXPR:
        builtin_fg_block(sid, spec[2], xs, ys, f, gx, gy, n)
    elif sid == SID_EXPR:
        hdr = spec[5]
        vm_run_block(spec[3], spec[4], hdr[3], hdr[4], xs, ys, n, regs2d)
        for i in range(n):
            f[i] = regs2d[0, i]
            gx[i] = regs2d[1, i]
            gy[i] = regs2d[2, i]
    elif sid == SID_FLAT:
        for i in range(n):
            f[i] = 0.0 * xs[i]
            gx[i] = 0.0
            gy[i] = 0.0
    else:
        X = spec[7]
        Y = spec[8]
        for i in range(n):
            f[i], gx[i], gy[i], _, _, _ = data_fgh(
                sid, X, Y, xs[i], ys[i], spec[5], 0, -1, False
            )
    bumps = spec[6]
    if bumps.shape[0] > 0:
        for i in range(n):
            bf, bgx, bgy, _, _, _ = bumps_fgh(bumps, dim, xs[i], ys[i], False)
            f[i] += bf
            gx[i] += bgx
            gy[i] += bgy
    if dim == 1:
        for i in range(n):
            gy[i] = 0.0


# ---- compile-time selection -------------------------------------------------------------
# ``point_fg(SID, BUMPS, spec, x, y, regs)`` and friends compute what ``fg`` / ``fgh`` /
# ``fg_block`` compute, but when ``SID`` (a surface id or kind) and ``BUMPS`` (0 or 1) are
# compile-time constants they inline only that surface's code: a kernel specialised for
# Rosenbrock compiles Rosenbrock, not nineteen surfaces, the formula machine and the data
# losses. The operations are the same as the generic path's, so are the results.
def point_fg(sid, bumps, spec, x, y, regs):
    """``fg`` specialised on a compile-time ``sid`` and ``bumps``.

    Compiled, the overload below picks the surface's own code; run as plain Python (see
    ``interp``) this body, the generic path, computes the same values.
    """
    return fg(spec, x, y, regs)


def point_fgh(sid, bumps, spec, x, y, regs):
    """``fgh`` specialised on a compile-time ``sid`` and ``bumps`` (see ``point_fg``)."""
    return fgh(spec, x, y, regs)


def block_fg(sid, bumps, spec, xs, ys, f, gx, gy, n, regs2d):
    """``fg_block`` specialised on a compile-time ``sid`` and ``bumps`` (see ``point_fg``)."""
    fg_block(spec, xs, ys, f, gx, gy, n, regs2d)


@njit(**_INLINE)
def _nan_fg(prm, x, y):
    nan = 0.0 * x + math.nan
    return nan, nan, nan


@njit(**_INLINE)
def _nan_fgh(prm, x, y):
    nan = 0.0 * x + math.nan
    return nan, nan, nan, nan, nan, nan


def _literals(*args):
    if all(isinstance(a, types.IntegerLiteral) for a in args):
        return tuple(a.literal_value for a in args)
    return None


def _base_fg(S):
    """An inlinable ``(spec, x, y, regs) -> (f, gx, gy)`` for the base surface ``S``."""
    if S < SID_EXPR:
        fn = FG.get(S, _nan_fg)  # an unknown id is nan everywhere, as builtin_fg says

        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            return fn(spec[2], x, y)
    elif S == SID_EXPR:
        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            hdr = spec[5]
            vm_run(spec[3], spec[4], hdr[3], hdr[4], x, y, regs)
            return regs[0], regs[1], regs[2]
    elif S == SID_FLAT:
        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            return 0.0 * x, 0.0, 0.0
    else:
        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            f, gx, gy, _, _, _ = data_loss(S, spec[7], spec[8], x, y, spec[5], 0, -1, False)
            return f, gx, gy
    return base


def _base_fgh(S):
    """An inlinable ``(spec, x, y, regs) -> (f, gx, gy, hxx, hxy, hyy)`` for ``S``."""
    if S < SID_EXPR:
        fn = FGH.get(S, _nan_fgh)

        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            return fn(spec[2], x, y)
    elif S == SID_EXPR:
        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            hdr = spec[5]
            vm_run(spec[3], spec[4], hdr[5], hdr[6], x, y, regs)
            return regs[0], regs[1], regs[2], regs[3], regs[4], regs[5]
    elif S == SID_FLAT:
        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            return 0.0 * x, 0.0, 0.0, 0.0, 0.0, 0.0
    else:
        @njit(**_INLINE_NC)
        def base(spec, x, y, regs):
            return data_loss(S, spec[7], spec[8], x, y, spec[5], 0, -1, True)
    return base


@overload(point_fg, prefer_literal=True)
def _ol_point_fg(sid, bumps, spec, x, y, regs):
    lit = _literals(sid, bumps)
    if lit is None:
        return lambda sid, bumps, spec, x, y, regs: fg(spec, x, y, regs)
    base = _base_fg(lit[0])
    if lit[1]:
        def impl(sid, bumps, spec, x, y, regs):
            f, gx, gy = base(spec, x, y, regs)
            dim = spec[1]
            if spec[6].shape[0] > 0:
                bf, bgx, bgy, _, _, _ = bumps_fgh(spec[6], dim, x, y, False)
                f += bf
                gx += bgx
                gy += bgy
            if dim == 1:
                gy = 0.0
            return f, gx, gy
        return impl

    def impl(sid, bumps, spec, x, y, regs):
        f, gx, gy = base(spec, x, y, regs)
        if spec[1] == 1:
            gy = 0.0
        return f, gx, gy
    return impl


@overload(point_fgh, prefer_literal=True)
def _ol_point_fgh(sid, bumps, spec, x, y, regs):
    lit = _literals(sid, bumps)
    if lit is None:
        return lambda sid, bumps, spec, x, y, regs: fgh(spec, x, y, regs)
    base = _base_fgh(lit[0])
    with_bumps = bool(lit[1])

    def impl(sid, bumps, spec, x, y, regs):
        f, gx, gy, hxx, hxy, hyy = base(spec, x, y, regs)
        dim = spec[1]
        if with_bumps and spec[6].shape[0] > 0:
            bf, bgx, bgy, bxx, bxy, byy = bumps_fgh(spec[6], dim, x, y, True)
            f += bf
            gx += bgx
            gy += bgy
            hxx += bxx
            hxy += bxy
            hyy += byy
        if dim == 1:
            gy = 0.0
            hxy = 0.0
            hyy = 0.0
        return f, gx, gy, hxx, hxy, hyy
    return impl


def _base_block(S):
    """An inlinable ``(spec, xs, ys, f, gx, gy, n, regs2d)`` filling the base surface."""
    if S < SID_EXPR:
        fn = FG.get(S, _nan_fg)

        @njit(**_INLINE_NC)
        def base(spec, xs, ys, f, gx, gy, n, regs2d):
            prm = spec[2]
            for i in range(n):  # one loop, so that LLVM vectorises it over the points
                f[i], gx[i], gy[i] = fn(prm, xs[i], ys[i])
    elif S == SID_EXPR:
        @njit(**_INLINE_NC)
        def base(spec, xs, ys, f, gx, gy, n, regs2d):
            hdr = spec[5]
            vm_run_block(spec[3], spec[4], hdr[3], hdr[4], xs, ys, n, regs2d)
            for i in range(n):
                f[i] = regs2d[0, i]
                gx[i] = regs2d[1, i]
                gy[i] = regs2d[2, i]
    elif S == SID_FLAT:
        @njit(**_INLINE_NC)
        def base(spec, xs, ys, f, gx, gy, n, regs2d):
            for i in range(n):
                f[i] = 0.0 * xs[i]
                gx[i] = 0.0
                gy[i] = 0.0
    else:
        @njit(**_INLINE_NC)
        def base(spec, xs, ys, f, gx, gy, n, regs2d):
            X = spec[7]
            Y = spec[8]
            for i in range(n):
                f[i], gx[i], gy[i], _, _, _ = data_loss(
                    S, X, Y, xs[i], ys[i], spec[5], 0, -1, False
                )
    return base


@overload(block_fg, prefer_literal=True)
def _ol_block_fg(sid, bumps, spec, xs, ys, f, gx, gy, n, regs2d):
    lit = _literals(sid, bumps)
    if lit is None:
        return lambda sid, bumps, spec, xs, ys, f, gx, gy, n, regs2d: fg_block(
            spec, xs, ys, f, gx, gy, n, regs2d)
    base = _base_block(lit[0])
    with_bumps = bool(lit[1])

    def impl(sid, bumps, spec, xs, ys, f, gx, gy, n, regs2d):
        base(spec, xs, ys, f, gx, gy, n, regs2d)
        dim = spec[1]
        if with_bumps:
            b = spec[6]
            if b.shape[0] > 0:
                for i in range(n):
                    bf, bgx, bgy, _, _, _ = bumps_fgh(b, dim, xs[i], ys[i], False)
                    f[i] += bf
                    gx[i] += bgx
                    gy[i] += bgy
        if dim == 1:
            for i in range(n):
                gy[i] = 0.0
    return impl
