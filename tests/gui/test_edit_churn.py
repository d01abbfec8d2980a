"""Many lane edits leave the window with as many objects as a few did (issue 18's soak).

The soak benchmark (``bench/bench_soak.py``) plays the app for half an hour with a lane
edit every few seconds and prints its memory; this is its countable core, with no clock:
the same block of edits (learning rates up to 1e100 and back, a lane switched off and on,
a lane duplicated and removed, the steps changed, another surface picked and back, the
frame scrubbed) runs while the scene plays, and after more blocks the window holds as
many graphics items in its views, Qt objects, and LossLab and pyqtgraph Python objects
as after the first ones (within one per block). Items re-created per edit and never
deleted, widgets rebuilt without deleting the old ones, connections made per edit or
caches without a bound would all grow here by at least one per block.

Paint-time caches are counted apart (``_paint_caches``): a graphics item's buffer of
line segments (``LineItem._segments``, ``PlotCurveItem._lineSegments``, pyqtgraph
``PrimitiveArray`` objects made at the item's first wide-pen paint after new data) and
the pixel vectors it last computed (two ``Point`` objects in ``_pixelVectorCache``, also
kept in pyqtgraph's class-wide LRU of 100 device transforms). How many exist depends on
which items happened to be painted, at which view transform, before the count: with
the scene playing, the same window held 26 to 32 PrimitiveArrays from one block to the
next over 30 blocks (no trend), and the LRU gained Points while it filled (CI failed on
1102 -> 1107 PrimitiveArrays and 221 -> 225 Points). Each is held by an item object,
counted itself, or by the bounded LRU; every other PrimitiveArray or Point is counted.
"""

from __future__ import annotations

import gc
from collections import Counter

import pytest
from pyqtgraph import GraphicsItem, Point
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QCoreApplication, QEvent, QMetaMethod, QObject
from PySide6.QtWidgets import QApplication, QGraphicsView

from simulator.core.library import get_surface
from simulator.gui.analysis_cache import ANALYSES_KEPT
from simulator.gui.main_window import MainWindow

SURFACES = ("himmelblau", "beale")
WARM_BLOCKS = 2  # every kernel, cache and item a block needs exists after these
MORE_BLOCKS = 4  # a leak of one object a block grows by 4; paint-time buffers vary by 2


def _edit_block(window, qtbot, surfaces) -> None:
    s = window.session

    def settle():
        s.flush()
        qtbot.wait(60)  # the views' staged drawing and zero-delay deletions run
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    n = len(s.lanes)
    for edit in (
        lambda: s.update_lane(0, lr=s.lanes[0].optimizer.lr * 1.5),
        lambda: s.update_lane(1, lr=1e100),  # diverges: marks, lines, crosses
        lambda: s.update_lane(1, lr=1e-3),
        lambda: s.update_lane(2, enabled=False),
        lambda: s.update_lane(2, enabled=True),
        lambda: s.duplicate_lane(n - 1),
        lambda: s.remove_lane(n),
        lambda: s.set_training(steps=s.steps + 100),
        lambda: s.set_surface(surfaces[1]),
        lambda: s.set_frame(s.frame // 2),
        lambda: s.set_surface(surfaces[0]),
        lambda: s.set_training(steps=s.steps - 100),
        lambda: s.update_lane(0, lr=s.lanes[0].optimizer.lr / 1.5),
    ):
        edit()
        settle()
        if not window.animator.playing:
            window.animator.play()


_PAINT_BUFFERS = ("_segments", "_lineSegments")  # LineItem's, PlotCurveItem's


def _paint_caches(objects) -> set[int]:
    """The ids of the paint-time caches of graphics items (see the module's docstring):
    a line-segment buffer in an item's own slot, the two Points of the pixel vectors in
    its ``_pixelVectorCache`` or in pyqtgraph's class-wide LRU of them."""
    pairs = list(GraphicsItem._pixelVectorGlobalCache.values())
    ids = set()
    for o in objects:
        # type(o), not isinstance: isinstance asks a dead weakref.proxy for its
        # __class__ and raises ReferenceError (seen in CI)
        if issubclass(type(o), GraphicsItem):
            d = vars(o)
            for name in _PAINT_BUFFERS:
                if isinstance(d.get(name), PrimitiveArray):
                    ids.add(id(d[name]))
            cached = d.get("_pixelVectorCache")
            if isinstance(cached, list) and len(cached) == 2 and isinstance(cached[1], tuple):
                pairs.append(cached[1])
    for pair in pairs:
        ids.update(id(v) for v in pair if isinstance(v, Point))
    return ids


def _census(window) -> Counter:
    """Python objects of LossLab and pyqtgraph by type (taken first: the Qt part below
    wraps Qt objects in Python), graphics items in every view's scene, Qt objects under
    the window by class, and the slots connected to each of the session's signals.
    Items' paint-time caches are left out: there are at most a segment buffer and two
    Points for each live item (counted by type, so bounded with them) and two Points
    for each of the LRU's 100 entries."""
    gc.collect()
    c = Counter()
    objects = gc.get_objects()
    caches = _paint_caches(objects)
    for o in objects:
        if id(o) in caches:
            continue
        t = type(o)
        module = getattr(t, "__module__", None)
        if isinstance(module, str) and module.split(".")[0] in ("simulator", "pyqtgraph"):
            c[f"py:{module}.{t.__qualname__}"] += 1
    for view in window.findChildren(QGraphicsView):
        if view.scene() is not None:
            for item in view.scene().items():
                c[f"item:{type(item).__name__}"] += 1
    for o in [window, *window.findChildren(QObject)]:
        c[f"qt:{o.metaObject().className()}"] += 1
    c["top-level widgets"] = len(QApplication.topLevelWidgets())
    session = window.session  # slots connected to each of its signals
    meta = session.metaObject()
    for i in range(meta.methodCount()):
        m = meta.method(i)
        if m.methodType() == QMetaMethod.MethodType.Signal:
            sig = "2" + bytes(m.methodSignature().data()).decode()
            c[f"connections:{sig[1:]}"] = session.receivers(sig)
    return c


def _analyses() -> int:
    """Live PointAnalysis objects in the whole process (earlier tests' critical points
    hold theirs too)."""
    gc.collect()
    return sum(type(o).__qualname__ == "PointAnalysis"
               and type(o).__module__ == "simulator.core.diagnostics" for o in gc.get_objects())


@pytest.fixture
def playing_window(qtbot):
    from simulator.gui.analysis_cache import critical_points

    surfaces = [get_surface(name) for name in SURFACES]
    for surface in surfaces:  # searched now, not by a worker thread between two counts
        critical_points(surface)
    baseline = _analyses()  # what this process held before the window: not its doing
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    s = w.session
    s.set_surface(surfaces[0])
    s.flush()
    w.animator.set_loop(True)
    w.animator.set_speed(120)
    w.animator.play()
    yield w, surfaces, baseline
    w.animator.pause()


def test_lane_edits_leave_the_object_counts_bounded(qtbot, playing_window):
    w, surfaces, baseline = playing_window
    for _ in range(WARM_BLOCKS):
        _edit_block(w, qtbot, surfaces)
    before = _census(w)
    for _ in range(MORE_BLOCKS):
        _edit_block(w, qtbot, surfaces)
    after = _census(w)
    # the one cache that may still be filling, up to its stated size (the views hold
    # the analysis of the point they show besides)
    made = after["py:simulator.core.diagnostics.PointAnalysis"] - baseline
    assert made <= ANALYSES_KEPT + 4, (made, baseline)
    after.pop("py:simulator.core.diagnostics.PointAnalysis")
    # less than one more object of any kind per block of 13 edits
    grown = {k: (before[k], n) for k, n in after.items() if n - before[k] >= MORE_BLOCKS}
    assert grown == {}, f"grew over {MORE_BLOCKS} blocks of edits: {grown}"
