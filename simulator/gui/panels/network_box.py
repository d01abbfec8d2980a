"""The diagnostics of a network: curvature at the selected lane's current weights (the
sharpness, the top few Hessian eigenvalues, 2 / lambda_max against the lane's learning
rate) and, over every lane's end point, which one ended in the flatter minimum and which
tests better. Computed off the GUI thread (``background.BackgroundJob``: Lanczos on
exact Hessian-vector products); the last readout stays until the new one is ready.
"""

from __future__ import annotations

import html
import math

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout

from simulator.core.plotmath import lane_step

from ..background import BackgroundJob
from ..formatting import fmt
from ..lanes import lane_lr, selected_lane, shown_lanes

TOP_K = 3
SETTLE_MS = 120


def _last_finite(P: np.ndarray) -> int:
    ok = np.all(np.isfinite(P), axis=1)
    return len(P) - 1 if ok.all() else max(0, int(np.argmin(ok)) - 1)


def network_readout(net, w, ends: list) -> dict:
    """In the worker thread: the top eigenvalues at ``w`` and, for each lane's end point
    ``(name, weights)``, its sharpness, training loss, test loss and test accuracy."""
    from simulator.core.landscape import hessian_eigenvalues, sharpness

    k = min(TOP_K, net.n_params)
    top = hessian_eigenvalues(net, w, k=k, tol=1e-8) if np.all(np.isfinite(w)) else None
    rows = []
    for name, e in ends:
        rows.append({
            "name": html.escape(name),
            "sharpness": sharpness(net, e, tol=1e-6),
            "loss": net.loss(e),
            "test_loss": net.test_loss(e) if net.n_test else math.nan,
            "test_acc": net.accuracy(e, "test") if net.n_test else math.nan,
        })
    return {"top": top, "ends": rows}


def verdict(rows: list) -> str:
    """Which lane ended flattest and which tests best, in one sentence."""
    ok = [r for r in rows if math.isfinite(r["sharpness"])]
    if not ok:
        return ""
    flat = min(ok, key=lambda r: r["sharpness"])
    tested = [r for r in ok if math.isfinite(r["test_loss"])]
    if not tested:
        return f"<b>{flat['name']}</b> ended in the flattest minimum."
    best = min(tested, key=lambda r: r["test_loss"])
    if best is flat:
        return (f"<b>{flat['name']}</b> ended in the flattest minimum <i>and</i> has the "
                "best test loss: flat minima tend to generalise.")
    return (f"<b>{flat['name']}</b> ended in the flattest minimum, but <b>{best['name']}</b> "
            "has the best test loss: flatness is a tendency, not a law (and sharpness "
            "changes with how the weights are scaled).")


class NetworkBox(QGroupBox):
    """Curvature of a network at the selected lane, and the lanes' end points compared."""

    def __init__(self, session, parent=None) -> None:
        super().__init__("Network", parent)
        self.session = session
        self.readout: dict | None = None
        self.here = QLabel("")
        self.ends = QLabel("")
        for lab in (self.here, self.ends):
            lab.setWordWrap(True)
            lab.setTextFormat(Qt.TextFormat.RichText)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.here.setToolTip(
            "The Hessian's largest eigenvalues at the lane's weights (exact, by Lanczos). "
            "Gradient descent is stable along a direction of curvature lambda only while "
            "lr < 2/lambda: compare the learning rate with 2/lambda_max.")
        self.ends.setToolTip(
            "Each lane's end point: how sharp (lambda_max, the Hessian's largest "
            "eigenvalue), its training loss, test loss and test accuracy.")
        self.status = QLabel("")
        lay = QVBoxLayout(self)
        lay.addWidget(self.here)
        lay.addWidget(self.ends)
        lay.addWidget(self.status)
        self.job = BackgroundJob(self, name="network-diagnostics")
        self.job.done.connect(self._on_readout)
        self.job.busy_changed.connect(
            lambda b: self.status.setText("computing the Hessian\u2026" if b else ""))
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self.request)
        self._asked = None
        s = session
        for sig in (s.trajectories_changed, s.frame_changed, s.selected_lane_changed,
                    s.surface_changed):
            sig.connect(self.request_soon)

    def _net(self):
        s = self.session.surface
        return s if getattr(s, "kind", None) == "network" else None

    def request_soon(self, *_a) -> None:
        if self._net() is not None and not self._settle.isActive():
            self._settle.start(SETTLE_MS)

    def request(self) -> None:
        net = self._net()
        if net is None or not self.isVisible():
            return
        lane = selected_lane(self.session)
        run = self.session.results.get(lane.uid) if lane is not None else None
        if run is None:
            self.here.setText("Select a lane to see the curvature where it is.")
            return
        k = lane_step(run, self.session.frame)
        shown = shown_lanes(self.session)
        key = (net, tuple(id(r) for _l, r in shown), id(run), k)
        if key == self._asked:
            return
        self._asked = key
        w = np.array(run.positions[k])
        ends = [(ln.name, np.array(r.positions[_last_finite(r.positions)])) for ln, r in shown]
        lr = lane_lr(self.session, lane, run, k)
        self.job.submit((key, html.escape(lane.name), k, lr),
                        lambda: network_readout(net, w, ends))

    def wait(self, timeout: float = 60.0) -> None:
        if self._settle.isActive():
            self._settle.stop()
        self.request()
        self.job.wait(timeout)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.request_soon()

    def _on_readout(self, key, result) -> None:
        (k0, name, step, lr) = key
        if k0[0] is not self.session.surface:
            return
        if isinstance(result, Exception):
            self.status.setText(f"No curvature: {result}")
            return
        self.readout = result
        top = result["top"]
        if top is None:
            self.here.setText(f"<b>{name}</b> at step {step}: the weights blew up.")
        else:
            lam = float(top[0])
            edge = 2.0 / lam if lam > 0 else math.inf
            stable = "below" if lr < edge else "above"
            eig = ", ".join(fmt(float(v), 3) for v in top)
            self.here.setText(
                f"<b>{name}</b> at step {step}<br>sharpness &lambda;<sub>max</sub> = "
                f"{fmt(lam)}<br>top Hessian eigenvalues: {eig}<br>2/&lambda;<sub>max</sub>"
                f" = {fmt(edge)}: the learning rate {fmt(lr)} is {stable} it ")
        rows = result["ends"]
        # narrow headers: the dock may be 300 px wide (the tooltip says what they are)
        lines = ["At the end of each lane:<table cellspacing='3'><tr><th align='left'>"
                 "lane</th><th>&lambda;<sub>max</sub></th><th>train</th><th>test</th>"
                 "<th>acc.</th></tr>"]
        for r in rows:
            acc = "-" if math.isnan(r["test_acc"]) else f"{r['test_acc']:.0%}"
            tl = "-" if math.isnan(r["test_loss"]) else fmt(r["test_loss"], 3)
            lines.append(f"<tr><td>{r['name']}</td><td align='right'>"
                         f"{fmt(r['sharpness'], 3)}</td><td align='right'>"
                         f"{fmt(r['loss'], 3)}</td><td align='right'>{tl}</td>"
                         f"<td align='right'>{acc}</td></tr>")
        lines.append("</table>")
        self.ends.setText("".join(lines) + verdict(rows))
