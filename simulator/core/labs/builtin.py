"""The built-in labs (``resources/labs``, read through importlib.resources): their ids in
teaching order, loading one by id, listing them, and :func:`load_lab` for an id or a
path."""

from __future__ import annotations

import json
import os
from typing import Any

from .io import loads_lab, read_lab_file
from .model import Lab, LabInfo
from .problems import LabError, Problem, close_matches
from .schema import BUILTIN_ORDER, SUFFIX


def _lab_files() -> dict[str, Any]:
    from importlib.resources import files

    root = files("simulator.resources.labs")
    return {e.name[: -len(SUFFIX)]: e for e in root.iterdir()
            if e.name.endswith(SUFFIX) and e.is_file()}


def builtin_lab_ids() -> list[str]:
    """Ids of the built-in labs, in teaching order."""
    ids = list(_lab_files())
    order = {k: i for i, k in enumerate(BUILTIN_ORDER)}
    return sorted(ids, key=lambda k: (order.get(k, len(order)), k))


def builtin_lab(lab_id: str) -> Lab:
    """The built-in lab ``lab_id``. Raises LookupError for an unknown id."""
    entries = _lab_files()
    if lab_id not in entries:
        ids = builtin_lab_ids()
        close = close_matches(str(lab_id), ids, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise LookupError(f"no built-in lab {lab_id!r}; {hint}built-in labs: "
                          f"{', '.join(ids)}")
    return loads_lab(entries[lab_id].read_bytes(), f"built-in lab {lab_id}")


def list_labs() -> list[LabInfo]:
    """The built-in labs (id, title, summary), in teaching order.

    Returns
    -------
    list of LabInfo
        Each lab's ``id``, ``title`` and ``summary``; load one with :func:`load_lab`.

    Examples
    --------
    >>> import simulator as sim
    >>> [info.id for info in sim.list_labs()][:3]
    ['lr-1d', 'ravine', 'race']

    Notes
    -----
    Reads only those three fields: building every lab's scene (a formula lab compiles
    its formula, importing sympy) cost the app's first window two seconds. The built-in
    files are validated whole by the tests; a broken one is still parsed (and its error
    raised) here.
    """
    out = []
    entries = _lab_files()
    for lab_id in builtin_lab_ids():
        try:
            d = json.loads(entries[lab_id].read_bytes())
            info = LabInfo(str(d["id"]), str(d["title"]), str(d["summary"]))
        except (ValueError, KeyError, TypeError):
            lab = builtin_lab(lab_id)
            info = LabInfo(lab.id, lab.title, lab.summary)
        out.append(info)
    return out


def load_lab(ref: str | os.PathLike) -> Lab:
    """A built-in lab by id, or a lab file by path.

    Parameters
    ----------
    ref : str or path-like
        A built-in lab's id (:func:`list_labs`) or a lab file's path. A string that names
        an existing file, ends in ``.json`` or contains a path separator is read as a
        file; otherwise it is looked up among the built-in labs.

    Returns
    -------
    Lab
        The validated lab; ``lab.steps`` its steps, ``lab.scene(step=i)`` a step's scene.

    Raises
    ------
    LabError
        The file cannot be read or is not a valid lab (every problem is listed).
    LookupError
        No built-in lab has that id.

    Examples
    --------
    >>> import simulator as sim
    >>> lab = sim.load_lab("lr-1d")
    >>> lab.title, len(lab.steps)
    ('The learning rate in one dimension', 3)
    """
    s = str(ref)
    if isinstance(ref, os.PathLike) or os.path.exists(s) or s.endswith(SUFFIX) or \
            os.sep in s:
        if not os.path.exists(s):
            raise LabError([Problem("", "no such file")], s)
        return read_lab_file(s)
    return builtin_lab(s)

