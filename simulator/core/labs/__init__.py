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

One job per module:

- :mod:`.schema`: the format's vocabulary and limits (field names, sizes, patterns);
- :mod:`.problems`: :class:`Problem`, :class:`LabError` and the collecting checker;
- :mod:`.richtext`: the safe rich-text subset, its checker and plain-text rendering;
- :mod:`.validate`: :func:`parse_lab` (every problem, then the :class:`Lab`) and
  :func:`validate_lab`;
- :mod:`.model`: :class:`Lab`, :class:`LabLane`, :class:`ViewSettings`, :class:`LabInfo`;
- :mod:`.io`: bounded file reading, the JSON text form, atomic saving;
- :mod:`.builtin`: the built-in labs and :func:`load_lab`;
- :mod:`.authoring`: lab data from a scene ("Save as Lab").
"""

from __future__ import annotations

from .authoring import lab_from_scene, lab_from_session, surface_spec_of
from .builtin import builtin_lab, builtin_lab_ids, list_labs, load_lab
from .io import dumps_lab, loads_lab, read_lab_file, save_lab
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
from .validate import parse_lab, validate_lab

__all__ = [
    "BUILTIN_ORDER", "FORMAT", "MAX_FILE_BYTES", "MAX_LANES", "MAX_STEPS", "MAX_TEXT",
    "RICH_TAGS", "SUFFIX", "VERSION", "VIEWS",
    "Lab", "LabError", "LabInfo", "LabLane", "Problem", "ViewSettings",
    "builtin_lab", "builtin_lab_ids", "check_rich_text", "dumps_lab", "lab_from_scene",
    "lab_from_session", "list_labs", "load_lab", "loads_lab", "parse_lab", "read_lab_file",
    "rich_text_to_plain", "save_lab", "surface_spec_of", "validate_lab",
]
