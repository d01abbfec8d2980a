"""Optimizer configurations with torch.optim's names, parameters, defaults and rules.

Each optimizer is a frozen dataclass: it only *describes* an optimizer; the update itself
runs in the numba kernels (``kernels.optim``), written step for step from torch.optim's
reference implementation (single-tensor path) so that a student's numbers here are the
numbers their PyTorch code gives. Lion follows Chen et al. (2023); damped Newton is
``x <- x - lr (H + damping I)^-1 g``.

Invalid hyperparameters raise ``ValueError`` naming the parameter, as torch does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np

from .kernels.optim import (  # the kernel ids, defined once beside the update rules
    O_ADADELTA,
    O_ADAGRAD,
    O_ADAM,
    O_ADAMAX,
    O_ADAMW,
    O_LION,
    O_NADAM,
    O_NEWTON,
    O_RADAM,
    O_RMSPROP,
    O_SGD,
)


@dataclass(frozen=True)
class HyperParam:
    """How a hyperparameter is shown and edited (used by panels and lab validation)."""

    name: str
    label: str
    lo: float
    hi: float
    log: bool = False
    kind: str = "float"  # "float", "bool", "betas"
    help: str = ""


def _check_lr(lr: float) -> None:
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr):
        raise ValueError(f"Invalid learning rate: lr must be a finite number, got {lr!r}")
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: lr must be >= 0, got {lr}")


def _check_range(name: str, v: float, lo: float, hi: float, hi_open: bool = True) -> None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and lo <= v and (v < hi if hi_open else v <= hi)
    if not ok:
        bracket = ")" if hi_open else "]"
        raise ValueError(f"Invalid {name}: must be in [{lo}, {hi}{bracket}, got {v!r}")


def _check_nonneg(name: str, v: float) -> None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or v < 0.0:
        raise ValueError(f"Invalid {name}: must be a finite number >= 0, got {v!r}")


def _check_betas(betas) -> tuple[float, float]:
    try:
        b1, b2 = (float(b) for b in betas)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid betas: must be a pair of numbers, got {betas!r}") from None
    _check_range("beta parameter at index 0", b1, 0.0, 1.0)
    _check_range("beta parameter at index 1", b2, 0.0, 1.0)
    return (b1, b2)


_SHARED_NONNEG = (
    ("eps", "epsilon value"),
    ("weight_decay", "weight_decay value"),
    ("momentum", "momentum value"),
)

_LR = HyperParam("lr", "learning rate", 1e-6, 10.0, log=True, help="step size (torch: lr)")
_WD = HyperParam(
    "weight_decay", "weight decay", 0.0, 1.0, help="L2 penalty added to the gradient: g + wd*x"
)
_EPS = HyperParam("eps", "eps", 1e-12, 1e-1, log=True, help="added to the denominator")
_BETAS = HyperParam(
    "betas", "betas", 0.0, 0.9999, kind="betas",
    help="decay rates of the running averages of g (beta1) and g^2 (beta2)",
)


@dataclass(frozen=True)
class Optimizer:
    """Base class: every optimizer has a learning rate ``lr``."""

    lr: float = 1e-3

    oid: ClassVar[int] = -1
    title: ClassVar[str] = ""
    rule: ClassVar[str] = ""  # the update rule, for tooltips
    schema: ClassVar[tuple[HyperParam, ...]] = ()

    def __post_init__(self) -> None:
        # the checks torch makes for the hyperparameters many optimizers share
        _check_lr(self.lr)
        if hasattr(self, "betas"):
            object.__setattr__(self, "betas", _check_betas(self.betas))
        for field_name, label in _SHARED_NONNEG:
            if hasattr(self, field_name):
                _check_nonneg(label, getattr(self, field_name))

    @property
    def name(self) -> str:
        """torch.optim class name (``"Adam"``)."""
        return type(self).__name__

    def hp(self) -> np.ndarray:
        """Hyperparameters in the kernel's layout (learning rate excluded)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if "betas" in d:
            d["betas"] = list(d["betas"])
        return {"name": self.name, **d}

    def replace(self, **changes) -> Optimizer:
        """A copy with some hyperparameters changed (validated)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(changes)
        return type(self)(**d)


@dataclass(frozen=True)
class SGD(Optimizer):
    lr: float = 1e-3
    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False

    oid: ClassVar[int] = O_SGD
    title: ClassVar[str] = "SGD"
    rule: ClassVar[str] = (
        "g <- g + wd*x;  b <- momentum*b + (1-dampening)*g  (b = g on step 1);\n"
        "d = g + momentum*b (nesterov) or b (momentum) or g;  x <- x - lr*d"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR,
        HyperParam("momentum", "momentum", 0.0, 0.999, help="heavy-ball coefficient (beta)"),
        HyperParam("dampening", "dampening", 0.0, 1.0, help="scales the new gradient in b"),
        _WD,
        HyperParam("nesterov", "Nesterov", 0, 1, kind="bool", help="look-ahead momentum"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg("dampening value", self.dampening)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def hp(self) -> np.ndarray:
        return np.array(
            [self.momentum, self.dampening, self.weight_decay, float(self.nesterov)]
        )


@dataclass(frozen=True)
class Adagrad(Optimizer):
    lr: float = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10

    oid: ClassVar[int] = O_ADAGRAD
    title: ClassVar[str] = "AdaGrad"
    rule: ClassVar[str] = (
        "s <- s + g^2;  x <- x - lr_t * g / (sqrt(s) + eps),\n"
        "lr_t = lr / (1 + (t-1)*lr_decay): steps shrink as squared gradients pile up"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR,
        HyperParam("lr_decay", "lr decay", 0.0, 1.0),
        _WD,
        HyperParam("initial_accumulator_value", "initial accumulator", 0.0, 10.0),
        HyperParam("eps", "eps", 1e-12, 1e-1, log=True),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg("lr_decay value", self.lr_decay)
        _check_nonneg("initial_accumulator_value", self.initial_accumulator_value)

    def hp(self) -> np.ndarray:
        return np.array(
            [self.lr_decay, self.weight_decay, self.initial_accumulator_value, self.eps]
        )


@dataclass(frozen=True)
class RMSprop(Optimizer):
    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False

    oid: ClassVar[int] = O_RMSPROP
    title: ClassVar[str] = "RMSprop"
    rule: ClassVar[str] = (
        "v <- alpha*v + (1-alpha)*g^2;  x <- x - lr * g / (sqrt(v) + eps)\n"
        "(centered: divide by sqrt(v - m^2) with m the running mean of g)"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR,
        HyperParam("alpha", "alpha", 0.0, 0.9999, help="decay of the squared-gradient average"),
        _EPS,
        _WD,
        HyperParam("momentum", "momentum", 0.0, 0.999),
        HyperParam("centered", "centered", 0, 1, kind="bool"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg("alpha value", self.alpha)

    def hp(self) -> np.ndarray:
        return np.array(
            [self.alpha, self.eps, self.weight_decay, self.momentum, float(self.centered)]
        )


@dataclass(frozen=True)
class Adam(Optimizer):
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False

    oid: ClassVar[int] = O_ADAM
    title: ClassVar[str] = "Adam"
    rule: ClassVar[str] = (
        "m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2;\n"
        "x <- x - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR, _BETAS, _EPS, _WD, HyperParam("amsgrad", "AMSGrad", 0, 1, kind="bool"),
    )


    def hp(self) -> np.ndarray:
        b1, b2 = self.betas
        return np.array([b1, b2, self.eps, self.weight_decay, float(self.amsgrad)])


@dataclass(frozen=True)
class AdamW(Adam):
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 1e-2
    amsgrad: bool = False

    oid: ClassVar[int] = O_ADAMW
    title: ClassVar[str] = "AdamW"
    rule: ClassVar[str] = (
        "x <- x*(1 - lr*wd) (decoupled decay), then the Adam step with the plain gradient"
    )


@dataclass(frozen=True)
class NAdam(Optimizer):
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False

    oid: ClassVar[int] = O_NADAM
    title: ClassVar[str] = "NAdam"
    rule: ClassVar[str] = (
        "Adam with Nesterov momentum: mu_t = b1*(1 - 0.5*0.96^(t*psi));\n"
        "x <- x - lr*(1-mu_t)/(1-prod mu) * g/d - lr*mu_{t+1}/(1-prod mu*mu_{t+1}) * m/d"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR, _BETAS, _EPS, _WD,
        HyperParam("momentum_decay", "momentum decay", 0.0, 0.1),
        HyperParam("decoupled_weight_decay", "decoupled decay", 0, 1, kind="bool"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg("momentum_decay value", self.momentum_decay)

    def hp(self) -> np.ndarray:
        b1, b2 = self.betas
        return np.array(
            [b1, b2, self.eps, self.weight_decay, self.momentum_decay,
             float(self.decoupled_weight_decay)]
        )


@dataclass(frozen=True)
class RAdam(Optimizer):
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False

    oid: ClassVar[int] = O_RADAM
    title: ClassVar[str] = "RAdam"
    rule: ClassVar[str] = (
        "Adam whose adaptive step is switched on only when the variance estimate is\n"
        "reliable (rho_t > 5), scaled by the rectification term r_t; before that, SGD with"
        " momentum"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR, _BETAS, _EPS, _WD,
        HyperParam("decoupled_weight_decay", "decoupled decay", 0, 1, kind="bool"),
    )


    def hp(self) -> np.ndarray:
        b1, b2 = self.betas
        return np.array(
            [b1, b2, self.eps, self.weight_decay, float(self.decoupled_weight_decay)]
        )


@dataclass(frozen=True)
class Adamax(Optimizer):
    lr: float = 2e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    oid: ClassVar[int] = O_ADAMAX
    title: ClassVar[str] = "Adamax"
    rule: ClassVar[str] = (
        "m <- b1*m + (1-b1)*g;  u <- max(b2*u, |g| + eps);  x <- x - lr/(1-b1^t) * m/u"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (_LR, _BETAS, _EPS, _WD)


    def hp(self) -> np.ndarray:
        b1, b2 = self.betas
        return np.array([b1, b2, self.eps, self.weight_decay])


@dataclass(frozen=True)
class Adadelta(Optimizer):
    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0

    oid: ClassVar[int] = O_ADADELTA
    title: ClassVar[str] = "Adadelta"
    rule: ClassVar[str] = (
        "v <- rho*v + (1-rho)*g^2;  d = sqrt(u + eps)/sqrt(v + eps) * g;\n"
        "u <- rho*u + (1-rho)*d^2;  x <- x - lr*d"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR, HyperParam("rho", "rho", 0.0, 1.0), _EPS, _WD,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("rho value", self.rho, 0.0, 1.0, hi_open=False)

    def hp(self) -> np.ndarray:
        return np.array([self.rho, self.eps, self.weight_decay])


@dataclass(frozen=True)
class Lion(Optimizer):
    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0

    oid: ClassVar[int] = O_LION
    title: ClassVar[str] = "Lion"
    rule: ClassVar[str] = (
        "c = b1*m + (1-b1)*g;  x <- x*(1 - lr*wd) - lr*sign(c);  m <- b2*m + (1-b2)*g\n"
        "(Chen et al. 2023): every coordinate moves by exactly lr"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (_LR, _BETAS, _WD)


    def hp(self) -> np.ndarray:
        b1, b2 = self.betas
        return np.array([b1, b2, self.weight_decay])


@dataclass(frozen=True)
class Newton(Optimizer):
    lr: float = 1.0
    damping: float = 0.0

    oid: ClassVar[int] = O_NEWTON
    title: ClassVar[str] = "Newton"
    rule: ClassVar[str] = (
        "x <- x - lr * (H + damping*I)^-1 g: jumps to the critical point of the local\n"
        "quadratic model, which is a saddle as readily as a minimum"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        HyperParam("lr", "learning rate", 1e-3, 2.0, log=True),
        HyperParam("damping", "damping (lambda)", 0.0, 100.0,
                   help="added to the Hessian's diagonal"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg("damping value", self.damping)

    def hp(self) -> np.ndarray:
        return np.array([self.damping])


OPTIMIZERS: dict[str, type[Optimizer]] = {
    c.__name__: c
    for c in (SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam, Adamax, Adadelta, Lion, Newton)
}


def optimizer_from_dict(d: dict[str, Any]) -> Optimizer:
    """Build an optimizer from ``{"name": "Adam", "lr": ..., ...}`` (as ``to_dict`` writes).

    Raises ``ValueError`` for an unknown name, an unknown parameter or a bad value.
    """
    if not isinstance(d, dict):
        raise ValueError(f"optimizer must be an object, got {type(d).__name__}")
    name = d.get("name")
    cls = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")
    params = {k: v for k, v in d.items() if k != "name"}
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{name}: unknown parameter {unknown[0]!r}")
    if "betas" in params and isinstance(params["betas"], list):
        params["betas"] = tuple(params["betas"])
    try:
        return cls(**params)
    except TypeError as e:  # wrong types that dataclass init rejects
        raise ValueError(f"{name}: {e}") from None
