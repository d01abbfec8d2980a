"""Hostile files fed to every file opener: the command line (``losslab export FILE``),
the app's Open Session and Open Lab, drag and drop, and surface files (issue 18).

Classes: missing, a folder, a FIFO, devices (``/dev/zero`` never ends, ``/dev/null`` is
empty), too big, truncated, binary, nested 200,000 deep, huge numbers (a 5,000-digit
integer, one of 4,000 digits, 1e400), huge strings (a 5 MB lane or surface name).

Every one ends with a message in words (a message box in the app, one line and exit
status 2 on the command line), never a traceback, a hang (a FIFO watchdog) or unbounded
memory (an address-space cap while the opener runs), and the app keeps its scene.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import threading
from pathlib import Path

import pytest

from simulator import cli
from simulator.core import labs

NESTED = 200_000
PYTHON_HINTS = ("set_int_max_str_digits", "Traceback", "sys.", "RecursionError",
                "is not comparable", "Exceeds the limit")


@contextlib.contextmanager
def memory_cap(extra_bytes: int = 1 << 30):
    """Cap this process's address space at its current size plus ``extra_bytes`` while
    the block runs: an opener that reads ``/dev/zero`` without a limit fails with
    MemoryError within a second instead of eating the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = vm + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class FifoWatchdog:
    """Whether an opener blocked on the FIFO ``path`` waiting for a writer (the app
    frozen): every ``after_s`` seconds it looks for a reader holding the FIFO open and,
    if there is one, opens it for writing, which releases the reader (so the test fails
    on ``blocked`` instead of hanging)."""

    def __init__(self, path: Path, after_s: float = 5.0):
        self.path, self.after_s = path, after_s
        self.blocked = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.wait(self.after_s):  # as often as an opener gets stuck
            try:  # succeeds only while a reader has the FIFO open: the opener is stuck
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            self.blocked = True
            os.close(fd)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=1)
        return False


# ---- the hostile files -----------------------------------------------------------------------
def _lab_dict() -> dict:
    return labs.builtin_lab("race").to_dict(version=1)


def _session_dict() -> dict:
    d = labs.builtin_lab("race").session_dict()
    d.setdefault("format", "losslab-session")
    return d


def _with(d: dict, path: list, value) -> dict:
    d = json.loads(json.dumps(d))
    cur = d
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return d


def _raw_number(d: dict, path: list, digits: str) -> str:
    """``d`` as JSON text with the value at ``path`` replaced by the literal ``digits``."""
    return json.dumps(_with(d, path, "@@NUMBER@@")).replace('"@@NUMBER@@"', digits)


def _surface_dict() -> dict:
    from simulator.core.drawn import drawn_surface, surface_file_dict
    from simulator.core.library import get_surface

    return surface_file_dict(drawn_surface(get_surface("rosenbrock"), [(0.0, 0.0, 1.0, 0.3)]))


def make(kind: str, tmp_path: Path, flavour: str) -> Path:
    """A hostile file of ``kind``; ``flavour`` "lab", "session" or "surface"."""
    base = {"lab": _lab_dict, "session": _session_dict, "surface": _surface_dict}[flavour]()
    if flavour == "surface":  # the same hostile values, where a surface file has them
        kind = {"int-5000-digits": "surface-int-5000", "int-4000-digits": "surface-int-4000",
                "float-1e400": "surface-float-1e400",
                "name-5mb": "surface-name-5mb"}.get(kind, kind)
    p = tmp_path / f"{kind}.json"
    if kind == "missing":
        return p
    if kind == "folder":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind in ("dev-zero", "dev-null", "dev-urandom"):
        dev = "/dev/" + kind[4:]
        if not os.path.exists(dev):
            pytest.skip(f"no {dev}")
        p.symlink_to(dev)  # the .json name drag and drop wants, the device behind it
    elif kind == "too-big":
        p.write_text(json.dumps(base) + " " * 25_000_000)
    elif kind == "truncated":
        text = json.dumps(base, indent=1)
        p.write_text(text[: len(text) // 2])
    elif kind == "binary":
        p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    elif kind == "nested-list":
        p.write_text("[" * NESTED + "]" * NESTED)
    elif kind == "nested-object":
        p.write_text('{"format": "losslab-session", "a": ' + '{"a": ' * NESTED + "1"
                     + "}" * NESTED + "}")
    elif kind == "int-5000-digits":
        p.write_text(_raw_number(base, ["seed"] if flavour == "lab" else
                                 ["training", "seed"], "7" * 5000))
    elif kind == "int-4000-digits":
        p.write_text(_raw_number(base, ["lanes", 0, "optimizer", "lr"], "9" * 4000))
    elif kind == "float-1e400":
        p.write_text(_raw_number(base, ["lanes", 0, "optimizer", "lr"], "1e400"))
    elif kind == "surface-int-5000":
        p.write_text(_raw_number(base, ["version"], "7" * 5000))
    elif kind == "surface-int-4000":
        p.write_text(_raw_number(base, ["bumps", 0, 2], "9" * 4000))
    elif kind == "surface-float-1e400":
        p.write_text(_raw_number(base, ["bumps", 0, 2], "1e400"))
    elif kind == "name-5mb":
        p.write_text(json.dumps(_with(base, ["lanes", 0, "name"], "N" * 5_000_000)))
    elif kind == "surface-name-5mb":
        where = ["name"] if flavour == "surface" else ["surface", "name"]
        p.write_text(json.dumps(_with(base, where, "r" * 5_000_000)))
    elif kind == "name-900kb":  # under a lab's 1 MB cap: the name check says it
        where = ["base", "name"] if flavour == "surface" else ["lanes", 0, "optimizer",
                                                                "name"]
        p.write_text(json.dumps(_with(base, where, "Q" * 900_000)))
    else:
        raise AssertionError(kind)
    return p


KINDS = ["missing", "folder", "fifo", "dev-zero", "dev-null", "dev-urandom", "too-big",
         "truncated", "binary", "nested-list", "nested-object", "int-5000-digits",
         "int-4000-digits", "float-1e400", "name-5mb", "surface-name-5mb", "name-900kb"]


def _in_words(text: str) -> None:
    assert text.strip()
    for hint in PYTHON_HINTS:
        assert hint not in text, text
    assert len(text) < 2000, text[:300]


@contextlib.contextmanager
def _guarded(path: Path):
    """No hang on a FIFO, no unbounded read of a device (see the two guards above)."""
    with contextlib.ExitStack() as stack:
        dog = stack.enter_context(FifoWatchdog(path)) if path.is_fifo() else None
        stack.enter_context(memory_cap())
        yield
    assert dog is None or not dog.blocked, "the opener waited for a writer on a FIFO"


# ---- the command line ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_cli_export_refuses_in_one_line(tmp_path, capsys, kind):
    path = make(kind, tmp_path, "lab")
    out = tmp_path / "out" / "x.csv"
    out.parent.mkdir()
    with _guarded(path):
        code = cli.main(["export", str(path), "--out", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("losslab: ")
    _in_words(err)
    assert list(out.parent.iterdir()) == []


def test_cli_names_the_cap_of_a_lab_file(tmp_path, capsys):
    path = make("too-big", tmp_path, "lab")
    assert cli.main(["export", str(path), "--out", str(tmp_path / "x.csv"), "-q"]) == 2
    assert "at most 1 MB" in capsys.readouterr().err


def test_cli_huge_integer_is_refused_in_words(tmp_path, capsys):
    path = make("int-5000-digits", tmp_path, "lab")
    assert cli.main(["export", str(path), "--out", str(tmp_path / "x.csv"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "5,000 digits" in err and "at most 100" in err


@pytest.mark.parametrize("ext", ["csv", "json", "svg"])
def test_cli_refuses_a_device_as_output(tmp_path, capsys, ext, spare_device):
    """Saving (as root, as CI does) to a device must never replace the device node
    (as root the device is a spare node, not the real /dev/null: see conftest)."""
    out = tmp_path / f"out.{ext}"
    out.symlink_to(spare_device)
    before = os.stat(spare_device)
    assert cli.main(["export", "race", "--out", str(out), "-q"]) == 2
    assert "device" in capsys.readouterr().err
    after = os.stat(spare_device)
    assert after.st_ino == before.st_ino and after.st_rdev == before.st_rdev
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


# ---- surface files (the draw panel's Load) -----------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_surface_files_are_refused_in_words(tmp_path, kind):
    from simulator.core.drawn import load_surface

    path = make(kind, tmp_path, "surface")
    with _guarded(path):
        with pytest.raises((OSError, ValueError)) as info:
            load_surface(path)
    _in_words(str(info.value))


# ---- the app: Open Session, Open Lab, drag and drop -----------------------------------------
@pytest.fixture
def window(qtbot):
    from simulator.gui.main_window import MainWindow

    w = MainWindow(with_3d=False)
    qtbot.addWidget(w)
    w.session.flush()
    yield w
    w.animator.pause()


def _scene(window) -> str:
    return json.dumps(window.session.to_dict(), sort_keys=True)


def _refused_with_a_box(window, before: str, ok: bool) -> None:
    assert ok is False
    box = window.last_message_box
    assert box is not None and box.isVisible()
    _in_words(box.text() + "\n" + box.informativeText())
    assert _scene(window) == before  # the current scene was kept
    window.last_message_box = None
    box.close()


@pytest.mark.parametrize("kind", KINDS)
def test_open_session_refuses_with_a_message(tmp_path, window, kind):
    path = make(kind, tmp_path, "session")
    before = _scene(window)
    window.last_message_box = None
    with _guarded(path):
        ok = window.open_session_file(str(path))
    _refused_with_a_box(window, before, ok)


@pytest.mark.parametrize("kind", KINDS)
def test_open_lab_file_refuses_with_a_message(tmp_path, window, kind):
    from simulator.gui import lab_dialogs

    path = make(kind, tmp_path, "lab")
    before = _scene(window)
    window.last_message_box = None
    with _guarded(path):
        ok = lab_dialogs.open_lab_ref(window, str(path))
    _refused_with_a_box(window, before, ok)


@pytest.mark.parametrize("flavour", ["lab", "session"])
@pytest.mark.parametrize("kind", KINDS)
def test_drop_refuses_with_a_message(tmp_path, window, kind, flavour):
    from simulator.gui import lab_dialogs

    path = make(kind, tmp_path, flavour)
    before = _scene(window)
    window.last_message_box = None
    with _guarded(path):
        ok = lab_dialogs.drop_file(window, str(path))
    _refused_with_a_box(window, before, ok)


def test_open_session_names_its_cap(tmp_path, window):
    path = make("too-big", tmp_path, "session")
    assert window.open_session_file(str(path)) is False
    assert "at most 20 MB" in window.last_message_box.informativeText()


def test_nested_session_gets_a_message_box_not_a_recursion_error(tmp_path, window):
    path = make("nested-list", tmp_path, "session")
    assert window.open_session_file(str(path)) is False
    assert "nested too deeply" in window.last_message_box.text()


def test_a_dropped_nested_session_file_is_refused_as_a_session(tmp_path, window):
    """Too deep to read its format, a dropped ``.losslab.json`` is named as the session
    it is meant to be, not as "not a lab"."""
    from simulator.gui import lab_dialogs

    path = tmp_path / "deep.losslab.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    before = _scene(window)
    window.last_message_box = None
    assert lab_dialogs.drop_file(window, str(path)) is False
    box = window.last_message_box
    assert "is not a LossLab session: its JSON is nested too deeply" in box.text()
    assert "not a lab" not in box.text()
    assert _scene(window) == before
    box.close()


def test_a_good_session_and_lab_still_open(tmp_path, window):
    from simulator.gui import lab_dialogs

    s = tmp_path / "good.losslab.json"
    s.write_text(json.dumps(_session_dict()))
    assert window.open_session_file(str(s)) is True
    lab = tmp_path / "good.json"
    lab.write_text(json.dumps(_lab_dict()))
    assert lab_dialogs.drop_file(window, str(lab)) is True
    assert lab_dialogs.drop_file(window, str(s)) is True


def test_lane_names_in_a_session_are_capped(window):
    from simulator.gui.session import MAX_LANE_NAME

    d = window.session.to_dict()
    d["lanes"][0]["name"] = "L" * (MAX_LANE_NAME + 1)
    with pytest.raises(ValueError, match=f"at most {MAX_LANE_NAME} characters"):
        window.session.load_dict(d)
    d["lanes"][0]["name"] = "L" * MAX_LANE_NAME
    window.session.load_dict(d)
    assert window.session.lanes[0].name == "L" * MAX_LANE_NAME
    # a copy of a lane with the longest name still loads (its " 2" fits in the cap)
    window.session.duplicate_lane(0)
    names = [lane.name for lane in window.session.lanes]
    assert all(len(n) <= MAX_LANE_NAME for n in names) and len(set(names)) == len(names)
    window.session.load_dict(window.session.to_dict())
