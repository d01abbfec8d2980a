"""The 1-D view: a loss curve L(w) with every step drawn the way a teacher sketches it.

Each step is a point on the curve and a jump arc from step k to step k+1. A learning
rate that is too large shows as arcs that leap across the valley (overshoot), hop back
and forth (oscillation) or climb ever higher walls (divergence); a small one as a crawl
of tiny hops. Click or drag anywhere to move the start point along w.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from simulator.core.plotmath import diverged_at, divergence_point, finite_range, lane_step

from ..analysis_cache import critical_points, critical_points_notifier
from ..formatting import fmt
from ..lanes import is_selected, on_lane_edits, shown_lanes
from ..marks import (
    CP_MODE_DEFAULT,
    DIVERGED_COLOR,
    DIVERGED_SIZE,
    DIVERGED_SYMBOL,
    KIND_STYLE,
    START_COLOR,
    check_cp_mode,
    marked_cp,
)
from ..plotting import (
    PRESENT_SCALE,
    StartViewBox,
    arrow_heads,
    cache_axes,
    repaint_bounding_rect,
    retire,
    scale_axes,
)

GRID_N = 800
ARC_SAMPLES = 12
HEADS = 80  # arrowheads on the last HEADS jumps only: older ones would be clutter


class _Lane:
    """The drawn items of one lane and its precomputed jump arcs."""

    def __init__(self, plot):
        self.arcs = pg.PlotCurveItem(connect="finite")
        self.heads = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#000000", width=0.8))
        self.arcs.setZValue(10)
        self.heads.setZValue(11)
        self.points.setZValue(12)
        for it in (self.arcs, self.heads, self.points):
            plot.addItem(it)
        self.w = np.zeros(0)
        self.f = np.zeros(0)
        self.arc_x = np.zeros(0)
        self.arc_y = np.zeros(0)
        self.ctrl = np.zeros((0, 2))
        self.diverged = None  # (step, w, L) of the x marking a diverged run, or None
        self.drawn = None  # (run, surface, y range, x span) the arrays were made from
        self.k = None  # the step the items were last set to
        self.color = None  # the colour of the points' brush

    def remove(self, plot):
        for it in (self.arcs, self.heads, self.points):
            retire(plot, it)


class CurveView(QWidget):
    """A 1-D loss curve with each lane's steps as points and jump arcs."""

    cursor_moved = Signal(object)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._surface = None
        self.cp_mode = CP_MODE_DEFAULT  # which critical points are marked (CP_MODES)
        self._lanes: dict[int, _Lane] = {}
        self._shown: list = []
        self._nothing_marked = False  # the position markers are empty (no lane shown)
        self._yspan = 1.0
        self._yrange = (0.0, 1.0)

        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Show the whole domain and the curve")
        self.readout = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.fit_button)
        bar.addStretch(1)
        bar.addWidget(self.readout)

        self.graphics = pg.GraphicsLayoutWidget()
        repaint_bounding_rect(self.graphics)
        self.graphics.setToolTip(
            "Click or drag to move the start point along the axis. Shift+drag or "
            "middle-drag pans, the wheel zooms."
        )
        self.viewbox = StartViewBox(self)
        self.plot = self.graphics.addPlot(viewBox=self.viewbox)
        self.scale = 1.0  # lines, marks and fonts (PRESENT_SCALE in presentation mode)
        cache_axes(self.plot)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.curve = pg.PlotCurveItem(connect="finite", pen=pg.mkPen("#e8e8e8", width=2.2))
        self.plot.addItem(self.curve)
        self.legend = pg.LegendItem(
            offset=(8, 8), labelTextSize="8pt", brush=pg.mkBrush(0, 0, 0, 150)
        )
        self.legend.setParentItem(self.viewbox)
        self._cp_items = {}
        for kind, (symbol, color, _label) in KIND_STYLE.items():
            it = pg.ScatterPlotItem(
                symbol=symbol,
                size=13 if kind != "minimum" else 16,
                brush=pg.mkBrush(color),
                pen=pg.mkPen("#000000", width=1.2),
            )
            it.setZValue(5)
            self.plot.addItem(it)
            self._cp_items[kind] = it
        self.markers = pg.ScatterPlotItem(size=13, pen=pg.mkPen("#000000", width=1.5))
        self.markers.setZValue(20)
        self.plot.addItem(self.markers)
        # diverged lanes: an x where each was last seen on the curve, from then on
        self.diverged_item = pg.ScatterPlotItem(
            symbol=DIVERGED_SYMBOL, size=DIVERGED_SIZE, brush=pg.mkBrush(DIVERGED_COLOR),
            pen=pg.mkPen("#000000", width=1.2),
        )
        self.diverged_item.setZValue(26)  # above the start point: lr 1e100 never leaves it
        self.plot.addItem(self.diverged_item)
        self._diverged_shown: tuple = ()
        self.start_item = pg.ScatterPlotItem(
            symbol="o", size=14, brush=pg.mkBrush(START_COLOR), pen=pg.mkPen("#000000", width=2)
        )
        self.start_item.setZValue(25)
        self.plot.addItem(self.start_item)
        self.start_line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(START_COLOR, width=1, style=Qt.PenStyle.DashLine)
        )
        self.start_line.setZValue(1)
        self.plot.addItem(self.start_line)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

        self.fit_button.clicked.connect(self.fit)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.viewport().installEventFilter(self)
        self.viewbox.sigRangeChanged.connect(self._update_heads)
        self.viewbox.sigResized.connect(self._update_heads)
        critical_points_notifier().ready.connect(
            self._on_critical_points_ready, Qt.ConnectionType.QueuedConnection
        )
        s = session
        s.surface_changed.connect(self._on_surface_changed)
        on_lane_edits(s, self._on_trajectories_changed)
        s.start_changed.connect(self._on_start_changed)
        s.trajectories_changed.connect(self._on_trajectories_changed)
        s.frame_changed.connect(self._on_frame_changed)
        s.selected_lane_changed.connect(self._on_selected_lane_changed)
        self._on_surface_changed()

    # ---- session handlers -----------------------------------------------------------------
    def _on_surface_changed(self):
        surface = getattr(self.session, "surface", None)
        self._surface = surface if surface is not None and surface.dim == 1 else None
        if self._surface is None:
            self.curve.setData([], [])
            for it in self._cp_items.values():
                it.setData([], [])
            self._on_trajectories_changed()
            return
        (ws,), values = self._surface.grid(GRID_N)
        self.curve.setData(ws, values)
        lo, hi = finite_range(values)
        # the interesting part of a curve is near its bottom: cap the view at a
        # robust top so one steep wall does not flatten the valley
        v = values[np.isfinite(values)]
        if v.size:
            hi = float(min(hi, np.percentile(v, 95)))
            if hi <= lo:
                hi = lo + 1.0
        pad = 0.08 * (hi - lo)
        self._yrange = (lo - pad, hi + pad)
        self._yspan = self._yrange[1] - self._yrange[0]
        self.plot.setLabel("bottom", self._surface.variables[0])
        self.plot.setLabel("left", f"L({self._surface.variables[0]})")
        self._draw_critical_points()
        self.fit()
        self._on_start_changed()
        self._on_trajectories_changed()

    def _on_critical_points_ready(self, surface):
        if surface is self._surface:
            self._draw_critical_points()

    def set_cp_mode(self, mode: str) -> None:
        """Mark the critical points of ``mode``: "auto", "all", "minima" or "off"."""
        self.cp_mode = check_cp_mode(mode)
        if self._surface is not None:
            self._draw_critical_points()

    def _draw_critical_points(self):
        surface = self._surface
        by_kind: dict[str, list] = {k: [] for k in KIND_STYLE}
        for cp in critical_points(surface, wait=False) or []:
            if cp.kind in by_kind:
                by_kind[cp.kind].append(float(np.ravel(cp.position)[0]))
        for m in surface.minima:
            w = float(m[0])
            if not any(abs(w - q) < 1e-6 * surface.scale for q in by_kind["minimum"]):
                by_kind["minimum"].append(w)
        by_kind = marked_cp(self.cp_mode, by_kind)
        self.legend.clear()
        for kind, ws in by_kind.items():
            item = self._cp_items[kind]
            if ws:
                a = np.array(ws)
                item.setData(a, surface.value(a.reshape(-1, 1)))
                self.legend.addItem(item, KIND_STYLE[kind][2])
            else:
                item.setData([], [])
        self.legend.addItem(self.start_item, "start")

    def _on_start_changed(self):
        start = getattr(self.session, "start", None)
        if self._surface is None or start is None or len(start) != 1:
            self.start_item.setData([], [])
            self.start_line.setVisible(False)
            return
        w = float(start[0])
        f = float(self._surface.value(np.array([[w]]))[0])
        self.start_item.setData([w], [f if np.isfinite(f) else np.nan])
        self.start_line.setPos(w)
        self.start_line.setVisible(True)

    def _on_trajectories_changed(self):
        shown = shown_lanes(self.session) if self._surface is not None else []
        uids = {lane.uid for lane, _ in shown}
        for uid in list(self._lanes):
            if uid not in uids:
                self._lanes.pop(uid).remove(self.plot)
        (w0, w1) = self._surface.domain[0] if self._surface is not None else (0.0, 1.0)
        span = w1 - w0
        y0, y1 = self._yrange
        for lane, run in shown:
            L = self._lanes.get(lane.uid)
            if L is None:
                L = self._lanes[lane.uid] = _Lane(self.plot)
            d = L.drawn
            if (d is None or d[0] is not run or d[1] is not self._surface
                    or d[2:] != (self._yrange, span)):
                # only a lane whose run (or the scale) changed gets new arcs
                w = np.clip(
                    np.asarray(run.positions, dtype=float)[:, 0], w0 - 20 * span, w1 + 20 * span
                )
                f = np.clip(
                    np.asarray(run.losses, dtype=float), y0 - 50 * self._yspan,
                    y1 + 50 * self._yspan,
                )
                L.w, L.f = w, f
                L.arc_x, L.arc_y, L.ctrl = self._arcs(w, f, span)
                L.drawn = (run, self._surface, self._yrange, span)
                mark = divergence_point(run, self._surface.domain)
                L.diverged = None
                if mark is not None:
                    with np.errstate(all="ignore"):
                        fm = float(self._surface.value(mark.reshape(1, 1))[0])
                    fm = float(np.clip(fm if np.isfinite(fm) else y1, y0, y1))
                    L.diverged = (diverged_at(run), float(mark[0]), fm)
                L.k = None
            if L.color != lane.color:
                L.points.setBrush(pg.mkBrush(lane.color))
                L.color = lane.color
            self._style(lane, L)
        self._shown = shown
        self._on_frame_changed(getattr(self.session, "frame", 0))

    def _style(self, lane, L: _Lane):
        sel = is_selected(self.session, lane)
        width = (2.2 if sel else 1.6) * self.scale
        L.arcs.setPen(pg.mkPen(lane.color, width=width))
        L.heads.setPen(pg.mkPen(lane.color, width=width))

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: lines, marks and axes ``PRESENT_SCALE`` times larger."""
        k = PRESENT_SCALE if on else 1.0
        if k == self.scale:
            return
        self.scale = k
        self.curve.setPen(pg.mkPen("#e8e8e8", width=2.2 * k))
        self.markers.setSize(13 * k)
        self.start_item.setSize(14 * k)
        self.diverged_item.setSize(DIVERGED_SIZE * k)
        for kind, it in self._cp_items.items():
            it.setSize((13 if kind != "minimum" else 16) * k)
        scale_axes(self.plot, k)
        self._on_trajectories_changed()

    def _arcs(self, w, f, span):
        """Quadratic Bezier arcs between successive steps, nan-separated (one curve)."""
        n = len(w) - 1
        if n < 1:
            return np.zeros(0), np.zeros(0), np.zeros((0, 2))
        mx = 0.5 * (w[:-1] + w[1:])
        my = 0.5 * (f[:-1] + f[1:])
        # the arc rises in proportion to the jump's length on screen
        lift = 0.35 * np.abs(w[1:] - w[:-1]) / span * self._yspan
        cx, cy = mx, my + lift
        t = np.linspace(0.0, 1.0, ARC_SAMPLES)[None, :]
        a, b = (1 - t) ** 2, 2 * (1 - t) * t
        c = t**2
        ax = a * w[:-1, None] + b * cx[:, None] + c * w[1:, None]
        ay = a * f[:-1, None] + b * cy[:, None] + c * f[1:, None]
        sep = np.full((n, 1), np.nan)
        arc_x = np.hstack([ax, sep]).ravel()
        arc_y = np.hstack([ay, sep]).ravel()
        return arc_x, arc_y, np.column_stack([cx, cy])

    def _on_frame_changed(self, frame=None):
        if not self._shown and self._nothing_marked:
            return  # a 2-D scene: nothing to move here on every frame and slider tick
        if frame is None:
            frame = getattr(self.session, "frame", 0)
        mx, my, brushes = [], [], []
        per = ARC_SAMPLES + 1
        for lane, run in self._shown:
            L = self._lanes[lane.uid]
            k = lane_step(run, frame)
            if L.k != k:
                L.points.setData(L.w[: k + 1], L.f[: k + 1])
                L.arcs.setData(L.arc_x[: k * per], L.arc_y[: k * per])
                L.k = k
            mx.append(L.w[k])
            my.append(L.f[k])
            brushes.append(pg.mkBrush(lane.color))
        self.markers.setData(mx, my, brush=brushes)
        self._nothing_marked = not mx
        marks = tuple(self._lanes[lane.uid].diverged[1:] for lane, _run in self._shown
                      if self._lanes[lane.uid].diverged is not None
                      and frame >= self._lanes[lane.uid].diverged[0])
        if marks != self._diverged_shown:
            self._diverged_shown = marks
            self.diverged_item.setData([m[0] for m in marks], [m[1] for m in marks])
        self._update_heads()

    def _update_heads(self, *_):
        px, py = self.viewbox.viewPixelSize()
        frame = getattr(self.session, "frame", 0)
        for lane, run in self._shown:
            L = self._lanes[lane.uid]
            k = lane_step(run, frame)
            j0 = max(0, k - HEADS)
            hx, hy = arrow_heads(
                L.ctrl[j0:k, 0],
                L.ctrl[j0:k, 1],
                L.w[j0 + 1 : k + 1],
                L.f[j0 + 1 : k + 1],
                px,
                py,
                8.0,
            )
            L.heads.setData(hx, hy)

    def _on_selected_lane_changed(self, _i=None):
        for lane, _run in self._shown:
            self._style(lane, self._lanes[lane.uid])

    # ---- interaction ------------------------------------------------------------------------
    def fit(self):
        if self._surface is None:
            return
        ((w0, w1),) = self._surface.domain
        self.viewbox.setRange(xRange=(w0, w1), yRange=self._yrange, padding=0.02)

    def _place_start(self, point: QPointF):
        if self._surface is None:
            return
        w = float(point.x())
        if np.isfinite(w):
            self.session.set_start((w,))

    def _on_mouse_moved(self, scene_pos):
        if self._surface is None or not self.viewbox.sceneBoundingRect().contains(scene_pos):
            self._emit_cursor(None)
            return
        q = self.viewbox.mapSceneToView(scene_pos)
        self._emit_cursor(np.array([q.x()]))

    def _emit_cursor(self, p):
        if p is None:
            self.readout.setText("")
        else:
            val = float(self._surface.value(p.reshape(1, 1))[0])
            txt = fmt(val) if np.isfinite(val) else "undefined"
            self.readout.setText(f"{self._surface.variables[0]} = {fmt(p[0], 4)}   L = {txt}")
        self.cursor_moved.emit(p)

    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Leave:
            self._emit_cursor(None)
        return super().eventFilter(obj, ev)

    def view_to_scene(self, x: float, y: float) -> QPointF:
        return self.viewbox.mapViewToScene(QPointF(x, y))
