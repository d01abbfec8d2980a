"""Every public object of ``simulator`` has a numpydoc docstring, and its examples run.

The check follows stumpy's (its ``docstring.py``, run by its test script): for each class
and function in ``simulator.__all__``, the names in the docstring's Parameters section
must be exactly the parameters of the signature, in order (a class's signature is its
constructor's). Here it also asks for a one-line summary ending in a period, and runs the
docstrings' Examples sections as doctests (methods' docstrings included), so that an
example cannot rot when the code changes.

Constants in ``__all__`` (``MAX_STEPS``, ``OPTIMIZERS``, ...) carry no docstring of their
own: they are documented where they are defined and in the README.
"""

from __future__ import annotations

import doctest
import inspect
import re

import numpy as np
import pytest

import simulator as sim

NAMES = sorted(sim.__all__)
CALLABLES = [
    n for n in NAMES if inspect.isclass(getattr(sim, n)) or inspect.isroutine(getattr(sim, n))
]
CONSTANTS = [n for n in NAMES if n not in CALLABLES]

# Public objects whose docstrings do not pass yet, with the reason; the mark is strict:
# once a docstring passes, this test fails until its entry is removed.
PENDING: dict[str, str] = {}

_HEADER = re.compile(r"^(\S[^\n]*)\n(-{3,})$", re.MULTILINE)


def own_docstring(obj) -> str | None:
    """The object's own docstring, cleaned; None when it has none.

    A class without one would otherwise show its base class's (``inspect.getdoc``) or
    the signature a dataclass writes into ``__doc__``.
    """
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        if doc and doc.startswith(f"{obj.__name__}("):  # dataclass's generated text
            return None
    else:
        doc = obj.__doc__
    return inspect.cleandoc(doc) if doc and doc.strip() else None


def sections(doc: str) -> dict[str, str]:
    """numpydoc sections by title: the text between a title's dashes and the next title."""
    heads = [m for m in _HEADER.finditer(doc) if len(m.group(2)) == len(m.group(1).strip())]
    out = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(doc)
        out[m.group(1).strip()] = doc[m.end() : end]
    return out


def documented_parameters(section: str) -> list[str]:
    """Names a Parameters section documents, in order.

    An entry is a line at the section's left margin: ``name : type``, a bare ``name``,
    ``*args`` / ``**kwargs``, or several names sharing a description (``lo, hi : float``).
    """
    names = []
    for line in section.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        head = line.split(" : ", 1)[0]
        names += [n.strip().lstrip("*") for n in head.split(",")]
    return names


def signature_parameters(obj) -> list[str]:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):  # pragma: no cover - every public object has one
        return []
    return [p.name for p in sig.parameters.values()]


def _pending(name: str):
    if name in PENDING:
        return pytest.param(name, marks=pytest.mark.xfail(reason=PENDING[name], strict=True))
    return name


@pytest.mark.parametrize("name", [_pending(n) for n in CALLABLES])
def test_numpydoc_docstring(name):
    obj = getattr(sim, name)
    doc = own_docstring(obj)
    assert doc, f"sim.{name} has no docstring of its own"
    summary = doc.split("\n\n", 1)[0]
    assert "\n" not in summary, f"sim.{name}: the summary should fit on one line: {summary!r}"
    assert summary.endswith("."), f"sim.{name}: the summary should end with a period"
    params = signature_parameters(obj)
    found = sections(doc)
    if params:
        assert "Parameters" in found, f"sim.{name}{inspect.signature(obj)}: no Parameters section"
    documented = documented_parameters(found.get("Parameters", ""))
    missing = [p for p in params if p not in documented]
    extra = [p for p in documented if p not in params]
    assert not missing, f"sim.{name}: parameters not documented: {missing}"
    assert not extra, f"sim.{name}: documented but not in the signature: {extra}"
    assert documented == params, f"sim.{name}: documented in the order {documented}, not {params}"


# The optimizer and schedule classes are what a student types; each shows one.
EXAMPLES_REQUIRED = sorted(
    [*sim.OPTIMIZERS, *sim.SCHEDULES, "Optimizer", "Schedule",
     "optimizer_from_dict", "schedule_from_dict"]
)


@pytest.mark.parametrize("name", EXAMPLES_REQUIRED)
def test_optimizers_and_schedules_have_examples(name):
    doc = own_docstring(getattr(sim, name)) or ""
    assert ">>>" in sections(doc).get("Examples", ""), f"sim.{name}: no Examples section"


def _doctests(name: str) -> list[doctest.DocTest]:
    obj = getattr(sim, name)
    finder = doctest.DocTestFinder(recurse=True, exclude_empty=True)
    module = inspect.getmodule(obj)
    tests = finder.find(obj, f"simulator.{name}", module=module, globs={"np": np})
    return [t for t in tests if t.examples]


DOCTESTED = [n for n in CALLABLES if _doctests(n)]


@pytest.mark.parametrize("name", DOCTESTED)
def test_examples_run(name):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    out = []
    for test in _doctests(name):
        runner.run(test, out=out.append)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0
    assert failed == 0, "".join(out)


def test_every_public_name_is_checked():
    # a public name is either checked above or a plain constant
    for n in CONSTANTS:
        assert isinstance(getattr(sim, n), (int, float, str, tuple, dict)), n
    assert set(EXAMPLES_REQUIRED) <= set(CALLABLES)
    assert set(PENDING) <= set(CALLABLES)


# ---- the checker itself -----------------------------------------------------------------------
def test_checker_reads_numpydoc():
    doc = inspect.cleandoc(
        """Summary.

        Parameters
        ----------
        a : int
            The first.
        lo, hi : float
        *args
        **kwargs : dict
            More lines: not an entry.

        Returns
        -------
        int
        """
    )
    found = sections(doc)
    assert list(found) == ["Parameters", "Returns"]
    assert documented_parameters(found["Parameters"]) == ["a", "lo", "hi", "args", "kwargs"]


def test_checker_catches_a_missing_parameter_and_a_generated_docstring():
    from dataclasses import dataclass

    @dataclass
    class Rec:
        x: int = 0

    assert own_docstring(Rec) is None  # the dataclass's "Rec(x: int = 0)" is no docstring

    def f(a, b):
        """Summary.

        Parameters
        ----------
        a : int
        c : int
        """

    documented = documented_parameters(sections(own_docstring(f))["Parameters"])
    assert documented != signature_parameters(f)
