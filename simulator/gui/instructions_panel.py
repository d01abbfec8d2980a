"""The instructions panel beside the views: the open lab's text, or the start page.

With no lab open it is the start page: every built-in lab with its one-line summary,
one click to open. With a lab open it shows the title, the summary, the instructions and
the numbered questions. Lab text is the safe rich-text subset checked by
:func:`simulator.core.labs.check_rich_text` (formatting only) and is rendered by a
QTextDocument that is never allowed to load a resource, so a lab cannot pull in files,
images or anything remote.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from simulator.core.labs import Lab


class _SafeBrowser(QTextBrowser):
    """A text browser that never loads resources (images, style sheets, files)."""

    def loadResource(self, type_, name):  # noqa: N802 - Qt naming
        return None


class InstructionsPanel(QWidget):
    """Lab instructions and questions, or the start page listing the built-in labs.

    Signals
    -------
    open_lab_requested(str)
        A built-in lab id was clicked on the start page.
    browse_requested()
        "Open lab file..." was clicked.
    close_requested()
        "Close lab" was clicked (back to the start page; the scene stays).
    """

    open_lab_requested = Signal(str)
    browse_requested = Signal()
    close_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.lab: Lab | None = None
        self.browser = _SafeBrowser()
        self.browser.setObjectName("instructions")
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor)
        self.open_button = QPushButton("Open lab file\u2026")
        self.open_button.clicked.connect(self.browse_requested)
        self.close_button = QPushButton("Close lab")
        self.close_button.setToolTip("Back to the list of labs (the scene stays as it is)")
        self.close_button.clicked.connect(self.close_requested)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.open_button)
        bar.addStretch(1)
        bar.addWidget(self.close_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.browser, 1)
        lay.addLayout(bar)
        self.show_start_page()

    # ---- content -------------------------------------------------------------------------
    def show_start_page(self) -> None:
        from simulator.core.labs import list_labs

        self.lab = None
        try:
            infos = list_labs()
        except Exception as e:  # noqa: BLE001 - a broken install must not break the app
            infos = []
            err = f"<p><i>The built-in labs could not be read: {html.escape(str(e))}</i></p>"
        else:
            err = ""
        items = "".join(
            f"<li><a href='lab:{html.escape(i.id)}'><b>{html.escape(i.title)}</b></a><br>"
            f"{html.escape(i.summary)}</li>" for i in infos)
        self.browser.setHtml(
            "<h3>Labs</h3><p>Guided experiments with instructions and questions. Click a "
            "lab to load its scene (your current scene is replaced), or drop a lab file "
            f"on the window.</p><ul>{items}</ul>{err}"
        )
        self.close_button.setEnabled(False)

    def show_lab(self, lab: Lab) -> None:
        self.lab = lab
        qs = "".join(f"<li>{q}</li>" for q in lab.questions)
        questions = f"<h4>Questions</h4><ol>{qs}</ol>" if qs else ""
        self.browser.setHtml(
            f"<h3>{html.escape(lab.title)}</h3><p><i>{html.escape(lab.summary)}</i></p>"
            f"{lab.instructions}{questions}"
        )
        self.close_button.setEnabled(True)

    def text(self) -> str:
        return self.browser.toPlainText()

    def _on_anchor(self, url: QUrl) -> None:
        s = url.toString()
        if s.startswith("lab:"):
            self.open_lab_requested.emit(s[4:])
