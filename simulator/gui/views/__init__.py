"""The views: 2-D contour map, 3-D surface, 1-D curve and the per-step plots.

Each view takes the Session in ``__init__`` and redraws from its signals; none of them
edits the scene except through ``session.set_start`` (clicking or dragging the start).
"""

from .contour import ContourView
from .curve import CurveView
from .plots import PlotsPanel


def __getattr__(name):
    # the 3-D view imports OpenGL: load it only when asked for
    if name == "Surface3DView":
        from .surface3d import Surface3DView

        return Surface3DView
    raise AttributeError(name)


__all__ = ["ContourView", "CurveView", "PlotsPanel", "Surface3DView"]
