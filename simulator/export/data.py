"""Run data export: CSV (one row per lane and step) and JSON (the scene and every run).

Headless: works from a :class:`~simulator.core.labs.Lab` (command line) or from the
app's Session (duck-typed: ``lanes``, ``results``, ``to_dict()``), never imports Qt.
Files are written to a temporary file next to the target and renamed over it only when
complete, so a failed or cancelled export never leaves a half-written file.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.files import (  # noqa: F401 - re-exported for the writers
    atomic_open,
    check_writable,
    remove_quietly,
    temp_path_for,
)
from ..core.summary import TABLE_COLUMNS_1D, TABLE_COLUMNS_2D

FORMAT = "losslab-export"
VERSION = 1
# the lane's name, then the columns of Trajectory.table(), which shares these names
CSV_COLUMNS_2D = ("lane", *TABLE_COLUMNS_2D)
CSV_COLUMNS_1D = ("lane", *TABLE_COLUMNS_1D)


class Cancelled(Exception):
    """Raised inside an export when its ``cancel`` callback says stop."""


@dataclass(frozen=True)
class ExportRun:
    """One lane's run as exported: its name, colour, optimizer and trajectory."""

    name: str
    color: str | None
    optimizer: Any  # simulator.core.optimizers.Optimizer
    run: Any  # simulator.core.engine.Trajectory
    settings: dict | None = None  # the lane's effective schedule/noise/start, for JSON


def runs_from_lab(lab, runs=None) -> list[ExportRun]:
    """Simulate (or take ``runs`` from :meth:`Lab.run`) every enabled lane of ``lab``."""
    pairs = lab.run() if runs is None else runs
    out = []
    for lane, run in pairs:
        eff = lab.effective(lane)
        out.append(ExportRun(lane.name, lane.color, lane.optimizer, run, _settings(eff)))
    return out


def runs_from_session(session) -> list[ExportRun]:
    """The computed runs of the app's session, in lane order (enabled lanes only)."""
    out = []
    for lane in session.lanes:
        run = session.results.get(lane.uid)
        if run is None or not lane.enabled:
            continue
        eff = session.effective(lane) if hasattr(session, "effective") else {}
        out.append(ExportRun(lane.name, lane.color, lane.optimizer, run, _settings(eff)))
    return out


def _settings(eff: dict) -> dict:
    out = {}
    for k, v in eff.items():
        if k == "schedule":
            out[k] = v.to_dict() if v is not None else None
        elif isinstance(v, tuple):
            out[k] = list(v)
        else:
            out[k] = v
    return _jsonable(out)


# ---- atomic files ----------------------------------------------------------------------------
# One atomic writer for all of LossLab: simulator.core.files (links followed, modes kept,
# devices refused, stale temporaries cleaned). ``atomic_output`` is its name here.
atomic_output = atomic_open


# ---- CSV ---------------------------------------------------------------------------------------
def _num(v: float) -> str:
    if v is None or not math.isfinite(v):
        return ""
    return repr(float(v))


def csv_rows(runs: list[ExportRun]) -> Iterator[list[str]]:
    """Data rows (no header): lane, then the columns of ``Trajectory.table()``
    (optimizer, step, x, y or w, loss, grad_norm, lr, evaluations, status)."""
    for r in runs:
        t = r.run
        opt = repr(getattr(t, "optimizer", r.optimizer))  # what ran, as table() says
        status = str(t.status)
        pos = np.asarray(t.positions)
        loss = np.asarray(t.losses)
        gn = np.asarray(t.grad_norms)
        lrs = np.asarray(t.learning_rates)
        ev = evaluation_counts(t)
        last = len(pos) - 1
        for k in range(len(pos)):
            lr = _num(lrs[k]) if k < last else _num(t.next_lr)
            yield [r.name, opt, str(k), *(_num(v) for v in pos[k]), _num(loss[k]),
                   _num(gn[k]), lr, str(ev[k]), status]


def evaluation_counts(t) -> np.ndarray:
    """``t.evaluation_counts()`` for a run rebuilt without that method (duck-typed):
    ``t.evaluations`` (ones when absent) per update, then 0 for the last position."""
    if hasattr(t, "evaluation_counts"):
        return t.evaluation_counts()
    n = len(t.positions)
    out = np.zeros(n, dtype=np.int64)
    ev = getattr(t, "evaluations", None)
    out[: n - 1] = 1 if ev is None else np.asarray(ev, dtype=np.int64)[: n - 1]
    return out


# ---- networks ------------------------------------------------------------------------------
def network_of(runs: list[ExportRun]):
    """The network the runs trained (``Trajectory.surface``), or None for a surface."""
    for r in runs:
        net = getattr(r.run, "surface", None)
        if getattr(net, "kind", None) == "network":
            return net
    return None


def _finite_prefix(P: np.ndarray) -> np.ndarray:
    bad = ~np.all(np.isfinite(P), axis=1)
    return P[: int(np.argmax(bad))] if bad.any() else P


@dataclass(frozen=True)
class NetworkData:
    """What a network scene's export adds to each run: the loss plane the paths are
    projected on (PCA of the runs around the first run's end point, as the app draws it
    by default; None when the runs do not span a plane) and per run the projected path,
    the test loss and the test accuracy at every step (nan where a run diverged)."""

    plane: Any  # simulator.core.landscape.LossPlane or None
    note: str
    paths: list  # (steps + 1, 2) per run
    test_losses: list  # (steps + 1,) per run
    test_accuracies: list  # (steps + 1,) per run


def network_data(net, runs: list[ExportRun]) -> NetworkData:
    """Project every run on the default loss plane and compute its test figures."""
    from ..core.landscape import loss_plane

    Ps = [np.asarray(r.run.positions, dtype=np.float64) for r in runs]
    fin = [_finite_prefix(P) for P in Ps]
    plane, note = None, ""
    use = [F for F in fin if len(F)]
    if use:
        try:
            plane = loss_plane(net, runs=use, directions="pca", resolution=3)
        except ValueError as e:
            note = f"no plane: {e}"
    else:
        note = "no plane: no run has a finite position"
    paths, tls, accs = [], [], []
    k = 0
    for P, F, r in zip(Ps, fin, runs):
        path = np.full((len(P), 2), np.nan)
        if plane is not None and len(F):
            path[: len(F)] = plane.paths[k]
        k += 1 if len(F) else 0
        paths.append(path)
        tl = getattr(r.run, "test_losses", None)
        if tl is not None and getattr(r.run, "record_steps", None) is not None:
            tl = r.run.per_step(tl)  # recorded every k steps: NaN between records
        if tl is None or len(tl) != len(P):
            tl = [net.test_loss(w) if i < len(F) else math.nan for i, w in enumerate(P)]
        tls.append(np.asarray(tl, dtype=float))
        acc = np.full(len(P), np.nan)
        if len(net.y_test):
            yt = np.asarray(net.y_test)
            for i in range(len(F)):
                acc[i] = float(np.mean(net.predict(F[i], net.X_test) == yt))
        accs.append(acc)
    return NetworkData(plane, note, paths, tls, accs)


def parameter_layout(net) -> list[dict]:
    """Where each of torch's ``nn.Sequential`` parameters lies in the flat vector:
    ``{"name": "0.weight", "shape": [16, 2], "start": 0}`` (``w{start}`` is its first
    CSV column; a weight is stored row by row, (out, in), as torch's)."""
    out, start = [], 0
    for i, a in enumerate(net.parameters(net.init)):
        layer = 2 * (i // 2)  # Linear, activation, Linear, ...: Linear modules are even
        name = f"{layer}.{'weight' if i % 2 == 0 else 'bias'}"
        out.append({"name": name, "shape": list(a.shape), "start": start})
        start += int(a.size)
    return out


NETWORK_CSV_COLUMNS = ("lane", "optimizer", "step", "alpha", "beta", "loss", "test_loss",
                       "test_accuracy", "grad_norm", "lr", "status")


def _network_rows(runs: list[ExportRun], nd: NetworkData) -> Iterator[list[str]]:
    for r, path, tl, acc in zip(runs, nd.paths, nd.test_losses, nd.test_accuracies):
        t = r.run
        opt = repr(getattr(t, "optimizer", r.optimizer))
        status = str(t.status)
        pos = np.asarray(t.positions)
        loss, gn = np.asarray(t.losses), np.asarray(t.grad_norms)
        if getattr(t, "record_steps", None) is not None:  # empty cells between records
            loss, gn = t.per_step(loss), t.per_step(gn)
        lrs = np.asarray(t.learning_rates)
        last = len(pos) - 1
        for k in range(len(pos)):
            lr = _num(lrs[k]) if k < last else _num(t.next_lr)
            yield [r.name, opt, str(k), _num(path[k, 0]), _num(path[k, 1]), _num(loss[k]),
                   _num(tl[k]), _num(acc[k]), _num(gn[k]), lr, status,
                   *(_num(v) for v in pos[k])]


def write_csv(runs: list[ExportRun], path: str | os.PathLike, dim: int | None = None,
              cancel: Callable[[], bool] | None = None,
              progress: Callable[[int, int], None] | None = None) -> int:
    """Write every run as CSV: one row per lane and step. Returns the number of data rows.

    Columns: ``lane`` (the lane's name), ``optimizer`` (the call that makes it,
    ``SGD(lr=0.001, momentum=0.9)``), ``step``, ``x``, ``y`` (``w`` for a curve),
    ``loss``, ``grad_norm``, ``lr`` (the learning rate of the update taken *from* that
    row's position; on a run's last row the rate the schedule would apply there),
    ``evaluations`` (the loss-and-gradient evaluations of that same update: 1, or
    L-BFGS's counted closures, ``Trajectory.evaluations``; 0 on a run's last row, from
    which no update was made) and ``status`` (the run's status, on each of its rows).
    Non-finite numbers are empty.

    A network's runs (:func:`network_of`): ``lane``, ``optimizer``, ``step``, ``alpha``,
    ``beta`` (the position projected on the loss plane: PCA of the runs around the first
    run's end point, see :func:`network_data`; empty when the runs span no plane),
    ``loss`` (full-batch training loss), ``test_loss``, ``test_accuracy``,
    ``grad_norm``, ``lr``, ``status``, then ``w0`` ... ``w{n-1}``: every parameter, in
    the order of torch's ``nn.Sequential(...).parameters()`` flattened
    (:func:`parameter_layout`). A run made with ``record_every`` > 1 has every step's
    row too, its ``loss``, ``test_loss`` and ``grad_norm`` cells empty between records.
    """
    net = network_of(runs)
    nd = network_data(net, runs) if net is not None else None
    if nd is not None:
        header = (*NETWORK_CSV_COLUMNS, *(f"w{i}" for i in range(net.n_params)))
        rows = _network_rows(runs, nd)
    else:
        if dim is None:
            dim = np.asarray(runs[0].run.positions).shape[1] if runs else 2
        header = CSV_COLUMNS_1D if dim == 1 else CSV_COLUMNS_2D
        rows = csv_rows(runs)
    total = sum(len(r.run.positions) for r in runs)
    n = 0
    every = 5000 if nd is None else 200
    with atomic_output(path) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)
            n += 1
            if n % every == 0:
                if cancel is not None and cancel():
                    raise Cancelled()
                if progress is not None:
                    progress(n, total)
    if progress is not None:
        progress(total, total)
    return n


# ---- JSON --------------------------------------------------------------------------------------
def _jsonable(v):
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def run_record(r: ExportRun) -> dict:
    t = r.run
    rec = {
        "name": r.name,
        "color": r.color,
        "optimizer": r.optimizer.to_dict(),
        "settings": r.settings,
        "status": t.status,
        "status_step": getattr(t, "status_step", None),
        "status_reason": getattr(t, "status_reason", None),
        "steps": int(len(t.positions) - 1),
        "positions": np.asarray(t.positions),
        "losses": np.asarray(t.losses),
        "grad_norms": np.asarray(t.grad_norms),
        "gradients": np.asarray(t.gradients),
        "learning_rates": np.asarray(t.learning_rates),
        "evaluations": evaluation_counts(t)[:-1],
    }
    rs = getattr(t, "record_steps", None)
    if rs is not None:
        rec["record_steps"] = np.asarray(rs)
    return _jsonable(rec)


def export_document(scene: dict, runs: list[ExportRun], lab: dict | None = None) -> dict:
    """The JSON export: the scene (a ``losslab-session`` dict), the lab it came from
    (when there is one) and every run with all its steps. Non-finite numbers are null.

    A network's runs add ``"network"``: ``n_params``, ``parameters`` (the layout of the
    flat vector, :func:`parameter_layout`), ``plane`` (``kind``, ``center``,
    ``directions`` (2, n_params) and ``explained_variance`` of the loss plane, or null)
    and ``plane_note``; and to each run ``plane_path`` (steps + 1, 2: alpha, beta),
    ``test_losses`` and ``test_accuracies`` (steps + 1). ``positions`` holds every
    parameter at every step (steps + 1, n_params).

    Each run's ``evaluations`` (steps values, like ``learning_rates``) counts the
    loss-and-gradient evaluations of each update: 1, or L-BFGS's counted closures.

    A network run made with ``record_every`` > 1 adds ``record_steps``: its ``losses``,
    ``grad_norms``, ``gradients`` and ``test_losses`` then have one value per recorded
    step (``Trajectory.record_steps``), while ``positions``, ``plane_path`` and
    ``test_accuracies`` keep one per step."""
    from simulator import __version__

    doc = {
        "format": FORMAT,
        "version": VERSION,
        "losslab": __version__,
        "scene": _jsonable(scene),
    }
    if lab is not None:
        doc["lab"] = _jsonable(lab)
    doc["runs"] = [run_record(r) for r in runs]
    net = network_of(runs)
    if net is not None:
        nd = network_data(net, runs)
        p = nd.plane
        doc["network"] = _jsonable({
            "n_params": net.n_params,
            "parameters": parameter_layout(net),
            "plane": None if p is None else {
                "kind": p.kind, "center": p.center, "directions": p.directions,
                "explained_variance": p.explained_variance},
            "plane_note": nd.note or None,
        })
        for rec, path, tl, acc in zip(doc["runs"], nd.paths, nd.test_losses,
                                      nd.test_accuracies):
            rec["plane_path"] = _jsonable(path)
            rs = rec.get("record_steps")
            # the same rows as "losses": compact when the run recorded every k steps
            rec["test_losses"] = _jsonable(tl if rs is None else np.asarray(tl)[rs])
            rec["test_accuracies"] = _jsonable(acc)
    return doc


def write_json(scene: dict, runs: list[ExportRun], path: str | os.PathLike,
               lab: dict | None = None) -> None:
    doc = export_document(scene, runs, lab)
    with atomic_output(path) as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
