"""Test harness shared by every test.

- Qt widgets run offscreen: ``QT_QPA_PLATFORM=offscreen`` is set here, before anything
  imports Qt (pytest loads this file before pytest-qt imports PySide6).
- Tests that use Qt get their own QSettings folder, application names, HOME and XDG
  folders, so nothing reads or writes the real user's settings. Core tests never import
  PySide6 from here (the import happens inside the fixture).
- ``gl_display``: the X display for OpenGL tests (Xvfb, started by pytest-xvfb when no
  display is set). It fails, never skips, under CI; tests marked ``gl`` use it implicitly.
- ``spare_device``: a character device that a test may try to save over. As root (CI
  runs as root) it is a node made in the test's folder, never the real ``/dev/null``: a
  regression in the device check would otherwise replace the machine's ``/dev/null``.
- Hypothesis profiles: ``dev`` locally, ``ci`` when ``CI`` is set (override with
  ``HYPOTHESIS_PROFILE``).
- Kernels compile on first use, in the test's own thread: the interim interpreted runs
  of a first start (``LOSSLAB_INTERIM=0``, see ``simulator.core.kernels.loops``) and
  their background compiler would make memory and timing-sensitive tests depend on
  what ran before. ``tests/core/test_kernel_paths.py`` tests the interim path itself.
"""

from __future__ import annotations

import gc
import os
import stat
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["LOSSLAB_INTERIM"] = "0"

# Fixtures that mean "this test runs Qt".
QT_FIXTURES = frozenset({"qtbot", "qapp", "qtmodeltester", "qtlog", "qt_isolation"})


def is_ci() -> bool:
    """True when running under CI (``CI`` set to anything but an explicit no)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# --- devices ----------------------------------------------------------------------
@pytest.fixture
def spare_device(tmp_path_factory):
    """A character device (``/dev/null``'s numbers) that a save may wrongly replace.

    As root, a node made with ``mknod`` in a folder of its own (replacing it harms
    nothing); as another user, ``/dev/null`` itself (nobody else may write in ``/dev``).
    Skips as root without the right to make device nodes, rather than risk the real one.
    """
    if os.geteuid() != 0:
        if not os.path.exists("/dev/null"):
            pytest.skip("no /dev/null")
        return "/dev/null"
    path = tmp_path_factory.mktemp("dev") / "null"
    real = os.stat("/dev/null")
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, real.st_rdev)
    except (OSError, AttributeError) as e:
        pytest.skip(f"root cannot make a device node here ({e}); the real /dev/null "
                    "is not put at risk")
    return str(path)


# --- hypothesis ---------------------------------------------------------------------

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the test extra is not installed; hypothesis tests cannot run
    pass
else:
    # The first call of a numba kernel compiles it, so per-example deadlines are
    # meaningless here.
    settings.register_profile("dev", deadline=None)
    settings.register_profile(
        "ci",
        deadline=None,
        max_examples=30,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if is_ci() else "dev"))


# --- Qt isolation -------------------------------------------------------------------


def _uses_qt(item: pytest.Item) -> bool:
    if QT_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return True
    if item.get_closest_marker("gl") is not None:
        return True
    try:
        rel = Path(str(item.path)).resolve().relative_to(item.config.rootpath.resolve())
    except ValueError:
        return False
    return rel.parts[:2] == ("tests", "gui")


@pytest.fixture
def qt_isolation(tmp_path_factory, monkeypatch):
    """Point QSettings, HOME and the XDG folders at a fresh temp folder for this test.

    Applied automatically to tests that use Qt (see ``_harness``); request it
    explicitly in any other test that touches Qt. Returns the settings folder.
    """
    base = tmp_path_factory.mktemp("qt-home")
    home = base / "home"
    settings_dir = base / "settings"
    runtime = base / "runtime"
    for d in (home, settings_dir, runtime):
        d.mkdir()
    runtime.chmod(stat.S_IRWXU)  # Qt insists on 0700 for XDG_RUNTIME_DIR

    # Environment first: subprocesses (GL tests) and QStandardPaths read it.
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))

    from PySide6.QtCore import QCoreApplication, QSettings

    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(settings_dir / "user"))
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, str(settings_dir / "system"))

    saved = (
        QCoreApplication.organizationName(),
        QCoreApplication.organizationDomain(),
        QCoreApplication.applicationName(),
    )
    QCoreApplication.setOrganizationName("LossLabTests")
    QCoreApplication.setOrganizationDomain("tests.losslab.invalid")
    QCoreApplication.setApplicationName("losslab-tests")
    # Python's cyclic GC must not run inside a Qt paint event: collecting a pyqtgraph item
    # left over from an earlier test there aborted a run ("pure virtual method called").
    # Collect at teardown instead, after qtbot has closed this test's widgets and the
    # deferred deletes have run (this fixture is torn down after qtbot's).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield settings_dir
    finally:
        app = QCoreApplication.instance()
        if app is not None:
            from PySide6.QtCore import QEvent

            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            app.processEvents()
        gc.collect()
        if gc_was_enabled:
            gc.enable()
        # a test that pressed a slider and never released it must not leave the app
        # believing a drag goes on (the diagnostics panel would wait for its end)
        import sys

        panels = sys.modules.get("simulator.gui.panels")
        if panels is not None:
            panels.DRAG.set(False)
        QCoreApplication.setOrganizationName(saved[0])
        QCoreApplication.setOrganizationDomain(saved[1])
        QCoreApplication.setApplicationName(saved[2])


# --- OpenGL display -----------------------------------------------------------------


def _display_reachable(display: str) -> bool:
    """Cheap check for a local X display (":N" or ":N.S"): its socket must exist."""
    if not display.startswith(":"):
        return True  # remote or unusual form: trust it
    number = display[1:].split(".", 1)[0]
    if not number.isdigit():
        return False
    return Path(f"/tmp/.X11-unix/X{number}").exists()


@pytest.fixture
def gl_display() -> str:
    """The X DISPLAY that OpenGL tests render on (Xvfb under pytest-xvfb).

    The test process itself stays offscreen; GL tests start a subprocess with
    ``QT_QPA_PLATFORM=xcb`` and ``DISPLAY`` set to this value. Without a usable display
    this fails under CI (GL must never be silently skipped there) and skips locally.
    """
    display = os.environ.get("DISPLAY", "")
    if display and _display_reachable(display):
        return display
    reason = (
        f"no usable X display for OpenGL (DISPLAY={display!r}); install Xvfb "
        "(Debian: apt-get install xvfb xauth libgl1-mesa-dri) so pytest-xvfb can start one"
    )
    if is_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _harness(request):
    """Per-test wiring: Qt isolation for Qt tests only (so core tests never import
    PySide6 here), and the display check for tests marked ``gl`` even if they forget to
    request ``gl_display``."""
    if _uses_qt(request.node):
        request.getfixturevalue("qt_isolation")
    if request.node.get_closest_marker("gl") is not None:
        request.getfixturevalue("gl_display")


def pytest_report_header(config):
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci" if is_ci() else "dev")
    return (
        f"losslab: CI={is_ci()} DISPLAY={os.environ.get('DISPLAY', '')!r} "
        f"QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')} hypothesis={profile}"
    )
