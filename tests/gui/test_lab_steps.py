"""Labs made of steps in the app: the step shown, Check, hints, Back/Next, progress kept
in the settings across a restart, Restart lab, presentation mode, bad lab files."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from simulator.core import labs
from simulator.gui import lab_dialogs
from simulator.gui import settings as st

LAB = "lr-1d"  # the built-in lab made of steps: a choice, then two checked tasks


def make_window(qtbot, restore=False):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(restore=restore, with_3d=False)
    qtbot.addWidget(w)
    w.show()
    return w


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def panel(w):
    return w.instructions_panel


def lane_lr(w, name="GD"):
    lane = next(ln for ln in w.session.lanes if ln.name == name)
    return lane.optimizer.lr


def set_lr(w, lr, name="GD"):
    i = next(k for k, ln in enumerate(w.session.lanes) if ln.name == name)
    w.session.update_lane(i, lr=lr)
    w.session.flush()


def click_check(qtbot, w):
    qtbot.mouseClick(panel(w).check_button, Qt.MouseButton.LeftButton)
    return panel(w).verdict.text()


# ---- the stored progress (typed settings) ------------------------------------------------------
def test_progress_round_trip_and_corrupt_values(qtbot):
    root = st.Settings()
    p = st.LabProgress(step=2, passed={0, 2}, hints={0: 2, 1: 1}, source="lr-1d")
    st.save_lab_progress(root, "lr-1d", p)
    back = st.load_lab_progress(root, "lr-1d", 3, [2, 2, 2])
    assert back == p
    # a lab file edited since: fewer steps and hints; out-of-range parts read as none
    short = st.load_lab_progress(root, "lr-1d", 2, [1, 0])
    assert short.step == 0 and short.passed == {0} and short.hints == {0: 1}
    g = root.group(st.LABS).group("lr-1d")
    g.set("step", "two")
    g.set("passed", "[0, true, 9, \"x\"")
    g.set_json("hints", {"0": "many", "x": 1, "1": -3})
    assert st.load_lab_progress(root, "lr-1d", 3, [2, 2, 2]) == st.LabProgress(source="lr-1d")
    # an id the lab format refuses is never used as a settings key
    st.save_lab_progress(root, "../evil", p)
    assert st.load_lab_progress(root, "../evil", 3) == st.LabProgress()
    st.clear_lab_progress(root, "lr-1d")
    assert st.load_lab_progress(root, "lr-1d", 3) == st.LabProgress()


# ---- a lab made of steps ----------------------------------------------------------------------
def test_step_through_a_builtin_lab(window, qtbot):
    w = window
    lab = labs.load_lab(LAB)
    assert lab_dialogs.open_lab_ref(w, LAB)
    p = panel(w)
    assert p.step_box.isVisible() and p.restart_button.isVisible()
    text = p.text()
    assert "Step 1 of 3: Four learning rates" in text
    assert "Task: One lane neither settles nor runs away" in text
    assert p.prompt.isVisible()
    assert "Questions" in text  # the step's own questions
    assert p.progress.text() == "Step 1 of 3 \u00b7 0 of 3 checks passed"
    assert not p.back_button.isEnabled() and p.next_button.isEnabled()
    # the choice as radio buttons, the options' full text shown
    assert [o.label.text() for o in p.options] == list(lab.steps[0].task.options)
    assert all(o.radio.isVisible() for o in p.options)

    assert click_check(qtbot, w) == "Choose one of the options first."
    qtbot.mouseClick(p.options[1].radio, Qt.MouseButton.LeftButton)  # lr = 0.5: wrong
    assert click_check(qtbot, w).startswith("No: 'lr = 0.5' is not right")
    assert 0 not in w.labs.steps.progress.passed
    qtbot.mouseClick(p.options[2].label, Qt.MouseButton.LeftButton)  # the text answers too
    assert p.options[2].radio.isChecked()
    assert p.verdict.text() == ""  # a new answer: the old verdict is gone
    assert click_check(qtbot, w) == "Yes: 'lr = 1.0' is right."
    assert p.progress.text() == "Step 1 of 3 \u00b7 1 of 3 checks passed"

    # Next applies step 2's scene change (one lane, GD, 60 steps) to the scene
    qtbot.mouseClick(p.next_button, Qt.MouseButton.LeftButton)
    assert [ln.name for ln in w.session.lanes] == ["GD"] and w.session.steps == 60
    assert "Step 2 of 3: The largest learning rate that converges" in p.text()
    assert not p.options_box.isVisible() and p.back_button.isEnabled()
    assert p.verdict.text() == ""
    msg = click_check(qtbot, w)
    assert msg.startswith("Not yet: GD's learning rate 0.3 is") and "2/lambda_max = 1" in msg
    set_lr(w, 1.05)
    msg = click_check(qtbot, w)
    assert msg.startswith("Not yet:") and "GD" in msg and "1.05" in msg
    set_lr(w, 0.95)
    assert p.verdict.text() == ""  # new runs: the verdict about the old ones is gone
    assert click_check(qtbot, w).startswith("Yes:")

    # step 3 keeps the student's scene (it changes nothing): lr = 0.95 is too slow
    w.labs.steps.actions["next"].trigger()
    assert lane_lr(w) == 0.95
    msg = click_check(qtbot, w)
    assert msg.startswith("Not yet:") and "within 3 steps" in msg
    set_lr(w, 0.5)
    assert click_check(qtbot, w).startswith("Yes: GD converged at step")
    assert p.progress.text() == "Step 3 of 3 \u00b7 3 of 3 checks passed"
    assert not p.next_button.isEnabled() and not w.labs.steps.actions["next"].isEnabled()

    # Back: the scene step 2 was left with; Next again: step 3's as it was left
    w.labs.steps.actions["back"].trigger()
    assert lane_lr(w) == 0.95 and "Step 2 of 3" in p.text()
    assert p.verdict.text().startswith("Done")  # its check passed before
    w.labs.steps.go(1)
    assert lane_lr(w) == 0.5
    w.labs.steps.go(-1)
    w.labs.steps.go(-1)
    assert [ln.name for ln in w.session.lanes] == [ln.name for ln in lab.lanes]


def test_hints_revealed_in_order(window, qtbot):
    w = window
    lab = labs.load_lab(LAB)
    assert lab_dialogs.open_lab_ref(w, LAB)
    p = panel(w)
    hints = lab.steps[0].hints
    assert len(hints) == 2
    assert "Hint 1" not in p.text() and p.hint_button.isEnabled()
    qtbot.mouseClick(p.hint_button, Qt.MouseButton.LeftButton)
    assert "Hint 1: " + hints[0] in p.text() and "Hint 2" not in p.text()
    assert hints[1] not in p.text()
    w.labs.steps.actions["hint"].trigger()
    t = p.text()
    assert t.index("Hint 1: " + hints[0]) < t.index("Hint 2: " + hints[1])
    assert not p.hint_button.isEnabled() and not w.labs.steps.actions["hint"].isEnabled()
    # each step has its own hints
    w.labs.steps.go(1)
    assert "Hint 1" not in p.text() and p.hint_button.isEnabled()


def test_buttons_teach_and_name_their_keys(window):
    w = window
    lab_dialogs.open_lab_ref(w, LAB)
    p = panel(w)
    assert "Ctrl+Return" in p.check_button.toolTip()
    assert "scene and the runs as they are now" in p.check_button.toolTip()
    assert "Ctrl+H" in p.hint_button.toolTip()
    assert "Alt+Right" in p.next_button.toolTip() and "Alt+Left" in p.back_button.toolTip()
    texts = [a.text().replace("&", "") for a in w.menu(lab_dialogs.Menu.LAB).actions()]
    assert "Check Answer" in texts and "Restart Lab" in texts and "Open Lab\u2026" in texts
    table = w.show_shortcuts().table  # Help > Keyboard Shortcuts lists them
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert rows["Check Answer"] == "Ctrl+Return" and rows["Next Step"] == "Alt+Right"


def test_progress_survives_a_restart_and_restart_lab(qtbot):
    w = make_window(qtbot, restore=True)
    lab = labs.load_lab(LAB)
    assert lab_dialogs.open_lab_ref(w, LAB)
    w.labs.steps.choose(2)
    assert w.labs.steps.check()[0]
    w.labs.steps.show_hint()
    w.labs.steps.go(1)
    set_lr(w, 0.93)
    w.close()  # saves the scene; the progress is stored already

    w2 = make_window(qtbot, restore=True)
    qtbot.waitUntil(lambda: w2.lab is not None)  # shown again over the restored scene
    p = panel(w2)
    assert w2.lab.id == LAB and lane_lr(w2) == 0.93
    assert "Step 2 of 3" in p.text()
    assert p.progress.text() == "Step 2 of 3 \u00b7 1 of 3 checks passed"
    w2.labs.steps.go(-1)  # the scene step 1 had is the author's after a restart
    assert [ln.name for ln in w2.session.lanes] == [ln.name for ln in lab.lanes]
    assert "Hint 1:" in p.text() and "Hint 2:" not in p.text()
    assert p.verdict.text().startswith("Done")

    # opening the lab again from the list resumes at the stored step too
    w2.labs.steps.go(2)
    assert lab_dialogs.open_lab_ref(w2, LAB)
    assert "Step 3 of 3" in p.text()
    assert "at step 3 of 3, where you left it" in w2.statusBar().currentMessage()

    qtbot.mouseClick(p.restart_button, Qt.MouseButton.LeftButton)
    assert p.progress.text() == "Step 1 of 3 \u00b7 0 of 3 checks passed"
    assert "Hint 1" not in p.text()
    assert [ln.name for ln in w2.session.lanes] == [ln.name for ln in lab.lanes]
    stored = st.load_lab_progress(w2.settings, LAB, 3)
    assert stored.step == 0 and not stored.passed and not stored.hints


def test_version1_lab_shows_whole_and_is_reopened_after_a_restart(qtbot, tmp_path):
    w = make_window(qtbot, restore=True)
    v1 = tmp_path / "race-v1.json"  # every built-in lab has steps now: a version-1 file
    v1.write_text(json.dumps(labs.builtin_lab("race").to_dict(version=1)))
    assert lab_dialogs.open_lab_ref(w, str(v1))
    p = panel(w)
    assert not p.step_box.isVisible() and not p.restart_button.isVisible()
    assert "Questions" in p.text() and "Step 1" not in p.text()
    assert not w.labs.steps.actions["check"].isEnabled()
    w.close()
    w2 = make_window(qtbot, restore=True)
    qtbot.waitUntil(lambda: w2.lab is not None)
    assert w2.lab.id == "race" and "Questions" in panel(w2).text()
    assert not panel(w2).step_box.isVisible()


def test_closing_the_lab_and_a_session_file_leave_the_steps(window, qtbot):
    w = window
    lab_dialogs.open_lab_ref(w, LAB)
    panel(w).close_requested.emit()
    assert w.lab is None and not panel(w).step_box.isVisible()
    assert not w.labs.steps.actions["next"].isEnabled()
    lab_dialogs.open_lab_ref(w, LAB)
    w.new_scene()  # a scene that is no lab's
    assert w.lab is None and not panel(w).step_box.isVisible()


def test_bad_step_lab_gives_every_problem_and_keeps_the_scene(window, tmp_path):
    w = window
    before = w.session.to_dict()
    data = labs.load_lab(LAB).to_dict()
    data["steps"][0]["task"]["check"]["kind"] = "choise"
    data["steps"][1]["task"]["check"]["checks"][0]["lane"] = ""
    data["steps"][2]["task"]["hints"] = "not a list"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert not lab_dialogs.open_lab_ref(w, str(path))
    detail = w.last_message_box.informativeText()
    assert "steps[0].task.check.kind" in detail and "did you mean 'choice'" in detail
    assert "steps[1].task.check.checks[0].lane" in detail
    assert "steps[2].task.hints" in detail and "current scene was kept" in detail
    assert w.session.to_dict() == before and w.lab is None


def test_step_scene_that_cannot_be_made_is_refused_with_the_reason(window, monkeypatch):
    w = window
    lab_dialogs.open_lab_ref(w, LAB)

    def refuse(self, scene):
        raise ValueError("start: (9.0,) is outside the domain")

    monkeypatch.setattr(labs.Step, "apply", refuse)
    before = w.session.to_dict()
    assert not w.labs.steps.go(1)
    assert panel(w).verdict.text() == ("Step 2 cannot be shown: start: (9.0,) is outside "
                                       "the domain")
    assert w.session.to_dict() == before and "Step 1 of 3" in panel(w).text()


def test_check_key_commits_a_number_being_typed(window, qtbot):
    w = window
    lab_dialogs.open_lab_ref(w, LAB)
    w.labs.steps.go(1)
    w.dock_training.raise_()
    w.session.select_lane(0)
    entry = w.training_panel.lr_field.entry
    entry.setFocus()
    qtbot.waitUntil(entry.hasFocus)
    entry.selectAll()
    qtbot.keyClicks(entry, "0.95")  # typed, no Enter: then Ctrl+Return
    qtbot.keyClick(entry, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert lane_lr(w) == 0.95
    assert panel(w).verdict.text().startswith("Yes:")


def test_check_on_a_scene_the_task_cannot_use_says_why(window, monkeypatch):
    w = window
    lab_dialogs.open_lab_ref(w, LAB)
    w.labs.steps.go(1)
    w.session.update_lane(0, name="Mine")
    ok, msg = w.labs.steps.check()
    assert not ok and msg == "The task needs the lane 'GD'; your lanes are 'Mine'."
    w.session.update_lane(0, name="GD", enabled=False)
    ok, msg = w.labs.steps.check()
    assert not ok and "switched off" in msg

    def broken(self, scene, runs=None, answer=None):
        raise RuntimeError("numbers went wrong")

    monkeypatch.setattr(labs.Step, "check", broken)
    assert w.labs.steps.check() == (False, "The check could not run: numbers went wrong")
    assert panel(w).verdict.text() == "The check could not run: numbers went wrong"
    assert 1 not in w.labs.steps.progress.passed


def test_verdict_colours_follow_the_theme(window, qtbot):
    from PySide6.QtGui import QPalette

    from simulator.gui import palette

    w = window
    lab_dialogs.open_lab_ref(w, LAB)
    w.labs.steps.check()  # no answer: not passed

    def shown():
        return panel(w).verdict.palette().color(QPalette.ColorRole.WindowText).name()

    w.set_theme("light")
    qtbot.waitUntil(lambda: shown() == "#b3261e")
    w.set_theme("dark")  # the palette change arrives as an event
    qtbot.waitUntil(lambda: shown() == palette.error_color().lower() == "#ff8a7a")
    w.labs.steps.choose(2)
    w.labs.steps.check()
    assert shown() == palette.success_color().lower()


def test_presentation_mode_keeps_the_step_readable(window, qtbot):
    w = window
    lab_dialogs.open_lab_ref(w, LAB)
    w.labs.steps.choose(1)
    w.labs.steps.check()
    w.presentation = True
    qtbot.wait(50)
    p = panel(w)
    assert w.dock_instructions.isVisible() and p.step_box.isVisible()
    assert p.check_button.font().pointSizeF() > 1.5 * w.presenting._saved.font.pointSizeF()
    for b in (p.check_button, p.hint_button, p.back_button, p.next_button,
              p.restart_button, p.close_button, p.open_button):
        assert b.width() >= b.sizeHint().width(), b.text()  # no clipped button text
    for lab in [p.prompt, p.verdict, p.progress] + [o.label for o in p.options]:
        assert lab.height() >= lab.heightForWidth(lab.width()), lab.text()
    w.presentation = False


# ---- Save as Lab of a lab made of steps -------------------------------------------------------
def test_save_as_lab_of_a_lab_made_of_steps_keeps_its_steps(window, tmp_path):
    from simulator.cli import main

    w = window
    lab = labs.load_lab(LAB)
    assert lab_dialogs.open_lab_ref(w, LAB)
    w.labs.steps.restart()
    # saved unchanged at its first step: the same lab under the new texts
    dlg = lab_dialogs.SaveLabDialog(w)
    assert dlg.instructions.toPlainText() == lab.steps[0].text
    dlg.title.setText("My steps")
    dlg.lab_id.setText("")  # the id from the title
    out = tmp_path / "same.json"
    assert lab_dialogs.save_lab_as(w, str(out), dialog=dlg)
    same = labs.load_lab(out)
    assert same.id == "my-steps" and same.version == 2
    assert {**same.to_dict(), "id": LAB, "title": lab.title} == lab.to_dict()
    assert main(["validate", "-q", str(out)]) == 0

    # at step 2 with a learning rate of the author's: every step, task, check, hint and
    # solution kept, the step's text and questions as edited, the scene as shown
    assert lab_dialogs.open_lab_ref(w, LAB)
    assert w.labs.steps.go(1)
    set_lr(w, 0.7)
    dlg = lab_dialogs.SaveLabDialog(w)
    assert dlg.instructions.toPlainText() == lab.steps[1].text
    assert dlg.questions.toPlainText() == "\n".join(lab.steps[1].questions)
    assert "becomes step 2's scene" in dlg.note.text()
    dlg.title.setText("Steps again")
    dlg.lab_id.setText("steps-again")
    dlg.instructions.setPlainText("Find the limit.")
    out = tmp_path / "mine.json"
    assert lab_dialogs.save_lab_as(w, str(out), dialog=dlg)
    assert main(["validate", "-q", str(out)]) == 0
    again = labs.load_lab(out)
    assert len(again.steps) == 3
    for a, b in zip(again.steps, lab.steps):
        assert a.title == b.title and a.questions == b.questions
        assert a.task.to_dict() == b.task.to_dict()  # prompt, check, hints, solution
    assert again.steps[1].text == "<p>Find the limit.</p>"
    assert [s.text for s in again.steps[::2]] == [s.text for s in lab.steps[::2]]
    assert again.scene(step=1).lanes[0].optimizer.lr == 0.7
    assert again.scene(step=0).to_dict()["lanes"] == lab.scene(step=0).to_dict()["lanes"]
    # the window shows the saved lab at the step it was on
    assert w.lab.id == "steps-again" and w.labs.steps.index == 1
    assert "Step 2 of 3" in panel(w).text()
    assert lab_dialogs.open_lab_ref(w, str(out))
