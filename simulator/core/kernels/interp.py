"""The kernels' source run by the Python interpreter, for the moments before numba is done.

Compiling a specialised kernel takes a second or a few; the first start of LossLab on a
new machine would otherwise wait for every kernel its first window needs. Yet the kernel
modules are plain Python with numba decorators, so the same source can run without
numba: ``load()`` imports them a second time as a separate package whose ``_jit`` is
``_nojit`` (``njit`` is the identity, every compile-time selector takes its generic
plain-Python body). The arithmetic is the same IEEE double arithmetic in the same order,
with the same C library functions (numba calls libm's ``exp``, ``sin``... as Python's
``math`` does; it fuses no multiply-adds without ``fastmath``), so results are identical
to the compiled kernel's, bit for bit; the tests check it on every optimizer and surface
kind.

What differs is speed (tens of microseconds a step instead of tens of nanoseconds) and
Python's float exceptions: where numba gives inf or nan (``1/0``, ``exp(1000)``,
``log(-1)``), Python raises. ``loops`` therefore runs only small jobs here and, on any
such exception, falls back to the compiled kernel.
"""

from __future__ import annotations

import importlib
import importlib.resources
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

_PKG = "simulator_kernels_interpreted"
_lock = threading.Lock()
_loops = None


def load():
    """The interpreted ``loops`` module (made once per process)."""
    global _loops
    if _loops is not None:
        return _loops
    with _lock:
        if _loops is None:
            # the kernel sources' folder (a plain folder in a checkout, a wheel or the
            # standalone build, which ships them as .py files)
            here = Path(str(importlib.resources.files(__package__)))
            pkg = ModuleType(_PKG)
            pkg.__path__ = [str(here)]
            pkg.__package__ = _PKG
            sys.modules[_PKG] = pkg
            # the package's _jit is the numba-free stand-in
            spec = importlib.util.spec_from_file_location(f"{_PKG}._jit", here / "_nojit.py")
            nojit = importlib.util.module_from_spec(spec)
            sys.modules[f"{_PKG}._jit"] = nojit
            spec.loader.exec_module(nojit)
            _loops = importlib.import_module(f"{_PKG}.loops")
    return _loops


def contour():
    """The interpreted ``contour`` module."""
    load()
    return importlib.import_module(f"{_PKG}.contour")


def optim():
    """The interpreted ``optim`` module (the optimizers' update rules in plain Python)."""
    load()
    return importlib.import_module(f"{_PKG}.optim")
