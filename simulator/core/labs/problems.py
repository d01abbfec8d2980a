"""Problems with a lab: :class:`Problem` (a place and a message), :class:`LabError`
(every problem of one file) and :class:`Checker`, which collects problems while a lab is
checked so that the validator reports all of them, not the first.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lab: where in the file and what.

    Parameters
    ----------
    place : str
        The path in the file (``"lanes[2].optimizer.lr"``, ``"steps[0].task.check"``),
        ``""`` for the file as a whole.
    message : str
        What is wrong, for the author.

    Examples
    --------
    >>> import simulator as sim
    >>> print(sim.Problem("lanes[2].optimizer.lr", "must be a positive number, got -0.1"))
    lanes[2].optimizer.lr: must be a positive number, got -0.1
    """

    place: str
    message: str

    def __str__(self) -> str:
        return f"{self.place}: {self.message}" if self.place else self.message


class LabError(ValueError):
    """A lab that cannot be loaded (a ValueError); ``problems`` lists every problem found.

    ``str(err)`` gives one problem per line; :meth:`one_line` a short summary for a
    status bar.

    Parameters
    ----------
    problems : iterable of Problem
        Every problem found (at least one).
    source : str or None
        The file or built-in lab they were found in.

    Examples
    --------
    >>> import simulator as sim
    >>> try:
    ...     sim.load_lab("no-such-lab.json")
    ... except sim.LabError as err:
    ...     print(err.one_line())
    no-such-lab.json: no such file
    """

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems = list(problems) or [Problem("", "not a valid lab")]
        self.source = source
        super().__init__("\n".join(str(p) for p in self.problems))

    def one_line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        more = len(self.problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        return f"{where}{self.problems[0]}{tail}"


class Checker:
    """Collects problems with their places while a lab is checked."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, place: str, message: str) -> None:
        self.problems.append(Problem(place, message))

    def unknown_keys(self, d: dict, allowed: Iterable[str], place: str) -> None:
        allowed = list(allowed)
        for k in d:
            if k not in allowed:
                close = close_matches(str(k), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else \
                    f" (known: {', '.join(allowed)})"
                self.add(join(place, str(k)), f"unknown field{hint}")

    # typed getters: return the value, or None after recording a problem
    def number(self, v, place: str, *, lo: float | None = None, lo_open: bool = False,
               hi: float | None = None, what: str = "a number") -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.add(place, f"must be {what}, got {show(v)}")
            return None
        if lo is not None and (v <= lo if lo_open else v < lo):
            self.add(place, f"must be {what}, got {show(v)}")
            return None
        if hi is not None and v > hi:
            self.add(place, f"must be {what}, got {show(v)}")
            return None
        return float(v)

    def integer(self, v, place: str, lo: int, hi: int, what: str) -> int | None:
        ok = isinstance(v, int) and not isinstance(v, bool)
        if isinstance(v, float) and v.is_integer():
            ok, v = True, int(v)
        if not ok or not lo <= v <= hi:
            self.add(place, f"must be {what}, got {show(v)}")
            return None
        return int(v)

    def text(self, v, place: str, *, required: bool, max_len: int, one_line: bool = False
             ) -> str | None:
        if v is None and not required:
            return None
        if not isinstance(v, str) or not v.strip():
            self.add(place, "must be a non-empty text" if required or v is not None
                     else "is missing")
            return None
        if len(v) > max_len:
            self.add(place, f"is too long ({len(v):,} characters; at most {max_len:,})")
            return None
        if one_line and ("\n" in v or "\r" in v):
            self.add(place, "must be one line")
            return None
        return v.strip()


def close_matches(word: str, options, n: int = 1) -> list[str]:
    """difflib's close matches, for a word of reasonable length only: against a
    5 MB name (a hostile file) difflib takes minutes."""
    return difflib.get_close_matches(word, options, n=n) if len(word) <= 100 else []


def join(place: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else key


def show(v) -> str:
    s = json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else \
        type(v).__name__ if isinstance(v, (dict, list)) else repr(v)
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "a list"
    return s if len(s) <= 60 else s[:57] + "..."

