"""GUI benchmark: a learning-rate slider dragged on a network scene.

The app window (offscreen) on a network scene (moons 2-16-1 tanh, 256 training and 256
test points, four lanes of 2,000 steps; one lane with minibatches of 8), its first lane's
learning-rate slider dragged over ``--ticks`` ticks, one every ``--every`` ms as a hand
moves it. Measured: the longest and the mean event-loop turn during the drag (a
heartbeat timer every 5 ms, the gaps between its ticks: what a user feels as a stuck
slider), and the time from the release to the runs of the last value on screen. Twice
per round, alternating: with the lane re-run in the background (the app) and on the GUI
thread (``Session.background = False``, as before), so the comparison is a ratio from the
same moments of a shared machine.

Usage::

    python bench/bench_network_gui.py [--rounds 3] [--ticks 20] [--every 30]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOSSLAB_INTERIM", "0")


def _scene():
    import simulator as sim

    net = sim.network("moons", hidden=(16,), n_train=256, n_test=256, seed=0)
    sc = sim.Scene(net, steps=2000, seed=0)
    sc.add_preset("Adam")
    sc.add_preset("GD")
    sc.add_lane(sim.SGD(lr=0.5), name="SGD batch 8", batch_size=8)
    sc.add_lane(sim.RMSprop(lr=0.01), name="RMSprop")
    return sc


def _drag(app, win, background: bool, ticks: int, every_ms: int) -> dict:
    from PySide6.QtCore import QTimer

    s = win.session
    s.background = background
    s.load_scene(_scene())
    s.select_lane(0)
    ed = win.lanes_panel.editor
    ed.show_lane(s.current_lane)
    slider = ed._hp_fields["lr"].slider
    while s.pending:  # the scene's first runs (made in the background too)
        app.processEvents()
        time.sleep(0.001)
    for _ in range(20):
        app.processEvents()
    gaps = []
    last = [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    hb = QTimer()
    hb.timeout.connect(beat)
    hb.start(5)
    slider.setSliderDown(True)
    v0 = slider.value()
    for k in range(ticks):
        slider.setValue(v0 - 5 * (k + 1))
        end = time.perf_counter() + every_ms / 1000
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.001)
    slider.setSliderDown(False)
    drag = list(gaps)
    t0 = time.perf_counter()
    while s.pending:
        app.processEvents()
        time.sleep(0.001)
    settle = time.perf_counter() - t0
    hb.stop()
    lr = s.lanes[0].optimizer.lr
    assert s.results[s.lanes[0].uid].optimizer.lr == lr
    return {"max": max(drag), "mean": statistics.mean(drag), "settle": settle}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ticks", type=int, default=20)
    ap.add_argument("--every", type=int, default=30)
    a = ap.parse_args()
    from simulator.gui.app import make_application
    from simulator.gui.main_window import MainWindow

    app = make_application(["bench"])
    win = MainWindow(with_3d=False)
    win.resize(1280, 800)
    win.show()
    _drag(app, win, True, 3, a.every)  # compile and load everything once
    _drag(app, win, False, 3, a.every)
    res = {True: [], False: []}
    for _ in range(a.rounds):
        for bg in (True, False):
            res[bg].append(_drag(app, win, bg, a.ticks, a.every))
    for bg, label in ((True, "in the background (the app)"), (False, "on the GUI thread")):
        r = res[bg]
        print(f"lane re-run {label}: longest event-loop turn during the drag "
              f"{min(x['max'] for x in r) * 1e3:.0f}-{max(x['max'] for x in r) * 1e3:.0f} ms, "
              f"mean {statistics.median(x['mean'] for x in r) * 1e3:.1f} ms; release to "
              f"the last value's runs {statistics.median(x['settle'] for x in r):.2f} s "
              f"(median of {len(r)})")
    win.animator.pause()


if __name__ == "__main__":
    main()
