"""Labs in the app: File > Open Lab, File > Save as Lab, drag and drop, the start page.

:func:`install_lab_and_export_actions` is the one hook the main window calls: it adds
the Instructions dock (the start page when no lab is open), the lab and export entries
of the File menu, and drag and drop of lab files onto the window, through the window's
API (``add_dock``, ``add_action``), and returns what it made (a :class:`LabFeature`).

Opening a lab is all or nothing: the file is validated completely first
(:func:`simulator.core.labs.parse_lab`), then the scene's own checks run
(:meth:`simulator.core.labs.Lab.scene` raises when the scene refuses a value); only
then do the views and the instructions change. The open lab's id and title live in the
scene (exports take their caption from it); its texts live in the :class:`LabFeature`.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from simulator.core import labs as core_labs
from simulator.core.labs import Lab, LabError

from .instructions_panel import InstructionsPanel
from .lab_steps import LabSteps, is_stepped, resume_soon
from .menus import Menu

LAB_FILTER = "LossLab labs (*.json);;All files (*)"
_pending: list[Lab] = []


def open_on_start(lab: Lab) -> None:
    """Open ``lab`` in the next main window that installs the lab actions
    (``losslab open LAB``)."""
    _pending.append(lab)


# ---- messages -------------------------------------------------------------------------------
def _message(window, title: str, text: str, detail: str = "",
             icon=QMessageBox.Icon.Warning) -> QMessageBox:
    """The main window's own message box (window-modal, kept as last_message_box)."""
    return window.show_message(title, text, detail, icon)


def _problems_text(err: LabError, limit: int = 12) -> str:
    lines = [str(p) for p in err.problems]
    more = len(lines) - limit
    text = "\n".join(lines[:limit])
    if more > 0:
        text += f"\n(and {more} more)"
    return text


# ---- opening ---------------------------------------------------------------------------------
def open_lab(window, lab: Lab) -> bool:
    """Load ``lab`` into the window's scene and show its instructions. On refusal the
    scene is kept and a message says why."""
    window.animator.pause()
    try:
        # the scene's own checks; its view settings come along. A lab made of steps
        # opens at the step its stored progress reached
        scene = window.labs.steps.opening_scene(lab)
    except (ValueError, IndexError) as e:
        _message(window, "Cannot open lab", f"The lab \u201c{lab.title}\u201d could not be "
                 "loaded.", f"{e}\n\nThe current scene was kept.")
        return False
    window.file_path = None
    window.labs.show_lab(lab)
    window.session.load_scene(scene)  # the views follow its view state
    _bring_forward(window)
    window.setWindowModified(False)
    window.update_title()
    steps = window.labs.steps
    where = ""
    if steps.active and steps.index > 0:
        where = (f" (at step {steps.index + 1} of {len(lab.steps)}, where you left it; "
                 "Lab > Restart Lab starts again)")
    window.statusBar().showMessage(f"Opened lab: {lab.title}{where}", 8000)
    return True


def _bring_forward(window) -> None:
    dock = window.dock_instructions
    other = window.dock_diagnostics
    if (not dock.isFloating() and not window.tabifiedDockWidgets(dock)
            and window.dockWidgetArea(other) == window.dockWidgetArea(dock)):
        window.tabifyDockWidget(other, dock)  # a restored layout may have split them
    dock.show()
    dock.raise_()


def open_lab_ref(window, ref: str) -> bool:
    """Open a built-in lab by id or a lab file by path, reporting any problem."""
    name = Path(ref).name
    try:
        lab = core_labs.load_lab(ref)
    except LookupError as e:
        _message(window, "No such lab", str(e).strip("'\""))
        return False
    except LabError as e:
        _message(window, "Not a valid lab", f"{name} is not a lab LossLab can open.",
                 f"{_problems_text(e)}\n\nThe current scene was kept.")
        return False
    except RecursionError:  # loads_lab says so itself; anything deeper still gets a box
        _message(window, "Not a valid lab", f"{name} is not a lab LossLab can open.",
                 "It is nested too deeply.\n\nThe current scene was kept.")
        return False
    return open_lab(window, lab)


def browse_lab_file(window) -> bool:
    path, _ = QFileDialog.getOpenFileName(window, "Open Lab File", window.last_dir(),
                                          LAB_FILTER)
    return bool(path) and open_lab_ref(window, path)


class OpenLabDialog(QDialog):
    """File > Open Lab: the built-in labs with their descriptions, or a file."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Open Lab \u2014 LossLab")
        self.list = QListWidget()
        self.list.setObjectName("lab_list")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        for info in core_labs.list_labs():
            it = QListWidgetItem(f"{info.title}\n{info.summary}")
            it.setData(Qt.ItemDataRole.UserRole, info.id)
            it.setToolTip(f"id: {info.id}")
            self.list.addItem(it)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _it: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.file_button = QPushButton("From File\u2026")
        buttons.addButton(self.file_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.file_button.clicked.connect(self._from_file)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Each lab loads a scene and shows instructions and questions "
                             "beside the views. Your current scene is replaced."))
        lay.addWidget(self.list, 1)
        lay.addWidget(buttons)
        self.resize(560, 520)

    def selected_id(self) -> str | None:
        it = self.list.currentItem()
        return None if it is None else it.data(Qt.ItemDataRole.UserRole)

    def accept(self) -> None:
        lab_id = self.selected_id()
        super().accept()
        if lab_id:
            open_lab_ref(self.window_, lab_id)

    def _from_file(self) -> None:
        self.reject()
        browse_lab_file(self.window_)


# ---- saving ----------------------------------------------------------------------------------
def _to_rich(text: str) -> str:
    """Plain text (paragraphs split by blank lines) to lab rich text; text that already
    uses the allowed tags is kept as it is."""
    text = text.strip()
    if not text:
        return ""
    if re.search(r"</?(p|b|i|ul|ol|li|br|em|strong|code|sub|sup|u)\b", text):
        return text
    paras = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paras)


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s or "my-lab")[:64]


def _stepped_at(window) -> tuple[Lab, int] | None:
    """The open lab made of steps (format version 2) whose scene the window shows, and
    the step shown; None for a version-1 lab, no lab, or a scene no longer the lab's."""
    lab = window.lab
    if lab is None or lab.data is None or not lab.steps \
            or window.session.scene.lab_id != lab.id:
        return None
    steps = window.labs.steps
    return lab, steps.index if steps.active else 0


class SaveLabDialog(QDialog):
    """File > Save as Lab: title, summary, instructions and questions for the scene.

    For a lab made of steps (format version 2) every step, task, check, hint and
    solution is kept: the text fields are the shown step's, and the scene as it is now
    becomes that step's scene (:func:`simulator.core.labs.lab_from_steps`)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Save as Lab \u2014 LossLab")
        lab = window.lab
        self.stepped = _stepped_at(window)
        self.title = QLineEdit(lab.title if lab else "")
        self.title.setPlaceholderText("e.g. Momentum in a narrow valley")
        self.lab_id = QLineEdit(lab.id if lab else "")
        self.lab_id.setPlaceholderText("from the title")
        self.summary = QLineEdit(lab.summary if lab else "")
        self.summary.setPlaceholderText("one line shown in lab lists")
        text, questions = (lab.instructions, lab.questions) if lab else ("", ())
        if self.stepped is not None:
            step = self.stepped[0].steps[self.stepped[1]]
            text, questions = step.text, step.questions
        self.instructions = QPlainTextEdit(text)
        self.instructions.setPlaceholderText(
            "What students should do. Blank lines separate paragraphs; <b>, <i>, <ul>/<li> "
            "and <code> may be used.")
        self.questions = QPlainTextEdit("\n".join(questions))
        self.questions.setPlaceholderText("One question per line")
        self.error = QLabel("")
        self.error.setObjectName("save_lab_error")
        self.error.setWordWrap(True)
        from . import palette

        self.error.setStyleSheet(f"color: {palette.error_color()};")
        form = QFormLayout()
        form.addRow("Title", self.title)
        form.addRow("Id", self.lab_id)
        form.addRow("Summary", self.summary)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        if self.stepped is None:
            form.addRow("Instructions", self.instructions)
            form.addRow("Questions", self.questions)
        else:
            slab, k = self.stepped
            form.addRow(f"Step {k + 1} text", self.instructions)
            form.addRow(f"Step {k + 1} questions", self.questions)
            if len(slab.steps) == 1:
                self.note.setText("The lab's step is kept with its task, check, hints and "
                                  "solution; the scene as it is now becomes its scene.")
            else:
                self.note.setText(
                    f"The lab's {len(slab.steps)} steps are kept with their tasks, checks, "
                    f"hints and solutions; the scene as it is now becomes step {k + 1}'s "
                    "scene.")
            form.addRow(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.resize(620, 560)
        self.data: dict | None = None

    def lab_data(self) -> dict:
        """The lab dict for the current scene and the text typed here (unvalidated)."""
        w = self.window_
        title = self.title.text().strip()
        qs = [_to_rich(q) for q in self.questions.toPlainText().splitlines() if q.strip()]
        qs = [q[3:-4] if q.startswith("<p>") and q.endswith("</p>") else q for q in qs]
        if self.stepped is not None:
            lab, k = self.stepped
            step = lab.steps[k]
            text = self.instructions.toPlainText()
            unchanged = self.questions.toPlainText() == "\n".join(step.questions)
            return core_labs.lab_from_steps(  # the step's texts as written when unchanged
                lab, w.session.scene, k, lab_id=self.lab_id.text().strip() or _slug(title),
                title=title, summary=self.summary.text().strip(),
                text=None if text == step.text else _to_rich(text),
                questions=None if unchanged else qs)
        return core_labs.lab_from_scene(  # view settings: the scene's, not the widgets'
            w.session.scene, lab_id=self.lab_id.text().strip() or _slug(title), title=title,
            summary=self.summary.text().strip(),
            instructions=_to_rich(self.instructions.toPlainText()), questions=qs)

    def validate(self) -> bool:
        try:
            d = self.lab_data()
            core_labs.parse_lab(d)
        except LabError as e:
            self.error.setText(_problems_text(e, 6))
            return False
        except ValueError as e:
            self.error.setText(str(e))
            return False
        self.error.setText("")
        self.data = d
        return True

    def accept(self) -> None:
        if self.validate():
            super().accept()


def save_lab_as(window, path: str | None = None, dialog: SaveLabDialog | None = None) -> bool:
    """Ask for the lab's texts (unless ``dialog`` is given, already accepted) and a file
    name, then write the lab (atomically)."""
    if dialog is None:
        dialog = SaveLabDialog(window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
    elif not dialog.validate():
        return False
    d = dialog.data
    if path is None:
        start = os.path.join(window.last_dir(), f"{d['id']}.json")
        path, _ = QFileDialog.getSaveFileName(window, "Save as Lab", start, LAB_FILTER)
        if not path:
            return False
    try:
        core_labs.save_lab(d, path)
    except (OSError, LabError) as e:
        _message(window, "Cannot save lab", f"Could not write {path}.", str(e))
        return False
    lab = core_labs.parse_lab(d, str(path))
    # a lab made of steps stays at the step shown: its scene is the one on screen
    window.labs.show_lab(lab, at=dialog.stepped[1] if dialog.stepped else None)
    window.session.set_lab(lab.id, lab.title)
    window.update_title()
    window.statusBar().showMessage(f"Saved lab {path}", 5000)
    return True


# ---- drag and drop ----------------------------------------------------------------------------
class _DropFilter(QObject):
    """Accepts .json files dropped anywhere on the window: labs open as labs, session
    files as sessions."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window

    @staticmethod
    def _path(event) -> str | None:
        md = event.mimeData()
        if md is None or not md.hasUrls():
            return None
        for url in md.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(".json"):
                return url.toLocalFile()
        return None

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt naming
        t = event.type()
        if t not in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            return False
        if not hasattr(obj, "window") or obj.window() is not self.window_:
            return False
        path = self._path(event)
        if path is None:
            return False
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if t == QEvent.Type.Drop:
            QTimer.singleShot(0, lambda: drop_file(self.window_, path))
        return True


def drop_file(window, path: str) -> bool:
    """Open a dropped .json file: a lab, or else a session file."""
    import json

    from simulator.core.files import json_int, read_small_file
    from simulator.core.scene import SUFFIX as SESSION_SUFFIX

    from .main_window import MAX_SESSION_BYTES

    try:
        # a regular file of bounded size only: open() on a dropped FIFO would wait for a
        # writer with the window frozen; the lab reader then says what is wrong
        raw = read_small_file(path, MAX_SESSION_BYTES, "session file")
        head = json.loads(raw or b"null", parse_int=json_int)
        fmt = head.get("format") if isinstance(head, dict) else None
    except RecursionError:  # too deep to read its format: its name says what it is meant
        fmt = "losslab-session" if path.lower().endswith(SESSION_SUFFIX) else None
    except (OSError, ValueError):  # the lab reader says what is wrong
        fmt = None
    if fmt == "losslab-session":
        return window.open_session_file(path)
    return open_lab_ref(window, path)


# ---- the hook -----------------------------------------------------------------------------------
class LabFeature(QObject):
    """What :func:`install_lab_and_export_actions` made: the Instructions panel and
    dock, the File menu actions, the drop filter, and the open lab's texts."""

    def __init__(self, window, panel: InstructionsPanel, dock: QDockWidget) -> None:
        super().__init__(window)
        self.window_ = window
        self.panel = panel
        self.dock = dock
        self.lab: Lab | None = None
        #: a lab given to ``losslab open`` opens once the window is up (the window then
        #: neither restores nor computes another scene first)
        self.opening_on_start = False
        self.drop_filter = _DropFilter(window)
        self.actions: dict[str, object] = {}
        self.steps = LabSteps(window, panel)  # Check, hints, Back/Next, progress
        window.session.view_changed.connect(self._on_scene_lab)

    def show_lab(self, lab: Lab, at: int | None = None) -> None:
        """Show ``lab``'s text: one step at a time for a lab made of steps (at step
        ``at``, else at its stored step), else whole. The scene is the caller's to load."""
        self.lab = lab
        if is_stepped(lab):
            self.steps.begin(lab, at)
        else:
            self.steps.remember(lab)
            self.steps.close()
            self.panel.show_lab(lab)

    def close_lab(self) -> None:
        """Back to the start page; the scene stays, no longer a lab's."""
        self.lab = None
        self.steps.close()
        self.panel.show_start_page()
        self.window_.session.set_lab(None)
        self.window_.update_title()

    def _on_scene_lab(self) -> None:
        # a scene that is no lab's (a session file, New Scene): its instructions go
        if self.lab is not None and self.window_.session.scene.lab_id is None:
            self.lab = None
            self.steps.close()
            self.panel.show_start_page()

    def resume(self) -> bool:
        """After the window restored its last scene: when that scene is a lab's whose
        origin the settings know, show that lab again (a lab made of steps at its
        stored step) without replacing the restored scene."""
        lab_id = self.window_.session.scene.lab_id
        if self.lab is not None or not lab_id:
            return False
        lab = self.steps.stored_lab(lab_id)
        if lab is None:
            return False
        self.show_lab(lab)
        return True


def install_lab_and_export_actions(window) -> LabFeature:
    """Add labs and export to ``window`` (a MainWindow): the Instructions dock, File menu
    entries, drag and drop, and the lab given to ``losslab open``. Returns them."""
    from . import export_dialogs

    panel = InstructionsPanel()
    dock = window.add_dock("Instructions", "dock_instructions", panel,
                           Qt.DockWidgetArea.RightDockWidgetArea,
                           tab_with=window.dock_diagnostics, panel=True, view_menu=True)
    dock.raise_()
    feature = LabFeature(window, panel, dock)

    panel.open_lab_requested.connect(lambda lab_id: open_lab_ref(window, lab_id))
    panel.browse_requested.connect(lambda: browse_lab_file(window))
    panel.close_requested.connect(feature.close_lab)

    def act(text, slot, shortcut=None, tip=""):
        return window.add_action(text, slot, shortcut, None, tip)

    acts = feature.actions
    acts["open_lab"] = act("Open &Lab\u2026", lambda: OpenLabDialog(window).open(),
                           "Ctrl+Shift+O", "Open a teaching lab")
    acts["save_lab"] = act("Save as La&b\u2026", lambda: save_lab_as(window), None,
                           "Save the scene with instructions and questions as a lab")
    acts["export_animation"] = act(
        "Export &Animation\u2026", lambda: export_dialogs.ExportAnimationDialog(window).open(),
        "Ctrl+E", "Save the run as an MP4 or GIF animation")
    acts["export_image"] = act(
        "Export &Image\u2026", lambda: export_dialogs.ExportImageDialog(window).open(), None,
        "Save the current frame as PNG (or the 2-D map as SVG)")
    acts["export_data"] = act(
        "Export &Data\u2026", lambda: export_dialogs.export_data(window), None,
        "Save every run's steps as CSV, or the scene and runs as JSON")
    window.add_to_menu(Menu.FILE, [acts["open_lab"]], after=window.act_open)
    window.add_to_menu(Menu.FILE, [acts["save_lab"], None, acts["export_animation"],
                                   acts["export_image"], acts["export_data"]],
                       after=window.act_save_as)

    window.add_to_menu(Menu.LAB, [acts["open_lab"], None], before=feature.steps.actions["check"])

    window.setAcceptDrops(True)
    QApplication.instance().installEventFilter(feature.drop_filter)
    if _pending:
        lab = _pending.pop(0)
        feature.opening_on_start = True

        def open_pending() -> None:
            if not open_lab(window, lab) and window.session.surface is None:
                window.session.reset_scene()  # refused: the race, not an empty window

        QTimer.singleShot(0, open_pending)
    else:
        resume_soon(feature)  # the restored scene may be a lab's: show it again
    return feature
