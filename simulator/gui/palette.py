"""Colours: the Okabe-Ito lane palette and the light/dark application palettes.

Lane colours come from Okabe & Ito's colourblind-safe set, ordered so that the first
four lanes (the default scene) are the most distinct pairs under every common form of
colour blindness. The application palette follows the system colour scheme (Qt 6.5+
``styleHints().colorScheme()``) unless the user picks light or dark in View > Theme.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from simulator.core.colors import OKABE_ITO, OKABE_ITO_NAMES, next_lane_color  # noqa: F401

SCHEMES = ("system", "light", "dark")

_current = "light"  # the scheme actually applied: "light" or "dark"


def display_color(hex_color: str, dark: bool | None = None) -> QColor:
    """The colour to draw a lane with on the current theme (black turns light on dark)."""
    dark = is_dark() if dark is None else dark
    c = QColor(hex_color)
    if not c.isValid():
        c = QColor(OKABE_ITO[0])
    if dark and c.lightness() < 40:
        return QColor("#E8E8E8")
    return c


def system_is_dark() -> bool:
    """Whether the desktop asks for a dark colour scheme (False when unknown)."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        try:
            return hints.colorScheme() == Qt.ColorScheme.Dark
        except AttributeError:  # pragma: no cover - Qt < 6.5
            pass
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def is_dark() -> bool:
    """Whether the dark palette is applied now."""
    return _current == "dark"


def light_palette() -> QPalette:
    p = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: c("#F3F3F5"),
        QPalette.ColorRole.WindowText: c("#1E1E22"),
        QPalette.ColorRole.Base: c("#FFFFFF"),
        QPalette.ColorRole.AlternateBase: c("#F0F0F3"),
        QPalette.ColorRole.ToolTipBase: c("#FFFFF4"),
        QPalette.ColorRole.ToolTipText: c("#1E1E22"),
        QPalette.ColorRole.PlaceholderText: c("#8A8A92"),
        QPalette.ColorRole.Text: c("#1E1E22"),
        QPalette.ColorRole.Button: c("#EAEAEE"),
        QPalette.ColorRole.ButtonText: c("#1E1E22"),
        QPalette.ColorRole.BrightText: c("#C0392B"),
        QPalette.ColorRole.Light: c("#FFFFFF"),
        QPalette.ColorRole.Midlight: c("#E2E2E6"),
        QPalette.ColorRole.Mid: c("#B8B8C0"),
        QPalette.ColorRole.Dark: c("#9A9AA2"),
        QPalette.ColorRole.Shadow: c("#505058"),
        QPalette.ColorRole.Highlight: c("#0072B2"),
        QPalette.ColorRole.HighlightedText: c("#FFFFFF"),
        QPalette.ColorRole.Link: c("#0072B2"),
    }
    for role, col in roles.items():
        p.setColor(role, col)
    _disabled(p, c("#A0A0A8"))
    return p


def dark_palette() -> QPalette:
    p = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: c("#2B2B30"),
        QPalette.ColorRole.WindowText: c("#E6E6EA"),
        QPalette.ColorRole.Base: c("#1F1F23"),
        QPalette.ColorRole.AlternateBase: c("#2F2F35"),
        QPalette.ColorRole.ToolTipBase: c("#3A3A42"),
        QPalette.ColorRole.ToolTipText: c("#F0F0F4"),
        QPalette.ColorRole.PlaceholderText: c("#85858E"),
        QPalette.ColorRole.Text: c("#E6E6EA"),
        QPalette.ColorRole.Button: c("#36363D"),
        QPalette.ColorRole.ButtonText: c("#E6E6EA"),
        QPalette.ColorRole.BrightText: c("#FF7B6B"),
        QPalette.ColorRole.Light: c("#4A4A52"),
        QPalette.ColorRole.Midlight: c("#3E3E45"),
        QPalette.ColorRole.Mid: c("#303036"),
        QPalette.ColorRole.Dark: c("#1A1A1E"),
        QPalette.ColorRole.Shadow: c("#0E0E10"),
        QPalette.ColorRole.Highlight: c("#3C8DD0"),
        QPalette.ColorRole.HighlightedText: c("#FFFFFF"),
        QPalette.ColorRole.Link: c("#56B4E9"),
    }
    for role, col in roles.items():
        p.setColor(role, col)
    _disabled(p, c("#76767E"))
    return p


def _disabled(p: QPalette, col: QColor) -> None:
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, col)


def resolve_scheme(scheme: str) -> str:
    """``"system"``, ``"light"`` or ``"dark"`` -> the scheme to apply (light or dark)."""
    if scheme == "dark":
        return "dark"
    if scheme == "light":
        return "light"
    return "dark" if system_is_dark() else "light"


def apply_scheme(scheme: str = "system") -> str:
    """Apply the light or dark palette to the application; returns what was applied."""
    global _current
    app = QGuiApplication.instance()
    resolved = resolve_scheme(scheme)
    _current = resolved
    if app is not None:
        app.setPalette(dark_palette() if resolved == "dark" else light_palette())
    return resolved


def error_color() -> str:
    """Text colour for inline error messages on the current theme."""
    return "#FF8A7A" if is_dark() else "#B3261E"


def success_color() -> str:
    """Text colour for a confirmation (a lab check that passed) on the current theme."""
    return "#7BD88F" if is_dark() else "#1B6E36"


def muted_color() -> str:
    """Text colour for secondary text (descriptions, hints)."""
    return "#A8A8B0" if is_dark() else "#5A5A62"
