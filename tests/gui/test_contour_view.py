"""The 2-D map (ContourView) redraws from the real Session, moves its start point and
marks critical points; its trails are cached and redrawn a chunk at a time."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from view_helpers import curve_data, scatter_xy, shown_contour

from simulator.core.expressions import surface_from_expression
from simulator.core.library import get_surface
from simulator.core.optimizers import SGD
from simulator.core.plotmath import clip_far, lane_step
from simulator.gui.analysis_cache import critical_points
from simulator.gui.views import ContourView


def test_contour_draws_surface_and_paths(qtbot, session):
    v = ContourView(session)
    qtbot.addWidget(v)
    v.resize(600, 500)
    img = v.image.image
    assert img is not None and img.shape == (200, 200)
    assert len(curve_data(v.contours)[0]) > 100
    assert v.plot.getAxis("bottom").labelText == session.surface.variables[0]
    for lane in session.lanes:
        run = session.results[lane.uid]
        x, y = v.lane_item(lane.uid).trail_xy()
        k = lane_step(run, session.frame)
        assert len(x) == k + 1
        np.testing.assert_allclose(x[-1], run.positions[k, 0])
    # Rosenbrock's minimum (1, 1) is marked
    mx, my = scatter_xy(v._cp_items["minimum"])
    assert np.any(np.hypot(mx - 1.0, my - 1.0) < 1e-3)


def test_the_legend_lists_the_kinds_of_point_shown(qtbot, session):
    from simulator.gui.analysis_cache import critical_points

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
            assert (len(scatter_xy(v._cp_items[kind])[0]) > 0) == (kind in kinds)


def test_a_picked_surfaces_contour_lines_follow_a_turn_later(qtbot, session):
    """The colour layer of a newly picked surface is drawn at once, its contour lines
    in a later turn (never the old surface's lines over the new colours)."""
    from simulator.core.contours import contour_segments
    from simulator.core.plotmath import contour_levels

    v = ContourView(session)
    qtbot.addWidget(v)
    session.set_surface(get_surface("himmelblau"))
    assert v.image.image is not None and len(curve_data(v.contours)[0]) == 0
    qtbot.waitUntil(lambda: len(curve_data(v.contours)[0]) > 100)
    xs, ys, values = v._grid
    t = v._scale(values)
    expect, _ = contour_segments(t, xs, ys, contour_levels(t))
    np.testing.assert_array_equal(curve_data(v.contours)[0], expect)
    v.log_check.toggle()  # a toggle redraws the lines at once
    assert len(curve_data(v.contours)[0]) > 100


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
    sx, sy = scatter_xy(v.start_item)
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

    v = shown_contour(qtbot, session)
    paints = []

    class Count(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt API
            if ev.type() == QEvent.Type.Paint:
                paints.append(ev.rect())
            return False

    from simulator.gui.analysis_cache import critical_points

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
            assert scatter_xy(v.start_item)[0][0] != pytest.approx(p[0])  # not yet
            qtbot.waitUntil(lambda: not session.pending)
            qtbot.waitUntil(lambda: len(paints) >= 1)
            qtbot.wait(30)
            assert len(paints) == 1, (i, paints)
            sx, sy = scatter_xy(v.start_item)
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
    v = shown_contour(qtbot, session)
    v.fit()
    got = []
    v.cursor_moved.connect(got.append)
    v._on_mouse_moved(v.view_to_scene(0.5, 0.5))
    assert got[-1] == pytest.approx([0.5, 0.5], abs=1e-6)
    assert "L =" in v.readout.text()
    v._emit_cursor(None)
    assert got[-1] is None


def test_eigen_arrows_follow_selected_lane(qtbot, session):
    v = shown_contour(qtbot, session)
    session.select_lane(1)
    session.set_frame(5)
    x, y = curve_data(v.eig_lines[0])
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
    assert len(curve_data(v.eig_lines[0])[0]) == 0
    assert not label.isVisible()  # no empty plate left behind
    v.eigen_check.setChecked(True)
    assert label.isVisible() and "\u03bb" in label.textItem.toPlainText()


def test_eigen_arrows_move_with_a_drag_and_are_exact_on_release(qtbot, session):
    from simulator.gui.panels import DRAG

    v = shown_contour(qtbot, session)
    session.select_lane(0)
    session.set_frame(5)
    calls = []
    v._analysis = lambda p, f=v._analysis: calls.append(1) or f(p)

    def centre():  # where the arrow is drawn: its data moved by the item's offset
        x, y = curve_data(v.eig_lines[0])
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
    kinds = {k: len(scatter_xy(it)[0]) for k, it in v._cp_items.items()}
    assert kinds["minimum"] == 4 and kinds["saddle"] == 4 and kinds["maximum"] == 1


def test_the_views_read_the_critical_points_the_core_found(qtbot, monkeypatch):
    """One cache of critical points, the core's: what ``find_critical_points`` found is
    the views' at once (no second search, no wait), and a surface whose search fails
    shows none without being searched again."""
    from simulator.core import critical_points as core_cp
    from simulator.gui.analysis_cache import critical_points_notifier

    surface = surface_from_expression("x**2 - y**2", domain=((-1, 1), (-1, 1)))
    found = core_cp.find_critical_points(surface)
    got = critical_points(surface, wait=False)
    assert got is not None and [c.position for c in got] == [c.position for c in found]
    assert surface not in critical_points_notifier().queued
    calls = []

    def boom(*args):
        calls.append(args)
        raise FloatingPointError("no")

    monkeypatch.setattr(core_cp, "_find_critical_points", boom)
    bad = surface_from_expression("x**2 + y**2", domain=((-1, 1), (-1, 1)))
    assert critical_points(bad, wait=True) == []
    assert critical_points(bad, wait=False) == [] and len(calls) == 1


def test_a_picked_surfaces_critical_points_are_searched_after_the_views_turns(qtbot, session):
    """The search (numpy in a worker thread) starts once the map, plots and mesh of a
    new surface have had their turns: beside them it made the GUI thread wait for the
    interpreter. The points are marked when it ends."""
    from simulator.gui.analysis_cache import CP_SEARCH_LATER_MS, critical_points_notifier
    from simulator.gui.views.plots import LATER_MS
    from simulator.gui.views.surface3d import NEW_SURFACE_MS

    v = ContourView(session)
    qtbot.addWidget(v)
    surface = surface_from_expression("x**3 - 3*x + y**2", domain=((-2, 2), (-2, 2)))
    session.set_surface(surface)
    notifier = critical_points_notifier()
    assert surface in notifier.queued and notifier.starter.isActive()  # not started yet
    assert CP_SEARCH_LATER_MS > max(LATER_MS, NEW_SURFACE_MS)  # after the plots and mesh
    qtbot.waitUntil(lambda: len(scatter_xy(v._cp_items["saddle"])[0]) == 1, timeout=5000)
    assert len(scatter_xy(v._cp_items["minimum"])[0]) == 1  # (1, 0); the saddle (-1, 0)
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
    from simulator.gui.marks import CP_AUTO_ALL

    v = ContourView(session)
    qtbot.addWidget(v)
    assert v.cp_mode == "auto"

    def counts():
        return {k: len(scatter_xy(it)[0]) for k, it in v._cp_items.items()}

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


def test_trails_and_static_layers_are_device_cached(qtbot, session):
    from PySide6.QtGui import QPixmapCache
    from PySide6.QtWidgets import QGraphicsItem

    from simulator.gui.plotting import PIXMAP_CACHE_KB

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
    v = shown_contour(qtbot, session)
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


# lr-probe: linear regression, whose lr = 1 lane jumps at once past the field's limit
@pytest.mark.parametrize("lab_id, escaping", [("saddle", 3), ("lr-probe", 0)])
def test_the_field_and_the_view_follow_paths_that_leave_the_domain(qtbot, session, lab_id,
                                                                   escaping):
    from simulator.core.plotmath import MAX_FIELD_FACTOR
    from simulator.core.scene import load_scene

    session.load_scene(load_scene(lab_id))
    session.flush()
    v = shown_contour(qtbot, session)
    dom = session.surface.domain
    far = [p for p in v._paths.values() if np.nanmax(np.abs(p)) > max(map(abs, sum(dom, ())))]
    assert far  # some lane leaves the domain
    off_domain = [p[np.isfinite(p).all(axis=1)] for p in far]
    old = v._grid
    # the old field is shown until the new one is ready (computed in a worker thread)
    assert v.field_domain == tuple(dom)
    qtbot.waitUntil(lambda: v.field_domain != tuple(dom), timeout=10000)
    assert v._grid is not old
    (x0, x1), (y0, y1) = v.field_domain
    for (lo, hi), (a, b) in zip(dom, v.field_domain, strict=True):
        w = hi - lo
        assert a <= lo and b >= hi  # the domain and more
        assert b - a <= MAX_FIELD_FACTOR * w + 1e-9  # within the limit
    xs, ys, _values = v._grid
    assert xs[0] == x0 and xs[-1] == x1 and ys[0] == y0 and ys[-1] == y1
    r = v.image.mapRectToView(v.image.boundingRect())
    assert r.left() <= x0 and r.right() >= x1
    # every path point within the limit is on the field and in view
    (vx0, vx1), (vy0, vy1) = v.viewbox.viewRange()
    for p in v._paths.values():
        p = p[np.isfinite(p).all(axis=1)]
        inside = ((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))
        q = p[inside]
        assert (q[:, 0] >= vx0).all() and (q[:, 0] <= vx1).all()
        assert (q[:, 1] >= vy0).all() and (q[:, 1] <= vy1).all()
    # steps of the escapes past the old domain's edge are now on the coloured field
    # (a lane that blows up at once may jump straight past the limit)
    seen = 0
    for p in off_domain:
        beyond = ~((p[:, 0] >= dom[0][0]) & (p[:, 0] <= dom[0][1])
                   & (p[:, 1] >= dom[1][0]) & (p[:, 1] <= dom[1][1]))
        on_field = ((p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1))
        seen += int((beyond & on_field).sum())
    assert seen >= escaping


def test_fit_to_paths_and_no_following(qtbot, session):
    from simulator.core.scene import load_scene

    session.load_scene(load_scene("saddle"))
    session.flush()
    v = ContourView(session)
    v.set_follow_paths(False)
    qtbot.addWidget(v)
    v.resize(600, 500)
    v.show()
    qtbot.waitExposed(v)
    qtbot.wait(400)
    assert v.field_domain == tuple(session.surface.domain)  # not followed
    v.fit_to_paths()  # asked for: the field grows and the view shows it
    want = v.paths_extent()
    assert want != tuple(session.surface.domain)
    qtbot.waitUntil(lambda: v.field_domain == want, timeout=10000)
    (vx0, vx1), (vy0, vy1) = v.viewbox.viewRange()
    assert vy1 >= want[1][1] and vy0 <= want[1][0]


def test_paths_extent_snaps_and_stays_within_the_limit():
    from simulator.core.plotmath import paths_extent

    dom = ((-2.0, 2.0), (-1.0, 1.0))
    assert paths_extent([np.array([[0.0, 0.0], [1.0, 0.5]])], dom) == dom
    ext = paths_extent([np.array([[0.0, 0.0], [2.3, 0.2], [np.inf, np.nan]])], dom)
    assert ext == ((-2.0, 3.0), (-1.0, 1.0))  # 2.3 -> the next quarter width: 3
    ext = paths_extent([np.array([[0.0, 0.0], [1e9, -1e9]])], dom)
    assert ext == ((-2.0, 8.0), (-4.0, 1.0))  # 4 widths around the centre at most


def test_optimizer_internals_overlay(qtbot, session):
    v = shown_contour(qtbot, session)
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
        x, y = curve_data(ov.arrows[name])
        assert ov.arrows[name].isVisible()
        assert (x[0], y[0]) == pytest.approx(tuple(run.positions[30]), abs=1e-12)
    x, y = curve_data(ov.arrows["step"])
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


def test_optimizer_internals_wait_for_the_end_of_a_drag(qtbot, session):
    from simulator.gui.drag import DRAG

    v = shown_contour(qtbot, session)
    ov = v.internals
    session.select_lane(0)
    session.set_frame(50)
    v.set_internals(True)
    assert ov.state is not None
    DRAG.set(True)
    try:
        lane = session.lanes[0]
        session.update_lane(0, optimizer=lane.optimizer.replace(lr=lane.optimizer.lr * 1.1))
        session.flush()
        assert ov.state is None  # a new run mid-drag: no replay per tick
    finally:
        DRAG.set(False)
    assert ov.state is not None and ov.state.step == 50  # drawn again on the release
