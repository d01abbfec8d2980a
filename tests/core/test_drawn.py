"""Drawn surfaces: exact derivatives, strokes, the eraser, (de)serialisation and files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from simulator.core import drawn as D
from simulator.core.engine import simulate
from simulator.core.expressions import surface_from_expression
from simulator.core.library import get_surface, list_surfaces
from simulator.core.optimizers import SGD

RNG = np.random.default_rng(7)


def _bumps(n=12, sigma=(0.2, 0.8)):
    return np.column_stack([
        RNG.uniform(-2, 2, n), RNG.uniform(-2, 2, n), RNG.normal(0, 2, n),
        RNG.uniform(*sigma, n),
    ])


def _naive_bumps(b, p):
    """Plain-Python reference: value of the bumps at p."""
    x, y = p
    return sum(a * math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
               for cx, cy, a, s in b)


BASES = {
    "flat": lambda: D.flat_surface(),
    "bowl": lambda: D.bowl_surface(),
    "rosenbrock": lambda: get_surface("rosenbrock"),
    "formula": lambda: surface_from_expression("sin(x) * cos(y) + 0.1*x**2"),
    "data": lambda: get_surface("logistic-regression"),
}


# ---- exact derivatives -------------------------------------------------------------------
@pytest.mark.parametrize("base", list(BASES))
def test_value_is_base_plus_bumps(base):
    b0 = BASES[base]()
    b = _bumps()
    s = D.drawn_surface(b0, b)
    pts = RNG.uniform(-2, 2, (20, 2))
    want = b0.value(pts) + np.array([_naive_bumps(b, p) for p in pts])
    np.testing.assert_allclose(s.value(pts), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("base", list(BASES))
def test_derivatives_match_finite_differences(base):
    s = D.drawn_surface(BASES[base](), _bumps())
    h = 1e-5
    e = np.eye(2) * h
    for p in RNG.uniform(-1.5, 1.5, (15, 2)):
        f, g, H = s.evaluate(p)
        assert f == pytest.approx(s.value(p))
        g_fd = np.array([(s.value(p + e[i]) - s.value(p - e[i])) / (2 * h) for i in range(2)])
        H_fd = np.array([(s.gradient(p + e[i]) - s.gradient(p - e[i])) / (2 * h)
                         for i in range(2)])
        scale = 1 + np.abs(g).max()
        np.testing.assert_allclose(g, g_fd, atol=1e-6 * scale)
        np.testing.assert_allclose(H, H_fd, atol=1e-5 * (1 + np.abs(H).max()))
        np.testing.assert_allclose(H, H.T)


def test_runs_on_a_drawn_surface_at_kernel_speed():
    s = D.drawn_surface(D.flat_surface(), [[0.0, 0.0, -2.0, 1.0]])  # one Gaussian well
    run = simulate(s, SGD(lr=0.2), start=(1.0, 0.5), steps=500)
    np.testing.assert_allclose(run.positions[-1], [0, 0], atol=1e-6)
    assert run.status == "converged"


# ---- strokes ---------------------------------------------------------------------------------
def test_click_is_one_bump_of_the_height():
    b = D.stroke_bumps([(0.5, -1.0)], sigma=0.3, height=2.0)
    np.testing.assert_allclose(b, [[0.5, -1.0, 2.0, 0.3]])


def test_stroke_is_a_smooth_ridge_of_the_height():
    sigma, h = 0.3, 1.5
    b = D.stroke_bumps([(-2, 0), (0, 0), (2, 0)], sigma=sigma, height=h)
    gaps = np.hypot(*np.diff(b[:, :2], axis=0).T)
    assert gaps.max() <= D.STROKE_SPACING * sigma + 1e-12
    assert np.all(b[:, 2] == b[0, 2]) and np.all(b[:, 3] == sigma)
    s = D.drawn_surface(D.flat_surface(), b)
    xs = np.linspace(-2, 2, 401)
    along = s.value(np.column_stack([xs, np.zeros_like(xs)]))
    assert along.max() == pytest.approx(h, rel=1e-9)
    # smooth: no ripple along the crest (5 sigmas and more from the ends)
    mid = along[np.abs(xs) <= 2 - 5 * sigma]
    assert np.ptp(mid) < 1e-6 * h
    # the profile across is the bump's own Gaussian width
    across = s.value(np.array([[0.0, sigma]]))[0]
    assert across == pytest.approx(h * math.exp(-0.5), rel=1e-6)


def test_scribbling_does_not_pile_up_and_wells_go_down():
    path = [(0, 0), (1, 0), (0, 0), (1, 0), (0, 0)]
    b = D.stroke_bumps(path, sigma=0.25, height=-1.0)
    s = D.drawn_surface(D.flat_surface(), b)
    v = s.value(b[:, :2])
    assert v.min() == pytest.approx(-1.0, rel=1e-9)
    st = D.Stroke(radius=0.5, height=-1.0)
    for p in path:
        st.add(*p)
    st.add(float("nan"), 0.0)  # ignored
    np.testing.assert_array_equal(st.bumps(), b)


def test_stroke_edge_cases():
    assert D.stroke_bumps([], 0.3, 1.0).shape == (0, 4)
    assert D.stroke_bumps([(0, 0)], 0.3, 0.0).shape == (0, 4)
    with pytest.raises(ValueError, match="sigma"):
        D.stroke_bumps([(0, 0)], 0.0, 1.0)
    long = np.column_stack([np.linspace(-1e3, 1e3, 50), np.zeros(50)])
    assert len(D.stroke_bumps(long, 0.1, 1.0)) <= D.MAX_BUMPS


def test_eraser_removes_bumps_under_the_path():
    b = np.array([[0, 0, 1, 0.3], [1, 0.05, 1, 0.3], [2, 0, 1, 0.3], [1, 2, 1, 0.3]], float)
    # a fast drag: two mouse positions, the segment between them sweeps the middle bump
    mask = D.erase_mask(b, [(0.6, 0.0), (1.4, 0.0)], radius=0.2)
    np.testing.assert_array_equal(mask, [False, True, False, False])
    np.testing.assert_array_equal(D.erase_mask(b, [(1, 2)], 0.1), [False, False, False, True])
    assert not D.erase_mask(b, [], 1.0).any()


# ---- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("bumps, message", [
    ([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, -1]],
     "bumps[3][3]: sigma must be > 0, got -1"),
    ([[0, 0, 1, 0]], "bumps[0][3]: sigma must be > 0"),
    ([[0, "a", 1, 1]], "bumps[0][1]: cy must be a number, got 'a'"),
    ([[0, 0, float("inf"), 1]], "bumps[0][2]: amplitude must be finite"),
    ([[0, 0, True, 1]], "bumps[0][2]: amplitude must be a number"),
    ([[0, 0, 1]], "bumps[0]: must be [cx, cy, amplitude, sigma]"),
    ("lots", "bumps: must be a list"),
    ([[0, 0, 1, 1]] * (D.MAX_BUMPS + 1), f"at most {D.MAX_BUMPS}"),
    ([[1e300, 0, 1, 1]], "bumps[0][0]: cx must be at most"),
])
def test_bad_bumps_name_their_place(bumps, message):
    with pytest.raises(ValueError) as e:
        D.check_bumps(bumps)
    assert message in str(e.value)
    with pytest.raises(ValueError) as e:
        D.surface_from_dict({"kind": "drawn", "base": {"kind": "flat"}, "bumps": bumps})
    assert message in str(e.value)


def test_drawn_surface_refuses_bad_bases():
    with pytest.raises(ValueError, match="1-D"):
        D.drawn_surface(get_surface("parabola"), [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="already"):
        D.drawn_surface(D.drawn_surface(D.flat_surface(), [[0, 0, 1, 1]]), [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match="Surface"):
        D.drawn_surface("rosenbrock", [[0, 0, 1, 1]])
    assert D.drawn_surface(D.flat_surface(), []).kind == "flat"


# ---- surface_to_dict / surface_from_dict --------------------------------------------------------
def _same(a, b):
    assert a.dim == b.dim and a.domain == b.domain and a.kind == b.kind and a.sid == b.sid
    np.testing.assert_array_equal(a.bumps, b.bumps)
    pts = RNG.uniform(-1, 1, (10, a.dim))
    for u, v in zip(a.evaluate(pts), b.evaluate(pts)):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("name", list_surfaces())
def test_round_trip_every_library_surface(name):
    s = get_surface(name)
    d = D.surface_to_dict(s)
    assert d["kind"] == ("data" if s.kind == "data" else "builtin")
    t = D.surface_from_dict(json.loads(json.dumps(d)))
    _same(s, t)
    assert D.surface_to_dict(t) == d


def test_round_trip_every_kind():
    import dataclasses

    cases = {
        "builtin": get_surface("ravine", condition=50, angle=10),
        "builtin-domain": dataclasses.replace(get_surface("rosenbrock"),
                                              domain=((-3, 3), (-2, 4))),
        "expression": surface_from_expression("x**2 + 10*y**2", domain=((-2, 2), (-1, 1))),
        "curve": surface_from_expression("w**4 - w**2"),
        "flat": D.flat_surface(((-5, 5), (-4, 4))),
        "data": get_surface("linear-regression", n=32, seed=3),
        "drawn-builtin": D.drawn_surface(get_surface("himmelblau"), _bumps()),
        "drawn-expression": D.drawn_surface(surface_from_expression("sin(x)+y^2"), _bumps()),
        "drawn-flat": D.drawn_surface(D.flat_surface(), _bumps()),
        "drawn-data": D.drawn_surface(get_surface("logistic-regression"), _bumps()),
    }
    for label, s in cases.items():
        d = D.surface_to_dict(s)
        text = json.dumps(d)  # JSON-ready
        t = D.surface_from_dict(json.loads(text))
        _same(s, t)
        assert D.surface_to_dict(t) == d, label
    d = D.surface_to_dict(cases["drawn-builtin"])
    assert set(d) == {"kind", "base", "bumps"} and d["base"]["name"] == "himmelblau"
    assert D.base_of(cases["drawn-builtin"]).minima == get_surface("himmelblau").minima


def test_domain_edit_of_a_drawn_surface_survives():
    import dataclasses

    s = D.drawn_surface(get_surface("rosenbrock"), _bumps())
    wide = dataclasses.replace(s, domain=((-4, 4), (-4, 4)))
    t = D.surface_from_dict(D.surface_to_dict(wide))
    assert t.domain == ((-4, 4), (-4, 4))
    _same(wide, t)


def test_lab_spellings_and_the_old_session_format_are_read():
    s = D.surface_from_dict({"kind": "library", "name": "rosenbrock", "params": {"b": 10}})
    assert s.params["b"] == 10
    f = D.surface_from_dict({"kind": "formula", "formula": "x^2+y^2"})
    assert f.kind == "expression"
    # sessions wrote drawn surfaces as the base's name and params plus the bumps
    old = {"kind": "drawn", "name": "rosenbrock", "params": {"a": 1.0, "b": 100.0},
           "domain": [[-2, 2], [-1, 3]], "bumps": [[0, 0, 1, 0.5]]}
    t = D.surface_from_dict(old)
    assert t.kind == "drawn" and D.base_of(t).name == "rosenbrock"
    # and raw Surface.with_bumps surfaces (labs build those) serialise by their base
    raw = get_surface("booth").with_bumps(np.array([[0, 0, 1, 0.5]]))
    assert D.surface_to_dict(raw)["base"]["name"] == "booth"


@pytest.mark.parametrize("d, message", [
    ("rosenbrock", "a surface must be an object"),
    ({"kind": "hand-made"}, "kind: must be one of"),
    ({"kind": "builtin", "name": "rosenbrok"}, "name: unknown surface 'rosenbrok'; did you "
                                               "mean 'rosenbrock'?"),
    ({"kind": "builtin"}, "name: must name a library surface"),
    ({"kind": "builtin", "name": "ravine", "params": {"condition": 0}},
     "params.condition: must be >= 1, got 0"),
    ({"kind": "builtin", "name": "ravine", "params": {"conditon": 2}},
     "params.conditon: ravine has no parameter 'conditon'"),
    ({"kind": "builtin", "name": "ravine", "domain": [[1, 0], [0, 1]]},
     "domain[0]: low must be below high"),
    ({"kind": "builtin", "name": "ravine", "domain": [[0, 1]]}, "domain: must have 2 pairs"),
    ({"kind": "expression", "formula": "x**2 + z"}, "formula: unknown name 'z' at column 8"),
    ({"kind": "expression"}, "formula: must be a formula"),
    ({"kind": "flat", "colour": "red"}, "colour: unknown key"),
    ({"kind": "drawn", "base": {"kind": "drawn", "base": {"kind": "flat"}, "bumps": []},
      "bumps": []}, "base: a drawn surface's base cannot itself be drawn"),
    ({"kind": "drawn", "base": {"kind": "builtin", "name": "parabola"}, "bumps": []},
     "base: must be a 2-D surface"),
    ({"kind": "drawn", "base": {"kind": "builtin", "name": "nope"}, "bumps": []},
     "base.name: unknown surface 'nope'"),
    ({"kind": "data", "name": "rosenbrock"}, "name: 'rosenbrock' is not a data surface"),
])
def test_bad_dicts_name_their_place(d, message):
    with pytest.raises(ValueError) as e:
        D.surface_from_dict(d)
    assert message in str(e.value)


# ---- files -------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    s = D.drawn_surface(surface_from_expression("x^2 + y^2/4"), _bumps(40))
    p = tmp_path / "hills.json"
    D.save_surface(p, s)
    d = json.loads(p.read_text())
    assert d["format"] == "losslab-surface" and d["version"] == 1 and d["kind"] == "drawn"
    t = D.load_surface(p)
    _same(s, t)
    assert list(tmp_path.iterdir()) == [p]  # no temporary files left behind


@pytest.mark.parametrize("content, message", [
    (b"{not json", "is not valid JSON: Expecting property name"),
    (b"\xff\xfe\x00", "is not a text (UTF-8) file"),
    (b"[1, 2]", "not a LossLab surface file"),
    (b'{"format": "losslab-session", "version": 1}', "its format is 'losslab-session'"),
    (b'{"format": "losslab-surface"}', "version: must be a whole number"),
    (b'{"format": "losslab-surface", "version": 9, "kind": "flat"}',
     "has version 9; this LossLab reads surface files up to version 1"),
    (b'{"format": "losslab-surface", "version": 1, "kind": "drawn", "base": {"kind": "flat"},'
     b' "bumps": [[0, 0, 1, 1], [0, 0, 1, -2]]}', "bumps[1][3]: sigma must be > 0, got -2"),
])
def test_bad_files_give_clear_errors(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_bytes(content)
    with pytest.raises(ValueError) as e:
        D.load_surface(p)
    assert message in str(e.value)


def test_huge_and_missing_files(tmp_path, monkeypatch):
    with pytest.raises(OSError):
        D.load_surface(tmp_path / "missing.json")
    p = tmp_path / "big.json"
    p.write_text(" " * 1000)
    monkeypatch.setattr(D, "MAX_FILE_BYTES", 100)
    with pytest.raises(ValueError, match="surface files are small"):
        D.load_surface(p)


def test_height_scale():
    assert D.height_scale(D.flat_surface()) == 1.0
    assert D.height_scale(D.bowl_surface()) == pytest.approx(10.0)
    assert D.height_scale(get_surface("rosenbrock")) > 100
