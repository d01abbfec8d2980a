"""The 2-D, 1-D and plot views redraw from the real Session and move its start point."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from simulator.core.expressions import surface_from_expression
from simulator.core.library import get_surface
from simulator.core.optimizers import SGD
from simulator.gui.common import (
    HeightScale,
    arrow_heads,
    clip_far,
    critical_points,
    lane_step,
)
from simulator.gui.session import Session
from simulator.gui.views import ContourView, CurveView, PlotsPanel


@pytest.fixture
def session(qtbot):
    s = Session()
    s.flush()
    yield s
    s._timer.stop()


def _shown_contour(qtbot, session) -> ContourView:
    """A 2-D view of ``session``, shown at 600 x 500 (as laid out in a window)."""
    v = ContourView(session)
    qtbot.addWidget(v)
    v.resize(600, 500)
    v.show()
    qtbot.waitExposed(v)
    return v


def _curve_data(item):
    # the data set on the item (a PlotDataItem draws a peak-downsampled copy of it)
    get = getattr(item, "getOriginalDataset", item.getData)
    x, y = get()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


def _scatter_xy(item):
    pts = item.getData()
    return np.asarray(pts[0]), np.asarray(pts[1])


# ---- pure helpers ------------------------------------------------------------------------
@pytest.mark.parametrize("lo, hi, px", [(0.912, 109.6, 78.4), (2.0, 80.0, 70.0),
                                         (0.5, 3.0, 78.0), (20.0, 80.0, 200.0)])
def test_a_short_log_axis_labels_few_ticks_that_fit(qtbot, lo, hi, px):
    """Less than two decades on a short plot (Rastrigin's local minima: a loss gap from
    1 to 100 on 78 px): pyqtgraph labelled every 1..9 x 10^n tick, on top of each other."""
    import pyqtgraph as pg

    from simulator.gui.views.plots import LogAxis

    a, b = np.log10(lo), np.log10(hi)
    std = [(0.5, [])]  # no whole-decade level: what pyqtgraph finds for such a range
    if px < 100:
        crowded = pg.AxisItem("left").logTickValues(a, b, px, std)[0][1]
        assert len(crowded) > px // LogAxis.LOG_LABEL_PX  # level 0: all labelled
    ticks = LogAxis("left").logTickValues(a, b, px, std)
    labelled, rest = ticks[0][1], ticks[1][1]
    margin = (b - a) * LogAxis.LOG_LABEL_PX / 2 / px
    inner = [v for v in labelled if a + margin <= v <= b - margin]
    assert 2 <= len(inner) <= px // LogAxis.LOG_LABEL_PX  # readable, and they fit
    gaps = np.diff(sorted(inner)) / (b - a) * px
    assert np.all(gaps >= LogAxis.LOG_LABEL_PX * 0.99)
    # every 1..9 x 10^n in the range is still marked (the rest without labels)
    every = [d + np.log10(m) for d in range(-2, 4) for m in range(1, 10)]
    every = [v for v in every if a <= v <= b]
    assert np.allclose(sorted(labelled + rest), every)


@pytest.mark.parametrize("a, b, px, minors", [(-6.3, 9.3, 78.4, False), (-1.0, 2.0, 200.0, True),
                                               (0.0, 4.0, 78.4, False)])
def test_a_log_axis_marks_between_decades_only_where_they_fit(qtbot, a, b, px, minors):
    """A diverged lane's 15 decades on a 78 px plot: pyqtgraph drew all 135 marks 2..9 x
    10^n as one grey band, and its repaint took 5 ms in the middle of a slider drag."""
    from simulator.gui.views.plots import LogAxis

    axis = LogAxis("left")
    axis.setLogMode(False, True)
    levels = axis.tickValues(a, b, px)  # pyqtgraph's levels, then logTickValues
    values = [v for _, vals in levels for v in vals]
    between = [v for v in values if abs(v - round(v)) > 1e-6]
    decades = list(range(int(np.ceil(a)), int(np.floor(b)) + 1))
    assert set(decades) <= {round(v) for v in values if abs(v - round(v)) <= 1e-6}
    if minors:
        assert len(between) >= 8 * (len(decades) - 1)
    else:
        assert between == []


def test_log_scale_handles_negative_values():
    values = np.array([[-3.0, -1.0], [10.0, np.nan]])
    t = HeightScale(values, log=True)(values)
    assert np.isfinite(t[:1]).all() and np.isfinite(t[1, 0]) and np.isnan(t[1, 1])
    assert t[0, 0] < t[0, 1] < t[1, 0]


def test_arrow_heads_are_symmetric_on_screen():
    hx, hy = arrow_heads([0.0], [0.0], [1.0], [0.0], 0.01, 0.1, size=10)
    assert len(hx) == 4
    # tip at (1, 0), strokes go back (x < 1) and spread symmetrically in y
    assert hx[0] == 1.0 and hx[1] < 1.0 and hx[3] < 1.0
    assert hy[1] == pytest.approx(-hy[3])


# ---- contour view ----------------------------------------------------------------------------
def test_contour_draws_surface_and_paths(qtbot, session):
    v = ContourView(session)
    qtbot.addWidget(v)
    v.resize(600, 500)
    img = v.image.image
    assert img is not None and img.shape == (200, 200)
    assert len(_curve_data(v.contours)[0]) > 100
    assert v.plot.getAxis("bottom").labelText == session.surface.variables[0]
    for lane in session.lanes:
        run = session.results[lane.uid]
        x, y = v.lane_item(lane.uid).trail_xy()
        k = lane_step(run, session.frame)
        assert len(x) == k + 1
        np.testing.assert_allclose(x[-1], run.positions[k, 0])
    # Rosenbrock's minimum (1, 1) is marked
    mx, my = _scatter_xy(v._cp_items["minimum"])
    assert np.any(np.hypot(mx - 1.0, my - 1.0) < 1e-3)


def test_the_legend_lists_the_kinds_of_point_shown(qtbot, session):
    from simulator.gui.common import critical_points

    v = ContourView(session)
    qtbot.addWidget(v)

    def listed():
        return [label.text for _, label in v.legend.items]

    for name, kinds in (("himmelblau", ["minimum", "maximum", "saddle"]),
                        ("ravine", ["minimum"]), ("rosenbrock", ["minimum"])):
        surface = get_surface(name)
        critical_points(surface)  # searched: the view shows them at once
        rows = list(v.legend.items)
        session.set_surface(surface)
        assert listed() == [*kinds, "start"], name
        if name == "rosenbrock":  # the same kinds as the ravine: the rows are kept
            assert v.legend.items == rows
        for kind in ("minimum", "maximum", "saddle", "degenerate"):
            assert (len(_scatter_xy(v._cp_items[kind])[0]) > 0) == (kind in kinds)


def test_a_picked_surfaces_contour_lines_follow_a_turn_later(qtbot, session):
    """The colour layer of a newly picked surface is drawn at once, its contour lines
    in a later turn (never the old surface's lines over the new colours)."""
    from simulator.core.contours import contour_segments
    from simulator.gui.common import contour_levels

    v = ContourView(session)
    qtbot.addWidget(v)
    session.set_surface(get_surface("himmelblau"))
    assert v.image.image is not None and len(_curve_data(v.contours)[0]) == 0
    qtbot.waitUntil(lambda: len(_curve_data(v.contours)[0]) > 100)
    xs, ys, values = v._grid
    t = v._scale(values)
    expect, _ = contour_segments(t, xs, ys, contour_levels(t))
    np.testing.assert_array_equal(_curve_data(v.contours)[0], expect)
    v.log_check.toggle()  # a toggle redraws the lines at once
    assert len(_curve_data(v.contours)[0]) > 100


def test_contour_redraws_when_trajectories_change(qtbot, session):
    v = ContourView(session)
    qtbot.addWidget(v)
    lane = session.lanes[0]
    before = v.lane_item(lane.uid).trail_xy()[0].copy()
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 1.5)
    session.flush()
    after = v.lane_item(lane.uid).trail_xy()[0]
    run = session.results[lane.uid]
    k = lane_step(run, session.frame)
    # far-away points of a diverging run are clipped for drawing, nothing else changes
    expect = clip_far(run.positions, session.surface.domain)[: k + 1, 0]
    np.testing.assert_allclose(after, expect)
    assert not np.array_equal(before, after)


def test_frame_change_moves_trails_and_markers(qtbot, session):
    v = ContourView(session)
    qtbot.addWidget(v)
    session.set_frame(10)
    for lane in session.lanes:
        x, _ = v.lane_item(lane.uid).trail_xy()
        assert len(x) == 11
    expect = np.array([session.results[lane.uid].positions[10] for lane in session.lanes])
    np.testing.assert_allclose(v.marker_positions(), expect)
    # one fixed-size marker per lane, in the lane's colour
    session.update_lane(0, color="#123456")
    session.flush()
    m = v._markers[session.lanes[0].uid]
    assert m.brush().color().name() == "#123456"
    assert m.flags() & m.GraphicsItemFlag.ItemIgnoresTransformations
    session.remove_lane(len(session.lanes) - 1)
    session.flush()
    assert len(v._markers) == len(session.lanes) == len(v.marker_positions())


def test_frame_is_clamped_for_runs_that_ended_early(qtbot, session):
    session.update_lane(0, optimizer=SGD(lr=5.0))  # diverges on Rosenbrock quickly
    session.flush()
    run = session.results[session.lanes[0].uid]
    assert run.n_steps < session.steps
    v = ContourView(session)
    qtbot.addWidget(v)
    session.set_frame(session.steps)
    x, _ = v.lane_item(session.lanes[0].uid).trail_xy()
    assert len(x) == len(run.positions)


def test_click_and_drag_move_the_start(qtbot, session):
    v = ContourView(session)
    qtbot.addWidget(v)
    v.resize(700, 600)
    v.show()
    qtbot.waitExposed(v)
    v.fit()
    target = (0.5, -0.25)
    pos = v.graphics.mapFromScene(v.view_to_scene(*target))
    QTest.mouseClick(v.graphics.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert session.start == pytest.approx(target, abs=0.05)
    session.flush()
    for lane in session.lanes:
        np.testing.assert_allclose(session.results[lane.uid].positions[0], session.start)
    sx, sy = _scatter_xy(v.start_item)
    assert (sx[0], sy[0]) == pytest.approx(session.start)

    # a drag moves the start live: every intermediate position reaches the session
    from simulator.gui.panels import DRAG

    seen, dragging = [], []
    session.start_changed.connect(lambda: (seen.append(session.start),
                                           dragging.append(DRAG.active)))
    a = v.graphics.mapFromScene(v.view_to_scene(-1.0, 2.0))
    b = v.graphics.mapFromScene(v.view_to_scene(1.0, 0.0))
    vp = v.graphics.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    for t in np.linspace(0.1, 1.0, 6):
        p = a + (b - a) * float(t)
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    assert len(seen) >= 2  # moved while dragging, not only on release
    assert session.start == pytest.approx((1.0, 0.0), abs=0.05)
    assert all(dragging) and not DRAG.active  # a drag while moving, over on release


def test_a_start_drag_repaints_the_map_once_a_tick(qtbot, session):
    """The start marker moves with the runs from the new start, in the same repaint
    (it used to be repainted on its own first: two repaints of the map a tick)."""
    from PySide6.QtCore import QEvent, QObject

    from simulator.gui.panels import DRAG

    v = _shown_contour(qtbot, session)
    paints = []

    class Count(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt API
            if ev.type() == QEvent.Type.Paint:
                paints.append(ev.rect())
            return False

    from simulator.gui.common import critical_points

    critical_points(session.surface)  # the search is done (its markers drawn first)
    qtbot.wait(100)
    counter = Count()
    v.graphics.viewport().installEventFilter(counter)
    x0, y0 = session.start
    DRAG.set(True)
    try:
        for i in range(1, 4):
            p = (x0 + 0.05 * i, y0 - 0.02 * i)
            paints.clear()
            session.set_start(p)
            assert _scatter_xy(v.start_item)[0][0] != pytest.approx(p[0])  # not yet
            qtbot.waitUntil(lambda: not session.pending)
            qtbot.waitUntil(lambda: len(paints) >= 1)
            qtbot.wait(30)
            assert len(paints) == 1, (i, paints)
            sx, sy = _scatter_xy(v.start_item)
            assert (sx[0], sy[0]) == pytest.approx(p)
            for lane in session.lanes:  # the paths start there in the same repaint
                x, y = v.lane_item(lane.uid).trail_xy()
                assert (x[0], y[0]) == pytest.approx(p)
    finally:
        DRAG.set(False)


def test_place_start_handler(qtbot, session):
    v = ContourView(session)
    qtbot.addWidget(v)
    v._place_start(QPointF(0.25, 0.75))
    assert session.start == pytest.approx((0.25, 0.75))


def test_cursor_signal(qtbot, session):
    v = _shown_contour(qtbot, session)
    v.fit()
    got = []
    v.cursor_moved.connect(got.append)
    v._on_mouse_moved(v.view_to_scene(0.5, 0.5))
    assert got[-1] == pytest.approx([0.5, 0.5], abs=1e-6)
    assert "L =" in v.readout.text()
    v._emit_cursor(None)
    assert got[-1] is None


def test_eigen_arrows_follow_selected_lane(qtbot, session):
    v = _shown_contour(qtbot, session)
    session.select_lane(1)
    session.set_frame(5)
    x, y = _curve_data(v.eig_lines[0])
    assert len(x) >= 2
    p = session.results[session.lanes[1].uid].positions[5]
    # the arrow is centred on the lane's position
    assert 0.5 * (x[0] + x[1]) == pytest.approx(p[0], abs=1e-9)
    assert 0.5 * (y[0] + y[1]) == pytest.approx(p[1], abs=1e-9)
    label = v.eig_labels[0]
    assert "\u03bb" in label.textItem.toPlainText()
    # readable over any colour of the map: the text sits on a dark plate
    assert label.isVisible() and label.fill.color().alpha() >= 180
    assert label.fill.color().lightness() < 40
    v.eigen_check.setChecked(False)
    assert len(_curve_data(v.eig_lines[0])[0]) == 0
    assert not label.isVisible()  # no empty plate left behind
    v.eigen_check.setChecked(True)
    assert label.isVisible() and "\u03bb" in label.textItem.toPlainText()


def test_eigen_arrows_move_with_a_drag_and_are_exact_on_release(qtbot, session):
    from simulator.gui.panels import DRAG

    v = _shown_contour(qtbot, session)
    session.select_lane(0)
    session.set_frame(5)
    calls = []
    v._analysis = lambda p, f=v._analysis: calls.append(1) or f(p)

    def centre():  # where the arrow is drawn: its data moved by the item's offset
        x, y = _curve_data(v.eig_lines[0])
        pos = v.eig_lines[0].pos()
        return 0.5 * (x[0] + x[1]) + pos.x(), 0.5 * (y[0] + y[1]) + pos.y()

    DRAG.set(True)
    try:
        for i in range(5):  # ticks faster than the re-analysis interval
            session.set_start((-1.0 + 0.05 * i, 1.0))
            session.flush()
            p = session.results[session.lanes[0].uid].positions[5]
            assert centre() == pytest.approx(tuple(p), abs=1e-9)  # moved with the lane
        assert calls == []  # not analysed again on every tick
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=2000)  # but once the hand rests
    finally:
        DRAG.set(False)
    n = len(calls)
    session.set_start((0.3, 0.2))
    session.flush()
    assert len(calls) == n + 1  # no drag: exact at once
    DRAG.set(True)
    session.set_start((0.35, 0.25))
    session.flush()
    DRAG.set(False)  # the release draws the arrows from a fresh analysis
    assert len(calls) == n + 2
    p = session.results[session.lanes[0].uid].positions[5]
    assert v.eig_lines[0].pos().x() == 0.0 and v.eig_lines[0].pos().y() == 0.0
    assert centre() == pytest.approx(tuple(p), abs=1e-9)


def test_log_toggle_and_nan_gaps(qtbot, session):
    session.set_surface(surface_from_expression("log(x) + y**2", domain=((-1, 2), (-1, 1))))
    session.set_start((1.0, 0.5))
    session.flush()
    assert session.surface.name == "log(x) + y**2"
    v = ContourView(session)
    qtbot.addWidget(v)
    img = v.image.image
    assert np.isnan(img).any() and np.isfinite(img).any()  # x <= 0 is a gap
    v.log_check.setChecked(True)
    assert v.colorbar.getAxis("left").labelText.startswith("log10")
    assert np.isfinite(v.image.image).any()


def test_critical_points_marked_by_kind(qtbot, session):
    session.set_surface(get_surface("himmelblau"))
    session.flush()
    critical_points(session.surface)  # make sure the search finished
    v = ContourView(session)
    qtbot.addWidget(v)
    kinds = {k: len(_scatter_xy(it)[0]) for k, it in v._cp_items.items()}
    assert kinds["minimum"] == 4 and kinds["saddle"] == 4 and kinds["maximum"] == 1


def test_a_picked_surfaces_critical_points_are_searched_after_the_views_turns(qtbot, session):
    """The search (numpy in a worker thread) starts once the map, plots and mesh of a
    new surface have had their turns: beside them it made the GUI thread wait for the
    interpreter. The points are marked when it ends."""
    from simulator.gui.common import CP_SEARCH_LATER_MS, critical_points_notifier
    from simulator.gui.views.plots import LATER_MS
    from simulator.gui.views.surface3d import NEW_SURFACE_MS

    v = ContourView(session)
    qtbot.addWidget(v)
    surface = surface_from_expression("x**3 - 3*x + y**2", domain=((-2, 2), (-2, 2)))
    session.set_surface(surface)
    notifier = critical_points_notifier()
    assert surface in notifier.queued and notifier.starter.isActive()  # not started yet
    assert CP_SEARCH_LATER_MS > max(LATER_MS, NEW_SURFACE_MS)  # after the plots and mesh
    qtbot.waitUntil(lambda: len(_scatter_xy(v._cp_items["saddle"])[0]) == 1, timeout=5000)
    assert len(_scatter_xy(v._cp_items["minimum"])[0]) == 1  # (1, 0); the saddle (-1, 0)
    assert surface not in notifier.queued


def test_many_critical_points_get_smaller_marks(qtbot, session):
    """Rastrigin's 441 points at full size hid the map under them; a few keep full size,
    and the legend's samples always do."""
    from simulator.gui.views.contour import CP_MIN_SCALE, cp_size

    v = ContourView(session)
    qtbot.addWidget(v)
    v.set_cp_mode("all")  # Auto would mark only Rastrigin's minima
    for name, scale in (("himmelblau", 1.0), ("rastrigin", CP_MIN_SCALE)):
        surface = get_surface(name)
        critical_points(surface)
        session.set_surface(surface)
        for kind in ("minimum", "saddle"):
            item = v._cp_items[kind]
            assert len(item.data) > 0
            np.testing.assert_allclose(item.data["size"], cp_size(kind) * scale)
            assert item.opts["size"] == cp_size(kind)  # the legend's sample


def test_critical_point_modes_thin_out_rastrigins_441_marks(qtbot, session):
    """Auto marks every point of a surface with a few (Himmelblau's 9) and only the
    minima of one with many (Rastrigin: 121 of 441); All, Minima Only and Off do what
    they say, and the legend lists only the kinds marked."""
    from simulator.gui.common import CP_AUTO_ALL

    v = ContourView(session)
    qtbot.addWidget(v)
    assert v.cp_mode == "auto"

    def counts():
        return {k: len(_scatter_xy(it)[0]) for k, it in v._cp_items.items()}

    def listed():
        return [label.text for _, label in v.legend.items]

    himmelblau = get_surface("himmelblau")
    critical_points(himmelblau)
    session.set_surface(himmelblau)
    assert counts() == {"minimum": 4, "maximum": 1, "saddle": 4, "degenerate": 0}

    rastrigin = get_surface("rastrigin")
    n_all = len(critical_points(rastrigin))
    assert n_all == 441 > CP_AUTO_ALL
    session.set_surface(rastrigin)
    auto = counts()
    assert auto["minimum"] == 121 and auto["maximum"] == auto["saddle"] == 0
    assert v.cp_mark_count() == 121 < n_all
    assert listed() == ["minimum", "start"]
    v.set_cp_mode("all")
    assert v.cp_mark_count() == n_all
    assert listed() == ["minimum", "maximum", "saddle", "start"]
    v.set_cp_mode("minima")
    assert counts() == auto
    v.set_cp_mode("off")
    assert v.cp_mark_count() == 0 and listed() == ["start"]
    session.set_surface(himmelblau)  # the mode outlives a change of surface
    assert v.cp_mark_count() == 0
    v.set_cp_mode("minima")
    assert counts() == {"minimum": 4, "maximum": 0, "saddle": 0, "degenerate": 0}
    with pytest.raises(ValueError, match="auto, all, minima, off"):
        v.set_cp_mode("some")


# ---- 1-D view --------------------------------------------------------------------------------
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
    px, py = _scatter_xy(L.points)
    np.testing.assert_allclose(px, run.positions[:7, 0])
    np.testing.assert_allclose(py, run.losses[:7])
    ax, _ = _curve_data(L.arcs)
    assert np.isnan(ax).sum() == 6  # one arc per jump, nan-separated
    hx, _ = _curve_data(L.heads)
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
    sx, _ = _scatter_xy(v.start_item)
    assert sx[0] == pytest.approx(s.start[0])


# ---- plots -----------------------------------------------------------------------------------
def test_learning_rates_a_hundredfold_apart_are_readable_on_log_y(qtbot, session):
    """With "Log y" the learning-rate plot is logarithmic too: a lane at 5e-4 and one
    at 5e-2 are decades apart, not a line squashed on the axis under the other, and a
    cosine decay shows its whole tail."""
    import simulator as sim

    session.update_lane(0, lr=5e-4)  # GD
    session.update_lane(3, lr=5e-2, schedule=sim.CosineAnnealingLR(T_max=session.steps))
    session.flush()
    assert session.results[session.lanes[3].uid].n_steps == session.steps  # Adam runs on
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    assert p.lr_plot.getViewBox().state["logMode"][1]
    lo, hi = p._fitted["lr"]
    assert lo <= np.log10(5e-4) - 0.2 and hi >= np.log10(5e-2) + 0.2  # both inside
    assert hi - lo <= 6  # and the axis is not mostly empty
    y = p.curve(session.lanes[3].uid, "lr").getData()[1]  # log10 of the rates
    assert np.all(np.isfinite(y)) and y.max() - y.min() > 2  # decays over decades
    p.log_check.setChecked(False)
    assert not p.lr_plot.getViewBox().state["logMode"][1]
    lo, hi = p._fitted["lr"]
    assert lo <= 0.0 and hi >= 5e-2


def test_plot_curves_are_drawn_directly_while_every_lane_changes(qtbot, session):
    """A start-point drag re-sets every curve at every tick: they are drawn directly
    then, and cached again (for the frame line and single edits) once such edits pause;
    a single lane's edit keeps the caches."""
    from PySide6.QtWidgets import QGraphicsItem

    from simulator.gui.views.plots import RECACHE_MS

    cached = QGraphicsItem.CacheMode.DeviceCoordinateCache
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    qtbot.wait(RECACHE_MS + 100)

    def modes():
        return {it.cacheMode() for items in p._curves.values() for it in items.values()}

    assert modes() == {cached}
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 1.5)  # one lane
    session.flush()
    assert modes() == {cached}
    x, y = session.start
    for i in range(3):  # a start drag: every lane, tick after tick
        session.set_start((x + 0.01 * (i + 1), y))
        session.flush()
        assert modes() == {QGraphicsItem.CacheMode.NoCache}
    qtbot.waitUntil(lambda: modes() == {cached}, timeout=RECACHE_MS + 1000)


def test_plots_draw_a_new_surfaces_runs_a_turn_later(qtbot, session):
    """Picking a surface redraws every view; the plots follow in the next event-loop
    turn (together, the views' work made one turn of over 100 ms)."""
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    session.set_surface(get_surface("himmelblau"))
    session.flush()
    runs = session.results
    assert p._later.isActive()  # not drawn in the click's own turn
    assert all(p._drawn[lane.uid][0] is not runs[lane.uid] for lane in session.lanes)
    qtbot.waitUntil(lambda: not p._later.isActive())
    assert all(p._drawn[lane.uid][0] is runs[lane.uid] for lane in session.lanes)
    x, y = _curve_data(p.curve(session.lanes[0].uid, "lr"))
    np.testing.assert_allclose(y, runs[session.lanes[0].uid].learning_rates)
    # a lane edit right after a new surface is drawn with it, once
    session.set_surface(get_surface("rosenbrock"))
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 2)
    session.flush()
    qtbot.waitUntil(lambda: not p._later.isActive())
    assert p._drawn[session.lanes[0].uid][0] is session.results[session.lanes[0].uid]


def test_plots_one_curve_per_lane_and_frame_line(qtbot, session):
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    for lane in session.lanes:
        run = session.results[lane.uid]
        x, y = _curve_data(p.curve(lane.uid, "lr"))
        np.testing.assert_allclose(y, run.learning_rates)
        x, _ = _curve_data(p.curve(lane.uid, "grad"))
        assert len(x) == len(run.losses)
    session.set_frame(42)
    assert p.frame_lines["loss"].value() == 42
    p.log_check.setChecked(False)
    lane = session.lanes[0]
    _, y = _curve_data(p.curve(lane.uid, "loss"))
    np.testing.assert_allclose(y, session.results[lane.uid].losses)


def test_plots_follow_lane_removal(qtbot, session):
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    uid = session.lanes[-1].uid
    session.remove_lane(len(session.lanes) - 1)
    session.flush()
    assert uid not in p._curves


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


def test_an_edit_of_one_lane_resets_only_its_curves(qtbot, session, monkeypatch):
    c = ContourView(session)
    p = PlotsPanel(session)
    qtbot.addWidget(c)
    qtbot.addWidget(p)
    calls = []
    for lane in session.lanes:
        for key in ("loss", "grad", "lr"):
            it = p.curve(lane.uid, key)
            monkeypatch.setattr(it, "setData", lambda *a, _u=lane.uid, _it=it, **k: (
                calls.append(("plot", _u)), type(_it).setData(_it, *a, **k))[1])
        trail = c.lane_item(lane.uid)
        monkeypatch.setattr(trail, "setData", lambda *a, _u=lane.uid, _it=trail, **k: (
            calls.append(("trail", _u)), type(_it).setData(_it, *a, **k))[1])
    uid = session.lanes[1].uid
    session.update_lane(1, lr=session.lanes[1].optimizer.lr * 2)
    session.flush()
    assert calls and {u for _, u in calls} == {uid}
    assert sorted(k for k, _ in calls) == ["plot"] * 3 + ["trail"]
    # what is drawn is what a fresh view of the same runs draws
    p2 = PlotsPanel(session)
    c2 = ContourView(session)
    qtbot.addWidget(p2)
    qtbot.addWidget(c2)
    for lane in session.lanes:
        for key in ("loss", "grad", "lr"):
            a, b = _curve_data(p.curve(lane.uid, key)), _curve_data(p2.curve(lane.uid, key))
            assert np.array_equal(a[1], b[1], equal_nan=True)
        a, b = c.lane_item(lane.uid).trail_xy(), c2.lane_item(lane.uid).trail_xy()
        assert np.array_equal(a[0], b[0], equal_nan=True)
    # a frame change still moves every trail that has not ended
    calls.clear()
    session.set_frame(5)
    assert {u for _, u in calls} == {lane.uid for lane in session.lanes}
    calls.clear()
    session.set_frame(5)  # same frame: nothing to set
    assert calls == []


def test_a_colour_change_repens_without_new_data(qtbot, session):
    c = ContourView(session)
    p = PlotsPanel(session)
    qtbot.addWidget(c)
    qtbot.addWidget(p)
    uid = session.lanes[0].uid
    data_before = p.curve(uid, "loss").getData()[1]
    session.update_lane(0, color="#123456")
    session.flush()
    assert p.curve(uid, "loss").opts["pen"].color().name() == "#123456"
    assert c.lane_item(uid).opts["pen"].color().name() == "#123456"
    assert p.curve(uid, "loss").getData()[1] is data_before


# ---- drawing costs: y ranges, one redraw per edit --------------------------------------------
def test_nice_range_snaps_to_decades_and_round_steps():
    from simulator.gui.views.plots import MAX_DECADES, nice_range

    assert nice_range(-3.2, 1.4, log=True) == (-4.0, 2.0)
    assert nice_range(-2.0, -2.0, log=True) == (-2.5, -1.5)  # a flat curve gets a decade
    assert nice_range(-300.0, 2.0, log=True) == (2.0 - MAX_DECADES, 2.0)
    lo, hi = nice_range(0.013, 0.87, log=False)
    assert (lo, hi) == pytest.approx((0.0, 1.0))  # steps of 0.2 (span / 8 = 0.107)
    assert nice_range(5.0, 5.0, log=False)[0] < 5.0 < nice_range(5.0, 5.0, log=False)[1]
    assert nice_range(np.nan, 1.0, log=False) is None


def test_plots_keep_their_y_range_for_a_small_edit_and_respect_a_user_zoom(qtbot, session):
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    vb = p.loss_plot.getViewBox()
    before = vb.viewRange()[1]
    lo, hi = p._fitted["loss"]
    assert lo == int(lo) and hi == int(hi)  # whole decades on the log axis
    # every finite point of every curve is inside the range
    for items in p._curves.values():
        _, y = _curve_data(items["loss"])
        ly = np.log10(y[np.isfinite(y) & (y > 0)])
        assert ly.min() >= lo - 1e-9 and ly.max() <= hi + 1e-9
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 1.001)
    session.flush()
    assert vb.viewRange()[1] == before  # the axis (and the other curves' caches) stay
    # the user zooms: the panel stops fitting until the auto button
    vb.setYRange(-1.0, 0.0, padding=0)
    vb.sigRangeChangedManually.emit(vb.state["mouseEnabled"])
    session.update_lane(0, lr=session.lanes[0].optimizer.lr * 3)
    session.flush()
    assert vb.viewRange()[1] == pytest.approx([-1.0, 0.0])
    p.loss_plot.autoBtn.clicked.emit(p.loss_plot.autoBtn)
    assert p._auto_y["loss"]
    assert vb.viewRange()[1] != pytest.approx([-1.0, 0.0])


def test_a_diverged_lane_leaves_the_top_of_the_loss_axis(qtbot, session):
    from simulator.gui.views.plots import DIVERGED_DECADES

    p = PlotsPanel(session)
    qtbot.addWidget(p)
    session.update_lane(0, lr=0.003)  # GD on Rosenbrock: diverges within a few steps
    session.flush()
    run = session.results[session.lanes[0].uid]
    assert run.status == "diverged" and np.nanmax(run.losses) > 1e100
    lo, hi = p._fitted["loss"]
    start = np.log10(run.losses[0] - p._loss_floor(session.surface, [(None, run)]))
    assert hi <= start + DIVERGED_DECADES + 3  # with headroom; not up to its peak (>100)
    for lane in session.lanes[1:]:  # the others are all on the axis
        y = np.asarray(session.results[lane.uid].losses, dtype=float)
        gap = np.log10(y - p._loss_floor(session.surface, [(None, session.results[lane.uid])]))
        gap = gap[np.isfinite(gap)]
        assert gap.max() <= hi and max(gap.min(), hi - 60) >= lo


def test_plots_axes_only_grow_during_a_drag_and_fit_again_on_release(qtbot, session):
    from simulator.gui.panels import DRAG
    from simulator.gui.views.plots import still_fits

    p = PlotsPanel(session)
    qtbot.addWidget(p)
    ranges = []
    DRAG.set(True)
    try:
        # a slider dragged up into divergence and back: the diverging lane's peak loss
        # jumps by tens of decades from one learning rate to the next
        for lr in list(np.geomspace(1e-3, 5e-3, 25)) + [1e-3]:
            session.update_lane(0, lr=float(lr))
            session.flush()
            ranges.append(p._fitted["loss"])
        assert session.results[session.lanes[0].uid].status == "converging"  # back down
        assert session.lanes[0].optimizer.lr == 1e-3
        changes = sum(a != b for a, b in zip(ranges, ranges[1:]))
        assert 1 <= changes <= 3  # grew a few times (it refitted on 20 ticks before)
        for a, b in zip(ranges, ranges[1:]):
            assert b[1] >= a[1]  # the top never came down during the drag
    finally:
        DRAG.set(False)
    # released: fitted to what is drawn now (no diverged lane any more)
    lo, hi = p._fitted["loss"]
    assert hi < ranges[-1][1]
    data = [b["loss"] for b in p._bounds.values()]
    dlo, dhi = min(d[0] for d in data), max(d[1] for d in data)
    assert still_fits((lo, hi), max(dlo, dhi - 60), dhi, log=True)


def test_schedule_preview_axis_grows_during_a_drag_and_fits_on_release(qtbot, session):
    from simulator.gui.panels import DRAG
    from simulator.gui.panels.training_panel import TrainingPanel

    t = TrainingPanel(session)
    qtbot.addWidget(t)
    t.show()  # the preview draws only while visible
    qtbot.waitExposed(t)
    pv = t.preview
    lo0, hi0 = pv.fitted_range()
    assert lo0 <= np.log10(1e-3) and hi0 >= np.log10(max(la.optimizer.lr for la in session.lanes))
    DRAG.set(True)
    try:
        seen = set()
        for lr in np.geomspace(1e-3, 3.0, 20):
            session.update_lane(0, lr=float(lr))
            session.flush()
            lo, hi = pv.fitted_range()
            assert lo <= np.log10(lr) <= hi  # the curve is always inside the axis
            seen.add((lo, hi))
        assert len(seen) <= 4  # grown a few times, not refitted on every tick
        session.update_lane(0, lr=1e-3)
        session.flush()
        assert pv.fitted_range()[1] >= np.log10(3.0)  # no shrinking while dragging
    finally:
        DRAG.set(False)
    assert pv.fitted_range()[1] < np.log10(3.0)  # released: fitted again


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


def test_trails_and_static_layers_are_device_cached(qtbot, session):
    from PySide6.QtGui import QPixmapCache
    from PySide6.QtWidgets import QGraphicsItem

    from simulator.gui.common import PIXMAP_CACHE_KB

    c = ContourView(session)
    qtbot.addWidget(c)
    cached = QGraphicsItem.CacheMode.DeviceCoordinateCache
    for lane in session.lanes:
        assert c.lane_item(lane.uid).cacheMode() == cached
    assert c.image.cacheMode() == cached and c.start_item.cacheMode() == cached
    assert QPixmapCache.cacheLimit() >= PIXMAP_CACHE_KB


def test_trail_bounds_from_prefix_extremes_match_a_scan(qtbot):
    import pyqtgraph as pg

    from simulator.gui.views.contour import TrailItem

    rng = np.random.default_rng(3)
    path = rng.normal(size=(300, 2)).cumsum(axis=0)
    path[40:45] = np.nan  # clipped far points are gaps
    trail = TrailItem()
    trail.set_path(path)
    plain = pg.PlotCurveItem(connect="finite")
    for k in (0, 1, 39, 42, 120, 299):
        trail.set_trail(path, k)
        x, y = trail.trail_xy()
        np.testing.assert_array_equal(np.column_stack([x, y]), path[: k + 1])
        plain.setData(*trail.getData())  # the cached part: its bounds are the item's
        for ax in (0, 1):
            assert trail.dataBounds(ax) == pytest.approx(plain.dataBounds(ax))


@pytest.mark.parametrize("width", [1.0, 2.6])
def test_line_item_draws_what_pyqtgraphs_curve_draws(qtbot, width):
    """LineItem against its reference, PlotCurveItem(connect="finite"): the same data,
    bounds and pixels, gaps where points are not finite."""
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPainter

    from simulator.gui.common import LineItem

    rng = np.random.default_rng(7)
    x = np.arange(400.0)
    y = rng.normal(size=400).cumsum()
    y[100:103] = np.nan  # a gap
    y[250] = np.inf  # a lone bad point
    y[399] = np.nan  # a trailing gap
    pw = pg.PlotWidget()
    qtbot.addWidget(pw)
    pw.resize(500, 300)
    pw.setXRange(0, 400, padding=0)
    pw.setYRange(np.nanmin(y[np.isfinite(y)]), np.nanmax(y[np.isfinite(y)]), padding=0.05)
    pw.show()
    qtbot.waitExposed(pw)

    def draw(item):
        pw.addItem(item)
        item.setPen(pg.mkPen("#ff0000", width=width))
        item.setData(x, y)
        img = QImage(pw.size(), QImage.Format.Format_ARGB32)
        img.fill(0)
        painter = QPainter(img)
        pw.render(painter)
        painter.end()
        pw.removeItem(item)
        bits = img.constBits()
        return np.frombuffer(bits, np.uint8).reshape(img.height(), img.width(), 4).copy()

    line, ref = LineItem(), pg.PlotCurveItem(connect="finite", skipFiniteCheck=False)
    mine, theirs = draw(line), draw(ref)
    red = lambda a: (a[..., 2] > 200) & (a[..., 1] < 80)  # noqa: E731 - BGRA
    assert red(theirs).sum() > 400 * width
    # the same pixels
    assert (red(mine) ^ red(theirs)).sum() <= 0.002 * red(theirs).sum()
    # nothing is drawn across the gap: columns of steps 100-103 stay empty
    plot_x = [round(pw.plotItem.vb.mapViewToScene(pg.Point(v, 0)).x()) for v in (100.5, 102)]
    assert not red(mine)[:, plot_x[0] + 1 : plot_x[1]].any()
    ok = np.isfinite(y)  # the bounds of what is drawn
    assert line.dataBounds(0) == (x[ok].min(), x[ok].max())
    assert line.dataBounds(1) == (y[ok].min(), y[ok].max())
    gx, gy = line.getData()
    assert np.array_equal(gx, x) and np.array_equal(gy, y, equal_nan=True)
    assert len(line._parts) == 3  # 0-99, 103-249, 251-398
    assert line.implements("plotData") and line.name() is None


def test_a_trail_redraws_its_cached_part_once_per_chunk(qtbot):
    from simulator.gui.views.contour import TrailItem

    path = np.column_stack([np.arange(500.0), np.arange(500.0) ** 0.5])
    trail = TrailItem(offset=5)
    trail.set_path(path)
    cached_sets = []
    orig = trail.setData
    trail.setData = lambda *a, **k: (cached_sets.append(len(a[0])), orig(*a, **k))[1]
    for k in range(0, 300):
        trail.set_trail(path, k)
        x, _ = trail.trail_xy()
        assert len(x) == k + 1 and x[-1] == k
        assert len(trail.head.getData()[0]) <= TrailItem.CHUNK + 1
    # the cached part changed at steps 5, 69, 133, 197, 261 (and 0 at the start)
    assert cached_sets == [1, 6, 70, 134, 198, 262]


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


def test_peak_decimation_keeps_every_extreme_and_gap():
    from simulator.gui.views.plots import peak_decimate

    rng = np.random.default_rng(5)
    y = rng.normal(size=1001)
    y[300:340] = np.nan  # a diverged stretch stays a gap
    y[777] = 50.0  # a spike survives
    x, d = peak_decimate(y, 0, len(y), width_px=100)
    assert len(d) <= 2 * 100 + 2 * 5 + 1  # about two points per pixel column
    assert np.nanmax(d) == 50.0 and np.nanmin(d) == np.nanmin(y)
    # a plain reference: per block of ds steps, its min then its max, then the steps
    # left over as they are; short blocks (ds <= 64) and long ones take different paths
    long = np.r_[y, rng.normal(size=19000)]
    for v, i0, width in ((y, 0, 100), (long, 7, 100)):
        x, d = peak_decimate(v, i0, len(v), width_px=width)
        ds = (len(v) - i0) // width
        nb = (len(v) - i0) // ds
        for b in range(nb):
            blk = v[i0 + b * ds : i0 + (b + 1) * ds]
            lo, hi = d[2 * b], d[2 * b + 1]
            if np.isnan(blk).all():
                assert np.isnan(lo) and np.isnan(hi)
            else:
                assert lo == np.nanmin(blk) and hi == np.nanmax(blk)
            assert x[2 * b] == i0 + b * ds and x[2 * b + 1] == i0 + b * ds + ds - 1
        rest = i0 + nb * ds
        assert np.array_equal(x[2 * nb :], np.arange(rest, len(v)))
        assert np.array_equal(d[2 * nb :], v[rest:], equal_nan=True)
    # few points: drawn as they are
    x, d = peak_decimate(y, 10, 60, width_px=400)
    assert np.array_equal(x, np.arange(10, 60)) and np.array_equal(d, y[10:60], equal_nan=True)
    # rows (one series each) are reduced exactly as each on its own, on both paths
    rows = np.stack([long, long[::-1], np.full(len(long), np.nan)])
    for i0, width in ((0, 100), (7, 100), (3, 5000), (10, 400)):
        x, d = peak_decimate(rows, i0, rows.shape[1], width_px=width)
        for r in range(len(rows)):
            x1, d1 = peak_decimate(rows[r], i0, rows.shape[1], width_px=width)
            assert np.array_equal(x, x1) and np.array_equal(d[r], d1, equal_nan=True)


def test_plots_draw_lanes_together_as_each_alone(qtbot, session):
    """The lanes' curves are set together (rows of one array, a group per run length);
    each lane's curves and bounds are what it gets on its own: a diverged lane (a
    shorter run) and a converging one, log and linear axes."""
    from simulator.gui.session import PRESETS

    for name in [n for n in PRESETS if n != "Newton"][:4]:
        session.add_preset(name)
    session.update_lane(1, lr=50.0)  # diverges: its run stops early
    session.flush()
    runs = session.results
    lengths = [len(r.losses) for r in runs.values()]
    assert len(set(lengths)) > 1 and len(set(lengths)) < len(lengths) - 1  # groups
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    p.resize(700, 250)
    p.show()
    qtbot.waitExposed(p)
    for log in (True, False):
        p.log_check.setChecked(log)
        p._drawn.clear()  # every lane drawn again, together (as after a start drag)
        p._on_trajectories_changed()
        together = {
            uid: ({k: it.getData() for k, it in items.items()}, dict(p._bounds[uid]))
            for uid, items in p._curves.items()
        }
        floor = p._drawn[session.lanes[0].uid][1][1]
        for lane in session.lanes:
            p._set_curves([(lane.uid, p._curves[lane.uid], runs[lane.uid])], log, floor)
            data, bounds = together[lane.uid]
            for key, it in p._curves[lane.uid].items():
                assert np.array_equal(p._bounds[lane.uid][key], bounds[key], equal_nan=True)
                (xa, ya), (xb, yb) = data[key], it.getData()
                assert np.array_equal(xa, xb) and np.array_equal(ya, yb, equal_nan=True)
                assert len(it.series) == len(runs[lane.uid].losses) - (key == "lr")


def test_plot_curves_follow_a_zoom(qtbot, session):
    session.set_training(steps=5000)
    session.flush()
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    p.resize(900, 250)
    p.show()
    qtbot.waitExposed(p)
    curve = p.curve(session.lanes[0].uid, "grad")
    full = len(curve.getData()[0])
    assert full < 5000 / 2  # decimated to the plot's width
    p.loss_plot.setXRange(100, 140, padding=0)  # zoomed in: every step of the window
    x, _ = curve.getData()
    assert x[0] <= 100 and x[-1] >= 140 and np.all(np.diff(x) == 1)
    assert len(curve.getOriginalDataset()[1]) == 5001


def test_loss_without_a_known_minimum_is_drawn_on_a_symmetric_log_axis(qtbot, session):
    from simulator.core.plotmath import symlog
    from simulator.core.scene import load_scene

    p = PlotsPanel(session)
    qtbot.addWidget(p)
    p.resize(900, 250)
    assert p.loss_mode == "gap" and "L - L*" in p.loss_plot.titleLabel.text  # rosenbrock
    session.load_scene(load_scene("saddle"))  # unbounded below: escaping lanes diverge
    session.flush()
    qtbot.waitUntil(lambda: p.loss_mode == "symlog", timeout=3000)
    assert "symmetric log" in p.loss_plot.titleLabel.text
    assert "no finite minimum" in p.note.text() and "L* =" not in p.note.text()
    axis = p.loss_plot.getAxis("left")
    c = axis.linthresh
    assert c > 0 and not p.loss_plot.getViewBox().state["logMode"][1]
    for lane in session.lanes:
        run = session.results[lane.uid]
        drawn = p.curve(lane.uid, "loss").values
        ok = np.isfinite(run.losses) & (np.abs(run.losses) < 1e150)
        # the loss itself, not a gap to -5e12: every lane's own ups and downs
        np.testing.assert_allclose(drawn[ok], symlog(run.losses[ok], c), rtol=1e-12)
    lows = [np.nanmin(p.curve(lane.uid, "loss").values) for lane in session.lanes]
    assert min(lows) < -5 and max(lows) > -1  # the escapes fall; the stuck lane stays
    lo, hi = p._fitted["loss"]
    assert lo <= min(lows) and hi >= 0
    ticks = axis.tickValues(lo, hi, 200)[0][1]
    labels = axis.tickStrings(ticks, 1, 1)
    assert "0" in labels and any(s.startswith("-1e") for s in labels)
    p.log_check.setChecked(False)  # linear: the loss, and said so
    assert p.loss_mode == "linear" and p.loss_plot.titleLabel.text.startswith("loss L")
    assert "symmetric" not in p.loss_plot.titleLabel.text


def _inside(rect, pts):
    x0, x1, y0, y1 = rect
    pts = np.asarray(pts, dtype=float).reshape(-1, 2)
    return (pts[:, 0] >= x0) & (pts[:, 0] <= x1) & (pts[:, 1] >= y0) & (pts[:, 1] <= y1)


def test_the_map_legend_moves_off_the_start_and_the_paths(qtbot, session):
    # a surface filling the view with the start in the top-left corner, where the
    # legend stood: it covered the start ("start" box on a drawn surface)
    session.set_surface(surface_from_expression("x**2 + y**2", domain=((-3, 3), (-3, 3))))
    session.set_start((-2.7, 2.7))
    session.flush()
    v = _shown_contour(qtbot, session)
    qtbot.waitUntil(lambda: not v._legend_timer.isActive(), timeout=2000)
    rect = v.legend_rect()
    assert v.legend_corner != "top-left"
    assert not _inside(rect, [session.start]).any()
    for run in session.results.values():
        assert not _inside(rect, run.positions).any()
    # the start moves to the bottom right: the legend may go back to the top left
    session.set_start((2.7, -2.7))
    session.flush()
    qtbot.waitUntil(lambda: not v._legend_timer.isActive(), timeout=2000)
    assert v.legend_corner == "top-left"
    assert not _inside(v.legend_rect(), [session.start]).any()


def test_optimizer_internals_overlay(qtbot, session):
    v = _shown_contour(qtbot, session)
    ov = v.internals
    i = next(j for j, lane in enumerate(session.lanes) if lane.optimizer.name == "Adam")
    session.select_lane(i)
    session.set_frame(30)
    assert ov.state is None and not ov.legend.isVisible()  # off by default: nothing drawn
    v.set_internals(True)
    run = session.results[session.lanes[i].uid]
    k = ov.state.step
    assert k == 30
    np.testing.assert_array_equal(ov.state.step_taken, run.positions[31] - run.positions[30])
    # every arrow starts at the lane's point; the step arrow points where the lane went
    for name in ("gradient", "momentum", "step"):
        x, y = _curve_data(ov.arrows[name])
        assert ov.arrows[name].isVisible()
        assert (x[0], y[0]) == pytest.approx(tuple(run.positions[30]), abs=1e-12)
    x, y = _curve_data(ov.arrows["step"])
    d = np.array([x[1] - x[0], y[1] - y[0]])
    cos = d @ ov.state.step_taken / (np.linalg.norm(d) * np.linalg.norm(ov.state.step_taken))
    assert cos == pytest.approx(1.0, abs=1e-9)
    assert ov.shape.isVisible() and ov.legend.isVisible()  # Adam: the per-coordinate steps
    session.set_frame(10_000)  # the last point has no update from it
    assert ov.state is None and not ov.shape.isVisible()
    session.set_frame(3)
    assert ov.state.step == 3
    v.set_internals(False)
    assert ov.state is None and not ov.legend.isVisible()
    assert not any(a.isVisible() for a in ov.arrows.values())
