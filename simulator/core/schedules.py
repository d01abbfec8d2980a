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
from bisect import bisect_right
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from .summary import call_repr


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


@dataclass(frozen=True, repr=False)
class Schedule:
    """Base class of the learning-rate schedules: a frozen description of one.

    A schedule maps the optimizer's base learning rate and a run length to the rate of
    every update, with torch.optim.lr_scheduler's names and closed forms, stepped once
    per update. Objects are immutable and compare equal when their parameters are equal.
    Use a subclass (``StepLR``, ``CosineAnnealingLR``, ...); the base class itself has
    no rule.

    Attributes
    ----------
    name : str
        The class name, as in torch.optim.lr_scheduler (``"StepLR"``).
    title : str
        The name the app shows (``"Step decay"``).
    formula : str
        The rule in one line of plain text (the app's tooltip).

    See Also
    --------
    schedule_from_dict : build one from the dict ``to_dict`` writes.

    Examples
    --------
    >>> import simulator as sim
    >>> sched = sim.StepLR(step_size=2, gamma=0.5)
    >>> sched.name, sched.formula
    ('StepLR', 'lr_k = lr * gamma^floor(k / step_size)')
    >>> print(sched.learning_rates(0.1, 4))
    [0.1  0.1  0.05 0.05]
    >>> sched.to_dict()
    {'name': 'StepLR', 'step_size': 2, 'gamma': 0.5}
    """

    title: ClassVar[str] = ""
    formula: ClassVar[str] = ""
    needs_losses: ClassVar[bool] = False  # True: the rates follow the run's losses

    def __repr__(self) -> str:
        # the constructor call with the non-default parameters: StepLR(step_size=50)
        return call_repr(self)

    @property
    def name(self) -> str:
        """torch.optim.lr_scheduler class name (``"StepLR"``)."""
        return type(self).__name__

    def learning_rates(self, base_lr: float, steps: int) -> np.ndarray:
        """The learning rate of every update of a run.

        Parameters
        ----------
        base_lr : float
            The optimizer's ``lr`` (ignored by ``CyclicLR`` and ``OneCycleLR``, which
            set absolute rates).
        steps : int
            Number of updates.

        Returns
        -------
        ndarray, shape (steps,), float64
            Element ``k`` is the rate of update ``k`` (from 0): the value
            ``optimizer.param_groups[0]["lr"]`` has in PyTorch at the (k+1)-th
            ``optimizer.step()`` when ``scheduler.step()`` follows every one.
        """
        k = np.arange(int(steps), dtype=np.float64)
        return np.ascontiguousarray(self._lr(float(base_lr), k, int(steps)), dtype=np.float64)

    def _lr(self, base: float, k: np.ndarray, steps: int) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **parameters}`` in plain JSON types (``schedule_from_dict``)."""
        return {"name": self.name, **asdict(self)}


@dataclass(frozen=True, repr=False)
class ConstantSchedule(Schedule):
    """No schedule: the base learning rate at every update.

    What ``simulate`` uses when it is given no schedule (``schedule_from_dict(None)``
    returns it too). torch has no class for it: it is the loop without a scheduler.

    Examples
    --------
    The rates of the first 4 updates for a base learning rate of 0.1:

    >>> import simulator as sim
    >>> print(sim.ConstantSchedule().learning_rates(0.1, 4).round(4))
    [0.1 0.1 0.1 0.1]
    """

    title: ClassVar[str] = "Constant"
    formula: ClassVar[str] = "lr_k = lr"

    def _lr(self, base, k, steps):
        return np.full(k.shape, base)


@dataclass(frozen=True, repr=False)
class StepLR(Schedule):
    """Decay the learning rate by ``gamma`` every ``step_size`` updates (``StepLR``).

    ``lr_k = lr * gamma^floor(k / step_size)`` for update ``k`` (from 0).

    Parameters
    ----------
    step_size : int, default 100
        Period of learning rate decay, in updates (required in torch).
    gamma : float, default 0.1
        Multiplicative factor of learning rate decay, >= 0.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 6 updates for a base learning rate of 0.1:

    >>> import simulator as sim
    >>> print(sim.StepLR(step_size=2, gamma=0.5).learning_rates(0.1, 6).round(4))
    [0.1   0.1   0.05  0.05  0.025 0.025]
    """

    step_size: int = 100
    gamma: float = 0.1

    title: ClassVar[str] = "Step decay"
    formula: ClassVar[str] = "lr_k = lr * gamma^floor(k / step_size)"

    def __post_init__(self):
        _pos_int("step_size", self.step_size)
        _finite("gamma", self.gamma, 0.0)

    def _lr(self, base, k, steps):
        return base * self.gamma ** np.floor(k / self.step_size)


@dataclass(frozen=True, repr=False)
class MultiStepLR(Schedule):
    """Decay the learning rate by ``gamma`` at each milestone (``lr_scheduler.MultiStepLR``).

    ``lr_k = lr * gamma^m`` with ``m`` the number of milestones ``<= k``.

    Parameters
    ----------
    milestones : sequence of int, default (100, 200)
        Update indices at which the rate drops; positive and increasing (required in
        torch). Stored as a tuple.
    gamma : float, default 0.1
        Multiplicative factor of learning rate decay, >= 0.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 7 updates for a base learning rate of 1.0:

    >>> import simulator as sim
    >>> print(sim.MultiStepLR(milestones=[2, 5], gamma=0.1).learning_rates(1.0, 7).round(4))
    [1.   1.   0.1  0.1  0.1  0.01 0.01]
    """

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


@dataclass(frozen=True, repr=False)
class ExponentialLR(Schedule):
    """Decay the learning rate by ``gamma`` every update (``lr_scheduler.ExponentialLR``).

    ``lr_k = lr * gamma^k``.

    Parameters
    ----------
    gamma : float, default 0.99
        Multiplicative factor of learning rate decay, >= 0 (required in torch).

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 5 updates for a base learning rate of 1.0:

    >>> import simulator as sim
    >>> print(sim.ExponentialLR(gamma=0.5).learning_rates(1.0, 5).round(4))
    [1.     0.5    0.25   0.125  0.0625]
    """

    gamma: float = 0.99

    title: ClassVar[str] = "Exponential decay"
    formula: ClassVar[str] = "lr_k = lr * gamma^k"

    def __post_init__(self):
        _finite("gamma", self.gamma, 0.0)

    def _lr(self, base, k, steps):
        return base * self.gamma ** k


@dataclass(frozen=True, repr=False)
class CosineAnnealingLR(Schedule):
    """Anneal the learning rate along a cosine over ``T_max`` updates (``CosineAnnealingLR``).

    ``lr_k = eta_min + (lr - eta_min) * (1 + cos(pi * k / T_max)) / 2``: from ``lr`` at
    ``k = 0`` down to ``eta_min`` at ``k = T_max``; past ``T_max`` the cosine goes on, so
    the rate rises again, as torch's closed form does.

    Parameters
    ----------
    T_max : int, default 500
        Maximum number of iterations: the half-period of the cosine, in updates
        (required in torch).
    eta_min : float, default 0
        Minimum learning rate, >= 0.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 6 updates for a base learning rate of 1.0:

    >>> import simulator as sim
    >>> print(sim.CosineAnnealingLR(T_max=4).learning_rates(1.0, 6).round(4))
    [1.     0.8536 0.5    0.1464 0.     0.1464]
    """

    T_max: int = 500
    eta_min: float = 0.0

    title: ClassVar[str] = "Cosine annealing"
    formula: ClassVar[str] = "lr_k = eta_min + (lr - eta_min) * (1 + cos(pi*k/T_max)) / 2"

    def __post_init__(self):
        _pos_int("T_max", self.T_max)
        _finite("eta_min", self.eta_min, 0.0)

    def _lr(self, base, k, steps):
        return self.eta_min + (base - self.eta_min) * (1 + np.cos(math.pi * k / self.T_max)) / 2


@dataclass(frozen=True, repr=False)
class CosineAnnealingWarmRestarts(Schedule):
    """Cosine annealing restarted every ``T_i`` updates, ``T_i`` growing by ``T_mult`` (SGDR).

    torch's ``lr_scheduler.CosineAnnealingWarmRestarts`` (Loshchilov and Hutter):
    ``lr_k = eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, where ``T_cur``
    counts the updates since the last restart; the first period is ``T_0`` long, each
    next one ``T_mult`` times longer.

    Parameters
    ----------
    T_0 : int, default 100
        Number of iterations until the first restart (required in torch).
    T_mult : int, default 1
        A factor by which ``T_i`` increases after a restart; a positive integer.
    eta_min : float, default 0
        Minimum learning rate, >= 0.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 8 updates for a base learning rate of 1.0: restarts at updates 2 and 6:

    >>> import simulator as sim
    >>> print(sim.CosineAnnealingWarmRestarts(T_0=2, T_mult=2).learning_rates(1.0, 8).round(4))
    [1.     0.5    1.     0.8536 0.5    0.1464 1.     0.9619]
    """

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


@dataclass(frozen=True, repr=False)
class LinearLR(Schedule):
    """Scale the learning rate by a factor that changes linearly (``lr_scheduler.LinearLR``).

    The usual warm-up: ``lr_k = lr * (start_factor + (end_factor - start_factor) *
    min(k, total_iters) / total_iters)``, then ``lr * end_factor`` from ``total_iters`` on.

    Parameters
    ----------
    start_factor : float, default 1/3
        The number the learning rate is multiplied by at the first update, in (0, 1].
    end_factor : float, default 1.0
        The number the learning rate is multiplied by at the end of the linear change, in
        [0, 1].
    total_iters : int, default 5
        The number of updates over which the factor goes from ``start_factor`` to
        ``end_factor``.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 5 updates for a base learning rate of 1.0:

    >>> import simulator as sim
    >>> print(sim.LinearLR(start_factor=0.25, total_iters=3).learning_rates(1.0, 5).round(4))
    [0.25 0.5  0.75 1.   1.  ]
    """

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


@dataclass(frozen=True, repr=False)
class ConstantLR(Schedule):
    """Multiply the learning rate by ``factor`` until ``total_iters`` (``ConstantLR``).

    ``lr_k = lr * factor`` for ``k < total_iters``, then ``lr``: a stepped warm-up.

    Parameters
    ----------
    factor : float, default 1/3
        The number the learning rate is multiplied by until the milestone, in [0, 1].
    total_iters : int, default 5
        The number of updates during which the learning rate is multiplied by ``factor``.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 4 updates for a base learning rate of 1.0:

    >>> import simulator as sim
    >>> print(sim.ConstantLR(factor=0.5, total_iters=2).learning_rates(1.0, 4).round(4))
    [0.5 0.5 1.  1. ]
    """

    factor: float = 1.0 / 3
    total_iters: int = 5

    title: ClassVar[str] = "Constant factor, then full"
    formula: ClassVar[str] = "lr_k = lr * factor for k < total_iters, then lr"

    def __post_init__(self):
        _finite("factor", self.factor, 0.0, 1.0)
        _pos_int("total_iters", self.total_iters)

    def _lr(self, base, k, steps):
        return np.where(k < self.total_iters, base * self.factor, base)


@dataclass(frozen=True, repr=False)
class CyclicLR(Schedule):
    """Cycle the learning rate between ``base_lr`` and ``max_lr`` (``lr_scheduler.CyclicLR``).

    Smith's cyclical learning rates: the rate climbs linearly from ``base_lr`` to
    ``max_lr`` over ``step_size_up`` updates and falls back over ``step_size_down``. The
    rates are absolute, so the optimizer's ``lr`` is ignored, as torch overwrites it.
    torch's momentum cycling and custom ``scale_fn`` are not modelled.

    Parameters
    ----------
    base_lr : float, default 1e-3
        Initial learning rate, the lower boundary of the cycle (required in torch).
    max_lr : float, default 1e-2
        Upper learning rate boundary of the cycle (required in torch).
    step_size_up : int, default 2000
        Number of updates in the increasing half of a cycle.
    step_size_down : int or None, default None
        Number of updates in the decreasing half of a cycle; None means
        ``step_size_up``.
    mode : {"triangular", "triangular2", "exp_range"}, default "triangular"
        ``"triangular"``: the same triangle every cycle; ``"triangular2"``: the
        amplitude halves every cycle; ``"exp_range"``: the amplitude is scaled by
        ``gamma**k``.
    gamma : float, default 1.0
        Constant in the ``"exp_range"`` scaling, ``gamma**k`` with ``k`` the update.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 8 updates for a base learning rate of 123.0 (ignored):

    >>> import simulator as sim
    >>> cyclic = sim.CyclicLR(base_lr=0.1, max_lr=0.5, step_size_up=2)
    >>> print(cyclic.learning_rates(123.0, 8).round(4))
    [0.1 0.3 0.5 0.3 0.1 0.3 0.5 0.3]
    """

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


@dataclass(frozen=True, repr=False)
class OneCycleLR(Schedule):
    """The one-cycle policy: warm up to ``max_lr``, then anneal far below (``OneCycleLR``).

    torch's ``lr_scheduler.OneCycleLR`` (Smith and Topin): from ``max_lr / div_factor``
    up to ``max_lr`` over the first ``pct_start`` of the run, then down to
    ``max_lr / (div_factor * final_div_factor)`` at the last update. The rates are
    absolute, so the optimizer's ``lr`` is ignored, as torch overwrites it. torch's
    momentum cycling is not modelled.

    Parameters
    ----------
    max_lr : float, default 1e-2
        Upper learning rate boundary of the cycle (required in torch).
    total_steps : int or None, default None
        The total number of updates in the cycle; None means the length of the run
        (torch needs it, or ``epochs`` and ``steps_per_epoch``). A run longer than it
        raises ``ValueError``, as torch does when stepped past the end.
    pct_start : float, default 0.3
        The fraction of the cycle spent increasing the learning rate, in [0, 1].
    anneal_strategy : {"cos", "linear"}, default "cos"
        Cosine or linear annealing, in every phase.
    div_factor : float, default 25.0
        Determines the initial learning rate, ``max_lr / div_factor``.
    final_div_factor : float, default 1e4
        Determines the minimum learning rate, ``initial_lr / final_div_factor``.
    three_phase : bool, default False
        If True, a third phase anneals from the initial rate to the minimum, and the
        first two phases are symmetric about ``pct_start`` (up, then back down to the
        initial rate).

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 10 updates for a base learning rate of 0.0 (ignored):

    >>> import simulator as sim
    >>> print(sim.OneCycleLR(max_lr=1.0, total_steps=10).learning_rates(0.0, 10).round(4))
    [0.04   0.52   1.     0.9505 0.8117 0.6113 0.3887 0.1883 0.0495 0.    ]
    """

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


@dataclass(frozen=True, repr=False)
class SequentialLR(Schedule):
    """Run schedules one after another, switching at milestones (``lr_scheduler.SequentialLR``).

    ``schedulers[i]`` sets the rate from update ``milestones[i-1]`` on, restarted at its
    own update 0 (the usual warm-up then decay). Each part scales the same base rate.

    Parameters
    ----------
    schedulers : sequence of Schedule
        The schedules, in order; at least one. Stored as a tuple.
    milestones : sequence of int
        ``len(schedulers) - 1`` positive, increasing update indices at which the next
        schedule takes over. Stored as a tuple.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    Three updates of linear warm-up, then exponential decay:

    >>> import simulator as sim
    >>> sched = sim.SequentialLR(
    ...     [sim.LinearLR(start_factor=0.25, total_iters=2), sim.ExponentialLR(gamma=0.5)],
    ...     milestones=[3],
    ... )
    >>> print(sched.learning_rates(1.0, 6).round(4))
    [0.25  0.625 1.    1.    0.5   0.25 ]
    """

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


@dataclass(frozen=True, repr=False)
class PolynomialLR(Schedule):
    """Decay the rate as a polynomial to zero over ``total_iters`` (``PolynomialLR``).

    ``lr_k = lr * (1 - min(k, total_iters) / total_iters) ^ power`` for update ``k``
    (from 0): linear decay with ``power = 1``, faster at first with a larger power;
    after ``total_iters`` updates the rate is 0 and the run stops moving.

    Parameters
    ----------
    total_iters : int, default 5
        The number of updates over which the rate decays to zero.
    power : float, default 1.0
        The power of the polynomial, >= 0.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates of the first 6 updates for a base learning rate of 1.0:

    >>> import simulator as sim
    >>> print(sim.PolynomialLR(total_iters=4, power=2.0).learning_rates(1.0, 6).round(4))
    [1.     0.5625 0.25   0.0625 0.     0.    ]
    """

    total_iters: int = 5
    power: float = 1.0

    title: ClassVar[str] = "Polynomial decay"
    formula: ClassVar[str] = "lr_k = lr * (1 - min(k, total_iters) / total_iters)^power"

    def __post_init__(self):
        _pos_int("total_iters", self.total_iters)
        _finite("power", self.power, 0.0)

    def _lr(self, base, k, steps):
        return base * (1.0 - np.minimum(k, self.total_iters) / self.total_iters) ** self.power


# schedules whose rate is the base rate times a factor of k alone: chaining them multiplies
# the factors (torch steps each on the rate the previous left, by the ratio of factors)
_MULTIPLICATIVE = ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "ConstantLR",
                   "PolynomialLR")


def _div(a: float, b: float) -> float:
    # float division as numpy does it (a zero divisor gives inf or nan, not an exception)
    if b == 0.0:
        return math.nan if a == 0.0 or math.isnan(a) else math.copysign(math.inf, a) * (
            math.copysign(1.0, b))
    return a / b


class _TorchScheduler:
    """One torch.optim.lr_scheduler object on a param group ``group`` (a dict with
    ``"lr"`` and, once a scheduler is built, ``"initial_lr"``): a port of torch's
    ``LRScheduler`` machinery that the chained and sequential replays need, with every
    rule's floating-point operations in torch's order.

    ``last_epoch``, ``step_count`` and ``initial`` are torch's ``last_epoch``,
    ``_step_count`` and ``_is_initial``; ``base`` is ``base_lrs[0]``. The methods are
    torch's: ``step()`` (chainable ``get_lr``), ``_update_lr(0)`` (what ``SequentialLR``
    calls at a milestone: the closed form where the class has one), ``_initial_step()``
    and ``undo()`` (``SequentialLR.recursive_undo``)."""

    def __init__(self, s: Schedule, group: dict, steps: int) -> None:
        # LRScheduler.__init__ (and what CyclicLR/OneCycleLR do before it)
        self.s, self.group = s, group
        if isinstance(s, CyclicLR):
            group["lr"] = s.base_lr
        if isinstance(s, OneCycleLR):
            self.total = s.total_steps if s.total_steps is not None else steps
            self.run_steps = steps
            group["initial_lr"] = s.max_lr / s.div_factor
            group["max_lr"] = s.max_lr
            group["min_lr"] = group["initial_lr"] / s.final_div_factor
        if isinstance(s, CosineAnnealingWarmRestarts):
            self.T_i, self.T_cur = s.T_0, -1
        group.setdefault("initial_lr", group["lr"])
        self.base = group["initial_lr"]
        self.last_epoch = -1
        self.initial = False
        self._initial_step()
        if isinstance(s, CyclicLR):
            self.base = s.base_lr  # set after its constructor's initial step

    def _initial_step(self) -> None:
        self.step_count = 0
        self.initial = True
        try:
            self.step()
        finally:
            self.initial = False

    def undo(self) -> None:
        self.last_epoch -= 1

    def step(self) -> None:
        s = self.s
        if isinstance(s, CosineAnnealingWarmRestarts):  # its own step(epoch=None)
            if self.last_epoch < 0:  # epoch 0: a restart
                self.T_i, self.T_cur = s.T_0, 0
                self.last_epoch = 0
            else:
                self.last_epoch += 1
                self.T_cur += 1
                if self.T_cur >= self.T_i:
                    self.T_cur %= self.T_i
                    self.T_i *= s.T_mult
            self.group["lr"] = self.get_lr()
            return
        self.step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch: int | None) -> None:
        if epoch is None:
            self.last_epoch += 1
            lr = self.get_lr()
        else:
            self.last_epoch = epoch
            lr = self.closed_form()
            if lr is None:
                lr = self.get_lr()
        self.group["lr"] = lr

    def closed_form(self) -> float | None:
        """torch's ``_get_closed_form_lr``, for the classes that have one."""
        s, e, b = self.s, self.last_epoch, self.base
        if isinstance(s, StepLR):
            return b * s.gamma ** (e // s.step_size)
        if isinstance(s, MultiStepLR):
            return b * s.gamma ** bisect_right(sorted(s.milestones), e)
        if isinstance(s, ConstantLR):
            return b * (s.factor + (e >= s.total_iters) * (1 - s.factor))
        if isinstance(s, LinearLR):
            return b * (s.start_factor + (s.end_factor - s.start_factor)
                        * min(s.total_iters, e) / s.total_iters)
        if isinstance(s, ExponentialLR):
            return b * s.gamma**e
        if isinstance(s, PolynomialLR):
            return b * (1.0 - min(s.total_iters, e) / s.total_iters) ** s.power
        if isinstance(s, CosineAnnealingLR):
            return s.eta_min + (b - s.eta_min) * (1 + math.cos(math.pi * e / s.T_max)) / 2
        return None

    def get_lr(self) -> float:
        """torch's chainable ``get_lr``: reads ``group["lr"]``, returns the new rate."""
        s, e, group = self.s, self.last_epoch, self.group
        lr, base = group["lr"], self.base
        if isinstance(s, StepLR):
            return lr if e == 0 or e % s.step_size != 0 else lr * s.gamma
        if isinstance(s, MultiStepLR):
            n = s.milestones.count(e)
            return lr * s.gamma ** n if n else lr
        if isinstance(s, ExponentialLR):
            return lr if self.initial else lr * s.gamma
        if isinstance(s, LinearLR):
            if e == 0:
                return lr * s.start_factor
            if self.initial or e > s.total_iters:
                return lr
            d = s.end_factor - s.start_factor
            return lr * (1.0 + d / (s.total_iters * s.start_factor + (e - 1) * d))
        if isinstance(s, ConstantLR):
            if e == 0:
                return lr * s.factor
            if e != s.total_iters:
                return lr
            if s.factor == 0:
                raise ValueError(
                    "ChainedScheduler: ConstantLR(factor=0) divides by its factor at "
                    "total_iters in torch's chainable form (ZeroDivisionError there)")
            return lr * (1.0 / s.factor)
        if isinstance(s, PolynomialLR):
            if self.initial or e > s.total_iters:
                return lr
            t = s.total_iters
            return lr * ((1.0 - e / t) / (1.0 - (e - 1) / t)) ** s.power
        if isinstance(s, CosineAnnealingLR):
            T, m = s.T_max, s.eta_min
            if self.initial:
                return lr
            if self.step_count == 1 and e > 0:
                return m + (base - m) * (1 + math.cos(e * math.pi / T)) / 2
            if (e - 1 - T) % (2 * T) == 0:
                return lr + (base - m) * (1 - math.cos(math.pi / T)) / 2
            return _div(1 + math.cos(math.pi * e / T),
                        1 + math.cos(math.pi * (e - 1) / T)) * (lr - m) + m
        if isinstance(s, CosineAnnealingWarmRestarts):
            m = s.eta_min
            return m + (base - m) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        if isinstance(s, CyclicLR):
            up = float(s.step_size_up)
            total_size = up + (float(s.step_size_down) if s.step_size_down is not None
                               else up)
            ratio = up / total_size
            cycle = math.floor(1 + e / total_size)
            x = 1.0 + e / total_size - cycle
            sf = x / ratio if x <= ratio else _div(x - 1, ratio - 1)
            # base: the group's initial_lr during the constructor's initial step (an
            # earlier scheduler's, or base_lr when CyclicLR comes first), then base_lr
            height = (s.max_lr - base) * sf
            if s.mode == "triangular":
                return base + height * 1.0
            if s.mode == "triangular2":
                return base + height * (1 / 2.0 ** (cycle - 1))
            return base + height * s.gamma**e
        if isinstance(s, OneCycleLR):
            total = self.total
            if e > total:
                raise ValueError(f"OneCycleLR: total_steps={total} is shorter than the run "
                                 f"({self.run_steps} steps)")
            p = s.pct_start
            if s.three_phase:
                phases = [(float(p * total) - 1, "initial_lr", "max_lr"),
                          (float(2 * p * total) - 2, "max_lr", "initial_lr"),
                          (total - 1, "initial_lr", "min_lr")]
            else:
                phases = [(float(p * total) - 1, "initial_lr", "max_lr"),
                          (total - 1, "max_lr", "min_lr")]
            start_step = 0.0
            for i, (end_step, a, b) in enumerate(phases):
                if e <= end_step or i == len(phases) - 1:
                    pct = _div(e - start_step, end_step - start_step)
                    a, b = group[a], group[b]
                    if s.anneal_strategy == "cos":
                        return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1)
                    return (b - a) * pct + a
                start_step = end_step
        raise ValueError(f"ChainedScheduler: {s.name} cannot be chained")  # pragma: no cover


class _TorchNone:
    """``ConstantSchedule`` in a chain: no scheduler, the rate is left alone."""

    def _initial_step(self) -> None:
        pass

    def step(self) -> None:
        pass

    def undo(self) -> None:
        pass


class _TorchChained:
    """torch's ``ChainedScheduler``: its schedulers built in order (each constructor
    takes its initial step), then every one stepped in turn."""

    def __init__(self, s: ChainedScheduler, group: dict, steps: int) -> None:
        self.subs = [_torch_build(c, group, steps, in_sequence=False) for c in s.schedulers]

    def _initial_step(self) -> None:  # LRScheduler's: it calls step()
        self.step()

    def step(self) -> None:
        for c in self.subs:
            c.step()

    def undo(self) -> None:  # recursive_undo goes into its _schedulers
        for c in self.subs:
            c.undo()

    def _update_lr(self, epoch: int) -> None:
        raise ValueError(
            "ChainedScheduler: a ChainedScheduler after a SequentialLR milestone cannot "
            "be restarted there (torch has neither a closed form nor a get_lr for it: "
            "NotImplementedError)")


class _TorchSequential:
    """torch's ``SequentialLR`` on a group shared with other schedulers: its schedulers
    built in order, then its constructor resets the rate to ``initial_lr``, undoes one
    step of every scheduler inside (recursively) and takes the initial step of the first
    again; a step advances the scheduler whose turn it is, restarting it at its
    milestone with ``_update_lr(0)`` (the closed form at 0 where the class has one)."""

    def __init__(self, s: SequentialLR, group: dict, steps: int) -> None:
        self.group = group
        self.subs = [_torch_build(c, group, steps, in_sequence=True) for c in s.schedulers]
        self.names = [c.name for c in s.schedulers]
        self.milestones = list(s.milestones)
        self.last_epoch = 0
        group["lr"] = group["initial_lr"]
        self.undo()
        self.subs[bisect_right(self.milestones, 0)]._initial_step()

    def _initial_step(self) -> None:
        self.step()

    def undo(self) -> None:  # recursive_undo: its own last_epoch is left alone
        for c in self.subs:
            c.undo()

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self.milestones, self.last_epoch)
        sub = self.subs[idx]
        if idx > 0 and self.milestones[idx - 1] == self.last_epoch:
            if not isinstance(sub, _TorchScheduler):
                raise ValueError(
                    f"ChainedScheduler: a SequentialLR's schedulers[{idx}] is "
                    f"{self.names[idx]}, which cannot be restarted at its milestone "
                    f"{self.last_epoch} (torch has neither a closed form nor a get_lr for "
                    "it: NotImplementedError)")
            sub._update_lr(0)
        else:
            sub.step()

    def _update_lr(self, epoch: int) -> None:
        raise ValueError(
            "ChainedScheduler: a SequentialLR after another SequentialLR's milestone cannot "
            "be restarted there (torch has neither a closed form nor a get_lr for it: "
            "NotImplementedError)")


def _torch_build(s: Schedule, group: dict, steps: int, in_sequence: bool):
    """Build ``s`` on ``group`` as torch's constructor does (its initial step included).
    ``ConstantSchedule`` is no scheduler in a chain; inside a ``SequentialLR`` (where
    every entry is a torch scheduler) it is ``ConstantLR(factor=1.0, total_iters=1)``:
    the base rate from its milestone on, as ``SequentialLR`` alone gives."""
    if isinstance(s, ConstantSchedule):
        if not in_sequence:
            return _TorchNone()
        s = ConstantLR(factor=1.0, total_iters=1)
    if isinstance(s, ChainedScheduler):
        return _TorchChained(s, group, steps)
    if isinstance(s, SequentialLR):
        return _TorchSequential(s, group, steps)
    return _TorchScheduler(s, group, steps)


def _has_plateau(s: Schedule) -> bool:
    return isinstance(s, ReduceLROnPlateau) or any(
        _has_plateau(c) for c in getattr(s, "schedulers", ()))


@dataclass(frozen=True, repr=False)
class ChainedScheduler(Schedule):
    """Step several schedules one after another every update (``ChainedScheduler``).

    torch's semantics exactly: the schedulers are built in list order on one optimizer
    (each constructor takes its initial step), and after each update every one is
    stepped in turn with its chainable rule, reading the rate the previous one left.
    Multiplicative schedules (``StepLR``, ``MultiStepLR``, ``ExponentialLR``,
    ``LinearLR``, ``ConstantLR``, ``PolynomialLR``) then multiply their factors: a
    warm-up and a decay together. ``CosineAnnealingLR`` uses torch's recursive cosine
    on the current rate (its base is the optimizer's ``initial_lr``);
    ``CosineAnnealingWarmRestarts``, ``CyclicLR`` and ``OneCycleLR`` set the rate
    absolutely, so the schedules after them in the list act on their value and the
    ones before are overridden. As in torch, ``CyclicLR`` sets the rate to its
    ``base_lr`` before the later schedulers are built (yet its own first rate is the
    ``initial_lr`` an earlier scheduler recorded), and ``OneCycleLR`` sets the
    ``initial_lr`` the later ones take as base. ``ConstantSchedule`` (no scheduler)
    leaves the rate alone; a nested ``ChainedScheduler`` is stepped in place.
    A ``SequentialLR`` in a chain is torch's too: its schedulers are built, then it
    resets the rate to ``initial_lr`` (undoing what the schedulers built before it
    did), undoes one step of each scheduler inside and takes its first one's initial
    step again; each update it steps only the scheduler whose turn it is, on the rate
    the chain's others left, and restarts the next one at its milestone with torch's
    closed form at 0 (``base * factor`` for the multiplicative ones, the base rate
    for the cosine) or, without one, its ``get_lr`` at 0. Inside it a
    ``ConstantSchedule`` is ``ConstantLR(factor=1.0, total_iters=1)`` (the base rate
    from its milestone on, as ``SequentialLR`` alone gives). ``ReduceLROnPlateau``,
    also inside a ``SequentialLR``, is refused, as torch refuses it.

    Parameters
    ----------
    schedulers : sequence of Schedule
        The schedules, at least one, in torch's construction and stepping order. Stored
        as a tuple.

    Raises
    ------
    ValueError
        An empty list, or a schedule that does not chain; the message names it.
        ``learning_rates`` raises it for a run longer than a chained ``OneCycleLR``'s
        ``total_steps`` (torch raises when stepped past it), and for a chained
        ``ConstantLR(factor=0)`` next to a non-multiplicative schedule reaching
        ``total_iters`` (torch divides by the factor there), and for a chained
        ``SequentialLR`` reaching a milestone where a ``ChainedScheduler`` or
        ``SequentialLR`` takes over (torch raises ``NotImplementedError``: it cannot
        restart those).

    Examples
    --------
    A warm-up over 2 updates chained with exponential decay:

    >>> import simulator as sim
    >>> sched = sim.ChainedScheduler(
    ...     [sim.LinearLR(start_factor=0.5, total_iters=2), sim.ExponentialLR(gamma=0.5)])
    >>> print(sched.learning_rates(1.0, 4).round(4))
    [0.5   0.375 0.25  0.125]

    A cyclic rate chained with ``StepLR``: as in torch, ``StepLR`` halves the rate only
    on the updates where it steps down (2, 4, ...), and ``CyclicLR`` sets its own rate
    again at the next one:

    >>> sched = sim.ChainedScheduler(
    ...     [sim.CyclicLR(base_lr=0.1, max_lr=0.5, step_size_up=2), sim.StepLR(2, 0.5)])
    >>> print(sched.learning_rates(123.0, 6).round(4))
    [0.1  0.3  0.25 0.3  0.05 0.3 ]
    """

    schedulers: tuple[Schedule, ...] = field(default_factory=tuple)

    title: ClassVar[str] = "Chained (all stepped each update)"
    formula: ClassVar[str] = (
        "every update, each schedule in turn steps the rate the previous one left"
    )

    def __post_init__(self):
        scheds = tuple(self.schedulers)
        if not scheds or not all(isinstance(s, Schedule) for s in scheds):
            raise ValueError("schedulers must be a non-empty list of schedules")
        for i, s in enumerate(scheds):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(
                    f"ChainedScheduler: schedulers[{i}] is ReduceLROnPlateau, which does not "
                    "chain (torch refuses it: its step needs the loss)"
                )
            if _has_plateau(s):
                raise ValueError(
                    f"ChainedScheduler: schedulers[{i}] is a {s.name} with a "
                    "ReduceLROnPlateau inside, which does not chain (torch refuses it: its "
                    "step needs the loss)"
                )
        object.__setattr__(self, "schedulers", scheds)

    def _multiplicative(self) -> bool:
        return all(s.name in _MULTIPLICATIVE or (
            isinstance(s, ChainedScheduler) and s._multiplicative()) for s in self.schedulers)

    def _lr(self, base, k, steps):
        if self._multiplicative():
            # torch's recursive steps multiply the closed-form factors (to rounding)
            out = np.full(k.shape, base)
            for s in self.schedulers:
                out = out * s._lr(1.0, k, steps)
            return out
        n = int(k.max()) + 1 if k.size else 0
        group = {"lr": float(base)}
        chain = _torch_build(self, group, steps, in_sequence=False)
        rates = np.empty(n)
        for j in range(n):
            rates[j] = group["lr"]
            chain.step()
        return rates[k.astype(np.intp)]

    def to_dict(self):
        return {"name": self.name, "schedulers": [s.to_dict() for s in self.schedulers]}


@dataclass(frozen=True, repr=False)
class ReduceLROnPlateau(Schedule):
    """Cut the rate when the loss stops improving (``lr_scheduler.ReduceLROnPlateau``).

    The only schedule that watches the run: after every update it is stepped with the
    full-batch loss at the point the update started from (``scheduler.step(loss)`` in
    the training loop). When the loss has not improved on its best by ``threshold`` for
    more than ``patience`` updates, the rate is multiplied by ``factor`` (not below
    ``min_lr``), then ``cooldown`` updates pass before bad updates count again.
    ``learning_rates`` cannot know the losses, so it gives the base rate throughout;
    ``simulate`` computes the real rates (``Trajectory.learning_rates``), and
    ``rates_for_losses`` computes them for any sequence of losses.

    Parameters
    ----------
    mode : {"min", "max"}, default "min"
        "min": the loss should go down; "max": up.
    factor : float, default 0.1
        Factor by which the rate is reduced, in [0, 1).
    patience : int, default 10
        The number of updates without improvement tolerated before the rate is cut.
    threshold : float, default 1e-4
        The least improvement that counts.
    threshold_mode : {"rel", "abs"}, default "rel"
        "rel": better than ``best * (1 - threshold)`` (mode "min") or
        ``best * (1 + threshold)`` ("max"); "abs": better than ``best - threshold`` or
        ``best + threshold``.
    cooldown : int, default 0
        Updates to wait after a cut before counting bad updates again.
    min_lr : float, default 0
        The rate is never cut below this.
    eps : float, default 1e-8
        A cut smaller than ``eps`` is not made.

    Raises
    ------
    ValueError
        A parameter out of range; the message names it.

    Examples
    --------
    The rates for a given sequence of losses: after two updates without improvement
    (more than ``patience = 1``), the rate halves:

    >>> import simulator as sim
    >>> sched = sim.ReduceLROnPlateau(factor=0.5, patience=1)
    >>> print(sched.rates_for_losses(1.0, [3.0, 2.0, 2.5, 2.4, 2.6, 1.0]))
    [1.  1.  1.  1.  0.5 0.5]
    """

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    title: ClassVar[str] = "Reduce on plateau (watches the loss)"
    formula: ClassVar[str] = (
        "lr <- max(lr * factor, min_lr) after more than patience updates without improvement"
    )
    needs_losses: ClassVar[bool] = True

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if self.threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"threshold_mode must be 'rel' or 'abs', got {self.threshold_mode!r}")
        _finite("factor", self.factor, 0.0)
        if self.factor >= 1.0:
            raise ValueError(f"factor must be < 1.0, got {self.factor!r}")
        for name in ("patience", "cooldown"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        _finite("threshold", self.threshold, 0.0)
        _finite("min_lr", self.min_lr, 0.0)
        _finite("eps", self.eps, 0.0)

    def _lr(self, base, k, steps):
        return np.full(k.shape, base)

    def start(self, base_lr: float) -> list:
        """The state before the first update: ``[lr, best, bad updates, cooldown left]``."""
        return [float(base_lr), math.inf if self.mode == "min" else -math.inf, 0, 0]

    def observe(self, state: list, loss: float) -> float:
        """Step with one loss (torch's ``step(metrics)``); returns the next update's rate."""
        lr, best, bad, cool = state
        current = float(loss)
        if self.mode == "min" and self.threshold_mode == "rel":
            better = current < best * (1.0 - self.threshold)
        elif self.mode == "min":
            better = current < best - self.threshold
        elif self.threshold_mode == "rel":
            better = current > best * (self.threshold + 1.0)
        else:
            better = current > best + self.threshold
        if better:
            best = current
            bad = 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > self.patience:
            new = max(lr * self.factor, self.min_lr)
            if lr - new > self.eps:
                lr = new
            cool = self.cooldown
            bad = 0
        state[:] = [lr, best, bad, cool]
        return lr

    def scan(self, state: list, losses, k: int, stop: int) -> tuple[int, bool]:
        """Step with ``losses[k:stop]`` (``observe`` each, in a tight loop) until the rate
        changes; returns ``(k, changed)`` with ``k`` the losses stepped with so far."""
        lr, best, bad, cool = state
        factor, patience, cooldown = self.factor, self.patience, self.cooldown
        thr, min_lr, eps = self.threshold, self.min_lr, self.eps
        mode_min = self.mode == "min"
        rel = self.threshold_mode == "rel"
        rel_eps = 1.0 - thr if mode_min else thr + 1.0
        changed = False
        while k < stop:
            current = float(losses[k])
            k += 1
            if mode_min:
                better = current < (best * rel_eps if rel else best - thr)
            else:
                better = current > (best * rel_eps if rel else best + thr)
            if better:
                best = current
                bad = 0
            else:
                bad += 1
            if cool > 0:
                cool -= 1
                bad = 0
            if bad > patience:
                new = max(lr * factor, min_lr)
                if lr - new > eps:
                    lr = new
                    changed = True
                cool = cooldown
                bad = 0
                if changed:
                    break
        state[:] = [lr, best, bad, cool]
        return k, changed

    def rates_for_losses(self, base_lr: float, losses) -> np.ndarray:
        """The rate of every update when the loss before update ``k`` is ``losses[k]``.

        Parameters
        ----------
        base_lr : float
            The optimizer's ``lr``: the rate of the first update.
        losses : sequence of float
            The loss the scheduler is stepped with after each update.

        Returns
        -------
        ndarray, shape (len(losses),)
            Element ``k`` is the rate of update ``k``.
        """
        state = self.start(base_lr)
        out = np.empty(len(losses))
        for k, f in enumerate(losses):
            out[k] = state[0]
            self.observe(state, f)
        return out


SCHEDULES: dict[str, type[Schedule]] = {
    c.__name__: c
    for c in (
        ConstantSchedule, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
        CosineAnnealingWarmRestarts, LinearLR, ConstantLR, PolynomialLR, CyclicLR, OneCycleLR,
        SequentialLR, ChainedScheduler, ReduceLROnPlateau,
    )
}


def schedule_from_dict(d: dict[str, Any] | None) -> Schedule:
    """Build a schedule from ``{"name": "StepLR", ...}`` (as ``to_dict`` writes).

    Parameters
    ----------
    d : dict or None
        ``"name"`` is a class name in ``SCHEDULES``; the other keys are its parameters
        (missing ones take their defaults; lists are accepted for tuples, and
        ``SequentialLR``'s ``schedulers`` are dicts themselves). None gives the constant
        schedule.

    Returns
    -------
    Schedule

    Raises
    ------
    ValueError
        For an unknown name, an unknown parameter or a bad value; the message says which.

    Examples
    --------
    >>> import simulator as sim
    >>> sim.schedule_from_dict({"name": "StepLR", "step_size": 10})
    StepLR(step_size=10)
    >>> sim.schedule_from_dict(None)
    ConstantSchedule()
    >>> sched = sim.SequentialLR([sim.LinearLR(), sim.CosineAnnealingLR(T_max=95)], [5])
    >>> sim.schedule_from_dict(sched.to_dict()) == sched
    True
    """
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
    if cls in (SequentialLR, ChainedScheduler):
        subs = params.get("schedulers", [])
        if not isinstance(subs, list):
            raise ValueError(f"{name}: schedulers must be a list")
        params["schedulers"] = tuple(schedule_from_dict(s) for s in subs)
    for key in ("milestones",):
        if key in params and isinstance(params[key], list):
            params[key] = tuple(params[key])
    try:
        return cls(**params)
    except TypeError as e:
        raise ValueError(f"{name}: {e}") from None
