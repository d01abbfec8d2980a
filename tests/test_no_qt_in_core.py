"""``simulator.core`` is pure numpy + numba: it must never import Qt or the GUI.

Two checks: importing every core module in a fresh interpreter leaves no Qt (or
``simulator.gui``) module in ``sys.modules``, and no source file under
``simulator/core`` names one in an import statement (static, so a lazy import inside a
function is caught too).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

FORBIDDEN_TOP = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph")
FORBIDDEN_PKG = "simulator.gui"


def _forbidden(name: str) -> bool:
    top = name.split(".", 1)[0]
    return top in FORBIDDEN_TOP or name == FORBIDDEN_PKG or name.startswith(FORBIDDEN_PKG + ".")


def _core_dirs() -> list[Path]:
    spec = importlib.util.find_spec("simulator.core")
    assert spec is not None and spec.submodule_search_locations, "simulator.core not found"
    return [Path(p) for p in spec.submodule_search_locations]


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = ["simulator", "core", *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


_PROBE = r"""
import importlib, json, pkgutil, sys
FORBIDDEN_TOP, FORBIDDEN_PKG = json.loads(sys.argv[1])
def forbidden(name):
    top = name.split(".", 1)[0]
    return top in FORBIDDEN_TOP or name == FORBIDDEN_PKG or name.startswith(FORBIDDEN_PKG + ".")
culprits = {}
def load(name):
    before = set(sys.modules)
    module = importlib.import_module(name)
    new = sorted(m for m in set(sys.modules) - before if forbidden(m))
    if new:
        culprits[name] = new[:5] + (["..."] if len(new) > 5 else [])
    return module
core = load("simulator.core")
imported = [core.__name__]
def onerror(name):
    raise ImportError(f"could not import {name}")
for info in pkgutil.walk_packages(core.__path__, core.__name__ + ".", onerror=onerror):
    load(info.name)
    imported.append(info.name)
leaked = sorted(m for m in sys.modules if forbidden(m))
print(json.dumps({"imported": imported, "leaked": leaked, "culprits": culprits}))
"""


def test_importing_core_loads_no_qt():
    env = dict(os.environ)
    # Nothing here needs a display; make sure a stray Qt import could not even try one.
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([FORBIDDEN_TOP, FORBIDDEN_PKG])],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,  # first import may compile eagerly-typed numba kernels
    )
    assert proc.returncode == 0, f"importing simulator.core failed:\n{proc.stderr}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])

    expected = set()
    for root in _core_dirs():
        for path in root.rglob("*.py"):
            if "__pycache__" not in path.parts:
                expected.add(_module_name(path, root))
    missing = expected - set(report["imported"])
    assert not missing, f"pkgutil did not import these core modules: {sorted(missing)}"

    leaked = report["leaked"]
    assert not leaked, (
        f"importing simulator.core pulled in {len(leaked)} Qt/GUI modules; first imported "
        f"by (core module -> new Qt/GUI modules): {report['culprits']}"
    )


def _imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Absolute module names imported anywhere in ``tree`` (relative imports resolved)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_core_sources_import_no_qt():
    offenders = []
    checked = 0
    for root in _core_dirs():
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            checked += 1
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            module = _module_name(path, root)
            for lineno, name in _imported_names(tree, module, path.name == "__init__.py"):
                if _forbidden(name):
                    offenders.append(f"{path}:{lineno}: imports {name}")
    assert checked, "no source files found under simulator/core"
    assert not offenders, "simulator.core must not import Qt or simulator.gui:\n" + "\n".join(
        offenders
    )
