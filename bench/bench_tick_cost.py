"""Instructions per learning-rate slider tick, for A/B comparisons on a loaded machine.

``bench_gui.py`` times a slider tick in milliseconds; on a machine shared with other
work its figures move by tens of percent from run to run, so two versions can only be
compared by alternating runs. This script counts the tick's work instead: run under
callgrind with the instrumentation off at the start, it turns it on for the measured
ticks only (``callgrind_control -i on``), so callgrind's "Collected" figure at exit is
the instructions of those ticks (main thread and Qt's worker threads), the same on a
busy machine as on an idle one::

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/tick.out \\
        .venv/bin/python bench/bench_tick_cost.py [--mode window|views] [--ticks 20]

then divide "Collected" by the ticks, or ``callgrind_annotate /tmp/tick.out`` to see
where they go (a few minutes on a loaded 2-core machine). Without valgrind it just times
the ticks. To compare two versions, copy this file into both trees (it uses only what
the app had before issue 19) and run each under callgrind.

Scenes, as in ``bench_gui.py``: 8 lanes x 2000 steps on Rosenbrock; ``window``: the app
window 1280x800 with the training panel in front and its learning-rate slider held down
(each tick two slider steps, as a hand drags it); ``views``: the 2-D map, the plots and
the diagnostics panel alone, at a frame in the middle of the run, the rate set as the
slider does during a drag.

Timers: under valgrind the program runs a few hundred times slower, so a settle timer
(the legend's 200 ms, the contour's 150 ms) would fire inside every tick, which it does
not in the app (a drag's ticks come every few milliseconds). ``--timer-scale`` (default
300 under valgrind) multiplies every QTimer interval above 0 to keep timers where they
fall in real time; it is 1 when the script does not run under valgrind.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LOSSLAB_INTERIM", "0")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _scale_timers(k: float) -> None:
    """Multiply the interval of every QTimer started from Python by ``k`` (0 stays 0)."""
    from PySide6.QtCore import QTimer

    start, set_interval, single = QTimer.start, QTimer.setInterval, QTimer.singleShot

    def scaled(ms):
        return int(ms * k) if isinstance(ms, int) and ms > 0 else ms

    def _start(self, *a):
        return start(self, scaled(a[0]), *a[1:]) if a else start(self)

    def _set_interval(self, ms):
        return set_interval(self, scaled(ms))

    def _single(ms, *a):
        return single(scaled(ms), *a)

    QTimer.start = _start
    QTimer.setInterval = _set_interval
    QTimer.singleShot = staticmethod(_single)


def _collected(fn, under_valgrind: bool) -> None:
    """Run ``fn`` with callgrind's instrumentation on (``callgrind_control -i on``, the
    program having started with ``--instr-atstart=no``), so that the "Collected" figure
    callgrind prints at exit is ``fn``'s instructions (plus about a million of
    ``subprocess``'s own, the same in every version)."""
    if not under_valgrind:
        fn()
        return
    import subprocess

    def ctl(*a):
        subprocess.run(["callgrind_control", *a, str(os.getpid())], check=True,
                       stdout=subprocess.DEVNULL)

    ctl("-i", "on")
    try:
        fn()
    finally:
        ctl("-i", "off")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=("window", "views"), default="window")
    ap.add_argument("--ticks", type=int, default=20)
    ap.add_argument("--warm", type=int, default=10, help="ticks before the measured ones")
    under_valgrind = "vgpreload" in os.environ.get("LD_PRELOAD", "")
    ap.add_argument("--timer-scale", type=float, default=300.0 if under_valgrind else 1.0,
                    help="multiply QTimer intervals (default 300 under valgrind, else 1)")
    args = ap.parse_args(argv)

    from PySide6.QtCore import QStandardPaths

    QStandardPaths.setTestModeEnabled(True)  # the user's settings stay untouched
    if args.timer_scale != 1.0:
        _scale_timers(args.timer_scale)
    from simulator.gui.app import make_application
    from simulator.gui.session import PRESETS

    app = make_application(["bench_tick_cost"])
    names = [n for n in PRESETS if n != "Newton"]
    keep = []
    if args.mode == "window":
        from simulator.gui.main_window import MainWindow

        win = MainWindow(restore=False, with_3d=False)
        win.resize(1280, 800)
        win.show()
        keep.append(win)
        s = win.session
        s.set_training(steps=2000)
        while len(s.lanes) < 8:
            s.add_preset(names[len(s.lanes) % len(names)])
        s.flush()
        s.select_lane(0)
        win.go_to_panel(win.dock_training)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        slider = win.training_panel.lr_field.slider
        slider.setSliderDown(True)  # a hand on it: the drag state
        v0 = slider.value()

        def change(i):
            slider.setValue(v0 + 2 * i)
    else:
        from simulator.gui.panels import DRAG
        from simulator.gui.panels.diagnostics_panel import DiagnosticsPanel
        from simulator.gui.session import Session
        from simulator.gui.views import ContourView, PlotsPanel

        s = Session()
        s.set_training(steps=2000)
        while len(s.lanes) < 8:
            s.add_preset(names[len(s.lanes) % len(names)])
        s.flush()
        contour, plots, diag = ContourView(s), PlotsPanel(s), DiagnosticsPanel(s)
        contour.resize(1000, 700)
        plots.resize(1000, 260)
        diag.resize(420, 800)
        for w in (contour, plots, diag):
            w.show()
            keep.append(w)
        app.processEvents()
        s.set_frame(1043)  # where bench_gui's frame test leaves it
        base = s.lanes[0].optimizer.lr
        DRAG.set(True)
        total = args.warm + args.ticks

        def change(i):
            s.update_lane(0, lr=base * (1.0 + 0.5 * (i + 1) / total))

    def turn():
        while s._timer.isActive():
            app.processEvents()
        app.processEvents()

    for i in range(args.warm):
        change(i)
        turn()
    ms = []

    def ticks():
        for i in range(args.warm, args.warm + args.ticks):
            t0 = time.perf_counter()
            change(i)
            turn()
            ms.append((time.perf_counter() - t0) * 1e3)

    _collected(ticks, under_valgrind)
    ms.sort()
    print(f"{args.mode}: {args.ticks} ticks measured (callgrind 'Collected' / {args.ticks} = "
          f"instructions per tick); wall median {ms[len(ms) // 2]:.2f} ms, "
          f"max {ms[-1]:.2f} ms, timer scale {args.timer_scale:g}")
    for w in keep:
        w.close()
    os._exit(0)  # the views' teardown is not what is measured


if __name__ == "__main__":
    sys.exit(main())
