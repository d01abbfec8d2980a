"""The network labs (batch size and sharpness; the edge of stability) and the check kinds
they brought: final_value, compare and sharpness_edge. Each lab loads, each step's scene
runs, each check passes on the intended answer and fails on a wrong one, and each
choice's right option is what the runs show."""

from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.core.labs import LabError, parse_lab
from simulator.core.labs.checks import Check, evaluate_check, parse_check
from simulator.core.labs.problems import Checker


def _by_name(sc, runs) -> dict:
    lanes = [ln for ln in sc.lanes if ln.enabled]
    return {ln.name: r for ln, r in zip(lanes, runs)}


def _set_lr(sc, name, lr):
    lane = next(ln for ln in sc.lanes if ln.name == name)
    lane.optimizer = sim.SGD(lr=lr)


@pytest.fixture(scope="module")
def batch_lab():
    return sim.load_lab("batch-sharpness")


@pytest.fixture(scope="module")
def eos_lab():
    return sim.load_lab("edge-of-stability")


def test_listed_and_sized(batch_lab, eos_lab):
    ids = [i.id for i in sim.list_labs()]
    assert "batch-sharpness" in ids and "edge-of-stability" in ids
    for lab in (batch_lab, eos_lab):
        assert lab.version == 2 and lab.surface.kind == "network"
        assert lab.surface.n_params <= 200  # small enough for a quick test suite
        for st in lab.steps:
            assert st.scene().steps <= 800
        # a network scene without "start" starts from the network's initial weights
        assert np.array_equal(lab.steps[0].scene().start, lab.surface.init)


def test_batch_lab_choices_match_the_runs(batch_lab):
    s0, s1 = batch_lab.steps[0], batch_lab.steps[1]
    sc = s0.scene()
    runs = _by_name(sc, sc.run())
    full, small = runs["Full batch"], runs["Small batch"]
    assert small.batch_size == 4 and full.batch_size is None
    # step 0: the full-batch lane fits the training points better
    assert full.losses[-1] < small.losses[-1]
    assert s0.check(sc, list(runs.values()), answer=0).passed
    assert not s0.check(sc, list(runs.values()), answer=1).passed
    # step 1: the small-batch lane ends flatter
    net = sc.surface
    assert sim.sharpness(net, small.positions[-1]) < sim.sharpness(net, full.positions[-1])
    assert s1.check(sc, list(runs.values()), answer="Small batch").passed
    assert not s1.check(sc, list(runs.values()), answer="Full batch").passed


def test_batch_lab_compare_task(batch_lab):
    step = batch_lab.steps[2]
    sc = step.scene()  # as set up: batch 40 = the whole training set, the same run
    r = step.check(sc)
    assert not r.passed and "Small batch's final test loss" in r.message
    next(ln for ln in sc.lanes if ln.name == "Small batch").batch_size = 4
    runs = _by_name(sc, sc.run())
    r = step.check(sc, runs)
    assert r.passed, r.message
    assert runs["Small batch"].test_losses[-1] < runs["Full batch"].test_losses[-1]


def test_eos_lab_choices_match_the_runs(eos_lab):
    s0, s3 = eos_lab.steps[0], eos_lab.steps[3]
    sc = s0.scene()
    runs = _by_name(sc, sc.run())
    net = sc.surface
    s = sim.sharpness(net, runs["lr = 0.5"], stride=40)
    assert s.max() > 1.5 * s[0] and s.max() < 0.5 * (2 / 0.5)  # rises, far below 4
    assert s0.check(sc, answer=1).passed and not s0.check(sc, answer=2).passed
    # lr = 4: the loss falls while the sharpness sits just under 2/lr = 0.5
    r4 = runs["lr = 4"]
    assert r4.losses[-1] < 0.25 * r4.losses[0]
    s4 = sim.sharpness(net, r4, stride=40)
    assert np.all(s4[1:] < 0.5) and np.all(s4[1:] > 0.4)
    assert s3.check(s3.scene(), answer=1).passed
    assert not s3.check(s3.scene(), answer=0).passed


def test_eos_lab_edge_tasks(eos_lab):
    near, below = eos_lab.steps[1], eos_lab.steps[2]
    sc = near.scene()
    r = near.check(sc)  # lr = 0.5: the sharpness stops far below 2/lr = 4
    assert not r.passed and "of 2/lr = 2/0.5 = 4" in r.message
    for lr in (2.0, 4.0):
        _set_lr(sc, "GD", lr)
        r = near.check(sc)
        assert r.passed, r.message
    sc = below.scene()
    r = below.check(sc)  # lr = 2: the sharpness overshoots 2/lr = 1 on its way up
    assert not r.passed and "at its highest" in r.message
    _set_lr(sc, "GD", 0.5)
    assert below.check(sc).passed


# ---- the check kinds ---------------------------------------------------------------------------
def _parse(d):
    ck = Checker()
    c = parse_check(ck, d, "check")
    return c, [str(p) for p in ck.problems]


def test_new_check_kinds_validate():
    c, probs = _parse({"kind": "final_value", "lane": "A", "quantity": "test_loss", "max": 1})
    assert c is not None and not probs
    _, probs = _parse({"kind": "final_value", "lane": "A", "quantity": "test_los", "max": 1})
    assert probs == ["check.quantity: must be one of loss, test_loss, test_accuracy, "
                     'sharpness, got "test_los"']
    _, probs = _parse({"kind": "final_value", "lane": "A", "quantity": "loss"})
    assert probs == ['check: needs "min", "max" or both']
    _, probs = _parse({"kind": "compare", "lane": "A", "than": "A", "quantity": "loss",
                       "is": "lower"})
    assert probs == ['check.than: must name another lane than "lane"']
    _, probs = _parse({"kind": "compare", "lane": "A", "than": "B", "quantity": "loss",
                       "is": "less"})
    assert probs == ['check.is: must be "lower" or "higher", got "less"']
    c, probs = _parse({"kind": "sharpness_edge", "lane": "A", "is": "near"})
    assert not probs and c.spec["over"] == "late" and c.spec["rel_tol"] == 0.15
    _, probs = _parse({"kind": "sharpness_edge", "lane": "A", "is": "at", "over": "all",
                       "rel_tol": 0})
    assert len(probs) == 3


def test_compare_names_an_existing_lane():
    d = sim.load_lab("edge-of-stability").data
    d = {**d, "steps": [{**d["steps"][0], "task": {
        "prompt": "<p>x</p>", "check": {"kind": "compare", "quantity": "loss",
                                        "lane": "lr = 2", "than": "lr = 3", "is": "lower"}}}]}
    with pytest.raises(LabError) as ei:
        parse_lab(d)
    assert "names the lane 'lr = 3'" in str(ei.value)


@pytest.fixture(scope="module")
def tiny():
    net = sim.network("xor", hidden=(4,), n_train=32, n_test=32, noise=0.1, seed=0)
    sc = sim.Scene(net, steps=60)
    sc.add_lane(sim.SGD(lr=0.5), name="A")
    sc.add_lane(sim.SGD(lr=0.05), name="B")
    return sc, sc.run()


def test_final_value_on_a_network(tiny):
    sc, runs = tiny
    net, w = sc.surface, runs[0].positions[-1]
    acc, tl = net.accuracy(w, "test"), net.test_loss(w)
    for q, v in (("test_accuracy", acc), ("test_loss", tl), ("loss", runs[0].losses[-1]),
                 ("sharpness", sim.sharpness(net, w))):
        ok = Check("final_value", {"kind": "final_value", "lane": "A", "quantity": q,
                                   "min": v * 0.99, "max": v * 1.01})
        bad = Check("final_value", {"kind": "final_value", "lane": "A", "quantity": q,
                                    "min": v * 1.01})
        assert evaluate_check(ok, sc, runs).passed, q
        r = evaluate_check(bad, sc, runs)
        assert not r.passed and "the task asks for at least" in r.message


def test_compare_on_a_network(tiny):
    sc, runs = tiny
    lo = {"kind": "compare", "quantity": "loss", "lane": "A", "than": "B", "is": "lower"}
    assert runs[0].losses[-1] < runs[1].losses[-1]
    assert evaluate_check(Check("compare", lo), sc, runs).passed
    r = evaluate_check(Check("compare", {**lo, "is": "higher"}), sc, runs)
    assert not r.passed and r.message.startswith("Not yet: A's final training loss is")


def test_sharpness_edge_on_a_quadratic():
    # a fixed quadratic: sharpness 10 everywhere; lr = 0.19 puts 2/lr = 10.5 (95 %)
    sc = sim.Scene(sim.surface_from_expression("5*x**2 + 0.5*y**2"), start=(1.0, 1.0),
                   steps=20)
    sc.add_lane(sim.SGD(lr=0.19), name="GD")
    spec = {"kind": "sharpness_edge", "lane": "GD", "is": "near", "over": "max",
            "rel_tol": 0.1}
    assert evaluate_check(Check("sharpness_edge", spec), sc).passed
    sc.lanes[0].optimizer = sim.SGD(lr=0.05)  # 2/lr = 40: 25 %
    r = evaluate_check(Check("sharpness_edge", spec), sc)
    assert not r.passed and "25% of 2/lr = 2/0.05 = 40" in r.message
    assert evaluate_check(Check("sharpness_edge", {**spec, "is": "below"}), sc).passed


def test_test_quantities_need_a_network():
    sc = sim.Scene(sim.get_surface("quadratic"), steps=5)
    sc.add_lane(sim.SGD(lr=0.1), name="GD")
    r = evaluate_check(Check("final_value", {"kind": "final_value", "lane": "GD",
                                             "quantity": "test_loss", "max": 1}), sc)
    assert not r.passed and "needs a network scene" in r.message


def test_save_as_lab_of_a_network_scene_round_trips():
    """Save as Lab on a network writes a version-2 lab (one scene, one step) that opens
    to the same runs; the start is written only when it is not the initial weights."""
    from simulator.core.labs import lab_from_scene

    sc = sim.load_lab("batch-sharpness").scene()
    sc.set_training(batch_size=8, steps=30)
    d = lab_from_scene(sc, lab_id="mine", title="Mine", summary="A & B",
                       questions=["Why?"])
    assert d["version"] == 2 and "start" not in d["scene"]
    assert d["scene"]["training"]["batch_size"] == 8
    lab = parse_lab(d)
    assert lab.steps[0].text == "<p>A &amp; B</p>" and lab.steps[0].questions == ("Why?",)
    for a, b in zip(lab.steps[0].scene().run(), sc.run(), strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
    sc.set_start(sc.surface.init * 0.5)
    d = lab_from_scene(sc, lab_id="mine", title="Mine", summary="S")
    assert np.array_equal(parse_lab(d).steps[0].scene().start, sc.surface.init * 0.5)
    d["scene"]["start"] = [0.0, 1.0]
    with pytest.raises(LabError) as ei:
        parse_lab(d)
    assert "scene.start: needs the network's 129 weights, got 2" in str(ei.value)
