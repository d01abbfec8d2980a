"""The JSON Schema shipped for lab files agrees with the validator.

Every built-in lab validates against ``resources/lab.schema.json`` (read the way the
installed package reads it, through importlib.resources), and on a set of broken files
the schema and :func:`simulator.validate_lab` both refuse each one.
"""

from __future__ import annotations

import copy
import json

import pytest

import simulator as sim
from simulator.core import labs
from simulator.core.labs import json_schema

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json_schema.load_lab_json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_shipped_schema_is_the_generated_one():
    """The shipped file is regenerated with ``python -m simulator.core.labs.json_schema >
    resources/lab.schema.json``. Optimizers and schedules added since are checked apart:
    those the file names must still match the code."""
    made = json_schema.lab_json_schema()
    shipped = copy.deepcopy(SCHEMA)
    for name in ("optimizer", "schedule"):
        got, want = shipped["$defs"].pop(name), made["$defs"].pop(name)
        names = got["properties"]["name"]["enum"]
        assert set(names) <= set(want["properties"]["name"]["enum"]), name
        branches = {b["if"]["properties"]["name"]["const"]: b for b in want["allOf"]}
        for b in got["allOf"]:
            assert b == branches[b["if"]["properties"]["name"]["const"]], name
    assert shipped == made, "regenerate resources/lab.schema.json (see json_schema.py)"


@pytest.mark.parametrize("lab_id", labs.builtin_lab_ids())
def test_every_builtin_lab_validates_against_the_schema(lab_id):
    from importlib.resources import files

    data = json.loads(files("simulator.resources.labs").joinpath(f"{lab_id}.json")
                      .read_bytes())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(data)]
    assert errors == []
    assert sim.validate_lab(data) == []


def v1() -> dict:
    return labs.builtin_lab("race").to_dict(version=1)


def v2() -> dict:
    return labs.builtin_lab("lr-1d").to_dict()


def _set(d: dict, path: str, value) -> dict:
    """``d`` with the value at ``path`` ("a.b.0.c") set (or deleted when value is ...)."""
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = d
    for k in keys[:-1]:
        node = node[k]
    if value is ...:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return d


BROKEN = {
    "wrong format": (v1, "format", "losslab-session"),
    "newer version": (v1, "version", 3),
    "version not a number": (v1, "version", "1"),
    "no title": (v1, "title", ...),
    "blank summary": (v1, "summary", "   "),
    "two-line title": (v1, "title", "a\nb"),
    "uppercase id": (v2, "id", "My-Lab"),
    "misspelt field": (v1, "titel", "x"),
    "negative lr": (v1, "lanes.0.optimizer.lr", -1),
    "lr as text": (v1, "lanes.0.optimizer.lr", "0.1"),
    "unknown optimizer": (v1, "lanes.0.optimizer.name", "SGDD"),
    "unknown hyperparameter": (v1, "lanes.1.optimizer.momentun", 0.9),
    "bad colour": (v1, "lanes.0.color", "red"),
    "no lanes": (v1, "lanes", []),
    "too many lanes": (v1, "lanes", [{"name": f"l{i}", "optimizer": {"name": "SGD",
                                                                       "lr": 0.1}}
                                     for i in range(13)]),
    "unknown view": (v1, "view.views", ["4d"]),
    "zero steps": (v1, "steps", 0),
    "negative noise": (v1, "noise", -1),
    "unknown schedule": (v1, "schedule", {"name": "Sometimes"}),
    "schedule parameter typo": (v1, "schedule", {"name": "StepLR", "step_sise": 3}),
    "unknown surface kind": (v1, "surface", {"kind": "magic"}),
    "drawn bump sigma 0": (v1, "surface", {"kind": "drawn", "base": {"kind": "flat"},
                                           "bumps": [[0, 0, 1, 0]]}),
    "camera too far": (v1, "view.camera", {"distance": 1000}),
    "v2 without steps": (v2, "steps", ...),
    "v2 no steps": (v2, "steps", []),
    "v2 with instructions": (v2, "instructions", "<p>x</p>"),
    "v2 step without text": (v2, "steps.0.text", ...),
    "v2 step field typo": (v2, "steps.0.tsak", {}),
    "v2 scene without lanes": (v2, "scene.lanes", ...),
    "v2 training typo": (v2, "scene.training.stesp", 5),
    "v2 step scene empty lanes": (v2, "steps.1.scene.lanes", []),
    "v2 task without check": (v2, "steps.0.task.check", ...),
    "v2 unknown check": (v2, "steps.0.task.check.kind", "vibes"),
    "v2 choice with one option": (v2, "steps.0.task.check.options", ["only"]),
    "v2 choice same option twice": (v2, "steps.0.task.check.options", ["a", "a"]),
    "v2 status is and is_not": (v2, "steps.1.task.check.checks.0.is_not", "diverged"),
    "v2 unknown status": (v2, "steps.1.task.check.checks.0.is", ["fine"]),
    "v2 tolerance above 1": (v2, "steps.1.task.check.checks.1.rel_tol", 2),
    "v2 limit without point": (v2, "steps.1.task.check.checks.1.at", ...),
    "v2 zero steps to converge": (v2, "steps.2.task.check.steps", 0),
    "v2 too many hints": (v2, "steps.0.task.hints", [f"h{i}" for i in range(9)]),
    "v2 hint not text": (v2, "steps.0.task.hints", [3]),
    "v2 hyperparameter without bounds": (v2, "steps.0.task.check",
                                         {"kind": "hyperparameter", "lane": 0,
                                          "name": "lr"}),
    "v2 hyperparameter unknown": (v2, "steps.0.task.check",
                                  {"kind": "hyperparameter", "lane": 0, "name": "speed",
                                   "max": 1}),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_schema_and_validator_agree_on_broken_files(case):
    make, path, value = BROKEN[case]
    data = _set(make(), path, value)
    assert not VALIDATOR.is_valid(data), f"the schema accepts {case!r}"
    assert sim.validate_lab(data), f"the validator accepts {case!r}"


def test_schema_key_is_allowed_by_both():
    for make in (v1, v2):
        data = make()
        data["$schema"] = json_schema.SCHEMA_ID
        assert VALIDATOR.is_valid(data) and sim.validate_lab(data) == []
