"""PyInstaller runtime hook: give numba a cache folder before numba is imported.

A frozen app has no writable ``__pycache__`` next to its kernels, and numba's fallback
(a user-wide folder keyed on the kernel file's path, which inside a bundle is relative to
the current directory) would compile everything again whenever LossLab is started from
another folder. So, frozen, ``NUMBA_CACHE_DIR`` is set to ``<cache>/numba`` where
``<cache>`` is the user's cache folder for LossLab, the folder
``QStandardPaths.writableLocation(QStandardPaths.CacheLocation)`` names for organization
"LossLab" and application "LossLab" (the names ``simulator.gui.settings`` gives the app):

=======  ===================================================================
Linux    ``$XDG_CACHE_HOME/LossLab/LossLab`` (an absolute ``XDG_CACHE_HOME``),
         else ``~/.cache/LossLab/LossLab``
macOS    ``~/Library/Caches/LossLab/LossLab``
Windows  ``%LOCALAPPDATA%\\LossLab\\LossLab\\cache``
=======  ===================================================================

The path is computed here with those rules rather than by asking Qt, so that Qt is not
loaded before numba (a headless ``losslab export`` needs no Qt at start-up); a test
(``tests/test_packaging_files.py``) checks that it equals Qt's answer. One deliberate
difference: with no ``HOME`` in the environment (``env -i``) Qt falls back to ``/``,
while this hook asks the password database for the home folder, as ``os.path.expanduser``
does. If the folder cannot be created, a per-user folder in the temporary directory is
used instead. A ``NUMBA_CACHE_DIR`` already set by the user is left alone.

numba uses ``NUMBA_CACHE_DIR`` only for functions whose defining file exists, so the spec
ships ``simulator.core.kernels`` as ``.py`` files (``module_collection_mode``): the cache
is then keyed on their absolute path inside the bundle, the same from any current folder.

The bundle ships precompiled kernels (``losslab_kernel_cache.py``, built by ``make
package``). For numba to load them, the frozen app must ask for the CPU target they were
built for: the hook sets ``NUMBA_CPU_NAME=generic`` and ``NUMBA_CPU_FEATURES`` to the
baseline of the architecture (x86-64: SSE2, the features every 64-bit x86 CPU has), and
``NUMBA_CACHE_LOCATOR_CLASSES`` so that the kernels' cache folder and stamp do not depend
on where the bundle is unpacked. A user who sets ``NUMBA_CPU_NAME`` or
``NUMBA_CPU_FEATURES`` (for host-tuned code: ``NUMBA_CPU_NAME=host``) gets exactly that;
the shipped kernels then do not match and are compiled once on first use, in the
background. ``LOSSLAB_COMPILE_LOG=<file>`` writes the kernels' compile log there (JSON).

The hook runs only in the frozen app (``sys.frozen``); imported elsewhere it does nothing.
"""

from __future__ import annotations

import os
import platform as _platform
import sys

ORGANIZATION = "LossLab"
APPLICATION = "LossLab"


def _home(environ) -> str:
    home = environ.get("HOME", "")
    if home:
        return home
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir or "/"
    except (ImportError, KeyError, OSError):
        return os.path.expanduser("~")


def qt_cache_location(environ=None, platform: str | None = None) -> str:
    """The folder ``QStandardPaths.CacheLocation`` names for LossLab, computed without Qt."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or os.path.join(
            environ.get("USERPROFILE") or os.path.expanduser("~"), "AppData", "Local"
        )
        return os.path.join(base, ORGANIZATION, APPLICATION, "cache")
    if platform == "darwin":
        return os.path.join(_home(environ), "Library", "Caches", ORGANIZATION, APPLICATION)
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # Qt ignores a relative XDG_CACHE_HOME, as the spec says
        base = os.path.join(_home(environ), ".cache")
    return os.path.join(base, ORGANIZATION, APPLICATION)


def numba_cache_dir(environ=None, platform: str | None = None) -> str:
    """``<user cache folder>/numba``: where the frozen app keeps numba's compiled kernels."""
    return os.path.join(qt_cache_location(environ, platform), "numba")


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


# The portable CPU target of the shipped kernels: LLVM's "generic" CPU with the features
# every CPU of the architecture has (x86-64 baseline: the x86-64-v1 level).
X86_64_BASELINE = "+64bit,+cmov,+cx8,+fxsr,+mmx,+sse,+sse2"
LOCATORS = ("losslab_kernel_cache.BundleCacheLocator,UserProvidedCacheLocator,"
            "InTreeCacheLocator,UserWideCacheLocator")


def portable_cpu_env(machine: str | None = None) -> dict:
    """``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` of the shipped kernels."""
    machine = (_platform.machine() if machine is None else machine).lower()
    features = X86_64_BASELINE if machine in ("x86_64", "amd64") else ""
    return {"NUMBA_CPU_NAME": "generic", "NUMBA_CPU_FEATURES": features}


def use_shipped_kernels(environ) -> None:
    """Ask numba for the shipped kernels' CPU target and cache locator (frozen only)."""
    if "NUMBA_CPU_NAME" not in environ and "NUMBA_CPU_FEATURES" not in environ:
        environ.update(portable_cpu_env())
    environ.setdefault("NUMBA_CACHE_LOCATOR_CLASSES", LOCATORS)


def install(environ=None) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` (and the shipped kernels' CPU target) in ``environ`` when
    frozen; returns the cache folder (or None)."""
    environ = os.environ if environ is None else environ
    if not getattr(sys, "frozen", False):
        return None
    use_shipped_kernels(environ)
    if environ.get("NUMBA_CACHE_DIR"):
        return environ["NUMBA_CACHE_DIR"]
    path = numba_cache_dir(environ)
    if not _writable(path):
        import tempfile

        uid = os.getuid() if hasattr(os, "getuid") else environ.get("USERNAME", "user")
        path = os.path.join(tempfile.gettempdir(), f"losslab-{uid}-numba")
        if not _writable(path):
            return None  # numba then falls back to its own user-wide cache
    environ["NUMBA_CACHE_DIR"] = path
    return path


install()
if getattr(sys, "frozen", False) and os.environ.get("LOSSLAB_COMPILE_LOG"):
    import losslab_kernel_cache  # bundled next to the app (imports numba)

    losslab_kernel_cache.start_compile_log(os.environ["LOSSLAB_COMPILE_LOG"])
