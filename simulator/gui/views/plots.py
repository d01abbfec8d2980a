"""Plots under the views: loss, gradient norm and the learning rate actually used.

One curve per lane in the lane's colour, all three plots sharing the step axis, and a
vertical line at the current frame. "Log y" shows loss and gradient norm on a log scale,
where a linearly converging run is a straight line and the end of progress is obvious;
the loss is then shown as ``L - L*`` (the gap to the known minimum value, or to the
lowest loss any lane reached) so it can be logged even where L goes negative.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from .common import cache_axes, is_selected, shown_lanes

TINY = 1e-300


class PlotsPanel(QWidget):
    """Loss, gradient norm and learning rate against step, per lane."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._curves: dict[int, dict[str, pg.PlotDataItem]] = {}
        self._drawn: dict[int, tuple] = {}  # uid -> (run drawn, (log, loss floor))
        self._pens: dict[int, tuple[str, float]] = {}  # uid -> (colour, width) set
        self._log: bool | None = None  # the log mode the plots are in

        self.log_check = QCheckBox("Log y")
        self.log_check.setChecked(True)
        self.log_check.setToolTip(
            "Log scale for loss and gradient norm: steady convergence is a straight line. "
            "The loss is then shown as L - L* (gap to the minimum value)."
        )
        self.note = QLabel("")
        self.note.setStyleSheet("color: palette(mid);")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.log_check)
        bar.addWidget(self.note, 1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.loss_plot = self.graphics.addPlot(col=0)
        self.grad_plot = self.graphics.addPlot(col=1)
        self.lr_plot = self.graphics.addPlot(col=2)
        cache_axes(self.loss_plot, self.grad_plot, self.lr_plot)
        self.plots = {"loss": self.loss_plot, "grad": self.grad_plot, "lr": self.lr_plot}
        titles = {"loss": "loss", "grad": "gradient norm |g|", "lr": "learning rate used"}
        self.frame_lines = {}
        for key, p in self.plots.items():
            p.setTitle(titles[key], size="9pt")
            p.setLabel("bottom", "step")
            p.showGrid(x=True, y=True, alpha=0.15)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            p.getAxis("left").setWidth(46)
            line = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen("#bbbbbb", width=1, style=Qt.PenStyle.DashLine),
            )
            line.setZValue(50)
            p.addItem(line)
            self.frame_lines[key] = line
        self.grad_plot.setXLink(self.loss_plot)
        self.lr_plot.setXLink(self.loss_plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)

        self.log_check.toggled.connect(self._on_trajectories_changed)
        s = session
        s.surface_changed.connect(self._on_trajectories_changed)
        s.lanes_changed.connect(self._on_trajectories_changed)
        s.trajectories_changed.connect(self._on_trajectories_changed)
        s.frame_changed.connect(self._on_frame_changed)
        s.selected_lane_changed.connect(self._on_selected_lane_changed)
        self._on_trajectories_changed()

    def _on_trajectories_changed(self, *_):
        shown = shown_lanes(self.session)
        uids = {lane.uid for lane, _ in shown}
        for uid in list(self._curves):
            if uid not in uids:
                for key, item in self._curves.pop(uid).items():
                    self.plots[key].removeItem(item)
                self._drawn.pop(uid, None)
                self._pens.pop(uid, None)
        log = self.log_check.isChecked()
        surface = getattr(self.session, "surface", None)
        floor = self._loss_floor(surface, shown) if log else 0.0
        if log != self._log:
            # setLogMode and setTitle touch every curve and the layout: only on a change
            self._log = log
            for key in ("loss", "grad"):
                self.plots[key].setLogMode(x=False, y=log)
            if log:
                self.loss_plot.setTitle("loss gap L - L*  (log)", size="9pt")
                self.grad_plot.setTitle("gradient norm |g|  (log)", size="9pt")
            else:
                self.loss_plot.setTitle("loss L", size="9pt")
                self.grad_plot.setTitle("gradient norm |g|", size="9pt")
        for lane, run in shown:
            items = self._curves.get(lane.uid)
            if items is None:
                items = {}
                for key, p in self.plots.items():
                    it = pg.PlotDataItem(connect="finite")
                    # the curves only change with the runs: cache them as pixmaps so
                    # moving the frame line each frame does not repaint 3 x 8 curves
                    it.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                    p.addItem(it)
                    items[key] = it
                self._curves[lane.uid] = items
            # a lane whose run (and loss floor) is the one drawn keeps its curves: an
            # edit of one lane re-sets 3 curves, not 3 x 8 (and repaints only those)
            drawn = self._drawn.get(lane.uid)
            if drawn is None or drawn[0] is not run or drawn[1] != (log, floor):
                self._set_curves(items, run, log, floor)
                self._drawn[lane.uid] = (run, (log, floor))
            self._set_pen(lane, items)
        self.note.setText(f"L* = {floor:.6g}" if log and shown else "")
        steps = getattr(self.session, "steps", None)
        if steps:
            self.loss_plot.setXRange(0, steps, padding=0.01)
        for p in self.plots.values():
            p.enableAutoRange(axis="y")
        self._on_frame_changed(getattr(self.session, "frame", 0))

    def _set_curves(self, items, run, log: bool, floor: float) -> None:
        n = len(run.losses)
        steps = np.arange(n, dtype=float)
        loss = np.asarray(run.losses, dtype=float)
        grad = np.sqrt(np.sum(np.asarray(run.gradients, dtype=float) ** 2, axis=1))
        if log:
            with np.errstate(invalid="ignore"):
                loss = np.maximum(loss - floor, TINY)
                grad = np.maximum(grad, TINY)
        lrs = np.asarray(run.learning_rates, dtype=float)
        items["loss"].setData(steps, self._finite(loss))
        items["grad"].setData(steps, self._finite(grad))
        items["lr"].setData(np.arange(len(lrs), dtype=float), self._finite(lrs))

    def _set_pen(self, lane, items) -> None:
        width = 2.4 if is_selected(self.session, lane) else 1.5
        if self._pens.get(lane.uid) != (lane.color, width):
            self._pens[lane.uid] = (lane.color, width)
            for it in items.values():
                it.setPen(pg.mkPen(lane.color, width=width))

    @staticmethod
    def _finite(a):
        # diverged runs hold inf; pyqtgraph's autorange chokes on it, a gap is honest
        a = np.array(a, dtype=float, copy=True)
        a[~np.isfinite(a)] = np.nan
        a[np.abs(a) > 1e150] = np.nan
        return a

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
        for line in self.frame_lines.values():
            line.setPos(frame)

    def _on_selected_lane_changed(self, _i=None):
        for lane, _run in shown_lanes(self.session):
            items = self._curves.get(lane.uid)
            if items:
                self._set_pen(lane, items)

    # ---- for tests ----------------------------------------------------------------------------
    def curve(self, uid: int, key: str) -> pg.PlotDataItem:
        """The PlotDataItem of lane ``uid`` in plot ``key`` ("loss", "grad" or "lr")."""
        return self._curves[uid][key]
