"""Animation plans and file kinds for exports (no Qt here).

:func:`render_animation` streams frames from a renderer (anything with ``steps``,
``width``, ``height`` and ``render(step) -> (H, W, 3) uint8``) into an MP4 or GIF;
:func:`step_for_frame` says which optimizer step each animation frame shows. The
renderer that grabs the app's real views offscreen is
:class:`simulator.gui.frame_renderer.FrameRenderer` (it needs Qt); it is built from a
:class:`~simulator.core.scene.Scene`.

Layouts (``view``):

``"2d"``    the contour map (or the curve view for a one-variable loss) above the plots
``"3d"``    the 3-D surface above the plots (needs OpenGL: a real or virtual X display)
``"both"``  contour map and 3-D surface side by side above the plots
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .data import Cancelled

VIEWS = ("2d", "3d", "both")
DEFAULT_SIZE = (960, 540)
PLOT_FRACTION = 0.28  # of the height, for the loss plots under the views
DEFAULT_FPS = 30
MAX_DEFAULT_FRAMES = 150  # one frame per step up to this many
MIN_SECONDS = 4  # a default animation lasts at least this long


def animation_timing(steps: int, fmt: str, frames: int | None = None,
                     fps: float | None = None) -> tuple[int, float, str]:
    """Frames and frame rate of an animation of a ``steps``-step run, and a note.

    The rule: ``frames`` defaults to one per step, start and end included, at most
    ``MAX_DEFAULT_FRAMES`` (150); ``fps`` defaults to ``DEFAULT_FPS`` (30), lowered to
    ``frames // MIN_SECONDS`` (at least 1) so that the animation lasts at least
    ``MIN_SECONDS`` (4 s): a 40-step lab gives 41 frames at 10 fps (4.1 s), not 1.4 s.
    A GIF plays only 100/n frames a second (frame times are whole hundredths of a
    second): an ``fps`` given is replaced by the nearest such rate (30 -> 33.33), the
    default by the fastest not above it (30 -> 25), and ``note`` says so when a rate
    given was changed (else it is empty).
    """
    from .video import gif_fps

    if frames is None:
        frames = min(int(steps) + 1, MAX_DEFAULT_FRAMES)
    frames = max(1, int(frames))
    asked = fps
    if fps is None:
        fps = float(min(DEFAULT_FPS, max(1, frames // MIN_SECONDS)))
    fps = float(fps)
    note = ""
    if fmt == "gif":
        exact = gif_fps(fps, not_above=asked is None)
        if asked is not None and exact != fps:
            note = (f"GIF frame times are whole hundredths of a second: {fps:g} fps is "
                    f"written as {exact:.4g} fps ({100 / exact:.0f}/100 s a frame)")
        fps = exact
    return frames, fps, note


class RenderError(RuntimeError):
    """Rendering is impossible here (no OpenGL display for the 3-D view, ...)."""


def step_for_frame(i: int, frames: int, steps: int) -> int:
    """The optimizer step shown in animation frame ``i`` of ``frames`` (both ends
    included: frame 0 is the start, the last frame the end of the run)."""
    if frames <= 1:
        return steps
    return int(round(i * steps / (frames - 1)))


def render_animation(renderer, path: str | os.PathLike, frames: int,
                     fps: float, progress: Callable[[int, int], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> int:
    """Stream ``frames`` frames (start to end of the run) into ``path`` (.mp4 or .gif).

    ``progress(i, n)`` is called after every frame; when ``cancel()`` returns true the
    export stops, the partial file is deleted, and :class:`Cancelled` is raised. The
    target file is replaced only by a complete animation.
    """
    from .video import GifWriter, open_writer

    frames = int(frames)
    if frames < 1:
        raise ValueError("an animation needs at least one frame")
    steps = renderer.steps
    writer = open_writer(path, fps, (renderer.width, renderer.height))
    with writer:
        if isinstance(writer, GifWriter):
            # one palette for the whole GIF, from the two frames that show everything
            writer.set_palette_frame(renderer.render(0), renderer.render(steps))
        for i in range(frames):
            if cancel is not None and cancel():
                raise Cancelled()
            writer.write(renderer.render(step_for_frame(i, frames, steps)))
            if progress is not None:
                progress(i + 1, frames)
    return frames


def export_kind(path: str | os.PathLike) -> str:
    """``"mp4" | "gif" | "png" | "svg" | "csv" | "json"`` from the file extension
    (ValueError for anything else)."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in ("mp4", "gif", "png", "svg", "csv", "json"):
        raise ValueError(f"unknown file type {('.' + ext) if ext else '(no extension)'!r}: "
                         "use .mp4, .gif, .png, .svg, .csv or .json")
    return ext
