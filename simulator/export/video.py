"""Streaming animation encoders: MP4 (imageio-ffmpeg's bundled ffmpeg) and GIF (Pillow).

Frames go to the encoder one at a time, so memory stays flat however many frames an
animation has. Both writers encode into a temporary file next to the target and rename
it over the target only in :meth:`close`; :meth:`abort` (or leaving a ``with`` block by
an exception, e.g. a cancelled export) deletes the temporary file and leaves the target
as it was.

Usage::

    with open_writer("run.mp4", fps=30, size=(960, 540)) as w:
        for frame in frames:          # (540, 960, 3) uint8 arrays
            w.write(frame)
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np

from ..core.files import check_writable, commit, discard, temp_path_for

FORMATS = {".mp4": "mp4", ".gif": "gif"}
MAX_SIDE = 4096
MP4_CRF = 20  # visually lossless for flat plots at a small size
GIF_MIN_CS = 2  # viewers play a GIF frame time under 2/100 s as 1/10 s: 50 fps at most


def gif_frame_cs(fps: float, not_above: bool = False) -> int:
    """The GIF frame time, in hundredths of a second, closest to ``fps`` frames a second.

    GIF stores frame times in whole hundredths of a second, so only 100/n frames a second
    play exactly (50, 33.33, 25, 20, 16.67, ..., 1). The closest such rate is chosen (30
    fps -> 3/100 s, 33.33 fps); with ``not_above`` the fastest not faster than ``fps``
    (30 fps -> 4/100 s, 25 fps), so an animation never gets shorter. At most 50 fps.
    """
    fps = float(fps)
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a number > 0, got {fps!r}")
    exact = 100.0 / fps
    if not_above:
        return max(GIF_MIN_CS, math.ceil(exact - 1e-9))
    lo, hi = max(GIF_MIN_CS, math.floor(exact)), max(GIF_MIN_CS, math.ceil(exact))
    return min((lo, hi), key=lambda d: abs(100.0 / d - fps))


def gif_fps(fps: float, not_above: bool = False) -> float:
    """The frame rate a GIF asked for ``fps`` plays at: 100 / :func:`gif_frame_cs`."""
    return 100.0 / gif_frame_cs(fps, not_above)


class EncoderError(RuntimeError):
    """The encoder failed (ffmpeg missing or crashed, disk full, ...)."""


def check_size(size: tuple[int, int], fmt: str) -> tuple[int, int]:
    """Validate ``(width, height)`` for ``fmt``; raise ValueError saying what is wrong."""
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be two whole numbers, got {size!r}") from None
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise ValueError(f"size must be between 16 and {MAX_SIDE} pixels a side, got {w}x{h}")
    if fmt == "mp4" and (w % 2 or h % 2):
        raise ValueError(f"MP4 needs an even width and height (H.264 4:2:0), got {w}x{h}")
    return w, h


class _Writer:
    fmt = ""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]) -> None:
        if not (isinstance(fps, (int, float)) and 1 <= fps <= 120):
            raise ValueError(f"fps must be a number from 1 to 120, got {fps!r}")
        self.path = str(path)
        self.fps = float(fps)
        self.size = check_size(size, self.fmt)
        check_writable(self.path)
        self.tmp = temp_path_for(self.path)
        self.frames = 0
        self._closed = False

    def _check(self, frame) -> np.ndarray:
        a = np.asarray(frame)
        w, h = self.size
        if a.dtype != np.uint8 or a.shape[:2] != (h, w) or a.ndim != 3 or a.shape[2] not in (
                3, 4):
            raise ValueError(f"frames must be ({h}, {w}, 3) uint8 arrays, got {a.shape} "
                             f"{a.dtype}")
        if a.shape[2] == 4:
            a = a[:, :, :3]
        return np.ascontiguousarray(a)

    def write(self, frame) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Complete the temporary file (the format's trailer); raise EncoderError."""
        raise NotImplementedError

    def _release(self) -> None:
        """Let go of the encoder or file, ignoring errors (the file is thrown away)."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the file and move it to the target path."""
        if self._closed:
            return
        self._closed = True
        try:
            self._finish()
        except BaseException:
            discard(self.tmp)
            raise
        if self.frames == 0:
            discard(self.tmp)
            raise EncoderError("no frames were written")
        commit(self.tmp, self.path)  # the one atomic writer's rename (core.files)

    def abort(self) -> None:
        """Stop and delete the partial file; the target is left untouched."""
        if self._closed:
            return
        self._closed = True
        self._release()
        discard(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False


class Mp4Writer(_Writer):
    """H.264 MP4 (yuv420p, plays everywhere) through imageio-ffmpeg's ffmpeg."""

    fmt = "mp4"

    def __init__(self, path, fps, size, crf: int = MP4_CRF) -> None:
        super().__init__(path, fps, size)
        try:
            import imageio_ffmpeg

            self._gen = imageio_ffmpeg.write_frames(
                self.tmp, self.size, fps=self.fps, codec="libx264", pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p", quality=None, macro_block_size=1,
                ffmpeg_log_level="error",
                output_params=["-crf", str(int(crf)), "-preset", "veryfast",
                               "-movflags", "+faststart"],
            )
            self._gen.send(None)
        except Exception as e:  # noqa: BLE001 - no ffmpeg binary, bad codec, ...
            discard(self.tmp)
            raise EncoderError(f"cannot start the MP4 encoder: {e}") from e

    def write(self, frame) -> None:
        a = self._check(frame)
        try:
            self._gen.send(a)
        except Exception as e:  # noqa: BLE001 - ffmpeg died (disk full, killed)
            self.abort()
            raise EncoderError(f"the MP4 encoder failed: {e}") from e
        self.frames += 1

    def _finish(self) -> None:
        try:
            self._gen.close()
        except Exception as e:  # noqa: BLE001
            raise EncoderError(f"the MP4 encoder failed while finishing: {e}") from e

    def _release(self) -> None:
        try:
            self._gen.close()
        except Exception:  # noqa: BLE001 - we are throwing the file away anyway
            pass


class GifWriter(_Writer):
    """Animated GIF written frame by frame with one global 256-colour palette.

    The palette comes from :meth:`set_palette_frame` when called before the first frame
    (the renderer passes the first and the last frame, which shows every path and
    marker), else from the first frame. GIF timing is in whole hundredths of a second,
    so the writer takes the nearest exact rate (:func:`gif_frame_cs`: 30 fps is written
    as 33.33 fps, 3/100 s a frame); ``fps`` and ``delay_cs`` say what was written.
    """

    fmt = "gif"

    def __init__(self, path, fps, size, loop: int = 0) -> None:
        super().__init__(path, fps, size)
        self.loop = loop
        self.delay_cs = gif_frame_cs(self.fps)
        self.fps = 100.0 / self.delay_cs  # what the file plays at
        self._palette_image = None
        try:
            self._fp = open(self.tmp, "wb")  # noqa: SIM115 - closed in close/abort
        except OSError as e:
            discard(self.tmp)
            raise EncoderError(f"cannot write {self.tmp}: {e}") from e

    def set_palette_frame(self, *frames) -> None:
        """Build the palette from ``frames`` (before the first :meth:`write`); pass the
        first and last frame of an animation to cover every colour it will show."""
        from PIL import Image

        if self.frames:
            raise RuntimeError("the palette must be set before the first frame")
        stack = np.concatenate([self._check(f) for f in frames], axis=0)
        img = Image.fromarray(stack, "RGB")
        self._palette_image = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                           dither=Image.Dither.NONE)

    def _header(self) -> bytes:
        w, h = self.size
        pal = bytes(self._palette_image.getpalette()[: 256 * 3])
        pal = pal + b"\0" * (768 - len(pal))
        out = b"GIF89a" + struct.pack("<HHBBB", w, h, 0xF7, 0, 0) + pal  # 256-colour table
        out += b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", self.loop) + b"\0"
        return out

    def write(self, frame) -> None:
        from PIL import GifImagePlugin, Image

        a = self._check(frame)
        img = Image.fromarray(a, "RGB")
        try:
            if self._palette_image is None:
                self.set_palette_frame(a)
            if self.frames == 0:
                self._fp.write(self._header())
            p = img.quantize(palette=self._palette_image, dither=Image.Dither.NONE)
            for chunk in GifImagePlugin.getdata(p, (0, 0), duration=self.delay_cs * 10,
                                                disposal=1):
                self._fp.write(chunk)
        except OSError as e:
            self.abort()
            raise EncoderError(f"cannot write the GIF: {e}") from e
        self.frames += 1

    def _finish(self) -> None:
        try:
            self._fp.write(b";")
            self._fp.close()
        except OSError as e:
            raise EncoderError(f"cannot write the GIF: {e}") from e

    def _release(self) -> None:
        try:
            self._fp.close()
        except OSError:
            pass


def open_writer(path: str | os.PathLike, fps: float, size: tuple[int, int]) -> _Writer:
    """A streaming writer for ``path``; the format follows the extension (.mp4, .gif)."""
    ext = Path(path).suffix.lower()
    if ext == ".mp4":
        return Mp4Writer(path, fps, size)
    if ext == ".gif":
        return GifWriter(path, fps, size)
    raise ValueError(f"unknown animation format {ext or '(none)'!r}: use .mp4 or .gif")
