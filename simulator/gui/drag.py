"""Whether a drag is under way: the state the views and the panels share.

Views (the start point dragged on the map) and panels (a slider dragged) both set it;
the costly readouts wait for the release. It lives here, outside both packages, so
that ``simulator.gui.views`` and ``simulator.gui.panels`` never import each other.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class SliderDrag(QObject):
    """Whether the user is dragging a slider or the start point (one mouse: one drag
    at a time).

    While a drag lasts, the views that show the paths redraw on every tick and the
    costly text readouts (the diagnostics panel) wait for the release: they would
    otherwise double the time from a tick to redrawn paths."""

    changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.active = False

    def set(self, on: bool) -> None:
        if bool(on) != self.active:
            self.active = bool(on)
            self.changed.emit(self.active)

    def track(self, slider) -> None:
        slider.sliderPressed.connect(lambda: self.set(True))
        slider.sliderReleased.connect(lambda: self.set(False))


DRAG = SliderDrag()
