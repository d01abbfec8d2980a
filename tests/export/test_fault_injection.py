"""Fault injection for every writer LossLab has: the disk fills up half-way through a
write, the final rename fails, the exporting process is killed. Each time the previous
file survives byte for byte and no temporary file is left (issue 18).

Writers: session (the app's Save), lab, drawn surface, CSV, JSON, SVG, PNG, MP4, GIF,
basin and hyperparameter maps (CSV and PNG). All go through ``simulator.core.files``;
the faults are injected there (``open`` of the temporary file, ``os.replace``) and, for
the two animation encoders, in the encoder itself.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from simulator.core import files, labs
from simulator.core.optimizers import SGD
from simulator.export import maps

PREVIOUS = b"PREVIOUS \x00\xff contents that must survive\n" * 3


# ---- injected faults ------------------------------------------------------------------------
class _DiskFull(io.RawIOBase):
    """A file that accepts ``budget`` bytes, really writing them, then fails as a full
    disk does (ENOSPC)."""

    def __init__(self, real, budget: int):
        self._real = real
        self._budget = budget
        self.failed = False

    def write(self, data):
        data = bytes(data) if not isinstance(data, str) else data
        if len(data) > self._budget:
            self._real.write(data[: self._budget])
            self._real.flush()
            self._budget = 0
            self.failed = True
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        self._budget -= len(data)
        return self._real.write(data)

    def __getattr__(self, name):
        return getattr(self._real, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()
        return False

    def close(self):
        self._real.close()

    def writable(self):
        return True

    def seekable(self):
        return self._real.seekable()

    def seek(self, *a):
        return self._real.seek(*a)

    def tell(self):
        return self._real.tell()

    def flush(self):
        return self._real.flush()


@pytest.fixture
def disk_full(monkeypatch):
    """Every temporary file opened by the atomic writer (and the GIF encoder) takes
    ``budget`` bytes and then fails with ENOSPC; returns the list of files opened."""
    import builtins

    from simulator.export import video

    opened = []

    def arm(budget: int = 64):
        def fake_open(path, mode="r", *a, **kw):
            f = builtins.open(path, mode, *a, **kw)
            if "w" in mode and ".losslab-" in os.path.basename(str(path)):
                f = _DiskFull(f, budget)
                opened.append(f)
            return f

        monkeypatch.setattr(files, "open", fake_open, raising=False)
        monkeypatch.setattr(video, "open", fake_open, raising=False)
        return opened

    return arm


@pytest.fixture
def rename_fails(monkeypatch):
    """The final rename of a finished temporary file over the target fails."""
    calls = []

    def fake_replace(src, dst, *a, **kw):
        calls.append((src, dst))
        raise OSError(errno.EIO, "Input/output error (injected)")

    monkeypatch.setattr(files.os, "replace", fake_replace)
    return calls


def _previous(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    target.write_bytes(PREVIOUS)
    return target


def _assert_untouched(target: Path) -> None:
    assert target.read_bytes() == PREVIOUS
    left = [p.name for p in target.parent.iterdir() if p != target]
    assert left == [], f"temporary files left: {left}"


# ---- the writers (each takes a target path) -------------------------------------------------
@pytest.fixture(scope="module")
def race_runs():
    from simulator.export import data

    lab = labs.builtin_lab("race")
    return lab, data.runs_from_lab(lab)


def _small_basin():
    from simulator.core.library import get_surface
    from simulator.core.maps import basin_map

    return basin_map(get_surface("himmelblau"), SGD(lr=0.01), (24, 24), 20)


def _small_hyper():
    from simulator.core.library import get_surface
    from simulator.core.maps import grid_values, hyper_map

    s = get_surface("rosenbrock")
    return hyper_map(s, SGD(lr=1e-3), (-1.5, 2.0), "lr", grid_values(1e-4, 1e-2, 6, True),
                     "momentum", grid_values(0.0, 0.9, 5, False), 20)


def _write_lab(path, ctx):
    labs.save_lab(ctx["lab"], path)


def _write_surface(path, ctx):
    from simulator.core.drawn import drawn_surface, save_surface
    from simulator.core.library import get_surface

    save_surface(path, drawn_surface(get_surface("rosenbrock"), [(0.0, 0.0, 1.0, 0.3)]))


def _write_csv(path, ctx):
    from simulator.export import data

    data.write_csv(ctx["runs"], path)


def _write_json(path, ctx):
    from simulator.export import data

    lab = ctx["lab"]
    data.write_json(lab.session_dict(), ctx["runs"], path, lab=lab.to_dict())


def _write_svg(path, ctx):
    from simulator.export.svg import scene_from_lab, write_svg

    lab = ctx["lab"]
    write_svg(scene_from_lab(lab, runs=lab.run()), path, (480, 270))


def _write_basin_csv(path, ctx):
    maps.write_basin_csv(ctx.setdefault("basin", _small_basin()), path)


def _write_basin_png(path, ctx):
    maps.save_basin_png(ctx.setdefault("basin", _small_basin()), path, size=128)


def _write_hyper_csv(path, ctx):
    maps.write_hyper_csv(ctx.setdefault("hyper", _small_hyper()), path)


def _write_hyper_png(path, ctx):
    maps.save_hyper_png(ctx.setdefault("hyper", _small_hyper()), path, size=128)


def _write_gif(path, ctx):
    from simulator.export.video import open_writer

    with open_writer(path, 10, (64, 48)) as w:
        for i in range(6):
            f = np.zeros((48, 64, 3), np.uint8)
            f[:, i * 8: i * 8 + 8] = 200
            w.write(f)


HEADLESS = {
    "lab.json": _write_lab,
    "surface.json": _write_surface,
    "runs.csv": _write_csv,
    "runs.json": _write_json,
    "scene.svg": _write_svg,
    "basin.csv": _write_basin_csv,
    "basin.png": _write_basin_png,
    "hyper.csv": _write_hyper_csv,
    "hyper.png": _write_hyper_png,
    "run.gif": _write_gif,
}


@pytest.fixture
def ctx(race_runs):
    lab, runs = race_runs
    return {"lab": lab, "runs": runs}


@pytest.mark.parametrize("name", sorted(HEADLESS))
def test_each_writer_works_when_nothing_fails(tmp_path, ctx, name):
    target = _previous(tmp_path, name)
    HEADLESS[name](target, ctx)
    assert target.read_bytes() != PREVIOUS and target.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("name", sorted(HEADLESS))
def test_a_disk_that_fills_up_half_way_leaves_the_previous_file(tmp_path, ctx, name,
                                                                  disk_full):
    # the maps are computed before the disk is armed: only the write fails
    if name.startswith("basin"):
        ctx["basin"] = _small_basin()
    if name.startswith("hyper"):
        ctx["hyper"] = _small_hyper()
    target = _previous(tmp_path, name)
    opened = disk_full(budget=40)
    from simulator.export.video import EncoderError

    with pytest.raises((OSError, EncoderError), match="No space left"):
        HEADLESS[name](target, ctx)
    assert opened and opened[0].failed  # the fault really hit half-way through a write
    _assert_untouched(target)


@pytest.mark.parametrize("name", sorted(HEADLESS))
def test_a_failing_rename_leaves_the_previous_file(tmp_path, ctx, name, rename_fails):
    if name.startswith("basin"):
        ctx["basin"] = _small_basin()
    if name.startswith("hyper"):
        ctx["hyper"] = _small_hyper()
    target = _previous(tmp_path, name)
    with pytest.raises(OSError, match="injected"):
        HEADLESS[name](target, ctx)
    assert rename_fails  # the rename was the one writer's
    _assert_untouched(target)


# ---- the map exports (now export/maps.py) once wrote straight to the target ------------
@pytest.mark.parametrize("which", ["basin.csv", "hyper.csv", "basin.png", "hyper.png"])
def test_a_map_export_never_opens_its_target_for_writing(tmp_path, ctx, which, monkeypatch):
    import builtins

    target = _previous(tmp_path, which)
    if which.startswith("basin"):
        ctx["basin"] = _small_basin()
    else:
        ctx["hyper"] = _small_hyper()
    real_open = builtins.open
    opened = []

    def spy(path, mode="r", *a, **kw):
        if os.path.realpath(str(path)) == str(target) and ("w" in mode or "a" in mode):
            opened.append(mode)
        return real_open(path, mode, *a, **kw)

    monkeypatch.setattr(builtins, "open", spy)
    HEADLESS[which](target, ctx)
    assert opened == []  # written to a temporary file, renamed over the target


# ---- the encoders ------------------------------------------------------------------------------
def test_mp4_encoder_failing_half_way_leaves_the_previous_file(tmp_path, monkeypatch):
    from simulator.export import video

    target = _previous(tmp_path, "run.mp4")
    w = video.open_writer(target, 10, (64, 48))

    class Broken:
        def __init__(self, gen):
            self.gen, self.n = gen, 0

        def send(self, frame):
            self.n += 1
            if self.n > 3:
                raise BrokenPipeError(errno.EPIPE, "Broken pipe (injected: ffmpeg died)")
            return self.gen.send(frame)

        def close(self):
            return self.gen.close()

    w._gen = Broken(w._gen)
    with pytest.raises(video.EncoderError, match="injected"):
        with w:
            for _ in range(10):
                w.write(np.full((48, 64, 3), 90, np.uint8))
    _assert_untouched(target)


def test_mp4_failing_rename_leaves_the_previous_file(tmp_path, rename_fails):
    from simulator.export import video

    target = _previous(tmp_path, "run.mp4")
    with pytest.raises(OSError, match="injected"):
        with video.open_writer(target, 10, (64, 48)) as w:
            for _ in range(3):
                w.write(np.full((48, 64, 3), 90, np.uint8))
    _assert_untouched(target)


# ---- PNG of the app's views (Qt, offscreen) ---------------------------------------------------
@pytest.fixture
def renderer(qapp):
    from simulator.gui.frame_renderer import FrameRenderer

    r = FrameRenderer(labs.builtin_lab("race").scene(), "2d", (320, 180))
    yield r
    r.close()


def test_png_export_disk_full_half_way(tmp_path, renderer, disk_full):
    target = _previous(tmp_path, "frame.png")
    opened = disk_full(budget=100)
    with pytest.raises(OSError, match="No space left"):
        renderer.save_png(target, 10)
    assert opened and opened[0].failed
    _assert_untouched(target)


def test_png_export_failing_rename(tmp_path, renderer, rename_fails):
    target = _previous(tmp_path, "frame.png")
    with pytest.raises(OSError, match="injected"):
        renderer.save_png(target, 10)
    _assert_untouched(target)


def test_png_export_writes_when_nothing_fails(tmp_path, renderer):
    target = _previous(tmp_path, "frame.png")
    renderer.save_png(target, 10)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- the app's Save (session files) ---------------------------------------------------------
@pytest.fixture
def window(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.session.flush()
    yield w
    w.animator.pause()


def test_session_save_disk_full_half_way_shows_why_and_keeps_the_file(tmp_path, window,
                                                                         disk_full):
    target = _previous(tmp_path, "scene.losslab.json")
    opened = disk_full(budget=100)
    assert window.save_session_file(str(target)) is False
    assert opened and opened[0].failed
    assert "No space left" in window.last_message_box.informativeText()
    _assert_untouched(target)


def test_session_save_failing_rename_keeps_the_file(tmp_path, window, rename_fails):
    target = _previous(tmp_path, "scene.losslab.json")
    assert window.save_session_file(str(target)) is False
    assert "injected" in window.last_message_box.informativeText()
    _assert_untouched(target)


def test_session_save_goes_through_the_one_atomic_writer(tmp_path, window, monkeypatch):
    """Not QSaveFile, which breaks links: a save over a link writes the link's file,
    with its mode (issue 18, point 2)."""
    real = tmp_path / "real.losslab.json"
    real.write_bytes(PREVIOUS)
    real.chmod(0o600)
    link = tmp_path / "scene.losslab.json"
    link.symlink_to(real)
    assert window.save_session_file(str(link)) is True
    assert link.is_symlink()
    assert b"losslab-session" in real.read_bytes()
    assert real.stat().st_mode & 0o777 == 0o600


# ---- a killed export ------------------------------------------------------------------------
def _cli(*args) -> subprocess.Popen:
    env = dict(os.environ)
    for k in ("DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(k, None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.Popen([sys.executable, "-m", "simulator", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_temporary(folder: Path, proc: subprocess.Popen, timeout: float = 240.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        parts = [p for p in folder.iterdir() if ".losslab-" in p.name]
        if parts and parts[0].stat().st_size > 0:
            return parts[0]
        if proc.poll() is not None:
            pytest.fail(f"the export ended before it was killed: {proc.stderr.read()!r}")
        time.sleep(0.01)
    proc.kill()
    pytest.fail("no temporary file appeared")


KILLED_EXPORTS = {  # target name: the export's options (each writes for seconds)
    "m.csv": ["--map", "basin", "--resolution", "700", "--map-steps", "1"],
    "a.mp4": ["--frames", "2000", "--size", "320x180"],
    "a.gif": ["--frames", "2000", "--size", "320x180"],
}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("name", sorted(KILLED_EXPORTS))
def test_a_killed_export_leaves_the_previous_file(tmp_path, sig, name):
    """``losslab export race --out m.csv --map basin`` (and an animation) killed while
    it writes: the previous file is intact. SIGTERM is handled (the temporary file is
    removed and the exit status says so); after SIGKILL the temporary file, named as
    LossLab's, is removed by the next write to the same target."""
    target = _previous(tmp_path, name)
    proc = _cli("export", "race", "--out", str(target), *KILLED_EXPORTS[name], "-q")
    try:
        part = _wait_for_temporary(tmp_path, proc)
        assert part.name.startswith(f".{name}.losslab-")
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert target.read_bytes() == PREVIOUS
    if sig == signal.SIGTERM:
        assert code == 128 + signal.SIGTERM, proc.stderr.read()
        _assert_untouched(target)
    else:
        assert part.exists()  # nothing runs after SIGKILL...
        files.atomic_write_bytes(target, b"next")  # ...the next write cleans it up
        assert [p.name for p in tmp_path.iterdir()] == [name]
