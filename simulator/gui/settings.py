"""One typed wrapper around QSettings, with defaults (the friture / zxlive pattern).

Every widget that remembers something saves and restores its own group through a
:class:`Settings` object (``settings.group("training")``), so keys never collide and a
widget's state travels with the widget. Values are read back *typed*: a stored value of
the wrong type, an unparsable string or broken JSON falls back to the default instead of
reaching the widget, so a corrupt settings file can never stop the app from starting.

Settings are stored in INI format under the user scope for organisation and application
"LossLab" (tests redirect that folder with ``QSettings.setPath``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "LossLab"
APPLICATION = "LossLab"

# keys shared by several widgets live here, so a typo is a NameError, not a lost setting
WINDOW = "window"
SESSION = "session"
KEY_GEOMETRY = "geometry"
KEY_STATE = "state"
KEY_LAST_SCENE = "last_scene"
KEY_RECENT = "recent_files"
KEY_THEME = "theme"
KEY_LOG_COLOR = "log_color_scale"
KEY_LAST_DIR = "last_dir"
KEY_CP_MODE = "critical_points"
KEY_CENTER_SPLIT = "center_split"  # views over plots: [height, height]
KEY_VIEWS_SPLIT = "views_split"  # the map beside the 3-D view: [width, width]
KEY_SHOW_3D = "show_3d"
KEY_FOLLOW_PATHS = "follow_paths"
LABS = "labs"  # one group per lab id: the student's progress through the lab's steps
MAX_RECENT = 8


def _qsettings() -> QSettings:
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


class Settings:
    """A typed view of the application's QSettings, rooted at a group.

    Parameters
    ----------
    prefix : str
        Group path (``"window"``, ``"panels/training"``); empty for the root.
    """

    def __init__(self, prefix: str = "", _qs: QSettings | None = None) -> None:
        self._prefix = prefix.strip("/")
        self._qs = _qs if _qs is not None else _qsettings()

    # ---- structure -----------------------------------------------------------------
    def group(self, name: str) -> Settings:
        """A child wrapper for group ``name`` (sharing the same storage)."""
        return Settings(f"{self._prefix}/{name}" if self._prefix else name, self._qs)

    @property
    def prefix(self) -> str:
        return self._prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def contains(self, key: str) -> bool:
        return self._qs.contains(self._key(key))

    def remove(self, key: str = "") -> None:
        """Remove one key, or (empty key) this whole group."""
        self._qs.remove(self._key(key) if key else self._prefix)

    def sync(self) -> None:
        self._qs.sync()

    def file_name(self) -> str:
        return self._qs.fileName()

    def _raw(self, key: str) -> Any:
        try:
            return self._qs.value(self._key(key))
        except Exception:  # noqa: BLE001 - a broken stored value reads as missing
            return None

    # ---- typed getters: the stored value, or the default when missing or corrupt ----
    def get_bool(self, key: str, default: bool) -> bool:
        v = self._raw(key)
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0"):
            return v.lower() in ("true", "1")
        if isinstance(v, int):
            return v != 0
        return default

    def get_int(self, key: str, default: int, lo: int | None = None,
                hi: int | None = None) -> int:
        v = self._raw(key)
        try:
            if isinstance(v, bool) or v is None:
                raise ValueError
            out = int(str(v).strip()) if not isinstance(v, int) else v
        except (TypeError, ValueError):
            return default
        if (lo is not None and out < lo) or (hi is not None and out > hi):
            return default
        return out

    def get_float(self, key: str, default: float, lo: float | None = None,
                  hi: float | None = None) -> float:
        v = self._raw(key)
        try:
            if isinstance(v, bool) or v is None:
                raise ValueError
            out = float(v)
        except (TypeError, ValueError):
            return default
        if not math.isfinite(out):
            return default
        if (lo is not None and out < lo) or (hi is not None and out > hi):
            return default
        return out

    def get_str(self, key: str, default: str, choices=None) -> str:
        v = self._raw(key)
        if not isinstance(v, str):
            return default
        if choices is not None and v not in choices:
            return default
        return v

    def get_str_list(self, key: str, default: list[str] | None = None) -> list[str]:
        v = self._raw(key)
        if isinstance(v, str):
            v = [v] if v else []
        if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
            return list(v)
        return list(default or [])

    def get_bytes(self, key: str, default: QByteArray | None = None) -> QByteArray | None:
        v = self._raw(key)
        if isinstance(v, QByteArray):
            return v
        if isinstance(v, (bytes, bytearray)):
            return QByteArray(bytes(v))
        return default

    def get_json(self, key: str, default: Any = None) -> Any:
        v = self._raw(key)
        if not isinstance(v, str):
            return default
        try:
            return json.loads(v)
        except (ValueError, TypeError):
            return default

    def get_int_list(self, key: str, n: int) -> list[int] | None:
        """A stored JSON list of ``n`` positive whole numbers (splitter sizes), or None
        when missing, corrupt or of another shape."""
        v = self.get_json(key)
        if (isinstance(v, list) and len(v) == n
                and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)):
            return list(v)
        return None

    # ---- setters ------------------------------------------------------------------------
    def set(self, key: str, value: Any) -> None:
        """Store a bool, int, float, str, list of str or QByteArray."""
        if isinstance(value, (bytes, bytearray)):
            value = QByteArray(bytes(value))
        if isinstance(value, tuple):
            value = list(value)
        self._qs.setValue(self._key(key), value)

    def set_json(self, key: str, value: Any) -> None:
        """Store any JSON-serialisable value as a JSON string."""
        self._qs.setValue(self._key(key), json.dumps(value))


def settings(group: str = "") -> Settings:
    """The application's settings, optionally rooted at ``group``."""
    return Settings(group)


# ---- progress through a lab ------------------------------------------------------------------
_LAB_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # the lab format's id pattern


@dataclass
class LabProgress:
    """Where a student is in a lab: the step shown, the steps whose check passed, how
    many hints each step has revealed, and where the lab came from (a built-in id or a
    file path, to open it again after a restart)."""

    step: int = 0
    passed: set[int] = field(default_factory=set)
    hints: dict[int, int] = field(default_factory=dict)
    source: str = ""

    def hints_shown(self, step: int) -> int:
        return self.hints.get(step, 0)


def _lab_group(root: Settings, lab_id: str) -> Settings | None:
    return root.group(LABS).group(lab_id) if _LAB_ID.match(lab_id or "") else None


def load_lab_progress(root: Settings, lab_id: str, n_steps: int,
                      n_hints: list[int] | None = None) -> LabProgress:
    """The stored progress through lab ``lab_id`` of ``n_steps`` steps (``n_hints``: the
    number of hints of each step). Anything missing, corrupt or out of range (a lab
    file edited since) reads as no progress for that part."""
    g = _lab_group(root, lab_id)
    if g is None or n_steps < 1:
        return LabProgress()
    step = g.get_int("step", 0, 0, n_steps - 1)
    passed = g.get_json("passed", [])
    passed = {int(k) for k in passed if isinstance(k, int) and not isinstance(k, bool)
              and 0 <= k < n_steps} if isinstance(passed, list) else set()
    raw = g.get_json("hints", {})
    hints: dict[int, int] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            if not (isinstance(k, str) and k.isdigit() and isinstance(v, int)
                    and not isinstance(v, bool)):
                continue
            i = int(k)
            most = n_hints[i] if n_hints is not None and i < len(n_hints) else 0
            if 0 <= i < n_steps and v > 0:
                hints[i] = min(v, most) if n_hints is not None else v
    hints = {k: v for k, v in hints.items() if v > 0}
    return LabProgress(step, passed, hints, g.get_str("source", ""))


def save_lab_progress(root: Settings, lab_id: str, progress: LabProgress) -> None:
    """Store ``progress`` under lab ``lab_id`` (an id the lab format refuses is not
    stored)."""
    g = _lab_group(root, lab_id)
    if g is None:
        return
    g.set("step", int(progress.step))
    g.set_json("passed", sorted(progress.passed))
    g.set_json("hints", {str(k): int(v) for k, v in sorted(progress.hints.items()) if v > 0})
    g.set("source", progress.source)


def clear_lab_progress(root: Settings, lab_id: str) -> None:
    """Forget the progress through lab ``lab_id`` ("Restart lab")."""
    g = _lab_group(root, lab_id)
    if g is not None:
        g.remove()
