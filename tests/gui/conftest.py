"""Fixtures of the GUI tests: ``session``, a real Session with its default scene, run
(a test module may define its own)."""

from __future__ import annotations

import pytest


@pytest.fixture
def session(qtbot):
    from simulator.gui.session import Session

    s = Session()
    s.flush()
    yield s
    s._timer.stop()
