"""Start-up benchmark: what a student meets on a new machine (empty caches) and after.

Every figure comes from a fresh process with its own empty numba cache folder
(``NUMBA_CACHE_DIR``) and a fresh ``HOME``, then again with that cache filled (warm):

(a) ``import simulator`` + the first ``simulate`` (Adam on Rosenbrock, 1,000 steps);
    target 3 s cold.
(b) the first ``simulate_batch`` (1,000 starts x 200 steps); target 5 s cold.
(c) the first typed formula run (parse, derivatives, 1,000 SGD steps); target 3 s cold.
(d) the app: launch to the main window shown with the default race computed (offscreen
    Qt), and to the end of the background warm-up (every feature compiled); targets 5 s
    and 30 s cold. 2026-12-07, a shared 2-core machine under load: the warm-up took
    38-48 s (process CPU) before it included the network kernels, 63-66 s after (their
    ~20 s of CPU: training and loss plane after the explorer's maps, the sharpness last).
    The window: 5.15-5.5 s before numba's compiler was held while the window is built
    (``app.open_main_window``; the background compile of the first runs' kernels had
    run beside the construction, taking the GIL); on 2026-12-07 under load average 6.5,
    alternating A/B cold in one run, 12.2-15.4 s before, 6.7-7.6 s after (x0.57).
(e) compile time of each kernel specialisation the app's warm-up compiles for its first
    scene (numba, one by one in a fresh process), and their total CPU. Before the split,
    one kernel for everything: 123 s of CPU on the development machine for the
    trajectory and evaluation kernels (57 s, what a first ``simulate`` paid) and the batch
    kernel (65 s), measured on 2026-12-06 with commit 3e9276f. 2026-12-07, a
    ReduceLROnPlateau made a constant of the kernels (its own ``*_plateau`` kernels):
    the warm-up's trajectory kernels 0.79x their CPU before (alternating, 4 pairs).
(f) the first use of a network (the edge-of-stability lab's 2-8-1 tanh network, 128
    training and 128 test points), cold: ``simulate`` with SGD, then with Adam (400
    steps), its predictions and loss (the decision boundary, accuracies), a 51 x 51 loss
    plane, the sharpness along the run; wall and CPU seconds of each, and the compile CPU
    of every numba function (from numba's compile events: ``incl`` with the functions it
    compiled for itself, ``excl`` without them; the optimizers' update callbacks, numba
    ``cfunc``s, from ``compile_log``). 2026-12-07, same machine, same hour, CPU: before
    the network kernels were regrouped (494523a) 24-26 s (simulate 13-15 s, the second
    optimizer 2.7-3.3 s, predictions and plane 1.7 s, the sharpness 6.5-7 s); with
    ``record_every`` (its run kernel larger) 27-31 s (simulate 19-22 s); after
    (mlp.evaluate, hvp inlined into hvp_many, one training kernel with a cfunc update per
    optimizer) 18.4-19.5 s (simulate 12-13 s, the second optimizer 0.6-0.8 s,
    predictions and plane 1.3-1.8 s, the sharpness 3.8-4.5 s); with the forward and
    backward passes one C callback the kernels share (``mlp._net_pass``), alternating
    with the kernels before: 12.4-13.8 s against 15.4-16.1 s (simulate 8.0-8.7 s against
    10.0-10.5 s, predictions and plane 0.6-0.9 s against 1.2-1.4 s, sharpness 3.1-3.4 s
    against 3.4-3.5 s).

(g) ``losslab open edge-of-stability`` cold, as a student meets a network lab: seconds
    from launch to the window, to the lanes trained, to the loss plane and every lane's
    sharpness drawn (the lab usable), and to the end of the background warm-up (with its
    helper process, as the app runs it); targets 5 s and 30 s (the first-start budget).

By default the package imported here is used with empty caches (what a fresh
``pip install`` meets: pip installs no compiled kernels). ``--fresh-install`` first makes
a new virtual environment in a temporary folder and ``pip install``s this checkout into it
(non-editable, the way a user installs), then measures with that interpreter.

Usage::

    python bench/bench_startup.py [--fresh-install] [--runs N] [--skip-gui] [--network-only]
                                  [--helper-ab] [--network-lab]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIRST_SIMULATE = """
import time; t0 = time.perf_counter()
import simulator as sim
t1 = time.perf_counter()
r = sim.simulate(sim.get_surface("rosenbrock"), sim.Adam(lr=0.05), (-1.5, 2.0), steps=1000)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "status": r.status}))
"""

FIRST_BATCH = """
import time; t0 = time.perf_counter()
import numpy as np
import simulator as sim
starts = np.random.default_rng(0).uniform(-2, 2, (1000, 2))
t1 = time.perf_counter()
b = sim.simulate_batch(sim.get_surface("rosenbrock"), sim.Adam(lr=0.05), starts, steps=200)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "n": len(b.status)}))
"""

FIRST_FORMULA = """
import time; t0 = time.perf_counter()
import simulator as sim
t1 = time.perf_counter()
f = sim.surface_from_expression("x**2 + 10*y**2 + sin(3*x)")
r = sim.simulate(f, sim.SGD(lr=0.01), (1.0, 1.0), steps=1000)
t2 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "status": r.status}))
"""

APP = """
import time; t0 = time.perf_counter()
import os, sys
from PySide6.QtCore import QTimer
from simulator.gui.app import make_application, open_main_window, start_warmup
app = make_application(sys.argv)
win = open_main_window()  # as the app does: numba's compiler held while it is built
app.processEvents()
s = win.session
assert s.results and all(len(tr.positions) > 1 for tr in s.results.values())
t_window = time.perf_counter() - t0
state = {}
start_warmup(win, state)
out = {"window": t_window}
def done():
    import resource
    out["warm"] = time.perf_counter() - t0
    out["warm_cpu"] = time.process_time()
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)  # the helper process, reaped by now
    out["warm_cpu_children"] = ch.ru_utime + ch.ru_stime
    out["warm_cpu_thread"] = state["warmup"].seconds
    app.quit()
state["warmup"].finished.connect(done)
QTimer.singleShot(600_000, app.quit)
app.exec()
print(json.dumps(out))
"""

NETWORK_LAB = """
import time; t0 = time.perf_counter()
import os, sys
from PySide6.QtCore import QTimer
from simulator.gui import lab_dialogs
from simulator.gui.app import make_application, open_main_window, start_warmup_soon
from simulator.core.labs import load_lab
app = make_application(sys.argv)
lab_dialogs.open_on_start(load_lab(os.environ["BENCH_LAB"]))  # as `losslab open` does
win = open_main_window(with_3d=False)
state, out = {}, {}
start_warmup_soon(win, state)
s = win.session
def poll():
    now = time.perf_counter() - t0
    out.setdefault("window", now)
    if s.results and not s.running_in_background:
        out.setdefault("trained", now)
    if getattr(win.landscape, "plane", None) is not None:
        out.setdefault("plane", now)
    if s.results and win.network_plots.lane_count("sharp") == len(s.lanes):
        out.setdefault("sharpness", now)
    w = state.get("warmup")
    if w is not None and w.isFinished():
        out.setdefault("warm", now)
    if all(k in out for k in ("window", "trained", "plane", "sharpness", "warm")):
        app.quit()
timer = QTimer(); timer.timeout.connect(poll); timer.start(50)
QTimer.singleShot(600_000, app.quit)
app.exec()
print(json.dumps(out))
"""

KERNELS = """
import time
from simulator.core.kernels import loops
from simulator.core.prepare import warmup_plan, run_plan
c0 = time.process_time(); t0 = time.perf_counter()
from simulator.core.optimizers import SGD, Adam, RMSprop
from simulator.core.library import get_surface
# the app's first scene: Rosenbrock, lanes GD, Momentum, RMSprop, Adam
lanes = [SGD(lr=1e-3), SGD(lr=1e-3, momentum=0.9), RMSprop(lr=0.01), Adam(lr=0.05)]
failures = run_plan(warmup_plan(get_surface("rosenbrock"), lanes))
print(json.dumps({"log": [dict(e, key=list(e["key"])) for e in loops.compile_log],
                  "wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "failures": failures}))
"""

NETWORK = """
import time
import numba.core.event as ev

class Compiles(ev.Listener):
    # the thread CPU time of every numba compile, with and without what it compiled
    # for itself (a callee's compile nests in its caller's)
    def __init__(self):
        self.stack, self.rows = [], []
    def on_start(self, e):
        self.stack.append([e.data["dispatcher"].py_func.__name__, time.thread_time(), 0.0])
    def on_end(self, e):
        name, c0, inner = self.stack.pop()
        incl = time.thread_time() - c0
        self.rows.append({"fn": name, "incl": incl, "excl": incl - inner,
                          "depth": len(self.stack)})
        if self.stack:
            self.stack[-1][2] += incl

rec = Compiles()
ev.register("numba:compile", rec)
T = lambda: (time.perf_counter(), time.process_time())
stages = []
t = T()
def mark(label):
    global t
    n = T()
    stages.append([label, n[0] - t[0], n[1] - t[1], len(rec.rows)])
    t = T()
import simulator as sim
from simulator.core.kernels import loops
mark("import simulator")
net = sim.network("circles", hidden=(8,), activation="tanh", n_train=128, n_test=128,
                  noise=0.1, seed=0)
with loops.compiled_only():
    run = sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=400)
    mark("simulate SGD")
    run2 = sim.simulate(net, sim.Adam(lr=0.01), start=net.init, steps=400)
    mark("simulate Adam")
    net.decision_grid(run.positions[-1], 101)
    net.accuracy(run.positions[-1], "test")
    net.loss(run.positions[-1])
    mark("predictions, loss")
    sim.loss_plane(net, runs=[run, run2], resolution=51)
    mark("loss plane 51 x 51")
    sim.sharpness(net, run, stride=10)
    mark("sharpness")
print(json.dumps({"stages": stages, "compiles": rec.rows,
                  "callbacks": [[e["kernel"], e["key"], e["cpu"]] for e in loops.compile_log
                                if e["kernel"].startswith("net_")]}))
"""


def _children_cpu() -> float:
    import resource

    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ch.ru_utime + ch.ru_stime


def _run(python: str, code: str, env: dict, timeout: float = 900) -> dict:
    src = "import json\n" + textwrap.dedent(code)
    t0 = time.perf_counter()
    c0 = _children_cpu()
    p = subprocess.run([python, "-c", src], env=env, capture_output=True, text=True,
                       timeout=timeout, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"child failed ({p.returncode}):\n{p.stderr[-3000:]}")
    line = [x for x in p.stdout.splitlines() if x.startswith("{")][-1]
    out = json.loads(line)
    out["process"] = wall
    out["process_cpu"] = _children_cpu() - c0  # the process and every child it reaped
    return out


def _env(cache: str, home: str, **extra) -> dict:
    env = dict(os.environ)
    env.update(NUMBA_CACHE_DIR=cache, HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
               XDG_CONFIG_HOME=os.path.join(home, ".config"), QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def _fresh_install(tmp: str) -> str:
    venv = os.path.join(tmp, "venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    t0 = time.perf_counter()
    subprocess.run([py, "-m", "pip", "install", "-q", str(ROOT)], check=True)
    print(f"fresh install: pip install . took {time.perf_counter() - t0:.0f} s ({venv})")
    return py


def _fmt(xs: list[float]) -> str:
    if len(xs) == 1:
        return f"{xs[0]:.2f} s"
    return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh-install", action="store_true",
                    help="pip install this checkout into a new temporary venv first")
    ap.add_argument("--runs", type=int, default=3, help="cold runs of each figure")
    ap.add_argument("--skip-gui", action="store_true", help="no app figures")
    ap.add_argument("--network-only", action="store_true", help="only (f)")
    ap.add_argument("--network-lab", action="store_true",
                    help="only (g): a network lab opened at launch, cold")
    ap.add_argument("--helper-ab", action="store_true",
                    help="only (d), cold, alternating one-process warm-ups "
                         "(LOSSLAB_WARMUP_HELPER=0) with helper-process ones")
    args = ap.parse_args()
    if args.helper_ab:
        with tempfile.TemporaryDirectory(prefix="losslab-startup-") as tmp:
            _helper_ab(sys.executable, tmp, args.runs)
        return 0
    if args.network_lab:
        with tempfile.TemporaryDirectory(prefix="losslab-startup-") as tmp:
            _network_lab(sys.executable, tmp, args.runs)
        return 0
    if args.network_only:
        with tempfile.TemporaryDirectory(prefix="losslab-startup-") as tmp:
            _network(sys.executable, tmp)
        return 0

    with tempfile.TemporaryDirectory(prefix="losslab-startup-") as tmp:
        python = _fresh_install(tmp) if args.fresh_install else sys.executable
        print(f"python: {python}; {os.cpu_count()} cores; each run a new process")
        cases = [("(a) import + first simulate", FIRST_SIMULATE, 3.0),
                 ("(b) first simulate_batch 1000 x 200", FIRST_BATCH, 5.0),
                 ("(c) first typed formula run", FIRST_FORMULA, 3.0)]
        if not args.skip_gui:
            cases.append(("(d) app: main window with the race", APP, 5.0))
        for label, code, target in cases:
            cold, warm, extra, extra_cpu = [], [], [], []
            for _ in range(args.runs):
                cache = tempfile.mkdtemp(dir=tmp, prefix="numba-")
                home = tempfile.mkdtemp(dir=tmp, prefix="home-")
                env = _env(cache, home)
                c = _run(python, code, env)
                w = _run(python, code, env)  # the same caches, now filled
                key = "window" if "window" in c else None
                cold.append(c[key] if key else c["import"] + c["first"])
                warm.append(w[key] if key else w["import"] + w["first"])
                if key:
                    extra.append(c["warm"])
                    extra_cpu.append(c["warm_cpu"])
            print(f"{label}: cold {_fmt(cold)} (target {target:g} s); warm {_fmt(warm)}")
            if extra:
                print(f"    app: launch to the end of the background warm-up (every "
                      f"feature compiled), cold: {_fmt(extra)} (target 30 s); process CPU "
                      f"{_fmt(extra_cpu)}")

        cache = tempfile.mkdtemp(dir=tmp, prefix="numba-")
        home = tempfile.mkdtemp(dir=tmp, prefix="home-")
        k = _run(python, KERNELS, _env(cache, home))
        print(f"(e) the app's warm-up compiled {len(k['log'])} kernels in "
              f"{k['wall']:.1f} s wall, {k['cpu']:.1f} s CPU (one kernel for everything "
              "took 123 s of CPU here before the split):")
        for e in sorted(k["log"], key=lambda e: -e["cpu"]):
            print(f"    {e['kernel']:<16} {str(tuple(e['key'])):<16} {e['seconds']:6.2f} s wall"
                  f" {e['cpu']:6.2f} s CPU")
        if k["failures"]:
            print(f"    failures: {k['failures']}")
        k2 = _run(python, KERNELS, _env(cache, home))
        print(f"    warm (the same plan, loaded from the cache): {k2['wall']:.2f} s")

        _network(python, tmp)
    return 0


def _helper_ab(python: str, tmp: str, runs: int) -> None:
    """(d) cold, A (one process) and B (with the helper process) alternately, each in a
    fresh process with its own empty cache and HOME; ratios B/A of each pair."""
    print(f"python: {python}; {os.cpu_count()} cores; (d) cold, A = one process "
          "(LOSSLAB_WARMUP_HELPER=0), B = with the helper process, alternating")
    rows = {"A": [], "B": []}
    for r in range(runs):
        for name, switch in (("A", "0"), ("B", "1")) if r % 2 == 0 else (("B", "1"), ("A", "0")):
            cache = tempfile.mkdtemp(dir=tmp, prefix="numba-")
            home = tempfile.mkdtemp(dir=tmp, prefix="home-")
            c = _run(python, APP, _env(cache, home, LOSSLAB_WARMUP_HELPER=switch))
            row = (c["window"], c["warm"], c["warm_cpu"] + c["warm_cpu_children"],
                   c["process_cpu"])
            rows[name].append(row)
            print(f"    run {r + 1} {name}: window {row[0]:.1f} s, end of warm-up "
                  f"{row[1]:.1f} s, CPU to then {row[2]:.1f} s (process and helper), "
                  f"whole process CPU {row[3]:.1f} s; load {os.getloadavg()[0]:.1f}",
                  flush=True)
    for k, what in enumerate(("window", "end of warm-up", "CPU to the end of warm-up",
                              "whole process CPU")):
        a = [x[k] for x in rows["A"]]
        b = [x[k] for x in rows["B"]]
        ratios = [y / x for x, y in zip(a, b)]
        print(f"(d) {what}: A {_fmt(a)}; B {_fmt(b)}; B/A per pair "
              f"{', '.join(f'{q:.2f}' for q in ratios)} (median {statistics.median(ratios):.2f})")


def _network_lab(python: str, tmp: str, runs: int, lab: str = "edge-of-stability") -> None:
    """(g): ``losslab open LAB`` (a network lab) cold, as a student meets it: the times
    from launch to the window, to the lanes trained, to the loss plane and to every
    lane's sharpness drawn (the lab fully usable), and to the end of the background
    warm-up (with its helper process, as the app runs it)."""
    print(f"(g) `losslab open {lab}` cold (empty numba cache, fresh HOME), seconds from "
          f"launch; {os.cpu_count()} cores:")
    keys = ("window", "trained", "plane", "sharpness", "warm")
    rows = []
    for r in range(runs):
        cache = tempfile.mkdtemp(dir=tmp, prefix="numba-")
        home = tempfile.mkdtemp(dir=tmp, prefix="home-")
        o = _run(python, NETWORK_LAB, _env(cache, home, BENCH_LAB=lab))
        rows.append(o)
        print(f"    run {r + 1}: " + ", ".join(f"{k} {o[k]:.1f}" for k in keys)
              + f"; process and helper CPU {o['process_cpu']:.1f} s; load "
              f"{os.getloadavg()[0]:.1f}", flush=True)
    print("    " + "; ".join(f"{k} {_fmt([o[k] for o in rows])}" for k in keys)
          + " (targets: the window 5 s, everything usable 30 s)")


def _network(python: str, tmp: str) -> None:
    """(f): a network's first use, cold, then warm."""
    cache = tempfile.mkdtemp(dir=tmp, prefix="numba-")
    home = tempfile.mkdtemp(dir=tmp, prefix="home-")
    n = _run(python, NETWORK, _env(cache, home))
    stages = n["stages"][1:]  # after the import
    print(f"(f) first use of a network, cold: {sum(s[1] for s in stages):.1f} s wall, "
          f"{sum(s[2] for s in stages):.1f} s CPU")
    rows, seen = n["compiles"], n["stages"][0][3]
    for label, wall, cpu, upto in stages:
        print(f"    {label:<20} {wall:6.2f} s wall {cpu:6.2f} s CPU; compiled:")
        for r in rows[seen:upto]:
            print(f"        {'  ' * r['depth']}{r['fn']:<{28 - 2 * r['depth']}} incl "
                  f"{r['incl']:6.2f} s excl {r['excl']:6.2f} s CPU")
        seen = upto
    for name, key, cpu in n.get("callbacks", []):  # net_update keyed on the optimizer id
        print(f"    C callback (cfunc) {name}{tuple(key) or ''}: {cpu:.2f} s CPU")
    w = _run(python, NETWORK, _env(cache, home))
    print(f"    warm (the same steps, loaded from the cache): "
          f"{sum(s[1] for s in w['stages'][1:]):.2f} s wall")


if __name__ == "__main__":
    sys.exit(main())
