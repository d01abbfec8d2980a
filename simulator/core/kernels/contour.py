"""Marching squares: the iso-lines of a sampled surface as line segments.

One kernel for the 2-D map's contour lines and the SVG export. Rastrigin's map has about
40 000 segments: vectorised numpy took 25 ms of the GUI thread for them (more while the
critical-point search held the interpreter); this loop takes 2.5 ms and releases the GIL.

Cells are the squares between four samples, corners numbered counter-clockwise
0 = (i, j), 1 = (i+1, j), 2 = (i+1, j+1), 3 = (i, j+1); edge ``e`` joins corner ``e`` and
corner ``e + 1``: bottom, right, top, left.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit


@njit(cache=True, nogil=True, error_model="numpy")
def marching_squares(z, xs, ys, levels):
    """Segments of the lines ``z == level`` for each level, in pairs of end points.

    ``z[j, i]`` is the value at ``(xs[i], ys[j])``; ``z``, ``xs``, ``ys`` and ``levels`` are
    float64. A level passes through a cell when ``min(corners) <= level < max(corners)``.
    A cell with an undefined (non-finite) corner draws nothing, so lines stop at the edge
    of a gap. A saddle cell (all four edges crossed) joins its edges by the value at its
    centre. Returns ``(x, y)``: segment ``k`` runs from ``(x[2k], y[2k])`` to
    ``(x[2k+1], y[2k+1])``; segments come level by level, cells row by row.
    """
    ny, nx = z.shape
    mx = nx - 1
    ncell = (ny - 1) * mx if ny > 1 and nx > 1 else 0
    # each cell's lowest and highest corner (nan when a corner is undefined: no level
    # compares true with it, so the cell is skipped)
    cmin = np.empty(ncell)
    cmax = np.empty(ncell)
    for j in range(ny - 1):
        for i in range(mx):
            a = z[j, i]
            b = z[j, i + 1]
            c = z[j + 1, i + 1]
            d = z[j + 1, i]
            k = j * mx + i
            if np.isfinite(a) and np.isfinite(b) and np.isfinite(c) and np.isfinite(d):
                cmin[k] = min(min(a, b), min(c, d))
                cmax[k] = max(max(a, b), max(c, d))
            else:
                cmin[k] = np.nan
                cmax[k] = np.nan
    # pass 1: how many segments (a saddle cell has two)
    n = 0
    for lev in levels:
        for k in range(ncell):
            if cmin[k] <= lev < cmax[k]:
                j = k // mx
                i = k - j * mx
                u0 = z[j, i] > lev
                u1 = z[j, i + 1] > lev
                u2 = z[j + 1, i + 1] > lev
                u3 = z[j + 1, i] > lev
                n += 2 if (u0 != u1 and u1 != u2 and u2 != u3) else 1
    out_x = np.empty(2 * n)
    out_y = np.empty(2 * n)
    v = np.empty(4)
    cx = np.empty(4)
    cy = np.empty(4)
    ex = np.empty(4)
    ey = np.empty(4)
    above = np.empty(4, dtype=np.bool_)
    # pass 2: the end points, interpolated linearly along the crossed edges
    m = 0
    for lev in levels:
        for k in range(ncell):
            if not (cmin[k] <= lev < cmax[k]):
                continue
            j = k // mx
            i = k - j * mx
            v[0] = z[j, i]
            v[1] = z[j, i + 1]
            v[2] = z[j + 1, i + 1]
            v[3] = z[j + 1, i]
            cx[0] = xs[i]
            cx[1] = xs[i + 1]
            cx[2] = xs[i + 1]
            cx[3] = xs[i]
            cy[0] = ys[j]
            cy[1] = ys[j]
            cy[2] = ys[j + 1]
            cy[3] = ys[j + 1]
            count = 0
            first = -1
            last = -1
            for e in range(4):
                above[e] = v[e] > lev
            for e in range(4):
                q = (e + 1) % 4
                if above[e] != above[q]:
                    t = (lev - v[e]) / (v[q] - v[e])
                    ex[e] = cx[e] + t * (cx[q] - cx[e])
                    ey[e] = cy[e] + t * (cy[q] - cy[e])
                    count += 1
                    if first < 0:
                        first = e
                    last = e
            if count == 2:
                out_x[m] = ex[first]
                out_y[m] = ey[first]
                out_x[m + 1] = ex[last]
                out_y[m + 1] = ey[last]
                m += 2
            else:  # four crossings: the centre decides which corners are cut off
                centre = (((v[0] + v[1]) + v[2]) + v[3]) / 4.0
                if (centre > lev) == above[0]:
                    # corners 1 and 3 cut off: edges 0-1 and 2-3
                    p1, q1, p2, q2 = 0, 1, 2, 3
                else:
                    # corners 0 and 2 cut off: edges 3-0 and 1-2
                    p1, q1, p2, q2 = 3, 0, 1, 2
                out_x[m] = ex[p1]
                out_y[m] = ey[p1]
                out_x[m + 1] = ex[q1]
                out_y[m + 1] = ey[q1]
                out_x[m + 2] = ex[p2]
                out_y[m + 2] = ey[p2]
                out_x[m + 3] = ex[q2]
                out_y[m + 3] = ey[q2]
                m += 4
    return out_x, out_y
