"""The ``losslab`` command.

``losslab`` with no arguments opens the desktop app. Subcommands (``export``, ``labs``,
``open``, ...) plug in through :data:`SUBCOMMANDS`: each entry names a module with

``HELP``
    one line for ``losslab --help``;
``add_arguments(parser)``
    adds the subcommand's options to its ``argparse`` sub-parser;
``run(args) -> int``
    does the work and returns the exit code.

A module that cannot be imported (an optional dependency is missing) is left out of the
command list instead of breaking the app.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> module implementing HELP, add_arguments(parser) and run(args)
SUBCOMMANDS: dict[str, str] = {
    # teaching labs and export (simulator/cli_commands.py)
    "labs": "simulator.cli_commands.labs",
    "open": "simulator.cli_commands.open",
    "export": "simulator.cli_commands.export",
    "prepare": "simulator.cli_commands.prepare",
}

EXIT_NO_DISPLAY = 2


def no_display_hint(environ=None, platform: str | None = None) -> str | None:
    """A one-line hint when the desktop app cannot open a window here, else None.

    On Linux Qt needs an X11 or Wayland display; without one it aborts (exit 134) with a
    long message about platform plugins. A Qt platform chosen on purpose
    (``QT_QPA_PLATFORM``, e.g. offscreen) is left to Qt.
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY") \
            or environ.get("QT_QPA_PLATFORM"):
        return None
    return ("losslab: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so the app "
            "cannot open its window; use a virtual display (xvfb-run -a losslab) or the "
            "headless commands (losslab export, losslab labs; see losslab --help)")


def gui_or_hint(run_gui) -> int:
    """``run_gui()`` if a window can open here, else print the hint and return 2."""
    hint = no_display_hint()
    if hint:
        print(hint, file=sys.stderr)
        return EXIT_NO_DISPLAY
    return run_gui()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("losslab")
    except Exception:  # noqa: BLE001 - a source tree without installed metadata
        return "development"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="losslab",
        description="LossLab: watch optimizers descend loss landscapes. "
        "Without a command, opens the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.set_defaults(command=None)
    if SUBCOMMANDS:
        sub = parser.add_subparsers(title="commands", metavar="COMMAND")
        for name, module_name in SUBCOMMANDS.items():
            try:
                mod = importlib.import_module(module_name)
            except ImportError:
                continue
            p = sub.add_parser(name, help=getattr(mod, "HELP", ""),
                               description=getattr(mod, "HELP", None))
            mod.add_arguments(p)
            p.set_defaults(command=name, run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``losslab`` script and of ``python -m simulator``."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        def run_gui() -> int:
            from .gui.app import main as gui_main

            return gui_main(["losslab"])

        return gui_or_hint(run_gui)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
