"""The warm-up shared with a helper process (``simulator.core.prepare_helper``).

The coordination is tested with a helper in a thread (``FakeHelper``) and plan steps that
record who compiled what: every step is compiled once, by one process; this thread loads
(never compiles) what the helper finished and waits for what it is compiling; a helper
that dies, fails, never starts or answers for another plan leaves the work to this
thread. Then the real thing in fresh processes: a helper compiles a kernel into a
temporary ``NUMBA_CACHE_DIR`` and the parent loads it from there (numba's cache hits).
Nothing here is timed: waits are on events, with generous timeouts against hangs.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from simulator.core.prepare_helper import SplitRun

T = 60  # seconds: only against a hang


def wait_until(cond, timeout=T):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


class Disk:
    """Who compiled which step ("the disk cache"), and what this thread loaded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.compiled: dict[int, list[str]] = {}
        self.loaded: list[int] = []
        self.ran: list[int] = []  # the steps this thread ran, in order

    def compile(self, i, who):
        with self.lock:
            self.compiled.setdefault(i, []).append(who)

    def parent_step(self, i, before=None):
        def fn():
            if before is not None:
                before()
            self.ran.append(i)
            with self.lock:
                on_disk = i in self.compiled
            if on_disk:
                self.loaded.append(i)
            else:
                self.compile(i, "parent")
        return fn


class FakeHelper:
    """A helper process stand-in, on a thread: says hello, runs what it is given."""

    def __init__(self, disk, labels, *, start_error=None, hello=True, wrong_labels=False,
                 on_run=None, cpu=None):
        self.disk = disk
        self.labels = labels
        self.start_error = start_error
        self.hello = hello
        self.wrong_labels = wrong_labels
        self.on_run = on_run or (lambda j: "done")  # "done", "die", "error"
        self.inbox: queue.Queue = queue.Queue()
        self.outbox: queue.Queue = queue.Queue()
        self.given: list[int] = []
        self.closed = False
        self.dead = False
        self.cpu = cpu  # its CPU seconds (None: unknown, as off Linux)

    def start(self, description):
        if self.start_error:
            raise self.start_error
        self.description = description
        threading.Thread(target=self._work, daemon=True).start()

    def _work(self):
        if self.hello:
            labels = self.labels[::-1] if self.wrong_labels else self.labels
            self.outbox.put({"hello": {"labels": labels, "cache": None, "pid": 0}})
        while True:
            msg = self.inbox.get()
            if msg is None or "run" not in msg:
                break
            j = msg["run"]
            self.given.append(j)
            what = self.on_run(j)
            if what == "die":
                break
            if what == "error":
                self.outbox.put({"done": j, "error": "ValueError: no", "compiled": 0})
                continue
            self.disk.compile(j, "helper")
            self.outbox.put({"done": j, "error": None, "compiled": 1})
        self.dead = True
        self.outbox.put(None)  # end of its output

    def send(self, msg):
        if self.dead or self.closed:
            return False
        self.inbox.put(msg)
        return True

    def receive(self):
        while True:
            msg = self.outbox.get()
            if msg is None:
                return
            yield msg

    def cpu_seconds(self):
        return self.cpu

    def close(self, grace=0.0):  # killed: its output ends at once
        self.closed = True
        self.inbox.put(None)
        self.outbox.put(None)


def make(n, disk, before=None):
    before = before or {}
    return [(f"step {i}", disk.parent_step(i, before.get(i))) for i in range(n)]


def run_split(plan, helper, stop=None):
    seen = []
    run = SplitRun(plan, helper, {"plan": "test"}, progress=lambda *a: seen.append(a),
                   stop=stop)
    return run, run.run(), seen


def test_front_and_back_meet_each_step_compiled_once():
    n = 6
    disk = Disk()
    labels = [f"step {i}" for i in range(n)]
    holder = {}

    def helper_runs(j):
        if j == 4:  # the step both reach: finish it only once this thread waits for it
            wait_until(lambda: holder["run"].waiting_for == 4)
        return "done"

    helper = FakeHelper(disk, labels, on_run=helper_runs)
    # this thread's first step lasts until the helper has finished the last step and
    # begun the one before it
    plan = make(n, disk, {0: lambda: wait_until(lambda: helper.given[-1:] == [4])})
    run = SplitRun(plan, helper, {"plan": "test"}, progress=lambda *a: seen.append(a))
    holder["run"] = run
    seen = []
    assert run.run() == []
    assert helper.given == [5, 4]
    assert disk.compiled == {0: ["parent"], 1: ["parent"], 2: ["parent"], 3: ["parent"],
                             4: ["helper"], 5: ["helper"]}  # once each, nothing twice
    assert disk.ran == list(range(n))  # this thread ran every step, in order
    assert disk.loaded == [4, 5] == run.loaded  # the helper's: loaded from the disk
    assert run.helper_compiled == 2 and helper.closed
    done = [i for i, _, _ in seen]
    assert done == sorted(done) and seen[-1] == (n, n, "")
    # both processes shown: this thread's step 0 lasts until the helper is on step 4,
    # which lasts until this thread waits for it, so whichever of the two began later
    # reported both (whether "step 0, step 5" shows too depends on the threads' timing)
    assert "step 0, step 4" in [label for _, _, label in seen]


def test_helper_dies_mid_step_this_thread_compiles_it():
    n = 5
    disk = Disk()
    holder = {}

    def helper_runs(j):
        if j == 3:  # dies while this thread waits for this step
            wait_until(lambda: holder["run"].waiting_for == 3)
            return "die"
        return "done"

    helper = FakeHelper(disk, [f"step {i}" for i in range(n)], on_run=helper_runs)
    plan = make(n, disk, {0: lambda: wait_until(lambda: helper.given[-1:] == [3])})
    run = SplitRun(plan, helper, {"plan": "test"})
    holder["run"] = run
    assert run.run() == []
    assert helper.given == [4, 3]
    assert disk.compiled == {0: ["parent"], 1: ["parent"], 2: ["parent"], 3: ["parent"],
                             4: ["helper"]}
    assert disk.loaded == [4]
    assert not run.helper_alive


def test_a_starved_helper_is_stopped_and_its_step_compiled_here():
    n = 3
    disk = Disk()
    holder = {}
    stuck = threading.Event()

    def helper_runs(j):
        if j == 1:
            stuck.wait(T)  # gets no CPU: never finishes
            return "die"
        return "done"

    helper = FakeHelper(disk, [f"step {i}" for i in range(n)], on_run=helper_runs, cpu=1.5)
    plan = make(n, disk, {0: lambda: wait_until(lambda: helper.given[-1:] == [1])})
    run = SplitRun(plan, helper, {"plan": "test"})
    run.STARVED_AFTER = 0.3
    holder["run"] = run
    try:
        assert run.run() == []
    finally:
        stuck.set()
    assert run.took_over == 1 and helper.closed
    assert disk.compiled == {0: ["parent"], 1: ["parent"], 2: ["helper"]}


def test_a_busy_helper_is_waited_for():
    n = 3
    disk = Disk()
    holder = {}

    def helper_runs(j):
        if j == 1:  # compiling at a full core while this thread waits
            helper.cpu = 0.0
            wait_until(lambda: holder["run"].waiting_for == 1)
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                helper.cpu += 1.0  # a core or more, however slow this machine
                time.sleep(0.05)
        return "done"

    helper = FakeHelper(disk, [f"step {i}" for i in range(n)], on_run=helper_runs)
    plan = make(n, disk, {0: lambda: wait_until(lambda: helper.given[-1:] == [1])})
    run = SplitRun(plan, helper, {"plan": "test"})
    run.STARVED_AFTER = 0.3
    holder["run"] = run
    assert run.run() == []
    assert run.took_over is None
    assert disk.compiled == {0: ["parent"], 1: ["helper"], 2: ["helper"]}


@pytest.mark.parametrize("how", ["cannot start", "never answers", "another plan"])
def test_no_helper_this_thread_compiles_everything(how):
    n = 4
    disk = Disk()
    labels = [f"step {i}" for i in range(n)]
    helper = FakeHelper(disk, labels, start_error=OSError("no such command")
                        if how == "cannot start" else None,
                        hello=how != "never answers", wrong_labels=how == "another plan")
    run, failures, seen = run_split(make(n, disk), helper)
    assert failures == []
    assert disk.compiled == {i: ["parent"] for i in range(n)}
    assert disk.ran == list(range(n)) and disk.loaded == [] and helper.given == []
    assert seen[-1] == (n, n, "")
    if how != "cannot start":
        assert helper.closed  # stopped, not left running


def test_a_step_the_helper_fails_runs_here_and_its_error_is_reported_once():
    n = 3
    disk = Disk()
    helper = FakeHelper(disk, [f"step {i}" for i in range(n)],
                        on_run=lambda j: "error" if j == 2 else "done")

    def fails():
        raise ValueError("no")

    plan = make(n, disk, {0: lambda: wait_until(lambda: 2 in helper.given)})
    plan[2] = ("step 2", fails)
    run, failures, _ = run_split(plan, helper)
    assert failures == [("step 2", "ValueError: no")]
    assert helper.given.count(2) == 1  # not given to it again


def test_stop_while_waiting_for_the_helper_returns_and_stops_it():
    n = 3
    disk = Disk()
    stopping = threading.Event()
    release = threading.Event()
    holder = {}

    def helper_runs(j):
        if j == 1:
            wait_until(lambda: holder["run"].waiting_for == 1)
            stopping.set()  # the app quits while the helper compiles
            release.wait(T)
        return "done"

    helper = FakeHelper(disk, [f"step {i}" for i in range(n)], on_run=helper_runs)
    plan = make(n, disk, {0: lambda: wait_until(lambda: helper.given[-1:] == [1])})
    run = SplitRun(plan, helper, {"plan": "test"}, stop=stopping.is_set)
    holder["run"] = run
    run.run()
    release.set()
    assert helper.closed and disk.ran == [0]


def test_no_helper_on_one_core_without_a_writable_cache_or_when_turned_off(monkeypatch,
                                                                         tmp_path):
    import simulator.core.prepare_helper as ph

    folder = tmp_path / "numba"
    folder.mkdir()
    monkeypatch.setattr(ph, "usable_cores", lambda: 2)
    monkeypatch.setattr(ph, "kernel_cache_folder", lambda: str(folder))
    monkeypatch.delenv(ph.ENV_SWITCH, raising=False)
    assert ph.split_possible() is None
    cases = [
        ("one core", lambda m: m.setattr(ph, "usable_cores", lambda: 1)),
        ("no writable kernel cache", lambda m: m.setattr(
            ph, "kernel_cache_folder", lambda: str(tmp_path / "missing"))),
        ("no writable kernel cache", lambda m: m.setattr(
            ph, "kernel_cache_folder", lambda: None)),  # numba caches nothing on disk
        ("LOSSLAB_WARMUP_HELPER=0", lambda m: m.setenv(ph.ENV_SWITCH, "0")),
    ]
    for why, make_it_so in cases:
        with monkeypatch.context() as m:
            make_it_so(m)
            assert ph.split_possible() == why
            disk = Disk()
            helper = FakeHelper(disk, ["step 0", "step 1"])
            seen = []
            failures = ph.run_plan_split(make(2, disk), {"plan": "warmup"},
                                         progress=lambda *a, seen=seen: seen.append(a),
                                         helper=helper)
            assert failures == [] and disk.compiled == {0: ["parent"], 1: ["parent"]}
            assert not hasattr(helper, "description")  # never started
            assert [i for i, _, _ in seen] == [0, 1, 2]  # run_plan's progress


# ---- the plan's description ------------------------------------------------------------------
def test_the_description_rebuilds_the_same_plan():
    import simulator as sim
    from simulator.core.drawn import drawn_surface
    from simulator.core.prepare import plan_description, plan_from_description, warmup_plan

    scenes = [
        (None, []),
        (sim.get_surface("himmelblau"), [sim.SGD(momentum=0.9), sim.Adam(), sim.LBFGS()]),
        (sim.surface_from_expression("x**2 + 3*y**2"), [sim.RMSprop()]),
        (drawn_surface(sim.get_surface("quadratic"), [[0.0, 0.0, -1.0, 0.5]]), [sim.Adam()]),
        (sim.network("moons", hidden=(3,)), [sim.Adam(), sim.Newton()]),
    ]
    for surface, opts in scenes:
        d = json.loads(json.dumps(plan_description(surface, opts)))
        assert [lb for lb, _ in plan_from_description(d)] == \
            [lb for lb, _ in warmup_plan(surface, opts)]
    full = plan_from_description(plan_description(full=True))
    assert len(full) > 10
    some = plan_description(None, [], steps=["the map", "1-D curves"])
    assert [lb for lb, _ in plan_from_description(some)] == ["the map", "1-D curves"]
    f = sim.surface_from_function(lambda x, y: x * x + y * y,
                                  grad=lambda x, y: (2 * x, 2 * y), name="f")
    assert plan_description(f, []) is None  # Python code: this process only
    with pytest.raises(ValueError):
        plan_from_description({"plan": "nothing"})


def test_a_plateau_lanes_plan_warms_its_own_kernels(monkeypatch):
    # a ReduceLROnPlateau lane's runs and maps have their own kernels (kernels.loops
    # PLAT): the warm-up compiles those for it, not the plain ones, in this process and
    # in the helper alike (the description carries the schedule)
    import simulator as sim
    from simulator.core import engine
    from simulator.core.kernels import loops
    from simulator.core.prepare import plan_description, plan_from_description, run_plan

    s = sim.get_surface("mccormick")
    opts = [sim.Adagrad(lr=0.5), sim.RMSprop()]
    sched = sim.ReduceLROnPlateau(patience=3)
    d = json.loads(json.dumps(plan_description(s, opts, schedules=[sched, sim.StepLR()])))
    assert d["schedules"] == [sched.to_dict(), None]  # what changes the plan only
    assert "schedules" not in plan_description(s, opts, schedules=[None, sim.StepLR()])
    maps = []
    monkeypatch.setattr(engine, "simulate_batch",
                        lambda surface, opt, starts, steps, schedule=None: maps.append(
                            (type(opt), type(schedule))))
    plan = dict(plan_from_description(d))
    assert run_plan([("the lanes", plan["the lanes"])]) == []
    key = (sim.Adagrad.oid,) + loops.surface_key(s.spec)
    assert loops.is_ready("run_trajectory_plateau", key)
    assert not loops.is_ready("run_trajectory", key)
    assert loops.is_ready("run_trajectory", (sim.RMSprop.oid,) + loops.surface_key(s.spec))
    plan["the explorer's maps"]()
    assert (sim.Adagrad, sim.ReduceLROnPlateau) in maps  # run_runs_plateau
    assert (sim.RMSprop, type(None)) not in maps  # a batch kernel, warmed by SGD and Adam's


# ---- numba's cache index, saved by two writers at once --------------------------------------
def test_two_writers_of_one_index_keep_both_entries(tmp_path):
    from numba.core.caching import IndexDataCacheFile

    import simulator.core.kernels  # noqa: F401 - installs the lock

    def cache_file():
        return IndexDataCacheFile(str(tmp_path), "loops.kernel-10.py311", "stamp")

    a, b = cache_file(), cache_file()
    a_read, b_read = threading.Event(), threading.Event()
    real = IndexDataCacheFile._load_index

    def a_load(self=a):
        out = real(self)
        a_read.set()
        b_read.wait(1.0)  # unlocked, b reads the same old index meanwhile
        return out

    def b_load(self=b):
        out = real(self)
        b_read.set()
        return out

    a._load_index, b._load_index = a_load, b_load
    ta = threading.Thread(target=a.save, args=(("sig", "A"), "kernel A"))
    ta.start()
    assert a_read.wait(T)
    b.save(("sig", "B"), "kernel B")
    ta.join(T)
    # each key names its own code (without the lock: one entry lost, or both on file 1)
    fresh = cache_file()
    assert fresh.load(("sig", "A")) == "kernel A"
    assert fresh.load(("sig", "B")) == "kernel B"


# ---- the real helper process -------------------------------------------------------------------
PARENT = """
import json, time
from simulator.core.kernels import loops
from simulator.core.library import get_surface
from simulator.core.optimizers import SGD
from simulator.core.prepare import plan_description, plan_from_description
from simulator.core.prepare_helper import (HELPER_DONE, HelperProcess, SplitRun,
                                           kernel_cache_folder)

desc = plan_description(get_surface("himmelblau"), [SGD()], steps=["the map", "the lanes"])
plan = plan_from_description(desc)
holder = {}

def first():
    # let the helper finish the last step first, so that the test does not depend on
    # which process is faster
    end = time.monotonic() + 240
    while holder["run"].state[1] != HELPER_DONE and holder["run"].helper_alive \\
            and time.monotonic() < end:
        time.sleep(0.05)
    plan[0][1]()

helper = HelperProcess()
run = SplitRun([("the map", first), plan[1]], helper, desc,
               cache_folder=kernel_cache_folder())
holder["run"] = run
failures = run.run()
ks = [(name, k) for (name, key), k in loops._kernels.items() if name == "run_trajectory"]
print(json.dumps({
    "failures": failures, "loaded": run.loaded, "helper_compiled": run.helper_compiled,
    "helper_pid": helper.pid, "helper_returncode": helper.proc.returncode,
    "hits": [sum(k.stats.cache_hits.values()) for _, k in ks],
    "misses": [sum(k.stats.cache_misses.values()) for _, k in ks],
}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="fork of the test's Python")
def test_the_helper_compiles_into_the_cache_and_the_parent_loads_it(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), LOSSLAB_INTERIM="0")
    env.pop("LOSSLAB_WARMUP_HELPER", None)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(PARENT)], env=env,
                       capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["failures"] == []
    assert out["loaded"] == [1]  # the helper's step
    assert out["helper_compiled"] >= 1  # it compiled the trajectory kernel ...
    assert out["hits"] == [1] and out["misses"] == [0]  # ... which the parent loaded
    assert out["helper_returncode"] is not None  # ended and reaped
