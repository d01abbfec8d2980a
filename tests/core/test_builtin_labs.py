"""Every built-in lab, headless: it loads, the scene of each step runs, and each task's
check passes on the intended answer (the task's solution) and fails on a wrong one (the
step's own scene, or every other option of a choice)."""

from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.core import labs

BUILTIN = labs.builtin_lab_ids()
NEW_TOPICS = ("cyclic", "clipping", "plateau", "local-minima", "adam-bias", "batch-size")
# the network labs' checks are also tested in tests/core/test_network_labs.py

STEPS = [(lab_id, i) for lab_id in BUILTIN for i in range(len(labs.builtin_lab(lab_id).steps))]


def test_the_built_in_labs_cover_every_topic():
    assert BUILTIN == list(labs.BUILTIN_ORDER)
    assert set(NEW_TOPICS) <= set(BUILTIN) and len(BUILTIN) >= 15
    for lab_id in BUILTIN:
        lab = sim.load_lab(lab_id)
        assert lab.version == 2 and sim.validate_lab(lab.to_dict()) == []
        assert any(step.task is not None for step in lab.steps), lab_id
    assert [info.id for info in sim.list_labs()] == BUILTIN


@pytest.mark.parametrize("lab_id,index", STEPS)
def test_each_step_runs_and_its_check_teaches(lab_id, index):
    step = sim.load_lab(lab_id).steps[index]
    scene = step.scene()
    runs = scene.run()
    assert len(runs) == sum(lane.enabled for lane in scene.lanes) > 0
    for run in runs:
        assert len(run.losses) >= 2 and np.isfinite(run.losses[0])
    if step.task is None:
        return
    assert step.task.hints, "every task has hints"
    assert step.task.solution, "every built-in task has a solution (the tests use it)"
    if step.task.check.kind == "choice":
        right = step.task.solution["answer"]
        for i, option in enumerate(step.task.options):
            result = step.check(scene, runs, answer=i)
            assert result.passed == (i == right), (option, result.message)
            assert step.check(scene, runs, answer=option).passed == (i == right)
        return
    wrong = step.check(scene, runs)
    assert not wrong.passed and wrong.message.startswith("Not yet"), wrong.message
    solved, _answer = step.solved()
    right = step.check(solved)
    assert right.passed and right.message.startswith("Yes"), right.message


def test_messages_explain_with_the_students_numbers():
    lab = sim.load_lab("ravine")
    step = lab.steps[1]
    scene = step.scene()
    scene.lanes[0].optimizer = sim.SGD(lr=1.05)
    msg = step.check(scene).message
    assert "GD's loss at step 150 is 1.17e+13" in msg
    assert "the learning rate 1.05 is above 2/lambda_max = 1 at (-2.5, 1)" in msg
    clip = sim.load_lab("clipping").steps[1]
    scene = clip.scene()
    scene.lanes[0].optimizer = sim.SGD(lr=0.001)  # no explosion, but not the task
    msg = clip.check(scene).message
    assert msg == "Not yet: SGD's lr = 0.001 is too small; the task asks for at least 0.002."
