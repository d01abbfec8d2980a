"""L-BFGS's scalar helpers, as torch.optim.lbfgs computes them.

The L-BFGS step itself (two-loop recursion, fixed step or strong-Wolfe line search, the
stopping tests) is the trajectory kernel ``_make_lbfgs_trajectory`` in ``loops``, since
it evaluates the surface several times per step. Here are the pieces it shares:
Python's ``min``/``max`` (which keep the first argument on ties and NaN), and
``_cubic_interpolate`` from torch (itself ported from minFunc's ``polyinterp``).
"""

from __future__ import annotations

import math

from ._jit import njit

_INLINE = dict(cache=True, nogil=True, error_model="numpy", inline="always")

C1 = 1e-4  # torch's _strong_wolfe defaults: sufficient decrease
C2 = 0.9  # curvature


@njit(**_INLINE)
def pymin(a, b):
    """Python's ``min(a, b)``: ``b`` only if ``b < a``."""
    return b if b < a else a


@njit(**_INLINE)
def pymax(a, b):
    """Python's ``max(a, b)``: ``b`` only if ``b > a``."""
    return b if b > a else a


@njit(**_INLINE)
def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounded, lo, hi):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to
    [lo, hi] when ``bounded`` (else to the interval between x1 and x2); the middle of
    the interval when the cubic has no real minimiser."""
    if bounded:
        xmin_bound = lo
        xmax_bound = hi
    elif x1 <= x2:
        xmin_bound = x1
        xmax_bound = x2
    else:
        xmin_bound = x2
        xmax_bound = x1
    d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square >= 0.0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
        return pymin(pymax(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0
