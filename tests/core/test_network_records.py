"""``simulate(net, ..., record_every=k)``: the full-batch training loss, gradient and test
loss recorded at steps 0, k, 2k, ... and the last only, the steps between making only the
minibatch's forward and backward passes (``kernels.mlp.step_minibatch``).

- The positions are the bits of the ``record_every=1`` run (the minibatch's forward pass
  over its examples alone gives the columns the full batch's pass gives, and only the
  minibatch gradient drives the updates), and the recorded rows are that run's rows at
  those steps, bit for bit; also where a run stops between records.
- Against ``tests/naive.py``'s textbook network (hyper-dual numbers): a plain SGD run fed
  the DataLoader order, recorded every k steps (tolerance as in ``test_network.py``).
- Every core consumer of a run's losses reads the recorded steps: ``table``,
  ``_classify_network_run``, the loss plane's path losses, the data exports, lab checks.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import simulator as sim
from simulator.core import engine
from simulator.core.kernels import mlp
from simulator.core.kernels.rng import permutation
from simulator.export import data
from tests import naive

U = 2.0**-53


def _net(activation="tanh", hidden=(5,), n=20, n_test=7, dataset="moons", seed=2):
    return sim.network(dataset, hidden=hidden, activation=activation, n_train=n,
                       n_test=n_test, noise=0.1, seed=seed)


def _same_run(a, b):
    """``b`` (record_every > 1) against ``a`` (every step): positions and the rows at
    ``b``'s recorded steps, bit for bit."""
    assert a.record_steps is None and b.record_steps is not None
    assert b.record_steps.dtype == np.int64
    S = b.record_steps
    assert np.array_equal(a.positions, b.positions)
    assert np.array_equal(a.losses[S], b.losses)
    assert np.array_equal(a.gradients[S], b.gradients)
    assert np.array_equal(a.test_losses[S], b.test_losses)
    assert np.array_equal(a.learning_rates, b.learning_rates)


# ---- the kernel: a step between records ------------------------------------------------------
def test_a_batch_forward_pass_gives_the_full_batch_columns_and_the_same_gradient():
    # the recorded step gathers the batch's columns out of the full batch's forward pass;
    # a step between records makes a forward pass over the batch alone: the same bits,
    # layer by layer and column by column, and so the same minibatch gradient
    net = _net("tanh", (5, 4), n=20)
    a = net._arrays
    sizes, act = a["sizes"], net.act_id
    w = net.init.copy() + 0.3
    B, nb, N = 6, 4, 20
    perm = np.empty(N, dtype=np.int64)
    permutation(7, 0, N, perm)
    A, D = mlp.make_buffers(sizes, N)
    full = np.arange(N)
    mlp.forward(sizes, act, w, a["X"], full, N, A)
    for j0 in (0, 6, 12, 18):
        m = min(B, N - j0)
        Ab, _ = mlp.make_buffers(sizes, m)
        mlp.forward(sizes, act, w, a["X"], perm[j0:], m, Ab)
        for layer in range(len(sizes)):
            got = Ab[layer, : sizes[layer], :m]
            assert np.array_equal(got, A[layer, : sizes[layer], perm[j0:j0 + m]].T)
    # step_gradient (gather) and step_minibatch (own pass): gb bit for bit at every step
    n = net.n_params
    Xt, yt = a["Xt"], a["yt"]
    pf, pt = mlp.pass_fn(), mlp.perturb_fn(0.0, 0.0)
    for t in range(9):  # two epochs and a step, batches of 6, 6, 6, 2
        bufs = [np.empty((len(sizes), 5, max(N, len(yt)))), np.empty((2, 5, N)),
                np.empty((len(sizes), 5, B)), np.empty((2, 5, B))]
        bufs2 = [b.copy() for b in bufs]
        gb1, gb2 = np.full(n, np.nan), np.full(n, np.nan)
        p1 = np.zeros((10, n))
        p2 = np.zeros((10, n))
        loss, tloss, grad = np.empty(1), np.empty(1), np.empty((1, n))
        st1, e1 = mlp.step_gradient(pf, pt, sizes, act, w, a["X"], a["y"], Xt, yt, t, 100, B,
                                    nb, -1, 0.0, 7, 0, 0.0, *bufs, np.arange(N), np.arange(N),
                                    gb1, p1, loss, tloss, grad, 0)
        st2, e2 = mlp.step_minibatch(pf, pt, sizes, act, w, a["X"], a["y"], t, B, nb, -1, 0.0,
                                     7, 0, 0.0, *bufs2, np.arange(N), np.arange(N), gb2, p2)
        assert (st1, e1) == (st2, e2) == (0, t // nb)
        assert np.array_equal(gb1, gb2), t
        assert np.array_equal(p1[t], p2[t]) and np.array_equal(p2[t], w)
        assert loss[0] == net.loss(w)  # the recorded step's full-batch values
        assert np.array_equal(grad[0], net.gradient(w))


def test_a_step_between_records_reports_a_minibatch_that_is_not_finite():
    net = _net(n=8)
    a = net._arrays
    n = net.n_params
    w = np.full(n, np.inf)
    A, D = mlp.make_buffers(a["sizes"], 8)
    Ab, Db = mlp.make_buffers(a["sizes"], 4)
    st, _ = mlp.step_minibatch(mlp.pass_fn(), mlp.perturb_fn(0.0, 0.0), a["sizes"],
                               net.act_id, w, a["X"], a["y"], 1, 4, 2, 0, 0.0, 0, 0, 0.0, A, D,
                               Ab, Db, np.arange(8), np.arange(8), np.empty(n),
                               np.zeros((3, n)))
    assert st == 1


# ---- runs: the same bits as record_every=1 --------------------------------------------------
@pytest.mark.parametrize("kw", [
    dict(opt=sim.Adam(lr=0.05), batch_size=6, steps=23, every=4),
    dict(opt=sim.SGD(lr=0.3, momentum=0.9), batch_size=6, steps=24, every=4),
    dict(opt=sim.RMSprop(lr=0.01), batch_size=32, steps=40, every=8),  # 32 >= N: full
    dict(opt=sim.Adam(lr=0.05), batch_size=None, steps=17, every=5),
    dict(opt=sim.SGD(lr=0.2), batch_size=3, steps=30, every=7, noise=0.3, clip=0.5),
    dict(opt=sim.AdamW(lr=0.02), batch_size=5, steps=9, every=100),  # only 0 and the end
    dict(opt=sim.Adam(lr=0.05), batch_size=6, steps=0, every=3),
], ids=lambda kw: f"{type(kw['opt']).__name__}-{kw['batch_size']}-{kw['every']}")
def test_positions_and_recorded_rows_are_the_every_step_runs(kw):
    net = _net("relu", (4, 3), n=20, dataset="circles")
    extra = dict(noise=kw.get("noise", 0.0), clip_grad_norm=kw.get("clip"), seed=3,
                 batch_size=kw["batch_size"])
    a = sim.simulate(net, kw["opt"], start=net.init, steps=kw["steps"], **extra)
    b = sim.simulate(net, kw["opt"], start=net.init, steps=kw["steps"],
                     record_every=kw["every"], **extra)
    _same_run(a, b)
    k, steps = kw["every"], kw["steps"]
    want = sorted(set(range(0, steps + 1, k)) | {steps})
    assert b.record_steps.tolist() == want
    assert b.final_loss == a.final_loss
    assert np.array_equal(b.grad_norms, a.grad_norms[b.record_steps])


def test_record_every_one_and_none_are_todays_run():
    net = _net()
    a = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=12, batch_size=6)
    b = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=12, batch_size=6,
                     record_every=1)
    assert a.record_steps is None and b.record_steps is None
    assert len(a.losses) == len(a.positions) == 13
    for f in ("positions", "losses", "gradients", "test_losses"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert a.recorded_steps.tolist() == list(range(13))


def test_recorded_run_matches_naive_sgd_in_dataloader_order():
    net = _net("tanh", (3,), n=10, n_test=4, seed=0)
    B, steps, seed, every, lr = 4, 8, 3, 3, 0.1  # 3 batches an epoch: 4, 4, 2
    run = sim.simulate(net, sim.SGD(lr=lr), start=net.init, steps=steps, batch_size=B,
                       seed=seed, record_every=every)
    batches = []
    for e in range(3):
        perm = np.empty(10, dtype=np.int64)
        permutation(seed, e, 10, perm)
        batches += [perm[0:4], perm[4:8], perm[8:10]]
    X, y, Xt, yt = net.X_train, net.y_train, net.X_test, net.y_test
    P, S, L, TL, G = naive.mlp_recorded_sgd(list(net.sizes), "tanh", net.init, X, y, Xt, yt,
                                            lr, batches[:steps], every)
    assert run.record_steps.tolist() == S == [0, 3, 6, 8]
    # K u S per value (see test_network._tol), carried along by each of the 8 updates
    K = 4 * (int(np.sum(net.sizes)) + net.n_params + 10)
    tol = steps * K * U
    assert np.max(np.abs(run.positions - np.array(P))) <= tol
    assert np.max(np.abs(run.losses - np.array(L))) <= 2 * tol
    assert np.max(np.abs(run.test_losses - np.array(TL))) <= 2 * tol
    assert np.max(np.abs(run.gradients - np.array(G))) <= 2 * tol


# ---- runs that stop -----------------------------------------------------------------------
@pytest.mark.parametrize("activation, lr, batch, every", [
    ("relu", 1e5, None, 5),   # the loss overflows between records (full batch)
    ("relu", 1e10, 4, 5),     # a minibatch's loss overflows between records
    ("relu", 1e30, 4, 3),
    ("relu", 1e30, None, 5),
    ("relu", 1e100, 4, 7),
    ("relu", 1e200, 4, 7),    # not finite at the start: nothing to run
])
def test_a_run_stopped_between_records_ends_where_the_every_step_run_ends(activation, lr,
                                                                            batch, every):
    net = sim.network("moons", hidden=(4,), activation=activation, n_train=20, n_test=5,
                      noise=0.1, seed=1)
    kw = dict(start=net.init, steps=40, batch_size=batch)
    try:
        a = sim.simulate(net, sim.SGD(lr=lr), **kw)
    except ValueError as e:  # the start itself
        with pytest.raises(ValueError, match=str(e)):
            sim.simulate(net, sim.SGD(lr=lr), record_every=every, **kw)
        return
    b = sim.simulate(net, sim.SGD(lr=lr), record_every=every, **kw)
    assert a.n_steps < 40 and a.status == b.status == "diverged"
    _same_run(a, b)
    assert b.record_steps[-1] == b.n_steps  # the last finite row is recorded
    assert b.status_reason == a.status_reason and b.status_step == a.status_step


def test_a_full_batch_loss_that_overflows_between_records_ends_the_run_there():
    # logistic regression (no hidden layer) where example 0 lies at x = 1e200: once a
    # batch holding it has moved the weight by ~1e199, its logit overflows, so the
    # full-batch loss is not finite, while the batches without it stay finite until it
    # comes back in the next epoch. The run recorded at 0 and 20 only stops there, and
    # ends where the every-step run ends: at the first step whose full-batch loss is
    # not finite (kernels.mlp.finish_run), its last row recorded.
    sizes = np.array([2, 1], dtype=np.int64)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2))
    X[0] = (1e200, 0.0)
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1], dtype=np.int64)
    Xt, yt = X[1:4].copy(), y[1:4].copy()
    opt = sim.SGD(lr=1.0)
    hp = engine.kernel_hp(opt)
    steps = 20
    lrs = np.ones(steps)
    w0 = np.array([1e-3, 0.2, 0.1])

    def run(every):
        rows = mlp.record_rows(steps, every)
        pos, grad = np.empty((steps + 1, 3)), np.empty((rows, 3))
        loss, tloss, rs = np.empty(rows), np.empty(rows), np.empty(rows, dtype=np.int64)
        k, reason, r = mlp.run_network(sizes, mlp.ACT_TANH, opt.oid, hp, lrs, w0, X, y, Xt,
                                       yt, steps, 2, 0.0, 5, 0, 0.0, every, pos, loss, tloss,
                                       grad, rs)
        return k, reason, pos[:k], rs[:r], loss[:r], tloss[:r], grad[:r]

    k1, reason1, P1, S1, L1, T1, G1 = run(1)
    k, reason, P, S, L, T, G = run(100)
    assert reason1 == reason == 1 and 1 < k1 < steps and k == k1
    assert np.array_equal(P, P1)
    assert S.tolist() == [0, k - 1]
    assert np.array_equal(L, L1[S]) and np.array_equal(G, G1[S])
    assert np.array_equal(T, T1[S])
    # example 0 made it: the full batch is finite at the last row, not one step on
    A, D = mlp.make_buffers(sizes, 8)
    assert np.isfinite(mlp.loss_value(sizes, mlp.ACT_TANH, P[-1], X, y, np.arange(8), 8,
                                      A, D))


# ---- input ------------------------------------------------------------------------------
@pytest.mark.parametrize("value, err, msg", [
    (0, ValueError, "at least 1"),
    (-8, ValueError, "at least 1"),
    (1.5, TypeError, "integer"),
    (8.0, TypeError, "integer"),
    ("8", TypeError, "integer"),
    (True, TypeError, "integer"),
])
def test_bad_record_every(value, err, msg):
    net = _net()
    with pytest.raises(err, match=msg):
        sim.simulate(net, sim.SGD(), start=net.init, steps=3, record_every=value)


def test_record_every_is_for_networks_and_not_with_plateau():
    s = sim.get_surface("quadratic")
    with pytest.raises(ValueError, match="record_every applies to networks"):
        sim.simulate(s, sim.SGD(lr=0.1), start=(1.0, 1.0), steps=3, record_every=2)
    with pytest.raises(TypeError, match="integer"):
        sim.simulate(s, sim.SGD(lr=0.1), start=(1.0, 1.0), steps=3, record_every="2")
    one = sim.simulate(s, sim.SGD(lr=0.1), start=(1.0, 1.0), steps=3, record_every=1)
    assert one.record_steps is None
    assert np.array_equal(one.positions, sim.simulate(s, sim.SGD(lr=0.1), start=(1.0, 1.0),
                                                      steps=3).positions)
    net = _net()
    with pytest.raises(ValueError, match="ReduceLROnPlateau.*record_every"):
        sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=10, record_every=2,
                     schedule=sim.ReduceLROnPlateau())
    run = sim.simulate(net, sim.SGD(lr=0.5), start=net.init, steps=10, record_every=1,
                       schedule=sim.ReduceLROnPlateau())
    assert run.record_steps is None


# ---- consumers ----------------------------------------------------------------------------
def test_table_has_a_row_per_recorded_step():
    net = _net()
    sch = sim.StepLR(step_size=5, gamma=0.5)
    a = sim.simulate(net, sim.SGD(lr=0.4), start=net.init, steps=22, batch_size=6,
                     schedule=sch)
    b = sim.simulate(net, sim.SGD(lr=0.4), start=net.init, steps=22, batch_size=6,
                     schedule=sch, record_every=5)
    ta, tb = a.table(), b.table()
    assert tb["step"].tolist() == [0, 5, 10, 15, 20, 22]
    assert tb.dtype == ta.dtype
    assert np.array_equal(tb, ta[tb["step"]])  # every column, the last row's lr too


def test_per_step_spreads_records_with_nan_between():
    net = _net()
    b = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=10, batch_size=6,
                     record_every=4)
    v = b.per_step(b.losses)
    assert v.shape == (11,)
    assert np.array_equal(v[[0, 4, 8, 10]], b.losses)
    assert np.isnan(v[[1, 2, 3, 5, 6, 7, 9]]).all()
    assert b.per_step(b.gradients).shape == (11, net.n_params)
    plane = sim.loss_plane(net, runs=[b], resolution=3)
    assert np.array_equal(plane.path_losses[0], v, equal_nan=True)


def test_status_steps_are_steps_not_rows():
    # converged: from the first recorded step after the last one whose gradient is
    # above GTOL; diverged by the loss-growth rule: the first recorded step it held at
    net = sim.network("moons", hidden=(4,), activation="relu", n_train=20, n_test=5,
                      noise=0.1, seed=1)
    kw = dict(start=net.init, steps=40, batch_size=4)
    a = sim.simulate(net, sim.Adam(lr=100.0), **kw)
    b = sim.simulate(net, sim.Adam(lr=100.0), record_every=3, **kw)
    assert a.status == b.status == "converged"
    S = b.record_steps
    above = np.nonzero(np.linalg.norm(a.gradients[S], axis=1) > engine.GTOL)[0]
    assert b.status_step == (0 if len(above) == 0 else S[above[-1] + 1])
    assert b.status_step in S.tolist() and b.status_step >= a.status_step
    net = sim.network("moons", hidden=(4,), activation="tanh", n_train=20, n_test=5,
                      noise=0.1, seed=1)
    a = sim.simulate(net, sim.SGD(lr=100.0), start=net.init, steps=40)
    b = sim.simulate(net, sim.SGD(lr=100.0), start=net.init, steps=40, record_every=6)
    assert a.status == b.status == "diverged" and a.n_steps == b.n_steps == 40
    L = a.losses[b.record_steps]
    low = np.minimum.accumulate(L)
    gap = np.maximum(L[0] - low, 1e-3 * (1.0 + abs(L[0])))
    first = np.nonzero((L - low) > 1e3 * gap)[0][0]
    assert b.status_step == b.record_steps[first] and b.status_step % 6 == 0


def test_gradients_used_refuses_a_sparse_record():
    from simulator.core.internals import gradients_used

    net = _net()
    b = sim.simulate(net, sim.SGD(lr=0.1), start=net.init, steps=6, record_every=2)
    with pytest.raises(ValueError, match="record_every"):
        gradients_used(b, 3)


def test_exports_carry_the_recorded_steps(tmp_path):
    net = _net()
    sc = sim.Scene(net, steps=10)
    a = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=10, batch_size=6)
    b = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=10, batch_size=6,
                     record_every=4)
    ex = [data.ExportRun("every", None, a.optimizer, a),
          data.ExportRun("sparse", None, b.optimizer, b)]
    data.write_csv(ex, tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    ra = [r for r in rows if r["lane"] == "every"]
    rb = [r for r in rows if r["lane"] == "sparse"]
    assert [int(r["step"]) for r in rb] == list(range(11))  # a row per step, positions
    for k in range(11):
        assert rb[k]["w0"] == ra[k]["w0"] and rb[k]["alpha"] == ra[k]["alpha"]
        assert rb[k]["test_accuracy"] == ra[k]["test_accuracy"]
        for c in ("loss", "test_loss", "grad_norm"):
            assert rb[k][c] == (ra[k][c] if k in (0, 4, 8, 10) else ""), (k, c)
    data.write_json(sc.to_dict(), ex, tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    ja, jb = doc["runs"]
    assert "record_steps" not in ja and jb["record_steps"] == [0, 4, 8, 10]
    assert jb["losses"] == [ja["losses"][s] for s in (0, 4, 8, 10)]
    assert jb["test_losses"] == [ja["test_losses"][s] for s in (0, 4, 8, 10)]
    assert jb["grad_norms"] == [ja["grad_norms"][s] for s in (0, 4, 8, 10)]
    assert len(jb["positions"]) == len(jb["plane_path"]) == len(jb["test_accuracies"]) == 11


def test_lab_checks_count_steps_not_records():
    from simulator.core.labs.checks import _status_phrase

    net = _net()
    b = sim.simulate(net, sim.Adam(lr=0.05), start=net.init, steps=10, batch_size=6,
                     record_every=4)
    assert _status_phrase(b).endswith("at step 10")
