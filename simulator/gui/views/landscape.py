"""The map of a network: its training loss on a plane through weight space, and every
lane's path projected onto that plane.

A network has as many coordinates as weights, so no map shows its loss whole. This view
shows ``landscape.loss_plane``: the plane through the top two principal directions of
the lanes' runs (PCA, as loss-landscape-anim does) or through two random
filter-normalised directions (Li et al. 2018), centred on the first lane's end point or
on the lane the student re-centres on. The title says how much of the runs' movement
the plane captures (PCA's explained variance), so nobody over-reads a projection: a
path that looks like it crosses a ridge may go around it in a direction not shown.

The plane is computed off the GUI thread (``background.BackgroundJob``) whenever the
runs change; the old plane stays on screen, dimmed with a small note, until the new one
is ready, and a label and a busy bar say that it is being computed. Before a first plane
(the lanes still training, a first network compiling its kernels, then the plane being
computed) the map and the mesh show no axes but a message saying what is being done
(``views/placeholder.py``). A frame change only moves the trails and markers along the
already projected paths.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from simulator.core.plotmath import contour_levels

from ..background import BackgroundJob
from ..drag import DRAG
from ..lanes import selected_lane, shown_lanes
from .placeholder import COMPILE_HINT_S, DIM, Placeholder, compile_hint, waiting_text

RESOLUTION = 51
DIRECTIONS = (("pca", "PCA of the runs"), ("filter", "Random directions (filter-normalised)"))
SETTLE_MS = 120  # after the last edit, the plane is asked for this much later


def finite_prefix(P: np.ndarray) -> np.ndarray:
    """The rows of a run up to its first non-finite one (a diverged run's tail has
    nothing to project)."""
    ok = np.all(np.isfinite(P), axis=1)
    n = len(P) if ok.all() else int(np.argmin(ok))
    return P[: max(n, 1)]


def compute_plane(net, positions, directions: str, center, resolution: int = RESOLUTION):
    """``loss_plane`` for the view, in the worker thread: PCA falls back to random
    directions when the runs do not span a plane (returned note says so)."""
    from simulator.core.landscape import loss_plane

    note = ""
    if directions == "pca":
        try:
            return loss_plane(net, runs=positions, directions="pca", center=center,
                              resolution=resolution), note
        except ValueError as e:
            note = f"PCA impossible ({e}); showing random directions"
    return loss_plane(net, runs=positions, directions="filter", center=center,
                      resolution=resolution), note


def plane_title(plane, center_name: str) -> str:
    """What the plane is, in words, with PCA's explained variance."""
    if plane.kind == "pca":
        ev = plane.explained_variance
        return (f"Training loss on the PCA plane of the runs around {center_name}: the two "
                f"directions hold {ev[0]:.0%} + {ev[1]:.0%} = {ev.sum():.0%} of the runs' "
                "movement")
    return (f"Training loss along two random filter-normalised directions around "
            f"{center_name} (Li et al. 2018): not fitted to the runs, paths are projections")


class LandscapeView(QWidget):
    """The loss plane of the session's network with the lanes' projected paths."""

    def __init__(self, session, parent=None, with_3d: bool = False,
                 native: bool = True) -> None:
        """``with_3d``: the plane's 3-D mesh beside the map (``views/landscape3d.py``;
        only where OpenGL works)."""
        super().__init__(parent)
        self.session = session
        self.setObjectName("LandscapeView")
        self.plane = None  # the LossPlane shown
        self.plane_uids: list[int] = []  # lanes whose paths the plane holds, in order
        self.note = ""
        self.center_uid: int | None = None  # None: the first lane's end point
        self._asked = None  # the key of the last plane asked for
        self.left_out: list[str] = []  # diverged lanes the plane leaves out

        self.directions = QComboBox()
        for key, text in DIRECTIONS:
            self.directions.addItem(text, key)
        self.directions.setToolTip(
            "PCA: the plane through the two directions along which the runs moved most "
            "(the explained variance in the title says how much of their movement it "
            "shows). Random: two random directions scaled filter by filter to the "
            "weights (Li et al. 2018), the usual way to compare sharp and flat minima.")
        self.recentre = QPushButton("Re-centre on this lane")
        self.recentre.setToolTip("Centre the plane on the selected lane's end point "
                                 "(click again on the first lane to go back)")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setMaximumHeight(12)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.status = QLabel("")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Plane:"))
        bar.addWidget(self.directions)
        bar.addWidget(self.recentre)
        bar.addWidget(self.busy)
        bar.addWidget(self.status, 1)

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().setLabel("bottom", "direction 1")
        self.plot.getPlotItem().setLabel("left", "direction 2")
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.lines = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((255, 255, 255, 90), width=1))
        self.plot.addItem(self.lines)
        self.centre_mark = pg.ScatterPlotItem(symbol="+", size=14,
                                              pen=pg.mkPen("w", width=2), brush=None)
        self.plot.addItem(self.centre_mark)
        self.legend = self.plot.getPlotItem().addLegend(offset=(8, 8))
        self.legend.setBrush(pg.mkBrush(0, 0, 0, 170))  # readable on any colour below
        self.legend.setLabelTextColor((235, 235, 235))
        self.trails: dict[int, tuple] = {}  # uid -> (faint whole path, trail, marker)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.title)
        self.mesh3d = None
        if with_3d:
            from PySide6.QtWidgets import QSplitter

            from .landscape3d import Landscape3D

            self.mesh3d = Landscape3D(native=native)
            split = QSplitter(Qt.Orientation.Horizontal)
            split.setChildrenCollapsible(False)
            split.addWidget(self.plot)
            split.addWidget(self.mesh3d)
            split.setStretchFactor(0, 1)
            split.setStretchFactor(1, 1)
            self.plot.setMinimumWidth(240)
            self.mesh3d.setMinimumWidth(240)
            split.setSizes([1000, 1000])  # side by side, equal (as the surfaces' views)
            self.split = split
            lay.addWidget(split, 1)
        else:
            lay.addWidget(self.plot, 1)

        self.placeholder = Placeholder(self.plot)  # what is being computed, over the map
        self.job = BackgroundJob(self, name="loss-plane")
        self.job.done.connect(self._on_plane)
        self.job.busy_changed.connect(self._on_busy)
        self._wait_tick = QTimer(self)  # refreshes the placeholder while anything is due
        self._wait_tick.setInterval(250)
        self._wait_tick.timeout.connect(self.update_waiting)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self.request)
        self._tick = QTimer(self)
        self._tick.setInterval(200)
        self._tick.timeout.connect(self._show_elapsed)
        self.directions.currentIndexChanged.connect(lambda _i: self.request())
        self.recentre.clicked.connect(self.recentre_on_selected)
        DRAG.changed.connect(self._on_drag)
        s = session
        s.surface_changed.connect(self._on_surface_changed)
        s.trajectories_changed.connect(self.request_soon)
        s.lanes_changed.connect(self._on_lanes_changed)
        s.frame_changed.connect(self._on_frame)
        s.selected_lane_changed.connect(lambda _i: self._on_frame())
        s.runs_progress.connect(lambda _d, _t: self.update_waiting())
        s.trajectories_changed.connect(self.update_waiting)
        self._on_surface_changed()

    # ---- asking for a plane -----------------------------------------------------------
    def is_network(self) -> bool:
        return getattr(self.session.surface, "kind", None) == "network"

    def _on_surface_changed(self) -> None:
        if not self.is_network():
            self.job.cancel()
            self._settle.stop()
            self._asked = None
            if self.plane is not None:
                self._clear()  # nothing of it follows the frames of a surface's scene
            self.update_waiting()
            return
        if self.plane is not None and self.plane.center.shape != (self.session.surface.n_params,):
            self._clear()
        self.center_uid = None
        self.request_soon()
        self.update_waiting()

    def _on_lanes_changed(self) -> None:
        if not getattr(self.session, "pending", False):
            self._restyle()
            self.request_soon()

    def _on_drag(self, dragging: bool) -> None:
        import shiboken6

        # DRAG outlives the views: a closed window's view must not be asked
        if not dragging and shiboken6.isValid(self) and shiboken6.isValid(self._settle):
            self.request_soon()

    def request_soon(self) -> None:
        if self.is_network():
            self._settle.start(0 if self.plane is None else SETTLE_MS)
            self.update_waiting()

    def _inputs(self):
        shown = shown_lanes(self.session)
        # a diverged run's weights run off by orders of magnitude: in the plane it would
        # be the only direction (PCA 99 %) and the other lanes a dot; it is left out
        kept = [(lane, run) for lane, run in shown if run.status != "diverged"]
        self.left_out = [lane.name for lane, run in shown if run.status == "diverged"] \
            if kept else []
        shown = kept or shown
        uids = [lane.uid for lane, _run in shown]
        positions = [finite_prefix(run.positions) for _lane, run in shown]
        center = None
        if self.center_uid is not None and self.center_uid in uids:
            center = positions[uids.index(self.center_uid)][-1]
        elif self.center_uid is not None:
            self.center_uid = None
        key = (self.session.surface, tuple(id(run) for _l, run in shown),
               self.directions.currentData(), self.center_uid)
        return key, uids, positions, center

    def request(self) -> None:
        """Ask for the plane of the current runs (off the GUI thread); nothing when the
        plane shown or asked for already is it, or while a slider is dragged."""
        if not self.is_network() or DRAG.active:
            return
        key, uids, positions, center = self._inputs()
        if not positions:
            return
        if key == self._asked:
            return
        self._asked = key
        net = self.session.surface
        directions = self.directions.currentData()
        self.job.submit((key, uids), lambda: compute_plane(net, positions, directions, center))

    def recentre_on_selected(self) -> None:
        lane = selected_lane(self.session)
        if lane is None:
            return
        first = shown_lanes(self.session)[:1]
        self.center_uid = None if first and first[0][0].uid == lane.uid else lane.uid
        self.request()

    def wait(self, timeout: float = 60.0) -> None:
        """Compute what is due now and wait for it (tests, exports)."""
        if self._settle.isActive():
            self._settle.stop()
            self.request()
        self.job.wait(timeout)

    # ---- a plane arrives ------------------------------------------------------------------
    def _on_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        if busy:
            self._tick.start()
            self.status.setText("computing the plane\u2026")
        else:
            self._tick.stop()
            self.status.setText(self.note)
        self.update_waiting()

    # ---- saying what is being computed ----------------------------------------------------
    def waiting_message(self) -> tuple[str, str]:
        """``("say", text)`` while there is no plane to show, ``("note", text)`` while
        the plane shown is being replaced, ``("", "")`` otherwise."""
        if not self.is_network():
            return "", ""
        s = self.session
        training = s.running_in_background or (s.pending and not s.results)
        computing = self.job.busy or self._settle.isActive()
        if self.plane is not None:
            if training:
                return "note", "re-training the lanes\u2026"
            if computing:
                return "note", "updating the plane\u2026"
            return "", ""
        if training:
            return "say", waiting_text(
                s, "Then the loss plane through their runs is computed and drawn here.")
        if computing:
            secs = self.job.elapsed()
            return "say", ("Computing the loss plane\u2026"
                           + (f" {secs:.0f} s" if secs >= COMPILE_HINT_S else "")
                           + f"\n({RESOLUTION} \u00d7 {RESOLUTION} training losses around "
                           "the lanes' runs)" + compile_hint("evaluate", secs))
        if self.note.startswith("No plane"):
            return "say", self.note
        if not shown_lanes(s):
            return "say", "No lane to show: tick a lane in the Lanes panel to see its path on "\
                          "the loss plane."
        return "", ""

    def update_waiting(self) -> None:
        """Show, refresh or hide the placeholder over the map and the mesh, and dim a
        plane that is being replaced."""
        mode, text = self.waiting_message()
        boards = [self.placeholder] + ([self.mesh3d.placeholder] if self.mesh3d is not None else [])
        for board in boards:
            if mode == "say":
                board.say(text)
            elif mode == "note":
                board.note(text)
            else:
                board.clear()
        empty = mode == "say" or self.plane is None
        item = self.plot.getPlotItem()
        for side in ("bottom", "left"):
            item.showAxis(side, not empty)
        item.vb.setOpacity(DIM if mode == "note" and self.placeholder.note_due else 1.0)
        if mode and not self._wait_tick.isActive():
            self._wait_tick.start()
        elif not mode:
            self._wait_tick.stop()

    def _show_elapsed(self) -> None:
        if self.job.busy:
            self.status.setText(f"computing the plane\u2026 {self.job.elapsed():.1f} s")

    def _on_plane(self, key, result) -> None:
        (k, uids) = key
        if isinstance(result, Exception):
            self.note = f"No plane: {result}"
            self.status.setText(self.note)
            self.update_waiting()
            return
        if k[0] is not self.session.surface:
            return  # a plane of a network no longer shown
        plane, self.note = result
        if self.left_out:
            out = ", ".join(self.left_out)
            self.note = (self.note + "; " if self.note else "") + \
                f"diverged, left out of the plane: {out}"
        self.plane = plane
        self.plane_uids = list(uids)
        self._draw_plane()
        self._restyle()
        if self.mesh3d is not None:
            by_uid = {lane.uid: lane.color for lane in self.session.lanes}
            self.mesh3d.show_plane(plane, [by_uid.get(u, "#ffffff") for u in uids])
        self._on_frame()
        self.update_waiting()

    def _clear(self) -> None:
        self.plane = None
        self.plane_uids = []
        self.image.clear()
        self.lines.setData([], [])
        for items in self.trails.values():
            for it in items:
                self.plot.removeItem(it)
        self.trails.clear()
        self.legend.clear()
        self.title.setText("")
        if self.mesh3d is not None:
            self.mesh3d.clear()

    def _draw_plane(self) -> None:
        p = self.plane
        a, b = p.alphas, p.betas
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log10(np.maximum(p.losses, 1e-12))
        z = np.where(np.isfinite(z), z, np.nanmax(np.where(np.isfinite(z), z, -np.inf)))
        lo, hi = float(np.percentile(z, 0.5)), float(z.max())
        self.image.setImage(z.T, levels=(lo, hi if hi > lo else lo + 1))
        da, db = a[1] - a[0], b[1] - b[0]
        self.image.setRect(float(a[0] - da / 2), float(b[0] - db / 2),
                           float(a[-1] - a[0] + da), float(b[-1] - b[0] + db))
        try:
            from simulator.core.contours import contour_segments

            xs, ys = contour_segments(z, a, b, contour_levels(z, 14))
            self.lines.setData(xs, ys)
        except Exception:  # noqa: BLE001 - the colours alone still show the plane
            self.lines.setData([], [])
        self.centre_mark.setData([0.0], [0.0])
        name = "the first lane's end"
        if self.center_uid is not None:
            i = self.session.lane_index(self.center_uid)
            if i >= 0:
                name = f"{self.session.lanes[i].name}'s end"
        self.title.setText(plane_title(p, name))
        self.plot.getPlotItem().setLabel(
            "bottom", "PC 1" if p.kind == "pca" else "random direction 1")
        self.plot.getPlotItem().setLabel(
            "left", "PC 2" if p.kind == "pca" else "random direction 2")
        self.plot.getPlotItem().setRange(xRange=(a[0], a[-1]), yRange=(b[0], b[-1]),
                                         padding=0)

    def _restyle(self) -> None:
        """One faint whole path, a trail and a marker per lane of the plane."""
        if self.plane is None:
            return
        by_uid = {lane.uid: lane for lane in self.session.lanes}
        for uid in [u for u in self.trails if u not in self.plane_uids or u not in by_uid]:
            for it in self.trails.pop(uid):
                self.plot.removeItem(it)
        self.legend.clear()
        for uid in self.plane_uids:
            lane = by_uid.get(uid)
            if lane is None:
                continue
            if uid not in self.trails:
                whole = pg.PlotDataItem()
                trail = pg.PlotDataItem()
                mark = pg.ScatterPlotItem(size=11)
                for it in (whole, trail, mark):
                    self.plot.addItem(it)
                self.trails[uid] = (whole, trail, mark)
            whole, trail, mark = self.trails[uid]
            c = pg.mkColor(lane.color)
            faint = pg.mkColor(lane.color)
            faint.setAlpha(70)
            whole.setPen(pg.mkPen(faint, width=1))
            trail.setPen(pg.mkPen(c, width=2.5))
            mark.setBrush(pg.mkBrush(c))
            mark.setPen(pg.mkPen("w", width=1))
            i = self.plane_uids.index(uid)
            path = self.plane.paths[i]
            whole.setData(path[:, 0], path[:, 1])
            self.legend.addItem(trail, lane.name)

    def _on_frame(self, frame=None) -> None:
        if self.plane is None or not self.is_network():
            return
        frame = self.session.frame if frame is None else frame
        if self.mesh3d is not None:
            self.mesh3d.show_frame(frame)
        sel = selected_lane(self.session)
        for i, uid in enumerate(self.plane_uids):
            items = self.trails.get(uid)
            if items is None:
                continue
            path = self.plane.paths[i]
            k = max(0, min(int(frame), len(path) - 1))
            _whole, trail, mark = items
            trail.setData(path[: k + 1, 0], path[: k + 1, 1])
            mark.setData([path[k, 0]], [path[k, 1]],
                         size=15 if sel is not None and sel.uid == uid else 10)

    # ---- for tests --------------------------------------------------------------------
    def marker_positions(self) -> np.ndarray:
        """The lanes' markers in plane coordinates, (lanes, 2)."""
        out = []
        for uid in self.plane_uids:
            items = self.trails.get(uid)
            if items is not None:
                x, y = items[2].getData()
                out.append((x[0], y[0]))
        return np.array(out)
