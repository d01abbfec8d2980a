"""Curvature diagnostics at a point: what the Hessian says there, in numbers and words.

Everything here is plain numpy on top of :meth:`Surface.evaluate`, so the numbers are the
exact value, gradient and Hessian the optimizers see. This module answers the first of
three questions; the other two have modules of their own that build on it:

``analyze_point(surface, p)``
    Value, gradient, Hessian, its eigen-decomposition, the condition number, the largest
    learning rate plain gradient descent is stable with, and the kind of point
    (``"minimum"``, ``"maximum"``, ``"saddle"``, ``"degenerate"`` or ``"regular"``).
``find_critical_points(surface)`` (:mod:`simulator.core.critical_points`)
    Every critical point in the domain: damped Newton (Levenberg-Marquardt on
    ``||grad L||^2``) from a grid of seeds, all seeds at once; for curves, sign changes of
    L' refined by bisection.
``saddle_episodes(surface, positions)`` (:mod:`simulator.core.episodes`)
    The stretches of a trajectory spent near a saddle (``describe_episode`` turns one
    into a sentence for the GUI).

The surface units, the tolerances below, the classification of a Hessian and the
teaching sentences are defined here once and shared by all three.

Tolerances
----------
All tolerances are relative to the surface's own units, so a surface scaled by 1000 or
drawn on a domain ten times larger is classified the same way. The units are computed
once per surface (cached) from a 41 x 41 grid (401 points for a curve) over its domain:

``L`` (length)
    ``surface.scale``, the diagonal of the domain.
``F`` (value)
    The spread of the finite values on the grid: the 90th minus the 10th percentile (the
    full range if that is zero, 1 if the surface is constant or undefined everywhere).
``G = F / L`` (gradient), ``C = F / L**2`` (curvature)

and

* a point is *critical* when ``||grad L|| <= GRAD_TOL * G`` (``GRAD_TOL = 1e-6``) in
  :func:`analyze_point`; :func:`find_critical_points` keeps a converged point when
  ``||grad L|| <= tol * G`` (``tol = 1e-8``, Newton converges far below that);
* an eigenvalue counts as zero when ``|lambda| <= EIG_TOL * C`` (``EIG_TOL = 1e-6``):
  any zero eigenvalue at a critical point makes it ``"degenerate"``;
* two critical points closer than ``DEDUPE_TOL * diagonal of the search domain``
  (``DEDUPE_TOL = 1e-4``) are the same point;
* a degenerate point is *saddle-like* (an optimizer can linger there and then leave
  downhill, like the monkey saddle) when it has a negative eigenvalue, or when the
  values on a small ring around it (radius ``RING * L``, ``RING = 1e-3``) include both
  lower and higher values than the centre.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .surface import Surface

__all__ = [
    "EIG_TOL",
    "GRAD_TOL",
    "KINDS",
    "RING",
    "PointAnalysis",
    "analyze_point",
    "surface_units",
]

KINDS = ("minimum", "maximum", "saddle", "degenerate", "regular")

GRAD_TOL = 1e-6
"""analyze_point: critical when ||g|| <= GRAD_TOL * G."""
EIG_TOL = 1e-6
"""An eigenvalue counts as zero when |lambda| <= EIG_TOL * C."""
RING = 1e-3
"""Radius (fraction of L) of the ring that tests a degenerate point for lower ground."""

_lock = threading.Lock()


@contextlib.contextmanager
def _serial():
    """Run the kernels on the calling thread only, for the small batches evaluated here.

    ``eval_points`` is ``parallel=True``; for a few thousand points the work is well under
    a millisecond, so a parallel region only adds the cost of waking the worker threads,
    and on a busy machine (the GUI thread, a worker and other processes sharing two
    cores) waiting for a descheduled worker made each call take 10-25 ms instead of
    0.1-0.4 ms (find_critical_points on Himmelblau: 650 ms instead of 40 ms).
    ``numba.set_num_threads`` is thread-local, so this affects no other thread.
    """
    try:
        import numba

        prev = numba.get_num_threads()
    except Exception:  # pragma: no cover - numba missing or not initialised
        yield
        return
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(prev)


_units_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


# ---- units ---------------------------------------------------------------------------------
def surface_units(surface: Surface) -> tuple[float, float, float, float]:
    """The natural units ``(L, F, G, C)`` of a surface, used to make tolerances relative.

    Parameters
    ----------
    surface : Surface

    Returns
    -------
    L, F, G, C : float
        Length (domain diagonal), value spread (90th - 10th percentile of the values on a
        grid over the domain), gradient unit ``F / L`` and curvature unit ``F / L**2``.
        Cached per surface object.
    """
    with _lock:
        hit = _units_cache.get(surface)
    if hit is not None:
        return hit
    L = surface.scale
    with _serial():
        if surface.dim == 1:
            (_,), v = surface.grid(401)
        else:
            _, v = surface.grid(41)
    v = np.asarray(v, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    F = 0.0
    if v.size:
        lo, hi = np.percentile(v, [10.0, 90.0])
        F = float(hi - lo)
        if not F > 0.0:
            F = float(v.max() - v.min())
    if not (F > 0.0 and math.isfinite(F)):
        F = 1.0
    units = (L, F, F / L, F / (L * L))
    with _lock:
        _units_cache[surface] = units
    return units


# ---- helpers -----------------------------------------------------------------------------------
def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _fix_signs(vecs: np.ndarray) -> np.ndarray:
    """Make eigenvectors deterministic: the first clearly non-zero component positive.

    ``vecs`` is (..., dim, dim) with eigenvectors in columns.
    """
    v = np.array(vecs, dtype=np.float64)
    big = np.abs(v) > 1e-12
    first = np.argmax(big, axis=-2)  # (..., dim): row index of first non-zero entry
    comp = np.take_along_axis(v, first[..., None, :], axis=-2)[..., 0, :]
    sign = np.where(comp < 0.0, -1.0, 1.0)
    return v * sign[..., None, :]


def _classify(eigs: np.ndarray, etol: float) -> str:
    """Kind of a critical point from its Hessian eigenvalues (ascending)."""
    if np.any(np.abs(eigs) <= etol):
        return "degenerate"
    if np.all(eigs > 0.0):
        return "minimum"
    if np.all(eigs < 0.0):
        return "maximum"
    return "saddle"


def _ring_test(surface: Surface, center: np.ndarray, f0: float) -> tuple[bool, bool]:
    """(lower ground nearby, higher ground nearby) on a small ring around ``center``."""
    L, F, _, _ = surface_units(surface)
    rho = RING * L
    if surface.dim == 1:
        pts = center[None, :] + np.array([[-rho], [rho], [-0.5 * rho], [0.5 * rho]])
    else:
        t = np.linspace(0.0, 2.0 * np.pi, 24, endpoint=False)
        pts = center[None, :] + rho * np.column_stack([np.cos(t), np.sin(t)])
    with _serial():
        v = np.asarray(surface.value(pts), dtype=np.float64)
    v = v[np.isfinite(v)]
    eps = 1e-12 * (abs(f0) + F)
    return bool(np.any(v < f0 - eps)), bool(np.any(v > f0 + eps))


def _saddle_like(surface: Surface, kind: str, eigs, center, f0) -> bool:
    if kind == "saddle":
        return True
    if kind != "degenerate":
        return False
    _, _, _, C = surface_units(surface)
    if np.any(np.asarray(eigs) < -EIG_TOL * C):
        return True
    lower, higher = _ring_test(surface, np.asarray(center, dtype=np.float64), float(f0))
    return lower and higher


def _num(x: float) -> str:
    """A short number for teaching text: about 3 significant digits, no exponent for
    ordinary magnitudes (1001.6 -> "1002", 0.0243 -> "0.0243"), -0 shown as 0."""
    if not math.isfinite(x):
        return str(x)
    ax = abs(x)
    if ax < 5e-13:
        return "0"
    if 1e-3 <= ax < 1e6:
        decimals = max(0, 2 - math.floor(math.log10(ax)))
        s = f"{x:.{decimals}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
    else:
        s = f"{x:.3g}"
    return "0" if s in ("-0", "0") else s


def _coord(x: float) -> str:
    """A coordinate for teaching text: two decimals for ordinary numbers."""
    if not math.isfinite(x):
        return str(x)
    if abs(x) < 5e-9:
        return "0"
    if abs(x) >= 0.01:
        s = f"{x:.2f}".rstrip("0").rstrip(".")
    else:
        s = f"{x:.2g}"
    return "0" if s in ("-0", "0") else s


def _point_text(p) -> str:
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    if p.size == 1:
        return _coord(float(p[0]))
    return "(" + ", ".join(_coord(float(c)) for c in p) + ")"


def _dir_text(v) -> str:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    return "(" + ", ".join(_coord(float(c)) for c in v) + ")"


def _curvature_text(eigs, vecs, etol: float, dim: int) -> str:
    """How the surface bends, in words (used for regular points)."""
    eigs = np.asarray(eigs)
    if dim == 1:
        lam = float(eigs[0])
        if lam > etol:
            return f"the curve bends up (second derivative {_num(lam)})"
        if lam < -etol:
            return f"the curve bends down (second derivative {_num(lam)})"
        return "the curve is straight to second order (second derivative 0)"
    lo, hi = float(eigs[0]), float(eigs[1])
    vlo, vhi = _dir_text(vecs[:, 0]), _dir_text(vecs[:, 1])
    if lo > etol:
        return (
            f"the surface curves up in every direction, most along {vhi} "
            f"(curvature {_num(hi)}), least along {vlo} (curvature {_num(lo)})"
        )
    if hi < -etol:
        return (
            f"the surface curves down in every direction, most along {vlo} "
            f"(curvature {_num(lo)}), least along {vhi} (curvature {_num(hi)})"
        )
    if lo < -etol and hi > etol:
        return (
            f"the surface curves up along {vhi} (curvature {_num(hi)}) and down along "
            f"{vlo} (curvature {_num(lo)})"
        )
    parts = []
    for lam, v in ((lo, vlo), (hi, vhi)):
        if abs(lam) <= etol:
            parts.append(f"is flat to second order along {v}")
        elif lam > 0:
            parts.append(f"curves up along {v} (curvature {_num(lam)})")
        else:
            parts.append(f"curves down along {v} (curvature {_num(lam)})")
    if abs(lo) <= etol and abs(hi) <= etol:
        return "the surface is flat to second order in every direction"
    return "the surface " + " and ".join(parts)


def _critical_text(kind, eigs, vecs, etol, dim, saddle_like, max_lr, cond) -> str:
    """A teaching sentence for a critical point of the given kind."""
    eigs = np.asarray(eigs)
    lr = f"; plain GD is stable here for lr < {_num(max_lr)}" if math.isfinite(max_lr) else ""
    if dim == 1:
        lam = float(eigs[0])
        if kind == "minimum":
            return f"a minimum: the curve bends up (second derivative {_num(lam)}){lr}."
        if kind == "maximum":
            return f"a maximum: the curve bends down (second derivative {_num(lam)})."
        tail = (
            "; it is lower on one side and higher on the other (an inflection point), so "
            "gradient descent slows down here and then moves on"
            if saddle_like
            else ""
        )
        return (
            "a degenerate critical point: the second derivative is zero, so curvature "
            f"alone cannot tell what it is{tail}."
        )
    lo, hi = float(eigs[0]), float(eigs[1])
    vlo, vhi = _dir_text(vecs[:, 0]), _dir_text(vecs[:, 1])
    if kind == "minimum":
        return (
            f"a minimum: curves up in every direction, most steeply along {vhi} (curvature "
            f"{_num(hi)}) and least along {vlo} (curvature {_num(lo)}); condition number "
            f"{_num(cond)}{lr}."
        )
    if kind == "maximum":
        return (
            f"a maximum: curves down in every direction, most steeply along {vlo} "
            f"(curvature {_num(lo)}) and least along {vhi} (curvature {_num(hi)})."
        )
    if kind == "saddle":
        return (
            f"a saddle: curves up along {vhi} (curvature {_num(hi)}), down along {vlo} "
            f"(curvature {_num(lo)}); gradient descent slows down here and escapes along "
            f"{vlo}."
        )
    # degenerate
    bend = _curvature_text(eigs, vecs, etol, 2)
    if saddle_like:
        tail = (
            "; there is lower ground nearby in some directions and higher in others, so it "
            "behaves like a saddle (think of the monkey saddle): gradient descent crawls "
            "here before it escapes"
        )
    else:
        tail = "; the Hessian alone cannot tell whether it is a minimum, maximum or saddle"
    return f"a degenerate critical point: {bend}{tail}."


# ---- analyze_point ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PointAnalysis:
    """What the exact derivatives say about one point of a surface.

    Made by :func:`analyze_point`; the parameters are also the attributes.

    Parameters
    ----------
    position : ndarray, shape (dim,)
    value : float
        L at the point (nan where undefined).
    gradient : ndarray, shape (dim,)
    grad_norm : float
    hessian : ndarray, shape (dim, dim)
    eigenvalues : ndarray, shape (dim,)
        Hessian eigenvalues, ascending (the curvatures along the principal directions).
    eigenvectors : ndarray, shape (dim, dim)
        Unit eigenvectors in columns, matching ``eigenvalues``; each column's first
        non-zero component is positive.
    condition_number : float
        ``|lambda|max / |lambda|min``; inf when the smallest is exactly 0; 1 for curves;
        nan where undefined.
    kind : str
        ``"regular"`` when the gradient is not ~0 (or where undefined); otherwise
        ``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"`` (see the module
        docstring for the tolerances).
    max_stable_lr : float
        ``2 / lambda_max``, the largest learning rate for which plain gradient descent on
        the local quadratic model does not diverge; inf when ``lambda_max <= 0``.
    defined : bool
        False when the value, gradient or Hessian is not finite here (then the numbers
        are nan, ``kind`` is ``"regular"``, and the GUI shows "undefined here").
    saddle_like : bool
        True for saddles, and for degenerate points with lower ground nearby in some
        directions and higher in others (the monkey saddle).
    grad_tol, eig_tol : float
        The absolute tolerances used to classify this point.

    Examples
    --------
    >>> import simulator as sim
    >>> pa = sim.analyze_point(sim.get_surface("saddle"), (0.0, 0.0))
    >>> pa.kind, pa.eigenvalues, pa.is_critical
    ('saddle', array([-2.,  2.]), True)
    """

    position: np.ndarray
    value: float
    gradient: np.ndarray
    grad_norm: float
    hessian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    condition_number: float
    kind: str
    max_stable_lr: float
    defined: bool = True
    saddle_like: bool = False
    grad_tol: float = 0.0
    eig_tol: float = 0.0

    @property
    def dim(self) -> int:
        return int(self.position.shape[0])

    @property
    def is_critical(self) -> bool:
        """True when the gradient is ~0 here (``kind`` is not ``"regular"``)."""
        return self.defined and self.kind != "regular"

    def describe(self) -> str:
        """A short teaching sentence, e.g. ``"a saddle: curves up along (1, 0) ..."``."""
        if not self.defined:
            return "undefined here: the loss or its derivatives are not finite at this point."
        if self.kind != "regular":
            return _critical_text(
                self.kind,
                self.eigenvalues,
                self.eigenvectors,
                self.eig_tol,
                self.dim,
                self.saddle_like,
                self.max_stable_lr,
                self.condition_number,
            )
        bend = _curvature_text(self.eigenvalues, self.eigenvectors, self.eig_tol, self.dim)
        if self.dim == 1:
            g = float(self.gradient[0])
            way = "left" if g > 0 else "right"
            head = f"not a critical point: the slope is {_num(g)}, so gradient descent moves {way}"
        else:
            d = -self.gradient / self.grad_norm
            head = (
                f"not a critical point: the gradient has length {_num(self.grad_norm)} and "
                f"steepest descent points along {_dir_text(d)}"
            )
        return f"{head}; {bend}."


def _undefined(p: np.ndarray, gtol: float, etol: float) -> PointAnalysis:
    d = p.shape[0]
    nan = float("nan")
    return PointAnalysis(
        position=_readonly(p),
        value=nan,
        gradient=_readonly(np.full(d, nan)),
        grad_norm=nan,
        hessian=_readonly(np.full((d, d), nan)),
        eigenvalues=_readonly(np.full(d, nan)),
        eigenvectors=_readonly(np.full((d, d), nan)),
        condition_number=nan,
        kind="regular",
        max_stable_lr=nan,
        defined=False,
        grad_tol=gtol,
        eig_tol=etol,
    )


def _condition(eigs: np.ndarray) -> float:
    if eigs.shape[0] == 1:
        return 1.0
    a = np.abs(eigs)
    mn = float(a.min())
    return float("inf") if mn == 0.0 else float(a.max()) / mn


def analyze_point(
    surface: Surface,
    p,
    *,
    grad_tol: float | None = None,
    eig_tol: float | None = None,
) -> PointAnalysis:
    """Curvature analysis of ``surface`` at one point.

    Parameters
    ----------
    surface : Surface
    p : array_like, shape (dim,) (or a scalar for a curve)
        The point. A non-finite point gives ``defined=False`` rather than an error.
    grad_tol : float, optional
        Absolute gradient-norm threshold below which the point is critical. Default
        ``GRAD_TOL * G`` (see the module docstring).
    eig_tol : float, optional
        Absolute threshold below which an eigenvalue counts as zero. Default
        ``EIG_TOL * C``.

    Returns
    -------
    PointAnalysis

    Raises
    ------
    ValueError
        If ``p`` does not have ``surface.dim`` coordinates.

    Examples
    --------
    >>> import simulator as sim
    >>> pa = sim.analyze_point(sim.get_surface("saddle"), (0.0, 0.0))
    >>> pa.kind, pa.eigenvalues
    ('saddle', array([-2.,  2.]))
    >>> print(pa.describe())  # doctest: +ELLIPSIS
    a saddle: curves up along (1, 0) (curvature 2), down along (0, 1) (curvature -2); ...
    """
    a = np.asarray(p, dtype=np.float64).reshape(-1)
    if a.shape[0] != surface.dim:
        raise ValueError(
            f"point must have {surface.dim} coordinate{'s' if surface.dim > 1 else ''} "
            f"for {surface.name!r}, got {a.shape[0]}"
        )
    _, _, G, C = surface_units(surface)
    gtol = GRAD_TOL * G if grad_tol is None else float(grad_tol)
    etol = EIG_TOL * C if eig_tol is None else float(eig_tol)
    if not np.all(np.isfinite(a)):
        return _undefined(a, gtol, etol)
    with _serial():
        f, g, H = surface.evaluate(a[None, :], order=2)
    f, g, H = float(f[0]), g[0], H[0]
    if not (math.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
        return _undefined(a, gtol, etol)
    H = 0.5 * (H + H.T)
    eigs, vecs = np.linalg.eigh(H)
    vecs = _fix_signs(vecs)
    gn = float(np.hypot.reduce(np.abs(g)))  # no overflow where the squares would (1e200)
    kind = "regular" if gn > gtol else _classify(eigs, etol)
    lam_max = float(eigs[-1])
    return PointAnalysis(
        position=_readonly(a),
        value=f,
        gradient=_readonly(g),
        grad_norm=gn,
        hessian=_readonly(H),
        eigenvalues=_readonly(eigs),
        eigenvectors=_readonly(vecs),
        condition_number=_condition(eigs),
        kind=kind,
        max_stable_lr=2.0 / lam_max if lam_max > 0.0 else float("inf"),
        defined=True,
        saddle_like=_saddle_like(surface, kind, eigs, a, f),
        grad_tol=gtol,
        eig_tol=etol,
    )
