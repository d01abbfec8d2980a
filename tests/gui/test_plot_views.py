"""The loss, gradient and learning-rate plots (PlotsPanel) and the schedule preview:
one curve per lane, y ranges that stay put for small edits, drawing costs."""

from __future__ import annotations

import numpy as np
import pytest
from view_helpers import curve_data

from simulator.core.library import get_surface
from simulator.gui.views import ContourView, PlotsPanel


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
    x, y = curve_data(p.curve(session.lanes[0].uid, "lr"))
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
        x, y = curve_data(p.curve(lane.uid, "lr"))
        np.testing.assert_allclose(y, run.learning_rates)
        x, _ = curve_data(p.curve(lane.uid, "grad"))
        assert len(x) == len(run.losses)
    session.set_frame(42)
    assert p.frame_lines["loss"].value() == 42
    p.log_check.setChecked(False)
    lane = session.lanes[0]
    _, y = curve_data(p.curve(lane.uid, "loss"))
    np.testing.assert_allclose(y, session.results[lane.uid].losses)


def test_plots_follow_lane_removal(qtbot, session):
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    uid = session.lanes[-1].uid
    session.remove_lane(len(session.lanes) - 1)
    session.flush()
    assert uid not in p._curves


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
            a, b = curve_data(p.curve(lane.uid, key)), curve_data(p2.curve(lane.uid, key))
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


def test_plots_keep_their_y_range_for_a_small_edit_and_respect_a_user_zoom(qtbot, session):
    p = PlotsPanel(session)
    qtbot.addWidget(p)
    vb = p.loss_plot.getViewBox()
    before = vb.viewRange()[1]
    lo, hi = p._fitted["loss"]
    assert lo == int(lo) and hi == int(hi)  # whole decades on the log axis
    # every finite point of every curve is inside the range
    for items in p._curves.values():
        _, y = curve_data(items["loss"])
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
