"""A small real neural network on a 2-D classification dataset: the ``Network`` object.

A ``Network`` holds a dataset (``netdata``), an architecture (up to three hidden layers of
tanh, relu or sigmoid units) and torch's default initial weights drawn from a seed. Its
parameters are one flat vector in torch's order (``nn.Sequential(Linear, act, ...,
Linear).parameters()``: each layer's weight ``(out, in)`` row-major, then its bias), so
a vector from LossLab loads into torch with ``torch.nn.utils.vector_to_parameters`` and
back. Loss, gradient and Hessian-vector products are exact and compiled
(``kernels.mlp``); nothing compiles until a network is first evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from .kernels import mlp
from .netdata import DATASETS, MAX_POINTS, default_init, make_dataset, n_classes

MAX_HIDDEN_LAYERS = 3
MAX_WIDTH = 256
MAX_PARAMS = 20_000


def _readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.setflags(write=False)
    return v


def _check_int(what: str, v, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{what} must be an integer, got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{what} must be from {lo:,} to {hi:,}, got {v!r}")
    return int(v)


def _check_hidden(hidden) -> tuple[int, ...]:
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        hidden = (hidden,)
    try:
        if isinstance(hidden, (str, bytes)):
            raise TypeError
        h = tuple(hidden)
    except TypeError:
        raise ValueError(f"hidden must be a tuple of layer widths such as (16,), got {hidden!r}"
                         ) from None
    if len(h) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(h)}")
    return tuple(_check_int("a hidden layer's width", v, 1, MAX_WIDTH) for v in h)


@dataclass(frozen=True, eq=True, repr=False)
class Network:
    """A small multilayer perceptron on a seeded 2-D classification dataset.

    The loss is the mean binary cross-entropy with logits (two classes, one output) or
    the mean cross-entropy (three classes, three outputs) over the training set, exactly
    as torch computes ``BCEWithLogitsLoss`` and ``CrossEntropyLoss``. ``sim.network``
    makes one with keyword checks; the constructor takes the same arguments.

    Parameters
    ----------
    dataset : str
        One of ``"moons"``, ``"circles"``, ``"spirals"``, ``"xor"``, ``"blobs"``.
    hidden : tuple of int
        Widths of the hidden layers, at most three (``()``: logistic regression).
    activation : str
        ``"tanh"``, ``"relu"`` or ``"sigmoid"``, after every hidden layer.
    n_train, n_test : int
        Sizes of the training and test sets (independent draws).
    noise : float
        Standard deviation of the Gaussian noise on the points' coordinates.
    label_noise : float
        Fraction of training labels replaced by another class at random (0 to 1).
    classes : int or None
        3 for three spiral arms; None (or 2) otherwise.
    seed : int
        Seed of the dataset and, unless ``init_seed`` is given, of the initial weights.
    init_seed : int or None
        Seed of the initial weights (default: ``seed``).

    Attributes
    ----------
    n_params : int
        Number of parameters.
    init : ndarray (n_params,)
        torch's default initial weights: every weight and bias uniform in
        ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``, layer by layer, weight then bias, drawn
        with ``numpy.random.default_rng(init_seed)``.
    X_train, y_train, X_test, y_test : ndarray
        The points (n, 2) and integer labels (n,).

    See Also
    --------
    network : the checked factory.

    Examples
    --------
    >>> import simulator as sim
    >>> net = sim.Network("xor", hidden=(4,), n_train=32, n_test=32)
    >>> net.n_params, [p.shape for p in net.parameters(net.init)]
    (17, [(4, 2), (4,), (1, 4), (1,)])
    """

    dataset: str = "moons"
    hidden: tuple[int, ...] = (16,)
    activation: str = "tanh"
    n_train: int = 256
    n_test: int = 256
    noise: float = 0.2
    label_noise: float = 0.0
    classes: int | None = None
    seed: int = 0
    init_seed: int | None = None
    _arrays: dict = field(default=None, init=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of "
                             f"{', '.join(DATASETS)}")
        if self.activation not in mlp.ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of "
                             f"{', '.join(mlp.ACTIVATIONS)}")
        object.__setattr__(self, "hidden", _check_hidden(self.hidden))
        k = n_classes(self.dataset, self.classes)
        _check_int("n_train", self.n_train, 1, MAX_POINTS)
        _check_int("n_test", self.n_test, 0, MAX_POINTS)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        if self.init_seed is not None:
            _check_int("init_seed", self.init_seed, 0, 2**63 - 1)
        sizes = np.array((2, *self.hidden, 1 if k == 2 else k), dtype=np.int64)
        n = mlp.n_params(sizes)
        if n > MAX_PARAMS:
            raise ValueError(f"the network has {n:,} parameters; at most {MAX_PARAMS:,}")
        X, y = make_dataset(self.dataset, self.n_train, self.noise, self.label_noise,
                            self.seed, self.classes, stream=0)
        if self.n_test:
            Xt, yt = make_dataset(self.dataset, self.n_test, self.noise, 0.0, self.seed,
                                  self.classes, stream=1)
        else:
            Xt, yt = np.empty((0, 2)), np.empty(0, dtype=np.int64)
        # the kernels get these writeable arrays (a read-only array is another numba type,
        # another compile); the properties hand out read-only views
        init = self._initial(sizes)
        object.__setattr__(self, "_arrays", {
            "sizes": sizes, "X": X, "y": y, "Xt": Xt, "yt": yt, "init": init, "k": k,
        })

    def _initial(self, sizes) -> np.ndarray:
        return default_init(sizes, self.seed if self.init_seed is None else self.init_seed)

    # ---- description -----------------------------------------------------------------
    kind = "network"

    @property
    def name(self) -> str:
        """``"moons 2-16-1 tanh"``: the dataset, the widths and the activation."""
        return f"{self.dataset} {'-'.join(str(int(s)) for s in self.sizes)} {self.activation}"

    @property
    def scale(self) -> float:
        """A step-size scale for the app's learning-rate presets (a surface's is its
        domain diagonal): 1, so Adam's preset is lr = 0.01."""
        return 1.0

    @property
    def sizes(self) -> np.ndarray:
        """Layer widths ``[2, *hidden, outputs]`` (int64)."""
        return _readonly(self._arrays["sizes"])

    @property
    def n_classes(self) -> int:
        """Number of classes (2, or 3 for three spirals)."""
        return self._arrays["k"]

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self._arrays["init"])

    @property
    def dim(self) -> int:
        """The dimension of the parameter space, ``n_params`` (as ``Surface.dim``)."""
        return self.n_params

    @property
    def init(self) -> np.ndarray:
        """The initial weights (read-only)."""
        return _readonly(self._arrays["init"])

    @property
    def X_train(self) -> np.ndarray:
        """Training points (n_train, 2)."""
        return _readonly(self._arrays["X"])

    @property
    def y_train(self) -> np.ndarray:
        """Training labels (n_train,), int64, label noise included."""
        return _readonly(self._arrays["y"])

    @property
    def X_test(self) -> np.ndarray:
        """Test points (n_test, 2)."""
        return _readonly(self._arrays["Xt"])

    @property
    def y_test(self) -> np.ndarray:
        """Test labels (n_test,), int64, without label noise."""
        return _readonly(self._arrays["yt"])

    @property
    def _ks(self) -> np.ndarray:
        return self._arrays["sizes"]  # writeable, for the kernels

    @property
    def act_id(self) -> int:
        return mlp.ACTIVATIONS[self.activation]

    def to_dict(self) -> dict:
        """The constructor's arguments as a JSON-ready dict (``Network(**d)`` rebuilds it)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        d["hidden"] = list(self.hidden)
        return d

    def __repr__(self) -> str:
        return f"<Network {self.name}: {self.n_params} parameters, {self.n_train} training " \
               f"and {self.n_test} test points>"

    # ---- evaluation ------------------------------------------------------------------
    def check_weights(self, w, what: str = "w") -> np.ndarray:
        """``w`` as a float64 vector of ``n_params`` values, or a clear ValueError."""
        try:
            a = np.asarray(w, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a vector of {self.n_params} numbers") from None
        if a.shape != (self.n_params,):
            raise ValueError(f"{what} must have shape ({self.n_params},), got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} must be finite")
        # a fresh writeable copy: a read-only array (net.init) is another numba type,
        # and would compile every kernel a second time
        return np.array(a, dtype=np.float64, order="C")

    def parameters(self, w) -> list[np.ndarray]:
        """The tensors of ``w`` in torch's order and shapes: weight (out, in), bias (out,).

        Parameters
        ----------
        w : array_like (n_params,)
            A flat parameter vector.

        Returns
        -------
        list of ndarray
            Views into a copy of ``w``, two per layer.

        Examples
        --------
        >>> import simulator as sim
        >>> net = sim.network("moons", hidden=(3,), n_train=8, n_test=0)
        >>> [p.shape for p in net.parameters(net.init)]
        [(3, 2), (3,), (1, 3), (1,)]
        """
        a = self.check_weights(w).copy()
        out, off = [], 0
        s = self.sizes
        for i in range(len(s) - 1):
            nin, nout = int(s[i]), int(s[i + 1])
            out.append(a[off : off + nout * nin].reshape(nout, nin))
            off += nout * nin
            out.append(a[off : off + nout])
            off += nout
        return out

    def _split(self, which: str):
        a = self._arrays
        if which == "train":
            return a["X"], a["y"]
        if which == "test":
            return a["Xt"], a["yt"]
        raise ValueError(f"which must be 'train' or 'test', got {which!r}")

    def loss(self, w, which: str = "train") -> float:
        """Mean loss over the training set (or the test set).

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.
        which : {"train", "test"}
            The set to average over.

        Returns
        -------
        float

        Examples
        --------
        >>> import simulator as sim
        >>> net = sim.network("blobs", hidden=(), n_train=4, n_test=0)
        >>> round(net.loss(np.zeros(net.n_params)), 6)  # log 2 at zero weights
        0.693147
        """
        X, y = self._split(which)
        if len(X) == 0:
            return math.nan
        w = self.check_weights(w)
        return mlp.network_loss(self._ks, self.act_id, w, X, y)

    def test_loss(self, w) -> float:
        """Mean loss over the test set (nan without one).

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.

        Returns
        -------
        float
        """
        return self.loss(w, "test")

    def gradient(self, w) -> np.ndarray:
        """Exact gradient of the training loss (backpropagation).

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.

        Returns
        -------
        ndarray (n_params,)

        Examples
        --------
        >>> import simulator as sim
        >>> net = sim.network("xor", hidden=(2,), n_train=16, n_test=0)
        >>> net.gradient(net.init).shape
        (9,)
        """
        w = self.check_weights(w)
        X, y = self._split("train")
        return mlp.network_gradient(self._ks, self.act_id, w, X, y)[1]

    def hvp(self, w, v) -> np.ndarray:
        """Exact Hessian-vector product of the training loss, ``H(w) v``.

        Pearlmutter's R-operator (forward-over-reverse), no finite differences.

        Parameters
        ----------
        w : array_like (n_params,)
            Where the Hessian is taken.
        v : array_like (n_params,) or (k, n_params)
            One vector, or k vectors as rows.

        Returns
        -------
        ndarray, the shape of ``v``

        Examples
        --------
        >>> import simulator as sim
        >>> net = sim.network("moons", hidden=(4,), n_train=32, n_test=0)
        >>> H = net.hvp(net.init, np.eye(net.n_params))  # the full Hessian, row by row
        >>> bool(np.allclose(H, H.T))
        True
        """
        w = self.check_weights(w)
        V = np.array(v, dtype=np.float64)  # a writeable copy (one numba type)
        one = V.ndim == 1
        V = np.ascontiguousarray(V.reshape(1, -1) if one else V)
        if V.ndim != 2 or V.shape[1] != self.n_params or not np.all(np.isfinite(V)):
            raise ValueError(f"v must be finite with shape ({self.n_params},) or "
                             f"(k, {self.n_params}), got {np.shape(v)}")
        out = np.empty_like(V)
        mlp.hvp_many(self._ks, self.act_id, w, V, *self._split("train"), out)
        return out[0] if one else out

    def hessian(self, w) -> np.ndarray:
        """The full Hessian of the training loss (n_params HVPs; small networks).

        Parameters
        ----------
        w : array_like (n_params,)
            Where the Hessian is taken.

        Returns
        -------
        ndarray (n_params, n_params)
            Symmetrised: ``(H + H.T) / 2`` of the products with the unit vectors.
        """
        H = self.hvp(w, np.eye(self.n_params))
        return 0.5 * (H + H.T)

    def logits(self, w, X) -> np.ndarray:
        """The network's outputs before the sigmoid or softmax at points ``X`` (n, 2)."""
        w = self.check_weights(w)
        X = np.array(X, dtype=np.float64, order="C").reshape(-1, 2)  # writeable: one type
        out = np.empty((len(X), int(self.sizes[-1])))
        mlp.logits(self._ks, self.act_id, w, X, out)
        return out

    def predict_proba(self, w, X) -> np.ndarray:
        """Class probabilities (n, n_classes) at points ``X`` (n, 2).

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.
        X : array_like (n, 2)
            Points.

        Returns
        -------
        ndarray (n, n_classes)
        """
        z = self.logits(w, X)
        if z.shape[1] == 1:
            with np.errstate(over="ignore"):
                p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, w, X) -> np.ndarray:
        """Predicted class (n,) at points ``X`` (n, 2): the largest logit (two classes:
        logit > 0).

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.
        X : array_like (n, 2)
            Points.

        Returns
        -------
        ndarray (n,) of int64
        """
        z = self.logits(w, X)
        if z.shape[1] == 1:
            return (z[:, 0] > 0.0).astype(np.int64)
        return np.argmax(z, axis=1).astype(np.int64)

    def accuracy(self, w, which: str = "train") -> float:
        """Fraction of the training (or test) points classified correctly.

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.
        which : {"train", "test"}
            The set.

        Returns
        -------
        float
            nan for an empty set.

        Examples
        --------
        >>> import simulator as sim
        >>> net = sim.network("blobs", hidden=(), n_train=64, n_test=64, noise=0.0)
        >>> net.accuracy(np.array([1.0, 1.0, 0.0]), "test")  # the line x + y = 0
        1.0
        """
        X, y = self._split(which)
        if len(X) == 0:
            return math.nan
        return float(np.mean(self.predict(w, X) == y))

    def bounds(self, margin: float = 0.25) -> tuple[tuple[float, float], tuple[float, float]]:
        """``((xmin, xmax), (ymin, ymax))`` around all points, with a relative margin."""
        P = np.vstack([self.X_train, self.X_test])
        lo, hi = P.min(axis=0), P.max(axis=0)
        pad = margin * (hi - lo) + 1e-9
        return ((float(lo[0] - pad[0]), float(hi[0] + pad[0])),
                (float(lo[1] - pad[1]), float(hi[1] + pad[1])))

    def decision_grid(self, w, resolution: int = 101, bounds=None):
        """Class probabilities on a grid, for a decision-boundary plot.

        Parameters
        ----------
        w : array_like (n_params,)
            Parameters.
        resolution : int
            Points per side (2 to 1024).
        bounds : pair of pairs, optional
            ``((xmin, xmax), (ymin, ymax))``; default ``bounds()``.

        Returns
        -------
        xs : ndarray (resolution,)
        ys : ndarray (resolution,)
        proba : ndarray (resolution, resolution, n_classes)
            ``proba[j, i]`` at ``(xs[i], ys[j])``; with two classes the boundary is
            the 0.5 level of ``proba[..., 1]``.

        Examples
        --------
        >>> import simulator as sim
        >>> net = sim.network("circles", hidden=(8,), n_train=32, n_test=0)
        >>> xs, ys, P = net.decision_grid(net.init, resolution=5)
        >>> P.shape
        (5, 5, 2)
        """
        r = _check_int("resolution", resolution, 2, 1024)
        (x0, x1), (y0, y1) = self.bounds() if bounds is None else bounds
        xs = np.linspace(x0, x1, r)
        ys = np.linspace(y0, y1, r)
        gx, gy = np.meshgrid(xs, ys)
        P = self.predict_proba(w, np.column_stack([gx.ravel(), gy.ravel()]))
        return xs, ys, P.reshape(r, r, -1)


def network(dataset: str = "moons", hidden=(16,), activation: str = "tanh",
            n_train: int = 256, n_test: int = 256, noise: float = 0.2,
            label_noise: float = 0.0, classes: int | None = None, seed: int = 0,
            init_seed: int | None = None) -> Network:
    """A small neural network on a seeded 2-D classification dataset.

    Parameters
    ----------
    dataset : str
        ``"moons"``, ``"circles"``, ``"spirals"`` (2 or 3 arms), ``"xor"`` or
        ``"blobs"`` (two linearly separable discs).
    hidden : tuple of int
        Hidden layer widths, at most three layers (``()`` for none).
    activation : str
        ``"tanh"``, ``"relu"`` or ``"sigmoid"``.
    n_train : int
        Training points.
    n_test : int
        Test points (0 for none).
    noise : float
        Standard deviation of Gaussian noise on the coordinates.
    label_noise : float
        Fraction of training labels flipped to another class (0 to 1).
    classes : int or None
        ``3`` for three spiral arms.
    seed : int
        Seed of the data and of the initial weights.
    init_seed : int or None
        A different seed for the initial weights (default: ``seed``).

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        Naming the first bad argument.

    Examples
    --------
    >>> import simulator as sim
    >>> net = sim.network("moons", hidden=(16,), activation="tanh", n_train=256,
    ...                   n_test=256, noise=0.2, seed=0)
    >>> net.n_params, net.X_train.shape, net.init.shape
    (65, (256, 2), (65,))
    >>> net.gradient(net.init).shape
    (65,)
    """
    return Network(dataset=dataset, hidden=hidden, activation=activation, n_train=n_train,
                   n_test=n_test, noise=noise, label_noise=label_noise, classes=classes,
                   seed=seed, init_seed=init_seed)


def network_from_dict(d) -> Network:
    """A ``Network`` from ``Network.to_dict()`` output, with clear messages."""
    if not isinstance(d, dict):
        raise ValueError(f"a network must be a JSON object, got {type(d).__name__}")
    known = {f.name for f in fields(Network) if f.init}
    extra = sorted(set(d) - known - {"kind"})
    if extra:
        raise ValueError(f"unknown network setting {extra[0]!r}; known: {', '.join(sorted(known))}")
    args = {k: v for k, v in d.items() if k in known}
    if "hidden" in args and isinstance(args["hidden"], list):
        args["hidden"] = tuple(args["hidden"])
    return Network(**args)
