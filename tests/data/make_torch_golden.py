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
]


def run_optimizer(cls_name, kwargs, lr, problem, steps, clip=None):
    start = PROBLEMS[problem]["start"]
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    kw = {k: (tuple(v) if k == "betas" else v) for k, v in kwargs.items()}
    opt = getattr(torch.optim, cls_name)([p], lr=lr, foreach=False, **kw)
    positions = [p.detach().tolist()]
    grads = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(problem, p)
        loss.backward()
        grads.append(p.grad.tolist())
        if clip is not None:
            torch.nn.utils.clip_grad_norm_([p], clip, foreach=False)
        opt.step()
        positions.append(p.detach().tolist())
    for row in positions:
        assert all(math.isfinite(v) for v in row), (cls_name, kwargs, problem)
    return positions, grads


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
    }
    for case, cls_name, kwargs, lrs in OPTIMIZER_CASES:
        for problem, lr in lrs.items():
            positions, grads = run_optimizer(cls_name, kwargs, lr, problem, STEPS)
            out["optimizers"].append({
                "id": f"{case}/{problem}", "problem": problem,
                "optimizer": {"name": cls_name, "lr": lr, **kwargs},
                "positions": positions, "gradients": grads,
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
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({len(out['optimizers'])} optimizer runs, "
          f"{len(out['schedulers'])} schedules, torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
