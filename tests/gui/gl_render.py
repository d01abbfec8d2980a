"""Render the 3-D view once and save it as a PNG (run by test_gl.py in a subprocess).

Usage: python gl_render.py OUT.png [SURFACE]

Needs a real X display (QT_QPA_PLATFORM=xcb, DISPLAY set): OpenGL does not work on the
offscreen platform the rest of the test suite uses.
"""

from __future__ import annotations

import sys
import time


def main(out: str, surface: str = "rosenbrock") -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
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
    img = view.render_image()
    if img.isNull() or not img.save(out):
        print("could not grab the framebuffer", file=sys.stderr)
        return 2
    ctx = view.gl.context()
    fmt = ctx.format() if ctx is not None else None
    print(f"rendered {img.width()}x{img.height()}", fmt.version() if fmt else "no context")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
