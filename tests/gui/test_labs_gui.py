"""Labs and export in the app: open (menu, start page, drop, command line), save, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from simulator.core import labs
from simulator.gui import export_dialogs, lab_dialogs

BUILTIN = labs.builtin_lab_ids()


@pytest.fixture
def window(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    w.show()
    return w


def _plain(html_text: str) -> str:
    return " ".join(labs.rich_text_to_plain(html_text).split())


def scene(w):
    d = w.session.to_dict()
    d.pop("frame", None)
    return d


@pytest.mark.parametrize("lab_id", BUILTIN)
def test_every_builtin_lab_loads_in_the_app(window, qtbot, lab_id):
    lab = labs.builtin_lab(lab_id)
    assert lab_dialogs.open_lab_ref(window, lab_id)
    s = window.session
    assert [ln.name for ln in s.lanes] == [ln.name for ln in lab.lanes]
    assert [ln.optimizer for ln in s.lanes] == [ln.optimizer for ln in lab.lanes]
    assert s.steps == lab.run_steps and s.noise == lab.noise
    assert tuple(s.start) == lab.start
    assert s.surface.dim == lab.surface.dim
    value = "loss" if lab.surface.kind == "network" else "value"
    np.testing.assert_allclose(getattr(s.surface, value)(np.array(lab.start)),
                               getattr(lab.surface, value)(np.array(lab.start)))
    if lab.surface.kind == "network":  # its lanes are trained in the background
        qtbot.waitUntil(lambda: not s.pending, timeout=60000)
    assert not s.errors and len(s.results) == len(lab.lanes)
    text = window.instructions_panel.text()
    assert lab.title in text and ("Questions" in text) == bool(lab.questions)
    step = lab.steps[0]  # a version-2 lab shows its first step's text and task
    assert _plain(step.text)[:40] in _plain(text)
    if step.task is not None:
        assert _plain(step.task.prompt)[:40] in _plain(text)
    assert window.lab.to_dict() == lab.to_dict()
    for lane, (_l, run) in zip(s.lanes, lab.run()):  # the app computes the same runs
        np.testing.assert_array_equal(s.results[lane.uid].positions, run.positions)


def test_invalid_lab_keeps_the_scene(window, tmp_path):
    before = scene(window)
    bad = labs.builtin_lab("ravine").to_dict(version=1)
    bad["lanes"][2]["optimizer"]["lr"] = -0.1
    bad["surface"]["params"]["condition"] = 0.5
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    assert not lab_dialogs.open_lab_ref(window, str(p))
    box = window.last_message_box
    detail = box.informativeText()
    assert "lanes[2].optimizer.lr: must be a positive number" in detail
    assert "surface.params.condition" in detail and "current scene was kept" in detail
    assert scene(window) == before
    newer = labs.builtin_lab("race").to_dict(version=1)
    newer["version"] = 7
    p.write_text(json.dumps(newer))
    assert not lab_dialogs.open_lab_ref(window, str(p))
    assert "version 7" in window.last_message_box.informativeText()
    assert scene(window) == before
    assert window.lab is None


def test_start_page_and_open_dialog(window, qtbot):
    text = window.instructions_panel.text()
    for info in labs.list_labs():
        assert info.title in text and info.summary in text
    window.instructions_panel.open_lab_requested.emit("saddle")
    assert window.lab.id == "saddle"
    window.instructions_panel.close_requested.emit()
    assert window.lab is None and "Labs" in window.instructions_panel.text()
    dlg = lab_dialogs.OpenLabDialog(window)
    assert dlg.list.count() == len(BUILTIN)
    dlg.list.setCurrentRow(BUILTIN.index("adamw"))
    dlg.accept()
    assert window.lab.id == "adamw"
    assert window.session.surface.kind == "expression"


def test_menu_entries(window):
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    texts = [a.text() for a in file_menu.actions()]
    for t in ("Open &Lab\u2026", "Save as La&b\u2026", "Export &Animation\u2026",
              "Export &Image\u2026", "Export &Data\u2026"):
        assert t in texts


def test_drop_lab_file(window, qtbot, tmp_path):
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    p = tmp_path / "mine.json"
    labs.save_lab(labs.builtin_lab("sharp-flat"), p)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p))])
    # the drag is accepted through Qt's event delivery (the filter sits on the app)
    enter = QDragEnterEvent(QPointF(20, 20).toPoint(), Qt.DropAction.CopyAction, md,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window.contour, enter)
    assert enter.isAccepted()
    # Qt does not deliver synthetic drops without a drag in progress: hand it over
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, md,
                      Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    assert window._lab_drop_filter.eventFilter(window.contour, drop)
    qtbot.waitUntil(lambda: window.lab is not None and window.lab.id == "sharp-flat")
    assert len(window.session.lanes) == 5
    # a dragged text file is left alone
    md2 = QMimeData()
    md2.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    enter2 = QDragEnterEvent(QPointF(20, 20).toPoint(), Qt.DropAction.CopyAction, md2,
                             Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    assert not window._lab_drop_filter.eventFilter(window.contour, enter2)


def test_save_as_lab_round_trip(window, tmp_path):
    assert lab_dialogs.open_lab_ref(window, "schedules")
    window.session.update_lane(0, lr=0.3)
    dlg = lab_dialogs.SaveLabDialog(window)
    assert dlg.note.text().startswith("The lab's step is kept with its task")  # one step
    dlg.title.setText("My schedules")
    dlg.lab_id.setText("")
    dlg.summary.setText("A copy with a smaller constant rate.")
    dlg.instructions.setPlainText("First paragraph with x < 1.\n\nSecond one.")
    dlg.questions.setPlainText("Why?\nHow <b>much</b>?")
    out = tmp_path / "mine.json"
    assert lab_dialogs.save_lab_as(window, str(out), dialog=dlg)
    lab = labs.load_lab(out)
    assert lab.id == "my-schedules" and lab.title == "My schedules"
    # a lab made of steps: the texts typed are the shown (first) step's, the rest is kept
    orig = labs.builtin_lab("schedules")
    assert len(lab.steps) == len(orig.steps)
    assert lab.steps[0].task.to_dict() == orig.steps[0].task.to_dict()
    assert lab.steps[0].text == "<p>First paragraph with x &lt; 1.</p><p>Second one.</p>"
    assert lab.steps[0].questions == ("Why?", "How <b>much</b>?")
    assert lab.lanes[0].optimizer.lr == 0.3
    assert [ln.schedule for ln in lab.lanes[1:]] == \
        [ln.schedule for ln in labs.builtin_lab("schedules").lanes[1:]]
    # and it opens again
    assert lab_dialogs.open_lab_ref(window, str(out))


def test_save_as_lab_shows_problems(window):
    dlg = lab_dialogs.SaveLabDialog(window)
    dlg.title.setText("")
    dlg.summary.setText("two\nlines")
    assert not dlg.validate()
    assert "title" in dlg.error.text()


def test_open_on_start(qtbot):
    from simulator.gui.main_window import MainWindow

    lab_dialogs.open_on_start(labs.builtin_lab("lr-1d"))
    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.lab is not None)
    assert w.lab.id == "lr-1d" and w.session.surface.dim == 1


def test_a_lab_opened_on_start_is_the_only_scene_computed(qtbot, monkeypatch):
    # `losslab open LAB`: neither the race nor the last run's scene is computed first
    from simulator.core.scene import Scene
    from simulator.gui import settings as st
    from simulator.gui.main_window import MainWindow
    from simulator.gui.session import Session

    st.Settings(st.SESSION).set_json(st.KEY_LAST_SCENE, Scene.default().to_dict())
    loaded = []
    real = Session.load_scene
    monkeypatch.setattr(Session, "load_scene",
                        lambda self, sc: (loaded.append(sc.surface.name), real(self, sc))[1])
    lab = labs.builtin_lab("lr-1d")
    lab_dialogs.open_on_start(lab)
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.lab is not None)
    assert loaded == [lab.surface.name] and w.session.surface.dim == 1


def test_a_lab_refused_on_start_leaves_the_race_not_an_empty_window(qtbot, monkeypatch):
    from simulator.gui.main_window import MainWindow

    monkeypatch.setattr(lab_dialogs, "open_lab", lambda window, lab: False)
    lab_dialogs.open_on_start(labs.builtin_lab("lr-1d"))
    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.session.surface is not None)
    assert w.session.surface.name == "rosenbrock" and len(w.session.lanes) == 4


def test_warmup_plans_for_a_lab_opened_on_start(qtbot, monkeypatch):
    # `losslab open edge-of-stability`: the lab replaces the scene just after the window
    # opens; the warm-up must plan for the network (its kernels first), not for the
    # default Rosenbrock scene (which left the network's kernels to step 4 of 10)
    from simulator.gui import app
    from simulator.gui.main_window import MainWindow

    planned = []
    monkeypatch.setattr(app, "start_warmup", lambda win, state: planned.append(
        getattr(win.session.surface, "kind", None)))
    lab_dialogs.open_on_start(labs.builtin_lab("edge-of-stability"))
    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    app.start_warmup_soon(w, {})
    qtbot.waitUntil(lambda: bool(planned))
    assert planned == ["network"] and w.lab.id == "edge-of-stability"


def test_export_data_from_the_app(window, tmp_path):
    assert lab_dialogs.open_lab_ref(window, "lr-1d")
    out = tmp_path / "runs.csv"
    assert export_dialogs.export_data(window, str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "lane,optimizer,step,w,loss,grad_norm,lr,evaluations,status"
    assert len(lines) == 1 + 4 * 21
    out = tmp_path / "runs.json"
    assert export_dialogs.export_data(window, str(out))
    doc = json.loads(out.read_text())
    assert doc["lab"]["id"] == "lr-1d" and len(doc["runs"]) == 4


def test_export_animation_from_the_app(window, tmp_path):
    import imageio.v3 as iio

    assert lab_dialogs.open_lab_ref(window, "race")
    frame_before = window.session.frame
    out = tmp_path / "race.gif"
    assert export_dialogs.export_animation(window, str(out), "2d", (320, 180), 10, 7,
                                           show_progress=False)
    assert iio.imread(out, index=None).shape == (7, 180, 320, 3)
    assert window.session.frame == frame_before  # the app's own views were not moved
    png = tmp_path / "race.png"
    assert export_dialogs.export_image(window, str(png), "2d", (400, 300))
    assert iio.imread(png).shape[:2] == (300, 400)


def test_cancelled_export_writes_nothing(window, tmp_path, monkeypatch):
    class Cancelling(export_dialogs.QProgressDialog):
        def wasCanceled(self):  # noqa: N802
            return self.value() >= 2

    monkeypatch.setattr(export_dialogs, "QProgressDialog", Cancelling)
    out = tmp_path / "race.mp4"
    out.write_bytes(b"old")
    assert not export_dialogs.export_animation(window, str(out), "2d", (320, 180), 10, 40,
                                               show_progress=False)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["race.mp4"]
    assert "cancelled" in window.statusBar().currentMessage()


def test_export_dialog_checks_the_path(window, tmp_path):
    dlg = export_dialogs.ExportAnimationDialog(window)
    dlg.path.setText(str(tmp_path / "x.avi"))
    dlg.accept()
    assert ".mp4 or .gif" in dlg.error.text()
    dlg.path.setText(str(tmp_path / "missing" / "x.mp4"))
    dlg.accept()
    assert "does not exist" in dlg.error.text()
    assert dlg.frames() == 150


def test_export_dialog_gif_takes_an_exact_rate(window, tmp_path):
    dlg = export_dialogs.ExportAnimationDialog(window)
    dlg.path.setText(str(tmp_path / "x.mp4"))
    assert dlg.effective_fps() == 30 and "hundredths" not in dlg.frames_label.text()
    dlg.path.setText(str(tmp_path / "x.gif"))  # 30 fps cannot be written in a GIF
    assert dlg.effective_fps() == 100 / 3
    assert "30 fps is written as 33.33 fps" in dlg.frames_label.text()
    assert dlg.frames() == round(100 / 3 * 5)  # the 5 s asked for, at the rate written
    dlg.fps.setValue(25)
    assert dlg.effective_fps() == 25 and "hundredths" not in dlg.frames_label.text()


# ---- the scene, not the widgets or a stale lab, decides titles and view settings -------------
def test_export_title_follows_the_scene_not_a_stale_lab(window, tmp_path):
    """An MP4 was titled "Sharp and flat minima" while it showed the Rosenbrock race: the
    title came from the window's open lab, not from the scene being exported."""
    assert lab_dialogs.open_lab_ref(window, "race")
    session_file = tmp_path / "race.losslab.json"
    assert window.save_session_file(str(session_file))
    d = json.loads(session_file.read_text())
    d.pop("lab")  # a race scene saved before scenes knew their lab
    session_file.write_text(json.dumps(d))
    assert lab_dialogs.open_lab_ref(window, "sharp-flat")
    r = export_dialogs.make_renderer(window, "2d", (320, 180))
    try:
        assert r.title == "Sharp and flat minima"
    finally:
        r.close()
    assert window.open_session_file(str(session_file))
    assert window.session.surface.name == "rosenbrock"
    r = export_dialogs.make_renderer(window, "2d", (320, 180))
    try:
        assert r.title == "rosenbrock" and "Sharp" not in r._caption_text(0)
    finally:
        r.close()
    assert window.lab is None and "Labs" in window.instructions_panel.text()
    # New Scene: no lab either
    assert lab_dialogs.open_lab_ref(window, "saddle")
    window.new_scene()
    assert window.session.scene.lab_id is None and window.lab is None


def test_exports_and_save_as_lab_read_the_view_from_the_scene(window):
    assert lab_dialogs.open_lab_ref(window, "race")  # a log colour scale
    assert window.contour.log_check.isChecked()
    window.contour.log_check.setChecked(False)  # the user's click goes into the scene
    assert window.session.view.log_scale is False
    assert not window.act_log.isChecked()
    r = export_dialogs.make_renderer(window, "2d", (320, 180))
    try:
        assert not r.contour.log_check.isChecked()
    finally:
        r.close()
    dlg = lab_dialogs.SaveLabDialog(window)
    assert labs.parse_lab(dlg.lab_data()).view.log_scale is False
    # and the other way: the scene's view state drives the widgets
    window.act_log.trigger()
    assert window.session.view.log_scale is True and window.contour.log_check.isChecked()
    window.session.set_view(log_scale=False)
    assert not window.contour.log_check.isChecked() and not window.act_log.isChecked()
    assert "3d" not in labs.parse_lab(dlg.lab_data()).view.views


def test_the_window_title_names_the_open_lab_until_it_is_closed(window):
    assert lab_dialogs.open_lab_ref(window, "saddle")
    assert window.windowTitle().startswith("Escaping a saddle point")
    window.session.update_lane(0, lr=0.05)  # an edit keeps the lab's name
    assert window.windowTitle().startswith("Escaping a saddle point")
    window.instructions_panel.close_requested.emit()
    assert window.windowTitle().startswith("untitled")
    assert window.session.scene.lab_id is None
