"""Optimizer internals: the state behind each step of a recorded run.

``optimizer_state(run, step)`` gives, for update ``step`` of a ``Trajectory``, the
gradient the update used, the momentum buffer or first moment, the second moment, the
per-coordinate effective learning rate of adaptive methods and the step actually taken;
the 2-D map draws them for the selected lane. Nothing is stored during the run: the state
is recomputed by replaying the update rule over the recorded positions with the kernels'
own source run by the interpreter (``kernels.interp``), so every number is the one the
compiled kernel computed, bit for bit, and the replayed step equals
``positions[step + 1] - positions[step]`` exactly. The replay of a run is kept (weakly,
per run) and extended on demand, so a frame costs one lookup once a run was replayed.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .optimizers import (
    ASGD,
    LBFGS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    NAdam,
    Newton,
    RAdam,
    RMSprop,
    Rprop,
)


@dataclass(frozen=True)
class OptimizerState:
    """What an optimizer held and did at one update of a run (``optimizer_state``).

    Vectors have one entry per coordinate (``dim``). Quantities an optimizer does not
    have are None.

    Parameters
    ----------
    step : int
        The update, from 0: it moved ``positions[step]`` to ``positions[step + 1]``.
    position : ndarray (dim,)
        Where the update started.
    gradient : ndarray (dim,)
        The gradient the update used (after noise, minibatching and clipping).
    lr : float
        The learning rate of the update (after the schedule).
    momentum : ndarray (dim,) or None
        The momentum buffer or first moment after the update (``momentum_name`` says
        which); ASGD: None (its running average is in ``extra``).
    momentum_name : str
        What ``momentum`` is: "momentum buffer", "first moment m", ...
    momentum_step : ndarray (dim,) or None
        The momentum as a move, in the units of the plain gradient step ``-lr g``:
        SGD, the part of the step carried over from earlier steps (``-lr momentum b``
        with the buffer before the update; Nesterov's after it), so ``-lr g`` plus it is
        the step; Adam and its kin, ``-lr m_hat`` (the bias-corrected first moment),
        which the per-coordinate rates then scale into the step; RMSprop with momentum,
        ``-lr b``; Lion, ``-lr sign(m)``.
    second_moment : ndarray (dim,) or None
        The running average (or sum, or maximum) of squared gradients after the update.
    effective_lr : ndarray (dim,) or None
        Adaptive methods: the per-coordinate rate the update applied to the (bias
        corrected) first moment or gradient, ``lr / (sqrt(v_hat) + eps)`` for Adam;
        Rprop: its per-coordinate step sizes.
    effective_step : ndarray (dim,) or None
        ``|effective_lr * gradient|`` per coordinate: the move each coordinate's gradient
        gets (Rprop: its step sizes). Adam keeps this about ``lr`` in steep and shallow
        directions alike.
    step_taken : ndarray (dim,)
        ``positions[step + 1] - positions[step]``.
    extra : dict
        Other state: ASGD's running average ``"average"``, L-BFGS's ``"evaluations"``.
    """

    step: int
    position: np.ndarray
    gradient: np.ndarray
    lr: float
    momentum: np.ndarray | None
    momentum_name: str
    momentum_step: np.ndarray | None
    second_moment: np.ndarray | None
    effective_lr: np.ndarray | None
    effective_step: np.ndarray | None
    step_taken: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _optim():
    from .kernels import interp

    return interp.optim()


def gradients_used(run, upto: int) -> np.ndarray:
    """The gradients updates ``0..upto-1`` of ``run`` used: the recorded true gradients,
    with the run's minibatches, noise and clipping applied as the kernel applied them
    (the interpreted kernel functions, so the same bits). Shape (upto, 2)."""
    from .kernels import interp

    if getattr(run, "record_steps", None) is not None:
        raise ValueError("this run recorded its gradients every few steps only "
                         "(record_every); run it with record_every=None")
    n = min(int(upto), run.n_steps)
    width = max(2, run.gradients.shape[1])
    G = np.zeros((n, width))
    G[:, : run.gradients.shape[1]] = run.gradients[:n]
    noise = float(run.noise)
    clip = float(run.clip_grad_norm or 0.0)
    batch = int(run.batch_size or 0)
    if not (noise > 0.0 or clip > 0.0 or batch):
        return G
    if not hasattr(run.surface, "spec"):  # a network: its minibatches live in its kernel
        raise ValueError("optimizer_state replays noise, clipping and minibatches on "
                         "surfaces only; on a network, run without them")
    loops = interp.load()
    s = run.surface
    spec = s.spec
    dim = s.dim
    P = run.positions
    stream = int(run.meta.get("stream", 0))
    B, nb = loops._minibatch(spec, batch) if batch else (0, 1)
    N = spec[7].shape[0]
    perm = np.empty(max(N, 1), dtype=np.int64)
    epoch_box = [-1]
    with np.errstate(all="ignore"):  # the counter-based generator wraps around uint64
        for t in range(n):
            G[t] = _used(loops, spec, dim, P, G[t], t, B, nb, N, perm, run, noise, clip,
                         stream, epoch_box)
    return G


def _used(loops, spec, dim, P, g, t, B, nb, N, perm, run, noise, clip, stream, epoch_box):
    """Update t's gradient as the kernel perturbed it (minibatch, then noise and clip)."""
    gx, gy = g
    if B > 0:
        j, epoch_box[0] = loops._batch_start(run.seed, t, B, nb, N, perm, epoch_box[0])
        y = float(P[t, 1]) if dim == 2 else 0.0
        gx, gy = loops.batch_grad_for(int(spec[0]), spec, float(P[t, 0]), y, perm, j, B)
        if dim == 1:
            gy = 0.0
    if noise > 0.0 or clip > 0.0:
        gx, gy = loops._noise_clip(gx, gy, dim, noise, run.seed, stream, t, clip)
    return gx, gy


class _Replay:
    """The per-update state of one run, replayed up to ``n`` updates so far."""

    def __init__(self, run):
        from .engine import kernel_hp

        self.oid = run.optimizer.oid
        self.h = tuple(float(v) for v in kernel_hp(run.optimizer))
        self.dim = run.positions.shape[1]
        self.mu_prod = 1.0
        self.n = 0
        total = run.n_steps
        width = max(2, self.dim)
        self.before = np.zeros((total, 3, width))  # slots before each update
        self.after = np.zeros((total, 3, width))
        self.coefs = np.zeros((total, 4))
        self.moved = np.zeros((total, width))  # the replayed step
        self.G = np.zeros((0, width))
        optim = _optim()
        s0 = optim.initial_slot0(self.oid, self.h)
        self.S = [[s0, 0.0, 0.0] for _ in range(width)]

    def extend(self, run, upto: int) -> None:
        upto = min(int(upto), run.n_steps)
        if upto <= self.n:
            return
        if run.optimizer.batch_kernel is False or isinstance(run.optimizer, Newton):
            self.n = upto  # no per-coordinate state to replay
            return
        optim = _optim()
        G = gradients_used(run, upto)
        self.G = G
        P = run.positions
        lrs = run.learning_rates
        h = self.h
        oid = self.oid
        for t in range(self.n, upto):
            lr = float(lrs[t])
            k0, k1, k2, k3, self.mu_prod = optim.step_coefs(oid, h, t + 1, lr, self.mu_prod)
            self.coefs[t] = k0, k1, k2, k3
            for c in range(self.dim):
                st = self.S[c]
                self.before[t, :, c] = st
                p, a, b, d = optim.update_coord(oid, h, t + 1, lr, k0, k1, k2, k3,
                                                float(P[t, c]), float(G[t, c]), st[0], st[1],
                                                st[2])
                self.S[c] = [a, b, d]
                self.after[t, :, c] = a, b, d
                self.moved[t, c] = p - float(P[t, c])
        self.n = upto


def is_replayed(run, step: int) -> bool:
    """Whether ``optimizer_state(run, step)`` is a lookup (the run was replayed that far)."""
    r = _cache.get(run)
    return r is not None and r.n > int(step)


def _replay(run, upto: int) -> _Replay:
    with _lock:
        r = _cache.get(run)
        if r is None:
            r = _cache[run] = _Replay(run)
        r.extend(run, upto)
        return r


def optimizer_state(run, step: int) -> OptimizerState:
    """The optimizer's state at update ``step`` of ``run``, recomputed for that frame.

    Parameters
    ----------
    run : Trajectory
        A run ``simulate`` made.
    step : int
        The update, ``0 <= step < run.n_steps``: the one from ``positions[step]`` to
        ``positions[step + 1]``.

    Returns
    -------
    OptimizerState
        The gradient used, the momentum buffer or first moment, the second moment, the
        effective per-coordinate learning rate and step, and the step taken.

    Raises
    ------
    ValueError
        When ``step`` is not an update of the run.

    Examples
    --------
    Adam's first update on ``x^2 + 10 y^2``: steep and shallow coordinates both move
    by ``lr``, since each is divided by its own ``sqrt(v_hat)``:

    >>> import simulator as sim
    >>> s = sim.surface_from_expression("x**2 + 10*y**2")
    >>> run = sim.simulate(s, sim.Adam(lr=0.1), start=(1.0, 1.0), steps=5)
    >>> st = sim.optimizer_state(run, 0)
    >>> print(st.gradient, st.momentum_name, st.momentum.round(3))
    [ 2. 20.] first moment m [0.2 2. ]
    >>> print(st.effective_step.round(4), st.step_taken.round(4))
    [0.1 0.1] [-0.1 -0.1]
    """
    n = run.n_steps
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step < n:
        raise ValueError(f"step must be an update of the run, 0 to {n - 1}, got {step!r}")
    k = int(step)
    r = _replay(run, k + 1)
    opt = run.optimizer
    dim = run.positions.shape[1]
    pos = run.positions[k].copy()
    taken = run.positions[k + 1] - run.positions[k]
    extra: dict[str, Any] = {}
    if r.G.shape[0] > k:
        g = r.G[k, :dim].copy()
    else:
        g = gradients_used(run, k + 1)[k, :dim]
    lr = float(run.learning_rates[k])
    mom = second = eff = mstep = None
    mom_name = ""
    if isinstance(opt, (Newton, LBFGS)):
        if isinstance(opt, LBFGS) and run.evaluations is not None:
            extra["evaluations"] = int(run.evaluations[k])
        return OptimizerState(k, pos, g, lr, None, "", None, None, None, None, taken, extra)
    a = r.after[k, :, :dim]
    b = r.before[k, :, :dim]
    k0, k1, k2, k3 = r.coefs[k]
    h = r.h
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if isinstance(opt, SGD):
            if opt.momentum != 0.0:
                mom, mom_name = a[0], "momentum buffer"
                carried = a[0] if opt.nesterov else b[0]
                mstep = -lr * (opt.momentum * carried) if k > 0 or opt.nesterov else 0.0 * g
        elif isinstance(opt, Adagrad):
            second = a[0]
            eff = k0 / (np.sqrt(a[0]) + h[3])
        elif isinstance(opt, RMSprop):
            second = a[0]
            v = a[0] - a[1] * a[1] if opt.centered else a[0]
            eff = lr / (np.sqrt(v) + h[1])
            if opt.momentum > 0.0:
                mom, mom_name = a[2], "momentum buffer (normalised steps)"
                mstep = -lr * a[2]
        elif isinstance(opt, (Adam, AdamW)):
            mom, mom_name = a[0], "first moment m"
            second = a[2] if opt.amsgrad else a[1]
            eff = lr / (np.sqrt(second) / k1 + h[2])
            mstep = -k0 * a[0]  # lr / (1 - beta1^t) * m
        elif isinstance(opt, NAdam):
            mom, mom_name = a[0], "first moment m"
            second = a[1]
            eff = lr / (np.sqrt(a[1] / k0) + h[2])
            mstep = -k2 * a[0]
        elif isinstance(opt, RAdam):
            mom, mom_name = a[0], "first moment m"
            second = a[1]
            eff = (lr * (k1 / (np.sqrt(a[1]) + h[2])) * k2 if k3 != 0.0
                   else np.full(dim, lr))
            mstep = -lr * (a[0] / k0)
        elif isinstance(opt, Adamax):
            mom, mom_name = a[0], "first moment m"
            second = a[1]
            eff = lr / a[1]
            mstep = -k0 * a[0]
        elif isinstance(opt, Adadelta):
            second = a[0]
            eff = lr * np.sqrt(b[1] + h[1]) / np.sqrt(a[0] + h[1])
            extra["accumulated_update"] = a[1].copy()
        elif isinstance(opt, Lion):
            mom, mom_name = a[0], "momentum m"
            mstep = -lr * np.sign(b[0])
        elif isinstance(opt, Rprop):
            eff = a[1].copy()
        elif isinstance(opt, ASGD):
            extra["average"] = a[0].copy()
            extra["eta"] = float(k0)
        step_eff = None
        if eff is not None:
            step_eff = eff.copy() if isinstance(opt, Rprop) else np.abs(eff * g)
    return OptimizerState(
        k, pos, g, lr, None if mom is None else mom.copy(), mom_name,
        None if mstep is None else np.asarray(mstep, dtype=float).copy(),
        None if second is None else second.copy(), None if eff is None else eff.copy(),
        step_eff, taken, extra,
    )
