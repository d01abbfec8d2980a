"""Basin-of-attraction maps and hyperparameter maps from many runs (computing only).

Two questions a single trajectory cannot answer:

``basin_map(surface, optimizer, resolution, steps)``
    *Where does every start go?* A grid of starts over the domain (up to 2048 x 2048;
    the app offers up to 512 x 512), each run for ``steps`` updates with
    :func:`~simulator.core.engine.simulate_batch`, row chunk by row chunk (so progress
    streams and a run can be cancelled), and each start labelled by the minimum it ends
    in. Memory is O(number of starts), whatever ``steps`` is.
``hyper_map(surface, optimizer, start, param_x, values_x, param_y, values_y, steps)``
    *Which hyperparameters work?* One start, a grid of two hyperparameters (``lr``,
    ``momentum``, ``noise``, ``beta1``, ``beta2``, ``weight_decay`` or any other float
    field of the optimizer), each cell one full run, coloured by final loss, steps to
    converge or status. For SGD-family optimizers on quadratic surfaces the theoretical
    stability boundary is known in closed form (:func:`max_stable_lr`).

Labels of a basin map
---------------------
``labels[j, i]`` (row j = y, column i = x) is the index into ``minima`` of the minimum the
run from the centre of cell (i, j) ends within ``tol`` of (default: 2 % of the domain
diagonal, at most a quarter of the smallest distance between two minima), or

``DIVERGED`` (-1)
    the run's status is ``"diverged"`` (engine rules);
``NOT_CONVERGED`` (-2)
    it ended somewhere else: still on its way, stuck at a saddle or on a plateau, or at a
    minimum outside the searched domain;
``NOT_COMPUTED`` (-3)
    the row was not reached (the map was cancelled).

A run that is still ``"converging"`` or ``"oscillating"`` but already within ``tol`` of a
minimum counts for that minimum: the basin is where it *ends*; ``status_codes`` keeps the
engine's status of every run.

The minima are the ``"minimum"`` points of :func:`find_critical_points` in the domain
(falling back on the surface's known minima).

Noise
-----
Noisy maps are reproducible bit for bit: cell (i, j) uses ``seed`` and noise stream
``j * nx + i`` (row-major), whatever the chunk size, so :meth:`BasinMap.replay` re-runs
any cell exactly with ``simulate``. A hyperparameter map uses ``seed`` and stream 0
in every cell (common random numbers: cells differ by their hyperparameters only).

Steps to converge
-----------------
A hyperparameter map runs every cell with the recording kernel (the one ``simulate``
uses) into one reused buffer and classifies all cells of a row at once with the engine's
rules, so each cell's status is exactly ``simulate(...).status``. Steps to converge is
``Trajectory.status_step`` of a converged run: the first step from which the gradient
norm stayed below ``GTOL`` (1e-6); NaN when the run did not converge. Memory is one
buffer of ``steps + 1`` points (40 bytes a step), reused for every cell.

Colours, pictures and files
---------------------------
This module computes the maps and writes no file: their colours, PNG pictures and CSV
tables are :mod:`simulator.export.maps`, the ``losslab export --map`` options are in
:mod:`simulator.cli_commands`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import (
    CONVERGED,
    GTOL,
    MAX_BATCH,
    STATUSES,
    _check_inputs,
    _eig_summary,
    _run_arrays,
    _window,
    classify,
    kernel_hp,
    simulate,
    simulate_batch,
)
from .engine import (
    DIVERGED as _ST_DIVERGED,
)
from .optimizers import SGD, Optimizer
from .schedules import ConstantSchedule, Schedule
from .surface import Domain, Surface, check_compiled, check_point

__all__ = [
    "DIVERGED",
    "HYPER_PARAMS",
    "INVALID",
    "MAX_RESOLUTION",
    "NOT_COMPUTED",
    "NOT_CONVERGED",
    "BasinMap",
    "HyperMap",
    "basin_defaults",
    "basin_map",
    "grid_values",
    "hyper_map",
    "max_stable_lr",
    "quadratic_curvature",
    "stability_boundary",
]

DIVERGED = -1
NOT_CONVERGED = -2
NOT_COMPUTED = -3
INVALID = -1  # hyper map: the hyperparameters are not valid for the optimizer

MAX_RESOLUTION = 2048
MAX_HYPER_CELLS = 512 * 512
MAX_HYPER_STEPS = 200_000
CHUNK_STARTS = 16_384  # default starts per chunk: ~0.1 s of Adam at 500 steps
# one recorded run per start (kernels.loops.run_runs) costs more per start: ~1 ms for
# L-BFGS, ~0.1 ms for a ReduceLROnPlateau at 500 steps, so that progress and cancel
# still come every second or so
CHUNK_STARTS_LBFGS = 512
CHUNK_STARTS_RUNS = 2048

# names accepted by hyper_map besides the optimizer's own float fields
HYPER_PARAMS = ("lr", "momentum", "noise", "beta1", "beta2", "weight_decay", "eps",
                "alpha", "dampening", "rho", "lr_decay", "damping")

Progress = Callable[[int, int, Any], None]
Cancel = Callable[[], bool]


# ---- helpers ------------------------------------------------------------------------------
def grid_values(lo: float, hi: float, n: int, log: bool = False) -> np.ndarray:
    """``n`` grid values from ``lo`` to ``hi``, evenly spaced or (``log``) geometric."""
    n = int(n)
    if n < 1:
        raise ValueError(f"a grid needs at least 1 value, got {n}")
    if log:
        if not (lo > 0 and hi > 0):
            raise ValueError(f"a log grid needs positive bounds, got {lo} .. {hi}")
        return np.geomspace(lo, hi, n)
    return np.linspace(lo, hi, n)


def _is_log(values: np.ndarray) -> bool:
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 3 or np.any(v <= 0):
        return False
    r = v[1:] / v[:-1]
    d = np.diff(v)
    return bool(np.allclose(r, r[0], rtol=1e-6) and not np.allclose(d, d[0], rtol=1e-6))


def _resolution(resolution, dim: int) -> tuple[int, int]:
    if isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool):
        nx, ny = int(resolution), (int(resolution) if dim == 2 else 1)
    else:
        try:
            nx, ny = (int(v) for v in resolution)
        except (TypeError, ValueError):
            raise ValueError(f"resolution must be n or (nx, ny), got {resolution!r}") from None
        if dim == 1:
            ny = 1
    for name, v in (("nx", nx), ("ny", ny)):
        if not 1 <= v <= MAX_RESOLUTION:
            raise ValueError(f"resolution {name} must be between 1 and {MAX_RESOLUTION}, "
                             f"got {v}")
    if nx * ny > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH:,} starts, got {nx * ny:,}")
    return nx, ny


def _domain(surface: Surface, domain) -> Domain:
    dom = surface.domain if domain is None else tuple(
        (float(a), float(b)) for a, b in domain)
    if len(dom) != surface.dim or any(
            not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) for lo, hi in dom):
        raise ValueError(f"domain must be {surface.dim} finite pairs (lo, hi) with lo < hi")
    return dom


def known_minima(surface: Surface, domain: Domain | None = None) -> np.ndarray:
    """The minima a basin map labels by: (k, dim), from ``find_critical_points``."""
    from .critical_points import find_critical_points

    dom = _domain(surface, domain)
    try:
        pts = [cp.position for cp in find_critical_points(surface, dom) if cp.kind == "minimum"]
    except ValueError:
        pts = []
    if not pts:
        pts = [np.asarray(m, dtype=np.float64)[: surface.dim] for m in surface.minima
               if all(lo <= c <= hi for c, (lo, hi) in zip(m, dom, strict=False))]
    if not pts:
        return np.zeros((0, surface.dim))
    return np.asarray(pts, dtype=np.float64).reshape(-1, surface.dim)


def default_tol(minima: np.ndarray, domain: Domain) -> float:
    """2 % of the domain diagonal, at most a quarter of the closest two minima's distance."""
    diag = math.sqrt(sum((hi - lo) ** 2 for lo, hi in domain))
    tol = 0.02 * diag
    if len(minima) > 1:
        d = np.linalg.norm(minima[:, None, :] - minima[None, :, :], axis=-1)
        d[np.diag_indices(len(minima))] = np.inf
        tol = min(tol, 0.25 * float(d.min()))
    return tol


# ---- basin map ----------------------------------------------------------------------------
@dataclass(eq=False)
class BasinMap:
    """Where every start of a grid ends.

    Attributes
    ----------
    xs, ys : ndarray (nx,), (ny,)
        Cell centres (``ys`` is ``[0.0]`` for curves).
    labels : ndarray (ny, nx) int16
        Index into ``minima``, or ``DIVERGED`` / ``NOT_CONVERGED`` / ``NOT_COMPUTED``.
    status_codes : ndarray (ny, nx) int8
        Engine status (index into ``STATUSES``); -1 where not computed.
    final_losses : ndarray (ny, nx) float64
    final_positions : ndarray (ny, nx, dim) float64
    minima : ndarray (k, dim)
    minima_values : ndarray (k,)
    tol : float
        Distance within which a final point counts as being in a minimum.
    rows_done : int
        Rows computed (all of them unless cancelled).
    elapsed : float
        Seconds spent running.
    """

    surface: Surface
    optimizer: Optimizer
    schedule: Schedule | None
    steps: int
    noise: float
    seed: int
    chunk: int
    domain: Domain
    xs: np.ndarray
    ys: np.ndarray
    labels: np.ndarray
    status_codes: np.ndarray
    final_losses: np.ndarray
    final_positions: np.ndarray
    minima: np.ndarray
    minima_values: np.ndarray
    tol: float
    clip_grad_norm: float | None = None
    batch_size: int | None = None
    rows_done: int = 0
    elapsed: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution(self) -> tuple[int, int]:
        return len(self.xs), len(self.ys)

    @property
    def complete(self) -> bool:
        return self.rows_done == len(self.ys)

    @property
    def status(self) -> np.ndarray:
        """Status names (ny, nx); ``"not computed"`` where the map was cancelled."""
        names = np.asarray((*STATUSES, "not computed"), dtype=object)
        return names[np.where(self.status_codes < 0, len(STATUSES), self.status_codes)]

    def counts(self) -> dict[int, int]:
        """Number of computed starts per label (every minimum, DIVERGED, NOT_CONVERGED)."""
        lab = self.labels[: self.rows_done].ravel()
        out = {k: int(np.count_nonzero(lab == k)) for k in range(len(self.minima))}
        out[DIVERGED] = int(np.count_nonzero(lab == DIVERGED))
        out[NOT_CONVERGED] = int(np.count_nonzero(lab == NOT_CONVERGED))
        return out

    def shares(self) -> dict[int, float]:
        """Fraction of the computed starts per label (sums to 1)."""
        c = self.counts()
        n = max(1, sum(c.values()))
        return {k: v / n for k, v in c.items()}

    def label_name(self, label: int) -> str:
        if label == DIVERGED:
            return "diverged"
        if label == NOT_CONVERGED:
            return "not converged"
        if label == NOT_COMPUTED:
            return "not computed"
        p = ", ".join(f"{v:.3g}" for v in self.minima[label])
        return f"minimum {label + 1} ({p})"

    def cell_start(self, i: int, j: int) -> tuple[float, ...]:
        """The start of cell (column i, row j)."""
        return (float(self.xs[i]), float(self.ys[j]))[: self.surface.dim]

    def cell_at(self, x: float, y: float = 0.0) -> tuple[int, int] | None:
        """(i, j) of the cell containing the point, or None outside the domain."""
        (x0, x1), *rest = self.domain
        y0, y1 = rest[0] if rest else (-0.5, 0.5)
        nx, ny = self.resolution
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return None
        i = min(nx - 1, int((x - x0) / (x1 - x0) * nx))
        j = min(ny - 1, int((y - y0) / (y1 - y0) * ny)) if rest else 0
        return i, j

    def replay(self, i: int, j: int, steps: int | None = None):
        """The recorded Trajectory of cell (i, j), exactly as the map ran it."""
        stream = j * len(self.xs) + i
        return simulate(self.surface, self.optimizer, self.cell_start(i, j),
                        self.steps if steps is None else steps, schedule=self.schedule,
                        noise=self.noise, seed=self.seed,
                        clip_grad_norm=self.clip_grad_norm, batch_size=self.batch_size,
                        stream=stream)

    def describe(self) -> str:
        """The computed shares, such as ``"minimum 1 (1, 1): 97.0%; diverged: 3.0%"``."""
        parts = [f"{self.label_name(k)}: {share:.1%}" for k, share in self.shares().items()
                 if share > 0]
        return "; ".join(parts)


def basin_map(
    surface: Surface,
    optimizer: Optimizer,
    resolution=(128, 128),
    steps: int = 500,
    domain: Domain | None = None,
    schedule: Schedule | None = None,
    noise: float = 0.0,
    seed: int = 0,
    clip_grad_norm: float | None = None,
    batch_size: int | None = None,
    chunk: int | None = None,
    tol: float | None = None,
    minima=None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> BasinMap:
    """Run ``optimizer`` from every cell centre of a grid over ``domain``; label each
    start by the minimum it ends in.

    Parameters
    ----------
    surface, optimizer, steps, schedule, noise, seed, clip_grad_norm, batch_size
        As for :func:`~simulator.core.engine.simulate_batch`.
    resolution : int or (nx, ny)
        Grid size (each at most ``MAX_RESOLUTION``); a curve uses ``nx`` only.
    domain : ((x0, x1), (y0, y1)), optional
        Default: the surface's domain.
    chunk : int, optional
        Rows per batch (default: about 16,384 starts; 2,048 under a ReduceLROnPlateau
        and 512 for L-BFGS, whose runs cost more). Progress and cancel act between
        chunks. The results do not depend on it (see the module docstring).
    tol : float, optional
        Distance to a minimum that counts as ending in it (see :func:`default_tol`).
    minima : array_like (k, dim), optional
        The minima to label by (default :func:`known_minima`).
    progress : callable(rows_done, rows_total, partial_map), optional
        Called after every chunk (from the calling thread); rows ``[0, rows_done)`` of
        the partial map are final.
    cancel : callable() -> bool, optional
        Polled before every chunk; when it returns True the partial map is returned
        (``complete`` False, the rest labelled ``NOT_COMPUTED``).

    Returns
    -------
    BasinMap
    """
    dom = _domain(surface, domain)
    nx, ny = _resolution(resolution, surface.dim)
    # validate once, with the engine's own messages
    steps, seed, noise, _, _, _, _ = _check_inputs(
        surface, optimizer, steps, schedule, noise, seed, clip_grad_norm, batch_size,
        10**6)
    if chunk is None:
        per = (CHUNK_STARTS if optimizer.batch_kernel else CHUNK_STARTS_LBFGS)
        if getattr(schedule, "needs_losses", False):
            per = min(per, CHUNK_STARTS_RUNS)
        chunk = max(1, per // nx)
    chunk = int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1 row, got {chunk}")
    mins = known_minima(surface, dom) if minima is None else \
        np.asarray(minima, dtype=np.float64).reshape(-1, surface.dim)
    tol = default_tol(mins, dom) if tol is None else float(tol)
    xs = dom[0][0] + (np.arange(nx) + 0.5) * (dom[0][1] - dom[0][0]) / nx
    if surface.dim == 2:
        ys = dom[1][0] + (np.arange(ny) + 0.5) * (dom[1][1] - dom[1][0]) / ny
    else:
        ys = np.zeros(1)
    d = surface.dim
    bm = BasinMap(
        surface=surface, optimizer=optimizer, schedule=schedule, steps=steps, noise=noise,
        seed=seed, chunk=chunk, domain=dom, xs=xs, ys=ys,
        labels=np.full((ny, nx), NOT_COMPUTED, dtype=np.int16),
        status_codes=np.full((ny, nx), -1, dtype=np.int8),
        final_losses=np.full((ny, nx), np.nan),
        final_positions=np.full((ny, nx, d), np.nan),
        minima=mins,
        minima_values=(surface.value(mins) if len(mins) else np.zeros(0)),
        tol=tol, clip_grad_norm=clip_grad_norm, batch_size=batch_size,
    )
    t0 = time.perf_counter()
    for r0 in range(0, ny, chunk):
        if cancel is not None and cancel():
            break
        r1 = min(ny, r0 + chunk)
        gx, gy = np.meshgrid(xs, ys[r0:r1])
        starts = np.column_stack([gx.ravel(), gy.ravel()])[:, :d]
        res = simulate_batch(surface, optimizer, starts, steps, schedule=schedule,
                             noise=noise, seed=seed, stream_offset=r0 * len(xs),
                             clip_grad_norm=clip_grad_norm, batch_size=batch_size)
        fp = res.final_positions
        codes = res.status_codes
        if len(mins):
            dist = np.sqrt(((fp[:, None, :] - mins[None, :, :]) ** 2).sum(-1))
            near = np.argmin(dist, axis=1)
            ok = dist[np.arange(len(fp)), near] <= tol
            lab = np.where(ok, near, NOT_CONVERGED)
        else:
            lab = np.full(len(fp), NOT_CONVERGED)
        lab = np.where(codes == _ST_DIVERGED, DIVERGED, lab)
        shape = (r1 - r0, nx)
        bm.labels[r0:r1] = lab.reshape(shape)
        bm.status_codes[r0:r1] = codes.reshape(shape)
        bm.final_losses[r0:r1] = res.final_losses.reshape(shape)
        bm.final_positions[r0:r1] = fp.reshape(shape + (d,))
        bm.rows_done = r1
        bm.elapsed = time.perf_counter() - t0
        if progress is not None:
            progress(r1, ny, bm)
    bm.elapsed = time.perf_counter() - t0
    return bm


# ---- hyperparameter map -------------------------------------------------------------------
def _apply(optimizer: Optimizer, noise: float, params: dict[str, float]):
    """(optimizer, noise) with ``params`` applied; ValueError when invalid."""
    changes: dict[str, Any] = {}
    for name, v in params.items():
        v = float(v)
        if name == "noise":
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"noise must be >= 0, got {v}")
            noise = v
        elif name in ("beta1", "beta2"):
            betas = list(changes.get("betas", getattr(optimizer, "betas", None) or ()))
            if not betas:
                raise ValueError(f"{optimizer.name} has no betas")
            betas[0 if name == "beta1" else 1] = v
            changes["betas"] = tuple(betas)
        else:
            if not hasattr(optimizer, name):
                raise ValueError(f"{optimizer.name} has no hyperparameter {name!r}")
            changes[name] = v
    return (optimizer.replace(**changes) if changes else optimizer), noise


def check_param(optimizer: Optimizer, name: str, network: bool = False) -> None:
    """ValueError unless ``name`` can be swept for ``optimizer`` (``batch_size`` only on
    a network)."""
    if name == "noise":
        return
    if name == "batch_size":
        if not network:
            raise ValueError("the batch size can be swept on a network only")
        return
    if name in ("beta1", "beta2"):
        if getattr(optimizer, "betas", None) is None:
            raise ValueError(f"{optimizer.name} has no betas to sweep")
        return
    v = getattr(optimizer, name, None)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{optimizer.name} has no numeric hyperparameter {name!r}")


def sweepable_params(optimizer: Optimizer, network: bool = False) -> list[str]:
    """Hyperparameters a hyper map can sweep for ``optimizer`` (lr first, noise last;
    on a network ``batch_size`` second)."""
    out = []
    for hp in optimizer.schema:
        if hp.kind == "betas":
            out += ["beta1", "beta2"]
        elif hp.kind == "float":
            out.append(hp.name)
    if network:
        out.insert(1 if out[:1] == ["lr"] else 0, "batch_size")
    return out + ["noise"]


def _batch_value(v: float, n_train: int) -> int:
    """A swept batch size: the nearest whole number, at most the training set's size;
    ValueError below 1."""
    b = int(round(float(v)))
    if b < 1:
        raise ValueError(f"batch size must be >= 1, got {v:g}")
    return min(b, int(n_train))


@dataclass(eq=False)
class HyperMap:
    """Outcome of one start over a grid of two hyperparameters.

    Attributes
    ----------
    values_x, values_y : ndarray
        The swept values (columns, rows).
    log_x, log_y : bool
        Whether each axis is geometric (drawn on a log axis).
    final_losses : ndarray (ny, nx)
        NaN where invalid or not computed.
    steps_to_converge : ndarray (ny, nx)
        ``status_step`` of converged runs, NaN elsewhere.
    status_codes : ndarray (ny, nx) int8
        Engine status, ``INVALID`` (-1) for invalid hyperparameters, -3 not computed.
    boundary : list of (x, y) arrays
        Theoretical stability boundary (quadratic surfaces, SGD family), else empty.
    final_test_losses : ndarray (ny, nx) or None
        On a network: the test loss at each cell's last step (NaN where invalid, not
        computed or without test points); None on a surface.
    """

    surface: Surface
    optimizer: Optimizer
    start: tuple[float, ...]
    param_x: str
    param_y: str
    values_x: np.ndarray
    values_y: np.ndarray
    steps: int
    schedule: Schedule | None
    noise: float
    seed: int
    final_losses: np.ndarray
    steps_to_converge: np.ndarray
    status_codes: np.ndarray
    clip_grad_norm: float | None = None
    batch_size: int | None = None
    log_x: bool = False
    log_y: bool = False
    boundary: list = field(default_factory=list)
    rows_done: int = 0
    elapsed: float = 0.0
    final_test_losses: np.ndarray | None = None

    @property
    def complete(self) -> bool:
        return self.rows_done == len(self.values_y)

    @property
    def status(self) -> np.ndarray:
        names = np.asarray((*STATUSES, "invalid", "not computed"), dtype=object)
        c = self.status_codes.astype(int)
        idx = np.where(c == INVALID, len(STATUSES), np.where(c < 0, len(STATUSES) + 1, c))
        return names[idx]

    def cell_params(self, i: int, j: int) -> dict[str, float]:
        """The swept values of cell (column i, row j)."""
        return {self.param_x: float(self.values_x[i]), self.param_y: float(self.values_y[j])}

    def cell_settings(self, i: int, j: int) -> tuple[Optimizer, float]:
        """(optimizer, noise) of cell (i, j); ValueError if invalid."""
        params = {k: v for k, v in self.cell_params(i, j).items() if k != "batch_size"}
        return _apply(self.optimizer, self.noise, params)

    def cell_batch_size(self, i: int, j: int) -> int | None:
        """The batch size cell (i, j) runs with (the swept one on a network)."""
        params = self.cell_params(i, j)
        if "batch_size" in params:
            return _batch_value(params["batch_size"], len(self.surface.y_train))
        return self.batch_size

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The cell whose value is nearest (on each axis's own scale) to (x, y)."""
        def near(vals, v, log):
            if log:
                if v <= 0:
                    return None
                a, b = np.log(vals), math.log(v)
            else:
                a, b = vals, v
            if len(a) > 1:
                h = 0.5 * abs(a[1] - a[0])
                if not (min(a[0], a[-1]) - h <= b <= max(a[0], a[-1]) + h):
                    return None
            return int(np.argmin(np.abs(a - b)))
        i = near(self.values_x, x, self.log_x)
        j = near(self.values_y, y, self.log_y)
        return None if i is None or j is None else (i, j)

    def replay(self, i: int, j: int):
        """The recorded Trajectory of cell (i, j)."""
        opt, noise = self.cell_settings(i, j)
        return simulate(self.surface, opt, self.start, self.steps, schedule=self.schedule,
                        noise=noise, seed=self.seed, clip_grad_norm=self.clip_grad_norm,
                        batch_size=self.cell_batch_size(i, j))


def hyper_map(
    surface: Surface,
    optimizer: Optimizer,
    start,
    param_x: str,
    values_x,
    param_y: str,
    values_y,
    steps: int = 500,
    schedule: Schedule | None = None,
    noise: float = 0.0,
    seed: int = 0,
    clip_grad_norm: float | None = None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> HyperMap:
    """Run ``optimizer`` from ``start`` for every pair of values of two hyperparameters.

    Parameters
    ----------
    param_x, param_y : str
        ``"lr"``, ``"momentum"``, ``"noise"`` (a simulate argument), ``"beta1"`` /
        ``"beta2"`` (the components of ``betas``), ``"weight_decay"`` or any other
        float field of the optimizer.
    values_x, values_y : array_like
        The grid values (see :func:`grid_values`); geometric grids are shown on log
        axes. At most ``MAX_HYPER_CELLS`` cells.
    steps : int
        Updates per run (at most ``MAX_HYPER_STEPS``).
    progress, cancel
        As for :func:`basin_map`; a chunk is one row (one value of ``param_y``).

    Returns
    -------
    HyperMap
        Cells whose hyperparameters the optimizer rejects are ``INVALID``.
    """
    from .kernels.loops import run_trajectory

    network = getattr(surface, "kind", None) == "network"
    if param_x == param_y:
        raise ValueError("choose two different hyperparameters")
    check_param(optimizer, param_x, network)
    check_param(optimizer, param_y, network)
    vx = np.asarray(values_x, dtype=np.float64).reshape(-1)
    vy = np.asarray(values_y, dtype=np.float64).reshape(-1)
    if len(vx) == 0 or len(vy) == 0 or not (np.all(np.isfinite(vx)) and
                                            np.all(np.isfinite(vy))):
        raise ValueError("the swept values must be finite and non-empty")
    if len(vx) * len(vy) > MAX_HYPER_CELLS:
        raise ValueError(f"at most {MAX_HYPER_CELLS:,} cells, got {len(vx) * len(vy):,}")
    if network:
        return _network_hyper_map(surface, optimizer, start, param_x, vx, param_y, vy,
                                  steps, schedule, noise, seed, clip_grad_norm, batch_size,
                                  progress, cancel)
    steps, seed, noise, clip, batch, sched, _ = _check_inputs(
        surface, optimizer, steps, schedule, noise, seed, clip_grad_norm, batch_size,
        MAX_HYPER_STEPS)
    check_compiled(surface, "a hyperparameter map")
    p0 = check_point(surface, start)
    d = surface.dim
    nx, ny = len(vx), len(vy)
    hm = HyperMap(
        surface=surface, optimizer=optimizer, start=tuple(float(v) for v in p0),
        param_x=param_x, param_y=param_y, values_x=vx, values_y=vy, steps=steps,
        schedule=schedule, noise=noise, seed=seed,
        final_losses=np.full((ny, nx), np.nan), steps_to_converge=np.full((ny, nx), np.nan),
        status_codes=np.full((ny, nx), NOT_COMPUTED, dtype=np.int8),
        clip_grad_norm=clip_grad_norm, batch_size=batch_size,
        log_x=_is_log(vx), log_y=_is_log(vy),
    )
    hm.boundary = stability_boundary(surface, optimizer, param_x, vx, param_y, vy)
    pos = np.empty((steps + 1, 2))
    loss = np.empty(steps + 1)
    grad = np.empty((steps + 1, 2))
    x0 = float(p0[0])
    y0 = float(p0[1]) if d == 2 else 0.0
    center = np.asarray(surface.center)
    spec, nreg = surface.spec, surface.nreg
    const_lr = isinstance(sched, ConstantSchedule)
    t0 = time.perf_counter()
    for j in range(ny):
        if cancel is not None and cancel():
            break
        cols = []  # per valid cell: (i, reason, f0, f_end, f_min, f_win, flips, w,
        #                               gnorm, last step with a large gradient, final point)
        for i in range(nx):
            try:
                opt, nz = _apply(optimizer, noise, {param_x: vx[i], param_y: vy[j]})
                if const_lr:
                    lrs = np.full(steps, float(opt.lr))
                else:
                    lrs = sched.learning_rates(opt.lr, steps)
                    if steps and not (np.all(np.isfinite(lrs)) and lrs.min() >= 0):
                        raise ValueError("invalid learning rate")
                if not opt.batch_kernel and (nz or clip or batch):
                    raise ValueError("L-BFGS takes the exact loss: no noise or minibatches")
            except ValueError:
                hm.status_codes[j, i] = INVALID
                continue
            if getattr(sched, "needs_losses", False):  # ReduceLROnPlateau: the run's own
                k, reason, pos, loss, grad, _ = _run_arrays(
                    surface, opt, sched, lrs, p0, steps, nz, seed, 0, clip, batch)
            else:
                k, reason = run_trajectory(spec, opt.oid, kernel_hp(opt), lrs, x0, y0, steps,
                                           nz, seed, 0, clip, batch, nreg, pos, loss, grad)
            k = int(k)
            if k == 0:
                raise ValueError(f"the surface {surface.name!r} is undefined at the start "
                                 f"{tuple(p0.tolist())}")
            n = k - 1
            w = _window(n) if n > 0 else 1
            lo = max(0, k - w - 1)
            with np.errstate(over="ignore", invalid="ignore"):
                mv = pos[lo + 1:k, :d] - pos[lo:k - 1, :d]
                flips = int(np.count_nonzero((mv[1:] * mv[:-1]).sum(1) < 0)) \
                    if len(mv) > 1 else 0
                g2 = grad[:k, 0] * grad[:k, 0]
                if d == 2:
                    g2 = g2 + grad[:k, 1] * grad[:k, 1]
            above = np.flatnonzero(g2 > GTOL * GTOL)
            cols.append((i, int(reason), loss[0], loss[n], loss[:k].min(), loss[max(0, n - w)],
                         flips, w, math.sqrt(g2[n]), int(above[-1] + 1) if len(above) else 0,
                         pos[n, :d].copy()))
        if cols:
            a = list(zip(*cols, strict=True))
            idx = np.asarray(a[0])
            fin = np.asarray(a[10]).reshape(-1, d)
            h = surface.hessian(fin).reshape(-1, d, d)
            hv = np.stack([h[:, 0, 0], h[:, 0, 1] if d == 2 else np.zeros(len(h)),
                           h[:, -1, -1]], -1)
            eig_min, eig_maxabs = _eig_summary(hv, d)
            with np.errstate(over="ignore", invalid="ignore"):
                dist = np.sqrt(np.sum((fin - center[None, :d]) ** 2, axis=1))
            codes = classify(np.asarray(a[2]), np.asarray(a[3]), np.asarray(a[4]),
                             np.asarray(a[5]), np.asarray(a[6]), np.asarray(a[7]),
                             np.asarray(a[1]) != 0, np.asarray(a[8]), eig_min, eig_maxabs,
                             dist, surface.scale, surface.min_value)
            hm.status_codes[j, idx] = codes
            hm.final_losses[j, idx] = np.asarray(a[3])
            stc = np.asarray(a[9], dtype=np.float64)
            hm.steps_to_converge[j, idx] = np.where(codes == CONVERGED, stc, np.nan)
        hm.rows_done = j + 1
        hm.elapsed = time.perf_counter() - t0
        if progress is not None:
            progress(j + 1, ny, hm)
    hm.elapsed = time.perf_counter() - t0
    return hm


def _network_hyper_map(net, optimizer, start, param_x, vx, param_y, vy, steps, schedule,
                       noise, seed, clip_grad_norm, batch_size, progress, cancel) -> HyperMap:
    """:func:`hyper_map` on a network: every cell one :func:`simulate` run (the same
    run, bit for bit, as ``simulate`` with the cell's settings), a row a chunk; the
    swept ``batch_size`` is rounded and capped at the training set's size."""
    if start is None:
        start = net.init
    p0 = net.check_weights(start, "start")
    # the lane's own settings are checked once, by a run of no steps
    simulate(net, optimizer, p0, 0, schedule=schedule, noise=noise, seed=seed,
             clip_grad_norm=clip_grad_norm, batch_size=batch_size)
    log_x, log_y = _is_log(vx), _is_log(vy)
    n_train = len(net.y_train)
    if param_x == "batch_size":  # the batch sizes that run, whole and capped
        vx = np.array([_batch_value(v, n_train) if v >= 0.5 else v for v in vx], float)
    if param_y == "batch_size":
        vy = np.array([_batch_value(v, n_train) if v >= 0.5 else v for v in vy], float)
    nx, ny = len(vx), len(vy)
    hm = HyperMap(
        surface=net, optimizer=optimizer, start=tuple(float(v) for v in p0),
        param_x=param_x, param_y=param_y, values_x=vx, values_y=vy, steps=int(steps),
        schedule=schedule, noise=float(noise or 0.0), seed=int(seed),
        final_losses=np.full((ny, nx), np.nan), steps_to_converge=np.full((ny, nx), np.nan),
        status_codes=np.full((ny, nx), NOT_COMPUTED, dtype=np.int8),
        clip_grad_norm=clip_grad_norm, batch_size=batch_size,
        log_x=log_x, log_y=log_y, final_test_losses=np.full((ny, nx), np.nan),
    )
    t0 = time.perf_counter()
    for j in range(ny):
        if cancel is not None and cancel():
            break
        for i in range(nx):
            if cancel is not None and cancel():
                break
            try:
                opt, nz = hm.cell_settings(i, j)
                b = hm.cell_batch_size(i, j)
                run = simulate(net, opt, p0, hm.steps, schedule=schedule, noise=nz,
                               seed=hm.seed, clip_grad_norm=clip_grad_norm, batch_size=b)
            except ValueError:
                hm.status_codes[j, i] = INVALID
                continue
            hm.status_codes[j, i] = STATUSES.index(run.status)
            hm.final_losses[j, i] = float(run.losses[-1])
            tl = getattr(run, "test_losses", None)
            if tl is not None and len(tl):
                hm.final_test_losses[j, i] = float(tl[-1])
            if run.status == "converged" and run.status_step is not None:
                hm.steps_to_converge[j, i] = float(run.status_step)
        else:
            hm.rows_done = j + 1
            hm.elapsed = time.perf_counter() - t0
            if progress is not None:
                progress(j + 1, ny, hm)
            continue
        break  # cancelled within the row: it stays not computed
    hm.elapsed = time.perf_counter() - t0
    return hm


# ---- stability theory on quadratics -------------------------------------------------------
def quadratic_curvature(surface: Surface, rtol: float = 1e-8) -> np.ndarray | None:
    """Hessian eigenvalues (ascending) if ``surface`` is a quadratic (constant Hessian)
    with positive curvature, else None."""
    dom = surface.domain
    axes = [np.linspace(lo, hi, 5) for lo, hi in dom]
    pts = np.stack([g.ravel() for g in np.meshgrid(*axes)], -1)
    try:
        H = surface.hessian(pts).reshape(len(pts), surface.dim, surface.dim)
    except Exception:  # noqa: BLE001 - any surface that cannot be evaluated is not one
        return None
    if not np.all(np.isfinite(H)):
        return None
    scale = max(1e-300, float(np.max(np.abs(H))))
    if np.max(np.abs(H - H[0])) > rtol * scale:
        return None
    eig = np.linalg.eigvalsh(H[0])
    return eig if eig[0] > 0 else None


def _curvatures(surface: Surface, pts: np.ndarray) -> np.ndarray:
    """Hessian eigenvalues at each point (n, dim); rows with non-finite values dropped."""
    h = np.asarray(surface.hessian(pts), dtype=float).reshape(len(pts), surface.dim,
                                                                 surface.dim)
    ok = np.all(np.isfinite(h), axis=(1, 2))
    if not ok.any():
        return np.zeros((0, surface.dim))
    h = h[ok]
    return np.linalg.eigvalsh(0.5 * (h + np.swapaxes(h, 1, 2)))


BASIN_SHRINK = 1e-3  # the default steps shrink the slowest direction's distance this much
BASIN_STEPS = (200, 10_000)  # the default steps stay within these


def basin_defaults(surface: Surface, optimizer: Optimizer,
                   steps: int = 1000) -> tuple[Optimizer, int]:
    """A learning rate and a number of steps for a first basin map that tells a story.

    For the SGD family, from the curvature: ``lam_max``, the largest Hessian eigenvalue
    at the minima and (median) over the domain, whichever is larger (a rate stable at
    the minima alone diverges from the steep edges of Rosenbrock's domain), sets the
    rate at half the stability limit (``max_stable_lr``: ``1 / lam_max`` for plain GD,
    where ``2 / lam_max`` is the limit); ``lam_min``, the smallest positive eigenvalue at
    the minima, sets the steps: enough for the slowest direction to shrink by
    ``BASIN_SHRINK`` (``ln(1e-3) / ln(1 - lr lam_min)``, times ``1 - momentum``), within
    ``BASIN_STEPS``. Other optimizers (whose step size does not follow the curvature)
    keep their rate and ``steps``. A surface without minima keeps both.

    Returns
    -------
    (Optimizer, int)
        ``optimizer`` with the rate, and the steps.
    """
    if not isinstance(optimizer, SGD):
        return optimizer, int(steps)
    mins = known_minima(surface)
    if not len(mins):
        return optimizer, int(steps)
    try:
        at_min = _curvatures(surface, mins)
        axes = [np.linspace(lo, hi, 9) for lo, hi in surface.domain]
        grid = np.stack([g.ravel() for g in np.meshgrid(*axes)], -1)
        over = _curvatures(surface, grid)
    except Exception:  # noqa: BLE001 - a surface without a Hessian keeps the lane's
        return optimizer, int(steps)
    if not len(at_min):
        return optimizer, int(steps)
    lam_max = float(at_min.max())
    if len(over):
        lam_max = max(lam_max, float(np.median(np.abs(over).max(axis=1))))
    pos = at_min[at_min > 1e-12 * max(lam_max, 1e-300)]
    if not (lam_max > 0 and math.isfinite(lam_max) and len(pos)):
        return optimizer, int(steps)
    lr = 0.5 * max_stable_lr(optimizer, lam_max)
    if not (lr > 0 and math.isfinite(lr)):
        return optimizer, int(steps)
    lr = float(f"{lr:.2g}")
    rate = min(lr * float(pos.min()), 0.5)
    n = math.log(BASIN_SHRINK) / math.log1p(-rate) * (1.0 - optimizer.momentum)
    lo, hi = BASIN_STEPS
    n = int(min(hi, max(lo, math.ceil(n / 100.0) * 100)))
    return optimizer.replace(lr=lr), n


def max_stable_lr(optimizer: Optimizer, lam_max: float, **params) -> float:
    """The largest stable learning rate of an SGD-family optimizer on a quadratic whose
    largest Hessian eigenvalue is ``lam_max`` (``inf`` for other optimizers: unknown).

    With ``kappa = lam_max + weight_decay`` and heavy-ball coefficient ``beta``
    (torch ``momentum``, dampening ``tau``) the iteration is linear and stable iff

    * plain GD (beta = 0): ``lr < 2 / kappa``;
    * heavy ball: ``lr < 2 (1 + beta) / ((1 - tau) kappa)`` for ``0 <= beta < 1``;
    * Nesterov (torch's form, tau = 0): ``lr < 2 (1 + beta) / ((1 + 2 beta) kappa)``.

    ``params`` override the optimizer's fields (``momentum=0.9``). Returns 0 when no
    learning rate is stable (``beta >= 1``).
    """
    if not isinstance(optimizer, SGD):
        return math.inf
    beta = float(params.get("momentum", optimizer.momentum))
    tau = float(params.get("dampening", optimizer.dampening))
    wd = float(params.get("weight_decay", optimizer.weight_decay))
    kappa = lam_max + wd
    if kappa <= 0:
        return math.inf
    if beta >= 1.0 or beta < 0:
        return 0.0
    if beta == 0.0:
        return 2.0 / kappa
    if optimizer.nesterov:
        return 2.0 * (1.0 + beta) / ((1.0 + 2.0 * beta) * kappa)
    if tau >= 1.0:
        return math.inf
    return 2.0 * (1.0 + beta) / ((1.0 - tau) * kappa)


def stability_boundary(surface: Surface, optimizer: Optimizer, param_x: str, values_x,
                       param_y: str, values_y) -> list[tuple[np.ndarray, np.ndarray]]:
    """The theoretical boundary ``lr = max_stable_lr(...)`` as polylines in the (x, y)
    parameter plane, when one axis is ``lr``, the optimizer is SGD-family and the
    surface is a quadratic; else ``[]``."""
    if not isinstance(optimizer, SGD) or "lr" not in (param_x, param_y):
        return []
    eig = quadratic_curvature(surface)
    if eig is None:
        return []
    lam = float(eig[-1])
    other, ovals = (param_y, values_y) if param_x == "lr" else (param_x, values_x)
    ovals = np.asarray(ovals, dtype=np.float64)
    lo, hi = float(np.min(ovals)), float(np.max(ovals))
    fine = np.geomspace(lo, hi, 256) if _is_log(ovals) else np.linspace(lo, hi, 256)
    lr = np.array([max_stable_lr(optimizer, lam, **{other: v}) if other != "noise"
                   else max_stable_lr(optimizer, lam) for v in fine])
    ok = np.isfinite(lr) & (lr > 0)
    if not np.any(ok):
        return []
    fine, lr = fine[ok], lr[ok]
    return [(lr, fine)] if param_x == "lr" else [(fine, lr)]
