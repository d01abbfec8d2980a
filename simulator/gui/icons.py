"""SVG icons from ``simulator.resources.icons``, tinted for the current theme.

The monochrome icons are drawn with ``currentColor``; Qt's SVG renderer has no notion
of it, so the text colour of the current palette is substituted before rendering. Icons
are rendered at several sizes (crisp on high-DPI screens) and cached per theme.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from . import palette

_SIZES = (16, 20, 24, 32, 48, 64)


def svg_text(name: str) -> str:
    """The SVG source of icon ``name`` (without ``.svg``); FileNotFoundError if absent."""
    return resources.files("simulator.resources.icons").joinpath(f"{name}.svg").read_text(
        encoding="utf-8"
    )


def _render(svg: str, size: int) -> QPixmap:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(p, QRectF(0, 0, size, size))
    p.end()
    return pm


@lru_cache(maxsize=256)
def _icon(name: str, color: str, disabled: str) -> QIcon:
    try:
        src = svg_text(name)
    except (FileNotFoundError, OSError):
        return QIcon()
    ico = QIcon()
    for size in _SIZES:
        ico.addPixmap(_render(src.replace("currentColor", color), size), QIcon.Mode.Normal)
        ico.addPixmap(_render(src.replace("currentColor", disabled), size), QIcon.Mode.Disabled)
    return ico


def icon(name: str) -> QIcon:
    """Icon ``name`` (``"play"``, ``"pause"``, ...) in the theme's text colour."""
    dark = palette.is_dark()
    color = "#E6E6EA" if dark else "#2A2A30"
    disabled = "#6A6A72" if dark else "#A8A8B0"
    return _icon(name, color, disabled)


def app_icon() -> QIcon:
    """The application icon (full colour)."""
    return _icon("losslab", "#000000", "#000000")


@lru_cache(maxsize=256)
def swatch(color: str, size: int = 14, border: str | None = None) -> QIcon:
    """A small rounded colour square for a lane (in lists and menus); cached, since a
    lane list refreshes its swatches on every edit."""
    pm = QPixmap(size * 2, size * 2)
    pm.setDevicePixelRatio(2.0)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    c = palette.display_color(color)
    p.setBrush(c)
    p.setPen(QColor(border) if border else c.darker(140))
    p.drawRoundedRect(QRectF(1, 1, size - 2, size - 2), 3, 3)
    p.end()
    return QIcon(pm)


def clear_cache() -> None:
    """Forget rendered icons (after a theme change)."""
    _icon.cache_clear()
    swatch.cache_clear()
