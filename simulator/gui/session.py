"""The Session: a :class:`~simulator.core.scene.Scene` with Qt signals, for the app.

The scene itself (surface, lanes, training settings, view state), its validation,
presets and learning-rate heuristics and its file format live in
:mod:`simulator.core.scene`, free of Qt. This adapter adds what the GUI needs: signals
after every edit, and a *coalesced* recompute (a zero-delay single-shot timer): twenty
edits in one event-loop turn cost one recompute, and a slider drag reshapes the paths
live because a whole run costs well under a millisecond in numba.

A network's lane is another matter (2,000 steps of a small network take a tenth of a
second, a first run also compiles): on a network scene the lanes whose inputs changed
are re-run in a worker thread (``background.BackgroundJob``), the latest edit wins (a
drag's ticks replace the waiting re-run; a re-run overtaken by an edit stops between
lanes; the views never show its runs, though the cache keeps those whose inputs are
still a lane's), ``runs_progress`` says how many lanes are done, and
``trajectories_changed`` follows when the runs of the current settings are in. Until
then the views keep the previous runs. ``flush()`` stays synchronous (tests, exports,
labs).

Panels edit the session; the session asks the core for trajectories and emits
``trajectories_changed``; views redraw from the arrays. Bad input never reaches the
scene: setters validate first and raise ``ValueError`` (also sent to
``status_message``) leaving the state as it was; should a run still fail in the core,
the session returns to the last state that computed.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from simulator.core.network import Network
from simulator.core.scene import (  # noqa: F401 - the app's names for the scene's rules
    DEFAULT_LANES,
    DEFAULT_START,
    DEFAULT_STEPS,
    DEFAULT_SURFACE,
    FORMAT,
    LANE_FIELDS,
    MAX_LANE_NAME,
    MAX_LANES,
    MAX_SESSION_TEXT,
    PRESETS,
    VERSION,
    Lane,
    Scene,
    ViewState,
    default_start,
    make_preset,
    preset_lr,
    suggested_lr,
)
from simulator.core.scene import MAX_STEPS as MAX_UI_STEPS  # noqa: F401

from .background import BackgroundJob


def _scene_field(name: str) -> property:
    def get(self):
        return getattr(self.scene, name)

    def set_(self, value):
        setattr(self.scene, name, value)

    return property(get, set_, doc=f"``scene.{name}``")


class Session(QObject):
    """The app's scene: a :class:`Scene` (``session.scene``), its computed runs and the
    signals views and panels listen to.

    The scene's fields read (and write) through: ``session.surface``, ``session.lanes``,
    ``session.steps``, ... are ``session.scene``'s.
    """

    surface_changed = Signal()
    lanes_changed = Signal()
    start_changed = Signal()
    training_changed = Signal()
    trajectories_changed = Signal()
    frame_changed = Signal(int)
    selected_lane_changed = Signal(int)
    #: the view state (``scene.view``: log colour, camera, views shown) or the open lab
    view_changed = Signal()
    status_message = Signal(str)
    #: (lanes done, lanes to run) of a re-run in the background; (0, 0) when none runs
    runs_progress = Signal(int, int)

    surface = _scene_field("surface")
    start = _scene_field("start")
    lanes = _scene_field("lanes")
    steps = _scene_field("steps")
    seed = _scene_field("seed")
    noise = _scene_field("noise")
    batch_size = _scene_field("batch_size")
    clip_grad_norm = _scene_field("clip_grad_norm")
    schedule = _scene_field("schedule")
    frame = _scene_field("frame")
    selected_lane = _scene_field("selected_lane")

    def __init__(self, parent: QObject | None = None, *, default_scene: bool = True) -> None:
        super().__init__(parent)
        self.scene = Scene()
        self.results: dict = {}
        self.errors: dict[int, str] = {}
        #: uids whose run changed (new, recomputed or gone) in the last recompute; None
        #: when unknown (views then redraw every lane)
        self.changed_uids: set[int] | None = None
        # uid -> (surface, other inputs, Trajectory): the last run of each lane
        self._run_cache: dict[int, tuple[Any, tuple, Any]] = {}
        self._good: dict | None = None  # last state that computed
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._recompute_due)
        #: network scenes re-run their lanes in a worker thread (False: on this one)
        self.background = True
        self._runs_job = BackgroundJob(self, name="lane-runs")
        self._runs_job.done.connect(self._on_runs_made)
        self._runs_job.progressed.connect(self.runs_progress)
        # bumped by every recompute: a re-run of an older one is stale (a plain list: the
        # worker's job reads it and holds no Qt object, see background._Shared)
        self._latest = [0]
        # every run a worker made, {uid: (surface, key, run)} (plain Python, written by the
        # worker): a re-run overtaken by an edit still leaves the runs it finished, which
        # the cache takes when their inputs are still the lane's (Scene.compute checks)
        self._made: dict = {}
        self._made_lock = threading.Lock()
        self._awaiting = False  # a re-run of the current settings is under way
        if default_scene:
            self.reset_scene()

    # ---- scene ---------------------------------------------------------------------------
    @property
    def view(self) -> ViewState:
        """The view state: which views, log colour, 3-D camera (``scene.view``)."""
        return self.scene.view

    @property
    def title(self) -> str:
        """The scene's caption: the open lab's title, else the surface's name."""
        return self.scene.title

    def reset_scene(self) -> None:
        """The first-screen demo: four classic optimizers racing down Rosenbrock's valley
        (the views shown and the 3-D camera stay as they are)."""
        sc = Scene.default()
        sc.view = sc.view.replace(views=self.view.views, camera=self.view.camera)
        self.load_scene(sc)

    def load_scene(self, scene: Scene) -> None:
        """Show ``scene`` (already valid: a Scene checks every edit), replacing the
        current one; everything is recomputed and every signal sent. Its network lanes
        with a minibatch record their losses once an epoch (``Scene.record_epochs``, on
        by default): the views read each run's ``recorded_steps``."""
        self.scene = scene
        self._good = None
        self._recompute_silently()
        self._emit_all()
        if self.errors:
            self.status_message.emit("; ".join(self.errors.values()))
        self.trajectories_changed.emit()

    def _recompute_silently(self) -> None:
        """Compute the runs for the current state without signals (used when the
        surface changes: views then never see runs from another surface). On a network
        the runs are made in the background (a first network also compiles its kernels,
        which takes seconds): the results are empty until ``trajectories_changed``."""
        self._timer.stop()
        self._supersede()
        self._run_cache.clear()  # a new surface (or scene): every lane runs again
        with self._made_lock:
            self._made.clear()
        if self.background and isinstance(self.surface, Network):
            todo = self.scene.runs_to_make(self._run_cache)
            if todo:
                self.results, self.errors, self.changed_uids = {}, {}, None
                self._submit(todo)
                return
        self.results, self.errors = self.scene.compute(self._run_cache)
        self.changed_uids = None
        if not self.errors:
            self._good = self.scene.snapshot()

    def _emit_all(self) -> None:
        self.surface_changed.emit()
        self.start_changed.emit()
        self.training_changed.emit()
        self.lanes_changed.emit()
        self.selected_lane_changed.emit(self.selected_lane)
        self.frame_changed.emit(self.frame)
        self.view_changed.emit()

    def _error(self, msg: str) -> ValueError:
        self.status_message.emit(msg)
        return ValueError(msg)

    def _checked(self, fn, *args, **kw):
        """``fn(*args, **kw)`` on the scene; a ValueError also goes to the status bar."""
        try:
            return fn(*args, **kw)
        except ValueError as e:
            raise self._error(str(e)) from None

    def set_surface(self, s, race: bool = False) -> None:
        """Replace the surface; the start moves to a sensible default if it falls
        outside the new domain (or has the wrong dimension). ``race`` (a surface picked
        from the library): while the lanes are still a default race, the new surface's
        race replaces them (start and lanes, ``Scene.use_race``); lanes the user made or
        edited are kept."""
        view = self.scene.view
        was_race = race and self.scene.is_race()
        start_moved = self._checked(self.scene.set_surface, s)
        raced = was_race and self.scene.use_race()
        start_moved = start_moved or raced
        # runs for the new surface exist (or, on a network, are being made) before anyone
        # hears of it
        self._recompute_silently()
        self.surface_changed.emit()
        if start_moved:
            self.start_changed.emit()
        if raced:
            self.lanes_changed.emit()
            self.selected_lane_changed.emit(self.selected_lane)
            self.status_message.emit(f"The {s.name} race: its start and lanes (your own "
                                     "lanes are kept when you pick a surface)")
        if self.scene.view != view:
            self.view_changed.emit()
        if self.errors:
            self.status_message.emit("; ".join(self.errors.values()))
        self.trajectories_changed.emit()

    def set_start(self, p) -> None:
        """Move the shared start point (lanes without their own start follow it)."""
        if not self._checked(self.scene.set_start, p):
            return
        self.recompute()  # first: a view may wait for the runs (``pending``) to redraw
        self.start_changed.emit()

    def set_frame(self, i: int) -> None:
        if self.scene.set_frame(i):
            self.frame_changed.emit(self.frame)

    def select_lane(self, i: int) -> None:
        if self.scene.select_lane(i):
            self.selected_lane_changed.emit(self.selected_lane)

    def set_view(self, **changes) -> None:
        """Change the view state (``views``, ``log_scale``, ``camera``)."""
        if self._checked(self.scene.set_view, **changes):
            self.view_changed.emit()

    def set_lab(self, lab_id: str | None, title: str | None = None) -> None:
        """Mark the scene as lab ``lab_id`` (None: no lab open)."""
        before = (self.scene.lab_id, self.scene.lab_title)
        self.scene.set_lab(lab_id, title)
        if (self.scene.lab_id, self.scene.lab_title) != before:
            self.view_changed.emit()

    @property
    def current_lane(self) -> Lane | None:
        return self.scene.current_lane

    def lane_index(self, uid: int) -> int:
        return self.scene.lane_index(uid)

    # ---- lanes ---------------------------------------------------------------------------
    def add_lane(self, optimizer, **kw) -> Lane:
        """Append a lane running ``optimizer``; ``kw`` are Lane fields (name, color, ...)."""
        lane = self._checked(self.scene.add_lane, optimizer, **kw)
        self.recompute()  # first: views skip lanes_changed while a run is pending
        self.lanes_changed.emit()
        return lane

    def add_preset(self, preset: str) -> Lane:
        """Add a lane from a preset name (``"Momentum"``), tuned to the current scene."""
        opt, kw = make_preset(preset, self.surface, self.start)
        return self.add_lane(opt, name=preset, **kw)

    def use_race(self) -> bool:
        """Start and lanes from the surface's default race; False if it has none."""
        if not self.scene.use_race():
            return False
        self.recompute()
        self.start_changed.emit()
        self.lanes_changed.emit()
        self.selected_lane_changed.emit(self.selected_lane)
        return True

    def suggest_learning_rates(self) -> None:
        """Give every lane a learning rate suited to the current surface and start
        (after switching surfaces, the old rates may crawl or explode)."""
        if self.scene.suggest_learning_rates():
            self.recompute()
            self.lanes_changed.emit()

    def remove_lane(self, i: int) -> None:
        lane = self.scene.remove_lane(i)  # the selection moves to a neighbour
        if lane is None:
            return
        self.results.pop(lane.uid, None)
        self.recompute()
        self.lanes_changed.emit()
        self.selected_lane_changed.emit(self.selected_lane)

    def duplicate_lane(self, i: int) -> Lane | None:
        lane = self._checked(self.scene.duplicate_lane, i)
        if lane is None:
            return None
        self.recompute()
        self.lanes_changed.emit()
        return lane

    def update_lane(self, i: int, **changes) -> None:
        """Change lane ``i``: Lane fields (``enabled=False``, ``noise=0.1``, ...) or the
        optimizer's hyperparameters by name (``lr=0.01``, ``momentum=0.9``)."""
        changed = self._checked(self.scene.update_lane, i, **changes)
        if changed:
            if changed - {"name", "color"}:  # a new name or colour runs nothing again
                self.recompute()
            self.lanes_changed.emit()

    # ---- training ------------------------------------------------------------------------
    def set_training(self, **changes) -> None:
        """Change global settings: steps, seed, noise, batch_size, clip_grad_norm,
        schedule. Invalid values raise ValueError and change nothing."""
        changed = self._checked(self.scene.set_training, **changes)
        if not changed:
            return
        self.training_changed.emit()
        self.recompute()
        if "steps" in changed:
            self.frame_changed.emit(self.frame)

    def effective(self, lane: Lane) -> dict:
        """The settings ``lane`` actually runs with (its overrides, else the scene's)."""
        return self.scene.effective(lane)

    # ---- computing -----------------------------------------------------------------------
    def recompute(self) -> None:
        """Schedule one recompute of every enabled lane (coalesced per event-loop turn)."""
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> bool:
        """True while a recompute is scheduled or its runs are being made in the
        background: ``trajectories_changed`` will follow, so a view can skip redrawing
        on ``lanes_changed`` (an edit then draws once)."""
        return self._timer.isActive() or self._awaiting

    @property
    def running_in_background(self) -> bool:
        """Whether lanes are being re-run in the worker thread for the current settings."""
        return self._awaiting

    def runs_state(self) -> tuple[int, int, float]:
        """``(done, total, seconds)`` of the re-run under way for the current settings
        (lanes made, lanes to make, time since it started); ``(0, 0, 0.0)`` when none."""
        if not self._awaiting:
            return 0, 0, 0.0
        done, total = self._runs_job.progress
        return done, total, self._runs_job.elapsed()

    def flush(self) -> None:
        """Run a pending recompute now, on this thread (tests and exports call this to be
        synchronous); a re-run under way in the background is dropped."""
        if self._timer.isActive():
            self._timer.stop()
        self.flush_now()

    def _supersede(self) -> None:
        """Make any re-run under way stale (its runs are dropped, it stops early)."""
        self._latest[0] += 1
        self._awaiting = False
        self._runs_job.cancel()

    def _recompute_due(self) -> None:
        """The coalesced recompute: on a network scene the lanes to re-run go to the
        worker thread; otherwise (or when every run is cached) it is made here."""
        if self.background and isinstance(self.surface, Network):
            self._take_made()
            todo = self.scene.runs_to_make(self._run_cache)
            if todo:
                self._submit(todo)
                return
        self.flush_now()

    def _take_made(self) -> None:
        """Move the runs the workers finished into the run cache (any generation: the
        cache keys them by their inputs, so an out-of-date one is simply never used)."""
        uids = {lane.uid for lane in self.lanes}
        with self._made_lock:
            items = list(self._made.items())
            self._made.clear()
        for uid, entry in items:
            if uid in uids and entry[0] is self.surface:
                self._run_cache[uid] = entry

    def _submit(self, todo: list) -> None:
        """Make the runs of ``todo`` in the worker thread (superseding any under way)."""
        self._latest[0] += 1
        self._awaiting = True
        self._runs_job.submit(self._latest[0], self._runs_work(todo, self._latest[0]))

    def _runs_work(self, todo: list, generation: int):
        """The worker's job: make the runs of ``todo`` (``Scene.runs_to_make``) in turn,
        reporting progress, stopping early once a newer recompute made them stale. It
        holds no Qt object (not ``self``): only plain Python crosses to the worker."""
        report = self._runs_job.reporter
        latest = self._latest
        made, lock = self._made, self._made_lock

        def work():
            report(0, len(todo))
            for i, (uid, surface, key, make) in enumerate(todo):
                if generation != latest[0]:
                    return None  # overtaken: the newer re-run is waiting
                try:
                    run = make()
                except ValueError:  # compute() reports it on the GUI thread
                    continue
                finally:
                    report(i + 1, len(todo))
                with lock:
                    made[uid] = (surface, key, run)
            return len(todo)

        return work

    def _on_runs_made(self, generation, result) -> None:
        """A re-run finished (GUI thread): drop it if a newer edit made it stale; else
        keep its runs and show them."""
        self._take_made()  # stale or not, its finished runs are good for their inputs
        if generation != self._latest[0] or not self._awaiting:
            return  # stale: the runs of the current settings follow
        self._awaiting = False
        if isinstance(result, Exception):
            self.status_message.emit(f"The lanes could not be run: {result}")
            self.flush_now()  # on this thread: its error is reported as every other
            return
        if not self._timer.isActive():  # else the edit that follows recomputes
            self.flush_now()

    def flush_now(self) -> None:
        self._timer.stop()
        self._supersede()
        results, errors = self.scene.compute(self._run_cache)
        if errors and self._good is not None:
            msg = "; ".join(errors.values())
            self._restore(self._good)
            results, errors2 = self.scene.compute(self._run_cache)
            self.status_message.emit(f"{msg} (kept the previous settings)")
            errors = errors2
        elif not errors:
            self._good = self.scene.snapshot()
        old = self.results
        self.changed_uids = {uid for uid, run in results.items() if old.get(uid) is not run}
        self.changed_uids.update(uid for uid in old if uid not in results)
        self.results = results
        self.errors = errors
        if errors:
            self.status_message.emit("; ".join(errors.values()))
        self.trajectories_changed.emit()

    def _restore(self, st: dict) -> None:
        uids = [lane.uid for lane in self.lanes]
        self.scene.restore(st)
        self.surface_changed.emit()
        self.start_changed.emit()
        self.training_changed.emit()
        self.lanes_changed.emit()
        if uids != [lane.uid for lane in self.lanes]:
            self.selected_lane_changed.emit(self.selected_lane)

    # ---- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The whole scene as JSON-ready data (``{"format": "losslab-session", ...}``)."""
        return self.scene.to_dict()

    def load_dict(self, d) -> None:
        """Replace the scene with ``d`` (as :meth:`to_dict` writes). Anything wrong
        raises ValueError naming it and leaves the current scene untouched. A file
        without view settings (older versions) keeps the views shown and the camera."""
        sc = Scene.from_dict(d)
        if "view" not in d:
            sc.view = sc.view.replace(views=self.view.views, camera=self.view.camera)
        self.load_scene(sc)
