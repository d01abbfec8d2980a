"""Short text and HTML summaries of LossLab objects, for the console and for notebooks.

``repr`` of a run, a batch, a surface or a scene is one line (``<Trajectory ...>``);
``_repr_html_`` is a small table that Jupyter shows instead. Optimizers and schedules
print as the constructor call that makes them (``Adam(lr=0.02)``), showing only the
arguments that differ from the defaults, so the text evaluates back to an equal object.
Every user-supplied string (lane names, formulas, lab titles) is escaped in the HTML.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Iterable, Sequence

#: columns of ``Trajectory.table()``: the CSV export's, without its ``lane`` column
TABLE_COLUMNS_2D = ("optimizer", "step", "x", "y", "loss", "grad_norm", "lr", "evaluations",
                    "status")
TABLE_COLUMNS_1D = ("optimizer", "step", "w", "loss", "grad_norm", "lr", "evaluations", "status")
#: ``Trajectory.table()`` of a run on a network (no coordinate columns: too many)
TABLE_COLUMNS_NETWORK = ("optimizer", "step", "loss", "test_loss", "grad_norm", "lr", "status")

MAX_NAME = 40  # a typed formula can be long: names in one-line reprs are cut to this


def short(text: str, limit: int = MAX_NAME) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def num(v) -> str:
    """A number in at most 3 significant digits (``3.1e-09``, ``0.02``, ``nan``)."""
    if v is None:
        return "-"
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.3g}"


def point(p: Iterable[float]) -> str:
    """A point as ``(1, -0.5)`` with each coordinate in 3 significant digits (a long
    vector, a network's parameters, as its first three values and its length)."""
    p = list(p)
    if len(p) > 4:
        return "(" + ", ".join(num(v) for v in p[:3]) + f", ... {len(p)} values)"
    return "(" + ", ".join(num(v) for v in p) + ")"


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays
        return False


def call_repr(obj, always: Sequence[str] = ()) -> str:
    """The constructor call that makes the dataclass ``obj``: ``Adam(lr=0.02)``.

    Arguments equal to their defaults are left out, except those named in ``always``.
    Values print with ``repr`` (floats in full), so the text evaluates back to an equal
    object when the class names are in scope.
    """
    parts = []
    for f in dataclasses.fields(obj):
        if not f.init or not f.repr:
            continue
        v = getattr(obj, f.name)
        if f.name not in always and _same(v, _default(f)):
            continue
        parts.append(f"{f.name}={v!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def html_table(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A two-column HTML table headed by ``title``; every text is escaped here."""
    esc = html.escape
    body = "".join(
        f"<tr><th style='text-align:left'>{esc(str(k))}</th>"
        f"<td style='text-align:left'>{esc(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption style='text-align:left'><b>{esc(title)}</b></caption>{body}</table>"


def grid_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table with a header row; every cell is escaped here."""
    esc = html.escape
    head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{esc(str(c))}</td>" for c in r) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


# ---- the objects ---------------------------------------------------------------------------
def run_status(status: str, status_step, n_steps: int, steps: int) -> str:
    """``converged at step 412 of 500`` (or ``converging after 500 of 500 steps``)."""
    if status_step is not None:
        return f"{status} at step {status_step} of {steps}"
    return f"{status} after {n_steps} of {steps} steps"


def trajectory_repr(t) -> str:
    """One line: optimizer, surface, status, steps and final loss of a ``Trajectory``."""
    return (
        f"<Trajectory {t.optimizer!r} on {short(t.surface.name)}: "
        f"{run_status(t.status, t.status_step, t.n_steps, t.steps)}, "
        f"final loss {num(t.final_loss)}>"
    )


def trajectory_html(t) -> str:
    """A ``Trajectory`` as a small HTML table."""
    rows = [
        ("optimizer", repr(t.optimizer)),
        ("surface", t.surface.name),
        ("schedule", repr(t.schedule)),
        ("start", point(t.start)),
        ("status", run_status(t.status, t.status_step, t.n_steps, t.steps)),
        ("why", t.status_reason),
        ("final loss", num(t.final_loss)),
        ("final position", point(t.final_position)),
    ]
    if t.noise:
        rows.append(("noise", f"{num(t.noise)} (seed {t.seed})"))
    if t.batch_size:
        rows.append(("batch size", str(t.batch_size)))
    if t.clip_grad_norm:
        rows.append(("clip_grad_norm", num(t.clip_grad_norm)))
    return html_table("Trajectory", rows)


def _counts(statuses) -> str:
    from collections import Counter

    c = Counter(str(s) for s in statuses)
    return ", ".join(f"{n:,} {s}" for s, n in c.most_common()) or "no runs"


def _best(losses) -> str:
    import numpy as np

    a = np.asarray(losses, dtype=np.float64)
    a = a[np.isfinite(a)]
    return num(a.min()) if a.size else "-"


def batch_repr(b) -> str:
    """One line: optimizer, surface, runs, steps, status counts and best final loss."""
    n = len(b.status_codes)
    return (
        f"<BatchResult {b.optimizer!r} on {short(b.surface.name)}: {n:,} runs of "
        f"{b.steps:,} steps; {_counts(b.status)}; best final loss {_best(b.final_losses)}>"
    )


def batch_html(b) -> str:
    """A ``BatchResult`` as a small HTML table."""
    return html_table("BatchResult", [
        ("optimizer", repr(b.optimizer)),
        ("surface", b.surface.name),
        ("runs", f"{len(b.status_codes):,} of {b.steps:,} steps"),
        ("statuses", _counts(b.status)),
        ("best final loss", _best(b.final_losses)),
    ])


def _domain(s) -> str:
    return " x ".join(f"[{num(lo)}, {num(hi)}]" for lo, hi in s.domain)


def surface_repr(s) -> str:
    """One line: name, dimension, kind and domain of a ``Surface``."""
    kind = s.kind
    if getattr(getattr(s, "impl", None), "approximate", False):
        kind += ", approximate derivatives"  # finite differences (core.functions)
    return f"<Surface {short(s.name)!r} ({s.dim}-D, {kind}) on {_domain(s)}>"


def surface_html(s) -> str:
    """A ``Surface`` as a small HTML table."""
    rows = [
        ("name", s.name),
        ("variables", ", ".join(s.variables)),
        ("kind", s.kind),
        ("domain", _domain(s)),
    ]
    if s.formula:
        rows.append(("formula", s.formula))
    if s.min_value is not None:
        at = f" at {point(s.minima[0])}" if s.minima else ""
        rows.append(("minimum", num(s.min_value) + at))
    if s.description:
        rows.append(("about", s.description))
    impl = getattr(s, "impl", None)
    if impl is not None:  # a Python function (core.functions)
        rows.append(("derivatives", "approximate (finite differences)" if impl.approximate
                     else "given by the user"))
        rows.append(("runs", impl.note))
    return html_table("Surface", rows)


def scene_repr(sc) -> str:
    """One line: title, lanes, steps and start of a ``Scene``."""
    on = sum(1 for lane in sc.lanes if lane.enabled)
    lanes = f"{len(sc.lanes)} lane{'s' if len(sc.lanes) != 1 else ''}"
    if on != len(sc.lanes):
        lanes += f" ({on} enabled)"
    what = repr(short(sc.title)) if sc.surface is not None else "(no surface)"
    return f"<Scene {what}: {lanes}, {sc.steps:,} steps from {point(sc.start)}>"


def scene_html(sc) -> str:
    """A ``Scene`` as an HTML table of its settings and one of its lanes."""
    head = html_table("Scene", [
        ("title", sc.title or "-"),
        ("surface", sc.surface.name if sc.surface is not None else "-"),
        ("start", point(sc.start)),
        ("steps", f"{sc.steps:,}"),
        ("schedule", repr(sc.schedule)),
        ("noise", num(sc.noise)),
    ])
    lanes = grid_table(
        ("lane", "optimizer", "colour", "enabled"),
        [(lane.name, repr(lane.optimizer), lane.color, "yes" if lane.enabled else "no")
         for lane in sc.lanes],
    )
    return head + lanes
