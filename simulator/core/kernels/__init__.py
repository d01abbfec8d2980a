"""The numba kernels: the only place LossLab compiles code (see ``loops``).

numba's on-disk cache checks the timestamp of the file that defines a kernel, but not of
the files whose functions are inlined into it (``field``, ``optim``, ``vm``, ...). After
an upgrade or an edit of one of those, a stale kernel could be loaded. On import we hash
all kernel sources and, when the hash differs from the one stamped beside the cache, drop
the cached machine code so numba recompiles it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
from pathlib import Path

# the kernel sources: _jit and every module compiled through it. Their hash keys the
# kernels' disk caches, here and in the standalone bundle (packaging/losslab_kernel_cache.py
# reads this list and source_digest)
SOURCE_MODULES = ("_jit", "contour", "field", "lbfgs", "loops", "mlp", "optim", "rng",
                  "surfaces", "vm")
_STAMP = "losslab-kernels.stamp"


def source_digest(pkg) -> str | None:
    """The hash of the kernel sources ``SOURCE_MODULES`` in the folder ``pkg`` (a path or
    an ``importlib.resources`` folder); None when they cannot be read (frozen, zipped)."""
    h = hashlib.sha256()
    try:
        for name in SOURCE_MODULES:
            h.update(pkg.joinpath(f"{name}.py").read_bytes())
    except OSError:  # frozen or zipped: no sources to compare
        return None
    return h.hexdigest()[:20]


def _cache_dirs(pkg) -> list[Path]:
    dirs = []
    try:
        local = Path(str(pkg)) / "__pycache__"
        local.mkdir(exist_ok=True)  # stamp it before numba writes the first kernel
        dirs.append(local)
    except (TypeError, OSError):
        pass
    root = os.environ.get("NUMBA_CACHE_DIR")
    if root:
        # the folder numba will use for these kernels: stamp it before the first write too
        try:
            from numba.core.caching import _CacheLocator

            sub = _CacheLocator.get_suitable_cache_subpath(str(Path(str(pkg)) / "loops.py"))
            (Path(root) / sub).mkdir(parents=True, exist_ok=True)
            dirs.append(Path(root) / sub)
        except (ImportError, AttributeError, TypeError, OSError):
            pass
    if root and Path(root).is_dir():
        dirs += [p.parent for p in Path(root).rglob("loops.*.nbi") if "kernels" in str(p)]
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def _drop_stale_cache() -> None:
    pkg = importlib.resources.files(__name__)
    digest = source_digest(pkg)
    if digest is None:
        return
    for d in _cache_dirs(pkg):
        stamp = d / _STAMP
        try:
            if stamp.is_file() and stamp.read_text() == digest:
                continue
            for f in d.iterdir():
                if f.suffix in (".nbi", ".nbc") and f.name.split(".")[0] in SOURCE_MODULES:
                    f.unlink(missing_ok=True)
            stamp.write_text(digest)
        except OSError:  # read-only install: numba falls back to its user cache
            continue


_drop_stale_cache()
