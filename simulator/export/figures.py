"""Matplotlib pictures of runs for notebooks: ``sim.plot_runs`` and ``sim.plot_curves``.

The same picture as the app's 2-D map and plots, drawn from the same shared helpers:
the colour layer and its contour lines on the app's scale (:mod:`simulator.core.plotmath`:
linear or log heights, robust colour levels, 18 evenly spaced contour levels, the
compiled marching squares of :mod:`simulator.core.contours`) in the app's viridis table,
the paths in the lane colours (:mod:`simulator.core.colors`), the start as a white
circle, each run's current point, a red x where a run diverged, and the critical points
with the app's marks (minima: white stars). The plots are the loss gap L - L* and the
gradient norm on log axes and the learning rate of every update, as the plots panel
shows them.

matplotlib is an optional dependency (``pip install 'losslab[plot]'``), imported inside
the functions: ``import simulator`` never needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PLOT_EXTRA = "pip install 'losslab[plot]'"
GRID_N = 200  # samples a side, as the SVG export and the app's map
CP_MARKERS = {"star": "*", "diamond": "D", "triangle": "^", "square": "s"}
CRITICAL_POINTS = ("minima", "all", "off")


def _matplotlib(what: str):
    try:
        import matplotlib  # noqa: F401
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            f"{what} draws with matplotlib, which is not installed: {PLOT_EXTRA} "
            "(or pip install matplotlib)"
        ) from e
    return plt


def _lanes(runs, labels, colors):
    """``[(label, colour, Trajectory), ...]`` from a Scene, a Trajectory or a list."""
    from simulator.core.colors import OKABE_ITO, parse_color
    from simulator.core.engine import Trajectory
    from simulator.core.scene import Scene

    if isinstance(runs, Scene):
        lanes = [lane for lane in runs.lanes if lane.enabled]
        trajs = runs.run()
        names = [lane.name for lane in lanes]
        cols = [lane.color for lane in lanes]
    else:
        trajs = [runs] if isinstance(runs, Trajectory) else list(runs)
        for t in trajs:
            if not isinstance(t, Trajectory):
                raise TypeError(
                    "runs must be a Trajectory, a list of them (sim.simulate) or a Scene, "
                    f"got {type(t).__name__}"
                )
        names = [repr(t.optimizer) for t in trajs]
        cols = [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(trajs))]
    if labels is not None:
        names = [str(v) for v in labels]
    if colors is not None:
        cols = [parse_color(c) for c in colors]
    if len(names) != len(trajs) or len(cols) != len(trajs):
        raise ValueError(
            f"{len(trajs)} runs need as many labels and colours, got {len(names)} labels "
            f"and {len(cols)} colours"
        )
    return list(zip(names, cols, trajs))


def _viridis_cmap():
    from matplotlib.colors import ListedColormap

    from .svg import _viridis

    return ListedColormap(_viridis(), name="losslab-viridis")


def _critical_points(surface, which: str) -> dict[str, list[np.ndarray]]:
    """Critical points by kind, as the app marks them: the search's points and the
    surface's known minima; ``which`` is "minima", "all" or "off"."""
    from .svg import KIND_STYLE

    by_kind: dict[str, list] = {k: [] for k in KIND_STYLE}
    if which == "off":
        return by_kind
    from simulator.core.critical_points import find_critical_points

    try:
        cps = find_critical_points(surface)
    except Exception:  # noqa: BLE001 - a surface the search cannot handle shows none
        cps = []
    for cp in cps:
        if cp.kind in by_kind:
            by_kind[cp.kind].append(np.ravel(np.asarray(cp.position, dtype=float)))
    for m in getattr(surface, "minima", ()):
        m = np.ravel(np.asarray(m, dtype=float))
        if not any(np.allclose(m, q, atol=1e-6 * surface.scale) for q in by_kind["minimum"]):
            by_kind["minimum"].append(m)
    if which == "minima":
        by_kind = {k: (v if k == "minimum" else []) for k, v in by_kind.items()}
    return by_kind


def plot_runs(surface, runs, ax=None, *, labels: Sequence[str] | None = None,
              colors: Sequence[str] | None = None, log_scale: bool | None = None,
              critical_points: str = "minima", colorbar: bool = True, legend: bool = True):
    """Draw a surface's map with the paths of runs on it, as the app's 2-D view does.

    Parameters
    ----------
    surface : Surface
        The surface the runs went down.
    runs : Trajectory, list of Trajectory or Scene
        The runs (``sim.simulate``); a Scene draws its enabled lanes with their names
        and colours.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    labels : list of str, optional
        Legend labels, one per run (default: the lane names, else each optimizer as the
        call that makes it, ``SGD(lr=0.001, momentum=0.9)``).
    colors : list of str, optional
        Path colours, one per run (default: the lane colours, else the app's Okabe-Ito
        palette in order).
    log_scale : bool, optional
        Colour by ``log10(L - min)`` instead of L (default: the surface's own choice,
        as in the app).
    critical_points : {"minima", "all", "off"}
        Mark the minima (white stars), every critical point (saddles: yellow diamonds,
        maxima: red triangles) or none.
    colorbar, legend : bool
        Draw a colour bar and a legend.

    Returns
    -------
    matplotlib Axes
        The axes drawn on. On a 2-D surface: the colour layer (an image), the contour
        lines (one line collection, the app's 18 levels), one line per run and a marker
        for its last point, the start(s), the critical points. On a curve L(w): the
        curve, and each run's steps as jumps along it.

    Raises
    ------
    ImportError
        matplotlib is not installed; the message says ``pip install 'losslab[plot]'``.
    ValueError
        An unknown ``critical_points``, or labels/colours that do not match the runs.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import simulator as sim
    >>> s = sim.get_surface("himmelblau")
    >>> runs = [sim.simulate(s, sim.SGD(lr=0.01), start=(0.0, 0.0), steps=100),
    ...         sim.simulate(s, sim.Adam(lr=0.1), start=(0.0, 0.0), steps=100)]
    >>> ax = sim.plot_runs(s, runs)
    >>> [line.get_label() for line in ax.get_lines() if line.get_gid() == "path"]
    ['SGD(lr=0.01)', 'Adam(lr=0.1)']
    """
    if critical_points not in CRITICAL_POINTS:
        raise ValueError(f"critical_points must be one of {', '.join(CRITICAL_POINTS)}, "
                         f"got {critical_points!r}")
    lanes = _lanes(runs, labels, colors)
    plt = _matplotlib("plot_runs")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.2) if surface.dim == 2 else (6.4, 4.0))
    if surface.dim == 1:
        _curve(ax, surface, lanes, critical_points, legend)
    else:
        _map(ax, surface, lanes, log_scale, critical_points, colorbar, legend)
    return ax


def _map(ax, surface, lanes, log_scale, which, colorbar, legend):
    from matplotlib.collections import LineCollection

    from simulator.core.contours import contour_segments
    from simulator.core.plotmath import (
        HeightScale,
        clip_far,
        contour_levels,
        divergence_point,
        robust_levels,
    )

    from .svg import DIVERGED_COLOR, KIND_STYLE, START_COLOR

    (dx0, dx1), (dy0, dy1) = surface.domain
    (xs, ys), values = surface.grid(GRID_N)
    log = bool(surface.log_scale) if log_scale is None else bool(log_scale)
    scale = HeightScale(values, log)
    t = scale(values)
    lo, hi = robust_levels(t)
    cx, cy = (xs[-1] - xs[0]) / (len(xs) - 1), (ys[-1] - ys[0]) / (len(ys) - 1)
    img = ax.imshow(np.ma.masked_invalid(t), origin="lower", cmap=_viridis_cmap(),
                    vmin=lo, vmax=hi, interpolation="nearest", aspect="auto",
                    extent=(xs[0] - cx / 2, xs[-1] + cx / 2, ys[0] - cy / 2, ys[-1] + cy / 2))
    img.set_gid("colormap")
    sx, sy = contour_segments(t, xs, ys, contour_levels(t))
    segs = np.stack([np.column_stack([sx[0::2], sy[0::2]]),
                     np.column_stack([sx[1::2], sy[1::2]])], axis=1) if sx.size else []
    lines = LineCollection(segs, colors=[(1.0, 1.0, 1.0, 0.35)], linewidths=0.8, zorder=2)
    lines.set_gid("contours")
    ax.add_collection(lines)
    for kind, pts in _critical_points(surface, which).items():
        shape, fill, label, size = KIND_STYLE[kind]
        pts = [p for p in pts if p.size >= 2 and np.all(np.isfinite(p[:2]))]
        if pts:
            a = np.array(pts)
            ax.plot(a[:, 0], a[:, 1], linestyle="none", marker=CP_MARKERS[shape],
                    markersize=size * 0.6, markerfacecolor=fill, markeredgecolor="black",
                    markeredgewidth=0.8, label=label, zorder=4, gid=kind)
    starts = []
    for name, color, run in lanes:
        pos = clip_far(np.asarray(run.positions, dtype=float), surface.domain)
        ax.plot(pos[:, 0], pos[:, 1], color=color, linewidth=1.6, label=name, zorder=5,
                gid="path", solid_joinstyle="round")
        if np.all(np.isfinite(pos[-1])):
            ax.plot(pos[-1, 0], pos[-1, 1], linestyle="none", marker="o", markersize=6.5,
                    markerfacecolor=color, markeredgecolor="black", markeredgewidth=0.9,
                    zorder=6, gid="position")
        mark = divergence_point(run, surface.domain)
        if mark is not None:
            ax.plot(mark[0], mark[1], linestyle="none", marker="x", markersize=10,
                    markeredgewidth=2.2, color=DIVERGED_COLOR, zorder=8, gid="diverged")
        if not any(np.array_equal(run.start, s) for s in starts):
            starts.append(tuple(run.start))
    for i, s in enumerate(starts):
        ax.plot(s[0], s[1], linestyle="none", marker="o", markersize=8.5,
                markerfacecolor=START_COLOR, markeredgecolor="black", markeredgewidth=1.2,
                label="start" if i == 0 else None, zorder=7, gid="start")
    px, py = 0.02 * (dx1 - dx0), 0.02 * (dy1 - dy0)
    ax.set_xlim(dx0 - px, dx1 + px)
    ax.set_ylim(dy0 - py, dy1 + py)
    if 1 / 3 <= (dx1 - dx0) / (dy1 - dy0) <= 3:  # the app locks the aspect for such domains
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(surface.variables[0])
    ax.set_ylabel(surface.variables[1])
    ax.set_title(surface.name)
    if colorbar:
        ax.figure.colorbar(img, ax=ax, label=scale.label())
    if legend and lanes:
        ax.legend(loc="upper left", fontsize="small", framealpha=0.8)


def _curve(ax, surface, lanes, which, legend):
    from simulator.core.plotmath import divergence_point, finite_range

    from .svg import DIVERGED_COLOR, KIND_STYLE

    (ws,), values = surface.grid(800)
    ax.plot(ws, values, color="#444444", linewidth=1.8, gid="curve", zorder=2)
    lo, hi = finite_range(values)
    v = values[np.isfinite(values)]
    if v.size:  # as the curve view: a robust top, so one steep wall does not flatten all
        hi = float(min(hi, np.percentile(v, 95)))
        hi = hi if hi > lo else lo + 1.0
    pad = 0.08 * (hi - lo)
    for kind, pts in _critical_points(surface, which).items():
        shape, fill, label, size = KIND_STYLE[kind]
        pts = [float(p[0]) for p in pts if p.size and np.isfinite(p[0])]
        if pts:
            ax.plot(pts, surface.value(np.array(pts).reshape(-1, 1)), linestyle="none",
                    marker=CP_MARKERS[shape], markersize=size * 0.6, markerfacecolor=fill,
                    markeredgecolor="black", label=label, zorder=4, gid=kind)
    for name, color, run in lanes:
        w = np.asarray(run.positions, dtype=float)[:, 0]
        ax.plot(w, run.losses, color=color, linewidth=1.2, marker="o", markersize=3,
                label=name, zorder=5, gid="path")
        mark = divergence_point(run, surface.domain)
        if mark is not None:
            ax.axvline(mark[0], color=DIVERGED_COLOR, linestyle="--", linewidth=1.2,
                       gid="diverged")
    for i, s in enumerate(dict.fromkeys(float(r.start[0]) for _, _, r in lanes)):
        ax.axvline(s, color="black", alpha=0.5, linewidth=1.0, linestyle=":",
                   label="start" if i == 0 else None, gid="start")
    (w0, w1), = surface.domain
    ax.set_xlim(w0 - 0.02 * (w1 - w0), w1 + 0.02 * (w1 - w0))
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(surface.variables[0])
    ax.set_ylabel("loss")
    ax.set_title(surface.name)
    if legend and lanes:
        ax.legend(fontsize="small")


def _loss_floor(surface, trajs) -> float:
    """L*, as the plots panel computes it: the known minimum value, else a hair below the
    lowest loss any run reached."""
    mv = getattr(surface, "min_value", None)
    lows = [float(np.nanmin(np.where(np.isfinite(t.losses), t.losses, np.nan)))
            for t in trajs if np.isfinite(t.losses).any()]
    low = min(lows) if lows else 0.0
    if mv is not None and np.isfinite(mv) and mv <= low + 1e-12 * max(1.0, abs(low)):
        return float(mv)
    return float(low - 1e-9 * max(1.0, abs(low)))


def plot_curves(runs, axes=None, *, labels: Sequence[str] | None = None,
                colors: Sequence[str] | None = None, log: bool = True):
    """Draw the loss, gradient-norm and learning-rate plots of runs, as the app does.

    Parameters
    ----------
    runs : Trajectory, list of Trajectory or Scene
        The runs (``sim.simulate``); a Scene draws its enabled lanes with their names
        and colours.
    axes : sequence of three matplotlib Axes, optional
        Where to draw the three plots; a new figure with three side by side when None.
    labels, colors : list of str, optional
        One per run, as for :func:`plot_runs`.
    log : bool
        Log axes for the loss gap ``L - L*`` and the gradient norm (the app's default);
        False plots L and the gradient norm on linear axes.

    Returns
    -------
    ndarray of three matplotlib Axes
        Loss, gradient norm and learning rate against the step, one line per run in its
        colour (the learning rate of update k at step k); a dashed line in the run's
        colour where a run diverged.

    Raises
    ------
    ImportError
        matplotlib is not installed; the message says ``pip install 'losslab[plot]'``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import simulator as sim
    >>> s = sim.get_surface("rosenbrock")
    >>> run = sim.simulate(s, sim.Adam(lr=0.05), start=(-1.5, 2.0), steps=200,
    ...                    schedule=sim.StepLR(step_size=100, gamma=0.1))
    >>> loss_ax, grad_ax, lr_ax = sim.plot_curves(run)
    >>> print(lr_ax.get_lines()[0].get_ydata()[[0, 99, 100]])
    [0.05  0.05  0.005]
    """
    from simulator.core.plotmath import diverged_at

    lanes = _lanes(runs, labels, colors)
    plt = _matplotlib("plot_curves")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(13, 3.4), layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.size != 3:
        raise ValueError(f"axes must be three matplotlib Axes, got {axes.size}")
    trajs = [t for _, _, t in lanes]
    floor = _loss_floor(trajs[0].surface, trajs) if (log and trajs) else 0.0
    for name, color, run in lanes:
        # the step of each recorded loss (every step unless record_every)
        steps = np.asarray(getattr(run, "recorded_steps", np.arange(len(run.losses))))
        loss = np.asarray(run.losses, dtype=float) - floor
        grad = np.asarray(run.grad_norms, dtype=float)
        if log:  # zeros and blown-up values have no place on a log axis
            loss = np.where((loss > 0) & np.isfinite(loss), loss, np.nan)
            grad = np.where((grad > 0) & np.isfinite(grad), grad, np.nan)
        axes[0].plot(steps, loss, color=color, linewidth=1.4, label=name, gid="loss")
        axes[1].plot(steps, grad, color=color, linewidth=1.4, label=name, gid="grad")
        lrs = np.asarray(run.learning_rates, dtype=float)
        axes[2].plot(np.arange(len(lrs)), lrs, color=color, linewidth=1.4, label=name,
                     gid="lr")
        k = diverged_at(run)
        if k is not None:
            for ax in axes:
                ax.axvline(k, color=color, linestyle=(0, (6, 3, 1.5, 3)), linewidth=1.2,
                           gid="diverged")
    titles = ("loss gap L \u2212 L*" if log else "loss L", "gradient norm |g|",
              "learning rate used")
    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.set_xlabel("step")
    if log:
        for ax in axes[:2]:
            if any(np.isfinite(line.get_ydata()).any() for line in ax.get_lines()):
                ax.set_yscale("log")
    if lanes:
        axes[0].legend(fontsize="small")
    return axes
