"""Lab files: the built-in labs, validation messages with places, safety, round trips."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import simulator as sim
from simulator.core import labs
from simulator.core.labs import LabError, parse_lab

BUILTIN = ("lr-1d", "ravine", "race", "saddle", "schedules", "cyclic", "adaptive",
           "adam-bias", "adamw", "sharp-flat", "plateau", "local-minima", "clipping",
           "lr-probe", "batch-size", "batch-sharpness", "edge-of-stability")
FIRST_NINE = ("lr-1d", "ravine", "race", "saddle", "schedules", "adaptive", "sharp-flat",
              "adamw", "lr-probe")


def minimal(**kw) -> dict:
    d = {
        "format": "losslab-lab", "version": 1, "id": "t", "title": "T", "summary": "S",
        "surface": {"kind": "library", "name": "quadratic"},
        "start": [1.0, 1.0], "steps": 10,
        "lanes": [{"name": "a", "optimizer": {"name": "SGD", "lr": 0.1}}],
    }
    d.update(kw)
    return d


def problems(d) -> list[str]:
    with pytest.raises(LabError) as ei:
        parse_lab(d)
    return [str(p) for p in ei.value.problems]


# ---- built-in labs ----------------------------------------------------------------------------
def test_builtin_ids_in_teaching_order():
    assert labs.builtin_lab_ids() == list(BUILTIN)
    infos = labs.list_labs()
    assert [i.id for i in infos] == list(BUILTIN)
    for info in infos:
        assert info.title and "\n" not in info.title
        assert info.summary and "\n" not in info.summary


@pytest.mark.parametrize("lab_id", BUILTIN)
def test_builtin_lab_validates_and_runs(lab_id):
    lab = labs.builtin_lab(lab_id)
    assert lab.id == lab_id
    assert lab.instructions and lab.questions
    assert not labs.check_rich_text(lab.instructions)
    runs = lab.run()
    # the nine first labs race three or more lanes, the network labs two; later ones may
    # start with one
    assert len(runs) == len(lab.lanes) >= (3 if lab_id in FIRST_NINE else
                                           2 if lab.surface.kind == "network" else 1)
    for _lane, run in runs:
        assert run.status in ("converged", "converging", "oscillating", "diverged", "stalled")
    # the canonical form parses back to the same lab
    again = parse_lab(json.loads(labs.dumps_lab(lab)))
    assert again.to_dict() == lab.to_dict()


def _status(lab_id):
    lab = labs.builtin_lab(lab_id)
    return {lane.name: run for lane, run in lab.run()}


def test_lr_1d_shows_the_four_regimes():
    r = _status("lr-1d")
    assert r["lr = 0.1"].status == "converging"
    assert r["lr = 0.5"].status == "converged"
    assert r["lr = 0.5"].positions[1, 0] == pytest.approx(2.0)  # one step to the minimum
    assert r["lr = 1.0"].status == "oscillating"
    np.testing.assert_allclose(r["lr = 1.0"].positions[:4, 0], [8, -4, 8, -4])
    assert r["lr = 1.1"].status == "diverged"


def test_ravine_momentum_beats_sgd():
    r = _status("ravine")
    lab = labs.builtin_lab("ravine")
    from simulator.core.diagnostics import analyze_point

    assert analyze_point(lab.surface, (0.0, 0.0)).condition_number == pytest.approx(100)
    assert r["Momentum"].losses[-1] < 1e-3 * r["SGD"].losses[-1]
    assert r["Nesterov"].losses[-1] < 1e-3 * r["SGD"].losses[-1]


def test_saddle_lanes():
    r = _status("saddle")
    assert r["GD on the axis"].status == "stalled"
    assert np.allclose(r["GD on the axis"].positions[-1], 0, atol=1e-6)
    assert r["GD, nudged"].status == "diverged"  # escaped (the surface has no bottom)
    assert r["SGD + noise"].status == "diverged"
    assert r["Newton"].status == "stalled"
    assert np.allclose(r["Newton"].positions[-1], 0, atol=1e-6)


def test_sharp_flat_lanes_pick_the_promised_minimum():
    r = _status("sharp-flat")

    def near(run, p):
        return np.hypot(*(run.positions[-1] - p)) < 0.3

    assert near(r["lr = 0.05"], (-1.5, 1.0))
    assert r["lr = 0.2"].status == "oscillating"
    assert near(r["lr = 0.3"], (1.0, -1.0))
    assert near(r["Large batch (noise 1)"], (-1.5, 1.0))
    assert near(r["Small batch (noise 4)"], (1.0, -1.0))


def test_schedules_beat_constant_under_noise():
    r = _status("schedules")
    tail = {k: v.losses[-50:].mean() for k, v in r.items()}
    for k in ("Step decay", "Cosine", "Warmup + cosine", "Warm restarts"):
        assert tail[k] < 0.2 * tail["Constant"], (k, tail)


def test_adaptive_adagrad_falls_behind():
    r = _status("adaptive")
    assert r["AdaGrad"].losses[-1] > 3 * r["RMSprop"].losses[-1]
    assert r["Adam"].losses[-1] < 1e-6


def test_adamw_decoupled_decay_shrinks_evenly():
    r = _status("adamw")
    x2, y2 = r["Adam + L2"].positions[-1]
    xw, yw = r["AdamW"].positions[-1]
    assert abs(x2 - 2) < 0.05 and y2 < 1.5  # L2 hits the shallow coordinate hardest
    assert abs((2 - xw) - (2 - yw)) < 0.1  # AdamW: about the same shrink in x and y


def test_lr_probe_has_slow_good_and_diverging_probes():
    r = _status("lr-probe")
    assert r["lr = 1"].status == "diverged"
    assert r["lr = 0.1"].losses[-1] < r["lr = 0.01"].losses[-1] < r["lr = 0.001"].losses[-1]


def test_session_dict_shape():
    lab = labs.builtin_lab("adamw")
    d = lab.session_dict()
    assert d["format"] == "losslab-session"
    assert d["surface"]["kind"] == "expression"
    assert len(d["lanes"]) == 3
    assert d["training"]["steps"] == 1000


# ---- validation messages -----------------------------------------------------------------------
def test_minimal_is_valid():
    lab = parse_lab(minimal())
    assert lab.lanes[0].optimizer.lr == 0.1
    assert labs.validate_lab(minimal()) == []


def test_bad_lr_reported_with_place():
    d = minimal(lanes=[
        {"name": "a", "optimizer": {"name": "SGD", "lr": 0.1}},
        {"name": "b", "optimizer": {"name": "Adam"}},
        {"name": "c", "optimizer": {"name": "SGD", "lr": -0.1}},
    ])
    assert problems(d) == ["lanes[2].optimizer.lr: must be a positive number, got -0.1"]


def test_shorthand_lane_reports_at_lane_level():
    d = minimal(lanes=[
        {"name": "a", "optimizer": "SGD", "lr": 0.1, "momentum": 0.9},
        {"name": "b", "optimizer": "SGD", "lr": 0.1},
        {"name": "c", "optimizer": "SGD", "lr": "fast"},
    ])
    assert problems(d) == ['lanes[2].lr: must be a positive number, got "fast"']
    lab = parse_lab(minimal(lanes=[{"name": "a", "optimizer": "SGD", "lr": 0.2,
                                    "momentum": 0.9}]))
    assert lab.lanes[0].optimizer.momentum == 0.9


def test_every_problem_is_reported():
    d = minimal(
        id="Bad Id", steps=0, noise=-1,
        surface={"kind": "library", "name": "ravine", "params": {"condition": 0.5,
                                                                   "angel": 3}},
        lanes=[{"name": "a", "optimizer": {"name": "Adma", "lr": 0.1}},
               {"name": "b", "optimizer": {"name": "SGD", "lr": 0.1, "momentum": -1},
                "colour": "#000000"}],
        schedule={"name": "StepLR", "step_size": 0},
    )
    got = problems(d)
    places = [p.split(":")[0] for p in got]
    for want in ("id", "steps", "noise", "surface.params.condition", "surface.params.angel",
                 "lanes[0].optimizer.name", "lanes[1].optimizer.momentum",
                 "lanes[1].colour", "schedule.step_size"):
        assert want in places, (want, got)
    assert any(p.startswith("lanes[0].optimizer.name: unknown optimizer \"Adma\"; did you mean")
               for p in got), got
    assert any("did you mean 'color'" in p for p in got)
    assert any("angel" in p and "(parameters: condition, angle)" in p for p in got), got


def test_nesterov_rule_reported_on_the_optimizer():
    d = minimal(lanes=[{"name": "n", "optimizer": {"name": "SGD", "lr": 0.1,
                                                   "nesterov": True}}])
    got = problems(d)
    assert len(got) == 1 and got[0].startswith("lanes[0].optimizer: Nesterov")


@pytest.mark.parametrize("version", [3, 99])
def test_newer_version_refused(version):
    got = problems(minimal(version=version))
    assert len(got) == 1
    assert got[0].startswith("version:") and f"version {version}" in got[0]
    assert "update LossLab" in got[0]


@pytest.mark.parametrize("bad", [None, "1", 0, True, 1.5])
def test_bad_version_refused(bad):
    assert problems(minimal(version=bad))[0].startswith("version:")


def test_wrong_format_refused():
    assert problems(minimal(format="losslab-session"))[0].startswith("format:")
    assert "Open Session" in problems(minimal(format="losslab-session"))[0]
    with pytest.raises(LabError):
        parse_lab([1, 2, 3])


@pytest.mark.parametrize("text,needle", [
    ("<p>hi</p><script>alert(1)</script>", "<script> is not allowed"),
    ('<p onclick="x()">hi</p>', "must not have attributes"),
    ('<a href="http://x">link</a>', "<a> is not allowed"),
    ('<img src="file:///etc/passwd">', "<img> is not allowed"),
    ("<b>bold", "<b> is not closed"),
    ("<!-- hidden -->", "comments are not allowed"),
    ('<style>p {}</style>', "<style> is not allowed"),
])
def test_unsafe_rich_text_refused(text, needle):
    got = problems(minimal(instructions=text))
    assert any(p.startswith("instructions:") and needle in p for p in got), got
    got = problems(minimal(questions=["fine", text]))
    assert any(p.startswith("questions[1]:") and needle in p for p in got), got


def test_safe_rich_text_accepted():
    text = ("<p>A <b>bold</b>, <i>italic</i> and <code>x &lt; 1</code> text.<br>"
            "Line</p><ul><li>one<li>two</ul><ol><li>x<sup>2</sup></li></ol>")
    assert labs.check_rich_text(text) == []
    assert parse_lab(minimal(instructions=text)).instructions == text
    plain = labs.rich_text_to_plain(text)
    assert "x < 1" in plain and "<" not in plain.replace("x < 1", "")


def test_formula_goes_through_the_safe_parser(tmp_path):
    marker = tmp_path / "pwned"
    d = minimal(surface={"kind": "formula",
                         "formula": f"__import__('os').system('touch {marker}')"})
    got = problems(d)
    assert got[0].startswith("surface.formula: unknown function '__import__'")
    assert not marker.exists()
    ok = parse_lab(minimal(surface={"kind": "formula", "formula": "x**2 + 10*y**2"},
                           domain=[[-2, 2], [-1, 1]]))
    assert ok.surface.domain == ((-2.0, 2.0), (-1.0, 1.0))


def test_start_checked_against_surface():
    assert problems(minimal(start=[9.0, 0.0])) == [
        "start[0]: x = 9 is outside the domain [-3, 3]"]
    assert problems(minimal(start=[1.0]))[0].startswith("start: needs 2 coordinates")
    assert problems(minimal(start=[1.0, float("nan")]))[0].startswith("start[1]:")
    got = problems(minimal(lanes=[{"name": "a", "optimizer": {"name": "SGD", "lr": 0.1},
                                   "start": [0, 5]}]))
    assert got[0].startswith("lanes[0].start[1]:")


def test_batch_size_only_on_data_surfaces():
    assert problems(minimal(batch_size=8))[0].startswith("batch_size: applies only")
    lab = parse_lab(minimal(surface={"kind": "library", "name": "linear-regression"},
                            start=[0.0, 0.0], batch_size=8))
    assert lab.batch_size == 8 and lab.run()[0][1].status


def test_duplicate_lane_names_and_limits():
    lane = {"name": "a", "optimizer": {"name": "SGD", "lr": 0.1}}
    assert problems(minimal(lanes=[lane, lane])) == [
        "lanes[1].name: 'a' is used by another lane"]
    assert problems(minimal(lanes=[]))[0].startswith("lanes:")
    assert problems(minimal(lanes=[dict(lane, name=str(i)) for i in range(13)]))[0] \
        .startswith("lanes: has 13 lanes")
    assert problems(minimal(steps=10**6))[0].startswith("steps:")


def test_drawn_surfaces():
    bumps = [[0.5, 0.5, -1.0, 0.3], [-1.0, 1.0, 0.5, 0.5]]
    for base in ({"kind": "library", "name": "quadratic"},
                 {"kind": "formula", "formula": "x**2 + y**2"},
                 {"kind": "flat"}):
        lab = parse_lab(minimal(surface={"kind": "drawn", "base": base, "bumps": bumps}))
        assert lab.surface.kind == "drawn"
        assert np.array_equal(lab.surface.bumps, np.asarray(bumps))
        assert labs.surface_spec_of(lab.surface)["kind"] == "drawn"
        again = parse_lab(minimal(surface=labs.surface_spec_of(lab.surface)))
        assert again.surface.value((0.5, 0.4)) == pytest.approx(lab.surface.value((0.5, 0.4)))
    got = problems(minimal(surface={"kind": "drawn", "base": {"kind": "library",
                                                              "name": "quadratic"},
                                    "bumps": [[0, 0, 1, 0], [0, 0, 1]]}))
    assert got == ["surface.bumps[0][3]: must be a positive number (sigma), got 0",
                   "surface.bumps[1]: must be [cx, cy, amplitude, sigma]"]


def test_view_settings():
    lab = parse_lab(minimal(view={"views": ["3d"], "log_scale": True,
                                  "camera": {"elevation": 20, "azimuth": 45}, "frame": 3}))
    assert lab.view.views == ("3d",) and lab.view.log_scale is True
    assert lab.view.camera == {"elevation": 20.0, "azimuth": 45.0}
    assert lab.session_dict()["frame"] == 3
    got = problems(minimal(view={"views": ["4d"], "camera": {"elevation": 100},
                                 "frame": 11, "zoom": 2}))
    places = sorted(p.split(":")[0] for p in got)
    assert places == ["view.camera.elevation", "view.frame", "view.views", "view.zoom"]


# ---- files -------------------------------------------------------------------------------------
def test_files_round_trip_and_refuse_junk(tmp_path):
    p = tmp_path / "my.json"
    lab = labs.builtin_lab("race")
    labs.save_lab(lab, p)
    assert labs.load_lab(str(p)).to_dict() == lab.to_dict()
    assert [f.name for f in tmp_path.iterdir()] == ["my.json"]  # no temp files left
    p.write_text("{ not json")
    with pytest.raises(LabError, match="not valid JSON at line 1"):
        labs.load_lab(p)
    p.write_text(json.dumps(minimal()).replace("0.1", "NaN"))
    with pytest.raises(LabError, match="NaN is not allowed"):
        labs.load_lab(p)
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LabError, match="not a text file"):
        labs.load_lab(p)
    p.write_text(" " * (labs.MAX_FILE_BYTES + 1))
    with pytest.raises(LabError, match="at most 1 MB"):
        labs.load_lab(p)
    with pytest.raises(LabError, match="no such file"):
        labs.load_lab(tmp_path / "missing.json")


def test_save_refuses_invalid_dict_and_keeps_old_file(tmp_path):
    p = tmp_path / "lab.json"
    p.write_text("old")
    bad = minimal(steps=-1)
    with pytest.raises(LabError):
        labs.save_lab(bad, p)
    assert p.read_text() == "old"


def test_unknown_id():
    with pytest.raises(LookupError, match="did you mean 'race'"):
        labs.load_lab("rase")
    with pytest.raises(LookupError, match="built-in labs: lr-1d, ravine"):
        labs.load_lab("nothing-like-it")


def test_a_lab_can_chain_a_sequential_schedule():
    chain = {"name": "ChainedScheduler", "schedulers": [
        {"name": "SequentialLR", "schedulers": [{"name": "LinearLR", "total_iters": 3},
                                                {"name": "ExponentialLR", "gamma": 0.9}],
         "milestones": [3]},
        {"name": "StepLR", "step_size": 4, "gamma": 0.5}]}
    lab = parse_lab(minimal(schedule=chain))
    assert lab.schedule == sim.schedule_from_dict(chain)
    # what the chain refuses is reported at its place
    bad = copy.deepcopy(chain)
    bad["schedulers"][0]["schedulers"][1] = {"name": "ReduceLROnPlateau"}
    got = problems(minimal(schedule=bad))
    assert got and got[0].startswith("schedule") and "ReduceLROnPlateau" in got[0], got


def test_lab_from_session_round_trip():
    lab = labs.builtin_lab("schedules")
    sess = lab.session_dict()
    d = labs.lab_from_session(sess, lab.surface, lab_id="copy", title="Copy",
                              summary="A copy", instructions="<p>x</p>", questions=["q?"])
    again = parse_lab(d)
    assert again.run_steps == lab.run_steps and again.noise == lab.noise
    assert [ln.optimizer for ln in again.lanes] == [ln.optimizer for ln in lab.lanes]
    assert [ln.schedule for ln in again.lanes] == [ln.schedule for ln in lab.lanes]
    assert again.questions == ("q?",)


def test_parse_does_not_mutate_input():
    d = minimal(lanes=[{"name": "a", "optimizer": {"name": "Adam", "lr": 0.1,
                                                   "betas": [0.8, 0.9]}}])
    before = copy.deepcopy(d)
    lab = parse_lab(d)
    assert d == before
    assert lab.lanes[0].optimizer.betas == (0.8, 0.9)


def test_a_drawn_surface_on_a_library_base_saves_as_a_lab_and_loads_back():
    from simulator.core import drawn

    surface = drawn.drawn_surface(sim.get_surface("rosenbrock"), [[0.0, 1.0, 2.0, 0.3],
                                                                 [-1.0, 2.0, -1.5, 0.4]])
    data = labs.lab_from_session(
        {"training": {"steps": 50}, "lanes": [{"name": "GD", "optimizer": {"name": "SGD",
                                                                           "lr": 1e-3}}],
         "start": [-1.5, 2.0]},
        surface, lab_id="drawn-test", title="Drawn", summary="a drawn scene")
    lab = labs.parse_lab(data)
    assert lab.surface_spec["kind"] == "drawn"
    assert lab.surface_spec["base"]["name"] == "rosenbrock"
    p = np.array([[0.1, 0.9], [-1.2, 1.8]])
    np.testing.assert_array_equal(lab.surface.value(p), surface.value(p))


def test_session_spellings_of_surface_kinds_are_accepted():


    base = {"format": "losslab-lab", "version": 1, "id": "spell", "title": "t",
            "summary": "s", "start": [1.0, 1.0],
            "lanes": [{"name": "GD", "optimizer": {"name": "SGD"}}]}
    a = labs.parse_lab({**base, "surface": {"kind": "builtin", "name": "himmelblau"}})
    b = labs.parse_lab({**base, "surface": {"kind": "expression", "formula": "x**2 + y**2"}})
    assert a.surface.name == "himmelblau"
    assert b.surface.kind == "expression"
