"""The scene: everything a student works on, as plain data with its rules (no Qt).

A :class:`Scene` holds a surface, a shared start point, optimizer lanes (each with its
optimizer, colour and optional schedule, noise, batch size and start), the training
settings every lane shares, the frame shown, the open lab and the view state (log
colour, 3-D camera, which views are shown). Every edit is validated first: a bad value
raises ``ValueError`` naming it and leaves the scene as it was.

The app's :class:`simulator.gui.session.Session` is a thin Qt adapter over a Scene
(signals, a coalesced recompute); scripts, the command line and the exporters use a
Scene directly::

    import simulator as sim
    scene = sim.load_scene("race")          # a built-in lab, a lab file or a session file
    runs = scene.run()                       # one Trajectory per enabled lane
    scene.lanes[0].optimizer = sim.Adam(lr=0.02)
    scene.save("mine.losslab.json")

:meth:`Scene.to_dict` writes the ``losslab-session`` format (version 1; the ``view`` and
``lab`` keys are optional, so files from older versions still open and older versions
read new files). Surfaces are written by :mod:`simulator.core.surface_io`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .colors import next_lane_color, parse_color
from .files import atomic_write_text, json_int, loads_json_file, read_small_file
from .files import jsonable as _jsonable
from .network import Network
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
    Optimizer,
    RAdam,
    RMSprop,
    Rprop,
    optimizer_from_dict,
)
from .schedules import ConstantSchedule, Schedule, schedule_from_dict
from .surface import Surface

__all__ = [
    "FORMAT", "VERSION", "SUFFIX", "MAX_LANES", "MAX_LANE_NAME", "MAX_SESSION_TEXT",
    "MAX_STEPS", "DEFAULT_STEPS",
    "DEFAULT_SURFACE", "DEFAULT_START", "VIEWS", "PRESETS", "DEFAULT_LANES",
    "Lane", "ViewState", "Scene", "load_scene", "make_preset", "preset_lr",
    "suggested_lr", "default_start", "Race", "RACES", "race_for",
]

FORMAT = "losslab-session"
VERSION = 1
SUFFIX = ".losslab.json"
MAX_LANES = 12
MAX_LANE_NAME = 60  # characters, as in a lab file (a 5 MB name took 27 s to load)
MAX_SESSION_TEXT = 1000  # any text in a session file: the longest is a formula
MAX_STEPS = 100_000  # the app keeps every step of every lane in memory
DEFAULT_STEPS = 1000
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_START = (-1.5, 2.0)
VIEWS = ("2d", "3d")
MAX_FILE_BYTES = 20_000_000


@dataclass
class Lane:
    """One optimizer racing on the surface; ``None`` settings follow the scene's.

    Parameters
    ----------
    uid : int
        Identifies the lane within its scene (names may change).
    name : str
        The name in legends and tables (unique within the scene).
    optimizer : Optimizer
        The optimizer and its hyperparameters.
    color : str
        ``"#RRGGBB"``; the Okabe-Ito palette unless chosen.
    enabled : bool
        Disabled lanes are not run.
    schedule : Schedule, optional
        The lane's own learning-rate schedule; None follows the scene's.
    noise : float, optional
        The lane's own gradient noise; None follows the scene's.
    batch_size : int, optional
        The lane's own minibatch size; None follows the scene's.
    start : tuple of float, optional
        The lane's own start point; None follows the scene's.
    """

    uid: int
    name: str
    optimizer: Optimizer
    color: str  # hex, from the Okabe-Ito palette unless the user chose another
    enabled: bool = True
    schedule: Schedule | None = None  # None -> scene.schedule
    noise: float | None = None  # None -> scene.noise
    batch_size: int | None = None  # None -> scene.batch_size
    start: tuple[float, ...] | None = None  # None -> scene.start


LANE_FIELDS = ("name", "optimizer", "color", "enabled", "schedule", "noise", "batch_size",
               "start")


# ---- presets ---------------------------------------------------------------------------
# name -> (optimizer class, fixed hyperparameters, learning-rate rule, lane overrides).
# The learning-rate rules scale with the surface so a preset visibly moves anywhere:
#   "curv": plain gradient steps, lr = c / (largest curvature at the start)
#   "size": sign-like adaptive steps that move about lr per coordinate: lr = c * diagonal
#   "fixed": the value itself (torch's default where that already works)
PRESETS: dict[str, tuple[type[Optimizer], dict, tuple[str, float], dict]] = {
    "GD": (SGD, {}, ("curv", 1.0), {}),
    "SGD + noise": (SGD, {}, ("curv", 1.0), {"noise": 1.0}),
    "Momentum": (SGD, {"momentum": 0.9}, ("curv", 0.5), {}),
    "Nesterov": (SGD, {"momentum": 0.9, "nesterov": True}, ("curv", 0.5), {}),
    "AdaGrad": (Adagrad, {}, ("size", 0.05), {}),
    "RMSprop": (RMSprop, {}, ("size", 0.002), {}),
    "Adam": (Adam, {}, ("size", 0.01), {}),
    "AdamW": (AdamW, {}, ("size", 0.01), {}),
    "NAdam": (NAdam, {}, ("size", 0.01), {}),
    "RAdam": (RAdam, {}, ("size", 0.01), {}),
    "Adamax": (Adamax, {}, ("size", 0.01), {}),
    "Adadelta": (Adadelta, {}, ("fixed", 1.0), {}),
    "Rprop": (Rprop, {}, ("size", 0.002), {}),
    "ASGD": (ASGD, {}, ("curv", 1.0), {}),
    "L-BFGS": (LBFGS, {"line_search_fn": "strong_wolfe"}, ("fixed", 1.0), {}),
    "Lion": (Lion, {}, ("size", 0.002), {}),
    "Newton": (Newton, {"damping": 1.0}, ("fixed", 0.5), {}),
}

# The first screen: on Rosenbrock from (-1.5, 2) over 1000 steps plain GD crawls half way
# along the valley, momentum and RMSprop get most of the way, Adam arrives: all visibly
# move and they finish in a teachable order.
DEFAULT_LANES: tuple[tuple[str, Optimizer], ...] = (
    ("GD", SGD(lr=1e-3)),
    ("Momentum", SGD(lr=5e-4, momentum=0.9)),
    ("RMSprop", RMSprop(lr=1e-2)),
    ("Adam", Adam(lr=5e-2)),
)


@dataclass(frozen=True)
class Race:
    """A library surface's default race: where the lanes start and who runs.

    Parameters
    ----------
    start : tuple of float
        The shared start point: away from every critical point, where the lanes'
        different rules take them to different places or at different speeds.
    lanes : tuple of (str, float)
        ``(preset, lr)``: a preset of ``PRESETS`` (its optimizer, fixed settings and
        lane overrides such as the noise of "SGD + noise") at this learning rate; the
        preset's name is the lane's.
    """

    start: tuple[float, ...]
    lanes: tuple[tuple[str, float], ...]

    def lane_specs(self) -> list[tuple[str, Optimizer, dict]]:
        """``(name, optimizer, lane overrides)`` of each lane."""
        out = []
        for preset, lr in self.lanes:
            cls, fixed, _rule, kw = PRESETS[preset]
            out.append((preset, cls(lr=lr, **fixed), dict(kw)))
        return out


# Each library surface's default race over DEFAULT_STEPS steps (a surface picked from the
# library starts with it while the lanes are still a default race: see Scene.use_race).
# Chosen so that the lanes visibly differ: on a bowl plain GD at a small rate is still on
# its way when momentum and the adaptive methods have arrived; with several minima the
# lanes end in different ones (Rastrigin: GD and Adam stay in the first dip, momentum
# hops one ridge, RMSprop's large steps reach the dip next to the centre); on the saddles the
# escapes run off while Newton heads for the saddle. tests/core/test_scene.py checks that
# at least two lanes of every race end differently and that none starts at a critical
# point.
RACES: dict[str, Race] = {
    "quadratic": Race((-2.5, 2.0), (("GD", 0.002), ("Momentum", 0.002), ("RMSprop", 0.01),
                                    ("Adam", 0.05))),
    "ravine": Race((-2.5, 2.0), (("GD", 0.02), ("Momentum", 0.02), ("RMSprop", 0.01),
                                 ("Adam", 0.05))),
    "rosenbrock": Race(DEFAULT_START, (("GD", 1e-3), ("Momentum", 5e-4), ("RMSprop", 1e-2),
                                       ("Adam", 5e-2))),
    "saddle": Race((1.5, 0.02), (("GD", 0.05), ("Momentum", 0.01), ("Adam", 0.01),
                                 ("Newton", 0.5))),
    "two-wells": Race((-0.8, 0.8), (("GD", 0.05), ("Momentum", 0.2), ("SGD + noise", 0.2),
                                    ("Adam", 0.05))),
    "plateau": Race((-1.5, 2.0), (("GD", 0.1), ("Momentum", 0.1), ("RMSprop", 0.5),
                                  ("Adam", 0.1))),
    "himmelblau": Race((0.0, 0.0), (("GD", 0.005), ("Momentum", 0.005), ("RMSprop", 0.02),
                                    ("Adam", 0.001))),
    "beale": Race((1.0, 1.5), (("GD", 0.001), ("Momentum", 0.001), ("RMSprop", 0.01),
                               ("Adam", 0.05))),
    "booth": Race((-6.0, -6.0), (("GD", 0.002), ("Momentum", 0.002), ("RMSprop", 0.05),
                                 ("Adam", 0.2))),
    "matyas": Race((-7.0, 6.0), (("GD", 0.1), ("Momentum", 0.1), ("RMSprop", 0.05),
                                 ("Adam", 0.2))),
    "rastrigin": Race((4.3, 3.7), (("GD", 0.003), ("Momentum", 0.01), ("RMSprop", 0.3),
                                   ("Adam", 0.3))),
    "ackley": Race((-3.2, 2.6), (("GD", 0.01), ("Momentum", 0.05), ("RMSprop", 0.2),
                                 ("Adam", 0.05))),
    "six-hump-camel": Race((-1.9, -0.9), (("GD", 0.02), ("Momentum", 0.02), ("RMSprop", 0.1),
                                          ("Adam", 0.05))),
    "styblinski-tang": Race((0.3, 0.1), (("GD", 0.01), ("Momentum", 0.01), ("RMSprop", 0.002),
                                         ("Adam", 0.1))),
    "goldstein-price": Race((-1.5, 2.0), (("GD", 5e-7), ("Momentum", 2e-7), ("RMSprop", 0.01),
                                          ("Adam", 0.05))),
    "mccormick": Race((-1.5, 2.0), (("GD", 0.2), ("Momentum", 0.05), ("RMSprop", 0.02),
                                    ("Adam", 0.1))),
    "monkey-saddle": Race((-1.5, 2.0), (("GD", 0.05), ("Momentum", 0.02), ("RMSprop", 0.01),
                                        ("Adam", 0.05))),
    "parabola": Race((-2.8,), (("GD", 0.002), ("Momentum", 0.002), ("RMSprop", 0.02),
                               ("Adam", 0.2))),
    "double-well": Race((-0.3,), (("GD", 0.05), ("Momentum", 0.2), ("RMSprop", 0.05),
                                  ("Adam", 0.05))),
    "bumpy": Race((-4.0,), (("GD", 0.05), ("Momentum", 0.2), ("RMSprop", 0.5),
                            ("Adam", 0.2))),
    "linear-regression": Race((-1.5, 2.0), (("GD", 0.003), ("Momentum", 0.01),
                                            ("RMSprop", 0.02), ("Adam", 0.1))),
    "logistic-regression": Race((-1.5, 2.0), (("GD", 0.1), ("Momentum", 0.5),
                                              ("RMSprop", 0.02), ("Adam", 0.1))),
}


def race_for(surface) -> Race | None:
    """The default race of a library surface (``RACES``), or None (a formula, a drawn
    surface, or a library surface with changed parameters whose start falls outside)."""
    if getattr(surface, "kind", None) not in ("builtin", "data"):
        return None
    race = RACES.get(surface.name)
    if race is None or not inside(surface, race.start):
        return None
    return race


def _nice(v: float) -> float:
    """Round to one significant digit from {1, 2, 5} (what a person would type)."""
    if not (v > 0 and math.isfinite(v)):
        return 1e-3
    e = math.floor(math.log10(v))
    m = v / 10**e
    m = 1.0 if m < 1.5 else 2.0 if m < 3.5 else 5.0 if m < 7.5 else 10.0
    return float(f"{m * 10**e:.3g}")


def _curvature(surface, start) -> float:
    """A curvature scale for gradient steps: the largest |eigenvalue| of the Hessian at
    the start, or the median of it over the domain when that is larger (a start on a
    flat spot must not give a rate that explodes one step later). On a network: the
    sharpness (the Hessian's largest eigenvalue) at the start."""
    if isinstance(surface, Network):
        from .landscape import sharpness

        try:
            return abs(sharpness(surface, start, tol=1e-6))
        except ValueError:
            return float("nan")
    try:
        pts = [np.asarray(start, dtype=float).reshape(-1)]
        axes = [np.linspace(lo, hi, 9) for lo, hi in surface.domain]
        grid = np.stack(np.meshgrid(*axes), -1).reshape(-1, surface.dim)
        h = surface.hessian(np.vstack([pts[0][None, :], grid]))
        h = h.reshape(-1, surface.dim, surface.dim)
        eig = np.abs(np.linalg.eigvalsh(0.5 * (h + np.swapaxes(h, 1, 2)))).max(axis=1)
    except Exception:  # noqa: BLE001 - undefined Hessian: fall back to the domain size
        return float("nan")
    eig = eig[np.isfinite(eig)]
    if not len(eig):
        return float("nan")
    return float(max(eig[0], np.median(eig)))


def preset_lr(rule: tuple[str, float], surface, start) -> float:
    """The learning rate a preset's ``rule`` gives on ``surface`` from ``start``."""
    kind, c = rule
    if kind == "fixed":
        return c
    if kind == "size":
        return _nice(c * surface.scale)
    lam = _curvature(surface, start)
    if not (lam > 1e-12 and math.isfinite(lam)):
        return _nice(0.01 * surface.scale)
    return _nice(c / lam)


def make_preset(name: str, surface, start) -> tuple[Optimizer, dict]:
    """The optimizer of preset ``name`` tuned to ``surface`` and ``start``, and the lane
    overrides it needs (``{"noise": ...}`` for SGD + noise)."""
    try:
        cls, fixed, rule, lane_kw = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}") from None
    return cls(lr=preset_lr(rule, surface, start), **fixed), dict(lane_kw)


def suggested_lr(optimizer: Optimizer, surface, start) -> float:
    """A learning rate for ``optimizer`` that visibly moves on ``surface`` from ``start``
    (the rule of the preset it resembles)."""
    rule = ("size", 0.01)
    for cls, fixed, r, _kw in PRESETS.values():
        if type(optimizer) is cls:
            if cls is SGD and (optimizer.momentum > 0) != ("momentum" in fixed):
                continue
            rule = r
            break
    return preset_lr(rule, surface, start)


# ---- checks ------------------------------------------------------------------------------
def check_noise(v, what="noise") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{what} must be a number >= 0, got {v!r}")
    return float(v)


def check_batch(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"batch size must be a whole number >= 1, got {v!r}")
    return int(v)


def check_start(surface, p) -> tuple[float, ...]:
    from .surface import check_point

    if isinstance(surface, Network):
        return tuple(float(v) for v in surface.check_weights(p, "start"))
    return tuple(float(v) for v in check_point(surface, p))


def check_schedule(schedule: Schedule, lr: float, steps: int) -> None:
    """ValueError when ``schedule`` gives a negative or non-finite rate within ``steps``."""
    lrs = schedule.learning_rates(lr, steps)
    if steps and not (np.all(np.isfinite(lrs)) and lrs.min() >= 0):
        raise ValueError(f"{schedule.title or schedule.name} gives an invalid learning rate")


def inside(surface, p) -> bool:
    """True when ``p`` has the surface's dimension and lies in its domain (a network:
    ``n_params`` finite values)."""
    if len(p) != surface.dim:
        return False
    if isinstance(surface, Network):
        return bool(np.all(np.isfinite(np.asarray(p, dtype=float))))
    return all(lo <= v <= hi for v, (lo, hi) in zip(p, surface.domain))


def default_start(surface) -> tuple[float, ...]:
    """A start that shows something: the teaching start on Rosenbrock-like scenes, else
    a point up and to the left of the domain's centre (away from most minima). A
    network starts from its initial weights ``init``."""
    if isinstance(surface, Network):
        return tuple(float(v) for v in surface.init)
    near_min = surface.minima and np.allclose(surface.minima[0][:2], DEFAULT_START)
    if surface.dim == 2 and inside(surface, DEFAULT_START) and not near_min:
        return DEFAULT_START
    pts = []
    for lo, hi in surface.domain:
        pts.append(lo + 0.2 * (hi - lo))
    if surface.dim == 2:
        pts[1] = surface.domain[1][0] + 0.8 * (surface.domain[1][1] - surface.domain[1][0])
    return tuple(float(f"{v:.3g}") for v in pts)


def same_inputs(a: tuple, b: tuple) -> bool:
    """Run inputs equal, value by value and of the same types (1 == 1.0 == True must not
    reuse a run computed for another type; values that cannot be compared never match)."""
    try:
        return all(type(x) is type(y) and bool(x == y) for x, y in zip(a, b, strict=True))
    except Exception:  # noqa: BLE001 - e.g. array-valued fields: compute again
        return False


# ---- view state ---------------------------------------------------------------------------
def _camera(v) -> dict | None:
    """A 3-D camera ``{"elevation", "azimuth", "distance"}`` in one normal form: degrees
    rounded to 0.1 (azimuth in [-180, 180)), distance to 0.001."""
    if v is None:
        return None
    if not isinstance(v, dict):
        raise ValueError("camera must be an object {\"elevation\", \"azimuth\", \"distance\"}")
    out = {}
    for k, val in v.items():
        if k not in ("elevation", "azimuth", "distance"):
            raise ValueError(f"camera has no setting {k!r}")
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
            raise ValueError(f"camera {k} must be a finite number, got {val!r}")
        val = float(val)
        if k == "azimuth":
            val = round((val + 180.0) % 360.0 - 180.0, 1)
        elif k == "elevation":
            val = round(min(90.0, max(-90.0, val)), 1)
        else:
            if val <= 0:
                raise ValueError(f"camera distance must be > 0, got {val!r}")
            val = round(val, 3)
        out[k] = val
    return out or None


@dataclass(frozen=True)
class ViewState:
    """How the scene is shown: which views, the colour scale, the 3-D camera.

    Parameters
    ----------
    views : tuple of {"2d", "3d"}
        The views shown (the 2-D map or curve, the 3-D surface).
    log_scale : bool or None
        Colour (and 3-D height) by ``log10(L - min)``; None follows the surface's own
        default (``surface.log_scale``).
    camera : dict or None
        ``{"elevation": deg, "azimuth": deg, "distance": d}`` of the 3-D view, kept in
        one normal form (azimuth in [-180, 180), rounded); None: the default view.

    Raises
    ------
    ValueError
        An unknown view, a log scale that is not a bool, a bad camera.
    """

    views: tuple[str, ...] = VIEWS
    log_scale: bool | None = None
    camera: dict | None = None

    def __post_init__(self) -> None:
        views = tuple(dict.fromkeys(self.views))
        if not views or any(v not in VIEWS for v in views):
            raise ValueError(f"views must be some of {', '.join(VIEWS)}, got {self.views!r}")
        object.__setattr__(self, "views", views)
        if self.log_scale is not None and not isinstance(self.log_scale, bool):
            raise ValueError(f"log_scale must be true, false or null, got {self.log_scale!r}")
        object.__setattr__(self, "camera", _camera(self.camera))

    def replace(self, **changes) -> ViewState:
        return dataclasses.replace(self, **changes)

    def log_for(self, surface) -> bool:
        """The colour scale shown on ``surface`` (its default unless set)."""
        if self.log_scale is not None:
            return self.log_scale
        return bool(getattr(surface, "log_scale", False))

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"views": list(self.views)}
        if self.log_scale is not None:
            d["log_scale"] = self.log_scale
        if self.camera:
            d["camera"] = dict(self.camera)
        return d

    @classmethod
    def from_dict(cls, d) -> ViewState:
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ValueError("view must be an object")
        bad = sorted(set(d) - {"views", "log_scale", "camera"})
        if bad:
            raise ValueError(f"view has no setting {bad[0]!r}")
        views = d.get("views", list(VIEWS))
        if not isinstance(views, list):
            raise ValueError("view.views must be a list such as [\"2d\", \"3d\"]")
        return cls(views=tuple(views), log_scale=d.get("log_scale"), camera=d.get("camera"))


# ---- the scene ---------------------------------------------------------------------------
_TRAINING = ("steps", "seed", "noise", "batch_size", "clip_grad_norm", "schedule")


class Scene:
    """Surface, start, lanes, training settings, frame, open lab and view state.

    ``Scene()`` is empty (no surface, no lanes); :meth:`default` is the app's first
    screen; :meth:`from_dict` and :func:`load_scene` read files. Edit through the
    methods (``set_surface``, ``add_lane``, ``update_lane``, ``set_training``, ...):
    they validate and raise ``ValueError`` leaving the scene unchanged. Assigning
    attributes directly (``scene.lanes[0].optimizer = sim.Adam(lr=0.02)``) works too;
    :meth:`to_dict` / :meth:`from_dict` then check everything again.

    Parameters
    ----------
    surface : Surface or Network, optional
        The loss surface, or a network (``sim.network``) whose training loss is the
        landscape; its start is a parameter vector (default: its initial weights).
    start : sequence of float, optional
        The shared start point (default: the teaching start, or one inside the domain).
    **training
        ``steps``, ``seed``, ``noise``, ``batch_size``, ``clip_grad_norm``,
        ``schedule``, as :meth:`set_training` takes them.

    Raises
    ------
    ValueError
        A value the scene refuses (naming it).

    Examples
    --------
    >>> import simulator as sim
    >>> scene = sim.Scene(sim.get_surface("ravine"), start=(-2.0, 1.5), steps=300)
    >>> lane = scene.add_lane(sim.SGD(lr=0.01, momentum=0.9), name="Momentum")
    >>> [run.status for run in scene.run()]
    ['converging']
    """

    def __init__(self, surface: Surface | Network | None = None, start=None,
                 **training) -> None:
        self.surface: Surface | Network | None = None
        self.start: tuple[float, ...] = DEFAULT_START
        self.lanes: list[Lane] = []
        self.steps = DEFAULT_STEPS
        self.seed = 0
        self.noise = 0.0
        self.batch_size: int | None = None
        self.clip_grad_norm: float | None = None
        self.schedule: Schedule = ConstantSchedule()
        self.frame = 0
        self.selected_lane = -1
        #: the lab this scene came from: its id and title (None when it is not a lab's)
        self.lab_id: str | None = None
        self.lab_title: str | None = None
        self.view = ViewState()
        #: network lanes with a minibatch record their full-batch losses once an epoch
        #: (``record_every``, see :meth:`record_every`), for faster re-runs. On by
        #: default, so that the app, ``losslab export``, lab checks and a script that
        #: runs a scene record alike; not saved (the runs' positions do not depend on it)
        self.record_epochs = True
        self._next_uid = 1
        if surface is not None:
            self.set_surface(surface)
        if start is not None:
            self.set_start(start)
        if training:
            self.set_training(**training)
        self.frame = self.steps

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def default(cls) -> Scene:
        """The first-screen demo: four classic optimizers racing down Rosenbrock's valley."""
        from .library import get_surface

        sc = cls(get_surface(DEFAULT_SURFACE))
        sc.start = DEFAULT_START if inside(sc.surface, DEFAULT_START) else \
            default_start(sc.surface)
        for name, opt in DEFAULT_LANES:
            sc._append_lane(opt, name=name)
        sc.selected_lane = 0
        sc.frame = sc.steps
        return sc

    def copy(self) -> Scene:
        """An independent copy (lanes copied; surface, optimizers and schedules are
        immutable and shared)."""
        other = copy.copy(self)
        other.lanes = [copy.copy(lane) for lane in self.lanes]
        return other

    def __repr__(self) -> str:
        from .summary import scene_repr

        return scene_repr(self)

    def _repr_html_(self) -> str:
        from .summary import scene_html

        return scene_html(self)

    @property
    def title(self) -> str:
        """A caption for the scene: the open lab's title, else the surface's name."""
        if self.lab_title:
            return self.lab_title
        return self.surface.name if self.surface is not None else ""

    # ---- lanes -----------------------------------------------------------------------------
    @property
    def current_lane(self) -> Lane | None:
        if 0 <= self.selected_lane < len(self.lanes):
            return self.lanes[self.selected_lane]
        return None

    def lane_index(self, uid: int) -> int:
        for i, lane in enumerate(self.lanes):
            if lane.uid == uid:
                return i
        return -1

    def _unique_name(self, base: str) -> str:
        names = {lane.name for lane in self.lanes}
        if base not in names:
            return base
        k = 2
        # within MAX_LANE_NAME: a copy of a 60-character name must load again
        while f"{base[: MAX_LANE_NAME - len(f' {k}')]} {k}" in names:
            k += 1
        return f"{base[: MAX_LANE_NAME - len(f' {k}')]} {k}"

    def _append_lane(self, optimizer, index=None, **kw) -> Lane:
        color = kw.pop("color", None) or next_lane_color(lane.color for lane in self.lanes)
        name = kw.pop("name", None) or optimizer.title or optimizer.name
        lane = Lane(uid=self._next_uid, name=self._unique_name(name), optimizer=optimizer,
                    color=color, **kw)
        self._next_uid += 1
        if index is None:
            self.lanes.append(lane)
        else:
            self.lanes.insert(index, lane)
        return lane

    def validate_lane_values(self, values: dict, base: Lane | None = None) -> dict:
        """``values`` (Lane fields) checked and normalised; ValueError naming the first
        bad one."""
        out = {}
        for key, v in values.items():
            if key == "name":
                if not isinstance(v, str) or not v.strip():
                    raise ValueError("a lane needs a name")
                if len(v) > MAX_LANE_NAME:
                    raise ValueError(f"a lane name has at most {MAX_LANE_NAME} characters, "
                                     f"not {len(v):,}")
                v = v.strip()
                if base is not None and v != base.name:
                    v = self._unique_name(v)  # names tell lanes apart in legends
            elif key == "optimizer":
                if not isinstance(v, Optimizer):
                    raise ValueError(f"not an optimizer: {v!r}")
            elif key == "color":
                v = parse_color(v)
            elif key == "enabled":
                v = bool(v)
            elif key == "schedule":
                if v is not None and not isinstance(v, Schedule):
                    raise ValueError(f"not a schedule: {v!r}")
            elif key == "noise":
                v = None if v is None else check_noise(v)
            elif key == "batch_size":
                v = check_batch(v)
            elif key == "start":
                v = None if v is None else check_start(self.surface, v)
            else:
                raise ValueError(f"lanes have no setting {key!r}")
            out[key] = v
        return out

    def add_lane(self, optimizer: Optimizer, **kw) -> Lane:
        """Append a lane running ``optimizer``; ``kw`` are Lane fields (name, color, ...)."""
        if len(self.lanes) >= MAX_LANES:
            raise ValueError(f"at most {MAX_LANES} lanes: remove one first")
        vals = self.validate_lane_values({"optimizer": optimizer, **kw})
        vals.pop("optimizer")
        return self._append_lane(optimizer, **vals)

    def add_preset(self, preset: str) -> Lane:
        """Add a lane from a preset name (``"Momentum"``), tuned to the current scene."""
        opt, kw = make_preset(preset, self.surface, self.start)
        return self.add_lane(opt, name=preset, **kw)

    def remove_lane(self, i: int) -> Lane | None:
        """Remove lane ``i`` (the selection moves to a neighbour); None if there is none."""
        if not 0 <= i < len(self.lanes):
            return None
        lane = self.lanes.pop(i)
        sel = self.selected_lane
        if sel > i or sel >= len(self.lanes):
            sel -= 1
        self.selected_lane = sel
        return lane

    def duplicate_lane(self, i: int) -> Lane | None:
        """A copy of lane ``i`` right after it (a new colour, a numbered name)."""
        if not 0 <= i < len(self.lanes):
            return None
        if len(self.lanes) >= MAX_LANES:
            raise ValueError(f"at most {MAX_LANES} lanes: remove one first")
        src = self.lanes[i]
        lane = self._append_lane(
            src.optimizer, index=i + 1, name=src.name, enabled=src.enabled,
            schedule=src.schedule, noise=src.noise, batch_size=src.batch_size,
            start=src.start,
        )
        if self.selected_lane > i:
            self.selected_lane += 1
        return lane

    def update_lane(self, i: int, **changes) -> set[str]:
        """Change lane ``i``: Lane fields (``enabled=False``, ``noise=0.1``, ...) or the
        optimizer's hyperparameters by name (``lr=0.01``, ``momentum=0.9``). Returns the
        names of the fields that changed."""
        if not 0 <= i < len(self.lanes):
            raise ValueError(f"no lane {i}")
        lane = self.lanes[i]
        lane_vals = {k: v for k, v in changes.items() if k in LANE_FIELDS}
        hyper = {k: v for k, v in changes.items() if k not in LANE_FIELDS}
        vals = self.validate_lane_values(lane_vals, base=lane)
        opt = vals.get("optimizer", lane.optimizer)
        if hyper:
            try:
                opt = opt.replace(**hyper)
            except TypeError:
                bad = sorted(set(hyper) - {f.name for f in dataclasses.fields(opt)})
                raise ValueError(
                    f"{opt.title} has no hyperparameter {bad[0] if bad else hyper!r}"
                ) from None
            vals["optimizer"] = opt
        sched = vals.get("schedule", lane.schedule) or self.schedule
        check_schedule(sched, opt.lr, self.steps)
        changed = set()
        for k, v in vals.items():
            if getattr(lane, k) != v or k == "optimizer":
                setattr(lane, k, v)
                changed.add(k)
        return changed

    def suggest_learning_rates(self) -> bool:
        """Give every lane a learning rate suited to the current surface and start
        (after switching surfaces, the old rates may crawl or explode). True if any
        changed."""
        changed = False
        for lane in self.lanes:
            start = lane.start if lane.start is not None else self.start
            lr = suggested_lr(lane.optimizer, self.surface, start)
            try:
                opt = lane.optimizer.replace(lr=lr)
                check_schedule(lane.schedule or self.schedule, lr, self.steps)
            except ValueError:
                continue
            if opt != lane.optimizer:
                lane.optimizer = opt
                changed = True
        return changed

    # ---- surface, start, frame ---------------------------------------------------------------
    def set_surface(self, s) -> bool:
        """Replace the surface; the start moves to a sensible default if it falls
        outside the new domain (or has the wrong dimension). Returns True when the start
        moved. The colour scale goes back to the new surface's default. A network (a
        new one, or a new dataset or architecture) starts from its initial weights."""
        if not isinstance(s, (Surface, Network)):
            raise ValueError(f"not a surface or a network: {s!r}")
        old_dim = self.surface.dim if self.surface is not None else None
        if isinstance(s, Network) and old_dim == s.dim and s != self.surface:
            old_dim = -1  # another network of the same size: the lanes' starts go too
        self.surface = s
        start_moved = False
        if isinstance(s, Network) and tuple(self.start) != default_start(s):
            self.start = default_start(s)
            start_moved = True
        elif not inside(s, self.start):
            self.start = default_start(s)
            start_moved = True
        if old_dim is not None and old_dim != s.dim:
            for lane in self.lanes:
                lane.start = None
        if self.view.log_scale is not None:
            self.view = self.view.replace(log_scale=None)
        return start_moved

    def is_race(self) -> bool:
        """Whether the start and the lanes are the current surface's default race (as
        a surface picked from the library gives them; colours aside), or the first
        screen's scene."""
        race = race_for(self.surface) if self.surface is not None else None
        if race is None:
            return False
        want = [(name, opt, kw.get("noise")) for name, opt, kw in race.lane_specs()]
        have = [(lane.name, lane.optimizer, lane.noise) for lane in self.lanes
                if lane.enabled and lane.schedule is None and lane.batch_size is None
                and lane.start is None]
        return tuple(self.start) == tuple(race.start) and have == want \
            and len(have) == len(self.lanes)

    def use_race(self) -> bool:
        """Start and lanes from the surface's default race (``RACES``); False (and no
        change) when the surface has none."""
        race = race_for(self.surface)
        if race is None:
            return False
        self.start = tuple(float(v) for v in race.start)
        self.lanes = []
        for name, opt, kw in race.lane_specs():
            self._append_lane(opt, name=name, **kw)
        self.selected_lane = 0
        return True

    def set_start(self, p) -> bool:
        """Move the shared start point (lanes without their own start follow it).
        Returns True when it changed."""
        p = check_start(self.surface, p)
        if p == tuple(self.start):
            return False
        self.start = p
        return True

    def set_frame(self, i: int) -> bool:
        i = max(0, min(int(i), self.steps))
        if i == self.frame:
            return False
        self.frame = i
        return True

    def select_lane(self, i: int) -> bool:
        i = int(i)
        if not -1 <= i < len(self.lanes):
            i = -1
        if i == self.selected_lane:
            return False
        self.selected_lane = i
        return True

    def set_view(self, **changes) -> bool:
        """Change the view state (``views``, ``log_scale``, ``camera``); True if it
        changed."""
        bad = sorted(set(changes) - {"views", "log_scale", "camera"})
        if bad:
            raise ValueError(f"the view has no setting {bad[0]!r}")
        if "views" in changes:
            changes["views"] = tuple(changes["views"])
        new = self.view.replace(**changes)
        if new == self.view:
            return False
        self.view = new
        return True

    def set_lab(self, lab_id: str | None, title: str | None = None) -> None:
        """Mark the scene as lab ``lab_id`` (None: not a lab's scene)."""
        self.lab_id = lab_id or None
        self.lab_title = (title or None) if lab_id else None

    # ---- training ------------------------------------------------------------------------------
    def check_training(self, **changes) -> dict:
        """Validated training settings (steps, seed, noise, batch_size, clip_grad_norm,
        schedule) for :meth:`set_training`; ValueError naming the first bad one."""
        vals = {}
        for k, v in changes.items():
            if k == "steps":
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not (
                    1 <= v <= MAX_STEPS
                ):
                    raise ValueError(
                        f"steps must be a whole number from 1 to {MAX_STEPS:,}, got {v!r}"
                    )
                v = int(v)
            elif k == "seed":
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                    raise ValueError(f"seed must be a whole number >= 0, got {v!r}")
                v = int(v)
            elif k == "noise":
                v = check_noise(v)
            elif k == "batch_size":
                v = check_batch(v)
            elif k == "clip_grad_norm":
                if v is not None:
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                        math.isfinite(v) and v > 0
                    ):
                        raise ValueError(
                            f"gradient clipping must be a number > 0 (or off), got {v!r}"
                        )
                    v = float(v)
            elif k == "schedule":
                if v is None:
                    v = ConstantSchedule()
                if not isinstance(v, Schedule):
                    raise ValueError(f"not a schedule: {v!r}")
            else:
                raise ValueError(f"no training setting {k!r}")
            vals[k] = v
        steps = vals.get("steps", self.steps)
        sched = vals.get("schedule", self.schedule)
        for lane in self.lanes:
            check_schedule(lane.schedule or sched, lane.optimizer.lr, steps)
        return vals

    def set_training(self, **changes) -> dict:
        """Change global settings (see :meth:`check_training`); returns those that
        changed. Invalid values raise ValueError and change nothing."""
        vals = self.check_training(**changes)
        changed = {k: v for k, v in vals.items() if getattr(self, k) != v}
        for k, v in changed.items():
            setattr(self, k, v)
        if "steps" in changed:
            self.frame = min(self.frame, self.steps)
        return changed

    def effective(self, lane: Lane) -> dict:
        """The settings ``lane`` actually runs with (its overrides, else the scene's)."""
        batch = lane.batch_size if lane.batch_size is not None else self.batch_size
        if self.surface is None or self.surface.kind not in ("data", "network"):
            batch = None
        return {
            "schedule": lane.schedule if lane.schedule is not None else self.schedule,
            "noise": lane.noise if lane.noise is not None else self.noise,
            "batch_size": batch,
            "start": tuple(lane.start) if lane.start is not None else tuple(self.start),
            "clip_grad_norm": self.clip_grad_norm,
            "steps": self.steps,
            "seed": self.seed,
        }

    # ---- running -------------------------------------------------------------------------------
    def run_key(self, lane: Lane) -> tuple:
        """Everything a lane's run depends on besides the surface (a cache key)."""
        e = self.effective(lane)
        return (lane.optimizer, e["schedule"], e["noise"], e["batch_size"], e["start"],
                self.clip_grad_norm, self.steps, self.seed, self.record_every(lane))

    def record_every(self, lane: Lane) -> int | None:
        """The ``record_every`` ``lane`` runs with: with :attr:`record_epochs` on, a
        network lane whose minibatch is smaller than the training set records once an
        epoch (``ceil(n_train / batch_size)`` steps; not under ``ReduceLROnPlateau``,
        which watches the loss at every step); else None (every step)."""
        e = self.effective(lane)
        batch = e["batch_size"]
        if not (self.record_epochs and isinstance(self.surface, Network) and batch
                and batch < self.surface.n_train
                and not getattr(e["schedule"], "needs_losses", False)):
            return None
        return -(-self.surface.n_train // batch)

    def run_lane(self, lane: Lane):
        """Simulate ``lane`` (enabled or not) on the scene: a Trajectory."""
        if self.surface is None:
            raise ValueError("the scene has no surface")
        return self._run_maker(lane)()

    def _run_maker(self, lane: Lane):
        """``make()`` that simulates ``lane`` from the scene's inputs read now (a later
        edit of the scene does not reach it)."""
        from .engine import simulate

        e = self.effective(lane)
        kw = dict(steps=self.steps, schedule=e["schedule"], noise=e["noise"],
                  seed=self.seed, clip_grad_norm=self.clip_grad_norm,
                  batch_size=e["batch_size"], record_every=self.record_every(lane))

        def make(surface=self.surface, opt=lane.optimizer, start=e["start"], kw=kw):
            return simulate(surface, opt, start, **kw)

        return make

    def _cache_current(self, cache: dict, lane: Lane, key) -> bool:
        """Whether ``cache`` holds ``lane``'s run for this surface and these inputs."""
        hit = cache.get(lane.uid)
        return hit is not None and hit[0] is self.surface and same_inputs(hit[1], key)

    def run(self) -> list:
        """One Trajectory per enabled lane, in lane order: the runs the app shows."""
        return [self.run_lane(lane) for lane in self.lanes if lane.enabled]

    def compute(self, cache: dict | None = None) -> tuple[dict, dict]:
        """Runs of every enabled lane as ``({uid: Trajectory}, {uid: error message})``.

        ``cache`` (``{uid: (surface, key, run)}``, kept by the caller between calls)
        lets a lane whose inputs did not change keep its run: editing one lane's
        learning rate re-runs that lane, not all of them.
        """
        results, errors = {}, {}
        if self.surface is None:
            return results, errors
        cache = {} if cache is None else cache
        uids = {lane.uid for lane in self.lanes}
        for uid in [u for u in cache if u not in uids]:
            del cache[uid]
        for lane in self.lanes:
            if not lane.enabled:
                continue
            key = self.run_key(lane)
            if self._cache_current(cache, lane, key):
                results[lane.uid] = cache[lane.uid][2]
                continue
            cache.pop(lane.uid, None)
            try:
                run = self.run_lane(lane)
            except ValueError as err:
                errors[lane.uid] = f"{lane.name}: {err}"
                continue
            results[lane.uid] = run
            cache[lane.uid] = (self.surface, key, run)
        return results, errors

    def runs_to_make(self, cache: dict) -> list[tuple[int, Any, tuple, Any]]:
        """The runs ``compute(cache)`` would make, to be made elsewhere (another thread):
        ``[(uid, surface, key, make)]`` for each enabled lane whose cached run is missing
        or out of date, where ``make()`` runs it from inputs read now (immutable: a later
        edit of the scene does not reach it) and returns the Trajectory or raises
        ValueError. Storing ``cache[uid] = (surface, key, run)`` then makes ``compute``
        reuse it. Neither the scene nor ``cache`` is changed."""
        out = []
        if self.surface is None:
            return out
        for lane in self.lanes:
            if not lane.enabled:
                continue
            key = self.run_key(lane)
            if not self._cache_current(cache, lane, key):
                out.append((lane.uid, self.surface, key, self._run_maker(lane)))
        return out

    # ---- snapshots (the app returns to the last state that computed) ------------------------
    def snapshot(self) -> dict:
        return {
            "surface": self.surface, "start": self.start,
            "lanes": [copy.copy(lane) for lane in self.lanes],
            "steps": self.steps, "seed": self.seed, "noise": self.noise,
            "batch_size": self.batch_size, "clip_grad_norm": self.clip_grad_norm,
            "schedule": self.schedule,
        }

    def restore(self, st: dict) -> None:
        """Go back to a :meth:`snapshot`. Lanes are restored in place (views and panels
        may hold the Lane objects)."""
        for k, v in st.items():
            if k == "lanes":
                by_uid = {lane.uid: lane for lane in self.lanes}
                new = []
                for old in v:
                    lane = by_uid.get(old.uid)
                    if lane is None:
                        lane = copy.copy(old)
                    else:
                        for f in LANE_FIELDS:
                            setattr(lane, f, getattr(old, f))
                    new.append(lane)
                self.lanes = new
            else:
                setattr(self, k, v)
        self.frame = min(self.frame, self.steps)
        self.selected_lane = min(self.selected_lane, len(self.lanes) - 1)

    # ---- files ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The whole scene as JSON-ready data (``{"format": "losslab-session", ...}``)."""
        from .surface_io import surface_to_dict

        return {
            "format": FORMAT,
            "version": VERSION,
            "surface": surface_to_dict(self.surface),
            "start": list(self.start),
            "training": {
                "steps": self.steps,
                "seed": self.seed,
                "noise": self.noise,
                "batch_size": self.batch_size,
                "clip_grad_norm": self.clip_grad_norm,
                "schedule": _jsonable(self.schedule.to_dict()),
            },
            "lanes": [
                {
                    "name": lane.name,
                    "optimizer": _jsonable(lane.optimizer.to_dict()),
                    "color": lane.color,
                    "enabled": lane.enabled,
                    "schedule": None if lane.schedule is None else
                    _jsonable(lane.schedule.to_dict()),
                    "noise": lane.noise,
                    "batch_size": lane.batch_size,
                    "start": None if lane.start is None else list(lane.start),
                }
                for lane in self.lanes
            ],
            "selected_lane": self.selected_lane,
            "frame": self.frame,
            "view": self.view.to_dict(),
            "lab": None if self.lab_id is None else
            {"id": self.lab_id, "title": self.lab_title},
        }

    @classmethod
    def from_dict(cls, d) -> Scene:
        """The scene ``d`` describes (as :meth:`to_dict` writes; version-1 session files
        of every LossLab open). Anything wrong raises ValueError naming it."""
        try:
            return cls._parse(d)
        except ValueError:
            raise
        except Exception as e:  # noqa: BLE001 - any malformed content is a ValueError
            raise ValueError(f"not a valid LossLab session: {type(e).__name__}: {e}") from None

    @classmethod
    def _parse(cls, d) -> Scene:
        from .surface_io import surface_from_dict

        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("not a LossLab session file (no \"format\": \"losslab-session\")")
        _check_texts(d)
        version = d.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("the session file has no version number")
        if version > VERSION:
            raise ValueError(
                f"the session file has version {version}; this LossLab reads up to {VERSION}"
            )
        try:
            surface = surface_from_dict(d.get("surface"), "surface")
        except LookupError as e:
            raise ValueError(str(e)) from None
        sc = cls()
        sc.surface = surface
        start = d.get("start")
        if start is None and isinstance(surface, Network):
            start = surface.init  # a lab may leave out a network's initial weights
        sc.start = check_start(surface, start)
        tr = d.get("training") or {}
        if not isinstance(tr, dict):
            raise ValueError("training must be an object")
        sc.set_training(
            steps=tr.get("steps", DEFAULT_STEPS), seed=tr.get("seed", 0),
            noise=tr.get("noise", 0.0), batch_size=tr.get("batch_size"),
            clip_grad_norm=tr.get("clip_grad_norm"),
            schedule=schedule_from_dict(tr.get("schedule")),
        )
        lanes_in = d.get("lanes")
        if not isinstance(lanes_in, list):
            raise ValueError("lanes must be a list")
        if len(lanes_in) > MAX_LANES:
            raise ValueError(f"at most {MAX_LANES} lanes, the file has {len(lanes_in)}")
        for k, ld in enumerate(lanes_in):
            if not isinstance(ld, dict):
                raise ValueError(f"lane {k + 1} must be an object")
            try:
                opt = optimizer_from_dict(ld.get("optimizer"))
                sched = ld.get("schedule")
                vals = {
                    "name": ld.get("name") or opt.title,
                    "color": ld.get("color") or next_lane_color(
                        lane.color for lane in sc.lanes),
                    "enabled": ld.get("enabled", True),
                    "schedule": None if sched is None else schedule_from_dict(sched),
                    "noise": ld.get("noise"),
                    "batch_size": ld.get("batch_size"),
                    "start": ld.get("start"),
                }
                vals = sc.validate_lane_values(vals)
                check_schedule(vals["schedule"] or sc.schedule, opt.lr, sc.steps)
            except (ValueError, TypeError, AttributeError) as e:
                raise ValueError(f"lane {k + 1}: {e}") from None
            sc._append_lane(opt, **vals)
        sel = d.get("selected_lane", 0)
        sel = sel if isinstance(sel, int) and sel >= -1 else 0
        sc.selected_lane = sel if sel < len(sc.lanes) else (0 if sc.lanes else -1)
        frame = d.get("frame", sc.steps)
        frame = frame if isinstance(frame, int) else sc.steps
        sc.frame = max(0, min(frame, sc.steps))
        sc.view = ViewState.from_dict(d.get("view"))
        lab = d.get("lab")
        if lab is not None:
            if not isinstance(lab, dict) or not isinstance(lab.get("id"), str):
                raise ValueError("lab must be an object {\"id\": ..., \"title\": ...}")
            title = lab.get("title")
            sc.set_lab(lab["id"], title if isinstance(title, str) else None)
        return sc

    def save(self, path: str | os.PathLike) -> None:
        """Write the scene as a session file (atomically: a failed save never leaves a
        truncated file). The app opens it with File > Open Session."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


def _check_texts(d) -> None:
    """Refuse a session file whose texts (names, formulas, field names) are longer than
    any LossLab writes, before anything is built from them (a 5 MB lane name loaded
    silently and took 27 s; a 5 MB surface name took minutes to be refused)."""
    stack = [("", d)]
    while stack:
        place, v = stack.pop()
        if isinstance(v, str):
            if len(v) > MAX_SESSION_TEXT:
                raise ValueError(f"{place or 'a text'} is too long ({len(v):,} characters; "
                                 f"at most {MAX_SESSION_TEXT:,})")
        elif isinstance(v, dict):
            for k, x in v.items():
                if len(k) > 100:
                    raise ValueError(f"a field name in {place or 'the file'} is too long "
                                     f"({len(k):,} characters)")
                if isinstance(x, (str, dict, list)):
                    stack.append((f"{place}.{k}" if place else k, x))
        elif isinstance(v, list):
            stack.extend((f"{place}[{i}]", x) for i, x in enumerate(v)
                         if isinstance(x, (str, dict, list)))


# ---- loading -------------------------------------------------------------------------------------
def read_session_file(path: str | os.PathLike) -> Scene:
    """A session file as a Scene (OSError when unreadable; ValueError when it is not a
    session, with line and column for bad JSON)."""
    p = Path(path)
    # a regular file of at most MAX_FILE_BYTES: never /dev/zero, never a FIFO
    raw = read_small_file(p, MAX_FILE_BYTES, "session file")
    data = loads_json_file(raw, p.name, "a LossLab session", encoding="utf-8-sig")
    return Scene.from_dict(data)


def load_scene(ref: str | os.PathLike) -> Scene:
    """A scene from a built-in lab id (``"race"``), a lab file or a session file.

    Parameters
    ----------
    ref : str or path
        A built-in lab id (``simulator.core.labs.builtin_lab_ids()``), or the path of a
        lab file (``"format": "losslab-lab"``) or a session file (``"format":
        "losslab-session"``, as the app and :meth:`Scene.save` write).

    Returns
    -------
    Scene
        The scene; a lab's scene remembers the lab (``lab_id``, ``lab_title``).

    Raises
    ------
    LookupError
        ``ref`` is neither a file nor a built-in lab id.
    ValueError
        The file is not a valid lab or session (``LabError`` for labs, listing every
        problem), or the scene it describes is refused.
    OSError
        The file cannot be read.
    """
    from . import labs

    s = str(ref)
    if isinstance(ref, os.PathLike) or os.path.exists(s) or s.endswith(".json") or \
            os.sep in s:
        if not os.path.exists(s):
            raise FileNotFoundError(f"no such file: {s}")
        try:
            # bounded, regular files only (a FIFO or /dev/zero: the lab reader says why)
            raw = read_small_file(s, MAX_FILE_BYTES, "session file")
            head = json.loads(raw.decode("utf-8-sig"), parse_int=json_int)
            fmt = head.get("format") if isinstance(head, dict) else None
        except (OSError, ValueError, RecursionError):  # too deep: the lab reader says so
            fmt = None
        if fmt == FORMAT:
            return read_session_file(s)
        return labs.read_lab_file(s).scene()
    return labs.builtin_lab(s).scene()
