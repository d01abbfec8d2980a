"""Soak benchmark: the app window plays its scene for a long time, with a lane edited
every few seconds, and the process's memory (RSS) is printed over time.

A benchmark, not a test: it prints figures and asserts nothing. Memory should stay flat
after the first minute (caches filled, numba kernels compiled): the summary gives the
RSS after warm-up, at the end, and the slope of a line fitted to the second half.

The edits cycle through what a student does while a scene plays: a learning rate
dragged up into divergence (1e100 included) and back, a lane switched off and on, a lane
duplicated and removed, another surface picked, the number of steps changed, the frame
scrubbed. Playback loops.

Usage::

    python bench/bench_soak.py [--minutes 30] [--edit-every 3] [--report-every 30]
                               [--speed 120] [--3d] [--size 1280x800]
                               [--growth] [--trace] [--trim] [--no-heap-trim]

``--growth`` takes a census of live Python objects (gc) by type, of numba's compiled
specialisations, and of Qt objects by class under the window, at each report and prints
the types that grew most since warm-up: a leak of Python or Qt objects shows here. (The
Qt census wraps every child in Python; PySide keeps the wrappers of text frames that Qt
later replaces on its own, so ``PySide6.QtGui.QTextFrame`` grows under ``--growth``
only, by about 1.5 a report.) ``--trace`` starts tracemalloc after
warm-up and prints the allocation sites that grew most between two late snapshots (at
60 % and at the end of the run). ``--trim`` calls glibc's ``malloc_trim(0)`` at the end
and prints the RSS it gave back: memory the allocator held but no object used
(fragmentation, not a leak); then it empties Qt's pixmap cache (the items' device
caches) and prints what that gave back. ``MALLOC_ARENA_MAX=2`` in the environment limits glibc to
two arenas, for comparison. The app trims the heap once a minute
(``simulator/gui/memory.py``), and so does the soak unless ``--no-heap-trim`` is given.

Each new (kernel, optimizer, surface) combination the edits meet is compiled by numba
(or loaded from its disk cache) when first used, on a background thread; each holds its
machine code and numba's records for the rest of the process, a few MB. That memory is
bounded (one per combination) but arrives for many minutes on a cold cache and a busy
machine, so the report counts the specialisations met ("kernels") and the summary fits a
second slope from the last new one on. numba's cache is keyed on the source files' time
stamps: sources changed under a running soak (a merge) make it compile again, so run a
long soak from a copy (``git archive HEAD | tar -x -C /tmp/soak``).

Runs offscreen by default (QT_QPA_PLATFORM=offscreen); ``--3d`` also shows the 3-D view,
which needs a display (``xvfb-run -a python bench/bench_soak.py --3d``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mb() -> float:
    """Resident set size of this process, in MB (from /proc; 0 where there is none)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # peak, not now
    except (ImportError, OSError):
        return 0.0


def type_census() -> dict[str, int]:
    """Live objects tracked by the garbage collector, counted by type name, and the
    numba kernels' compiled specialisations (one per argument type signature)."""
    import gc
    from collections import Counter

    gc.collect()
    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - numba is a dependency
        Dispatcher = ()  # noqa: N806
    c = Counter()
    for o in gc.get_objects():
        t = type(o)
        c[f"{t.__module__}.{t.__qualname__}"] += 1
        if isinstance(o, Dispatcher):  # compiled specialisations, one per type signature
            c["numba specialisations (all kernels)"] += len(o.overloads)
    return dict(c)


def qt_census(root) -> dict[str, int]:
    """Qt objects under ``root`` (the window) and top-level widgets, counted by class."""
    from collections import Counter

    from PySide6.QtCore import QObject
    from PySide6.QtWidgets import QApplication

    c = Counter()
    for o in [root, *root.findChildren(QObject)]:
        c["Qt:" + o.metaObject().className()] += 1
    c["Qt:<top-level widgets>"] = len(QApplication.topLevelWidgets())
    return dict(c)


def print_growers(before: dict[str, int], after: dict[str, int], top: int = 15,
                  title: str = "") -> list[tuple[str, int, int]]:
    """Print the ``top`` keys whose counts grew most from ``before`` to ``after``."""
    grown = sorted(((k, before.get(k, 0), n) for k, n in after.items()
                    if n > before.get(k, 0)), key=lambda r: r[1] - r[2])[:top]
    print(f"  {title or 'grew most'}: " + ("none" if not grown else ""), flush=True)
    for k, a, b in grown:
        print(f"    {b - a:+8d}  {a:>8} -> {b:<8}  {k}", flush=True)
    return grown


def _edits(window):
    """An endless cycle of (label, edit) pairs on ``window``'s session."""
    import itertools

    s = window.session
    surfaces = ["himmelblau", "beale", "six-hump-camel", "rastrigin", "rosenbrock"]

    def lr(scale):
        def edit():
            if s.lanes:
                i = edit.n % len(s.lanes)
                edit.n += 1
                base = s.lanes[i].optimizer.lr
                s.update_lane(i, lr=1e100 if scale is None else max(1e-6, base * scale))
        edit.n = 0
        return edit

    def toggle():
        if s.lanes:
            s.update_lane(0, enabled=not s.lanes[0].enabled)

    def duplicate_then_remove():
        if len(s.lanes) < 12:
            s.duplicate_lane(len(s.lanes) - 1)
        else:
            s.remove_lane(len(s.lanes) - 1)

    def remove_extra():
        while len(s.lanes) > 4:
            s.remove_lane(len(s.lanes) - 1)

    def pick():
        from simulator.core.library import get_surface, list_surfaces

        name = surfaces[pick.n % len(surfaces)]
        pick.n += 1
        if name in list_surfaces():
            s.set_surface(get_surface(name))
    pick.n = 0

    def steps():
        s.set_training(steps=1500 if s.steps != 1500 else 1000)

    def scrub():
        s.set_frame(max(0, s.frame // 2))

    def tame():  # after the 1e100 lane: a learning rate that runs again
        if s.lanes:
            s.update_lane(0, lr=1e-3)

    cycle = [("lr x1.5", lr(1.5)), ("lr / 1.5", lr(1 / 1.5)), ("lr 1e100", lr(None)),
             ("lr tame", tame), ("lane off/on", toggle), ("duplicate", duplicate_then_remove),
             ("lr x3", lr(3.0)), ("remove extra", remove_extra), ("scrub", scrub),
             ("steps", steps), ("surface", pick), ("lr / 3", lr(1 / 3.0))]
    return itertools.cycle(cycle)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0,
                    help="how long to play (default 30; 1 or 2 for a quick look)")
    ap.add_argument("--edit-every", type=float, default=3.0, metavar="S",
                    help="seconds between lane edits (default 3)")
    ap.add_argument("--report-every", type=float, default=None, metavar="S",
                    help="seconds between RSS lines (default: 30, or less for short runs)")
    ap.add_argument("--speed", type=float, default=120.0, help="playback steps per second")
    ap.add_argument("--3d", dest="gl", action="store_true", help="also show the 3-D view")
    ap.add_argument("--size", default="1280x800", help="window size WxH")
    ap.add_argument("--growth", action="store_true",
                    help="census of Python objects (gc) and Qt objects by type at each "
                         "report; print the top growers since warm-up")
    ap.add_argument("--trace", action="store_true",
                    help="tracemalloc from warm-up; print the allocation sites that grew "
                         "most between snapshots at 60%% and at the end")
    ap.add_argument("--no-heap-trim", action="store_true",
                    help="leave out the app's once-a-minute malloc_trim (simulator/gui/memory.py) "
                         "to see glibc's free heap pile up")
    ap.add_argument("--trim", action="store_true",
                    help="malloc_trim(0) at the end: print the RSS glibc gives back")
    args = ap.parse_args(argv)
    if not args.gl:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    total_s = max(1.0, args.minutes * 60.0)
    report_s = args.report_every or min(30.0, max(2.0, total_s / 20))

    from PySide6.QtCore import QTimer

    from simulator.gui.app import make_application

    app = make_application(["bench_soak"])
    from simulator.gui.main_window import MainWindow
    from simulator.gui.memory import install_heap_trim, malloc_trim

    win = MainWindow(with_3d=args.gl)
    heap_trim = None if args.no_heap_trim else install_heap_trim(win)  # as the app does
    print(f"heap trim: {'off' if heap_trim is None else 'once a minute, as in the app'}",
          flush=True)
    w, h = (int(v) for v in args.size.lower().split("x"))
    win.resize(w, h)
    win.show()
    win.session.flush()
    an = win.animator
    an.set_loop(True)
    an.set_speed(args.speed)
    an.play()

    edits = _edits(win)
    counts = {"edits": 0, "frames": 0, "errors": 0}
    last_frame = [win.session.frame]
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()
    warm_s = min(60.0, total_s / 4)
    from simulator.core.kernels import loops

    kernels = {"n": len(loops.compile_log), "last_t": 0.0}  # specialisations met so far
    census = {"warm": None, "last": None}
    traced = {"started": False, "late": None}

    def on_frame(f):
        if f != last_frame[0]:
            counts["frames"] += 1
            last_frame[0] = f

    win.session.frame_changed.connect(on_frame)

    def edit():
        label, fn = next(edits)
        try:
            fn()
            counts["edits"] += 1
        except ValueError as e:  # an edit the session refuses (as a user would see)
            counts["errors"] += 1
            print(f"  refused: {label}: {e}", flush=True)
        if not an.playing:
            an.play()

    def report():
        t = time.monotonic() - t0
        r = rss_mb()
        n_kernels = len(loops.compile_log)
        if n_kernels != kernels["n"]:
            kernels["n"], kernels["last_t"] = n_kernels, t
        samples.append((t, r))
        base = next((v for tt, v in samples if tt >= min(60.0, total_s / 4)), samples[0][1])
        print(f"{t / 60:7.2f} min   RSS {r:8.1f} MB   ({r - base:+7.1f} MB since warm-up)   "
              f"frames {counts['frames']:>8}   edits {counts['edits']:>5}   "
              f"kernels {n_kernels:>3}", flush=True)
        if args.growth and t >= warm_s:
            now = {**type_census(), **qt_census(win)}
            if census["warm"] is None:
                census["warm"] = now
            else:
                print_growers(census["last"], now, top=8, title="since last report")
            census["last"] = now
        if args.trace:
            import tracemalloc

            if not traced["started"] and t >= warm_s:
                tracemalloc.start(12)
                traced["started"] = True
            elif traced["started"] and traced["late"] is None and t >= 0.6 * total_s:
                traced["late"] = (t, tracemalloc.take_snapshot())
        if t >= total_s:
            app.quit()

    print(f"soak: {args.minutes:g} min of playback at {args.speed:g} steps/s, a lane edit "
          f"every {args.edit_every:g} s, RSS every {report_s:g} s "
          f"({os.environ.get('QT_QPA_PLATFORM', 'default')} platform"
          f"{', 3-D view' if args.gl else ''})", flush=True)
    report()
    t_edit = QTimer()
    t_edit.timeout.connect(edit)
    t_edit.start(int(args.edit_every * 1000))
    t_report = QTimer()
    t_report.timeout.connect(report)
    t_report.start(int(report_s * 1000))
    app.exec()
    t_edit.stop()
    t_report.stop()
    an.pause()

    import numpy as np

    ts = np.array([t for t, _ in samples])
    rs = np.array([r for _, r in samples])
    warm = rs[ts >= min(60.0, total_s / 4)]
    half = ts >= ts[-1] / 2
    slope = np.polyfit(ts[half] / 60.0, rs[half], 1)[0] if half.sum() >= 2 else float("nan")
    print()
    print(f"frames played      {counts['frames']}")
    print(f"lane edits         {counts['edits']} ({counts['errors']} refused)")
    print(f"RSS after warm-up  {warm[0] if warm.size else rs[0]:.1f} MB")
    print(f"RSS at the end     {rs[-1]:.1f} MB   (peak {rs.max():.1f} MB)")
    print(f"slope, 2nd half    {slope:+.2f} MB/min")
    compiled = sum(1 for e in loops.compile_log if not e.get("cached"))
    print(f"kernels            {len(loops.compile_log)} specialisations met "
          f"({compiled} compiled, the rest loaded from the disk cache); the last at "
          f"{kernels['last_t'] / 60:.1f} min")
    steady = ts > kernels["last_t"]
    if steady.sum() >= 4 and ts[steady][-1] - ts[steady][0] >= 300:
        fit = np.polyfit(ts[steady] / 60.0, rs[steady], 1)[0]
        print(f"slope, after it    {fit:+.2f} MB/min   (RSS {rs[steady].min():.1f}-"
              f"{rs[steady].max():.1f} MB from {ts[steady][0] / 60:.1f} min on)")
    else:
        print("slope, after it    - (under 5 min of samples after the last kernel)")
    if args.growth and census["warm"] is not None:
        print()
        print_growers(census["warm"], census["last"], top=25,
                      title="objects grown most from warm-up to the end (Python gc + Qt)")
    if args.trace and traced["late"] is not None:
        import tracemalloc

        t_late, snap = traced["late"]
        end = tracemalloc.take_snapshot()
        filt = [tracemalloc.Filter(False, tracemalloc.__file__),
                tracemalloc.Filter(False, __file__),
                tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
        diff = end.filter_traces(filt).compare_to(snap.filter_traces(filt), "traceback")
        diff = sorted((st for st in diff if st.size_diff > 0), key=lambda st: -st.size_diff)
        traced_now, traced_peak = tracemalloc.get_traced_memory()
        print()
        print(f"tracemalloc: Python allocations {traced_now / 2**20:.1f} MB now; "
              f"top growth from {t_late / 60:.1f} min to the end:")
        for st in diff[:12]:
            print(f"  {st.size_diff / 1024:+9.1f} KiB  {st.count_diff:+7d} blocks")
            for line in st.traceback.format(limit=6, most_recent_first=True):
                print("      " + line.strip())
        tracemalloc.stop()
    if args.trim:
        import gc

        from PySide6.QtGui import QPixmapCache

        gc.collect()
        before = rss_mb()
        ok = malloc_trim()
        after = rss_mb()
        print()
        print(f"malloc_trim(0)     RSS {before:.1f} -> {after:.1f} MB "
              f"({before - after:.1f} MB free heap given back{'' if ok else '; none'})")
        QPixmapCache.clear()
        malloc_trim()
        cleared = rss_mb()
        print(f"QPixmapCache.clear RSS {after:.1f} -> {cleared:.1f} MB "
              f"({after - cleared:.1f} MB of cached item pixmaps; limit "
              f"{QPixmapCache.cacheLimit() / 1024:.0f} MB)")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
