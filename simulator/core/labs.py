"""Teaching labs: a versioned JSON format, its validation, and the built-in labs.

A lab is a scene (surface, start point, optimizer lanes, training settings, view
settings) plus text for students (a title, a one-line summary, instructions and
questions). The format is documented in ``resources/labs/README.md``; in short::

    {"format": "losslab-lab", "version": 1, "id": "race", "title": "...",
     "summary": "...", "instructions": "<p>...</p>", "questions": ["...", ...],
     "surface": {"kind": "library", "name": "rosenbrock", "params": {"b": 100}},
     "start": [-1.5, 2.0], "steps": 1000, "seed": 0,
     "lanes": [{"name": "Adam", "optimizer": {"name": "Adam", "lr": 0.05}}, ...],
     "view": {"views": ["2d", "3d"], "log_scale": true}}

Reading a lab is safe by construction: the file is parsed as JSON (never ``eval`` or
pickle), formulas go through the safe expression parser, rich text is restricted to a
few formatting tags, and :func:`parse_lab` checks *everything* before anything is built,
reporting every problem with its place (``lanes[2].optimizer.lr: must be a positive
number``) in one :class:`LabError`.

This module never imports Qt: the CLI, the exporters and the tests use it headless.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np

from .files import (  # noqa: F401 - json_int, HugeNumberError: also labs' names
    MAX_INT_DIGITS,
    HugeNumberError,
    atomic_write_text,
    json_int,
    read_small_file,
)
from .files import jsonable as _jsonable
from .optimizers import OPTIMIZERS, PAIR_FIELDS, Optimizer
from .schedules import SCHEDULES, ConstantSchedule, Schedule, schedule_from_dict
from .surface import Surface
from .surface_io import _check_domain, check_surface, surface_to_dict

FORMAT = "losslab-lab"
VERSION = 1
SUFFIX = ".json"
MAX_FILE_BYTES = 1_000_000
MAX_STEPS = 100_000  # the app keeps every step of every lane in memory
MAX_LANES = 12
MAX_TEXT = 20_000
VIEWS = ("2d", "3d")

# Built-in labs in teaching order (a file not listed here comes after, by id).
BUILTIN_ORDER = (
    "lr-1d", "ravine", "race", "saddle", "schedules", "adaptive", "sharp-flat", "adamw",
    "lr-probe",
)

# The safe subset of rich text: formatting only, no attributes, links, images or scripts.
RICH_TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "ul", "ol", "li", "code",
                       "sub", "sup"})
_VOID_TAGS = frozenset({"br"})

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")

_TOP_KEYS = ("format", "version", "id", "title", "summary", "instructions", "questions",
             "surface", "domain", "start", "steps", "seed", "noise", "batch_size",
             "clip_grad_norm", "schedule", "lanes", "view")
_LANE_KEYS = ("name", "optimizer", "color", "enabled", "schedule", "noise", "batch_size",
              "start")
_VIEW_KEYS = ("views", "log_scale", "camera", "frame")
_CAMERA_KEYS = ("elevation", "azimuth", "distance")


# ---- errors --------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lab: where (``lanes[2].optimizer.lr``) and what."""

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


class LabError(ValueError):
    """A lab that cannot be loaded; ``problems`` lists every problem found.

    ``str(err)`` gives one problem per line; :meth:`one_line` a short summary for a
    command line or status bar.
    """

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems = list(problems) or [Problem("", "not a valid lab")]
        self.source = source
        super().__init__("\n".join(str(p) for p in self.problems))

    def one_line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        more = len(self.problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        return f"{where}{self.problems[0]}{tail}"


class _Checker:
    """Collects problems with their places while a lab is checked."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, place: str, message: str) -> None:
        self.problems.append(Problem(place, message))

    def unknown_keys(self, d: dict, allowed: Iterable[str], place: str) -> None:
        allowed = list(allowed)
        for k in d:
            if k not in allowed:
                close = _close_matches(str(k), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else \
                    f" (known: {', '.join(allowed)})"
                self.add(_join(place, str(k)), f"unknown field{hint}")

    # typed getters: return the value, or None after recording a problem
    def number(self, v, place: str, *, lo: float | None = None, lo_open: bool = False,
               hi: float | None = None, what: str = "a number") -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.add(place, f"must be {what}, got {_show(v)}")
            return None
        if lo is not None and (v <= lo if lo_open else v < lo):
            self.add(place, f"must be {what}, got {_show(v)}")
            return None
        if hi is not None and v > hi:
            self.add(place, f"must be {what}, got {_show(v)}")
            return None
        return float(v)

    def integer(self, v, place: str, lo: int, hi: int, what: str) -> int | None:
        ok = isinstance(v, int) and not isinstance(v, bool)
        if isinstance(v, float) and v.is_integer():
            ok, v = True, int(v)
        if not ok or not lo <= v <= hi:
            self.add(place, f"must be {what}, got {_show(v)}")
            return None
        return int(v)

    def text(self, v, place: str, *, required: bool, max_len: int, one_line: bool = False
             ) -> str | None:
        if v is None and not required:
            return None
        if not isinstance(v, str) or not v.strip():
            self.add(place, "must be a non-empty text" if required or v is not None
                     else "is missing")
            return None
        if len(v) > max_len:
            self.add(place, f"is too long ({len(v):,} characters; at most {max_len:,})")
            return None
        if one_line and ("\n" in v or "\r" in v):
            self.add(place, "must be one line")
            return None
        return v.strip()


def _close_matches(word: str, options, n: int = 1) -> list[str]:
    """difflib's close matches, for a word of reasonable length only: against a
    5 MB name (a hostile file) difflib takes minutes."""
    return difflib.get_close_matches(word, options, n=n) if len(word) <= 100 else []


def _join(place: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else key


def _show(v) -> str:
    s = json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else \
        type(v).__name__ if isinstance(v, (dict, list)) else repr(v)
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "a list"
    return s if len(s) <= 60 else s[:57] + "..."


# ---- rich text ---------------------------------------------------------------------------
class _RichTextChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in RICH_TAGS:
            self.problems.append(
                f"<{tag}> is not allowed (use {', '.join(f'<{t}>' for t in sorted(RICH_TAGS))})"
            )
            return
        if attrs:
            self.problems.append(f"<{tag}> must not have attributes ({attrs[0][0]}=...)")
        if tag not in _VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag not in RICH_TAGS:
            self.problems.append(f"<{tag}> is not allowed")
        elif attrs:
            self.problems.append(f"<{tag}> must not have attributes ({attrs[0][0]}=...)")

    def handle_endtag(self, tag):
        if tag not in RICH_TAGS or tag in _VOID_TAGS:
            return
        if tag in self.stack:
            while self.stack and self.stack[-1] != tag:
                open_tag = self.stack.pop()
                if open_tag not in ("p", "li"):  # HTML lets these close implicitly
                    self.problems.append(f"<{open_tag}> is not closed before </{tag}>")
            self.stack.pop()
        else:
            self.problems.append(f"</{tag}> closes nothing")

    def handle_comment(self, data):
        self.problems.append("comments are not allowed")

    def handle_decl(self, decl):
        self.problems.append(f"<!{decl.split()[0] if decl.split() else ''}> is not allowed")

    def handle_pi(self, data):
        self.problems.append("processing instructions are not allowed")

    def unknown_decl(self, data):
        self.problems.append("<![...]> sections are not allowed")


def check_rich_text(text: str) -> list[str]:
    """Problems with ``text`` as lab rich text (empty when it is safe).

    The allowed subset is :data:`RICH_TAGS` without attributes: paragraphs, line breaks,
    bold, italic, underline, lists, code, sub- and superscripts. Plain text with entities
    (``&lt;``, ``&amp;``) is fine.
    """
    p = _RichTextChecker()
    try:
        p.feed(text)
        p.close()
    except Exception as e:  # noqa: BLE001 - malformed markup is a problem, not a crash
        p.problems.append(f"cannot be read as rich text ({e})")
    for tag in p.stack:
        if tag not in ("p", "li"):
            p.problems.append(f"<{tag}> is not closed")
    out = []
    for msg in p.problems:
        if msg not in out:
            out.append(msg)
    return out


def rich_text_to_plain(text: str) -> str:
    """A plain-text rendering of lab rich text (for the command line)."""
    text = re.sub(r"<\s*(br|/p|/li|/ul|/ol)\s*/?>", "\n", text, flags=re.I)
    text = re.sub(r"<\s*li\s*>", "- ", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    import html

    lines = [" ".join(line.split()) for line in html.unescape(text).splitlines()]
    return "\n".join(line for line in lines if line)


# ---- the lab -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LabLane:
    """One optimizer lane of a lab; ``None`` settings follow the lab's."""

    name: str
    optimizer: Optimizer
    color: str | None = None
    enabled: bool = True
    schedule: Schedule | None = None
    noise: float | None = None
    batch_size: int | None = None
    start: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ViewSettings:
    """How the app shows a lab: which views, colour scale, 3-D camera, opening step."""

    views: tuple[str, ...] = VIEWS
    log_scale: bool | None = None  # None: the surface's own default
    camera: dict | None = None  # {"elevation": deg, "azimuth": deg, "distance": d}
    frame: int | None = None  # None: the whole run

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"views": list(self.views)}
        if self.log_scale is not None:
            d["log_scale"] = self.log_scale
        if self.camera:
            d["camera"] = dict(self.camera)
        if self.frame is not None:
            d["frame"] = self.frame
        return d


@dataclass(frozen=True)
class Lab:
    """A validated lab: everything built and ready to run or to load into the app."""

    id: str
    title: str
    summary: str
    surface: Surface
    surface_spec: dict
    start: tuple[float, ...]
    lanes: tuple[LabLane, ...]
    steps: int = 1000
    seed: int = 0
    noise: float = 0.0
    batch_size: int | None = None
    clip_grad_norm: float | None = None
    schedule: Schedule = field(default_factory=ConstantSchedule)
    instructions: str = ""
    questions: tuple[str, ...] = ()
    domain: tuple[tuple[float, float], ...] | None = None
    view: ViewSettings = field(default_factory=ViewSettings)
    source: str | None = None  # the file or built-in id it came from

    # ---- running ------------------------------------------------------------------------
    def effective(self, lane: LabLane) -> dict:
        """The settings ``lane`` runs with (its overrides, else the lab's)."""
        batch = lane.batch_size if lane.batch_size is not None else self.batch_size
        if self.surface.kind != "data":
            batch = None
        return {
            "schedule": lane.schedule if lane.schedule is not None else self.schedule,
            "noise": lane.noise if lane.noise is not None else self.noise,
            "batch_size": batch,
            "start": lane.start if lane.start is not None else self.start,
        }

    def run(self, steps: int | None = None) -> list[tuple[LabLane, Any]]:
        """Simulate every enabled lane (headless): ``[(lane, Trajectory), ...]``."""
        from .engine import simulate

        out = []
        for lane in self.lanes:
            if not lane.enabled:
                continue
            e = self.effective(lane)
            run = simulate(self.surface, lane.optimizer, e["start"],
                           steps=self.steps if steps is None else steps,
                           schedule=e["schedule"], noise=e["noise"], seed=self.seed,
                           clip_grad_norm=self.clip_grad_norm, batch_size=e["batch_size"])
            out.append((lane, run))
        return out

    # ---- serialising ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The lab as canonical version-1 JSON data (what :func:`save_lab` writes)."""
        d: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
        }
        if self.instructions:
            d["instructions"] = self.instructions
        if self.questions:
            d["questions"] = list(self.questions)
        d["surface"] = _jsonable(self.surface_spec)
        if self.domain is not None:
            d["domain"] = [list(p) for p in self.domain]
        d["start"] = list(self.start)
        d["steps"] = self.steps
        d["seed"] = self.seed
        d["noise"] = self.noise
        if self.batch_size is not None:
            d["batch_size"] = self.batch_size
        if self.clip_grad_norm is not None:
            d["clip_grad_norm"] = self.clip_grad_norm
        d["schedule"] = None if isinstance(self.schedule, ConstantSchedule) else \
            _jsonable(self.schedule.to_dict())
        lanes = []
        for lane in self.lanes:
            ld: dict[str, Any] = {"name": lane.name,
                                  "optimizer": _jsonable(lane.optimizer.to_dict())}
            if lane.color:
                ld["color"] = lane.color
            if not lane.enabled:
                ld["enabled"] = False
            if lane.schedule is not None:
                ld["schedule"] = _jsonable(lane.schedule.to_dict())
            for k in ("noise", "batch_size"):
                if getattr(lane, k) is not None:
                    ld[k] = getattr(lane, k)
            if lane.start is not None:
                ld["start"] = list(lane.start)
            lanes.append(ld)
        d["lanes"] = lanes
        d["view"] = self.view.to_dict()
        return d

    def scene(self):
        """The lab's scene as a :class:`~simulator.core.scene.Scene` (lanes, training,
        view, frame; marked as this lab). The scene's own checks run on every value:
        ValueError when it refuses one (a schedule that cannot cover the run, ...)."""
        from .scene import Scene, ViewState, check_schedule

        sc = Scene()
        sc.surface = self.surface
        sc.set_start(self.start)
        sc.set_training(steps=self.steps, seed=self.seed, noise=self.noise,
                        batch_size=self.batch_size if self.surface.kind == "data" else None,
                        clip_grad_norm=self.clip_grad_norm, schedule=self.schedule)
        for k, lane in enumerate(self.lanes):
            kw = {"name": lane.name, "enabled": lane.enabled, "schedule": lane.schedule,
                  "noise": lane.noise, "batch_size": lane.batch_size, "start": lane.start}
            if lane.color:
                kw["color"] = lane.color
            try:
                sc.add_lane(lane.optimizer, **kw)
                check_schedule(lane.schedule or sc.schedule, lane.optimizer.lr, sc.steps)
            except ValueError as e:
                raise ValueError(f"lane {k + 1}: {e}") from None
        sc.selected_lane = 0 if sc.lanes else -1
        sc.frame = self.steps if self.view.frame is None else min(self.view.frame, self.steps)
        sc.view = ViewState(views=self.view.views, log_scale=self.view.log_scale,
                            camera=self.view.camera)
        sc.set_lab(self.id, self.title)
        return sc

    def session_dict(self) -> dict:
        """The scene as a ``losslab-session`` dict (what the app's Session loads)."""
        return self.scene().to_dict()


@dataclass(frozen=True)
class LabInfo:
    """A built-in lab's id, title and one-line summary (for listings)."""

    id: str
    title: str
    summary: str


# ---- parsing and validation -------------------------------------------------------------
def _strip_prefix(msg: str, *prefixes: str) -> str:
    for pre in prefixes:
        if pre and msg.startswith(pre + ": "):
            return msg[len(pre) + 2:]
    return msg


def _field_problem(cls, params: dict, key: str, value) -> str | None:
    """The error building ``cls`` with only ``key=value`` gives (None when it is fine)."""
    try:
        cls(**{key: value})
    except (ValueError, TypeError) as e:
        return str(e)
    return None


def _check_optimizer(ck: _Checker, name, params: dict, place: str, name_place: str,
                     param_place) -> Optimizer | None:
    """Build optimizer ``name`` from ``params``; each bad hyperparameter is reported at
    ``param_place(key)``."""
    cls = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if cls is None:
        close = _close_matches(str(name), list(OPTIMIZERS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(OPTIMIZERS)}"
        ck.add(name_place, f"unknown optimizer {_show(name)}; {hint}")
        return None
    known = [f.name for f in dataclasses.fields(cls)]
    n0 = len(ck.problems)
    for k, v in params.items():
        p = param_place(k)
        if k not in known:
            close = _close_matches(k, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else \
                f" (its hyperparameters: {', '.join(known)})"
            ck.add(p, f"{name} has no hyperparameter {k!r}{hint}")
            continue
        if k == "lr":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                    math.isfinite(v) and v > 0):
                ck.add(p, f"must be a positive number, got {_show(v)}")
            continue
        ftype = next(f.type for f in dataclasses.fields(cls) if f.name == k)
        if "bool" in str(ftype) and not isinstance(v, bool):
            ck.add(p, f"must be true or false, got {_show(v)}")
            continue
        if k in PAIR_FIELDS:
            if not (isinstance(v, list) and len(v) == 2):
                pair = {"betas": "[beta1, beta2]", "etas": "[etaminus, etaplus]",
                        "step_sizes": "[min, max]"}[k]
                ck.add(p, f"must be a pair {pair}, got {_show(v)}")
                continue
            v = tuple(v)
        elif "bool" not in str(ftype) and (isinstance(v, bool) or not isinstance(v, (int, float))):
            ck.add(p, f"must be a number, got {_show(v)}")
    if len(ck.problems) > n0:
        return None
    kw = {k: (tuple(v) if k in PAIR_FIELDS else v) for k, v in params.items()}
    try:
        return cls(**kw)
    except (ValueError, TypeError) as e:
        whole = str(e)
    # find the hyperparameter to blame; a rule between them (Nesterov) goes on the optimizer
    for k, v in kw.items():
        if k == "lr" or isinstance(v, bool):
            continue
        msg = _field_problem(cls, {}, k, v)
        if msg:
            ck.add(param_place(k), _strip_prefix(msg, name))
    if len(ck.problems) == n0:
        ck.add(place, _strip_prefix(whole, name))
    return None


def _check_schedule(ck: _Checker, d, place: str) -> Schedule | None:
    if d is None:
        return ConstantSchedule()
    if not isinstance(d, dict):
        ck.add(place, "must be an object such as {\"name\": \"StepLR\", \"step_size\": 100} "
                      "or null")
        return None
    name = d.get("name")
    cls = SCHEDULES.get(name) if isinstance(name, str) else None
    if cls is None:
        close = _close_matches(str(name), list(SCHEDULES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(SCHEDULES)}"
        ck.add(_join(place, "name"), f"unknown schedule {_show(name)}; {hint}")
        return None
    known = [f.name for f in dataclasses.fields(cls)]
    n0 = len(ck.problems)
    for k, v in d.items():
        if k == "name":
            continue
        if k not in known:
            close = _close_matches(k, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else \
                f" (its parameters: {', '.join(known) or 'none'})"
            ck.add(_join(place, k), f"{name} has no parameter {k!r}{hint}")
            continue
        if name == "SequentialLR" and k == "schedulers":
            if not isinstance(v, list) or not v:
                ck.add(_join(place, k), "must be a non-empty list of schedules")
            else:
                for i, sub in enumerate(v):
                    _check_schedule(ck, sub, _join(_join(place, k), i))
            continue
        if k == "milestones" and not isinstance(v, list):
            ck.add(_join(place, k), "must be a list of step numbers")
    if len(ck.problems) > n0:
        return None
    try:
        return schedule_from_dict(d)
    except (ValueError, TypeError) as e:
        whole = str(e)
    # find the parameter to blame; a rule between parameters is reported on the schedule
    for k, v in d.items():
        if k in ("name", "schedulers"):
            continue
        msg = _field_problem(cls, {}, k, tuple(v) if isinstance(v, list) else v)
        if msg:
            ck.add(_join(place, k), _strip_prefix(msg, name))
    if len(ck.problems) == n0:
        ck.add(place, _strip_prefix(whole, name))
    return None


def _check_point(ck: _Checker, v, place: str, surface: Surface | None
                 ) -> tuple[float, ...] | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        ck.add(place, "must be a list of coordinates such as [-1.5, 2.0] (or [w] in 1-D)")
        return None
    vals = [ck.number(x, _join(place, i), what="a finite number") for i, x in enumerate(v)]
    if None in vals:
        return None
    if surface is None:
        return tuple(vals)
    if len(vals) != surface.dim:
        axes = ", ".join(surface.variables)
        ck.add(place, f"needs {surface.dim} coordinate{'s' if surface.dim > 1 else ''} "
                      f"({axes}) for this surface, got {len(vals)}")
        return None
    for i, ((lo, hi), x) in enumerate(zip(surface.domain, vals)):
        if not lo <= x <= hi:
            ck.add(_join(place, i), f"{surface.variables[i]} = {x:g} is outside the domain "
                                    f"[{lo:g}, {hi:g}]")
            return None
    return tuple(vals)


def _check_lane(ck: _Checker, ld, place: str, surface, steps, lab_schedule, is_data
                ) -> LabLane | None:
    if not isinstance(ld, dict):
        ck.add(place, "must be an object with a name and an optimizer")
        return None
    n0 = len(ck.problems)
    opt_v = ld.get("optimizer")
    opt = None
    if isinstance(opt_v, dict):
        allowed = _LANE_KEYS
        params = {k: v for k, v in opt_v.items() if k != "name"}
        opt = _check_optimizer(ck, opt_v.get("name"), params, _join(place, "optimizer"),
                               _join(_join(place, "optimizer"), "name"),
                               lambda k: _join(_join(place, "optimizer"), k))
    elif isinstance(opt_v, str):
        # shorthand: {"optimizer": "SGD", "lr": 0.1, "momentum": 0.9}
        cls = OPTIMIZERS.get(opt_v)
        hyper = [f.name for f in dataclasses.fields(cls)] if cls else []
        allowed = (*_LANE_KEYS, *hyper)
        params = {k: v for k, v in ld.items() if k in hyper}
        opt = _check_optimizer(ck, opt_v, params, place, _join(place, "optimizer"),
                               lambda k: _join(place, k))
    else:
        allowed = _LANE_KEYS
        ck.add(_join(place, "optimizer"),
               "is missing; give an object such as {\"name\": \"SGD\", \"lr\": 0.1}"
               if opt_v is None else f"must be an object such as {{\"name\": \"SGD\", "
                                     f"\"lr\": 0.1}}, got {_show(opt_v)}")
    ck.unknown_keys(ld, allowed, place)
    name = ld.get("name")
    if name is None and opt is not None:
        name = opt.title
    name = ck.text(name, _join(place, "name"), required=True, max_len=60, one_line=True)
    color = ld.get("color")
    if color is not None and (not isinstance(color, str) or not _COLOR_RE.match(color)):
        ck.add(_join(place, "color"), f"must be a colour \"#RRGGBB\", got {_show(color)}")
    enabled = ld.get("enabled", True)
    if not isinstance(enabled, bool):
        ck.add(_join(place, "enabled"), f"must be true or false, got {_show(enabled)}")
    sched = None
    if ld.get("schedule") is not None:
        sched = _check_schedule(ck, ld["schedule"], _join(place, "schedule"))
    noise = ld.get("noise")
    if noise is not None:
        noise = ck.number(noise, _join(place, "noise"), lo=0.0, what="a number >= 0")
    batch = ld.get("batch_size")
    if batch is not None:
        batch = ck.integer(batch, _join(place, "batch_size"), 1, 10**9, "a whole number >= 1")
        if batch is not None and not is_data:
            ck.add(_join(place, "batch_size"), "applies only to data surfaces "
                   "(linear-regression, logistic-regression); use noise for others")
    start = ld.get("start")
    if start is not None:
        start = _check_point(ck, start, _join(place, "start"), surface)
    if len(ck.problems) > n0 or opt is None:
        return None
    sched_eff = sched if sched is not None else lab_schedule
    if sched_eff is not None and steps is not None:
        try:
            lrs = sched_eff.learning_rates(opt.lr, steps)
        except ValueError as e:  # e.g. a OneCycleLR shorter than the run
            ck.add(_join(place, "schedule") if sched is not None else "schedule",
                   _strip_prefix(str(e), type(sched_eff).__name__))
            return None
        if steps and not (np.all(np.isfinite(lrs)) and lrs.min() >= 0):
            ck.add(_join(place, "schedule") if sched is not None else "schedule",
                   f"gives an invalid learning rate for {name!r}")
            return None
    return LabLane(name=name, optimizer=opt, color=color.upper() if color else None,
                   enabled=enabled, schedule=sched, noise=noise, batch_size=batch,
                   start=start)


def _check_view(ck: _Checker, v, steps) -> ViewSettings | None:
    if v is None:
        return ViewSettings()
    if not isinstance(v, dict):
        ck.add("view", "must be an object such as {\"views\": [\"2d\", \"3d\"]}")
        return None
    ck.unknown_keys(v, _VIEW_KEYS, "view")
    n0 = len(ck.problems)
    views = v.get("views", list(VIEWS))
    if isinstance(views, str):
        views = [views]
    if not isinstance(views, list) or not views or any(x not in VIEWS for x in views):
        ck.add("view.views", f"must be a non-empty list of {', '.join(map(repr, VIEWS))}, "
                             f"got {_show(views)}")
        views = list(VIEWS)
    log = v.get("log_scale")
    if log is not None and not isinstance(log, bool):
        ck.add("view.log_scale", f"must be true, false or null, got {_show(log)}")
    cam = v.get("camera")
    if cam is not None:
        if not isinstance(cam, dict):
            ck.add("view.camera", "must be an object {\"elevation\", \"azimuth\", "
                                  "\"distance\"}")
            cam = None
        else:
            ck.unknown_keys(cam, _CAMERA_KEYS, "view.camera")
            out = {}
            if "elevation" in cam:
                out["elevation"] = ck.number(cam["elevation"], "view.camera.elevation",
                                             lo=-90, hi=90, what="degrees from -90 to 90")
            if "azimuth" in cam:
                out["azimuth"] = ck.number(cam["azimuth"], "view.camera.azimuth",
                                           lo=-360, hi=360, what="degrees from -360 to 360")
            if "distance" in cam:
                out["distance"] = ck.number(cam["distance"], "view.camera.distance", lo=0.0,
                                            lo_open=True, hi=100.0,
                                            what="a positive number up to 100")
            cam = out
    frame = v.get("frame")
    if frame is not None:
        frame = ck.integer(frame, "view.frame", 0, steps if steps is not None else MAX_STEPS,
                           "a step number from 0 to steps")
    if len(ck.problems) > n0:
        return None
    return ViewSettings(views=tuple(dict.fromkeys(views)), log_scale=log, camera=cam or None,
                        frame=frame)


def parse_lab(data: Any, source: str | None = None) -> Lab:
    """Validate lab data (as read from JSON) and build the :class:`Lab`.

    Every field is checked before anything is returned; all problems found are raised
    together as one :class:`LabError` with their places. An unknown format or a version
    newer than this LossLab reads is refused outright.
    """
    ck = _Checker()
    if not isinstance(data, dict):
        raise LabError([Problem("", "a lab file must hold a JSON object")], source)
    fmt = data.get("format")
    if fmt != FORMAT:
        hint = " (this is a session file: use File > Open Session)" if \
            fmt == "losslab-session" else ""
        raise LabError([Problem("format", f"must be {FORMAT!r}, got {_show(fmt)}{hint}")],
                       source)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise LabError([Problem("version", f"must be a whole number >= 1, got "
                                           f"{_show(version)}")], source)
    if version > VERSION:
        raise LabError([Problem("version", f"this lab uses format version {version}; this "
                                           f"LossLab reads version {VERSION} (update LossLab "
                                           "to open it)")], source)
    ck.unknown_keys(data, _TOP_KEYS, "")

    lab_id = data.get("id")
    if not isinstance(lab_id, str) or not _ID_RE.match(lab_id):
        ck.add("id", "must be lowercase letters, digits and dashes (like \"my-lab\"), got "
                     f"{_show(lab_id)}")
    title = ck.text(data.get("title"), "title", required=True, max_len=120, one_line=True)
    summary = ck.text(data.get("summary"), "summary", required=True, max_len=240,
                      one_line=True)
    instructions = data.get("instructions", "")
    if instructions is None:
        instructions = ""
    if not isinstance(instructions, str):
        ck.add("instructions", "must be text (simple rich text)")
        instructions = ""
    elif len(instructions) > MAX_TEXT:
        ck.add("instructions", f"is too long ({len(instructions):,} characters; at most "
                               f"{MAX_TEXT:,})")
    else:
        for msg in check_rich_text(instructions):
            ck.add("instructions", msg)
    questions = data.get("questions", [])
    if questions is None:
        questions = []
    if not isinstance(questions, list):
        ck.add("questions", "must be a list of questions (each simple rich text)")
        questions = []
    for i, q in enumerate(questions):
        if not isinstance(q, str) or not q.strip():
            ck.add(_join("questions", i), "must be a non-empty text")
        elif len(q) > MAX_TEXT:
            ck.add(_join("questions", i), "is too long")
        else:
            for msg in check_rich_text(q):
                ck.add(_join("questions", i), msg)

    domain = None
    if data.get("domain") is not None:
        domain = _check_domain(ck, data["domain"], "domain")
    if "surface" not in data:
        ck.add("surface", "is missing")
        surface = None
    else:
        surface = check_surface(ck, data["surface"], "surface", domain)
    if surface is not None and domain is not None and len(domain) != surface.dim:
        ck.add("domain", f"has {len(domain)} pair{'s' if len(domain) > 1 else ''} but the "
                         f"surface has {surface.dim} variable{'s' if surface.dim > 1 else ''}")
        surface = None
    is_data = surface is not None and surface.kind == "data"

    start = None
    if "start" not in data:
        ck.add("start", "is missing")
    else:
        start = _check_point(ck, data["start"], "start", surface)
    steps = ck.integer(data.get("steps", 1000), "steps", 1, MAX_STEPS,
                       f"a whole number from 1 to {MAX_STEPS:,}")
    seed = ck.integer(data.get("seed", 0), "seed", 0, 2**31 - 1, "a whole number >= 0")
    noise = ck.number(data.get("noise", 0.0), "noise", lo=0.0, what="a number >= 0")
    batch = data.get("batch_size")
    if batch is not None:
        batch = ck.integer(batch, "batch_size", 1, 10**9, "a whole number >= 1")
        if batch is not None and surface is not None and not is_data:
            ck.add("batch_size", "applies only to data surfaces (linear-regression, "
                                 "logistic-regression); use noise for others")
    clip = data.get("clip_grad_norm")
    if clip is not None:
        clip = ck.number(clip, "clip_grad_norm", lo=0.0, lo_open=True,
                         what="a positive number or null")
    schedule = _check_schedule(ck, data.get("schedule"), "schedule")

    lanes_v = data.get("lanes")
    lanes = []
    if not isinstance(lanes_v, list) or not lanes_v:
        ck.add("lanes", "must be a non-empty list of lanes")
    elif len(lanes_v) > MAX_LANES:
        ck.add("lanes", f"has {len(lanes_v)} lanes; at most {MAX_LANES}")
    else:
        for i, ld in enumerate(lanes_v):
            lane = _check_lane(ck, ld, _join("lanes", i), surface, steps, schedule, is_data)
            if lane is not None:
                lanes.append(lane)
        names = [lane.name for lane in lanes]
        for i, n in enumerate(names):
            if n in names[:i]:
                ck.add(_join(_join("lanes", i), "name"), f"{n!r} is used by another lane")
    view = _check_view(ck, data.get("view"), steps)

    if ck.problems:
        raise LabError(ck.problems, source)
    assert surface is not None and start is not None and view is not None
    return Lab(
        id=lab_id, title=title, summary=summary, surface=surface,
        surface_spec=data["surface"], start=start, lanes=tuple(lanes), steps=steps,
        seed=seed, noise=noise, batch_size=batch, clip_grad_norm=clip,
        schedule=schedule or ConstantSchedule(), instructions=instructions.strip(),
        questions=tuple(q.strip() for q in questions), domain=domain, view=view,
        source=source,
    )


def validate_lab(data: Any) -> list[Problem]:
    """Every problem with ``data`` as a lab (an empty list when it is valid)."""
    try:
        parse_lab(data)
    except LabError as e:
        return e.problems
    return []


# ---- files -----------------------------------------------------------------------------------
def read_lab_file(path: str | os.PathLike) -> Lab:
    """Read and validate a lab file. Raises :class:`LabError` (a ValueError) on any
    problem: unreadable, too big, not JSON, or invalid."""
    p = Path(path)
    src = str(p)
    try:
        # a regular file, at most MAX_FILE_BYTES read whatever st_size says: /dev/zero
        # reports 0 bytes and never ends, a FIFO blocks (simulator.core.files)
        raw = read_small_file(p, MAX_FILE_BYTES, "lab file")
    except OSError as e:
        raise LabError([Problem("", f"cannot read the file ({e.strerror or e})")], src) \
            from None
    return loads_lab(raw, src)


def loads_lab(text: str | bytes, source: str | None = None) -> Lab:
    """Parse lab JSON text (JSON only: no code is ever run)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        data = json.loads(text, parse_constant=_no_constant, parse_int=json_int)
    except HugeNumberError as e:
        raise LabError([Problem("", str(e))], source) from None
    except UnicodeDecodeError:
        raise LabError([Problem("", "not a text file (a lab is UTF-8 JSON)")], source) \
            from None
    except (json.JSONDecodeError, ValueError) as e:
        where = f" at line {e.lineno}, column {e.colno}" if isinstance(
            e, json.JSONDecodeError) else ""
        msg = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise LabError([Problem("", f"not valid JSON{where}: {msg}")], source) from None
    except RecursionError:
        raise LabError([Problem("", "the JSON is nested too deeply")], source) from None
    return parse_lab(data, source)


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed in a lab (use finite numbers)")


def dumps_lab(lab: Lab | dict) -> str:
    data = lab.to_dict() if isinstance(lab, Lab) else lab
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_lab(lab: Lab | dict, path: str | os.PathLike) -> None:
    """Validate and write a lab file atomically. A dict is checked first (LabError)."""
    if isinstance(lab, dict):
        parse_lab(lab)
    atomic_write_text(path, dumps_lab(lab))


# ---- built-in labs -----------------------------------------------------------------------
def _lab_files() -> dict[str, Any]:
    from importlib.resources import files

    root = files("simulator.resources.labs")
    return {e.name[: -len(SUFFIX)]: e for e in root.iterdir()
            if e.name.endswith(SUFFIX) and e.is_file()}


def builtin_lab_ids() -> list[str]:
    """Ids of the built-in labs, in teaching order."""
    ids = list(_lab_files())
    order = {k: i for i, k in enumerate(BUILTIN_ORDER)}
    return sorted(ids, key=lambda k: (order.get(k, len(order)), k))


def builtin_lab(lab_id: str) -> Lab:
    """The built-in lab ``lab_id``. Raises LookupError for an unknown id."""
    entries = _lab_files()
    if lab_id not in entries:
        ids = builtin_lab_ids()
        close = _close_matches(str(lab_id), ids, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise LookupError(f"no built-in lab {lab_id!r}; {hint}built-in labs: "
                          f"{', '.join(ids)}")
    return loads_lab(entries[lab_id].read_bytes(), f"built-in lab {lab_id}")


def list_labs() -> list[LabInfo]:
    """The built-in labs (id, title, summary), in teaching order.

    Reads only those three fields: building every lab's scene (a formula lab compiles
    its formula, importing sympy) cost the app's first window two seconds. The built-in
    files are validated whole by the tests; a broken one is still parsed (and its error
    raised) here.
    """
    out = []
    entries = _lab_files()
    for lab_id in builtin_lab_ids():
        try:
            d = json.loads(entries[lab_id].read_bytes())
            info = LabInfo(str(d["id"]), str(d["title"]), str(d["summary"]))
        except (ValueError, KeyError, TypeError):
            lab = builtin_lab(lab_id)
            info = LabInfo(lab.id, lab.title, lab.summary)
        out.append(info)
    return out


def load_lab(ref: str | os.PathLike) -> Lab:
    """A built-in lab by id, or a lab file by path.

    A string that names an existing file (or ends in ``.json``) is read as a file;
    otherwise it is looked up among the built-in labs (LookupError when unknown).
    """
    s = str(ref)
    if isinstance(ref, os.PathLike) or os.path.exists(s) or s.endswith(SUFFIX) or \
            os.sep in s:
        if not os.path.exists(s):
            raise LabError([Problem("", "no such file")], s)
        return read_lab_file(s)
    return builtin_lab(s)


# ---- from a scene --------------------------------------------------------------------------
def surface_spec_of(surface: Surface) -> dict:
    """The lab ``surface`` object that rebuilds ``surface``: the one serialiser's form
    (:func:`simulator.core.surface_io.surface_to_dict`)."""
    return surface_to_dict(surface)


def lab_from_scene(scene, *, lab_id: str, title: str, summary: str,
                   instructions: str = "", questions: Iterable[str] = ()) -> dict:
    """Lab data for ``scene`` (a :class:`~simulator.core.scene.Scene`): its surface,
    lanes, training and view state (views, colour scale, camera, frame) plus the texts.

    The result is validated by the caller with :func:`parse_lab` before it is written.
    """
    v = scene.view
    views = [x for x in v.views if x == "2d" or scene.surface.dim == 2]
    view: dict[str, Any] = {"views": views or ["2d"]}
    view["log_scale"] = v.log_for(scene.surface)
    if v.camera and "3d" in views:
        view["camera"] = dict(v.camera)
    view["frame"] = int(scene.frame)
    return lab_from_session(scene.to_dict(), scene.surface, lab_id=lab_id, title=title,
                            summary=summary, instructions=instructions,
                            questions=questions, view=view)


def lab_from_session(session_dict: dict, surface: Surface, *, lab_id: str, title: str,
                     summary: str, instructions: str = "", questions: Iterable[str] = (),
                     view: dict | None = None) -> dict:
    """Lab data for a scene saved by the app (``Session.to_dict()`` plus its surface).

    The result is validated by the caller with :func:`parse_lab` before it is written.
    """
    tr = session_dict.get("training", {})
    lanes = []
    for ld in session_dict.get("lanes", []):
        out = {"name": ld["name"], "optimizer": ld["optimizer"]}
        if ld.get("color"):
            out["color"] = str(ld["color"]).upper()
        if ld.get("enabled") is False:
            out["enabled"] = False
        for k in ("schedule", "noise", "batch_size", "start"):
            if ld.get(k) is not None:
                out[k] = ld[k]
        lanes.append(out)
    spec = surface_spec_of(surface)
    d: dict[str, Any] = {
        "format": FORMAT, "version": VERSION, "id": lab_id, "title": title,
        "summary": summary,
    }
    if instructions:
        d["instructions"] = instructions
    qs = [q for q in questions if q.strip()]
    if qs:
        d["questions"] = qs
    d["surface"] = spec
    d["domain"] = [list(p) for p in surface.domain]
    d["start"] = list(session_dict["start"])
    d["steps"] = tr.get("steps", 1000)
    d["seed"] = tr.get("seed", 0)
    d["noise"] = tr.get("noise", 0.0)
    if tr.get("batch_size") is not None and surface.kind == "data":
        d["batch_size"] = tr["batch_size"]
    if tr.get("clip_grad_norm") is not None:
        d["clip_grad_norm"] = tr["clip_grad_norm"]
    sched = tr.get("schedule")
    d["schedule"] = None if not sched or sched.get("name") == "ConstantSchedule" else sched
    d["lanes"] = lanes
    if view:
        d["view"] = view
    return _jsonable(d)
