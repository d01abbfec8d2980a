"""Optimizer internals on the 2-D map: what the selected lane's optimizer holds and does.

For the selected lane at the current frame, arrows from its point show the plain
gradient step ``-lr g``, the step the momentum buffer or first moment makes on its own
(``OptimizerState.momentum_step``) and the step actually taken; for adaptive methods a
box (Rprop) or an ellipse (Adagrad, RMSprop, Adam and its kin, Adadelta) whose
half-axes are each coordinate's effective step ``|lr_eff,i g_i|`` (``lr_eff = lr /
(sqrt(v_hat) + eps)`` for Adam), so a student sees why Adam steps the same size in
steep and shallow directions while ``-lr g`` is long in the steep one. All are drawn to
one scale, magnified so the longest is about ``ARROW_PX`` pixels (the legend says by
how much; ``-lr g`` is cut short when it would be far longer).

The state comes from ``simulator.core.internals.optimizer_state``: one replay per run,
kept and extended, so a frame costs one lookup and a few ``setData`` calls; with the
overlay off nothing is computed, and while a slider or the start point is dragged (new
runs every tick) the layer is hidden until the release.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from simulator.core.internals import is_replayed, optimizer_state
from simulator.core.plotmath import lane_step

from ..drag import DRAG
from ..lanes import selected_lane
from ..plotting import arrow_heads

ARROW_PX = 60.0  # on-screen length of the longest arrow (or half-axis)
CUT = 2.5  # -lr g is drawn at most this many times ARROW_PX long
GRAD_COLOR = "#ff6b6b"  # -lr g: what plain gradient descent would step
MOMENTUM_COLOR = "#c77dff"  # the momentum buffer / first moment, times -lr
STEP_COLOR = "#ffffff"  # the step taken
ADAPT_COLOR = "#ffd166"  # per-coordinate effective step (box or ellipse)
TIP = (
    "Optimizer internals: for the selected lane at the current frame, arrows for the "
    "plain gradient step -lr\u00b7g (red), the step the momentum makes (purple) and the step "
    "actually taken (white); for adaptive methods the yellow ellipse's half-axes are "
    "each coordinate's effective step |lr/(\u221av\u0302+\u03b5)\u00b7g| (Rprop: a box of "
    "its step sizes). Adam's ellipse stays round where -lr\u00b7g is long in the steep "
    "direction and short in the shallow one: dividing by \u221av\u0302 evens the steps out."
)


def _nice_below(v: float) -> float:
    """The largest 1, 2 or 5 times a power of ten that is at most ``v``."""
    e = math.floor(math.log10(v))
    m = v / 10.0**e
    return (5.0 if m >= 5.0 else 2.0 if m >= 2.0 else 1.0) * 10.0**e


class InternalsOverlay:
    """The internals layer of a ``ContourView`` (off until ``set_enabled(True)``)."""

    def __init__(self, view):
        self.view = view
        self.enabled = False
        self.arrows = {
            name: pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True,
                                   pen=pg.mkPen(color, width=2.6))
            for name, color in (("gradient", GRAD_COLOR), ("momentum", MOMENTUM_COLOR),
                                ("step", STEP_COLOR))
        }
        self.shape = pg.PlotCurveItem(pen=pg.mkPen(ADAPT_COLOR, width=2.0),
                                      skipFiniteCheck=True)
        for it in (self.shape, *self.arrows.values()):
            it.setZValue(31)  # above the eigen-arrows
            it.setVisible(False)
            view.plot.addItem(it)
        self.legend = pg.LegendItem(offset=(-8, -8), labelTextSize="8pt",
                                    brush=pg.mkBrush(0, 0, 0, 170))
        self.legend.setParentItem(view.viewbox)
        self.legend.setZValue(51)
        self.legend.setVisible(False)
        self._legend_key = None
        self.state = None  # the OptimizerState drawn, for tests and readouts
        self._mag = 0.0  # the magnification drawn (screen length per data length)
        self._cut = False  # whether -lr g is drawn cut short (dashed)
        self._scale_text = None  # the legend's scale row as shown

    def on_drag(self, dragging: bool) -> None:
        """The view's ``DRAG.changed``: while a slider or the start is dragged every tick
        makes new runs, and a replay per tick would cost a slider tick milliseconds, so
        the layer waits for the release."""
        if not dragging:
            self.update()

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        self.update()

    def _hide(self) -> None:
        for it in (self.shape, *self.arrows.values()):
            if it.isVisible():
                it.setVisible(False)
        if self.legend.isVisible():
            self.legend.setVisible(False)
        self.state = None

    def update(self, *_args) -> None:
        """Redraw for the selected lane at the current frame (or hide)."""
        if not self.enabled:
            if self.state is not None or self.legend.isVisible():
                self._hide()
            return
        view = self.view
        lane = selected_lane(view.session)
        run = view.session.results.get(lane.uid) if lane is not None else None
        if run is None or run.positions.shape[1] != 2:
            self._hide()
            return
        k = lane_step(run, getattr(view.session, "frame", 0))
        if k >= run.n_steps:  # the last point: no update from it
            self._hide()
            return
        if DRAG.active and not is_replayed(run, k):  # drawn again on the release
            self._hide()
            return
        try:
            st = optimizer_state(run, k)
        except (ValueError, ArithmeticError):
            self._hide()
            return
        px, py = view.viewbox.viewPixelSize()
        if not (px > 0 and py > 0):
            self._hide()
            return
        p = st.position
        vecs = {"gradient": -st.lr * st.gradient, "step": st.step_taken}
        if st.momentum_step is not None:
            vecs["momentum"] = st.momentum_step
        half = st.effective_step
        # one magnification for all, so lengths compare: the longest of what the optimizer
        # did (step, momentum, effective steps) is about ARROW_PX pixels; -lr g, which can
        # be far longer (Adam on a steep wall), is cut at CUT times that
        def screen(v):
            return math.hypot(v[0] / px, v[1] / py)

        sizes = [screen(v) for name, v in vecs.items() if name != "gradient"]
        if half is not None:
            sizes += [abs(half[0]) / px, abs(half[1]) / py]
        sizes = [s for s in sizes if math.isfinite(s)]
        big = max(sizes, default=0.0)
        if not big > 0.0:
            big = screen(vecs["gradient"])
        if not (big > 0.0 and math.isfinite(big)):
            self._hide()
            return
        # 1, 2 or 5 x 10^n, kept while the longest stays within a factor 2.5 of ARROW_PX:
        # a new scale lays the legend out again (milliseconds), so it rarely changes
        mag = self._mag
        if not (mag > 0.0 and ARROW_PX / 2.5 <= big * mag <= ARROW_PX * 2.5):
            mag = self._mag = _nice_below(ARROW_PX / big)
        cut = False
        for name, item in self.arrows.items():
            v = vecs.get(name)
            if v is None or not np.all(np.isfinite(v)):
                item.setVisible(False)
                continue
            f = mag
            if name == "gradient" and screen(v) * mag > CUT * ARROW_PX:
                f = CUT * ARROW_PX / screen(v)
                cut = True
            if name == "gradient" and cut != self._cut:  # dashed when cut short
                self._cut = cut
                pen = pg.mkPen(GRAD_COLOR, width=2.6)
                if cut:
                    pen.setStyle(Qt.PenStyle.DashLine)
                item.setPen(pen)
            ex, ey = p[0] + f * v[0], p[1] + f * v[1]
            hx, hy = arrow_heads([p[0]], [p[1]], [ex], [ey], px, py, 8.0)
            item.setData(np.r_[p[0], ex, hx], np.r_[p[1], ey, hy])
            item.setVisible(True)
        box = run.optimizer.name == "Rprop"
        if half is not None and np.all(np.isfinite(half)):
            a, b = mag * abs(half[0]), mag * abs(half[1])
            if box:
                xs = p[0] + a * np.array([-1, 1, 1, -1, -1])
                ys = p[1] + b * np.array([-1, -1, 1, 1, -1])
            else:
                th = np.linspace(0.0, 2.0 * np.pi, 49)
                xs, ys = p[0] + a * np.cos(th), p[1] + b * np.sin(th)
            self.shape.setData(xs, ys)
            self.shape.setVisible(True)
        else:
            self.shape.setVisible(False)
        self._set_legend(st, half is not None, box, mag)
        self.state = st

    def _set_legend(self, st, adaptive: bool, box: bool, mag: float) -> None:
        scale = f"{mag:g}"
        rows = [("gradient", GRAD_COLOR,
                 "\u2212lr\u00b7g (plain gradient step; dashed: cut short)")]
        if st.momentum_step is not None:
            what = {"momentum buffer": "momentum carried over",
                    "first moment m": "\u2212lr\u00b7m\u0302 (first moment)"}.get(
                        st.momentum_name, f"\u2212lr\u00b7{st.momentum_name}")
            rows.append(("momentum", MOMENTUM_COLOR, what))
        rows.append(("step", STEP_COLOR, "step taken"))
        if adaptive:
            rows.append(("shape", ADAPT_COLOR,
                         "step sizes (box)" if box else "per-coordinate step |lr_eff\u00b7g|"))
        if "evaluations" in st.extra:
            n = st.extra["evaluations"]
            rows.append(("evals", None,
                         f"{n} evaluation{'' if n == 1 else 's'} of loss and gradient this step"))
        rows.append(("scale", None, ""))
        key = tuple((r[0], r[2]) for r in rows)
        if key != self._legend_key:  # rebuilt only when the rows change (milliseconds)
            self._legend_key = key
            self._scale_text = None
            self.legend.clear()
            for _name, color, text in rows:
                pen = pg.mkPen(color, width=3) if color else pg.mkPen(None)
                self.legend.addItem(pg.PlotDataItem(pen=pen), text)
        text = f"drawn \u00d7{scale}"
        if text != self._scale_text:  # the scale follows the steps: its label alone
            self._scale_text = text
            self.legend.items[-1][1].setText(text)
        self.legend.setVisible(True)
