"""Curvature diagnostics: what the Hessian says about a point, where the critical points
are, and when a run lingered near a saddle.

Everything here is plain numpy on top of :meth:`Surface.evaluate`, so the numbers are the
exact value, gradient and Hessian the optimizers see. Three questions are answered:

``analyze_point(surface, p)``
    Value, gradient, Hessian, its eigen-decomposition, the condition number, the largest
    learning rate plain gradient descent is stable with, and the kind of point
    (``"minimum"``, ``"maximum"``, ``"saddle"``, ``"degenerate"`` or ``"regular"``).
``find_critical_points(surface)``
    Every critical point in the domain: damped Newton (Levenberg-Marquardt on
    ``||grad L||^2``) from a grid of seeds, all seeds at once; for curves, sign changes of
    L' refined by bisection.
``saddle_episodes(surface, positions)``
    The stretches of a trajectory spent near a saddle (``describe_episode`` turns one
    into a sentence for the GUI).

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
import hashlib
import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .surface import Domain, Surface

__all__ = [
    "CP_GRAD_TOL",
    "DEDUPE_TOL",
    "EIG_TOL",
    "EPISODE_RADIUS",
    "GRAD_TOL",
    "KINDS",
    "RING",
    "CriticalPoint",
    "PointAnalysis",
    "SaddleEpisode",
    "analyze_point",
    "describe_episode",
    "find_critical_points",
    "saddle_episodes",
    "surface_units",
]

KINDS = ("minimum", "maximum", "saddle", "degenerate", "regular")

GRAD_TOL = 1e-6
"""analyze_point: critical when ||g|| <= GRAD_TOL * G."""
CP_GRAD_TOL = 1e-8
"""find_critical_points: a converged point is kept when ||g|| <= CP_GRAD_TOL * G."""
EIG_TOL = 1e-6
"""An eigenvalue counts as zero when |lambda| <= EIG_TOL * C."""
DEDUPE_TOL = 1e-4
"""Critical points closer than DEDUPE_TOL * (search-domain diagonal) are one point."""
RING = 1e-3
"""Radius (fraction of L) of the ring that tests a degenerate point for lower ground."""
EPISODE_RADIUS = 0.03
"""Default saddle-episode radius as a fraction of the domain diagonal (3 %)."""

_GRID_SEEDS_2D = 48  # seeds per axis for find_critical_points on a surface
_GRID_1D = 4001  # grid points for the sign-change scan on a curve
_MAX_ITER = 100  # Newton iterations (most seeds stop after < 10)
_FREE_ITER = 20  # first iterations take full (capped) Newton steps, non-monotone
_BISECT_ITER = 64

_KIND_ORDER = {"minimum": 0, "saddle": 1, "degenerate": 2, "maximum": 3, "regular": 4}

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
_cp_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# surface -> (its critical points list, the saddles' default episode radii); the radii
# compare every saddle with every critical point: 5 ms a run on Rastrigin's lattice
_radii_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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


# ---- find_critical_points ---------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CriticalPoint:
    """A point where the gradient vanishes.

    Made by :func:`find_critical_points`; the parameters are also the attributes.

    Parameters
    ----------
    position : ndarray, shape (dim,)
    value : float
    kind : str
        ``"minimum"``, ``"maximum"``, ``"saddle"`` or ``"degenerate"``.
    eigenvalues : ndarray, shape (dim,)
        Hessian eigenvalues, ascending.
    eigenvectors : ndarray, shape (dim, dim)
        Matching unit eigenvectors in columns.
    saddle_like : bool
        True for saddles and for degenerate points with both lower and higher ground
        nearby (the monkey saddle, an inflection point of a curve): the points where a
        run can linger and then leave downhill.
    """

    position: np.ndarray
    value: float
    kind: str
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    saddle_like: bool = False

    @property
    def dim(self) -> int:
        return int(self.position.shape[0])

    def describe(self) -> str:
        """A short teaching sentence naming the point and how the surface bends there."""
        eigs = np.asarray(self.eigenvalues)
        lam_max = float(eigs[-1])
        max_lr = 2.0 / lam_max if lam_max > 0 else float("inf")
        # eig_tol is only used for degenerate points, whose zero eigenvalues are ~0
        scale = float(np.max(np.abs(eigs))) if eigs.size else 0.0
        etol = max(1e-9 * scale, 1e-300)
        text = _critical_text(
            self.kind,
            eigs,
            self.eigenvectors,
            etol if self.kind != "degenerate" else max(etol, float(np.min(np.abs(eigs)))),
            self.dim,
            self.saddle_like,
            max_lr,
            _condition(eigs),
        )
        return f"{_point_text(self.position)} is {text}"

    def __repr__(self) -> str:
        return (
            f"CriticalPoint({self.kind}, position={_point_text(self.position)}, "
            f"value={self.value:.6g})"
        )


def _newton_step(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Newton steps ``d = -H^-1 g`` for stacked H (m, d, d); where H is (nearly)
    singular, a Levenberg-Marquardt step ``-(H^2 + mu I)^-1 H g`` with a small ``mu``
    instead. Both are descent directions for ``||g||^2``."""
    if H.shape[1] == 1:
        h = H[:, 0, 0]
        gg = g[:, 0]
        with np.errstate(all="ignore"):
            newton = -gg / h
            lm = -(h * gg) / (h * h + 1e-12 * np.maximum(h * h, 1e-300))
        sing = ~(np.abs(h) > 1e-300) | ~np.isfinite(newton)
        return np.where(sing, lm, newton)[:, None]
    a, b, c = H[:, 0, 0], H[:, 0, 1], H[:, 1, 1]
    g1, g2 = g[:, 0], g[:, 1]
    det = a * c - b * b
    fro2 = a * a + 2.0 * b * b + c * c
    with np.errstate(all="ignore"):
        n1 = -(c * g1 - b * g2) / det
        n2 = -(a * g2 - b * g1) / det
        # LM: A = H H + mu I, r = -H g
        mu = 1e-8 * fro2 + 1e-300
        A11 = a * a + b * b + mu
        A12 = b * (a + c)
        A22 = b * b + c * c + mu
        r1 = -(a * g1 + b * g2)
        r2 = -(b * g1 + c * g2)
        dl = A11 * A22 - A12 * A12
        l1 = (A22 * r1 - A12 * r2) / dl
        l2 = (A11 * r2 - A12 * r1) / dl
    sing = ~(np.abs(det) > 1e-10 * fro2) | ~np.isfinite(n1) | ~np.isfinite(n2)
    return np.column_stack([np.where(sing, l1, n1), np.where(sing, l2, n2)])


def _finite_rows(f, g, H) -> np.ndarray:
    return np.isfinite(f) & np.all(np.isfinite(g), axis=1) & np.all(np.isfinite(H), axis=(1, 2))


def _newton(surface: Surface, x0: np.ndarray, lo, hi, gstop: float) -> np.ndarray:
    """Damped Newton on the gradient from every row of ``x0`` at once.

    The first ``_FREE_ITER`` iterations take full Newton steps (capped at a quarter of
    the box diagonal): pure Newton is not monotone in ``||g||^2`` but crosses curved
    valleys (Rosenbrock) in a few steps where a monotone search crawls. After that each
    step ``t d`` needs an Armijo decrease of ``||g||^2`` (``t`` starts at 1, is divided
    by 4 on failure and reset on success). Returns the final points
    (rows that went non-finite or left the box by more than a quarter are nan).
    """
    x = np.array(x0, dtype=np.float64)
    ext = hi - lo
    diag = float(np.sqrt(np.sum(ext * ext)))
    cap = 0.25 * diag
    blo, bhi = lo - 0.25 * ext, hi + 0.25 * ext  # seeds leaving this box are dropped
    f, g, H = surface.evaluate(x, order=2)
    ok = _finite_rows(f, g, H)
    x[~ok] = np.nan
    phi = np.sum(g * g, axis=1)
    t = np.ones(len(x))
    d = np.zeros_like(x)
    fresh = np.ones(len(x), dtype=bool)  # needs a new direction
    active = ok & (phi > 0.0)
    for it in range(_MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        nf = idx[fresh[idx]]
        if nf.size:
            dn = _newton_step(H[nf], g[nf])
            nd = np.sqrt(np.sum(dn * dn, axis=1))
            with np.errstate(all="ignore"):
                shrink = np.minimum(1.0, cap / nd)
            dn = dn * np.where(np.isfinite(shrink), shrink, 0.0)[:, None]
            d[nf] = dn
            fresh[nf] = False
        step = t[idx, None] * d[idx]
        xn = x[idx] + step
        good = np.all(np.isfinite(xn), axis=1)
        fn, gn, Hn = surface.evaluate(np.where(good[:, None], xn, x[idx]), order=2)
        phin = np.sum(gn * gn, axis=1)
        acc = good & _finite_rows(fn, gn, Hn)
        if it >= _FREE_ITER:  # after the free phase: monotone in ||g||^2 (Armijo)
            acc &= phin <= (1.0 - 1e-4 * t[idx]) * phi[idx]
        ia, ir = idx[acc], idx[~acc]
        x[ia], g[ia], H[ia], phi[ia] = xn[acc], gn[acc], Hn[acc], phin[acc]
        t[ia] = 1.0
        fresh[ia] = True
        t[ir] *= 0.25
        # stopping rules
        ns = np.sqrt(np.sum(step * step, axis=1))
        tiny_step = acc & (ns <= 1e-10 * diag)
        stuck = ~acc & (np.sqrt(phi[idx]) <= gstop)  # cannot improve, already converged
        outside = np.any((x[idx] < blo) | (x[idx] > bhi), axis=1)
        failed = ~acc & (t[idx] < 1e-9)  # line search gave up: a false minimum of ||g||
        done = tiny_step | stuck | failed | outside | (phi[idx] == 0.0)
        active[idx[done]] = False
        x[idx[outside]] = np.nan
    return x


def _bisect_roots(surface: Surface, lo: float, hi: float) -> np.ndarray:
    """Roots of L' on [lo, hi]: sign changes on a dense grid, refined by bisection."""
    w = np.linspace(lo, hi, _GRID_1D)
    g = surface.gradient(w[:, None])[:, 0]
    fin = np.isfinite(g)
    exact = np.flatnonzero(fin & (g == 0.0))
    s = np.sign(g)
    br = np.flatnonzero(fin[:-1] & fin[1:] & (s[:-1] * s[1:] < 0))
    a, b = w[br].copy(), w[br + 1].copy()
    ga = g[br].copy()
    for _ in range(_BISECT_ITER):
        if a.size == 0:
            break
        mid = 0.5 * (a + b)
        gm = surface.gradient(mid[:, None])[:, 0]
        same = np.sign(gm) == np.sign(ga)
        a = np.where(same, mid, a)
        ga = np.where(same, gm, ga)
        b = np.where(same, b, mid)
    # local minima of |g| that are not sign changes: even-multiplicity roots (w^3 at 0)
    ag = np.where(fin, np.abs(g), np.inf)
    loc = np.flatnonzero((ag[1:-1] <= ag[:-2]) & (ag[1:-1] <= ag[2:]) & np.isfinite(ag[1:-1]))
    loc = loc + 1
    roots = np.concatenate([w[exact], 0.5 * (a + b), w[loc]])
    return roots[:, None]


def _seed_grid(domain: Domain, n: int) -> np.ndarray:
    axes = [lo + (np.arange(n) + 0.5) * (hi - lo) / n for lo, hi in domain]
    if len(axes) == 1:
        return axes[0][:, None]
    X, Y = np.meshgrid(axes[0], axes[1])
    return np.column_stack([X.ravel(), Y.ravel()])


def _dedupe(x: np.ndarray, gnorm: np.ndarray, tol: float) -> np.ndarray:
    """Indices of representatives: points closer than ``tol`` merge (smallest ||g|| wins)."""
    order = np.argsort(gnorm, kind="stable")
    x = x[order]
    # exact duplicates first (most seeds converge to bit-identical points)
    q = np.round(x / (0.01 * tol)).astype(np.int64) if tol > 0 else x
    _, first = np.unique(q, axis=0, return_index=True)
    first = np.sort(first)
    kept: list[int] = []
    for i in first:
        if kept:
            d = np.sqrt(np.sum((x[kept] - x[i]) ** 2, axis=1))
            if np.any(d <= tol):
                continue
        kept.append(int(i))
    return order[np.array(kept, dtype=np.int64)]


def _collapse_degenerate(x, kinds, spacing) -> np.ndarray:
    """Keep one representative per connected piece of degenerate points (a flat valley
    or plateau of critical points gives one per seed otherwise). Returns a keep mask."""
    keep = np.ones(len(kinds), dtype=bool)
    deg = np.flatnonzero(np.array([k == "degenerate" for k in kinds], dtype=bool))
    if deg.size < 2:
        return keep
    pts = x[deg]
    parent = list(range(deg.size))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    d = np.sqrt(np.sum((pts[:, None, :] - pts[None, :, :]) ** 2, axis=-1))
    ii, jj = np.nonzero(np.triu(d <= 1.5 * spacing, 1))
    for i, j in zip(ii.tolist(), jj.tolist()):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    for k in range(deg.size):
        if find(k) != k:
            keep[deg[k]] = False
    return keep


def _seeds_key(seeds) -> object:
    if seeds is None:
        return None
    if isinstance(seeds, (int, np.integer)):
        return ("n", int(seeds))
    a = np.ascontiguousarray(seeds, dtype=np.float64)
    return ("a", a.shape, hashlib.sha1(a.tobytes()).hexdigest())


def find_critical_points(
    surface: Surface,
    domain: Domain | None = None,
    *,
    seeds=None,
    tol: float = CP_GRAD_TOL,
) -> list[CriticalPoint]:
    """All critical points of ``surface`` inside ``domain``.

    Surfaces (dim 2): damped Newton on the gradient (Levenberg-Marquardt steps
    ``-(H^2 + mu I)^-1 H g`` accepted only when they decrease ``||g||^2``, so it finds
    saddles and maxima as well as minima) from a grid of seeds, all seeds advanced
    together in numpy. Curves (dim 1): sign changes of L' on a 4001-point grid refined by
    bisection, plus Newton from the local minima of ``|L'|`` (double roots such as the
    inflection point of ``w**3``). Seeds that reach undefined (nan) regions are dropped.

    Parameters
    ----------
    surface : Surface
    domain : tuple of (lo, hi) pairs, optional
        The search box (default ``surface.domain``). Points on its boundary count.
    seeds : int or array_like, optional
        An int is the number of grid seeds per axis (default 48 for surfaces); an
        (m, dim) array gives the seeds explicitly. The known minima and the centre of
        the domain are always added.
    tol : float
        Relative gradient tolerance: a converged point is kept when
        ``||grad L|| <= tol * G`` (``G`` = value spread / domain diagonal).

    Returns
    -------
    list of CriticalPoint
        Deduplicated (points closer than ``DEDUPE_TOL`` times the search-domain diagonal
        are one), classified like :func:`analyze_point`, sorted: minima by value, then
        saddles, degenerate points and maxima, each by value. A connected continuum of
        degenerate critical points (a flat valley or plateau) is reported by one
        representative. Results are cached per surface object.

    Examples
    --------
    >>> import simulator as sim
    >>> cps = sim.find_critical_points(sim.get_surface("himmelblau"))
    >>> [c.kind for c in cps].count("minimum"), [c.kind for c in cps].count("saddle")
    (4, 4)
    >>> cps[-1].kind
    'maximum'
    """
    dom = surface.domain if domain is None else tuple((float(a), float(b)) for a, b in domain)
    if len(dom) != surface.dim or any(not (lo < hi) for lo, hi in dom):
        raise ValueError(f"domain must be {surface.dim} pairs (lo, hi) with lo < hi")
    key = (dom, _seeds_key(seeds), float(tol))
    with _lock:
        per = _cp_cache.get(surface)
        hit = None if per is None else per.get(key)
    if hit is not None:
        return list(hit)
    with _serial():
        result = _find_critical_points(surface, dom, seeds, float(tol))
    with _lock:
        per = _cp_cache.get(surface)
        if per is None:
            per = {}
            _cp_cache[surface] = per
        if len(per) > 16:
            per.clear()
        per[key] = tuple(result)
    return list(result)


def _find_critical_points(surface, dom, seeds, tol) -> list[CriticalPoint]:
    dim = surface.dim
    lo = np.array([a for a, _ in dom])
    hi = np.array([b for _, b in dom])
    ext = hi - lo
    diag = float(np.sqrt(np.sum(ext * ext)))
    L, F, G, C = surface_units(surface)
    gtol = tol * G
    etol = EIG_TOL * C

    if seeds is None or isinstance(seeds, (int, np.integer)):
        n = _GRID_SEEDS_2D if seeds is None else max(1, int(seeds))
        grid = _seed_grid(dom, n) if dim == 2 else np.empty((0, 1))
        spacing = float(np.max(ext)) / n
    else:
        grid = np.asarray(seeds, dtype=np.float64).reshape(-1, dim)
        spacing = diag / max(1.0, math.sqrt(len(grid)))
    extra = [np.array(surface.center, dtype=np.float64)[None, :]]
    extra += [np.array(m, dtype=np.float64).reshape(1, dim) for m in surface.minima]
    if dim == 1:
        extra.append(_bisect_roots(surface, float(lo[0]), float(hi[0])))
        spacing = float(ext[0]) / (_GRID_1D - 1)
    x0 = np.concatenate([grid] + extra, axis=0)
    x0 = x0[np.all(np.isfinite(x0), axis=1)]
    if x0.size == 0:
        return []

    x = _newton(surface, x0, lo, hi, gtol)
    x = x[np.all(np.isfinite(x), axis=1)]
    slack = 1e-9 * diag
    x = x[np.all((x >= lo - slack) & (x <= hi + slack), axis=1)]
    if x.size == 0:
        return []
    f, g, H = surface.evaluate(x, order=2)
    ok = _finite_rows(f, g, H)
    gnorm = np.sqrt(np.sum(g * g, axis=1))
    ok &= gnorm <= gtol
    x, f, g, H, gnorm = x[ok], f[ok], g[ok], H[ok], gnorm[ok]
    if x.size == 0:
        return []
    keep = _dedupe(x, gnorm, DEDUPE_TOL * diag)
    x, f, H = x[keep], f[keep], H[keep]
    H = 0.5 * (H + np.swapaxes(H, 1, 2))
    eigs, vecs = np.linalg.eigh(H)
    vecs = _fix_signs(vecs)
    kinds = [_classify(e, etol) for e in eigs]
    mask = _collapse_degenerate(x, kinds, spacing)
    out = []
    for i in np.flatnonzero(mask):
        kind = kinds[i]
        out.append(
            CriticalPoint(
                position=_readonly(x[i]),
                value=float(f[i]),
                kind=kind,
                eigenvalues=_readonly(eigs[i]),
                eigenvectors=_readonly(vecs[i]),
                saddle_like=_saddle_like(surface, kind, eigs[i], x[i], f[i]),
            )
        )
    out.sort(key=lambda c: (_KIND_ORDER[c.kind], c.value, tuple(c.position.tolist())))
    return out


# ---- saddle episodes ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SaddleEpisode:
    """A stretch of a run spent near one saddle.

    Made by :func:`saddle_episodes` (and ``Trajectory.saddle_episodes``); the parameters
    are also the attributes.

    Parameters
    ----------
    enter : int
        The first step (row of ``positions``) within the radius.
    exit : int or None
        The first step outside again, or None if the run ends still near the saddle.
    saddle : CriticalPoint
    last : int
        The last step within the radius (``exit - 1`` when the run left).
    """

    enter: int
    exit: int | None
    saddle: CriticalPoint
    last: int

    @property
    def steps(self) -> int:
        """How many steps the run spent near the saddle (``last - enter + 1``)."""
        return self.last - self.enter + 1

    def __repr__(self) -> str:
        return (
            f"SaddleEpisode(enter={self.enter}, exit={self.exit}, "
            f"saddle={_point_text(self.saddle.position)}, steps={self.steps})"
        )


def _assign_nearest(cols: list[np.ndarray], S: np.ndarray, R: np.ndarray) -> np.ndarray:
    """For each position the index of the nearest saddle ``k`` with the position inside
    its radius ``R[k]``, else -1.

    ``cols`` holds the position coordinates as 1-D arrays (views of the columns are
    fine: the work is elementwise, never a reduction along rows); they must be finite.
    """
    n = cols[0].shape[0]
    dim = len(cols)
    if len(S) == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64)
    R = np.asarray(R, dtype=np.float64)
    x = cols[0]
    if dim == 1:  # curves have few saddle-like points: one pass each
        best = np.full(n, -1, dtype=np.int64)
        bestd = np.full(n, np.inf)
        for k in range(len(S)):
            d = np.abs(x - S[k, 0])
            ok = (d <= R[k]) & (d < bestd)
            best[ok] = k
            bestd[ok] = d[ok]
        return best
    # Surfaces: hash positions into square cells of side ~max(R)/4. Each cell lists the
    # saddles whose disc touches it (usually 0 or 1, a few on dense lattices
    # like Rastrigin's); a cell lying wholly inside the disc of its only saddle needs no
    # distance check. Cost: ~15 passes over the positions plus a few per candidate.
    y = cols[1]
    sx, sy = S[:, 0], S[:, 1]
    r = float(R.max())
    ox, oy = sx.min() - r, sy.min() - r
    span = max(sx.max() - ox + r, sy.max() - oy + r)
    side = max(r / 4.0, span / 1000.0)  # at most ~1e6 cells
    nx = int((sx.max() + r - ox) / side) + 1
    ny = int((sy.max() + r - oy) / side) + 1
    reach = int(math.ceil(r / side)) + 1
    off = np.arange(-reach, reach + 1)
    scx = np.floor((sx - ox) / side).astype(np.int64)
    scy = np.floor((sy - oy) / side).astype(np.int64)
    cx = scx[:, None, None] + off[None, :, None]  # (k, m, 1)
    cy = scy[:, None, None] + off[None, None, :]  # (k, 1, m)
    cx, cy = np.broadcast_arrays(cx, cy)
    own = np.broadcast_to(np.arange(len(S))[:, None, None], cx.shape)
    x0, y0 = ox + cx * side, oy + cy * side  # cell rectangles [x0, x0 + side] x ...
    px, py = sx[:, None, None], sy[:, None, None]
    rk = R[:, None, None]
    slack = 1e-9 * side
    dxn = np.maximum(np.maximum(x0 - px, px - (x0 + side)), 0.0)
    dyn = np.maximum(np.maximum(y0 - py, py - (y0 + side)), 0.0)
    touch = (dxn * dxn + dyn * dyn <= (rk + slack) ** 2) & (cx >= 0) & (cx < nx)
    touch &= (cy >= 0) & (cy < ny)
    dxf = np.maximum(np.abs(x0 - px), np.abs(x0 + side - px)) + slack
    dyf = np.maximum(np.abs(y0 - py), np.abs(y0 + side - py)) + slack
    full = dxf * dxf + dyf * dyf <= rk * rk
    ckey = ((cx + 1) * (ny + 2) + (cy + 1))[touch]
    cown = own[touch]
    cfull = full[touch]
    o = np.argsort(ckey, kind="stable")
    ckey, cown, cfull = ckey[o], cown[o], cfull[o]
    ukeys, start, count = np.unique(ckey, return_index=True, return_counts=True)
    # cell -> (row in the unique table) + 1, 0 for no saddle; a direct owner for cells
    # wholly inside the disc of their only saddle
    lut = np.zeros((nx + 2) * (ny + 2), dtype=np.int32)
    lut[ukeys] = np.arange(1, len(ukeys) + 1)
    # per table row (with a sentinel row 0 for "no saddle"): the direct owner, or -1
    direct = np.full(len(ukeys) + 1, -1, dtype=np.int64)
    single = (count == 1) & cfull[start]
    direct[1:][single] = cown[start][single]
    check = np.concatenate([[False], ~single])

    def cell(c, o0, n_):
        t = c - o0
        t *= 1.0 / side
        np.floor(t, out=t)
        np.clip(t, -1.0, float(n_), out=t)
        t += 1.0
        return t

    kx = cell(x, ox, nx)
    kx *= ny + 2
    kx += cell(y, oy, ny)
    key = kx.astype(np.int32 if lut.size < 2**31 else np.int64)
    del kx
    rowp1 = lut[key]
    best = direct[rowp1]  # -1 outside every disc, the owner where no check is needed
    sub = np.flatnonzero(check[rowp1])
    if sub.size == 0:
        return best
    row = rowp1[sub] - 1
    qx, qy = x[sub], y[sub]
    R2 = R * R
    bestd = np.full(sub.size, np.inf)
    bk = np.full(sub.size, -1, dtype=np.int64)
    cnt = count[row]
    st = start[row]
    for t in range(int(cnt.max())):
        cand = np.flatnonzero(cnt > t) if t else np.arange(sub.size)
        k = cown[st[cand] + t]
        d2 = (qx[cand] - sx[k]) ** 2 + (qy[cand] - sy[k]) ** 2
        ok = (d2 <= R2[k]) & (d2 < bestd[cand])
        c = cand[ok]
        bestd[c] = d2[ok]
        bk[c] = k[ok]
    best[sub] = bk
    return best


def saddle_episodes(
    surface: Surface,
    positions,
    critical_points: list[CriticalPoint] | None = None,
    radius: float | None = None,
    min_steps: int = 10,
) -> list[SaddleEpisode]:
    """The stretches of a trajectory spent near saddles.

    Parameters
    ----------
    surface : Surface
    positions : array_like, shape (n, dim) (or (n,) for a curve)
        A run's positions; row i is the position after step i (row 0 is the start).
        Non-finite rows (a diverged run) are never near anything.
    critical_points : list of CriticalPoint, optional
        Default :func:`find_critical_points` of ``surface`` (cached). Only saddle-like
        points are used: saddles, and degenerate points with lower ground nearby (the
        monkey saddle).
    radius : float, optional
        How near counts as "near", the same for every saddle. Default, per saddle: 3 %
        of the domain diagonal (``EPISODE_RADIUS * surface.scale``, about the size of a
        marker on the contour map), but never more than half the distance to the
        nearest other critical point (on Rastrigin's dense lattice a fixed 3 % would
        cover nearly the whole domain).
    min_steps : int
        Shortest episode reported (consecutive rows within the radius).

    Returns
    -------
    list of SaddleEpisode
        Sorted by ``enter``. A row near two saddles counts for the nearer one.

    Examples
    --------
    Gradient descent started on the stable manifold of ``x^2 - y^2`` stays on it:

    >>> import simulator as sim
    >>> sad = sim.get_surface("saddle")
    >>> run = sim.simulate(sad, sim.SGD(lr=0.1), start=(1.0, 0.0), steps=300)
    >>> sim.saddle_episodes(sad, run.positions)
    [SaddleEpisode(enter=8, exit=None, saddle=(0, 0), steps=293)]
    """
    pos = np.asarray(positions, dtype=np.float64)
    if surface.dim == 1 and pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] != surface.dim:
        raise ValueError(f"positions must have shape (n, {surface.dim}), got {np.shape(positions)}")
    cps = find_critical_points(surface) if critical_points is None else critical_points
    saddles = [c for c in cps if c.saddle_like]
    n = pos.shape[0]
    if not saddles or n == 0:
        return []
    S = np.array([c.position for c in saddles], dtype=np.float64).reshape(-1, surface.dim)
    if radius is None:
        hit = _radii_cache.get(surface)
        if hit is not None and len(hit[0]) == len(cps) and all(
                a is b for a, b in zip(hit[0], cps)):  # the same points (a list's copy)
            R = hit[1]
        else:
            R = np.full(len(S), EPISODE_RADIUS * surface.scale)
            P = np.array([c.position for c in cps], dtype=np.float64).reshape(-1, surface.dim)
            if len(P) > 1:  # never reach more than halfway to another critical point
                d = np.sqrt(np.sum((S[:, None, :] - P[None, :, :]) ** 2, axis=-1))
                d[d == 0.0] = np.inf
                R = np.minimum(R, 0.5 * d.min(axis=1))
            with contextlib.suppress(TypeError):  # a surface that cannot be weakly held
                _radii_cache[surface] = (tuple(cps), R)
    else:
        R = np.full(len(S), float(radius))
    r = float(R.max())
    cols = [pos[:, k] for k in range(pos.shape[1])]  # views; copied only to edit
    bl = np.array([c.min() for c in cols])
    bh = np.array([c.max() for c in cols])
    if not (np.all(np.isfinite(bl)) and np.all(np.isfinite(bh))):
        # a diverged run: park its non-finite rows far from every saddle
        bad = ~np.isfinite(cols[0])
        for c in cols[1:]:
            bad |= ~np.isfinite(c)
        if bad.all():
            return []
        cols = [c.copy() for c in cols]  # never write into the caller's array
        bl = np.array([c[~bad].min() for c in cols])
        bh = np.array([c[~bad].max() for c in cols])
        for c, lo_ in zip(cols, bl):
            c[bad] = lo_ - 10.0 * r - 1.0
    # keep only saddles within reach of the run's bounding box
    Rc = R[:, None]
    near = np.flatnonzero(np.all((S >= bl - Rc) & (S <= bh + Rc), axis=1))
    if near.size == 0:
        return []
    idx = _assign_nearest(cols, S[near], R[near])
    # runs of equal idx
    change = np.flatnonzero(idx[1:] != idx[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    lab = idx[starts]
    sel = (lab >= 0) & (ends - starts >= max(1, int(min_steps)))
    lab = near[np.maximum(lab, 0)]
    out = []
    for s0, e0, k in zip(starts[sel].tolist(), ends[sel].tolist(), lab[sel].tolist()):
        out.append(
            SaddleEpisode(enter=s0, exit=None if e0 >= n else e0, saddle=saddles[k], last=e0 - 1)
        )
    return out


def describe_episode(ep: SaddleEpisode, lane_name: str) -> str:
    """A sentence for the GUI saying where and how long a run stayed near a saddle.

    For example ``"Momentum lingered near the saddle at (0, 0) for steps 40-309 (270
    steps)"`` or ``"GD sat on the saddle at (0, 0) from step 12 to the end"``.

    Parameters
    ----------
    ep : SaddleEpisode
    lane_name : str
        The optimizer lane's display name.

    Returns
    -------
    str

    Examples
    --------
    >>> import simulator as sim
    >>> run = sim.simulate(sim.get_surface("saddle"), sim.SGD(lr=0.1), start=(1.0, 0.0),
    ...                    steps=300)
    >>> [sim.describe_episode(e, "GD") for e in run.saddle_episodes]
    ['GD sat on the saddle at (0, 0) from step 8 to the end']
    """
    what = "saddle" if ep.saddle.kind == "saddle" else "flat saddle"
    where = _point_text(ep.saddle.position)
    if ep.exit is None:
        return f"{lane_name} sat on the {what} at {where} from step {ep.enter} to the end"
    return (
        f"{lane_name} lingered near the {what} at {where} for steps {ep.enter}-{ep.last} "
        f"({ep.steps} steps)"
    )
