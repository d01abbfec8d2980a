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
