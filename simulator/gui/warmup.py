"""Compiling the kernels in the background after the window opens, and saying so.

On a first start nothing is compiled yet. The window opens at once: runs that need a
kernel not yet compiled are computed by the interpreter (the same numbers, slower; see
``simulator.core.kernels.interp``), while ``KernelWarmup`` compiles, on a thread of its
own, what the session is likely to need (``simulator.core.prepare.warmup_plan``). Given
the plan's description, it shares the plan with a helper process that compiles it from
the back into the same disk cache (``simulator.core.prepare_helper``; on one core, or
if the helper cannot run, this thread compiles everything, as before). The status bar's
``CompileIndicator`` shows how far both are; on a warm start every step loads from the
disk cache in milliseconds and the indicator never appears.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QThread, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

SHOW_AFTER_MS = 400  # a warm start finishes before this: no indicator flickers up
DONE_MESSAGE_MS = 6000


class KernelWarmup(QThread):
    """Runs a warm-up plan (``(label, callable)`` steps) on its own thread, and from the
    back in a helper process when ``description`` (``plan_description``) is given."""

    progress = Signal(int, int, str)
    failed = Signal(str)

    def __init__(self, plan, parent=None, description: dict | None = None) -> None:
        super().__init__(parent)
        self._plan = plan
        self._description = description
        self.helper = None  # the HelperProcess, once started
        self.seconds = 0.0

    def run(self) -> None:
        from simulator.core.prepare_helper import HelperProcess, run_plan_split

        t0 = time.perf_counter()
        self.helper = HelperProcess()
        failures = run_plan_split(self._plan, self._description,
                                  progress=self.progress.emit,
                                  stop=self.isInterruptionRequested, helper=self.helper)
        self.seconds = time.perf_counter() - t0
        for label, err in failures:
            self.failed.emit(f"while compiling {label}: {err}")

    def stop(self) -> None:
        """Stop after the current step, the helper process at once (the app quits), and
        wait for both."""
        self.requestInterruption()
        helper = self.helper
        if helper is not None:
            helper.close()
        self.wait()


class CompileIndicator(QWidget):
    """A status-bar label and bar: "Compiling kernels 3/8: typed formulas"."""

    TIP = ("LossLab compiles its numerical kernels (with numba) the first time they are "
           "needed, and keeps them on disk for later starts.\nUntil a kernel is ready, runs "
           "are computed by the Python interpreter: the same numbers, only slower, so the "
           "app is usable at once.")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 0, 0, 0)  # apart from the scene's counters before it
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setMaximumWidth(120)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        self.setToolTip(self.TIP)
        self.hide()
        self._started = time.perf_counter()
        self._finished = False
        QTimer.singleShot(SHOW_AFTER_MS, self._maybe_show)

    def _maybe_show(self) -> None:
        if not self._finished:
            self.show()

    def set_progress(self, i: int, n: int, label: str) -> None:
        self.bar.setRange(0, max(n, 1))
        self.bar.setValue(i)
        if i < n:
            self.label.setText(f"Compiling kernels {i + 1}/{n}: {label}\u2026")
        else:
            self.finish()

    def finish(self) -> None:
        """All compiled: say so briefly if the indicator was shown, then hide."""
        self._finished = True
        if self.isVisible():
            secs = time.perf_counter() - self._started
            self.bar.hide()
            self.label.setText(f"Kernels ready after {secs:.0f} s: every run at full speed")
            QTimer.singleShot(DONE_MESSAGE_MS, self.hide)
