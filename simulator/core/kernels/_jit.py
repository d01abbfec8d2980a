"""What the kernel modules take from numba, in one place.

Every kernel module imports ``njit``, ``overload``, ``types``, ``errors`` and ``objmode``
from here, never from numba directly, so that ``interp`` can run the very same source without numba:
it loads these modules a second time, as a separate package, with this module replaced by
``_nojit`` (``njit`` returns the plain function, ``overload`` registers nothing and each
selector runs its plain-Python body, the generic path).
"""

from __future__ import annotations

from numba import cfunc, njit, objmode, types
from numba.core import errors
from numba.extending import overload

from ._cachelock import install_index_lock

INTERPRETED = False
install_index_lock()  # two processes may save kernels into one cache (see _cachelock)

__all__ = ["INTERPRETED", "cfunc", "errors", "njit", "objmode", "overload", "types"]
