"""SVG export (``simulator.export.svg``): a valid standalone SVG of the 2-D scene."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from simulator.core import labs
from simulator.export.svg import nice_ticks, scene_from_lab, svg_document, write_svg

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(path_or_text):
    if isinstance(path_or_text, str) and path_or_text.lstrip().startswith("<?xml"):
        return ET.fromstring(path_or_text)
    return ET.parse(path_or_text).getroot()


def _points(el) -> np.ndarray:
    return np.array([[float(v) for v in p.split(",")] for p in el.get("points").split()])


def _pixel(root, x, y, which=0):
    """Data (x, y) to pixels through the ``which``-th plot area's declared ranges."""
    area = root.findall(".//svg:rect[@class='plot-area']", NS)[which]
    x0, x1 = (float(v) for v in area.get("data-x-range").split())
    y0, y1 = (float(v) for v in area.get("data-y-range").split())
    left, top = float(area.get("x")), float(area.get("y"))
    w, h = float(area.get("width")), float(area.get("height"))
    return left + (x - x0) / (x1 - x0) * w, top + h - (y - y0) / (y1 - y0) * h


def _trails(root):
    return root.findall(".//svg:polyline[@class='trail']", NS)


@pytest.fixture(scope="module")
def race():
    lab = labs.builtin_lab("race")
    return lab, lab.run()


def test_race_svg_parses_with_image_trails_and_plots(tmp_path, race):
    from PIL import Image

    lab, runs = race
    out = tmp_path / "race.svg"
    write_svg(scene_from_lab(lab, lab.run_steps, runs=runs), out, (960, 540))
    root = _parse(out)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("960", "540")
    # one trail per enabled lane, in the lane colours, named after the lanes
    trails = _trails(root)
    assert len(trails) == len(runs) == 4
    assert [t.get("data-lane") for t in trails] == [lane.name for lane, _ in runs]
    assert {t.get("stroke").upper() for t in trails} == {lane.color.upper() for lane, _ in runs}
    # the colour map: an embedded, non-empty PNG of the grid
    img = root.find(".//svg:image[@class='colormap']", NS)
    href = img.get("href")
    assert href.startswith("data:image/png;base64,")
    pic = Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1])))
    assert pic.size == (200, 200)
    assert np.asarray(pic)[..., :3].std() > 10
    # contour lines, critical points (Rosenbrock: a minimum), start, lane markers, axes
    assert len(root.find(".//svg:path[@class='contours']", NS).get("d")) > 1000
    assert root.findall(".//*[@class='critical minimum']", NS)
    assert len(root.findall(".//*[@class='position']", NS)) == 4
    labels = [t.text for t in root.findall(".//svg:text[@class='axis-label']", NS)]
    assert labels[:2] == list(lab.surface.variables)
    legend = "".join(t.text or "" for t in root.findall(".//svg:g[@class='legend']//svg:text",
                                                         NS))
    for lane, _ in runs:
        assert lane.name in legend
    assert lab.title in "".join(root.find(".//svg:g[@class='title']", NS).itertext())
    # the plots: loss, gradient norm and learning rate, one polyline per lane at least
    plots = root.findall(".//svg:g[@class='plot']", NS)
    assert [p.get("data-plot") for p in plots] == ["loss", "grad", "lr"]
    for p in plots:
        assert len(p.findall(".//svg:polyline[@class='plot-curve']", NS)) >= 4


def test_trail_starts_at_the_start_point_and_ends_at_the_marker(race):
    lab, runs = race
    root = _parse(svg_document(scene_from_lab(lab, 300, runs=runs)))
    sx, sy = _pixel(root, *lab.start)
    start = root.find(".//svg:circle[@class='start']", NS)
    assert float(start.get("cx")) == pytest.approx(sx, abs=0.02)
    assert float(start.get("cy")) == pytest.approx(sy, abs=0.02)
    markers = root.findall(".//svg:circle[@class='position']", NS)
    for trail, (_lane, run), marker in zip(_trails(root), runs, markers, strict=True):
        pts = _points(trail)
        assert pts[0] == pytest.approx([sx, sy], abs=0.02)  # every lane starts there
        assert len(pts) == 301  # steps 0..300: the trail stops at the frame
        ex, ey = _pixel(root, *run.positions[300])
        assert pts[-1] == pytest.approx([ex, ey], abs=0.02)
        assert float(marker.get("cx")) == pytest.approx(ex, abs=0.02)
        assert float(marker.get("cy")) == pytest.approx(ey, abs=0.02)


def test_frame_zero_and_plots_off(race):
    lab, runs = race
    root = _parse(svg_document(scene_from_lab(lab, 0, runs=runs), plots=False))
    assert not root.findall(".//svg:g[@class='plots']", NS)
    for t in _trails(root):
        assert len(_points(t)) == 2  # the start, twice (a polyline needs two points)


def test_log_scale_follows_the_lab_and_can_be_switched(race):
    lab, runs = race
    sc = scene_from_lab(lab, runs=runs)
    texts = lambda root: [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]  # noqa: E731
    assert "log10(L - min)" in texts(_parse(svg_document(sc)))
    sc.log_scale = False
    assert "log10(L - min)" not in texts(_parse(svg_document(sc)))


def test_one_variable_lab_shows_the_curve_and_the_jumps(tmp_path):
    lab = labs.builtin_lab("lr-1d")
    runs = lab.run()
    out = tmp_path / "lr1d.svg"
    write_svg(scene_from_lab(lab, 5, runs=runs), out)
    root = _parse(out)
    assert root.findall(".//svg:polyline[@class='curve']", NS)
    assert root.find(".//svg:image[@class='colormap']", NS) is None
    trails = _trails(root)
    assert len(trails) == len(runs)
    w0 = lab.start[0]
    f0 = float(lab.surface.value(np.array([[w0]]))[0])
    sx, sy = _pixel(root, w0, f0)
    for trail, (_lane, run) in zip(trails, runs, strict=True):
        pts = _points(trail)
        assert pts[0] == pytest.approx([sx, sy], abs=0.02)
        # 5 jumps drawn as arcs through the steps: more points than steps, ends at step 5
        assert len(pts) > 5
        ex, ey = _pixel(root, run.positions[5][0], run.losses[5])
        if np.isfinite(run.losses[5]) and abs(run.losses[5]) < 1e6:
            assert pts[-1] == pytest.approx([ex, ey], abs=0.02)


def test_small_sizes_scale_the_layout_and_ticks_are_round():
    lab = labs.builtin_lab("saddle")
    root = _parse(svg_document(scene_from_lab(lab), (200, 120)))
    assert (root.get("width"), root.get("height")) == ("200", "120")
    assert root.get("viewBox") == "0 0 500 300"
    assert list(nice_ticks(0, 1, 5)) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert len(nice_ticks(-3.9, 4, 3)) >= 2


def test_failed_write_leaves_the_old_file(tmp_path, race, monkeypatch):
    import simulator.export.svg as svg

    lab, runs = race
    out = tmp_path / "race.svg"
    out.write_text("old")

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(svg, "svg_document", boom)
    with pytest.raises(RuntimeError):
        svg.write_svg(scene_from_lab(lab, runs=runs), out)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.svg"]


def test_cli_exports_svg(tmp_path):
    env = dict(os.environ)
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(k, None)
    out = tmp_path / "race.svg"
    proc = subprocess.run([sys.executable, "-m", "simulator", "export", "race", "--out",
                           str(out), "--step", "200"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr and "step 200" in proc.stderr
    root = _parse(out)
    assert len(_trails(root)) == 4
    assert all(len(_points(t)) == 201 for t in _trails(root))
    proc = subprocess.run([sys.executable, "-m", "simulator", "export", "race", "--out",
                           str(tmp_path / "x.svg"), "--view", "3d"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode != 0 and "2-D" in proc.stderr
    assert not (tmp_path / "x.svg").exists()


def test_renderer_saves_svg_from_the_app_session(tmp_path, qapp):
    """The Export Image dialog's path: FrameRenderer.save_svg on the app's Session."""
    from simulator.gui.frame_renderer import FrameRenderer

    lab = labs.builtin_lab("race")
    r = FrameRenderer(lab.scene(), "2d", (640, 360), title=lab.title,
                      log_scale=True)
    try:
        out = tmp_path / "race.svg"
        r.save_svg(out, 150)
    finally:
        r.close()
    root = _parse(out)
    trails = _trails(root)
    assert len(trails) == 4
    assert all(len(_points(t)) == 151 for t in trails)
    sx, sy = _pixel(root, *lab.start)
    assert _points(trails[0])[0] == pytest.approx([sx, sy], abs=0.02)
    assert "log10(L - min)" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_export_image_dialog_path_writes_svg(qtbot, tmp_path):
    """Export Image with a .svg name: the app's scene at its current frame."""
    from simulator.gui import export_dialogs, lab_dialogs
    from simulator.gui.main_window import MainWindow

    w = MainWindow(restore=False, with_3d=False)
    qtbot.addWidget(w)
    w.show()
    assert lab_dialogs.open_lab_ref(w, "race")
    w.session.set_frame(40)
    w.session.flush()
    out = tmp_path / "race.svg"
    assert export_dialogs.export_image(w, str(out), "2d", (480, 270))
    root = _parse(out)
    trails = _trails(root)
    assert len(trails) == len(w.session.lanes) == 4
    assert all(len(_points(t)) == 41 for t in trails)
    assert w.session.frame == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race.svg"]
