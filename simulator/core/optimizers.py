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
    O_ASGD,
    O_LBFGS,
    O_LION,
    O_NADAM,
    O_NEWTON,
    O_RADAM,
    O_RMSPROP,
    O_RPROP,
    O_SGD,
)
from .summary import call_repr


@dataclass(frozen=True)
class HyperParam:
    """How a hyperparameter is shown and edited (used by panels and lab validation)."""

    name: str
    label: str
    lo: float
    hi: float
    log: bool = False
    kind: str = "float"  # "float", "int", "bool", "betas", "pair", "choice"
    help: str = ""
    labels: tuple[str, ...] = ()  # "pair": the two fields' labels; "choice": the options


# hyperparameters that are pairs of numbers (tuples here, lists in JSON)
PAIR_FIELDS = ("betas", "etas", "step_sizes")


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


def _check_pair(name: str, v) -> tuple[float, float]:
    try:
        a, b = (float(x) for x in v)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid {name}: must be a pair of numbers, got {v!r}") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"Invalid {name}: must be finite, got {v!r}")
    return (a, b)


def _check_int(name: str, v, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"Invalid {name}: must be an integer >= {lo}, got {v!r}")
    return int(v)


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


@dataclass(frozen=True, repr=False)
class Optimizer:
    """Base class of the optimizers: a frozen description with a learning rate ``lr``.

    An optimizer object only describes an optimizer (its class and hyperparameters); the
    update runs in the numba kernels when it is passed to ``simulate`` or
    ``simulate_batch``. Objects are immutable and compare equal when their
    hyperparameters are equal; ``replace`` makes a changed copy. Use a subclass
    (``SGD``, ``Adam``, ...); the base class itself cannot run.

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate: the base step size, which a schedule scales per update. Must be a
        finite number >= 0.

    Attributes
    ----------
    name : str
        The class name, as in torch.optim (``"Adam"``).
    title : str
        The name the app shows (``"AdaGrad"``).
    rule : str
        The update rule in two lines of plain text (the app's tooltip).
    schema : tuple of HyperParam
        How each hyperparameter is shown and edited: label, range, log scale.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    See Also
    --------
    optimizer_from_dict : build one from the dict ``to_dict`` writes.

    Examples
    --------
    >>> import simulator as sim
    >>> opt = sim.Adam(lr=0.01)
    >>> opt.name, opt.lr, opt.betas
    ('Adam', 0.01, (0.9, 0.999))
    >>> opt.replace(lr=0.1) == sim.Adam(lr=0.1)
    True

    The repr is the constructor call: ``lr`` and the hyperparameters that differ from
    the defaults; it evaluates back to an equal optimizer.

    >>> sim.Adam(lr=0.02, betas=(0.9, 0.99))
    Adam(lr=0.02, betas=(0.9, 0.99))
    >>> opt.to_dict()
    {'name': 'Adam', 'lr': 0.01, 'betas': [0.9, 0.999], 'eps': 1e-08, 'weight_decay': 0.0,
     'amsgrad': False}
    >>> sim.SGD(lr=-1.0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid learning rate: lr must be >= 0, got -1.0
    """

    lr: float = 1e-3

    oid: ClassVar[int] = -1
    title: ClassVar[str] = ""
    rule: ClassVar[str] = ""  # the update rule, for tooltips
    schema: ClassVar[tuple[HyperParam, ...]] = ()
    # False: several evaluations per step (L-BFGS); maps run one recorded run per start
    batch_kernel: ClassVar[bool] = True

    def __post_init__(self) -> None:
        # the checks torch makes for the hyperparameters many optimizers share
        _check_lr(self.lr)
        if hasattr(self, "betas"):
            object.__setattr__(self, "betas", _check_betas(self.betas))
        for field_name, label in _SHARED_NONNEG:
            if hasattr(self, field_name):
                _check_nonneg(label, getattr(self, field_name))

    def __repr__(self) -> str:
        # the constructor call, lr and the non-default hyperparameters: Adam(lr=0.02)
        return call_repr(self, always=("lr",))

    @property
    def name(self) -> str:
        """torch.optim class name (``"Adam"``)."""
        return type(self).__name__

    def hp(self) -> np.ndarray:
        """Hyperparameters in the kernel's layout (learning rate excluded)."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"name": ..., **hyperparameters}``, plain JSON types (``betas`` a list).

        ``optimizer_from_dict`` reads it back; session, lab and export files store it.
        """
        d = asdict(self)
        for k in PAIR_FIELDS:
            if k in d:
                d[k] = list(d[k])
        return {"name": self.name, **d}

    def replace(self, **changes) -> Optimizer:
        """A copy with some hyperparameters changed (validated).

        Parameters
        ----------
        **changes
            Hyperparameters by name, e.g. ``lr=0.1``.

        Returns
        -------
        Optimizer
            A new object of the same class.
        """
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(changes)
        return type(self)(**d)


@dataclass(frozen=True, repr=False)
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``).

    Plain gradient descent with ``momentum=0``; heavy-ball momentum with ``momentum > 0``;
    Nesterov's look-ahead momentum with ``nesterov=True``.

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    momentum : float, default 0
        Momentum factor: the fraction of the previous step carried into this one.
    dampening : float, default 0
        Dampening for momentum: the new gradient enters the momentum buffer scaled by
        ``1 - dampening``.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.
    nesterov : bool, default False
        Enables Nesterov momentum (only with ``momentum > 0`` and ``dampening = 0``).

    Raises
    ------
    ValueError
        A hyperparameter out of range, or Nesterov without momentum or with dampening;
        the message names it, as torch's does.

    Notes
    -----
    With ``g`` the gradient at ``x`` (after noise, minibatching and clipping, when the run
    has them), each update is::

        g <- g + weight_decay * x
        b <- momentum * b + (1 - dampening) * g     (b <- g on the first update)
        d  = g + momentum * b   if nesterov,  b  if momentum > 0,  g  otherwise
        x <- x - lr * d

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; plain gradient descent steps ``lr * 8``:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.SGD(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.    6.2   5.56  5.048]

    Momentum carries 0.9 of the previous step into the next one:

    >>> run = sim.simulate(curve, sim.SGD(lr=0.1, momentum=0.9), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.    6.2   4.84  3.248]
    """

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


@dataclass(frozen=True, repr=False)
class Adagrad(Optimizer):
    """Adagrad: per-coordinate steps that shrink as gradients pile up (``torch.optim.Adagrad``).

    Each coordinate's step shrinks as its squared gradients pile up, so steep directions
    slow down early and the learning rate decays on its own.

    Parameters
    ----------
    lr : float, default 1e-2
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    lr_decay : float, default 0
        Learning rate decay: update ``t`` uses ``lr / (1 + (t - 1) * lr_decay)``.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.
    initial_accumulator_value : float, default 0
        Initial value of the sum of squared gradients.
    eps : float, default 1e-10
        Term added to the denominator to improve numerical stability.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    With ``s`` starting at ``initial_accumulator_value``, update ``t`` (from 1) is::

        g <- g + weight_decay * x
        s <- s + g^2
        x <- x - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; the first step is ``lr`` long whatever the gradient:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Adagrad(lr=1.0), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.     5.4    4.9673]
    """

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


@dataclass(frozen=True, repr=False)
class RMSprop(Optimizer):
    """RMSprop: steps divided by a running RMS of the gradient (``torch.optim.RMSprop``).

    Like Adagrad, but the squared gradients are averaged with exponential forgetting, so
    the step size does not decay to zero.

    Parameters
    ----------
    lr : float, default 1e-2
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    alpha : float, default 0.99
        Smoothing constant: the decay rate of the running average of squared gradients.
    eps : float, default 1e-8
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.
    momentum : float, default 0
        Momentum factor applied to the normalised step.
    centered : bool, default False
        If True, compute the centered RMSprop: the gradient is normalised by an estimate
        of its variance (``v - m^2``, with ``m`` the running mean of the gradient).

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Each update is::

        g <- g + weight_decay * x
        v <- alpha * v + (1 - alpha) * g^2
        m <- alpha * m + (1 - alpha) * g                     (centered only)
        a  = sqrt(v - m^2) + eps  if centered,  sqrt(v) + eps  otherwise
        b <- momentum * b + g / a;  x <- x - lr * b           if momentum > 0
        x <- x - lr * g / a                                   otherwise

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.RMSprop(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.     5.3981 4.9627]
    """

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


@dataclass(frozen=True, repr=False)
class Adam(Optimizer):
    """Adam: momentum with per-coordinate step sizes (``torch.optim.Adam``).

    Running averages of the gradient and of its square, both bias-corrected; the step is
    about ``lr`` long per coordinate whatever the scale of the gradient.

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    betas : tuple of (float, float), default (0.9, 0.999)
        Coefficients used for computing running averages of the gradient (``beta1``) and
        of its square (``beta2``), each in [0, 1).
    eps : float, default 1e-8
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.
    amsgrad : bool, default False
        Whether to use the AMSGrad variant (Reddi et al., "On the Convergence of Adam and
        Beyond"): divide by the largest ``v`` seen so far.
    bias_correction : bool, default True
        Divide ``m`` by ``1 - b1^t`` and ``v`` by ``1 - b2^t`` (as torch always does).
        LossLab's switch for teaching, not torch's: with False the zero-initialised
        averages are used as they are, ``x <- x - lr * m / (sqrt(v) + eps)``, so the
        first steps are ``(1 - b1^t) / sqrt(1 - b2^t)`` times Adam's (about 3x at t = 1
        with the default betas). Written to files only when False.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Update ``t`` (from 1), with ``b1, b2 = betas``::

        g <- g + weight_decay * x
        m <- b1 * m + (1 - b1) * g
        v <- b2 * v + (1 - b2) * g^2
        v_max <- max(v_max, v)                     (amsgrad: used in place of v below)
        x <- x - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    (``bias_correction=False``: ``x <- x - lr * m / (sqrt(v) + eps)``.)

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; each step is about ``lr`` long:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Adam(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.9    6.8001 6.7003]

    Without bias correction the first step is ``0.1 / sqrt(0.001)``, about 3.16 times
    longer:

    >>> run = sim.simulate(curve, sim.Adam(lr=0.1, bias_correction=False), start=[7.0],
    ...                    steps=1)
    >>> print(run.positions.ravel().round(4))
    [7.     6.6838]
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False
    bias_correction: bool = True

    oid: ClassVar[int] = O_ADAM
    title: ClassVar[str] = "Adam"
    rule: ClassVar[str] = (
        "m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2;\n"
        "x <- x - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR, _BETAS, _EPS, _WD, HyperParam("amsgrad", "AMSGrad", 0, 1, kind="bool"),
        HyperParam("bias_correction", "Bias correction", 0, 1, kind="bool"),
    )

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.bias_correction:  # LossLab's switch, not torch's: written only when off
            del d["bias_correction"]
        return d


    def hp(self) -> np.ndarray:
        b1, b2 = self.betas
        return np.array([b1, b2, self.eps, self.weight_decay, float(self.amsgrad)])


@dataclass(frozen=True, repr=False)
class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (``torch.optim.AdamW``).

    The weight decay shrinks ``x`` directly instead of entering the gradient, so it is not
    rescaled by Adam's per-coordinate step sizes. Its default is 1e-2 (Adam's is 0).

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    betas : tuple of (float, float), default (0.9, 0.999)
        Coefficients used for computing running averages of the gradient (``beta1``) and
        of its square (``beta2``), each in [0, 1).
    eps : float, default 1e-8
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 1e-2
        Weight decay coefficient: ``x`` is multiplied by ``1 - lr * weight_decay`` before
        each step.
    amsgrad : bool, default False
        Whether to use the AMSGrad variant (as in :class:`Adam`).
    bias_correction : bool, default True
        Correct the zero-initialised averages (as in :class:`Adam`; LossLab's switch).

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Update ``t`` (from 1)::

        x <- x * (1 - lr * weight_decay)
        then Adam's update with the plain gradient (no weight_decay term in g)

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; the decay takes ``0.01 * 7`` off first:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.AdamW(lr=0.1, weight_decay=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.83   6.6618 6.4956]
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 1e-2
    amsgrad: bool = False
    bias_correction: bool = True

    oid: ClassVar[int] = O_ADAMW
    title: ClassVar[str] = "AdamW"
    rule: ClassVar[str] = (
        "x <- x*(1 - lr*wd) (decoupled decay), then the Adam step with the plain gradient"
    )


@dataclass(frozen=True, repr=False)
class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum (``torch.optim.NAdam``).

    Dozat's NAdam as torch implements it: the momentum coefficient warms up with
    ``momentum_decay``, and each step mixes the current gradient with the look-ahead
    momentum.

    Parameters
    ----------
    lr : float, default 2e-3
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    betas : tuple of (float, float), default (0.9, 0.999)
        Coefficients used for computing running averages of the gradient (``beta1``) and
        of its square (``beta2``), each in [0, 1).
    eps : float, default 1e-8
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.
    momentum_decay : float, default 4e-3
        Momentum decay ``psi`` in the schedule of the momentum coefficient ``mu_t``.
    decoupled_weight_decay : bool, default False
        Whether to decouple the weight decay as in AdamW (NAdamW): ``x`` is multiplied by
        ``1 - lr * weight_decay`` instead of the decay entering the gradient.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Update ``t`` (from 1), with ``b1, b2 = betas``::

        mu_t = b1 * (1 - 0.5 * 0.96^(t * momentum_decay))
        g <- g + weight_decay * x      (decoupled: x <- x * (1 - lr * weight_decay))
        m <- b1 * m + (1 - b1) * g;  v <- b2 * v + (1 - b2) * g^2
        d  = sqrt(v / (1 - b2^t)) + eps
        x <- x - lr * (1 - mu_t) / (1 - mu_1...mu_t) * g / d
               - lr * mu_(t+1) / (1 - mu_1...mu_(t+1)) * m / d

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.NAdam(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.8944 6.8169 6.7451]
    """

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


@dataclass(frozen=True, repr=False)
class RAdam(Optimizer):
    """RAdam: Adam with a rectified adaptive step (``torch.optim.RAdam``).

    Liu et al. (2020): while the variance estimate is unreliable (the first five updates
    with the default ``beta2``), the step is bias-corrected momentum alone; after that it
    is Adam's, scaled by the rectification term ``r_t``.

    Parameters
    ----------
    lr : float, default 1e-3
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    betas : tuple of (float, float), default (0.9, 0.999)
        Coefficients used for computing running averages of the gradient (``beta1``) and
        of its square (``beta2``), each in [0, 1).
    eps : float, default 1e-8
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.
    decoupled_weight_decay : bool, default False
        Whether to decouple the weight decay as in AdamW (RAdamW): ``x`` is multiplied by
        ``1 - lr * weight_decay`` instead of the decay entering the gradient.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Update ``t`` (from 1), with ``b1, b2 = betas``::

        g <- g + weight_decay * x      (decoupled: x <- x * (1 - lr * weight_decay))
        m <- b1 * m + (1 - b1) * g;  v <- b2 * v + (1 - b2) * g^2
        m_hat = m / (1 - b1^t)
        rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            x <- x - lr * m_hat * r_t * sqrt(1 - b2^t) / (sqrt(v) + eps)
        else:
            x <- x - lr * m_hat

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; the first steps are momentum alone:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.RAdam(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.2    5.4842 4.8492]
    """

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


@dataclass(frozen=True, repr=False)
class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the RMS (``torch.optim.Adamax``).

    The denominator is an exponentially weighted maximum of ``|g|`` instead of a running
    root mean square.

    Parameters
    ----------
    lr : float, default 2e-3
        Learning rate (torch: "learning rate"): the step size. A schedule passed to
        ``simulate`` scales it per update.
    betas : tuple of (float, float), default (0.9, 0.999)
        Coefficients used for computing running averages of the gradient (``beta1``) and
        of its infinity norm (``beta2``), each in [0, 1).
    eps : float, default 1e-8
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Update ``t`` (from 1), with ``b1, b2 = betas``::

        g <- g + weight_decay * x
        m <- b1 * m + (1 - b1) * g
        u <- max(b2 * u, |g| + eps)
        x <- x - lr / (1 - b1^t) * m / u

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Adamax(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.9    6.8012 6.7037]
    """

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


@dataclass(frozen=True, repr=False)
class Adadelta(Optimizer):
    """Adadelta: steps scaled by past steps over past gradients (``torch.optim.Adadelta``).

    Zeiler (2012): the step is the gradient scaled by the ratio of the RMS of past steps to
    the RMS of past gradients, so its first steps are tiny (about
    ``sqrt(eps / (1 - rho))``, 0.003 with the defaults) and it speeds up as it moves.

    Parameters
    ----------
    lr : float, default 1.0
        Coefficient that scales the delta before it is applied to ``x`` (torch's
        "learning rate"). A schedule passed to ``simulate`` scales it per update.
    rho : float, default 0.9
        Coefficient used for computing the running averages of squared gradients and of
        squared steps, in [0, 1].
    eps : float, default 1e-6
        Term added to the denominator to improve numerical stability.
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Each update is::

        g <- g + weight_decay * x
        v <- rho * v + (1 - rho) * g^2
        d  = sqrt(u + eps) / sqrt(v + eps) * g
        u <- rho * u + (1 - rho) * d^2
        x <- x - lr * d

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Adadelta(), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.9968 6.9936 6.9903]
    """

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


@dataclass(frozen=True, repr=False)
class Lion(Optimizer):
    """Lion: the sign of an interpolated momentum (Chen et al. 2023; not in torch.optim).

    "Symbolic Discovery of Optimization Algorithms": every coordinate moves by exactly
    ``lr`` (plus the weight decay), in the direction of the sign of a blend of the
    momentum and the gradient. Names and defaults follow the authors' PyTorch code.

    Parameters
    ----------
    lr : float, default 1e-4
        Learning rate: the length of every step. A schedule passed to ``simulate``
        scales it per update.
    betas : tuple of (float, float), default (0.9, 0.99)
        ``beta1`` blends the momentum and the gradient for the update's sign; ``beta2``
        is the decay rate of the momentum itself. Each in [0, 1).
    weight_decay : float, default 0
        Decoupled weight decay: ``x`` is multiplied by ``1 - lr * weight_decay`` each
        update.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it).

    Notes
    -----
    Each update, with ``b1, b2 = betas``::

        c  = b1 * m + (1 - b1) * g
        x <- x * (1 - lr * weight_decay) - lr * sign(c)
        m <- b2 * m + (1 - b2) * g

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; every step is exactly ``lr`` long:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Lion(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.  6.9 6.8 6.7]
    """

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


@dataclass(frozen=True, repr=False)
class Newton(Optimizer):
    """Damped Newton's method: ``x <- x - lr (H + damping I)^-1 g`` (not in torch.optim).

    Jumps to the critical point of the local quadratic model, using the exact Hessian
    ``H`` of the surface; that point is a saddle as readily as a minimum, which is what
    the lanes show next to gradient descent. ``damping`` (Levenberg's lambda) blends it
    towards a small gradient step.

    Parameters
    ----------
    lr : float, default 1.0
        Step size: the fraction of the Newton step taken (1 is the full step).
    damping : float, default 0
        Added to the Hessian's diagonal (``lambda``); a large value makes the step close
        to gradient descent with learning rate ``lr / damping``.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it).

    Notes
    -----
    Each update is ``x <- x - lr * (H + damping * I)^-1 g`` with ``H`` and ``g`` at ``x``
    (for a curve, ``w <- w - lr * g / (H + damping)``). The step is undefined where
    ``H + damping * I`` is singular; the run then ends there as diverged.

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``, where the gradient
    ``2 (w - 3)`` is 8; on a quadratic the full step lands on the minimum:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Newton(), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7. 3. 3. 3.]
    """

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


@dataclass(frozen=True, repr=False)
class Rprop(Optimizer):
    """Rprop: steps of a learned size in the gradient's sign (``torch.optim.Rprop``).

    Resilient backpropagation (Riedmiller and Braun, 1993): each coordinate keeps its own
    step size, which grows by ``etaplus`` while the gradient keeps its sign and shrinks
    by ``etaminus`` when it flips (the update that jumped over a minimum is not
    repeated). The gradient's size is never used, only its sign; ``lr`` is only the
    first step size (a schedule changes nothing after the first update, as in torch).

    Parameters
    ----------
    lr : float, default 1e-2
        Learning rate: the initial step size of every coordinate.
    etas : tuple of (float, float), default (0.5, 1.2)
        ``(etaminus, etaplus)``: the multiplicative decrease and increase factors,
        ``0 < etaminus < 1 < etaplus``.
    step_sizes : tuple of (float, float), default (1e-6, 50)
        The minimal and maximal allowed step size.
    maximize : bool, default False
        Maximize the loss instead of minimizing it (the gradient's sign is flipped).

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Each update, per coordinate, with ``p`` the previous (kept) gradient, 0 at first,
    and the step size ``s`` starting at ``lr``::

        f = etaplus if g * p > 0,  etaminus if g * p < 0,  1 otherwise
        s <- clamp(s * f, step_sizes[0], step_sizes[1])
        g <- 0 where f = etaminus      (no move right after a sign flip)
        x <- x - sign(g) * s;  p <- g

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``: the step grows by
    1.2 while the gradient keeps its sign, whatever its size:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.Rprop(lr=0.5), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.   6.5  5.9  5.18]
    """

    lr: float = 1e-2
    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50.0)
    maximize: bool = False

    oid: ClassVar[int] = O_RPROP
    title: ClassVar[str] = "Rprop"
    rule: ClassVar[str] = (
        "per coordinate: s <- s*etaplus while g keeps its sign, s*etaminus when it flips;\n"
        "x <- x - sign(g)*s: only the gradient's sign is used, never its size"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        HyperParam("lr", "initial step", 1e-6, 10.0, log=True,
                   help="the first step size of every coordinate (torch: lr)"),
        HyperParam("etas", "etas", 0.0, 10.0, kind="pair", labels=("\u03b7-", "\u03b7+"),
                   help="step size factors: x etaminus (< 1) when the gradient's sign flips,"
                        " x etaplus (> 1) while it keeps it"),
        HyperParam("step_sizes", "step limits", 0.0, 1e3, kind="pair",
                   labels=("min", "max"), help="the smallest and largest step size allowed"),
        HyperParam("maximize", "maximize", 0, 1, kind="bool",
                   help="climb the loss instead of descending it"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        em, ep = _check_pair("etas", self.etas)
        if not 0.0 < em < 1.0 < ep:
            raise ValueError(f"Invalid eta values: {em}, {ep} (need 0 < etaminus < 1 < etaplus)")
        object.__setattr__(self, "etas", (em, ep))
        lo, hi = _check_pair("step_sizes", self.step_sizes)
        if not 0.0 <= lo <= hi:
            raise ValueError(f"Invalid step_sizes: need 0 <= min <= max, got ({lo}, {hi})")
        object.__setattr__(self, "step_sizes", (lo, hi))

    def hp(self) -> np.ndarray:
        return np.array([*self.etas, *self.step_sizes, float(self.maximize)])


@dataclass(frozen=True, repr=False)
class ASGD(Optimizer):
    """Averaged SGD: gradient steps with a slowly decaying rate (``torch.optim.ASGD``).

    Polyak and Juditsky (1992): plain SGD whose rate ``eta`` decays as
    ``lr / (1 + lambd lr t)^alpha`` and that shrinks ``x`` by ``1 - lambd eta`` each
    update; from update ``t0`` on it also keeps the running average ``ax`` of the
    iterates, the answer averaged SGD gives. The path shown is the iterates ``x`` (as
    torch's parameter); ``optimizer_state`` gives ``ax``.

    Parameters
    ----------
    lr : float, default 1e-2
        Learning rate: the starting value of ``eta``.
    lambd : float, default 1e-4
        Decay term: the rate's decay and the shrinking of ``x``.
    alpha : float, default 0.75
        Power of the rate's decay.
    t0 : float, default 1e6
        The update from which the average starts (before it, ``ax`` is ``x``).
    weight_decay : float, default 0
        Weight decay (L2 penalty): ``weight_decay * x`` is added to the gradient.

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it, as torch's does).

    Notes
    -----
    Update ``t`` (from 1), with ``eta_1 = lr`` and ``mu_1 = 1``::

        g <- g + weight_decay * x
        x <- x * (1 - lambd * eta_t) - eta_t * g
        ax <- ax + (x - ax) * mu_t      (ax <- x while mu_t = 1)
        eta_{t+1} = lr / (1 + lambd * lr * t)^alpha;  mu_{t+1} = 1 / max(1, t - t0)

    Examples
    --------
    The first three updates on ``L(w) = (w - 3)^2`` from ``w = 7``; with the default
    ``lambd`` the rate barely decays:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.ASGD(lr=0.1), start=[7.0], steps=3)
    >>> print(run.positions.ravel().round(4))
    [7.     6.1999 5.5599 5.0479]
    """

    lr: float = 1e-2
    lambd: float = 1e-4
    alpha: float = 0.75
    t0: float = 1e6
    weight_decay: float = 0.0

    oid: ClassVar[int] = O_ASGD
    title: ClassVar[str] = "ASGD"
    rule: ClassVar[str] = (
        "x <- x*(1 - lambd*eta) - eta*g,  eta = lr/(1 + lambd*lr*t)^alpha;\n"
        "from update t0 on, ax <- running average of x (the averaged answer)"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        _LR,
        HyperParam("lambd", "lambda (decay)", 0.0, 1.0,
                   help="how fast the rate decays, and the shrinking of x each update"),
        HyperParam("alpha", "alpha (power)", 0.0, 2.0, help="power of the rate's decay"),
        HyperParam("t0", "t0 (averaging start)", 0.0, 1e6,
                   help="the update from which x is averaged"),
        _WD,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg("lambd value", self.lambd)
        _check_nonneg("alpha value", self.alpha)
        _check_nonneg("t0 value", self.t0)

    def hp(self) -> np.ndarray:
        return np.array([self.lambd, self.alpha, self.t0, self.weight_decay])


@dataclass(frozen=True, repr=False)
class LBFGS(Optimizer):
    """L-BFGS: quasi-Newton steps from a short history of gradients (``torch.optim.LBFGS``).

    Builds a picture of the curvature from the last ``history_size`` changes of position
    and gradient, and steps along the quasi-Newton direction ``-H^-1 g`` that it gives,
    either by ``lr`` times the direction or as far as a strong-Wolfe line search finds
    worthwhile. Each LossLab step is one ``optimizer.step(closure)`` in torch: up to
    ``max_iter`` iterations and ``max_eval`` evaluations of the loss and gradient;
    ``Trajectory.evaluations`` counts them per step. It needs the exact loss: gradient
    noise, clipping and minibatches do not apply to it.

    Parameters
    ----------
    lr : float, default 1.0
        Learning rate: the step along the direction (the line search's first trial).
    max_iter : int, default 20
        Maximal number of iterations per step.
    max_eval : int or None, default None
        Maximal number of function evaluations per step; None: ``max_iter * 5 // 4``.
    tolerance_grad : float, default 1e-7
        A step stops (or is not taken) once every gradient component is this small.
    tolerance_change : float, default 1e-9
        A step stops when the loss or the position changes by less than this.
    history_size : int, default 100
        The number of (position, gradient) changes kept.
    line_search_fn : {None, "strong_wolfe"}, default None
        None: a fixed step ``lr``; "strong_wolfe": torch's line search (sufficient
        decrease ``c1 = 1e-4`` and curvature ``c2 = 0.9``, cubic interpolation).

    Raises
    ------
    ValueError
        A hyperparameter out of range (the message names it).

    Notes
    -----
    Each iteration, with ``s_i``, ``y_i`` the last changes of position and gradient
    (kept when ``y.s > 1e-10``) and ``rho_i = 1 / (y_i . s_i)``::

        q = -g;  for i newest to oldest: a_i = rho_i s_i.q;  q -= a_i y_i
        d = (s.y / y.y) q;  for i oldest to newest: b = rho_i y_i.d;  d += (a_i - b) s_i
        x <- x + t d,  t = lr (the very first: min(1, 1/|g|_1) lr), or the line search's

    Examples
    --------
    On ``L(w) = (w - 3)^2`` from ``w = 7`` the line search's cubic lands on the minimum
    within the first step (3 evaluations); the second step finds a zero gradient and
    stops after its first evaluation:

    >>> import simulator as sim
    >>> curve = sim.get_surface("parabola", c=3)
    >>> run = sim.simulate(curve, sim.LBFGS(line_search_fn="strong_wolfe"), start=[7.0],
    ...                    steps=2)
    >>> print(run.positions.ravel().round(4))
    [7. 3. 3.]
    >>> print(run.evaluations)
    [3 1]
    """

    lr: float = 1.0
    max_iter: int = 20
    max_eval: int | None = None
    tolerance_grad: float = 1e-7
    tolerance_change: float = 1e-9
    history_size: int = 100
    line_search_fn: str | None = None

    oid: ClassVar[int] = O_LBFGS
    batch_kernel: ClassVar[bool] = False
    title: ClassVar[str] = "L-BFGS"
    rule: ClassVar[str] = (
        "x <- x + t*d, d = -H^-1 g with H^-1 built from the last history_size changes of\n"
        "x and g; t = lr or a strong-Wolfe line search; one step = up to max_iter iterations"
    )
    schema: ClassVar[tuple[HyperParam, ...]] = (
        HyperParam("lr", "learning rate", 1e-4, 10.0, log=True,
                   help="the step along the quasi-Newton direction (the line search's"
                        " first try)"),
        HyperParam("max_iter", "iterations per step", 1, 1000, kind="int",
                   help="L-BFGS iterations inside one optimizer.step(closure)"),
        HyperParam("max_eval", "evaluations per step", 1, 10000, kind="int",
                   help="the most loss-and-gradient evaluations one step may make"
                        " (default max_iter * 5 // 4)"),
        HyperParam("tolerance_grad", "gradient tolerance", 0.0, 1.0, log=True,
                   help="stop once every gradient component is this small"),
        HyperParam("tolerance_change", "change tolerance", 0.0, 1.0, log=True,
                   help="stop when the loss or the position changes by less"),
        HyperParam("history_size", "history", 1, 1000, kind="int",
                   help="how many past (step, gradient change) pairs shape the curvature"),
        HyperParam("line_search_fn", "line search", 0, 1, kind="choice",
                   labels=("none", "strong_wolfe"),
                   help="none: step by lr; strong_wolfe: search along the direction until"
                        " the loss fell enough and the slope flattened"),
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "max_iter", _check_int("max_iter", self.max_iter, 1))
        if self.max_eval is not None:
            object.__setattr__(self, "max_eval", _check_int("max_eval", self.max_eval, 1))
        object.__setattr__(self, "history_size",
                           _check_int("history_size", self.history_size, 1))
        _check_nonneg("tolerance_grad", self.tolerance_grad)
        _check_nonneg("tolerance_change", self.tolerance_change)
        if self.line_search_fn == "none":
            object.__setattr__(self, "line_search_fn", None)
        if self.line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(
                f"Invalid line_search_fn: only 'strong_wolfe' or None, got {self.line_search_fn!r}")

    @property
    def evals_per_step(self) -> int:
        """``max_eval``, or torch's default ``max_iter * 5 // 4``."""
        return self.max_eval if self.max_eval is not None else self.max_iter * 5 // 4

    def hp(self) -> np.ndarray:
        return np.array([
            float(self.max_iter), float(self.evals_per_step), self.tolerance_grad,
            self.tolerance_change, float(self.history_size),
            1.0 if self.line_search_fn == "strong_wolfe" else 0.0,
        ])


OPTIMIZERS: dict[str, type[Optimizer]] = {
    c.__name__: c
    for c in (SGD, Adagrad, RMSprop, Adam, AdamW, NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD,
              LBFGS, Lion, Newton)
}


def optimizer_from_dict(d: dict[str, Any]) -> Optimizer:
    """Build an optimizer from ``{"name": "Adam", "lr": ..., ...}`` (as ``to_dict`` writes).

    Parameters
    ----------
    d : dict
        ``"name"`` is a class name in ``OPTIMIZERS``; the other keys are its
        hyperparameters (missing ones take their defaults). ``betas`` may be a list.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        For an unknown name, an unknown parameter or a bad value; the message says which.

    Examples
    --------
    >>> import simulator as sim
    >>> sim.optimizer_from_dict({"name": "SGD", "lr": 0.1, "momentum": 0.9})
    SGD(lr=0.1, momentum=0.9)
    >>> opt = sim.AdamW(lr=0.01)
    >>> sim.optimizer_from_dict(opt.to_dict()) == opt
    True
    >>> sim.optimizer_from_dict({"name": "Adam", "momentum": 0.9})
    Traceback (most recent call last):
    ...
    ValueError: Adam: unknown parameter 'momentum'
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
    for k in PAIR_FIELDS:
        if k in params and isinstance(params[k], list):
            params[k] = tuple(params[k])
    try:
        return cls(**params)
    except TypeError as e:  # wrong types that dataclass init rejects
        raise ValueError(f"{name}: {e}") from None
