"""Writing files safely: never a half-written file at the user's path.

Every save and export in LossLab writes to a temporary file next to the target and
renames it over the target only when complete, so a crash, a full disk or a cancelled
export leaves the previous file untouched. The temporary file gets the permissions a
plain ``open(path, "w")`` would give (0666 less the umask), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()  # read once, at import, before any worker thread exists


def temp_path_for(path: str | os.PathLike) -> str:
    """A new empty file next to ``path`` with the same extension (encoders pick the format
    from it), with normal permissions; the caller renames it over ``path`` or removes it.
    """
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=f".part{p.suffix}",
                               dir=str(p.parent) if str(p.parent) else ".")
    os.close(fd)
    try:
        os.chmod(tmp, _MODE)
    except OSError:
        pass
    return tmp


def remove_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed over it."""
    tmp = temp_path_for(path)
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def jsonable(v):
    """``v`` with numpy scalars and arrays turned into plain Python for ``json.dumps``."""
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v
