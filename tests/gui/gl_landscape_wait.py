"""The network's 3-D mesh says what is being computed, then shows the plane (run by
test_gl.py in a subprocess on an X display: OpenGL does not work offscreen).

Usage: python gl_landscape_wait.py BEFORE.png AFTER.png

Opens a LandscapeView with its 3-D mesh (the window's non-native pane) on a small
network whose lane runs are held: the mesh must show the placeholder's text over the
GL pane (light text pixels where the label is), then, runs released, the mesh without
it. Exit codes: 0 right, 3 no message while training, 4 the message did not go, 5 no
plane.
"""

from __future__ import annotations

import sys
import threading
import time


def main(before: str, after: str) -> int:
    import numpy as np

    from simulator.gui.app import make_application

    app = make_application([])
    from simulator.core import engine
    from simulator.core.network import Network
    from simulator.gui.session import Session
    from simulator.gui.views.landscape import LandscapeView

    gate = threading.Event()
    real = engine.simulate

    def held(surface, *a, **kw):
        if isinstance(surface, Network):
            gate.wait(60)
        return real(surface, *a, **kw)

    engine.simulate = held

    def settle(seconds, until=lambda: False):
        t = time.monotonic()
        while time.monotonic() - t < seconds and not until():
            app.processEvents()
            time.sleep(0.01)

    def light_pixels(img, rect) -> int:
        from PySide6.QtGui import QImage

        img = img.convertToFormat(QImage.Format.Format_RGB32)
        a = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.sizeInBytes())
        a = a.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width(), :3]
        r = rect.intersected(img.rect())
        part = a[r.top(): r.bottom() + 1, r.left(): r.right() + 1]
        return int(np.all(part > 200, axis=-1).sum())

    session = Session()
    view = LandscapeView(session, with_3d=True, native=False)
    view.resize(1000, 500)
    view.show()
    session.set_surface(Network("moons", hidden=(8,), n_train=64, n_test=64, seed=1))
    mesh = view.mesh3d
    settle(2.0, lambda: bool(mesh.placeholder.showing))
    settle(0.5)
    text = mesh.placeholder.showing
    img = mesh.grab().toImage()
    img.save(before)
    lit = light_pixels(img, mesh.placeholder.geometry())
    print(f"while training: {text!r}, {lit} light pixels under the label")
    if "Training the lanes" not in text or lit < 50:
        return 3
    gate.set()
    settle(120.0, lambda: view.plane is not None)
    if view.plane is None:
        return 5
    settle(1.0)
    img = mesh.grab().toImage()
    img.save(after)
    if mesh.placeholder.showing or not mesh.mesh.visible():
        print(f"after the plane: {mesh.placeholder.showing!r}", file=sys.stderr)
        return 4
    print("plane shown, message gone")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
