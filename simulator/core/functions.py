"""Surfaces from Python functions: ``sim.surface_from_function``.

Two ways, tried in this order:

1. **Traced into a formula.** ``f`` is called once with sympy symbols instead of numbers
   (``numpy`` and ``math`` in its globals and closure stand in as sympy's functions:
   ``np.sin`` -> ``sympy.sin``, ``np.pi`` -> ``pi``, ...). When that gives an expression
   the formula engine accepts, the surface *is* that formula
   (:func:`~simulator.core.expressions.surface_from_expression`): exact derivatives,
   the compiled register machine, everything the app and the session files do with a
   typed formula. Most numpy-style functions of x and y trace.
2. **A function surface** (``kind="function"``), when the user gives the gradient
   (``grad=``, and optionally ``hess=``) or asks for finite differences
   (``grad="fd"``, labelled approximate everywhere the surface is shown). The callables
   are compiled with numba's ``njit`` when numba accepts them, and the trajectory loop
   is then the kernels' own loop (:mod:`simulator.core.kernels.loops`) compiled around
   them; otherwise they run in Python through the very same loop source (the
   interpreter's copy of the kernels, :mod:`simulator.core.kernels.interp`), and
   ``surface.impl.note`` says why. ``simulate`` and the scene take such a surface;
   ``simulate_batch``, the maps and session files need a formula and say so.
"""

from __future__ import annotations

import inspect
import math
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .surface import SID_FLAT, Surface

EPS = np.finfo(np.float64).eps
# central differences: truncation O(h^2) against rounding O(eps/h) -> h ~ eps^(1/3);
# second differences: O(h^2) against O(eps/h^2) -> h ~ eps^(1/4)
FD_STEP_1 = EPS ** (1.0 / 3.0)
FD_STEP_2 = EPS ** 0.25


class FunctionSurfaceError(ValueError):
    """A Python function that cannot be made into a surface (the message says why)."""


# ---- 1. tracing into a formula --------------------------------------------------------------
def _sympy_namespace():
    import sympy as sp

    def log10(a):
        return sp.log(a) / sp.log(10)

    def log2(a):
        return sp.log(a) / sp.log(2)

    def square(a):
        return a**2

    def power(a, b):
        return a**b

    def hypot(a, b):
        return sp.sqrt(a**2 + b**2)

    def minimum(a, b):
        return sp.Min(a, b)

    def maximum(a, b):
        return sp.Max(a, b)

    names = {
        "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "arcsin": sp.asin, "arccos": sp.acos,
        "arctan": sp.atan, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
        "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "exp": sp.exp, "log": sp.log,
        "log10": log10, "log2": log2, "sqrt": sp.sqrt, "abs": sp.Abs, "absolute": sp.Abs,
        "fabs": sp.Abs, "square": square, "power": power, "pow": power, "hypot": hypot,
        "minimum": minimum, "maximum": maximum, "fmin": minimum, "fmax": maximum,
        "pi": sp.pi, "e": sp.E,
    }
    return types.SimpleNamespace(**names), names


def _stand_in(value, ns, names):
    """What ``value`` (a global or closure value of f) becomes while tracing."""
    if value is np or value is math:
        return ns
    for mod in (np, math):
        for key, sym in names.items():
            if getattr(mod, key, None) is value and callable(value):
                return sym
    return value


def _traceable_copy(f):
    """``f`` with numpy and math (module or functions) swapped for sympy's."""
    ns, names = _sympy_namespace()
    code = getattr(f, "__code__", None)
    if code is None or not isinstance(f, types.FunctionType):
        return f  # a builtin or a callable object: called as it is
    glb = dict(f.__globals__)
    for k in code.co_names:
        if k in glb:
            glb[k] = _stand_in(glb[k], ns, names)
    cells = None
    if f.__closure__:
        cells = tuple(types.CellType(_stand_in(c.cell_contents, ns, names))
                      if _cell_ok(c) else c for c in f.__closure__)
    g = types.FunctionType(code, glb, f.__name__, f.__defaults__, cells)
    g.__kwdefaults__ = f.__kwdefaults__
    return g


def _cell_ok(c) -> bool:
    try:
        c.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _formula_text(expr) -> str:
    """A sympy expression in the formula engine's grammar (``**``, ``abs``, ``e``, ...)."""
    from sympy.printing.str import StrPrinter

    class _Printer(StrPrinter):
        def _print_Abs(self, e):
            return f"abs({self._print(e.args[0])})"

        def _print_Exp1(self, e):
            return "e"

        def _print_Pi(self, e):
            return "pi"

        def _print_Float(self, e):
            return repr(float(e))

        def _print_Rational(self, e):
            return f"({e.p}/{e.q})"

        def _print_Min(self, e):
            return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

        def _print_Max(self, e):
            return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

    return _Printer({"order": "none"}).doprint(expr)


def trace_formula(f, dim: int) -> tuple[str | None, str]:
    """``(formula text, "")`` for ``f`` traced with sympy symbols, or ``(None, why)``."""
    import sympy as sp

    names = ("w",) if dim == 1 else ("x", "y")
    syms = [sp.Symbol(n, real=True) for n in names]
    try:
        out = _traceable_copy(f)(*syms)
    except Exception as e:  # noqa: BLE001 - any failure means: not traceable
        return None, f"calling it with symbols failed ({type(e).__name__}: {e})"
    if isinstance(out, np.ndarray) and out.shape == ():
        out = out.item()
    try:
        expr = sp.sympify(out, strict=True)
    except (sp.SympifyError, TypeError) as e:
        return None, f"it returned {type(out).__name__}, not an expression ({e})"
    if not isinstance(expr, sp.Expr) or not expr.free_symbols <= set(syms):
        return None, f"it returned {expr!r}, not an expression in {', '.join(names)}"
    if not expr.is_real and expr.is_real is not None:
        return None, "it returned a complex expression"
    text = _formula_text(expr)
    if dim == 2 and not {"x", "y"} <= {s.name for s in expr.free_symbols}:
        # keep both variables, so that a function of x alone is still a surface
        missing = [n for n in ("x", "y") if sp.Symbol(n, real=True) not in expr.free_symbols]
        text = f"{text} + " + " + ".join(f"0*{n}" for n in missing)
    elif dim == 1 and not expr.free_symbols:
        text = f"{text} + 0*w"
    return text, ""


# ---- 2. function surfaces ---------------------------------------------------------------------
@dataclass(eq=False)
class FunctionImpl:
    """How a function surface is evaluated and run (``surface.impl``).

    Parameters
    ----------
    f, grad, hess : callable
        Value, gradient and Hessian at (x, y) (or w): plain or numba-compiled.
    fg, fgh : callable
        ``(x, y) -> (f, gx, gy)`` and ``(x, y) -> (f, gx, gy, hxx, hxy, hyy)``.
    dim : int
        1 or 2.
    compiled : bool
        Whether numba compiled the callables (else they run in Python).
    approximate : bool
        Whether the gradient comes from finite differences.
    hessian_from : str
        ``"user"``, ``"finite differences"`` or ``"none"`` (nan: no curvature).
    note : str
        What the user should know: compiled or not and why, exact or approximate.
    """

    f: Any
    grad: Any
    hess: Any
    fg: Any
    fgh: Any
    dim: int
    compiled: bool
    approximate: bool
    hessian_from: str
    note: str
    _kernels: dict = field(default_factory=dict, repr=False)

    # ---- the two entry points the engine and Surface.evaluate use -----------------------
    def eval_points(self, spec, xs, ys, order, out, nreg) -> None:
        """Fill ``out`` (n, 6) as ``kernels.loops.eval_points`` does."""
        loop = self._kernels.get("eval")
        if loop is None:
            loop = self._kernels["eval"] = _eval_loop(self.fg, self.fgh, self.compiled)
        loop(xs, ys, int(order), out)

    def run_trajectory(self, spec, oid, hp, lrs, x0, y0, steps, noise, seed, stream, clip,
                       batch, nreg, pos, loss, grad, evals=None, plat=None):
        """``kernels.loops.run_trajectory`` for this function: the same loop source
        (L-BFGS: its own loop, which also fills ``evals``)."""
        from .kernels.loops import NO_PLATEAU, _plateau_on
        from .kernels.optim import O_LBFGS

        on = _plateau_on(plat)
        if plat is None:
            plat = NO_PLATEAU
        k = self._kernels.get(("traj", int(oid), on))
        if k is None:
            k = self._kernels[("traj", int(oid), on)] = _trajectory_kernel(self, int(oid), on)
        if int(oid) == O_LBFGS:
            if evals is None:
                evals = np.empty(max(int(steps), 1), dtype=np.int64)
            return k(spec, hp, lrs, x0, y0, steps, nreg, pos, loss, grad, evals, plat)
        return k(spec, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos,
                 loss, grad, plat)


def _jit(fn):
    import numba

    return numba.njit(cache=False, nogil=True, error_model="numpy")(fn)


def _pointwise(f, grad, hess, dim, fd_grad: bool, fd_hess: bool, jit: bool):
    """``fg(x, y)`` and ``fgh(x, y)`` around the user's callables (2-D: f(x, y); 1-D:
    f(w)), with central differences where asked."""
    h1, h2 = FD_STEP_1, FD_STEP_2
    nan = math.nan
    wrap = _jit if jit else (lambda fn: fn)

    if dim == 2:
        def val(x, y):
            return float(f(x, y))

        if fd_grad:
            def g2(x, y):
                hx = h1 * max(1.0, abs(x))
                hy = h1 * max(1.0, abs(y))
                return ((f(x + hx, y) - f(x - hx, y)) / (2.0 * hx),
                        (f(x, y + hy) - f(x, y - hy)) / (2.0 * hy))
        else:
            def g2(x, y):
                g = grad(x, y)
                return float(g[0]), float(g[1])

        if fd_hess:
            def h3(x, y):
                hx = h2 * max(1.0, abs(x))
                hy = h2 * max(1.0, abs(y))
                f0 = f(x, y)
                hxx = (f(x + hx, y) - 2.0 * f0 + f(x - hx, y)) / (hx * hx)
                hyy = (f(x, y + hy) - 2.0 * f0 + f(x, y - hy)) / (hy * hy)
                hxy = (f(x + hx, y + hy) - f(x + hx, y - hy) - f(x - hx, y + hy)
                       + f(x - hx, y - hy)) / (4.0 * hx * hy)
                return hxx, hxy, hyy
        elif hess is not None:
            def h3(x, y):
                h = hess(x, y)
                return float(h[0][0]), float(h[0][1]), float(h[1][1])
        else:
            def h3(x, y):
                return nan, nan, nan
    else:
        def val(x, y):
            return float(f(x))

        if fd_grad:
            def g2(x, y):
                hx = h1 * max(1.0, abs(x))
                return (f(x + hx) - f(x - hx)) / (2.0 * hx), 0.0
        else:
            def g2(x, y):
                return float(np.asarray(grad(x)).ravel()[0]), 0.0

        if fd_hess:
            def h3(x, y):
                hx = h2 * max(1.0, abs(x))
                return (f(x + hx) - 2.0 * f(x) + f(x - hx)) / (hx * hx), 0.0, 0.0
        elif hess is not None:
            def h3(x, y):
                return float(np.asarray(hess(x)).ravel()[0]), 0.0, 0.0
        else:
            def h3(x, y):
                return nan, 0.0, 0.0

    val, g2, h3 = wrap(val), wrap(g2), wrap(h3)

    def fg(x, y):
        gx, gy = g2(x, y)
        return val(x, y), gx, gy

    def fgh(x, y):
        gx, gy = g2(x, y)
        hxx, hxy, hyy = h3(x, y)
        return val(x, y), gx, gy, hxx, hxy, hyy

    return wrap(fg), wrap(fgh)


def _eval_loop(fg, fgh, jit: bool):
    def loop(xs, ys, order, out):
        for i in range(xs.shape[0]):
            if order >= 2:
                f, gx, gy, hxx, hxy, hyy = fgh(xs[i], ys[i])
                out[i, 3] = hxx
                out[i, 4] = hxy
                out[i, 5] = hyy
            else:
                f, gx, gy = fg(xs[i], ys[i])
            out[i, 0] = f
            out[i, 1] = gx
            out[i, 2] = gy

    if jit:
        return _jit(loop)

    def checked(xs, ys, order, out):
        with np.errstate(all="ignore"):
            try:
                loop(xs, ys, order, out)
            except (ArithmeticError, ValueError):  # Python's 1/0, log(-1): undefined there
                _pointwise_nan(fg, fgh, xs, ys, order, out)
    return checked


def _pointwise_nan(fg, fgh, xs, ys, order, out):
    for i in range(xs.shape[0]):
        try:
            if order >= 2:
                out[i, :] = fgh(xs[i], ys[i])
            else:
                out[i, :3] = fg(xs[i], ys[i])
        except (ArithmeticError, ValueError):
            out[i, :] = math.nan


def _trajectory_kernel(impl: FunctionImpl, oid: int, plat_on: int = 0):
    """The kernels' trajectory loop for optimizer ``oid`` (``plat_on``: with a
    ReduceLROnPlateau, ``kernels.loops`` PLAT), its surface calls bound to ``impl``'s
    callables: compiled by numba when they are, else the interpreter's copy."""
    from .kernels import interp, loops

    fg, fgh = impl.fg, impl.fgh
    if impl.compiled:
        from .kernels.optim import newton_step
    else:
        newton_step = interp.load().newton_step

    def point_fg(sid, bumps, spec, x, y, regs):
        return fg(x, y)

    def newton_for(oid_, sid, bumps, spec, lr, lam, dim, x, y, gx, gy, regs):
        _, _, _, hxx, hxy, hyy = fgh(x, y)
        return newton_step(lr, lam, dim, x, y, gx, gy, hxx, hxy, hyy)

    from .kernels.optim import O_LBFGS

    mod = loops if impl.compiled else interp.load()
    if oid == O_LBFGS:  # several evaluations a step: its own loop, point_fg only
        base = mod._make_lbfgs_trajectory(SID_FLAT, 0, plat_on)
    else:
        base = mod._make_trajectory(oid, SID_FLAT, 0, plat_on)
    if impl.compiled:
        base = base.py_func
        point_fg, newton_for = _jit(point_fg), _jit(newton_for)
    glb = dict(base.__globals__, point_fg=point_fg, newton_for=newton_for)
    fn = types.FunctionType(base.__code__, glb, base.__name__, base.__defaults__,
                            base.__closure__)
    if impl.compiled:
        return _jit(fn)

    def run(*args):
        with np.errstate(all="ignore"):
            try:
                return fn(*args)
            except (ArithmeticError, ValueError):  # Python raised where numba gives nan
                return _python_steps_until_error(fn, args)
    return run


def _python_steps_until_error(fn, args):
    """Rerun shorter and shorter runs until one finishes: the steps before the error
    (``args[5]`` is the step count in both loops' signatures)."""
    steps = int(args[5])
    lo, hi = 0, steps
    while lo < hi:  # the largest step count that runs without an exception
        mid = (lo + hi + 1) // 2
        try:
            fn(*args[:5], mid, *args[6:])
            lo = mid
        except (ArithmeticError, ValueError):
            hi = mid - 1
    k, reason = fn(*args[:5], lo, *args[6:])
    return k, (1 if reason == 0 else reason)


def _signature_dim(f) -> int | None:
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    except (TypeError, ValueError):
        return None
    return len(params) if len(params) in (1, 2) else None


def _domain(domain, dim: int):
    from .expressions import ExpressionError, _check_domain

    try:
        return _check_domain(domain, dim)
    except ExpressionError as e:
        raise FunctionSurfaceError(str(e)) from None


def _compiles(fg, fgh, dim, centre) -> tuple[bool, str]:
    """Whether numba compiles the wrappers (tried once at the domain's centre)."""
    try:
        x, y = (centre[0], centre[1]) if dim == 2 else (centre[0], 0.0)
        fg(x, y)
        fgh(x, y)
    except Exception as e:  # noqa: BLE001 - numba's typing errors and whatever f raises
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return False, first[:200]
    return True, ""


def surface_from_function(f, grad=None, hess=None, domain=None, name: str | None = None
                          ) -> Surface:
    """A surface from a Python function f(x, y) (or a curve from f(w)).

    Parameters
    ----------
    f : callable
        ``f(x, y) -> float`` for a surface, ``f(w) -> float`` for a curve. numpy-style
        code (``np.sin``, ``np.exp``, ``**``, ``math`` functions) is best: it traces.
    grad : callable, "fd" or None
        None: ``f`` is traced with sympy symbols into a formula and differentiated
        exactly by the formula engine (ValueError saying why when it cannot be). A
        callable ``grad(x, y) -> (gx, gy)`` (``grad(w) -> g``): the user's gradient.
        ``"fd"``: central finite differences of ``f``, and the surface is labelled
        approximate (its name, description, ``repr`` and ``surface.impl.approximate``).
    hess : callable, "fd" or None
        With a callable or ``"fd"`` gradient: ``hess(x, y) -> [[hxx, hxy], [hxy, hyy]]``
        (``hess(w) -> h``), ``"fd"`` for second differences of ``f``, or None (the
        default: second differences when ``grad="fd"``, else no curvature: Hessians are
        nan, so the diagnostics show none, the Newton optimizer cannot step, and the
        status rules cannot tell a minimum from a saddle where the gradient vanishes).
        Ignored when ``f`` is traced (the Hessian is exact then).
    domain : sequence of (lo, hi) pairs, optional
        One pair per variable, ``(-3, 3)`` each by default. Its length also says whether
        ``f`` takes one variable or two; without it, ``f``'s signature says.
    name : str, optional
        Display name; by default ``f``'s name (the formula for a lambda that traces).

    Returns
    -------
    Surface
        Traced: ``kind="expression"`` with ``formula`` the traced text, the same as
        ``sim.surface_from_expression(formula)``: compiled, exact, saved in session files.
        Otherwise ``kind="function"``: compiled by numba when it accepts the callables,
        else run in Python (``surface.impl.note`` says which and why); ``simulate`` and
        the scene take it, ``simulate_batch``, the maps and session files need a formula
        and refuse it with a message that says so.

    Raises
    ------
    ValueError
        ``f`` does not trace and no ``grad`` was given (the message says why and what to
        pass), a ``grad``/``hess`` that is neither callable nor ``"fd"``, a bad domain,
        or ``f`` that is undefined at the domain's centre.

    Examples
    --------
    >>> import numpy as np
    >>> import simulator as sim
    >>> def bowl(x, y):
    ...     return (1 - x) ** 2 + 10 * np.sin(y) ** 2
    >>> s = sim.surface_from_function(bowl)
    >>> s.kind, s.formula
    ('expression', '(1 - x)**2 + 10*sin(y)**2')
    >>> s.gradient((0.0, 0.0))
    array([-2.,  0.])
    >>> fd = sim.surface_from_function(lambda x, y: x**2 + 3 * y**2, grad="fd", name="q")
    >>> fd.name, fd.impl.approximate
    ('q (approximate: finite differences)', True)
    >>> "approximate derivatives" in repr(fd)
    True
    >>> bool(abs(fd.gradient((1.0, 1.0)) - [2.0, 6.0]).max() < 1e-8)
    True
    """
    if not callable(f):
        raise FunctionSurfaceError(f"f must be a function of x and y (or of w), got {f!r}")
    for what, v in (("grad", grad), ("hess", hess)):
        if v is not None and v != "fd" and not callable(v):
            raise FunctionSurfaceError(f"{what} must be a function, 'fd' (finite "
                                       f"differences) or None, got {v!r}")
    if domain is not None:
        try:
            dim = len(domain)
        except TypeError:
            raise FunctionSurfaceError("domain must be (lo, hi) pairs, one per variable") \
                from None
    else:
        dim = _signature_dim(f)
        if dim is None:
            raise FunctionSurfaceError(
                "cannot tell from f's signature whether it takes one variable (w) or two "
                "(x, y): pass domain=[(lo, hi)] or domain=[(lo, hi), (lo, hi)]")
    if dim not in (1, 2):
        raise FunctionSurfaceError(f"f must take one variable (w) or two (x, y), not {dim}")
    dom = _domain(domain, dim)
    fname = getattr(f, "__name__", type(f).__name__)

    if grad is None:
        text, why = trace_formula(f, dim)
        if text is None:
            raise FunctionSurfaceError(
                f"{fname} could not be traced into a formula: {why}. Give its gradient "
                "(grad=...) or ask for finite differences (grad='fd', approximate)")
        from .expressions import ExpressionError, surface_from_expression

        try:
            s = surface_from_expression(text, dom, name=name or (
                None if fname == "<lambda>" else fname))
        except ExpressionError as e:
            raise FunctionSurfaceError(
                f"{fname} traced to {text!r}, which the formula engine refuses ({e}). Give "
                "its gradient (grad=...) or ask for finite differences (grad='fd')") from None
        from dataclasses import replace

        return replace(s, description=f"The Python function {fname}, traced into the "
                                      f"formula {text}: exact derivatives.")

    fd_grad = grad == "fd"
    fd_hess = hess == "fd" or (hess is None and fd_grad)
    user_hess = hess if callable(hess) else None
    hessian_from = "finite differences" if fd_hess else ("user" if user_hess else "none")
    centre = tuple(0.5 * (lo + hi) for lo, hi in dom)
    compiled, why = False, ""
    try:
        import numba

        jf = numba.njit(cache=False)(f) if not _is_dispatcher(f) else f
        jg = None if fd_grad else (numba.njit(cache=False)(grad)
                                   if not _is_dispatcher(grad) else grad)
        jh = None if user_hess is None else (numba.njit(cache=False)(user_hess)
                                             if not _is_dispatcher(user_hess) else user_hess)
        fg, fgh = _pointwise(jf, jg, jh, dim, fd_grad, fd_hess, jit=True)
        compiled, why = _compiles(fg, fgh, dim, centre)
    except Exception as e:  # noqa: BLE001 - njit refused the object itself
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
    if not compiled:
        fg, fgh = _pointwise(f, None if fd_grad else grad, user_hess, dim, fd_grad,
                             fd_hess, jit=False)
    approx = "approximate: finite differences"
    label = name or fname
    if fd_grad:
        label = f"{label} ({approx})"
    how = ("compiled by numba" if compiled else
           f"run in Python (numba could not compile it: {why}); slower, same loop")
    grad_from = "central finite differences (approximate)" if fd_grad else "the user's grad"
    hess_from = {"user": "the user's hess", "none": "nowhere (nan: no curvature)"}.get(
        hessian_from, "second differences (approximate)")
    note = f"{fname}: {how}; gradient from {grad_from}; Hessian from {hess_from}"
    impl = FunctionImpl(f=f, grad=grad, hess=hess, fg=fg, fgh=fgh, dim=dim,
                        compiled=compiled, approximate=fd_grad or fd_hess,
                        hessian_from=hessian_from, note=note)
    desc = (f"The Python function {fname}" + (
        ", differentiated by finite differences: gradients are approximate (about 1e-10 "
        "relative), not exact" if fd_grad else ", with the gradient it was given") + ".")
    s = Surface(name=label, dim=dim, domain=dom, sid=SID_FLAT, kind="function",
                description=desc, params={"function": fname}, impl=impl,
                variables=("w",) if dim == 1 else ("x", "y"))
    v = s.value(np.asarray(centre))
    if not np.isfinite(v):
        raise FunctionSurfaceError(f"{fname} is not finite at the domain's centre "
                                   f"{centre}: {v}")
    return s


def _is_dispatcher(fn) -> bool:
    return hasattr(fn, "py_func") and hasattr(fn, "signatures")
