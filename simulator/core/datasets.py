"""Data-defined surfaces: the training loss of a two-weight model on a small dataset.

The datasets are synthetic and generated deterministically from a seed with
``numpy.random.default_rng`` (nothing is downloaded). The weights are the surface's two
coordinates ``(w1, w2)`` and the model's score for example ``i`` is
``z_i = w1 X[i, 0] + w2 X[i, 1]``; the kernels (``SID_LINREG``, ``SID_LOGREG`` in
``simulator.core.kernels.field``) evaluate the mean loss, its gradient and Hessian exactly,
over all examples or over a minibatch.

Examples
--------
>>> s = linear_regression(n=64, seed=0)
>>> s.variables
('w1', 'w2')
"""

from __future__ import annotations

import math

import numpy as np

from .kernels.field import SID_LINREG, SID_LOGREG
from .surface import Surface

__all__ = ["linear_regression", "logistic_regression"]


def _check_int(what: str, value, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if not (isinstance(value, (float, np.floating)) and float(value).is_integer()):
            raise ValueError(f"{what} must be a whole number, got {value!r}")
    v = int(value)
    if v < lo:
        raise ValueError(f"{what} must be >= {lo}, got {value!r}")
    return v


def _check_float(what: str, value, lo: float | None = None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{what} must be finite, got {value!r}")
    if lo is not None and v < lo:
        raise ValueError(f"{what} must be >= {lo:g}, got {value!r}")
    return v


def _domain(w: np.ndarray, margin: float = 2.0) -> tuple[tuple[float, float], ...]:
    """A view that shows both the origin (the usual start) and the minimum ``w``."""
    dom = []
    for wi in w:
        lo = math.floor(2.0 * (min(0.0, wi) - margin)) / 2.0
        hi = math.ceil(2.0 * (max(0.0, wi) + margin)) / 2.0
        dom.append((lo, hi))
    return tuple(dom)


# ---- linear regression ------------------------------------------------------------------
def linear_regression(
    n: int = 64,
    seed: int = 0,
    noise: float = 0.5,
    slope: float = 2.0,
    intercept: float = -1.0,
) -> Surface:
    """Mean squared error of the line ``y = w1 x + w2`` on synthetic data.

    The inputs are ``x_i ~ Uniform(-1, 3)`` (deliberately not centred, so the two weights
    are correlated and the loss bowl is tilted) and the targets
    ``y_i = slope x_i + intercept + noise * N(0, 1)``. The design matrix has columns
    ``(x_i, 1)``, so the weights ``(w1, w2)`` estimate ``(slope, intercept)``.

    Parameters
    ----------
    n : int
        Number of examples (>= 2).
    seed : int
        Seed for ``numpy.random.default_rng``.
    noise : float
        Standard deviation of the Gaussian target noise (>= 0).
    slope, intercept : float
        The true line.

    Returns
    -------
    Surface
        ``kind="data"``, ``sid=SID_LINREG``, variables ``("w1", "w2")``; ``minima`` holds
        the exact least-squares solution and ``min_value`` its loss.
    """
    n = _check_int("linear-regression: n", n, 2)
    seed = _check_int("linear-regression: seed", seed, 0)
    noise = _check_float("linear-regression: noise", noise, 0.0)
    slope = _check_float("linear-regression: slope", slope)
    intercept = _check_float("linear-regression: intercept", intercept)

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 3.0, size=n)
    y = slope * x + intercept + noise * rng.standard_normal(n)
    X = np.column_stack([x, np.ones(n)])
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = X @ w - y
    min_value = float(np.mean(r * r))
    return Surface(
        name="linear-regression",
        dim=2,
        domain=_domain(w),
        sid=SID_LINREG,
        X=X,
        Y=y,
        minima=((float(w[0]), float(w[1])),),
        min_value=min_value,
        description=(
            "The training loss of a straight-line fit y = w1 x + w2 to noisy points, as a "
            "function of the slope w1 and intercept w2. Mean squared error makes it an "
            "exact quadratic bowl whose minimum is the least-squares line. Because the x "
            "values are not centred, slope and intercept trade off against each other and "
            "the bowl is a tilted ellipse: centring the data would make it round. With "
            "minibatches the gradient becomes noisy, which is real stochastic gradient "
            "descent."
        ),
        formula="(1/n) sum_i (w1 x_i + w2 - y_i)^2",
        params={"n": n, "seed": seed, "noise": noise, "slope": slope, "intercept": intercept},
        kind="data",
        variables=("w1", "w2"),
    )


# ---- logistic regression ----------------------------------------------------------------
def _logistic_loss(X: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    z = X @ w
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _separable(X: np.ndarray, y: np.ndarray) -> bool:
    """Whether some w != 0 has (2 y_i - 1) w . x_i >= 0 for every example.

    Then the logistic loss has no finite minimiser. In 2-D this holds exactly when the
    signed points (2 y_i - 1) x_i leave an angular gap of at least pi.
    """
    v = (2.0 * y - 1.0)[:, None] * X
    v = v[np.hypot(v[:, 0], v[:, 1]) > 0.0]
    if len(v) < 3:
        return True
    ang = np.sort(np.arctan2(v[:, 1], v[:, 0]))
    gaps = np.diff(np.concatenate([ang, [ang[0] + 2.0 * math.pi]]))
    return bool(gaps.max() >= math.pi - 1e-9)


def _logistic_minimum(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Newton's method with backtracking from w = 0 (the loss is convex)."""
    w = np.zeros(2)
    loss = _logistic_loss(X, y, w)
    n = len(y)
    for _ in range(100):
        z = X @ w
        s = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid, overflow-free
        g = X.T @ (s - y) / n
        H = (X * (s * (1.0 - s))[:, None]).T @ X / n
        step = np.linalg.solve(H, g)
        t = 1.0
        # backtrack only on a real increase: near the minimum a Newton step changes the
        # loss by less than its rounding (|g|^2/lambda < eps |L|), and refusing such steps
        # stopped the search with a gradient of 1e-11 instead of at rounding level
        slack = 16.0 * np.finfo(float).eps * (1.0 + abs(loss))
        while True:
            wn = w - t * step
            ln = _logistic_loss(X, y, wn)
            if ln <= loss + slack or t < 1e-8:
                break
            t *= 0.5
        done = np.max(np.abs(wn - w)) <= 1e-15 * (1.0 + np.max(np.abs(w)))
        w, loss = wn, ln
        if done or np.max(np.abs(g)) < 1e-15:
            break
    return w


def logistic_regression(
    n: int = 64,
    seed: int = 0,
    noise: float = 1.0,
    weights: tuple[float, float] = (2.0, -1.0),
) -> Surface:
    """Mean binary cross-entropy of a two-feature logistic model on synthetic data.

    The features are ``x_i ~ N(0, I_2)`` and the labels
    ``y_i = 1 if weights . x_i + noise * N(0, 1) > 0 else 0``. The noise makes the two
    classes overlap, so the data are not linearly separable and the loss has a finite
    minimum. (If a draw happens to be separable, which is possible only for small ``n``
    or tiny ``noise``, the generator draws again from the same random stream, so the
    result is still determined by the seed.) The model has no bias term: the score is
    ``z_i = w1 x_i1 + w2 x_i2``.

    Parameters
    ----------
    n : int
        Number of examples (>= 4).
    seed : int
        Seed for ``numpy.random.default_rng``.
    noise : float
        Standard deviation of the noise on the true score (> 0).
    weights : (float, float)
        The true weights that generate the labels.

    Returns
    -------
    Surface
        ``kind="data"``, ``sid=SID_LOGREG``, variables ``("w1", "w2")``; ``minima`` holds
        the maximum-likelihood weights (Newton's method, at construction) and
        ``min_value`` their loss.

    Raises
    ------
    ValueError
        Bad arguments, or no non-separable draw in 100 attempts.
    """
    n = _check_int("logistic-regression: n", n, 4)
    seed = _check_int("logistic-regression: seed", seed, 0)
    noise = _check_float("logistic-regression: noise", noise, 0.0)
    if noise <= 0.0:
        raise ValueError(
            f"logistic-regression: noise must be > 0 (else the classes separate), got {noise!r}"
        )
    wt = np.array([_check_float("logistic-regression: weights", v) for v in weights])
    if wt.shape != (2,):
        raise ValueError(f"logistic-regression: weights must be 2 numbers, got {weights!r}")

    rng = np.random.default_rng(seed)
    for _ in range(100):
        X = rng.standard_normal((n, 2))
        z = X @ wt + noise * rng.standard_normal(n)
        y = (z > 0.0).astype(np.float64)
        if not _separable(X, y):
            break
    else:
        raise ValueError(
            "logistic-regression: the data keep coming out linearly separable "
            "(no finite minimum); increase n or noise"
        )
    w = _logistic_minimum(X, y)
    return Surface(
        name="logistic-regression",
        dim=2,
        domain=_domain(w),
        sid=SID_LOGREG,
        X=X,
        Y=y,
        minima=((float(w[0]), float(w[1])),),
        min_value=_logistic_loss(X, y, w),
        description=(
            "The training loss (mean binary cross-entropy) of a logistic-regression "
            "classifier with two weights, on two overlapping classes of points. It is "
            "convex, so there is one minimum, but unlike squared error it is not a "
            "quadratic: far from the minimum it grows only linearly (gradients stay "
            "bounded) and near it the curvature depends on how confident the model is. "
            "Because the classes overlap, the minimum is finite; on separable data the "
            "loss would keep decreasing forever as the weights grow."
        ),
        formula="(1/n) sum_i [log(1 + exp(z_i)) - y_i z_i],  z_i = w1 x_i1 + w2 x_i2",
        params={
            "n": n,
            "seed": seed,
            "noise": noise,
            "weights": (float(wt[0]), float(wt[1])),
        },
        kind="data",
        variables=("w1", "w2"),
    )
