"""Render animation frames and images from the app's real view widgets, offscreen.

A :class:`FrameRenderer` shows a copy of a :class:`~simulator.core.scene.Scene` in its
own private Session and its own views (the same ContourView / CurveView /
Surface3DView / PlotsPanel the app shows) in a window that is never shown on screen,
lays them out at the requested pixel size, and grabs one frame per requested step.
The view settings (colour scale, 3-D camera) and the caption come from the scene
(``scene.view``, ``scene.title``), never from the app's widgets; the app's own views
are never touched, so an export can run while the user keeps working.

The 2-D layouts work with ``QT_QPA_PLATFORM=offscreen`` (no display at all).
A QApplication must exist.
"""

from __future__ import annotations

import os

import numpy as np

from simulator.core.scene import Scene
from simulator.export.data import atomic_output
from simulator.export.render import PLOT_FRACTION, VIEWS, RenderError

SETTLE_LIMIT_S = 10.0  # a frame waits this long at most for drawing still to come


def opengl_problem() -> str | None:
    """Why the 3-D view cannot render in this process (None when it can)."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    platform = app.platformName() if app is not None else os.environ.get(
        "QT_QPA_PLATFORM", "")
    if platform in ("offscreen", "minimal", "vnc"):
        return (f"the 3-D view needs an OpenGL display, and Qt is running without one "
                f"(platform {platform!r}); run under a desktop session or a virtual display "
                "(for example xvfb-run -a losslab export ...), or use --view 2d")
    if platform == "xcb" and not os.environ.get("DISPLAY"):
        return "the 3-D view needs an OpenGL display but DISPLAY is not set"
    try:
        from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

        ctx = QOpenGLContext()
        if not ctx.create():
            return "the 3-D view needs OpenGL, but no OpenGL context could be created"
        surf = QOffscreenSurface()
        surf.create()
        ok = ctx.makeCurrent(surf)
        ctx.doneCurrent()
        if not ok:
            return "the 3-D view needs OpenGL, but the OpenGL context cannot be used"
    except Exception as e:  # noqa: BLE001 - any failure here means no GL
        return f"the 3-D view needs OpenGL, which is not available ({e})"
    return None


class FrameRenderer:
    """Offscreen views of one scene, grabbed as RGB arrays.

    Parameters
    ----------
    scene : Scene
        The scene to show (a Session's scene is taken from it); it is copied, never
        modified.
    view : {"2d", "3d", "both"}
    size : (width, height)
        Output size in pixels.
    plots : bool
        Show the loss, gradient-norm and learning-rate plots under the views.
    title : str, optional
        Caption over the views; the step is appended. Default: ``scene.title`` (the
        open lab's title, else the surface's name).
    log_scale, camera : optional
        Override the scene's view settings (``scene.view``).
    follow : bool
        Follow the paths (the app's View > Follow the Paths): when lanes leave the
        domain, the 2-D map colours where they go (``core.plotmath.paths_extent``: at
        most 4 domain widths) and shows it; the field is computed before a frame is
        grabbed. False: the map shows the domain only.
    """

    def __init__(self, scene, view: str = "2d", size=(960, 540), plots: bool = True,
                 title: str | None = None, log_scale: bool | None = None,
                 camera: dict | None = None, follow: bool = True) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QVBoxLayout, QWidget

        if view not in VIEWS:
            raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
        if QApplication.instance() is None:
            raise RenderError("rendering needs a QApplication")
        from simulator.gui.session import Session

        scene = getattr(scene, "scene", scene)  # a Session: its scene
        if not isinstance(scene, Scene):
            raise TypeError(f"FrameRenderer shows a Scene, got {type(scene).__name__}")
        self.session = Session(default_scene=False)
        self.session.load_scene(scene.copy())
        self.session.select_lane(-1)  # no lane drawn thicker than the others
        surface = self.session.surface
        if surface.dim == 1 and view != "2d":
            raise ValueError("a one-variable loss has only the 2-D (curve) view")
        self.network = getattr(surface, "kind", None) == "network"
        if self.network and view != "2d":
            raise ValueError("a network is shown by its loss plane, a 2-D view only "
                             "(use the 2-D view)")
        if view in ("3d", "both"):
            why = opengl_problem()
            if why:
                raise RenderError(why)
        self.view = view
        self.follow = bool(follow)
        self.width, self.height = (int(v) for v in size)
        self.title = scene.title if title is None else title

        from simulator.gui.views import ContourView, CurveView, PlotsPanel

        self.container = QWidget()
        self.container.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        self.container.setObjectName("export_frame")
        outer = QVBoxLayout(self.container)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.caption = QLabel()
        self.caption.setContentsMargins(8, 3, 8, 3)
        f = self.caption.font()
        f.setPointSizeF(max(8.0, min(13.0, self.height / 60)))
        self.caption.setFont(f)
        outer.addWidget(self.caption)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.views = []
        self.contour = self.curve = self.surface3d = self.landscape = None
        if self.network:
            from simulator.gui.views.landscape import LandscapeView

            self.landscape = LandscapeView(self.session)
            self.views.append(self.landscape)
        elif surface.dim == 1:
            self.curve = CurveView(self.session)
            self.views.append(self.curve)
        else:
            if view in ("2d", "both"):
                self.contour = ContourView(self.session)
                self.contour.set_follow_paths(follow)  # before its timers can fire
                self.views.append(self.contour)
            if view in ("3d", "both"):
                from simulator.gui.views import Surface3DView

                self.surface3d = Surface3DView(self.session)
                self.views.append(self.surface3d)
        for v in self.views:
            self._hide_controls(v)
            row.addWidget(v, 1)
        if self.landscape is not None:
            self.landscape.directions.hide()  # keep the plane's title (explained variance)
            self.landscape.title.show()
        outer.addLayout(row, 1)
        self.plots = None
        if plots and self.network:
            from simulator.gui.views.network_plots import NetworkPlots

            self.plots = NetworkPlots(self.session)
            self._hide_controls(self.plots)
            self.plots.setFixedHeight(max(90, int(self.height * PLOT_FRACTION)))
            outer.addWidget(self.plots)
        elif plots:
            self.plots = PlotsPanel(self.session)
            self._hide_controls(self.plots)
            self.plots.setFixedHeight(max(90, int(self.height * PLOT_FRACTION)))
            outer.addWidget(self.plots)
        v = scene.view
        self._apply_view_settings(v.log_for(surface) if log_scale is None else log_scale,
                                  v.camera if camera is None else camera)
        self.container.setFixedSize(self.width, self.height)
        self.container.show()
        self._settle()

    # ---- set-up ------------------------------------------------------------------------
    @staticmethod
    def _hide_controls(view) -> None:
        """Hide a view's control bar: an exported frame shows the plot only."""
        from PySide6.QtWidgets import QAbstractButton, QLabel

        keep = getattr(view, "graphics", None) or getattr(view, "gl", None)
        for w in view.findChildren(QAbstractButton) + view.findChildren(QLabel):
            if keep is not None and keep.isAncestorOf(w):
                continue
            w.hide()
        eig = getattr(view, "eigen_check", None)
        if eig is not None:
            eig.setChecked(False)  # the eigen arrows follow one lane: off for slides

    def _apply_view_settings(self, log_scale, camera) -> None:
        """Put the view settings into the private scene; its views follow."""
        changes = {}
        if log_scale is not None:
            changes["log_scale"] = bool(log_scale)
        if camera and self.surface3d is not None:
            changes["camera"] = camera
        if changes:
            self.session.set_view(**changes)

    def _settle(self) -> None:
        """Lay out and let the views draw, including what they draw later: a map whose
        paths leave the domain (a diverged lane) computes a wider field in a worker
        thread and draws its contour lines a turn after it (a frame grabbed before had
        no contour lines). Waits at most ``SETTLE_LIMIT_S``."""
        import time

        from PySide6.QtWidgets import QApplication

        self.container.layout().activate()
        for _ in range(3):
            QApplication.processEvents()
        if self.contour is not None and self.follow:
            self.contour.follow_now()  # the paths' field, drawn before the grab
        # a network's plane and sharpness are computed off the GUI thread: wait for them
        for w in (self.landscape, self.plots if self.network else None):
            if w is not None:
                w.wait()
                for _ in range(2):
                    QApplication.processEvents()
        t0 = time.monotonic()
        while (any(getattr(v, "waiting", lambda: False)() for v in self.views)
               and time.monotonic() - t0 < SETTLE_LIMIT_S):
            time.sleep(0.005)  # the field's worker thread runs
            QApplication.processEvents()

    # ---- frames ------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        return int(self.session.steps)

    def _caption_text(self, step: int) -> str:
        s = self.session
        head = self.title or s.surface.name
        keys = "".join(
            f" &nbsp; <span style='color:{lane.color}'>\u25a0</span>&nbsp;{_escape(lane.name)}"
            for lane in s.lanes if lane.enabled)
        return f"<b>{_escape(head)}</b> &nbsp;\u00b7&nbsp; step {step} / {s.steps} &nbsp;{keys}"

    def render(self, step: int | None = None) -> np.ndarray:
        """The frame at ``step`` (default: the session's frame) as (H, W, 3) uint8."""
        from PySide6.QtGui import QImage

        step = self.session.frame if step is None else int(step)
        self.session.set_frame(step)
        self.caption.setText(self._caption_text(self.session.frame))
        self._settle()
        img = self.container.grab().toImage()
        if img.width() != self.width or img.height() != self.height:
            from PySide6.QtCore import Qt

            img = img.scaled(self.width, self.height, Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        img = img.convertToFormat(QImage.Format.Format_RGB888)
        w, h, bpl = img.width(), img.height(), img.bytesPerLine()
        buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h)
        return buf.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()

    def save_png(self, path, step: int | None = None) -> None:
        """One frame as PNG (written atomically)."""
        from PIL import Image

        frame = self.render(step)
        with atomic_output(path, "wb") as f:
            Image.fromarray(frame, "RGB").save(f, format="PNG", optimize=False)

    def save_svg(self, path, step: int | None = None) -> None:
        """The 2-D view (contour map or curve) and the plots as SVG, a vector image for
        slides, written by :mod:`simulator.export.svg` from this scene's data (pyqtgraph's
        SVG exporter fails with PySide6 6.11). Written atomically."""
        from simulator.export.svg import scene_from_session, write_svg
        from simulator.gui.analysis_cache import critical_points

        if self.network:
            raise ValueError("SVG export is for surfaces; a network's loss plane is "
                             "exported as a picture: use .png")
        view = self.contour or self.curve
        if view is None:
            raise ValueError("SVG export is for the 2-D views; the 3-D view is a bitmap")
        s = self.session
        if step is not None:
            s.set_frame(int(step))
        log_scale = s.view.log_for(s.surface) if self.contour is not None else None
        log_y = self.plots.log_check.isChecked() if self.plots is not None else True
        scene = scene_from_session(s, title=self.title, log_scale=log_scale, log_y=log_y,
                                   critical_points=critical_points(s.surface, wait=True),
                                   follow=self.follow)
        write_svg(scene, path, (self.width, self.height), plots=self.plots is not None)

    def close(self) -> None:
        self.container.close()
        self.container.deleteLater()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
