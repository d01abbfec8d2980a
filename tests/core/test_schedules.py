"""Learning-rate schedules: PyTorch's numbers, hand-worked values, validation.

``tests/data/torch_golden.json`` holds ``optimizer.param_groups[0]["lr"]`` at each of 60
``optimizer.step()`` calls of real torch.optim.lr_scheduler schedulers (stepped after
each update), recorded by ``tests/data/make_torch_golden.py``. torch computes most of them
recursively (``lr *= gamma``, the chainable cosine form), we use the closed forms, so
values agree to rounding: 1e-12 relative to the base rate. ``ChainedScheduler`` replays
torch's chainable forms step by step, and its goldens are checked to a bound stated in
``test_chain_matches_torch_step_by_step``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator as sim
from simulator.core.optimizers import optimizer_from_dict
from simulator.core.schedules import schedule_from_dict

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "torch_golden.json").read_text())
RTOL = 1e-12


@pytest.mark.parametrize("case", GOLDEN["schedulers"], ids=lambda c: c["id"])
def test_matches_torch(case):
    sched = schedule_from_dict(case["schedule"])
    ref = np.array(case["lrs"])
    base = GOLDEN["sched_base_lr"]
    ours = sched.learning_rates(base, len(ref))
    assert ours.shape == ref.shape and ours.dtype == np.float64
    scale = max(base, float(np.max(ref)))
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=RTOL * scale)


def test_golden_covers_every_torch_schedule():
    names = {c["schedule"]["name"] for c in GOLDEN["schedulers"]}
    assert names == set(sim.SCHEDULES) - {"ConstantSchedule", "ReduceLROnPlateau"}
    assert {c["schedule"]["name"] for c in GOLDEN["plateau"]} == {"ReduceLROnPlateau"}
    modes = {c["schedule"].get("mode") for c in GOLDEN["schedulers"]}
    assert {"triangular", "triangular2", "exp_range"} <= modes
    t_mults = {c["schedule"].get("T_mult") for c in GOLDEN["schedulers"]}
    assert {1, 2} <= t_mults


def test_schedule_drives_the_run():
    sched = sim.StepLR(step_size=3, gamma=0.5)
    run = sim.simulate(sim.get_surface("quadratic"), sim.SGD(lr=0.1), start=(1.0, 1.0),
                       steps=10, schedule=sched)
    np.testing.assert_array_equal(run.learning_rates, sched.learning_rates(0.1, 10))
    # on x^2 + y^2 each update multiplies by (1 - 2 lr_k)
    expected = np.cumprod(np.r_[1.0, 1.0 - 2.0 * run.learning_rates])
    np.testing.assert_allclose(run.positions[:, 0], expected, rtol=1e-14)


# ---- hand-computed values ----------------------------------------------------------------
def lrs(sched, steps, base=1.0):
    return sched.learning_rates(base, steps)


def test_constant():
    np.testing.assert_array_equal(lrs(sim.ConstantSchedule(), 4, 0.3), [0.3] * 4)


def test_step_lr():
    np.testing.assert_allclose(lrs(sim.StepLR(step_size=2, gamma=0.5), 7),
                               [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_multistep_lr():
    np.testing.assert_allclose(lrs(sim.MultiStepLR(milestones=(2, 5), gamma=0.1), 7),
                               [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01], rtol=1e-15)


def test_exponential_lr():
    np.testing.assert_allclose(lrs(sim.ExponentialLR(gamma=0.5), 4), [1, 0.5, 0.25, 0.125])


def test_cosine_annealing():
    # eta_min + (lr - eta_min) (1 + cos(pi k / T_max)) / 2 with T_max = 4, eta_min = 0.2
    c = math.cos(math.pi / 4)
    np.testing.assert_allclose(
        lrs(sim.CosineAnnealingLR(T_max=4, eta_min=0.2), 5),
        [1.0, 0.2 + 0.8 * (1 + c) / 2, 0.6, 0.2 + 0.8 * (1 - c) / 2, 0.2], rtol=1e-15)


def test_warm_restarts():
    # T_mult = 1: T_cur runs 0, 1, 2, 0, 1, 2, ...
    r = lrs(sim.CosineAnnealingWarmRestarts(T_0=3), 7)
    assert r[0] == r[3] == r[6] == 1.0
    np.testing.assert_allclose(r[1], (1 + math.cos(math.pi / 3)) / 2)
    # T_mult = 2, T_0 = 2: periods 2, 4, 8: restarts at steps 0, 2, 6, 14
    r = lrs(sim.CosineAnnealingWarmRestarts(T_0=2, T_mult=2), 16)
    assert [k for k in range(16) if r[k] == 1.0] == [0, 2, 6, 14]
    np.testing.assert_allclose(r[3], (1 + math.cos(math.pi / 4)) / 2)
    np.testing.assert_allclose(r[13], (1 + math.cos(math.pi * 7 / 8)) / 2)


@settings(max_examples=40, deadline=None)
@given(T_0=st.integers(1, 9), T_mult=st.integers(2, 4))
def test_warm_restarts_land_exactly_on_restarts(T_0, T_mult):
    # the closed form uses a logarithm: restarts must fall on the right step anyway
    steps = 400
    r = lrs(sim.CosineAnnealingWarmRestarts(T_0=T_0, T_mult=T_mult), steps)
    starts, T, k = [], T_0, 0
    while k < steps:
        starts.append(k)
        k += T
        T *= T_mult
    assert np.all(r[starts] == 1.0)
    # and the step just before each restart is at the bottom of the cycle, not the top
    before = [k - 1 for k in starts[1:] if k - 1 not in starts]
    assert np.all(r[before] < 1.0)


def test_linear_lr_warmup():
    np.testing.assert_allclose(
        lrs(sim.LinearLR(start_factor=0.25, end_factor=1.0, total_iters=3), 6),
        [0.25, 0.5, 0.75, 1, 1, 1])


def test_constant_lr():
    np.testing.assert_allclose(lrs(sim.ConstantLR(factor=0.5, total_iters=2), 4),
                               [0.5, 0.5, 1, 1])


def test_cyclic_lr_modes():
    tri = sim.CyclicLR(base_lr=1.0, max_lr=3.0, step_size_up=2)
    np.testing.assert_allclose(lrs(tri, 9, base=123.0), [1, 2, 3, 2, 1, 2, 3, 2, 1])
    tri2 = sim.CyclicLR(base_lr=1.0, max_lr=3.0, step_size_up=2, mode="triangular2")
    np.testing.assert_allclose(lrs(tri2, 9), [1, 2, 3, 2, 1, 1.5, 2, 1.5, 1])
    exp = sim.CyclicLR(base_lr=1.0, max_lr=3.0, step_size_up=2, mode="exp_range", gamma=0.5)
    np.testing.assert_allclose(lrs(exp, 4), [1, 1 + 1 * 0.5, 1 + 2 * 0.25, 1 + 1 * 0.125])
    asym = sim.CyclicLR(base_lr=0.0, max_lr=1.0, step_size_up=1, step_size_down=3)
    np.testing.assert_allclose(lrs(asym, 5), [0, 1, 2 / 3, 1 / 3, 0], atol=1e-15)


def test_one_cycle():
    # total 10, pct 0.3: warm up over steps 0..2 (end_step = 3 - 1) from max/25 to max,
    # then cosine down to max/25/1e4 at step 9
    r = lrs(sim.OneCycleLR(max_lr=1.0, total_steps=10, pct_start=0.3), 10, base=7.0)
    assert r[0] == pytest.approx(1 / 25)
    assert r[2] == pytest.approx(1.0)
    assert r[9] == pytest.approx(1 / 25 / 1e4)
    assert np.all(np.diff(r[:3]) > 0) and np.all(np.diff(r[2:]) < 0)
    lin = lrs(sim.OneCycleLR(max_lr=1.0, total_steps=10, pct_start=0.3,
                             anneal_strategy="linear", div_factor=4.0,
                             final_div_factor=1.0), 10)
    np.testing.assert_allclose(lin[:3], [0.25, 0.625, 1.0])
    np.testing.assert_allclose(lin[2:], np.linspace(1.0, 0.25, 8))
    # the run defaults total_steps to its own length
    np.testing.assert_allclose(lrs(sim.OneCycleLR(max_lr=1.0), 10), r)


def test_one_cycle_too_short_for_the_run_is_a_value_error():
    with pytest.raises(ValueError, match="total_steps"):
        sim.OneCycleLR(total_steps=10).learning_rates(0.1, 11)
    with pytest.raises(ValueError, match="total_steps"):
        sim.simulate(sim.get_surface("quadratic"), sim.SGD(), start=(1, 1), steps=20,
                     schedule=sim.OneCycleLR(total_steps=10))


def test_sequential_warmup_then_cosine():
    s = sim.SequentialLR(
        schedulers=(sim.LinearLR(start_factor=0.5, total_iters=2),
                    sim.CosineAnnealingLR(T_max=2)),
        milestones=(2,))
    np.testing.assert_allclose(lrs(s, 5), [0.5, 0.75, 1.0, 0.5, 0.0], atol=1e-16)


@pytest.mark.parametrize("name", sorted(set(sim.SCHEDULES) - {"SequentialLR"}))
@settings(max_examples=10, deadline=None)
@given(steps=st.integers(0, 300), base=st.floats(1e-5, 10.0))
def test_length_dtype_and_finite(name, steps, base):
    if name == "ChainedScheduler":
        sched = sim.ChainedScheduler([sim.LinearLR(), sim.PolynomialLR(total_iters=50)])
    elif name == "OneCycleLR":
        sched = sim.OneCycleLR(total_steps=max(steps, 1))
    else:
        sched = sim.SCHEDULES[name]()
    r = sched.learning_rates(base, steps)
    assert r.shape == (steps,) and r.dtype == np.float64 and r.flags.c_contiguous
    assert np.all(np.isfinite(r)) and np.all(r >= 0)


@pytest.mark.parametrize(
    "make, word",
    [
        (lambda: sim.StepLR(step_size=0), "step_size"),
        (lambda: sim.StepLR(step_size=2.5), "step_size"),
        (lambda: sim.StepLR(gamma=-0.1), "gamma"),
        (lambda: sim.StepLR(gamma=float("inf")), "gamma"),
        (lambda: sim.MultiStepLR(milestones=(5, 2)), "milestones"),
        (lambda: sim.MultiStepLR(milestones=(0,)), "milestone"),
        (lambda: sim.ExponentialLR(gamma=float("nan")), "gamma"),
        (lambda: sim.CosineAnnealingLR(T_max=0), "T_max"),
        (lambda: sim.CosineAnnealingLR(eta_min=-1), "eta_min"),
        (lambda: sim.CosineAnnealingWarmRestarts(T_0=0), "T_0"),
        (lambda: sim.CosineAnnealingWarmRestarts(T_mult=0), "T_mult"),
        (lambda: sim.LinearLR(start_factor=0.0), "start_factor"),
        (lambda: sim.LinearLR(end_factor=1.5), "end_factor"),
        (lambda: sim.ConstantLR(factor=2.0), "factor"),
        (lambda: sim.CyclicLR(mode="sawtooth"), "mode"),
        (lambda: sim.CyclicLR(step_size_up=0), "step_size_up"),
        (lambda: sim.OneCycleLR(anneal_strategy="cubic"), "anneal_strategy"),
        (lambda: sim.OneCycleLR(pct_start=1.5), "pct_start"),
        (lambda: sim.OneCycleLR(div_factor=0.0), "div_factor"),
        (lambda: sim.SequentialLR(schedulers=(), milestones=()), "schedulers"),
        (lambda: sim.SequentialLR(schedulers=(sim.StepLR(), sim.StepLR()), milestones=()),
         "milestones"),
        (lambda: schedule_from_dict({"name": "Nope"}), "unknown schedule"),
        (lambda: schedule_from_dict({"name": "StepLR", "stepsize": 3}), "stepsize"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(make, word):
    with pytest.raises(ValueError, match=word):
        make()


@pytest.mark.parametrize("case", GOLDEN["schedulers"], ids=lambda c: c["id"])
def test_to_dict_round_trips(case):
    sched = schedule_from_dict(case["schedule"])
    again = schedule_from_dict(json.loads(json.dumps(sched.to_dict())))
    assert again == sched
    np.testing.assert_array_equal(again.learning_rates(0.1, 50), sched.learning_rates(0.1, 50))


# ---- PolynomialLR, ChainedScheduler, ReduceLROnPlateau -----------------------------------
def test_polynomial_lr():
    np.testing.assert_allclose(lrs(sim.PolynomialLR(total_iters=4, power=1.0), 6),
                               [1.0, 0.75, 0.5, 0.25, 0.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(lrs(sim.PolynomialLR(total_iters=2, power=0.5), 3),
                               [1.0, math.sqrt(0.5), 0.0], rtol=1e-15)


def test_chained_scheduler_multiplies_factors():
    a = sim.StepLR(step_size=2, gamma=0.5)
    b = sim.ExponentialLR(gamma=0.9)
    sched = sim.ChainedScheduler([a, b])
    np.testing.assert_allclose(lrs(sched, 5), lrs(a, 5) * lrs(b, 5), rtol=1e-15)
    assert schedule_from_dict(sched.to_dict()) == sched
    assert eval(repr(sched), vars(sim)) == sched


@pytest.mark.parametrize("bad, word", [
    ([], "non-empty"),
    ([sim.StepLR(), sim.ReduceLROnPlateau()], "ReduceLROnPlateau"),
    ([sim.CosineAnnealingLR(), sim.SequentialLR([sim.StepLR(), sim.ReduceLROnPlateau()], [5])],
     "SequentialLR with a ReduceLROnPlateau"),
])
def test_chained_scheduler_refuses_what_does_not_chain(bad, word):
    with pytest.raises(ValueError, match=word):
        sim.ChainedScheduler(bad)


CHAIN_CASES = [c for c in GOLDEN["schedulers"] if c["schedule"]["name"] == "ChainedScheduler"]


@pytest.mark.parametrize("case", CHAIN_CASES, ids=lambda c: c["id"])
def test_chain_matches_torch_step_by_step(case):
    # Non-multiplicative chains replay torch's chainable get_lr of every scheduler with the
    # same float operations in the same order: the only possible difference is libm's cos
    # (glibc: under 1 ulp; other libms a few), which enters each step as a few eps of the
    # scale (the recursive cosine's ratio multiplies (lr - eta_min), which cancels the
    # ratio's conditioning), and every scheduler's factor is <= 1/start_factor <= 5 here.
    # Multiplicative chains use the closed-form factors' product (a few roundings per
    # factor). Bound: 16 eps of the scale per step, accumulated over the steps.
    sched = schedule_from_dict(case["schedule"])
    ref = np.array(case["lrs"])
    ours = sched.learning_rates(GOLDEN["sched_base_lr"], len(ref))
    scale = max(GOLDEN["sched_base_lr"], float(np.max(ref)))
    bound = 16 * np.finfo(float).eps * scale * np.arange(1, len(ref) + 1)
    assert np.all(np.abs(ours - ref) <= bound), np.max(np.abs(ours - ref) / bound)


def test_golden_chains_cover_every_chainable_schedule():
    def names(d):
        for c in d["schedulers"]:
            yield c["name"]
            if c["name"] in ("ChainedScheduler", "SequentialLR"):
                yield from names(c)
    seen = {n for c in CHAIN_CASES for n in names(c["schedule"])}
    assert seen == set(sim.SCHEDULES) - {"ConstantSchedule", "ReduceLROnPlateau"}
    # SequentialLR in a chain: after a chain's other schedulers, around a chain, around
    # a SequentialLR, and restarting every kind of scheduler at a milestone
    def seqs(d):
        for c in d["schedulers"]:
            if c["name"] == "SequentialLR":
                yield c
            if "schedulers" in c:
                yield from seqs(c)
    seq = [q for c in CHAIN_CASES for q in seqs(c["schedule"])]
    restarted = {c["name"] for q in seq for c in q["schedulers"][1:]}
    assert restarted >= {"CosineAnnealingLR", "ExponentialLR", "PolynomialLR", "OneCycleLR",
                         "CosineAnnealingWarmRestarts", "StepLR", "LinearLR"}
    assert {q["schedulers"][0]["name"] for q in seq} >= {"ChainedScheduler", "SequentialLR",
                                                         "CyclicLR", "ConstantLR"}


@pytest.mark.parametrize("case", GOLDEN["scheduler_errors"], ids=lambda c: c["id"])
def test_chain_refuses_what_torch_refuses(case):
    # torch raised building or stepping these chains (ValueError; NotImplementedError for
    # a SequentialLR that cannot restart a chain at its milestone): LossLab raises
    # ValueError, at construction or from learning_rates, with a message naming the culprit
    word, torch_type, managed = {
        "ChainedScheduler-onecycle-too-short": ("total_steps", "ValueError", 20),
        "ChainedScheduler-plateau": ("ReduceLROnPlateau", "ValueError", None),
        "ChainedScheduler-sequential-plateau": ("ReduceLROnPlateau", "ValueError", None),
        "ChainedScheduler-sequential-chain-at-milestone": (
            "schedulers\\[1\\] is ChainedScheduler.*milestone 12", "NotImplementedError", 11),
    }[case["id"]]
    assert case["torch_raised"]["type"] == torch_type
    with pytest.raises(ValueError, match=word):
        schedule_from_dict(case["schedule"]).learning_rates(GOLDEN["sched_base_lr"],
                                                            case["steps"])
    # and the run length torch managed is fine (a run of n updates steps the scheduler
    # n times, as torch's loop does: the n-th step is the one that raises)
    if managed is not None:
        assert schedule_from_dict(case["schedule"]).learning_rates(0.1, managed).shape == (
            managed,)


@pytest.mark.parametrize("one", [
    sim.StepLR(3, 0.5), sim.MultiStepLR((2, 5), 0.3), sim.ExponentialLR(0.9),
    sim.CosineAnnealingLR(T_max=7, eta_min=0.01), sim.CosineAnnealingWarmRestarts(3, 2),
    sim.LinearLR(0.25, 1.0, 6), sim.ConstantLR(0.5, 4), sim.PolynomialLR(9, 2.0),
    sim.CyclicLR(0.01, 0.3, 3, mode="triangular2"), sim.OneCycleLR(0.4, total_steps=30),
    sim.ConstantSchedule(),
], ids=repr)
def test_chain_of_one_is_the_schedule(one):
    # torch's chainable forms reproduce the closed forms to rounding
    alone = one.learning_rates(0.2, 30)
    # (ConstantSchedule, no scheduler in torch, leaves the rate alone)
    for chained in (sim.ChainedScheduler([one]),
                    sim.ChainedScheduler([sim.ConstantSchedule(), one])):
        np.testing.assert_allclose(chained.learning_rates(0.2, 30), alone, rtol=0,
                                   atol=64 * np.finfo(float).eps * max(0.4, alone.max()))


def test_chain_by_hand():
    # CosineAnnealingLR(T_max=4) then StepLR(2, 0.5), base 1: the cosine's recursive form
    # scales what StepLR left: k=1: (1+cos(pi/4))/2; k=2: StepLR halves the cosine's 1/2;
    # k=3: ratio (1+cos(3pi/4))/(1+cos(pi/2)) of 0.25; k=4: 0; k=5 (T_max + 1): the
    # cosine adds (1 - 0) * (1 - cos(pi/4)) / 2 to 0 (its base is the initial rate)
    s = sim.ChainedScheduler([sim.CosineAnnealingLR(T_max=4), sim.StepLR(2, 0.5)])
    c = math.cos(math.pi / 4)
    np.testing.assert_allclose(
        s.learning_rates(1.0, 6), [1, (1 + c) / 2, 0.25, (1 - c) * 0.25, 0, (1 - c) / 2],
        rtol=1e-15, atol=1e-16)
    # OneCycleLR before an exponential decay sets the rate, and the decay scales it
    oc = sim.OneCycleLR(max_lr=1.0, total_steps=10)
    s = sim.ChainedScheduler([oc, sim.ExponentialLR(0.5)])
    np.testing.assert_allclose(s.learning_rates(7.0, 10), oc.learning_rates(7.0, 10)
                               * 0.5 ** (np.arange(10) > 0), rtol=1e-15)
    # a chain in a chain is stepped in place
    inner = sim.ChainedScheduler([sim.CosineAnnealingLR(5), sim.LinearLR(0.5, 1.0, 3)])
    flat = sim.ChainedScheduler([*inner.schedulers, sim.StepLR(4, 0.1)])
    nested = sim.ChainedScheduler([inner, sim.StepLR(4, 0.1)])
    np.testing.assert_array_equal(nested.learning_rates(0.3, 20), flat.learning_rates(0.3, 20))
    assert schedule_from_dict(nested.to_dict()) == nested


def test_sequential_in_chain_by_hand():
    # LinearLR(0.5, total_iters=4) then SequentialLR([ExponentialLR(0.5)]), base 1: the
    # SequentialLR's constructor resets the rate to initial_lr (1, undoing LinearLR's
    # start factor) and redoes ExponentialLR's initial step (no change); then every
    # update LinearLR multiplies by its ratio 1 + 0.5 / (2 + 0.5 (k - 1)) (5/4, 6/5, 7/6,
    # 8/7, then 1) and ExponentialLR by 1/2
    s = sim.ChainedScheduler([sim.LinearLR(0.5, 1.0, 4),
                              sim.SequentialLR([sim.ExponentialLR(0.5)], [])])
    np.testing.assert_allclose(s.learning_rates(1.0, 6),
                               [1, 0.625, 0.375, 0.21875, 0.125, 0.0625], rtol=1e-15)
    # at the milestone the next scheduler restarts with its closed form at 0: StepLR
    # sets the base rate back (the exponential decay's 0.5^3 is gone), ExponentialLR
    # chained after the SequentialLR keeps multiplying
    s = sim.ChainedScheduler([sim.SequentialLR([sim.ExponentialLR(0.5), sim.StepLR(2, 0.1)],
                                               [3]),
                              sim.ExponentialLR(0.5)])
    np.testing.assert_allclose(s.learning_rates(1.0, 6),
                               [1, 0.25, 0.0625, 0.5, 0.25, 0.0125], rtol=1e-15)
    # inside a SequentialLR a ConstantSchedule is ConstantLR(factor=1, total_iters=1)
    for first in (sim.ConstantSchedule(), sim.CosineAnnealingLR(7)):
        a = sim.ChainedScheduler([sim.PolynomialLR(20), sim.SequentialLR(
            [first, sim.ConstantSchedule(), sim.StepLR(3, 0.5)], [4, 9])])
        b = sim.ChainedScheduler([sim.PolynomialLR(20), sim.SequentialLR(
            [sim.ConstantLR(1.0, 1) if first == sim.ConstantSchedule() else first,
             sim.ConstantLR(1.0, 1), sim.StepLR(3, 0.5)], [4, 9])])
        np.testing.assert_array_equal(a.learning_rates(0.3, 25), b.learning_rates(0.3, 25))
    # files, labs and sessions store it as any schedule
    assert schedule_from_dict(a.to_dict()) == a
    assert eval(repr(a), vars(sim)) == a


@pytest.mark.parametrize("case", GOLDEN["plateau"], ids=lambda c: c["id"])
def test_plateau_matches_torch_on_given_metrics(case):
    sched = schedule_from_dict(case["schedule"])
    ours = sched.rates_for_losses(GOLDEN["sched_base_lr"], GOLDEN["plateau_metrics"])
    # the same comparisons and one multiplication per cut, in torch's order: exact
    np.testing.assert_array_equal(ours, case["lrs"])


def test_plateau_by_hand():
    s = sim.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1)
    # improvements reset the count; two bad updates (> patience) cut; a cooldown of one
    # update ignores the next bad one
    out = s.rates_for_losses(1.0, [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0])
    np.testing.assert_array_equal(out, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25])
    # min_lr floors the rate; a cut smaller than eps is not made
    s = sim.ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.3)
    np.testing.assert_array_equal(s.rates_for_losses(1.0, [1.0, 1.0, 1.0]), [1, 1, 0.3])
    s = sim.ReduceLROnPlateau(factor=0.5, patience=0, eps=0.6)
    np.testing.assert_array_equal(s.rates_for_losses(1.0, [1.0, 1.0, 1.0]), [1, 1, 1])
    # mode "max" with an absolute threshold: 1.05 is not better than 1.0 + 0.1
    s = sim.ReduceLROnPlateau(mode="max", threshold=0.1, threshold_mode="abs", patience=0,
                              factor=0.5)
    np.testing.assert_array_equal(s.rates_for_losses(1.0, [1.0, 1.05, 1.2]), [1, 1, 0.5])


@pytest.mark.parametrize("kw, word", [
    ({"mode": "lowest"}, "mode"), ({"threshold_mode": "pct"}, "threshold_mode"),
    ({"factor": 1.0}, "factor"), ({"factor": -0.1}, "factor"), ({"patience": -1}, "patience"),
    ({"cooldown": 1.5}, "cooldown"), ({"min_lr": -1.0}, "min_lr"), ({"eps": float("nan")}, "eps"),
    ({"threshold": -1e-4}, "threshold"),
])
def test_plateau_bad_parameters(kw, word):
    with pytest.raises(ValueError, match=word):
        sim.ReduceLROnPlateau(**kw)


@pytest.mark.parametrize("kw, word", [
    ({"total_iters": 0}, "total_iters"), ({"power": -1.0}, "power"),
])
def test_polynomial_bad_parameters(kw, word):
    with pytest.raises(ValueError, match=word):
        sim.PolynomialLR(**kw)


@pytest.mark.parametrize("case", GOLDEN["plateau_runs"], ids=lambda c: c["id"])
def test_plateau_run_matches_torch(case):
    # torch: loss = closure(); optimizer.step(); scheduler.step(loss.item()) every update
    P = GOLDEN["problems"][case["problem"]]
    s = sim.get_surface(P["surface"], **P["params"])
    opt = optimizer_from_dict(dict(case["optimizer"]))
    ref = np.array(case["positions"])
    run = sim.simulate(s, opt, start=P["start"], steps=len(ref) - 1,
                       schedule=schedule_from_dict(case["schedule"]))
    np.testing.assert_array_equal(run.learning_rates, case["lrs"])
    scale = float(np.max(np.abs(ref)))
    np.testing.assert_allclose(run.positions, ref, rtol=1e-12, atol=1e-12 * scale)


def test_plateau_batch_reproduces_simulate():
    s = sim.get_surface("rosenbrock")
    sched = sim.ReduceLROnPlateau(patience=2, factor=0.5)
    starts = np.array([[-1.2, 1.0], [0.5, -0.5], [1.5, 2.0]])
    b = sim.simulate_batch(s, sim.Adam(lr=0.2), starts, steps=60, schedule=sched)
    for i, p in enumerate(starts):
        r = sim.simulate(s, sim.Adam(lr=0.2), start=p, steps=60, schedule=sched)
        np.testing.assert_array_equal(b.final_positions[i], r.positions[-1])
        assert b.status[i] == r.status
        assert b.min_losses[i] == r.losses.min()
