"""Plot arithmetic the views and the SVG export share (no Qt, no pyqtgraph).

Height scales (linear or log), colour and contour levels, clipping far-away points,
the step a run shows at a frame and where a diverged run is marked: numbers in,
numbers out, so :mod:`simulator.export.svg` draws the same map as the app's contour
view without importing the GUI.
"""

from __future__ import annotations

import numpy as np


def lane_step(run, frame: int) -> int:
    """The step a run is at for ``frame``: runs that ended early stay at their end."""
    n = len(run.positions)
    return int(max(0, min(int(frame), n - 1)))


def diverged_at(run) -> int | None:
    """The step a diverged run is marked at (its last finite step, or where the loss
    started to blow up when the run went on); None when the run did not diverge."""
    if getattr(run, "status", None) != "diverged":
        return None
    last = len(run.positions) - 1
    step = getattr(run, "status_step", None)
    return last if step is None else int(max(0, min(int(step), last)))


def divergence_point(run, domain, pad: float = 0.02) -> np.ndarray | None:
    """Where a view marks a diverged run: the last point up to :func:`diverged_at` that
    lies in ``domain`` (a little padded), where it was last seen, or the start clipped
    into the domain; None when the run did not diverge. A run with a learning rate of
    1e100 leaves the map in its first step: its mark is at its start."""
    k = diverged_at(run)
    if k is None:
        return None
    p = np.asarray(run.positions, dtype=float)[: k + 1]
    lo = np.array([a for a, _ in domain], dtype=float)
    hi = np.array([b for _, b in domain], dtype=float)
    m = pad * (hi - lo)
    with np.errstate(invalid="ignore"):
        inside = np.all(np.isfinite(p) & (p >= lo - m) & (p <= hi + m), axis=1)
    i = int(np.flatnonzero(inside)[-1]) if inside.any() else 0
    q = np.where(np.isfinite(p[i]), p[i], 0.5 * (lo + hi))
    return np.clip(q, lo - m, hi + m)


def finite_range(values) -> tuple[float, float]:
    """(min, max) of the finite values; (0, 1) when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


class HeightScale:
    """Maps loss values to displayed heights/colours, linear or logarithmic.

    The log scale is ``log10(L - L_min + eps)`` with ``L_min`` the smallest finite value
    on the grid, so surfaces that go negative (or touch zero) still get a log scale whose
    low end is the valley floor. ``eps`` is a millionth of the grid's value range: small
    enough to keep the valley detail, large enough that one grid point sitting exactly on
    the minimum does not stretch the colour range by decades.
    """

    def __init__(self, grid_values, log: bool):
        self.log = bool(log)
        lo, hi = finite_range(grid_values)
        self.fmin = lo
        self.fmax = hi
        self.eps = max(1e-12, 1e-6 * (hi - lo))

    def __call__(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if not self.log:
            return v.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log10(np.maximum(v - self.fmin, 0.0) + self.eps)

    def label(self, name: str = "L") -> str:
        return f"log10({name} - min)" if self.log else name


def robust_levels(t) -> tuple[float, float]:
    """Colour levels for transformed grid values: ignore the few most extreme pixels."""
    v = np.asarray(t, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo = float(np.percentile(v, 0.5))
    hi = float(v.max())
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def contour_levels(t, n: int = 18) -> np.ndarray:
    """Evenly spaced levels over the (transformed) values, excluding the two ends."""
    lo, hi = robust_levels(t)
    return np.linspace(lo, hi, n + 2)[1:-1]


def clip_far(points: np.ndarray, domain, factor: float = 20.0) -> np.ndarray:
    """Clip coordinates to ``factor`` domain widths around the domain.

    Diverging runs reach 1e30 and beyond; Qt's painter misdraws (or stalls on) lines
    that long, and nothing past a few widths is visible anyway.
    """
    p = np.array(points, dtype=np.float64, copy=True)
    for d, (lo, hi) in enumerate(domain):
        w = hi - lo
        col = p[:, d]
        col[~np.isfinite(col)] = np.nan
        np.clip(col, lo - factor * w, hi + factor * w, out=col)
    return p


def symlog(y, c: float) -> np.ndarray:
    """The symmetric log of ``y``: ``sign(y) * log10(1 + |y| / c)``.

    Linear (slope ``1 / (c ln 10)``) within about ``c`` of zero and logarithmic beyond,
    on both sides: a loss that falls without bound (a saddle's escaping runs reach
    -1e12) and one that stays near zero are both readable on one axis. ``c`` > 0 is the
    linear threshold; nan and inf stay nan and +-inf."""
    y = np.asarray(y, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.sign(y) * np.log10(1.0 + np.abs(y) / c)


def symlog_inverse(t, c: float) -> np.ndarray:
    """The value whose ``symlog`` is ``t`` (for axis labels)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(over="ignore"):
        return np.sign(t) * c * (10.0 ** np.abs(t) - 1.0)


def symlog_threshold(first_losses) -> float:
    """A linear threshold for ``symlog`` from the runs' first losses: a tenth of the
    largest one's decade (the start's loss then sits a decade into the log part), or 1
    when they are all zero or undefined."""
    a = np.abs(np.asarray(first_losses, dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    if not len(a):
        return 1.0
    return float(10.0 ** np.floor(np.log10(a.max())) / 10.0)


MAX_FIELD_FACTOR = 4.0  # the coloured field grows to at most this many domain widths


def paths_extent(paths, domain, max_factor: float = MAX_FIELD_FACTOR,
                 snap: float = 0.25):
    """The region a map should colour so that the paths stay on it: the domain and
    every finite point of ``paths`` (arrays of shape (n, >= 2)), at most ``max_factor``
    domain widths across (centred on the domain), each side snapped outwards to a
    multiple of ``snap`` domain widths (a path that moves a little does not ask for a
    new field). Returns ``((x0, x1), (y0, y1))``; the domain itself when every path
    stays on it."""
    out = []
    for d, (lo, hi) in enumerate(domain[:2]):
        w = hi - lo
        c = 0.5 * (lo + hi)
        limit_lo, limit_hi = c - 0.5 * max_factor * w, c + 0.5 * max_factor * w
        a, b = lo, hi
        for p in paths:
            col = np.asarray(p, dtype=float)[:, d]
            col = col[np.isfinite(col)]
            if len(col):
                a, b = min(a, float(col.min())), max(b, float(col.max()))
        a, b = max(a, limit_lo), min(b, limit_hi)
        step = snap * w
        if a < lo:
            a = max(limit_lo, lo - np.ceil((lo - a) / step - 1e-9) * step)
        if b > hi:
            b = min(limit_hi, hi + np.ceil((b - hi) / step - 1e-9) * step)
        out.append((float(a), float(b)))
    return tuple(out)
