"""The marching-squares kernel (``core.contours``) against the plain reference in
``tests/naive.py`` and against cells worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.core.contours import contour_segments
from simulator.core.library import get_surface
from tests import naive


def _pairs(x, y):
    return [((x[k], y[k]), (x[k + 1], y[k + 1])) for k in range(0, len(x), 2)]


def test_one_cell_by_hand():
    # corners (0,0)=0, (1,0)=2, (1,1)=4, (0,1)=2 on the unit square; level 1 crosses
    # the bottom edge halfway (0 -> 2) and the left edge halfway (2 -> 0)
    z = np.array([[0.0, 2.0], [2.0, 4.0]])
    x, y = contour_segments(z, [0.0, 1.0], [0.0, 1.0], [1.0])
    assert _pairs(x, y) == [((0.5, 0.0), (0.0, 0.5))]
    # level 3 on a cell 2 wide and 4 high: the right edge (2 -> 4) is crossed halfway
    # up (y = 2), the top edge (4 -> 2) halfway along (x = 1)
    x, y = contour_segments(z, [0.0, 2.0], [0.0, 4.0], [3.0])
    assert _pairs(x, y) == [((2.0, 2.0), (1.0, 4.0))]


def test_saddle_cell_by_hand():
    # corners 1, -1, 1, -1 (a saddle): level 0 crosses every edge halfway
    z = np.array([[1.0, -1.0], [-1.0, 1.0]])
    x, y = contour_segments(z, [0.0, 1.0], [0.0, 1.0], [0.0])
    # centre value 0 is not above 0, corner 0 is: corners 0 and 2 are cut off
    assert _pairs(x, y) == [((0.0, 0.5), (0.5, 0.0)), ((1.0, 0.5), (0.5, 1.0))]
    # level -0.5 (centre 0 above it, like corner 0): corners 1 and 3 are cut off
    x, y = contour_segments(z, [0.0, 1.0], [0.0, 1.0], [-0.5])
    assert _pairs(x, y) == [((0.75, 0.0), (1.0, 0.25)), ((0.25, 1.0), (0.0, 0.75))]


def test_a_level_through_a_corner_and_no_crossing():
    z = np.array([[1.0, 2.0], [2.0, 3.0]])
    # level == the lowest corner: that corner counts as below, so the level crosses
    assert len(contour_segments(z, [0, 1], [0, 1], [1.0])[0]) == 2
    # level == the highest corner, or outside the range: nothing
    for lev in (3.0, 0.0, 5.0):
        assert len(contour_segments(z, [0, 1], [0, 1], [lev])[0]) == 0


@pytest.mark.parametrize("name", ["himmelblau", "rastrigin", "saddle", "monkey-saddle"])
def test_kernel_matches_the_reference(name):
    s = get_surface(name)
    (x0, x1), (y0, y1) = s.domain
    xs = np.linspace(x0, x1, 31)
    ys = np.linspace(y0, y1, 23)  # not square: rows and columns are not swapped
    X, Y = np.meshgrid(xs, ys)
    z = np.array([[s.value((a, b)) for a, b in zip(rx, ry)] for rx, ry in zip(X, Y)])
    z[3:6, 10:14] = np.nan  # a gap: lines stop at its edge
    levels = np.quantile(z[np.isfinite(z)], np.linspace(0.02, 0.98, 9))
    x, y = contour_segments(z, xs, ys, levels)
    want = naive.contour_segments(z, xs, ys, levels)
    assert len(x) == 2 * len(want) and len(want) > 50
    np.testing.assert_allclose(np.array(_pairs(x, y)), np.array(want), rtol=1e-12, atol=1e-12)


def test_saddle_cells_are_split_by_their_centre():
    xs = np.linspace(-2, 2, 41)  # a grid line through 0: the origin's cells are saddles
    X, Y = np.meshgrid(xs, xs)
    z = X * Y
    x, y = contour_segments(z, xs, xs, [0.0, 0.3])
    want = naive.contour_segments(z, xs, xs, [0.0, 0.3])
    np.testing.assert_array_equal(np.array(_pairs(x, y)), np.array(want))


def test_points_lie_on_the_level_and_stop_at_gaps():
    xs = np.linspace(-2, 2, 120)
    ys = np.linspace(-2, 2, 100)
    X, Y = np.meshgrid(xs, ys)
    x, y = contour_segments(X**2 + Y**2, xs, ys, [1.0])
    assert len(x) > 100 and len(x) % 2 == 0
    np.testing.assert_allclose(np.hypot(x, y), 1.0, atol=2e-3)
    Z = X**2 + Y**2
    Z[:, :60] = np.inf  # undefined, not only nan
    x, _ = contour_segments(Z, xs, ys, [1.0, 2.0])
    assert len(x) and np.all(x >= xs[59])


def test_shapes_are_checked_and_degenerate_grids_draw_nothing():
    with pytest.raises(ValueError, match="shape"):
        contour_segments(np.zeros((3, 4)), np.arange(3), np.arange(4), [0.5])
    x, y = contour_segments(np.zeros((1, 4)), np.arange(4), [0.0], [0.5])
    assert x.size == y.size == 0
    x, _ = contour_segments(np.zeros((3, 3)), np.arange(3), np.arange(3), [])
    assert x.size == 0


def test_symlog_is_odd_linear_near_zero_and_inverts():
    from simulator.core.plotmath import symlog, symlog_inverse, symlog_threshold

    c = 0.1
    y = np.array([-5.16568e12, -1e3, -0.1, 0.0, 1e-4, 0.1, 2.25, 1e12])
    t = symlog(y, c)
    np.testing.assert_array_equal(symlog(-y, c), -t)
    assert t[3] == 0.0 and t[5] == pytest.approx(np.log10(2.0))
    assert t[4] == pytest.approx(1e-3 / np.log(10), rel=1e-3)  # linear near zero
    assert t[0] == pytest.approx(-np.log10(1 + 5.16568e13))
    np.testing.assert_allclose(symlog_inverse(t, c), y, rtol=1e-9, atol=1e-15)
    assert np.isnan(symlog([np.nan], c)[0])
    assert symlog_threshold([2.25, -0.5]) == pytest.approx(0.1)
    assert symlog_threshold([0.0, np.nan]) == 1.0
