"""Optimizer updates, following torch.optim's single-tensor code step for step.

Every optimizer but Newton updates each coordinate independently, so each is written once
as a scalar function of one coordinate, ``update_coord``, with three state slots (for
Adam: exp_avg, exp_avg_sq, max_exp_avg_sq). Per-step scalars (bias corrections, NAdam's
mu, RAdam's rectification) come from ``step_coefs``, computed once per update. The
trajectory kernel calls these on local scalars; ``opt_update_block`` calls them inside
one loop per optimizer with a constant id, so the dispatch folds away and the loop over
particles vectorises.

Arithmetic follows torch's order of operations (``lerp_`` for exp_avg, ``mul_``/
``addcmul_`` for exp_avg_sq, ``sqrt / bias_correction2_sqrt + eps``) so values agree with
PyTorch's to the last few ulps. ``t`` is torch's ``state["step"]`` after incrementing
(1 on the first update). Ids and ``hp`` layouts match ``simulator.core.optimizers``.
"""

from __future__ import annotations

import math

from numba import njit

O_SGD = 0
O_ADAGRAD = 1
O_RMSPROP = 2
O_ADAM = 3
O_ADAMW = 4
O_NADAM = 5
O_RADAM = 6
O_ADAMAX = 7
O_ADADELTA = 8
O_LION = 9
O_NEWTON = 10

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_INLINE = dict(_JIT, inline="always")


@njit(**_INLINE)
def _lerp(a, b, w):
    # torch's CPU lerp: a + w*(b-a) for |w| < 0.5, else b - (b-a)*(1-w). Both sides are
    # computed and one selected, so a loop over particles stays branch-free (vectorises).
    d = b - a
    lo = a + w * d
    hi = b - d * (1.0 - w)
    return lo if abs(w) < 0.5 else hi


@njit(**_INLINE)
def initial_slot0(oid, h):
    """Initial value of state slot 0 (Adagrad's initial_accumulator_value, else 0)."""
    if oid == O_ADAGRAD:
        return h[2]
    return 0.0


# hp is padded to HP_SIZE; the last two slots hold, for optimizers with betas, the step
# from which beta1**t (beta2**t) < 2**-54, where 1 - beta**t is exactly 1.0 in float64:
# from there on the bias correction needs no pow() and is still bit-identical.
HP_SIZE = 10
HP_CUT1 = 8
HP_CUT2 = 9


@njit(**_INLINE)
def hp_tuple(hp):
    """The padded hyperparameter array as a tuple of HP_SIZE scalars."""
    return (hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], hp[6], hp[7], hp[8], hp[9])


@njit(**_INLINE)
def _bias_correction(b, t, cut):
    """1 - b**t as torch computes it (libm pow), skipping pow() where it is exactly 1."""
    if t >= cut:
        return 1.0
    return 1.0 - math.pow(b, t)


@njit(**_INLINE)
def step_coefs(oid, h, t, lr, mu_prod):
    """Per-update scalars ``(k0, k1, k2, k3, mu_prod)`` for update ``t`` at rate ``lr``."""
    k0 = 0.0
    k1 = 0.0
    k2 = 0.0
    k3 = 0.0
    if oid == O_ADAGRAD:
        k0 = lr / (1.0 + (t - 1) * h[0])
    elif oid == O_ADAM or oid == O_ADAMW:
        k0 = lr / _bias_correction(h[0], t, h[HP_CUT1])  # step_size
        k1 = math.sqrt(_bias_correction(h[1], t, h[HP_CUT2]))  # bias_correction2_sqrt
        k2 = 1.0 - lr * h[3]  # AdamW's decay factor
    elif oid == O_NADAM:
        b1 = h[0]
        psi = h[4]
        mu = b1 * (1.0 - 0.5 * math.pow(0.96, t * psi))
        mu_next = b1 * (1.0 - 0.5 * math.pow(0.96, (t + 1) * psi))
        mu_prod = mu_prod * mu
        k0 = 1.0 - math.pow(h[1], t)  # bias_correction2
        k1 = lr * (1.0 - mu) / (1.0 - mu_prod)
        k2 = lr * mu_next / (1.0 - mu_prod * mu_next)
    elif oid == O_RADAM:
        b2 = h[1]
        b2t = math.pow(b2, t)
        bc2 = 1.0 - b2t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2t / bc2
        k0 = 1.0 - math.pow(h[0], t)  # bias_correction1
        k1 = math.sqrt(bc2)
        if rho_t > 5.0:
            num = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
            k2 = math.sqrt(num / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
            k3 = 1.0  # adaptive step on
    elif oid == O_ADAMAX:
        k0 = lr / _bias_correction(h[0], t, h[HP_CUT1])
    return k0, k1, k2, k3, mu_prod


@njit(**_INLINE)
def update_coord(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    """One coordinate's update: returns the new ``(p, s0, s1, s2)``."""
    if oid == O_SGD:
        mom = h[0]
        wd = h[2]
        if wd != 0.0:
            g = g + wd * p
        if mom != 0.0:
            if t == 1:
                s0 = g
            else:
                s0 = s0 * mom + (1.0 - h[1]) * g
            if h[3] != 0.0:
                g = g + mom * s0
            else:
                g = s0
        p = p - lr * g
    elif oid == O_ADAGRAD:
        if h[1] != 0.0:
            g = g + h[1] * p
        s0 = s0 + g * g
        p = p - k0 * (g / (math.sqrt(s0) + h[3]))
    elif oid == O_RMSPROP:
        alpha = h[0]
        eps = h[1]
        mom = h[3]
        if h[2] != 0.0:
            g = g + h[2] * p
        s0 = s0 * alpha + (1.0 - alpha) * g * g
        if h[4] != 0.0:
            s1 = _lerp(s1, g, 1.0 - alpha)
            avg = math.sqrt(s0 - s1 * s1) + eps
        else:
            avg = math.sqrt(s0) + eps
        if mom > 0.0:
            s2 = s2 * mom + g / avg
            p = p - lr * s2
        else:
            p = p - lr * (g / avg)
    elif oid == O_ADAM or oid == O_ADAMW:
        # Branch-free on purpose (selects, not ifs) so the particle loop vectorises. With
        # weight_decay 0, torch skips the decay; here p * 1.0 and g + 0.0 * p leave every
        # finite value unchanged, so the numbers are the same.
        b1 = h[0]
        b2 = h[1]
        if oid == O_ADAMW:
            p = p * k2
        else:
            g = g + h[3] * p
        s0 = _lerp(s0, g, 1.0 - b1)
        s1 = s1 * b2 + (1.0 - b2) * g * g
        ams = h[4] != 0.0
        s2 = max(s2, s1) if ams else s2
        denom = math.sqrt(s2 if ams else s1) / k1 + h[2]
        p = p - k0 * (s0 / denom)
    elif oid == O_NADAM:
        b1 = h[0]
        b2 = h[1]
        wd = h[3]
        if wd != 0.0:
            if h[5] != 0.0:
                p = p * (1.0 - lr * wd)
            else:
                g = g + wd * p
        s0 = _lerp(s0, g, 1.0 - b1)
        s1 = s1 * b2 + (1.0 - b2) * g * g
        denom = math.sqrt(s1 / k0) + h[2]
        p = p - k1 * (g / denom)
        p = p - k2 * (s0 / denom)
    elif oid == O_RADAM:
        b1 = h[0]
        b2 = h[1]
        wd = h[3]
        if wd != 0.0:
            if h[4] != 0.0:
                p = p * (1.0 - lr * wd)
            else:
                g = g + wd * p
        s0 = _lerp(s0, g, 1.0 - b1)
        s1 = s1 * b2 + (1.0 - b2) * g * g
        mhat = s0 / k0
        if k3 != 0.0:
            p = p - mhat * lr * (k1 / (math.sqrt(s1) + h[2])) * k2
        else:
            p = p - mhat * lr
    elif oid == O_ADAMAX:
        if h[3] != 0.0:
            g = g + h[3] * p
        s0 = _lerp(s0, g, 1.0 - h[0])
        s1 = max(s1 * h[1], abs(g) + h[2])
        p = p - k0 * (s0 / s1)
    elif oid == O_ADADELTA:
        rho = h[0]
        eps = h[1]
        if h[2] != 0.0:
            g = g + h[2] * p
        s0 = s0 * rho + (1.0 - rho) * g * g
        delta = math.sqrt(s1 + eps) / math.sqrt(s0 + eps) * g
        s1 = s1 * rho + (1.0 - rho) * delta * delta
        p = p - lr * delta
    elif oid == O_LION:
        b1 = h[0]
        c = s0 * b1 + g * (1.0 - b1)
        sgn = 1.0 if c > 0.0 else (-1.0 if c < 0.0 else 0.0 * c)
        p = p * (1.0 - lr * h[2]) - lr * sgn
        s0 = s0 * h[1] + g * (1.0 - h[1])
    return p, s0, s1, s2


@njit(**_INLINE)
def newton_step(lr, lam, dim, x, y, gx, gy, hxx, hxy, hyy):
    """Damped Newton: (x, y) - lr * (H + lam I)^-1 g (1-D: divide by hxx + lam)."""
    if dim == 1:
        return x - lr * gx / (hxx + lam), y
    a = hxx + lam
    d = hyy + lam
    det = a * d - hxy * hxy
    return x - lr * (d * gx - hxy * gy) / det, y - lr * (a * gy - hxy * gx) / det


@njit(**_INLINE)
def _block_loop(oid, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim):
    for c in range(dim):
        for i in range(n):
            P[c, i], S[0, c, i], S[1, c, i], S[2, c, i] = update_coord(
                oid, h, t, lr, k0, k1, k2, k3, P[c, i], G[c, i], S[0, c, i], S[1, c, i],
                S[2, c, i],
            )


@njit(**_JIT)
def opt_update_block(oid, h, t, lr, P, G, S, n, dim, mu_prod):
    """Update ``n`` particles in place (all optimizers but Newton); returns mu_prod.

    ``P``, ``G`` are (2, >= n); ``S`` is (3, 2, >= n). One loop per optimizer with a
    constant id, so that after inlining each loop body is branch-free and vectorises.
    ``h`` is ``hp_tuple(hp)``: scalars, not an array, so that LLVM can hoist them out of
    the particle loop (it cannot prove an array does not alias the state).
    """
    k0, k1, k2, k3, mu_prod = step_coefs(oid, h, t, lr, mu_prod)
    if oid == O_SGD:
        _block_loop(O_SGD, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_ADAGRAD:
        _block_loop(O_ADAGRAD, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_RMSPROP:
        _block_loop(O_RMSPROP, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_ADAM:
        _block_loop(O_ADAM, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_ADAMW:
        _block_loop(O_ADAMW, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_NADAM:
        _block_loop(O_NADAM, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_RADAM:
        _block_loop(O_RADAM, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_ADAMAX:
        _block_loop(O_ADAMAX, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_ADADELTA:
        _block_loop(O_ADADELTA, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    elif oid == O_LION:
        _block_loop(O_LION, h, t, lr, k0, k1, k2, k3, P, G, S, n, dim)
    return mu_prod
