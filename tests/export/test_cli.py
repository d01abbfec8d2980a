"""The ``losslab labs`` / ``open`` / ``export`` commands: output, files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from simulator import cli
from simulator.core import labs


def run_cli(*args, env_extra=None, drop_display=True):
    env = dict(os.environ)
    if drop_display:
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        env.pop("QT_QPA_PLATFORM", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def one_line_error(proc):
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert len(err.splitlines()) == 1, err
    return err


def test_registered():
    assert {"labs", "open", "export"} <= set(cli.SUBCOMMANDS)
    help_text = cli.build_parser().format_help()
    for name in ("labs", "open", "export"):
        assert name in help_text


def test_labs_lists_one_line_each(capsys):
    assert cli.main(["labs"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in out] == labs.builtin_lab_ids()
    assert all(":" in line for line in out)
    assert cli.main(["labs", "--ids"]) == 0
    assert capsys.readouterr().out.split() == labs.builtin_lab_ids()


def test_export_csv_and_json_in_process(tmp_path, capsys):
    out = tmp_path / "race.csv"
    assert cli.main(["export", "race", "--out", str(out), "-q"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "lane,optimizer,step,x,y,loss,grad_norm,lr,evaluations,status"
    assert len(lines) == 1 + 4 * 1001
    out = tmp_path / "race.json"
    assert cli.main(["export", "race", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert len(doc["runs"]) == 4 and doc["lab"]["id"] == "race"
    assert "wrote" in capsys.readouterr().err


@pytest.mark.parametrize("args,needle", [
    (["export", "no-such-lab", "--out", "{d}/x.csv"], "no built-in lab 'no-such-lab'"),
    (["export", "race", "--out", "{d}/x.txt"], "unknown file type '.txt'"),
    (["export", "race", "--out", "{d}/missing/x.csv"], "does not exist"),
    (["export", "race", "--out", "{d}/x.mp4", "--size", "961x540"], "even width"),
    (["export", "{d}/bad.json", "--out", "{d}/x.csv"], "lanes[0].optimizer.lr: must be a positive"),
    (["export", "{d}/newer.json", "--out", "{d}/x.csv"], "version 3"),
    (["export", "{d}/missing.json", "--out", "{d}/x.csv"], "no such file"),
    (["open", "{d}/bad.json"], "lanes[0].optimizer.lr"),
    (["open", "nope"], "no built-in lab 'nope'"),
])
def test_bad_input_exit_2_one_line(tmp_path, capsys, args, needle):
    bad = labs.builtin_lab("race").to_dict(version=1)
    bad["lanes"][0]["optimizer"]["lr"] = -1
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    newer = labs.builtin_lab("race").to_dict(version=1)
    newer["version"] = 3
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    argv = [a.replace("{d}", str(tmp_path)) for a in args]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert needle in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "newer.json"]


def test_unwritable_path(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        assert cli.main(["export", "race", "--out", str(ro / "x.csv")]) == 2
        assert "permission denied" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("ext,frames,size", [("gif", 12, (480, 270)), ("mp4", 16, (640, 360))])
def test_export_animation_headless(tmp_path, ext, frames, size):
    import imageio.v3 as iio

    out = tmp_path / f"race.{ext}"
    proc = run_cli("export", "race", "--out", str(out), "--frames", str(frames),
                   "--fps", "12", "--size", f"{size[0]}x{size[1]}")
    assert proc.returncode == 0, proc.stderr
    assert "100%" in proc.stderr  # progress on stderr
    got = iio.imread(out, index=None)
    assert got.shape == (frames, size[1], size[0], 3)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    if ext == "gif":  # 12 fps cannot be written in a GIF: 8/100 s a frame, and it says so
        from PIL import Image, ImageSequence

        assert "12 fps is written as 12.5 fps" in proc.stderr
        with Image.open(out) as im:
            assert {f.info["duration"] for f in ImageSequence.Iterator(im)} == {80}


def test_export_png_headless(tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "lr.png"
    proc = run_cli("export", "lr-1d", "--out", str(out), "--size", "400x300", "--step", "3")
    assert proc.returncode == 0, proc.stderr
    assert iio.imread(out).shape[:2] == (300, 400)


def test_3d_without_display_says_so(tmp_path):
    proc = run_cli("export", "race", "--out", str(tmp_path / "x.mp4"), "--view", "3d")
    assert proc.returncode == 2
    err = one_line_error(proc)
    assert "OpenGL display" in err and "xvfb-run" in err
    assert list(tmp_path.iterdir()) == []


def test_no_display_gives_a_one_line_hint_and_exit_2():
    from simulator.cli_commands import EXIT_NO_DISPLAY, no_display_hint

    assert no_display_hint({}, "linux") is not None
    assert no_display_hint({"DISPLAY": ":0"}, "linux") is None
    assert no_display_hint({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert no_display_hint({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert no_display_hint({}, "darwin") is None  # Qt finds the screen itself there
    for args in ((), ("open", "race")):
        proc = run_cli(*args)  # no DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM
        assert proc.returncode == EXIT_NO_DISPLAY == 2, proc.stderr  # Qt's abort was 134
        err = one_line_error(proc)
        assert "no display" in err and "xvfb-run" in err and "losslab export" in err


def test_prepare_compiles_the_first_sessions_kernels(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = run_cli("prepare", env_extra=env)
    assert proc.returncode == 0, proc.stderr
    assert "[1/10] the map" in proc.stderr and "kernels ready" in proc.stderr
    again = run_cli("prepare", env_extra=env)  # the second time loads them from disk
    assert again.returncode == 0 and "(0 compiled," in again.stderr, again.stderr


# ---- validate ------------------------------------------------------------------------------
def _broken_lab(tmp_path, name="bad.json"):
    d = labs.builtin_lab("race").to_dict(version=1)
    d["title"] = ""
    for lane in d["lanes"]:
        lane["optimizer"]["lr"] = -1  # four problems, one per lane
    d["view"]["views"] = ["4d"]
    d["seeed"] = 1
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return p


def test_validate_lists_every_problem_of_every_file(tmp_path, capsys):
    bad = _broken_lab(tmp_path)
    good = tmp_path / "good.json"
    good.write_text(labs.dumps_lab(labs.builtin_lab("lr-1d")))
    assert cli.main(["validate", str(good), str(bad)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{good}: ok (version 2, 3 steps, 3 tasks)"
    problems = out[1:-1]
    assert len(problems) == 7 and all(line.startswith(f"{bad}: ") for line in problems)
    assert f"{bad}: seeed: unknown field (did you mean 'seed'?)" in problems
    for i in range(4):
        assert f"{bad}: lanes[{i}].optimizer.lr: must be a positive number, got -1" in \
            problems
    assert out[-1] == f"{bad}: 7 problems"
    assert "more problem" not in "\n".join(out)
    assert cli.main(["validate", "-q", str(good)]) == 0
    assert capsys.readouterr().out == ""


def test_validate_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(labs.dumps_lab(labs.builtin_lab("race")))
    assert cli.main(["validate", str(good)]) == 0
    notjson = tmp_path / "notjson.json"
    notjson.write_text("{")
    assert cli.main(["validate", str(notjson)]) == 1  # readable, but not a lab
    assert "not valid JSON at line 1" in capsys.readouterr().out
    missing = tmp_path / "missing.json"
    assert cli.main(["validate", str(good), str(_broken_lab(tmp_path)), str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"losslab: {missing}: cannot read the file" in captured.err
    assert f"{good}: ok" in captured.out  # the other files are still checked
    assert cli.main(["validate", str(tmp_path)]) == 2  # a folder is not a lab file
    with pytest.raises(SystemExit) as e:
        cli.main(["validate"])
    assert e.value.code == 2
