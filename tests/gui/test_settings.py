"""The typed QSettings wrapper: defaults, corrupt values, groups, isolation."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from simulator.gui import settings as st
from simulator.gui.settings import Settings


def test_defaults_when_missing(qtbot):
    s = Settings("panel")
    assert s.get_bool("b", True) is True
    assert s.get_int("i", 7) == 7
    assert s.get_float("f", 0.5) == 0.5
    assert s.get_str("t", "x") == "x"
    assert s.get_str_list("l") == []
    assert s.get_bytes("g") is None
    assert s.get_json("j", {"a": 1}) == {"a": 1}
    assert not s.contains("b")


def test_round_trip_through_a_new_object(qtbot):
    s = Settings("panel")
    s.set("b", False)
    s.set("i", 42)
    s.set("f", 0.25)
    s.set("t", "dark")
    s.set("l", ["a", "b"])
    s.set("g", QByteArray(b"\x00\x01"))
    s.set_json("j", {"lanes": [1, 2]})
    s.sync()
    t = Settings("panel")
    assert t.get_bool("b", True) is False
    assert t.get_int("i", 0) == 42
    assert t.get_float("f", 0.0) == 0.25
    assert t.get_str("t", "", choices=("light", "dark")) == "dark"
    assert t.get_str_list("l") == ["a", "b"]
    assert bytes(t.get_bytes("g")) == b"\x00\x01"
    assert t.get_json("j") == {"lanes": [1, 2]}


def test_corrupt_values_fall_back_to_defaults(qtbot):
    s = Settings("panel")
    s.set("i", "twelve")
    s.set("f", "nan")
    s.set("b", "maybe")
    s.set("t", "purple")
    s.set("j", "{not json")
    s.set("range", 500)
    assert s.get_int("i", 3) == 3
    assert s.get_float("f", 1.5) == 1.5
    assert s.get_bool("b", True) is True
    assert s.get_str("t", "system", choices=("system", "light", "dark")) == "system"
    assert s.get_json("j", None) is None
    assert s.get_int("range", 10, lo=0, hi=100) == 10
    assert s.get_bytes("t") is None


def test_corrupt_settings_file_is_survivable(qtbot):
    path = Path(Settings().file_name())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xfe garbage [[[ = = \x00\n[window]\ngeometry=@ByteArray(\n")
    s = Settings(st.WINDOW)
    assert s.get_str(st.KEY_THEME, "system") == "system"
    assert s.get_int("x", 5) == 5


def test_groups_are_separate_and_removable(qtbot):
    a = Settings("a")
    b = Settings("b")
    a.set("k", 1)
    b.set("k", 2)
    assert a.get_int("k", 0) == 1 and b.get_int("k", 0) == 2
    child = a.group("child")
    assert child.prefix == "a/child"
    child.set("k", 3)
    assert Settings("a/child").get_int("k", 0) == 3
    a.remove()
    assert a.get_int("k", 0) == 0 and child.get_int("k", 0) == 0
    assert b.get_int("k", 0) == 2


def test_settings_live_in_the_test_folder(qt_isolation, qtbot):
    fname = Settings().file_name()
    assert fname.startswith(str(qt_isolation))
    assert QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     st.ORGANIZATION, st.APPLICATION).fileName() == fname


def test_isolated_per_test_part1(qtbot):
    Settings("iso").set("marker", "part1")
    assert Settings("iso").get_str("marker", "") == "part1"


def test_isolated_per_test_part2(qtbot):
    assert Settings("iso").get_str("marker", "unset") == "unset"
