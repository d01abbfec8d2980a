"""Core benchmark: trajectory speed (vs torch.optim), batch speed (vs numpy), warm start,
compiled signatures, memory. Prints figures; asserts nothing about speed.

(a) one trajectory, Adam on Rosenbrock, 10^6 steps: steps/s (best of 5); and, when torch
    is available, torch.optim.Adam on the same problem (float64, 20,000 steps, per-step
    time extrapolated) and the ratio. Targets: 20 M steps/s, >= 2000x torch.
(b) simulate_batch, 100,000 starts x 200 Adam steps on Rosenbrock, against a vectorised
    numpy implementation of the same update timed in the same run: particle-steps/s, the
    ratio (target >= 20x) and the largest difference of the final points (must be < 1e-7).
(c) warm start in a fresh interpreter: ``import simulator`` + the first ``simulate`` with
    the numba cache present (target < 1 s); the number of compiled kernel signatures after
    a typical session (dispatcher signatures and cache files).
(d) memory: a 10^6-step trajectory (result arrays' bytes, tracemalloc peak, peak RSS
    growth; target < 64 MB) and simulate_batch at 200 vs 2,000 steps (must not grow).
(e) compile budget of the issue-19 optimizers and schedules: the cold first
    ``simulate`` on Rosenbrock (fresh process, empty ``NUMBA_CACHE_DIR``) of Adam (for
    reference), Rprop, ASGD and L-BFGS (its own kernel; strong-Wolfe is the same kernel),
    wall and CPU seconds of the trajectory kernel's compile; then, warm, the cost of
    ``ReduceLROnPlateau`` (one kernel run per cut) and of ``optimizer_state`` (a replay of
    the run, then a lookup per frame).

Usage::

    python bench/bench_core.py [--quick] [--torch-python /path/to/python]

torch is not a LossLab dependency. Without ``--torch-python`` (or the environment variable
``LOSSLAB_TORCH_PYTHON``) the benchmark tries ``import torch`` here and otherwise says the
ratio was not measured. A separate interpreter with torch works, e.g.::

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch numpy
    python bench/bench_core.py --torch-python /tmp/torchenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

# warm-path figures: every call runs its compiled kernel (no interim interpreted runs)
os.environ.setdefault("LOSSLAB_INTERIM", "0")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROSEN_START = (-1.5, 2.0)
LR = 1e-3

# ---- torch timing: runs inside whichever interpreter has torch -------------------------------
TORCH_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import torch

    steps, reps = int(sys.argv[1]), int(sys.argv[2])
    torch.set_default_dtype(torch.float64)

    def run(n):
        p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=1e-3)
        t0 = time.perf_counter()
        for _ in range(n):
            opt.zero_grad()
            x, y = p[0], p[1]
            loss = (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2
            loss.backward()
            opt.step()
        return time.perf_counter() - t0, p.detach().tolist()

    run(500)  # warm up
    best, pos = min(run(steps) for _ in range(reps))
    print(json.dumps({"seconds": best, "steps": steps, "final": pos,
                      "version": torch.__version__, "threads": torch.get_num_threads()}))
    """
)


def time_torch(torch_python: str | None, steps: int, reps: int) -> dict | None:
    """Time torch.optim.Adam in ``torch_python`` (or here if torch imports); None if absent."""
    if torch_python is None:
        try:
            import torch  # noqa: F401
        except ImportError:
            return None
        torch_python = sys.executable
    r = subprocess.run([torch_python, "-c", TORCH_SCRIPT, str(steps), str(reps)],
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        print(f"   torch run failed in {torch_python}:\n{r.stderr.strip()[-2000:]}")
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---- (a) one trajectory ------------------------------------------------------------------------
def bench_trajectory(args) -> None:
    import numpy as np

    import simulator as sim

    print("(a) one trajectory: Adam(lr=1e-3) on Rosenbrock")
    s = sim.get_surface("rosenbrock")
    opt = sim.Adam(lr=LR)
    steps = 10**6
    sim.simulate(s, opt, start=ROSEN_START, steps=1000)  # compile / load the cache
    times = []
    for _ in range(2 if args.quick else 5):
        t0 = time.perf_counter()
        run = sim.simulate(s, opt, start=ROSEN_START, steps=steps)
        times.append(time.perf_counter() - t0)
    best = min(times)
    rate = steps / best
    print(f"   simulate, {steps:,} steps: best {best * 1e3:.1f} ms "
          f"(median {np.median(times) * 1e3:.1f} ms) -> {rate / 1e6:.1f} M steps/s "
          f"(target >= 20 M steps/s)  [status {run.status}]")
    # the kernel alone, without the result arrays' allocation and classification
    from simulator.core.engine import kernel_hp
    from simulator.core.kernels.loops import run_trajectory

    pos = np.empty((steps + 1, 2))
    loss = np.empty(steps + 1)
    grad = np.empty((steps + 1, 2))
    lrs = np.full(steps, LR)
    hp = kernel_hp(opt)
    kt = []
    for _ in range(2 if args.quick else 5):
        t0 = time.perf_counter()
        run_trajectory(s.spec, opt.oid, hp, lrs, ROSEN_START[0], ROSEN_START[1], steps, 0.0, 0,
                       0, 0.0, 0, s.nreg, pos, loss, grad)
        kt.append(time.perf_counter() - t0)
    print(f"   kernel only (run_trajectory): {steps / min(kt) / 1e6:.1f} M steps/s")

    tsteps = 5000 if args.quick else 20000
    tr = time_torch(args.torch_python, tsteps, 2 if args.quick else 3)
    if tr is None:
        print("   torch not installed: ratio not measured "
              "(pass --torch-python /path/to/python-with-torch)")
        return
    per_step = tr["seconds"] / tr["steps"]
    torch_rate = 1.0 / per_step
    print(f"   torch {tr['version']} ({tr['threads']} threads) torch.optim.Adam float64, "
          f"{tr['steps']:,} steps: {per_step * 1e6:.1f} us/step -> {torch_rate:,.0f} steps/s"
          f" (10^6 steps extrapolated: {per_step * steps:.1f} s)")
    print(f"   ratio simulate / torch: {rate / torch_rate:,.0f}x (target >= 2000x)")
    ours = sim.simulate(s, opt, start=ROSEN_START, steps=tr["steps"]).positions[-1]
    diff = float(np.max(np.abs(ours - np.array(tr["final"]))))
    print(f"   same run, |ours - torch| after {tr['steps']:,} steps: {diff:.2e}")


# ---- (b) batch vs numpy ---------------------------------------------------------------
def numpy_adam_rosenbrock(starts, steps, lr=LR, b1=0.9, b2=0.999, eps=1e-8, a=1.0, b=100.0):
    """Vectorised numpy Adam on Rosenbrock (in-place ops, preallocated buffers)."""
    import numpy as np

    P = starts.T.copy()  # (2, n)
    x, y = P[0], P[1]
    m = np.zeros_like(P)
    v = np.zeros_like(P)
    g = np.empty_like(P)
    u = np.empty_like(x)
    t_ = np.empty_like(x)
    d = np.empty_like(P)
    for t in range(1, steps + 1):
        np.subtract(a, x, out=u)
        np.multiply(x, x, out=t_)
        np.subtract(y, t_, out=t_)
        np.multiply(x, t_, out=g[0])
        g[0] *= -4.0 * b
        g[0] -= 2.0 * u
        np.multiply(t_, 2.0 * b, out=g[1])
        m *= b1
        m += (1 - b1) * g
        v *= b2
        np.multiply(g, g, out=d)
        d *= 1 - b2
        v += d
        np.sqrt(v, out=d)
        d /= np.sqrt(1 - b2**t)
        d += eps
        np.divide(m, d, out=d)
        d *= lr / (1 - b1**t)
        P -= d
    return P.T.copy()


def bench_batch(args) -> None:
    import numba
    import numpy as np

    import simulator as sim

    n = 20_000 if args.quick else 100_000
    steps = 200
    print(f"(b) simulate_batch: {n:,} starts x {steps} Adam steps on Rosenbrock "
          f"({numba.get_num_threads()} numba threads, {os.cpu_count()} CPUs)")
    s = sim.get_surface("rosenbrock")
    starts = np.random.default_rng(0).uniform([-2.0, -1.0], [2.0, 3.0], size=(n, 2))
    opt = sim.Adam(lr=LR)
    sim.simulate_batch(s, opt, starts[:10], 5)  # compile / load the cache
    times = []
    for _ in range(2 if args.quick else 5):
        t0 = time.perf_counter()
        res = sim.simulate_batch(s, opt, starts, steps)
        times.append(time.perf_counter() - t0)
    ours = min(times)
    nt = []
    for _ in range(1 if args.quick else 3):
        t0 = time.perf_counter()
        ref = numpy_adam_rosenbrock(starts, steps)
        nt.append(time.perf_counter() - t0)
    npt = min(nt)
    ps = n * steps
    diff = float(np.max(np.abs(res.final_positions - ref)))
    print(f"   simulate_batch: {ours * 1e3:.1f} ms -> {ps / ours / 1e6:,.0f} M particle-steps/s"
          f" (aim 1e9 on 2 cores)")
    print(f"   numpy vectorised: {npt * 1e3:.1f} ms -> {ps / npt / 1e6:,.0f} M particle-steps/s")
    print(f"   ratio: {npt / ours:.1f}x (target >= 20x)")
    verdict = "agree" if diff < 1e-7 else "DISAGREE (must be < 1e-7)"
    print(f"   max |simulate_batch - numpy| of the final points: {diff:.2e} -> {verdict}")


# ---- (c) warm start and compiled signatures -----------------------------------------------------
WARM_SCRIPT = textwrap.dedent(
    """
    import time
    t0 = time.perf_counter()
    import simulator as sim
    t1 = time.perf_counter()
    run = sim.simulate(sim.get_surface("rosenbrock"), sim.Adam(lr=1e-3), start=(-1.5, 2.0),
                       steps=1000)
    t2 = time.perf_counter()
    print(t1 - t0, t2 - t1)
    """
)

SESSION_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import simulator as sim
    from simulator.core.contours import contour_segments
    from simulator.core.kernels import contour, loops
    # a typical session: several surfaces (built-in, 1-D, data, typed), every optimizer,
    # noise, clipping, minibatches, a schedule, a batch, grid evaluation, contour lines
    # and diagnostics
    surfaces = [sim.get_surface(n) for n in ("rosenbrock", "himmelblau", "parabola",
                                             "linear-regression")]
    try:
        surfaces.append(sim.surface_from_expression("x**2 + 10*y**2"))
    except Exception:
        pass
    for s in surfaces:
        start = [0.3] * s.dim
        for cls in sim.OPTIMIZERS.values():
            sim.simulate(s, cls(lr=1e-3), start=start, steps=50, noise=0.1,
                         clip_grad_norm=1.0, schedule=sim.CosineAnnealingLR(T_max=50))
        sim.simulate_batch(s, sim.Adam(), np.full((4, s.dim), 0.3), 20)
        s.value(np.zeros((5, s.dim))); s.hessian(np.zeros((5, s.dim)))
        sim.analyze_point(s, np.full(s.dim, 0.3))
    sim.simulate(surfaces[-1 if surfaces[-1].kind == "data" else 3], sim.SGD(lr=0.1),
                 start=(0, 0), steps=20, batch_size=8)
    (xs, ys), z = surfaces[0].grid(50)
    contour_segments(z, xs, ys, [1.0, 10.0])  # the 2-D map's contour lines
    counts = {}
    for (name, key), k in loops._kernels.items():  # specialised: one per kind of run
        if k.signatures:
            counts[name] = counts.get(name, 0) + 1
    for mod in (loops, contour):
        for name in dir(mod):
            f = getattr(mod, name)
            if hasattr(f, "signatures") and f.signatures:
                counts[name] = len(f.signatures)
    print(json.dumps(counts))
    """
)


def bench_warm_start(args) -> None:
    print("(c) warm start (fresh interpreter, numba cache present)")
    cmd = [sys.executable, "-c", WARM_SCRIPT]
    env = dict(os.environ, LOSSLAB_INTERIM="0")  # the compiled path (see loops)
    subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)  # fill cache
    rows = []
    for _ in range(2 if args.quick else 5):
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        if r.returncode != 0:
            print(f"   failed: {r.stderr.strip()[-1000:]}")
            return
        rows.append(tuple(float(v) for v in r.stdout.split()))
    imp, first = min(rows, key=sum)
    print(f"   import simulator {imp * 1e3:.0f} ms + first simulate {first * 1e3:.0f} ms = "
          f"{(imp + first) * 1e3:.0f} ms (best of {len(rows)}; target < 1000 ms)")
    r = subprocess.run([sys.executable, "-c", SESSION_SCRIPT], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=3600)
    if r.returncode == 0:
        counts = json.loads(r.stdout.strip().splitlines()[-1])
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"   compiled signatures after a typical session: {sum(counts.values())} "
              f"({detail})")
    else:
        print(f"   session script failed: {r.stderr.strip()[-1000:]}")
    cache = ROOT / "simulator" / "core" / "kernels" / "__pycache__"
    nbi = sorted(cache.glob("*.nbi"))
    nbc = sorted(cache.glob("*.nbc"))
    if nbi:
        print(f"   numba cache in {cache.relative_to(ROOT)}: {len(nbi)} index files, "
              f"{len(nbc)} compiled entries (all kernels and helpers, all signatures so far)")


# ---- (d) memory ------------------------------------------------------------------------------
def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def _rss_mark() -> float:
    """Reset the peak-RSS mark (Linux: clear_refs 5) and return the current RSS in MB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    now = _status_mb("VmRSS")
    if now is not None:
        return now
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_peak_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_memory(what: str) -> None:
    """Runs in a fresh interpreter: prints JSON with peak RSS growth and tracemalloc peak."""
    import tracemalloc

    import numpy as np

    import simulator as sim

    s = sim.get_surface("rosenbrock")
    if what == "traj":
        sim.simulate(s, sim.Adam(lr=LR), start=ROSEN_START, steps=10)  # load kernels
        rss0 = _rss_mark()
        tracemalloc.start()
        run = sim.simulate(s, sim.Adam(lr=LR), start=ROSEN_START, steps=10**6)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        seen = {}
        for a in (run.positions, run.losses, run.gradients, run.learning_rates):
            while isinstance(a.base, np.ndarray):
                a = a.base
            seen[id(a)] = a.nbytes
        out = {"rss": _rss_peak_mb() - rss0, "traced": peak / 2**20,
               "arrays": sum(seen.values()) / 2**20}
    else:
        steps = int(what.split(":")[1])
        starts = np.random.default_rng(0).uniform(-1, 1, size=(100_000, 2))
        sim.simulate_batch(s, sim.Adam(lr=LR), starts[:10], 5)  # load kernels
        rss0 = _rss_mark()
        tracemalloc.start()
        sim.simulate_batch(s, sim.Adam(lr=LR), starts, steps)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out = {"rss": _rss_peak_mb() - rss0, "traced": peak / 2**20}
    print(json.dumps(out))


def _child(what: str) -> dict | None:
    r = subprocess.run([sys.executable, __file__, "--child", what], capture_output=True,
                       text=True, cwd=ROOT, timeout=3600)
    if r.returncode != 0:
        print(f"   {what} failed: {r.stderr.strip()[-1000:]}")
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_memory(args) -> None:
    print("(d) memory (fresh interpreters)")
    t = _child("traj")
    if t:
        print(f"   10^6-step trajectory: result arrays {t['arrays']:.1f} MB, tracemalloc peak "
              f"{t['traced']:.1f} MB, peak RSS growth {t['rss']:.1f} MB (target < 64 MB)")
    rows = {k: _child(f"batch:{k}") for k in (200, 2000)}
    if all(rows.values()):
        a, b = rows[200], rows[2000]
        print(f"   simulate_batch 100,000 starts: 200 steps tracemalloc peak {a['traced']:.2f} MB"
              f" / RSS growth {a['rss']:.1f} MB; 2,000 steps {b['traced']:.2f} MB / "
              f"{b['rss']:.1f} MB (growth from steps: {b['traced'] - a['traced']:+.3f} MB, "
              "the per-step learning-rate array)")


COMPILE_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    import simulator as sim
    from simulator.core.kernels import loops
    opt = eval(sys.argv[1], vars(sim))
    sim.simulate(sim.get_surface("rosenbrock"), opt, start=(-1.5, 2.0), steps=100)
    first = time.perf_counter() - t0
    log = [e for e in loops.compile_log if e["kernel"] in ("run_trajectory", "run_lbfgs")]
    print(json.dumps({"first": first, "kernel": log[0]["seconds"], "cpu": log[0]["cpu"]}))
    """
)


def bench_compile(args) -> None:
    import tempfile

    import numpy as np

    import simulator as sim

    print("(e) cold compile of a trajectory kernel, first simulate on Rosenbrock "
          "(fresh process, empty numba cache):")
    for text in ("Adam(lr=0.01)", "Rprop(lr=0.01)", "ASGD(lr=0.001)", "LBFGS()"):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, LOSSLAB_INTERIM="0")
            out = subprocess.run([sys.executable, "-c", COMPILE_SCRIPT, text], env=env,
                                 capture_output=True, text=True, check=False)
        try:
            r = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            print(f"   {text}: failed: {out.stderr.strip()[-200:]}")
            continue
        print(f"   {text:16s} first simulate {r['first']:6.2f} s, its kernel "
              f"{r['kernel']:5.2f} s wall / {r['cpu']:5.2f} s CPU")
    s = sim.get_surface("rosenbrock")
    sched = sim.ReduceLROnPlateau(patience=5, factor=0.5)
    for opt in (sim.Adam(lr=0.05),):
        # both kernels warm: a ReduceLROnPlateau's is its own (kernels.loops PLAT)
        sim.simulate(s, opt, start=ROSEN_START, steps=10, schedule=sched)
        sim.simulate(s, opt, start=ROSEN_START, steps=10)
        t0 = time.perf_counter()
        run = sim.simulate(s, opt, start=ROSEN_START, steps=5000, schedule=sched)
        t_pl = time.perf_counter() - t0
        t0 = time.perf_counter()
        sim.simulate(s, opt, start=ROSEN_START, steps=5000)
        t_c = time.perf_counter() - t0
        cuts = int(np.count_nonzero(np.diff(run.learning_rates)))
        print(f"   ReduceLROnPlateau, Adam 5,000 steps: {t_pl * 1e3:.1f} ms with {cuts} cuts "
              f"(constant rate: {t_c * 1e3:.1f} ms)")
        t0 = time.perf_counter()
        sim.optimizer_state(run, 4999)
        t_rep = time.perf_counter() - t0
        t0 = time.perf_counter()
        for k in range(0, 5000, 10):
            sim.optimizer_state(run, k)
        t_look = (time.perf_counter() - t0) / 500
        print(f"   optimizer_state: replay of 5,000 steps {t_rep * 1e3:.1f} ms once, then "
              f"{t_look * 1e6:.0f} us per frame")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller batch")
    ap.add_argument("--torch-python", default=os.environ.get("LOSSLAB_TORCH_PYTHON"),
                    help="an interpreter with torch installed, for the torch comparison")
    ap.add_argument("--only", choices=("a", "b", "c", "d", "e"), action="append",
                    help="run only these parts (repeatable)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child_memory(args.child)
        return 0
    try:
        load = os.getloadavg()[0]
        print(f"LossLab core benchmark  (python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs, load average {load:.2f}: figures drop on a busy machine)")
    except OSError:
        pass
    parts = {"a": bench_trajectory, "b": bench_batch, "c": bench_warm_start, "d": bench_memory,
             "e": bench_compile}
    for key in args.only or "abcde":
        parts[key](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
