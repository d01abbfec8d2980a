"""Helpers the views and the panels share: reading the session, the critical-point
cache, plot items (outside both packages, so neither imports the other).

Everything a view draws comes from the Session: its surface, its lanes and the whole
precomputed runs in ``session.results``. These helpers read those in one consistent way
(which lanes are shown, which step a lane is at for the current frame, how the colour
scale is transformed) so the 2-D, 3-D and 1-D views always agree with each other.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QObject, QRectF, Qt, QTimer, Signal

from simulator.core.plotmath import (  # noqa: F401 - views and panels import them here
    HeightScale,
    clip_far,
    contour_levels,
    diverged_at,
    divergence_point,
    finite_range,
    lane_step,
    robust_levels,
)

from .scheduling import TurnTimer

#: Marker shape, fill and legend label per kind of critical point. Shapes differ (not only
#: colours) so the kinds stay distinguishable in greyscale prints and for colour-blind users.
KIND_STYLE = {
    "minimum": ("star", "#ffffff", "minimum"),
    "maximum": ("t1", "#ff5c5c", "maximum"),
    "saddle": ("d", "#ffd23f", "saddle"),
    "degenerate": ("s", "#c8c8c8", "degenerate"),
}
#: Which critical points the maps mark (View > Critical Points), with the menu's labels.
#: "auto" marks every point when there are at most ``CP_AUTO_ALL`` of them and only the
#: minima otherwise: Rastrigin's 441 points (121 minima, 100 maxima, 220 saddles) would
#: cover the map, and the minima are what a run can end in.
CP_MODES = {"auto": "&Auto", "all": "&All", "minima": "&Minima Only", "off": "&Off"}
CP_MODE_DEFAULT = "auto"
CP_AUTO_ALL = 25
CP_MODE_TIP = (
    "Which critical points (where the gradient is zero) to mark. Minima (stars) are "
    "where a run can settle; maxima and saddles are where the gradient also vanishes but "
    "a nudge rolls away. Auto: all of them when there are at most "
    f"{CP_AUTO_ALL}, only the minima when more would cover the map."
)


def check_cp_mode(mode: str) -> str:
    """``mode`` if it is one of ``CP_MODES``, else a ValueError naming them."""
    if mode not in CP_MODES:
        raise ValueError(f"critical-point mode must be one of {', '.join(CP_MODES)}, "
                         f"not {mode!r}")
    return mode


def marked_cp(mode: str, by_kind: dict[str, list]) -> dict[str, list]:
    """``by_kind`` (the points of each kind of critical point) with the kinds that
    ``mode`` does not mark emptied; "auto" counts the points of every kind."""
    if mode == "off":
        shown: tuple[str, ...] = ()
    elif mode == "minima" or (
            mode == "auto" and sum(len(p) for p in by_kind.values()) > CP_AUTO_ALL):
        shown = ("minimum",)
    else:
        shown = tuple(by_kind)
    return {k: (pts if k in shown else []) for k, pts in by_kind.items()}


#: Colours of the eigen-direction arrows: curving up (positive eigenvalue) / down.
EIG_POS = "#56B4E9"  # Okabe-Ito sky blue
EIG_NEG = "#D55E00"  # Okabe-Ito vermillion
START_COLOR = "#ffffff"
# a diverged lane's mark (an x where it was last seen): the lanes panel's "diverged" red
DIVERGED_COLOR = "#C0392B"
DIVERGED_SYMBOL = "x"
DIVERGED_SIZE = 18.0


def shown_lanes(session):
    """Enabled lanes that have a run, in lane order: ``[(lane, trajectory), ...]``."""
    out = []
    results = getattr(session, "results", None) or {}
    for lane in getattr(session, "lanes", []):
        if not getattr(lane, "enabled", True):
            continue
        run = results.get(lane.uid)
        if run is None or len(run.positions) == 0:
            continue
        out.append((lane, run))
    return out


def selected_lane(session):
    """The selected lane, or None (``session.selected_lane`` is an index into lanes)."""
    lane = getattr(session, "current_lane", None)
    if lane is not None:
        return lane
    i = getattr(session, "selected_lane", -1)
    lanes = list(getattr(session, "lanes", []))
    if isinstance(i, int) and 0 <= i < len(lanes):
        return lanes[i]
    return None


def is_selected(session, lane) -> bool:
    sel = selected_lane(session)
    return sel is not None and sel.uid == lane.uid


def lane_lr(session, lane, run=None, frame: int | None = None) -> float:
    """The learning rate a lane actually uses at ``frame`` (schedules included)."""
    if run is not None and frame is not None and len(getattr(run, "learning_rates", ())):
        lrs = run.learning_rates
        k = min(max(int(frame), 0), len(lrs) - 1)
        v = float(lrs[k])
        if np.isfinite(v):
            return v
    try:
        eff = session.effective(lane)
        if isinstance(eff, dict) and "lr" in eff:
            return float(eff["lr"])
    except Exception:  # noqa: BLE001 - a half-built session must not break a view
        pass
    return float(getattr(lane.optimizer, "lr", np.nan))


_CP_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CP_PENDING: weakref.WeakSet = weakref.WeakSet()
_CP_LOCK = threading.Lock()
# a search asked for without waiting starts this much later: after a new surface's
# contour lines (10 ms), plots (40 ms) and 3-D mesh (70 ms) have had their turns
CP_SEARCH_LATER_MS = 90


class _CriticalPointsNotifier(QObject):
    """Announces, in the GUI thread, that a surface's critical points are ready.

    The worker thread never touches Qt: it appends to ``_CP_DONE`` and a GUI-thread
    timer polls that list (emitting Qt signals carrying Python objects from a plain
    Python thread crashes PySide6 now and then).
    """

    ready = Signal(object)

    def __init__(self):
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._poll)
        # surfaces whose search waits for the views' staged drawing of a new surface
        # (see TurnTimer): a search running beside it (numpy in a worker thread) made
        # the GUI thread wait for the interpreter, and a turn took 100 ms instead of 50
        self.queued: list = []
        self.starter = TurnTimer(self)
        self.starter.timeout.connect(self._start)

    def _start(self) -> None:
        queued, self.queued = self.queued, []
        if queued:
            threading.Thread(
                target=_search_all, args=(queued,), daemon=True, name="critical-points"
            ).start()

    def _poll(self):
        with _CP_LOCK:
            done = list(_CP_DONE)
            _CP_DONE.clear()
            if not _CP_PENDING:
                self.timer.stop()
        for ref in done:
            surface = ref()
            if surface is not None:
                self.ready.emit(surface)


_notifier: _CriticalPointsNotifier | None = None
_CP_DONE: list = []


def critical_points_notifier() -> _CriticalPointsNotifier:
    """Its ``ready(surface)`` signal fires (in the GUI thread) when a search is done."""
    global _notifier
    if _notifier is None:
        _notifier = _CriticalPointsNotifier()
    return _notifier


def _search(surface) -> list:
    from simulator.core.critical_points import find_critical_points

    try:
        return list(find_critical_points(surface))
    except Exception:  # noqa: BLE001 - a surface the search cannot handle shows none
        return []


def critical_points(surface, wait: bool = True):
    """The surface's critical points (``critical_points.find_critical_points``), cached.

    The search takes a few hundred ms on some surfaces, too long for the GUI thread
    when a surface is picked. With ``wait=False`` this returns None at once and runs the
    search in a worker thread once the views' turns are over (``CP_SEARCH_LATER_MS``);
    ``critical_points_notifier().ready`` then fires with the surface and the next call
    returns the list.
    """
    if surface is None:
        return []
    with _CP_LOCK:
        cps = _CP_CACHE.get(surface)
        if cps is not None:
            return cps
        if not wait:
            if surface not in _CP_PENDING:
                _CP_PENDING.add(surface)
                notifier = critical_points_notifier()
                notifier.timer.start()
                notifier.queued.append(surface)
                if not notifier.starter.isActive():
                    notifier.starter.start(CP_SEARCH_LATER_MS)
            return None
    cps = _search(surface)
    with _CP_LOCK:
        _CP_CACHE[surface] = cps
    return cps


def _search_all(surfaces) -> None:
    for surface in surfaces:
        cps = _search(surface)
        with _CP_LOCK:
            _CP_CACHE[surface] = cps
            _CP_PENDING.discard(surface)
            _CP_DONE.append(weakref.ref(surface))


def fmt(v, digits: int = 4) -> str:
    """A number for people: 4 significant digits, signed zero removed, nan as '-'."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(x):
        return "inf" if x == np.inf else "-inf" if x == -np.inf else "-"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def fmt_point(p, digits: int = 4) -> str:
    a = np.atleast_1d(np.asarray(p, dtype=np.float64))
    return "(" + ", ".join(fmt(v, digits) for v in a) + ")"


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


_ANALYSES: dict = {}  # (id(surface), point) -> (surface, PointAnalysis), most recent last


def analysis(surface, p):
    """``analyze_point(surface, p)``, remembered for the last few points.

    The map's eigen-arrows and the diagnostics panel analyse the same point on every
    frame and edit; the second asks for it for free. Errors are not remembered."""
    from simulator.core.diagnostics import analyze_point

    p = np.asarray(p, dtype=float)
    key = (id(surface), p.tobytes())
    hit = _ANALYSES.get(key)
    if hit is not None and hit[0] is surface:
        return hit[1]
    pa = analyze_point(surface, p)
    _ANALYSES[key] = (surface, pa)  # the surface is kept alive, so its id stays its own
    while len(_ANALYSES) > 32:
        del _ANALYSES[next(iter(_ANALYSES))]
    return pa


def on_lane_edits(session, slot) -> None:
    """Call ``slot`` on ``session.lanes_changed``, unless a recompute is pending.

    An edit that re-runs a lane (a learning rate, say) is followed by
    ``trajectories_changed`` in the same event-loop turn; drawing on both would draw
    twice. A rename or a new colour runs nothing, so it is drawn at once.
    """
    session.lanes_changed.connect(
        lambda *_a: None if getattr(session, "pending", False) else slot()
    )


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
