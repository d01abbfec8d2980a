"""File > Export Animation / Image / Data: dialogs, progress and cancel.

Rendering happens on the GUI thread (Qt widgets live there) in a private offscreen copy
of the scene (:class:`simulator.gui.frame_renderer.FrameRenderer`), one frame at a time
with the event loop kept alive between frames, so the progress dialog stays responsive
and Cancel works. The caption, colour scale and camera come from the scene
(``scene.title``, ``scene.view``), never from the window's widgets. Frames stream
straight into the encoder; a cancelled or failed export deletes its temporary file and
leaves the target path as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from simulator.export import data as export_data_mod
from simulator.export.data import Cancelled

SIZES = ((640, 360), (960, 540), (1280, 720), (1920, 1080))


def _message(window, title, text, detail="", icon=QMessageBox.Icon.Warning):
    return window.show_message(title, text, detail, icon)


def make_renderer(window, view: str, size):
    """An offscreen renderer of the window's scene: its title, colour scale and camera
    are the scene's (``scene.title``, ``scene.view``); its map follows the paths when
    View > Follow the Paths is on."""
    from .frame_renderer import FrameRenderer

    act = getattr(window, "act_follow_paths", None)  # View > Follow the Paths
    follow = act.isChecked() if act is not None else True
    return FrameRenderer(window.session.scene, view, size, follow=follow)


def export_animation(window, path: str, view: str, size, fps: float, frames: int,
                     show_progress: bool = True) -> bool:
    """Render and encode; True when the file was written."""
    from simulator.export.render import RenderError, render_animation

    try:
        renderer = make_renderer(window, view, size)
    except (RenderError, ValueError) as e:
        _message(window, "Cannot export", "The animation could not be prepared.", str(e))
        return False
    dlg = QProgressDialog("Rendering frames\u2026", "Cancel", 0, frames, window)
    dlg.setWindowTitle("Export Animation")
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.setMinimumDuration(300)
    if show_progress:
        dlg.show()

    def progress(i, n):
        dlg.setValue(i)
        dlg.setLabelText(f"Frame {i} of {n}")
        QApplication.processEvents()

    try:
        render_animation(renderer, path, frames, fps, progress=progress,
                         cancel=dlg.wasCanceled)
    except Cancelled:
        window.statusBar().showMessage("Export cancelled; nothing was written.", 8000)
        return False
    except Exception as e:  # noqa: BLE001 - encoder or disk failure: report, keep going
        _message(window, "Export failed", f"Could not write {Path(path).name}.", str(e))
        return False
    finally:
        dlg.reset()
        dlg.close()
        renderer.close()
    window.statusBar().showMessage(
        f"Exported {frames} frames ({fps:.4g} fps, {frames / fps:.1f} s) to {path}", 8000)
    return True


def export_image(window, path: str, view: str, size) -> bool:
    from simulator.export.render import RenderError

    svg = path.lower().endswith(".svg")
    try:
        renderer = make_renderer(window, "2d" if svg else view, size)
    except (RenderError, ValueError) as e:
        _message(window, "Cannot export", "The image could not be prepared.", str(e))
        return False
    try:
        step = window.session.frame
        (renderer.save_svg if svg else renderer.save_png)(path, step)
    except Exception as e:  # noqa: BLE001
        _message(window, "Export failed", f"Could not write {Path(path).name}.", str(e))
        return False
    finally:
        renderer.close()
    window.statusBar().showMessage(f"Saved {path}", 8000)
    return True


def export_data(window, path: str | None = None) -> bool:
    """Export Data: CSV (one row per lane and step) or JSON (scene and every run)."""
    s = window.session
    if path is None:
        start = os.path.join(window.last_dir(), "runs.csv")
        path, _ = QFileDialog.getSaveFileName(
            window, "Export Data", start, "CSV table (*.csv);;JSON: scene and runs (*.json)")
        if not path:
            return False
        if not Path(path).suffix:
            path += ".csv"
    runs = export_data_mod.runs_from_session(s)
    if not runs:
        _message(window, "Nothing to export", "No lane has a computed run.")
        return False
    try:
        if path.lower().endswith(".json"):
            lab = window.lab
            export_data_mod.write_json(s.to_dict(), runs, path,
                                       lab=lab.to_dict() if lab is not None else None)
        elif path.lower().endswith(".csv"):
            export_data_mod.write_csv(runs, path, dim=s.surface.dim)
        else:
            raise OSError("use a .csv or .json file name")
    except OSError as e:
        _message(window, "Export failed", f"Could not write {Path(path).name}.", str(e))
        return False
    window.statusBar().showMessage(f"Exported {len(runs)} runs to {path}", 8000)
    return True


class _ExportDialog(QDialog):
    """Shared fields: file, view, size."""

    EXTS: tuple[str, ...] = ()
    TITLE = ""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle(f"{self.TITLE} \u2014 LossLab")
        s = window.session
        self.view = QComboBox()
        net = getattr(s.surface, "kind", None) == "network"
        self.view.addItem("Loss plane" if net else "2-D map" if s.surface.dim == 2 else
                          "Curve", "2d")
        if s.surface.dim == 2 and window.surface3d is not None:
            self.view.addItem("3-D surface", "3d")
            self.view.addItem("Both side by side", "both")
        self.size_combo = QComboBox()
        for w, h in SIZES:
            self.size_combo.addItem(f"{w} \u00d7 {h}", (w, h))
        self.size_combo.setCurrentIndex(1)
        self.path = QLineEdit(os.path.join(window.last_dir(), self.default_name()))
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.form = QFormLayout()
        self.form.addRow("File", self._wrap(row))
        self.form.addRow("View", self.view)
        self.form.addRow("Size (pixels)", self.size_combo)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

    @staticmethod
    def _wrap(layout) -> QWidget:
        w = QWidget()
        layout.setContentsMargins(0, 0, 0, 0)
        w.setLayout(layout)
        return w

    def default_name(self) -> str:
        scene = self.window_.session.scene
        base = scene.lab_id or scene.surface.name
        return f"{base}.{self.EXTS[0]}"

    def _browse(self) -> None:
        filt = ";;".join(f"{e.upper()} (*.{e})" for e in self.EXTS)
        path, _ = QFileDialog.getSaveFileName(self, self.TITLE, self.path.text(), filt)
        if path:
            self.path.setText(path)

    def check(self) -> str | None:
        p = self.path.text().strip()
        ext = Path(p).suffix.lower().lstrip(".")
        if ext not in self.EXTS:
            return f"Use a file name ending in {' or '.join('.' + e for e in self.EXTS)}."
        try:
            export_data_mod.check_writable(p)
        except OSError as e:
            return f"Cannot write there: {e}"
        return None


class ExportAnimationDialog(_ExportDialog):
    """Export Animation: MP4 or GIF of the 2-D view, the 3-D view or both."""

    EXTS = ("mp4", "gif")
    TITLE = "Export Animation"

    def __init__(self, window) -> None:
        super().__init__(window)
        self.fps = QSpinBox()
        self.fps.setRange(1, 60)
        self.fps.setValue(30)
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.5, 600.0)
        self.duration.setDecimals(1)
        self.duration.setSuffix(" s")
        self.duration.setValue(5.0)
        self.frames_label = QLabel()
        self.form.addRow("Frames per second", self.fps)
        self.form.addRow("Duration", self.duration)
        self.form.addRow("", self.frames_label)
        self.frames_label.setWordWrap(True)
        self.fps.valueChanged.connect(self._update)
        self.duration.valueChanged.connect(self._update)
        self.path.textChanged.connect(self._update)
        self._update()

    def is_gif(self) -> bool:
        return self.path.text().strip().lower().endswith(".gif")

    def effective_fps(self) -> float:
        """The rate the file plays at: a GIF's frame times are whole 1/100 s, so it
        takes the nearest exact rate (30 -> 33.33 fps, 25 exactly)."""
        from simulator.export.video import gif_fps

        return gif_fps(self.fps.value()) if self.is_gif() else float(self.fps.value())

    def frames(self) -> int:
        """Frames for the chosen duration at the rate the file plays at."""
        return max(2, round(self.effective_fps() * self.duration.value()))

    def _update(self) -> None:
        text = f"{self.frames()} frames over {self.window_.session.steps} steps"
        fps = self.effective_fps()
        if fps != self.fps.value():
            text += (f"\nGIF frame times are whole hundredths of a second: "
                     f"{self.fps.value()} fps is written as {fps:.4g} fps")
        self.frames_label.setText(text)

    def accept(self) -> None:
        err = self.check()
        if err:
            self.error.setText(err)
            return
        super().accept()
        export_animation(self.window_, self.path.text().strip(), self.view.currentData(),
                         self.size_combo.currentData(), self.effective_fps(), self.frames())


class ExportImageDialog(_ExportDialog):
    """Export Image: the current frame as PNG, or the 2-D map as SVG."""

    EXTS = ("png", "svg")
    TITLE = "Export Image"

    def accept(self) -> None:
        err = self.check()
        if err is None and self.path.text().lower().endswith(".svg") and \
                self.view.currentData() != "2d":
            err = "SVG is for the 2-D view; use PNG for the 3-D view."
        if err is None and self.path.text().lower().endswith(".svg") and \
                getattr(self.window_.session.surface, "kind", None) == "network":
            err = "SVG is for surfaces; a network's loss plane is exported as PNG."
        if err:
            self.error.setText(err)
            return
        super().accept()
        export_image(self.window_, self.path.text().strip(), self.view.currentData(),
                     self.size_combo.currentData())
