"""Built-in surfaces as numba scalar functions, dispatched on an integer id.

Each surface has two scalar functions of ``(prm, x, y)``: ``*_fg`` returns
``(f, gx, gy)`` and ``*_fgh`` returns ``(f, gx, gy, hxx, hxy, hyy)``, written out
analytically (tests compare them with sympy and with finite differences). ``prm`` is the
surface's float64 parameter array, laid out by its factory in ``simulator.core.surfaces``.
1-D curves use x only and return gy = hxy = hyy = 0.

``builtin_fg_block`` has one explicit loop per surface so that LLVM vectorises the loop
over the particles of a block; the scalar dispatchers serve single points.
"""

from __future__ import annotations

from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy", inline="always")

# ---- ids (stable: they are never stored on disk, but keep them unique) -------------
S_QUADFORM = 0  # 0.5 * (a x^2 + 2 b x y + c y^2) + d; "quadratic" and "ravine"
S_ROSENBROCK = 1  # (a - x)^2 + b (y - x^2)^2
S_PARABOLA = 2  # a (x - c)^2 (1-D)


# ---- quadratic form ---------------------------------------------------------------
@njit(**_JIT)
def quadform_fg(prm, x, y):
    a = prm[0]
    b = prm[1]
    c = prm[2]
    gx = a * x + b * y
    gy = b * x + c * y
    return 0.5 * (x * gx + y * gy) + prm[3], gx, gy


@njit(**_JIT)
def quadform_fgh(prm, x, y):
    f, gx, gy = quadform_fg(prm, x, y)
    return f, gx, gy, prm[0], prm[1], prm[2]


# ---- Rosenbrock ---------------------------------------------------------------------
@njit(**_JIT)
def rosenbrock_fg(prm, x, y):
    a = prm[0]
    b = prm[1]
    u = a - x
    t = y - x * x
    return u * u + b * t * t, -2.0 * u - 4.0 * b * x * t, 2.0 * b * t


@njit(**_JIT)
def rosenbrock_fgh(prm, x, y):
    f, gx, gy = rosenbrock_fg(prm, x, y)
    b = prm[1]
    return f, gx, gy, 2.0 - 4.0 * b * (y - 3.0 * x * x), -4.0 * b * x, 2.0 * b


# ---- parabola (1-D) -----------------------------------------------------------------
@njit(**_JIT)
def parabola_fg(prm, x, y):
    d = x - prm[1]
    return prm[0] * d * d, 2.0 * prm[0] * d, 0.0


@njit(**_JIT)
def parabola_fgh(prm, x, y):
    f, gx, gy = parabola_fg(prm, x, y)
    return f, gx, gy, 2.0 * prm[0], 0.0, 0.0


# ---- dispatch ---------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def builtin_fg(sid, prm, x, y):
    if sid == S_QUADFORM:
        return quadform_fg(prm, x, y)
    if sid == S_ROSENBROCK:
        return rosenbrock_fg(prm, x, y)
    if sid == S_PARABOLA:
        return parabola_fg(prm, x, y)
    nan = 0.0 * x + float("nan")
    return nan, nan, nan


@njit(cache=True, nogil=True, error_model="numpy")
def builtin_fgh(sid, prm, x, y):
    if sid == S_QUADFORM:
        return quadform_fgh(prm, x, y)
    if sid == S_ROSENBROCK:
        return rosenbrock_fgh(prm, x, y)
    if sid == S_PARABOLA:
        return parabola_fgh(prm, x, y)
    nan = 0.0 * x + float("nan")
    return nan, nan, nan, nan, nan, nan


@njit(cache=True, nogil=True, error_model="numpy")
def builtin_fg_block(sid, prm, xs, ys, f, gx, gy, n):
    """Value and gradient at ``n`` points; one vectorisable loop per surface."""
    if sid == S_QUADFORM:
        for i in range(n):
            f[i], gx[i], gy[i] = quadform_fg(prm, xs[i], ys[i])
    elif sid == S_ROSENBROCK:
        for i in range(n):
            f[i], gx[i], gy[i] = rosenbrock_fg(prm, xs[i], ys[i])
    elif sid == S_PARABOLA:
        for i in range(n):
            f[i], gx[i], gy[i] = parabola_fg(prm, xs[i], ys[i])
    else:
        for i in range(n):
            f[i], gx[i], gy[i] = builtin_fg(sid, prm, xs[i], ys[i])
