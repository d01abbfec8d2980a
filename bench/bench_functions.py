"""Surfaces from Python functions: build time and trajectory speed, by path.

Run: ``python bench/bench_functions.py``. Prints, for Rosenbrock written as a Python
function, the time ``sim.surface_from_function`` takes (tracing into a formula; numba
compiling the user's callables) and Adam's steps per second on: the built-in surface,
the traced formula (the formula machine), the user's gradient compiled by numba (the
kernels' loop compiled around it; the first run compiles it, once per function and
process, not cached on disk) and the same gradient in Python (numba refused it).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("LOSSLAB_INTERIM", "0")  # warm-path figures: compiled kernels only

import numpy as np  # noqa: E402

import simulator as sim  # noqa: E402


def rosen(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosen_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


class _Scale:  # an arbitrary Python object: numba cannot compile a function that reads it
    k = 1.0


_S = _Scale()


def rosen_grad_python(x, y):
    return (-2 * (1 - x) - 400 * x * (y - x**2) * _S.k, 200 * (y - x**2))


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> int:
    traced, dt = _timed(lambda: sim.surface_from_function(rosen))
    print(f"surface_from_function, traced into a formula:   {dt:6.2f} s")
    jitted, dt = _timed(lambda: sim.surface_from_function(rosen, grad=rosen_grad))
    print(f"surface_from_function, grad= compiled by numba:  {dt:6.2f} s")
    python, dt = _timed(lambda: sim.surface_from_function(rosen, grad=rosen_grad_python))
    print(f"surface_from_function, grad= in Python:          {dt:6.2f} s")
    opt = sim.Adam(lr=0.01)
    for name, s, n in (("built-in rosenbrock", sim.get_surface("rosenbrock"), 10**6),
                       ("traced formula", traced, 10**6),
                       ("numba-compiled grad=", jitted, 10**6),
                       ("Python grad=", python, 2 * 10**4)):
        _, first = _timed(lambda s=s: sim.simulate(s, opt, start=(-1.5, 2.0), steps=10))
        _, dt = _timed(lambda s=s, n=n: sim.simulate(s, opt, start=(-1.5, 2.0), steps=n))
        print(f"Adam on {name:22s} {n / dt / 1e6:8.3f} M steps/s   (first call {first:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
