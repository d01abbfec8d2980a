"""numba's disk cache, safe when two processes save kernels into it at once.

numba keeps one index file per function (``<function>-<line>.pyXY.nbi``: signature and
closure values -> data file ``<function>-<line>.pyXY.<n>.nbc``) and saves a new kernel in
three unlocked steps: read the index, write it back with the new entry under the first
free number ``n``, write the data file. Every specialisation a factory of ``loops`` makes
(one per optimizer and surface kind) is the same function to numba, so shares that index.
Two processes saving two specialisations at once (the app and its warm-up helper,
``simulator.core.prepare_helper``, or two LossLab windows started together) both read
the old index, both take the same ``n``: one entry is lost, and the file numbered ``n``
holds the other kernel's code, which a later start would load for the lost entry's key
(a wrong optimizer or surface, silently).

``install_index_lock`` makes that save one step under an exclusive lock on a file in the
cache folder (``flock``, released by the system if the process dies), and writes the data
file before the index that names it (a process killed in between leaves an unnamed data
file, never an entry without its code). Reads stay lock-free: both files are written to a
temporary name and renamed into place. Where the lock cannot be taken (no ``fcntl``, a
read-only folder), numba's own save runs, as before.
"""

from __future__ import annotations

import contextlib
import itertools
import os

LOCK_NAME = ".losslab-index.lock"

try:
    import fcntl
except ImportError:  # Windows: numba's own save
    fcntl = None


@contextlib.contextmanager
def index_lock(folder: str):
    """Hold the cache folder's save lock (blocking); yields False when it cannot be
    taken (the caller then saves unlocked, as numba does)."""
    if fcntl is None:
        yield False
        return
    try:
        fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def locked_save(self, key, data) -> None:
    """``IndexDataCacheFile.save`` under the folder's lock, the data file first."""
    with index_lock(self._cache_path) as locked:
        if not locked:
            return _numba_save(self, key, data)
        overloads = self._load_index()
        name = overloads.get(key)
        if name is None:
            taken = set(overloads.values())
            name = next(n for n in map(self._data_name, itertools.count(1)) if n not in taken)
        self._save_data(name, data)
        if overloads.get(key) != name:
            overloads[key] = name
            self._save_index(overloads)
    return None


_numba_save = None


def install_index_lock() -> bool:
    """Make numba's cache saves use ``locked_save`` (once per process); False when this
    numba has no ``IndexDataCacheFile`` of the known shape (its own save then runs)."""
    global _numba_save
    try:
        from numba.core.caching import IndexDataCacheFile
    except ImportError:
        return False
    if _numba_save is not None:
        return True
    needed = ("save", "_load_index", "_save_index", "_save_data", "_data_name")
    if not all(hasattr(IndexDataCacheFile, a) for a in needed):
        return False
    _numba_save = IndexDataCacheFile.save
    IndexDataCacheFile.save = locked_save
    return True
