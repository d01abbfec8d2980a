"""Tests for simulator.core.episodes: the stretches of a run spent near a saddle.

The vectorised episode finder against a plain Python reference loop, and on real runs.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from simulator.core import episodes as E
from simulator.core.critical_points import CriticalPoint, find_critical_points
from simulator.core.episodes import SaddleEpisode, describe_episode, saddle_episodes
from simulator.core.library import get_surface


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
    s = get_surface("rastrigin")
    cps = find_critical_points(s)
    rng = np.random.default_rng(0)
    pos = np.repeat(np.array([c.position for c in cps if c.saddle_like][:5]), 30, axis=0)
    pos += rng.normal(scale=1e-3, size=pos.shape)
    first = saddle_episodes(s, pos)
    cached = E._radii_cache[s]
    assert list(cached[0]) == cps and len(first) == 5
    def stays(eps):
        return [(e.enter, e.exit, e.saddle.position) for e in eps]

    assert stays(saddle_episodes(s, pos)) == stays(first)
    assert E._radii_cache[s][1] is cached[1]  # reused
    # a list of its own (the saddles alone: wider radii, the same five stays)
    mine = [c for c in cps if c.saddle_like]
    again = saddle_episodes(s, pos, critical_points=mine)
    assert list(E._radii_cache[s][0]) == mine and E._radii_cache[s][1] is not cached[1]
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
