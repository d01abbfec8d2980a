"""Landscape explorer panel: basin-of-attraction maps and hyperparameter maps.

The maps come from ``simulator.core.maps`` (their colours and files from
``simulator.export.maps``); this panel only chooses what to compute,
runs it on one worker thread (a job at a time, so numba's parallel kernels are never
launched from two threads at once) and draws the rows as they arrive. Any change of a
setting, the surface, the lanes or the training settings cancels the running job and
starts a new one after a short pause (the worker stops at the end of its current chunk,
a fraction of a second).

``install_explorer(window)`` adds the "Explore" menu to the main window and creates the
panel (in a dock) the first time it is asked for.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core import maps as ex
from ..export import maps as map_files

BASIN, HYPER = "basin", "hyper"
COLOR_BY = (("Final loss", "loss"), ("Final test loss", "test_loss"),
            ("Steps to converge", "steps"), ("Status", "status"))
DEBOUNCE_MS = 250
PARAM_LABELS = {"lr": "learning rate", "beta1": "beta1", "beta2": "beta2",
                "noise": "noise", "weight_decay": "weight decay",
                "batch_size": "batch size"}
NETWORK_RESOLUTION = 8  # a network's hyper map: 8 x 8 full runs by default
# default sweep per hyperparameter: (lo, hi, log)
PARAM_RANGES = {
    "lr": (1e-4, 1.0, True), "momentum": (0.0, 0.99, False), "noise": (0.0, 2.0, False),
    "beta1": (0.0, 0.99, False), "beta2": (0.9, 0.9999, False),
    "weight_decay": (0.0, 1.0, False), "eps": (1e-10, 1e-2, True),
    "alpha": (0.5, 0.999, False), "dampening": (0.0, 0.9, False),
    "rho": (0.5, 0.99, False), "lr_decay": (0.0, 0.1, False), "damping": (1e-3, 10.0, True),
}


def _param_label(name: str) -> str:
    return PARAM_LABELS.get(name, name.replace("_", " "))


def _axis_label(name: str, log: bool) -> str:
    return _param_label(name) + (" (log scale)" if log else "")


def _value_text(v: float) -> str:
    """A tick's value as a student reads it: ``1e-4``, ``0.001``, ``0.5``, ``10``, ``1e5``."""
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    mant, exp = f"{v:.2e}".split("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"


class ValueAxis(pg.AxisItem):
    """An axis that, on a log scale, is labelled with the real values.

    A log map places its cells at ``log10(value)``; pyqtgraph's own log mode then labels
    the ticks as powers (``10^1``) and its SI-prefix scaling adds a second factor on top
    (``(x0.001)``): a double scaling students misread. Here the ticks stay at decades
    (with 2 and 5 between them when the range spans less than two decades) and each is
    labelled with the learning rate itself: ``1e-4``, ``0.001``, ``0.01``, ``0.1``.
    """

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.enableAutoSIPrefix(False)
        self.log_values = False

    def set_log_values(self, on: bool) -> None:
        if on != self.log_values:
            self.log_values = on
            self.picture = None
            self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802,N803 - pyqtgraph API
        if not self.log_values:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = min(minVal, maxVal), max(minVal, maxVal)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return []
        d0, d1 = math.floor(lo), math.ceil(hi)
        if d1 - d0 > 60:  # zoomed far out: every few decades
            step = math.ceil((d1 - d0) / 12)
            return [(float(step), [float(d) for d in range(d0, d1 + 1, step) if lo <= d <= hi])]
        decades = [float(d) for d in range(d0, d1 + 1) if lo <= d <= hi]
        mids = [d + math.log10(m) for d in range(d0, d1 + 1) for m in (2, 5)]
        mids = [v for v in mids if lo <= v <= hi]
        minor = [d + math.log10(m) for d in range(d0, d1 + 1) for m in (2, 3, 4, 6, 7, 8, 9)]
        minor = [v for v in minor if lo <= v <= hi]
        if len(decades) >= 3:
            return [(1.0, decades), (None, sorted(mids + minor))]
        return [(1.0, sorted(decades + mids)), (None, minor)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph API
        if not self.log_values:
            return super().tickStrings(values, scale, spacing)
        if spacing is None:  # the unlabelled minor ticks
            return ["" for _ in values]
        return [_value_text(10.0 ** v) for v in values]


# ---- worker ---------------------------------------------------------------------------------
@dataclass
class Job:
    """Everything a map needs, captured on the GUI thread."""

    kind: str
    gen: int
    surface: Any
    runs: list[dict]  # per map: optimizer + simulate settings (+ name, uid)
    resolution: tuple[int, int] = (128, 128)
    steps: int = 500
    hyper: dict = field(default_factory=dict)


class ExplorerWorker(QThread):
    """Runs the latest submitted job; submitting another cancels the running one.

    The thread lives only while there is work (it exits when idle and restarts on the
    next job), so closing the panel never leaves a thread waiting forever.
    """

    # gen, index of the map in the job, the (partial) map, rows done, rows total
    partial = Signal(int, int, object, int, int)
    finished_job = Signal(int, bool)  # gen, complete
    failed = Signal(int, str)
    STOP_WAIT_MS = 10000  # stop() says why it waits longer than this (see stop)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: Job | None = None
        self._gen = 0  # generation of the newest job: anything older cancels itself
        self._cancelled_gen = -1
        self._alive = False

    def submit(self, job: Job) -> None:
        with self._lock:
            self._pending = job
            self._gen = job.gen
            start = not self._alive
            self._alive = True
        if start:
            self.wait()  # the previous run() has returned or is returning
            self.start()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled_gen = self._gen
            self._pending = None

    def stop(self) -> None:
        """Cancel and return once the thread has ended. A first map compiles the batch
        kernel (tens of seconds on a cold cache) and a compile cannot be interrupted;
        a QThread destroyed while it runs makes Qt abort the process, so past
        ``STOP_WAIT_MS`` this says why and goes on waiting."""
        self.cancel()
        if not self.wait(self.STOP_WAIT_MS):
            print("LossLab: waiting for the map computation to end (its kernel is "
                  "compiling; this happens once)...", file=sys.stderr, flush=True)
            self.wait()

    def _should_cancel(self, gen: int) -> bool:
        return gen != self._gen or gen <= self._cancelled_gen

    def run(self) -> None:  # noqa: D401 - QThread API
        while True:
            with self._lock:
                job, self._pending = self._pending, None
                if job is None:
                    self._alive = False
                    return
            try:
                complete = self._run_job(job)
            except Exception as e:  # noqa: BLE001 - shown to the user, the app goes on
                self.failed.emit(job.gen, str(e))
                continue
            self.finished_job.emit(job.gen, complete)

    def _run_job(self, job: Job) -> bool:
        gen = job.gen

        def cancel():
            return self._should_cancel(gen)

        complete = True
        for k, run in enumerate(job.runs):
            if cancel():
                return False

            def progress(done, total, m, k=k):
                self.partial.emit(gen, k, m, done, total)

            kw = {key: run[key] for key in ("schedule", "noise", "seed", "clip_grad_norm",
                                             "batch_size")}
            if job.kind == BASIN:
                m = ex.basin_map(job.surface, run["optimizer"], job.resolution, job.steps,
                                 progress=progress, cancel=cancel, **kw)
            else:
                h = job.hyper
                m = ex.hyper_map(job.surface, run["optimizer"], run["start"], h["px"],
                                 h["vx"], h["py"], h["vy"], job.steps, progress=progress,
                                 cancel=cancel, **kw)
            self.partial.emit(gen, k, m, m.rows_done, len(m.labels if job.kind == BASIN
                                                          else m.values_y))
            complete = complete and m.complete
        return complete


# ---- the panel -----------------------------------------------------------------------------
class _MapPlot:
    """One map picture: image, markers, boundary curve and a caption."""

    def __init__(self, layout: pg.GraphicsLayout, col: int) -> None:
        self.plot = layout.addPlot(row=0, col=col, axisItems={
            "bottom": ValueAxis("bottom"), "left": ValueAxis("left")})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setAspectLocked(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.marks = pg.ScatterPlotItem(symbol="+", size=14, pen=pg.mkPen("#000000", width=2),
                                        brush=pg.mkBrush("#ffffff"))
        self.marks.setZValue(10)
        self.plot.addItem(self.marks)
        self.start = pg.ScatterPlotItem(symbol="o", size=10, pen=pg.mkPen("#000000", width=2),
                                        brush=pg.mkBrush("#ffffff"))
        self.start.setZValue(11)
        self.plot.addItem(self.start)
        self.boundary = pg.PlotCurveItem(pen=pg.mkPen("#ff2020", width=2.5))
        self.boundary.setZValue(12)
        self.plot.addItem(self.boundary)
        self.map = None

    def clear(self) -> None:
        self.image.clear()
        self.marks.setData([], [])
        self.start.setData([], [])
        self.boundary.setData([], [])
        self.map = None


class ExplorerPanel(QWidget):
    """Basin and hyperparameter maps for the session's lanes (see the module docstring).

    Signals
    -------
    map_updated(int, int)
        rows done, rows total, after every streamed chunk.
    job_finished(bool)
        a job ended (True: complete, False: cancelled).
    """

    map_updated = Signal(int, int)
    job_finished = Signal(bool)

    def __init__(self, session, contour=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.contour = contour
        self.maps: list = [None, None]
        self._gen = 0
        self._running = False
        self._dirty = True
        self._overlay: pg.ImageItem | None = None
        self._overlay_legend: pg.LegendItem | None = None

        self.worker = ExplorerWorker(self)
        self.worker.partial.connect(self._on_partial, Qt.ConnectionType.QueuedConnection)
        self.worker.finished_job.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self.worker.failed.connect(self._on_failed, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.restart)

        # ---- controls ----------------------------------------------------------------------
        self.mode = QComboBox()
        self.mode.addItem("Basin map", BASIN)
        self.mode.addItem("Hyperparameter map", HYPER)
        self.mode.setToolTip("Basin map: where every start ends. Hyperparameter map: how one "
                             "start fares over a grid of two hyperparameters.")
        self.lane = QComboBox()
        self.lane.setToolTip("The lane whose optimizer and settings are mapped")
        self.compare = QComboBox()
        self.compare.setToolTip("A second lane's basin map, side by side")
        self.resolution = QSpinBox()
        self.resolution.setRange(8, 512)
        self.resolution.setValue(128)
        self.resolution.setSuffix(" px")
        self.resolution.setToolTip("Cells per side (basin maps up to 512 x 512)")
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(min(int(getattr(session, "steps", 500) or 500), 5000))
        self.steps.setSingleStep(100)
        self.steps.setToolTip("Updates per run")
        self.curvature_check = QCheckBox("Rate from curvature")
        self.curvature_check.setChecked(True)
        self.curvature_check.setToolTip(
            "Map plain gradient descent and momentum at half their stability limit "
            "(1/\u03bbmax for GD, where 2/\u03bbmax is the limit; \u03bbmax: the largest "
            "curvature at the minima or over the domain) for enough steps to arrive, so a "
            "first map shows the basins. Off: the lane's own rate and the steps here.")
        self.overlay_check = QCheckBox("Show on 2-D view")
        self.overlay_check.setChecked(True)
        self.overlay_check.setToolTip("Tint the contour map with the basins")

        self.px, self.py = QComboBox(), QComboBox()
        self.x_lo, self.x_hi = self._spin(), self._spin()
        self.y_lo, self.y_hi = self._spin(), self._spin()
        self.x_log, self.y_log = QCheckBox("log"), QCheckBox("log")
        self.color_by = QComboBox()
        for text, key in COLOR_BY:
            self.color_by.addItem(text, key)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.png_button = QPushButton("Export PNG\u2026")
        self.csv_button = QPushButton("Export CSV\u2026")
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.legends = [QLabel(""), QLabel("")]
        for lab in self.legends:
            lab.setTextFormat(Qt.TextFormat.RichText)
            lab.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            lab.setWordWrap(True)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Map"), 0, 0)
        grid.addWidget(self.mode, 0, 1)
        grid.addWidget(QLabel("Lane"), 0, 2)
        grid.addWidget(self.lane, 0, 3)
        grid.addWidget(QLabel("Cells"), 1, 0)
        grid.addWidget(self.resolution, 1, 1)
        grid.addWidget(QLabel("Steps"), 1, 2)
        grid.addWidget(self.steps, 1, 3)
        self.basin_row = QWidget()
        br = QHBoxLayout(self.basin_row)
        br.setContentsMargins(0, 0, 0, 0)
        br.addWidget(QLabel("Compare with"))
        br.addWidget(self.compare, 1)
        br.addWidget(self.curvature_check)
        br.addWidget(self.overlay_check)
        self.hyper_box = QWidget()
        hb = QGridLayout(self.hyper_box)
        hb.setContentsMargins(0, 0, 0, 0)
        for r, (name, combo, lo, hi, log) in enumerate(
                (("x", self.px, self.x_lo, self.x_hi, self.x_log),
                 ("y", self.py, self.y_lo, self.y_hi, self.y_log))):
            hb.addWidget(QLabel(name), r, 0)
            hb.addWidget(combo, r, 1)
            hb.addWidget(lo, r, 2)
            hb.addWidget(QLabel("to"), r, 3)
            hb.addWidget(hi, r, 4)
            hb.addWidget(log, r, 5)
        hb.addWidget(QLabel("Colour"), 2, 0)
        hb.addWidget(self.color_by, 2, 1, 1, 2)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        ebar = QHBoxLayout()
        ebar.addWidget(self.png_button)
        ebar.addWidget(self.csv_button)
        ebar.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(None)
        self.graphics.setMinimumHeight(220)
        self.plots = [_MapPlot(self.graphics.ci, 0), _MapPlot(self.graphics.ci, 1)]
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap="viridis", width=12,
                                        interactive=False, colorMapMenu=False)
        self.graphics.ci.addItem(self.colorbar, row=0, col=2)
        self.plots[1].plot.setXLink(self.plots[0].plot)
        self.plots[1].plot.setYLink(self.plots[0].plot)
        legend_row = QHBoxLayout()
        for lab in self.legends:
            legend_row.addWidget(lab, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(grid)
        lay.addWidget(self.basin_row)
        lay.addWidget(self.hyper_box)
        lay.addLayout(bar)
        lay.addWidget(self.graphics, 1)
        lay.addLayout(legend_row)
        lay.addWidget(self.info)
        lay.addLayout(ebar)

        # ---- wiring ------------------------------------------------------------------------
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.lane.currentIndexChanged.connect(self._on_lane_choice)
        self.px.currentIndexChanged.connect(lambda *_: self._on_param(0))
        self.py.currentIndexChanged.connect(lambda *_: self._on_param(1))
        for w in (self.compare, self.color_by):
            w.currentIndexChanged.connect(self._settings_changed)
        for w in (self.resolution, self.steps, self.x_lo, self.x_hi, self.y_lo, self.y_hi):
            w.valueChanged.connect(self._settings_changed)
        for w in (self.x_log, self.y_log, self.curvature_check):
            w.toggled.connect(self._settings_changed)
        self.curvature_check.toggled.connect(self._steps_editable)
        self.color_by.currentIndexChanged.connect(self._redraw)
        self.overlay_check.toggled.connect(self._update_overlay)
        self.cancel_button.clicked.connect(self.cancel)
        self.png_button.clicked.connect(self._ask_png)
        self.csv_button.clicked.connect(self._ask_csv)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        s = session
        s.surface_changed.connect(self._on_scene_changed)
        s.lanes_changed.connect(self._on_lanes_changed)
        s.training_changed.connect(self._settings_changed)
        s.start_changed.connect(self._on_start_changed)
        s.selected_lane_changed.connect(self._on_selected_lane)
        self._fill_lanes()
        self._fill_params()
        self._on_mode()
        self._was_network = self.is_network()
        self._network_mode()
        if self._was_network:
            self.color_by.setCurrentIndex(self.color_by.findData("test_loss"))
            self._fill_params()

    # ---- small helpers ---------------------------------------------------------------------
    @staticmethod
    def _spin() -> QDoubleSpinBox:
        sp = QDoubleSpinBox()
        sp.setDecimals(6)
        sp.setRange(0.0, 1e6)
        sp.setKeyboardTracking(False)
        sp.setMinimumWidth(80)
        return sp

    @property
    def kind(self) -> str:
        return self.mode.currentData()

    def is_network(self) -> bool:
        return getattr(self.session.surface, "kind", None) == "network"

    def _network_mode(self) -> None:
        """A network has no basin map (its weights are not a plane of starts): the
        hyperparameter map only, learning rate x batch size coloured by test loss."""
        net = self.is_network()
        item = self.mode.model().item(self.mode.findData(BASIN))
        item.setEnabled(not net)
        self.color_by.model().item(self.color_by.findData("test_loss")).setEnabled(net)
        if net and self.kind == BASIN:
            self.mode.setCurrentIndex(self.mode.findData(HYPER))  # runs _on_mode
        elif not net and self.color_by.currentData() == "test_loss":
            self.color_by.setCurrentIndex(self.color_by.findData("loss"))

    def _lane_index(self, uid) -> int:
        for i, lane in enumerate(self.session.lanes):
            if lane.uid == uid:
                return i
        return -1

    def _selected_lane(self):
        i = self._lane_index(self.lane.currentData())
        return self.session.lanes[i] if i >= 0 else None

    # ---- populating the controls -------------------------------------------------------------
    def _fill_lanes(self) -> None:
        lanes = self.session.lanes
        cur = self.lane.currentData()
        if cur is None or self._lane_index(cur) < 0:
            sel = self.session.current_lane
            cur = sel.uid if sel is not None else (lanes[0].uid if lanes else None)
        cmp_cur = self.compare.currentData()
        for combo in (self.lane, self.compare):
            combo.blockSignals(True)
            combo.clear()
        self.compare.addItem("(none)", None)
        for lane in lanes:
            self.lane.addItem(lane.name, lane.uid)
            self.compare.addItem(lane.name, lane.uid)
        i = self.lane.findData(cur)
        self.lane.setCurrentIndex(max(0, i))
        j = self.compare.findData(cmp_cur) if cmp_cur is not None else 0
        self.compare.setCurrentIndex(max(0, j))
        for combo in (self.lane, self.compare):
            combo.blockSignals(False)

    def _fill_params(self) -> None:
        lane = self._selected_lane()
        net = self.is_network()
        names = ex.sweepable_params(lane.optimizer, net) if lane is not None else \
            ["lr", "noise"]
        old = (self.px.currentData(), self.py.currentData())
        for combo in (self.px, self.py):
            combo.blockSignals(True)
            combo.clear()
            for n in names:
                combo.addItem(_param_label(n), n)
        default_y = "batch_size" if net else "momentum" if "momentum" in names else (
            "beta1" if "beta1" in names else "noise")
        x = old[0] if old[0] in names else "lr"
        y = old[1] if old[1] in names and old[1] != x else default_y
        self.px.setCurrentIndex(self.px.findData(x))
        self.py.setCurrentIndex(self.py.findData(y))
        for combo in (self.px, self.py):
            combo.blockSignals(False)
        if x != old[0]:
            self._set_range(0)
        if y != old[1]:
            self._set_range(1)

    def _set_range(self, axis: int) -> None:
        combo, lo, hi, log = ((self.px, self.x_lo, self.x_hi, self.x_log) if axis == 0 else
                              (self.py, self.y_lo, self.y_hi, self.y_log))
        name = combo.currentData()
        a, b, lg = PARAM_RANGES.get(name, (0.0, 1.0, False))
        if name == "lr":
            lane = self._selected_lane()
            cur = lane.optimizer.lr if lane is not None else 0.01
            f = 10.0 if self.is_network() else 100.0  # a network's cell is a whole run
            a, b = cur / f, cur * f
            a, b = 10 ** math.floor(math.log10(a)), 10 ** math.ceil(math.log10(b))
        elif name == "batch_size" and self.is_network():
            a, b, lg = 1.0, float(len(self.session.surface.y_train)), True
        for w, v in ((lo, a), (hi, b)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        log.blockSignals(True)
        log.setChecked(lg)
        log.blockSignals(False)

    def set_hyper_axes(self, px: str, lo_x: float, hi_x: float, log_x: bool,
                       py: str, lo_y: float, hi_y: float, log_y: bool) -> None:
        """Choose the swept hyperparameters and their ranges (recomputes once)."""
        widgets = (self.px, self.x_lo, self.x_hi, self.x_log, self.py, self.y_lo, self.y_hi,
                   self.y_log)
        for w in widgets:
            w.blockSignals(True)
        self.px.setCurrentIndex(self.px.findData(px))
        self.py.setCurrentIndex(self.py.findData(py))
        self.x_lo.setValue(lo_x)
        self.x_hi.setValue(hi_x)
        self.x_log.setChecked(log_x)
        self.y_lo.setValue(lo_y)
        self.y_hi.setValue(hi_y)
        self.y_log.setChecked(log_y)
        for w in widgets:
            w.blockSignals(False)
        self._settings_changed()

    # ---- reacting ----------------------------------------------------------------------------
    def _on_mode(self, *_args) -> None:
        basin = self.kind == BASIN
        self._steps_editable()
        self.basin_row.setVisible(basin)
        self.hyper_box.setVisible(not basin)
        self.resolution.setMaximum(512 if basin else 256)
        self.resolution.blockSignals(True)
        self.resolution.setValue(128 if basin else NETWORK_RESOLUTION if self.is_network()
                                 else 40)
        self.resolution.blockSignals(False)
        self.colorbar.setVisible(False)
        for p in self.plots:
            p.clear()
        self.maps = [None, None]
        self._update_overlay()
        self._settings_changed()

    def _on_lane_choice(self, *_args) -> None:
        self._fill_params()
        self._settings_changed()

    def _on_param(self, axis: int) -> None:
        if self.px.currentData() == self.py.currentData():
            other = self.py if axis == 0 else self.px
            for k in range(other.count()):
                if other.itemData(k) != (self.px if axis == 0 else self.py).currentData():
                    other.blockSignals(True)
                    other.setCurrentIndex(k)
                    other.blockSignals(False)
                    self._set_range(1 - axis)
                    break
        self._set_range(axis)
        self._settings_changed()

    def _on_lanes_changed(self) -> None:
        self._fill_lanes()
        self._fill_params()
        self._settings_changed()

    def _on_selected_lane(self, i: int) -> None:
        if 0 <= i < len(self.session.lanes) and not self._running_click:
            j = self.lane.findData(self.session.lanes[i].uid)
            if j >= 0 and j != self.lane.currentIndex():
                self.lane.setCurrentIndex(j)

    _running_click = False

    def _on_start_changed(self) -> None:
        if self.kind == HYPER:
            self._settings_changed()
        else:
            self._draw_start()

    def _on_scene_changed(self) -> None:
        was = getattr(self, "_was_network", None)
        net = self.is_network()
        self._was_network = net
        if was is not None and was != net:  # to or from a network: its own settings
            self._network_mode()
            self._fill_params()
            for axis in (0, 1):
                self._set_range(axis)
            self.resolution.blockSignals(True)
            self.resolution.setValue(NETWORK_RESOLUTION if net else 40)
            self.resolution.blockSignals(False)
            if net:
                self.color_by.setCurrentIndex(self.color_by.findData("test_loss"))
        for p in self.plots:
            p.clear()
        self.maps = [None, None]
        self._update_overlay()
        self._settings_changed()

    def _settings_changed(self, *_args) -> None:
        """Cancel what runs and restart after a short pause (coalesces slider drags)."""
        self._dirty = True
        if self.isVisible():
            self.worker.cancel()
            self._timer.start()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().showEvent(event)
        if self._dirty:
            self._timer.start()

    # ---- running -----------------------------------------------------------------------------
    def _run_settings(self, lane) -> dict:
        eff = self.session.effective(lane)
        return {"name": lane.name, "uid": lane.uid, "optimizer": lane.optimizer,
                "schedule": eff["schedule"], "noise": float(eff["noise"] or 0.0),
                "seed": int(eff["seed"]), "clip_grad_norm": eff["clip_grad_norm"],
                "batch_size": eff["batch_size"], "start": eff["start"]}

    def make_job(self) -> Job | None:
        """The job the current settings describe, or None (with a message) if none."""
        s = self.session
        surface = s.surface
        lane = self._selected_lane()
        if surface is None or lane is None:
            self.info.setText("Add a lane to map it.")
            return None
        n = self.resolution.value()
        self._gen += 1
        job = Job(kind=self.kind, gen=self._gen, surface=surface,
                  runs=[self._run_settings(lane)], steps=self.steps.value())
        if self.kind == BASIN:
            job.resolution = (n, n) if surface.dim == 2 else (n, 1)
            other = self.compare.currentData()
            j = self._lane_index(other) if other is not None else -1
            if j >= 0 and s.lanes[j].uid != lane.uid:
                job.runs.append(self._run_settings(s.lanes[j]))
            self._curvature_defaults(job)
        else:
            try:
                vx = ex.grid_values(self.x_lo.value(), self.x_hi.value(), n,
                                    self.x_log.isChecked())
                vy = ex.grid_values(self.y_lo.value(), self.y_hi.value(), n,
                                    self.y_log.isChecked())
            except ValueError as e:
                self.info.setText(str(e))
                return None
            job.hyper = {"px": self.px.currentData(), "vx": vx, "py": self.py.currentData(),
                         "vy": vy}
        return job

    def _steps_editable(self, *_args) -> None:
        # the steps come from the curvature in a basin map with "Rate from curvature"
        self.steps.setEnabled(not (self.kind == BASIN and self.curvature_check.isChecked()))

    def _curvature_defaults(self, job: Job) -> None:
        """With "Rate from curvature": each run's rate and the steps from the surface's
        curvature (``maps.basin_defaults``); the steps box shows the steps used."""
        auto = self.kind == BASIN and self.curvature_check.isChecked()
        self._steps_editable()
        self.rate_note = ""
        if not auto:
            return
        steps = []
        for run in job.runs:
            opt, n = ex.basin_defaults(job.surface, run["optimizer"], self.steps.value())
            if opt is not run["optimizer"]:
                steps.append(n)
                run["optimizer"] = opt
        if steps:
            job.steps = max(steps)
            self.steps.blockSignals(True)
            self.steps.setValue(job.steps)
            self.steps.blockSignals(False)
            main = job.runs[0]["optimizer"]
            self.rate_note = (f"{job.runs[0]['name']} at lr {main.lr:g} (from the "
                              f"curvature), {job.steps:,} steps")

    def restart(self) -> None:
        """Cancel the running map and compute the current settings' map."""
        self._timer.stop()
        if getattr(self, "_shut", False):
            return
        job = self.make_job()
        if job is None:
            return
        self._dirty = False
        self._running = True
        self._job = job
        self.plots[1].plot.setVisible(len(job.runs) > 1)
        self.legends[1].setVisible(len(job.runs) > 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p %")
        self.cancel_button.setEnabled(True)
        note = getattr(self, "rate_note", "")
        self.info.setText(self._computing_text(job) + (f" {note}" if note else ""))
        self.worker.submit(job)

    @staticmethod
    def _computing_text(job) -> str:
        """"Computing...", and on first use of a kernel why the bar waits at 0 %."""
        from simulator.core.kernels.loops import batch_ready

        if job.kind != BASIN:  # hyperparameter maps run the lanes' trajectory kernels
            return "Computing\u2026"
        new = [r["optimizer"].name for r in job.runs
               if not batch_ready(job.surface.spec, r["optimizer"].oid)]
        if not new:
            return "Computing\u2026"
        return (f"Computing\u2026 (first map of {', '.join(dict.fromkeys(new))} on this "
                "surface: its kernel compiles first, a few seconds, once)")

    def cancel(self) -> None:
        """Stop the running map; what was computed stays on screen."""
        self.worker.cancel()
        self._timer.stop()
        if self._running:
            self._running = False
            self.cancel_button.setEnabled(False)
            self.progress.setFormat("cancelled at %p %")
            self.info.setText("Cancelled: change a setting to compute again.")

    def _on_partial(self, gen: int, k: int, m, done: int, total: int) -> None:
        if gen != self._gen:
            return  # a cancelled job's last chunk
        self.maps[k] = m
        nmaps = len(self._job.runs)
        frac = (k + done / max(1, total)) / nmaps
        self.progress.setValue(int(1000 * frac))
        self._draw_map(k)
        if k == 0:
            self._update_overlay()
        self.map_updated.emit(done, total)

    def _on_finished(self, gen: int, complete: bool) -> None:
        if gen != self._gen:
            return
        self._running = False
        self.cancel_button.setEnabled(False)
        if complete:
            self.progress.setValue(1000)
            self._describe()
        self.job_finished.emit(complete)

    def _on_failed(self, gen: int, msg: str) -> None:
        if gen != self._gen:
            return
        self._running = False
        self.cancel_button.setEnabled(False)
        self.info.setText(f"Could not compute the map: {msg}")
        self.job_finished.emit(False)

    # ---- drawing -------------------------------------------------------------------------------
    def _redraw(self, *_args) -> None:
        for k in range(2):
            if self.maps[k] is not None:
                self._draw_map(k)

    def _draw_map(self, k: int) -> None:
        m = self.maps[k]
        p = self.plots[k]
        p.map = m
        if isinstance(m, ex.BasinMap):
            self._draw_basin(p, m, k)
        elif isinstance(m, ex.HyperMap):
            self._draw_hyper(p, m)

    def _draw_basin(self, p: _MapPlot, bm, k: int) -> None:
        p.image.setImage(map_files.render_basin(bm), autoLevels=False)
        (x0, x1), *rest = bm.domain
        y0, y1 = rest[0] if rest else (-0.5, 0.5)
        p.image.setRect(x0, y0, x1 - x0, y1 - y0)
        for ax in ("bottom", "left"):
            p.plot.getAxis(ax).set_log_values(False)
        p.plot.setLabel("bottom", bm.surface.variables[0] if bm.surface.variables else "x")
        p.plot.setLabel("left", bm.surface.variables[1] if bm.surface.dim == 2 else "")
        if len(bm.minima):
            mx = bm.minima[:, 0]
            my = bm.minima[:, 1] if bm.surface.dim == 2 else np.zeros(len(mx))
            p.marks.setData(mx, my)
        p.boundary.setData([], [])
        if not bm.rows_done or bm.rows_done <= bm.chunk or bm.complete:
            p.plot.disableAutoRange()
            p.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        name = self._job.runs[k]["name"] if hasattr(self, "_job") and \
            k < len(self._job.runs) else bm.optimizer.name
        p.plot.setTitle(f"{name}: {bm.optimizer.name} lr={bm.optimizer.lr:.3g}", size="9pt")
        self.colorbar.setVisible(False)
        self._draw_start()
        self.legends[k].setText(self._basin_legend(bm))

    def _draw_start(self) -> None:
        st = tuple(getattr(self.session, "start", ()) or ())
        for p in self.plots:
            if isinstance(p.map, ex.BasinMap) and len(st) >= 1:
                p.start.setData([st[0]], [st[1] if len(st) > 1 else 0.0])

    @staticmethod
    def _basin_legend(bm) -> str:
        rows = []
        for label, name, share, rgb in map_files.basin_legend(bm):
            if share == 0 and label < 0:
                continue
            col = "#{:02x}{:02x}{:02x}".format(*rgb)
            rows.append(f"<span style='color:{col}; font-size:14px'>\u25a0</span> "
                        f"{name}: <b>{share:.1%}</b>")
        done = "" if bm.complete else f" (rows {bm.rows_done}/{len(bm.ys)})"
        return "<br>".join(rows) + done

    @staticmethod
    def _axis_coords(values, log) -> tuple[float, float]:
        v = np.log10(values) if log else np.asarray(values, dtype=np.float64)
        if len(v) == 1:
            return float(v[0]) - 0.5, 1.0
        h = (v[-1] - v[0]) / (len(v) - 1)
        return float(v[0] - h / 2), float(v[-1] - v[0] + h)

    def _draw_hyper(self, p: _MapPlot, hm) -> None:
        by = self.color_by.currentData()
        if by == "test_loss" and hm.final_test_losses is None:
            by = "loss"  # a surface has no test data
        p.image.setImage(map_files.render_hyper(hm, by), autoLevels=False)
        x0, w = self._axis_coords(hm.values_x, hm.log_x)
        y0, h = self._axis_coords(hm.values_y, hm.log_y)
        p.image.setRect(x0, y0, w, h)
        p.plot.getAxis("bottom").set_log_values(hm.log_x)
        p.plot.getAxis("left").set_log_values(hm.log_y)
        p.plot.setLabel("bottom", _axis_label(hm.param_x, hm.log_x))
        p.plot.setLabel("left", _axis_label(hm.param_y, hm.log_y))
        p.marks.setData([], [])
        p.start.setData([], [])
        if hm.boundary:
            bx, byy = hm.boundary[0]
            p.boundary.setData(np.log10(bx) if hm.log_x else bx,
                               np.log10(byy) if hm.log_y else byy)
        else:
            p.boundary.setData([], [])
        if hm.rows_done <= 1 or hm.complete:
            p.plot.disableAutoRange()
            p.plot.setRange(xRange=(x0, x0 + w), yRange=(y0, y0 + h), padding=0.0)
        start = ("the initial weights" if getattr(hm.surface, "kind", None) == "network"
                 else f"({', '.join(f'{v:.3g}' for v in hm.start)})")
        p.plot.setTitle(f"{hm.optimizer.name} from {start}", size="9pt")
        rng = map_files.color_range(hm, by)
        if rng is not None and by in ("loss", "steps", "test_loss"):
            lo, hi = rng
            if by in ("loss", "test_loss"):
                lo, hi = math.log10(lo), math.log10(hi)
            self.colorbar.setLevels((lo, hi if hi > lo else lo + 1))
            self.colorbar.setVisible(True)
        else:
            self.colorbar.setVisible(False)
        self.legends[0].setText(self._hyper_legend(hm, by))
        self.legends[1].setText("")

    @staticmethod
    def _hyper_legend(hm, by: str) -> str:
        if by == "status":
            names, counts = np.unique(hm.status[: hm.rows_done], return_counts=True)
            cnt = dict(zip(names, counts, strict=True))
            parts = []
            for name, rgb in map_files.STATUS_COLORS.items():
                if cnt.get(name):
                    col = "#{:02x}{:02x}{:02x}".format(*rgb)
                    parts.append(f"<span style='color:{col}; font-size:14px'>\u25a0</span> "
                                 f"{name} {cnt[name]}")
            text = " &nbsp; ".join(parts)
        elif by == "loss":
            text = ("colour: log10 of the final loss above the minimum; "
                    "<span style='color:#282828'>\u25a0</span> diverged")
        elif by == "test_loss":
            text = ("colour: log10 of the final test loss (lower generalises better); "
                    "<span style='color:#282828'>\u25a0</span> diverged")
        else:
            text = ("colour: steps until the gradient stayed below 1e-6; "
                    "<span style='color:#bebebe'>\u25a0</span> not converged, "
                    "<span style='color:#282828'>\u25a0</span> diverged")
        if hm.boundary:
            text += "<br><span style='color:#ff2020'>\u2014</span> theoretical stability " \
                "boundary (quadratic)"
        return text + "<br><i>Click a cell to load its hyperparameters into the lane.</i>"

    def _describe(self) -> None:
        m = self.maps[0]
        if isinstance(m, ex.BasinMap):
            nx, ny = m.resolution
            total = sum(x.elapsed for x in self.maps if x is not None)
            nmaps = sum(x is not None for x in self.maps)
            rate = nmaps * nx * ny * m.steps / max(total, 1e-9)
            rate_note = (f"lr {m.optimizer.lr:g} from the curvature (the lane's own: "
                         f"uncheck 'Rate from curvature'). "
                         if self.curvature_check.isChecked() else "")
            self.info.setText(
                f"{rate_note}{nx} x {ny} starts x {m.steps} steps"
                f"{' (x2 maps)' if nmaps > 1 else ''} in {total:.2f} s "
                f"({rate / 1e6:.0f} M particle-steps/s). Click the map to start the lanes "
                "there.")
        elif isinstance(m, ex.HyperMap):
            best = ""
            t = m.final_test_losses
            if t is not None and np.any(np.isfinite(t)):
                j, i = np.unravel_index(np.nanargmin(t), t.shape)
                best = (" Lowest test loss {:.3g} at {}.".format(
                    t[j, i], ", ".join(f"{_param_label(k)} {v:.3g}"
                                       for k, v in m.cell_params(i, j).items())))
            self.info.setText(
                f"{len(m.values_x)} x {len(m.values_y)} runs of {m.steps} steps in "
                f"{m.elapsed:.2f} s.{best}")

    # ---- overlay on the 2-D view ---------------------------------------------------------------
    def _update_overlay(self, *_args) -> None:
        view = self.contour
        if view is None or not hasattr(view, "plot"):
            return
        bm = self.maps[0]
        show = (self.kind == BASIN and self.overlay_check.isChecked()
                and isinstance(bm, ex.BasinMap) and bm.surface is self.session.surface
                and bm.surface.dim == 2)
        if not show:
            if self._overlay is not None:
                self._overlay.setVisible(False)
            if self._overlay_legend is not None:
                self._overlay_legend.setVisible(False)
            return
        if self._overlay is None:
            self._overlay = pg.ImageItem(axisOrder="row-major")
            self._overlay.setZValue(-7)  # above the colour map (-10), below contours (-5)
            view.plot.addItem(self._overlay)
            self._overlay_legend = pg.LegendItem(offset=(-8, -8), labelTextSize="8pt",
                                                 brush=pg.mkBrush(0, 0, 0, 170))
            self._overlay_legend.setParentItem(view.plot.getViewBox())
            self._overlay_legend.setZValue(50)
        self._overlay.setImage(map_files.render_basin(bm, alpha=120), autoLevels=False)
        (x0, x1), (y0, y1) = bm.domain
        self._overlay.setRect(x0, y0, x1 - x0, y1 - y0)
        self._overlay.setVisible(True)
        leg = self._overlay_legend
        leg.clear()
        for label, name, share, rgb in map_files.basin_legend(bm):
            if share == 0 and label < 0:
                continue
            sample = pg.ScatterPlotItem(symbol="s", size=10, brush=pg.mkBrush(*rgb),
                                        pen=pg.mkPen("#000000"))
            leg.addItem(sample, f"{name}: {share:.1%}")
        leg.setVisible(True)

    def overlay_item(self) -> pg.ImageItem | None:
        return self._overlay

    # ---- clicks --------------------------------------------------------------------------------
    def _on_click(self, ev) -> None:
        for p in self.plots:
            if p.map is None or not p.plot.isVisible():
                continue
            vb = p.plot.getViewBox()
            if not vb.sceneBoundingRect().contains(ev.scenePos()):
                continue
            pt = vb.mapSceneToView(ev.scenePos())
            self.click_at(p.map, pt.x(), pt.y())
            ev.accept()
            return

    def click_at(self, m, x: float, y: float) -> None:
        """A click at view coordinates (x, y) of map ``m``: a hyper map loads the cell's
        hyperparameters into the lane, a basin map moves the start there."""
        if isinstance(m, ex.HyperMap):
            vx = 10 ** x if m.log_x else x
            vy = 10 ** y if m.log_y else y
            cell = m.cell_at(vx, vy)
            if cell is not None:
                self.load_cell(*cell)
        elif isinstance(m, ex.BasinMap):
            cell = m.cell_at(x, y)
            if cell is not None:
                try:
                    self.session.set_start(m.cell_start(*cell))
                except ValueError as e:
                    self.info.setText(str(e))

    def load_cell(self, i: int, j: int) -> bool:
        """Load cell (i, j) of the hyper map into its lane (``session.update_lane``)."""
        hm = self.maps[0]
        if not isinstance(hm, ex.HyperMap):
            return False
        idx = self._lane_index(self._job.runs[0]["uid"])
        if idx < 0:
            return False
        params = hm.cell_params(i, j)
        changes: dict[str, Any] = {}
        betas = list(getattr(self.session.lanes[idx].optimizer, "betas", None) or ())
        for name, v in params.items():
            if name == "noise":
                changes["noise"] = v
            elif name == "batch_size":
                changes["batch_size"] = hm.cell_batch_size(i, j)
            elif name in ("beta1", "beta2"):
                betas[0 if name == "beta1" else 1] = v
                changes["betas"] = tuple(betas)
            else:
                changes[name] = v
        text = ", ".join(f"{_param_label(k)} = {v:.4g}" for k, v in params.items())
        try:
            # the map does not depend on the lane's values it sweeps: keep it on screen
            self._running_click = True
            self.session.update_lane(idx, **changes)
        except ValueError as e:
            self.info.setText(f"Cannot load {text}: {e}")
            return False
        finally:
            self._running_click = False
        self._timer.stop()
        self.worker.cancel()
        self._dirty = False
        if self._running:
            self._running = False
            self.cancel_button.setEnabled(False)
        self.info.setText(f"Loaded {text} into {self.session.lanes[idx].name} "
                          f"({hm.status[j, i]}).")
        return True

    # ---- export --------------------------------------------------------------------------------
    def export_png(self, path: str) -> list[str]:
        """Write the shown map(s) as PNG; a second map goes to ``<stem>-2.png``."""
        return self._export(path, png=True)

    def export_csv(self, path: str) -> list[str]:
        """Write the shown map(s)' data as CSV; a second map goes to ``<stem>-2.csv``."""
        return self._export(path, png=False)

    def _export(self, path: str, png: bool) -> list[str]:
        from pathlib import Path

        out = []
        for k, m in enumerate(self.maps):
            if m is None:
                continue
            p = Path(path)
            if k > 0:
                p = p.with_name(f"{p.stem}-{k + 1}{p.suffix}")
            if png:
                if isinstance(m, ex.HyperMap):
                    map_files.save_hyper_png(m, p, color_by=self.color_by.currentData())
                else:
                    map_files.save_basin_png(m, p)
            elif isinstance(m, ex.HyperMap):
                map_files.write_hyper_csv(m, p)
            else:
                map_files.write_basin_csv(m, p)
            out.append(str(p))
        return out

    def _ask(self, what: str, ext: str) -> str | None:
        if not any(m is not None for m in self.maps):
            self.info.setText("Nothing to export yet.")
            return None
        name = f"{self.kind}-map.{ext}"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {what}", name,
                                              f"{what} (*.{ext})")
        return path or None

    def _ask_and_export(self, what: str, ext: str, export) -> None:
        path = self._ask(what, ext)
        if path:
            try:
                files = export(path)
                self.info.setText("Saved " + ", ".join(files))
            except OSError as e:
                self.info.setText(f"Could not save: {e}")

    def _ask_png(self) -> None:
        self._ask_and_export("PNG image", "png", self.export_png)

    def _ask_csv(self) -> None:
        self._ask_and_export("CSV data", "csv", self.export_csv)

    def shutdown(self) -> None:
        """Stop the worker thread (the window is closing); a restart pending after a
        setting's change is dropped (it would start the thread again)."""
        self._shut = True
        self._timer.stop()
        self.worker.stop()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self.cancel()
        super().closeEvent(event)


# ---- main window hook ---------------------------------------------------------------------------
class ExplorerFeature:
    """What :func:`install_explorer` made: the Explore menu's two actions, and the panel
    and its dock once first shown (None before)."""

    def __init__(self, window) -> None:
        self.window = window
        self.panel: ExplorerPanel | None = None
        self.dock: QDockWidget | None = None
        self.act_basin = window.add_action(
            "&Basin Map", lambda: self.show(BASIN), "Ctrl+Shift+B", None,
            "Where does every start end? Colour the domain by basin")
        self.act_hyper = window.add_action(
            "&Hyperparameter Map", lambda: self.show(HYPER), "Ctrl+Shift+H", None,
            "Which hyperparameters work? Sweep two of them")

    def show(self, kind: str = BASIN) -> ExplorerPanel:
        """Show (creating on first use) the explorer dock in ``kind`` mode."""
        window = self.window
        if self.panel is None:
            panel = ExplorerPanel(window.session, window.contour)
            dock = window.add_dock("Explorer", "dock_explorer", panel,
                                   Qt.DockWidgetArea.RightDockWidgetArea)
            # join the right-hand tab group so the maps get the whole column's height
            buddy = window.dock_diagnostics
            if window.dockWidgetArea(buddy) == Qt.DockWidgetArea.RightDockWidgetArea and \
                    not buddy.isFloating():
                window.tabifyDockWidget(buddy, dock)
            window.resizeDocks([dock], [480], Qt.Orientation.Horizontal)
            self.panel, self.dock = panel, dock
            app = pg.QtWidgets.QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(panel.shutdown)
        panel = self.panel
        i = panel.mode.findData(kind)
        if i != panel.mode.currentIndex():
            panel.mode.setCurrentIndex(i)
        self.dock.show()
        self.dock.raise_()
        return panel


def install_explorer(window) -> ExplorerFeature:
    """Add "Explore > Basin map / Hyperparameter map" to ``window`` (a MainWindow); the
    panel and its dock are created on first use. Returns what it made."""
    from .menus import Menu

    feature = ExplorerFeature(window)
    window.add_to_menu(Menu.EXPLORE, [feature.act_basin, feature.act_hyper])
    return feature


def show_explorer(window, kind: str = BASIN) -> ExplorerPanel:
    """Show (creating on first use) the explorer dock of ``window`` in ``kind`` mode."""
    return window.explorer.show(kind)
