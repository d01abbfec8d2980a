"""Give free heap memory back to the system while the app runs.

A long session (a lesson of an hour, a slider dragged thousands of times) frees much of
what it allocates, but glibc's allocator keeps freed heap pages in its arenas:
``malloc_trim(0)`` at the end of a 15-minute soak (``bench/bench_soak.py --trim``) gave
16 MB back. The app calls ``malloc_trim`` on a slow timer so that memory goes back to
the system during the session, not at its end. (It did not flatten the soak on its
own: a 16-minute soak with the trim still rose about 0.9 MB a minute. That was a leak,
not the heap: the diagnostics panel kept a new copy of its warning icon on every
refresh that showed the stability warning; with that fixed a 30-minute soak stays
within 385.5-386.3 MB, minute by minute, from minute 5 on; see the README.)
Where there is no glibc (macOS, Windows, musl without the symbol) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from PySide6.QtCore import QObject, QTimer

TRIM_INTERVAL_MS = 60_000  # once a minute: a trim costs a few milliseconds

_trim = None  # the C function, looked up once; False when there is none


def _malloc_trim_function():
    global _trim
    if _trim is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            fn = libc.malloc_trim
            fn.argtypes = [ctypes.c_size_t]
            fn.restype = ctypes.c_int
            _trim = fn
        except (OSError, AttributeError):
            _trim = False
    return _trim


def malloc_trim() -> bool:
    """Ask glibc to return free heap pages to the system. True when it released some;
    False when it released none or the C library has no ``malloc_trim``."""
    fn = _malloc_trim_function()
    return bool(fn(0)) if fn else False


def install_heap_trim(parent: QObject, interval_ms: int = TRIM_INTERVAL_MS) -> QTimer | None:
    """Start a timer, owned by ``parent``, that trims the heap every ``interval_ms``.
    Returns the timer, or None where trimming is not available."""
    if not _malloc_trim_function():
        return None
    timer = QTimer(parent)
    timer.setObjectName("heap-trim")
    timer.setInterval(interval_ms)
    timer.timeout.connect(lambda: malloc_trim())
    timer.start()
    return timer
