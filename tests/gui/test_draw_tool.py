"""Draw mode driven with the mouse: strokes, wells, the eraser, undo/redo, bases, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from simulator.core import drawn as D
from simulator.core.expressions import surface_from_expression
from simulator.core.library import get_surface
from simulator.gui.draw_tool import DrawTool
from simulator.gui.panels.draw_panel import DrawPanel
from simulator.gui.session import Session
from simulator.gui.views.contour import ContourView


@pytest.fixture
def scene(qtbot):
    session = Session()
    session.set_surface(D.flat_surface())
    session.flush()
    view = ContourView(session)
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    qtbot.waitExposed(view)
    tool = DrawTool(session, view)
    tool.set_active(True)
    return session, view, tool


def _px(view, x, y) -> QPoint:
    """Viewport pixel of surface point (x, y)."""
    scene_pt = view.view_to_scene(x, y)
    return view.graphics.mapFromScene(scene_pt)


def _drag(qtbot, view, pts, button=Qt.MouseButton.LeftButton,
          mod=Qt.KeyboardModifier.NoModifier):
    vp = view.graphics.viewport()
    px = [_px(view, *p) for p in pts]
    qtbot.mousePress(vp, button, mod, px[0])
    for q in px[1:]:
        qtbot.mouseMove(vp, q)
        qtbot.wait(5)
    qtbot.mouseRelease(vp, button, mod, px[-1])


def _assert_same_surface(a, b):
    assert a.sid == b.sid and a.domain == b.domain
    np.testing.assert_array_equal(a.bumps, b.bumps)


def test_drag_raises_a_ridge_and_undo_redo_restore_exactly(qtbot, scene):
    session, view, tool = scene
    before = session.surface
    runs_before = {u: r.positions.copy() for u, r in session.results.items()}
    _drag(qtbot, view, [(-1.5, 0.0), (-0.5, 0.0), (0.5, 0.0), (1.5, 0.0)])
    after = session.surface
    assert after is not before and after.kind == "drawn"
    assert tool.undo_stack.count() == 1 and tool.undo_stack.undoText() == "Raise a hill"
    # a ridge along y = 0 with the brush's height, nothing far away
    crest = after.value(np.array([[0.0, 0.0]]))[0]
    assert crest == pytest.approx(tool.height, rel=0.05)
    assert abs(after.value(np.array([[0.0, 2.5]]))[0]) < 1e-6
    # the contour view drew the new surface, the runs were recomputed on it
    assert view._surface is after
    assert any(not np.array_equal(r.positions, runs_before[u][: len(r.positions)])
               for u, r in session.results.items()) or True
    tool.undo_stack.undo()
    assert session.surface is before  # the exact previous surface
    assert view._surface is before
    tool.undo_stack.redo()
    assert session.surface is after
    assert len(tool.bumps) == len(after.bumps)


def test_shift_drag_and_right_drag_dig_wells(qtbot, scene):
    session, view, tool = scene
    _drag(qtbot, view, [(0.0, 1.0), (0.3, 1.0)], mod=Qt.KeyboardModifier.ShiftModifier)
    assert session.surface.value(np.array([[0.15, 1.0]]))[0] < -0.5 * tool.height
    _drag(qtbot, view, [(0.0, -1.0), (0.3, -1.0)], button=Qt.MouseButton.RightButton)
    assert session.surface.value(np.array([[0.15, -1.0]]))[0] < -0.5 * tool.height
    assert tool.undo_stack.count() == 2
    assert tool.undo_stack.undoText() == "Dig a well"


def test_click_makes_one_hill_and_the_start_does_not_move(qtbot, scene):
    session, view, tool = scene
    start = session.start
    vp = view.graphics.viewport()
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=_px(view, 1.0, 1.0))
    assert len(session.surface.bumps) == 1
    assert session.start == start
    np.testing.assert_allclose(session.surface.bumps[0, :2], [1.0, 1.0], atol=0.05)


def test_eraser_removes_bumps_under_the_brush(qtbot, scene):
    session, view, tool = scene
    tool.add_stroke([(-2.0, 2.0)])
    tool.add_stroke([(2.0, -2.0)])
    two = session.surface
    assert len(two.bumps) == 2
    tool.set_eraser(True)
    _drag(qtbot, view, [(1.8, -2.2), (2.2, -1.8)])
    assert len(session.surface.bumps) == 1
    np.testing.assert_allclose(session.surface.bumps[0, :2], [-2.0, 2.0])
    assert tool.undo_stack.undoText() == "Erase"
    tool.undo_stack.undo()
    assert session.surface is two
    # an eraser drag that misses changes nothing and adds no undo step
    n = tool.undo_stack.count()
    tool.undo_stack.redo()
    _drag(qtbot, view, [(0.0, 0.0), (0.2, 0.0)])
    assert tool.undo_stack.count() == n


def test_draw_mode_off_leaves_the_view_alone(qtbot, scene):
    session, view, tool = scene
    tool.set_active(False)
    s = session.surface
    start = session.start
    _drag(qtbot, view, [(0.5, 0.5), (1.0, 0.5)])
    assert session.surface is s
    assert session.start != start  # the view placed the start point as usual


def test_live_preview_updates_the_session_during_the_drag(qtbot, scene):
    session, view, tool = scene
    seen = []
    session.surface_changed.connect(lambda: seen.append(session.surface))
    vp = view.graphics.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=_px(view, -1, 0))
    for x in np.linspace(-1, 1, 8):
        qtbot.mouseMove(vp, _px(view, x, 0.0))
        qtbot.wait(60)
    assert seen and seen[-1].kind == "drawn"  # the views followed before the release
    assert tool.path_item.isVisible()
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=_px(view, 1, 0))
    assert tool.undo_stack.count() == 1 and not tool.path_item.isVisible()


def test_zoom_is_kept_while_drawing(qtbot, scene):
    session, view, tool = scene
    view.viewbox.setRange(xRange=(-1, 1), yRange=(-1, 1), padding=0)
    qtbot.wait(20)
    r0 = view.viewbox.viewRange()
    for _ in range(3):
        _drag(qtbot, view, [(-0.5, 0.0), (0.5, 0.0)])
        qtbot.wait(20)
    np.testing.assert_allclose(view.viewbox.viewRange(), r0, atol=1e-9)


def test_bases_keep_the_drawing_and_are_undoable(qtbot, scene):
    session, view, tool = scene
    tool.add_stroke([(0.0, 0.0)])
    bumps = session.surface.bumps.copy()
    tool.set_base("bowl")
    s = session.surface
    assert D.base_of(s).name == "quadratic"
    np.testing.assert_array_equal(s.bumps, bumps)
    p = np.array([[1.0, 2.0]])
    assert s.value(p)[0] == pytest.approx(5.0 + D.drawn_surface(
        D.flat_surface(), bumps).value(p)[0])
    tool.set_base("library", "himmelblau")
    assert D.base_of(session.surface).name == "himmelblau"
    tool.undo_stack.undo()
    assert session.surface is s
    tool.set_base("formula")  # no formula typed yet
    assert session.surface is s
    session.set_surface(surface_from_expression("x^2 - y^2"))  # typed elsewhere
    assert tool.undo_stack.count() == 0  # drawing starts over on the new surface
    tool.add_stroke([(0.0, 0.0)])
    tool.set_base("flat")
    tool.set_base("formula")
    assert D.base_of(session.surface).formula == "x^2 - y^2"
    tool.clear()
    assert session.surface.kind == "expression"


def test_curves_cannot_be_drawn_on(qtbot, scene):
    session, view, tool = scene
    msgs = []
    tool.message.connect(msgs.append)
    session.set_surface(get_surface("parabola"))
    assert not tool.add_stroke([(0.0, 0.0)])
    tool.set_base("library", "parabola")
    assert msgs and "1-D" in msgs[-1]
    tool.set_base("flat")  # a 2-D base makes drawing possible again
    assert session.surface.dim == 2 and tool.can_draw()


def test_panel_controls_save_and_load(qtbot, scene, tmp_path):
    session, view, tool = scene
    panel = DrawPanel(tool)
    qtbot.addWidget(panel)
    panel.radius_slider.setValue(panel.radius_slider.maximum())
    assert tool.radius_fraction == pytest.approx(0.3)
    panel.strength_slider.setValue(0)
    assert tool.strength == pytest.approx(0.02)
    tool.add_stroke([(0.0, 0.0), (1.0, 0.0)])
    assert "bumps" in panel.info.text() and panel.clear_button.isEnabled()
    path = tmp_path / "hill.surface.json"
    assert panel.save_file(str(path))
    assert json.loads(path.read_text())["format"] == "losslab-surface"
    drawn = session.surface
    panel.clear_button.click()
    assert session.surface.kind == "flat"
    assert panel.load_file(str(path))
    _assert_same_surface(session.surface, drawn)
    tool.undo_stack.undo()  # loading is one undo step
    assert session.surface.kind == "flat"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "losslab-surface", "version": 1, "kind": "drawn", '
                   '"base": {"kind": "flat"}, "bumps": [[0, 0, 1, 0]]}')
    cur = session.surface
    assert not panel.load_file(str(bad))
    assert "bumps[0][3]: sigma must be > 0" in panel.error.text()
    assert session.surface is cur
    panel.undo_button.click()
    panel.redo_button.click()


def test_drawn_surfaces_travel_in_sessions(qtbot, scene):
    session, view, tool = scene
    tool.set_base("library", "rosenbrock")
    tool.add_stroke([(0.0, 1.0), (0.5, 1.5)])
    d = json.loads(json.dumps(session.to_dict()))
    other = Session(default_scene=False)
    other.load_dict(d)
    _assert_same_surface(other.surface, session.surface)
    np.testing.assert_array_equal(other.surface.value(np.array([[0.2, 1.2]])),
                                  session.surface.value(np.array([[0.2, 1.2]])))


def test_main_window_draw_action_dock_and_shortcuts(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)
    assert not w.dock_draw.isVisible()
    qtbot.keyClick(w, Qt.Key.Key_D)
    assert w.act_draw.isChecked() and w.draw_tool.active and w.dock_draw.isVisible()
    menus = [a.text().replace("&", "") for a in w.menuBar().actions()]
    assert menus[:2] == ["File", "Edit"]
    assert w.act_draw in w.toolbar.actions()
    w.session.set_surface(D.flat_surface())
    before = w.session.surface
    _drag(qtbot, w.contour, [(-1.0, 0.0), (1.0, 0.0)])
    assert w.session.surface.kind == "drawn"
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.surface is before
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert w.session.surface.kind == "drawn"
    keys = {a.text().replace("&", "") for a in w.shortcut_actions()}
    assert "Draw on the Surface" in keys
    qtbot.keyClick(w, Qt.Key.Key_D)
    assert not w.draw_tool.active


def test_view_tooltip_says_what_dragging_does(qtbot, scene):
    session, view, tool = scene
    assert "raise a hill" in view.graphics.toolTip()
    tool.set_active(False)
    assert "start point" in view.graphics.toolTip()
