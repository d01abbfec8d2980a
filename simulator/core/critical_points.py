"""Critical points of a surface: where the gradient vanishes, and what kind of point each is.

``find_critical_points(surface)`` runs damped Newton (Levenberg-Marquardt on
``||grad L||^2``) from a grid of seeds, all seeds advanced together in numpy; on a curve,
sign changes of L' are refined by bisection. Each point found is classified by its
Hessian exactly as :func:`simulator.core.diagnostics.analyze_point` classifies a point
(the units and tolerances are described there), deduplicated and sorted. The results are
cached per surface object, here only: :func:`cached_critical_points` reads the cache (the
app's views ask it before searching in a worker thread).
"""

from __future__ import annotations

import hashlib
import math
import weakref
from dataclasses import dataclass

import numpy as np

from .diagnostics import (
    EIG_TOL,
    _classify,
    _condition,
    _critical_text,
    _fix_signs,
    _lock,
    _point_text,
    _readonly,
    _saddle_like,
    _serial,
    surface_units,
)
from .surface import Domain, Surface

__all__ = [
    "CP_GRAD_TOL",
    "DEDUPE_TOL",
    "CriticalPoint",
    "cached_critical_points",
    "find_critical_points",
]

CP_GRAD_TOL = 1e-8
"""find_critical_points: a converged point is kept when ||g|| <= CP_GRAD_TOL * G."""
DEDUPE_TOL = 1e-4
"""Critical points closer than DEDUPE_TOL * (search-domain diagonal) are one point."""

_GRID_SEEDS_2D = 48  # seeds per axis for find_critical_points on a surface
_GRID_1D = 4001  # grid points for the sign-change scan on a curve
_MAX_ITER = 100  # Newton iterations (most seeds stop after < 10)
_FREE_ITER = 20  # first iterations take full (capped) Newton steps, non-monotone
_BISECT_ITER = 64

_KIND_ORDER = {"minimum": 0, "saddle": 1, "degenerate": 2, "maximum": 3, "regular": 4}

_cp_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
    key = _cache_key(surface, domain, seeds, tol)
    hit = _cached(surface, key)
    if hit is not None:
        return hit
    try:
        with _serial():
            result = tuple(_find_critical_points(surface, key[0], seeds, float(tol)))
    except Exception as e:
        _remember(surface, key, e)  # a surface the search cannot handle: said at once
        raise
    _remember(surface, key, result)
    return list(result)


def cached_critical_points(surface: Surface, domain: Domain | None = None, *, seeds=None,
                           tol: float = CP_GRAD_TOL) -> list[CriticalPoint] | None:
    """What :func:`find_critical_points` gives for these arguments when it has already
    run on them (its cache, the one store of critical points: the app's views read it
    too), else None; never searches. A search that failed raises its error again."""
    return _cached(surface, _cache_key(surface, domain, seeds, tol))


def _cache_key(surface, domain, seeds, tol) -> tuple:
    dom = surface.domain if domain is None else tuple((float(a), float(b)) for a, b in domain)
    if len(dom) != surface.dim or any(not (lo < hi) for lo, hi in dom):
        raise ValueError(f"domain must be {surface.dim} pairs (lo, hi) with lo < hi")
    return (dom, _seeds_key(seeds), float(tol))


def _cached(surface, key) -> list[CriticalPoint] | None:
    with _lock:
        per = _cp_cache.get(surface)
        hit = None if per is None else per.get(key)
    if isinstance(hit, Exception):
        raise hit.with_traceback(None)
    return None if hit is None else list(hit)


def _remember(surface, key, result) -> None:
    """Keep ``result`` (the points, or the error the search raised) for ``surface``: at
    most 16 searches of other boxes, seeds or tolerances besides the default one."""
    default = (tuple(surface.domain), _seeds_key(None), float(CP_GRAD_TOL))
    with _lock:
        per = _cp_cache.get(surface)
        if per is None:
            per = {}
            _cp_cache[surface] = per
        if len(per) > 16:
            for k in [k for k in per if k != default]:
                del per[k]
        per[key] = result


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
