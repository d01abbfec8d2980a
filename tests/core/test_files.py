"""The one atomic writer every save and export uses."""

import os
import stat
import subprocess
import sys

import pytest

from simulator.core import files
from simulator.core.files import (
    atomic_open,
    atomic_write_bytes,
    atomic_write_text,
    check_writable,
    clean_stale_temporaries,
    discard,
    read_small_file,
    temp_path_for,
)


def test_atomic_write_gives_normal_permissions(tmp_path):
    target = tmp_path / "lab.json"
    atomic_write_text(target, "{}\n")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert target.read_text() == "{}\n"


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "surface.json"
    target.write_text("old")

    with pytest.raises(TypeError):
        atomic_write_text(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["surface.json"]


def test_temp_path_keeps_the_extension_next_to_the_target(tmp_path):
    tmp = temp_path_for(tmp_path / "race.mp4")
    try:
        assert os.path.dirname(tmp) == str(tmp_path)
        assert tmp.endswith(".mp4")
    finally:
        os.unlink(tmp)


# ---- issue 18: links, modes, stale temporaries, devices, bounded reads ----------------------
def test_saving_over_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real" / "lab.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "lab.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    # the temporary file was made beside the target, and nothing is left anywhere
    assert sorted(p.name for p in real.parent.iterdir()) == ["lab.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.json", "real"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "scene.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    atomic_write_text(link, "{}")
    assert link.is_symlink() and (tmp_path / "elsewhere.json").read_text() == "{}"


def test_saving_keeps_the_files_permissions(tmp_path):
    target = tmp_path / "secret.json"
    target.write_text("old")
    target.chmod(0o600)
    atomic_write_text(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    target.chmod(0o640)
    atomic_write_bytes(target, b"newer")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_bytes() == b"newer"


def test_temporaries_are_named_as_ours_and_a_killed_writers_is_cleaned(tmp_path):
    target = tmp_path / "map.csv"
    tmp = temp_path_for(target)
    name = os.path.basename(tmp)
    assert name.startswith(".map.csv.losslab-") and ".part" in name and name.endswith(".csv")
    discard(tmp)
    # a temporary left by a process that is gone (kill -9 mid-export)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".map.csv.losslab-{dead.pid}-0123abcd.part.csv"
    stale.write_bytes(b"x" * 1000)
    other = tmp_path / f".other.csv.losslab-{dead.pid}-0123abcd.part.csv"  # another file's
    other.write_bytes(b"y")
    mine = tmp_path / ".map.csv.part.csv"  # not our pattern: never touched
    mine.write_bytes(b"z")
    atomic_write_text(target, "data")
    assert not stale.exists()
    assert other.exists() and mine.exists()
    assert target.read_text() == "data"


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    target = tmp_path / "run.gif"
    busy = temp_path_for(target)  # a write in progress (this process, this thread)
    try:
        atomic_write_bytes(target, b"GIF89a")
        assert os.path.exists(busy)
    finally:
        discard(busy)
    assert not os.path.exists(busy)
    assert clean_stale_temporaries(target) == []


def test_a_device_is_never_replaced(tmp_path, spare_device):
    device = spare_device  # as root, never the real /dev/null (see conftest)
    before = os.stat(device)
    with pytest.raises(OSError, match="device"):
        atomic_write_text(device, "x")
    with pytest.raises(OSError, match="device"):
        check_writable(device)
    # through a link too
    link = tmp_path / "out.csv"
    link.symlink_to(device)
    with pytest.raises(OSError, match="device"):
        atomic_write_text(link, "x")
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_fifo_or_a_folder_is_never_replaced(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO"):
        atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    folder = tmp_path / "dir.json"
    folder.mkdir()
    with pytest.raises(OSError, match="folder"):
        atomic_write_text(folder, "x")
    assert folder.is_dir()


def test_atomic_open_refuses_modes_that_do_not_write_a_new_file(tmp_path):
    with pytest.raises(ValueError):
        with atomic_open(tmp_path / "x.txt", "a"):
            pass


# ---- bounded reads ------------------------------------------------------------------------------
def test_read_small_file_reads_a_regular_file(tmp_path):
    p = tmp_path / "lab.json"
    p.write_bytes(b"{}")
    assert read_small_file(p, 10, "lab file") == b"{}"


def test_read_small_file_names_the_cap(tmp_path):
    p = tmp_path / "big.json"
    p.write_bytes(b" " * 2_000_001)
    with pytest.raises(OSError, match="at most 1 MB"):
        read_small_file(p, 1_000_000, "lab file")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_read_small_file_refuses_a_device_at_once(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(OSError, match="device"):
        read_small_file(device, 1_000_000, "lab file")


def test_read_small_file_refuses_a_fifo_without_opening_it(tmp_path, monkeypatch):
    """Opening a FIFO for reading waits for a writer: it is refused before any open."""
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    opened = []
    real_open = os.open
    monkeypatch.setattr(files.os, "open", lambda p, *a, **kw: opened.append(p) or
                        real_open(p, *a, **kw))
    with pytest.raises(OSError, match="FIFO"):
        read_small_file(fifo, 1000, "session file")
    assert opened == []


def test_read_small_file_never_reads_past_the_cap_whatever_st_size_says(tmp_path, monkeypatch):
    """A file that grows after the size check (or a size that lies, as a device's 0):
    at most cap + 1 bytes are read, so memory stays small (a sparse 64 MB file here)."""
    import tracemalloc

    p = tmp_path / "grows.json"
    with open(p, "wb") as f:
        f.write(b"x" * 100)
        f.truncate(64 * 2**20)  # sparse: no disk space used
    real_stat = os.stat

    def lying_stat(path, *a, **kw):
        st = real_stat(path, *a, **kw)
        if str(path) == str(p):
            return os.stat_result((st.st_mode, *st[1:6], 0, *st[7:]))
        return st

    monkeypatch.setattr(files.os, "stat", lying_stat)
    tracemalloc.start()
    try:
        with pytest.raises(OSError, match="at most"):
            read_small_file(p, 50, "lab file")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # reading the whole file would hold 64 MB
