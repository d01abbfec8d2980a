"""Lanes panel: the optimizers racing, each with its colour, switch and status badge,
and an editor for the selected lane that shows only its own hyperparameters.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.core.optimizers import OPTIMIZERS, Optimizer
from simulator.core.scene import PRESETS, suggested_lr

from .. import palette
from ..icons import icon, swatch
from . import (
    ErrorLabel,
    NumberField,
    OptionalNumberField,
    PairField,
    form_layout,
    section_label,
    shrinkable,
)
from .training_panel import ScheduleEditor

STATUS_COLORS = {
    "converged": ("#009E73", "#4CC9A0"),
    "converging": ("#0072B2", "#56B4E9"),
    "oscillating": ("#B07800", "#E6B84D"),
    "diverged": ("#C0392B", "#FF7B6B"),
    "stalled": ("#8E44AD", "#CC99E0"),
}


def status_text(run, error: str | None = None) -> str:
    """A lane's badge: ``converged at step 412``, ``diverged at step 12``, ..."""
    if error:
        return "error"
    if run is None:
        return "off"
    st, k = run.status, run.status_step
    if k is None:
        return st
    verb = {
        "converged": "converged at step",
        "oscillating": "oscillating from step",
        "diverged": "diverged at step",
        "stalled": "stalled at step",
        "converging": "converging, step",
    }.get(st, f"{st} at step")
    return f"{verb} {k}"


def preset_tooltip(name: str) -> str:
    cls, fixed, _rule, lane_kw = PRESETS[name]
    extra = ", ".join(f"{k}={v}" for k, v in fixed.items())
    if lane_kw.get("noise"):
        extra = (extra + ", " if extra else "") + f"gradient noise {lane_kw['noise']}"
    head = f"{cls.__name__}({extra})" if extra else cls.__name__
    return f"{head}\n{cls.rule}"


SWATCH_ROLE = Qt.ItemDataRole.UserRole + 1  # the colour an item's swatch shows


class LaneEditor(QWidget):
    """Name, colour, optimizer, its hyperparameters (from ``schema``) and overrides."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._uid = None
        self.title = section_label("Lane")
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The lane's name in legends and plots")
        self.name_edit.editingFinished.connect(self._on_name)
        self.color_btn = QToolButton()
        self.color_btn.setToolTip("Lane colour (Okabe-Ito, colourblind-safe)")
        self.color_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.color_btn)
        for c in palette.OKABE_ITO:
            act = menu.addAction(swatch(c), palette.OKABE_ITO_NAMES[c])
            act.triggered.connect(lambda _=False, c=c: self._apply(color=c))
        self.color_btn.setMenu(menu)
        self.opt_combo = QComboBox()
        shrinkable(self.opt_combo)
        for name, cls in OPTIMIZERS.items():
            self.opt_combo.addItem(cls.title if cls.title != name else name, name)
            self.opt_combo.setItemData(self.opt_combo.count() - 1, f"{name}\n{cls.rule}",
                                       Qt.ItemDataRole.ToolTipRole)
        self.opt_combo.currentIndexChanged.connect(self._on_optimizer)
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        self.rule.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hp_host = QWidget()
        self.hp_form = form_layout()
        self.hp_host.setLayout(self.hp_form)
        self._hp_fields: dict[str, QWidget] = {}
        self._hp_class = None  # the optimizer class the fields were built for

        # per-lane overrides of the training panel's settings
        self.sched_editor = ScheduleEditor(allow_global=True)
        self.sched_editor.edited.connect(lambda s: self._apply(schedule=s))
        self.noise = OptionalNumberField("Own gradient noise", NumberField(0.0, 10.0,
                                                                            minimum=0.0))
        self.noise.edited.connect(lambda v: self._apply(_field=self.noise.field, noise=v))
        self.batch = OptionalNumberField(
            "Own minibatch size", NumberField(1, 256, log=True, integer=True, minimum=1)
        )
        self.batch.edited.connect(lambda v: self._apply(_field=self.batch.field, batch_size=v))
        self.start_check = QCheckBox("Own start point")
        self.start_check.toggled.connect(self._on_start_toggle)
        self.start_field = PairField(("x", "y"))
        self.start_field.edited.connect(self._on_start)
        self.message = ErrorLabel()

        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.color_btn)
        top.addWidget(self.name_edit, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.title)
        lay.addLayout(top)
        form = form_layout()
        form.addRow("Optimizer", self.opt_combo)
        lay.addLayout(form)
        lay.addWidget(self.rule)
        lay.addWidget(self.hp_host)
        lay.addWidget(section_label("Overrides"))
        lay.addWidget(QLabel("Schedule"))
        lay.addWidget(self.sched_editor)
        lay.addWidget(self.noise)
        lay.addWidget(self.batch)
        lay.addWidget(self.start_check)
        lay.addWidget(self.start_field)
        lay.addWidget(self.message)
        lay.addStretch(1)

    # ---- show a lane ---------------------------------------------------------------------
    def lane(self):
        i = self.session.lane_index(self._uid) if self._uid is not None else -1
        return (i, self.session.lanes[i]) if i >= 0 else (-1, None)

    def show_lane(self, lane) -> None:
        self.setEnabled(lane is not None)
        if lane is None:
            self._uid = None
            self.title.setText("Lane (none selected)")
            return
        # the fields act on the lane shown (``lane()``), so another lane of the same
        # optimizer keeps them and only takes its values
        rebuild = type(lane.optimizer) is not self._hp_class
        self._uid = lane.uid
        self.title.setText(f"Lane \u2014 {lane.name}")
        if self.name_edit.text() != lane.name:  # not on every slider tick
            self.name_edit.setText(lane.name)
        self.color_btn.setIcon(swatch(lane.color, 16))
        with QSignalBlocker(self.opt_combo):
            self.opt_combo.setCurrentIndex(self.opt_combo.findData(type(lane.optimizer).__name__))
        opt = lane.optimizer
        self.rule.setText(
            f"<span style='color:{palette.muted_color()}'>"
            f"{opt.rule.replace('<', '&lt;').replace(chr(10), '<br>')}</span>"
        )
        self.opt_combo.setToolTip(f"{opt.name}: {opt.rule}")
        if rebuild:
            self._build_hp(opt)
        else:
            self._sync_hp(opt)
        s = self.session
        self.sched_editor.steps = s.steps
        self.sched_editor.lr = opt.lr
        if self.sched_editor.schedule() != lane.schedule or rebuild:
            self.sched_editor.set_schedule(lane.schedule)
        self.noise.set_value(lane.noise)
        data = s.surface is not None and s.surface.kind in ("data", "network")
        self.batch.setVisible(data)
        self.batch.set_value(lane.batch_size)
        with QSignalBlocker(self.start_check):
            self.start_check.setChecked(lane.start is not None)
        dim = s.surface.dim if s.surface is not None else 2
        self.start_field.setEnabled(lane.start is not None)
        self.start_field.set_value(lane.start if lane.start is not None else s.start)
        self.start_field.set_count(dim)
        self.message.clear_message()

    def _build_hp(self, opt: Optimizer) -> None:
        while self.hp_form.rowCount():
            self.hp_form.removeRow(0)
        self._hp_fields.clear()
        self._hp_class = type(opt)
        for hp in opt.schema:
            v = getattr(opt, hp.name)
            if hp.kind == "bool":
                w = QCheckBox()
                w.setChecked(bool(v))
                w.toggled.connect(lambda on, n=hp.name: self._apply_hp(n, bool(on)))
            elif hp.kind in ("betas", "pair"):
                w = PairField(hp.labels or ("\u03b21", "\u03b22"))
                w.set_value(v)
                w.edited.connect(lambda b, n=hp.name, w=w: self._apply_hp(n, tuple(b), w))
            elif hp.kind == "choice":
                w = QComboBox()
                shrinkable(w)
                w.addItems(hp.labels)
                w.setCurrentText("none" if v is None else str(v))
                w.currentTextChanged.connect(
                    lambda text, n=hp.name: self._apply_hp(n, None if text == "none" else text))
            elif hp.kind == "int":
                if v is None:  # LBFGS's max_eval: show the default it stands for
                    v = getattr(opt, "evals_per_step", hp.lo)
                w = NumberField(hp.lo, hp.hi, log=True, integer=True, value=float(v),
                                minimum=hp.lo)
                w.edited.connect(lambda x, n=hp.name, w=w: self._apply_hp(n, int(x), w))
            else:
                w = NumberField(hp.lo if hp.lo > 0 or not hp.log else 1e-12, hp.hi,
                                log=hp.log, value=float(v), minimum=0.0)
                w.edited.connect(lambda x, n=hp.name, w=w: self._apply_hp(n, x, w))
            tip = hp.help or hp.label
            w.setToolTip(f"{tip}\n(torch: {opt.name}({hp.name}=...), default "
                         f"{getattr(type(opt)(), hp.name)!r})")
            label = QLabel(hp.label)
            label.setToolTip(tip)
            self.hp_form.addRow(label, w)
            self._hp_fields[hp.name] = w

    def _sync_hp(self, opt: Optimizer) -> None:
        for name, w in self._hp_fields.items():
            v = getattr(opt, name)
            if isinstance(w, QCheckBox):
                with QSignalBlocker(w):
                    w.setChecked(bool(v))
            elif isinstance(w, PairField):
                w.set_value(v)
            elif isinstance(w, QComboBox):
                with QSignalBlocker(w):
                    w.setCurrentText("none" if v is None else str(v))
            else:
                if v is None:
                    v = getattr(opt, "evals_per_step", 1)
                w.set_value(float(v))

    # ---- edits -----------------------------------------------------------------------------
    def _apply(self, _field=None, **changes) -> bool:
        i, lane = self.lane()
        if lane is None:
            return False
        try:
            self.session.update_lane(i, **changes)
        except ValueError as e:
            self.show_lane(self.session.lanes[i])  # back to the values the lane kept
            if _field is not None and hasattr(_field, "reject"):
                _field.reject(str(e))
            else:
                self.message.show_message(str(e))
            return False
        self.message.clear_message()
        return True

    def _apply_hp(self, name: str, value, field=None) -> None:
        self._apply(_field=field, **{name: value})

    def _on_name(self) -> None:
        i, lane = self.lane()
        if lane is not None and self.name_edit.text().strip() != lane.name:
            self._apply(name=self.name_edit.text())

    def _on_optimizer(self, _idx: int) -> None:
        i, lane = self.lane()
        if lane is None:
            return
        cls = OPTIMIZERS[self.opt_combo.currentData()]
        s = self.session
        start = lane.start if lane.start is not None else s.start
        # torch's defaults, with a learning rate that moves on this surface
        opt = cls(lr=suggested_lr(cls(), s.surface, start))
        changes = {"optimizer": opt}
        old = lane.optimizer
        if lane.name.split(" ")[0] in (old.title, old.name, *PRESETS):
            changes["name"] = opt.title  # the lane was named after its optimizer
        self._apply(**changes)

    def _on_start_toggle(self, on: bool) -> None:
        s = self.session
        self._apply(start=tuple(s.start) if on else None)

    def _on_start(self, p) -> None:
        i, lane = self.lane()
        if lane is None:
            return
        dim = self.session.surface.dim
        self._apply(_field=self.start_field, start=tuple(p[:dim]))


class LanesPanel(QWidget):
    """The list of lanes and the selected lane's editor."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("LanesPanel")
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Lane", "Status"])
        self.tree.headerItem().setToolTip(0, "Tick to run a lane, untick to hide it")
        self.tree.headerItem().setToolTip(
            1,
            "How each run ended, judged over its last quarter (up to 100 steps):\n"
            "converged: the gradient vanished at a minimum\n"
            "converging: the loss is still going down\n"
            "oscillating: most moves reverse direction and the loss is not falling\n"
            "diverged: the loss blew up or became infinite\n"
            "stalled: stuck at a saddle, on a flat region, or the loss stopped falling\n"
            "Hover a badge for the reason.",
        )
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(True)
        self.tree.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.tree.setMinimumHeight(90)
        self.tree.itemSelectionChanged.connect(self._on_select)
        self.tree.itemChanged.connect(self._on_item_changed)

        self.add_btn = QToolButton()
        self.add_btn.setIcon(icon("add"))
        self.add_btn.setText("Add")
        self.add_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_btn.setToolTip("Add a lane: pick an optimizer preset")
        self.add_menu = QMenu(self.add_btn)
        self.add_menu.setToolTipsVisible(True)
        for name in PRESETS:
            act = self.add_menu.addAction(name)
            act.setToolTip(preset_tooltip(name))
            act.triggered.connect(lambda _=False, n=name: self.add_preset(n))
        self.add_btn.setMenu(self.add_menu)
        self.remove_btn = QToolButton()
        self.remove_btn.setIcon(icon("remove"))
        self.remove_btn.setToolTip("Remove the selected lane")
        self.remove_btn.clicked.connect(self.remove_selected)
        self.dup_btn = QToolButton()
        self.dup_btn.setIcon(icon("duplicate"))
        self.dup_btn.setToolTip("Duplicate the selected lane (then change one setting to "
                                "compare)")
        self.dup_btn.clicked.connect(self.duplicate_selected)
        self.tune_btn = QToolButton()
        self.tune_btn.setText("Fit learning rates")
        self.tune_btn.setToolTip(
            "Give every lane a learning rate that suits this surface: about 1/curvature at "
            "the start for gradient descent and momentum, a step of about 1% of the domain "
            "for adaptive methods"
        )
        self.tune_btn.clicked.connect(session.suggest_learning_rates)
        self.message = ErrorLabel()

        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.add_btn)
        buttons.addWidget(self.dup_btn)
        buttons.addWidget(self.remove_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.tune_btn)

        self.editor = LaneEditor(session)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        host = QWidget()
        hl = QVBoxLayout(host)
        hl.setContentsMargins(8, 0, 8, 8)
        hl.addWidget(self.editor)
        scroll.setWidget(host)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.setSpacing(4)
        lay.addWidget(self.tree, 0)
        lay.addLayout(buttons)
        lay.addWidget(self.message)
        lay.addWidget(scroll, 1)

        session.lanes_changed.connect(self._on_lanes_changed)
        session.trajectories_changed.connect(self._on_trajectories_changed)
        session.selected_lane_changed.connect(self._on_selected_lane_changed)
        session.surface_changed.connect(self._on_surface_changed)
        session.training_changed.connect(self._on_training_changed)
        self._rebuild()

    def retheme(self) -> None:
        """Redraw what is coloured by the theme (after a light/dark switch)."""
        self.add_btn.setIcon(icon("add"))
        self.remove_btn.setIcon(icon("remove"))
        self.dup_btn.setIcon(icon("duplicate"))
        self._rebuild()

    # ---- list ------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        s = self.session
        with QSignalBlocker(self.tree):
            self.tree.clear()
            for lane in s.lanes:
                it = QTreeWidgetItem([lane.name, ""])
                it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                it.setCheckState(0, Qt.CheckState.Checked if lane.enabled
                                 else Qt.CheckState.Unchecked)
                it.setIcon(0, swatch(lane.color))
                it.setData(0, SWATCH_ROLE, lane.color)
                it.setData(0, Qt.ItemDataRole.UserRole, lane.uid)
                self.tree.addTopLevelItem(it)
            if 0 <= s.selected_lane < self.tree.topLevelItemCount():
                self.tree.setCurrentItem(self.tree.topLevelItem(s.selected_lane))
        self._update_badges()
        n = len(s.lanes)
        self.tree.setMaximumHeight(self.tree.sizeHintForRow(0) * max(n, 3) + 34
                                   if n else 120)
        self.remove_btn.setEnabled(s.selected_lane >= 0)
        self.dup_btn.setEnabled(s.selected_lane >= 0)
        self.editor.show_lane(s.current_lane)

    def _update_badges(self) -> None:
        s = self.session
        dark = palette.is_dark()
        with QSignalBlocker(self.tree):
            for i, lane in enumerate(s.lanes):
                it = self.tree.topLevelItem(i)
                if it is None:
                    continue
                run = s.results.get(lane.uid)
                err = s.errors.get(lane.uid)
                text = status_text(run, err)
                training = (run is None and err is None and lane.enabled
                            and getattr(s, "running_in_background", False))
                if training:  # a network's first runs, being made in the background
                    text = "training\u2026"
                it.setText(1, text)
                col = STATUS_COLORS.get(run.status if run is not None else "", None)
                if err:
                    col = STATUS_COLORS["diverged"]
                if col is not None:
                    it.setForeground(1, QColor(col[1] if dark else col[0]))
                else:
                    it.setForeground(1, self.palette().color(self.foregroundRole()))
                tip = f"{lane.optimizer.name}(lr={lane.optimizer.lr:g})\n{lane.optimizer.rule}"
                it.setToolTip(0, tip)
                reason = err or (run.status_reason if run is not None else
                                 "being trained in the background" if training else
                                 "lane switched off")
                it.setToolTip(1, reason)

    # ---- from the session ------------------------------------------------------------------
    def _on_lanes_changed(self) -> None:
        s = self.session
        uids = [self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)
                for i in range(self.tree.topLevelItemCount())]
        if uids != [lane.uid for lane in s.lanes]:
            self._rebuild()
            return
        with QSignalBlocker(self.tree):
            for i, lane in enumerate(s.lanes):
                it = self.tree.topLevelItem(i)
                # a slider tick changes none of these: setting them anyway repaints
                if it.text(0) != lane.name:
                    it.setText(0, lane.name)
                if it.data(0, SWATCH_ROLE) != lane.color:
                    it.setIcon(0, swatch(lane.color))
                    it.setData(0, SWATCH_ROLE, lane.color)
                state = Qt.CheckState.Checked if lane.enabled else Qt.CheckState.Unchecked
                if it.checkState(0) != state:
                    it.setCheckState(0, state)
        if not s.pending:  # else the new runs follow in this turn, with their badges
            self._update_badges()
        self.editor.show_lane(s.current_lane)

    def _on_trajectories_changed(self) -> None:
        self._update_badges()

    def _on_selected_lane_changed(self, i: int) -> None:
        with QSignalBlocker(self.tree):
            if 0 <= i < self.tree.topLevelItemCount():
                self.tree.setCurrentItem(self.tree.topLevelItem(i))
            else:
                self.tree.clearSelection()
        self.remove_btn.setEnabled(i >= 0)
        self.dup_btn.setEnabled(i >= 0)
        self.editor.show_lane(self.session.current_lane)

    def _on_surface_changed(self) -> None:
        self.editor.show_lane(self.session.current_lane)

    def _on_training_changed(self) -> None:
        self.editor.sched_editor.steps = self.session.steps

    # ---- to the session --------------------------------------------------------------------
    def _on_select(self) -> None:
        items = self.tree.selectedItems()
        idx = self.tree.indexOfTopLevelItem(items[0]) if items else -1
        self.session.select_lane(idx)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        i = self.tree.indexOfTopLevelItem(item)
        if i < 0 or column != 0:
            return
        on = item.checkState(0) == Qt.CheckState.Checked
        if self.session.lanes[i].enabled != on:
            self.session.update_lane(i, enabled=on)

    def add_preset(self, name: str) -> None:
        try:
            self.session.add_preset(name)
        except ValueError as e:
            self.message.show_message(str(e))
            return
        self.message.clear_message()
        self.session.select_lane(len(self.session.lanes) - 1)

    def remove_selected(self) -> None:
        i = self.session.selected_lane
        if i >= 0:
            self.session.remove_lane(i)
            self.message.clear_message()

    def duplicate_selected(self) -> None:
        i = self.session.selected_lane
        if i < 0:
            return
        try:
            self.session.duplicate_lane(i)
        except ValueError as e:
            self.message.show_message(str(e))
            return
        self.session.select_lane(i + 1)
