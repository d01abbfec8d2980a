"""The 3-D view: the loss surface as a lit mesh, with the lanes' paths drawn on it.

The domain is mapped to the square [-1, 1] x [-1, 1] and the height to [0, HEIGHT]
whatever the surface's units, so Rosenbrock (values in the thousands) and a quadratic
bowl (values below ten) both look like landscapes one can read. The log height option
(default from the surface) flattens surfaces whose values span decades so the valley
floor is visible. Paths are drawn slightly above the mesh at the height of their loss,
and the current positions are drawn on top of everything so a lane behind a hill stays
findable.

Drag to orbit, the wheel zooms, middle-drag pans (pyqtgraph's GLViewWidget); "Reset
camera" returns to the default view. The mesh is ~100 x 100 so Mesa's software OpenGL
(llvmpipe) stays interactive; a frame change only updates the line and marker items.
On a software renderer a frame of this view costs several times a whole 2-D tick, so
while a slider or the start point is dragged the view waits and draws once the hand
rests or lets go; the 2-D map and the plots follow every tick.
"""

from __future__ import annotations

import atexit
import math

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from OpenGL import GL
from pyqtgraph.opengl import shaders
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6.QtCore import QEvent, QRect, Qt, QTimer
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from simulator.core.plotmath import (
    HeightScale,
    diverged_at,
    divergence_point,
    lane_step,
    robust_levels,
)

from ..drag import DRAG
from ..lanes import on_lane_edits, shown_lanes
from ..marks import DIVERGED_COLOR, START_COLOR
from ..plotting import PRESENT_SCALE
from ..scheduling import TurnTimer

MESH_N = 100
HEIGHT = 1.0  # the mesh's height in units where the domain is 2 wide
LIFT = 0.012  # paths float this far above the mesh so they are not swallowed by it
CLIP = 3.0  # normalised coordinates are clipped to +-CLIP (diverged runs)
# GL_RENDERER names of software rasterisers (Mesa's llvmpipe, softpipe, swrast; Google's
# SwiftShader; Windows' "GDI Generic" is matched by "generic")
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software", "swiftshader", "generic")
SOFTWARE_SETTLE_MS = 150  # on a software renderer, a drag redraws once it rests this long
NEW_SURFACE_MS = 70  # a new surface's mesh is built this much later (a turn of its own)


class _KnowsRenderer:
    """Mixin: which OpenGL renderer draws the view (read once its context exists)."""

    renderer = ""  # GL_RENDERER
    software = False  # a software rasteriser (see SOFTWARE_RENDERERS)

    def initializeGL(self):  # noqa: N802 - Qt API
        super().initializeGL()
        try:
            name = GL.glGetString(GL.GL_RENDERER)
        except Exception:  # noqa: BLE001 - no answer: assume hardware
            name = None
        self.renderer = name.decode("ascii", "replace") if name else ""
        low = self.renderer.lower()
        self.software = any(k in low for k in SOFTWARE_RENDERERS)


class GLView(_KnowsRenderer, gl.GLViewWidget):
    """pyqtgraph's GLViewWidget (a QOpenGLWidget): renders hidden, for export."""


_NATIVE: dict = {}  # id(container) -> (container, its GLWindow), while both live


def _hold_native(pane, window) -> None:
    """Qt's container owns the window and deletes it, but PySide thinks Python does
    (it was created in Python). At exit PySide deletes the objects it owns in any
    order, and a container left pointing at a window deleted first crashed the
    interpreter's exit. So the window is held here, and at exit, before PySide's own
    clean-up, the top-level windows holding containers are deleted (containers first
    delete their windows) while the QApplication still exists."""
    if not _NATIVE:
        atexit.register(_delete_native)  # runs before PySide's clean-up (LIFO)
    key = id(pane)
    _NATIVE[key] = (pane, window)
    pane.destroyed.connect(lambda *_a, k=key: _NATIVE.pop(k, None))


def _delete_native() -> None:
    import shiboken6

    for pane, _window in list(_NATIVE.values()):
        if shiboken6.isValid(pane):
            top = pane.window()
            shiboken6.delete(top if top is not None else pane)
    _NATIVE.clear()


class GLWindow(_KnowsRenderer, GLViewMixin, QOpenGLWindow):
    """The same view as a native OpenGL window, for the app's window.

    A QOpenGLWidget anywhere in a window makes Qt compose the whole window through
    OpenGL on every repaint; on a software renderer that cost 35 ms for each slider
    tick at 1280 x 800 even when the 3-D view itself did not change. A QOpenGLWindow in
    a window container draws only itself; the rest of the window stays raster."""

    def __init__(self):
        super().__init__()
        # keyboard focus stays in the main window: Space, arrows and R keep working
        # after a drag on the mesh (they would turn the camera here)
        self.setFlag(Qt.WindowType.WindowDoesNotAcceptFocus, True)

    def rect(self) -> QRect:  # QWidget's, which GLTextItem places its text with
        return QRect(0, 0, self.width(), self.height())


# markers are drawn without the depth test: always visible, even behind a hill
_ON_TOP = {
    GL.GL_DEPTH_TEST: False,
    GL.GL_BLEND: True,
    GL.GL_CULL_FACE: False,
    "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA),
}


# Two-sided soft lighting: pyqtgraph's "shaded" program turns faces away from its light
# almost black, which hides half a landscape; here every face keeps most of its colour.
_SHADER = shaders.ShaderProgram(
    "losslab_soft",
    [
        shaders.VertexShader(
            """
            uniform mat4 u_mvp;
            uniform mat3 u_normal;
            attribute vec4 a_position;
            attribute vec3 a_normal;
            attribute vec4 a_color;
            varying vec4 v_color;
            void main() {
                // lit per vertex (Gouraud): Mesa's software renderer shades every
                // fragment on the CPU, and a 100 x 100 mesh is smooth enough for it
                vec3 n = normalize(u_normal * a_normal);
                float p = abs(dot(n, normalize(vec3(0.3, 0.5, 1.0))));
                v_color = vec4(min(a_color.rgb * (0.45 + 0.6 * p), vec3(1.0)), a_color.a);
                gl_Position = u_mvp * a_position;
            }
            """
        ),
        shaders.FragmentShader(
            """
            #ifdef GL_ES
            precision mediump float;
            #endif
            varying vec4 v_color;
            void main() {
                gl_FragColor = v_color;
            }
            """
        ),
    ],
)


def _rgba(color, alpha: float = 1.0) -> tuple[float, float, float, float]:
    c = pg.mkColor(color)
    return (c.redF(), c.greenF(), c.blueF(), alpha)


class Surface3DView(QWidget):
    """Mesh of the surface (coloured and lit by height) with paths and markers."""

    def __init__(self, session, parent=None, native: bool = False):
        """``native``: draw in a native OpenGL window (the app's window, see GLWindow);
        else in a QOpenGLWidget, which also renders while hidden (export)."""
        super().__init__(parent)
        self.session = session
        self._surface = None
        self._scale: HeightScale | None = None
        self._levels = (0.0, 1.0)
        self._grid = None
        self._lines: dict[int, gl.GLLinePlotItem] = {}
        self.scale = 1.0  # lines and marks (PRESENT_SCALE in presentation mode)
        self._paths: dict[int, np.ndarray] = {}
        self._shown: list = []
        self._camera_timer = QTimer(self)  # after an orbit or a zoom: see eventFilter
        self._camera_timer.setSingleShot(True)
        self._camera_timer.setInterval(0)
        self._camera_timer.timeout.connect(self._store_camera)

        self.log_check = QCheckBox("Log height")
        self.log_check.setToolTip(
            "Height and colour by log10(L - min): shows the valley floor of surfaces whose "
            "values span many decades"
        )
        self.reset_button = QToolButton()
        self.reset_button.setText("Reset camera")
        self.reset_button.setToolTip("Back to the default view (drag orbits, wheel zooms)")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.log_check)
        bar.addWidget(self.reset_button)
        bar.addStretch(1)

        self.gl = GLWindow() if native else GLView()
        self.gl.setBackgroundColor(pg.mkColor("#202124"))
        self.gl.installEventFilter(self)
        if native:
            self.gl_pane = QWidget.createWindowContainer(self.gl, self)
            _hold_native(self.gl_pane, self.gl)
        else:
            self.gl_pane = self.gl
        self.gl_pane.setMinimumSize(120, 120)
        self.gl_pane.setToolTip("Drag to orbit, wheel to zoom, middle-drag (or Ctrl+drag) to pan")

        self.floor = gl.GLGridItem()
        self.floor.setSize(2.0, 2.0, 1.0)
        self.floor.setSpacing(0.25, 0.25, 1.0)
        self.floor.setColor((255, 255, 255, 40))
        self.gl.addItem(self.floor)

        self.mesh = gl.GLSurfacePlotItem(shader=_SHADER, smooth=True, glOptions="opaque")
        self.gl.addItem(self.mesh)

        self.markers = gl.GLScatterPlotItem(size=12.0, pxMode=True, glOptions=_ON_TOP)
        self.gl.addItem(self.markers)
        # diverged lanes: an x where each was last seen, once the frame reaches it
        self.diverged_item = gl.GLLinePlotItem(mode="lines", width=3.0, antialias=False,
                                               color=_rgba(DIVERGED_COLOR), glOptions=_ON_TOP)
        self.gl.addItem(self.diverged_item)
        self._divergence: list = []  # (step, (x, y, z)) of the diverged lanes shown
        self._diverged_shown: tuple | None = None
        self.start_item = gl.GLScatterPlotItem(
            size=14.0, pxMode=True, color=_rgba(START_COLOR), glOptions=_ON_TOP
        )
        self.gl.addItem(self.start_item)
        self.axis_labels = []
        if hasattr(gl, "GLTextItem"):
            for pos in ((0.0, -1.2, 0.0), (1.2, 0.0, 0.0)):
                it = gl.GLTextItem(pos=pos, text="", color=(230, 230, 230, 255))
                self.gl.addItem(it)
                self.axis_labels.append(it)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.gl_pane, 1)

        self.log_check.toggled.connect(self._on_log_toggled)
        self.reset_button.clicked.connect(self.reset_camera)
        # what changed while the view waits: for a new surface's turn (see _new_surface)
        # or for a drag on a software renderer to rest
        self._deferred: set[str] = set()
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self._catch_up)
        self._surface_turn = TurnTimer(self)  # a new surface's turn
        self._surface_turn.timeout.connect(self._catch_up)
        s = session
        s.surface_changed.connect(self._new_surface)
        on_lane_edits(s, self._runs_changed)
        s.start_changed.connect(lambda: self._later("start") or self._on_start_changed())
        s.trajectories_changed.connect(self._runs_changed)
        s.frame_changed.connect(lambda *_: self._later("frame") or self._on_frame_changed())
        s.view_changed.connect(self._on_view_changed)
        DRAG.changed.connect(self._on_drag)
        self.reset_camera()
        self._on_surface_changed()

    # ---- waiting for the end of a drag on a software renderer ------------------------------
    def _runs_changed(self, *_):
        if not self._later("runs"):
            self._on_trajectories_changed()

    def _new_surface(self) -> None:
        """A new surface redraws every view at once: this one builds its mesh in the
        next event-loop turn (``NEW_SURFACE_MS``), or when a drag on a software renderer
        rests, so that no single turn does all of it (one took over 100 ms)."""
        self._deferred.add("surface")
        if DRAG.active and self.gl.software:
            self._settle.start(SOFTWARE_SETTLE_MS)
        elif not self._settle.isActive():
            self._surface_turn.start(NEW_SURFACE_MS)

    def _later(self, what: str) -> bool:
        """While a new surface waits (``_new_surface``), and during a drag on a software
        renderer: note that ``what`` changed, to be drawn once the hand rests
        (``SOFTWARE_SETTLE_MS``) or lets go, and return True."""
        if "surface" in self._deferred:
            self._deferred.add(what)  # drawn with the new surface
            return True
        if not (DRAG.active and self.gl.software):
            return False
        self._deferred.add(what)
        self._settle.start(SOFTWARE_SETTLE_MS)
        return True

    def _on_drag(self, dragging: bool) -> None:
        if not dragging and self._deferred:
            self._catch_up()

    def _catch_up(self) -> None:
        self._settle.stop()
        self._surface_turn.stop()
        done, self._deferred = self._deferred, set()
        if "surface" in done:
            self._on_surface_changed()  # the mesh, the start point and the paths
            return
        if "start" in done:
            self._on_start_changed()
        if "runs" in done:
            self._on_trajectories_changed()  # the paths and the markers
        elif "frame" in done:
            self._on_frame_changed()

    def waiting(self) -> bool:
        """Whether changes wait: for the end of a drag, or a new surface for its turn
        (for tests)."""
        return bool(self._deferred)

    # ---- coordinates --------------------------------------------------------------------
    def _xy(self, p: np.ndarray) -> np.ndarray:
        """Domain coordinates -> the [-1, 1] square (clipped to +-CLIP)."""
        (x0, x1), (y0, y1) = self._surface.domain
        u = (np.asarray(p[:, 0], dtype=float) - 0.5 * (x0 + x1)) * (2.0 / (x1 - x0))
        v = (np.asarray(p[:, 1], dtype=float) - 0.5 * (y0 + y1)) * (2.0 / (y1 - y0))
        return np.clip(np.column_stack([u, v]), -CLIP, CLIP)

    def _z(self, values) -> np.ndarray:
        """Loss -> height: transformed, normalised to [0, HEIGHT], clipped above."""
        lo, hi = self._levels
        t = self._scale(values)
        z = (t - lo) * (HEIGHT / (hi - lo))
        return np.clip(z, 0.0, 1.5 * HEIGHT)

    # ---- session handlers ---------------------------------------------------------------
    def _on_surface_changed(self):
        surface = getattr(self.session, "surface", None)
        self._surface = surface if surface is not None and surface.dim == 2 else None
        if self._surface is None:
            self.mesh.setVisible(False)
            self._grid = None
            self._on_trajectories_changed()
            return
        (xs, ys), values = self._surface.grid(MESH_N)
        self._grid = (xs, ys, values)
        self.log_check.blockSignals(True)
        self.log_check.setChecked(self.session.view.log_for(surface))
        self.log_check.blockSignals(False)
        for it, name in zip(self.axis_labels, surface.variables):
            it.setData(text=name)
        self._draw_mesh()
        self._on_start_changed()
        self._on_trajectories_changed()

    def _on_view_changed(self):
        """The scene's view state changed: follow its colour scale and camera."""
        v = self.session.view
        if self._surface is not None:
            want = v.log_for(self._surface)
            if self.log_check.isChecked() != want:
                self.log_check.setChecked(want)
        if v.camera is None:
            self.reset_camera()  # a scene without a camera: the default view
        elif v.camera != self.camera():
            self.gl.setCameraPosition(**v.camera)

    def _on_log_toggled(self, checked=None):
        if checked is not None and self._surface is not None:
            self.session.set_view(log_scale=bool(checked))
        if "surface" in self._deferred:
            # a new surface waits for its turn (a lab opened while log colour was on):
            # the mesh and paths here are the old surface's, the runs the new one's (a
            # 1-D lab's positions have one column); that turn draws them all
            return
        if self._grid is not None:
            self._draw_mesh()
            self._on_start_changed()
            self._on_trajectories_changed()

    def _draw_mesh(self):
        xs, ys, values = self._grid
        self._scale = HeightScale(values, self.log_check.isChecked())
        t = self._scale(values)
        self._levels = robust_levels(t)
        z = self._z(values)  # (ny, nx)
        defined = np.isfinite(z)
        frac = np.clip(z / HEIGHT, 0.0, 1.0)
        colors = self._cmap().map(np.where(defined, frac, 0.0), mode="float")
        colors = np.asarray(colors, dtype=np.float32).reshape(len(ys), len(xs), 4)
        if not defined.all():
            # undefined points: sink to the floor, fully transparent -> a hole in the mesh
            z = np.where(defined, z, 0.0)
            colors[~defined] = (0.0, 0.0, 0.0, 0.0)
            self.mesh.setGLOptions("translucent")
        else:
            self.mesh.setGLOptions("opaque")
        u = np.linspace(-1.0, 1.0, len(xs))
        v = np.linspace(-1.0, 1.0, len(ys))
        # GLSurfacePlotItem wants z[i, j] at (x[i], y[j]): transpose the grid
        self.mesh.setData(
            x=u,
            y=v,
            z=np.ascontiguousarray(z.T),
            colors=np.ascontiguousarray(colors.transpose(1, 0, 2)),
        )
        _fill_vertex_normals(self.mesh.opts.get("meshdata"))
        self.mesh.setVisible(True)

    def _cmap(self):
        return pg.colormap.get("viridis")

    def _on_start_changed(self):
        start = getattr(self.session, "start", None)
        if self._surface is None or start is None or len(start) != 2:
            self.start_item.setData(pos=np.zeros((0, 3)))
            return
        p = np.asarray([start], dtype=float)
        z = self._z(self._surface.value(p)) + 2 * LIFT
        pos = np.column_stack([self._xy(p), np.nan_to_num(z)])
        self.start_item.setData(pos=pos)

    def _on_trajectories_changed(self):
        surface = self._surface
        # the runs are the session's: drawn only on the surface they ran on
        same = surface is not None and surface is getattr(self.session, "surface", None)
        shown = shown_lanes(self.session) if same else []
        uids = {lane.uid for lane, _ in shown}
        for uid in list(self._lines):
            if uid not in uids:
                self.gl.removeItem(self._lines.pop(uid))
                self._paths.pop(uid, None)
        for lane, run in shown:
            item = self._lines.get(lane.uid)
            if item is None:
                # no line smoothing: on Mesa's software renderer it costs a third of
                # a frame (bench/bench_gui.py --3d), and wide lines read well without
                item = gl.GLLinePlotItem(
                    mode="line_strip", width=2.5 * self.scale, antialias=False,
                    glOptions="opaque"
                )
                self.gl.addItem(item)
                self._lines[lane.uid] = item
            item.setData(color=_rgba(lane.color))
            xy = self._xy(np.asarray(run.positions, dtype=float))
            z = self._z(np.asarray(run.losses, dtype=float)) + LIFT
            path = np.column_stack([xy, z]).astype(np.float32)
            # a non-finite vertex would break the strip: repeat the last good one
            bad = ~np.isfinite(path).all(axis=1)
            if bad.any():
                good = np.where(~bad, np.arange(len(path)), 0)
                np.maximum.accumulate(good, out=good)
                path = path[good]
            self._paths[lane.uid] = path
        self._shown = shown
        self._colors = np.array([_rgba(lane.color) for lane, _ in shown], dtype=np.float32)
        self._divergence = []
        for _lane, run in shown:
            mark = divergence_point(run, surface.domain)
            if mark is not None:
                with np.errstate(all="ignore"):
                    z = self._z(surface.value(mark.reshape(1, 2)))
                xy = self._xy(mark.reshape(1, 2))[0]
                z = float(z[0]) if np.isfinite(z[0]) else HEIGHT
                self._divergence.append((diverged_at(run), (*map(float, xy), z + LIFT)))
        self._on_frame_changed(getattr(self.session, "frame", 0))

    def _on_frame_changed(self, frame=None):
        if frame is None:
            frame = getattr(self.session, "frame", 0)
        pos = np.zeros((len(self._shown), 3), dtype=np.float32)
        for i, (lane, run) in enumerate(self._shown):
            path = self._paths[lane.uid]
            k = lane_step(run, frame)
            self._lines[lane.uid].setData(pos=path[: k + 1])
            pos[i] = path[k]
            pos[i, 2] += LIFT
        if len(pos):
            self.markers.setData(pos=pos, color=self._colors)
        else:
            self.markers.setData(pos=np.zeros((0, 3)))
        marks = tuple(p for step, p in self._divergence if frame >= step)
        if marks != self._diverged_shown:
            self._diverged_shown = marks
            r = 0.06  # half the x's width, where the domain is 2 wide
            seg = np.array([[-r, -r, 0], [r, r, 0], [-r, r, 0], [r, -r, 0]], np.float32)
            pts = np.concatenate([seg + np.asarray(p, np.float32) for p in marks]) \
                if marks else np.zeros((0, 3), np.float32)
            self.diverged_item.setData(pos=pts)
            self.diverged_item.setVisible(bool(marks))

    def set_presentation(self, on: bool) -> None:
        """Presentation mode: paths and marks ``PRESENT_SCALE`` times wider."""
        k = PRESENT_SCALE if on else 1.0
        if k == self.scale:
            return
        self.scale = k
        for w in (self.log_check, self.reset_button):  # the controls keep their size
            w.setFont(QApplication.font())
        for item in self._lines.values():
            item.setData(width=2.5 * k)
        self.markers.setData(size=12.0 * k)
        self.start_item.setData(size=14.0 * k)
        self.diverged_item.setData(width=3.0 * k)

    # ---- camera -------------------------------------------------------------------------
    def reset_camera(self):
        """The default view: from the front-left, a little above, the whole mesh."""
        self.gl.opts["center"] = pg.Vector(0.0, 0.0, 0.35 * HEIGHT)
        self._fitted_distance = self._fit_distance()
        self.gl.setCameraPosition(
            distance=self._fitted_distance, elevation=32.0, azimuth=-62.0
        )
        self._store_camera()

    def camera(self) -> dict:
        """The camera as the scene keeps it (elevation, azimuth, distance; normalised)."""
        from simulator.core.scene import ViewState

        o = self.gl.opts
        return ViewState(camera={"elevation": float(o["elevation"]),
                                 "azimuth": float(o["azimuth"]),
                                 "distance": float(o["distance"])}).camera

    def _store_camera(self) -> None:
        """Put the camera into the scene (exports and Save as Lab read it there)."""
        self.session.set_view(camera=self.camera())

    def _fit_distance(self) -> float:
        """The camera distance at which the mesh (and its axis labels) fills the pane.

        pyqtgraph's field of view (60 degrees) is horizontal: a tall narrow pane has a
        wider vertical view, a wide short one a narrower. The mesh's bounding sphere
        (the square [-1, 1]^2 up to HEIGHT, seen from its centre) must fit the narrower.
        """
        w, h = max(self.gl.width(), 1), max(self.gl.height(), 1)
        half_h = math.radians(self.gl.opts.get("fov", 60.0)) / 2
        half_v = math.atan(math.tan(half_h) * h / w)
        radius = math.sqrt(1.2**2 + 1.2**2 + (0.65 * HEIGHT) ** 2) * 0.92
        return radius / math.sin(min(half_h, half_v))

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt API
        # an orbit or a zoom ends: the scene gets the camera once the view has moved
        if obj is self.gl and ev.type() in (QEvent.Type.MouseButtonRelease,
                                            QEvent.Type.Wheel):
            self._camera_timer.start()
        # a resized pane refits the camera unless the user zoomed it
        if obj is self.gl and ev.type() == QEvent.Type.Resize:
            if abs(self.gl.opts["distance"] - getattr(self, "_fitted_distance", -1)) < 1e-9:
                self._fitted_distance = self._fit_distance()
                self.gl.opts["distance"] = self._fitted_distance
                self.gl.update()
        return super().eventFilter(obj, ev)

    # ---- for tests, the benchmark and the screenshot script --------------------------------
    def render_image(self):
        """The current frame as a QImage (needs a real OpenGL context: xcb, not offscreen)."""
        return self.gl.grabFramebuffer()


def _fill_vertex_normals(md) -> None:
    """Vertex normals of a MeshData, vectorised.

    pyqtgraph computes them lazily at the first paint with a Python loop over every
    vertex (~0.4 s for a 100 x 100 mesh, paid on every new surface, formula or brush
    stroke). This is the same sum of (unnormalised) face normals per vertex, normalised,
    done with numpy; pyqtgraph then finds them already computed.
    """
    # read the raw arrays: md.faceNormals() would cache face-indexed vertexes, which
    # switches GLMeshItem to its face-indexed drawing path (and our grid-shaped colours)
    if md is None or getattr(md, "_vertexNormals", 1) is not None:
        return
    verts = getattr(md, "_vertexes", None)
    faces = getattr(md, "_faces", None)
    if verts is None or faces is None or len(faces) == 0:
        return
    v0, v1, v2 = (verts[faces[:, k]].astype(np.float64) for k in range(3))
    fn = np.cross(v1 - v0, v2 - v0)
    vn = np.zeros((len(verts), 3))
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    norm = np.sqrt((vn**2).sum(axis=1, keepdims=True))
    norm[norm == 0] = 1.0
    md._vertexNormals = (vn / norm).astype(np.float32)
