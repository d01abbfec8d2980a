"""The 2-D, 1-D and plot views side by side on one Session: switching dimension, one
redraw per edit, removed lanes deleted between events."""

from __future__ import annotations

from simulator.core.library import get_surface
from simulator.gui.analysis_cache import critical_points
from simulator.gui.views import ContourView, CurveView, PlotsPanel


def test_views_survive_switching_dimension(qtbot, session):
    c = ContourView(session)
    cv = CurveView(session)
    for w in (c, cv):
        qtbot.addWidget(w)
    session.set_surface(get_surface("parabola"))
    session.flush()
    critical_points(session.surface)
    c._on_critical_points_ready(session.surface)
    assert c.lane_items_count() == 0 if hasattr(c, "lane_items_count") else not c._lane_items
    assert cv._lanes
    session.set_surface(get_surface("rosenbrock"))
    session.flush()
    assert c._lane_items and not cv._lanes


def test_an_edit_that_reruns_a_lane_redraws_each_view_once(qtbot, session, monkeypatch):
    c = ContourView(session)
    p = PlotsPanel(session)
    qtbot.addWidget(c)
    qtbot.addWidget(p)
    calls = []
    for view in (c, p):
        orig = view._on_trajectories_changed
        monkeypatch.setattr(view, "_on_trajectories_changed",
                            lambda *a, _o=orig, _v=view: (calls.append(_v), _o(*a))[1])
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 2)
    assert session.pending and calls == []  # lanes_changed drew nothing
    session.flush()
    assert calls.count(c) == 1 and calls.count(p) == 1
    calls.clear()
    session.update_lane(0, color="#654321")  # runs nothing: drawn at once
    assert not session.pending
    assert c.lane_item(session.lanes[0].uid).opts["pen"].color().name() == "#654321"


def test_a_removed_lanes_items_are_deleted_between_events(qtbot, session):
    import shiboken6

    c = ContourView(session)
    p = PlotsPanel(session)
    qtbot.addWidget(c)
    qtbot.addWidget(p)
    uid = session.lanes[-1].uid
    trail, curve = c.lane_item(uid), p.curve(uid, "loss")
    session.remove_lane(len(session.lanes) - 1)
    session.flush()
    assert trail.scene() is None and shiboken6.isValid(trail)  # removed, not yet deleted
    qtbot.waitUntil(lambda: not shiboken6.isValid(trail) and not shiboken6.isValid(curve))
