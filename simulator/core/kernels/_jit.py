"""What the kernel modules take from numba, in one place.

Every kernel module imports ``njit``, ``cfunc``, ``carray``, ``c_caller``, ``overload``,
``types``, ``errors`` and ``objmode`` from here, never from numba directly, so that
``interp`` can run the very same source without numba: it loads these modules a second
time, as a separate package, with this module replaced by ``_nojit`` (``njit`` returns the
plain function, ``overload`` registers nothing and each selector runs its plain-Python
body, the generic path).
"""

from __future__ import annotations

from numba import carray, cfunc, njit, objmode, types
from numba.core import cgutils, errors
from numba.core.typeconv import Conversion
from numba.extending import intrinsic, overload

from ._cachelock import install_index_lock

INTERPRETED = False
install_index_lock()  # two processes may save kernels into one cache (see _cachelock)



def c_caller(sig):
    """A compiled function ``call(address, *args)`` calling the C function of type ``sig``
    (a numba ``cfunc``'s, at ``cf.address``) with ``args``, each converted to its type in
    ``sig`` (an array's ``.ctypes`` to a pointer of its dtype).

    A ``cfunc`` passed to a kernel as itself works too, but numba then types the object at
    every call from Python (about 25 us, most of a small network's loss); an address is an
    int64, typed at once, and the kernel stays cacheable (no address in its code)."""
    from llvmlite import ir

    @intrinsic
    def call(typingctx, address, *args):
        if not isinstance(address, types.Integer) or len(args) != len(sig.args):
            raise errors.TypingError(f"call(address, {len(sig.args)} arguments) of {sig}")
        for i, (a, t) in enumerate(zip(args, sig.args)):
            conv = typingctx.can_convert(a, t) if isinstance(a, types.Number) else None
            ok = (isinstance(a, types.ArrayCTypes) and isinstance(t, types.CPointer)
                  and a.dtype == t.dtype) or (conv is not None and conv <= Conversion.safe)
            if not ok:
                raise errors.TypingError(f"argument {i}: {a} is not {t} ({sig})")

        def codegen(context, builder, signature, llargs):
            fnty = ir.FunctionType(context.get_value_type(sig.return_type),
                                   [context.get_value_type(t) for t in sig.args])
            fn = builder.inttoptr(llargs[0], fnty.as_pointer())
            vals = cgutils.unpack_tuple(builder, llargs[1])
            out = builder.call(fn, [context.cast(builder, v, a, t)
                                    for v, a, t in zip(vals, signature.args[1].types,
                                                       sig.args)])
            return context.get_dummy_value() if sig.return_type == types.void else out

        return sig.return_type(address, types.StarArgTuple.from_types(args)), codegen

    return call


__all__ = ["INTERPRETED", "c_caller", "carray", "cfunc", "errors", "njit", "objmode",
           "overload", "types"]
