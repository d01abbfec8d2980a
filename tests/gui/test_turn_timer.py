"""TurnTimer: deferred view work fires one timer an event-loop turn, earliest due first."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from simulator.gui.scheduling import TurnTimer


def _timers(qtbot, *names):
    owner = QObject()
    fired = []
    timers = {}
    for name in names:
        t = TurnTimer(owner)
        t.timeout.connect(lambda n=name: fired.append(n))
        timers[name] = t
    return owner, timers, fired


def test_overdue_timers_fire_in_separate_turns_earliest_first(qtbot):
    owner, t, fired = _timers(qtbot, "plots", "lines", "mesh")
    t["plots"].start(4)
    t["mesh"].start(8)
    t["lines"].start(0)
    assert all(x.isActive() for x in t.values())
    time.sleep(0.05)  # a long handler: all three are due when the loop gets back
    QApplication.processEvents()
    assert fired == ["lines"]  # a QTimer each: all three in this one turn
    assert not t["lines"].isActive() and t["plots"].isActive()
    qtbot.waitUntil(lambda: len(fired) == 3, timeout=2000)
    assert fired == ["lines", "plots", "mesh"]
    del owner


def test_restart_and_stop(qtbot):
    owner, t, fired = _timers(qtbot, "a", "b")
    t["a"].start(0)
    t["a"].start(30)  # restarted: fires once, later
    t["b"].start(0)
    t["b"].stop()
    assert not t["b"].isActive()
    qtbot.waitUntil(lambda: fired == ["a"], timeout=2000)
    qtbot.wait(50)
    assert fired == ["a"]
    del owner


def test_a_timer_of_a_deleted_owner_never_fires(qtbot):
    import shiboken6

    owner, t, fired = _timers(qtbot, "gone", "kept")
    other, t2, fired2 = _timers(qtbot, "kept")
    t["gone"].start(0)
    t2["kept"].start(5)
    shiboken6.delete(owner)  # the view closed with work pending
    qtbot.waitUntil(lambda: fired2 == ["kept"], timeout=2000)
    assert fired == []
    del other
