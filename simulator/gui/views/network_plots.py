"""The plots of a network, in place of the surface plots: training and test loss, test
accuracy, and each lane's sharpness beside its edge-of-stability line.

The losses come with the runs (``Trajectory.losses`` and ``test_losses``, at the steps
``Trajectory.recorded_steps``: once an epoch for a lane with a minibatch); the test
accuracy and the sharpness (``landscape.sharpness``, the Hessian's largest eigenvalue,
every ``stride`` steps) are computed off the GUI thread (``background.BackgroundJob``)
and drawn when ready, the old curves kept until then. The dashed line of each lane is
its stability threshold for gradient descent: ``2 / lr`` (Cohen et al. 2021: with plain
GD the sharpness rises to it and hovers there), ``(2 + 2 momentum) / lr`` with heavy-ball
momentum; an adaptive optimizer (Adam, RMSprop, ...) rescales each coordinate, so its
``2 / lr`` line is shown dotted and is no threshold for it.

Until the lanes' first runs are in, the row of plots gives way to a message saying they
are being trained; until the sharpness and accuracy are, those two plots say they are
being computed; a re-run or recompute dims the old curves under a small note
(``views/placeholder.py``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ..background import BackgroundJob
from ..lanes import is_selected, shown_lanes
from ..plotting import LogAxis
from .placeholder import COMPILE_HINT_S, DIM, Placeholder, compile_hint, waiting_text

#: sharpness and accuracy points per run (the stride is steps // this)
CURVE_POINTS = 100
SETTLE_MS = 150


def stride_for(steps: int) -> int:
    return max(1, int(steps) // CURVE_POINTS)


def stability_threshold(optimizer, lrs: np.ndarray) -> tuple[np.ndarray, bool]:
    """The gradient-descent stability line per step and whether it is one for this
    optimizer (SGD: ``(2 + 2 momentum) / lr``; others: ``2 / lr``, no threshold)."""
    lrs = np.asarray(lrs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        if optimizer.name == "SGD":
            return (2.0 + 2.0 * float(optimizer.momentum)) / lrs, True
        return 2.0 / lrs, False


def curvature_series(net, runs: list, stride: int) -> list:
    """For each run: (steps, sharpness, test accuracy) every ``stride`` steps over its
    finite prefix (in the worker thread)."""
    from simulator.core.landscape import sharpness

    out = []
    for run in runs:
        P = run.positions
        ok = np.all(np.isfinite(P), axis=1)
        n = len(P) if ok.all() else int(np.argmin(ok))
        idx = np.arange(0, max(n, 1), stride)
        try:
            lam = np.asarray(sharpness(net, P[idx], tol=1e-6), dtype=np.float64)
        except ValueError:
            lam = np.full(len(idx), np.nan)
        which = "test" if net.n_test else "train"
        acc = np.array([net.accuracy(P[i], which) for i in idx])
        out.append((idx, lam, acc))
    return out


class NetworkPlots(QWidget):
    """Loss (training solid, test dashed), test accuracy, sharpness and 2/lr."""

    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("NetworkPlots")
        self.series: dict[int, tuple] = {}  # uid -> (steps, sharpness, accuracy)
        self.items: dict[str, dict[int, list]] = {"loss": {}, "acc": {}, "sharp": {}}
        self.status = QLabel("")
        self.plots = {}
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        # short: three plots share the width under the map (tooltips say more)
        titles = {"loss": "loss: train, test (dashed)",
                  "acc": "test accuracy",
                  "sharp": "sharpness, 2/lr (dashed)"}
        tips = {"loss": "Training loss (what the optimizer goes down) and test loss (on "
                        "points it never saw): a widening gap is overfitting.",
                "acc": "Fraction of the test points classified correctly (training points "
                       "when there is no test set).",
                "sharp": "The sharpness is the Hessian's largest eigenvalue. Gradient "
                         "descent is stable only while it stays below 2/lr ((2 + 2 momentum)"
                         "/lr with momentum): with plain GD it climbs to that line and "
                         "hovers there, the edge of stability (Cohen et al. 2021). Adaptive "
                         "optimizers' 2/lr is dotted: it is no threshold for them."}
        for key in ("loss", "acc", "sharp"):
            # the shared LogAxis keeps a short log axis's labels apart (plotting.py)
            p = pg.PlotWidget(axisItems={"left": LogAxis("left")} if key != "acc" else None)
            p.setMenuEnabled(False)
            p.setTitle(titles[key], size="9pt")
            p.setLabel("bottom", "step")
            p.setToolTip(tips[key])
            p.showGrid(x=True, y=True, alpha=0.2)
            if key != "acc":
                p.setLogMode(y=True)
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 200, 200, 120), width=1,
                                                          style=Qt.PenStyle.DashLine))
            p.addItem(line, ignoreBounds=True)
            p.frame_line = line
            self.plots[key] = p
            row.addWidget(p, 1)
        self.plots["acc"].setYRange(0.0, 1.0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(row, 1)
        lay.addWidget(self.status)
        # what is being computed: over the whole row (no runs yet), over each plot
        self.placeholder = Placeholder(self)
        self.plot_placeholders = {key: Placeholder(p) for key, p in self.plots.items()}
        self._wait_tick = QTimer(self)
        self._wait_tick.setInterval(250)
        self._wait_tick.timeout.connect(self.update_waiting)
        self.job = BackgroundJob(self, name="sharpness")
        self.job.done.connect(self._on_series)
        self.job.busy_changed.connect(
            lambda b: self.status.setText("computing sharpness and accuracy\u2026" if b else ""))
        self.job.busy_changed.connect(lambda _b: self.update_waiting())
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self.request)
        self._asked = None
        s = session
        s.trajectories_changed.connect(self._on_runs)
        s.lanes_changed.connect(lambda: None if s.pending else self._on_runs())
        s.frame_changed.connect(self._on_frame)
        s.selected_lane_changed.connect(lambda _i: self._draw_all())  # returns off a network
        s.surface_changed.connect(self._on_runs)
        s.runs_progress.connect(lambda _d, _t: self.update_waiting())
        s.surface_changed.connect(self.update_waiting)
        self._on_runs()  # a session that already holds a network's runs (exports)

    def _net(self):
        s = self.session.surface
        return s if getattr(s, "kind", None) == "network" else None

    # ---- data ----------------------------------------------------------------------------
    def _on_runs(self, *_a) -> None:
        if self._net() is None:
            return
        self._draw_all()
        self._settle.start(SETTLE_MS)
        self.update_waiting()

    def request(self) -> None:
        net = self._net()
        if net is None:
            return
        shown = shown_lanes(self.session)
        key = (net, tuple(id(run) for _l, run in shown))
        if key == self._asked or not shown:
            return
        self._asked = key
        runs = [run for _l, run in shown]
        uids = [lane.uid for lane, _r in shown]
        stride = stride_for(self.session.steps)
        self.job.submit((key, uids), lambda: curvature_series(net, runs, stride))

    def wait(self, timeout: float = 60.0) -> None:
        if self._settle.isActive():
            self._settle.stop()
            self.request()
        self.job.wait(timeout)

    def _on_series(self, key, result) -> None:
        (k, uids) = key
        if isinstance(result, Exception):
            self.status.setText(f"No sharpness: {result}")
            return
        if k[0] is not self.session.surface:
            return
        self.series = dict(zip(uids, result))
        self._draw_all()
        self.update_waiting()

    # ---- saying what is being computed ----------------------------------------------------
    def _has_series(self, shown) -> bool:
        """Whether some shown lane has its sharpness and accuracy drawn."""
        for lane, run in shown:
            ser = self.series.get(lane.uid)
            if ser is not None and len(ser[0]) and ser[0][-1] < len(run.positions):
                return True
        return False

    def waiting_messages(self) -> dict[str, tuple[str, str]]:
        """What each placeholder shows: ``"row"`` (over the whole row, the plots hidden)
        and each plot's, as ``(mode, text)``, mode "say", "note" or ""."""
        out = {"row": ("", ""), "loss": ("", ""), "acc": ("", ""), "sharp": ("", "")}
        if self._net() is None:
            return out
        s = self.session
        shown = shown_lanes(s)
        training = s.running_in_background or (s.pending and not s.results)
        if not shown:
            if training:
                out["row"] = ("say", waiting_text(
                    s, "Their training and test loss, test accuracy and sharpness are "
                       "plotted here."))
            elif s.lanes and not s.pending:
                out["row"] = ("say", "No lane to show: tick a lane in the Lanes panel.")
            return out
        computing = self.job.busy or self._settle.isActive()
        if training:
            out["loss"] = ("note", "re-training\u2026")
        if self._has_series(shown):
            if training or computing:
                out["acc"] = out["sharp"] = (
                    "note", "re-training\u2026" if training else "updating\u2026")
        elif training or computing:
            secs = self.job.elapsed()
            extra = ""
            if computing and secs >= COMPILE_HINT_S:
                extra = f" {secs:.0f} s" + compile_hint("hvp_many_kernel", secs)
            wait = "Training the lanes\u2026" if training and not computing else None
            out["acc"] = ("say", wait or "Computing the test accuracy\u2026" + extra)
            out["sharp"] = ("say", wait or "Computing the sharpness (the Hessian's top "
                                          "eigenvalue) along each run\u2026" + extra)
        return out

    def update_waiting(self) -> None:
        """Show, refresh or hide the placeholders; dim curves being replaced."""
        msgs = self.waiting_messages()
        boards = {"row": self.placeholder, **self.plot_placeholders}
        for key, (mode, text) in msgs.items():
            board = boards[key]
            if mode == "say":
                board.say(text)
            elif mode == "note":
                board.note(text)
            else:
                board.clear()
        row_empty = msgs["row"][0] == "say"
        for key, p in self.plots.items():
            p.setVisible(not row_empty)
            note = msgs[key][0] == "note" and self.plot_placeholders[key].note_due
            p.getPlotItem().vb.setOpacity(DIM if note else 1.0)
        if any(mode for mode, _t in msgs.values()):
            if not self._wait_tick.isActive():
                self._wait_tick.start()
        else:
            self._wait_tick.stop()

    # ---- drawing ---------------------------------------------------------------------------
    def _curves(self, key: str, uid: int, n: int) -> list:
        have = self.items[key].setdefault(uid, [])
        while len(have) < n:
            it = pg.PlotDataItem()
            self.plots[key].addItem(it)
            have.append(it)
        return have

    def _draw_all(self) -> None:
        if self._net() is None:
            return
        shown = shown_lanes(self.session)
        uids = {lane.uid for lane, _r in shown}
        for key, by_uid in self.items.items():
            for uid in [u for u in by_uid if u not in uids]:
                for it in by_uid.pop(uid):
                    self.plots[key].removeItem(it)
        for lane, run in shown:
            sel = is_selected(self.session, lane)
            c = pg.mkColor(lane.color)
            if not sel:
                c.setAlpha(150)
            w = 2.2 if sel else 1.2
            solid = pg.mkPen(c, width=w)
            dashed = pg.mkPen(c, width=w, style=Qt.PenStyle.DashLine)
            dotted = pg.mkPen(c, width=w, style=Qt.PenStyle.DotLine)
            steps = run.recorded_steps  # every step, or once an epoch (record_every)
            tr, te = self._curves("loss", lane.uid, 2)
            tr.setData(steps, _positive(run.losses))
            tr.setPen(solid)
            tl = run.test_losses if run.test_losses is not None else np.full(len(steps), np.nan)
            te.setData(steps, _positive(tl))
            te.setPen(dashed)
            acc, = self._curves("acc", lane.uid, 1)
            lam, edge = self._curves("sharp", lane.uid, 2)
            ser = self.series.get(lane.uid)
            if ser is not None and len(ser[0]) and ser[0][-1] < len(run.positions):
                idx, sharp, accs = ser
                acc.setData(idx, accs)
                lam.setData(idx, _positive(sharp))
            else:
                acc.setData([], [])
                lam.setData([], [])
            acc.setPen(solid)
            lam.setPen(solid)
            thr, is_threshold = stability_threshold(lane.optimizer, run.learning_rates)
            edge.setData(np.arange(len(thr)), _positive(thr))
            edge.setPen(dashed if is_threshold else dotted)
            for items in self.items.values():
                for it in items.get(lane.uid, []):
                    it.setZValue(10 if sel else 0)
        self._on_frame()

    def _on_frame(self, frame=None) -> None:
        if self._net() is None:
            return  # hidden behind the surface plots: nothing to move
        frame = self.session.frame if frame is None else frame
        for p in self.plots.values():
            p.frame_line.setValue(frame)

    # ---- for tests ----------------------------------------------------------------------
    def lane_count(self, key: str) -> int:
        """Lanes with a non-empty curve in plot ``key``."""
        return sum(1 for items in self.items[key].values()
                   if items and len(items[0].getData()[0] if items[0].getData()[0]
                                    is not None else ()))


def _positive(a) -> np.ndarray:
    """Values a log axis can show (others become gaps)."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a) & (a > 0), a, np.nan)
