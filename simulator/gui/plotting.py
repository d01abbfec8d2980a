"""Plot pieces the views and the panels share (one module outside ``views`` and
``panels``, so neither imports the other).

Axes: a log axis with readable ticks, round axis ranges, refitting an axis to new data,
peak-preserving decimation of long series, presentation-mode scaling. Plot items:
``LineItem`` (a fast polyline with gaps), ``StartViewBox`` (drag a run's start),
arrowheads, retiring removed items safely, and the pixmap-cache settings that keep
repaints cheap (``device_cached``, ``repaint_bounding_rect``, ``cache_axes``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt, QTimer

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


# ---- plot items the views and panels share ----------------------------------------------
def arrow_heads(x0, y0, x1, y1, px: float, py: float, size: float = 9.0, spread=26.0):
    """Arrowhead strokes at ``(x1, y1)`` for arrows from ``(x0, y0)``, in data units.

    ``px, py`` are data units per screen pixel along x and y, so the heads have the same
    size and angle on screen whatever the axis scales. Returns ``(x, y)`` in pairs (two
    strokes per arrow, for ``connect="pairs"``); zero-length arrows get no head.
    """
    x0, y0, x1, y1 = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (x0, y0, x1, y1))
    if x1.size == 0 or not (px > 0 and py > 0):
        return np.zeros(0), np.zeros(0)
    u = (x1 - x0) / px
    v = (y1 - y0) / py
    n = np.hypot(u, v)
    ok = np.isfinite(n) & (n > 1e-9)
    u, v, n = u[ok], v[ok], n[ok]
    u /= n
    v /= n
    tx, ty = x1[ok], y1[ok]
    a = np.deg2rad(spread)
    ca, sa = np.cos(a), np.sin(a)
    # the two strokes: the reversed direction rotated by +-spread
    hx1 = -(u * ca - v * sa) * size
    hy1 = -(u * sa + v * ca) * size
    hx2 = -(u * ca + v * sa) * size
    hy2 = -(-u * sa + v * ca) * size
    xs = np.stack([tx, tx + hx1 * px, tx, tx + hx2 * px], -1).ravel()
    ys = np.stack([ty, ty + hy1 * py, ty, ty + hy2 * py], -1).ravel()
    return xs, ys


_RETIRED: list = []  # graphics items removed from a plot, deleted on the next idle turn


def retire(plot, item) -> None:
    """Remove ``item`` from ``plot`` and delete it on the next event-loop turn.

    Left to Python's cyclic garbage collector, a removed pyqtgraph item is destroyed
    whenever a collection happens to run, which can be inside another item's paint
    (that aborted a test run with "pure virtual method called"). Deleting it from a
    zero-delay timer destroys it between events instead.
    """
    plot.removeItem(item)
    _RETIRED.append(item)
    if len(_RETIRED) == 1:
        QTimer.singleShot(0, _bury)


def _bury() -> None:
    import shiboken6

    items = list(_RETIRED)
    _RETIRED.clear()
    for item in items:
        if shiboken6.isValid(item) and item.scene() is None:
            shiboken6.delete(item)


class LineItem(pg.GraphicsObject):
    """A polyline in one pen, broken where a point is not finite: the part of
    pyqtgraph's PlotCurveItem (``connect="finite"``) that the views use, for a third
    of its cost.

    PlotCurveItem's paint runs about 0.15 ms of Python per call (exception guard, path
    or segment cache, render hints) and its bounding rect asks the view for pixel sizes
    several times a repaint; a start-point drag repaints 24 plot curves and 16 trail
    parts per tick. This item keeps ready-made QPolygonF parts and its data bounds, and
    paints them as PlotCurveItem does, pixel for pixel: one ``drawPolyline`` per part, or
    for an opaque pen wider than a pixel one ``drawLines`` of all segments (each with its
    caps: faster to stroke than the joined line). Plots' paint: 8 -> 4.7 ms per tick,
    measured in the app window (bench/bench_gui.py's scene).

    Keeps PlotCurveItem's names where the app and pyqtgraph use them: ``setData``,
    ``getData``, ``setPen``, ``opts["pen"]``, ``dataBounds`` and ``implements("plotData")``
    (the plot's CSV export).
    """

    def __init__(self, pen=None):
        super().__init__()
        self.opts = {"pen": pg.mkPen(pen if pen is not None else "w"), "name": None}
        self.xData = self.yData = None
        self._parts: list = []  # QPolygonF per run of finite points
        self._xy: list = []  # the same points as arrays (views of the polygons)
        self._segments = None  # the segments as QLineF, made at the first wide paint
        self._bounds = None  # (x min, x max, y min, y max) of the finite points
        self._rect = None  # boundingRect, padded by the pen in pixels

    def implements(self, interface=None):
        return ["plotData"] if interface is None else interface == "plotData"

    def name(self):
        return self.opts["name"]

    def setPen(self, *args, **kw):  # noqa: N802 - pyqtgraph's name
        self.opts["pen"] = pg.mkPen(*args, **kw)
        self.prepareGeometryChange()
        self._rect = None
        self.update()

    def setData(self, x, y, bounds=None):  # noqa: N802 - pyqtgraph's name
        """Draw the points ``(x[i], y[i])``; ``bounds`` (x min, x max, y min, y max of
        the finite points), when the caller knows them, saves a pass over the data."""
        from pyqtgraph.functions import create_qpolygonf, ndarray_from_qpolygonf

        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        self.prepareGeometryChange()
        self.xData, self.yData = x, y
        ok = np.isfinite(x) & np.isfinite(y)
        every = bool(ok.all())
        if every:
            runs = [(0, len(x))]
        else:
            edges = np.diff(np.concatenate(([0], ok.view(np.int8), [0])))
            runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
        parts, arrays = [], []
        for a, b in runs:
            if b - a >= 2:  # a lone point draws nothing, as with PlotCurveItem
                poly = create_qpolygonf(b - a)
                xy = ndarray_from_qpolygonf(poly)
                xy[:, 0] = x[a:b]
                xy[:, 1] = y[a:b]
                parts.append(poly)
                arrays.append(xy)
        self._parts, self._xy, self._segments = parts, arrays, None
        if bounds is None and len(x) and (every or ok.any()):  # none: nothing to bound
            xs, ys = (x, y) if every else (x[ok], y[ok])
            bounds = (xs.min(), xs.max(), ys.min(), ys.max())
        if bounds is not None and not np.all(np.isfinite(bounds)):
            bounds = None
        self._bounds = None if bounds is None else tuple(float(v) for v in bounds)
        self._rect = None
        self.update()

    def getData(self):  # noqa: N802 - pyqtgraph's name
        return self.xData, self.yData

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 - pyqtgraph's name
        b = self._bounds
        if b is None:
            return None, None
        return (b[0], b[1]) if ax == 0 else (b[2], b[3])

    def viewTransformChanged(self):  # noqa: N802 - pyqtgraph's name
        # the padding is in pixels: a new scale needs a new rect
        self.prepareGeometryChange()
        self._rect = None
        super().viewTransformChanged()

    def boundingRect(self):  # noqa: N802 - Qt's name
        if self._rect is None:
            b = self._bounds
            if b is None:
                self._rect = QRectF()
            else:
                pad = 0.5 * max(self.opts["pen"].widthF(), 1.0) + 1.0  # pixels
                px, py = self.pixelVectors()
                dx = 0.0 if px is None else px.length() * pad
                dy = 0.0 if py is None else py.length() * pad
                self._rect = QRectF(b[0] - dx, b[2] - dy, b[1] - b[0] + 2 * dx,
                                    b[3] - b[2] + 2 * dy)
        return self._rect

    def paint(self, p, *args):
        if not self._parts:
            return
        pen = self.opts["pen"]
        p.setRenderHint(p.RenderHint.Antialiasing, False)
        p.setPen(pen)
        if pen.widthF() > 1.0 and pen.style() == Qt.PenStyle.SolidLine and (
                pen.isSolid() and pen.color().alphaF() == 1.0):
            p.drawLines(*self._line_segments())
        else:
            for poly in self._parts:
                p.drawPolyline(poly)

    def _line_segments(self):
        if self._segments is None:
            from pyqtgraph.Qt.internals import PrimitiveArray

            segments = PrimitiveArray(QLineF, 4)
            segments.resize(sum(len(xy) - 1 for xy in self._xy))
            out, i = segments.ndarray(), 0
            for xy in self._xy:
                n = len(xy) - 1
                out[i : i + n, 0:2] = xy[:-1]
                out[i : i + n, 2:4] = xy[1:]
                i += n
            self._segments = segments
        return self._segments.drawargs()


PIXMAP_CACHE_KB = 192 * 1024  # Qt's default (10 MB) holds about three full-view layers


def device_cached(*items) -> None:
    """Cache graphics items as device pixmaps (``DeviceCoordinateCache``).

    A cached item is drawn again only when its data or the view changes; every other
    repaint is a blit. For wide pens this also halves the cost of the redraw itself
    (the stroker works on an unclipped pixmap). Device caches live in QPixmapCache,
    whose 10 MB default would evict the layers of one large view every frame, so the
    first call raises its limit.
    """
    from PySide6.QtGui import QPixmapCache
    from PySide6.QtWidgets import QGraphicsItem

    if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
        QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)
    for it in items:
        it.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def repaint_bounding_rect(view) -> None:
    """Repaint one rectangle around everything that changed in ``view`` (a
    pyqtgraph GraphicsView) instead of pyqtgraph's minimal region.

    A tick changes items scattered over the view (a trail, eight markers, the arrows);
    the minimal region is then many rectangles, and each cached layer is blitted once
    per rectangle. One rectangle cost 10-15 % less process time per slider tick, frame
    and start-point drag (measured in one run, bench/bench_gui.py's scene)."""
    from PySide6.QtWidgets import QGraphicsView

    view.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)


def cache_axes(*plot_items) -> None:
    """Cache the axes of pyqtgraph PlotItems as pixmaps.

    An axis only changes when its range or size does, but pyqtgraph replays its tick text
    on every repaint of the view (several ms each with eight axes on screen). A device
    cache turns that into a pixmap blit, so an animation frame repaints just the paths.
    """
    for pi in plot_items:
        for name in ("left", "bottom", "right", "top"):
            ax = pi.getAxis(name)
            if ax is not None:
                device_cached(ax)


class StartViewBox(pg.ViewBox):
    """A ViewBox where the left button places the start point instead of panning.

    Shift+drag and the middle button still pan; ``owner._place_start(point)`` receives
    the clicked or dragged-to point in data coordinates (2-D map and 1-D curve alike).
    """

    def __init__(self, owner):
        super().__init__()
        self._owner = owner

    def mouseClickEvent(self, ev):
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._owner._place_start(self.mapSceneToView(ev.scenePos()))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):
        shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if ev.button() == Qt.MouseButton.LeftButton and not shift:
            from .drag import DRAG

            ev.accept()
            if ev.isStart():
                DRAG.set(True)  # the readouts wait for the release, the paths follow
            self._owner._place_start(self.mapSceneToView(ev.scenePos()))
            if ev.isFinish():
                DRAG.set(False)
        else:
            super().mouseDragEvent(ev, axis)
