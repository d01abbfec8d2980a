"""The 2-D view: the surface as a colour map with contour lines, and the lanes' paths.

A student reads this view the way a hiker reads a map: colour is height, contour lines
are paths of equal loss, and the gradient is always perpendicular to them. Each lane's
path is drawn up to the current frame with a marker where the lane is now; the start
point is moved by clicking or dragging (Shift+drag or the middle button pans, the wheel
zooms); minima, maxima and saddles are marked with distinct shapes; and the Hessian's
eigen-directions at the selected lane's position are drawn as arrows.

Drawing is split by cost: the colour map and contour lines are rebuilt only when the
surface (or the colour scale) changes; a frame change only calls ``setData`` on the
existing trail and marker items.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from simulator.core.contours import contour_segments
from simulator.core.plotmath import (
    HeightScale,
    clip_far,
    contour_levels,
    diverged_at,
    divergence_point,
    lane_step,
    paths_extent,
    robust_levels,
)

from ..analysis_cache import analysis, critical_points, critical_points_notifier
from ..drag import DRAG
from ..formatting import fmt
from ..lanes import is_selected, on_lane_edits, selected_lane, shown_lanes
from ..marks import (
    CP_MODE_DEFAULT,
    DIVERGED_COLOR,
    DIVERGED_SIZE,
    DIVERGED_SYMBOL,
    EIG_NEG,
    EIG_POS,
    KIND_STYLE,
    START_COLOR,
    check_cp_mode,
    marked_cp,
)
from ..plotting import (
    PRESENT_SCALE,
    LineItem,
    StartViewBox,
    arrow_heads,
    cache_axes,
    device_cached,
    repaint_bounding_rect,
    retire,
    scale_axes,
)
from ..scheduling import TurnTimer
from .internals import InternalsOverlay

GRID_N = 200
FIELD_LATER_MS = 150  # a wider field is asked for once the runs rest this long
FIELD_POLL_MS = 30  # how often the GUI thread looks whether the wider field is ready
ARROW_PX = 70.0  # on-screen length of the larger eigen-direction arrow (half of it each way)
# while a slider or the start point is dragged the arrows move with the lane on every
# tick; the Hessian under them is analysed again once the hand rests this long (ms)
EIGEN_SETTLE_MS = 120
EIG_LABEL_FILL = (16, 16, 16, 200)  # the plate under an eigenvalue's label (RGBA)
CP_CROWD = 30  # more critical points than this are marked smaller...
CP_MIN_SCALE = 0.5  # ...down to half size (Rastrigin: 441 points 11 px apart)

LEGEND_PAD = 8  # pixels between the legend and the map's edge
LEGEND_SETTLE_MS = 200  # during a drag, the legend moves once the hand rests this long
LEGEND_PATH_POINTS = 400  # path points per lane the legend's placement looks at
LEGEND_CORNERS = {  # name -> anchor (0: left/top, 1: right/bottom), in order of preference
    "top-left": (0, 0), "top-right": (1, 0), "bottom-left": (0, 1), "bottom-right": (1, 1),
}

LINES_LATER_MS = 10  # a newly picked surface's contour lines are drawn this much later
LINES_RETRY_MS = 250  # on a first start, how often to look whether the lines can be drawn


def cp_size(kind: str) -> float:
    """A critical point's mark size in pixels (minima, the stars, a little larger)."""
    return 16.0 if kind == "minimum" else 13.0


class TrailItem(LineItem):
    """A lane's path up to the current frame, drawn in two parts.

    The part up to a checkpoint (a multiple of ``CHUNK`` steps) is this item, cached as
    a device pixmap; the last few steps since the checkpoint are ``head``, a child drawn
    directly. During playback a frame then adds a point to the short head instead of
    re-rendering the whole wide-pen trail into its pixmap (15 -> 3 ms a frame for 8
    lanes of 2000 steps, measured in the app's paint path); the cached part is redrawn
    once every ``CHUNK`` steps, at a different step for each lane (``offset``).

    Bounds come from prefix minima and maxima of the whole path, computed once per run,
    instead of a scan of the points on every checkpoint.
    """

    CHUNK = 64

    def __init__(self, offset: int = 0):
        super().__init__()
        self._prefix = None  # (min x, max x, min y, max y) over path[: i + 1], per i
        self._cut = None  # the checkpoint the cached part was drawn to
        self.offset = offset % self.CHUNK
        self.head = LineItem()
        self.head.setParentItem(self)

    def setPen(self, *args, **kw):  # noqa: N802 - pyqtgraph API
        super().setPen(*args, **kw)
        self.head.setPen(*args, **kw)

    def set_path(self, path: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            self._prefix = (np.fmin.accumulate(path[:, 0]), np.fmax.accumulate(path[:, 0]),
                            np.fmin.accumulate(path[:, 1]), np.fmax.accumulate(path[:, 1]))
        self._cut = None  # a new path: the cached part must be drawn again

    def set_trail(self, path: np.ndarray, k: int) -> None:
        """Show ``path[: k + 1]``."""
        c = k - (k - self.offset) % self.CHUNK if k >= self.offset else 0
        if c != self._cut:
            self._cut = c
            pre = self._prefix
            bounds = None if pre is None else tuple(float(a[c]) for a in pre)
            self.setData(path[: c + 1, 0], path[: c + 1, 1], bounds=bounds)
        self.head.setData(path[c : k + 1, 0], path[c : k + 1, 1])

    def trail_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole trail shown: the cached part and the head, joined."""
        x, y = self.getData()
        hx, hy = self.head.getData()
        if x is None or len(x) == 0:
            return (np.zeros(0), np.zeros(0)) if hx is None else (hx, hy)
        if hx is None or len(hx) <= 1:
            return x, y
        return np.concatenate([x, hx[1:]]), np.concatenate([y, hy[1:]])


class PositionMarker(QGraphicsEllipseItem):
    """A lane's current position: a fixed-size disc in the lane's colour.

    A plain Qt item, painted in C++ and placed with ``setPos``: a frame moves eight of
    them for the cost of eight small repaints, where one pyqtgraph scatter item was
    re-laid out in Python and repainted over the union of all positions (2 ms a frame).
    """

    SIZE = 11.0

    def __init__(self, color: str):
        r = self.SIZE / 2
        super().__init__(-r, -r, self.SIZE, self.SIZE)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        pen = QPen(QColor("#000000"), 1.5)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.set_color(color)
        self.setZValue(20)

    def set_color(self, color: str) -> None:
        self.color = color
        self.setBrush(QColor(color))

    def set_scale(self, k: float) -> None:
        """``k`` times the usual size (presentation mode)."""
        r = self.SIZE * k / 2
        self.setRect(-r, -r, 2 * r, 2 * r)
        pen = self.pen()
        pen.setWidthF(1.5 * k)
        self.setPen(pen)

    def move_to(self, x: float, y: float) -> None:
        if np.isfinite(x) and np.isfinite(y):
            self.setPos(x, y)
            self.setVisible(True)
        else:
            self.setVisible(False)


class ContourView(QWidget):
    """Colour map + contour lines of a 2-D surface with the lanes' paths on top.

    Signals
    -------
    cursor_moved(object)
        The point under the mouse as a float array ``(x, y)``, or None when the mouse
        leaves the plot (the diagnostics panel shows the curvature there).
    """

    cursor_moved = Signal(object)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._surface = None
        self._scale: HeightScale | None = None
        self._grid = None  # (xs, ys, values)
        self._lane_items: dict[int, pg.PlotCurveItem] = {}
        self._paths: dict[int, np.ndarray] = {}
        self._path_of: dict[int, tuple] = {}  # uid -> (run, surface) the path is from
        self._trail_k: dict[int, int] = {}  # uid -> last step its trail was set to
        self._pens: dict[int, tuple[str, float]] = {}  # uid -> (colour, width) set
        self.scale = 1.0  # marks, lines and fonts (PRESENT_SCALE in presentation mode)

        # ---- controls -------------------------------------------------------------------
        self.log_check = QCheckBox("Log colour scale")
        self.log_check.setToolTip(
            "Colour by log10(L - min): shows the valley floor of surfaces whose values span "
            "many decades (Rosenbrock, Goldstein-Price)"
        )
        self.contours_check = QCheckBox("Contours")
        self.contours_check.setChecked(True)
        self.contours_check.setToolTip(
            "Lines of equal loss; the gradient is always perpendicular to them"
        )
        self.eigen_check = QCheckBox("Eigen-directions")
        self.eigen_check.setChecked(True)
        self.eigen_check.setToolTip(
            "The Hessian's eigenvectors at the selected lane's position: blue where the "
            "surface curves up (eigenvalue > 0), red where it curves down (< 0); the longer "
            "arrow is the sharper curvature"
        )
        self.fit_button = QToolButton()
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Show the whole domain")
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setMinimumWidth(10)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        for w in (self.log_check, self.contours_check, self.eigen_check, self.fit_button):
            bar.addWidget(w)
        bar.addStretch(1)
        bar.addWidget(self.readout)

        # ---- plot ------------------------------------------------------------------------
        self.graphics = pg.GraphicsLayoutWidget()
        repaint_bounding_rect(self.graphics)
        self.graphics.setToolTip(
            "Click or drag to place the start point. Shift+drag or middle-drag pans, the "
            "wheel zooms, right-click for more."
        )
        self.viewbox = StartViewBox(self)
        self.plot = self.graphics.addPlot(viewBox=self.viewbox)
        self.plot.showGrid(x=False, y=False)
        self.plot.setMenuEnabled(True)

        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.cmap = pg.colormap.get("viridis")
        self.image.setColorMap(self.cmap)
        self.colorbar = pg.ColorBarItem(
            colorMap=self.cmap, interactive=False, width=14, colorMapMenu=False
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plot)

        self.contours = pg.PlotCurveItem(
            connect="pairs", pen=pg.mkPen(255, 255, 255, 90, width=1), skipFiniteCheck=True
        )
        self.contours.setZValue(-5)
        # the colour map and the contour lines only change with the surface or the view:
        # cache them as pixmaps so a frame repaints the paths, not 20 000 line segments
        device_cached(self.contours, self.image)
        self.plot.addItem(self.contours)
        cache_axes(self.plot, self.colorbar)

        self.legend = pg.LegendItem(
            offset=(8, 8), labelTextSize="8pt", brush=pg.mkBrush(0, 0, 0, 150)
        )
        self.legend.setParentItem(self.viewbox)
        self.legend.setZValue(50)
        self._legend_kinds: tuple | None = None  # the kinds of point it lists
        self.legend_corner = "top-left"  # where it is (see place_legend)
        # placed a turn after the runs, the start or the view changed (after a drag rests)
        self._legend_timer = QTimer(self)
        self._legend_timer.setSingleShot(True)
        self._legend_timer.timeout.connect(self.place_legend)
        self.cp_mode = CP_MODE_DEFAULT  # which critical points are marked (CP_MODES)
        self._cp_items: dict[str, pg.ScatterPlotItem] = {}
        for kind, (symbol, color, label) in KIND_STYLE.items():
            it = pg.ScatterPlotItem(
                symbol=symbol,
                size=cp_size(kind),
                brush=pg.mkBrush(color),
                pen=pg.mkPen("#000000", width=1.2),
                name=label,
            )
            it.setZValue(5)
            self.plot.addItem(it)
            self._cp_items[kind] = it

        self._markers: dict[int, PositionMarker] = {}  # uid -> its lane's current point
        # diverged lanes: an x where each was last seen, once the frame reaches it
        self.diverged_item = pg.ScatterPlotItem(
            symbol=DIVERGED_SYMBOL, size=DIVERGED_SIZE, brush=pg.mkBrush(DIVERGED_COLOR),
            pen=pg.mkPen("#000000", width=1.2), name="diverged",
        )
        self.diverged_item.setZValue(26)  # above the start point: lr 1e100 never leaves it
        self.plot.addItem(self.diverged_item)
        self._divergence: dict[int, tuple[int, float, float]] = {}  # uid -> (step, x, y)
        self._diverged_shown: tuple = ()

        self.start_item = pg.ScatterPlotItem(
            symbol="o",
            size=14,
            brush=pg.mkBrush(START_COLOR),
            pen=pg.mkPen("#000000", width=2),
            name="start",
        )
        self.start_item.setZValue(25)
        self.plot.addItem(self.start_item)

        # static layers (they change with the surface or the start point): pixmaps too
        device_cached(self.legend, self.start_item, *self._cp_items.values())

        self.eig_lines = [pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True) for _ in range(2)]
        # on a dark plate: the colour map under an arrow's end can be any colour
        self.eig_labels = [pg.TextItem(anchor=(0, 1), fill=pg.mkBrush(EIG_LABEL_FILL))
                           for _ in range(2)]
        self._eig_style: list = [None, None]  # (colour, text) of each arrow shown, or None
        self._eig_at = None  # the point the arrows were drawn at (moved there while dragging)
        self._eig_label_at: list = [(0.0, 0.0), (0.0, 0.0)]
        self._eig_timer = QTimer(self)
        self._eig_timer.setSingleShot(True)
        self._eig_timer.timeout.connect(self._redraw_eigen)
        for it in self.eig_lines + self.eig_labels:
            it.setZValue(30)
            self.plot.addItem(it)
        for label in self.eig_labels:
            # hidden until an arrow is drawn: an empty label still paints its dark
            # plate, at (0, 0) (the stray box near (0.05, 0.1) on exported maps, which
            # draw no arrows)
            label.setVisible(False)
        # the optimizer's gradient, momentum, step and effective steps (View menu)
        self.internals = InternalsOverlay(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

        # ---- wiring ----------------------------------------------------------------------
        self.log_check.toggled.connect(self._on_log_toggled)
        self.contours_check.toggled.connect(self.contours.setVisible)
        self.eigen_check.toggled.connect(self._update_eigen)
        self.fit_button.clicked.connect(self.fit)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.viewport().installEventFilter(self)
        self.viewbox.sigRangeChanged.connect(self._update_eigen)
        self.viewbox.sigRangeChanged.connect(self.internals.update)
        self.viewbox.sigResized.connect(self._update_eigen)
        self.viewbox.sigRangeChanged.connect(self._place_legend_soon)
        self.viewbox.sigResized.connect(self._place_legend_soon)
        DRAG.changed.connect(self._on_drag)

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
        s.view_changed.connect(self._on_view_changed)
        self.follow_paths = True  # the field and the view follow the paths (see below)
        self.field_domain = None  # the region the coloured field covers
        self._field_gen = 0
        self._field_pending = None  # the region being computed
        self._field_box = None
        self._field_timer = QTimer(self)
        self._field_timer.setSingleShot(True)
        self._field_timer.timeout.connect(self._ask_field)
        self._field_poll = QTimer(self)
        self._field_poll.setInterval(FIELD_POLL_MS)
        self._field_poll.timeout.connect(self._field_ready)
        self._start_stale = False  # the start moved; the marker waits for the new runs
        self._levels_of = None  # the colour layer's values, the contour lines' input
        self._lines_timer = None  # the first surface is drawn whole, at once
        self._on_surface_changed()
        self._on_trajectories_changed()
        self._lines_timer = TurnTimer(self)
        self._lines_timer.timeout.connect(self._draw_lines)

    # ---- session handlers ---------------------------------------------------------------
    def _on_surface_changed(self):
        surface = getattr(self.session, "surface", None)
        if surface is None or surface.dim != 2:
            # a 1-D curve is shown by the CurveView: draw nothing here
            self._surface = None
            self.image.clear()
            self.contours.setData([], [])
            for it in self._cp_items.values():
                it.setData([], [])
            self._grid = None
            self._on_start_changed()
            return  # the trails follow with trajectories_changed (always emitted next)
        self._surface = surface
        self._field_gen += 1  # a wider field of the old surface is not wanted any more
        self._field_pending = None
        (xs, ys), values = surface.grid(GRID_N)
        self._set_grid(xs, ys, values, tuple(surface.domain))
        self.log_check.blockSignals(True)
        self.log_check.setChecked(self.session.view.log_for(surface))
        self.log_check.blockSignals(False)
        names = surface.variables
        self.plot.setLabel("bottom", names[0])
        self.plot.setLabel("left", names[1])
        # a surface picked while another is shown: its contour lines follow a turn later
        # (with them, the turn a surface was picked in took up to 100 ms); the view's
        # first surface is drawn whole
        self._draw_surface(lines_later=self._lines_timer is not None)
        self._draw_critical_points()
        w = surface.domain[0][1] - surface.domain[0][0]
        h = surface.domain[1][1] - surface.domain[1][0]
        self.viewbox.setAspectLocked(1.0 / 3.0 <= w / h <= 3.0, ratio=1.0)
        self.fit()
        self._on_start_changed()
        # the trails follow with trajectories_changed, which the session always emits
        # after surface_changed (making them here too cost a pick 4-8 ms)

    def _set_grid(self, xs, ys, values, domain) -> None:
        self._grid = (xs, ys, values)
        self.field_domain = domain
        x0, x1 = xs[0], xs[-1]
        y0, y1 = ys[0], ys[-1]
        dx = (x1 - x0) / (len(xs) - 1)
        dy = (y1 - y0) / (len(ys) - 1)
        self._image_rect = QRectF(x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)

    # ---- the field follows the paths -------------------------------------------------------
    def set_follow_paths(self, on: bool) -> None:
        """Follow the paths: the coloured field grows to where the lanes go (at most
        ``MAX_FIELD_FACTOR`` domain widths, computed in a worker thread; the old field
        stays until the new one is ready) and the view follows it."""
        self.follow_paths = bool(on)
        if on:
            self._want_field()
        else:
            self._field_timer.stop()

    def paths_extent(self):
        """The region the paths need: the domain and the paths' points, within limits."""
        if self._surface is None:
            return None
        return paths_extent(list(self._paths.values()), self._surface.domain)

    def _want_field(self, *_args) -> None:
        if self._surface is None or not self.follow_paths:
            return
        self._field_timer.start(FIELD_LATER_MS)

    def _ask_field(self) -> None:
        """Compute the field over the paths' extent, if it is not the one shown."""
        if DRAG.active:  # a drag: once the hand rests
            self._field_timer.start(FIELD_LATER_MS)
            return
        want = self.paths_extent()
        if want is None or want == self.field_domain or want == self._field_pending:
            return
        self.extend_field(want)

    def extend_field(self, domain) -> None:
        """Colour ``domain`` (computed in a worker thread; the old field stays until
        the new one is ready, then the view shows the paths)."""
        import threading

        surface = self._surface
        if surface is None:
            return
        self._field_gen += 1
        gen = self._field_gen
        self._field_pending = domain
        box: dict = {}
        self._field_box = (gen, surface, domain, box)

        def work():
            try:
                box["grid"] = surface.grid(GRID_N, domain=domain)
            except Exception as e:  # noqa: BLE001 - kept as the old field, said why
                box["error"] = str(e)
            box["done"] = True

        threading.Thread(target=work, daemon=True, name="map-field").start()
        self._field_poll.start()

    def waiting(self) -> bool:
        """Whether drawing is still to come: a wider field asked for or being computed,
        or contour lines waiting for their turn (an export waits for them)."""
        return bool(self._field_pending is not None or self._field_timer.isActive()
                    or self._field_poll.isActive()
                    or (self._lines_timer is not None and self._lines_timer.isActive()))

    def _field_ready(self) -> None:
        gen, surface, domain, box = self._field_box
        if not box.get("done"):
            return
        self._field_poll.stop()
        if gen != self._field_gen or surface is not self._surface:
            return  # a newer field or another surface: this one is not wanted
        self._field_pending = None
        if "grid" not in box:
            return
        (xs, ys), values = box["grid"]
        self._set_grid(xs, ys, values, domain)
        self._draw_surface(lines_later=True)
        self.fit_to_paths()

    def follow_now(self) -> None:
        """Colour the paths' extent now, on this thread, and show it: an export waits
        for its map anyway, so the field is computed here (``paths_extent``, the same
        region the worker thread would colour) and drawn with its contour lines before
        the frame is grabbed. Any wider field asked for or computing is dropped."""
        want = self.paths_extent()
        if want is None:
            return
        self._field_timer.stop()
        self._field_poll.stop()
        self._field_gen += 1  # a field still computing in a worker is not wanted
        self._field_pending = None
        if want != self.field_domain:
            (xs, ys), values = self._surface.grid(GRID_N, domain=want)
            self._set_grid(xs, ys, values, want)
            self._draw_surface(lines_later=False)
        elif self._lines_timer is not None and self._lines_timer.isActive():
            self._draw_lines()
        (x0, x1), (y0, y1) = want
        self.viewbox.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def fit_to_paths(self) -> None:
        """Show the domain and where the paths go (within ``MAX_FIELD_FACTOR`` domain
        widths); the field grows there if it does not reach."""
        want = self.paths_extent()
        if want is None:
            return
        (x0, x1), (y0, y1) = want
        self.viewbox.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        if want != self.field_domain and want != self._field_pending:
            self.extend_field(want)

    def _on_log_toggled(self, checked=None):
        if checked is not None:  # the scene keeps the colour scale (exports, labs read it)
            self.session.set_view(log_scale=bool(checked))
        if self._grid is not None:
            self._draw_surface()
            self._update_eigen()

    def _on_view_changed(self):
        """The scene's colour scale changed (a lab, the menu, the 3-D view): follow it."""
        if self._surface is None:
            return
        want = self.session.view.log_for(self._surface)
        if self.log_check.isChecked() != want:
            self.log_check.setChecked(want)

    def _on_start_changed(self):
        if getattr(self.session, "pending", False):
            # the runs from the new start follow in this event-loop turn: the marker
            # moves with them, in one repaint (a drag of the start point otherwise
            # repaints the map twice a tick)
            self._start_stale = True
            return
        self._start_stale = False
        start = getattr(self.session, "start", None)
        if self._surface is None or start is None or len(start) != 2:
            self.start_item.setData([], [])
            return
        self.start_item.setData([float(start[0])], [float(start[1])])
        self._place_legend_soon()

    def _on_trajectories_changed(self):
        """New runs: keep one trail item per lane, refill the cached path arrays.

        Only lanes whose run changed get new paths and trails (a lane's run object is
        kept by the session while its inputs stay the same); the others keep theirs."""
        surface = self._surface
        shown = shown_lanes(self.session) if surface is not None and surface.dim == 2 else []
        uids = {lane.uid for lane, _ in shown}
        for uid in list(self._lane_items):
            if uid not in uids:
                retire(self.plot, self._lane_items.pop(uid))
                self._paths.pop(uid, None)
                self._path_of.pop(uid, None)
                self._trail_k.pop(uid, None)
                self._pens.pop(uid, None)
                self._divergence.pop(uid, None)
        for lane, run in shown:
            item = self._lane_items.get(lane.uid)
            if item is None:
                # each lane redraws its cached part at a different step (offset)
                item = TrailItem(offset=11 * len(self._lane_items))
                item.setZValue(10)
                # a trail whose run did not change is a blit; drawing the wide pen into
                # the unclipped pixmap costs half the direct draw (bench/bench_gui.py)
                device_cached(item)
                self.plot.addItem(item)
                self._lane_items[lane.uid] = item
            self._set_pen(lane, item)
            of = self._path_of.get(lane.uid)
            if of is None or of[0] is not run or of[1] is not surface:
                self._paths[lane.uid] = clip_far(np.asarray(run.positions), surface.domain)
                item.set_path(self._paths[lane.uid])
                self._path_of[lane.uid] = (run, surface)
                mark = divergence_point(run, surface.domain)
                if mark is None:
                    self._divergence.pop(lane.uid, None)
                else:
                    self._divergence[lane.uid] = (diverged_at(run), *map(float, mark[:2]))
                self._trail_k.pop(lane.uid, None)  # the trail must be set again
        for uid in [u for u in self._markers if u not in uids]:
            retire(self.plot, self._markers.pop(uid))
        for lane, _run in shown:
            m = self._markers.get(lane.uid)
            if m is None:
                m = self._markers[lane.uid] = PositionMarker(lane.color)
                if self.scale != 1.0:
                    m.set_scale(self.scale)
                self.plot.addItem(m)
            elif m.color != lane.color:
                m.set_color(lane.color)
        self._shown = shown
        if self._start_stale:
            self._on_start_changed()
        self._on_frame_changed(getattr(self.session, "frame", 0))
        self._place_legend_soon()
        self._want_field()

    def _set_pen(self, lane, item) -> None:
        width = (2.6 if is_selected(self.session, lane) else 1.8) * self.scale
        if self._pens.get(lane.uid) != (lane.color, width):
            self._pens[lane.uid] = (lane.color, width)
            item.setPen(pg.mkPen(lane.color, width=width))

    def _on_frame_changed(self, frame=None):
        if frame is None:
            frame = getattr(self.session, "frame", 0)
        shown = getattr(self, "_shown", [])
        for lane, run in shown:
            p = self._paths[lane.uid]
            k = lane_step(run, frame)
            if self._trail_k.get(lane.uid) != k:
                # a lane that ended before this frame (or whose run did not change)
                # keeps its trail: no new data, no repaint of its path
                self._lane_items[lane.uid].set_trail(p, k)
                self._trail_k[lane.uid] = k
            self._markers[lane.uid].move_to(p[k, 0], p[k, 1])
        self._mark_divergence(shown, frame)
        self._update_eigen()
        self.internals.update()

    def _mark_divergence(self, shown, frame: int) -> None:
        """An x on each diverged lane where it was last seen, from its divergence on."""
        marks = tuple(self._divergence[lane.uid][1:] for lane, _run in shown
                      if lane.uid in self._divergence
                      and frame >= self._divergence[lane.uid][0])
        if marks != self._diverged_shown:
            self._diverged_shown = marks
            self.diverged_item.setData([m[0] for m in marks], [m[1] for m in marks])

    def _on_selected_lane_changed(self, _i=None):
        for lane, _run in getattr(self, "_shown", []):
            self._set_pen(lane, self._lane_items[lane.uid])
        self._update_eigen()
        self.internals.update()

    def set_internals(self, on: bool) -> None:
        """Show or hide the optimizer internals of the selected lane (View menu)."""
        self.internals.set_enabled(on)

    # ---- drawing ------------------------------------------------------------------------------
    def _draw_surface(self, lines_later: bool = False):
        xs, ys, values = self._grid
        self._scale = HeightScale(values, self.log_check.isChecked())
        t = self._scale(values)
        lo, hi = robust_levels(t)
        # nan stays nan: ImageItem draws it transparent, so undefined regions are gaps
        self.image.setImage(t.astype(np.float32), levels=(lo, hi), autoLevels=False)
        self.image.setRect(self._image_rect)
        self.colorbar.setLevels((lo, hi))
        self.colorbar.getAxis("left").setLabel(self._scale.label())
        self._levels_of = t
        if lines_later:
            self.contours.setData([], [])  # not the old surface's lines meanwhile
            self._lines_timer.start(LINES_LATER_MS)
        else:
            self._draw_lines()

    def _draw_lines(self) -> None:
        """The contour lines of the colour layer last drawn."""
        if self._lines_timer is not None:
            self._lines_timer.stop()
        t = self._levels_of
        if t is None or self._grid is None:
            return
        xs, ys, _ = self._grid
        seg = contour_segments(t, xs, ys, contour_levels(t), wait=False)
        if seg is None:  # first start: the lines' kernel is compiling; look again soon
            self.contours.setData([], [])
            QTimer.singleShot(LINES_RETRY_MS, self._draw_lines)
            return
        self.contours.setData(*seg)

    def _on_critical_points_ready(self, surface):
        if surface is self._surface:
            self._draw_critical_points()

    def set_cp_mode(self, mode: str) -> None:
        """Mark the critical points of ``mode``: "auto", "all", "minima" or "off"."""
        self.cp_mode = check_cp_mode(mode)
        self._draw_critical_points()

    def cp_mark_count(self) -> int:
        """How many critical points are marked now."""
        return sum(len(it.data) for it in self._cp_items.values())

    def _draw_critical_points(self):
        surface = self._surface
        if surface is None or surface.dim != 2:
            return  # the search finished after the scene switched to a 1-D curve
        cps = critical_points(surface, wait=False) or []
        by_kind: dict[str, list] = {k: [] for k in KIND_STYLE}
        for cp in cps:
            if cp.kind in by_kind:
                by_kind[cp.kind].append(np.asarray(cp.position, dtype=float))
        # known minima the search may have missed (e.g. outside its domain)
        for m in getattr(surface, "minima", ()):
            m = np.asarray(m, dtype=float)
            if not any(np.allclose(m, q, atol=1e-6 * surface.scale) for q in by_kind["minimum"]):
                by_kind["minimum"].append(m)
        by_kind = marked_cp(self.cp_mode, by_kind)
        # many points (Rastrigin's 121 minima) get smaller marks, so the map shows between
        n = sum(len(pts) for pts in by_kind.values())
        shrink = 1.0 if n <= CP_CROWD else max(CP_MIN_SCALE, (CP_CROWD / n) ** 0.5)
        for kind, pts in by_kind.items():
            a = np.array(pts).reshape(-1, 2)
            item = self._cp_items[kind]
            item.setData(a[:, 0], a[:, 1])
            # sizes per point: the legend's sample keeps the item's own (full) size
            item.setSize(np.full(len(a), cp_size(kind) * shrink * self.scale))
        kinds = tuple(kind for kind, pts in by_kind.items() if pts)
        if kinds != self._legend_kinds:
            # the legend's rows are rebuilt only when the kinds shown change (a row's
            # label costs 2-4 ms to make)
            self._legend_kinds = kinds
            self.legend.clear()
            for kind in kinds:
                self.legend.addItem(self._cp_items[kind], KIND_STYLE[kind][2])
            self.legend.addItem(self.start_item, "start")

    def _on_drag(self, dragging: bool) -> None:
        if not dragging:
            self._redraw_eigen()  # exact again on release
        self.internals.on_drag(dragging)

    # ---- the legend: in the corner where it hides least ----------------------------------
    def _place_legend_soon(self, *_):
        # during a drag the legend waits for the hand to rest; else the next turn
        self._legend_timer.start(LEGEND_SETTLE_MS if DRAG.active else 0)

    def _legend_marks(self) -> np.ndarray:
        """What the legend must not cover (view coordinates): the start, the marked
        critical points and every lane's whole path (not only the part shown: the
        legend does not move during playback)."""
        pts = [np.asarray(it.getData(), dtype=float).T.reshape(-1, 2)
               for it in (self.start_item, *self._cp_items.values()) if it.data is not None]
        for p in self._paths.values():
            step = max(1, len(p) // LEGEND_PATH_POINTS)
            pts.append(np.asarray(p[::step, :2], dtype=float))
        a = np.concatenate(pts) if pts else np.zeros((0, 2))
        return a[np.isfinite(a).all(axis=1)]

    def place_legend(self) -> None:
        """Put the legend in the corner of the map where it covers the fewest marks
        (start, critical points, paths), then the least of the coloured field; on a
        tie, top left, top right, bottom left, bottom right. The legend of a surface
        drawn to the edges covered the start; now it moves out of the way."""
        self._legend_timer.stop()
        vb, leg = self.viewbox, self.legend
        w, h = leg.width(), leg.height()
        vw, vh = vb.width(), vb.height()
        if not (w > 0 and h > 0 and vw > 2 * w and vh > 2 * h):
            return
        marks = self._legend_marks()
        field = getattr(self, "_image_rect", None) if self._surface is not None else None
        best = None
        for order, (name, (ax, ay)) in enumerate(LEGEND_CORNERS.items()):
            x0 = LEGEND_PAD if ax == 0 else vw - w - LEGEND_PAD
            y0 = LEGEND_PAD if ay == 0 else vh - h - LEGEND_PAD
            a = vb.mapToView(QPointF(x0, y0))
            b = vb.mapToView(QPointF(x0 + w, y0 + h))
            lx0, lx1 = sorted((a.x(), b.x()))
            ly0, ly1 = sorted((a.y(), b.y()))
            inside = 0
            if len(marks):
                inside = int(np.count_nonzero(
                    (marks[:, 0] >= lx0) & (marks[:, 0] <= lx1)
                    & (marks[:, 1] >= ly0) & (marks[:, 1] <= ly1)))
            covered = 0.0
            if field is not None:
                ox = max(0.0, min(lx1, field.right()) - max(lx0, field.left()))
                oy = max(0.0, min(ly1, field.bottom()) - max(ly0, field.top()))
                covered = ox * oy / max((lx1 - lx0) * (ly1 - ly0), 1e-300)
            score = (inside, round(covered, 2), order)
            if best is None or score < best[0]:
                best = (score, name, ax, ay)
        _, name, ax, ay = best
        if name != self.legend_corner:
            self.legend_corner = name
            off = (LEGEND_PAD if ax == 0 else -LEGEND_PAD, LEGEND_PAD if ay == 0 else -LEGEND_PAD)
            leg.anchor(itemPos=(ax, ay), parentPos=(ax, ay), offset=off)

    def legend_rect(self) -> tuple[float, float, float, float]:
        """The legend's box in view coordinates ``(x0, x1, y0, y1)`` (for tests)."""
        r = self.legend.mapRectToItem(self.viewbox, self.legend.boundingRect())
        a = self.viewbox.mapToView(r.topLeft())
        b = self.viewbox.mapToView(r.bottomRight())
        return (*sorted((a.x(), b.x())), *sorted((a.y(), b.y())))

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: paths, marks, legend and axes ``PRESENT_SCALE`` times
        larger, readable on a projector; off: as usual."""
        k = PRESENT_SCALE if on else 1.0
        if k == self.scale:
            return
        self.scale = k
        for lane, _run in getattr(self, "_shown", []):
            self._set_pen(lane, self._lane_items[lane.uid])
        for m in self._markers.values():
            m.set_scale(k)
        self.start_item.setSize(14 * k)
        self.start_item.setPen(pg.mkPen("#000000", width=2 * k))
        self.diverged_item.setSize(DIVERGED_SIZE * k)
        for kind, it in self._cp_items.items():
            it.opts["size"] = cp_size(kind) * k  # the legend's sample
        self.legend.opts["labelTextSize"] = f"{8 * k:g}pt"
        self._legend_kinds = None  # rebuilt with the new label size
        self._draw_critical_points()
        # the check boxes above the map keep the usual type (at 1.8 times they no
        # longer fit beside each other); the map's own labels grow
        for w in (self.log_check, self.contours_check, self.eigen_check, self.fit_button,
                  self.readout):
            w.setFont(QApplication.font())
        label_font = QFont()
        label_font.setPointSizeF(label_font.pointSizeF() * k)
        for label in self.eig_labels:
            label.setFont(label_font)
        scale_axes(self.plot, k)
        scale_axes(self.colorbar, k, ("left", "right"))
        self.colorbar.getAxis("right").setWidth(int(45 * k))
        self._eig_style = [None, None]  # labels laid out again
        self._redraw_eigen()

    def _update_eigen(self, *_):
        """Eigen-direction arrows of the Hessian at the selected lane's current point.

        During a drag (``DRAG``) the arrows drawn last are moved to the lane's new point
        on every tick, and drawn from a fresh analysis when the drag pauses for
        ``EIGEN_SETTLE_MS`` or ends: the analysis and the relaid-out labels would add a
        sixth to a tick (bench/bench_gui.py)."""
        if DRAG.active and self._eig_at is not None and self._shift_eigen():
            self._eig_timer.start(EIGEN_SETTLE_MS)  # again: it fires once the hand rests
            return
        self._redraw_eigen()

    def _redraw_eigen(self) -> None:
        self._eig_timer.stop()
        drawn = self._draw_eigen()
        for i in range(len(self.eig_lines)):
            if i not in drawn and self._eig_style[i] is not None:  # shown: clear it
                self.eig_lines[i].setData([], [])
                self.eig_labels[i].setText("")
                self.eig_labels[i].setVisible(False)  # not even its plate
                self._eig_style[i] = None
        if not drawn:
            self._eig_at = None

    def _shift_eigen(self) -> bool:
        """Move the arrows drawn last to the selected lane's point; False if it has none."""
        p = self._selected_point()
        if p is None:
            return False
        dx, dy = p[0] - self._eig_at[0], p[1] - self._eig_at[1]
        for i in range(len(self.eig_lines)):
            if self._eig_style[i] is not None:
                self.eig_lines[i].setPos(dx, dy)
                lx, ly = self._eig_label_at[i]
                self.eig_labels[i].setPos(lx + dx, ly + dy)
        return True

    def _selected_point(self):
        """The selected lane's point at the current frame (finite), or None."""
        if not self.eigen_check.isChecked() or self._surface is None:
            return None
        lane = selected_lane(self.session)
        if lane is None or lane.uid not in self._paths:
            return None
        run = self.session.results.get(lane.uid)
        if run is None:
            return None
        k = lane_step(run, getattr(self.session, "frame", 0))
        p = np.asarray(run.positions[k], dtype=float)
        return p if p.shape == (2,) and np.all(np.isfinite(p)) else None

    def _draw_eigen(self) -> set:
        """Draw the arrows; return the indices drawn (the others are cleared)."""
        p = self._selected_point()
        if p is None:
            return set()
        pa = self._analysis(p)
        if pa is None or not getattr(pa, "defined", True):
            return set()
        lam = np.asarray(pa.eigenvalues, dtype=float)
        vec = np.asarray(pa.eigenvectors, dtype=float)
        if lam.shape != (2,) or not np.all(np.isfinite(lam)):
            return set()
        px, py = self.viewbox.viewPixelSize()
        if not (px > 0 and py > 0):
            return set()
        big = max(np.abs(lam).max(), 1e-300)
        drawn = set()
        for i in range(2):
            v = vec[:, i]
            # length on screen, proportional to |lambda|, with a floor to stay visible
            length = ARROW_PX * max(0.22, abs(lam[i]) / big) / 2
            u = np.array([v[0] / px, v[1] / py])
            nrm = np.hypot(*u)
            if nrm == 0:
                continue
            d = u / nrm * length
            ex, ey = p[0] + d[0] * px, p[1] + d[1] * py
            sx, sy = p[0] - d[0] * px, p[1] - d[1] * py
            hx, hy = arrow_heads([p[0], p[0]], [p[1], p[1]], [ex, sx], [ey, sy], px, py, 7.0)
            color = EIG_POS if lam[i] >= 0 else EIG_NEG
            line = self.eig_lines[i]
            line.setPos(0.0, 0.0)
            line.setData(np.r_[sx, ex, hx], np.r_[sy, ey, hy])
            label = self.eig_labels[i]
            text = f"\u03bb{i + 1} = {lam[i]:+.3g}"
            if self._eig_style[i] != (color, text):  # new text is laid out again: slow
                self._eig_style[i] = (color, text)
                line.setPen(pg.mkPen(color, width=2.4))
                label.setColor(color)
                label.setText(text)
                label.setVisible(True)
            label.setPos(ex, ey)
            self._eig_label_at[i] = (ex, ey)
            drawn.add(i)
        self._eig_at = (float(p[0]), float(p[1]))
        return drawn

    def _analysis(self, p):
        try:
            return analysis(self._surface, p)
        except Exception:  # noqa: BLE001 - diverged points may not be analysable
            return None

    # ---- interaction -----------------------------------------------------------------------------
    def fit(self):
        """Show the surface's whole domain."""
        if self._surface is None:
            return
        (x0, x1), (y0, y1) = self._surface.domain
        self.viewbox.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)

    def _place_start(self, point: QPointF):
        if self._surface is None or self._surface.dim != 2:
            return
        p = (float(point.x()), float(point.y()))
        if not all(np.isfinite(p)):
            return
        self.session.set_start(p)

    def _on_mouse_moved(self, scene_pos):
        if self._surface is None or not self.viewbox.sceneBoundingRect().contains(scene_pos):
            self._emit_cursor(None)
            return
        q = self.viewbox.mapSceneToView(scene_pos)
        p = np.array([q.x(), q.y()])
        self._emit_cursor(p)

    def _emit_cursor(self, p):
        if p is None:
            self.readout.setText("")
        else:
            names = self._surface.variables
            try:
                val = float(self._surface.value(p))
            except Exception:  # noqa: BLE001
                val = float("nan")
            txt = "undefined" if not np.isfinite(val) else fmt(val)
            self.readout.setText(
                f"{names[0]} = {fmt(p[0], 3)}   {names[1]} = {fmt(p[1], 3)}   L = {txt}"
            )
        self.cursor_moved.emit(p)

    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Leave:
            self._emit_cursor(None)
        return super().eventFilter(obj, ev)

    # ---- for tests and the benchmark ------------------------------------------------------------
    def marker_positions(self) -> np.ndarray:
        """The shown lanes' current positions, as drawn (n, 2); hidden ones are nan."""
        out = []
        for lane, _run in getattr(self, "_shown", []):
            m = self._markers[lane.uid]
            out.append((m.pos().x(), m.pos().y()) if m.isVisible() else (np.nan, np.nan))
        return np.array(out, dtype=float).reshape(-1, 2)

    def lane_item(self, uid: int) -> TrailItem:
        return self._lane_items[uid]

    def view_to_scene(self, x: float, y: float) -> QPointF:
        return self.viewbox.mapViewToScene(QPointF(x, y))
