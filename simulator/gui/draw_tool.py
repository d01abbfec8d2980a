"""Draw mode: raise hills and dig wells on the 2-D view with a brush.

The tool attaches to a :class:`~simulator.gui.views.contour.ContourView` through an event
filter on its viewport, so the view itself knows nothing about drawing: while draw mode
is on, left-drag raises a ridge, Shift+drag or right-drag digs a trench, and with the
eraser on a drag removes the bumps under the brush; the wheel still zooms and the middle
button still pans. A click is one hill.

Every stroke is one ``QUndoCommand`` on :attr:`DrawTool.undo_stack` holding the session's
surface before and after it, so undo gives back the *exact* previous surface object and
redo re-applies the stroke. While the mouse moves, the stroke's path is drawn at once
and the session's surface is updated on a coalesced timer whose interval follows the cost
of the last update (a surface with hundreds of bumps takes longer to redraw), so the
contour map and the 3-D view follow live without the drag ever lagging behind.

The surface is :func:`simulator.core.drawn.drawn_surface`: the base plus Gaussian bumps,
exact value, gradient and Hessian, optimizers at full kernel speed.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from simulator.core import drawn as D

MIN_PREVIEW_MS = 30
MAX_PREVIEW_MS = 400
RADIUS_RANGE = (0.01, 0.3)  # brush radius as a fraction of the domain's smaller side
STRENGTH_RANGE = (0.02, 1.0)  # stroke height as a fraction of the base's height scale
DEFAULT_RADIUS = 0.08
DEFAULT_STRENGTH = 0.25
MAX_UNDO = 200
BASES = ("flat", "bowl", "library", "formula")
DRAW_TIP = ("Draw mode: drag to raise a hill, Shift+drag or right-drag to dig a well "
            "(with the eraser on, drag to erase). Middle-drag pans, the wheel zooms; "
            "D leaves draw mode.")

_HILL = "#E69F00"  # Okabe-Ito orange: raising
_WELL = "#56B4E9"  # sky blue: digging
_ERASE = "#F0F0F0"


class _SurfaceCommand(QUndoCommand):
    """One drawing edit: the session's surface before and after (with their bases)."""

    def __init__(self, tool: DrawTool, text: str, before, after) -> None:
        super().__init__(text)
        self.tool = tool
        self.before = before  # (surface, base)
        self.after = after

    def redo(self) -> None:
        self.tool._apply(*self.after)

    def undo(self) -> None:
        self.tool._apply(*self.before)


class DrawTool(QObject):
    """The draw-mode controller for one contour view and its session.

    Signals
    -------
    active_changed(bool)
        Draw mode turned on or off.
    state_changed()
        Base, bumps, brush or eraser changed (panels refresh their controls).
    message(str)
        Something the student should know (e.g. the surface is a 1-D curve).
    """

    active_changed = Signal(bool)
    state_changed = Signal()
    message = Signal(str)

    def __init__(self, session, view, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view = view
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(MAX_UNDO)
        self.active = False
        self.eraser = False
        self.radius_fraction = DEFAULT_RADIUS
        self.strength = DEFAULT_STRENGTH
        self.base = D.flat_surface()
        self.bumps = np.zeros((0, 4))
        self.formula_surface = None  # the last typed formula seen (a base choice)
        self.last_preview_seconds = 0.0
        self._height_cache: tuple | None = None  # (base, scale)
        self._setting = False  # True while the tool itself sets the session's surface
        self._stroke: D.Stroke | None = None
        self._stroke_erase = False
        self._stroke_before = None
        self._hover: tuple[float, float] | None = None
        self._tooltip: str | None = None  # the view's own tooltip, while ours is shown

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(MIN_PREVIEW_MS)
        self._timer.timeout.connect(self._preview)

        plot = view.plot
        self.brush_item = pg.PlotCurveItem(pen=pg.mkPen(_HILL, width=1.5))
        self.path_item = pg.PlotCurveItem(pen=pg.mkPen(_HILL, width=2,
                                                       style=Qt.PenStyle.DashLine))
        for it, z in ((self.brush_item, 60), (self.path_item, 59)):
            it.setZValue(z)
            it.setVisible(False)
            plot.addItem(it)

        self._viewport = view.graphics.viewport()
        self._viewport.installEventFilter(self)
        session.surface_changed.connect(self._on_surface_changed)
        self._adopt(session.surface)

    # ---- state ------------------------------------------------------------------------
    @property
    def domain(self):
        return self.base.domain

    @property
    def radius(self) -> float:
        """Brush radius in surface units."""
        (x0, x1), (y0, y1) = self.base.domain
        return self.radius_fraction * min(x1 - x0, y1 - y0)

    @property
    def height_scale(self) -> float:
        """The height a full-strength stroke raises (the base's spread of values)."""
        if self._height_cache is None or self._height_cache[0] is not self.base:
            self._height_cache = (self.base, D.height_scale(self.base))
        return self._height_cache[1]

    @property
    def height(self) -> float:
        return self.strength * self.height_scale

    def set_radius_fraction(self, f: float) -> None:
        self.radius_fraction = float(min(max(f, RADIUS_RANGE[0]), RADIUS_RANGE[1]))
        self._update_brush()
        self.state_changed.emit()

    def set_strength(self, s: float) -> None:
        self.strength = float(min(max(s, STRENGTH_RANGE[0]), STRENGTH_RANGE[1]))
        self.state_changed.emit()

    def set_eraser(self, on: bool) -> None:
        self.eraser = bool(on)
        self._update_brush()
        self.state_changed.emit()

    def set_active(self, on: bool) -> None:
        on = bool(on)
        if on == self.active:
            return
        if not on:
            self._cancel_stroke()
        self.active = on
        if on:
            self._adopt(self.session.surface)
            s = self.session.surface
            if s is not None and s.dim != 2:
                self.message.emit("Draw mode works on 2-D surfaces: pick a base in the "
                                  "Draw panel (flat, bowl, a library surface or a formula)")
            self._viewport.setCursor(Qt.CursorShape.CrossCursor)
            self._tooltip = self.view.graphics.toolTip()
            self.view.graphics.setToolTip(DRAW_TIP)
        else:
            self._viewport.unsetCursor()
            if self._tooltip is not None:
                self.view.graphics.setToolTip(self._tooltip)
                self._tooltip = None
        self.brush_item.setVisible(False)
        self.path_item.setVisible(False)
        self.active_changed.emit(on)
        self.state_changed.emit()

    def can_draw(self) -> bool:
        s = self.session.surface
        return s is not None and s.dim == 2

    # ---- edits (each one undo step) ------------------------------------------------------
    def set_base(self, kind: str, name: str | None = None) -> None:
        """Draw on a new base (keeping the bumps): ``"flat"``, ``"bowl"``, ``"library"``
        with a surface ``name``, or ``"formula"`` (the last typed formula)."""
        from simulator.core.library import get_surface

        dom = self.base.domain
        try:
            if kind == "flat":
                base = D.flat_surface(dom)
            elif kind == "bowl":
                base = D.bowl_surface(dom)
            elif kind == "library":
                base = get_surface(name)
            elif kind == "formula":
                base = self.formula_surface
                if base is None:
                    raise ValueError("type a formula in the Surface panel first")
            else:
                raise ValueError(f"unknown base {kind!r}")
            if base.dim != 2:
                raise ValueError(f"{base.name!r} is a 1-D curve: draw on a 2-D surface")
            base = D.base_of(base)
            after = self._surface_on(base, self.bumps)
        except (LookupError, ValueError) as e:
            self.message.emit(str(e))
            return
        self.push(f"Draw on {base.name}", after, base)

    def clear(self) -> None:
        """Remove every drawn bump (one undo step)."""
        if not len(self.bumps):
            return
        self.push("Clear drawing", self.base, self.base)

    def add_stroke(self, points, erase: bool = False, well: bool = False) -> bool:
        """Apply one stroke given in surface coordinates (what a drag does)."""
        if not self.can_draw():
            return False
        st = D.Stroke(radius=self.radius, height=-self.height if well else self.height)
        for x, y in points:
            st.add(x, y)
        if not st.points:
            return False
        new = self._stroke_result(st, erase)
        if new is None:
            return False
        self.push(self._stroke_text(erase, well), self._surface_on(self.base, new),
                   self.base)
        return True

    # ---- applying ---------------------------------------------------------------------------
    def _surface_on(self, base, bumps):
        return D.drawn_surface(base, bumps) if len(bumps) else base

    def push(self, text: str, surface, base) -> None:
        """Make ``surface`` (drawn on ``base``) the session's as one undo step ``text``."""
        before = (self.session.surface, self.base)
        self.undo_stack.push(_SurfaceCommand(self, text, before, (surface, base)))

    def _apply(self, surface, base) -> None:
        """Make ``surface`` the session's (keeping the view where the student zoomed)."""
        vb = self.view.viewbox
        keep = self.view._surface is not None and surface is not None and \
            self.view._surface.domain == surface.domain
        rng = vb.targetRange() if keep else None
        t0 = time.perf_counter()
        self._setting = True
        try:
            self.session.set_surface(surface)
        finally:
            self._setting = False
        if rng is not None:
            vb.setRange(xRange=rng[0], yRange=rng[1], padding=0.0)
        self.last_preview_seconds = time.perf_counter() - t0
        self.base = base
        self.bumps = D.bumps_of(surface)
        self._update_brush()
        self.state_changed.emit()

    def _on_surface_changed(self) -> None:
        if self._setting:
            return
        # a surface from elsewhere (library, formula, a file): drawing starts over on it
        self._cancel_stroke()
        self.undo_stack.clear()
        self._adopt(self.session.surface)
        self.state_changed.emit()

    def _adopt(self, s) -> None:
        if s is None or s.kind == "network":  # nothing to draw on a network
            return
        base = D.base_of(s)
        if base.kind == "expression" and base.dim == 2:
            self.formula_surface = base
        if s.dim != 2:
            return
        self.base = base
        self.bumps = D.bumps_of(s)

    # ---- strokes ------------------------------------------------------------------------------
    def _stroke_text(self, erase: bool, well: bool) -> str:
        return "Erase" if erase else ("Dig a well" if well else "Raise a hill")

    def _stroke_result(self, st: D.Stroke, erase: bool) -> np.ndarray | None:
        if erase:
            mask = D.erase_mask(self.bumps, st.points, st.radius)
            if not mask.any():
                return None
            return self.bumps[~mask]
        new = st.bumps()
        room = D.MAX_BUMPS - len(self.bumps)
        if room <= 0:
            self.message.emit(f"The drawing has {D.MAX_BUMPS} bumps, the most a surface "
                              "can have: erase some or clear it")
            return None
        if len(new) > room:
            new = new[:room]
            self.message.emit(f"Stroke cut short: a surface has at most {D.MAX_BUMPS} bumps")
        return np.vstack([self.bumps, new]) if len(new) else None

    def _begin(self, p, erase: bool, well: bool) -> None:
        self._stroke = D.Stroke(radius=self.radius,
                                height=-self.height if well else self.height)
        self._stroke_erase = erase
        self._stroke_well = well
        self._stroke_before = (self.session.surface, self.base)
        self._stroke.add(*p)
        color = _ERASE if erase else (_WELL if well else _HILL)
        self.path_item.setPen(pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine))
        self._update_path()
        self._schedule()

    def _extend(self, p) -> None:
        if self._stroke is None:
            return
        self._stroke.add(*p)
        self._update_path()
        self._schedule()

    def _finish(self) -> None:
        st = self._stroke
        if st is None:
            return
        self._timer.stop()
        self._stroke = None
        self.path_item.setVisible(False)
        before = self._stroke_before
        self._stroke_before = None
        new = self._stroke_result(st, self._stroke_erase)
        if new is None:
            # nothing to do (an eraser that missed): put back what the preview showed
            if self.session.surface is not before[0]:
                self._apply(*before)
            return
        after = (self._surface_on(self.base, new), self.base)
        cmd = _SurfaceCommand(self, self._stroke_text(self._stroke_erase, self._stroke_well),
                              before, after)
        self.undo_stack.push(cmd)

    def _cancel_stroke(self) -> None:
        if self._stroke is None:
            return
        self._timer.stop()
        self._stroke = None
        self.path_item.setVisible(False)
        before, self._stroke_before = self._stroke_before, None
        if before is not None and self.session.surface is not before[0]:
            self._apply(*before)

    def _schedule(self) -> None:
        if not self._timer.isActive():
            ms = 1000.0 * 1.2 * self.last_preview_seconds
            self._timer.setInterval(int(min(MAX_PREVIEW_MS, max(MIN_PREVIEW_MS, ms))))
            self._timer.start()

    def _preview(self) -> None:
        st = self._stroke
        if st is None:
            return
        new = self._stroke_result_quiet(st, self._stroke_erase)
        bumps = self.bumps if new is None else new
        surface = self._surface_on(self.base, bumps)
        self._setting = True
        try:
            vb = self.view.viewbox
            rng = vb.targetRange()
            t0 = time.perf_counter()
            self.session.set_surface(surface)
            vb.setRange(xRange=rng[0], yRange=rng[1], padding=0.0)
            self.last_preview_seconds = time.perf_counter() - t0
        finally:
            self._setting = False

    def _stroke_result_quiet(self, st, erase):
        if erase:
            mask = D.erase_mask(self.bumps, st.points, st.radius)
            return self.bumps[~mask]
        new = st.bumps()[: max(0, D.MAX_BUMPS - len(self.bumps))]
        return np.vstack([self.bumps, new]) if len(new) else None

    # ---- overlay ------------------------------------------------------------------------------
    def _update_path(self) -> None:
        pts = np.asarray(self._stroke.points) if self._stroke else np.zeros((0, 2))
        if len(pts):
            self.path_item.setData(pts[:, 0], pts[:, 1])
            self.path_item.setVisible(True)
        else:
            self.path_item.setVisible(False)

    def _update_brush(self, well: bool = False) -> None:
        if not self.active or self._hover is None:
            self.brush_item.setVisible(False)
            return
        cx, cy = self._hover
        t = np.linspace(0.0, 2.0 * math.pi, 65)
        r = self.radius
        color = _ERASE if self.eraser else (_WELL if well else _HILL)
        self.brush_item.setPen(pg.mkPen(color, width=1.5))
        self.brush_item.setData(cx + r * np.cos(t), cy + r * np.sin(t))
        self.brush_item.setVisible(True)

    # ---- mouse ---------------------------------------------------------------------------------
    def _to_view(self, pos) -> tuple[float, float] | None:
        scene = self.view.graphics.mapToScene(pos.toPoint() if isinstance(pos, QPointF)
                                              else pos)
        vb = self.view.viewbox
        if not vb.sceneBoundingRect().contains(scene):
            return None
        q = vb.mapSceneToView(scene)
        x, y = float(q.x()), float(q.y())
        return (x, y) if math.isfinite(x) and math.isfinite(y) else None

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt naming
        if obj is not self._viewport or not self.active:
            return False
        t = ev.type()
        if t == QEvent.Type.MouseButtonPress:
            b = ev.button()
            if b not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
                return False  # middle button pans as usual
            if not self.can_draw():
                self.message.emit("Draw mode works on 2-D surfaces")
                return True
            p = self._to_view(ev.position())
            if p is None:
                return False
            shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            well = b == Qt.MouseButton.RightButton or shift
            self._begin(p, self.eraser, well and not self.eraser)
            return True
        if t == QEvent.Type.MouseMove:
            p = self._to_view(ev.position())
            if self._stroke is not None:
                if p is not None:
                    self._extend(p)
                self._hover = p
                self._update_brush(self._stroke_well if self._stroke else False)
                return True
            self._hover = p
            shift = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            self._update_brush(shift)
            return False  # the view keeps showing the cursor readout
        if t == QEvent.Type.MouseButtonRelease:
            if self._stroke is None:
                return ev.button() == Qt.MouseButton.RightButton  # no context menu
            p = self._to_view(ev.position())
            if p is not None:
                self._stroke.add(*p)
            self._finish()
            return True
        if t == QEvent.Type.MouseButtonDblClick:
            return ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton)
        if t == QEvent.Type.ContextMenu:
            return True
        if t == QEvent.Type.Leave:
            self._hover = None
            self._update_brush()
        return False
