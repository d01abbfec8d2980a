"""A network as one more kind of surface in the scene model: files, validation, runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import simulator as sim
from simulator.core.labs.problems import Checker
from simulator.core.surface_io import check_surface, surface_from_dict, surface_to_dict


@pytest.fixture()
def net():
    return sim.network("circles", hidden=(6,), activation="relu", n_train=48, n_test=24,
                       noise=0.05, label_noise=0.1, seed=4)


def test_surface_io_round_trip(net):
    d = surface_to_dict(net)
    assert d["kind"] == "network" and d["hidden"] == [6] and d["label_noise"] == 0.1
    again = surface_from_dict(json.loads(json.dumps(d)))
    assert again == net
    assert np.array_equal(again.init, net.init)
    assert np.array_equal(again.X_test, net.X_test)


@pytest.mark.parametrize("bad, msg", [
    ({"dataset": "swirl"}, "surface: network: unknown dataset 'swirl'"),
    ({"hidden": [4, 4, 4, 4]}, "surface: network: at most 3 hidden layers"),
    ({"depth": 3}, "surface: network: unknown network setting 'depth'"),
    ({"n_train": "many"}, "surface: network: n_train must be an integer"),
])
def test_bad_network_descriptions_name_the_problem(net, bad, msg):
    d = {**surface_to_dict(net), **bad}
    with pytest.raises(ValueError, match=msg):
        surface_from_dict(d, "surface")
    ck = Checker()
    assert check_surface(ck, d, "surface") is None
    assert len(ck.problems) == 1 and msg.split("surface: ", 1)[1] in str(ck.problems[0])


def test_scene_with_a_network_runs_saves_and_loads(net, tmp_path):
    scene = sim.Scene(net, steps=80, seed=3)
    assert scene.start == tuple(net.init)
    scene.add_preset("Adam")
    scene.add_preset("GD")
    scene.add_lane(sim.SGD(lr=0.2), name="small batch", batch_size=8)
    runs = scene.run()
    assert [r.positions.shape for r in runs] == [(81, net.n_params)] * 3
    assert runs[2].batch_size == 8 and runs[0].batch_size is None
    # the GD preset's rate is 1 / sharpness at the start
    lam = sim.sharpness(net, net.init)
    assert scene.lanes[1].optimizer.lr == pytest.approx(1 / lam, rel=0.5)
    path = tmp_path / "net.losslab.json"
    scene.save(path)
    again = sim.load_scene(str(path))
    assert again.surface == net and again.start == scene.start
    for a, b in zip(runs, again.run()):
        assert np.array_equal(a.positions, b.positions)
        assert np.array_equal(a.test_losses, b.test_losses)
    results, errors = again.compute()
    assert not errors and len(results) == 3


def test_scene_network_edits(net):
    scene = sim.Scene(net, steps=20)
    with pytest.raises(ValueError, match="start must have shape"):
        scene.set_start((0.0, 1.0))
    w = np.array(net.init) + 0.1
    assert scene.set_start(w)
    # another network: the start goes to its initial weights, lanes' own starts are dropped
    lane = scene.add_lane(sim.Adam(lr=0.01), start=tuple(w))
    other = sim.network("circles", hidden=(6,), activation="relu", n_train=48, n_test=24,
                        noise=0.05, label_noise=0.1, seed=5)
    assert scene.set_surface(other)
    assert scene.start == tuple(other.init) and lane.start is None
    # back to a surface: a 2-D start again
    scene.set_surface(sim.get_surface("rosenbrock"))
    assert len(scene.start) == 2
    scene.lanes.clear()
    scene.set_surface(net)
    scene.add_lane(sim.Newton())
    results, errors = scene.compute()
    assert not results and "not available on a network" in next(iter(errors.values()))


def test_runs_to_make_hands_out_the_runs_compute_would_make(net):
    # what the app's worker thread makes: the lanes whose inputs changed, each as a
    # closure over the inputs of the moment; stored in the cache, compute reuses them
    scene = sim.Scene(net, steps=30, seed=2)
    scene.add_preset("Adam")
    scene.add_lane(sim.SGD(lr=0.2), name="small batch", batch_size=8)
    off = scene.add_lane(sim.SGD(lr=0.1), name="off")
    off.enabled = False
    cache = {}
    todo = scene.runs_to_make(cache)
    assert [t[0] for t in todo] == [lane.uid for lane in scene.lanes[:2]] and not cache
    for uid, surface, key, make in todo:
        cache[uid] = (surface, key, make())
    assert scene.runs_to_make(cache) == []
    results, errors = scene.compute(cache)
    assert not errors and all(results[uid] is cache[uid][2] for uid in results)
    # one lane edited: only it is to run; a later edit does not reach the closure
    scene.update_lane(1, lr=0.05)
    (uid, surface, key, make), = scene.runs_to_make(cache)
    assert uid == scene.lanes[1].uid and surface is net
    scene.update_lane(1, lr=0.5)
    run = make()
    assert run.optimizer.lr == 0.05 and run.batch_size == 8
    want = sim.simulate(net, sim.SGD(lr=0.05), net.init, steps=30, seed=2, batch_size=8)
    assert np.array_equal(run.positions, want.positions)
    # a bad lane raises ValueError when made, as compute reports it
    scene.add_lane(sim.Newton())
    (*_, make), = [t for t in scene.runs_to_make(cache) if t[0] == scene.lanes[-1].uid]
    with pytest.raises(ValueError, match="not available on a network"):
        make()


def test_warmup_plan_of_a_network_scene(net):
    # the app opened on a network scene: its kernels first, then the surface steps on
    # Rosenbrock (it compiled nothing and reported 'Network' has no 'center' before)
    from simulator.core.prepare import run_plan, warmup_plan

    plan = warmup_plan(net, [sim.Adam(), sim.Newton()])
    labels = [label for label, _ in plan]
    assert labels[:3] == ["network training", "network loss plane", "network sharpness"]
    assert "the map" in labels and "curvature diagnostics" in labels
    assert run_plan(plan[:1] + plan[3:4]) == []  # Newton (no network kernel) left out


def test_warmup_plan_of_a_surface_scene_compiles_the_networks_too():
    # a network picked later (or a network lab) has no interpreted stand-in: its kernels
    # are warmed after the scene on screen and the explorer's maps, before the features
    # that run interpreted meanwhile (formulas, curves, data surfaces)
    from simulator.core.kernels import loops
    from simulator.core.prepare import run_plan, warmup_plan

    plan = warmup_plan(sim.get_surface("himmelblau"), [sim.Adam(), sim.Newton()])
    labels = [label for label, _ in plan]
    assert labels[:3] == ["the map", "the lanes", "the explorer's maps"]
    assert labels[3:5] == ["network training", "network loss plane"]
    assert labels.index("network loss plane") < labels.index("typed formulas")
    assert labels[-1] == "network sharpness"  # the largest kernel, the last plot to fill
    assert run_plan(plan[3:4]) == []
    assert loops.is_ready("run_network", ())  # one kernel for every optimizer
    # a network scene lists its network steps once, first
    labels = [label for label, _ in warmup_plan(sim.network("moons", hidden=(2,)), [])]
    assert labels.count("network training") == 1 and labels[0] == "network training"


def test_warmup_plan_compiles_an_lbfgs_lanes_maps():
    # L-BFGS maps (and ReduceLROnPlateau's) run one recorded run per start in their own
    # kernel, run_runs: warmed when such a lane is on screen, and by `prepare --all`
    from simulator.core.kernels import loops
    from simulator.core.prepare import map_optimizers, run_plan, warmup_plan

    s = sim.get_surface("himmelblau")
    plan = dict(warmup_plan(s, [sim.LBFGS()]))
    assert run_plan([("the explorer's maps", plan["the explorer's maps"])]) == []
    assert loops.is_ready("run_runs", (sim.LBFGS.oid,) + loops.surface_key(s.spec))
    assert sim.LBFGS in {type(o) for o in map_optimizers()}  # full_plan's maps


def test_network_kernels_compile_each_helper_once(tmp_path):
    # a constant flag passed from compiled code would be a literal, and compile the
    # helper again per value (_pass per mode, _derivs with and without the second
    # derivative); the loss, gradient, loss plane and predictions share one kernel
    # (mlp.evaluate); forward, output_loss and backward are compiled once, into the
    # shared pass (a C callback, not a function of their own). In a fresh process with
    # an empty numba cache: kernels loaded from a cache compile (and list) no helper.
    import os
    import subprocess
    import sys

    code = """if True:
        import simulator as sim
        from numba.core import types
        from simulator.core.kernels import loops, mlp
        net = sim.network("moons", hidden=(3,), n_train=16, n_test=8)
        net.loss(net.init), net.gradient(net.init), net.accuracy(net.init)
        sim.loss_plane(net, runs=[[net.init, net.init + 1.0, 2.0 * net.init]], resolution=3)
        sim.sharpness(net, net.init)
        sim.simulate(net, sim.Adam(), net.init, steps=3, noise=0.1, batch_size=4,
                     record_every=2)
        kernels = (mlp.evaluate, mlp.hvp_many_kernel, mlp.run_network_kernel)
        loaded = all(k.stats.cache_hits for k in kernels)
        for fn in (mlp._pass, mlp._derivs):  # compiled by the kernels (none if loaded)
            lit = [s for s in fn.signatures if any(isinstance(a, types.Literal) for a in s)]
            assert len(fn.signatures) == (0 if loaded else 1) and not lit, (fn, fn.signatures)
        for fn in (mlp.output_loss, mlp.forward, mlp.backward):
            assert not fn.signatures, (fn, fn.signatures)
        assert len(mlp.evaluate.signatures) == 1
        log = loops.compile_log
        assert [e["kernel"] for e in log].count("net_pass") == 1
        # the C callbacks (the pass, the noise, the update) load from the disk cache too
        cached = [e["cached"] for e in log if e["kernel"] in ("net_pass", "net_perturb",
                                                               "net_update", "run_network")]
        print("ok", len(cached), all(cached), loaded)
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), LOSSLAB_INTERIM="0")
    for expect in ("ok 4 False False", "ok 4 True True"):  # cold, then from the cache
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0 and p.stdout.strip() == expect, (p.stdout, p.stderr[-3000:])


def test_one_network_run_kernel_serves_every_optimizer(net):
    # the optimizer id is a run-time argument of the run kernel: a second optimizer
    # compiles nothing (each used to compile a kernel of its own, ~3 s of CPU)
    from simulator.core.kernels import loops, mlp

    for opt in (sim.SGD(lr=0.1), sim.Adam(), sim.Lion(), sim.ASGD()):
        sim.simulate(net, opt, net.init, steps=3)
        sim.simulate(net, opt, net.init, steps=5, batch_size=8, record_every=2)
    assert len(mlp.run_network_kernel.signatures) == 1
    assert [key for key in loops._kernels if key[0] == "run_network"] == [("run_network", ())]
    # each optimizer brings only its update, a small callback of one type
    for opt in (sim.SGD, sim.Adam, sim.Lion, sim.ASGD):
        assert ("net_update", (opt.oid,)) in loops._kernels


def test_session_refuses_a_bad_network_start(net):
    d = sim.Scene(net).to_dict()
    d["start"] = [0.0] * (net.n_params - 1)
    with pytest.raises(ValueError, match="start must have shape"):
        sim.Scene.from_dict(d)
    d["start"] = [float("nan")] * net.n_params
    with pytest.raises(ValueError, match="start must be finite"):
        sim.Scene.from_dict(d)


def test_network_plan_compiles_what_a_network_scene_needs(monkeypatch):
    from simulator.core.kernels import loops, mlp
    from simulator.core.prepare import full_plan, network_optimizers, network_plan, run_plan

    # the callbacks this process made already are made (or loaded) again: the plan's own
    monkeypatch.setattr(loops, "_kernels", {})
    monkeypatch.setattr(mlp, "_addresses", [])

    names = {type(o).__name__ for o in network_optimizers()}
    assert "Newton" not in names and "Adam" in names and "SGD" in names
    plan = network_plan([sim.SGD()])
    assert [label for label, _ in plan] == ["network training", "network loss plane",
                                            "network sharpness"]
    assert run_plan(plan) == []
    assert mlp.hvp_many_kernel.signatures and mlp.evaluate.signatures
    # the C callbacks: the passes, and the noise and clipping a lane may turn on
    assert {("net_pass", ()), ("net_perturb", ()), ("net_no_perturb", ())} <= set(loops._kernels)
    assert "network training" in [label for label, _ in full_plan()]


def test_record_epochs_records_minibatch_network_lanes_once_an_epoch(net):
    # Scene.record_epochs, on by default (the app, the command line and lab checks
    # alike): a lane with a minibatch records its full-batch values once an epoch (48
    # points, batches of 10: 5 steps), the others at every step, and every lane at
    # every step with the option off; the positions do not change
    assert sim.Scene(net).record_epochs
    assert sim.Scene.from_dict(sim.Scene(net).to_dict()).record_epochs
    sc = sim.Scene(net, steps=23)
    sc.record_epochs = False
    full = sc.add_lane(sim.SGD(lr=0.3), name="GD")
    small = sc.add_lane(sim.SGD(lr=0.3), name="batch 10", batch_size=10)
    whole = sc.add_lane(sim.SGD(lr=0.3), name="batch 48", batch_size=48)
    plateau = sc.add_lane(sim.SGD(lr=0.3), name="plateau", batch_size=10,
                          schedule=sim.ReduceLROnPlateau())
    plain = sc.run()
    assert [sc.record_every(ln) for ln in sc.lanes] == [None] * 4
    assert all(r.record_steps is None for r in plain)
    sc.record_epochs = True
    assert [sc.record_every(ln) for ln in (full, small, whole, plateau)] == [None, 5, None,
                                                                              None]
    assert sc.run_key(small) != sc.run_key(full)
    runs = sc.run()
    assert runs[1].record_steps.tolist() == [0, 5, 10, 15, 20, 23]
    assert [r.record_steps for i, r in enumerate(runs) if i != 1] == [None] * 3
    for a, b in zip(plain, runs):
        assert np.array_equal(a.positions, b.positions)
    # a cached run made without the option is not reused with it
    cache: dict = {}
    sc.record_epochs = False
    sc.compute(cache)
    sc.record_epochs = True
    results, _ = sc.compute(cache)
    assert results[small.uid].record_steps is not None
    assert "record_epochs" not in json.dumps(sc.to_dict())
