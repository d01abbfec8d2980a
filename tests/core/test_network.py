"""Small networks: datasets, initialisation, the MLP kernels and training runs.

- The kernels (loss, backprop gradient, R-operator Hessian-vector product) against
  ``tests/naive.py``'s textbook network evaluated with hyper-dual numbers, which give the
  exact gradient and the exact Hessian entry by entry, and against hand-worked values.
- Training against real torch: ``tests/data/torch_network_golden.json`` (made by
  ``tests/data/make_torch_network_golden.py``) holds 100 full-batch steps of torch.optim on
  ``nn.Sequential`` in float64 from LossLab's data and initial weights.
- Minibatches against naive.optimize fed the DataLoader order (shuffle, drop_last=False).

Tolerances come from IEEE double arithmetic, not from this CPU: a result made of K
roundings of relative size u = 2**-53 at magnitude S is off by at most about K u S
(Higham, Accuracy and Stability of Numerical Algorithms, 3.1). K counts the operations on
the longest dependency chain (each layer's sums over its inputs, the sum over examples,
libm's functions at <= 1 ulp each), S the magnitude of the terms summed (see ``_tol``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest

import simulator as sim
from simulator.core.kernels import mlp
from simulator.core.kernels.rng import permutation
from simulator.core.netdata import DATASETS, default_init, make_dataset
from simulator.core.network import Network, network_from_dict
from simulator.core.schedules import schedule_from_dict
from tests import naive

U = 2.0**-53
GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "torch_network_golden.json")
                    .read_text())


def _tol(net: Network, m: int, scale: float) -> float:
    """K u S for a value of ``net`` over ``m`` examples: K = 4 (sum of the layer widths +
    number of parameters + m): every operation of the longest chain (an input sum per
    layer, the example sum, the parameter loop of the backward sums) rounded at most
    twice, with libm's exp/log/tanh at most an ulp each."""
    K = 4 * (int(np.sum(net.sizes)) + net.n_params + m)
    return K * U * max(1.0, scale)


def _tiny(activation="tanh", hidden=(3,), dataset="moons", classes=None, n=6, seed=0):
    return sim.network(dataset, hidden=hidden, activation=activation, n_train=n, n_test=4,
                       noise=0.1, classes=classes, seed=seed)


CONFIGS = [
    ("tanh", (3,), "moons", None),
    ("relu", (4, 3), "circles", None),
    ("sigmoid", (2, 2, 2), "xor", None),
    ("tanh", (3,), "spirals", 3),
    ("relu", (), "blobs", None),
]


# ---- datasets and initialisation ----------------------------------------------------------
@pytest.mark.parametrize("name", DATASETS)
def test_datasets_are_seeded_balanced_and_distinct(name):
    X, y = make_dataset(name, 101, noise=0.1, seed=4)
    X2, y2 = make_dataset(name, 101, noise=0.1, seed=4)
    assert X.shape == (101, 2) and y.shape == (101,) and y.dtype == np.int64
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert np.bincount(y).tolist() == [51, 50]
    Xt, _ = make_dataset(name, 101, noise=0.1, seed=4, stream=1)
    assert not np.array_equal(X, Xt)
    X5, _ = make_dataset(name, 101, noise=0.1, seed=5)
    assert not np.array_equal(X, X5)


def test_three_spirals_and_label_noise():
    _, y = make_dataset("spirals", 90, classes=3, seed=0)
    assert np.bincount(y).tolist() == [30, 30, 30]
    _, clean = make_dataset("moons", 4000, seed=1)
    _, noisy = make_dataset("moons", 4000, label_noise=0.25, seed=1)
    frac = np.mean(clean != noisy)
    # Binomial(4000, 0.25): 5 standard deviations is 0.034
    assert abs(frac - 0.25) < 0.034


def test_noise_free_datasets_have_their_shapes():
    X, y = make_dataset("blobs", 400, seed=0)
    assert np.all((X.sum(axis=1) > 0) == (y == 1))  # separated by the line x + y = 0
    X, y = make_dataset("xor", 400, seed=0)
    assert np.all((X[:, 0] * X[:, 1] > 0) == (y == 1))
    X, y = make_dataset("circles", 400, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r, np.where(y == 0, 1.0, 0.5), rtol=0, atol=4 * U)


@pytest.mark.parametrize("kw, msg", [
    ({"dataset": "swirl"}, "unknown dataset"),
    ({"dataset": "moons", "classes": 3}, "only spirals"),
    ({"dataset": "spirals", "classes": 4}, "2 or 3"),
    ({"hidden": (4, 4, 4, 4)}, "at most 3 hidden"),
    ({"hidden": (0,)}, "width"),
    ({"hidden": "wide"}, "width"),
    ({"activation": "gelu"}, "unknown activation"),
    ({"n_train": 0}, "n_train"),
    ({"noise": -1.0}, "noise"),
    ({"label_noise": 1.5}, "label_noise"),
    ({"seed": -1}, "seed"),
    ({"hidden": (256, 256, 256)}, "parameters"),
])
def test_bad_network_arguments(kw, msg):
    with pytest.raises(ValueError, match=msg):
        sim.network(**kw)


def test_default_init_is_torchs_scheme():
    net = sim.network("moons", hidden=(16, 8), n_train=8, n_test=0, seed=7)
    ps = net.parameters(net.init)
    assert [p.shape for p in ps] == [(16, 2), (16,), (8, 16), (8,), (1, 8), (1,)]
    rng = np.random.default_rng(7)
    for (W, b), fan_in in zip(zip(ps[::2], ps[1::2]), (2, 16, 8)):
        bound = 1 / math.sqrt(fan_in)
        assert np.array_equal(W.ravel(), rng.uniform(-bound, bound, W.size))
        assert np.array_equal(b, rng.uniform(-bound, bound, b.size))
    other = sim.network("moons", hidden=(16, 8), n_train=8, n_test=0, seed=7, init_seed=8)
    assert np.array_equal(other.init, default_init(net.sizes, 8))
    assert np.array_equal(other.X_train, net.X_train)


def test_network_dict_round_trip_and_read_only_arrays():
    net = _tiny(classes=3, dataset="spirals")
    again = network_from_dict(json.loads(json.dumps(net.to_dict())))
    assert again == net and np.array_equal(again.init, net.init)
    with pytest.raises(ValueError, match="unknown network setting 'depth'"):
        network_from_dict({**net.to_dict(), "depth": 2})
    with pytest.raises(ValueError):
        net.init[0] = 1.0


# ---- kernels against hand values and the hyper-dual reference ------------------------------
def test_hand_worked_tiny_network():
    # 2-1-1 tanh, one point x = (1, 2), label 1: z1 = 0.3 - 0.2*2 + 0.1 = 0,
    # a = tanh(0) = 0, z2 = 0.5*0 - 0.25 = -0.25, loss = log(1 + e^0.25)
    net = Network("moons", hidden=(1,), n_train=1, n_test=0)
    net._arrays["X"][:] = [[1.0, 2.0]]
    net._arrays["y"][:] = [1]
    w = np.array([0.3, -0.2, 0.1, 0.5, -0.25])
    assert net.loss(w) == pytest.approx(math.log1p(math.exp(0.25)), rel=4 * U)
    s = 1 / (1 + math.exp(0.25))  # sigmoid(-0.25)
    d2 = s - 1.0  # dL/dz2
    # dL/dW1 = d2 * 0.5 * (1 - a^2) * x, dL/db1 = d2 * 0.5, dL/dW2 = d2 * a = 0, dL/db2 = d2
    want = [d2 * 0.5 * 1.0, d2 * 0.5 * 2.0, d2 * 0.5, 0.0, d2]
    assert np.allclose(net.gradient(w), want, rtol=8 * U, atol=0)
    # Hessian in (W2, W2): (dz2/dW2)^2 s(1-s) = a^2 s (1 - s) = 0; in (b2, b2): s(1-s)
    H = net.hessian(w)
    assert H[4, 4] == pytest.approx(s * (1 - s), rel=8 * U)
    assert H[3, 3] == 0.0
    # (W2, b1): d/db1 of dL/dW2 = d/db1 [d2 * a] = d2 * (1 - a^2) + a * (...) = d2
    assert H[3, 2] == pytest.approx(d2, rel=8 * U)


@pytest.mark.parametrize("activation, hidden, dataset, classes", CONFIGS)
def test_loss_and_gradient_match_reference(activation, hidden, dataset, classes):
    net = _tiny(activation, hidden, dataset, classes)
    X, y = net.X_train, net.y_train
    rng = np.random.default_rng(1)
    for w in (net.init, net.init + 0.5 * rng.standard_normal(net.n_params)):
        ref = naive.mlp_value(list(net.sizes), activation, list(w), X, y)
        assert abs(net.loss(w) - ref) <= _tol(net, len(X), abs(ref))
        g = net.gradient(w)
        gref = np.array(naive.mlp_gradient(list(net.sizes), activation, list(w), X, y))
        assert np.all(np.abs(g - gref) <= _tol(net, len(X), np.abs(gref).max()))
    assert net.test_loss(net.init) == pytest.approx(
        naive.mlp_value(list(net.sizes), activation, list(net.init), net.X_test, net.y_test),
        rel=0, abs=_tol(net, len(net.X_test), 1.0))


@pytest.mark.parametrize("activation, hidden, dataset, classes", CONFIGS)
def test_hvp_matches_exact_hessian(activation, hidden, dataset, classes):
    net = _tiny(activation, hidden, dataset, classes, n=4)
    w = net.init + 0.3 * np.random.default_rng(2).standard_normal(net.n_params)
    H = np.array(naive.mlp_hessian(list(net.sizes), activation, list(w), net.X_train,
                                   net.y_train))
    V = np.random.default_rng(3).standard_normal((3, net.n_params))
    HV = net.hvp(w, V)
    for v, hv in zip(V, HV):
        ref = H @ v
        scale = float(np.abs(H).max() * np.abs(v).sum())
        assert np.all(np.abs(hv - ref) <= _tol(net, 4, scale))
    # column by column: the Hessian itself, symmetric
    Hk = net.hvp(w, np.eye(net.n_params))
    assert np.all(np.abs(Hk - H) <= _tol(net, 4, float(np.abs(H).max())))


def test_bad_vectors_are_refused():
    net = _tiny()
    with pytest.raises(ValueError, match=r"shape \(13,\)"):
        net.loss(np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        net.gradient(np.full(net.n_params, np.nan))
    with pytest.raises(ValueError, match="v must be finite"):
        net.hvp(net.init, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="'train' or 'test'"):
        net.accuracy(net.init, "validation")


def test_the_shared_pass_refuses_a_strided_array():
    # the kernels hand the network pass their arrays by pointer: one that is not
    # C-contiguous would be read as if it were, so the pass refuses it
    net = _tiny()
    a = net._arrays
    X = np.asfortranarray(a["X"])
    with pytest.raises(ValueError, match="C-contiguous"):
        mlp.network_loss(a["sizes"], net.act_id, net.init.copy(), X, a["y"])


def test_predictions_and_decision_grid():
    net = sim.network("blobs", hidden=(), n_train=50, n_test=50, noise=0.0)
    w = np.array([1.0, 1.0, 0.0])  # logit x + y
    assert net.accuracy(w, "train") == 1.0
    P = net.predict_proba(w, [[1.0, 1.0], [-1.0, -1.0]])
    s = 1 / (1 + math.exp(-2.0))
    assert np.allclose(P, [[1 - s, s], [s, 1 - s]], rtol=4 * U, atol=4 * U)
    xs, ys, G = net.decision_grid(w, resolution=11, bounds=((-1, 1), (-1, 1)))
    assert G.shape == (11, 11, 2)
    assert np.allclose(G[..., 1], 1 / (1 + np.exp(-(xs[None, :] + ys[:, None]))),
                       rtol=0, atol=8 * U)
    net3 = _tiny(dataset="spirals", classes=3)
    P3 = net3.predict_proba(net3.init, net3.X_train)
    assert P3.shape == (6, 3) and np.allclose(P3.sum(axis=1), 1.0, rtol=0, atol=4 * U)
    assert np.array_equal(net3.predict(net3.init, net3.X_train), P3.argmax(axis=1))


# ---- the kernels' activations and example sums -------------------------------------------
def _ulps(got, exact) -> float:
    """|got - exact| in units of the last place of the double nearest ``exact``."""
    near = float(exact)
    return float(abs(mpmath.mpf(got) - exact)) / math.ulp(abs(near) if near else 5e-324)


def _arguments():
    rng = np.random.default_rng(7)
    return np.concatenate([rng.standard_normal(400) * s for s in
                           (1e-300, 1e-8, 1e-3, 0.1, 0.2, 0.35, 0.5, 1, 3, 10, 30)]
                          + [np.linspace(-21, 21, 2001), np.linspace(-0.8, 0.8, 2001)])


@pytest.mark.parametrize("values, finite", [
    ([], True), ([0.0], True), ([-0.0, 1.0, -2.5], True),
    ([5e-324, -5e-324, 2.2250738585072014e-308], True),  # subnormals, the least normal
    ([1.7976931348623157e308, -1.7976931348623157e308], True),  # the largest finite
    ([math.inf], False), ([1.0, -math.inf], False), ([math.nan], False),
    ([0.0] * 64 + [math.nan] + [0.0] * 9, False),  # past a vector's width, and the tail
    ([0.0] * 70 + [-math.inf], False),
])
def test_all_finite_agrees_with_isfinite(values, finite):
    """``all_finite`` (a comparison with the largest double, branch-free so that it
    vectorises) agrees with ``math.isfinite`` on every entry, compiled and as plain
    Python."""
    w = np.array(values, dtype=np.float64)
    assert finite == all(math.isfinite(v) for v in values)
    assert mlp.all_finite(w) is finite
    assert bool(mlp.all_finite.py_func(w)) is finite


def test_tanh_and_sigmoid_are_within_their_ulp_bounds():
    # the bounds of kernels/mlp.py's error analysis, against 120-bit mpmath; libm's tanh
    # (glibc: within 2 ulps) for comparison; plus the values that must be exact
    mpmath.mp.prec = 120
    xs = _arguments()
    t, s = np.empty_like(xs), np.empty_like(xs)
    _apply(0, xs, t)
    _apply(2, xs, s)
    worst_t = max(_ulps(float(v), mpmath.tanh(mpmath.mpf(float(x)))) for x, v in zip(xs, t))
    worst_s = max(_ulps(float(v), 1 / (1 + mpmath.exp(-mpmath.mpf(float(x)))))
                  for x, v in zip(xs, s))
    assert worst_t <= 4.0 and worst_s <= 3.0, (worst_t, worst_s)
    special = np.array([0.0, -0.0, 20.0, -25.0, np.inf, -np.inf, np.nan, 1e-310, -800.0])
    _apply(0, special, t[:9])
    assert t[0] == 0.0 and math.copysign(1, t[0]) == 1 and math.copysign(1, t[1]) == -1
    assert list(t[2:6]) == [1.0, -1.0, 1.0, -1.0] and math.isnan(t[6]) and t[7] == 1e-310
    _apply(2, special, s[:9])
    assert s[0] == 0.5 and s[1] == 0.5 and s[4] == 1.0 and s[5] == 0.0 and math.isnan(s[6])
    assert s[2] == 1.0 / (1.0 + math.exp(-20.0)) and s[8] == 0.0 and s[7] == 0.5


def _apply(act, x, out):
    """The kernel's activation ``act`` of every entry of ``x`` (A[1, 0] of a buffer)."""
    A = np.zeros((2, 1, len(x)))
    A[1, 0] = x
    mlp._activate(act, A, 1, 1, len(x))
    out[:] = A[1, 0]


@pytest.mark.parametrize("m", [0, 1, 7, 8, 9, 16, 23, 256, 261])
def test_example_sums_follow_their_fixed_order(m):
    rng = np.random.default_rng(m)
    x, y, u, v = (rng.standard_normal(m + 3) * 10.0 ** rng.integers(-3, 4, m + 3)
                  for _ in range(4))
    # the order of naive.eight_way_sum, bit for bit, whatever the CPU's vector width
    assert mlp._total(x, m) == naive.eight_way_sum(x[:m])
    assert mlp._dot(x, y, m) == naive.eight_way_sum(x[:m] * y[:m])
    assert mlp._dot2(x, y, u, v, m) == naive.eight_way_sum(x[:m] * y[:m] + u[:m] * v[:m])
    # hand values: small integers sum exactly in any order
    ones = np.arange(1.0, m + 4)
    assert mlp._total(ones, m) == m * (m + 1) / 2
    assert mlp._dot(ones, ones, m) == m * (m + 1) * (2 * m + 1) / 6
    # and within the bound (m/8 + 3) u sum|terms| of the exact sum
    exact = math.fsum(x[:m] * y[:m])
    assert abs(mlp._dot(x, y, m) - exact) <= (m / 8 + 4) * U * np.sum(np.abs(x[:m] * y[:m]))


def test_a_minibatch_step_uses_the_batchs_own_gradient():
    # the minibatch's gradient comes from the full batch's forward pass (its columns
    # copied out): the same numbers as a pass over the batch alone, bit for bit
    net = sim.network("moons", hidden=(5, 4), n_train=20, n_test=7, seed=2)
    B, seed = 6, 4  # batches of 6, 6, 6 and 2
    run = sim.simulate(net, sim.SGD(lr=1.0), start=net.init, steps=5, batch_size=B, seed=seed)
    perm = np.empty(20, dtype=np.int64)
    permutation(seed, 0, 20, perm)
    a = net._arrays
    for t, j0 in enumerate((0, 6, 12, 18)):
        m = min(B, 20 - j0)
        A, D = mlp.make_buffers(a["sizes"], m)
        g = np.empty(net.n_params)
        w = run.positions[t].copy()
        mlp.loss_grad(a["sizes"], net.act_id, w, a["X"], a["y"], perm[j0:], m, A, D, g)
        assert np.array_equal(run.positions[t + 1], w - 1.0 * g), t


# ---- training ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: c["id"])
def test_full_batch_training_matches_torch(case):
    d = dict(GOLDEN["nets"][case["net"]])
    net = network_from_dict(d)
    assert np.array_equal(net.init, case["init"])  # the weights torch started from
    assert float(np.sum(net.X_train)) == case["x_train_sum"]
    opt = sim.optimizer_from_dict(dict(case["optimizer"]))
    sch = schedule_from_dict(dict(case["schedule"])) if case["schedule"] else None
    run = sim.simulate(net, opt, start=net.init, steps=case["steps"], schedule=sch,
                       clip_grad_norm=case["clip_grad_norm"])
    assert np.max(np.abs(run.positions[-1] - case["final"])) <= 1e-8
    assert np.max(np.abs(run.losses - case["losses"])) <= 1e-8


def test_golden_covers_the_torch_optimizers():
    names = {c["optimizer"]["name"] for c in GOLDEN["cases"]}
    assert {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax",
            "Adadelta", "Rprop", "ASGD"} <= names
    assert any(c["schedule"] for c in GOLDEN["cases"])
    assert any(c["clip_grad_norm"] for c in GOLDEN["cases"])


@pytest.mark.parametrize("name, hp", [
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"weight_decay": 0.01, "eps": 1e-8}),
    ("Lion", {"betas": (0.9, 0.99), "weight_decay": 0.1}),
])
def test_full_batch_run_matches_naive_optimizer(name, hp):
    net = _tiny("tanh", (3,), n=8)
    kw = {k: v for k, v in hp.items()}
    opt = sim.optimizer_from_dict({"name": name, "lr": 0.05, **kw})
    run = sim.simulate(net, opt, start=net.init, steps=5)

    def grad(p):
        return naive.mlp_gradient(list(net.sizes), "tanh", p, net.X_train, net.y_train)

    ref = naive.optimize(name, {**opt.__dict__}, grad, net.init, [0.05] * 5)
    # each step's gradient is within _tol of the reference; 5 updates carry it along
    assert np.max(np.abs(run.positions - np.array(ref))) <= 5 * _tol(net, 8, 1.0)


def test_minibatches_follow_a_shuffled_epoch_with_the_last_batch_short():
    net = _tiny("tanh", (3,), n=10)
    B, steps, seed = 4, 7, 3  # 3 batches per epoch: 4, 4 and 2 examples
    run = sim.simulate(net, sim.SGD(lr=0.1), start=net.init, steps=steps, batch_size=B,
                       seed=seed)
    X, y = net.X_train, net.y_train
    batches = []
    for e in range(3):
        perm = np.empty(10, dtype=np.int64)
        permutation(seed, e, 10, perm)
        assert sorted(perm.tolist()) == list(range(10))
        batches += [perm[0:4], perm[4:8], perm[8:10]]
    p = list(net.init)
    path = [p]
    for t in range(steps):
        idx = batches[t]
        g = naive.mlp_gradient(list(net.sizes), "tanh", p, X[idx], y[idx])
        p = [a - 0.1 * b for a, b in zip(p, g)]
        path.append(p)
    assert np.max(np.abs(run.positions - np.array(path))) <= steps * _tol(net, 10, 1.0)
    # the recorded losses and gradients are the full-batch ones
    assert run.losses[3] == net.loss(run.positions[3])
    assert np.array_equal(run.gradients[3], net.gradient(run.positions[3]))
    assert run.test_losses[3] == net.test_loss(run.positions[3])
    # another seed, another order
    other = sim.simulate(net, sim.SGD(lr=0.1), start=net.init, steps=steps, batch_size=B,
                         seed=seed + 1)
    assert not np.array_equal(other.positions, run.positions)


def test_run_records_and_classifies():
    net = _tiny(n=32)
    run = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=50)
    assert run.positions.shape == (51, net.n_params)
    assert run.test_losses.shape == (51,) and run.status in sim.STATUSES
    assert run.table().dtype.names == ("optimizer", "step", "loss", "test_loss", "grad_norm",
                                       "lr", "status")
    assert run.saddle_episodes == []
    assert "moons 2-3-1 tanh" in repr(run)
    blown = sim.simulate(net, sim.SGD(lr=1e6), start=net.init, steps=50)
    assert blown.status == "diverged"
    noisy = sim.simulate(net, sim.SGD(lr=0.1), start=net.init, steps=5, noise=0.5, seed=1)
    assert not np.array_equal(noisy.positions[-1], sim.simulate(
        net, sim.SGD(lr=0.1), start=net.init, steps=5).positions[-1])
    assert np.array_equal(noisy.positions, sim.simulate(
        net, sim.SGD(lr=0.1), start=net.init, steps=5, noise=0.5, seed=1).positions)


def test_bad_run_inputs():
    net = _tiny()
    with pytest.raises(ValueError, match="not available on a network"):
        sim.simulate(net, sim.Newton(), start=net.init, steps=3)
    with pytest.raises(ValueError, match="start must have shape"):
        sim.simulate(net, sim.SGD(), start=[0.0, 0.0], steps=3)
    with pytest.raises(ValueError, match="steps must be between"):
        sim.simulate(net, sim.SGD(), start=net.init, steps=10**9)
    with pytest.raises(ValueError, match="batch_size"):
        sim.simulate(net, sim.SGD(), start=net.init, steps=3, batch_size=0)


def test_plateau_schedule_is_stepped_with_the_training_loss():
    net = _tiny(n=16)
    # slow progress: a 10 % relative improvement is asked for, so it cuts
    sch = sim.ReduceLROnPlateau(factor=0.5, patience=2, threshold=0.1)
    run = sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=60, schedule=sch)
    want = sch.rates_for_losses(0.5, run.losses)[:60]
    assert np.array_equal(run.learning_rates, want)
    assert run.learning_rates.min() < 0.5  # it did cut
