"""A huge learning rate (issue 18, point 4): every view, plot and export draws what is
finite and marks where a lane diverged; and the 3-D view with a 1-D lab (point 7).

A lane with lr 1e100 passes validation (a huge value diverges, which is worth seeing);
its run ends at its start. The plots once stopped part-way through their lanes with a
traceback from ``LineItem.setData`` (a min over no points), and the PNG export failed
with "zero-size array to reduction operation minimum".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.core import labs
from simulator.core.plotmath import diverged_at, divergence_point
from simulator.gui.plotting import LineItem
from simulator.gui.session import Session
from simulator.gui.views import ContourView, CurveView, PlotsPanel

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HUGE = [1e20, 1e100, 1e300]


def _lab(lab_id: str, lr: float, lane: int = 0) -> labs.Lab:
    d = labs.builtin_lab(lab_id).to_dict()
    lanes = d["scene"]["lanes"] if "scene" in d else d["lanes"]  # format 2 or 1
    lanes[lane]["optimizer"]["lr"] = lr
    return labs.parse_lab(d)


@pytest.fixture
def session(qtbot):
    s = Session()
    s.flush()
    yield s
    s._timer.stop()


def _diverge(session, lr: float, lane: int = 0) -> None:
    session.update_lane(lane, lr=lr)
    session.flush()
    run = session.results[session.lanes[lane].uid]
    assert run.status == "diverged"


# ---- the pieces -------------------------------------------------------------------------------
def test_a_line_with_no_points_draws_nothing(qtbot):
    item = LineItem()
    item.setData(np.zeros(0), np.zeros(0))  # raised "zero-size array ... minimum"
    assert item.dataBounds(0) == (None, None)
    item.setData([np.nan, np.inf], [1.0, 2.0])
    assert item.dataBounds(1) == (None, None)
    item.setData([0.0, 1.0], [2.0, 3.0])
    assert item.dataBounds(1) == (2.0, 3.0)


@pytest.mark.parametrize("lr", HUGE)
def test_the_mark_is_where_a_diverged_run_was_last_seen(lr):
    lab = _lab("race", lr)
    run = lab.run()[0][1]
    assert run.status == "diverged"
    k = diverged_at(run)
    assert 0 <= k <= len(run.positions) - 1
    p = divergence_point(run, lab.surface.domain)
    (x0, x1), (y0, y1) = lab.surface.domain
    assert x0 - 0.1 <= p[0] <= x1 + 0.1 and y0 - 0.1 <= p[1] <= y1 + 0.1
    ok = labs.builtin_lab("race").run()[0][1]
    assert diverged_at(ok) is None and divergence_point(ok, lab.surface.domain) is None


# ---- the app's views ----------------------------------------------------------------------------
@pytest.mark.parametrize("lr", HUGE)
def test_plots_draw_every_lane_and_mark_the_diverged_one(qtbot, session, lr):
    view = PlotsPanel(session)
    qtbot.addWidget(view)
    view.resize(900, 250)
    view.show()
    _diverge(session, lr)  # the first lane: the others come after it in the loop
    uids = [lane.uid for lane in session.lanes]
    for uid in uids[1:]:  # the lanes after the diverged one are drawn too
        for key in ("loss", "grad", "lr"):
            x, y = view._curves[uid][key].getData()
            assert x is not None and len(x) > 10 and np.isfinite(y).any(), (uid, key)
    (step, color), lines = view._div_lines[uids[0]]
    assert set(lines) == {"loss", "grad", "lr"} and color == session.lanes[0].color
    assert step == diverged_at(session.results[uids[0]])
    assert all(ln.value() == step for ln in lines.values())
    assert set(view._div_lines) == {uids[0]}
    session.update_lane(0, lr=1e-4)  # tamed: the mark goes
    session.flush()
    assert view._div_lines == {}


def test_the_map_marks_the_diverged_lane_once_the_frame_reaches_it(qtbot, session):
    view = ContourView(session)
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    _diverge(session, 1e20)
    run = session.results[session.lanes[0].uid]
    k = diverged_at(run)
    assert k >= 1
    session.set_frame(0)
    assert len(view.diverged_item.getData()[0]) == 0  # not yet diverged at step 0
    session.set_frame(session.steps)
    x, y = view.diverged_item.getData()
    assert len(x) == 1
    p = divergence_point(run, session.surface.domain)
    assert (x[0], y[0]) == pytest.approx(tuple(p))
    assert view.diverged_item.zValue() > view.start_item.zValue()  # never hidden
    session.update_lane(0, lr=1e-4)
    session.flush()
    assert len(view.diverged_item.getData()[0]) == 0


def test_the_curve_view_marks_a_diverged_lane(qtbot, session):
    session.load_dict(labs.builtin_lab("lr-1d").session_dict())
    session.flush()
    view = CurveView(session)
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    _diverge(session, 1e100)
    session.set_frame(session.steps)
    diverged = [lane for lane in session.lanes
                if session.results[lane.uid].status == "diverged"]
    assert len(diverged) == 2  # this one, and the lab's own lr = 1.1 (a teaching case)
    x, y = view.diverged_item.getData()
    assert len(x) == 2 and np.isfinite(x).all() and np.isfinite(y).all()
    lo, hi = view._yrange
    assert np.all((lo <= y) & (y <= hi))
    w = divergence_point(session.results[session.lanes[0].uid], session.surface.domain)
    assert x[0] == pytest.approx(w[0])


def test_the_main_window_with_a_huge_learning_rate_has_no_traceback(qtbot, qapp):
    import traceback

    from simulator.gui.main_window import MainWindow

    errors = []
    old = sys.excepthook
    sys.excepthook = lambda *a: errors.append("".join(traceback.format_exception(*a)))
    try:
        w = MainWindow(with_3d=False)
        qtbot.addWidget(w)
        w.show()
        w.session.flush()
        for lr in HUGE:
            w.session.update_lane(0, lr=lr)
            w.session.flush()
            for f in (0, 1, 2, w.session.steps):
                w.session.set_frame(f)
                qapp.processEvents()
        w.animator.pause()
    finally:
        sys.excepthook = old
    assert errors == []


# ---- the exports ------------------------------------------------------------------------------
@pytest.mark.parametrize("lab_id", ["race", "lr-1d"])
@pytest.mark.parametrize("lr", HUGE)
def test_png_export_of_a_diverging_lane(tmp_path, qapp, lab_id, lr):
    import imageio.v3 as iio

    from simulator.gui.frame_renderer import FrameRenderer

    lab = _lab(lab_id, lr)
    r = FrameRenderer(lab.scene(), "2d", (480, 270), title=lab.title,
                      log_scale=lab.view.log_scale)
    try:
        out = tmp_path / "frame.png"
        r.save_png(out, lab.run_steps)  # failed: zero-size array to reduction operation minimum
        img = iio.imread(out)
        assert img.shape[:2] == (270, 480) and img.std() > 10
        view = r.contour or r.curve
        n = sum(run.status == "diverged" for _lane, run in lab.run())
        assert n >= 1 and len(view.diverged_item.getData()[0]) == n
    finally:
        r.close()


def test_an_exported_frame_waits_for_the_maps_wider_field_and_contour_lines(qapp):
    """Paths that leave the domain make the map colour a wider field (a worker thread)
    and draw its contour lines a turn later; a frame grabbed in between had no contour
    lines (seen in a PNG export of a 1e100 lane)."""
    from simulator.gui.frame_renderer import FrameRenderer

    lab = _lab("race", 1e100)
    r = FrameRenderer(lab.scene(), "2d", (480, 270), title=lab.title,
                      log_scale=lab.view.log_scale)
    try:
        view = r.contour
        (x0, x1), (y0, y1) = view.field_domain
        wider = ((x0 - 1.0, x1 + 1.0), (y0 - 1.0, y1 + 1.0))
        view.extend_field(wider)  # as the map does when a path leaves the domain
        r.render(lab.run_steps)
        assert not view.waiting()  # the field it wants is drawn, and its lines
        assert view.field_domain in (wider, view.paths_extent())
        assert len(view.contours.getData()[0]) > 0
    finally:
        r.close()


@pytest.mark.parametrize("lab_id", ["race", "lr-1d"])
@pytest.mark.parametrize("lr", HUGE)
def test_svg_export_marks_the_divergence(tmp_path, lab_id, lr):
    from simulator.export.svg import scene_from_lab, write_svg

    lab = _lab(lab_id, lr)
    out = tmp_path / "scene.svg"
    write_svg(scene_from_lab(lab, lab.run_steps), out, (960, 540))
    text = out.read_text()
    n = sum(run.status == "diverged" for _lane, run in lab.run())
    assert n >= 1
    assert text.count('<polygon class="diverged"') == n  # an x on the map each
    assert text.count('<line class="diverged"') == 3 * n  # one per plot each
    assert ">diverged<" in text  # in the legend and on the loss plot
    fine = tmp_path / "fine.svg"
    write_svg(scene_from_lab(labs.builtin_lab("race")), fine, (960, 540))
    assert 'class="diverged"' not in fine.read_text()


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_data_exports_of_a_diverging_lane(tmp_path, kind):
    from simulator import cli

    path = tmp_path / "huge.json"
    path.write_text(labs.dumps_lab(_lab("race", 1e100)))
    out = tmp_path / f"out.{kind}"
    assert cli.main(["export", str(path), "--out", str(out), "-q"]) == 0
    assert out.stat().st_size > 0


# ---- the 3-D view (OpenGL, in a subprocess on the X display) ---------------------------------
def _gl(display, *args):
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=display)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(HERE / "gl_issue18.py"), *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"


@pytest.mark.gl
@pytest.mark.parametrize("hide", [False, True])
def test_opening_a_1d_lab_while_log_colour_is_on_raises_nothing(gl_display, hide):
    """Point 7: IndexError in surface3d._xy via _on_log_toggled, with the 3-D view shown
    or hidden."""
    _gl(gl_display, "log-1d", *(["--hide-3d"] if hide else []))


@pytest.mark.gl
def test_the_3d_view_marks_a_diverged_lane(gl_display):
    _gl(gl_display, "diverged")
