"""Presentation mode (F5): the window made readable from the back of a room.

For a projector: the docks fold away (the open lab's text stays, on the right, in large
type), the window goes full screen, the map and the 3-D view share the width above
short plots, every font of the window is ``PRESENT_SCALE`` times larger and the views
draw wider paths and larger marks (each view's ``set_presentation``). F5 again or Esc
leaves it and puts back exactly what was there: the docks through ``saveState`` /
``restoreState``, the window's geometry and full-screen state, both splitters, whether
the 3-D view was shown, and the fonts.

``install_presentation(window)`` adds the action (View menu, toolbar, F5) through the
window's API; the mode itself is ``MainWindow.presentation``.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import QDockWidget, QToolButton

from .menus import Menu
from .plotting import PRESENT_SCALE

PLOTS_SHARE = 0.26  # of the centre's height left to the plots while presenting
LESSON_SHARE = 0.26  # of the window's width for the open lab's text
ICON_PX = 40  # the transport bar's buttons while presenting

TIP = ("Presentation mode for a projector: large type, wide paths, the views full "
       "screen and the lab's text readable from the back of the room; F5 or Esc "
       "puts the window back as it was")


@dataclass
class _Saved:
    """What presentation mode changes, as it was before."""

    state: QByteArray
    geometry: QRect
    window_state: Qt.WindowState
    center: list[int]
    views: list[int]
    show_3d: bool
    font: QFont
    icon_size: QSize


class Presentation:
    """The presentation mode of ``window``; made by :func:`install_presentation`."""

    def __init__(self, window) -> None:
        self.window = window
        self._saved: _Saved | None = None
        self.action: QAction = window.add_action(
            "&Presentation Mode", self.set_active, "F5", None, TIP, checkable=True,
            menu=Menu.VIEW, after=window.act_reset_layout)
        self.action.setIconText("Present")
        # Esc leaves too (only while presenting: elsewhere Esc belongs to the widgets)
        self.leave_action = window.add_action(
            "Leave Presentation Mode", lambda: self.set_active(False), "Esc")
        self.leave_action.setEnabled(False)
        b = self.button = QToolButton()
        b.setObjectName("present_button")
        b.setDefaultAction(self.action)
        b.setText("Present")
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        window.toolbar.addSeparator()
        window.toolbar.addWidget(b)

    @property
    def active(self) -> bool:
        return self._saved is not None

    def set_active(self, on: bool) -> None:
        """Enter (True) or leave (False) presentation mode."""
        on = bool(on)
        if on != self.action.isChecked():
            self.action.setChecked(on)  # toggled calls back here
            return
        if on == self.active:
            return
        if on:
            self._enter()
        else:
            self._leave()
        self.leave_action.setEnabled(on)
        self.window.setProperty("presentation", on)

    # ---- entering and leaving ---------------------------------------------------------------
    def _views(self):
        w = self.window
        return [v for v in (w.contour, w.curve, w.plots, w.surface3d)
                if v is not None and hasattr(v, "set_presentation")]

    def _enter(self) -> None:
        w = self.window
        t = w.transport
        self._saved = _Saved(
            state=w.saveState(), geometry=QRect(w.geometry()), window_state=w.windowState(),
            center=w.center_split.sizes(), views=w.views_2d.sizes(),
            show_3d=w.act_show_3d.isChecked(), font=QFont(w.font()),
            icon_size=t.icon_size())
        lesson = w.lab is not None and w.dock_instructions is not None
        for d in w.findChildren(QDockWidget):
            if not (lesson and d is w.dock_instructions):
                d.hide()
        if lesson:
            d = w.dock_instructions
            d.setFloating(False)
            w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d)
            d.show()
            d.raise_()
        font = QFont(w.font())
        font.setPointSizeF(font.pointSizeF() * PRESENT_SCALE)
        w.setFont(font)
        t.set_icon_size(ICON_PX)
        if w.surface3d is not None and w.session.surface is not None \
                and w.session.surface.dim == 2:
            w.act_show_3d.setChecked(True)
        for v in self._views():
            v.set_presentation(True)
        w.showFullScreen()
        QTimer.singleShot(0, self._sizes)  # once the full-screen layout is done

    def _sizes(self) -> None:
        w = self.window
        if not self.active:
            return
        if w.lab is not None and w.dock_instructions is not None:
            w.resizeDocks([w.dock_instructions], [int(w.width() * LESSON_SHARE)],
                          Qt.Orientation.Horizontal)
        h = w.center_split.height()
        w.center_split.setSizes([h - int(h * PLOTS_SHARE), int(h * PLOTS_SHARE)])
        vw = w.views_2d.width()
        if w.surface3d is not None and w.surface3d.isVisible():
            w.views_2d.setSizes([vw // 2, vw - vw // 2])

    def _leave(self) -> None:
        w = self.window
        saved, self._saved = self._saved, None
        for v in self._views():
            v.set_presentation(False)
        w.setFont(saved.font)
        w.transport.set_icon_size(saved.icon_size.width())
        if w.surface3d is not None:
            w.act_show_3d.setChecked(saved.show_3d)
        if saved.window_state & Qt.WindowState.WindowFullScreen:
            w.showFullScreen()
        elif saved.window_state & Qt.WindowState.WindowMaximized:
            w.showMaximized()
        else:
            w.showNormal()
            # its exact place and size (restoreGeometry would fit it to the screen)
            w.setGeometry(saved.geometry)
        w.restoreState(saved.state)
        w.center_split.setSizes(saved.center)
        w.views_2d.setSizes(saved.views)
        # the layout pass after leaving full screen can move the dividers: once more
        QTimer.singleShot(0, lambda: self._put_back(saved))

    def _put_back(self, saved: _Saved) -> None:
        if self.active:
            return
        w = self.window
        w.restoreState(saved.state)  # the docks' widths, now the window has its size
        w.center_split.setSizes(saved.center)
        w.views_2d.setSizes(saved.views)


def install_presentation(window) -> Presentation:
    """Add presentation mode to ``window`` (a MainWindow): View > Presentation Mode,
    F5, Esc to leave and a "Present" toolbar button. Returns it."""
    return Presentation(window)
