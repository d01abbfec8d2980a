"""The Session: the whole scene a student works on, as one QObject with signals.

Panels edit the session; the session asks the core for trajectories and emits
``trajectories_changed``; views redraw from the arrays. Every edit schedules one
*coalesced* recompute of all enabled lanes (a zero-delay single-shot timer): twenty edits
in one event-loop turn cost one recompute, and a slider drag reshapes the paths live
because a whole run costs well under a millisecond in numba.

Bad input never reaches the scene: setters validate first and raise ``ValueError``
(also sent to ``status_message``) leaving the state as it was; should a run still fail
in the core, the session returns to the last state that computed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor

from simulator.core.files import jsonable as _jsonable
from simulator.core.optimizers import (
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
    optimizer_from_dict,
)
from simulator.core.schedules import ConstantSchedule, Schedule, schedule_from_dict

from .palette import next_lane_color

FORMAT = "losslab-session"
VERSION = 1
MAX_LANES = 12
MAX_LANE_NAME = 60  # characters, as in a lab file (a 5 MB name took 27 s to load)
MAX_SESSION_TEXT = 1000  # any text in a session file: the longest is a formula
DEFAULT_STEPS = 1000
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_START = (-1.5, 2.0)
MAX_UI_STEPS = 100_000  # the GUI keeps every step of every lane in memory


@dataclass
class Lane:
    """One optimizer racing on the surface; ``None`` settings follow the session's."""

    uid: int
    name: str
    optimizer: Optimizer
    color: str  # hex, from the Okabe-Ito palette unless the user chose another
    enabled: bool = True
    schedule: Schedule | None = None  # None -> session.schedule
    noise: float | None = None  # None -> session.noise
    batch_size: int | None = None  # None -> session.batch_size
    start: tuple[float, ...] | None = None  # None -> session.start


_LANE_FIELDS = ("name", "optimizer", "color", "enabled", "schedule", "noise", "batch_size",
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
    flat spot must not give a rate that explodes one step later)."""
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


# ---- (de)serialisation helpers ------------------------------------------------------------
def surface_to_dict(s) -> dict:
    """The surface as JSON-ready data: the one form sessions, labs and surface files
    share (``simulator.core.drawn.surface_to_dict``: builtin, data, formula, flat and
    drawn surfaces alike)."""
    from simulator.core.drawn import surface_to_dict as to_dict

    return to_dict(s)


def surface_from_dict(d) -> Any:
    """Rebuild a surface from :func:`surface_to_dict` output (ValueError naming the
    place when anything is wrong)."""
    from simulator.core.drawn import surface_from_dict as from_dict

    try:
        return from_dict(d, "surface")
    except LookupError as e:
        raise ValueError(str(e)) from None


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


def _check_noise(v, what="noise") -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{what} must be a number >= 0, got {v!r}")
    return float(v)


def _check_batch(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"batch size must be a whole number >= 1, got {v!r}")
    return int(v)


def _check_start(surface, p) -> tuple[float, ...]:
    from simulator.core.surface import check_point

    return tuple(float(v) for v in check_point(surface, p))


def default_start(surface) -> tuple[float, ...]:
    """A start that shows something: the teaching start on Rosenbrock-like scenes, else
    a point up and to the left of the domain's centre (away from most minima)."""
    near_min = surface.minima and np.allclose(surface.minima[0][:2], DEFAULT_START)
    if surface.dim == 2 and _inside(surface, DEFAULT_START) and not near_min:
        return DEFAULT_START
    pts = []
    for lo, hi in surface.domain:
        pts.append(lo + 0.2 * (hi - lo))
    if surface.dim == 2:
        pts[1] = surface.domain[1][0] + 0.8 * (surface.domain[1][1] - surface.domain[1][0])
    return tuple(float(f"{v:.3g}") for v in pts)


def _same(a: tuple, b: tuple) -> bool:
    """Run inputs equal, value by value and of the same types (1 == 1.0 == True must not
    reuse a run computed for another type; values that cannot be compared never match)."""
    try:
        return all(type(x) is type(y) and bool(x == y) for x, y in zip(a, b, strict=True))
    except Exception:  # noqa: BLE001 - e.g. array-valued fields: compute again
        return False


def _inside(surface, p) -> bool:
    if len(p) != surface.dim:
        return False
    return all(lo <= v <= hi for v, (lo, hi) in zip(p, surface.domain))


class Session(QObject):
    """The scene: surface, start, lanes, training settings and their computed runs."""

    surface_changed = Signal()
    lanes_changed = Signal()
    start_changed = Signal()
    training_changed = Signal()
    trajectories_changed = Signal()
    frame_changed = Signal(int)
    selected_lane_changed = Signal(int)
    status_message = Signal(str)

    def __init__(self, parent: QObject | None = None, *, default_scene: bool = True) -> None:
        super().__init__(parent)
        self.surface = None
        self.start: tuple[float, ...] = DEFAULT_START
        self.lanes: list[Lane] = []
        self.steps = DEFAULT_STEPS
        self.seed = 0
        self.noise = 0.0
        self.batch_size: int | None = None
        self.clip_grad_norm: float | None = None
        self.schedule: Schedule = ConstantSchedule()
        self.results: dict = {}
        self.errors: dict[int, str] = {}
        #: uids whose run changed (new, recomputed or gone) in the last recompute; None
        #: when unknown (views then redraw every lane)
        self.changed_uids: set[int] | None = None
        # uid -> (surface, other inputs, Trajectory): the last run of each lane
        self._run_cache: dict[int, tuple[Any, tuple, Any]] = {}
        self.frame = 0
        self.selected_lane = -1
        self._next_uid = 1
        self._good: dict | None = None  # last state that computed
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.flush)
        if default_scene:
            self.reset_scene()

    # ---- scene ---------------------------------------------------------------------------
    def reset_scene(self) -> None:
        """The first-screen demo: four classic optimizers racing down Rosenbrock's valley."""
        from simulator.core.surfaces import get_surface

        self.surface = get_surface(DEFAULT_SURFACE)
        self.start = DEFAULT_START if _inside(self.surface, DEFAULT_START) else \
            default_start(self.surface)
        self.steps = DEFAULT_STEPS
        self.seed = 0
        self.noise = 0.0
        self.batch_size = None
        self.clip_grad_norm = None
        self.schedule = ConstantSchedule()
        self.lanes = []
        self._next_uid = 1
        for name, opt in DEFAULT_LANES:
            self._append_lane(opt, name=name)
        self.selected_lane = 0
        self.frame = self.steps
        self._recompute_silently()
        self._emit_all()
        self.trajectories_changed.emit()

    def _recompute_silently(self) -> None:
        """Compute the runs for the current state without signals (used when the
        surface changes: views then never see runs from another surface)."""
        self._timer.stop()
        self._run_cache.clear()  # a new surface (or scene): every lane runs again
        self.results, self.errors = self._compute()
        self.changed_uids = None
        if not self.errors:
            self._good = self._state()

    def _emit_all(self) -> None:
        self.surface_changed.emit()
        self.start_changed.emit()
        self.training_changed.emit()
        self.lanes_changed.emit()
        self.selected_lane_changed.emit(self.selected_lane)
        self.frame_changed.emit(self.frame)

    def _error(self, msg: str) -> ValueError:
        self.status_message.emit(msg)
        return ValueError(msg)

    def set_surface(self, s) -> None:
        """Replace the surface; the start moves to a sensible default if it falls
        outside the new domain (or has the wrong dimension)."""
        from simulator.core.surface import Surface

        if not isinstance(s, Surface):
            raise self._error(f"not a surface: {s!r}")
        old_dim = self.surface.dim if self.surface is not None else None
        self.surface = s
        start_moved = False
        if not _inside(s, self.start):
            self.start = default_start(s)
            start_moved = True
        if old_dim is not None and old_dim != s.dim:
            for lane in self.lanes:
                lane.start = None
        # runs for the new surface exist before anyone hears of it
        self._recompute_silently()
        self.surface_changed.emit()
        if start_moved:
            self.start_changed.emit()
        if self.errors:
            self.status_message.emit("; ".join(self.errors.values()))
        self.trajectories_changed.emit()

    def set_start(self, p) -> None:
        """Move the shared start point (lanes without their own start follow it)."""
        try:
            p = _check_start(self.surface, p)
        except ValueError as e:
            raise self._error(str(e)) from None
        if p == tuple(self.start):
            return
        self.start = p
        self.recompute()  # first: a view may wait for the runs (``pending``) to redraw
        self.start_changed.emit()

    def set_frame(self, i: int) -> None:
        i = max(0, min(int(i), self.steps))
        if i != self.frame:
            self.frame = i
            self.frame_changed.emit(i)

    def select_lane(self, i: int) -> None:
        i = int(i)
        if not -1 <= i < len(self.lanes):
            i = -1
        if i != self.selected_lane:
            self.selected_lane = i
            self.selected_lane_changed.emit(i)

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

    # ---- lanes ---------------------------------------------------------------------------
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

    def _validate_lane_values(self, values: dict, base: Lane | None = None) -> dict:
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
                if not isinstance(v, str) or not QColor.isValidColorName(v):
                    raise ValueError(f"not a colour: {v!r}")
                v = QColor(v).name().upper()
            elif key == "enabled":
                v = bool(v)
            elif key == "schedule":
                if v is not None and not isinstance(v, Schedule):
                    raise ValueError(f"not a schedule: {v!r}")
            elif key == "noise":
                v = None if v is None else _check_noise(v)
            elif key == "batch_size":
                v = _check_batch(v)
            elif key == "start":
                v = None if v is None else _check_start(self.surface, v)
            else:
                raise ValueError(f"lanes have no setting {key!r}")
            out[key] = v
        return out

    def _check_schedule(self, schedule: Schedule, lr: float, steps: int) -> None:
        lrs = schedule.learning_rates(lr, steps)
        if steps and not (np.all(np.isfinite(lrs)) and lrs.min() >= 0):
            raise ValueError(f"{schedule.title or schedule.name} gives an invalid learning rate")

    def add_lane(self, optimizer: Optimizer, **kw) -> Lane:
        """Append a lane running ``optimizer``; ``kw`` are Lane fields (name, color, ...)."""
        if len(self.lanes) >= MAX_LANES:
            raise self._error(f"at most {MAX_LANES} lanes: remove one first")
        try:
            vals = self._validate_lane_values({"optimizer": optimizer, **kw})
        except ValueError as e:
            raise self._error(str(e)) from None
        vals.pop("optimizer")
        lane = self._append_lane(optimizer, **vals)
        self.recompute()  # first: views skip lanes_changed while a run is pending
        self.lanes_changed.emit()
        return lane

    def add_preset(self, preset: str) -> Lane:
        """Add a lane from a preset name (``"Momentum"``), tuned to the current scene."""
        opt, kw = make_preset(preset, self.surface, self.start)
        return self.add_lane(opt, name=preset, **kw)

    def suggest_learning_rates(self) -> None:
        """Give every lane a learning rate suited to the current surface and start
        (after switching surfaces, the old rates may crawl or explode)."""
        changed = False
        for lane in self.lanes:
            start = lane.start if lane.start is not None else self.start
            lr = suggested_lr(lane.optimizer, self.surface, start)
            try:
                opt = lane.optimizer.replace(lr=lr)
                self._check_schedule(lane.schedule or self.schedule, lr, self.steps)
            except ValueError:
                continue
            if opt != lane.optimizer:
                lane.optimizer = opt
                changed = True
        if changed:
            self.recompute()
            self.lanes_changed.emit()

    def remove_lane(self, i: int) -> None:
        if not 0 <= i < len(self.lanes):
            return
        lane = self.lanes.pop(i)
        self.results.pop(lane.uid, None)
        sel = self.selected_lane
        if sel > i or sel >= len(self.lanes):
            sel -= 1
        self.recompute()
        self.lanes_changed.emit()
        if sel != self.selected_lane:
            self.selected_lane = sel
        self.selected_lane_changed.emit(self.selected_lane)

    def duplicate_lane(self, i: int) -> Lane | None:
        if not 0 <= i < len(self.lanes):
            return None
        if len(self.lanes) >= MAX_LANES:
            raise self._error(f"at most {MAX_LANES} lanes: remove one first")
        src = self.lanes[i]
        lane = self._append_lane(
            src.optimizer, index=i + 1, name=src.name, enabled=src.enabled,
            schedule=src.schedule, noise=src.noise, batch_size=src.batch_size,
            start=src.start,
        )
        if self.selected_lane > i:
            self.selected_lane += 1
        self.recompute()
        self.lanes_changed.emit()
        return lane

    def update_lane(self, i: int, **changes) -> None:
        """Change lane ``i``: Lane fields (``enabled=False``, ``noise=0.1``, ...) or the
        optimizer's hyperparameters by name (``lr=0.01``, ``momentum=0.9``)."""
        if not 0 <= i < len(self.lanes):
            raise self._error(f"no lane {i}")
        lane = self.lanes[i]
        lane_vals = {k: v for k, v in changes.items() if k in _LANE_FIELDS}
        hyper = {k: v for k, v in changes.items() if k not in _LANE_FIELDS}
        try:
            vals = self._validate_lane_values(lane_vals, base=lane)
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
            self._check_schedule(sched, opt.lr, self.steps)
        except ValueError as e:
            raise self._error(str(e)) from None
        changed = set()
        for k, v in vals.items():
            if getattr(lane, k) != v or k == "optimizer":
                setattr(lane, k, v)
                changed.add(k)
        if changed:
            if changed - {"name", "color"}:  # a new name or colour runs nothing again
                self.recompute()
            self.lanes_changed.emit()

    # ---- training ------------------------------------------------------------------------
    def set_training(self, **changes) -> None:
        """Change global settings: steps, seed, noise, batch_size, clip_grad_norm,
        schedule. Invalid values raise ValueError and change nothing."""
        vals = {}
        try:
            for k, v in changes.items():
                if k == "steps":
                    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not (
                        1 <= v <= MAX_UI_STEPS
                    ):
                        raise ValueError(
                            f"steps must be a whole number from 1 to {MAX_UI_STEPS:,}, got {v!r}"
                        )
                    v = int(v)
                elif k == "seed":
                    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                        raise ValueError(f"seed must be a whole number >= 0, got {v!r}")
                    v = int(v)
                elif k == "noise":
                    v = _check_noise(v)
                elif k == "batch_size":
                    v = _check_batch(v)
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
                self._check_schedule(lane.schedule or sched, lane.optimizer.lr, steps)
        except ValueError as e:
            raise self._error(str(e)) from None
        changed = {k: v for k, v in vals.items() if getattr(self, k) != v}
        if not changed:
            return
        for k, v in changed.items():
            setattr(self, k, v)
        if "steps" in changed:
            self.frame = min(self.frame, self.steps)
        self.training_changed.emit()
        self.recompute()
        if "steps" in changed:
            self.frame_changed.emit(self.frame)

    def effective(self, lane: Lane) -> dict:
        """The settings ``lane`` actually runs with (its overrides, else the session's)."""
        batch = lane.batch_size if lane.batch_size is not None else self.batch_size
        if self.surface is None or self.surface.kind != "data":
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

    # ---- computing -----------------------------------------------------------------------
    def recompute(self) -> None:
        """Schedule one recompute of every enabled lane (coalesced per event-loop turn)."""
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> bool:
        """True while a recompute is scheduled: ``trajectories_changed`` will follow, so
        a view can skip redrawing on ``lanes_changed`` (an edit then draws once)."""
        return self._timer.isActive()

    def flush(self) -> None:
        """Run a pending recompute now (tests and exports call this to be synchronous)."""
        if self._timer.isActive():
            self._timer.stop()
        self.flush_now()

    def flush_now(self) -> None:
        self._timer.stop()
        results, errors = self._compute()
        if errors and self._good is not None:
            msg = "; ".join(errors.values())
            self._restore(self._good)
            results, errors2 = self._compute()
            self.status_message.emit(f"{msg} (kept the previous settings)")
            errors = errors2
        elif not errors:
            self._good = self._state()
        old = self.results
        self.changed_uids = {uid for uid, run in results.items() if old.get(uid) is not run}
        self.changed_uids.update(uid for uid in old if uid not in results)
        self.results = results
        self.errors = errors
        if errors:
            self.status_message.emit("; ".join(errors.values()))
        self.trajectories_changed.emit()

    def _compute(self) -> tuple[dict, dict]:
        from simulator.core.engine import simulate

        results, errors = {}, {}
        if self.surface is None:
            return results, errors
        cache = self._run_cache
        uids = {lane.uid for lane in self.lanes}
        for uid in [u for u in cache if u not in uids]:
            del cache[uid]
        for lane in self.lanes:
            if not lane.enabled:
                continue
            e = self.effective(lane)
            # a run depends only on these: a lane whose inputs did not change keeps its
            # run (editing one lane's learning rate re-runs that lane, not all of them)
            key = (lane.optimizer, e["schedule"], e["noise"], e["batch_size"], e["start"],
                   self.clip_grad_norm, self.steps, self.seed)
            hit = cache.get(lane.uid)
            if hit is not None and hit[0] is self.surface and _same(hit[1], key):
                results[lane.uid] = hit[2]
                continue
            cache.pop(lane.uid, None)
            try:
                run = simulate(
                    self.surface, lane.optimizer, e["start"], steps=self.steps,
                    schedule=e["schedule"], noise=e["noise"], seed=self.seed,
                    clip_grad_norm=self.clip_grad_norm, batch_size=e["batch_size"],
                )
            except ValueError as err:
                errors[lane.uid] = f"{lane.name}: {err}"
                continue
            results[lane.uid] = run
            cache[lane.uid] = (self.surface, key, run)
        return results, errors

    def _state(self) -> dict:
        return {
            "surface": self.surface, "start": self.start,
            "lanes": [copy.copy(lane) for lane in self.lanes],
            "steps": self.steps, "seed": self.seed, "noise": self.noise,
            "batch_size": self.batch_size, "clip_grad_norm": self.clip_grad_norm,
            "schedule": self.schedule,
        }

    def _restore(self, st: dict) -> None:
        uids = [lane.uid for lane in self.lanes]
        for k, v in st.items():
            if k == "lanes":
                # restore values in place: views and panels may hold the Lane objects
                by_uid = {lane.uid: lane for lane in self.lanes}
                new = []
                for old in v:
                    lane = by_uid.get(old.uid)
                    if lane is None:
                        lane = copy.copy(old)
                    else:
                        for f in _LANE_FIELDS:
                            setattr(lane, f, getattr(old, f))
                    new.append(lane)
                self.lanes = new
            else:
                setattr(self, k, v)
        self.frame = min(self.frame, self.steps)
        self.selected_lane = min(self.selected_lane, len(self.lanes) - 1)
        self.surface_changed.emit()
        self.start_changed.emit()
        self.training_changed.emit()
        self.lanes_changed.emit()
        if uids != [lane.uid for lane in self.lanes]:
            self.selected_lane_changed.emit(self.selected_lane)

    # ---- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The whole scene as JSON-ready data (``{"format": "losslab-session", ...}``)."""
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
                "schedule": self.schedule.to_dict(),
            },
            "lanes": [
                {
                    "name": lane.name,
                    "optimizer": _jsonable(lane.optimizer.to_dict()),
                    "color": lane.color,
                    "enabled": lane.enabled,
                    "schedule": None if lane.schedule is None else lane.schedule.to_dict(),
                    "noise": lane.noise,
                    "batch_size": lane.batch_size,
                    "start": None if lane.start is None else list(lane.start),
                }
                for lane in self.lanes
            ],
            "selected_lane": self.selected_lane,
            "frame": self.frame,
        }

    def load_dict(self, d) -> None:
        """Replace the scene with ``d`` (as :meth:`to_dict` writes). Anything wrong
        raises ValueError naming it and leaves the current scene untouched."""
        try:
            st = self._parse(d)
        except ValueError:
            raise
        except Exception as e:  # noqa: BLE001 - any malformed content is a ValueError
            raise ValueError(f"not a valid LossLab session: {type(e).__name__}: {e}") from None
        self.surface = st["surface"]
        self.start = st["start"]
        self.steps = st["steps"]
        self.seed = st["seed"]
        self.noise = st["noise"]
        self.batch_size = st["batch_size"]
        self.clip_grad_norm = st["clip_grad_norm"]
        self.schedule = st["schedule"]
        self.lanes = []
        self._next_uid = 1
        for kw in st["lanes"]:
            opt = kw.pop("optimizer")
            self._append_lane(opt, **kw)
        self.selected_lane = st["selected_lane"] if st["selected_lane"] < len(self.lanes) \
            else (0 if self.lanes else -1)
        self.frame = max(0, min(st["frame"], self.steps))
        self._good = None
        self._recompute_silently()
        self._emit_all()
        if self.errors:
            self.status_message.emit("; ".join(self.errors.values()))
        self.trajectories_changed.emit()

    def _parse(self, d) -> dict:
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
        surface = surface_from_dict(d.get("surface"))
        start = _check_start(surface, d.get("start"))
        tr = d.get("training") or {}
        if not isinstance(tr, dict):
            raise ValueError("training must be an object")
        probe = Session(default_scene=False)
        probe.surface = surface
        try:
            probe.set_training(
                steps=tr.get("steps", DEFAULT_STEPS), seed=tr.get("seed", 0),
                noise=tr.get("noise", 0.0), batch_size=tr.get("batch_size"),
                clip_grad_norm=tr.get("clip_grad_norm"),
                schedule=schedule_from_dict(tr.get("schedule")),
            )
        finally:
            probe._timer.stop()
        lanes_in = d.get("lanes")
        if not isinstance(lanes_in, list):
            raise ValueError("lanes must be a list")
        if len(lanes_in) > MAX_LANES:
            raise ValueError(f"at most {MAX_LANES} lanes, the file has {len(lanes_in)}")
        lanes = []
        for k, ld in enumerate(lanes_in):
            if not isinstance(ld, dict):
                raise ValueError(f"lane {k + 1} must be an object")
            try:
                opt = optimizer_from_dict(ld.get("optimizer"))
                sched = ld.get("schedule")
                vals = {
                    "optimizer": opt,
                    "name": ld.get("name") or opt.title,
                    "color": ld.get("color") or next_lane_color(
                        lane.get("color", "") for lane in lanes),
                    "enabled": ld.get("enabled", True),
                    "schedule": None if sched is None else schedule_from_dict(sched),
                    "noise": ld.get("noise"),
                    "batch_size": ld.get("batch_size"),
                    "start": ld.get("start"),
                }
                probe.surface = surface
                vals = probe._validate_lane_values(vals)
                probe._check_schedule(vals["schedule"] or probe.schedule, opt.lr, probe.steps)
            except (ValueError, TypeError, AttributeError) as e:
                raise ValueError(f"lane {k + 1}: {e}") from None
            lanes.append(vals)
        sel = d.get("selected_lane", 0)
        frame = d.get("frame", probe.steps)
        return {
            "surface": surface, "start": start, "steps": probe.steps, "seed": probe.seed,
            "noise": probe.noise, "batch_size": probe.batch_size,
            "clip_grad_norm": probe.clip_grad_norm, "schedule": probe.schedule,
            "lanes": lanes,
            "selected_lane": sel if isinstance(sel, int) and sel >= -1 else 0,
            "frame": frame if isinstance(frame, int) else probe.steps,
        }
