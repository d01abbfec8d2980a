"""The compiled kernels: evaluation over many points, one trajectory, many trajectories.

These are the only entry points the rest of LossLab calls (through ``engine`` and
``surface``). Each takes a surface spec (``field``), so each is compiled once for every
surface and cached on disk (``cache=True``). Hot loops never index the spec tuple per
step (that costs refcount traffic on its arrays): built-in surfaces without drawn bumps
take a hoisted fast path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .field import SID_EXPR, SID_LINREG, data_fgh, fg, fg_block, fgh
from .optim import (
    O_ADAM,
    O_NEWTON,
    hp_tuple,
    initial_slot0,
    newton_step,
    opt_update_block,
    step_coefs,
    update_coord,
)
from .rng import normal_pair, permutation
from .surfaces import (
    S_ROSENBROCK,
    builtin_fg,
    builtin_fg_block,
    builtin_fgh,
    rosenbrock_fg,
)

BLOCK = 256
_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def eval_points(spec, xs, ys, order, out, nreg):
    """Evaluate at ``len(xs)`` points into ``out`` (n, 6): f, gx, gy, hxx, hxy, hyy.

    Orders 0 and 1 fill columns 0..2 (Hessian columns are left as nan); order 2 fills all.
    Serial on purpose: most calls are small (a cursor point, a critical-point search),
    where waking a thread pool costs more than the work; a 512 x 512 grid of a built-in
    surface still takes only milliseconds.
    """
    n = xs.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    for blk in range(nblocks):
        i0 = blk * BLOCK
        m = min(BLOCK, n - i0)
        if order >= 2:
            regs = np.empty(nreg)
            for i in range(i0, i0 + m):
                f, gx, gy, hxx, hxy, hyy = fgh(spec, xs[i], ys[i], regs)
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
            fg_block(spec, xs[i0 : i0 + m], ys[i0 : i0 + m], f, gx, gy, m, regs2d)
            for k in range(m):
                out[i0 + k, 0] = f[k]
                out[i0 + k, 1] = gx[k]
                out[i0 + k, 2] = gy[k]
                out[i0 + k, 3] = np.nan
                out[i0 + k, 4] = np.nan
                out[i0 + k, 5] = np.nan


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


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
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


# ---- one trajectory ----------------------------------------------------------------------
@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _trajectory_loop(
    oid, spec, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos, loss, grad
):
    sid = spec[0]
    dim = spec[1]
    prm = spec[2]
    fast = sid < SID_EXPR and spec[6].shape[0] == 0
    regs = np.empty(nreg)
    X = spec[7]
    Y = spec[8]
    N = X.shape[0]
    perm = np.empty(max(N, 1), dtype=np.int64)
    B, nb = _minibatch(spec, batch)
    epoch = -1
    newton = oid == O_NEWTON
    h = hp_tuple(hp)
    lam = h[0]
    x = x0
    y = y0 if dim == 2 else 0.0
    sx0 = initial_slot0(oid, h)
    sy0 = sx0
    sx1 = 0.0
    sx2 = 0.0
    sy1 = 0.0
    sy2 = 0.0
    mu_prod = 1.0
    for t in range(steps + 1):
        if fast:
            f, gx, gy = builtin_fg(sid, prm, x, y)
        else:
            f, gx, gy = fg(spec, x, y, regs)
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
            _, gx, gy, _, _, _ = data_fgh(sid, X, Y, x, y, perm, j, B, False)
            if dim == 1:
                gy = 0.0
        gx, gy = _noise_clip(gx, gy, dim, noise, seed, stream, t, clip)
        lr = lrs[t]
        if newton:
            _, _, _, hxx, hxy, hyy = fgh(spec, x, y, regs)
            x, y = newton_step(lr, lam, dim, x, y, gx, gy, hxx, hxy, hyy)
        else:
            k0, k1, k2, k3, mu_prod = step_coefs(oid, h, t + 1, lr, mu_prod)
            x, sx0, sx1, sx2 = update_coord(oid, h, t + 1, lr, k0, k1, k2, k3, x, gx,
                                            sx0, sx1, sx2)
            if dim == 2:
                y, sy0, sy1, sy2 = update_coord(oid, h, t + 1, lr, k0, k1, k2, k3, y, gy,
                                                sy0, sy1, sy2)
        if not (math.isfinite(x) and math.isfinite(y)):
            return t + 1, 2
    return steps + 1, 0


@njit(**_JIT)
def run_trajectory(
    spec, oid, hp, lrs, x0, y0, steps, noise, seed, stream, clip, batch, nreg, pos, loss, grad
):
    """Run ``steps`` updates from (x0, y0), recording every point.

    Fills rows ``0..k-1`` of ``pos`` (steps+1, 2), ``loss`` and ``grad`` (the true, noise
    free gradient) and returns ``(k, reason)``: k = steps + 1 and reason 0 for a complete
    run; reason 1 when the loss or gradient became non-finite at row k (the surface is
    undefined there or overflowed), reason 2 when the update produced a non-finite
    position. The arrays then end at the last finite step.

    The loop is inlined once with a constant id for Adam (the benchmarked case), so its
    update compiles without the dispatch; the other optimizers share one generic copy.
    """
    if oid == O_ADAM:
        return _trajectory_loop(O_ADAM, spec, hp, lrs, x0, y0, steps, noise, seed, stream,
                                clip, batch, nreg, pos, loss, grad)
    return _trajectory_loop(oid, spec, hp, lrs, x0, y0, steps, noise, seed, stream,
                            clip, batch, nreg, pos, loss, grad)


# ---- many trajectories -------------------------------------------------------------------
# rows of run_batch's output (B_NCOL, n)
B_X, B_Y, B_F, B_GX, B_GY, B_HXX, B_HXY, B_HYY, B_F0, B_FLIPS, B_FWIN, B_BAD, B_FMIN = range(13)
B_NCOL = 13


@njit(**_JIT)
def _adam_steps(sid, prm, h, lrs, i0, m, steps, tail, P, fmin, out):
    """All ``steps`` plain Adam updates of a block on a built-in 2-D surface (no bumps, noise,
    clipping, minibatches or AMSGrad): ``_run_block``'s loop, fused for speed.

    The same operations in the same order as the general loop (so the same bits), in one
    pass over the particles per step: Rosenbrock's value and gradient are computed in the
    loop that updates (other surfaces fill F, GX, GY first with their block loop), so the
    loop vectorises (sqrt and division four particles at a time). Hot loops take only
    scalars and local arrays (an array passed to a helper costs reference counting), and
    never store conditionally (masked stores are slow): positions and the running minimum
    alternate between the two rows of XS, YS, FM, so the previous points stay available
    for the reversal count. On return ``P`` holds the final points and ``fmin`` the lowest
    loss before them.
    """
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
    for i in range(m):
        XS[0, i] = P[0, i]
        YS[0, i] = P[1, i]
    rosen = sid == S_ROSENBROCK
    pr = (prm[0], prm[1]) if rosen else (0.0, 0.0)  # scalars: hoisted out of the loop
    mu_prod = 1.0
    for t in range(steps):
        lr = lrs[t]
        k0, k1, k2, k3, mu_prod = step_coefs(O_ADAM, h, t + 1, lr, mu_prod)
        r = t & 1
        w = 1 - r
        if t == 0 or t == tail or not rosen:
            builtin_fg_block(sid, prm, XS[r], YS[r], F, GX, GY, m)
            if t == 0:
                for i in range(m):
                    out[B_F0, i0 + i] = F[i]
                    FM[0, i] = F[i]  # min(f0, f0) below keeps f0, as fmin = F does
            if t == tail:
                for i in range(m):
                    out[B_FWIN, i0 + i] = F[i]
        if rosen:
            for i in range(m):
                x = XS[r, i]
                y = YS[r, i]
                f, gx, gy = rosenbrock_fg(pr, x, y)
                FM[w, i] = min(FM[r, i], f)
                XS[w, i], MX[i], VX[i], _ = update_coord(O_ADAM, h, t + 1, lr, k0, k1, k2, k3,
                                                         x, gx, MX[i], VX[i], 0.0)
                YS[w, i], MY[i], VY[i], _ = update_coord(O_ADAM, h, t + 1, lr, k0, k1, k2, k3,
                                                         y, gy, MY[i], VY[i], 0.0)
        else:
            for i in range(m):
                FM[w, i] = min(FM[r, i], F[i])
                XS[w, i], MX[i], VX[i], _ = update_coord(O_ADAM, h, t + 1, lr, k0, k1, k2, k3,
                                                         XS[r, i], GX[i], MX[i], VX[i], 0.0)
                YS[w, i], MY[i], VY[i], _ = update_coord(O_ADAM, h, t + 1, lr, k0, k1, k2, k3,
                                                         YS[r, i], GY[i], MY[i], VY[i], 0.0)
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


@njit(**_JIT)
def _run_block(spec, oid, hp, lrs, starts, i0, m, steps, window, noise, seed, stream0, clip,
               batch, nreg, out):
    dim = spec[1]
    P = np.empty((2, BLOCK))
    G = np.zeros((2, BLOCK))
    F = np.empty(BLOCK)
    S = np.zeros((3, 2, BLOCK))
    Pold = np.zeros((2, BLOCK))
    Dprev = np.zeros((2, BLOCK))  # previous displacement, for the oscillation count
    regs2d = np.empty((nreg, BLOCK))
    regs = np.empty(nreg)
    N = spec[7].shape[0]
    perm = np.empty(max(N, 1), dtype=np.int64)
    B, nb = _minibatch(spec, batch)
    epoch = -1
    newton = oid == O_NEWTON
    h = hp_tuple(hp)
    lam = h[0]
    s0 = initial_slot0(oid, h)
    fmin = np.empty(BLOCK)
    for i in range(m):
        P[0, i] = starts[i0 + i, 0]
        P[1, i] = starts[i0 + i, 1] if dim == 2 else 0.0
        S[0, 0, i] = s0
        S[0, 1, i] = s0
        out[B_FLIPS, i0 + i] = 0.0
    mu_prod = 1.0
    tail = steps - window
    fused = (oid == O_ADAM and dim == 2 and spec[0] < SID_EXPR and spec[6].shape[0] == 0
             and B == 0 and not (noise > 0.0 or clip > 0.0) and h[4] == 0.0)
    if fused and steps > 0:
        _adam_steps(spec[0], spec[2], h, lrs, i0, m, steps, tail, P, fmin, out)
    for t in range(0 if fused else steps):
        fg_block(spec, P[0], P[1], F, G[0], G[1], m, regs2d)
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
        if B > 0:
            j, epoch = _batch_start(seed, t, B, nb, N, perm, epoch)
            for i in range(m):
                _, gx, gy, _, _, _ = data_fgh(
                    spec[0], spec[7], spec[8], P[0, i], P[1, i], perm, j, B, False
                )
                G[0, i] = gx
                G[1, i] = gy if dim == 2 else 0.0
        if noise > 0.0 or clip > 0.0:
            for i in range(m):
                G[0, i], G[1, i] = _noise_clip(G[0, i], G[1, i], dim, noise, seed,
                                               stream0 + i0 + i, t, clip)
        if newton:
            for i in range(m):
                _, _, _, hxx, hxy, hyy = fgh(spec, P[0, i], P[1, i], regs)
                P[0, i], P[1, i] = newton_step(lrs[t], lam, dim, P[0, i], P[1, i], G[0, i],
                                               G[1, i], hxx, hxy, hyy)
        else:
            mu_prod = opt_update_block(oid, h, t + 1, lrs[t], P, G, S, m, dim, mu_prod)
        if t >= tail:
            # count direction reversals: successive moves pointing against each other
            for i in range(m):
                dx = P[0, i] - Pold[0, i]
                dy = P[1, i] - Pold[1, i]
                if t > tail and dx * Dprev[0, i] + dy * Dprev[1, i] < 0.0:
                    out[B_FLIPS, i0 + i] += 1.0
                Dprev[0, i] = dx
                Dprev[1, i] = dy
    sid = spec[0]
    prm = spec[2]
    builtin = sid < SID_EXPR and spec[6].shape[0] == 0
    for i in range(m):
        x = P[0, i]
        y = P[1, i]
        if builtin:  # what fgh computes, without indexing the spec tuple per particle
            f, gx, gy, hxx, hxy, hyy = builtin_fgh(sid, prm, x, y)
            if dim == 1:
                gy = 0.0
                hxy = 0.0
                hyy = 0.0
        else:
            f, gx, gy, hxx, hxy, hyy = fgh(spec, x, y, regs)
        finite = math.isfinite(f + gx + gy + x + y)
        out[B_BAD, i0 + i] = -1.0 if finite and (steps == 0 or math.isfinite(fmin[i])) else steps
        out[B_X, i0 + i] = x
        out[B_Y, i0 + i] = y
        out[B_F, i0 + i] = f
        out[B_GX, i0 + i] = gx
        out[B_GY, i0 + i] = gy
        out[B_HXX, i0 + i] = hxx
        out[B_HXY, i0 + i] = hxy
        out[B_HYY, i0 + i] = hyy
        if steps == 0:
            out[B_F0, i0 + i] = f
            out[B_FMIN, i0 + i] = f
            out[B_FWIN, i0 + i] = f
        else:
            out[B_FMIN, i0 + i] = min(fmin[i], f)


@njit(cache=True, nogil=True, error_model="numpy", parallel=True)
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
    n = starts.shape[0]
    nblocks = (n + BLOCK - 1) // BLOCK
    for blk in prange(nblocks):
        i0 = blk * BLOCK
        m = min(BLOCK, n - i0)
        _run_block(spec, oid, hp, lrs, starts, i0, m, steps, window, noise, seed, stream0, clip,
                   batch, nreg, out)
