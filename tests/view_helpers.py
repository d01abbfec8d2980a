"""Helpers the GUI view tests share (tests/gui/test_*_view*.py): a shown 2-D view, the
data of a curve or a scatter item. Importable as ``view_helpers`` (``pythonpath`` in
pyproject.toml)."""

from __future__ import annotations

import numpy as np


def shown_contour(qtbot, session):
    """A 2-D view of ``session``, shown at 600 x 500 (as laid out in a window)."""
    from simulator.gui.views import ContourView

    v = ContourView(session)
    qtbot.addWidget(v)
    v.resize(600, 500)
    v.show()
    qtbot.waitExposed(v)
    return v


def curve_data(item):
    """The data set on ``item`` (a PlotDataItem draws a peak-downsampled copy of it)."""
    get = getattr(item, "getOriginalDataset", item.getData)
    x, y = get()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


def scatter_xy(item):
    """(x, y) arrays of a scatter item's points."""
    pts = item.getData()
    return np.asarray(pts[0]), np.asarray(pts[1])
