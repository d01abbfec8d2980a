"""Lab data from a scene: what the app's "Save as Lab" writes (validated by the caller
with :func:`~.validate.parse_lab` before it is written)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..files import jsonable as _jsonable
from ..surface import Surface
from ..surface_io import surface_to_dict
from .schema import FORMAT
from .steps import MERGED_KEYS, SCENE_KEYS, apply_changes


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
    """Lab data for a scene saved by the app (``Session.to_dict()`` plus its surface),
    in format version 1 (one scene, its instructions and questions).

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
    if getattr(surface, "kind", None) == "network":
        return _network_lab(session_dict, surface, spec, lanes, lab_id=lab_id, title=title,
                            summary=summary, instructions=instructions,
                            questions=questions, view=view)
    d: dict[str, Any] = {
        "format": FORMAT, "version": 1, "id": lab_id, "title": title,
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


def _network_lab(session_dict: dict, surface, spec: dict, lanes: list, *, lab_id: str,
                 title: str, summary: str, instructions: str, questions: Iterable[str],
                 view: dict | None) -> dict:
    """A network scene as a version-2 lab (a scene and one step): version 1 describes a
    surface of one or two variables. The start is left out when it is the network's
    initial weights."""
    import html

    import numpy as np

    tr = session_dict.get("training", {})
    training = {k: tr[k] for k in ("steps", "seed", "noise", "batch_size", "clip_grad_norm")
                if tr.get(k) is not None}
    sched = tr.get("schedule")
    if sched and sched.get("name") != "ConstantSchedule":
        training["schedule"] = sched
    scene: dict[str, Any] = {"surface": spec}
    start = session_dict.get("start")
    if start is not None and not np.array_equal(np.asarray(start, float), surface.init):
        scene["start"] = list(start)
    scene["training"] = training
    scene["lanes"] = lanes
    v = dict(view or {})
    frame = v.pop("frame", None)
    if v:
        scene["view"] = v
    if frame is not None:
        scene["frame"] = frame
    step: dict[str, Any] = {"text": instructions or f"<p>{html.escape(summary)}</p>"}
    qs = [q for q in questions if q.strip()]
    if qs:
        step["questions"] = qs
    return _jsonable({"format": FORMAT, "version": 2, "id": lab_id, "title": title,
                      "summary": summary, "scene": scene, "steps": [step]})


# ---- a lab made of steps ------------------------------------------------------------------
def _canonical(scene_dict: dict) -> dict:
    """``scene_dict`` as the one scene serialiser writes it (every default filled in),
    without the session's own keys (format, version, lab)."""
    from ..scene import FORMAT as SESSION_FORMAT
    from ..scene import VERSION as SESSION_VERSION
    from ..scene import Scene

    d = dict(scene_dict, format=SESSION_FORMAT, version=SESSION_VERSION)
    out = Scene.from_dict(copy.deepcopy(d)).to_dict()
    return {k: v for k, v in out.items() if k in SCENE_KEYS}


def _step_changes(before: dict, authored: dict, old: dict | None, now: dict) -> dict | None:
    """A step's scene change that makes ``now`` (a canonical scene dict) from ``before``
    (the scene the step is laid over): the step's ``old`` change, with every key in which
    ``now`` differs from the step's ``authored`` (canonical) scene set to ``now``'s."""
    changes = copy.deepcopy(old) if old else {}
    for k in SCENE_KEYS:
        a, n = authored.get(k), now.get(k)
        if a == n:
            continue
        if k in MERGED_KEYS and isinstance(a, dict) and isinstance(n, dict):
            sub = dict(changes.get(k) or {})
            for sk in sorted(set(a) | set(n)):
                if a.get(sk) != n.get(sk):
                    sub[sk] = copy.deepcopy(n.get(sk))  # None: the setting's default
            changes[k] = sub
        else:
            changes[k] = copy.deepcopy(n)
    # a change of the surface, start, training or lanes shows the whole run unless the
    # change names its frame: name every key the result still gets wrong
    result = _canonical(apply_changes(before, changes))
    for k in SCENE_KEYS:
        if result.get(k) != now.get(k):
            changes[k] = copy.deepcopy(now.get(k))
    return changes or None


def lab_from_steps(lab, scene, step: int, *, lab_id: str, title: str, summary: str,
                   text: str | None = None, questions: Iterable[str] | None = None
                   ) -> dict:
    """Lab data for a lab made of steps (format version 2, ``lab.data``) shown at step
    ``step`` with the scene ``scene``: every step, task, check, hint and solution kept,
    the texts (id, title, summary) replaced, and the parts of ``scene`` that differ from
    the step's own scene written into that step's scene change (later steps lay their
    changes over it). ``text`` and ``questions``, when given, replace the step's.

    Saving an opened lab unchanged gives the lab again. The result is validated by the
    caller with :func:`parse_lab` before it is written.
    """
    if lab.data is None or not lab.steps:
        raise ValueError("the lab has no steps to keep (format version 1)")
    if not 0 <= step < len(lab.steps):
        raise IndexError(f"the lab has {len(lab.steps)} steps; step {step} does not exist")
    d = copy.deepcopy(lab.data)
    d.update(id=lab_id, title=title, summary=summary)
    st = d["steps"][step]
    if text is not None:
        st["text"] = text
    if questions is not None:
        qs = [q for q in questions if q.strip()]
        if qs:
            st["questions"] = qs
        else:
            st.pop("questions", None)
    before = d["scene"] if step == 0 else lab.steps[step - 1].scene_dict
    changes = _step_changes(before, _canonical(lab.steps[step].scene_dict), st.get("scene"),
                            _canonical(scene.to_dict()))
    if changes:
        st["scene"] = changes
    else:
        st.pop("scene", None)
    return _jsonable(d)
