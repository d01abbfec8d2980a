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


class _Shared:
    """What the worker thread and the GUI thread share: plain Python only. The thread
    holds this, never the QObject: a QObject's last reference dropped in the worker (a
    window closed while a job runs) would destroy it, its timers and what its signals
    keep alive, off the GUI thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.next = None  # (key, fn) waiting for the worker
        self.results: list = []
        self.running = False
        self.drop = False
        self.started_at = 0.0
        self.progress = (0, 0)

    def report(self, done: int, total: int) -> None:
        self.progress = (int(done), int(total))

    def start(self) -> None:
        self.drop = False
        self.progress = (0, 0)
        self.started_at = time.perf_counter()
        threading.Thread(target=self.work, daemon=True, name=self.name).start()

    def work(self) -> None:
        while True:
            with self.lock:
                job, self.next = self.next, None
                if job is None:
                    self.running = False
                    return
            key, fn = job
            self.progress = (0, 0)
            self.started_at = time.perf_counter()
            try:
                result = fn()
            except Exception as e:  # noqa: BLE001 - the GUI shows it
                result = e
            del fn, job
            with self.lock:
                if not self.drop:
                    self.results.append((key, result))
                self.drop = False
            del result


class BackgroundJob(QObject):
    """Run the latest submitted function in a worker thread; ``done`` in the GUI thread.

    The submitted function should hold no Qt object either (see ``_Shared``)."""

    #: (key, result or the exception raised)
    done = Signal(object, object)
    #: True while a job runs or waits
    busy_changed = Signal(bool)
    #: (done, total) as the running job last reported it; (0, 0) when idle
    progressed = Signal(int, int)

    def __init__(self, parent: QObject | None = None, name: str = "background") -> None:
        super().__init__(parent)
        self.name = name
        self._s = _Shared(name)
        self._shown = (0, 0)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def started_at(self) -> float:
        return self._s.started_at

    @property
    def busy(self) -> bool:
        s = self._s
        with s.lock:
            return s.running or s.next is not None

    @property
    def progress(self) -> tuple[int, int]:
        """(done, total) as the running job last reported it; (0, 0) when idle."""
        return self._s.progress if self.busy else (0, 0)

    def elapsed(self) -> float:
        """Seconds since the running job started (0 when idle)."""
        return time.perf_counter() - self._s.started_at if self.busy else 0.0

    def submit(self, key, fn) -> None:
        """Run ``fn()`` after the running job (replacing any job still waiting)."""
        was_busy = self.busy
        s = self._s
        with s.lock:
            s.next = (key, fn)
            start = not s.running
            if start:
                s.running = True
        if start:
            s.start()
        self._timer.start()
        if not was_busy:
            self.busy_changed.emit(True)

    @property
    def reporter(self):
        """``report`` as a plain function, for a job to hold (no Qt object in it)."""
        return self._s.report

    def report(self, done: int, total: int) -> None:
        """How far the running job got (call from the job, in its thread)."""
        self._s.report(done, total)

    def cancel(self) -> None:
        """Forget the waiting job (the running one finishes; its result is dropped)."""
        s = self._s
        with s.lock:
            s.next = None
            s.drop = True

    def _poll(self) -> None:
        s = self._s
        with s.lock:
            results, s.results = s.results, []
            idle = not s.running and s.next is None
        shown = (0, 0) if idle else s.progress
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
