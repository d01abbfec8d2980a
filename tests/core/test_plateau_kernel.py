"""ReduceLROnPlateau inside the kernels, and maps of L-BFGS and plateau runs in one call.

The plateau schedule is stepped inside the trajectory kernels (``kernels.loops``), and
``simulate_batch`` runs L-BFGS and plateau grids through ``kernels.loops.run_runs`` (one
recorded run per start, all starts in one kernel call). Checked here:

- the rates a run used against ``tests/naive.py``'s ReduceLROnPlateau (written from
  torch's documentation) fed the run's own losses: exact, since a rate comes from the
  same comparisons and one multiplication per cut, on the same losses;
- the path against ``naive.optimize_plateau`` (the plain-Python optimizer under the
  plain-Python schedule): the rates exactly, the positions to ``NAIVE_RTOL`` (the naive
  optimizer's textbook formulas round differently from the kernels' fused forms; on the
  convex ravine the differences stay within a few ulps per step over 80 steps);
- every field of ``simulate_batch`` against ``simulate`` from each start, bit for bit
  (the summaries are made from the same recorded arrays with the same operations);
- the interpreted twin of ``run_runs`` against the compiled kernel, bit for bit;
- one kernel call: a plateau run no longer re-runs from step 0 after each cut, and a
  plateau or L-BFGS map runs no Python per start.

The torch goldens (``test_schedules.test_plateau_run_matches_torch``,
``test_plateau_matches_torch_on_given_metrics``) keep checking the semantics.
"""

from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.core import engine
from simulator.core.engine import kernel_hp
from simulator.core.kernels import interp, loops
from tests import naive

RAVINE = dict(condition=20.0, angle=25.0)
NAIVE_RTOL = 1e-9

SETTINGS = [
    dict(patience=2, factor=0.5),
    dict(patience=1, factor=0.3, cooldown=3, min_lr=1e-3),
    dict(patience=0, factor=0.5, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", patience=1, factor=0.5, threshold=0.01),
    dict(mode="max", patience=0, factor=0.7, threshold=0.1, threshold_mode="abs",
         cooldown=1),
    dict(patience=1, factor=0.9, eps=0.05),  # cuts smaller than eps are not made
]


def _ids(kw):
    return "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("kw", SETTINGS, ids=_ids)
@pytest.mark.parametrize("opt", [sim.SGD(lr=0.2, momentum=0.9), sim.Adam(lr=0.3),
                                 sim.LBFGS(lr=0.5, max_iter=3)], ids=lambda o: o.name)
def test_rates_are_the_naive_schedule_of_the_run_losses(kw, opt):
    s = sim.get_surface("rosenbrock")
    run = sim.simulate(s, opt, start=(-1.2, 1.0), steps=120,
                       schedule=sim.ReduceLROnPlateau(**kw))
    n = run.n_steps
    want = naive.plateau_rates(opt.lr, run.losses[:n].tolist(), **kw)
    np.testing.assert_array_equal(run.learning_rates, want)
    assert run.next_lr == naive.plateau_rates(opt.lr, run.losses.tolist(), **kw)[n]


def test_settings_cut_the_rate():
    # the cases above are not vacuous: each setting cuts at least once on some optimizer
    s = sim.get_surface("rosenbrock")
    for kw in SETTINGS[:-1]:
        cuts = max(len(set(sim.simulate(s, o, start=(-1.2, 1.0), steps=120,
                                        schedule=sim.ReduceLROnPlateau(**kw))
                           .learning_rates.tolist()))
                   for o in (sim.SGD(lr=0.2, momentum=0.9), sim.Adam(lr=0.3)))
        assert cuts > 1, kw
    # eps: the run meets plateaus, but a cut of 10% of 0.3 is below eps = 0.05
    run = sim.simulate(s, sim.Adam(lr=0.3), start=(-1.2, 1.0), steps=120,
                       schedule=sim.ReduceLROnPlateau(**SETTINGS[-1]))
    assert set(run.learning_rates.tolist()) == {0.3}


@pytest.mark.parametrize("kw", SETTINGS[:3], ids=_ids)
@pytest.mark.parametrize("name, lr", [("SGD", 1.5), ("Adam", 0.5)])  # SGD: 1.5 > 2 / L
def test_path_matches_naive_optimizer_under_naive_schedule(kw, name, lr):
    s = sim.get_surface("ravine", **RAVINE)
    opt = getattr(sim, name)(lr=lr)
    start = (2.0, -1.5)
    steps = 80
    run = sim.simulate(s, opt, start=start, steps=steps,
                       schedule=sim.ReduceLROnPlateau(**kw))
    d = opt.to_dict()
    d.pop("name")
    d.pop("lr")
    path, rates = naive.optimize_plateau(
        name, d, lambda p: float(s.value(np.array(p))), lambda p: s.gradient(np.array(p)),
        start, lr, steps, **kw)
    assert len(set(rates)) > 1  # the schedule did cut
    np.testing.assert_array_equal(run.learning_rates, rates)
    scale = float(np.max(np.abs(path)))
    np.testing.assert_allclose(run.positions, path, rtol=NAIVE_RTOL, atol=NAIVE_RTOL * scale)


def _assert_batch_is_simulate(s, opt, starts, steps, schedule=None, **kw):
    b = sim.simulate_batch(s, opt, starts, steps=steps, schedule=schedule, **kw)
    offset = kw.pop("stream_offset", 0)
    for i, p in enumerate(starts):
        r = sim.simulate(s, opt, start=p, steps=steps, schedule=schedule,
                         stream=offset + i, **kw)
        np.testing.assert_array_equal(b.final_positions[i], r.positions[-1])
        np.testing.assert_array_equal(b.final_gradients[i], r.gradients[-1])
        assert b.final_losses[i] == r.losses[-1]
        assert b.initial_losses[i] == r.losses[0]
        assert b.min_losses[i] == r.losses.min()
        assert b.status[i] == r.status, (i, p)


STARTS = np.array([[-1.2, 1.0], [0.5, -0.5], [1.5, 2.0], [-1.9, -1.4], [1.0, 1.0],
                   [0.2, 1.8], [-0.4, 0.1]])


@pytest.mark.parametrize("kw", SETTINGS, ids=_ids)
@pytest.mark.parametrize("opt", [sim.Adam(lr=0.2), sim.SGD(lr=2e-3, momentum=0.9),
                                 sim.LBFGS(lr=0.5, max_iter=4)], ids=lambda o: o.name)
def test_plateau_batch_is_simulate_bit_for_bit(kw, opt):
    _assert_batch_is_simulate(sim.get_surface("rosenbrock"), opt, STARTS, 90,
                              sim.ReduceLROnPlateau(**kw))


@pytest.mark.parametrize("opt", [sim.LBFGS(), sim.LBFGS(history_size=3, max_iter=5),
                                 sim.LBFGS(line_search_fn="strong_wolfe", max_iter=4)],
                         ids=repr)
@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau", "double-well"])
def test_lbfgs_batch_is_simulate_bit_for_bit(opt, surface):
    s = sim.get_surface(surface)
    starts = STARTS[:, :1].copy() if s.dim == 1 else STARTS
    _assert_batch_is_simulate(s, opt, starts, 60)


def test_batch_with_noise_clip_and_offsets_is_simulate():
    s = sim.get_surface("himmelblau")
    _assert_batch_is_simulate(s, sim.Adam(lr=0.3), STARTS, 70,
                              sim.ReduceLROnPlateau(patience=1, factor=0.5), noise=0.5,
                              seed=7, clip_grad_norm=2.0, stream_offset=11)


def test_diverging_and_undefined_starts_in_a_plateau_map():
    # a diverging run stops early; its summaries come from the rows it recorded
    s = sim.get_surface("rosenbrock")
    _assert_batch_is_simulate(s, sim.SGD(lr=0.05), STARTS, 40,
                              sim.ReduceLROnPlateau(patience=100))
    f = sim.surface_from_expression("log(x) + y**2")
    b = sim.simulate_batch(f, sim.Adam(lr=0.1), np.array([[-1.0, 0.0], [1.0, 0.5]]),
                           steps=20, schedule=sim.ReduceLROnPlateau())
    assert b.status[0] == "diverged"
    r = sim.simulate(f, sim.Adam(lr=0.1), start=(1.0, 0.5), steps=20,
                     schedule=sim.ReduceLROnPlateau())
    np.testing.assert_array_equal(b.final_positions[1], r.positions[-1])


def test_one_kernel_call(monkeypatch):
    calls = []
    real = loops.run_trajectory
    monkeypatch.setattr(loops, "run_trajectory",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    s = sim.get_surface("rosenbrock")
    sched = sim.ReduceLROnPlateau(patience=2, factor=0.5)
    run = sim.simulate(s, sim.Adam(lr=0.3), start=(-1.2, 1.0), steps=200, schedule=sched)
    assert len(set(run.learning_rates.tolist())) > 2  # several cuts...
    assert len(calls) == 1  # ...and one run, not one more per cut
    monkeypatch.setattr(engine, "_batch_by_runs", lambda *a: pytest.fail("Python per start"))
    calls.clear()
    sim.simulate_batch(s, sim.Adam(lr=0.3), STARTS, 50, schedule=sched)
    sim.simulate_batch(s, sim.LBFGS(), STARTS, 50)
    assert calls == []


def _runs_args(s, opt, starts, steps, plat):
    S2 = np.zeros((len(starts), 2))
    S2[:, : s.dim] = starts
    out = np.full((loops.B_NCOL, len(starts)), np.nan)
    w = engine._window(steps)
    return (s.spec, opt.oid, kernel_hp(opt), np.full(steps, opt.lr), plat, S2, steps, w,
            0.0, 0, 0, 0.0, 0, s.nreg, out)


@pytest.mark.parametrize("opt", [sim.LBFGS(max_iter=4), sim.RMSprop(lr=0.05)], ids=repr)
def test_interpreted_runs_equal_compiled(opt):
    s = sim.get_surface("beale")
    plat = engine._plateau_params(sim.ReduceLROnPlateau(patience=1, factor=0.5))
    a = _runs_args(s, opt, STARTS[:3] * 0.5, 30, plat)
    b = _runs_args(s, opt, STARTS[:3] * 0.5, 30, plat)
    with loops.compiled_only():
        loops.run_runs(*a)
    interp.load().run_runs(*b)
    np.testing.assert_array_equal(a[-1], b[-1])


# ---- the plateau step is compiled only into the kernels of runs that have the schedule ----
def _typed_names(kernel, args):
    """The names of the variables numba typed in ``kernel``'s loop, compiled afresh (a
    kernel loaded from the disk cache keeps no typing)."""
    import numba

    k = numba.njit(nogil=True, error_model="numpy")(kernel.py_func)
    k.compile(loops._signature(k, args))
    (cres,) = k.overloads.values()
    return {name.split(".")[0] for name in cres.type_annotation.typemap}


def test_kernels_without_the_schedule_do_not_compile_its_step():
    # PLAT is a constant of the kernel: numba prunes ``if PLAT:`` before typing, so a
    # run without a ReduceLROnPlateau compiles none of it (the app's warm-up, every
    # lane, compiles only those kernels)
    s = sim.get_surface("rosenbrock")
    steps = 3
    plat = engine._plateau_params(sim.ReduceLROnPlateau())

    def traj_args(opt):
        return (s.spec, kernel_hp(opt), np.full(steps, opt.lr), -1.0, 1.0, steps, 0.0, 0, 0,
                0.0, 0, s.nreg, np.empty((steps + 1, 2)), np.empty(steps + 1),
                np.empty((steps + 1, 2)), plat)

    opt = sim.Adam()
    lb = sim.LBFGS()
    lb_args = traj_args(lb)[:6] + (s.nreg,) + traj_args(lb)[12:15] + (
        np.empty(steps, dtype=np.int64), plat)
    for P in (0, 1):
        names = _typed_names(loops._make_trajectory(opt.oid, s.sid, 0, P), traj_args(opt))
        assert ("p_best" in names) == bool(P), P
        names = _typed_names(loops._make_lbfgs_trajectory(s.sid, 0, P), lb_args)
        assert ("p_best" in names) == bool(P), P


def test_each_run_picks_the_kernel_of_its_schedule():
    s = sim.get_surface("booth")
    opt = sim.Adagrad(lr=0.5)
    key = (opt.oid,) + loops.surface_key(s.spec)
    kw = dict(patience=1, factor=0.5, threshold=0.05)  # cuts the rate on this run
    sched = sim.ReduceLROnPlateau(**kw)
    with loops.compiled_only():
        sim.simulate(s, opt, (1.0, 1.0), steps=3)
        assert loops.is_ready("run_trajectory", key)
        assert not loops.is_ready("run_trajectory_plateau", key)
        run = sim.simulate(s, opt, (9.0, -9.0), steps=60, schedule=sched)
        assert loops.is_ready("run_trajectory_plateau", key)
        sim.simulate_batch(s, opt, STARTS[:2], 5, schedule=sched)
        assert loops.is_ready("run_runs_plateau", key)
        assert not loops.is_ready("run_runs", key)
    n = run.n_steps
    want = naive.plateau_rates(opt.lr, run.losses[:n].tolist(), **kw)
    assert len(set(want)) > 1
    np.testing.assert_array_equal(run.learning_rates, want)


def test_python_function_surfaces_step_the_schedule():
    # a Python function's surface runs the kernels' loop bound to its callables
    # (core.functions): with the schedule, the plateau variant of that loop
    s = sim.surface_from_function(lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
                                  grad=lambda x, y: (-2 * (1 - x) - 400 * x * (y - x * x),
                                                     200 * (y - x * x)))
    kw = dict(patience=2, factor=0.5)
    for opt in (sim.Adam(lr=0.3), sim.LBFGS(lr=0.5, max_iter=3)):
        run = sim.simulate(s, opt, start=(-1.2, 1.0), steps=120,
                           schedule=sim.ReduceLROnPlateau(**kw))
        n = run.n_steps
        want = naive.plateau_rates(opt.lr, run.losses[:n].tolist(), **kw)
        assert len(set(want)) > 1, opt
        np.testing.assert_array_equal(run.learning_rates, want)
        plain = sim.simulate(s, opt, start=(-1.2, 1.0), steps=120)
        assert set(plain.learning_rates.tolist()) == {opt.lr}
