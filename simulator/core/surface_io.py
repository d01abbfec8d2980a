"""One serialiser for every surface: the JSON form sessions, labs, exports and surface
files share, and its readers.

The form (one vocabulary of kinds for everything LossLab writes)::

    {"kind": "builtin", "name": "rosenbrock", "params": {"a": 1, "b": 100},
     "domain": [[-2, 2], [-1, 3]]}
    {"kind": "expression", "formula": "x**2 + 10*y**2", "domain": [[-3, 3], [-3, 3]]}
    {"kind": "flat", "domain": [[-3, 3], [-3, 3]]}
    {"kind": "data", "name": "linear-regression", "params": {"n": 64, "seed": 0, ...}}
    {"kind": "drawn", "base": {<one of the above>}, "bumps": [[cx, cy, amp, sigma], ...]}
    {"kind": "network", "dataset": "moons", "hidden": [16], "activation": "tanh",
     "n_train": 256, "n_test": 256, "noise": 0.2, "label_noise": 0.0, "classes": null,
     "seed": 0, "init_seed": null}

``domain`` is optional everywhere (the surface's own default when missing). The lab
file spellings ``"library"`` (for ``"builtin"``) and ``"formula"`` (for ``"expression"``)
and the older session spelling of drawn surfaces (a library name plus bumps) are read
too, so every file written before this module still opens.

Two readers share that vocabulary: :func:`surface_from_dict` raises the first problem
as a ``ValueError`` naming its place (``bumps[3][3]: sigma must be > 0, got -1``), for
session and surface files; :func:`check_surface` records *every* problem with a
collector and is what the lab validator uses.

Never imports Qt.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .drawn import (
    DEFAULT_DOMAIN,
    FORMAT,
    MAX_BUMPS,
    MAX_NAME,
    VERSION,
    _at,
    _base_kind,
    _domain,
    _err,
    _show,
    base_of,
    bumps_of,
    check_bumps,
    drawn_surface,
    flat_surface,
)
from .files import atomic_write_text, loads_json_file, read_small_file
from .files import jsonable as _jsonable
from .surface import SID_FLAT, Surface

__all__ = [
    "KINDS",
    "ALIASES",
    "canonical_kind",
    "surface_to_dict",
    "surface_from_dict",
    "check_surface",
    "surface_file_dict",
    "surface_from_file_dict",
    "save_surface",
    "load_surface",
]

#: The kinds LossLab writes.
KINDS = ("builtin", "expression", "flat", "data", "drawn", "network")
#: Other spellings it reads (lab files say "library" and "formula").
ALIASES = {"library": "builtin", "formula": "expression"}
_KIND_ALIASES = ALIASES


def canonical_kind(kind):
    """``kind`` in the one vocabulary (``"library"`` -> ``"builtin"``, ...)."""
    return ALIASES.get(kind, kind) if isinstance(kind, str) else kind


# ---- writing -------------------------------------------------------------------------------
def _domain_list(s: Surface) -> list:
    return [[float(lo), float(hi)] for lo, hi in s.domain]


def surface_to_dict(surface: Surface) -> dict:
    """A JSON-ready dict that :func:`surface_from_dict` turns back into ``surface``.

    Works for every kind: builtin, expression, flat, data and drawn (whose ``base`` is
    one of the others).
    """
    from .network import Network

    if isinstance(surface, Network):
        return {"kind": "network", **_jsonable(surface.to_dict())}
    if not isinstance(surface, Surface):
        raise ValueError(f"not a surface: {surface!r}")
    if surface.kind == "function":
        raise ValueError(
            f"the surface {surface.name!r} is a Python function (sim.surface_from_function "
            "with grad=): a file cannot hold Python code, so it cannot be saved. Write it "
            "as a formula (sim.surface_from_expression) to save it")
    if len(surface.bumps) or surface.kind == "drawn":
        return {
            "kind": "drawn",
            "base": surface_to_dict(base_of(surface)),
            "bumps": bumps_of(surface).tolist(),
        }
    kind = _base_kind(surface)
    if kind == "flat":
        return {"kind": "flat", "domain": _domain_list(surface)}
    if kind == "expression":
        return {"kind": "expression", "formula": surface.formula or surface.name,
                "domain": _domain_list(surface)}
    from .library import surface_parameters

    try:
        known = {p.name for p in surface_parameters(surface.name)}
    except LookupError:
        raise ValueError(f"cannot describe surface {surface.name!r}: it is not in the "
                         "library") from None
    return {
        "kind": kind,
        "name": surface.name,
        "params": _jsonable({k: v for k, v in surface.params.items() if k in known}),
        "domain": _domain_list(surface),
    }


# ---- the strict reader (sessions, surface files) ------------------------------------------
def _keys(d: dict, allowed: Sequence[str], place: str) -> None:
    for k in d:
        if k not in allowed:
            raise _err(_at(place, str(k)), f"unknown key (expected {', '.join(allowed)})")


def surface_from_dict(d, place: str = "") -> Surface:
    """Build a surface from :func:`surface_to_dict` output (or a lab's surface object).

    Raises
    ------
    ValueError
        Anything missing or wrong, naming its place (``base.name: unknown surface 'x'``,
        ``bumps[3][3]: sigma must be > 0, got -1``).
    """
    if not isinstance(d, dict):
        raise _err(place, f"a surface must be an object such as {{\"kind\": \"builtin\", "
                          f"\"name\": \"rosenbrock\"}}, got {_show(d)}")
    name = d.get("name")
    if isinstance(name, str) and len(name) > MAX_NAME:
        raise _err(_at(place, "name"), f"is too long ({len(name):,} characters; at most "
                                       f"{MAX_NAME})")
    kind = d.get("kind", "builtin")
    kind = canonical_kind(kind)
    if kind not in KINDS:
        raise _err(_at(place, "kind"), f"must be one of {', '.join(KINDS)}, got {_show(kind)}")
    if kind == "network":
        return _network(d, place)
    dom_raw = d.get("domain")
    if kind == "drawn":
        if "base" not in d:
            return _legacy_drawn(d, place)
        _keys(d, ("kind", "base", "bumps", "domain", "name"), place)
        base_d = d.get("base")
        if isinstance(base_d, dict) and canonical_kind(base_d.get("kind")) == "drawn":
            raise _err(_at(place, "base"), "a drawn surface's base cannot itself be drawn")
        if isinstance(base_d, dict) and dom_raw is not None and "domain" not in base_d:
            base_d = {**base_d, "domain": dom_raw}
        base = surface_from_dict(base_d, _at(place, "base"))
        if base.dim != 2:
            raise _err(_at(place, "base"), f"must be a 2-D surface; {base.name!r} is a "
                                           "1-D curve")
        bumps = check_bumps(d.get("bumps", []), _at(place, "bumps"))
        name = d.get("name")
        return drawn_surface(base, bumps, name=name if isinstance(name, str) and name
                             else None)
    if kind == "flat":
        _keys(d, ("kind", "domain", "dim", "name", "params"), place)
        if d.get("dim", 2) != 2:
            raise _err(_at(place, "dim"), f"a flat base is 2-D, got {_show(d.get('dim'))}")
        dom = _domain(dom_raw, 2, _at(place, "domain")) if dom_raw is not None else None
        return flat_surface(dom or DEFAULT_DOMAIN)
    if kind == "expression":
        _keys(d, ("kind", "formula", "domain", "name", "params"), place)
        from .expressions import ExpressionError, surface_from_expression

        text = d.get("formula")
        if text is None and isinstance(d.get("name"), str):
            text = d["name"]
        if not isinstance(text, str) or not text.strip():
            raise _err(_at(place, "formula"), "must be a formula such as \"x**2 + 10*y**2\"")
        dom = _domain(dom_raw, None, _at(place, "domain")) if dom_raw is not None else None
        try:
            return surface_from_expression(text, domain=dom)
        except ExpressionError as e:
            raise _err(_at(place, "formula"), str(e)) from None
    # builtin / data
    _keys(d, ("kind", "name", "params", "domain", "bumps"), place)
    s = _library(d, place, kind)
    if dom_raw is not None:
        dom = _domain(dom_raw, s.dim, _at(place, "domain"))
        if dom != s.domain:
            s = dataclasses.replace(s, domain=dom)
    bumps = d.get("bumps")
    if bumps:  # the session format before drawn surfaces had a base
        s = drawn_surface(s, check_bumps(bumps, _at(place, "bumps")))
    return s


def _network(d: dict, place: str):
    """A ``Network`` from ``{"kind": "network", ...}`` (its constructor's arguments)."""
    from .network import network_from_dict

    try:
        return network_from_dict(d)
    except (ValueError, TypeError) as e:
        raise _err(place, f"network: {e}") from None


def _library(d: dict, place: str, kind: str) -> Surface:
    from .library import get_surface, list_surfaces, surface_parameters

    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _err(_at(place, "name"), "must name a library surface, e.g. \"rosenbrock\"")
    try:
        specs = {p.name for p in surface_parameters(name)}
    except LookupError:
        import difflib

        close = difflib.get_close_matches(name, list_surfaces(), n=1) \
            if len(name) <= MAX_NAME else []
        hint = f"did you mean {close[0]!r}?" if close else \
            f"use one of {', '.join(list_surfaces())}"
        raise _err(_at(place, "name"), f"unknown surface {name!r}; {hint}") from None
    params = d.get("params") or {}
    if not isinstance(params, dict):
        raise _err(_at(place, "params"), "must be an object of parameter values")
    recorded = set()  # what a data surface records about its data but is not a parameter
    if kind == "data":
        try:
            recorded = set(get_surface(name).params) - specs
        except (LookupError, ValueError, TypeError):
            pass
    params = {k: v for k, v in params.items() if k not in recorded}
    for k in params:
        if k not in specs:
            raise _err(_at(_at(place, "params"), str(k)),
                       f"{name} has no parameter {k!r} (parameters: "
                       f"{', '.join(sorted(specs)) or 'none'})")
    for k, v in params.items():
        try:
            get_surface(name, **{k: v})
        except (ValueError, TypeError) as e:
            msg = str(e)
            for pre in (f"{name}: ", f"{name.strip().lower()}: "):
                if msg.startswith(pre):
                    msg = msg[len(pre):]
            if msg.startswith(f"{k} "):
                msg = msg[len(k) + 1:]
            raise _err(_at(_at(place, "params"), str(k)), msg) from None
    try:
        s = get_surface(name, **params)
    except (ValueError, TypeError) as e:
        raise _err(_at(place, "params"), str(e)) from None
    if kind == "data" and s.kind != "data":
        raise _err(_at(place, "name"), f"{name!r} is not a data surface")
    return s


def _legacy_drawn(d: dict, place: str) -> Surface:
    """``{"kind": "drawn", "name": <library name>, "params": ..., "bumps": ...}``: what
    sessions wrote before drawn surfaces carried their base."""
    if "formula" in d:
        base_d = {"kind": "expression", "formula": d["formula"]}
    elif d.get("name") == "flat":
        base_d = {"kind": "flat"}
    else:
        base_d = {"kind": "builtin", "name": d.get("name"), "params": d.get("params") or {}}
    if d.get("domain") is not None:
        base_d["domain"] = d["domain"]
    return surface_from_dict({"kind": "drawn", "base": base_d, "bumps": d.get("bumps", [])},
                             place)


# ---- surface files -------------------------------------------------------------------------------
def surface_file_dict(surface: Surface) -> dict:
    """The content of a surface file: ``{"format": "losslab-surface", "version": 1, ...}``
    followed by :func:`surface_to_dict`'s keys."""
    return {"format": FORMAT, "version": VERSION, **surface_to_dict(surface)}


def surface_from_file_dict(d) -> Surface:
    """Check a surface file's header and build its surface (ValueError saying why not)."""
    if not isinstance(d, dict):
        raise ValueError("not a LossLab surface file: the file must hold a JSON object")
    if d.get("format") != FORMAT:
        got = d.get("format")
        what = f" (its format is {_show(got)})" if got is not None else ""
        raise ValueError(f"not a LossLab surface file{what}: expected "
                         f"\"format\": \"{FORMAT}\"")
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"version: must be a whole number, got {_show(version)}")
    if version > VERSION:
        raise ValueError(f"version: the file has version {version}; this LossLab reads "
                         f"surface files up to version {VERSION}")
    if version < 1:
        raise ValueError(f"version: must be >= 1, got {version}")
    body = {k: v for k, v in d.items() if k not in ("format", "version")}
    return surface_from_dict(body)


def save_surface(path: str | os.PathLike, surface: Surface) -> None:
    """Write ``surface`` as a JSON surface file (atomically: a failed save never leaves a
    truncated file)."""
    atomic_write_text(path, json.dumps(surface_file_dict(surface), indent=1) + "\n")


def load_surface(path: str | os.PathLike) -> Surface:
    """Read a surface file written by :func:`save_surface`.

    Raises
    ------
    OSError
        The file cannot be read.
    ValueError
        Too large, not JSON (with line and column), not a surface file, or a bad
        surface inside (naming the place).
    """
    from . import drawn

    path = Path(path)
    try:
        # a regular file, never more than drawn.MAX_FILE_BYTES read (/dev/zero says 0
        # bytes); the limit lives with the surface file format
        raw = read_small_file(path, drawn.MAX_FILE_BYTES, "surface file")
    except OSError as e:
        if e.errno is not None:  # the system's own reason (missing, permission denied)
            raise
        raise ValueError(f"{path.name}: {e}") from None
    return surface_from_file_dict(loads_json_file(raw, path.name, "a surface file"))

# ---- the collecting reader (lab files) ----------------------------------------------------
def _join(place: str, key) -> str:
    if isinstance(key, int):
        return f"{place}[{key}]"
    return f"{place}.{key}" if place else key


def _show_json(v) -> str:
    if isinstance(v, (dict, list)):
        return "an object" if isinstance(v, dict) else "a list"
    s = json.dumps(v) if isinstance(v, (str, int, float, bool, type(None))) else repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _strip_prefix(msg: str, *prefixes: str) -> str:
    for pre in prefixes:
        if pre and msg.startswith(pre + ": "):
            return msg[len(pre) + 2:]
    return msg


def _check_domain(ck, v, place: str) -> tuple[tuple[float, float], ...] | None:
    """A domain ``[[lo, hi], ...]`` (one or two pairs), problems recorded with ``ck``."""
    if not isinstance(v, list) or not 1 <= len(v) <= 2:
        ck.add(place, "must be a list of one or two [low, high] pairs")
        return None
    out = []
    for i, pair in enumerate(v):
        p = _join(place, i)
        if not isinstance(pair, list) or len(pair) != 2:
            ck.add(p, "must be a pair [low, high]")
            return None
        lo = ck.number(pair[0], _join(p, 0), what="a finite number")
        hi = ck.number(pair[1], _join(p, 1), what="a finite number")
        if lo is None or hi is None:
            return None
        if not lo < hi:
            ck.add(p, f"low must be below high, got [{lo:g}, {hi:g}]")
            return None
        out.append((lo, hi))
    return tuple(out)


def check_surface(ck, spec, place: str, domain=None) -> Surface | None:
    """Check a surface object and build it, recording *every* problem found with ``ck``
    (the lab validator's collector: ``add``, ``unknown_keys``, ``number``, ``problems``);
    None when anything is wrong.

    ``domain`` (a lab's top-level ``domain``) wins over a ``domain`` inside ``spec``.
    Reads the same vocabulary as :func:`surface_from_dict`, aliases included.
    """
    from .library import get_surface, list_surfaces, surface_parameters

    if not isinstance(spec, dict):
        ck.add(place, "must be an object such as {\"kind\": \"library\", \"name\": "
                      "\"rosenbrock\"}")
        return None
    kind = canonical_kind(spec.get("kind", "builtin"))
    if kind not in KINDS:
        ck.add(_join(place, "kind"), f"must be one of {', '.join(KINDS)}, got {_show_json(kind)}")
        return None
    if kind == "network":
        try:
            return _network(spec, place)
        except ValueError as e:
            ck.add(place, _strip_prefix(str(e), place))
            return None
    if domain is None and spec.get("domain") is not None and kind != "drawn":
        n0 = len(ck.problems)
        domain = _check_domain(ck, spec["domain"], _join(place, "domain"))
        if len(ck.problems) > n0:
            return None
    if kind in ("builtin", "data"):
        ck.unknown_keys(spec, ("kind", "name", "params", "domain"), place)
        name = spec.get("name")
        names = list_surfaces()
        if not isinstance(name, str) or not name.strip():
            ck.add(_join(place, "name"), f"must name a library surface ({', '.join(names)})")
            return None
        try:
            specs = {p.name: p for p in surface_parameters(name)}
        except LookupError:
            # against a 5 MB name (a hostile file) difflib takes minutes
            close = difflib.get_close_matches(name, names, n=1) if len(name) <= MAX_NAME \
                else []
            hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(names)}"
            ck.add(_join(place, "name"), f"unknown surface {name!r}; {hint}")
            return None
        params = spec.get("params", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            ck.add(_join(place, "params"), "must be an object of parameter values")
            return None
        good = {}
        n0 = len(ck.problems)
        for k, v in params.items():
            pp = _join(_join(place, "params"), str(k))
            if k not in specs:
                valid = ", ".join(specs) or "none"
                ck.add(pp, f"{name} has no parameter {k!r} (parameters: {valid})")
                continue
            try:
                get_surface(name, **{k: v})
                good[k] = v
            except (ValueError, TypeError) as e:
                ck.add(pp, _strip_prefix(str(e), name, name.strip().lower()))
        if len(ck.problems) > n0:
            return None
        try:
            s = get_surface(name, **good)
        except (ValueError, TypeError, LookupError) as e:
            ck.add(place, str(e))
            return None
        if kind == "data" and s.kind != "data":
            ck.add(_join(place, "name"), f"{name!r} is not a data surface")
            return None
    elif kind == "expression":
        from .expressions import ExpressionError, surface_from_expression

        ck.unknown_keys(spec, ("kind", "formula", "domain"), place)
        text = spec.get("formula")
        if not isinstance(text, str) or not text.strip():
            ck.add(_join(place, "formula"), "must be a formula such as \"x**2 + 10*y**2\"")
            return None
        if len(text) > 2000:
            ck.add(_join(place, "formula"), "is too long (at most 2,000 characters)")
            return None
        try:
            s = surface_from_expression(text, domain=domain)
        except ExpressionError as e:
            ck.add(_join(place, "formula"), str(e))
            return None
        except (ValueError, TypeError) as e:
            ck.add(_join(place, "formula"), str(e))
            return None
        domain = None  # already applied
    elif kind == "flat":
        ck.unknown_keys(spec, ("kind", "dim", "domain"), place)
        dim = spec.get("dim", len(domain) if domain else 2)
        if dim not in (1, 2) or isinstance(dim, bool):
            ck.add(_join(place, "dim"), f"must be 1 or 2, got {_show_json(dim)}")
            return None
        dom = domain or tuple((-3.0, 3.0) for _ in range(dim))
        if len(dom) != dim:
            return None  # reported by the caller's domain check
        s = Surface(name="flat", dim=dim, domain=dom, sid=SID_FLAT, kind="flat",
                    description="A flat plane to draw hills and wells on.")
        domain = None
    else:  # drawn
        ck.unknown_keys(spec, ("kind", "base", "bumps", "domain"), place)
        if domain is None and spec.get("domain") is not None:
            n0 = len(ck.problems)
            domain = _check_domain(ck, spec["domain"], _join(place, "domain"))
            if len(ck.problems) > n0:
                return None
        base_spec = spec.get("base")
        if isinstance(base_spec, dict) and canonical_kind(base_spec.get("kind")) == "drawn":
            ck.add(_join(place, "base"), "a drawn surface's base cannot itself be drawn")
            return None
        base = check_surface(ck, base_spec, _join(place, "base"), domain)
        bumps = spec.get("bumps")
        bp = _join(place, "bumps")
        arr = None
        if not isinstance(bumps, list):
            ck.add(bp, "must be a list of [cx, cy, amplitude, sigma] bumps")
        elif len(bumps) > MAX_BUMPS:
            ck.add(bp, f"has {len(bumps)} bumps; at most {MAX_BUMPS}")
        else:
            rows = []
            for i, b in enumerate(bumps):
                p = _join(bp, i)
                if not isinstance(b, list) or len(b) != 4:
                    ck.add(p, "must be [cx, cy, amplitude, sigma]")
                    continue
                vals = [ck.number(b[j], _join(p, j), what="a finite number") for j in range(3)]
                sig = ck.number(b[3], _join(p, 3), lo=0.0, lo_open=True,
                                what="a positive number (sigma)")
                if None not in vals and sig is not None:
                    rows.append([*vals, sig])
            if len(rows) == len(bumps):
                arr = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
        if base is None or arr is None:
            return None
        s = base.with_bumps(arr) if len(arr) else base
        domain = None if canonical_kind(base_spec.get("kind")) in ("expression", "flat") \
            else domain
    if domain is not None:
        if len(domain) != s.dim:
            return s  # the caller reports the mismatch
        s = dataclasses.replace(s, domain=domain)
    return s
