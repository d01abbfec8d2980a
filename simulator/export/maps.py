"""Colours, pictures and tables of basin and hyperparameter maps.

The maps are computed by :mod:`simulator.core.maps`; this module turns them into RGBA
images (:func:`render_basin`, :func:`render_hyper`, the colour-blind safe basin palette,
viridis), PNG pictures with a title, markers and a legend (:func:`save_png`, with Pillow)
and CSV tables with ``#`` metadata lines, and computes the map of one lane of a lab for
``losslab export LAB --map basin|hyper`` (:func:`export_map`). Every file is written
through :func:`simulator.core.files.atomic_open`: a killed or failed export leaves the
previous file as it was. No Qt here.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Sequence

import numpy as np

from simulator.core.engine import DIVERGED as _ST_DIVERGED
from simulator.core.files import atomic_open
from simulator.core.maps import (
    DIVERGED,
    INVALID,
    NOT_COMPUTED,
    NOT_CONVERGED,
    BasinMap,
    HyperMap,
    basin_map,
    grid_values,
    hyper_map,
    sweepable_params,
)

__all__ = [
    "BASIN_COLORS",
    "STATUS_COLORS",
    "basin_color",
    "basin_legend",
    "color_range",
    "export_map",
    "parse_axis",
    "render_basin",
    "render_hyper",
    "save_basin_png",
    "save_hyper_png",
    "save_png",
    "viridis",
    "write_basin_csv",
    "write_hyper_csv",
]

# Okabe-Ito (colour-blind safe) for basins, then greys for the special labels
BASIN_COLORS = (
    (230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
    (213, 94, 0), (204, 121, 167), (120, 94, 60), (150, 200, 120), (170, 150, 230),
)
DIVERGED_COLOR = (40, 40, 40)
NOT_CONVERGED_COLOR = (190, 190, 190)
STATUS_COLORS = {
    "converged": (0, 158, 115),
    "converging": (86, 180, 233),
    "oscillating": (230, 159, 0),
    "diverged": (213, 94, 0),
    "stalled": (240, 228, 66),
    "invalid": (210, 210, 210),
}
_VIRIDIS = np.array([
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)], dtype=np.float64)


def basin_color(label: int) -> tuple[int, int, int]:
    """The RGB colour of a basin label (a minimum index or a special label)."""
    if label == DIVERGED:
        return DIVERGED_COLOR
    if label < 0:
        return NOT_CONVERGED_COLOR
    return BASIN_COLORS[label % len(BASIN_COLORS)]


def viridis(t: np.ndarray) -> np.ndarray:
    """RGB (…, 3) uint8 of values in [0, 1] (nan -> 0) on the viridis colour map."""
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64)), 0.0, 1.0)
    x = t * (len(_VIRIDIS) - 1)
    i = np.minimum(x.astype(int), len(_VIRIDIS) - 2)
    f = (x - i)[..., None]
    return (_VIRIDIS[i] * (1 - f) + _VIRIDIS[i + 1] * f + 0.5).astype(np.uint8)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _meta_lines(meta: dict) -> list[str]:
    return [f"# {k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in meta.items()]


# ---- basin maps ------------------------------------------------------------------------------
def basin_legend(bm: BasinMap) -> list[tuple[int, str, float, tuple[int, int, int]]]:
    """(label, name, share, RGB) for every label of a basin map, minima first."""
    sh = bm.shares()
    return [(k, bm.label_name(k), v, basin_color(k)) for k, v in sh.items()]


def write_basin_csv(bm: BasinMap, path) -> None:
    """One row per start: x, y, label, basin, status, final point, final loss."""
    d = bm.surface.dim
    meta = {
        "losslab": "basin map", "surface": bm.surface.name,
        "optimizer": bm.optimizer.to_dict(), "steps": bm.steps, "noise": bm.noise,
        "seed": bm.seed, "chunk": bm.chunk, "domain": [list(p) for p in bm.domain],
        "resolution": list(bm.resolution), "tol": bm.tol,
        "minima": bm.minima.tolist(),
        "shares": {bm.label_name(k): round(v, 6) for k, v in bm.shares().items()},
        "complete": bm.complete,
    }
    if bm.schedule is not None:
        meta["schedule"] = bm.schedule.to_dict() if hasattr(bm.schedule, "to_dict") \
            else bm.schedule.name
    names = ["x", "y"][:d] + ["label", "basin", "status"] + \
        ["final_x", "final_y"][:d] + ["final_loss"]
    status = bm.status
    with atomic_open(path) as fh:  # the previous file survives a kill or a full disk
        for line in _meta_lines(meta):
            fh.write(line + "\n")
        w = csv.writer(fh)
        w.writerow(names)
        for j in range(len(bm.ys)):
            for i in range(len(bm.xs)):
                lab = int(bm.labels[j, i])
                row = [_fmt(bm.xs[i]), _fmt(bm.ys[j])][:d]
                row += [lab, bm.label_name(lab), status[j, i]]
                row += [_fmt(v) for v in bm.final_positions[j, i]]
                row.append(_fmt(bm.final_losses[j, i]))
                w.writerow(row)


def save_basin_png(bm: BasinMap, path, size: int = 512,
                   title: str | None = None) -> None:
    """The map as a PNG (minima marked, legend with shares below)."""
    legend = [(name, share, rgb) for _, name, share, rgb in basin_legend(bm)]
    if title is None:
        title = f"{bm.surface.name}: {bm.optimizer.name} " \
            f"lr={bm.optimizer.lr:g}, {bm.steps} steps"
    marks = []
    for m in bm.minima:
        ij = _basin_frac(bm, m)
        if ij is not None:
            marks.append(ij)
    save_png(path, render_basin(bm), size=size, title=title, legend=legend, marks=marks)


def _basin_frac(bm: BasinMap, p) -> tuple[float, float] | None:
    (x0, x1), *rest = bm.domain
    fx = (p[0] - x0) / (x1 - x0)
    fy = ((p[1] - rest[0][0]) / (rest[0][1] - rest[0][0])) if rest else 0.5
    return (fx, fy) if 0 <= fx <= 1 and 0 <= fy <= 1 else None


# ---- hyperparameter maps ---------------------------------------------------------------------
def _start_text(hm: HyperMap):
    net = hm.surface
    if getattr(net, "kind", None) == "network" and np.array_equal(hm.start, net.init):
        return "the network's initial weights"
    return list(hm.start)


def write_hyper_csv(hm: HyperMap, path) -> None:
    """One row per cell: the two swept values, final loss, steps to converge, status."""
    meta = {
        "losslab": "hyperparameter map", "surface": hm.surface.name,
        "optimizer": hm.optimizer.to_dict(), "start": _start_text(hm),
        "steps": hm.steps, "noise": hm.noise, "seed": hm.seed,
        "x": hm.param_x, "y": hm.param_y, "log_x": hm.log_x, "log_y": hm.log_y,
        "complete": hm.complete,
    }
    status = hm.status
    with atomic_open(path) as fh:  # the previous file survives a kill or a full disk
        for line in _meta_lines(meta):
            fh.write(line + "\n")
        w = csv.writer(fh)
        test = hm.final_test_losses
        w.writerow([hm.param_x, hm.param_y, "final_loss", "steps_to_converge",
                    "status", *(("final_test_loss",) if test is not None else ())])
        for j in range(len(hm.values_y)):
            for i in range(len(hm.values_x)):
                s = hm.steps_to_converge[j, i]
                w.writerow([_fmt(hm.values_x[i]), _fmt(hm.values_y[j]),
                            _fmt(hm.final_losses[j, i]),
                            "" if not math.isfinite(s) else int(s), status[j, i],
                            *((_fmt(test[j, i]),) if test is not None else ())])


def save_hyper_png(hm: HyperMap, path, color_by: str = "loss", size: int = 512,
                   title: str | None = None) -> None:
    """The map as a PNG coloured by ``color_by`` (axes below; the stability boundary, if
    any, in red)."""
    if title is None:
        title = f"{hm.surface.name}: {hm.optimizer.name}, {hm.param_x} x " \
            f"{hm.param_y} ({color_by})"
    legend = []
    if color_by == "status":
        legend = [(k, None, v) for k, v in STATUS_COLORS.items()]
    lines = []
    for bx, by in hm.boundary:
        lines.append(np.column_stack([_axis_frac(bx, hm.values_x, hm.log_x),
                                      _axis_frac(by, hm.values_y, hm.log_y)]))
    save_png(path, render_hyper(hm, color_by), size=size, title=title, legend=legend,
             lines=lines, axes=(hm.param_x, hm.values_x, hm.log_x,
                                hm.param_y, hm.values_y, hm.log_y))


def _axis_frac(v, vals, log):
    """Fractional image position of values (cell centres at (k + 0.5) / n)."""
    v = np.asarray(v, dtype=np.float64)
    n = len(vals)
    if n == 1:
        return np.full(v.shape, 0.5)
    a, b = (np.log(vals[0]), np.log(vals[-1])) if log else (vals[0], vals[-1])
    t = ((np.log(v) if log else v) - a) / (b - a)
    return (t * (n - 1) + 0.5) / n


# ---- rendering ------------------------------------------------------------------------------
def render_basin(bm: BasinMap, alpha: int = 255) -> np.ndarray:
    """RGBA image (ny, nx, 4) uint8 of a basin map; row 0 is the lowest y."""
    lab = bm.labels
    out = np.zeros(lab.shape + (4,), dtype=np.uint8)
    for k in list(range(len(bm.minima))) + [DIVERGED, NOT_CONVERGED]:
        m = lab == k
        if np.any(m):
            out[m, :3] = basin_color(k)
            out[m, 3] = alpha
    return out


def render_hyper(hm: HyperMap, color_by: str = "loss") -> np.ndarray:
    """RGBA image (ny, nx, 4) of a hyper map, coloured by ``"loss"`` (log10 of the gap
    to the lowest value, viridis), ``"test_loss"`` (a network's: log10 of the final test
    loss, viridis), ``"steps"`` (steps to converge, viridis) or
    ``"status"``. Diverged cells are dark, invalid ones light grey, not computed
    transparent."""
    codes = hm.status_codes.astype(int)
    out = np.zeros(codes.shape + (4,), dtype=np.uint8)
    done = codes != NOT_COMPUTED
    if color_by == "status":
        for name, rgb in STATUS_COLORS.items():
            m = done & (hm.status == name)
            out[m, :3] = rgb
    elif color_by in ("loss", "steps", "test_loss"):
        if color_by == "test_loss":  # log10: a few blown-up cells do not flatten the rest
            t = _test_losses(hm)
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.log10(np.maximum(t, 1e-16))
            ok = done & (codes >= 0) & (codes != _ST_DIVERGED) & np.isfinite(v)
        elif color_by == "loss":
            f = hm.final_losses
            ok = done & (codes >= 0) & (codes != _ST_DIVERGED) & np.isfinite(f)
            base = getattr(hm.surface, "min_value", None)
            if base is None:
                base = float(np.min(f[ok])) if np.any(ok) else 0.0
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.log10(np.maximum(f - base, 1e-16))
        else:
            v = hm.steps_to_converge
            ok = done & np.isfinite(v)
        if np.any(ok):
            lo, hi = float(np.min(v[ok])), float(np.max(v[ok]))
            t = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
            out[ok, :3] = viridis(t[ok])
        out[done & ~ok, :3] = NOT_CONVERGED_COLOR
        out[codes == _ST_DIVERGED, :3] = DIVERGED_COLOR
        out[codes == INVALID, :3] = STATUS_COLORS["invalid"]
    else:
        raise ValueError(f"color_by must be 'loss', 'test_loss', 'steps' or 'status', "
                         f"got {color_by!r}")
    out[done, 3] = 255
    return out


def _test_losses(hm: HyperMap) -> np.ndarray:
    """The map's final test losses (a network's); ValueError on a surface."""
    if hm.final_test_losses is None:
        raise ValueError("colour by test loss needs a network (a surface has no test data)")
    return hm.final_test_losses


def color_range(hm: HyperMap, color_by: str) -> tuple[float, float] | None:
    """The (lo, hi) data range the viridis colours of :func:`render_hyper` span."""
    codes = hm.status_codes.astype(int)
    if color_by == "test_loss":
        t = _test_losses(hm)
        v = t[(codes >= 0) & (codes != _ST_DIVERGED) & np.isfinite(t)]
    elif color_by == "loss":
        f = hm.final_losses
        ok = (codes >= 0) & (codes != _ST_DIVERGED) & np.isfinite(f)
        base = getattr(hm.surface, "min_value", None)
        if base is None:
            base = float(np.min(f[ok])) if np.any(ok) else 0.0
        v = np.maximum(f[ok] - base, 1e-16)
    elif color_by == "steps":
        v = hm.steps_to_converge[np.isfinite(hm.steps_to_converge)]
    else:
        return None
    return (float(v.min()), float(v.max())) if v.size else None


def save_png(path, rgba: np.ndarray, size: int = 512, title: str = "",
             legend: Sequence = (), marks: Sequence = (), lines: Sequence = (),
             axes: tuple | None = None) -> None:
    """Write an RGBA map (row 0 = bottom) as a PNG with Pillow: scaled to ``size``
    pixels, a title above, optional markers (fractions (fx, fy)), polylines (fractions),
    axis labels and a legend of (name, share or None, RGB) below."""
    from PIL import Image, ImageDraw

    ny, nx = rgba.shape[:2]
    scale = max(1, int(math.ceil(size / max(nx, ny))))
    img = Image.fromarray(np.ascontiguousarray(rgba[::-1]), "RGBA")
    W, H = nx * scale, ny * scale
    img = img.resize((W, H), Image.NEAREST)
    pad_l = 70 if axes else 10
    pad_t = 28
    pad_b = (40 if axes else 10) + 18 * len(legend)
    canvas = Image.new("RGBA", (W + pad_l + 10, H + pad_t + pad_b), (255, 255, 255, 255))
    bg = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    canvas.paste(Image.alpha_composite(bg, img), (pad_l, pad_t))
    dr = ImageDraw.Draw(canvas)
    dr.text((pad_l, 8), title, fill=(0, 0, 0))

    def px(fx, fy):
        return pad_l + fx * W, pad_t + (1.0 - fy) * H

    for fx, fy in marks:
        x, y = px(fx, fy)
        dr.ellipse([x - 6, y - 6, x + 6, y + 6], outline=(0, 0, 0), width=2)
        dr.line([x - 9, y, x + 9, y], fill=(255, 255, 255), width=1)
        dr.line([x, y - 9, x, y + 9], fill=(255, 255, 255), width=1)
    for ln in lines:
        pts = [px(float(a), float(b)) for a, b in np.asarray(ln) if np.isfinite(a + b)]
        if len(pts) > 1:
            dr.line(pts, fill=(255, 255, 255), width=3)
            dr.line(pts, fill=(220, 0, 0), width=1)
    y = pad_t + H + 6
    if axes:
        nxn, vx, lx, nyn, vy, ly = axes
        dr.text((pad_l, y), f"{_fmt(vx[0])}", fill=(0, 0, 0))
        dr.text((pad_l + W - 50, y), f"{_fmt(vx[-1])}", fill=(0, 0, 0))
        dr.text((pad_l + W // 2 - 30, y), f"{nxn}{' (log)' if lx else ''}", fill=(0, 0, 0))
        dr.text((4, pad_t + H - 12), f"{_fmt(vy[0])}", fill=(0, 0, 0))
        dr.text((4, pad_t), f"{_fmt(vy[-1])}", fill=(0, 0, 0))
        dr.text((4, pad_t + H // 2), f"{nyn}{' (log)' if ly else ''}", fill=(0, 0, 0))
        y += 28
    for name, share, rgb in legend:
        dr.rectangle([pad_l, y + 2, pad_l + 12, y + 14], fill=tuple(rgb) + (255,),
                     outline=(0, 0, 0))
        text = name if share is None else f"{name}: {share:.1%}"
        dr.text((pad_l + 18, y + 2), text, fill=(0, 0, 0))
        y += 18
    with atomic_open(path, "wb") as fh:  # written whole or not at all (core.files)
        canvas.convert("RGB").save(fh, "PNG")


# ---- one lane of a lab: ``losslab export LAB --map basin|hyper`` ---------------------------
def parse_axis(text: str) -> tuple[str, float, float, bool]:
    """``"lr:1e-4:1:log"`` -> ("lr", 1e-4, 1.0, True); ``"momentum:0:0.99"`` -> linear."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
        raise ValueError(f"expected NAME:LO:HI[:log|lin], such as lr:1e-4:1:log, got {text!r}")
    try:
        lo, hi = float(parts[1]), float(parts[2])
    except ValueError:
        raise ValueError(f"bounds must be numbers in {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"need finite bounds with LO < HI in {text!r}")
    return parts[0], lo, hi, len(parts) == 4 and parts[3] == "log"


def export_map(lab, kind: str, out: str, *, lane: int | None = None,
               resolution: int | None = None, steps: int | None = None,
               x: str | None = None, y: str | None = None, color_by: str | None = None,
               progress: Callable[[int, int], None] | None = None):
    """Compute a basin or hyperparameter map of one lane of ``lab`` and write it to
    ``out`` (``.png`` picture or ``.csv`` data). Returns the map.

    ``lane`` is a 1-based lane number (default: the first enabled lane); ``x``/``y``
    are axis specs for :func:`parse_axis` (default: ``lr`` over two decades either side
    of the lane's, against momentum, beta1 or noise).
    """
    from pathlib import Path

    ext = Path(out).suffix.lower()
    if ext not in (".png", ".csv"):
        raise ValueError(f"a map is written as .png or .csv, not {ext or 'no extension'!r}")
    if kind not in ("basin", "hyper"):
        raise ValueError(f"--map must be basin or hyper, got {kind!r}")
    lanes = list(lab.lanes)
    if lane is None:
        pick = next((la for la in lanes if la.enabled), lanes[0] if lanes else None)
    elif 1 <= lane <= len(lanes):
        pick = lanes[lane - 1]
    else:
        raise ValueError(f"--lane must be from 1 to {len(lanes)}")
    if pick is None:
        raise ValueError("the lab has no lanes")
    eff = lab.effective(pick)
    kw = dict(schedule=eff["schedule"], noise=float(eff["noise"] or 0.0), seed=lab.seed,
              clip_grad_norm=lab.clip_grad_norm, batch_size=eff["batch_size"])
    steps = lab.run_steps if steps is None else int(steps)
    prog = None if progress is None else (lambda d, t, m: progress(d, t))
    opt = pick.optimizer
    network = getattr(lab.surface, "kind", None) == "network"
    if color_by is None:
        color_by = "test_loss" if network else "loss"
    if network and kind == "basin":
        raise ValueError(f"a basin map needs a surface of one or two variables; "
                         f"{lab.id} trains a network of {lab.surface.n_params} weights: "
                         f"use --map hyper (learning rate x batch size)")
    if kind == "basin":
        n = 256 if resolution is None else int(resolution)
        m = basin_map(lab.surface, opt, n, steps, domain=lab.domain, progress=prog, **kw)
    else:
        n = (8 if network else 40) if resolution is None else int(resolution)
        names = sweepable_params(opt, network)
        if x is None:
            x = (f"lr:{opt.lr / 10:g}:{opt.lr * 10:g}:log" if network else
                 f"lr:{opt.lr / 100:g}:{opt.lr * 100:g}:log")
        if y is None and network:
            y = f"batch_size:1:{len(lab.surface.y_train)}:log"
        if y is None:
            y = ("momentum:0:0.99" if "momentum" in names else
                 "beta1:0:0.99" if "beta1" in names else "noise:0:2")
        ax, ay = parse_axis(x), parse_axis(y)
        vx = grid_values(ax[1], ax[2], n, ax[3])
        vy = grid_values(ay[1], ay[2], n, ay[3])
        m = hyper_map(lab.surface, opt, eff["start"], ax[0], vx, ay[0], vy, steps,
                      progress=prog, **kw)
    if ext == ".csv":
        (write_basin_csv if kind == "basin" else write_hyper_csv)(m, out)
    elif kind == "basin":
        save_basin_png(m, out, title=f"{lab.title}: {pick.name}, {steps} steps")
    else:
        save_hyper_png(m, out, color_by=color_by,
                       title=f"{lab.title}: {pick.name} ({color_by})")
    return m
