"""Render the 3-D view once and save it as a PNG (run by test_gl.py in a subprocess).

Usage: python gl_render.py OUT.png [SURFACE] [--export]

With ``--export`` the PNG is a frame of the exporter's own 3-D view, rendered while the
window's 3-D view is shown (two OpenGL contexts in one process).

Needs a real X display (QT_QPA_PLATFORM=xcb, DISPLAY set): OpenGL does not work on the
offscreen platform the rest of the test suite uses.
"""

from __future__ import annotations

import sys
import time


def main(out: str, surface: str = "rosenbrock", export: bool = False) -> int:
    from simulator.gui.app import make_application

    app = make_application([])  # as the app starts: shared GL contexts
    from simulator.core.surfaces import get_surface
    from simulator.gui.session import Session
    from simulator.gui.views.surface3d import Surface3DView

    session = Session()
    session.set_surface(get_surface(surface))
    session.flush()
    session.set_frame(session.steps // 2)
    view = Surface3DView(session)
    view.resize(640, 480)
    view.show()
    t = time.monotonic()
    while time.monotonic() - t < 1.0:
        app.processEvents()
        time.sleep(0.01)
    if export:
        # the exporter's own 3-D view, while the window's is on screen (a second context)
        from simulator.export.render import FrameRenderer

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
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--export"]
    sys.exit(main(*args, export="--export" in sys.argv))
