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
    (optimizer, step, x, y or w, loss, grad_norm, lr, status)."""
    for r in runs:
        t = r.run
        opt = repr(getattr(t, "optimizer", r.optimizer))  # what ran, as table() says
        status = str(t.status)
        pos = np.asarray(t.positions)
        loss = np.asarray(t.losses)
        gn = np.asarray(t.grad_norms)
        lrs = np.asarray(t.learning_rates)
        last = len(pos) - 1
        for k in range(len(pos)):
            lr = _num(lrs[k]) if k < last else _num(t.next_lr)
            yield [r.name, opt, str(k), *(_num(v) for v in pos[k]), _num(loss[k]),
                   _num(gn[k]), lr, status]


def write_csv(runs: list[ExportRun], path: str | os.PathLike, dim: int | None = None,
              cancel: Callable[[], bool] | None = None,
              progress: Callable[[int, int], None] | None = None) -> int:
    """Write every run as CSV: one row per lane and step. Returns the number of data rows.

    Columns: ``lane`` (the lane's name), ``optimizer`` (the call that makes it,
    ``SGD(lr=0.001, momentum=0.9)``), ``step``, ``x``, ``y`` (``w`` for a curve),
    ``loss``, ``grad_norm``, ``lr`` (the learning rate of the update taken *from* that
    row's position; on a run's last row the rate the schedule would apply there) and
    ``status`` (the run's status, on each of its rows). Non-finite numbers are empty.
    """
    if dim is None:
        dim = np.asarray(runs[0].run.positions).shape[1] if runs else 2
    header = CSV_COLUMNS_1D if dim == 1 else CSV_COLUMNS_2D
    total = sum(len(r.run.positions) for r in runs)
    n = 0
    with atomic_output(path) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in csv_rows(runs):
            w.writerow(row)
            n += 1
            if n % 5000 == 0:
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
    }
    return _jsonable(rec)


def export_document(scene: dict, runs: list[ExportRun], lab: dict | None = None) -> dict:
    """The JSON export: the scene (a ``losslab-session`` dict), the lab it came from
    (when there is one) and every run with all its steps. Non-finite numbers are null."""
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
    return doc


def write_json(scene: dict, runs: list[ExportRun], path: str | os.PathLike,
               lab: dict | None = None) -> None:
    doc = export_document(scene, runs, lab)
    with atomic_output(path) as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
