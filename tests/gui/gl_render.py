"""Render the 3-D view once and save it as a PNG (run by test_gl.py in a subprocess).

Usage: python gl_render.py OUT.png [SURFACE] [--export] [--drag] [--window]

With ``--export`` the PNG is a frame of the exporter's own 3-D view, rendered while the
window's 3-D view is shown (two OpenGL contexts in one process). With ``--drag`` it also
checks that, on a software renderer, a drag makes the view wait and draw when the hand
rests or lets go (exit code 3 if not). With ``--window`` the PNG is the 3-D view of the
app's main window, which draws in a native OpenGL window (exit code 4 if it does not).

Needs a real X display (QT_QPA_PLATFORM=xcb, DISPLAY set): OpenGL does not work on the
offscreen platform the rest of the test suite uses.
"""

from __future__ import annotations

import sys
import time


def _check_drag(app, session, view) -> str | None:
    """A drag on a software renderer: the paths wait, then catch up. None if right."""
    import numpy as np

    from simulator.gui.panels import DRAG

    def settle(seconds):
        t = time.monotonic()
        while time.monotonic() - t < seconds:
            app.processEvents()
            time.sleep(0.005)

    print("renderer:", view.gl.renderer, "software" if view.gl.software else "hardware")
    if not view.gl.renderer:
        return "the view does not know its OpenGL renderer"
    view.gl.software = True  # as on Mesa, also where the test runs on a GPU
    uid = session.lanes[0].uid
    line = view._lines[uid]
    before = np.array(line.pos, copy=True)
    DRAG.set(True)
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 1.5)
    session.flush()
    app.processEvents()
    if not view.waiting() or not np.array_equal(line.pos, before):
        return "the 3-D paths were redrawn during the drag"
    settle(0.6)  # the hand rests: the view catches up
    if view.waiting() or np.array_equal(line.pos, before):
        return "the 3-D paths did not catch up when the drag rested"
    moved = np.array(line.pos, copy=True)
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 1.5)
    session.flush()
    DRAG.set(False)  # let go: drawn at once
    if view.waiting() or np.array_equal(line.pos, moved):
        return "the 3-D paths did not catch up on release"
    return None


def main(out: str, surface: str = "rosenbrock", export: bool = False,
         drag: bool = False, window: bool = False) -> int:
    from simulator.gui.app import make_application

    app = make_application([])  # as the app starts: shared GL contexts
    from simulator.core.library import get_surface
    from simulator.gui.session import Session
    from simulator.gui.views.surface3d import GLWindow, Surface3DView

    if window:
        from PySide6.QtCore import QStandardPaths

        QStandardPaths.setTestModeEnabled(True)  # the user's settings stay untouched
        from simulator.gui.main_window import MainWindow

        win = MainWindow(restore=False, with_3d=True)
        win.resize(1280, 800)
        win.show()
        session, view = win.session, win.surface3d
        if view is None or not isinstance(view.gl, GLWindow):
            print("the main window's 3-D view is not a native OpenGL window", file=sys.stderr)
            return 4
    else:
        session = Session()
        view = Surface3DView(session)
        view.resize(640, 480)
        view.show()
    session.set_surface(get_surface(surface))
    # a new surface's mesh is built in a later event-loop turn than the click's own
    waited = view.waiting()
    session.flush()
    session.set_frame(session.steps // 2)
    t = time.monotonic()
    # a second at least; a native GL window also until it is on screen, and the mesh
    # until it is built (a loaded machine can take longer for either: CI once did)
    while time.monotonic() - t < 1.0 or (
        ((window and not view.gl.isExposed()) or view.waiting())
        and time.monotonic() - t < 20.0
    ):
        app.processEvents()
        time.sleep(0.01)
    if not waited or view.waiting():
        why = ("it was built in the pick's own turn" if not waited else
               f"still waiting after {time.monotonic() - t:.1f} s for {sorted(view._deferred)}")
        print(f"a new surface's mesh was not built a turn later: {why}", file=sys.stderr)
        return 5
    if drag:
        problem = _check_drag(app, session, view)
        if problem:
            print(problem, file=sys.stderr)
            return 3
    if export:
        # the exporter's own 3-D view, while the window's is on screen (a second context)
        from simulator.gui.frame_renderer import FrameRenderer

        renderer = FrameRenderer(session, view="3d", size=(480, 320), plots=False)
        rgb = renderer.render(session.steps // 2)
        renderer.close()
        from PySide6.QtGui import QImage

        h, w, _ = rgb.shape
        img = QImage(rgb.tobytes(), w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    else:
        img = view.render_image()
    if img.isNull() or not img.save(out):
        print("could not grab the framebuffer", file=sys.stderr)
        return 2
    ctx = view.gl.context()
    fmt = ctx.format() if ctx is not None else None
    print(f"rendered {img.width()}x{img.height()}", fmt.version() if fmt else "no context")
    if window:
        # left to be deleted at exit with the native GL window inside: that once
        # crashed the interpreter's exit (the test sees a non-zero exit code)
        win.close()
        win.deleteLater()
    return 0


if __name__ == "__main__":
    flags = ("--export", "--drag", "--window")
    args = [a for a in sys.argv[1:] if a not in flags]
    sys.exit(main(*args, **{f[2:]: f in sys.argv for f in flags}))
