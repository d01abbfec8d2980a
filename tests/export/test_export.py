"""Exports: CSV/JSON data, streaming MP4/GIF encoders, offscreen rendering of every lab."""

from __future__ import annotations

import csv
import json
import os
import tracemalloc

import numpy as np
import pytest

from simulator.core import labs
from simulator.export import data, video
from simulator.export.data import Cancelled

BUILTIN = labs.builtin_lab_ids()


def _frames(n, w=64, h=48):
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, :, 2] = 40
        f[h // 3: h // 2, (i * 3) % w: (i * 3) % w + 8] = (230, 159, 0)
        yield f


def _no_partials(folder):
    return [p for p in os.listdir(folder) if ".part" in p]


# ---- data ------------------------------------------------------------------------------------
def test_csv_columns_and_rows(tmp_path):
    lab = labs.builtin_lab("race")
    runs = data.runs_from_lab(lab)
    out = tmp_path / "race.csv"
    n = data.write_csv(runs, out)
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["lane", "optimizer", "step", "x", "y", "loss", "grad_norm", "lr",
                             "evaluations", "status"]
    assert {r["evaluations"] for r in rows} == {"1", "0"}  # 0: the last row of each run
    assert n == len(rows) == sum(lab.run_steps + 1 for _ in lab.lanes)
    firsts = rows[:: lab.run_steps + 1]
    assert [r["lane"] for r in firsts] == [ln.name for ln in lab.lanes]
    # the lane "Momentum" is SGD with momentum: the optimizer column says so
    assert [r["optimizer"] for r in firsts] == [repr(r.run.optimizer) for r in runs]
    assert firsts[1]["lane"] == "Momentum" and firsts[1]["optimizer"].startswith("SGD(")
    assert "momentum=0.9" in firsts[1]["optimizer"]
    for r, run in zip(firsts, runs):
        lane_rows = [row for row in rows if row["lane"] == r["lane"]]
        assert {row["status"] for row in lane_rows} == {run.run.status}
    first = rows[0]
    assert float(first["x"]) == -1.5 and float(first["y"]) == 2.0
    assert float(first["lr"]) == lab.lanes[0].optimizer.lr
    # the last row has the rate the (constant) schedule would apply there, not an empty cell
    assert float(rows[lab.run_steps]["lr"]) == lab.lanes[0].optimizer.lr
    assert all(row["lr"] for row in rows)
    t = runs[0].run
    assert float(rows[5]["loss"]) == pytest.approx(t.losses[5])
    assert float(rows[5]["grad_norm"]) == pytest.approx(np.linalg.norm(t.gradients[5]))


def test_csv_1d_uses_w(tmp_path):
    out = tmp_path / "lr.csv"
    data.write_csv(data.runs_from_lab(labs.builtin_lab("lr-1d")), out)
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["lane", "optimizer", "step", "w", "loss", "grad_norm", "lr",
                       "evaluations", "status"]
    assert rows[1] == ["lr = 0.1", "SGD(lr=0.1)", "0", "8.0", "36.0", "12.0", "0.1", "1",
                       "converging"]
    assert rows[-1][7] == "0"  # no update from the last position
    assert rows[2][3] == "6.8"


@pytest.mark.parametrize("lab_id", ["race", "lr-1d"])
def test_csv_rows_are_the_trajectory_table(tmp_path, lab_id):
    # Trajectory.table() has the CSV's columns (bar the lane name) and its numbers
    runs = data.runs_from_lab(labs.builtin_lab(lab_id))
    out = tmp_path / "t.csv"
    data.write_csv(runs[:1], out)
    rows = list(csv.DictReader(out.open()))
    table = runs[0].run.table()
    assert list(rows[0])[1:] == list(table.dtype.names)
    assert len(rows) == len(table)
    for name in table.dtype.names:
        if table.dtype[name].kind == "U":
            assert [r[name] for r in rows] == table[name].tolist()
            continue
        col = np.array([float(r[name]) if r[name] else np.nan for r in rows])
        np.testing.assert_array_equal(col, table[name])  # repr(float) round-trips exactly


def test_lbfgs_evaluations_are_exported(tmp_path):
    # CSV, table() and JSON carry Trajectory.evaluations; 0 on the last row (no update)
    import simulator as sim

    opt = sim.LBFGS(line_search_fn="strong_wolfe", max_iter=4)
    run = sim.simulate(sim.get_surface("rosenbrock"), opt, start=(-1.2, 1.0), steps=6)
    ev = np.asarray(run.evaluations)
    assert len(ev) == run.n_steps and ev.max() > 1  # the line search evaluated again
    runs = [data.ExportRun("lbfgs", None, opt, run)]
    out = tmp_path / "l.csv"
    data.write_csv(runs, out)
    rows = list(csv.DictReader(out.open()))
    col = [int(r["evaluations"]) for r in rows]
    assert col == [*ev.tolist(), 0]
    assert col == run.table()["evaluations"].tolist()
    doc = data.export_document({}, runs)
    assert doc["runs"][0]["evaluations"] == ev.tolist()
    # a run rebuilt without counts reads as one evaluation per update
    run.evaluations = None
    assert run.table()["evaluations"].tolist() == [1] * run.n_steps + [0]


def test_json_holds_scene_and_runs(tmp_path):
    lab = labs.builtin_lab("saddle")  # has diverging runs: huge numbers, no NaN allowed
    runs = data.runs_from_lab(lab)
    out = tmp_path / "saddle.json"
    data.write_json(lab.session_dict(), runs, out, lab=lab.to_dict())
    doc = json.loads(out.read_text())
    assert doc["format"] == "losslab-export" and doc["version"] == 1
    assert doc["scene"]["format"] == "losslab-session"
    assert doc["lab"]["id"] == "saddle"
    assert [r["name"] for r in doc["runs"]] == [ln.name for ln in lab.lanes]
    r0 = doc["runs"][0]
    assert r0["status"] == "stalled" and r0["optimizer"]["name"] == "SGD"
    assert len(r0["positions"]) == lab.run_steps + 1 and len(r0["learning_rates"]) == lab.run_steps
    assert r0["evaluations"] == [1] * lab.run_steps
    assert doc["runs"][3]["settings"]["start"] == [1.5, 1.0]


def test_cancelled_csv_leaves_old_file(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("precious")
    runs = data.runs_from_lab(labs.builtin_lab("adaptive"))  # 6003 rows
    with pytest.raises(Cancelled):
        data.write_csv(runs, out, cancel=lambda: True)
    assert out.read_text() == "precious"
    assert _no_partials(tmp_path) == []


def test_check_writable(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        data.check_writable(tmp_path / "nope" / "x.csv")
    with pytest.raises(OSError, match="is a folder"):
        data.check_writable(tmp_path)


# ---- encoders ----------------------------------------------------------------------------------
@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_streamed_animation_reads_back(tmp_path, ext):
    import imageio.v3 as iio

    out = tmp_path / f"a.{ext}"
    with video.open_writer(out, fps=10, size=(64, 48)) as w:
        for f in _frames(23):
            w.write(f)
    frames = iio.imread(out, index=None)
    assert frames.shape == (23, 48, 64, 3)
    # the moving orange block survived encoding
    assert abs(int(frames[0, 20, 3, 0]) - 230) < 40
    assert _no_partials(tmp_path) == []


@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_aborted_animation_leaves_nothing(tmp_path, ext):
    out = tmp_path / f"a.{ext}"
    out.write_bytes(b"old")
    with pytest.raises(Cancelled):
        with video.open_writer(out, fps=10, size=(64, 48)) as w:
            for i, f in enumerate(_frames(10)):
                if i == 5:
                    raise Cancelled()
                w.write(f)
    assert out.read_bytes() == b"old"
    assert _no_partials(tmp_path) == []


def test_bad_sizes_and_formats(tmp_path):
    with pytest.raises(ValueError, match="even width"):
        video.open_writer(tmp_path / "a.mp4", 10, (65, 48))
    with pytest.raises(ValueError, match="unknown animation format"):
        video.open_writer(tmp_path / "a.avi", 10, (64, 48))
    with pytest.raises(ValueError, match="fps"):
        video.open_writer(tmp_path / "a.gif", 0, (64, 48))
    with video.open_writer(tmp_path / "a.gif", 10, (64, 48)) as w:
        with pytest.raises(ValueError, match="frames must be"):
            w.write(np.zeros((10, 10, 3), np.uint8))
        w.write(next(_frames(1)))
    assert _no_partials(tmp_path) == []


def test_gif_memory_is_flat_in_frame_count(tmp_path):
    def peak(n):
        tracemalloc.start()
        with video.GifWriter(tmp_path / f"m{n}.gif", 20, (320, 180)) as w:
            for f in _frames(n, 320, 180):
                w.write(f)
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return p

    peak(5)  # warm imports and caches
    small, big = peak(20), peak(200)
    assert big < 1.5 * small + 2_000_000, (small, big)


# ---- rendering every lab -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def qapp_offscreen():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    yield app


@pytest.mark.parametrize("lab_id", BUILTIN)
def test_every_lab_exports_an_animation(tmp_path, qapp_offscreen, lab_id):
    import imageio.v3 as iio

    from simulator.export.render import render_animation
    from simulator.gui.frame_renderer import FrameRenderer

    lab = labs.builtin_lab(lab_id)
    r = FrameRenderer(lab.scene(), "2d", (320, 180), title=lab.title,
                      log_scale=lab.view.log_scale)
    try:
        out = tmp_path / f"{lab_id}.gif"
        seen = []
        render_animation(r, out, 6, 10, progress=lambda i, n: seen.append((i, n)))
        assert seen[-1] == (6, 6)
        frames = iio.imread(out, index=None)
        assert frames.shape == (6, 180, 320, 3)
        assert frames[0].std() > 10  # not a blank image
        assert not np.array_equal(frames[1], frames[-1])  # the paths move
        png = tmp_path / f"{lab_id}.png"
        r.save_png(png, lab.run_steps)
        assert iio.imread(png).shape[:2] == (180, 320)
    finally:
        r.close()


def test_cancelled_render_leaves_old_file(tmp_path, qapp_offscreen):
    from simulator.export.render import render_animation
    from simulator.gui.frame_renderer import FrameRenderer

    lab = labs.builtin_lab("race")
    r = FrameRenderer(lab.scene(), "2d", (320, 180))
    out = tmp_path / "race.mp4"
    out.write_bytes(b"old")
    calls = []
    with pytest.raises(Cancelled):
        render_animation(r, out, 50, 10, cancel=lambda: len(calls) > 3,
                         progress=lambda i, n: calls.append(i))
    r.close()
    assert out.read_bytes() == b"old"
    assert _no_partials(tmp_path) == []


def test_step_for_frame():
    from simulator.export.render import step_for_frame

    assert [step_for_frame(i, 5, 100) for i in range(5)] == [0, 25, 50, 75, 100]
    assert step_for_frame(0, 1, 100) == 100


# ---- animation timing ---------------------------------------------------------------------------
def _gif_durations(path):
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return [f.info["duration"] for f in ImageSequence.Iterator(im)]


@pytest.mark.parametrize("fps,cs", [(30, 3), (25, 4), (20, 5), (12, 8), (40, 3), (60, 2),
                                    (1, 100), (100 / 3, 3)])
def test_gif_frame_time_is_the_nearest_exact_rate(tmp_path, fps, cs):
    # GIF frame times are whole hundredths of a second: 30 fps cannot be written; the
    # writer takes the nearest rate that can (33.33 fps, 30 ms), and says so in .fps
    assert video.gif_frame_cs(fps) == cs
    out = tmp_path / "t.gif"
    with video.open_writer(out, fps=fps, size=(32, 32)) as w:
        for f in _frames(3, 32, 32):
            w.write(f)
    assert w.fps == 100 / cs and w.delay_cs == cs
    assert _gif_durations(out) == [10 * cs] * 3  # milliseconds, read back from the file


def test_gif_rate_not_above():
    assert video.gif_fps(30, not_above=True) == 25.0
    assert video.gif_fps(25, not_above=True) == 25.0
    assert video.gif_fps(100 / 3, not_above=True) == 100 / 3
    assert video.gif_fps(200, not_above=True) == 50.0


def test_default_animation_timing_lasts_a_few_seconds():
    from simulator.export.render import MIN_SECONDS, animation_timing

    # a 40-step lab: 41 frames at 10 fps (4.1 s), not 1.4 s at 30 fps
    assert animation_timing(40, "mp4") == (41, 10.0, "")
    assert animation_timing(40, "gif") == (41, 10.0, "")
    # long runs: 150 frames at 30 fps (5 s); a GIF at 25 fps (6 s), never shorter
    assert animation_timing(2000, "mp4") == (150, 30.0, "")
    assert animation_timing(2000, "gif") == (150, 25.0, "")
    assert animation_timing(2, "mp4") == (3, 1.0, "")  # as slow as 1 fps goes
    for steps in range(4 * MIN_SECONDS, 400, 7):
        for fmt in ("mp4", "gif"):
            frames, fps, _ = animation_timing(steps, fmt)
            assert frames / fps >= MIN_SECONDS and fps <= 30
    # what the user gives is kept; a GIF's rate is snapped and the note says so
    assert animation_timing(40, "mp4", frames=12, fps=12) == (12, 12.0, "")
    frames, fps, note = animation_timing(40, "gif", fps=30)
    assert (frames, fps) == (41, 100 / 3)
    assert "hundredths of a second" in note and "30 fps" in note and "33.33 fps" in note


def _map_pixel(r, x, y):
    """The frame pixel (row, column) showing point (x, y) of the renderer's 2-D map."""
    v = r.contour
    scene_pt = v.view_to_scene(x, y)
    view_pt = v.graphics.mapFromScene(scene_pt)
    pt = v.graphics.viewport().mapTo(r.container, view_pt)
    return pt.y(), pt.x()


@pytest.mark.parametrize("lab_id, view", [("race", "2d"), ("sharp-flat", "2d")])
def test_exported_map_has_no_stray_plate(qapp_offscreen, lab_id, view):
    # a dark box stood near (0.05, 0.1) on exported maps: the eigenvalue labels' empty
    # plates, never placed because an export draws no eigen-arrows (the app's shots
    # showed them beside the arrows, so nothing looked wrong there)
    from simulator.gui.frame_renderer import FrameRenderer

    lab = labs.builtin_lab(lab_id)
    r = FrameRenderer(lab.scene(), view, (960, 540), log_scale=lab.view.log_scale)
    try:
        frame = r.render(0)
        shown = [label.isVisible() for label in r.contour.eig_labels]
        # the plate's corner sits at (0, 0) and reaches up and right; compare the
        # pixels there with the same place in a frame whose labels are gone
        for label in r.contour.eig_labels:
            r.contour.plot.removeItem(label)
        clean = r.render(0)
        (y0, x0), (y1, x1) = _map_pixel(r, 0.0, 0.0), _map_pixel(r, 0.15, 0.35)
        box = (slice(min(y0, y1) - 2, max(y0, y1) + 2), slice(min(x0, x1) - 2, max(x0, x1) + 2))
        assert np.abs(frame[box].astype(int) - clean[box]).max() <= 2
        assert not any(shown)
    finally:
        r.close()
