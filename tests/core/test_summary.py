"""One-line reprs and notebook HTML of runs, batches, surfaces, scenes, optimizers and
schedules (simulator.core.summary)."""

from __future__ import annotations

import dataclasses
import html

import numpy as np
import pytest

import simulator as sim
from simulator.core import summary

ROSEN = sim.get_surface("rosenbrock")


@pytest.fixture(scope="module")
def run():
    return sim.simulate(ROSEN, sim.Adam(lr=0.02), start=(-1.5, 2.0), steps=500)


def test_trajectory_repr_is_one_short_line(run):
    text = repr(run)
    assert len(text) < 200 and "\n" not in text
    assert text.startswith("<Trajectory Adam(lr=0.02) on rosenbrock: ")
    assert run.status in text and "of 500" in text
    assert f"final loss {run.final_loss:.3g}" in text
    assert "array" not in text


def test_trajectory_repr_names_the_status_step():
    run = sim.simulate(sim.get_surface("quadratic"), sim.SGD(lr=0.1), start=(1.0, 1.0),
                       steps=2000)
    assert run.status == "converged" and run.status_step is not None
    assert f"converged at step {run.status_step} of 2000" in repr(run)


def test_long_formula_names_are_cut():
    s = sim.surface_from_expression("x**2 + y**2" + " + 0*x" * 40)
    run = sim.simulate(s, sim.SGD(lr=0.1), start=(1.0, 1.0), steps=500)
    assert len(repr(run)) < 200 and len(repr(s)) < 120
    assert "\u2026" in repr(run)


def test_trajectory_html(run):
    text = run._repr_html_()
    assert text.startswith("<table>") and "Adam(lr=0.02)" in text
    assert run.status in text and html.escape(run.status_reason) in text


def test_batch_repr_counts_statuses():
    starts = np.array([[-1.5, 2.0], [0.0, 0.0], [1.0, 2.0]])
    b = sim.simulate_batch(ROSEN, sim.Adam(lr=0.02), starts, steps=500)
    text = repr(b)
    assert len(text) < 200 and "3 runs of 500 steps" in text
    names, counts = np.unique(b.status, return_counts=True)
    for name, n in zip(names, counts):
        assert f"{n} {name}" in text
    assert f"best final loss {np.min(b.final_losses):.3g}" in text
    assert "<table>" in b._repr_html_()


def test_surface_repr_and_html():
    assert repr(ROSEN) == "<Surface 'rosenbrock' (2-D, builtin) on [-2, 2] x [-1, 3]>"
    s = dataclasses.replace(ROSEN, name="<i>bowl</i>", formula="a < b & c")
    text = s._repr_html_()
    assert "&lt;i&gt;bowl&lt;/i&gt;" in text and "a &lt; b &amp; c" in text
    assert "<i>" not in text and "a < b" not in text


def test_scene_html_escapes_lane_names():
    scene = sim.Scene(ROSEN, steps=300)
    scene.add_lane(sim.Adam(lr=0.02), name="<b>x</b>")
    scene.add_lane(sim.SGD(), name="off", enabled=False)
    text = scene._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    line = repr(scene)
    assert line == "<Scene 'rosenbrock': 2 lanes (1 enabled), 300 steps from (-1.5, 2)>"
    assert repr(sim.Scene()).startswith("<Scene (no surface): 0 lanes")


BASIC = [
    sim.SGD(),
    sim.SGD(lr=0.1, momentum=0.9, nesterov=True),
    sim.Adam(lr=0.02, betas=(0.8, 0.99)),
    sim.AdamW(lr=0.003, weight_decay=0.1, amsgrad=True),
    sim.Adagrad(lr=0.5),
    sim.RMSprop(lr=0.01, alpha=0.9, momentum=0.5),
    sim.NAdam(),
    sim.RAdam(lr=1e-2),
    sim.Adamax(),
    sim.Adadelta(),
    sim.Lion(lr=1e-4),
    sim.Newton(),
]


@pytest.mark.parametrize("opt", BASIC, ids=lambda o: o.name)
def test_optimizer_repr_round_trips(opt):
    text = repr(opt)
    assert text.startswith(f"{opt.name}(lr=")
    assert eval(text, vars(sim)) == opt


def test_optimizer_repr_shows_only_changed_arguments():
    assert repr(sim.Adam(lr=0.02)) == "Adam(lr=0.02)"
    assert repr(sim.Adam(lr=0.02, betas=(0.9, 0.99))) == "Adam(lr=0.02, betas=(0.9, 0.99))"
    assert repr(sim.SGD(lr=0.1, momentum=0.9)) == "SGD(lr=0.1, momentum=0.9)"


SCHEDULES = [
    sim.ConstantSchedule(),
    sim.StepLR(step_size=2, gamma=0.5),
    sim.MultiStepLR(milestones=(10, 20)),
    sim.CosineAnnealingLR(T_max=100),
    sim.SequentialLR([sim.LinearLR(start_factor=0.25, total_iters=2),
                      sim.ExponentialLR(gamma=0.5)], milestones=[3]),
    sim.PolynomialLR(total_iters=50, power=2.0),
    sim.ChainedScheduler([sim.LinearLR(start_factor=0.5), sim.ExponentialLR(gamma=0.9)]),
    sim.ReduceLROnPlateau(mode="max", patience=3, threshold_mode="abs"),
]


@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: s.name)
def test_schedule_repr_round_trips(sched):
    assert eval(repr(sched), vars(sim)) == sched


def test_schedule_repr_is_the_short_call():
    assert repr(sim.StepLR(step_size=2)) == "StepLR(step_size=2)"
    assert repr(sim.ConstantSchedule()) == "ConstantSchedule()"


def test_num_and_short():
    assert summary.num(3.1e-9) == "3.1e-09" and summary.num(float("nan")) == "nan"
    assert summary.short("a  b\nc") == "a b c"
    assert len(summary.short("x" * 100)) == summary.MAX_NAME


def test_diverged_and_empty_runs():
    run = sim.simulate(sim.get_surface("quadratic"), sim.SGD(lr=10.0), start=(1.0, 1.0),
                       steps=500)
    assert run.status == "diverged"
    assert f"diverged at step {run.status_step} of 500" in repr(run) and len(repr(run)) < 200
    empty = sim.simulate(sim.get_surface("parabola"), sim.Adam(), start=[1.0], steps=0)
    table = empty.table()
    assert table.dtype.names == summary.TABLE_COLUMNS_1D and len(table) == 1
    # the one row's lr is the rate the first update would have had
    assert table["step"][0] == 0 and table["lr"][0] == sim.Adam().lr
    assert table["optimizer"][0] == "Adam(lr=0.001)" and table["status"][0] == empty.status
    assert "of 0 steps" in repr(empty)
