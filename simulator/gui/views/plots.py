"""Plots under the views: loss, gradient norm and the learning rate actually used.

One curve per lane in the lane's colour, all three plots sharing the step axis, and a
vertical line at the current frame. "Log y" shows the three on a log scale, where a
linearly converging run is a straight line and the end of progress is obvious, and lanes
whose learning rates differ a hundredfold stay apart; the loss is then shown as
``L - L*`` (the gap to the known minimum value, or to the lowest loss any lane reached)
so it can be logged even where L goes negative. A diverged lane is followed only a few
decades up a log axis, then its curve leaves through the top: its peak (up to 1e150)
would push every other lane off the axis.

Speed: the y ranges are fitted by the panel, not by pyqtgraph's auto-range, and snapped
to round values (whole decades on a log axis). Dragging a learning-rate slider then
rarely moves an axis, so the axes and the other lanes' cached curves stay as they are
and only the edited lane's three curves are drawn again. Curves are drawn with at most
two points per pixel column (peak downsampling keeps every spike) and one-pixel
cosmetic pens; the selected lane stands out by being drawn on top at full strength
while the others are dimmed.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from simulator.core.plotmath import diverged_at, symlog, symlog_threshold

from ..drag import DRAG
from ..lanes import is_selected, on_lane_edits, shown_lanes
from ..marks import DIVERGED_COLOR
from ..plotting import (  # noqa: F401 - the axis helpers were defined here
    LOG_TOP,
    MAX_DECADES,
    PRESENT_SCALE,
    LineItem,
    LogAxis,
    SymLogAxis,
    cache_axes,
    device_cached,
    headroom,
    nice_range,
    peak_decimate,
    refit,
    repaint_bounding_rect,
    retire,
    scale_axes,
    still_fits,
)
from ..scheduling import TurnTimer

TINY = 1e-300
UNBOUNDED = 1e6  # a loss below -UNBOUNDED on a surface without a known minimum: unbounded
LOSS_TITLES = {
    "gap": "loss gap L - L*  (log)",
    "symlog": "loss L  (symmetric log)",
    "linear": "loss L",
}
DIMMED_ALPHA = 120  # the lanes not selected, drawn behind the selected one
DIVERGED_DECADES = 4.0  # how far up a log axis follows a diverged lane (see _set_curves)
# when more than this many lanes' curves change at once (the start point dragged, a new
# surface), the curves are drawn directly instead of each into its pixmap cache first:
# 24 new caches cost more than they save (plots' paint 5 -> 2 ms a start-drag tick).
# They are cached again once such edits pause for RECACHE_MS.
DIRECT_LANES = 2
RECACHE_MS = 300
LATER_MS = 40  # after a new surface the plots are drawn this much later (a turn of its own)


def decimate_for(values: np.ndarray, view) -> tuple[np.ndarray, np.ndarray]:
    """``peak_decimate`` of what ``view`` shows: ``(x0, x1, width in pixels)``, the
    visible steps and one more on each side."""
    x0, x1, width = view
    i0 = int(np.floor(x0)) - 1 if np.isfinite(x0) else 0
    i1 = int(np.ceil(x1)) + 2 if np.isfinite(x1) else values.shape[-1]
    return peak_decimate(values, i0, i1, int(width))


def _per_step(run, values):
    """``values`` (a row per recorded step) at every step of ``run``: as they are, or
    spread with nan between records (``Trajectory.per_step``)."""
    if getattr(run, "record_steps", None) is None:
        return values
    return run.per_step(values)


def grad_norms(gradients) -> np.ndarray:
    """The norm of each gradient (over the last axis); hypot does not overflow where
    the squares would (a diverging run's gradient). Two columns go through one vector
    hypot: a reduction over each short row costs three times more."""
    g = np.asarray(gradients, dtype=float)
    if g.shape[-1] == 2:
        return np.hypot(g[..., 0], g[..., 1])
    return np.hypot.reduce(np.abs(g), axis=-1)


class LaneCurve(LineItem):
    """One lane's series in one plot: the full series is kept, a peak-decimated copy
    of the visible part (about two points per pixel column) is drawn.

    Lighter than pyqtgraph's PlotDataItem (whose per-``setData`` machinery costs about
    a millisecond per curve: 24 curves when the start point is dragged) and than its
    PlotCurveItem (see ``LineItem``). On a log axis the drawn values are log10 of the
    series, as pyqtgraph's log mode would draw them.
    """

    def __init__(self):
        super().__init__()
        self.series = np.zeros(0)  # the values, as given (not logged)
        self.values = np.zeros(0)  # what is drawn (decimated): the series or its log10
        self.log = False

    def show(self, series, values, log: bool, x, y) -> None:
        """Hold ``series`` (``values``: what is drawn, its log10 on a log axis) and draw
        ``(x, y)``, its decimated visible part (see ``decimate_for``)."""
        self.series, self.values, self.log = series, values, log
        self.setData(x, y)

    def redecimate(self, view) -> None:
        """Decimate again for ``(x0, x1, width in pixels)`` of the view."""
        self.setData(*decimate_for(self.values, view))

    def getOriginalDataset(self):  # noqa: N802 - pyqtgraph's name for the same thing
        return np.arange(len(self.series), dtype=float), self.series


class PlotsPanel(QWidget):
    """Loss, gradient norm and learning rate against step, per lane."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._curves: dict[int, dict[str, LaneCurve]] = {}
        self._drawn: dict[int, tuple] = {}  # uid -> (run drawn, (log, loss floor))
        # diverged lanes: uid -> ((step, colour), {plot key: vertical line at that step})
        self._div_lines: dict[int, tuple] = {}
        self._pens: dict[int, tuple[str, bool]] = {}  # uid -> (colour, selected) set
        self._log: bool | None = None  # the log mode the plots are in
        # how the loss is drawn: "gap" (L - L*, log), "symlog" (L, symmetric log: no
        # finite minimum is known) or "linear" (L)
        self.loss_mode: str | None = None
        self._bounds: dict[int, dict[str, tuple[float, float]]] = {}  # uid -> key -> y
        self._auto_y = {"loss": True, "grad": True, "lr": True}  # the panel fits y
        self._fitting = False
        self._line_column = None  # (pixel column, view start, pixel size) of the lines
        self._fitted: dict[str, tuple[float, float]] = {}  # key -> y range last set
        self._cached = True  # the curves are drawn through pixmap caches
        self.scale = 1.0  # fonts (PRESENT_SCALE in presentation mode)
        self._recache = QTimer(self)
        self._recache.setSingleShot(True)
        self._recache.timeout.connect(lambda: self._cache_curves(True))
        # a new surface redraws every view at once: the plots follow a turn later
        self._later = TurnTimer(self)
        self._later.timeout.connect(self._on_trajectories_changed)

        self.log_check = QCheckBox("Log y")
        self.log_check.setChecked(True)
        self.log_check.setToolTip(
            "Log scale for loss, gradient norm and learning rate: steady convergence is a "
            "straight line, and rates a hundredfold apart stay readable. The loss is then "
            "shown as L - L* (gap to the minimum value)."
        )
        self.note = QLabel("")
        self.note.setStyleSheet("color: palette(mid);")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.log_check)
        bar.addWidget(self.note, 1)

        self.graphics = pg.GraphicsLayoutWidget()
        repaint_bounding_rect(self.graphics)
        self.loss_plot = self.graphics.addPlot(col=0, axisItems={"left": SymLogAxis("left")})
        self.grad_plot = self.graphics.addPlot(col=1, axisItems={"left": LogAxis("left")})
        self.lr_plot = self.graphics.addPlot(col=2, axisItems={"left": LogAxis("left")})
        cache_axes(self.loss_plot, self.grad_plot, self.lr_plot)
        self.plots = {"loss": self.loss_plot, "grad": self.grad_plot, "lr": self.lr_plot}
        titles = {"loss": "loss", "grad": "gradient norm |g|", "lr": "learning rate used"}
        self.frame_lines = {}
        for key, p in self.plots.items():
            p.setTitle(titles[key], size=self._title_size())
            p.setLabel("bottom", "step")
            p.showGrid(x=True, y=True, alpha=0.15)
            vb = p.getViewBox()
            vb.disableAutoRange(axis="y")
            # a zoom or pan by the user stops the fitting until "A" (auto) is pressed
            vb.sigRangeChangedManually.connect(lambda *_a, k=key: self._user_range(k))
            p.autoBtn.clicked.connect(lambda *_a, k=key: self._auto_again(k))
            p.getAxis("left").setWidth(46)
            line = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen("#bbbbbb", width=1, style=Qt.PenStyle.DashLine),
            )
            line.setZValue(50)
            p.addItem(line)
            self.frame_lines[key] = line
        # a zoom makes a sub-pixel difference visible: put the frame lines exactly again;
        # a zoom or a resize also changes how many steps share a pixel column
        lvb = self.loss_plot.getViewBox()
        lvb.sigXRangeChanged.connect(self._exact_frame_lines)
        lvb.sigXRangeChanged.connect(self._redecimate)
        lvb.sigResized.connect(self._redecimate)
        self.grad_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

        self.log_check.toggled.connect(self._on_trajectories_changed)
        s = session
        s.surface_changed.connect(self._on_surface_changed)
        on_lane_edits(s, self._on_trajectories_changed)
        s.trajectories_changed.connect(self._on_trajectories_changed)
        s.frame_changed.connect(self._on_frame_changed)
        s.selected_lane_changed.connect(self._on_selected_lane_changed)
        DRAG.changed.connect(self._on_drag)
        self._on_trajectories_changed()

    def _title_size(self) -> str:
        return f"{9 * self.scale:g}pt"

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: titles and axes ``PRESENT_SCALE`` times larger."""
        # less than the views: three plots share a short strip
        k = 1 + (PRESENT_SCALE - 1) / 2 if on else 1.0
        if k == self.scale:
            return
        self.scale = k
        self.log_check.setFont(QApplication.font())
        self.note.setFont(QApplication.font())
        for p in self.plots.values():
            p.setTitle(p.titleLabel.text, size=self._title_size())
            scale_axes(p, k)
            p.getAxis("left").setWidth(int(46 * k))

    def _on_drag(self, dragging: bool) -> None:
        if not dragging:
            self._fit_y()  # the axes only grew during the drag: fit them again

    def _on_surface_changed(self) -> None:
        """Draw the new surface's runs in the next event-loop turn (``LATER_MS``): with
        the map's colour layer, contour lines and axes, the plots' 24 new curves and
        their axes made the turn after a surface was picked one of over 100 ms."""
        self._later.start(LATER_MS)

    def _on_trajectories_changed(self, *_):
        if self._later.isActive() and self.sender() is not self._later:
            return  # a new surface: drawn when the timer fires
        self._later.stop()
        shown = shown_lanes(self.session)
        uids = {lane.uid for lane, _ in shown}
        for uid in list(self._curves):
            if uid not in uids:
                for key, item in self._curves.pop(uid).items():
                    retire(self.plots[key], item)
                self._drawn.pop(uid, None)
                self._pens.pop(uid, None)
                self._bounds.pop(uid, None)
        log = self.log_check.isChecked()
        surface = getattr(self.session, "surface", None)
        mode = self._loss_mode(surface, shown) if log else "linear"
        floor = self._loss_floor(surface, shown) if mode == "gap" else 0.0
        # symlog: the threshold is in the key too (the curves are drawn with it)
        if mode == "symlog":
            floor_key = (mode, symlog_threshold([r.losses[0] for _, r in shown
                                                 if len(r.losses)]))
        else:
            floor_key = floor
        if log != self._log:
            # setLogMode and setTitle touch every curve and the layout: only on a change
            self._log = log
            for key in ("loss", "grad", "lr"):
                self.plots[key].setLogMode(x=False, y=log)
                self._auto_y[key] = True  # the old zoom means nothing on the new scale
                self._fitted.pop(key, None)
            if log:
                self.grad_plot.setTitle("gradient norm |g|  (log)", size=self._title_size())
                self.lr_plot.setTitle("learning rate used  (log)", size=self._title_size())
            else:
                self.grad_plot.setTitle("gradient norm |g|", size=self._title_size())
                self.lr_plot.setTitle("learning rate used", size=self._title_size())
        c = floor_key[1] if mode == "symlog" else None
        axis = self.loss_plot.getAxis("left")
        if mode != self.loss_mode or axis.linthresh != c:
            self.loss_mode = mode
            self.loss_plot.setLogMode(x=False, y=mode == "gap")
            axis.linthresh = c
            axis.picture = None
            axis.update()
            self._auto_y["loss"] = True
            self._fitted.pop("loss", None)
            self.loss_plot.setTitle(LOSS_TITLES[mode], size=self._title_size())
        todo = []  # (uid, items, run) of the lanes whose curves are drawn again
        for lane, run in shown:
            items = self._curves.get(lane.uid)
            if items is None:
                items = {}
                for key, p in self.plots.items():
                    it = LaneCurve()
                    # the curves only change with the runs: cache them as pixmaps so
                    # moving the frame line each frame does not repaint 3 x 8 curves
                    device_cached(it)
                    if not self._cached:
                        it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
                    p.addItem(it)
                    items[key] = it
                self._curves[lane.uid] = items
            # a lane whose run (and loss floor) is the one drawn keeps its curves: an
            # edit of one lane re-sets 3 curves, not 3 x 8 (and repaints only those)
            drawn = self._drawn.get(lane.uid)
            if drawn is None or drawn[0] is not run or drawn[1] != (log, floor_key):
                todo.append((lane.uid, items, run))
                self._drawn[lane.uid] = (run, (log, floor_key))
            self._set_pen(lane, items)
        if todo:
            if len(todo) > DIRECT_LANES:
                self._cache_curves(False)
                self._recache.start(RECACHE_MS)
            self._set_curves(todo, log, floor, c)
        self._mark_divergence(shown)
        if mode == "symlog":
            self.note.setText("no finite minimum: the loss itself, symmetric log axis")
        else:
            self.note.setText(f"L* = {floor:.6g}" if log and shown else "")
        steps = getattr(self.session, "steps", None)
        if steps:
            self.loss_plot.setXRange(0, steps, padding=0.01)
        self._fit_y()
        self._on_frame_changed(getattr(self.session, "frame", 0))

    def _set_curves(self, todo: list, log: bool, floor: float,
                    linthresh: float | None = None) -> None:
        """Draw the three curves of each ``(uid, items, run)`` in ``todo`` and keep the
        bounds of what is drawn (log10 already taken, floored values excluded).

        Runs of one length go through as the rows of one array: a start-point drag
        re-sets every lane, one numpy pass per step instead of one per curve (24 with
        8 lanes); each row is drawn exactly as on its own. With ``linthresh`` the loss
        is drawn as ``symlog(L, linthresh)`` (no finite minimum known)."""
        by_length: dict[int, list] = {}
        for entry in todo:
            by_length.setdefault(len(entry[2].positions), []).append(entry)
        view = self._view()
        for group in by_length.values():
            runs = [run for _, _, run in group]
            # a step per column; a network run recorded once an epoch: gaps between
            loss = np.array([_per_step(run, run.losses) for run in runs], dtype=float)
            grad = grad_norms(np.array([_per_step(run, run.gradients) for run in runs],
                                       dtype=float))
            if log:
                with np.errstate(invalid="ignore"):
                    if linthresh is None:
                        loss = np.maximum(loss - floor, TINY)
                    grad = np.maximum(grad, TINY)
            lrs = np.array([run.learning_rates for run in runs], dtype=float)
            for key, y in (("loss", loss), ("grad", grad), ("lr", lrs)):
                y = self._finite(y)
                if key == "loss" and linthresh is not None:
                    values = symlog(y, linthresh)
                    drawn = np.isfinite(values)
                    x, dec = decimate_for(values, view)
                    lows = np.min(values, axis=-1, where=drawn, initial=np.inf)
                    highs = np.max(values, axis=-1, where=drawn, initial=-np.inf)
                    for row, (uid, items, _run) in enumerate(group):
                        items[key].show(y[row], values[row], False, x, dec[row])
                        ok = drawn[row].any()
                        self._bounds.setdefault(uid, {})[key] = (
                            (float(lows[row]), float(highs[row])) if ok else (np.nan, np.nan))
                    continue
                if log:  # a rate of 0 (a schedule's end) is a gap on a log axis
                    values = np.full(y.shape, np.nan)
                    with np.errstate(invalid="ignore"):
                        np.log10(y, out=values, where=y > 0)
                        drawn = y > TINY
                else:
                    values, drawn = y, np.isfinite(y)
                x, dec = decimate_for(values, view)
                lows = np.min(values, axis=-1, where=drawn, initial=np.inf)
                highs = np.max(values, axis=-1, where=drawn, initial=-np.inf)
                for row, (uid, items, run) in enumerate(group):
                    items[key].show(y[row], values[row], log, x, dec[row])
                    bounds = self._bounds.setdefault(uid, {})
                    if not drawn[row].any():
                        bounds[key] = (np.nan, np.nan)
                        continue
                    lo, hi = float(lows[row]), float(highs[row])
                    if log and key != "lr" and getattr(run, "status", "") == "diverged":
                        # the axis follows a diverged lane only DIVERGED_DECADES above
                        # where it started; its curve then leaves through the top, as a
                        # teacher draws it, and the other lanes stay readable (its peak
                        # can be 1e150)
                        first = float(values[row][np.argmax(drawn[row])])
                        hi = max(lo, min(hi, first + DIVERGED_DECADES))
                    bounds[key] = (lo, hi)

    def _mark_divergence(self, shown) -> None:
        """A dash-dot line in the lane's colour at the step where each diverged lane
        blew up, in every plot (labelled "diverged" in the loss plot): its curves end
        there, or leave through the top of a log axis."""
        want = {}
        for lane, run in shown:
            step = diverged_at(run)
            if step is not None:
                want[lane.uid] = (step, lane.color)
        for uid in list(self._div_lines):
            if want.get(uid) != self._div_lines[uid][0]:
                for key, line in self._div_lines.pop(uid)[1].items():
                    retire(self.plots[key], line)
        for row, (uid, (step, color)) in enumerate(want.items()):
            if uid in self._div_lines:
                continue
            lines = {}
            for key, p in self.plots.items():
                line = pg.InfiniteLine(
                    pos=step, angle=90, movable=False,
                    pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashDotLine),
                    label="diverged" if key == "loss" else None,
                    # one label under another: lanes diverging a few steps apart
                    labelOpts={"position": 0.92 - 0.14 * (row % 4),
                                "color": DIVERGED_COLOR},
                )
                line.setZValue(40)
                p.addItem(line)
                lines[key] = line
            self._div_lines[uid] = ((step, color), lines)

    def _cache_curves(self, on: bool) -> None:
        """Draw the curves through pixmap caches (a frame line moved, one lane edited:
        the other curves are blits) or directly (most curves new at every tick)."""
        if on == self._cached:
            return
        self._cached = on
        mode = (QGraphicsItem.CacheMode.DeviceCoordinateCache if on
                else QGraphicsItem.CacheMode.NoCache)
        for items in self._curves.values():
            for it in items.values():
                it.setCacheMode(mode)

    def _view(self) -> tuple[float, float, int]:
        """The visible steps and the plot's width in pixels (the plots share x)."""
        vb = self.loss_plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        return x0, x1, max(int(vb.width()), 50)

    def _redecimate(self, *_):
        view = self._view()
        if view == getattr(self, "_decimated_for", None):
            return
        self._decimated_for = view
        for items in self._curves.values():
            for it in items.values():
                it.redecimate(view)

    # ---- y ranges ------------------------------------------------------------------------------
    def _fit_y(self) -> None:
        """Set each plot's y range to the data's, snapped (see the module docstring)."""
        for key, p in self.plots.items():
            if not self._auto_y[key]:
                continue
            lows = [b[key][0] for b in self._bounds.values() if np.isfinite(b[key][0])]
            highs = [b[key][1] for b in self._bounds.values() if np.isfinite(b[key][1])]
            if not lows:
                continue
            log = bool(self._log) and not (key == "loss" and self.loss_mode == "symlog")
            lo, hi = min(lows), max(highs)
            r = refit(self._fitted.get(key), lo, hi, log, DRAG.active)
            if r is None:
                continue  # the axis stays put while the data fit it
            self._fitted[key] = r
            self._fitting = True
            try:
                p.getViewBox().setYRange(*r, padding=0.02)
            finally:
                self._fitting = False

    def _user_range(self, key: str) -> None:
        if not self._fitting:
            self._auto_y[key] = False
            self._fitted.pop(key, None)

    def _auto_again(self, key: str) -> None:
        self._auto_y[key] = True
        self._fitted.pop(key, None)
        self.plots[key].getViewBox().disableAutoRange(axis="y")
        self._fit_y()

    def _set_pen(self, lane, items) -> None:
        # the selected lane is drawn on top at full strength, the others dimmed; all with
        # one-pixel pens: a wider pen is stroked as a polygon, and the selected lane is
        # the one whose slider is dragged (its 3 curves cost 1.2 ms more per tick)
        selected = is_selected(self.session, lane)
        if self._pens.get(lane.uid) != (lane.color, selected):
            self._pens[lane.uid] = (lane.color, selected)
            color = QColor(lane.color)
            if not selected:
                color.setAlpha(DIMMED_ALPHA)
            for it in items.values():
                it.setPen(pg.mkPen(color, width=1.0))
                it.setZValue(2 if selected else 1)

    @staticmethod
    def _finite(a):
        # diverged runs hold inf; pyqtgraph's autorange chokes on it, a gap is honest
        a = np.array(a, dtype=float, copy=True)
        a[~np.isfinite(a)] = np.nan
        a[np.abs(a) > 1e150] = np.nan
        return a

    @staticmethod
    def _loss_mode(surface, shown) -> str:
        """"gap" (L - L*) where a minimum value is known or the runs' lowest loss is a
        credible one; "symlog" where no finite minimum is known and the runs fall
        without bound (a lane diverged, or a loss below -UNBOUNDED): L* would be one
        of their last values, -5e12 on the saddle, and every gap a flat line."""
        mv = getattr(surface, "min_value", None)
        if mv is not None and np.isfinite(mv):
            return "gap"
        for _lane, r in shown:
            losses = np.asarray(r.losses, dtype=float)
            if getattr(r, "status", "") == "diverged" or not np.isfinite(losses).all():
                return "symlog"
            if len(losses) and losses.min() < -UNBOUNDED:
                return "symlog"
        return "gap"

    @staticmethod
    def _loss_floor(surface, shown) -> float:
        """L*: the known minimum value, else just below the lowest loss any lane reached."""
        mv = getattr(surface, "min_value", None)
        lows = [
            np.nanmin(np.where(np.isfinite(r.losses), r.losses, np.nan))
            for _, r in shown
            if np.isfinite(r.losses).any()
        ]
        low = min(lows) if lows else 0.0
        if mv is not None and np.isfinite(mv) and mv <= low + 1e-12 * max(1.0, abs(low)):
            return float(mv)
        return float(low - 1e-9 * max(1.0, abs(low)))

    def _on_frame_changed(self, frame=None):
        if frame is None:
            frame = getattr(self.session, "frame", 0)
        # a line moved within its pixel column looks the same, but repaints all three
        # plots: while playing, most frames advance the line by less than a pixel
        vb = self.loss_plot.getViewBox()
        px = vb.viewPixelSize()[0]
        x0 = vb.viewRange()[0][0]
        column = (round((frame - x0) / px) if px > 0 else frame, x0, px)
        if column == self._line_column:
            return
        self._line_column = column
        for line in self.frame_lines.values():
            line.setPos(frame)

    def _exact_frame_lines(self, *_):
        self._line_column = None
        self._on_frame_changed()

    def _on_selected_lane_changed(self, _i=None):
        for lane, _run in shown_lanes(self.session):
            items = self._curves.get(lane.uid)
            if items:
                self._set_pen(lane, items)

    # ---- for tests ----------------------------------------------------------------------------
    def curve(self, uid: int, key: str) -> LaneCurve:
        """The curve of lane ``uid`` in plot ``key`` ("loss", "grad" or "lr")."""
        return self._curves[uid][key]
