"""The Surface: a loss function with exact value, gradient and Hessian.

Every surface, built-in, typed, drawn or data-defined, is a thin Python object around a
*spec* (see ``simulator.core.kernels.field``): plain arrays that the numba kernels
evaluate. The same kernels serve the optimizer loops, the diagnostics and the views, so
what a student sees on the contour map is exactly what the optimizer descends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .kernels.field import SID_EXPR, SID_FLAT, SID_LINREG, SID_LOGREG  # noqa: F401

Domain = tuple[tuple[float, float], ...]

_EMPTY_F1 = np.zeros(0, dtype=np.float64)
_EMPTY_CODE = np.zeros((0, 4), dtype=np.int64)
_EMPTY_HDR = np.zeros(8, dtype=np.int64)
_EMPTY_BUMPS = np.zeros((0, 4), dtype=np.float64)
_EMPTY_X = np.zeros((0, 2), dtype=np.float64)


def _f1(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1)


@dataclass(frozen=True, eq=False)
class Surface:
    """A loss surface L(x, y) (dim 2) or loss curve L(w) (dim 1).

    Parameters
    ----------
    name : str
        Library name (``"rosenbrock"``), or the formula text for typed surfaces.
    dim : int
        1 for a curve L(w), 2 for a surface L(x, y).
    domain : tuple of (lo, hi) pairs
        The default region shown and searched, one pair per dimension.
    sid : int
        Kernel id: a built-in id, ``SID_EXPR``, ``SID_FLAT``, ``SID_LINREG`` or
        ``SID_LOGREG``.
    prm, code, consts, hdr, bumps, X, Y : ndarray
        The kernel spec parts (see ``simulator.core.kernels.field``); empty when unused.
    minima : tuple of points
        Known minimisers (global first), where they are known; each a tuple of ``dim``
        floats.
    min_value : float or None
        The known global minimum value, where it is known.
    description : str
        One teaching paragraph: what the surface shows a student.
    formula : str
        The formula in plain text, for display.
    params : dict
        The user-facing parameters this surface was built with (e.g. ``condition``).
    kind : str
        ``"builtin"``, ``"expression"``, ``"drawn"``, ``"data"`` or ``"function"`` (a
        Python function with its gradient, ``sim.surface_from_function``).
    log_scale : bool
        Whether views should default to a log colour scale (values span decades).
    variables : tuple of str
        Axis names: ``("w",)``, ``("x",)``, ``("x", "y")`` or ``("w1", "w2")``.
    impl : object or None
        Kind ``"function"`` only: its evaluator and trajectory loop
        (:class:`simulator.core.functions.FunctionImpl`); None for every other kind.
    """

    name: str
    dim: int
    domain: Domain
    sid: int
    prm: np.ndarray = field(default_factory=lambda: _EMPTY_F1)
    code: np.ndarray = field(default_factory=lambda: _EMPTY_CODE)
    consts: np.ndarray = field(default_factory=lambda: _EMPTY_F1)
    hdr: np.ndarray = field(default_factory=lambda: _EMPTY_HDR)
    bumps: np.ndarray = field(default_factory=lambda: _EMPTY_BUMPS)
    X: np.ndarray = field(default_factory=lambda: _EMPTY_X)
    Y: np.ndarray = field(default_factory=lambda: _EMPTY_F1)
    minima: tuple[tuple[float, ...], ...] = ()
    min_value: float | None = None
    description: str = ""
    formula: str = ""
    params: dict = field(default_factory=dict)
    kind: str = "builtin"
    log_scale: bool = False
    variables: tuple[str, ...] = ()
    impl: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ValueError(f"dim must be 1 or 2, got {self.dim!r}")
        dom = tuple((float(lo), float(hi)) for lo, hi in self.domain)
        if len(dom) != self.dim or any(not (lo < hi) for lo, hi in dom):
            raise ValueError(f"domain must be {self.dim} pairs (lo, hi) with lo < hi")
        object.__setattr__(self, "domain", dom)
        object.__setattr__(self, "prm", _f1(self.prm))
        object.__setattr__(
            self, "code", np.ascontiguousarray(self.code, dtype=np.int64).reshape(-1, 4)
        )
        object.__setattr__(self, "consts", _f1(self.consts))
        object.__setattr__(self, "hdr", np.ascontiguousarray(self.hdr, dtype=np.int64))
        object.__setattr__(
            self, "bumps", np.ascontiguousarray(self.bumps, dtype=np.float64).reshape(-1, 4)
        )
        object.__setattr__(
            self, "X", np.ascontiguousarray(self.X, dtype=np.float64).reshape(-1, 2)
        )
        object.__setattr__(self, "Y", _f1(self.Y))
        if not self.variables:
            object.__setattr__(self, "variables", ("w",) if self.dim == 1 else ("x", "y"))
        for a in (self.prm, self.code, self.consts, self.hdr, self.bumps, self.X, self.Y):
            a.setflags(write=False)

    # ---- kernel view ---------------------------------------------------------------
    @property
    def spec(self) -> tuple:
        """The tuple of arrays the numba kernels take (one numba type for all)."""
        return (
            np.int64(self.sid),
            np.int64(self.dim),
            self.prm,
            self.code,
            self.consts,
            self.hdr,
            self.bumps,
            self.X,
            self.Y,
        )

    @property
    def nreg(self) -> int:
        """Registers a formula program needs (at least 8)."""
        return max(8, int(self.hdr[0]))

    # ---- evaluation --------------------------------------------------------------------
    def _points(self, p) -> tuple[np.ndarray, bool]:
        a = np.asarray(p, dtype=np.float64)
        single = a.ndim <= 1
        if self.dim == 1 and a.ndim <= 1 and (a.ndim == 0 or a.shape[-1] != 1):
            # a scalar w, or a 1-D array of w values
            single = a.ndim == 0
            a = a.reshape(-1, 1)
        else:
            a = np.atleast_2d(a)
        if a.ndim != 2 or a.shape[1] != self.dim:
            raise ValueError(
                f"{self.name}: points must have shape ({self.dim},) or (n, {self.dim}), "
                f"got {np.shape(p)}"
            )
        return np.ascontiguousarray(a), single

    def evaluate(self, p, order: int = 2):
        """Value, gradient and (order 2) Hessian at one point or an (n, dim) array."""
        from .kernels.loops import eval_points

        pts, single = self._points(p)
        n = pts.shape[0]
        out = np.empty((n, 6), dtype=np.float64)
        xs = np.ascontiguousarray(pts[:, 0])
        ys = np.ascontiguousarray(pts[:, 1]) if self.dim == 2 else np.zeros(n)
        run = eval_points if self.impl is None else self.impl.eval_points  # kind "function"
        run(self.spec, xs, ys, int(order), out, self.nreg)
        f = out[:, 0]
        g = out[:, 1 : 1 + self.dim]
        if self.dim == 1:
            h = out[:, 3:4].reshape(n, 1, 1)
        else:
            h = np.stack(
                [np.stack([out[:, 3], out[:, 4]], -1), np.stack([out[:, 4], out[:, 5]], -1)],
                -2,
            )
        if single:
            return f[0], g[0].copy(), h[0].copy()
        return f.copy(), g.copy(), h.copy()

    def value(self, p):
        """L at ``p`` (shape (dim,) -> float; (n, dim) -> (n,))."""
        return self.evaluate(p, order=0)[0]

    def gradient(self, p):
        """Exact gradient at ``p`` (shape (dim,) or (n, dim))."""
        return self.evaluate(p, order=1)[1]

    def hessian(self, p):
        """Exact Hessian at ``p`` (shape (dim, dim) or (n, dim, dim))."""
        return self.evaluate(p, order=2)[2]

    def grid(self, n: int = 200, domain: Domain | None = None):
        """Values on an n x n grid (dim 2) or n points (dim 1) over the domain.

        Returns ``(axes, values)``: for dim 2, ``axes = (xs, ys)`` and ``values[j, i]`` is
        L(xs[i], ys[j]); for dim 1, ``axes = (ws,)`` and ``values`` has shape (n,).
        Undefined points are nan.
        """
        dom = self.domain if domain is None else domain
        if self.dim == 1:
            ws = np.linspace(dom[0][0], dom[0][1], n)
            return (ws,), self.value(ws.reshape(-1, 1))
        xs = np.linspace(dom[0][0], dom[0][1], n)
        ys = np.linspace(dom[1][0], dom[1][1], n)
        X, Y = np.meshgrid(xs, ys)
        v = self.value(np.column_stack([X.ravel(), Y.ravel()])).reshape(n, n)
        return (xs, ys), v

    # ---- derived surfaces ------------------------------------------------------------------
    def with_bumps(self, bumps, name: str | None = None) -> Surface:
        """This surface with Gaussian bumps (cx, cy, amplitude, sigma) added on top."""
        from dataclasses import replace

        if self.impl is not None:
            raise ValueError(f"{self.name}: bumps cannot be drawn on a surface made from a "
                             "Python function; write it as a formula to draw on it")
        b = np.ascontiguousarray(bumps, dtype=np.float64).reshape(-1, 4)
        return replace(
            self,
            bumps=b,
            name=name or self.name,
            kind="drawn" if len(b) else self.kind,
            minima=() if len(b) else self.minima,
            min_value=None if len(b) else self.min_value,
        )

    @property
    def scale(self) -> float:
        """The domain's diagonal length: the natural length unit of this surface."""
        return float(np.sqrt(sum((hi - lo) ** 2 for lo, hi in self.domain)))

    @property
    def center(self) -> tuple[float, ...]:
        return tuple(0.5 * (lo + hi) for lo, hi in self.domain)

    def __repr__(self) -> str:
        from .summary import surface_repr

        return surface_repr(self)

    def _repr_html_(self) -> str:
        from .summary import surface_html

        return surface_html(self)


def check_point(surface: Surface, p: Sequence[float] | float, what: str = "start") -> np.ndarray:
    """Validate a point for ``surface``: right dimension and finite, else ValueError."""
    a = np.asarray(p, dtype=np.float64).reshape(-1)
    if a.shape[0] != surface.dim:
        raise ValueError(
            f"{what} must have {surface.dim} coordinate{'s' if surface.dim > 1 else ''} "
            f"for {surface.name!r}, got {a.shape[0]}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be finite, got {tuple(a.tolist())}")
    return a


def check_compiled(surface, what: str) -> None:
    """ValueError when ``surface`` was made from a Python function (kind ``"function"``)
    and ``what`` needs the kernels' own surface code (a formula, a library surface)."""
    if getattr(surface, "impl", None) is not None:
        raise ValueError(
            f"{what} needs a surface the kernels evaluate themselves; {surface.name!r} is a "
            "Python function (sim.surface_from_function with grad=). Write it as a formula "
            "(sim.surface_from_expression, or surface_from_function without grad= when the "
            "function traces), or run sim.simulate once per start"
        )
