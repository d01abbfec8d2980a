"""The validated lab: :class:`Lab` with its lanes (:class:`LabLane`) and view settings
(:class:`ViewSettings`), running headless and building its :class:`Scene`; and
:class:`LabInfo` for listings."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ..files import jsonable as _jsonable
from ..optimizers import Optimizer
from ..schedules import ConstantSchedule, Schedule
from ..surface import Surface
from .schema import FORMAT, VIEWS
from .steps import Step


@dataclass(frozen=True)
class LabLane:
    """One optimizer lane of a lab; ``None`` settings follow the lab's."""

    name: str
    optimizer: Optimizer
    color: str | None = None
    enabled: bool = True
    schedule: Schedule | None = None
    noise: float | None = None
    batch_size: int | None = None
    start: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ViewSettings:
    """How the app shows a lab: which views, colour scale, 3-D camera, opening step."""

    views: tuple[str, ...] = VIEWS
    log_scale: bool | None = None  # None: the surface's own default
    camera: dict | None = None  # {"elevation": deg, "azimuth": deg, "distance": d}
    frame: int | None = None  # None: the whole run

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"views": list(self.views)}
        if self.log_scale is not None:
            d["log_scale"] = self.log_scale
        if self.camera:
            d["camera"] = dict(self.camera)
        if self.frame is not None:
            d["frame"] = self.frame
        return d


@dataclass(frozen=True)
class Lab:
    """A validated teaching lab: its texts, its steps and the scene of its first step.

    Made by :func:`load_lab` (or ``parse_lab``), never by hand; the fields are read-only.
    The scene fields (``surface`` to ``view``) describe the lab's first step; ``steps``
    is the sequence of steps (a version-1 lab has one step: its instructions and
    questions, without a task).

    Parameters
    ----------
    id : str
        The lab's id (lowercase letters, digits, dashes).
    title : str
        One-line title.
    summary : str
        One-line summary (lab listings).
    surface : Surface
        The first step's surface.
    surface_spec : dict
        The surface as the file gives it (the one surface serialiser's form).
    start : tuple of float
        The shared start point.
    lanes : tuple of LabLane
        The optimizer lanes (name, optimizer, colour, overrides).
    run_steps : int
        Updates per run.
    seed : int
        Seed of the gradient noise and of the minibatch order.
    noise : float
        Gradient noise (standard deviation per coordinate).
    batch_size : int or None
        Minibatch size on a data surface.
    clip_grad_norm : float or None
        Gradient clipping norm.
    schedule : Schedule
        The learning-rate schedule of every lane without its own.
    instructions : str
        The first step's text (rich text), with its task.
    questions : tuple of str
        The first step's open questions.
    domain : tuple of (float, float) or None
        The region shown (None: the surface's own).
    view : ViewSettings
        Views, colour scale, camera and opening frame.
    source : str or None
        The file or built-in id the lab came from.
    version : int
        The format version of the file (1 or 2).
    steps : tuple of Step
        The steps, in order.
    data : dict or None
        A version-2 lab's validated JSON data (what :meth:`to_dict` returns).

    Examples
    --------
    >>> import simulator as sim
    >>> lab = sim.load_lab("lr-1d")
    >>> [step.title for step in lab.steps]
    ['Four learning rates', 'The largest learning rate that converges', 'The fastest learning rate']
    >>> scene = lab.scene(step=2)          # the scene of the third step, as the author set it
    >>> scene.lanes[0].optimizer = sim.SGD(lr=0.5)
    >>> lab.steps[2].check(scene, scene.run()).passed
    True
    """

    id: str
    title: str
    summary: str
    surface: Surface
    surface_spec: dict
    start: tuple[float, ...]
    lanes: tuple[LabLane, ...]
    run_steps: int = 1000
    seed: int = 0
    noise: float = 0.0
    batch_size: int | None = None
    clip_grad_norm: float | None = None
    schedule: Schedule = field(default_factory=ConstantSchedule)
    instructions: str = ""
    questions: tuple[str, ...] = ()
    domain: tuple[tuple[float, float], ...] | None = None
    view: ViewSettings = field(default_factory=ViewSettings)
    source: str | None = None  # the file or built-in id it came from
    version: int = 1  # the format version the lab was read from
    steps: tuple[Step, ...] = ()
    data: dict | None = None  # a version-2 lab's validated JSON data (what to_dict gives)

    # ---- running ------------------------------------------------------------------------
    def effective(self, lane: LabLane) -> dict:
        """The settings ``lane`` runs with (its overrides, else the lab's)."""
        batch = lane.batch_size if lane.batch_size is not None else self.batch_size
        if self.surface.kind not in ("data", "network"):
            batch = None
        return {
            "schedule": lane.schedule if lane.schedule is not None else self.schedule,
            "noise": lane.noise if lane.noise is not None else self.noise,
            "batch_size": batch,
            "start": lane.start if lane.start is not None else self.start,
        }

    def run(self, steps: int | None = None) -> list[tuple[LabLane, Any]]:
        """Simulate every enabled lane (headless): ``[(lane, Trajectory), ...]``."""
        from ..engine import simulate

        out = []
        for lane in self.lanes:
            if not lane.enabled:
                continue
            e = self.effective(lane)
            run = simulate(self.surface, lane.optimizer, e["start"],
                           steps=self.run_steps if steps is None else steps,
                           schedule=e["schedule"], noise=e["noise"], seed=self.seed,
                           clip_grad_norm=self.clip_grad_norm, batch_size=e["batch_size"])
            out.append((lane, run))
        return out

    # ---- serialising ----------------------------------------------------------------------
    def to_dict(self, version: int | None = None) -> dict:
        """The lab as JSON data (what :func:`save_lab` writes): canonical version-1 data,
        or a version-2 lab's validated data. ``version=1`` flattens a version-2 lab to
        version 1: its first step's scene, text (with the task) and questions."""
        if self.data is not None and version != 1:
            return copy.deepcopy(self.data)
        d: dict[str, Any] = {
            "format": FORMAT,
            "version": 1,
            "id": self.id,
            "title": self.title,
            "summary": self.summary,
        }
        if self.instructions:
            d["instructions"] = self.instructions
        if self.questions:
            d["questions"] = list(self.questions)
        d["surface"] = _jsonable(self.surface_spec)
        if self.domain is not None:
            d["domain"] = [list(p) for p in self.domain]
        d["start"] = list(self.start)
        d["steps"] = self.run_steps
        d["seed"] = self.seed
        d["noise"] = self.noise
        if self.batch_size is not None:
            d["batch_size"] = self.batch_size
        if self.clip_grad_norm is not None:
            d["clip_grad_norm"] = self.clip_grad_norm
        d["schedule"] = None if isinstance(self.schedule, ConstantSchedule) else \
            _jsonable(self.schedule.to_dict())
        lanes = []
        for lane in self.lanes:
            ld: dict[str, Any] = {"name": lane.name,
                                  "optimizer": _jsonable(lane.optimizer.to_dict())}
            if lane.color:
                ld["color"] = lane.color
            if not lane.enabled:
                ld["enabled"] = False
            if lane.schedule is not None:
                ld["schedule"] = _jsonable(lane.schedule.to_dict())
            for k in ("noise", "batch_size"):
                if getattr(lane, k) is not None:
                    ld[k] = getattr(lane, k)
            if lane.start is not None:
                ld["start"] = list(lane.start)
            lanes.append(ld)
        d["lanes"] = lanes
        d["view"] = self.view.to_dict()
        return d

    def scene(self, step: int = 0):
        """The scene of step ``step`` (from 0) as a :class:`~simulator.core.scene.Scene`
        (lanes, training, view, frame; marked as this lab). The scene's own checks run on
        every value: ValueError when it refuses one (a schedule that cannot cover the
        run, ...); IndexError for a step the lab does not have."""
        if not 0 <= step < max(len(self.steps), 1):
            raise IndexError(f"the lab has {len(self.steps)} steps; step {step} does not "
                             "exist")
        if self.version >= 2:
            return self.steps[step].scene()
        return self._v1_scene()

    def _v1_scene(self):
        from ..scene import Scene, ViewState, check_schedule

        sc = Scene()
        sc.surface = self.surface
        sc.set_start(self.start)
        sc.set_training(steps=self.run_steps, seed=self.seed, noise=self.noise,
                        batch_size=self.batch_size if self.surface.kind in ("data", "network")
                        else None,
                        clip_grad_norm=self.clip_grad_norm, schedule=self.schedule)
        for k, lane in enumerate(self.lanes):
            kw = {"name": lane.name, "enabled": lane.enabled, "schedule": lane.schedule,
                  "noise": lane.noise, "batch_size": lane.batch_size, "start": lane.start}
            if lane.color:
                kw["color"] = lane.color
            try:
                sc.add_lane(lane.optimizer, **kw)
                check_schedule(lane.schedule or sc.schedule, lane.optimizer.lr, sc.steps)
            except ValueError as e:
                raise ValueError(f"lane {k + 1}: {e}") from None
        sc.selected_lane = 0 if sc.lanes else -1
        sc.frame = self.run_steps if self.view.frame is None else \
            min(self.view.frame, self.run_steps)
        sc.view = ViewState(views=self.view.views, log_scale=self.view.log_scale,
                            camera=self.view.camera)
        sc.set_lab(self.id, self.title)
        return sc

    def session_dict(self) -> dict:
        """The scene as a ``losslab-session`` dict (what the app's Session loads)."""
        return self.scene().to_dict()


@dataclass(frozen=True)
class LabInfo:
    """A built-in lab's id, title and one-line summary (for listings)."""

    id: str
    title: str
    summary: str

