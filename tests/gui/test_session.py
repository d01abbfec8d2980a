"""The Session: the Qt adapter over a Scene (signals, coalesced recomputes, the run
cache, keeping the scene when a file is refused).

The scene's own rules (validation, presets, runs, the file format) are tested without
Qt in tests/core/test_scene.py; the tests that needed no signals moved there.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulator.core.library import get_surface
from simulator.gui.session import FORMAT, Session


@pytest.fixture
def session(qtbot):
    s = Session()
    s.flush()
    return s


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


def test_the_session_shows_the_runs_its_scene_gives(session):
    """scene.run() in a script gives the numbers the app shows."""
    from simulator.core.scene import load_scene

    s = session
    s.load_scene(load_scene("race"))
    s.update_lane(1, lr=s.lanes[1].optimizer.lr * 2)
    s.flush()
    runs = s.scene.run()
    shown = [s.results[lane.uid] for lane in s.lanes if lane.enabled]
    assert len(runs) == len(shown) == 4
    for a, b in zip(shown, runs):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.losses, b.losses)


def test_view_state_edits_signal_and_a_new_surface_resets_the_colour_scale(session, qtbot):
    s = session
    with qtbot.waitSignal(s.view_changed, timeout=1000):
        s.set_view(log_scale=False)
    assert s.view.log_scale is False and s.to_dict()["view"]["log_scale"] is False
    with pytest.raises(ValueError):
        s.set_view(views=("4d",))
    with qtbot.waitSignal(s.view_changed, timeout=1000):
        s.set_surface(get_surface("quadratic"))
    assert s.view.log_scale is None  # the new surface's own default
    # New Scene and old session files keep the views shown and the camera
    s.set_view(views=("2d",), camera={"elevation": 10, "azimuth": 20, "distance": 5})
    s.reset_scene()
    assert s.view.views == ("2d",) and s.view.camera["azimuth"] == 20.0
    d = s.to_dict()
    del d["view"]
    s.load_dict(d)
    assert s.view.views == ("2d",)
