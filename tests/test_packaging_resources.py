"""Runtime data is found through ``importlib.resources``, never through file paths.

``resources/`` is installed as the package ``simulator.resources``; that works from an
editable checkout, a wheel and a frozen bundle alike, while ``__file__`` joins and
``sys.argv[0]`` break in at least one of them. No exceptions are allowed.
"""

from __future__ import annotations

import ast
import importlib.util
from importlib.resources import files
from pathlib import Path

import pytest

SHIPPED_SUFFIXES = {".json", ".md", ".svg", ".png"}


def _repo_resources_dir(request) -> Path:
    return request.config.rootpath / "resources"


@pytest.mark.parametrize("folder", ["labs", "icons"])
def test_resource_folders_are_found(folder):
    root = files("simulator.resources")
    assert root.is_dir(), f"simulator.resources is not a folder: {root}"
    sub = root / folder
    assert sub.is_dir(), f"simulator.resources/{folder} not found from the installed package"


@pytest.mark.parametrize("folder", ["labs", "icons"])
def test_shipped_files_are_reachable(request, folder):
    """Every data file in the checkout's resources/<folder> is readable as a resource."""
    on_disk = _repo_resources_dir(request) / folder
    if not on_disk.is_dir():
        pytest.fail(f"{on_disk} is missing from the checkout")
    for path in sorted(on_disk.iterdir()):
        if path.suffix not in SHIPPED_SUFFIXES:
            continue
        res = files("simulator.resources") / folder / path.name
        assert res.is_file(), f"{folder}/{path.name} is not reachable via importlib.resources"
        assert res.read_bytes() == path.read_bytes()


def _simulator_sources() -> list[Path]:
    spec = importlib.util.find_spec("simulator")
    assert spec is not None and spec.submodule_search_locations
    sources = []
    for loc in spec.submodule_search_locations:
        sources += [p for p in Path(loc).rglob("*.py") if "__pycache__" not in p.parts]
    # simulator.resources lives in its own folder (resources/); check it too.
    res = importlib.util.find_spec("simulator.resources")
    if res is not None and res.submodule_search_locations:
        for loc in res.submodule_search_locations:
            sources += [p for p in Path(loc).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(set(sources))


def _path_hacks(tree: ast.AST) -> list[tuple[int, str]]:
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == "__file__":
            hits.append((node.lineno, "__file__"))
        elif isinstance(node, ast.Attribute) and node.attr == "__file__":
            hits.append((node.lineno, "<module>.__file__"))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "argv"
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "sys"
            and isinstance(node.slice, ast.Constant)
            and node.slice.value == 0
        ):
            hits.append((node.lineno, "sys.argv[0]"))
    return hits


def test_no_file_or_argv0_paths_in_simulator():
    sources = _simulator_sources()
    assert sources, "no sources found for the simulator package"
    offenders = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for lineno, what in _path_hacks(ast.parse(text, filename=str(path))):
            offenders.append(f"{path}:{lineno}: {what}")
    assert not offenders, (
        "locate data with importlib.resources.files('simulator.resources'), not "
        "__file__ or sys.argv[0]:\n" + "\n".join(offenders)
    )
