"""The compiled kernels: evaluation over many points, one trajectory, many trajectories.

``eval_points``, ``run_trajectory`` and ``run_batch`` are the only entry points the rest
of LossLab calls (through ``engine`` and ``surface``). Each picks a kernel *specialised*
for what it is asked to run and calls it:

* ``eval_points``: one kernel per surface kind (a built-in surface id, the formula
  machine, the flat base or a data loss) and whether drawn bumps are added;
* ``run_trajectory`` and ``run_batch``: one per optimizer and surface kind;
  ``run_trajectory`` (and ``run_runs``) another for runs under a ReduceLROnPlateau
  (``*_plateau``: the other kernels do not compile its step).

Compile time is a budget like run time. One kernel for every optimizer and every surface
took 57 s of CPU (trajectories and evaluation) and 65 s (batches) to compile on a 2-core
machine; a specialised kernel holds one optimizer's update and one surface's formulas and
compiles in under a second (a batch kernel in 3-5 s), and a session compiles only what
it uses. Each specialisation is made
by a factory (``_make_*``) whose constants (``OID``, ``SID``, ``BUMPS``) are closure
values, so numba caches every one on disk under its own key (``cache=True``). The
operations, and so the results, are those of the generic code in ``field`` and ``optim``.

``compile_log`` records the first call of every specialisation in this process (wall and
CPU seconds, and whether it came from the disk cache), for ``bench/bench_startup.py`` and the app's
progress messages.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time

import numpy as np

from ._jit import INTERPRETED, errors, njit, overload, types
from .field import SID_EXPR, SID_LINREG, block_fg, data_fgh, data_loss, point_fg, point_fgh
from .lbfgs import C1, C2, cubic_interpolate, pymax, pymin
from .optim import (
    O_ADAM,
    O_LBFGS,
    O_NEWTON,
    coefs_for,
    coord_for,
    hp_tuple,
    initial_slot0,
    newton_step,
)
from .rng import normal_pair, permutation
from .surfaces import S_ROSENBROCK, rosenbrock_fg

BLOCK = 256
_JIT = dict(cache=True, nogil=True, error_model="numpy")
_INLINE = dict(_JIT, inline="always")


# ---- specialisation keys -----------------------------------------------------------------
def surface_key(spec) -> tuple[int, int]:
    """``(SID, BUMPS)``: the surface kind a kernel is specialised for."""
    return int(spec[0]), 1 if spec[6].shape[0] > 0 else 0


_kernels: dict = {}
_lock = threading.RLock()
compile_log: list[dict] = []  # first call of each specialisation in this process


def _kernel(name: str, factory, key: tuple):
    """The specialised kernel ``name`` for ``key``, made once per process."""
    k = _kernels.get((name, key))
    if k is None:
        with _lock:
            k = _kernels.get((name, key))
            if k is None:
                k = factory(*key)
                _kernels[(name, key)] = k
    return k


def _call(name: str, key: tuple, k, *args):
    """Call kernel ``k``; the first call (compile or cache load) is timed into the log."""
    if INTERPRETED or k.signatures:
        return k(*args)
    t0 = time.perf_counter()
    c0 = time.thread_time()
    out = k(*args)
    compile_log.append({
        "kernel": name, "key": key, "seconds": time.perf_counter() - t0,
        "cpu": time.thread_time() - c0, "cached": bool(k.stats.cache_hits),
    })
    return out


def batch_ready(spec, oid) -> bool:
    """Whether ``run_batch`` for this surface spec and optimizer id is compiled in this
    process (else its first call compiles it, or loads it from the disk cache)."""
    return is_ready("run_batch", (int(oid),) + surface_key(spec))


def is_ready(name: str, key: tuple) -> bool:
    """Whether kernel ``name`` for ``key`` is compiled (or loaded) in this process."""
    k = _kernels.get((name, key))
    return k is not None and bool(k.signatures)


# ---- interim runs and compiling in the background -----------------------------------------
# While a kernel is neither compiled nor in the disk cache, a small job runs in the
# interpreter (``interp``: the same source, the same results) and the kernel is compiled
# on a background thread; a large job, or one that raises in Python (1/0, exp(1000)...),
# waits for the compiler.
INTERIM_WORK = 200_000  # points, or particle-steps, that the interpreter takes on at most
_interim = os.environ.get("LOSSLAB_INTERIM", "1").strip() != "0"  # 0: always compile
_queue: list = []
_queued: set = set()
_worker = None
_current = None  # what the background compiler is compiling now
_cond = threading.Condition(_lock)


_tls = threading.local()


class compiled_only:  # noqa: N801 - used as a function-like context manager
    """``with compiled_only():`` calls on this thread compile (or load) their kernels
    and never run interpreted: for warm-up threads and benchmarks."""

    def __enter__(self):
        self._prev = getattr(_tls, "compiled_only", False)
        _tls.compiled_only = True
        return self

    def __exit__(self, *exc):
        _tls.compiled_only = self._prev
        return False


def _signature(k, args):
    return tuple(k.typeof_pyval(a) for a in args)


def _load_cached(k, sig) -> bool:
    """Load ``k`` for ``sig`` from numba's disk cache if it is there; never compiles."""
    if k.signatures:
        return True
    try:
        from numba.core.compiler_lock import global_compiler_lock

        # never wait for the background compiler: while it holds the lock, say "not
        # loaded" (the interpreter runs this job; the queue loads the kernel soon after)
        lock = global_compiler_lock._lock
        if not lock.acquire(blocking=False):
            return False
        try:
            if k.overloads.get(tuple(sig)) is not None:
                return True
            t0 = time.perf_counter()
            cres = k._cache.load_overload(sig, k.targetctx)
            if cres is None:
                return False
            k._cache_hits[sig] += 1
            name, key = next(((n, kk) for (n, kk), v in list(_kernels.items()) if v is k),
                             (getattr(getattr(k, "py_func", None), "__name__", "?"), ()))
            compile_log.append({"kernel": name, "key": key, "cached": True, "cpu": 0.0,
                                "seconds": time.perf_counter() - t0})
            k.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
            k.add_overload(cres)
            return True
        finally:
            lock.release()
    except Exception:  # noqa: BLE001 - a private numba API: on any change, just compile
        return False


def _compile_loop() -> None:
    global _current
    while True:
        with _cond:
            while not _queue:
                _cond.wait()
            name, key, k, sig = _queue.pop(0)
            _current = (name, key)
        try:
            if not k.signatures:
                t0 = time.perf_counter()
                c0 = time.thread_time()
                k.compile(sig)
                compile_log.append({
                    "kernel": name, "key": key, "seconds": time.perf_counter() - t0,
                    "cpu": time.thread_time() - c0, "cached": bool(k.stats.cache_hits),
                    "background": True,
                })
        except Exception:  # noqa: BLE001 - the next foreground call compiles and raises
            pass
        finally:
            with _cond:
                _queued.discard((name, key))
                _current = None
                _cond.notify_all()


_closing = False


def _at_exit() -> None:
    """Let a compile in progress finish before the interpreter shuts down (a daemon
    thread killed inside LLVM crashes the process on exit); drop the rest of the queue."""
    global _closing
    with _cond:
        _closing = True
        _queue.clear()
        alive = _worker is not None and _worker.is_alive()
        _queued.intersection_update({_current} if alive and _current else set())
        _cond.wait_for(lambda: not _queued, timeout=120)


atexit.register(_at_exit)


def compile_later(name: str, key: tuple, k, args) -> None:
    """Queue kernel ``k`` (for the types of ``args``) for the background compiler."""
    global _worker
    if k.signatures:
        return
    sig = _signature(k, args)
    with _cond:
        if (name, key) in _queued or _closing:
            return
        _queued.add((name, key))
        _queue.append((name, key, k, sig))
        if _worker is None:
            _worker = threading.Thread(target=_compile_loop, name="losslab-compiler",
                                       daemon=True)
            _worker.start()
        _cond.notify_all()


def ready_or_queue(name: str, key: tuple, k, args) -> bool:
    """True if kernel ``k`` is ready for ``args`` (compiled, or loaded now from the disk
    cache); otherwise queue it for the background compiler and return False. With interim
    runs off (``LOSSLAB_INTERIM=0``, ``compiled_only``) always True: the caller compiles."""
    if not _interim or getattr(_tls, "compiled_only", False):
        return True
    if k.signatures or _load_cached(k, _signature(k, args)):
        return True
    compile_later(name, key, k, args)
    return False


def _interim_run(name: str, key: tuple, k, work: int, args, twin):
    """Run ``twin()`` (the interpreter) if ``k`` is not ready and the job is small;
    returns ``(True, result)`` then, else ``(False, None)``."""
    if (INTERPRETED or not _interim or work > INTERIM_WORK or k.signatures
            or getattr(_tls, "compiled_only", False)):
        return False, None
    sig = _signature(k, args)
    if _load_cached(k, sig):
        return False, None
    try:
        with np.errstate(all="ignore"):
            out = twin()
    except (ArithmeticError, ValueError):  # Python's float exceptions: compile instead
        return False, None
    compile_later(name, key, k, args)
    return True, out


def _twin():
    from . import interp

    return interp.load()


# ---- evaluation at many points ---------------------------------------------------------
def _make_eval_points(SID, BUMPS):
    @njit(**_JIT)
    def eval_points_kernel(spec, xs, ys, order, out, nreg):
        n = xs.shape[0]
        nblocks = (n + BLOCK - 1) // BLOCK
        for blk in range(nblocks):
            i0 = blk * BLOCK
            m = min(BLOCK, n - i0)
            if order >= 2:
                regs = np.empty(nreg)
                for i in range(i0, i0 + m):
                    f, gx, gy, hxx, hxy, hyy = point_fgh(SID, BUMPS, spec, xs[i], ys[i], regs)
                    out[i, 0] = f
                    out[i, 1] = gx
                    out[i, 2] = gy
                    out[i, 3] = hxx
                    out[i, 4] = hxy
                    out[i, 5] = hyy
            else:
                regs2d = np.empty((nreg, BLOCK))
                f = np.empty(BLOCK)
                gx = np.empty(BLOCK)
                gy = np.empty(BLOCK)
                block_fg(SID, BUMPS, spec, xs[i0 : i0 + m], ys[i0 : i0 + m], f, gx, gy, m,
                         regs2d)
                for k in range(m):
                    out[i0 + k, 0] = f[k]
                    out[i0 + k, 1] = gx[k]
                    out[i0 + k, 2] = gy[k]
                    out[i0 + k, 3] = np.nan
                    out[i0 + k, 4] = np.nan
                    out[i0 + k, 5] = np.nan

    return eval_points_kernel


def eval_points(spec, xs, ys, order, out, nreg):
    """Evaluate at ``len(xs)`` points into ``out`` (n, 6): f, gx, gy, hxx, hxy, hyy.

    Orders 0 and 1 fill columns 0..2 (Hessian columns are left as nan); order 2 fills all.
    Serial on purpose: most calls are small (a cursor point, a critical-point search),
    where waking a thread pool costs more than the work; a 512 x 512 grid of a built-in
    surface still takes only milliseconds.
    """
    key = surface_key(spec)
    k = _kernel("eval_points", _make_eval_points, key)
    args = (spec, xs, ys, order, out, nreg)
    done, res = _interim_run("eval_points", key, k, xs.shape[0] * (4 if order >= 2 else 1),
                             args, lambda: _twin().eval_points(*args))
    if done:
        return res
    return _call("eval_points", key, k, *args)


# ---- gradient perturbation: minibatch, noise, clipping ------------------------------------
@njit(**_JIT)
def _minibatch(spec, batch):
    """(B, batches per epoch) for a run; B = 0 means full-batch gradients."""
    N = spec[7].shape[0]
    if spec[0] >= SID_LINREG and 0 < batch < N:
        return batch, N // batch
    return 0, 1


@njit(**_JIT)
def _batch_start(seed, t, B, nb, N, perm, epoch):
    """Index in ``perm`` of update t's minibatch (drop_last; reshuffled every epoch)."""
    e = t // nb
    if e != epoch:
        permutation(seed, e, N, perm)
    return (t % nb) * B, e


@njit(**_JIT)  # called, not inlined: compiled once for every kernel (scalar arguments)
def _noise_clip(gx, gy, dim, noise, seed, stream, t, clip):
    """Additive Gaussian noise, then torch.nn.utils.clip_grad_norm_(max_norm=clip)."""
    if noise > 0.0:
        z0, z1 = normal_pair(seed, stream, t)
        gx += noise * z0
        if dim == 2:
            gy += noise * z1
    if clip > 0.0:
        coef = clip / (math.sqrt(gx * gx + gy * gy) + 1e-6)
        if coef < 1.0:
            gx *= coef
            gy *= coef
    return gx, gy


# Selection at compile time. A cached kernel made by a factory may capture only plain
# constants (numba keys its disk cache on them; a captured function would change the key
# in every process), so everything that depends on the optimizer or the surface kind is
# reached through an overload that picks its implementation from literal arguments.
def _lit(v):
    if not isinstance(v, types.IntegerLiteral):
        # not a constant: decline, and numba asks again with the literal type
        raise errors.TypingError("specialised kernels take compile-time constants")
    return v.literal_value


def minibatch_for(sid, spec, batch):
    """``_minibatch`` for data losses, (0, 1) for other kinds."""
    return _minibatch(spec, batch)


@overload(minibatch_for, prefer_literal=True)
def _ol_minibatch_for(sid, spec, batch):
    if _lit(sid) >= SID_LINREG:
        return lambda sid, spec, batch: _minibatch(spec, batch)
    return lambda sid, spec, batch: (0, 1)


def batch_grad_for(sid, spec, x, y, perm, j, B):
    """The minibatch gradient of a data loss (never reached for other kinds)."""
    _, gx, gy, _, _, _ = data_fgh(sid, spec[7], spec[8], x, y, perm, j, B, False)
    return gx, gy


@overload(batch_grad_for, prefer_literal=True)
def _ol_batch_grad_for(sid, spec, x, y, perm, j, B):
    S = _lit(sid)
    if S >= SID_LINREG:
        def impl(sid, spec, x, y, perm, j, B):
            _, gx, gy, _, _, _ = data_loss(S, spec[7], spec[8], x, y, perm, j, B, False)
            return gx, gy
        return impl
    return lambda sid, spec, x, y, perm, j, B: (0.0, 0.0)


def newton_for(oid, sid, bumps, spec, lr, lam, dim, x, y, gx, gy, regs):
    """Damped Newton's step for a Newton kernel; compiled, other optimizers' kernels get a
    placeholder, so they do not compile the surface's Hessian."""
    if oid != O_NEWTON:
        return x, y
    _, _, _, hxx, hxy, hyy = point_fgh(sid, bumps, spec, x, y, regs)
    return newton_step(lr, lam, dim, x, y, gx, gy, hxx, hxy, hyy)


@overload(newton_for, prefer_literal=True)
def _ol_newton_for(oid, sid, bumps, spec, lr, lam, dim, x, y, gx, gy, regs):
    if _lit(oid) == O_NEWTON:
        S = _lit(sid)
        HB = _lit(bumps)

        def impl(oid, sid, bumps, spec, lr, lam, dim, x, y, gx, gy, regs):
            _, _, _, hxx, hxy, hyy = point_fgh(S, HB, spec, x, y, regs)
            return newton_step(lr, lam, dim, x, y, gx, gy, hxx, hxy, hyy)
        return impl
    return lambda oid, sid, bumps, spec, lr, lam, dim, x, y, gx, gy, regs: (x, y)


# ---- ReduceLROnPlateau inside the loops ----------------------------------------------------
# ``plat`` (PL_N,) float64 holds a ReduceLROnPlateau's settings (``plateau_params``);
# plat[PL_ON] == 0: no plateau schedule, the rates are ``lrs`` as given.
PL_ON, PL_MIN, PL_REL, PL_THR, PL_PATIENCE, PL_COOLDOWN, PL_FACTOR, PL_MINLR, PL_EPS = range(9)
PL_N = 9
NO_PLATEAU = np.zeros(PL_N)


@njit(**_INLINE)
def plateau_step(plat, lr, best, bad, cool, current):
    """``ReduceLROnPlateau.observe`` (torch's ``step(metrics)``) on scalars: the same
    comparisons and one multiplication per cut, in the same order, so the same bits.
    Returns the new ``(lr, best, bad, cool)``; ``bad`` and ``cool`` are float counts
    (exact integers far beyond any run's length)."""
    thr = plat[PL_THR]
    if plat[PL_MIN] != 0.0:
        if plat[PL_REL] != 0.0:
            better = current < best * (1.0 - thr)
        else:
            better = current < best - thr
    elif plat[PL_REL] != 0.0:
        better = current > best * (thr + 1.0)
    else:
        better = current > best + thr
    if better:
        best = current
        bad = 0.0
    else:
        bad += 1.0
    if cool > 0.0:
        cool -= 1.0
        bad = 0.0
    if bad > plat[PL_PATIENCE]:
        new = max(lr * plat[PL_FACTOR], plat[PL_MINLR])
        if lr - new > plat[PL_EPS]:
            lr = new
        cool = plat[PL_COOLDOWN]
        bad = 0.0
    return lr, best, bad, cool


# ---- one trajectory ----------------------------------------------------------------------
# A ReduceLROnPlateau is a constant of the kernel, PLAT (1: the run steps one, ``plat``
# holding its settings; 0: ``plat`` is ignored), as OID, SID and BUMPS are: numba prunes
# the branches ``if PLAT:`` before typing, so the kernels of runs without that schedule
# (the app's warm-up compiles only those) do not compile its code. Each entry point picks
# the variant by ``plat[PL_ON]`` (``_plateau_on``); the plateau variants are named
# ``*_plateau`` (``run_trajectory_plateau``, ``run_lbfgs_plateau``, ``run_runs_plateau``).
def _plateau_on(plat) -> int:
    """1 if ``plat`` (None or a ``plateau_params`` array) asks for a ReduceLROnPlateau."""
    return 0 if plat is None or plat[PL_ON] == 0.0 else 1


def _make_trajectory(OID, SID, BUMPS, PLAT=0):
    return njit(**_JIT)(_trajectory_body(OID, SID, BUMPS, PLAT))


def _make_trajectory_plateau(OID, SID, BUMPS):
    return _make_trajectory(OID, SID, BUMPS, 1)


def _trajectory_body(OID, SID, BUMPS, PLAT=0):
    """The trajectory loop for (OID, SID, BUMPS, PLAT), a plain function: compiled on its
    own by ``_make_trajectory``, inlined into ``run_runs``'s kernels by ``one_run_for``."""
    NEWTON = OID == O_NEWTON

    def run_trajectory_kernel(spec, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch,
                              nreg, pos, loss, grad, plat):
        dim = spec[1]
        if PLAT:  # ReduceLROnPlateau: lrs[t] is written with its rate
            p_lr = lrs[0] if steps > 0 else 0.0
            p_best = math.inf if plat[PL_MIN] != 0.0 else -math.inf
            p_bad = 0.0
            p_cool = 0.0
        regs = np.empty(nreg)
        N = spec[7].shape[0]
        perm = np.empty(max(N, 1), dtype=np.int64)
        B, nb = minibatch_for(SID, spec, batch)
        epoch = -1
        h = hp_tuple(hp)
        lam = h[0]
        x = x0
        y = y0 if dim == 2 else 0.0
        sx0 = initial_slot0(OID, h)
        sy0 = sx0
        sx1 = 0.0
        sx2 = 0.0
        sy1 = 0.0
        sy2 = 0.0
        mu_prod = 1.0
        for t in range(steps + 1):
            f, gx, gy = point_fg(SID, BUMPS, spec, x, y, regs)
            if not (math.isfinite(f) and math.isfinite(gx) and math.isfinite(gy)):
                return t, 1
            pos[t, 0] = x
            pos[t, 1] = y
            loss[t] = f
            grad[t, 0] = gx
            grad[t, 1] = gy
            if t == steps:
                break
            if B > 0:
                j, epoch = _batch_start(seed, t, B, nb, N, perm, epoch)
                gx, gy = batch_grad_for(SID, spec, x, y, perm, j, B)
                if dim == 1:
                    gy = 0.0
            if noise > 0.0 or clip > 0.0:  # a call: skipped on the common, plain path
                gx, gy = _noise_clip(gx, gy, dim, noise, seed, stream, t, clip)
            if PLAT:
                lrs[t] = p_lr
            lr = lrs[t]
            if NEWTON:
                x, y = newton_for(OID, SID, BUMPS, spec, lr, lam, dim, x, y, gx, gy, regs)
            else:
                k0, k1, k2, k3, mu_prod = coefs_for(OID, h, t + 1, lr, mu_prod)
                x, sx0, sx1, sx2 = coord_for(OID, h, t + 1, lr, k0, k1, k2, k3, x, gx,
                                             sx0, sx1, sx2)
                if dim == 2:
                    y, sy0, sy1, sy2 = coord_for(OID, h, t + 1, lr, k0, k1, k2, k3, y, gy,
                                                 sy0, sy1, sy2)
            if not (math.isfinite(x) and math.isfinite(y)):
                return t + 1, 2
            if PLAT:  # scheduler.step(loss) after the update, with the loss before it
                p_lr, p_best, p_bad, p_cool = plateau_step(plat, p_lr, p_best, p_bad, p_cool,
                                                           f)
        return steps + 1, 0

    return run_trajectory_kernel


def _make_lbfgs_trajectory(SID, BUMPS, PLAT=0):
    return njit(**_JIT)(_lbfgs_body(SID, BUMPS, PLAT))


def _make_lbfgs_trajectory_plateau(SID, BUMPS):
    return _make_lbfgs_trajectory(SID, BUMPS, 1)


def _lbfgs_body(SID, BUMPS, PLAT=0):
    """The L-BFGS trajectory kernel for surface kind (SID, BUMPS): each recorded step is
    one ``torch.optim.LBFGS.step(closure)``, up to ``max_iter`` iterations and
    ``max_eval`` evaluations, written from torch's code line for line (its state carries
    over from step to step, as torch's does). A plain function, as ``_trajectory_body``."""

    def run_lbfgs_kernel(spec, hp, lrs, x0, y0, steps, nreg, pos, loss, grad, evals, plat):
        dim = spec[1]
        if PLAT:  # ReduceLROnPlateau: lrs[t] is written with its rate
            p_lr = lrs[0] if steps > 0 else 0.0
            p_best = math.inf if plat[PL_MIN] != 0.0 else -math.inf
            p_bad = 0.0
            p_cool = 0.0
        regs = np.empty(nreg)
        max_iter = int(hp[0])
        max_eval = int(hp[1])
        tol_grad = hp[2]
        tol_change = hp[3]
        hist = int(hp[4])
        wolfe = hp[5] != 0.0
        P = np.zeros(2)
        P[0] = x0
        P[1] = y0 if dim == 2 else 0.0
        g = np.zeros(2)
        d = np.zeros(2)
        prev_g = np.zeros(2)
        old_dirs = np.zeros((max(hist, 1), 2))
        old_stps = np.zeros((max(hist, 1), 2))
        ro = np.zeros(max(hist, 1))
        al = np.zeros(max(hist, 1))
        q = np.zeros(2)
        yv = np.zeros(2)
        sv = np.zeros(2)
        Xi = np.zeros(2)  # the point a line search starts from
        g_new = np.zeros(2)
        g_prev = np.zeros(2)
        g0 = np.zeros(2)
        b_t = np.zeros(2)
        b_f = np.zeros(2)
        b_g = np.zeros((2, 2))
        b_gtd = np.zeros(2)
        num_old = 0
        h_diag = 1.0
        t_len = 0.0
        n_total = 0  # torch's state["n_iter"]
        loss_v = 0.0
        for t in range(steps + 1):
            f, gx, gy = point_fg(SID, BUMPS, spec, P[0], P[1], regs)
            if dim == 1:
                gy = 0.0
            if not (math.isfinite(f) and math.isfinite(gx) and math.isfinite(gy)):
                return t, 1
            pos[t, 0] = P[0]
            pos[t, 1] = P[1]
            loss[t] = f
            grad[t, 0] = gx
            grad[t, 1] = gy
            if t == steps:
                break
            if PLAT:
                lrs[t] = p_lr
                p_lr, p_best, p_bad, p_cool = plateau_step(plat, p_lr, p_best, p_bad, p_cool,
                                                           f)
            lr = lrs[t]
            loss_v = f
            g[0] = gx
            g[1] = gy
            n_evals = 1
            if max(abs(g[0]), abs(g[1])) <= tol_grad:
                evals[t] = 1
                continue
            n_iter = 0
            opt_cond = False
            while n_iter < max_iter:
                n_iter += 1
                n_total += 1
                if n_total == 1:
                    d[0] = -g[0]
                    d[1] = -g[1]
                    num_old = 0
                    h_diag = 1.0
                else:
                    for c in range(2):
                        yv[c] = g[c] - prev_g[c]
                        sv[c] = d[c] * t_len
                    ys = yv[0] * sv[0] + yv[1] * sv[1]
                    if ys > 1e-10:
                        if num_old == hist:
                            for i in range(num_old - 1):
                                for c in range(2):
                                    old_dirs[i, c] = old_dirs[i + 1, c]
                                    old_stps[i, c] = old_stps[i + 1, c]
                                ro[i] = ro[i + 1]
                            num_old -= 1
                        for c in range(2):
                            old_dirs[num_old, c] = yv[c]
                            old_stps[num_old, c] = sv[c]
                        ro[num_old] = 1.0 / ys
                        num_old += 1
                        h_diag = ys / (yv[0] * yv[0] + yv[1] * yv[1])
                    q[0] = -g[0]
                    q[1] = -g[1]
                    for i in range(num_old - 1, -1, -1):
                        al[i] = (old_stps[i, 0] * q[0] + old_stps[i, 1] * q[1]) * ro[i]
                        for c in range(2):
                            q[c] = q[c] + (-al[i]) * old_dirs[i, c]
                    for c in range(2):
                        d[c] = q[c] * h_diag
                    for i in range(num_old):
                        be_i = (old_dirs[i, 0] * d[0] + old_dirs[i, 1] * d[1]) * ro[i]
                        for c in range(2):
                            d[c] = d[c] + (al[i] - be_i) * old_stps[i, c]
                prev_g[0] = g[0]
                prev_g[1] = g[1]
                prev_loss = loss_v
                if n_total == 1:
                    t_len = pymin(1.0, 1.0 / (abs(g[0]) + abs(g[1]))) * lr
                else:
                    t_len = lr
                gtd = g[0] * d[0] + g[1] * d[1]
                if gtd > -tol_change:
                    break
                ls_evals = 0
                if wolfe:
                    # torch's _strong_wolfe(obj_func, x, t, d, loss, flat_grad, gtd,
                    # max_ls=max_eval - current_evals)
                    max_ls = max_eval - n_evals
                    d_norm = max(abs(d[0]), abs(d[1]))
                    Xi[0] = P[0]
                    Xi[1] = P[1]
                    f0 = loss_v
                    gtd0 = gtd
                    g0[0] = g[0]
                    g0[1] = g[1]
                    tt = t_len
                    f_new, ax, ay = point_fg(SID, BUMPS, spec, Xi[0] + tt * d[0],
                                             Xi[1] + tt * d[1], regs)
                    g_new[0] = ax
                    g_new[1] = ay if dim == 2 else 0.0
                    ls_evals = 1
                    gtd_new = g_new[0] * d[0] + g_new[1] * d[1]
                    t_prev = 0.0
                    f_prev = f0
                    g_prev[0] = g0[0]
                    g_prev[1] = g0[1]
                    gtd_prev = gtd0
                    done = False
                    ls_iter = 0
                    nb = 0
                    while ls_iter < max_ls:
                        if f_new > (f0 + C1 * tt * gtd0) or (ls_iter > 1 and f_new >= f_prev):
                            nb = 2
                            break
                        if abs(gtd_new) <= -C2 * gtd0:
                            nb = 1
                            done = True
                            break
                        if gtd_new >= 0.0:
                            nb = 2
                            break
                        min_step = tt + 0.01 * (tt - t_prev)
                        max_step = tt * 10.0
                        tmp = tt
                        tt = cubic_interpolate(t_prev, f_prev, gtd_prev, tt, f_new, gtd_new,
                                               True, min_step, max_step)
                        t_prev = tmp
                        f_prev = f_new
                        g_prev[0] = g_new[0]
                        g_prev[1] = g_new[1]
                        gtd_prev = gtd_new
                        f_new, ax, ay = point_fg(SID, BUMPS, spec, Xi[0] + tt * d[0],
                                                 Xi[1] + tt * d[1], regs)
                        g_new[0] = ax
                        g_new[1] = ay if dim == 2 else 0.0
                        ls_evals += 1
                        gtd_new = g_new[0] * d[0] + g_new[1] * d[1]
                        ls_iter += 1
                    if nb == 2:  # bracket = [t_prev, t]
                        b_t[0] = t_prev
                        b_t[1] = tt
                        b_f[0] = f_prev
                        b_f[1] = f_new
                        b_gtd[0] = gtd_prev
                        b_gtd[1] = gtd_new
                        for c in range(2):
                            b_g[0, c] = g_prev[c]
                            b_g[1, c] = g_new[c]
                    elif nb == 1:  # bracket = [t]
                        b_t[0] = tt
                        b_f[0] = f_new
                        b_t[1] = tt
                        b_f[1] = f_new
                        for c in range(2):
                            b_g[0, c] = g_new[c]
                            b_g[1, c] = g_new[c]
                    if ls_iter == max_ls:  # bracket = [0, t]
                        b_t[0] = 0.0
                        b_t[1] = tt
                        b_f[0] = f0
                        b_f[1] = f_new
                        for c in range(2):
                            b_g[0, c] = g0[c]
                            b_g[1, c] = g_new[c]
                    insuf = False
                    if b_f[0] <= b_f[1]:
                        low = 0
                        high = 1
                    else:
                        low = 1
                        high = 0
                    while not done and ls_iter < max_ls:
                        if abs(b_t[1] - b_t[0]) * d_norm < tol_change:
                            break
                        tt = cubic_interpolate(b_t[0], b_f[0], b_gtd[0], b_t[1], b_f[1],
                                               b_gtd[1], False, 0.0, 0.0)
                        bmax = pymax(b_t[0], b_t[1])
                        bmin = pymin(b_t[0], b_t[1])
                        eps = 0.1 * (bmax - bmin)
                        if pymin(bmax - tt, tt - bmin) < eps:
                            if insuf or tt >= bmax or tt <= bmin:
                                if abs(tt - bmax) < abs(tt - bmin):
                                    tt = bmax - eps
                                else:
                                    tt = bmin + eps
                                insuf = False
                            else:
                                insuf = True
                        else:
                            insuf = False
                        f_new, ax, ay = point_fg(SID, BUMPS, spec, Xi[0] + tt * d[0],
                                                 Xi[1] + tt * d[1], regs)
                        g_new[0] = ax
                        g_new[1] = ay if dim == 2 else 0.0
                        ls_evals += 1
                        gtd_new = g_new[0] * d[0] + g_new[1] * d[1]
                        ls_iter += 1
                        if f_new > (f0 + C1 * tt * gtd0) or f_new >= b_f[low]:
                            b_t[high] = tt
                            b_f[high] = f_new
                            b_g[high, 0] = g_new[0]
                            b_g[high, 1] = g_new[1]
                            b_gtd[high] = gtd_new
                            if b_f[0] <= b_f[1]:
                                low = 0
                                high = 1
                            else:
                                low = 1
                                high = 0
                        else:
                            if abs(gtd_new) <= -C2 * gtd0:
                                done = True
                            elif gtd_new * (b_t[high] - b_t[low]) >= 0.0:
                                b_t[high] = b_t[low]
                                b_f[high] = b_f[low]
                                b_g[high, 0] = b_g[low, 0]
                                b_g[high, 1] = b_g[low, 1]
                                b_gtd[high] = b_gtd[low]
                            b_t[low] = tt
                            b_f[low] = f_new
                            b_g[low, 0] = g_new[0]
                            b_g[low, 1] = g_new[1]
                            b_gtd[low] = gtd_new
                    t_len = b_t[low]
                    loss_v = b_f[low]
                    g[0] = b_g[low, 0]
                    g[1] = b_g[low, 1]
                    P[0] = P[0] + t_len * d[0]
                    P[1] = P[1] + t_len * d[1]
                    opt_cond = max(abs(g[0]), abs(g[1])) <= tol_grad
                else:
                    P[0] = P[0] + t_len * d[0]
                    P[1] = P[1] + t_len * d[1]
                    if n_iter != max_iter:
                        loss_v, ax, ay = point_fg(SID, BUMPS, spec, P[0], P[1], regs)
                        g[0] = ax
                        g[1] = ay if dim == 2 else 0.0
                        opt_cond = max(abs(g[0]), abs(g[1])) <= tol_grad
                        ls_evals = 1
                n_evals += ls_evals
                if n_iter == max_iter:
                    break
                if n_evals >= max_eval:
                    break
                if opt_cond:
                    break
                if max(abs(d[0] * t_len), abs(d[1] * t_len)) <= tol_change:
                    break
                if abs(loss_v - prev_loss) < tol_change:
                    break
            evals[t] = n_evals
            if not (math.isfinite(P[0]) and math.isfinite(P[1])):
                return t + 1, 2
        return steps + 1, 0

    return run_lbfgs_kernel


def _trajectory_kernel(oid: int, skey: tuple, on: int):
    """``(name, key, kernel)``: the trajectory kernel for optimizer ``oid``, surface key
    ``skey`` and PLAT ``on`` (L-BFGS: its own loop, keyed by the surface alone)."""
    if oid == O_LBFGS:
        if on:
            return ("run_lbfgs_plateau", skey,
                    _kernel("run_lbfgs_plateau", _make_lbfgs_trajectory_plateau, skey))
        return "run_lbfgs", skey, _kernel("run_lbfgs", _make_lbfgs_trajectory, skey)
    key = (oid,) + skey
    if on:
        return ("run_trajectory_plateau", key,
                _kernel("run_trajectory_plateau", _make_trajectory_plateau, key))
    return "run_trajectory", key, _kernel("run_trajectory", _make_trajectory, key)


def run_trajectory(
    spec, oid, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos, loss, grad,
    evals=None, plat=None,
):
    """Run ``steps`` updates from (x0, y0), recording every point.

    Fills rows ``0..k-1`` of ``pos`` (steps+1, 2), ``loss`` and ``grad`` (the true, noise
    free gradient) and returns ``(k, reason)``: k = steps + 1 and reason 0 for a complete
    run; reason 1 when the loss or gradient became non-finite at row k (the surface is
    undefined there or overflowed), reason 2 when the update produced a non-finite
    position. The arrays then end at the last finite step. ``plat``: a ReduceLROnPlateau's
    settings (``plateau_params``), stepped with the loss before every update; ``lrs[0]``
    is then the base rate and ``lrs[t]`` is overwritten with the rate of update t.
    """
    on = _plateau_on(plat)
    if plat is None:
        plat = NO_PLATEAU
    name, key, k = _trajectory_kernel(int(oid), surface_key(spec), on)
    if int(oid) == O_LBFGS:  # several evaluations per step: its own kernel
        if evals is None:
            evals = np.empty(max(steps, 1), dtype=np.int64)
        args = (spec, hp, lrs, x0, y0, steps, nreg, pos, loss, grad, evals, plat)
        done, res = _interim_run(
            name, key, k, (steps + 1) * int(hp[1]), args,
            lambda: _twin().run_trajectory(spec, oid, hp, lrs, x0, y0, steps, noise, seed,
                                           stream, clip, batch, nreg, pos, loss, grad, evals,
                                           plat))
        if done:
            return res
        return _call(name, key, k, *args)
    args = (spec, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos, loss,
            grad, plat)
    work = (steps + 1) * (4 if int(oid) == O_NEWTON or spec[0] >= SID_EXPR else 1)
    done, res = _interim_run(
        name, key, k, work, args,
        lambda: _twin().run_trajectory(spec, oid, *args[1:-1], None, plat))
    if done:
        return res
    return _call(name, key, k, *args)


# ---- many trajectories -------------------------------------------------------------------
# rows of run_batch's output (B_NCOL, n)
B_X, B_Y, B_F, B_GX, B_GY, B_HXX, B_HXY, B_HYY, B_F0, B_FLIPS, B_FWIN, B_BAD, B_FMIN = range(13)
B_NCOL = 13


def fused_adam(sid, spec, h, lrs, i0, m, steps, tail, P, fmin, out):
    """The fused plain-Adam loop of a block (see ``_make_adam_steps``)."""
    if sid < SID_EXPR:
        _make_adam_steps(sid)(sid, spec, h, lrs, i0, m, steps, tail, P, fmin, out)


@overload(fused_adam, prefer_literal=True)
def _ol_fused_adam(sid, spec, h, lrs, i0, m, steps, tail, P, fmin, out):
    S = _lit(sid)
    if S < SID_EXPR:
        return _make_adam_steps(S)
    return lambda sid, spec, h, lrs, i0, m, steps, tail, P, fmin, out: None


def _make_adam_steps(SID):
    """The fused plain-Adam loop for built-in surface SID (see its docstring)."""
    ROSEN = SID == S_ROSENBROCK

    def adam_steps(sid, spec, h, lrs, i0, m, steps, tail, P, fmin, out):
        """All ``steps`` plain Adam updates of a block on a built-in 2-D surface (no bumps,
        noise, clipping, minibatches or AMSGrad): ``_run_block``'s loop, fused for speed.

        The same operations in the same order as the general loop (so the same bits), in
        one pass over the particles per step: Rosenbrock's value and gradient are computed
        in the loop that updates (other surfaces fill F, GX, GY first with their block
        loop), so the loop vectorises (sqrt and division four particles at a time). Hot
        loops take only scalars and local arrays (an array passed to a helper costs
        reference counting), and never store conditionally (masked stores are slow):
        positions and the running minimum alternate between the two rows of XS, YS, FM,
        so the previous points stay available for the reversal count. On return ``P``
        holds the final points and ``fmin`` the lowest loss before them.
        """
        prm = spec[2]
        XS = np.empty((2, BLOCK))
        YS = np.empty((2, BLOCK))
        FM = np.empty((2, BLOCK))
        MX = np.zeros(BLOCK)
        MY = np.zeros(BLOCK)
        VX = np.zeros(BLOCK)
        VY = np.zeros(BLOCK)
        F = np.empty(BLOCK)
        GX = np.empty(BLOCK)
        GY = np.empty(BLOCK)
        DX = np.zeros(BLOCK)
        DY = np.zeros(BLOCK)
        FL = np.zeros(BLOCK)
        regs2d = np.empty((1, 1))
        for i in range(m):
            XS[0, i] = P[0, i]
            YS[0, i] = P[1, i]
        pr = (prm[0], prm[1]) if ROSEN else (0.0, 0.0)  # scalars: hoisted out of the loop
        mu_prod = 1.0
        for t in range(steps):
            lr = lrs[t]
            k0, k1, k2, k3, mu_prod = coefs_for(O_ADAM, h, t + 1, lr, mu_prod)
            r = t & 1
            w = 1 - r
            if t == 0 or t == tail or not ROSEN:
                block_fg(SID, 0, spec, XS[r], YS[r], F, GX, GY, m, regs2d)
                if t == 0:
                    for i in range(m):
                        out[B_F0, i0 + i] = F[i]
                        FM[0, i] = F[i]  # min(f0, f0) below keeps f0, as fmin = F does
                if t == tail:
                    for i in range(m):
                        out[B_FWIN, i0 + i] = F[i]
            if ROSEN:
                for i in range(m):
                    x = XS[r, i]
                    y = YS[r, i]
                    f, gx, gy = rosenbrock_fg(pr, x, y)
                    FM[w, i] = min(FM[r, i], f)
                    XS[w, i], MX[i], VX[i], _ = coord_for(O_ADAM, h, t + 1, lr, k0, k1, k2,
                                                          k3, x, gx, MX[i], VX[i], 0.0)
                    YS[w, i], MY[i], VY[i], _ = coord_for(O_ADAM, h, t + 1, lr, k0, k1, k2,
                                                          k3, y, gy, MY[i], VY[i], 0.0)
            else:
                for i in range(m):
                    FM[w, i] = min(FM[r, i], F[i])
                    XS[w, i], MX[i], VX[i], _ = coord_for(O_ADAM, h, t + 1, lr, k0, k1, k2,
                                                          k3, XS[r, i], GX[i], MX[i], VX[i],
                                                          0.0)
                    YS[w, i], MY[i], VY[i], _ = coord_for(O_ADAM, h, t + 1, lr, k0, k1, k2,
                                                          k3, YS[r, i], GY[i], MY[i], VY[i],
                                                          0.0)
            if t >= tail:
                for i in range(m):
                    dx = XS[w, i] - XS[r, i]
                    dy = YS[w, i] - YS[r, i]
                    rev = dx * DX[i] + dy * DY[i] < 0.0 and t > tail
                    FL[i] += 1.0 if rev else 0.0
                    DX[i] = dx
                    DY[i] = dy
        r = steps & 1
        for i in range(m):
            P[0, i] = XS[r, i]
            P[1, i] = YS[r, i]
            fmin[i] = FM[r, i]
            out[B_FLIPS, i0 + i] = FL[i]

    return adam_steps


def update_block_for(oid, h, t, lr, P, G, S, n, dim, mu_prod):
    """Update ``n`` particles in place; returns mu_prod."""
    return _ol_update_block_for(oid, h, t, lr, P, G, S, n, dim, mu_prod)(
        oid, h, t, lr, P, G, S, n, dim, mu_prod)


@overload(update_block_for, prefer_literal=True)
def _ol_update_block_for(oid, h, t, lr, P, G, S, n, dim, mu_prod):
    """One loop per coordinate for the literal optimizer ``oid``: after inlining, its body
    is branch-free, so that it vectorises over the particles."""
    OID = oid if INTERPRETED else _lit(oid)

    def update(oid, h, t, lr, P, G, S, n, dim, mu_prod):
        k0, k1, k2, k3, mu_prod = coefs_for(OID, h, t, lr, mu_prod)
        for c in range(dim):
            for i in range(n):
                P[c, i], S[0, c, i], S[1, c, i], S[2, c, i] = coord_for(
                    OID, h, t, lr, k0, k1, k2, k3, P[c, i], G[c, i], S[0, c, i], S[1, c, i],
                    S[2, c, i],
                )
        return mu_prod

    return update


# The bookkeeping of a block, the same for every optimizer and surface: compiled once (and
# cached) and called by every batch kernel, so a new specialisation compiles only its
# surface's evaluation and its optimizer's update (about 5 s less each).
@njit(**_JIT)
def _block_start(starts, i0, m, dim, s0, P, S, out):
    for i in range(m):
        P[0, i] = starts[i0 + i, 0]
        P[1, i] = starts[i0 + i, 1] if dim == 2 else 0.0
        S[0, 0, i] = s0
        S[0, 1, i] = s0
        out[B_FLIPS, i0 + i] = 0.0


@njit(**_JIT)
def _track_losses(t, tail, F, fmin, P, Pold, out, i0, m):
    """The initial, running smallest and window-start losses; the points before the
    update, for the reversal count."""
    if t == 0:
        for i in range(m):
            out[B_F0, i0 + i] = F[i]
            fmin[i] = F[i]
    else:
        # non-finite values propagate to the end, where they mark the run diverged
        for i in range(m):
            fmin[i] = min(fmin[i], F[i])
    if t == tail:
        for i in range(m):
            out[B_FWIN, i0 + i] = F[i]
    if t >= tail:
        for c in range(2):
            for i in range(m):
                Pold[c, i] = P[c, i]


@njit(**_JIT)
def _perturb_block(G, dim, noise, seed, stream, t, clip, m):
    for i in range(m):
        G[0, i], G[1, i] = _noise_clip(G[0, i], G[1, i], dim, noise, seed, stream + i, t,
                                       clip)


@njit(**_JIT)
def _count_reversals(t, tail, P, Pold, Dprev, out, i0, m):
    """Count direction reversals: successive moves pointing against each other."""
    for i in range(m):
        dx = P[0, i] - Pold[0, i]
        dy = P[1, i] - Pold[1, i]
        if t > tail and dx * Dprev[0, i] + dy * Dprev[1, i] < 0.0:
            out[B_FLIPS, i0 + i] += 1.0
        Dprev[0, i] = dx
        Dprev[1, i] = dy


@njit(**_JIT)
def _block_summary(P, FH, fmin, steps, out, i0, m):
    """The final point, its value, gradient and Hessian (``FH``), and the run's losses."""
    for i in range(m):
        x = P[0, i]
        y = P[1, i]
        f = FH[0, i]
        finite = math.isfinite(f + FH[1, i] + FH[2, i] + x + y)
        out[B_BAD, i0 + i] = (-1.0 if finite and (steps == 0 or math.isfinite(fmin[i]))
                              else steps)
        out[B_X, i0 + i] = x
        out[B_Y, i0 + i] = y
        out[B_F, i0 + i] = f
        out[B_GX, i0 + i] = FH[1, i]
        out[B_GY, i0 + i] = FH[2, i]
        out[B_HXX, i0 + i] = FH[3, i]
        out[B_HXY, i0 + i] = FH[4, i]
        out[B_HYY, i0 + i] = FH[5, i]
        if steps == 0:
            out[B_F0, i0 + i] = f
            out[B_FMIN, i0 + i] = f
            out[B_FWIN, i0 + i] = f
        else:
            out[B_FMIN, i0 + i] = min(fmin[i], f)


def run_block_for(oid, sid, bumps, spec, hp, lrs, starts, i0, m, steps, window, noise, seed,
                  stream0, clip, batch, nreg, out):
    """One block of ``run_batch`` for literal ``oid``, ``sid``, ``bumps``."""
    _make_run_block(oid, sid, bumps)(oid, sid, bumps, spec, hp, lrs, starts, i0, m, steps,
                                     window, noise, seed, stream0, clip, batch, nreg, out)


@overload(run_block_for, prefer_literal=True)
def _ol_run_block_for(oid, sid, bumps, spec, hp, lrs, starts, i0, m, steps, window, noise,
                      seed, stream0, clip, batch, nreg, out):
    return _make_run_block(_lit(oid), _lit(sid), _lit(bumps))


def _make_run_block(OID, SID, BUMPS):
    NEWTON = OID == O_NEWTON
    # the fused loop exists for plain Adam on built-in 2-D surfaces without bumps
    FUSABLE = OID == O_ADAM and SID < SID_EXPR and BUMPS == 0
    FUSE_SID = SID if FUSABLE else SID_EXPR

    def run_block(oid, sid, bumps, spec, hp, lrs, starts, i0, m, steps, window, noise, seed,
                  stream0, clip, batch, nreg, out):
        dim = spec[1]
        P = np.empty((2, BLOCK))
        G = np.zeros((2, BLOCK))
        F = np.empty(BLOCK)
        S = np.zeros((3, 2, BLOCK))
        Pold = np.zeros((2, BLOCK))
        Dprev = np.zeros((2, BLOCK))  # previous displacement, for the oscillation count
        FH = np.empty((6, BLOCK))
        regs2d = np.empty((nreg, BLOCK))
        regs = np.empty(nreg)
        N = spec[7].shape[0]
        perm = np.empty(max(N, 1), dtype=np.int64)
        B, nb = minibatch_for(SID, spec, batch)
        epoch = -1
        h = hp_tuple(hp)
        lam = h[0]
        fmin = np.empty(BLOCK)
        _block_start(starts, i0, m, dim, initial_slot0(OID, h), P, S, out)
        mu_prod = 1.0
        tail = steps - window
        fused = (FUSABLE and dim == 2 and B == 0 and not (noise > 0.0 or clip > 0.0)
                 and h[4] == 0.0)
        if fused and steps > 0:
            fused_adam(FUSE_SID, spec, h, lrs, i0, m, steps, tail, P, fmin, out)
        for t in range(0 if fused else steps):
            block_fg(SID, BUMPS, spec, P[0], P[1], F, G[0], G[1], m, regs2d)
            _track_losses(t, tail, F, fmin, P, Pold, out, i0, m)
            if B > 0:
                j, epoch = _batch_start(seed, t, B, nb, N, perm, epoch)
                for i in range(m):
                    gx, gy = batch_grad_for(SID, spec, P[0, i], P[1, i], perm, j, B)
                    G[0, i] = gx
                    G[1, i] = gy if dim == 2 else 0.0
            if noise > 0.0 or clip > 0.0:
                _perturb_block(G, dim, noise, seed, stream0 + i0, t, clip, m)
            if NEWTON:
                for i in range(m):
                    P[0, i], P[1, i] = newton_for(OID, SID, BUMPS, spec, lrs[t], lam, dim,
                                                  P[0, i], P[1, i], G[0, i], G[1, i], regs)
            else:
                mu_prod = update_block_for(OID, h, t + 1, lrs[t], P, G, S, m, dim, mu_prod)
            if t >= tail:
                _count_reversals(t, tail, P, Pold, Dprev, out, i0, m)
        for i in range(m):
            (FH[0, i], FH[1, i], FH[2, i], FH[3, i], FH[4, i],
             FH[5, i]) = point_fgh(SID, BUMPS, spec, P[0, i], P[1, i], regs)
        _block_summary(P, FH, fmin, steps, out, i0, m)

    return run_block


def _make_batch(OID, SID, BUMPS):
    @njit(**_JIT)
    def run_blocks_kernel(spec, hp, lrs, starts, steps, window, noise, seed, stream0, clip,
                          batch, nreg, out, b0, b1):
        n = starts.shape[0]
        for blk in range(b0, b1):
            i0 = blk * BLOCK
            m = min(BLOCK, n - i0)
            run_block_for(OID, SID, BUMPS, spec, hp, lrs, starts, i0, m, steps, window, noise,
                          seed, stream0, clip, batch, nreg, out)

    return run_blocks_kernel


_pool = None


def _threads() -> int:
    """Threads for a batch: numba's setting for this thread (``numba.set_num_threads``)."""
    import numba

    return max(1, int(numba.get_num_threads()))


def _executor(n: int):
    global _pool
    with _lock:
        if _pool is None or _pool._max_workers < n:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="losslab-batch")
        return _pool


def run_batch(spec, oid, hp, lrs, starts, steps, window, noise, seed, stream0, clip, batch,
              nreg, out):
    """Run every start in ``starts`` (n, 2) for ``steps`` updates; memory is O(n).

    Particle ``i`` uses noise stream ``stream0 + i``, so it reproduces ``run_trajectory``
    with that stream bit for bit. ``out`` (B_NCOL, n), one contiguous row per quantity so
    that the classification after the run reads contiguous arrays, receives the final
    point, its value, gradient and Hessian, the initial and smallest loss, the loss at the
    start of the last ``window`` updates, the number of direction reversals in that window,
    and the first step count if a value ended non-finite (-1 if none).
    """
    if int(oid) == O_LBFGS:
        raise ValueError("L-BFGS has no batch kernel: run one trajectory per start")
    key = (int(oid),) + surface_key(spec)
    k = _kernel("run_batch", _make_batch, key)
    args = (spec, hp, lrs, starts, steps, window, noise, seed, stream0, clip, batch, nreg, out)
    nblocks = (starts.shape[0] + BLOCK - 1) // BLOCK
    if INTERPRETED:
        k(*args, 0, nblocks)
        return
    done, _ = _interim_run("run_batch", key, k, starts.shape[0] * max(steps, 1),
                           args + (0, nblocks),
                           lambda: _twin().run_batch(spec, oid, *args[1:]))
    if done:
        return
    first = 0
    if not k.signatures:  # compile (or load) on this thread, with the first block
        first = min(1, nblocks)
        _call("run_batch", key, k, *args, 0, first)
    _run_split(k, args, first, nblocks)


def _run_split(k, args, first, nblocks):
    """``k(*args, b0, b1)`` over ``first..nblocks-1``, split between threads."""
    threads = min(_threads(), nblocks - first)
    if threads <= 1:
        k(*args, first, nblocks)
        return
    # The blocks are independent and the kernel releases the GIL (nogil), so threads run
    # them side by side: the same parallelism as a prange loop, without compiling numba's
    # parallel machinery for every specialisation. A few chunks per thread even out
    # blocks of unequal cost (diverged particles are cheap).
    chunks = min(nblocks - first, 4 * threads)
    edges = np.linspace(first, nblocks, chunks + 1).astype(np.int64)
    pool = _executor(threads)
    futures = [pool.submit(k, *args, int(b0), int(b1))
               for b0, b1 in zip(edges[:-1], edges[1:]) if b1 > b0]
    for f in futures:
        f.result()


# ---- many recorded runs: L-BFGS, and rates that follow each run's loss ---------------------
def one_run_for(oid, sid, bumps, plat_on, spec, hp, lrs, x0, y0, steps, noise, seed, stream,
                clip, batch, nreg, pos, loss, grad, evals, plat):
    """One recorded run for literal ``oid``, ``sid``, ``bumps``, ``plat_on`` (PLAT): the
    trajectory kernel ``run_trajectory`` calls (L-BFGS: its own)."""
    _, _, k = _trajectory_kernel(oid, (sid, bumps), plat_on)
    if oid == O_LBFGS:
        return k(spec, hp, lrs, x0, y0, steps, nreg, pos, loss, grad, evals, plat)
    return k(spec, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos, loss,
             grad, plat)


@overload(one_run_for, prefer_literal=True)
def _ol_one_run_for(oid, sid, bumps, plat_on, spec, hp, lrs, x0, y0, steps, noise, seed,
                    stream, clip, batch, nreg, pos, loss, grad, evals, plat):
    # The loop is inlined (numba IR inlining), not called: a call would name a function
    # that other specialisations share the name of, and a kernel loaded from the disk
    # cache could then call another specialisation's loop compiled earlier in the
    # process. This function's own name carries its literal oid, sid, bumps and plat_on.
    O, S, B, P = _lit(oid), _lit(sid), _lit(bumps), _lit(plat_on)
    if O == O_LBFGS:
        k = njit(**_INLINE)(_lbfgs_body(S, B, P))

        def one_lbfgs(oid, sid, bumps, plat_on, spec, hp, lrs, x0, y0, steps, noise, seed,
                      stream, clip, batch, nreg, pos, loss, grad, evals, plat):
            return k(spec, hp, lrs, x0, y0, steps, nreg, pos, loss, grad, evals, plat)

        return one_lbfgs
    k = njit(**_INLINE)(_trajectory_body(O, S, B, P))

    def one_run(oid, sid, bumps, plat_on, spec, hp, lrs, x0, y0, steps, noise, seed, stream,
                clip, batch, nreg, pos, loss, grad, evals, plat):
        return k(spec, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos,
                 loss, grad, plat)

    return one_run


def _make_runs(OID, SID, BUMPS, PLAT=0):
    @njit(**_JIT)
    def run_runs_kernel(spec, hp, lrs, plat, starts, steps, window, noise, seed, stream0,
                        clip, batch, nreg, out, b0, b1):
        """Starts ``b0..b1-1``: one recorded run each (``run_trajectory``'s kernel, its
        own copy of ``lrs``), summarised into ``out`` as ``engine._batch_by_runs`` did in
        Python: the same elements compared and summed in the same order."""
        dim = spec[1]
        pos = np.zeros((steps + 1, 2))
        loss = np.empty(steps + 1)
        grad = np.zeros((steps + 1, 2))
        evals = np.empty(max(steps, 1), dtype=np.int64)
        L = np.empty(lrs.shape[0])
        regs = np.empty(nreg)
        tail = steps - window
        lo = max(tail, 0)
        for i in range(b0, b1):
            for t in range(lrs.shape[0]):
                L[t] = lrs[t]
            x0 = starts[i, 0]
            y0 = starts[i, 1] if dim == 2 else 0.0
            k, reason = one_run_for(OID, SID, BUMPS, PLAT, spec, hp, L, x0, y0, steps, noise,
                                    seed, stream0 + i, clip, batch, nreg, pos, loss, grad,
                                    evals, plat)
            if k == 0:  # undefined at the start: the start itself, not finite
                pos[0, 0] = x0
                pos[0, 1] = y0
                loss[0] = math.nan
                grad[0, 0] = math.nan
                grad[0, 1] = math.nan
            k = max(k, 1)
            x = pos[k - 1, 0]
            y = pos[k - 1, 1]
            _, _, _, hxx, hxy, hyy = point_fgh(SID, BUMPS, spec, x, y if dim == 2 else 0.0,
                                               regs)
            out[B_X, i] = x
            out[B_Y, i] = y
            out[B_F, i] = loss[k - 1]
            out[B_GX, i] = grad[k - 1, 0]
            out[B_GY, i] = grad[k - 1, 1]
            out[B_HXX, i] = hxx
            out[B_HXY, i] = hxy if dim == 2 else 0.0
            out[B_HYY, i] = hyy if dim == 2 else 0.0
            out[B_F0, i] = loss[0]
            fm = loss[0]
            for t in range(1, k):
                if not fm <= loss[t]:  # numpy's min: a nan wins
                    fm = loss[t] if not math.isnan(fm) else fm
            out[B_FMIN, i] = fm
            out[B_FWIN, i] = loss[min(lo, k - 1)]
            flips = 0.0
            for t in range(lo + 1, k - 1):  # moves t-1 -> t and t -> t+1
                ax = pos[t, 0] - pos[t - 1, 0]
                ay = pos[t, 1] - pos[t - 1, 1]
                bx = pos[t + 1, 0] - pos[t, 0]
                by = pos[t + 1, 1] - pos[t, 1]
                if bx * ax + by * ay < 0.0:
                    flips += 1.0
            out[B_FLIPS, i] = flips
            out[B_BAD, i] = -1.0 if reason == 0 else float(k - 1)

    return run_runs_kernel


def _make_runs_plateau(OID, SID, BUMPS):
    return _make_runs(OID, SID, BUMPS, 1)


def run_runs(spec, oid, hp, lrs, plat, starts, steps, window, noise, seed, stream0, clip,
             batch, nreg, out):
    """``run_batch``'s summaries (the same rows of ``out``) from one recorded run per start,
    all in one kernel: for L-BFGS (no batch kernel) and a ReduceLROnPlateau (``plat``,
    a rate per run that follows its loss). Memory is O(steps) per thread."""
    on = _plateau_on(plat)
    if plat is None:
        plat = NO_PLATEAU
    key = (int(oid),) + surface_key(spec)
    name = "run_runs_plateau" if on else "run_runs"
    k = _kernel(name, _make_runs_plateau if on else _make_runs, key)
    n = starts.shape[0]
    args = (spec, hp, lrs, plat, starts, steps, window, noise, seed, stream0, clip, batch,
            nreg, out)
    if INTERPRETED:
        k(*args, 0, n)
        return
    work = n * (steps + 1) * (int(hp[1]) if int(oid) == O_LBFGS else 1)
    done, _ = _interim_run(name, key, k, work, args + (0, n),
                           lambda: _twin().run_runs(spec, oid, *args[1:]))
    if done:
        return
    first = 0
    if not k.signatures:  # compile (or load) on this thread, with the first start
        first = min(1, n)
        _call(name, key, k, *args, 0, first)
    _run_split(k, args, first, n)
