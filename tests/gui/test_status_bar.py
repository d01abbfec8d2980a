"""The status bar in presentation mode, and the left dock's front tab at a first start."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

from simulator.gui.main_window import MainWindow
from simulator.gui.status_bar import ElidedLabel, StatusBar


def _window(qtbot, size=(1280, 800)):
    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.session.flush()
    return w


def _overlaps(a, b) -> bool:
    return a.intersects(b)


def test_presentation_status_message_does_not_run_under_the_counters(qtbot):
    from simulator.gui.lab_dialogs import open_lab_ref
    from simulator.gui.warmup import CompileIndicator

    w = _window(qtbot)
    sb = w.statusBar()
    assert isinstance(sb, StatusBar)
    ind = CompileIndicator(sb)  # as app.py adds it on a first start
    sb.addPermanentWidget(ind)
    ind.set_progress(0, 7, "the map")
    ind.show()
    assert open_lab_ref(w, "lr-1d")
    w.presentation = True
    qtbot.wait(100)
    # the offscreen screen is smaller than a projector: the window as the brief's 1280x800
    w.showNormal()
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: w.width() == 1280, timeout=2000)
    qtbot.wait(50)
    msg = sb.currentMessage()
    assert msg.startswith("Opened lab: ")
    label = sb.message_label
    assert label.isVisible() and label.full_text() == msg
    assert label.font().pointSizeF() > 1.5 * 9  # the presentation's large type
    lg = label.geometry()
    for p in sb.permanent_widgets():
        if p.isVisible():
            assert not _overlaps(lg, p.geometry()), (lg, p.geometry(), p)
    # not cut beyond the ellipsis: what it shows fits, and is the message or its elision
    fm = label.fontMetrics()
    assert fm.horizontalAdvance(label.text()) <= label.contentsRect().width()
    assert label.text() == fm.elidedText(msg, Qt.TextElideMode.ElideRight,
                                         label.contentsRect().width())
    assert len(label.text()) >= 10  # the message keeps room to be read
    assert label.toolTip() == msg
    # the counters are whole
    sl = w.scene_label
    assert sl.width() >= sl.sizeHint().width()
    w.presentation = False
    qtbot.wait(50)
    assert label.font().pointSizeF() < 1.5 * 9 or label.font() == w.font()
    sb.clearMessage()
    assert label.text() == "" and label.toolTip() == ""
    w.close()


def test_elided_label_shows_the_whole_text_when_it_fits(qtbot):
    lab = ElidedLabel()
    qtbot.addWidget(lab)
    lab.show()
    lab.resize(2000, 30)
    lab.set_full_text("short")
    assert lab.text() == "short"
    lab.resize(30, 30)
    qtbot.waitUntil(lambda: lab.text() != "short", timeout=1000)
    assert lab.text() == "" or lab.text().endswith("\u2026")


def _front_tab(w, dock) -> str:
    for bar in w.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if dock.windowTitle() in titles and bar.isVisible():
            return bar.tabText(bar.currentIndex())
    return ""


def test_first_start_puts_lanes_in_front_of_the_left_dock(qtbot):
    w = _window(qtbot)  # qt_isolation: fresh settings
    qtbot.wait(50)
    assert _front_tab(w, w.dock_lanes) == "Lanes"
    assert not w.dock_lanes.visibleRegion().isEmpty()
    assert w.dock_surface.visibleRegion().isEmpty()
    # the saved state wins at the next start
    w.dock_surface.raise_()
    qtbot.wait(50)
    w.close()
    w2 = _window(qtbot)
    qtbot.wait(50)
    assert _front_tab(w2, w2.dock_surface) == "Surface"
    w2.close()
