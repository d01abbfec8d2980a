"""The data view of a network: its training and test points coloured by class, and the
selected lane's decision boundary at the current frame, following playback (as
TensorFlow Playground shows it, for any optimizer, schedule and batch size).

The background is the network's predicted class probability on a grid
(``Network.decision_grid``), light where it is unsure; the boundary is the line where
the two most likely classes tie. Training points are filled discs, test points hollow
squares; a training point whose label was flipped by label noise keeps its (wrong)
colour, so the student sees what the network is asked to memorise.

While the lanes are being trained (a first network also compiles its kernels) the
points are shown and a note says the boundary follows; a re-run dims the old boundary
under a small note (``views/placeholder.py``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from simulator.core.plotmath import lane_step

from ..lanes import on_lane_edits, selected_lane
from .placeholder import DIM, Placeholder, waiting_text

GRID = 81
#: class colours (Okabe-Ito blue, vermillion, bluish green), as RGB
CLASS_RGB = ((0, 114, 178), (213, 94, 0), (0, 158, 115))


def class_image(proba: np.ndarray) -> np.ndarray:
    """RGBA image (n, n, 4) of class probabilities (n, n, k): each pixel the colour of its
    likeliest class, paler where the network is unsure."""
    k = proba.shape[-1]
    rgb = np.array(CLASS_RGB[:k], dtype=np.float64)
    top = proba.max(axis=-1)
    conf = (top - 1.0 / k) / (1.0 - 1.0 / k)  # 0 at a tie, 1 when sure
    col = rgb[np.argmax(proba, axis=-1)]
    white = np.full(3, 245.0)
    a = 0.15 + 0.55 * np.clip(conf, 0, 1)[..., None]
    out = np.empty(proba.shape[:2] + (4,), dtype=np.ubyte)
    out[..., :3] = np.clip(white * (1 - a) + col * a, 0, 255)
    out[..., 3] = 255
    return out


def boundary_field(proba: np.ndarray) -> np.ndarray:
    """A field whose zero level is the decision boundary: the margin between the two
    likeliest classes, signed by which of classes 0 and the rest wins (two classes:
    ``p1 - p0``)."""
    if proba.shape[-1] == 2:
        return proba[..., 1] - proba[..., 0]
    s = np.sort(proba, axis=-1)
    margin = s[..., -1] - s[..., -2]
    # a boundary between any two classes: where the argmax changes, i.e. margin -> 0
    return margin - 1e-3


class DataView(QWidget):
    """Points by class and the selected lane's decision boundary at the current frame."""

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("DataView")
        self.weights = None  # the weights the boundary shows
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.show_test = QCheckBox("Test points")
        self.show_test.setChecked(True)
        self.show_test.setToolTip("Show the test points (hollow squares): the network "
                                  "never trains on them")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.show_test)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.boundary = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((20, 20, 20), width=2.5))
        self.plot.addItem(self.boundary)
        self.train_items = []
        self.test_items = []
        for c in range(3):
            r, g, b = CLASS_RGB[c]
            tr = pg.ScatterPlotItem(size=7, pen=pg.mkPen((255, 255, 255), width=0.8),
                                    brush=pg.mkBrush(r, g, b))
            te = pg.ScatterPlotItem(size=7, symbol="s", pen=pg.mkPen((r, g, b), width=1.6),
                                    brush=None)
            self.plot.addItem(tr)
            self.plot.addItem(te)
            self.train_items.append(tr)
            self.test_items.append(te)
        self.message = QLabel("Pick a network (Surface panel, Networks) to see its data "
                              "and decision boundary here.")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.message)
        self.show_test.toggled.connect(lambda on: [it.setVisible(on) for it in self.test_items])
        self.placeholder = Placeholder(self.plot)
        self._wait_tick = QTimer(self)
        self._wait_tick.setInterval(250)
        self._wait_tick.timeout.connect(self.update_waiting)
        s = session
        s.surface_changed.connect(self._on_surface_changed)
        s.trajectories_changed.connect(self.redraw)
        s.frame_changed.connect(self.redraw)
        s.selected_lane_changed.connect(lambda _i: self.redraw())
        on_lane_edits(s, self.redraw)
        s.runs_progress.connect(lambda _d, _t: self.update_waiting())
        self._bounds = None
        self._on_surface_changed()

    def _net(self):
        s = self.session.surface
        return s if getattr(s, "kind", None) == "network" else None

    def _on_surface_changed(self) -> None:
        net = self._net()
        self.plot.setVisible(net is not None)
        self.message.setVisible(net is None)
        self.show_test.setVisible(net is not None)
        if net is None:
            self.title.setText("")
            self.weights = None
            self.update_waiting()
            return
        self._bounds = net.bounds(0.1)
        self._clear_boundary()  # another network's: gone until this one's runs are in
        for c in range(3):
            for items, X, y in ((self.train_items, net.X_train, net.y_train),
                                (self.test_items, net.X_test, net.y_test)):
                m = y == c
                items[c].setData(X[m, 0], X[m, 1])
        (x0, x1), (y0, y1) = self._bounds
        self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.redraw()

    def _clear_boundary(self) -> None:
        self.weights = None
        self.image.clear()
        self.boundary.setData([], [])

    def _training(self) -> bool:
        s = self.session
        return bool(s.running_in_background or (s.pending and not s.results))

    def waiting_message(self) -> tuple[str, str]:
        """``("note", text)`` while the lanes are being trained, else ``("", "")``."""
        if self._net() is None or not self._training():
            return "", ""
        if self.weights is None:
            return "note", "the decision boundary follows when the runs are in"
        return "note", "re-training\u2026"

    def update_waiting(self) -> None:
        mode, text = self.waiting_message()
        if mode:
            self.placeholder.note(text)
            if not self._wait_tick.isActive():
                self._wait_tick.start()
        else:
            self.placeholder.clear()
            self._wait_tick.stop()
        if self._net() is not None and self.weights is None and self._training():
            self.title.setText(waiting_text(self.session))
        dim = bool(mode) and self.weights is not None and self.placeholder.note_due
        self.image.setOpacity(DIM if dim else 1.0)
        self.boundary.setOpacity(DIM if dim else 1.0)

    def redraw(self, *_a) -> None:
        net = self._net()
        if net is None or not self.isVisible():
            return
        lane = selected_lane(self.session)
        run = self.session.results.get(lane.uid) if lane is not None else None
        if run is None:
            self._clear_boundary()
            err = self.session.errors.get(lane.uid) if lane is not None else None
            if lane is None:
                self.title.setText("Select a lane to see its decision boundary.")
            elif err:
                self.title.setText(f"{lane.name}: {err}")
            elif not lane.enabled:
                self.title.setText(f"{lane.name} is switched off: tick it in the Lanes "
                                   "panel to see its decision boundary.")
            self.update_waiting()  # while training: says so in the title
            return
        k = lane_step(run, self.session.frame)
        w = run.positions[k]
        if not np.all(np.isfinite(w)):
            self.title.setText(f"{lane.name} at step {k}: the weights blew up (diverged)")
            return
        self.weights = np.array(w)
        xs, ys, P = net.decision_grid(w, GRID, self._bounds)
        self.image.setImage(np.transpose(class_image(P), (1, 0, 2)), autoLevels=False)
        # pixel centres on the grid points (set after the image: it sizes the transform)
        dx, dy = xs[1] - xs[0], ys[1] - ys[0]
        self.image.setRect(float(xs[0] - dx / 2), float(ys[0] - dy / 2),
                           float(xs[-1] - xs[0] + dx), float(ys[-1] - ys[0] + dy))
        try:
            from simulator.core.contours import contour_segments

            bx, by = contour_segments(boundary_field(P), xs, ys, [0.0])
            self.boundary.setData(bx, by)
        except Exception:  # noqa: BLE001 - the colours still show the classes
            self.boundary.setData([], [])
        acc = net.accuracy(w, "train")
        tacc = net.accuracy(w, "test")
        test = "" if np.isnan(tacc) else f", test accuracy {tacc:.0%}"
        self.title.setText(f"<b>{lane.name}</b> at step {k}: training accuracy "
                           f"{acc:.0%}{test}")
        self.update_waiting()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.redraw()
