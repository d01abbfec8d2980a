"""Numbers and points written for people (the readouts, tooltips and titles)."""

from __future__ import annotations

import numpy as np


def fmt(v, digits: int = 4) -> str:
    """A number for people: 4 significant digits, signed zero removed, nan as '-'."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not np.isfinite(x):
        return "inf" if x == np.inf else "-inf" if x == -np.inf else "-"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}"


def fmt_point(p, digits: int = 4) -> str:
    a = np.atleast_1d(np.asarray(p, dtype=np.float64))
    return "(" + ", ".join(fmt(v, digits) for v in a) + ")"
