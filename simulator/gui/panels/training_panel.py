"""Training panel: learning rate, schedule (with a live preview), noise, batch size,
steps, seed and gradient clipping.

The learning rate belongs to each optimizer (as in torch), so the learning-rate row edits
the *selected* lane, with a button to give every lane the same value. Everything else
here is global; a lane can override schedule, noise, batch size and start in its editor.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from simulator.core.schedules import (
    SCHEDULES,
    ChainedScheduler,
    ConstantSchedule,
    ReduceLROnPlateau,
    Schedule,
    SequentialLR,
)

from .. import palette
from ..plotting import LineItem, LogAxis, cache_axes, device_cached, peak_decimate, refit, retire
from . import (
    DRAG,
    ErrorLabel,
    NumberField,
    OptionalNumberField,
    fmt_number,
    form_layout,
    parse_number,
    section_label,
    shrinkable,
)

_CHOICES = {
    "mode": ("triangular", "triangular2", "exp_range"),
    "anneal_strategy": ("cos", "linear"),
    "threshold_mode": ("rel", "abs"),
}
_CLASS_CHOICES = {("ReduceLROnPlateau", "mode"): ("min", "max")}
# integer parameters that may be 0 (the others are counts of at least 1)
_ZERO_OK = {"patience", "cooldown"}


def _choices(s: Schedule, name: str):
    return _CLASS_CHOICES.get((s.name, name), _CHOICES.get(name))


def schedule_tooltip(cls: type[Schedule]) -> str:
    """The formula and the first paragraph of the docstring: what the schedule does."""
    doc = (cls.__doc__ or "").strip().split("\n\n")
    first = " ".join(line.strip() for line in doc[1].splitlines()) if len(doc) > 1 else ""
    return f"{cls.formula}\n\n{first}".strip()


def schedule_defaults(cls: type[Schedule], steps: int, lr: float) -> Schedule:
    """``cls`` with parameters that suit a run of ``steps`` updates at base rate ``lr``
    (torch's defaults assume thousands of epochs; a preview should show the shape)."""
    q = max(1, steps // 4)
    kw = {
        "StepLR": {"step_size": q, "gamma": 0.5},
        "MultiStepLR": {"milestones": (max(1, steps // 2), max(2, 3 * steps // 4)),
                        "gamma": 0.1},
        "ExponentialLR": {"gamma": float(f"{0.01 ** (1 / max(1, steps)):.6g}")},
        "CosineAnnealingLR": {"T_max": max(1, steps)},
        "CosineAnnealingWarmRestarts": {"T_0": q},
        "LinearLR": {"total_iters": max(1, steps // 10)},
        "ConstantLR": {"total_iters": max(1, steps // 10)},
        "CyclicLR": {"base_lr": float(f"{lr / 10:.3g}"), "max_lr": float(f"{lr:.3g}"),
                     "step_size_up": max(1, steps // 8)},
        "OneCycleLR": {"max_lr": float(f"{lr:.3g}")},
        "PolynomialLR": {"total_iters": max(1, steps), "power": 2.0},
        "ReduceLROnPlateau": {"patience": max(1, steps // 50), "factor": 0.5},
        # a warm-up over the first tenth times a linear decay to zero
        "ChainedScheduler": {"schedulers": (
            SCHEDULES["LinearLR"](start_factor=0.1, total_iters=max(1, steps // 10)),
            SCHEDULES["PolynomialLR"](total_iters=max(1, steps), power=1.0))},
    }.get(cls.__name__, {})
    try:
        return cls(**kw)
    except (ValueError, TypeError):
        return cls()


class ScheduleEditor(QWidget):
    """A schedule picker with one input per parameter; emits ``edited(Schedule)``.

    ``allow_global`` adds a first entry "Same as training panel" that emits ``None``
    (a lane following the global schedule).
    """

    edited = Signal(object)

    def __init__(self, allow_global: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.allow_global = allow_global
        self.steps = 1000
        self.lr = 1e-3
        self._schedule: Schedule | None = None if allow_global else ConstantSchedule()
        self.combo = QComboBox()
        shrinkable(self.combo)
        if allow_global:
            self.combo.addItem("Same as training panel", None)
        for name, cls in SCHEDULES.items():
            if cls is SequentialLR:
                continue  # composite: loaded from files and labs, not built here
            self.combo.addItem(f"{cls.title} ({name})" if name != "ConstantSchedule"
                               else cls.title, name)
            self.combo.setItemData(self.combo.count() - 1, schedule_tooltip(cls),
                                   Qt.ItemDataRole.ToolTipRole)
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.form_host = QWidget()
        self.form = form_layout()
        self.form_host.setLayout(self.form)
        self.error = ErrorLabel()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.combo)
        lay.addWidget(self.formula)
        lay.addWidget(self.form_host)
        lay.addWidget(self.error)
        self._inputs: dict[str, tuple[QWidget, str]] = {}
        self.combo.currentIndexChanged.connect(self._on_pick)
        self.set_schedule(self._schedule)

    def schedule(self) -> Schedule | None:
        return self._schedule

    def set_schedule(self, s: Schedule | None) -> None:
        """Show ``s`` (no signal)."""
        self._schedule = s
        self.combo.blockSignals(True)
        if s is None:
            self.combo.setCurrentIndex(0 if self.allow_global else self._index("ConstantSchedule"))
        elif isinstance(s, SequentialLR):
            if self.combo.findData("SequentialLR") < 0:
                self.combo.addItem(SequentialLR.title, "SequentialLR")
            self.combo.setCurrentIndex(self.combo.findData("SequentialLR"))
        else:
            self.combo.setCurrentIndex(self._index(s.name))
        self.combo.blockSignals(False)
        self._build_form(s)
        self.error.clear_message()

    def _index(self, name: str) -> int:
        i = self.combo.findData(name)
        return max(0, i)

    def _build_form(self, s: Schedule | None) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._inputs.clear()
        if s is None:
            self.formula.setText("")
            self.formula.setVisible(False)
            self.form_host.setVisible(False)
            return
        self.formula.setVisible(True)
        text = s.formula
        if isinstance(s, ChainedScheduler):
            sep = " \u00d7 " if s._multiplicative() else " \u2192 "  # x: factors multiply
            text += "<br>" + sep.join(repr(p) for p in s.schedulers)
        elif isinstance(s, ReduceLROnPlateau):
            text += "<br>(the preview shows the base rate: the cuts follow the run's loss)"
        self.formula.setText(f"<span style='color:{palette.muted_color()}'>{text}</span>")
        self.combo.setToolTip(schedule_tooltip(type(s)))
        if isinstance(s, (SequentialLR, ChainedScheduler)):
            self.form_host.setVisible(False)
            return
        fields = dataclasses.fields(s)
        self.form_host.setVisible(bool(fields))
        for f in fields:
            v = getattr(s, f.name)
            ann = str(f.type)
            if _choices(s, f.name):
                w = QComboBox()
                shrinkable(w)
                w.addItems(_choices(s, f.name))
                w.setCurrentText(str(v))
                w.currentTextChanged.connect(self._on_param)
                kind = "choice"
            elif "bool" in ann:
                w = QCheckBox()
                w.setChecked(bool(v))
                w.toggled.connect(self._on_param)
                kind = "bool"
            elif ann == "int":
                w = QSpinBox()
                w.setRange(0 if f.name in _ZERO_OK else 1, 10_000_000)
                w.setKeyboardTracking(False)
                w.setValue(int(v))
                w.valueChanged.connect(self._on_param)
                kind = "int"
            else:
                w = QLineEdit()
                w.setAlignment(Qt.AlignmentFlag.AlignRight)
                if "tuple" in ann:
                    w.setText(", ".join(str(int(x)) for x in v))
                    w.setPlaceholderText("e.g. 300, 600")
                    kind = "ints"
                elif "None" in ann:
                    w.setText("" if v is None else str(v))
                    w.setPlaceholderText("auto (the run length)")
                    kind = "optint"
                else:
                    w.setText(fmt_number(v))
                    kind = "float"
                w.editingFinished.connect(self._on_param)
            w.setToolTip(f"{f.name} (torch: {type(s).__name__}({f.name}=...))")
            self.form.addRow(f.name, w)
            self._inputs[f.name] = (w, kind)

    def _read(self) -> dict:
        out = {}
        for name, (w, kind) in self._inputs.items():
            if kind == "choice":
                out[name] = w.currentText()
            elif kind == "bool":
                out[name] = w.isChecked()
            elif kind == "int":
                out[name] = int(w.value())
            elif kind == "ints":
                parts = [p for p in w.text().replace(";", ",").split(",") if p.strip()]
                out[name] = tuple(int(parse_number(p, integer=True)) for p in parts)
            elif kind == "optint":
                t = w.text().strip()
                out[name] = None if not t else int(parse_number(t, integer=True))
            else:
                try:
                    out[name] = float(parse_number(w.text()))
                except ValueError as e:
                    raise ValueError(f"{name}: {e}") from None
        return out

    def _on_pick(self, _i: int) -> None:
        name = self.combo.currentData()
        if name is None:
            s = None
        else:
            s = schedule_defaults(SCHEDULES[name], self.steps, self.lr)
        self._schedule = s
        self._build_form(s)
        self.error.clear_message()
        self.edited.emit(s)

    def _on_param(self, *_args) -> None:
        if self._schedule is None:
            return
        try:
            s = type(self._schedule)(**self._read())
        except (ValueError, TypeError) as e:
            self.error.show_message(str(e))
            return
        self.error.clear_message()
        if s != self._schedule:
            self._schedule = s
            self.edited.emit(s)

    def reject(self, message: str) -> None:
        self.error.show_message(message)


class SchedulePreview(pg.PlotWidget):
    """The learning rate each enabled lane will use at every step (log scale)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=None, axisItems={"left": LogAxis("left")})
        self.setMinimumHeight(110)
        self.setMaximumHeight(150)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.setMenuEnabled(False)
        pi = self.getPlotItem()
        pi.setLogMode(False, True)
        pi.showGrid(x=True, y=True, alpha=0.15)
        pi.setLabel("bottom", "step")
        pi.setLabel("left", "learning rate")
        for ax in ("left", "bottom"):
            pi.getAxis(ax).setStyle(tickFont=self.font())
            pi.getAxis(ax).enableAutoSIPrefix(False)  # "(x1e-3)" labels confuse with log
        self.setToolTip("The learning rate each lane uses at every step, after the schedule")
        DRAG.changed.connect(self._on_drag)

    def _on_drag(self, dragging: bool) -> None:
        if not dragging and getattr(self, "_bounds", None):
            self._fit(self._steps_shown)  # the axis only grew during the drag

    def show_session(self, session) -> None:
        """Redraw from ``session`` (only what changed; later if hidden behind a tab)."""
        self._session = session
        if not self.isVisible():
            self._dirty = True
            return
        self._dirty = False
        pi = self.getPlotItem()
        fg = self.palette().color(QPalette.ColorRole.WindowText)
        if fg.name() != getattr(self, "_fg", None):
            self._fg = fg.name()
            for ax in ("left", "bottom"):
                pi.getAxis(ax).setPen(fg)
                pi.getAxis(ax).setTextPen(fg)
            pi.setLabel("bottom", "step", color=fg.name())
            pi.setLabel("left", "learning rate", color=fg.name())
        if not hasattr(self, "_curves"):
            self._curves: dict[int, tuple[tuple, LineItem]] = {}
            self._bounds: dict[int, tuple[float, float]] = {}  # uid -> log10 lr range
            self._fitted: tuple[float, float] | None = None
            self._steps_shown = None
            pi.disableAutoRange()
            cache_axes(pi)
        steps = session.steps
        seen = set()
        for lane in session.lanes:
            if not lane.enabled:
                continue
            sched = session.effective(lane)["schedule"]
            color = palette.display_color(lane.color).name()
            key = (sched, lane.optimizer.lr, steps, color)
            seen.add(lane.uid)
            old = self._curves.get(lane.uid)
            if old is not None and old[0] == key:
                continue
            try:
                lrs = sched.learning_rates(lane.optimizer.lr, steps)
            except ValueError:
                continue
            lrs = np.where(lrs > 0, lrs, np.nan)
            # two points per pixel column (the smallest and largest rate of its steps):
            # every step of a schedule stays visible, and a wide pen strokes a few
            # hundred points instead of thousands (1.2 ms a curve per slider tick)
            width = max(int(pi.getViewBox().width()), 100)
            k, lrs = peak_decimate(lrs, 0, len(lrs), width)
            with np.errstate(invalid="ignore", divide="ignore"):
                y = np.log10(lrs)  # the axis is logarithmic: the curve holds log10
            if old is None:
                # a plain curve: PlotDataItem's setData machinery costs twice as much,
                # PlotCurveItem's paint three times as much as LineItem's
                item = LineItem()
                device_cached(item)  # the other lanes' curves are blits in a drag
                pi.addItem(item)
            else:
                item = old[1]
            item.setData(k, y)
            if old is None or old[0][3] != color:
                item.setPen(pg.mkPen(color, width=2))
            self._curves[lane.uid] = (key, item)
            logs = y[np.isfinite(y)]
            self._bounds[lane.uid] = (
                (float(logs.min()), float(logs.max())) if logs.size else (np.nan, np.nan)
            )
        for uid in [u for u in self._curves if u not in seen]:
            retire(pi, self._curves.pop(uid)[1])
            self._bounds.pop(uid, None)
        self._fit(steps)

    def _fit(self, steps: int) -> None:
        """Fit the axes to the curves, the y axis snapped to whole decades.

        Like the plots under the views, the y axis stays put while the curves still fit
        it well (during a drag: while they fit in it; the release fits it again), so
        dragging a learning-rate slider leaves the axes and the other lanes' curves as
        they are instead of drawing them all again."""
        vb = self.getPlotItem().getViewBox()
        if steps != self._steps_shown:
            self._steps_shown = steps
            vb.setXRange(0, max(int(steps), 1), padding=0.02)
        lows = [b[0] for b in self._bounds.values() if np.isfinite(b[0])]
        highs = [b[1] for b in self._bounds.values() if np.isfinite(b[1])]
        if not lows:
            return
        r = refit(self._fitted, min(lows), max(highs), True, DRAG.active)
        if r is not None:
            self._fitted = r
            vb.setYRange(*r, padding=0.02)

    def fitted_range(self) -> tuple[float, float] | None:
        """The y range shown, as log10 of the learning rate (for tests)."""
        return self._fitted

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().showEvent(event)
        if getattr(self, "_dirty", False):
            self.show_session(self._session)


class TrainingPanel(QWidget):
    """Global training settings; the learning-rate row follows the selected lane."""

    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("TrainingPanel")

        # learning rate (selected lane)
        self.lr_title = section_label("Learning rate")
        self.lr_field = NumberField(1e-6, 10.0, log=True, minimum=0.0)
        self.lr_field.setToolTip(
            "Step size of the selected lane (torch: lr). Drag to explore, or type an exact "
            "value: a huge value is allowed and diverges, which is worth seeing."
        )
        self.lr_all = QPushButton("Use for all lanes")
        self.lr_all.setToolTip("Give every lane this learning rate (compare at equal lr)")
        self.lr_all.clicked.connect(self._on_lr_all)
        self.lr_field.edited.connect(self._on_lr)

        # schedule
        self.schedule_editor = ScheduleEditor()
        self.schedule_editor.edited.connect(self._on_schedule)
        self.preview = SchedulePreview()

        # noise, batch, steps, seed, clipping
        self.noise_field = NumberField(0.0, 10.0, minimum=0.0)
        self.noise_field.setToolTip(
            "Standard deviation of Gaussian noise added to every gradient coordinate: "
            "what a minibatch gradient looks like. 0 is full-batch gradient descent."
        )
        self.noise_field.edited.connect(lambda v: self._set(self.noise_field, noise=v))
        self.batch = OptionalNumberField(
            "Minibatch", NumberField(1, 256, log=True, integer=True, minimum=1)
        )
        self.batch.setToolTip(
            "Data surfaces only: each update uses the mean gradient of this many examples, "
            "reshuffled every epoch. Off: the full batch."
        )
        self.batch.edited.connect(lambda v: self._set(self.batch.field, batch_size=v))
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 100_000)
        self.steps_box.setSingleStep(100)
        self.steps_box.setKeyboardTracking(False)
        self.steps_box.setToolTip("Number of updates in every run")
        self.steps_box.valueChanged.connect(self._on_steps)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2_147_483_647)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setToolTip("Seed of the gradient noise and minibatch order: the same "
                                 "seed replays the same run exactly")
        self.seed_box.valueChanged.connect(self._on_seed)
        self.clip = OptionalNumberField(
            "Clip gradient norm", NumberField(0.01, 100.0, log=True, minimum=0.0,
                                              exclusive_min=True)
        )
        self.clip.setToolTip("torch.nn.utils.clip_grad_norm_: rescale any gradient longer "
                             "than max_norm to that length (tames exploding steps)")
        self.clip.edited.connect(lambda v: self._set(self.clip.field, clip_grad_norm=v))
        self.message = ErrorLabel()

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 4, 8, 8)
        lay.setSpacing(4)
        lay.addWidget(self.lr_title)
        lay.addWidget(self.lr_field)
        lr_row = QHBoxLayout()
        lr_row.addStretch(1)
        lr_row.addWidget(self.lr_all)
        lay.addLayout(lr_row)
        lay.addWidget(section_label("Schedule"))
        lay.addWidget(self.schedule_editor)
        lay.addWidget(self.preview)
        lay.addWidget(section_label("Gradient noise and data"))
        form = form_layout()
        form.addRow("Noise (std)", self.noise_field)
        lay.addLayout(form)
        lay.addWidget(self.batch)
        lay.addWidget(section_label("Run"))
        form2 = form_layout()
        form2.addRow("Steps", self.steps_box)
        form2.addRow("Seed", self.seed_box)
        lay.addLayout(form2)
        lay.addWidget(self.clip)
        lay.addWidget(self.message)
        lay.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        session.training_changed.connect(self._on_training_changed)
        session.lanes_changed.connect(self._on_lanes_changed)
        session.selected_lane_changed.connect(self._on_selected_lane_changed)
        session.surface_changed.connect(self._on_surface_changed)
        self._sync_all()

    def retheme(self) -> None:
        """Redraw what is coloured by the theme (after a light/dark switch)."""
        self._sync_all()

    # ---- from the session --------------------------------------------------------------
    def _sync_all(self) -> None:
        self._on_training_changed()
        self._on_lanes_changed()
        self._on_surface_changed()

    def _on_training_changed(self) -> None:
        s = self.session
        self.schedule_editor.steps = s.steps
        if self.schedule_editor.schedule() != s.schedule:
            self.schedule_editor.set_schedule(s.schedule)
        self.noise_field.set_value(s.noise)
        self.batch.set_value(s.batch_size)
        self.clip.set_value(s.clip_grad_norm)
        for box, v in ((self.steps_box, s.steps), (self.seed_box, s.seed)):
            box.blockSignals(True)
            box.setValue(int(v))
            box.blockSignals(False)
        self.preview.show_session(s)

    def _on_lanes_changed(self) -> None:
        self._on_selected_lane_changed(self.session.selected_lane)
        self.preview.show_session(self.session)

    def _on_selected_lane_changed(self, _i: int) -> None:
        lane = self.session.current_lane
        enabled = lane is not None
        self.lr_field.setEnabled(enabled)
        self.lr_all.setEnabled(enabled and len(self.session.lanes) > 1)
        if lane is None:
            self.lr_title.setText("Learning rate (select a lane)")
            return
        color = palette.display_color(lane.color).name()
        self.lr_title.setText(
            f"Learning rate \u2014 <span style='color:{color}'>\u25a0</span> {lane.name}"
        )
        self.lr_field.set_value(lane.optimizer.lr)
        tip = (
            f"{lane.optimizer.title} update rule:\n{lane.optimizer.rule}\n\n"
            "Drag to explore or type an exact value; a huge value is allowed and diverges."
        )
        if self.lr_field.toolTip() != tip:  # not on every slider tick
            self.lr_field.setToolTip(tip)
        self.schedule_editor.lr = lane.optimizer.lr

    def _on_surface_changed(self) -> None:
        data = (self.session.surface is not None
                and self.session.surface.kind in ("data", "network"))
        self.batch.setEnabled(data)
        self.batch.check.setText("Minibatch" if data else
                                 "Minibatch (data surfaces and networks only)")

    # ---- to the session ----------------------------------------------------------------
    def _on_lr(self, v: float) -> None:
        s = self.session
        lane = s.current_lane
        if lane is None:
            return
        prev = lane.optimizer.lr
        try:
            s.update_lane(s.selected_lane, lr=v)
        except ValueError as e:
            self.lr_field.reject(str(e), prev)

    def _on_lr_all(self) -> None:
        v = self.lr_field.value()
        for i in range(len(self.session.lanes)):
            try:
                self.session.update_lane(i, lr=v)
            except ValueError as e:
                self.lr_field.error.show_message(str(e))

    def _on_schedule(self, sched) -> None:
        try:
            self.session.set_training(schedule=sched)
        except ValueError as e:
            self.schedule_editor.reject(str(e))

    def _on_steps(self, v: int) -> None:
        try:
            self.session.set_training(steps=int(v))
        except ValueError as e:
            self.message.show_message(str(e))

    def _on_seed(self, v: int) -> None:
        try:
            self.session.set_training(seed=int(v))
        except ValueError as e:
            self.message.show_message(str(e))

    def _set(self, field, **change) -> None:
        key = next(iter(change))
        prev = getattr(self.session, key)
        try:
            self.session.set_training(**change)
        except ValueError as e:
            if isinstance(field, NumberField):
                field.reject(str(e), prev if isinstance(prev, (int, float)) and not
                             isinstance(prev, bool) and math.isfinite(prev) else None)
            self.message.show_message(str(e))
