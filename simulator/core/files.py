"""Writing and reading files safely: the one atomic writer, and bounded reads.

Every save and export in LossLab goes through :func:`atomic_open` (or the writers built
on it: :func:`atomic_write_text`, :func:`atomic_write_bytes`, and for encoders that write
a file themselves :func:`temp_path_for` + :func:`commit` / :func:`discard`). The data go
to a temporary file next to the target, which is renamed over the target only when it is
complete and flushed to disk, so a crash, a kill, a full disk or a cancelled export
leaves the previous file byte for byte as it was.

As editors do:

- a symbolic link is followed: the file it points to is replaced and the link stays;
- an existing file keeps its permission bits (and, where we may, its owner); a new file
  gets those of a plain ``open(path, "w")`` (0666 less the umask);
- a target that exists and is not a regular file (a folder, a device, a FIFO, a socket)
  is refused: saving as root to ``/dev/sda`` must never replace the device node.

Temporary files are named ``.<name>.losslab-<pid>-<random>.part<ext>`` (the target's
extension last: encoders pick the format from it). One left behind by a process that was
killed is removed by the next write to the same target.

Reading: :func:`read_small_file` reads a lab, session or surface file, refusing what is
not a regular file and never reading more than a cap, which it names in its message;
:func:`json_int` refuses whole numbers of absurd length in words.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()  # read once, at import, before any worker thread exists
TEMP_MARK = "losslab"  # in every temporary file's name: ``.<name>.losslab-<pid>-<r>.part``
_ACTIVE: set[str] = set()  # this process's temporary files still being written
_ACTIVE_LOCK = threading.Lock()


# ---- targets ----------------------------------------------------------------------------------
def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def resolve_target(path: str | os.PathLike) -> Path:
    """The file a save to ``path`` replaces: ``path`` with symbolic links followed.

    Raises OSError when it exists and is not a regular file (a folder, a device, ...)."""
    p = Path(os.path.realpath(os.fspath(path)))
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return p
    if not stat.S_ISREG(st.st_mode):
        what = _kind(st.st_mode)
        raise OSError(f"{path} is {what}, not a regular file; LossLab only replaces files")
    return p


def check_writable(path: str | os.PathLike) -> None:
    """Raise OSError (with a readable message) when ``path`` cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise OSError(f"{p} is a folder")
    target = resolve_target(path)
    parent = target.parent
    if not parent.is_dir():
        raise OSError(f"the folder {Path(path).parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OSError(f"cannot write in {parent} (permission denied)")
    if target.exists() and not os.access(target, os.W_OK):
        raise OSError(f"cannot overwrite {p} (permission denied)")


# ---- temporary files ----------------------------------------------------------------------------
def _temp_pattern(target: Path) -> re.Pattern:
    return re.compile(rf"\.{re.escape(target.name)}\.{TEMP_MARK}-(\d+)-[0-9a-f]+"
                      rf"\.part{re.escape(target.suffix)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def clean_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove the temporary files of earlier writes to ``path`` that will never finish:
    those of processes that are gone, and this process's own that no write holds.
    Returns the paths removed."""
    target = resolve_target(path)
    pat = _temp_pattern(target)
    removed = []
    try:
        names = os.listdir(target.parent)
    except OSError:
        return removed
    for name in names:
        m = pat.fullmatch(name)
        if m is None:
            continue
        full = str(target.parent / name)
        pid = int(m.group(1))
        with _ACTIVE_LOCK:
            busy = full in _ACTIVE
        if busy or (pid != os.getpid() and _alive(pid)):
            continue
        try:
            if stat.S_ISREG(os.lstat(full).st_mode):
                os.unlink(full)
                removed.append(full)
        except OSError:
            pass
    return removed


def temp_path_for(path: str | os.PathLike) -> str:
    """A new empty temporary file next to the file ``path`` names (links followed), with
    the same extension and the permissions the finished file should have. The caller
    writes it and then calls :func:`commit` (or :func:`discard`).

    Raises OSError when ``path`` exists and is not a regular file."""
    target = resolve_target(path)
    clean_stale_temporaries(target)
    parent = target.parent
    mode, owner = _MODE, None
    try:
        st = os.stat(target)
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:
        pass
    for _ in range(100):
        tmp = str(parent / f".{target.name}.{TEMP_MARK}-{os.getpid()}-"
                           f"{secrets.token_hex(4)}.part{target.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 collisions of 32 random bits
        raise FileExistsError(errno.EEXIST, "no free temporary file name", str(parent))
    with _ACTIVE_LOCK:
        _ACTIVE.add(tmp)
    try:
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            with contextlib.suppress(OSError):  # only root may give files away
                os.fchown(fd, *owner)
        os.fchmod(fd, mode)
    except OSError:
        pass
    finally:
        os.close(fd)
    return tmp


def commit(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move the finished temporary file ``tmp`` over the file ``path`` names (links
    followed), after flushing it to disk. On failure ``tmp`` is removed and OSError
    raised; the target is then as it was."""
    tmp = os.fspath(tmp)
    try:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        except OSError:  # a file system that cannot sync (some FUSE): rename all the same
            pass
        finally:
            os.close(fd)
        os.replace(tmp, resolve_target(path))  # checked again: still not a device
    except BaseException:
        discard(tmp)
        raise
    with _ACTIVE_LOCK:
        _ACTIVE.discard(tmp)


def discard(tmp: str | os.PathLike) -> None:
    """Remove an unfinished temporary file (quietly)."""
    tmp = os.fspath(tmp)
    remove_quietly(tmp)
    with _ACTIVE_LOCK:
        _ACTIVE.discard(tmp)


def remove_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[Any]:
    """Open a temporary file for writing (``"w"`` text as UTF-8 with ``\\n`` lines, or
    ``"wb"``); when the block ends without an exception it replaces ``path``; on any
    exception (a cancel, a full disk) it is removed and ``path`` is untouched."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes new files: mode 'w' or 'wb', not {mode!r}")
    check_writable(path)
    tmp = temp_path_for(path)
    try:
        kw = {"encoding": "utf-8", "newline": ""} if "b" not in mode else {}
        with open(tmp, mode, **kw) as f:
            yield f
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as f:
        f.write(data)


# ---- bounded reads ----------------------------------------------------------------------------
def _size_text(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.3g} MB"
    return f"{n / 1e3:.3g} kB" if n >= 1000 else f"{n} bytes"


def read_small_file(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` of them.

    Raises OSError with a message in words when ``path`` is not a regular file (a
    device, a FIFO, a folder: reading ``/dev/zero`` would never end, opening a FIFO
    would wait for a writer) or holds more than ``max_bytes`` (the message names the
    cap). Never reads more than ``max_bytes + 1`` bytes, whatever the file's size says.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"it is {_kind(st.st_mode)}, not a regular file; a {what} is a small "
                      "JSON file")
    limit = f"{what}s are small JSON files (at most {_size_text(max_bytes)})"
    if st.st_size > max_bytes:
        raise OSError(f"the file is {_size_text(st.st_size)}; {limit}")
    # O_NONBLOCK: if the path became a FIFO since the stat, open does not wait for a
    # writer; the fstat below then refuses it
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"it is not a regular file; a {what} is a small JSON file")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(f"the file is over {_size_text(max_bytes)}; {limit}")
    return data


MAX_INT_DIGITS = 100  # a whole number in a lab or session file (floats reach 1e308 anyway)


class HugeNumberError(ValueError):
    """A whole number in a JSON file with more than ``MAX_INT_DIGITS`` digits."""


def json_int(text: str) -> int:
    """``parse_int`` for ``json.loads``: a whole number, refusing one of more than
    ``MAX_INT_DIGITS`` digits in words (Python's own refusal, past 4,300 digits, names
    ``sys.set_int_max_str_digits()``; a 4,000-digit one overflows every float check)."""
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise HugeNumberError(f"a whole number has {digits:,} digits; numbers in LossLab "
                              f"files have at most {MAX_INT_DIGITS}")
    return int(text)


def loads_json_file(raw: bytes, name: str, what: str, encoding: str = "utf-8"):
    """Parse the bytes of a LossLab JSON file named ``name``; every refusal is a
    ValueError in words: not UTF-8 text, bad JSON (with line and column), a huge whole
    number (``json_int``), or nesting too deep for the parser ("``name`` is not
    ``what``: its JSON is nested too deeply")."""
    import json

    try:
        return json.loads(raw.decode(encoding), parse_int=json_int)
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not a text (UTF-8) file") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{name} is not valid JSON: {e.msg} at line {e.lineno}, "
                         f"column {e.colno}") from None
    except HugeNumberError as e:
        raise ValueError(f"{name}: {e}") from None
    except RecursionError:
        raise ValueError(f"{name} is not {what}: its JSON is nested too deeply") from None


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
