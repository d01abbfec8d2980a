"""Reading a Session the way every view and panel does: which lanes are shown, which one
is selected, the learning rate a lane uses at a frame, and when a lane edit needs a
redraw. Everything a view draws comes from the Session (its surface, its lanes and the
precomputed runs in ``session.results``); reading them here in one way keeps the 2-D,
3-D and 1-D views and the panels in agreement.
"""

from __future__ import annotations

import numpy as np


def shown_lanes(session):
    """Enabled lanes that have a run, in lane order: ``[(lane, trajectory), ...]``."""
    out = []
    results = getattr(session, "results", None) or {}
    for lane in getattr(session, "lanes", []):
        if not getattr(lane, "enabled", True):
            continue
        run = results.get(lane.uid)
        if run is None or len(run.positions) == 0:
            continue
        out.append((lane, run))
    return out


def selected_lane(session):
    """The selected lane, or None (``session.selected_lane`` is an index into lanes)."""
    lane = getattr(session, "current_lane", None)
    if lane is not None:
        return lane
    i = getattr(session, "selected_lane", -1)
    lanes = list(getattr(session, "lanes", []))
    if isinstance(i, int) and 0 <= i < len(lanes):
        return lanes[i]
    return None


def is_selected(session, lane) -> bool:
    sel = selected_lane(session)
    return sel is not None and sel.uid == lane.uid


def lane_lr(session, lane, run=None, frame: int | None = None) -> float:
    """The learning rate a lane actually uses at ``frame`` (schedules included)."""
    if run is not None and frame is not None and len(getattr(run, "learning_rates", ())):
        lrs = run.learning_rates
        k = min(max(int(frame), 0), len(lrs) - 1)
        v = float(lrs[k])
        if np.isfinite(v):
            return v
    try:
        eff = session.effective(lane)
        if isinstance(eff, dict) and "lr" in eff:
            return float(eff["lr"])
    except Exception:  # noqa: BLE001 - a half-built session must not break a view
        pass
    return float(getattr(lane.optimizer, "lr", np.nan))


def on_lane_edits(session, slot) -> None:
    """Call ``slot`` on ``session.lanes_changed``, unless a recompute is pending.

    An edit that re-runs a lane (a learning rate, say) is followed by
    ``trajectories_changed`` in the same event-loop turn; drawing on both would draw
    twice. A rename or a new colour runs nothing, so it is drawn at once.
    """
    session.lanes_changed.connect(
        lambda *_a: None if getattr(session, "pending", False) else slot()
    )
