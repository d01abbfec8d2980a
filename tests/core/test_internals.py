"""Optimizer internals (``sim.optimizer_state``): replayed state against recorded runs.

The replay runs the kernels' update rules in the interpreter over the recorded positions,
so the step it computes equals the recorded step exactly, for every optimizer, with noise,
clipping and minibatches; the named quantities are checked by hand on small cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator as sim
from simulator.core.internals import _replay, gradients_used

COORDWISE = [
    sim.SGD(lr=1e-3), sim.SGD(lr=5e-4, momentum=0.9, nesterov=True, weight_decay=0.01),
    sim.Adagrad(lr=0.1), sim.RMSprop(lr=0.01, centered=True, momentum=0.5),
    sim.Adam(lr=0.05, amsgrad=True), sim.AdamW(lr=0.05), sim.NAdam(lr=0.02),
    sim.RAdam(lr=0.02), sim.Adamax(lr=0.02), sim.Adadelta(), sim.Lion(lr=1e-3),
    sim.Rprop(lr=0.01), sim.ASGD(lr=1e-3, t0=3.0),
]


@pytest.mark.parametrize("opt", COORDWISE, ids=lambda o: repr(o))
@pytest.mark.parametrize("noisy", [False, True])
def test_replayed_step_equals_the_recorded_step(opt, noisy):
    s = sim.get_surface("rosenbrock")
    kw = {"noise": 0.5, "clip_grad_norm": 3.0} if noisy else {}
    run = sim.simulate(s, opt, start=(-1.2, 1.0), steps=40, seed=3,
                       schedule=sim.StepLR(step_size=10, gamma=0.5), **kw)
    r = _replay(run, run.n_steps)
    np.testing.assert_array_equal(r.moved, np.diff(run.positions, axis=0))
    for k in (0, 17, run.n_steps - 1):
        st = sim.optimizer_state(run, k)
        np.testing.assert_array_equal(st.step_taken, run.positions[k + 1] - run.positions[k])
        assert st.lr == run.learning_rates[k]


def test_minibatch_gradients_are_the_ones_used():
    s = sim.get_surface("linear-regression")
    run = sim.simulate(s, sim.SGD(lr=0.05, momentum=0.5), start=(1.0, -1.0), steps=30,
                       batch_size=8, seed=2)
    G = gradients_used(run, run.n_steps)
    # momentum buffer b_t = 0.5 b_{t-1} + g_t replayed by hand from the used gradients
    b = G[0].copy()
    for t in range(1, 10):
        b = b * 0.5 + G[t]
    st = sim.optimizer_state(run, 9)
    np.testing.assert_allclose(st.momentum, b, rtol=1e-14)
    assert not np.allclose(G[:10], run.gradients[:10])  # minibatches differ from the full
    r = _replay(run, run.n_steps)
    np.testing.assert_array_equal(r.moved, np.diff(run.positions, axis=0))


def test_adam_state_by_hand():
    # x^2 + 10 y^2 from (1, 1): g = (2, 20); m = 0.1 g; v = 0.001 g^2; after bias
    # correction m_hat = g and v_hat = g^2, so each coordinate moves by lr
    s = sim.surface_from_expression("x**2 + 10*y**2")
    run = sim.simulate(s, sim.Adam(lr=0.1), start=(1.0, 1.0), steps=3)
    st = sim.optimizer_state(run, 0)
    np.testing.assert_array_equal(st.gradient, [2.0, 20.0])
    np.testing.assert_allclose(st.momentum, [0.2, 2.0], rtol=1e-15)
    np.testing.assert_allclose(st.second_moment, [0.004, 0.4], rtol=1e-14)
    np.testing.assert_allclose(st.effective_lr, [0.1 / (2 + 1e-8), 0.1 / (20 + 1e-8)],
                               rtol=1e-12)
    np.testing.assert_allclose(st.effective_step, [0.1, 0.1], rtol=1e-8)
    assert st.momentum_name == "first moment m"


def test_sgd_rprop_asgd_lbfgs_newton_states():
    curve = sim.get_surface("parabola", c=3)
    st = sim.optimizer_state(sim.simulate(curve, sim.SGD(lr=0.1), start=[7.0], steps=2), 1)
    assert st.momentum is None and st.second_moment is None and st.effective_lr is None
    np.testing.assert_allclose(st.gradient, [2 * (6.2 - 3)], rtol=1e-15)
    st = sim.optimizer_state(
        sim.simulate(curve, sim.SGD(lr=0.1, momentum=0.9), start=[7.0], steps=2), 1)
    np.testing.assert_allclose(st.momentum, [0.9 * 8.0 + 6.4], rtol=1e-15)
    # Rprop: step sizes 1, 1.2, 1.44 while the sign holds
    run = sim.simulate(curve, sim.Rprop(lr=1.0), start=[7.0], steps=3)
    np.testing.assert_allclose([sim.optimizer_state(run, k).effective_lr[0] for k in range(3)],
                               [1.0, 1.2, 1.44], rtol=1e-15)
    # ASGD averages from t0: with t0 = 1, the second update's average is the mean
    run = sim.simulate(curve, sim.ASGD(lr=0.1, t0=0.0), start=[7.0], steps=3)
    st = sim.optimizer_state(run, 1)
    np.testing.assert_allclose(st.extra["average"], [run.positions[2, 0]], rtol=1e-15)
    st = sim.optimizer_state(run, 2)
    np.testing.assert_allclose(st.extra["average"],
                               [0.5 * (run.positions[2, 0] + run.positions[3, 0])], rtol=1e-15)
    run = sim.simulate(sim.get_surface("rosenbrock"), sim.LBFGS(), start=(-1.2, 1.0), steps=3)
    st = sim.optimizer_state(run, 1)
    assert st.extra["evaluations"] == run.evaluations[1] and st.momentum is None
    np.testing.assert_array_equal(st.step_taken, run.positions[2] - run.positions[1])
    run = sim.simulate(sim.get_surface("himmelblau"), sim.Newton(), start=(1.0, 1.0), steps=2)
    st = sim.optimizer_state(run, 0)
    np.testing.assert_array_equal(st.gradient, run.gradients[0])


@pytest.mark.parametrize("bad", [-1, 3, 1.0, True, None])
def test_bad_step(bad):
    run = sim.simulate(sim.get_surface("quadratic"), sim.SGD(lr=0.1), start=(1, 1), steps=3)
    with pytest.raises(ValueError, match="step must be"):
        sim.optimizer_state(run, bad)


def test_replay_is_extended_not_redone():
    run = sim.simulate(sim.get_surface("rosenbrock"), sim.Adam(lr=0.01), start=(-1, 1),
                       steps=200)
    sim.optimizer_state(run, 5)
    r = _replay(run, 0)
    assert r.n == 6
    sim.optimizer_state(run, 150)
    assert _replay(run, 0) is r and r.n == 151
    assert math.isfinite(sim.optimizer_state(run, 199).effective_lr[0])


def test_momentum_arrows_add_up():
    s = sim.get_surface("rosenbrock")
    # heavy ball: the plain gradient step plus the momentum carried over is the step
    for opt in (sim.SGD(lr=1e-3, momentum=0.9), sim.SGD(lr=1e-3, momentum=0.9, nesterov=True)):
        run = sim.simulate(s, opt, start=(-1.2, 1.0), steps=20)
        for k in (0, 1, 12):
            st = sim.optimizer_state(run, k)
            np.testing.assert_allclose(-st.lr * st.gradient + st.momentum_step, st.step_taken,
                                       rtol=1e-12, atol=1e-15)
    # Adam: -lr m_hat, which the per-coordinate rates scale into the step
    run = sim.simulate(s, sim.Adam(lr=0.05), start=(-1.2, 1.0), steps=20)
    st = sim.optimizer_state(run, 6)
    m_hat = st.momentum / (1 - 0.9**7)
    np.testing.assert_allclose(st.momentum_step, -0.05 * m_hat, rtol=1e-14)
    np.testing.assert_allclose(st.step_taken, st.effective_lr * -m_hat, rtol=1e-12)


def test_network_runs_replay_too():
    net = sim.network("moons", hidden=(4,), n_train=32, n_test=32, seed=0)
    run = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=20)
    r = _replay(run, run.n_steps)
    np.testing.assert_array_equal(r.moved, np.diff(run.positions, axis=0))
    assert sim.optimizer_state(run, 7).effective_lr.shape == (net.n_params,)
