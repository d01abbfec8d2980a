"""Application start: QApplication set-up, a splash while the window is built, the window.

The window opens without waiting for any compiler: on a first start, runs whose kernels
are not compiled yet are computed by the interpreter (the same numbers, slower), and
``warmup.KernelWarmup`` compiles the kernels the session is likely to need on a thread
of its own, with its progress in the status bar. A warm start loads them from the disk
cache in milliseconds.

While the window is built numba compiles nothing (``hold_compiler``): the first runs
queue their kernels for the background compiler, whose compile would otherwise run
beside the window's construction and, holding the GIL most of the time, slow it down
by seconds on a two-core machine (1.5-2x the time to the window, measured cold). The
compiler starts once the window is shown (``open_main_window``).
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMessageBox, QSplashScreen

from . import palette
from . import settings as st
from .icons import app_icon
from .memory import install_heap_trim


class Splash(QSplashScreen):
    """A splash with the app icon while the window is built (a second or two: nothing
    waits for a compiler any more, so it has no progress bar)."""

    W, H = 460, 260

    def __init__(self) -> None:
        ratio = QGuiApplication.primaryScreen().devicePixelRatio() if \
            QGuiApplication.primaryScreen() else 1.0
        pm = QPixmap(int(self.W * ratio), int(self.H * ratio))
        pm.setDevicePixelRatio(ratio)
        pm.fill(QColor("#13263F"))
        super().__init__(pm)
        self._text = "Opening the window\u2026"
        self.setWindowTitle("LossLab")

    def drawContents(self, p: QPainter) -> None:  # noqa: N802 - Qt naming
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(QRectF(0, 0, self.W, self.H), QColor("#13263F"))
        app_icon().paint(p, 28, 40, 96, 96)
        f = QFont(self.font())
        f.setPointSizeF(26)
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor("#FFFFFF"))
        p.drawText(QRectF(144, 48, 300, 44), Qt.AlignmentFlag.AlignLeft, "LossLab")
        f.setPointSizeF(11)
        f.setBold(False)
        p.setFont(f)
        p.setPen(QColor("#B8CCE4"))
        p.drawText(QRectF(146, 94, 300, 40), Qt.AlignmentFlag.AlignLeft
                   | Qt.TextFlag.TextWordWrap, "Watch optimizers descend loss landscapes")
        f.setPointSizeF(10)
        p.setFont(f)
        p.setPen(QColor("#DCE6F2"))
        p.drawText(QRectF(28, 196, self.W - 56, 24), Qt.AlignmentFlag.AlignLeft, self._text)


def share_opengl_contexts() -> None:
    """Let every OpenGL view share one set of GL objects (call before the QApplication).

    pyqtgraph compiles each shader program once, in whichever context comes first. A
    second 3-D view in its own context (an export of the 3-D animation while the window
    shows its 3-D view) then drew with program ids that mean nothing there: GL errors
    and frames without the mesh."""
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def qt_application(argv: list[str]) -> QApplication:
    """The running QApplication, or a new one set up before it exists (high-DPI
    rounding, shared OpenGL contexts): the app, the CLI exports and tests use this."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        share_opengl_contexts()
        app = QApplication(argv)
    return app


def make_application(argv: list[str]) -> QApplication:
    """The QApplication with LossLab's names, icon, style and palette."""
    app = qt_application(argv)
    app.setApplicationName("LossLab")
    app.setOrganizationName(st.ORGANIZATION)
    app.setDesktopFileName("losslab")
    app.setStyle("Fusion")
    app.setWindowIcon(app_icon())
    scheme = st.Settings(st.WINDOW).get_str(st.KEY_THEME, "system", palette.SCHEMES)
    palette.apply_scheme(scheme)
    return app


class hold_compiler:  # noqa: N801 - used as a function
    """Hold numba's compiler lock on this thread until ``release()``: a compile on
    another thread waits (asleep, not taking the GIL); this thread still loads kernels
    from the disk cache and, should a job need it, compiles (the lock is re-entrant).
    Release on the same thread."""

    def __init__(self) -> None:
        self._lock = None
        try:
            from numba.core.compiler_lock import global_compiler_lock
        except Exception:  # noqa: BLE001 - no numba lock to hold: nothing waits
            return
        global_compiler_lock.acquire()
        self._lock = global_compiler_lock

    @property
    def held(self) -> bool:
        return self._lock is not None

    def release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()


def open_main_window(**kwargs):
    """Build the main window and show it, with numba's compiler held meanwhile (see the
    module); the compiler is let go at the event loop's next turn, after the window's
    first events (a lab given on the command line is loaded by then). ``kwargs`` go to
    ``MainWindow``."""
    hold = hold_compiler()
    try:
        from .main_window import MainWindow

        win = MainWindow(**kwargs)
        win.show()
    except BaseException:
        hold.release()
        raise
    QTimer.singleShot(0, hold.release)
    win.compiler_hold = hold
    return win


def start_warmup(win, state: dict) -> None:
    """Compile, in the background, the kernels the window's scene is likely to need (with
    a helper process, from the plan's description, where it can run)."""
    from simulator.core.prepare import plan_description, plan_from_description, warmup_plan

    from .warmup import CompileIndicator, KernelWarmup

    session = win.session
    optimizers = [lane.optimizer for lane in session.lanes]
    schedules = [lane.schedule or session.schedule for lane in session.lanes]
    description = plan_description(session.surface, optimizers, schedules=schedules)
    try:
        # the very plan the helper builds from the description
        plan = None if description is None else plan_from_description(description)
    except ValueError:
        plan = description = None
    if plan is None:
        plan = warmup_plan(session.surface, optimizers, schedules)
    indicator = CompileIndicator(win.statusBar())
    win.statusBar().addPermanentWidget(indicator)
    warm = KernelWarmup(plan, description=description)
    warm.progress.connect(indicator.set_progress)
    warm.failed.connect(lambda msg: win.statusBar().showMessage(msg, 10000))
    state["warmup"] = warm
    state["indicator"] = indicator
    warm.start()


def start_warmup_soon(win, state: dict) -> None:
    """``start_warmup`` once the events already queued have run: a lab opened from the
    command line (``losslab open``) replaces the scene just after the window opens, and
    the warm-up should plan for that scene (a network lab's kernels first), not for the
    default one."""
    QTimer.singleShot(0, lambda: start_warmup(win, state))


def stop_warmup(state: dict) -> None:
    """Stop the warm-up's helper process at once, ask the warm-up thread to stop after
    its current step and wait for it (a compile in progress cannot be interrupted; it
    takes a few seconds at the most)."""
    warm = state.get("warmup")
    if warm is not None and warm.isRunning():
        warm.stop()


def main(argv: list[str] | None = None, session_file: str | None = None,
         present: bool = False) -> int:
    """Run the desktop app; returns the exit code. ``present``: start in presentation
    mode (F5)."""
    argv = list(sys.argv if argv is None else argv)
    app = make_application(argv)
    splash = Splash()
    splash.show()
    app.processEvents()
    state: dict = {}

    def open_window() -> None:
        try:
            win = open_main_window()
        except Exception:  # noqa: BLE001 - say why instead of vanishing
            splash.close()
            box = QMessageBox(QMessageBox.Icon.Critical, "LossLab",
                              "LossLab could not open its window.",
                              QMessageBox.StandardButton.Close)
            box.setDetailedText(traceback.format_exc())
            box.exec()
            app.exit(1)
            return
        state["window"] = win
        state["heap_trim"] = install_heap_trim(win)
        splash.finish(win)
        if session_file:
            win.open_session_file(session_file)
        if present:
            win.presentation = True
        start_warmup_soon(win, state)

    app.aboutToQuit.connect(lambda: stop_warmup(state))
    QTimer.singleShot(0, open_window)
    code = app.exec()
    stop_warmup(state)
    return code
