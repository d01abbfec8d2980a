"""The app on a network (issue 17, App): the Networks group and form, the loss plane
computed off the GUI thread, the data view, the plots and the diagnostics."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from simulator.core.network import Network
from simulator.gui.panels.network_form import NETWORK_LANES, parse_hidden

SMALL = dict(dataset="moons", hidden=(8,), n_train=64, n_test=64, seed=1)


@pytest.fixture
def window(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.session.flush()
    yield w
    w.animator.pause()


def _pick_network(window, **values):
    panel = window.surface_panel
    form = panel.network_form
    form.set_values({**SMALL, **values})
    form.apply()
    window.session.flush()
    return window.session.surface


def test_networks_group_lists_presets(window):
    tree = window.surface_panel.tree
    titles = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert "Networks" in titles
    g = tree.topLevelItem(titles.index("Networks"))
    assert g.childCount() >= 3 and not g.isHidden()
    assert all(g.child(j).toolTip(0) for j in range(g.childCount()))


def test_picking_a_network_in_the_tree_reaches_the_scene(window, qtbot):
    tree = window.surface_panel.tree
    titles = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    g = tree.topLevelItem(titles.index("Networks"))
    tree.setCurrentItem(g.child(0))
    window.session.flush()
    net = window.session.surface
    assert isinstance(net, Network) and net.dataset == "moons"
    assert window.surface_panel.network_form.isVisible()
    assert tuple(window.session.start) == tuple(net.init)
    # lanes race from the same initial weights, each with its own optimizer and batch
    lanes = window.session.lanes
    assert len(lanes) == len(NETWORK_LANES)
    assert [lane.batch_size for lane in lanes] == [None, 16, None, None]
    runs = [window.session.results[lane.uid] for lane in lanes]
    assert all(np.array_equal(r.positions[0], net.init) for r in runs)
    assert all(r.positions.shape[1] == net.n_params for r in runs)
    assert not np.allclose(runs[0].positions[-1], runs[1].positions[-1])


def test_form_values_reach_the_scene(window):
    net = _pick_network(window, dataset="xor", hidden=(6, 4), activation="relu",
                        label_noise=0.1, n_train=50, n_test=30, seed=3)
    assert net == Network(dataset="xor", hidden=(6, 4), activation="relu", n_train=50,
                          n_test=30, noise=0.2, label_noise=0.1, seed=3)
    # a second edit keeps the lanes (their rates and batch sizes)
    uids = [lane.uid for lane in window.session.lanes]
    window.session.update_lane(2, lr=0.05)
    window.session.flush()
    net2 = _pick_network(window, dataset="xor", hidden=(6, 4), activation="tanh",
                         n_train=50, n_test=30, seed=3)
    assert net2.activation == "tanh"
    assert [lane.uid for lane in window.session.lanes] == uids
    assert window.session.lanes[2].optimizer.lr == 0.05


def test_lane_batch_size_applies_to_networks(window):
    _pick_network(window)
    s = window.session
    s.select_lane(0)
    ed = window.lanes_panel.editor
    ed.show_lane(s.current_lane)
    assert ed.batch.isVisibleTo(ed)
    ed.batch.set_value(8)
    ed.batch.edited.emit(8)
    s.flush()
    assert s.results[s.lanes[0].uid].batch_size == 8


@pytest.mark.parametrize("field, text, words", [
    ("hidden", "16, a", "not a whole number"),
    ("hidden", "16, 16, 16, 16", "at most 3 hidden layers"),
    ("label_noise", "1.5", "label noise"),
    ("n_train", "0", "training points"),
    ("n_test", "ten", "test points"),
    ("seed", "-1", "seed"),
])
def test_bad_form_value_gives_a_message_and_keeps_the_scene(window, field, text, words):
    net = _pick_network(window)
    form = window.surface_panel.network_form
    getattr(form, field).setText(text)
    getattr(form, field).editingFinished.emit()
    window.session.flush()
    assert form.message.isVisibleTo(form)
    assert words in form.message.text().lower()
    assert window.session.surface is net


def test_parse_hidden():
    assert parse_hidden("") == ()
    assert parse_hidden("16") == (16,)
    assert parse_hidden(" 16, 8 ,") == (16, 8)
    with pytest.raises(ValueError, match="whole number"):
        parse_hidden("1.5")


def test_back_to_a_surface_hides_the_form(window):
    _pick_network(window)
    from simulator.core.library import get_surface

    window.session.set_surface(get_surface("rosenbrock"))
    panel = window.surface_panel
    assert not panel.network_form.isVisibleTo(panel)
    assert panel.domain_host.isVisibleTo(panel)


# ---- the loss plane -------------------------------------------------------------------
def test_plane_is_computed_off_the_gui_thread_and_drawn(window, qtbot, monkeypatch):
    import threading

    import simulator.gui.views.landscape as L

    threads = []
    real = L.compute_plane

    def spy(*a, **kw):
        threads.append(threading.current_thread())
        return real(*a, **kw)

    monkeypatch.setattr(L, "compute_plane", spy)
    net = _pick_network(window)
    view = window.landscape
    assert window.view_stack.currentWidget() is view
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not None, timeout=30000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    plane = view.plane
    assert plane.kind == "pca" and plane.losses.shape == (L.RESOLUTION, L.RESOLUTION)
    assert plane.center.shape == (net.n_params,)
    # every lane's projected path, and the explained variance in the title
    assert len(view.trails) == len(window.session.lanes)
    assert f"{plane.explained_variance[0]:.0%}" in view.title.text()
    assert view.image.image is not None
    # the markers follow the frame along the projected paths
    window.session.set_frame(0)
    start = view.marker_positions()
    window.session.set_frame(window.session.steps)
    end = view.marker_positions()
    assert np.allclose(start[0], plane.paths[0][0]) and np.allclose(end[0], plane.paths[0][-1])
    assert not np.allclose(start, end)


def test_switch_to_filter_directions_and_recentre(window, qtbot):
    _pick_network(window)
    view = window.landscape
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not None, timeout=30000)
    old = view.plane
    view.directions.setCurrentIndex(view.directions.findData("filter"))
    # the old plane stays until the new one is ready
    assert view.plane is old
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not old, timeout=30000)
    assert view.plane.kind == "filter" and view.plane.explained_variance is None
    assert "random" in view.title.text().lower()
    s = window.session
    s.select_lane(3)
    view.recentre.click()
    view.wait()
    qtbot.waitUntil(lambda: np.allclose(view.plane.center,
                                        s.results[s.lanes[3].uid].positions[-1]),
                    timeout=30000)
    assert s.lanes[3].name in view.title.text()


def test_a_lane_edit_recomputes_the_plane(window, qtbot):
    _pick_network(window)
    view = window.landscape
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not None, timeout=30000)
    old = view.plane
    window.session.update_lane(1, lr=0.02)
    window.session.flush()
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not old, timeout=30000)
    i = view.plane_uids.index(window.session.lanes[1].uid)
    assert len(view.plane.paths[i]) == window.session.steps + 1


def test_a_slider_drag_reruns_a_network_lane_off_the_gui_thread(window, qtbot, monkeypatch):
    # the lane's learning-rate slider dragged over five ticks while its first re-run is
    # held in the worker: the event loop keeps turning (the ticks arrive, the editor
    # follows), nothing runs on the GUI thread, the ticks in between are never run, the
    # held run (stale once the drag moved on) is never shown, and the views end on the
    # last value
    import threading

    from simulator.core import engine

    _pick_network(window)
    s = window.session
    s.select_lane(0)
    ed = window.lanes_panel.editor
    ed.show_lane(s.current_lane)
    field = ed._hp_fields["lr"]
    uid = s.lanes[0].uid
    net = s.surface
    gate = threading.Event()
    made = []  # (lr, on the GUI thread) of every run of the network
    real = engine.simulate

    def held(surface, opt, *a, **kw):
        if surface is net:
            made.append((opt.lr, threading.current_thread() is threading.main_thread()))
            assert gate.wait(20), "the held run was never released"
        return real(surface, opt, *a, **kw)

    monkeypatch.setattr(engine, "simulate", held)
    shown = []
    s.trajectories_changed.connect(lambda: shown.append(s.results[uid].optimizer.lr))
    slider = field.slider
    slider.setSliderDown(True)
    ticks = [slider.value() - d for d in (20, 40, 60, 80, 100)]  # smaller rates
    lrs = []
    for t in ticks:
        slider.setValue(t)
        lrs.append(s.lanes[0].optimizer.lr)
        qtbot.wait(30)  # a few event-loop turns: the recompute is due, the job submitted
        assert s.pending and s.running_in_background
    slider.setSliderDown(False)
    assert len(set(lrs)) == 5 and field.value() == lrs[-1]
    assert made == [(lrs[0], False)]  # the first tick's run, held in the worker
    assert shown == []  # the views keep the previous runs meanwhile
    gate.set()
    qtbot.waitUntil(lambda: not s.pending, timeout=60000)
    assert made == [(lrs[0], False), (lrs[-1], False)]  # ticks 2-4 coalesced away
    assert shown == [lrs[-1]]  # the stale first run was dropped
    run = s.results[uid]
    want = real(net, s.lanes[0].optimizer, s.effective(s.lanes[0])["start"], steps=s.steps,
                seed=s.seed, batch_size=s.effective(s.lanes[0])["batch_size"])
    assert np.array_equal(run.positions, want.positions)
    # the views follow the new run: the loss curve and the 2/lr line of the last value
    tr = window.network_plots.items["loss"][uid][0]
    assert np.array_equal(tr.yData, run.losses)
    edge = window.network_plots.items["sharp"][uid][1]
    assert edge.yData[0] == pytest.approx(2.0 / lrs[-1])


def test_picking_a_network_runs_its_lanes_in_the_background(window, qtbot, monkeypatch):
    # a first network compiles its kernels for seconds: picking one returns at once with
    # no runs (the views show none, never another surface's), the runs follow
    import threading

    from simulator.core import engine

    gate = threading.Event()
    threads = []
    real = engine.simulate

    def held(surface, *a, **kw):
        if isinstance(surface, Network):
            threads.append(threading.current_thread())
            assert gate.wait(20), "the held run was never released"
        return real(surface, *a, **kw)

    monkeypatch.setattr(engine, "simulate", held)
    s = window.session
    got = []
    s.trajectories_changed.connect(lambda: got.append(dict(s.results)))
    form = window.surface_panel.network_form
    form.set_values(SMALL)
    form.apply()
    net = s.surface
    assert isinstance(net, Network) and s.pending and s.results == {}
    assert got == [{}]  # the surface's runs were dropped at once, none made yet
    badges = window.lanes_panel.tree
    assert badges.topLevelItem(0).text(1) == "training\u2026"
    qtbot.wait(50)
    assert threads and threading.main_thread() not in threads
    gate.set()
    qtbot.waitUntil(lambda: not s.pending, timeout=60000)
    uids = [lane.uid for lane in s.lanes if lane.enabled]
    assert sorted(got[-1]) == sorted(uids) and all(r.surface is net for r in got[-1].values())
    assert badges.topLevelItem(0).text(1) not in ("training\u2026", "off")
    assert threading.main_thread() not in threads


def test_an_overtaken_rerun_keeps_the_runs_it_finished(qtbot, monkeypatch):
    # lanes 0 and 1 re-run together; an edit of lane 2 overtakes that re-run while lane
    # 1's run is held: lane 0's finished run is kept (its inputs are still the lane's),
    # lanes 1 and 2 run in the next re-run, and only its runs are shown
    import threading

    from simulator.core import engine
    from simulator.gui.session import Session

    s = Session()
    s.set_surface(Network(**SMALL))
    qtbot.waitUntil(lambda: not s.pending, timeout=60000)
    gate = threading.Event()
    made = []
    real = engine.simulate

    def held(surface, opt, *a, **kw):
        made.append(opt.lr)
        if opt.lr == 0.0123:
            assert gate.wait(20), "the held run was never released"
        return real(surface, opt, *a, **kw)

    monkeypatch.setattr(engine, "simulate", held)
    s.update_lane(0, lr=0.03)
    s.update_lane(1, lr=0.0123)
    qtbot.waitUntil(lambda: made == [0.03, 0.0123], timeout=30000)
    shown = []
    s.trajectories_changed.connect(
        lambda: shown.append([s.results[lane.uid].optimizer.lr for lane in s.lanes[:3]]))
    s.update_lane(2, lr=0.0456)
    qtbot.wait(50)
    gate.set()
    qtbot.waitUntil(lambda: not s.pending, timeout=60000)
    assert made.count(0.03) == 1 and sorted(made[1:]) == [0.0123, 0.0123, 0.0456]
    assert shown == [[0.03, 0.0123, 0.0456]]


def test_runs_progress_shows_a_long_rerun(window, qtbot, monkeypatch):
    import threading

    from simulator.core import engine

    _pick_network(window)
    s = window.session
    gate = threading.Event()
    real = engine.simulate
    monkeypatch.setattr(engine, "simulate", lambda *a, **kw: (gate.wait(20), real(*a, **kw))[1])
    s.update_lane(1, lr=0.03)
    s.update_lane(2, lr=0.004)
    bar = window.runs_progress
    qtbot.waitUntil(bar.isVisible, timeout=5000)  # after its delay, with the re-run held
    assert bar.label.text() == "Training lanes 0/2"
    gate.set()
    qtbot.waitUntil(lambda: not s.pending, timeout=60000)
    qtbot.waitUntil(lambda: not bar.isVisible(), timeout=5000)
    assert s.results[s.lanes[1].uid].optimizer.lr == 0.03
    assert s.results[s.lanes[2].uid].optimizer.lr == 0.004


def test_background_job_runs_the_latest_submission(qtbot):
    import threading

    from simulator.gui.background import BackgroundJob

    job = BackgroundJob()
    gate = threading.Event()
    ran, got = [], []
    job.done.connect(lambda key, result: got.append((key, result)))
    job.submit(1, lambda: (gate.wait(5), ran.append(1))[1])
    for k in (2, 3, 4):
        job.submit(k, lambda k=k: ran.append(k) or k * 10)
    assert job.busy
    gate.set()
    job.wait()
    assert ran == [1, 4] and got[-1] == (4, 40)
    job.submit(5, lambda: 1 / 0)
    job.wait()
    assert got[-1][0] == 5 and isinstance(got[-1][1], ZeroDivisionError)
    assert not job.busy


# ---- the data view --------------------------------------------------------------------
def test_data_view_shows_points_and_a_boundary_that_follows_the_frame(window, qtbot):
    net = _pick_network(window)
    view = window.data_view
    assert window.dock_data.isVisible()
    qtbot.waitUntil(view.isVisible, timeout=5000)
    n_train = sum(len(it.getData()[0]) for it in view.train_items)
    n_test = sum(len(it.getData()[0]) for it in view.test_items)
    assert (n_train, n_test) == (net.n_train, net.n_test)
    s = window.session
    s.select_lane(3)  # Adam
    s.set_frame(0)
    w0, b0 = view.weights.copy(), view.boundary.getData()
    assert np.array_equal(w0, net.init)
    s.set_frame(s.steps)
    w1, b1 = view.weights.copy(), view.boundary.getData()
    assert np.array_equal(w1, s.results[s.lanes[3].uid].positions[-1])
    assert len(b1[0]) > 0
    assert len(b0[0]) != len(b1[0]) or not np.allclose(b0[0], b1[0])
    assert "accuracy" in view.title.text()
    # back on a surface the view says what it is for
    from simulator.core.library import get_surface

    s.set_surface(get_surface("rosenbrock"))
    assert view.message.isVisibleTo(view) and not view.plot.isVisibleTo(view)


def test_class_image_is_pale_where_unsure():
    from simulator.gui.views.data_view import boundary_field, class_image

    P = np.array([[[0.5, 0.5], [0.0, 1.0]]])
    img = class_image(P)
    assert img.shape == (1, 2, 4)
    assert img[0, 0, :3].min() > img[0, 1, :3].min()  # the tie is paler
    assert boundary_field(P)[0, 0] == 0.0 and boundary_field(P)[0, 1] == 1.0


# ---- the plots ------------------------------------------------------------------------
def test_network_plots_have_one_curve_per_lane(window, qtbot, monkeypatch):
    import threading

    import simulator.gui.views.network_plots as NP

    threads = []
    real = NP.curvature_series
    monkeypatch.setattr(NP, "curvature_series", lambda *a: (
        threads.append(threading.current_thread()), real(*a))[1])
    _pick_network(window)
    plots = window.network_plots
    assert window.plots_stack.currentWidget() is plots
    plots.wait()
    n = len(window.session.lanes)
    qtbot.waitUntil(lambda: plots.lane_count("sharp") == n, timeout=60000)
    assert threads and threads[0] is not threading.main_thread()
    assert plots.lane_count("loss") == n and plots.lane_count("acc") == n
    # sharpness at a stride, the edge-of-stability line from the lane's learning rate
    s = window.session
    lane = s.lanes[0]
    lam, edge = plots.items["sharp"][lane.uid]
    x, y = lam.xData, lam.yData  # not getData(): log10 on a log axis
    assert len(x) == s.steps // NP.stride_for(s.steps) + 1
    from simulator.core.landscape import sharpness

    run = s.results[lane.uid]
    assert y[-1] == pytest.approx(sharpness(s.surface, run.positions[int(x[-1])]), rel=1e-4)
    ey = edge.yData
    assert ey[0] == pytest.approx(2.0 / lane.optimizer.lr)
    # back on a surface: the surface plots
    from simulator.core.library import get_surface

    s.set_surface(get_surface("rosenbrock"))
    assert window.plots_stack.currentWidget() is window.plots


def test_stability_threshold():
    import simulator as sim
    from simulator.gui.views.network_plots import stability_threshold

    t, ok = stability_threshold(sim.SGD(lr=0.1, momentum=0.9), np.array([0.1]))
    assert ok and t[0] == pytest.approx(38.0)
    t, ok = stability_threshold(sim.Adam(lr=0.01), np.array([0.01]))
    assert not ok and t[0] == pytest.approx(200.0)


# ---- diagnostics ----------------------------------------------------------------------
def test_diagnostics_for_a_network(window, qtbot):
    net = _pick_network(window)
    window.dock_diagnostics.show()
    window.dock_diagnostics.raise_()
    box = window.diagnostics_panel.network_box
    qtbot.waitUntil(box.isVisible, timeout=5000)
    assert not window.diagnostics_panel.lane_box.isVisible()
    s = window.session
    s.select_lane(0)
    s.set_frame(200)
    box.wait()
    qtbot.waitUntil(lambda: box.readout is not None and "step 200" in box.here.text(),
                    timeout=60000)
    from simulator.core.landscape import hessian_eigenvalues

    run = s.results[s.lanes[0].uid]
    want = hessian_eigenvalues(net, run.positions[200], k=3)
    assert np.allclose(box.readout["top"], want, rtol=1e-6)
    text = box.here.text()
    assert "2/&lambda;" in text and ("below" in text or "above" in text)
    # every lane's end compared, with a verdict naming the flattest
    rows = box.readout["ends"]
    assert [r["name"] for r in rows] == [lane.name for lane in s.lanes]
    flat = min(rows, key=lambda r: r["sharpness"])["name"]
    assert "flattest" in box.ends.text() and flat in box.ends.text()


def test_verdict_sentences():
    from simulator.gui.panels.network_box import verdict

    rows = [dict(name="A", sharpness=1.0, test_loss=0.2), dict(name="B", sharpness=5.0,
                                                               test_loss=0.3)]
    assert "<b>A</b>" in verdict(rows) and "best test loss" in verdict(rows)
    rows[1]["test_loss"] = 0.1
    v = verdict(rows)
    assert "<b>A</b> ended in the flattest" in v and "<b>B</b> has the best" in v


def test_step_table_of_a_network_run(window):
    _pick_network(window)
    s = window.session
    s.select_lane(0)
    window.diagnostics_panel._on_trajectories_changed()
    model = window.diagnostics_panel.model
    run = s.results[s.lanes[0].uid]
    assert model.columnCount() == 5 and model.rowCount() == len(run.losses)
    assert model.headerData(2, Qt.Orientation.Horizontal) == "test loss"
    assert float(model.text(3, 1)) == pytest.approx(run.losses[3], rel=1e-5)
    assert float(model.text(3, 2)) == pytest.approx(run.test_losses[3], rel=1e-5)


# ---- the plane in 3-D (the mesh's numbers; drawing it needs OpenGL: tests/gui/test_gl.py)
def test_paths_lie_on_the_plane_mesh():
    import simulator as sim
    from simulator.gui.views.landscape3d import HEIGHT, LIFT, path_on_mesh, plane_heights

    net = Network(**SMALL)
    run = sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=50)
    plane = sim.loss_plane(net, runs=[run], resolution=11)
    z, (lo, hi) = plane_heights(plane)
    assert z.shape == (11, 11) and z.min() >= 0 and z.max() == pytest.approx(HEIGHT)
    # a path point on a grid node gets that node's height; the mesh's square is [-1, 1]
    node = np.array([[plane.alphas[3], plane.betas[7]]])
    p = path_on_mesh(plane, node, z)
    assert p[0, 2] == pytest.approx(z[7, 3] + LIFT, abs=1e-6)
    assert p[0, 0] == pytest.approx(-1 + 2 * 3 / 10, abs=1e-6)
    pts = path_on_mesh(plane, plane.paths[0], z)
    assert pts.shape == (51, 3) and np.all(np.abs(pts[:, :2]) <= 1.0)


def test_a_diverged_lane_is_left_out_of_the_plane(window, qtbot):
    _pick_network(window)
    s = window.session
    s.update_lane(0, lr=200.0)
    s.flush()
    assert s.results[s.lanes[0].uid].status == "diverged"
    view = window.landscape
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not None and s.lanes[0].uid not in view.plane_uids,
                    timeout=30000)
    assert len(view.plane_uids) == len(s.lanes) - 1
    assert "left out" in view.status.text() and s.lanes[0].name in view.status.text()


def test_back_on_a_surface_the_network_views_let_go(window, qtbot):
    _pick_network(window)
    view = window.landscape
    view.wait()
    qtbot.waitUntil(lambda: view.plane is not None, timeout=30000)
    from simulator.core.library import get_surface

    window.session.set_surface(get_surface("rosenbrock"))
    window.session.flush()
    assert view.plane is None and not view.trails
    assert window.view_stack.currentWidget() is window.views_2d
    window.session.set_frame(3)  # nothing of the network follows a surface's frames
    assert window.network_plots.plots["loss"].frame_line.value() != 3


def test_a_saved_network_session_reopens_in_the_network_views(window, qtbot):
    net = _pick_network(window, dataset="circles", hidden=(5,), seed=2)
    s = window.session
    s.update_lane(1, batch_size=8)
    s.flush()
    d = s.to_dict()
    from simulator.core.library import get_surface

    s.set_surface(get_surface("rosenbrock"))
    s.load_dict(d)
    s.flush()
    assert s.surface == net and s.lanes[1].batch_size == 8
    form = window.surface_panel.network_form
    assert form.isVisibleTo(window.surface_panel) and form.build() == net
    assert window.view_stack.currentWidget() is window.landscape
    window.landscape.wait()
    qtbot.waitUntil(lambda: window.landscape.plane is not None, timeout=30000)


def test_a_minibatch_lane_records_once_an_epoch_and_the_views_read_its_steps(window):
    # lane 1 trains on batches of 16 of the 64 points: the app records its full-batch
    # losses every 4 steps (Scene.record_epochs); the plots draw them at those steps,
    # the step table leaves the steps between blank; the positions are every step's
    import simulator as sim

    net = _pick_network(window)
    s = window.session
    lane = s.lanes[1]
    assert lane.batch_size == 16
    run = s.results[lane.uid]
    assert run.record_steps[:3].tolist() == [0, 4, 8]
    assert run.record_steps[-1] == s.steps
    ref = sim.simulate(net, lane.optimizer, start=net.init, steps=s.steps, batch_size=16,
                       seed=s.seed, schedule=s.scene.effective(lane)["schedule"])
    assert np.array_equal(run.positions, ref.positions)
    assert np.array_equal(run.losses, ref.losses[run.record_steps])
    assert s.results[s.lanes[0].uid].record_steps is None  # full batch: every step
    plots = window.network_plots
    plots._draw_all()
    tr, te = plots.items["loss"][lane.uid]
    assert np.array_equal(tr.xData, run.record_steps)
    assert np.array_equal(te.xData, run.record_steps)
    # the hidden surface plots take the run too: a step per point, gaps between records
    window.plots._later.stop()  # drawn now, not in the next turn
    window.plots._on_trajectories_changed()
    series = window.plots.curve(lane.uid, "loss").series
    assert len(series) == len(run.positions)
    assert np.isfinite(series[run.record_steps]).all()  # (the loss, less L* on a log axis)
    assert np.isnan(np.delete(series, run.record_steps)).all()
    s.select_lane(1)
    window.diagnostics_panel._on_trajectories_changed()
    model = window.diagnostics_panel.model
    assert model.rowCount() == len(run.positions)
    assert model.text(3, 1) == model.text(3, 2) == model.text(3, 3) == ""
    assert model.text(3, 4) != ""  # the learning rate of every update
    assert float(model.text(4, 1)) == pytest.approx(run.losses[1], rel=1e-5)
    assert float(model.text(4, 2)) == pytest.approx(run.test_losses[1], rel=1e-5)
