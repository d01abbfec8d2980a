"""Exports follow the paths as the app's View > Follow the Paths does (issue 19): where
a lane leaves the domain the exported map is coloured field, not background; the CLI's
``--no-follow`` and the app's setting turned off keep the field at the domain."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.core import labs
from simulator.core.plotmath import paths_extent

SIZE = (960, 540)
OFFSET_PX = 7  # the pixel looked at is this far right of a path's point (not on its line)


def _renderer(lab, follow):
    from simulator.gui.frame_renderer import FrameRenderer

    return FrameRenderer(lab.scene(), "2d", SIZE, follow=follow)


def _pixel_of(r, x, y):
    """Where the data point (x, y) of the map is in the exported frame."""
    from PySide6.QtCore import QPointF

    view = r.contour
    scene_pt = view.viewbox.mapViewToScene(QPointF(float(x), float(y)))
    vp = view.graphics.mapFromScene(scene_pt)
    p = view.graphics.viewport().mapTo(r.container, vp)
    return int(p.x()), int(p.y())


def _off_domain_points(lab, inside):
    """Points of the runs' drawn lines (their positions and 100 points on each step
    between them) outside the domain for which ``inside(x, y)`` holds."""
    (a, b), (c, d) = lab.scene().surface.domain
    t = np.linspace(0.0, 1.0, 101)[:, None]
    out = []
    for _lane, run in lab.run():
        p = np.asarray(run.positions, dtype=float)[:, :2]
        p = p[np.isfinite(p).all(axis=1)]
        for p0, p1 in zip(p[:-1], p[1:], strict=True):
            for x, y in p0 + t * (p1 - p0):
                if not (a <= x <= b and c <= y <= d) and inside(x, y):
                    out.append((x, y))
    return out


def _background_share(r, img, points):
    """The share of the pixels next to ``points`` that are background (black: every
    colour of the map's field has a channel above 80)."""
    h, w = img.shape[:2]
    vb = r.contour.viewbox.sceneBoundingRect()
    hits = []
    for x, y in points:
        px, py = _pixel_of(r, x, y)
        px += OFFSET_PX
        # inside the plot's view box (not its axes), in the frame
        sp = r.contour.graphics.mapToScene(
            r.contour.graphics.viewport().mapFrom(r.container, _qpoint(px, py)))
        if not (0 <= px < w and 0 <= py < h and vb.contains(sp)):
            continue
        hits.append(int(img[py, px].max()) < 30)
    assert len(hits) >= 5, "too few points to look at"
    return sum(hits) / len(hits)


def _qpoint(x, y):
    from PySide6.QtCore import QPoint

    return QPoint(x, y)


def _in_field(domain):
    (x0, x1), (y0, y1) = domain
    m = 0.05 * (x1 - x0)  # not on the field's edge
    return lambda x, y: x0 + m < x < x1 - m and y0 + m < y < y1 - m


def _in_view(r):
    (x0, x1), (y0, y1) = r.contour.viewbox.viewRange()
    return lambda x, y: x0 < x < x1 and y0 < y < y1


@pytest.mark.parametrize("lab_id", ["saddle", "lr-probe"])
def test_png_is_coloured_where_the_paths_leave_the_domain(tmp_path, qapp, lab_id):
    import imageio.v3 as iio

    lab = labs.builtin_lab(lab_id)
    r = _renderer(lab, True)
    try:
        surface = r.session.surface
        want = paths_extent([run.positions for _l, run in lab.run()], surface.domain)
        assert want != tuple(surface.domain)  # the lab's paths do leave the domain
        out = tmp_path / "f.png"
        r.save_png(out, lab.run_steps)
        # the field was computed before the grab, not in a worker after it
        assert r.contour.field_domain == want and not r.contour.waiting()
        img = iio.imread(out)
        points = _off_domain_points(lab, _in_field(want))
        assert _background_share(r, img, points) < 0.1
    finally:
        r.close()


def test_no_follow_keeps_the_field_at_the_domain(tmp_path, qapp):
    import imageio.v3 as iio

    lab = labs.builtin_lab("lr-probe")
    r = _renderer(lab, False)
    try:
        out = tmp_path / "f.png"
        r.save_png(out, lab.run_steps)
        assert r.contour.field_domain == tuple(r.session.surface.domain)
        img = iio.imread(out)
        # the points off the domain that this view shows run over background
        points = _off_domain_points(lab, _in_view(r))
        assert _background_share(r, img, points) > 0.9
    finally:
        r.close()


def test_the_field_is_drawn_without_waiting_for_a_worker(qapp, monkeypatch):
    """The export colours the paths' extent on its own thread: with no time at all to
    wait for drawing still to come, the frame still shows the wider field."""
    from simulator.gui import frame_renderer

    monkeypatch.setattr(frame_renderer, "SETTLE_LIMIT_S", 0.0)
    lab = labs.builtin_lab("saddle")
    r = _renderer(lab, True)
    try:
        r.render(lab.run_steps)
        assert r.contour.field_domain == r.contour.paths_extent() != tuple(
            r.session.surface.domain)
        assert len(r.contour.contours.getData()[0]) > 0  # with its contour lines
    finally:
        r.close()


def test_cli_follows_by_default_and_no_follow_does_not(tmp_path, qapp):
    """``losslab export`` follows the paths; ``--no-follow`` draws what the app drew
    before (the domain only): pixels looked up through renderers made the same way."""
    import imageio.v3 as iio

    from tests.export.test_cli import run_cli

    lab = labs.builtin_lab("lr-probe")
    shares = {}
    for follow in (True, False):
        out = tmp_path / f"{follow}.png"
        args = ["export", "lr-probe", "--out", str(out), "-q"]
        proc = run_cli(*args, *([] if follow else ["--no-follow"]))
        assert proc.returncode == 0, proc.stderr
        r = _renderer(lab, follow)
        try:
            r.render(lab.run_steps)
            if follow:
                inside = _in_field(r.contour.field_domain)
            else:
                inside = _in_view(r)
            shares[follow] = _background_share(r, iio.imread(out),
                                               _off_domain_points(lab, inside))
        finally:
            r.close()
    assert shares[True] < 0.1 and shares[False] > 0.9


def test_the_apps_export_honours_follow_the_paths(qtbot):
    from simulator.core.scene import load_scene
    from simulator.gui.export_dialogs import make_renderer
    from simulator.gui.main_window import MainWindow

    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.session.load_scene(load_scene("saddle"))
    w.session.flush()
    domain = tuple(w.session.surface.domain)
    for on in (True, False):
        if w.act_follow_paths.isChecked() != on:
            w.act_follow_paths.trigger()  # View > Follow the Paths
        r = make_renderer(w, "2d", (480, 270))
        try:
            assert r.follow is on and r.contour.follow_paths is on
            assert (r.contour.field_domain != domain) is on
        finally:
            r.close()
    w.animator.pause()


# ---- SVG: the same map extent as the PNG -------------------------------------------------------
def _svg_map(path):
    """The SVG map's shown ranges (its plot area's data ranges) and its colour image's
    data extent (through the area's pixel mapping)."""
    import xml.etree.ElementTree as ET

    ns = {"svg": "http://www.w3.org/2000/svg"}
    root = ET.parse(path).getroot()
    area = root.findall(".//svg:rect[@class='plot-area']", ns)[0]
    xr = tuple(float(v) for v in area.get("data-x-range").split())
    yr = tuple(float(v) for v in area.get("data-y-range").split())
    left, top = float(area.get("x")), float(area.get("y"))
    w, h = float(area.get("width")), float(area.get("height"))
    img = root.find(".//svg:image[@class='colormap']", ns)
    ix, iy = float(img.get("x")), float(img.get("y"))
    iw, ih = float(img.get("width")), float(img.get("height"))
    ext = ((xr[0] + (ix - left) / w * (xr[1] - xr[0]),
            xr[0] + (ix + iw - left) / w * (xr[1] - xr[0])),
           (yr[0] + (top + h - iy - ih) / h * (yr[1] - yr[0]),
            yr[0] + (top + h - iy) / h * (yr[1] - yr[0])))
    return (xr, yr), ext


def _padded(extent):
    return tuple((a - 0.02 * (b - a), b + 0.02 * (b - a)) for a, b in extent)


def _assert_shows(path, extent):
    """The SVG's map shows ``extent`` (2 % padding, as the view's range) and its colour
    image covers it (to the pixel rounding of the written numbers)."""
    (xr, yr), (ex, ey) = _svg_map(path)
    for got, want in zip((xr, yr), _padded(extent), strict=True):
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    for (a, b), (lo, hi), r in zip((ex, ey), extent, (xr, yr), strict=True):
        tol = 0.01 * (r[1] - r[0])  # the image's edges are written to 0.01 px
        assert a <= lo + tol and b >= hi - tol


@pytest.mark.parametrize("lab_id", ["saddle", "lr-probe"])
def test_svg_map_extends_to_the_paths_as_the_png_does(tmp_path, qapp, lab_id):
    from simulator.export.svg import scene_from_lab, write_svg

    lab = labs.builtin_lab(lab_id)
    domain = tuple(lab.surface.domain)
    r = _renderer(lab, True)
    try:
        r.render(lab.run_steps)
        png_field = r.contour.field_domain
    finally:
        r.close()
    assert png_field != domain  # the paths leave the domain
    out = tmp_path / "f.svg"
    write_svg(scene_from_lab(lab), out)
    _assert_shows(out, png_field)
    # every point of the paths within the field's limit is on the map
    (xr, yr), _ext = _svg_map(out)
    for _lane, run in lab.run():
        p = np.asarray(run.positions, dtype=float)[:, :2]
        p = p[np.isfinite(p).all(axis=1)]
        (x0, x1), (y0, y1) = png_field
        q = p[(p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)]
        assert (q[:, 0] >= xr[0]).all() and (q[:, 0] <= xr[1]).all()
        assert (q[:, 1] >= yr[0]).all() and (q[:, 1] <= yr[1]).all()
    write_svg(scene_from_lab(lab, follow=False), out)
    _assert_shows(out, domain)


def test_svg_from_the_app_and_the_cli_follow_and_no_follow_does_not(tmp_path, qapp):
    from tests.export.test_cli import run_cli

    lab = labs.builtin_lab("saddle")
    domain = tuple(lab.surface.domain)
    for follow in (True, False):
        r = _renderer(lab, follow)  # the Export Image dialog's renderer (make_renderer)
        try:
            out = tmp_path / f"app-{follow}.svg"
            r.save_svg(out, lab.run_steps)
            r.render(lab.run_steps)  # what its PNG shows
            field = r.contour.field_domain
        finally:
            r.close()
        assert (field != domain) is follow
        _assert_shows(out, field)
        out = tmp_path / f"cli-{follow}.svg"
        proc = run_cli("export", "saddle", "--out", str(out), "-q",
                       *([] if follow else ["--no-follow"]))
        assert proc.returncode == 0, proc.stderr
        _assert_shows(out, field)
