"""Seeded two-dimensional classification datasets for the small networks (``network``).

Everything is generated here in numpy from a seed; nothing is shipped. Each dataset is a
cloud of 2-D points with integer class labels 0..K-1:

``moons``
    two interleaving half circles (as scikit-learn's ``make_moons``), K = 2.
``circles``
    a ring of radius 1 around a disc-edge of radius 0.5 (``make_circles``), K = 2.
``spirals``
    two or three interleaved arms (``classes=3`` for three), K = 2 or 3.
``xor``
    points uniform in the square [-1, 1]^2, class 1 where x * y > 0 (the XOR quadrants).
``blobs``
    two discs of radius 0.8 around (-1, -1) and (1, 1): linearly separable (by x + y = 0)
    until noise is added.

``noise`` is the standard deviation of Gaussian noise added to every coordinate (as
scikit-learn's ``noise``); ``label_noise`` is the fraction of *training* labels replaced
by a different class drawn at random (the test labels stay clean, so the test loss
measures how well a network learned the true classes). Classes are balanced: class c
gets ``n // K`` points, the first ``n % K`` classes one more, and the points are shuffled.
The training and test sets are independent draws from the same distribution.
"""

from __future__ import annotations

import math

import numpy as np

DATASETS = ("moons", "circles", "spirals", "xor", "blobs")
MAX_POINTS = 100_000


def n_classes(name: str, classes: int | None = None) -> int:
    """How many classes dataset ``name`` has (``classes`` only applies to spirals)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if classes is None:
        return 2
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)):
        raise ValueError(f"classes must be 2 or 3, got {classes!r}")
    if name == "spirals":
        if classes not in (2, 3):
            raise ValueError(f"spirals have 2 or 3 classes, got {classes}")
        return int(classes)
    if classes != 2:
        raise ValueError(f"{name} has 2 classes (only spirals take classes=3), got {classes}")
    return 2


def _balanced(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    y = np.arange(n, dtype=np.int64) % k
    return y[rng.permutation(n)]


def _points(name: str, y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Noise-free points for the labels ``y``."""
    n = len(y)
    u = rng.random(n)
    if name == "moons":
        t = math.pi * u
        outer = np.column_stack([np.cos(t), np.sin(t)])
        inner = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
        X = np.where(y[:, None] == 0, outer, inner)
        return X - np.array([0.5, 0.25])  # centred on the origin
    if name == "circles":
        t = 2.0 * math.pi * u
        r = np.where(y == 0, 1.0, 0.5)
        return np.column_stack([r * np.cos(t), r * np.sin(t)])
    if name == "spirals":
        # arm c: radius r in [0.1, 1], angle 1.75 turns over the arm, offset 2 pi c / k
        r = 0.1 + 0.9 * u
        th = 3.5 * math.pi * u + 2.0 * math.pi * y / k
        return np.column_stack([r * np.sin(th), r * np.cos(th)])
    if name == "xor":
        X = rng.uniform(-1.0, 1.0, size=(n, 2))
        # the labels follow the quadrant: put each point into a quadrant of its class
        same = (X[:, 0] * X[:, 1] > 0) == (y == 1)
        X[~same, 0] *= -1.0
        return X
    if name == "blobs":
        r = 0.8 * np.sqrt(u)
        t = 2.0 * math.pi * rng.random(n)
        c = np.where(y == 0, -1.0, 1.0)
        return np.column_stack([c + r * np.cos(t), c + r * np.sin(t)])
    raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def make_dataset(name: str, n: int, noise: float = 0.0, label_noise: float = 0.0,
                 seed: int = 0, classes: int | None = None, stream: int = 0):
    """``n`` points of dataset ``name``: ``(X (n, 2) float64, y (n,) int64)``.

    ``stream`` separates independent draws from one seed (the training set is stream 0,
    the test set stream 1). ``label_noise`` is the fraction of labels replaced by another
    class, drawn at random.
    """
    k = n_classes(name, classes)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_POINTS:
        raise ValueError(f"the number of points must be an integer from 1 to {MAX_POINTS:,},"
                         f" got {n!r}")
    for what, v, hi in (("noise", noise, 10.0), ("label_noise", label_noise, 1.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                math.isfinite(v) and 0.0 <= v <= hi):
            raise ValueError(f"{what} must be a number from 0 to {hi:g}, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    rng = np.random.default_rng([int(seed), int(stream), DATASETS.index(name)])
    y = _balanced(int(n), k, rng)
    X = _points(name, y, k, rng)
    if noise > 0.0:
        X = X + noise * rng.standard_normal(X.shape)
    if label_noise > 0.0:
        flip = rng.random(len(y)) < label_noise
        shift = rng.integers(1, k, size=len(y))  # another class, uniformly
        y = np.where(flip, (y + shift) % k, y)
    return np.ascontiguousarray(X, dtype=np.float64), y.astype(np.int64)


def default_init(sizes, seed: int) -> np.ndarray:
    """torch's default initialisation of ``nn.Linear`` layers, as one flat vector.

    ``nn.Linear.reset_parameters`` draws the weight with ``kaiming_uniform_(a=sqrt(5))``,
    i.e. uniform in ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and the bias uniform in the same
    interval. The numbers come from ``numpy.random.default_rng(seed)``: layer by layer,
    the weight ``(out, in)`` row-major, then the bias, in torch's parameter order.
    """
    rng = np.random.default_rng(int(seed))
    parts = []
    for i in range(len(sizes) - 1):
        fan_in, out = int(sizes[i]), int(sizes[i + 1])
        bound = 1.0 / math.sqrt(fan_in)
        parts.append(rng.uniform(-bound, bound, size=out * fan_in))
        parts.append(rng.uniform(-bound, bound, size=out))
    return np.concatenate(parts)
