"""Analyses the views and panels share: the critical points of a surface (searched in a
worker thread, announced in the GUI thread; kept in the one cache of
:mod:`simulator.core.critical_points`, read here with ``cached_critical_points``) and
the last few ``analyze_point`` results (the map's eigen-arrows and the diagnostics panel
analyse the same point on every frame).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from .scheduling import TurnTimer

_CP_PENDING: weakref.WeakSet = weakref.WeakSet()
_CP_LOCK = threading.Lock()
# a search asked for without waiting starts this much later: after a new surface's
# contour lines (10 ms), plots (40 ms) and 3-D mesh (70 ms) have had their turns
CP_SEARCH_LATER_MS = 90


class _CriticalPointsNotifier(QObject):
    """Announces, in the GUI thread, that a surface's critical points are ready.

    The worker thread never touches Qt: it appends to ``_CP_DONE`` and a GUI-thread
    timer polls that list (emitting Qt signals carrying Python objects from a plain
    Python thread crashes PySide6 now and then).
    """

    ready = Signal(object)

    def __init__(self):
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._poll)
        # surfaces whose search waits for the views' staged drawing of a new surface
        # (see TurnTimer): a search running beside it (numpy in a worker thread) made
        # the GUI thread wait for the interpreter, and a turn took 100 ms instead of 50
        self.queued: list = []
        self.starter = TurnTimer(self)
        self.starter.timeout.connect(self._start)

    def _start(self) -> None:
        queued, self.queued = self.queued, []
        if queued:
            threading.Thread(
                target=_search_all, args=(queued,), daemon=True, name="critical-points"
            ).start()

    def _poll(self):
        with _CP_LOCK:
            done = list(_CP_DONE)
            _CP_DONE.clear()
            if not _CP_PENDING:
                self.timer.stop()
        for ref in done:
            surface = ref()
            if surface is not None:
                self.ready.emit(surface)


_notifier: _CriticalPointsNotifier | None = None
_CP_DONE: list = []


def critical_points_notifier() -> _CriticalPointsNotifier:
    """Its ``ready(surface)`` signal fires (in the GUI thread) when a search is done."""
    global _notifier
    if _notifier is None:
        _notifier = _CriticalPointsNotifier()
    return _notifier


def _search(surface) -> list:
    from simulator.core.critical_points import find_critical_points

    try:
        return find_critical_points(surface)  # kept in the core's cache
    except Exception:  # noqa: BLE001 - a surface the search cannot handle shows none
        return []


def _known(surface) -> list | None:
    """The surface's critical points if the core's cache has them (none for a surface
    whose search failed), else None."""
    from simulator.core.critical_points import cached_critical_points

    try:
        return cached_critical_points(surface)
    except Exception:  # noqa: BLE001 - the search failed: shows none
        return []


def critical_points(surface, wait: bool = True):
    """The surface's critical points (``critical_points.find_critical_points``, which
    caches them).

    The search takes a few hundred ms on some surfaces, too long for the GUI thread
    when a surface is picked. With ``wait=False`` this returns None at once and runs the
    search in a worker thread once the views' turns are over (``CP_SEARCH_LATER_MS``);
    ``critical_points_notifier().ready`` then fires with the surface and the next call
    returns the list.
    """
    if surface is None:
        return []
    with _CP_LOCK:  # the worker stores the points and leaves _CP_PENDING under it
        cps = _known(surface)
        if cps is not None:
            return cps
        if not wait:
            if surface not in _CP_PENDING:
                _CP_PENDING.add(surface)
                notifier = critical_points_notifier()
                notifier.timer.start()
                notifier.queued.append(surface)
                if not notifier.starter.isActive():
                    notifier.starter.start(CP_SEARCH_LATER_MS)
            return None
    return _search(surface)


def _search_all(surfaces) -> None:
    for surface in surfaces:
        _search(surface)
        with _CP_LOCK:
            _CP_PENDING.discard(surface)
            _CP_DONE.append(weakref.ref(surface))


ANALYSES_KEPT = 32  # point analyses remembered (frames of one lane, and a few lanes)
_ANALYSES: dict = {}  # (id(surface), point) -> (surface, PointAnalysis), most recent last


def analysis(surface, p):
    """``analyze_point(surface, p)``, remembered for the last few points.

    The map's eigen-arrows and the diagnostics panel analyse the same point on every
    frame and edit; the second asks for it for free. Errors are not remembered."""
    from simulator.core.diagnostics import analyze_point

    p = np.asarray(p, dtype=float)
    key = (id(surface), p.tobytes())
    hit = _ANALYSES.get(key)
    if hit is not None and hit[0] is surface:
        return hit[1]
    pa = analyze_point(surface, p)
    _ANALYSES[key] = (surface, pa)  # the surface is kept alive, so its id stays its own
    while len(_ANALYSES) > ANALYSES_KEPT:
        del _ANALYSES[next(iter(_ANALYSES))]
    return pa
