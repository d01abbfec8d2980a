"""The JSON Schema of lab files (``resources/lab.schema.json``), generated from the
format's vocabulary so that it names the same fields, optimizers and schedules as the
validator.

The shipped file is what editors use (``"$schema"`` in a lab, or an editor setting);
:func:`load_lab_json_schema` reads it through importlib.resources. Regenerate it after
adding an optimizer, a schedule, a surface kind or a field::

    python -m simulator.core.labs.json_schema > resources/lab.schema.json

The schema checks structure and ranges; the validator (:func:`~.validate.parse_lab`)
also checks what a schema cannot say: surface names and parameters, formulas, rich-text
tags, points inside the domain, unique lane names, lanes a check names, schedules that
cover the run. Every file the schema refuses, the validator refuses too.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from .checks import (
    CHECK_KINDS,
    EDGE_OVER,
    EDGE_SIDES,
    HYPERPARAMETERS,
    MAX_NESTED,
    MAX_OPTIONS,
    QUANTITIES,
    STATUSES,
)
from .schema import (
    CAMERA_KEYS,
    FORMAT,
    LANE_KEYS,
    MAX_LANES,
    MAX_STEPS,
    MAX_TEXT,
    TOP_KEYS,
    VERSION,
    VIEWS,
)
from .steps import SCENE_KEYS

SCHEMA_ID = "https://losslab.github.io/lab.schema.json"
ONE_LINE = r"^[^\n\r]*\S[^\n\r]*$"  # one line, not blank


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _field_schema(ftype: str, name: str) -> dict:
    t = str(ftype)
    if name == "lr":
        return {"type": "number", "exclusiveMinimum": 0}
    if t.startswith("bool"):
        return {"type": "boolean"}
    if t.startswith("tuple[float, float]"):
        return {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    if t.startswith("tuple[int"):
        return {"type": "array", "items": {"type": "integer"}}
    if t.startswith("tuple[Schedule"):
        return {"type": "array", "items": _ref("schedule"), "minItems": 1}
    if t.startswith("str"):
        return {"type": "string"}
    base = {"type": "integer"} if t.startswith("int") else {"type": "number"}
    return _nullable(base) if "None" in t else base


def _by_name(classes: dict, defname: str) -> dict:
    """``{"name": one of classes, ...}`` with each class's own fields and nothing else."""
    branches = []
    for name, cls in classes.items():
        props: dict[str, Any] = {"name": {"const": name}}
        for f in dataclasses.fields(cls):
            props[f.name] = _field_schema(f.type, f.name)
        branches.append({"if": {"properties": {"name": {"const": name}}},
                         "then": {"properties": props, "additionalProperties": False}})
    return {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"enum": list(classes)}},
        "allOf": branches,
        "description": f"A {defname}: torch's class name and keyword arguments.",
    }


def _surface() -> dict:
    from ..network import Network
    from ..surface_io import ALIASES, KINDS

    kinds = list(KINDS) + list(ALIASES)

    def kind_is(*names):
        return {"properties": {"kind": {"enum": [k for k in kinds if
                                                 ALIASES.get(k, k) in names]}}}

    return {
        "type": "object",
        "properties": {"kind": {"enum": kinds}, "domain": _ref("domain")},
        "allOf": [
            {"if": kind_is("builtin", "data"), "then": {
                "required": ["name"],
                "properties": {"kind": True, "domain": True,
                               "name": {"type": "string", "pattern": r"\S"},
                               "params": _nullable({"type": "object"})},
                "additionalProperties": False}},
            {"if": kind_is("expression"), "then": {
                "required": ["formula"],
                "properties": {"kind": True, "domain": True,
                               "formula": {"type": "string", "pattern": r"\S",
                                           "maxLength": 2000}},
                "additionalProperties": False}},
            {"if": kind_is("flat"), "then": {
                "properties": {"kind": True, "domain": True, "dim": {"enum": [1, 2]}},
                "additionalProperties": False}},
            {"if": kind_is("drawn"), "then": {
                "required": ["base", "bumps"],
                "properties": {
                    "kind": True, "domain": True, "base": _ref("surface"),
                    "bumps": {"type": "array", "items": {
                        "type": "array", "minItems": 4, "maxItems": 4,
                        "prefixItems": [{"type": "number"}, {"type": "number"},
                                        {"type": "number"},
                                        {"type": "number", "exclusiveMinimum": 0}]}}},
                "additionalProperties": False}},
            {"if": kind_is("network"), "then": {
                "properties": {"kind": True, "domain": True,
                               **{f.name: True for f in dataclasses.fields(Network)
                                  if f.init}},
                "additionalProperties": False}},
        ],
    }


def _lane() -> dict:
    common = {
        "name": {"type": "string", "pattern": ONE_LINE, "maxLength": 60},
        "color": _nullable({"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"}),
        "enabled": {"type": "boolean"},
        "schedule": _ref("schedule_or_null"),
        "noise": _nullable({"type": "number", "minimum": 0}),
        "batch_size": _nullable({"type": "integer", "minimum": 1}),
        "start": _nullable(_ref("point")),
    }
    assert set(common) | {"optimizer"} == set(LANE_KEYS)
    return {
        "type": "object",
        "required": ["optimizer"],
        "properties": {**common, "optimizer": {"anyOf": [
            _ref("optimizer"), {"$ref": "#/$defs/optimizer/properties/name"}]}},
        "if": {"properties": {"optimizer": {"type": "object"}}},
        "then": {"properties": {**common, "optimizer": True},
                 "additionalProperties": False},
        "else": {"description": "shorthand: \"optimizer\": \"SGD\" with the "
                                "hyperparameters on the lane"},
    }


def _view(frame: bool) -> dict:
    props: dict[str, Any] = {
        "views": {"anyOf": [{"enum": list(VIEWS)}, {
            "type": "array", "items": {"enum": list(VIEWS)}, "minItems": 1}]},
        "log_scale": {"type": ["boolean", "null"]},
        "camera": _nullable({
            "type": "object", "additionalProperties": False,
            "properties": {"elevation": {"type": "number", "minimum": -90, "maximum": 90},
                           "azimuth": {"type": "number", "minimum": -360, "maximum": 360},
                           "distance": {"type": "number", "exclusiveMinimum": 0,
                                        "maximum": 100}}}),
    }
    assert set(props["camera"]["anyOf"][0]["properties"]) == set(CAMERA_KEYS)
    if frame:
        props["frame"] = _nullable({"type": "integer", "minimum": 0})
    return _nullable({"type": "object", "properties": props, "additionalProperties": False})


def _training_props() -> dict:
    return {
        "steps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "noise": {"type": "number", "minimum": 0},
        "batch_size": _nullable({"type": "integer", "minimum": 1}),
        "clip_grad_norm": _nullable({"type": "number", "exclusiveMinimum": 0}),
        "schedule": _ref("schedule_or_null"),
    }


def _scene(required: bool) -> dict:
    props = {
        "surface": _ref("surface"),
        "start": _ref("point"),
        "training": {"type": "object", "properties": _training_props(),
                     "additionalProperties": False},
        "lanes": {"type": "array", "items": _ref("lane"), "minItems": 1,
                  "maxItems": MAX_LANES},
        "view": _view(frame=False),
        "frame": {"type": "integer", "minimum": 0},
        "selected_lane": {"type": "integer", "minimum": -1},
    }
    assert set(props) == set(SCENE_KEYS)
    out = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        # a network's start may be left out (its initial weights)
        out["required"] = ["surface", "lanes"]
    return out


def _check() -> dict:
    lane = {"anyOf": [{"type": "string", "pattern": r"\S", "maxLength": 60},
                      {"type": "integer", "minimum": 0, "maximum": MAX_LANES - 1}]}
    statuses = {"anyOf": [{"enum": list(STATUSES)},
                          {"type": "array", "items": {"enum": list(STATUSES)},
                           "minItems": 1}]}
    point = {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 2}
    kinds = {
        "status": ({"lane": lane, "is": statuses, "is_not": statuses}, ["lane"]),
        "converged_within": ({"lane": lane, "steps": {"type": "integer", "minimum": 1,
                                                      "maximum": 100_000}, "at": point},
                             ["lane", "steps"]),
        "final_loss_below": ({"lane": lane, "value": {"type": "number"}},
                             ["lane", "value"]),
        "hyperparameter": ({"lane": lane, "name": {"enum": list(HYPERPARAMETERS)},
                            "min": {"type": "number"}, "max": {"type": "number"}},
                           ["lane", "name"]),
        "lr_near_stability_limit": ({"lane": lane, "at": point,
                                     "rel_tol": {"type": "number", "exclusiveMinimum": 0,
                                                 "maximum": 1},
                                     "side": {"enum": ["below", "either"]}},
                                    ["lane", "at"]),
        "final_value": ({"lane": lane, "quantity": {"enum": list(QUANTITIES)},
                         "min": {"type": "number"}, "max": {"type": "number"}},
                        ["lane", "quantity"]),
        "compare": ({"lane": lane, "quantity": {"enum": list(QUANTITIES)}, "than": lane,
                     "is": {"enum": ["lower", "higher"]}},
                    ["lane", "quantity", "than", "is"]),
        "sharpness_edge": ({"lane": lane, "is": {"enum": list(EDGE_SIDES)},
                            "over": {"enum": list(EDGE_OVER)},
                            "rel_tol": {"type": "number", "exclusiveMinimum": 0,
                                        "maximum": 1}},
                           ["lane", "is"]),
        "choice": ({"options": {"type": "array", "minItems": 2, "maxItems": MAX_OPTIONS,
                                "uniqueItems": True,
                                "items": {"type": "string", "pattern": ONE_LINE,
                                          "maxLength": 300}},
                    "correct": {"type": "integer", "minimum": 0}},
                   ["options", "correct"]),
        "all": ({"checks": {"type": "array", "items": _ref("check"), "minItems": 1}},
                ["checks"]),
    }
    assert list(kinds) == list(CHECK_KINDS)
    branches = []
    for kind, (props, req) in kinds.items():
        then: dict[str, Any] = {"properties": {"kind": True, **props}, "required": req,
                                "additionalProperties": False}
        if kind == "status":
            then["oneOf"] = [{"required": ["is"]}, {"required": ["is_not"]}]
        if kind in ("hyperparameter", "final_value"):
            then["anyOf"] = [{"required": ["min"]}, {"required": ["max"]}]
        branches.append({"if": {"properties": {"kind": {"const": kind}}}, "then": then})
    return {"type": "object", "required": ["kind"],
            "properties": {"kind": {"enum": list(CHECK_KINDS)}}, "allOf": branches,
            "description": f"A declarative check (nested at most {MAX_NESTED} deep)."}


def lab_json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of lab files, versions 1 and 2."""
    from ..optimizers import OPTIMIZERS
    from ..schedules import SCHEDULES

    one_line = {"type": "string", "pattern": ONE_LINE}
    rich = {"type": "string", "maxLength": MAX_TEXT}
    rich_required = {"type": "string", "pattern": r"\S", "maxLength": MAX_TEXT}
    texts = {"type": "array", "items": rich_required}
    header = {
        "$schema": True,
        "format": {"const": FORMAT},
        "version": {"type": "integer", "minimum": 1, "maximum": VERSION},
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
        "title": {**one_line, "maxLength": 120},
        "summary": {**one_line, "maxLength": 240},
    }
    v1_props = {
        **header,
        "instructions": _nullable(rich),
        "questions": _nullable(texts),
        "surface": _ref("surface"),
        "domain": _nullable(_ref("domain")),
        "start": {"anyOf": [{"type": "number"}, _ref("point")]},
        **_training_props(),
        "lanes": {"type": "array", "items": _ref("lane"), "minItems": 1,
                  "maxItems": MAX_LANES},
        "view": _view(frame=True),
    }
    assert set(v1_props) == set(TOP_KEYS)
    v1_props["steps"] = _training_props()["steps"]
    step = {
        "type": "object", "required": ["text"], "additionalProperties": False,
        "properties": {
            "title": _nullable({**one_line, "maxLength": 120}),
            "text": rich_required,
            "questions": _nullable(texts),
            "scene": _nullable(_scene(required=False)),
            "task": _nullable({
                "type": "object", "required": ["prompt", "check"],
                "additionalProperties": False,
                "properties": {"prompt": rich_required, "check": _ref("check"),
                               "hints": _nullable({**texts, "maxItems": 8}),
                               "solution": _nullable({
                                   "type": "object", "minProperties": 1,
                                   "additionalProperties": False,
                                   "properties": {"scene": _scene(required=False),
                                                  "answer": {"type": ["integer",
                                                                      "string"]}}})}}),
        },
    }
    v2_props = {**header, "scene": _scene(required=True),
                "steps": {"type": "array", "items": step, "minItems": 1, "maxItems": 40}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "LossLab lab file",
        "description": "A LossLab teaching lab (format losslab-lab, versions 1 and 2); "
                       "see resources/labs/README.md. Generated by "
                       "simulator/core/labs/json_schema.py.",
        "type": "object",
        "required": ["format", "version", "id", "title", "summary"],
        "properties": {"format": header["format"], "version": header["version"]},
        "if": {"properties": {"version": {"const": 1}}},
        "then": {"required": ["surface", "start", "lanes"], "properties": v1_props,
                 "additionalProperties": False},
        "else": {"required": ["scene", "steps"], "properties": v2_props,
                 "additionalProperties": False},
        "$defs": {
            "point": {"type": "array", "items": {"type": "number"}, "minItems": 1,
                      "maxItems": 2},
            "domain": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
                "type": "array", "items": {"type": "number"}, "minItems": 2,
                "maxItems": 2}},
            "surface": _surface(),
            "optimizer": _by_name(OPTIMIZERS, "optimizer"),
            "schedule": _by_name(SCHEDULES, "schedule"),
            "schedule_or_null": _nullable(_ref("schedule")),
            "lane": _lane(),
            "check": _check(),
        },
    }


def dumps_lab_json_schema() -> str:
    """The schema as the text of ``resources/lab.schema.json``."""
    return json.dumps(lab_json_schema(), indent=1, ensure_ascii=False) + "\n"


def load_lab_json_schema() -> dict:
    """The schema shipped in the package (``simulator.resources/lab.schema.json``)."""
    from importlib.resources import files

    return json.loads(files("simulator.resources").joinpath("lab.schema.json").read_text(
        encoding="utf-8"))


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    sys.stdout.write(dumps_lab_json_schema())
