"""Write README screenshots of the real app: the 2-D, 3-D and 1-D views.

Usage: python scripts/screenshots.py [OUT_DIR] [--size 1280x800]

Needs an X display for OpenGL: with DISPLAY unset it starts its own Xvfb (``Xvfb`` must
be installed) and stops it afterwards. The main window is captured with Qt's own
``QWidget.grab()`` (the GL views are read back from their framebuffers), so no
external screenshot tool is needed. Writes ``losslab-2d.png``, ``losslab-3d.png`` and
``losslab-1d.png`` (default folder: docs/screenshots).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _settle(app, seconds: float) -> None:
    t = time.monotonic()
    while time.monotonic() - t < seconds:
        app.processEvents()
        time.sleep(0.01)


def shoot(out_dir: Path, size: tuple[int, int]) -> list[Path]:
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(ROOT))
    from simulator.gui.app import qt_application

    # shared GL contexts: the full-size 3-D shot is a second GL view beside the window's
    app = qt_application(["losslab"])
    from simulator.core.library import get_surface
    from simulator.core.optimizers import SGD
    from simulator.gui.main_window import MainWindow

    win = MainWindow()
    win.resize(*size)
    win.show()
    _settle(app, 2.0)
    s = win.session
    s.reset_scene()  # the first-start demo, whatever scene was saved last
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name: str, widget=None) -> None:
        _settle(app, 0.8)
        path = out_dir / name
        shot = (widget or win).grab()
        v3 = win.surface3d
        if widget is None and v3 is not None and v3.isVisible() and v3.gl_pane is not v3.gl:
            # the window's 3-D view is a native OpenGL window, which grab() leaves
            # blank: draw its framebuffer where it sits
            from PySide6.QtCore import QPoint, QRect
            from PySide6.QtGui import QPainter

            pane = v3.gl_pane
            painter = QPainter(shot)
            painter.drawImage(QRect(pane.mapTo(win, QPoint(0, 0)), pane.size()), v3.render_image())
            painter.end()
        shot.save(str(path))
        written.append(path)
        print("wrote", path)

    # 2-D: the default race down Rosenbrock's valley, mid-run
    s.set_frame(s.steps // 3)
    save("losslab-2d.png")
    # 3-D: the same scene in the 3-D view at full size (in the window it shares the
    # width with the map)
    from simulator.gui.views.surface3d import Surface3DView

    v3 = Surface3DView(s)
    v3.setWindowTitle("LossLab 3-D view")
    v3.resize(size[0] * 3 // 4, size[1] * 3 // 4)
    v3.show()
    save("losslab-3d.png", v3)
    v3.close()
    # 1-D: plain gradient descent on a parabola with three learning rates
    s.set_surface(get_surface("parabola"))
    s.flush()
    for i, lr in enumerate((0.2, 0.9, 1.02)):
        if i < len(s.lanes):
            s.update_lane(i, optimizer=SGD(lr=lr), name=f"GD lr={lr}")
    for i in range(len(s.lanes) - 1, 2, -1):
        s.update_lane(i, enabled=False)
    s.flush()
    s.set_frame(8)
    save("losslab-1d.png")
    win.close()
    return written


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    size = (1280, 800)
    if "--size" in args:
        i = args.index("--size")
        size = tuple(int(v) for v in args[i + 1].split("x"))
        del args[i : i + 2]
    out_dir = Path(args[0]) if args else ROOT / "docs" / "screenshots"
    if os.environ.get("DISPLAY") or os.environ.get("LOSSLAB_SHOT_CHILD"):
        shoot(out_dir, size)
        return 0
    if not shutil.which("Xvfb"):
        print("screenshots: no DISPLAY and no Xvfb (apt-get install xvfb)", file=sys.stderr)
        return 2
    num = 90 + os.getpid() % 500
    xvfb = subprocess.Popen(
        ["Xvfb", f":{num}", "-screen", "0", f"{size[0] + 40}x{size[1] + 80}x24"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        # a throw-away settings folder: never read or overwrite the user's last scene
        tmp = tempfile.mkdtemp(prefix="losslab-shots-")
        env = dict(
            os.environ,
            DISPLAY=f":{num}",
            LOSSLAB_SHOT_CHILD="1",
            XDG_CONFIG_HOME=tmp,
            HOME=tmp,
        )
        cmd = [sys.executable, __file__, str(out_dir), "--size", f"{size[0]}x{size[1]}"]
        return subprocess.call(cmd, env=env)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
