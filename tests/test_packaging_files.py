"""The packaging files are consistent, without building anything (fast).

The frozen bundle itself is tested by ``make package-test`` (packaging/smoke_test.sh),
which is too slow for ``make test``. Here: the .desktop launcher, the AppStream metainfo,
the icons, the PyInstaller spec's references, the Makefile targets, the desktop install
script, and the runtime hook that points numba's cache at the user's cache folder.
"""

from __future__ import annotations

import ast
import configparser
import importlib.resources
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "packaging"
SPEC = PKG / "losslab.spec"
HOOK = PKG / "runtime_hook_numba.py"
DESKTOP = PKG / "losslab.desktop"
METAINFO = PKG / "io.github.losslab.LossLab.metainfo.xml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _source_version() -> str:
    """``__version__`` as written in simulator/__init__.py, read without importing it."""
    tree = ast.parse((ROOT / "simulator" / "__init__.py").read_text(encoding="utf-8"))
    found = [node.value.value for node in tree.body if isinstance(node, ast.Assign)
             and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
             and isinstance(node.value, ast.Constant)]
    assert len(found) == 1, "simulator/__init__.py assigns __version__ one literal string"
    return found[0]


def _desktop() -> configparser.SectionProxy:
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str  # keys are case-sensitive
    cp.read_string(DESKTOP.read_text(encoding="utf-8"))
    assert cp.sections() == ["Desktop Entry"]
    return cp["Desktop Entry"]


# ---- .desktop ------------------------------------------------------------------------------
KNOWN_KEYS = {
    "Type", "Version", "Name", "GenericName", "NoDisplay", "Comment", "Icon", "Hidden",
    "OnlyShowIn", "NotShowIn", "DBusActivatable", "TryExec", "Exec", "Path", "Terminal",
    "Actions", "MimeType", "Categories", "Implements", "Keywords", "StartupNotify",
    "StartupWMClass", "URL", "PrefersNonDefaultGPU", "SingleMainWindow",
}
MAIN_CATEGORIES = {"AudioVideo", "Audio", "Video", "Development", "Education", "Game",
                   "Graphics", "Network", "Office", "Science", "Settings", "System",
                   "Utility"}


def test_desktop_entry_keys():
    entry = _desktop()
    unknown = [k for k in entry if k not in KNOWN_KEYS and not k.startswith("X-")
               and "[" not in k]
    assert not unknown, f"keys the Desktop Entry spec does not define: {unknown}"
    assert entry["Type"] == "Application"
    assert entry["Name"] == "LossLab"
    assert entry["Terminal"] == "false"
    assert entry.get("Comment")
    for key in ("Categories", "Keywords"):
        assert entry[key].endswith(";"), f"{key} is a list and must end with ';'"
    assert MAIN_CATEGORIES & set(entry["Categories"].split(";")), "no main category"


def test_desktop_file_passes_desktop_file_validate():
    # `make test` installs it (scripts/ensure_system_deps.sh test): in CI a missing
    # validator is a failure, elsewhere a skip
    if shutil.which("desktop-file-validate") is None:
        if os.environ.get("CI"):
            pytest.fail("desktop-file-validate is missing: `make test` installs "
                        "desktop-file-utils (scripts/ensure_system_deps.sh test)")
        pytest.skip("desktop-file-validate not installed (apt-get install desktop-file-utils)")
    r = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_desktop_exec_runs_the_losslab_command():
    entry = _desktop()
    argv = entry["Exec"].split()
    assert argv[0] == "losslab" == entry["TryExec"]
    assert all(a.startswith("%") for a in argv[1:]), "only field codes after the program"
    scripts = _pyproject()["project"]["scripts"]
    assert scripts.get("losslab") == "simulator.cli:main"


def test_desktop_icon_exists_in_every_size():
    icon = _desktop()["Icon"]
    assert "/" not in icon and not icon.endswith((".png", ".svg")), "a theme icon name"
    hicolor = PKG / "icons" / "hicolor"
    for n in ICON_SIZES:
        assert (hicolor / f"{n}x{n}" / "apps" / f"{icon}.png").is_file(), f"{n}x{n} missing"
    assert (hicolor / "scalable" / "apps" / f"{icon}.svg").is_file()


def test_icon_pngs_have_their_sizes_and_svg_is_the_app_icon():
    from importlib.resources import files

    from PIL import Image

    for n in ICON_SIZES:
        with Image.open(PKG / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "losslab.png") as im:
            assert im.size == (n, n)
            assert im.mode == "RGBA"
            assert im.getpixel((0, 0))[3] == 0, "the corners are transparent"
            assert im.getpixel((n // 2, n // 2))[3] == 255
    svg = (PKG / "icons" / "hicolor" / "scalable" / "apps" / "losslab.svg").read_bytes()
    assert svg == files("simulator.resources.icons").joinpath("losslab.svg").read_bytes(), \
        "packaging/icons is stale: run python packaging/make_icons.py"
    assert (PKG / "icons" / "losslab.ico").stat().st_size > 0
    assert (PKG / "icons" / "losslab.icns").stat().st_size > 0


def test_desktop_file_name_matches_the_app():
    """Qt reports the app as `losslab` (setDesktopFileName); the launcher has that name."""
    src = (ROOT / "simulator" / "gui" / "app.py").read_text(encoding="utf-8")
    assert 'setDesktopFileName("losslab")' in src
    assert DESKTOP.name == "losslab.desktop"


# ---- license and version ------------------------------------------------------------------------
def test_license_is_an_spdx_expression_and_the_file_ships():
    project = _pyproject()["project"]
    assert project["license"] == "MIT", "an SPDX expression (PEP 639), not a table"
    assert project["license-files"] == ["LICENSE"]
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")], \
        "setuptools >= 77 rejects License classifiers next to an SPDX expression"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Copyright (c) 2026 LossLab developers" in text
    build = _pyproject()["build-system"]["requires"]
    assert any(r.replace(" ", "").startswith("setuptools>=") and
               int(r.split(">=")[1].split(".")[0].split(",")[0]) >= 77 for r in build)


def test_the_version_is_written_once():
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "simulator.__version__"}
    version = _source_version()
    import simulator

    assert simulator.__version__ == version
    for path in (SPEC, ROOT / "simulator" / "cli.py",
                 ROOT / "simulator" / "gui" / "main_window.py"):
        assert f'"{version}"' not in path.read_text(encoding="utf-8"), \
            f"{path.name} repeats the version instead of reading simulator.__version__"


_NO_METADATA = """
import importlib.metadata as m
def missing(name):
    raise m.PackageNotFoundError(name)
m.version = missing  # as in a source checkout or a bundle without the dist-info
from simulator.cli import main
main(["--version"])
"""


def test_cli_version_needs_no_installed_metadata():
    r = subprocess.run([sys.executable, "-c", _NO_METADATA], capture_output=True,
                       text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"losslab {_source_version()}"


# ---- AppStream metainfo -------------------------------------------------------------------------
def test_metainfo_is_well_formed_with_required_tags():
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    text = {tag: (root.findtext(tag) or "").strip() for tag in
            ("id", "metadata_license", "project_license", "name", "summary")}
    assert text["id"] == "io.github.losslab.LossLab" == METAINFO.name.removesuffix(
        ".metainfo.xml")
    assert text["metadata_license"] in {"CC0-1.0", "MIT", "FSFAP", "CC-BY-3.0", "CC-BY-4.0"}
    assert text["project_license"] == _pyproject()["project"]["license"]
    assert text["name"] == _desktop()["Name"]
    assert text["summary"] and not text["summary"].endswith(".")
    assert root.findall("description/p"), "a description with at least one paragraph"
    launch = root.find("launchable")
    assert launch is not None and launch.get("type") == "desktop-id"
    assert launch.text == DESKTOP.name
    icon = root.find("icon")
    assert icon is not None and icon.text == _desktop()["Icon"]
    assert root.find("content_rating") is not None
    assert root.findtext("provides/binary") == "losslab"
    releases = root.findall("releases/release")
    assert releases and releases[0].get("version") == _source_version()


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstreamcli not installed")
def test_metainfo_passes_appstreamcli():
    r = subprocess.run(["appstreamcli", "validate", "--no-net", str(METAINFO)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- PyInstaller spec ---------------------------------------------------------------------------
def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _spec_literal(name: str):
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned a literal in {SPEC.name}")


def _module_exists(name: str) -> bool:
    """True when module ``name`` can be found, importing at most its grandparents."""
    parent, _, leaf = name.rpartition(".")
    if not parent:
        return importlib.util.find_spec(name) is not None
    spec = importlib.util.find_spec(parent)
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(loc) / f"{leaf}.py").is_file() or (Path(loc) / leaf).is_dir()
               or any(Path(loc).glob(f"{leaf}.*.so")) or any(Path(loc).glob(f"{leaf}.*.pyd"))
               for loc in spec.submodule_search_locations)


def test_spec_file_references_exist():
    files_named = set()
    for node in ast.walk(_spec_tree()):
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)
                and isinstance(node.left, ast.Name) and node.left.id == "HERE"
                and isinstance(node.right, ast.Constant) and isinstance(node.right.value, str)):
            files_named.add(node.right.value)
    assert {"losslab_main.py", "runtime_hook_numba.py"} <= files_named
    for name in files_named:
        assert (PKG / name).exists(), f"the spec names packaging/{name}, which is missing"
    main = (PKG / "losslab_main.py").read_text(encoding="utf-8")
    assert "from simulator.cli import main" in main


def test_spec_hidden_imports_exist():
    missing = [m for m in _spec_literal("hiddenimports") if not _module_exists(m)]
    assert not missing, f"hidden imports that cannot be found: {missing}"


def test_spec_resources_and_kernels():
    assert set(_spec_literal("RESOURCE_SUFFIXES")) == {
        s.removeprefix("*") for pats in _pyproject()["tool"]["setuptools"]["package-data"]
        .values() for s in pats
    }, "the spec ships the same file types as package-data"
    spec = importlib.util.find_spec("simulator.core.kernels")
    assert spec is not None and spec.submodule_search_locations, "kernels is a package"
    assert '"simulator.core.kernels": "py"' in SPEC.read_text(encoding="utf-8")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux plugin names")
def test_spec_keeps_qt_plugins_that_exist():
    import PySide6

    keep = _spec_literal("KEEP_PLUGINS")
    plugins = Path(PySide6.__file__).parent / "Qt" / "plugins"
    for folder, names in [("platforms", ("libqxcb.so", "libqoffscreen.so")),
                          ("imageformats", ("libqsvg.so",))]:
        for name in names:
            assert name in keep[folder]
            assert (plugins / folder / name).is_file(), f"{folder}/{name} not in PySide6"
    assert keep["xcbglintegrations"] is None
    assert (plugins / "xcbglintegrations").is_dir()
    unused = set(_spec_literal("UNUSED_QT"))
    assert not unused & {"QtCore", "QtGui", "QtWidgets", "QtSvg", "QtOpenGL",
                         "QtOpenGLWidgets"}


def test_spec_excludes_no_qt_module_the_app_imports():
    used = set()
    for path in (ROOT / "simulator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.startswith("PySide6."):
                used.add(node.module.split(".")[1])
            elif isinstance(node, ast.ImportFrom) and node.module == "PySide6":
                used.update(a.name for a in node.names)
    assert used, "no PySide6 imports found"
    clash = used & set(_spec_literal("UNUSED_QT"))
    assert not clash, f"the spec excludes Qt modules LossLab imports: {clash}"


def _constraints() -> dict[str, str]:
    """``packaging/constraints.txt`` as {normalized name: pinned version}."""
    from packaging.utils import canonicalize_name

    pins = {}
    for raw in (PKG / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        assert sep and version.strip(), f"constraints.txt: not an exact pin: {raw!r}"
        key = canonicalize_name(name.strip())
        assert key not in pins, f"constraints.txt pins {name} twice"
        pins[key] = version.strip()
    return pins


def test_constraints_pin_every_runtime_dependency_inside_its_range():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    pins = _constraints()
    deps = [Requirement(d) for d in _pyproject()["project"]["dependencies"]]
    assert deps
    missing = [d.name for d in deps if canonicalize_name(d.name) not in pins]
    assert not missing, f"runtime dependencies without a pin in constraints.txt: {missing}"
    outside = [f"{d} (pinned {pins[canonicalize_name(d.name)]})" for d in deps
               if not d.specifier.contains(Version(pins[canonicalize_name(d.name)]),
                                           prereleases=True)]
    assert not outside, f"pins outside pyproject's ranges: {outside}"


def test_constraints_are_used_by_the_package_build():
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -c packaging/constraints.txt -e '.[package]'" in make
    assert "pip install -c packaging/constraints.txt -e .[package]" in (
        PKG / "README.md").read_text(encoding="utf-8")


def test_makefile_has_the_packaging_targets():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\npackage:" in text and "\npackage-test:" in text
    assert "packaging/losslab.spec" in text and "packaging/smoke_test.sh" in text
    assert "package" in _pyproject()["project"]["optional-dependencies"]


# ---- runtime hook: NUMBA_CACHE_DIR --------------------------------------------------------------
_PROBE = """
import json, os, runpy, sys
frozen = sys.argv[1] == "1"
if frozen:
    sys.frozen = True
runpy.run_path(sys.argv[2], run_name="pyi_rth_losslab")
before = sorted(m for m in ("numba", "PySide6", "llvmlite") if m in sys.modules)
out = {"dir": os.environ.get("NUMBA_CACHE_DIR"), "loaded_before": before,
       "lc_ctype": os.environ.get("LC_CTYPE"), "cpu_name": os.environ.get("NUMBA_CPU_NAME"),
       "cpu_features": os.environ.get("NUMBA_CPU_FEATURES"),
       "locators": os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES")}
if frozen and len(sys.argv) > 3:
    import numba.core.config
    out["numba"] = numba.core.config.CACHE_DIR
    out["numba_cpu"] = [numba.core.config.CPU_NAME, numba.core.config.CPU_FEATURES]
print(json.dumps(out))
"""


def _run_hook(env: dict, frozen: bool = True, check_numba: bool = False,
              hook: Path = HOOK) -> dict:
    drop = ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "LC_ALL", "LC_CTYPE", "LANG",
            "NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES", "NUMBA_CACHE_LOCATOR_CLASSES",
            "LOSSLAB_COMPILE_LOG")
    base = {k: v for k, v in os.environ.items() if k not in drop}
    base["PYTHONCOERCECLOCALE"] = "0"  # the interpreter's own PEP 538 coercion would hide
    args = [sys.executable, "-c", _PROBE, "1" if frozen else "0", str(hook)]
    if check_numba:
        args.append("numba")
    r = subprocess.run(args, env={**base, **env}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_runtime_hook_sets_numba_cache_dir_when_frozen(tmp_path):
    out = _run_hook({"HOME": str(tmp_path)}, check_numba=True)
    expected = tmp_path / ".cache" / "LossLab" / "LossLab" / "numba"
    assert out["dir"] == str(expected)
    assert expected.is_dir()
    assert out["loaded_before"] == [], "the hook must not import numba or Qt"
    assert out["numba"] == str(expected), "numba reads the folder at import"


def test_runtime_hook_asks_for_the_shipped_kernels_cpu_target_when_frozen(tmp_path):
    hook = _hook_module()
    out = _run_hook({"HOME": str(tmp_path)}, check_numba=True)
    portable = hook.portable_cpu_env()
    assert portable["NUMBA_CPU_NAME"] == "generic"
    assert [out["cpu_name"], out["cpu_features"]] == [portable["NUMBA_CPU_NAME"],
                                                      portable["NUMBA_CPU_FEATURES"]]
    assert out["numba_cpu"] == [out["cpu_name"], out["cpu_features"]], "numba reads them"
    assert out["locators"].split(",")[0] == "losslab_kernel_cache.BundleCacheLocator"
    assert hook.portable_cpu_env("x86_64")["NUMBA_CPU_FEATURES"] == hook.X86_64_BASELINE
    assert "avx" not in hook.X86_64_BASELINE
    # a user's own CPU choice wins (host-tuned kernels, compiled on first use)
    out = _run_hook({"HOME": str(tmp_path), "NUMBA_CPU_NAME": "host"})
    assert out["cpu_name"] == "host" and out["cpu_features"] is None
    # unfrozen (a checkout, a pip install), numba keeps compiling for the host
    out = _run_hook({"HOME": str(tmp_path)}, frozen=False)
    assert out["cpu_name"] is None and out["locators"] is None


def _kernel_cache_module():
    spec = importlib.util.spec_from_file_location("losslab_kernel_cache",
                                                  PKG / "losslab_kernel_cache.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bundle_cache_locator_is_independent_of_the_install_folder(tmp_path, monkeypatch):
    """Frozen, the kernels' cache folder and stamp come from the kernel sources' content,
    not from where the bundle lies or when its files were written."""
    import inspect

    from numba.core import config

    from simulator.core.kernels import contour

    kc = _kernel_cache_module()
    func = contour.marching_squares.py_func
    src = inspect.getfile(func)
    monkeypatch.delenv(kc.BUILD_ENV, raising=False)
    assert kc.BundleCacheLocator.from_function(func, src) is None, "inert unfrozen"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "user"))
    loc = kc.BundleCacheLocator.from_function(func, src)
    digest = kc.kernels_digest()
    assert digest is not None and loc.get_source_stamp() == digest
    assert Path(loc.get_cache_path()) == tmp_path / "user" / kc.cache_folder_name(digest)
    assert loc.get_disambiguator() == str(func.__code__.co_firstlineno)
    # the same digest as simulator.core.kernels' own stale-cache check
    import simulator.core.kernels as kernels

    assert kernels.source_digest(importlib.resources.files(kernels.__name__)) == digest
    # functions defined elsewhere keep numba's own locators
    assert kc.BundleCacheLocator.from_function(_kernel_cache_module, __file__) is None


def test_the_bundles_kernel_digest_follows_the_one_list_of_kernel_sources(tmp_path,
                                                                         monkeypatch):
    """The bundle's cache is keyed on the hash of the kernel sources that
    ``simulator.core.kernels`` lists (``SOURCE_MODULES``: ``_jit`` and every module
    compiled through it): each of them changes the digest, another file does not, and a
    module added to that list counts at once (a hand-kept copy of the list went stale)."""
    import re

    import simulator.core.kernels as kernels

    kc = _kernel_cache_module()
    src = Path(kernels.__file__).parent
    compiled = {"_jit"} | {p.stem for p in src.glob("*.py")
                           if re.search(r"^from \._jit import", p.read_text(), re.M)}
    assert compiled == set(kernels.SOURCE_MODULES)
    folder = tmp_path / "kernels"
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns("__pycache__"))
    base = kc.kernels_digest(folder)
    assert base is not None and base == kc.kernels_digest()
    for name in kernels.SOURCE_MODULES:
        f = folder / f"{name}.py"
        text = f.read_bytes()
        f.write_bytes(text + b"\n# edited\n")
        assert kc.kernels_digest(folder) != base, name
        f.write_bytes(text)
    (folder / "interp.py").write_text("# not compiled: not in the digest\n")
    assert kc.kernels_digest(folder) == base
    # a new kernel module, listed in simulator.core.kernels only
    (folder / "newkernel.py").write_text("from ._jit import njit\n")
    monkeypatch.setattr(kernels, "SOURCE_MODULES", (*kernels.SOURCE_MODULES, "newkernel"))
    grown = kc.kernels_digest(folder)
    assert grown != base
    (folder / "newkernel.py").write_text("from ._jit import njit  # edited\n")
    assert kc.kernels_digest(folder) != grown


def test_bundle_cache_seeding_copies_matching_shipped_files_once(tmp_path, monkeypatch):
    kc = _kernel_cache_module()
    shipped = tmp_path / "bundle" / kc.SHIPPED
    shipped.mkdir(parents=True)
    (shipped / "loops.k-1.py311.nbi").write_bytes(b"index")
    (shipped / "loops.k-1.py311.1.nbc").write_bytes(b"code")
    (shipped / "notes.txt").write_text("not a cache file")
    (shipped / kc.MANIFEST).write_text(json.dumps({"folder": "losslab-abc-numba1"}))
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    (shipped / "losslab-kernels.stamp").write_text("abc")
    other = tmp_path / "user" / "losslab-other-numba1"
    other.mkdir(parents=True)
    kc._seed(other)
    assert list(other.iterdir()) == [], "a cache built from other sources is not copied"
    old_version = tmp_path / "user" / "losslab-old-numba1"
    old_version.mkdir()
    (old_version / kc.MANIFEST).write_text("{}")
    target = tmp_path / "user" / "losslab-abc-numba1"
    target.mkdir()
    (target / "loops.k-1.py311.nbi").write_bytes(b"grown by the user")
    kc._seed(target)
    assert (target / "loops.k-1.py311.1.nbc").read_bytes() == b"code"
    assert (target / "loops.k-1.py311.nbi").read_bytes() == b"grown by the user"
    assert (target / kc.MANIFEST).exists() and (target / "losslab-kernels.stamp").exists()
    assert not (target / "notes.txt").exists()
    assert not old_version.exists(), "an older build's kernels are removed on the first start"
    assert other.exists(), "only folders seeded from a bundle (with a manifest) are removed"


def test_runtime_hook_follows_xdg_cache_home(tmp_path):
    xdg = tmp_path / "xdg"
    out = _run_hook({"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(xdg)})
    assert out["dir"] == str(xdg / "LossLab" / "LossLab" / "numba")
    # a relative XDG_CACHE_HOME is ignored (XDG Base Directory spec; Qt does the same)
    out = _run_hook({"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": "rel/cache"})
    assert out["dir"] == str(tmp_path / "home" / ".cache" / "LossLab" / "LossLab" / "numba")


def test_runtime_hook_keeps_a_user_setting_and_is_inert_unfrozen(tmp_path):
    out = _run_hook({"HOME": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "mine")})
    assert out["dir"] == str(tmp_path / "mine")
    out = _run_hook({"HOME": str(tmp_path)}, frozen=False)
    assert out["dir"] is None
    assert not (tmp_path / ".cache").exists()


def test_runtime_hook_falls_back_when_the_cache_folder_is_not_writable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = _run_hook({"HOME": str(tmp_path), "XDG_CACHE_HOME": str(blocker),
                     "TMPDIR": str(tmp_path)})
    assert out["dir"] is not None and out["dir"].startswith(str(tmp_path))
    assert "losslab-" in out["dir"] and Path(out["dir"]).is_dir()


def _hook_module():
    spec = importlib.util.spec_from_file_location("losslab_rth_numba", HOOK)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # not frozen here: install() does nothing
    return mod


def test_runtime_hook_paths_on_windows_and_macos():
    hook = _hook_module()
    win = hook.qt_cache_location({"LOCALAPPDATA": r"C:\Users\ann\AppData\Local"}, "win32")
    assert win == os.path.join(r"C:\Users\ann\AppData\Local", "LossLab", "LossLab", "cache")
    mac = hook.qt_cache_location({"HOME": "/Users/ann"}, "darwin")
    assert mac == "/Users/ann/Library/Caches/LossLab/LossLab"


def test_runtime_hook_matches_qstandardpaths(tmp_path):
    """The hook's folder is the one Qt names for the app (Linux: the rules it implements)."""
    probe = (
        "from PySide6.QtCore import QCoreApplication, QStandardPaths\n"
        "from simulator.gui import settings as st\n"
        "QCoreApplication.setOrganizationName(st.ORGANIZATION)\n"
        "QCoreApplication.setApplicationName(st.APPLICATION)\n"
        "print(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))"
    )
    hook = _hook_module()
    for env in ({"HOME": str(tmp_path)},
                {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "xdg")}):
        base = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "HOME")}
        r = subprocess.run([sys.executable, "-c", probe], env={**base, **env,
                           "QT_QPA_PLATFORM": "offscreen"}, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == hook.qt_cache_location(env)
        assert hook.numba_cache_dir(env) == os.path.join(r.stdout.strip(), "numba")
    src = (ROOT / "simulator" / "gui" / "settings.py").read_text(encoding="utf-8")
    assert f'ORGANIZATION = "{hook.ORGANIZATION}"' in src
    assert f'APPLICATION = "{hook.APPLICATION}"' in src


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")
def test_locale_hook_sets_a_utf8_ctype_only_in_an_empty_locale(tmp_path):
    hook = PKG / "runtime_hook_locale.py"
    assert _run_hook({"HOME": str(tmp_path)}, hook=hook)["lc_ctype"] == "C.UTF-8"
    assert _run_hook({"HOME": str(tmp_path), "LANG": "de_DE.UTF-8"}, hook=hook)["lc_ctype"] \
        is None
    assert _run_hook({"HOME": str(tmp_path)}, frozen=False, hook=hook)["lc_ctype"] is None
    assert "runtime_hook_locale.py" in SPEC.read_text(encoding="utf-8")


# ---- scripts ------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["smoke_test.sh", "install-desktop.sh"])
def test_shell_scripts_parse_and_are_executable(script):
    path = PKG / script
    assert os.access(path, os.X_OK), f"chmod +x packaging/{script}"
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_install_desktop_into_a_user_prefix(tmp_path):
    bundle = tmp_path / "opt" / "Loss Lab"
    bundle.mkdir(parents=True)
    exe = bundle / "losslab"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    data = tmp_path / "share"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(data)}
    r = subprocess.run(["bash", str(PKG / "install-desktop.sh"), "--bundle", str(bundle)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    installed = data / "applications" / "losslab.desktop"
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(installed)
    assert cp["Desktop Entry"]["Exec"] == f'"{exe}"'
    assert cp["Desktop Entry"]["TryExec"] == str(exe)
    assert (data / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    for n in ICON_SIZES:
        assert (data / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "losslab.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "losslab.svg").is_file()
    r = subprocess.run(["bash", str(PKG / "install-desktop.sh"), "--uninstall"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not installed.exists()
    assert not list((data / "icons").rglob("losslab.*"))
