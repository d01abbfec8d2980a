"""The main window: views in the middle, plots below, panels in docks, transport bar.

The window owns one :class:`~simulator.gui.session.Session` and one
:class:`~simulator.gui.animation.Animator`; everything else reads from and writes to the
session. The layout, the theme, the playback speed and the last scene persist through
:mod:`simulator.gui.settings`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.files import atomic_write_text, json_int, read_small_file
from . import palette
from . import settings as st
from .animation import SPEEDS, Animator
from .icons import app_icon, clear_cache, icon
from .marks import CP_MODE_DEFAULT, CP_MODE_TIP, CP_MODES
from .menus import Menu
from .panels import DRAG
from .panels.lanes_panel import LanesPanel
from .panels.surface_panel import SurfacePanel
from .panels.training_panel import TrainingPanel
from .session import Session
from .status_bar import RunsProgress, StatusBar
from .views.internals import TIP as INTERNALS_TIP

APP_TITLE = "LossLab"
FILE_FILTER = "LossLab sessions (*.losslab.json *.json);;All files (*)"
MAX_SESSION_BYTES = 20_000_000
# the 3-D view is shown at the first start when the window is at least this wide: then
# the map and the 3-D view each get a useful width beside the docks
ROOM_FOR_3D = 1200
MIN_VIEW_WIDTH = 240  # neither the map nor the 3-D view is squeezed below this

# Mouse gestures shown in Help > Keyboard shortcuts next to the actions' shortcuts.
MOUSE_HINTS = (
    ("Click / drag on the 2-D or 1-D view", "Place the start point (all lanes follow)"),
    ("Shift+drag or middle-drag on the 2-D view", "Pan"),
    ("Mouse wheel on a view", "Zoom"),
    ("Drag on the 3-D view", "Orbit the camera"),
)


def app_version() -> str:
    from simulator import __version__  # the one place it is written (see pyproject.toml)

    return __version__


def _placeholder(text: str) -> QWidget:
    lab = QLabel(text)
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lab.setWordWrap(True)
    lab.setStyleSheet(f"color: {palette.muted_color()};")
    return lab


class TransportBar(QWidget):
    """Play/pause, step, reset, timeline scrubber, speed and loop."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.session = window.session
        self.animator = window.animator
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(2)
        self.buttons: list[QToolButton] = []
        for act in (window.act_reset, window.act_step_back, window.act_play,
                    window.act_step_forward, window.act_to_end):
            b = QToolButton()
            self.buttons.append(b)
            b.setDefaultAction(act)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            lay.addWidget(b)
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        DRAG.track(self.timeline)  # scrubbing: the readouts follow on release
        self.timeline.setObjectName("timeline")
        self.timeline.setToolTip("Timeline: drag to scrub through the steps")
        self.timeline.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.timeline.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.timeline.valueChanged.connect(self.session.set_frame)
        self.timeline.sliderPressed.connect(self.animator.pause)
        lay.addSpacing(6)
        lay.addWidget(self.timeline, 1)
        self.step_label = QLabel()
        self.step_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("step 100000/100000"))
        self.step_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.step_label)
        lay.addSpacing(8)
        self.speed = QComboBox()
        self.speed.setToolTip("Playback speed in optimizer steps per second ([ and ])")
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for v in SPEEDS:
            self.speed.addItem(f"{v:g} steps/s", float(v))
        self.speed.currentIndexChanged.connect(
            lambda i: self.animator.set_speed(self.speed.itemData(i))
        )
        lay.addWidget(self.speed)
        for act in (window.act_loop,):
            b = QToolButton()
            self.buttons.append(b)
            b.setDefaultAction(act)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            lay.addWidget(b)
        self.session.frame_changed.connect(self._on_frame)
        self.session.training_changed.connect(self._on_training)
        # a network's lanes train in the background: until their first runs are in the
        # label says so (not "step 400 / 400" of runs nobody can see yet)
        for sig in (self.session.trajectories_changed, self.session.surface_changed,
                    self.session.lanes_changed):
            sig.connect(self._on_runs_state)
        self.session.runs_progress.connect(lambda _d, _t: self._on_runs_state())
        self.animator.speed_changed.connect(self._on_speed)
        self._on_training()
        self._on_runs_state()
        self._on_speed(self.animator.speed)

    def icon_size(self):
        """The buttons' icon size (a QSize)."""
        return self.buttons[0].iconSize()

    def set_icon_size(self, px: int) -> None:
        """Icons of ``px`` pixels on the buttons (presentation mode: larger)."""
        from PySide6.QtCore import QSize

        for b in self.buttons:
            b.setIconSize(QSize(px, px))

    def _on_training(self) -> None:
        with QSignalBlocker(self.timeline):
            self.timeline.setRange(0, self.session.steps)
            self.timeline.setPageStep(max(1, self.session.steps // 20))
        self._on_frame(self.session.frame)

    def training(self) -> bool:
        """Whether the lanes are being trained with no runs to show yet (a network's
        first runs, made in the background): the transport has no steps to offer."""
        s = self.session
        return bool(s.running_in_background and not s.results)

    def _on_runs_state(self) -> None:
        """The timeline's state and the label's tooltip follow the runs (not each frame:
        playback calls ``_on_frame`` every frame)."""
        s = self.session
        training = self.training()
        self.timeline.setEnabled(not training)
        if training:
            tip = ("The lanes are being trained; their steps can be played once the first "
                   "runs are in.")
        elif s.running_in_background:
            tip = ("The lanes are being re-trained for the new settings; the previous runs "
                   "are shown until the new ones are in.")
        else:
            tip = ""
        self.step_label.setToolTip(tip)
        self._on_frame(s.frame)

    def _on_frame(self, i: int) -> None:
        s = self.session
        if self.training():
            done, total, _ = s.runs_state()
            count = f" {done}/{total}" if total > 1 else ""
            self.step_label.setText(f"training{count}\u2026")
            i = 0  # the timeline empty, not full: nothing has been run yet
        else:
            more = "\u2026" if s.running_in_background else ""
            self.step_label.setText(f"step {i} / {s.steps}{more}")
        with QSignalBlocker(self.timeline):
            self.timeline.setValue(i)

    def _on_speed(self, v: float) -> None:
        i = self.speed.findData(float(v))
        with QSignalBlocker(self.speed):
            if i >= 0:
                self.speed.setCurrentIndex(i)


class ShortcutsDialog(QDialog):
    """Help > Keyboard shortcuts: built from the window's actions, so never stale."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts \u2014 LossLab")
        rows = []
        for act in window.shortcut_actions():
            # standard keys also bind multimedia keys ("Open", "Save"): list real keys
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                             for k in act.shortcuts()
                             if k.count() and k[0].key().value < 0x01000060)
            if keys:
                rows.append((keys, act.text().replace("&", "")))
        rows.extend(MOUSE_HINTS)
        table = QTableWidget(len(rows), 2)
        table.setObjectName("shortcuts")
        table.setHorizontalHeaderLabels(["Keys / mouse", "Action"])
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
        table.setAlternatingRowColors(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        for r, (k, a) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(k))
            table.setItem(r, 1, QTableWidgetItem(a))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.table = table
        self.resize(520, 560)


class MainWindow(QMainWindow):
    """LossLab's main window.

    Parameters
    ----------
    session : Session, optional
        The scene to show; by default a new one: the lab given to ``losslab open``,
        else the last run's scene when ``restore`` is true and it is valid, else the
        first-screen race. Only that scene is computed (a start used to compute the
        race first and then replace it).
    restore : bool
        Restore window layout, theme, playback settings and the last scene.
    with_3d : bool, optional
        Build the OpenGL 3-D view. Default: yes, except on the offscreen and minimal
        platforms, which have no OpenGL (pyqtgraph's GL view crashes there).
    make_3d : callable, optional
        ``make_3d(session)`` builds the widget that stands in the 3-D view's place
        (tests of the layout on platforms without OpenGL); implies ``with_3d``.
    """

    def __init__(self, session: Session | None = None, restore: bool = True,
                 with_3d: bool | None = None, make_3d=None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self.settings = st.Settings()
        own_session = session is None
        # empty until the start's scene is known (below): computing the race first and
        # then replacing it with the restored scene or a lab cost a start seconds
        self.session = session if session is not None else Session(self, default_scene=False)
        self.animator = Animator(self.session, self)
        self.file_path: str | None = None
        self.last_message_box: QMessageBox | None = None
        if with_3d is None:
            with_3d = make_3d is not None or QApplication.platformName() not in (
                "offscreen", "minimal")
        self._with_3d = with_3d
        self._make_3d = make_3d
        self.setWindowIcon(app_icon())
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)

        self._menus: dict[Menu, QMenu] = {}
        self._tab_home: dict[QDockWidget, QDockWidget] = {}  # dock -> the one it tabs with
        self.surface3d = None  # the 3-D view, when OpenGL works (see _make_views)
        self.panel_actions: list[QAction] = []
        self._make_actions()
        self._make_views()
        self._make_docks()
        self._make_menus()
        self._make_toolbar()
        # the features: each installer adds its actions, docks and menu entries through
        # the window's API and returns what it made
        from .explorer_panel import install_explorer
        from .lab_dialogs import install_lab_and_export_actions
        from .panels.draw_panel import install_draw

        self.explorer = install_explorer(self)  # Explore > Basin / Hyperparameter map
        self.act_basin_map, self.act_hyper_map = self.explorer.act_basin, self.explorer.act_hyper
        self.draw = install_draw(self)  # draw mode: tool, dock, D, Edit > Undo/Redo
        self.draw_tool, self.draw_panel = self.draw.tool, self.draw.panel
        self.dock_draw, self.act_draw = self.draw.dock, self.draw.action
        self.act_undo, self.act_redo = self.draw.undo, self.draw.redo
        self._make_status_bar()
        self._connect()
        # teaching labs and export (gui/lab_dialogs.py): Instructions dock, File menu, drops
        self.labs = install_lab_and_export_actions(self)
        self.instructions_panel = self.labs.panel
        self.dock_instructions = self.labs.dock
        self._lab_drop_filter = self.labs.drop_filter
        from .network_views import install_network_views

        # networks (issue 17): the Data dock with the decision boundary
        self.network_views = install_network_views(self)
        self.data_view, self.dock_data = (self.network_views.data_view,
                                          self.network_views.data_dock)
        if self.session.surface is None or self.session.surface.kind != "network":
            # the lab list in front at a first start, not an empty Data tab (it comes
            # to the front when a network is picked)
            self.dock_instructions.raise_()
        self._make_panel_actions()
        from .presentation import install_presentation

        self.presenting = install_presentation(self)  # F5: for a projector
        self.act_present = self.presenting.action
        self._default_geometry()
        self._restored_layout = False
        self._stored_splits = (None, None)
        self._auto_3d = True  # no stored choice: shown if the window has room (showEvent)
        if restore:
            self.restore_settings(scene=not self.labs.opening_on_start)
        if own_session and self.session.surface is None and not self.labs.opening_on_start:
            self.session.reset_scene()  # nothing stored (or it was refused): the race
        if not self._restored_layout:
            # Lanes in front at a first start: hiding the Draw dock tabbed after Surface
            # (install_draw) brought Surface to the front
            self.dock_lanes.raise_()
            QTimer.singleShot(0, self._initial_sizes)
        self._update_title()
        self._on_surface_changed()
        self.statusBar().showMessage(
            "Click or drag on the map to move the start point \u00b7 Space plays \u00b7 "
            "Right/Left step \u00b7 R resets", 15000)

    # ---- the window's API: what features use to add themselves ------------------------------
    @property
    def presentation(self) -> bool:
        """Presentation mode (F5): large type and marks, docks folded away, full screen;
        set it False to put the window back exactly as it was."""
        return self.presenting.active

    @presentation.setter
    def presentation(self, on: bool) -> None:
        self.presenting.set_active(on)

    @property
    def lab(self):
        """The open lab (its instructions and texts), or None."""
        return self.labs.lab

    @property
    def explorer_panel(self):
        """The explorer panel, once Explore > Basin or Hyperparameter map made it."""
        return self.explorer.panel

    @property
    def dock_explorer(self):
        return self.explorer.dock

    def menu(self, which: Menu) -> QMenu:
        """The menu ``which``; made on first use, in its place in the menu bar."""
        m = self._menus.get(which)
        if m is not None:
            return m
        order = list(Menu)
        after = [self._menus[k] for k in order[order.index(which) + 1:] if k in self._menus]
        m = QMenu(which.value, self)
        if after:
            self.menuBar().insertMenu(after[0].menuAction(), m)
        else:
            self.menuBar().addMenu(m)
        self._menus[which] = m
        return m

    def add_to_menu(self, which: Menu, actions, *, after: QAction | None = None,
                    before: QAction | None = None) -> None:
        """Add ``actions`` (None: a separator) to menu ``which``: after ``after``, before
        ``before``, else at the end."""
        m = self.menu(which)
        acts = m.actions()
        if after is not None and after in acts:
            i = acts.index(after)
            before = acts[i + 1] if i + 1 < len(acts) else None
        elif before is not None and before not in acts:
            before = None
        for a in actions:
            if a is None:
                if before is None:
                    m.addSeparator()
                else:
                    m.insertSeparator(before)
            elif before is None:
                m.addAction(a)
            else:
                m.insertAction(before, a)

    def add_action(self, text: str, slot=None, shortcut=None, icon_name: str | None = None,
                   tip: str = "", checkable: bool = False, *, menu: Menu | None = None,
                   after: QAction | None = None, before: QAction | None = None) -> QAction:
        """A window action (its shortcut works even with menus and toolbars hidden),
        optionally placed in menu ``menu`` (see :meth:`add_to_menu`)."""
        act = QAction(text, self)
        if icon_name:
            act.setIcon(icon(icon_name))
            act.setProperty("icon_name", icon_name)
        if isinstance(shortcut, QKeySequence.StandardKey):
            act.setShortcuts(shortcut)
        elif shortcut is not None:
            seqs = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            act.setShortcuts([QKeySequence(s) for s in seqs])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            act.setToolTip(f"{tip} ({keys})" if keys else tip)
            act.setStatusTip(tip)
        act.setCheckable(checkable)
        if slot is not None:
            (act.toggled if checkable else act.triggered).connect(slot)
        self.addAction(act)  # shortcuts work even when menus and toolbars are hidden
        if menu is not None:
            self.add_to_menu(menu, [act], after=after, before=before)
        return act

    def add_dock(self, title: str, name: str, widget: QWidget,
                 area=Qt.DockWidgetArea.RightDockWidgetArea, *,
                 tab_with: QDockWidget | None = None, panel: bool = False,
                 view_menu: bool | QAction = False) -> QDockWidget:
        """A dock holding ``widget`` in ``area``, tabbed with ``tab_with`` when given.

        ``panel``: one of the window's panels (View > Go to Panel, Reset Layout shows
        it). ``view_menu``: its show/hide toggle goes in the View menu (at the top, or
        before the action given)."""
        d = QDockWidget(title, self)
        d.setObjectName(name)
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                      | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                      | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, d)
        if tab_with is not None:
            self.tabifyDockWidget(tab_with, d)
            self._tab_home[d] = tab_with  # Reset Layout tabs it there again
        if panel:
            self.docks.append(d)
        if view_menu:
            t = d.toggleViewAction()
            t.setText(f"{title} Panel")
            if isinstance(view_menu, QAction):
                self.add_to_menu(Menu.VIEW, [t], before=view_menu)
            else:
                acts = self.menu(Menu.VIEW).actions()
                self.add_to_menu(Menu.VIEW, [t], before=acts[0] if acts else None)
        return d

    def update_title(self) -> None:
        """The window title: the open lab's title, else the session file's name."""
        self._update_title()

    def show_message(self, title: str, text: str, detail: str = "",
                     icon_kind=QMessageBox.Icon.Warning) -> QMessageBox:
        """A window-modal message box (kept as ``last_message_box``)."""
        return self._message(title, text, detail, icon_kind)

    def last_dir(self) -> str:
        """The folder file dialogs start in (the last one used)."""
        return self._last_dir()

    def _action(self, *args, **kw) -> QAction:
        return self.add_action(*args, **kw)

    def _make_actions(self) -> None:
        a = self._action
        an = self.animator
        self.act_open = a("&Open Session\u2026", self.open_session, QKeySequence.StandardKey.Open,
                          "open", "Open a saved scene")
        self.act_save = a("&Save Session", self.save_session, QKeySequence.StandardKey.Save,
                          "save", "Save the scene")
        self.act_save_as = a("Save Session &As\u2026", self.save_session_as,
                             QKeySequence.StandardKey.SaveAs, None, "Save the scene to a new file")
        self.act_new = a("&New Scene", self.new_scene, QKeySequence.StandardKey.New, None,
                         "Start again from the default scene")
        self.act_quit = a("&Quit", self.close, QKeySequence.StandardKey.Quit, "quit")
        self.act_play = a("&Play / Pause", an.toggle, "Space", "play",
                          "Play or pause the animation")
        self.act_step_forward = a("Step &Forward", lambda: an.step_forward(1),
                                  "Right", "step-forward", "One step forward")
        self.act_step_back = a("Step &Back", lambda: an.step_back(1), "Left",
                               "step-back", "One step back")
        self.act_step_forward10 = a("Forward 10 Steps", lambda: an.step_forward(10),
                                    "Shift+Right")
        self.act_step_back10 = a("Back 10 Steps", lambda: an.step_back(10), "Shift+Left")
        self.act_reset = a("&Reset", an.reset, "R", "reset", "Back to step 0")
        self.act_to_end = a("Go to &End", an.go_to_end, "End", "to-end",
                            "Show the whole run")
        self.act_faster = a("F&aster", an.faster, ["]", "+"], "faster", "Play faster")
        self.act_slower = a("S&lower", an.slower, ["[", "-"], "slower", "Play slower")
        self.act_loop = a("&Loop", an.set_loop, "L", "loop",
                          "Start over after the last step", checkable=True)
        self.act_log = a("&Log Colour Scale", self._on_log_action, "Ctrl+L", None,
                         "Colour the surface by log(L - min)", checkable=True)
        self.act_show_3d = a("Show &3-D View", self._on_show_3d, "F3", "camera",
                             "Show the 3-D surface next to the contour map", checkable=True)
        self.act_show_3d.setIconText("3-D View")
        self.act_show_3d.setChecked(True)
        self.act_fit_paths = a("&Fit Map to Paths", self.fit_map_to_paths, "Ctrl+0", None,
                               "Show the domain and where the lanes go; the coloured "
                               "field grows there (up to 4 domain widths)")
        self.act_follow_paths = a("F&ollow the Paths", self.set_follow_paths, None, None,
                                  "When lanes leave the domain, colour where they go and "
                                  "keep them in view", checkable=True)
        with QSignalBlocker(self.act_follow_paths):  # the map does not exist yet
            self.act_follow_paths.setChecked(True)
        self.act_reset_layout = a("Reset &Layout", self.reset_layout, None, "layout",
                                  "Put the panels back where they started")
        self.act_shortcuts = a("&Keyboard Shortcuts", self.show_shortcuts,
                               QKeySequence.StandardKey.HelpContents, "keyboard")
        self.act_about = a("&About LossLab", self.show_about, None, "about")
        self.theme_group = QActionGroup(self)
        self.theme_actions = {}
        for scheme, label in (("system", "Follow &System"), ("light", "&Light"),
                              ("dark", "&Dark")):
            act = QAction(label, self, checkable=True)
            act.setData(scheme)
            self.theme_group.addAction(act)
            self.theme_actions[scheme] = act
        self.theme_actions["system"].setChecked(True)
        self.cp_group = QActionGroup(self)
        self.cp_actions = {}
        for mode, label in CP_MODES.items():
            act = QAction(label, self, checkable=True)
            act.setData(mode)
            act.setToolTip(CP_MODE_TIP)
            act.setStatusTip(CP_MODE_TIP)
            self.cp_group.addAction(act)
            self.cp_actions[mode] = act
        self.cp_actions[CP_MODE_DEFAULT].setChecked(True)
        self.cp_group.triggered.connect(lambda act: self.set_cp_mode(act.data()))
        self.theme_group.triggered.connect(lambda act: self.set_theme(act.data()))
        an.playing_changed.connect(self._on_playing)
        an.loop_changed.connect(self.act_loop.setChecked)

    def _make_views(self) -> None:
        from .views import ContourView, CurveView, PlotsPanel

        s = self.session
        self.contour = ContourView(s)
        self.surface3d = None
        if self._with_3d:
            try:
                if self._make_3d is not None:
                    self.surface3d = self._make_3d(s)
                else:
                    from .views import Surface3DView

                    # a native OpenGL window: the rest of the window stays raster
                    self.surface3d = Surface3DView(s, native=True)
            except Exception as e:  # noqa: BLE001 - no OpenGL: the app still works in 2-D
                self.surface3d = None
                self._gl_error = str(e)
        # 2-D and 3-D side by side, the divider where the user left it (settings)
        self.views_2d = QSplitter(Qt.Orientation.Horizontal)
        self.views_2d.setObjectName("views_split")
        self.views_2d.setChildrenCollapsible(False)
        self.views_2d.addWidget(self.contour)
        self.contour.setMinimumWidth(MIN_VIEW_WIDTH)
        if self.surface3d is not None:
            self.surface3d.setMinimumWidth(MIN_VIEW_WIDTH)
            self.views_2d.addWidget(self.surface3d)
            self.views_2d.setStretchFactor(0, 1)
            self.views_2d.setStretchFactor(1, 1)
        else:
            self.act_show_3d.setChecked(False)
            self.act_show_3d.setEnabled(False)
        self.curve = CurveView(s)
        self.view_stack = QStackedWidget()
        self.view_stack.addWidget(self.views_2d)
        self.view_stack.addWidget(self.curve)
        from .views.landscape import LandscapeView

        # a network's map: its loss plane and the lanes' projected paths (issue 17)
        # its 3-D pane is a QOpenGLWidget (contexts shared, see app.py): a second native
        # GL window would not share the 3-D view's compiled shader programs
        self.landscape = LandscapeView(s, with_3d=self.surface3d is not None, native=False)
        self.view_stack.addWidget(self.landscape)
        self.plots = PlotsPanel(s)

        self.transport = TransportBar(self)
        self.center_split = QSplitter(Qt.Orientation.Vertical)
        self.center_split.setObjectName("center_split")
        self.center_split.setChildrenCollapsible(False)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        tl.addWidget(self.view_stack, 1)
        tl.addWidget(self.transport)
        self.center_split.addWidget(top)
        from .views.network_plots import NetworkPlots

        # a network's plots (loss, test accuracy, sharpness and 2/lr) in the same place
        self.network_plots = NetworkPlots(s)
        self.plots_stack = QStackedWidget()
        self.plots_stack.addWidget(self.plots)
        self.plots_stack.addWidget(self.network_plots)
        self.center_split.addWidget(self.plots_stack)
        self.center_split.setStretchFactor(0, 3)
        self.center_split.setStretchFactor(1, 1)
        self.setCentralWidget(self.center_split)
        self.contour.log_check.toggled.connect(self._on_view_log_toggled)

    def _make_docks(self) -> None:
        s = self.session
        left = Qt.DockWidgetArea.LeftDockWidgetArea
        right = Qt.DockWidgetArea.RightDockWidgetArea
        self.surface_panel = SurfacePanel(s)
        self.training_panel = TrainingPanel(s)
        self.lanes_panel = LanesPanel(s)
        self.diagnostics_panel = self._make_diagnostics()
        self.docks: list[QDockWidget] = []
        self.dock_lanes = self.add_dock("Lanes", "dock_lanes", self.lanes_panel, left)
        # what is edited most sits in front; the views get the width in the middle
        self.dock_training = self.add_dock("Training", "dock_training", self.training_panel,
                                           left, tab_with=self.dock_lanes)
        self.dock_surface = self.add_dock("Surface", "dock_surface", self.surface_panel,
                                          left, tab_with=self.dock_training)
        self.dock_diagnostics = self.add_dock("Diagnostics", "dock_diagnostics",
                                              self.diagnostics_panel, right)
        self.dock_lanes.raise_()
        self.resizeDocks([self.dock_lanes, self.dock_diagnostics], [340, 300],
                         Qt.Orientation.Horizontal)
        self.docks = [self.dock_surface, self.dock_lanes, self.dock_training,
                      self.dock_diagnostics]

    def _make_diagnostics(self) -> QWidget:
        try:
            from .panels.diagnostics_panel import DiagnosticsPanel
        except ImportError:
            return _placeholder("Diagnostics are not available in this build.")
        panel = DiagnosticsPanel(self.session)
        # while playing, its numbers refresh a few times a second, not every frame
        self.animator.playing_changed.connect(panel.set_playing)
        for view in (self.contour, self.curve):
            view.cursor_moved.connect(panel.show_cursor)
        return panel

    def _make_menus(self) -> None:
        m = self.menu(Menu.FILE)
        m.addAction(self.act_new)
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        m.addAction(self.act_save)
        m.addAction(self.act_save_as)
        m.addSeparator()
        m.addAction(self.act_quit)

        m = self.view_menu = self.menu(Menu.VIEW)
        for d in self.docks:
            act = d.toggleViewAction()
            act.setText(f"{d.windowTitle()} Panel")
            m.addAction(act)
        m.addAction(self.act_reset_layout)
        m.addSeparator()
        m.addAction(self.act_show_3d)
        m.addAction(self.act_fit_paths)
        m.addAction(self.act_follow_paths)
        m.addAction(self.act_log)
        # the selected lane's gradient, momentum, step and effective steps on the map
        self.act_internals = self.add_action(
            "Optimizer &Internals", lambda on: self.contour.set_internals(on), "I", None,
            INTERNALS_TIP, checkable=True)
        m.addAction(self.act_internals)
        tm = m.addMenu(icon("theme"), "&Theme")
        for act in self.theme_actions.values():
            tm.addAction(act)
        cm = self.cp_menu = m.addMenu("&Critical Points")
        cm.setToolTipsVisible(True)
        cm.menuAction().setToolTip(CP_MODE_TIP)
        cm.menuAction().setStatusTip(CP_MODE_TIP)
        for act in self.cp_actions.values():
            cm.addAction(act)

        m = self.menu(Menu.RUN)
        for act in (self.act_play, self.act_step_forward, self.act_step_back,
                    self.act_step_forward10, self.act_step_back10, self.act_reset,
                    self.act_to_end):
            m.addAction(act)
        m.addSeparator()
        m.addAction(self.act_faster)
        m.addAction(self.act_slower)
        m.addAction(self.act_loop)

        m = self.menu(Menu.HELP)
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

    def _make_toolbar(self) -> None:
        tb = QToolBar("Main toolbar", self)
        tb.setObjectName("toolbar_main")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for act in (self.act_open, self.act_save):
            tb.addAction(act)
        tb.addSeparator()
        for act in (self.act_reset, self.act_step_back, self.act_play, self.act_step_forward,
                    self.act_to_end):
            tb.addAction(act)
        tb.addSeparator()
        for act in (self.act_slower, self.act_faster, self.act_loop):
            tb.addAction(act)
        tb.addSeparator()
        self.add_lane_button = QToolButton()
        self.add_lane_button.setIcon(icon("add"))
        self.add_lane_button.setText("Add lane")
        self.add_lane_button.setToolTip("Add an optimizer lane")
        self.add_lane_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_lane_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_lane_button.setMenu(self.lanes_panel.add_menu)
        tb.addWidget(self.add_lane_button)
        # the 3-D toggle says what it does, not only a camera icon
        self.show_3d_button = QToolButton()
        self.show_3d_button.setObjectName("show_3d_button")
        self.show_3d_button.setDefaultAction(self.act_show_3d)
        self.show_3d_button.setText("3-D View")
        self.show_3d_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addWidget(self.show_3d_button)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _make_status_bar(self) -> None:
        # the temporary message in a label that elides instead of running under the
        # permanent widgets (status_bar.py)
        sb = StatusBar(self)
        self.setStatusBar(sb)
        self.runs_progress = RunsProgress()  # a network's lanes re-run in the background
        sb.addPermanentWidget(self.runs_progress)
        self.scene_label = QLabel()
        sb.addPermanentWidget(self.scene_label)

    def _connect(self) -> None:
        s = self.session
        s.status_message.connect(self._on_status_message)
        s.runs_progress.connect(self.runs_progress.set_progress)
        s.surface_changed.connect(self._on_surface_changed)
        for sig in (s.surface_changed, s.lanes_changed, s.start_changed, s.training_changed):
            sig.connect(self._on_scene_edited)
        s.trajectories_changed.connect(self._update_scene_label)
        s.view_changed.connect(self._on_view_changed)
        if hasattr(QApplication.styleHints(), "colorSchemeChanged"):
            QApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme)

    def _make_panel_actions(self) -> None:
        """View > Go to Panel: Ctrl+1... shows a dock and brings its tab to the front
        (its View menu check box only shows or hides it)."""
        self.panel_actions = []
        menu = self.view_menu.addMenu("&Go to Panel")
        for i, dock in enumerate(self.docks[:9]):
            act = self._action(f"{dock.windowTitle()} Panel",
                               lambda _=False, d=dock: self.go_to_panel(d),
                               f"Ctrl+{i + 1}", None, f"Show the {dock.windowTitle()} panel")
            self.panel_actions.append(act)
            menu.addAction(act)

    def go_to_panel(self, dock) -> None:
        dock.setVisible(True)
        dock.raise_()
        dock.widget().setFocus(Qt.FocusReason.ShortcutFocusReason)

    def shortcut_actions(self) -> list[QAction]:
        """Every action with a keyboard shortcut, in menu order (for Help)."""
        acts = [self.act_play, self.act_step_forward, self.act_step_back,
                self.act_step_forward10, self.act_step_back10, self.act_reset,
                self.act_to_end, self.act_faster, self.act_slower, self.act_loop,
                self.act_show_3d, self.act_present, self.act_fit_paths, self.act_log,
                self.act_new,
                self.act_open, self.act_save,
                self.act_save_as, self.act_shortcuts, self.act_quit]
        acts += [self.act_draw, self.act_undo, self.act_redo]
        acts += [self.labs.actions["open_lab"], *self.labs.steps.actions.values()]
        acts += self.panel_actions
        return acts

    # ---- reacting ---------------------------------------------------------------------------
    def _on_playing(self, playing: bool) -> None:
        self.act_play.setIcon(icon("pause" if playing else "play"))
        self.act_play.setProperty("icon_name", "pause" if playing else "play")
        self.act_play.setText("&Pause" if playing else "&Play")

    def _on_status_message(self, msg: str) -> None:
        self.statusBar().showMessage(msg, 10000)

    def _on_surface_changed(self) -> None:
        s = self.session.surface
        if s is None:
            return
        net = s.kind == "network"
        self.view_stack.setCurrentWidget(self.landscape if net else self.curve if s.dim == 1
                                         else self.views_2d)
        self.plots_stack.setCurrentWidget(self.network_plots if net else self.plots)
        # a network's loss plane has its 3-D mesh too (``LandscapeView.mesh3d``)
        self.act_show_3d.setEnabled(self.surface3d is not None and (s.dim == 2 or net))
        self.act_log.setEnabled(s.dim == 2)
        with QSignalBlocker(self.act_log):
            self.act_log.setChecked(self.session.view.log_for(s))
        self._update_scene_label()

    def _on_scene_edited(self) -> None:
        # every slider tick edits the scene: touch the title only when it changes
        # (each change is a round trip to the window system)
        if not self.isWindowModified():
            self.setWindowModified(True)
        self._update_title()

    def _update_title(self) -> None:
        if self.file_path:
            name = Path(self.file_path).name
        else:
            name = self.session.scene.lab_title or "untitled"
        title = f"{name}[*] \u2014 {APP_TITLE}"
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    def _update_scene_label(self) -> None:
        s = self.session
        if s.surface is None:
            return
        on = sum(1 for lane in s.lanes if lane.enabled)
        self.scene_label.setText(
            f"{s.surface.name}  \u00b7  {on}/{len(s.lanes)} lanes  \u00b7  {s.steps} steps"
        )

    def _on_log_action(self, on: bool) -> None:
        self.session.set_view(log_scale=bool(on))  # the views follow the scene

    def _on_view_changed(self) -> None:
        """The scene's view state (or its lab) changed: the menu follows it."""
        v = self.session.view
        if self.surface3d is None and "3d" in v.views:
            self.session.set_view(views=("2d",))  # this window shows no 3-D view
            return
        if self.surface3d is not None and self.act_show_3d.isChecked() != ("3d" in v.views):
            self.act_show_3d.setChecked("3d" in v.views)
        s = self.session.surface
        if s is not None:
            with QSignalBlocker(self.act_log):
                self.act_log.setChecked(v.log_for(s))
        self._update_title()

    def _on_view_log_toggled(self, on: bool) -> None:
        with QSignalBlocker(self.act_log):
            self.act_log.setChecked(on)

    def _on_show_3d(self, on: bool) -> None:
        if self.surface3d is not None:
            self.surface3d.setVisible(on)
        mesh = getattr(getattr(self, "landscape", None), "mesh3d", None)
        if mesh is not None:  # a network's loss plane: the same switch
            mesh.setVisible(on)
        # which views are shown is part of the scene (Save as Lab reads it there)
        self.session.set_view(views=("2d", "3d") if on else ("2d",))

    # ---- theme ------------------------------------------------------------------------------
    def set_theme(self, scheme: str) -> None:
        if scheme not in palette.SCHEMES:
            scheme = "system"
        self.theme_actions[scheme].setChecked(True)
        palette.apply_scheme(scheme)
        clear_cache()
        for act in self.findChildren(QAction):
            name = act.property("icon_name")
            if name:
                act.setIcon(icon(name))
        self.add_lane_button.setIcon(icon("add"))
        # panels colour some text by theme: let them redraw from the session
        self.lanes_panel.retheme()
        self.training_panel.retheme()
        self.settings.group(st.WINDOW).set(st.KEY_THEME, scheme)

    def fit_map_to_paths(self) -> None:
        """View > Fit Map to Paths: the map shows the domain and where the lanes go."""
        self.contour.fit_to_paths()

    def set_follow_paths(self, on: bool) -> None:
        """View > Follow the Paths: the map's field and view follow lanes that leave the
        domain; kept in the settings."""
        with QSignalBlocker(self.act_follow_paths):
            self.act_follow_paths.setChecked(bool(on))
        self.contour.set_follow_paths(bool(on))
        self.settings.group(st.WINDOW).set(st.KEY_FOLLOW_PATHS, bool(on))

    def set_cp_mode(self, mode: str) -> None:
        """Mark the critical points of ``mode`` on the maps ("auto", "all", "minima",
        "off"; see ``marks.CP_MODES``) and remember it for the next start."""
        if mode not in CP_MODES:
            mode = CP_MODE_DEFAULT
        self.cp_actions[mode].setChecked(True)
        self.contour.set_cp_mode(mode)
        self.curve.set_cp_mode(mode)
        self.settings.group(st.WINDOW).set(st.KEY_CP_MODE, mode)

    def _on_system_scheme(self, *_args) -> None:
        if self.theme_actions["system"].isChecked():
            self.set_theme("system")

    # ---- layout ------------------------------------------------------------------------------
    def _default_geometry(self) -> None:
        # first start: most of the screen (all of a small one), centred
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 800)
            return
        avail = screen.availableGeometry()
        if avail.width() <= 1440 or avail.height() <= 900:
            w, h = avail.width(), avail.height()
        else:
            w, h = min(int(avail.width() * 0.9), 2200), min(int(avail.height() * 0.9), 1300)
        self.resize(w, h)
        self.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self._auto_3d:
            # the first start: the 3-D view stays beside the map when the window has
            # room for both, else it starts hidden (F3 or the toolbar's 3-D View shows it)
            self._auto_3d = False
            if self.surface3d is not None and not self.room_for_3d():
                self.act_show_3d.setChecked(False)
        if not getattr(self, "_strays_checked", False):
            self._strays_checked = True
            QTimer.singleShot(0, self._apply_stored_splits)
            self._check_tab_bars_soon()

    def _check_tab_bars_soon(self) -> None:
        for ms in (0, 400):  # once the layout pass has placed the docks
            QTimer.singleShot(ms, self.hide_stray_tab_bars)

    def hide_stray_tab_bars(self) -> None:
        """Hide the duplicate dock tab bars Qt leaves behind.

        Tabifying a second group of docks before the window is first shown (as building
        the window and restoreState do) leaves a second tab bar of that group as a
        child of the window, visible where it was made: a clipped "...t" showed between
        the 3-D view and the right dock (Qt 6.11; a bare QMainWindow shows it too). Of
        two bars with the same tabs, the one against a dock of its group is in use; the
        other is hidden. Nothing is hidden unless that is clear.
        """
        from PySide6.QtWidgets import QTabBar

        docks = [d for d in self.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]

        def tabs(tb):
            return tuple(sorted(tb.tabText(i) for i in range(tb.count())))

        def touches(tb) -> bool:
            r = tb.geometry()
            return any(
                d.windowTitle() in tabs(tb)
                and r.left() < d.geometry().right() and d.geometry().left() < r.right()
                and (abs(r.top() - d.geometry().bottom()) <= 3
                     or abs(r.bottom() - d.geometry().top()) <= 3)
                for d in docks
            )

        bars = [tb for tb in self.findChildren(
            QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if tb.isVisible() and tb.count()]
        for tb in bars:
            # a twin lists the same tabs, or some of them: a dock tabbed into a group
            # later (the Data dock) leaves the group's old bar behind with fewer tabs
            twins = [o for o in bars if o is not tb and set(tabs(o)) & set(tabs(tb))]
            if twins and not touches(tb) and any(touches(o) for o in twins):
                tb.hide()
            elif any(set(tabs(tb)) < set(tabs(o)) and touches(o) for o in twins):
                tb.hide()  # the old, shorter bar of a group whose bar in use has more

    def _apply_stored_splits(self) -> None:
        center, views = self._stored_splits
        if center is not None:
            self.center_split.setSizes(center)
        if views is not None:
            self.views_2d.setSizes(views)

    def room_for_3d(self) -> bool:
        """Whether the window is wide enough to show the 3-D view beside the map."""
        return self.width() >= ROOM_FOR_3D

    def _initial_sizes(self) -> None:
        # docks as narrow as their contents allow: the views get the width
        w = self.width()
        side = max(300, min(380, w // 5))
        self.resizeDocks([self.dock_lanes, self.dock_diagnostics], [side, side],
                         Qt.Orientation.Horizontal)
        h = self.center_split.height()
        self.center_split.setSizes([int(h * 0.74), h - int(h * 0.74)])
        if self.surface3d is not None:
            vw = self.views_2d.width()
            self.views_2d.setSizes([vw // 2, vw - vw // 2])  # side by side, equal

    def reset_layout(self) -> None:
        for d in self.docks:
            d.setFloating(False)
            d.setVisible(True)
        instructions = self.dock_instructions
        for d in (self.dock_diagnostics, instructions, self.dock_lanes, self.dock_training,
                  self.dock_surface):
            if d is not None:
                self.removeDockWidget(d)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock_lanes)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock_diagnostics)
        self.tabifyDockWidget(self.dock_lanes, self.dock_training)
        self.tabifyDockWidget(self.dock_training, self.dock_surface)
        if instructions is not None:  # as at the first start: a tab next to Diagnostics
            self.tabifyDockWidget(self.dock_diagnostics, instructions)
        for d, home in self._tab_home.items():  # the other docks (Data) where they started
            if d not in self.docks and d is not instructions and d.isVisible():
                d.setFloating(False)
                self.tabifyDockWidget(home, d)
        for d in self.docks:
            d.show()
        self.dock_lanes.raise_()
        self._initial_sizes()
        self._check_tab_bars_soon()

    # ---- files ----------------------------------------------------------------------------------
    def _message(self, title: str, text: str, detail: str = "",
                 icon_kind=QMessageBox.Icon.Warning) -> QMessageBox:
        box = QMessageBox(icon_kind, title, text, QMessageBox.StandardButton.Ok, self)
        if detail:
            box.setInformativeText(detail)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # not exec(): the window (and tests) keep running
        self.last_message_box = box
        return box

    def _last_dir(self) -> str:
        d = self.settings.group(st.SESSION).get_str(st.KEY_LAST_DIR, "")
        return d if d and os.path.isdir(d) else str(Path.home())

    def open_session(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Session", self._last_dir(),
                                              FILE_FILTER)
        if path:
            self.open_session_file(path)

    def open_session_file(self, path: str) -> bool:
        """Load a session file; on any problem show why and keep the current scene."""
        try:
            # a regular file of at most MAX_SESSION_BYTES: never /dev/zero, never a FIFO
            raw = read_small_file(path, MAX_SESSION_BYTES, "session file")
            data = json.loads(raw.decode("utf-8-sig"), parse_int=json_int)
        except RecursionError:
            self._message("Not a session file",
                          f"{Path(path).name} is not a LossLab session: its JSON is nested "
                          "too deeply.", "The current scene was kept.")
            return False
        except (OSError, UnicodeDecodeError) as e:
            self._message("Cannot open session", f"Could not read {Path(path).name}.",
                          str(e))
            return False
        except json.JSONDecodeError as e:
            self._message("Not a session file",
                          f"{Path(path).name} is not a LossLab session: it is not valid JSON.",
                          f"{e.msg} at line {e.lineno}, column {e.colno}. "
                          "The current scene was kept.")
            return False
        except ValueError as e:
            self._message("Cannot open session", f"Could not open {Path(path).name}.", str(e))
            return False
        self.animator.pause()
        try:
            self.session.load_dict(data)
        except ValueError as e:
            self._message("Not a session file",
                          f"{Path(path).name} could not be loaded.",
                          f"{e}\n\nThe current scene was kept.")
            return False
        self.file_path = str(path)
        self._remember(path)
        self.setWindowModified(False)
        self._update_title()
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def save_session(self) -> bool:
        if not self.file_path:
            return self.save_session_as()
        return self.save_session_file(self.file_path)

    def save_session_as(self) -> bool:
        start = self.file_path or os.path.join(self._last_dir(), "scene.losslab.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save Session", start, FILE_FILTER)
        if not path:
            return False
        return self.save_session_file(path)

    def save_session_file(self, path: str) -> bool:
        """Write the scene as JSON (atomically: a failed save never truncates a file)."""
        text = json.dumps(self.session.to_dict(), indent=2)
        try:
            atomic_write_text(path, text)  # the one atomic writer (simulator.core.files)
        except OSError as e:
            self._message("Cannot save session", f"Could not write {path}.", str(e))
            return False
        self.file_path = str(path)
        self._remember(path)
        self.setWindowModified(False)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def _remember(self, path: str) -> None:
        g = self.settings.group(st.SESSION)
        path = str(Path(path).resolve())
        recent = [p for p in g.get_str_list(st.KEY_RECENT) if p != path]
        g.set(st.KEY_RECENT, [path, *recent][: st.MAX_RECENT])
        g.set(st.KEY_LAST_DIR, str(Path(path).parent))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.group(st.SESSION).get_str_list(st.KEY_RECENT)
        for p in recent:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, p=p: self.open_session_file(p))
        if not recent:
            a = self.recent_menu.addAction("No recent sessions")
            a.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", lambda: self.settings.group(
                st.SESSION).set(st.KEY_RECENT, []))

    def new_scene(self) -> None:
        self.animator.pause()
        self.session.reset_scene()
        self.file_path = None
        self.setWindowModified(False)
        self._update_title()

    # ---- help ------------------------------------------------------------------------------------
    def show_shortcuts(self) -> ShortcutsDialog:
        dlg = ShortcutsDialog(self)
        dlg.open()
        return dlg

    def show_about(self) -> QMessageBox:
        version = app_version()
        box = QMessageBox(self)
        box.setWindowTitle("About LossLab")
        box.setIconPixmap(app_icon().pixmap(72, 72))
        box.setText(f"<h3>LossLab {version}</h3>")
        box.setInformativeText(
            "A loss-landscape simulator: pick a surface, place a start point and watch "
            "optimizers descend it side by side, with the curvature that explains what "
            "they do.<br><br>Optimizers and schedules follow torch.optim's names, defaults "
            "and update rules, so the numbers here are the numbers your PyTorch code "
            "produces.<br><br>Lane colours: Okabe &amp; Ito's colourblind-safe palette."
            "<br>Built with Qt (PySide6), pyqtgraph, NumPy and Numba. MIT licence."
        )
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.open()
        self.last_message_box = box
        return box

    # ---- settings --------------------------------------------------------------------------------
    def restore_settings(self, scene: bool = True) -> None:
        """Restore the window layout, theme, playback and, with ``scene``, the last
        run's scene (a lab given to ``losslab open`` replaces it: not computed then)."""
        g = self.settings.group(st.WINDOW)
        geo = g.get_bytes(st.KEY_GEOMETRY)
        if geo is not None and not geo.isEmpty():
            self.restoreGeometry(geo)
        state = g.get_bytes(st.KEY_STATE)
        if state is not None and not state.isEmpty():
            self._restored_layout = bool(self.restoreState(state))
        # the splitters' sizes are applied once the window is shown at its size (sizes
        # set before are rescaled by the first layout)
        self._stored_splits = (g.get_int_list(st.KEY_CENTER_SPLIT, 2),
                               g.get_int_list(st.KEY_VIEWS_SPLIT, 2))
        self._apply_stored_splits()
        if self.surface3d is not None and g.contains(st.KEY_SHOW_3D):
            self._auto_3d = False
            self.act_show_3d.setChecked(g.get_bool(st.KEY_SHOW_3D, True))
        self.set_theme(g.get_str(st.KEY_THEME, "system", palette.SCHEMES))
        self.set_cp_mode(g.get_str(st.KEY_CP_MODE, CP_MODE_DEFAULT, tuple(CP_MODES)))
        self.set_follow_paths(g.get_bool(st.KEY_FOLLOW_PATHS, True))
        self.animator.restore_state(self.settings.group("animation"))
        stored = self.settings.group(st.SESSION).get_json(st.KEY_LAST_SCENE) if scene else None
        if stored is not None:
            try:
                self.session.load_dict(stored)
            except ValueError as e:
                # a scene from an older or broken settings file: start from the default
                msg = f"The last scene could not be restored ({e}); showing the default."
                QTimer.singleShot(0, lambda: self.statusBar().showMessage(msg, 10000))
        path = self.settings.group(st.SESSION).get_str("file", "")
        if path and os.path.isfile(path):
            self.file_path = path
        self.setWindowModified(False)

    def save_settings(self) -> None:
        g = self.settings.group(st.WINDOW)
        g.set(st.KEY_GEOMETRY, self.saveGeometry())
        g.set(st.KEY_STATE, self.saveState())
        g.set_json(st.KEY_CENTER_SPLIT, [int(v) for v in self.center_split.sizes()])
        if self.surface3d is not None and self.surface3d.isVisible():
            g.set_json(st.KEY_VIEWS_SPLIT, [int(v) for v in self.views_2d.sizes()])
        g.set(st.KEY_SHOW_3D, self.act_show_3d.isChecked())
        self.animator.save_state(self.settings.group("animation"))
        sg = self.settings.group(st.SESSION)
        sg.set_json(st.KEY_LAST_SCENE, self.session.to_dict())
        sg.set("file", self.file_path or "")
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        self.animator.pause()
        self.presentation = False  # the layout saved is the user's, not the projector's
        self.save_settings()
        explorer = self.explorer.panel
        if explorer is not None:  # its map thread ends before the window can be deleted
            if explorer.worker.isRunning():
                self.hide()  # closed at once for the user; a first map may be compiling
            explorer.shutdown()
        super().closeEvent(event)
