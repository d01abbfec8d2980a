"""Axis helpers the plots and the panels share: a log axis with readable ticks, round
axis ranges, refitting an axis to new data, and peak-preserving decimation of long
series (one module outside ``views`` and ``panels``, so neither imports the other).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

LOG_TOP = 151.0  # no drawn value is above 1e150 (see _finite): a log axis ends here
MAX_DECADES = 60  # a log axis shows at most this many decades below the largest value


class LogAxis(pg.AxisItem):
    """An axis whose log scale stays readable over less than two decades.

    pyqtgraph labels every 1..9 x 10^n tick when a log axis spans too little for whole
    decades; on a plot 70 px high (a loss gap from 2 to 80: all lanes in Rastrigin's
    local minima) those 15 labels were drawn on top of each other. Here the labelled
    ticks are the first of 1, 1-3, 1-2-5, 1-2-4-6-8 or 1..9 x 10^n with three labels
    inside the axis, or else the densest whose labels are ``LOG_LABEL_PX`` apart; the
    other minor ticks stay as unlabelled marks.

    Over many decades the 2..9 x 10^n marks are left out where a decade is shorter
    than ``MINOR_DECADE_PX``: pyqtgraph drew all of them (a diverged lane's 15 decades
    on 78 px: 135 marks as one grey band, 5 ms an axis repaint during a drag).
    """

    LOG_LABEL_PX = 16  # tick labels are 11-12 px high
    MINOR_DECADE_PX = 24  # the 8 marks of a decade at least 1 px apart at its top
    STEPS = ((1,), (1, 3), (1, 2, 5), (1, 2, 4, 6, 8), tuple(range(1, 10)))

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802,N803 - pyqtgraph
        ticks = [(spacing, t) for spacing, t in stdTicks if spacing >= 1.0]
        if ticks and np.isfinite(maxVal - minVal) and size < self.MINOR_DECADE_PX * (
                maxVal - minVal):
            return ticks  # whole decades, no room for the marks between them
        if ticks or not (np.isfinite(minVal) and np.isfinite(maxVal)) or maxVal <= minVal:
            # whole decades are labelled: pyqtgraph's own ticks (minors unlabelled
            # where they would crowd)
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        decades = range(int(np.floor(minVal)), int(np.ceil(maxVal)) + 1)
        # pyqtgraph drops a label that would stick out of the axis: near the ends a tick
        # is drawn without its label, so only the inner ones count
        margin = (maxVal - minVal) * self.LOG_LABEL_PX / 2 / max(size, 1.0)

        def marks(mult):
            return [v + np.log10(m) for v in decades for m in mult
                    if minVal <= v + np.log10(m) <= maxVal]

        px = size / (maxVal - minVal)  # pixels a decade

        def shown(vals):
            return [x for x in vals if minVal + margin <= x <= maxVal - margin]

        def fits(vals):
            return bool(np.all(np.diff(shown(vals)) * px >= self.LOG_LABEL_PX))

        labelled = marks(self.STEPS[0])
        for mult in self.STEPS:
            vals = marks(mult)
            if not fits(vals):
                break
            labelled = vals
            if len(shown(vals)) >= 3:
                break
        rest = [x for x in marks(self.STEPS[-1]) if x not in labelled]
        return [(None, labelled), (None, rest)]


def _short(v: float) -> str:
    """A tick label: 0, 0.5, 20, -300, 1e4, -1e12 (powers of ten past 1e4 as 1eN)."""
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else ""
    e = int(np.round(np.log10(abs(v))))
    if abs(abs(v) / 10.0**e - 1) < 1e-6 and (e >= 4 or e <= -3):
        return f"{'-' if v < 0 else ''}1e{e}"
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.2g}"


class SymLogAxis(LogAxis):
    """A log axis that can also show a symmetric-log scale.

    With ``linthresh`` None it is a :class:`LogAxis` (the loss gap). With a threshold
    ``c`` the plotted values are ``symlog(L, c)`` (``simulator.core.plotmath``), drawn
    on a linear plot, and the ticks are placed at 0 and +-c 10^n and labelled with the
    loss itself: the loss of a surface without a minimum, down to -1e12, on one axis.
    """

    TICK_PX = 18  # labelled ticks at least this far apart

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.linthresh: float | None = None

    def tickValues(self, minVal, maxVal, size):  # noqa: N802,N803 - pyqtgraph
        c = self.linthresh
        if c is None or self.logMode or not (np.isfinite(minVal) and np.isfinite(maxVal)):
            return super().tickValues(minVal, maxVal, size)
        from simulator.core.plotmath import symlog

        top = int(np.ceil(max(abs(minVal), abs(maxVal)))) + 1
        decades = np.arange(0, top + 1)
        per = max(1, int(np.ceil(len(decades) * 2 * self.TICK_PX / max(size, 1.0))))
        # every per-th decade; +-c beside 0 only when the decades are that far apart
        mags = c * 10.0 ** decades[::per][1 if per > 1 else 0:]
        vals = np.concatenate([-mags[::-1], [0.0], mags])
        t = symlog(vals, c)
        return [(None, [float(x) for x in t if minVal <= x <= maxVal])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph
        c = self.linthresh
        if c is None or self.logMode:
            return super().tickStrings(values, scale, spacing)
        from simulator.core.plotmath import symlog_inverse

        return [_short(float(v)) for v in symlog_inverse(values, c)]


def nice_range(lo: float, hi: float, log: bool) -> tuple[float, float] | None:
    """``[lo, hi]`` widened to round values: whole decades when ``log`` (the bounds are
    then log10 values), else multiples of a 1-2-5 step about a tenth of the span."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None
    if log:
        lo = max(lo, hi - MAX_DECADES)
        a, b = np.floor(lo + 1e-9), np.ceil(hi - 1e-9)
        if b <= a:
            a, b = a - 0.5, b + 0.5
        return float(a), float(b)
    span = hi - lo
    if span <= 0:
        pad = max(abs(hi) * 0.05, 1e-12)
        return float(lo - pad), float(hi + pad)
    raw = span / 8.0
    mag = 10.0 ** np.floor(np.log10(raw))
    step = next((m * mag for m in (1.0, 2.0, 5.0, 10.0) if m * mag >= raw), 10.0 * mag)
    return float(np.floor(lo / step) * step), float(np.ceil(hi / step) * step)


def peak_decimate(y: np.ndarray, i0: int, i1: int, width_px: int):
    """Steps ``i0 .. i1 - 1`` of ``y`` reduced to about two points per pixel column:
    the smallest and largest value of each run of steps (NaN-aware), so every spike
    and every gap stays visible. Returns ``(x, y)``.

    ``y`` may also hold one series per row (``(rows, steps)``): each row is reduced
    exactly as on its own, and ``x`` is the rows' common one."""
    i0, i1 = max(0, i0), min(y.shape[-1], i1)
    n = i1 - i0
    ds = n // max(1, width_px)  # one block (its min and max) per pixel column
    if ds <= 1:
        return np.arange(i0, i1, dtype=float), y[..., i0:i1]
    m = n // ds * ds
    nb = m // ds
    blocks = y[..., i0 : i0 + m].reshape(*y.shape[:-1], nb, ds)
    x = np.empty(2 * nb + n - m)
    yy = np.empty((*y.shape[:-1], 2 * nb + n - m))
    lo, hi = yy[..., 0 : 2 * nb : 2], yy[..., 1 : 2 * nb : 2]  # interleaved: min, max, ...
    with np.errstate(invalid="ignore"):
        if ds <= 64:
            # a few long vector operations: a reduction over each short block costs
            # 2-6 times more (one inner loop per block) when there are many blocks
            lo[...] = blocks[..., 0]
            hi[...] = blocks[..., 0]
            for j in range(1, ds):
                np.fmin(lo, blocks[..., j], out=lo)
                np.fmax(hi, blocks[..., j], out=hi)
        else:
            np.fmin.reduce(blocks, axis=-1, out=lo)
            np.fmax.reduce(blocks, axis=-1, out=hi)
    x[0 : 2 * nb : 2] = np.arange(i0, i0 + m, ds)
    x[1 : 2 * nb : 2] = x[0 : 2 * nb : 2] + (ds - 1)
    if m < n:
        x[2 * nb :] = np.arange(i0 + m, i1)
        yy[..., 2 * nb :] = y[..., i0 + m : i1]
    return x, yy


def still_fits(
    current: tuple[float, float], lo: float, hi: float, log: bool, dragging: bool = False
) -> bool:
    """Whether data spanning ``[lo, hi]`` still fit the axis range ``current`` well:
    inside it, without too much empty room (a converged run's tiny loss gap flickers
    across decades while the start point is dragged; the axis should not).

    While ``dragging`` (a slider or the start point) inside is enough: a new range
    re-renders every curve of the plot and its axis (about 10 ms), so the axis only
    grows during a drag and is fitted tightly again on release."""
    a, b = current
    if not (a <= lo and hi <= b):
        return False
    if dragging:
        return True
    span = max(hi - lo, 1e-300)
    if log:
        return lo - a <= max(3.0, 0.3 * span) and b - hi <= 1.0
    return (lo - a) <= 0.3 * span and (b - hi) <= 0.3 * span


def headroom(
    current: tuple[float, float] | None, lo: float, hi: float, log: bool, dragging: bool
) -> tuple[float, float]:
    """``[lo, hi]`` widened on the side(s) where the data outgrew ``current``, so the
    next ticks of a drag still fit: 1.5 decades (log) or 15 % of the span, and during
    a drag as much again as the data moved past the old bound."""
    if current is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return lo, hi
    a, b = current
    span = max(hi - lo, 1e-300)
    pad = 1.5 if log else 0.15 * span
    if lo < a:
        lo -= pad + (a - lo if dragging else 0.0)
    if hi > b:
        hi += pad + (hi - b if dragging else 0.0)
    return lo, hi


def refit(
    current: tuple[float, float] | None, lo: float, hi: float, log: bool, dragging: bool
) -> tuple[float, float] | None:
    """The new axis range for data spanning ``[lo, hi]`` (log10 values on a log axis),
    or None while ``current`` still fits them (see ``still_fits``): snapped with
    ``nice_range``, with ``headroom`` where the data outgrew it."""
    if log:
        # what the axis could show anyway: MAX_DECADES below its top, which during a
        # drag is the axis's own top (a diverging lane's peak jumps by tens of decades
        # from tick to tick; the axis should not follow)
        top = max(hi, current[1]) if dragging and current is not None else hi
        lo = max(lo, top - MAX_DECADES)
    if current is not None and still_fits(current, lo, hi, log, dragging):
        return None
    lo, hi = headroom(current, lo, hi, log, dragging)
    if log:
        hi = min(hi, LOG_TOP)
    r = nice_range(lo, hi, log)
    return None if r is None or r == current else r


PRESENT_SCALE = 1.8  # presentation mode: fonts, marks and lines this much larger
BASE_TICK_PT = 9.0  # the axes' tick labels at scale 1


def scale_axes(plot, k: float, axes=("bottom", "left")) -> None:
    """Tick labels and axis titles of ``plot`` (a PlotItem, or a ColorBarItem's axis
    names) at ``k`` times their usual size (presentation mode)."""
    from PySide6.QtGui import QFont

    font = QFont()
    font.setPointSizeF(BASE_TICK_PT * k)
    for name in axes:
        ax = plot.getAxis(name)
        ax.setTickFont(font if k != 1.0 else None)
        ax.labelStyle = {**ax.labelStyle, "font-size": f"{BASE_TICK_PT * k * 1.1:g}pt"}
        ax._updateLabel()
        ax.picture = None  # the ticks are drawn again at their new size
        ax.update()
