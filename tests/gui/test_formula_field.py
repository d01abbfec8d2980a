"""The formula field: errors as you type (the old surface stays), Apply, history, gaps.

The parser itself is fuzzed in tests/core/test_expressions.py; these tests drive the
widget the way a student does.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from simulator.core.expressions import surface_from_expression
from simulator.gui.panels.formula_field import FormulaField, caret_html
from simulator.gui.session import Session


@pytest.fixture
def session(qtbot):
    s = Session()
    s.flush()
    return s


@pytest.fixture
def field(qtbot, session):
    f = FormulaField(session)
    qtbot.addWidget(f)
    f.show()
    return f


def _type(qtbot, f, text):
    f.edit.clear()
    f.edit.setFocus()
    qtbot.keyClicks(f.edit, text)


def test_unknown_name_shows_column_and_keeps_the_surface(qtbot, field, session):
    old = session.surface
    _type(qtbot, field, "x**2 + z")
    qtbot.waitUntil(lambda: "unknown name 'z'" in field.error_text(), timeout=3000)
    assert "at column 8" in field.error_text()
    assert field.message.isVisible()
    # the caret sits under the z
    pre = field.message.text().split("<pre style='margin:0'>")[1].split("</pre>")[0]
    line, caret = pre.split("\n")
    assert line[caret.index("^")] == "z"
    # Enter does not touch the session
    qtbot.keyClick(field.edit, Qt.Key.Key_Return)
    qtbot.wait(50)
    assert session.surface is old


def test_check_waits_for_a_pause_in_typing(qtbot, field):
    field.edit.setFocus()
    qtbot.keyClicks(field.edit, "x +")
    assert field.error_text() == ""  # nothing yet: the debounce runs
    qtbot.waitUntil(lambda: field.error_text() != "", timeout=3000)
    assert "column" in field.error_text()


def test_valid_formula_replaces_the_surface_and_runs_recompute(qtbot, field, session):
    before = {uid: run.positions.copy() for uid, run in session.results.items()}
    seen = []
    field.applied.connect(seen.append)
    _type(qtbot, field, "x**2 + 10*y**2")
    qtbot.keyClick(field.edit, Qt.Key.Key_Return)  # at once, before the check finished
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    s = session.surface
    assert s.kind == "expression" and s.formula == "x**2 + 10*y**2"
    assert s.domain == ((-3.0, 3.0), (-3.0, 3.0))
    assert set(session.results) == set(before)
    for uid, run in session.results.items():
        # recomputed on the new surface: the losses are the formula's values
        p = run.positions
        np.testing.assert_allclose(run.losses, p[:, 0] ** 2 + 10 * p[:, 1] ** 2, rtol=1e-12)
        assert not np.array_equal(p, before[uid][: len(p)]) or len(p) != len(before[uid])
    assert field.error_text() == ""
    assert field.history()[0] == "x**2 + 10*y**2"
    assert seen[0] >= 0


def test_error_after_a_good_formula_keeps_the_good_one(qtbot, field, session):
    _type(qtbot, field, "x^2 + y^2")
    field.apply()
    qtbot.waitUntil(lambda: session.surface.kind == "expression", timeout=5000)
    good = session.surface
    _type(qtbot, field, "x^2 + y^2 +")
    field.apply()  # applies only what compiles
    qtbot.waitUntil(lambda: "column" in field.error_text(), timeout=3000)
    assert session.surface is good


def test_domain_editor_and_curves(qtbot, field, session):
    field.domain_x.set_value((-1.0, 2.0))
    field.domain_y.set_value((0.0, 4.0))
    _type(qtbot, field, "(x - 1)^2 + y")
    field.apply()
    qtbot.waitUntil(lambda: session.surface.kind == "expression", timeout=5000)
    assert session.surface.domain == ((-1.0, 2.0), (0.0, 4.0))
    _type(qtbot, field, "w^4 - w^2")
    field.apply()
    qtbot.waitUntil(lambda: session.surface.dim == 1, timeout=5000)
    assert session.surface.domain == ((-1.0, 2.0),)
    assert field.domain_y.isHidden() and field._x_label.text() == "w range"
    # a bad range is refused next to the editor
    field.domain_x.set_value((2.0, 1.0))
    field.check_now()
    assert "from < to" in field.domain_error.text()


def test_history_completes_and_cached_formula_is_instant(qtbot, field, session):
    for text in ("x^2 + 3*y^2", "x^2 - y^2"):
        _type(qtbot, field, text)
        field.apply()
        qtbot.waitUntil(lambda t=text: session.surface.formula == t, timeout=5000)
    assert field.history()[:2] == ["x^2 - y^2", "x^2 + 3*y^2"]
    assert field.completer.model().stringList()[:2] == ["x^2 - y^2", "x^2 + 3*y^2"]
    # a second field (a new window) remembers the history through the settings
    other = FormulaField(session)
    qtbot.addWidget(other)
    assert other.history()[:2] == ["x^2 - y^2", "x^2 + 3*y^2"]
    _type(qtbot, field, "x^2 + 3*y^2")
    field.apply()
    qtbot.waitUntil(lambda: session.surface.formula == "x^2 + 3*y^2", timeout=5000)
    assert field.last_compile_seconds < 0.5  # compiled before: from the cache


def test_field_follows_expression_surfaces_set_elsewhere(qtbot, field, session):
    session.set_surface(surface_from_expression("sin(x) + y^2", domain=((-2, 2), (-1, 1))))
    assert field.text() == "sin(x) + y^2"
    assert field.domain() == ((-2.0, 2.0), (-1.0, 1.0))


def test_caret_html_windows_long_formulas():
    text = "x + " * 40 + "z"
    h = caret_html(text, len(text), "unknown name 'z' at column 161")
    pre = h.split("<pre style='margin:0'>")[1].split("</pre>")[0]
    line, caret = pre.split("\n")
    assert line.startswith("\u2026") and line[caret.index("^")] == "z"
    assert caret_html("x", None, "too deep") == "Too deep"


# ---- undefined regions (engine and diagnostics; verified end to end) ---------------------
def test_undefined_regions_gap_diagnose_and_diverge(qtbot, field, session):
    from simulator.core.diagnostics import analyze_point
    from simulator.core.engine import simulate
    from simulator.core.optimizers import SGD

    s = surface_from_expression("log(x) + y^2")
    _, v = s.grid(50)
    assert np.isnan(v).any() and np.isfinite(v).any()  # views draw nan as a gap
    pa = analyze_point(s, (-1.0, 0.0))
    assert "undefined here" in pa.describe()
    # gradient descent from x = 0.5 with a big step jumps to x < 0: diverged, with why
    run = simulate(s, SGD(lr=1.0), start=(0.5, 0.5), steps=50)
    assert run.status == "diverged"
    assert "undefined" in run.status_reason


def test_undefined_here_in_the_diagnostics_panel(qtbot, session):
    from simulator.gui.panels.diagnostics_panel import DiagnosticsPanel

    session.set_surface(surface_from_expression("log(x) + y^2"))
    panel = DiagnosticsPanel(session)
    qtbot.addWidget(panel)
    panel.show()  # hidden, it would wait until shown
    qtbot.waitExposed(panel)
    slot = panel.set_cursor
    slot(np.array([-1.0, 0.0]))
    texts = [w.text() for w in panel.findChildren(QLabel)]
    assert any("undefined here" in t for t in texts)


def test_start_moves_where_an_undefined_formula_is_defined(qtbot, field, session):
    msgs = []
    session.status_message.connect(msgs.append)
    session.set_start((-1.5, 2.0))
    _type(qtbot, field, "log(x) + sin(3*y)")
    field.apply()
    qtbot.waitUntil(lambda: session.surface.kind == "expression", timeout=5000)
    session.flush()
    x, y = session.start
    assert x > 0.2 and np.isfinite(session.surface.value(session.start))
    assert session.results and not session.errors
    assert "start moved" in msgs[-1]


def test_text_set_by_program_is_checked_before_it_applies(qtbot, field, session):
    _type(qtbot, field, "x^2 + y^2")
    field.apply()
    qtbot.waitUntil(lambda: session.surface.formula == "x^2 + y^2", timeout=5000)
    field.set_text("x^2 - y^2", check=False)  # no pause, no check: Apply compiles it
    field.apply()
    qtbot.waitUntil(lambda: session.surface.formula == "x^2 - y^2", timeout=5000)
