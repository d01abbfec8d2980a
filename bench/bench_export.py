"""Export benchmark: throughput of a 960x540 2-D animation and peak memory over 300 frames.

Run: ``python bench/bench_export.py`` (no display needed: Qt runs offscreen). Prints, for
MP4 and GIF, the frames per second of the whole pipeline (set the frame, redraw the real
views offscreen, grab, encode) and the peak traced Python memory and the process's peak
RSS while streaming 100 and 300 frames: streaming keeps them flat in the frame count.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import tracemalloc

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# warm-path figures: every call runs its compiled kernel (no interim interpreted runs)
os.environ.setdefault("LOSSLAB_INTERIM", "0")


def main() -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from simulator.core.labs import builtin_lab
    from simulator.export.render import render_animation
    from simulator.gui import palette
    from simulator.gui.frame_renderer import FrameRenderer

    palette.apply_scheme("light")
    lab = builtin_lab("race")
    renderer = FrameRenderer(lab.scene(), "2d", (960, 540), title=lab.title,
                             log_scale=True)
    renderer.render(0)  # warm up caches
    print("LossLab export benchmark: lab 'race' (4 lanes, 1000 steps), 2-D view + plots, "
          "960x540")
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        for i in range(30):
            renderer.render(i * 30)
        dt = time.perf_counter() - t
        print(f"  render only (set frame, redraw, grab): {30 / dt:6.1f} frames/s")
        for ext in ("mp4", "gif"):
            path = os.path.join(d, f"race.{ext}")
            t = time.perf_counter()
            render_animation(renderer, path, 120, 30)
            dt = time.perf_counter() - t
            size = os.path.getsize(path)
            print(f"  {ext}: 120 frames in {dt:5.2f} s = {120 / dt:6.1f} frames/s "
                  f"({size / 1e6:.2f} MB)")
        for ext in ("mp4", "gif"):
            for n in (100, 300):
                path = os.path.join(d, f"mem.{ext}")
                tracemalloc.start()
                render_animation(renderer, path, n, 30)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(f"  {ext}: {n:3d} frames: peak traced Python memory "
                      f"{peak / 1e6:6.1f} MB, process peak RSS so far {rss:6.0f} MB")
    renderer.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
