"""The 1-D view (CurveView) redraws from the real Session and moves its start along w."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from view_helpers import curve_data, scatter_xy

from simulator.core.library import get_surface
from simulator.core.optimizers import SGD
from simulator.gui.views import CurveView


@pytest.fixture
def curve_session(session):
    session.set_surface(get_surface("parabola"))
    session.flush()
    session.update_lane(0, optimizer=SGD(lr=0.9))  # oscillates across the valley
    session.flush()
    return session


def test_curve_view_idles_in_a_2d_scene(qtbot, session, monkeypatch):
    """The 1-D view (behind the 2-D one) does nothing per frame or slider tick while
    the scene is 2-D, and draws again when a 1-D curve is picked."""
    v = CurveView(session)
    qtbot.addWidget(v)
    calls = []
    monkeypatch.setattr(v.markers, "setData", lambda *a, **k: calls.append(1))
    for i in range(1, 6):
        session.set_frame(i)
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 1.1)
    session.flush()
    assert calls == []
    session.set_surface(get_surface("parabola"))
    session.flush()
    session.set_frame(3)
    assert calls


def test_curve_view_draws_steps_and_jumps(qtbot, curve_session):
    s = curve_session
    v = CurveView(s)
    qtbot.addWidget(v)
    v.resize(600, 400)
    v.show()
    qtbot.waitExposed(v)
    s.set_frame(6)
    lane = s.lanes[0]
    L = v._lanes[lane.uid]
    run = s.results[lane.uid]
    px, py = scatter_xy(L.points)
    np.testing.assert_allclose(px, run.positions[:7, 0])
    np.testing.assert_allclose(py, run.losses[:7])
    ax, _ = curve_data(L.arcs)
    assert np.isnan(ax).sum() == 6  # one arc per jump, nan-separated
    hx, _ = curve_data(L.heads)
    assert len(hx) == 6 * 4  # two strokes per arrowhead
    # lr 0.9 on a parabola overshoots: successive steps land on alternate sides
    c = s.surface.minima[0][0]
    sides = np.sign(run.positions[:7, 0] - c)
    assert np.all(sides[1:] != sides[:-1])


def test_curve_view_moves_start_along_w(qtbot, curve_session):
    s = curve_session
    v = CurveView(s)
    qtbot.addWidget(v)
    v.resize(600, 400)
    v.show()
    qtbot.waitExposed(v)
    v.fit()
    pos = v.graphics.mapFromScene(v.view_to_scene(4.0, 10.0))
    QTest.mouseClick(v.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert s.start == pytest.approx((4.0,), abs=0.05)
    sx, _ = scatter_xy(v.start_item)
    assert sx[0] == pytest.approx(s.start[0])
