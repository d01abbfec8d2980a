"""The Scene (no Qt): edits and their validation, runs, files, labs and load_scene.

The tests that need no signals moved here from tests/gui/test_session.py with their
assertions (``session.results`` after ``flush()`` is ``scene.compute()[0]`` here).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import simulator as sim
from simulator.core import labs
from simulator.core.colors import OKABE_ITO
from simulator.core.library import get_surface, list_surfaces
from simulator.core.optimizers import SGD, Adam
from simulator.core.scene import FORMAT, MAX_LANES, PRESETS, Scene, ViewState, load_scene
from simulator.core.schedules import CosineAnnealingLR, OneCycleLR, StepLR


@pytest.fixture
def scene():
    return Scene.default()


def results(scene) -> dict:
    """The runs the app holds for ``scene`` (``Session.results``)."""
    return scene.compute()[0]


def test_no_qt_was_imported():
    # this file runs in the same process as the GUI tests; what matters is that the
    # scene module itself never needs Qt (checked by lint-imports for all of core)
    import simulator.core.scene as mod

    assert "PySide6" not in mod.__dict__ and not hasattr(mod, "QObject")
    assert sys.modules["simulator.core.scene"] is mod


# ---- moved from tests/gui/test_session.py ---------------------------------------------------
def test_default_scene_is_a_race_that_moves(scene):
    s = scene
    res = results(s)
    assert s.surface.name == "rosenbrock"
    assert [lane.name for lane in s.lanes] == ["GD", "Momentum", "RMSprop", "Adam"]
    assert s.lanes[1].optimizer.momentum == 0.9
    assert len({lane.color for lane in s.lanes}) == 4
    assert all(lane.color in OKABE_ITO for lane in s.lanes)
    assert set(res) == {lane.uid for lane in s.lanes}
    for lane in s.lanes:
        run = res[lane.uid]
        assert run.status != "diverged"
        moved = np.linalg.norm(run.positions[-1] - np.asarray(s.start))
        assert moved > 0.5, lane.name  # every lane visibly moves on the first screen
    assert s.frame == s.steps  # the whole paths are shown first


def test_set_start_moves_every_lanes_start(scene):
    s = scene
    s.update_lane(2, start=(0.5, 2.5))  # a lane with its own start keeps it
    s.set_start((-1.0, 0.5))
    res = results(s)
    assert s.start == (-1.0, 0.5)
    for i, lane in enumerate(s.lanes):
        p0 = tuple(res[lane.uid].positions[0])
        assert p0 == ((0.5, 2.5) if i == 2 else (-1.0, 0.5))
    with pytest.raises(ValueError):
        s.set_start((float("nan"), 0.0))
    with pytest.raises(ValueError):
        s.set_start((1.0,))
    assert s.start == (-1.0, 0.5)


def test_add_remove_duplicate_lanes(scene):
    s = scene
    lane = s.add_lane(SGD(lr=1e-3, momentum=0.9, nesterov=True), name="Nesterov")
    assert s.lanes[-1] is lane and lane.color not in {x.color for x in s.lanes[:-1]}
    s.select_lane(1)
    dup = s.duplicate_lane(1)
    assert s.lanes[2] is dup and dup.uid != s.lanes[1].uid
    assert dup.name == "Momentum 2" and dup.optimizer == s.lanes[1].optimizer
    res = results(s)
    assert dup.uid in res
    np.testing.assert_allclose(res[dup.uid].positions, res[s.lanes[1].uid].positions)
    n = len(s.lanes)
    s.remove_lane(2)
    assert len(s.lanes) == n - 1 and dup not in s.lanes
    assert dup.uid not in results(s)
    # presets cover the issue's list and build valid optimizers on any surface
    for name in ("GD", "SGD + noise", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam",
                 "AdamW", "NAdam", "RAdam", "Adamax", "Adadelta", "Lion", "Newton"):
        assert name in PRESETS
    while len(s.lanes) < MAX_LANES:
        s.add_preset("Adam")
    with pytest.raises(ValueError):
        s.add_preset("Lion")


def test_remove_keeps_selection_sensible(scene):
    s = scene
    s.select_lane(3)
    s.remove_lane(3)
    assert s.selected_lane == 2
    s.select_lane(0)
    s.remove_lane(1)
    assert s.selected_lane == 0
    while s.lanes:
        s.remove_lane(0)
    assert s.selected_lane == -1
    assert results(s) == {}


def test_disabled_lanes_are_not_run(scene):
    s = scene
    uid = s.lanes[0].uid
    s.update_lane(0, enabled=False)
    assert uid not in results(s)
    s.update_lane(0, enabled=True)
    assert uid in results(s)


def test_bad_learning_rate_is_rejected_and_state_kept(scene):
    s = scene
    lr = s.lanes[0].optimizer.lr
    with pytest.raises(ValueError, match="learning rate") as e:
        s.update_lane(0, lr=-1.0)
    assert "lr" in str(e.value) or "learning rate" in str(e.value)
    with pytest.raises(ValueError):
        s.update_lane(0, lr="fast")
    assert s.lanes[0].optimizer.lr == lr


def test_huge_learning_rate_is_accepted_and_diverges(scene):
    s = scene
    s.update_lane(0, lr=1e9)
    run = results(s)[s.lanes[0].uid]
    assert run.status == "diverged"
    assert run.status_step is not None


def test_training_settings_validate(scene):
    s = scene
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
    lrs = results(s)[s.lanes[0].uid].learning_rates
    assert lrs[0] == s.lanes[0].optimizer.lr and lrs[60] == pytest.approx(lrs[0] / 2)


def test_effective_settings_and_overrides(scene):
    s = scene
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
    assert results(s)[lane.uid].batch_size == 8


def test_set_surface_moves_an_outside_start(scene):
    s = scene
    s.set_surface(get_surface("quadratic"))
    assert s.start == (-1.5, 2.0)  # inside the new domain: kept
    s.set_surface(get_surface("parabola"))
    assert len(s.start) == 1
    lo, hi = s.surface.domain[0]
    assert lo <= s.start[0] <= hi
    assert all(run.positions.shape[1] == 1 for run in results(s).values())


def test_frame_is_clamped(scene):
    s = scene
    s.set_frame(-5)
    assert s.frame == 0
    s.set_frame(10**9)
    assert s.frame == s.steps
    s.set_training(steps=100)
    assert s.frame == 100


def test_session_dict_round_trip(scene):
    s = scene
    s.set_surface(get_surface("ravine", condition=50.0))
    s.set_start((2.0, 1.0))
    s.add_lane(Adam(lr=0.1, betas=(0.8, 0.99)), name="fast Adam", noise=0.3,
               schedule=StepLR(step_size=10), start=(1.0, -1.0))
    s.set_training(steps=300, seed=4, clip_grad_norm=5.0,
                   schedule=CosineAnnealingLR(T_max=300))
    s.update_lane(0, enabled=False)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["format"] == FORMAT and d["version"] == 1
    t = Scene.from_dict(d)
    assert t.to_dict() == s.to_dict()
    assert t.surface.params["condition"] == 50.0
    assert t.lanes[-1].optimizer.betas == (0.8, 0.99)
    rs, rt = results(s), results(t)
    for a, b in zip(s.lanes, t.lanes):
        if a.enabled:
            np.testing.assert_array_equal(rs[a.uid].positions, rt[b.uid].positions)


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
def test_foreign_dicts_are_refused(bad):
    with pytest.raises(ValueError):
        Scene.from_dict(bad)


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
        lambda d: d.update(view={"views": ["4d"]}),
        lambda d: d.update(view={"camera": {"elevation": "high"}}),
        lambda d: d.update(lab=["race"]),
    ],
)
def test_corrupt_content_is_refused(scene, edit):
    d = json.loads(json.dumps(scene.to_dict()))
    edit(d)
    with pytest.raises(ValueError):
        Scene.from_dict(d)


def test_suggested_learning_rates_move_on_a_new_surface(scene):
    s = scene
    s.set_surface(get_surface("parabola"))
    s.suggest_learning_rates()
    res = results(s)
    for lane in s.lanes:
        run = res[lane.uid]
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
def test_every_kind_of_surface_survives_a_session_file(scene, make):
    from simulator.core.expressions import surface_from_expression

    s = scene
    s.set_surface(make())
    t = Scene.from_dict(json.loads(json.dumps(s.to_dict())))
    assert t.to_dict() == s.to_dict()
    assert t.surface.kind == s.surface.kind and t.surface.dim == s.surface.dim
    s.set_surface(surface_from_expression("x**2 + 3*y**2", domain=((-2, 2), (-1, 1))))
    t = Scene.from_dict(json.loads(json.dumps(s.to_dict())))
    assert t.surface.kind == "expression" and t.surface.domain == ((-2, 2), (-1, 1))


def test_the_run_cache_keeps_runs_whose_inputs_did_not_change(scene):
    s = scene
    cache: dict = {}
    before, _ = s.compute(cache)
    s.update_lane(1, lr=s.lanes[1].optimizer.lr * 2)
    after, _ = s.compute(cache)
    for lane in s.lanes:
        assert (after[lane.uid] is before[lane.uid]) == (lane is not s.lanes[1])
    for a, b in zip(after.values(), s.run()):
        np.testing.assert_array_equal(a.positions, b.positions)


# ---- new: files of every kind, labs, the public API ------------------------------------------
def test_readme_example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scene = sim.load_scene("race")  # a built-in lab id, a lab file or a session file
    runs = scene.run()  # one Trajectory per lane, the same numbers the app shows
    assert len(runs) == len(scene.lanes) == 4
    assert scene.lab_id == "race" and scene.title == "The Rosenbrock race"
    scene.lanes[0].optimizer = sim.Adam(lr=0.02)
    scene.save("mine.losslab.json")
    assert sim.load_scene("mine.losslab.json").to_dict() == scene.to_dict()
    assert [p.name for p in tmp_path.iterdir()] == ["mine.losslab.json"]


@pytest.mark.parametrize("lab_id", labs.builtin_lab_ids())
def test_a_labs_scene_runs_what_the_lab_runs(lab_id):
    lab = labs.builtin_lab(lab_id)
    scene = load_scene(lab_id)
    assert scene.lab_id == lab_id and scene.lab_title == lab.title
    assert scene.view.views == lab.view.views and scene.view.log_scale == lab.view.log_scale
    assert scene.frame == (lab.run_steps if lab.view.frame is None else lab.view.frame)
    for (_lane, want), got in zip(lab.run(), scene.run(), strict=True):
        np.testing.assert_array_equal(want.positions, got.positions)
    # the session form of a lab's scene reads back to the same scene
    again = Scene.from_dict(json.loads(json.dumps(scene.to_dict())))
    assert again.to_dict() == scene.to_dict() == lab.session_dict()


def test_load_scene_reads_lab_and_session_files(tmp_path):
    lab_file = tmp_path / "saddle.json"
    labs.save_lab(labs.builtin_lab("saddle"), lab_file)
    a = load_scene(lab_file)
    assert a.lab_id == "saddle" and a.surface.name == "saddle"
    session_file = tmp_path / "s.losslab.json"
    a.save(session_file)
    b = load_scene(str(session_file))
    assert b.to_dict() == a.to_dict()
    with pytest.raises(LookupError, match="did you mean 'race'"):
        load_scene("rase")
    with pytest.raises(FileNotFoundError):
        load_scene(tmp_path / "missing.json")
    (tmp_path / "bad.losslab.json").write_text('{"format": "losslab-session", "version": 1')
    with pytest.raises(ValueError, match="not a lab|not valid JSON"):
        load_scene(tmp_path / "bad.losslab.json")


def test_a_version_1_session_file_from_before_scenes_opens():
    # as gui/session.py wrote it before the Scene: no "view", no "lab", drawn surfaces
    # as a library name plus bumps
    old = {
        "format": "losslab-session", "version": 1,
        "surface": {"kind": "drawn", "name": "rosenbrock", "params": {"a": 1.0, "b": 100.0},
                    "domain": [[-2, 2], [-1, 3]], "bumps": [[0, 0, 1, 0.5]]},
        "start": [-1.5, 2.0],
        "training": {"steps": 50, "seed": 0, "noise": 0.0, "batch_size": None,
                     "clip_grad_norm": None, "schedule": {"name": "ConstantSchedule"}},
        "lanes": [{"name": "GD", "optimizer": {"name": "SGD", "lr": 0.001},
                   "color": "#0072b2", "enabled": True, "schedule": None, "noise": None,
                   "batch_size": None, "start": None}],
        "selected_lane": 0, "frame": 50,
    }
    s = Scene.from_dict(old)
    assert s.surface.kind == "drawn" and s.lab_id is None and s.view == ViewState()
    assert s.lanes[0].color == "#0072B2"
    assert len(s.run()) == 1


def test_surfaces_the_old_session_writer_could_not_describe_now_round_trip():
    # a lab on a flat sheet, and one drawn on a formula: render.py once loaded a stand-in
    # ("the session file format cannot describe this surface yet")
    for spec in ({"kind": "drawn", "base": {"kind": "flat"}, "bumps": [[0, 0, 1, 0.5]]},
                 {"kind": "drawn", "base": {"kind": "formula", "formula": "x**2 + y**2"},
                  "bumps": [[0.5, 0.5, -1, 0.3]]}):
        d = {"format": "losslab-lab", "version": 1, "id": "t", "title": "T",
             "summary": "S", "surface": spec, "start": [1.0, 1.0], "steps": 20,
             "lanes": [{"name": "a", "optimizer": {"name": "SGD", "lr": 0.1}}]}
        scene = labs.parse_lab(d).scene()
        again = Scene.from_dict(json.loads(json.dumps(scene.to_dict())))
        p = np.array([[0.1, 0.9], [-1.2, 1.8]])
        np.testing.assert_array_equal(again.surface.value(p), scene.surface.value(p))
        np.testing.assert_array_equal(again.run()[0].positions, scene.run()[0].positions)


def test_one_kind_vocabulary_for_sessions_and_labs():
    from simulator.core.surface_io import KINDS, surface_to_dict

    scene = load_scene("adamw")  # a formula surface
    spec = scene.to_dict()["surface"]
    assert spec["kind"] in KINDS and spec["kind"] == "expression"
    # the canonical form (domain inside) is a valid lab surface too
    import dataclasses

    wide = dataclasses.replace(labs.builtin_lab("ravine").surface,
                               domain=((-4.0, 4.0), (-3.0, 3.0)))
    d = labs.builtin_lab("ravine").to_dict(version=1)
    d["surface"] = surface_to_dict(wide)
    assert d["surface"]["kind"] == "builtin" and "domain" in d["surface"]
    d.pop("domain", None)
    lab = labs.parse_lab(d)
    assert lab.surface.domain == wide.domain
    assert labs.surface_spec_of(lab.surface) == surface_to_dict(lab.surface)


def test_view_state_and_lab_texts_from_the_scene():
    scene = load_scene("race")
    scene.set_view(log_scale=False, camera={"elevation": 20, "azimuth": 400, "distance": 9})
    assert scene.view.camera == {"elevation": 20.0, "azimuth": 40.0, "distance": 9.0}
    scene.set_frame(123)
    d = labs.lab_from_scene(scene, lab_id="mine", title="Mine", summary="s")
    lab = labs.parse_lab(d)
    assert lab.view.log_scale is False and lab.view.frame == 123
    assert lab.view.camera == scene.view.camera and lab.view.views == ("2d", "3d")
    scene.set_view(views=("2d",))
    assert "camera" not in labs.lab_from_scene(scene, lab_id="m", title="M",
                                               summary="s")["view"]
    # a new surface brings its own colour scale back
    scene.set_surface(get_surface("quadratic"))
    assert scene.view.log_scale is None
    with pytest.raises(ValueError):
        scene.set_view(views=("4d",))
    with pytest.raises(ValueError):
        scene.set_view(zoom=2)


def test_lane_colours_are_checked_without_qt(scene):
    scene.update_lane(0, color="#abc")
    assert scene.lanes[0].color == "#AABBCC"
    scene.update_lane(0, color="red")
    assert scene.lanes[0].color == "#FF0000"
    with pytest.raises(ValueError, match="not a colour"):
        scene.update_lane(0, color="#12345")
    assert scene.lanes[0].color == "#FF0000"


def test_a_schedule_shorter_than_the_run_is_a_lab_problem_with_its_place():
    d = {"format": "losslab-lab", "version": 1, "id": "t", "title": "T", "summary": "S",
         "surface": {"kind": "library", "name": "quadratic"}, "start": [1.0, 1.0],
         "steps": 100, "schedule": {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 10},
         "lanes": [{"name": "a", "optimizer": {"name": "SGD", "lr": 0.1}}]}
    with pytest.raises(labs.LabError) as e:  # was a bare ValueError from the schedule
        labs.parse_lab(d)
    assert [str(p) for p in e.value.problems] == [
        "schedule: total_steps=10 is shorter than the run (100 steps)"]


# ---- issue 18 in the Qt-free readers -----------------------------------------------------------
def test_session_files_refuse_long_texts_huge_numbers_and_deep_nesting(tmp_path):
    from simulator.core.scene import MAX_LANE_NAME, MAX_SESSION_TEXT, read_session_file

    d = labs.builtin_lab("race").session_dict()
    d.setdefault("format", FORMAT)
    bad = json.loads(json.dumps(d))
    bad["lanes"][0]["name"] = "L" * (MAX_SESSION_TEXT + 1)
    with pytest.raises(ValueError, match="too long"):
        Scene.from_dict(bad)
    bad["lanes"][0]["name"] = "L" * (MAX_LANE_NAME + 1)
    with pytest.raises(ValueError, match=f"at most {MAX_LANE_NAME} characters"):
        Scene.from_dict(bad)
    p = tmp_path / "huge.losslab.json"
    p.write_text(json.dumps(d).replace('"version": 1', '"version": ' + "9" * 500))
    with pytest.raises(ValueError, match="500 digits"):
        read_session_file(p)
    p.write_text('{"format": "losslab-session", "a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValueError, match="nested too deeply"):
        read_session_file(p)


def test_a_copied_lane_keeps_its_name_within_the_cap():
    from simulator.core.scene import MAX_LANE_NAME

    sc = Scene.default()
    sc.lanes = []
    for _ in range(4):
        sc.add_lane(SGD(lr=1e-3), name="N" * MAX_LANE_NAME)
    names = [lane.name for lane in sc.lanes]
    assert all(len(n) <= MAX_LANE_NAME for n in names) and len(set(names)) == len(names)
    Scene.from_dict(sc.to_dict())  # loads again


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_load_scene_refuses_a_fifo_without_waiting(tmp_path):
    import os

    p = tmp_path / "pipe.json"
    os.mkfifo(p)
    with pytest.raises((OSError, ValueError), match="regular file"):
        load_scene(p)


# ---- default races (issue 19) -----------------------------------------------------------
def _race_runs(name):
    from simulator.core.library import get_surface
    from simulator.core.scene import Scene

    sc = Scene(get_surface(name))
    assert sc.use_race()
    return sc, sc.run()


@pytest.mark.parametrize("name", list_surfaces())
def test_every_library_surface_has_a_race_worth_watching(name):
    from simulator.core.critical_points import find_critical_points
    from simulator.core.scene import RACES

    assert name in RACES
    sc, runs = _race_runs(name)
    s = sc.surface
    assert len(sc.lanes) >= 3 and sc.is_race()
    start = np.asarray(sc.start, dtype=float)
    # no lane starts at a critical point: a slope there of at least a thousandth of the
    # surface's typical one, and no critical point within a hundredth of its size
    axes = [np.linspace(lo, hi, 9) for lo, hi in s.domain]
    grid = np.stack(np.meshgrid(*axes), -1).reshape(-1, s.dim)
    typical = np.median(np.linalg.norm(np.atleast_2d(s.gradient(grid)), axis=-1))
    assert np.linalg.norm(s.gradient(start)) > 1e-3 * typical
    for cp in find_critical_points(s):
        assert np.linalg.norm(np.asarray(cp.position) - start) > 0.01 * s.scale, cp
    # at least two lanes end differently: in status, or in where they end
    ends = []
    for run in runs:
        p = np.asarray(run.positions[-1], dtype=float)
        ends.append((run.status, p))
    tol = 1e-3 * s.scale
    differ = any(a[0] != b[0] or not np.all(np.isfinite(a[1]) == np.isfinite(b[1]))
                 or np.nanmax(np.abs(a[1] - b[1])) > tol
                 for i, a in enumerate(ends) for b in ends[i + 1:])
    assert differ, ends


def test_rastrigin_race_lanes_end_in_different_dips():
    sc, runs = _race_runs("rastrigin")
    ends = {tuple(np.round(np.asarray(r.positions[-1], dtype=float))) for r in runs}
    assert len(ends) >= 3  # not every lane stops in the first dip
    assert sc.start not in {tuple(m) for m in sc.surface.minima}


def test_use_race_only_for_library_surfaces_and_default_scene_is_a_race():
    from simulator.core.expressions import surface_from_expression
    from simulator.core.scene import Scene

    sc = Scene.default()
    assert sc.is_race()  # the first screen is Rosenbrock's race
    sc.update_lane(0, lr=0.0042)
    assert not sc.is_race()
    sc.set_surface(surface_from_expression("x**2 + y**2", domain=((-2, 2), (-2, 2))))
    before = [lane.name for lane in sc.lanes]
    assert not sc.use_race() and [lane.name for lane in sc.lanes] == before


def test_a_chain_holding_a_sequential_schedule_round_trips(scene):
    import simulator as sim

    chain = sim.ChainedScheduler([
        sim.SequentialLR([sim.LinearLR(0.1, total_iters=20), sim.CosineAnnealingLR(80)], [20]),
        sim.StepLR(50, 0.5)])
    scene.add_lane(sim.SGD(lr=2e-3), name="warm chain", schedule=chain)
    scene.set_training(schedule=chain)
    t = Scene.from_dict(json.loads(json.dumps(scene.to_dict())))
    assert t.lanes[-1].schedule == chain and t.schedule == chain
    np.testing.assert_array_equal(results(t)[t.lanes[-1].uid].learning_rates,
                                  chain.learning_rates(2e-3, t.steps))


def test_issue19_optimizers_and_schedules_round_trip(scene):
    import simulator as sim

    s = scene
    s.add_lane(sim.Rprop(lr=0.02, etas=(0.4, 1.3), step_sizes=(1e-5, 1.0)), name="Rprop",
               schedule=sim.ChainedScheduler([sim.LinearLR(total_iters=5),
                                              sim.PolynomialLR(total_iters=100)]))
    s.add_lane(sim.ASGD(lr=1e-3, t0=20.0), name="ASGD",
               schedule=sim.ReduceLROnPlateau(mode="min", patience=3, threshold_mode="abs"))
    s.add_lane(sim.LBFGS(line_search_fn="strong_wolfe", history_size=5), name="L-BFGS")
    s.add_lane(sim.LBFGS(max_eval=7), name="L-BFGS fixed")
    d = json.loads(json.dumps(s.to_dict()))
    t = Scene.from_dict(d)
    assert t.to_dict() == s.to_dict()
    assert t.lanes[-1].optimizer == sim.LBFGS(max_eval=7)
    assert t.lanes[-3].schedule == sim.ReduceLROnPlateau(patience=3, threshold_mode="abs")
    rs, rt = results(s), results(t)
    for a, b in zip(s.lanes, t.lanes):
        if a.enabled:
            np.testing.assert_array_equal(rs[a.uid].positions, rt[b.uid].positions)
