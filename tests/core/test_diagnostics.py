"""Tests for simulator.core.diagnostics: the analysis of a point.

Hand-computed Hessians and eigenvalues, relative tolerances, undefined points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.core.critical_points import find_critical_points
from simulator.core.diagnostics import analyze_point
from simulator.core.kernels.surfaces import S_QUADFORM
from simulator.core.library import get_surface
from simulator.core.surface import Surface

# x^2 + 10 y^2 = 0.5 (2 x^2 + 20 y^2): the quadratic-form kernel with a=2, b=0, c=20
QUAD = Surface("x^2 + 10 y^2", 2, ((-2.0, 2.0), (-2.0, 2.0)), sid=S_QUADFORM, prm=[2, 0, 20, 0])


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



def test_analysis_far_out_on_a_diverged_path_warns_nothing():
    import warnings

    from simulator.core.diagnostics import analyze_point
    from simulator.core.library import get_surface

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would be an error
        pa = analyze_point(get_surface("rosenbrock"), [1e51, 0.0])  # |g| ~ 4e155
    assert pa.grad_norm > 1e155 and np.isfinite(pa.grad_norm)
