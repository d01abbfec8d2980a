"""Data surfaces: exact gradients, determinism, the stored minimum."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.core.datasets import _separable, linear_regression, logistic_regression
from simulator.core.kernels.field import SID_LINREG, SID_LOGREG
from simulator.core.library import get_surface

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import naive  # noqa: E402

MAKERS = {"linreg": linear_regression, "logreg": logistic_regression}
REFS = {"linreg": naive.mse, "logreg": naive.cross_entropy}


def _points(s, n, seed):
    rng = np.random.default_rng(seed)
    lo = np.array([d[0] for d in s.domain])
    hi = np.array([d[1] for d in s.domain])
    return lo + (hi - lo) * rng.random((n, 2))


@pytest.mark.parametrize("kind", ["linreg", "logreg"])
@pytest.mark.parametrize("kw", [{}, {"n": 17, "seed": 5, "noise": 2.0}])
def test_matches_plain_numpy(kind, kw):
    s = MAKERS[kind](**kw)
    P = _points(s, 40, 0)
    f, g, H = s.evaluate(P)
    for i, p in enumerate(P):
        rf, rg, rH = REFS[kind](s.X, s.Y, p)
        assert f[i] == pytest.approx(rf, rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(g[i], rg, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(H[i], rH, rtol=1e-11, atol=1e-12)
    # the block path (value, gradient) gives the same numbers
    np.testing.assert_allclose(s.value(P), f, rtol=1e-14, atol=0)
    np.testing.assert_allclose(s.gradient(P), g, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", ["linreg", "logreg"])
def test_matches_finite_differences(kind):
    s = MAKERS[kind]()
    P = _points(s, 30, 1)
    _, g, H = s.evaluate(P)
    h = 1e-6
    e = np.eye(2)
    g_fd = np.stack([(s.value(P + h * e[i]) - s.value(P - h * e[i])) / (2 * h) for i in (0, 1)], -1)
    np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-7)
    H_fd = np.stack(
        [(s.gradient(P + h * e[i]) - s.gradient(P - h * e[i])) / (2 * h) for i in (0, 1)], -2
    )
    np.testing.assert_allclose(H, H_fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["linreg", "logreg"])
def test_deterministic_by_seed(kind):
    a, b, c = MAKERS[kind](seed=3), MAKERS[kind](seed=3), MAKERS[kind](seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Y, b.Y)
    assert a.minima == b.minima and a.min_value == b.min_value and a.domain == b.domain
    assert not np.array_equal(a.X, c.X)


def _gradient_rounding_bound(s, w) -> float:
    """How far from zero IEEE arithmetic lets the computed mean gradient be at the stored
    minimum ``w``, on any CPU (BLAS and numba sum in CPU-dependent orders and widths).

    The stored ``w`` zeroes a gradient computed one way (numpy, BLAS) to within its own
    rounding, and is itself rounded; the kernel computes the gradient another way. Each
    way's error is bounded by the standard forward-error bounds (Higham, ch. 3): the score
    z = w.x carries |dz| <= gamma_3 (|w1 x1| + |w2 x2|) (the rounding of w included), a
    term's residual r (z - y, or sigmoid(z) - y) moves by its slope (2, or
    sigmoid'(z)) times dz plus a few ulp of itself, and the mean of n terms adds
    gamma_n * sum |terms| / n. The two ways together are at most twice that; Newton's last
    step (at most 1e-15 relative, see ``_logistic_minimum``) adds |H| * 1e-15 (1 + |w|).
    """
    eps = np.finfo(float).eps
    X, Y, n = s.X, s.Y, len(s.Y)
    w = np.asarray(w, dtype=float)
    absdot = np.abs(X) @ np.abs(w)
    z = X @ w
    dz = 3 * eps * absdot
    if s.sid == SID_LINREG:
        r, slope = 2.0 * (z - Y), 2.0
    else:
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        r, slope = p - Y, p * (1.0 - p)
    term = np.abs(r)[:, None] * np.abs(X)
    dterm = np.abs(X) * (slope * dz + 4 * eps * np.abs(r))[:, None]
    one_way = (dterm.sum(axis=0) + (n + 2) * eps * term.sum(axis=0)) / n
    H = np.abs(s.hessian(w)).sum(axis=1)
    newton = H * 1e-15 * (1.0 + np.max(np.abs(w)))
    return float(np.max(2.0 * one_way + newton))


@pytest.mark.parametrize("kind", ["linreg", "logreg"])
@pytest.mark.parametrize("kw", [{}, {"n": 8, "seed": 1}, {"n": 500, "seed": 2, "noise": 0.3}])
def test_stored_minimum(kind, kw):
    s = MAKERS[kind](**kw)
    (m,) = s.minima
    f, g, H = s.evaluate(np.array(m))
    bound = _gradient_rounding_bound(s, m)
    assert bound < 1e-9  # the bound itself is small: the minimum is well conditioned
    assert np.max(np.abs(g)) <= bound, (np.max(np.abs(g)), bound)
    assert np.min(np.linalg.eigvalsh(H)) > 0.0
    assert f == pytest.approx(s.min_value, rel=1e-13, abs=1e-15)
    for (lo, hi), c in zip(s.domain, m):
        assert lo < c < hi and lo < 0.0 < hi  # minimum and origin both in view
    _, v = s.grid(41)
    assert v.min() >= s.min_value


def test_linear_regression_data():
    s = linear_regression(n=64, seed=0)
    assert s.sid == SID_LINREG and s.kind == "data" and s.variables == ("w1", "w2")
    assert s.X.shape == (64, 2) and np.all(s.X[:, 1] == 1.0)
    slope, intercept = np.polyfit(s.X[:, 0], s.Y, 1)
    np.testing.assert_allclose(s.minima[0], (slope, intercept), rtol=1e-10)
    np.testing.assert_allclose(s.minima[0], (2.0, -1.0), atol=0.5)  # near the true line
    # without noise the fit is exact
    s0 = linear_regression(noise=0.0, slope=0.5, intercept=1.5)
    np.testing.assert_allclose(s0.minima[0], (0.5, 1.5), rtol=1e-12)
    assert s0.min_value == pytest.approx(0.0, abs=1e-25)


def test_logistic_regression_data():
    s = logistic_regression(n=64, seed=0)
    assert s.sid == SID_LOGREG and s.kind == "data" and s.variables == ("w1", "w2")
    assert s.X.shape == (64, 2)
    assert set(np.unique(s.Y)) == {0.0, 1.0}
    assert not _separable(s.X, s.Y)
    assert s.value(np.array([0.0, 0.0])) == pytest.approx(np.log(2.0), rel=1e-14)
    w = np.array(s.minima[0])
    assert w[0] > 0 > w[1]  # same signs as the generating weights (2, -1)


def test_separability_check():
    X = np.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 0.5], [-2.0, -1.0]])
    assert _separable(X, np.array([1.0, 1.0, 0.0, 0.0]))  # split by x1 = 0
    assert not _separable(X, np.array([1.0, 0.0, 1.0, 0.0]))
    # small, low-noise draws are redrawn until they overlap: still deterministic
    a = logistic_regression(n=8, seed=0, noise=0.2)
    b = logistic_regression(n=8, seed=0, noise=0.2)
    assert not _separable(a.X, a.Y)
    np.testing.assert_array_equal(a.X, b.X)


def test_library_entries():
    s = get_surface("linear-regression", n=32, seed=7, noise=0.1)
    t = linear_regression(n=32, seed=7, noise=0.1)
    np.testing.assert_array_equal(s.X, t.X)
    assert s.params["n"] == 32 and s.params["seed"] == 7 and s.params["noise"] == 0.1
    s = get_surface("logistic-regression", seed=2)
    np.testing.assert_array_equal(s.Y, logistic_regression(seed=2).Y)


@pytest.mark.parametrize(
    ("maker", "kw", "word"),
    [
        (linear_regression, {"n": 1}, "n"),
        (linear_regression, {"n": 3.5}, "n"),
        (linear_regression, {"seed": -1}, "seed"),
        (linear_regression, {"noise": -0.1}, "noise"),
        (linear_regression, {"slope": float("inf")}, "slope"),
        (logistic_regression, {"noise": 0.0}, "noise"),
        (logistic_regression, {"n": 2}, "n"),
        (logistic_regression, {"weights": (1.0, 2.0, 3.0)}, "weights"),
    ],
)
def test_bad_arguments(maker, kw, word):
    with pytest.raises(ValueError, match=word):
        maker(**kw)
