"""Application start: QApplication set-up, a splash while the kernels warm up, the window.

The first run compiles the numba kernels (tens of seconds without a cache, about a
second with one). That happens in a worker thread while a splash screen shows progress,
so the app never presents a frozen window; the main window opens once every kernel it
calls is ready, and from then on no edit waits for a compiler.
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import QRectF, Qt, QThread, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMessageBox, QSplashScreen

from . import palette
from . import settings as st
from .icons import app_icon


def warmup_steps() -> list[tuple[str, object]]:
    """(label, callable) pairs that call every core kernel the app uses, on tiny inputs
    (``simulate_batch`` is left out: only exports and labs use it, off the GUI)."""

    def surfaces():
        from simulator.core.contours import contour_segments
        from simulator.core.surfaces import get_surface

        s = get_surface("rosenbrock")
        s.evaluate((0.5, 0.5))
        (xs, ys), values = s.grid(8)
        contour_segments(values, xs, ys, [float(values.mean())])
        get_surface("parabola").grid(8)

    def optimizers():
        from simulator.core.engine import simulate
        from simulator.core.optimizers import OPTIMIZERS
        from simulator.core.surfaces import get_surface

        s = get_surface("rosenbrock")
        for cls in OPTIMIZERS.values():
            simulate(s, cls(), (-1.5, 2.0), steps=3)
        simulate(s, OPTIMIZERS["SGD"](), (-1.5, 2.0), steps=3, noise=0.1, clip_grad_norm=1.0)
        simulate(get_surface("parabola"), OPTIMIZERS["SGD"](), (1.0,), steps=3)

    def data():
        from simulator.core.engine import simulate
        from simulator.core.optimizers import SGD
        from simulator.core.surfaces import get_surface

        for name in ("linear-regression", "logistic-regression"):
            s = get_surface(name)
            simulate(s, SGD(), s.center, steps=3, batch_size=4)
            s.grid(8)

    def expressions():
        from simulator.core.expressions import surface_from_expression

        s = surface_from_expression("x**2 + 10*y**2")
        s.grid(8)

    def diagnostics():
        from simulator.core.diagnostics import analyze_point, find_critical_points
        from simulator.core.surfaces import get_surface

        s = get_surface("rosenbrock")
        analyze_point(s, (0.0, 0.0))
        find_critical_points(get_surface("saddle"))
        from simulator.core.engine import simulate
        from simulator.core.optimizers import SGD

        _ = simulate(get_surface("saddle"), SGD(lr=0.1), (1.0, 1e-3), steps=20).saddle_episodes

    return [
        ("surfaces", surfaces),
        ("optimizers", optimizers),
        ("data surfaces", data),
        ("formulas", expressions),
        ("curvature diagnostics", diagnostics),
    ]


class Warmup(QThread):
    """Compile (or load from cache) the numba kernels off the GUI thread."""

    progress = Signal(int, int, str)
    failed = Signal(str)

    def run(self) -> None:
        steps = warmup_steps()
        n = len(steps)
        for i, (label, fn) in enumerate(steps):
            self.progress.emit(i, n, f"Preparing {label}\u2026")
            try:
                fn()
            except Exception:  # noqa: BLE001 - reported, and the app still opens
                self.failed.emit(f"while preparing {label}:\n{traceback.format_exc()}")
        self.progress.emit(n, n, "Opening the window\u2026")


class Splash(QSplashScreen):
    """A splash with the app icon, a progress bar and what is being prepared."""

    W, H = 460, 260

    def __init__(self) -> None:
        ratio = QGuiApplication.primaryScreen().devicePixelRatio() if \
            QGuiApplication.primaryScreen() else 1.0
        pm = QPixmap(int(self.W * ratio), int(self.H * ratio))
        pm.setDevicePixelRatio(ratio)
        pm.fill(QColor("#13263F"))
        super().__init__(pm)
        self._frac = 0.0
        self._text = "Starting\u2026"
        self.setWindowTitle("LossLab")

    def set_progress(self, i: int, n: int, text: str) -> None:
        self._frac = i / n if n else 1.0
        self._text = text
        self.repaint()
        QApplication.processEvents()

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
        bar = QRectF(28, 176, self.W - 56, 8)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#2C4466"))
        p.drawRoundedRect(bar, 4, 4)
        p.setBrush(QColor("#E69F00"))
        p.drawRoundedRect(QRectF(bar.x(), bar.y(), max(8.0, bar.width() * self._frac), 8), 4, 4)
        f.setPointSizeF(10)
        p.setFont(f)
        p.setPen(QColor("#DCE6F2"))
        p.drawText(QRectF(28, 196, self.W - 56, 24), Qt.AlignmentFlag.AlignLeft, self._text)
        p.setPen(QColor("#7F95B2"))
        p.drawText(QRectF(28, 222, self.W - 56, 24), Qt.AlignmentFlag.AlignLeft,
                   "The first start compiles the kernels; later starts are quick.")


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


def main(argv: list[str] | None = None, session_file: str | None = None) -> int:
    """Run the desktop app; returns the exit code."""
    argv = list(sys.argv if argv is None else argv)
    app = make_application(argv)
    splash = Splash()
    splash.show()
    app.processEvents()
    warm = Warmup()
    errors: list[str] = []
    state: dict = {}

    def open_window() -> None:
        try:
            from .main_window import MainWindow

            win = MainWindow()
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
        win.show()
        splash.finish(win)
        if session_file:
            win.open_session_file(session_file)
        if errors:
            box = QMessageBox(QMessageBox.Icon.Warning, "LossLab",
                              "Part of the simulation core failed to start; some features "
                              "may not work.", QMessageBox.StandardButton.Ok, win)
            box.setDetailedText("\n\n".join(errors))
            box.open()
            state["box"] = box

    warm.progress.connect(splash.set_progress)
    warm.failed.connect(errors.append)
    warm.finished.connect(open_window)
    warm.start()
    code = app.exec()
    warm.wait()
    return code
