"""Run optimizers on surfaces: ``simulate`` (one recorded run) and ``simulate_batch``.

Both call the numba kernels in ``kernels.loops``; this module validates input, lays out
arrays, and classifies each run with one set of rules (``classify``):

``diverged``
    a value became non-finite (the arrays end at the last finite step), or the loss grew
    more than 1000-fold above its lowest value relative to the initial gap
    (``L_end - L_min > 1000 * max(L_0 - L_min, 1e-3 * (1 + |L_0|))``), or the point left
    the domain by more than five domain diagonals.
``converged``
    the gradient norm at the end is at most ``GTOL`` (1e-6) and the Hessian there has no
    negative curvature (smallest eigenvalue >= -``HTOL``) and is not flat away from the
    known minimum value.
``stalled``
    the gradient vanished at a saddle (negative curvature) or on a flat region, or the
    loss stopped decreasing over the last window while the gradient is not small.
``oscillating``
    over the last window (a quarter of the run, 2 to 100 updates) at least 80 % of
    successive moves reverse direction and the loss is not going down.
``converging``
    none of the above and the loss is still going down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .network import Network
from .optimizers import Optimizer
from .schedules import ConstantSchedule, Schedule
from .summary import (
    TABLE_COLUMNS_1D,
    TABLE_COLUMNS_2D,
    TABLE_COLUMNS_NETWORK,
    batch_html,
    batch_repr,
    trajectory_html,
    trajectory_repr,
)
from .surface import Surface, check_compiled, check_point

STATUSES = ("converged", "converging", "oscillating", "diverged", "stalled")
CONVERGED, CONVERGING, OSCILLATING, DIVERGED, STALLED = range(5)

GTOL = 1e-6
HTOL = 1e-8
MAX_STEPS = 5_000_000
MAX_BATCH = 4_194_304  # 2048 x 2048 starts
MAX_BATCH_STEPS = 1_000_000


def _exact_one_from(b: float) -> float:
    """The first step t from which 1 - b**t == 1.0 exactly in float64 (b**t < 2**-54)."""
    if b <= 0.0:
        return 1.0
    if b >= 1.0:
        return math.inf
    t = math.floor(54.0 * math.log(2.0) / -math.log(b)) + 2.0
    while t > 1.0 and 1.0 - b ** (t - 1.0) == 1.0:  # tighten, never loosen
        t -= 1.0
    return t


def kernel_hp(optimizer: Optimizer) -> np.ndarray:
    """The optimizer's hyperparameters padded to the kernels' layout (see kernels.optim)."""
    from .kernels.optim import HP_CUT1, HP_CUT2, HP_SIZE

    hp = np.zeros(HP_SIZE)
    h = optimizer.hp()
    hp[: len(h)] = h
    betas = getattr(optimizer, "betas", None)
    if betas is not None:
        hp[HP_CUT1] = _exact_one_from(betas[0])
        hp[HP_CUT2] = _exact_one_from(betas[1])
    if getattr(optimizer, "bias_correction", True) is False:
        # Adam without bias correction: each 1 - beta**t is taken as 1 from step 1 on
        hp[HP_CUT1] = hp[HP_CUT2] = 1.0
    return hp


def _window(steps: int) -> int:
    return max(1, min(100, max(2, steps // 4), steps))


# ---- validation -----------------------------------------------------------------------
def _check_int(name: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be between {lo:,} and {hi:,}, got {v:,}")
    return int(v)


def _check_noise_clip(noise, clip) -> None:
    """The gradient noise and the clipping norm of ``simulate``, on a surface or a network."""
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (
        math.isfinite(noise) and noise >= 0
    ):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if clip is not None and (
        isinstance(clip, bool) or not isinstance(clip, (int, float))
        or not (math.isfinite(clip) and clip > 0)
    ):
        raise ValueError(f"clip_grad_norm must be None or a number > 0, got {clip!r}")


def _check_schedule(schedule, optimizer, steps):
    """The schedule (None: constant) and its learning rates for ``steps`` updates."""
    schedule = ConstantSchedule() if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule must be a schedule such as sim.StepLR(...), got {schedule!r}")
    lrs = schedule.learning_rates(optimizer.lr, steps)
    if steps and not (np.all(np.isfinite(lrs)) and lrs.min() >= 0):
        raise ValueError(f"{schedule.name} produced an invalid learning rate")
    return schedule, lrs


def _check_inputs(surface, optimizer, steps, schedule, noise, seed, clip, batch_size,
                  max_steps):
    if not isinstance(surface, Surface):
        raise TypeError(f"surface must be a Surface, got {type(surface).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an optimizer such as sim.Adam(), got {optimizer!r}")
    steps = _check_int("steps", steps, 0, max_steps)
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    _check_noise_clip(noise, clip)
    if batch_size is not None:
        if surface.kind != "data":
            raise ValueError(
                "batch_size applies to data surfaces (linear-regression, logistic-regression);"
                " use noise= for other surfaces"
            )
        batch_size = _check_int("batch_size", batch_size, 1, 10**9)
    if not optimizer.batch_kernel and (noise or clip is not None or batch_size is not None):
        raise ValueError(
            f"{optimizer.name} evaluates the exact full-batch loss in its line search and"
            " iterations: gradient noise, clipping and minibatches do not apply (set them"
            " off for this lane)"
        )
    schedule, lrs = _check_schedule(schedule, optimizer, steps)
    return steps, seed, float(noise), float(clip or 0.0), int(batch_size or 0), schedule, lrs


# ---- classification -----------------------------------------------------------------------
def classify(f0, f_end, f_min, f_win, flips, window, bad, gnorm, eig_min, eig_maxabs,
             dist, scale, min_value=None) -> np.ndarray:
    """Status codes (indices into ``STATUSES``) for arrays of run summaries.

    See the module docstring for the rules. All arguments broadcast; ``bad`` is True where
    a value became non-finite, ``dist`` is the final distance from the domain's centre,
    ``scale`` the domain diagonal and ``min_value`` the surface's known minimum value.
    """
    f0, f_end, f_min, f_win, flips, gnorm, eig_min, eig_maxabs, dist = (
        np.asarray(a, dtype=np.float64)
        for a in (f0, f_end, f_min, f_win, flips, gnorm, eig_min, eig_maxabs, dist)
    )
    bad = np.asarray(bad, dtype=bool)
    out = np.full(np.broadcast(f0, f_end, bad).shape, CONVERGING, dtype=np.int8)
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.maximum(f0 - f_min, 1e-3 * (1.0 + np.abs(f0)))
        blown = (f_end - f_min) > 1e3 * gap
        far = dist > 5.0 * scale
        diverged = bad | blown | far | ~np.isfinite(f_end)
        small_g = gnorm <= GTOL
        saddle = eig_min < -HTOL
        flat = eig_maxabs <= HTOL
        if min_value is not None:
            flat = flat & (f_end - min_value > 1e-6 * (1.0 + abs(min_value)))
        w = np.maximum(np.asarray(window, dtype=np.float64), 1.0)
        drop = f_win - f_end
        still_down = drop > 1e-12 * (1.0 + np.abs(f_win))
        reversing = (flips >= np.maximum(1.0, 0.8 * (w - 1.0))) & ~still_down
    out[small_g & ~(saddle | flat)] = CONVERGED
    out[small_g & (saddle | flat)] = STALLED
    out[~small_g & reversing] = OSCILLATING
    out[~small_g & ~reversing & ~still_down] = STALLED
    out[diverged] = DIVERGED
    return out


def _eig_summary(h: np.ndarray, dim: int):
    """(smallest eigenvalue, largest |eigenvalue|) of 2x2 (or 1x1) Hessians (..., 3)."""
    hxx, hxy, hyy = h[..., 0], h[..., 1], h[..., 2]
    if dim == 1:
        return hxx, np.abs(hxx)
    with np.errstate(invalid="ignore", over="ignore"):
        mid = 0.5 * (hxx + hyy)
        rad = np.sqrt(0.25 * (hxx - hyy) ** 2 + hxy**2)
        lo, hi = mid - rad, mid + rad
    return lo, np.maximum(np.abs(lo), np.abs(hi))


# ---- results ---------------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class Trajectory:
    """One recorded run, as ``simulate`` returns it.

    The engine builds it; the constructor is public so that a run can be rebuilt from
    saved arrays. Arrays have n+1 rows for n = ``n_steps`` updates (fewer than ``steps``
    when the run diverged early); a 1-D surface has dim = 1.

    Parameters
    ----------
    surface : Surface
        The surface the run went down.
    optimizer : Optimizer
        The optimizer, with its hyperparameters.
    schedule : Schedule
        The learning-rate schedule (``ConstantSchedule()`` when none was given).
    start : tuple of float
        The start point, ``dim`` coordinates.
    steps : int
        Updates asked for.
    noise : float
        Standard deviation of the Gaussian noise added to each gradient coordinate.
    seed : int
        Seed of the noise and of the minibatch order.
    clip_grad_norm : float or None
        Max norm of the gradient clipping, or None for none.
    batch_size : int or None
        Minibatch size on a data surface, or None for the full batch.
    positions : ndarray (n+1, dim)
        The start and the point after every update.
    losses : ndarray (n+1,)
        The (full-batch, noise-free) loss at each position.
    gradients : ndarray (n+1, dim)
        The true gradient at each position (before noise, minibatching and clipping).
    learning_rates : ndarray (n,)
        The learning rate of each update, after the schedule.
    status : str
        One of ``STATUSES`` (rules in ``simulator.core.engine``).
    status_step : int or None
        Where the status set in: the first step from which the run stayed converged, the
        onset of the final oscillation, or the last finite step of a diverged run.
    status_reason : str
        A sentence saying why, for the app and for students.
    meta : dict
        Free-form annotations carried along with the run (empty by default).
    test_losses : ndarray (n+1,) or None
        On a ``Network``: the test-set loss at each position (None on a surface).
    evaluations : ndarray (n,) of int, optional
        Loss-and-gradient evaluations each update made: 1, except for ``LBFGS``, whose
        step is torch's ``step(closure)`` with its iterations and line search. None
        (a run rebuilt without them) reads as ones.
    record_steps : ndarray (r,) of int64 or None
        None: ``losses``, ``gradients`` and ``test_losses`` have a row for every
        position. Else (a network run with ``record_every`` > 1) the steps they were
        recorded at, increasing, from 0, always ending with the last step ``n``: they
        then have r rows, row j at step ``record_steps[j]`` (``recorded_steps`` gives
        the steps in both cases).

    See Also
    --------
    simulate : makes one.
    """

    surface: Surface
    optimizer: Optimizer
    schedule: Schedule
    start: tuple[float, ...]
    steps: int
    noise: float
    seed: int
    clip_grad_norm: float | None
    batch_size: int | None
    positions: np.ndarray
    losses: np.ndarray
    gradients: np.ndarray
    learning_rates: np.ndarray
    status: str = "converging"
    status_step: int | None = None
    status_reason: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    test_losses: np.ndarray | None = None
    evaluations: np.ndarray | None = None
    record_steps: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """Updates actually made (fewer than ``steps`` when the run diverged early)."""
        return len(self.positions) - 1

    @property
    def recorded_steps(self) -> np.ndarray:
        """The step of each row of ``losses``, ``gradients`` and ``test_losses``
        (int64): ``record_steps``, or every step ``0..n_steps`` when it is None."""
        if self.record_steps is None:
            return np.arange(len(self.losses), dtype=np.int64)
        return np.asarray(self.record_steps, dtype=np.int64)

    def per_step(self, values) -> np.ndarray:
        """``values`` (one per row of ``losses``: e.g. ``losses``, ``test_losses``,
        ``grad_norms``) spread over every step ``0..n_steps`` as float64, NaN at the
        steps between records (none when ``record_steps`` is None: a copy)."""
        v = np.asarray(values, dtype=np.float64)
        if self.record_steps is None:
            return v.copy()
        out = np.full((self.n_steps + 1,) + v.shape[1:], np.nan)
        out[self.recorded_steps] = v
        return out

    @property
    def grad_norms(self) -> np.ndarray:
        """The norm of each row of ``gradients`` (one per recorded step)."""
        return np.sqrt(np.sum(self.gradients**2, axis=1))

    @property
    def final_position(self) -> np.ndarray:
        return self.positions[-1]

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @cached_property
    def saddle_episodes(self) -> list:
        """Stretches where the run lingered near a saddle (see ``episodes``); none are
        looked for on a network."""
        if isinstance(self.surface, Network):
            return []
        from .episodes import saddle_episodes

        return saddle_episodes(self.surface, self.positions)

    def table(self) -> np.ndarray:
        """Every step as a row of named columns: the CSV export's, without ``lane``.

        Returns
        -------
        ndarray, shape (n_steps + 1,), structured
            Fields ``optimizer`` (str: the call that makes it, ``"SGD(lr=0.1)"``),
            ``step`` (int64), ``x``, ``y`` (``w`` on a 1-D surface), ``loss``,
            ``grad_norm``, ``lr`` (float64), ``evaluations`` (int64) and ``status`` (str:
            the run's status, the same on every row). ``lr`` is the learning rate of the
            update taken from that row's position; on the last row, the rate the schedule
            would apply there (see :meth:`next_lr`). ``evaluations`` counts the
            loss-and-gradient evaluations of that same update (1, except for ``LBFGS``:
            :attr:`evaluations`); the last row, from which no update was made, has 0.
            ``table()["loss"]`` is a column; ``table()[k]`` a row. A network run with
            ``record_every`` > 1 has a row per recorded step only (``step`` is
            :attr:`record_steps`): its losses between records were never computed.

        Examples
        --------
        >>> import simulator as sim
        >>> curve = sim.get_surface("parabola", c=3)
        >>> rows = sim.simulate(curve, sim.SGD(lr=0.1), start=[7.0], steps=2).table()
        >>> rows.dtype.names
        ('optimizer', 'step', 'w', 'loss', 'grad_norm', 'lr', 'evaluations', 'status')
        >>> print(rows["w"].round(4), rows["lr"], rows["status"][0])
        [7.   6.2  5.56] [0.1 0.1 0.1] converging
        """
        n = len(self.positions)
        dim = self.positions.shape[1]
        if isinstance(self.surface, Network):
            return self._network_table()
        names = TABLE_COLUMNS_1D if dim == 1 else TABLE_COLUMNS_2D
        opt = repr(self.optimizer)
        text = {"optimizer": f"U{max(1, len(opt))}", "status": f"U{max(1, len(self.status))}"}
        out = np.empty(
            n, dtype=[(c, text.get(c, np.int64 if c == "step" else np.float64)) for c in names]
        )
        out["optimizer"] = opt
        out["status"] = self.status
        out["step"] = np.arange(n)
        for i, c in enumerate(names[2 : 2 + dim]):
            out[c] = self.positions[:, i]
        out["loss"] = self.losses
        out["grad_norm"] = self.grad_norms
        out["lr"][: n - 1] = self.learning_rates[: n - 1]
        out["lr"][n - 1] = self.next_lr
        out["evaluations"] = self.evaluation_counts()
        return out

    def evaluation_counts(self) -> np.ndarray:
        """Loss-and-gradient evaluations of the update from each position (n_steps + 1).

        Returns
        -------
        ndarray (n_steps + 1,) of int64
            :attr:`evaluations` (ones when it is None), then 0 for the last position,
            from which no update was made: the ``evaluations`` column of :meth:`table`
            and of the CSV export.
        """
        n = len(self.positions)
        out = np.zeros(n, dtype=np.int64)
        ev = self.evaluations
        out[: n - 1] = 1 if ev is None else np.asarray(ev, dtype=np.int64)[: n - 1]
        return out

    def _network_table(self) -> np.ndarray:
        """A row per recorded step (every step unless ``record_steps`` says otherwise)."""
        names = TABLE_COLUMNS_NETWORK
        opt = repr(self.optimizer)
        text = {"optimizer": f"U{max(1, len(opt))}", "status": f"U{max(1, len(self.status))}"}
        steps = self.recorded_steps
        n = len(steps)
        out = np.empty(
            n, dtype=[(c, text.get(c, np.int64 if c == "step" else np.float64)) for c in names]
        )
        out["optimizer"] = opt
        out["status"] = self.status
        out["step"] = steps
        out["loss"] = self.losses
        out["test_loss"] = self.test_losses
        out["grad_norm"] = self.grad_norms
        # the rate of the update from each recorded position; the last row: next_lr
        last = steps[-1] == self.n_steps
        body = steps[:-1] if last else steps
        out["lr"][: len(body)] = np.asarray(self.learning_rates)[body]
        if last:
            out["lr"][n - 1] = self.next_lr
        return out

    @property
    def next_lr(self) -> float:
        """The learning rate the schedule would apply to an update from the last position.

        For a run cut short (diverged at step k) this is the rate update k would have
        had; for a finished run, the rate after ``steps`` scheduler steps (what
        ``optimizer.param_groups[0]["lr"]`` holds in PyTorch at the end).
        """
        n = len(self.positions) - 1
        if getattr(self.schedule, "needs_losses", False):  # stepped with every loss
            return float(self.schedule.rates_for_losses(self.optimizer.lr, self.losses)[n])
        k = np.arange(n + 1, dtype=np.float64)
        try:
            rates = self.schedule._lr(float(self.optimizer.lr), k, max(int(self.steps), 1))
            return float(np.asarray(rates, dtype=np.float64)[n])
        except (ValueError, IndexError):  # a schedule with no rate past its end
            return math.nan

    def __repr__(self) -> str:
        return trajectory_repr(self)

    def _repr_html_(self) -> str:
        return trajectory_html(self)


@dataclass(eq=False, repr=False)
class BatchResult:
    """Summaries of many runs, as ``simulate_batch`` returns them.

    No per-step arrays are kept, so memory does not grow with ``steps``. Row i of each
    array belongs to start i; dim is the surface's dimension.

    Parameters
    ----------
    surface : Surface
        The surface the runs went down.
    optimizer : Optimizer
        The optimizer, with its hyperparameters.
    starts : ndarray (n, dim)
        The start points.
    steps : int
        Updates asked for per run.
    final_positions : ndarray (n, dim)
        Where each run ended (its last finite point if it diverged).
    final_losses : ndarray (n,)
        The loss at each final position.
    final_gradients : ndarray (n, dim)
        The true gradient at each final position.
    initial_losses : ndarray (n,)
        The loss at each start.
    min_losses : ndarray (n,)
        The lowest loss each run reached.
    status_codes : ndarray (n,) int
        Each run's status, an index into ``STATUSES`` (same rules as ``simulate``);
        ``status`` gives the names.

    See Also
    --------
    simulate_batch : makes one.
    """

    surface: Surface
    optimizer: Optimizer
    starts: np.ndarray
    steps: int
    final_positions: np.ndarray
    final_losses: np.ndarray
    final_gradients: np.ndarray
    initial_losses: np.ndarray
    min_losses: np.ndarray
    status_codes: np.ndarray

    @property
    def status(self) -> np.ndarray:
        """Status names, one per start."""
        return np.asarray(STATUSES, dtype=object)[self.status_codes]

    def __repr__(self) -> str:
        return batch_repr(self)

    def _repr_html_(self) -> str:
        return batch_html(self)


# ---- the two entry points ---------------------------------------------------------------------
def simulate(
    surface: Surface,
    optimizer: Optimizer,
    start,
    steps: int = 1000,
    schedule: Schedule | None = None,
    noise: float = 0.0,
    seed: int = 0,
    clip_grad_norm: float | None = None,
    batch_size: int | None = None,
    stream: int = 0,
    record_every: int | None = None,
) -> Trajectory:
    """Run ``optimizer`` on ``surface`` from ``start`` for ``steps`` updates.

    Parameters
    ----------
    surface : Surface or Network
        A surface, or a network (``sim.network``): then the run trains its flat parameter
        vector with the same update rules, and also records the test loss.
    optimizer : Optimizer
        e.g. ``sim.Adam(lr=0.01)``; its ``lr`` is the base learning rate.
    start : sequence of float
        ``dim`` finite coordinates (a network: ``n_params`` values, e.g. ``net.init``).
    steps : int
        Number of updates, 0 to ``MAX_STEPS`` (a network: at most
        ``MAX_NETWORK_VALUES // n_params - 1``, so that the recorded run fits in memory).
    schedule : Schedule, optional
        Learning-rate schedule stepped once per update (default: constant).
    noise : float
        Standard deviation of additive Gaussian noise on each gradient coordinate
        (the minibatch noise level). Seeded: the same seed gives the same run bit for bit.
    seed : int
        Seed of the noise and of the minibatch order.
    clip_grad_norm : float, optional
        ``torch.nn.utils.clip_grad_norm_`` with this max_norm, applied after the noise.
    batch_size : int, optional
        Data surfaces and networks: the gradient of each update is the mean over a
        minibatch of this size, drawn from a fresh shuffle every epoch; on a data surface
        the last short batch is dropped, on a network it is kept (torch's
        ``DataLoader(shuffle=True, drop_last=False)``). None: full batch. The recorded
        losses and gradients are always the full-batch ones.
    stream : int
        Noise stream; particle i of ``simulate_batch`` uses stream i.
    record_every : int, optional
        Networks only: record the full-batch training loss, gradient and test loss at
        steps 0, k, 2k, ... and at the last step only (k >= 1; None or 1: at every
        step). The positions are still recorded at every step, and are the same bits
        whatever k is; the steps between records make only the minibatch's forward and
        backward passes (batches of 32 of 256 points recorded once an epoch: about 5
        times faster than recorded at every step, though still about 1.8 times a
        full-batch run's time per sample, as its records alone match it). The
        trajectory's ``record_steps`` then lists the recorded steps, and ``losses``,
        ``gradients``, ``test_losses`` have a row for each. A minibatch, gradient or
        update that is not finite between records stops the run, which then ends at
        the first step after the last record whose full-batch loss is not finite, if
        any. The status is classified from the recorded losses and gradients, so it
        can differ from an every-step record's (e.g. a lower loss between records goes
        unseen). Not with ``ReduceLROnPlateau``, which watches the loss at every step.
        On a surface only None or 1 (a surface's run records every step).

    Returns
    -------
    Trajectory
        On a network also ``test_losses``; its ``gradients`` are the full-batch
        training gradients.

    Examples
    --------
    >>> import simulator as sim
    >>> net = sim.network("moons", hidden=(8,), n_train=64, n_test=64, seed=0)
    >>> run = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=200,
    ...                    batch_size=16, seed=0)
    >>> run.positions.shape, run.test_losses.shape
    ((201, 33), (201,))
    >>> bool(run.losses[-1] < run.losses[0])
    True
    """
    if isinstance(surface, Network):
        return _simulate_network(surface, optimizer, start, steps, schedule, noise, seed,
                                 clip_grad_norm, batch_size, stream, record_every)
    if _check_record_every(record_every) != 1:
        raise ValueError("record_every applies to networks: a run on a surface records "
                         "every step (leave it None)")
    steps, seed, noise, clip, batch, schedule, lrs = _check_inputs(
        surface, optimizer, steps, schedule, noise, seed, clip_grad_norm, batch_size, MAX_STEPS
    )
    p0 = check_point(surface, start)
    k, reason, pos, loss, grad, evals = _run_arrays(
        surface, optimizer, schedule, lrs, p0, steps, noise, seed, int(stream), clip, batch)
    d = surface.dim
    if k == 0:
        raise ValueError(
            f"the surface {surface.name!r} is undefined at the start {tuple(p0.tolist())}"
        )
    traj = Trajectory(
        surface=surface, optimizer=optimizer, schedule=schedule,
        start=tuple(float(v) for v in p0), steps=steps, noise=noise, seed=seed,
        clip_grad_norm=clip_grad_norm, batch_size=batch_size,
        positions=pos[:k, :d], losses=loss[:k], gradients=grad[:k, :d],
        learning_rates=lrs[: k - 1], evaluations=evals[: k - 1],
    )
    if stream:
        traj.meta["stream"] = int(stream)  # the noise stream (optimizer_state replays it)
    # a diverged run's last gradient may be ~1e200: its norm is inf (which classifies
    # it correctly), without numpy's overflow warning on stderr for every slider tick
    with np.errstate(over="ignore", invalid="ignore"):
        _classify_trajectory(traj, k, steps, int(reason))
    return traj


def _plateau_params(schedule) -> np.ndarray | None:
    """A ReduceLROnPlateau's settings as the kernels take them (``kernels.loops.PL_*``),
    None for a schedule that does not watch the loss."""
    if not getattr(schedule, "needs_losses", False):
        return None
    from .kernels import loops as L

    p = np.zeros(L.PL_N)
    p[L.PL_ON] = 1.0
    p[L.PL_MIN] = 1.0 if schedule.mode == "min" else 0.0
    p[L.PL_REL] = 1.0 if schedule.threshold_mode == "rel" else 0.0
    p[L.PL_THR] = float(schedule.threshold)
    # counts: exact in a float64 up to 2**53, far beyond any run (more is the same run)
    p[L.PL_PATIENCE] = float(min(int(schedule.patience), 2**53))
    p[L.PL_COOLDOWN] = float(min(int(schedule.cooldown), 2**53))
    p[L.PL_FACTOR] = float(schedule.factor)
    p[L.PL_MINLR] = float(schedule.min_lr)
    p[L.PL_EPS] = float(schedule.eps)
    return p


def _run_arrays(surface, optimizer, schedule, lrs, p0, steps, noise, seed, stream, clip,
                batch):
    """One run in the kernels: ``(k, reason, positions, losses, gradients)`` as
    ``kernels.loops.run_trajectory`` fills them; ``lrs`` is updated in place to the rates
    used. A schedule that watches the loss (``ReduceLROnPlateau``) is stepped inside the
    kernel with the loss before each update (``_plateau_params``), in the same run."""
    from .kernels.loops import run_trajectory

    pos = np.empty((steps + 1, 2))
    loss = np.empty(steps + 1)
    grad = np.empty((steps + 1, 2))
    x0 = float(p0[0])
    y0 = float(p0[1]) if surface.dim == 2 else 0.0
    hp = kernel_hp(optimizer)
    evals = np.ones(max(steps, 1), dtype=np.int64)  # L-BFGS writes its own counts
    plat = _plateau_params(schedule)
    if plat is not None and steps:
        lrs[0] = optimizer.lr  # the rate before the first cut (the kernel writes the rest)
    if surface.impl is not None:  # a Python function (core.functions): its own loop
        run_trajectory = surface.impl.run_trajectory
    k, reason = run_trajectory(
        surface.spec, optimizer.oid, hp, lrs, x0, y0, steps, noise, seed, stream, clip,
        batch, surface.nreg, pos, loss, grad, evals, plat,
    )
    return k, reason, pos, loss, grad, evals


def _classify_trajectory(traj: Trajectory, k: int, steps: int, reason: int) -> None:
    s = traj.surface
    n = k - 1
    losses = traj.losses
    f0, f_end = losses[0], losses[-1]
    w = _window(n) if n > 0 else 1
    f_win = losses[max(0, n - w)]
    P = traj.positions
    moves = np.diff(P[max(0, len(P) - w - 1):], axis=0)
    flips = int(np.sum(np.sum(moves[1:] * moves[:-1], axis=1) < 0)) if len(moves) > 1 else 0
    h = s.hessian(P[-1])
    hv = np.array([h[0, 0], h[0, 1] if s.dim == 2 else 0.0, h[-1, -1]])
    eig_min, eig_maxabs = _eig_summary(hv, s.dim)
    dist = float(np.linalg.norm(P[-1] - np.asarray(s.center)))
    code = int(
        classify(f0, f_end, losses.min(), f_win, flips, w, reason != 0,
                 np.linalg.norm(traj.gradients[-1]), eig_min, eig_maxabs, dist, s.scale,
                 s.min_value)
    )
    traj.status = STATUSES[code]
    pt = ", ".join(f"{v:.4g}" for v in P[-1])
    if code == DIVERGED:
        traj.status_step = n if reason else _divergence_onset(traj)
        if reason == 1:
            traj.status_reason = (
                f"the loss or gradient is not finite at step {k} "
                f"(undefined or overflowing beyond ({pt})); the run stops at step {n}"
            )
        elif reason == 2:
            traj.status_reason = f"the update at step {k} overflowed; the run stops at step {n}"
        elif f_end < f0:
            traj.status_reason = (
                f"the run left the domain (now at ({pt})) while the loss kept falling, to "
                f"{f_end:.4g}: the surface has no minimum in that direction"
            )
        elif dist > 5.0 * s.scale and f_end - losses.min() <= 1e3 * max(
            f0 - losses.min(), 1e-3 * (1.0 + abs(f0))
        ):
            traj.status_reason = f"the run left the domain: now at ({pt})"
        else:
            traj.status_reason = (
                f"the loss grew from {f0:.4g} to {f_end:.4g}: each step overshoots by more "
                "than it corrects"
            )
    elif code == CONVERGED:
        above = _last_above(traj.gradients, GTOL)
        traj.status_step = 0 if above is None else above + 1
        traj.status_reason = f"the gradient vanished at a minimum ({pt})"
    elif code == OSCILLATING:
        rev = np.sum(np.diff(P, axis=0)[1:] * np.diff(P, axis=0)[:-1], axis=1) < 0
        nonrev = np.nonzero(~rev)[0]
        traj.status_step = int(nonrev[-1] + 2) if len(nonrev) else 1
        traj.status_reason = "each step jumps across the valley and the loss stops falling"
    elif code == STALLED:
        if np.linalg.norm(traj.gradients[-1]) <= GTOL and eig_min < -HTOL:
            traj.status_reason = f"stuck at a saddle point near ({pt}): zero gradient, but " \
                "the surface curves down in some direction"
        elif np.linalg.norm(traj.gradients[-1]) <= GTOL:
            traj.status_reason = f"stuck on a flat region near ({pt}): the gradient vanished"
        else:
            traj.status_reason = "the loss stopped going down"
    else:
        traj.status_reason = "the loss is still going down"


def _last_above(gradients: np.ndarray, tol: float, chunk: int = 65536) -> int | None:
    """The last step whose gradient norm is above ``tol`` (None if none), computed as
    ``Trajectory.grad_norms`` does but a chunk at a time from the end: a converged run
    crosses ``tol`` near its end, and the norms of a 10^6-step run at once cost 24 MB of
    temporaries at the peak of ``simulate``."""
    for hi in range(len(gradients), 0, -chunk):
        lo = max(0, hi - chunk)
        above = np.nonzero(np.sqrt(np.sum(gradients[lo:hi] ** 2, axis=1)) > tol)[0]
        if len(above):
            return lo + int(above[-1])
    return None


def _divergence_onset(traj: Trajectory) -> int:
    """The first step at which the divergence rule held (see ``classify``)."""
    L = traj.losses
    s = traj.surface
    low = np.minimum.accumulate(L)
    with np.errstate(invalid="ignore", over="ignore"):
        gap = np.maximum(L[0] - low, 1e-3 * (1.0 + abs(L[0])))
        far = (False if isinstance(s, Network) else
               np.linalg.norm(traj.positions - np.asarray(s.center), axis=1) > 5.0 * s.scale)
        hit = np.nonzero(((L - low) > 1e3 * gap) | far)[0]
    return int(traj.recorded_steps[hit[0]]) if len(hit) else traj.n_steps


# ---- networks --------------------------------------------------------------------------------
MAX_NETWORK_VALUES = 20_000_000  # (steps + 1) * n_params kept per run: 160 MB per array


def _check_record_every(record_every) -> int:
    """``simulate``'s ``record_every`` as an int >= 1 (None: 1)."""
    if record_every is None:
        return 1
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)):
        raise TypeError(f"record_every must be an integer >= 1 or None, got {record_every!r}")
    if record_every < 1:
        raise ValueError(f"record_every must be at least 1, got {record_every}")
    return int(record_every)


def _check_network_inputs(net, optimizer, start, steps, schedule, noise, seed, clip,
                          batch_size):
    from .kernels import optim

    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an optimizer such as sim.Adam(), got {optimizer!r}")
    # Newton and L-BFGS have their own loops on a surface (a Hessian, a line search)
    own_loop = {optim.O_NEWTON, optim.O_LBFGS}
    if optimizer.oid in own_loop or optimizer.oid not in optim.PIECES:
        raise ValueError(f"{optimizer.name} is not available on a network (it needs the "
                         "full Hessian or a line search); use a first-order optimizer")
    w0 = net.check_weights(start, "start")
    cap = max(1, MAX_NETWORK_VALUES // net.n_params - 1)
    steps = _check_int("steps", steps, 0, min(MAX_STEPS, cap))
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    _check_noise_clip(noise, clip)
    if batch_size is not None:
        batch_size = _check_int("batch_size", batch_size, 1, 10**9)
    schedule, lrs = _check_schedule(schedule, optimizer, steps)
    return w0, steps, seed, float(noise), float(clip or 0.0), int(batch_size or 0), schedule, lrs


def _simulate_network(net, optimizer, start, steps, schedule, noise, seed, clip_grad_norm,
                      batch_size, stream, record_every=None) -> Trajectory:
    """``simulate`` on a ``Network``: see ``simulate``."""
    from .kernels.mlp import record_rows, run_network

    rec = _check_record_every(record_every)
    w0, steps, seed, noise, clip, batch, schedule, lrs = _check_network_inputs(
        net, optimizer, start, steps, schedule, noise, seed, clip_grad_norm, batch_size)
    # a schedule that watches the loss (ReduceLROnPlateau): as in ``_run_arrays``, run
    # with the rates known so far and again from each cut
    watch = getattr(schedule, "needs_losses", False)
    if watch and rec > 1:
        raise ValueError(f"{schedule.name} steps with the full-batch loss before every "
                         "update, which record_every > 1 does not compute between records:"
                         " use record_every=None with it")
    n = net.n_params
    rows = record_rows(steps, rec)
    pos = np.empty((steps + 1, n))
    loss = np.empty(rows)
    tloss = np.empty(rows)
    grad = np.empty((rows, n))
    rsteps = np.empty(rows, dtype=np.int64)
    a = net._arrays
    hp = kernel_hp(optimizer)
    state = schedule.start(optimizer.lr) if watch else None
    seen = 0
    while True:
        k, reason, r = run_network(
            a["sizes"], net.act_id, optimizer.oid, hp, lrs, w0, a["X"], a["y"], a["Xt"],
            a["yt"], steps, batch, noise, seed, int(stream), clip, rec, pos, loss, tloss,
            grad, rsteps,
        )
        if not watch:
            break
        cut = False
        while seen < min(k, steps):
            new = schedule.observe(state, float(loss[seen]))
            seen += 1
            if seen < steps and new != lrs[seen]:
                lrs[seen:] = new
                cut = True
                break
        if not cut:
            break
    if k == 0:
        raise ValueError("the loss or its gradient is not finite at the start")
    traj = Trajectory(
        surface=net, optimizer=optimizer, schedule=schedule,
        start=tuple(float(v) for v in w0), steps=steps, noise=noise, seed=seed,
        clip_grad_norm=clip_grad_norm, batch_size=batch_size,
        positions=pos[:k], losses=loss[:r], gradients=grad[:r],
        learning_rates=lrs[: k - 1], test_losses=tloss[:r],
        record_steps=None if rec == 1 else rsteps[:r].copy(),
    )
    with np.errstate(over="ignore", invalid="ignore"):
        _classify_network_run(traj, k, int(reason))
    return traj


def _classify_network_run(traj: Trajectory, k: int, reason: int) -> None:
    """The status of a run on a network: ``classify``'s rules without the Hessian and
    domain tests (no saddle or flat-region verdict; a vanished gradient is converged)."""
    n = k - 1
    L = traj.losses
    S = traj.recorded_steps  # the step of each row of L (every step unless record_every)
    w = _window(n) if n > 0 else 1
    P = traj.positions
    moves = np.diff(P[max(0, len(P) - w - 1):], axis=0)
    flips = int(np.sum(np.sum(moves[1:] * moves[:-1], axis=1) < 0)) if len(moves) > 1 else 0
    gnorm = float(np.linalg.norm(traj.gradients[-1]))
    # the loss at the window's start: the last one recorded at or before step n - w
    win = int(np.searchsorted(S, max(0, n - w), side="right")) - 1
    code = int(classify(L[0], L[-1], L.min(), L[max(0, win)], flips, w, reason != 0, gnorm,
                        0.0, math.inf, 0.0, 1.0))
    traj.status = STATUSES[code]
    if code == DIVERGED:
        traj.status_step = n if reason else _divergence_onset(traj)
        traj.status_reason = (
            f"the {'loss' if reason == 1 else 'update'} overflowed at step {k}; the run stops "
            f"at step {n}" if reason else
            f"the loss grew from {L[0]:.4g} to {L[-1]:.4g}: the learning rate is too large "
            "for the curvature"
        )
    elif code == CONVERGED:
        above = _last_above(traj.gradients, GTOL)
        traj.status_step = 0 if above is None else above + 1
        traj.status_step = int(S[traj.status_step])  # a row: its step
        traj.status_reason = f"the gradient vanished (training loss {L[-1]:.4g})"
    elif code == OSCILLATING:
        traj.status_reason = "the steps keep reversing and the loss stopped falling"
    elif code == STALLED:
        traj.status_reason = "the loss stopped going down"
    else:
        traj.status_reason = "the loss is still going down"


def _batch_by_runs(surface, optimizer, schedule, lrs, S2, steps, w, noise, seed, offset,
                   clip, batch, out) -> None:
    """``run_batch``'s summaries made from one recorded run per start, for runs the
    batch kernels cannot share a rate array for (a schedule that watches each run's
    loss): the same quantities in the same rows (see ``kernels.loops.run_batch``)."""
    from .kernels.loops import (
        B_BAD,
        B_F,
        B_F0,
        B_FLIPS,
        B_FMIN,
        B_FWIN,
        B_GX,
        B_GY,
        B_HXX,
        B_HXY,
        B_HYY,
        B_X,
        B_Y,
    )

    tail = steps - w
    for i in range(len(S2)):
        k, reason, pos, loss, grad, _ = _run_arrays(
            surface, optimizer, schedule, lrs.copy(), S2[i], steps, noise, seed, offset + i,
            clip, batch)
        k = max(k, 1)
        P = pos[:k]
        f = loss[:k]
        h = surface.hessian(P[-1, : surface.dim])
        out[B_X, i], out[B_Y, i] = P[-1, 0], P[-1, 1]
        out[B_F, i] = f[-1]
        out[B_GX, i], out[B_GY, i] = grad[k - 1, 0], grad[k - 1, 1]
        out[B_HXX, i] = h[0, 0]
        out[B_HXY, i] = h[0, 1] if surface.dim == 2 else 0.0
        out[B_HYY, i] = h[-1, -1] if surface.dim == 2 else 0.0
        out[B_F0, i] = f[0]
        out[B_FMIN, i] = f.min()
        out[B_FWIN, i] = f[min(max(tail, 0), k - 1)]
        moves = np.diff(P[max(tail, 0):], axis=0)
        out[B_FLIPS, i] = (float(np.sum(np.sum(moves[1:] * moves[:-1], axis=1) < 0.0))
                           if len(moves) > 1 else 0.0)
        out[B_BAD, i] = -1.0 if reason == 0 else float(k - 1)


def simulate_batch(
    surface: Surface,
    optimizer: Optimizer,
    starts,
    steps: int = 200,
    schedule: Schedule | None = None,
    noise: float = 0.0,
    seed: int = 0,
    clip_grad_norm: float | None = None,
    batch_size: int | None = None,
    stream_offset: int = 0,
) -> BatchResult:
    """Run ``optimizer`` from every row of ``starts`` (n, dim), in parallel.

    Start i uses noise stream ``stream_offset + i``, so
    ``simulate(..., start=starts[i], stream=stream_offset + i)`` reproduces run i exactly,
    and a large grid run in chunks (each with the offset of its first start) gives the
    same numbers as one call. Only summaries are kept, so memory is O(n) whatever
    ``steps`` is.

    Parameters
    ----------
    surface : Surface
    optimizer : Optimizer
        e.g. ``sim.Adam(lr=0.01)``; its ``lr`` is the base learning rate.
    starts : array_like (n, dim)
        One start per row, finite, at most ``MAX_BATCH`` rows; a 1-D surface also
        accepts a flat array of n starts.
    steps : int
        Number of updates per run, 0 to ``MAX_BATCH_STEPS``.
    schedule : Schedule, optional
        Learning-rate schedule stepped once per update (default: constant).
    noise : float
        Standard deviation of additive Gaussian noise on each gradient coordinate.
    seed : int
        Seed of the noise and of the minibatch order.
    clip_grad_norm : float, optional
        ``torch.nn.utils.clip_grad_norm_`` with this max_norm, applied after the noise.
    batch_size : int, optional
        Data surfaces only: minibatch size, as in ``simulate``. None: full batch.
    stream_offset : int
        Noise stream of the first start; start i uses ``stream_offset + i``.

    Returns
    -------
    BatchResult
        Final positions, losses, gradients and a status for every start.

    Raises
    ------
    ValueError
        When an argument is out of range or ``starts`` has the wrong shape or is not
        finite.
    """
    from .kernels.loops import B_NCOL, run_batch, run_runs

    steps, seed, noise, clip, batch, schedule, lrs = _check_inputs(
        surface, optimizer, steps, schedule, noise, seed, clip_grad_norm, batch_size,
        MAX_BATCH_STEPS,
    )
    check_compiled(surface, "simulate_batch")
    S = np.asarray(starts, dtype=np.float64)
    if surface.dim == 1 and S.ndim == 1:
        S = S.reshape(-1, 1)
    if S.ndim != 2 or S.shape[1] != surface.dim:
        raise ValueError(f"starts must have shape (n, {surface.dim}), got {np.shape(starts)}")
    if len(S) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH:,} starts per batch, got {len(S):,}")
    if not np.all(np.isfinite(S)):
        raise ValueError("starts must be finite")
    S2 = np.zeros((len(S), 2))
    S2[:, : surface.dim] = S
    out = np.empty((B_NCOL, len(S)))  # one contiguous row per quantity
    w = _window(steps) if steps else 1
    offset = _check_int("stream_offset", stream_offset, 0, 2**62)
    if (getattr(schedule, "needs_losses", False) or not optimizer.batch_kernel) \
            and surface.impl is not None:  # a Python function: its own loop, a run at a time
        _batch_by_runs(surface, optimizer, schedule, lrs, S2, steps, w, noise, seed, offset,
                       clip, batch, out)
    elif getattr(schedule, "needs_losses", False) or not optimizer.batch_kernel:
        # L-BFGS, or a rate per run that follows its loss: one recorded run per start, all
        # in one kernel call (kernels.loops.run_runs), split between threads
        run_runs(surface.spec, optimizer.oid, kernel_hp(optimizer), lrs,
                 _plateau_params(schedule), S2, steps, w, noise, seed, offset, clip, batch,
                 surface.nreg, out)
    else:
        run_batch(surface.spec, optimizer.oid, kernel_hp(optimizer), lrs, S2, steps, w, noise,
                  seed, offset, clip, batch, surface.nreg, out)
    d = surface.dim
    eig_min, eig_maxabs = _eig_summary(out[5:8].T, d)
    # np.linalg.norm(., axis=1) written out on contiguous rows (the same operations)
    gnorm = out[3] * out[3]
    dist = out[0] - surface.center[0]
    dist *= dist
    if d == 2:
        gnorm += out[4] * out[4]
        dy = out[1] - surface.center[1]
        dy *= dy
        dist += dy
        del dy
    np.sqrt(gnorm, out=gnorm)
    np.sqrt(dist, out=dist)
    codes = classify(
        out[8], out[2], out[12], out[10], out[9], w, out[11] >= 0, gnorm, eig_min, eig_maxabs,
        dist, surface.scale, surface.min_value,
    )
    return BatchResult(
        surface=surface, optimizer=optimizer, starts=S, steps=steps,
        final_positions=np.ascontiguousarray(out[:d].T), final_losses=out[2].copy(),
        final_gradients=np.ascontiguousarray(out[3 : 3 + d].T),
        initial_losses=out[8].copy(), min_losses=out[12].copy(),
        status_codes=codes,
    )
