"""The main window driven as a user would: keys, files, menus, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from simulator.core.library import get_surface
from simulator.gui import settings as st
from simulator.gui.main_window import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)
    w.session.flush()
    yield w
    w.animator.pause()


def test_title_and_default_scene(window):
    assert "LossLab" in window.windowTitle()
    assert len(window.session.lanes) == 4
    assert window.lanes_panel.tree.topLevelItemCount() == 4
    assert window.view_stack.currentWidget() is window.views_2d


def test_space_right_left_r_shortcuts(window, qtbot):
    s, an = window.session, window.animator
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert s.frame == 0 and not an.playing
    qtbot.keyClick(window, Qt.Key.Key_Right)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert s.frame == 2
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert s.frame == 1
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert an.playing
    qtbot.waitUntil(lambda: s.frame > 5, timeout=3000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not an.playing
    frozen = s.frame
    qtbot.wait(100)
    assert s.frame == frozen  # paused means paused
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert s.frame == 0
    assert window.transport.timeline.value() == 0
    assert window.transport.step_label.text().startswith("step 0 /")


def test_playback_stops_at_the_end_or_loops(window, qtbot):
    s, an = window.session, window.animator
    s.set_training(steps=30)
    an.set_speed(2000)
    an.reset()
    an.play()
    qtbot.waitUntil(lambda: not an.playing, timeout=3000)
    assert s.frame == 30
    an.set_loop(True)
    assert window.act_loop.isChecked()
    an.play()  # from the end: starts over
    qtbot.waitUntil(lambda: s.frame == 30, timeout=3000)
    qtbot.waitUntil(lambda: s.frame < 30, timeout=3000)  # looped
    assert an.playing
    an.pause()


def test_speed_controls(window):
    an = window.animator
    an.set_speed(100)
    window.act_faster.trigger()
    assert an.speed == 200
    window.act_slower.trigger()
    window.act_slower.trigger()
    assert an.speed == 50
    assert window.transport.speed.currentData() == 50


def test_timeline_scrubs_frames(window):
    window.transport.timeline.setValue(123)
    assert window.session.frame == 123


def test_session_file_round_trip(window, tmp_path):
    s = window.session
    s.set_surface(get_surface("ravine", condition=30.0))
    s.add_preset("Lion")
    s.update_lane(0, lr=0.05)
    s.flush()
    path = tmp_path / "scene.losslab.json"
    assert window.save_session_file(str(path))
    data = json.loads(path.read_text())
    assert data["format"] == "losslab-session" and data["version"] == 1
    saved = s.to_dict()
    window.new_scene()
    assert s.surface.name == "rosenbrock"
    assert window.open_session_file(str(path))
    assert s.to_dict() == saved
    assert window.file_path == str(path)
    assert "scene.losslab.json" in window.windowTitle()
    recent = st.Settings(st.SESSION).get_str_list(st.KEY_RECENT)
    assert recent and recent[0].endswith("scene.losslab.json")


@pytest.mark.parametrize(
    "content",
    [
        "{ not json",
        json.dumps({"format": "other-app", "version": 1}),
        json.dumps({"format": "losslab-session", "version": 1, "lanes": "x"}),
        "\x00\x01\x02",
    ],
)
def test_corrupt_session_file_shows_message_and_keeps_scene(window, tmp_path, content):
    s = window.session
    s.update_lane(1, lr=0.0002)
    s.flush()
    before = s.to_dict()
    positions = s.results[s.lanes[1].uid].positions.copy()
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert not window.open_session_file(str(path))
    box = window.last_message_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "bad.json" in box.text()
    box.close()
    assert s.to_dict() == before
    np.testing.assert_array_equal(s.results[s.lanes[1].uid].positions, positions)
    assert window.file_path is None


def test_missing_session_file_shows_message(window, tmp_path):
    assert not window.open_session_file(str(tmp_path / "nope.json"))
    assert window.last_message_box.isVisible()
    window.last_message_box.close()


def test_bad_learning_rate_entry_shows_message_and_keeps_value(window, qtbot):
    s = window.session
    panel = window.training_panel
    s.select_lane(0)
    lr = s.lanes[0].optimizer.lr
    entry = panel.lr_field.entry
    for bad in ("-0.1", "fast"):
        entry.setText(bad)
        entry.editingFinished.emit()
        assert panel.lr_field.error.isVisibleTo(panel)
        assert panel.lr_field.error.text()
        s.flush()
        assert s.lanes[0].optimizer.lr == lr
    # a huge rate is legitimate: it is accepted and the lane diverges
    entry.setText("1e9")
    entry.editingFinished.emit()
    assert not panel.lr_field.error.isVisibleTo(panel)
    s.flush()
    assert s.lanes[0].optimizer.lr == 1e9
    assert s.results[s.lanes[0].uid].status == "diverged"
    window.lanes_panel._update_badges()
    assert "diverged" in window.lanes_panel.tree.topLevelItem(0).text(1)


def test_learning_rate_slider_reshapes_the_path(window):
    s = window.session
    s.select_lane(3)
    before = s.results[s.lanes[3].uid].positions[-1].copy()
    slider = window.training_panel.lr_field.slider
    slider.setValue(slider.value() - 150)
    s.flush()
    assert s.lanes[3].optimizer.lr < 0.05
    assert not np.allclose(before, s.results[s.lanes[3].uid].positions[-1])


def test_one_d_surface_switches_to_the_curve_view(window):
    window.session.set_surface(get_surface("parabola"))
    assert window.view_stack.currentWidget() is window.curve
    assert not window.act_show_3d.isEnabled()
    window.session.set_surface(get_surface("quadratic"))
    assert window.view_stack.currentWidget() is window.views_2d


def test_shortcuts_dialog_lists_the_keys(window):
    dlg = window.show_shortcuts()
    rows = {dlg.table.item(r, 0).text(): dlg.table.item(r, 1).text()
            for r in range(dlg.table.rowCount())}
    for key in ("Space", "Right", "Left", "R"):
        assert key in rows
    assert "Play" in rows["Space"]
    dlg.close()


def test_about_box(window):
    box = window.show_about()
    assert "LossLab" in box.text()
    box.close()


def test_menus_exist(window):
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    core = [t for t in titles if t in ("File", "View", "Run", "Help")]
    assert core == ["File", "View", "Run", "Help"]  # other features may add menus between
    assert window.toolbar.actions()
    for dock in window.docks:
        assert dock.toggleViewAction() is not None


def test_theme_switch(window):
    from simulator.gui import palette

    window.set_theme("dark")
    assert palette.is_dark()
    assert st.Settings(st.WINDOW).get_str(st.KEY_THEME, "") == "dark"
    window.set_theme("light")
    assert not palette.is_dark()


def test_critical_point_marks_menu_and_persistence(qtbot, window):
    from simulator.gui.marks import CP_MODES
    from simulator.gui.menus import Menu

    view_menu = window.menu(Menu.VIEW)
    assert window.cp_menu.menuAction() in view_menu.actions()
    assert [a.data() for a in window.cp_menu.actions()] == list(CP_MODES)
    assert window.cp_actions["auto"].isChecked() and window.contour.cp_mode == "auto"
    tip = window.cp_actions["off"].toolTip()
    assert "gradient is zero" in tip and "Auto" in tip and window.cp_menu.toolTipsVisible()
    window.cp_actions["off"].trigger()
    assert window.contour.cp_mode == "off" and window.curve.cp_mode == "off"
    assert st.Settings(st.WINDOW).get_str(st.KEY_CP_MODE, "") == "off"
    window.close()

    w2 = MainWindow(with_3d=False)  # a restart keeps the choice
    qtbot.addWidget(w2)
    assert w2.contour.cp_mode == "off" and w2.cp_actions["off"].isChecked()
    w2.close()
    st.Settings(st.WINDOW).set(st.KEY_CP_MODE, "bogus")  # a corrupt value: the default
    w3 = MainWindow(with_3d=False)
    qtbot.addWidget(w3)
    assert w3.contour.cp_mode == "auto" and w3.cp_actions["auto"].isChecked()
    w3.close()


def test_scene_and_layout_persist_across_restarts(qtbot):
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.show()
    s = w.session
    s.update_lane(2, lr=0.003)
    s.add_preset("Nesterov")
    s.set_training(steps=321)
    w.animator.set_speed(20)
    w.dock_diagnostics.hide()
    w.close()

    w2 = MainWindow(with_3d=False)
    qtbot.addWidget(w2)
    w2.show()
    s2 = w2.session
    assert s2.lanes[2].optimizer.lr == 0.003
    assert [lane.name for lane in s2.lanes][-1] == "Nesterov"
    assert s2.steps == 321
    assert w2.animator.speed == 20
    assert not w2.dock_diagnostics.isVisible()
    w2.close()


def test_a_start_computes_only_the_restored_scene(qtbot, monkeypatch):
    # a start used to compute the first-screen race and then replace it with the
    # stored scene: seconds of interpreted runs on a first start, thrown away
    from simulator.core.scene import Scene
    from simulator.gui.session import Session

    stored = Scene.default()
    stored.set_surface(get_surface("himmelblau"))
    st.Settings(st.SESSION).set_json(st.KEY_LAST_SCENE, stored.to_dict())
    loaded = []
    real = Session.load_scene
    monkeypatch.setattr(Session, "load_scene",
                        lambda self, sc: (loaded.append(sc.surface.name), real(self, sc))[1])
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    assert loaded == ["himmelblau"] and w.session.surface.name == "himmelblau"


def test_settings_start_clean_in_every_test(qtbot):
    # the previous test stored a 321-step scene; isolation means we never see it
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    assert w.session.steps == 1000
    assert len(w.session.lanes) == 4


def test_corrupt_stored_scene_falls_back_to_default(qtbot):
    g = st.Settings(st.SESSION)
    g.set(st.KEY_LAST_SCENE, "{broken json")
    st.Settings(st.WINDOW).set(st.KEY_GEOMETRY, "not bytes")
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    assert w.session.surface.name == "rosenbrock" and len(w.session.lanes) == 4
    g.set_json(st.KEY_LAST_SCENE, {"format": "losslab-session", "version": 1})
    w2 = MainWindow(with_3d=False)
    qtbot.addWidget(w2)
    assert len(w2.session.lanes) == 4


def test_no_opengl_means_no_3d_view_not_a_crash(qtbot, monkeypatch):
    import simulator.gui.views as views

    class Broken:
        def __init__(self, *a, **k):
            raise RuntimeError("no OpenGL here")

    monkeypatch.setattr(views, "Surface3DView", Broken, raising=False)
    w = MainWindow(with_3d=True)
    qtbot.addWidget(w)
    assert w.surface3d is None
    assert not w.act_show_3d.isEnabled()
    assert w.contour is not None


def test_offscreen_platform_skips_the_3d_view(qtbot):
    # the GL view is tested in a subprocess on a real (virtual) display; in-process
    # offscreen GL crashes, so the window must not build it there by default
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.surface3d is None


def test_cli_parser(capsys):
    import pytest as _pytest

    from simulator import cli

    args = cli.build_parser().parse_args([])
    assert args.command is None  # no arguments: the GUI
    with _pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert "losslab" in capsys.readouterr().out


def test_warmup_plan_compiles_and_the_indicator_follows(qtbot):
    from simulator.core.kernels import loops
    from simulator.core.library import get_surface
    from simulator.core.optimizers import SGD, Adam
    from simulator.core.prepare import warmup_plan
    from simulator.gui.app import Splash
    from simulator.gui.warmup import CompileIndicator, KernelWarmup

    splash = Splash()
    qtbot.addWidget(splash)
    assert not splash.grab().isNull()
    indicator = CompileIndicator()
    qtbot.addWidget(indicator)
    plan = warmup_plan(get_surface("himmelblau"), [SGD(), Adam()])
    labels = [label for label, _ in plan]
    assert labels[:2] == ["the map", "the lanes"]  # what is on screen comes first
    warm = KernelWarmup(plan)
    seen, errors = [], []
    warm.progress.connect(lambda i, n, label: (seen.append((i, n)),
                                               indicator.set_progress(i, n, label)))
    warm.failed.connect(errors.append)
    with qtbot.waitSignal(warm.finished, timeout=600_000):
        warm.start()
    qtbot.waitUntil(lambda: seen and seen[-1] == (len(plan), len(plan)))
    assert errors == []  # every kernel the app calls compiles (or loads) without error
    assert [i for i, _ in seen] == list(range(len(plan) + 1))
    assert indicator._finished
    # the scene's kernels are now compiled in this process, so nothing runs interpreted
    s = get_surface("himmelblau")
    assert loops.is_ready("eval_points", loops.surface_key(s.spec))
    assert loops.is_ready("run_trajectory", (Adam.oid,) + loops.surface_key(s.spec))


def test_ctrl_digit_brings_a_panel_to_the_front(window, qtbot):
    window.dock_instructions.raise_()
    qtbot.wait(10)
    assert window.dock_diagnostics.visibleRegion().isEmpty()  # behind its tab
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.dock_diagnostics.visibleRegion().isEmpty())
    window.dock_lanes.hide()
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.dock_lanes.isVisible()
    listed = [a.text() for a in window.shortcut_actions()]
    assert "Diagnostics Panel" in listed and "Lanes Panel" in listed


def test_diagnostics_dock_does_not_force_a_wide_or_tall_window(window, qtbot):
    # at 1280 x 800 the docks must leave the views room (their content wraps/scrolls)
    assert window.dock_diagnostics.minimumSizeHint().width() <= 300
    assert window.minimumSizeHint().height() <= 760


def test_no_stray_dock_tab_bars(window, qtbot):
    # tabifying docks while the window is built leaves duplicate tab bars behind; one
    # showed as a clipped "...t" between the 3-D view and the right dock
    from PySide6.QtWidgets import QTabBar

    def visible_groups():
        bars = [tb for tb in window.findChildren(QTabBar) if tb.parent() is window
                and tb.isVisible() and tb.count()]
        return sorted(tuple(sorted(tb.tabText(i) for i in range(tb.count()))) for tb in bars)

    # the Data dock (networks) joined Diagnostics' group after the window was built: the
    # group's old two-tab bar stayed visible beside the new three-tab one
    both = [("Data", "Diagnostics", "Instructions"), ("Lanes", "Surface", "Training")]
    qtbot.waitUntil(lambda: visible_groups() == both)  # each group once, none stray
    window.reset_layout()  # the default layout again: the same two groups
    qtbot.waitUntil(lambda: visible_groups() == both)
    assert set(window.tabifiedDockWidgets(window.dock_diagnostics)) == {
        window.dock_instructions, window.dock_data}


def test_the_window_api_menus_by_id_and_features_return_what_they_made(window):
    from simulator.gui.menus import Menu

    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == [m.value for m in Menu]  # File, Edit, View, Run, Explore, Help
    edit = window.menu(Menu.EDIT)
    assert window.draw.undo in edit.actions() and window.draw.action in edit.actions()
    assert window.draw_tool is window.draw.tool and window.dock_draw is window.draw.dock
    explore = window.menu(Menu.EXPLORE).actions()
    assert explore == [window.explorer.act_basin, window.explorer.act_hyper]
    assert window.explorer_panel is None  # made on first use
    file_acts = window.menu(Menu.FILE).actions()
    assert file_acts.index(window.labs.actions["open_lab"]) == \
        file_acts.index(window.act_open) + 1
    assert window.dock_instructions in window.docks
    # a feature adds itself through the API
    hits = []
    act = window.add_action("Custom", lambda: hits.append(1), "Ctrl+Alt+K", menu=Menu.RUN,
                            after=window.act_reset)
    run = window.menu(Menu.RUN).actions()
    assert run[run.index(window.act_reset) + 1] is act
    act.trigger()
    assert hits == [1]
    from PySide6.QtWidgets import QLabel

    dock = window.add_dock("Extra", "dock_extra", QLabel("x"),
                           tab_with=window.dock_diagnostics, view_menu=True)
    assert window.menu(Menu.VIEW).actions()[0] is dock.toggleViewAction()


def _stand_in_3d(session):
    from PySide6.QtWidgets import QWidget

    w = QWidget()
    w.setObjectName("stand_in_3d")
    return w


def test_3d_view_beside_the_map_by_default_at_1440x900(qtbot):
    # offscreen has no OpenGL: a plain widget stands where the 3-D view goes
    w = MainWindow(make_3d=_stand_in_3d)
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)  # the initial sizes are set a turn after the first show
    assert w.act_show_3d.isChecked() and w.surface3d.isVisible()
    button = w.show_3d_button
    assert button.text() == "3-D View"
    assert button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    a, b = w.views_2d.sizes()
    assert a >= 380 and b >= 380 and abs(a - b) <= 2  # side by side, equal and useful
    assert w.surface3d.height() >= 450
    w.views_2d.setSizes([600, 250])
    sizes = w.views_2d.sizes()
    w.close()
    assert st.Settings(st.WINDOW).get_int_list(st.KEY_VIEWS_SPLIT, 2) == sizes

    w2 = MainWindow(make_3d=_stand_in_3d)  # the divider stays where it was left
    qtbot.addWidget(w2)
    w2.resize(1440, 900)
    w2.show()
    qtbot.waitExposed(w2)
    qtbot.wait(100)
    a2, b2 = w2.views_2d.sizes()  # the same proportions (the docks' widths may differ)
    assert a2 / (a2 + b2) == pytest.approx(sizes[0] / sum(sizes), abs=0.01)
    w2.close()


class _StandInMesh(QWidget):
    """Where a network's 3-D mesh (``views.landscape3d.Landscape3D``) goes: a
    QOpenGLWidget shown in this offscreen process can crash (no OpenGL here; under
    pytest-xvfb the offscreen platform tries GLX on the display)."""

    def __init__(self, native: bool = True, parent=None) -> None:
        super().__init__(parent)
        from simulator.gui.views.placeholder import Placeholder

        self.setObjectName("stand_in_mesh")
        self.placeholder = Placeholder(self)
        self.planes = 0

    def show_plane(self, plane, colours) -> None:
        self.planes += 1

    def clear(self) -> None:
        pass

    def show_frame(self, frame) -> None:
        pass


def test_the_3d_switch_shows_and_hides_a_networks_mesh_too(qtbot, monkeypatch):
    # on a network the views are its loss plane and that plane's 3-D mesh: the
    # toolbar's 3-D View (F3) was greyed out there while the mesh stayed on screen
    from simulator.core.network import Network
    from simulator.gui.views import landscape3d

    monkeypatch.setattr(landscape3d, "Landscape3D", _StandInMesh)
    w = MainWindow(make_3d=_stand_in_3d)
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    qtbot.waitExposed(w)
    w.session.set_surface(Network("moons", hidden=(4,), n_train=32, n_test=32, seed=1))
    w.session.flush()
    mesh = w.landscape.mesh3d
    assert isinstance(mesh, _StandInMesh)
    assert w.view_stack.currentWidget() is w.landscape
    assert w.act_show_3d.isEnabled() and w.act_show_3d.isChecked() and mesh.isVisible()
    w.act_show_3d.trigger()
    assert not mesh.isVisible() and not w.surface3d.isVisible()
    assert w.session.view.views == ("2d",)  # part of the scene, as on a surface
    w.act_show_3d.trigger()
    assert mesh.isVisible() and "3d" in w.session.view.views
    w.session.set_view(views=("2d",))  # a lab or session that hides it
    assert not w.act_show_3d.isChecked() and not mesh.isVisible()
    w.close()


def test_3d_view_starts_hidden_in_a_narrow_window(qtbot):
    w = MainWindow(make_3d=_stand_in_3d)
    qtbot.addWidget(w)
    w.resize(1024, 700)
    w.show()
    qtbot.waitExposed(w)
    assert not w.act_show_3d.isChecked() and not w.surface3d.isVisible()
    w.act_show_3d.trigger()  # the user's choice then persists
    assert w.surface3d.isVisible()
    w.close()
    w2 = MainWindow(make_3d=_stand_in_3d)
    qtbot.addWidget(w2)
    w2.resize(1024, 700)
    w2.show()
    assert w2.act_show_3d.isChecked()
    w2.close()


def test_corrupt_splitter_sizes_are_ignored(qtbot):
    g = st.Settings(st.WINDOW)
    for bad in ("[1, 2, 3]", "[0, 5]", "[true, 5]", "nope"):
        g.set(st.KEY_VIEWS_SPLIT, bad)
        assert g.get_int_list(st.KEY_VIEWS_SPLIT, 2) is None
    g.set_json(st.KEY_VIEWS_SPLIT, [300, 200])
    assert g.get_int_list(st.KEY_VIEWS_SPLIT, 2) == [300, 200]


def test_presentation_mode_enlarges_and_restores_the_layout(qtbot):
    from simulator.gui.plotting import PRESENT_SCALE

    w = MainWindow(make_3d=_stand_in_3d)
    qtbot.addWidget(w)
    w.resize(1440, 900)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    w.dock_diagnostics.hide()  # the user's own layout
    qtbot.wait(50)
    w.views_2d.setSizes([500, 300])
    before = (bytes(w.saveState()), w.center_split.sizes(), w.views_2d.sizes(),
              w.font().pointSizeF(), w.act_show_3d.isChecked())
    visible = {d.objectName() for d in w.docks if d.isVisible()}
    assert not w.presentation and w.act_present in w.view_menu.actions()
    assert "projector" in w.act_present.toolTip() and "F5" in w.act_present.toolTip()
    assert w.findChild(type(w.show_3d_button), "present_button").text() == "Present"

    qtbot.keyClick(w, Qt.Key.Key_F5)
    assert w.presentation and w.property("presentation")
    qtbot.wait(50)
    assert not any(d.isVisible() for d in w.docks)  # no lab open: every dock folded
    assert w.font().pointSizeF() == pytest.approx(before[3] * PRESENT_SCALE)
    assert w.transport.step_label.font().pointSizeF() > before[3] * 1.5
    assert w.contour.scale == PRESENT_SCALE and w.plots.scale > 1.2
    lane = w.session.lanes[0]
    assert w.contour.lane_item(lane.uid).opts["pen"].widthF() >= 1.8 * PRESENT_SCALE
    assert w.transport.icon_size().width() >= 32
    top, plots = w.center_split.sizes()
    assert top > 2.5 * plots  # the map and the 3-D view large
    a, b = w.views_2d.sizes()
    assert abs(a - b) <= 2

    qtbot.keyClick(w, Qt.Key.Key_Escape)  # Esc leaves, as F5 does
    assert not w.presentation
    qtbot.wait(50)
    assert {d.objectName() for d in w.docks if d.isVisible()} == visible
    assert w.center_split.sizes() == before[1] and w.views_2d.sizes() == before[2]
    assert w.font().pointSizeF() == before[3] and w.act_show_3d.isChecked() == before[4]
    assert w.contour.scale == 1.0
    assert w.contour.lane_item(lane.uid).opts["pen"].widthF() < 3
    assert bytes(w.saveState()) == before[0]
    w.close()


def test_presentation_mode_keeps_the_lesson_text(qtbot):
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    from simulator.gui.lab_dialogs import open_lab_ref

    open_lab_ref(w, "saddle")
    assert w.lab is not None
    w.presentation = True
    qtbot.wait(50)
    assert w.dock_instructions.isVisible() and not w.dock_lanes.isVisible()
    assert w.instructions_panel.browser.font().pointSizeF() >= 14
    w.presentation = False
    w.close()  # closing while presenting saves the user's layout, not the projector's


def test_fit_map_to_paths_and_follow_the_paths_actions(window, qtbot):
    from simulator.core.scene import load_scene

    assert window.act_fit_paths in window.view_menu.actions()
    assert window.act_follow_paths.isChecked() and window.contour.follow_paths
    assert window.act_fit_paths.shortcut().toString() == "Ctrl+0"
    window.act_follow_paths.trigger()  # off, and remembered
    assert not window.contour.follow_paths
    assert st.Settings(st.WINDOW).get_bool(st.KEY_FOLLOW_PATHS, True) is False
    window.session.load_scene(load_scene("saddle"))
    window.session.flush()
    qtbot.keyClick(window, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.contour.field_domain != tuple(window.session.surface.domain),
                    timeout=10000)


def test_optimizer_internals_toggle(window):
    from simulator.gui.menus import Menu

    act = window.act_internals
    assert act.isCheckable() and not act.isChecked()
    assert act.shortcut().toString() == "I" and "Adam" in act.toolTip()
    assert act in window.menu(Menu.VIEW).actions()
    window.session.set_frame(5)
    act.setChecked(True)
    assert window.contour.internals.enabled and window.contour.internals.state is not None
    act.setChecked(False)
    assert window.contour.internals.state is None


def test_first_start_shows_the_labs_not_an_empty_data_tab(window):
    assert window.session.surface.kind != "network"
    assert not window.dock_instructions.visibleRegion().isEmpty()
    assert window.dock_data.visibleRegion().isEmpty()
