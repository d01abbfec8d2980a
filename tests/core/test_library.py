"""The built-in surface library: exact derivatives, known minima, kernels, errors."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from simulator.core.kernels import surfaces as K
from simulator.core.library import ParamSpec, get_surface, list_surfaces, surface_parameters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import naive  # noqa: E402

x, y = sp.symbols("x y", real=True)
w = x  # 1-D curves are written in x and evaluated at (w, 0)


# ---- textbook formulas, written independently of the kernels ---------------------------
def _sym(name: str, **p):
    if name == "quadratic":
        return x**2 + y**2
    if name == "ravine":
        th = sp.rad(sp.Float(p.get("angle", 30.0)))
        u = x * sp.cos(th) + y * sp.sin(th)
        v = -x * sp.sin(th) + y * sp.cos(th)
        return (2 * v**2 + 2 / sp.Float(p.get("condition", 10.0)) * u**2) / 2
    if name == "rosenbrock":
        a, b = p.get("a", 1), p.get("b", 100)
        return (a - x) ** 2 + b * (y - x**2) ** 2
    if name == "saddle":
        return x**2 - y**2
    if name == "two-wells":
        k1, k2 = p.get("curvature_sharp", 16), p.get("curvature_flat", 1)
        q1 = sp.Rational(1, 2) * k1 * ((x + sp.Rational(3, 2)) ** 2 + (y - 1) ** 2)
        q2 = sp.Rational(1, 2) * k2 * ((x - 1) ** 2 + (y + 1) ** 2)
        return q1 * q2 / (q1 + q2)
    if name == "plateau":
        return 1 - sp.exp(-(x**2 + y**2) / sp.Float(p.get("width", 1.0)) ** 2)
    if name == "himmelblau":
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
    if name == "beale":
        return (
            (sp.Rational(3, 2) - x + x * y) ** 2
            + (sp.Rational(9, 4) - x + x * y**2) ** 2
            + (sp.Rational(21, 8) - x + x * y**3) ** 2
        )
    if name == "booth":
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2
    if name == "matyas":
        return sp.Rational(26, 100) * (x**2 + y**2) - sp.Rational(48, 100) * x * y
    if name == "rastrigin":
        A = p.get("A", 10)
        return 2 * A + sum(t**2 - A * sp.cos(2 * sp.pi * t) for t in (x, y))
    if name == "ackley":
        a, b, c = p.get("a", 20), p.get("b", sp.Rational(1, 5)), p.get("c", 2 * sp.pi)
        return (
            -a * sp.exp(-b * sp.sqrt((x**2 + y**2) / 2))
            - sp.exp((sp.cos(c * x) + sp.cos(c * y)) / 2)
            + a
            + sp.E
        )
    if name == "six-hump-camel":
        return (4 - sp.Rational(21, 10) * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2
    if name == "styblinski-tang":
        return sum(t**4 - 16 * t**2 + 5 * t for t in (x, y)) / 2
    if name == "goldstein-price":
        return (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)) * (
            30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
        )
    if name == "mccormick":
        return sp.sin(x + y) + (x - y) ** 2 - sp.Rational(3, 2) * x + sp.Rational(5, 2) * y + 1
    if name == "monkey-saddle":
        return x**3 - 3 * x * y**2
    if name == "parabola":
        return p.get("a", 1) * (w - p.get("c", 2)) ** 2
    if name == "double-well":
        return (w**2 - 1) ** 2 + p.get("tilt", 0) * w
    if name == "bumpy":
        return w**2 / 10 + p.get("amplitude", 1) * sp.sin(p.get("frequency", 3) * w)
    raise KeyError(name)


BUILTIN = [n for n in list_surfaces() if not n.endswith("regression")]

# every surface at its defaults, plus the parameterised ones at other settings
CASES = [(n, {}) for n in BUILTIN] + [
    ("ravine", {"condition": 250.0, "angle": -65.0}),
    ("rosenbrock", {"a": -0.5, "b": 7.0}),
    ("rastrigin", {"A": 3.5}),
    ("ackley", {"a": 5.0, "b": 1.3, "c": 4.0}),
    ("two-wells", {"curvature_sharp": 100.0, "curvature_flat": 0.05}),
    ("plateau", {"width": 2.5}),
    ("parabola", {"a": 3.0, "c": -1.5}),
    ("double-well", {"tilt": 0.7}),
    ("bumpy", {"amplitude": 2.0, "frequency": 1.7}),
]
IDS = [n + ("" if not p else "-" + "-".join(f"{k}={v}" for k, v in p.items())) for n, p in CASES]


def _points(s, n=150, seed=0):
    rng = np.random.default_rng(seed)
    lo = np.array([d[0] for d in s.domain])
    hi = np.array([d[1] for d in s.domain])
    return lo + (hi - lo) * rng.random((n, s.dim))


def _close(actual, ref, rtol, atol_rel):
    ref = np.asarray(ref, dtype=float)
    atol = atol_rel * max(1.0, float(np.max(np.abs(ref))))
    np.testing.assert_allclose(actual, ref, rtol=rtol, atol=atol)


@pytest.fixture(scope="module")
def sym_cache():
    return {}


def _sym_derivs(name, params, dim, cache):
    key = (name, tuple(sorted(params.items())))
    if key not in cache:
        f = _sym(name, **params)
        vs = (x, y) if dim == 2 else (x,)
        g = [sp.diff(f, v) for v in vs]
        h = [[sp.diff(gi, v) for v in vs] for gi in g]
        cache[key] = (
            sp.lambdify(vs, f, "numpy"),
            sp.lambdify(vs, g, "numpy"),
            sp.lambdify(vs, h, "numpy"),
        )
    return cache[key]


def _bcast(v, n):
    return np.broadcast_to(np.asarray(v, dtype=float), (n,))


# ---- (a) exact derivatives agree with sympy ----------------------------------------------
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_derivatives_match_sympy(name, params, sym_cache):
    s = get_surface(name, **params)
    P = _points(s)
    n = len(P)
    fl, gl, hl = _sym_derivs(name, params, s.dim, sym_cache)
    cols = [P[:, i] for i in range(s.dim)]
    f_ref = _bcast(fl(*cols), n)
    g_ref = np.stack([_bcast(gi, n) for gi in gl(*cols)], -1)
    h_ref = np.stack([np.stack([_bcast(hij, n) for hij in hi], -1) for hi in hl(*cols)], -2)

    f, g, h = s.evaluate(P)
    _close(f, f_ref, 1e-9, 1e-12)
    _close(g, g_ref, 1e-9, 1e-11)
    _close(h, h_ref, 1e-9, 1e-11)
    np.testing.assert_array_equal(h, np.swapaxes(h, -1, -2))
    # the block path (orders 0 and 1) agrees with the scalar Hessian path
    _close(s.value(P), f_ref, 1e-9, 1e-12)
    _close(s.gradient(P), g_ref, 1e-9, 1e-11)


# ---- (b) exact derivatives agree with finite differences of the value -------------------
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_derivatives_match_finite_differences(name, params):
    s = get_surface(name, **params)
    P = _points(s, n=60, seed=1)
    width = min(hi - lo for lo, hi in s.domain)
    _, g, H = s.evaluate(P)
    e = np.eye(s.dim)

    h1 = 1e-6 * width
    g_fd = np.stack(
        [(s.value(P + h1 * e[i]) - s.value(P - h1 * e[i])) / (2 * h1) for i in range(s.dim)], -1
    )
    _close(g, g_fd, 1e-5, 1e-6)

    h2 = 1e-4 * width
    f0 = s.value(P)
    H_fd = np.empty_like(H)
    for i in range(s.dim):
        for j in range(s.dim):
            if i == j:
                H_fd[:, i, i] = (s.value(P + h2 * e[i]) - 2 * f0 + s.value(P - h2 * e[i])) / h2**2
            else:
                H_fd[:, i, j] = (
                    s.value(P + h2 * (e[i] + e[j]))
                    - s.value(P + h2 * (e[i] - e[j]))
                    - s.value(P - h2 * (e[i] - e[j]))
                    + s.value(P - h2 * (e[i] + e[j]))
                ) / (4 * h2**2)
    _close(H, H_fd, 1e-3, 1e-4)


# ---- (c) known minima ------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_known_minima(name, params):
    s = get_surface(name, **params)
    if name in ("saddle", "monkey-saddle"):
        assert s.minima == () and s.min_value is None
        return
    assert s.minima and s.min_value is not None
    values = []
    for m in s.minima:
        assert len(m) == s.dim and all(isinstance(c, float) for c in m)
        for (lo, hi), c in zip(s.domain, m):
            assert lo <= c <= hi
        f, g, H = s.evaluate(np.array(m))
        scale = max(1.0, float(np.max(np.abs(H))))
        assert np.max(np.abs(g)) <= 1e-10 * scale, (m, g)
        assert np.min(np.linalg.eigvalsh(H)) > 0.0, (m, H)  # strict minima, all of them
        values.append(float(f))
    assert values[0] == pytest.approx(s.min_value, rel=1e-13, abs=1e-13)
    assert min(values) >= s.min_value - 1e-12 * (1 + abs(s.min_value))
    # global: nothing on a fine grid of the domain is lower
    _, v = s.grid(201)
    assert np.nanmin(v) >= s.min_value - 1e-9 * (1 + abs(s.min_value))


@pytest.mark.parametrize(
    ("name", "point", "value"),
    [
        ("quadratic", (0.0, 0.0), 0.0),
        ("ravine", (0.0, 0.0), 0.0),
        ("rosenbrock", (1.0, 1.0), 0.0),
        ("beale", (3.0, 0.5), 0.0),
        ("himmelblau", (3.0, 2.0), 0.0),
        ("booth", (1.0, 3.0), 0.0),
        ("matyas", (0.0, 0.0), 0.0),
        ("rastrigin", (0.0, 0.0), 0.0),
        ("ackley", (0.0, 0.0), 0.0),
        ("goldstein-price", (0.0, -1.0), 3.0),
        ("plateau", (0.0, 0.0), 0.0),
        ("two-wells", (-1.5, 1.0), 0.0),
        ("two-wells", (1.0, -1.0), 0.0),
        ("parabola", (2.0,), 0.0),
        ("double-well", (1.0,), 0.0),
        ("double-well", (-1.0,), 0.0),
    ],
)
def test_exact_minima_values(name, point, value):
    s = get_surface(name)
    f, g, _ = s.evaluate(np.array(point))
    assert f == value
    assert np.all(g == 0.0)


def test_hand_checked_minima():
    him = get_surface("himmelblau")
    expected = [(3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    assert len(him.minima) == 4
    for m, e in zip(him.minima, expected):
        np.testing.assert_allclose(m, e, atol=1e-6)
        assert him.value(np.array(m)) == pytest.approx(0.0, abs=1e-20)

    mc = get_surface("mccormick")
    np.testing.assert_allclose(mc.minima[0], (-0.54719, -1.54719), atol=1e-5)
    assert mc.min_value == pytest.approx(-1.9133, abs=1e-4)
    assert mc.value(np.array(mc.minima[0])) == pytest.approx(-1.9133, abs=1e-4)

    cam = get_surface("six-hump-camel")
    np.testing.assert_allclose(cam.minima[0], (0.0898, -0.7126), atol=1e-4)
    np.testing.assert_allclose(cam.minima[1], (-0.0898, 0.7126), atol=1e-4)
    for m in cam.minima[:2]:
        assert cam.value(np.array(m)) == pytest.approx(-1.0316, abs=1e-4)

    st = get_surface("styblinski-tang")
    np.testing.assert_allclose(st.minima[0], (-2.903534, -2.903534), atol=1e-6)
    assert st.min_value == pytest.approx(-78.33233, abs=1e-5)
    assert st.value(np.array(st.minima[0])) == pytest.approx(-78.33233, abs=1e-5)

    gp = get_surface("goldstein-price")
    assert [round(float(gp.value(np.array(m))), 9) for m in gp.minima] == [3, 30, 84, 840]

    assert get_surface("rosenbrock", a=2.0).minima[0] == (2.0, 4.0)


def test_ackley_origin_is_finite():
    s = get_surface("ackley")
    f, g, H = s.evaluate(np.array([0.0, 0.0]))
    assert f == 0.0 and np.all(g == 0.0)
    c = 2 * math.pi
    np.testing.assert_allclose(H, 0.5 * c * c * math.e * np.eye(2), rtol=1e-14)
    # just off the origin, everything stays finite
    for p in ([1e-300, 0.0], [0.0, -1e-170], [5e-324, 5e-324], [1e-8, 2e-8]):
        f, g, H = s.evaluate(np.array(p))
        assert np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))


def test_two_wells_curvatures():
    s = get_surface("two-wells", curvature_sharp=40.0, curvature_flat=0.5)
    sharp, flat = s.minima
    np.testing.assert_allclose(s.hessian(np.array(sharp)), 40.0 * np.eye(2), rtol=1e-14)
    np.testing.assert_allclose(s.hessian(np.array(flat)), 0.5 * np.eye(2), rtol=1e-14)
    # bounded below by 0 everywhere
    _, v = s.grid(101)
    assert v.min() >= 0.0


def test_ravine_eigen_structure():
    s = get_surface("ravine", condition=50.0, angle=20.0)
    H = s.hessian(np.array([0.3, -0.7]))
    lam, vec = np.linalg.eigh(H)
    np.testing.assert_allclose(lam, [2.0 / 50.0, 2.0], rtol=1e-12)
    th = math.radians(20.0)
    assert abs(abs(vec[:, 0] @ [math.cos(th), math.sin(th)]) - 1.0) < 1e-12


def test_plateau_gradient_vanishes_far_out():
    s = get_surface("plateau")
    assert np.linalg.norm(s.gradient(np.array([4.0, 0.0]))) < 1e-5
    assert 0.0 <= s.grid(101)[1].min() and s.grid(101)[1].max() <= 1.0


def test_parabola_worked_examples():
    s = get_surface("parabola", c=3)
    assert s.value(7.0) == 16.0 and s.gradient(7.0)[0] == 8.0
    s = get_surface("parabola")
    assert s.value(np.array([8.0])) == 36.0 and s.gradient(np.array([8.0]))[0] == 12.0
    lo, hi = s.domain[0]
    assert lo < 2.0 < 8.0 < hi


def test_double_well_tilt_orders_minima():
    s = get_surface("double-well", tilt=0.5)
    assert len(s.minima) == 2
    assert s.minima[0][0] < 0.0 < s.minima[1][0]  # positive tilt deepens the left well
    assert s.value(np.array(s.minima[0])) < s.value(np.array(s.minima[1]))


def test_bumpy_has_several_local_minima():
    s = get_surface("bumpy")
    assert len(s.minima) >= 3
    vals = [s.value(np.array(m)) for m in s.minima]
    assert vals == sorted(vals)


# ---- (d) block kernel equals scalar kernel bit for bit ---------------------------------------
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_block_kernel_bitwise(name, params):
    s = get_surface(name, **params)
    P = _points(s, n=203, seed=2)
    xs = np.ascontiguousarray(P[:, 0])
    ys = np.ascontiguousarray(P[:, 1]) if s.dim == 2 else np.zeros(len(P))
    n = len(xs)
    f, gx, gy = np.empty(n), np.empty(n), np.empty(n)
    K.builtin_fg_block(np.int64(s.sid), s.prm, xs, ys, f, gx, gy, n)
    ref = np.array([K.builtin_fg(np.int64(s.sid), s.prm, a, b) for a, b in zip(xs, ys)])
    ref_h = np.array([K.builtin_fgh(np.int64(s.sid), s.prm, a, b) for a, b in zip(xs, ys)])
    np.testing.assert_array_equal(np.column_stack([f, gx, gy]), ref)
    np.testing.assert_array_equal(ref_h[:, :3], ref)  # fgh's first three are fg's


def test_unknown_id_gives_nan():
    prm = np.zeros(4)
    assert all(math.isnan(v) for v in K.builtin_fg(np.int64(999), prm, 0.5, 0.5))
    assert all(math.isnan(v) for v in K.builtin_fgh(np.int64(999), prm, 0.5, 0.5))
    f, gx, gy = np.empty(3), np.empty(3), np.empty(3)
    K.builtin_fg_block(np.int64(999), prm, np.ones(3), np.ones(3), f, gx, gy, 3)
    assert np.all(np.isnan(f))


def test_ids_unique_and_below_1000():
    ids = {v for k, v in vars(K).items() if k.startswith("S_") and isinstance(v, int)}
    names = [k for k in vars(K) if k.startswith("S_")]
    assert len(ids) == len(names)
    assert all(0 <= i < 1000 for i in ids)


# ---- (e) vectorised value equals a plain-Python reference ------------------------------------
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_value_matches_naive(name, params):
    s = get_surface(name, **params)
    P = _points(s, n=500, seed=3)
    ref = np.array([naive.SURFACES[name](*p, **params) for p in P])
    _close(s.value(P), ref, 1e-12, 1e-13)
    _, v = s.grid(17)
    axes = s.grid(17)[0]
    if s.dim == 2:
        ref_grid = np.array(
            [[naive.SURFACES[name](a, b, **params) for a in axes[0]] for b in axes[1]]
        )
    else:
        ref_grid = np.array([naive.SURFACES[name](a, **params) for a in axes[0]])
    _close(v, ref_grid, 1e-12, 1e-13)


# ---- (f) the library API ---------------------------------------------------------------------
def test_list_surfaces():
    names = list_surfaces()
    expected = {
        "quadratic", "ravine", "rosenbrock", "beale", "himmelblau", "rastrigin", "ackley",
        "booth", "matyas", "six-hump-camel", "styblinski-tang", "goldstein-price",
        "mccormick", "saddle", "monkey-saddle", "two-wells", "plateau", "parabola",
        "double-well", "bumpy", "linear-regression", "logistic-regression",
    }  # fmt: skip
    assert set(names) == expected and len(names) == len(expected)
    assert names[:3] == ["quadratic", "ravine", "rosenbrock"]
    dims = [get_surface(n).dim for n in names[:-2]]
    assert dims == sorted(dims, reverse=True)  # 2-D surfaces, then 1-D curves, then data
    assert names[-2:] == ["linear-regression", "logistic-regression"]


@pytest.mark.parametrize("name", list_surfaces())
def test_metadata(name):
    s = get_surface(name)
    assert s.name == name
    assert len(s.description) > 100 and s.formula
    assert s.kind == ("data" if name.endswith("regression") else "builtin")
    assert s.log_scale == (name in ("rosenbrock", "goldstein-price", "beale"))
    if s.dim == 1:
        assert s.variables == ("w",)
    assert set(s.params) >= {p.name for p in surface_parameters(name)}
    for spec in surface_parameters(name):
        assert spec.lo <= spec.default <= spec.hi
        assert spec.label and spec.help
        assert s.params[spec.name] == spec.default


def test_surface_parameters():
    specs = {p.name: p for p in surface_parameters("ravine")}
    assert set(specs) == {"condition", "angle"}
    c = specs["condition"]
    assert (c.default, c.lo, c.hi, c.log) == (10.0, 1.0, 1000.0, True)
    a = specs["angle"]
    assert (a.default, a.lo, a.hi, a.log) == (30.0, -90.0, 90.0, False)
    assert surface_parameters("himmelblau") == []
    assert {p.name for p in surface_parameters("linear-regression")} == {"n", "seed", "noise"}
    assert isinstance(specs["condition"], ParamSpec)
    with pytest.raises(AttributeError):
        specs["angle"].default = 3.0  # frozen


def test_unknown_name_lists_valid_names():
    with pytest.raises(LookupError) as err:
        get_surface("rosenbrok")
    msg = str(err.value)
    assert "rosenbrok" in msg
    for n in list_surfaces():
        assert n in msg
    with pytest.raises(LookupError):
        surface_parameters("nope")
    # names are forgiving about case and separators
    assert get_surface("Six_Hump_Camel").name == "six-hump-camel"


@pytest.mark.parametrize(
    ("name", "params", "words"),
    [
        ("ravine", {"condition": 0.5}, ["ravine", "condition", ">= 1", "0.5"]),
        ("ravine", {"angle": 120}, ["ravine", "angle", "<= 90"]),
        ("ravine", {"conditoin": 5}, ["ravine", "conditoin", "condition", "angle"]),
        ("himmelblau", {"a": 1}, ["himmelblau", "'a'"]),
        ("rosenbrock", {"b": float("nan")}, ["rosenbrock", "b", "finite"]),
        ("rosenbrock", {"b": "big"}, ["rosenbrock", "b", "number"]),
        ("parabola", {"a": 0.0}, ["parabola", "a"]),
        ("linear-regression", {"n": 10.5}, ["linear-regression", "n", "whole"]),
        ("logistic-regression", {"noise": 0.0}, ["logistic-regression", "noise"]),
    ],
)
def test_bad_parameters(name, params, words):
    with pytest.raises(ValueError) as err:
        get_surface(name, **params)
    for word in words:
        assert word in str(err.value)


def test_parameters_are_recorded():
    s = get_surface("ravine", condition=100)
    assert s.params == {"condition": 100.0, "angle": 30.0}
    assert get_surface("linear-regression", n=32.0).params["n"] == 32
