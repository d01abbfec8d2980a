"""Compiling the kernels before they are needed.

The kernels are compiled per optimizer and per surface kind (``kernels.loops``), on first
use, and cached on disk. Until a kernel is ready, small jobs run interpreted (the same
numbers, slower), so nothing waits for the compiler; these plans compile ahead what a
session is likely to need next, so that it is also fast:

``warmup_plan(surface, optimizers, schedules)``
    what the app compiles in the background after its window opens, most needed first:
    the scene on screen (on a network: ``network_plan`` first; the kernels with a
    ReduceLROnPlateau only for lanes that have one), the explorer's maps, the
    networks' training and loss plane (on a surface scene: so that a network picked
    later, or a network lab, finds its kernels compiled; they have no interpreted
    stand-in), formulas, curves, data surfaces, the curvature diagnostics and the
    networks' sharpness (nothing on a warm start: each step then loads from the disk
    cache; ``bench/bench_startup.py`` (d) prints the cold total).
``network_plan(optimizers)``
    the network kernels (``kernels.mlp``): training with ``optimizers``, then
    predictions, loss planes, Hessian-vector products.
``full_plan()``
    every optimizer on every library surface (trajectories, maps, and the L-BFGS maps'
    kernel ``run_runs``), formulas and drawn surfaces, and the networks: what ``losslab
    prepare`` compiles on a classroom machine or into a standalone build. Not the
    kernels of runs under a ReduceLROnPlateau (``kernels.loops`` PLAT: as many again,
    for a rarely used schedule; a lane given one runs interpreted at once while its
    kernel compiles).

Each plan is a list of ``(label, callable)``; ``run_plan`` runs one on the calling thread
with interim runs off, so each step really compiles (or loads) its kernels.

A plan's callables cannot cross into another process, so the warm-up helper process
(``simulator.core.prepare_helper``) is given a description instead:
``plan_description(surface, optimizers, schedules=...)`` (the scene's surface, optimizers
and any ReduceLROnPlateau of the lanes as JSON, or
``{"plan": "full"}``), from which ``plan_from_description`` builds the plan with the
functions above, in the helper and in the app alike (one source of truth: the same
steps, labels and order in both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

Step = tuple[str, Callable[[], None]]


def _touch_surface(surface) -> None:
    """Compile the evaluation kernel of ``surface`` (values, gradients, Hessians) and,
    for a 2-D surface, the contour lines."""
    from .contours import contour_segments

    p = np.asarray(surface.center, dtype=float)
    surface.value(p)
    surface.hessian(p)
    if surface.dim == 2:
        (xs, ys), values = surface.grid(8)
        contour_segments(values, xs, ys, [float(np.nanmean(values))])


def _start(surface) -> tuple[float, ...]:
    return tuple(float(v) for v in surface.center)


def _runs(surface, optimizers: Iterable, schedules: Iterable = ()) -> None:
    """A short run of each optimizer (with its schedule, if given: a ReduceLROnPlateau
    has its own kernels, ``kernels.loops`` PLAT)."""
    from .engine import simulate

    scheds = list(schedules)
    for i, opt in enumerate(optimizers):
        sched = scheds[i] if i < len(scheds) else None
        kw = {"schedule": sched} if _watches(sched) else {}
        simulate(surface, opt, _start(surface), steps=2, **kw)


def _watches(schedule) -> bool:
    """Whether ``schedule`` watches the loss (ReduceLROnPlateau): its runs and maps
    have their own kernels (``kernels.loops`` PLAT)."""
    return bool(getattr(schedule, "needs_losses", False))


def _default_optimizers():
    from .optimizers import OPTIMIZERS

    return [cls() for cls in OPTIMIZERS.values()]


def warmup_plan(surface=None, optimizers: Iterable = (), schedules: Iterable = ()) -> list[Step]:
    """The app's background warm-up for a scene on ``surface`` whose lanes run
    ``optimizers`` under ``schedules`` (the lanes' own or the scene's, in the same
    order; none: constant rates), most needed first. The kernels with a
    ReduceLROnPlateau are compiled only for the lanes that have one: no built-in lab
    or default scene does, and a lane given one later runs interpreted at once while
    its kernel (about a second) compiles in the background."""
    from .engine import simulate, simulate_batch
    from .library import get_surface
    from .optimizers import SGD, Adam

    capable = {type(o) for o in network_optimizers()}
    on_network = [o for o in optimizers if type(o) in capable]
    if getattr(surface, "kind", None) == "network":
        # a network scene (a session or lab opened at start): its own kernels first
        # (``network_plan``: training with the lanes' first-order optimizers, the plane,
        # the sharpness), then what a surface scene needs, on Rosenbrock
        plan = network_plan(on_network)
        return plan + [step for step in warmup_plan() if step[0] != "the lanes"
                       and not step[0].startswith("network")]
    surface = get_surface("rosenbrock") if surface is None else surface
    # The other optimizers are not compiled ahead: a lane added later runs interpreted at
    # once and its kernel (under a second) compiles in the background then. Compiling all
    # eleven here would add about 8 s of CPU to every first start for lanes most sessions
    # never add.
    lanes = list(optimizers)
    scheds = list(schedules)
    own = [scheds[i] if i < len(scheds) and _watches(scheds[i]) else None
           for i in range(len(lanes))]  # a lane's ReduceLROnPlateau, else None

    def explorer():
        starts = np.tile(np.asarray(surface.center, dtype=float), (4, 1))
        for opt in (SGD(lr=1e-3), Adam()):
            simulate_batch(surface, opt, starts, steps=2)
        # an L-BFGS lane's maps, and a ReduceLROnPlateau lane's, run in their own kernel
        # (``run_runs``, or ``run_runs_plateau`` under that schedule: several seconds of
        # CPU), compiled only when such a lane is on screen
        for opt, sched in zip(lanes, own):
            if sched is not None:
                simulate_batch(surface, opt, starts, steps=2, schedule=sched)
            elif not opt.batch_kernel:
                simulate_batch(surface, opt, starts, steps=2)

    def formulas():
        from .expressions import surface_from_expression

        f = surface_from_expression("x**2 + 10*y**2")
        _touch_surface(f)
        _runs(f, [SGD(), Adam()])

    def curves():
        c = get_surface("parabola")
        _touch_surface(c)
        _runs(c, [SGD(), Adam()])

    def data():
        # one data loss compiles the minibatch machinery every data surface shares; the
        # other's own kernels (about 3 s) compile when it is first picked
        s = get_surface("linear-regression")
        _touch_surface(s)
        simulate(s, SGD(), _start(s), steps=2, batch_size=4)

    def diagnostics():
        from .critical_points import find_critical_points
        from .diagnostics import analyze_point

        analyze_point(surface, _start(surface))
        saddle = get_surface("saddle")
        find_critical_points(saddle)
        _ = simulate(saddle, SGD(lr=0.1), (1.0, 1e-3), steps=20).saddle_episodes

    nets = network_plan(on_network + [SGD()])  # one training kernel: every optimizer
    # the networks' training and loss plane before the features that run interpreted
    # until compiled; the sharpness (the largest network kernel, its plot the last to
    # fill) last
    return [
        ("the map", lambda: _touch_surface(surface)),
        ("the lanes", lambda: _runs(surface, lanes, scheds)),
        ("the explorer's maps", explorer),
        *nets[:2],
        ("typed formulas", formulas),
        ("1-D curves", curves),
        ("data surfaces", data),
        ("curvature diagnostics", diagnostics),
        *nets[2:],
    ]


def network_optimizers() -> list:
    """An instance of every optimizer that runs on a network (first-order ones)."""
    from .kernels import optim

    own_loop = {optim.O_NEWTON, getattr(optim, "O_LBFGS", optim.O_NEWTON)}
    return [o for o in _default_optimizers() if o.oid not in own_loop]


def network_plan(optimizers: Iterable = ()) -> list[Step]:
    """Compile what a network scene needs, most needed first: training with
    ``optimizers`` (full batch and minibatches), predictions for the decision boundary,
    the loss plane, then the Hessian-vector products of the sharpness."""
    from .engine import simulate
    from .landscape import loss_plane, sharpness
    from .network import network
    from .optimizers import SGD

    net = network("moons", hidden=(2,), n_train=8, n_test=4)
    opts = list(optimizers)

    def training():
        # one kernel trains with every optimizer (the id is a run-time argument), full
        # batch or minibatches; gradient noise and clipping are a C callback of their own
        # (kernels.mlp.perturb_fn), compiled by the second run
        opt = opts[0] if opts else SGD()
        simulate(net, opt, net.init, steps=2, batch_size=4)
        simulate(net, opt, net.init, steps=2, noise=0.01, clip_grad_norm=1.0)

    def plane():
        net.decision_grid(net.init, resolution=3)
        loss_plane(net, runs=[np.array([net.init, net.init + 1.0, net.init - 0.5 *
                                        np.arange(net.n_params)])], resolution=3)

    return [
        ("network training", training),
        ("network loss plane", plane),
        ("network sharpness", lambda: sharpness(net, net.init)),
    ]


def map_optimizers() -> list:
    """The optimizers whose explorer-map kernels ``full_plan`` compiles on every library
    surface: SGD and Adam (``run_batch``) and L-BFGS (``run_runs``, one recorded run per
    start, the kernel of L-BFGS maps)."""
    from .optimizers import LBFGS, SGD, Adam

    return [SGD(lr=1e-3), Adam(), LBFGS()]


def full_plan() -> list[Step]:
    """Every optimizer on every library surface, formulas and drawn surfaces."""
    from .drawn import drawn_surface, flat_surface
    from .engine import simulate_batch
    from .library import get_surface, list_surfaces

    steps: list[Step] = []
    for name in list_surfaces():
        def one(name=name):
            s = get_surface(name)
            _touch_surface(s)
            _runs(s, _default_optimizers())
            starts = np.tile(np.asarray(s.center, dtype=float), (4, 1))
            for opt in map_optimizers():
                simulate_batch(s, opt, starts, steps=2)
        steps.append((name, one))
    def drawn():
        for base in (flat_surface(), get_surface("quadratic")):
            d = drawn_surface(base, [[0.0, 0.0, -1.0, 0.5]])
            _touch_surface(d)
            _runs(d, _default_optimizers())

    steps.append(("drawn surfaces", drawn))
    for label, fn in warmup_plan():
        if label in ("typed formulas", "1-D curves", "data surfaces", "curvature diagnostics"):
            steps.append((label, fn))
    steps += network_plan(network_optimizers())
    return steps


def plan_description(surface=None, optimizers: Iterable = (), full: bool = False,
                     steps: Iterable[str] | None = None,
                     schedules: Iterable = ()) -> dict | None:
    """The JSON-ready arguments of ``warmup_plan(surface, optimizers, schedules)``
    (``full``: ``full_plan()``), for ``plan_from_description`` in another process;
    ``steps``: keep only the steps of these labels. Of the schedules only those that
    change the plan are written (a ReduceLROnPlateau; others: None). None when the
    surface cannot be written down (a Python function): such a plan runs in this process
    only."""
    import json

    from .surface_io import surface_to_dict

    if full:
        d: dict = {"plan": "full"}
    else:
        try:
            d = {"plan": "warmup",
                 "surface": None if surface is None else surface_to_dict(surface),
                 "optimizers": [o.to_dict() for o in optimizers]}
            scheds = [s.to_dict() if _watches(s) else None for s in schedules]
            if any(s is not None for s in scheds):
                d["schedules"] = scheds
            json.dumps(d)
        except (ValueError, TypeError, AttributeError):
            return None
    if steps is not None:
        d["steps"] = list(steps)
    return d


def plan_from_description(d: dict) -> list[Step]:
    """The plan ``d`` (from ``plan_description``) describes; ValueError if it is not one."""
    from .optimizers import optimizer_from_dict
    from .schedules import schedule_from_dict
    from .surface_io import surface_from_dict

    if not isinstance(d, dict) or d.get("plan") not in ("warmup", "full"):
        raise ValueError(f"not a plan description: {d!r:.200}")
    if d["plan"] == "full":
        plan = full_plan()
    else:
        surface = d.get("surface")
        plan = warmup_plan(None if surface is None else surface_from_dict(surface),
                           [optimizer_from_dict(o) for o in d.get("optimizers") or ()],
                           [None if s is None else schedule_from_dict(s)
                            for s in d.get("schedules") or ()])
    if d.get("steps") is not None:
        keep = set(d["steps"])
        plan = [step for step in plan if step[0] in keep]
    return plan


def run_plan(plan: list[Step], progress: Callable[[int, int, str], None] | None = None,
             stop: Callable[[], bool] | None = None) -> list[tuple[str, str]]:
    """Run ``plan`` on this thread, compiling (never interpreting); returns the
    ``(label, error)`` of steps that failed. ``progress(i, n, label)`` is called before
    each step and once at the end; ``stop()`` is asked between steps."""
    from .kernels import loops

    failures = []
    n = len(plan)
    with loops.compiled_only():
        for i, (label, fn) in enumerate(plan):
            if stop is not None and stop():
                break
            if progress is not None:
                progress(i, n, label)
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported; the rest still compiles
                failures.append((label, f"{type(e).__name__}: {e}"))
    if progress is not None:
        progress(n, n, "")
    return failures
