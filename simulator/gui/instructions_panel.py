"""The instructions panel beside the views: the open lab's text, or the start page.

With no lab open it is the start page: every built-in lab with its one-line summary,
one click to open. With a lab open it shows the title, the summary, the instructions and
the numbered questions. A lab made of steps (format version 2) shows one step at a time:
its text, its questions and its task, below them the task's answer options (radio
buttons for a choice), "Check" with the verdict, "Show hint" revealing the hints one at a
time, Back and Next, and the progress through the lab (:class:`StepView`, what the
panel is told to show; :mod:`simulator.gui.lab_steps` decides it).

Lab text is the safe rich-text subset checked by
:func:`simulator.core.labs.check_rich_text` (formatting only) and is rendered by a
QTextDocument that is never allowed to load a resource, so a lab cannot pull in files,
images or anything remote.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from simulator.core.labs import Lab

from . import palette

CHECK_TIP = ("Check your answer: the task is tested on the scene and the runs as they are "
             "now, and the verdict says what the check saw")
HINT_TIP = "Reveal the next hint (the first ones nudge, the last nearly gives the answer)"
NEXT_TIP = "Go on to the next step (its scene changes are applied to your scene)"
BACK_TIP = "Go back to the previous step (its scene as you left it)"
TASK_SHARE = 0.55  # of the panel's height, at most, for the task below the step's text
RESTART_TIP = "Start the lab again from its first step and its own scene; progress is reset"


@dataclass(frozen=True)
class StepView:
    """What the panel shows of one step of a lab made of steps.

    ``index`` and ``count`` place the step; ``passed`` is how many steps' checks passed
    and ``checks`` how many steps have a check; ``hints`` are the hints revealed so
    far, ``more_hints`` how many are left; ``answer`` the option chosen (None: none);
    ``verdict`` the last check's (passed, message), or None.
    """

    index: int
    count: int
    title: str
    text: str
    questions: tuple[str, ...] = ()
    prompt: str = ""
    options: tuple[str, ...] = ()
    has_check: bool = False
    done: bool = False
    hints: tuple[str, ...] = ()
    more_hints: int = 0
    passed: int = 0
    checks: int = 0
    answer: int | None = None
    verdict: tuple[bool, str] | None = None


def _lead(label: str, rich: str) -> str:
    """``rich`` (lab rich text) as a paragraph led by ``label`` in bold, on its line."""
    head = f"<b>{html.escape(label)}</b> "
    if rich.startswith("<p>"):
        return f"<p>{head}{rich[3:]}"
    return f"<p>{head}{rich}</p>"


def _plain(rich: str) -> str:
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(rich)
    return doc.toPlainText()


class _Option(QWidget):
    """A radio button whose text wraps (a QRadioButton's own text is one clipped line)."""

    def __init__(self, text: str, group: QButtonGroup, index: int) -> None:
        super().__init__()
        self.radio = QRadioButton()
        self.radio.setAccessibleName(text)
        self.radio.setToolTip(text)
        group.addButton(self.radio, index)
        self.label = QLabel(html.escape(text))
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.radio, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.label, 1)
        self._fit_radio()

    def _fit_radio(self) -> None:
        # the button as tall as a line of the text, its circle in proportion: a larger
        # font (presentation mode) gets a larger button
        line = self.label.fontMetrics().height()
        size = max(13, round(line * 0.8))
        self.radio.setStyleSheet(f"QRadioButton::indicator {{ width: {size}px; "
                                 f"height: {size}px; }}")
        self.radio.setFixedHeight(line)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_radio()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self.radio.click()  # the text answers as its button does
        event.accept()


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
    #: a lab made of steps: Check, Show hint, Back (-1) / Next (+1), Restart lab, and
    #: an option chosen (its index)
    check_requested = Signal()
    hint_requested = Signal()
    step_requested = Signal(int)
    restart_requested = Signal()
    answer_chosen = Signal(int)

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
        self.restart_button = QPushButton("Restart lab")
        self.restart_button.setObjectName("restart_lab")
        self.restart_button.setToolTip(RESTART_TIP)
        self.restart_button.clicked.connect(self.restart_requested)
        self.step_box = self._make_step_box()
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(self.open_button)
        bar.addStretch(1)
        bar.addWidget(self.restart_button)
        bar.addWidget(self.close_button)
        # the step's text above its task; the divider can be dragged, and a long task
        # (hints revealed, a large font on a projector) scrolls instead of being cut
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setObjectName("lab_split")
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.browser)
        self.split.addWidget(self.task_area)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.split, 1)
        lay.addWidget(self.step_box)
        lay.addLayout(bar)
        self.step: StepView | None = None
        self.show_start_page()

    def _make_step_box(self) -> QWidget:
        """The task (``task_area``: prompt, options, Check, verdict, hints) and, returned,
        the step's progress with Back and Next."""
        self.options_box = QWidget()
        self.options_layout = QVBoxLayout(self.options_box)
        self.options_layout.setContentsMargins(0, 0, 0, 0)
        self.options_layout.setSpacing(2)
        self.option_group = QButtonGroup(self)
        self.option_group.idClicked.connect(self.answer_chosen)
        self.options: list[_Option] = []
        self.prompt = QLabel()
        self.prompt.setObjectName("task_prompt")
        self.prompt.setWordWrap(True)
        self.prompt.setTextFormat(Qt.TextFormat.RichText)  # the checked lab subset
        self.hints = QLabel()
        self.hints.setObjectName("hints")
        self.hints.setWordWrap(True)
        self.hints.setTextFormat(Qt.TextFormat.RichText)
        self.check_button = QPushButton("Check")
        self.check_button.setObjectName("check_step")
        self.check_button.setDefault(True)
        self.check_button.clicked.connect(self.check_requested)
        self.hint_button = QPushButton("Show hint")
        self.hint_button.setObjectName("show_hint")
        self.hint_button.clicked.connect(self.hint_requested)
        self.verdict = QLabel()
        self.verdict.setObjectName("check_verdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        bold = QFont()  # only the weight: the size still follows the window's font
        bold.setBold(True)
        self.verdict.setFont(bold)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("\u25c0 Back")
        self.back_button.setObjectName("step_back")
        self.back_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next_button = QPushButton("Next \u25b6")
        self.next_button.setObjectName("step_next")
        self.next_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.progress = QLabel()
        self.progress.setObjectName("lab_progress")
        self.progress.setWordWrap(True)
        self.progress.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_tips({})
        checks = QHBoxLayout()
        checks.addWidget(self.check_button)
        checks.addWidget(self.hint_button)
        checks.addStretch(1)
        nav = QHBoxLayout()
        nav.addWidget(self.back_button)
        nav.addStretch(1)
        nav.addWidget(self.next_button)
        task = QWidget()
        task.setObjectName("lab_task")
        lay = QVBoxLayout(task)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.prompt)
        lay.addWidget(self.options_box)
        lay.addLayout(checks)
        lay.addWidget(self.verdict)
        lay.addWidget(self.hints)
        lay.addStretch(1)
        self.task_area = QScrollArea()
        self.task_area.setObjectName("lab_task_area")
        self.task_area.setWidgetResizable(True)
        self.task_area.setFrameShape(QFrame.Shape.StyledPanel)
        self.task_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.task_area.setWidget(task)
        self.task_area.hide()
        box = QWidget()
        box.setObjectName("lab_step")
        lay = QVBoxLayout(box)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(2)
        lay.addWidget(self.progress)
        lay.addLayout(nav)
        box.hide()
        return box

    def set_tips(self, keys: dict[str, str]) -> None:
        """Tooltips of the step buttons, with their shortcuts (``keys``: ``"check"``,
        ``"hint"``, ``"next"``, ``"back"``, ``"restart"`` to a key text)."""
        for b, tip, k in ((self.check_button, CHECK_TIP, "check"),
                          (self.hint_button, HINT_TIP, "hint"),
                          (self.next_button, NEXT_TIP, "next"),
                          (self.back_button, BACK_TIP, "back"),
                          (self.restart_button, RESTART_TIP, "restart")):
            b.setToolTip(f"{tip} ({keys[k]})" if keys.get(k) else tip)

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
        self.restart_button.hide()
        self.step_box.hide()
        self.task_area.hide()
        self.step = None

    def show_lab(self, lab: Lab) -> None:
        """Show a lab's whole text (a lab without steps to go through)."""
        self.lab = lab
        self.step = None
        self.step_box.hide()
        self.task_area.hide()
        self.restart_button.hide()
        qs = "".join(f"<li>{q}</li>" for q in lab.questions)
        questions = f"<h4>Questions</h4><ol>{qs}</ol>" if qs else ""
        self.browser.setHtml(
            f"<h3>{html.escape(lab.title)}</h3><p><i>{html.escape(lab.summary)}</i></p>"
            f"{lab.instructions}{questions}"
        )
        self.close_button.setEnabled(True)

    def show_step(self, lab: Lab, view: StepView) -> None:
        """Show one step of ``lab`` (a lab made of steps) as ``view`` describes it."""
        self.lab = lab
        n_hints = len(self.step.hints) if self.step is not None else 0
        same = self.step is not None and self.step.index == view.index \
            and self.step.count == view.count and self.step.options == view.options
        self.step = view
        qs = "".join(f"<li>{q}</li>" for q in view.questions)
        questions = f"<h4>Questions</h4><ol>{qs}</ol>" if qs else ""
        title = f": {html.escape(view.title)}" if view.title else ""
        bar = self.browser.verticalScrollBar()
        keep = bar.value() if same else 0  # a hint or a verdict keeps the place read
        self.browser.setHtml(
            f"<h3>{html.escape(lab.title)}</h3><p><i>{html.escape(lab.summary)}</i></p>"
            f"<h4>Step {view.index + 1} of {view.count}{title}</h4>"
            f"{view.text}{questions}"
        )
        # the task and the hints stay in sight beside their buttons, below the text
        self.prompt.setText(_lead("Task:", view.prompt) if view.prompt else "")
        self.prompt.setVisible(bool(view.prompt))
        self.hints.setText("".join(_lead(f"Hint {k + 1}:", h)
                                   for k, h in enumerate(view.hints)))
        self.hints.setVisible(bool(view.hints))
        bar.setValue(keep)
        if not same:
            self._set_options(view.options)
        if view.answer is None:
            checked = self.option_group.checkedButton()
            if checked is not None:
                self.option_group.setExclusive(False)
                checked.setChecked(False)
                self.option_group.setExclusive(True)
        elif 0 <= view.answer < len(self.options):
            self.options[view.answer].radio.setChecked(True)
        self.options_box.setVisible(bool(view.options))
        self.check_button.setVisible(view.has_check)
        self.hint_button.setVisible(bool(view.hints) or view.more_hints > 0)
        self.hint_button.setEnabled(view.more_hints > 0)
        self.hint_button.setText("Show hint" if view.more_hints > 0 else "No more hints")
        self._show_verdict(view)
        self.back_button.setEnabled(view.index > 0)
        self.next_button.setEnabled(view.index < view.count - 1)
        done = f" \u00b7 {view.passed} of {view.checks} checks passed" if view.checks else ""
        self.progress.setText(f"Step {view.index + 1} of {view.count}{done}")
        self.step_box.show()
        self.task_area.show()
        self.restart_button.show()
        QTimer.singleShot(0, self.fit_task_area)
        if view.hints and (not same or len(view.hints) > n_hints):
            QTimer.singleShot(0, lambda: self.task_area.ensureWidgetVisible(self.hints))
        self.close_button.setEnabled(True)

    def fit_task_area(self) -> None:
        """Give the task its whole height below the step's text, up to
        ``TASK_SHARE`` of the panel (more scrolls)."""
        if self.step is None or not self.task_area.isVisible():
            return
        total = sum(self.split.sizes())
        if total <= 0:
            return
        inner = self.task_area.widget()
        inner.adjustSize()
        want = inner.heightForWidth(self.task_area.viewport().width())
        if want <= 0:
            want = inner.sizeHint().height()
        want += 2 * self.task_area.frameWidth()
        h = min(want, int(total * TASK_SHARE))
        self.split.setSizes([total - h, h])

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode: larger type
            QTimer.singleShot(0, self.fit_task_area)
        elif event.type() in (QEvent.Type.PaletteChange,
                              QEvent.Type.ApplicationPaletteChange) and self.step is not None:
            self._show_verdict(self.step)  # the verdict's colour for the new theme

    def _set_options(self, options: tuple[str, ...]) -> None:
        for w in self.options:
            self.option_group.removeButton(w.radio)
            self.options_layout.removeWidget(w)
            w.deleteLater()
        self.options = []
        for i, text in enumerate(options):
            w = _Option(text, self.option_group, i)
            self.options_layout.addWidget(w)
            self.options.append(w)

    def _show_verdict(self, view: StepView) -> None:
        if view.verdict is None:
            text = "Done: this step's check passed before." if view.done else ""
            ok = view.done
        else:
            ok, msg = view.verdict
            text = msg
        self.verdict.setText(text)
        self.verdict.setVisible(bool(text))
        # the palette, not a style sheet: a style sheet would pin the font's size, and
        # presentation mode enlarges the window's font
        pal = self.verdict.palette()
        color = palette.success_color() if ok else palette.error_color()
        pal.setColor(QPalette.ColorRole.WindowText, QColor(color))
        self.verdict.setPalette(pal)

    def text(self) -> str:
        """Everything the panel shows, as plain text (the step's text, then its task,
        verdict, hints and progress)."""
        parts = [self.browser.toPlainText()]
        if self.step is not None:
            for w in (self.prompt, self.verdict, self.hints, self.progress):
                if w.isVisibleTo(self):
                    rich = w.textFormat() == Qt.TextFormat.RichText
                    parts.append(_plain(w.text()) if rich else w.text())
        return "\n".join(p for p in parts if p)

    def _on_anchor(self, url: QUrl) -> None:
        s = url.toString()
        if s.startswith("lab:"):
            self.open_lab_requested.emit(s[4:])
