"""Make ``torch_golden.json``: reference numbers from real PyTorch (a dev tool).

torch is NOT a LossLab dependency; this script needs it, the tests only read the JSON it
writes. To regenerate (from the repository root)::

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    /tmp/torchenv/bin/python tests/data/make_torch_golden.py

It records, in float64 with ``foreach=False`` (torch's single-tensor code path):

- ``optimizers``: the positions of ~40 steps of every torch.optim optimizer LossLab
  mirrors, in several configurations, on two 2-D problems whose loss is written with torch
  ops and differentiated by autograd (Rosenbrock and an axis-aligned ravine
  ``0.5 * (0.2 x^2 + 2 y^2)``, i.e. ``get_surface("ravine", condition=10, angle=0)``);
- ``schedulers``: the learning rate ``optimizer.param_groups[0]["lr"]`` at each of 60
  ``optimizer.step()`` calls, stepping the scheduler after each update;
- ``clip``: ``torch.nn.utils.clip_grad_norm_`` on single 2-D gradients;
- ``clip_runs``: SGD with ``clip_grad_norm_`` before every step.

Floats are written with ``repr`` (json's default), so they round-trip exactly. The names
and keyword arguments are LossLab's (``optimizer_from_dict``/``schedule_from_dict``).
"""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path

import torch

STEPS = 40
SCHED_STEPS = 60
OUT = Path(__file__).with_name("torch_golden.json")

torch.set_default_dtype(torch.float64)

PROBLEMS = {
    "rosenbrock": {"surface": "rosenbrock", "params": {"a": 1.0, "b": 100.0},
                   "start": [-1.2, 1.0]},
    "ravine": {"surface": "ravine", "params": {"condition": 10.0, "angle": 0.0},
               "start": [2.5, -1.5]},
}


def loss_fn(problem: str, p: torch.Tensor) -> torch.Tensor:
    x, y = p[0], p[1]
    if problem == "rosenbrock":
        return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2
    if problem == "ravine":
        # LossLab's quadratic form 0.5 (a x^2 + 2 b x y + c y^2) with a = 2/10, b = 0, c = 2
        return 0.5 * ((2.0 / 10.0) * x**2 + 2.0 * y**2)
    raise KeyError(problem)


# (case id, torch.optim class name, kwargs without lr, lr per problem)
R, V = "rosenbrock", "ravine"
OPTIMIZER_CASES = [
    ("SGD", "SGD", {}, {R: 1e-3, V: 0.3}),
    ("SGD-momentum", "SGD", {"momentum": 0.9}, {R: 2e-4, V: 0.1}),
    ("SGD-dampening", "SGD", {"momentum": 0.8, "dampening": 0.5}, {R: 3e-4, V: 0.1}),
    ("SGD-nesterov", "SGD", {"momentum": 0.9, "nesterov": True}, {R: 2e-4, V: 0.1}),
    ("SGD-weight_decay", "SGD", {"momentum": 0.5, "weight_decay": 0.1}, {R: 3e-4, V: 0.2}),
    ("Adagrad", "Adagrad", {}, {R: 0.1, V: 0.5}),
    ("Adagrad-options", "Adagrad",
     {"lr_decay": 0.05, "initial_accumulator_value": 0.1, "weight_decay": 0.05, "eps": 1e-8},
     {R: 0.1, V: 0.5}),
    ("RMSprop", "RMSprop", {}, {R: 0.01, V: 0.05}),
    ("RMSprop-centered", "RMSprop", {"centered": True, "alpha": 0.9}, {R: 0.01, V: 0.05}),
    ("RMSprop-momentum", "RMSprop", {"momentum": 0.9}, {R: 0.002, V: 0.02}),
    ("RMSprop-all", "RMSprop",
     {"momentum": 0.5, "centered": True, "weight_decay": 0.1, "eps": 1e-6},
     {R: 0.005, V: 0.02}),
    ("Adam", "Adam", {}, {R: 0.05, V: 0.1}),
    ("Adam-amsgrad", "Adam", {"amsgrad": True, "betas": [0.8, 0.99]}, {R: 0.05, V: 0.1}),
    ("Adam-weight_decay", "Adam", {"weight_decay": 0.1, "eps": 1e-6}, {R: 0.05, V: 0.1}),
    ("AdamW", "AdamW", {}, {R: 0.05, V: 0.1}),
    ("AdamW-amsgrad", "AdamW", {"weight_decay": 0.3, "amsgrad": True}, {R: 0.05, V: 0.1}),
    ("NAdam", "NAdam", {}, {R: 0.05, V: 0.1}),
    ("NAdam-weight_decay", "NAdam", {"weight_decay": 0.1, "momentum_decay": 0.01},
     {R: 0.05, V: 0.1}),
    ("NAdam-decoupled", "NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True},
     {R: 0.05, V: 0.1}),
    ("RAdam", "RAdam", {}, {R: 5e-4, V: 0.1}),
    ("RAdam-weight_decay", "RAdam", {"weight_decay": 0.1, "betas": [0.9, 0.99]},
     {R: 5e-4, V: 0.1}),
    ("RAdam-decoupled", "RAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True},
     {R: 5e-4, V: 0.1}),
    ("Adamax", "Adamax", {}, {R: 0.05, V: 0.1}),
    ("Adamax-weight_decay", "Adamax", {"weight_decay": 0.1, "betas": [0.8, 0.95]},
     {R: 0.05, V: 0.1}),
    ("Adadelta", "Adadelta", {}, {R: 1.0, V: 1.0}),
    ("Adadelta-options", "Adadelta", {"rho": 0.5, "eps": 1e-4, "weight_decay": 0.1},
     {R: 0.5, V: 1.0}),
    ("Rprop", "Rprop", {}, {R: 1e-3, V: 0.1}),
    ("Rprop-options", "Rprop", {"etas": [0.3, 1.5], "step_sizes": [1e-4, 0.2]},
     {R: 0.01, V: 0.5}),
    ("Rprop-maximize", "Rprop", {"maximize": True}, {R: 1e-3, V: 0.01}),
    ("ASGD", "ASGD", {}, {R: 1e-3, V: 0.3}),
    ("ASGD-options", "ASGD", {"lambd": 0.05, "alpha": 0.5, "t0": 10.0, "weight_decay": 0.1},
     {R: 1e-3, V: 0.3}),
    ("LBFGS", "LBFGS", {}, {R: 0.1, V: 1.0}),
    ("LBFGS-options", "LBFGS",
     {"max_iter": 3, "max_eval": 5, "history_size": 2, "tolerance_change": 1e-7},
     {R: 0.5, V: 0.7}),
    ("LBFGS-strong_wolfe", "LBFGS", {"line_search_fn": "strong_wolfe"}, {R: 1.0, V: 1.0}),
    ("LBFGS-strong_wolfe-short", "LBFGS",
     {"line_search_fn": "strong_wolfe", "max_iter": 2, "history_size": 3},
     {R: 1.0, V: 2.0}),
]
LBFGS_STEPS = 8  # each step is up to max_iter iterations: Rosenbrock is solved in ~8


PAIRS = ("betas", "etas", "step_sizes")


def run_optimizer(cls_name, kwargs, lr, problem, steps, clip=None, plateau=None):
    """Positions and gradients of ``steps`` updates; LBFGS also gives the closure calls
    per ``step(closure)``, and a ``ReduceLROnPlateau`` (kwargs ``plateau``) stepped with
    the loss before each update gives the learning rate of every update."""
    start = PROBLEMS[problem]["start"]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    kw = {k: (tuple(v) if k in PAIRS else v) for k, v in kwargs.items()}
    if cls_name != "LBFGS":
        kw["foreach"] = False
    opt = getattr(torch.optim, cls_name)([p], lr=lr, **kw)
    sched = (torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **plateau)
             if plateau is not None else None)
    positions = [p.detach().tolist()]
    grads = []
    evals = []
    lrs = []
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = loss_fn(problem, p)
        loss.backward()
        return loss

    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        if cls_name == "LBFGS":
            calls[0] = 0
            grads.append(None)
            loss = opt.step(closure)
            evals.append(calls[0])
        else:
            opt.zero_grad()
            loss = loss_fn(problem, p)
            loss.backward()
            grads.append(p.grad.tolist())
            if clip is not None:
                torch.nn.utils.clip_grad_norm_([p], clip, foreach=False)
            opt.step()
        if sched is not None:
            sched.step(loss.item())
        positions.append(p.detach().tolist())
    for row in positions:
        assert all(math.isfinite(v) for v in row), (cls_name, kwargs, problem)
    if plateau is not None:
        return positions, lrs
    if cls_name == "LBFGS":
        return positions, evals
    return positions, grads


# ReduceLROnPlateau on the full-batch loss: (case id, optimizer, lr per problem, kwargs)
PLATEAU_RUNS = [
    ("SGD-momentum-plateau", {"name": "SGD", "momentum": 0.9}, {R: 1e-3, V: 0.5},
     {"patience": 2, "factor": 0.5}),
    ("Adam-plateau-abs", {"name": "Adam"}, {R: 0.2, V: 0.5},
     {"patience": 1, "factor": 0.3, "threshold": 1e-3, "threshold_mode": "abs",
      "cooldown": 2, "min_lr": 0.02}),
    ("LBFGS-plateau", {"name": "LBFGS", "max_iter": 4}, {R: 0.5, V: 0.5},
     {"patience": 0, "factor": 0.5, "threshold": 0.05}),
]
# ReduceLROnPlateau on a given metric sequence: (case id, kwargs, metrics)
PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.89, 0.891, 0.9, 0.88, 0.8, 0.81, 0.82, 0.83,
                   0.84, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4999, 0.6, 0.7, 0.2, 0.3, 0.3, 0.3]
PLATEAU_CASES = [
    ("plateau-default", {}),
    ("plateau-min", {"patience": 1, "factor": 0.5}),
    ("plateau-max", {"mode": "max", "patience": 2, "factor": 0.2, "threshold": 0.01}),
    ("plateau-abs-cooldown", {"threshold_mode": "abs", "threshold": 0.02, "patience": 1,
                              "cooldown": 3, "factor": 0.5}),
    ("plateau-min_lr-eps", {"patience": 0, "factor": 0.1, "min_lr": 0.002, "eps": 1e-3}),
]


def run_plateau(kwargs, metrics):
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=SCHED_BASE_LR, foreach=False)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    lrs = []
    for m in metrics:
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(2)
        opt.step()
        sched.step(m)
    return [float(v) for v in lrs]


# (case id, scheduler name, LossLab kwargs, extra torch-only kwargs)
SCHEDULER_CASES = [
    ("StepLR", "StepLR", {"step_size": 7, "gamma": 0.5}, {}),
    ("MultiStepLR", "MultiStepLR", {"milestones": [5, 17, 40], "gamma": 0.3}, {}),
    ("ExponentialLR", "ExponentialLR", {"gamma": 0.93}, {}),
    ("CosineAnnealingLR", "CosineAnnealingLR", {"T_max": 60, "eta_min": 0.001}, {}),
    ("CosineAnnealingLR-zero", "CosineAnnealingLR", {"T_max": 45, "eta_min": 0.0}, {}),
    ("CosineAnnealingLR-past-T_max", "CosineAnnealingLR", {"T_max": 20, "eta_min": 0.01}, {}),
    ("CosineAnnealingWarmRestarts", "CosineAnnealingWarmRestarts",
     {"T_0": 7, "T_mult": 1, "eta_min": 0.001}, {}),
    ("CosineAnnealingWarmRestarts-T_mult2", "CosineAnnealingWarmRestarts",
     {"T_0": 3, "T_mult": 2, "eta_min": 0.0}, {}),
    ("CosineAnnealingWarmRestarts-T_mult3", "CosineAnnealingWarmRestarts",
     {"T_0": 2, "T_mult": 3, "eta_min": 0.005}, {}),
    ("LinearLR", "LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 10}, {}),
    ("LinearLR-decay", "LinearLR", {"start_factor": 1.0, "end_factor": 0.1,
                                    "total_iters": 40}, {}),
    ("ConstantLR", "ConstantLR", {"factor": 0.5, "total_iters": 8}, {}),
    ("CyclicLR-triangular", "CyclicLR",
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "triangular"},
     {"cycle_momentum": False}),
    ("CyclicLR-triangular2", "CyclicLR",
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "step_size_down": 6,
      "mode": "triangular2"},
     {"cycle_momentum": False}),
    ("CyclicLR-exp_range", "CyclicLR",
     {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "mode": "exp_range", "gamma": 0.97},
     {"cycle_momentum": False}),
    ("OneCycleLR-cos", "OneCycleLR", {"max_lr": 0.1, "total_steps": 60, "pct_start": 0.25},
     {"cycle_momentum": False}),
    ("OneCycleLR-linear", "OneCycleLR",
     {"max_lr": 0.1, "total_steps": 60, "anneal_strategy": "linear", "div_factor": 10.0,
      "final_div_factor": 100.0},
     {"cycle_momentum": False}),
    ("OneCycleLR-three_phase", "OneCycleLR",
     {"max_lr": 0.1, "total_steps": 60, "pct_start": 0.3, "three_phase": True},
     {"cycle_momentum": False}),
    ("OneCycleLR-longer", "OneCycleLR", {"max_lr": 0.05, "total_steps": 80},
     {"cycle_momentum": False}),
    ("SequentialLR-warmup-cosine", "SequentialLR",
     {"schedulers": [{"name": "LinearLR", "start_factor": 0.1, "end_factor": 1.0,
                      "total_iters": 10},
                     {"name": "CosineAnnealingLR", "T_max": 50, "eta_min": 0.0}],
      "milestones": [10]},
     {}),
    ("PolynomialLR", "PolynomialLR", {"total_iters": 40, "power": 2.0}, {}),
    ("PolynomialLR-default", "PolynomialLR", {}, {}),
    ("PolynomialLR-sqrt", "PolynomialLR", {"total_iters": 25, "power": 0.5}, {}),
    ("ChainedScheduler-exp-step", "ChainedScheduler",
     {"schedulers": [{"name": "ExponentialLR", "gamma": 0.97},
                     {"name": "StepLR", "step_size": 10, "gamma": 0.5}]}, {}),
    ("ChainedScheduler-warmup-poly", "ChainedScheduler",
     {"schedulers": [{"name": "LinearLR", "start_factor": 0.2, "total_iters": 8},
                     {"name": "PolynomialLR", "total_iters": 50, "power": 1.5},
                     {"name": "MultiStepLR", "milestones": [20, 45], "gamma": 0.5}]}, {}),
    ("ChainedScheduler-constant-exp", "ChainedScheduler",
     {"schedulers": [{"name": "ConstantLR", "factor": 0.5, "total_iters": 12},
                     {"name": "ExponentialLR", "gamma": 0.95}]}, {}),
    # chains with non-multiplicative schedules: torch's chainable (recursive) cosine on the
    # rate the others leave, absolute rates (cyclic, one-cycle, warm restarts) overriding
    ("ChainedScheduler-cosine-exp", "ChainedScheduler",
     {"schedulers": [{"name": "CosineAnnealingLR", "T_max": 20, "eta_min": 0.01},
                     {"name": "ExponentialLR", "gamma": 0.97}]}, {}),
    ("ChainedScheduler-warmup-cosine", "ChainedScheduler",
     {"schedulers": [{"name": "LinearLR", "start_factor": 0.2, "total_iters": 10},
                     {"name": "CosineAnnealingLR", "T_max": 60, "eta_min": 0.0}]}, {}),
    ("ChainedScheduler-cyclic-step", "ChainedScheduler",
     {"schedulers": [{"name": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4,
                      "step_size_down": 6, "mode": "triangular2"},
                     {"name": "StepLR", "step_size": 15, "gamma": 0.5}]}, {}),
    ("ChainedScheduler-exp-cyclic", "ChainedScheduler",
     {"schedulers": [{"name": "ExponentialLR", "gamma": 0.95},
                     {"name": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5,
                      "mode": "exp_range", "gamma": 0.97}]}, {}),
    ("ChainedScheduler-cyclic-cosine", "ChainedScheduler",
     {"schedulers": [{"name": "CyclicLR", "base_lr": 0.02, "max_lr": 0.1, "step_size_up": 5},
                     {"name": "CosineAnnealingLR", "T_max": 12, "eta_min": 0.001}]}, {}),
    ("ChainedScheduler-onecycle-multistep", "ChainedScheduler",
     {"schedulers": [{"name": "OneCycleLR", "max_lr": 0.2, "total_steps": 60},
                     {"name": "MultiStepLR", "milestones": [30, 45], "gamma": 0.5}]}, {}),
    ("ChainedScheduler-onecycle-cosine", "ChainedScheduler",
     {"schedulers": [{"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 70,
                      "pct_start": 0.3, "three_phase": True},
                     {"name": "CosineAnnealingLR", "T_max": 25, "eta_min": 0.0005}]}, {}),
    ("ChainedScheduler-poly-onecycle-linear", "ChainedScheduler",
     {"schedulers": [{"name": "PolynomialLR", "total_iters": 40, "power": 2.0},
                     {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 60,
                      "anneal_strategy": "linear"}]}, {}),
    ("ChainedScheduler-warm-restarts-linear", "ChainedScheduler",
     {"schedulers": [{"name": "CosineAnnealingWarmRestarts", "T_0": 7, "T_mult": 2,
                      "eta_min": 0.002},
                     {"name": "LinearLR", "start_factor": 0.5, "total_iters": 12}]}, {}),
    ("ChainedScheduler-cyclic-warm-restarts", "ChainedScheduler",
     {"schedulers": [{"name": "CyclicLR", "base_lr": 0.03, "max_lr": 0.1, "step_size_up": 3},
                     {"name": "CosineAnnealingWarmRestarts", "T_0": 9}]}, {}),
    ("ChainedScheduler-nested", "ChainedScheduler",
     {"schedulers": [{"name": "ChainedScheduler",
                      "schedulers": [{"name": "ConstantLR", "factor": 0.5, "total_iters": 6},
                                     {"name": "CosineAnnealingLR", "T_max": 30}]},
                     {"name": "StepLR", "step_size": 20, "gamma": 0.3}]}, {}),
    # SequentialLR in a chain: its constructor resets the rate to initial_lr and redoes
    # its first scheduler's initial step; at a milestone the next one restarts with its
    # closed form at 0 (or get_lr at 0) while the chain's others keep stepping the rate
    ("ChainedScheduler-sequential-warmup-cosine-exp", "ChainedScheduler",
     {"schedulers": [{"name": "SequentialLR",
                      "schedulers": [{"name": "LinearLR", "start_factor": 0.1,
                                      "total_iters": 10},
                                     {"name": "CosineAnnealingLR", "T_max": 50,
                                      "eta_min": 0.001}],
                      "milestones": [10]},
                     {"name": "ExponentialLR", "gamma": 0.98}]}, {}),
    ("ChainedScheduler-linear-sequential-step", "ChainedScheduler",
     {"schedulers": [{"name": "LinearLR", "start_factor": 0.2, "total_iters": 6},
                     {"name": "SequentialLR",
                      "schedulers": [{"name": "ConstantLR", "factor": 0.5, "total_iters": 5},
                                     {"name": "ExponentialLR", "gamma": 0.95},
                                     {"name": "PolynomialLR", "total_iters": 30,
                                      "power": 2.0}],
                      "milestones": [8, 25]},
                     {"name": "StepLR", "step_size": 15, "gamma": 0.5}]}, {}),
    ("ChainedScheduler-sequential-cyclic-onecycle", "ChainedScheduler",
     {"schedulers": [{"name": "MultiStepLR", "milestones": [12, 40], "gamma": 0.5},
                     {"name": "SequentialLR",
                      "schedulers": [{"name": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1,
                                      "step_size_up": 4, "mode": "triangular2"},
                                     {"name": "OneCycleLR", "max_lr": 0.2,
                                      "total_steps": 60, "three_phase": True}],
                      "milestones": [20]},
                     {"name": "PolynomialLR", "total_iters": 50, "power": 1.0}]}, {}),
    ("ChainedScheduler-sequential-chain-warm-restarts", "ChainedScheduler",
     {"schedulers": [{"name": "SequentialLR",
                      "schedulers": [{"name": "ChainedScheduler",
                                      "schedulers": [{"name": "CosineAnnealingLR",
                                                      "T_max": 12},
                                                     {"name": "LinearLR",
                                                      "start_factor": 0.25,
                                                      "total_iters": 8}]},
                                     {"name": "CosineAnnealingWarmRestarts", "T_0": 6,
                                      "T_mult": 2, "eta_min": 0.002},
                                     {"name": "StepLR", "step_size": 4, "gamma": 0.7}],
                      "milestones": [18, 42]},
                     {"name": "ExponentialLR", "gamma": 0.99}]}, {}),
    ("ChainedScheduler-sequential-nested", "ChainedScheduler",
     {"schedulers": [{"name": "CosineAnnealingLR", "T_max": 40},
                     {"name": "SequentialLR",
                      "schedulers": [{"name": "SequentialLR",
                                      "schedulers": [{"name": "ExponentialLR",
                                                      "gamma": 0.9},
                                                     {"name": "StepLR", "step_size": 3,
                                                      "gamma": 0.8}],
                                      "milestones": [7]},
                                     {"name": "LinearLR", "start_factor": 0.5,
                                      "end_factor": 0.2, "total_iters": 10}],
                      "milestones": [30]}]}, {}),
]
# chains torch refuses or fails on when stepped: (case id, LossLab kwargs, steps)
SCHEDULER_ERROR_CASES = [
    ("ChainedScheduler-onecycle-too-short",
     {"schedulers": [{"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 20},
                     {"name": "ExponentialLR", "gamma": 0.9}]}, 25),
    ("ChainedScheduler-plateau",
     {"schedulers": [{"name": "StepLR", "step_size": 5},
                     {"name": "ReduceLROnPlateau"}]}, 10),
    # SequentialLR refuses ReduceLROnPlateau (ValueError); it cannot restart a
    # ChainedScheduler at a milestone (no closed form, no get_lr: NotImplementedError)
    ("ChainedScheduler-sequential-plateau",
     {"schedulers": [{"name": "ExponentialLR", "gamma": 0.9},
                     {"name": "SequentialLR",
                      "schedulers": [{"name": "StepLR", "step_size": 5},
                                     {"name": "ReduceLROnPlateau"}],
                      "milestones": [6]}]}, 10),
    ("ChainedScheduler-sequential-chain-at-milestone",
     {"schedulers": [{"name": "SequentialLR",
                      "schedulers": [{"name": "StepLR", "step_size": 5, "gamma": 0.5},
                                     {"name": "ChainedScheduler",
                                      "schedulers": [{"name": "ExponentialLR",
                                                      "gamma": 0.9}]}],
                      "milestones": [12]},
                     {"name": "ExponentialLR", "gamma": 0.95}]}, 20),
]
SCHED_BASE_LR = 0.1


def make_scheduler(opt, name, kwargs, extra):
    cls = getattr(torch.optim.lr_scheduler, name)
    if name == "SequentialLR":
        subs = []
        for d in kwargs["schedulers"]:
            d = dict(d)
            subs.append(make_scheduler(opt, d.pop("name"), d, {}))
        return cls(opt, schedulers=subs, milestones=list(kwargs["milestones"]))
    if name == "ChainedScheduler":
        subs = []
        for d in kwargs["schedulers"]:
            d = dict(d)
            subs.append(make_scheduler(opt, d.pop("name"), d, {}))
        return cls(subs)
    return cls(opt, **kwargs, **extra)


def run_scheduler(name, kwargs, extra, steps):
    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=SCHED_BASE_LR, foreach=False)
    sched = make_scheduler(opt, name, kwargs, extra)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(2)
        opt.step()
        sched.step()
    return [float(v) for v in lrs]


CLIP_CASES = [
    ([3.0, 4.0], 1.0), ([3.0, 4.0], 5.0), ([3.0, 4.0], 4.999999), ([3.0, 4.0], 10.0),
    ([0.0, 0.0], 1.0), ([1e-3, -2e-3], 1e-3), ([-215.6, -88.0], 1.0), ([1e150, 1e150], 2.5),
    ([0.1, 0.2], 0.3), ([-7.25, 0.0], 0.5), ([1.0, 1.0], math.sqrt(2.0)),
]


def run_clip(grad, max_norm):
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.tensor(grad)
    total = torch.nn.utils.clip_grad_norm_([p], max_norm, foreach=False)
    return {"grad": grad, "max_norm": max_norm, "total_norm": float(total),
            "clipped": p.grad.tolist()}


def main() -> None:
    out = {
        "about": "reference numbers from PyTorch; made by tests/data/make_torch_golden.py",
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "steps": STEPS,
        "sched_steps": SCHED_STEPS,
        "sched_base_lr": SCHED_BASE_LR,
        "problems": PROBLEMS,
        "optimizers": [],
        "schedulers": [],
        "clip": [run_clip(g, m) for g, m in CLIP_CASES],
        "clip_runs": [],
        "lbfgs_steps": LBFGS_STEPS,
        "plateau_runs": [],
        "plateau_metrics": PLATEAU_METRICS,
        "plateau": [],
    }
    for case, cls_name, kwargs, lrs in OPTIMIZER_CASES:
        for problem, lr in lrs.items():
            steps = LBFGS_STEPS if cls_name == "LBFGS" else STEPS
            positions, extra = run_optimizer(cls_name, kwargs, lr, problem, steps)
            row = {
                "id": f"{case}/{problem}", "problem": problem,
                "optimizer": {"name": cls_name, "lr": lr, **kwargs},
                "positions": positions,
            }
            # LBFGS: closure calls per step (its gradients are the closure's)
            row["evals" if cls_name == "LBFGS" else "gradients"] = extra
            out["optimizers"].append(row)
    for case, optd, lrs, kwargs in PLATEAU_RUNS:
        for problem, lr in lrs.items():
            optk = {k: v for k, v in optd.items() if k != "name"}
            steps = LBFGS_STEPS * 2 if optd["name"] == "LBFGS" else STEPS
            positions, run_lrs = run_optimizer(optd["name"], optk, lr, problem, steps,
                                               plateau=kwargs)
            out["plateau_runs"].append({
                "id": f"{case}/{problem}", "problem": problem,
                "optimizer": {**optd, "lr": lr},
                "schedule": {"name": "ReduceLROnPlateau", **kwargs},
                "positions": positions, "lrs": run_lrs,
            })
    for case, kwargs in PLATEAU_CASES:
        out["plateau"].append({
            "id": case, "schedule": {"name": "ReduceLROnPlateau", **kwargs},
            "lrs": run_plateau(kwargs, PLATEAU_METRICS),
        })
    for problem, lr, momentum, clip in ((R, 1e-2, 0.9, 1.0), (V, 0.5, 0.0, 0.7)):
        kwargs = {"momentum": momentum}
        positions, _ = run_optimizer("SGD", kwargs, lr, problem, STEPS, clip=clip)
        out["clip_runs"].append({
            "id": f"SGD-clip/{problem}", "problem": problem, "clip_grad_norm": clip,
            "optimizer": {"name": "SGD", "lr": lr, **kwargs}, "positions": positions,
        })
    for case, name, kwargs, extra in SCHEDULER_CASES:
        out["schedulers"].append({
            "id": case, "schedule": {"name": name, **kwargs},
            "lrs": run_scheduler(name, kwargs, extra, SCHED_STEPS),
        })
    out["scheduler_errors"] = []
    for case, kwargs, steps in SCHEDULER_ERROR_CASES:
        try:
            run_scheduler("ChainedScheduler", kwargs, {}, steps)
        except (ValueError, NotImplementedError) as e:
            raised = {"type": type(e).__name__, "message": str(e)}
        else:
            raise AssertionError(f"{case}: torch did not raise")
        out["scheduler_errors"].append({
            "id": case, "schedule": {"name": "ChainedScheduler", **kwargs}, "steps": steps,
            "torch_raised": raised,
        })
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({len(out['optimizers'])} optimizer runs, "
          f"{len(out['schedulers'])} schedules, torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
