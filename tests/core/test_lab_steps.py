"""Lab format version 2: steps, scene changes, tasks and their checks (headless)."""

from __future__ import annotations

import copy
import json

import pytest

import simulator as sim
from simulator.core import labs
from simulator.core.engine import STATUSES
from simulator.core.labs import checks


def base_scene() -> dict:
    return {
        "surface": {"kind": "library", "name": "parabola", "params": {"a": 1.0, "c": 2.0}},
        "start": [8.0],
        "training": {"steps": 60},
        "lanes": [{"name": "GD", "optimizer": {"name": "SGD", "lr": 0.3}}],
        "view": {"views": ["2d"]},
    }


def lab_v2(*steps, scene=None) -> dict:
    return {"format": "losslab-lab", "version": 2, "id": "t", "title": "T", "summary": "S",
            "scene": base_scene() if scene is None else scene,
            "steps": list(steps) or [{"text": "<p>Hello</p>"}]}


def task(check, **kw) -> dict:
    return {"prompt": "<p>Do it.</p>", "check": check, **kw}


def problems(d) -> list[str]:
    return [str(p) for p in sim.validate_lab(d)]


def with_lr(scene, lr, lane=0):
    scene.lanes[lane].optimizer = sim.SGD(lr=lr)
    return scene


# ---- the model -----------------------------------------------------------------------------
def test_version_1_lab_has_one_step_without_task():
    d = labs.builtin_lab("race").to_dict(version=1)  # the first step, flattened
    assert d["version"] == 1
    lab = labs.parse_lab(d)
    assert lab.version == 1 and len(lab.steps) == 1
    step = lab.steps[0]
    assert step.text == lab.instructions and step.questions == lab.questions
    assert step.task is None and step.hints == () and step.changes is None
    assert step.scene().to_dict() == lab.scene().to_dict()
    r = step.check(lab.scene())
    assert r.passed and "no task" in r.message
    assert lab.to_dict() == d  # a version-1 lab still writes version 1


def test_steps_build_on_each_other_and_scene_follows():
    d = lab_v2({"text": "<p>one</p>"},
               {"text": "<p>two</p>", "scene": {"training": {"steps": 30}}},
               {"text": "<p>three</p>", "scene": {"lanes": [
                   {"name": "Fast", "optimizer": {"name": "SGD", "lr": 0.5}}]}})
    lab = labs.parse_lab(d)
    assert [s.index for s in lab.steps] == [0, 1, 2]
    s0, s1, s2 = (lab.scene(step=i) for i in range(3))
    assert (s0.steps, s1.steps, s2.steps) == (60, 30, 30)  # training merged, then kept
    assert [ln.name for ln in s1.lanes] == ["GD"] and [ln.name for ln in s2.lanes] == ["Fast"]
    assert s2.frame == 30  # a step that re-runs shows the whole run
    assert all(s.lab_id == "t" for s in (s0, s1, s2))
    assert lab.run_steps == 60 and lab.lanes[0].name == "GD"  # the lab's fields: step 1's
    with pytest.raises(IndexError):
        lab.scene(step=3)
    again = labs.parse_lab(lab.to_dict())
    assert [s.to_dict() for s in again.steps] == [s.to_dict() for s in lab.steps]
    assert json.loads(labs.dumps_lab(lab)) == d


def test_apply_lays_the_changes_over_the_students_scene():
    d = lab_v2({"text": "<p>one</p>"},
               {"text": "<p>two</p>", "scene": {"training": {"steps": 30},
                                                "view": {"log_scale": True}}})
    lab = labs.parse_lab(d)
    mine = with_lr(lab.scene(), 0.7)
    nxt = lab.steps[1].apply(mine)
    assert nxt.steps == 30 and nxt.lanes[0].optimizer.lr == 0.7  # the student's lane kept
    assert nxt.view.log_scale is True and nxt.view.views == ("2d",)
    assert mine.steps == 60  # not changed in place
    same = lab.steps[0].apply(mine)
    assert same is not mine and same.to_dict() == mine.to_dict()


def test_apply_changes_merges_training_and_view_only():
    base = {"training": {"steps": 5, "seed": 1}, "view": {"views": ["2d"]},
            "lanes": [1, 2], "frame": 3}
    out = labs.apply_changes(base, {"training": {"steps": 9}, "lanes": [3]})
    assert out == {"training": {"steps": 9, "seed": 1}, "view": {"views": ["2d"]},
                   "lanes": [3]}
    assert base["training"]["steps"] == 5
    assert labs.apply_changes(base, {"view": {"log_scale": True}})["frame"] == 3


# ---- checks ----------------------------------------------------------------------------------
CASES = [
    # (check, a passing lr, a failing lr, words in the failing message)
    ({"kind": "status", "lane": "GD", "is": ["converged"]}, 0.3, 1.05,
     ["diverged", "above 2/lambda_max = 1"]),
    ({"kind": "status", "lane": 0, "is_not": "oscillating"}, 0.3, 1.0,
     ["oscillating", "is exactly 2/lambda_max = 1 at w = 8, the edge"]),
    ({"kind": "converged_within", "lane": "GD", "steps": 3}, 0.5, 0.1,
     ["not converged within 3 steps", "far below"]),
    ({"kind": "converged_within", "lane": "GD", "steps": 30}, 0.3, 1.0,
     ["still oscillates at step 30", "the learning rate 1 is exactly 2/lambda_max = 1"]),
    ({"kind": "final_loss_below", "lane": "GD", "value": 1e-6}, 0.3, 0.01,
     ["loss at step 60 is", "less than 1e-06"]),
    ({"kind": "hyperparameter", "lane": "GD", "name": "lr", "min": 0.4, "max": 0.6}, 0.5,
     0.7, ["too large", "in [0.4, 0.6]"]),
    ({"kind": "lr_near_stability_limit", "lane": "GD", "at": [2.0], "rel_tol": 0.1}, 0.95,
     1.02, ["above 2/lambda_max = 1 at w = 2"]),
    ({"kind": "lr_near_stability_limit", "lane": "GD", "at": [2.0], "rel_tol": 0.1,
      "side": "either"}, 1.05, 0.5, ["50% below"]),
    ({"kind": "all", "checks": [{"kind": "status", "lane": "GD", "is": "converging"},
                                {"kind": "hyperparameter", "lane": "GD", "name": "lr",
                                 "min": 0.9}]}, 0.95, 0.3, ["converged", "not converging"]),
]


@pytest.mark.parametrize("check,good,bad,words", CASES)
def test_each_check_passes_on_the_answer_and_fails_on_a_wrong_one(check, good, bad, words):
    lab = labs.parse_lab(lab_v2({"text": "<p>t</p>", "task": task(check)}))
    step = lab.steps[0]
    scene = lab.scene()
    ok = step.check(with_lr(scene, good), scene.run())
    assert ok.passed and ok.message.startswith("Yes"), ok.message
    no = step.check(with_lr(scene, bad))  # runs computed by the check itself
    assert not no.passed, no.message
    for w in words:
        assert w in no.message, no.message


def test_choice_by_index_or_text():
    c = {"kind": "choice", "options": ["flat", "sharp"], "correct": 0}
    step = labs.parse_lab(lab_v2({"text": "<p>t</p>", "task": task(c)})).steps[0]
    sc = step.scene()
    assert step.task.options == ("flat", "sharp")
    assert step.check(sc, answer=0).passed and step.check(sc, answer="flat").passed
    assert not step.check(sc, answer=1).passed and not step.check(sc, answer="sharp").passed
    assert "Choose" in step.check(sc).message
    assert "not one of the options" in step.check(sc, answer="round").message
    assert not step.check(sc, answer=True).passed


def test_runs_given_as_dict_by_uid_or_name_and_missing_lanes():
    c = {"kind": "status", "lane": "GD", "is": "converged"}
    step = labs.parse_lab(lab_v2({"text": "<p>t</p>", "task": task(c)})).steps[0]
    sc = step.scene()
    run = sc.run()[0]
    assert step.check(sc, {sc.lanes[0].uid: run}).passed
    assert step.check(sc, {"GD": run}).passed
    assert "has no run" in step.check(sc, {}).message
    sc.lanes[0].name = "Mine"
    r = step.check(sc)
    assert not r.passed and "'GD'" in r.message and "'Mine'" in r.message
    sc.lanes[0].name = "GD"
    sc.lanes[0].enabled = False
    assert "switched off" in step.check(sc).message


def test_momentum_limit_names_its_formula():
    c = {"kind": "status", "lane": "GD", "is": "converged"}
    step = labs.parse_lab(lab_v2({"text": "<p>t</p>", "task": task(c)})).steps[0]
    sc = step.scene()
    sc.lanes[0].optimizer = sim.SGD(lr=2.0, momentum=0.5)  # limit 2 (1 + 0.5) / 2 = 1.5
    r = step.check(sc)
    assert not r.passed and "2(1 + momentum)/lambda_max = 1.5" in r.message


def test_statuses_match_the_engine():
    assert checks.STATUSES == STATUSES


# ---- validation: every problem, with its place --------------------------------------------------
def test_validator_reports_every_problem_of_every_step():
    d = lab_v2(
        {"text": "<p>one</p>", "task": task({"kind": "status", "lane": "XX",
                                               "is": "converged"})},
        {"text": "", "scene": {"trainin": {}, "lanes": [
            {"name": "a", "optimizer": {"name": "SGD", "lr": -1}}]}},
        {"text": "<p>three</p>", "task": task({"kind": "choice", "options": ["a", "a"],
                                                 "correct": 5}, hints="no")},
        {"text": "<script>x</script>", "task": task({"kind": "nope"})},
        {"text": "<p>t</p>", "task": task({"kind": "converged_within", "lane": "GD",
                                            "steps": 0, "at": [1, 2]})},
        {"text": "<p>t</p>", "task": task({"kind": "hyperparameter", "lane": "GD",
                                            "name": "speed", "min": 2, "max": 1})},
        {"text": "<p>t</p>", "task": task({"kind": "lr_near_stability_limit", "lane": 0,
                                            "rel_tol": 2, "side": "up"})},
        {"text": "<p>t</p>", "task": task({"kind": "status", "lane": "GD", "is": "good",
                                            "is_not": "bad"})},
    )
    got = problems(d)
    expect = [
        "steps[0].task.check: names the lane 'XX'",
        "steps[1].text: must be a non-empty text",
        "steps[1].scene.trainin: unknown field (did you mean 'training'?)",
        "steps[1].scene.lanes[0].optimizer.lr: must be a positive number, got -1",
        "steps[2].task.check.options: has the same option twice",
        "steps[2].task.check.correct: must be the index of the right option, 0 to 1",
        "steps[2].task.hints: must be a list of questions",
        "steps[3].text: <script> is not allowed",
        "steps[3].task.check.kind: unknown check \"nope\"",
        "steps[4].task.check.steps: must be a whole number of steps",
        "steps[4].task.check.at: must be a point, a list of 1 coordinates",
        "steps[5].task.check.name: must be one of lr,",
        "steps[5].task.check.max: must be at least min (2)",
        "steps[6].task.check.at: is missing",
        "steps[6].task.check.rel_tol: must be a number in (0, 1]",
        "steps[6].task.check.side: must be \"below\" or \"either\"",
        "steps[7].task.check: needs exactly one of \"is\" and \"is_not\"",
    ]
    for e in expect:
        assert any(g.startswith(e) for g in got), (e, got)
    assert len(got) == len(set(got)), got  # each problem once


def test_validator_top_level_of_version_2():
    d = lab_v2()
    d["questions"] = ["q"]
    del d["scene"]["start"]
    d["scene"]["lanes"][0]["optimizer"]["lr"] = 0
    got = problems(d)
    assert got[0].startswith("questions: unknown field")
    assert "scene.start: is missing" in got
    assert any(g.startswith("scene.lanes[0].optimizer.lr:") for g in got)
    assert problems({**lab_v2(), "steps": []}) == ["steps: must be a non-empty list of steps"]
    assert problems({**lab_v2(), "scene": None}) == ["scene: is missing"]
    assert problems(lab_v2()) == []


def test_a_step_scene_the_scene_refuses_is_a_problem_at_its_place():
    # a OneCycleLR shorter than the run: the scene's own check
    d = lab_v2({"text": "<p>a</p>"}, {"text": "<p>b</p>", "scene": {"training": {
        "schedule": {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 10}}}})
    got = problems(d)
    assert got and got[0].startswith("steps[1].scene.training.schedule"), got


def test_surface_change_needs_a_start_inside_it():
    d = lab_v2({"text": "<p>a</p>"}, {"text": "<p>b</p>", "scene": {
        "surface": {"kind": "library", "name": "rosenbrock"}}})
    got = problems(d)
    assert got and got[0].startswith("steps[1].scene.start: needs 2 coordinates"), got
    d["steps"][1]["scene"]["start"] = [-1.5, 2.0]
    assert problems(d) == []
    assert labs.parse_lab(d).scene(step=1).surface.name == "rosenbrock"


def test_checks_are_data_not_code():
    d = lab_v2({"text": "<p>a</p>", "task": task({
        "kind": "final_loss_below", "lane": "GD", "value": "__import__('os')"})})
    assert problems(d) == ["steps[0].task.check.value: must be a finite number, got "
                           "\"__import__('os')\""]
    nested = {"kind": "status", "lane": "GD", "is": "converged"}
    for _ in range(12):
        nested = {"kind": "all", "checks": [nested]}
    got = problems(lab_v2({"text": "<p>a</p>", "task": task(nested)}))
    assert got and "nested too deeply" in got[0]


def test_version_2_file_roundtrip(tmp_path):
    lab = labs.load_lab("lr-1d")
    p = tmp_path / "mine.json"
    labs.save_lab(lab, p)
    again = sim.load_lab(str(p))
    assert again.to_dict() == lab.to_dict() and again.version == 2
    broken = copy.deepcopy(lab.to_dict())
    broken["steps"][1]["task"]["check"]["checks"][0]["lane"] = "Nobody"
    p.write_text(json.dumps(broken))
    assert [x.place for x in sim.validate_lab(p)] == ["steps[1].task.check"]


def test_pair_hyperparameters_of_every_optimizer():
    sc = base_scene()
    sc["lanes"] = [{"name": "R", "optimizer": {"name": "Rprop", "lr": 0.01,
                                                "etas": [0.5, 1.2], "step_sizes": [1e-6, 1]}}]
    assert problems(lab_v2(scene=sc)) == []
    sc["lanes"][0]["optimizer"]["etas"] = 0.5
    assert problems(lab_v2(scene=sc)) == [
        "scene.lanes[0].optimizer.etas: must be a pair [etaminus, etaplus], got 0.5"]


# ---- Save as Lab of a lab made of steps ---------------------------------------------------------
@pytest.mark.parametrize("lab_id", [i for i in labs.builtin_lab_ids()
                                    if labs.builtin_lab(i).version == 2])
def test_saving_a_lab_at_any_step_with_its_own_scene_gives_the_lab_again(lab_id):
    lab = labs.builtin_lab(lab_id)
    for k in range(len(lab.steps)):
        d = labs.lab_from_steps(lab, lab.scene(step=k), k, lab_id=lab.id, title=lab.title,
                                summary=lab.summary)
        assert d == lab.to_dict()


def test_saving_a_lab_made_of_steps_keeps_every_step_and_writes_the_scene_into_one():
    lab = labs.builtin_lab("lr-1d")
    sc = lab.scene(step=1)
    sc.update_lane(0, lr=0.7)
    sc.set_training(seed=7)
    sc.frame = 5
    d = labs.lab_from_steps(lab, sc, 1, lab_id="mine", title="Mine", summary="S",
                            text="<p>New text.</p>", questions=["Why?"])
    again = labs.parse_lab(d)
    assert (again.id, again.title, again.summary, again.version) == ("mine", "Mine", "S", 2)
    assert len(again.steps) == len(lab.steps) == 3
    for a, b in zip(again.steps, lab.steps):
        assert a.title == b.title
        assert (a.task is None) == (b.task is None)
        if a.task is not None:
            assert a.task.to_dict() == b.task.to_dict()  # prompt, check, hints, solution
    assert again.steps[1].text == "<p>New text.</p>" and again.steps[1].questions == ("Why?",)
    assert [s.text for s in again.steps[::2]] == [s.text for s in lab.steps[::2]]
    # step 2's scene is the one saved; step 1 is as it was; step 3 builds on step 2's
    s1 = again.scene(step=1)
    assert s1.lanes[0].optimizer.lr == 0.7 and s1.seed == 7 and s1.frame == 5
    assert s1.to_dict() == dict(sc.to_dict(), lab={"id": "mine", "title": "Mine"})
    assert again.scene(step=0).to_dict()["lanes"] == lab.scene(step=0).to_dict()["lanes"]
    assert again.scene(step=2).lanes[0].optimizer.lr == 0.7
    # only what differs is written: the training's seed, not its other settings
    assert d["steps"][1]["scene"]["training"] == {"steps": 60, "seed": 7}
    # each task is solved by its solution in the saved lab too
    for step in again.steps[1:]:
        scene, answer = step.solved()
        assert step.check(scene, answer=answer).passed
    # a step that changed nothing (step 3) gets a scene change of its own when its
    # scene is saved changed; the solution still passes
    sc3 = again.scene(step=2)
    sc3.set_start([6.0])
    d3 = labs.lab_from_steps(again, sc3, 2, lab_id="mine", title="Mine", summary="S")
    assert "scene" not in lab.to_dict()["steps"][2]
    assert d3["steps"][2]["scene"]["start"] == [6.0]
    assert labs.parse_lab(d3).scene(step=2).start == (6.0,)


def test_saving_a_version_1_lab_as_steps_is_refused():
    v1 = labs.parse_lab(labs.lab_from_scene(sim.Scene.default(), lab_id="v", title="V",
                                            summary="s"))
    assert v1.version == 1
    with pytest.raises(ValueError, match="no steps"):
        labs.lab_from_steps(v1, v1.scene(), 0, lab_id="v", title="V", summary="s")
