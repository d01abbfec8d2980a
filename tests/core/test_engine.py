"""The engine: simulate / simulate_batch, noise, minibatches, clipping, status rules, input.

The reference texts' worked examples hold exactly; runs are reproducible bit for bit;
``simulate_batch`` row i is ``simulate(..., stream=i)``; every branch of ``classify`` is
reached on constructed cases; bad input is a clear error, never a hang.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.core.engine import (
    CONVERGED,
    CONVERGING,
    DIVERGED,
    GTOL,
    MAX_BATCH_STEPS,
    OSCILLATING,
    STALLED,
    classify,
)


def parabola(c):
    """(w - c)^2, the reference texts' 1-D loss."""
    return sim.get_surface("parabola", a=1.0, c=c)


# ---- the reference texts' worked examples ---------------------------------------------------
def test_worked_example_w_minus_3_squared():
    run = sim.simulate(parabola(3.0), sim.SGD(lr=0.1), start=(7.0,), steps=2)
    np.testing.assert_allclose(run.positions[:, 0], [7.0, 6.2, 5.56], rtol=1e-15)
    np.testing.assert_allclose(run.losses[:2], [16.0, 10.24], rtol=1e-14)
    np.testing.assert_allclose(run.gradients[:2, 0], [8.0, 6.4], rtol=1e-15)


def test_worked_example_lr_2_diverges():
    run = sim.simulate(parabola(3.0), sim.SGD(lr=2.0), start=(7.0,), steps=1000)
    assert run.positions[1, 0] == -9.0 and run.losses[1] == 144.0  # 7 - 2*8, (-9-3)^2
    assert run.status == "diverged"


def test_worked_example_lr_0_5_reaches_the_minimum_in_one_step():
    run = sim.simulate(parabola(2.0), sim.SGD(lr=0.5), start=(8.0,), steps=4)
    assert run.positions[1, 0] == 2.0 and run.losses[1] == 0.0
    assert run.status == "converged" and run.status_step == 1


@pytest.mark.parametrize("steps", [4, 50, 1000])
def test_worked_example_lr_1_bounces_forever(steps):
    run = sim.simulate(parabola(2.0), sim.SGD(lr=1.0), start=(8.0,), steps=steps)
    w = run.positions[:, 0]
    assert np.all(w[0::2] == 8.0) and np.all(w[1::2] == -4.0)
    assert np.all(run.losses == 36.0)
    assert run.status == "oscillating"


def test_worked_example_lr_0_1_converging_then_converged():
    s = parabola(2.0)
    run = sim.simulate(s, sim.SGD(lr=0.1), start=(8.0,), steps=4)
    # w - 2 shrinks by 0.8 per step: 6, 4.8, 3.84, 3.072, 2.4576
    np.testing.assert_allclose(run.positions[:, 0] - 2.0, 6.0 * 0.8 ** np.arange(5),
                               rtol=1e-14)
    assert run.status == "converging"
    run = sim.simulate(s, sim.SGD(lr=0.1), start=(8.0,), steps=300)
    assert run.status == "converged"
    # |g| = 2 * 6 * 0.8^k <= 1e-6 from k = 73 on
    assert run.status_step == math.ceil(math.log(GTOL / 12.0) / math.log(0.8))


# ---- shapes and lengths ---------------------------------------------------------------------
SURFACES = ["quadratic", "rosenbrock", "himmelblau", "saddle", "parabola", "double-well",
            "bumpy", "linear-regression"]
OPTS = [sim.SGD(lr=1e-3), sim.SGD(lr=1e-3, momentum=0.9), sim.Adam(lr=0.01),
        sim.RMSprop(lr=1e-3), sim.Adagrad(lr=0.05), sim.Lion(lr=1e-3), sim.Adadelta(),
        sim.NAdam(), sim.RAdam(), sim.Adamax(), sim.AdamW(), sim.Newton(lr=0.5, damping=1.0)]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(SURFACES), opt=st.sampled_from(OPTS), steps=st.integers(0, 300),
       u=st.tuples(st.floats(0.2, 0.8), st.floats(0.2, 0.8)))
def test_shapes(name, opt, steps, u):
    s = sim.get_surface(name)
    start = [lo + f * (hi - lo) for (lo, hi), f in zip(s.domain, u)]
    run = sim.simulate(s, opt, start=start, steps=steps)
    n = run.n_steps
    assert 0 <= n <= steps
    assert run.positions.shape == (n + 1, s.dim)
    assert run.gradients.shape == (n + 1, s.dim)
    assert run.losses.shape == (n + 1,)
    assert run.learning_rates.shape == (n,)
    assert run.status in sim.STATUSES
    assert np.all(np.isfinite(run.positions)) and np.all(np.isfinite(run.losses))
    if n < steps:
        assert run.status == "diverged"
    np.testing.assert_array_equal(run.positions[0], start)
    np.testing.assert_allclose(run.losses, s.value(run.positions), rtol=1e-12, atol=1e-300)
    table = run.table()
    assert table.shape == (n + 1,) and len(table.dtype.names) == 6 + s.dim + 1
    np.testing.assert_array_equal(table["step"], np.arange(n + 1))
    np.testing.assert_array_equal(table["loss"], run.losses)
    np.testing.assert_array_equal(table["grad_norm"], run.grad_norms)
    np.testing.assert_array_equal(table["lr"][:n], run.learning_rates)
    assert table["lr"][n] == run.next_lr and np.isfinite(run.next_lr)
    # one loss-and-gradient evaluation per update for these optimizers; none after the last
    np.testing.assert_array_equal(table["evaluations"], [1.0] * n + [0.0])
    assert set(table["status"]) == {run.status} and set(table["optimizer"]) == {repr(opt)}


def test_zero_steps():
    run = sim.simulate(sim.get_surface("quadratic"), sim.Adam(), start=(1.0, 2.0), steps=0)
    assert run.positions.shape == (1, 2) and run.learning_rates.shape == (0,)
    assert run.status in sim.STATUSES


# ---- reproducibility ------------------------------------------------------------------------
def _same(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k))
               for k in ("positions", "losses", "gradients", "learning_rates"))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), noise=st.floats(1e-3, 2.0),
       opt=st.sampled_from([o for o in OPTS[:7] if o.name != "Lion"]))
def test_same_seed_same_run_bit_for_bit(seed, noise, opt):
    s = sim.get_surface("himmelblau")
    kw = dict(start=(0.5, -1.0), steps=200, noise=noise, seed=seed)
    a = sim.simulate(s, opt, **kw)
    b = sim.simulate(s, opt, **kw)
    assert _same(a, b) and a.status == b.status
    c = sim.simulate(s, opt, **{**kw, "seed": (seed + 1) % 2**63})
    assert not np.array_equal(a.positions, c.positions)
    d = sim.simulate(s, opt, **kw, stream=1)
    assert not np.array_equal(a.positions, d.positions)


def test_noise_zero_is_no_noise():
    s = sim.get_surface("rosenbrock")
    a = sim.simulate(s, sim.Adam(lr=0.01), start=(-1.0, 1.5), steps=300)
    b = sim.simulate(s, sim.Adam(lr=0.01), start=(-1.0, 1.5), steps=300, noise=0.0, seed=99,
                     stream=7)
    assert _same(a, b)


def test_noise_is_gaussian_with_sigma_per_coordinate():
    # far out on the plateau the true gradient is ~1e-55, so SGD with lr = 1 moves by
    # exactly minus the noise
    s = sim.get_surface("plateau")
    sigma = 0.01
    run = sim.simulate(s, sim.SGD(lr=1.0), start=(8.0, 8.0), steps=20000, noise=sigma, seed=3)
    assert np.max(np.abs(run.gradients)) < 1e-40
    z = -np.diff(run.positions, axis=0) / sigma
    n = len(z)
    assert np.all(np.abs(z.mean(axis=0)) < 5 / math.sqrt(n))
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=0.03)
    assert abs(np.corrcoef(z[:, 0], z[:, 1])[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.corrcoef(z[1:, 0], z[:-1, 0])[0, 1]) < 5 / math.sqrt(n)  # no lag-1 memory
    # 4-sigma tails: about 6e-5 of the draws
    assert np.mean(np.abs(z) > 4) < 5e-4


def test_gradients_recorded_are_the_true_noise_free_ones():
    s = sim.get_surface("himmelblau")
    run = sim.simulate(s, sim.Adam(lr=0.05), start=(0.0, 0.0), steps=100, noise=5.0)
    np.testing.assert_allclose(run.gradients, s.gradient(run.positions), rtol=1e-13,
                               atol=1e-12)


# ---- simulate_batch == simulate(stream=i) ---------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(
    name=st.sampled_from(["rosenbrock", "himmelblau", "two-wells", "parabola", "ackley"]),
    opt=st.sampled_from([sim.Adam(lr=0.02), sim.SGD(lr=1e-3, momentum=0.9),
                         sim.NAdam(lr=0.01), sim.RMSprop(lr=1e-3, centered=True),
                         sim.Lion(lr=0.01), sim.Newton(lr=0.3, damping=2.0)]),
    noise=st.sampled_from([0.0, 0.5]),
    clip=st.sampled_from([None, 1.0]),
    seed=st.integers(0, 1000),
    n=st.integers(1, 300),
)
def test_batch_row_i_is_simulate_stream_i(name, opt, noise, clip, seed, n):
    s = sim.get_surface(name)
    rng = np.random.default_rng(seed)
    lo = np.array([d[0] for d in s.domain])
    hi = np.array([d[1] for d in s.domain])
    starts = lo + (hi - lo) * rng.uniform(0.3, 0.7, size=(n, s.dim))
    steps = 60
    sched = sim.CosineAnnealingLR(T_max=60)
    b = sim.simulate_batch(s, opt, starts, steps, schedule=sched, noise=noise, seed=seed,
                           clip_grad_norm=clip)
    assert b.final_positions.shape == (n, s.dim) and b.final_losses.shape == (n,)
    assert b.status.shape == (n,)
    for i in sorted({0, n // 2, n - 1, min(n - 1, 257)}):
        r = sim.simulate(s, opt, start=starts[i], steps=steps, schedule=sched, noise=noise,
                         seed=seed, clip_grad_norm=clip, stream=i)
        if r.n_steps < steps:  # diverged: the batch keeps going on non-finite numbers
            assert b.status[i] == "diverged"
            continue
        np.testing.assert_array_equal(b.final_positions[i], r.positions[-1])
        assert b.final_losses[i] == r.losses[-1]
        np.testing.assert_array_equal(b.final_gradients[i], r.gradients[-1])
        assert b.initial_losses[i] == r.losses[0]
        assert b.min_losses[i] == r.losses.min()
        assert b.status[i] == r.status, (i, r.status_reason)


@pytest.mark.parametrize("opt", [sim.Adam(lr=0.05), sim.Adam(lr=0.3, weight_decay=0.1)],
                         ids=["adam", "adam-wd"])
def test_batch_fused_adam_path_is_simulate_on_every_surface(opt):
    """Plain Adam without noise/clipping takes run_batch's fused loop: same bits as simulate."""
    rng = np.random.default_rng(7)
    for name in sim.list_surfaces():
        s = sim.get_surface(name)
        if s.kind == "data" or s.dim != 2:
            continue
        lo = np.array([d[0] for d in s.domain])
        hi = np.array([d[1] for d in s.domain])
        starts = lo + (hi - lo) * rng.uniform(0.1, 0.9, size=(300, 2))  # two blocks
        steps = 40
        b = sim.simulate_batch(s, opt, starts, steps)
        for i in (0, 151, 257, 299):
            r = sim.simulate(s, opt, start=starts[i], steps=steps, stream=i)
            if r.n_steps < steps:
                assert b.status[i] == "diverged"
                continue
            np.testing.assert_array_equal(b.final_positions[i], r.positions[-1])
            np.testing.assert_array_equal(b.final_gradients[i], r.gradients[-1])
            assert b.final_losses[i] == r.losses[-1], name
            assert b.initial_losses[i] == r.losses[0], name
            assert b.min_losses[i] == r.losses.min(), name
            assert b.status[i] == r.status, (name, i, r.status_reason)


def test_batch_memory_is_independent_of_steps():
    import tracemalloc

    s = sim.get_surface("rosenbrock")
    starts = np.random.default_rng(0).uniform(-1, 1, size=(2000, 2))
    sim.simulate_batch(s, sim.Adam(lr=0.01), starts, 10)  # warm up
    peaks = []
    for steps in (200, 2000):
        tracemalloc.start()
        sim.simulate_batch(s, sim.Adam(lr=0.01), starts, steps)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # the per-step learning-rate array (8 bytes a step) is the only thing that grows
    assert peaks[1] - peaks[0] < 8 * 1800 + 64_000


# ---- finite outputs -------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(["plateau", "ackley", "quadratic", "matyas", "booth", "two-wells",
                          "rastrigin"]),
    make=st.sampled_from([sim.Adam, sim.AdamW, sim.RMSprop, sim.Adagrad, sim.Adamax,
                          sim.NAdam, sim.Lion]),
    lr=st.floats(1e-4, 0.05),
    u=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
    noise=st.sampled_from([0.0, 0.1]),
)
def test_finite_on_bounded_surfaces_for_modest_lr(name, make, lr, u, noise):
    s = sim.get_surface(name)
    start = [lo + f * (hi - lo) for (lo, hi), f in zip(s.domain, u)]
    run = sim.simulate(s, make(lr=lr), start=start, steps=400, noise=noise)
    assert run.n_steps == 400
    assert np.all(np.isfinite(run.positions)) and np.all(np.isfinite(run.losses))
    assert np.all(np.isfinite(run.gradients))
    assert run.status != "diverged"


# ---- clip_grad_norm -------------------------------------------------------------------------
def test_clip_grad_norm_semantics():
    # SGD with lr = 1 far out on the plateau (gradient exactly 0 there): the step is minus
    # the (noisy, then clipped) gradient
    s = sim.get_surface("plateau")
    kw = dict(start=(200.0, 200.0), steps=500, noise=3.0, seed=1)
    free = sim.simulate(s, sim.SGD(lr=1.0), **kw)
    clipped = sim.simulate(s, sim.SGD(lr=1.0), **kw, clip_grad_norm=1.0)
    df = -np.diff(free.positions, axis=0)
    dc = -np.diff(clipped.positions, axis=0)
    nf = np.linalg.norm(df, axis=1)
    # noise is drawn before clipping, so the clipped steps are the free ones rescaled:
    # g * max_norm / (||g|| + 1e-6) when that factor is < 1
    coef = np.minimum(1.0, 1.0 / (nf + 1e-6))
    assert np.max(np.abs(free.gradients)) == 0.0
    np.testing.assert_allclose(dc, df * coef[:, None], rtol=1e-12, atol=1e-12)
    assert np.all(np.linalg.norm(dc, axis=1) <= 1.0 + 1e-12)
    assert np.mean(coef < 1.0) > 0.9
    # a large max_norm changes nothing
    big = sim.simulate(s, sim.SGD(lr=1.0), **kw, clip_grad_norm=1e6)
    assert _same(big, free)


def test_clip_keeps_a_huge_lr_step_bounded():
    # x^2 + y^2 from (3, 4): gradient (6, 8), norm 10; clip to 0.5 and lr 1 -> step 0.5
    run = sim.simulate(sim.get_surface("quadratic"), sim.SGD(lr=1.0), start=(3.0, 4.0),
                       steps=1, clip_grad_norm=0.5)
    coef = 0.5 / (10.0 + 1e-6)
    np.testing.assert_allclose(run.positions[1], [3 - 6 * coef, 4 - 8 * coef], rtol=1e-15)


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, float("nan"), float("inf"), True, "1"])
def test_bad_clip_is_a_value_error(bad):
    with pytest.raises(ValueError, match="clip_grad_norm"):
        sim.simulate(sim.get_surface("quadratic"), sim.SGD(), start=(1, 1), steps=3,
                     clip_grad_norm=bad)


# ---- minibatches on data surfaces -----------------------------------------------------------
def test_full_batch_is_gradient_descent():
    d = sim.get_surface("linear-regression")
    N = d.spec[7].shape[0]
    gd = sim.simulate(d, sim.SGD(lr=0.1), start=(0.0, 0.0), steps=100)
    for b in (None, N, N + 5):
        full = sim.simulate(d, sim.SGD(lr=0.1), start=(0.0, 0.0), steps=100, batch_size=b,
                            seed=4)
        assert _same(full, gd)
    # and GD follows the full-data gradient the surface reports
    np.testing.assert_allclose(np.diff(gd.positions, axis=0), -0.1 * gd.gradients[:-1],
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["linear-regression", "logistic-regression"])
def test_minibatches_differ_and_reproduce_by_seed(name):
    d = sim.get_surface(name)
    gd = sim.simulate(d, sim.SGD(lr=0.1), start=(0.5, -0.5), steps=200)
    a = sim.simulate(d, sim.SGD(lr=0.1), start=(0.5, -0.5), steps=200, batch_size=8, seed=1)
    b = sim.simulate(d, sim.SGD(lr=0.1), start=(0.5, -0.5), steps=200, batch_size=8, seed=1)
    c = sim.simulate(d, sim.SGD(lr=0.1), start=(0.5, -0.5), steps=200, batch_size=8, seed=2)
    assert _same(a, b)
    assert not np.array_equal(a.positions, gd.positions)
    assert not np.array_equal(a.positions, c.positions)
    # the recorded loss is the full-batch loss, and minibatch SGD still makes progress
    np.testing.assert_allclose(a.losses, d.value(a.positions), rtol=1e-12)
    assert a.losses[-1] < a.losses[0]


def test_minibatch_gradient_is_unbiased():
    # one SGD step with lr = 1 from p0 moves by minus the minibatch gradient; over many
    # seeds (shuffles) its mean is the full-batch gradient
    d = sim.get_surface("linear-regression")
    N = d.spec[7].shape[0]
    p0 = np.array([0.3, -0.7])
    full = d.gradient(p0)
    steps = []
    for seed in range(40):
        r = sim.simulate(d, sim.SGD(lr=1.0), start=p0, steps=1, batch_size=N // 4, seed=seed)
        steps.append(p0 - r.positions[1])
    steps = np.array(steps)
    assert not np.allclose(steps, full)  # a minibatch gradient is not the full one
    # ... but it is unbiased: the mean over seeds approaches the full gradient
    se = steps.std(axis=0) / math.sqrt(len(steps))
    assert np.all(np.abs(steps.mean(axis=0) - full) < 5 * se + 1e-12)


def test_data_surface_accepts_every_other_option():
    d = sim.get_surface("logistic-regression")
    run = sim.simulate(d, sim.Adam(lr=0.05), start=(0.0, 0.0), steps=300, batch_size=16,
                       noise=0.1, seed=5, clip_grad_norm=2.0,
                       schedule=sim.CosineAnnealingLR(T_max=300))
    assert run.n_steps == 300 and np.all(np.isfinite(run.positions))
    b = sim.simulate_batch(d, sim.Adam(lr=0.05), np.zeros((3, 2)), 300, batch_size=16,
                           noise=0.1, seed=5, clip_grad_norm=2.0,
                           schedule=sim.CosineAnnealingLR(T_max=300))
    np.testing.assert_array_equal(b.final_positions[0], run.positions[-1])


@pytest.mark.parametrize("name", ["quadratic", "parabola", "rosenbrock"])
def test_batch_size_on_a_non_data_surface_is_a_value_error(name):
    s = sim.get_surface(name)
    with pytest.raises(ValueError, match="batch_size"):
        sim.simulate(s, sim.SGD(), start=[0.5] * s.dim, steps=3, batch_size=4)
    with pytest.raises(ValueError, match="batch_size"):
        sim.simulate_batch(s, sim.SGD(), np.zeros((2, s.dim)), 3, batch_size=4)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size_is_a_value_error(bad):
    with pytest.raises(ValueError, match="batch_size"):
        sim.simulate(sim.get_surface("linear-regression"), sim.SGD(), start=(0, 0), steps=3,
                     batch_size=bad)


# ---- status rules: classify on constructed summaries ----------------------------------------
def _classify(**over):
    base = dict(f0=10.0, f_end=1.0, f_min=1.0, f_win=2.0, flips=0, window=100, bad=False,
                gnorm=1.0, eig_min=1.0, eig_maxabs=2.0, dist=0.0, scale=10.0, min_value=None)
    base.update(over)
    return int(classify(**base))


def test_classify_every_branch():
    assert _classify() == CONVERGING  # still going down, gradient not small
    assert _classify(bad=True) == DIVERGED
    assert _classify(f_end=np.nan) == DIVERGED
    assert _classify(f_end=np.inf) == DIVERGED
    # loss grew more than 1000-fold its initial gap above the best value
    assert _classify(f0=10.0, f_min=1.0, f_end=1.0 + 1e3 * 9.0 + 1.0) == DIVERGED
    assert _classify(f0=10.0, f_min=1.0, f_end=1.0 + 1e3 * 9.0 - 1.0, f_win=1e5) == CONVERGING
    assert _classify(dist=51.0) == DIVERGED  # more than five domain diagonals away
    assert _classify(dist=49.0) == CONVERGING
    # vanishing gradient: at a minimum, at a saddle, on a flat region
    assert _classify(gnorm=GTOL, f_win=1.0) == CONVERGED
    assert _classify(gnorm=GTOL * 1.01, f_win=1.0) == STALLED  # not small, not going down
    assert _classify(gnorm=1e-9, eig_min=-1.0) == STALLED
    assert _classify(gnorm=1e-9, eig_min=0.0, eig_maxabs=0.0) == STALLED  # flat
    # flat at the known minimum value is converged (plateau's centre is not flat, but a
    # flat minimum such as a degenerate one is)
    assert _classify(gnorm=1e-9, eig_min=0.0, eig_maxabs=0.0, f_end=0.0, min_value=0.0) \
        == CONVERGED
    assert _classify(gnorm=1e-9, eig_min=0.0, eig_maxabs=0.0, f_end=0.5, min_value=0.0) \
        == STALLED
    # oscillating: >= 80 % of the window's successive moves reverse and no progress
    w = 100
    assert _classify(flips=80, window=w, f_win=1.0) == OSCILLATING
    assert _classify(flips=79, window=w, f_win=1.0) == STALLED
    assert _classify(flips=99, window=w, f_win=2.0) == CONVERGING  # reversing but going down
    assert _classify(flips=1, window=2, f_win=1.0) == OSCILLATING  # tiny windows: one flip
    # vectorised: broadcasting over arrays
    codes = classify(np.array([10.0, 10.0]), np.array([1.0, np.nan]), 1.0, 2.0, 0, 100,
                     np.array([False, False]), 1.0, 1.0, 2.0, 0.0, 10.0)
    assert codes.tolist() == [CONVERGING, DIVERGED]


def test_status_saddle_stable_manifold():
    # GD from (1, 0) on x^2 - y^2 slides along the stable manifold y = 0 into the saddle
    run = sim.simulate(sim.get_surface("saddle"), sim.SGD(lr=0.1), start=(1.0, 0.0),
                       steps=400)
    assert run.status == "stalled"
    assert "saddle" in run.status_reason
    np.testing.assert_allclose(run.final_position, [0.0, 0.0], atol=1e-20)
    # a little noise frees it (and the saddle is unbounded below: the run leaves the domain)
    noisy = sim.simulate(sim.get_surface("saddle"), sim.SGD(lr=0.1), start=(1.0, 0.0),
                         steps=400, noise=1e-3, seed=0)
    assert noisy.status != "stalled"


def test_status_plateau_tiny_lr_stalled_modest_lr_converging():
    s = sim.get_surface("plateau")
    # at (2.5, 2.5) the slope is ~2.6e-5: lr 1e-6 lowers the loss by ~1e-15 a step,
    # below the 1e-12 relative progress a window needs -> stalled ("stopped going down")
    tiny = sim.simulate(s, sim.SGD(lr=1e-6), start=(2.5, 2.5), steps=400)
    assert tiny.status == "stalled" and "stopped going down" in tiny.status_reason
    modest = sim.simulate(s, sim.SGD(lr=1e-2), start=(2.5, 2.5), steps=400)
    assert modest.status == "converging" and "still going down" in modest.status_reason
    # far out the gradient underflows to nothing: stalled on a flat region
    far = sim.simulate(s, sim.SGD(lr=0.1), start=(3.9, 3.9), steps=50, noise=0.0)
    assert far.status == "stalled"
    assert "flat" in far.status_reason or "stopped" in far.status_reason


@pytest.mark.parametrize("opt, steps", [(sim.SGD(lr=1e-3, momentum=0.9), 20000),
                                        (sim.Newton(lr=1.0), 50)])
def test_status_converged_at_the_minimum(opt, steps):
    run = sim.simulate(sim.get_surface("rosenbrock"), opt, start=(-1.5, 2.0), steps=steps)
    assert run.status == "converged", run.status_reason
    assert "minimum" in run.status_reason
    np.testing.assert_allclose(run.final_position, [1.0, 1.0], atol=1e-6)
    assert 0 < run.status_step <= steps
    assert np.all(run.grad_norms[run.status_step:] <= GTOL)
    assert run.grad_norms[run.status_step - 1] > GTOL


def test_status_oscillating_on_a_ravine():
    # SGD just above 2 / lambda_max across a valley whose long axis still makes progress
    # is diverged; exactly at 2 / lambda_max it bounces with constant amplitude
    s = sim.get_surface("ravine", condition=100.0, angle=0.0)  # curvatures 0.02 and 2
    run = sim.simulate(s, sim.SGD(lr=1.0), start=(0.0, 1.0), steps=200)
    assert run.status == "oscillating"
    assert run.status_step is not None and run.status_step <= 2


def test_diverged_run_ends_at_the_last_finite_step():
    s = parabola(3.0)
    run = sim.simulate(s, sim.SGD(lr=2.0), start=(7.0,), steps=5000)
    assert run.status == "diverged"
    n = run.n_steps
    assert n < 5000
    assert len(run.positions) == len(run.losses) == len(run.gradients) == n + 1
    assert len(run.learning_rates) == n
    assert np.all(np.isfinite(run.positions)) and np.all(np.isfinite(run.losses))
    assert run.status_step == n
    # one more update from the last point overflows
    w = run.positions[-1, 0]
    with np.errstate(over="ignore", invalid="ignore"):
        nxt = w - 2.0 * (2.0 * (w - 3.0))
        assert not (np.isfinite(nxt) and np.isfinite((nxt - 3.0) ** 2))


@pytest.mark.parametrize("name,start", [("parabola", (7.0,)), ("rosenbrock", (-1.0, 1.0)),
                                        ("quadratic", (1.0, 1.0))])
def test_huge_lr_simply_diverges_with_a_reason(name, start):
    run = sim.simulate(sim.get_surface(name), sim.SGD(lr=1e9), start=start, steps=100_000)
    assert run.status == "diverged"
    assert run.n_steps < 100
    assert "step" in run.status_reason and len(run.status_reason) > 20
    assert np.all(np.isfinite(run.positions))


# ---- learning rates -------------------------------------------------------------------------
def test_learning_rates_follow_the_schedule_and_the_run_length():
    s = sim.get_surface("quadratic")
    sched = sim.OneCycleLR(max_lr=0.1, total_steps=500)
    run = sim.simulate(s, sim.SGD(lr=0.05), start=(1.0, 1.0), steps=300, schedule=sched)
    assert len(run.learning_rates) == 300
    np.testing.assert_array_equal(run.learning_rates, sched.learning_rates(0.05, 300))
    run = sim.simulate(s, sim.SGD(lr=0.05), start=(1.0, 1.0), steps=300)
    np.testing.assert_array_equal(run.learning_rates, np.full(300, 0.05))


# ---- bad input ------------------------------------------------------------------------------
def test_unknown_surface_lists_the_names():
    with pytest.raises(LookupError) as e:
        sim.get_surface("rosenbrok")
    msg = str(e.value)
    assert "rosenbrok" in msg
    for name in sim.list_surfaces():
        assert name in msg


QUAD = sim.get_surface("quadratic")


@pytest.mark.parametrize(
    "kw, err, word",
    [
        (dict(start=(np.nan, 1.0)), ValueError, "finite"),
        (dict(start=(1.0, np.inf)), ValueError, "finite"),
        (dict(start=(1.0,)), ValueError, "coordinates"),
        (dict(start=(1.0, 2.0, 3.0)), ValueError, "coordinates"),
        (dict(steps=sim.MAX_STEPS + 1), ValueError, "steps"),
        (dict(steps=-1), ValueError, "steps"),
        (dict(steps=True), ValueError, "steps"),
        (dict(steps=10.0), ValueError, "steps"),
        (dict(steps=None), ValueError, "steps"),
        (dict(noise=-0.1), ValueError, "noise"),
        (dict(noise=float("nan")), ValueError, "noise"),
        (dict(noise=float("inf")), ValueError, "noise"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=1.5), ValueError, "seed"),
    ],
)
def test_bad_input_is_a_clear_error(kw, err, word):
    args = dict(start=(1.0, 1.0), steps=10)
    args.update(kw)
    with pytest.raises(err, match=word):
        sim.simulate(QUAD, sim.SGD(lr=0.1), **args)


def test_bad_optimizer_and_schedule_arguments():
    with pytest.raises(ValueError, match="lr"):
        sim.simulate(QUAD, sim.SGD(lr=-1), start=(1, 1), steps=3)
    with pytest.raises(ValueError, match="beta"):
        sim.Adam(betas=(0.9, 1.0))
    with pytest.raises(TypeError):
        sim.simulate(QUAD, "adam", start=(1, 1), steps=3)
    with pytest.raises(TypeError):
        sim.simulate(QUAD, sim.Adam(), start=(1, 1), steps=3, schedule="cosine")
    with pytest.raises(TypeError):
        sim.simulate("quadratic", sim.Adam(), start=(1, 1), steps=3)


def test_bad_batch_input():
    s = QUAD
    with pytest.raises(ValueError, match="starts"):
        sim.simulate_batch(s, sim.SGD(), np.zeros((3, 3)), 5)
    with pytest.raises(ValueError, match="starts"):
        sim.simulate_batch(s, sim.SGD(), np.zeros(4), 5)
    with pytest.raises(ValueError, match="finite"):
        sim.simulate_batch(s, sim.SGD(), np.array([[0.0, np.nan]]), 5)
    with pytest.raises(ValueError, match="steps"):
        sim.simulate_batch(s, sim.SGD(), np.zeros((1, 2)), MAX_BATCH_STEPS + 1)
    # a 1-D surface takes a flat array of starts
    b = sim.simulate_batch(parabola(2.0), sim.SGD(lr=0.5), np.array([8.0, -3.0]), 3)
    np.testing.assert_array_equal(b.final_positions[:, 0], [2.0, 2.0])
    assert list(b.status) == ["converged", "converged"]


# ---- memory ---------------------------------------------------------------------------------
def _array_bytes(*arrays):
    seen = {}
    for a in arrays:
        while a.base is not None and isinstance(a.base, np.ndarray):
            a = a.base
        seen[id(a)] = a.nbytes
    return sum(seen.values())


@pytest.mark.parametrize("name,start", [("rosenbrock", (-1.5, 2.0)), ("parabola", (7.0,))])
def test_million_step_trajectory_under_64_mb(name, start):
    run = sim.simulate(sim.get_surface(name), sim.Adam(lr=1e-3), start=start, steps=10**6)
    assert run.n_steps == 10**6
    total = _array_bytes(run.positions, run.losses, run.gradients, run.learning_rates)
    assert total < 64 * 2**20, total


def test_unbounded_below_is_not_described_as_growing():
    # GD near the saddle of x^2 - y^2 runs off along y, the loss falling to -inf; the run is
    # 'diverged' because it leaves the domain, and the reason must not say the loss grew
    run = sim.simulate(sim.get_surface("saddle"), sim.SGD(lr=0.1), start=(1.0, 1e-3),
                       steps=300)
    assert run.status == "diverged"
    assert run.losses[-1] < run.losses[0]
    assert "grew" not in run.status_reason
    assert "domain" in run.status_reason


def test_batch_stream_offset_continues_the_streams():
    s = sim.get_surface("quadratic")
    starts = np.random.default_rng(3).uniform(-2, 2, size=(40, 2))
    whole = sim.simulate_batch(s, sim.SGD(lr=0.05), starts, steps=30, noise=0.3, seed=5)
    first = sim.simulate_batch(s, sim.SGD(lr=0.05), starts[:17], steps=30, noise=0.3, seed=5)
    rest = sim.simulate_batch(s, sim.SGD(lr=0.05), starts[17:], steps=30, noise=0.3, seed=5,
                              stream_offset=17)
    assert np.array_equal(whole.final_positions,
                          np.vstack([first.final_positions, rest.final_positions]))
    run = sim.simulate(s, sim.SGD(lr=0.05), starts[20], steps=30, noise=0.3, seed=5, stream=20)
    assert np.array_equal(run.final_position, rest.final_positions[3])
    with pytest.raises(ValueError, match="stream_offset"):
        sim.simulate_batch(s, sim.SGD(lr=0.05), starts, steps=3, stream_offset=-1)


def test_a_diverging_run_is_classified_without_numpy_warnings():
    import warnings

    from simulator.core.engine import simulate
    from simulator.core.library import get_surface
    from simulator.core.optimizers import SGD

    statuses = set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would be an error
        for lr in np.geomspace(0.002, 0.02, 12):  # some end with a gradient near 1e200
            run = simulate(get_surface("rosenbrock"), SGD(lr=float(lr)), (-1.5, 2.0), steps=2000)
            statuses.add(run.status)
    assert "diverged" in statuses


def test_last_step_above_tolerance_by_chunks_equals_the_whole_array():
    from simulator.core.engine import GTOL, _last_above

    rng = np.random.default_rng(5)
    for n, d in ((1, 2), (7, 1), (300, 2), (1000, 2)):
        g = rng.standard_normal((n, d)) * np.logspace(1, -12, n)[:, None]
        gn = np.sqrt(np.sum(g**2, axis=1))
        above = np.nonzero(gn > GTOL)[0]
        want = int(above[-1]) if len(above) else None
        for chunk in (1, 3, 64, 10_000):  # chunk edges anywhere, even one row a chunk
            assert _last_above(g, GTOL, chunk) == want
    assert _last_above(np.zeros((50, 2)), GTOL, 7) is None


def test_next_lr_is_the_rate_the_schedule_would_apply():
    s = sim.get_surface("quadratic")
    sched = sim.StepLR(step_size=2, gamma=0.5)
    run = sim.simulate(s, sim.SGD(lr=1.0), start=(0.1, 0.1), steps=4, schedule=sched)
    # updates 0..3 use 1, 1, 0.5, 0.5; after four scheduler steps torch's lr is 0.25
    np.testing.assert_array_equal(run.learning_rates, [1.0, 1.0, 0.5, 0.5])
    assert run.next_lr == 0.25 and run.table()["lr"][-1] == 0.25
    # a run cut short: the rate the next update would have had on the full schedule
    gone = sim.simulate(s, sim.SGD(lr=1000.0), start=(1.0, 1.0), steps=500,
                        schedule=sim.StepLR(step_size=20, gamma=0.5))
    n = gone.n_steps
    assert gone.status == "diverged" and n < 500
    assert gone.next_lr == sim.StepLR(step_size=20, gamma=0.5).learning_rates(1000.0, 500)[n]
    assert gone.table()["lr"][-1] == gone.next_lr
