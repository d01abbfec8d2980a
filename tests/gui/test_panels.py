"""Surface, lanes and training panels driven through their widgets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel

from simulator.core.library import get_surface
from simulator.core.optimizers import SGD, Adam
from simulator.core.schedules import StepLR
from simulator.gui.panels import NumberField, PairField, parse_number
from simulator.gui.panels.lanes_panel import LanesPanel, status_text
from simulator.gui.panels.surface_panel import SurfacePanel
from simulator.gui.panels.training_panel import ScheduleEditor, TrainingPanel
from simulator.gui.session import Session


@pytest.fixture
def session(qtbot):
    s = Session()
    s.flush()
    return s


def _labels(form):
    out = []
    for r in range(form.rowCount()):
        item = form.itemAt(r, form.ItemRole.LabelRole)
        if item is not None and isinstance(item.widget(), QLabel):
            out.append(item.widget().text())
    return out


# ---- shared fields ----------------------------------------------------------------------
def test_parse_number():
    assert parse_number("1e-3") == 0.001
    assert parse_number(" 0,5 ") == 0.5
    assert parse_number("12", integer=True) == 12
    for bad in ("", "abc", "nan", "inf", "1.5"):
        with pytest.raises(ValueError):
            parse_number(bad, integer=bad == "1.5")


def test_number_field_entry_and_slider(qtbot):
    f = NumberField(1e-4, 1.0, log=True, value=0.01, minimum=0.0)
    qtbot.addWidget(f)
    seen = []
    f.edited.connect(seen.append)
    f.entry.setText("5")  # beyond the slider: allowed
    f.entry.editingFinished.emit()
    assert seen == [5.0] and f.value() == 5.0
    assert f.slider.value() == f.slider.maximum()
    f.entry.setText("-1")
    f.entry.editingFinished.emit()
    assert seen == [5.0] and f.value() == 5.0
    assert not f.error.isHidden() and "at least" in f.error.text()
    f.slider.setValue(0)
    assert seen[-1] == pytest.approx(1e-4) and f.error.isHidden()


# ---- lanes ---------------------------------------------------------------------------------
def test_lanes_list_mirrors_session(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    assert p.tree.topLevelItemCount() == 4
    assert p.tree.topLevelItem(1).text(0) == "Momentum"
    p.add_preset("Nesterov")
    assert len(session.lanes) == 5 and p.tree.topLevelItemCount() == 5
    assert session.selected_lane == 4
    assert session.lanes[4].optimizer.nesterov
    p.duplicate_selected()
    assert len(session.lanes) == 6 and session.selected_lane == 5
    p.remove_selected()
    p.remove_selected()
    assert len(session.lanes) == 4 and p.tree.topLevelItemCount() == 4


def test_selecting_a_row_selects_the_lane(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    p.tree.setCurrentItem(p.tree.topLevelItem(2))
    assert session.selected_lane == 2
    session.select_lane(3)
    assert p.tree.currentItem() is p.tree.topLevelItem(3)
    assert p.editor.name_edit.text() == "Adam"


def test_unchecking_a_lane_disables_it(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    p.tree.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)
    assert not session.lanes[0].enabled
    session.flush()
    assert session.lanes[0].uid not in session.results
    assert p.tree.topLevelItem(0).text(1) == "off"


def test_editor_shows_only_the_optimizers_hyperparameters(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    session.select_lane(1)  # SGD with momentum
    labels = _labels(p.editor.hp_form)
    assert labels == [hp.label for hp in SGD.schema]
    session.select_lane(3)  # Adam
    labels = _labels(p.editor.hp_form)
    assert labels == [hp.label for hp in Adam.schema]
    assert "momentum" not in labels
    betas = p.editor._hp_fields["betas"]
    assert isinstance(betas, PairField) and betas.value() == (0.9, 0.999)
    amsgrad = p.editor._hp_fields["amsgrad"]
    assert isinstance(amsgrad, QCheckBox) and not amsgrad.isChecked()


def test_a_lane_of_the_same_optimizer_keeps_the_editors_fields(session, qtbot):
    """Selecting another lane of the same optimizer shows its values in the same
    fields (building them again was most of a lane switch), and edits reach it."""
    p = LanesPanel(session)
    qtbot.addWidget(p)
    session.add_preset("Adam")
    other = len(session.lanes) - 1
    session.update_lane(other, weight_decay=0.25)
    session.flush()
    session.select_lane(3)  # Adam
    fields = dict(p.editor._hp_fields)
    wd = fields["weight_decay"]
    assert wd.value() == session.lanes[3].optimizer.weight_decay == 0.0
    session.select_lane(other)  # Adam too
    assert p.editor._hp_fields == fields  # the same widgets
    assert wd.value() == 0.25
    wd.entry.setText("0.5")
    wd.entry.editingFinished.emit()
    assert session.lanes[other].optimizer.weight_decay == 0.5
    assert session.lanes[3].optimizer.weight_decay == 0.0


def test_a_number_field_opens_no_window_while_it_is_built(qtbot):
    """Its parts are children from the start: a part shown without a parent becomes a
    window of its own for a moment (a native window on X11, about 10 ms a field)."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    shown = []

    class Spy(QObject):
        def eventFilter(self, obj, ev):  # noqa: N802 - Qt API
            if ev.type() == QEvent.Type.Show and obj.isWidgetType() and obj.isWindow():
                shown.append(type(obj).__name__)
            return False

    spy = Spy()
    QApplication.instance().installEventFilter(spy)
    try:
        f = NumberField(1e-4, 1.0, log=True, value=0.01)
    finally:
        QApplication.instance().removeEventFilter(spy)
    qtbot.addWidget(f)
    assert shown == []
    assert f.slider.parent() is f and f.entry.parent() is f


def test_editor_edits_reach_the_session(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    session.select_lane(1)
    mom = p.editor._hp_fields["momentum"]
    mom.entry.setText("0.5")
    mom.entry.editingFinished.emit()
    assert session.lanes[1].optimizer.momentum == 0.5
    # Nesterov needs zero dampening: the refusal is shown and nothing changes
    p.editor._hp_fields["dampening"].entry.setText("0.3")
    p.editor._hp_fields["dampening"].entry.editingFinished.emit()
    p.editor._hp_fields["nesterov"].setChecked(True)
    assert not session.lanes[1].optimizer.nesterov
    assert not p.editor.message.isHidden()
    # switching the optimizer: torch defaults, a learning rate that moves on this
    # surface, the lane renamed after it, and the new schema in the editor
    p.editor.opt_combo.setCurrentIndex(p.editor.opt_combo.findData("RMSprop"))
    opt = session.lanes[1].optimizer
    assert type(opt).__name__ == "RMSprop"
    assert opt.alpha == 0.99 and opt.lr == 0.01
    assert session.lanes[1].name == "RMSprop 2"  # "RMSprop" is taken by lane 3
    assert "alpha" in p.editor._hp_fields
    # name
    p.editor.name_edit.setText("mine")
    p.editor.name_edit.editingFinished.emit()
    assert session.lanes[1].name == "mine"
    assert p.tree.topLevelItem(1).text(0) == "mine"


def test_editor_overrides(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    session.select_lane(0)
    ed = p.editor
    ed.noise.check.setChecked(True)
    ed.noise.field.entry.setText("0.5")
    ed.noise.field.entry.editingFinished.emit()
    assert session.lanes[0].noise == 0.5
    ed.start_check.setChecked(True)
    assert session.lanes[0].start == session.start
    ed.start_field.entries[0].setText("0.25")
    ed.start_field.entries[0].editingFinished.emit()
    assert session.lanes[0].start[0] == 0.25
    ed.sched_editor.combo.setCurrentIndex(ed.sched_editor.combo.findData("StepLR"))
    assert isinstance(session.lanes[0].schedule, StepLR)
    ed.sched_editor.combo.setCurrentIndex(0)  # back to the global schedule
    assert session.lanes[0].schedule is None


def test_status_badges(session, qtbot):
    p = LanesPanel(session)
    qtbot.addWidget(p)
    session.set_surface(get_surface("quadratic"))
    session.set_start((2.0, 1.0))
    session.update_lane(0, lr=0.1)
    session.update_lane(1, lr=5.0)  # beyond 2(1 + momentum)/curvature: diverges
    session.flush()
    run = session.results[session.lanes[0].uid]
    assert run.status == "converged"
    text = p.tree.topLevelItem(0).text(1)
    assert text == f"converged at step {run.status_step}"
    assert "diverged" in p.tree.topLevelItem(1).text(1)
    assert p.tree.topLevelItem(0).toolTip(1) == run.status_reason


def test_status_text_without_step():
    assert status_text(None) == "off"
    assert status_text(None, "boom") == "error"


# ---- training ----------------------------------------------------------------------------
def test_training_learning_rate_follows_the_selected_lane(session, qtbot):
    p = TrainingPanel(session)
    qtbot.addWidget(p)
    session.select_lane(3)
    assert p.lr_field.value() == session.lanes[3].optimizer.lr
    assert "Adam" in p.lr_title.text()
    p.lr_field.entry.setText("0.2")
    p.lr_field.entry.editingFinished.emit()
    assert session.lanes[3].optimizer.lr == 0.2
    p.lr_all.click()
    assert all(lane.optimizer.lr == 0.2 for lane in session.lanes)


def test_training_bad_entry_keeps_value(session, qtbot):
    p = TrainingPanel(session)
    qtbot.addWidget(p)
    session.select_lane(0)
    lr = session.lanes[0].optimizer.lr
    p.lr_field.entry.setText("abc")
    p.lr_field.entry.editingFinished.emit()
    assert session.lanes[0].optimizer.lr == lr
    assert "not a number" in p.lr_field.error.text()
    p.noise_field.entry.setText("-2")
    p.noise_field.entry.editingFinished.emit()
    assert session.noise == 0.0 and not p.noise_field.error.isHidden()


def test_training_schedule_steps_seed_noise_clip(session, qtbot):
    p = TrainingPanel(session)
    qtbot.addWidget(p)
    p.show()  # the preview draws only while visible
    ed = p.schedule_editor
    ed.combo.setCurrentIndex(ed.combo.findData("CosineAnnealingLR"))
    assert session.schedule.name == "CosineAnnealingLR"
    assert session.schedule.T_max == session.steps  # defaults fitted to the run
    assert "cos" in ed.formula.text()
    assert len(p.preview.getPlotItem().listDataItems()) == 4
    session.update_lane(0, enabled=False)
    assert len(p.preview.getPlotItem().listDataItems()) == 3
    session.update_lane(0, enabled=True)
    w, kind = ed._inputs["eta_min"]
    w.setText("-1")
    w.editingFinished.emit()
    assert session.schedule.eta_min == 0.0 and not ed.error.isHidden()
    p.steps_box.setValue(250)
    assert session.steps == 250
    p.seed_box.setValue(9)
    assert session.seed == 9
    p.noise_field.entry.setText("0.3")
    p.noise_field.entry.editingFinished.emit()
    assert session.noise == 0.3
    p.clip.check.setChecked(True)
    assert session.clip_grad_norm == p.clip.field.value()
    p.clip.check.setChecked(False)
    assert session.clip_grad_norm is None


def test_batch_size_only_on_data_surfaces(session, qtbot):
    p = TrainingPanel(session)
    qtbot.addWidget(p)
    assert not p.batch.isEnabled()
    session.set_surface(get_surface("logistic-regression"))
    assert p.batch.isEnabled()
    p.batch.check.setChecked(True)
    assert session.batch_size == p.batch.field.value()


def test_schedule_editor_lists_schedules_with_formulas(qtbot):
    ed = ScheduleEditor()
    qtbot.addWidget(ed)
    names = [ed.combo.itemData(i) for i in range(ed.combo.count())]
    assert {"ConstantSchedule", "StepLR", "CosineAnnealingLR", "OneCycleLR"} <= set(names)
    for i in range(ed.combo.count()):
        assert ed.combo.itemData(i, Qt.ItemDataRole.ToolTipRole)


# ---- surface --------------------------------------------------------------------------------
def test_surface_library_groups_and_picks(session, qtbot):
    p = SurfacePanel(session)
    qtbot.addWidget(p)
    groups = [p.tree.topLevelItem(i).text(0) for i in range(p.tree.topLevelItemCount())]
    assert groups[:2] == ["2-D surfaces", "1-D curves"]
    assert "rosenbrock" in p.title.text()
    assert "banana" in p.description.text().lower() or p.description.text()
    p.tree.setCurrentItem(p._item_for("ravine"))
    assert session.surface.name == "ravine"
    assert set(p._param_fields) == {"condition", "angle"}
    p.tree.setCurrentItem(p._item_for("parabola"))
    assert session.surface.dim == 1
    assert p.domain_y.isHidden()


def test_surface_parameter_slider(session, qtbot):
    p = SurfacePanel(session)
    qtbot.addWidget(p)
    p.tree.setCurrentItem(p._item_for("ravine"))
    f = p._param_fields["condition"]
    f.entry.setText("100")
    f.entry.editingFinished.emit()
    assert session.surface.params["condition"] == 100
    f.entry.setText("1e6")  # out of the surface's range: refused
    f.entry.editingFinished.emit()
    assert session.surface.params["condition"] == 100
    assert not f.error.isHidden()


def test_surface_domain_edit_and_reset(session, qtbot):
    p = SurfacePanel(session)
    qtbot.addWidget(p)
    p.domain_x.entries[1].setText("3")
    p.domain_x.entries[1].editingFinished.emit()
    assert session.surface.domain[0] == (-2.0, 3.0)
    p.domain_x.entries[0].setText("5")  # from > to: refused
    p.domain_x.entries[0].editingFinished.emit()
    assert session.surface.domain[0] == (-2.0, 3.0)
    assert not p.message.isHidden()
    p.domain_reset.click()
    assert session.surface.domain == get_surface("rosenbrock").domain


def test_surface_panel_has_room_for_more_sections(session, qtbot):
    p = SurfacePanel(session)
    qtbot.addWidget(p)
    extra = QLabel("formula goes here")
    p.add_section("Formula", extra)
    assert extra.parent() is not None


def test_schedule_editor_shows_a_sequential_schedule(qtbot):
    from simulator.core.schedules import CosineAnnealingLR, LinearLR, SequentialLR

    ed = ScheduleEditor()
    qtbot.addWidget(ed)
    seq = SequentialLR(schedulers=(LinearLR(total_iters=10), CosineAnnealingLR(T_max=90)),
                       milestones=(10,))
    ed.set_schedule(seq)
    assert ed.combo.currentData() == "SequentialLR"
    assert ed.schedule() is seq
    ed.combo.setCurrentIndex(ed.combo.findData("StepLR"))
    assert ed.schedule().name == "StepLR"


def test_schedule_editor_shows_a_chain_holding_a_sequential_schedule(qtbot):
    from simulator.core.schedules import (
        ChainedScheduler,
        CosineAnnealingLR,
        ExponentialLR,
        LinearLR,
        SequentialLR,
    )

    ed = ScheduleEditor()
    qtbot.addWidget(ed)
    chain = ChainedScheduler([SequentialLR([LinearLR(total_iters=10), CosineAnnealingLR(90)],
                                           [10]), ExponentialLR(0.99)])
    ed.set_schedule(chain)
    assert ed.combo.currentData() == "ChainedScheduler" and ed.schedule() is chain
    assert "SequentialLR(" in ed.formula.text() and "\u2192" in ed.formula.text()


def test_renaming_a_lane_does_not_rerun(session, qtbot):
    count = []
    session.trajectories_changed.connect(lambda: count.append(1))
    session.update_lane(0, name="slow", color="#E69F00")
    qtbot.wait(30)
    assert count == [] and session.lanes[0].name == "slow"


def _wheel(widget, dy=-120):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0),
                     QPoint(0, dy), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)
    return ev


def test_the_wheel_scrolls_the_panel_not_the_slider_under_the_mouse(qtbot):
    from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

    area = QScrollArea()
    host = QWidget()
    lay = QVBoxLayout(host)
    f = NumberField(1e-4, 1.0, log=True, value=0.01, minimum=0.0)
    lay.addWidget(f)
    lay.addSpacing(2000)
    area.setWidget(host)
    area.resize(300, 200)
    qtbot.addWidget(area)
    area.show()
    qtbot.waitExposed(area)
    tick = f.slider.value()
    ev = _wheel(f.slider)
    assert f.slider.value() == tick  # unfocused: the slider kept its value...
    # ...and left the event unaccepted, so Qt hands a real (spontaneous) wheel event
    # on to the scroll area (synthesized events like this one are not propagated)
    assert not ev.isAccepted()
    f.slider.setFocus()
    qtbot.waitUntil(f.slider.hasFocus)
    _wheel(f.slider)
    assert f.slider.value() != tick  # focused: the wheel moves it


def test_picking_a_surface_brings_its_race_unless_lanes_were_edited(session, qtbot):
    from simulator.core.scene import RACES

    p = SurfacePanel(session)
    qtbot.addWidget(p)
    assert session.scene.is_race()  # the first screen: Rosenbrock's race
    p.tree.setCurrentItem(p._item_for("rastrigin"))
    race = RACES["rastrigin"]
    assert tuple(session.start) == race.start
    assert [lane.name for lane in session.lanes] == [name for name, _lr in race.lanes]
    assert [lane.optimizer.lr for lane in session.lanes] == [lr for _n, lr in race.lanes]
    session.update_lane(0, lr=0.0042)  # the user's own lane: kept from now on
    p.tree.setCurrentItem(p._item_for("ackley"))
    assert session.lanes[0].optimizer.lr == 0.0042
    assert tuple(session.start) != RACES["ackley"].start
    assert p.race_button.isEnabled()
    p.race_button.click()  # asked for: the race again
    assert tuple(session.start) == RACES["ackley"].start and session.scene.is_race()
    session.flush()
    assert len(session.results) == len(RACES["ackley"].lanes)
