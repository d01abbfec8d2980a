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


__all__ = ["INTERPRETED", "cfunc", "errors", "njit", "objmode", "overload", "types"]
