"""Tests for simulator.core.diagnostics: point analysis, critical points, saddle episodes.

Hand-computed Hessians and eigenvalues, known critical-point sets of library surfaces,
and the vectorised episode finder against a plain Python reference loop.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from simulator.core import diagnostics as D
from simulator.core.diagnostics import (
    CriticalPoint,
    SaddleEpisode,
    analyze_point,
    describe_episode,
    find_critical_points,
    saddle_episodes,
)
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


# ---- analyze_point ---------------------------------------------------------------------
def test_quadratic_minimum_numbers():
    pa = analyze_point(QUAD, (0.0, 0.0))
    assert pa.defined and pa.kind == "minimum"
    np.testing.assert_allclose(pa.hessian, [[2, 0], [0, 20]])
    np.testing.assert_allclose(pa.eigenvalues, [2, 20])
    np.testing.assert_allclose(np.abs(pa.eigenvectors), np.eye(2), atol=1e-12)
    assert pa.condition_number == pytest.approx(10.0)
    assert pa.max_stable_lr == pytest.approx(0.1)
    assert pa.grad_norm == 0.0 and pa.value == 0.0
    text = pa.describe()
    assert text.startswith("a minimum") and "condition number 10" in text and "lr < 0.1" in text


def test_regular_point_gradient_and_text():
    pa = analyze_point(QUAD, (1.0, 1.0))
    assert pa.kind == "regular" and not pa.is_critical
    np.testing.assert_allclose(pa.gradient, [2, 20])
    assert pa.grad_norm == pytest.approx(math.hypot(2, 20))
    assert pa.value == pytest.approx(11.0)
    assert "not a critical point" in pa.describe()


def test_saddle_at_origin():
    s = get_surface("saddle")  # x^2 - y^2
    pa = analyze_point(s, (0.0, 0.0))
    assert pa.kind == "saddle" and pa.saddle_like
    np.testing.assert_allclose(pa.eigenvalues, [-2, 2])
    assert pa.condition_number == pytest.approx(1.0)
    assert pa.max_stable_lr == pytest.approx(1.0)
    text = pa.describe()
    assert text.startswith("a saddle: curves up along (1, 0)") and "down along (0, 1)" in text


def test_rosenbrock_hessian_at_minimum():
    s = get_surface("rosenbrock")  # a=1, b=100
    pa = analyze_point(s, (1.0, 1.0))
    H = np.array([[802.0, -400.0], [-400.0, 200.0]])
    np.testing.assert_allclose(pa.hessian, H)
    # eigenvalues of [[802, -400], [-400, 200]]: 501 -+ sqrt(301^2 + 400^2)
    root = math.sqrt(301.0**2 + 400.0**2)
    np.testing.assert_allclose(pa.eigenvalues, [501 - root, 501 + root], rtol=1e-12)
    np.testing.assert_allclose(H @ pa.eigenvectors, pa.eigenvectors * pa.eigenvalues, atol=1e-9)
    np.testing.assert_allclose(pa.eigenvectors.T @ pa.eigenvectors, np.eye(2), atol=1e-12)
    assert pa.kind == "minimum"
    assert pa.condition_number == pytest.approx((501 + root) / (501 - root))
    assert pa.max_stable_lr == pytest.approx(2 / (501 + root))


def test_monkey_saddle_is_degenerate_but_saddle_like():
    s = get_surface("monkey-saddle")
    pa = analyze_point(s, (0.0, 0.0))
    assert pa.kind == "degenerate" and pa.saddle_like
    assert pa.condition_number == math.inf  # both eigenvalues exactly 0
    assert pa.max_stable_lr == math.inf
    assert "monkey saddle" in pa.describe()


def test_curve_point():
    s = get_surface("double-well")
    top = [c for c in find_critical_points(s) if c.kind == "maximum"][0]
    pa = analyze_point(s, top.position)
    assert pa.kind == "maximum" and pa.condition_number == 1.0
    assert pa.max_stable_lr == math.inf
    assert pa.eigenvectors.shape == (1, 1) and pa.describe().startswith("a maximum")
    assert analyze_point(s, 0.3).describe().startswith("not a critical point: the slope")


def test_undefined_point_and_bad_input():
    pa = analyze_point(QUAD, (np.nan, 0.0))
    assert not pa.defined and pa.kind == "regular" and math.isnan(pa.value)
    assert pa.describe().startswith("undefined here")
    nowhere = Surface("nowhere", 2, ((-1, 1), (-1, 1)), sid=999)  # every value is nan
    assert not analyze_point(nowhere, (0.0, 0.0)).defined
    assert find_critical_points(nowhere) == []
    with pytest.raises(ValueError):
        analyze_point(QUAD, (1.0, 2.0, 3.0))


def test_tolerances_are_relative_to_the_surface():
    big = Surface("big", 2, ((-2e3, 2e3), (-2e3, 2e3)), sid=S_QUADFORM, prm=[2, 0, 20, 0])
    # same shape, 1000x longer: a gradient of 1e-4 is still "critical" there
    assert analyze_point(big, (0.5e-5, 0.0)).kind == "minimum"
    assert analyze_point(QUAD, (0.5e-5, 0.0)).kind == "regular"
    a = analyze_point(QUAD, (0.0, 0.0), grad_tol=0.0, eig_tol=100.0)
    assert a.kind == "degenerate"


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
    _, _, G, _ = D.surface_units(s)
    g = s.gradient(P)
    assert np.all(np.linalg.norm(g, axis=1) <= D.CP_GRAD_TOL * G)
    (lo, hi), (lo2, hi2) = s.domain
    assert np.all((P[:, 0] >= lo - 1e-9) & (P[:, 0] <= hi + 1e-9))
    assert np.all((P[:, 1] >= lo2 - 1e-9) & (P[:, 1] <= hi2 + 1e-9))
    # no duplicates, and each kind agrees with analyze_point
    d = np.linalg.norm(P[:, None] - P[None], axis=-1) + np.eye(len(P))
    assert d.min() > D.DEDUPE_TOL * s.scale
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
    keep = D._dedupe(x, gnorm, 1e-6)
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


# ---- saddle episodes -------------------------------------------------------------------
def naive_episodes(positions, saddles, radius, min_steps):
    """Plain reference: walk the rows, track the nearest saddle within the radius."""
    out = []
    cur, start = -1, 0
    labels = []
    for p in positions:
        best, bd = -1, math.inf
        for k, c in enumerate(saddles):
            d = float(np.linalg.norm(p - c.position)) if np.all(np.isfinite(p)) else math.inf
            if d <= radius and d < bd:
                best, bd = k, d
        labels.append(best)
    labels.append(-2)
    for i, lab in enumerate(labels):
        if i == 0 or lab != cur:
            if i > 0 and cur >= 0 and i - start >= min_steps:
                out.append((start, None if i >= len(positions) else i, cur))
            cur, start = lab, i
    return out


def saddle_cp(pos):
    return CriticalPoint(
        position=np.array(pos, float),
        value=0.0,
        kind="saddle",
        eigenvalues=np.array([-1.0, 1.0]),
        eigenvectors=np.eye(2),
        saddle_like=True,
    )


def test_episode_exact_enter_exit():
    s = get_surface("saddle")
    pos = np.full((200, 2), 1.5)
    pos[50:150] = [0.01, -0.02]  # within 3 % of the diagonal (0.17) of the saddle
    (ep,) = saddle_episodes(s, pos)
    assert (ep.enter, ep.exit, ep.last, ep.steps) == (50, 150, 149, 100)
    assert ep.saddle.kind == "saddle"
    pos[150:] = 0.0  # stays until the end
    (ep,) = saddle_episodes(s, pos)
    assert (ep.enter, ep.exit, ep.steps) == (50, None, 150)
    assert describe_episode(ep, "GD") == "GD sat on the saddle at (0, 0) from step 50 to the end"


def test_episode_min_steps_radius_and_nan():
    s = get_surface("saddle")
    pos = np.full((100, 2), 1.5)
    pos[10:19] = 0.0  # 9 steps: too short
    pos[30:60] = 0.0
    pos[40] = np.nan  # a non-finite row splits the stay
    eps = saddle_episodes(s, pos, min_steps=10)
    assert [(e.enter, e.exit) for e in eps] == [(30, 40), (41, 60)]
    assert [(e.enter, e.exit) for e in saddle_episodes(s, pos, min_steps=11)] == [(41, 60)]
    assert [(e.enter, e.exit) for e in saddle_episodes(s, pos, min_steps=5)] == [
        (10, 19),
        (30, 40),
        (41, 60),
    ]
    assert saddle_episodes(s, pos + 0.5, min_steps=5) == []  # 0.71 away: outside 0.17
    assert len(saddle_episodes(s, pos + 0.5, radius=1.0, min_steps=5)) == 3
    assert saddle_episodes(s, np.full((10, 2), np.nan)) == []
    assert saddle_episodes(s, np.zeros((0, 2))) == []
    before = pos.copy()
    saddle_episodes(s, pos)
    np.testing.assert_array_equal(pos, before)  # the caller's array is not edited


def test_episode_radii_are_reused_for_the_same_critical_points():
    """The default radii (every saddle against every critical point) are worked out
    once per surface and list of critical points; another list is worked out anew."""
    from simulator.core import diagnostics as D

    s = get_surface("rastrigin")
    cps = D.find_critical_points(s)
    rng = np.random.default_rng(0)
    pos = np.repeat(np.array([c.position for c in cps if c.saddle_like][:5]), 30, axis=0)
    pos += rng.normal(scale=1e-3, size=pos.shape)
    first = saddle_episodes(s, pos)
    cached = D._radii_cache[s]
    assert list(cached[0]) == cps and len(first) == 5
    def stays(eps):
        return [(e.enter, e.exit, e.saddle.position) for e in eps]

    assert stays(saddle_episodes(s, pos)) == stays(first)
    assert D._radii_cache[s][1] is cached[1]  # reused
    # a list of its own (the saddles alone: wider radii, the same five stays)
    mine = [c for c in cps if c.saddle_like]
    again = saddle_episodes(s, pos, critical_points=mine)
    assert list(D._radii_cache[s][0]) == mine and D._radii_cache[s][1] is not cached[1]
    assert stays(again) == stays(first)


def test_describe_episode_text():
    cp = saddle_cp((0.0, 0.0))
    ep = SaddleEpisode(enter=40, exit=311, saddle=cp, last=310)
    assert ep.steps == 271
    assert describe_episode(ep, "Momentum") == (
        "Momentum lingered near the saddle at (0, 0) for steps 40-310 (271 steps)"
    )


@pytest.mark.parametrize("seed", range(4))
def test_episodes_match_reference(seed):
    rng = np.random.default_rng(seed)
    s = get_surface("saddle")
    saddles = [saddle_cp(rng.uniform(-1.5, 1.5, 2)) for _ in range(rng.integers(1, 12))]
    # a walk that visits the saddles and sits at some
    pos = np.cumsum(rng.normal(0, 0.05, (600, 2)), axis=0) * 0.3
    for k in range(0, 600, 60):
        c = saddles[rng.integers(len(saddles))].position
        pos[k : k + rng.integers(5, 40)] = c + rng.normal(0, 0.05, 2)
    pos[rng.integers(0, 600, 5)] = np.nan
    radius = 0.12
    got = saddle_episodes(s, pos, critical_points=saddles, radius=radius, min_steps=4)
    exp = naive_episodes(pos, saddles, radius, 4)
    assert [(e.enter, e.exit, saddles.index(e.saddle)) for e in got] == exp


def test_episodes_on_a_dense_lattice_match_reference():
    s = get_surface("rastrigin")
    cps = find_critical_points(s)
    rng = np.random.default_rng(7)
    pos = np.cumsum(rng.normal(0, 0.05, (3000, 2)), axis=0)
    saddles = [c for c in cps if c.saddle_like]
    got = saddle_episodes(s, pos, critical_points=cps, radius=0.2, min_steps=3)
    exp = naive_episodes(pos, saddles, 0.2, 3)
    assert [(e.enter, e.exit, saddles.index(e.saddle)) for e in got] == exp
    # default radius: at most half the distance to the nearest other critical point
    P = np.array([c.position for c in cps])
    for e in saddle_episodes(s, pos, critical_points=cps, min_steps=3):
        d = np.linalg.norm(P - e.saddle.position, axis=1)
        reach = 0.5 * np.min(d[d > 0])
        seg = pos[e.enter : e.last + 1]
        assert np.all(np.linalg.norm(seg - e.saddle.position, axis=1) <= reach + 1e-12)


def test_episodes_are_fast_on_a_million_rows():
    s = get_surface("himmelblau")
    cps = find_critical_points(s)
    rng = np.random.default_rng(0)
    pos = np.cumsum(rng.normal(0, 0.003, (10**6, 2)), axis=0)
    pos[1000:200_000] = cps[4].position  # sits on a saddle
    saddle_episodes(s, pos, cps)
    t = time.perf_counter()
    eps = saddle_episodes(s, pos, cps)
    elapsed = time.perf_counter() - t
    assert any(e.enter == 1000 and e.saddle is cps[4] for e in eps)
    assert elapsed < 1.0  # ~10-50 ms measured; generous for busy CI machines


# ---- real runs -------------------------------------------------------------------------
def test_gd_on_the_stable_manifold_converges_to_the_saddle():
    from simulator.core.engine import simulate
    from simulator.core.optimizers import SGD

    s = get_surface("saddle")
    run = simulate(s, SGD(lr=0.1), start=(1.0, 0.0), steps=500)
    (ep,) = saddle_episodes(s, run.positions)
    # x_k = 0.8^k; inside 3 % of the diagonal (0.1697) from k = 8
    assert ep.exit is None and ep.enter == 8
    assert describe_episode(ep, "GD") == "GD sat on the saddle at (0, 0) from step 8 to the end"
    noisy = simulate(s, SGD(lr=0.1), start=(1.0, 0.0), steps=500, noise=0.01, seed=1)
    eps = saddle_episodes(s, noisy.positions)
    assert eps and eps[0].exit is not None and eps[0].enter >= 5
    assert describe_episode(eps[0], "GD").startswith("GD lingered near the saddle at (0, 0)")


def test_gd_crawls_into_the_monkey_saddle():
    from simulator.core.engine import simulate
    from simulator.core.optimizers import SGD

    s = get_surface("monkey-saddle")
    run = simulate(s, SGD(lr=0.05), start=(1.0, 0.0), steps=2000)
    eps = saddle_episodes(s, run.positions)
    assert len(eps) == 1 and eps[0].exit is None
    assert "flat saddle" in describe_episode(eps[0], "GD")


def test_analysis_far_out_on_a_diverged_path_warns_nothing():
    import warnings

    from simulator.core.diagnostics import analyze_point
    from simulator.core.library import get_surface

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would be an error
        pa = analyze_point(get_surface("rosenbrock"), [1e51, 0.0])  # |g| ~ 4e155
    assert pa.grad_norm > 1e155 and np.isfinite(pa.grad_norm)
