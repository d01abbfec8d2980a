"""The window's status bar: its temporary message in a label that elides.

``QStatusBar`` paints a temporary message itself, up to the first permanent widget and
cut there without an ellipsis; with presentation mode's large type the cut falls in the
middle of a word. ``StatusBar`` shows the message in ``message_label`` instead: the first
permanent widget, stretched over the room the others leave, eliding its text ("...")
when it does not fit and keeping the whole message in its tool tip. The status bar still
holds the message (``currentMessage``, ``messageChanged``, time-outs and the actions'
status tips work as before); only its own painting of it is left out.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QStyle, QStyleOption, QWidget


class ElidedLabel(QLabel):
    """A one-line label that shows as much of its text as fits, ending in an ellipsis."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text if text else "")
        self._elide()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        self.setText(self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideRight, max(width, 0)))


class StatusBar(QStatusBar):
    """A status bar whose temporary message is ``message_label`` (see the module)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self.message_label = ElidedLabel(self)
        self.message_label.setObjectName("status_message")
        super().insertPermanentWidget(0, self.message_label, 1)
        self.messageChanged.connect(self.message_label.set_full_text)

    def permanent_widgets(self) -> list[QWidget]:
        """The permanent widgets added after the message label, in order."""
        return list(self._permanent)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:
        super().addPermanentWidget(widget, stretch)
        self._permanent.append(widget)

    def insertPermanentWidget(self, index: int, widget: QWidget, stretch: int = 0) -> int:
        # index 0 stays the message label's
        i = super().insertPermanentWidget(max(index, 1), widget, stretch)
        self._permanent.insert(max(index, 1) - 1, widget)
        return i

    def removeWidget(self, widget: QWidget) -> None:
        super().removeWidget(widget)
        if widget in self._permanent:
            self._permanent.remove(widget)

    def paintEvent(self, event) -> None:
        # QStatusBar's painting without the message (the label shows it): the panel and
        # the frames of the visible permanent widgets
        p = QPainter(self)
        opt = QStyleOption()
        opt.initFrom(self)
        style = self.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, opt, p, self)
        for w in self._permanent:
            if not w.isVisible():
                continue
            r = w.geometry().adjusted(-2, -1, 2, 1)
            if event.rect().intersects(r):
                fo = QStyleOption()
                fo.rect = r
                fo.palette = self.palette()
                fo.state = QStyle.StateFlag.State_None
                style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameStatusBarItem, fo, p, w)
        p.end()
