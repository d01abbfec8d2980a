"""The kernels' three paths give the same numbers: specialised compiled kernels, the same
source interpreted (``kernels.interp``, used while a kernel compiles on a first start),
and the interim logic that chooses between them.

Equality is exact: the interpreter and the compiled code perform the same IEEE double
operations in the same order, and numba calls the C library's exp/log/sin/pow as Python's
``math`` does (no fused multiply-adds without fastmath). That holds on any x86-64 CPU;
only Intel's SVML (numba's vector math library, used when the ``icc_rt`` package is
installed) computes transcendental functions differently, so there the comparison is
skipped with that reason.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import simulator as sim
from simulator.core.engine import kernel_hp
from simulator.core.kernels import interp, loops

pytestmark = [
    pytest.mark.skipif(
        bool(getattr(numba.config, "USING_SVML", False)),
        reason="numba uses Intel SVML here: its vector exp/sin differ from libm by design",
    ),
    # the interpreter runs on numpy scalars, which warn where numba silently gives inf/nan
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]

OPTIMIZERS = [
    sim.SGD(lr=1e-3), sim.SGD(lr=1e-3, momentum=0.9, nesterov=True, weight_decay=0.01),
    sim.Adagrad(lr=0.1), sim.RMSprop(lr=0.01, centered=True, momentum=0.5),
    sim.Adam(lr=0.05), sim.Adam(lr=0.05, amsgrad=True), sim.AdamW(lr=0.05), sim.NAdam(lr=0.02),
    sim.RAdam(lr=0.02), sim.Adamax(lr=0.02), sim.Adadelta(lr=1.0), sim.Lion(lr=1e-3),
    sim.Newton(lr=0.5), sim.Rprop(lr=0.01), sim.ASGD(lr=1e-3, lambd=0.1, t0=5.0),
]


def _surfaces():
    from simulator.core.drawn import drawn_surface

    return {
        "rosenbrock": (sim.get_surface("rosenbrock"), (-1.5, 2.0)),
        "ackley": (sim.get_surface("ackley"), (1.3, -0.7)),
        "parabola": (sim.get_surface("parabola"), (7.0,)),
        "double-well": (sim.get_surface("double-well"), (0.3,)),
        "formula": (sim.surface_from_expression("sin(x)*y**2 + exp(0.1*x) + x**2"), (1.0, 1.0)),
        "logistic": (sim.get_surface("logistic-regression"), None),
        "linear": (sim.get_surface("linear-regression"), None),
        "drawn": (drawn_surface(sim.get_surface("quadratic"),
                                [[0.5, 0.5, -1.0, 0.6], [-1.0, 0.2, 0.8, 0.4]]), (1.5, 1.0)),
    }


SURFACES = _surfaces()


def _traj_args(s, opt, start, steps, noise, batch):
    start = tuple(s.center) if start is None else start
    pos = np.full((steps + 1, 2), np.nan)
    loss = np.full(steps + 1, np.nan)
    grad = np.full((steps + 1, 2), np.nan)
    lrs = np.full(steps, opt.lr)
    y0 = float(start[1]) if s.dim == 2 else 0.0
    return (s.spec, opt.oid, kernel_hp(opt), lrs, float(start[0]), y0, steps, noise, 3, 0,
            1.0 if noise else 0.0, batch, s.nreg, pos, loss, grad)


def _compiled(fn, *args):
    with loops.compiled_only():
        return fn(*args)


def _optimizers_for(name: str) -> list:
    """Every optimizer meets three of the eight surface kinds (a kernel per pair takes
    about a second to compile; the full table would cost the suite minutes)."""
    i = list(SURFACES).index(name)
    return [opt for j, opt in enumerate(OPTIMIZERS) if (j - i) % len(SURFACES) in (0, 3, 5)]


@pytest.mark.parametrize("name", list(SURFACES))
@pytest.mark.parametrize("noisy", [False, True])
def test_interpreted_trajectories_equal_compiled_bit_for_bit(name, noisy):
    s, start = SURFACES[name]
    batch = 8 if (noisy and s.kind == "data") else 0
    for opt in _optimizers_for(name):
        a = _traj_args(s, opt, start, 60, 0.1 if noisy else 0.0, batch)
        b = _traj_args(s, opt, start, 60, 0.1 if noisy else 0.0, batch)
        ka = _compiled(loops.run_trajectory, *a)
        kb = interp.load().run_trajectory(*b)
        assert ka == kb, (name, opt)
        for x, y in zip(a[-3:], b[-3:]):
            np.testing.assert_array_equal(x, y, err_msg=f"{name} {opt}")


@pytest.mark.parametrize("name", ["rosenbrock", "parabola", "formula"])
def test_interpreted_lbfgs_equals_compiled(name):
    s, start = SURFACES[name]
    for opt in (sim.LBFGS(lr=0.1, history_size=3),
                sim.LBFGS(line_search_fn="strong_wolfe", max_iter=4)):
        a = _traj_args(s, opt, start, 12, 0.0, 0) + (np.zeros(12, dtype=np.int64),)
        b = _traj_args(s, opt, start, 12, 0.0, 0) + (np.zeros(12, dtype=np.int64),)
        assert _compiled(loops.run_trajectory, *a) == interp.load().run_trajectory(*b)
        for x, y in zip(a[-4:], b[-4:]):
            np.testing.assert_array_equal(x, y, err_msg=f"{name} {opt}")


# Batch kernels take a few seconds each to compile, so each optimizer is paired with one
# surface kind (and each kind with two or more optimizers) instead of all pairs: together
# they cover every optimizer's block update and every kind's block evaluation.
BATCH_PAIRS = [(name, OPTIMIZERS[i % len(OPTIMIZERS)])
               for i, name in enumerate(["rosenbrock", "ackley", "formula", "logistic",
                                          "drawn", "parabola", "linear", "double-well"] * 2)]
BATCH_PAIRS.append(("rosenbrock", sim.Adam(lr=0.05)))  # plain Adam: the fused block loop
BATCH_PAIRS.append(("ackley", sim.Adam(lr=0.05)))  # fused, on a surface other than Rosenbrock


@pytest.mark.parametrize("name,opt", BATCH_PAIRS, ids=[f"{n}-{o.name}-{i}" for i, (n, o)
                                                        in enumerate(BATCH_PAIRS)])
def test_interpreted_batches_equal_compiled(name, opt):
    s, _ = SURFACES[name]
    rng = np.random.default_rng(1)
    starts = np.zeros((300, 2))
    starts[:, : s.dim] = np.asarray(s.center) + rng.uniform(-1, 1, (300, s.dim))
    for noise, batch in ((0.0, 0), (0.05, 8 if s.kind == "data" else 0)):
        outs = []
        for run in (lambda *a: _compiled(loops.run_batch, *a), interp.load().run_batch):
            out = np.full((loops.B_NCOL, len(starts)), np.nan)
            run(s.spec, opt.oid, kernel_hp(opt), np.full(40, opt.lr), starts, 40, 10,
                noise, 1, 0, 0.0, batch, s.nreg, out)
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1], err_msg=f"{name} {opt} {noise}")


@pytest.mark.parametrize("name", list(SURFACES))
def test_interpreted_points_equal_compiled(name):
    s, _ = SURFACES[name]
    rng = np.random.default_rng(2)
    pts = np.asarray(s.center) + rng.uniform(-1, 1, (300, s.dim))
    xs = pts[:, 0].copy()
    ys = pts[:, 1].copy() if s.dim == 2 else np.zeros(len(xs))
    for order in (1, 2):
        outs = []
        for run in (lambda *a: _compiled(loops.eval_points, *a), interp.load().eval_points):
            out = np.full((len(xs), 6), -1.0)
            run(s.spec, xs, ys, order, out, s.nreg)
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1])


def test_interpreted_contour_lines_equal_compiled():
    from simulator.core.kernels.contour import marching_squares

    s = sim.get_surface("himmelblau")
    (xs, ys), z = s.grid(30)
    z = np.ascontiguousarray(z)
    levels = np.linspace(float(np.nanmin(z)), float(np.nanmax(z)), 7)
    a = _compiled(marching_squares, z, xs, ys, levels)
    b = interp.contour().marching_squares(z, xs, ys, levels)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_every_optimizer_meets_three_surface_kinds():
    met = {id(opt): 0 for opt in OPTIMIZERS}
    for name in SURFACES:
        for opt in _optimizers_for(name):
            met[id(opt)] += 1
    assert set(met.values()) == {3}


def test_specialised_kernels_are_keyed_on_optimizer_and_surface_kind():
    s = sim.get_surface("booth")
    f = sim.surface_from_expression("x**2 + y**2")
    assert loops.surface_key(s.spec) == (s.sid, 0)
    assert loops.surface_key(f.spec)[0] == 1000  # every formula shares one kernel
    before = set(loops._kernels)  # what earlier tests in this process compiled
    with loops.compiled_only():
        sim.simulate(s, sim.RMSprop(lr=0.01), (1.0, 1.0), steps=3)
    assert loops.is_ready("run_trajectory", (sim.RMSprop.oid, s.sid, 0))
    # the run made kernels for its own surface only (its trajectory, and the point
    # evaluations its classification needs): the same optimizer on another surface,
    # e.g. matyas, is another kernel that this run neither made nor needed
    made = set(loops._kernels) - before
    assert all(key[-2:] == loops.surface_key(s.spec) for _name, key in made), made
    matyas = loops.surface_key(sim.get_surface("matyas").spec)
    assert matyas != loops.surface_key(s.spec)
    assert not any(key[-2:] == matyas for _name, key in made), made


def _fresh_llvm(kernel, args):
    """The LLVM IR of ``kernel``'s loop compiled afresh, with the functions it calls (a
    kernel loaded from the disk cache keeps none)."""
    k = numba.njit(nogil=True, error_model="numpy")(kernel.py_func)
    sig = loops._signature(k, args)
    k.compile(sig)
    return k.inspect_llvm(sig)


def test_only_data_losses_compile_the_minibatch_code():
    # minibatches exist for data losses only (elsewhere B is 0): the trajectory and batch
    # kernels of other surfaces prune that code (a constant of the kernel, like the
    # schedule's PLAT), which made each of them a few tenths of a second larger to compile
    opt = sim.SGD(lr=0.01)
    steps = 3
    for name, data in (("quadratic", False), ("linear-regression", True)):
        s = sim.get_surface(name)
        args = (s.spec, kernel_hp(opt), np.full(steps, opt.lr), 0.1, 0.1, steps, 0.0, 0, 0,
                0.0, 4, s.nreg, np.empty((steps + 1, 2)), np.empty(steps + 1),
                np.empty((steps + 1, 2)), loops.NO_PLATEAU)
        ir = _fresh_llvm(loops._make_trajectory(opt.oid, s.sid, 0), args)
        assert ("_batch_start" in ir) == data, name
    s = sim.get_surface("quadratic")
    args = (s.spec, kernel_hp(opt), np.full(steps, opt.lr), np.zeros((2, 2)), steps, 2, 0.0,
            0, 0, 0.0, 4, s.nreg, np.empty((loops.B_NCOL, 2)), 0, 1)
    assert "_batch_start" not in _fresh_llvm(loops._make_batch(opt.oid, s.sid, 0), args)


@pytest.fixture
def interim(monkeypatch):
    """The interim path on, as in the app (the suite turns it off; see conftest)."""
    monkeypatch.setattr(loops, "_interim", True)


def test_interim_run_interprets_small_jobs_then_queues_the_compiler(monkeypatch, interim):
    s = sim.get_surface("mccormick")
    opt = sim.Adamax(lr=0.05)
    with loops.compiled_only():
        ref = sim.simulate(s, opt, (1.0, -1.0), steps=200, noise=0.2, seed=4)
    key = (opt.oid,) + loops.surface_key(s.spec)
    fresh = loops._make_trajectory(*key)  # a kernel object this process never compiled
    monkeypatch.setitem(loops._kernels, ("run_trajectory", key), fresh)
    monkeypatch.setattr(loops, "_load_cached", lambda k, sig: False)  # as on a first start
    queued = []
    monkeypatch.setattr(loops, "compile_later", lambda *a: queued.append(a[:2]))
    run = sim.simulate(s, opt, (1.0, -1.0), steps=200, noise=0.2, seed=4)
    assert not fresh.signatures  # nothing was compiled for this call...
    assert queued == [("run_trajectory", key)]  # ...it was queued instead
    np.testing.assert_array_equal(run.positions, ref.positions)
    np.testing.assert_array_equal(run.losses, ref.losses)
    assert run.status == ref.status
    # a job above the interpreter's budget compiles in the foreground
    monkeypatch.setattr(loops, "INTERIM_WORK", 10)
    sim.simulate(s, opt, (1.0, -1.0), steps=200)
    assert fresh.signatures


def test_interim_falls_back_to_the_compiler_where_python_raises(monkeypatch, interim):
    # descending -exp(x) runs to x ~ 1e66, where exp overflows: numba gives inf (a
    # diverged run), Python's math.exp raises OverflowError
    f = sim.surface_from_expression("-exp(x) + y**2")
    opt = sim.SGD(lr=1.0)
    key = (opt.oid,) + loops.surface_key(f.spec)
    fresh = loops._make_trajectory(*key)
    monkeypatch.setitem(loops._kernels, ("run_trajectory", key), fresh)
    monkeypatch.setattr(loops, "_load_cached", lambda k, sig: False)
    monkeypatch.setattr(loops, "compile_later", lambda *a: None)
    with np.errstate(all="ignore"):
        run = sim.simulate(f, opt, (5.0, 0.0), steps=5)
    assert fresh.signatures  # the interpreter gave up; the kernel was compiled
    assert run.status == "diverged"


def test_compile_log_records_first_calls():
    s = sim.get_surface("styblinski-tang")
    before = len(loops.compile_log)
    with loops.compiled_only():
        sim.simulate(s, sim.Lion(lr=1e-3), (1.0, 1.0), steps=2)
    new = [e for e in loops.compile_log[before:] if e["kernel"] == "run_trajectory"]
    assert new and new[0]["key"] == (sim.Lion.oid, s.sid, 0)
    assert new[0]["seconds"] >= 0.0 and isinstance(new[0]["cached"], bool)
