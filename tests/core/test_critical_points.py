"""Tests for simulator.core.critical_points: finding and classifying critical points.

Known critical-point sets of library surfaces, each point classified as analyze_point
classifies it; deduplication, caching, domains and seeds.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from simulator.core import critical_points as CP
from simulator.core.critical_points import find_critical_points
from simulator.core.diagnostics import analyze_point, surface_units
from simulator.core.kernels.surfaces import S_QUADFORM
from simulator.core.library import get_surface
from simulator.core.surface import Surface

# x^2 + 10 y^2 = 0.5 (2 x^2 + 20 y^2): the quadratic-form kernel with a=2, b=0, c=20
QUAD = Surface("x^2 + 10 y^2", 2, ((-2.0, 2.0), (-2.0, 2.0)), sid=S_QUADFORM, prm=[2, 0, 20, 0])


def kinds(cps):
    out: dict[str, int] = {}
    for c in cps:
        out[c.kind] = out.get(c.kind, 0) + 1
    return out



# ---- find_critical_points --------------------------------------------------------------
HIMMELBLAU_MINIMA = [
    (3.0, 2.0),
    (-2.805118, 3.131312),
    (-3.779310, -3.283186),
    (3.584428, -1.848126),
]


def test_himmelblau_nine_points():
    s = get_surface("himmelblau")
    cps = find_critical_points(s)
    assert kinds(cps) == {"minimum": 4, "saddle": 4, "maximum": 1}
    assert [c.kind for c in cps] == ["minimum"] * 4 + ["saddle"] * 4 + ["maximum"]
    mins = np.array([c.position for c in cps[:4]])
    for m in HIMMELBLAU_MINIMA:
        assert np.min(np.linalg.norm(mins - m, axis=1)) < 1e-5
    np.testing.assert_allclose(cps[-1].position, [-0.270845, -0.923039], atol=1e-5)
    assert cps[-1].value == pytest.approx(181.617, abs=1e-3)
    values = [c.value for c in cps[4:8]]
    assert values == sorted(values)
    assert all(c.saddle_like for c in cps[4:8]) and not any(c.saddle_like for c in cps[:4])


def test_rosenbrock_single_minimum():
    cps = find_critical_points(get_surface("rosenbrock"))
    assert len(cps) == 1 and cps[0].kind == "minimum"
    np.testing.assert_allclose(cps[0].position, [1, 1], atol=1e-10)


def test_saddle_monkey_quadratic():
    (c,) = find_critical_points(get_surface("saddle"))
    assert c.kind == "saddle" and np.allclose(c.position, 0, atol=1e-12)
    (m,) = find_critical_points(get_surface("monkey-saddle"))
    assert m.kind == "degenerate" and m.saddle_like
    assert np.linalg.norm(m.position) < 1e-6
    (q,) = find_critical_points(get_surface("quadratic"))
    assert q.kind == "minimum" and np.allclose(q.position, 0, atol=1e-12)
    (q10,) = find_critical_points(QUAD)
    np.testing.assert_allclose(q10.eigenvalues, [2, 20])


def test_double_well_curve():
    cps = find_critical_points(get_surface("double-well"))
    assert [c.kind for c in cps] == ["minimum", "minimum", "maximum"]
    assert cps[0].value <= cps[1].value


def test_rastrigin_many_true_critical_points():
    s = get_surface("rastrigin")
    cps = find_critical_points(s)
    assert len(cps) > 100
    assert cps[0].kind == "minimum" and np.allclose(cps[0].position, 0, atol=1e-9)
    assert cps[0].value == pytest.approx(0.0, abs=1e-12)
    P = np.array([c.position for c in cps])
    _, _, G, _ = surface_units(s)
    g = s.gradient(P)
    assert np.all(np.linalg.norm(g, axis=1) <= CP.CP_GRAD_TOL * G)
    (lo, hi), (lo2, hi2) = s.domain
    assert np.all((P[:, 0] >= lo - 1e-9) & (P[:, 0] <= hi + 1e-9))
    assert np.all((P[:, 1] >= lo2 - 1e-9) & (P[:, 1] <= hi2 + 1e-9))
    # no duplicates, and each kind agrees with analyze_point
    d = np.linalg.norm(P[:, None] - P[None], axis=-1) + np.eye(len(P))
    assert d.min() > CP.DEDUPE_TOL * s.scale
    for c in cps[::17]:
        assert analyze_point(s, c.position).kind == c.kind


def test_undefined_regions_are_skipped():
    from simulator.core.expressions import surface_from_expression

    # log(x) + (x-2)^2 + (y-1)^2: nan for x <= 0; x'= 1 -+ 1/sqrt(2)
    s = surface_from_expression("log(x) + (x-2)**2 + (y-1)**2", domain=((-1, 3), (-1, 3)))
    cps = find_critical_points(s)
    assert [c.kind for c in cps] == ["minimum", "saddle"]
    np.testing.assert_allclose(cps[0].position, [1 + 0.5**0.5, 1], atol=1e-9)
    np.testing.assert_allclose(cps[1].position, [1 - 0.5**0.5, 1], atol=1e-9)
    assert not analyze_point(s, (-0.5, 0.0)).defined


def test_inflection_point_of_a_curve():
    from simulator.core.expressions import surface_from_expression

    (c,) = find_critical_points(surface_from_expression("w**3", domain=((-2, 2),)))
    assert c.kind == "degenerate" and c.saddle_like and abs(c.position[0]) < 1e-6


def test_domain_argument_and_seeds():
    s = get_surface("himmelblau")
    cps = find_critical_points(s, domain=((0, 5), (0, 5)))
    assert [c.kind for c in cps] == ["minimum", "saddle", "saddle"]
    assert np.allclose(cps[0].position, [3, 2])
    # explicit seeds, many of them converging to the same two points: deduplicated
    seeds = np.array([[2.9, 2.1]] * 5 + [[3.1, 1.9]] * 5 + [[3.5, -1.8], [3.6, -1.9]])
    cps = find_critical_points(s, seeds=seeds)
    got = sorted(tuple(np.round(c.position, 4)) for c in cps if c.kind == "minimum")
    assert (3.0, 2.0) in got and (3.5844, -1.8481) in got
    assert len({tuple(np.round(c.position, 6)) for c in cps}) == len(cps)


def test_dedupe_helper():
    x = np.array([[0.0, 0.0], [1e-9, 0.0], [1.0, 1.0], [0.0, 2e-9], [1.0 + 1e-8, 1.0]])
    gnorm = np.array([1e-10, 1e-12, 1e-10, 1e-11, 1e-13])
    keep = CP._dedupe(x, gnorm, 1e-6)
    assert sorted(keep.tolist()) == [1, 4]  # the smallest gradient of each cluster


def test_results_are_cached_and_frozen():
    s = get_surface("himmelblau")
    a = find_critical_points(s)
    b = find_critical_points(s)
    assert a is not b and all(x is y for x, y in zip(a, b))
    with pytest.raises(ValueError):
        a[0].position[0] = 1.0  # read-only arrays
    with pytest.raises(AttributeError):
        a[0].kind = "maximum"  # frozen


def test_describe_critical_point():
    (c,) = find_critical_points(get_surface("saddle"))
    assert c.describe().startswith("(0, 0) is a saddle: curves up along (1, 0)")


def test_timing_builtin_is_bounded():
    s = get_surface("himmelblau")
    find_critical_points(s, seeds=8)  # warm the kernels
    t = time.perf_counter()
    find_critical_points(s, seeds=47)  # not cached: a different seed grid
    # ~0.1-0.4 s measured (2 cores, busy machine); generous bound against hangs
    assert time.perf_counter() - t < 5.0


def _fresh():
    from simulator.core.expressions import surface_from_expression

    return surface_from_expression("x**2 - y**2", domain=((-1, 1), (-1, 1)))


def test_cached_critical_points_reads_the_one_cache_without_searching():
    s = _fresh()
    assert CP.cached_critical_points(s) is None
    found = find_critical_points(s)
    assert [c.kind for c in found] == ["saddle"]
    got = CP.cached_critical_points(s)
    assert got is not found and all(a is b for a, b in zip(got, found, strict=True))
    assert CP.cached_critical_points(s, seeds=8) is None  # other arguments: not searched
    assert CP.cached_critical_points(s, ((-1, 1), (-1, 1))) is not None  # the same box


def test_a_failed_search_is_remembered_and_the_default_search_outlives_others(monkeypatch):
    calls = []

    def boom(surface, dom, seeds, tol):
        calls.append(seeds)
        raise FloatingPointError("no search here")

    monkeypatch.setattr(CP, "_find_critical_points", boom)
    s = _fresh()
    for _ in range(3):
        with pytest.raises(FloatingPointError, match="no search here"):
            find_critical_points(s)
    assert calls == [None]  # searched once, the error raised again at once
    with pytest.raises(FloatingPointError):
        CP.cached_critical_points(s)
    # many searches with other seeds are forgotten; the default one stays
    monkeypatch.setattr(CP, "_find_critical_points",
                        lambda surface, dom, seeds, tol: calls.append(seeds) or [])
    s = _fresh()
    find_critical_points(s)
    for k in range(2, 40):
        find_critical_points(s, seeds=k)
    assert CP.cached_critical_points(s) == []
    assert CP.cached_critical_points(s, seeds=2) is None
    n = len(calls)
    find_critical_points(s)
    assert len(calls) == n
