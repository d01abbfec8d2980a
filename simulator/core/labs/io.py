"""Lab files: bounded reading (a regular file of at most :data:`~.schema.MAX_FILE_BYTES`,
JSON only, no code ever run), writing atomically, and the text form."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..files import HugeNumberError, atomic_write_text, json_int, read_small_file
from .model import Lab
from .problems import LabError, Problem
from .schema import MAX_FILE_BYTES
from .validate import parse_lab


def read_lab_file(path: str | os.PathLike) -> Lab:
    """Read and validate a lab file. Raises :class:`LabError` (a ValueError) on any
    problem: unreadable, too big, not JSON, or invalid."""
    p = Path(path)
    src = str(p)
    try:
        # a regular file, at most MAX_FILE_BYTES read whatever st_size says: /dev/zero
        # reports 0 bytes and never ends, a FIFO blocks (simulator.core.files)
        raw = read_small_file(p, MAX_FILE_BYTES, "lab file")
    except OSError as e:
        raise LabError([Problem("", f"cannot read the file ({e.strerror or e})")], src) \
            from None
    return loads_lab(raw, src)


def loads_lab(text: str | bytes, source: str | None = None) -> Lab:
    """Parse lab JSON text (JSON only: no code is ever run)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
        data = json.loads(text, parse_constant=_no_constant, parse_int=json_int)
    except HugeNumberError as e:
        raise LabError([Problem("", str(e))], source) from None
    except UnicodeDecodeError:
        raise LabError([Problem("", "not a text file (a lab is UTF-8 JSON)")], source) \
            from None
    except (json.JSONDecodeError, ValueError) as e:
        where = f" at line {e.lineno}, column {e.colno}" if isinstance(
            e, json.JSONDecodeError) else ""
        msg = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise LabError([Problem("", f"not valid JSON{where}: {msg}")], source) from None
    except RecursionError:
        raise LabError([Problem("", "the JSON is nested too deeply")], source) from None
    return parse_lab(data, source)


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed in a lab (use finite numbers)")


def dumps_lab(lab: Lab | dict) -> str:
    data = lab.to_dict() if isinstance(lab, Lab) else lab
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def save_lab(lab: Lab | dict, path: str | os.PathLike) -> None:
    """Validate and write a lab file atomically. A dict is checked first (LabError)."""
    if isinstance(lab, dict):
        parse_lab(lab)
    atomic_write_text(path, dumps_lab(lab))



def validate_lab(lab: str | os.PathLike | dict) -> list[Problem]:
    """Every problem of a lab file or of lab data; an empty list when it is valid.

    Parameters
    ----------
    lab : str, path-like or dict
        The path of a lab file, or lab data as read from JSON.

    Returns
    -------
    list of Problem
        Each problem's ``place`` (where in the file: ``"lanes[2].optimizer.lr"``,
        ``"steps[1].task.check.lane"``, ``""`` for the whole file) and ``message``;
        ``str(problem)`` joins them. A file that cannot be read, is not UTF-8 or not
        JSON gives one problem saying so.

    Examples
    --------
    >>> import simulator as sim
    >>> lab = sim.load_lab("race").to_dict()
    >>> sim.validate_lab(lab)
    []
    >>> lab["title"] = ""
    >>> lab["steps"][1]["scene"]["lanes"][0]["optimizer"]["lr"] = -1
    >>> lab["steps"][1]["task"]["check"]["lane"] = "Adma"
    >>> for problem in sim.validate_lab(lab):
    ...     print(problem)
    title: must be a non-empty text
    steps[1].scene.lanes[0].optimizer.lr: must be a positive number, got -1
    steps[1].task.check: names the lane 'Adma', which this step's scene does not have (lanes: Adam)
    """
    try:
        if isinstance(lab, dict):
            parse_lab(lab)
        else:
            read_lab_file(lab)
    except LabError as e:
        return e.problems
    return []
