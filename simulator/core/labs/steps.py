"""The steps of a version-2 lab: :class:`Step` (text, an optional change of the scene,
an optional :class:`Task` with its check and hints) and :func:`apply_changes`, which
lays a partial scene dict over a whole one.

A step's scene change is a partial scene dict in the form of
:meth:`simulator.core.scene.Scene.to_dict` (the one scene serialiser): ``surface``,
``start``, ``lanes`` and ``frame`` replace the scene's; ``training`` and ``view`` are
merged key by key. Without an explicit ``frame``, a change of the surface, start,
training or lanes shows the whole run.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .checks import Check, CheckResult, evaluate_check

SCENE_KEYS = ("surface", "start", "training", "lanes", "view", "frame", "selected_lane")
MERGED_KEYS = ("training", "view")
_RERUN_KEYS = ("surface", "start", "training", "lanes")


def apply_changes(scene_dict: dict, changes: dict | None) -> dict:
    """``scene_dict`` (a whole scene dict) with the partial scene dict ``changes`` laid
    over it (a new dict; neither argument is changed)."""
    out = copy.deepcopy(scene_dict)
    if not changes:
        return out
    for k, v in changes.items():
        if k in MERGED_KEYS and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **copy.deepcopy(v)}
        else:
            out[k] = copy.deepcopy(v)
    if "frame" not in changes and any(k in changes for k in _RERUN_KEYS):
        out.pop("frame", None)
    return out


@dataclass(frozen=True, eq=False)
class Task:
    """What the student is asked to do in a step, and how it is checked.

    Read from a lab file (``step.task``); ``task.check.kind`` names the check (see the
    vocabulary in :mod:`simulator.core.labs.checks`) and ``task.options`` the options of
    a choice.

    Parameters
    ----------
    prompt : str
        The task, in lab rich text.
    check : Check
        The declarative check (see :mod:`simulator.core.labs.checks`).
    hints : tuple of str
        Progressive hints, from a nudge to nearly the answer.
    solution : dict or None
        An answer that passes, for teachers and tests: ``{"scene": partial scene dict}``
        (laid over the step's scene) and/or ``{"answer": option}`` for a choice.
    """

    prompt: str
    check: Check
    hints: tuple[str, ...] = ()
    solution: dict | None = None

    @property
    def options(self) -> tuple[str, ...]:
        """The options of a choice question (empty for other checks)."""
        return tuple(self.check.spec.get("options", ())) if self.check.kind == "choice" \
            else ()

    def to_dict(self) -> dict:
        d = {"prompt": self.prompt, "check": self.check.to_dict()}
        if self.hints:
            d["hints"] = list(self.hints)
        if self.solution:
            d["solution"] = copy.deepcopy(self.solution)
        return d


@dataclass(frozen=True, eq=False)
class Step:
    """One step of a lab: text, an optional scene change, an optional task.

    Parameters
    ----------
    index : int
        The step's place in the lab, from 0.
    title : str
        A short title ("" when the file gives none).
    text : str
        What the student reads, in lab rich text.
    questions : tuple of str
        Open questions to think about (not checked).
    changes : dict or None
        The partial scene dict this step lays over the scene (None: keep the scene).
    scene_dict : dict
        The whole scene of this step as the lab author set it up (the lab's scene with
        the changes of every step up to this one), a ``losslab-session`` dict.
    task : Task or None
        The task and its check, or None for a step that only explains.

    Examples
    --------
    >>> import simulator as sim
    >>> step = sim.load_lab("lr-1d").steps[0]
    >>> step.task.options
    ('lr = 0.1', 'lr = 0.5', 'lr = 1.0', 'lr = 1.1')
    >>> step.check(step.scene(), answer="lr = 0.5").passed
    False
    >>> print(step.check(step.scene(), answer=2).message)
    Yes: 'lr = 1.0' is right.
    >>> step.hints[0]
    'Look for a lane whose loss curve is flat but not at zero.'
    """

    index: int
    title: str
    text: str
    questions: tuple[str, ...] = ()
    changes: dict | None = None
    scene_dict: dict | None = None
    task: Task | None = None

    @property
    def hints(self) -> tuple[str, ...]:
        """The task's progressive hints (empty without a task)."""
        return self.task.hints if self.task is not None else ()

    def scene(self):
        """A new :class:`~simulator.core.scene.Scene`: this step as the author set it up."""
        from ..scene import Scene

        return Scene.from_dict(copy.deepcopy(self.scene_dict))

    def apply(self, scene):
        """A new Scene: ``scene`` (the student's) with this step's changes laid over it
        (a copy of it when the step changes nothing). ValueError when the result is not
        a valid scene."""
        return self.apply_to(scene, self.changes)

    def solved(self):
        """``(scene, answer)`` of the task's solution: the step's scene with the solution's
        changes and its answer (None without a task or a solution)."""
        if self.task is None or not self.task.solution:
            return None
        sol = self.task.solution
        return self.apply_to(self.scene(), sol.get("scene")), sol.get("answer")

    def apply_to(self, scene, changes: dict | None):
        from ..scene import Scene

        if not changes:
            return scene.copy()
        return Scene.from_dict(apply_changes(scene.to_dict(), changes))

    def check(self, scene, runs=None, answer=None) -> CheckResult:
        """Check the task on the student's ``scene`` and ``runs``.

        ``runs``: one Trajectory per enabled lane in lane order (``scene.run()``), a
        dict keyed by lane uid or name, or None to run the scene here. ``answer``: for a
        choice, the option's index or text. A step without a task passes.
        """
        if self.task is None:
            return CheckResult(True, "This step has no task to check.")
        return evaluate_check(self.task.check, scene, runs, answer)

    def to_dict(self) -> dict:
        d: dict = {}
        if self.title:
            d["title"] = self.title
        d["text"] = self.text
        if self.questions:
            d["questions"] = list(self.questions)
        if self.changes:
            d["scene"] = copy.deepcopy(self.changes)
        if self.task is not None:
            d["task"] = self.task.to_dict()
        return d
