"""Built-in surfaces as numba scalar functions, dispatched on an integer id.

Each surface has two scalar functions of ``(prm, x, y)``: ``*_fg`` returns
``(f, gx, gy)`` and ``*_fgh`` returns ``(f, gx, gy, hxx, hxy, hyy)``, written out
analytically (tests compare them with sympy and with finite differences). ``prm`` is the
surface's float64 parameter array, laid out by its factory in ``simulator.core.library``.
1-D curves use x only and return gy = hxy = hyy = 0.

``builtin_fg_block`` has one explicit loop per surface so that LLVM vectorises the loop
over the particles of a block; the scalar dispatchers serve single points.
"""

from __future__ import annotations

import math

from ._jit import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy", inline="always")

# ---- ids (stable: they are never stored on disk, but keep them unique) -------------
S_QUADFORM = 0  # 0.5 * (a x^2 + 2 b x y + c y^2) + d; "quadratic", "ravine"; [a, b, c, d]
S_ROSENBROCK = 1  # (a - x)^2 + b (y - x^2)^2; prm [a, b]
S_PARABOLA = 2  # a (x - c)^2 (1-D); prm [a, c]
S_BEALE = 3  # (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2
S_HIMMELBLAU = 4  # (x^2 + y - 11)^2 + (x + y^2 - 7)^2
S_RASTRIGIN = 5  # x^2 + y^2 + A (2 - cos 2 pi x - cos 2 pi y); prm [A]
S_ACKLEY = 6  # -a exp(-b sqrt((x^2+y^2)/2)) - exp((cos cx + cos cy)/2) + a + e; [a, b, c]
S_BOOTH = 7  # (x + 2y - 7)^2 + (2x + y - 5)^2
S_MATYAS = 8  # 0.26 (x^2 + y^2) - 0.48 x y
S_CAMEL6 = 9  # (4 - 2.1 x^2 + x^4/3) x^2 + x y + (-4 + 4 y^2) y^2 (six-hump camel)
S_STYBLINSKI = 10  # 0.5 (x^4 - 16 x^2 + 5 x + y^4 - 16 y^2 + 5 y)
S_GOLDSTEIN = 11  # Goldstein-Price, as A(x + y) * B(2x - 3y)
S_MCCORMICK = 12  # sin(x + y) + (x - y)^2 - 1.5 x + 2.5 y + 1
S_SADDLE = 13  # x^2 - y^2
S_MONKEY = 14  # x^3 - 3 x y^2
S_TWOWELLS = 15  # q1 q2 / (q1 + q2), qi = ki/2 |p - ci|^2; prm [x1, y1, k1, x2, y2, k2]
S_PLATEAU = 16  # 1 - exp(-q (x^2 + y^2)); prm [q] = [1 / width^2]
S_DOUBLEWELL = 17  # (x^2 - 1)^2 + t x (1-D); prm [t]
S_BUMPY = 18  # x^2 / 10 + A sin(k x) (1-D); prm [A, k]


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


# ---- Beale ----------------------------------------------------------------------------
@njit(**_JIT)
def beale_fg(prm, x, y):
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    f = t1 * t1 + t2 * t2 + t3 * t3
    gx = 2.0 * (t1 * (y - 1.0) + t2 * (y2 - 1.0) + t3 * (y3 - 1.0))
    gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    return f, gx, gy


@njit(**_JIT)
def beale_fgh(prm, x, y):
    y2 = y * y
    y3 = y2 * y
    t1 = 1.5 - x + x * y
    t2 = 2.25 - x + x * y2
    t3 = 2.625 - x + x * y3
    a1 = y - 1.0
    a2 = y2 - 1.0
    a3 = y3 - 1.0
    b1 = x
    b2 = 2.0 * x * y
    b3 = 3.0 * x * y2
    f = t1 * t1 + t2 * t2 + t3 * t3
    gx = 2.0 * (t1 * a1 + t2 * a2 + t3 * a3)
    gy = 2.0 * x * (t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    hxx = 2.0 * (a1 * a1 + a2 * a2 + a3 * a3)
    hxy = 2.0 * (a1 * b1 + a2 * b2 + a3 * b3 + t1 + 2.0 * y * t2 + 3.0 * y2 * t3)
    hyy = 2.0 * (b1 * b1 + b2 * b2 + b3 * b3 + 2.0 * x * t2 + 6.0 * x * y * t3)
    return f, gx, gy, hxx, hxy, hyy


# ---- Himmelblau -------------------------------------------------------------------------
@njit(**_JIT)
def himmelblau_fg(prm, x, y):
    u = x * x + y - 11.0
    v = x + y * y - 7.0
    return u * u + v * v, 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v


@njit(**_JIT)
def himmelblau_fgh(prm, x, y):
    u = x * x + y - 11.0
    v = x + y * y - 7.0
    return (
        u * u + v * v,
        4.0 * x * u + 2.0 * v,
        2.0 * u + 4.0 * y * v,
        4.0 * u + 8.0 * x * x + 2.0,
        4.0 * (x + y),
        4.0 * v + 8.0 * y * y + 2.0,
    )


# ---- Rastrigin ----------------------------------------------------------------------------
_TWO_PI = 2.0 * math.pi


@njit(**_JIT)
def rastrigin_fg(prm, x, y):
    A = prm[0]
    tx = _TWO_PI * x
    ty = _TWO_PI * y
    f = x * x + y * y + A * ((1.0 - math.cos(tx)) + (1.0 - math.cos(ty)))
    k = A * _TWO_PI
    return f, 2.0 * x + k * math.sin(tx), 2.0 * y + k * math.sin(ty)


@njit(**_JIT)
def rastrigin_fgh(prm, x, y):
    A = prm[0]
    tx = _TWO_PI * x
    ty = _TWO_PI * y
    cx = math.cos(tx)
    cy = math.cos(ty)
    f = x * x + y * y + A * ((1.0 - cx) + (1.0 - cy))
    k = A * _TWO_PI
    k2 = k * _TWO_PI
    return (
        f,
        2.0 * x + k * math.sin(tx),
        2.0 * y + k * math.sin(ty),
        2.0 + k2 * cx,
        0.0,
        2.0 + k2 * cy,
    )


# ---- Ackley -----------------------------------------------------------------------------
# The cone term -a exp(-b rho), rho = sqrt((x^2 + y^2) / 2), is not differentiable at the
# origin. There we take its symmetric limit: gradient 0 and no Hessian contribution (its
# tangential curvature grows like 1/rho), so the origin is a proper critical point whose
# Hessian is that of the cosine term, c^2 e / 2 * I.
@njit(**_JIT)
def ackley_fg(prm, x, y):
    a = prm[0]
    b = prm[1]
    c = prm[2]
    rho = math.sqrt(0.5 * (x * x + y * y))
    e1 = math.exp(-b * rho)
    e2 = math.exp(0.5 * (math.cos(c * x) + math.cos(c * y)))
    f = a * (1.0 - e1) + (math.e - e2)
    m = 0.5 * a * b * e1 / rho if rho > 0.0 else 0.0
    hc = 0.5 * c * e2
    return f, m * x + hc * math.sin(c * x), m * y + hc * math.sin(c * y)


@njit(**_JIT)
def ackley_fgh(prm, x, y):
    a = prm[0]
    b = prm[1]
    c = prm[2]
    rho = math.sqrt(0.5 * (x * x + y * y))
    e1 = math.exp(-b * rho)
    cx = math.cos(c * x)
    cy = math.cos(c * y)
    e2 = math.exp(0.5 * (cx + cy))
    f = a * (1.0 - e1) + (math.e - e2)
    if rho > 0.0:
        m = 0.5 * a * b * e1 / rho
        n = 0.5 * m * (b * rho + 1.0) / (rho * rho)
    else:
        m = 0.0
        n = 0.0
    snx = math.sin(c * x)
    sny = math.sin(c * y)
    hc = 0.5 * c * e2
    gx = m * x + hc * snx
    gy = m * y + hc * sny
    sx = 0.5 * c * snx
    sy = 0.5 * c * sny
    c2 = 0.5 * c * c
    hxx = m - n * x * x + e2 * (c2 * cx - sx * sx)
    hxy = -n * x * y - e2 * sx * sy
    hyy = m - n * y * y + e2 * (c2 * cy - sy * sy)
    return f, gx, gy, hxx, hxy, hyy


# ---- Booth --------------------------------------------------------------------------------
@njit(**_JIT)
def booth_fg(prm, x, y):
    u = x + 2.0 * y - 7.0
    v = 2.0 * x + y - 5.0
    return u * u + v * v, 2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v


@njit(**_JIT)
def booth_fgh(prm, x, y):
    f, gx, gy = booth_fg(prm, x, y)
    return f, gx, gy, 10.0, 8.0, 10.0


# ---- Matyas -------------------------------------------------------------------------------
@njit(**_JIT)
def matyas_fg(prm, x, y):
    return 0.26 * (x * x + y * y) - 0.48 * x * y, 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


@njit(**_JIT)
def matyas_fgh(prm, x, y):
    f, gx, gy = matyas_fg(prm, x, y)
    return f, gx, gy, 0.52, -0.48, 0.52


# ---- six-hump camel -------------------------------------------------------------------------
@njit(**_JIT)
def camel6_fg(prm, x, y):
    x2 = x * x
    y2 = y * y
    f = (4.0 - 2.1 * x2 + x2 * x2 / 3.0) * x2 + x * y + (-4.0 + 4.0 * y2) * y2
    gx = x * (8.0 - 8.4 * x2 + 2.0 * x2 * x2) + y
    gy = x + y * (-8.0 + 16.0 * y2)
    return f, gx, gy


@njit(**_JIT)
def camel6_fgh(prm, x, y):
    f, gx, gy = camel6_fg(prm, x, y)
    x2 = x * x
    return f, gx, gy, 8.0 - 25.2 * x2 + 10.0 * x2 * x2, 1.0, -8.0 + 48.0 * y * y


# ---- Styblinski-Tang ------------------------------------------------------------------------
@njit(**_JIT)
def styblinski_fg(prm, x, y):
    x2 = x * x
    y2 = y * y
    f = 0.5 * (x2 * x2 - 16.0 * x2 + 5.0 * x + y2 * y2 - 16.0 * y2 + 5.0 * y)
    return f, x * (2.0 * x2 - 16.0) + 2.5, y * (2.0 * y2 - 16.0) + 2.5


@njit(**_JIT)
def styblinski_fgh(prm, x, y):
    f, gx, gy = styblinski_fg(prm, x, y)
    return f, gx, gy, 6.0 * x * x - 16.0, 0.0, 6.0 * y * y - 16.0


# ---- Goldstein-Price ------------------------------------------------------------------------
# The textbook product [1 + (x+y+1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)]
# * [30 + (2x-3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)] factors as A(s) B(t) with
# s = x + y, t = 2x - 3y, A(s) = 3s^4 - 8s^3 - 6s^2 + 24s + 20,
# B(t) = 3t^4 - 16t^3 + 18t^2 + 30.
@njit(**_JIT)
def goldstein_fg(prm, x, y):
    s = x + y
    t = 2.0 * x - 3.0 * y
    A = (((3.0 * s - 8.0) * s - 6.0) * s + 24.0) * s + 20.0
    dA = ((12.0 * s - 24.0) * s - 12.0) * s + 24.0
    B = ((3.0 * t - 16.0) * t + 18.0) * t * t + 30.0
    dB = ((12.0 * t - 48.0) * t + 36.0) * t
    u = dA * B
    v = A * dB
    return A * B, u + 2.0 * v, u - 3.0 * v


@njit(**_JIT)
def goldstein_fgh(prm, x, y):
    s = x + y
    t = 2.0 * x - 3.0 * y
    A = (((3.0 * s - 8.0) * s - 6.0) * s + 24.0) * s + 20.0
    dA = ((12.0 * s - 24.0) * s - 12.0) * s + 24.0
    d2A = (36.0 * s - 48.0) * s - 12.0
    B = ((3.0 * t - 16.0) * t + 18.0) * t * t + 30.0
    dB = ((12.0 * t - 48.0) * t + 36.0) * t
    d2B = (36.0 * t - 96.0) * t + 36.0
    u = dA * B
    v = A * dB
    p = d2A * B
    q = dA * dB
    r = A * d2B
    return (
        A * B,
        u + 2.0 * v,
        u - 3.0 * v,
        p + 4.0 * q + 4.0 * r,
        p - q - 6.0 * r,
        p - 6.0 * q + 9.0 * r,
    )


# ---- McCormick ------------------------------------------------------------------------------
@njit(**_JIT)
def mccormick_fg(prm, x, y):
    s = x + y
    d = x - y
    c = math.cos(s)
    return math.sin(s) + d * d - 1.5 * x + 2.5 * y + 1.0, c + 2.0 * d - 1.5, c - 2.0 * d + 2.5


@njit(**_JIT)
def mccormick_fgh(prm, x, y):
    s = x + y
    d = x - y
    c = math.cos(s)
    sn = math.sin(s)
    f = sn + d * d - 1.5 * x + 2.5 * y + 1.0
    return f, c + 2.0 * d - 1.5, c - 2.0 * d + 2.5, 2.0 - sn, -2.0 - sn, 2.0 - sn


# ---- saddle and monkey saddle ----------------------------------------------------------------
@njit(**_JIT)
def saddle_fg(prm, x, y):
    return x * x - y * y, 2.0 * x, -2.0 * y


@njit(**_JIT)
def saddle_fgh(prm, x, y):
    return x * x - y * y, 2.0 * x, -2.0 * y, 2.0, 0.0, -2.0


@njit(**_JIT)
def monkey_fg(prm, x, y):
    x2 = x * x
    y2 = y * y
    return x * (x2 - 3.0 * y2), 3.0 * (x2 - y2), -6.0 * x * y


@njit(**_JIT)
def monkey_fgh(prm, x, y):
    f, gx, gy = monkey_fg(prm, x, y)
    return f, gx, gy, 6.0 * x, -6.0 * y, -6.0 * x


# ---- two wells ----------------------------------------------------------------------------
# L = q1 q2 / (q1 + q2) with qi = ki/2 |p - ci|^2: zero (a minimum) at both centres, with
# Hessian k1 I at c1 and k2 I at c2, and a single saddle between them. With
# u1 = q2 / S, u2 = q1 / S, S = q1 + q2 and D = (q1 grad q2 - q2 grad q1) / S^2:
# grad L = u1^2 grad q1 + u2^2 grad q2, hess L = (u1^2 k1 + u2^2 k2) I - 2 S D D^T.
@njit(**_JIT)
def twowells_fg(prm, x, y):
    dx1 = x - prm[0]
    dy1 = y - prm[1]
    k1 = prm[2]
    dx2 = x - prm[3]
    dy2 = y - prm[4]
    k2 = prm[5]
    q1 = 0.5 * k1 * (dx1 * dx1 + dy1 * dy1)
    q2 = 0.5 * k2 * (dx2 * dx2 + dy2 * dy2)
    inv = 1.0 / (q1 + q2)
    u1 = q2 * inv
    u2 = q1 * inv
    w1 = u1 * u1 * k1
    w2 = u2 * u2 * k2
    return q1 * u1, w1 * dx1 + w2 * dx2, w1 * dy1 + w2 * dy2


@njit(**_JIT)
def twowells_fgh(prm, x, y):
    dx1 = x - prm[0]
    dy1 = y - prm[1]
    k1 = prm[2]
    dx2 = x - prm[3]
    dy2 = y - prm[4]
    k2 = prm[5]
    q1 = 0.5 * k1 * (dx1 * dx1 + dy1 * dy1)
    q2 = 0.5 * k2 * (dx2 * dx2 + dy2 * dy2)
    S = q1 + q2
    inv = 1.0 / S
    u1 = q2 * inv
    u2 = q1 * inv
    w1 = u1 * u1 * k1
    w2 = u2 * u2 * k2
    # D = (q1 k2 d2 - q2 k1 d1) / S^2 = u2 k2 d2 - u1 k1 d1, all over S
    Dx = (u2 * k2 * dx2 - u1 * k1 * dx1) * inv
    Dy = (u2 * k2 * dy2 - u1 * k1 * dy1) * inv
    d = w1 + w2
    s2 = 2.0 * S
    return (
        q1 * u1,
        w1 * dx1 + w2 * dx2,
        w1 * dy1 + w2 * dy2,
        d - s2 * Dx * Dx,
        -s2 * Dx * Dy,
        d - s2 * Dy * Dy,
    )


# ---- plateau --------------------------------------------------------------------------------
@njit(**_JIT)
def plateau_fg(prm, x, y):
    q = prm[0]
    e = math.exp(-q * (x * x + y * y))
    m = 2.0 * q * e
    return 1.0 - e, m * x, m * y


@njit(**_JIT)
def plateau_fgh(prm, x, y):
    q = prm[0]
    e = math.exp(-q * (x * x + y * y))
    m = 2.0 * q * e
    n = 2.0 * q * m
    return 1.0 - e, m * x, m * y, m - n * x * x, -n * x * y, m - n * y * y


# ---- double well (1-D) ------------------------------------------------------------------------
@njit(**_JIT)
def doublewell_fg(prm, x, y):
    u = x * x - 1.0
    return u * u + prm[0] * x, 4.0 * x * u + prm[0], 0.0


@njit(**_JIT)
def doublewell_fgh(prm, x, y):
    f, gx, gy = doublewell_fg(prm, x, y)
    return f, gx, gy, 12.0 * x * x - 4.0, 0.0, 0.0


# ---- bumpy (1-D) --------------------------------------------------------------------------
@njit(**_JIT)
def bumpy_fg(prm, x, y):
    A = prm[0]
    k = prm[1]
    return 0.1 * x * x + A * math.sin(k * x), 0.2 * x + A * k * math.cos(k * x), 0.0


@njit(**_JIT)
def bumpy_fgh(prm, x, y):
    A = prm[0]
    k = prm[1]
    s = A * math.sin(k * x)
    return 0.1 * x * x + s, 0.2 * x + A * k * math.cos(k * x), 0.0, 0.2 - k * k * s, 0.0, 0.0


# ---- dispatch ---------------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy")
def builtin_fg(sid, prm, x, y):
    if sid == S_QUADFORM:
        return quadform_fg(prm, x, y)
    if sid == S_ROSENBROCK:
        return rosenbrock_fg(prm, x, y)
    if sid == S_PARABOLA:
        return parabola_fg(prm, x, y)
    if sid == S_BEALE:
        return beale_fg(prm, x, y)
    if sid == S_HIMMELBLAU:
        return himmelblau_fg(prm, x, y)
    if sid == S_RASTRIGIN:
        return rastrigin_fg(prm, x, y)
    if sid == S_ACKLEY:
        return ackley_fg(prm, x, y)
    if sid == S_BOOTH:
        return booth_fg(prm, x, y)
    if sid == S_MATYAS:
        return matyas_fg(prm, x, y)
    if sid == S_CAMEL6:
        return camel6_fg(prm, x, y)
    if sid == S_STYBLINSKI:
        return styblinski_fg(prm, x, y)
    if sid == S_GOLDSTEIN:
        return goldstein_fg(prm, x, y)
    if sid == S_MCCORMICK:
        return mccormick_fg(prm, x, y)
    if sid == S_SADDLE:
        return saddle_fg(prm, x, y)
    if sid == S_MONKEY:
        return monkey_fg(prm, x, y)
    if sid == S_TWOWELLS:
        return twowells_fg(prm, x, y)
    if sid == S_PLATEAU:
        return plateau_fg(prm, x, y)
    if sid == S_DOUBLEWELL:
        return doublewell_fg(prm, x, y)
    if sid == S_BUMPY:
        return bumpy_fg(prm, x, y)
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
    if sid == S_BEALE:
        return beale_fgh(prm, x, y)
    if sid == S_HIMMELBLAU:
        return himmelblau_fgh(prm, x, y)
    if sid == S_RASTRIGIN:
        return rastrigin_fgh(prm, x, y)
    if sid == S_ACKLEY:
        return ackley_fgh(prm, x, y)
    if sid == S_BOOTH:
        return booth_fgh(prm, x, y)
    if sid == S_MATYAS:
        return matyas_fgh(prm, x, y)
    if sid == S_CAMEL6:
        return camel6_fgh(prm, x, y)
    if sid == S_STYBLINSKI:
        return styblinski_fgh(prm, x, y)
    if sid == S_GOLDSTEIN:
        return goldstein_fgh(prm, x, y)
    if sid == S_MCCORMICK:
        return mccormick_fgh(prm, x, y)
    if sid == S_SADDLE:
        return saddle_fgh(prm, x, y)
    if sid == S_MONKEY:
        return monkey_fgh(prm, x, y)
    if sid == S_TWOWELLS:
        return twowells_fgh(prm, x, y)
    if sid == S_PLATEAU:
        return plateau_fgh(prm, x, y)
    if sid == S_DOUBLEWELL:
        return doublewell_fgh(prm, x, y)
    if sid == S_BUMPY:
        return bumpy_fgh(prm, x, y)
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
    elif sid == S_BEALE:
        for i in range(n):
            f[i], gx[i], gy[i] = beale_fg(prm, xs[i], ys[i])
    elif sid == S_HIMMELBLAU:
        for i in range(n):
            f[i], gx[i], gy[i] = himmelblau_fg(prm, xs[i], ys[i])
    elif sid == S_RASTRIGIN:
        for i in range(n):
            f[i], gx[i], gy[i] = rastrigin_fg(prm, xs[i], ys[i])
    elif sid == S_ACKLEY:
        for i in range(n):
            f[i], gx[i], gy[i] = ackley_fg(prm, xs[i], ys[i])
    elif sid == S_BOOTH:
        for i in range(n):
            f[i], gx[i], gy[i] = booth_fg(prm, xs[i], ys[i])
    elif sid == S_MATYAS:
        for i in range(n):
            f[i], gx[i], gy[i] = matyas_fg(prm, xs[i], ys[i])
    elif sid == S_CAMEL6:
        for i in range(n):
            f[i], gx[i], gy[i] = camel6_fg(prm, xs[i], ys[i])
    elif sid == S_STYBLINSKI:
        for i in range(n):
            f[i], gx[i], gy[i] = styblinski_fg(prm, xs[i], ys[i])
    elif sid == S_GOLDSTEIN:
        for i in range(n):
            f[i], gx[i], gy[i] = goldstein_fg(prm, xs[i], ys[i])
    elif sid == S_MCCORMICK:
        for i in range(n):
            f[i], gx[i], gy[i] = mccormick_fg(prm, xs[i], ys[i])
    elif sid == S_SADDLE:
        for i in range(n):
            f[i], gx[i], gy[i] = saddle_fg(prm, xs[i], ys[i])
    elif sid == S_MONKEY:
        for i in range(n):
            f[i], gx[i], gy[i] = monkey_fg(prm, xs[i], ys[i])
    elif sid == S_TWOWELLS:
        for i in range(n):
            f[i], gx[i], gy[i] = twowells_fg(prm, xs[i], ys[i])
    elif sid == S_PLATEAU:
        for i in range(n):
            f[i], gx[i], gy[i] = plateau_fg(prm, xs[i], ys[i])
    elif sid == S_DOUBLEWELL:
        for i in range(n):
            f[i], gx[i], gy[i] = doublewell_fg(prm, xs[i], ys[i])
    elif sid == S_BUMPY:
        for i in range(n):
            f[i], gx[i], gy[i] = bumpy_fg(prm, xs[i], ys[i])
    else:
        for i in range(n):
            f[i], gx[i], gy[i] = builtin_fg(sid, prm, xs[i], ys[i])


# ---- compile-time selection ------------------------------------------------------------
# id -> scalar functions, for kernels specialised on one surface (``field.point_fg``...)
FG = {
    S_QUADFORM: quadform_fg, S_ROSENBROCK: rosenbrock_fg, S_PARABOLA: parabola_fg,
    S_BEALE: beale_fg, S_HIMMELBLAU: himmelblau_fg, S_RASTRIGIN: rastrigin_fg,
    S_ACKLEY: ackley_fg, S_BOOTH: booth_fg, S_MATYAS: matyas_fg, S_CAMEL6: camel6_fg,
    S_STYBLINSKI: styblinski_fg, S_GOLDSTEIN: goldstein_fg, S_MCCORMICK: mccormick_fg,
    S_SADDLE: saddle_fg, S_MONKEY: monkey_fg, S_TWOWELLS: twowells_fg,
    S_PLATEAU: plateau_fg, S_DOUBLEWELL: doublewell_fg, S_BUMPY: bumpy_fg,
}
FGH = {
    S_QUADFORM: quadform_fgh, S_ROSENBROCK: rosenbrock_fgh, S_PARABOLA: parabola_fgh,
    S_BEALE: beale_fgh, S_HIMMELBLAU: himmelblau_fgh, S_RASTRIGIN: rastrigin_fgh,
    S_ACKLEY: ackley_fgh, S_BOOTH: booth_fgh, S_MATYAS: matyas_fgh, S_CAMEL6: camel6_fgh,
    S_STYBLINSKI: styblinski_fgh, S_GOLDSTEIN: goldstein_fgh, S_MCCORMICK: mccormick_fgh,
    S_SADDLE: saddle_fgh, S_MONKEY: monkey_fgh, S_TWOWELLS: twowells_fgh,
    S_PLATEAU: plateau_fgh, S_DOUBLEWELL: doublewell_fgh, S_BUMPY: bumpy_fgh,
}
