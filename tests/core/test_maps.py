"""Basin maps and hyperparameter maps: computing them (simulator.core.maps)."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import simulator as sim
from simulator.core import maps as ex


@pytest.fixture(scope="module")
def two_wells():
    return sim.get_surface("two-wells")


# ---- basin maps ---------------------------------------------------------------------------
def test_quadratic_basin_is_whole_domain():
    s = sim.get_surface("quadratic")
    bm = ex.basin_map(s, sim.SGD(lr=0.1), resolution=(40, 30), steps=300)
    assert bm.labels.shape == (30, 40)
    assert bm.complete
    assert np.all(bm.labels == 0)
    assert bm.shares()[0] == 1.0
    assert np.allclose(bm.minima, [[0.0, 0.0]], atol=1e-8)
    assert set(bm.status.ravel()) == {"converged"}


def test_diverged_label():
    s = sim.get_surface("quadratic")  # Hessian 2 I: GD diverges above lr = 1
    bm = ex.basin_map(s, sim.SGD(lr=1.2), resolution=16, steps=200)
    assert np.all(bm.labels == ex.DIVERGED)
    assert bm.shares()[ex.DIVERGED] == 1.0


def _unstable_direction(cp):
    return cp.eigenvectors[:, 0]  # ascending eigenvalues: the negative one first


def test_two_wells_gd_boundary_is_at_the_ridge(two_wells):
    """Small-lr GD follows the gradient flow, whose basins are separated by the stable
    manifold of the saddle: the saddle sits on the basin boundary, and along the saddle's
    unstable direction the label flips exactly there."""
    s = two_wells
    cps = sim.find_critical_points(s)
    saddle = next(c for c in cps if c.kind == "saddle")
    n = 121
    bm = ex.basin_map(s, sim.SGD(lr=0.02), resolution=n, steps=3000)
    assert bm.shares()[ex.DIVERGED] == 0.0
    assert bm.shares()[ex.NOT_CONVERGED] < 0.01
    h = 6.0 / n
    # both basins meet within one cell of the saddle
    i, j = bm.cell_at(*saddle.position)
    near = bm.labels[j - 1 : j + 2, i - 1 : i + 2]
    assert set(np.unique(near)) == {0, 1}
    # along the unstable direction, the change of basin is within one cell of the saddle
    u = _unstable_direction(saddle)
    ts = np.linspace(-1.0, 1.0, 401)
    pts = saddle.position[None, :] + ts[:, None] * u[None, :]
    labs = np.array([bm.labels[bm.cell_at(*p)[::-1]] for p in pts])
    flips = np.flatnonzero(np.diff(labs) != 0)
    assert len(flips) == 1
    assert abs(ts[flips[0]]) <= math.sqrt(2) * h
    # and each side goes to the minimum that side of the ridge points to
    side = {int(labs[0]), int(labs[-1])}
    assert side == {0, 1}
    for t in (-0.5, 0.5):
        p = saddle.position + t * u
        run = sim.simulate(s, sim.SGD(lr=0.02), p, 3000)
        k = int(np.argmin(np.linalg.norm(bm.minima - run.final_position, axis=1)))
        assert bm.labels[bm.cell_at(*p)[::-1]] == k


def test_two_wells_large_lr_leaves_the_sharp_well(two_wells):
    """lr above 2 / 16 cannot settle in the sharp minimum (curvature 16)."""
    bm = ex.basin_map(two_wells, sim.SGD(lr=0.2), resolution=48, steps=1000)
    sharp = int(np.argmin(np.linalg.norm(bm.minima - np.array([-1.5, 1.0]), axis=1)))
    assert bm.shares()[sharp] == 0.0


def test_himmelblau_four_basins_and_momentum_comparison():
    s = sim.get_surface("himmelblau")
    gd = ex.basin_map(s, sim.SGD(lr=0.005), resolution=48, steps=1500)
    assert len(gd.minima) == 4
    sh = gd.shares()
    assert all(sh[k] > 0.1 for k in range(4))
    assert abs(sum(sh.values()) - 1.0) < 1e-12
    mom = ex.basin_map(s, sim.SGD(lr=0.005, momentum=0.9), resolution=48, steps=1500)
    assert not np.array_equal(gd.labels, mom.labels)


def test_replay_and_noise_reproducible(two_wells):
    s = two_wells
    kw = dict(resolution=(24, 20), steps=400, noise=0.5, seed=7, chunk=6)
    a = ex.basin_map(s, sim.SGD(lr=0.05), **kw)
    b = ex.basin_map(s, sim.SGD(lr=0.05), **kw)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.final_positions, b.final_positions)
    c = ex.basin_map(s, sim.SGD(lr=0.05), **{**kw, "seed": 8})
    assert not np.array_equal(a.final_positions, c.final_positions)
    for i, j in [(0, 0), (5, 7), (23, 19), (11, 12)]:
        run = a.replay(i, j)
        assert np.array_equal(run.final_position, a.final_positions[j, i])
        assert run.status == a.status[j, i]
    # every chunk draws its own noise (rows are not copies of each other)
    assert not np.array_equal(a.final_positions[0], a.final_positions[6])
    # and the chunk size is not part of the draw: one noise stream per cell
    d = ex.basin_map(s, sim.SGD(lr=0.05), **{**kw, "chunk": 5})
    assert np.array_equal(a.final_positions, d.final_positions, equal_nan=True)


def test_progress_and_cancel(two_wells):
    seen = []
    bm = ex.basin_map(two_wells, sim.Adam(lr=0.05), resolution=(32, 32), steps=50, chunk=4,
                      progress=lambda d, t, m: seen.append((d, t, m.rows_done)))
    assert seen == [(r, 32, r) for r in range(4, 33, 4)]
    assert bm.complete
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    part = ex.basin_map(two_wells, sim.Adam(lr=0.05), resolution=(32, 32), steps=50,
                        chunk=4, cancel=cancel)
    assert not part.complete and part.rows_done == 12
    assert np.all(part.labels[12:] == ex.NOT_COMPUTED)
    assert np.all(part.labels[:12] >= ex.NOT_CONVERGED)
    assert np.array_equal(part.labels[:12], bm.labels[:12])
    assert abs(sum(part.shares().values()) - 1.0) < 1e-12


def test_basin_memory_independent_of_steps():
    s = sim.get_surface("rosenbrock")
    opt = sim.Adam(lr=0.05)
    ex.basin_map(s, opt, resolution=8, steps=5)  # compile, critical points
    peaks = []
    for steps in (100, 3000):
        tracemalloc.start()
        ex.basin_map(s, opt, resolution=64, steps=steps)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.2 * peaks[0] + 64_000


def test_basin_bad_input(two_wells):
    with pytest.raises(ValueError, match="resolution"):
        ex.basin_map(two_wells, sim.SGD(), resolution=0)
    with pytest.raises(ValueError, match="resolution"):
        ex.basin_map(two_wells, sim.SGD(), resolution=(4097, 2))
    with pytest.raises(ValueError, match="domain"):
        ex.basin_map(two_wells, sim.SGD(), resolution=4, domain=((1, 0), (0, 1)))
    with pytest.raises(ValueError, match="noise"):
        ex.basin_map(two_wells, sim.SGD(), resolution=4, noise=-1.0)


def test_curve_basin_map():
    s = sim.surface_from_expression("(w**2 - 1)**2", domain=((-2, 2),))
    bm = ex.basin_map(s, sim.SGD(lr=0.01), resolution=41, steps=2000)
    assert bm.labels.shape == (1, 41)
    left = bm.minima[:, 0] < 0
    kl = int(np.flatnonzero(left)[0])
    xs = bm.xs
    assert np.all(bm.labels[0, xs < -0.05] == kl)
    assert np.all(bm.labels[0, xs > 0.05] == 1 - kl)


# ---- hyperparameter maps --------------------------------------------------------------------
def test_gd_quadratic_switches_at_two_over_lambda():
    s = sim.get_surface("ravine", condition=10)
    eig = ex.quadratic_curvature(s)
    assert eig is not None
    lam = float(eig[-1])
    lrs = ex.grid_values(0.0173 / lam, 17.3 / lam, 61, log=True)  # 2/lam between cells
    hm = ex.hyper_map(s, sim.SGD(), (1.0, 1.0), "lr", lrs, "momentum", [0.0], steps=2000)
    assert hm.log_x and not hm.log_y
    st = hm.status[0]
    div = np.flatnonzero(st == "diverged")
    conv = np.flatnonzero(st == "converged")
    first_div, last_conv = div[0], conv[-1]
    assert np.all(st[first_div:] == "diverged")
    assert np.all(st[:first_div] != "diverged")
    # converged -> diverged from one grid cell to the next, at 2 / lambda_max
    assert first_div - last_conv == 1
    assert lrs[last_conv] < 2.0 / lam < lrs[first_div]
    # the drawn boundary is the theory: a vertical line at 2 / lambda
    (bx, by), = hm.boundary
    assert np.allclose(bx, 2.0 / lam)


def test_heavy_ball_boundary_matches_runs():
    s = sim.get_surface("quadratic")
    lam = 2.0
    lrs = ex.grid_values(0.05, 5.0, 41, log=True)
    moms = ex.grid_values(0.0, 0.9, 10)
    hm = ex.hyper_map(s, sim.SGD(), (1.0, -0.5), "lr", lrs, "momentum", moms, steps=3000)
    for j, b in enumerate(moms):
        lr_max = ex.max_stable_lr(sim.SGD(momentum=b), lam)
        assert lr_max == pytest.approx(2 * (1 + b) / lam)
        st = hm.status[j]
        # one cell of slack either side of the theoretical boundary
        ok = lrs < lr_max / 1.13
        bad = lrs > lr_max * 1.13
        assert np.all(st[ok] != "diverged")
        assert np.all(st[bad] == "diverged")


def test_nesterov_bound_by_simulation():
    lam = 3.0
    s = sim.surface_from_expression("1.5*x**2 + 0.5*y**2", domain=((-2, 2), (-2, 2)))
    for beta in (0.3, 0.8):
        opt = sim.SGD(momentum=beta, nesterov=True)
        lr_max = ex.max_stable_lr(opt, lam)
        for f, expect in ((0.97, False), (1.03, True)):
            run = sim.simulate(s, opt.replace(lr=f * lr_max), (1.0, 1.0), 4000)
            assert (run.status == "diverged") is expect


def test_hyper_map_matches_simulate_and_steps_to_converge():
    s = sim.get_surface("rosenbrock")
    hm = ex.hyper_map(s, sim.Adam(), (-1.5, 2.0), "lr", [0.01, 0.05, 0.2], "beta1",
                      [0.5, 0.9], steps=800)
    for j in range(2):
        for i in range(3):
            run = hm.replay(i, j)
            assert run.optimizer.betas[0] == hm.values_y[j]
            assert run.status == hm.status[j, i]
            assert run.final_loss == hm.final_losses[j, i]
            if run.status == "converged":
                assert hm.steps_to_converge[j, i] == run.status_step
            else:
                assert math.isnan(hm.steps_to_converge[j, i])
    assert not hm.boundary  # not a quadratic


def test_hyper_noise_axis_reproducible_and_invalid_cells():
    s = sim.get_surface("quadratic")
    a = ex.hyper_map(s, sim.SGD(lr=0.1), (1.0, 1.0), "momentum", [0.0, 0.5, 1.5],
                     "noise", [0.0, 0.1, 1.0], steps=300, seed=3)
    b = ex.hyper_map(s, sim.SGD(lr=0.1), (1.0, 1.0), "momentum", [0.0, 0.5, 1.5],
                     "noise", [0.0, 0.1, 1.0], steps=300, seed=3)
    assert np.array_equal(a.final_losses, b.final_losses, equal_nan=True)
    run = a.replay(1, 2)
    assert run.noise == 1.0 and run.final_loss == a.final_losses[2, 1]
    c = ex.hyper_map(s, sim.SGD(lr=0.1), (1.0, 1.0), "momentum", [0.5], "noise", [1.0],
                     steps=300, seed=4)
    assert c.final_losses[0, 0] != a.final_losses[2, 1]
    # momentum 1.5 is allowed by torch (no upper bound) and diverges; betas >= 1 are not
    assert set(a.status[:, 2]) == {"diverged"}
    d = ex.hyper_map(s, sim.Adam(lr=0.1), (1.0, 1.0), "beta1", [0.5, 1.0], "beta2",
                     [0.9, 0.999], steps=50)
    assert list(d.status[:, 1]) == ["invalid", "invalid"]
    assert np.all(np.isnan(d.final_losses[:, 1]))
    with pytest.raises(ValueError, match="betas"):
        ex.hyper_map(s, sim.SGD(), (1.0, 1.0), "beta1", [0.5], "lr", [0.1], steps=5)
    with pytest.raises(ValueError, match="different"):
        ex.hyper_map(s, sim.SGD(), (1.0, 1.0), "lr", [0.5], "lr", [0.1], steps=5)


def test_cell_lookup():
    s = sim.get_surface("quadratic")
    hm = ex.hyper_map(s, sim.SGD(), (1.0, 1.0), "lr", ex.grid_values(0.01, 1, 3, log=True),
                      "momentum", [0.0, 0.5], steps=5)
    assert hm.cell_at(0.1, 0.45) == (1, 1)
    assert hm.cell_at(100.0, 0.0) is None
    assert hm.cell_params(2, 1) == {"lr": 1.0, "momentum": 0.5}
    assert ex.sweepable_params(sim.Adam())[:3] == ["lr", "beta1", "beta2"]
    assert ex.sweepable_params(sim.SGD())[-1] == "noise"


def test_quadratic_curvature_detection():
    assert ex.quadratic_curvature(sim.get_surface("two-wells")) is None
    assert ex.quadratic_curvature(sim.get_surface("rosenbrock")) is None
    eig = ex.quadratic_curvature(sim.get_surface("quadratic"))
    assert np.allclose(eig, [2.0, 2.0])
    assert ex.max_stable_lr(sim.Adam(), 2.0) == math.inf
    assert ex.max_stable_lr(sim.SGD(weight_decay=1.0), 2.0) == pytest.approx(2 / 3)
    assert ex.max_stable_lr(sim.SGD(momentum=1.0), 2.0) == 0.0


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "six-hump-camel", "rastrigin",
                                  "two-wells", "quadratic"])
def test_basin_defaults_make_a_first_map_that_converges(name):
    s = sim.get_surface(name)
    for lane in (sim.SGD(lr=1e-3), sim.SGD(lr=5e-4, momentum=0.9)):
        opt, steps = ex.basin_defaults(s, lane, 1000)
        lam = np.linalg.eigvalsh(s.hessian(np.asarray(s.minima[0], float)))
        assert opt.lr <= ex.max_stable_lr(lane, lam.max())  # stable at the minima
        assert ex.BASIN_STEPS[0] <= steps <= ex.BASIN_STEPS[1]
        bm = ex.basin_map(s, opt, 32, steps)
        assert np.mean(bm.labels >= 0) > 0.5, (name, opt, steps)


def test_basin_defaults_keep_adaptive_rates_and_unbounded_surfaces():
    adam = sim.Adam(lr=0.05)
    assert ex.basin_defaults(sim.get_surface("rosenbrock"), adam, 700) == (adam, 700)
    gd = sim.SGD(lr=0.01)
    assert ex.basin_defaults(sim.get_surface("saddle"), gd, 700) == (gd, 700)
    # GD's rate is half its limit on the quadratic (curvature 2): 0.5; steps the minimum
    opt, steps = ex.basin_defaults(sim.get_surface("quadratic"), gd, 700)
    assert opt.lr == 0.5 and steps == ex.BASIN_STEPS[0]


def test_hyper_map_with_plateau_schedule_and_lbfgs_match_simulate():
    s = sim.get_surface("rosenbrock")
    sched = sim.ReduceLROnPlateau(patience=3, factor=0.5)
    for opt, px, vx in ((sim.Adam(), "lr", [0.05, 0.2]),
                        (sim.LBFGS(line_search_fn="strong_wolfe"), "lr", [0.5, 1.0])):
        hm = ex.hyper_map(s, opt, (-1.5, 2.0), px, vx, "noise", [0.0, 0.1], steps=60,
                          schedule=sched if opt.name == "Adam" else None)
        for i in range(2):
            run = hm.replay(i, 0)
            assert run.status == hm.status[0, i]
            assert run.final_loss == hm.final_losses[0, i]
        if opt.name == "LBFGS":  # noise does not apply to L-BFGS: those cells are invalid
            assert np.all(hm.status_codes[1] == ex.INVALID)
