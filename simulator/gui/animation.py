"""Playback: a 60 Hz timer that moves ``session.frame`` over precomputed runs.

Nothing is recomputed per frame: the runs are whole arrays in ``session.results`` and
the views only show a prefix of them. The speed is in optimizer steps per second and is
kept exact by measuring elapsed time (a timer tick can arrive late; the animation then
advances more steps instead of slowing down).
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal

SPEEDS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
DEFAULT_SPEED = 100.0
FPS = 60


class Animator(QObject):
    """Play/pause/step/reset over the session's frames."""

    playing_changed = Signal(bool)
    speed_changed = Signal(float)
    loop_changed = Signal(bool)

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._speed = DEFAULT_SPEED
        self._loop = False
        self._carry = 0.0  # fractional steps owed from earlier ticks
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(round(1000 / FPS))
        self._timer.timeout.connect(self._tick)

    # ---- state -----------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def loop(self) -> bool:
        return self._loop

    def set_speed(self, steps_per_second: float) -> None:
        v = float(min(max(steps_per_second, SPEEDS[0]), SPEEDS[-1]))
        if v != self._speed:
            self._speed = v
            self.speed_changed.emit(v)

    def faster(self) -> None:
        bigger = [s for s in SPEEDS if s > self._speed]
        self.set_speed(bigger[0] if bigger else SPEEDS[-1])

    def slower(self) -> None:
        smaller = [s for s in SPEEDS if s < self._speed]
        self.set_speed(smaller[-1] if smaller else SPEEDS[0])

    def set_loop(self, on: bool) -> None:
        on = bool(on)
        if on != self._loop:
            self._loop = on
            self.loop_changed.emit(on)

    # ---- transport -------------------------------------------------------------------------
    def play(self) -> None:
        if self.playing:
            return
        if self.session.frame >= self.session.steps:
            self.session.set_frame(0)  # play from the start after the end was reached
        self._carry = 0.0
        self._clock.start()
        self._timer.start()
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if not self.playing:
            return
        self._timer.stop()
        self.playing_changed.emit(False)

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def step_forward(self, n: int = 1) -> None:
        self.pause()
        self.session.set_frame(self.session.frame + n)

    def step_back(self, n: int = 1) -> None:
        self.pause()
        self.session.set_frame(self.session.frame - n)

    def reset(self) -> None:
        """Back to step 0, paused."""
        self.pause()
        self.session.set_frame(0)

    def go_to_end(self) -> None:
        self.pause()
        self.session.set_frame(self.session.steps)

    # ---- settings (the friture pattern: each object keeps its own group) -----------------
    def save_state(self, group) -> None:
        """Store speed and loop in a :class:`~simulator.gui.settings.Settings` group."""
        group.set("speed", float(self._speed))
        group.set("loop", bool(self._loop))

    def restore_state(self, group) -> None:
        self.set_speed(group.get_float("speed", DEFAULT_SPEED, SPEEDS[0], SPEEDS[-1]))
        self.set_loop(group.get_bool("loop", False))

    def _tick(self) -> None:
        dt = self._clock.restart() / 1000.0
        dt = min(dt, 0.25)  # after a stall, don't leap ahead
        self._carry += dt * self._speed
        n = int(self._carry)
        if n <= 0:
            return
        self._carry -= n
        s = self.session
        target = s.frame + n
        if target < s.steps:
            s.set_frame(target)
        elif s.frame < s.steps:
            s.set_frame(s.steps)  # always show the last step before looping or stopping
            if not self._loop:
                self.pause()
        elif self._loop:
            s.set_frame(0)
        else:
            self.pause()
