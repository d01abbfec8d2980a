"""Plot pieces the views share (simulator.gui.plotting, simulator.core.plotmath): log
axes, round ranges, arrowheads, LineItem, peak-preserving decimation."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.core.plotmath import HeightScale
from simulator.gui.plotting import arrow_heads


@pytest.mark.parametrize("lo, hi, px", [(0.912, 109.6, 78.4), (2.0, 80.0, 70.0),
                                         (0.5, 3.0, 78.0), (20.0, 80.0, 200.0)])
def test_a_short_log_axis_labels_few_ticks_that_fit(qtbot, lo, hi, px):
    """Less than two decades on a short plot (Rastrigin's local minima: a loss gap from
    1 to 100 on 78 px): pyqtgraph labelled every 1..9 x 10^n tick, on top of each other."""
    import pyqtgraph as pg

    from simulator.gui.views.plots import LogAxis

    a, b = np.log10(lo), np.log10(hi)
    std = [(0.5, [])]  # no whole-decade level: what pyqtgraph finds for such a range
    if px < 100:
        crowded = pg.AxisItem("left").logTickValues(a, b, px, std)[0][1]
        assert len(crowded) > px // LogAxis.LOG_LABEL_PX  # level 0: all labelled
    ticks = LogAxis("left").logTickValues(a, b, px, std)
    labelled, rest = ticks[0][1], ticks[1][1]
    margin = (b - a) * LogAxis.LOG_LABEL_PX / 2 / px
    inner = [v for v in labelled if a + margin <= v <= b - margin]
    assert 2 <= len(inner) <= px // LogAxis.LOG_LABEL_PX  # readable, and they fit
    gaps = np.diff(sorted(inner)) / (b - a) * px
    assert np.all(gaps >= LogAxis.LOG_LABEL_PX * 0.99)
    # every 1..9 x 10^n in the range is still marked (the rest without labels)
    every = [d + np.log10(m) for d in range(-2, 4) for m in range(1, 10)]
    every = [v for v in every if a <= v <= b]
    assert np.allclose(sorted(labelled + rest), every)


@pytest.mark.parametrize("a, b, px, minors", [(-6.3, 9.3, 78.4, False), (-1.0, 2.0, 200.0, True),
                                               (0.0, 4.0, 78.4, False)])
def test_a_log_axis_marks_between_decades_only_where_they_fit(qtbot, a, b, px, minors):
    """A diverged lane's 15 decades on a 78 px plot: pyqtgraph drew all 135 marks 2..9 x
    10^n as one grey band, and its repaint took 5 ms in the middle of a slider drag."""
    from simulator.gui.views.plots import LogAxis

    axis = LogAxis("left")
    axis.setLogMode(False, True)
    levels = axis.tickValues(a, b, px)  # pyqtgraph's levels, then logTickValues
    values = [v for _, vals in levels for v in vals]
    between = [v for v in values if abs(v - round(v)) > 1e-6]
    decades = list(range(int(np.ceil(a)), int(np.floor(b)) + 1))
    assert set(decades) <= {round(v) for v in values if abs(v - round(v)) <= 1e-6}
    if minors:
        assert len(between) >= 8 * (len(decades) - 1)
    else:
        assert between == []


def test_log_scale_handles_negative_values():
    values = np.array([[-3.0, -1.0], [10.0, np.nan]])
    t = HeightScale(values, log=True)(values)
    assert np.isfinite(t[:1]).all() and np.isfinite(t[1, 0]) and np.isnan(t[1, 1])
    assert t[0, 0] < t[0, 1] < t[1, 0]


def test_arrow_heads_are_symmetric_on_screen():
    hx, hy = arrow_heads([0.0], [0.0], [1.0], [0.0], 0.01, 0.1, size=10)
    assert len(hx) == 4
    # tip at (1, 0), strokes go back (x < 1) and spread symmetrically in y
    assert hx[0] == 1.0 and hx[1] < 1.0 and hx[3] < 1.0
    assert hy[1] == pytest.approx(-hy[3])


def test_nice_range_snaps_to_decades_and_round_steps():
    from simulator.gui.views.plots import MAX_DECADES, nice_range

    assert nice_range(-3.2, 1.4, log=True) == (-4.0, 2.0)
    assert nice_range(-2.0, -2.0, log=True) == (-2.5, -1.5)  # a flat curve gets a decade
    assert nice_range(-300.0, 2.0, log=True) == (2.0 - MAX_DECADES, 2.0)
    lo, hi = nice_range(0.013, 0.87, log=False)
    assert (lo, hi) == pytest.approx((0.0, 1.0))  # steps of 0.2 (span / 8 = 0.107)
    assert nice_range(5.0, 5.0, log=False)[0] < 5.0 < nice_range(5.0, 5.0, log=False)[1]
    assert nice_range(np.nan, 1.0, log=False) is None


@pytest.mark.parametrize("width", [1.0, 2.6])
def test_line_item_draws_what_pyqtgraphs_curve_draws(qtbot, width):
    """LineItem against its reference, PlotCurveItem(connect="finite"): the same data,
    bounds and pixels, gaps where points are not finite."""
    import pyqtgraph as pg
    from PySide6.QtGui import QImage, QPainter

    from simulator.gui.plotting import LineItem

    rng = np.random.default_rng(7)
    x = np.arange(400.0)
    y = rng.normal(size=400).cumsum()
    y[100:103] = np.nan  # a gap
    y[250] = np.inf  # a lone bad point
    y[399] = np.nan  # a trailing gap
    pw = pg.PlotWidget()
    qtbot.addWidget(pw)
    pw.resize(500, 300)
    pw.setXRange(0, 400, padding=0)
    pw.setYRange(np.nanmin(y[np.isfinite(y)]), np.nanmax(y[np.isfinite(y)]), padding=0.05)
    pw.show()
    qtbot.waitExposed(pw)

    def draw(item):
        pw.addItem(item)
        item.setPen(pg.mkPen("#ff0000", width=width))
        item.setData(x, y)
        img = QImage(pw.size(), QImage.Format.Format_ARGB32)
        img.fill(0)
        painter = QPainter(img)
        pw.render(painter)
        painter.end()
        pw.removeItem(item)
        bits = img.constBits()
        return np.frombuffer(bits, np.uint8).reshape(img.height(), img.width(), 4).copy()

    line, ref = LineItem(), pg.PlotCurveItem(connect="finite", skipFiniteCheck=False)
    mine, theirs = draw(line), draw(ref)
    red = lambda a: (a[..., 2] > 200) & (a[..., 1] < 80)  # noqa: E731 - BGRA
    assert red(theirs).sum() > 400 * width
    # the same pixels
    assert (red(mine) ^ red(theirs)).sum() <= 0.002 * red(theirs).sum()
    # nothing is drawn across the gap: columns of steps 100-103 stay empty
    plot_x = [round(pw.plotItem.vb.mapViewToScene(pg.Point(v, 0)).x()) for v in (100.5, 102)]
    assert not red(mine)[:, plot_x[0] + 1 : plot_x[1]].any()
    ok = np.isfinite(y)  # the bounds of what is drawn
    assert line.dataBounds(0) == (x[ok].min(), x[ok].max())
    assert line.dataBounds(1) == (y[ok].min(), y[ok].max())
    gx, gy = line.getData()
    assert np.array_equal(gx, x) and np.array_equal(gy, y, equal_nan=True)
    assert len(line._parts) == 3  # 0-99, 103-249, 251-398
    assert line.implements("plotData") and line.name() is None


def test_peak_decimation_keeps_every_extreme_and_gap():
    from simulator.gui.views.plots import peak_decimate

    rng = np.random.default_rng(5)
    y = rng.normal(size=1001)
    y[300:340] = np.nan  # a diverged stretch stays a gap
    y[777] = 50.0  # a spike survives
    x, d = peak_decimate(y, 0, len(y), width_px=100)
    assert len(d) <= 2 * 100 + 2 * 5 + 1  # about two points per pixel column
    assert np.nanmax(d) == 50.0 and np.nanmin(d) == np.nanmin(y)
    # a plain reference: per block of ds steps, its min then its max, then the steps
    # left over as they are; short blocks (ds <= 64) and long ones take different paths
    long = np.r_[y, rng.normal(size=19000)]
    for v, i0, width in ((y, 0, 100), (long, 7, 100)):
        x, d = peak_decimate(v, i0, len(v), width_px=width)
        ds = (len(v) - i0) // width
        nb = (len(v) - i0) // ds
        for b in range(nb):
            blk = v[i0 + b * ds : i0 + (b + 1) * ds]
            lo, hi = d[2 * b], d[2 * b + 1]
            if np.isnan(blk).all():
                assert np.isnan(lo) and np.isnan(hi)
            else:
                assert lo == np.nanmin(blk) and hi == np.nanmax(blk)
            assert x[2 * b] == i0 + b * ds and x[2 * b + 1] == i0 + b * ds + ds - 1
        rest = i0 + nb * ds
        assert np.array_equal(x[2 * nb :], np.arange(rest, len(v)))
        assert np.array_equal(d[2 * nb :], v[rest:], equal_nan=True)
    # few points: drawn as they are
    x, d = peak_decimate(y, 10, 60, width_px=400)
    assert np.array_equal(x, np.arange(10, 60)) and np.array_equal(d, y[10:60], equal_nan=True)
    # rows (one series each) are reduced exactly as each on its own, on both paths
    rows = np.stack([long, long[::-1], np.full(len(long), np.nan)])
    for i0, width in ((0, 100), (7, 100), (3, 5000), (10, 400)):
        x, d = peak_decimate(rows, i0, rows.shape[1], width_px=width)
        for r in range(len(rows)):
            x1, d1 = peak_decimate(rows[r], i0, rows.shape[1], width_px=width)
            assert np.array_equal(x, x1) and np.array_equal(d[r], d1, equal_nan=True)
