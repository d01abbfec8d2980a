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

from ._jit import njit, overload, types

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
O_RPROP = 11
O_ASGD = 12
O_LBFGS = 13  # not coordinate-wise: its own loop in ``kernels.lbfgs``

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
    """1 - b**t as torch computes it (libm pow), skipping pow() where it is exactly 1.

    Every power of a step count here takes a float exponent: with an integer one, numba
    multiplies by repeated squaring (llvm.powi), which rounds differently from the
    C library's pow() that torch (``beta ** step`` on Python floats) and Python use."""
    if t >= cut:
        return 1.0
    return 1.0 - math.pow(b, float(t))


# ---- per-optimizer pieces ------------------------------------------------------------
# Each optimizer has a ``*_coefs(h, t, lr, mu_prod) -> (k0, k1, k2, k3, mu_prod)`` and a
# ``*_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2) -> (p, s0, s1, s2)``. A kernel
# specialised for one optimizer (see ``loops``) inlines just that optimizer's pair, chosen
# at compile time by ``coefs_for`` / ``coord_for``; the generic ``step_coefs`` and
# ``update_coord`` dispatch on a run-time id to the same functions (same operations, same
# bits).
@njit(**_INLINE)
def _no_coefs(h, t, lr, mu_prod):
    return 0.0, 0.0, 0.0, 0.0, mu_prod


@njit(**_INLINE)
def adagrad_coefs(h, t, lr, mu_prod):
    return lr / (1.0 + (t - 1) * h[0]), 0.0, 0.0, 0.0, mu_prod


@njit(**_INLINE)
def adam_coefs(h, t, lr, mu_prod):
    k0 = lr / _bias_correction(h[0], t, h[HP_CUT1])  # step_size
    k1 = math.sqrt(_bias_correction(h[1], t, h[HP_CUT2]))  # bias_correction2_sqrt
    k2 = 1.0 - lr * h[3]  # AdamW's decay factor
    return k0, k1, k2, 0.0, mu_prod


@njit(**_INLINE)
def nadam_coefs(h, t, lr, mu_prod):
    b1 = h[0]
    psi = h[4]
    mu = b1 * (1.0 - 0.5 * math.pow(0.96, t * psi))
    mu_next = b1 * (1.0 - 0.5 * math.pow(0.96, (t + 1) * psi))
    mu_prod = mu_prod * mu
    k0 = 1.0 - math.pow(h[1], float(t))  # bias_correction2
    k1 = lr * (1.0 - mu) / (1.0 - mu_prod)
    k2 = lr * mu_next / (1.0 - mu_prod * mu_next)
    return k0, k1, k2, 0.0, mu_prod


@njit(**_INLINE)
def radam_coefs(h, t, lr, mu_prod):
    b2 = h[1]
    b2t = math.pow(b2, float(t))
    bc2 = 1.0 - b2t
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * t * b2t / bc2
    k0 = 1.0 - math.pow(h[0], float(t))  # bias_correction1
    k1 = math.sqrt(bc2)
    k2 = 0.0
    k3 = 0.0
    if rho_t > 5.0:
        num = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
        k2 = math.sqrt(num / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        k3 = 1.0  # adaptive step on
    return k0, k1, k2, k3, mu_prod


@njit(**_INLINE)
def adamax_coefs(h, t, lr, mu_prod):
    return lr / _bias_correction(h[0], t, h[HP_CUT1]), 0.0, 0.0, 0.0, mu_prod


@njit(**_INLINE)
def asgd_coefs(h, t, lr, mu_prod):
    # torch keeps eta and mu as state, each set at the end of an update for the next one:
    # eta_{t+1} = lr_t / (1 + lambd lr_t t)^alpha (the rate of update t, so a schedule
    # reaches eta one update late) and mu_{t+1} = 1 / max(1, t - t0); at t = 1, eta = lr
    # and mu = 1. The carried scalar (``mu_prod``) holds the next eta.
    lambd = h[0]
    eta = lr if t == 1 else mu_prod
    mu = 1.0 if t == 1 else 1.0 / max(1.0, float(t - 1) - h[2])
    eta_next = lr / math.pow(1.0 + lambd * lr * float(t), h[1])
    return eta, mu, 1.0 - lambd * eta, 0.0, eta_next


@njit(**_INLINE)
def sgd_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
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
    return p - lr * g, s0, s1, s2


@njit(**_INLINE)
def adagrad_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    if h[1] != 0.0:
        g = g + h[1] * p
    s0 = s0 + g * g
    return p - k0 * (g / (math.sqrt(s0) + h[3])), s0, s1, s2


@njit(**_INLINE)
def rmsprop_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
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
    return p, s0, s1, s2


@njit(**_INLINE)
def _adam_moments(h, k0, k1, p, g, s0, s1, s2):
    # Branch-free on purpose (selects, not ifs) so the particle loop vectorises. With
    # weight_decay 0, torch skips the decay; here p * 1.0 and g + 0.0 * p leave every
    # finite value unchanged, so the numbers are the same.
    b1 = h[0]
    b2 = h[1]
    s0 = _lerp(s0, g, 1.0 - b1)
    s1 = s1 * b2 + (1.0 - b2) * g * g
    ams = h[4] != 0.0
    s2 = max(s2, s1) if ams else s2
    denom = math.sqrt(s2 if ams else s1) / k1 + h[2]
    return p - k0 * (s0 / denom), s0, s1, s2


@njit(**_INLINE)
def adam_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    return _adam_moments(h, k0, k1, p, g + h[3] * p, s0, s1, s2)


@njit(**_INLINE)
def adamw_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    return _adam_moments(h, k0, k1, p * k2, g, s0, s1, s2)


@njit(**_INLINE)
def nadam_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
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
    return p, s0, s1, s2


@njit(**_INLINE)
def radam_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
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
    return p, s0, s1, s2


@njit(**_INLINE)
def adamax_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    if h[3] != 0.0:
        g = g + h[3] * p
    s0 = _lerp(s0, g, 1.0 - h[0])
    s1 = max(s1 * h[1], abs(g) + h[2])
    return p - k0 * (s0 / s1), s0, s1, s2


@njit(**_INLINE)
def adadelta_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    rho = h[0]
    eps = h[1]
    if h[2] != 0.0:
        g = g + h[2] * p
    s0 = s0 * rho + (1.0 - rho) * g * g
    delta = math.sqrt(s1 + eps) / math.sqrt(s0 + eps) * g
    s1 = s1 * rho + (1.0 - rho) * delta * delta
    return p - lr * delta, s0, s1, s2


@njit(**_INLINE)
def lion_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    b1 = h[0]
    c = s0 * b1 + g * (1.0 - b1)
    sgn = 1.0 if c > 0.0 else (-1.0 if c < 0.0 else 0.0 * c)
    p = p * (1.0 - lr * h[2]) - lr * sgn
    s0 = s0 * h[1] + g * (1.0 - h[1])
    return p, s0, s1, s2


@njit(**_INLINE)
def rprop_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    # s0: the previous gradient (0 where the sign flipped), s1: the step size (lr at t=1)
    etaminus = h[0]
    etaplus = h[1]
    if h[4] != 0.0:  # maximize
        g = -g
    if t == 1:
        s1 = lr
    prod = g * s0
    if prod > 0.0:
        f = etaplus
    elif prod < 0.0:
        f = etaminus
    elif prod == 0.0:
        f = 1.0
    else:
        f = prod  # nan stays nan, as torch's sign() does
    s1 = min(max(s1 * f, h[2]), h[3])
    if f == etaminus:
        g = 0.0
    sgn = 1.0 if g > 0.0 else (-1.0 if g < 0.0 else 0.0 * g)
    return p - sgn * s1, g, s1, s2


@njit(**_INLINE)
def asgd_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    # s0: ax, the running average of the iterates; k0 = eta, k1 = mu, k2 = 1 - lambd eta
    if h[3] != 0.0:
        g = g + h[3] * p
    p = p * k2
    p = p - k0 * g
    if k1 != 1.0:
        s0 = s0 + (p - s0) * k1
    else:
        s0 = p
    return p, s0, s1, s2


@njit(**_INLINE)
def _no_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    return p, s0, s1, s2


# id -> (coefs, coord); Newton's step needs the Hessian and is taken by the loops
PIECES = {
    O_SGD: (_no_coefs, sgd_coord),
    O_ADAGRAD: (adagrad_coefs, adagrad_coord),
    O_RMSPROP: (_no_coefs, rmsprop_coord),
    O_ADAM: (adam_coefs, adam_coord),
    O_ADAMW: (adam_coefs, adamw_coord),
    O_NADAM: (nadam_coefs, nadam_coord),
    O_RADAM: (radam_coefs, radam_coord),
    O_ADAMAX: (adamax_coefs, adamax_coord),
    O_ADADELTA: (_no_coefs, adadelta_coord),
    O_LION: (_no_coefs, lion_coord),
    O_NEWTON: (_no_coefs, _no_coord),
    O_RPROP: (_no_coefs, rprop_coord),
    O_ASGD: (asgd_coefs, asgd_coord),
    O_LBFGS: (_no_coefs, _no_coord),
}


def coefs_for(oid, h, t, lr, mu_prod):
    """``step_coefs`` for a compile-time optimizer id (in plain Python: ``step_coefs``)."""
    return step_coefs(oid, h, t, lr, mu_prod)


def coord_for(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    """``update_coord`` for a compile-time optimizer id (in plain Python: ``update_coord``)."""
    return update_coord(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)


@overload(coefs_for, prefer_literal=True)
def _ol_coefs_for(oid, h, t, lr, mu_prod):
    if isinstance(oid, types.IntegerLiteral):
        fn = PIECES[oid.literal_value][0]

        def impl(oid, h, t, lr, mu_prod):
            return fn(h, t, lr, mu_prod)

        return impl

    def generic(oid, h, t, lr, mu_prod):
        return step_coefs(oid, h, t, lr, mu_prod)

    return generic


@overload(coord_for, prefer_literal=True)
def _ol_coord_for(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    if isinstance(oid, types.IntegerLiteral):
        fn = PIECES[oid.literal_value][1]

        def impl(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
            return fn(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)

        return impl

    def generic(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
        return update_coord(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)

    return generic


# ---- run-time dispatch (one kernel for every optimizer: kept for reference and tests) ----
@njit(**_INLINE)
def step_coefs(oid, h, t, lr, mu_prod):
    """Per-update scalars ``(k0, k1, k2, k3, mu_prod)`` for update ``t`` at rate ``lr``."""
    if oid == O_ADAGRAD:
        return adagrad_coefs(h, t, lr, mu_prod)
    if oid == O_ADAM or oid == O_ADAMW:
        return adam_coefs(h, t, lr, mu_prod)
    if oid == O_NADAM:
        return nadam_coefs(h, t, lr, mu_prod)
    if oid == O_RADAM:
        return radam_coefs(h, t, lr, mu_prod)
    if oid == O_ADAMAX:
        return adamax_coefs(h, t, lr, mu_prod)
    if oid == O_ASGD:
        return asgd_coefs(h, t, lr, mu_prod)
    return _no_coefs(h, t, lr, mu_prod)


@njit(**_INLINE)
def update_coord(oid, h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2):
    """One coordinate's update: returns the new ``(p, s0, s1, s2)``."""
    if oid == O_SGD:
        return sgd_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_ADAGRAD:
        return adagrad_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_RMSPROP:
        return rmsprop_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_ADAM:
        return adam_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_ADAMW:
        return adamw_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_NADAM:
        return nadam_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_RADAM:
        return radam_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_ADAMAX:
        return adamax_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_ADADELTA:
        return adadelta_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_LION:
        return lion_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_RPROP:
        return rprop_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
    if oid == O_ASGD:
        return asgd_coord(h, t, lr, k0, k1, k2, k3, p, g, s0, s1, s2)
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
