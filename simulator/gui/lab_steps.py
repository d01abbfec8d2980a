"""Going through a lab made of steps (lab format version 2) in the app.

A lab made of steps shows one step at a time in the Instructions panel
(:class:`~simulator.gui.instructions_panel.InstructionsPanel`): its text, its task and
the task's options, "Check" (``step.check`` on the session's current scene and runs,
the verdict in words), hints revealed one at a time, Back and Next. Next lays the next
step's scene changes over the student's scene (``step.apply``) and loads the result
through the Session; Back returns to the scene the previous step was left with (or,
after a restart of the app, the scene its author set up). The app has no undo of scene
edits (Edit > Undo belongs to draw mode), so Back is how a step's change is taken back.

Progress (the step shown, the steps whose check passed, the hints revealed, where the
lab came from) is kept per lab id in the settings
(:func:`simulator.gui.settings.load_lab_progress`) after every change, so it survives a
restart: the window then shows the lab again at that step, over the scene it restores.
"Restart lab" forgets it and loads the lab's first step.

A lab of one step without a task (every version-1 lab) is shown whole, as before.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit

from simulator.core import labs as core_labs
from simulator.core.labs import Lab, LabError

from . import settings as st
from .instructions_panel import InstructionsPanel, StepView
from .menus import Menu

SHORTCUTS = {"check": "Ctrl+Return", "hint": "Ctrl+H", "next": "Alt+Right",
             "back": "Alt+Left", "restart": None}
_BUILTIN_SOURCE = "built-in lab "


def lab_steps(lab: Lab | None) -> tuple:
    """The steps of ``lab`` (empty for None)."""
    return tuple(lab.steps) if lab is not None else ()


def is_stepped(lab: Lab | None) -> bool:
    """Whether ``lab`` is gone through step by step: more than one step, or a task."""
    steps = lab_steps(lab)
    return len(steps) > 1 or any(s.task is not None for s in steps)


def lab_ref(lab: Lab) -> str:
    """What :func:`simulator.core.labs.load_lab` opens ``lab`` from again: a built-in
    lab's id or a lab file's path ("" when unknown)."""
    src = lab.source or ""
    return lab.id if src.startswith(_BUILTIN_SOURCE) else src


class LabSteps(QObject):
    """The step-by-step state of the open lab and what the step buttons do.

    Made by :class:`~simulator.gui.lab_dialogs.LabFeature`; the panel's signals and the
    Lab menu's actions call :meth:`check`, :meth:`show_hint`, :meth:`go` and
    :meth:`restart`.
    """

    def __init__(self, window, panel: InstructionsPanel) -> None:
        super().__init__(window)
        self.window_ = window
        self.panel = panel
        self.lab: Lab | None = None
        self.progress = st.LabProgress()
        self._scenes: dict[int, object] = {}  # step -> the scene it was left with
        self._answers: dict[int, int] = {}
        self._verdict: tuple[bool, str] | None = None
        self._loading = False
        panel.check_requested.connect(self.check)
        panel.hint_requested.connect(self.show_hint)
        panel.step_requested.connect(self.go)
        panel.restart_requested.connect(self.restart)
        panel.answer_chosen.connect(self.choose)
        window.session.trajectories_changed.connect(self._on_runs)
        self.actions = self._make_actions()
        panel.set_tips({k: a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                        for k, a in self.actions.items()})
        self._update_actions()

    def _make_actions(self) -> dict:
        w = self.window_
        specs = (
            ("check", "&Check Answer", self.check,
             "Check the step's task on the scene and runs as they are now"),
            ("hint", "Show &Hint", self.show_hint, "Reveal the step's next hint"),
            ("back", "&Previous Step", lambda: self.go(-1),
             "Back to the previous step of the lab"),
            ("next", "&Next Step", lambda: self.go(1), "On to the next step of the lab"),
            ("restart", "&Restart Lab", self.restart,
             "Start the lab again from its first step; its progress is reset"),
        )
        acts = {}
        for key, text, slot, tip in specs:
            acts[key] = w.add_action(text, slot, SHORTCUTS[key], None, tip, menu=Menu.LAB)
        return acts

    # ---- state ------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A lab made of steps is open."""
        return self.lab is not None

    @property
    def index(self) -> int:
        return self.progress.step

    @property
    def step(self):
        return lab_steps(self.lab)[self.index] if self.lab is not None else None

    def _settings(self) -> st.Settings:
        return self.window_.settings

    def _load_progress(self, lab: Lab) -> st.LabProgress:
        steps = lab_steps(lab)
        p = st.load_lab_progress(self._settings(), lab.id, max(len(steps), 1),
                                 [len(s.hints) for s in steps])
        p.source = lab_ref(lab) or p.source
        return p

    def _save(self) -> None:
        if self.lab is not None:
            st.save_lab_progress(self._settings(), self.lab.id, self.progress)

    def opening_scene(self, lab: Lab):
        """The scene to load when ``lab`` is opened: the scene of the step its stored
        progress reached (the first step's for a new lab). ValueError (or IndexError)
        when the lab's scene is refused."""
        if not is_stepped(lab):
            return lab.scene()
        return lab.scene(step=self._load_progress(lab).step)

    def remember(self, lab: Lab) -> None:
        """Note where an opened lab without steps came from (reopened after a restart)."""
        p = st.load_lab_progress(self._settings(), lab.id, 1)
        p.source = lab_ref(lab) or p.source
        st.save_lab_progress(self._settings(), lab.id, p)

    def begin(self, lab: Lab, at: int | None = None) -> None:
        """Show lab ``lab`` (made of steps) at step ``at`` (else at its stored step);
        the caller loads the scene (:meth:`opening_scene`) or keeps the one shown."""
        self.lab = lab
        self.progress = self._load_progress(lab)
        if at is not None and 0 <= at < len(lab.steps):
            self.progress.step = at
        self._scenes.clear()
        self._answers.clear()
        self._verdict = None
        self._save()
        self.refresh()

    def close(self) -> None:
        """No lab made of steps is shown any more (progress stays stored)."""
        self.lab = None
        self._scenes.clear()
        self._answers.clear()
        self._verdict = None
        self._update_actions()

    # ---- what the panel shows --------------------------------------------------------------
    def view(self) -> StepView:
        steps = lab_steps(self.lab)
        i = self.index
        step = steps[i]
        task = step.task
        hints = step.hints[: self.progress.hints_shown(i)]
        return StepView(
            index=i, count=len(steps), title=step.title, text=step.text,
            questions=tuple(step.questions), prompt=task.prompt if task else "",
            options=tuple(task.options) if task else (), has_check=task is not None,
            done=i in self.progress.passed, hints=tuple(hints),
            more_hints=len(step.hints) - len(hints),
            passed=len(self.progress.passed),
            checks=sum(1 for s in steps if s.task is not None),
            answer=self._answers.get(i), verdict=self._verdict)

    def refresh(self) -> None:
        if self.lab is not None:
            self.panel.show_step(self.lab, self.view())
        self._update_actions()

    def _update_actions(self) -> None:
        on = self.lab is not None
        v = self.view() if on else None
        a = self.actions
        a["check"].setEnabled(on and v.has_check)
        a["hint"].setEnabled(on and v.more_hints > 0)
        a["back"].setEnabled(on and v.index > 0)
        a["next"].setEnabled(on and v.index < v.count - 1)
        a["restart"].setEnabled(on)

    def _on_runs(self) -> None:
        # the runs changed: a verdict about the old ones no longer holds
        if self._verdict is not None and not self._loading and self.lab is not None:
            self._verdict = None
            self.refresh()

    # ---- the buttons -----------------------------------------------------------------------
    def choose(self, i: int) -> None:
        """The student picked option ``i`` of the step's choice."""
        if self.lab is None:
            return
        self._answers[self.index] = int(i)
        if self._verdict is not None:
            self._verdict = None
            self.refresh()

    def check(self) -> tuple[bool, str] | None:
        """Check the step's task on the session's current scene and runs; the verdict
        is shown and returned as (passed, message)."""
        step = self.step
        if step is None or step.task is None:
            return None
        s = self.window_.session
        self._commit_typing()
        self._loading = True  # the flush's new runs are the ones checked
        try:
            s.flush()
            r = step.check(s.scene, s.results, self._answers.get(self.index))
            self._verdict = (bool(r.passed), str(r.message))
        except Exception as e:  # noqa: BLE001 - a check must never take the app down
            self._verdict = (False, f"The check could not run: {e}")
        finally:
            self._loading = False
        if self._verdict[0]:
            self.progress.passed.add(self.index)
            self._save()
        self.refresh()
        return self._verdict

    def _commit_typing(self) -> None:
        # Ctrl+Return while a number is being typed (a lane's learning rate): the field
        # commits on losing focus, as a click on Check would make it
        fw = QApplication.focusWidget()
        if isinstance(fw, QLineEdit) and fw.window() is self.window_ and fw.isModified():
            fw.clearFocus()
            fw.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_hint(self) -> None:
        step = self.step
        if step is None:
            return
        n = self.progress.hints_shown(self.index)
        if n < len(step.hints):
            self.progress.hints[self.index] = n + 1
            self._save()
            self.refresh()

    def go(self, delta: int) -> bool:
        """Go ``delta`` steps on (negative: back). Going on lays the step's scene
        changes over the current scene; going back returns to the scene that step was
        left with. A scene the lab cannot make is refused with the reason shown."""
        steps = lab_steps(self.lab)
        i = self.index + int(delta)
        if not steps or not 0 <= i < len(steps) or i == self.index:
            return False
        s = self.window_.session
        here = s.scene.copy()
        try:
            if i in self._scenes:
                scene = self._scenes[i].copy()
            elif i > self.index:
                scene = s.scene
                for k in range(self.index + 1, i + 1):  # each step's changes in turn
                    scene = steps[k].apply(scene)
            else:
                scene = self.lab.scene(step=i)
        except (ValueError, IndexError) as e:
            self._verdict = (False, f"Step {i + 1} cannot be shown: {e}")
            self.refresh()
            return False
        self._scenes[self.index] = here
        self.window_.animator.pause()
        self.progress.step = i
        self._verdict = None
        self._save()
        self._load(scene)
        self.refresh()
        return True

    def restart(self) -> bool:
        """Start the lab again: no progress, the first step's own scene."""
        lab = self.lab
        if lab is None:
            return False
        try:
            scene = lab.scene(step=0)
        except ValueError as e:
            self._verdict = (False, f"The lab cannot restart: {e}")
            self.refresh()
            return False
        st.clear_lab_progress(self._settings(), lab.id)
        self.window_.animator.pause()
        self.progress = st.LabProgress(source=lab_ref(lab))
        self._scenes.clear()
        self._answers.clear()
        self._verdict = None
        self._save()
        self._load(scene)
        self.refresh()
        self.window_.statusBar().showMessage(f"Restarted lab: {lab.title}", 5000)
        return True

    def _load(self, scene) -> None:
        self._loading = True
        try:
            self.window_.session.load_scene(scene)
        finally:
            self._loading = False

    # ---- after a restart of the app --------------------------------------------------------
    def stored_lab(self, lab_id: str) -> Lab | None:
        """The lab ``lab_id`` from where its stored progress says it came from, or None
        (no record, or the file is gone or no longer that lab)."""
        src = st.load_lab_progress(self._settings(), lab_id, 1).source
        if not src:
            return None
        try:
            lab = core_labs.load_lab(src)
        except (LookupError, LabError, OSError, ValueError, RecursionError):
            return None
        return lab if lab.id == lab_id else None


def resume_soon(feature) -> None:
    """Once the window has restored its last scene: if that scene is a lab's, show the
    lab again (at its stored step) over the restored scene."""
    QTimer.singleShot(0, feature.resume)
