"""The validator of lab format version 2: a lab as a scene and a sequence of steps.

::

    {"format": "losslab-lab", "version": 2, "id": "...", "title": "...", "summary": "...",
     "scene": {"surface": {...}, "start": [x, y], "training": {"steps": 300},
               "lanes": [{"name": "GD", "optimizer": {"name": "SGD", "lr": 0.03}}],
               "view": {"views": ["2d"]}},
     "steps": [{"title": "...", "text": "<p>...</p>", "questions": ["..."],
                "scene": {<partial scene dict>},
                "task": {"prompt": "<p>...</p>", "check": {...}, "hints": ["..."]}}]}

``scene`` is a scene dict in the form of :meth:`simulator.core.scene.Scene.to_dict`
(``format``, ``version`` and ``lab`` left out); each step's ``scene`` is a partial one
laid over the scene of the step before (:func:`~.steps.apply_changes`). Every step's
resulting scene is checked whole, and every problem of the file is reported with its
place (``steps[2].scene.lanes[0].optimizer.lr: ...``).
"""

from __future__ import annotations

import copy
import html
from typing import Any

from ..scene import FORMAT as SESSION_FORMAT
from ..scene import VERSION as SESSION_VERSION
from ..surface_io import check_surface
from .checks import parse_check
from .model import Lab, LabLane, ViewSettings
from .problems import Checker, LabError, join
from .steps import SCENE_KEYS, Step, Task, apply_changes
from .validate import (
    _check_lanes,
    _check_point,
    _check_questions,
    _check_rich,
    _check_texts,
    _check_training,
    _check_view,
)

TOP_KEYS_V2 = ("$schema", "format", "version", "id", "title", "summary", "scene", "steps")
STEP_KEYS = ("title", "text", "questions", "scene", "task")
TASK_KEYS = ("prompt", "check", "hints", "solution")
SOLUTION_KEYS = ("scene", "answer")
TRAINING_KEYS = ("steps", "seed", "noise", "batch_size", "clip_grad_norm", "schedule")
SCENE_VIEW_KEYS = ("views", "log_scale", "camera")
_META_KEYS = ("format", "version", "lab")  # added to each step's scene dict, not written
MAX_LAB_STEPS = 40
MAX_HINTS = 8


def _check_scene_dict(ck: Checker, d, place: str) -> dict | None:
    """Check a whole scene dict at ``place``; its surface, steps and lane names, or None
    after recording its problems."""
    if not isinstance(d, dict):
        ck.add(place, "must be an object with surface, start, training, lanes and view")
        return None
    n0 = len(ck.problems)
    ck.unknown_keys(d, SCENE_KEYS, place)
    surface = None
    if "surface" not in d:
        ck.add(join(place, "surface"), "is missing")
    else:
        surface = check_surface(ck, d["surface"], join(place, "surface"))
    if "start" not in d:
        if surface is None or surface.kind != "network":  # a network: its initial weights
            ck.add(join(place, "start"), "is missing")
    else:
        _check_point(ck, d["start"], join(place, "start"), surface)
    tr = d.get("training")
    if tr is None:
        tr = {}
    if not isinstance(tr, dict):
        ck.add(join(place, "training"), "must be an object such as {\"steps\": 300}")
        tr = {}
    ck.unknown_keys(tr, TRAINING_KEYS, join(place, "training"))
    training = _check_training(ck, tr, surface, join(place, "training"))
    lanes = _check_lanes(ck, d.get("lanes"), surface, training["steps"],
                         training["schedule"], join(place, "lanes"),
                         join(place, "training.schedule"))
    _check_view(ck, d.get("view"), training["steps"], join(place, "view"), SCENE_VIEW_KEYS)
    if d.get("frame") is not None:
        ck.integer(d["frame"], join(place, "frame"), 0, training["steps"] or 0,
                   "a step number from 0 to the training steps")
    if d.get("selected_lane") is not None:
        ck.integer(d["selected_lane"], join(place, "selected_lane"), -1,
                   max(len(lanes) - 1, -1), "a lane index from 0")
    if len(ck.problems) > n0:
        return None
    return {"surface": surface, "lanes": [lane.name for lane in lanes]}


def _lane_refs(spec: dict) -> list:
    if spec.get("kind") == "all":
        return [r for sub in spec.get("checks", []) if sub for r in _lane_refs(sub)]
    return [spec[k] for k in ("lane", "than") if k in spec]


def _check_solution(ck: Checker, sol, place: str, check, after: dict | None):
    """A task's solution: a scene change over the step's scene and/or a choice's answer."""
    if not isinstance(sol, dict) or not sol:
        ck.add(place, "must be an object with \"scene\" (a scene change) and/or "
                      "\"answer\" (a choice's option)")
        return None
    n0 = len(ck.problems)
    ck.unknown_keys(sol, SOLUTION_KEYS, place)
    changes = sol.get("scene")
    if changes is not None:
        if not isinstance(changes, dict):
            ck.add(join(place, "scene"), "must be an object: the parts of the scene the "
                                         "solution changes")
        elif after is not None:
            whole = {k: v for k, v in apply_changes(after, changes).items()
                     if k not in _META_KEYS}
            _check_scene_dict(ck, whole, join(place, "scene"))
    answer = sol.get("answer")
    if check is not None and check.kind == "choice":
        opts = check.spec["options"]
        if answer not in opts and not (isinstance(answer, int) and not
                                       isinstance(answer, bool) and 0 <= answer < len(opts)):
            ck.add(join(place, "answer"), "must be one of the choice's options (its text "
                                          "or its index from 0)")
    elif "answer" in sol:
        ck.add(join(place, "answer"), "is only for a choice")
    return None if len(ck.problems) > n0 else copy.deepcopy(sol)


def _check_task(ck: Checker, t, place: str, info: dict | None, after: dict | None = None
                ) -> Task | None:
    if not isinstance(t, dict):
        ck.add(place, "must be an object with a prompt, a check and hints")
        return None
    n0 = len(ck.problems)
    ck.unknown_keys(t, TASK_KEYS, place)
    if not isinstance(t.get("prompt"), str) or not t["prompt"].strip():
        ck.add(join(place, "prompt"), "must be a non-empty text (simple rich text)")
        prompt = ""
    else:
        prompt = _check_rich(ck, t["prompt"], join(place, "prompt"), "simple rich text")
    dim = info["surface"].dim if info and info["surface"] is not None else None
    if "check" not in t:
        ck.add(join(place, "check"), "is missing")
        check = None
    else:
        check = parse_check(ck, t["check"], join(place, "check"), dim)
    if check is not None and info is not None:
        for ref in _lane_refs(check.spec):
            ok = ref in info["lanes"] if isinstance(ref, str) else ref < len(info["lanes"])
            if not ok:
                ck.add(join(place, "check"), f"names the lane {ref!r}, which this step's "
                                             f"scene does not have (lanes: "
                                             f"{', '.join(info['lanes'])})")
    solution = None
    if t.get("solution") is not None:
        solution = _check_solution(ck, t["solution"], join(place, "solution"), check, after)
    hints = _check_questions(ck, t.get("hints"), join(place, "hints"))
    if isinstance(t.get("hints"), list) and len(t["hints"]) > MAX_HINTS:
        ck.add(join(place, "hints"), f"has {len(t['hints'])} hints; at most {MAX_HINTS}")
    if len(ck.problems) > n0 or check is None:
        return None
    return Task(prompt=prompt, check=check, hints=hints, solution=solution)


def _check_step(ck: Checker, sd, place: str, current: dict | None, index: int
                ) -> tuple[Step | None, dict | None]:
    """One step; returns it and the scene dict after it (None when that is broken)."""
    if not isinstance(sd, dict):
        ck.add(place, "must be an object with a text (and optionally a scene and a task)")
        return None, None
    n0 = len(ck.problems)
    ck.unknown_keys(sd, STEP_KEYS, place)
    title = ck.text(sd.get("title"), join(place, "title"), required=False, max_len=120,
                    one_line=True) or ""
    if not isinstance(sd.get("text"), str) or not sd["text"].strip():
        ck.add(join(place, "text"), "must be a non-empty text (simple rich text)")
        text = ""
    else:
        text = _check_rich(ck, sd["text"], join(place, "text"), "simple rich text")
    questions = _check_questions(ck, sd.get("questions"), join(place, "questions"))
    changes = sd.get("scene")
    info = None
    after = None
    if changes is not None and not isinstance(changes, dict):
        ck.add(join(place, "scene"), "must be an object: the parts of the scene this step "
                                     "changes")
    elif changes is not None and current is None:  # else the whole scene is checked
        ck.unknown_keys(changes, SCENE_KEYS, join(place, "scene"))
    if current is not None and (changes is None or isinstance(changes, dict)):
        after = apply_changes(current, changes)
        whole = {k: v for k, v in after.items() if k not in _META_KEYS}
        info = _check_scene_dict(ck, whole, join(place, "scene")) if changes else \
            _check_scene_dict(Checker(), whole, place)
        if info is None:  # still check the task's lane names against the names given
            lanes = after.get("lanes")
            names = [ld["name"] for ld in lanes if isinstance(ld, dict) and
                     isinstance(ld.get("name"), str)] if isinstance(lanes, list) else []
            info = {"surface": None, "lanes": names} if names else None
            after = None
    task = None
    if sd.get("task") is not None:
        task = _check_task(ck, sd["task"], join(place, "task"), info, after)
    if len(ck.problems) > n0:
        return None, after
    return Step(index=index, title=title, text=text, questions=questions,
                changes=copy.deepcopy(changes) or None, scene_dict=after, task=task), after


def parse_lab_v2(data: dict, source: str | None = None) -> Lab:
    """Validate a version-2 lab (the header is already checked) and build it."""
    ck = Checker()
    ck.unknown_keys(data, TOP_KEYS_V2, "")
    texts = _check_texts(ck, data)
    base = data.get("scene")
    current = None
    if base is None:
        ck.add("scene", "is missing")
    elif _check_scene_dict(ck, base, "scene") is not None:
        current = copy.deepcopy(base)
        current["lab"] = {"id": texts["id"], "title": texts["title"]}
        current["format"], current["version"] = SESSION_FORMAT, SESSION_VERSION
    steps_v = data.get("steps")
    steps: list[Step] = []
    if not isinstance(steps_v, list) or not steps_v:
        ck.add("steps", "must be a non-empty list of steps")
    elif len(steps_v) > MAX_LAB_STEPS:
        ck.add("steps", f"has {len(steps_v)} steps; at most {MAX_LAB_STEPS}")
    else:
        for i, sd in enumerate(steps_v):
            step, after = _check_step(ck, sd, join("steps", i), current, i)
            # after a broken scene, later steps are checked against the last good one
            current = after if after is not None else current
            if step is not None:
                steps.append(step)
    if ck.problems:
        raise LabError(ck.problems, source)
    scenes = []
    for step in steps:
        try:
            scenes.append(step.scene())
        except ValueError as e:
            ck.add(join("steps", step.index) if step.changes else "scene", str(e))
    if ck.problems:
        raise LabError(ck.problems, source)
    return _lab_from_scene(texts, scenes[0], steps, data, source)


def _lab_from_scene(texts: dict, sc, steps: list[Step], data: dict, source) -> Lab:
    """The Lab whose scene fields (surface, lanes, training, view) are step 1's."""
    from ..surface_io import surface_to_dict

    first = steps[0]
    lanes = tuple(LabLane(name=ln.name, optimizer=ln.optimizer, color=ln.color,
                          enabled=ln.enabled, schedule=ln.schedule, noise=ln.noise,
                          batch_size=ln.batch_size, start=ln.start) for ln in sc.lanes)
    frame = first.scene_dict.get("frame")
    view = ViewSettings(views=sc.view.views, log_scale=sc.view.log_scale,
                        camera=sc.view.camera, frame=frame)
    intro = first.text
    if first.task is not None:  # the app's text panel shows the first task (and options)
        opts = "".join(f"<li>{html.escape(o)}</li>" for o in first.task.options)
        intro += f"<p><b>Task:</b></p>{first.task.prompt}" + (f"<ul>{opts}</ul>" if opts
                                                               else "")
    out: dict[str, Any] = dict(texts)
    out.update(instructions=intro, questions=first.questions)
    return Lab(**out, surface=sc.surface, surface_spec=surface_to_dict(sc.surface),
               start=tuple(sc.start), lanes=lanes, run_steps=sc.steps, seed=sc.seed,
               noise=sc.noise, batch_size=sc.batch_size, clip_grad_norm=sc.clip_grad_norm,
               schedule=sc.schedule, view=view, source=source, version=2,
               steps=tuple(steps), data=copy.deepcopy(data))
