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

The package never imports Qt: the CLI, the exporters and the tests use it headless.

Format version 2 (version-1 files still open unchanged) makes a lab a sequence of
steps: a ``scene`` (a scene dict as :meth:`Scene.to_dict` writes it) and ``steps``, each
with a text, optionally a partial scene dict laid over the scene before it, and
optionally a task with a declarative check, hints and questions::

    {"format": "losslab-lab", "version": 2, "id": "lr-1d", "title": "...", "summary": "...",
     "scene": {"surface": {...}, "start": [8.0], "training": {"steps": 20},
               "lanes": [...], "view": {"views": ["2d"]}},
     "steps": [{"title": "...", "text": "<p>...</p>", "scene": {"lanes": [...]},
                "task": {"prompt": "<p>...</p>", "hints": ["...", "..."],
                         "check": {"kind": "converged_within", "lane": "GD",
                                   "steps": 3}}}]}

The public API (stable names; the GUI's step panel and teachers' scripts use them)::

    list_labs() -> list[LabInfo]            # built-in labs: id, title, summary
    load_lab(id_or_path) -> Lab             # LabError (every problem) / LookupError
    validate_lab(path_or_dict) -> list[Problem]   # every problem: .place, .message
    lab.steps -> tuple[Step, ...]           # a version-1 lab has one step, no task
    lab.scene(step=0) -> Scene              # a step's scene as the author set it up
    step.index, step.title, step.text, step.questions, step.hints
    step.changes -> dict | None             # the partial scene dict of the step
    step.scene() -> Scene                   # == lab.scene(step=step.index)
    step.apply(scene) -> Scene              # the student's scene with the step's changes
    step.task -> Task | None                # .prompt, .check (.kind, .spec), .hints,
                                            # .options (a choice's options)
    step.check(scene, runs=None, answer=None) -> CheckResult   # .passed, .message

``runs`` is what ``scene.run()`` returns (one Trajectory per enabled lane), a dict keyed
by lane uid or lane name (the app's results), or None to run the scene. The check
vocabulary is documented in :mod:`simulator.core.labs.checks`.

One job per module:

- :mod:`.schema`: the format's vocabulary and limits (field names, sizes, patterns);
- :mod:`.problems`: :class:`Problem`, :class:`LabError` and the collecting checker;
- :mod:`.richtext`: the safe rich-text subset, its checker and plain-text rendering;
- :mod:`.validate`: :func:`parse_lab` (every problem, then the :class:`Lab`) and
  :func:`validate_lab`;
- :mod:`.model`: :class:`Lab`, :class:`LabLane`, :class:`ViewSettings`, :class:`LabInfo`;
- :mod:`.io`: bounded file reading, the JSON text form, atomic saving;
- :mod:`.builtin`: the built-in labs and :func:`load_lab`;
- :mod:`.authoring`: lab data from a scene, or from a lab made of steps and the scene
  of one of them ("Save as Lab");
- :mod:`.steps`: :class:`Step`, :class:`Task` and laying a partial scene over a scene;
- :mod:`.checks`: the check vocabulary, its validation and evaluation (:class:`CheckResult`);
- :mod:`.validate_v2`: the validator of format version 2 (a scene and steps).
"""

from __future__ import annotations

from .authoring import lab_from_scene, lab_from_session, lab_from_steps, surface_spec_of
from .builtin import builtin_lab, builtin_lab_ids, list_labs, load_lab
from .checks import CHECK_KINDS, Check, CheckResult, evaluate_check
from .io import dumps_lab, loads_lab, read_lab_file, save_lab, validate_lab
from .model import Lab, LabInfo, LabLane, ViewSettings
from .problems import LabError, Problem
from .richtext import RICH_TAGS, check_rich_text, rich_text_to_plain
from .schema import (
    BUILTIN_ORDER,
    FORMAT,
    MAX_FILE_BYTES,
    MAX_LANES,
    MAX_STEPS,
    MAX_TEXT,
    SUFFIX,
    VERSION,
    VIEWS,
)
from .steps import Step, Task, apply_changes
from .validate import parse_lab

__all__ = [
    "BUILTIN_ORDER", "FORMAT", "MAX_FILE_BYTES", "MAX_LANES", "MAX_STEPS", "MAX_TEXT",
    "RICH_TAGS", "SUFFIX", "VERSION", "VIEWS",
    "CHECK_KINDS", "Check", "CheckResult", "Lab", "LabError", "LabInfo", "LabLane",
    "Problem", "Step", "Task", "ViewSettings", "apply_changes", "evaluate_check",
    "builtin_lab", "builtin_lab_ids", "check_rich_text", "dumps_lab", "lab_from_scene",
    "lab_from_session", "lab_from_steps", "list_labs", "load_lab", "loads_lab", "parse_lab",
    "read_lab_file", "rich_text_to_plain", "save_lab", "surface_spec_of", "validate_lab",
]
