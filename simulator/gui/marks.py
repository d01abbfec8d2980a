"""What the views mark and in which colours: critical points (the marker of each kind
and the View > Critical Points modes), eigen-direction arrows, a run's start and a
diverged lane's last position. Shared by the 2-D map, the curve view and the main
window's menu (outside ``views`` and ``panels``, so neither imports the other).
"""

from __future__ import annotations

#: Marker shape, fill and legend label per kind of critical point. Shapes differ (not only
#: colours) so the kinds stay distinguishable in greyscale prints and for colour-blind users.
KIND_STYLE = {
    "minimum": ("star", "#ffffff", "minimum"),
    "maximum": ("t1", "#ff5c5c", "maximum"),
    "saddle": ("d", "#ffd23f", "saddle"),
    "degenerate": ("s", "#c8c8c8", "degenerate"),
}
#: Which critical points the maps mark (View > Critical Points), with the menu's labels.
#: "auto" marks every point when there are at most ``CP_AUTO_ALL`` of them and only the
#: minima otherwise: Rastrigin's 441 points (121 minima, 100 maxima, 220 saddles) would
#: cover the map, and the minima are what a run can end in.
CP_MODES = {"auto": "&Auto", "all": "&All", "minima": "&Minima Only", "off": "&Off"}
CP_MODE_DEFAULT = "auto"
CP_AUTO_ALL = 25
CP_MODE_TIP = (
    "Which critical points (where the gradient is zero) to mark. Minima (stars) are "
    "where a run can settle; maxima and saddles are where the gradient also vanishes but "
    "a nudge rolls away. Auto: all of them when there are at most "
    f"{CP_AUTO_ALL}, only the minima when more would cover the map."
)


def check_cp_mode(mode: str) -> str:
    """``mode`` if it is one of ``CP_MODES``, else a ValueError naming them."""
    if mode not in CP_MODES:
        raise ValueError(f"critical-point mode must be one of {', '.join(CP_MODES)}, "
                         f"not {mode!r}")
    return mode


def marked_cp(mode: str, by_kind: dict[str, list]) -> dict[str, list]:
    """``by_kind`` (the points of each kind of critical point) with the kinds that
    ``mode`` does not mark emptied; "auto" counts the points of every kind."""
    if mode == "off":
        shown: tuple[str, ...] = ()
    elif mode == "minima" or (
            mode == "auto" and sum(len(p) for p in by_kind.values()) > CP_AUTO_ALL):
        shown = ("minimum",)
    else:
        shown = tuple(by_kind)
    return {k: (pts if k in shown else []) for k, pts in by_kind.items()}


#: Colours of the eigen-direction arrows: curving up (positive eigenvalue) / down.
EIG_POS = "#56B4E9"  # Okabe-Ito sky blue
EIG_NEG = "#D55E00"  # Okabe-Ito vermillion
START_COLOR = "#ffffff"
# a diverged lane's mark (an x where it was last seen): the lanes panel's "diverged" red
DIVERGED_COLOR = "#C0392B"
DIVERGED_SYMBOL = "x"
DIVERGED_SIZE = 18.0
