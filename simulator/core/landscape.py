"""Loss landscapes of a network: 2-D loss planes through parameter space, and curvature.

``loss_plane`` samples the training loss on the plane ``center + a d1 + b d2`` spanned by
two directions, and projects each run onto it:

``"pca"``
    the top two principal directions of the runs' positions around the centre (as
    loss-landscape-anim does): the right singular vectors of the matrix whose rows are
    every recorded position minus the centre; ``explained_variance`` gives the share of
    the squared distance to the centre each direction captures, so a projection is not
    over-read. Unit vectors; the plane reaches ``1.25 span`` times the farthest
    projected point along each direction.
``"filter"``
    two Gaussian random directions normalised filter by filter (Li et al. 2018, "Visualizing
    the loss landscape of neural nets"): each output row of a weight matrix is scaled to
    the norm of the same row of the centre's weights; the biases' entries are zero. The
    plane spans ``a, b`` in ``[-span, span]``.

Paths are the least-squares coordinates of each position in the plane (the orthogonal
projection; for PCA's orthonormal directions, dot products).

``sharpness`` is the largest eigenvalue of the Hessian of the training loss and
``hessian_eigenvalues`` the largest few, by Lanczos iteration with full
reorthogonalisation on exact Hessian-vector products (``Network.hvp``): no Hessian is
formed. Each Ritz value is accepted when its residual bound ``|beta_m s_m|`` (Parlett,
The Symmetric Eigenvalue Problem, 13.2) is below ``tol`` times its size; the bound is an
upper limit on its distance to an eigenvalue of the Hessian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .kernels import mlp
from .network import Network

MAX_RESOLUTION = 401
DIRECTIONS = ("pca", "filter")


@dataclass(eq=False, repr=False)
class LossPlane:
    """The training loss on a plane through parameter space, as ``loss_plane`` makes it.

    Parameters
    ----------
    alphas, betas : ndarray (resolution,)
        Coordinates along the first and the second direction.
    losses : ndarray (resolution, resolution)
        ``losses[j, i]`` is the loss at ``center + alphas[i] d1 + betas[j] d2``.
    center : ndarray (n_params,)
        The plane's origin.
    directions : ndarray (2, n_params)
        ``d1`` and ``d2``.
    paths : list of ndarray (steps + 1, 2)
        Each run's positions in plane coordinates ``(alpha, beta)``.
    path_losses : list of ndarray (steps + 1,)
        Each run's recorded training loss (the loss on the path, not in the plane);
        NaN at the steps a run with ``record_every`` > 1 did not record.
    kind : str
        ``"pca"`` or ``"filter"``.
    explained_variance : ndarray (2,) or None
        For ``"pca"``: the fraction of the runs' squared distance to the centre along each
        direction; None for ``"filter"``.
    """

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    center: np.ndarray
    directions: np.ndarray
    paths: list = field(default_factory=list)
    path_losses: list = field(default_factory=list)
    kind: str = "pca"
    explained_variance: np.ndarray | None = None

    def __repr__(self) -> str:
        ev = ("" if self.explained_variance is None else
              f", explained variance {self.explained_variance[0]:.1%} + "
              f"{self.explained_variance[1]:.1%}")
        return (f"<LossPlane {self.kind} {len(self.alphas)}x{len(self.betas)}, "
                f"{len(self.paths)} path{'s' if len(self.paths) != 1 else ''}{ev}>")


def _positions(runs, n: int) -> list[np.ndarray]:
    out = []
    for r in runs:
        P = getattr(r, "positions", r)
        P = np.asarray(P, dtype=np.float64)
        if P.ndim == 1:
            P = P.reshape(1, -1)
        if P.ndim != 2 or P.shape[1] != n:
            raise ValueError(f"each run must be a Trajectory on this network or an array "
                             f"(k, {n}) of positions, got shape {P.shape}")
        if not np.all(np.isfinite(P)):
            raise ValueError("the runs' positions must be finite")
        out.append(P)
    return out


def _top_directions(M: np.ndarray):
    """The top two right singular vectors of ``M`` (rows) and their squared singular
    values, from the eigenvectors of the smaller Gram matrix (``M.T M`` or ``M M.T``):
    a full SVD of a run's thousands of positions spends its time on left vectors."""
    if M.shape[1] <= M.shape[0]:
        lam, V = np.linalg.eigh(M.T @ M)
        top = V[:, ::-1][:, :2].T
    else:
        lam, U = np.linalg.eigh(M @ M.T)
        top = U[:, ::-1][:, :2].T @ M
        top /= np.maximum(np.linalg.norm(top, axis=1, keepdims=True), 1e-300)
    sv2 = np.maximum(lam[::-1][:2], 0.0)
    if len(sv2) < 2:
        sv2 = np.append(sv2, 0.0)
        top = np.vstack([top, np.zeros(M.shape[1])])
    return top, sv2


def filter_direction(net: Network, center: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A Gaussian direction normalised filter by filter to ``center`` (biases zero)."""
    d = rng.standard_normal(net.n_params)
    off = 0
    s = net.sizes
    for i in range(len(s) - 1):
        nin, nout = int(s[i]), int(s[i + 1])
        for j in range(nout):
            row = slice(off + j * nin, off + (j + 1) * nin)
            dn = np.linalg.norm(d[row])
            d[row] *= np.linalg.norm(center[row]) / dn if dn > 0 else 0.0
        off += nout * nin
        d[off : off + nout] = 0.0
        off += nout
    return d


def _grid_losses(net: Network, c, d1, d2, alphas, betas) -> np.ndarray:
    """The plane's losses, rows of betas split over threads (the kernel releases the GIL)."""
    from .kernels.loops import _executor, _threads

    a = net._arrays
    out = np.empty((len(betas), len(alphas)))
    threads = min(_threads(), len(betas))
    if threads <= 1 or len(betas) * len(alphas) < 64:
        mlp.plane_losses(a["sizes"], net.act_id, c, d1, d2, alphas, betas, a["X"], a["y"], out)
        return out
    # compile (or load) on this thread first, then share the rows
    mlp.plane_losses(a["sizes"], net.act_id, c, d1, d2, alphas, betas[:1], a["X"], a["y"],
                     out[:1])
    edges = np.linspace(1, len(betas), threads + 1).astype(np.int64)
    pool = _executor(threads)
    futs = [pool.submit(mlp.plane_losses, a["sizes"], net.act_id, c, d1, d2, alphas,
                        betas[b0:b1], a["X"], a["y"], out[b0:b1])
            for b0, b1 in zip(edges[:-1], edges[1:]) if b1 > b0]
    for f in futs:
        f.result()
    return out


def loss_plane(net: Network, runs=(), directions: str = "pca", center=None,
               span: float = 1.0, resolution: int = 51, seed: int = 0) -> LossPlane:
    """The training loss on a 2-D plane through a network's parameter space.

    Parameters
    ----------
    net : Network
        The network.
    runs : sequence of Trajectory or array (k, n_params)
        Runs to project onto the plane (PCA needs at least one that moved).
    directions : {"pca", "filter"}
        The runs' top two principal directions around the centre, or two random
        filter-normalised directions (Li et al. 2018).
    center : array_like (n_params,), optional
        The plane's origin; default the first run's last position (``net.init`` without
        runs).
    span : float
        Half-width of the plane: ``[-span, span]`` in filter-normalised units, or
        ``1.25 span`` times the farthest projected point along each PCA direction.
    resolution : int
        Grid points per side (3 to 401).
    seed : int
        Seed of the random filter directions.

    Returns
    -------
    LossPlane

    Raises
    ------
    ValueError
        For an unknown ``directions``, runs of the wrong shape, runs that never move
        (no principal directions) or bad numbers.

    Examples
    --------
    >>> import simulator as sim
    >>> net = sim.network("moons", hidden=(8,), n_train=64, n_test=0)
    >>> run = sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=100)
    >>> plane = sim.loss_plane(net, runs=[run], directions="pca", resolution=21)
    >>> plane.losses.shape, plane.paths[0].shape
    ((21, 21), (101, 2))
    >>> bool(plane.explained_variance.sum() <= 1.0)
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a Network (sim.network(...)), got {type(net).__name__}")
    if directions not in DIRECTIONS:
        raise ValueError(f"directions must be 'pca' or 'filter', got {directions!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not (
            3 <= resolution <= MAX_RESOLUTION):
        raise ValueError(f"resolution must be an integer from 3 to {MAX_RESOLUTION}, "
                         f"got {resolution!r}")
    if isinstance(span, bool) or not isinstance(span, (int, float)) or not (
            math.isfinite(span) and span > 0):
        raise ValueError(f"span must be a number > 0, got {span!r}")
    n = net.n_params
    P = _positions(runs, n)
    if center is None:
        c = P[0][-1].copy() if P else np.array(net.init)
    else:
        c = net.check_weights(center, "center").copy()
    ev = None
    if directions == "pca":
        if not P:
            raise ValueError("directions='pca' needs at least one run")
        M = np.vstack(P) - c
        Vt, sv2 = _top_directions(M)
        total = float(np.sum(M * M))
        if total == 0.0 or sv2[1] <= 1e-14 * total:
            raise ValueError("the runs do not span a plane around the centre (they never "
                             "moved, or only along a line): use directions='filter'")
        D = Vt[:2].copy()
        # a deterministic sign: the first run's start on the negative side of both axes
        for k in range(2):
            if D[k] @ (P[0][0] - c) > 0:
                D[k] = -D[k]
        ev = sv2 / total
    else:
        rng = np.random.default_rng(int(seed))
        D = np.stack([filter_direction(net, c, rng), filter_direction(net, c, rng)])
        if not np.any(D[0]) or not np.any(D[1]):
            raise ValueError("the centre's weights are all zero: filter normalisation "
                             "gives no direction")
    # least-squares coordinates in the plane
    G = D @ D.T
    paths = [np.linalg.solve(G, D @ (Q - c).T).T for Q in P]
    if directions == "pca":
        reach = np.max(np.abs(np.vstack(paths)), axis=0)
        half = 1.25 * span * np.where(reach > 0, reach, 1.0)
    else:
        half = np.array([span, span], dtype=np.float64)
    alphas = np.linspace(-half[0], half[0], int(resolution))
    betas = np.linspace(-half[1], half[1], int(resolution))
    losses = _grid_losses(net, np.ascontiguousarray(c), np.ascontiguousarray(D[0]),
                          np.ascontiguousarray(D[1]), alphas, betas)
    path_losses = [(r.per_step(r.losses) if hasattr(r, "per_step") else
                    np.asarray(getattr(r, "losses", np.full(len(Q), np.nan))))
                   for r, Q in zip(runs, P)]
    return LossPlane(alphas=alphas, betas=betas, losses=losses, center=c, directions=D,
                     paths=paths, path_losses=path_losses, kind=directions,
                     explained_variance=ev)


# ---- curvature ------------------------------------------------------------------------
def _lanczos(matvec, n: int, k: int, v0: np.ndarray, tol: float, max_iter: int):
    """The k largest eigenvalues (descending) and their Ritz vectors (k, n)."""
    m = min(n, max_iter)
    Q = np.zeros((m + 1, n))
    alpha = np.zeros(m)
    beta = np.zeros(m)
    q = v0 / np.linalg.norm(v0)
    theta = S = None
    j = 0
    for j in range(m):
        Q[j] = q
        w = matvec(q)
        alpha[j] = q @ w
        w = w - alpha[j] * q - (beta[j - 1] * Q[j - 1] if j > 0 else 0.0)
        for _ in range(2):  # full reorthogonalisation, twice is enough (Kahan, Parlett)
            w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(np.linalg.norm(w))
        beta[j] = b
        T = np.diag(alpha[: j + 1]) + np.diag(beta[:j], 1) + np.diag(beta[:j], -1)
        theta, S = np.linalg.eigh(T)
        top = min(k, j + 1)
        res = np.abs(b * S[-1, -top:])
        scale = np.maximum(np.abs(theta[-top:]), np.abs(theta).max() * 1e-3 + 1e-300)
        invariant = b <= 1e-14 * max(1.0, np.abs(theta).max())
        if invariant or j + 1 == n or (top == k and np.all(res <= tol * scale) and j >= k):
            break
        q = w / b
    top = min(k, j + 1)
    vals = theta[::-1][:top]
    vecs = (S[:, ::-1][:, :top].T @ Q[: j + 1])
    return vals, vecs


def _check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (1e-15 <= tol < 1):
        raise ValueError(f"tol must be a number from 1e-15 to 1, got {tol!r}")
    return float(tol)


def hessian_eigenvalues(net: Network, w, k: int = 3, tol: float = 1e-10, seed: int = 0
                        ) -> np.ndarray:
    """The ``k`` largest eigenvalues of the training loss's Hessian at ``w``, largest first.

    Lanczos iteration on exact Hessian-vector products, with full reorthogonalisation;
    each value is within ``tol`` (relative) of an eigenvalue of the Hessian.

    Parameters
    ----------
    net : Network
        The network.
    w : array_like (n_params,)
        Where the Hessian is taken.
    k : int
        How many (1 to n_params).
    tol : float
        Relative residual tolerance of the Ritz values.
    seed : int
        Seed of the start vector.

    Returns
    -------
    ndarray (k,)

    Examples
    --------
    >>> import simulator as sim
    >>> net = sim.network("xor", hidden=(4,), n_train=32, n_test=0)
    >>> top = sim.hessian_eigenvalues(net, net.init, k=2)
    >>> full = np.linalg.eigvalsh(net.hessian(net.init))[::-1][:2]
    >>> bool(np.allclose(top, full, rtol=1e-8))
    True
    """
    w = net.check_weights(w)
    n = net.n_params
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k must be an integer from 1 to {n}, got {k!r}")
    tol = _check_tol(tol)
    v0 = np.random.default_rng(int(seed)).standard_normal(n)
    vals, _ = _lanczos(lambda v: net.hvp(w, v), n, int(k), v0, tol, n)
    return vals


def sharpness(net: Network, w, stride: int = 1, tol: float = 1e-10, seed: int = 0):
    """The sharpness: the largest eigenvalue of the training loss's Hessian.

    At one point, or along a run every ``stride`` steps. Lanczos iteration on exact
    Hessian-vector products; along a run each point starts from the previous point's top
    eigenvector (plus a little noise), so a smooth run needs few products per point. With
    plain gradient descent at learning rate ``lr`` the sharpness rises to about ``2/lr``
    and hovers there (the edge of stability, Cohen et al. 2021).

    Parameters
    ----------
    net : Network
        The network.
    w : array_like (n_params,), array (k, n_params) or Trajectory
        A point, several points (rows), or a run (its positions).
    stride : int
        Take every ``stride``-th row of several points (rows 0, stride, 2 stride, ...).
    tol : float
        Relative residual tolerance.
    seed : int
        Seed of the start vector.

    Returns
    -------
    float, or ndarray (ceil(k / stride),)
        One value for one point; else the values at ``positions[::stride]``.

    Examples
    --------
    >>> import simulator as sim
    >>> net = sim.network("moons", hidden=(4,), n_train=32, n_test=0)
    >>> lam = sim.sharpness(net, net.init)
    >>> bool(np.isclose(lam, np.linalg.eigvalsh(net.hessian(net.init))[-1], rtol=1e-8))
    True
    >>> run = sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=20)
    >>> sim.sharpness(net, run, stride=5).shape
    (5,)
    """
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    tol = _check_tol(tol)
    P = getattr(w, "positions", w)
    A = np.asarray(P, dtype=np.float64)
    n = net.n_params
    rng = np.random.default_rng(int(seed))
    if A.ndim == 1:
        x = net.check_weights(A)
        vals, _ = _lanczos(lambda v: net.hvp(x, v), n, 1, rng.standard_normal(n), tol, n)
        return float(vals[0])
    if A.ndim != 2 or A.shape[1] != n:
        raise ValueError(f"w must have shape ({n},) or (k, {n}), got {A.shape}")
    rows = A[::stride]
    out = np.empty(len(rows))
    prev = None
    for i, row in enumerate(rows):
        x = net.check_weights(row)
        v0 = rng.standard_normal(n)
        if prev is not None:
            v0 = prev + 1e-3 * v0 / np.sqrt(n)
        vals, vecs = _lanczos(lambda v, x=x: net.hvp(x, v), n, 1, v0, tol, n)
        out[i] = vals[0]
        prev = vecs[0] / np.linalg.norm(vecs[0])
    return out
