"""The main window's menus, addressed by id (never by their title text).

``window.menu(Menu.EDIT)`` gives the menu (made on first use, in its place in the menu
bar); ``window.add_action(..., menu=Menu.FILE, after=window.act_open)`` adds an action
to it. The order here is the order in the menu bar.
"""

from __future__ import annotations

from enum import Enum


class Menu(Enum):
    """A menu of the main window; the value is its title (with the & mnemonic)."""

    FILE = "&File"
    EDIT = "&Edit"
    VIEW = "&View"
    RUN = "&Run"
    LAB = "La&b"
    EXPLORE = "E&xplore"
    HELP = "&Help"
