"""sim.plot_runs and sim.plot_curves (the plot extra): what they draw, with the Agg backend."""

from __future__ import annotations

import builtins
import sys

import numpy as np
import pytest

import simulator as sim
from simulator.core.colors import OKABE_ITO
from simulator.core.contours import contour_segments
from simulator.core.plotmath import HeightScale, contour_levels, robust_levels

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gid(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def _hex(c):
    return mcolors.to_hex(c, keep_alpha=False).upper()


@pytest.fixture(scope="module")
def race():
    s = sim.get_surface("rosenbrock")
    runs = [sim.simulate(s, sim.SGD(lr=1e-3), start=(-1.5, 2.0), steps=300),
            sim.simulate(s, sim.SGD(lr=1e-3, momentum=0.9), start=(-1.5, 2.0), steps=300),
            sim.simulate(s, sim.Adam(lr=0.05), start=(-1.5, 2.0), steps=300)]
    return s, runs


def test_plot_runs_draws_the_apps_map(race):
    s, runs = race
    ax = sim.plot_runs(s, runs)
    paths = _gid(ax, "path")
    # one path per run, in the app's lane colours, through every position of the run
    assert [p.get_label() for p in paths] == [repr(r.optimizer) for r in runs]
    assert [_hex(p.get_color()) for p in paths] == list(OKABE_ITO[:3])
    for p, r in zip(paths, runs):
        np.testing.assert_array_equal(p.get_xdata(), r.positions[:, 0])
        np.testing.assert_array_equal(p.get_ydata(), r.positions[:, 1])
    # a marker at each run's last point, one start (white), the minimum at (1, 1)
    ends = _gid(ax, "position")
    assert len(ends) == 3
    np.testing.assert_array_equal([e.get_xdata()[0] for e in ends],
                                  [r.positions[-1, 0] for r in runs])
    (start,) = _gid(ax, "start")
    assert (start.get_xdata()[0], start.get_ydata()[0]) == (-1.5, 2.0)
    assert _hex(start.get_markerfacecolor()) == "#FFFFFF"
    (minima,) = _gid(ax, "minimum")
    assert minima.get_marker() == "*"
    np.testing.assert_allclose(np.c_[minima.get_xdata(), minima.get_ydata()], [[1.0, 1.0]],
                               atol=1e-6)
    assert not _gid(ax, "saddle") and not _gid(ax, "diverged")


def test_plot_runs_colours_and_lines_are_the_apps(race):
    s, runs = race
    ax = sim.plot_runs(s, runs[:1])
    (img,) = [im for im in ax.get_images() if im.get_gid() == "colormap"]
    # Rosenbrock is coloured by log10(L - min), between the app's robust levels
    (xs, ys), values = s.grid(200)
    t = HeightScale(values, s.log_scale)(values)
    assert s.log_scale
    np.testing.assert_array_equal(np.asarray(img.get_array()), t)
    assert img.get_clim() == robust_levels(t)
    # the contour lines are the app's: the same marching-squares segments at its levels
    (lines,) = [c for c in ax.collections if c.get_gid() == "contours"]
    sx, sy = contour_segments(t, xs, ys, contour_levels(t))
    segs = lines.get_segments()
    assert len(segs) == sx.size // 2 > 100
    np.testing.assert_array_equal(segs[0], [[sx[0], sy[0]], [sx[1], sy[1]]])
    # linear colouring when asked
    ax2 = sim.plot_runs(s, runs[:1], log_scale=False, colorbar=False)
    (img2,) = ax2.get_images()
    np.testing.assert_array_equal(np.asarray(img2.get_array()), values)


def test_plot_runs_all_critical_points_and_divergence():
    s = sim.get_surface("himmelblau")
    good = sim.simulate(s, sim.SGD(lr=0.01), start=(0.0, 0.0), steps=50)
    bad = sim.simulate(s, sim.SGD(lr=0.5), start=(0.0, 0.0), steps=50)
    assert bad.status == "diverged"
    ax = sim.plot_runs(s, [good, bad], critical_points="all", labels=["a", "b"],
                       colors=["red", "#00f"])
    assert [p.get_label() for p in _gid(ax, "path")] == ["a", "b"]
    assert [_hex(p.get_color()) for p in _gid(ax, "path")] == ["#FF0000", "#0000FF"]
    assert len(_gid(ax, "minimum")[0].get_xdata()) == 4
    assert len(_gid(ax, "saddle")[0].get_xdata()) == 4
    assert len(_gid(ax, "maximum")[0].get_xdata()) == 1
    (x,) = _gid(ax, "diverged")
    assert x.get_marker() == "x"
    assert not _gid(sim.plot_runs(s, good, critical_points="off"), "minimum")
    with pytest.raises(ValueError, match="critical_points"):
        sim.plot_runs(s, good, critical_points="some")
    with pytest.raises(ValueError, match="labels"):
        sim.plot_runs(s, [good, bad], labels=["one"])
    with pytest.raises(TypeError, match="Trajectory"):
        sim.plot_runs(s, [np.zeros(3)])


def test_plot_runs_from_a_scene_uses_its_lanes():
    scene = sim.load_scene("race")
    fig, ax = plt.subplots()
    assert sim.plot_runs(scene.surface, scene, ax=ax, legend=False) is ax
    paths = _gid(ax, "path")
    assert [p.get_label() for p in paths] == [ln.name for ln in scene.lanes if ln.enabled]
    assert [_hex(p.get_color()) for p in paths] == [ln.color.upper() for ln in scene.lanes
                                                    if ln.enabled]


def test_plot_runs_on_a_curve():
    c = sim.get_surface("parabola", c=2)
    runs = [sim.simulate(c, sim.SGD(lr=lr), start=[6.0], steps=10) for lr in (0.2, 0.9)]
    ax = sim.plot_runs(c, runs)
    (curve,) = _gid(ax, "curve")
    assert len(curve.get_xdata()) == 800
    paths = _gid(ax, "path")
    np.testing.assert_array_equal(paths[1].get_xdata(), runs[1].positions[:, 0])
    np.testing.assert_array_equal(paths[1].get_ydata(), runs[1].losses)
    assert len(_gid(ax, "start")) == 1


def test_plot_curves_draws_loss_gradient_and_learning_rate():
    s = sim.get_surface("quadratic")
    sched = sim.StepLR(step_size=20, gamma=0.5)
    runs = [sim.simulate(s, sim.SGD(lr=0.05), start=(1.0, 1.0), steps=60, schedule=sched),
            sim.simulate(s, sim.SGD(lr=5.0), start=(1.0, 1.0), steps=60)]
    assert runs[1].status == "diverged"
    loss_ax, grad_ax, lr_ax = sim.plot_curves(runs)
    for ax, gid in ((loss_ax, "loss"), (grad_ax, "grad"), (lr_ax, "lr")):
        lines = _gid(ax, gid)
        assert len(lines) == 2
        assert [_hex(li.get_color()) for li in lines] == list(OKABE_ITO[:2])
        assert len(_gid(ax, "diverged")) == 1  # where the second run blew up
        assert _hex(_gid(ax, "diverged")[0].get_color()) == OKABE_ITO[1]
    assert loss_ax.get_yscale() == "log" and grad_ax.get_yscale() == "log"
    assert lr_ax.get_yscale() == "linear"
    r = runs[0]
    # loss gap L - L* (the quadratic's minimum value is known: 0)
    np.testing.assert_array_equal(_gid(loss_ax, "loss")[0].get_ydata(),
                                  r.losses - s.min_value)
    np.testing.assert_array_equal(_gid(grad_ax, "grad")[0].get_ydata(), r.grad_norms)
    np.testing.assert_array_equal(_gid(lr_ax, "lr")[0].get_ydata(),
                                  sched.learning_rates(0.05, 60))
    lin = sim.plot_curves(runs[:1], log=False)
    assert lin[0].get_yscale() == "linear"
    np.testing.assert_array_equal(_gid(lin[0], "loss")[0].get_ydata(), r.losses)
    fig, axes = plt.subplots(3, 1)
    assert list(sim.plot_curves(r, axes=axes)) == list(axes)
    with pytest.raises(ValueError, match="three"):
        sim.plot_curves(r, axes=axes[:2])


def test_without_matplotlib_the_message_names_the_extra(monkeypatch, race):
    s, runs = race
    real = builtins.__import__

    def no_mpl(name, *a, **k):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a, **k)

    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_mpl)
    with pytest.raises(ImportError, match=r"pip install 'losslab\[plot\]'"):
        sim.plot_runs(s, runs)
    with pytest.raises(ImportError, match=r"pip install 'losslab\[plot\]'"):
        sim.plot_curves(runs)


def test_import_simulator_does_not_import_matplotlib():
    import subprocess

    out = subprocess.run([sys.executable, "-c", "import simulator, sys; "
                          "print('matplotlib' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
