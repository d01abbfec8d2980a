"""Scheduling deferred view work: ``TurnTimer``, one deferred job per event-loop turn.

The views and the panels share it (outside both packages, so neither imports the other).
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

__all__ = ["TurnTimer"]


class TurnTimer(QObject):
    """A single-shot timer for work deferred after a new surface, one per event-loop turn.

    Qt fires every timer that is due when the event loop gets to its timers, in one
    turn. After a pick that itself took 60 ms, the contour lines (due after 10 ms), the
    plots (40 ms) and the 3-D mesh (70 ms) were all due and ran back to back: one turn
    of over 100 ms. Turn timers are started and stopped like a single-shot QTimer
    (``start(ms)``, ``stop()``, ``isActive()``, ``timeout``), but one gate fires them: the
    earliest due first, and the next in a later turn, after the repaint of the first.
    """

    timeout = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.due = 0.0

    def start(self, ms: int) -> None:
        self.due = time.perf_counter() + ms / 1e3
        _turn_gate().add(self)

    def stop(self) -> None:
        if _gate is not None:
            _gate.remove(self)

    def isActive(self) -> bool:  # noqa: N802 - the QTimer API
        return _gate is not None and self in _gate.waiting


class _TurnGate(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[TurnTimer] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._fire)

    def add(self, t: TurnTimer) -> None:
        if t not in self.waiting:
            self.waiting.append(t)
        self._arm()

    def remove(self, t: TurnTimer) -> None:
        if t in self.waiting:
            self.waiting.remove(t)
            self._arm()

    def _prune(self) -> None:
        """Forget the timers whose owner was deleted (a view closed with work pending)."""
        import shiboken6

        self.waiting = [t for t in self.waiting if shiboken6.isValid(t)]

    def _arm(self) -> None:
        self._prune()
        if not self.waiting:
            self.timer.stop()
            return
        wait = min(t.due for t in self.waiting) - time.perf_counter()
        # at least 1 ms: a timer started while Qt fires timers waits for the next turn
        self.timer.start(max(1, math.ceil(wait * 1e3)))

    def _fire(self) -> None:
        self._prune()
        if self.waiting:
            t = min(self.waiting, key=lambda w: w.due)
            if t.due <= time.perf_counter() + 5e-4:
                self.waiting.remove(t)
                try:
                    t.timeout.emit()
                finally:
                    self._arm()
                return
        self._arm()


_gate: _TurnGate | None = None


def _turn_gate() -> _TurnGate:
    global _gate
    if _gate is None:
        _gate = _TurnGate()
    return _gate
