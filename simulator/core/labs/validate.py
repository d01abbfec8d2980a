"""The lab validator: :func:`parse_lab` checks every field of lab data and builds the
:class:`~.model.Lab`, or raises one :class:`~.problems.LabError` listing every problem
with its place; :func:`validate_lab` returns that list instead."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..optimizers import OPTIMIZERS, PAIR_FIELDS, Optimizer
from ..schedules import SCHEDULES, ConstantSchedule, Schedule, schedule_from_dict
from ..surface import Surface
from ..surface_io import _check_domain, check_surface
from .model import Lab, LabLane, ViewSettings
from .problems import Checker, LabError, Problem, close_matches, join, show
from .richtext import check_rich_text
from .schema import (
    CAMERA_KEYS,
    COLOR_RE,
    FORMAT,
    ID_RE,
    LANE_KEYS,
    MAX_LANES,
    MAX_STEPS,
    MAX_TEXT,
    TOP_KEYS,
    VERSION,
    VIEW_KEYS,
    VIEWS,
)
from .steps import Step


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


def _check_optimizer(ck: Checker, name, params: dict, place: str, name_place: str,
                     param_place) -> Optimizer | None:
    """Build optimizer ``name`` from ``params``; each bad hyperparameter is reported at
    ``param_place(key)``."""
    cls = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if cls is None:
        close = close_matches(str(name), list(OPTIMIZERS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(OPTIMIZERS)}"
        ck.add(name_place, f"unknown optimizer {show(name)}; {hint}")
        return None
    known = [f.name for f in dataclasses.fields(cls)]
    n0 = len(ck.problems)
    for k, v in params.items():
        p = param_place(k)
        if k not in known:
            close = close_matches(k, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else \
                f" (its hyperparameters: {', '.join(known)})"
            ck.add(p, f"{name} has no hyperparameter {k!r}{hint}")
            continue
        if k == "lr":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                    math.isfinite(v) and v > 0):
                ck.add(p, f"must be a positive number, got {show(v)}")
            continue
        ftype = next(f.type for f in dataclasses.fields(cls) if f.name == k)
        if "bool" in str(ftype) and not isinstance(v, bool):
            ck.add(p, f"must be true or false, got {show(v)}")
            continue
        if k in PAIR_FIELDS:
            if not (isinstance(v, list) and len(v) == 2):
                pair = {"betas": "[beta1, beta2]", "etas": "[etaminus, etaplus]",
                        "step_sizes": "[min, max]"}[k]
                ck.add(p, f"must be a pair {pair}, got {show(v)}")
                continue
            v = tuple(v)
        elif "str" in str(ftype) and (v is None or isinstance(v, str)):
            continue  # a choice (LBFGS's line_search_fn): the class checks the value
        elif "None" in str(ftype) and v is None:
            continue  # an optional number left to its default (LBFGS's max_eval)
        elif "bool" not in str(ftype) and (isinstance(v, bool) or not isinstance(v, (int, float))):
            ck.add(p, f"must be a number, got {show(v)}")
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


def _check_schedule(ck: Checker, d, place: str) -> Schedule | None:
    if d is None:
        return ConstantSchedule()
    if not isinstance(d, dict):
        ck.add(place, "must be an object such as {\"name\": \"StepLR\", \"step_size\": 100} "
                      "or null")
        return None
    name = d.get("name")
    cls = SCHEDULES.get(name) if isinstance(name, str) else None
    if cls is None:
        close = close_matches(str(name), list(SCHEDULES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(SCHEDULES)}"
        ck.add(join(place, "name"), f"unknown schedule {show(name)}; {hint}")
        return None
    known = [f.name for f in dataclasses.fields(cls)]
    n0 = len(ck.problems)
    for k, v in d.items():
        if k == "name":
            continue
        if k not in known:
            close = close_matches(k, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else \
                f" (its parameters: {', '.join(known) or 'none'})"
            ck.add(join(place, k), f"{name} has no parameter {k!r}{hint}")
            continue
        if name in ("SequentialLR", "ChainedScheduler") and k == "schedulers":
            if not isinstance(v, list) or not v:
                ck.add(join(place, k), "must be a non-empty list of schedules")
            else:
                for i, sub in enumerate(v):
                    _check_schedule(ck, sub, join(join(place, k), i))
            continue
        if k == "milestones" and not isinstance(v, list):
            ck.add(join(place, k), "must be a list of step numbers")
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
            ck.add(join(place, k), _strip_prefix(msg, name))
    if len(ck.problems) == n0:
        ck.add(place, _strip_prefix(whole, name))
    return None


def _check_point(ck: Checker, v, place: str, surface: Surface | None
                 ) -> tuple[float, ...] | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v:
        ck.add(place, "must be a list of coordinates such as [-1.5, 2.0] (or [w] in 1-D)")
        return None
    vals = [ck.number(x, join(place, i), what="a finite number") for i, x in enumerate(v)]
    if None in vals:
        return None
    if surface is None:
        return tuple(vals)
    if getattr(surface, "kind", None) == "network":  # weights: any finite values
        if len(vals) != surface.n_params:
            ck.add(place, f"needs the network's {surface.n_params} weights, got "
                          f"{len(vals)} (leave the start out for its initial weights)")
            return None
        return tuple(vals)
    if len(vals) != surface.dim:
        axes = ", ".join(surface.variables)
        ck.add(place, f"needs {surface.dim} coordinate{'s' if surface.dim > 1 else ''} "
                      f"({axes}) for this surface, got {len(vals)}")
        return None
    for i, ((lo, hi), x) in enumerate(zip(surface.domain, vals)):
        if not lo <= x <= hi:
            ck.add(join(place, i), f"{surface.variables[i]} = {x:g} is outside the domain "
                                    f"[{lo:g}, {hi:g}]")
            return None
    return tuple(vals)


def _check_lane(ck: Checker, ld, place: str, surface, steps, lab_schedule, is_data,
                sched_place: str = "schedule") -> LabLane | None:
    if not isinstance(ld, dict):
        ck.add(place, "must be an object with a name and an optimizer")
        return None
    n0 = len(ck.problems)
    opt_v = ld.get("optimizer")
    opt = None
    if isinstance(opt_v, dict):
        allowed = LANE_KEYS
        params = {k: v for k, v in opt_v.items() if k != "name"}
        opt = _check_optimizer(ck, opt_v.get("name"), params, join(place, "optimizer"),
                               join(join(place, "optimizer"), "name"),
                               lambda k: join(join(place, "optimizer"), k))
    elif isinstance(opt_v, str):
        # shorthand: {"optimizer": "SGD", "lr": 0.1, "momentum": 0.9}
        cls = OPTIMIZERS.get(opt_v)
        hyper = [f.name for f in dataclasses.fields(cls)] if cls else []
        allowed = (*LANE_KEYS, *hyper)
        params = {k: v for k, v in ld.items() if k in hyper}
        opt = _check_optimizer(ck, opt_v, params, place, join(place, "optimizer"),
                               lambda k: join(place, k))
    else:
        allowed = LANE_KEYS
        ck.add(join(place, "optimizer"),
               "is missing; give an object such as {\"name\": \"SGD\", \"lr\": 0.1}"
               if opt_v is None else f"must be an object such as {{\"name\": \"SGD\", "
                                     f"\"lr\": 0.1}}, got {show(opt_v)}")
    ck.unknown_keys(ld, allowed, place)
    name = ld.get("name")
    if name is None and opt is not None:
        name = opt.title
    name = ck.text(name, join(place, "name"), required=True, max_len=60, one_line=True)
    color = ld.get("color")
    if color is not None and (not isinstance(color, str) or not COLOR_RE.match(color)):
        ck.add(join(place, "color"), f"must be a colour \"#RRGGBB\", got {show(color)}")
    enabled = ld.get("enabled", True)
    if not isinstance(enabled, bool):
        ck.add(join(place, "enabled"), f"must be true or false, got {show(enabled)}")
    sched = None
    if ld.get("schedule") is not None:
        sched = _check_schedule(ck, ld["schedule"], join(place, "schedule"))
    noise = ld.get("noise")
    if noise is not None:
        noise = ck.number(noise, join(place, "noise"), lo=0.0, what="a number >= 0")
    batch = ld.get("batch_size")
    if batch is not None:
        batch = ck.integer(batch, join(place, "batch_size"), 1, 10**9, "a whole number >= 1")
        if batch is not None and not is_data:
            ck.add(join(place, "batch_size"), "applies only to data surfaces "
                   "(linear-regression, logistic-regression) and networks; use noise for "
                   "others")
    start = ld.get("start")
    if start is not None:
        start = _check_point(ck, start, join(place, "start"), surface)
    if len(ck.problems) > n0 or opt is None:
        return None
    sched_eff = sched if sched is not None else lab_schedule
    if sched_eff is not None and steps is not None:
        try:
            lrs = sched_eff.learning_rates(opt.lr, steps)
        except ValueError as e:  # e.g. a OneCycleLR shorter than the run
            ck.add(join(place, "schedule") if sched is not None else sched_place,
                   _strip_prefix(str(e), type(sched_eff).__name__))
            return None
        if steps and not (np.all(np.isfinite(lrs)) and lrs.min() >= 0):
            ck.add(join(place, "schedule") if sched is not None else sched_place,
                   f"gives an invalid learning rate for {name!r}")
            return None
    return LabLane(name=name, optimizer=opt, color=color.upper() if color else None,
                   enabled=enabled, schedule=sched, noise=noise, batch_size=batch,
                   start=start)


def _check_view(ck: Checker, v, steps, place: str = "view", keys=VIEW_KEYS
                ) -> ViewSettings | None:
    if v is None:
        return ViewSettings()
    if not isinstance(v, dict):
        ck.add(place, "must be an object such as {\"views\": [\"2d\", \"3d\"]}")
        return None
    ck.unknown_keys(v, keys, place)
    n0 = len(ck.problems)
    views = v.get("views", list(VIEWS))
    if isinstance(views, str):
        views = [views]
    if not isinstance(views, list) or not views or any(x not in VIEWS for x in views):
        ck.add(join(place, "views"), f"must be a non-empty list of "
                                     f"{', '.join(map(repr, VIEWS))}, got {show(views)}")
        views = list(VIEWS)
    log = v.get("log_scale")
    if log is not None and not isinstance(log, bool):
        ck.add(join(place, "log_scale"), f"must be true, false or null, got {show(log)}")
    cam = v.get("camera")
    if cam is not None:
        if not isinstance(cam, dict):
            ck.add(join(place, "camera"), "must be an object {\"elevation\", "
                                          "\"azimuth\", \"distance\"}")
            cam = None
        else:
            cp = join(place, "camera")
            ck.unknown_keys(cam, CAMERA_KEYS, cp)
            out = {}
            if "elevation" in cam:
                out["elevation"] = ck.number(cam["elevation"], join(cp, "elevation"),
                                             lo=-90, hi=90, what="degrees from -90 to 90")
            if "azimuth" in cam:
                out["azimuth"] = ck.number(cam["azimuth"], join(cp, "azimuth"),
                                           lo=-360, hi=360, what="degrees from -360 to 360")
            if "distance" in cam:
                out["distance"] = ck.number(cam["distance"], join(cp, "distance"), lo=0.0,
                                            lo_open=True, hi=100.0,
                                            what="a positive number up to 100")
            cam = out
    frame = v.get("frame")
    if frame is not None:
        frame = ck.integer(frame, join(place, "frame"), 0,
                           steps if steps is not None else MAX_STEPS,
                           "a step number from 0 to steps")
    if len(ck.problems) > n0:
        return None
    return ViewSettings(views=tuple(dict.fromkeys(views)), log_scale=log, camera=cam or None,
                        frame=frame)


def _check_header(data: Any, source: str | None) -> int:
    """The format version of ``data``; a LabError at once when it is not a lab this
    LossLab reads (nothing else is worth checking then)."""
    if not isinstance(data, dict):
        raise LabError([Problem("", "a lab file must hold a JSON object")], source)
    fmt = data.get("format")
    if fmt != FORMAT:
        hint = " (this is a session file: use File > Open Session)" if \
            fmt == "losslab-session" else ""
        raise LabError([Problem("format", f"must be {FORMAT!r}, got {show(fmt)}{hint}")],
                       source)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise LabError([Problem("version", f"must be a whole number >= 1, got "
                                           f"{show(version)}")], source)
    if version > VERSION:
        raise LabError([Problem("version", f"this lab uses format version {version}; this "
                                           f"LossLab reads version {VERSION} (update LossLab "
                                           "to open it)")], source)
    return version


def _check_rich(ck: Checker, v, place: str, what: str) -> str:
    """Optional rich text at ``place`` (``None`` or absent: empty)."""
    if v is None:
        return ""
    if not isinstance(v, str):
        ck.add(place, f"must be {what}")
        return ""
    if len(v) > MAX_TEXT:
        ck.add(place, f"is too long ({len(v):,} characters; at most {MAX_TEXT:,})")
        return ""
    for msg in check_rich_text(v):
        ck.add(place, msg)
    return v.strip()


def _check_questions(ck: Checker, v, place: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list):
        ck.add(place, "must be a list of questions (each simple rich text)")
        return ()
    out = []
    for i, q in enumerate(v):
        if not isinstance(q, str) or not q.strip():
            ck.add(join(place, i), "must be a non-empty text")
        elif len(q) > MAX_TEXT:
            ck.add(join(place, i), "is too long")
        else:
            for msg in check_rich_text(q):
                ck.add(join(place, i), msg)
            out.append(q.strip())
    return tuple(out)


def _check_texts(ck: Checker, data: dict) -> dict:
    """id, title, summary, instructions and questions."""
    lab_id = data.get("id")
    if not isinstance(lab_id, str) or not ID_RE.match(lab_id):
        ck.add("id", "must be lowercase letters, digits and dashes (like \"my-lab\"), got "
                     f"{show(lab_id)}")
    return {
        "id": lab_id,
        "title": ck.text(data.get("title"), "title", required=True, max_len=120,
                         one_line=True),
        "summary": ck.text(data.get("summary"), "summary", required=True, max_len=240,
                           one_line=True),
        "instructions": _check_rich(ck, data.get("instructions", ""), "instructions",
                                    "text (simple rich text)"),
        "questions": _check_questions(ck, data.get("questions", []), "questions"),
    }


def _check_surface_and_start(ck: Checker, data: dict) -> dict:
    """domain, surface and start (each problem at its place)."""
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
    start = None
    if "start" not in data:
        ck.add("start", "is missing")
    else:
        start = _check_point(ck, data["start"], "start", surface)
    return {"surface": surface, "surface_spec": data.get("surface"), "domain": domain,
            "start": start}


def _check_training(ck: Checker, data: dict, surface: Surface | None, place: str = ""
                    ) -> dict:
    """steps, seed, noise, batch_size, clip_grad_norm and the lab's schedule (at
    ``place``: the top level of a version-1 lab, ``training`` of a scene)."""
    is_data = surface is not None and surface.kind in ("data", "network")
    batch = data.get("batch_size")
    if batch is not None:
        batch = ck.integer(batch, join(place, "batch_size"), 1, 10**9, "a whole number >= 1")
        if batch is not None and surface is not None and not is_data:
            ck.add(join(place, "batch_size"), "applies only to data surfaces "
                   "(linear-regression, logistic-regression) and networks; use noise for "
                   "others")
    clip = data.get("clip_grad_norm")
    if clip is not None:
        clip = ck.number(clip, join(place, "clip_grad_norm"), lo=0.0, lo_open=True,
                         what="a positive number or null")
    return {
        "steps": ck.integer(data.get("steps", 1000), join(place, "steps"), 1, MAX_STEPS,
                            f"a whole number from 1 to {MAX_STEPS:,}"),
        "seed": ck.integer(data.get("seed", 0), join(place, "seed"), 0, 2**31 - 1,
                           "a whole number >= 0"),
        "noise": ck.number(data.get("noise", 0.0), join(place, "noise"), lo=0.0,
                           what="a number >= 0"),
        "batch_size": batch,
        "clip_grad_norm": clip,
        "schedule": _check_schedule(ck, data.get("schedule"), join(place, "schedule")),
    }


def _check_lanes(ck: Checker, lanes_v, surface: Surface | None, steps, schedule,
                 place: str = "lanes", sched_place: str = "schedule"
                 ) -> tuple[LabLane, ...]:
    """The lanes: 1 to MAX_LANES, each checked, names unique."""
    if not isinstance(lanes_v, list) or not lanes_v:
        ck.add(place, "must be a non-empty list of lanes")
        return ()
    if len(lanes_v) > MAX_LANES:
        ck.add(place, f"has {len(lanes_v)} lanes; at most {MAX_LANES}")
        return ()
    is_data = surface is not None and surface.kind in ("data", "network")
    lanes = []
    for i, ld in enumerate(lanes_v):
        lane = _check_lane(ck, ld, join(place, i), surface, steps, schedule, is_data,
                           sched_place)
        if lane is not None:
            lanes.append(lane)
    names = [lane.name for lane in lanes]
    for i, n in enumerate(names):
        if n in names[:i]:
            ck.add(join(join(place, i), "name"), f"{n!r} is used by another lane")
    return tuple(lanes)


def parse_lab(data: Any, source: str | None = None) -> Lab:
    """Validate lab data (as read from JSON) and build the :class:`Lab`.

    Every field is checked before anything is returned; all problems found are raised
    together as one :class:`LabError` with their places. An unknown format or a version
    newer than this LossLab reads is refused outright.
    """
    if _check_header(data, source) >= 2:
        from .validate_v2 import parse_lab_v2

        return parse_lab_v2(data, source)
    ck = Checker()
    ck.unknown_keys(data, TOP_KEYS, "")
    texts = _check_texts(ck, data)
    where = _check_surface_and_start(ck, data)
    training = _check_training(ck, data, where["surface"])
    lanes = _check_lanes(ck, data.get("lanes"), where["surface"], training["steps"],
                         training["schedule"])
    view = _check_view(ck, data.get("view"), training["steps"])
    if ck.problems:
        raise LabError(ck.problems, source)
    assert where["surface"] is not None and where["start"] is not None and view is not None
    training["schedule"] = training["schedule"] or ConstantSchedule()
    training["run_steps"] = training.pop("steps")
    lab = Lab(**texts, **where, **training, lanes=lanes, view=view, source=source)
    return _with_one_step(lab)


def _with_one_step(lab: Lab) -> Lab:
    """A version-1 lab with its one step: the instructions and questions, no task (and
    the scene as a dict, when the scene accepts every value)."""
    try:
        scene_dict = lab.scene().to_dict()
    except ValueError:  # the app reports it when it opens the lab
        scene_dict = None
    step = Step(index=0, title="", text=lab.instructions, questions=lab.questions,
                scene_dict=scene_dict)
    return dataclasses.replace(lab, steps=(step,))
