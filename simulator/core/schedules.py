"""Learning-rate schedules with torch.optim.lr_scheduler's names and semantics.

A schedule maps the optimizer's base learning rate and a run length to the learning rate
used at every update: ``schedule.learning_rates(base_lr, steps)[k]`` is the rate of update
``k`` (0-based), i.e. the value ``optimizer.param_groups[0]["lr"]`` has in PyTorch when
``optimizer.step()`` is called for the (k+1)-th time in the usual loop::

    for k in range(steps):
        loss.backward(); optimizer.step(); scheduler.step()

Values follow the closed forms in torch's documentation, evaluated with numpy over all
steps at once. ``CyclicLR`` and ``OneCycleLR`` set absolute rates and ignore the base
rate, as in torch (where they overwrite the optimizer's lr).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np


def _pos_int(name: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _finite(name: str, v, lo: float | None = None, hi: float | None = None,
            lo_open: bool = False) -> None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v <= hi
    if not ok:
        rng = ""
        if lo is not None or hi is not None:
            left = "(" if lo_open else "["
            lo_s = "-inf" if lo is None else lo
            hi_s = "inf" if hi is None else hi
            rng = f" in {left}{lo_s}, {hi_s}]"
        raise ValueError(f"{name} must be a finite number{rng}, got {v!r}")


@dataclass(frozen=True)
class Schedule:
    """Base class. ``learning_rates(base_lr, steps)`` -> float64 array of length steps."""

    title: ClassVar[str] = ""
    formula: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return type(self).__name__

    def learning_rates(self, base_lr: float, steps: int) -> np.ndarray:
        k = np.arange(int(steps), dtype=np.float64)
        return np.ascontiguousarray(self._lr(float(base_lr), k, int(steps)), dtype=np.float64)

    def _lr(self, base: float, k: np.ndarray, steps: int) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self)}


@dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """No schedule: the base learning rate at every step."""

    title: ClassVar[str] = "Constant"
    formula: ClassVar[str] = "lr_k = lr"

    def _lr(self, base, k, steps):
        return np.full(k.shape, base)


@dataclass(frozen=True)
class StepLR(Schedule):
    step_size: int = 100
    gamma: float = 0.1

    title: ClassVar[str] = "Step decay"
    formula: ClassVar[str] = "lr_k = lr * gamma^floor(k / step_size)"

    def __post_init__(self):
        _pos_int("step_size", self.step_size)
        _finite("gamma", self.gamma, 0.0)

    def _lr(self, base, k, steps):
        return base * self.gamma ** np.floor(k / self.step_size)


@dataclass(frozen=True)
class MultiStepLR(Schedule):
    milestones: tuple[int, ...] = (100, 200)
    gamma: float = 0.1

    title: ClassVar[str] = "Multi-step decay"
    formula: ClassVar[str] = "lr_k = lr * gamma^(number of milestones <= k)"

    def __post_init__(self):
        ms = tuple(self.milestones)
        for m in ms:
            _pos_int("each milestone", m)
        if list(ms) != sorted(ms):
            raise ValueError(f"milestones must be increasing, got {list(ms)}")
        object.__setattr__(self, "milestones", ms)
        _finite("gamma", self.gamma, 0.0)

    def _lr(self, base, k, steps):
        n = np.searchsorted(np.asarray(self.milestones, dtype=np.float64), k, side="right")
        return base * self.gamma ** n

    def to_dict(self):
        return {"name": self.name, "milestones": list(self.milestones), "gamma": self.gamma}


@dataclass(frozen=True)
class ExponentialLR(Schedule):
    gamma: float = 0.99

    title: ClassVar[str] = "Exponential decay"
    formula: ClassVar[str] = "lr_k = lr * gamma^k"

    def __post_init__(self):
        _finite("gamma", self.gamma, 0.0)

    def _lr(self, base, k, steps):
        return base * self.gamma ** k


@dataclass(frozen=True)
class CosineAnnealingLR(Schedule):
    T_max: int = 500
    eta_min: float = 0.0

    title: ClassVar[str] = "Cosine annealing"
    formula: ClassVar[str] = "lr_k = eta_min + (lr - eta_min) * (1 + cos(pi*k/T_max)) / 2"

    def __post_init__(self):
        _pos_int("T_max", self.T_max)
        _finite("eta_min", self.eta_min, 0.0)

    def _lr(self, base, k, steps):
        return self.eta_min + (base - self.eta_min) * (1 + np.cos(math.pi * k / self.T_max)) / 2


@dataclass(frozen=True)
class CosineAnnealingWarmRestarts(Schedule):
    T_0: int = 100
    T_mult: int = 1
    eta_min: float = 0.0

    title: ClassVar[str] = "Cosine with warm restarts"
    formula: ClassVar[str] = (
        "lr_k = eta_min + (lr - eta_min) * (1 + cos(pi*T_cur/T_i)) / 2, T_cur resets to 0 "
        "every T_i steps and T_i grows by T_mult"
    )

    def __post_init__(self):
        _pos_int("T_0", self.T_0)
        _pos_int("T_mult", self.T_mult)
        _finite("eta_min", self.eta_min, 0.0)

    def _lr(self, base, k, steps):
        T0, Tm = self.T_0, self.T_mult
        if Tm == 1:
            t_cur = np.mod(k, T0)
            t_i = np.full(k.shape, float(T0))
        else:
            n = np.floor(np.log(k / T0 * (Tm - 1) + 1) / math.log(Tm))
            n += T0 * (Tm ** (n + 1) - 1) / (Tm - 1) <= k  # log(Tm**j)/log(Tm) < j: fix up
            t_cur = k - T0 * (Tm**n - 1) / (Tm - 1)
            t_i = T0 * Tm**n
        return self.eta_min + (base - self.eta_min) * (1 + np.cos(math.pi * t_cur / t_i)) / 2


@dataclass(frozen=True)
class LinearLR(Schedule):
    start_factor: float = 1.0 / 3
    end_factor: float = 1.0
    total_iters: int = 5

    title: ClassVar[str] = "Linear (warm-up)"
    formula: ClassVar[str] = (
        "lr_k = lr * (start + (end - start) * min(k, total_iters) / total_iters)"
    )

    def __post_init__(self):
        _finite("start_factor", self.start_factor, 0.0, 1.0, lo_open=True)
        _finite("end_factor", self.end_factor, 0.0, 1.0)
        _pos_int("total_iters", self.total_iters)

    def _lr(self, base, k, steps):
        f = self.start_factor + (self.end_factor - self.start_factor) * (
            np.minimum(k, self.total_iters) / self.total_iters
        )
        return base * f


@dataclass(frozen=True)
class ConstantLR(Schedule):
    factor: float = 1.0 / 3
    total_iters: int = 5

    title: ClassVar[str] = "Constant factor, then full"
    formula: ClassVar[str] = "lr_k = lr * factor for k < total_iters, then lr"

    def __post_init__(self):
        _finite("factor", self.factor, 0.0, 1.0)
        _pos_int("total_iters", self.total_iters)

    def _lr(self, base, k, steps):
        return np.where(k < self.total_iters, base * self.factor, base)


@dataclass(frozen=True)
class CyclicLR(Schedule):
    base_lr: float = 1e-3
    max_lr: float = 1e-2
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    title: ClassVar[str] = "Cyclic"
    formula: ClassVar[str] = (
        "lr_k = base_lr + (max_lr - base_lr) * triangle(k) * scale; scale is 1 "
        "(triangular), 1/2^(cycle-1) (triangular2) or gamma^k (exp_range)"
    )

    def __post_init__(self):
        _finite("base_lr", self.base_lr, 0.0)
        _finite("max_lr", self.max_lr, 0.0)
        _pos_int("step_size_up", self.step_size_up)
        if self.step_size_down is not None:
            _pos_int("step_size_down", self.step_size_down)
        if self.mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(
                f"mode must be 'triangular', 'triangular2' or 'exp_range', got {self.mode!r}"
            )
        _finite("gamma", self.gamma, 0.0)

    def _lr(self, base, k, steps):
        up = float(self.step_size_up)
        down = float(self.step_size_down) if self.step_size_down is not None else up
        total = up + down
        ratio = up / total
        cycle = np.floor(1 + k / total)
        x = 1.0 + k / total - cycle
        scale_factor = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        height = (self.max_lr - self.base_lr) * scale_factor
        if self.mode == "triangular":
            s = 1.0
        elif self.mode == "triangular2":
            s = 1.0 / (2.0 ** (cycle - 1))
        else:
            s = self.gamma**k
        return self.base_lr + height * s


@dataclass(frozen=True)
class OneCycleLR(Schedule):
    max_lr: float = 1e-2
    total_steps: int | None = None
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    title: ClassVar[str] = "One-cycle"
    formula: ClassVar[str] = (
        "warm up from max_lr/div_factor to max_lr over pct_start of the run, then anneal "
        "to max_lr/(div_factor*final_div_factor)"
    )

    def __post_init__(self):
        _finite("max_lr", self.max_lr, 0.0)
        if self.total_steps is not None:
            _pos_int("total_steps", self.total_steps)
        _finite("pct_start", self.pct_start, 0.0, 1.0)
        if self.anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be 'cos' or 'linear', got {self.anneal_strategy!r}"
            )
        _finite("div_factor", self.div_factor, 0.0, lo_open=True)
        _finite("final_div_factor", self.final_div_factor, 0.0, lo_open=True)

    def _lr(self, base, k, steps):
        total = self.total_steps if self.total_steps is not None else steps
        if steps > total:
            raise ValueError(
                f"OneCycleLR: total_steps={total} is shorter than the run ({steps} steps)"
            )
        initial = self.max_lr / self.div_factor
        min_lr = initial / self.final_div_factor
        p = self.pct_start
        if self.three_phase:
            phases = [
                (float(p * total) - 1, initial, self.max_lr),
                (float(2 * p * total) - 2, self.max_lr, initial),
                (total - 1.0, initial, min_lr),
            ]
        else:
            phases = [
                (float(p * total) - 1, initial, self.max_lr),
                (total - 1.0, self.max_lr, min_lr),
            ]
        out = np.empty(k.shape)
        done = np.zeros(k.shape, dtype=bool)
        start_step = 0.0
        for i, (end_step, a, b) in enumerate(phases):
            last = i == len(phases) - 1
            sel = ~done & ((k <= end_step) | last)
            with np.errstate(divide="ignore", invalid="ignore"):
                pct = (k[sel] - start_step) / (end_step - start_step)
            if self.anneal_strategy == "cos":
                out[sel] = b + (a - b) / 2.0 * (np.cos(math.pi * pct) + 1)
            else:
                out[sel] = (b - a) * pct + a
            done |= sel
            start_step = end_step
        return out


@dataclass(frozen=True)
class SequentialLR(Schedule):
    schedulers: tuple[Schedule, ...] = field(default_factory=tuple)
    milestones: tuple[int, ...] = ()

    title: ClassVar[str] = "Sequential (e.g. warm-up then cosine)"
    formula: ClassVar[str] = "schedulers[i] runs from milestones[i-1] (restarted at 0)"

    def __post_init__(self):
        scheds = tuple(self.schedulers)
        ms = tuple(self.milestones)
        if not scheds or not all(isinstance(s, Schedule) for s in scheds):
            raise ValueError("schedulers must be a non-empty list of schedules")
        if len(ms) != len(scheds) - 1:
            raise ValueError(
                f"milestones must have len(schedulers) - 1 = {len(scheds) - 1} entries, "
                f"got {len(ms)}"
            )
        for m in ms:
            _pos_int("each milestone", m)
        if list(ms) != sorted(ms):
            raise ValueError(f"milestones must be increasing, got {list(ms)}")
        object.__setattr__(self, "schedulers", scheds)
        object.__setattr__(self, "milestones", ms)

    def _lr(self, base, k, steps):
        idx = np.searchsorted(np.asarray(self.milestones, dtype=np.float64), k, side="right")
        out = np.empty(k.shape)
        bounds = (0, *self.milestones)
        for i, s in enumerate(self.schedulers):
            sel = idx == i
            if np.any(sel):
                local = k[sel] - bounds[i]
                out[sel] = s._lr(base, local, int(local.max()) + 1)
        return out

    def to_dict(self):
        return {
            "name": self.name,
            "schedulers": [s.to_dict() for s in self.schedulers],
            "milestones": list(self.milestones),
        }


SCHEDULES: dict[str, type[Schedule]] = {
    c.__name__: c
    for c in (
        ConstantSchedule, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
        CosineAnnealingWarmRestarts, LinearLR, ConstantLR, CyclicLR, OneCycleLR, SequentialLR,
    )
}


def schedule_from_dict(d: dict[str, Any] | None) -> Schedule:
    """Build a schedule from ``{"name": "StepLR", ...}`` (as ``to_dict`` writes); None is
    the constant schedule. Raises ``ValueError`` naming what is wrong."""
    if d is None:
        return ConstantSchedule()
    if not isinstance(d, dict):
        raise ValueError(f"schedule must be an object, got {type(d).__name__}")
    name = d.get("name")
    cls = SCHEDULES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown schedule {name!r}: use one of {', '.join(SCHEDULES)}")
    params = {k: v for k, v in d.items() if k != "name"}
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{name}: unknown parameter {unknown[0]!r}")
    if cls is SequentialLR:
        subs = params.get("schedulers", [])
        if not isinstance(subs, list):
            raise ValueError("SequentialLR: schedulers must be a list")
        params["schedulers"] = tuple(schedule_from_dict(s) for s in subs)
    for key in ("milestones",):
        if key in params and isinstance(params[key], list):
            params[key] = tuple(params[key])
    try:
        return cls(**params)
    except TypeError as e:
        raise ValueError(f"{name}: {e}") from None
