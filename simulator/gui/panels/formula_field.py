"""The formula field: type a loss surface, see what is wrong as you type, apply it.

Typing is checked after a short pause (``DEBOUNCE_MS``): the text is parsed on the GUI
thread (the parser is fast and enforces its own limits), and a formula that parses is
compiled in a worker thread, because a new formula's exact Hessian can take sympy a
second or two and typing must never freeze. An error appears in red under the field, the
formula shown with a caret under the column it names; the session's surface is not
touched until a formula compiles and the student presses Enter or Apply, so the previous
surface stays in place on every error. Formulas applied before are offered again
(completer and history menu, kept in the settings) and are instant: the compiled
programs are cached by ``simulator.core.expressions``.
"""

from __future__ import annotations

import html
import time

from PySide6.QtCore import QObject, QRunnable, QStringListModel, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import palette
from .. import settings as st
from . import ErrorLabel, PairField, form_layout

DEBOUNCE_MS = 250
MAX_HISTORY = 30
SETTINGS_GROUP = "panels/formula"
KEY_HISTORY = "history"
EXAMPLES = (
    "x**2 + 10*y**2",
    "(1 - x)^2 + 100*(y - x^2)^2",
    "x^2 - y^2",
    "sin(3*x)*cos(3*y) + 0.1*(x^2 + y^2)",
    "log(1 + x^2 + y^2)",
    "w^4 - 2*w^2 + 0.3*w",
)
CARET_WINDOW = 36  # characters of formula shown either side of the caret


def caret_html(text: str, column: int | None, reason: str) -> str:
    """The error as rich text: the formula (around the column) with a caret under it."""
    msg = html.escape(reason[:1].upper() + reason[1:])
    if column is None or not text:
        return msg
    i = max(0, min(int(column) - 1, len(text)))
    lo = max(0, i - CARET_WINDOW)
    hi = min(len(text), i + CARET_WINDOW)
    shown = ("\u2026" if lo > 0 else "") + text[lo:hi] + ("\u2026" if hi < len(text) else "")
    pad = i - lo + (1 if lo > 0 else 0)
    return (f"<pre style='margin:0'>{html.escape(shown)}\n{' ' * pad}^</pre>{msg}")


class _Signals(QObject):
    done = Signal(int, object, object, float)  # generation, surface, error, seconds


class _CompileJob(QRunnable):
    """Compile one formula off the GUI thread (skipped when already stale)."""

    def __init__(self, field: FormulaField, gen: int, text: str, domain) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._field_gen = field.current_generation
        self._signals = field._signals
        self.gen = gen
        self.text = text
        self.domain = domain

    def run(self) -> None:
        if self._field_gen() != self.gen:
            return
        from simulator.core.expressions import (
            ExpressionError,
            compile_expression,
            surface_from_expression,
        )

        t0 = time.perf_counter()
        surface, err = None, None
        try:
            prog = compile_expression(self.text)
            surface = surface_from_expression(self.text, domain=self.domain[: prog.dim])
        except ExpressionError as e:
            err = e
        except Exception as e:  # noqa: BLE001 - never let a formula crash the app
            err = ExpressionError(f"cannot compile this formula ({type(e).__name__}: {e})")
        try:
            self._signals.done.emit(self.gen, surface, err, time.perf_counter() - t0)
        except RuntimeError:  # the field was closed meanwhile
            pass


class FormulaField(QWidget):
    """A formula entry with a domain editor, inline errors, history and Apply.

    Signals
    -------
    applied(float)
        A formula became the session's surface; the seconds from Apply to the
        surface being set (compile, runs and the views' redraw included).
    """

    applied = Signal(float)
    checked = Signal(bool)  # a check finished: True when the text is a usable formula

    def __init__(self, session, parent: QWidget | None = None, *,
                 settings: st.Settings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("FormulaField")
        self.session = session
        self.settings = settings if settings is not None else st.settings(SETTINGS_GROUP)
        self._gen = 0
        self._result = None  # (gen, surface, error)
        self._apply_pending = False
        self._apply_t0 = 0.0
        self._dirty = False  # typed text not applied yet: the session must not overwrite it
        self.last_compile_seconds = float("nan")
        self.last_apply_seconds = float("nan")
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)

        self.edit = QLineEdit()
        self.edit.setObjectName("formula_edit")
        self.edit.setPlaceholderText("e.g. x**2 + 10*y**2")
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip(
            "A loss in x and y (a surface) or in w or x alone (a curve).\n"
            "Operators + - * / ** ^, functions sin cos tan asin acos atan sinh cosh tanh "
            "exp log log10 sqrt abs min max, constants pi and e.\n"
            "Enter applies it; the gradient and Hessian are derived exactly."
        )
        self.edit.textEdited.connect(self._on_text_edited)
        self.edit.returnPressed.connect(self.apply)
        self._model = QStringListModel(self._history())
        self.completer = QCompleter(self._model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.edit.setCompleter(self.completer)

        self.history_button = QToolButton()
        self.history_button.setText("\u25be")
        self.history_button.setToolTip("Formulas typed before, and examples")
        self.history_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.history_menu = QMenu(self)
        self.history_menu.aboutToShow.connect(self._fill_history_menu)
        self.history_button.setMenu(self.history_menu)

        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Make this formula the surface (Enter)")
        self.apply_button.clicked.connect(self.apply)

        self.message = QLabel()
        self.message.setObjectName("formula_message")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)

        self.domain_x = PairField(("from", "to"))
        self.domain_y = PairField(("from", "to"))
        self.domain_x.set_value((-3.0, 3.0))
        self.domain_y.set_value((-3.0, 3.0))
        self.domain_x.edited.connect(lambda _v: self._schedule())
        self.domain_y.edited.connect(lambda _v: self._schedule())
        self.domain_error = ErrorLabel()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.check_now)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.edit, 1)
        row.addWidget(self.history_button)
        row.addWidget(self.apply_button)
        dom = form_layout()
        self._x_label = QLabel("x range")
        self._y_label = QLabel("y range")
        dom.addRow(self._x_label, self.domain_x)
        dom.addRow(self._y_label, self.domain_y)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addLayout(dom)
        lay.addWidget(self.domain_error)

        session.surface_changed.connect(self._on_surface_changed)
        self._on_surface_changed()

    # ---- state --------------------------------------------------------------------------
    def current_generation(self) -> int:
        return self._gen

    def text(self) -> str:
        return self.edit.text()

    def set_text(self, text: str, check: bool = True) -> None:
        """Put ``text`` in the field (as if typed) and check it after the usual pause."""
        self.edit.setText(text)
        self._dirty = True
        self._apply_pending = False
        self._gen += 1  # any earlier result belongs to other text
        self._result = None
        if check:
            self._timer.start()

    def domain(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return (tuple(self.domain_x.value()), tuple(self.domain_y.value()))

    # ---- checking -----------------------------------------------------------------------
    def _on_text_edited(self, _text: str = "") -> None:
        self._dirty = True
        self._apply_pending = False
        self._schedule()

    def _schedule(self) -> None:
        self._gen += 1
        self._result = None
        self._timer.start()

    def check_now(self) -> None:
        """Check the text at once: parse here, compile in the worker."""
        from simulator.core.expressions import ExpressionError, parse_expression

        self._timer.stop()
        text = self.edit.text()
        gen = self._gen
        if not text.strip():
            self._result = (gen, None, None)
            self._show_message("")
            self.checked.emit(False)
            return
        (x0, x1), (y0, y1) = self.domain()
        if not (x0 < x1 and y0 < y1):
            err = ExpressionError("each range needs from < to")
            self._result = (gen, None, err)
            self.domain_error.show_message(str(err))
            self._show_message("")
            self._apply_pending = False
            self.checked.emit(False)
            return
        self.domain_error.clear_message()
        try:
            parse_expression(text)
        except ExpressionError as e:
            self._result = (gen, None, e)
            self._show_error(text, e)
            self._apply_pending = False
            self.checked.emit(False)
            return
        self._show_message("checking\u2026", error=False)
        self._pool.start(_CompileJob(self, gen, text, self.domain()))

    def _on_done(self, gen: int, surface, err, seconds: float) -> None:
        if gen != self._gen:
            return  # the text changed meanwhile
        self._result = (gen, surface, err)
        self.last_compile_seconds = seconds
        if err is not None:
            self._apply_pending = False
            self._show_error(self.edit.text(), err)
            self.checked.emit(False)
            return
        two = surface.dim == 2
        self._y_label.setVisible(two)
        self.domain_y.setVisible(two)
        self._x_label.setText(f"{surface.variables[0]} range")
        if self._apply_pending:
            self._apply_pending = False
            self._set_surface(surface)
        elif not self._is_current(surface):
            what = "surface in x and y" if two else f"curve in {surface.variables[0]}"
            self._show_message(f"OK: a {what}. Press Enter or Apply to use it.", error=False)
        self.checked.emit(True)

    def _is_current(self, surface) -> bool:
        cur = self.session.surface
        return (cur is not None and cur.kind == "expression" and surface is not None
                and cur.formula == surface.formula and cur.domain == surface.domain)

    def _show_error(self, text: str, err) -> None:
        reason = str(err)
        column = getattr(err, "column", None)
        self.message.setStyleSheet(f"color: {palette.error_color()};")
        self.message.setText(caret_html(text, column, reason))
        self.message.setToolTip(reason)
        self.message.setVisible(True)

    def _show_message(self, text: str, error: bool = False) -> None:
        if not text:
            self.message.setText("")
            self.message.setToolTip("")
            self.message.setVisible(False)
            return
        color = palette.error_color() if error else palette.muted_color()
        self.message.setStyleSheet(f"color: {color};")
        self.message.setText(html.escape(text))
        self.message.setToolTip("")
        self.message.setVisible(True)

    def error_text(self) -> str:
        """The message under the field as plain text ("" when there is none)."""
        if not self.message.isVisible():
            return ""
        return self.message.toolTip() or self.message.text()

    # ---- applying -----------------------------------------------------------------------
    def apply(self) -> None:
        """Make the typed formula the surface (at once when it is compiled, else as soon
        as the compile finishes). Errors leave the current surface in place."""
        self._apply_t0 = time.perf_counter()
        res = self._result
        if res is not None and res[0] == self._gen and not self._timer.isActive():
            _gen, surface, err = res
            if err is not None:
                self._show_error(self.edit.text(), err)
                return
            if surface is not None:
                self._set_surface(surface)
            return
        self._apply_pending = True
        if self._timer.isActive() or res is None:
            self.check_now()

    def _set_surface(self, surface) -> None:
        if self._is_current(surface):
            self._show_message("")
            return
        try:
            self.session.set_surface(surface)
        except ValueError as e:
            self._show_message(str(e), error=True)
            return
        self._move_start_where_defined(surface)
        self.last_apply_seconds = time.perf_counter() - self._apply_t0
        self._dirty = False
        self._remember(surface.formula)
        self._show_message("")
        self.applied.emit(self.last_apply_seconds)

    def _move_start_where_defined(self, surface) -> None:
        """A formula undefined at the start (log(x) from x < 0) would leave every lane
        without a run: move the start to the nearest point where it is defined."""
        import numpy as np

        start = np.asarray(self.session.start, dtype=float)
        try:
            if np.isfinite(surface.value(start)):
                return
            axes = [np.linspace(lo + 0.02 * (hi - lo), hi - 0.02 * (hi - lo), 41)
                    for lo, hi in surface.domain]
            pts = np.stack(np.meshgrid(*axes), -1).reshape(-1, surface.dim)
            f, g, _h = surface.evaluate(pts, order=1)
        except (ValueError, FloatingPointError):
            return
        ok = np.isfinite(f) & np.all(np.isfinite(np.reshape(g, (len(pts), -1))), axis=1)
        if not ok.any():
            self._show_message("This formula is undefined everywhere in the range shown",
                               error=True)
            return
        if surface.dim == 2:
            # keep away from the edge of the defined region (log(x) near x = 0 is steep)
            grid = ok.reshape(41, 41)
            inner = grid.copy()
            for _ in range(3):
                inner[1:, :] &= inner[:-1, :].copy()
                inner[:-1, :] &= inner[1:, :].copy()
                inner[:, 1:] &= inner[:, :-1].copy()
                inner[:, :-1] &= inner[:, 1:].copy()
            if inner.any():
                ok = inner.reshape(-1)
        cand = pts[ok]
        p = cand[np.argmin(((cand - start) ** 2).sum(1))]
        p = tuple(float(f"{v:.3g}") for v in p)
        try:
            self.session.set_start(p)
        except ValueError:
            return
        self.session.status_message.emit(
            f"The formula is undefined at the old start; the start moved to "
            f"({', '.join(f'{v:g}' for v in p)})")

    # ---- history ------------------------------------------------------------------------
    def _history(self) -> list[str]:
        return [h for h in self.settings.get_str_list(KEY_HISTORY) if h.strip()][:MAX_HISTORY]

    def _remember(self, text: str) -> None:
        text = text.strip()
        hist = [text, *[h for h in self._history() if h != text]][:MAX_HISTORY]
        self.settings.set(KEY_HISTORY, hist)
        self._model.setStringList(hist)

    def history(self) -> list[str]:
        return self._history()

    def _fill_history_menu(self) -> None:
        m = self.history_menu
        m.clear()
        hist = self._history()
        for h in hist:
            m.addAction(h, lambda h=h: self._pick(h))
        if hist:
            m.addSeparator()
        ex = m.addMenu("Examples")
        for h in EXAMPLES:
            ex.addAction(h, lambda h=h: self._pick(h))
        if hist:
            m.addSeparator()
            m.addAction("Clear history", self._clear_history)

    def _pick(self, text: str) -> None:
        self.set_text(text)
        self.edit.setFocus()

    def _clear_history(self) -> None:
        self.settings.set(KEY_HISTORY, [])
        self._model.setStringList([])

    # ---- from the session ---------------------------------------------------------------
    def _on_surface_changed(self) -> None:
        s = self.session.surface
        if s is None or s.kind != "expression":
            return
        self.domain_x.set_value(s.domain[0])
        self._x_label.setText(f"{s.variables[0]} range")
        two = s.dim == 2
        self._y_label.setVisible(two)
        self.domain_y.setVisible(two)
        if two:
            self.domain_y.set_value(s.domain[1])
        if self.edit.text() != s.formula and not self._dirty:
            self.edit.setText(s.formula)
            self._gen += 1
            self._timer.stop()
            self._result = (self._gen, s, None)
            self._show_message("")
