"""The diagnostics panel: what the Hessian says where a lane is and where the mouse is.

Two boxes show, for the selected lane's current position and for the point under the
mouse (fed by the 2-D/1-D view's ``cursor_moved`` signal through :meth:`show_cursor`):
the value, gradient, Hessian, its eigenvalues with their signs, the condition number,
the kind of point and the largest learning rate plain gradient descent is stable with,
2 / lambda_max. When a lane's learning rate is above its limit here a red warning names
the lane: that is exactly when the steps start overshooting along the steepest
direction and the run oscillates with growing amplitude.

Below, three tabs: the step table of the selected lane (select rows and Ctrl+C, or
"Copy all", to paste into a spreadsheet and work the exercises by hand), the surface's
critical points (double-click one to start the lanes there), and every lane's saddle
episodes in words.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyle,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from simulator.core.plotmath import lane_step

from .. import palette
from ..analysis_cache import analysis, critical_points, critical_points_notifier
from ..drag import DRAG
from ..formatting import fmt, fmt_point
from ..lanes import lane_lr, on_lane_edits, selected_lane, shown_lanes
from ..scheduling import TurnTimer

_FIELDS = (
    ("position", "Position"),
    ("value", "Value L"),
    ("gradient", "Gradient"),
    ("hessian", "Hessian"),
    ("eigenvalues", "Eigenvalues"),
    ("condition", "Condition number"),
    ("kind", "Kind of point"),
    ("max_lr", "Max stable lr"),
)
_TIPS = {
    "gradient": "The direction of steepest ascent and its length |g|; steps go against it",
    "hessian": "Second derivatives: how the slope itself changes in each direction",
    "eigenvalues": (
        "Curvatures along the principal directions: positive curves up (a valley), "
        "negative curves down (a ridge); mixed signs at a critical point make a saddle"
    ),
    "condition": (
        "|lambda|max / |lambda|min: large means a narrow ravine where one learning rate "
        "is too big across it and too small along it"
    ),
    "max_lr": (
        "2 / lambda_max: plain gradient descent on the local quadratic model diverges "
        "above this learning rate (it overshoots along the steepest direction)"
    ),
}


def sgd_limit(optimizer, lam_max: float) -> float | None:
    """The largest stable learning rate of an SGD-family lane on a quadratic with
    curvature ``lam_max``; None for optimizers that rescale their steps (Adam, ...).

    Plain steps: 2/lambda. Heavy-ball momentum mu (torch's SGD, dampening d):
    2 (1 + mu) / ((1 - d) lambda). Nesterov: 2 (1 + mu) / ((1 + 2 mu) lambda).
    """
    if type(optimizer).__name__ != "SGD" or not lam_max > 0:
        return None
    mu = float(getattr(optimizer, "momentum", 0.0) or 0.0)
    d = float(getattr(optimizer, "dampening", 0.0) or 0.0)
    if mu <= 0:
        return 2.0 / lam_max
    if getattr(optimizer, "nesterov", False):
        return 2.0 * (1 + mu) / ((1 + 2 * mu) * lam_max)
    return 2.0 * (1 + mu) / (max(1e-12, 1 - d) * lam_max)


def _matrix_text(h) -> str:
    """One line, rows separated by ';' (the panel is narrow and short)."""
    h = np.atleast_2d(np.asarray(h, dtype=float))
    return "[" + ";  ".join("  ".join(fmt(v) for v in row) for row in h) + "]"


class PointBox(QGroupBox):
    """The analysis of one point, as a labelled form plus a teaching sentence."""

    def __init__(self, title: str, parent=None):
        super().__init__(title, parent)
        self.labels: dict[str, QLabel] = {}
        self._shape = None  # the multi-line texts the height was last fitted to
        self._warning_img = None  # the warning icon as rich text, made once per style
        form = QFormLayout()
        form.setContentsMargins(6, 4, 6, 4)
        form.setVerticalSpacing(2)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        mono = QGuiApplication.font()
        mono.setFamily("monospace")
        mono.setStyleHint(mono.StyleHint.Monospace)
        for key, text in _FIELDS:
            lab = QLabel("-")
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if key in ("hessian", "gradient", "eigenvalues", "position"):
                lab.setFont(mono)
            # long values break at their spaces in a narrow dock instead of widening it
            lab.setWordWrap(True)
            name = QLabel(text)
            if key in _TIPS:
                name.setToolTip(_TIPS[key])
                lab.setToolTip(_TIPS[key])
            form.addRow(name, lab)
            self.labels[key] = lab
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setTextFormat(Qt.TextFormat.RichText)
        self.warning.setVisible(False)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {palette.muted_color()};")
        self.describe = QLabel()
        self.describe.setWordWrap(True)
        self.describe.setStyleSheet(f"color: {palette.muted_color()};")
        self.describe.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        lay.addLayout(form)
        lay.addWidget(self.warning)
        lay.addWidget(self.note)
        lay.addWidget(self.describe)
        self.clear("-")

    def clear(self, message: str) -> None:
        for lab in self.labels.values():
            lab.setText("-")
        self.warning.setVisible(False)
        self.note.setVisible(False)
        self.describe.setText(message)
        self.analysis = None

    def show_analysis(self, pa, lanes_lr: list) -> None:
        """Fill the form from a PointAnalysis; ``lanes_lr`` is ``[(lane, lr), ...]``."""
        self.analysis = pa
        L = self.labels
        L["position"].setText(fmt_point(pa.position))
        if not pa.defined:
            for key in L:
                if key != "position":
                    L[key].setText("undefined here")
            self.warning.setVisible(False)
            self.note.setVisible(False)
            self.describe.setText(pa.describe())
            self._hold_height()
            return
        L["value"].setText(fmt(pa.value, 6))
        # no-break spaces: a narrow dock wraps between the parts, never inside one
        L["gradient"].setText(f"{fmt_point(pa.gradient)}   |g|\u00a0=\u00a0{fmt(pa.grad_norm)}")
        L["hessian"].setText(_matrix_text(pa.hessian))
        pos, neg = palette_colors()
        parts = []
        for i, lam in enumerate(np.atleast_1d(pa.eigenvalues)):
            color = pos if lam > 0 else neg if lam < 0 else palette.muted_color()
            sign = "+" if lam > 0 else "\u2212" if lam < 0 else "\u00b1"
            parts.append(
                f'<span style="color:{color}">\u03bb{i + 1}&nbsp;=&nbsp;{sign}{fmt(abs(lam))}'
                "</span>"
            )
        L["eigenvalues"].setTextFormat(Qt.TextFormat.RichText)
        L["eigenvalues"].setText("&nbsp; ".join(parts))
        L["condition"].setText(fmt(pa.condition_number))
        L["kind"].setText(pa.kind)
        lam_max = float(np.max(pa.eigenvalues))
        L["max_lr"].setText(
            f"2/\u03bbmax = {fmt(pa.max_stable_lr)}"
            if np.isfinite(pa.max_stable_lr)
            else "no limit (no upward curvature)"
        )
        warn, notes = [], []
        for lane, lr in lanes_lr:
            limit = sgd_limit(lane.optimizer, lam_max)
            if limit is not None:
                if lr > limit * (1 + 1e-9):
                    rule = "2/\u03bbmax" if limit == 2.0 / lam_max else "its momentum limit"
                    warn.append(
                        f"<b>{lane.name}</b>: learning rate {fmt(lr)} &gt; {rule} = "
                        f"{fmt(limit)}: its steps overshoot and grow here"
                    )
            elif np.isfinite(pa.max_stable_lr) and lr > pa.max_stable_lr:
                notes.append(lane.name)
        if warn:
            err = palette.error_color()
            img = self._warning_icon_html()
            self.warning.setText(f'<span style="color:{err}">{img}' + "<br>".join(warn) + "</span>")
            self.warning.setVisible(True)
        else:
            self.warning.setVisible(False)
        self.note.setText(
            ", ".join(notes) + ": learning rate above 2/\u03bbmax, but adaptive optimizers "
            "rescale their steps, so the bound is only a guide"
            if notes
            else ""
        )
        self.note.setVisible(bool(notes))
        self.describe.setText(pa.describe())
        shape = (self.describe.text(), self.warning.text() if warn else "", tuple(notes))
        if shape != self._shape:  # the other fields are one line each: same height
            self._shape = shape
            self._hold_height()

    def _warning_icon_html(self) -> str:
        """The style's warning icon as an ``<img>`` for the warning's rich text, made
        once and kept until the style changes. (``standardIcon`` returns a new QIcon,
        with a new ``cacheKey``, on every call: a cache of URIs keyed on it grew by one
        PNG, about 1 KB, on every refresh that showed the warning, 8 a second during
        playback: issue 18's soak.)"""
        if self._warning_img is None:
            icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            uri = _icon_uri(icon)
            self._warning_img = (f'<img src="{uri}" width="16" height="16"> ' if uri
                                 else "\u26a0 ")
        return self._warning_img

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.StyleChange:
            self._warning_img = None  # another style: its own warning icon
        super().changeEvent(event)

    def _hold_height(self) -> None:
        """Never shrink while the same lane is shown: a box whose height follows its
        text moves everything below it, and the whole panel is repainted on every
        frame and slider tick. ``release_height`` lets it fit again (the boxes sit in a
        scroll area, so a tall box never makes the window taller)."""
        if not self.isVisible() or self.width() < 150:
            return  # not laid out yet: its height for this width means nothing
        # the height its wrapped text needs at this width (one layout pass; the size
        # hint would lay the text out a second time, at its preferred width)
        h = self.heightForWidth(self.width()) if self.hasHeightForWidth() else -1
        if h < 0:
            h = self.sizeHint().height()
        if h > self.minimumHeight():
            self.setMinimumHeight(h)

    def release_height(self) -> None:
        self.setMinimumHeight(0)
        self._shape = None

    def warning_shown(self) -> bool:
        return not self.warning.isHidden()


def _icon_uri(icon) -> str:
    """A data: URI of ``icon`` at 16 px (rich text labels cannot show a QIcon directly);
    empty when it cannot be rendered. Callers keep it: it is a PNG encoded anew."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    ba = QByteArray()
    buf = QBuffer(ba)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if icon.isNull() or not icon.pixmap(16, 16).save(buf, "PNG"):
        return ""
    return "data:image/png;base64," + bytes(ba.toBase64()).decode()


def palette_colors() -> tuple[str, str]:
    """Colours for positive / negative eigenvalues (match the arrows on the map)."""
    if palette.is_dark():
        return "#56B4E9", "#FF8A5C"
    return "#0072B2", "#D55E00"


# ---- the step table ----------------------------------------------------------------------------
# roles as plain ints: a view calls data() with an int, Python code with the enum
_DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


STEP_CELL_PAD = 14  # pixels around a step-table cell's text (margins and grid line)
PLAY_REFRESH_MS = 120  # the diagnostics refresh this often while the animation plays


_HEADER_TIPS = {
    "evaluations": "How many times this step evaluated the loss and its gradient: one\n"
                   "L-BFGS step is torch's optimizer.step(closure), up to max_iter\n"
                   "iterations, and a line search tries several points along each\n"
                   "direction (max_eval caps the count).",
}


class _TextRows(QAbstractTableModel):
    """A table of text whose rows are made when first needed (``_cells``) and kept
    until the model is filled again: a repaint asks each visible cell for about ten
    roles, and a table can have 100 000 rows or 441 critical points."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._headers: list[str] = []
        self._texts: dict[int, list[str]] = {}  # row -> its cells' text

    def _cells(self, row: int) -> list[str]:
        raise NotImplementedError

    def text(self, row: int, col: int) -> str:
        """The cell's text as shown."""
        texts = self._texts.get(row)
        if texts is None:
            texts = self._texts[row] = self._cells(row)
        return texts[col]

    def columnCount(self, parent=QModelIndex()):  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._headers):
            if role == Qt.ItemDataRole.DisplayRole:
                return self._headers[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _HEADER_TIPS.get(self._headers[section])
        return None


def step_rows(run) -> np.ndarray:
    """The step table's numbers: step, position, loss, gradient, learning rate (nan on
    the last row), one float row per step. ``run.table()`` has the CSV's columns, which
    give the gradient's norm; this table shows its components. A network run recorded
    once an epoch (``record_steps``) has its losses and gradient norm on the recorded
    rows only, nan (an empty cell) between."""
    n = len(run.positions)
    lr = np.full(n, np.nan)
    lr[: len(run.learning_rates)] = run.learning_rates
    if _on_network(run):  # weights by the hundred: losses and the gradient's norm instead
        m = len(run.losses)
        test = run.test_losses if run.test_losses is not None else np.full(m, np.nan)
        with np.errstate(over="ignore", invalid="ignore"):
            gnorm = np.linalg.norm(run.gradients, axis=1)
        spread = getattr(run, "per_step", None)
        if spread is not None and getattr(run, "record_steps", None) is not None:
            loss, test, gnorm = spread(run.losses), spread(test), spread(gnorm)
        else:
            loss = run.losses
        return np.column_stack([np.arange(n), loss, test, gnorm, lr])
    cols = [np.arange(n), run.positions, run.losses, run.gradients, lr]
    if counts_evaluations(run):  # L-BFGS: loss-and-gradient evaluations of each step
        ev = np.full(n, np.nan)
        ev[: len(run.evaluations)] = run.evaluations
        cols.append(ev)
    return np.column_stack(cols)


def _on_network(run) -> bool:
    return getattr(run.surface, "kind", None) == "network"


def counts_evaluations(run) -> bool:
    """Whether a run's steps make several evaluations each (L-BFGS): its step table
    gets an "evaluations" column."""
    return not run.optimizer.batch_kernel and run.evaluations is not None


class StepTableModel(_TextRows):
    """Rows of a run: step, position, loss, gradient, learning rate used for that step."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._table = np.zeros((0, 0))
        self.current = -1
        #: rows of a run recorded once an epoch whose losses were not computed (blank)
        self._unrecorded: np.ndarray | None = None

    def set_run(self, run, variables) -> None:
        self._unrecorded = None
        if run is not None and getattr(run, "record_steps", None) is not None:
            self._unrecorded = np.ones(len(run.positions), dtype=bool)
            self._unrecorded[run.record_steps] = False
        if run is None:
            table, headers = np.zeros((0, 0)), []
        else:
            table = step_rows(run)
            v = list(variables)
            headers = ["step"] + v + ["loss"] + [f"dL/d{n}" for n in v] + ["learning rate"]
            if _on_network(run):
                headers = ["step", "training loss", "test loss", "|gradient|",
                           "learning rate"]
            elif counts_evaluations(run):
                headers.append("evaluations")
        # same rows and columns (a slider moved): new values in place. A reset would make
        # the view lay out its header and rows again, every slider tick.
        in_place = table.shape == self._table.shape and headers == self._headers and table.size
        if not in_place:
            self.beginResetModel()
        self._texts = {}  # filled again as rows are shown
        self._table, self._headers = table, headers
        self.current = -1
        if in_place:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(table.shape[0] - 1, table.shape[1] - 1))
        else:
            self.endResetModel()

    def set_current(self, row: int) -> None:
        old = self.current
        self.current = row
        cols = max(0, self.columnCount() - 1)
        for r in (old, row):
            if 0 <= r < self.rowCount():
                self.dataChanged.emit(self.index(r, 0), self.index(r, cols))

    def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802 - Qt API
        return 0 if parent.isValid() else self._table.shape[0]

    def cell_text(self, row: int, col: int, digits: int = 6) -> str:
        v = self._table[row, col]
        last_row = row == self.rowCount() - 1
        if col == 0 or (self._headers[col] == "evaluations" and not last_row):
            return str(int(v))
        if not np.isfinite(v):
            # the last row has no update: no rate, no evaluations; a step between records
            # has no losses
            blank = self._headers[col] in ("learning rate", "evaluations") and last_row
            blank = blank or (self._unrecorded is not None and self._unrecorded[row]
                              and self._headers[col] != "learning rate")
            return "" if blank else fmt(v)
        return f"{v:.{digits}g}"

    def _cells(self, row: int) -> list[str]:
        return [self.cell_text(row, c) for c in range(len(self._headers))]

    def data(self, index, role=_DISPLAY):
        # a table repaint asks every visible cell for about ten roles: answer fast
        role = getattr(role, "value", role)
        if role == _DISPLAY:
            row = index.row()
            if row < 0:
                return None  # an invalid index
            return self.text(row, index.column())
        if role == _ALIGN:
            return _RIGHT
        if role == _BACKGROUND and index.row() == self.current:
            c = QColor(palette_colors()[0])
            c.setAlpha(70)
            return QBrush(c)
        return None

    def tsv(self, rows=None, cols=None) -> str:
        """Tab-separated text with a header line, full precision (for spreadsheets)."""
        rows = range(self.rowCount()) if rows is None else rows
        cols = list(range(self.columnCount())) if cols is None else list(cols)
        lines = ["\t".join(self._headers[c] for c in cols)]
        for r in rows:
            lines.append("\t".join(self.cell_text(r, c, digits=17) for c in cols))
        return "\n".join(lines) + "\n"


class PointsModel(_TextRows):
    """The critical points as rows of text (kind, position, value, eigenvalues), each
    row with its point's description as tool tip. A model, not a QTableWidget's items:
    Rastrigin's 441 points took 210 ms as 1764 items.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self._headers = ["kind", "position", "value", "eigenvalues"]
        self._points: list = []
        self._note = ""  # one row of text instead of points (still searching)

    def set_points(self, points: list | None, note: str = "") -> None:
        """Show ``points`` (CriticalPoint), or, when None, one row saying ``note``."""
        self.beginResetModel()
        self._points = list(points or [])
        self._note = note if points is None else ""
        self._texts = {}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):  # noqa: B008, N802 - Qt API
        if parent.isValid():
            return 0
        return len(self._points) or (1 if self._note else 0)

    def _cells(self, row: int) -> list[str]:
        if not self._points:
            return [self._note, "", "", ""]
        cp = self._points[row]
        eig = ", ".join(
            ("+" if v > 0 else "\u2212" if v < 0 else "") + fmt(abs(v))
            for v in np.atleast_1d(cp.eigenvalues)
        )
        return [cp.kind, fmt_point(cp.position), fmt(cp.value, 6), eig]

    def data(self, index, role=_DISPLAY):
        role = getattr(role, "value", role)
        if role == _DISPLAY:
            return self.text(index.row(), index.column())
        if role == _TOOLTIP and self._points:
            return self._points[index.row()].describe()
        return None


class StepTable(QTableView):
    """The step table: Ctrl+C copies the selected cells as tab-separated text."""

    def keyPressEvent(self, ev):  # noqa: N802 - Qt API
        if ev.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            ev.accept()
            return
        super().keyPressEvent(ev)

    def copy_selection(self) -> str:
        idx = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        model = self.model()
        if not idx:
            text = ""
        else:
            rows = sorted({i.row() for i in idx})
            cols = sorted({i.column() for i in idx})
            text = model.tsv(rows, cols)
        QGuiApplication.clipboard().setText(text)
        return text


# ---- the panel -----------------------------------------------------------------------------------
class DiagnosticsPanel(QWidget):
    """Curvature at the selected lane and under the cursor; steps, critical points,
    saddle episodes.

    Connect a view's ``cursor_moved`` to :meth:`show_cursor`.
    """

    #: a critical point was picked in the list (its position, an ndarray)
    point_activated = Signal(object)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self._surface = None
        self._table_of = None  # (run, variables) the step table shows
        self._cursor = None

        self.lane_box = PointBox("Selected lane")
        self.cursor_box = PointBox("Under the mouse")
        self.cursor_box.clear("Move the mouse over the map to see the curvature there.")
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.lane_box)
        tl.addWidget(self.cursor_box)
        from .network_box import NetworkBox

        # a network: its curvature and the lanes' end points compared (issue 17)
        self.network_box = NetworkBox(session)
        self.network_box.setVisible(False)
        tl.addWidget(self.network_box)
        tl.addStretch(1)

        # steps
        self.steps_label = QLabel("")
        self.model = StepTableModel(self)
        self.table = StepTable()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        # sizing columns to contents must not read every row of a 100 000-step run
        self.table.horizontalHeader().setResizeContentsPrecision(40)
        self.table.setToolTip("Select rows and press Ctrl+C to copy them as tab-separated text")
        self.copy_button = QPushButton("Copy all")
        self.copy_button.setToolTip("Copy every step of the selected lane (tab-separated)")
        self.follow_check = QCheckBox("Follow frame")
        self.follow_check.setChecked(True)
        self.follow_check.setToolTip("Scroll the table to the current step while playing")
        steps = QWidget()
        sl = QVBoxLayout(steps)
        sl.setContentsMargins(2, 2, 2, 2)
        self.steps_label.setWordWrap(True)  # the dock may be narrow: wrap, do not widen
        row = QHBoxLayout()
        row.addWidget(self.steps_label, 1)
        row.addWidget(self.follow_check)
        row.addWidget(self.copy_button)
        sl.addLayout(row)
        sl.addWidget(self.table, 1)

        # critical points
        self.cp_model = PointsModel(self)
        self.cp_table = QTableView()
        self.cp_table.setModel(self.cp_model)
        self.cp_table.verticalHeader().setVisible(False)
        self.cp_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.cp_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.cp_table.horizontalHeader().setStretchLastSection(True)
        # columns sized from the first rows: all of Rastrigin's 441 took 150 ms
        self.cp_table.horizontalHeader().setResizeContentsPrecision(40)
        self.cp_table.setToolTip(
            "Click a point to see its analysis; double-click to start the lanes there"
        )
        # saddle episodes
        self.saddle_list = QListWidget()
        self.saddle_list.setWordWrap(True)

        # short names that fit a narrow dock whole ("Saddle ep..." was elided); never
        # elided, and scroll buttons rather than cut text if the dock is narrower still
        self.tabs = QTabWidget()
        self.tabs.tabBar().setElideMode(Qt.TextElideMode.ElideNone)
        self.tabs.setUsesScrollButtons(True)
        for widget, name, tip in (
                (steps, "Steps", "The selected lane's steps: position, loss, gradient"),
                (self.cp_table, "Critical points", "Where the gradient is zero, by kind"),
                (self.saddle_list, "Saddles", "Saddle episodes: when a lane slowed down "
                 "near a saddle point, and how it escaped")):
            i = self.tabs.addTab(widget, name)
            self.tabs.setTabToolTip(i, tip)

        # the point boxes scroll rather than making the dock (and the window) taller
        top_scroll = QScrollArea()
        top_scroll.setWidget(top)
        top_scroll.setWidgetResizable(True)
        top_scroll.setFrameShape(QFrame.Shape.NoFrame)
        top_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        top_scroll.setMinimumHeight(120)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top_scroll)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)

        self.copy_button.clicked.connect(self.copy_all)
        self.cp_table.clicked.connect(lambda i: self._on_cp_clicked(i.row(), i.column()))
        self.cp_table.doubleClicked.connect(
            lambda i: self._on_cp_double_clicked(i.row(), i.column()))
        self._cp_turn = TurnTimer(self)
        self._cp_turn.timeout.connect(self._show_critical_points)
        critical_points_notifier().ready.connect(
            self._on_critical_points_ready, Qt.ConnectionType.QueuedConnection
        )
        s = session
        s.surface_changed.connect(self._on_surface_changed)
        on_lane_edits(s, self._on_runs)
        s.trajectories_changed.connect(self._on_runs)
        s.frame_changed.connect(self._on_frame)
        # while a slider is dragged the readouts wait for the release (see SliderDrag)
        self._stale = False
        DRAG.changed.connect(self._on_drag)
        # during playback the readouts refresh at PLAY_REFRESH_MS: numbers changing 60
        # times a second cannot be read, and repainting them costs a third of a frame
        self._playing = False
        self._frame_timer = QTimer(self)
        self._frame_timer.setSingleShot(True)
        self._frame_timer.timeout.connect(self._on_frame_changed)
        s.selected_lane_changed.connect(self._on_selected_lane_changed)
        self._on_surface_changed()
        self._on_runs()

    # ---- session handlers ------------------------------------------------------------------
    def _on_selected_lane_changed(self, *_):
        self.lane_box.release_height()  # another lane: its box may be shorter
        self._on_trajectories_changed()

    def _on_surface_changed(self):
        s = getattr(self.session, "surface", None)
        # a network has no map of its own to analyse point by point (see network_box)
        net = getattr(s, "kind", None) == "network"
        self._surface = None if net else s
        self.network_box.setVisible(net)
        self.lane_box.setVisible(not net)
        self.cursor_box.setVisible(not net)
        self._cursor = None
        for box in (self.lane_box, self.cursor_box):
            box.release_height()
        self.cursor_box.clear("Move the mouse over the map to see the curvature there.")
        self._fill_critical_points()
        # the lane readouts, steps and saddles follow with trajectories_changed, which
        # the session always emits after surface_changed (refreshing them here too did
        # the work twice a pick: 12 ms on Rastrigin)

    def _on_critical_points_ready(self, surface):
        if surface is self._surface:
            # the map marks the points in this turn, the table and episodes follow in
            # the next (Rastrigin's 441 points: 17 + 31 ms, one turn each)
            self._cp_turn.start(0)

    def _show_critical_points(self) -> None:
        self._fill_critical_points()
        self._fill_saddles()

    def _on_trajectories_changed(self, *_):
        lane = selected_lane(self.session)
        run = self.session.results.get(lane.uid) if lane is not None else None
        variables = self._surface.variables if self._surface is not None else ()
        shown = (run, tuple(variables))
        if self._table_of is None or self._table_of[0] is not run or self._table_of[1] != shown[1]:
            # resetting the model rebuilds the whole table view: only when the selected
            # lane's run changed (an edit of another lane leaves the table as it is)
            self.model.set_run(run, variables)
            self._table_of = shown
            self._fit_step_columns()  # a new run can have wider numbers (1 ms to fit)
        if lane is None:
            self.steps_label.setText("Select a lane to see its steps.")
        elif run is None:
            self.steps_label.setText(f"{lane.name}: no run (disabled?)")
        else:
            self.steps_label.setText(f"<b>{lane.name}</b>: {run.n_steps} steps, {run.status}")
        self._fill_saddles()
        self._on_frame_changed(getattr(self.session, "frame", 0))

    def _fit_step_columns(self) -> None:
        """Each column as wide as its widest text over rows from the start, the end and
        spread between (Qt's own sizing read only the first rows: step 1000 showed as
        "1..." and losses like 6.56332e-28 were cut)."""
        model = self.model
        n = model.rowCount()
        if not n:
            return
        rows = sorted({*range(min(n, 20)), *range(max(0, n - 20), n),
                       *range(0, n, max(1, n // 40))})
        fm = self.table.fontMetrics()
        head = self.table.horizontalHeader().fontMetrics()
        for c in range(model.columnCount()):
            texts = [model.text(r, c) for r in rows]
            width = max(fm.horizontalAdvance(t) for t in texts)
            title = model.headerData(c, Qt.Orientation.Horizontal) or ""
            width = max(width, head.horizontalAdvance(title) + 8)
            self.table.setColumnWidth(c, width + STEP_CELL_PAD)

    def set_playing(self, playing: bool) -> None:
        """Throttle the per-frame refresh while the animation plays; exact when paused."""
        self._playing = bool(playing)
        if not self._playing:
            self._frame_timer.stop()
            if not self._waits():
                self._on_frame_changed()

    def _waits(self) -> bool:
        """Whether the readouts wait: during a drag (until the release) and while the
        panel is hidden, e.g. behind the Instructions tab (until it is shown)."""
        if DRAG.active or not self.isVisible():
            self._stale = True
            return True
        return False

    def _on_runs(self, *_):
        if not self._waits():
            self._on_trajectories_changed()

    def _catch_up(self) -> None:
        """Refresh what waited, once the drag is over and the panel is shown."""
        if self._stale and not DRAG.active and self.isVisible():
            self._stale = False
            self._on_trajectories_changed()

    def _on_drag(self, dragging: bool) -> None:
        if not dragging:
            self._catch_up()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._catch_up()

    def _on_frame(self, frame=None):
        if self._waits():
            return
        if not self._playing:
            self._on_frame_changed(frame)
        elif not self._frame_timer.isActive():
            self._frame_timer.start(PLAY_REFRESH_MS)

    def _on_frame_changed(self, frame=None):
        self._frame_timer.stop()
        if frame is None:
            frame = getattr(self.session, "frame", 0)
        lane = selected_lane(self.session)
        run = self.session.results.get(lane.uid) if lane is not None else None
        if run is None or self._surface is None:
            self.lane_box.setTitle("Selected lane")
            self.lane_box.clear("Select a lane to see the curvature where it is.")
            self.model.set_current(-1)
            return
        k = lane_step(run, frame)
        self.lane_box.setTitle(f"{lane.name} at step {k}")
        self.lane_box.show_analysis(self._analyze(run.positions[k]), self._lanes_lr(frame))
        self.model.set_current(k)
        # while playing the table stays put (scrolling it costs a repaint of every
        # visible row, and rows flying by cannot be read); pausing scrolls to the step
        if self.follow_check.isChecked() and self.tabs.currentIndex() == 0 and not self._playing:
            self.table.scrollTo(self.model.index(k, 0))
        if self._cursor is not None:
            self.show_cursor(self._cursor)

    def _lanes_lr(self, frame) -> list:
        return [
            (lane, lane_lr(self.session, lane, run, frame))
            for lane, run in shown_lanes(self.session)
        ]

    def _analyze(self, p):
        return analysis(self._surface, p)

    # ---- cursor ---------------------------------------------------------------------------------
    def show_cursor(self, p) -> None:
        """Show the analysis at ``p`` (from a view's ``cursor_moved``); None clears."""
        if p is None or self._surface is None:
            self._cursor = None
            self.cursor_box.clear("Move the mouse over the map to see the curvature there.")
            return
        p = np.asarray(p, dtype=float).reshape(-1)
        if p.shape[0] != self._surface.dim:
            return
        self._cursor = p
        if not self.isVisible():
            self._stale = True  # shown when the panel is (see showEvent)
            return
        self.cursor_box.setTitle("Under the mouse")
        frame = getattr(self.session, "frame", 0)
        self.cursor_box.show_analysis(self._analyze(p), self._lanes_lr(frame))

    set_cursor = show_cursor  # the name the main window connects cursor_moved to

    # ---- critical points and saddles ---------------------------------------------------
    def _fill_critical_points(self):
        cps = critical_points(self._surface, wait=False)
        self._cps = cps or []
        self.cp_model.set_points(cps, note="searching\u2026")
        self.cp_table.resizeColumnsToContents()  # from the first rows (see the precision)

    def _on_cp_clicked(self, row, _col):
        if 0 <= row < len(self._cps):
            p = np.asarray(self._cps[row].position, dtype=float)
            self.point_activated.emit(p)
            self.show_cursor(p)
            self.cursor_box.setTitle(f"Critical point {fmt_point(p)}")

    def _on_cp_double_clicked(self, row, _col):
        if 0 <= row < len(self._cps):
            p = tuple(float(v) for v in np.ravel(self._cps[row].position))
            try:
                self.session.set_start(p)
            except ValueError:
                pass  # the session reports it on its status line

    def _fill_saddles(self):
        self.saddle_list.clear()
        if self._surface is None:
            return
        if critical_points(self._surface, wait=False) is None:
            self.saddle_list.addItem("Looking for the surface's saddles\u2026")
            return
        from simulator.core.episodes import describe_episode

        lines = []
        for lane, run in shown_lanes(self.session):
            try:
                eps = run.saddle_episodes
            except Exception:  # noqa: BLE001 - a diverged run may not be analysable
                eps = []
            lines.extend(describe_episode(ep, lane.name) for ep in eps)
        if not lines:
            has = any(getattr(c, "saddle_like", False) for c in self._cps)
            lines = [
                "No lane lingered near a saddle."
                if has
                else "This surface has no saddle in its domain."
            ]
        self.saddle_list.addItems(lines)

    # ---- copying -----------------------------------------------------------------------
    def copy_all(self) -> str:
        """Copy every step of the selected lane to the clipboard; returns the text."""
        text = self.model.tsv() if self.model.rowCount() else ""
        QGuiApplication.clipboard().setText(text)
        return text

    def saddle_texts(self) -> list[str]:
        return [self.saddle_list.item(i).text() for i in range(self.saddle_list.count())]
