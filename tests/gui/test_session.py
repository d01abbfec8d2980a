"""The Session model: edits, coalesced recomputes, validation, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulator.core.optimizers import SGD, Adam
from simulator.core.schedules import CosineAnnealingLR, OneCycleLR, StepLR
from simulator.core.surfaces import get_surface
from simulator.gui.palette import OKABE_ITO
from simulator.gui.session import FORMAT, MAX_LANES, PRESETS, Session


@pytest.fixture
def session(qtbot):
    s = Session()
    s.flush()
    return s


def test_default_scene_is_a_race_that_moves(session):
    s = session
    assert s.surface.name == "rosenbrock"
    assert [lane.name for lane in s.lanes] == ["GD", "Momentum", "RMSprop", "Adam"]
    assert s.lanes[1].optimizer.momentum == 0.9
    assert len({lane.color for lane in s.lanes}) == 4
    assert all(lane.color in OKABE_ITO for lane in s.lanes)
    assert set(s.results) == {lane.uid for lane in s.lanes}
    for lane in s.lanes:
        run = s.results[lane.uid]
        assert run.status != "diverged"
        moved = np.linalg.norm(run.positions[-1] - np.asarray(s.start))
        assert moved > 0.5, lane.name  # every lane visibly moves on the first screen
    assert s.frame == s.steps  # the whole paths are shown first


def test_changing_the_learning_rate_changes_the_trajectories(session, qtbot):
    s = session
    uid = s.lanes[3].uid
    before = s.results[uid].positions.copy()
    other = s.results[s.lanes[0].uid].positions.copy()
    with qtbot.waitSignal(s.trajectories_changed, timeout=2000):
        s.update_lane(3, lr=0.01)
    assert s.lanes[3].optimizer.lr == 0.01
    after = s.results[uid].positions
    assert not np.allclose(before[-1], after[-1])
    np.testing.assert_array_equal(other, s.results[s.lanes[0].uid].positions)


def test_many_edits_in_one_turn_recompute_once(session, qtbot):
    s = session
    count = []
    s.trajectories_changed.connect(lambda: count.append(1))
    for lr in (0.02, 0.03, 0.04):
        s.update_lane(3, lr=lr)
    s.set_start((-1.0, 1.5))
    s.set_training(seed=3)
    assert count == []  # coalesced: nothing computed yet
    qtbot.waitUntil(lambda: len(count) >= 1, timeout=2000)
    qtbot.wait(20)
    assert len(count) == 1
    assert s.results[s.lanes[3].uid].optimizer.lr == 0.04


def test_set_start_moves_every_lanes_start(session):
    s = session
    s.update_lane(2, start=(0.5, 2.5))  # a lane with its own start keeps it
    s.set_start((-1.0, 0.5))
    s.flush()
    assert s.start == (-1.0, 0.5)
    for i, lane in enumerate(s.lanes):
        p0 = tuple(s.results[lane.uid].positions[0])
        assert p0 == ((0.5, 2.5) if i == 2 else (-1.0, 0.5))
    with pytest.raises(ValueError):
        s.set_start((float("nan"), 0.0))
    with pytest.raises(ValueError):
        s.set_start((1.0,))
    assert s.start == (-1.0, 0.5)


def test_add_remove_duplicate_lanes(session):
    s = session
    lane = s.add_lane(SGD(lr=1e-3, momentum=0.9, nesterov=True), name="Nesterov")
    assert s.lanes[-1] is lane and lane.color not in {x.color for x in s.lanes[:-1]}
    s.select_lane(1)
    dup = s.duplicate_lane(1)
    assert s.lanes[2] is dup and dup.uid != s.lanes[1].uid
    assert dup.name == "Momentum 2" and dup.optimizer == s.lanes[1].optimizer
    s.flush()
    assert dup.uid in s.results
    np.testing.assert_allclose(s.results[dup.uid].positions, s.results[s.lanes[1].uid].positions)
    n = len(s.lanes)
    s.remove_lane(2)
    assert len(s.lanes) == n - 1 and dup not in s.lanes
    s.flush()
    assert dup.uid not in s.results
    # presets cover the list and build valid optimizers on any surface
    for name in ("GD", "SGD + noise", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam",
                 "AdamW", "NAdam", "RAdam", "Adamax", "Adadelta", "Lion", "Newton"):
        assert name in PRESETS
    while len(s.lanes) < MAX_LANES:
        s.add_preset("Adam")
    with pytest.raises(ValueError):
        s.add_preset("Lion")


def test_remove_keeps_selection_sensible(session):
    s = session
    s.select_lane(3)
    s.remove_lane(3)
    assert s.selected_lane == 2
    s.select_lane(0)
    s.remove_lane(1)
    assert s.selected_lane == 0
    while s.lanes:
        s.remove_lane(0)
    assert s.selected_lane == -1
    s.flush()
    assert s.results == {}


def test_disabled_lanes_are_not_run(session):
    s = session
    uid = s.lanes[0].uid
    s.update_lane(0, enabled=False)
    s.flush()
    assert uid not in s.results
    s.update_lane(0, enabled=True)
    s.flush()
    assert uid in s.results


def test_bad_learning_rate_is_rejected_and_state_kept(session, qtbot):
    s = session
    lr = s.lanes[0].optimizer.lr
    with qtbot.waitSignal(s.status_message, timeout=1000) as msg:
        with pytest.raises(ValueError, match="learning rate"):
            s.update_lane(0, lr=-1.0)
    assert "lr" in msg.args[0] or "learning rate" in msg.args[0]
    with pytest.raises(ValueError):
        s.update_lane(0, lr="fast")
    assert s.lanes[0].optimizer.lr == lr


def test_huge_learning_rate_is_accepted_and_diverges(session):
    s = session
    s.update_lane(0, lr=1e9)
    s.flush()
    run = s.results[s.lanes[0].uid]
    assert run.status == "diverged"
    assert run.status_step is not None


def test_training_settings_validate(session):
    s = session
    s.set_training(steps=200, seed=7, noise=0.5, clip_grad_norm=10.0)
    assert (s.steps, s.seed, s.noise, s.clip_grad_norm) == (200, 7, 0.5, 10.0)
    assert s.frame <= 200
    for bad in ({"steps": 0}, {"steps": 2.5}, {"seed": -1}, {"noise": -0.1},
                {"clip_grad_norm": 0.0}, {"batch_size": 0}, {"colour": 1}):
        with pytest.raises(ValueError):
            s.set_training(**bad)
    assert (s.steps, s.seed, s.noise, s.clip_grad_norm) == (200, 7, 0.5, 10.0)
    # a schedule that cannot cover the run is refused before it reaches the core
    with pytest.raises(ValueError):
        s.set_training(schedule=OneCycleLR(total_steps=10))
    s.set_training(schedule=StepLR(step_size=50, gamma=0.5))
    s.flush()
    lrs = s.results[s.lanes[0].uid].learning_rates
    assert lrs[0] == s.lanes[0].optimizer.lr and lrs[60] == pytest.approx(lrs[0] / 2)


def test_effective_settings_and_overrides(session):
    s = session
    s.set_training(noise=0.2, schedule=CosineAnnealingLR(T_max=100))
    lane = s.lanes[1]
    e = s.effective(lane)
    assert e["noise"] == 0.2 and isinstance(e["schedule"], CosineAnnealingLR)
    assert e["start"] == s.start and e["batch_size"] is None
    s.update_lane(1, noise=0.0, schedule=StepLR(), start=(0.0, 0.0))
    e = s.effective(lane)
    assert e["noise"] == 0.0 and isinstance(e["schedule"], StepLR)
    assert e["start"] == (0.0, 0.0)
    # batch size applies on data surfaces only
    s.set_training(batch_size=8)
    assert s.effective(lane)["batch_size"] is None
    s.set_surface(get_surface("linear-regression"))
    assert s.effective(lane)["batch_size"] == 8
    s.flush()
    assert s.results[lane.uid].batch_size == 8


def test_set_surface_moves_an_outside_start(session):
    s = session
    s.set_surface(get_surface("quadratic"))
    assert s.start == (-1.5, 2.0)  # inside the new domain: kept
    s.set_surface(get_surface("parabola"))
    assert len(s.start) == 1
    lo, hi = s.surface.domain[0]
    assert lo <= s.start[0] <= hi
    s.flush()
    assert all(run.positions.shape[1] == 1 for run in s.results.values())


def test_frame_is_clamped(session):
    s = session
    s.set_frame(-5)
    assert s.frame == 0
    s.set_frame(10**9)
    assert s.frame == s.steps
    s.set_training(steps=100)
    assert s.frame == 100


def test_session_dict_round_trip(session, qtbot):
    s = session
    s.set_surface(get_surface("ravine", condition=50.0))
    s.set_start((2.0, 1.0))
    s.add_lane(Adam(lr=0.1, betas=(0.8, 0.99)), name="fast Adam", noise=0.3,
               schedule=StepLR(step_size=10), start=(1.0, -1.0))
    s.set_training(steps=300, seed=4, clip_grad_norm=5.0,
                   schedule=CosineAnnealingLR(T_max=300))
    s.update_lane(0, enabled=False)
    s.flush()
    d = json.loads(json.dumps(s.to_dict()))
    assert d["format"] == FORMAT and d["version"] == 1
    t = Session()
    t.load_dict(d)
    assert t.to_dict() == s.to_dict()
    assert t.surface.params["condition"] == 50.0
    assert t.lanes[-1].optimizer.betas == (0.8, 0.99)
    for a, b in zip(s.lanes, t.lanes):
        if a.enabled:
            np.testing.assert_array_equal(s.results[a.uid].positions,
                                          t.results[b.uid].positions)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"format": "something-else", "version": 1},
        {"format": FORMAT},
        {"format": FORMAT, "version": 99},
        "corrupt",
    ],
)
def test_foreign_dicts_leave_the_scene_untouched(session, bad):
    s = session
    before = s.to_dict()
    with pytest.raises(ValueError):
        s.load_dict(bad)
    assert s.to_dict() == before


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["surface"].update(name="no-such-surface"),
        lambda d: d["lanes"][0]["optimizer"].update(name="Sgd2000"),
        lambda d: d["lanes"][0]["optimizer"].update(lr=-1),
        lambda d: d["lanes"][1].update(noise="loud"),
        lambda d: d["training"].update(steps="many"),
        lambda d: d["training"].update(schedule={"name": "StepLR", "gamma": "x"}),
        lambda d: d.update(start=[1.0]),
        lambda d: d.update(lanes={"a": 1}),
        lambda d: d["lanes"].append(7),
    ],
)
def test_corrupt_content_leaves_the_scene_untouched(session, edit):
    s = session
    before = s.to_dict()
    d = json.loads(json.dumps(before))
    d["lanes"][0]["name"] = "changed"
    edit(d)
    with pytest.raises(ValueError):
        s.load_dict(d)
    assert s.to_dict() == before


def test_suggested_learning_rates_move_on_a_new_surface(session):
    s = session
    s.set_surface(get_surface("parabola"))
    s.suggest_learning_rates()
    s.flush()
    for lane in s.lanes:
        run = s.results[lane.uid]
        assert run.status != "diverged", lane.name
        assert abs(run.positions[-1][0] - s.start[0]) > 1.0, lane.name


@pytest.mark.parametrize(
    "make",
    [
        lambda: get_surface("ravine", condition=42.0, angle=10.0),
        lambda: get_surface("rosenbrock").with_bumps([[0.0, 1.0, 2.0, 0.3]]),
        lambda: get_surface("linear-regression"),
        lambda: get_surface("double-well"),
    ],
)
def test_every_kind_of_surface_survives_a_session_file(session, make):
    from simulator.core.expressions import surface_from_expression

    s = session
    s.set_surface(make())
    t = Session()
    t.load_dict(json.loads(json.dumps(s.to_dict())))
    assert t.to_dict() == s.to_dict()
    assert t.surface.kind == s.surface.kind and t.surface.dim == s.surface.dim
    s.set_surface(surface_from_expression("x**2 + 3*y**2", domain=((-2, 2), (-1, 1))))
    t.load_dict(json.loads(json.dumps(s.to_dict())))
    assert t.surface.kind == "expression" and t.surface.domain == ((-2, 2), (-1, 1))


def test_an_edit_reruns_only_the_lanes_whose_inputs_changed(session):
    s = session
    before = dict(s.results)
    s.update_lane(1, lr=s.lanes[1].optimizer.lr * 2)
    s.flush()
    changed = s.lanes[1].uid
    assert s.changed_uids == {changed}
    assert s.results[changed] is not before[changed]
    for lane in s.lanes:
        if lane.uid != changed:
            assert s.results[lane.uid] is before[lane.uid]  # kept, not re-run
    # the kept runs are the runs a fresh computation gives
    fresh = Session(default_scene=False)
    fresh.load_dict(s.to_dict())
    for a, b in zip(s.lanes, fresh.lanes):
        assert np.array_equal(s.results[a.uid].positions, fresh.results[b.uid].positions,
                              equal_nan=True)
    # a training setting every lane uses re-runs every lane
    s.set_training(seed=s.seed + 1)
    s.flush()
    assert s.changed_uids == {lane.uid for lane in s.lanes}
    # back to a previous value: the lane runs again with that value
    lr = s.lanes[0].optimizer.lr
    s.update_lane(0, lr=lr * 3)
    s.flush()
    s.update_lane(0, lr=lr)
    s.flush()
    assert s.changed_uids == {s.lanes[0].uid}
    assert s.results[s.lanes[0].uid].optimizer.lr == lr


def test_changed_uids_track_disabled_removed_and_new_surfaces(session):
    s = session
    uid = s.lanes[2].uid
    s.update_lane(2, enabled=False)
    s.flush()
    assert s.changed_uids == {uid} and uid not in s.results
    s.update_lane(2, enabled=True)
    s.flush()
    assert s.changed_uids == {uid} and uid in s.results
    s.update_lane(0, color="#123456")  # a colour runs nothing again
    s.flush()
    assert s.changed_uids == set()
    s.set_surface(get_surface("quadratic"))
    assert s.changed_uids is None  # a new surface: every view redraws everything
    assert all(r.surface is s.surface for r in s.results.values())
