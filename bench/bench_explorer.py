"""Landscape explorer benchmark (prints figures; not a timed test).

(a) A 512 x 512 basin map of 500 Adam steps on Rosenbrock (target: under 2 s on 2 cores),
    with the throughput in particle-steps per second (the figure that stays comparable on
    a busy machine) and the share of the time spent outside simulate_batch (labelling).
(b) Memory of a basin map against the number of steps (tracemalloc peak; must not grow).
(c) A 40 x 40 hyperparameter map (lr x momentum, GD on the quadratic, 500 steps).
(d) The explorer's default basin map (128 x 128 starts, 500 steps, Rosenbrock) with the
    two cases simulate_batch runs one start at a time in Python (``_batch_by_runs``):
    L-BFGS, and Adam under ReduceLROnPlateau (a rate that follows each run's loss), as a
    ratio to the same map with plain Adam (one batch kernel).

Run: ``.venv/bin/python bench/bench_explorer.py``
"""

from __future__ import annotations

import os
import time
import tracemalloc

# warm-path figures: every call runs its compiled kernel (no interim interpreted runs)
os.environ.setdefault("LOSSLAB_INTERIM", "0")

import numpy as np

import simulator as sim
from simulator.core import maps as ex


def best_of(fn, n=3):
    times = []
    out = None
    for _ in range(n):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    import numba

    print(f"cores: {os.cpu_count()}, numba threads: {numba.get_num_threads()}, "
          f"load average: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    s = sim.get_surface("rosenbrock")
    opt = sim.Adam(lr=0.05)
    ex.basin_map(s, opt, 16, 5)  # compile / load the kernels, find the minima

    n, steps = 512, 500
    t, bm = best_of(lambda: ex.basin_map(s, opt, (n, n), steps))
    ps = n * n * steps
    print(f"(a) basin map {n} x {n} starts x {steps} Adam steps on Rosenbrock: "
          f"{t:.2f} s (target < 2 s) -> {ps / t / 1e6:,.0f} M particle-steps/s")
    starts = np.column_stack([g.ravel() for g in np.meshgrid(bm.xs, bm.ys)])
    tb, _ = best_of(lambda: sim.simulate_batch(s, opt, starts, steps))
    print(f"    simulate_batch alone on the same starts: {tb:.2f} s; labelling, chunking "
          f"and bookkeeping: {max(0.0, t - tb) * 1e3:.0f} ms")
    print(f"    shares: {bm.describe()}")

    print("(b) memory vs steps (basin map 128 x 128, Adam on Rosenbrock, tracemalloc peak):")
    for st in (100, 1000, 10000):
        tracemalloc.start()
        t0 = time.perf_counter()
        ex.basin_map(s, opt, 128, st)
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"    {st:>6} steps: peak {peak / 2**20:.2f} MB, {dt:.2f} s")

    q = sim.get_surface("quadratic")
    lrs = ex.grid_values(0.01, 10, 40, log=True)
    moms = ex.grid_values(0, 0.99, 40)
    ex.hyper_map(q, sim.SGD(), (1.0, 1.0), "lr", lrs[:2], "momentum", moms[:2], 10)
    t, hm = best_of(lambda: ex.hyper_map(q, sim.SGD(), (1.0, 1.0), "lr", lrs, "momentum",
                                         moms, 500), 2)
    print(f"(c) hyper map 40 x 40 cells x 500 steps (GD, quadratic): {t:.2f} s "
          f"({t / 1600 * 1e6:.0f} us per cell)")

    n, steps = 128, 500
    ta, _ = best_of(lambda: ex.basin_map(s, opt, n, steps))
    print(f"(d) basin map {n} x {n} x {steps} steps on Rosenbrock, one start at a time "
          f"(target < 2 s); Adam in the batch kernel: {ta:.2f} s")
    for label, o, sch in (("L-BFGS", sim.LBFGS(), None),
                          ("Adam + ReduceLROnPlateau", opt,
                           sim.ReduceLROnPlateau(patience=10))):
        ex.basin_map(s, o, 4, 20, schedule=sch)  # compile / load its kernel
        t, bm = best_of(lambda o=o, sch=sch: ex.basin_map(s, o, n, steps, schedule=sch), 1)
        print(f"    {label}: {t:.2f} s ({t / (n * n) * 1e3:.2f} ms per start, "
              f"{t / ta:.0f} x the batch kernel's map); {bm.describe()}")


if __name__ == "__main__":
    main()
