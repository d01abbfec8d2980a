"""Saddle episodes: the stretches of a run spent near a saddle, found and put in words.

``saddle_episodes(surface, positions)`` segments a trajectory into the stays near the
saddle-like critical points of :func:`simulator.core.critical_points.find_critical_points`
(saddles, and degenerate points with lower ground nearby such as the monkey saddle),
vectorised over the run's rows; ``describe_episode`` turns one stay into the sentence the
GUI shows. ``Trajectory.saddle_episodes`` calls it for a recorded run.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from dataclasses import dataclass

import numpy as np

from .critical_points import CriticalPoint, find_critical_points
from .diagnostics import _point_text
from .surface import Surface

__all__ = [
    "EPISODE_RADIUS",
    "SaddleEpisode",
    "describe_episode",
    "saddle_episodes",
]

EPISODE_RADIUS = 0.03
"""Default saddle-episode radius as a fraction of the domain diagonal (3 %)."""

# surface -> (its critical points list, the saddles' default episode radii); the radii
# compare every saddle with every critical point: 5 ms a run on Rastrigin's lattice
_radii_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class SaddleEpisode:
    """A stretch of a run spent near one saddle.

    Made by :func:`saddle_episodes` (and ``Trajectory.saddle_episodes``); the parameters
    are also the attributes.

    Parameters
    ----------
    enter : int
        The first step (row of ``positions``) within the radius.
    exit : int or None
        The first step outside again, or None if the run ends still near the saddle.
    saddle : CriticalPoint
    last : int
        The last step within the radius (``exit - 1`` when the run left).
    """

    enter: int
    exit: int | None
    saddle: CriticalPoint
    last: int

    @property
    def steps(self) -> int:
        """How many steps the run spent near the saddle (``last - enter + 1``)."""
        return self.last - self.enter + 1

    def __repr__(self) -> str:
        return (
            f"SaddleEpisode(enter={self.enter}, exit={self.exit}, "
            f"saddle={_point_text(self.saddle.position)}, steps={self.steps})"
        )


def _assign_nearest(cols: list[np.ndarray], S: np.ndarray, R: np.ndarray) -> np.ndarray:
    """For each position the index of the nearest saddle ``k`` with the position inside
    its radius ``R[k]``, else -1.

    ``cols`` holds the position coordinates as 1-D arrays (views of the columns are
    fine: the work is elementwise, never a reduction along rows); they must be finite.
    """
    n = cols[0].shape[0]
    dim = len(cols)
    if len(S) == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64)
    R = np.asarray(R, dtype=np.float64)
    x = cols[0]
    if dim == 1:  # curves have few saddle-like points: one pass each
        best = np.full(n, -1, dtype=np.int64)
        bestd = np.full(n, np.inf)
        for k in range(len(S)):
            d = np.abs(x - S[k, 0])
            ok = (d <= R[k]) & (d < bestd)
            best[ok] = k
            bestd[ok] = d[ok]
        return best
    # Surfaces: hash positions into square cells of side ~max(R)/4. Each cell lists the
    # saddles whose disc touches it (usually 0 or 1, a few on dense lattices
    # like Rastrigin's); a cell lying wholly inside the disc of its only saddle needs no
    # distance check. Cost: ~15 passes over the positions plus a few per candidate.
    y = cols[1]
    sx, sy = S[:, 0], S[:, 1]
    r = float(R.max())
    ox, oy = sx.min() - r, sy.min() - r
    span = max(sx.max() - ox + r, sy.max() - oy + r)
    side = max(r / 4.0, span / 1000.0)  # at most ~1e6 cells
    nx = int((sx.max() + r - ox) / side) + 1
    ny = int((sy.max() + r - oy) / side) + 1
    reach = int(math.ceil(r / side)) + 1
    off = np.arange(-reach, reach + 1)
    scx = np.floor((sx - ox) / side).astype(np.int64)
    scy = np.floor((sy - oy) / side).astype(np.int64)
    cx = scx[:, None, None] + off[None, :, None]  # (k, m, 1)
    cy = scy[:, None, None] + off[None, None, :]  # (k, 1, m)
    cx, cy = np.broadcast_arrays(cx, cy)
    own = np.broadcast_to(np.arange(len(S))[:, None, None], cx.shape)
    x0, y0 = ox + cx * side, oy + cy * side  # cell rectangles [x0, x0 + side] x ...
    px, py = sx[:, None, None], sy[:, None, None]
    rk = R[:, None, None]
    slack = 1e-9 * side
    dxn = np.maximum(np.maximum(x0 - px, px - (x0 + side)), 0.0)
    dyn = np.maximum(np.maximum(y0 - py, py - (y0 + side)), 0.0)
    touch = (dxn * dxn + dyn * dyn <= (rk + slack) ** 2) & (cx >= 0) & (cx < nx)
    touch &= (cy >= 0) & (cy < ny)
    dxf = np.maximum(np.abs(x0 - px), np.abs(x0 + side - px)) + slack
    dyf = np.maximum(np.abs(y0 - py), np.abs(y0 + side - py)) + slack
    full = dxf * dxf + dyf * dyf <= rk * rk
    ckey = ((cx + 1) * (ny + 2) + (cy + 1))[touch]
    cown = own[touch]
    cfull = full[touch]
    o = np.argsort(ckey, kind="stable")
    ckey, cown, cfull = ckey[o], cown[o], cfull[o]
    ukeys, start, count = np.unique(ckey, return_index=True, return_counts=True)
    # cell -> (row in the unique table) + 1, 0 for no saddle; a direct owner for cells
    # wholly inside the disc of their only saddle
    lut = np.zeros((nx + 2) * (ny + 2), dtype=np.int32)
    lut[ukeys] = np.arange(1, len(ukeys) + 1)
    # per table row (with a sentinel row 0 for "no saddle"): the direct owner, or -1
    direct = np.full(len(ukeys) + 1, -1, dtype=np.int64)
    single = (count == 1) & cfull[start]
    direct[1:][single] = cown[start][single]
    check = np.concatenate([[False], ~single])

    def cell(c, o0, n_):
        t = c - o0
        t *= 1.0 / side
        np.floor(t, out=t)
        np.clip(t, -1.0, float(n_), out=t)
        t += 1.0
        return t

    kx = cell(x, ox, nx)
    kx *= ny + 2
    kx += cell(y, oy, ny)
    key = kx.astype(np.int32 if lut.size < 2**31 else np.int64)
    del kx
    rowp1 = lut[key]
    best = direct[rowp1]  # -1 outside every disc, the owner where no check is needed
    sub = np.flatnonzero(check[rowp1])
    if sub.size == 0:
        return best
    row = rowp1[sub] - 1
    qx, qy = x[sub], y[sub]
    R2 = R * R
    bestd = np.full(sub.size, np.inf)
    bk = np.full(sub.size, -1, dtype=np.int64)
    cnt = count[row]
    st = start[row]
    for t in range(int(cnt.max())):
        cand = np.flatnonzero(cnt > t) if t else np.arange(sub.size)
        k = cown[st[cand] + t]
        d2 = (qx[cand] - sx[k]) ** 2 + (qy[cand] - sy[k]) ** 2
        ok = (d2 <= R2[k]) & (d2 < bestd[cand])
        c = cand[ok]
        bestd[c] = d2[ok]
        bk[c] = k[ok]
    best[sub] = bk
    return best


def saddle_episodes(
    surface: Surface,
    positions,
    critical_points: list[CriticalPoint] | None = None,
    radius: float | None = None,
    min_steps: int = 10,
) -> list[SaddleEpisode]:
    """The stretches of a trajectory spent near saddles.

    Parameters
    ----------
    surface : Surface
    positions : array_like, shape (n, dim) (or (n,) for a curve)
        A run's positions; row i is the position after step i (row 0 is the start).
        Non-finite rows (a diverged run) are never near anything.
    critical_points : list of CriticalPoint, optional
        Default :func:`find_critical_points` of ``surface`` (cached). Only saddle-like
        points are used: saddles, and degenerate points with lower ground nearby (the
        monkey saddle).
    radius : float, optional
        How near counts as "near", the same for every saddle. Default, per saddle: 3 %
        of the domain diagonal (``EPISODE_RADIUS * surface.scale``, about the size of a
        marker on the contour map), but never more than half the distance to the
        nearest other critical point (on Rastrigin's dense lattice a fixed 3 % would
        cover nearly the whole domain).
    min_steps : int
        Shortest episode reported (consecutive rows within the radius).

    Returns
    -------
    list of SaddleEpisode
        Sorted by ``enter``. A row near two saddles counts for the nearer one.

    Examples
    --------
    Gradient descent started on the stable manifold of ``x^2 - y^2`` stays on it:

    >>> import simulator as sim
    >>> sad = sim.get_surface("saddle")
    >>> run = sim.simulate(sad, sim.SGD(lr=0.1), start=(1.0, 0.0), steps=300)
    >>> sim.saddle_episodes(sad, run.positions)
    [SaddleEpisode(enter=8, exit=None, saddle=(0, 0), steps=293)]
    """
    pos = np.asarray(positions, dtype=np.float64)
    if surface.dim == 1 and pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] != surface.dim:
        raise ValueError(f"positions must have shape (n, {surface.dim}), got {np.shape(positions)}")
    cps = find_critical_points(surface) if critical_points is None else critical_points
    saddles = [c for c in cps if c.saddle_like]
    n = pos.shape[0]
    if not saddles or n == 0:
        return []
    S = np.array([c.position for c in saddles], dtype=np.float64).reshape(-1, surface.dim)
    if radius is None:
        hit = _radii_cache.get(surface)
        if hit is not None and len(hit[0]) == len(cps) and all(
                a is b for a, b in zip(hit[0], cps)):  # the same points (a list's copy)
            R = hit[1]
        else:
            R = np.full(len(S), EPISODE_RADIUS * surface.scale)
            P = np.array([c.position for c in cps], dtype=np.float64).reshape(-1, surface.dim)
            if len(P) > 1:  # never reach more than halfway to another critical point
                d = np.sqrt(np.sum((S[:, None, :] - P[None, :, :]) ** 2, axis=-1))
                d[d == 0.0] = np.inf
                R = np.minimum(R, 0.5 * d.min(axis=1))
            with contextlib.suppress(TypeError):  # a surface that cannot be weakly held
                _radii_cache[surface] = (tuple(cps), R)
    else:
        R = np.full(len(S), float(radius))
    r = float(R.max())
    cols = [pos[:, k] for k in range(pos.shape[1])]  # views; copied only to edit
    bl = np.array([c.min() for c in cols])
    bh = np.array([c.max() for c in cols])
    if not (np.all(np.isfinite(bl)) and np.all(np.isfinite(bh))):
        # a diverged run: park its non-finite rows far from every saddle
        bad = ~np.isfinite(cols[0])
        for c in cols[1:]:
            bad |= ~np.isfinite(c)
        if bad.all():
            return []
        cols = [c.copy() for c in cols]  # never write into the caller's array
        bl = np.array([c[~bad].min() for c in cols])
        bh = np.array([c[~bad].max() for c in cols])
        for c, lo_ in zip(cols, bl):
            c[bad] = lo_ - 10.0 * r - 1.0
    # keep only saddles within reach of the run's bounding box
    Rc = R[:, None]
    near = np.flatnonzero(np.all((S >= bl - Rc) & (S <= bh + Rc), axis=1))
    if near.size == 0:
        return []
    idx = _assign_nearest(cols, S[near], R[near])
    # runs of equal idx
    change = np.flatnonzero(idx[1:] != idx[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    lab = idx[starts]
    sel = (lab >= 0) & (ends - starts >= max(1, int(min_steps)))
    lab = near[np.maximum(lab, 0)]
    out = []
    for s0, e0, k in zip(starts[sel].tolist(), ends[sel].tolist(), lab[sel].tolist()):
        out.append(
            SaddleEpisode(enter=s0, exit=None if e0 >= n else e0, saddle=saddles[k], last=e0 - 1)
        )
    return out


def describe_episode(ep: SaddleEpisode, lane_name: str) -> str:
    """A sentence for the GUI saying where and how long a run stayed near a saddle.

    For example ``"Momentum lingered near the saddle at (0, 0) for steps 40-309 (270
    steps)"`` or ``"GD sat on the saddle at (0, 0) from step 12 to the end"``.

    Parameters
    ----------
    ep : SaddleEpisode
    lane_name : str
        The optimizer lane's display name.

    Returns
    -------
    str

    Examples
    --------
    >>> import simulator as sim
    >>> run = sim.simulate(sim.get_surface("saddle"), sim.SGD(lr=0.1), start=(1.0, 0.0),
    ...                    steps=300)
    >>> [sim.describe_episode(e, "GD") for e in run.saddle_episodes]
    ['GD sat on the saddle at (0, 0) from step 8 to the end']
    """
    what = "saddle" if ep.saddle.kind == "saddle" else "flat saddle"
    where = _point_text(ep.saddle.position)
    if ep.exit is None:
        return f"{lane_name} sat on the {what} at {where} from step {ep.enter} to the end"
    return (
        f"{lane_name} lingered near the {what} at {where} for steps {ep.enter}-{ep.last} "
        f"({ep.steps} steps)"
    )

