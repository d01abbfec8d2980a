"""Dock panels that edit the Session, and the small input widgets they share.

Every number a student can type goes through :class:`NumberField`: a slider for
exploring (log or linear) plus an exact entry, with the error message shown right under
the field. A rejected entry never reaches the session and the field returns to the last
accepted value, so bad input never loses work.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from .. import palette
from ..drag import DRAG, SliderDrag  # noqa: F401 - the drag state lives in gui.drag

__all__ = [
    "ErrorLabel",
    "NumberField",
    "OptionalNumberField",
    "PairField",
    "fmt_number",
    "parse_number",
    "section_label",
    "shrinkable",
]

SLIDER_TICKS = 1000


def fmt_number(v: float | int | None, integer: bool = False) -> str:
    if v is None:
        return ""
    if integer:
        return str(int(v))
    v = float(v)
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e5:
        return f"{v:.6g}"
    return f"{v:.4g}"


def parse_number(text: str, integer: bool = False) -> float | int:
    """``"1e-3"`` -> 0.001; ValueError with a message meant for the user otherwise."""
    t = text.strip().replace(",", ".").replace("\u2212", "-")
    if not t:
        raise ValueError("enter a number")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"\u201c{text.strip()}\u201d is not a number (e.g. 0.01 or 1e-3)") \
            from None
    if not math.isfinite(v):
        raise ValueError("enter a finite number")
    if integer:
        if v != round(v):
            raise ValueError("enter a whole number")
        return int(round(v))
    return v


def section_label(text: str) -> QLabel:
    """A bold small heading inside a panel."""
    lab = QLabel(text)
    f = lab.font()
    f.setBold(True)
    lab.setFont(f)
    lab.setContentsMargins(0, 6, 0, 0)
    return lab


class ErrorLabel(QLabel):
    """A one-line message under a field: red for errors, hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setVisible(False)
        f = self.font()
        f.setPointSizeF(max(7.0, f.pointSizeF() * 0.9))
        self.setFont(f)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def show_message(self, text: str, error: bool = True) -> None:
        if not text:
            self.clear_message()
            return
        color = palette.error_color() if error else palette.muted_color()
        self.setStyleSheet(f"color: {color};")
        self.setText(text[:1].upper() + text[1:])
        self.setVisible(True)

    def clear_message(self) -> None:
        self.setText("")
        self.setVisible(False)


class NumberField(QWidget):
    """A slider over ``[lo, hi]`` plus an exact entry, and an error line below.

    The entry accepts values beyond the slider's range (a learning rate of 1e9 is
    legitimate: it diverges, which is worth seeing) but not beyond ``minimum`` and
    ``maximum``. ``edited`` is emitted while the slider moves and when an entry is
    committed; the receiver may still reject the value (call :meth:`reject`).
    """

    edited = Signal(float)

    def __init__(
        self,
        lo: float,
        hi: float,
        log: bool = False,
        integer: bool = False,
        value: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        slider: bool = True,
        exclusive_min: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.lo, self.hi = float(lo), float(hi)
        self.log = bool(log) and self.lo > 0
        self.integer = integer
        self.minimum, self.maximum = minimum, maximum
        self.exclusive_min = exclusive_min
        self._value = float(value if value is not None else lo)

        # parented at once: shown without a parent, a widget becomes a window of its
        # own for a moment (a native window on X11: 13 ms a field, a lane's editor
        # builds several whenever another optimizer's lane is selected)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, SLIDER_TICKS)
        self.slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.slider.setVisible(slider)
        self.slider.setMinimumWidth(60)  # in a narrow dock the entry gives way first
        guard_wheel(self.slider)
        DRAG.track(self.slider)
        self.entry = QLineEdit(self)
        self.entry.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.entry.setMinimumWidth(56)
        self.entry.setMaximumWidth(84 if slider else 16777215)
        self.error = ErrorLabel(self)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        row.addWidget(self.slider, 1)
        row.addWidget(self.entry, 0 if slider else 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(row)
        lay.addWidget(self.error)

        self.slider.valueChanged.connect(self._on_slider)
        self.entry.editingFinished.connect(self._on_entry)
        self.set_value(self._value)

    # ---- mapping ------------------------------------------------------------------------
    def _to_tick(self, v: float) -> int:
        lo, hi = self.lo, self.hi
        if self.log:
            if v <= 0:
                return 0
            t = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        else:
            t = (v - lo) / (hi - lo) if hi > lo else 0.0
        return int(round(min(max(t, 0.0), 1.0) * SLIDER_TICKS))

    def _from_tick(self, i: int) -> float:
        t = i / SLIDER_TICKS
        if self.log:
            v = 10 ** (math.log10(self.lo) + t * (math.log10(self.hi) - math.log10(self.lo)))
            v = float(f"{v:.3g}")  # slider values a person could have typed
        else:
            v = self.lo + t * (self.hi - self.lo)
            step = (self.hi - self.lo) / SLIDER_TICKS
            if step > 0:
                digits = max(0, -int(math.floor(math.log10(step))) + 1)
                v = round(v, digits)
        if self.integer:
            v = float(round(v))
        return v

    # ---- api ----------------------------------------------------------------------------
    def value(self) -> float:
        return int(self._value) if self.integer else self._value

    def set_value(self, v: float) -> None:
        """Show ``v`` (no signal); clears any error."""
        self._value = float(v)
        if not self.slider.isSliderDown():  # never move a slider under the user's mouse
            self.slider.blockSignals(True)
            self.slider.setValue(self._to_tick(self._value))
            self.slider.blockSignals(False)
        self.entry.setText(fmt_number(self._value, self.integer))
        self.error.clear_message()

    def reject(self, message: str, previous: float | None = None) -> None:
        """The receiver refused the value: show why and go back to ``previous``."""
        if previous is not None:
            self.set_value(previous)
        self.error.show_message(message)

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt naming
        super().setToolTip(text)
        self.slider.setToolTip(text)
        self.entry.setToolTip(text)

    def _check(self, v: float) -> str | None:
        if self.minimum is not None:
            if self.exclusive_min and v <= self.minimum:
                return f"must be greater than {fmt_number(self.minimum)}"
            if v < self.minimum:
                return f"must be at least {fmt_number(self.minimum)}"
        if self.maximum is not None and v > self.maximum:
            return f"must be at most {fmt_number(self.maximum)}"
        return None

    def _on_slider(self, i: int) -> None:
        v = self._from_tick(i)
        if v == self._value:
            return
        self._value = v
        self.entry.setText(fmt_number(v, self.integer))
        self.error.clear_message()
        self.edited.emit(v)

    def _on_entry(self) -> None:
        text = self.entry.text()
        if text.strip() == fmt_number(self._value, self.integer):
            return
        try:
            v = float(parse_number(text, self.integer))
        except ValueError as e:
            self.reject(str(e), self._value)
            self.entry.setText(text)  # keep what was typed visible next to the message
            return
        msg = self._check(v)
        if msg:
            self.reject(msg, self._value)
            self.entry.setText(text)
            return
        self._value = v
        self.slider.blockSignals(True)
        self.slider.setValue(self._to_tick(v))
        self.slider.blockSignals(False)
        self.error.clear_message()
        self.edited.emit(v)


class OptionalNumberField(QWidget):
    """A checkbox that switches a :class:`NumberField` on (value) or off (``None``)."""

    edited = Signal(object)

    def __init__(self, text: str, field: NumberField, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox(text)
        self.field = field
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(self.check)
        lay.addWidget(field)
        field.setEnabled(False)
        self.check.toggled.connect(self._on_toggle)
        field.edited.connect(self._on_field)

    def value(self):
        return self.field.value() if self.check.isChecked() else None

    def set_value(self, v) -> None:
        self.check.blockSignals(True)
        self.check.setChecked(v is not None)
        self.check.blockSignals(False)
        self.field.setEnabled(v is not None)
        if v is not None:
            self.field.set_value(v)

    def _on_toggle(self, on: bool) -> None:
        self.field.setEnabled(on)
        self.edited.emit(self.value())

    def _on_field(self, _v) -> None:
        if self.check.isChecked():
            self.edited.emit(self.value())


class PairField(QWidget):
    """Two numbers side by side (a point, a domain interval, Adam's betas)."""

    edited = Signal(tuple)

    def __init__(self, labels=("x", "y"), integer=False, parent: QWidget | None = None):
        super().__init__(parent)
        self.integer = integer
        self.entries = []
        self.labels = []
        self.error = ErrorLabel()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        for lab in labels:
            if lab:
                ql = QLabel(lab)
                ql.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
                row.addWidget(ql)
            self.labels.append(ql if lab else None)
            e = QLineEdit()
            e.setAlignment(Qt.AlignmentFlag.AlignRight)
            e.setMinimumWidth(48)
            e.editingFinished.connect(self._on_entry)
            row.addWidget(e, 1)
            self.entries.append(e)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(row)
        lay.addWidget(self.error)
        self._value: tuple = tuple(0.0 for _ in labels)

    def value(self) -> tuple:
        return self._value

    def set_count(self, n: int) -> None:
        """Show only the first ``n`` entries (a 1-D start point has no y)."""
        for i, (e, lab) in enumerate(zip(self.entries, self.labels)):
            e.setVisible(i < n)
            if lab is not None:
                lab.setVisible(i < n)

    def set_value(self, v) -> None:
        v = tuple(v)
        if len(v) < len(self.entries):  # keep hidden entries' text
            v = v + tuple(self._value[len(v):])
        self._value = tuple(float(x) for x in v)
        for e, x in zip(self.entries, self._value):
            e.setText(fmt_number(x, self.integer))
        self.error.clear_message()

    def reject(self, message: str, previous=None) -> None:
        if previous is not None:
            self.set_value(previous)
        self.error.show_message(message)

    def _on_entry(self) -> None:
        texts = [e.text() for e in self.entries]
        if texts == [fmt_number(x, self.integer) for x in self._value]:
            return
        try:
            v = tuple(float(parse_number(t, self.integer))
                      for t, e in zip(texts, self.entries) if not e.isHidden())
            v = v + tuple(self._value[len(v):])
        except ValueError as e:
            self.error.show_message(str(e))
            return
        self._value = v
        self.error.clear_message()
        self.edited.emit(v)


class _WheelGuard(QObject):
    """Scrolling a panel must not change the slider or list under the mouse.

    A guarded widget takes the wheel only once it has focus (a click or Tab); before,
    the wheel event is ignored here and Qt passes it on to the parent, which scrolls."""

    def eventFilter(self, obj, ev):  # noqa: N802 - Qt API
        if ev.type() == QEvent.Type.Wheel and not obj.hasFocus():
            ev.ignore()
            return True
        return False


_WHEEL_GUARD: list = []


def guard_wheel(widget) -> None:
    """Give ``widget`` (a slider, combo box, spin box) the wheel only when focused."""
    if not _WHEEL_GUARD:
        _WHEEL_GUARD.append(_WheelGuard())
    widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    widget.installEventFilter(_WHEEL_GUARD[0])


def shrinkable(combo) -> None:
    """Let a combo box be narrower than its longest item (docks must not clip); the
    wheel changes it only when it has focus."""
    from PySide6.QtWidgets import QComboBox

    guard_wheel(combo)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


def form_layout() -> QFormLayout:
    """A form layout whose fields grow and whose labels wrap instead of clipping."""
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    form.setContentsMargins(0, 0, 0, 0)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(4)
    return form
