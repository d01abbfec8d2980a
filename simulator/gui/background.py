"""Work off the GUI thread for the network views: one job at a time, the latest wins.

A network's loss plane (``landscape.loss_plane``: 51 x 51 forward passes over the
training set) and its sharpness along the runs (Lanczos on exact Hessian-vector
products) take from tens of milliseconds to a second: too long for the GUI thread, which
must keep playing and dragging. ``BackgroundJob.submit(key, fn)`` runs ``fn()`` in a
daemon thread; while it runs, newer submissions replace each other and only the last
one runs next (a slider drag queues one job, not one per tick). ``done(key, result)``
fires in the GUI thread; ``result`` is the exception when ``fn`` raised. A job may say
how far it got with ``report(done, total)`` (from its thread); ``progressed`` repeats it
in the GUI thread, and ``(0, 0)`` once the job is over. The worker
never touches Qt: it leaves the result in a list that a GUI-thread timer polls (as
``analysis_cache`` does for critical points). The numba kernels release the GIL, so
the GUI thread keeps running while they compute.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal

POLL_MS = 30


class BackgroundJob(QObject):
    """Run the latest submitted function in a worker thread; ``done`` in the GUI thread."""

    #: (key, result or the exception raised)
    done = Signal(object, object)
    #: True while a job runs or waits
    busy_changed = Signal(bool)
    #: (done, total) as the running job last reported it; (0, 0) when idle
    progressed = Signal(int, int)

    def __init__(self, parent: QObject | None = None, name: str = "background") -> None:
        super().__init__(parent)
        self.name = name
        self._lock = threading.Lock()
        self._next = None  # (key, fn) waiting for the worker
        self._results: list = []
        self._running = False
        self._drop = False
        self.started_at = 0.0
        self._progress = (0, 0)
        self._shown = (0, 0)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running or self._next is not None

    def elapsed(self) -> float:
        """Seconds since the running job started (0 when idle)."""
        return time.perf_counter() - self.started_at if self.busy else 0.0

    def submit(self, key, fn) -> None:
        """Run ``fn()`` after the running job (replacing any job still waiting)."""
        was_busy = self.busy
        with self._lock:
            self._next = (key, fn)
            start = not self._running
            if start:
                self._running = True
        if start:
            self._start()
        self._timer.start()
        if not was_busy:
            self.busy_changed.emit(True)

    def report(self, done: int, total: int) -> None:
        """How far the running job got (call from the job, in its thread)."""
        self._progress = (int(done), int(total))

    def cancel(self) -> None:
        """Forget the waiting job (the running one finishes; its result is dropped)."""
        with self._lock:
            self._next = None
            self._drop = True

    def _start(self) -> None:
        self._drop = False
        self._progress = (0, 0)
        self.started_at = time.perf_counter()
        threading.Thread(target=self._work, daemon=True, name=self.name).start()

    def _work(self) -> None:
        while True:
            with self._lock:
                job, self._next = self._next, None
                if job is None:
                    self._running = False
                    return
            key, fn = job
            self._progress = (0, 0)
            self.started_at = time.perf_counter()
            try:
                result = fn()
            except Exception as e:  # noqa: BLE001 - the GUI shows it
                result = e
            with self._lock:
                if not self._drop:
                    self._results.append((key, result))
                self._drop = False

    def _poll(self) -> None:
        with self._lock:
            results, self._results = self._results, []
            idle = not self._running and self._next is None
        shown = (0, 0) if idle else self._progress
        if shown != self._shown:
            self._shown = shown
            self.progressed.emit(*shown)
        for key, result in results[-1:]:  # an older result is already out of date
            self.done.emit(key, result)
        if idle:
            self._timer.stop()
            self.busy_changed.emit(False)

    def wait(self, timeout: float = 30.0) -> None:
        """Block until idle and deliver the result (tests and exports)."""
        end = time.perf_counter() + timeout
        while self.busy and time.perf_counter() < end:
            time.sleep(0.005)
        self._poll()
