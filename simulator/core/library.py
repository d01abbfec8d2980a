"""The built-in surface library: named surfaces with exact value, gradient and Hessian.

Each library entry builds a :class:`~simulator.core.surface.Surface` around a numba kernel
(``simulator.core.kernels.surfaces``, dispatched on an integer id) and the kernel's
parameter array ``prm``. The factories here lay that array out; the layouts are::

    quadratic, ravine   S_QUADFORM   [a, b, c, d]: 0.5 (a x^2 + 2 b x y + c y^2) + d
    rosenbrock          S_ROSENBROCK [a, b]
    rastrigin           S_RASTRIGIN  [A]
    ackley              S_ACKLEY     [a, b, c]
    two-wells           S_TWOWELLS   [x1, y1, k1, x2, y2, k2] (sharp well first)
    plateau             S_PLATEAU    [1 / width^2]
    parabola            S_PARABOLA   [a, c]
    double-well         S_DOUBLEWELL [tilt]
    bumpy               S_BUMPY      [amplitude, frequency]
    (all others)        no parameters (empty ``prm``)

The data surfaces (``linear-regression``, ``logistic-regression``) come from
:mod:`simulator.core.datasets`.

Examples
--------
>>> s = get_surface("ravine", condition=100)
>>> s.dim, s.minima[0]
(2, (0.0, 0.0))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .kernels import surfaces as K
from .surface import Surface

__all__ = ["ParamSpec", "get_surface", "list_surfaces", "surface_parameters"]


@dataclass(frozen=True)
class ParamSpec:
    """One user-facing parameter of a library surface (enough to build a slider).

    Parameters
    ----------
    name : str
        The keyword ``get_surface`` takes.
    default : float
        Value used when the parameter is not given.
    lo, hi : float
        Allowed range (inclusive); values outside raise ``ValueError``.
    log : bool
        Whether a slider should move on a log scale.
    label : str
        Short label for the UI.
    help : str
        One sentence for a tooltip.
    integer : bool
        Whether only whole numbers are allowed (``n``, ``seed``).
    """

    name: str
    default: float
    lo: float
    hi: float
    log: bool = False
    label: str = ""
    help: str = ""
    integer: bool = False


@dataclass(frozen=True)
class _Entry:
    name: str
    dim: int
    params: tuple[ParamSpec, ...]
    build: Callable[[dict], Surface]


_REGISTRY: dict[str, _Entry] = {}


def _register(name: str, dim: int, *params: ParamSpec):
    def deco(fn: Callable[[dict], Surface]) -> Callable[[dict], Surface]:
        _REGISTRY[name] = _Entry(name, dim, tuple(params), fn)
        return fn

    return deco


def _prm(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# ---- 2-D teaching surfaces ---------------------------------------------------------------
@_register("quadratic", 2)
def _quadratic(p: dict) -> Surface:
    return Surface(
        name="quadratic",
        dim=2,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        sid=K.S_QUADFORM,
        prm=_prm(2.0, 0.0, 2.0, 0.0),
        minima=((0.0, 0.0),),
        min_value=0.0,
        description=(
            "The round bowl: every direction has the same curvature (Hessian 2 I), so the "
            "gradient always points straight at the minimum. Plain gradient descent walks "
            "there in a straight line; it converges for any learning rate below 1 "
            "(= 2 / curvature), reaches the minimum in one step at exactly 0.5, and "
            "oscillates and then diverges above 1. The baseline every other surface is "
            "compared with."
        ),
        formula="x^2 + y^2",
        params=p,
    )


@_register(
    "ravine",
    2,
    ParamSpec(
        "condition",
        10.0,
        1.0,
        1000.0,
        True,
        "Condition number",
        "Ratio of the largest to the smallest Hessian eigenvalue (curvatures 2 and 2 / condition).",
    ),
    ParamSpec(
        "angle",
        30.0,
        -90.0,
        90.0,
        False,
        "Angle (degrees)",
        "Direction of the valley floor, measured from the x axis.",
    ),
)
def _ravine(p: dict) -> Surface:
    lmax = 2.0
    lmin = 2.0 / p["condition"]
    th = math.radians(p["angle"])
    c, s = math.cos(th), math.sin(th)
    # valley floor (curvature lmin) along u = (c, s), steep walls (lmax) along v = (-s, c)
    a = lmin * c * c + lmax * s * s
    b = (lmin - lmax) * c * s
    cc = lmin * s * s + lmax * c * c
    return Surface(
        name="ravine",
        dim=2,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        sid=K.S_QUADFORM,
        prm=_prm(a, b, cc, 0.0),
        minima=((0.0, 0.0),),
        min_value=0.0,
        description=(
            "A long, narrow, tilted valley: a quadratic bowl whose curvature is 2 across "
            "the valley and 2 / condition along it. The steep walls cap the learning rate "
            "(gradient descent diverges above 2 / 2 = 1), and at that rate progress along "
            "the gentle floor is slow, so plain gradient descent zigzags between the walls "
            "while creeping down the valley. Raise the condition number to see how badly it "
            "scales; momentum averages the zigzag away and adaptive methods rescale the "
            "axes, though only partly because the valley is not aligned with x or y."
        ),
        formula=(
            "(2 v^2 + (2/condition) u^2) / 2, u = x cos(angle) + y sin(angle), "
            "v = -x sin(angle) + y cos(angle)"
        ),
        params=p,
    )


@_register(
    "rosenbrock",
    2,
    ParamSpec("a", 1.0, -3.0, 3.0, False, "a", "The minimum sits at (a, a^2)."),
    ParamSpec(
        "b",
        100.0,
        0.1,
        1000.0,
        True,
        "b",
        "Steepness of the valley walls; larger b makes the valley narrower.",
    ),
)
def _rosenbrock(p: dict) -> Surface:
    a, b = p["a"], p["b"]
    dom = ((min(-2.0, a - 1.0), max(2.0, a + 1.0)), (min(-1.0, a * a - 1.0), max(3.0, a * a + 1.0)))
    return Surface(
        name="rosenbrock",
        dim=2,
        domain=dom,
        sid=K.S_ROSENBROCK,
        prm=_prm(a, b),
        minima=((a, a * a),),
        min_value=0.0,
        description=(
            "Rosenbrock's banana: a narrow valley that curves along the parabola y = x^2. "
            "Finding the valley is easy, following it to the minimum at (1, 1) is hard: "
            "the walls are about a hundred times steeper than the floor, so plain gradient "
            "descent needs a small learning rate and then zigzags slowly along the bend. "
            "Momentum builds speed along the floor and adaptive methods (RMSprop, Adam) "
            "rescale the steep and gentle directions, which is why it is the classic "
            "optimizer benchmark."
        ),
        formula="(a - x)^2 + b (y - x^2)^2",
        params=p,
        log_scale=True,
    )


@_register("saddle", 2)
def _saddle(p: dict) -> Surface:
    return Surface(
        name="saddle",
        dim=2,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        sid=K.S_SADDLE,
        prm=_prm(),
        minima=(),
        min_value=None,
        description=(
            "The simplest saddle point: a minimum along x and a maximum along y, with zero "
            "gradient at the origin. Gradient descent started exactly on the x axis walks "
            "into the saddle and stops there; any tiny y offset (or gradient noise) grows "
            "each step and carries it away. It shows why saddles, not bad local minima, "
            "are what slows training in high dimensions, and why noise helps. The surface "
            "is unbounded below, so every escaping run diverges."
        ),
        formula="x^2 - y^2",
        params=p,
    )


_TW_SHARP = (-1.5, 1.0)
_TW_FLAT = (1.0, -1.0)


@_register(
    "two-wells",
    2,
    ParamSpec(
        "curvature_sharp",
        16.0,
        1.0,
        400.0,
        True,
        "Sharp curvature",
        "Hessian eigenvalue (both directions) at the sharp minimum at (-1.5, 1).",
    ),
    ParamSpec(
        "curvature_flat",
        1.0,
        0.01,
        100.0,
        True,
        "Flat curvature",
        "Hessian eigenvalue (both directions) at the flat minimum at (1, -1).",
    ),
)
def _two_wells(p: dict) -> Surface:
    k1, k2 = p["curvature_sharp"], p["curvature_flat"]
    return Surface(
        name="two-wells",
        dim=2,
        domain=((-3.0, 3.0), (-3.0, 3.0)),
        sid=K.S_TWOWELLS,
        prm=_prm(*_TW_SHARP, k1, *_TW_FLAT, k2),
        minima=(_TW_SHARP, _TW_FLAT),
        min_value=0.0,
        description=(
            "Two minima of exactly the same depth (0): a sharp, narrow one at (-1.5, 1) "
            "(Hessian 16 I by default) and a flat, wide one at (1, -1) (Hessian I), joined "
            "by a single saddle. Gradient descent can only settle in a minimum whose "
            "curvature is below 2 / learning rate, so with a learning rate above 2/16 it is "
            "thrown out of the sharp well and ends in the flat one. This is the "
            "'large learning rates (and noise) prefer flat minima' effect from deep "
            "learning, in two dimensions."
        ),
        formula=(
            "q1 q2 / (q1 + q2), q1 = (k1/2)((x + 1.5)^2 + (y - 1)^2), "
            "q2 = (k2/2)((x - 1)^2 + (y + 1)^2)"
        ),
        params=p,
    )


@_register(
    "plateau",
    2,
    ParamSpec(
        "width",
        1.0,
        0.2,
        4.0,
        True,
        "Basin width",
        "Radius scale of the basin; outside about 3 widths the surface is flat.",
    ),
)
def _plateau(p: dict) -> Surface:
    w = p["width"]
    return Surface(
        name="plateau",
        dim=2,
        domain=((-4.0, 4.0), (-4.0, 4.0)),
        sid=K.S_PLATEAU,
        prm=_prm(1.0 / (w * w)),
        minima=((0.0, 0.0),),
        min_value=0.0,
        description=(
            "A round basin in the middle of a vast, almost perfectly flat plateau at height "
            "1. Out on the plateau the gradient is tiny (about 1e-6 at distance 4), so "
            "plain gradient descent barely moves and looks 'stalled' though it is not at a "
            "minimum. Adaptive methods such as Adam and RMSprop divide by the gradient's "
            "recent size, take full-size steps anyway and find the basin. Vanishing "
            "gradients in a nutshell."
        ),
        formula="1 - exp(-(x^2 + y^2) / width^2)",
        params=p,
    )


# ---- classic optimisation test functions -----------------------------------------------------
_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.2831859912861696),
    (3.5844283403304917, -1.8481265269644036),
)


@_register("himmelblau", 2)
def _himmelblau(p: dict) -> Surface:
    return Surface(
        name="himmelblau",
        dim=2,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        sid=K.S_HIMMELBLAU,
        prm=_prm(),
        minima=_HIMMELBLAU_MINIMA,
        min_value=0.0,
        description=(
            "Himmelblau's function has four minima, all with value 0, plus a local maximum "
            "near (-0.27, -0.92) and four saddles between them. Which minimum an optimizer "
            "reaches depends on where it starts (and on its learning rate and momentum): a "
            "first look at basins of attraction, and at the fact that 'the' minimum of a "
            "non-convex loss is often not unique."
        ),
        formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        params=p,
    )


@_register("beale", 2)
def _beale(p: dict) -> Surface:
    return Surface(
        name="beale",
        dim=2,
        domain=((-4.5, 4.5), (-4.5, 4.5)),
        sid=K.S_BEALE,
        prm=_prm(),
        minima=((3.0, 0.5),),
        min_value=0.0,
        description=(
            "Beale's function: a flat central region with a thin curved valley leading to "
            "the minimum at (3, 0.5), surrounded by walls that rise to about 1e5 in the "
            "corners. Its values span many decades (use the log colour scale), so a "
            "learning rate that is safe near the minimum blows up near the edges, and one "
            "that is fast in the middle is far too large near the walls: a good test of "
            "gradient clipping and adaptive step sizes."
        ),
        formula="(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2",
        params=p,
        log_scale=True,
    )


@_register("booth", 2)
def _booth(p: dict) -> Surface:
    return Surface(
        name="booth",
        dim=2,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        sid=K.S_BOOTH,
        prm=_prm(),
        minima=((1.0, 3.0),),
        min_value=0.0,
        description=(
            "Booth's function is a convex quadratic with an off-centre minimum at (1, 3). "
            "Its constant Hessian [[10, 8], [8, 10]] has eigenvalues 18 and 2, so it is a "
            "mildly ill-conditioned, tilted bowl: gradient descent is stable below a "
            "learning rate of 2/18 and then converges steadily, but more slowly along the "
            "flat diagonal x = -y."
        ),
        formula="(x + 2 y - 7)^2 + (2 x + y - 5)^2",
        params=p,
    )


@_register("matyas", 2)
def _matyas(p: dict) -> Surface:
    return Surface(
        name="matyas",
        dim=2,
        domain=((-10.0, 10.0), (-10.0, 10.0)),
        sid=K.S_MATYAS,
        prm=_prm(),
        minima=((0.0, 0.0),),
        min_value=0.0,
        description=(
            "Matyas' function is a very flat convex bowl elongated along the diagonal "
            "y = x: its Hessian eigenvalues are 1 (across) and 0.04 (along), a condition "
            "number of 25. The gradient is small almost everywhere, so progress along the "
            "diagonal is slow for plain gradient descent even though nothing is tricky "
            "about the shape; momentum and adaptive methods help a lot."
        ),
        formula="0.26 (x^2 + y^2) - 0.48 x y",
        params=p,
    )


@_register("rastrigin", 2, ParamSpec("A", 10.0, 0.0, 100.0, False, "A", "Ripple height."))
def _rastrigin(p: dict) -> Surface:
    return Surface(
        name="rastrigin",
        dim=2,
        domain=((-5.12, 5.12), (-5.12, 5.12)),
        sid=K.S_RASTRIGIN,
        prm=_prm(p["A"]),
        minima=((0.0, 0.0),),
        min_value=0.0,
        description=(
            "Rastrigin's function is a bowl covered in an egg-crate of ripples: a local "
            "minimum near every integer point, with the global one at the origin. Gradient "
            "methods get trapped in the nearest dip; large learning rates, momentum and "
            "gradient noise can hop over the ripples and feel the bowl underneath. Set A to "
            "0 to remove the ripples and see the bowl alone."
        ),
        formula="2 A + x^2 + y^2 - A (cos(2 pi x) + cos(2 pi y))",
        params=p,
    )


@_register(
    "ackley",
    2,
    ParamSpec("a", 20.0, 0.0, 100.0, False, "a", "Depth of the central funnel."),
    ParamSpec("b", 0.2, 0.0, 2.0, False, "b", "How quickly the funnel flattens out."),
    ParamSpec("c", 2.0 * math.pi, 0.0, 20.0, False, "c", "Ripple frequency."),
)
def _ackley(p: dict) -> Surface:
    return Surface(
        name="ackley",
        dim=2,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        sid=K.S_ACKLEY,
        prm=_prm(p["a"], p["b"], p["c"]),
        minima=((0.0, 0.0),),
        min_value=0.0,
        description=(
            "Ackley's function: an almost flat, densely rippled outer region around a deep "
            "funnel with its tip at the origin. Far out, the many local minima and the "
            "weak overall slope trap gradient methods; only starts near the funnel reach "
            "the global minimum. The funnel's tip is a cone point (not differentiable); "
            "LossLab gives it gradient 0 and the ripples' curvature there."
        ),
        formula=("-a exp(-b sqrt((x^2 + y^2) / 2)) - exp((cos(c x) + cos(c y)) / 2) + a + e"),
        params=p,
    )


_CAMEL_MINIMA = (
    (0.08984201310031806, -0.7126564030207396),
    (-0.08984201310031806, 0.7126564030207396),
    (1.703606714969981, -0.7960835686726251),
    (-1.703606714969981, 0.7960835686726251),
    (1.6071047529201972, 0.5686514548841314),
    (-1.6071047529201972, -0.5686514548841314),
)


@_register("six-hump-camel", 2)
def _camel(p: dict) -> Surface:
    return Surface(
        name="six-hump-camel",
        dim=2,
        # the usual plotting window; all six minima lie inside it
        domain=((-2.0, 2.0), (-1.0, 1.0)),
        sid=K.S_CAMEL6,
        prm=_prm(),
        minima=_CAMEL_MINIMA,
        min_value=-1.0316284534898774,
        description=(
            "The six-hump camel function has six local minima: two global ones, mirror "
            "images at about (0.09, -0.71) and (-0.09, 0.71) with value -1.0316, and two "
            "pairs of shallower ones further out. Because of the symmetry, which global "
            "minimum you reach depends on the side you start on; starts near the edges "
            "settle in the local minima instead."
        ),
        formula="(4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2",
        params=p,
    )


_ST_LO = -2.903534027771177
_ST_HI = 2.746802770990837


@_register("styblinski-tang", 2)
def _styblinski(p: dict) -> Surface:
    return Surface(
        name="styblinski-tang",
        dim=2,
        domain=((-5.0, 5.0), (-5.0, 5.0)),
        sid=K.S_STYBLINSKI,
        prm=_prm(),
        minima=((_ST_LO, _ST_LO), (_ST_LO, _ST_HI), (_ST_HI, _ST_LO), (_ST_HI, _ST_HI)),
        min_value=-78.33233140754282,
        description=(
            "Styblinski-Tang is a sum of the same quartic double well in x and in y, tilted "
            "so that the negative side is deeper. That gives four minima at the corners of "
            "a square: the global one at about (-2.90, -2.90) with value -78.33, two "
            "mixed ones and the shallowest at (2.75, 2.75). Each coordinate independently "
            "picks a well, so the starting quadrant decides the answer."
        ),
        formula="(x^4 - 16 x^2 + 5 x + y^4 - 16 y^2 + 5 y) / 2",
        params=p,
    )


@_register("goldstein-price", 2)
def _goldstein(p: dict) -> Surface:
    return Surface(
        name="goldstein-price",
        dim=2,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        sid=K.S_GOLDSTEIN,
        prm=_prm(),
        minima=((0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)),
        min_value=3.0,
        description=(
            "The Goldstein-Price function has its global minimum 3 at (0, -1) and local "
            "minima with values 30, 84 and 840, while its values reach about 1e6 at the "
            "edges of the square. Such a range of scales (use the log colour scale) means "
            "no single learning rate suits the whole surface: plain gradient descent "
            "either crawls or explodes, and gradient clipping or adaptive methods are "
            "needed."
        ),
        formula=(
            "[1 + (x + y + 1)^2 (19 - 14 x + 3 x^2 - 14 y + 6 x y + 3 y^2)] "
            "* [30 + (2 x - 3 y)^2 (18 - 32 x + 12 x^2 + 48 y - 36 x y + 27 y^2)]"
        ),
        params=p,
        log_scale=True,
    )


# McCormick's critical points solve cos(x + y) = -1/2, x - y = 1; minima need
# sin(x + y) < 0: x + y = -2 pi / 3 (global) or 4 pi / 3 (local, inside the domain).
_MC_X1 = 0.5 - math.pi / 3.0
_MC_X2 = 0.5 + 2.0 * math.pi / 3.0


@_register("mccormick", 2)
def _mccormick(p: dict) -> Surface:
    return Surface(
        name="mccormick",
        dim=2,
        domain=((-1.5, 4.0), (-3.0, 4.0)),
        sid=K.S_MCCORMICK,
        prm=_prm(),
        minima=((_MC_X1, _MC_X1 - 1.0), (_MC_X2, _MC_X2 - 1.0)),
        min_value=-math.sqrt(3.0) / 2.0 - math.pi / 3.0,
        description=(
            "McCormick's function is a tilted trough along the line x - y = 1 with a sine "
            "wave running along its floor: the global minimum -1.9133 at about "
            "(-0.547, -1.547) and a second, shallower minimum at about (2.59, 1.59). An "
            "optimizer quickly drops into the trough, then has to follow its gentle, wavy "
            "floor; where it ends up depends on which side of the crest between the two "
            "dips it lands."
        ),
        formula="sin(x + y) + (x - y)^2 - 1.5 x + 2.5 y + 1",
        params=p,
    )


@_register("monkey-saddle", 2)
def _monkey(p: dict) -> Surface:
    return Surface(
        name="monkey-saddle",
        dim=2,
        domain=((-2.0, 2.0), (-2.0, 2.0)),
        sid=K.S_MONKEY,
        prm=_prm(),
        minima=(),
        min_value=None,
        description=(
            "The monkey saddle has three valleys and three ridges meeting at the origin "
            "(room for two legs and a tail). There the gradient and the whole Hessian "
            "vanish, so the second-derivative test says nothing: a degenerate critical "
            "point. Near it gradients are tiny and optimizers crawl, then accelerate down "
            "one of the valleys. It is unbounded below."
        ),
        formula="x^3 - 3 x y^2",
        params=p,
    )


# ---- 1-D curves ---------------------------------------------------------------------------
@_register(
    "parabola",
    1,
    ParamSpec("a", 1.0, 0.01, 100.0, True, "Curvature a", "L(w) = a (w - c)^2; L'' = 2a."),
    ParamSpec("c", 2.0, -10.0, 10.0, False, "Centre c", "Position of the minimum."),
)
def _parabola(p: dict) -> Surface:
    a, c = p["a"], p["c"]
    return Surface(
        name="parabola",
        dim=1,
        domain=((c - 8.0, c + 8.0),),
        sid=K.S_PARABOLA,
        prm=_prm(a, c),
        minima=((c,),),
        min_value=0.0,
        description=(
            "The one-dimensional bowl a (w - c)^2, for following gradient descent by hand: "
            "each step multiplies the distance to the minimum by (1 - 2 a lr). With "
            "a = 1 a learning rate below 0.5 creeps in monotonically, 0.5 lands on the "
            "minimum in one step, between 0.5 and 1 overshoots and oscillates inwards, "
            "exactly 1 bounces forever and above 1 diverges."
        ),
        formula="a (w - c)^2",
        params=p,
        variables=("w",),
    )


def _doublewell_value(w: float, t: float) -> float:
    u = w * w - 1.0
    return u * u + t * w


@_register(
    "double-well",
    1,
    ParamSpec(
        "tilt",
        0.0,
        -1.0,
        1.0,
        False,
        "Tilt",
        "Adds tilt * w: a positive tilt makes the left well the deeper one.",
    ),
)
def _double_well(p: dict) -> Surface:
    t = p["tilt"]
    mins = []
    for r in np.roots([4.0, 0.0, -4.0, t]):
        if abs(r.imag) > 1e-9:
            continue
        w = float(r.real)
        for _ in range(3):  # polish: Newton on 4 w^3 - 4 w + t
            h = 12.0 * w * w - 4.0
            if h <= 0.0:
                break
            w -= (4.0 * w * (w * w - 1.0) + t) / h
        if 12.0 * w * w - 4.0 > 0.0:
            mins.append(w)
    mins.sort(key=lambda w: (_doublewell_value(w, t), w))
    return Surface(
        name="double-well",
        dim=1,
        domain=((-2.0, 2.0),),
        sid=K.S_DOUBLEWELL,
        prm=_prm(t),
        minima=tuple((w,) for w in mins),
        min_value=_doublewell_value(mins[0], t),
        description=(
            "Two valleys at w = -1 and w = +1 separated by a hump of height 1 at w = 0 (a "
            "local maximum). Gradient descent goes to whichever valley is downhill from the "
            "start; tilt one side to make it the deeper, global minimum and watch runs that "
            "start on the wrong side stay stuck in the shallower, local one unless momentum "
            "or a large step carries them over the hump."
        ),
        formula="(w^2 - 1)^2 + tilt w",
        params=p,
        variables=("w",),
    )


def _bumpy_minima(A: float, k: float, lo: float, hi: float) -> tuple[list[float], list[float]]:
    ws = np.linspace(lo, hi, 4001)
    g = 0.2 * ws + A * k * np.cos(k * ws)
    mins = []
    for i in np.nonzero((g[:-1] < 0.0) & (g[1:] >= 0.0))[0]:
        a, b = float(ws[i]), float(ws[i + 1])
        w = 0.5 * (a + b)
        for _ in range(60):  # safeguarded Newton on L'(w) = 0 inside [a, b]
            gw = 0.2 * w + A * k * math.cos(k * w)
            if gw < 0.0:
                a = w
            else:
                b = w
            h = 0.2 - A * k * k * math.sin(k * w)
            wn = w - gw / h if h > 0.0 else 0.5 * (a + b)
            if not (a <= wn <= b):
                wn = 0.5 * (a + b)
            if wn == w:
                break
            w = wn
        mins.append(w)
    vals = [0.1 * w * w + A * math.sin(k * w) for w in mins]
    order = sorted(range(len(mins)), key=lambda i: (vals[i], mins[i]))
    return [mins[i] for i in order], [vals[i] for i in order]


@_register(
    "bumpy",
    1,
    ParamSpec("amplitude", 1.0, 0.0, 3.0, False, "Amplitude", "Height of the bumps."),
    ParamSpec("frequency", 3.0, 0.5, 10.0, False, "Frequency", "How close the bumps are."),
)
def _bumpy(p: dict) -> Surface:
    A, k = p["amplitude"], p["frequency"]
    lo, hi = -5.0, 5.0
    mins, vals = _bumpy_minima(A, k, lo, hi)
    return Surface(
        name="bumpy",
        dim=1,
        domain=((lo, hi),),
        sid=K.S_BUMPY,
        prm=_prm(A, k),
        minima=tuple((w,) for w in mins),
        min_value=vals[0] if vals else None,
        description=(
            "A wide bowl w^2 / 10 with sine bumps on it: several local minima, the global "
            "one near w = -0.5 with value about -0.97. Small learning rates settle in the "
            "nearest dip; larger ones, momentum or noise can jump from dip to dip towards "
            "the bottom of the bowl (or skip past it). Lower the amplitude to smooth the "
            "bumps away."
        ),
        formula="w^2 / 10 + amplitude sin(frequency w)",
        params=p,
        variables=("w",),
    )


# ---- data surfaces ----------------------------------------------------------------------
_N = ParamSpec("n", 64, 8, 5000, True, "Examples", "Number of training examples.", integer=True)
_SEED = ParamSpec(
    "seed", 0, 0, 2**31 - 1, False, "Seed", "Random seed of the synthetic data.", integer=True
)


@_register(
    "linear-regression",
    2,
    _N,
    _SEED,
    ParamSpec("noise", 0.5, 0.0, 5.0, False, "Noise", "Standard deviation of the target noise."),
)
def _linreg(p: dict) -> Surface:
    from .datasets import linear_regression

    return linear_regression(n=p["n"], seed=p["seed"], noise=p["noise"])


@_register(
    "logistic-regression",
    2,
    _N,
    _SEED,
    ParamSpec(
        "noise",
        1.0,
        0.2,
        5.0,
        False,
        "Noise",
        "Standard deviation of the noise on the true score before labelling; keeps the "
        "classes overlapping.",
    ),
)
def _logreg(p: dict) -> Surface:
    from .datasets import logistic_regression

    return logistic_regression(n=p["n"], seed=p["seed"], noise=p["noise"])


# ---- public API ---------------------------------------------------------------------------
def _normalise(name: str) -> str:
    return str(name).strip().lower().replace("_", "-").replace(" ", "-")


def _entry(name: str) -> _Entry:
    key = _normalise(name) if isinstance(name, str) else None
    if key not in _REGISTRY:
        raise LookupError(f"unknown surface {name!r}; valid names: {', '.join(_REGISTRY)}")
    return _REGISTRY[key]


def list_surfaces() -> list[str]:
    """Names of the built-in surfaces, in library order.

    The 2-D teaching surfaces come first, then the classic optimisation test functions,
    the 1-D curves and the data surfaces.

    Examples
    --------
    >>> import simulator as sim
    >>> sim.list_surfaces()[:4]
    ['quadratic', 'ravine', 'rosenbrock', 'saddle']
    """
    return list(_REGISTRY)


def surface_parameters(name: str) -> list[ParamSpec]:
    """The parameters ``get_surface(name, ...)`` accepts (empty list if none).

    Parameters
    ----------
    name : str
        One of :func:`list_surfaces`.

    Returns
    -------
    list of ParamSpec
        Name, default, range and label of each parameter.

    Raises
    ------
    LookupError
        If ``name`` is not a library surface.

    Examples
    --------
    >>> import simulator as sim
    >>> [(p.name, p.default, p.lo, p.hi) for p in sim.surface_parameters("ravine")]
    [('condition', 10.0, 1.0, 1000.0), ('angle', 30.0, -90.0, 90.0)]
    """
    return list(_entry(name).params)


def _check_value(surface: str, spec: ParamSpec, value) -> float | int:
    if isinstance(value, (str, bytes)) or value is None:
        raise ValueError(f"{surface}: {spec.name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{surface}: {spec.name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{surface}: {spec.name} must be finite, got {value!r}")
    if spec.integer and v != round(v):
        raise ValueError(f"{surface}: {spec.name} must be a whole number, got {value!r}")
    if v < spec.lo:
        raise ValueError(f"{surface}: {spec.name} must be >= {spec.lo:g}, got {value!r}")
    if v > spec.hi:
        raise ValueError(f"{surface}: {spec.name} must be <= {spec.hi:g}, got {value!r}")
    return int(round(v)) if spec.integer else v


def get_surface(name: str, **params) -> Surface:
    """Build a library surface.

    Parameters
    ----------
    name : str
        One of :func:`list_surfaces` (case and ``_``/``-`` are not significant).
    **params
        The surface's parameters (see :func:`surface_parameters`); missing ones take
        their defaults.

    Returns
    -------
    Surface

    Raises
    ------
    LookupError
        Unknown name; the message lists the valid names.
    ValueError
        Unknown parameter, or a value that is not a finite number in range; the message
        names the parameter.

    Examples
    --------
    >>> import simulator as sim
    >>> s = sim.get_surface("ravine", condition=100)
    >>> s.dim, s.domain, s.minima
    (2, ((-3.0, 3.0), (-3.0, 3.0)), ((0.0, 0.0),))
    >>> float(sim.get_surface("rosenbrock").value((1.0, 1.0)))
    0.0
    """
    entry = _entry(name)
    specs = {s.name: s for s in entry.params}
    for key in params:
        if key not in specs:
            valid = ", ".join(specs) if specs else "none"
            raise ValueError(f"{entry.name}: unknown parameter {key!r} (valid parameters: {valid})")
    resolved = {
        s.name: _check_value(entry.name, s, params.get(s.name, s.default)) for s in entry.params
    }
    return entry.build(resolved)
