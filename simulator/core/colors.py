"""Lane colours without Qt: the Okabe-Ito palette and a colour-name parser.

The scene assigns and checks lane colours here, so a notebook, the command line and the
app give lanes the same colours. :mod:`simulator.gui.palette` re-exports the palette and
adds what needs Qt (theme palettes, colours for the dark theme).
"""

from __future__ import annotations

import re

# Okabe-Ito, in lane order (black last: it vanishes on the dark theme, see display_color)
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

OKABE_ITO_NAMES: dict[str, str] = {
    "#0072B2": "blue",
    "#D55E00": "vermillion",
    "#009E73": "bluish green",
    "#CC79A7": "reddish purple",
    "#E69F00": "orange",
    "#56B4E9": "sky blue",
    "#F0E442": "yellow",
    "#000000": "black",
}

# The basic CSS colour names (a lane colour is a hex code in every file LossLab writes).
NAMED: dict[str, str] = {
    "black": "#000000", "white": "#FFFFFF", "red": "#FF0000", "lime": "#00FF00",
    "green": "#008000", "blue": "#0000FF", "yellow": "#FFFF00", "cyan": "#00FFFF",
    "aqua": "#00FFFF", "magenta": "#FF00FF", "fuchsia": "#FF00FF", "gray": "#808080",
    "grey": "#808080", "silver": "#C0C0C0", "maroon": "#800000", "olive": "#808000",
    "purple": "#800080", "teal": "#008080", "navy": "#000080", "orange": "#FFA500",
}

_HEX = re.compile(r"^#([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")


def next_lane_color(used) -> str:
    """The first palette colour not in ``used`` (cycling when all are taken)."""
    taken = [str(c).upper() for c in used]
    for c in OKABE_ITO:
        if c.upper() not in taken:
            return c
    return OKABE_ITO[len(taken) % len(OKABE_ITO)]


def parse_color(v) -> str:
    """``v`` as ``"#RRGGBB"`` (upper case): ``#RGB``, ``#RRGGBB``, ``#AARRGGBB`` (alpha
    dropped, as Qt's ``QColor.name()`` does) or a basic CSS name. ValueError otherwise."""
    if isinstance(v, str):
        t = v.strip()
        if t.lower() in NAMED:
            return NAMED[t.lower()]
        m = _HEX.match(t)
        if m:
            h = m.group(1)
            if len(h) == 3:
                h = "".join(c * 2 for c in h)
            elif len(h) == 8:
                h = h[2:]
            return "#" + h.upper()
    raise ValueError(f"not a colour: {v!r}")
