"""The warm-up in two processes: this one from the front of the plan, a helper from the back.

numba compiles one function at a time per process (a global compiler lock, with the GIL
held for much of it), so a warm-up on one thread leaves a second core idle. ``SplitRun``
runs a plan (``simulator.core.prepare``) on the calling thread from its first step on,
while a helper process (``losslab prepare --helper``: ``helper_command``) compiles steps
of the same plan from the last one backwards into the same on-disk numba cache. When
this thread reaches a step the helper has finished, running it only loads its kernels
from the disk cache (milliseconds); where it meets the step the helper is compiling, it
waits for it rather than compiling it a second time (unless the helper is starved of
CPU meanwhile, its lowered priority on a busy machine: then it is stopped and the step
compiled here, see ``SplitRun._claim``). Steps are handed out one at a time by this
process, under one lock, so no step is ever given to both.

The helper rebuilds the plan from its description (``plan_description``, JSON: the
scene's surface and optimizers, or the full plan): a plan's callables cannot cross
processes. Its first answer names the plan's labels and its numba cache folder; if
either differs from this process's (another ``simulator`` on its path, another
``NUMBA_CACHE_DIR``), it is stopped and this thread compiles everything, as it does when
the helper cannot start (a frozen build without the command), dies (its steps go back
to this thread, a step it was compiling included) or fails a step (this thread runs that
step and reports the error). ``split_possible`` says when not to start one at all: one
core, a cache folder that cannot be written, ``LOSSLAB_WARMUP_HELPER=0``.

The helper lowers its priority (``HELPER_NICE``), ends when its standard input closes or
(Linux) when the thread that started it ends, and is killed and reaped by ``close``.

Protocol, one JSON object a line. To the helper: ``{"plan": DESCRIPTION, "parent": PID}``,
then ``{"run": INDEX}`` for each step given to it, then ``{"quit": true}`` (or end of
input). From it: ``{"hello": {"labels": [...], "cache": FOLDER, "pid": PID}}``, then
``{"done": INDEX, "error": null or TEXT, "compiled": N}`` for each step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

HELPER_NICE = 10  # the GUI (and the app's own warm-up thread) come first
ENV_SWITCH = "LOSSLAB_WARMUP_HELPER"  # "0": one process, as before

TODO, OURS, HELPER, HELPER_DONE, DONE = "todo", "ours", "helper", "helper done", "done"


def helper_command() -> list[str]:
    """The helper process's command: the frozen app's binary is ``losslab`` itself."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "prepare", "--helper"]
    return [sys.executable, "-m", "simulator", "prepare", "--helper"]


def kernel_cache_folder() -> str | None:
    """The folder numba saves LossLab's kernels in, in this process (``NUMBA_CACHE_DIR``'s
    subfolder, the ``__pycache__`` beside the sources, numba's user-wide folder or the
    standalone build's); None when they are not cached on disk."""
    from .kernels import loops

    for obj in vars(loops).values():
        cache = getattr(obj, "_cache", None)
        path = getattr(cache, "cache_path", None)
        if path and getattr(obj, "py_func", None) is not None:
            return os.path.realpath(path)
    return None


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def split_possible() -> str | None:
    """None when a helper process may share the warm-up, else why not."""
    if os.environ.get(ENV_SWITCH, "1").strip() == "0":
        return f"{ENV_SWITCH}=0"
    if usable_cores() < 2:
        return "one core"
    folder = kernel_cache_folder()
    if folder is None or not os.access(folder, os.W_OK | os.X_OK):
        return "no writable kernel cache"
    return None


class HelperProcess:
    """The helper: a ``losslab prepare --helper`` child process, spoken to in JSON lines."""

    def __init__(self, command: list[str] | None = None, env: dict | None = None) -> None:
        self.command = helper_command() if command is None else command
        self.env = env
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self, description: dict) -> None:
        """Start it and send the plan's description; OSError if it cannot start."""
        self.proc = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", bufsize=1,
            env=self.env, close_fds=True)
        if not self.send({"plan": description, "parent": os.getpid()}):
            self.close()
            raise OSError("the helper process closed its input at once")

    def send(self, msg: dict) -> bool:
        with self._lock:
            p = self.proc
            if p is None or p.stdin is None or p.stdin.closed:
                return False
            try:
                p.stdin.write(json.dumps(msg) + "\n")
                p.stdin.flush()
                return True
            except (OSError, ValueError):
                return False

    def receive(self) -> Iterator[dict]:
        """Its messages until it ends (then it is reaped)."""
        p = self.proc
        if p is None or p.stdout is None:
            return
        try:
            for line in p.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not ours (a library's print)
                if isinstance(msg, dict):
                    yield msg
        except (OSError, ValueError):
            pass
        self.close()
        try:
            p.stdout.close()
        except OSError:
            pass

    def cpu_seconds(self) -> float | None:
        """Its CPU time so far (Linux, from ``/proc``); None where it cannot be read."""
        p = self.proc
        if p is None or not sys.platform.startswith("linux"):
            return None
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def close(self, grace: float = 0.0) -> None:
        """Close its input (it ends after its current step) and, if it is still running
        after ``grace`` seconds, stop it (a compile under way is lost, never half-saved:
        numba writes each cache file under a temporary name); then reap it."""
        with self._lock:
            p = self.proc
            if p is None:
                return
            try:
                if p.stdin is not None:
                    p.stdin.close()
            except OSError:
                pass
            if grace > 0:
                try:
                    p.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                except OSError:
                    pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


class SplitRun:
    """Run ``plan`` on this thread from the front while ``helper`` compiles it from the
    back (see the module docstring); ``run`` returns the failures as ``run_plan`` does.

    ``progress(done, n, label)``: ``done`` steps finished by either process, ``label``
    what is being compiled now (both processes' steps, comma-separated); called when a
    step starts or the helper finishes one, and ``(n, n, "")`` at the end."""

    STARVED_AFTER = 3.0  # seconds of waiting for the helper before judging its progress
    STARVED_SHARE = 0.25  # of a core: less, and this thread compiles the step itself

    def __init__(self, plan, helper, description: dict,
                 progress: Callable[[int, int, str], None] | None = None,
                 stop: Callable[[], bool] | None = None,
                 cache_folder: str | None = None) -> None:
        self.plan = plan
        self.labels = [label for label, _ in plan]
        self.helper = helper
        self.description = description
        self.progress = progress
        self.stop = stop or (lambda: False)
        self.cache_folder = cache_folder
        self.state = [TODO] * len(plan)
        self.ours_only: set[int] = set()  # a step the helper failed: this thread runs it
        self.loaded: list[int] = []  # steps this thread found done by the helper
        self.helper_compiled = 0
        self.waiting_for: int | None = None  # the helper's step this thread waits for
        self.took_over: int | None = None  # the step a starved helper was stopped on
        self.helper_ready = False
        self.helper_alive = False
        self._cond = threading.Condition()
        self._emit_lock = threading.Lock()
        self._ours: str | None = None
        self._theirs: str | None = None

    # ---- this thread ------------------------------------------------------------------
    def run(self) -> list[tuple[str, str]]:
        from .kernels import loops

        reader = None
        try:
            self.helper.start(self.description)
            self.helper_alive = True
        except (OSError, ValueError, subprocess.SubprocessError):
            self.helper_alive = False
        if self.helper_alive:
            reader = threading.Thread(target=self._read, name="losslab-warmup-helper",
                                      daemon=True)
            reader.start()
        failures = []
        n = len(self.plan)
        try:
            with loops.compiled_only():
                for i, (label, fn) in enumerate(self.plan):
                    if not self._claim(i):
                        break
                    self._emit()
                    try:
                        fn()
                    except Exception as e:  # noqa: BLE001 - reported; the rest still compiles
                        failures.append((label, f"{type(e).__name__}: {e}"))
                    with self._cond:
                        self.state[i] = DONE
                        self._ours = None
        finally:
            # at the end it was told to quit (nothing was left for it); asked to stop: now
            self.helper.close(grace=0.0 if self.stop() else 2.0)
            if reader is not None:
                reader.join(timeout=15)
        if self.progress is not None:
            self.progress(n, n, "")
        return failures

    def _claim(self, i: int) -> bool:
        """Take step ``i``, or wait while the helper compiles it; False: asked to stop.

        A helper that gets almost no CPU meanwhile (less than ``STARVED_SHARE`` of a core
        over ``STARVED_AFTER`` seconds: its lowered priority on a busy machine) is
        stopped, and its step comes back here: waiting for it could take minutes."""
        t0 = cpu0 = None
        while True:
            with self._cond:
                if self.stop():
                    self.waiting_for = None
                    return False
                if self.state[i] != HELPER:
                    self.waiting_for = None
                    if self.state[i] == HELPER_DONE:
                        self.loaded.append(i)
                    self.state[i] = OURS
                    self._ours = self.labels[i]
                    return True
                self.waiting_for = i
                self._cond.wait(0.1)
            cpu = getattr(self.helper, "cpu_seconds", lambda: None)()
            now = time.monotonic()
            if cpu is None or cpu0 is None:
                t0, cpu0 = now, cpu
            elif now - t0 >= self.STARVED_AFTER:
                if (cpu - cpu0) / (now - t0) < self.STARVED_SHARE:
                    self.took_over = i
                    self.helper.close()  # the reader sees it end: the step is ours
                t0, cpu0 = now, cpu

    def close(self) -> None:
        """Stop the helper now (the app quits; or the plan is done)."""
        self.helper.close()

    # ---- the helper's messages (a thread of their own) ------------------------------------
    def _read(self) -> None:
        for msg in self.helper.receive():
            if "hello" in msg:
                hello = msg["hello"] if isinstance(msg["hello"], dict) else {}
                same = hello.get("labels") == self.labels and (
                    self.cache_folder is None or hello.get("cache") == self.cache_folder)
                if not same:
                    break  # another plan or another cache: no use
                self.helper_ready = True
                self._give()
            elif "done" in msg:
                j = msg.get("done")
                with self._cond:
                    if not (isinstance(j, int) and 0 <= j < len(self.state)
                            and self.state[j] == HELPER):
                        continue
                    if msg.get("error"):
                        self.state[j] = TODO  # this thread runs it and reports the error
                        self.ours_only.add(j)
                    else:
                        self.state[j] = HELPER_DONE
                        self.helper_compiled += int(msg.get("compiled") or 0)
                    self._theirs = None
                    self._cond.notify_all()
                self._give()
        self.helper.close()
        with self._cond:
            self.helper_alive = False
            self._theirs = None
            for j, s in enumerate(self.state):
                if s == HELPER:
                    self.state[j] = TODO  # it died on it: this thread compiles it
            self._cond.notify_all()
        self._emit()

    def _give(self) -> None:
        """Hand the helper the last step nobody has taken, or tell it to quit."""
        with self._cond:
            free = [j for j, s in enumerate(self.state) if s == TODO and j not in self.ours_only]
            if not free or self.stop():
                self.helper.send({"quit": True})
                return
            j = free[-1]
            self.state[j] = HELPER
            self._theirs = self.labels[j]
            if not self.helper.send({"run": j}):
                self.state[j] = TODO
                self._theirs = None
                return
        self._emit()

    def _emit(self) -> None:
        if self.progress is None:
            return
        with self._emit_lock:
            with self._cond:
                done = sum(s in (DONE, HELPER_DONE) for s in self.state)
                label = ", ".join(x for x in (self._ours, self._theirs) if x)
            if done < len(self.state):
                self.progress(done, len(self.state), label)


def run_plan_split(plan, description: dict | None,
                   progress: Callable[[int, int, str], None] | None = None,
                   stop: Callable[[], bool] | None = None,
                   helper=None) -> list[tuple[str, str]]:
    """``run_plan``, shared with a helper process when one can be used (a description,
    ``split_possible``); else on this thread alone, exactly as ``run_plan``. ``helper``:
    the ``HelperProcess()`` to use (its owner may ``close`` it: the app quits)."""
    from .prepare import run_plan

    if description is None or split_possible() is not None:
        return run_plan(plan, progress=progress, stop=stop)
    run = SplitRun(plan, HelperProcess() if helper is None else helper, description,
                   progress=progress, stop=stop, cache_folder=kernel_cache_folder())
    return run.run()


# ---- the helper's side: losslab prepare --helper ------------------------------------------
def _die_with_parent(parent: int | None) -> None:
    """Linux: be sent SIGTERM when the thread that started us ends (a crashed app)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent and os.getppid() != parent:
        raise SystemExit(0)  # it ended before the line above


def helper_main(inp=None, out=None) -> int:
    """The helper process: read the plan's description, say hello, then run each step it
    is given (compiling into the disk cache) and say when it is done."""
    from .kernels import loops
    from .prepare import plan_from_description

    inp = sys.stdin if inp is None else inp
    out = sys.stdout if out is None else out

    def say(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    try:
        os.nice(HELPER_NICE)
    except (AttributeError, OSError):
        pass
    try:
        first = json.loads(inp.readline() or "null")
        if not isinstance(first, dict):
            return 2
        _die_with_parent(first.get("parent"))
        plan = plan_from_description(first.get("plan"))
        say({"hello": {"labels": [label for label, _ in plan],
                       "cache": kernel_cache_folder(), "pid": os.getpid()}})
        with loops.compiled_only():
            for line in inp:
                msg = json.loads(line)
                j = msg.get("run") if isinstance(msg, dict) else None
                if not isinstance(j, int) or not 0 <= j < len(plan):
                    break
                before = sum(not e["cached"] for e in loops.compile_log)
                try:
                    plan[j][1]()
                    error = None
                except Exception as e:  # noqa: BLE001 - the app runs the step and reports it
                    error = f"{type(e).__name__}: {e}"
                compiled = sum(not e["cached"] for e in loops.compile_log) - before
                say({"done": j, "error": error, "compiled": compiled})
    except (KeyboardInterrupt, BrokenPipeError):
        return 130
    except ValueError:
        return 2
    return 0
