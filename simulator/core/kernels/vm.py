"""A small register machine that evaluates compiled formulas inside the kernels.

A typed formula (see ``simulator.core.expressions``) is differentiated symbolically and
flattened into three straight-line programs over a register file: order 0 computes the
value, order 1 the value and gradient, order 2 the value, gradient and Hessian. Running a
program is a loop over instructions, so one compiled kernel serves every formula: a new
formula needs no compilation at all.

Program layout
--------------
``code``   int64 array (ninstr, 4); each row is ``(op, dst, a, b)`` over registers.
``consts`` float64 array of constants; ``CONST`` loads ``consts[a]``.
``hdr``    int64 array of 8: ``[nreg, s0, e0, s1, e1, s2, e2, 0]``; program k is rows
           ``s_k:e_k``. Outputs: order 0 leaves f in register 0; order 1 leaves f, gx, gy
           in registers 0..2; order 2 leaves f, gx, gy, hxx, hxy, hyy in registers 0..5.

Domain errors follow C and IEEE semantics (log(-1) is nan, 1/0 is inf): the engine turns
a non-finite value into a "diverged" run and the views into gaps.
"""

from __future__ import annotations

import math

from ._jit import njit

# opcodes: keep in step with simulator.core.expressions
LOADX = 1
LOADY = 2
CONST = 3
MOV = 4
ADD = 10
SUB = 11
MUL = 12
DIV = 13
POW = 14  # regs[a] ** regs[b]
NEG = 15
POWI = 16  # regs[a] ** b with b a (small) integer stored in the instruction
SIN = 20
COS = 21
TAN = 22
ASIN = 23
ACOS = 24
ATAN = 25
SINH = 26
COSH = 27
TANH = 28
EXP = 29
LOG = 30
LOG10 = 31
SQRT = 32
ABS = 33
SIGN = 34  # -1, 0 or 1
HEAVISIDE = 35  # 0 below zero, 1 above, 0.5 at zero (sympy's convention)
MIN = 36
MAX = 37

OPCODES = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, int)
}


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _powi(u, n):
    """``u ** n`` for an integer ``n >= 0`` by binary powering, written out so that the
    compiled kernel and the interpreter (``interp``) multiply in the same order (numba's
    own ``**`` does this; Python's calls the C library's pow(), which rounds once)."""
    r = 1.0
    while True:
        if n & 1:
            r *= u
        n >>= 1
        if n == 0:
            break
        u *= u
    return r


# Neither ``_apply`` nor ``vm_run`` is inlined into the kernels: each is compiled once (and
# cached) and called, so a kernel that evaluates formulas does not recompile the ~30
# operations of the machine (inlined, they cost tens of seconds of compiling per kernel).
@njit(cache=True, nogil=True, error_model="numpy")
def _apply(op, u, v, bi):
    """One scalar operation on operands u (regs[a]) and v (regs[b])."""
    if op == ADD:
        return u + v
    if op == SUB:
        return u - v
    if op == MUL:
        return u * v
    if op == DIV:
        return u / v
    if op == POW:
        return u ** v
    if op == NEG:
        return -u
    if op == POWI:
        # numba's integer power raises ZeroDivisionError for 0 ** -n whatever the error
        # model; invert explicitly so 0 ** -n is inf (or nan) as IEEE says
        if bi < 0:
            return 1.0 / _powi(u, -bi)
        return _powi(u, bi)
    if op == SIN:
        return math.sin(u)
    if op == COS:
        return math.cos(u)
    if op == TAN:
        return math.tan(u)
    if op == ASIN:
        return math.asin(u) if -1.0 <= u <= 1.0 else math.nan
    if op == ACOS:
        return math.acos(u) if -1.0 <= u <= 1.0 else math.nan
    if op == ATAN:
        return math.atan(u)
    if op == SINH:
        return math.sinh(u)
    if op == COSH:
        return math.cosh(u)
    if op == TANH:
        return math.tanh(u)
    if op == EXP:
        return math.exp(u)
    if op == LOG:
        if u > 0.0:
            return math.log(u)
        return -math.inf if u == 0.0 else math.nan
    if op == LOG10:
        if u > 0.0:
            return math.log10(u)
        return -math.inf if u == 0.0 else math.nan
    if op == SQRT:
        return math.sqrt(u) if u >= 0.0 else math.nan
    if op == ABS:
        return abs(u)
    if op == SIGN:
        return 1.0 if u > 0.0 else (-1.0 if u < 0.0 else 0.0 * u)
    if op == HEAVISIDE:
        return 1.0 if u > 0.0 else (0.0 if u < 0.0 else 0.5 + 0.0 * u)
    # min and max propagate nan whichever side it is on (an undefined operand makes the
    # result undefined), unlike a bare comparison which would depend on argument order
    if op == MIN:
        return u if u <= v else (v if v <= u else u + v)
    if op == MAX:
        return u if u >= v else (v if v >= u else u + v)
    return math.nan


@njit(cache=True, nogil=True, error_model="numpy")
def vm_run(code, consts, start, end, x, y, regs):
    """Run program rows ``start:end`` at one point; results stay in ``regs``."""
    for k in range(start, end):
        op = code[k, 0]
        dst = code[k, 1]
        a = code[k, 2]
        b = code[k, 3]
        if op == LOADX:
            regs[dst] = x
        elif op == LOADY:
            regs[dst] = y
        elif op == CONST:
            regs[dst] = consts[a]
        elif op == MOV:
            regs[dst] = regs[a]
        else:
            regs[dst] = _apply(op, regs[a], regs[b] if 0 <= b < regs.shape[0] else 0.0, b)


@njit(cache=True, nogil=True, error_model="numpy")
def vm_run_block(code, consts, start, end, xs, ys, n, regs):
    """Run program rows ``start:end`` at ``n`` points; ``regs`` is (nreg, >= n).

    The instruction loop is outside and the point loop inside, so the interpreter's cost
    is paid once per instruction per block and the inner loops vectorise.
    """
    for k in range(start, end):
        op = code[k, 0]
        dst = code[k, 1]
        a = code[k, 2]
        b = code[k, 3]
        rd = regs[dst]
        if op == LOADX:
            for i in range(n):
                rd[i] = xs[i]
        elif op == LOADY:
            for i in range(n):
                rd[i] = ys[i]
        elif op == CONST:
            c = consts[a]
            for i in range(n):
                rd[i] = c
        elif op == MOV:
            ra = regs[a]
            for i in range(n):
                rd[i] = ra[i]
        elif op == ADD:
            ra = regs[a]
            rb = regs[b]
            for i in range(n):
                rd[i] = ra[i] + rb[i]
        elif op == SUB:
            ra = regs[a]
            rb = regs[b]
            for i in range(n):
                rd[i] = ra[i] - rb[i]
        elif op == MUL:
            ra = regs[a]
            rb = regs[b]
            for i in range(n):
                rd[i] = ra[i] * rb[i]
        elif op == DIV:
            ra = regs[a]
            rb = regs[b]
            for i in range(n):
                rd[i] = ra[i] / rb[i]
        elif op == POWI and b == 2:
            ra = regs[a]
            for i in range(n):
                rd[i] = ra[i] * ra[i]
        elif op == NEG:
            ra = regs[a]
            for i in range(n):
                rd[i] = -ra[i]
        else:
            ra = regs[a]
            if 0 <= b < regs.shape[0]:
                rb = regs[b]
                for i in range(n):
                    rd[i] = _apply(op, ra[i], rb[i], b)
            else:
                for i in range(n):
                    rd[i] = _apply(op, ra[i], 0.0, b)
