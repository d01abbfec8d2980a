"""The app gives free heap back to the system (simulator/gui/memory.py)."""

from __future__ import annotations

import pytest

from simulator.gui import memory

pytestmark = pytest.mark.skipif(not memory._malloc_trim_function(),
                                reason="no glibc malloc_trim on this platform")


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_malloc_trim_gives_back_holes_in_the_heap():
    # 60 MB of 2 kB blocks (below glibc's mmap threshold: they live in the heap), one in
    # 64 kept so the freed ones are holes in the middle that free() alone cannot return
    blocks = [bytearray(2048) for _ in range(30_000)]
    keep = blocks[::64]
    del blocks
    before = _rss_kb()
    memory.malloc_trim()
    after = _rss_kb()
    assert len(keep) == 469
    assert before - after > 20_000, (before, after)  # most of the ~59 MB of holes


def test_the_window_trims_once_a_minute(qtbot, monkeypatch):
    from PySide6.QtWidgets import QWidget

    calls = []
    monkeypatch.setattr(memory, "malloc_trim", lambda: calls.append(1) or True)
    parent = QWidget()
    qtbot.addWidget(parent)
    timer = memory.install_heap_trim(parent)
    assert timer is not None and timer.isActive() and timer.parent() is parent
    assert timer.interval() == memory.TRIM_INTERVAL_MS == 60_000
    timer.timeout.emit()
    assert calls == [1]

