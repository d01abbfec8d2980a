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
import sys

# name -> module implementing HELP, add_arguments(parser) and run(args)
SUBCOMMANDS: dict[str, str] = {
    # teaching labs and export (simulator/cli_commands.py)
    "labs": "simulator.cli_commands.labs",
    "validate": "simulator.cli_commands.validate",
    "open": "simulator.cli_commands.open",
    "export": "simulator.cli_commands.export",
    "prepare": "simulator.cli_commands.prepare",
}

def _version() -> str:
    # The one place the version is written (pyproject.toml reads it from there too); it
    # needs no installed metadata, so a source checkout and the frozen app show it as well.
    from simulator import __version__

    return __version__


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

        from .cli_commands import gui_or_hint

        return gui_or_hint(run_gui)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
