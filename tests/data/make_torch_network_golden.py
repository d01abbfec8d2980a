"""Make ``torch_network_golden.json``: full-batch training of small networks in real torch.

torch is NOT a LossLab dependency; this dev tool needs it, the tests only read the JSON.
To regenerate (from the repository root), with a venv holding torch 2.13.0 and numpy::

    /work/torchvenv/bin/python tests/data/make_torch_network_golden.py

For each case it builds ``nn.Sequential(Linear, act, ..., Linear)`` in float64, loads
LossLab's data and initial weights into it (``simulator/core/netdata.py``, loaded from
its file: it needs numpy only, so this script runs without numba), and takes 100
full-batch steps of a ``torch.optim`` optimizer (``foreach=False``, the single-tensor
path), optionally with a learning-rate scheduler stepped after every update and
``clip_grad_norm_`` before it. The loss is ``BCEWithLogitsLoss`` (one output) or
``CrossEntropyLoss`` (three), mean reduction. It records the initial weights (so the test
can check that LossLab's are the same numbers), the loss before every step and after the
last, and the final parameters in ``parameters()`` order, flattened.

Floats are written with ``repr`` (json's default), so they round-trip exactly.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("torch_network_golden.json")
STEPS = 100

_spec = importlib.util.spec_from_file_location("netdata", ROOT / "simulator/core/netdata.py")
netdata = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(netdata)

torch.set_default_dtype(torch.float64)

# LossLab's Network arguments
NETS = {
    "moons-tanh": {"dataset": "moons", "hidden": [16], "activation": "tanh", "n_train": 128,
                   "n_test": 0, "noise": 0.2, "label_noise": 0.1, "seed": 3},
    "spirals3-relu": {"dataset": "spirals", "hidden": [8, 8], "activation": "relu",
                      "n_train": 96, "n_test": 0, "noise": 0.05, "classes": 3, "seed": 1},
    "xor-sigmoid": {"dataset": "xor", "hidden": [6, 4, 3], "activation": "sigmoid",
                    "n_train": 64, "n_test": 0, "noise": 0.1, "seed": 2},
}

# (case id, net, optimizer class, kwargs with lr, scheduler (name, kwargs) or None, clip)
CASES = [
    ("SGD", "moons-tanh", "SGD", {"lr": 0.5}, None, None),
    ("SGD-momentum", "moons-tanh", "SGD", {"lr": 0.1, "momentum": 0.9}, None, None),
    ("SGD-nesterov-wd", "moons-tanh", "SGD",
     {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}, None, None),
    ("Adam", "moons-tanh", "Adam", {"lr": 0.01}, None, None),
    ("Adam-StepLR", "moons-tanh", "Adam", {"lr": 0.02},
     ("StepLR", {"step_size": 30, "gamma": 0.5}), None),
    ("Adam-clip", "moons-tanh", "Adam", {"lr": 0.01}, None, 0.05),
    ("AdamW", "moons-tanh", "AdamW", {"lr": 0.01, "weight_decay": 0.1}, None, None),
    ("RMSprop", "moons-tanh", "RMSprop", {"lr": 0.003}, None, None),
    ("Adagrad", "moons-tanh", "Adagrad", {"lr": 0.1}, None, None),
    ("Adam-relu", "spirals3-relu", "Adam", {"lr": 0.01, "amsgrad": True}, None, None),
    ("SGD-momentum-relu-cosine", "spirals3-relu", "SGD", {"lr": 0.2, "momentum": 0.5},
     ("CosineAnnealingLR", {"T_max": 100, "eta_min": 0.001}), None),
    ("NAdam", "xor-sigmoid", "NAdam", {"lr": 0.02}, None, None),
    ("RAdam", "xor-sigmoid", "RAdam", {"lr": 0.02}, None, None),
    ("Adamax", "xor-sigmoid", "Adamax", {"lr": 0.02}, None, None),
    ("Adadelta", "xor-sigmoid", "Adadelta", {"lr": 1.0}, None, None),
    ("Rprop", "moons-tanh", "Rprop", {"lr": 0.01}, None, None),
    ("ASGD", "moons-tanh", "ASGD", {"lr": 0.1, "t0": 20.0}, None, None),
]

ACT = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}


def build(spec):
    k = netdata.n_classes(spec["dataset"], spec.get("classes"))
    sizes = [2, *spec["hidden"], 1 if k == 2 else k]
    X, y = netdata.make_dataset(spec["dataset"], spec["n_train"], spec["noise"],
                                spec.get("label_noise", 0.0), spec["seed"],
                                spec.get("classes"), stream=0)
    init = netdata.default_init(sizes, spec["seed"])
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(ACT[spec["activation"]]())
    model = torch.nn.Sequential(*layers).double()
    torch.nn.utils.vector_to_parameters(torch.tensor(init), model.parameters())
    Xt = torch.tensor(X)
    if k == 2:
        yt = torch.tensor(y, dtype=torch.float64)
        crit = torch.nn.BCEWithLogitsLoss()

        def loss_fn():
            return crit(model(Xt)[:, 0], yt)
    else:
        yt = torch.tensor(y, dtype=torch.int64)
        crit = torch.nn.CrossEntropyLoss()

        def loss_fn():
            return crit(model(Xt), yt)
    return model, loss_fn, init, X


def run(case):
    cid, net, cls, kwargs, sched, clip = case
    model, loss_fn, init, X = build(NETS[net])
    opt = getattr(torch.optim, cls)(model.parameters(), foreach=False, **kwargs)
    scheduler = (getattr(torch.optim.lr_scheduler, sched[0])(opt, **sched[1])
                 if sched else None)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = loss_fn()
        losses.append(loss.item())
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip, foreach=False)
        opt.step()
        if scheduler is not None:
            scheduler.step()
    with torch.no_grad():
        losses.append(loss_fn().item())
    final = torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
    opt_dict = {"name": cls, **kwargs}
    return {
        "id": cid, "net": net, "optimizer": opt_dict,
        "schedule": ({"name": sched[0], **sched[1]} if sched else None),
        "clip_grad_norm": clip, "steps": STEPS,
        "init": [float(v) for v in init], "x_train_sum": float(np.sum(X)),
        "losses": [float(v) for v in losses], "final": [float(v) for v in final],
    }


def main() -> None:
    out = {
        "made_by": "tests/data/make_torch_network_golden.py",
        "torch": torch.__version__, "python": sys.version.split()[0],
        "machine": platform.machine(),
        "nets": NETS, "cases": [run(c) for c in CASES],
    }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({len(out['cases'])} cases)")


if __name__ == "__main__":
    main()
