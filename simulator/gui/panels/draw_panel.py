"""The Draw panel: brush radius and strength, eraser, base, undo/redo, clear, files.

:func:`install_draw` wires draw mode into a main window in one call: the
:class:`~simulator.gui.draw_tool.DrawTool` on the contour view, this panel in a dock, a
checkable "Draw" action (toolbar, View menu, shortcut D) and Undo/Redo in an Edit menu
(Ctrl+Z, Ctrl+Shift+Z).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import palette
from .. import settings as st
from ..draw_tool import RADIUS_RANGE, STRENGTH_RANGE, DrawTool
from . import ErrorLabel, section_label, shrinkable

FILE_FILTER = "LossLab surfaces (*.surface.json *.json);;All files (*)"
SETTINGS_GROUP = "panels/draw"
SLIDER_STEPS = 200


def _fmt(v: float) -> str:
    return f"{v:.3g}"


class DrawPanel(QWidget):
    """Controls for a :class:`DrawTool`."""

    def __init__(self, tool: DrawTool, parent: QWidget | None = None,
                 draw_action: QAction | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DrawPanel")
        self.tool = tool
        self.settings = st.settings(SETTINGS_GROUP)

        self.draw_button = QToolButton()
        self.draw_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.draw_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        if draw_action is not None:
            self.draw_button.setDefaultAction(draw_action)
        else:
            self.draw_button.setText("Draw mode")
            self.draw_button.setCheckable(True)
            self.draw_button.toggled.connect(tool.set_active)

        self.hint = QLabel(
            "Drag on the 2-D view to raise a hill; Shift+drag or right-drag digs a well. "
            "A click makes one hill. Middle-drag pans, the wheel zooms."
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {palette.muted_color()};")

        self.base_combo = QComboBox()
        self.base_combo.setObjectName("draw_base")
        self.base_combo.setToolTip("The surface the hills and wells are drawn on")
        shrinkable(self.base_combo)
        self.base_combo.activated.connect(self._on_base_picked)

        self.radius_slider = QSlider(Qt.Orientation.Horizontal)
        self.radius_slider.setRange(0, SLIDER_STEPS)
        self.radius_slider.setToolTip("Brush radius: how wide a hill or ridge is")
        self.radius_slider.valueChanged.connect(self._on_radius)
        self.radius_label = QLabel()
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(0, SLIDER_STEPS)
        self.strength_slider.setToolTip(
            "Strength: how high a hill rises (or how deep a well goes), as a share of the "
            "base surface's own range of values")
        self.strength_slider.valueChanged.connect(self._on_strength)
        self.strength_label = QLabel()
        for lab in (self.radius_label, self.strength_label):
            lab.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.000e+00"))
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.eraser_check = QCheckBox("Eraser")
        self.eraser_check.setToolTip("Drag to remove the hills and wells under the brush")
        self.eraser_check.toggled.connect(tool.set_eraser)

        # menus say what is undone ("Undo Raise a hill"); the buttons keep a short, fixed
        # label (a growing label would widen the dock) and say it in their tooltip
        stack = tool.undo_stack
        self.undo_action = stack.createUndoAction(self, "Undo")
        self.redo_action = stack.createRedoAction(self, "Redo")
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.clicked.connect(stack.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.clicked.connect(stack.redo)
        stack.canUndoChanged.connect(self.undo_button.setEnabled)
        stack.canRedoChanged.connect(self.redo_button.setEnabled)
        stack.undoTextChanged.connect(self._on_undo_text)
        stack.redoTextChanged.connect(self._on_redo_text)
        self.undo_button.setEnabled(stack.canUndo())
        self.redo_button.setEnabled(stack.canRedo())
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every hill and well (can be undone)")
        self.clear_button.clicked.connect(tool.clear)
        self.save_button = QPushButton("Save\u2026")
        self.save_button.setToolTip("Save this surface as a JSON file")
        self.save_button.clicked.connect(self.save)
        self.load_button = QPushButton("Load\u2026")
        self.load_button.setToolTip("Load a surface saved before (can be undone)")
        self.load_button.clicked.connect(self.load)

        self.info = QLabel()
        self.info.setWordWrap(True)
        self.error = ErrorLabel()

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.addWidget(QLabel("Base"), 0, 0)
        grid.addWidget(self.base_combo, 0, 1, 1, 2)
        grid.addWidget(QLabel("Radius"), 1, 0)
        grid.addWidget(self.radius_slider, 1, 1)
        grid.addWidget(self.radius_label, 1, 2)
        grid.addWidget(QLabel("Strength"), 2, 0)
        grid.addWidget(self.strength_slider, 2, 1)
        grid.addWidget(self.strength_label, 2, 2)
        grid.setColumnStretch(1, 1)

        edit_row = QHBoxLayout()
        edit_row.setSpacing(4)
        for w in (self.eraser_check,):
            edit_row.addWidget(w)
        edit_row.addStretch(1)
        for w in (self.undo_button, self.redo_button, self.clear_button):
            edit_row.addWidget(w)
        file_row = QHBoxLayout()
        file_row.setSpacing(4)
        file_row.addStretch(1)
        file_row.addWidget(self.load_button)
        file_row.addWidget(self.save_button)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 8)
        lay.setSpacing(6)
        lay.addWidget(self.draw_button)
        lay.addWidget(self.hint)
        lay.addWidget(section_label("Brush"))
        lay.addLayout(grid)
        lay.addLayout(edit_row)
        lay.addWidget(self.info)
        lay.addWidget(section_label("File"))
        lay.addLayout(file_row)
        lay.addWidget(self.error)
        lay.addStretch(1)

        g = self.settings
        tool.set_radius_fraction(g.get_float("radius", tool.radius_fraction, *RADIUS_RANGE))
        tool.set_strength(g.get_float("strength", tool.strength, *STRENGTH_RANGE))
        tool.state_changed.connect(self._sync)
        tool.message.connect(self._on_message)
        self._fill_bases()
        self._sync()

    # ---- tool -> widgets ---------------------------------------------------------------
    def _fill_bases(self) -> None:
        from simulator.core.library import get_surface, list_surfaces

        c = self.base_combo
        with QSignalBlocker(c):
            c.clear()
            c.addItem("Flat", ("flat", None))
            c.addItem("Bowl (x\u00b2 + y\u00b2)", ("bowl", None))
            c.addItem("Typed formula", ("formula", None))
            c.insertSeparator(c.count())
            for name in list_surfaces():
                try:
                    s = get_surface(name)
                except Exception:  # noqa: BLE001 - a broken entry must not hide the others
                    continue
                if s.dim == 2:
                    c.addItem(name, ("library", name))

    def _base_index(self) -> int:
        b = self.tool.base
        if b.kind == "flat":
            key = ("flat", None)
        elif b.kind == "expression":
            key = ("formula", None)
        elif b.name == "quadratic" and not b.params:
            key = ("bowl", None)
        else:
            key = ("library", b.name)
        for i in range(self.base_combo.count()):
            if self.base_combo.itemData(i) == key:
                return i
        return -1

    def _sync(self) -> None:
        t = self.tool
        f = t.formula_surface
        i_formula = self.base_combo.findData(("formula", None))
        if i_formula >= 0:
            self.base_combo.setItemText(
                i_formula, f"Typed formula: {f.formula}" if f is not None else "Typed formula")
            item = self.base_combo.model().item(i_formula)
            if item is not None:
                item.setEnabled(f is not None)
        with QSignalBlocker(self.base_combo):
            self.base_combo.setCurrentIndex(self._base_index())
        lo, hi = RADIUS_RANGE
        with QSignalBlocker(self.radius_slider):
            self.radius_slider.setValue(round((t.radius_fraction - lo) / (hi - lo)
                                              * SLIDER_STEPS))
        lo, hi = STRENGTH_RANGE
        with QSignalBlocker(self.strength_slider):
            self.strength_slider.setValue(round((t.strength - lo) / (hi - lo) * SLIDER_STEPS))
        self.radius_label.setText(_fmt(t.radius))
        self.radius_label.setToolTip("Brush radius in surface units")
        self.strength_label.setText(_fmt(t.height))
        self.strength_label.setToolTip("Height of a hill (depth of a well) in loss units")
        with QSignalBlocker(self.eraser_check):
            self.eraser_check.setChecked(t.eraser)
        n = len(t.bumps)
        if t.can_draw():
            what = f"{n} bump{'s' if n != 1 else ''}" if n else "nothing drawn yet"
            self.info.setText(f"On {t.base.name}: {what}.")
        else:
            self.info.setText("The surface is a 1-D curve: pick a 2-D base to draw on.")
        self.clear_button.setEnabled(n > 0)

    def _on_undo_text(self, t: str) -> None:
        self.undo_button.setToolTip(f"Undo {t} (Ctrl+Z)" if t else "Undo")

    def _on_redo_text(self, t: str) -> None:
        self.redo_button.setToolTip(f"Redo {t} (Ctrl+Shift+Z)" if t else "Redo")

    def _on_message(self, text: str) -> None:
        self.error.show_message(text)

    # ---- widgets -> tool ---------------------------------------------------------------
    def _on_base_picked(self, i: int) -> None:
        data = self.base_combo.itemData(i)
        if not data:
            return
        self.error.clear_message()
        self.tool.set_base(*data)
        self._sync()

    def _on_radius(self, v: int) -> None:
        lo, hi = RADIUS_RANGE
        self.tool.set_radius_fraction(lo + (hi - lo) * v / SLIDER_STEPS)
        self.settings.set("radius", self.tool.radius_fraction)

    def _on_strength(self, v: int) -> None:
        lo, hi = STRENGTH_RANGE
        self.tool.set_strength(lo + (hi - lo) * v / SLIDER_STEPS)
        self.settings.set("strength", self.tool.strength)

    # ---- files ---------------------------------------------------------------------------
    def _last_dir(self) -> str:
        d = self.settings.get_str("last_dir", "")
        return d if d and os.path.isdir(d) else str(Path.home())

    def save(self) -> None:
        start = os.path.join(self._last_dir(), "drawing.surface.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save Surface", start, FILE_FILTER)
        if path:
            self.save_file(path)

    def save_file(self, path: str) -> bool:
        from simulator.core.drawn import save_surface

        try:
            save_surface(path, self.tool.session.surface)
        except (OSError, ValueError) as e:
            self.error.show_message(f"Could not save {Path(path).name}: {e}")
            return False
        self.settings.set("last_dir", str(Path(path).resolve().parent))
        self.error.show_message(f"Saved {Path(path).name}", error=False)
        return True

    def load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load Surface", self._last_dir(),
                                              FILE_FILTER)
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> bool:
        """Load a surface file as one undo step; on any problem say why and keep the
        current surface."""
        from simulator.core.drawn import base_of, load_surface

        try:
            s = load_surface(path)
        except (OSError, ValueError) as e:
            self.error.show_message(f"Could not load {Path(path).name}: {e}. The current "
                                    "surface was kept.")
            return False
        self.settings.set("last_dir", str(Path(path).resolve().parent))
        self.tool.push(f"Load {Path(path).name}", s, base_of(s) if s.dim == 2
                        else self.tool.base)
        self.error.show_message(f"Loaded {Path(path).name}", error=False)
        return True


@dataclass
class DrawFeature:
    """What :func:`install_draw` made: the tool, its panel and dock, the Draw action
    and the undo/redo actions."""

    tool: DrawTool
    panel: DrawPanel
    dock: QDockWidget
    action: QAction
    undo: QAction
    redo: QAction


def install_draw(window) -> DrawFeature:
    """Add draw mode to a LossLab main window (tool, dock, actions, menus, toolbar)
    through the window's API; returns what it made."""
    from simulator.gui.menus import Menu

    tool = DrawTool(window.session, window.contour, window)
    act = window.add_action(
        "&Draw on the Surface", None, "D", None,
        "Draw mode: drag on the 2-D view to raise hills, Shift+drag to dig wells",
        checkable=True)
    act.setStatusTip("Draw hills and wells on the surface with a brush")
    act.setIconText("Draw")

    panel = DrawPanel(tool, draw_action=act)
    dock = window.add_dock("Draw", "dock_draw", panel, Qt.DockWidgetArea.LeftDockWidgetArea,
                           tab_with=window.dock_surface, view_menu=window.act_reset_layout)
    dock.hide()

    def on_toggled(on: bool) -> None:
        tool.set_active(on)
        if on:
            dock.show()
            dock.raise_()
            window.statusBar().showMessage(
                "Draw mode: drag to raise a hill, Shift+drag or right-drag to dig a well "
                "(D to leave)", 8000)

    act.toggled.connect(on_toggled)
    tool.active_changed.connect(lambda on: act.isChecked() != on and act.setChecked(on))
    tool.message.connect(lambda m: window.statusBar().showMessage(m, 8000))

    undo = panel.undo_action
    redo = panel.redo_action
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for a in (undo, redo):
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        window.addAction(a)
    window.add_to_menu(Menu.EDIT, [undo, redo, None, act])
    tb = window.toolbar
    tb.addSeparator()
    tb.addAction(act)
    w = tb.widgetForAction(act)
    if isinstance(w, QToolButton):
        w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return DrawFeature(tool, panel, dock, act, undo, redo)
