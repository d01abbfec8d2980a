"""The interpreter's stand-in for ``_jit``: the kernel source runs as plain Python."""

from __future__ import annotations

from types import SimpleNamespace

INTERPRETED = True


def njit(*args, **kwargs):
    """``@njit`` and ``@njit(...)`` both return the function unchanged."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


def cfunc(*args, **kwargs):
    """The plain function: no C callback in the interpreter."""
    return lambda fn: fn


def carray(ptr, shape, dtype=None):
    """numba's ``carray``; the interpreter runs no C callback (the network kernels, which
    use them, have no interpreted stand-in), so nothing here calls it."""
    raise NotImplementedError("carray: no C callbacks in the interpreter")


def c_caller(sig):
    """numba's C-callback caller; as ``carray``, never called in the interpreter."""

    def call(address, *args):
        raise NotImplementedError("c_caller: no C callbacks in the interpreter")

    return call


def overload(*args, **kwargs):
    """Registers nothing: in Python the selector's own body (the generic path) runs."""
    return lambda typer: typer


class _Never:  # isinstance(x, types.IntegerLiteral) is never true in the interpreter
    pass


types = SimpleNamespace(IntegerLiteral=_Never)
errors = SimpleNamespace(TypingError=TypeError)

def objmode(*args, **kwargs):
    """An object-mode block is plain Python already: a context manager doing nothing."""
    from contextlib import nullcontext

    return nullcontext()


__all__ = ["INTERPRETED", "c_caller", "carray", "cfunc", "errors", "njit", "objmode",
           "overload", "types"]
