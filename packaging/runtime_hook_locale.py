"""PyInstaller runtime hook: a UTF-8 character locale when the environment names none.

Started with an empty environment (``env -i``, some cron and kiosk set-ups), the locale
is "C"; Qt then prints a warning and switches to C.UTF-8 by itself. The regular Python
interpreter does the same coercion (PEP 538) before any code runs, but a frozen app does
not, so this hook sets ``LC_CTYPE=C.UTF-8`` when none of ``LC_ALL``, ``LC_CTYPE`` and
``LANG`` is set. Only the character type is touched: messages, numbers and dates keep
the C conventions. Not on Windows or macOS, whose GUI locale does not come from these
variables. The hook runs only in the frozen app (``sys.frozen``).
"""

from __future__ import annotations

import os
import sys


def install(environ=None, platform: str | None = None) -> bool:
    """Set ``LC_CTYPE=C.UTF-8`` in ``environ`` if frozen on Linux and no locale is named."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not getattr(sys, "frozen", False) or not platform.startswith("linux"):
        return False
    if any(environ.get(k) for k in ("LC_ALL", "LC_CTYPE", "LANG")):
        return False
    environ["LC_CTYPE"] = "C.UTF-8"
    return True


install()
