"""The standalone bundle's precompiled numba kernels (see packaging/README.md).

``make package`` compiles the kernels a session needs (``simulator.core.prepare``'s
warm-up and full plans) for a portable CPU target and ships numba's cache files inside the
bundle; the frozen app loads them, so its first start compiles nothing. numba alone would
not find them on another machine, for three reasons, each handled here:

* *where*: numba keys its cache folder on the absolute path of the kernel's source file
  (``<NUMBA_CACHE_DIR>/kernels_<sha1 of the folder>``), which differs wherever the bundle
  is unpacked. ``BundleCacheLocator`` (registered through ``NUMBA_CACHE_LOCATOR_CLASSES``
  by the runtime hook) puts the kernels of ``simulator.core.kernels`` in
  ``<NUMBA_CACHE_DIR>/losslab-<digest>-numba<version>`` instead: the same name on every
  machine.
* *freshness*: numba stamps an index with a hash of the source file (frozen: of the
  executable). The locator's stamp is ``<digest>``, the hash of every kernel source file
  (the one ``simulator.core.kernels`` compares to drop stale caches), so an index is valid
  exactly when the kernels' code is the same, wherever and whenever it was built.
* *the CPU*: each index entry is keyed on ``codegen.magic_tuple()`` = (target triple, CPU
  name, CPU features). The build and the frozen app both run with ``NUMBA_CPU_NAME`` and
  ``NUMBA_CPU_FEATURES`` set to the portable baseline of ``runtime_hook_numba.py``.

On the user's machine the shipped files (``<bundle>/_internal/losslab_kernel_cache``,
read-only is fine) are copied once into that user cache folder, which numba then reads and
extends (a specialisation that was not shipped compiles in the background, as in a
checkout, and is saved next to the shipped ones).

Also here: ``LOSSLAB_COMPILE_LOG=<file>`` makes the frozen app write, twice a second and
at exit, every kernel it has made with how many signatures it loaded from the disk cache
and how many it compiled (numba's dispatcher statistics), and
``simulator.core.kernels.loops.compile_log``, as JSON; the smoke test uses it to show that
a first start compiled nothing.

Build: ``python packaging/losslab_kernel_cache.py build OUT_DIR [--warmup-only]``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

SHIPPED = "losslab_kernel_cache"  # folder name inside the bundle
MANIFEST = "manifest.json"
BUILD_ENV = "LOSSLAB_KERNEL_CACHE_BUILD"  # build mode: the folder to compile into
LOG_ENV = "LOSSLAB_COMPILE_LOG"


# ---- what identifies a cache ------------------------------------------------------------
def kernels_dir() -> Path | None:
    spec = importlib.util.find_spec("simulator.core.kernels")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def kernels_digest(folder: Path | None = None) -> str | None:
    """The hash of the kernel sources in ``folder`` (default: the installed kernels):
    ``simulator.core.kernels.source_digest`` over its one list, ``SOURCE_MODULES``, the
    hash that package compares to drop stale caches. Imported here, not at the top:
    the runtime hook imports this module before numba and LossLab load."""
    folder = kernels_dir() if folder is None else folder
    if folder is None:
        return None
    from simulator.core.kernels import source_digest

    return source_digest(Path(folder))


def cache_folder_name(digest: str) -> str:
    import numba

    return f"losslab-{digest}-numba{numba.__version__}"


def shipped_dir() -> Path | None:
    base = getattr(sys, "_MEIPASS", None)
    return Path(base) / SHIPPED if base else None


# ---- the locator -------------------------------------------------------------------------
_seed_lock = threading.Lock()
_seeded: set = set()


def _seed(target: Path) -> None:
    """Copy the bundle's shipped cache files into ``target`` (once; missing files only)."""
    src = shipped_dir()
    if src is None or not src.is_dir():
        return
    with _seed_lock:
        if target in _seeded:
            return
        _seeded.add(target)
        try:
            manifest = json.loads((src / MANIFEST).read_text())
        except (OSError, ValueError):
            return
        if manifest.get("folder") != target.name:
            return  # built from other kernel sources or another numba: useless here
        if not (target / MANIFEST).exists():
            _prune(target)  # the first start of a new version: drop the old versions' kernels
        for f in sorted(src.iterdir()):
            dest = target / f.name
            if f.suffix not in (".nbi", ".nbc", ".json", ".stamp") or dest.exists():
                continue
            tmp = target / f".{f.name}.{os.getpid()}.tmp"
            try:
                shutil.copyfile(f, tmp)
                os.replace(tmp, dest)
            except OSError:
                tmp.unlink(missing_ok=True)


def _prune(target: Path) -> None:
    """Remove the kernel folders of other LossLab builds (``losslab-<digest>-numba<v>``
    next to ``target``): each holds tens of MB that this version cannot use. Another
    version started later copies its own shipped kernels back in a few milliseconds."""
    for d in target.parent.glob("losslab-*-numba*"):
        if d != target and d.is_dir() and (d / MANIFEST).exists():
            shutil.rmtree(d, ignore_errors=True)


def _user_root() -> str | None:
    from numba.core import config

    if os.environ.get(BUILD_ENV):
        return os.environ[BUILD_ENV]
    if not getattr(sys, "frozen", False):
        return None
    return config.CACHE_DIR or None


try:
    from numba.core.caching import _CacheLocator
except ImportError:  # the runtime hook and tests import this module without numba
    _CacheLocator = object


class BundleCacheLocator(_CacheLocator):
    """numba cache locator for ``simulator.core.kernels``: a folder named after the kernel
    sources' digest, stamped with that digest (see the module docstring). In the frozen
    app (or with ``LOSSLAB_KERNEL_CACHE_BUILD`` set) only; other files get numba's own."""

    def __init__(self, py_func, py_file, path: Path, digest: str):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(path)
        self._digest = digest

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return self._digest

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        root = _user_root()
        folder = kernels_dir()
        if root is None or folder is None:
            return None
        try:
            if Path(py_file).resolve().parent != folder:
                return None
        except OSError:
            return None
        digest = kernels_digest(folder)
        if digest is None:
            return None
        path = Path(root) if os.environ.get(BUILD_ENV) else Path(root) / cache_folder_name(
            digest)
        self = cls(py_func, py_file, path, digest)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        if not os.environ.get(BUILD_ENV):
            _seed(path)
        return self


# ---- the compile log ---------------------------------------------------------------------
def _dispatchers() -> list:
    """``(name, dispatcher)`` of every numba kernel made in this process: the specialised
    kernels of ``loops`` and the module-level kernels of ``simulator.core.kernels``."""
    out = []
    loops = sys.modules.get("simulator.core.kernels.loops")
    for (name, key), k in list(getattr(loops, "_kernels", {}).items()):
        out.append((f"{name}{list(key)}", k))
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("simulator.core.kernels.") or mod is None:
            continue
        for attr, k in list(vars(mod).items()):
            if hasattr(k, "stats") and hasattr(k, "signatures") and hasattr(k, "py_func"):
                out.append((f"{modname.rsplit('.', 1)[-1]}.{attr}", k))
    return out


def _log_snapshot() -> dict:
    """Every kernel's signatures, and how many came from the disk cache (numba's
    ``stats.cache_hits``) or were compiled here (``stats.cache_misses``: numba counts a
    miss each time it compiles a cached function). ``loops.compile_log`` is added as is
    (it times first calls; loads through ``loops._load_cached`` are not in it)."""
    loops = sys.modules.get("simulator.core.kernels.loops")
    kernels = []
    seen = set()
    for name, k in _dispatchers():
        if id(k) in seen or not k.signatures:
            continue
        seen.add(id(k))
        try:
            hits = sum(k.stats.cache_hits.values())
            misses = sum(k.stats.cache_misses.values())
        except AttributeError:
            continue
        kernels.append({"kernel": name, "signatures": len(k.signatures), "loaded": hits,
                        "compiled": misses})
    entries = list(getattr(loops, "compile_log", ())) if loops is not None else []
    return {"pid": os.getpid(), "cpu_name": os.environ.get("NUMBA_CPU_NAME"),
            "kernels": len(kernels),
            "loaded": sum(k["loaded"] for k in kernels),
            "compiled": sum(k["compiled"] for k in kernels),
            "per_kernel": kernels,
            "compile_log": [{**e, "key": list(e.get("key", ()))} for e in entries]}


def write_compile_log(path: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(_log_snapshot(), f, indent=1)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        pass


def start_compile_log(path: str, every: float = 0.5) -> None:
    """Write the compile log to ``path`` every ``every`` seconds and at exit."""
    import atexit

    def loop():
        while True:
            time.sleep(every)
            write_compile_log(path)

    threading.Thread(target=loop, name="losslab-compile-log", daemon=True).start()
    atexit.register(write_compile_log, path)


# ---- building the shipped cache ------------------------------------------------------------
def _hook():
    """The runtime hook as a module: the bundle's CPU target and locators are set there."""
    hook = Path(__file__).with_name("runtime_hook_numba.py")
    spec = importlib.util.spec_from_file_location("losslab_rth_numba", hook)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # not frozen: sets nothing
    return mod


def _compile(warmup_only: bool) -> None:
    """In the build subprocess: run the plans, compiling into ``$LOSSLAB_KERNEL_CACHE_BUILD``."""
    from simulator.core import prepare
    from simulator.core.kernels import loops

    plan = prepare.warmup_plan()
    if not warmup_only:
        plan += prepare.full_plan()
    t0 = time.perf_counter()
    failures = prepare.run_plan(plan)
    wall = time.perf_counter() - t0
    from numba.core import config

    digest = kernels_digest()
    log = loops.compile_log
    manifest = {
        "folder": cache_folder_name(digest), "digest": digest,
        "plan": "warmup" if warmup_only else "warmup+full",
        "python": list(sys.version_info[:2]), "cpu_name": config.CPU_NAME,
        "cpu_features": config.CPU_FEATURES, "kernels": len(log),
        "compiled": sum(not e["cached"] for e in log),
        "compile_cpu_s": round(sum(e["cpu"] for e in log), 1), "wall_s": round(wall, 1),
        "failures": failures,
    }
    out = Path(os.environ[BUILD_ENV])
    (out / "losslab-kernels.stamp").write_text(digest)  # what kernels/__init__ checks
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    print(json.dumps({k: v for k, v in manifest.items() if k != "failures"}))
    if failures:
        raise SystemExit(f"losslab_kernel_cache: plan steps failed: {failures}")


def build(out: Path, warmup_only: bool = False, python: str = sys.executable) -> dict:
    """Compile the kernels into ``out`` (reused when it was built from the same sources,
    numba, Python and CPU target); returns its manifest."""
    out = Path(out).resolve()
    hook = _hook()
    env = {**os.environ, **hook.portable_cpu_env(), BUILD_ENV: str(out),
           "NUMBA_CACHE_LOCATOR_CLASSES": hook.LOCATORS}
    env.pop("NUMBA_DISABLE_JIT", None)
    here = str(Path(__file__).resolve().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    probe = subprocess.run(
        [python, "-c", "import json, sys, losslab_kernel_cache as k; from numba.core import "
         "config; print(json.dumps([k.cache_folder_name(k.kernels_digest()), "
         "list(sys.version_info[:2]), config.CPU_NAME, config.CPU_FEATURES]))"],
        env=env, capture_output=True, text=True, check=True)
    want = json.loads(probe.stdout.strip().splitlines()[-1])
    plan = "warmup" if warmup_only else "warmup+full"
    try:
        have = json.loads((out / MANIFEST).read_text())
        if [have["folder"], have["python"], have["cpu_name"], have["cpu_features"]] == want \
                and have["plan"] == plan and not have.get("failures"):
            print(f"losslab_kernel_cache: {out} is up to date ({have['kernels']} kernels)")
            return have
    except (OSError, ValueError, KeyError):
        pass
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    args = [python, "-m", "losslab_kernel_cache", "_compile"]
    if warmup_only:
        args.append("--warmup-only")
    subprocess.run(args, env=env, check=True)
    return json.loads((out / MANIFEST).read_text())


def main(argv: list[str]) -> int:
    if argv[:1] == ["_compile"]:
        _compile("--warmup-only" in argv)
        return 0
    if argv[:1] == ["build"] and len(argv) >= 2:
        build(Path(argv[1]), warmup_only="--warmup-only" in argv)
        return 0
    print(__doc__.strip().splitlines()[-1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
