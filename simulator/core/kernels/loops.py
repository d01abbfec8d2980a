"""The compiled kernels: evaluation over many points, one trajectory, many trajectories.

These are the only entry points the rest of LossLab calls (through ``engine`` and
``surface``). Each takes a surface spec (``field``), so each is compiled once for every
surface and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .field import fg_block, fgh

BLOCK = 256


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def eval_points(spec, xs, ys, order, out, nreg):
    """Evaluate at ``len(xs)`` points into ``out`` (n, 6): f, gx, gy, hxx, hxy, hyy.

    Orders 0 and 1 fill columns 0..2 (Hessian columns are left as nan); order 2 fills all.
    """
    n = xs.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    for blk in prange(nblocks):
        i0 = blk * BLOCK
        m = min(BLOCK, n - i0)
        if order >= 2:
            regs = np.empty(nreg)
            for i in range(i0, i0 + m):
                f, gx, gy, hxx, hxy, hyy = fgh(spec, xs[i], ys[i], regs)
                out[i, 0] = f
                out[i, 1] = gx
                out[i, 2] = gy
                out[i, 3] = hxx
                out[i, 4] = hxy
                out[i, 5] = hyy
        else:
            regs2d = np.empty((nreg, BLOCK))
            f = np.empty(BLOCK)
            gx = np.empty(BLOCK)
            gy = np.empty(BLOCK)
            fg_block(spec, xs[i0 : i0 + m], ys[i0 : i0 + m], f, gx, gy, m, regs2d)
            for k in range(m):
                out[i0 + k, 0] = f[k]
                out[i0 + k, 1] = gx[k]
                out[i0 + k, 2] = gy[k]
                out[i0 + k, 3] = np.nan
                out[i0 + k, 4] = np.nan
                out[i0 + k, 5] = np.nan
