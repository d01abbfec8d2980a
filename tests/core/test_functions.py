"""sim.surface_from_function: traced into formulas, or run around the user's callables."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator as sim

EPS = np.finfo(np.float64).eps


def rosen(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosen_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def rosen_hess(x, y):
    return np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])


def wavy(x, y):
    return np.sin(x) * np.exp(-(y**2)) + math.cos(y) / 2 + 0.1 * np.abs(x) ** 3


WAVY = "sin(x)*exp(-y^2) + cos(y)/2 + 0.1*abs(x)^3"


def _traj_bound(s, run, delta_g):
    """How far two GD runs on ``s`` can drift apart when each gradient may differ by
    ``delta_g``: d_{k+1} <= (1 + lr * L) d_k + lr * delta_g, with L the largest Hessian
    norm met along the run (times 2 for the neighbourhood)."""
    lr = float(run.learning_rates.max()) if len(run.learning_rates) else 0.0
    lip = 2.0 * max(np.abs(np.linalg.eigvalsh(s.hessian(p))).max() for p in run.positions)
    n = run.n_steps
    growth = (1.0 + lr * lip) ** np.arange(n + 1)
    return lr * delta_g * np.concatenate([[0.0], np.cumsum(growth[:-1])])


# ---- traced into a formula -----------------------------------------------------------------
def test_a_numpy_function_traces_into_the_formula():
    s = sim.surface_from_function(rosen, domain=[(-2, 2), (-1, 3)])
    assert s.kind == "expression" and s.name == "rosen"
    assert s.formula == "(1 - x)**2 + 100*(y - x**2)**2"
    assert s.domain == ((-2.0, 2.0), (-1.0, 3.0))
    ref = sim.surface_from_expression("(1-x)^2 + 100*(y - x^2)^2", domain=s.domain)
    p = np.random.default_rng(1).uniform(-2, 2, size=(200, 2))
    # the same formula: the same program, so the same numbers bit for bit
    for order in range(3):
        np.testing.assert_array_equal(s.evaluate(p, order)[order], ref.evaluate(p, order)[order])
    a = sim.simulate(s, sim.Adam(lr=0.02), start=(-1.5, 2.0), steps=500)
    b = sim.simulate(ref, sim.Adam(lr=0.02), start=(-1.5, 2.0), steps=500)
    np.testing.assert_array_equal(a.positions, b.positions)
    # a traced surface is a formula: it saves and loads like one
    d = sim.Scene.from_dict(_scene_with(s).to_dict())
    assert d.surface.formula == s.formula


def _scene_with(surface):
    scene = sim.load_scene("race")
    scene.set_surface(surface)
    return scene


def test_numpy_and_math_functions_trace_through_sympy():
    s = sim.surface_from_function(wavy)
    assert s.kind == "expression" and "sin(x)" in s.formula and "abs(x)" in s.formula
    ref = sim.surface_from_expression(WAVY)
    p = np.random.default_rng(2).uniform(-3, 3, size=(300, 2))
    f, g, h = s.evaluate(p)
    rf, rg, rh = ref.evaluate(p)
    # the same function computed in another order: a few roundings of each term apart
    # (libm's sin, cos, exp are within 1 ulp); terms are at most ~3 in size here
    scale = 3.0 + np.abs(p).max() ** 3
    tol = 64 * EPS * scale
    assert np.abs(f - rf).max() <= tol
    assert np.abs(g - rg).max() <= tol
    assert np.abs(h - rh).max() <= tol
    a = sim.simulate(s, sim.SGD(lr=0.05), start=(1.0, 0.5), steps=100)
    b = sim.simulate(ref, sim.SGD(lr=0.05), start=(1.0, 0.5), steps=100)
    bound = _traj_bound(ref, b, tol)
    assert np.all(np.abs(a.positions - b.positions).max(axis=1) <= bound + 4 * EPS)


def test_curves_and_constant_variables():
    c = sim.surface_from_function(lambda w: (w - 3) ** 2, domain=[(-1, 7)])
    assert c.dim == 1 and c.variables == ("w",)
    run = sim.simulate(c, sim.SGD(lr=0.1), start=[7.0], steps=3)
    np.testing.assert_allclose(run.positions.ravel(), [7.0, 6.2, 5.56, 5.048], rtol=1e-15)
    s = sim.surface_from_function(lambda x, y: x**2)  # a function of x alone stays 2-D
    assert s.dim == 2 and s.gradient((1.0, 5.0)).tolist() == [2.0, 0.0]


def test_an_untraceable_function_says_what_to_do():
    def kinked(x, y):
        if x > 0:
            return x**2 + y**2
        return -x + y**2

    with pytest.raises(ValueError, match=r"could not be traced.*grad='fd'"):
        sim.surface_from_function(kinked)
    with pytest.raises(ValueError, match="one variable"):
        sim.surface_from_function(lambda *a: 0.0)
    with pytest.raises(ValueError, match="grad must be"):
        sim.surface_from_function(rosen, grad="exact")
    with pytest.raises(ValueError, match="must be a function"):
        sim.surface_from_function(3.0)


# ---- the user's gradient ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def user_rosen():
    return sim.surface_from_function(rosen, grad=rosen_grad, hess=rosen_hess,
                                     domain=[(-2, 2), (-1, 3)])


def test_user_gradient_runs_compiled_and_matches_the_formula(user_rosen):
    s = user_rosen
    assert s.kind == "function" and s.impl.compiled and not s.impl.approximate
    assert "compiled by numba" in s.impl.note
    ref = sim.get_surface("rosenbrock")
    p = np.random.default_rng(3).uniform(-2, 2, size=(100, 2))
    f, g, h = s.evaluate(p)
    rf, rg, rh = ref.evaluate(p)
    # Rosenbrock's terms are up to ~2e3 on this box: a few roundings of that apart
    tol = 16 * EPS * 4e3
    assert np.abs(f - rf).max() <= tol and np.abs(g - rg).max() <= tol
    assert np.abs(h - rh).max() <= tol
    for opt in (sim.SGD(lr=1e-3, momentum=0.9), sim.Adam(lr=0.02),
                sim.Newton(lr=0.5, damping=1.0), sim.LBFGS(lr=1.0)):
        a = sim.simulate(s, opt, start=(-1.5, 2.0), steps=300)
        b = sim.simulate(ref, opt, start=(-1.5, 2.0), steps=300)
        assert a.status == b.status
        if isinstance(opt, sim.SGD):
            bound = _traj_bound(ref, b, tol)
            assert np.all(np.abs(a.positions - b.positions).max(axis=1) <= bound + 4 * EPS)
        else:  # adaptive steps: compare the ends, relative to how far the run went
            assert np.abs(a.positions[-1] - b.positions[-1]).max() <= 1e-9


def test_python_fallback_when_numba_cannot_compile():
    class Centre:  # numba cannot type an arbitrary Python object: this runs in Python
        x = 1.0
        y = -0.5

    c = Centre()

    def bowl(x, y):
        return (x - c.x) ** 2 + 3 * (y - c.y) ** 2

    def bowl_grad(x, y):
        return (2 * (x - c.x), 6 * (y - c.y))

    s = sim.surface_from_function(bowl, grad=bowl_grad)
    assert not s.impl.compiled and "run in Python" in s.impl.note
    assert s.impl.hessian_from == "none" and np.all(np.isnan(s.hessian((0.0, 0.0))))
    ref = sim.surface_from_expression("(x - 1)^2 + 3*(y + 0.5)^2")
    a = sim.simulate(s, sim.SGD(lr=0.1), start=(2.0, 2.0), steps=100)
    b = sim.simulate(ref, sim.SGD(lr=0.1), start=(2.0, 2.0), steps=100)
    # the formula engine differentiates to 6*y + 3 where bowl_grad says 6*(y + 0.5): a
    # rounding or two of the gradient (at most ~15 here) apart at each step
    bound = _traj_bound(ref, b, 4 * EPS * 15.0)
    assert np.all(np.abs(a.positions - b.positions).max(axis=1) <= bound + 4 * EPS)
    # no Hessian given: the status rules cannot see curvature; a vanished gradient on
    # this bowl still counts as converged
    assert a.status == b.status == "converged"


def test_python_errors_end_the_run_as_undefined():
    def logbowl(x, y):
        return math.log(x) ** 2 + y**2

    def logbowl_grad(x, y):
        return (2 * math.log(x) / x, 2 * y)

    class Box:  # forces the Python path (see above)
        k = 1.0

    b = Box()
    s = sim.surface_from_function(lambda x, y: logbowl(x, y) * b.k,
                                  grad=lambda x, y: logbowl_grad(x, y),
                                  domain=[(0.1, 4), (-2, 2)])
    assert not s.impl.compiled
    # from x = 4 the first step goes to 4 - 10 * 2 log(4) / 4 < 0, where math.log raises
    run = sim.simulate(s, sim.SGD(lr=10.0), start=(4.0, 0.0), steps=50)
    assert run.status == "diverged" and run.n_steps == 0
    assert np.all(np.isfinite(run.positions))
    assert np.isnan(s.value((-1.0, 0.0)))  # evaluating there: undefined, not an exception


# ---- finite differences, only when asked -------------------------------------------------------
def test_finite_differences_are_labelled_approximate():
    s = sim.surface_from_function(lambda x, y: x**2 + 3 * y**2, grad="fd", name="q")
    assert s.impl.approximate and s.impl.hessian_from == "finite differences"
    assert "approximate" in s.name and "approximate" in repr(s)
    assert "approximate" in s.description and "approximate" in s._repr_html_()
    run = sim.simulate(s, sim.SGD(lr=0.1), start=(1.0, 1.0), steps=10)
    assert "approximate" in repr(run)
    # central differences with h = eps^(1/3) max(1, |x|): error about eps^(2/3) (|f'''|
    # h^2/6 plus |f| eps/h), here f''' = 0 and |f| <= 36 on the box
    p = np.random.default_rng(4).uniform(-3, 3, size=(100, 2))
    exact = np.column_stack([2 * p[:, 0], 6 * p[:, 1]])
    assert np.abs(s.gradient(p) - exact).max() <= 40 * EPS ** (2 / 3) * 36
    np.testing.assert_allclose(s.hessian((0.5, 0.5)), [[2, 0], [0, 6]], atol=1e-4)


# ---- where a Python function cannot go, it says so --------------------------------------------
def test_batch_maps_and_files_refuse_a_function_surface_clearly(user_rosen, tmp_path):
    s = user_rosen
    with pytest.raises(ValueError, match="Python function"):
        sim.simulate_batch(s, sim.Adam(), np.zeros((3, 2)), steps=5)
    with pytest.raises(ValueError, match="bumps"):
        s.with_bumps([[0, 0, 1, 1]])
    scene = _scene_with(s)
    runs = scene.run()  # the scene runs it ...
    assert len(runs) == len([ln for ln in scene.lanes if ln.enabled])
    with pytest.raises(ValueError, match="cannot be saved"):  # ... but cannot save it
        scene.save(tmp_path / "x.losslab.json")
    assert not list(tmp_path.iterdir())


def test_compiled_and_python_paths_agree_bit_for_bit(monkeypatch):
    # the same callables through numba and through the interpreter's copy of the loop:
    # the same IEEE operations in the same order (no fastmath), so the same numbers
    from simulator.core import functions

    def make():
        return sim.surface_from_function(rosen, grad=rosen_grad, hess=rosen_hess)

    compiled = make()
    monkeypatch.setattr(functions, "_compiles", lambda *a: (False, "forced for the test"))
    python = make()
    assert compiled.impl.compiled and not python.impl.compiled
    assert "forced for the test" in python.impl.note
    p = np.random.default_rng(5).uniform(-2, 2, size=(50, 2))
    for a, b in zip(compiled.evaluate(p), python.evaluate(p)):
        np.testing.assert_array_equal(a, b)
    for opt in (sim.Adam(lr=0.02), sim.Newton(lr=0.5, damping=1.0)):
        a = sim.simulate(compiled, opt, start=(-1.5, 2.0), steps=200)
        b = sim.simulate(python, opt, start=(-1.5, 2.0), steps=200)
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.gradients, b.gradients)
