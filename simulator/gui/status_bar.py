"""The window's status bar: its temporary message in a label that elides.

``QStatusBar`` paints a temporary message itself, up to the first permanent widget and
cut there without an ellipsis; with presentation mode's large type the cut falls in the
middle of a word. ``StatusBar`` shows the message in ``message_label`` instead: the first
permanent widget, stretched over the room the others leave, eliding its text ("...")
when it does not fit and keeping the whole message in its tool tip. The status bar still
holds the message (``currentMessage``, ``messageChanged``, time-outs and the actions'
status tips work as before); only its own painting of it is left out.

``RunsProgress`` is the permanent widget that says a network scene's lanes are being
re-run in the background ("Training lanes 1/4" and a bar), shown only when a re-run
lasts longer than ``RunsProgress.DELAY_MS`` (a drag's quick re-runs do not flicker).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QStatusBar,
    QStyle,
    QStyleOption,
    QWidget,
)


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


class RunsProgress(QWidget):
    """"Training lanes k/n" and a bar while lanes re-run in the background (see the
    module); ``set_progress(done, total)`` with total 0 when the re-run is over."""

    DELAY_MS = 300

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs_progress")
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(90)
        self.bar.setMaximumHeight(12)
        self.bar.setTextVisible(False)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        self.setToolTip("The lanes whose settings changed are being trained again in the "
                        "background; the views show the previous runs until they are done")
        self._total = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DELAY_MS)
        self._timer.timeout.connect(lambda: self.setVisible(self._total > 0))
        self.setVisible(False)

    def set_progress(self, done: int, total: int) -> None:
        if total <= 0:
            self._total = 0
            self._timer.stop()
            self.setVisible(False)
            return
        if self._total == 0:
            self._timer.start()  # shown if it is still running then
        self._total = total
        self.label.setText(f"Training lanes {done}/{total}")
        self.bar.setRange(0, total)
        self.bar.setValue(done)
