"""The network views say what is being computed (issue 17): while the lanes train (a
first network also compiles its kernels, 20 s and more cold), while the loss plane and
the sharpness are computed, and while a re-run replaces a picture (kept, dimmed, with a
small note) instead of showing empty axes."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QLabel

from simulator.core.network import Network

SMALL = dict(dataset="moons", hidden=(8,), n_train=64, n_test=64, seed=1)


@pytest.fixture
def window(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.session.flush()
    yield w
    w.animator.pause()


def shown_texts(widget) -> str:
    """Every label's text visible on screen inside ``widget``, joined."""
    return "\n".join(lab.text() for lab in widget.findChildren(QLabel)
                     if lab.isVisible() and lab.text())


def axes_shown(plot) -> bool:
    item = plot.getPlotItem()
    return item.getAxis("bottom").isVisible() and item.getAxis("left").isVisible()


class Gate:
    """Hold ``module.name``'s calls (in the worker threads) until ``release``."""

    def __init__(self, monkeypatch, module, name, when=lambda *a, **kw: True):
        self.event = threading.Event()
        self.calls = 0
        real = getattr(module, name)

        def held(*a, **kw):
            if when(*a, **kw):
                self.calls += 1
                assert self.event.wait(30), "the held call was never released"
            return real(*a, **kw)

        monkeypatch.setattr(module, name, held)

    def release(self):
        self.event.set()


def _open_network(window):
    form = window.surface_panel.network_form
    form.set_values(SMALL)
    form.apply()
    assert isinstance(window.session.surface, Network)


def test_the_views_say_the_lanes_are_training_then_what_is_computed(window, qtbot,
                                                                     monkeypatch):
    from simulator.core import engine
    from simulator.gui.views import landscape, network_plots

    runs = Gate(monkeypatch, engine, "simulate", lambda s, *a, **kw: isinstance(s, Network))
    plane = Gate(monkeypatch, landscape, "compute_plane")
    sharp = Gate(monkeypatch, network_plots, "curvature_series")
    s = window.session
    view, plots, data = window.landscape, window.network_plots, window.data_view
    _open_network(window)
    qtbot.waitUntil(lambda: runs.calls > 0, timeout=10000)
    # the lanes are being trained: the map says so, with no axes (they were +-500 x 1e-3)
    qtbot.waitUntil(lambda: "Training the lanes" in shown_texts(view), timeout=5000)
    assert "loss plane" in shown_texts(view)
    assert not axes_shown(view.plot)
    # the plots give way to one message; the data view shows the points and says so
    assert "Training the lanes" in shown_texts(plots)
    assert not any(p.isVisible() for p in plots.plots.values())
    assert "Training the lanes" in data.title.text()
    assert data.image.image is None
    # the transport has no steps to offer yet: it says the lanes train (not "step 400 /
    # 400" of runs nobody can see), and its timeline cannot be dragged
    bar = window.transport
    assert bar.step_label.text().startswith("training"), bar.step_label.text()
    assert f"/{len(s.lanes)}" in bar.step_label.text()
    assert not bar.timeline.isEnabled() and bar.timeline.value() == 0 < s.frame
    runs.release()
    qtbot.waitUntil(lambda: not s.pending and bool(s.results), timeout=60000)
    assert bar.step_label.text() == f"step {s.frame} / {s.steps}"
    assert bar.timeline.isEnabled() and bar.timeline.value() == s.frame
    # the runs are in: the plane is being computed (held), the losses are drawn, the
    # sharpness and accuracy are being computed (held)
    qtbot.waitUntil(lambda: "Computing the loss plane" in shown_texts(view), timeout=5000)
    assert "Training" not in shown_texts(view) and not axes_shown(view.plot)
    assert all(p.isVisible() for p in plots.plots.values())
    assert plots.lane_count("loss") == len(s.lanes)
    qtbot.waitUntil(lambda: "Computing the sharpness" in shown_texts(plots.plots["sharp"]),
                    timeout=5000)
    assert "Computing the test accuracy" in shown_texts(plots.plots["acc"])
    assert shown_texts(plots.plots["loss"]) == ""
    assert "training accuracy" in data.title.text() and data.image.image is not None
    plane.release()
    sharp.release()
    qtbot.waitUntil(lambda: view.plane is not None, timeout=60000)
    # the picture replaces the message, with its axes
    assert shown_texts(view.plot) == "" and axes_shown(view.plot)
    qtbot.waitUntil(lambda: plots.lane_count("sharp") == len(s.lanes), timeout=60000)
    for p in plots.plots.values():
        qtbot.waitUntil(lambda p=p: shown_texts(p) == "", timeout=5000)
    assert shown_texts(data.plot) == ""


def test_a_rerun_keeps_the_old_picture_dimmed_under_a_note(window, qtbot, monkeypatch):
    from simulator.core import engine

    s = window.session
    view, plots, data = window.landscape, window.network_plots, window.data_view
    _open_network(window)
    qtbot.waitUntil(lambda: not s.pending and bool(s.results), timeout=60000)
    view.wait()
    plots.wait()
    qtbot.waitUntil(lambda: view.plane is not None, timeout=60000)
    qtbot.waitUntil(lambda: plots.lane_count("sharp") == len(s.lanes), timeout=60000)
    old = view.plane
    vb = view.plot.getPlotItem().vb
    assert vb.opacity() == 1.0 and shown_texts(view.plot) == ""
    runs = Gate(monkeypatch, engine, "simulate", lambda sf, *a, **kw: isinstance(sf, Network))
    s.update_lane(0, lr=s.lanes[0].optimizer.lr * 0.5)
    qtbot.waitUntil(lambda: runs.calls > 0, timeout=10000)
    # after a short delay (a warm re-run never flickers): a note, the old plane dimmed
    qtbot.waitUntil(lambda: "re-training" in shown_texts(view.plot), timeout=5000)
    assert view.plane is old and view.image.image is not None and axes_shown(view.plot)
    assert vb.opacity() < 1.0
    assert "Training the lanes" not in shown_texts(view)
    # the old runs can still be played; the transport marks them as being replaced
    bar = window.transport
    assert bar.step_label.text() == f"step {s.frame} / {s.steps}\u2026"
    assert bar.timeline.isEnabled() and "re-trained" in bar.step_label.toolTip()
    # each view has its own note timer: the plots' may fire a turn after the map's
    qtbot.waitUntil(lambda: "re-training" in shown_texts(plots.plots["loss"]), timeout=5000)
    assert plots.lane_count("loss") == len(s.lanes)  # the old curves stay
    qtbot.waitUntil(lambda: "re-training" in shown_texts(data.plot), timeout=5000)
    assert data.image.image is not None and data.image.opacity() < 1.0
    runs.release()
    qtbot.waitUntil(lambda: view.plane is not old, timeout=60000)
    qtbot.waitUntil(lambda: shown_texts(view.plot) == "" and vb.opacity() == 1.0,
                    timeout=10000)
    plots.wait()
    for p in plots.plots.values():
        qtbot.waitUntil(lambda p=p: shown_texts(p) == "", timeout=10000)
        assert p.getPlotItem().vb.opacity() == 1.0
    assert shown_texts(data.plot) == "" and data.image.opacity() == 1.0
    assert bar.step_label.text() == f"step {s.frame} / {s.steps}"


def test_no_message_on_a_surface_scene(window):
    s = window.session
    assert s.surface.kind != "network"
    for widget in (window.landscape, window.network_plots, window.data_view.plot):
        assert all(not lab.isVisible() for lab in widget.findChildren(QLabel)
                   if lab.objectName() == "placeholder")


def test_placeholder_follows_its_host_and_waits_before_a_note(qtbot):
    from PySide6.QtWidgets import QWidget

    from simulator.gui.views.placeholder import NOTE_DELAY_MS, Placeholder

    host = QWidget()
    qtbot.addWidget(host)
    host.resize(600, 400)
    host.show()
    board = Placeholder(host)
    board.say("Computing\nsecond line")
    assert board.isVisible() and board.showing == "Computing\nsecond line"
    assert "<b>Computing</b>" in board.text()
    g = board.geometry()
    assert abs(g.center().x() - 300) <= 2 and host.rect().contains(g)
    host.resize(300, 200)
    g = board.geometry()
    assert abs(g.center().x() - 150) <= 2 and host.rect().contains(g)
    board.note("updating")
    assert not board.isVisible() and board.note_due  # not at once
    qtbot.wait(NOTE_DELAY_MS + 150)
    assert board.isVisible() and board.showing == "updating"
    assert board.geometry().right() > 250  # in the top right corner
    board.clear()
    assert not board.isVisible() and board.showing == ""
    board.note("brief")
    board.clear()  # a re-run done within the delay: never shown
    qtbot.wait(NOTE_DELAY_MS + 150)
    assert not board.isVisible()


def test_compile_hints_name_network_kernels_that_exist():
    # kernel_compiled takes a name it cannot find for compiled (no hint): each name the
    # views ask about must be a kernel of kernels.mlp (hvp_many became a Python wrapper of
    # hvp_many_kernel, and the sharpness's hint went silent)
    import re
    from pathlib import Path

    from simulator.core.kernels import mlp
    from simulator.gui.views import placeholder

    views = Path(placeholder.__file__).parent
    names = {n for f in views.glob("*.py")
             for n in re.findall(r'compile_hint\("(\w+)"', f.read_text())}
    assert {"run_network", "evaluate", "hvp_many_kernel"} <= names
    for name in names - {"run_network"}:
        assert hasattr(getattr(mlp, name, None), "signatures"), name
