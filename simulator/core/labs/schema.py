"""The lab format's vocabulary and limits: format name and version, the fields each
object may have, size limits, the built-in teaching order and the id and colour patterns.

Nothing here checks anything: :mod:`.validate` applies these limits.
"""

from __future__ import annotations

import re

FORMAT = "losslab-lab"
VERSION = 2  # the newest format version read (version-1 files open unchanged)
SUFFIX = ".json"
MAX_FILE_BYTES = 1_000_000
MAX_STEPS = 100_000  # the app keeps every step of every lane in memory
MAX_LANES = 12
MAX_TEXT = 20_000
VIEWS = ("2d", "3d")

# Built-in labs in teaching order (a file not listed here comes after, by id).
BUILTIN_ORDER = (
    "lr-1d", "ravine", "race", "saddle", "schedules", "cyclic", "adaptive", "adam-bias",
    "adamw", "sharp-flat", "plateau", "local-minima", "clipping", "lr-probe", "batch-size",
    "batch-sharpness", "edge-of-stability",
)


ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")

# "$schema": an editor's pointer to resources/lab.schema.json (read, never checked)
TOP_KEYS = ("$schema", "format", "version", "id", "title", "summary", "instructions", "questions",
             "surface", "domain", "start", "steps", "seed", "noise", "batch_size",
             "clip_grad_norm", "schedule", "lanes", "view")
LANE_KEYS = ("name", "optimizer", "color", "enabled", "schedule", "noise", "batch_size",
              "start")
VIEW_KEYS = ("views", "log_scale", "camera", "frame")
CAMERA_KEYS = ("elevation", "azimuth", "distance")
