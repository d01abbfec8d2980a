"""The one atomic writer every save and export uses."""

import os
import stat

import pytest

from simulator.core.files import atomic_write_text, temp_path_for


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
