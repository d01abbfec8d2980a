"""The explorer panel: streaming progress, cancel and restart, clicks, overlay, export."""

from __future__ import annotations

import numpy as np
import pytest

import simulator as sim
from simulator.core import maps as ex


@pytest.fixture
def session(qtbot):
    from simulator.gui.session import Session

    s = Session(default_scene=False)
    s.set_surface(sim.get_surface("two-wells"))
    s.add_lane(sim.SGD(lr=0.05), name="GD")
    s.add_lane(sim.SGD(lr=0.02, momentum=0.9), name="Momentum")
    s.set_start((-2.0, 2.0))
    return s


@pytest.fixture
def panel(qtbot, session):
    from simulator.gui.explorer_panel import ExplorerPanel
    from simulator.gui.views.contour import ContourView

    view = ContourView(session)
    qtbot.addWidget(view)
    p = ExplorerPanel(session, view)
    qtbot.addWidget(p)
    p.curvature_check.setChecked(False)  # these tests map the lane's own rate
    p.steps.setValue(300)
    p.resolution.setValue(64)
    p.show()
    yield p
    p.shutdown()


def test_basin_map_streams_rows_with_progress(qtbot, panel):
    updates = []
    panel.map_updated.connect(lambda d, t: updates.append((d, t)))
    with qtbot.waitSignal(panel.job_finished, timeout=30000) as blocker:
        panel.restart()
    assert blocker.args == [True]
    bm = panel.maps[0]
    assert isinstance(bm, ex.BasinMap) and bm.complete and bm.resolution == (64, 64)
    assert updates[-1] == (64, 64)
    assert panel.progress.value() == panel.progress.maximum()
    # the same map as the core computes
    ref = ex.basin_map(bm.surface, sim.SGD(lr=0.05), 64, 300)
    assert np.array_equal(bm.labels, ref.labels)
    # legend with shares, overlay on the 2-D view
    assert "minimum 1" in panel.legends[0].text() and "%" in panel.legends[0].text()
    ov = panel.overlay_item()
    assert ov is not None and ov.isVisible() and ov.image.shape[:2] == (64, 64)
    panel.overlay_check.setChecked(False)
    assert not ov.isVisible()


def test_progress_streams_partial_rows(qtbot, panel):
    panel.resolution.setValue(256)
    panel.steps.setValue(2000)
    seen = []
    panel.map_updated.connect(lambda d, t: seen.append(d))
    with qtbot.waitSignal(panel.job_finished, timeout=60000):
        panel.restart()
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 256


def test_cancel_keeps_partial_map(qtbot, panel):
    panel.resolution.setValue(256)
    panel.steps.setValue(20000)  # long: about 1.3 G particle-steps
    first = []
    panel.map_updated.connect(lambda d, t: first.append(d))
    with qtbot.waitSignal(panel.map_updated, timeout=60000):
        panel.restart()
    panel.cancel()
    assert not panel.cancel_button.isEnabled()
    assert "cancel" in panel.progress.format().lower()
    qtbot.wait(300)
    panel.worker.wait(30000)
    bm = panel.maps[0]
    assert not bm.complete
    assert np.all(bm.labels[bm.rows_done:] == ex.NOT_COMPUTED)
    assert panel.progress.value() < panel.progress.maximum()


def test_setting_change_cancels_and_restarts(qtbot, panel):
    panel.steps.setValue(20000)
    panel.resolution.setValue(256)
    with qtbot.waitSignal(panel.map_updated, timeout=60000):
        panel.restart()
    gen = panel._gen
    # a change: the running job is cancelled and, after the debounce, a new one starts
    panel.steps.setValue(200)
    panel.resolution.setValue(32)
    with qtbot.waitSignal(panel.job_finished, timeout=60000,
                          check_params_cb=lambda ok: ok is True):
        pass
    assert panel._gen == gen + 1  # both changes coalesced into one restart
    assert panel.maps[0].resolution == (32, 32) and panel.maps[0].steps == 200


def test_compare_two_lanes_side_by_side(qtbot, panel):
    panel.compare.setCurrentIndex(panel.compare.findText("Momentum"))
    with qtbot.waitSignal(panel.job_finished, timeout=30000):
        panel.restart()
    a, b = panel.maps
    assert a.optimizer.momentum == 0.0 and b.optimizer.momentum == 0.9
    assert panel.plots[1].plot.isVisible()
    assert "minimum" in panel.legends[1].text()
    assert not np.array_equal(a.labels, b.labels)


def _hyper(qtbot, panel, session):
    panel.mode.setCurrentIndex(panel.mode.findData("hyper"))
    session.set_surface(sim.get_surface("quadratic"))
    session.set_start((1.0, 1.0))
    panel.resolution.setValue(12)
    panel.set_hyper_axes("lr", 0.01, 10.0, True, "momentum", 0.0, 0.9, False)
    with qtbot.waitSignal(panel.job_finished, timeout=30000):
        panel.restart()
    return panel.maps[0]


def test_hyper_map_click_loads_hyperparameters(qtbot, panel, session):
    hm = _hyper(qtbot, panel, session)
    assert isinstance(hm, ex.HyperMap) and hm.complete and hm.log_x
    assert hm.boundary  # quadratic + SGD: the heavy-ball boundary is drawn
    bx, by = hm.boundary[0]
    assert np.allclose(bx, 2 * (1 + by) / 2.0)
    assert panel.plots[0].boundary.xData is not None
    # click in the middle of cell (i, j) = (3, 5), in plot coordinates (log10 lr)
    i, j = 3, 5
    panel.click_at(hm, np.log10(hm.values_x[i]), hm.values_y[j])
    lane = session.lanes[0]
    assert lane.optimizer.lr == pytest.approx(hm.values_x[i])
    assert lane.optimizer.momentum == pytest.approx(hm.values_y[j])
    assert "Loaded" in panel.info.text()
    # the lane's run now matches the map's cell
    run = sim.simulate(session.surface, lane.optimizer, (1.0, 1.0), hm.steps)
    assert run.status == hm.status[j, i]


def _drawn_tick_text(axis) -> list[str]:
    """The tick labels the axis would paint now (pyqtgraph's own draw specs)."""
    from PySide6.QtGui import QImage, QPainter

    img = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(img)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [t[2] for t in texts if t[2]]


def _label_text(axis) -> str:
    import re

    return re.sub(r"<[^>]*>", "", axis.labelString()).replace("&nbsp;", " ").strip()


def test_hyper_log_axis_labels_the_real_learning_rates(qtbot, panel, session):
    from simulator.gui.explorer_panel import _value_text

    _hyper(qtbot, panel, session)  # lr 0.01 .. 10 on a log axis, momentum linear
    plot = panel.plots[0].plot
    bottom, left = plot.getAxis("bottom"), plot.getAxis("left")
    plot.resize(600, 400)
    qtbot.wait(50)
    # one scaling only: the label names the log scale, with no SI factor like (x0.001)
    assert _label_text(bottom) == "learning rate (log scale)"
    ticks = _drawn_tick_text(bottom)
    # the decades in 0.01 .. 10, written as learning rates (not 10^1, not 0.1 of x0.001)
    assert {"0.01", "0.1", "1", "10"} <= set(ticks), ticks
    assert not any("^" in t for t in ticks)
    for t in ticks:
        assert 0.005 <= float(t) <= 20.0, ticks  # every label is a learning rate in range
    # the linear momentum axis keeps plain numbers between 0 and 0.9
    assert _label_text(left) == "momentum"
    assert all(-0.1 <= float(t) <= 1.0 for t in _drawn_tick_text(left))
    assert [_value_text(v) for v in (1e-4, 1e-3, 0.01, 0.1, 2e-5, 1e5)] == \
        ["1e-4", "0.001", "0.01", "0.1", "2e-5", "1e5"]


def test_hyper_click_via_mouse(qtbot, panel, session):
    from PySide6.QtCore import QPoint, Qt

    hm = _hyper(qtbot, panel, session)
    vb = panel.plots[0].plot.getViewBox()
    i, j = 8, 2
    scene = vb.mapViewToScene(pg_point(np.log10(hm.values_x[i]), hm.values_y[j]))
    pos = panel.graphics.mapFromScene(scene)
    qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(int(pos.x()), int(pos.y())))
    lane = session.lanes[0]
    assert lane.optimizer.lr == pytest.approx(hm.values_x[i])
    assert lane.optimizer.momentum == pytest.approx(hm.values_y[j])


def pg_point(x, y):
    from PySide6.QtCore import QPointF

    return QPointF(float(x), float(y))


def test_hyper_noise_and_betas_click(qtbot, panel, session):
    session.add_lane(sim.Adam(lr=0.05), name="Adam")
    panel.lane.setCurrentIndex(panel.lane.findText("Adam"))
    panel.mode.setCurrentIndex(panel.mode.findData("hyper"))
    panel.resolution.setValue(8)
    panel.set_hyper_axes("beta1", 0.0, 0.9, False, "noise", 0.0, 1.0, False)
    with qtbot.waitSignal(panel.job_finished, timeout=30000):
        panel.restart()
    hm = panel.maps[0]
    assert (hm.param_x, hm.param_y) == ("beta1", "noise")
    assert panel.load_cell(2, 3)
    lane = next(la for la in session.lanes if la.name == "Adam")
    assert lane.optimizer.betas == (pytest.approx(hm.values_x[2]), 0.999)
    assert lane.noise == pytest.approx(hm.values_y[3])


def test_basin_click_moves_start(qtbot, panel, session):
    with qtbot.waitSignal(panel.job_finished, timeout=30000):
        panel.restart()
    panel.click_at(panel.maps[0], 1.5, -2.0)
    assert session.start[0] == pytest.approx(1.5, abs=0.1)
    assert session.start[1] == pytest.approx(-2.0, abs=0.1)


def test_export_png_and_csv(qtbot, panel, tmp_path):
    panel.compare.setCurrentIndex(panel.compare.findText("Momentum"))
    with qtbot.waitSignal(panel.job_finished, timeout=30000):
        panel.restart()
    files = panel.export_png(str(tmp_path / "basins.png"))
    assert [f.rsplit("/", 1)[1] for f in files] == ["basins.png", "basins-2.png"]
    files = panel.export_csv(str(tmp_path / "basins.csv"))
    text = (tmp_path / "basins-2.csv").read_text()
    assert '"momentum": 0.9' in text and text.count("\n") > 64 * 64


def test_main_window_menu_opens_explorer(qtbot):
    from simulator.gui.explorer_panel import show_explorer
    from simulator.gui.main_window import MainWindow

    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    titles = [a.text().replace("&", "") for a in w.menuBar().actions()]
    assert "Explore" in titles and titles.index("Explore") < titles.index("Help")
    w.show()
    w.act_hyper_map.trigger()
    panel = w.explorer_panel
    assert panel.kind == "hyper" and w.dock_explorer.isVisible()
    assert show_explorer(w, "basin") is panel and panel.kind == "basin"
    panel.resolution.setValue(16)
    panel.steps.setValue(50)
    with qtbot.waitSignal(panel.job_finished, timeout=30000):
        panel.restart()
    panel.shutdown()


def test_stop_waits_for_a_map_that_cannot_be_interrupted(qtbot, monkeypatch, capsys):
    """A first map compiles the batch kernel, which no cancel reaches: stop() returned
    after its time limit with the thread still running, and a QThread destroyed while
    it runs aborts the whole process (quitting during a first basin map)."""
    import threading
    import time

    from simulator.gui.explorer_panel import BASIN, ExplorerWorker, Job

    started = threading.Event()
    basin_map = ex.basin_map

    def compiling(*args, **kwargs):  # deaf to cancel, as numba's compiler is
        started.set()
        time.sleep(0.6)
        return basin_map(sim.get_surface("two-wells"), sim.SGD(lr=0.05), (4, 4), 3)

    monkeypatch.setattr(ex, "basin_map", compiling)
    worker = ExplorerWorker()
    monkeypatch.setattr(worker, "STOP_WAIT_MS", 50)
    run = {"optimizer": sim.SGD(lr=0.05), "schedule": None, "noise": 0.0, "seed": 0,
           "clip_grad_norm": None, "batch_size": None}
    worker.submit(Job(BASIN, 1, sim.get_surface("two-wells"), [run], (4, 4), 3))
    assert started.wait(10)
    worker.stop()
    try:
        assert worker.isFinished()
        assert "compiling" in capsys.readouterr().err
    finally:
        worker.wait()  # never leave it running into the next test


def test_closing_the_window_ends_the_map_thread(qtbot, monkeypatch):
    """A window closed (and then deleted, as in tests and when the app quits) while a
    map is computing deleted the running thread with it: Qt aborts the process."""
    import threading
    import time

    from simulator.gui.explorer_panel import show_explorer
    from simulator.gui.main_window import MainWindow

    started = threading.Event()
    basin_map = ex.basin_map

    def slow(*args, **kwargs):
        started.set()
        time.sleep(0.5)
        return basin_map(*args, **kwargs)

    monkeypatch.setattr(ex, "basin_map", slow)
    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    w.show()
    panel = show_explorer(w, "basin")
    panel.resolution.setValue(16)
    panel.steps.setValue(20)
    panel.restart()
    assert started.wait(10)
    w.close()
    try:
        assert panel.worker.isFinished()
    finally:
        panel.worker.wait()


def test_first_basin_map_of_the_default_scene_shows_basins(qtbot):
    # the default scene (Rosenbrock, GD at lr 0.001) mapped for 1,000 steps was 95 %
    # "not converged"; the rate and the steps now come from the curvature
    from simulator.gui.explorer_panel import ExplorerPanel
    from simulator.gui.session import Session

    s = Session()
    s.flush()
    p = ExplorerPanel(s)
    qtbot.addWidget(p)
    p.resolution.setValue(32)
    p.show()
    assert p.curvature_check.isChecked() and p.lane.currentText() == "GD"
    try:
        with qtbot.waitSignal(p.job_finished, timeout=120000):
            p.restart()
        bm = p.maps[0]
        assert bm.optimizer.lr != s.lanes[0].optimizer.lr and bm.steps > 1000
        assert p.steps.value() == bm.steps and not p.steps.isEnabled()
        assert np.mean(bm.labels >= 0) > 0.5
        assert "from the curvature" in p.info.text()
        p.curvature_check.setChecked(False)  # the lane's own rate again, steps editable
        assert p.steps.isEnabled()
    finally:
        p.shutdown()


def test_network_hyper_map_lr_by_batch_size(qtbot):
    """On a network: no basin map; learning rate x batch size coloured by the final test
    loss, with progress and cancel; a cell equals a separate run and a click loads its
    rate and batch size into the lane."""
    from simulator.gui.explorer_panel import ExplorerPanel
    from simulator.gui.session import Session

    s = Session(default_scene=False)
    s.set_surface(sim.network("xor", hidden=(4,), n_train=24, n_test=24, seed=0))
    s.add_lane(sim.SGD(lr=0.5), name="GD")
    p = ExplorerPanel(s, None)
    qtbot.addWidget(p)
    p.show()
    try:
        assert p.kind == "hyper"
        assert not p.mode.model().item(p.mode.findData("basin")).isEnabled()
        assert (p.px.currentData(), p.py.currentData()) == ("lr", "batch_size")
        assert p.color_by.currentData() == "test_loss"
        assert (p.y_lo.value(), p.y_hi.value(), p.y_log.isChecked()) == (1.0, 24.0, True)
        assert p.resolution.value() == 8
        p.steps.setValue(20)
        with qtbot.waitSignal(p.job_finished, timeout=60000):
            p.restart()
        hm = p.maps[0]
        assert hm.complete and p.progress.value() == 1000
        np.testing.assert_array_equal(hm.values_y, [1, 2, 2, 4, 6, 10, 15, 24])
        run = sim.simulate(s.surface, sim.SGD(lr=hm.values_x[1]), s.surface.init, 20,
                           batch_size=6)
        assert hm.final_test_losses[4, 1] == run.test_losses[-1]
        assert p.colorbar.isVisible() and "test loss" in p.legends[0].text()
        assert "Lowest test loss" in p.info.text()
        assert "initial weights" in p.plots[0].plot.titleLabel.text
        p.load_cell(1, 4)
        assert s.lanes[0].batch_size == 6
        assert s.lanes[0].optimizer.lr == pytest.approx(hm.values_x[1])
        # cancel after the first row (from the worker thread, so no row can slip by):
        # the map stops there and keeps that row
        from PySide6.QtCore import Qt

        p.steps.setValue(25)
        p.worker.partial.connect(lambda *a: p.worker.cancel(),
                                 Qt.ConnectionType.DirectConnection)
        p.restart()
        qtbot.waitUntil(lambda: not p.worker.isRunning(), timeout=60000)
        qtbot.waitUntil(lambda: p.maps[0] is not None and p.maps[0].steps == 25,
                        timeout=10000)
        m = p.maps[0]
        assert m.rows_done == 1 and not m.complete
        assert np.isfinite(m.final_test_losses[0]).all()
        assert np.isnan(m.final_test_losses[1:]).all()
        # back to a surface: the basin map again, colour by final loss
        s.set_surface(sim.get_surface("quadratic"))
        assert p.mode.model().item(p.mode.findData("basin")).isEnabled()
        assert p.color_by.currentData() == "loss"
    finally:
        p.shutdown()


def test_lbfgs_basin_map_streams_progress(qtbot, session):
    # L-BFGS maps take a recorded run per start (about 1 ms each): the default chunk is
    # 512 starts for it, so a 64 x 64 map reports every 8 rows, not once at the end
    from simulator.gui.explorer_panel import ExplorerPanel

    session.add_lane(sim.LBFGS(), name="L-BFGS")
    p = ExplorerPanel(session)
    qtbot.addWidget(p)
    p.curvature_check.setChecked(False)
    p.lane.setCurrentText("L-BFGS")
    p.steps.setValue(40)
    p.resolution.setValue(64)
    p.show()
    updates = []
    p.map_updated.connect(lambda d, t: updates.append((d, t)))
    try:
        with qtbot.waitSignal(p.job_finished, timeout=120000) as blocker:
            p.restart()
        assert blocker.args == [True]
        bm = p.maps[0]
        assert bm.optimizer.name == "LBFGS" and bm.complete and bm.chunk == 8
        assert sorted({d for d, _ in updates}) == list(range(8, 65, 8))
        ref = ex.basin_map(bm.surface, sim.LBFGS(), 64, 40)
        assert np.array_equal(bm.labels, ref.labels)
    finally:
        p.shutdown()
