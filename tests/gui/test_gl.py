"""The 3-D view renders a real, non-blank image under an X display (Xvfb + Mesa).

The test process is offscreen (no OpenGL there), so the rendering runs in a subprocess
on the ``gl_display`` fixture's display. Without a display this fails under CI and
skips locally (see ``tests/conftest.py``); it never passes without rendering.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _render(tmp_path, display, surface, *extra):
    out = tmp_path / f"gl_{surface}{'_'.join(extra)}.png"
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, str(HERE / "gl_render.py"), str(out), surface, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"render failed:\n{proc.stdout}\n{proc.stderr}"
    assert out.exists(), proc.stderr
    return out


def _pixels(path):
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    a = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
    return a.reshape(h, img.bytesPerLine() // 4, 4)[:, :w, :3].copy()


@pytest.mark.gl
@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau"])
def test_surface3d_renders_mesh(tmp_path, gl_display, surface):
    _assert_mesh(_render(tmp_path, gl_display, surface))


@pytest.mark.gl
def test_exported_3d_frame_has_the_mesh_while_the_window_shows_it(tmp_path, gl_display):
    # two 3-D views, two GL contexts: without shared contexts the exporter's frame
    # had no mesh (pyqtgraph's shader programs belonged to the first context)
    _assert_mesh(_render(tmp_path, gl_display, "rosenbrock", "--export"))


@pytest.mark.gl
def test_3d_view_waits_for_the_end_of_a_drag_on_a_software_renderer(tmp_path, gl_display):
    # gl_render.py --drag exits with 3 and says why if the paths were redrawn during
    # the drag or did not catch up when it rested or ended
    _assert_mesh(_render(tmp_path, gl_display, "rosenbrock", "--drag"))


@pytest.mark.gl
def test_main_window_3d_view_is_a_native_gl_window_that_renders(tmp_path, gl_display):
    # a QOpenGLWidget would make Qt compose the whole window through OpenGL on every
    # repaint (35 ms per slider tick on Mesa); the window's view is a QOpenGLWindow
    _assert_mesh(_render(tmp_path, gl_display, "rosenbrock", "--window", "--drag"))


def _assert_mesh(out):
    px = _pixels(out)
    assert px.shape[0] >= 200 and px.shape[1] >= 200
    flat = px.reshape(-1, 3)
    colours = len(np.unique(flat, axis=0))
    assert colours > 500, f"only {colours} distinct colours: blank or flat image"
    background = np.array([0x24, 0x21, 0x20])  # #202124 in BGR byte order
    mesh = np.any(np.abs(flat.astype(int) - background) > 12, axis=1)
    assert mesh.mean() > 0.08, f"mesh covers only {mesh.mean():.1%} of the image"


@pytest.mark.gl
def test_network_mesh_says_what_is_computed_until_its_plane(tmp_path, gl_display):
    # while a network's lanes train the 3-D pane showed a blank grey square: it says so
    # now (a label over the GL pane), and the mesh replaces the message
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=gl_display)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    before, after = tmp_path / "before.png", tmp_path / "after.png"
    proc = subprocess.run(
        [sys.executable, str(HERE / "gl_landscape_wait.py"), str(before), str(after)],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    _assert_mesh(after)
