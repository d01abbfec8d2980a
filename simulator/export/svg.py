"""SVG export of the 2-D view, written by hand (no Qt painting involved).

pyqtgraph 0.14's SVG exporter crashes with PySide6 6.11 and QSvgGenerator misplaces
items, so the 2-D scene is written here directly from the data: one standalone SVG file
with

* a title bar (the lab's title or the surface's name, the step, the lanes);
* the map: for a two-variable loss, the colour map of ``surface.grid`` over the domain
  and, following the paths as the app's map does (``SvgScene.follow``, on by default),
  where the lanes go (:func:`map_extent`), with the same linear or log scale as the
  contour view (viridis), embedded as a PNG ``<image>``, contour
  lines as vector paths, the critical points (minima, saddles, maxima) with the view's
  marker shapes, each lane's trail as a ``<polyline>`` up to the frame, a marker where
  each lane is, the start point, axes with ticks and the variables' names, a colour bar
  and a legend. For a one-variable loss: the curve L(w) and each lane's jumps (one
  polyline per lane through the jump arcs) with its steps as dots;
* under the map (``plots=True``, the default), the loss, gradient-norm and
  learning-rate plots side by side, one vector polyline per lane (split where a run has
  no finite value), log y for loss and gradient norm when ``log_y`` is set (the loss
  then shown as ``L - L*``, as in the app), and a dashed line at the current step.

Everything drawn lives in data coordinates mapped to pixels by :class:`_Frame`; each
plot area is a ``<rect class="plot-area">`` carrying ``data-x-range`` / ``data-y-range``
so tests (and curious users) can map data points to pixels. Trails are
``<polyline class="trail">`` with ``data-lane`` set to the lane's name.

The writer only needs numpy and Pillow (never Qt); the colour-scale and contour helpers
are shared with the app's views (:mod:`simulator.core.plotmath`) so the SVG and the
screen agree.
"""

from __future__ import annotations

import base64
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .data import atomic_output

GRID_N_2D = 200
GRID_N_1D = 800
PLOT_FRACTION = 0.28  # of the height, like the PNG layout
ARC_SAMPLES = 12
MAX_STEP_DOTS = 400  # 1-D: dots on the steps only when there are few enough to read
FALLBACK_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                   "#F0E442", "#000000")
KIND_STYLE = {  # kind: (shape, fill, label, size px) as in the views
    "minimum": ("star", "#ffffff", "minimum", 16),
    "saddle": ("diamond", "#ffd23f", "saddle", 13),
    "maximum": ("triangle", "#ff5c5c", "maximum", 13),
    "degenerate": ("square", "#c8c8c8", "degenerate", 13),
}
START_COLOR = "#ffffff"
DIVERGED_COLOR = "#C0392B"  # the x where a diverged lane was last seen, as in the views
TEXT = "#222222"
AXIS = "#555555"
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


@dataclass
class SvgLane:
    """One lane as drawn: name, colour and its run (a core Trajectory)."""

    name: str
    color: str
    run: Any


@dataclass
class SvgScene:
    """Everything the SVG shows. Build it with :func:`scene_from_lab` or
    :func:`scene_from_session`."""

    surface: Any
    lanes: list[SvgLane]
    start: tuple[float, ...] | None
    frame: int
    steps: int
    title: str = ""
    log_scale: bool | None = None  # None: the surface's own default
    log_y: bool = True
    critical_points: list | None = None  # None: searched here
    follow: bool = True  # the 2-D map shows where the paths go (View > Follow the Paths)
    extra: dict = field(default_factory=dict)


def _lanes(pairs) -> list[SvgLane]:
    out, used = [], []
    for lane, run in pairs:
        if run is None or len(run.positions) == 0:
            continue
        color = getattr(lane, "color", None)
        if not color:
            color = next((c for c in FALLBACK_COLORS if c.upper() not in used),
                         FALLBACK_COLORS[len(used) % len(FALLBACK_COLORS)])
        used.append(color.upper())
        out.append(SvgLane(str(lane.name), color, run))
    return out


def scene_from_lab(lab, step: int | None = None, runs=None, follow: bool = True
                   ) -> SvgScene:
    """The scene of a :class:`~simulator.core.labs.Lab` at ``step`` (default: the lab's
    view frame, else the end of the run). Runs the lab (headless) unless ``runs``
    (from ``lab.run()``) is given. ``follow``: the map shows where the paths go (see
    :func:`map_extent`), else the domain only."""
    pairs = lab.run() if runs is None else runs
    if step is None:
        step = lab.view.frame if lab.view.frame is not None else lab.run_steps
    return SvgScene(lab.surface, _lanes(pairs), tuple(lab.start), int(step), int(lab.run_steps),
                    title=lab.title, log_scale=lab.view.log_scale, follow=bool(follow))


def scene_from_session(session, step: int | None = None, title: str = "",
                       log_scale: bool | None = None, log_y: bool = True,
                       critical_points: list | None = None, follow: bool = True
                       ) -> SvgScene:
    """The scene of the app's Session (duck-typed: ``surface``, ``lanes``, ``results``,
    ``start``, ``frame``, ``steps``)."""
    pairs = [(lane, session.results.get(lane.uid)) for lane in session.lanes
             if getattr(lane, "enabled", True)]
    frame = session.frame if step is None else int(step)
    start = getattr(session, "start", None)
    return SvgScene(session.surface, _lanes(pairs),
                    None if start is None else tuple(float(v) for v in start),
                    int(frame), int(session.steps), title=title, log_scale=log_scale,
                    log_y=log_y, critical_points=critical_points, follow=bool(follow))


def map_extent(scene: SvgScene):
    """The region the 2-D map colours and shows: with ``scene.follow``, the domain and
    where the lanes' whole runs go, as the app's map and the PNG export have it
    (:func:`simulator.core.plotmath.paths_extent` of the runs as the map draws them,
    at most 4 domain widths); else the domain."""
    from simulator.core.plotmath import clip_far, paths_extent

    domain = tuple(tuple(float(v) for v in d) for d in scene.surface.domain)
    if not scene.follow:
        return domain
    paths = [clip_far(np.asarray(lane.run.positions, dtype=float), domain)
             for lane in scene.lanes]
    return paths_extent(paths, domain)


def write_svg(scene: SvgScene, path: str | os.PathLike, size=(960, 540),
              plots: bool = True) -> None:
    """Write the scene as SVG to ``path`` (atomically: temp file, then rename)."""
    text = svg_document(scene, size, plots)
    with atomic_output(path) as f:
        f.write(text)


# ---- small helpers ------------------------------------------------------------------------
def _esc(text) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _n(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _fmt(v: float) -> str:
    if v == 0 or abs(v) < 1e-12:
        return "0"
    s = f"{v:.4g}"
    if "e" in s:
        m, e = s.split("e")
        s = f"{m}e{int(e)}"
    return s.replace("-", "\u2212")


def nice_ticks(lo: float, hi: float, n: int = 6) -> np.ndarray:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.zeros(0)
    for k in range(max(1, n), max(1, n) + 4):  # at least two ticks whenever possible
        raw = (hi - lo) / k
        mag = 10 ** math.floor(math.log10(raw))
        step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)
        first = math.ceil(lo / step - 1e-9) * step
        ticks = np.arange(first, hi + step * 1e-6, step)
        ticks[np.abs(ticks) < step * 1e-9] = 0.0
        if len(ticks) >= 2:
            break
    return ticks


def _log_ticks(lo: float, hi: float) -> tuple[np.ndarray, list[str]]:
    """Ticks for a log10 axis (values are log10 already): whole decades."""
    a, b = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    if b < a:
        t = nice_ticks(lo, hi, 3)
        return t, [_fmt(10 ** v) for v in t]
    k = max(1, math.ceil((b - a + 1) / 6))
    t = np.arange(a, b + 1, k, dtype=float)
    return t, [_decade(int(v)) for v in t]


def _decade(e: int) -> str:
    if -2 <= e <= 3:
        return _fmt(10.0 ** e)
    return f"1e{e}".replace("-", "\u2212")


def _viridis() -> np.ndarray:
    """The 256-entry viridis table (pyqtgraph's CSV, read without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("pyqtgraph")
        for loc in spec.submodule_search_locations or ():
            p = Path(loc) / "colors" / "maps" / "viridis.csv"
            if p.is_file():
                rows = [line.split(",") for line in p.read_text().splitlines()
                        if line.strip() and not line.startswith(";")]
                lut = np.array(rows, dtype=float)
                if lut.shape[1] == 3 and len(lut) >= 16:
                    return lut
    except Exception:  # noqa: BLE001 - fall back to the anchors below
        pass
    anchors = np.array([[0.267, 0.005, 0.329], [0.283, 0.141, 0.458], [0.254, 0.265, 0.530],
                        [0.207, 0.372, 0.553], [0.164, 0.471, 0.558], [0.128, 0.567, 0.551],
                        [0.135, 0.659, 0.518], [0.267, 0.749, 0.441], [0.478, 0.821, 0.318],
                        [0.741, 0.873, 0.150], [0.993, 0.906, 0.144]])
    x = np.linspace(0, 1, 256)
    xp = np.linspace(0, 1, len(anchors))
    return np.stack([np.interp(x, xp, anchors[:, c]) for c in range(3)], -1)


def colorize(t: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """RGBA uint8 image of ``t`` between levels ``lo``..``hi`` (nan: transparent)."""
    lut = (_viridis() * 255 + 0.5).astype(np.uint8)
    with np.errstate(invalid="ignore"):
        u = (np.asarray(t, dtype=float) - lo) / (hi - lo)
    ok = np.isfinite(u)
    idx = (np.clip(np.where(ok, u, 0.0), 0, 1) * (len(lut) - 1) + 0.5).astype(int)
    rgba = np.zeros(t.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = lut[idx]
    rgba[..., 3] = np.where(ok, 255, 0)
    return rgba


def png_data_uri(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class _Frame:
    """Maps data (x, y) to pixels inside the rectangle (left, top, width, height)."""

    def __init__(self, left, top, width, height, xr, yr):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.xr, self.yr = xr, yr

    def x(self, v):
        return self.left + (np.asarray(v, dtype=float) - self.xr[0]) / (
            self.xr[1] - self.xr[0]) * self.width

    def y(self, v):
        return self.top + self.height - (np.asarray(v, dtype=float) - self.yr[0]) / (
            self.yr[1] - self.yr[0]) * self.height

    def points(self, xs, ys) -> str:
        px, py = self.x(xs), self.y(ys)
        return " ".join(f"{_n(a)},{_n(b)}" for a, b in zip(px, py, strict=True))

    def rect(self, cls: str, clip_id: str, fill: str = "none") -> list[str]:
        a = (f'x="{_n(self.left)}" y="{_n(self.top)}" width="{_n(self.width)}" '
             f'height="{_n(self.height)}"')
        return [f'<clipPath id="{clip_id}"><rect {a}/></clipPath>',
                f'<rect class="{cls}" {a} fill="{fill}" '
                f'data-x-range="{self.xr[0]!r} {self.xr[1]!r}" '
                f'data-y-range="{self.yr[0]!r} {self.yr[1]!r}"/>']


def _marker(shape: str, cx: float, cy: float, size: float, fill: str, stroke="#000000",
            width: float = 1.2, cls: str = "") -> str:
    r = size / 2
    c = f' class="{cls}"' if cls else ""
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"'
    if shape == "circle":
        return f'<circle{c} cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" {style}/>'
    if shape == "square":
        s = r * 0.85
        return (f'<rect{c} x="{_n(cx - s)}" y="{_n(cy - s)}" width="{_n(2 * s)}" '
                f'height="{_n(2 * s)}" {style}/>')
    if shape == "diamond":
        pts = [(0, -r), (r, 0), (0, r), (-r, 0)]
    elif shape == "triangle":  # pointing up, like pyqtgraph's "t1"
        pts = [(0, -r), (r * 0.9, r * 0.6), (-r * 0.9, r * 0.6)]
    elif shape == "x":  # a diagonal cross, like pyqtgraph's "x"
        a, b = r, r * 0.3
        pts = [(-a, -a + b), (-a + b, -a), (0, -b), (a - b, -a), (a, -a + b), (b, 0),
               (a, a - b), (a - b, a), (0, b), (-a + b, a), (-a, a - b), (-b, 0)]
    else:  # star
        pts = []
        for i in range(10):
            a = -math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.42
            pts.append((rr * math.cos(a), rr * math.sin(a)))
    p = " ".join(f"{_n(cx + dx)},{_n(cy + dy)}" for dx, dy in pts)
    return f'<polygon{c} points="{p}" {style}/>'


def _text(x, y, s, size=11, anchor="start", fill=TEXT, extra="") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{fill}"{extra}>{_esc(s)}</text>')


def _axes(fr: _Frame, xlabel: str, ylabel: str, xticks=None, yticks=None, size=10.5,
          label_gap=38) -> list[str]:
    """Frame, ticks and labels of a plot area."""
    out = [f'<g class="axes" font-family="{FONT}">',
           f'<rect x="{_n(fr.left)}" y="{_n(fr.top)}" width="{_n(fr.width)}" '
           f'height="{_n(fr.height)}" fill="none" stroke="{AXIS}" stroke-width="1"/>']
    xt, xl = xticks if xticks is not None else (nice_ticks(*fr.xr, max(2, int(fr.width / 80))),
                                                None)
    yt, yl = yticks if yticks is not None else (nice_ticks(*fr.yr, max(3, int(fr.height / 45))),
                                                None)
    bottom = fr.top + fr.height
    for i, v in enumerate(xt):
        px = float(fr.x(v))
        if not fr.left - 0.5 <= px <= fr.left + fr.width + 0.5:
            continue
        out.append(f'<line x1="{_n(px)}" y1="{_n(bottom)}" x2="{_n(px)}" '
                   f'y2="{_n(bottom + 4)}" stroke="{AXIS}"/>')
        out.append(_text(px, bottom + 5 + size, xl[i] if xl else _fmt(v), size, "middle"))
    for i, v in enumerate(yt):
        py = float(fr.y(v))
        if not fr.top - 0.5 <= py <= bottom + 0.5:
            continue
        out.append(f'<line x1="{_n(fr.left - 4)}" y1="{_n(py)}" x2="{_n(fr.left)}" '
                   f'y2="{_n(py)}" stroke="{AXIS}"/>')
        out.append(_text(fr.left - 6, py + size * 0.35, yl[i] if yl else _fmt(v), size, "end"))
    if xlabel:
        out.append(_text(fr.left + fr.width / 2, bottom + 2 * size + 10, xlabel, size + 1,
                         "middle", extra=' class="axis-label"'))
    if ylabel:
        x, y = fr.left - label_gap, fr.top + fr.height / 2
        out.append(_text(x, y, ylabel, size + 1, "middle",
                         extra=f' class="axis-label" transform="rotate(-90 {_n(x)} {_n(y)})"'))
    out.append("</g>")
    return out


def _cut_at_nonfinite(xs, ys):
    """The leading part of a path up to its first non-finite point."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    bad = np.flatnonzero(~ok)
    k = bad[0] if bad.size else len(xs)
    return xs[:k], ys[:k]


def _finite_runs(xs, ys):
    """Split a curve into its finite stretches (for polylines, which have no gaps)."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    out, i, n = [], 0, len(xs)
    while i < n:
        if not ok[i]:
            i += 1
            continue
        j = i
        while j < n and ok[j]:
            j += 1
        out.append((xs[i:j], ys[i:j]))
        i = j
    return out


def _critical_points(scene: SvgScene) -> dict[str, list[np.ndarray]]:
    surface = scene.surface
    cps = scene.critical_points
    if cps is None:
        try:
            from simulator.core.critical_points import find_critical_points

            cps = find_critical_points(surface)
        except Exception:  # noqa: BLE001 - a surface the search cannot handle shows none
            cps = []
    by_kind: dict[str, list] = {k: [] for k in KIND_STYLE}
    for cp in cps:
        if cp.kind in by_kind:
            by_kind[cp.kind].append(np.ravel(np.asarray(cp.position, dtype=float)))
    for m in getattr(surface, "minima", ()):
        m = np.ravel(np.asarray(m, dtype=float))
        if not any(np.allclose(m, q, atol=1e-6 * surface.scale) for q in by_kind["minimum"]):
            by_kind["minimum"].append(m)
    return by_kind


# ---- the document -------------------------------------------------------------------------
def svg_document(scene: SvgScene, size=(960, 540), plots: bool = True) -> str:
    """The whole SVG (a standalone document) as text."""
    from simulator.core.plotmath import lane_step

    out_w, out_h = (int(v) for v in size)
    if out_w < 1 or out_h < 1:
        raise ValueError(f"size must be positive, got {out_w}x{out_h}")
    # below 480 x 300 the labels would not fit: lay out larger, the viewBox scales it down
    k = max(1.0, 480 / out_w, 300 / out_h)
    W, H = round(out_w * k), round(out_h * k)
    surface = scene.surface
    if surface.dim not in (1, 2):
        raise ValueError("SVG export is for one- and two-variable losses")
    frame = max(0, min(int(scene.frame), int(scene.steps)))
    title_h = max(20.0, min(30.0, H / 20))
    plots_h = max(110.0, H * PLOT_FRACTION) if plots else 0.0
    map_box = (0.0, title_h, float(W), H - title_h - plots_h)

    body: list[str] = []
    head = scene.title or surface.name
    body.append(f'<g class="title" font-family="{FONT}">')
    fs = title_h * 0.5
    body.append(f'<text x="8" y="{_n(title_h * 0.68)}" font-size="{_n(fs)}" fill="{TEXT}">'
                f'<tspan font-weight="bold">{_esc(head)}</tspan>'
                f'<tspan dx="{_n(fs * 0.6)}">\u00b7</tspan>'
                f'<tspan dx="{_n(fs * 0.6)}">step {frame} / {scene.steps}</tspan></text>')
    body.append("</g>")
    if surface.dim == 2:
        body += _map_2d(scene, map_box, frame, lane_step)
    else:
        body += _map_1d(scene, map_box, frame, lane_step)
    if plots:
        body += _plots(scene, (0.0, H - plots_h, float(W), plots_h), frame)
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{out_w}" height="{out_h}" '
        f'viewBox="0 0 {W} {H}">',
        f"<title>{_esc(head)} (step {frame} of {scene.steps}) - LossLab</title>",
        f'<rect width="{W}" height="{H}" fill="#ffffff"/>',
        *body,
        "</svg>",
        "",
    ])


def legend_width(entries, size=11) -> float:
    return 36 + max((len(lbl) for _, _, lbl in entries), default=0) * size * 0.64


def _legend(x, y, entries, size=11, dark=True) -> list[str]:
    """A box of (kind, colour, label) rows; kind "line" or a marker shape. ``dark``: a
    translucent black box (over the map, as in the view), else a light one beside it."""
    if not entries:
        return []
    row = size + 6
    w = legend_width(entries, size)
    h = row * len(entries) + 8
    box = ('fill="#000000" fill-opacity="0.6"' if dark else
           f'fill="#ffffff" stroke="{AXIS}" stroke-opacity="0.5"')
    out = [f'<g class="legend" font-family="{FONT}">',
           f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="3" {box}/>']
    for i, (kind, color, label) in enumerate(entries):
        cy = y + 4 + row * i + row / 2
        if kind == "line":
            out.append(f'<line x1="{_n(x + 7)}" y1="{_n(cy)}" x2="{_n(x + 25)}" y2="{_n(cy)}" '
                       f'stroke="{color}" stroke-width="2.5"/>')
        else:
            out.append(_marker(kind, x + 16, cy, 11, color))
        out.append(_text(x + 31, cy + size * 0.36, label, size,
                         fill="#ffffff" if dark else TEXT))
    out.append("</g>")
    return out


def _diverged_at(run) -> int | None:
    from simulator.core.plotmath import diverged_at

    return diverged_at(run)


def _divergence(run, domain, frame: int):
    """The point where a diverged run is marked, once ``frame`` reaches its divergence
    (as the views mark it), else None."""
    from simulator.core.plotmath import divergence_point

    step = _diverged_at(run)
    if step is None or frame < step:
        return None
    return divergence_point(run, domain)


def _map_2d(scene: SvgScene, box, frame: int, lane_step) -> list[str]:
    from simulator.core.contours import contour_segments
    from simulator.core.plotmath import (
        HeightScale,
        clip_far,
        contour_levels,
        robust_levels,
    )

    surface = scene.surface
    bx, by, bw, bh = box
    shown = map_extent(scene)  # the domain, or where the paths go
    (dx0, dx1), (dy0, dy1) = shown
    px_, py_ = 0.02 * (dx1 - dx0), 0.02 * (dy1 - dy0)
    xr, yr = (dx0 - px_, dx1 + px_), (dy0 - py_, dy1 + py_)
    ml, mr, mt, mb = 64.0, 92.0, 10.0, 44.0
    aw, ah = max(20.0, bw - ml - mr), max(20.0, bh - mt - mb)
    left, top, pw, ph = bx + ml, by + mt, aw, ah
    (ax0, ax1), (ay0, ay1) = surface.domain
    ratio = (ax1 - ax0) / (ay1 - ay0)
    if 1 / 3 <= ratio <= 3:  # the view locks the aspect ratio for such domains
        s = min(aw / (xr[1] - xr[0]), ah / (yr[1] - yr[0]))
        pw, ph = s * (xr[1] - xr[0]), s * (yr[1] - yr[0])
        left += (aw - pw) / 2
        top += (ah - ph) / 2
    fr = _Frame(left, top, pw, ph, xr, yr)

    (xs, ys), values = surface.grid(GRID_N_2D, domain=shown)
    log = bool(surface.log_scale) if scene.log_scale is None else bool(scene.log_scale)
    scale = HeightScale(values, log)
    t = scale(values)
    lo, hi = robust_levels(t)
    out = ['<g class="map">', *fr.rect("plot-area", "map-clip"),
           '<g clip-path="url(#map-clip)">']
    # the image covers the grid's cells: half a cell beyond the first and last samples
    cx, cy = (xs[-1] - xs[0]) / (len(xs) - 1), (ys[-1] - ys[0]) / (len(ys) - 1)
    ix0, ix1 = float(fr.x(xs[0] - cx / 2)), float(fr.x(xs[-1] + cx / 2))
    iy0, iy1 = float(fr.y(ys[-1] + cy / 2)), float(fr.y(ys[0] - cy / 2))
    rgba = colorize(t[::-1], lo, hi)  # row 0 of the image is the top: the largest y
    out.append(f'<image class="colormap" x="{_n(ix0)}" y="{_n(iy0)}" width="{_n(ix1 - ix0)}" '
               f'height="{_n(iy1 - iy0)}" preserveAspectRatio="none" '
               f'href="{png_data_uri(rgba)}"/>')
    sx, sy = contour_segments(t, xs, ys, contour_levels(t))
    if sx.size:
        px, py = fr.x(sx), fr.y(sy)
        d = " ".join(f"M{_n(px[i])} {_n(py[i])}L{_n(px[i + 1])} {_n(py[i + 1])}"
                     for i in range(0, len(px) - 1, 2))
        out.append(f'<path class="contours" d="{d}" fill="none" stroke="#ffffff" '
                   'stroke-opacity="0.35" stroke-width="1"/>')
    by_kind = _critical_points(scene)
    for kind, pts in by_kind.items():
        shape, fill, _label, size = KIND_STYLE[kind]
        for p in pts:
            if p.size >= 2 and np.all(np.isfinite(p[:2])):
                out.append(_marker(shape, float(fr.x(p[0])), float(fr.y(p[1])), size, fill,
                                   cls=f"critical {kind}"))
    markers, diverged = [], []
    for lane in scene.lanes:
        pos = clip_far(np.asarray(lane.run.positions, dtype=float), surface.domain)
        k = lane_step(lane.run, frame)
        tx, ty = _cut_at_nonfinite(pos[: k + 1, 0], pos[: k + 1, 1])
        if len(tx) == 1:  # a polyline needs two points to show: repeat the start
            tx, ty = np.r_[tx, tx], np.r_[ty, ty]
        out.append(f'<polyline class="trail" data-lane="{_esc(lane.name)}" '
                   f'points="{fr.points(tx, ty)}" fill="none" stroke="{lane.color}" '
                   'stroke-width="1.8" stroke-linejoin="round" stroke-linecap="round"/>')
        if np.all(np.isfinite(pos[k])):
            markers.append(_marker("circle", float(fr.x(pos[k, 0])), float(fr.y(pos[k, 1])),
                                   11, lane.color, width=1.5,
                                   cls="position"))
        mark = _divergence(lane.run, surface.domain, frame)
        if mark is not None:
            diverged.append(_marker("x", float(fr.x(mark[0])), float(fr.y(mark[1])), 18,
                                    DIVERGED_COLOR, cls="diverged"))
    out += markers + diverged
    if scene.start is not None and len(scene.start) == 2:
        out.append(_marker("circle", float(fr.x(scene.start[0])), float(fr.y(scene.start[1])),
                           14, START_COLOR, width=2, cls="start"))
    out.append("</g>")
    names = list(surface.variables)
    out += _axes(fr, names[0], names[1], label_gap=46)
    entries = [("line", lane.color, lane.name) for lane in scene.lanes]
    entries += [(KIND_STYLE[k][0], KIND_STYLE[k][1], KIND_STYLE[k][2])
                for k, pts in by_kind.items() if pts]
    entries.append(("circle", START_COLOR, "start"))
    if diverged:
        entries.append(("x", DIVERGED_COLOR, "diverged"))
    lw = legend_width(entries)
    if fr.left - bx - 60 >= lw + 8:  # room left of the map (the y-axis labels need ~60 px)
        out += _legend(fr.left - 60 - lw, fr.top, entries, dark=False)
    else:
        out += _legend(fr.left + 8, fr.top + 8, entries)
    out += _colorbar(fr.left + fr.width + 12, fr.top, 14, fr.height, lo, hi,
                     scale.label())
    out.append("</g>")
    return out


def _colorbar(x, y, w, h, lo, hi, label) -> list[str]:
    n = 64
    strip = colorize(np.linspace(hi, lo, n).reshape(n, 1), lo, hi)
    out = ['<g class="colorbar">',
           f'<image x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
           f'preserveAspectRatio="none" href="{png_data_uri(strip)}"/>',
           f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="none" '
           f'stroke="{AXIS}"/>']
    fr = _Frame(x, y, w, h, (0, 1), (lo, hi))
    out.append(f'<g font-family="{FONT}">')
    for v in nice_ticks(lo, hi, max(3, int(h / 45))):
        py = float(fr.y(v))
        out.append(f'<line x1="{_n(x + w)}" y1="{_n(py)}" x2="{_n(x + w + 4)}" y2="{_n(py)}" '
                   f'stroke="{AXIS}"/>')
        out.append(_text(x + w + 6, py + 3.7, _fmt(v), 10.5))
    lx, ly = x + w + 58, y + h / 2
    out.append(_text(lx, ly, label, 11.5, "middle",
                     extra=f' transform="rotate(-90 {_n(lx)} {_n(ly)})"'))
    out += ["</g>", "</g>"]
    return out


def _map_1d(scene: SvgScene, box, frame: int, lane_step) -> list[str]:
    from simulator.core.plotmath import finite_range

    surface = scene.surface
    bx, by, bw, bh = box
    (w0, w1), = surface.domain
    span = w1 - w0
    (ws,), values = surface.grid(GRID_N_1D)
    lo, hi = finite_range(values)
    v = values[np.isfinite(values)]
    if v.size:  # as the curve view: a robust top so one steep wall does not flatten all
        hi = float(min(hi, np.percentile(v, 95)))
        if hi <= lo:
            hi = lo + 1.0
    pad = 0.08 * (hi - lo)
    yr = (lo - pad, hi + pad)
    yspan = yr[1] - yr[0]
    xr = (w0 - 0.02 * span, w1 + 0.02 * span)
    ml, mr, mt, mb = 64.0, 16.0, 10.0, 44.0
    fr = _Frame(bx + ml, by + mt, max(20.0, bw - ml - mr), max(20.0, bh - mt - mb), xr, yr)
    out = ['<g class="map curve-view">', *fr.rect("plot-area", "map-clip", "#101418"),
           '<g clip-path="url(#map-clip)">']
    for cx, cy in _finite_runs(ws, np.asarray(values, dtype=float)):
        cy = np.clip(cy, yr[0] - 50 * yspan, yr[1] + 50 * yspan)
        out.append(f'<polyline class="curve" points="{fr.points(cx, cy)}" fill="none" '
                   'stroke="#e8e8e8" stroke-width="2.2" stroke-linejoin="round"/>')
    if scene.start is not None and len(scene.start) == 1:
        sx = float(fr.x(scene.start[0]))
        out.append(f'<line class="start-line" x1="{_n(sx)}" y1="{_n(fr.top)}" x2="{_n(sx)}" '
                   f'y2="{_n(fr.top + fr.height)}" stroke="{START_COLOR}" stroke-opacity="0.6" '
                   'stroke-dasharray="4 3"/>')
    by_kind = _critical_points(scene)
    for kind, pts in by_kind.items():
        shape, fill, _label, size = KIND_STYLE[kind]
        for p in pts:
            f = float(surface.value(np.array([[p[0]]]))[0])
            if np.isfinite(f):
                out.append(_marker(shape, float(fr.x(p[0])), float(fr.y(f)), size, fill,
                                   cls=f"critical {kind}"))
    markers, diverged = [], []
    for lane in scene.lanes:
        mark = _divergence(lane.run, surface.domain, frame)
        if mark is not None:
            with np.errstate(all="ignore"):
                fm = float(surface.value(mark.reshape(1, 1))[0])
            fm = float(np.clip(fm if np.isfinite(fm) else yr[1], yr[0], yr[1]))
            diverged.append(_marker("x", float(fr.x(mark[0])), float(fr.y(fm)), 18,
                                    DIVERGED_COLOR, cls="diverged"))
        w = np.clip(np.asarray(lane.run.positions, dtype=float)[:, 0], w0 - 20 * span,
                    w1 + 20 * span)
        f = np.clip(np.asarray(lane.run.losses, dtype=float), yr[0] - 50 * yspan,
                    yr[1] + 50 * yspan)
        k = lane_step(lane.run, frame)
        w, f = _cut_at_nonfinite(w[: k + 1], f[: k + 1])
        if len(w) == 0:
            continue
        # each jump as a quadratic arc rising with its length, as the curve view draws it
        if len(w) > 1:
            lift = 0.35 * np.abs(w[1:] - w[:-1]) / span * yspan
            t = np.linspace(0.0, 1.0, ARC_SAMPLES)[None, :]
            a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t ** 2
            mx, my = 0.5 * (w[:-1] + w[1:]), 0.5 * (f[:-1] + f[1:]) + lift
            ax = (a * w[:-1, None] + b * mx[:, None] + c * w[1:, None])[:, :-1].ravel()
            ay = (a * f[:-1, None] + b * my[:, None] + c * f[1:, None])[:, :-1].ravel()
            px, py = np.r_[ax, w[-1]], np.r_[ay, f[-1]]
        else:
            px, py = np.r_[w, w], np.r_[f, f]
        out.append(f'<polyline class="trail" data-lane="{_esc(lane.name)}" '
                   f'points="{fr.points(px, py)}" fill="none" stroke="{lane.color}" '
                   'stroke-width="1.6" stroke-linejoin="round"/>')
        if len(w) <= MAX_STEP_DOTS:
            out.append(f'<g class="steps" fill="{lane.color}" stroke="#000000" '
                       'stroke-width="0.8">')
            out += [f'<circle cx="{_n(a)}" cy="{_n(b)}" r="3.5"/>'
                    for a, b in zip(fr.x(w), fr.y(f), strict=True)]
            out.append("</g>")
        markers.append(_marker("circle", float(fr.x(w[-1])), float(fr.y(f[-1])), 13,
                               lane.color, width=1.5, cls="position"))
    out += markers + diverged
    if scene.start is not None and len(scene.start) == 1:
        f0 = float(surface.value(np.array([[scene.start[0]]]))[0])
        if np.isfinite(f0):
            out.append(_marker("circle", float(fr.x(scene.start[0])), float(fr.y(f0)), 14,
                               START_COLOR, width=2, cls="start"))
    out.append("</g>")
    name = surface.variables[0]
    out += _axes(fr, name, f"L({name})", label_gap=50)
    entries = [("line", lane.color, lane.name) for lane in scene.lanes]
    entries += [(KIND_STYLE[k][0], KIND_STYLE[k][1], KIND_STYLE[k][2])
                for k, pts in by_kind.items() if pts]
    entries.append(("circle", START_COLOR, "start"))
    if diverged:
        entries.append(("x", DIVERGED_COLOR, "diverged"))
    out += _legend(fr.left + 8, fr.top + 8, entries)
    out.append("</g>")
    return out


def _loss_floor(surface, lanes) -> float:
    """L*, as the plots panel computes it."""
    mv = getattr(surface, "min_value", None)
    lows = [float(np.nanmin(np.where(np.isfinite(ln.run.losses), ln.run.losses, np.nan)))
            for ln in lanes if np.isfinite(ln.run.losses).any()]
    low = min(lows) if lows else 0.0
    if mv is not None and np.isfinite(mv) and mv <= low + 1e-12 * max(1.0, abs(low)):
        return float(mv)
    return float(low - 1e-9 * max(1.0, abs(low)))


def _plots(scene: SvgScene, box, frame: int) -> list[str]:
    bx, by, bw, bh = box
    log = bool(scene.log_y)
    floor = _loss_floor(scene.surface, scene.lanes) if log else 0.0
    series: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {"loss": [], "grad": [],
                                                                   "lr": []}
    for lane in scene.lanes:
        r = lane.run
        loss = np.asarray(r.losses, dtype=float)
        grad = np.asarray(r.grad_norms, dtype=float)
        lrs = np.asarray(r.learning_rates, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            if log:
                loss = np.log10(np.maximum(loss - floor, 1e-300))
                grad = np.log10(np.maximum(grad, 1e-300))
        # the step of each recorded loss and gradient (every step unless record_every)
        rec = np.asarray(getattr(r, "recorded_steps", np.arange(len(loss))), dtype=float)
        for key, arr in (("loss", loss), ("grad", grad), ("lr", lrs)):
            a = np.array(arr, dtype=float)
            a[~np.isfinite(a) | (np.abs(a) > 1e150)] = np.nan
            series[key].append((lane.color, rec if key != "lr" else
                                np.arange(len(a), dtype=float), a))
    titles = {"loss": "loss gap L \u2212 L*  (log)" if log else "loss L",
              "grad": "gradient norm |g|  (log)" if log else "gradient norm |g|",
              "lr": "learning rate used"}
    out = [f'<g class="plots" font-family="{FONT}">']
    pw = bw / 3
    steps = max(1, scene.steps)
    xr = (-0.01 * steps, steps * 1.01)
    for i, key in enumerate(("loss", "grad", "lr")):
        ml, mr, mt, mb = 58.0, 10.0, 20.0, 34.0
        values = np.concatenate([a for _, _, a in series[key]]) if series[key] else np.zeros(0)
        ylo, yhi = _range(values)
        if log and key != "lr":
            ylo = max(ylo, yhi - 24.0)  # a run that hit L* exactly: do not show 300 decades
        fr = _Frame(bx + i * pw + ml, by + mt, pw - ml - mr, bh - mt - mb, xr, (ylo, yhi))
        g = f'<g class="plot" data-plot="{key}">'
        out += [g, *fr.rect("plot-area", f"plot-clip-{key}"),
                _text(fr.left + fr.width / 2, by + 14, titles[key], 11.5, "middle")]
        out.append(f'<g clip-path="url(#plot-clip-{key})">')
        for color, xs, ys in series[key]:
            for sx, sy in _finite_runs(xs, ys):
                sx, sy = _thin(sx, sy, int(fr.width * 2))
                if len(sx) == 1:
                    sx, sy = np.r_[sx, sx], np.r_[sy, sy]
                out.append(f'<polyline class="plot-curve" points="{fr.points(sx, sy)}" '
                           f'fill="none" stroke="{color}" stroke-width="1.5" '
                           'stroke-linejoin="round"/>')
        for lane in scene.lanes:  # where a diverged lane blew up, as the plots show it
            step = _diverged_at(lane.run)
            if step is not None:
                dx = float(fr.x(step))
                out.append(f'<line class="diverged" x1="{_n(dx)}" y1="{_n(fr.top)}" '
                           f'x2="{_n(dx)}" y2="{_n(fr.top + fr.height)}" stroke="{lane.color}" '
                           'stroke-width="1.5" stroke-dasharray="6 3 1.5 3"/>')
                if key == "loss":
                    out.append(_text(dx + 3, fr.top + 12, "diverged", 9.5,
                                     fill=DIVERGED_COLOR))
        fx = float(fr.x(frame))
        out.append(f'<line class="frame-line" x1="{_n(fx)}" y1="{_n(fr.top)}" x2="{_n(fx)}" '
                   f'y2="{_n(fr.top + fr.height)}" stroke="#999999" stroke-dasharray="4 3"/>')
        out.append("</g>")
        yt = _log_ticks(ylo, yhi) if log and key != "lr" else None
        out += _axes(fr, "step", "", yticks=yt, size=9.5)
        out.append("</g>")
    out.append("</g>")
    return out


def _range(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        d = max(abs(hi) * 0.1, 1e-3)
        return lo - d, hi + d
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _thin(xs, ys, n: int):
    """At most about ``n`` points per curve, keeping each bucket's min and max (peaks)."""
    if len(xs) <= 2 * n or n < 2:
        return xs, ys
    edges = np.linspace(0, len(xs), n + 1).astype(int)
    keep = [0]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if b > a:
            seg = ys[a:b]
            i, j = a + int(np.argmin(seg)), a + int(np.argmax(seg))
            keep += sorted({i, j})
    keep.append(len(xs) - 1)
    idx = np.array(sorted(set(keep)))
    return xs[idx], ys[idx]
