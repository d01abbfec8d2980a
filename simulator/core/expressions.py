"""Typed formulas: a safe parser, exact derivatives, programs for the register VM.

A student types ``(1-x)^2 + 100*(y-x^2)^2``; this module turns the text into a
:class:`~simulator.core.surface.Surface` whose value, gradient and Hessian are exact.

Pipeline
--------
1. **Tokenize and parse** with a hand-written tokenizer and recursive-descent parser into a
   small whitelisted tree (:class:`Num`, :class:`Var`, :class:`Const`, :class:`Neg`,
   :class:`Sum`, :class:`Prod`, :class:`Pow`, :class:`Call`). The text is never given to
   ``eval``, ``exec``, ``compile``, ``ast`` or sympy's string parsers: anything outside
   the grammar is refused with an :class:`ExpressionError` naming the column.
2. **Check limits** on the tree: length, nesting depth, size, literal magnitude, and
   powers. Constant sub-trees are folded with guarded float arithmetic, so a power tower
   such as ``9**9**9**9`` is refused at once (its exponent is too large) instead of being
   computed. An estimate of the derivatives' size refuses formulas whose Hessian would
   explode before sympy is asked to build it.
3. **Differentiate exactly**: the tree is converted node by node into sympy objects
   (never through strings), differentiated, and shared sub-expressions are extracted with
   ``sympy.cse``. Differentiating one big expression can take sympy seconds to minutes
   (its assumption system dominates), so formulas whose estimated Hessian is large
   (``SYMPY_ESTIMATE``), or whose sympy derivatives grow past ``MAX_DERIV_NODES``, are
   differentiated node by node instead (:func:`_forward_mode`): sympy differentiates each
   node's small local function and the chain rule joins them through temporaries, in time
   linear in the formula. Both give the same exact derivatives.
4. **Emit** three straight-line register programs (orders 0, 1, 2) for
   :mod:`simulator.core.kernels.vm`, with registers reused once their value is dead.

Compiled programs are cached by the formula's canonical text (an LRU of 256 entries), so
retyping a formula is instant.

Grammar
-------
::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/') unary)*
    unary   := ('+' | '-') unary | power
    power   := primary (('**' | '^') unary)?          # right-associative, binds tighter
    primary := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'

Names: the variables ``x`` and ``y`` (a surface) or ``w`` or ``x`` alone (a curve), the
constants ``pi`` and ``e``, and the functions in :data:`FUNCTIONS`. As in Python,
``-x**2`` is ``-(x**2)`` and ``2**-1`` is ``2**(-1)``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .kernels import vm
from .surface import SID_EXPR, Surface

__all__ = [
    "ExpressionError",
    "Node",
    "Num",
    "Var",
    "Const",
    "Neg",
    "Sum",
    "Prod",
    "Pow",
    "Call",
    "FUNCTIONS",
    "CONSTANTS",
    "parse_expression",
    "expression_variables",
    "render",
    "compile_expression",
    "surface_from_expression",
    "clear_cache",
]

# ---- limits ------------------------------------------------------------------------------
MAX_LENGTH = 1000  # characters of formula text
MAX_DEPTH = 64  # nesting depth of the tree
MAX_NODES = 2000  # nodes in the tree
MAX_LITERAL = 1e100  # magnitude of a number as typed
MAX_CONSTANT = 1e300  # magnitude of a folded constant part
MAX_EXPONENT = 1000  # magnitude of a constant exponent
SYMPY_ESTIMATE = 1000  # above this estimated Hessian size, differentiate node by node
MAX_DERIV_NODES = 20_000  # distinct sympy nodes in value, gradient and Hessian
MAX_INSTRUCTIONS = 50_000  # rows of the three programs together
CACHE_SIZE = 256

# name -> (arity, vm opcode for the value); arity -1 means 2 or more
FUNCTIONS: dict[str, int] = {
    "sin": 1,
    "cos": 1,
    "tan": 1,
    "asin": 1,
    "acos": 1,
    "atan": 1,
    "sinh": 1,
    "cosh": 1,
    "tanh": 1,
    "exp": 1,
    "log": 1,
    "log10": 1,
    "sqrt": 1,
    "abs": 1,
    "min": -1,
    "max": -1,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y", "w")

# names people reach for, with the spelling this grammar wants
_HINTS = {
    "ln": "use log (the natural logarithm)",
    "arcsin": "use asin",
    "arccos": "use acos",
    "arctan": "use atan",
    "pow": "use a**b or a^b",
    "power": "use a**b or a^b",
    "exp2": "use 2**x",
    "log2": "use log(x)/log(2)",
    "fabs": "use abs",
    "Abs": "use abs",
    "PI": "use pi",
    "Pi": "use pi",
    "E": "use e",
    "X": "names are lower case: use x",
    "Y": "names are lower case: use y",
    "W": "names are lower case: use w",
    "inf": "infinite constants are not allowed",
    "nan": "nan is not allowed",
    "sec": "use 1/cos(x)",
    "csc": "use 1/sin(x)",
    "cot": "use 1/tan(x)",
    "sign": "use x/abs(x) or the derivative of abs",
    "atan2": "use atan(y/x)",
}
_KEYWORDS = {
    "lambda": "lambdas are not allowed",
    "if": "conditional expressions are not allowed: use min, max or abs",
    "else": "conditional expressions are not allowed: use min, max or abs",
    "for": "comprehensions are not allowed",
    "in": "comprehensions are not allowed",
    "import": "statements are not allowed",
    "from": "statements are not allowed",
    "def": "statements are not allowed",
    "class": "statements are not allowed",
    "return": "statements are not allowed",
    "yield": "statements are not allowed",
    "await": "statements are not allowed",
    "async": "statements are not allowed",
    "with": "statements are not allowed",
    "while": "statements are not allowed",
    "del": "statements are not allowed",
    "global": "statements are not allowed",
    "nonlocal": "statements are not allowed",
    "assert": "statements are not allowed",
    "pass": "statements are not allowed",
    "raise": "statements are not allowed",
    "try": "statements are not allowed",
    "and": "logical operators are not allowed",
    "or": "logical operators are not allowed",
    "not": "logical operators are not allowed",
    "is": "comparisons are not allowed",
    "None": "None is not allowed",
    "True": "booleans are not allowed",
    "False": "booleans are not allowed",
}
# characters outside the grammar, with the reason
_BAD_CHARS = {
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "[": "subscripts and lists are not allowed",
    "]": "subscripts and lists are not allowed",
    "{": "sets and dicts are not allowed",
    "}": "sets and dicts are not allowed",
    ";": "only one expression is allowed (no ';')",
    "\\": "backslashes are not allowed",
    ":": "lambdas, slices and annotations are not allowed",
    "=": "assignments are not allowed: type only the right-hand side",
    "<": "comparisons are not allowed: use min, max or abs",
    ">": "comparisons are not allowed: use min, max or abs",
    "!": "'!' is not allowed (no factorials or comparisons)",
    "@": "'@' is not allowed",
    "%": "'%' is not allowed",
    "&": "'&' is not allowed",
    "|": "'|' is not allowed: use abs(x)",
    "~": "'~' is not allowed",
    "`": "'`' is not allowed",
    "$": "'$' is not allowed",
    "?": "'?' is not allowed",
    "#": "comments are not allowed",
}
# common non-ASCII lookalikes, with the ASCII the user meant
_UNICODE_HINTS = {
    "\u2212": "use '-'",
    "\u2013": "use '-'",
    "\u2014": "use '-'",
    "\u00d7": "use '*'",
    "\u22c5": "use '*'",
    "\u00b7": "use '*'",
    "\u2219": "use '*'",
    "\u00f7": "use '/'",
    "\u2215": "use '/'",
    "\u00b2": "use ^2",
    "\u00b3": "use ^3",
    "\u03c0": "use pi",
    "\u221a": "use sqrt(...)",
    "\u00a0": "use an ordinary space",
    "\u2009": "use an ordinary space",
    "\u200b": "remove the invisible character",
    "\uff08": "use '('",
    "\uff09": "use ')'",
    "\uff0b": "use '+'",
    "\u2018": "strings are not allowed",
    "\u2019": "strings are not allowed",
    "\u201c": "strings are not allowed",
    "\u201d": "strings are not allowed",
}


class ExpressionError(ValueError):
    """A formula that cannot be used, with where (``column``) and why (``reason``).

    A ``ValueError``; the parameters are also the attributes.

    Parameters
    ----------
    reason : str
        What is wrong, e.g. ``"unknown name 'z'"``.
    column : int or None
        1-based column of the offending character in the formula text, when known.
    hint : str or None
        What to type instead, e.g. ``"use x and y"``.

    Examples
    --------
    >>> import simulator as sim
    >>> try:
    ...     sim.surface_from_expression("x**2 + z")
    ... except sim.ExpressionError as e:
    ...     print(e.column, e.reason, "/", e)
    8 unknown name 'z' / unknown name 'z' at column 8: use x and y (or w alone for a curve)
    """

    def __init__(self, reason: str, column: int | None = None, hint: str | None = None):
        self.reason = reason
        self.column = column
        self.hint = hint
        msg = reason
        if column is not None:
            msg += f" at column {column}"
        if hint:
            msg += f": {hint}"
        super().__init__(msg)


# ---- the tree ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=True)
class Node:
    """Base of the formula tree; ``col`` is the 1-based column it starts at."""

    col: int


@dataclass(frozen=True, eq=True)
class Num(Node):
    """A non-negative number literal."""

    value: float


@dataclass(frozen=True, eq=True)
class Var(Node):
    """A variable: ``x``, ``y`` or ``w``."""

    name: str


@dataclass(frozen=True, eq=True)
class Const(Node):
    """A named constant: ``pi`` or ``e``."""

    name: str


@dataclass(frozen=True, eq=True)
class Neg(Node):
    """Unary minus."""

    operand: Node


@dataclass(frozen=True, eq=True)
class Sum(Node):
    """``t0 ± t1 ± ...``: ``terms`` is a tuple of (sign, node), sign ``'+'`` or ``'-'``."""

    terms: tuple


@dataclass(frozen=True, eq=True)
class Prod(Node):
    """``f0 */ f1 */ ...``: ``factors`` is a tuple of (op, node), op ``'*'`` or ``'/'``."""

    factors: tuple


@dataclass(frozen=True, eq=True)
class Pow(Node):
    """``base ** exponent``; ``opcol`` is the column of the operator."""

    base: Node
    exponent: Node
    opcol: int = 0


@dataclass(frozen=True, eq=True)
class Call(Node):
    """A function call from :data:`FUNCTIONS`."""

    func: str
    args: tuple


def _children(n: Node) -> tuple:
    if isinstance(n, Neg):
        return (n.operand,)
    if isinstance(n, Sum):
        return tuple(t for _, t in n.terms)
    if isinstance(n, Prod):
        return tuple(f for _, f in n.factors)
    if isinstance(n, Pow):
        return (n.base, n.exponent)
    if isinstance(n, Call):
        return n.args
    return ()


# ---- tokenizer ---------------------------------------------------------------------------
_NUM, _NAME, _OP, _END = "number", "name", "op", "end"


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    col: int  # 1-based
    value: float = 0.0


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_name_start(c: str) -> bool:
    return c == "_" or "a" <= c <= "z" or "A" <= c <= "Z"


def _is_name_char(c: str) -> bool:
    return _is_name_start(c) or _is_digit(c)


def _digits(s: str, i: int) -> int:
    """End of a run of digits with single underscores between digits, starting at i."""
    n = len(s)
    if i >= n or not _is_digit(s[i]):
        return i
    i += 1
    while i < n:
        if _is_digit(s[i]):
            i += 1
        elif s[i] == "_" and i + 1 < n and _is_digit(s[i + 1]):
            i += 2
        else:
            break
    return i


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        col = i + 1
        if c in " \t\r\n":
            i += 1
            continue
        if ord(c) > 127:
            hint = _UNICODE_HINTS.get(
                c, "only ASCII letters, digits and + - * / ^ ( ) , are allowed"
            )
            raise ExpressionError(f"non-ASCII character U+{ord(c):04X}", col, hint)
        if not c.isprintable():
            raise ExpressionError(f"control character U+{ord(c):04X}", col, "remove it")
        if _is_digit(c) or (c == "." and i + 1 < n and _is_digit(text[i + 1])):
            j = _digits(text, i)
            if j < n and text[j] == ".":
                j = _digits(text, j + 1) if j + 1 < n and _is_digit(text[j + 1]) else j + 1
            if j < n and text[j] in "eE":
                k = j + 1
                if k < n and text[k] in "+-":
                    k += 1
                if k < n and _is_digit(text[k]):
                    j = _digits(text, k)
            lit = text[i:j]
            if j < n and text[j] == "_":
                raise ExpressionError("misplaced '_' in a number", j + 1, "write 1_000 or 1000")
            if lit.endswith(".") and j < n and _is_name_start(text[j]):
                raise ExpressionError(
                    "attribute access is not allowed", j, "only numbers may contain '.'"
                )
            if j < n and (_is_name_start(text[j]) or text[j] == "("):
                what = "(" if text[j] == "(" else _name_at(text, j)
                raise ExpressionError(
                    "missing operator (implicit multiplication)", j + 1, f"use {lit}*{what}"
                )
            if j < n and text[j] == ".":
                raise ExpressionError("misplaced '.'", j + 1, "attributes are not allowed")
            # the literal matched our digit grammar above, so float() only sees digits,
            # one '.', an exponent and underscores between digits
            value = float(lit.replace("_", ""))
            if not math.isfinite(value) or value > MAX_LITERAL:
                raise ExpressionError(
                    f"number {lit} is too large", col, f"numbers are limited to {MAX_LITERAL:g}"
                )
            toks.append(_Tok(_NUM, lit, col, value))
            i = j
            continue
        if _is_name_start(c):
            name = _name_at(text, i)
            _check_name(text, i, name)
            toks.append(_Tok(_NAME, name, col))
            i += len(name)
            continue
        if c == "*" and i + 1 < n and text[i + 1] == "*":
            toks.append(_Tok(_OP, "**", col))
            i += 2
            continue
        if c == "/" and i + 1 < n and text[i + 1] == "/":
            raise ExpressionError("'//' is not allowed", col, "use / (true division)")
        if c in "+-*/^(),":
            toks.append(_Tok(_OP, c, col))
            i += 1
            continue
        if c == ".":
            raise ExpressionError(
                "attribute access is not allowed" if toks else "misplaced '.'",
                col,
                "only numbers may contain '.'",
            )
        if c == "=" and i + 1 < n and text[i + 1] == "=":
            raise ExpressionError("comparisons are not allowed", col, "use min, max or abs")
        if c in _BAD_CHARS:
            raise ExpressionError(f"unexpected {c!r}", col, _BAD_CHARS[c])
        raise ExpressionError(f"unexpected character {c!r}", col)
    toks.append(_Tok(_END, "", n + 1))
    return toks


def _name_at(text: str, i: int) -> str:
    j = i
    while j < len(text) and _is_name_char(text[j]):
        j += 1
    return text[i:j]


def _check_name(text: str, i: int, name: str) -> None:
    """Refuse a name outside the whitelist as soon as it is read (column = its start)."""
    if name in FUNCTIONS or name in VARIABLES or name in CONSTANTS:
        return
    col = i + 1
    if name in _KEYWORDS:
        raise ExpressionError(f"'{name}' is not allowed", col, _KEYWORDS[name])
    j = i + len(name)
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    if j < len(text) and text[j] == "(":
        hint = _HINTS.get(name, "functions are " + ", ".join(FUNCTIONS))
        raise ExpressionError(f"unknown function '{name}'", col, hint)
    hint = _HINTS.get(name)
    if hint is None:
        if len(name) > 1 and all(ch in "xyw" for ch in name):
            hint = f"use {'*'.join(name)}"
        else:
            hint = "use x and y (or w alone for a curve)"
    raise ExpressionError(f"unknown name '{name}'", col, hint)


# ---- parser ------------------------------------------------------------------------------
class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def _next(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def _enter(self, col: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                "formula is nested too deeply", col, f"at most {MAX_DEPTH} levels are allowed"
            )

    def parse(self) -> Node:
        if self.tok.kind == _END:
            raise ExpressionError("empty formula", 1, "type a formula such as x**2 + y**2")
        node = self.expr()
        t = self.tok
        if t.kind != _END:
            if t.text == ")":
                raise ExpressionError("unmatched ')'", t.col, "remove it or add a '('")
            if t.text == ",":
                raise ExpressionError(
                    "unexpected ','", t.col, "commas separate the arguments of min and max"
                )
            self._missing_operator(t)
        return node

    def _missing_operator(self, t: _Tok) -> None:
        prev = self.toks[self.i - 1]
        if prev.kind in (_NUM, _NAME) and t.kind in (_NUM, _NAME):
            hint = f"use {prev.text}*{t.text}"
        else:
            hint = "use * to multiply"
        raise ExpressionError("missing operator (implicit multiplication)", t.col, hint)

    def expr(self) -> Node:
        start = self.tok.col
        first = self.term()
        terms = [("+", first)]
        while self.tok.text in ("+", "-") and self.tok.kind == _OP:
            op = self._next().text
            terms.append((op, self.term()))
        if len(terms) == 1:
            return first
        return Sum(start, tuple(terms))

    def term(self) -> Node:
        start = self.tok.col
        first = self.unary()
        factors = [("*", first)]
        while self.tok.text in ("*", "/") and self.tok.kind == _OP:
            op = self._next().text
            factors.append((op, self.unary()))
        if len(factors) == 1:
            return first
        return Prod(start, tuple(factors))

    def unary(self) -> Node:
        t = self.tok
        if t.kind == _OP and t.text in ("+", "-"):
            self._enter(t.col)
            self._next()
            operand = self.unary()
            self.depth -= 1
            return operand if t.text == "+" else Neg(t.col, operand)
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        t = self.tok
        if t.kind == _OP and t.text in ("**", "^"):
            self._enter(t.col)
            self._next()
            exponent = self.unary()
            self.depth -= 1
            return Pow(base.col, base, exponent, t.col)
        return base

    def primary(self) -> Node:
        t = self.tok
        if t.kind == _NUM:
            self._next()
            node: Node = Num(t.col, t.value)
        elif t.kind == _NAME:
            node = self._name()
        elif t.kind == _OP and t.text == "(":
            self._enter(t.col)
            self._next()
            if self.tok.text == ")" and self.tok.kind == _OP:
                raise ExpressionError("empty parentheses", t.col, "tuples are not allowed")
            node = self.expr()
            if self.tok.text == ",":
                raise ExpressionError("unexpected ','", self.tok.col, "tuples are not allowed")
            self._expect_close(t)
            self.depth -= 1
        elif t.kind == _END:
            raise ExpressionError("formula ends too early", t.col, "an operand is missing")
        elif t.text == ")":
            raise ExpressionError("unexpected ')'", t.col, "an operand is missing")
        elif t.text == ",":
            raise ExpressionError("unexpected ','", t.col, "an operand is missing")
        else:
            raise ExpressionError(f"unexpected '{t.text}'", t.col, "an operand is missing")
        # an operand directly followed by another operand: implicit multiplication
        nxt = self.tok
        if nxt.kind in (_NUM, _NAME) or (nxt.kind == _OP and nxt.text == "("):
            self._missing_operator(nxt)
        return node

    def _expect_close(self, opener: _Tok) -> None:
        t = self.tok
        if t.kind == _OP and t.text == ")":
            self._next()
            return
        if t.kind == _END:
            raise ExpressionError("unclosed '('", opener.col, "add a ')'")
        self._missing_operator(t)

    def _name(self) -> Node:
        t = self._next()
        name = t.text
        is_call = self.tok.kind == _OP and self.tok.text == "("
        if name in FUNCTIONS:
            if not is_call:
                raise ExpressionError(
                    f"function '{name}' needs parentheses", t.col, f"use {name}(...)"
                )
            return self._call(t)
        if is_call:
            raise ExpressionError(f"'{name}' is not a function", self.tok.col, f"use {name}*(...)")
        # the tokenizer let through only whitelisted names
        return Var(t.col, name) if name in VARIABLES else Const(t.col, name)

    def _call(self, t: _Tok) -> Node:
        name = t.text
        open_tok = self._next()
        self._enter(open_tok.col)
        args: list[Node] = []
        if self.tok.kind == _OP and self.tok.text == ")":
            pass
        else:
            args.append(self.expr())
            while self.tok.kind == _OP and self.tok.text == ",":
                self._next()
                args.append(self.expr())
        self._expect_close(open_tok)
        self.depth -= 1
        arity = FUNCTIONS[name]
        if arity == -1 and len(args) < 2:
            raise ExpressionError(
                f"{name}() needs at least 2 arguments, got {len(args)}",
                t.col,
                f"e.g. {name}(x, y)",
            )
        if arity > 0 and len(args) != arity:
            raise ExpressionError(
                f"{name}() takes exactly 1 argument, got {len(args)}", t.col, f"e.g. {name}(x)"
            )
        return Call(t.col, name, tuple(args))


def parse_expression(text: str) -> Node:
    """Parse formula text into a tree, or raise :class:`ExpressionError`.

    Parameters
    ----------
    text : str
        The formula, e.g. ``"(1-x)^2 + 100*(y-x^2)^2"``.

    Returns
    -------
    Node
        The root of the tree. Limits on length, nesting, size, literals and constant
        powers are checked here, so a tree returned is safe to differentiate.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a formula must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"formula is too long ({len(text)} characters)",
            MAX_LENGTH + 1,
            f"at most {MAX_LENGTH} are allowed",
        )
    tree = _Parser(_tokenize(text)).parse()
    _check(tree)
    return tree


def expression_variables(node: Node) -> tuple[str, ...]:
    """The variables a tree uses, in the order x, y, w."""
    found: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Var):
            found.add(n.name)
        stack.extend(_children(n))
    return tuple(v for v in VARIABLES if v in found)


# ---- checks and guarded constant folding ----------------------------------------------------
_FLOAT_FUNCS = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sqrt": math.sqrt,
    "abs": abs,
}


def _undefined(n: Node, why: str) -> ExpressionError:
    return ExpressionError(f"constant part is {why}", n.col, "this does not depend on x or y")


def _finite(n: Node, v: float) -> float:
    if not math.isfinite(v):
        raise _undefined(n, "undefined or infinite")
    if abs(v) > MAX_CONSTANT:
        raise ExpressionError(
            "constant part is too large", n.col, f"constants are limited to {MAX_CONSTANT:g}"
        )
    return v


@dataclass
class _Info:
    const: float | None  # folded value when the sub-tree has no variable
    size: int  # nodes
    depth: int
    d1: float  # estimated tree size of a first derivative
    d2: float  # estimated tree size of a second derivative


def _check(tree: Node) -> dict[int, _Info]:
    """Size, depth, guarded constant values and derivative-size estimates, bottom-up."""
    info: dict[int, _Info] = {}
    # iterative post-order: the tree is shallow by construction, but stay iteration-safe
    order: list[Node] = []
    stack = [tree]
    count = 0
    while stack:
        n = stack.pop()
        order.append(n)
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(
                "formula is too large", n.col, f"at most {MAX_NODES} terms and factors"
            )
        stack.extend(_children(n))
    for n in reversed(order):
        ch = [info[id(c)] for c in _children(n)]
        size = 1 + sum(c.size for c in ch)
        depth = 1 + max((c.depth for c in ch), default=0)
        consts = [c.const for c in ch]
        all_const = all(v is not None for v in consts)
        value: float | None = None
        if isinstance(n, Num):
            value = n.value
            d1, d2 = 1.0, 1.0
        elif isinstance(n, Const):
            value = CONSTANTS[n.name]
            d1, d2 = 1.0, 1.0
        elif isinstance(n, Var):
            d1, d2 = 1.0, 1.0
        elif isinstance(n, Neg):
            value = -consts[0] if all_const else None
            d1, d2 = ch[0].d1 + 1, ch[0].d2 + 1
        elif isinstance(n, Sum):
            if all_const:
                acc = 0.0
                for (sign, _), v in zip(n.terms, consts):
                    acc = acc + v if sign == "+" else acc - v
                    _finite(n, acc)
                value = acc
            d1 = 1.0 + sum(c.d1 for c in ch)
            d2 = 1.0 + sum(c.d2 for c in ch)
        elif isinstance(n, Prod):
            if all_const:
                acc = 1.0
                for (op, node), v in zip(n.factors, consts):
                    if op == "/" and v == 0.0:
                        raise _undefined(node, "a division by zero")
                    acc = acc * v if op == "*" else acc / v
                    _finite(n, acc)
                value = acc
            k = len(ch)
            s_all = sum(c.size for c in ch)
            d1 = sum(c.d1 for c in ch) + (k - 1) * s_all + k
            d2 = sum(c.d2 for c in ch) + 2 * (k - 1) * sum(c.d1 for c in ch)
            d2 += (k - 1) * (k - 1) * s_all + k * k
        elif isinstance(n, Pow):
            b, e = ch
            if e.const is not None and abs(e.const) > MAX_EXPONENT:
                raise ExpressionError(
                    "exponent is too large",
                    n.opcol,
                    f"constant exponents are limited to ±{MAX_EXPONENT}",
                )
            if all_const:
                value = _guarded_pow(n, b.const, e.const)
            if e.const is not None:
                d1 = b.d1 + 2 * b.size + 4
                d2 = b.d2 + 2 * b.d1 + 3 * b.size + 8
            else:
                s = b.size + e.size
                d1 = b.d1 + e.d1 + 3 * s + 6
                d2 = b.d2 + e.d2 + 4 * (b.d1 + e.d1) + 8 * s + 12
        elif isinstance(n, Call):
            if all_const:
                value = _guarded_call(n, consts)
            k = len(ch)
            s_all = sum(c.size for c in ch)
            d1 = sum(c.d1 for c in ch) + k * s_all + 4 * k
            d2 = sum(c.d2 for c in ch) + 2 * k * sum(c.d1 for c in ch) + 3 * k * s_all + 8 * k
        else:  # pragma: no cover - the parser builds only the node types above
            raise ExpressionError(f"unsupported node {type(n).__name__}", n.col)
        if value is not None:
            value = _finite(n, value)
        if depth > 2 * MAX_DEPTH + 2:
            raise ExpressionError(
                "formula is nested too deeply", n.col, f"at most {MAX_DEPTH} levels are allowed"
            )
        info[id(n)] = _Info(value, size, depth, d1, d2)
    return info


def _guarded_pow(n: Pow, b: float, e: float) -> float:
    """b ** e in floats, refused (never computed in exact arithmetic) when out of range."""
    if b == 0.0 and e < 0.0:
        raise _undefined(n, "a division by zero (0 to a negative power)")
    if b < 0.0 and e != math.floor(e):
        raise _undefined(n, "undefined (negative base, fractional exponent)")
    if b != 0.0 and e * math.log10(abs(b)) > 300:
        raise ExpressionError(
            "constant power is too large", n.opcol, f"constants are limited to {MAX_CONSTANT:g}"
        )
    try:
        return math.pow(b, e)
    except (OverflowError, ValueError):
        raise _undefined(n, "undefined or too large") from None


def _guarded_call(n: Call, args: list) -> float:
    if n.func == "min":
        return min(args)
    if n.func == "max":
        return max(args)
    u = args[0]
    if n.func in ("exp", "sinh", "cosh") and abs(u) > 690:
        raise ExpressionError(
            "constant part is too large", n.col, f"constants are limited to {MAX_CONSTANT:g}"
        )
    try:
        return _FLOAT_FUNCS[n.func](u)
    except (ValueError, OverflowError, ZeroDivisionError):
        raise _undefined(n, f"undefined ({n.func} of {u:g})") from None


# ---- rendering -------------------------------------------------------------------------------
def _num_text(v: float) -> str:
    if v == math.floor(v) and abs(v) < 1e16:
        return str(int(v))
    return repr(float(v))


def render(node: Node) -> str:
    """Canonical text for a tree: parses back to an equal tree (used as the cache key)."""

    def r(n: Node, parent_prec: int) -> str:
        if isinstance(n, Num):
            return _num_text(n.value)
        if isinstance(n, (Var, Const)):
            return n.name
        if isinstance(n, Call):
            return f"{n.func}({', '.join(r(a, 0) for a in n.args)})"
        if isinstance(n, Sum):
            parts = [r(n.terms[0][1], 2)]
            for sign, t in n.terms[1:]:
                parts.append(f" {sign} {r(t, 2)}")
            s, prec = "".join(parts), 1
        elif isinstance(n, Prod):
            parts = [r(n.factors[0][1], 4)]
            for op, f in n.factors[1:]:
                parts.append(f"{op}{r(f, 4)}")
            s, prec = "".join(parts), 3
        elif isinstance(n, Neg):
            s, prec = "-" + r(n.operand, 5), 5
        elif isinstance(n, Pow):
            s, prec = f"{r(n.base, 7)}**{r(n.exponent, 5)}", 6
        else:  # pragma: no cover
            raise TypeError(n)
        return f"({s})" if prec < parent_prec else s

    return r(node, 0)


def _strip_cols(n: Node) -> tuple:
    """A column-free structural key of a tree (for comparing trees in tests)."""
    if isinstance(n, Num):
        return ("num", n.value)
    if isinstance(n, (Var, Const)):
        return (type(n).__name__, n.name)
    if isinstance(n, Neg):
        return ("neg", _strip_cols(n.operand))
    if isinstance(n, Sum):
        return ("sum", tuple((s, _strip_cols(t)) for s, t in n.terms))
    if isinstance(n, Prod):
        return ("prod", tuple((o, _strip_cols(f)) for o, f in n.factors))
    if isinstance(n, Pow):
        return ("pow", _strip_cols(n.base), _strip_cols(n.exponent))
    if isinstance(n, Call):
        return ("call", n.func, tuple(_strip_cols(a) for a in n.args))
    raise TypeError(n)


# ---- sympy -------------------------------------------------------------------------------------
def _sympy():
    import sympy

    return sympy


def _exact_exponent(sp, v: float):
    """An exponent as an exact sympy number when it is an integer or a half-integer."""
    if v == math.floor(v):
        return sp.Integer(int(v))
    if 2 * v == math.floor(2 * v):
        return sp.Rational(int(2 * v), 2)
    return sp.Float(v)


def _local(n: Node, args: list, info: dict[int, _Info]):
    """The sympy object for node ``n`` applied to its operands' sympy objects ``args``.

    ``args`` are the children's objects in order, except for a power with a constant
    exponent (``[base]``) and a power of the constant e (``[exponent]``).
    """
    sp = _sympy()
    if isinstance(n, Neg):
        return -args[0]
    if isinstance(n, Sum):
        return sp.Add(*[a if s == "+" else -a for (s, _), a in zip(n.terms, args)])
    if isinstance(n, Prod):
        return sp.Mul(*[a if op == "*" else sp.Pow(a, -1) for (op, _), a in zip(n.factors, args)])
    if isinstance(n, Pow):
        ec = info[id(n.exponent)].const
        if _is_e(n.base):
            return sp.exp(args[0])
        if ec is not None:
            return sp.Pow(args[0], _exact_exponent(sp, ec))
        return sp.Pow(args[0], args[1])
    if isinstance(n, Call):
        if n.func in ("min", "max"):
            try:
                return (sp.Min if n.func == "min" else sp.Max)(*args)
            except (ValueError, TypeError):
                # sympy's "The argument 'I*pi' is not comparable": an argument that is
                # always the same non-real number, e.g. log(-x**0) = log(-1)
                bad = next((a for a in args if getattr(a, "is_number", False)
                            and not a.is_comparable), None)
                raise ExpressionError(
                    f"not a real function: {n.func}() compares real numbers, and one of its "
                    f"arguments is {_number_words(bad)}", n.col,
                    "a logarithm or square root of a negative number or of zero, or acos "
                    "or asin of a number beyond -1..1, has no real value") from None
        if n.func == "log10":
            return sp.log(args[0]) / sp.log(10)
        return _sympy_funcs()[n.func](args[0])
    raise ExpressionError(f"unsupported node {type(n).__name__}", n.col)  # pragma: no cover


def _number_words(a) -> str:
    """A sympy constant that is not a real number, in words (not ``I*pi`` or ``zoo``)."""
    try:
        v = complex(a.evalf(15))
    except (AttributeError, TypeError, ValueError):
        return "not a real number"
    if not (math.isfinite(v.real) and math.isfinite(v.imag)):
        return "always infinite or undefined (such as log(0))"
    return f"always the complex number {v:.6g}"


def _is_e(n: Node) -> bool:
    return isinstance(n, Const) and n.name == "e"


def _operands(n: Node, info: dict[int, _Info]) -> tuple:
    """The children that ``_local`` takes as operands (see there)."""
    if isinstance(n, Pow):
        if _is_e(n.base):
            return (n.exponent,)
        if info[id(n.exponent)].const is not None:
            return (n.base,)
    return _children(n)


def _sympy_funcs() -> dict:
    sp = _sympy()
    return {
        "sin": sp.sin,
        "cos": sp.cos,
        "tan": sp.tan,
        "asin": sp.asin,
        "acos": sp.acos,
        "atan": sp.atan,
        "sinh": sp.sinh,
        "cosh": sp.cosh,
        "tanh": sp.tanh,
        "exp": sp.exp,
        "log": sp.log,
        "sqrt": sp.sqrt,
        "abs": sp.Abs,
    }


def _post_order(tree: Node) -> list[Node]:
    out: list[Node] = []
    stack = [tree]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(_children(n))
    out.reverse()
    return out


def _to_sympy(tree: Node, info: dict[int, _Info], symbols: dict[str, object]):
    """Build one sympy expression for the whole tree, node by node (no strings parsed).

    Constant sub-trees arrive already folded (``info``) and become one ``Float``, so
    sympy never does unbounded exact arithmetic on user constants (``(3*x)**1000`` nested
    three times would otherwise ask for 3**(10**9) exactly); constant exponents become
    exact integers or half-integers so that powers stay POWI and SQRT.
    """
    sp = _sympy()
    val: dict[int, object] = {}
    for n in _post_order(tree):
        c = info[id(n)].const
        if c is not None:
            val[id(n)] = sp.Float(c)
        elif isinstance(n, Var):
            val[id(n)] = symbols[n.name]
        else:
            val[id(n)] = _local(n, [val[id(a)] for a in _operands(n, info)], info)
    return val[id(tree)]


_KINKS: dict = {}


def _kinks() -> dict:
    """Light sympy functions for the kinks, used by the node-by-node path.

    sympy's own Max, Heaviside and Abs query the assumption system on every
    construction, which dominates the cost on long chains of max; these evaluate only on
    numbers, and their derivatives are the a.e. ones (sign, Heaviside, then zero).
    """
    if _KINKS:
        return _KINKS
    sp = _sympy()

    def num(a):
        return a.is_Number

    class KHeaviside(sp.Function):
        nargs = 1

        @classmethod
        def eval(cls, a):
            if num(a):
                return sp.Float(1.0 if a > 0 else (0.0 if a < 0 else 0.5))
            return None

        def fdiff(self, argindex=1):
            return sp.S.Zero

    class KSign(sp.Function):
        nargs = 1

        @classmethod
        def eval(cls, a):
            if num(a):
                return sp.Float(1.0 if a > 0 else (-1.0 if a < 0 else 0.0))
            return None

        def fdiff(self, argindex=1):
            return sp.S.Zero

    class KAbs(sp.Function):
        nargs = 1

        @classmethod
        def eval(cls, a):
            return abs(a) if num(a) else None

        def fdiff(self, argindex=1):
            return KSign(self.args[0])

    class KMax(sp.Function):
        nargs = 2

        @classmethod
        def eval(cls, a, b):
            return (a if a >= b else b) if num(a) and num(b) else None

        def fdiff(self, argindex=1):
            a, b = self.args
            return KHeaviside(a - b) if argindex == 1 else KHeaviside(b - a)

    class KMin(sp.Function):
        nargs = 2

        @classmethod
        def eval(cls, a, b):
            return (a if a <= b else b) if num(a) and num(b) else None

        def fdiff(self, argindex=1):
            a, b = self.args
            return KHeaviside(b - a) if argindex == 1 else KHeaviside(a - b)

    _KINKS.update(
        {
            KHeaviside: vm.HEAVISIDE,
            KSign: vm.SIGN,
            KAbs: vm.ABS,
            KMax: vm.MAX,
            KMin: vm.MIN,
            "max": KMax,
            "min": KMin,
            "abs": KAbs,
        }
    )
    return _KINKS


def _forward_mode(tree: Node, info: dict[int, _Info], x, y, dim: int):
    """Exact value, gradient and Hessian by the chain rule over the tree's nodes.

    Each node's local function is differentiated by sympy with respect to its operands
    (tiny expressions), and the chain rule combines those partials with the operands'
    derivatives through temporaries. The cost is linear in the size of the formula,
    where differentiating one big expression can take sympy seconds to minutes.

    Returns ``(assignments, outputs)``: ``assignments`` is a list of (Symbol, expr) in
    order, ``outputs`` the six expressions f, gx, gy, hxx, hxy, hyy over those symbols.
    """
    sp = _sympy()
    zero, one = sp.S.Zero, sp.S.One
    assigns: list = []
    counter = [0]

    def tmp(e):
        if e.is_Atom:
            return e
        counter[0] += 1
        t = sp.Symbol(f"_t{counter[0]}")
        assigns.append((t, e))
        return t

    def add(terms):
        terms = [t for t in terms if t is not zero]
        return tmp(sp.Add(*terms)) if terms else zero

    # the operand placeholders: real, so that abs' derivative is sign
    us = [sp.Symbol(f"_u{i}", real=True) for i in range(2)]
    comps = ((1,), (1, 2))[dim - 1]  # gradient components present
    hcomps = (((1, 1, 3),), ((1, 1, 3), (1, 2, 4), (2, 2, 5)))[dim - 1]

    def local(build, jets):
        k = len(jets)
        u = us[:k]
        phi = build(*u)
        sub = dict(zip(u, [j[0] for j in jets]))
        out = [tmp(phi.xreplace(sub)), zero, zero, zero, zero, zero]
        live = [i for i in range(k) if any(j is not zero for j in jets[i][1:])]
        if not live:
            return out
        p1 = {i: sp.diff(phi, u[i]) for i in live}
        p2 = {(i, j): sp.diff(p1[i], u[j]) for i in live for j in live if j >= i}
        p1 = {i: tmp(e.xreplace(sub)) for i, e in p1.items()}
        p2 = {key: tmp(e.xreplace(sub)) for key, e in p2.items()}
        for c in comps:
            out[c] = add([p1[i] * jets[i][c] for i in live])
        for a, b, h in hcomps:
            terms = [p1[i] * jets[i][h] for i in live]
            for i in live:
                for j in live:
                    terms.append(p2[(min(i, j), max(i, j))] * jets[i][a] * jets[j][b])
            out[h] = add(terms)
        return out

    jet: dict[int, list] = {}
    for n in _post_order(tree):
        c = info[id(n)].const
        if c is not None:
            jet[id(n)] = [sp.Float(c), zero, zero, zero, zero, zero]
            continue
        if isinstance(n, Var):
            is_y = n.name == "y"
            jet[id(n)] = [y if is_y else x, zero if is_y else one, one if is_y else zero]
            jet[id(n)] += [zero, zero, zero]
            continue
        ops = [jet[id(a)] for a in _operands(n, info)]
        if isinstance(n, Neg):
            jet[id(n)] = [e if e is zero else tmp(-e) for e in ops[0]]
        elif isinstance(n, Sum):
            signs = [s for s, _ in n.terms]
            jet[id(n)] = [
                add([j[k] if s == "+" else -j[k] for s, j in zip(signs, ops)]) for k in range(6)
            ]
        elif isinstance(n, Prod):
            acc = ops[0]
            for (op, _), j in zip(n.factors[1:], ops[1:]):
                acc = local((lambda a, b: a * b) if op == "*" else (lambda a, b: a / b), [acc, j])
            jet[id(n)] = acc
        elif isinstance(n, Call) and n.func in ("min", "max"):
            f = _kinks()[n.func]
            acc = ops[0]
            for j in ops[1:]:
                acc = local(lambda a, b, f=f: f(a, b), [acc, j])
            jet[id(n)] = acc
        elif isinstance(n, Call) and n.func == "abs":
            jet[id(n)] = local(_kinks()["abs"], ops)
        else:
            jet[id(n)] = local(lambda *a, n=n: _local(n, list(a), info), ops)
    return assigns, jet[id(tree)]


def _dag_size(exprs, limit: int) -> int:
    """Distinct sub-expressions of ``exprs``, counting stops once past ``limit``."""
    seen: set = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        if len(seen) > limit:
            break
        stack.extend(e.args)
    return len(seen)


# ---- emission ------------------------------------------------------------------------------------
class _Emitter:
    """Straight-line code over virtual registers, then register allocation."""

    def __init__(self, nout: int, xsym, ysym):
        self.nout = nout
        self.xsym = xsym
        self.ysym = ysym
        self.code: list[list[int]] = []  # (op, dst, a, b) over virtual registers
        self.memo: dict = {}  # sympy expression -> virtual register
        self.cmemo: dict[str, int] = {}  # repr(constant) -> virtual register
        self.consts: dict[str, int] = {}
        self.const_list: list[float] = []
        self.nv = 0

    # -- helpers
    def _new(self) -> int:
        self.nv += 1
        return self.nv - 1

    def _ins(self, op: int, a: int = -1, b: int = -1) -> int:
        d = self._new()
        self.code.append([op, d, a, b])
        if len(self.code) > MAX_INSTRUCTIONS:
            raise ExpressionError(
                "formula is too complex to differentiate", None, "its derivatives are too large"
            )
        return d

    def const(self, v: float) -> int:
        v = float(v)
        key = repr(v)  # tells 0.0 from -0.0; nan is one key
        if key not in self.cmemo:
            self.consts[key] = len(self.const_list)
            self.const_list.append(v)
            self.cmemo[key] = self._ins(vm.CONST, self.consts[key])
        return self.cmemo[key]

    # -- expressions
    def emit(self, e) -> int:
        if e in self.memo:
            return self.memo[e]
        r = self._emit(e)
        self.memo[e] = r
        return r

    def _emit(self, e) -> int:
        sp = _sympy()
        if e == self.xsym:
            return self._ins(vm.LOADX)
        if e == self.ysym:
            return self._ins(vm.LOADY)
        if not e.free_symbols:
            return self.const(self._const_value(e))
        if e.is_Symbol:  # a cse temporary not yet defined: cannot happen
            raise ExpressionError(f"cannot differentiate: unknown symbol {e}")
        if e.is_Add:
            return self._add(e)
        if e.is_Mul:
            return self._mul(e)
        if e.is_Pow:
            return self._pow(e.base, e.exp)
        if isinstance(e, sp.exp):
            return self._ins(vm.EXP, self.emit(e.args[0]))
        unary = {
            sp.sin: vm.SIN,
            sp.cos: vm.COS,
            sp.tan: vm.TAN,
            sp.asin: vm.ASIN,
            sp.acos: vm.ACOS,
            sp.atan: vm.ATAN,
            sp.sinh: vm.SINH,
            sp.cosh: vm.COSH,
            sp.tanh: vm.TANH,
            sp.log: vm.LOG,
            sp.Abs: vm.ABS,
            sp.sign: vm.SIGN,
        }
        f = e.func
        if f in unary and len(e.args) == 1:
            return self._ins(unary[f], self.emit(e.args[0]))
        kinks = _kinks()
        if f in kinks:
            regs = [self.emit(a) for a in e.args]
            return self._ins(kinks[f], regs[0], regs[1] if len(regs) > 1 else -1)
        if f is sp.Heaviside:
            # sympy's default Heaviside(0) = 1/2, which is the VM's convention
            if len(e.args) > 1 and e.args[1] != sp.Rational(1, 2):
                raise ExpressionError(f"cannot differentiate: {e}")
            return self._ins(vm.HEAVISIDE, self.emit(e.args[0]))
        if f is sp.DiracDelta:
            # the second derivative of a kink (abs, min, max) is zero everywhere it exists
            return self.const(0.0)
        if f in (sp.Min, sp.Max):
            op = vm.MIN if f is sp.Min else vm.MAX
            regs = [self.emit(a) for a in e.args]
            acc = regs[0]
            for r in regs[1:]:
                acc = self._ins(op, acc, r)
            return acc
        raise ExpressionError(
            f"cannot differentiate: sympy produced {f.__name__}, which has no VM operation"
        )

    def _const_value(self, e) -> float:
        try:
            v = complex(e.evalf(20))
        except (TypeError, ValueError, OverflowError):
            raise ExpressionError(f"cannot differentiate: constant {e} is not a number") from None
        if v.imag != 0.0:
            # e.g. log(-0.5) from the derivative of (-0.5)**x
            raise ExpressionError(
                f"not a real function: its derivative needs the complex number {v:.6g} "
                "(a negative number raised to a power that depends on the variables?)"
            )
        return v.real

    def _add(self, e) -> int:
        pos: list[int] = []
        neg: list[int] = []
        for t in e.args:
            c, rest = t.as_coeff_Mul()
            if c.is_Number and c.is_negative and rest.free_symbols:
                pos_t = rest if c == -1 else (-c) * rest
                neg.append(self.emit(pos_t))
            else:
                pos.append(self.emit(t))
        if pos:
            acc = pos[0]
            for r in pos[1:]:
                acc = self._ins(vm.ADD, acc, r)
        else:
            acc = self._ins(vm.NEG, neg.pop(0))
        for r in neg:
            acc = self._ins(vm.SUB, acc, r)
        return acc

    def _mul(self, e) -> int:
        sp = _sympy()
        c, rest = e.as_coeff_Mul()
        if c.is_Number and c != 1 and rest.free_symbols:
            if c == -1:
                return self._ins(vm.NEG, self.emit(rest))
            return self._ins(vm.MUL, self.const(self._const_value(c)), self.emit(rest))
        num: list[int] = []
        den: list[int] = []
        for f in e.args:
            if f.is_Pow and f.exp.is_Number and f.exp.is_negative and f.base.free_symbols:
                p = -f.exp
                den.append(self.emit(f.base if p == 1 else sp.Pow(f.base, p)))
            else:
                num.append(self.emit(f))
        acc = num[0] if num else self.const(1.0)
        for r in num[1:]:
            acc = self._ins(vm.MUL, acc, r)
        if den:
            d = den[0]
            for r in den[1:]:
                d = self._ins(vm.MUL, d, r)
            acc = self._ins(vm.DIV, acc, d)
        return acc

    def _pow(self, base, exp) -> int:
        sp = _sympy()
        if exp.is_Integer:
            n = int(exp)
            if n == 0:
                return self.const(1.0)
            b = self.emit(base)
            if n == 1:
                return b
            if n == -1:
                return self._ins(vm.DIV, self.const(1.0), b)
            if abs(n) <= 1_000_000:
                return self._ins(vm.POWI, b, n)
            return self._ins(vm.POW, b, self.const(float(n)))
        if exp == sp.Rational(1, 2):
            return self._ins(vm.SQRT, self.emit(base))
        if exp == sp.Rational(-1, 2):
            return self._ins(vm.DIV, self.const(1.0), self._ins(vm.SQRT, self.emit(base)))
        if not exp.free_symbols:
            return self._ins(vm.POW, self.emit(base), self.const(self._const_value(exp)))
        if base == sp.E:
            return self._ins(vm.EXP, self.emit(exp))
        return self._ins(vm.POW, self.emit(base), self.emit(exp))

    # -- programs
    def program(self, outputs: list[int]) -> list[list[int]]:
        """Allocate physical registers (outputs first) and return the rows of one program."""
        nout = self.nout
        # dead-code elimination: keep only what the outputs need
        live = set(outputs)
        keep = []
        for ins in reversed(self.code):
            op, d, a, b = ins
            if d not in live:
                continue
            keep.append(ins)
            if op not in (vm.LOADX, vm.LOADY, vm.CONST):
                live.add(a)
                if _uses_b(op):
                    live.add(b)
        body = keep[::-1]
        last: dict[int, int] = {}
        for k, (op, _d, a, b) in enumerate(body):
            if op in (vm.LOADX, vm.LOADY, vm.CONST):
                continue
            last[a] = k
            if _uses_b(op):
                last[b] = k
        end = len(body)
        for r in outputs:
            last[r] = end
        phys: dict[int, int] = {}
        free: list[int] = []
        top = nout
        rows: list[list[int]] = []
        for k, (op, d, a, b) in enumerate(body):
            pa = phys[a] if op not in (vm.LOADX, vm.LOADY, vm.CONST) else a
            pb = phys[b] if _uses_b(op) else b
            # operands whose last use is here are freed before choosing the destination
            for v in (a, b) if _uses_b(op) else (a,):
                if op in (vm.LOADX, vm.LOADY, vm.CONST):
                    break
                if last.get(v) == k and v in phys:
                    free.append(phys.pop(v))
            if d not in last:  # pragma: no cover - removed above
                continue
            if free:
                pd = free.pop()
            else:
                pd = top
                top += 1
            phys[d] = pd
            rows.append([op, pd, pa, pb])
        for i, r in enumerate(outputs):
            rows.append([vm.MOV, i, phys[r], -1])
        self.nreg_used = max(top, nout)
        return rows


def _uses_b(op: int) -> bool:
    return op in (vm.ADD, vm.SUB, vm.MUL, vm.DIV, vm.POW, vm.MIN, vm.MAX)


@dataclass(frozen=True)
class Program:
    """Compiled register programs for one formula (see :mod:`simulator.core.kernels.vm`)."""

    code: np.ndarray
    consts: np.ndarray
    hdr: np.ndarray
    variables: tuple[str, ...]
    dim: int
    canonical: str


def _variables_and_dim(tree: Node) -> tuple[tuple[str, ...], int]:
    used = expression_variables(tree)
    if "w" in used and len(used) > 1:
        col = _first_var_col(tree, "x" if "x" in used else "y")
        raise ExpressionError(
            "w cannot be mixed with x or y", col, "use w alone (a curve) or x and y (a surface)"
        )
    if used == ("y",):
        col = _first_var_col(tree, "y")
        raise ExpressionError(
            "y alone is not allowed", col, "use x (or w) for a curve, or x and y for a surface"
        )
    if used in (("w",), ("x",)):
        return used, 1
    return ("x", "y"), 2


def _first_var_col(tree: Node, name: str) -> int | None:
    best = None
    stack = [tree]
    while stack:
        n = stack.pop()
        if isinstance(n, Var) and n.name == name and (best is None or n.col < best):
            best = n.col
        stack.extend(_children(n))
    return best


def _whole_sympy(tree: Node, info: dict[int, _Info], x, y, dim: int):
    """Differentiate the whole formula with sympy; None when the derivatives grow large."""
    sp = _sympy()
    f = _to_sympy(tree, info, {"x": x, "y": y, "w": x})
    gx = sp.diff(f, x)
    gy = sp.diff(f, y) if dim == 2 else sp.S.Zero
    if _dag_size([f, gx, gy], MAX_DERIV_NODES) > MAX_DERIV_NODES // 4:
        return None
    hxx = sp.diff(gx, x)
    hxy = sp.diff(gx, y) if dim == 2 else sp.S.Zero
    hyy = sp.diff(gy, y) if dim == 2 else sp.S.Zero
    outs = [f, gx, gy, hxx, hxy, hyy]
    if _dag_size(outs, MAX_DERIV_NODES) > MAX_DERIV_NODES:
        return None
    return outs


def _compile_tree(tree: Node, canonical: str, method: str = "auto") -> Program:
    """Programs for a checked tree; ``method`` is "auto", "sympy" or "forward"."""
    variables, dim = _variables_and_dim(tree)
    sp = _sympy()
    info = _check(tree)
    x = sp.Symbol("x", real=True)
    y = sp.Symbol("y", real=True)  # a curve in w is a function of the first coordinate x
    outs = None
    if method == "sympy" or (method == "auto" and info[id(tree)].d2 <= SYMPY_ESTIMATE):
        outs = _whole_sympy(tree, info, x, y, dim)
    if outs is not None:
        for o in outs:
            if o.has(sp.Derivative, sp.Subs):
                raise ExpressionError(f"cannot differentiate {render(tree)}")
        plans = [sp.cse(outs[:k], order="none") for k in (1, 3, 6)]
    else:
        assigns, jet = _forward_mode(tree, info, x, y, dim)
        plans = [(assigns, jet[:k]) for k in (1, 3, 6)]

    rows: list[list[int]] = []
    consts: list[float] = []
    hdr = np.zeros(8, dtype=np.int64)
    nreg = 8
    for order, (replacements, reduced) in enumerate(plans):
        em = _Emitter(len(reduced), x, y)
        for sym, sub in replacements:
            em.memo[sym] = em.emit(sub)
        outputs = [em.emit(e) for e in reduced]
        prog = em.program(outputs)
        # constants are per program; shift CONST indices into the shared array
        base = len(consts)
        consts.extend(em.const_list)
        start = len(rows)
        for op, d, a, b in prog:
            rows.append([op, d, a + base if op == vm.CONST else a, b])
        hdr[1 + 2 * order] = start
        hdr[2 + 2 * order] = len(rows)
        nreg = max(nreg, em.nreg_used)
    if len(rows) > MAX_INSTRUCTIONS:
        raise ExpressionError(
            "formula is too complex to differentiate", None, "its derivatives are too large"
        )
    hdr[0] = nreg
    code = np.array(rows, dtype=np.int64).reshape(-1, 4)
    cst = np.array(consts if consts else [0.0], dtype=np.float64)
    for a in (code, cst, hdr):
        a.setflags(write=False)
    return Program(code, cst, hdr, variables, dim, canonical)


_cache: OrderedDict[str, Program] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every compiled formula."""
    with _cache_lock:
        _cache.clear()


def compile_expression(text: str) -> Program:
    """Parse, differentiate and compile formula text (cached by canonical text).

    Raises
    ------
    ExpressionError
        When the text is not a formula this grammar accepts, or its derivatives are too
        large to compile.
    """
    tree = parse_expression(text)
    key = render(tree)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    try:
        prog = _compile_tree(tree, key)
    except ExpressionError:
        raise
    except (ValueError, TypeError, ArithmeticError) as e:
        # a refusal from sympy that no rule above foresaw: still an ExpressionError, in
        # words, never sympy's own exception type
        raise ExpressionError(f"cannot work out the derivatives of {key}",
                              None, f"sympy refused it ({e})") from None
    with _cache_lock:
        _cache[key] = prog
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return prog


def _check_domain(domain, dim: int) -> tuple[tuple[float, float], ...]:
    if domain is None:
        return ((-3.0, 3.0),) * dim
    try:
        pairs = [tuple(p) for p in domain]
    except TypeError:
        raise ExpressionError(f"domain must be {dim} pair(s) (lo, hi)") from None
    if len(pairs) != dim or any(len(p) != 2 for p in pairs):
        raise ExpressionError(
            f"domain must be {dim} pair(s) (lo, hi) for a formula in "
            f"{'one variable' if dim == 1 else 'x and y'}, got {len(pairs)}"
        )
    out = []
    for lo, hi in pairs:
        try:
            lo_f, hi_f = float(lo), float(hi)
        except (TypeError, ValueError):
            raise ExpressionError(f"domain bounds must be numbers, got ({lo!r}, {hi!r})") from None
        if not (math.isfinite(lo_f) and math.isfinite(hi_f)) or not lo_f < hi_f:
            raise ExpressionError(f"domain bounds must be finite with lo < hi, got ({lo}, {hi})")
        out.append((lo_f, hi_f))
    return tuple(out)


def surface_from_expression(text: str, domain=None, name: str | None = None) -> Surface:
    """A surface (x and y) or curve (w or x alone) from formula text.

    Parameters
    ----------
    text : str
        The formula, e.g. ``"x**2 + 10*y**2"``; see the module docstring for the grammar.
    domain : sequence of (lo, hi) pairs, optional
        One pair per variable; ``(-3, 3)`` each by default.
    name : str, optional
        Display name; the formula text by default.

    Returns
    -------
    Surface
        ``kind="expression"``, evaluated by the register VM with exact derivatives.

    Raises
    ------
    ExpressionError
        Bad or unsafe text (with the column and a hint), or a bad domain.

    Examples
    --------
    >>> import simulator as sim
    >>> f = sim.surface_from_expression("x**2 + 10*y**2")
    >>> f.dim, f.domain
    (2, ((-3.0, 3.0), (-3.0, 3.0)))
    >>> f.gradient((1.0, 1.0))
    array([ 2., 20.])
    >>> sim.surface_from_expression("w**4 - w**2").dim
    1
    """
    prog = compile_expression(text)
    dom = _check_domain(domain, prog.dim)
    stripped = text.strip()
    return Surface(
        name=name or stripped,
        dim=prog.dim,
        domain=dom,
        sid=SID_EXPR,
        code=prog.code,
        consts=prog.consts,
        hdr=prog.hdr,
        kind="expression",
        formula=stripped,
        variables=prog.variables,
    )
