"""The diagnostics panel: numbers at a known point, the stability warning, the step
table and its copy text, critical points and saddle episodes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from simulator.core.expressions import surface_from_expression
from simulator.core.library import get_surface
from simulator.core.optimizers import SGD, Adam
from simulator.gui.analysis_cache import critical_points
from simulator.gui.panels.diagnostics_panel import DiagnosticsPanel, sgd_limit, step_rows
from simulator.gui.session import Session


@pytest.fixture
def quad(qtbot):
    """x^2 + 10 y^2: Hessian diag(2, 20), so 2/lambda_max = 0.1 everywhere."""
    s = Session()
    s.set_surface(surface_from_expression("x**2 + 10*y**2", domain=((-2, 2), (-2, 2))))
    s.set_start((1.5, 1.0))
    while len(s.lanes) > 1:
        s.remove_lane(len(s.lanes) - 1)
    s.update_lane(0, optimizer=SGD(lr=0.05), name="GD")
    s.select_lane(0)
    s.flush()
    yield s
    s._timer.stop()


def _panel(qtbot, s):
    p = DiagnosticsPanel(s)
    qtbot.addWidget(p)
    p.resize(420, 800)
    p.show()  # a hidden panel (behind another tab) waits until it is shown
    qtbot.waitExposed(p)
    return p


def test_numbers_at_a_known_point(qtbot, quad):
    p = _panel(qtbot, quad)
    p.show_cursor(np.array([0.5, -0.2]))
    box = p.cursor_box
    pa = box.analysis
    np.testing.assert_allclose(pa.eigenvalues, [2.0, 20.0])
    assert pa.max_stable_lr == pytest.approx(0.1)
    L = box.labels
    assert "0.1" in L["max_lr"].text()
    assert "+2" in L["eigenvalues"].text() and "+20" in L["eigenvalues"].text()
    assert L["condition"].text() == "10"
    assert L["value"].text() == f"{0.25 + 10 * 0.04:.6g}"
    assert "(1, -4)" in L["gradient"].text()
    assert "20" in L["hessian"].text()
    assert L["kind"].text() == "regular"
    assert not box.warning_shown()
    # the selected lane's box shows the lane's current point
    k = min(quad.frame, quad.results[quad.lanes[0].uid].n_steps)
    np.testing.assert_allclose(
        p.lane_box.analysis.position, quad.results[quad.lanes[0].uid].positions[k]
    )
    assert p.lane_box.title().startswith("GD at step")


def test_warning_when_learning_rate_exceeds_limit(qtbot, quad):
    p = _panel(qtbot, quad)
    assert not p.lane_box.warning_shown()
    quad.update_lane(0, lr=0.12)
    quad.flush()
    quad.set_frame(0)
    assert p.lane_box.warning_shown()
    text = p.lane_box.warning.text()
    assert "GD" in text and "0.12" in text and "0.1" in text
    p.show_cursor([0.1, 0.1])
    assert p.cursor_box.warning_shown()
    quad.update_lane(0, lr=0.09)
    quad.flush()
    assert not p.lane_box.warning_shown()


def test_refreshes_with_the_warning_keep_no_memory(qtbot, quad):
    """Issue 18's soak: during playback the panel refreshes 8 times a second, and each
    refresh with the warning shown kept another copy of the warning icon (a PNG as a
    data URI, about 1 KB: ``standardIcon`` gives a new QIcon, with a new cache key, on
    every call). Memory allocated by the panel's module and still held after many
    refreshes stays what it was after a few."""
    import tracemalloc

    from simulator.gui.panels import diagnostics_panel

    p = _panel(qtbot, quad)
    quad.update_lane(0, lr=0.12)  # above 2/lambda_max: the warning, with its icon
    quad.flush()

    def refresh(n):
        for i in range(n):
            quad.set_frame(i % 20)
        assert p.lane_box.warning_shown() and "<img" in p.lane_box.warning.text()

    only_panel = [tracemalloc.Filter(True, diagnostics_panel.__file__)]
    tracemalloc.start()
    try:
        refresh(10)
        before = tracemalloc.take_snapshot().filter_traces(only_panel)
        refresh(300)
        after = tracemalloc.take_snapshot().filter_traces(only_panel)
    finally:
        tracemalloc.stop()
    grown = sum(st.size_diff for st in after.compare_to(before, "filename"))
    assert grown < 30_000, f"{grown} bytes more after 300 refreshes"  # was 300 x 1 KB


def test_adaptive_lanes_get_a_note_not_a_warning(qtbot, quad):
    quad.update_lane(0, optimizer=Adam(lr=0.5))
    quad.flush()
    p = _panel(qtbot, quad)
    assert not p.lane_box.warning_shown()
    assert not p.lane_box.note.isHidden()
    assert "GD" in p.lane_box.note.text() and "adaptive" in p.lane_box.note.text()


def test_momentum_limit():
    assert sgd_limit(SGD(lr=0.1), 20.0) == pytest.approx(0.1)
    assert sgd_limit(SGD(lr=0.1, momentum=0.9), 20.0) == pytest.approx(0.19)
    assert sgd_limit(Adam(), 20.0) is None


def test_undefined_here(qtbot, quad):
    quad.set_surface(surface_from_expression("log(x) + y**2", domain=((-1, 2), (-1, 1))))
    quad.set_start((1.0, 0.5))
    quad.flush()
    p = _panel(qtbot, quad)
    p.show_cursor([-0.5, 0.0])
    assert p.cursor_box.labels["value"].text() == "undefined here"
    assert p.cursor_box.labels["eigenvalues"].text() == "undefined here"
    p.show_cursor(None)
    assert p.cursor_box.analysis is None


def test_step_table_and_copy(qtbot, quad):
    p = _panel(qtbot, quad)
    run = quad.results[quad.lanes[0].uid]
    m = p.model
    assert m.rowCount() == len(run.positions)
    headers = [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())]
    assert headers == ["step", "x", "y", "loss", "dL/dx", "dL/dy", "learning rate"]
    # select rows 1-2 and press Ctrl+C
    sel = p.table.selectionModel()
    for r in (1, 2):
        sel.select(
            m.index(r, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    p.table.setFocus()
    QTest.keySequence(p.table, "Ctrl+C")
    text = QGuiApplication.clipboard().text()
    lines = text.strip().split("\n")
    assert lines[0].split("\t") == headers
    assert len(lines) == 3
    cells = lines[1].split("\t")
    assert cells[0] == "1"
    assert float(cells[1]) == pytest.approx(run.positions[1, 0], rel=1e-12)
    assert float(cells[3]) == pytest.approx(run.losses[1], rel=1e-12)
    assert float(cells[6]) == pytest.approx(0.05)
    # by hand: x1 = x0 - lr * 2 x0 = 1.5 - 0.05 * 3 = 1.35
    assert float(cells[1]) == pytest.approx(1.35)

    text = p.copy_all()
    assert QGuiApplication.clipboard().text() == text
    assert len(text.strip().split("\n")) == len(run.positions) + 1


def test_step_table_follows_selected_lane_and_frame(qtbot):
    s = Session()
    s.flush()
    p = _panel(qtbot, s)
    s.select_lane(2)
    assert s.lanes[2].name in p.steps_label.text()
    s.set_frame(7)
    assert p.model.current == 7
    s._timer.stop()


def test_step_table_columns_fit_the_last_steps_too(qtbot):
    """Columns are as wide as their widest text, the last rows included: step 1000 and
    a converged loss like 6.56332e-28 (they were cut to "1..." and "6.563...")."""
    s = Session()
    s.set_surface(get_surface("himmelblau"))
    s.flush()
    p = _panel(qtbot, s)
    model, table = p.model, p.table
    n = model.rowCount()
    assert n > 1000
    fm = table.fontMetrics()
    for c in range(model.columnCount()):
        widest = max(fm.horizontalAdvance(model.cell_text(r, c)) for r in (0, n // 2, n - 1))
        assert table.columnWidth(c) >= widest + 8, (c, model.cell_text(n - 1, c))
    s._timer.stop()


def test_critical_points_listed_and_double_click_sets_start(qtbot):
    s = Session()
    s.set_surface(get_surface("himmelblau"))
    s.flush()
    critical_points(s.surface)
    p = _panel(qtbot, s)
    model = p.cp_table.model()
    kinds = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert all(model.index(r, 1).data().startswith("(") for r in range(model.rowCount()))
    assert "saddle" in model.index(kinds.index("saddle"), 2).data(Qt.ItemDataRole.ToolTipRole)
    assert kinds.count("minimum") == 4 and kinds.count("saddle") == 4
    row = kinds.index("saddle")
    p.cp_table.clicked.emit(model.index(row, 1))  # what a click on the row sends
    assert p.cursor_box.labels["kind"].text() == "saddle"
    p.cp_table.doubleClicked.emit(model.index(row, 0))
    np.testing.assert_allclose(s.start, p._cps[row].position)
    s._timer.stop()


def test_saddle_episodes_in_words(qtbot):
    s = Session()
    s.set_surface(get_surface("saddle"))
    s.set_start((1.0, 1e-4))
    while len(s.lanes) > 1:
        s.remove_lane(len(s.lanes) - 1)
    s.update_lane(0, optimizer=SGD(lr=0.05), name="GD")
    s.flush()
    critical_points(s.surface)
    p = _panel(qtbot, s)
    texts = p.saddle_texts()
    assert any(t.startswith("GD ") and "saddle" in t for t in texts), texts
    s._timer.stop()


def test_step_table_is_refilled_only_when_the_selected_lanes_run_changes(qtbot):
    s = Session()
    s.flush()
    p = _panel(qtbot, s)
    s.select_lane(0)
    resets, changed = [], []
    p.model.modelReset.connect(lambda: resets.append(1))
    p.model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    s.update_lane(1, lr=s.lanes[1].optimizer.lr * 2)  # another lane
    s.flush()
    assert resets == [] and all(a == b for a, b in changed)  # at most the current row
    changed.clear()
    s.update_lane(0, lr=s.lanes[0].optimizer.lr * 2)  # the selected lane: same shape
    s.flush()
    run = s.results[s.lanes[0].uid]
    n = len(run.table())
    assert resets == [] and (0, n - 1) in changed  # new values in place, no re-layout
    assert p.model.rowCount() == n
    assert np.allclose(p.model._table, step_rows(run), equal_nan=True)
    s.set_training(steps=s.steps // 2)  # fewer rows: the model is reset
    s.flush()
    assert resets == [1]
    assert p.model.rowCount() == len(s.results[s.lanes[0].uid].table())
    s.select_lane(1)
    assert p.model.rowCount() == len(s.results[s.lanes[1].uid].table())
    assert np.allclose(p.model._table, step_rows(s.results[s.lanes[1].uid]),
                       equal_nan=True)


def test_step_table_text_is_cached_per_run(qtbot, quad):
    from PySide6.QtCore import QModelIndex

    p = _panel(qtbot, quad)
    m = p.model
    assert m.data(QModelIndex()) is None
    run = quad.results[quad.lanes[0].uid]
    assert m.data(m.index(1, 1)) == f"{run.positions[1][0]:.6g}"
    assert m.data(m.index(1, 1), 0) == f"{run.positions[1][0]:.6g}"  # a view passes ints
    assert m.data(m.index(1, 1), Qt.ItemDataRole.TextAlignmentRole) == int(
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    quad.update_lane(0, lr=0.02)
    quad.flush()
    run2 = quad.results[quad.lanes[0].uid]
    assert run2 is not run
    assert m.data(m.index(1, 1)) == f"{run2.positions[1][0]:.6g}"  # not the old text


def test_point_box_does_not_shrink_while_the_lane_plays(qtbot, quad):
    p = _panel(qtbot, quad)
    p.show()
    box = p.lane_box
    quad.update_lane(0, lr=0.15)  # above 2/lambda_max: a warning makes the box taller
    quad.flush()
    quad.set_frame(0)
    assert box.warning_shown()
    tall = box.minimumHeight()
    assert tall > 0
    quad.update_lane(0, lr=0.05)  # no warning: the box keeps its height (no relayout)
    quad.flush()
    assert not box.warning_shown()
    assert box.minimumHeight() == tall
    quad.select_lane(-1)
    quad.select_lane(0)  # another selection: the box fits its text again
    assert box.minimumHeight() <= tall


def test_readouts_refresh_a_few_times_a_second_while_playing(qtbot, quad):
    from simulator.gui.panels.diagnostics_panel import PLAY_REFRESH_MS

    p = _panel(qtbot, quad)
    quad.set_frame(3)
    assert p.lane_box.title().endswith("step 3")
    p.set_playing(True)
    quad.set_frame(4)
    quad.set_frame(5)
    assert p.lane_box.title().endswith("step 3")  # not yet: the next refresh is timed
    qtbot.waitUntil(lambda: p.lane_box.title().endswith("step 5"),
                    timeout=PLAY_REFRESH_MS * 20)
    top = p.table.rowAt(0)
    quad.set_frame(40)
    qtbot.waitUntil(lambda: p.lane_box.title().endswith("step 40"),
                    timeout=PLAY_REFRESH_MS * 20)
    assert p.table.rowAt(0) == top  # the table does not scroll while playing
    quad.set_frame(6)
    p.set_playing(False)  # pausing shows the exact frame at once
    assert p.lane_box.title().endswith("step 6")
    quad.set_frame(45)
    assert p.table.rowAt(0) <= 45 <= p.table.rowAt(p.table.viewport().height() - 1)
    quad.set_frame(7)
    assert p.lane_box.title().endswith("step 7")


def test_readouts_wait_for_the_end_of_a_slider_drag(qtbot, quad):
    from simulator.gui.panels import DRAG, NumberField

    p = _panel(qtbot, quad)
    field = NumberField(1e-4, 1.0, log=True, value=0.05, minimum=0.0)
    qtbot.addWidget(field)
    field.edited.connect(lambda v: (quad.update_lane(0, lr=v), quad.flush()))
    before = p.lane_box.analysis
    field.slider.sliderPressed.emit()  # what a press on the handle emits
    assert DRAG.active
    field.slider.setValue(field.slider.value() - 40)  # dragging: runs change...
    run = quad.results[quad.lanes[0].uid]
    assert quad.lanes[0].optimizer.lr != 0.05
    assert p.lane_box.analysis is before  # ...the readouts wait
    field.slider.sliderReleased.emit()
    assert not DRAG.active
    k = min(quad.frame, run.n_steps)
    np.testing.assert_allclose(p.lane_box.analysis.position, run.positions[k])
    assert np.allclose(p.model._table, step_rows(run), equal_nan=True)
    # a surface parameter dragged: the same
    DRAG.set(True)
    shown = p.lane_box.analysis
    quad.set_surface(surface_from_expression("x**2 + 20*y**2", domain=((-2, 2), (-2, 2))))
    quad.flush()
    assert p.lane_box.analysis is shown
    DRAG.set(False)
    assert p.lane_box.analysis is not shown
    assert p.lane_box.analysis.hessian[1][1] == pytest.approx(40.0)


def test_a_hidden_panel_waits_and_catches_up_when_shown(qtbot, quad):
    p = _panel(qtbot, quad)
    uid = quad.lanes[0].uid
    assert p._table_of[0] is quad.results[uid]
    p.hide()  # e.g. the Instructions tab is in front of it
    quad.update_lane(0, lr=0.07)
    quad.flush()
    quad.set_frame(3)
    assert p._table_of[0] is not quad.results[uid]  # nothing done while hidden
    p.show()
    qtbot.waitExposed(p)
    assert p._table_of[0] is quad.results[uid]  # caught up on showing
    assert p.lane_box.title().endswith("at step 3")


def test_a_picked_surface_refreshes_the_readouts_once(qtbot, quad, monkeypatch):
    """surface_changed is always followed by trajectories_changed: the steps, readouts
    and saddle episodes of the new runs are made once, not once for each signal."""
    p = _panel(qtbot, quad)
    calls = []
    fill = p._fill_saddles
    monkeypatch.setattr(p, "_fill_saddles", lambda: (calls.append(1), fill()))
    quad.set_surface(surface_from_expression("x**2 - y**2", domain=((-2, 2), (-2, 2))))
    assert len(calls) == 1
    run = quad.results[quad.lanes[0].uid]
    assert p._table_of[0] is run  # and the table shows the new surface's run
    assert np.allclose(p.model._table, step_rows(run), equal_nan=True)


def test_tab_names_are_whole_in_a_narrow_dock(qtbot):
    s = Session()
    s.flush()
    p = DiagnosticsPanel(s)
    qtbot.addWidget(p)
    p.resize(270, 700)  # a narrow dock (300 px at the first start, less its frame)
    p.show()
    qtbot.waitExposed(p)
    bar = p.tabs.tabBar()
    fm = bar.fontMetrics()
    for i in range(bar.count()):
        text = bar.tabText(i)
        assert bar.tabRect(i).width() >= fm.horizontalAdvance(text), text
    assert bar.tabRect(bar.count() - 1).right() <= bar.width()  # all three fit
    assert all(bar.tabToolTip(i) for i in range(bar.count()))
    assert bar.elideMode() == Qt.TextElideMode.ElideNone
