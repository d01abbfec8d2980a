"""The 3-D mesh of a network's loss plane, with every lane's projected path on it.

The same plane as the map (``views/landscape.py``), drawn as a lit mesh whose height and
colour are log10 of the training loss on the plane, and each lane's projected path
lying on the mesh (its height is the plane's loss under the projected point, so the
path and the mesh agree; the loss the run really had can differ, since the run leaves
the plane). Built with the 3-D view's pieces (``views/surface3d.py``); the map creates
it only when OpenGL works. Until its first plane the mesh says what is being computed
(``placeholder``, a ``views/placeholder.py`` label the map drives; a label shows over the
non-native pane the window uses, not over a native GL window).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.opengl as gl
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .placeholder import Placeholder

HEIGHT = 1.0  # the mesh's height where the plane is 2 wide (as the 3-D view's)
LIFT = 0.01  # paths float this much above the mesh


def plane_heights(plane) -> tuple[np.ndarray, tuple[float, float]]:
    """log10 of the plane's losses normalised to [0, HEIGHT] (ny, nx), and the levels."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log10(np.maximum(plane.losses, 1e-12))
    finite = np.isfinite(t)
    top = float(t[finite].max()) if finite.any() else 1.0
    t = np.where(finite, t, top)
    lo, hi = float(np.percentile(t, 0.5)), float(t.max())
    if hi <= lo:
        hi = lo + 1.0
    return np.clip((t - lo) * (HEIGHT / (hi - lo)), 0.0, HEIGHT), (lo, hi)


def to_unit(plane, ab: np.ndarray) -> np.ndarray:
    """Plane coordinates (alpha, beta) -> the mesh's [-1, 1] square."""
    a, b = plane.alphas, plane.betas
    u = (ab[:, 0] - a[0]) / (a[-1] - a[0]) * 2.0 - 1.0
    v = (ab[:, 1] - b[0]) / (b[-1] - b[0]) * 2.0 - 1.0
    return np.column_stack([u, v])


def path_on_mesh(plane, path: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A projected path (k, 2) as 3-D points on the mesh ``z`` (ny, nx): bilinear height
    under each point (clamped to the plane's edge)."""
    a, b = plane.alphas, plane.betas
    fi = np.clip((path[:, 0] - a[0]) / (a[1] - a[0]), 0, len(a) - 1.000001)
    fj = np.clip((path[:, 1] - b[0]) / (b[1] - b[0]), 0, len(b) - 1.000001)
    i0, j0 = fi.astype(int), fj.astype(int)
    ti, tj = fi - i0, fj - j0
    h = (z[j0, i0] * (1 - ti) * (1 - tj) + z[j0, i0 + 1] * ti * (1 - tj)
         + z[j0 + 1, i0] * (1 - ti) * tj + z[j0 + 1, i0 + 1] * ti * tj)
    uv = np.clip(to_unit(plane, path), -1.0, 1.0)
    return np.column_stack([uv, h + LIFT]).astype(np.float32)


class Landscape3D(QWidget):
    """The plane as a mesh; ``show_plane`` then ``show_frame``."""

    def __init__(self, native: bool = True, parent=None) -> None:
        super().__init__(parent)
        from .surface3d import _ON_TOP, _SHADER, GLView, GLWindow, _hold_native

        self.gl = GLWindow() if native else GLView()
        self.gl.setBackgroundColor(pg.mkColor("#202124"))
        if native:
            self.pane = QWidget.createWindowContainer(self.gl, self)
            _hold_native(self.pane, self.gl)
        else:
            self.pane = self.gl
        self.pane.setMinimumSize(120, 120)
        self.pane.setToolTip("The loss plane in 3-D: drag to orbit, wheel to zoom")
        self.mesh = gl.GLSurfacePlotItem(shader=_SHADER, smooth=True, glOptions="opaque")
        self.mesh.setVisible(False)  # an empty mesh fails to paint: shown with a plane
        self.gl.addItem(self.mesh)
        self.markers = gl.GLScatterPlotItem(size=12.0, pxMode=True, glOptions=_ON_TOP)
        self.gl.addItem(self.markers)
        self.lines: list = []
        self.paths: list[np.ndarray] = []
        self.colors = np.zeros((0, 4), np.float32)
        self.gl.opts["center"] = pg.Vector(0.0, 0.0, 0.35 * HEIGHT)
        self.gl.setCameraPosition(distance=3.2, elevation=32.0, azimuth=-62.0)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.pane)
        self.placeholder = Placeholder(self)  # over the pane (the map says what)

    def clear(self) -> None:
        """No plane: no mesh, paths or markers."""
        self.mesh.setVisible(False)
        while self.lines:
            self.gl.removeItem(self.lines.pop())
        self.paths = []
        self.colors = np.zeros((0, 4), np.float32)
        self.markers.setData(pos=np.zeros((0, 3), np.float32))

    def show_plane(self, plane, colors: list) -> None:
        """The mesh of ``plane`` and its paths in ``colors`` (one "#RRGGBB" per path)."""
        from .surface3d import _fill_vertex_normals

        z, _levels = plane_heights(plane)
        cols = pg.colormap.get("viridis").map(z / HEIGHT, mode="float")
        cols = np.asarray(cols, dtype=np.float32).reshape(z.shape + (4,))
        u = np.linspace(-1.0, 1.0, len(plane.alphas))
        v = np.linspace(-1.0, 1.0, len(plane.betas))
        self.mesh.setData(x=u, y=v, z=np.ascontiguousarray(z.T),
                          colors=np.ascontiguousarray(cols.transpose(1, 0, 2)))
        _fill_vertex_normals(self.mesh.opts.get("meshdata"))
        self.mesh.setVisible(True)
        while len(self.lines) > len(plane.paths):
            self.gl.removeItem(self.lines.pop())
        while len(self.lines) < len(plane.paths):
            it = gl.GLLinePlotItem(mode="line_strip", width=2.5, antialias=False,
                                   glOptions="opaque")
            self.gl.addItem(it)
            self.lines.append(it)
        self.paths = [path_on_mesh(plane, p, z) for p in plane.paths]
        self.colors = np.array([pg.mkColor(c).getRgbF() for c in colors], np.float32)
        for it, c in zip(self.lines, self.colors):
            it.setData(color=tuple(float(x) for x in c))

    def show_frame(self, frame: int) -> None:
        pos = np.zeros((len(self.paths), 3), np.float32)
        for i, (it, p) in enumerate(zip(self.lines, self.paths)):
            k = max(0, min(int(frame), len(p) - 1))
            it.setData(pos=p[: k + 1])
            pos[i] = p[k]
        if len(pos):
            self.markers.setData(pos=pos, color=self.colors)
