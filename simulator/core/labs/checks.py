"""Checks of a lab step's task: a small declarative vocabulary (never code) evaluated on
the student's scene and runs, giving a :class:`CheckResult` with a specific message
built from those runs.

The vocabulary (``"lane"`` is a lane's name or its 0-based index in the scene):

``{"kind": "status", "lane": "GD", "is": ["converged"]}``
    The lane's run status (``converged``, ``converging``, ``oscillating``, ``diverged``,
    ``stalled``) is one of ``is``; or, with ``"is_not": [...]``, none of them.
``{"kind": "converged_within", "lane": "GD", "steps": 100}``
    The lane converged, and stayed converged from step ``steps`` or earlier.
``{"kind": "final_loss_below", "lane": "GD", "value": 1e-3}``
    The loss at the lane's last step is below ``value``.
``{"kind": "hyperparameter", "lane": "GD", "name": "lr", "min": 0.01, "max": 0.02}``
    The lane's optimizer hyperparameter ``name`` lies in [min, max] (either may be left
    out; ``betas`` is read as ``beta1`` and ``beta2``).
``{"kind": "lr_near_stability_limit", "lane": "GD", "at": [1, 1], "rel_tol": 0.1,
"side": "below"}``
    The lane's learning rate is within ``rel_tol`` (relative) of ``2 / lambda_max``,
    lambda_max being the largest Hessian eigenvalue of the scene's surface at ``at``;
    ``side`` ``"below"`` accepts only rates up to the limit, ``"either"`` both sides.
``{"kind": "final_value", "lane": "GD", "quantity": "test_loss", "max": 0.4}``
    The lane's ``quantity`` at its last step lies in [min, max] (either may be left out):
    ``loss`` (full-batch training loss), ``test_loss`` and ``test_accuracy`` (networks),
    ``sharpness`` (the largest Hessian eigenvalue of the training loss).
``{"kind": "compare", "quantity": "sharpness", "lane": "Small batch", "than": "Full batch",
"is": "lower"}``
    At the last step, the lane's ``quantity`` (as in ``final_value``) is ``lower`` (or
    ``higher``) than the lane ``than``'s.
``{"kind": "sharpness_edge", "lane": "GD", "is": "near", "over": "late", "rel_tol": 0.15}``
    The lane's sharpness against the edge of stability ``2 / lr`` (its optimizer's
    learning rate): ``below`` it (by more than ``rel_tol``), ``near`` it (within
    ``rel_tol``, relative) or ``above`` it; the sharpness taken at the last step
    (``over`` ``"end"``), its largest value along the run (``"max"``) or its median over
    the second half of the run (``"late"``, the default), sampled at about 40 points.
``{"kind": "choice", "options": ["A", "B"], "correct": 1}``
    A question: the student's ``answer`` (an option's index or its text) is option
    ``correct`` (0-based).
``{"kind": "all", "checks": [...]}``
    Every listed check passes (the message explains the first that does not).

Checks never change the scene; they run it (``scene.run()``) only when no runs are
given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .problems import Checker, join, show

# the engine's run statuses (simulator.core.engine.STATUSES; a test keeps them equal):
# importing the engine here would load numba for a lab listing
STATUSES = ("converged", "converging", "oscillating", "diverged", "stalled")
CHECK_KINDS = ("status", "converged_within", "final_loss_below", "hyperparameter",
               "lr_near_stability_limit", "final_value", "compare", "sharpness_edge",
               "choice", "all")
QUANTITIES = ("loss", "test_loss", "test_accuracy", "sharpness")
EDGE_SIDES = ("below", "near", "above")
EDGE_OVER = ("end", "max", "late")
EDGE_SAMPLES = 40
_KEYS = {
    "status": ("kind", "lane", "is", "is_not"),
    "converged_within": ("kind", "lane", "steps", "at"),
    "final_loss_below": ("kind", "lane", "value"),
    "hyperparameter": ("kind", "lane", "name", "min", "max"),
    "lr_near_stability_limit": ("kind", "lane", "at", "rel_tol", "side"),
    "final_value": ("kind", "lane", "quantity", "min", "max"),
    "compare": ("kind", "lane", "quantity", "than", "is"),
    "sharpness_edge": ("kind", "lane", "is", "over", "rel_tol"),
    "choice": ("kind", "options", "correct"),
    "all": ("kind", "checks"),
}
HYPERPARAMETERS = ("lr", "momentum", "dampening", "weight_decay", "alpha", "beta1",
                   "beta2", "eps", "rho", "lr_decay", "initial_accumulator_value",
                   "momentum_decay")
MAX_OPTIONS = 12
MAX_NESTED = 8


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check: ``passed`` and a message for the student.

    Parameters
    ----------
    passed : bool
        Whether the task is done.
    message : str
        What the check saw, in a sentence or two built from the student's runs
        ("GD is still oscillating at step 100: ...").

    Examples
    --------
    >>> import simulator as sim
    >>> lab = sim.load_lab("lr-1d")
    >>> scene = lab.scene(step=2)
    >>> scene.lanes[0].optimizer = sim.SGD(lr=0.1)
    >>> result = lab.steps[2].check(scene)
    >>> bool(result)
    False
    >>> print(result.message)
    Not yet: GD is converging at step 60, not converged within 3 steps: the learning rate
    0.1 is far below 2/lambda_max = 1 at w = 2.
    """

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed


@dataclass(frozen=True, eq=False)
class Check:
    """A validated check: its ``kind`` and its canonical JSON ``spec``.

    Build one with :func:`parse_check` (or by loading a lab); evaluate it with
    :meth:`evaluate`.
    """

    kind: str
    spec: dict

    def __eq__(self, other) -> bool:
        return isinstance(other, Check) and self.spec == other.spec

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict:
        return _copy(self.spec)

    def evaluate(self, scene, runs=None, answer=None) -> CheckResult:
        """Evaluate on ``scene`` (a Scene) and its ``runs`` (see :func:`evaluate_check`)."""
        return evaluate_check(self, scene, runs, answer)


def _copy(d):
    if isinstance(d, dict):
        return {k: _copy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_copy(v) for v in d]
    return d


# ---- validation ------------------------------------------------------------------------------
def parse_check(ck: Checker, d, place: str, dim: int | None = None, depth: int = 0
                ) -> Check | None:
    """Check ``d`` as a check at ``place``, recording every problem in ``ck``.

    ``dim`` is the number of variables of the step's surface (for points), None when
    unknown. Returns the :class:`Check`, or None after recording problems.
    """
    if not isinstance(d, dict):
        ck.add(place, "must be an object such as {\"kind\": \"status\", \"lane\": \"GD\", "
                      "\"is\": [\"converged\"]}")
        return None
    kind = d.get("kind")
    if kind not in CHECK_KINDS:
        from .problems import close_matches

        close = close_matches(str(kind), list(CHECK_KINDS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(CHECK_KINDS)}"
        ck.add(join(place, "kind"), f"unknown check {show(kind)}; {hint}")
        return None
    n0 = len(ck.problems)
    ck.unknown_keys(d, _KEYS[kind], place)
    out: dict[str, Any] = {"kind": kind}
    if "lane" in _KEYS[kind]:
        out["lane"] = _check_lane_ref(ck, d.get("lane"), join(place, "lane"))
    _PARSERS[kind](ck, d, place, out, dim, depth)
    if len(ck.problems) > n0:
        return None
    return Check(kind, out)


def _check_lane_ref(ck: Checker, v, place: str):
    if isinstance(v, bool) or not (isinstance(v, str) and v.strip() and len(v) <= 60 or
                                   isinstance(v, int) and 0 <= v < 12):
        ck.add(place, f"must be a lane's name or its index from 0, got {show(v)}")
        return None
    return v


def _statuses(ck: Checker, v, place: str) -> list[str] | None:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or any(s not in STATUSES for s in v):
        ck.add(place, f"must be a status or a list of statuses from {', '.join(STATUSES)}, "
                      f"got {show(v)}")
        return None
    return list(dict.fromkeys(v))


def _p_status(ck, d, place, out, dim, depth) -> None:
    if ("is" in d) == ("is_not" in d):
        ck.add(place, "needs exactly one of \"is\" and \"is_not\"")
        return
    key = "is" if "is" in d else "is_not"
    out[key] = _statuses(ck, d[key], join(place, key))


def _point(ck: Checker, v, place: str, dim: int | None):
    if not isinstance(v, list) or not v or (dim is not None and len(v) != dim):
        n = f"{dim} " if dim else ""
        ck.add(place, f"must be a point, a list of {n}coordinates, got {show(v)}")
        return None
    vals = [ck.number(x, join(place, i), what="a finite number") for i, x in enumerate(v)]
    return None if None in vals else vals


def _p_converged_within(ck, d, place, out, dim, depth) -> None:
    out["steps"] = ck.integer(d.get("steps"), join(place, "steps"), 1, 100_000,
                              "a whole number of steps from 1 to 100,000")
    if d.get("at") is not None:
        out["at"] = _point(ck, d["at"], join(place, "at"), dim)


def _p_final_loss(ck, d, place, out, dim, depth) -> None:
    out["value"] = ck.number(d.get("value"), join(place, "value"), what="a finite number")


def _p_hyper(ck, d, place, out, dim, depth) -> None:
    name = d.get("name")
    if name not in HYPERPARAMETERS:
        ck.add(join(place, "name"), f"must be one of {', '.join(HYPERPARAMETERS)}, "
                                    f"got {show(name)}")
    out["name"] = name
    lo = hi = None
    if "min" in d:
        lo = out["min"] = ck.number(d["min"], join(place, "min"))
    if "max" in d:
        hi = out["max"] = ck.number(d["max"], join(place, "max"))
    if "min" not in d and "max" not in d:
        ck.add(place, "needs \"min\", \"max\" or both")
    if lo is not None and hi is not None and lo > hi:
        ck.add(join(place, "max"), f"must be at least min ({lo:g}), got {hi:g}")


def _p_limit(ck, d, place, out, dim, depth) -> None:
    if "at" not in d:
        ck.add(join(place, "at"), "is missing (the point where lambda_max is measured)")
    else:
        out["at"] = _point(ck, d["at"], join(place, "at"), dim)
    out["rel_tol"] = ck.number(d.get("rel_tol", 0.1), join(place, "rel_tol"), lo=0.0,
                               lo_open=True, hi=1.0, what="a number in (0, 1]")
    side = d.get("side", "below")
    if side not in ("below", "either"):
        ck.add(join(place, "side"), f"must be \"below\" or \"either\", got {show(side)}")
    out["side"] = side


def _quantity(ck, d, place, out) -> None:
    q = d.get("quantity")
    if q not in QUANTITIES:
        ck.add(join(place, "quantity"), f"must be one of {', '.join(QUANTITIES)}, "
                                        f"got {show(q)}")
    out["quantity"] = q


def _p_final_value(ck, d, place, out, dim, depth) -> None:
    _quantity(ck, d, place, out)
    lo = hi = None
    if "min" in d:
        lo = out["min"] = ck.number(d["min"], join(place, "min"), what="a finite number")
    if "max" in d:
        hi = out["max"] = ck.number(d["max"], join(place, "max"), what="a finite number")
    if "min" not in d and "max" not in d:
        ck.add(place, "needs \"min\", \"max\" or both")
    if lo is not None and hi is not None and lo > hi:
        ck.add(join(place, "max"), f"must be at least min ({lo:g}), got {hi:g}")


def _p_compare(ck, d, place, out, dim, depth) -> None:
    _quantity(ck, d, place, out)
    out["than"] = _check_lane_ref(ck, d.get("than"), join(place, "than"))
    if out["than"] is not None and out["than"] == out.get("lane"):
        ck.add(join(place, "than"), "must name another lane than \"lane\"")
    rel = d.get("is")
    if rel not in ("lower", "higher"):
        ck.add(join(place, "is"), f"must be \"lower\" or \"higher\", got {show(rel)}")
    out["is"] = rel


def _p_edge(ck, d, place, out, dim, depth) -> None:
    side = d.get("is")
    if side not in EDGE_SIDES:
        ck.add(join(place, "is"), f"must be one of {', '.join(EDGE_SIDES)}, got {show(side)}")
    out["is"] = side
    over = d.get("over", "late")
    if over not in EDGE_OVER:
        ck.add(join(place, "over"), f"must be one of {', '.join(EDGE_OVER)}, got {show(over)}")
    out["over"] = over
    out["rel_tol"] = ck.number(d.get("rel_tol", 0.15), join(place, "rel_tol"), lo=0.0,
                               lo_open=True, hi=1.0, what="a number in (0, 1]")


def _p_choice(ck, d, place, out, dim, depth) -> None:
    opts = d.get("options")
    if not isinstance(opts, list) or not 2 <= len(opts) <= MAX_OPTIONS:
        ck.add(join(place, "options"), f"must be a list of 2 to {MAX_OPTIONS} options")
        return
    texts = [ck.text(o, join(join(place, "options"), i), required=True, max_len=300,
                     one_line=True) for i, o in enumerate(opts)]
    if None not in texts and len(set(texts)) != len(texts):
        ck.add(join(place, "options"), "has the same option twice")
    out["options"] = texts
    out["correct"] = ck.integer(d.get("correct"), join(place, "correct"), 0, len(opts) - 1,
                                f"the index of the right option, 0 to {len(opts) - 1}")


def _p_all(ck, d, place, out, dim, depth) -> None:
    subs = d.get("checks")
    if not isinstance(subs, list) or not subs:
        ck.add(join(place, "checks"), "must be a non-empty list of checks")
        return
    if depth >= MAX_NESTED:
        ck.add(place, "checks are nested too deeply")
        return
    parsed = [parse_check(ck, s, join(join(place, "checks"), i), dim, depth + 1)
              for i, s in enumerate(subs)]
    if any(c is not None and c.kind == "choice" for c in parsed):
        ck.add(join(place, "checks"), "a choice cannot be combined with other checks")
    out["checks"] = [c.spec if c is not None else None for c in parsed]


_PARSERS = {
    "status": _p_status,
    "converged_within": _p_converged_within,
    "final_loss_below": _p_final_loss,
    "hyperparameter": _p_hyper,
    "lr_near_stability_limit": _p_limit,
    "final_value": _p_final_value,
    "compare": _p_compare,
    "sharpness_edge": _p_edge,
    "choice": _p_choice,
    "all": _p_all,
}


# ---- evaluation ------------------------------------------------------------------------------
class _Fail(Exception):
    """A check that cannot even look (no such lane, the lane is off)."""


class _Runs:
    """The student's runs, looked up by lane; computed once, on demand, when not given."""

    def __init__(self, scene, runs) -> None:
        self.scene = scene
        self.runs = runs

    def lane(self, ref):
        lanes = self.scene.lanes
        if isinstance(ref, int):
            if not 0 <= ref < len(lanes):
                raise _Fail(f"the task needs lane {ref + 1}, but your scene has "
                            f"{len(lanes)} lane{'s' if len(lanes) != 1 else ''}")
            lane = lanes[ref]
        else:
            found = [ln for ln in lanes if ln.name == ref]
            if not found:
                names = ", ".join(repr(ln.name) for ln in lanes) or "none"
                raise _Fail(f"the task needs the lane {ref!r}; your lanes are {names}")
            lane = found[0]
        if not lane.enabled:
            raise _Fail(f"the lane {lane.name!r} is switched off: switch it on and run it")
        return lane, self.run_of(lane)

    def run_of(self, lane):
        if self.runs is None:
            self.runs = self.scene.run()
        if isinstance(self.runs, dict):
            run = self.runs.get(lane.uid, self.runs.get(lane.name))
        else:
            enabled = [ln for ln in self.scene.lanes if ln.enabled]
            i = next(k for k, ln in enumerate(enabled) if ln is lane)
            run = self.runs[i] if i < len(self.runs) else None
        if run is None:
            raise _Fail(f"the lane {lane.name!r} has no run yet")
        return run


def evaluate_check(check: Check, scene, runs=None, answer=None) -> CheckResult:
    """Evaluate ``check`` on the student's ``scene`` and ``runs``.

    Parameters
    ----------
    check : Check
        The check (``step.task.check``).
    scene : Scene
        The student's scene (lanes are looked up in it by name or index).
    runs : list, dict or None
        The scene's runs: a list with one Trajectory per enabled lane in lane order (what
        ``scene.run()`` returns), a dict keyed by lane uid or name (the app's results),
        or None to run the scene here.
    answer : int or str, optional
        The student's answer to a choice: the option's index or its text.

    Returns
    -------
    CheckResult
    """
    try:
        return _EVAL[check.kind](check.spec, _Runs(scene, runs), scene, answer)
    except _Fail as e:
        return CheckResult(False, str(e)[:1].upper() + str(e)[1:] + ".")


def _g(x: float) -> str:
    return f"{x:.3g}"


def _pt(p) -> str:
    if len(p) == 1:
        return f"w = {_g(float(p[0]))}"
    return "(" + ", ".join(_g(float(v)) for v in p) + ")"


def _lambda_max(surface, at) -> float | None:
    try:
        h = np.asarray(surface.hessian(np.asarray(at, dtype=float)), dtype=float)
        lam = float(np.linalg.eigvalsh(h.reshape(surface.dim, surface.dim)).max())
    except (ValueError, np.linalg.LinAlgError):
        return None
    return lam if math.isfinite(lam) else None


def _limit(lane, surface, at) -> tuple[float, str] | None:
    """The largest stable learning rate of ``lane``'s optimizer on the local quadratic at
    ``at`` and its formula, for plain SGD and heavy-ball momentum only."""
    opt = lane.optimizer
    if type(opt).__name__ != "SGD" or getattr(opt, "nesterov", False):
        return None
    lam = _lambda_max(surface, at)
    if lam is None or lam <= 0:
        return None
    mom = float(getattr(opt, "momentum", 0.0))
    if mom == 0:
        return 2.0 / lam, f"2/lambda_max = {_g(2.0 / lam)} at {_pt(at)}"
    return 2.0 * (1 + mom) / lam, (f"2(1 + momentum)/lambda_max = "
                                    f"{_g(2.0 * (1 + mom) / lam)} at {_pt(at)}")


def _explain(lane, run, scene, at=None) -> str:
    """Why the run ended as it did: the lr against the stability limit (plain SGD and
    momentum), else the engine's own reason."""
    if at is None:  # where the run ended, or where a diverged one began
        last = np.asarray(run.positions[-1], dtype=float)
        at = last if run.status != "diverged" and np.all(np.isfinite(last)) else \
            np.asarray(run.start, dtype=float)
    lim = _limit(lane, scene.surface, at)
    lr = lane.optimizer.lr
    reason = (run.status_reason or "").rstrip(".")
    if lim is not None and run.status in ("oscillating", "diverged"):
        if lr > lim[0] * (1 + 1e-9):
            return f": the learning rate {_g(lr)} is above {lim[1]}"
        if lr >= lim[0] * (1 - 1e-9):
            return f": the learning rate {_g(lr)} is exactly {lim[1]}, the edge"
    if lim is not None and run.status == "converging" and lr < 0.25 * lim[0]:
        return f": the learning rate {_g(lr)} is far below {lim[1]}"
    return f": {reason[:1].lower()}{reason[1:]}" if reason else ""


def _status_phrase(run) -> str:
    """What the run did, as a predicate: "converged (from step 12)", "is still
    oscillating at step 100", "diverged at step 7", "is converging at step 60"."""
    st, at = run.status, run.status_step
    n = run.n_steps
    if st == "converged":
        return f"converged (from step {at})" if at is not None else "converged"
    if st == "oscillating":
        return f"is still oscillating at step {n}" + (f" (since step {at})" if at else "")
    if st == "diverged":
        return f"diverged after step {at}" if at is not None else "diverged"
    return f"is {st} at step {n}"


def _e_status(spec, rs, scene, answer) -> CheckResult:
    lane, run = rs.lane(spec["lane"])
    want = spec.get("is")
    ok = run.status in want if want is not None else run.status not in spec["is_not"]
    head = f"{lane.name} {_status_phrase(run)}"
    if ok:
        return CheckResult(True, f"Yes: {head}.")
    if want is not None:
        return CheckResult(False, f"Not yet: {head}, not {' or '.join(want)}"
                                  f"{_explain(lane, run, scene)}.")
    return CheckResult(False, f"Not yet: {head}{_explain(lane, run, scene)}.")


def _e_within(spec, rs, scene, answer) -> CheckResult:
    lane, run = rs.lane(spec["lane"])
    n = spec["steps"]
    at = spec.get("at")
    if run.status == "converged" and run.status_step is not None and run.status_step <= n:
        return CheckResult(True, f"Yes: {lane.name} converged at step {run.status_step}, "
                                 f"within {n} steps.")
    if run.status == "converged":
        return CheckResult(False, f"Not yet: {lane.name} converged, but only at step "
                                  f"{run.status_step}; the task asks for {n} steps or "
                                  "fewer.")
    if run.status == "oscillating" and run.n_steps >= n:
        return CheckResult(False, f"Not yet: your {lane.name} still oscillates at step {n}"
                                  f"{_explain(lane, run, scene, at)}.")
    return CheckResult(False, f"Not yet: {lane.name} {_status_phrase(run)}, not "
                              f"converged within {n} steps{_explain(lane, run, scene, at)}.")


def _e_final_loss(spec, rs, scene, answer) -> CheckResult:
    lane, run = rs.lane(spec["lane"])
    f = float(run.losses[-1])
    x = spec["value"]
    n = run.n_steps
    if math.isfinite(f) and f < x:
        return CheckResult(True, f"Yes: {lane.name}'s loss at step {n} is {f:.3g}, below "
                                 f"{x:.3g}.")
    shown = f"{f:.3g}" if math.isfinite(f) else "not a finite number (the run diverged)"
    return CheckResult(False, f"Not yet: {lane.name}'s loss at step {n} is {shown}; the task "
                              f"asks for less than {x:.3g}{_explain(lane, run, scene)}.")


def _hyper_value(opt, name: str) -> float | None:
    if name in ("beta1", "beta2") and hasattr(opt, "betas"):
        return float(opt.betas[0 if name == "beta1" else 1])
    v = getattr(opt, name, None)
    return None if v is None or isinstance(v, bool) else float(v)


def _e_hyper(spec, rs, scene, answer) -> CheckResult:
    lane, _run = rs.lane(spec["lane"])
    name = spec["name"]
    v = _hyper_value(lane.optimizer, name)
    if v is None:
        return CheckResult(False, f"{lane.name}'s optimizer ({type(lane.optimizer).__name__})"
                                  f" has no {name}.")
    lo, hi = spec.get("min"), spec.get("max")
    rng = f"in [{_g(lo)}, {_g(hi)}]" if lo is not None and hi is not None else \
        (f"at least {_g(lo)}" if lo is not None else f"at most {_g(hi)}")
    if (lo is None or v >= lo) and (hi is None or v <= hi):
        return CheckResult(True, f"Yes: {lane.name}'s {name} = {_g(v)} is {rng}.")
    side = "too small" if lo is not None and v < lo else "too large"
    return CheckResult(False, f"Not yet: {lane.name}'s {name} = {_g(v)} is {side}; the task "
                              f"asks for {rng}.")


def _e_limit(spec, rs, scene, answer) -> CheckResult:
    lane, _run = rs.lane(spec["lane"])
    at = spec["at"]
    lam = _lambda_max(scene.surface, at)
    if lam is None or lam <= 0:
        return CheckResult(False, f"The surface has no positive curvature at {_pt(at)}, so "
                                  "2/lambda_max is not defined there.")
    limit = 2.0 / lam
    lr = lane.optimizer.lr
    tol = spec["rel_tol"]
    lo, hi = limit * (1 - tol), limit if spec["side"] == "below" else limit * (1 + tol)
    off = (lr - limit) / limit
    where = f"2/lambda_max = {_g(limit)} at {_pt(at)}"
    if lo <= lr <= hi:
        return CheckResult(True, f"Yes: {lane.name}'s learning rate {_g(lr)} is within "
                                 f"{abs(off):.0%} of {where}.")
    if lr > hi:
        return CheckResult(False, f"Not yet: {lane.name}'s learning rate {_g(lr)} is above "
                                  f"{where}" + (" and more than the tolerance" if
                                               spec["side"] == "either" else "") + ".")
    return CheckResult(False, f"Not yet: {lane.name}'s learning rate {_g(lr)} is "
                              f"{-off:.0%} below {where}; the task asks for within "
                              f"{tol:.0%}.")


_Q_NAMES = {"loss": "training loss", "test_loss": "test loss",
            "test_accuracy": "test accuracy", "sharpness": "sharpness"}


def _is_network(surface) -> bool:
    return getattr(surface, "kind", None) == "network"


def _sharpness_at(surface, w) -> float:
    """The largest Hessian eigenvalue of the training loss at ``w`` (nan when unknown)."""
    w = np.asarray(w, dtype=float)
    if not np.all(np.isfinite(w)):
        return math.nan
    if _is_network(surface):
        from ..landscape import sharpness

        return float(sharpness(surface, w))
    lam = _lambda_max(surface, w)
    return math.nan if lam is None else lam


def _final(quantity: str, lane, run, scene) -> float:
    """The lane's ``quantity`` at the last step of ``run`` (_Fail when the surface has
    none, nan when the run diverged)."""
    w = np.asarray(run.positions[-1], dtype=float)
    if quantity == "loss":
        return float(run.losses[-1])
    if quantity == "sharpness":
        return _sharpness_at(scene.surface, w)
    if not _is_network(scene.surface):
        raise _Fail(f"the {_Q_NAMES[quantity]} needs a network scene; this scene's "
                    f"surface has no test data")
    net = scene.surface
    if len(net.y_test) == 0:
        raise _Fail(f"the network has no test points, so there is no "
                    f"{_Q_NAMES[quantity]}: give it some in the network form")
    if not np.all(np.isfinite(w)):
        return math.nan
    if quantity == "test_loss":
        tl = getattr(run, "test_losses", None)
        return float(tl[-1]) if tl is not None and len(tl) else float(net.test_loss(w))
    return float(net.accuracy(w, "test"))


def _fmt_q(quantity: str, v: float) -> str:
    if not math.isfinite(v):
        return "not a finite number (the run diverged)"
    return f"{v:.1%}" if quantity == "test_accuracy" else f"{v:.3g}"


def _e_final_value(spec, rs, scene, answer) -> CheckResult:
    lane, run = rs.lane(spec["lane"])
    q = spec["quantity"]
    v = _final(q, lane, run, scene)
    n = run.n_steps
    lo, hi = spec.get("min"), spec.get("max")
    f = (lambda x: f"{x:.1%}") if q == "test_accuracy" else _g
    rng = f"[{f(lo)}, {f(hi)}]" if lo is not None and hi is not None else \
        (f"at least {f(lo)}" if lo is not None else f"at most {f(hi)}")
    head = f"{lane.name}'s {_Q_NAMES[q]} at step {n} is {_fmt_q(q, v)}"
    if math.isfinite(v) and (lo is None or v >= lo) and (hi is None or v <= hi):
        return CheckResult(True, f"Yes: {head}, {rng}.")
    return CheckResult(False, f"Not yet: {head}; the task asks for {rng}.")


def _e_compare(spec, rs, scene, answer) -> CheckResult:
    lane, run = rs.lane(spec["lane"])
    other, orun = rs.lane(spec["than"])
    q = spec["quantity"]
    a, b = _final(q, lane, run, scene), _final(q, other, orun, scene)
    name = _Q_NAMES[q]
    said = (f"{lane.name}'s final {name} is {_fmt_q(q, a)}, {other.name}'s is "
            f"{_fmt_q(q, b)}")
    if not (math.isfinite(a) and math.isfinite(b)):
        return CheckResult(False, f"Not yet: {said}.")
    ok = a < b if spec["is"] == "lower" else a > b
    if ok:
        return CheckResult(True, f"Yes: {said}.")
    return CheckResult(False, f"Not yet: {said}; the task asks for {lane.name}'s to be "
                              f"{spec['is']}.")


def _edge_sharpness(spec, lane, run, scene) -> tuple[float, str]:
    """The sharpness the edge check compares, and where it was taken."""
    P = np.asarray(run.positions, dtype=float)
    n = len(P) - 1
    if spec["over"] == "end":
        return _sharpness_at(scene.surface, P[-1]), f"at step {n}"
    first = 0 if spec["over"] == "max" else n // 2
    stride = max(1, (n - first) // EDGE_SAMPLES)
    idx = np.arange(first, n + 1, stride)
    if _is_network(scene.surface) and np.all(np.isfinite(P[idx])):
        from ..landscape import sharpness

        vals = np.asarray(sharpness(scene.surface, P[idx]), dtype=float)
    else:
        vals = np.array([_sharpness_at(scene.surface, P[i]) for i in idx])
    if not np.all(np.isfinite(vals)):
        return math.nan, ""
    if spec["over"] == "max":
        return float(vals.max()), "at its highest along the run"
    return float(np.median(vals)), f"over steps {first} to {n} (median)"


def _e_edge(spec, rs, scene, answer) -> CheckResult:
    lane, run = rs.lane(spec["lane"])
    lr = float(lane.optimizer.lr)
    edge = 2.0 / lr
    s, where = _edge_sharpness(spec, lane, run, scene)
    if not math.isfinite(s):
        return CheckResult(False, f"Not yet: {lane.name}'s run diverged, so its sharpness "
                                  f"is not defined; 2/lr = {_g(edge)}.")
    tol = spec["rel_tol"]
    rel = s / edge
    side = "near" if abs(rel - 1) <= tol else ("below" if rel < 1 else "above")
    said = (f"{lane.name}'s sharpness {where} is {_g(s)}, {rel:.0%} of 2/lr = "
            f"2/{_g(lr)} = {_g(edge)}")
    if side == spec["is"]:
        return CheckResult(True, f"Yes: {said}.")
    want = {"near": f"within {tol:.0%} of 2/lr",
            "below": f"more than {tol:.0%} below 2/lr",
            "above": f"more than {tol:.0%} above 2/lr"}[spec["is"]]
    return CheckResult(False, f"Not yet: {said}; the task asks for {want}.")


def _e_choice(spec, rs, scene, answer) -> CheckResult:
    opts = spec["options"]
    if answer is None:
        return CheckResult(False, "Choose one of the options first.")
    if isinstance(answer, str) and answer in opts:
        i = opts.index(answer)
    elif isinstance(answer, (int, np.integer)) and not isinstance(answer, bool) and \
            0 <= answer < len(opts):
        i = int(answer)
    else:
        return CheckResult(False, f"{show(answer)} is not one of the options.")
    if i == spec["correct"]:
        return CheckResult(True, f"Yes: {opts[i]!r} is right.")
    return CheckResult(False, f"No: {opts[i]!r} is not right; look at the runs again.")


def _e_all(spec, rs, scene, answer) -> CheckResult:
    msgs = []
    for sub in spec["checks"]:
        r = _EVAL[sub["kind"]](sub, rs, scene, answer)
        if not r.passed:
            return r
        msgs.append(r.message.removeprefix("Yes: "))
    return CheckResult(True, "Yes: " + " ".join(msgs))


_EVAL = {
    "status": _e_status,
    "converged_within": _e_within,
    "final_loss_below": _e_final_loss,
    "hyperparameter": _e_hyper,
    "lr_near_stability_limit": _e_limit,
    "final_value": _e_final_value,
    "compare": _e_compare,
    "sharpness_edge": _e_edge,
    "choice": _e_choice,
    "all": _e_all,
}
