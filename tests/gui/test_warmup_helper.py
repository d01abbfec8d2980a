"""The app's warm-up helper process: started on a first start, gone when the app quits.

The app runs in a fresh process (its own empty numba cache and HOME, as on a new
machine): it must start a ``losslab prepare --helper`` child for its warm-up, and when
the user quits while that child is still compiling, the child is stopped and reaped
before the app's ``main`` returns (no orphan left compiling, no zombie).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

APP = """
import json, os, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
import simulator.gui.app as app_mod


def children():
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                state, ppid = f.read().rsplit(")", 1)[1].split()[:2]
            if int(ppid) != me:
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = [c.decode() for c in f.read().split(b"\\0") if c]
            out.append({"pid": int(d), "state": state, "cmd": cmd})
        except (OSError, ValueError):
            pass
    return out


found = {}
t0 = time.monotonic()
start_warmup = app_mod.start_warmup


def patched(win, state):
    start_warmup(win, state)

    def poll():
        helpers = [c for c in children() if "--helper" in c["cmd"]]
        if helpers:
            found.update(helpers[0])
            QTimer.singleShot(1500, quit_now)  # let it get into its first compile
        elif time.monotonic() - t0 > 240:
            QApplication.quit()  # no helper: the test fails
        else:
            QTimer.singleShot(20, poll)

    def quit_now():
        warm = state["warmup"]
        found["warming_up_at_quit"] = warm.isRunning()
        found["alive_at_quit"] = [c["state"] for c in children() if c["pid"] == found["pid"]]
        QApplication.quit()

    poll()


app_mod.start_warmup = patched
code = app_mod.main(["losslab"])
print(json.dumps({"code": code, "helper": found, "left": children(),
                  "exists": os.path.exists(f"/proc/{found.get('pid', 0)}")}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_quitting_stops_and_reaps_the_warmup_helper(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               QT_QPA_PLATFORM="offscreen")
    for k in ("LOSSLAB_INTERIM", "LOSSLAB_WARMUP_HELPER"):
        env.pop(k, None)  # the app as a user starts it
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: the app starts no helper")
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(APP)], env=env,
                       capture_output=True, text=True, timeout=900, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    helper = out["helper"]
    assert helper.get("cmd", [])[-2:] == ["prepare", "--helper"], out
    assert helper["warming_up_at_quit"] and helper["alive_at_quit"] in (["R"], ["S"], ["D"])
    assert out["code"] == 0
    assert out["left"] == [] and not out["exists"]  # stopped and reaped: not even a zombie
