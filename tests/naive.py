"""Plain, obviously-correct reference implementations that the numba kernels are tested
against (the stumpy pattern): one point at a time, in pure Python (``math``) or simple
numpy, written from the textbook formulas rather than from the kernels.
"""

from __future__ import annotations

import math

import numpy as np

# ---- built-in surfaces: value L(p, **params) at one point --------------------------------


def quadratic(x, y):
    return x**2 + y**2


def ravine(x, y, condition=10.0, angle=30.0):
    th = math.radians(angle)
    u = x * math.cos(th) + y * math.sin(th)
    v = -x * math.sin(th) + y * math.cos(th)
    return 0.5 * (2.0 * v**2 + (2.0 / condition) * u**2)


def rosenbrock(x, y, a=1.0, b=100.0):
    return (a - x) ** 2 + b * (y - x**2) ** 2


def saddle(x, y):
    return x**2 - y**2


def two_wells(x, y, curvature_sharp=16.0, curvature_flat=1.0):
    q1 = curvature_sharp / 2 * ((x + 1.5) ** 2 + (y - 1.0) ** 2)
    q2 = curvature_flat / 2 * ((x - 1.0) ** 2 + (y + 1.0) ** 2)
    return q1 * q2 / (q1 + q2)


def plateau(x, y, width=1.0):
    return 1.0 - math.exp(-(x**2 + y**2) / width**2)


def himmelblau(x, y):
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def matyas(x, y):
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def rastrigin(x, y, A=10.0):
    return 2 * A + sum(t**2 - A * math.cos(2 * math.pi * t) for t in (x, y))


def ackley(x, y, a=20.0, b=0.2, c=2 * math.pi):
    return (
        -a * math.exp(-b * math.sqrt(0.5 * (x**2 + y**2)))
        - math.exp(0.5 * (math.cos(c * x) + math.cos(c * y)))
        + a
        + math.e
    )


def six_hump_camel(x, y):
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def styblinski_tang(x, y):
    return 0.5 * sum(t**4 - 16 * t**2 + 5 * t for t in (x, y))


def goldstein_price(x, y):
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def mccormick(x, y):
    return math.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def monkey_saddle(x, y):
    return x**3 - 3 * x * y**2


def parabola(w, a=1.0, c=2.0):
    return a * (w - c) ** 2


def double_well(w, tilt=0.0):
    return (w**2 - 1) ** 2 + tilt * w


def bumpy(w, amplitude=1.0, frequency=3.0):
    return w**2 / 10 + amplitude * math.sin(frequency * w)


#: library name -> reference value function (2-D: f(x, y, **p); 1-D: f(w, **p))
SURFACES = {
    "quadratic": quadratic,
    "ravine": ravine,
    "rosenbrock": rosenbrock,
    "saddle": saddle,
    "two-wells": two_wells,
    "plateau": plateau,
    "himmelblau": himmelblau,
    "beale": beale,
    "booth": booth,
    "matyas": matyas,
    "rastrigin": rastrigin,
    "ackley": ackley,
    "six-hump-camel": six_hump_camel,
    "styblinski-tang": styblinski_tang,
    "goldstein-price": goldstein_price,
    "mccormick": mccormick,
    "monkey-saddle": monkey_saddle,
    "parabola": parabola,
    "double-well": double_well,
    "bumpy": bumpy,
}


# ---- data surfaces: loss, gradient, Hessian with plain numpy ------------------------------


def mse(X, y, w):
    """Mean squared error of X @ w against y, its gradient and Hessian."""
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float)
    r = X @ w - y
    n = len(y)
    return float(np.mean(r**2)), 2.0 * X.T @ r / n, 2.0 * X.T @ X / n


def cross_entropy(X, y, w):
    """Mean binary cross-entropy of sigmoid(X @ w) for labels y in {0, 1}, with gradient
    and Hessian (computed one example at a time)."""
    n = len(y)
    f = 0.0
    g = np.zeros(2)
    H = np.zeros((2, 2))
    for xi, yi in zip(np.asarray(X, dtype=float), y):
        z = float(xi @ w)
        p = 1.0 / (1.0 + math.exp(-z))
        f += -(yi * math.log(p) + (1 - yi) * math.log(1 - p))
        g += (p - yi) * xi
        H += p * (1 - p) * np.outer(xi, xi)
    return f / n, g / n, H / n


# ---- optimizers: one update at a time, lists of floats, from the published algorithms ----
#
# Written from the pseudocode in torch.optim's documentation (SGD ... Adadelta), Chen et
# al. 2023, Program 1 (Lion), and the textbook damped Newton step, never from the kernels.
# ``grad(p)`` returns the gradient at the list ``p``; ``lrs[k]`` is the rate of update k.
# Returns the list of positions (steps + 1 lists).


def _sign(v):
    return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)


def optimize(name, hp, grad, start, lrs, hessian=None):
    """Run optimizer ``name`` (LossLab/torch class name) with hyperparameters ``hp`` (a
    dict of the class's fields, lr excluded) for ``len(lrs)`` updates from ``start``."""
    p = [float(v) for v in start]
    n = len(p)
    path = [list(p)]
    wd = hp.get("weight_decay", 0.0)
    b1, b2 = hp.get("betas", (0.9, 0.999))
    eps = hp.get("eps", 0.0)
    # per-coordinate state
    m = [0.0] * n  # first moment / momentum buffer / Adadelta's square avg
    v = [hp.get("initial_accumulator_value", 0.0)] * n  # second moment / state_sum
    u = [0.0] * n  # amsgrad's max / RMSprop's grad avg / Adadelta's acc_delta / inf norm
    mom_buf = [0.0] * n  # RMSprop momentum
    mu_product = 1.0
    # Rprop: the step size of each coordinate; ASGD: its rate eta, the average ax
    steps = [float(lrs[0]) if lrs else 0.0] * n
    eta, mu, ax = (float(lrs[0]) if lrs else 0.0), 1.0, [0.0] * n
    for k, lr in enumerate(lrs):
        t = k + 1
        g = [float(c) for c in grad(list(p))]
        if name == "Rprop":
            # Riedmiller and Braun (1993), iRprop-: grow the step while the sign holds,
            # shrink it and skip the move after a sign change
            em, ep = hp.get("etas", (0.5, 1.2))
            lo, hi = hp.get("step_sizes", (1e-6, 50.0))
            for i in range(n):
                gi = -g[i] if hp.get("maximize", False) else g[i]
                if gi * m[i] > 0:
                    steps[i] = min(steps[i] * ep, hi)
                elif gi * m[i] < 0:
                    steps[i] = max(steps[i] * em, lo)
                    gi = 0.0
                else:
                    steps[i] = min(max(steps[i], lo), hi)
                p[i] = p[i] - _sign(gi) * steps[i]
                m[i] = gi
            path.append(list(p))
            continue
        if name == "ASGD":
            # Polyak-Juditsky averaging with the decaying rate of torch's docs
            lambd = hp.get("lambd", 1e-4)
            for i in range(n):
                gi = g[i] + wd * p[i]
                p[i] = p[i] * (1 - lambd * eta) - eta * gi
                ax[i] = p[i] if mu == 1 else ax[i] + mu * (p[i] - ax[i])
            eta = lr / (1 + lambd * lr * t) ** hp.get("alpha", 0.75)
            mu = 1 / max(1, t - hp.get("t0", 1e6))
            path.append(list(p))
            continue
        if name == "Newton":
            H = hessian(list(p))
            lam = hp.get("damping", 0.0)
            if n == 1:
                p = [p[0] - lr * g[0] / (H[0][0] + lam)]
            else:
                a, b, c, d = H[0][0] + lam, H[0][1], H[1][0], H[1][1] + lam
                det = a * d - b * c
                # (H + lam I)^-1 g by the 2x2 inverse [[d, -b], [-c, a]] / det
                s0 = (d * g[0] - b * g[1]) / det
                s1 = (-c * g[0] + a * g[1]) / det
                p = [p[0] - lr * s0, p[1] - lr * s1]
            path.append(list(p))
            continue
        if name == "NAdam":
            psi = hp.get("momentum_decay", 4e-3)
            mu_t = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod_t = mu_product * mu_t
            prod_next = prod_t * mu_next
            mu_product = prod_t
        for i in range(n):
            gi = g[i]
            x = p[i]
            if name == "SGD":
                mu = hp.get("momentum", 0.0)
                tau = hp.get("dampening", 0.0)
                gi = gi + wd * x
                if mu != 0:
                    m[i] = gi if t == 1 else mu * m[i] + (1 - tau) * gi
                    gi = gi + mu * m[i] if hp.get("nesterov", False) else m[i]
                x = x - lr * gi
            elif name == "Adagrad":
                clr = lr / (1 + (t - 1) * hp.get("lr_decay", 0.0))
                gi = gi + wd * x
                v[i] = v[i] + gi * gi
                x = x - clr * gi / (math.sqrt(v[i]) + eps)
            elif name == "RMSprop":
                alpha = hp.get("alpha", 0.99)
                mu = hp.get("momentum", 0.0)
                gi = gi + wd * x
                v[i] = alpha * v[i] + (1 - alpha) * gi * gi
                vt = v[i]
                if hp.get("centered", False):
                    u[i] = alpha * u[i] + (1 - alpha) * gi
                    vt = vt - u[i] * u[i]
                if mu > 0:
                    mom_buf[i] = mu * mom_buf[i] + gi / (math.sqrt(vt) + eps)
                    x = x - lr * mom_buf[i]
                else:
                    x = x - lr * gi / (math.sqrt(vt) + eps)
            elif name in ("Adam", "AdamW"):
                if name == "AdamW":
                    x = x - lr * wd * x
                else:
                    gi = gi + wd * x
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                bc = hp.get("bias_correction", True)
                mhat = m[i] / (1 - b1**t) if bc else m[i]
                if hp.get("amsgrad", False):
                    u[i] = max(u[i], v[i])
                    vhat = u[i] / (1 - b2**t) if bc else u[i]
                else:
                    vhat = v[i] / (1 - b2**t) if bc else v[i]
                x = x - lr * mhat / (math.sqrt(vhat) + eps)
            elif name == "NAdam":
                if hp.get("decoupled_weight_decay", False):
                    x = x - lr * wd * x
                else:
                    gi = gi + wd * x
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                mhat = mu_next * m[i] / (1 - prod_next) + (1 - mu_t) * gi / (1 - prod_t)
                vhat = v[i] / (1 - b2**t)
                x = x - lr * mhat / (math.sqrt(vhat) + eps)
            elif name == "RAdam":
                if hp.get("decoupled_weight_decay", False):
                    x = x - lr * wd * x
                else:
                    gi = gi + wd * x
                m[i] = b1 * m[i] + (1 - b1) * gi
                v[i] = b2 * v[i] + (1 - b2) * gi * gi
                mhat = m[i] / (1 - b1**t)
                rho_inf = 2 / (1 - b2) - 1
                rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
                if rho_t > 5:
                    lt = math.sqrt(1 - b2**t) / (math.sqrt(v[i]) + eps)
                    rt = math.sqrt(
                        (rho_t - 4) * (rho_t - 2) * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    )
                    x = x - lr * mhat * rt * lt
                else:
                    x = x - lr * mhat
            elif name == "Adamax":
                gi = gi + wd * x
                m[i] = b1 * m[i] + (1 - b1) * gi
                u[i] = max(b2 * u[i], abs(gi) + eps)
                x = x - lr * m[i] / ((1 - b1**t) * u[i])
            elif name == "Adadelta":
                rho = hp.get("rho", 0.9)
                gi = gi + wd * x
                m[i] = rho * m[i] + (1 - rho) * gi * gi
                dx = math.sqrt(u[i] + eps) / math.sqrt(m[i] + eps) * gi
                u[i] = rho * u[i] + (1 - rho) * dx * dx
                x = x - lr * dx
            elif name == "Lion":
                lb1, lb2 = hp.get("betas", (0.9, 0.99))
                c = lb1 * m[i] + (1 - lb1) * gi
                x = x - lr * (_sign(c) + wd * x)
                m[i] = lb2 * m[i] + (1 - lb2) * gi
            else:
                raise KeyError(name)
            p[i] = x
        path.append(list(p))
    return path


# ---- ReduceLROnPlateau: written from torch.optim.lr_scheduler's documentation ------------
def plateau_rates(base_lr, losses, mode="min", factor=0.1, patience=10, threshold=1e-4,
                  threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
    """The rate of every update when ``scheduler.step(losses[k])`` follows update k:
    element k is the rate update k used (``len(losses)`` rates)."""
    lr = float(base_lr)
    best = math.inf if mode == "min" else -math.inf
    num_bad = 0
    cooldown_counter = 0
    out = []
    for current in losses:
        out.append(lr)
        current = float(current)
        if mode == "min" and threshold_mode == "rel":
            is_better = current < best * (1.0 - threshold)
        elif mode == "min":
            is_better = current < best - threshold
        elif threshold_mode == "rel":
            is_better = current > best * (threshold + 1.0)
        else:
            is_better = current > best + threshold
        if is_better:
            best = current
            num_bad = 0
        else:
            num_bad += 1
        if cooldown_counter > 0:  # in cooldown: bad epochs do not count
            cooldown_counter -= 1
            num_bad = 0
        if num_bad > patience:
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps:
                lr = new_lr
            cooldown_counter = cooldown
            num_bad = 0
    return out


def optimize_plateau(name, hp, loss, grad, start, base_lr, steps, **plateau):
    """``optimize`` under a ReduceLROnPlateau stepped with the loss before every update:
    the rates and the path depend on each other, so the run is redone with the rates of
    its own losses until they agree (each pass fixes at least one more rate, since the
    rate of update k depends only on the losses before it). Returns ``(path, rates)``."""
    lrs = [float(base_lr)] * steps
    for _ in range(steps + 1):
        path = optimize(name, hp, grad, start, lrs)
        new = plateau_rates(base_lr, [loss(p) for p in path[:steps]], **plateau)
        if new == lrs:
            return path, lrs
        lrs = new
    raise AssertionError("the rates did not settle")


# ---- contour lines: marching squares, one cell at a time ---------------------------------
def contour_segments(z, xs, ys, levels):
    """Segments ``[((x0, y0), (x1, y1)), ...]`` of the lines ``z == level``, textbook
    marching squares: walk the four edges of each cell, put a point where the level
    crosses an edge (linear interpolation), join the two points; a cell crossed on all
    four edges (a saddle) joins them by the value at its centre. Cells with an undefined
    corner are skipped."""
    out = []
    for lev in levels:
        for j in range(len(ys) - 1):
            for i in range(len(xs) - 1):
                corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
                vals = [float(z[b][a]) for a, b in corners]
                if not all(math.isfinite(v) for v in vals):
                    continue
                if not (min(vals) <= lev < max(vals)):
                    continue
                points = {}
                for e in range(4):
                    (a0, b0), (a1, b1) = corners[e], corners[(e + 1) % 4]
                    v0, v1 = vals[e], vals[(e + 1) % 4]
                    if (v0 > lev) != (v1 > lev):
                        t = (lev - v0) / (v1 - v0)
                        points[e] = (xs[a0] + t * (xs[a1] - xs[a0]),
                                     ys[b0] + t * (ys[b1] - ys[b0]))
                crossed = sorted(points)
                if len(crossed) == 2:
                    out.append((points[crossed[0]], points[crossed[1]]))
                    continue
                centre_above = sum(vals) / 4 > lev
                if centre_above == (vals[0] > lev):
                    # the centre is on corner 0's side: corners 1 and 3 are cut off
                    out += [(points[0], points[1]), (points[2], points[3])]
                else:
                    out += [(points[3], points[0]), (points[1], points[2])]
    return out


# ---- small networks: hyper-dual numbers give exact first and second derivatives -----------
#
# A hyper-dual number a + b e1 + c e2 + d e1 e2 (e1^2 = e2^2 = 0) carries f, df/dx.u,
# df/dx.v and d2f/dx2[u, v] exactly through every operation (Fike and Alonso 2011): no
# step size, no truncation error, only the rounding of the operations themselves. The
# network below is written from the textbook definitions (not from the kernels): a loop
# over examples, layers, units.


class HyperDual:
    __slots__ = ("a", "b", "c", "d")

    def __init__(self, a, b=0.0, c=0.0, d=0.0):
        self.a, self.b, self.c, self.d = float(a), float(b), float(c), float(d)

    @staticmethod
    def lift(x):
        return x if isinstance(x, HyperDual) else HyperDual(x)

    def __add__(self, o):
        o = HyperDual.lift(o)
        return HyperDual(self.a + o.a, self.b + o.b, self.c + o.c, self.d + o.d)

    __radd__ = __add__

    def __neg__(self):
        return HyperDual(-self.a, -self.b, -self.c, -self.d)

    def __sub__(self, o):
        return self + (-HyperDual.lift(o))

    def __rsub__(self, o):
        return HyperDual.lift(o) - self

    def __mul__(self, o):
        o = HyperDual.lift(o)
        return HyperDual(self.a * o.a, self.a * o.b + self.b * o.a, self.a * o.c + self.c * o.a,
                         self.a * o.d + self.b * o.c + self.c * o.b + self.d * o.a)

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self * HyperDual.lift(o).inverse()

    def __rtruediv__(self, o):
        return HyperDual.lift(o) * self.inverse()

    def chain(self, f0, f1, f2):
        """f(self) from f(a), f'(a), f''(a)."""
        return HyperDual(f0, f1 * self.b, f1 * self.c, f1 * self.d + f2 * self.b * self.c)

    def inverse(self):
        a = self.a
        return self.chain(1.0 / a, -1.0 / a**2, 2.0 / a**3)


def hd_exp(x):
    e = math.exp(x.a)
    return x.chain(e, e, e)


def hd_log(x):
    return x.chain(math.log(x.a), 1.0 / x.a, -1.0 / x.a**2)


def hd_tanh(x):
    t = math.tanh(x.a)
    return x.chain(t, 1.0 - t * t, -2.0 * t * (1.0 - t * t))


def hd_sigmoid(x):
    s = 1.0 / (1.0 + math.exp(-x.a))
    return x.chain(s, s * (1 - s), s * (1 - s) * (1 - 2 * s))


def hd_relu(x):
    return x if x.a > 0 else HyperDual(0.0)


HD_ACT = {"tanh": hd_tanh, "relu": hd_relu, "sigmoid": hd_sigmoid}


def mlp_layers(sizes, w):
    """Split a flat vector (torch's order) into [(W rows, b), ...]."""
    out, off = [], 0
    for nin, nout in zip(sizes[:-1], sizes[1:]):
        W = [[w[off + j * nin + i] for i in range(nin)] for j in range(nout)]
        off += nin * nout
        b = [w[off + j] for j in range(nout)]
        off += nout
        out.append((W, b))
    return out


def mlp_loss(sizes, activation, w, X, y):
    """Mean loss of the MLP with flat parameters ``w`` (floats or HyperDuals): binary
    cross-entropy of sigmoid(z) for one output, softmax cross-entropy for more."""
    act = HD_ACT[activation]
    layers = mlp_layers(sizes, w)
    total = HyperDual(0.0)
    for x, label in zip(X, y):
        h = [HyperDual(float(v)) for v in x]
        for li, (W, b) in enumerate(layers):
            z = []
            for j in range(len(W)):
                s = HyperDual.lift(b[j])
                for i in range(len(h)):
                    s = s + W[j][i] * h[i]
                z.append(s)
            h = z if li == len(layers) - 1 else [act(v) for v in z]
        if len(h) == 1:
            z = h[0]
            # -[y log s(z) + (1 - y) log(1 - s(z))] = log(1 + e^z) - y z
            sp = hd_log(1.0 + hd_exp(z)) if z.a < 30 else z + hd_log(1.0 + hd_exp(-z))
            total = total + sp - float(label) * z
        else:
            se = HyperDual(0.0)
            for v in h:
                se = se + hd_exp(v)
            total = total + hd_log(se) - h[int(label)]
    return total / len(X)


def mlp_value(sizes, activation, w, X, y):
    return mlp_loss(sizes, activation, [HyperDual(v) for v in w], X, y).a


def mlp_gradient(sizes, activation, w, X, y):
    n = len(w)
    g = []
    for k in range(n):
        p = [HyperDual(v, 1.0 if i == k else 0.0) for i, v in enumerate(w)]
        g.append(mlp_loss(sizes, activation, p, X, y).b)
    return g


def mlp_hessian(sizes, activation, w, X, y):
    """The exact Hessian, entry by entry (column k: e1 along k, e2 along each j)."""
    n = len(w)
    H = [[0.0] * n for _ in range(n)]
    for k in range(n):
        for j in range(k, n):
            p = [HyperDual(v, 1.0 if i == k else 0.0, 1.0 if i == j else 0.0)
                 for i, v in enumerate(w)]
            H[k][j] = H[j][k] = mlp_loss(sizes, activation, p, X, y).d
    return H


def eight_way_sum(terms):
    """The sum of ``terms`` in the order the MLP kernels' example sums use: eight partial
    sums of the terms with index 0, 1, ..., 7 mod 8 (over the whole blocks of eight),
    combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), then the remaining
    terms added one by one."""
    terms = [float(t) for t in terms]
    whole = len(terms) - len(terms) % 8
    s = [0.0] * 8
    for r in range(whole):
        s[r % 8] += terms[r]
    total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    for t in terms[whole:]:
        total += t
    return total


def mlp_recorded_sgd(sizes, activation, w0, X, y, Xt, yt, lr, batches, record_every):
    """Plain SGD on the textbook network, one update per index array of ``batches``
    (each the examples of that update's minibatch), recording as ``simulate`` with
    ``record_every`` does: the position at every step; the full-batch training loss,
    gradient and test loss at steps 0, k, 2k, ... and at the last step.

    Returns (positions, record_steps, losses, test_losses, gradients), lists."""
    steps = len(batches)
    p = [float(v) for v in w0]
    positions, rec, losses, tlosses, grads = [], [], [], [], []
    for t in range(steps + 1):
        positions.append(list(p))
        if t % record_every == 0 or t == steps:
            rec.append(t)
            losses.append(mlp_value(sizes, activation, p, X, y))
            tlosses.append(mlp_value(sizes, activation, p, Xt, yt))
            grads.append(mlp_gradient(sizes, activation, p, X, y))
        if t < steps:
            idx = batches[t]
            g = mlp_gradient(sizes, activation, p, [X[i] for i in idx], [y[i] for i in idx])
            p = [a - lr * b for a, b in zip(p, g)]
    return positions, rec, losses, tlosses, grads
