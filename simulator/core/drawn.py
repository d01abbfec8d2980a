"""Brush-drawn surfaces: Gaussian hills and wells on a base surface, and surface files.

A drawn surface is a base (flat, a bowl, any library or typed surface) plus a list of
Gaussian bumps ``(cx, cy, amplitude, sigma)``::

    L(x, y) = base(x, y) + sum_k amplitude_k exp(-((x - cx_k)^2 + (y - cy_k)^2) / (2 sigma_k^2))

The bumps are evaluated in the numba kernels (``kernels.field.bumps_fgh``) together with
the base, so value, gradient and Hessian are exact and optimizers run at full speed.

A brush stroke (the path of a mouse drag) becomes bumps along the path, spaced a fraction
of sigma apart, all with one amplitude chosen so that the stroke is a smooth ridge (or
trench) whose highest point rises exactly ``height`` above the base: a click makes one
hill, a drag a ridge, and scribbling over the same place does not pile up.

Serialising *any* surface to a small JSON-ready dict and back lives in
:mod:`simulator.core.surface_io` (``surface_to_dict``, ``surface_from_dict``, surface
files); the old names here still work. The form::

    {"kind": "builtin", "name": "rosenbrock", "params": {"a": 1, "b": 100},
     "domain": [[-2, 2], [-1, 3]]}
    {"kind": "expression", "formula": "x**2 + 10*y**2", "domain": [[-3, 3], [-3, 3]]}
    {"kind": "flat", "domain": [[-3, 3], [-3, 3]]}
    {"kind": "data", "name": "linear-regression", "params": {"n": 64, "seed": 0, ...}}
    {"kind": "drawn", "base": {<one of the above>}, "bumps": [[cx, cy, amp, sigma], ...]}

``domain`` is optional everywhere (the surface's own default when missing). The lab
file spellings ``"library"`` (for ``"builtin"``) and ``"formula"`` (for ``"expression"``)
are read too. Every problem is a ``ValueError`` naming its place, e.g.
``bumps[3][3]: sigma must be > 0, got -1``.

Never imports Qt.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .kernels.field import SID_LINREG, SID_LOGREG
from .surface import SID_EXPR, SID_FLAT, Surface

__all__ = [
    "FORMAT",
    "VERSION",
    "MAX_BUMPS",
    "Stroke",
    "flat_surface",
    "bowl_surface",
    "base_of",
    "bumps_of",
    "check_bumps",
    "drawn_surface",
    "stroke_bumps",
    "erase_mask",
    "height_scale",
]

FORMAT = "losslab-surface"
VERSION = 1
MAX_NAME = 200  # characters of a surface's name in a file (a 5 MB one froze the app)
MAX_BUMPS = 2000  # each bump costs one exp per evaluation: keep redraws interactive
MAX_FILE_BYTES = 5_000_000
MAX_ABS = 1e12  # bump centres, amplitudes and sigmas beyond this are typos, not drawings
DEFAULT_DOMAIN = ((-3.0, 3.0), (-3.0, 3.0))
STROKE_SPACING = 0.5  # bumps along a stroke are this many sigmas apart
_SQRT_2PI = math.sqrt(2.0 * math.pi)



# ---- places in error messages ------------------------------------------------------------
def _at(place: str, key) -> str:
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else str(key)


def _err(place: str, msg: str) -> ValueError:
    return ValueError(f"{place}: {msg}" if place else msg)


def _show(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def _number(v, place: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise _err(place, f"must be a number, got {_show(v)}")
    f = float(v)
    if not math.isfinite(f):
        raise _err(place, f"must be finite, got {_show(v)}")
    if abs(f) > MAX_ABS:
        raise _err(place, f"must be at most {MAX_ABS:g} in size, got {_show(v)}")
    return f


# ---- bases ----------------------------------------------------------------------------------
def flat_surface(domain=DEFAULT_DOMAIN) -> Surface:
    """The plane L = 0 over ``domain``: a blank sheet to draw hills and wells on."""
    dom = _domain(domain, 2, "domain") if domain is not None else DEFAULT_DOMAIN
    return Surface(
        name="flat",
        dim=2,
        domain=dom,
        sid=SID_FLAT,
        kind="flat",
        formula="0",
        description=(
            "A flat plane: draw hills (drag) and wells (Shift+drag) on it and watch how "
            "optimizers find their way through the landscape you made."
        ),
    )


def bowl_surface(domain=None) -> Surface:
    """The round bowl x^2 + y^2 (the library's ``quadratic``), optionally over ``domain``."""
    from .library import get_surface

    s = get_surface("quadratic")
    if domain is not None:
        s = dataclasses.replace(s, domain=_domain(domain, 2, "domain"))
    return s


def _base_kind(s: Surface) -> str:
    if s.sid == SID_FLAT:
        return "flat"
    if s.sid == SID_EXPR:
        return "expression"
    if s.sid in (SID_LINREG, SID_LOGREG):
        return "data"
    return "builtin"


def bumps_of(surface: Surface) -> np.ndarray:
    """The drawn bumps of ``surface`` as an (n, 4) array (empty when none)."""
    return np.array(surface.bumps, dtype=np.float64).reshape(-1, 4)


def base_of(surface: Surface) -> Surface:
    """``surface`` without its drawn bumps, as it was before drawing (library surfaces
    get their known minima back). A surface that is not drawn is returned as is.

    A surface made by :func:`drawn_surface` carries its base's description in
    ``params["base"]``; for one made directly with ``Surface.with_bumps`` (which keeps
    the base's name, formula and parameters) the base is rebuilt from those.
    """
    if not len(surface.bumps) and surface.kind != "drawn":
        return surface
    spec = surface.params.get("base") if isinstance(surface.params, dict) else None
    if not isinstance(spec, dict):
        kind = _base_kind(surface)
        if kind == "flat":
            spec = {"kind": "flat"}
        elif kind == "expression":
            spec = {"kind": "expression", "formula": surface.formula or surface.name}
        else:
            spec = {"kind": kind, "name": surface.name, "params": dict(surface.params)}
    from .surface_io import surface_from_dict

    spec = {**spec, "domain": [[float(lo), float(hi)] for lo, hi in surface.domain]}
    try:
        return surface_from_dict(spec)
    except ValueError:
        # cannot be rebuilt by name: strip the bumps and keep everything else
        return dataclasses.replace(surface, bumps=np.zeros((0, 4)),
                                   kind=_base_kind(surface))


# ---- bumps ------------------------------------------------------------------------------------
def check_bumps(bumps, place: str = "bumps") -> np.ndarray:
    """Validate bumps ``[[cx, cy, amplitude, sigma], ...]`` into an (n, 4) float array.

    Raises
    ------
    ValueError
        Naming the first bad place, e.g. ``bumps[3][3]: sigma must be > 0, got -1``.
    """
    if isinstance(bumps, np.ndarray):
        arr = bumps
        if arr.size == 0:
            return np.zeros((0, 4), dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise _err(place, f"must be an (n, 4) array of [cx, cy, amplitude, sigma], "
                              f"got shape {arr.shape}")
        rows = arr.tolist()
    elif isinstance(bumps, (list, tuple)):
        rows = bumps
    else:
        raise _err(place, f"must be a list of [cx, cy, amplitude, sigma] bumps, got "
                          f"{type(bumps).__name__}")
    if len(rows) > MAX_BUMPS:
        raise _err(place, f"has {len(rows)} bumps; at most {MAX_BUMPS}")
    out = np.empty((len(rows), 4), dtype=np.float64)
    for i, row in enumerate(rows):
        p = _at(place, i)
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise _err(p, f"must be [cx, cy, amplitude, sigma], got {_show(row)}")
        for j, what in enumerate(("cx", "cy", "amplitude")):
            try:
                out[i, j] = _number(row[j], _at(p, j))
            except ValueError as e:
                raise ValueError(str(e).replace(": must", f": {what} must", 1)) from None
        try:
            sig = _number(row[3], _at(p, 3))
        except ValueError as e:
            raise ValueError(str(e).replace(": must", ": sigma must", 1)) from None
        if not sig > 0:
            raise _err(_at(p, 3), f"sigma must be > 0, got {_show(row[3])}")
        out[i, 3] = sig
    return out


def drawn_surface(base: Surface, bumps, name: str | None = None) -> Surface:
    """``base`` with Gaussian ``bumps`` (cx, cy, amplitude, sigma) added on top.

    Parameters
    ----------
    base : Surface
        A 2-D surface without bumps of its own (see :func:`base_of`).
    bumps : array-like, shape (n, 4)
        Validated with :func:`check_bumps` (finite values, sigma > 0, at most
        ``MAX_BUMPS``).
    name : str, optional
        Display name; ``"drawn on <base name>"`` by default.

    Returns
    -------
    Surface
        ``kind="drawn"`` (or ``base`` itself when there are no bumps).
    """
    if not isinstance(base, Surface):
        raise ValueError(f"base must be a Surface, got {type(base).__name__}")
    if base.dim != 2:
        raise ValueError(f"base must be a 2-D surface (x, y); {base.name!r} is a 1-D curve")
    if len(base.bumps) or base.kind == "drawn":
        raise ValueError("base is already a drawn surface: draw on base_of(surface)")
    b = check_bumps(bumps)
    if not len(b):
        return base
    n = len(b)
    hills = int((b[:, 2] > 0).sum())
    wells = n - hills
    what = ", ".join(p for p in (
        f"{hills} hill bump{'s' if hills != 1 else ''}" if hills else "",
        f"{wells} well bump{'s' if wells != 1 else ''}" if wells else "") if p)
    s = base.with_bumps(b, name=name or f"drawn on {base.name}")
    from .surface_io import surface_to_dict

    s = dataclasses.replace(
        s,
        params={"base": surface_to_dict(base)},
        formula=f"{base.formula or base.name} + {n} Gaussian bump{'s' if n != 1 else ''}",
        description=(
            f"Drawn with the brush on {base.name}: {what}, each a Gaussian "
            "a\u00b7exp(-r\u00b2 / 2\u03c3\u00b2). Value, gradient and Hessian are exact, "
            "so every diagnostic works here as on the library surfaces."
        ),
    )
    return s


@dataclass
class Stroke:
    """One brush stroke: the path of a drag in surface coordinates.

    Parameters
    ----------
    points : list of (x, y)
        The mouse positions in order (a single point is a click).
    radius : float
        Brush radius; the bumps' sigma is half of it, so a hill is about as wide as
        the brush circle.
    height : float
        Height of the ridge above the base (negative digs a well / trench).
    """

    points: list = field(default_factory=list)
    radius: float = 0.5
    height: float = 1.0

    @property
    def sigma(self) -> float:
        return 0.5 * float(self.radius)

    def add(self, x: float, y: float) -> None:
        if math.isfinite(x) and math.isfinite(y):
            self.points.append((float(x), float(y)))

    def bumps(self, spacing: float = STROKE_SPACING) -> np.ndarray:
        return stroke_bumps(self.points, self.sigma, self.height, spacing)


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` of arc length along a polyline (first and last included)."""
    if len(points) < 2:
        return points[:1].copy()
    seg = np.diff(points, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    keep = np.r_[True, seglen > 0]
    points = points[keep]
    if len(points) < 2:
        return points[:1].copy()
    seg = np.diff(points, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    s = np.r_[0.0, np.cumsum(seglen)]
    total = s[-1]
    n = max(1, int(math.ceil(total / step - 1e-9)))
    t = np.linspace(0.0, total, n + 1)
    x = np.interp(t, s, points[:, 0])
    y = np.interp(t, s, points[:, 1])
    return np.column_stack([x, y])


def stroke_bumps(points, sigma: float, height: float,
                 spacing: float = STROKE_SPACING) -> np.ndarray:
    """The bumps of one brush stroke: a smooth ridge (height > 0) or trench (< 0).

    The path is resampled every ``spacing * sigma`` of arc length and one bump of width
    ``sigma`` sits at each sample. All bumps share one amplitude, chosen so that the
    highest point of the stroke (over the samples) is exactly ``height`` above the
    base: a click gives one bump of that height, a straight drag a ridge of that height
    (a Gaussian comb this dense has no visible ripple: it is below 1e-30 of the height
    at half-sigma spacing), and going back and forth over one place does not pile up.

    Returns
    -------
    ndarray, shape (n, 4)
        Rows ``(cx, cy, amplitude, sigma)``; empty when there are no points or
        ``height`` is 0.
    """
    sigma = float(sigma)
    height = float(height)
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    if not math.isfinite(height):
        raise ValueError(f"height must be finite, got {height!r}")
    if not (math.isfinite(spacing) and spacing > 0):
        raise ValueError(f"spacing must be > 0, got {spacing!r}")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(pts) or height == 0.0:
        return np.zeros((0, 4), dtype=np.float64)
    c = _resample(pts, spacing * sigma)
    if len(c) > MAX_BUMPS:
        # a very long stroke: widen the spacing rather than refuse it (still smooth up to
        # about sigma; beyond that the drawing is clipped to MAX_BUMPS bumps)
        c = _resample(pts, max(spacing * sigma, _length(pts) / (MAX_BUMPS - 1)))[:MAX_BUMPS]
    d2 = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    peak = np.exp(-d2 / (2.0 * sigma * sigma)).sum(1).max()
    amp = height / peak
    out = np.empty((len(c), 4), dtype=np.float64)
    out[:, :2] = c
    out[:, 2] = amp
    out[:, 3] = sigma
    return out


def _length(pts: np.ndarray) -> float:
    if len(pts) < 2:
        return 0.0
    d = np.diff(pts, axis=0)
    return float(np.hypot(d[:, 0], d[:, 1]).sum())


def erase_mask(bumps, points, radius: float) -> np.ndarray:
    """Which bumps an eraser stroke removes: those whose centre lies within ``radius``
    of the eraser's path (a polyline through ``points``). Returns a boolean (n,) mask."""
    b = np.asarray(bumps, dtype=np.float64).reshape(-1, 4)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if not len(b) or not len(pts):
        return np.zeros(len(b), dtype=bool)
    c = b[:, :2]
    r2 = float(radius) ** 2
    if len(pts) == 1:
        return ((c - pts[0]) ** 2).sum(1) <= r2
    a = pts[:-1]
    ab = pts[1:] - a
    L2 = (ab ** 2).sum(1)
    L2 = np.where(L2 > 0, L2, 1.0)
    # distance from every centre to every segment: (n, m)
    t = ((c[:, None, :] - a[None, :, :]) * ab[None, :, :]).sum(-1) / L2[None, :]
    t = np.clip(t, 0.0, 1.0)
    q = a[None, :, :] + t[..., None] * ab[None, :, :]
    d2 = ((c[:, None, :] - q) ** 2).sum(-1)
    return d2.min(1) <= r2


def height_scale(base: Surface, n: int = 41) -> float:
    """A height unit for the brush on ``base``: the spread of its values over the domain
    (between the 5th and 95th percentiles), or 1 for a flat base."""
    try:
        _, v = base.grid(n)
    except Exception:  # noqa: BLE001 - a base that cannot be sampled: unit heights
        return 1.0
    v = np.asarray(v, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if not len(v):
        return 1.0
    lo, hi = np.percentile(v, [5.0, 95.0])
    spread = float(hi - lo)
    if not (math.isfinite(spread) and spread > 1e-12):
        return 1.0
    # one significant digit, so the strength readout shows round heights
    e = math.floor(math.log10(spread))
    return float(f"{round(spread / 10**e) * 10**e:.3g}") or 1.0


# ---- domains ---------------------------------------------------------------------------------
def _domain(v, dim: int | None, place: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(v, (list, tuple)) or not 1 <= len(v) <= 2:
        raise _err(place, "must be a list of one or two [low, high] pairs")
    if dim is not None and len(v) != dim:
        raise _err(place, f"must have {dim} pair{'s' if dim != 1 else ''} for this "
                          f"surface, got {len(v)}")
    out = []
    for i, pair in enumerate(v):
        p = _at(place, i)
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _err(p, f"must be [low, high], got {_show(pair)}")
        lo = _number(pair[0], _at(p, 0))
        hi = _number(pair[1], _at(p, 1))
        if not lo < hi:
            raise _err(p, f"low must be below high, got [{lo:g}, {hi:g}]")
        out.append((lo, hi))
    return tuple(out)


# ---- serialisation: moved to surface_io (one serialiser for every surface) ------------------
_MOVED = ("surface_to_dict", "surface_from_dict", "surface_file_dict", "surface_from_file_dict",
          "save_surface", "load_surface")


def __getattr__(name: str):
    """The serialisers now live in :mod:`simulator.core.surface_io`; the old names here
    keep working (``drawn.surface_to_dict`` and friends)."""
    if name in _MOVED:
        from . import surface_io

        return getattr(surface_io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
